/*
 * log.c: loggers (roster/log.h): making and freeing trees of loggers,
 * levels, writing a line, sinks, reopen, stats, and the logger as a
 * registry service.
 *
 * The write path takes no lock: the line is built in a stack buffer, then
 * written to the sinks on this thread (sync) or handed to the queue
 * (async). The sink set is an immutable snapshot read under per-thread
 * reader slots (log_readers.c), so changing sinks never blocks a writer
 * and a removed sink is closed only once no writer can use it.
 */
#include "log_impl.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

_Thread_local ROSTER__TLS rl_core *roster__log_tl_emitting;

/* The start of each line, per level: {"level":N,"time": */
static const char *const line_heads[6] = {
    "{\"level\":10,\"time\":", "{\"level\":20,\"time\":",
    "{\"level\":30,\"time\":", "{\"level\":40,\"time\":",
    "{\"level\":50,\"time\":", "{\"level\":60,\"time\":"};
#define LINE_HEAD_LEN 19

#define STACK_LINE 2048 /* a line up to this size needs no allocation */
#define STACK_MSG 1024  /* a formatted message up to this size neither */

void roster__log_log_ref(roster_log *log) { atomic_fetch_add(&log->refs, 1); }

/* ---- the sink set ---------------------------------------------------- */

static rl_set *set_new(size_t n) {
  rl_set *s = roster_mem_calloc(1, sizeof *s + n * sizeof s->s[0]);
  if (s)
    s->n = n;
  return s;
}

/* publish swaps in a new set (mu held), waits out the readers of the old
 * one and frees it (not its sinks). */
static void publish(rl_core *c, rl_set *nw) {
  rl_set *old = atomic_exchange(&c->sinks, nw);
  roster__log_sinks_wait(c);
  roster_mem_free(old);
}

int roster__log_deliver_sync(rl_core *c, int level, char *line, size_t len) {
  rl_use u;
  rl_set *set = rl_sinks_enter(c, &u);
  rl_core *prev = roster__log_tl_emitting;
  roster__log_tl_emitting = c;
  size_t fails = 0;
  rl_sink *bad = NULL;
  int err = 0;
  for (size_t i = 0; i < set->n; i++) {
    rl_sink *s = set->s[i];
    if (level >= s->level && roster__log_sink_line(s, level, line, len) != 0) {
      fails++;
      bad = s;
      err = errno;
    }
  }
  int kind = bad ? (int)bad->kind : 0;
  roster__log_tl_emitting = prev;
  rl_count_line(c, &u);
  rl_sinks_exit(c, &u);
  if (RL_UNLIKELY(fails)) {
    atomic_fetch_add_explicit(&c->errors, fails, memory_order_relaxed);
    static const char *const kinds[] = {"stdout", "stderr",   "file",
                                        "fd",     "callback", "journald"};
    return roster_error_set(ROSTER_EIO,
                            "log: writing a line to the %s sink failed: %s",
                            kinds[kind], strerror(err));
  }
  return ROSTER_OK;
}

/* ---- lines ------------------------------------------------------------ */

/* head: the last line head this thread wrote, {"level":L,"time":T,
 * "pid":P,"hostname":"H"[,"name":"N"], for (core serial, level, ms,
 * pid); most lines copy it whole. The serial, not the core's address,
 * names the core: a freed core's address may come back. */
static _Thread_local ROSTER__TLS struct {
  uint64_t serial;
  int64_t ms;
  int level, pid;
  size_t len;
  char s[192];
} head;

static atomic_ullong core_serials;

static void put_head(rl_core *c, rl_buf *b, int level) {
  int64_t ms = roster__log_now_ms();
  int pid = roster__log_pid();
  if (RL_LIKELY(head.serial == c->serial && head.ms == ms &&
                head.level == level && head.pid == pid)) {
    rl_put(b, head.s, head.len);
    return;
  }
  size_t start = b->len;
  rl_put(b, line_heads[level / 10 - 1], LINE_HEAD_LEN);
  roster__log_put_int(b, ms);
  RL_PUTS(b, ",\"pid\":");
  roster__log_put_int(b, pid);
  rl_put(b, c->fixed, c->fixed_len);
  size_t n = b->len - start;
  if (!b->oom && n <= sizeof head.s) {
    memcpy(head.s, b->p + start, n);
    head.len = n;
    head.serial = c->serial;
    head.ms = ms;
    head.level = level;
    head.pid = pid;
  }
}

void roster__log_format_record(rl_core *c, rl_buf *b, int level,
                               const char *msg, const roster_log_field *f,
                               size_t n) {
  put_head(c, b, level);
  RL_PUTS(b, ",\"msg\":");
  rl_put_str(b, msg, strlen(msg));
  roster__log_put_fields(b, f, n);
  RL_PUTS(b, "}\n");
}

/* put_msg formats the message into b as a JSON string. */
static void put_msg(rl_buf *b, const char *fmt, va_list ap) {
  RL_PUTS(b, ",\"msg\":");
  /* the length up to a conversion (libc's vectorised scan), then whether
   * the text is plain, eight bytes at a time */
  size_t fl = (size_t)(strchrnul(fmt, '%') - fmt);
  if (!fmt[fl]) { /* no conversion: the format is the message */
    rl_put_str(b, fmt, fl);
    return;
  }
  char stack[STACK_MSG];
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(stack, sizeof stack, fmt, ap);
  if (n < 0) {
    RL_PUTS(b, "\"(bad format)\"");
  } else if ((size_t)n < sizeof stack) {
    rl_put_str(b, stack, (size_t)n);
  } else {
    char *big = roster_mem_alloc((size_t)n + 1);
    if (!big) {
      b->oom = true;
    } else {
      vsnprintf(big, (size_t)n + 1, fmt, ap2);
      rl_put_str(b, big, (size_t)n);
      roster_mem_free(big);
    }
  }
  va_end(ap2);
}

int roster_log_writev(roster_log *log, int level,
                      const roster_log_field *fields, size_t n, const char *fmt,
                      va_list ap) {
  if (RL_UNLIKELY(!log))
    return roster_error_set(ROSTER_EINVAL, "roster_log_write: the logger "
                                           "is NULL");
  if (RL_UNLIKELY(!rl_level_valid(level)))
    return roster_error_set(ROSTER_EINVAL,
                            "roster_log_write: level %d is not a level "
                            "(10 trace, 20 debug, 30 info, 40 warn, "
                            "50 error, 60 fatal)",
                            level);
  if (RL_UNLIKELY(n && !fields))
    return roster_error_set(ROSTER_EINVAL,
                            "roster_log_write: %zu fields "
                            "but fields is NULL",
                            n);
  if (!roster_log_enabled(log, level))
    return ROSTER_OK;
  rl_core *c = log->core;
  if (RL_UNLIKELY(roster__log_tl_emitting == c))
    return ROSTER_OK; /* a sink callback logging to its own tree */

  char stack[STACK_LINE];
  rl_buf b;
  roster__log_buf_init(&b, stack, sizeof stack);
  put_head(c, &b, level);
  if (fmt)
    put_msg(&b, fmt, ap);
  rl_put(&b, log->bound, log->bound_len);
  roster__log_put_fields(&b, fields, n);
  RL_PUTS(&b, "}\n");
  int rc;
  if (RL_UNLIKELY(b.oom)) {
    rc = roster_error_set(ROSTER_ENOMEM, "log: out of memory for a line");
  } else if (c->q && c->pid == roster__log_pid()) {
    rc = roster__log_queue_push(c->q, level, b.p, b.len);
    if (level == ROSTER_LOG_FATAL && rc == ROSTER_OK)
      rc = roster__log_queue_flush(c->q);
  } else {
    /* sync, or async in a forked child (the writer thread stayed in the
     * parent): write on this thread */
    rc = roster__log_deliver_sync(c, level, b.p, b.len);
  }
  roster__log_buf_fini(&b);
  return rc;
}

int roster_log_write(roster_log *log, int level, const roster_log_field *fields,
                     size_t n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = roster_log_writev(log, level, fields, n, fmt, ap);
  va_end(ap);
  return rc;
}

/* ---- levels ------------------------------------------------------------ */

static bool level_settable(int level) {
  return level == 0 || level == ROSTER_LOG_SILENT || rl_level_valid(level);
}

int roster_log_level_get(const roster_log *log) {
  if (!log)
    return ROSTER_LOG_SILENT;
  return __atomic_load_n(&log->head.level, __ATOMIC_RELAXED);
}

static void set_eff(roster_log *l, int eff) {
  __atomic_store_n(&l->head.level, eff, __ATOMIC_RELAXED);
}

/* propagate gives l's followers (children without their own level, and
 * theirs) l's effective level; core->mu held. Iterative, so a deep tree
 * cannot exhaust the stack. */
static void propagate(roster_log *top) {
  roster_log *cur = top->child;
  while (cur) {
    bool descend = false;
    if (!cur->own_level) {
      set_eff(cur, cur->parent->head.level);
      descend = cur->child != NULL;
    }
    if (descend) {
      cur = cur->child;
      continue;
    }
    while (cur != top && !cur->next)
      cur = cur->parent;
    if (cur == top)
      break;
    cur = cur->next;
  }
}

int roster_log_level_set(roster_log *log, int level) {
  if (!log)
    return roster_error_set(ROSTER_EINVAL, "roster_log_level_set: the "
                                           "logger is NULL");
  if (!level_settable(level))
    return roster_error_set(ROSTER_EINVAL,
                            "roster_log_level_set: %d is not a level "
                            "(0 to follow the parent, 10 trace ... 60 "
                            "fatal, 100 silent)",
                            level);
  rl_core *c = log->core;
  pthread_mutex_lock(&c->mu);
  log->own_level = level;
  int eff = level         ? level
            : log->parent ? log->parent->head.level
                          : ROSTER_LOG_INFO;
  set_eff(log, eff);
  propagate(log);
  pthread_mutex_unlock(&c->mu);
  return ROSTER_OK;
}

static const struct {
  const char *name;
  int level;
} level_names[] = {
    {"trace", ROSTER_LOG_TRACE},  {"debug", ROSTER_LOG_DEBUG},
    {"info", ROSTER_LOG_INFO},    {"warn", ROSTER_LOG_WARN},
    {"warning", ROSTER_LOG_WARN}, {"error", ROSTER_LOG_ERROR},
    {"fatal", ROSTER_LOG_FATAL},  {"silent", ROSTER_LOG_SILENT},
    {"off", ROSTER_LOG_SILENT},
};

int roster_log_level_parse(const char *text, int *out) {
  if (!out)
    return roster_error_set(ROSTER_EINVAL, "roster_log_level_parse: out is "
                                           "NULL");
  if (!text)
    return roster_error_set(ROSTER_EINVAL, "roster_log_level_parse: the "
                                           "text is NULL");
  for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++)
    if (strcasecmp(text, level_names[i].name) == 0) {
      *out = level_names[i].level;
      return ROSTER_OK;
    }
  if (text[0] >= '1' && text[0] <= '9' && strlen(text) <= 3) {
    char *end;
    long v = strtol(text, &end, 10);
    if (*end == '\0' && (rl_level_valid((int)v) || v == ROSTER_LOG_SILENT)) {
      *out = (int)v;
      return ROSTER_OK;
    }
  }
  char q[80];
  snprintf(q, sizeof q, "%s", text);
  for (char *p = q; *p; p++)
    if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
      *p = '?';
  return roster_error_set(ROSTER_EINVAL,
                          "log level '%s' is not one of trace, debug, info, "
                          "warn, error, fatal, silent (or 10 ... 60, 100)",
                          q);
}

const char *roster_log_level_name(int level) {
  switch (level) {
  case ROSTER_LOG_TRACE:
    return "trace";
  case ROSTER_LOG_DEBUG:
    return "debug";
  case ROSTER_LOG_INFO:
    return "info";
  case ROSTER_LOG_WARN:
    return "warn";
  case ROSTER_LOG_ERROR:
    return "error";
  case ROSTER_LOG_FATAL:
    return "fatal";
  case ROSTER_LOG_SILENT:
    return "silent";
  default:
    return "?";
  }
}

/* ---- making and freeing ------------------------------------------------- */

static void core_free(rl_core *c) {
  if (c->sighup_id)
    roster_signal_unwatch(c->sighup_id);
  if (c->q)
    roster__log_queue_free(c->q); /* drains and joins the writer */
  rl_set *set = atomic_load(&c->sinks);
  if (set) {
    for (size_t i = 0; i < set->n; i++)
      roster__log_sink_close(set->s[i]);
    roster_mem_free(set);
  }
  roster_mem_free(c->fixed);
  roster_mem_free(c->shards);
  pthread_mutex_destroy(&c->mu);
  roster_mem_free(c);
}

static int build_fixed(rl_core *c, const char *name) {
  char host[256];
  if (gethostname(host, sizeof host) != 0)
    snprintf(host, sizeof host, "localhost");
  host[sizeof host - 1] = '\0';
  char stack[512];
  rl_buf b;
  roster__log_buf_init(&b, stack, sizeof stack);
  RL_PUTS(&b, ",\"hostname\":");
  rl_put_str(&b, host, strlen(host));
  if (name) {
    RL_PUTS(&b, ",\"name\":");
    rl_put_str(&b, name, strlen(name));
  }
  c->fixed = b.oom ? NULL : roster_mem_alloc(b.len ? b.len : 1);
  if (c->fixed) {
    memcpy(c->fixed, b.p, b.len);
    c->fixed_len = b.len;
  }
  roster__log_buf_fini(&b);
  return c->fixed ? ROSTER_OK
                  : roster_error_set(ROSTER_ENOMEM, "log: out "
                                                    "of memory");
}

static int check_options(const roster_log_options *o) {
  if (!level_settable(o->level))
    return roster_error_set(ROSTER_EINVAL,
                            "roster_log_new: level %d is not a level "
                            "(10 trace ... 60 fatal, 100 silent; 0 = info)",
                            o->level);
  if (o->nsinks && !o->sinks)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_log_new: nsinks is %zu but sinks is NULL",
                            o->nsinks);
  if (o->nsinks > 64)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_log_new: %zu sinks, at "
                            "most 64",
                            o->nsinks);
  if (o->queue_lines > (1u << 24))
    return roster_error_set(ROSTER_EINVAL,
                            "roster_log_new: queue_lines %zu is over the "
                            "limit of 16777216",
                            o->queue_lines);
  if (o->drop_report_ms < 0)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_log_new: drop_report_ms is negative");
  if (o->file && !o->file[0])
    return roster_error_set(ROSTER_EINVAL, "roster_log_new: file is empty");
  return ROSTER_OK;
}

static roster_log *log_make(const roster_log_options *opts) {
  roster_log_options o = {0};
  if (opts)
    o = *opts;
  if (check_options(&o))
    return NULL;
  rl_core *c = roster_mem_calloc(1, sizeof *c);
  roster_log *log = roster_mem_calloc(1, sizeof *log);
  rl_shard *shards = roster_mem_calloc(RL_SHARDS + 1, sizeof *shards);
  if (!c || !log || !shards) {
    roster_mem_free(shards);
    roster_mem_free(c);
    roster_mem_free(log);
    roster_error_set(ROSTER_ENOMEM, "roster_log_new: out of memory");
    return NULL;
  }
  pthread_mutex_init(&c->mu, NULL);
  c->shards = shards;
  c->serial = atomic_fetch_add(&core_serials, 1) + 1; /* never 0 */
  c->pid = roster__log_pid();
  c->next_sink_id = 1;
  roster_log_sink def = {.kind = ROSTER_LOG_SINK_STDOUT};
  if (o.file) {
    def.kind = ROSTER_LOG_SINK_FILE;
    def.path = o.file;
  }
  const roster_log_sink *descs = o.nsinks ? o.sinks : &def;
  size_t nd = o.nsinks ? o.nsinks : 1;
  rl_set *set = set_new(nd);
  int rc = set ? build_fixed(c, o.name)
               : roster_error_set(ROSTER_ENOMEM, "roster_log_new: out of "
                                                 "memory");
  atomic_store(&c->sinks, set);
  for (size_t i = 0; rc == ROSTER_OK && i < nd; i++) {
    rl_sink *s = roster__log_sink_open(&descs[i]);
    if (!s) {
      rc = roster_last_code();
      break;
    }
    s->id = c->next_sink_id++;
    set->s[i] = s;
  }
  if (set) {
    /* a failed open leaves a shorter set: count what is there */
    size_t have = 0;
    while (have < nd && set->s[have])
      have++;
    set->n = have;
  }
  if (rc == ROSTER_OK && o.async) {
    size_t lines = o.queue_lines ? o.queue_lines : 4096;
    c->q = roster__log_queue_new(c, lines, o.block,
                                 o.drop_report_ms ? o.drop_report_ms : 1000);
    if (!c->q)
      rc = roster_last_code();
  }
  if (rc != ROSTER_OK) {
    /* the sinks' free_arg must not run for a failed call */
    if (set)
      for (size_t i = 0; i < set->n; i++)
        set->s[i]->free_arg = NULL;
    core_free(c);
    roster_mem_free(log);
    return NULL;
  }
  log->core = c;
  log->own_level = o.level;
  set_eff(log, o.level ? o.level : ROSTER_LOG_INFO);
  atomic_init(&log->refs, 1);
  if (o.reopen_on_sighup && roster_log_reopen_on_sighup(log) != ROSTER_OK) {
    roster__err_saved e;
    roster__err_save(&e, roster_last_code());
    if (set)
      for (size_t i = 0; i < set->n; i++)
        set->s[i]->free_arg = NULL;
    core_free(c);
    roster_mem_free(log);
    roster__err_restore(&e);
    return NULL;
  }
  return log;
}

int roster_log_new(const roster_log_options *opts, roster_log **out) {
  if (!out)
    return roster_error_set(ROSTER_EINVAL, "roster_log_new: out is NULL");
  *out = log_make(opts);
  return *out ? ROSTER_OK : roster_last_code();
}

static roster_log *child_make(roster_log *log, const roster_log_field *fields,
                              size_t n) {
  if (!log) {
    roster_error_set(ROSTER_EINVAL, "roster_log_child: the parent is NULL");
    return NULL;
  }
  if (n && !fields) {
    roster_error_set(ROSTER_EINVAL,
                     "roster_log_child: %zu fields but fields is NULL", n);
    return NULL;
  }
  char stack[1024];
  rl_buf b;
  roster__log_buf_init(&b, stack, sizeof stack);
  rl_put(&b, log->bound, log->bound_len);
  roster__log_put_fields(&b, fields, n);
  roster_log *ch = b.oom ? NULL : roster_mem_calloc(1, sizeof *ch + b.len);
  if (!ch) {
    roster__log_buf_fini(&b);
    roster_error_set(ROSTER_ENOMEM, "roster_log_child: out of memory");
    return NULL;
  }
  memcpy(ch->bound, b.p, b.len);
  ch->bound_len = b.len;
  roster__log_buf_fini(&b);
  ch->core = log->core;
  ch->parent = log;
  atomic_init(&ch->refs, 1);
  roster__log_log_ref(log);
  pthread_mutex_lock(&log->core->mu);
  set_eff(ch, log->head.level);
  ch->next = log->child;
  if (log->child)
    log->child->prev = ch;
  log->child = ch;
  pthread_mutex_unlock(&log->core->mu);
  return ch;
}

int roster_log_child(roster_log *log, const roster_log_field *fields, size_t n,
                     roster_log **out) {
  if (!out)
    return roster_error_set(ROSTER_EINVAL, "roster_log_child: out is NULL");
  *out = child_make(log, fields, n);
  return *out ? ROSTER_OK : roster_last_code();
}

void roster_log_free(roster_log *log) {
  while (log) {
    if (atomic_fetch_sub(&log->refs, 1) != 1)
      return;
    roster_log *parent = log->parent;
    rl_core *c = log->core;
    if (!parent) {
      core_free(c);
      roster_mem_free(log);
      return;
    }
    pthread_mutex_lock(&c->mu);
    if (log->prev)
      log->prev->next = log->next;
    else
      parent->child = log->next;
    if (log->next)
      log->next->prev = log->prev;
    pthread_mutex_unlock(&c->mu);
    roster_mem_free(log);
    log = parent; /* drop the child's handle on its parent */
  }
}

/* ---- sinks ----------------------------------------------------------------
 */

int roster_log_sink_add(roster_log *log, const roster_log_sink *sink,
                        uint64_t *id) {
  if (!log || !sink)
    return roster_error_set(ROSTER_EINVAL, "roster_log_sink_add: %s is NULL",
                            log ? "sink" : "the logger");
  rl_core *c = log->core;
  if (roster__log_tl_emitting == c)
    return roster_error_set(ROSTER_ESTATE, "roster_log_sink_add: called "
                                           "from a sink of the same logger");
  rl_sink *s = roster__log_sink_open(sink);
  if (!s)
    return roster_last_code();
  pthread_mutex_lock(&c->mu);
  rl_set *old = atomic_load(&c->sinks);
  if (old->n >= 64) {
    pthread_mutex_unlock(&c->mu);
    s->free_arg = NULL;
    roster__log_sink_close(s);
    return roster_error_set(ROSTER_EINVAL, "roster_log_sink_add: the "
                                           "logger has 64 sinks already");
  }
  rl_set *nw = set_new(old->n + 1);
  if (!nw) {
    pthread_mutex_unlock(&c->mu);
    s->free_arg = NULL;
    roster__log_sink_close(s);
    return roster_error_set(ROSTER_ENOMEM, "roster_log_sink_add: out of "
                                           "memory");
  }
  memcpy(nw->s, old->s, old->n * sizeof old->s[0]);
  s->id = c->next_sink_id++;
  nw->s[old->n] = s;
  if (id)
    *id = s->id;
  publish(c, nw);
  pthread_mutex_unlock(&c->mu);
  return ROSTER_OK;
}

int roster_log_sink_remove(roster_log *log, uint64_t id) {
  if (!log)
    return roster_error_set(ROSTER_EINVAL, "roster_log_sink_remove: the "
                                           "logger is NULL");
  rl_core *c = log->core;
  if (roster__log_tl_emitting == c)
    return roster_error_set(ROSTER_ESTATE, "roster_log_sink_remove: called "
                                           "from a sink of the same logger");
  pthread_mutex_lock(&c->mu);
  rl_set *old = atomic_load(&c->sinks);
  size_t at = old->n;
  for (size_t i = 0; i < old->n; i++)
    if (old->s[i]->id == id)
      at = i;
  if (at == old->n) {
    pthread_mutex_unlock(&c->mu);
    return roster_error_set(ROSTER_ENOENT,
                            "roster_log_sink_remove: no "
                            "sink %llu in this logger",
                            (unsigned long long)id);
  }
  rl_set *nw = set_new(old->n - 1);
  if (!nw) {
    pthread_mutex_unlock(&c->mu);
    return roster_error_set(ROSTER_ENOMEM, "roster_log_sink_remove: out of "
                                           "memory");
  }
  rl_sink *gone = old->s[at];
  for (size_t i = 0, j = 0; i < old->n; i++)
    if (i != at)
      nw->s[j++] = old->s[i];
  publish(c, nw);
  pthread_mutex_unlock(&c->mu);
  roster__log_sink_close(gone);
  return ROSTER_OK;
}

int roster_log_reopen(roster_log *log) {
  if (!log)
    return roster_error_set(ROSTER_EINVAL, "roster_log_reopen: the logger "
                                           "is NULL");
  rl_core *c = log->core;
  roster__err_saved first = {.code = ROSTER_OK};
  pthread_mutex_lock(&c->mu); /* the set cannot change meanwhile */
  rl_set *set = atomic_load(&c->sinks);
  for (size_t i = 0; i < set->n; i++)
    if (set->s[i]->kind == ROSTER_LOG_SINK_FILE) {
      int rc = roster__log_sink_reopen(set->s[i]);
      if (rc && first.code == ROSTER_OK)
        roster__err_save(&first, rc);
    }
  pthread_mutex_unlock(&c->mu);
  if (first.code)
    return roster__err_restore(&first);
  return ROSTER_OK;
}

static void on_sighup(int signo, void *arg) {
  (void)signo;
  roster_log_reopen(arg);
}

int roster_log_reopen_on_sighup(roster_log *log) {
  if (!log)
    return roster_error_set(ROSTER_EINVAL, "roster_log_reopen_on_sighup: "
                                           "the logger is NULL");
  while (log->parent)
    log = log->parent;
  rl_core *c = log->core;
  pthread_mutex_lock(&c->mu);
  int rc = ROSTER_OK;
  if (!c->sighup_id)
    rc = roster_signal_watch(SIGHUP, on_sighup, log, &c->sighup_id);
  pthread_mutex_unlock(&c->mu);
  return rc;
}

int roster_log_flush(roster_log *log) {
  if (!log)
    return roster_error_set(ROSTER_EINVAL, "roster_log_flush: the logger "
                                           "is NULL");
  rl_core *c = log->core;
  if (!c->q || c->pid != roster__log_pid() || roster__log_tl_emitting == c)
    return ROSTER_OK;
  return roster__log_queue_flush(c->q);
}

int roster_log_stats_get(roster_log *log, roster_log_stats *out) {
  if (!log || !out)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_log_stats_get: %s is "
                            "NULL",
                            log ? "out" : "the logger");
  rl_core *c = log->core;
  uint64_t lines = atomic_load(&c->written);
  for (size_t i = 0; i <= RL_SHARDS; i++)
    lines += atomic_load_explicit(&c->shards[i].lines, memory_order_relaxed);
  out->written = lines;
  out->dropped = atomic_load(&c->dropped);
  out->errors = atomic_load(&c->errors);
  out->queued = c->q ? roster__log_queue_depth(c->q) : 0;
  return ROSTER_OK;
}

/* ---- in a registry ------------------------------------------------------- */

static void log_type_destroy(void *instance) { roster_log_free(instance); }

const roster_type roster_log_type = {.name = "roster_log",
                                     .destroy = log_type_destroy};

ROSTER_DEFINE_FIND(roster_log_find, roster_log, roster_log_type)

int roster_log_register(roster *r, const char *ns, const char *name,
                        roster_log *log) {
  if (!log)
    return roster_error_set(ROSTER_EINVAL, "roster_log_register: the logger "
                                           "is NULL");
  roster__log_log_ref(log);
  int rc = roster_register(r, ns, name, &roster_log_type, log);
  if (rc != ROSTER_OK)
    atomic_fetch_sub(&log->refs, 1); /* the caller's handle remains */
  return rc;
}
