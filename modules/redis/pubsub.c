/*
 * pubsub.c: subscribers (roster_redis_subscriber): one connection in
 * subscribe mode, read by a thread of its own that calls the callbacks,
 * reconnecting with backoff and subscribing again to everything after a
 * connection is lost.
 *
 * The table of subscriptions (channels and patterns, each with its
 * callback) is the truth; the connection follows it. Callers add and drop
 * entries under the subscriber's mutex and queue the SUBSCRIBE or
 * UNSUBSCRIBE for the thread, waking it through a pipe; only the thread
 * touches the hiredis context. It waits in poll() on the socket and the
 * pipe, reads what arrived (redisBufferRead, redisGetReplyFromReader),
 * writes what is queued (redisAppendCommandArgv, redisBufferWrite), and
 * never blocks in a read, so a subscribe is sent at once and a stop is
 * seen at once. When it connects it drops the queue and sends one
 * SUBSCRIBE and one PSUBSCRIBE for the whole table.
 */
#include "redis_impl.h"

#include "base/helpers.h" /* roster__thread_start, roster__err_wrap */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* SUBSCRIBE's arguments per command when the whole table is sent. */
#define RESUB_CHUNK 512

typedef struct sub_entry {
  struct sub_entry *next;
  bool pattern;
  bool confirmed; /* the server confirmed it on this connection */
  roster_redis_message_fn fn;
  void *arg;
  size_t len;
  unsigned char name[]; /* NUL-terminated too */
} sub_entry;

typedef struct sub_out {
  struct sub_out *next;
  const char *cmd; /* "SUBSCRIBE", "UNSUBSCRIBE", "PSUBSCRIBE", ... */
  size_t len;
  unsigned char name[];
} sub_out;

struct roster_redis_subscriber {
  rr_conf conf;
  roster_redis_subscriber_options opts;
  pthread_t thread;
  bool started;
  int wake[2];          /* [0] the thread polls it, [1] callers write */
  pthread_mutex_t lock; /* everything below */
  pthread_cond_t cv;    /* confirmations, errors, a callback finishing */
  sub_entry *entries;
  sub_out *out_head, **out_tail;
  bool stop;
  bool connected; /* the thread has a connection */
  bool up;        /* connected and every entry confirmed */
  uint64_t connects, messages;
  uint64_t errors;          /* error replies seen: wakes a waiting subscribe */
  char error[512];          /* the last one's text */
  const sub_entry *running; /* whose callback runs now */
};

/* ---- small helpers -------------------------------------------------- */

static void wake(roster_redis_subscriber *s) {
  char b = 1;
  ssize_t n;
  do
    n = write(s->wake[1], &b, 1);
  while (n < 0 && errno == EINTR);
  /* EAGAIN: the pipe is full, so the thread is woken anyway. */
}

static void drain(int fd) {
  char b[64];
  while (read(fd, b, sizeof b) > 0) {
  }
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static sub_entry *find(roster_redis_subscriber *s, bool pattern,
                       const void *name, size_t len) {
  for (sub_entry *e = s->entries; e; e = e->next)
    if (e->pattern == pattern && e->len == len &&
        memcmp(e->name, name, len) == 0)
      return e;
  return NULL;
}

/* queue adds a command for the thread (lock held). false on ENOMEM. */
static bool queue(roster_redis_subscriber *s, const char *cmd, const void *name,
                  size_t len) {
  sub_out *o = roster_mem_alloc(sizeof *o + len);
  if (!o)
    return false;
  o->next = NULL;
  o->cmd = cmd;
  o->len = len;
  memcpy(o->name, name, len);
  *s->out_tail = o;
  s->out_tail = &o->next;
  return true;
}

static void queue_clear(roster_redis_subscriber *s) {
  for (sub_out *o = s->out_head, *nx; o; o = nx) {
    nx = o->next;
    roster_mem_free(o);
  }
  s->out_head = NULL;
  s->out_tail = &s->out_head;
}

/* all_confirmed: lock held. */
static bool all_confirmed(const roster_redis_subscriber *s) {
  for (const sub_entry *e = s->entries; e; e = e->next)
    if (!e->confirmed)
      return false;
  return true;
}

/* ---- the thread ----------------------------------------------------- */

static void tell(roster_redis_subscriber *s, bool up, const char *detail) {
  if (s->opts.on_state)
    s->opts.on_state(s->opts.state_arg, up, detail);
}

/* sleep_or_stop waits ms on the wake pipe; true if asked to stop. */
static bool sleep_or_stop(roster_redis_subscriber *s, int64_t ms) {
  int64_t end = now_ms() + ms;
  for (;;) {
    pthread_mutex_lock(&s->lock);
    bool stop = s->stop;
    pthread_mutex_unlock(&s->lock);
    int64_t left = end - now_ms();
    if (stop || left <= 0)
      return stop;
    struct pollfd p = {s->wake[0], POLLIN, 0};
    if (poll(&p, 1, (int)left) > 0)
      drain(s->wake[0]);
  }
}

/* append_table queues SUBSCRIBE / PSUBSCRIBE for every entry (lock held)
 * in hiredis's output buffer. */
static bool append_table(roster_redis_subscriber *s, redisContext *c) {
  const char *argv[RESUB_CHUNK + 1];
  size_t lens[RESUB_CHUNK + 1];
  for (int pat = 0; pat < 2; pat++) {
    int n = 0;
    argv[0] = pat ? "PSUBSCRIBE" : "SUBSCRIBE";
    lens[0] = strlen(argv[0]);
    for (sub_entry *e = s->entries;; e = e->next) {
      if (e && e->pattern == pat) {
        argv[1 + n] = (const char *)e->name;
        lens[1 + n] = e->len;
        n++;
      }
      if ((!e && n) || n == RESUB_CHUNK) {
        if (redisAppendCommandArgv(c, n + 1, argv, lens) != REDIS_OK)
          return false;
        n = 0;
      }
      if (!e)
        break;
    }
  }
  return true;
}

/* append_queue moves the queued commands into hiredis's output buffer. */
static bool append_queue(roster_redis_subscriber *s, redisContext *c) {
  pthread_mutex_lock(&s->lock);
  sub_out *o = s->out_head;
  s->out_head = NULL;
  s->out_tail = &s->out_head;
  pthread_mutex_unlock(&s->lock);
  bool ok = true;
  for (sub_out *nx; o; o = nx) {
    nx = o->next;
    const char *argv[2] = {o->cmd, (const char *)o->name};
    size_t lens[2] = {strlen(o->cmd), o->len};
    if (ok && redisAppendCommandArgv(c, 2, argv, lens) != REDIS_OK)
      ok = false;
    roster_mem_free(o);
  }
  return ok;
}

static bool str_is(const redisReply *r, const char *s) {
  return r->type == REDIS_REPLY_STRING && r->len == strlen(s) &&
         memcmp(r->str, s, r->len) == 0;
}

/* handle one reply from the server. */
static void handle(roster_redis_subscriber *s, const redisReply *r) {
  if (r->type == REDIS_REPLY_ERROR) {
    pthread_mutex_lock(&s->lock);
    snprintf(s->error, sizeof s->error, "%.*s",
             (int)(r->len > 500 ? 500 : r->len), r->str);
    s->errors++;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->lock);
    return;
  }
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 3)
    return; /* "pong" and the like */
  const redisReply *const *el = (const redisReply *const *)r->element;
  bool pmsg = str_is(el[0], "pmessage");
  if (str_is(el[0], "message") || (pmsg && r->elements >= 4)) {
    const redisReply *name = el[1];
    const redisReply *chan = pmsg ? el[2] : el[1];
    const redisReply *data = pmsg ? el[3] : el[2];
    if (name->type != REDIS_REPLY_STRING || chan->type != REDIS_REPLY_STRING ||
        data->type != REDIS_REPLY_STRING)
      return;
    pthread_mutex_lock(&s->lock);
    sub_entry *e = find(s, pmsg, name->str, name->len);
    if (!e) { /* unsubscribed meanwhile */
      pthread_mutex_unlock(&s->lock);
      return;
    }
    roster_redis_message_fn fn = e->fn;
    void *arg = e->arg;
    s->running = e;
    s->messages++; /* counted before the call: a callback that looks at
                      the stats sees its own message */
    pthread_mutex_unlock(&s->lock);
    roster_redis_message m = {
        .pattern = pmsg ? name->str : NULL,
        .pattern_len = pmsg ? name->len : 0,
        .channel = chan->str,
        .channel_len = chan->len,
        .data = data->str,
        .len = data->len,
    };
    fn(arg, &m);
    pthread_mutex_lock(&s->lock);
    s->running = NULL;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->lock);
    return;
  }
  bool psub = str_is(el[0], "psubscribe");
  if ((psub || str_is(el[0], "subscribe")) &&
      el[1]->type == REDIS_REPLY_STRING) {
    bool tell_up = false;
    pthread_mutex_lock(&s->lock);
    sub_entry *e = find(s, psub, el[1]->str, el[1]->len);
    if (e)
      e->confirmed = true;
    if (!s->up && all_confirmed(s)) {
      s->up = true;
      tell_up = true;
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->lock);
    if (tell_up)
      tell(s, true, "");
  }
}

/* session runs one connection until it fails or a stop; returns false on
 * a stop. detail gets why the connection ended. */
static bool session(roster_redis_subscriber *s, redisContext *c, char *detail,
                    size_t cap) {
  pthread_mutex_lock(&s->lock);
  queue_clear(s); /* the table below covers it */
  for (sub_entry *e = s->entries; e; e = e->next)
    e->confirmed = false;
  s->connected = true;
  s->connects++;
  bool ok = append_table(s, c);
  bool up_now = ok && !s->entries;
  if (up_now)
    s->up = true;
  pthread_mutex_unlock(&s->lock);
  if (up_now)
    tell(s, true, "");
  bool stop = false;
  while (ok) {
    pthread_mutex_lock(&s->lock);
    stop = s->stop;
    pthread_mutex_unlock(&s->lock);
    if (stop)
      break;
    int done = 0;
    while (ok && !done)
      ok = redisBufferWrite(c, &done) == REDIS_OK;
    if (!ok)
      break;
    struct pollfd p[2] = {{c->fd, POLLIN, 0}, {s->wake[0], POLLIN, 0}};
    int n = poll(p, 2, -1);
    if (n < 0 && errno != EINTR) {
      snprintf(detail, cap, "poll failed: %s", strerror(errno));
      ok = false;
      break;
    }
    if (p[1].revents & POLLIN) {
      drain(s->wake[0]);
      ok = append_queue(s, c);
    }
    if (ok && (p[0].revents & (POLLIN | POLLERR | POLLHUP))) {
      ok = redisBufferRead(c) == REDIS_OK;
      void *r = NULL;
      while (ok && (ok = redisGetReplyFromReader(c, &r) == REDIS_OK) && r) {
        handle(s, r);
        freeReplyObject(r);
        r = NULL;
      }
    }
  }
  if (!ok && !detail[0]) {
    int code = roster__redis_io_error(&s->conf, c, "subscriber");
    (void)code;
    snprintf(detail, cap, "%s", roster_last_error());
  }
  pthread_mutex_lock(&s->lock);
  s->connected = false;
  s->up = false;
  for (sub_entry *e = s->entries; e; e = e->next)
    e->confirmed = false;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->lock);
  return !stop;
}

static void *sub_main(void *arg) {
  roster_redis_subscriber *s = arg;
  int64_t lo = s->opts.backoff_min_ms, hi = s->opts.backoff_max_ms;
  int64_t delay = lo;
  bool down_told = false;
  for (;;) {
    pthread_mutex_lock(&s->lock);
    bool stop = s->stop;
    pthread_mutex_unlock(&s->lock);
    if (stop)
      break;
    redisContext *c = NULL;
    char detail[1024] = "";
    if (roster__redis_connect(&s->conf, false, &c) == ROSTER_OK) {
      delay = lo;
      down_told = false;
      bool go_on = session(s, c, detail, sizeof detail);
      redisFree(c);
      if (!go_on)
        break;
      tell(s, false, detail);
      down_told = true;
    } else {
      snprintf(detail, sizeof detail, "%s", roster_last_error());
      if (!down_told)
        tell(s, false, detail);
      down_told = true;
    }
    /* Jittered into [delay/2, delay]; a fresh loss retries soon. */
    unsigned char r = (unsigned char)(now_ms() * 2654435761u >> 7);
    int64_t d = delay / 2 + (delay - delay / 2) * r / 255;
    if (sleep_or_stop(s, d > 0 ? d : 1))
      break;
    delay = delay * 2 > hi ? hi : delay * 2;
  }
  return NULL;
}

/* ---- the API -------------------------------------------------------- */

int roster_redis_subscriber_new(roster_redis *cli,
                                const roster_redis_subscriber_options *o,
                                roster_redis_subscriber **out) {
  if (out)
    *out = NULL;
  if (!cli || !out)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_redis_subscriber_new: %s "
                            "is NULL",
                            cli ? "out" : "the client");
  roster_redis_subscriber_options opt =
      o ? *o : (roster_redis_subscriber_options){0};
  if (opt.backoff_min_ms < 0 || opt.backoff_max_ms < 0)
    return roster_error_set(ROSTER_EINVAL,
                            "redis '%s': subscriber backoff "
                            "must not be negative",
                            cli->conf.name);
  if (!opt.backoff_min_ms)
    opt.backoff_min_ms = 50;
  if (!opt.backoff_max_ms)
    opt.backoff_max_ms = 2000;
  if (opt.backoff_max_ms < opt.backoff_min_ms)
    opt.backoff_max_ms = opt.backoff_min_ms;
  roster_redis_subscriber *s = roster_mem_calloc(1, sizeof *s);
  if (!s)
    return roster_error_set(ROSTER_ENOMEM, "redis '%s': out of memory",
                            cli->conf.name);
  int rc = roster__redis_conf_copy(&s->conf, &cli->conf);
  if (rc) {
    roster_mem_free(s);
    return rc;
  }
  s->opts = opt;
  s->out_tail = &s->out_head;
  if (pipe2(s->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
    rc = roster_error_set(ROSTER_ESYS, "redis '%s': subscriber: pipe: %s",
                          cli->conf.name, strerror(errno));
    roster__redis_conf_free(&s->conf);
    roster_mem_free(s);
    return rc;
  }
  pthread_mutex_init(&s->lock, NULL);
  roster__cond_init_mono(&s->cv);
  rc = roster__thread_start(&s->thread, "roster-redissub", false, sub_main, s);
  if (rc) {
    rc = roster__err_wrap(rc, "redis '%s': subscriber: cannot start its thread",
                          cli->conf.name);
    s->started = false;
    roster_redis_subscriber_free(s);
    return rc;
  }
  s->started = true;
  *out = s;
  return ROSTER_OK;
}

void roster_redis_subscriber_free(roster_redis_subscriber *s) {
  if (!s)
    return;
  if (s->started) {
    pthread_mutex_lock(&s->lock);
    s->stop = true;
    pthread_mutex_unlock(&s->lock);
    wake(s);
    pthread_join(s->thread, NULL);
  }
  queue_clear(s);
  for (sub_entry *e = s->entries, *nx; e; e = nx) {
    nx = e->next;
    roster_mem_free(e);
  }
  close(s->wake[0]);
  close(s->wake[1]);
  pthread_cond_destroy(&s->cv);
  pthread_mutex_destroy(&s->lock);
  roster__redis_conf_free(&s->conf);
  roster_mem_free(s);
}

static int subscribe(roster_redis_subscriber *s, bool pattern, const void *name,
                     size_t len, roster_redis_message_fn fn, void *arg) {
  const char *call = pattern ? "psubscribe" : "subscribe";
  if (!s)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_redis_%s: the subscriber "
                            "is NULL",
                            call);
  int rc = roster__redis_check_channel(s->conf.name, call, name, len);
  if (rc)
    return rc;
  if (!fn)
    return roster_error_set(ROSTER_EINVAL,
                            "redis '%s': %s: the callback is "
                            "NULL",
                            s->conf.name, call);
  sub_entry *e = roster_mem_calloc(1, sizeof *e + len + 1);
  if (!e)
    return roster_error_set(ROSTER_ENOMEM, "redis '%s': out of memory",
                            s->conf.name);
  e->pattern = pattern;
  e->fn = fn;
  e->arg = arg;
  e->len = len;
  memcpy(e->name, name, len);
  pthread_mutex_lock(&s->lock);
  if (find(s, pattern, name, len)) {
    pthread_mutex_unlock(&s->lock);
    roster_mem_free(e);
    return roster_error_set(ROSTER_EEXIST,
                            "redis '%s': %s: the %s '%.*s' is "
                            "already subscribed",
                            s->conf.name, call, pattern ? "pattern" : "channel",
                            (int)(len > 64 ? 64 : len), (const char *)name);
  }
  if (!queue(s, pattern ? "PSUBSCRIBE" : "SUBSCRIBE", name, len)) {
    pthread_mutex_unlock(&s->lock);
    roster_mem_free(e);
    return roster_error_set(ROSTER_ENOMEM, "redis '%s': out of memory",
                            s->conf.name);
  }
  e->next = s->entries;
  s->entries = e;
  s->up = false; /* until this one is confirmed too */
  wake(s);
  if (pthread_equal(pthread_self(), s->thread)) {
    pthread_mutex_unlock(&s->lock);
    return ROSTER_OK; /* a callback: the confirmation comes later */
  }
  int64_t wait =
      s->conf.timeout_ms > 0 ? s->conf.timeout_ms : s->conf.connect_ms;
  struct timespec until;
  until = roster__mono_after(wait);
  uint64_t errors = s->errors;
  bool late = false;
  while (!e->confirmed && s->errors == errors && !late)
    late = pthread_cond_timedwait(&s->cv, &s->lock, &until) == ETIMEDOUT;
  if (e->confirmed) {
    rc = ROSTER_OK;
  } else if (s->errors != errors) {
    /* The server refused it (an ACL, say): drop it again. */
    for (sub_entry **p = &s->entries; *p; p = &(*p)->next)
      if (*p == e) {
        *p = e->next;
        break;
      }
    rc = roster_error_set(
        ROSTER_EREMOTE, "redis '%s' (%s): %s '%.*s': %s", s->conf.name,
        s->conf.where, pattern ? "PSUBSCRIBE" : "SUBSCRIBE",
        (int)(len > 64 ? 64 : len), (const char *)name, s->error);
    while (s->running == e)
      pthread_cond_wait(&s->cv, &s->lock);
    roster_mem_free(e);
  } else {
    rc = roster_error_set(
        ROSTER_ETIMEDOUT,
        "redis '%s' (%s): %s '%.*s' was "
        "not confirmed within %lld ms (%s); it stays and "
        "is made when the connection is back",
        s->conf.name, s->conf.where, pattern ? "PSUBSCRIBE" : "SUBSCRIBE",
        (int)(len > 64 ? 64 : len), (const char *)name, (long long)wait,
        s->connected ? "connected" : "not connected");
  }
  pthread_mutex_unlock(&s->lock);
  return rc;
}

int roster_redis_subscribe(roster_redis_subscriber *sub, const void *channel,
                           size_t len, roster_redis_message_fn fn, void *arg) {
  return subscribe(sub, false, channel, len, fn, arg);
}

int roster_redis_psubscribe(roster_redis_subscriber *sub, const void *pattern,
                            size_t len, roster_redis_message_fn fn, void *arg) {
  return subscribe(sub, true, pattern, len, fn, arg);
}

static int unsubscribe(roster_redis_subscriber *s, bool pattern,
                       const void *name, size_t len) {
  const char *call = pattern ? "punsubscribe" : "unsubscribe";
  if (!s)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_redis_%s: the subscriber "
                            "is NULL",
                            call);
  int rc = roster__redis_check_channel(s->conf.name, call, name, len);
  if (rc)
    return rc;
  pthread_mutex_lock(&s->lock);
  sub_entry **p = &s->entries;
  while (*p && !((*p)->pattern == pattern && (*p)->len == len &&
                 memcmp((*p)->name, name, len) == 0))
    p = &(*p)->next;
  sub_entry *e = *p;
  if (!e) {
    pthread_mutex_unlock(&s->lock);
    return roster_error_set(ROSTER_ENOENT,
                            "redis '%s': %s: the %s '%.*s' is "
                            "not subscribed",
                            s->conf.name, call, pattern ? "pattern" : "channel",
                            (int)(len > 64 ? 64 : len), (const char *)name);
  }
  *p = e->next;
  /* If the queue cannot take it, the server keeps sending that channel's
   * messages, which find no entry and are dropped. */
  (void)queue(s, pattern ? "PUNSUBSCRIBE" : "UNSUBSCRIBE", name, len);
  wake(s);
  if (!pthread_equal(pthread_self(), s->thread))
    while (s->running == e)
      pthread_cond_wait(&s->cv, &s->lock);
  if (!s->up && s->connected && all_confirmed(s))
    s->up = true;
  pthread_mutex_unlock(&s->lock);
  roster_mem_free(e);
  return ROSTER_OK;
}

int roster_redis_unsubscribe(roster_redis_subscriber *sub, const void *channel,
                             size_t len) {
  return unsubscribe(sub, false, channel, len);
}

int roster_redis_punsubscribe(roster_redis_subscriber *sub, const void *pattern,
                              size_t len) {
  return unsubscribe(sub, true, pattern, len);
}

int roster_redis_subscriber_stats_get(roster_redis_subscriber *sub,
                                      roster_redis_subscriber_stats *out) {
  if (!sub || !out)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_redis_subscriber_stats_get: "
                            "%s is NULL",
                            sub ? "out" : "the subscriber");
  roster_redis_subscriber_stats st = {0};
  pthread_mutex_lock(&sub->lock);
  st.connected = sub->up;
  st.connects = sub->connects;
  st.messages = sub->messages;
  for (const sub_entry *e = sub->entries; e; e = e->next) {
    if (e->pattern)
      st.patterns++;
    else
      st.channels++;
  }
  pthread_mutex_unlock(&sub->lock);
  *out = st;
  return ROSTER_OK;
}
