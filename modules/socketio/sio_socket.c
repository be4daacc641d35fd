/*
 * sio_socket.c: sockets (a client in one namespace): their rooms as
 * entries of the server's registry (duplicate keys, the socket's owner
 * token), disconnection, user data, and server -> client acks with the
 * timer thread that expires them.
 */
#include "sio_impl.h"

#include "base/helpers.h" /* roster__thread_start, roster__err_wrap */

#include <string.h>

/* A registry entry holds a reference to its socket, dropped after a
 * grace period (so a dispatch that sees the entry sees a live socket). */
static void member_destroy(void *instance) {
  roster_socketio_socket_release(instance);
}

static const roster_type member_type = {.name = "socketio.socket",
                                        .destroy = member_destroy};

roster_socketio_socket *
roster_socketio_socket_acquire(roster_socketio_socket *s) {
  if (s)
    atomic_fetch_add(&s->refs, 1);
  return s;
}

void roster_socketio_socket_release(roster_socketio_socket *s) {
  if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
    return;
  if (s->data_free)
    s->data_free(s->data);
  for (size_t i = 0; i < s->nrooms; i++)
    roster_mem_free(s->rooms[i]);
  roster_mem_free(s->rooms);
  json_decref(s->auth);
  roster_owner_free(s->owner);
  roster__sio_conn_release(s->conn);
  pthread_mutex_destroy(&s->lock);
  roster_mem_free(s);
}

int roster__sio_socket_new(sio_conn *c, roster_socketio_nsp *nsp, json_t *auth,
                           roster_socketio_socket **out) {
  roster_socketio_socket *s = roster_mem_calloc(1, sizeof *s);
  if (!s)
    return roster_error_set(ROSTER_ENOMEM, "socketio: out of memory");
  int rc = roster__eio_random_id(s->id);
  if (rc == ROSTER_OK)
    rc = roster_owner_new(&s->owner);
  if (rc != ROSTER_OK) {
    roster_mem_free(s);
    return rc;
  }
  atomic_init(&s->refs, 1);
  s->io = c->io;
  s->nsp = nsp;
  atomic_fetch_add(&c->refs, 1);
  s->conn = c;
  s->auth = auth; /* the caller's reference */
  pthread_mutex_init(&s->lock, NULL);
  *out = s;
  return ROSTER_OK;
}

static int member_add(roster_socketio_socket *s, const char *ns,
                      const char *name) {
  roster_socketio_socket_acquire(s);
  int rc = roster_register_ex(s->io->rooms, ns, name, &member_type, s,
                              &(roster_entry_options){.owner = s->owner});
  if (rc != ROSTER_OK)
    roster_socketio_socket_release(s);
  return rc;
}

int roster__sio_socket_enter(roster_socketio_socket *s) {
  int rc = member_add(s, ROSTER_SOCKETIO_ALL_NS, s->nsp->name);
  if (rc == ROSTER_OK)
    rc = member_add(s, s->nsp->name, s->id);
  if (rc != ROSTER_OK) {
    roster_owner_drop(s->owner, NULL);
    return rc;
  }
  sio_conn *c = s->conn;
  pthread_mutex_lock(&c->lock);
  if (c->nsocks == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 2;
    void *nv = roster_mem_realloc(c->socks, cap * sizeof *c->socks);
    if (!nv) {
      pthread_mutex_unlock(&c->lock);
      roster_owner_drop(s->owner, NULL);
      return roster_error_set(ROSTER_ENOMEM, "socketio: out of memory");
    }
    c->socks = nv;
    c->cap = cap;
  }
  c->socks[c->nsocks++] = roster_socketio_socket_acquire(s);
  atomic_store(&s->connected, true);
  pthread_mutex_unlock(&c->lock);
  SIO_STAT(s->io, sockets, 1);
  return ROSTER_OK;
}

/* rooms_drop_locked: after s's entries are gone, the named rooms it was in
 * that are now empty are one room fewer (io->room_lock held). */
static void rooms_recount_locked(roster_socketio_socket *s, char **rooms,
                                 size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!roster_has(s->io->rooms, s->nsp->name, rooms[i]))
      atomic_fetch_sub(&s->io->st.rooms, 1);
}

void roster__sio_socket_end(roster_socketio_socket *s, const char *reason,
                            bool send_packet) {
  roster_socketio *io = s->io;
  pthread_mutex_lock(&io->room_lock);
  pthread_mutex_lock(&s->lock);
  if (!atomic_load(&s->connected)) {
    pthread_mutex_unlock(&s->lock);
    pthread_mutex_unlock(&io->room_lock);
    return;
  }
  atomic_store(&s->connected, false);
  sio_pending *acks = s->acks;
  s->acks = NULL;
  char **rooms = s->rooms;
  size_t nrooms = s->nrooms;
  s->rooms = NULL;
  s->nrooms = s->rcap = 0;
  pthread_mutex_unlock(&s->lock);
  /* every room at once: the entries share the socket's owner token */
  roster_owner_drop(s->owner, NULL);
  rooms_recount_locked(s, rooms, nrooms);
  pthread_mutex_unlock(&io->room_lock);
  for (size_t i = 0; i < nrooms; i++)
    roster_mem_free(rooms[i]);
  roster_mem_free(rooms);
  if (send_packet) {
    roster__sio_packet p = {.kind = ROSTER__SIO_DISCONNECT,
                            .nsp = s->nsp->name,
                            .nsp_len = strlen(s->nsp->name),
                            .id = -1};
    /* past the connected check: sent even now */
    roster__sio_send_packet(s, &p, true);
  }
  sio_conn *c = s->conn;
  bool listed = false;
  pthread_mutex_lock(&c->lock);
  for (size_t i = 0; i < c->nsocks; i++)
    if (c->socks[i] == s) {
      c->socks[i] = c->socks[--c->nsocks];
      listed = true;
      break;
    }
  pthread_mutex_unlock(&c->lock);
  atomic_fetch_sub(&io->st.sockets, 1);
  for (sio_hook *h = atomic_load_explicit(&s->nsp->hooks, memory_order_acquire);
       h; h = atomic_load_explicit(&h->next, memory_order_acquire))
    if (h->kind == HOOK_DISCONNECT)
      ((roster_socketio_disconnect_fn)h->fn)(s, reason, h->arg);
  while (acks) {
    sio_pending *a = acks;
    acks = a->next;
    roster_error_set(ROSTER_ESTATE, "socketio: socket %s disconnected (%s)",
                     s->id, reason);
    a->fn(s, ROSTER_ESTATE, NULL, NULL, 0, a->arg);
    roster_mem_free(a);
  }
  if (listed)
    roster_socketio_socket_release(s);
}

void roster__sio_conn_end_all(sio_conn *c, const char *reason,
                              bool send_packet) {
  for (;;) { /* each socket takes itself out of c->socks */
    pthread_mutex_lock(&c->lock);
    roster_socketio_socket *s =
        c->nsocks ? roster_socketio_socket_acquire(c->socks[0]) : NULL;
    pthread_mutex_unlock(&c->lock);
    if (!s)
      break;
    roster__sio_socket_end(s, reason, send_packet);
    roster_socketio_socket_release(s);
  }
}

int roster_socketio_socket_disconnect(roster_socketio_socket *s,
                                      bool close_connection) {
  if (!s)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_socketio_socket_disconnect: NULL");
  roster__sio_socket_end(s, "server namespace disconnect", true);
  if (close_connection) {
    /* every namespace of the connection is told before it closes, as
     * socket.io's Socket#disconnect(true) does: a client told nothing
     * would take the close for a failure and reconnect */
    roster__sio_conn_end_all(s->conn, "server namespace disconnect", true);
    roster__eio_close(s->conn->session);
  }
  return ROSTER_OK;
}

/* ---- lookups and fields -------------------------------------------------- */

typedef struct {
  const char *id;
  roster_socketio_socket *found;
} find_ctx;

static int find_visit(const roster_info *info, void *arg) {
  find_ctx *f = arg;
  roster_socketio_socket *s = info->instance;
  if (strcmp(s->id, f->id) != 0) /* a room named like an id */
    return 0;
  f->found = roster_socketio_socket_acquire(s);
  return 1;
}

int roster_socketio_socket_find(roster_socketio *io, const char *nsp,
                                const char *id, roster_socketio_socket **out) {
  if (out)
    *out = NULL;
  if (!io || !id || !out)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_socketio_socket_find: NULL argument");
  find_ctx f = {.id = id};
  if (!*id || strlen(id) > ROSTER_NAME_MAX)
    return roster_error_set(ROSTER_ENOENT, "socketio '%s': no socket \"%s\"",
                            io->name, id);
  roster_dispatch(io->rooms, nsp ? nsp : "/", id, find_visit, &f, NULL);
  if (!f.found)
    return roster_error_set(ROSTER_ENOENT,
                            "socketio '%s': no socket \"%s\" in %s", io->name,
                            id, nsp ? nsp : "/");
  *out = f.found;
  return ROSTER_OK;
}

const char *roster_socketio_socket_id(const roster_socketio_socket *s) {
  return s ? s->id : NULL;
}

const char *roster_socketio_socket_nsp(const roster_socketio_socket *s) {
  return s ? s->nsp->name : NULL;
}

const char *roster_socketio_socket_transport(roster_socketio_socket *s) {
  return s ? roster__eio_session_transport(s->conn->session) : NULL;
}

const json_t *roster_socketio_socket_auth(const roster_socketio_socket *s) {
  return s ? s->auth : NULL;
}

roster_socketio *
roster_socketio_socket_server(const roster_socketio_socket *s) {
  return s ? s->io : NULL;
}

bool roster_socketio_socket_connected(roster_socketio_socket *s) {
  return s && atomic_load(&s->connected);
}

void roster_socketio_socket_set_data(roster_socketio_socket *s, void *data,
                                     void (*free_fn)(void *)) {
  if (!s)
    return;
  pthread_mutex_lock(&s->lock);
  void *old = s->data;
  void (*old_free)(void *) = s->data_free;
  s->data = data;
  s->data_free = free_fn;
  pthread_mutex_unlock(&s->lock);
  if (old_free && old != data)
    old_free(old);
}

void *roster_socketio_socket_data(roster_socketio_socket *s) {
  if (!s)
    return NULL;
  pthread_mutex_lock(&s->lock);
  void *d = s->data;
  pthread_mutex_unlock(&s->lock);
  return d;
}

/* ---- rooms --------------------------------------------------------------- */

static int room_check(const char *fn, const char *room) {
  if (!room || !*room || strlen(room) > ROSTER_NAME_MAX)
    return roster_error_set(ROSTER_EINVAL, "%s: a room name is 1 to %d bytes",
                            fn, ROSTER_NAME_MAX);
  return ROSTER_OK;
}

static ssize_t room_index_locked(roster_socketio_socket *s, const char *room) {
  for (size_t i = 0; i < s->nrooms; i++)
    if (strcmp(s->rooms[i], room) == 0)
      return (ssize_t)i;
  return -1;
}

bool roster_socketio_socket_in(roster_socketio_socket *s, const char *room) {
  if (!s || !room)
    return false;
  if (strcmp(room, s->id) == 0)
    return atomic_load(&s->connected);
  pthread_mutex_lock(&s->lock);
  bool in = room_index_locked(s, room) >= 0;
  pthread_mutex_unlock(&s->lock);
  return in;
}

int roster_socketio_socket_join(roster_socketio_socket *s, const char *room) {
  int rc = room_check("roster_socketio_socket_join", room);
  if (rc != ROSTER_OK || !s)
    return rc ? rc
              : roster_error_set(ROSTER_EINVAL,
                                 "roster_socketio_socket_join: NULL socket");
  if (strcmp(room, s->id) == 0)
    return ROSTER_OK; /* in it from the start */
  roster_socketio *io = s->io;
  /* io->room_lock orders every membership change of the server (and a
   * socket's end), so the check and the insert below are one step; the
   * socket's lock is not held across the registry write */
  pthread_mutex_lock(&io->room_lock);
  pthread_mutex_lock(&s->lock);
  bool in = room_index_locked(s, room) >= 0;
  if (!atomic_load(&s->connected))
    rc = roster_error_set(ROSTER_ESTATE, "socketio: socket %s disconnected",
                          s->id);
  else if (!in && s->nrooms == s->rcap) {
    size_t cap = s->rcap ? s->rcap * 2 : 4;
    void *nv = roster_mem_realloc(s->rooms, cap * sizeof *s->rooms);
    if (!nv)
      rc = roster_error_set(ROSTER_ENOMEM, "socketio: out of memory");
    else {
      s->rooms = nv;
      s->rcap = cap;
    }
  }
  pthread_mutex_unlock(&s->lock);
  if (rc == ROSTER_OK && !in) {
    char *copy = roster_mem_strdup(room);
    bool was = roster_has(io->rooms, s->nsp->name, room);
    rc = copy ? member_add(s, s->nsp->name, room)
              : roster_error_set(ROSTER_ENOMEM, "socketio: out of memory");
    if (rc == ROSTER_OK) {
      pthread_mutex_lock(&s->lock);
      s->rooms[s->nrooms++] = copy;
      pthread_mutex_unlock(&s->lock);
      if (!was)
        SIO_STAT(io, rooms, 1);
    } else {
      roster_mem_free(copy);
    }
  }
  pthread_mutex_unlock(&io->room_lock);
  return rc;
}

int roster_socketio_socket_leave(roster_socketio_socket *s, const char *room) {
  int rc = room_check("roster_socketio_socket_leave", room);
  if (rc != ROSTER_OK || !s)
    return rc ? rc
              : roster_error_set(ROSTER_EINVAL,
                                 "roster_socketio_socket_leave: NULL socket");
  roster_socketio *io = s->io;
  pthread_mutex_lock(&io->room_lock);
  pthread_mutex_lock(&s->lock);
  ssize_t i = room_index_locked(s, room);
  char *name = NULL;
  if (i >= 0) {
    name = s->rooms[i];
    s->rooms[i] = s->rooms[--s->nrooms];
  }
  pthread_mutex_unlock(&s->lock); /* no socket lock across a registry write */
  if (name) {
    roster_unregister_owned(io->rooms, s->nsp->name, room, s->owner);
    rooms_recount_locked(s, &name, 1);
    roster_mem_free(name);
  }
  pthread_mutex_unlock(&io->room_lock);
  return ROSTER_OK;
}

/* ---- acks ---------------------------------------------------------------- */

static void heap_swap(sio_timer *h, size_t a, size_t b) {
  sio_timer t = h[a];
  h[a] = h[b];
  h[b] = t;
}

static int heap_push(roster_socketio *io, sio_timer t) {
  if (io->nheap == io->heapcap) {
    size_t cap = io->heapcap ? io->heapcap * 2 : 64;
    void *nv = roster_mem_realloc(io->heap, cap * sizeof *io->heap);
    if (!nv)
      return roster_error_set(ROSTER_ENOMEM, "socketio: out of memory");
    io->heap = nv;
    io->heapcap = cap;
  }
  size_t i = io->nheap++;
  io->heap[i] = t;
  while (i && io->heap[(i - 1) / 2].at > io->heap[i].at) {
    heap_swap(io->heap, i, (i - 1) / 2);
    i = (i - 1) / 2;
  }
  return ROSTER_OK;
}

static sio_timer heap_pop(roster_socketio *io) {
  sio_timer top = io->heap[0];
  io->heap[0] = io->heap[--io->nheap];
  for (size_t i = 0;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < io->nheap && io->heap[l].at < io->heap[m].at)
      m = l;
    if (r < io->nheap && io->heap[r].at < io->heap[m].at)
      m = r;
    if (m == i)
      break;
    heap_swap(io->heap, i, m);
    i = m;
  }
  return top;
}

/* pending_take: the pending ack id of s, out of its list, or NULL. */
static sio_pending *pending_take(roster_socketio_socket *s, int64_t id) {
  pthread_mutex_lock(&s->lock);
  sio_pending *a = NULL;
  for (sio_pending **p = &s->acks; *p; p = &(*p)->next)
    if ((*p)->id == id) {
      a = *p;
      *p = a->next;
      break;
    }
  pthread_mutex_unlock(&s->lock);
  return a;
}

void roster__sio_ack_answer(roster_socketio_socket *s,
                            const roster__sio_packet *p) {
  if (p->id < 0)
    return;
  sio_pending *a = pending_take(s, p->id);
  if (!a)
    return; /* late (timed out) or never asked: ignored, as socket.io does */
  roster_socketio_bin bins[ROSTER__SIO_BINS_STACK];
  roster__sio_bins_out(p, bins);
  a->fn(s, ROSTER_OK, p->data, bins, p->nbin, a->arg);
  roster_mem_free(a);
}

int roster_socketio_socket_emit_ack(roster_socketio_socket *s,
                                    const char *event, const json_t *args,
                                    const roster_socketio_bin *bins,
                                    size_t nbin, int64_t timeout_ms,
                                    roster_socketio_ack_fn fn, void *arg) {
  if (!s || !fn)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_socketio_socket_emit_ack: NULL argument");
  int rc =
      roster__sio_args_check("roster_socketio_socket_emit_ack", event, args);
  if (rc != ROSTER_OK)
    return rc;
  if (timeout_ms <= 0)
    timeout_ms = 10000;
  sio_pending *a = roster_mem_calloc(1, sizeof *a);
  if (!a)
    return roster_error_set(ROSTER_ENOMEM, "socketio: out of memory");
  a->fn = fn;
  a->arg = arg;
  roster_socketio *io = s->io;
  pthread_mutex_lock(&s->lock);
  if (!atomic_load(&s->connected)) {
    pthread_mutex_unlock(&s->lock);
    roster_mem_free(a);
    return roster_error_set(ROSTER_ESTATE, "socketio: socket %s disconnected",
                            s->id);
  }
  a->id = s->next_ack++;
  a->next = s->acks;
  s->acks = a;
  pthread_mutex_unlock(&s->lock);
  int64_t id = a->id;
  pthread_mutex_lock(&io->tlock);
  rc = io->timer_on
           ? heap_push(io, (sio_timer){.at = roster__sio_now_ms() + timeout_ms,
                                       .s = roster_socketio_socket_acquire(s),
                                       .id = id})
           : roster_error_set(ROSTER_ESTATE, "socketio '%s': not serving",
                              io->name);
  if (rc == ROSTER_OK)
    pthread_cond_signal(&io->tcond);
  else if (io->timer_on)
    roster_socketio_socket_release(s);
  pthread_mutex_unlock(&io->tlock);
  if (rc == ROSTER_OK) {
    json_t *all = json_array();
    rc = all && !json_array_append_new(all, json_string(event))
             ? ROSTER_OK
             : roster_error_set(ROSTER_ENOMEM, "socketio: out of memory");
    for (size_t i = 0; rc == ROSTER_OK && i < json_array_size(args); i++)
      if (json_array_append(all, json_array_get(args, i)))
        rc = roster_error_set(ROSTER_ENOMEM, "socketio: out of memory");
    roster__sio_bin stack[ROSTER__SIO_BINS_STACK], *heap = NULL;
    roster__sio_packet p = {.kind = ROSTER__SIO_EVENT,
                            .nsp = s->nsp->name,
                            .nsp_len = strlen(s->nsp->name),
                            .id = id,
                            .data = all,
                            .nbin = nbin};
    if (rc == ROSTER_OK) {
      p.bins = roster__sio_bins_in(bins, nbin, stack, &heap);
      rc = p.bins || !nbin
               ? roster__sio_send_packet(s, &p, false)
               : roster_error_set(ROSTER_ENOMEM, "socketio: out of memory");
    }
    roster_mem_free(heap);
    json_decref(all);
  }
  if (rc != ROSTER_OK) { /* fn is not called: take the pending ack back */
    roster__err_saved es;
    roster__err_save(&es, rc);
    roster_mem_free(pending_take(s, id));
    return roster__err_restore(&es);
  }
  return ROSTER_OK;
}

static void *timer_main(void *arg) {
  roster_socketio *io = arg;
  pthread_mutex_lock(&io->tlock);
  while (!io->tstop) {
    int64_t now = roster__sio_now_ms();
    if (io->nheap && io->heap[0].at <= now) {
      sio_timer t = heap_pop(io);
      pthread_mutex_unlock(&io->tlock);
      if (t.c) { /* a connection still in no namespace: closed */
        pthread_mutex_lock(&t.c->lock);
        bool none = t.c->nsocks == 0;
        pthread_mutex_unlock(&t.c->lock);
        if (none)
          roster__eio_close_reason(t.c->session, "forced close");
        roster__sio_conn_release(t.c);
        pthread_mutex_lock(&io->tlock);
        continue;
      }
      sio_pending *a = pending_take(t.s, t.id);
      if (a) {
        SIO_STAT(io, acks_timed_out, 1);
        roster_error_set(ROSTER_ETIMEDOUT,
                         "socketio: socket %s gave no ack in time", t.s->id);
        a->fn(t.s, ROSTER_ETIMEDOUT, NULL, NULL, 0, a->arg);
        roster_mem_free(a);
      }
      roster_socketio_socket_release(t.s);
      pthread_mutex_lock(&io->tlock);
      continue;
    }
    if (io->nheap) {
      int64_t at = io->heap[0].at;
      struct timespec ts = {.tv_sec = at / 1000,
                            .tv_nsec = (long)(at % 1000) * 1000000};
      pthread_cond_timedwait(&io->tcond, &io->tlock, &ts);
    } else {
      pthread_cond_wait(&io->tcond, &io->tlock);
    }
  }
  pthread_mutex_unlock(&io->tlock);
  return NULL;
}

int roster__sio_timer_start(roster_socketio *io) {
  pthread_mutex_lock(&io->tlock);
  io->tstop = false;
  io->timer_on = true;
  pthread_mutex_unlock(&io->tlock);
  int rc =
      roster__thread_start(&io->timer, "roster-sio", false, timer_main, io);
  if (rc != ROSTER_OK) {
    io->timer_on = false;
    return roster__err_wrap(rc, "socketio '%s': timer thread", io->name);
  }
  return ROSTER_OK;
}

/* roster__sio_timer_stop ends the timer; entries left hold no pending ack
 * (every socket ended first), so they are only released. */
void roster__sio_timer_stop(roster_socketio *io) {
  pthread_mutex_lock(&io->tlock);
  if (!io->timer_on) {
    pthread_mutex_unlock(&io->tlock);
    return;
  }
  io->tstop = true;
  io->timer_on = false;
  pthread_cond_signal(&io->tcond);
  pthread_mutex_unlock(&io->tlock);
  pthread_join(io->timer, NULL);
  while (io->nheap) {
    sio_timer t = heap_pop(io);
    if (t.c)
      roster__sio_conn_release(t.c);
    else
      roster_socketio_socket_release(t.s);
  }
}

void roster__sio_conn_deadline(roster_socketio *io, sio_conn *c) {
  int64_t ms = io->o.connect_timeout_ms > 0 ? io->o.connect_timeout_ms : 45000;
  pthread_mutex_lock(&io->tlock);
  atomic_fetch_add(&c->refs, 1);
  if (!io->timer_on ||
      heap_push(io, (sio_timer){.at = roster__sio_now_ms() + ms, .c = c}) !=
          ROSTER_OK)
    atomic_fetch_sub(&c->refs, 1); /* never the last: the session holds one */
  else
    pthread_cond_signal(&io->tcond);
  pthread_mutex_unlock(&io->tlock);
}
