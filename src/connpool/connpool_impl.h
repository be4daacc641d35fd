/*
 * connpool_impl.h: the connection pool's private structures and the
 * helpers shared by connpool.c (new, free, acquire, release, stats) and
 * connpool_maint.c (the maintenance thread, leak reports, drain).
 *
 * One mutex (mu) guards everything in struct roster_pool after
 * roster_pool_new returns, except what never changes (ops, options, name).
 * Every helper here is called with mu held unless its name says unlocked.
 */
#ifndef ROSTER_CONNPOOL_IMPL_H
#define ROSTER_CONNPOOL_IMPL_H

#include "base/base.h"

#include "roster/pool.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_MS ((int64_t)1000000)
#define YEAR_MS ((int64_t)365 * 24 * 3600 * 1000)

enum { S_FREE, S_IDLE, S_USED, S_RESET }; /* slot states */
#define CP_FAST_DRAIN 0x80000000u         /* fast_block: the pool drains */

/* roster__cp_site: who acquired a connection. file and func are the
 * caller's static strings. */
typedef struct roster__cp_site {
  const char *file, *func;
  int line;
  int64_t tid; /* gettid() */
} roster__cp_site;

/* roster__cp_slot: one connection (or a free slot). One or two cache
 * lines of its own, so threads that each keep a connection through the
 * fast path (below) do not share a line.
 *
 * The fast path. A pool without a reset operation and without a leak
 * threshold lets a thread release the connection it acquired last without
 * taking mu: the release "parks" it (parked 0 -> 1), leaving the slot
 * S_USED and counted in in_use, and the same thread's next acquire takes
 * it back (parked 1 -> 0) without mu either. A parked connection is idle
 * in every other sense: stats count it as idle, and anyone holding mu may
 * claim it (the same exchange) and put it back in the books
 * (roster__cp_unpark): an acquire that finds nothing in the idle list, the
 * maintenance pass (so idle timeouts and lifetimes see it), a drain.
 *
 * No connection stays parked while someone waits. A thread about to queue
 * first adds one to fast_block and then looks for parked slots; a release
 * parks first and then reads fast_block, and if it is not 0 claims its
 * connection back and releases it under mu (a hand-off). All of these are
 * sequentially consistent, so at least one side sees the other.
 *
 * any_parked lets a look for parked slots skip the scan: a release sets it
 * after parking if it reads 0 (so in the steady state it is only read, and
 * threads each on their own connection share no written line), and only a
 * scan under mu clears it, before scanning, setting it again if it leaves
 * a slot parked. Every look for parked slots holds mu, so none sees it
 * cleared mid-scan; and a slot parked during a scan sets it again. */
typedef struct roster__cp_slot {
  _Alignas(64) void *conn;
  struct roster__cp_slot *prev, *next; /* idle list; next also links the
                                          free list */
  int64_t expires;                     /* pool clock ns; INT64_MAX: never */
  /* idle since, or acquired at (pool clock ns); atomic (relaxed) because a
   * holder on the fast path writes it without mu; see roster__cp_since.
   * A parked slot keeps its acquire time (see roster__cp_parked_since) */
  _Atomic int64_t since;
  /* the holder, while in use (a roster__cp_site, atomic for the same
   * reason); see roster__cp_site_get */
  _Atomic(const char *) who_file, who_func;
  _Atomic int who_line;
  _Atomic int64_t who_tid;
  _Atomic int parked;        /* 1: released on the fast path, idle */
  _Atomic(void *) owner;     /* the holding thread's fast-path record,
                                cleared by a release under mu: a thread
                                parks only a connection it still holds */
  _Atomic uint64_t fast_acq; /* acquires through the fast path, not yet
                                in st (folded in when the slot is freed) */
  uint8_t state;             /* S_* */
  bool leak_reported;        /* this acquisition was reported */
} roster__cp_slot;

static inline int64_t roster__cp_since(const roster__cp_slot *s) {
  return atomic_load_explicit(&s->since, memory_order_relaxed);
}
static inline void roster__cp_since_set(roster__cp_slot *s, int64_t v) {
  atomic_store_explicit(&s->since, v, memory_order_relaxed);
}
static inline void roster__cp_site_set(roster__cp_slot *s,
                                       const roster__cp_site *w) {
  atomic_store_explicit(&s->who_file, w->file, memory_order_relaxed);
  atomic_store_explicit(&s->who_func, w->func, memory_order_relaxed);
  atomic_store_explicit(&s->who_line, w->line, memory_order_relaxed);
  atomic_store_explicit(&s->who_tid, w->tid, memory_order_relaxed);
}
static inline roster__cp_site roster__cp_site_get(const roster__cp_slot *s) {
  roster__cp_site w = {atomic_load_explicit(&s->who_file, memory_order_relaxed),
                       atomic_load_explicit(&s->who_func, memory_order_relaxed),
                       atomic_load_explicit(&s->who_line, memory_order_relaxed),
                       atomic_load_explicit(&s->who_tid, memory_order_relaxed)};
  return w;
}

typedef enum { W_WAITING, W_CONN, W_PERMIT, W_DRAIN } roster__cp_wstate;

/* roster__cp_waiter: a queued acquire, on the acquiring thread's stack.
 * It sleeps on its own futex word, state. Whoever serves it pops it from
 * the queue and sets state away from W_WAITING under mu (a release store)
 * and then wakes it; from that store on, w belongs to its thread again.
 * For W_CONN the server has done all of the acquire's bookkeeping, so the
 * woken thread returns the connection without taking mu.
 *
 * Why a futex and not a condition variable per waiter: a condition
 * variable's waiter must retake the pool's mutex on waking, which under
 * contention is one more sleep and wake per hand-off; a futex word lets it
 * return at once. */
typedef struct roster__cp_waiter {
  struct roster__cp_waiter *next;
  _Atomic int state;   /* roster__cp_wstate */
  roster__cp_slot *s;  /* W_CONN: the connection handed over, taken */
  roster__cp_site who; /* recorded into the slot by whoever hands it over */
  int64_t t0;          /* CLOCK_MONOTONIC ns when it queued */
} roster__cp_waiter;

struct roster_pool {
  pthread_mutex_t mu;
  pthread_cond_t maint_cv; /* wakes the maintenance thread (monotonic) */
  pthread_cond_t drain_cv; /* wakes drainers when the pool goes quiet */
  char name[ROSTER_POOL_NAME_MAX + 1];
  const roster_pool_ops *ops;
  void *arg;
  void (*free_arg)(void *);
  roster_pool_leak_fn leak_fn;
  void *leak_arg;
  roster_pool_clock_fn clock;
  void *clock_arg;
  unsigned min_idle, max_size;
  int64_t acquire_timeout_ms; /* -1: no limit */
  int64_t idle_timeout;       /* ns; -1: never */
  int64_t lifetime;           /* ns; -1: no limit */
  int64_t validate_after;     /* ns; -1: never */
  int64_t leak_threshold;     /* ns; 0: off */
  int64_t maint_ms;           /* maintenance pass interval */
  uint64_t id; /* unique per pool in the process (the fast path's key) */
  bool fast;   /* the fast path is on: no reset, no leak threshold */
  /* slots */
  roster__cp_slot *slots; /* max_size of them, 64-byte aligned in slots_mem */
  void *slots_mem;
  roster__cp_slot *free_slots;
  roster__cp_slot *idle_head, *idle_tail; /* most recently released first */
  uint32_t *map; /* conn -> slot index + 1 (0: empty) */
  uint32_t map_mask;
  /* counts */
  unsigned size; /* connections open (idle + in use) */
  unsigned nidle;
  unsigned in_use;   /* held, or being validated or reset */
  unsigned pending;  /* connects running, or permits to connect given */
  unsigned nclosing; /* closes running with mu dropped */
  unsigned nacq;     /* threads inside roster_pool_acquire_at */
  unsigned nwaiters;
  roster__cp_waiter *wq_head, *wq_tail;
  uint64_t rng;      /* xorshift64 state for lifetime jitter */
  bool draining;     /* roster_pool_drain (or free) has begun */
  bool stop;         /* the maintenance thread must end */
  bool freed;        /* roster_pool_free is done with the pool */
  bool destroying;   /* somebody is freeing the memory */
  bool refill_asked; /* the maintenance thread should refill now */
  pthread_t maint;
  roster_pool_stats st; /* counters only; gauges are filled on read */
  /* the fast path (see roster__cp_slot), outside mu; each on a cache line
   * of its own (padding: the pool comes from malloc, not aligned to 64) */
  char pad0_[64];
  _Atomic unsigned fast_block; /* threads about to queue, + CP_FAST_DRAIN */
  char pad1_[64];
  _Atomic bool any_parked; /* maybe a slot is parked (see above) */
  /* pool clock ns, read by the last maintenance pass before it claimed
   * every parked slot: a slot parked now was released after it */
  _Atomic int64_t parked_floor;
  char pad2_[64];
  _Atomic uint64_t wakeups; /* waiter wake-ups, for tests */
  uint64_t passes;          /* maintenance passes, for tests */
};

static inline int64_t roster__cp_mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* roster__cp_now: the clock connection ages are measured in. Ages need
 * milliseconds, not nanoseconds, so the default is CLOCK_MONOTONIC_COARSE
 * (the last tick, 1-4 ms old, read in ~5 ns instead of ~18: the fast path
 * reads it twice per acquire + release). */
static inline int64_t roster__cp_now(const roster_pool *p) {
  if (p->clock)
    return p->clock(p->clock_arg);
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* roster__cp_parked_since: the earliest a parked slot can have been
 * released, which its idle time counts from. A release on the fast path
 * reads no clock (that is a third of an uncontended acquire + release),
 * so the slot knows only when it was taken (since) and that it was parked
 * after the last maintenance pass began (parked_floor). The idle time is
 * never under-counted, so validate_after never lets a connection through
 * unchecked; it is over-counted by the holding time, at most one
 * maintenance period. */
static inline int64_t roster__cp_parked_since(const roster_pool *p,
                                              const roster__cp_slot *s) {
  int64_t since = roster__cp_since(s),
          floor = atomic_load_explicit(&p->parked_floor, memory_order_relaxed);
  return since > floor ? since : floor;
}

static inline struct timespec roster__cp_ts(int64_t ns) {
  struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
  return ts;
}

static inline void roster__cp_idle_unlink(roster_pool *p, roster__cp_slot *s) {
  if (s->prev)
    s->prev->next = s->next;
  else
    p->idle_head = s->next;
  if (s->next)
    s->next->prev = s->prev;
  else
    p->idle_tail = s->prev;
  s->prev = s->next = NULL;
  p->nidle--;
}

static inline roster__cp_waiter *roster__cp_wq_pop(roster_pool *p) {
  roster__cp_waiter *w = p->wq_head;
  if (w) {
    p->wq_head = w->next;
    if (!p->wq_head)
      p->wq_tail = NULL;
    w->next = NULL;
    p->nwaiters--;
  }
  return w;
}

/* roster__cp_futex_wake wakes a thread sleeping on the futex word at addr.
 * The word may already be gone (its waiter saw the new state without
 * sleeping and returned): a wake that reaches whatever lives there now is
 * a spurious wake-up, which every futex user tolerates. */
static inline void roster__cp_futex_wake(_Atomic int *addr) {
  syscall(SYS_futex, (int *)addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* roster__cp_serve ends w's wait with state (under mu). w must not be
 * touched afterwards except by roster__cp_futex_wake. */
static inline _Atomic int *roster__cp_serve(roster__cp_waiter *w, int state) {
  _Atomic int *addr = &w->state;
  atomic_store_explicit(addr, state, memory_order_release);
  return addr;
}

/* roster__cp_give_permit: a slot came free; the head waiter, if any, is
 * woken to connect (counted in pending from now). */
static inline void roster__cp_give_permit(roster_pool *p) {
  if (p->draining || !p->wq_head || p->size + p->pending >= p->max_size)
    return;
  roster__cp_waiter *w = roster__cp_wq_pop(p);
  p->pending++;
  roster__cp_futex_wake(roster__cp_serve(w, W_PERMIT));
}

/* roster__cp_settle: call after anything that can make the pool quiet. It
 * wakes drainers, and returns true if the caller is the last one out of a
 * freed pool and must call roster__cp_destroy after unlocking. */
static inline bool roster__cp_quiet(const roster_pool *p) {
  return !p->in_use && !p->pending && !p->nclosing && !p->nacq && !p->nidle;
}
static inline bool roster__cp_settle(roster_pool *p) {
  if (!p->draining || !roster__cp_quiet(p))
    return false;
  pthread_cond_broadcast(&p->drain_cv);
  if (p->freed && !p->destroying) {
    p->destroying = true;
    return true;
  }
  return false;
}

/* roster__cp_close_unlocked closes conn (retired, so counted in nclosing)
 * with mu dropped, and retakes mu. */
static inline void roster__cp_close_unlocked(roster_pool *p, void *conn) {
  pthread_mutex_unlock(&p->mu);
  p->ops->close(p->arg, conn);
  pthread_mutex_lock(&p->mu);
  p->nclosing--;
}

/* connpool.c */
/* roster__cp_slot_add puts a new connection in a free slot (size + pending
 * counted it) with its jittered lifetime; not yet idle nor in use. */
roster__cp_slot *roster__cp_slot_add(roster_pool *p, void *conn, int64_t now);
/* roster__cp_retire takes s (in no list) out of the pool for closing and
 * returns its connection; counted in nclosing until closed. */
void *roster__cp_retire(roster_pool *p, roster__cp_slot *s);
/* roster__cp_unpark puts s, just claimed from the parked state by the
 * caller (who holds mu), back in the pool's books as a released
 * connection: closed if the pool drains (mu dropped and retaken), else to
 * the head waiter, or idle with its idle time kept. */
void roster__cp_unpark(roster_pool *p, roster__cp_slot *s);
/* roster__cp_claim_parked claims up to max parked slots and unparks each;
 * returns how many. May drop and retake mu (see roster__cp_unpark).
 * roster__cp_count_parked counts them (a moment's count). */
unsigned roster__cp_claim_parked(roster_pool *p, unsigned max);
unsigned roster__cp_count_parked(const roster_pool *p);
/* roster__cp_give_slot hands s to the head waiter, or makes it idle.
 * Returns the futex word to wake (after dropping mu, preferably), or
 * NULL. */
_Atomic int *roster__cp_give_slot(roster_pool *p, roster__cp_slot *s,
                                  int64_t now);
int roster__cp_err_draining(const roster_pool *p);
void roster__cp_destroy(roster_pool *p);

/* connpool_maint.c */
void *roster__cp_maint_main(void *arg);
/* roster__cp_leak_stderr: the leak report when no leak_fn is given. */
void roster__cp_leak_stderr(const roster_pool_leak *leak, void *arg);
/* roster__cp_drain_begin makes the pool draining (once), wakes the waiters
 * with W_DRAIN and closes what is idle. Takes and drops mu itself. */
void roster__cp_drain_begin(roster_pool *p);

/* roster__cp_connect opens one connection through the client's connect
 * (no pool lock held): ROSTER_ECONN when it says OK but gives none. */
int roster__cp_connect(roster_pool *p, void **conn);

/* roster__pool_wakeups: how many times the pool's waiters have woken (for
 * the fairness tests: each hand-off wakes exactly one waiter). */
uint64_t roster__pool_wakeups(roster_pool *p);
/* roster__pool_passes: how many passes the maintenance thread has made
 * (so a test can wait for one to have happened). */
uint64_t roster__pool_passes(roster_pool *p);

#endif /* ROSTER_CONNPOOL_IMPL_H */
