/*
 * sior_request.c: requests across nodes, as @socket.io/redis-adapter 8
 * makes and answers them: JSON (or msgpack) on "<key>-request#<nsp>#",
 * answers on "<key>-response#<nsp>#". This node asks for the rooms
 * (ALL_ROOMS, 1) and the sockets in rooms (SOCKETS, 0), waiting for as
 * many answers as PUBSUB NUMSUB counts other subscribers; it answers
 * those and REMOTE_FETCH (5), carries out the emitter's socketsJoin,
 * socketsLeave and disconnectSockets (REMOTE_JOIN 2, REMOTE_LEAVE 3,
 * REMOTE_DISCONNECT 4 with opts), and hands events between servers
 * (SERVER_SIDE_EMIT 6) to on_server_event, sending them too.
 */
#include "sior_impl.h"

#include "base/helpers.h" /* roster__err_save */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
  T_SOCKETS,
  T_ALL_ROOMS,
  T_JOIN,
  T_LEAVE,
  T_DISCONNECT,
  T_FETCH,
  T_SERVER_EMIT
};

size_t roster__sior_chan(const roster_sio_redis *a, const char *kind,
                         const char *nsp, char *buf, size_t cap) {
  int n = snprintf(buf, cap, "%s%s#%s#", a->key, kind, nsp);
  return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

size_t roster__sior_glob_escape(const char *s, size_t n, char *buf,
                                size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (o + 3 > cap)
      return 0;
    if (strchr("*?[]\\", s[i]))
      buf[o++] = '\\';
    buf[o++] = s[i];
  }
  buf[o] = 0;
  return o;
}

/* ---- this node's rooms and sockets ------------------------------------- */

static int add_name(json_t *set, const char *name) {
  return json_object_set_new(set, name, json_true());
}

static int visit_room(const roster_info *info, void *arg) {
  add_name(arg, info->name);
  return 0;
}

static void local_rooms(roster_sio_redis *a, const char *nsp, json_t *set) {
  char g[2 * ROSTER_NAME_MAX + 3];
  if (!roster__sior_glob_escape(nsp, strlen(nsp), g, sizeof g))
    return;
  roster_query q = {.ns = g};
  roster_foreach(roster_socketio_rooms(a->io), &q, visit_room, set, NULL);
}

typedef struct svec {
  roster_socketio_socket **v;
  size_t n, cap;
  const char *const *except;
  json_t *seen; /* ids taken */
} svec;

static int visit_socket(const roster_info *info, void *arg) {
  svec *sv = arg;
  roster_socketio_socket *s = info->instance;
  const char *id = roster_socketio_socket_id(s);
  if (!roster_socketio_socket_connected(s) || json_object_get(sv->seen, id))
    return 0;
  for (size_t i = 0; sv->except && sv->except[i]; i++)
    if (roster_socketio_socket_in(s, sv->except[i]))
      return 0;
  if (sv->n == sv->cap) {
    size_t cap = sv->cap ? sv->cap * 2 : 16;
    void *nv = roster_mem_realloc(sv->v, cap * sizeof *sv->v);
    if (!nv)
      return 0;
    sv->v = nv;
    sv->cap = cap;
  }
  add_name(sv->seen, id);
  sv->v[sv->n++] = roster_socketio_socket_acquire(s);
  return 0;
}

/* local_sockets: the sockets of nsp in any of rooms (none: all), but not
 * in except, acquired into sv (svec_free releases them). */
static void local_sockets(roster_sio_redis *a, const char *nsp,
                          const char *const *rooms, const char *const *except,
                          svec *sv) {
  memset(sv, 0, sizeof *sv);
  sv->except = except;
  sv->seen = json_object();
  roster *reg = roster_socketio_rooms(a->io);
  if (!rooms || !rooms[0])
    roster_dispatch(reg, ROSTER_SOCKETIO_ALL_NS, nsp, visit_socket, sv, NULL);
  for (size_t i = 0; rooms && rooms[i]; i++)
    roster_dispatch(reg, nsp, rooms[i], visit_socket, sv, NULL);
}

static void svec_free(svec *sv) {
  for (size_t i = 0; i < sv->n; i++)
    roster_socketio_socket_release(sv->v[i]);
  roster_mem_free(sv->v);
  json_decref(sv->seen);
}

/* ---- names in JSON ------------------------------------------------------- */

static void names_free(char **v) {
  for (size_t i = 0; v && v[i]; i++)
    roster_mem_free(v[i]);
  roster_mem_free(v);
}

/* names: a JSON array of rooms (strings, or integers) as a NULL-terminated
 * list of valid names (others left out); NULL when arr is not an array. */
static char **names(const json_t *arr) {
  if (!json_is_array(arr))
    return NULL;
  char **v = roster_mem_calloc(json_array_size(arr) + 1, sizeof *v);
  size_t k = 0;
  for (size_t i = 0; v && i < json_array_size(arr); i++) {
    json_t *x = json_array_get(arr, i);
    char num[32];
    const char *p = num;
    size_t len = 0;
    if (json_is_string(x)) {
      p = json_string_value(x);
      len = json_string_length(x);
    } else if (json_is_integer(x)) {
      len = (size_t)snprintf(num, sizeof num, "%lld",
                             (long long)json_integer_value(x));
    }
    if (roster__sior_room_ok(p, len) && (v[k] = roster_mem_strdup(p)))
      k++;
  }
  return v;
}

static void add_names(json_t *set, const json_t *arr) {
  for (size_t i = 0; i < json_array_size(arr); i++) {
    json_t *x = json_array_get(arr, i);
    if (json_is_string(x))
      add_name(set, json_string_value(x));
  }
}

static json_t *parse(const roster_redis_message *msg) {
  if (msg->len && msg->data[0] == '{')
    return json_loadb(msg->data, msg->len, 0, NULL);
  msgpack_unpacked up;
  msgpack_unpacked_init(&up);
  json_t *j = NULL;
  if (roster__sior_unpack(msg->data, msg->len, &up) == 0)
    j = roster__sior_json(&up.data);
  msgpack_unpacked_destroy(&up);
  return j;
}

/* ---- answers to the other nodes ----------------------------------------- */

static json_t *sockets_json(svec *sv) {
  json_t *ids = json_array();
  for (size_t i = 0; ids && i < sv->n; i++)
    json_array_append_new(ids,
                          json_string(roster_socketio_socket_id(sv->v[i])));
  return ids;
}

typedef struct fetch {
  json_t *byid; /* id -> the socket's object */
} fetch;

static int visit_fetch(const roster_info *info, void *arg) {
  fetch *f = arg;
  json_t *o = json_object_get(
      f->byid,
      roster_socketio_socket_id((roster_socketio_socket *)info->instance));
  if (o)
    json_array_append_new(json_object_get(o, "rooms"), json_string(info->name));
  return 0;
}

/* fetched: the sockets as Node's fetchSockets() answers them: id,
 * handshake (auth and what roster does not keep, empty), rooms, data. */
static json_t *fetched(roster_sio_redis *a, const char *nsp, svec *sv) {
  fetch f = {json_object()};
  json_t *arr = json_array();
  for (size_t i = 0; f.byid && arr && i < sv->n; i++) {
    json_t *o =
        json_pack("{ss s{sOs{}s{}sssssIsbsbss} s[] s n}", "id",
                  roster_socketio_socket_id(sv->v[i]), "handshake", "auth",
                  (json_t *)roster_socketio_socket_auth(sv->v[i]), "headers",
                  "query", "address", "", "time", "", "issued", (json_int_t)0,
                  "xdomain", 0, "secure", 0, "url", "", "rooms", "data");
    if (o) {
      json_object_set(f.byid, roster_socketio_socket_id(sv->v[i]), o);
      json_array_append_new(arr, o);
    }
  }
  char g[2 * ROSTER_NAME_MAX + 3];
  if (f.byid && roster__sior_glob_escape(nsp, strlen(nsp), g, sizeof g)) {
    roster_query q = {.ns = g};
    roster_foreach(roster_socketio_rooms(a->io), &q, visit_fetch, &f, NULL);
  }
  json_decref(f.byid);
  return arr;
}

/* act: the emitter's socketsJoin / socketsLeave / disconnectSockets. */
static void act(svec *sv, int type, const json_t *req) {
  char **rooms =
      type == T_DISCONNECT ? NULL : names(json_object_get(req, "rooms"));
  bool close = json_is_true(json_object_get(req, "close"));
  for (size_t i = 0; i < sv->n; i++) {
    for (size_t k = 0; rooms && rooms[k]; k++)
      if (type == T_JOIN)
        roster_socketio_socket_join(sv->v[i], rooms[k]);
      else
        roster_socketio_socket_leave(sv->v[i], rooms[k]);
    if (type == T_DISCONNECT)
      roster_socketio_socket_disconnect(sv->v[i], close);
  }
  names_free(rooms);
}

void roster__sior_on_request(void *arg, const roster_redis_message *msg) {
  sior_nsp *n = arg;
  roster_sio_redis *a = n->a;
  json_t *req = parse(msg);
  const char *uid = json_string_value(json_object_get(req, "uid"));
  const char *id = json_string_value(json_object_get(req, "requestId"));
  json_t *type = json_object_get(req, "type");
  json_t *opts = json_object_get(req, "opts");
  if (!json_is_integer(type) || (uid && strcmp(uid, a->uid) == 0)) {
    if (!req)
      SIOR_STAT(a, malformed, 1);
    json_decref(req);
    return;
  }
  int t = (int)json_integer_value(type);
  json_t *res = NULL;
  json_t *data = json_object_get(req, "data");
  if (t == T_SERVER_EMIT) {
    /* an answer to a request with an acknowledgement is not given */
    if (a->on_server_event && json_is_array(data) &&
        json_is_string(json_array_get(data, 0))) {
      a->on_server_event(a, n->name, data, a->server_event_arg);
      SIOR_STAT(a, answered, 1);
    }
  } else if (t == T_ALL_ROOMS && id) {
    json_t *set = json_object();
    local_rooms(a, n->name, set);
    json_t *rooms = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(set, k, v) json_array_append_new(rooms, json_string(k));
    res = json_pack("{ssso}", "requestId", id, "rooms", rooms);
    json_decref(set);
  } else if ((t == T_SOCKETS && id) || (t == T_FETCH && id && opts) ||
             ((t == T_JOIN || t == T_LEAVE || t == T_DISCONNECT) && opts)) {
    char **rooms = names(json_object_get(t == T_SOCKETS ? req : opts, "rooms"));
    char **except =
        t == T_SOCKETS ? NULL : names(json_object_get(opts, "except"));
    svec sv;
    local_sockets(a, n->name, (const char *const *)rooms,
                  (const char *const *)except, &sv);
    if (t == T_SOCKETS)
      res = json_pack("{ssso}", "requestId", id, "sockets", sockets_json(&sv));
    else if (t == T_FETCH)
      res = json_pack("{ssso}", "requestId", id, "sockets",
                      fetched(a, n->name, &sv));
    else
      act(&sv, t, req);
    svec_free(&sv);
    names_free(rooms);
    names_free(except);
  }
  json_decref(req);
  if (!res)
    return; /* a type or form this node does not answer */
  char chan[2 * ROSTER_NAME_MAX + 1100];
  size_t cl = roster__sior_chan(a, "-response", n->name, chan, sizeof chan);
  char *text = json_dumps(res, JSON_COMPACT);
  json_decref(res);
  if (cl && text && roster__sior_queue(a, chan, cl, text, strlen(text)))
    SIOR_STAT(a, answered, 1);
  free(text);
}

void roster__sior_on_response(void *arg, const roster_redis_message *msg) {
  sior_nsp *n = arg;
  roster_sio_redis *a = n->a;
  json_t *res = parse(msg);
  const char *id = json_string_value(json_object_get(res, "requestId"));
  if (id) {
    pthread_mutex_lock(&a->rlock);
    sior_req *q = a->reqs;
    while (q && strcmp(q->id, id) != 0)
      q = q->next;
    if (q) {
      add_names(q->set, json_object_get(res, q->type == T_SOCKETS ? "sockets"
                                                                  : "rooms"));
      q->got++;
      pthread_cond_broadcast(&a->rcond);
    }
    pthread_mutex_unlock(&a->rlock);
  }
  json_decref(res);
}

/* ---- this node's requests ------------------------------------------------ */

/* ask: request type of the other nodes of nsp, their answers added to
 * set, waiting up to timeout_ms. */
static int ask(roster_sio_redis *a, const char *nsp, int type,
               const char *const *rooms, int64_t timeout_ms, json_t *set) {
  char chan[2 * ROSTER_NAME_MAX + 1100];
  size_t cl = roster__sior_chan(a, "-request", nsp, chan, sizeof chan);
  if (!cl)
    return roster_error_set(ROSTER_EINVAL, "sio_redis: a channel too long");
  roster_redis_reply *r = NULL;
  int rc = roster_redis_call(a->cli, &r, "PUBSUB", "NUMSUB", chan, NULL);
  if (rc != ROSTER_OK)
    return rc;
  int64_t want = r->type == ROSTER_REDIS_ARRAY && r->elements == 2 &&
                         r->element[1].type == ROSTER_REDIS_INTEGER
                     ? r->element[1].integer - 1 /* this node */
                     : 0;
  roster_redis_reply_free(r);
  if (want <= 0)
    return ROSTER_OK;
  sior_req q = {.type = type, .want = want, .set = set};
  roster__sior_uid(q.id, 12);
  json_t *req =
      json_pack("{sssssi}", "uid", a->uid, "requestId", q.id, "type", type);
  if (req && type == T_SOCKETS) {
    json_t *arr = json_array();
    for (size_t i = 0; arr && rooms && rooms[i]; i++)
      json_array_append_new(arr, json_string(rooms[i]));
    json_object_set_new(req, "rooms", arr);
  }
  char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
  json_decref(req);
  if (!text)
    return roster_error_set(ROSTER_ENOMEM, "sio_redis: out of memory");
  pthread_mutex_lock(&a->rlock);
  q.next = a->reqs;
  a->reqs = &q;
  pthread_mutex_unlock(&a->rlock);
  SIOR_STAT(a, requests, 1);
  rc = roster_redis_publish(a->cli, chan, cl, text, strlen(text), NULL);
  free(text);
  struct timespec dl = roster__mono_after(timeout_ms);
  pthread_mutex_lock(&a->rlock);
  while (rc == ROSTER_OK && q.got < q.want &&
         pthread_cond_timedwait(&a->rcond, &a->rlock, &dl) == 0)
    ;
  sior_req **pp = &a->reqs;
  while (*pp != &q)
    pp = &(*pp)->next;
  *pp = q.next;
  bool short_ = q.got < q.want;
  pthread_mutex_unlock(&a->rlock);
  if (rc == ROSTER_OK && short_) {
    SIOR_STAT(a, timed_out, 1);
    rc = roster_error_set(ROSTER_ETIMEDOUT,
                          "sio_redis: %lld of %lld nodes answered within "
                          "%lld ms",
                          (long long)q.got, (long long)q.want,
                          (long long)timeout_ms);
  }
  return rc;
}

static int cmp_str(const void *x, const void *y) {
  return strcmp(*(char *const *)x, *(char *const *)y);
}

static int names_out(json_t *set, roster_sio_redis_names *out) {
  size_t n = json_object_size(set);
  out->names = roster_mem_calloc(n + 1, sizeof *out->names);
  if (!out->names)
    return roster_error_set(ROSTER_ENOMEM, "sio_redis: out of memory");
  const char *k;
  json_t *v;
  json_object_foreach(set, k, v) {
    if (!(out->names[out->count] = roster_mem_strdup(k))) {
      roster_sio_redis_names_free(out);
      return roster_error_set(ROSTER_ENOMEM, "sio_redis: out of memory");
    }
    out->count++;
  }
  qsort(out->names, out->count, sizeof *out->names, cmp_str);
  return ROSTER_OK;
}

void roster_sio_redis_names_free(roster_sio_redis_names *n) {
  if (!n)
    return;
  for (size_t i = 0; i < n->count; i++)
    roster_mem_free(n->names[i]);
  roster_mem_free(n->names);
  n->names = NULL;
  n->count = 0;
}

static int query(roster_sio_redis *a, const char *nsp, int type,
                 const char *const *rooms, int64_t timeout_ms,
                 roster_sio_redis_names *out) {
  if (out)
    memset(out, 0, sizeof *out);
  if (!a || !out)
    return roster_error_set(ROSTER_EINVAL, "sio_redis: NULL argument");
  if (!nsp)
    nsp = "/";
  json_t *set = json_object();
  if (!set)
    return roster_error_set(ROSTER_ENOMEM, "sio_redis: out of memory");
  if (type == T_ALL_ROOMS) {
    local_rooms(a, nsp, set);
  } else {
    svec sv;
    local_sockets(a, nsp, rooms, NULL, &sv);
    for (size_t i = 0; i < sv.n; i++)
      add_name(set, roster_socketio_socket_id(sv.v[i]));
    svec_free(&sv);
  }
  int rc = ask(a, nsp, type, rooms, timeout_ms > 0 ? timeout_ms : a->timeout_ms,
               set);
  if (rc == ROSTER_OK || rc == ROSTER_ETIMEDOUT) {
    roster__err_saved es;
    roster__err_save(&es, rc);
    int rc2 = names_out(set, out);
    rc = rc2 != ROSTER_OK ? rc2 : roster__err_restore(&es);
  }
  json_decref(set);
  return rc;
}

int roster_sio_redis_rooms(roster_sio_redis *a, const char *nsp,
                           int64_t timeout_ms, roster_sio_redis_names *out) {
  return query(a, nsp, T_ALL_ROOMS, NULL, timeout_ms, out);
}

int roster_sio_redis_sockets(roster_sio_redis *a, const char *nsp,
                             const char *const *rooms, int64_t timeout_ms,
                             roster_sio_redis_names *out) {
  return query(a, nsp, T_SOCKETS, rooms, timeout_ms, out);
}

int roster_sio_redis_server_emit(roster_sio_redis *a, const char *nsp,
                                 const char *event, const json_t *args) {
  if (!a || !event || !*event || (args && !json_is_array(args)))
    return roster_error_set(ROSTER_EINVAL,
                            "roster_sio_redis_server_emit: an adapter, an "
                            "event and args that are an array or NULL");
  char chan[2 * ROSTER_NAME_MAX + 1100];
  size_t cl =
      roster__sior_chan(a, "-request", nsp ? nsp : "/", chan, sizeof chan);
  json_t *data = json_pack("[s]", event);
  for (size_t i = 0; data && i < json_array_size(args); i++)
    json_array_append(data, json_array_get(args, i));
  json_t *req = data ? json_pack("{sssiso}", "uid", a->uid, "type",
                                 T_SERVER_EMIT, "data", data)
                     : NULL;
  char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
  json_decref(req);
  int rc = ROSTER_OK;
  if (!text)
    rc = roster_error_set(ROSTER_ENOMEM, "sio_redis: out of memory (or an "
                                         "event that is not UTF-8)");
  else if (!cl)
    rc = roster_error_set(ROSTER_EINVAL, "sio_redis: a channel too long");
  else if (!roster__sior_queue(a, chan, cl, text, strlen(text)))
    rc =
        roster_error_set(ROSTER_EBUSY, "sio_redis: the queue to Redis is full");
  free(text);
  return rc;
}
