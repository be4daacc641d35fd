/*
 * eio_server.c: the Engine.IO 4 transport server (eio_server.h). One lock
 * per server (e->lock) guards the session table and every session's
 * transport state; callbacks run without it, under the session's own
 * recursive cb_lock. A session has one reference for the table and one
 * per WebSocket whose data points to it; the layer above may add its own.
 *
 * A polling session queues packets (qpkt list) until a GET takes them; a
 * GET with nothing queued is held until something is (the heartbeat's
 * ping at the latest, every ping_interval_ms). A WebSocket session sends
 * at once through roster_httpd_ws_send. During an upgrade the probe
 * WebSocket answers "3probe", the held GET gets a noop, and packets stay
 * queued until the client's upgrade packet, when they go out over the
 * WebSocket in order.
 */
#include "eio_impl.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <roster.h>

int64_t roster__eio_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- sessions ------------------------------------------------------------ */

static unsigned bucket_of(const char *sid) {
  unsigned h = 2166136261u;
  for (; *sid; sid++)
    h = (h ^ (unsigned char)*sid) * 16777619u;
  return h % NBUCKETS;
}

void roster__eio_queue_free(roster__eio_session *s) {
  for (qpkt *q = s->qhead, *n; q; q = n) {
    n = q->next;
    roster_mem_free(q);
  }
  s->qhead = NULL;
  s->qtail = &s->qhead;
  s->qbytes = 0;
}

roster__eio_session *roster__eio_session_acquire(roster__eio_session *s) {
  atomic_fetch_add(&s->refs, 1);
  return s;
}

void roster__eio_session_release(roster__eio_session *s) {
  if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
    return;
  roster__eio_queue_free(s);
  pthread_mutex_destroy(&s->cb_lock);
  roster_mem_free(s);
}

int roster__eio_random_id(char out[ROSTER__EIO_ID_LEN + 1]) {
  uint8_t rnd[15];
  size_t got = 0;
  while (got < sizeof rnd) {
    ssize_t r = getrandom(rnd + got, sizeof rnd - got, 0);
    if (r < 0 && errno != EINTR)
      return roster_error_set(ROSTER_ESYS, "getrandom: %s", strerror(errno));
    if (r > 0)
      got += (size_t)r;
  }
  static const char a[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  size_t o = 0;
  for (size_t i = 0; i < sizeof rnd; i += 3) {
    uint32_t v =
        (uint32_t)rnd[i] << 16 | (uint32_t)rnd[i + 1] << 8 | rnd[i + 2];
    for (int k = 3; k >= 0; k--)
      out[o++] = a[(v >> (6 * k)) & 63];
  }
  out[o] = '\0';
  return ROSTER_OK;
}

roster__eio_session *roster__eio_session_new(roster__eio_server *e) {
  roster__eio_session *s = roster_mem_calloc(1, sizeof *s);
  if (!s)
    return NULL;
  if (roster__eio_random_id(s->sid) != ROSTER_OK) {
    roster_mem_free(s);
    return NULL;
  }
  pthread_mutexattr_t ma;
  pthread_mutexattr_init(&ma);
  pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&s->cb_lock, &ma);
  pthread_mutexattr_destroy(&ma);
  s->e = e;
  atomic_init(&s->refs, 1); /* the table's */
  s->qtail = &s->qhead;
  s->next_ping = roster__eio_now_ms() + e->o.ping_interval_ms;
  return s;
}

void roster__eio_table_add(roster__eio_server *e, roster__eio_session *s) {
  unsigned b = bucket_of(s->sid);
  s->hnext = e->buckets[b];
  e->buckets[b] = s;
  e->n++;
  atomic_fetch_add(&e->st_total, 1);
  roster__eio_wake_for(e, s->next_ping);
}

void roster__eio_wake_for(roster__eio_server *e, int64_t at) {
  if (at < e->wake_at) {
    e->rescan = true; /* seen before it sleeps, if it is awake */
    pthread_cond_signal(&e->cond);
  }
}

static void table_remove(roster__eio_server *e, roster__eio_session *s) {
  for (roster__eio_session **p = &e->buckets[bucket_of(s->sid)]; *p;
       p = &(*p)->hnext)
    if (*p == s) {
      *p = s->hnext;
      e->n--;
      return;
    }
}

/* lookup: the open session called sid, with a reference, or NULL. */
roster__eio_session *roster__eio_lookup(roster__eio_server *e,
                                        const char *sid) {
  pthread_mutex_lock(&e->lock);
  roster__eio_session *s = e->buckets[bucket_of(sid)];
  while (s && strcmp(s->sid, sid) != 0)
    s = s->hnext;
  if (s)
    roster__eio_session_acquire(s);
  pthread_mutex_unlock(&e->lock);
  return s;
}

/* ---- sending ------------------------------------------------------------- */

/* ws_send_pkt sends one packet as a WebSocket frame. */
int roster__eio_ws_send_pkt(roster_httpd_ws *ws, roster__eio_kind kind,
                            bool binary, const uint8_t *data, size_t len) {
  if (binary)
    return roster_httpd_ws_send(ws, ROSTER_HTTPD_WS_BINARY, data, len);
  roster__eio_buf b = {0};
  roster__eio_packet p = {.kind = kind, .data = data, .len = len};
  int rc = roster__eio_encode(&b, &p);
  if (rc == ROSTER_OK)
    rc = roster_httpd_ws_send(ws, ROSTER_HTTPD_WS_TEXT, b.p, b.len);
  roster__eio_buf_free(&b);
  return rc;
}

/* answer_poll_locked answers req with the queued packets (a noop when
 * there are none) and empties the queue. */
void roster__eio_answer_poll_locked(roster__eio_session *s,
                                    roster_httpd_request *req) {
  roster__eio_buf b = {0};
  int rc = ROSTER_OK;
  if (!s->qhead)
    rc = roster__eio_buf_addc(&b, '6');
  for (qpkt *q = s->qhead; q && rc == ROSTER_OK; q = q->next) {
    roster__eio_packet p = {
        .kind = q->kind, .binary = q->binary, .data = q->data, .len = q->len};
    rc = roster__eio_payload_add(&b, &p);
  }
  if (rc == ROSTER_OK) {
    roster__eio_queue_free(s);
    roster__eio_respond(req, 200, ROSTER__EIO_TEXT_PLAIN, b.p, b.len);
  } else {
    roster__eio_respond(req, 500, NULL, NULL, 0);
  }
  roster__eio_buf_free(&b);
}

/* queue_locked sends or queues one packet, by the session's transport. */
int roster__eio_queue_locked(roster__eio_session *s, roster__eio_kind kind,
                             bool binary, const void *data, size_t len) {
  if (s->state == ST_CLOSED)
    return roster_error_set(ROSTER_ESTATE, "engine.io session %s is closed",
                            s->sid);
  atomic_fetch_add(&s->e->st_pout, 1);
  atomic_fetch_add(&s->e->st_bout, len);
  if (s->state == ST_WS)
    return roster__eio_ws_send_pkt(s->ws, kind, binary, data, len);
  if (kind == ROSTER__EIO_MESSAGE && s->qbytes + len > s->e->o.max_payload)
    return roster_error_set(ROSTER_ERANGE,
                            "engine.io session %s: %zu bytes wait for the "
                            "next poll (bound %llu)",
                            s->sid, s->qbytes,
                            (unsigned long long)s->e->o.max_payload);
  qpkt *q = roster_mem_alloc(sizeof *q + len);
  if (!q)
    return roster_error_set(ROSTER_ENOMEM, "engine.io: out of memory");
  q->next = NULL;
  q->kind = kind;
  q->binary = binary;
  q->len = len;
  if (len)
    memcpy(q->data, data, len);
  *s->qtail = q;
  s->qtail = &q->next;
  s->qbytes += len;
  if (s->held && !s->upgrading) {
    roster_httpd_request *req = s->held;
    s->held = NULL;
    roster__eio_answer_poll_locked(s, req);
  }
  return ROSTER_OK;
}

/* send_part_locked: one message of a multi-part send; a WebSocket gets the
 * shared frame when there is one. */
static int send_part_locked(roster__eio_session *s, const roster__eio_part *p) {
  if (s->state == ST_WS && p->ws) {
    atomic_fetch_add(&s->e->st_pout, 1);
    atomic_fetch_add(&s->e->st_bout, p->len);
    return roster_httpd_ws_send_msg(s->ws, p->ws);
  }
  return roster__eio_queue_locked(s, ROSTER__EIO_MESSAGE, p->binary, p->data,
                                  p->len);
}

int roster__eio_send_parts(roster__eio_session *s,
                           const roster__eio_part *parts, size_t n) {
  if (!s || (!parts && n))
    return roster_error_set(ROSTER_EINVAL,
                            "roster__eio_send_parts: NULL argument");
  pthread_mutex_lock(&s->e->lock);
  int rc = ROSTER_OK;
  for (size_t i = 0; i < n && rc == ROSTER_OK; i++) {
    rc = send_part_locked(s, &parts[i]);
    if (rc != ROSTER_OK && i > 0) {
      /* the peer has the head of a message and not its attachments: its
       * stream cannot be mended; end the session */
      pthread_mutex_unlock(&s->e->lock);
      roster__eio_close_session(s, "transport error");
      return rc;
    }
  }
  pthread_mutex_unlock(&s->e->lock);
  return rc;
}

int roster__eio_send(roster__eio_session *s, const void *data, size_t len,
                     bool binary) {
  if (!s || (!data && len))
    return roster_error_set(ROSTER_EINVAL, "roster__eio_send: NULL argument");
  if (!binary && !roster__eio_utf8_valid(data, len, NULL))
    return roster_error_set(ROSTER_EINVAL,
                            "roster__eio_send: text that is not UTF-8");
  pthread_mutex_lock(&s->e->lock);
  int rc = roster__eio_queue_locked(s, ROSTER__EIO_MESSAGE, binary, data, len);
  pthread_mutex_unlock(&s->e->lock);
  return rc;
}

/* ---- closing ------------------------------------------------------------- */

/* close_session ends s once: the held GET gets a close packet, the
 * WebSockets close, on_close runs (if on_open did), the table's reference
 * goes. */
void roster__eio_close_session(roster__eio_session *s, const char *reason) {
  roster__eio_server *e = s->e;
  pthread_mutex_lock(&e->lock);
  if (s->state == ST_CLOSED) {
    pthread_mutex_unlock(&e->lock);
    return;
  }
  s->state = ST_CLOSED;
  table_remove(e, s);
  if (s->held)
    roster__eio_respond(s->held, 200, ROSTER__EIO_TEXT_PLAIN, "1", 1);
  s->held = NULL;
  roster_httpd_ws *ws = s->ws, *probe = s->probe_ws;
  s->ws = s->probe_ws = NULL;
  roster__eio_queue_free(s);
  pthread_mutex_unlock(&e->lock);
  for (int i = 0; i < 2; i++) {
    roster_httpd_ws *w = i ? probe : ws;
    if (w) {
      roster_httpd_ws_close(w, 1000, NULL); /* ESTATE: closing already */
      roster_httpd_ws_release(w);
    }
  }
  pthread_mutex_lock(&s->cb_lock);
  if (s->open_called && !s->close_called && e->o.on_close) {
    s->close_called = true;
    e->o.on_close(s, reason, e->o.arg);
  }
  s->close_called = true;
  pthread_mutex_unlock(&s->cb_lock);
  for (int i = 0; i < ROSTER__EIO_NREASONS; i++)
    if (strcmp(reason, roster__eio_reasons[i]) == 0)
      atomic_fetch_add(&e->st_closes[i], 1);
  roster__eio_session_release(s);
}

/* close_flushed: the layer above closes s. Over polling with packets
 * waiting for the next GET (a DISCONNECT, say), that GET takes them and
 * the one after gets the close packet, as engine.io's socket.close()
 * drains first (in one answer, socket.io-client would act on the close
 * before the packets it decodes on the next tick); the heartbeat closes
 * s if no GET comes within pingTimeout. Otherwise s closes now. */
static void close_flushed(roster__eio_session *s, const char *reason) {
  roster__eio_server *e = s->e;
  pthread_mutex_lock(&e->lock);
  if (s->closing) { /* closing already */
    pthread_mutex_unlock(&e->lock);
    return;
  }
  if (s->state == ST_POLLING && s->qhead && !s->held) {
    s->closing = reason;
    s->pong_deadline = roster__eio_now_ms() + e->o.ping_timeout_ms;
    roster__eio_wake_for(e, s->pong_deadline);
    pthread_mutex_unlock(&e->lock);
    return;
  }
  pthread_mutex_unlock(&e->lock);
  roster__eio_close_session(s, reason);
}

void roster__eio_close(roster__eio_session *s) {
  if (s)
    close_flushed(s, "forced close");
}

void roster__eio_close_reason(roster__eio_session *s, const char *reason) {
  if (s)
    roster__eio_close_session(s, reason ? reason : "forced close");
}

/* ---- packets from the client --------------------------------------------- */

static void deliver(roster__eio_session *s, const roster__eio_packet *p) {
  roster__eio_server *e = s->e;
  pthread_mutex_lock(&s->cb_lock);
  if (!s->close_called && e->o.on_message)
    e->o.on_message(s, p->data, p->len, p->binary, e->o.arg);
  pthread_mutex_unlock(&s->cb_lock);
}

/* on_packet handles one packet of the session's transport. I/O thread. */
void roster__eio_on_packet(roster__eio_session *s,
                           const roster__eio_packet *p) {
  atomic_fetch_add(&s->e->st_pin, 1);
  atomic_fetch_add(&s->e->st_bin, p->len);
  switch (p->kind) {
  case ROSTER__EIO_MESSAGE:
    deliver(s, p);
    break;
  case ROSTER__EIO_PONG:
    pthread_mutex_lock(&s->e->lock);
    if (s->pong_deadline && !s->closing) {
      s->pong_deadline = 0;
      s->next_ping = roster__eio_now_ms() + s->e->o.ping_interval_ms;
      roster__eio_wake_for(s->e, s->next_ping);
    }
    pthread_mutex_unlock(&s->e->lock);
    break;
  case ROSTER__EIO_CLOSE:
    roster__eio_close_session(s, "transport close");
    break;
  default: /* open, ping, upgrade, noop: nothing to do */
    break;
  }
}

/* ---- the heartbeat thread ------------------------------------------------ */

static void *heartbeat(void *arg) {
  roster__eio_server *e = arg;
  pthread_mutex_lock(&e->lock);
  while (!e->stop) {
    int64_t now = roster__eio_now_ms(), next = now + 1000;
    roster__eio_session *dead = NULL;
    for (unsigned b = 0; b < NBUCKETS; b++)
      for (roster__eio_session *s = e->buckets[b]; s; s = s->hnext) {
        if (s->pong_deadline && now >= s->pong_deadline) {
          s->tnext = dead;
          dead = roster__eio_session_acquire(s);
          continue;
        }
        if (s->probe_ws && now >= s->probe_deadline) {
          /* no upgrade packet in time: the probe goes, polling stays */
          roster_httpd_ws_close(s->probe_ws, 1000, NULL);
          roster_httpd_ws_release(s->probe_ws);
          s->probe_ws = NULL;
          s->upgrading = false;
        }
        if (s->probe_ws && s->probe_deadline < next)
          next = s->probe_deadline;
        if (!s->pong_deadline && now >= s->next_ping) {
          roster__eio_queue_locked(s, ROSTER__EIO_PING, false, NULL, 0);
          s->pong_deadline = now + s->e->o.ping_timeout_ms;
        }
        int64_t t = s->pong_deadline ? s->pong_deadline : s->next_ping;
        if (t < next)
          next = t;
      }
    pthread_mutex_unlock(&e->lock);
    while (dead) {
      roster__eio_session *s = dead;
      dead = s->tnext;
      /* s->closing is set once, under the lock taken above */
      roster__eio_close_session(s, s->closing ? s->closing : "ping timeout");
      roster__eio_session_release(s);
    }
    pthread_mutex_lock(&e->lock);
    if (e->stop)
      break;
    struct timespec ts = {.tv_sec = next / 1000,
                          .tv_nsec = (long)(next % 1000) * 1000000};
    if (e->rescan) { /* a deadline came while the lock was let go */
      e->rescan = false;
      continue;
    }
    e->wake_at = next;
    pthread_cond_timedwait(&e->cond, &e->lock, &ts);
    e->wake_at = INT64_MAX; /* awake */
    e->rescan = false;
  }
  pthread_mutex_unlock(&e->lock);
  return NULL;
}

/* ---- the server ---------------------------------------------------------- */

int roster__eio_server_new(roster_httpd *h, const roster__eio_options *o,
                           roster__eio_server **out) {
  if (out)
    *out = NULL;
  if (!h || !out)
    return roster_error_set(ROSTER_EINVAL,
                            "roster__eio_server_new: NULL argument");
  const char *path = o && o->path ? o->path : "/engine.io/";
  size_t pl = strlen(path);
  if (pl < 1 || path[0] != '/' || path[pl - 1] != '/')
    return roster_error_set(ROSTER_EINVAL,
                            "engine.io: path \"%s\" must start and end "
                            "with '/'",
                            path);
  roster__eio_server *e = roster_mem_calloc(1, sizeof *e);
  if (!e || !(e->path = roster_mem_strdup(path))) {
    roster_mem_free(e);
    return roster_error_set(ROSTER_ENOMEM, "engine.io: out of memory");
  }
  e->wake_at = INT64_MAX; /* the heartbeat starts awake */
  if (o)
    e->o = *o;
  e->o.path = e->path;
  if (!e->o.ping_interval_ms)
    e->o.ping_interval_ms = 25000;
  if (!e->o.ping_timeout_ms)
    e->o.ping_timeout_ms = 20000;
  if (!e->o.max_payload)
    e->o.max_payload = ROSTER__EIO_MAX_PAYLOAD_DEFAULT;
  if (!e->o.upgrade_timeout_ms)
    e->o.upgrade_timeout_ms = 10000;
  e->h = h;
  int rc = roster_httpd_route(
      h, &(roster_httpd_route_options){.prefix = e->path,
                                       .handler = roster__eio_http_handler,
                                       .on_abort = roster__eio_http_abort,
                                       .arg = e});
  if (rc == ROSTER_OK)
    rc = roster_httpd_ws_route(h, &(roster_httpd_ws_route_options){
                                      .path = e->path,
                                      .on_open = roster__eio_ws_open,
                                      .on_message = roster__eio_ws_message,
                                      .on_close = roster__eio_ws_closed,
                                      .arg = e});
  if (rc != ROSTER_OK) {
    /* routes cannot be removed: free only before any request can come */
    roster_mem_free(e->path);
    roster_mem_free(e);
    return rc;
  }
  pthread_mutex_init(&e->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&e->cond, &ca);
  pthread_condattr_destroy(&ca);
  int pe = pthread_create(&e->thread, NULL, heartbeat, e);
  if (pe != 0) {
    pthread_cond_destroy(&e->cond);
    pthread_mutex_destroy(&e->lock);
    roster_mem_free(e->path);
    roster_mem_free(e);
    return roster_error_set(ROSTER_ESYS, "engine.io: thread: %s", strerror(pe));
  }
  pthread_setname_np(e->thread, "roster-eio");
  *out = e;
  return ROSTER_OK;
}

void roster__eio_server_free(roster__eio_server *e) {
  if (!e)
    return;
  pthread_mutex_lock(&e->lock);
  e->stop = true;
  pthread_cond_signal(&e->cond);
  pthread_mutex_unlock(&e->lock);
  pthread_join(e->thread, NULL);
  for (;;) {
    pthread_mutex_lock(&e->lock);
    roster__eio_session *s = NULL;
    for (unsigned b = 0; b < NBUCKETS && !s; b++)
      s = e->buckets[b];
    if (s)
      roster__eio_session_acquire(s);
    pthread_mutex_unlock(&e->lock);
    if (!s)
      break;
    roster__eio_close_session(s, "server shutting down");
    roster__eio_session_release(s);
  }
  pthread_cond_destroy(&e->cond);
  pthread_mutex_destroy(&e->lock);
  roster_mem_free(e->path);
  roster_mem_free(e);
}

size_t roster__eio_sessions(roster__eio_server *e) {
  pthread_mutex_lock(&e->lock);
  size_t n = e->n;
  pthread_mutex_unlock(&e->lock);
  return n;
}

const char *const roster__eio_reasons[ROSTER__EIO_NREASONS] = {
    "transport close", "transport error", "ping timeout",
    "parse error",     "forced close",    "server shutting down"};

void roster__eio_stats_get(roster__eio_server *e, roster__eio_stats *out) {
  out->sessions_open = roster__eio_sessions(e);
  out->sessions_total = atomic_load(&e->st_total);
  out->packets_in = atomic_load(&e->st_pin);
  out->packets_out = atomic_load(&e->st_pout);
  out->bytes_in = atomic_load(&e->st_bin);
  out->bytes_out = atomic_load(&e->st_bout);
  out->upgrades = atomic_load(&e->st_upgrades);
  out->refused_handshakes = atomic_load(&e->st_refused);
  for (int i = 0; i < ROSTER__EIO_NREASONS; i++)
    out->closes[i] = atomic_load(&e->st_closes[i]);
}

const char *roster__eio_session_sid(const roster__eio_session *s) {
  return s->sid;
}

const char *roster__eio_session_transport(roster__eio_session *s) {
  pthread_mutex_lock(&s->e->lock);
  bool ws = s->on_ws;
  pthread_mutex_unlock(&s->e->lock);
  return ws ? "websocket" : "polling";
}

void roster__eio_session_set_data(roster__eio_session *s, void *data) {
  atomic_store(&s->data, data);
}

void *roster__eio_session_data(const roster__eio_session *s) {
  return atomic_load(&((roster__eio_session *)s)->data);
}
