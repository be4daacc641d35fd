/*
 * memory_retire.c: what becomes of the memory backend's entries once they
 * leave a shard's table (replaced, removed, expired, evicted): readers may
 * still be looking at them, so they are freed, or reused by the shard's
 * next sets, only after an RCU grace period. See memory_impl.h.
 */
#include "memory_impl.h"

static void mc_reclaim(struct rcu_head *head) {
  roster__reclaim_enter();
  ROSTER__TSAN_ACQUIRE(head);
  ROSTER__TSAN_ACQUIRE(&roster__grace_token);
  roster__free(caa_container_of(head, mc_entry, u.rcu));
  roster__reclaim_exit();
}

/* Retired entries are freed (or reused) in batches, on the writers' own
 * threads. A shard gathers what its writes retire in an array (64 entries
 * or 64 KiB), then hands the batch to call_rcu with a callback that only
 * marks it ready; the shard's next write after that takes it as spares:
 * the shard's next sets build their entries in them (the steady state of
 * overwrites allocates nothing), and what is not reused is freed.
 * Measured on the set benchmark: one call_rcu per entry woke liburcu's
 * reclaim thread for a few callbacks and a grace period each time, and its
 * frees of memory the writer had allocated contended on malloc's arena
 * lock; freeing a batch on the writer walked cold entries and the next
 * sets missed malloc's per-thread cache. The array lets a set take a spare
 * without reading it (it is cold: a grace period old). The maintenance
 * thread frees the ready batches and spares of shards nobody writes to. */
#define MC_BATCH_N 64
#define MC_BATCH_BYTES (64 * 1024)
/* Spare batches a shard keeps at most, and their bytes; past it ready
 * batches are freed. */
#define MC_SPARE_BATCHES 16
#define MC_SPARE_BYTES (4 * MC_BATCH_BYTES)

enum { MC_B_PENDING = 0, MC_B_READY = 1, MC_B_ORPHAN = 2 };

typedef struct mc_batch {
  struct rcu_head rcu;
  struct mc_batch *next; /* in the shard's pending or spare list */
  _Atomic int state;     /* MC_B_*: the callback and close race on it */
  uint32_t n;            /* entries in e */
  uint32_t min, max;     /* the smallest and largest entry's size */
  size_t bytes;          /* their charge */
  mc_entry *e[MC_BATCH_N];
} mc_batch;

static void mc_batch_ready(struct rcu_head *head) {
  roster__reclaim_enter();
  ROSTER__TSAN_ACQUIRE(head);
  ROSTER__TSAN_ACQUIRE(&roster__grace_token);
  mc_batch *b = caa_container_of(head, mc_batch, rcu);
  /* The release orders the grace period before the writer's frees. */
  if (atomic_exchange_explicit(&b->state, MC_B_READY, memory_order_acq_rel) ==
      MC_B_ORPHAN)
    roster__free(b); /* the store closed meanwhile and freed the entries */
  roster__reclaim_exit();
}

static void free_entries(mc_batch *b) {
  for (uint32_t i = 0; i < b->n; i++)
    roster__free(b->e[i]);
  b->n = 0;
}

static void mc_free_batches(mc_batch *b) {
  for (mc_batch *next; b; b = next) {
    next = b->next;
    free_entries(b);
    roster__free(b);
  }
}

/* mc_flush hands s's gathering batch to call_rcu (s locked). */
static void mc_flush(mc_shard *s) {
  mc_batch *b = s->gather;
  if (!b || !b->n)
    return;
  s->gather = NULL;
  b->next = NULL;
  atomic_store_explicit(&b->state, MC_B_PENDING, memory_order_relaxed);
  if (s->pend_tail)
    s->pend_tail->next = b;
  else
    s->pend_head = b;
  s->pend_tail = b;
  roster__defer(&b->rcu, mc_batch_ready);
}

/* mc_take_ready unlinks s's ready batches (s locked); the caller frees
 * them, after the unlock if it likes. */
static mc_batch *mc_take_ready(mc_shard *s) {
  mc_batch *first = s->pend_head, *last = NULL;
  for (mc_batch *b = first;
       b && atomic_load_explicit(&b->state, memory_order_acquire) == MC_B_READY;
       b = b->next)
    last = b;
  if (!last)
    return NULL;
  s->pend_head = last->next;
  if (!s->pend_head)
    s->pend_tail = NULL;
  last->next = NULL;
  return first;
}

/* mc_keep_ready makes s's ready batches spares while it has fewer than
 * MC_SPARE_BATCHES, and frees the rest (s locked). */
static void mc_keep_ready(mc_shard *s) {
  mc_batch *b = mc_take_ready(s);
  for (mc_batch *next; b; b = next) {
    next = b->next;
    size_t n = atomic_load_explicit(&s->nspare, memory_order_relaxed);
    if (n < MC_SPARE_BATCHES && s->spare_bytes < MC_SPARE_BYTES) {
      b->next = s->spare;
      s->spare = b;
      s->spare_bytes += b->bytes;
      atomic_store_explicit(&s->nspare, n + 1, memory_order_relaxed);
    } else {
      free_entries(b);
      roster__free(b);
    }
  }
}

/* roster__memory_spare: a spare entry of s with room for size bytes (s locked),
 * or NULL. Only the first spare batch is looked at (a store's values are mostly
 * of one size), through its sizes, not the entry's. */
mc_entry *roster__memory_spare(mc_shard *s, size_t size) {
  mc_batch *b = s->spare;
  if (!b || b->min < size || b->max > 2 * size)
    return NULL;
  mc_entry *e = b->e[--b->n];
  if (b->n) {
    __builtin_prefetch(b->e[b->n - 1], 1);
  } else { /* used up: it gathers next, or goes */
    s->spare = b->next;
    s->spare_bytes -= b->bytes;
    atomic_store_explicit(
        &s->nspare, atomic_load_explicit(&s->nspare, memory_order_relaxed) - 1,
        memory_order_relaxed);
    if (!s->gather)
      s->gather = b;
    else
      roster__free(b);
  }
  return e;
}

/* roster__memory_retire: e has left the table and s's list (s locked); it is
 * freed (or reused) after a grace period, since readers may still be looking at
 * it. */
void roster__memory_retire(mc_shard *s, mc_entry *e) {
  mc_batch *b = s->gather;
  if (!b) {
    b = s->gather = roster__malloc(sizeof *b);
    if (!b) { /* no memory for a batch: a call_rcu of its own */
      roster__defer(&e->u.rcu, mc_reclaim);
      return;
    }
    b->n = 0;
  }
  if (!b->n) {
    b->min = b->max = e->size;
    b->bytes = 0;
  } else if (e->size < b->min) {
    b->min = e->size;
  } else if (e->size > b->max) {
    b->max = e->size;
  }
  b->e[b->n++] = e;
  b->bytes += mc_charge(e->klen, e->vlen);
  if (b->n == MC_BATCH_N || b->bytes >= MC_BATCH_BYTES)
    mc_flush(s);
  if (s->pend_head)
    mc_keep_ready(s);
}

/* mc_drop_spares unlinks s's spare batches (s locked). */
static mc_batch *mc_drop_spares(mc_shard *s) {
  mc_batch *b = s->spare;
  s->spare = NULL;
  s->spare_bytes = 0;
  atomic_store_explicit(&s->nspare, 0, memory_order_relaxed);
  return b;
}

/* The maintenance thread's tick: the gathering batch goes to call_rcu,
 * ready batches and the spares are freed (a shard no longer written keeps
 * no memory for long). */
void roster__memory_reap_shard(mc_shard *s) {
  pthread_mutex_lock(&s->lock);
  mc_flush(s);
  mc_batch *ready = mc_take_ready(s), *spare = mc_drop_spares(s);
  pthread_mutex_unlock(&s->lock);
  mc_free_batches(ready);
  mc_free_batches(spare);
}

void roster__memory_free_retired(mc_shard *s) {
  if (s->gather) {
    free_entries(s->gather);
    roster__free(s->gather);
    s->gather = NULL;
  }
  mc_free_batches(mc_drop_spares(s));
  for (mc_batch *b = s->pend_head, *next; b; b = next) {
    next = b->next;
    free_entries(b);
    /* A batch whose callback has not run yet is freed by it. */
    if (atomic_exchange_explicit(&b->state, MC_B_ORPHAN,
                                 memory_order_acq_rel) == MC_B_READY)
      roster__free(b);
  }
  s->pend_head = s->pend_tail = NULL;
}
