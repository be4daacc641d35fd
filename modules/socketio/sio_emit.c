/*
 * sio_emit.c: sending. A packet is encoded once (roster__sio_encode) and,
 * for a broadcast, framed once for WebSocket (roster_httpd_msg_new): each
 * receiver's connection takes a reference to the same bytes. Receivers
 * are found by dispatch over the room registry; a connection that cannot
 * take a non-volatile packet is ended after the dispatch, outside its
 * read section. A broadcast is handed to the server's adapter (if any)
 * after it is encoded; roster_socketio_emit_local skips the adapter.
 */
#include "sio_impl.h"

#include <string.h>

static const char *const reserved[] = {
    "connect",     "connect_error",  "disconnect", "disconnecting",
    "newListener", "removeListener", NULL};

int roster__sio_args_check(const char *fn, const char *event,
                           const json_t *args) {
  if (!event || !*event)
    return roster_error_set(ROSTER_EINVAL, "%s: no event name", fn);
  for (size_t i = 0; reserved[i]; i++)
    if (strcmp(event, reserved[i]) == 0)
      return roster_error_set(ROSTER_EINVAL,
                              "%s: \"%s\" is a reserved event name", fn, event);
  if (args && !json_is_array(args))
    return roster_error_set(ROSTER_EINVAL,
                            "%s: args must be a JSON array (of the "
                            "arguments) or NULL",
                            fn);
  return ROSTER_OK;
}

roster__sio_bin *roster__sio_bins_in(const roster_socketio_bin *bins,
                                     size_t nbin, roster__sio_bin *stack,
                                     roster__sio_bin **heap) {
  *heap = NULL;
  if (!nbin)
    return stack;
  roster__sio_bin *b = stack;
  if (nbin > ROSTER__SIO_BINS_STACK &&
      !(b = *heap = roster_mem_calloc(nbin, sizeof *b)))
    return NULL;
  for (size_t i = 0; i < nbin; i++)
    b[i] = (roster__sio_bin){(uint8_t *)bins[i].data, bins[i].len};
  return b;
}

/* ---- one packet, framed once ------------------------------------------- */

typedef struct framed {
  roster__sio_encoded *enc;
  roster__eio_part *parts; /* 1 + nbin */
  size_t n;
  size_t bytes;
  roster__eio_part one[4];
} framed;

static void framed_free(framed *f) {
  for (size_t i = 0; i < f->n; i++)
    roster_httpd_msg_release(f->parts[i].ws);
  if (f->parts != f->one)
    roster_mem_free(f->parts);
  roster__sio_encoded_release(f->enc);
}

/* frame encodes p; with ws, frames it for WebSocket too (a broadcast). */
static int frame(roster_socketio *io, const roster__sio_packet *p, bool ws,
                 framed *f) {
  memset(f, 0, sizeof *f);
  int rc = roster__sio_encode(p, &io->lim, &f->enc);
  if (rc != ROSTER_OK)
    return rc;
  roster__sio_encoded *e = f->enc;
  f->bytes = e->text_len;
  for (size_t i = 0; i < e->nbin; i++)
    f->bytes += e->bins[i].len;
  if (f->bytes > io->o.max_payload) {
    framed_free(f);
    return roster_error_set(ROSTER_ERANGE,
                            "socketio '%s': a packet of %zu bytes is over "
                            "max_payload (%llu)",
                            io->name, f->bytes,
                            (unsigned long long)io->o.max_payload);
  }
  f->n = 1 + e->nbin;
  f->parts = f->n <= 4 ? f->one : roster_mem_calloc(f->n, sizeof *f->parts);
  if (!f->parts) {
    f->n = 0;
    framed_free(f);
    return roster_error_set(ROSTER_ENOMEM, "socketio: out of memory");
  }
  f->parts[0] = (roster__eio_part){
      .data = e->text + 1, .len = e->text_len - 1, .binary = false};
  for (size_t i = 0; i < e->nbin; i++)
    f->parts[1 + i] = (roster__eio_part){
        .data = e->bins[i].p, .len = e->bins[i].len, .binary = true};
  for (size_t i = 0; ws && rc == ROSTER_OK && i < f->n; i++)
    rc = roster_httpd_msg_new(i ? ROSTER_HTTPD_WS_BINARY : ROSTER_HTTPD_WS_TEXT,
                              i ? f->parts[i].data : e->text,
                              i ? f->parts[i].len : e->text_len,
                              &f->parts[i].ws);
  if (rc != ROSTER_OK)
    framed_free(f);
  return rc;
}

/* send_framed: f to s's connection. ROSTER_OK (queued), ROSTER_EBUSY (a
 * volatile packet dropped), or the error that ended the connection. */
static int send_framed(roster_socketio_socket *s, const framed *f,
                       bool is_volatile, bool *kill) {
  roster_socketio *io = s->io;
  int rc = roster__eio_send_parts(s->conn->session, f->parts, f->n);
  if (rc == ROSTER_OK) {
    SIO_STAT(io, pout, 1);
    SIO_STAT(io, bout, f->bytes);
  } else if (rc == ROSTER_EBUSY || rc == ROSTER_ERANGE) {
    if (is_volatile) {
      SIO_STAT(io, dropped, 1);
      rc = ROSTER_EBUSY;
    } else { /* cannot be dropped unseen: the client must know */
      SIO_STAT(io, slow, 1);
      *kill = true;
    }
  }
  return rc;
}

int roster__sio_send_packet(roster_socketio_socket *s,
                            const roster__sio_packet *p, bool is_volatile) {
  framed f;
  int rc = frame(s->io, p, false, &f);
  if (rc != ROSTER_OK)
    return rc;
  bool kill = false;
  rc = send_framed(s, &f, is_volatile, &kill);
  framed_free(&f);
  if (kill)
    roster__eio_close_reason(s->conn->session, "transport error");
  return rc;
}

/* event_packet: the EVENT of event and args (an array or NULL) in nsp. */
static int event_packet(const char *fn, const char *nsp, const char *event,
                        const json_t *args, roster__sio_packet *p) {
  int rc = roster__sio_args_check(fn, event, args);
  if (rc != ROSTER_OK)
    return rc;
  json_t *all = json_array();
  if (!all || json_array_append_new(all, json_string(event))) {
    json_decref(all);
    return roster_error_set(ROSTER_ENOMEM, "socketio: out of memory");
  }
  for (size_t i = 0; i < json_array_size(args); i++)
    if (json_array_append(all, json_array_get(args, i))) {
      json_decref(all);
      return roster_error_set(ROSTER_ENOMEM, "socketio: out of memory");
    }
  *p = (roster__sio_packet){.kind = ROSTER__SIO_EVENT,
                            .nsp = (char *)nsp,
                            .nsp_len = strlen(nsp),
                            .id = -1,
                            .data = all};
  return ROSTER_OK;
}

/* ---- broadcasts --------------------------------------------------------- */

typedef struct bcast {
  const framed *f;
  const roster_socketio_target *to;
  size_t room; /* the index of the room being dispatched */
  bool is_volatile;
  size_t sent;
  roster_socketio_socket **kill; /* connections to end afterwards */
  size_t nkill, capkill;
} bcast;

static bool in_any(roster_socketio_socket *s, const char *const *rooms,
                   size_t n) {
  for (size_t i = 0; rooms && i < n && rooms[i]; i++)
    if (roster_socketio_socket_in(s, rooms[i]))
      return true;
  return false;
}

static int bcast_visit(const roster_info *info, void *arg) {
  bcast *b = arg;
  roster_socketio_socket *s = info->instance;
  if (!atomic_load_explicit(&s->connected, memory_order_relaxed))
    return 0;
  if (b->to->rooms && b->room > 0 && in_any(s, b->to->rooms, b->room))
    return 0; /* had it from an earlier room */
  if (b->to->except && in_any(s, b->to->except, SIZE_MAX))
    return 0;
  bool kill = false;
  int rc = send_framed(s, b->f, b->is_volatile, &kill);
  if (rc == ROSTER_OK)
    b->sent++;
  if (kill) {
    if (b->nkill == b->capkill) {
      size_t cap = b->capkill ? b->capkill * 2 : 16;
      void *nv = roster_mem_realloc(b->kill, cap * sizeof *b->kill);
      if (!nv)
        return 0; /* the httpd's slow-consumer timer ends it anyway */
      b->kill = nv;
      b->capkill = cap;
    }
    b->kill[b->nkill++] = roster_socketio_socket_acquire(s);
  }
  return 0;
}

/* emit: a broadcast; handed to the adapter too when adapt. */
static int emit(roster_socketio *io, const roster_socketio_target *to,
                const char *event, const json_t *args,
                const roster_socketio_bin *bins, size_t nbin, size_t *sent,
                bool adapt) {
  if (sent)
    *sent = 0;
  if (!io || (!bins && nbin))
    return roster_error_set(ROSTER_EINVAL,
                            "roster_socketio_emit: NULL argument");
  roster_socketio_target all = {0};
  if (!to)
    to = &all;
  const char *nspname = to->nsp ? to->nsp : "/";
  roster_socketio_nsp *nsp = roster__sio_nsp_find(io, nspname);
  if (!nsp)
    return roster_error_set(ROSTER_ENOENT, "socketio '%s': no namespace \"%s\"",
                            io->name, nspname);
  roster__sio_packet p;
  int rc = event_packet("roster_socketio_emit", nsp->name, event, args, &p);
  if (rc != ROSTER_OK)
    return rc;
  roster__sio_bin stack[ROSTER__SIO_BINS_STACK], *heap = NULL;
  p.bins = roster__sio_bins_in(bins, nbin, stack, &heap);
  p.nbin = nbin;
  framed f;
  rc = p.bins ? frame(io, &p, true, &f)
              : roster_error_set(ROSTER_ENOMEM, "socketio: out of memory");
  json_decref(p.data);
  roster_mem_free(heap);
  if (rc != ROSTER_OK)
    return rc;
  roster_socketio_adapter *a = adapt ? roster__sio_adapter_enter(io) : NULL;
  if (a) {
    roster_socketio_target t = *to;
    t.nsp = nsp->name;
    a->broadcast(a->arg, &t, event, args, bins, nbin);
    roster__sio_adapter_leave(io);
  }
  bcast b = {.f = &f, .to = to, .is_volatile = to->is_volatile};
  if (!to->rooms || !to->rooms[0]) {
    roster_dispatch(io->rooms, ROSTER_SOCKETIO_ALL_NS, nsp->name, bcast_visit,
                    &b, NULL);
  } else {
    for (b.room = 0; to->rooms[b.room]; b.room++) {
      const char *room = to->rooms[b.room];
      if (*room && strlen(room) <= ROSTER_NAME_MAX)
        roster_dispatch(io->rooms, nsp->name, room, bcast_visit, &b, NULL);
    }
  }
  framed_free(&f);
  for (size_t i = 0; i < b.nkill; i++) {
    roster__eio_close_reason(b.kill[i]->conn->session, "transport error");
    roster_socketio_socket_release(b.kill[i]);
  }
  roster_mem_free(b.kill);
  if (sent)
    *sent = b.sent;
  return ROSTER_OK;
}

int roster_socketio_emit(roster_socketio *io, const roster_socketio_target *to,
                         const char *event, const json_t *args,
                         const roster_socketio_bin *bins, size_t nbin,
                         size_t *sent) {
  return emit(io, to, event, args, bins, nbin, sent, true);
}

int roster_socketio_emit_local(roster_socketio *io,
                               const roster_socketio_target *to,
                               const char *event, const json_t *args,
                               const roster_socketio_bin *bins, size_t nbin,
                               size_t *sent) {
  return emit(io, to, event, args, bins, nbin, sent, false);
}

int roster_socketio_emit_room(roster_socketio *io, const char *room,
                              const char *event, const json_t *args) {
  if (!room)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_socketio_emit_room: NULL room");
  const char *rooms[] = {room, NULL};
  return roster_socketio_emit(io, &(roster_socketio_target){.rooms = rooms},
                              event, args, NULL, 0, NULL);
}

/* ---- one socket ---------------------------------------------------------- */

static int socket_send(roster_socketio_socket *s, roster__sio_packet *p,
                       const roster_socketio_bin *bins, size_t nbin) {
  roster__sio_bin stack[ROSTER__SIO_BINS_STACK], *heap = NULL;
  p->bins = roster__sio_bins_in(bins, nbin, stack, &heap);
  p->nbin = nbin;
  int rc = p->bins ? roster__sio_send_packet(s, p, false)
                   : roster_error_set(ROSTER_ENOMEM, "socketio: out of memory");
  roster_mem_free(heap);
  return rc;
}

int roster_socketio_socket_emit(roster_socketio_socket *s, const char *event,
                                const json_t *args,
                                const roster_socketio_bin *bins, size_t nbin) {
  if (!s || (!bins && nbin))
    return roster_error_set(ROSTER_EINVAL,
                            "roster_socketio_socket_emit: NULL argument");
  if (!atomic_load(&s->connected))
    return roster_error_set(ROSTER_ESTATE, "socketio: socket %s disconnected",
                            s->id);
  roster__sio_packet p;
  int rc = event_packet("roster_socketio_socket_emit", s->nsp->name, event,
                        args, &p);
  if (rc != ROSTER_OK)
    return rc;
  rc = socket_send(s, &p, bins, nbin);
  json_decref(p.data);
  return rc;
}

int roster_socketio_ack(roster_socketio_socket *s, int64_t ack_id,
                        const json_t *args, const roster_socketio_bin *bins,
                        size_t nbin) {
  if (!s || ack_id < 0 || ack_id > ROSTER__SIO_MAX_ACK_ID ||
      (args && !json_is_array(args)) || (!bins && nbin))
    return roster_error_set(ROSTER_EINVAL,
                            "roster_socketio_ack: a socket, an ack id >= 0 "
                            "and args that are an array or NULL");
  if (!atomic_load(&s->connected))
    return roster_error_set(ROSTER_ESTATE, "socketio: socket %s disconnected",
                            s->id);
  json_t *data = args ? json_incref((json_t *)args) : json_array();
  if (!data)
    return roster_error_set(ROSTER_ENOMEM, "socketio: out of memory");
  roster__sio_packet p = {.kind = ROSTER__SIO_ACK,
                          .nsp = s->nsp->name,
                          .nsp_len = strlen(s->nsp->name),
                          .id = ack_id,
                          .data = data};
  int rc = socket_send(s, &p, bins, nbin);
  json_decref(data);
  return rc;
}

/* ---- the log sink -------------------------------------------------------- */

typedef struct log_sink {
  roster_socketio *io;
  char *nsp, *room, *event;
} log_sink;

static void log_sink_free(void *arg) {
  log_sink *ls = arg;
  roster_mem_free(ls->nsp);
  roster_mem_free(ls->room);
  roster_mem_free(ls->event);
  roster_mem_free(ls);
}

static void log_line(int level, const char *line, size_t len, void *arg) {
  log_sink *ls = arg;
  json_t *args = json_pack("[{ssss#}]", "level", roster_log_level_name(level),
                           "line", line, (int)len);
  if (!args) /* not UTF-8 (jansson checks): the line is not sent */
    return;
  const char *rooms[] = {ls->room, NULL};
  /* volatile: a connection that cannot take the line now loses it
   * (counted in dropped); nothing here logs, so nothing loops; local: a
   * node's log goes to its own clients, not through the adapter */
  roster_socketio_emit_local(
      ls->io,
      &(roster_socketio_target){.nsp = ls->nsp,
                                .rooms = ls->room ? rooms : NULL,
                                .is_volatile = true},
      ls->event, args, NULL, 0, NULL);
  json_decref(args);
}

int roster_socketio_log_sink(roster_socketio *io, roster_log *log, int level,
                             const char *nsp, const char *room,
                             const char *event, uint64_t *id) {
  if (!io || !log)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_socketio_log_sink: NULL argument");
  int rc = roster__sio_args_check("roster_socketio_log_sink",
                                  event ? event : "log", NULL);
  if (rc != ROSTER_OK)
    return rc;
  if (room && (!*room || strlen(room) > ROSTER_NAME_MAX))
    return roster_error_set(ROSTER_EINVAL,
                            "roster_socketio_log_sink: a room name is 1 to "
                            "%d bytes",
                            ROSTER_NAME_MAX);
  log_sink *ls = roster_mem_calloc(1, sizeof *ls);
  if (!ls)
    return roster_error_set(ROSTER_ENOMEM, "socketio: out of memory");
  ls->io = io;
  ls->nsp = roster_mem_strdup(nsp ? nsp : "/");
  ls->room = room ? roster_mem_strdup(room) : NULL;
  ls->event = roster_mem_strdup(event ? event : "log");
  if (!ls->nsp || !ls->event || (room && !ls->room)) {
    log_sink_free(ls);
    return roster_error_set(ROSTER_ENOMEM, "socketio: out of memory");
  }
  roster_log_sink sink = {.kind = ROSTER_LOG_SINK_CALLBACK,
                          .level = level,
                          .fn = log_line,
                          .arg = ls,
                          .free_arg = log_sink_free};
  rc = roster_log_sink_add(log, &sink, id);
  if (rc != ROSTER_OK)
    log_sink_free(ls);
  return rc;
}
