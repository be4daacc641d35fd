/*
 * loop.c: the httpd module's I/O thread: its epoll loop (accepting,
 * reading, writing, timers, the graceful stop), the lock-free stack of
 * operations other threads push, and the references that keep
 * connections and the server alive (see httpd_impl.h). server.c has the
 * public calls that make, start and stop a server.
 */
#include "httpd_impl.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "roster/alloc.h"
#include "roster/error.h"

#define SWEEP_MS 100
#define LINGER_MS 1000
#define READ_CHUNK 65536
#define READS_PER_WAKE 4 /* chunks per connection per wake: fairness */

static _Thread_local const roster_httpd *tls_loop;

int64_t roster__httpd_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool roster__httpd_on_loop(const roster_httpd *s) { return tls_loop == s; }

/* ---- buffers and messages ------------------------------------------- */

int roster__httpd_buf_add(roster__httpd_buf *b, const void *p, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
      cap *= 2;
    char *q = roster_mem_realloc(b->p, cap);
    if (!q)
      return ROSTER_ENOMEM;
    b->p = q;
    b->cap = cap;
  }
  if (n)
    memcpy(b->p + b->len, p, n);
  b->len += n;
  b->p[b->len] = '\0';
  return ROSTER_OK;
}

void roster__httpd_buf_free(roster__httpd_buf *b) {
  roster_mem_free(b->p);
  memset(b, 0, sizeof *b);
}

roster_httpd_msg *roster__httpd_msg_alloc(size_t len) {
  roster_httpd_msg *m = roster_mem_alloc(sizeof *m + len);
  if (!m)
    return NULL;
  atomic_init(&m->refs, 1);
  m->len = len;
  m->payload = 0;
  return m;
}

void roster_httpd_msg_release(roster_httpd_msg *m) {
  if (m && atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1)
    roster_mem_free(m);
}

/* ---- references ------------------------------------------------------ */

void roster__httpd_srv_destroy(roster_httpd *s) {
  for (size_t i = 0; i < s->nroutes; i++)
    roster_mem_free(s->routes[i].prefix);
  for (size_t i = 0; i < s->nws_routes; i++)
    roster_mem_free(s->ws_routes[i].path);
  roster_mem_free(s->routes);
  roster_mem_free(s->ws_routes);
  roster_mem_strv_free(s->origins);
  roster_mem_free(s->name);
  pthread_mutex_destroy(&s->stop_mu);
  roster_mem_free(s);
}

void roster__httpd_srv_release(roster_httpd *s) {
  if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
    roster__httpd_srv_destroy(s);
}

roster_httpd_ws *roster__httpd_conn_ref(roster_httpd_ws *c) {
  atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
  return c;
}

void roster__httpd_conn_release(roster_httpd_ws *c) {
  if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
    return;
  /* The socket is closed and the loop forgot c: only memory is left. */
  roster_httpd *s = c->srv;
  roster__httpd_buf_free(&c->pending);
  roster__httpd_buf_free(&c->msg);
  roster_mem_free(c);
  roster__httpd_srv_release(s);
}

roster_httpd_ws *roster_httpd_ws_acquire(roster_httpd_ws *ws) {
  return ws ? roster__httpd_conn_ref(ws) : NULL;
}

void roster_httpd_ws_release(roster_httpd_ws *ws) {
  if (ws)
    roster__httpd_conn_release(ws);
}

void roster_httpd_ws_set_data(roster_httpd_ws *ws, void *data) {
  if (ws)
    atomic_store_explicit(&ws->data, data, memory_order_release);
}

void *roster_httpd_ws_data(const roster_httpd_ws *ws) {
  return ws ? atomic_load_explicit(&((roster_httpd_ws *)ws)->data,
                                   memory_order_acquire)
            : NULL;
}

/* ---- the operation stack --------------------------------------------- */

bool roster__httpd_push(roster_httpd *s, roster__httpd_op *op) {
  roster__httpd_op *head = atomic_load_explicit(&s->ops, memory_order_relaxed);
  do {
    if (head == ROSTER__HTTPD_OPS_CLOSED)
      return false;
    op->next = head;
  } while (!atomic_compare_exchange_weak_explicit(
      &s->ops, &head, op, memory_order_release, memory_order_relaxed));
  if (!head) { /* the first since the loop last drained: wake it */
    uint64_t one = 1;
    ssize_t w = write(s->evfd, &one, sizeof one);
    (void)w; /* EAGAIN: the counter is already non-zero */
  }
  return true;
}

void roster__httpd_op_free(roster__httpd_op *op) {
  if (op->req)
    roster__httpd_request_free(op->req);
  roster_httpd_msg_release(op->m);
  if (op->c)
    roster__httpd_conn_release(op->c);
  roster_mem_free(op);
}

static void apply_op(roster__httpd_op *op) {
  roster_httpd_ws *c = op->c;
  switch (op->kind) {
  case ROSTER__HTTPD_OP_SEND:
    if (c->state == CS_WS && !c->close_notified) {
      ROSTER__HTTPD_STAT(c->srv, mout, 1);
      ROSTER__HTTPD_STAT(c->srv, bout, op->m->payload);
      roster__httpd_queue(c, op->m, true);
      op->m = NULL;
    } else {
      atomic_fetch_sub(&c->queued, op->m->len);
    }
    break;
  case ROSTER__HTTPD_OP_RESPOND:
    roster__httpd_apply_respond(c, op->req, op->m, op->close);
    op->req = NULL;
    op->m = NULL;
    break;
  case ROSTER__HTTPD_OP_CLOSE:
    if (c->state == CS_WS && !c->close_notified)
      roster__httpd_ws_closing(c, op->code, op->reason, true);
    break;
  default:
    break;
  }
  roster__httpd_op_free(op);
}

/* drain applies every pushed operation in push order; closed: the loop
 * ends, so later pushes fail. */
static void flush(roster_httpd_ws *c);

static void drain(roster_httpd *s, bool closed) {
  uint64_t v;
  ssize_t r = read(s->evfd, &v, sizeof v);
  (void)r;
  roster__httpd_op *list = atomic_exchange_explicit(
      &s->ops, closed ? ROSTER__HTTPD_OPS_CLOSED : NULL, memory_order_acquire);
  roster__httpd_op *rev = NULL;
  while (list && list != ROSTER__HTTPD_OPS_CLOSED) {
    roster__httpd_op *n = list->next;
    list->next = rev;
    rev = list;
    list = n;
  }
  s->draining = true;
  while (rev) {
    roster__httpd_op *n = rev->next;
    apply_op(rev);
    rev = n;
  }
  s->draining = false;
  while (s->dirty) { /* one writev per connection for the whole batch */
    roster_httpd_ws *c = s->dirty;
    s->dirty = c->dirty_next;
    c->dirty = false;
    if (c->fd >= 0)
      flush(c);
    roster__httpd_conn_release(c);
  }
}

/* ---- output ------------------------------------------------------------ */

void roster__httpd_set_events(roster_httpd_ws *c, uint32_t ev) {
  if (c->fd < 0 || ev == c->events)
    return;
  struct epoll_event e = {.events = ev, .data.ptr = c};
  if (epoll_ctl(c->srv->epfd, EPOLL_CTL_MOD, c->fd, &e) == 0)
    c->events = ev;
}

/* want_events: what the connection waits for now. */
static uint32_t want_events(const roster_httpd_ws *c) {
  /* After the peer's FIN, level-triggered EPOLLRDHUP would fire on every
   * wait: only the writes are left to wait for. */
  uint32_t ev = c->eof ? 0 : EPOLLRDHUP;
  bool paused = c->state == CS_HTTP && (c->held || c->close_after_flush);
  if (!paused && !c->eof)
    ev |= EPOLLIN;
  if (c->out_head)
    ev |= EPOLLOUT;
  return ev;
}

static void start_linger(roster_httpd_ws *c) {
  shutdown(c->fd, SHUT_WR);
  c->state = CS_LINGER;
  c->linger_until = roster__httpd_now() + LINGER_MS;
  roster__httpd_set_events(c, EPOLLIN | EPOLLRDHUP);
  if (c->eof)
    roster__httpd_destroy(c);
}

static void flush(roster_httpd_ws *c) {
  roster_httpd *s = c->srv;
  while (c->out_head && c->fd >= 0) {
    struct iovec iov[32];
    int n = 0;
    for (roster__httpd_out *o = c->out_head; o && n < 32; o = o->next, n++) {
      iov[n].iov_base = o->m->data + o->off;
      iov[n].iov_len = o->m->len - o->off;
    }
    ssize_t w = writev(c->fd, iov, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN)
        break;
      roster__httpd_destroy(c); /* EPIPE, ECONNRESET */
      return;
    }
    atomic_fetch_sub(&c->queued, (size_t)w);
    c->last_active = roster__httpd_now(); /* a long answer is not idle */
    size_t left = (size_t)w;
    while (left && c->out_head) {
      roster__httpd_out *o = c->out_head;
      size_t take = o->m->len - o->off;
      if (take > left) {
        o->off += left;
        break;
      }
      left -= take;
      c->out_head = o->next;
      roster_httpd_msg_release(o->m);
      roster_mem_free(o);
    }
    if (!c->out_head)
      c->out_tail = NULL;
  }
  if (atomic_load(&c->queued) <= s->o.max_queue / 2)
    atomic_store_explicit(&c->over_since, 0, memory_order_relaxed);
  if (c->fd < 0)
    return;
  if (!c->out_head && c->close_after_flush && c->state != CS_LINGER) {
    start_linger(c);
    return;
  }
  roster__httpd_set_events(c, want_events(c));
}

void roster__httpd_queue(roster_httpd_ws *c, roster_httpd_msg *m,
                         bool counted) {
  roster__httpd_out *o = roster_mem_calloc(1, sizeof *o);
  if (!o || c->fd < 0 || c->state == CS_LINGER) {
    if (c->capture && c->state != CS_DEAD)
      roster__httpd_buf_add(c->capture, m->data, m->len);
    roster_mem_free(o);
    if (counted)
      atomic_fetch_sub(&c->queued, m->len);
    roster_httpd_msg_release(m);
    if (c->fd >= 0 && c->state != CS_LINGER)
      roster__httpd_destroy(c); /* out of memory: this connection ends */
    return;
  }
  if (!counted)
    atomic_fetch_add(&c->queued, m->len);
  o->m = m;
  if (c->out_tail)
    c->out_tail->next = o;
  else
    c->out_head = o;
  c->out_tail = o;
  if (c->fd < 0 || c->in_dispatch)
    return;
  roster_httpd *s = c->srv;
  if (s->draining) { /* written once the batch is applied */
    if (!c->dirty) {
      c->dirty = true;
      c->dirty_next = s->dirty;
      s->dirty = roster__httpd_conn_ref(c);
    }
    return;
  }
  flush(c);
}

/* ---- connections -------------------------------------------------------- */

void roster__httpd_destroy(roster_httpd_ws *c) {
  if (c->state == CS_DEAD)
    return;
  roster_httpd *s = c->srv;
  if (c->state == CS_WS || c->open_notified)
    roster__httpd_ws_closing(c, 1006, "", false);
  c->state = CS_DEAD;
  atomic_store(&c->closing, true);
  if (c->held && !c->aborted && c->held->route->o.on_abort) {
    c->aborted = true;
    c->held->route->o.on_abort(c->held, c->held->route->o.arg);
  }
  if (c->fd >= 0) {
    epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    atomic_fetch_sub_explicit(&s->st.open, 1, memory_order_relaxed);
  }
  while (c->out_head) {
    roster__httpd_out *o = c->out_head;
    c->out_head = o->next;
    atomic_fetch_sub(&c->queued, o->m->len - o->off);
    roster_httpd_msg_release(o->m);
    roster_mem_free(o);
  }
  c->out_tail = NULL;
  if (c->req) {
    roster__httpd_request_free(c->req);
    c->req = NULL;
  }
  if (c->wf) {
    wslay_frame_context_free(c->wf);
    c->wf = NULL;
  }
  roster__httpd_buf_free(&c->pending);
  roster__httpd_buf_free(&c->msg);
  if (c->prev)
    c->prev->next = c->next;
  else if (s->conns == c)
    s->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  c->prev = c->next = NULL;
  /* The loop's reference goes after the current batch of events, which
   * may still hold c (an event behind the one that ended it). */
  c->dead_next = s->graveyard;
  s->graveyard = c;
}

/* bury drops the loop's reference of connections destroyed so far. */
static void bury(roster_httpd *s) {
  while (s->graveyard) {
    roster_httpd_ws *c = s->graveyard;
    s->graveyard = c->dead_next;
    roster__httpd_conn_release(c);
  }
}

static roster_httpd_ws *conn_new(roster_httpd *s, int fd) {
  roster_httpd_ws *c = roster_mem_calloc(1, sizeof *c);
  if (!c)
    return NULL;
  atomic_init(&c->refs, 1);
  atomic_fetch_add(&s->refs, 1);
  c->srv = s;
  c->fd = fd;
  c->state = CS_HTTP;
  c->last_active = roster__httpd_now();
  roster__httpd_http_init(c);
  c->next = s->conns;
  if (s->conns)
    s->conns->prev = c;
  s->conns = c;
  return c;
}

roster_httpd_ws *roster__httpd_fake_conn(roster_httpd *s,
                                         roster__httpd_buf *capture) {
  tls_loop = s;
  roster_httpd_ws *c = conn_new(s, -1);
  if (c)
    c->capture = capture;
  return c;
}

void roster__httpd_fake_drain(roster_httpd *s) {
  drain(s, false);
  bury(s);
}

void roster__httpd_input(roster_httpd_ws *c, const uint8_t *data, size_t n) {
  c->last_active = roster__httpd_now();
  if (c->state == CS_LINGER)
    return; /* discarded */
  c->in_dispatch = true;
  if (c->state == CS_HTTP) {
    if (roster__httpd_buf_add(&c->pending, data, n) != ROSTER_OK) {
      c->in_dispatch = false;
      roster__httpd_destroy(c);
      return;
    }
    roster__httpd_http_input(c);
  } else if (c->state == CS_WS) {
    roster__httpd_ws_input(c, data, n);
  }
  c->in_dispatch = false;
  if (c->fd >= 0)
    flush(c);
}

static void accept_all(roster_httpd *s) {
  for (int i = 0; i < 64; i++) {
    int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
      return; /* EAGAIN, or EMFILE and the like: retried on the next wake */
    if (atomic_load(&s->st.open) >= s->o.max_connections) {
      close(fd);
      ROSTER__HTTPD_STAT(s, refused, 1);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    roster_httpd_ws *c = conn_new(s, fd);
    struct epoll_event e = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
    if (!c || epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &e) != 0) {
      if (c) {
        c->fd = -1;
        roster__httpd_destroy(c);
      }
      close(fd);
      continue;
    }
    c->events = e.events;
    ROSTER__HTTPD_STAT(s, open, 1);
    ROSTER__HTTPD_STAT(s, total, 1);
  }
}

static void on_readable(roster_httpd_ws *c, uint8_t *buf) {
  for (int i = 0; i < READS_PER_WAKE && c->fd >= 0; i++) {
    ssize_t r = read(c->fd, buf, READ_CHUNK);
    if (r > 0) {
      roster__httpd_input(c, buf, (size_t)r);
      if (c->fd < 0 || (c->state == CS_HTTP && c->held) || r < READ_CHUNK)
        return;
      continue;
    }
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
      return;
    c->eof = true; /* EOF or ECONNRESET */
    if (c->state == CS_LINGER || r < 0 || !c->out_head)
      roster__httpd_destroy(c);
    else
      roster__httpd_set_events(c, want_events(c));
    return;
  }
}

/* sweep: timeouts of every connection. */
static void sweep(roster_httpd *s, int64_t now) {
  roster_httpd_ws *next;
  for (roster_httpd_ws *c = s->conns; c; c = next) {
    next = c->next;
    int64_t over = atomic_load_explicit(&c->over_since, memory_order_relaxed);
    if (over && now - over >= s->o.slow_timeout_ms) {
      ROSTER__HTTPD_STAT(s, slow, 1);
      if (c->state == CS_WS)
        roster__httpd_ws_closing(c, 1008, "slow consumer", false);
      roster__httpd_destroy(c);
    } else if (c->state == CS_LINGER && now >= c->linger_until) {
      roster__httpd_destroy(c);
    } else if (c->state == CS_HTTP && !c->held && s->o.idle_timeout_ms > 0 &&
               now - c->last_active >= s->o.idle_timeout_ms) {
      roster__httpd_destroy(c);
    }
  }
}

/* begin_stop: the graceful part of roster_httpd_stop. */
static void begin_stop(roster_httpd *s) {
  epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->lfd, NULL);
  close(s->lfd);
  s->lfd = -1;
  roster_httpd_ws *next;
  for (roster_httpd_ws *c = s->conns; c; c = next) {
    next = c->next;
    if (c->state == CS_WS && !c->close_notified) {
      roster__httpd_ws_closing(c, 1001, "server stopping", true);
    } else if (c->state == CS_HTTP && c->held) {
      c->close_after_flush = true;
      if (!c->aborted && c->held->route->o.on_abort) {
        c->aborted = true;
        c->held->route->o.on_abort(c->held, c->held->route->o.arg);
      }
    } else if (c->state == CS_HTTP && !c->out_head) {
      roster__httpd_destroy(c);
    } else if (c->state == CS_HTTP) {
      c->close_after_flush = true;
    }
  }
}

void *roster__httpd_loop_main(void *arg) {
  roster_httpd *s = arg;
  tls_loop = s;
  uint8_t *buf = roster_mem_alloc(READ_CHUNK);
  struct epoll_event evs[64];
  bool stopping = false;
  int64_t deadline = 0, last_sweep = roster__httpd_now();
  atomic_store(&s->tick, last_sweep);
  atomic_store(&s->serving, true);
  for (;;) {
    int n = epoll_wait(s->epfd, evs, 64, SWEEP_MS);
    for (int i = 0; i < n; i++) {
      void *p = evs[i].data.ptr;
      if (p == &s->lfd) {
        accept_all(s);
      } else if (p == &s->evfd) {
        drain(s, false);
      } else {
        roster_httpd_ws *c = p;
        roster__httpd_conn_ref(c); /* destroy must not free it here */
        uint32_t e = evs[i].events;
        if ((e & (EPOLLERR | EPOLLHUP)) && !(e & EPOLLIN))
          roster__httpd_destroy(c);
        if (c->fd >= 0 && (e & EPOLLOUT))
          flush(c);
        if (c->fd >= 0 && (e & EPOLLIN) && buf)
          on_readable(c, buf);
        if (c->fd >= 0 && (e & EPOLLRDHUP) && !(e & EPOLLIN)) {
          c->eof = true;
          if (c->state == CS_LINGER || !c->out_head)
            roster__httpd_destroy(c);
          else
            roster__httpd_set_events(c, want_events(c));
        }
        roster__httpd_conn_release(c);
      }
    }
    int64_t now = roster__httpd_now();
    atomic_store_explicit(&s->tick, now, memory_order_relaxed);
    if (!stopping && atomic_load(&s->stop_requested)) {
      atomic_store(&s->serving, false);
      stopping = true;
      deadline = now + atomic_load(&s->stop_deadline);
      /* what was sent before the stop goes out before the close frames */
      drain(s, false);
      begin_stop(s);
    }
    if (now - last_sweep >= SWEEP_MS) {
      last_sweep = now;
      sweep(s, now);
    }
    bury(s);
    if (stopping && (!s->conns || now >= deadline))
      break;
  }
  while (s->conns)
    roster__httpd_destroy(s->conns);
  drain(s, true);
  bury(s);
  roster_mem_free(buf);
  tls_loop = NULL;
  return NULL;
}
