/*
 * log_queue.c: async mode: a bounded wait-free queue of finished lines and
 * the one writer thread that empties it into the sinks.
 *
 * The queue is a ring of fixed 512-byte slots (a line that does not fit
 * inline is copied to the heap first), written here rather than built on
 * liburcu's wfcqueue: wfcqueue needs a node allocated per line and gives
 * no bound of its own, while a ring allocates once and the bound falls out
 * of the slot count. A producer takes a unit of a counting semaphore
 * (count: one fetch_add; over capacity it gives the unit back and drops or
 * waits), then a ticket (tail: one fetch_add) that names its slot, copies
 * the line in and sets the slot's ready flag. No loop, no CAS, no lock:
 * wait-free, and the slot is always free, because count never lets more
 * than cap tickets be unconsumed. The writer consumes tickets in order
 * (so each thread's lines stay in order), waits at a slot whose producer
 * has not finished copying, and gives the semaphore back after each round.
 *
 * The writer sleeps on a futex word when the queue is empty; a producer
 * wakes it only if it is asleep (Dekker-style: both sides store, then load,
 * sequentially consistent). Each round copies up to 1024 lines into per-sink
 * buffers and writes each buffer with one write(2), so the writer makes far
 * fewer system calls than sync mode. Drops are counted by the producers;
 * the writer writes a "dropped N lines" warning at most once per
 * drop_report_ms, and at once for a flush or at the end.
 */
#include "log_impl.h"

#include <errno.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SLOT_SIZE 512
#define ROUND_MAX 1024
#define NAP_NS 1000000 /* the writer's nap after a busy round: 1 ms */

/* the writer's futex word */
enum { SLEEP_AWAKE = 0, SLEEP_DEEP = 1, SLEEP_NAP = 2 };

typedef struct rl_slot {
  atomic_int ready; /* 1: the producer finished; the writer owns it */
  int level;
  uint32_t len;
  char *heap; /* the line, if longer than data */
  char data[SLOT_SIZE - 16 - sizeof(char *)];
} rl_slot;
_Static_assert(sizeof(rl_slot) == SLOT_SIZE, "a slot is 512 bytes");

struct rl_queue {
  rl_core *core;
  rl_slot *slots;
  size_t cap, mask;
  bool block;
  int64_t report_ns;
  char pad0[64];
  atomic_ullong tail; /* next ticket (producers) */
  char pad1[64];
  atomic_size_t count; /* semaphore: tickets taken and not given back */
  char pad2[64];
  uint64_t head;          /* writer only: next ticket to consume */
  atomic_ullong done;     /* tickets written to the sinks */
  atomic_ullong reported; /* drops reported in a record */
  atomic_uint sleeping;   /* futex word: SLEEP_* */
  atomic_int stop;
  atomic_uint space_waiters, flush_waiters;
  pthread_mutex_t mu;
  pthread_cond_t space_cv, done_cv;
  pthread_t thread;
};

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void futex_wait(atomic_uint *w, unsigned val, int64_t rel_ns) {
  struct timespec ts, *tp = NULL;
  if (rel_ns >= 0) {
    ts.tv_sec = rel_ns / 1000000000;
    ts.tv_nsec = rel_ns % 1000000000;
    tp = &ts;
  }
  syscall(SYS_futex, (unsigned *)w, FUTEX_WAIT_PRIVATE, val, tp, NULL, 0);
}

static void futex_wake(atomic_uint *w) {
  syscall(SYS_futex, (unsigned *)w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* wake_writer wakes the writer from a nap or a sleep. */
static void wake_writer(rl_queue *q) {
  if (atomic_load(&q->sleeping) &&
      atomic_exchange(&q->sleeping, SLEEP_AWAKE) != SLEEP_AWAKE)
    futex_wake(&q->sleeping);
}

/* wake_after_push: a sleeping writer is woken by any line, a napping one
 * only once the queue is half full (it wakes by itself within NAP_NS). */
static void wake_after_push(rl_queue *q, size_t depth) {
  unsigned s = atomic_load(&q->sleeping);
  if (s == SLEEP_DEEP || (s == SLEEP_NAP && depth >= q->cap / 2))
    wake_writer(q);
}

static bool head_ready(rl_queue *q) {
  return atomic_load(&q->slots[q->head & q->mask].ready) != 0;
}

static void deliver(rl_set *set, int level, char *line, size_t len,
                    rl_core *c) {
  for (size_t i = 0; i < set->n; i++) {
    rl_sink *s = set->s[i];
    if (level >= s->level &&
        roster__log_sink_batch_line(s, level, line, len) != 0)
      atomic_fetch_add_explicit(&c->errors, 1, memory_order_relaxed);
  }
}

/* round consumes up to ROUND_MAX lines, writes a drop record if one is
 * due (or forced), and writes every sink's buffer. Returns lines taken. */
static size_t round_once(rl_queue *q, bool force_report, int64_t *last_report) {
  rl_core *c = q->core;
  rl_use u;
  rl_set *set = rl_sinks_enter(c, &u);
  size_t n = 0;
  while (n < ROUND_MAX) {
    rl_slot *s = &q->slots[q->head & q->mask];
    if (!atomic_load_explicit(&s->ready, memory_order_acquire))
      break;
    char *line = s->heap ? s->heap : s->data;
    deliver(set, s->level, line, s->len, c);
    if (s->heap) {
      roster_mem_free(s->heap);
      s->heap = NULL;
    }
    atomic_store_explicit(&s->ready, 0, memory_order_relaxed);
    q->head++;
    n++;
  }
  uint64_t dropped = atomic_load(&c->dropped);
  uint64_t reported = atomic_load(&q->reported);
  int64_t now = mono_ns();
  if (dropped > reported &&
      (force_report || now - *last_report >= q->report_ns)) {
    char msg[64], stack[512];
    snprintf(msg, sizeof msg, "dropped %llu lines",
             (unsigned long long)(dropped - reported));
    roster_log_field f[] = {
        ROSTER_LOG_INT("dropped", (int64_t)(dropped - reported))};
    rl_buf b;
    roster__log_buf_init(&b, stack, sizeof stack);
    roster__log_format_record(c, &b, ROSTER_LOG_WARN, msg, f, 1);
    if (!b.oom)
      deliver(set, ROSTER_LOG_WARN, b.p, b.len, c);
    roster__log_buf_fini(&b);
    *last_report = now;
  } else {
    dropped = reported;
  }
  for (size_t i = 0; i < set->n; i++)
    if (set->s[i]->blen && roster__log_sink_flush_batch(set->s[i]) != 0)
      atomic_fetch_add_explicit(&c->errors, 1, memory_order_relaxed);
  rl_sinks_exit(c, &u);
  if (n) {
    atomic_fetch_add_explicit(&c->written, n, memory_order_relaxed);
    atomic_fetch_sub_explicit(&q->count, n, memory_order_release);
  }
  atomic_store(&q->reported, dropped);
  atomic_store(&q->done, q->head);
  if (n && atomic_load(&q->space_waiters)) {
    pthread_mutex_lock(&q->mu);
    pthread_cond_broadcast(&q->space_cv);
    pthread_mutex_unlock(&q->mu);
  }
  if (atomic_load(&q->flush_waiters)) {
    pthread_mutex_lock(&q->mu);
    pthread_cond_broadcast(&q->done_cv);
    pthread_mutex_unlock(&q->mu);
  }
  return n;
}

static void *writer_main(void *arg) {
  rl_queue *q = arg;
  rl_core *c = q->core;
  roster__log_tl_emitting =
      c; /* lines its sinks log to this tree are ignored */
  int64_t last_report = mono_ns() - q->report_ns;
  for (;;) {
    bool stopping = atomic_load(&q->stop) != 0;
    bool flushing = atomic_load(&q->flush_waiters) != 0;
    size_t n = round_once(q, stopping || flushing, &last_report);
    if (n == ROUND_MAX)
      continue;
    if (stopping && q->head == atomic_load(&q->tail))
      break; /* no producer is left: every ticket is consumed */
    /* After a round that wrote lines the writer naps (at most NAP_NS;
     * producers wake it early only for a half-full queue), so a busy
     * producer does not pay a futex wake per round; idle, it sleeps until
     * the next line. */
    unsigned mode = n ? SLEEP_NAP : SLEEP_DEEP;
    atomic_store(&q->sleeping, mode);
    bool pending = atomic_load(&c->dropped) > atomic_load(&q->reported);
    bool ready = head_ready(q);
    bool urgent =
        atomic_load(&q->stop) ||
        (atomic_load(&q->flush_waiters) && (ready || pending)) ||
        (ready && (mode == SLEEP_DEEP || atomic_load(&q->count) >= q->cap / 2));
    if (urgent) {
      atomic_store(&q->sleeping, SLEEP_AWAKE);
      continue;
    }
    int64_t wait = mode == SLEEP_NAP ? NAP_NS : -1;
    if (pending) {
      int64_t due = last_report + q->report_ns - mono_ns();
      if (due < 0)
        due = 0;
      if (wait < 0 || due < wait)
        wait = due;
    }
    if (wait != 0)
      futex_wait(&q->sleeping, mode, wait);
    atomic_store(&q->sleeping, SLEEP_AWAKE);
  }
  return NULL;
}

rl_queue *roster__log_queue_new(rl_core *c, size_t lines, bool block,
                                int64_t report_ms) {
  size_t cap = 1;
  while (cap < lines)
    cap <<= 1;
  rl_queue *q = roster_mem_calloc(1, sizeof *q);
  rl_slot *slots = q ? roster_mem_calloc(cap, sizeof *slots) : NULL;
  if (!slots) {
    roster_mem_free(q);
    roster_error_set(ROSTER_ENOMEM,
                     "log: out of memory for a queue of %zu "
                     "lines",
                     cap);
    return NULL;
  }
  q->core = c;
  q->slots = slots;
  q->cap = cap;
  q->mask = cap - 1;
  q->block = block;
  q->report_ns = report_ms * 1000000;
  pthread_mutex_init(&q->mu, NULL);
  roster__cond_init_mono(&q->space_cv);
  roster__cond_init_mono(&q->done_cv);
  if (roster__thread_start(&q->thread, "roster-log", false, writer_main, q)) {
    roster__err_wrap(ROSTER_ESYS, "log: cannot start the writer thread");
    pthread_cond_destroy(&q->space_cv);
    pthread_cond_destroy(&q->done_cv);
    pthread_mutex_destroy(&q->mu);
    roster_mem_free(slots);
    roster_mem_free(q);
    return NULL;
  }
  return q;
}

void roster__log_queue_free(rl_queue *q) {
  if (q->core->pid == roster__log_pid()) {
    atomic_store(&q->stop, 1);
    atomic_store(&q->sleeping, SLEEP_AWAKE);
    futex_wake(&q->sleeping);
    pthread_join(q->thread, NULL);
  } /* else: a forked child, where the writer thread does not exist */
  for (size_t i = 0; i < q->cap; i++)
    roster_mem_free(q->slots[i].heap);
  pthread_cond_destroy(&q->space_cv);
  pthread_cond_destroy(&q->done_cv);
  pthread_mutex_destroy(&q->mu);
  roster_mem_free(q->slots);
  roster_mem_free(q);
}

/* wait_space parks a producer (block mode) until the writer gives slots
 * back. The 100 ms re-check is only a guard: every give-back broadcasts. */
static void wait_space(rl_queue *q) {
  pthread_mutex_lock(&q->mu);
  atomic_fetch_add(&q->space_waiters, 1);
  while (atomic_load(&q->count) >= q->cap) {
    struct timespec ts = roster__mono_after(100);
    pthread_cond_timedwait(&q->space_cv, &q->mu, &ts);
  }
  atomic_fetch_sub(&q->space_waiters, 1);
  pthread_mutex_unlock(&q->mu);
}

int roster__log_queue_push(rl_queue *q, int level, const char *line,
                           size_t len) {
  char *heap = NULL;
  if (len > UINT32_MAX)
    return roster_error_set(ROSTER_ENOMEM,
                            "log: a line of %zu bytes is "
                            "over the queue's 4 GiB limit",
                            len);
  if (len > sizeof q->slots[0].data) {
    heap = roster_mem_alloc(len);
    if (!heap)
      return roster_error_set(ROSTER_ENOMEM,
                              "log: out of memory for a "
                              "line of %zu bytes",
                              len);
    memcpy(heap, line, len);
  }
  size_t depth;
  while ((depth = atomic_fetch_add(&q->count, 1)) >= q->cap) {
    atomic_fetch_sub(&q->count, 1);
    wake_writer(q); /* full: the writer must not nap now */
    if (!q->block) {
      atomic_fetch_add_explicit(&q->core->dropped, 1, memory_order_relaxed);
      roster_mem_free(heap);
      return roster_error_set(ROSTER_EBUSY,
                              "log: the queue is full (%zu "
                              "lines); the line is dropped",
                              q->cap);
    }
    wait_space(q);
  }
  uint64_t t = atomic_fetch_add(&q->tail, 1);
  rl_slot *s = &q->slots[t & q->mask];
  s->level = level;
  s->len = (uint32_t)len;
  s->heap = heap;
  if (!heap)
    memcpy(s->data, line, len);
  atomic_store(&s->ready, 1);
  wake_after_push(q, depth + 1);
  return ROSTER_OK;
}

int roster__log_queue_flush(rl_queue *q) {
  uint64_t target = atomic_load(&q->tail);
  uint64_t drops = atomic_load(&q->core->dropped);
  pthread_mutex_lock(&q->mu);
  atomic_fetch_add(&q->flush_waiters, 1);
  wake_writer(q); /* a pending drop record is written now, not when due */
  while (atomic_load(&q->done) < target || atomic_load(&q->reported) < drops)
    pthread_cond_wait(&q->done_cv, &q->mu);
  atomic_fetch_sub(&q->flush_waiters, 1);
  pthread_mutex_unlock(&q->mu);
  return ROSTER_OK;
}

uint64_t roster__log_queue_depth(rl_queue *q) {
  size_t n = atomic_load(&q->count);
  return n > q->cap ? q->cap : n;
}
