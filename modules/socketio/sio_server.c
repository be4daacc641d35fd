/*
 * sio_server.c: the Socket.IO server (roster/socketio.h): servers,
 * namespaces and their handlers, Engine.IO sessions as connections, and
 * the packets clients send (CONNECT with the middleware, EVENT, ACK,
 * DISCONNECT). Sockets are sio_socket.c's, sending is sio_emit.c's.
 */
#include "sio_impl.h"

#include "base/helpers.h" /* roster__cond_init_mono, roster__err_save */

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t roster__sio_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- namespaces and hooks ------------------------------------------------ */

roster_socketio_nsp *roster__sio_nsp_find(roster_socketio *io,
                                          const char *name) {
  for (roster_socketio_nsp *n = atomic_load(&io->nsps); n;
       n = atomic_load(&n->next))
    if (strcmp(n->name, name) == 0)
      return n;
  return NULL;
}

int roster_socketio_of(roster_socketio *io, const char *name,
                       roster_socketio_nsp **out) {
  if (out)
    *out = NULL;
  if (!io || !name)
    return roster_error_set(ROSTER_EINVAL, "roster_socketio_of: NULL argument");
  size_t len = strlen(name);
  const char *why = roster__sio_nsp_invalid(name, len);
  if (!why && len > ROSTER_NAME_MAX)
    why = "longer than ROSTER_NAME_MAX bytes";
  if (why)
    return roster_error_set(
        ROSTER_EINVAL, "socketio '%s': bad namespace name: %s", io->name, why);
  pthread_mutex_lock(&io->setup_lock);
  roster_socketio_nsp *n = roster__sio_nsp_find(io, name);
  bool made = !n;
  if (!n) {
    n = roster_mem_calloc(1, sizeof *n);
    if (n && !(n->name = roster_mem_strdup(name))) {
      roster_mem_free(n);
      n = NULL;
    }
    if (n) {
      n->io = io;
      atomic_store(&n->next, atomic_load(&io->nsps));
      atomic_store_explicit(&io->nsps, n, memory_order_release);
    }
  }
  pthread_mutex_unlock(&io->setup_lock);
  if (!n)
    return roster_error_set(ROSTER_ENOMEM, "socketio: out of memory");
  if (made)
    roster__sio_adapter_nsp(io, n->name);
  if (out)
    *out = n;
  return ROSTER_OK;
}

const char *roster_socketio_nsp_name(const roster_socketio_nsp *nsp) {
  return nsp ? nsp->name : NULL;
}

static int hook_add(roster_socketio_nsp *nsp, int kind, const char *event,
                    void (*fn)(void), void *arg, const char *what) {
  if (!nsp || !fn)
    return roster_error_set(ROSTER_EINVAL, "%s: NULL argument", what);
  if (event && !*event)
    return roster_error_set(ROSTER_EINVAL, "%s: empty event name", what);
  sio_hook *h = roster_mem_calloc(1, sizeof *h);
  if (!h || (event && !(h->event = roster_mem_strdup(event)))) {
    roster_mem_free(h);
    return roster_error_set(ROSTER_ENOMEM, "socketio: out of memory");
  }
  h->kind = kind;
  h->fn = fn;
  h->arg = arg;
  roster_socketio *io = nsp->io;
  pthread_mutex_lock(&io->setup_lock);
  if (nsp->hooks_tail)
    atomic_store_explicit(&nsp->hooks_tail->next, h, memory_order_release);
  else
    atomic_store_explicit(&nsp->hooks, h, memory_order_release);
  nsp->hooks_tail = h;
  pthread_mutex_unlock(&io->setup_lock);
  return ROSTER_OK;
}

#define FN(f) ((void (*)(void))(f))

int roster_socketio_use(roster_socketio_nsp *nsp, roster_socketio_use_fn fn,
                        void *arg) {
  return hook_add(nsp, HOOK_USE, NULL, FN(fn), arg, "roster_socketio_use");
}

int roster_socketio_on(roster_socketio_nsp *nsp, const char *event,
                       roster_socketio_event_fn fn, void *arg) {
  return hook_add(nsp, event ? HOOK_ON : HOOK_ANY, event, FN(fn), arg,
                  "roster_socketio_on");
}

int roster_socketio_on_connect(roster_socketio_nsp *nsp,
                               roster_socketio_connect_fn fn, void *arg) {
  return hook_add(nsp, HOOK_CONNECT, NULL, FN(fn), arg,
                  "roster_socketio_on_connect");
}

int roster_socketio_on_disconnect(roster_socketio_nsp *nsp,
                                  roster_socketio_disconnect_fn fn, void *arg) {
  return hook_add(nsp, HOOK_DISCONNECT, NULL, FN(fn), arg,
                  "roster_socketio_on_disconnect");
}

#define HOOKS(nsp, h)                                                          \
  for (sio_hook *h =                                                           \
           atomic_load_explicit(&(nsp)->hooks, memory_order_acquire);          \
       h; h = atomic_load_explicit(&h->next, memory_order_acquire))

/* ---- connections -----------------------------------------------------------
 */

void roster__sio_conn_release(sio_conn *c) {
  if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
    return;
  roster__sio_decoder_reset(&c->dec);
  roster__eio_session_release(c->session);
  pthread_mutex_destroy(&c->lock);
  roster_mem_free(c->socks);
  roster_mem_free(c);
}

static void eio_open(roster__eio_session *sess, void *arg) {
  roster_socketio *io = arg;
  sio_conn *c = roster_mem_calloc(1, sizeof *c);
  if (!c) {
    roster__eio_close(sess);
    return;
  }
  atomic_init(&c->refs, 1);
  c->io = io;
  c->session = roster__eio_session_acquire(sess);
  roster__sio_decoder_init(&c->dec, &io->lim);
  pthread_mutex_init(&c->lock, NULL);
  roster__eio_session_set_data(sess, c);
  roster__sio_conn_deadline(io, c);
}

static void eio_close(roster__eio_session *sess, const char *reason,
                      void *arg) {
  (void)arg;
  sio_conn *c = roster__eio_session_data(sess);
  if (!c)
    return;
  roster__eio_session_set_data(sess, NULL);
  roster__sio_conn_end_all(c, reason, false);
  roster__sio_conn_release(c);
}

/* conn_socket: the socket of c in nsp, acquired, or NULL. */
static roster_socketio_socket *conn_socket(sio_conn *c,
                                           const roster_socketio_nsp *nsp) {
  roster_socketio_socket *s = NULL;
  pthread_mutex_lock(&c->lock);
  for (size_t i = 0; i < c->nsocks && !s; i++)
    if (c->socks[i]->nsp == nsp)
      s = roster_socketio_socket_acquire(c->socks[i]);
  pthread_mutex_unlock(&c->lock);
  return s;
}

/* ---- packets from clients --------------------------------------------------
 */

/* send_raw sends a packet on a connection that has no socket for it (a
 * refusal). */
static void send_conn_packet(sio_conn *c, const roster__sio_packet *p) {
  roster__sio_encoded *enc = NULL;
  if (roster__sio_encode(p, &c->io->lim, &enc) != ROSTER_OK)
    return;
  roster__eio_part part = {
      .data = enc->text + 1, .len = enc->text_len - 1, .binary = false};
  if (roster__eio_send_parts(c->session, &part, 1) == ROSTER_OK) {
    SIO_STAT(c->io, pout, 1);
    SIO_STAT(c->io, bout, enc->text_len);
  }
  roster__sio_encoded_release(enc);
}

static void connect_error(sio_conn *c, const char *nsp, const char *message) {
  json_t *d = json_pack("{ss}", "message", message);
  roster__sio_packet p = {.kind = ROSTER__SIO_CONNECT_ERROR,
                          .nsp = (char *)nsp,
                          .nsp_len = strlen(nsp),
                          .id = -1,
                          .data = d};
  if (d)
    send_conn_packet(c, &p);
  json_decref(d);
  SIO_STAT(c->io, refused, 1);
}

static void on_connect_packet(sio_conn *c, roster__sio_packet *p) {
  roster_socketio *io = c->io;
  roster_socketio_nsp *nsp = roster__sio_nsp_find(io, p->nsp);
  if (!nsp) {
    connect_error(c, p->nsp, "Invalid namespace"); /* socket.io's words */
    return;
  }
  if (atomic_load(&io->stopping)) {
    connect_error(c, p->nsp, "server shutting down");
    return;
  }
  roster_socketio_socket *dup = conn_socket(c, nsp);
  if (dup) { /* socket.io ignores a second CONNECT to a namespace */
    roster_socketio_socket_release(dup);
    return;
  }
  json_t *auth = p->data ? json_incref(p->data) : json_object();
  roster_socketio_socket *s = NULL;
  if (!auth || roster__sio_socket_new(c, nsp, auth, &s) != ROSTER_OK) {
    json_decref(auth);
    connect_error(c, p->nsp, "server error");
    return;
  }
  char msg[256];
  HOOKS(nsp, h) {
    if (h->kind != HOOK_USE)
      continue;
    msg[0] = '\0';
    if (((roster_socketio_use_fn)h->fn)(s, auth, msg, sizeof msg, h->arg)) {
      connect_error(c, p->nsp, msg[0] ? msg : "not authorized");
      roster_socketio_socket_release(s);
      return;
    }
  }
  /* CONNECT goes out before the socket joins its rooms: an emit from
   * another thread may reach it as soon as it is in them, and the client
   * must see CONNECT first (sends from this thread keep their order) */
  json_t *d = json_pack("{ss}", "sid", s->id);
  roster__sio_packet ok = {
      .kind = ROSTER__SIO_CONNECT, .nsp = nsp->name, .id = -1, .data = d};
  ok.nsp_len = strlen(nsp->name);
  int rc = d ? roster__sio_send_packet(s, &ok, false) : ROSTER_ENOMEM;
  json_decref(d);
  if (rc == ROSTER_OK && roster__sio_socket_enter(s) != ROSTER_OK) {
    roster__sio_packet bye = {.kind = ROSTER__SIO_DISCONNECT,
                              .nsp = nsp->name,
                              .nsp_len = ok.nsp_len,
                              .id = -1};
    roster__sio_send_packet(s, &bye, true);
    rc = ROSTER_ENOMEM;
  }
  if (rc != ROSTER_OK) {
    SIO_STAT(io, refused, 1);
    roster_socketio_socket_release(s);
    return;
  }
  SIO_STAT(io, sockets_total, 1);
  HOOKS(nsp, h) {
    if (h->kind == HOOK_CONNECT && atomic_load(&s->connected))
      ((roster_socketio_connect_fn)h->fn)(s, h->arg);
  }
  roster_socketio_socket_release(s);
}

static void on_event_packet(roster_socketio_socket *s, roster__sio_packet *p) {
  const json_t *first = json_array_get(p->data, 0);
  char num[32];
  const char *name;
  if (json_is_string(first)) {
    name = json_string_value(first);
  } else { /* a number: as JavaScript prints a small integer */
    snprintf(num, sizeof num, "%.17g", json_number_value(first));
    name = num;
  }
  json_t *args = json_array();
  if (!args)
    return;
  for (size_t i = 1; i < json_array_size(p->data); i++)
    json_array_append(args, json_array_get(p->data, i));
  roster_socketio_bin bins[ROSTER__SIO_BINS_STACK];
  roster__sio_bins_out(p, bins);
  roster_socketio_event ev = {.name = name,
                              .args = args,
                              .bins = bins,
                              .nbin = p->nbin,
                              .ack_id = p->id};
  bool handled = false;
  HOOKS(s->nsp, h) {
    if (h->kind == HOOK_ON && strcmp(h->event, name) == 0) {
      ((roster_socketio_event_fn)h->fn)(s, &ev, h->arg);
      handled = true;
    }
  }
  if (!handled)
    HOOKS(s->nsp, h) {
      if (h->kind == HOOK_ANY)
        ((roster_socketio_event_fn)h->fn)(s, &ev, h->arg);
    }
  json_decref(args);
}

static void on_packet(sio_conn *c, roster__sio_packet *p) {
  if (p->kind == ROSTER__SIO_CONNECT) {
    on_connect_packet(c, p);
    return;
  }
  roster_socketio_nsp *nsp = roster__sio_nsp_find(c->io, p->nsp);
  roster_socketio_socket *s = nsp ? conn_socket(c, nsp) : NULL;
  if (!s || p->kind == ROSTER__SIO_CONNECT_ERROR) {
    /* socket.io closes a client that speaks in a namespace it is not in
     * (or sends what only a server sends) */
    roster_socketio_socket_release(s);
    roster__eio_close_reason(c->session, "parse error");
    return;
  }
  switch (p->kind) {
  case ROSTER__SIO_EVENT:
    on_event_packet(s, p);
    break;
  case ROSTER__SIO_ACK:
    roster__sio_ack_answer(s, p);
    break;
  case ROSTER__SIO_DISCONNECT:
    roster__sio_socket_end(s, "client namespace disconnect", false);
    break;
  default:
    break;
  }
  roster_socketio_socket_release(s);
}

static void eio_message(roster__eio_session *sess, const void *data, size_t len,
                        bool binary, void *arg) {
  roster_socketio *io = arg;
  sio_conn *c = roster__eio_session_data(sess);
  if (!c)
    return;
  roster__sio_packet *p = NULL;
  int rc = binary ? roster__sio_decoder_binary(&c->dec, data, len, &p)
                  : roster__sio_decoder_text(&c->dec, data, len, &p);
  SIO_STAT(io, bin, len);
  if (rc != ROSTER_OK) {
    roster__eio_close_reason(sess, "parse error");
    return;
  }
  if (!p)
    return; /* attachments to come */
  SIO_STAT(io, pin, 1);
  on_packet(c, p);
  roster__sio_packet_free(p);
}

/* ---- the server -------------------------------------------------------------
 */

static void server_free_parts(roster_socketio *io) {
  roster__eio_server_free(io->e);
  roster_httpd_free(io->h);
  if (io->rooms)
    roster_free(io->rooms);
  for (roster_socketio_nsp *n = atomic_load(&io->nsps), *nn; n; n = nn) {
    nn = atomic_load(&n->next);
    for (sio_hook *h = atomic_load(&n->hooks), *hn; h; h = hn) {
      hn = atomic_load(&h->next);
      roster_mem_free(h->event);
      roster_mem_free(h);
    }
    roster_mem_free(n->name);
    roster_mem_free(n);
  }
  pthread_mutex_destroy(&io->setup_lock);
  pthread_mutex_destroy(&io->room_lock);
  pthread_mutex_destroy(&io->stop_lock);
  pthread_mutex_destroy(&io->e_lock);
  pthread_mutex_destroy(&io->tlock);
  pthread_cond_destroy(&io->tcond);
  roster_mem_free(io->heap);
  roster_mem_free(io->name);
  roster_mem_free(io->path);
  roster_mem_free(io);
}

int roster_socketio_new(const roster_socketio_options *o,
                        roster_socketio **out) {
  if (out)
    *out = NULL;
  if (!out)
    return roster_error_set(ROSTER_EINVAL, "roster_socketio_new: NULL out");
  roster_socketio_options d = {0};
  if (!o)
    o = &d;
  roster_socketio *io = roster_mem_calloc(1, sizeof *io);
  if (!io)
    return roster_error_set(ROSTER_ENOMEM, "socketio: out of memory");
  io->o = *o;
  /* the host and origins are the httpd's (it copies what it keeps) */
  io->o.host = NULL;
  io->o.origins = NULL;
  pthread_mutex_init(&io->setup_lock, NULL);
  pthread_mutex_init(&io->room_lock, NULL);
  pthread_mutex_init(&io->stop_lock, NULL);
  pthread_mutex_init(&io->e_lock, NULL);
  pthread_mutex_init(&io->tlock, NULL);
  roster__cond_init_mono(&io->tcond);
  io->name = roster_mem_strdup(o->name ? o->name : "socketio");
  io->path = roster_mem_strdup(o->path ? o->path : "/socket.io/");
  io->o.name = io->name;
  io->o.path = io->path;
  io->lim =
      roster__sio_limits_of(&(roster__sio_limits){.max_nsp = ROSTER_NAME_MAX});
  if (io->lim.max_attachments > ROSTER__SIO_BINS_STACK) /* see bins_out */
    io->lim.max_attachments = ROSTER__SIO_BINS_STACK;
  if (!io->o.max_payload)
    io->o.max_payload = ROSTER__EIO_MAX_PAYLOAD_DEFAULT;
  int rc = ROSTER_OK;
  if (!io->name || !io->path)
    rc = roster_error_set(ROSTER_ENOMEM, "socketio: out of memory");
  if (rc == ROSTER_OK) {
    /* the body bound leaves room for the framing around a polling
     * payload of max_payload bytes (base64 of binary; the Engine.IO
     * server answers 413 past max_payload itself); a WebSocket message
     * is bound by max_payload as engine.io's ws maxPayload: past it,
     * 1009 */
    size_t big = (size_t)io->o.max_payload + io->o.max_payload / 3 + 64;
    roster_httpd_options ho = {.name = io->name,
                               .host = o->host,
                               .port = o->port,
                               .max_connections = o->max_connections,
                               .max_body = big,
                               .max_message = (size_t)io->o.max_payload,
                               .max_queue = o->max_queue,
                               .idle_timeout_ms = 0,
                               .slow_timeout_ms = o->slow_timeout_ms,
                               .origins = o->origins};
    rc = roster_httpd_new(&ho, &io->h);
  }
  if (rc == ROSTER_OK)
    rc = roster__eio_server_new(
        io->h,
        &(roster__eio_options){
            .path = io->path,
            .ping_interval_ms = o->ping_interval_ms,
            .ping_timeout_ms = o->ping_timeout_ms,
            .max_payload = io->o.max_payload,
            .max_sessions = o->max_connections ? o->max_connections : 1024,
            .on_open = eio_open,
            .on_message = eio_message,
            .on_close = eio_close,
            .arg = io},
        &io->e);
  if (rc == ROSTER_OK)
    rc = roster_new(&(roster_options){.keys = ROSTER_KEYS_DUPLICATE,
                                      .name = io->name,
                                      .workers = 1},
                    &io->rooms);
  if (rc == ROSTER_OK)
    rc = roster_socketio_of(io, "/", &io->root);
  if (rc != ROSTER_OK) {
    roster__err_saved es;
    roster__err_save(&es, rc);
    server_free_parts(io);
    return roster__err_restore(&es);
  }
  *out = io;
  return ROSTER_OK;
}

int roster_socketio_start(roster_socketio *io) {
  if (!io)
    return roster_error_set(ROSTER_EINVAL, "roster_socketio_start: NULL");
  pthread_mutex_lock(&io->stop_lock);
  int rc = ROSTER_OK;
  if (atomic_load(&io->started) || atomic_load(&io->stopped))
    rc = roster_error_set(ROSTER_ESTATE, "socketio '%s': started before",
                          io->name);
  if (rc == ROSTER_OK)
    rc = roster__sio_timer_start(io);
  if (rc == ROSTER_OK) {
    rc = roster_httpd_start(io->h);
    if (rc != ROSTER_OK)
      roster__sio_timer_stop(io);
  }
  if (rc == ROSTER_OK)
    atomic_store(&io->started, true);
  pthread_mutex_unlock(&io->stop_lock);
  return rc;
}

/* collect: a dispatch visitor that takes every socket (acquired). */
typedef struct {
  roster_socketio_socket **v;
  size_t n, cap;
} sock_vec;

static int collect(const roster_info *info, void *arg) {
  sock_vec *sv = arg;
  if (sv->n == sv->cap) {
    size_t cap = sv->cap ? sv->cap * 2 : 64;
    void *nv = roster_mem_realloc(sv->v, cap * sizeof *sv->v);
    if (!nv)
      return 1;
    sv->v = nv;
    sv->cap = cap;
  }
  sv->v[sv->n++] = roster_socketio_socket_acquire(info->instance);
  return 0;
}

int roster_socketio_stop(roster_socketio *io, int64_t deadline_ms) {
  if (!io)
    return roster_error_set(ROSTER_EINVAL, "roster_socketio_stop: NULL");
  pthread_mutex_lock(&io->stop_lock);
  if (atomic_load(&io->stopped)) {
    pthread_mutex_unlock(&io->stop_lock);
    return ROSTER_OK;
  }
  atomic_store(&io->stopping, true);
  /* every socket: its handlers; then the transports close */
  for (roster_socketio_nsp *n = atomic_load(&io->nsps); n;
       n = atomic_load(&n->next)) {
    sock_vec sv = {0};
    roster_dispatch(io->rooms, ROSTER_SOCKETIO_ALL_NS, n->name, collect, &sv,
                    NULL);
    for (size_t i = 0; i < sv.n; i++) {
      /* as socket.io's close(): no DISCONNECT packet, the transport
       * closes, so clients take it for an outage and reconnect (a
       * restart is a gap to them, not a dismissal) */
      roster__sio_socket_end(sv.v[i], "server shutting down", false);
      roster_socketio_socket_release(sv.v[i]);
    }
    roster_mem_free(sv.v);
  }
  int rc = roster_httpd_stop(io->h, deadline_ms);
  if (rc == ROSTER_OK) {
    pthread_mutex_lock(&io->e_lock);
    roster__eio_server *e = io->e;
    roster__eio_stats_get(e, &io->e_last);
    io->e_last.sessions_open = 0;
    io->e = NULL;
    pthread_mutex_unlock(&io->e_lock);
    roster__eio_server_free(e); /* sessions left: closed */
    roster__sio_timer_stop(io);
    atomic_store(&io->stopped, true);
  }
  pthread_mutex_unlock(&io->stop_lock);
  return rc;
}

void roster_socketio_free(roster_socketio *io) {
  if (!io)
    return;
  roster_socketio_set_adapter(io, NULL); /* its threads emit into io */
  if (atomic_load(&io->started))
    roster_socketio_stop(io, 0);
  server_free_parts(io);
}

uint16_t roster_socketio_port(const roster_socketio *io) {
  return io ? roster_httpd_port(io->h) : 0;
}

roster_httpd *roster_socketio_httpd(roster_socketio *io) {
  return io ? io->h : NULL;
}

roster *roster_socketio_rooms(roster_socketio *io) {
  return io ? io->rooms : NULL;
}

int roster_socketio_health(roster_socketio *io) {
  if (!io)
    return roster_error_set(ROSTER_EINVAL, "roster_socketio_health: NULL");
  if (!atomic_load(&io->started))
    return roster_error_set(ROSTER_ESTATE, "socketio '%s': not started",
                            io->name);
  if (atomic_load(&io->stopping))
    return roster_error_set(ROSTER_ESTATE, "socketio '%s': stopped", io->name);
  return roster_httpd_health(io->h);
}

int roster_socketio_stats_get(roster_socketio *io, roster_socketio_stats *out) {
  if (!io || !out)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_socketio_stats_get: NULL argument");
  roster__eio_stats es;
  pthread_mutex_lock(&io->e_lock);
  if (io->e)
    roster__eio_stats_get(io->e, &es);
  else
    es = io->e_last;
  pthread_mutex_unlock(&io->e_lock);
#define LD(f) atomic_load_explicit(&io->st.f, memory_order_relaxed)
  *out = (roster_socketio_stats){.connections = es.sessions_open,
                                 .connections_total = es.sessions_total,
                                 .sockets = LD(sockets),
                                 .sockets_total = LD(sockets_total),
                                 .refused = LD(refused),
                                 .rooms = LD(rooms),
                                 .packets_in = LD(pin),
                                 .packets_out = LD(pout),
                                 .bytes_in = LD(bin),
                                 .bytes_out = LD(bout),
                                 .dropped = LD(dropped),
                                 .slow_consumers = LD(slow),
                                 .acks_timed_out = LD(acks_timed_out)};
#undef LD
  return ROSTER_OK;
}
