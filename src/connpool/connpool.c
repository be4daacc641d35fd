/*
 * connpool.c: the generic connection pool (include/roster/pool.h): new,
 * free, acquire, release and stats. The maintenance thread and drain are in
 * connpool_maint.c; the structures in connpool_impl.h.
 *
 * One mutex guards everything; no module operation or callback runs with it
 * held. Connections live in slots (a fixed array of max_size, with a free
 * list); idle slots form a doubly-linked list, most recently released at
 * the head (taken first, so spare connections age at the tail and the idle
 * timeout finds them there). A small open-addressing map from connection
 * pointer to slot lets a release find its slot and refuse a pointer the
 * pool does not have out.
 *
 * Waiters queue in FIFO order, each sleeping on a futex word on its own
 * stack. Whoever frees something hands it to the head waiter under the
 * lock and wakes that waiter alone: a released connection (W_CONN, already
 * recorded as the waiter's), or a permit to connect (W_PERMIT, counted in
 * `pending`) when a connection was closed and a slot came free. So
 * waiters exist only while nothing is idle and size + pending == max_size,
 * and nobody takes a connection past a waiter.
 *
 * The pool's memory outlives roster_pool_free while anything can still
 * touch it: connections in use, connects and closes in flight, callers
 * inside acquire. Each of those, when it ends, calls roster__cp_settle,
 * which wakes drainers when the pool is quiet and says whether this caller
 * is the last one out of a freed pool and must destroy it.
 */
#include "connpool_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <unistd.h>

/* ---- time and threads ---- */

/* The thread id (gettid) is cached per thread; a forked child's thread gets
 * a new id, so the cache is cleared in the child. */
static _Thread_local ROSTER__TLS int64_t tls_tid;
static pthread_once_t tid_once = PTHREAD_ONCE_INIT;
static void tid_reset_child(void) { tls_tid = 0; }
static void tid_init(void) { pthread_atfork(NULL, NULL, tid_reset_child); }
static inline int64_t self_tid(void) {
  if (ROSTER__UNLIKELY(!tls_tid))
    tls_tid = (int64_t)gettid();
  return tls_tid;
}

/* ---- the fast path (see roster__cp_slot in connpool_impl.h) ----
 * Each thread remembers the connection it acquired last: the pool (by id,
 * never reused, so a pointer into a freed pool is never followed), the
 * slot, and whether it still holds it. */
static _Atomic uint64_t pool_ids;
static _Thread_local ROSTER__TLS struct {
  uint64_t id;        /* the pool's id; 0: none */
  roster__cp_slot *s; /* the slot in that pool */
  void *conn;         /* its connection, while held */
  bool held;          /* acquired and not yet released */
} tl_cp;

static inline void tl_remember(const roster_pool *p, roster__cp_slot *s) {
  if (p->fast) {
    atomic_store_explicit(&s->owner, (void *)&tl_cp, memory_order_relaxed);
    tl_cp.id = p->id;
    tl_cp.s = s;
    tl_cp.conn = s->conn;
    tl_cp.held = true;
  }
}

/* ---- the connection map ----
 * Written here because the keys are pointers, the size is fixed by
 * max_size and an entry changes only when a connection is made or closed;
 * a general hash table (cds_lfht) would cost more than the lookup. */

static inline uint32_t ptr_hash(const void *ptr) {
  uint64_t x = (uint64_t)(uintptr_t)ptr;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return (uint32_t)x;
}

static roster__cp_slot *map_find(const roster_pool *p, const void *conn) {
  for (uint32_t i = ptr_hash(conn) & p->map_mask;; i = (i + 1) & p->map_mask) {
    uint32_t v = p->map[i];
    if (!v)
      return NULL;
    if (p->slots[v - 1].conn == conn)
      return &p->slots[v - 1];
  }
}

static void map_insert(roster_pool *p, roster__cp_slot *s) {
  uint32_t i = ptr_hash(s->conn) & p->map_mask;
  while (p->map[i])
    i = (i + 1) & p->map_mask;
  p->map[i] = (uint32_t)(s - p->slots) + 1;
}

/* map_remove deletes s with backward-shift deletion (no tombstones). */
static void map_remove(roster_pool *p, const roster__cp_slot *s) {
  uint32_t want = (uint32_t)(s - p->slots) + 1;
  uint32_t i = ptr_hash(s->conn) & p->map_mask;
  while (p->map[i] != want)
    i = (i + 1) & p->map_mask;
  for (uint32_t j = (i + 1) & p->map_mask; p->map[j];
       j = (j + 1) & p->map_mask) {
    uint32_t home = ptr_hash(p->slots[p->map[j] - 1].conn) & p->map_mask;
    /* Move j into the hole at i unless its home lies cyclically in (i, j]. */
    bool stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
    if (!stays) {
      p->map[i] = p->map[j];
      i = j;
    }
  }
  p->map[i] = 0;
}

/* ---- slots and the idle list (all under mu) ---- */

static void idle_push(roster_pool *p, roster__cp_slot *s) {
  s->state = S_IDLE;
  s->prev = NULL;
  s->next = p->idle_head;
  if (p->idle_head)
    p->idle_head->prev = s;
  else
    p->idle_tail = s;
  p->idle_head = s;
  p->nidle++;
}

static uint64_t rng_next(roster_pool *p) {
  uint64_t x = p->rng;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return p->rng = x;
}

roster__cp_slot *roster__cp_slot_add(roster_pool *p, void *conn, int64_t now) {
  roster__cp_slot *s = p->free_slots;
  p->free_slots = s->next;
  /* Field by field, not memset: a thread whose fast path last used this
   * slot may try its parked word at any time (and find it 0). */
  s->prev = s->next = NULL;
  s->state = S_FREE;
  s->leak_reported = false;
  roster__cp_site_set(s, &(roster__cp_site){"?", "?", 0, 0});
  atomic_store_explicit(&s->owner, NULL, memory_order_relaxed);
  s->conn = conn;
  s->expires = INT64_MAX;
  if (p->lifetime >= 0) {
    uint64_t cut = rng_next(p) % ((uint64_t)p->lifetime / 10 + 1);
    s->expires = now + p->lifetime - (int64_t)cut;
  }
  roster__cp_since_set(s, now);
  map_insert(p, s);
  p->size++;
  p->st.created++;
  return s;
}

void *roster__cp_retire(roster_pool *p, roster__cp_slot *s) {
  void *conn = s->conn;
  uint64_t fast = atomic_load_explicit(&s->fast_acq, memory_order_relaxed);
  if (fast) {
    p->st.acquires += fast;
    p->st.wait_hist[0] += fast;
    atomic_store_explicit(&s->fast_acq, 0, memory_order_relaxed);
  }
  map_remove(p, s);
  s->state = S_FREE;
  s->conn = NULL;
  s->next = p->free_slots;
  p->free_slots = s;
  p->size--;
  p->st.destroyed++;
  p->nclosing++;
  return conn;
}

/* take makes s the caller's (who) at now. */
static void take(roster_pool *p, roster__cp_slot *s, const roster__cp_site *who,
                 int64_t now) {
  s->state = S_USED;
  roster__cp_since_set(s, now);
  roster__cp_site_set(s, who);
  s->leak_reported = false;
  p->in_use++;
}

/* wait_bucket: the histogram bucket of an acquire that waited ns (if it
 * queued at all); see ROSTER_POOL_WAIT_BUCKETS. */
static unsigned wait_bucket(bool queued, int64_t ns) {
  if (!queued)
    return 0;
  uint64_t us = ns > 1000 ? (uint64_t)ns / 1000 : 1;
  unsigned b = 64u - (unsigned)__builtin_clzll(us);
  return b < ROSTER_POOL_WAIT_BUCKETS ? b : ROSTER_POOL_WAIT_BUCKETS - 1;
}

/* ---- waiters (under mu) ---- */

static void wq_remove(roster_pool *p, roster__cp_waiter *w) {
  roster__cp_waiter *prev = NULL;
  for (roster__cp_waiter *x = p->wq_head; x; prev = x, x = x->next)
    if (x == w) {
      if (prev)
        prev->next = w->next;
      else
        p->wq_head = w->next;
      if (p->wq_tail == w)
        p->wq_tail = prev;
      w->next = NULL;
      p->nwaiters--;
      return;
    }
}

_Atomic int *roster__cp_give_slot(roster_pool *p, roster__cp_slot *s,
                                  int64_t now) {
  roster__cp_waiter *w = roster__cp_wq_pop(p);
  if (!w) {
    roster__cp_since_set(s, now);
    idle_push(p, s);
    return NULL;
  }
  /* The whole acquire's bookkeeping, so the waiter need not take mu. */
  take(p, s, &w->who, now);
  w->s = s;
  p->st.acquires++;
  p->st.wait_hist[wait_bucket(true, roster__cp_mono_ns() - w->t0)]++;
  p->nacq--;
  return roster__cp_serve(w, W_CONN);
}

void roster__cp_unpark(roster_pool *p, roster__cp_slot *s) {
  p->in_use--;
  if (p->draining) {
    roster__cp_close_unlocked(p, roster__cp_retire(p, s));
    return;
  }
  _Atomic int *wake = roster__cp_give_slot(
      p, s, p->wq_head ? roster__cp_now(p) : roster__cp_parked_since(p, s));
  if (wake)
    roster__cp_futex_wake(wake);
}

unsigned roster__cp_claim_parked(roster_pool *p, unsigned max) {
  if (!p->fast || !atomic_load(&p->any_parked))
    return 0;
  atomic_store(&p->any_parked, false);
  unsigned n = 0;
  bool left = false;
  for (unsigned i = 0; i < p->max_size; i++) {
    roster__cp_slot *s = &p->slots[i];
    if (!atomic_load(&s->parked))
      continue;
    if (n == max) { /* maybe more: the next look scans on */
      left = true;
      break;
    }
    int one = 1;
    if (atomic_compare_exchange_strong(&s->parked, &one, 0)) {
      roster__cp_unpark(p, s);
      n++;
    }
  }
  if (left)
    atomic_store(&p->any_parked, true);
  return n;
}

unsigned roster__cp_count_parked(const roster_pool *p) {
  unsigned n = 0;
  for (unsigned i = 0; p->fast && i < p->max_size; i++)
    n += (unsigned)atomic_load_explicit(&p->slots[i].parked,
                                        memory_order_relaxed);
  return n;
}

/* ask_refill wakes the maintenance thread if min_idle is not met. */
static void ask_refill(roster_pool *p) {
  /* (a parked connection is idle too; the next pass claims and counts it) */
  if (p->nidle + p->pending < p->min_idle && !p->draining &&
      !atomic_load_explicit(&p->any_parked, memory_order_relaxed) &&
      p->size + p->pending < p->max_size && !p->refill_asked) {
    p->refill_asked = true;
    pthread_cond_signal(&p->maint_cv);
  }
}

void roster__cp_destroy(roster_pool *p) {
  pthread_cond_destroy(&p->drain_cv);
  pthread_cond_destroy(&p->maint_cv);
  pthread_mutex_destroy(&p->mu);
  if (p->free_arg)
    p->free_arg(p->arg);
  roster__free(p->map);
  roster__free(p->slots_mem);
  roster__free(p);
}

int roster__cp_err_draining(const roster_pool *p) {
  return roster__err(ROSTER_ESTATE,
                     "pool '%s' is draining: it hands out no more connections",
                     p->name);
}

/* ---- new and free ---- */

static int check_ms(const char *pool, const char *what, int64_t v) {
  if (v > YEAR_MS)
    return roster__err(ROSTER_ERANGE,
                       "pool '%s': %s of %" PRId64 " ms is more than a year",
                       pool, what, v);
  return ROSTER_OK;
}

static int check_options(const roster_pool_options *o, const char *name) {
  const roster_pool_ops *ops = o->ops;
  if (!ops)
    return roster__err(ROSTER_EINVAL, "pool '%s': no ops given", name);
  if (ops->version != ROSTER_POOL_OPS_VERSION)
    return roster__err(ROSTER_EINVAL,
                       "pool '%s': ops version %u, this roster expects %d",
                       name, ops->version, ROSTER_POOL_OPS_VERSION);
  if (!ops->connect || !ops->close)
    return roster__err(ROSTER_EINVAL, "pool '%s': ops has no %s function", name,
                       !ops->connect ? "connect" : "close");
  unsigned max = o->max_size ? o->max_size : 10;
  if (max > ROSTER_POOL_MAX_SIZE)
    return roster__err(ROSTER_ERANGE,
                       "pool '%s': max_size %u is above the limit of %d", name,
                       o->max_size, ROSTER_POOL_MAX_SIZE);
  if (o->min_idle > max)
    return roster__err(ROSTER_EINVAL,
                       "pool '%s': min_idle %u is above max_size %u", name,
                       o->min_idle, max);
  if (o->maintenance_ms < 0)
    return roster__err(ROSTER_EINVAL,
                       "pool '%s': maintenance_ms %" PRId64 " is negative",
                       name, o->maintenance_ms);
  int rc;
  if ((rc = check_ms(name, "acquire_timeout_ms", o->acquire_timeout_ms)) ||
      (rc = check_ms(name, "idle_timeout_ms", o->idle_timeout_ms)) ||
      (rc = check_ms(name, "max_lifetime_ms", o->max_lifetime_ms)) ||
      (rc = check_ms(name, "validate_after_ms", o->validate_after_ms)) ||
      (rc = check_ms(name, "leak_threshold_ms", o->leak_threshold_ms)) ||
      (rc = check_ms(name, "maintenance_ms", o->maintenance_ms)))
    return rc;
  return ROSTER_OK;
}

/* dur_ns: 0 -> def, < 0 -> -1 (never), else ms in ns. */
static int64_t dur_ns(int64_t ms, int64_t def_ms) {
  if (ms == 0)
    ms = def_ms;
  return ms < 0 ? -1 : ms * NS_PER_MS;
}

/* free_parts undoes a partly made pool (no thread, no connections). */
static void free_parts(roster_pool *p) {
  pthread_cond_destroy(&p->drain_cv);
  pthread_cond_destroy(&p->maint_cv);
  pthread_mutex_destroy(&p->mu);
  roster__free(p->map);
  roster__free(p->slots_mem);
  roster__free(p);
}

/* close_all closes every idle connection of a pool being abandoned by new. */
static void close_all(roster_pool *p) {
  for (roster__cp_slot *s; (s = p->idle_head);) {
    roster__cp_idle_unlink(p, s);
    void *conn = roster__cp_retire(p, s);
    p->ops->close(p->arg, conn);
    p->nclosing--;
  }
}

int roster__cp_connect(roster_pool *p, void **conn) {
  int rc = p->ops->connect(p->arg, conn);
  if (rc == ROSTER_OK && !*conn)
    rc = roster__err(ROSTER_ECONN,
                     "pool '%s': connect returned ROSTER_OK but no "
                     "connection",
                     p->name);
  return rc;
}

int roster_pool_new(const roster_pool_options *o, roster_pool **out) {
  if (out)
    *out = NULL;
  if (!o || !out)
    return roster__err(ROSTER_EINVAL, "roster_pool_new: %s is NULL",
                       !o ? "opts" : "out");
  const char *name = o->name ? o->name : "pool";
  size_t len = strlen(name);
  if (len == 0 || len > ROSTER_POOL_NAME_MAX)
    return roster__err(ROSTER_EINVAL,
                       "roster_pool_new: the pool name is %s (1 to %d bytes)",
                       len ? "too long" : "empty", ROSTER_POOL_NAME_MAX);
  int rc = check_options(o, name);
  if (rc)
    return rc;

  roster_pool *p = roster__calloc(1, sizeof *p);
  unsigned max = o->max_size ? o->max_size : 10;
  uint32_t cap = 8;
  while (cap < 2 * max)
    cap <<= 1;
  if (p) {
    /* 64-byte aligned by hand: the allocator promises 16 */
    p->slots_mem = roster__calloc(1, max * sizeof *p->slots + 63);
    if (p->slots_mem)
      p->slots =
          (roster__cp_slot *)(((uintptr_t)p->slots_mem + 63) & ~(uintptr_t)63);
    p->map = roster__calloc(cap, sizeof *p->map);
  }
  if (!p || !p->slots || !p->map) {
    if (p) {
      roster__free(p->slots_mem);
      roster__free(p->map);
      roster__free(p);
    }
    return roster__err(ROSTER_ENOMEM, "pool '%s': out of memory", name);
  }
  memcpy(p->name, name, len + 1);
  p->ops = o->ops;
  p->arg = o->arg;
  p->free_arg = o->free_arg;
  p->leak_fn = o->leak_fn ? o->leak_fn : roster__cp_leak_stderr;
  p->leak_arg = o->leak_fn ? o->leak_arg : NULL;
  p->clock = o->clock;
  p->clock_arg = o->clock_arg;
  p->min_idle = o->min_idle;
  p->max_size = max;
  p->acquire_timeout_ms = o->acquire_timeout_ms == 0  ? 30000
                          : o->acquire_timeout_ms < 0 ? -1
                                                      : o->acquire_timeout_ms;
  p->idle_timeout = dur_ns(o->idle_timeout_ms, 600000);
  p->lifetime = dur_ns(o->max_lifetime_ms, 1800000);
  p->validate_after = dur_ns(o->validate_after_ms, 500);
  p->leak_threshold =
      o->leak_threshold_ms > 0 ? o->leak_threshold_ms * NS_PER_MS : 0;
  p->maint_ms = o->maintenance_ms ? o->maintenance_ms : 1000;
  p->map_mask = cap - 1;
  p->id = atomic_fetch_add(&pool_ids, 1) + 1;
  p->fast = !p->ops->reset && p->leak_threshold <= 0;
  for (unsigned i = max; i-- > 0;) {
    p->slots[i].next = p->free_slots;
    p->free_slots = &p->slots[i];
  }
  p->rng = (uint64_t)roster__cp_mono_ns() ^ ((uint64_t)(uintptr_t)p << 16) ^
           0x9e3779b97f4a7c15ULL;
  if (!p->rng)
    p->rng = 1;
  pthread_mutex_init(&p->mu, NULL);
  roster__cond_init_mono(&p->maint_cv);
  roster__cond_init_mono(&p->drain_cv);
  pthread_once(&tid_once, tid_init);

  /* min_idle connections, on this thread, before anything else runs. */
  for (unsigned i = 0; i < p->min_idle; i++) {
    void *conn = NULL;
    rc = roster__cp_connect(p, &conn);
    if (rc != ROSTER_OK) {
      close_all(p);
      free_parts(p);
      return rc;
    }
    int64_t now = roster__cp_now(p);
    idle_push(p, roster__cp_slot_add(p, conn, now));
  }

  rc = roster__thread_start(&p->maint, "roster-pool", false,
                            roster__cp_maint_main, p);
  if (rc) {
    rc = roster__err_wrap(rc, "pool '%s': cannot start its maintenance thread",
                          name);
    close_all(p);
    free_parts(p);
    return rc;
  }
  *out = p;
  return ROSTER_OK;
}

void roster_pool_free(roster_pool *p) {
  if (!p)
    return;
  roster__cp_drain_begin(p);
  pthread_mutex_lock(&p->mu);
  p->stop = true;
  pthread_cond_signal(&p->maint_cv);
  pthread_mutex_unlock(&p->mu);
  pthread_join(p->maint, NULL);
  pthread_mutex_lock(&p->mu);
  p->freed = true;
  bool last = roster__cp_settle(p);
  pthread_mutex_unlock(&p->mu);
  if (last)
    roster__cp_destroy(p);
}

/* ---- acquire and release ---- */

/* err_timeout composes the ETIMEDOUT sentence (under mu). */
static int err_timeout(const roster_pool *p, int64_t waited_ns) {
  return roster__err(ROSTER_ETIMEDOUT,
                     "pool '%s': no connection free after waiting %" PRId64
                     " ms (size %u of max %u, %u in use, %u other waiters)",
                     p->name, waited_ns / NS_PER_MS, p->size, p->max_size,
                     p->in_use, p->nwaiters);
}

/* fast_acquire takes back the connection this thread parked, if it is
 * still parked and nobody waits; else NULL (take the lock). */
static inline void *fast_acquire(roster_pool *p, const roster__cp_site *who) {
  if (atomic_load_explicit(&p->fast_block, memory_order_relaxed))
    return NULL; /* somebody queues, or the pool drains: no barging */
  roster__cp_slot *s = tl_cp.s;
  int one = 1;
  if (!atomic_compare_exchange_strong(&s->parked, &one, 0))
    return NULL; /* claimed by the lock's side; the slot may be another's */
  int64_t now = roster__cp_now(p);
  if (now >= s->expires ||
      (p->ops->validate && p->validate_after >= 0 &&
       now - roster__cp_parked_since(p, s) > p->validate_after)) {
    /* past its lifetime, or maybe idle long enough to want validating:
     * back in the books, and the locked path (which finds it first in the
     * idle list) closes or validates it */
    pthread_mutex_lock(&p->mu);
    roster__cp_unpark(p, s);
    bool last = roster__cp_settle(p);
    pthread_mutex_unlock(&p->mu);
    if (last) /* cannot be: the caller's pool is not freed */
      roster__cp_destroy(p);
    return NULL;
  }
  roster__cp_since_set(s, now);
  roster__cp_site_set(s, who);
  atomic_store_explicit(&s->owner, (void *)&tl_cp, memory_order_relaxed);
  atomic_store_explicit(
      &s->fast_acq,
      atomic_load_explicit(&s->fast_acq, memory_order_relaxed) + 1,
      memory_order_relaxed); /* one writer: the slot's holder */
  tl_cp.conn = s->conn;
  tl_cp.held = true;
  return s->conn;
}

/* fast_release parks conn if it is the one this thread acquired last and
 * nothing needs the lock; true if it did (the release is done). */
static inline bool fast_release(roster_pool *p) {
  roster__cp_slot *s = tl_cp.s;
  /* (another thread may have released it meanwhile: then this is a second
   * release, for the locked path to judge) */
  if (atomic_load_explicit(&s->owner, memory_order_relaxed) != &tl_cp ||
      atomic_load_explicit(&p->fast_block, memory_order_relaxed))
    return false;
  /* No clock here: since keeps the acquire time, and the lifetime is
   * checked when the slot is taken back or claimed (see
   * roster__cp_parked_since). */
  tl_cp.held = false;
  atomic_store(&s->parked, 1);
  if (!atomic_load(&p->any_parked))
    atomic_store(&p->any_parked, true);
  if (!atomic_load(&p->fast_block))
    return true;
  /* Somebody is about to queue (or the pool drains): take it back and
   * release it under the lock, unless they claimed it already. */
  int one = 1;
  if (!atomic_compare_exchange_strong(&s->parked, &one, 0))
    return true;
  tl_cp.held = true;
  return false;
}

static int acquire_slow(roster_pool *p, int64_t timeout_ms, void **out,
                        const char *file, int line, const char *func);

/* The entry points try the fast path inline and call the rest out of
 * line, so the fast path does not pay the slow path's frame. */
int roster_pool_acquire_at(roster_pool *p, int64_t timeout_ms, void **out,
                           const char *file, int line, const char *func) {
  if (ROSTER__LIKELY(p && out && p->fast && tl_cp.id == p->id && !tl_cp.held &&
                     timeout_ms >= ROSTER_POOL_WAIT_DEFAULT)) {
    roster__cp_site who = {file ? file : "?", func ? func : "?", line,
                           self_tid()};
    void *conn = fast_acquire(p, &who);
    if (conn) {
      *out = conn;
      return ROSTER_OK;
    }
  }
  return acquire_slow(p, timeout_ms, out, file, line, func);
}

__attribute__((noinline)) static int acquire_slow(roster_pool *p,
                                                  int64_t timeout_ms,
                                                  void **out, const char *file,
                                                  int line, const char *func) {
  if (out)
    *out = NULL;
  if (!p || !out)
    return roster__err(ROSTER_EINVAL, "roster_pool_acquire: %s is NULL",
                       !p ? "pool" : "conn");
  if (timeout_ms < ROSTER_POOL_WAIT_DEFAULT)
    return roster__err(ROSTER_EINVAL,
                       "pool '%s': acquire timeout %" PRId64
                       " ms is not valid (use >= 0, ROSTER_POOL_WAIT_FOREVER "
                       "or ROSTER_POOL_WAIT_DEFAULT)",
                       p->name, timeout_ms);
  if (timeout_ms == ROSTER_POOL_WAIT_DEFAULT)
    timeout_ms = p->acquire_timeout_ms;
  else if (timeout_ms > YEAR_MS)
    timeout_ms = YEAR_MS;
  roster__cp_site who = {file ? file : "?", func ? func : "?", line,
                         self_tid()};

  pthread_mutex_lock(&p->mu);
  if (p->draining) {
    pthread_mutex_unlock(&p->mu);
    return roster__cp_err_draining(p);
  }
  p->nacq++;
  int rc = ROSTER_OK;
  roster__cp_slot *got = NULL;
  bool permit = false, queued = false, announced = false;
  int64_t waited = 0, deadline = 0; /* real clock ns */
  for (;;) {
    if (!permit) {
      if (p->draining) { /* began while mu was dropped */
        rc = roster__cp_err_draining(p);
        break;
      }
      roster__cp_slot *s = p->idle_head;
      if (!s && roster__cp_claim_parked(p, 1))
        continue; /* idle now, or handed to a waiter ahead of us */
      if (s) {
        roster__cp_idle_unlink(p, s);
        int64_t now = roster__cp_now(p);
        if (now >= s->expires) {
          p->st.expired++;
          roster__cp_close_unlocked(p, roster__cp_retire(p, s));
          continue;
        }
        bool check = p->ops->validate && p->validate_after >= 0 &&
                     now - roster__cp_since(s) > p->validate_after;
        take(p, s, &who, now);
        if (check) {
          pthread_mutex_unlock(&p->mu);
          int v = p->ops->validate(p->arg, s->conn);
          pthread_mutex_lock(&p->mu);
          if (v != ROSTER_OK || p->draining) {
            if (v != ROSTER_OK)
              p->st.validation_failures++;
            p->in_use--;
            void *conn = roster__cp_retire(p, s);
            roster__cp_give_permit(p);
            roster__cp_close_unlocked(p, conn);
            if (p->draining) {
              rc = roster__cp_err_draining(p);
              break;
            }
            continue;
          }
        }
        got = s;
        break;
      }
      if (p->size + p->pending < p->max_size) {
        p->pending++;
        permit = true;
      }
    }
    if (permit && p->draining) {
      p->pending--; /* a permit handed over before the drain began */
      rc = roster__cp_err_draining(p);
      break;
    }
    if (permit) {
      pthread_mutex_unlock(&p->mu);
      void *conn = NULL;
      rc = roster__cp_connect(p, &conn);
      pthread_mutex_lock(&p->mu);
      p->pending--;
      permit = false;
      if (rc != ROSTER_OK) {
        p->st.connect_failures++;
        roster__cp_give_permit(p);
        break; /* the connect's own code and detail */
      }
      if (p->draining) {
        p->st.created++;
        p->st.destroyed++;
        p->nclosing++;
        roster__cp_close_unlocked(p, conn);
        rc = roster__cp_err_draining(p);
        break;
      }
      int64_t now = roster__cp_now(p);
      got = roster__cp_slot_add(p, conn, now);
      take(p, got, &who, now);
      break;
    }

    /* Nothing idle and the pool is full: queue. First stop releases from
     * parking, then look once more for a parked connection (see
     * roster__cp_slot). */
    if (!announced) {
      atomic_fetch_add(&p->fast_block, 1);
      announced = true;
      if (roster__cp_claim_parked(p, 1))
        continue;
    }
    int64_t t0 = roster__cp_mono_ns();
    if (!deadline)
      deadline = t0 + (timeout_ms > 0 ? timeout_ms : 0) * NS_PER_MS;
    if (timeout_ms == 0 || (timeout_ms > 0 && t0 >= deadline)) {
      p->st.timeouts++;
      rc = err_timeout(p, waited);
      break;
    }
    /* A call queues at most once: every way out of the queue below ends
     * the call, or (a permit) connects and then ends it. */
    roster__cp_waiter w = {.who = who, .t0 = t0};
    atomic_init(&w.state, W_WAITING);
    if (p->wq_tail)
      p->wq_tail->next = &w;
    else
      p->wq_head = &w;
    p->wq_tail = &w;
    p->nwaiters++;
    queued = true;
    pthread_mutex_unlock(&p->mu);
    struct timespec ts = roster__cp_ts(deadline);
    int st;
    while ((st = atomic_load_explicit(&w.state, memory_order_acquire)) ==
           W_WAITING) {
      long r = syscall(SYS_futex, (int *)&w.state, FUTEX_WAIT_BITSET_PRIVATE,
                       W_WAITING, timeout_ms < 0 ? NULL : &ts, NULL,
                       FUTEX_BITSET_MATCH_ANY);
      atomic_fetch_add_explicit(&p->wakeups, 1, memory_order_relaxed);
      if (r == -1 && errno == ETIMEDOUT)
        break;
    }
    if (st == W_CONN) { /* served: the server did the bookkeeping */
      atomic_fetch_sub(&p->fast_block, 1);
      tl_remember(p, w.s);
      *out = w.s->conn;
      return ROSTER_OK;
    }
    pthread_mutex_lock(&p->mu);
    st = atomic_load_explicit(&w.state, memory_order_relaxed);
    if (st == W_CONN) { /* served as the wait timed out */
      pthread_mutex_unlock(&p->mu);
      atomic_fetch_sub(&p->fast_block, 1);
      tl_remember(p, w.s);
      *out = w.s->conn;
      return ROSTER_OK;
    }
    waited += roster__cp_mono_ns() - t0;
    if (st == W_WAITING) {
      wq_remove(p, &w);
      p->st.timeouts++;
      rc = err_timeout(p, waited);
      break;
    }
    if (st == W_DRAIN) {
      rc = roster__cp_err_draining(p);
      break;
    }
    permit = true; /* W_PERMIT: pending was counted for us */
  }

  if (rc == ROSTER_OK || rc == ROSTER_ETIMEDOUT)
    p->st.wait_hist[wait_bucket(queued, waited)]++;
  if (got) {
    p->st.acquires++;
    ask_refill(p);
  }
  p->nacq--;
  bool last = roster__cp_settle(p);
  pthread_mutex_unlock(&p->mu);
  if (announced)
    atomic_fetch_sub(&p->fast_block, 1);
  if (last)
    roster__cp_destroy(p);
  if (got) {
    tl_remember(p, got);
    *out = got->conn;
  }
  return rc;
}

static int release_slow(roster_pool *p, void *conn, bool broken);

int roster_pool_release(roster_pool *p, void *conn, bool broken) {
  if (ROSTER__LIKELY(p && conn && !broken && p->fast && tl_cp.held &&
                     tl_cp.conn == conn && tl_cp.id == p->id) &&
      fast_release(p))
    return ROSTER_OK;
  return release_slow(p, conn, broken);
}

__attribute__((noinline)) static int release_slow(roster_pool *p, void *conn,
                                                  bool broken) {
  if (!p || !conn)
    return roster__err(ROSTER_EINVAL, "roster_pool_release: %s is NULL",
                       !p ? "pool" : "conn");
  if (tl_cp.held && tl_cp.conn == conn && tl_cp.id == p->id)
    tl_cp.held = false; /* released here, not parked */
  int64_t now = roster__cp_now(p);
  pthread_mutex_lock(&p->mu);
  roster__cp_slot *s = map_find(p, conn);
  if (!s || s->state != S_USED || atomic_load(&s->parked)) {
    pthread_mutex_unlock(&p->mu);
    return roster__err(ROSTER_EINVAL,
                       "pool '%s': connection %p is not out of this pool "
                       "(released twice, or acquired from another pool)",
                       p->name, conn);
  }
  atomic_store_explicit(&s->owner, NULL, memory_order_relaxed);
  bool drop = true; /* close it rather than reuse it */
  _Atomic int *wake = NULL;
  if (broken) {
    p->st.broken++;
  } else if (p->draining) {
    /* closed: nothing is handed out any more */
  } else if (now >= s->expires) {
    p->st.expired++;
  } else if (p->ops->reset) {
    s->state = S_RESET;
    pthread_mutex_unlock(&p->mu);
    int r = p->ops->reset(p->arg, conn);
    pthread_mutex_lock(&p->mu);
    s->state = S_USED;
    if (r != ROSTER_OK)
      p->st.reset_failures++;
    drop = r != ROSTER_OK || p->draining;
    now = roster__cp_now(p);
  } else {
    drop = false;
  }
  p->in_use--;
  if (drop) {
    roster__cp_retire(p, s);
    roster__cp_give_permit(p);
    ask_refill(p);
    roster__cp_close_unlocked(p, conn);
  } else {
    wake = roster__cp_give_slot(p, s, now);
  }
  bool last = roster__cp_settle(p);
  pthread_mutex_unlock(&p->mu);
  if (wake)
    roster__cp_futex_wake(wake);
  if (last)
    roster__cp_destroy(p);
  return ROSTER_OK;
}

int roster_pool_stats_get(roster_pool *p, roster_pool_stats *out) {
  if (!p || !out)
    return roster__err(ROSTER_EINVAL, "roster_pool_stats_get: %s is NULL",
                       !p ? "pool" : "out");
  pthread_mutex_lock(&p->mu);
  *out = p->st;
  for (unsigned i = 0; p->fast && i < p->max_size; i++) {
    uint64_t f =
        atomic_load_explicit(&p->slots[i].fast_acq, memory_order_relaxed);
    out->acquires += f;
    out->wait_hist[0] += f;
  }
  /* every parked slot is counted in in_use, each at most once here */
  unsigned parked = roster__cp_count_parked(p);
  out->max_size = p->max_size;
  out->size = p->size;
  out->idle = p->nidle + parked;
  out->in_use = p->in_use - parked;
  out->connecting = p->pending;
  out->waiters = p->nwaiters;
  pthread_mutex_unlock(&p->mu);
  return ROSTER_OK;
}

const char *roster_pool_name(const roster_pool *p) { return p ? p->name : ""; }

uint64_t roster__pool_wakeups(roster_pool *p) {
  return atomic_load_explicit(&p->wakeups, memory_order_relaxed);
}

uint64_t roster__pool_passes(roster_pool *p) {
  pthread_mutex_lock(&p->mu);
  uint64_t n = p->passes;
  pthread_mutex_unlock(&p->mu);
  return n;
}
