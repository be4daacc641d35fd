/*
 * log_impl.h: the logger's private header, shared by the files of src/log.
 *
 * A logger tree has one core (rl_core): the sinks, the async queue and its
 * writer thread, the counters, and one mutex for the rare changes (sinks,
 * the tree of children, levels, attachments). Each roster_log in the tree
 * points to the core and carries its pre-encoded bound fields. The logger
 * is a built-in service: it uses only roster's public API (roster.h) and
 * its allocation wrappers, plus jansson for JSON-tree fields.
 */
#ifndef ROSTER_LOG_IMPL_H
#define ROSTER_LOG_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "roster.h"
#include "roster/log.h"

#if defined(__GNUC__) || defined(__clang__)
#define RL_LIKELY(x) __builtin_expect(!!(x), 1)
#define RL_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define RL_LIKELY(x) (x)
#define RL_UNLIKELY(x) (x)
#endif

/* ---- line buffers (log_format.c) ------------------------------------ */

/* rl_buf: a byte buffer that starts in caller-provided (stack) memory and
 * moves to the heap only when a line outgrows it. oom is sticky: once an
 * allocation failed every append is ignored and the line is not written. */
typedef struct rl_buf {
  char *p;
  size_t len, cap;
  bool heap;
  bool oom;
} rl_buf;

void rl_buf_init(rl_buf *b, char *stack, size_t cap);
void rl_buf_fini(rl_buf *b);
bool rl_buf_grow(rl_buf *b, size_t need);
static inline bool rl_buf_reserve(rl_buf *b, size_t n) {
  return RL_LIKELY(b->len + n <= b->cap) || rl_buf_grow(b, n);
}
static inline void rl_put(rl_buf *b, const void *s, size_t n) {
  if (rl_buf_reserve(b, n)) {
    __builtin_memcpy(b->p + b->len, s, n);
    b->len += n;
  }
}
static inline void rl_putc(rl_buf *b, char c) {
  if (rl_buf_reserve(b, 1))
    b->p[b->len++] = c;
}
#define RL_PUTS(b, lit) rl_put((b), (lit), sizeof(lit) - 1)

/* rl_put_str appends s[0..n) as a JSON string, quotes included, escaped
 * as roster/log.h describes. */
void rl_put_str(rl_buf *b, const char *s, size_t n);
/* rl_put_int / rl_put_uint / rl_put_double append a JSON number (a double
 * that is not finite is null). */
void rl_put_int(rl_buf *b, int64_t v);
void rl_put_uint(rl_buf *b, uint64_t v);
void rl_put_double(rl_buf *b, double d);
/* rl_put_fields appends ,"key":value for each field. */
void rl_put_fields(rl_buf *b, const roster_log_field *f, size_t n);
/* rl_now_ms: CLOCK_REALTIME in milliseconds. */
int64_t rl_now_ms(void);
/* rl_pid: the process id, refreshed in a forked child. */
int rl_pid(void);

/* ---- sinks (log_sink.c) --------------------------------------------- */

#define RL_BATCH 65536 /* writer thread: bytes buffered per fd sink */

typedef struct rl_sink {
  uint64_t id;
  roster_log_sink_kind kind;
  int level;
  int fd;            /* stdout/stderr/FD: the caller's; FILE, JOURNALD:
                        owned (FILE's is replaced in place by reopen) */
  char *path;        /* FILE: the file; JOURNALD: the socket */
  roster_log_line_fn fn;
  void *arg;
  void (*free_arg)(void *arg);
  char *batch;       /* writer thread only: pending bytes */
  size_t blen;
} rl_sink;

/* rl_set: an immutable snapshot of the sinks, swapped whole on change. */
typedef struct rl_set {
  size_t n;
  int min_level; /* the lowest sink level (0 if a sink takes everything) */
  rl_sink *s[];
} rl_set;

/* rl_sink_open makes a sink from its description (opens the file or the
 * journald socket). NULL on error with the detail set. */
rl_sink *rl_sink_open(const roster_log_sink *d);
/* rl_sink_close closes what the sink owns, runs free_arg, frees it. */
void rl_sink_close(rl_sink *s);
/* rl_sink_line writes one line (line[len-1] is '\n', the buffer is
 * writable) now. Returns 0 or -1 on a failed write. */
int rl_sink_line(rl_sink *s, int level, char *line, size_t len);
/* rl_sink_batch_line appends the line to the sink's batch (fd sinks),
 * writing the batch first when full; other kinds write at once. */
int rl_sink_batch_line(rl_sink *s, int level, char *line, size_t len);
/* rl_sink_flush_batch writes the sink's pending batch. */
int rl_sink_flush_batch(rl_sink *s);
/* rl_sink_reopen reopens a FILE sink's path onto its descriptor. */
int rl_sink_reopen(rl_sink *s);
/* rl_journald_send: the JOURNALD sink's write (log_journald.c). */
int rl_journald_send(rl_sink *s, int level, const char *line, size_t len);
int rl_journald_open(rl_sink *s, const char *path);

/* ---- the core ------------------------------------------------------- */

typedef struct rl_queue rl_queue;
typedef struct rl_attach rl_attach;

typedef struct rl_core {
  pthread_mutex_t mu;          /* sinks changes, the children tree,
                                  levels, attachments */
  _Atomic(rl_set *) sinks;
  atomic_uint epoch;           /* sink readers: two-phase counters */
  atomic_long readers[2];
  uint64_t next_sink_id;
  char *fixed;                 /* ,"hostname":"...",["name":"..."] */
  size_t fixed_len;
  int pid;                     /* the process that made the core */
  rl_queue *q;                 /* async, else NULL */
  atomic_ullong written, dropped, errors;
  uint64_t sighup_id;          /* signal watch, or 0 */
  rl_attach *attached;         /* roster_log_attach records, under mu */
} rl_core;

struct roster_log {
  roster__log_head head;       /* effective level, atomic; must be first */
  rl_core *core;
  roster_log *parent;          /* NULL for the root */
  atomic_uint refs;
  int own_level;               /* 0: follow the parent; under core->mu */
  roster_log *child, *next, *prev; /* children tree, under core->mu */
  size_t bound_len;            /* ,"k":v,... for this logger (parent's
                                  bound fields included) */
  char bound[];
};

/* Thread-local: the core whose sinks this thread is writing to now (sync
 * delivery, or the writer thread). A line logged to that core from a sink
 * callback is ignored instead of recursing or deadlocking. */
extern _Thread_local rl_core *rl_tl_emitting;

/* rl_sinks_enter / rl_sinks_exit bracket a use of the sink set; a change
 * waits (rl_sinks_wait) until every use that might see the old set ends. */
static inline rl_set *rl_sinks_enter(rl_core *c, unsigned *e) {
  *e = atomic_load(&c->epoch) & 1u;
  atomic_fetch_add(&c->readers[*e], 1);
  return atomic_load(&c->sinks);
}
static inline void rl_sinks_exit(rl_core *c, unsigned e) {
  atomic_fetch_sub(&c->readers[e], 1);
}
void rl_sinks_wait(rl_core *c);

/* rl_deliver_sync writes a finished line (ending in '\n') to every sink
 * whose level admits it, on the calling thread. */
int rl_deliver_sync(rl_core *c, int level, char *line, size_t len);
/* rl_format_record writes a line of the root (no bound fields) into b:
 * the writer's "dropped N lines" record. */
void rl_format_record(rl_core *c, rl_buf *b, int level, const char *msg,
                      const roster_log_field *f, size_t n);

/* ---- async (log_queue.c) -------------------------------------------- */

rl_queue *rl_queue_new(rl_core *c, size_t lines, bool block,
                       int64_t report_ms);
/* rl_queue_free drains the queue, writes the last records, stops and joins
 * the writer thread. */
void rl_queue_free(rl_queue *q);
/* rl_queue_push hands a finished line to the writer. ROSTER_OK,
 * ROSTER_EBUSY (dropped) or ROSTER_ENOMEM. */
int rl_queue_push(rl_queue *q, int level, const char *line, size_t len);
int rl_queue_flush(rl_queue *q);
uint64_t rl_queue_depth(rl_queue *q);

/* ---- levels --------------------------------------------------------- */

static inline bool rl_level_valid(int level) {
  return level >= ROSTER_LOG_TRACE && level <= ROSTER_LOG_FATAL &&
         level % 10 == 0;
}

/* ---- shared helpers (log.c) ----------------------------------------- */

/* rl_log_ref takes one more handle on log (roster_log_free drops it). */
void rl_log_ref(roster_log *log);

#endif /* ROSTER_LOG_IMPL_H */
