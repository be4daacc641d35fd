/*
 * memory_impl.h: the memory backend's structures, shared by memory.c (the
 * value operations), memory_patterns.c (locks and rate limiters) and
 * memory_maint.c (eviction, expiry sweep, growth, clear, stats, open and
 * close).
 *
 * The store is one liburcu cds_lfht keyed by XXH3(key, per-store random
 * seed). Reads (get, mget, ttl, exists) take no lock: an RCU read section,
 * one bucket walk, a copy out. Entries are immutable once published except
 * for atomics (a counter's value, the expiry, the CLOCK bit), so a write
 * builds a new entry and swaps it in (cds_lfht_add_replace); the old one is
 * freed after a grace period on roster's reclaim thread.
 *
 * Every change to a key's table slot is made holding the lock of the key's
 * shard (the top bits of its hash pick one of up to 64). That makes each
 * read-modify-write (incr, lock compare-and-delete, a rate limiter's step)
 * atomic without a retry loop, and keeps each shard's circular list of its
 * entries, which the CLOCK eviction hand and the expiry sweep walk. A
 * writer that finds an entry under its shard lock may use it after leaving
 * the read section: only a holder of that lock can remove it.
 */
#ifndef ROSTER_MEMORY_IMPL_H
#define ROSTER_MEMORY_IMPL_H

#include "cache_impl.h"

#define XXH_INLINE_ALL
#include <urcu/rculfhash.h>
#include <xxhash.h>

#define MC_SHARDS_MAX 64

/* Entry kinds: the first three are roster_cache_kind's values. */
enum {
  MC_BYTES = ROSTER_CACHE_BYTES,
  MC_JSON = ROSTER_CACHE_JSON,
  MC_INT = ROSTER_CACHE_INT,
  MC_SLIDE = 4
};
/* Entry flags. */
enum { MC_F_LOCK = 1 }; /* a lock: never evicted */

typedef struct mc_entry mc_entry;
struct mc_entry {
  /* What a read touches first, together: */
  struct cds_lfht_node node;
  _Atomic int64_t expire; /* on the store's clock, ms; 0 = never */
  uint32_t klen;
  uint32_t vlen; /* bytes of value after the key */
  uint8_t kind;
  uint8_t flags;
  _Atomic uint8_t ref; /* CLOCK: read since the hand last passed */
  union {
    struct {
      mc_entry *prev, *next; /* the shard's circular list (shard lock) */
    } l;
    struct rcu_head rcu; /* after it left the list, for reclaim */
  } u;
  unsigned char data[] __attribute__((aligned(8))); /* key, pad, value;
                              an MC_INT's value is its _Atomic int64_t */
};

/* mc_slide: a sliding window's log, the value of an MC_SLIDE entry: a ring
 * of the allowed requests' times, oldest at head. Shard lock only. */
typedef struct mc_slide {
  uint32_t cap, head, n, pad;
  int64_t ts[];
} mc_slide;

typedef struct mc_shard {
  pthread_mutex_t lock;
  mc_entry *hand;   /* CLOCK hand; any entry of the list, NULL if empty */
  mc_entry *cursor; /* where the sweep goes on; NULL = at the hand */
  size_t count;
  /* Entries out of the table, gathered into a batch (chained through
   * u.l.next), then batches waiting for their grace period, oldest first:
   * see mc_retire in memory.c. */
  mc_entry *retired;
  size_t nretired, retired_bytes;
  struct mc_batch *pend_head, *pend_tail;
} __attribute__((aligned(64))) mc_shard;

typedef struct mc_ctr {
  _Atomic uint64_t hits, misses;
} __attribute__((aligned(64))) mc_ctr;

typedef struct mc {
  struct cds_lfht *ht;
  uint64_t seed;
  unsigned shard_bits; /* log2 of the shard count */
  size_t max_entries, max_bytes;
  int64_t sweep_ms; /* < 0: no sweep */
  int64_t (*clock_ms)(void *);
  void *clock_arg;
  _Atomic size_t entries;
  _Atomic size_t bytes;
  _Atomic uint64_t expired, evicted;
  atomic_ulong buckets; /* the table size last asked for */
  atomic_bool grow_wanted;
  atomic_uint evict_rr; /* round robin over other shards */
  /* the maintenance thread: growth and the sweep */
  pthread_mutex_t mlock;
  pthread_cond_t mcond;
  bool stop;
  bool thread_started;
  pthread_t thread;
  void *raw; /* the allocation m is aligned within */
  mc_ctr ctr[ROSTER__SHARDS + 1];
  mc_shard shards[MC_SHARDS_MAX];
} mc;

typedef struct mc_key {
  const void *p;
  size_t n;
} mc_key;

/* ---- inline helpers ---- */

static inline uint64_t mc_hash(const mc *m, const void *key, size_t n) {
  return XXH3_64bits_withSeed(key, n, m->seed);
}

static inline mc_shard *mc_shard_of(mc *m, uint64_t h) {
  return &m->shards[m->shard_bits ? h >> (64 - m->shard_bits) : 0];
}

static inline size_t mc_voff(size_t klen) { return (klen + 7) & ~(size_t)7; }

static inline unsigned char *mc_val(mc_entry *e) {
  return e->data + mc_voff(e->klen);
}

static inline mc_slide *mc_slide_of(mc_entry *e) {
  return (mc_slide *)(void *)mc_val(e);
}

/* mc_num: an MC_INT entry's counter (8-byte aligned, in the value). */
static inline _Atomic int64_t *mc_num(mc_entry *e) {
  return (_Atomic int64_t *)(void *)mc_val(e);
}

/* mc_charge: what an entry counts against max_bytes (stats.bytes). */
static inline size_t mc_charge(size_t klen, size_t vlen) {
  return sizeof(mc_entry) + mc_voff(klen) + vlen;
}

static inline int64_t mc_clock(const mc *m) {
  return m->clock_ms ? m->clock_ms(m->clock_arg) : roster__cache_now_ms();
}

/* mc_dead: e's TTL has passed. *now is read from the clock on first need
 * (INT64_MIN = not yet). */
static inline bool mc_dead(const mc *m, mc_entry *e, int64_t *now) {
  int64_t exp = atomic_load_explicit(&e->expire, memory_order_relaxed);
  if (ROSTER__LIKELY(exp == 0))
    return false;
  if (*now == INT64_MIN)
    *now = mc_clock(m);
  return *now >= exp;
}

static inline void mc_count(mc *m, bool hit) {
  int s = roster__tls_state.shard;
  _Atomic uint64_t *c = hit ? &m->ctr[s].hits : &m->ctr[s].misses;
  if (ROSTER__LIKELY(s < ROSTER__SHARDS))
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                          memory_order_relaxed);
  else
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* mc_kind_phrase: what an entry holds, for ROSTER_ETYPE details. */
static inline const char *mc_kind_phrase(uint8_t kind) {
  switch (kind) {
  case MC_BYTES:
    return "it holds bytes";
  case MC_JSON:
    return "it holds JSON";
  case MC_INT:
    return "it holds an int counter";
  default:
    return "it holds a sliding-window rate limiter's log";
  }
}

/* ---- memory.c ---- */

/* roster__memory_find: the live-or-dead entry for k; inside a read section, or
 * holding k's shard lock (then the result stays valid after the section). */
mc_entry *roster__memory_find(mc *m, uint64_t h, const mc_key *k);
/* roster__memory_find_locked: roster__memory_find with its own read section,
 * under the shard lock. */
mc_entry *roster__memory_find_locked(mc *m, uint64_t h, const mc_key *k);
/* roster__memory_alloc makes an unpublished entry for key with vlen value bytes
 * (an MC_INT gets its counter, 0). */
mc_entry *roster__memory_alloc(const void *key, size_t klen, uint8_t kind,
                               size_t vlen);
/* roster__memory_put_locked publishes e (of hash h) in place of whatever holds
 * its key (s locked). */
void roster__memory_put_locked(mc *m, mc_shard *s, mc_entry *e, uint64_t h,
                               const mc_key *k);
/* roster__memory_remove_locked takes e out of the table and s's list and frees
 * it after a grace period; expired says which counter to bump (or neither: a
 * plain delete passes -1). */
void roster__memory_remove_locked(mc *m, mc_shard *s, mc_entry *e, int why);
enum { MC_WHY_DEL = -1, MC_WHY_EXPIRED = 0, MC_WHY_EVICTED = 1 };
/* roster__memory_reap_shard frees s's batches whose grace period has passed,
 * and starts one for entries still gathering (the maintenance thread). */
void roster__memory_reap_shard(mc_shard *s);
/* roster__memory_free_retired frees everything s has retired at once (close:
 * there are no readers left). */
void roster__memory_free_retired(mc_shard *s);
/* roster__memory_after_write: eviction past the limits (s is the shard written,
 * unlocked; keep the entry just written) and table growth. */
void roster__memory_after_write(mc *m, mc_shard *s, mc_entry *keep);
/* roster__memory_evict_locked evicts from s while the store is over its limits.
 */
void roster__memory_evict_locked(mc *m, mc_shard *s, mc_entry *keep,
                                 int64_t *now);

/* ---- memory_patterns.c ---- */

int roster__memory_lock_acquire(void *impl, const void *key, size_t klen,
                                const char *token, int64_t ttl_ms);
int roster__memory_lock_release(void *impl, const void *key, size_t klen,
                                const char *token);
int roster__memory_lock_extend(void *impl, const void *key, size_t klen,
                               const char *token, int64_t ttl_ms);
int roster__memory_rate_fixed(void *impl, const void *key, size_t klen,
                              int64_t limit, int64_t window_ms,
                              roster_cache_rate *out);
int roster__memory_rate_sliding(void *impl, const void *key, size_t klen,
                                int64_t limit, int64_t window_ms,
                                roster_cache_rate *out);

/* ---- memory_maint.c ---- */

int roster__memory_check(const roster_url *url, const char *text,
                         const char *const *opts);
int roster__memory_open(const roster_url *url, const char *text,
                        const char *const *opts, void **impl);
void roster__memory_close(void *impl);
int roster__memory_clear(void *impl, const void *pattern, size_t plen,
                         size_t *removed);
int roster__memory_stats(void *impl, roster_cache_stats *out);
int roster__memory_info(void *impl, struct json_t **out);
/* mc_wake asks the maintenance thread to grow the table. */
void roster__memory_wake_grow(mc *m);

#endif /* ROSTER_MEMORY_IMPL_H */
