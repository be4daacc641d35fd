/*
 * bench_sio_client.c: roster-bench-sio's client driver (bench_sio.h). One
 * thread, one epoll set (level-triggered), N non-blocking TCP connections
 * to 127.0.0.1, each a WebSocket-first Engine.IO 4 session with a
 * Socket.IO 5 connection to "/":
 *
 *   -> GET /socket.io/?EIO=4&transport=websocket (Upgrade: websocket)
 *   <- 101 with the Sec-WebSocket-Accept of the request's key
 *   <- "0{...}" (open)        -> "40" (CONNECT to "/")
 *   <- "40{...}" (connected)     ready
 *   <- "2" (ping)             -> "3" (pong)
 *   -> 42["go"]               <- 42["msg","<100 x>"] on every connection
 *   -> 42<id>["echo","<100 x>"]  <- 43<id>["<100 x>"]
 *
 * Client frames are masked (a fresh key per frame), server frames must not
 * be. Every received event is compared byte for byte with what both
 * servers send (compact JSON); anything else is counted as bad, and a
 * close, a refusal, a fragmented or binary frame is an error that ends
 * that connection.
 */
#include "bench_sio.h"

#include "bench.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum state {
  ST_IDLE,       /* not opened */
  ST_CONNECTING, /* TCP connect in progress */
  ST_HTTP,       /* upgrade request sent, waiting for 101 */
  ST_EIO,        /* waiting for the Engine.IO open packet */
  ST_SIO,        /* "40" sent, waiting for the CONNECT answer */
  ST_READY,
  ST_DEAD,
};

typedef struct conn {
  int fd;
  enum state state;
  uint8_t *in;
  size_t inlen, incap;
  uint8_t *out;
  size_t outlen, outoff, outcap;
  bool want_out; /* EPOLLOUT is on */
} conn;

struct sio_clients {
  int ep;
  uint16_t port;
  unsigned n;
  conn *v;
  unsigned opened, ready, dead;
  uint64_t received, driver_received, bad, errors;
  uint64_t rng;
  int64_t echo_id; /* the ack id waited for */
  bool echo_got;
  char msg[160]; /* 42["msg","x...x"] */
  size_t msglen;
  char err[320];
};

static const char ws_key[] = "dGhlIHNhbXBsZSBub25jZQ==";
static const char ws_accept[] = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="; /* RFC 6455 */

static void payload(char *p) { memset(p, 'x', SIO_PAYLOAD_LEN); }

sio_clients *bench_sio_clients_new(uint16_t port, unsigned n) {
  sio_clients *c = roster__bench_xcalloc(1, sizeof *c);
  c->v = roster__bench_xcalloc(n ? n : 1, sizeof *c->v);
  c->n = n;
  c->port = port;
  c->rng = 0x9e3779b97f4a7c15ULL;
  c->ep = epoll_create1(EPOLL_CLOEXEC);
  if (c->ep < 0)
    roster__bench_die("epoll_create1: %s", strerror(errno));
  for (unsigned i = 0; i < n; i++)
    c->v[i].fd = -1;
  char x[SIO_PAYLOAD_LEN + 1];
  payload(x);
  x[SIO_PAYLOAD_LEN] = 0;
  c->msglen = (size_t)snprintf(c->msg, sizeof c->msg, "42[\"msg\",\"%s\"]", x);
  return c;
}

void bench_sio_clients_free(sio_clients *c) {
  if (!c)
    return;
  for (unsigned i = 0; i < c->n; i++) {
    if (c->v[i].fd >= 0)
      close(c->v[i].fd);
    free(c->v[i].in);
    free(c->v[i].out);
  }
  close(c->ep);
  free(c->v);
  free(c);
}

const char *bench_sio_error(const sio_clients *c) { return c->err; }
uint64_t bench_sio_errors(const sio_clients *c) { return c->errors; }

/* fail records an error; with k >= 0 it also ends connection k. */
static void fail(sio_clients *c, long k, const char *what, const void *data,
                 size_t len) {
  if (!c->errors++) {
    int w = snprintf(c->err, sizeof c->err, "connection %ld: %s", k, what);
    if (data && w > 0 && (size_t)w < sizeof c->err - 8)
      snprintf(c->err + w, sizeof c->err - (size_t)w, " (%.*s)",
               (int)(len > 80 ? 80 : len), (const char *)data);
  }
  if (k < 0 || c->v[k].state == ST_DEAD)
    return;
  conn *o = &c->v[k];
  if (o->state == ST_READY)
    c->ready--;
  if (o->fd >= 0)
    close(o->fd); /* leaves the epoll set */
  o->fd = -1;
  o->state = ST_DEAD;
  c->dead++;
}

static void reserve(uint8_t **buf, size_t *cap, size_t need) {
  if (need <= *cap)
    return;
  size_t n = *cap ? *cap : 4096;
  while (n < need)
    n *= 2;
  uint8_t *p = realloc(*buf, n);
  if (!p)
    roster__bench_die("out of memory");
  *buf = p;
  *cap = n;
}

static void watch(sio_clients *c, unsigned k, bool out) {
  conn *o = &c->v[k];
  if (o->want_out == out)
    return;
  struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0),
                           .data.u32 = k};
  epoll_ctl(c->ep, EPOLL_CTL_MOD, o->fd, &ev);
  o->want_out = out;
}

/* flush writes what connection k has queued; EPOLLOUT while some is left. */
static void flush(sio_clients *c, unsigned k) {
  conn *o = &c->v[k];
  while (o->outoff < o->outlen) {
    ssize_t w = write(o->fd, o->out + o->outoff, o->outlen - o->outoff);
    if (w > 0) {
      o->outoff += (size_t)w;
    } else if (w < 0 && errno == EINTR) {
      continue;
    } else if (w < 0 && errno == EAGAIN) {
      watch(c, k, true);
      return;
    } else {
      fail(c, k, "write failed", strerror(errno), strlen(strerror(errno)));
      return;
    }
  }
  o->outoff = o->outlen = 0;
  watch(c, k, false);
}

static void queue_raw(conn *o, const void *p, size_t len) {
  reserve(&o->out, &o->outcap, o->outlen + len);
  memcpy(o->out + o->outlen, p, len);
  o->outlen += len;
}

/* queue_frame queues one masked client frame (FIN set). */
static void queue_frame(sio_clients *c, conn *o, int opcode, const void *p,
                        size_t len) {
  uint8_t h[14];
  size_t hl = 2;
  h[0] = (uint8_t)(0x80 | opcode);
  if (len < 126) {
    h[1] = (uint8_t)(0x80 | len);
  } else {
    h[1] = 0x80 | 126;
    h[2] = (uint8_t)(len >> 8);
    h[3] = (uint8_t)len;
    hl = 4;
  }
  uint32_t key = (uint32_t)bench_rand(&c->rng);
  memcpy(h + hl, &key, 4);
  const uint8_t *m = h + hl;
  hl += 4;
  reserve(&o->out, &o->outcap, o->outlen + hl + len);
  memcpy(o->out + o->outlen, h, hl);
  uint8_t *d = o->out + o->outlen + hl;
  for (size_t i = 0; i < len; i++)
    d[i] = ((const uint8_t *)p)[i] ^ m[i & 3];
  o->outlen += hl + len;
}

static void send_text(sio_clients *c, unsigned k, const char *s, size_t len) {
  queue_frame(c, &c->v[k], 1, s, len);
  flush(c, k);
}

static void open_conn(sio_clients *c, unsigned k) {
  conn *o = &c->v[k];
  c->opened++;
  o->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (o->fd < 0) {
    fail(c, k, "socket failed", strerror(errno), strlen(strerror(errno)));
    return;
  }
  int one = 1;
  setsockopt(o->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons(c->port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (connect(o->fd, (struct sockaddr *)&a, sizeof a) != 0 &&
      errno != EINPROGRESS) {
    fail(c, k, "connect failed", strerror(errno), strlen(strerror(errno)));
    return;
  }
  o->state = ST_CONNECTING;
  o->want_out = true;
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = k};
  if (epoll_ctl(c->ep, EPOLL_CTL_ADD, o->fd, &ev) != 0)
    fail(c, k, "epoll_ctl failed", strerror(errno), strlen(strerror(errno)));
}

static void connected(sio_clients *c, unsigned k) {
  conn *o = &c->v[k];
  int e = 0;
  socklen_t l = sizeof e;
  if (getsockopt(o->fd, SOL_SOCKET, SO_ERROR, &e, &l) != 0 || e) {
    fail(c, k, "connect failed", strerror(e), strlen(strerror(e)));
    return;
  }
  char req[320];
  int n = snprintf(req, sizeof req,
                   "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                   "Host: 127.0.0.1:%u\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n",
                   c->port, ws_key);
  o->state = ST_HTTP;
  queue_raw(o, req, (size_t)n);
  flush(c, k);
}

/* on_ack checks 43<id>["<payload>"] against the id waited for. */
static void on_ack(sio_clients *c, unsigned k, const char *p, size_t len) {
  char *end;
  long long id = strtoll(p + 2, &end, 10);
  size_t rest = len - (size_t)(end - p);
  bool ok = end > p + 2 && id == c->echo_id && rest == SIO_PAYLOAD_LEN + 4 &&
            !memcmp(end, "[\"", 2) &&
            !memcmp(end + 2 + SIO_PAYLOAD_LEN, "\"]", 2);
  for (size_t i = 0; ok && i < SIO_PAYLOAD_LEN; i++)
    ok = end[2 + i] == 'x';
  if (ok)
    c->echo_got = true;
  else
    fail(c, k, "unexpected ack", p, len);
}

static void on_text(sio_clients *c, unsigned k, const char *p, size_t len) {
  conn *o = &c->v[k];
  if (len == c->msglen && !memcmp(p, c->msg, len)) {
    c->received++;
    if (k == 0)
      c->driver_received++;
    return;
  }
  switch (len ? p[0] : 0) {
  case '2': /* ping */
    send_text(c, k, "3", 1);
    return;
  case '6': /* noop */
    return;
  case '0':
    if (o->state == ST_EIO) {
      o->state = ST_SIO;
      send_text(c, k, "40", 2);
      return;
    }
    break;
  case '4':
    if (len >= 2 && p[1] == '0' && o->state == ST_SIO) {
      o->state = ST_READY;
      c->ready++;
      return;
    }
    if (len >= 2 && p[1] == '3' && o->state == ST_READY) {
      on_ack(c, k, p, len);
      return;
    }
    if (len >= 2 && p[1] == '2' && o->state == ST_READY) {
      if (!c->bad++)
        fail(c, -1, "unexpected event", p, len);
      return;
    }
    break;
  }
  fail(c, k, "unexpected packet", p, len);
}

/* frames handles the complete frames in connection k's input; returns
 * the bytes used. */
static size_t frames(sio_clients *c, unsigned k, size_t off) {
  conn *o = &c->v[k];
  while (o->state != ST_DEAD) {
    size_t avail = o->inlen - off;
    const uint8_t *h = o->in + off;
    if (avail < 2)
      break;
    size_t hl = 2;
    uint64_t len = h[1] & 0x7f;
    if (len == 126) {
      if (avail < 4)
        break;
      len = (uint64_t)h[2] << 8 | h[3];
      hl = 4;
    } else if (len == 127) {
      if (avail < 10)
        break;
      len = 0;
      for (int i = 0; i < 8; i++)
        len = len << 8 | h[2 + i];
      hl = 10;
    }
    if (len > avail - hl)
      break;
    int op = h[0] & 0x0f;
    const char *p = (const char *)h + hl;
    if (h[1] & 0x80)
      fail(c, k, "masked server frame", NULL, 0);
    else if (!(h[0] & 0x80) || op == 0)
      fail(c, k, "fragmented frame", NULL, 0);
    else if (op == 1)
      on_text(c, k, p, (size_t)len);
    else if (op == 9) {
      queue_frame(c, o, 10, p, (size_t)len);
      flush(c, k);
    } else if (op == 8)
      fail(c, k, "the server closed the WebSocket", NULL, 0);
    else if (op != 10)
      fail(c, k, "unexpected frame", NULL, 0);
    off += hl + (size_t)len;
  }
  return off;
}

/* http checks the 101 answer; returns its length, 0 while incomplete. */
static size_t http(sio_clients *c, unsigned k) {
  conn *o = &c->v[k];
  const char *s = (const char *)o->in;
  const char *e = memmem(s, o->inlen, "\r\n\r\n", 4);
  if (!e)
    return 0;
  size_t hl = (size_t)(e - s) + 4;
  if (o->inlen < 12 || memcmp(s, "HTTP/1.1 101", 12) ||
      !memmem(s, hl, ws_accept, sizeof ws_accept - 1)) {
    fail(c, k, "upgrade refused", s, hl);
    return 0;
  }
  o->state = ST_EIO;
  return hl;
}

static void readable(sio_clients *c, unsigned k) {
  conn *o = &c->v[k];
  reserve(&o->in, &o->incap, o->inlen + 65536);
  ssize_t r = read(o->fd, o->in + o->inlen, o->incap - o->inlen);
  if (r <= 0) {
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
      return;
    fail(c, k, r ? "read failed" : "the server closed the connection", NULL, 0);
    return;
  }
  o->inlen += (size_t)r;
  size_t off = 0;
  if (o->state == ST_HTTP && !(off = http(c, k)))
    return;
  off = frames(c, k, off);
  if (o->state == ST_DEAD)
    return;
  memmove(o->in, o->in + off, o->inlen - off);
  o->inlen -= off;
}

/* pump waits at most timeout_ms for events and handles them. */
static void pump(sio_clients *c, int timeout_ms) {
  struct epoll_event ev[256];
  int n = epoll_wait(c->ep, ev, 256, timeout_ms);
  for (int i = 0; i < n; i++) {
    unsigned k = ev[i].data.u32;
    conn *o = &c->v[k];
    if (o->state == ST_DEAD)
      continue;
    if (o->state == ST_CONNECTING) {
      connected(c, k);
      continue;
    }
    if (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
      readable(c, k);
    if (o->state != ST_DEAD && (ev[i].events & EPOLLOUT))
      flush(c, k);
  }
}

unsigned bench_sio_connect(sio_clients *c, unsigned pending, double timeout_s) {
  double end = bench_now() + timeout_s;
  while (c->ready < c->n && !c->dead) {
    while (c->opened < c->n && c->opened - c->ready < pending && !c->dead)
      open_conn(c, c->opened);
    if (c->dead)
      break;
    if (bench_now() > end) {
      if (!c->errors++)
        snprintf(c->err, sizeof c->err,
                 "%u of %u connections in %.0f s: timed out", c->ready, c->n,
                 timeout_s);
      break;
    }
    pump(c, 10);
  }
  return c->ready;
}

void bench_sio_fanout(sio_clients *c, unsigned window, double seconds,
                      sio_fanout *out) {
  static const char go[] = "42[\"go\"]";
  c->received = c->driver_received = c->bad = 0;
  uint64_t gos = 0;
  double t0 = bench_now(), now = t0;
  while (now < t0 + seconds && !c->dead) {
    if (gos - c->driver_received < window) {
      while (gos - c->driver_received < window) {
        queue_frame(c, &c->v[0], 1, go, sizeof go - 1);
        gos++;
      }
      flush(c, 0);
    }
    pump(c, 1);
    now = bench_now();
  }
  uint64_t want = gos * c->n;
  double drain = now;
  while (c->received < want && !c->dead && now - drain < 10) {
    pump(c, 5);
    now = bench_now();
  }
  *out = (sio_fanout){.gos = gos,
                      .delivered = c->received,
                      .expected = want,
                      .bad = c->bad,
                      .seconds = now - t0};
}

size_t bench_sio_echo(sio_clients *c, size_t samples, double *us) {
  char pkt[SIO_PAYLOAD_LEN + 64], x[SIO_PAYLOAD_LEN + 1];
  payload(x);
  x[SIO_PAYLOAD_LEN] = 0;
  for (size_t i = 0; i < samples; i++) {
    c->echo_id++;
    c->echo_got = false;
    int n = snprintf(pkt, sizeof pkt, "42%lld[\"echo\",\"%s\"]",
                     (long long)c->echo_id, x);
    int64_t t0 = bench_now_ns();
    send_text(c, 0, pkt, (size_t)n);
    while (!c->echo_got && !c->dead && bench_now_ns() - t0 < 5000000000LL)
      pump(c, 100);
    if (!c->echo_got) {
      if (!c->dead)
        fail(c, 0, "no answer to an echo in 5 s", NULL, 0);
      return i;
    }
    us[i] = (double)(bench_now_ns() - t0) / 1e3;
  }
  return samples;
}
