/*
 * sior_adapter.c: the Redis adapter of a Socket.IO server
 * (roster/sio_redis.h): broadcasts encoded on the emitting thread and
 * queued; one thread ("roster-sior") that publishes the queue in
 * pipelines and makes the subscriptions of new namespaces; received
 * broadcasts delivered to the server's own sockets.
 */
#include "sior_impl.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "base/helpers.h" /* roster__thread_start */

#define DEFAULT_QUEUE (8u << 20)
#define BATCH 256

/* ---- the queue ------------------------------------------------------------
 */

static void job_free(sior_job *j) {
  roster_mem_free(j->channel);
  roster_mem_free(j->data);
  roster_mem_free(j);
}

static bool push(roster_sio_redis *a, sior_job *j, bool bounded) {
  pthread_mutex_lock(&a->lock);
  bool ok = !a->stop && (!bounded || a->queued + j->len <= a->max_queue);
  if (ok) {
    a->queued += j->len;
    if (a->tail)
      a->tail->next = j;
    else
      a->head = j;
    a->tail = j;
    pthread_cond_signal(&a->cond);
  }
  pthread_mutex_unlock(&a->lock);
  if (!ok)
    job_free(j);
  return ok;
}

bool roster__sior_queue(roster_sio_redis *a, const char *channel,
                        size_t channel_len, const void *data, size_t len) {
  sior_job *j = roster_mem_calloc(1, sizeof *j);
  if (j) {
    j->channel = roster_mem_alloc(channel_len + 1);
    j->data = roster_mem_alloc(len ? len : 1);
  }
  if (!j || !j->channel || !j->data) {
    if (j)
      job_free(j);
    SIOR_STAT(a, dropped, 1);
    return false;
  }
  memcpy(j->channel, channel, channel_len);
  j->channel[channel_len] = 0;
  j->channel_len = channel_len;
  memcpy(j->data, data, len);
  j->len = len;
  if (!push(a, j, true)) {
    SIOR_STAT(a, dropped, 1);
    return false;
  }
  return true;
}

/* ---- received broadcasts ------------------------------------------------- */

static void on_broadcast(void *arg, const roster_redis_message *msg) {
  sior_nsp *n = arg;
  roster_sio_redis *a = n->a;
  if (msg->channel_len < n->bchan_len ||
      memcmp(msg->channel, n->bchan, n->bchan_len) != 0) {
    SIOR_STAT(a, ignored, 1);
    return;
  }
  /* "<key>#<nsp>#<room>#": a room with no socket here needs no decoding */
  size_t rl = msg->channel_len - n->bchan_len;
  if (rl > 1) {
    char room[ROSTER_NAME_MAX + 1];
    if (rl - 1 > ROSTER_NAME_MAX) {
      SIOR_STAT(a, ignored, 1);
      return;
    }
    memcpy(room, msg->channel + n->bchan_len, rl - 1);
    room[rl - 1] = 0;
    if (!roster_has(roster_socketio_rooms(a->io), n->name, room)) {
      SIOR_STAT(a, ignored, 1);
      return;
    }
  }
  roster__sior_msg m;
  if (roster__sior_decode(msg->data, msg->len, &m) != ROSTER_OK) {
    SIOR_STAT(a, malformed, 1);
    return;
  }
  if (strcmp(m.uid, a->uid) == 0 || strcmp(m.nsp, n->name) != 0) {
    SIOR_STAT(a, ignored, 1);
  } else {
    roster_socketio_target to = {.nsp = n->name,
                                 .rooms = (const char *const *)m.rooms,
                                 .except = (const char *const *)m.except,
                                 .is_volatile = m.is_volatile};
    int rc = roster_socketio_emit_local(a->io, &to, m.event, m.args, m.bins,
                                        m.nbin, NULL);
    if (rc == ROSTER_OK)
      SIOR_STAT(a, received, 1);
    else
      SIOR_STAT(a, malformed, 1);
  }
  roster__sior_msg_free(&m);
}

/* ---- the adapter's callbacks (roster_socketio_adapter) --------------------
 */

/* valid: the names of v that are registry names (others can match no
 * socket here, and would make the message refused elsewhere), into out
 * (cap slots, NULL-terminated); false when out is too small. */
static bool valid(const char *const *v, const char **out, size_t cap) {
  size_t k = 0;
  for (size_t i = 0; v && v[i]; i++)
    if (roster__sior_room_ok(v[i], strlen(v[i]))) {
      if (k + 1 >= cap)
        return false;
      out[k++] = v[i];
    }
  out[k] = NULL;
  return true;
}

enum { ROOMS_STACK = 32 };

static void adapter_broadcast(void *arg, const roster_socketio_target *to,
                              const char *event, const json_t *args,
                              const roster_socketio_bin *bins, size_t nbin) {
  roster_sio_redis *a = arg;
  size_t nr = 0, ne = 0;
  while (to->rooms && to->rooms[nr])
    nr++;
  while (to->except && to->except[ne])
    ne++;
  const char *rs[ROOMS_STACK], *es[ROOMS_STACK];
  const char **r = nr < ROOMS_STACK ? rs : roster_mem_calloc(nr + 1, sizeof *r);
  const char **e = ne < ROOMS_STACK ? es : roster_mem_calloc(ne + 1, sizeof *e);
  roster_socketio_target t = *to;
  t.rooms = r;
  t.except = e;
  bool ok =
      r && e && valid(to->rooms, r, nr + 1) && valid(to->except, e, ne + 1);
  /* rooms that were all invalid reached nobody here: nor elsewhere */
  ok = ok && (!nr || r[0]);
  char chan[2 * ROSTER_NAME_MAX + 1100];
  size_t cl = ok ? roster__sior_chan(a, "", to->nsp, chan, sizeof chan) : 0;
  if (cl && r[0] && !r[1]) {
    int k = snprintf(chan + cl, sizeof chan - cl, "%s#", r[0]);
    cl = k > 0 && (size_t)k < sizeof chan - cl ? cl + (size_t)k : 0;
  }
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  if (!ok)
    ; /* nothing to carry */
  else if (!cl || roster__sior_encode(&sb, a->uid, &t, event, args, bins,
                                      nbin) != ROSTER_OK)
    SIOR_STAT(a, dropped, 1);
  else
    roster__sior_queue(a, chan, cl, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
  if (r != rs)
    roster_mem_free(r);
  if (e != es)
    roster_mem_free(e);
}

sior_nsp *roster__sior_nsp_find(roster_sio_redis *a, const char *name) {
  pthread_mutex_lock(&a->lock);
  sior_nsp *n = a->nsps;
  while (n && strcmp(n->name, name) != 0)
    n = n->next;
  pthread_mutex_unlock(&a->lock);
  return n;
}

static void adapter_nsp_added(void *arg, const char *name) {
  roster_sio_redis *a = arg;
  if (roster__sior_nsp_find(a, name))
    return;
  sior_job *j = roster_mem_calloc(1, sizeof *j);
  if (!j || !(j->data = roster_mem_strdup(name))) {
    roster_mem_free(j);
    return;
  }
  push(a, j, false); /* subscribed by the thread: it may wait for Redis */
}

/* subscribe: the namespace's channels (on the thread). */
static void subscribe(roster_sio_redis *a, const char *name) {
  if (roster__sior_nsp_find(a, name))
    return;
  sior_nsp *n = roster_mem_calloc(1, sizeof *n);
  char chan[2 * ROSTER_NAME_MAX + 1100], pat[4 * ROSTER_NAME_MAX + 2200];
  size_t cl = roster__sior_chan(a, "", name, chan, sizeof chan);
  size_t pl = cl ? roster__sior_glob_escape(chan, cl, pat, sizeof pat - 1) : 0;
  if (!n || !pl || !(n->name = roster_mem_strdup(name)) ||
      !(n->bchan = roster_mem_strdup(chan))) {
    if (n) {
      roster_mem_free(n->name);
      roster_mem_free(n);
    }
    return;
  }
  pat[pl++] = '*';
  n->a = a;
  n->bchan_len = cl;
  pthread_mutex_lock(&a->lock);
  n->next = a->nsps;
  a->nsps = n;
  pthread_mutex_unlock(&a->lock);
  /* a confirmation that does not come in time (Redis down) is not an
   * error: the subscriber subscribes when it is back */
  roster_redis_psubscribe(a->sub, pat, pl, on_broadcast, n);
  cl = roster__sior_chan(a, "-request", name, chan, sizeof chan);
  if (cl)
    roster_redis_subscribe(a->sub, chan, cl, roster__sior_on_request, n);
  cl = roster__sior_chan(a, "-response", name, chan, sizeof chan);
  if (cl)
    roster_redis_subscribe(a->sub, chan, cl, roster__sior_on_response, n);
  /* Node's publishOnSpecificResponseChannel answers here */
  int k = snprintf(chan + cl, sizeof chan - cl, "%s#", a->uid);
  if (cl && k > 0 && (size_t)k < sizeof chan - cl)
    roster_redis_subscribe(a->sub, chan, cl + (size_t)k,
                           roster__sior_on_response, n);
}

/* ---- the thread ------------------------------------------------------------
 */

static void publish(roster_sio_redis *a, roster_redis_pipeline *p, size_t n) {
  roster_redis_reply *r = NULL;
  if (roster_redis_pipeline_exec(p, &r) != ROSTER_OK) {
    SIOR_STAT(a, publish_errors, n);
    return;
  }
  for (size_t i = 0; i < r->elements; i++) {
    if (r->element[i].type == ROSTER_REDIS_INTEGER)
      SIOR_STAT(a, published, 1);
    else
      SIOR_STAT(a, publish_errors, 1);
  }
  roster_redis_reply_free(r);
}

static void *thread_main(void *arg) {
  roster_sio_redis *a = arg;
  roster_redis_pipeline *p = NULL;
  roster_redis_pipeline_new(a->cli, &p);
  pthread_mutex_lock(&a->lock);
  for (;;) {
    while (!a->head && !a->stop)
      pthread_cond_wait(&a->cond, &a->lock);
    if (a->stop)
      break;
    sior_job *list = a->head;
    a->head = a->tail = NULL;
    pthread_mutex_unlock(&a->lock);
    size_t n = 0, bytes = 0;
    while (list) {
      sior_job *j = list;
      list = j->next;
      if (!j->channel) {
        subscribe(a, j->data);
      } else if (!p) {
        SIOR_STAT(a, publish_errors, 1);
      } else {
        const char *argv[3] = {"PUBLISH", j->channel, j->data};
        size_t lens[3] = {7, j->channel_len, j->len};
        if (roster_redis_pipeline_add(p, 3, argv, lens) == ROSTER_OK)
          n++;
        else
          SIOR_STAT(a, publish_errors, 1);
        bytes += j->len;
      }
      job_free(j);
      if (n == BATCH || (n && !list)) {
        publish(a, p, n);
        n = 0;
      }
    }
    pthread_mutex_lock(&a->lock);
    a->queued -= bytes < a->queued ? bytes : a->queued;
  }
  pthread_mutex_unlock(&a->lock);
  roster_redis_pipeline_free(p);
  return NULL;
}

/* ---- making and closing ------------------------------------------------- */

static void adapter_free(roster_sio_redis *a) {
  if (a->thread_on) {
    pthread_mutex_lock(&a->lock);
    a->stop = true;
    pthread_cond_signal(&a->cond);
    pthread_mutex_unlock(&a->lock);
    pthread_join(a->thread, NULL);
  }
  roster_redis_subscriber_free(a->sub); /* no callback runs after it */
  while (a->head) {
    sior_job *j = a->head;
    a->head = j->next;
    job_free(j);
  }
  while (a->nsps) {
    sior_nsp *n = a->nsps;
    a->nsps = n->next;
    roster_mem_free(n->name);
    roster_mem_free(n->bchan);
    roster_mem_free(n);
  }
  roster_release(a->ref);
  pthread_mutex_destroy(&a->lock);
  pthread_cond_destroy(&a->cond);
  pthread_mutex_destroy(&a->rlock);
  pthread_cond_destroy(&a->rcond);
  roster_mem_free(a->key);
  roster_mem_free(a);
}

static void adapter_close(void *arg) { adapter_free(arg); }

void roster__sior_uid(char *out, size_t n) {
  static const char al[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  static atomic_uint_fast64_t seq;
  unsigned char r[32] = {0};
  if (n > sizeof r)
    n = sizeof r;
  if (getrandom(r, n, 0) != (ssize_t)n) { /* no entropy yet: time, count */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^
                 atomic_fetch_add(&seq, 0x9e3779b97f4a7c15ULL);
    for (size_t i = 0; i < n; i++, x = x * 6364136223846793005ULL + 1)
      r[i] = (unsigned char)(x >> 56);
  }
  for (size_t i = 0; i < n; i++)
    out[i] = al[r[i] % (sizeof al - 1)];
  out[n] = 0;
}

int roster__sior_attach(roster_socketio *io, roster_redis *cli, roster_ref *ref,
                        const roster_sio_redis_options *o,
                        roster_sio_redis **out) {
  if (out)
    *out = NULL;
  if (!io || !cli)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_sio_redis_attach: NULL argument");
  roster_sio_redis_options d = {0};
  if (!o)
    o = &d;
  const char *key = o->key ? o->key : "socket.io";
  if (!*key || strlen(key) > 1024)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_sio_redis_attach: a key of 1 to 1024 "
                            "bytes");
  roster_sio_redis *a = roster_mem_calloc(1, sizeof *a);
  if (!a || !(a->key = roster_mem_strdup(key))) {
    roster_mem_free(a);
    return roster_error_set(ROSTER_ENOMEM, "sio_redis: out of memory");
  }
  a->io = io;
  a->cli = cli;
  a->timeout_ms = o->requests_timeout_ms > 0 ? o->requests_timeout_ms : 5000;
  a->max_queue = o->max_queue ? o->max_queue : DEFAULT_QUEUE;
  a->on_server_event = o->on_server_event;
  a->server_event_arg = o->server_event_arg;
  roster__sior_uid(a->uid, 12);
  pthread_mutex_init(&a->lock, NULL);
  pthread_cond_init(&a->cond, NULL);
  pthread_mutex_init(&a->rlock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* ask's deadlines */
  pthread_cond_init(&a->rcond, &ca);
  pthread_condattr_destroy(&ca);
  int rc = roster_redis_subscriber_new(cli, NULL, &a->sub);
  if (rc == ROSTER_OK) {
    rc = roster__thread_start(&a->thread, "roster-sior", false, thread_main, a);
    a->thread_on = rc == ROSTER_OK;
  }
  if (rc == ROSTER_OK) {
    a->ref = ref; /* held by a from here */
    roster_socketio_adapter ad = {.broadcast = adapter_broadcast,
                                  .nsp_added = adapter_nsp_added,
                                  .close = adapter_close,
                                  .arg = a};
    rc = roster_socketio_set_adapter(io, &ad);
    if (rc != ROSTER_OK)
      a->ref = NULL;
  }
  if (rc != ROSTER_OK) {
    roster__err_saved es;
    roster__err_save(&es, rc);
    adapter_free(a);
    return roster__err_restore(&es);
  }
  if (out)
    *out = a;
  return ROSTER_OK;
}

int roster_sio_redis_attach(roster_socketio *io, roster_redis *cli,
                            const roster_sio_redis_options *o,
                            roster_sio_redis **out) {
  return roster__sior_attach(io, cli, NULL, o, out);
}

const char *roster_sio_redis_uid(const roster_sio_redis *a) {
  return a ? a->uid : "";
}

int roster_sio_redis_stats_get(roster_sio_redis *a,
                               roster_sio_redis_stats *out) {
  if (!a || !out)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_sio_redis_stats_get: NULL argument");
  roster_redis_subscriber_stats ss = {0};
  roster_redis_subscriber_stats_get(a->sub, &ss);
#define LD(f) atomic_load_explicit(&a->st.f, memory_order_relaxed)
  *out = (roster_sio_redis_stats){.connected = ss.connected,
                                  .published = LD(published),
                                  .publish_errors = LD(publish_errors),
                                  .dropped = LD(dropped),
                                  .received = LD(received),
                                  .ignored = LD(ignored),
                                  .malformed = LD(malformed),
                                  .requests = LD(requests),
                                  .requests_timed_out = LD(timed_out),
                                  .answered = LD(answered)};
#undef LD
  return ROSTER_OK;
}
