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

#include "base/base.h"

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

void roster__log_buf_init(rl_buf *b, char *stack, size_t cap);
void roster__log_buf_fini(rl_buf *b);
bool roster__log_buf_grow(rl_buf *b, size_t need);
static inline bool rl_buf_reserve(rl_buf *b, size_t n) {
  return RL_LIKELY(b->len + n <= b->cap) || roster__log_buf_grow(b, n);
}
/* rl_copy: roster__copy (base.h), inline up to 64 bytes. */
static inline void rl_copy(char *d, const char *s, size_t n) {
  roster__copy(d, s, n);
}
static inline void rl_put(rl_buf *b, const void *s, size_t n) {
  if (rl_buf_reserve(b, n)) {
    rl_copy(b->p + b->len, s, n);
    b->len += n;
  }
}
static inline void rl_putc(rl_buf *b, char c) {
  if (rl_buf_reserve(b, 1))
    b->p[b->len++] = c;
}
#define RL_PUTS(b, lit) rl_put((b), (lit), sizeof(lit) - 1)

/* roster__log_cls classifies bytes for strings: 0 = written as is, 1 = escaped,
 * 2 = starts (or breaks) a multi-byte UTF-8 sequence. */
extern const unsigned char roster__log_cls[256];

/* roster__log_put_str_slow appends s[0..n) as a JSON string, quotes included,
 * escaped as roster/log.h describes. */
void roster__log_put_str_slow(rl_buf *b, const char *s, size_t n);

/* rl_special8 is non-zero if one of the 8 bytes in v is >= 0x80, < 0x20,
 * '"' or '\\' (the exact "has zero byte" / "has byte less than" word
 * tricks: a borrow only starts at a byte that is really flagged). */
static inline uint64_t rl_special8(uint64_t v) {
  const uint64_t ones = 0x0101010101010101ull;
  uint64_t q = v ^ (ones * 0x22), k = v ^ (ones * 0x5c);
  return (v | ((v - ones * 0x20) & ~v) | ((q - ones) & ~q) |
          ((k - ones) & ~k)) &
         (ones * 0x80);
}

/* rl_plain tells whether none of s[0..n) needs escaping or validation:
 * eight bytes at a time (overlapping at the end), a table below 4. */
static inline bool rl_plain(const char *s, size_t n) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  if (n >= 8) {
    uint64_t v, acc = 0;
    for (size_t i = 0; i + 8 < n; i += 8) {
      __builtin_memcpy(&v, s + i, 8);
      acc |= rl_special8(v);
    }
    __builtin_memcpy(&v, s + n - 8, 8);
    return (acc | rl_special8(v)) == 0;
  }
  if (n >= 4) {
    uint32_t a, z;
    __builtin_memcpy(&a, s, 4);
    __builtin_memcpy(&z, s + n - 4, 4);
    return rl_special8((uint64_t)a | (uint64_t)z << 32) == 0;
  }
#endif
  unsigned acc = 0;
  for (size_t i = 0; i < n; i++)
    acc |= roster__log_cls[(unsigned char)s[i]];
  return acc == 0;
}

/* rl_put_quoted appends "s" for a plain s (rl_plain). */
static inline void rl_put_quoted(rl_buf *b, const char *s, size_t n) {
  if (rl_buf_reserve(b, n + 2)) {
    char *o = b->p + b->len;
    o[0] = '"';
    rl_copy(o + 1, s, n);
    o[n + 1] = '"';
    b->len += n + 2;
  }
}

/* rl_put_str: roster__log_put_str_slow with the common case (short, plain
 * ASCII: most keys and values) inline. */
static inline void rl_put_str(rl_buf *b, const char *s, size_t n) {
  if (n <= 64 && rl_plain(s, n))
    rl_put_quoted(b, s, n);
  else
    roster__log_put_str_slow(b, s, n);
}
/* roster__log_put_int / roster__log_put_uint / roster__log_put_double append a
 * JSON number (a double that is not finite is null). */
void roster__log_put_int(rl_buf *b, int64_t v);
void roster__log_put_uint(rl_buf *b, uint64_t v);
void roster__log_put_double(rl_buf *b, double d);
/* roster__log_put_fields appends ,"key":value for each field. */
void roster__log_put_fields(rl_buf *b, const roster_log_field *f, size_t n);
/* roster__log_now_ms: CLOCK_REALTIME in milliseconds. */
int64_t roster__log_now_ms(void);
/* roster__log_pid: the process id, refreshed in a forked child. */
int roster__log_pid(void);

/* ---- sinks (log_sink.c) --------------------------------------------- */

#define RL_BATCH 65536 /* writer thread: bytes buffered per fd sink */

typedef struct rl_sink {
  uint64_t id;
  roster_log_sink_kind kind;
  int level;
  int fd;     /* stdout/stderr/FD: the caller's; FILE, JOURNALD:
                 owned (FILE's is replaced in place by reopen) */
  char *path; /* FILE: the file; JOURNALD: the socket */
  roster_log_line_fn fn;
  void *arg;
  void (*free_arg)(void *arg);
  char *batch; /* writer thread only: pending bytes */
  size_t blen;
} rl_sink;

/* rl_set: an immutable snapshot of the sinks, swapped whole on change. */
typedef struct rl_set {
  size_t n;
  rl_sink *s[];
} rl_set;

/* roster__log_sink_open makes a sink from its description (opens the file or
 * the journald socket). NULL on error with the detail set. */
rl_sink *roster__log_sink_open(const roster_log_sink *d);
/* roster__log_sink_close closes what the sink owns, runs free_arg, frees it. */
void roster__log_sink_close(rl_sink *s);
/* roster__log_sink_line writes one line (line[len-1] is '\n', the buffer is
 * writable) now. Returns 0 or -1 on a failed write. */
int roster__log_sink_line(rl_sink *s, int level, char *line, size_t len);
/* roster__log_sink_batch_line appends the line to the sink's batch (fd sinks),
 * writing the batch first when full; other kinds write at once. */
int roster__log_sink_batch_line(rl_sink *s, int level, char *line, size_t len);
/* roster__log_sink_flush_batch writes the sink's pending batch. */
int roster__log_sink_flush_batch(rl_sink *s);
/* roster__log_sink_reopen reopens a FILE sink's path onto its descriptor. */
int roster__log_sink_reopen(rl_sink *s);
/* roster__log_journald_send: the JOURNALD sink's write (log_journald.c). */
int roster__log_journald_send(rl_sink *s, int level, const char *line,
                              size_t len);
int roster__log_journald_open(rl_sink *s, const char *path);

/* ---- the core ------------------------------------------------------- */

typedef struct rl_queue rl_queue;
typedef struct rl_attach rl_attach;
typedef struct rl_shard rl_shard;

typedef struct rl_core {
  pthread_mutex_t mu; /* sinks changes, the children tree,
                         levels, attachments */
  uint64_t serial;    /* unique per core in the process */
  _Atomic(rl_set *) sinks;
  atomic_uint epoch;       /* nested sink uses: two-phase counters */
  atomic_ullong enters[2]; /* uses of the sink set begun, per epoch */
  atomic_ullong exits[2];  /* ... and ended */
  rl_shard *shards;        /* RL_SHARDS + 1: sync lines per slot */
  uint64_t next_sink_id;
  char *fixed; /* ,"hostname":"...",["name":"..."] */
  size_t fixed_len;
  int pid;               /* the process that made the core */
  rl_queue *q;           /* async, else NULL */
  atomic_ullong written; /* async: lines the writer handed over */
  atomic_ullong dropped, errors;
  uint64_t sighup_id;  /* signal watch, or 0 */
  rl_attach *attached; /* roster_log_attach records, under mu */
} rl_core;

struct roster_log {
  roster__log_head head; /* effective level, atomic; must be first */
  rl_core *core;
  roster_log *parent; /* NULL for the root */
  atomic_uint refs;
  int own_level;                   /* 0: follow the parent; under core->mu */
  roster_log *child, *next, *prev; /* children tree, under core->mu */
  size_t bound_len;                /* ,"k":v,... for this logger (parent's
                                      bound fields included) */
  char bound[];
};

/* Thread-local: the core whose sinks this thread is writing to now (sync
 * delivery, or the writer thread). A line logged to that core from a sink
 * callback is ignored instead of recursing or deadlocking. */
extern _Thread_local ROSTER__TLS rl_core *roster__log_tl_emitting;

/* ---- sink readers (log_readers.c) ------------------------------------
 * A use of a core's sink set (one line in sync mode, one round of the
 * writer) is bracketed by rl_sinks_enter/exit; a change of the set waits
 * (roster__log_sinks_wait) until no use that might see the old set is left.
 * Each thread owns a reader slot (registered on its first line, recycled when
 * it exits): entering bumps the slot's sequence to odd (one atomic add on
 * a line no other thread writes, which also orders it before the load of
 * the set), leaving bumps it to even with a plain release store. A changer
 * swaps the set, then waits, for every slot that is odd on this core, for
 * its sequence to move. A use nested in another (a sink callback logging
 * to another logger) falls back to two-phase enter/exit counters in the
 * core. Sync lines are counted per slot, in the core's shard for that
 * slot: a plain load and store, no shared atomic add. */

#define RL_SHARDS 64

typedef struct rl_rslot {
  atomic_ullong seq;       /* odd while its thread uses a sink set */
  _Atomic(rl_core *) core; /* which core's set; set before seq goes odd */
  atomic_bool used;        /* owned by a live thread */
  unsigned shard;          /* its counter shard, or RL_SHARDS (shared) */
  struct rl_rslot *next;   /* the process-wide list; never shrinks */
} rl_rslot;

struct rl_shard {
  atomic_ullong lines;
  char pad[56]; /* one shard per cache line */
};

typedef struct rl_use {
  rl_rslot *slot; /* NULL: the core's counters were used */
  uint64_t seq;   /* the slot's (odd) sequence during the use */
  unsigned e;     /* the counters' epoch */
} rl_use;

extern _Thread_local ROSTER__TLS rl_rslot *roster__log_my_slot;
/* roster__log_slot_claim registers the calling thread's slot (NULL if out of
 * memory: the counters are used instead). */
rl_rslot *roster__log_slot_claim(void);
void roster__log_sinks_wait(rl_core *c);

static inline rl_set *rl_sinks_enter(rl_core *c, rl_use *u) {
  rl_rslot *s = roster__log_my_slot;
  if (RL_UNLIKELY(!s))
    s = roster__log_slot_claim();
  if (RL_LIKELY(s)) {
    uint64_t q = atomic_load_explicit(&s->seq, memory_order_relaxed);
    if (RL_LIKELY(!(q & 1))) {
      atomic_store_explicit(&s->core, c, memory_order_release);
      /* seq_cst: ordered before the load of the set, against the
       * changer's seq_cst swap of the set and load of seq */
      atomic_fetch_add_explicit(&s->seq, 1, memory_order_seq_cst);
      u->slot = s;
      u->seq = q + 1;
      u->e = 0;
      return atomic_load_explicit(&c->sinks, memory_order_seq_cst);
    }
  }
  u->slot = NULL;
  u->e = atomic_load(&c->epoch) & 1u;
  atomic_fetch_add(&c->enters[u->e], 1);
  return atomic_load(&c->sinks);
}

static inline void rl_sinks_exit(rl_core *c, const rl_use *u) {
  if (RL_LIKELY(u->slot != NULL))
    atomic_store_explicit(&u->slot->seq, u->seq + 1, memory_order_release);
  else
    atomic_fetch_add_explicit(&c->exits[u->e], 1, memory_order_release);
}

/* rl_count_line counts one sync line for the stats. */
static inline void rl_count_line(rl_core *c, const rl_use *u) {
  if (RL_LIKELY(u->slot && u->slot->shard < RL_SHARDS)) {
    atomic_ullong *p = &c->shards[u->slot->shard].lines; /* single writer */
    atomic_store_explicit(p, atomic_load_explicit(p, memory_order_relaxed) + 1,
                          memory_order_relaxed);
  } else {
    atomic_fetch_add_explicit(&c->shards[RL_SHARDS].lines, 1,
                              memory_order_relaxed);
  }
}

/* roster__log_deliver_sync writes a finished line (ending in '\n') to every
 * sink whose level admits it, on the calling thread. */
int roster__log_deliver_sync(rl_core *c, int level, char *line, size_t len);
/* roster__log_format_record writes a line of the root (no bound fields) into b:
 * the writer's "dropped N lines" record. */
void roster__log_format_record(rl_core *c, rl_buf *b, int level,
                               const char *msg, const roster_log_field *f,
                               size_t n);

/* ---- async (log_queue.c) -------------------------------------------- */

rl_queue *roster__log_queue_new(rl_core *c, size_t lines, bool block,
                                int64_t report_ms);
/* roster__log_queue_free drains the queue, writes the last records, stops and
 * joins the writer thread. */
void roster__log_queue_free(rl_queue *q);
/* roster__log_queue_push hands a finished line to the writer. ROSTER_OK,
 * ROSTER_EBUSY (dropped) or ROSTER_ENOMEM. */
int roster__log_queue_push(rl_queue *q, int level, const char *line,
                           size_t len);
int roster__log_queue_flush(rl_queue *q);
uint64_t roster__log_queue_depth(rl_queue *q);

/* ---- levels --------------------------------------------------------- */

static inline bool rl_level_valid(int level) {
  return level >= ROSTER_LOG_TRACE && level <= ROSTER_LOG_FATAL &&
         level % 10 == 0;
}

/* ---- shared helpers (log.c) ----------------------------------------- */

/* roster__log_log_ref takes one more handle on log (roster_log_free drops it).
 */
void roster__log_log_ref(roster_log *log);

#endif /* ROSTER_LOG_IMPL_H */
