/*
 * memory_impl.h: the memory backend's structures, shared by memory.c (the
 * value operations), memory_patterns.c (locks and rate limiters) and
 * memory_maint.c (expiry sweep, clear, stats, open and close).
 *
 * The store is one table per shard (roster__tab, base.h: open addressing
 * under RCU, 16 bits of the hash beside each entry pointer), keyed by
 * XXH3(key, per-store random seed); the top bits of the hash pick the
 * shard (one of up to 64). Reads (get, mget, ttl, exists) take no lock: an
 * RCU read section, one probe, a copy out. Entries are immutable once
 * published except for atomics (a counter's value, the expiry, the CLOCK
 * bit), so a write builds a new entry and swaps it into its key's slot
 * (one release store); the old one is freed after a grace period.
 *
 * Every change to a shard's table is made holding the shard's lock: that
 * makes each read-modify-write (incr, lock compare-and-delete, a rate
 * limiter's step) atomic without a retry loop, lets the writer grow its
 * shard's table in place of a background resize, and keeps each shard's
 * circular list of its entries, which the CLOCK eviction hand and the
 * expiry sweep walk. A writer that finds an entry under its shard lock may
 * use it without a read section: only a holder of that lock can remove it.
 */
#ifndef ROSTER_MEMORY_IMPL_H
#define ROSTER_MEMORY_IMPL_H

#include "cache_impl.h"

#include <sched.h>

#define XXH_INLINE_ALL
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
  /* What a read never touches comes first, so that what it does touch
   * (the rest, the key and the value) spans as few cache lines as it can.
   * No hash is kept: a rebuild or a removal hashes the key again. */
  union {
    struct {
      mc_entry *prev, *next; /* the shard's circular list (shard lock) */
    } l;
    struct rcu_head rcu; /* after it left the list, for reclaim */
  } u;
  uint32_t size; /* bytes allocated (a spare is reused by size) */
  /* What a read touches, together: */
  uint32_t klen;
  uint32_t vlen; /* bytes of value after the key */
  /* even: the value is stable; odd: a set is writing it in place (see
   * mc_val_read); only for values of at most MC_INPLACE_MAX bytes */
  _Atomic uint32_t seq;
  _Atomic int64_t expire; /* on the store's clock, ms; 0 = never */
  uint8_t kind;
  uint8_t flags;
  _Atomic uint8_t ref; /* CLOCK: read since the hand last passed */
  unsigned char data[] __attribute__((aligned(8))); /* key, pad, value;
                              an MC_INT's value is its _Atomic int64_t */
};
/* 48 bytes on 64-bit systems (docs/cache.md, "Memory"). */
_Static_assert(sizeof(mc_entry) == 48 || sizeof(void *) != 8,
               "mc_entry's header is 48 bytes");

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
  /* Set once an entry of the shard has had an expiry: the sweep walks only
   * such shards, so a store without TTLs is never walked. */
  _Atomic bool timed;
  /* Entries out of the table: the batch gathering them, batches waiting
   * for their grace period (oldest first), then spare batches, whose
   * entries the next sets reuse; nspare (spare batches) is read unlocked
   * as a hint. See mc_retire in memory.c. */
  struct mc_batch *gather;
  struct mc_batch *pend_head, *pend_tail;
  struct mc_batch *spare;
  _Atomic size_t nspare;
  size_t spare_bytes; /* the spare batches' bytes when they were kept */
} __attribute__((aligned(64))) mc_shard;

typedef struct mc_ctr {
  _Atomic uint64_t hits, misses;
} __attribute__((aligned(64))) mc_ctr;

typedef struct mc {
  /* Read-mostly, apart from the shards' locks: */
  roster__tab *_Atomic tabs[MC_SHARDS_MAX]; /* shard i's table (its lock) */
  uint64_t seed;
  unsigned shard_bits; /* log2 of the shard count */
  size_t max_entries, max_bytes;
  int64_t sweep_ms; /* < 0: no sweep */
  int64_t (*clock_ms)(void *);
  void *clock_arg;
  _Atomic size_t entries;
  _Atomic size_t bytes;
  _Atomic uint64_t expired, evicted;
  atomic_ulong buckets; /* slots of all the shards' tables */
  atomic_uint evict_rr; /* round robin over other shards */
  /* the maintenance thread: the sweep and idle shards' reclaim */
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

static inline unsigned mc_shard_ix(const mc *m, uint64_t h) {
  return m->shard_bits ? (unsigned)(h >> (64 - m->shard_bits)) : 0;
}

static inline mc_shard *mc_shard_of(mc *m, uint64_t h) {
  return &m->shards[mc_shard_ix(m, h)];
}

/* MC_TAG: the slot tag, bits 32-47 of the hash (the top bits pick the
 * shard, the low ones the slot). */
#define MC_TAG(h) ROSTER__TAG((uint64_t)(h) << 16)

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

/* In-place sets. A set that gives a bytes or JSON key a new value of the
 * same length (at most MC_INPLACE_MAX bytes) writes it into the entry
 * under the shard lock instead of replacing the entry: no allocation, no
 * grace period, the memory stays hot. Readers copy such values under a
 * sequence lock: the writer makes seq odd, stores the value with release
 * stores, and makes seq even again; a reader copies between two reads of
 * seq with acquire loads and tries again if seq was odd or changed. A
 * reader that saw any byte of a new value therefore sees seq changed. The
 * value's bytes are only ever read and written as atomics (8-byte words
 * from its 8-aligned start, then single bytes), so no access races. */
#define MC_INPLACE_MAX 512

/* mc_word_load copies the 8-byte word at src + i (8-aligned) to dst + i
 * as one atomic load. */
static inline void mc_word_load(unsigned char *dst, const unsigned char *src,
                                size_t i) {
  uint64_t w = atomic_load_explicit(
      (const _Atomic uint64_t *)(const void *)(src + i), memory_order_acquire);
  memcpy(dst + i, &w, 8);
}

/* mc_words_load copies n bytes from src (8-aligned) as atomic loads:
 * 8-byte words, then single bytes. Atomic loads are not merged or
 * vectorized, so the words go 32 bytes per turn of the loop: a 64-byte
 * value costs two turns instead of eight. */
static inline void mc_words_load(unsigned char *dst, const unsigned char *src,
                                 size_t n) {
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    mc_word_load(dst, src, i);
    mc_word_load(dst, src, i + 8);
    mc_word_load(dst, src, i + 16);
    mc_word_load(dst, src, i + 24);
  }
  for (; i + 8 <= n; i += 8)
    mc_word_load(dst, src, i);
  for (; i < n; i++)
    dst[i] = atomic_load_explicit(
        (const _Atomic unsigned char *)(const void *)(src + i),
        memory_order_acquire);
}

static inline void mc_val_read(mc_entry *e, const unsigned char *src,
                               unsigned char *dst, size_t n) {
  uint32_t s1 = atomic_load_explicit(&e->seq, memory_order_acquire);
  for (unsigned tries = 1;; tries++) {
    if (ROSTER__LIKELY(!(s1 & 1))) {
      mc_words_load(dst, src, n);
      uint32_t s2 = atomic_load_explicit(&e->seq, memory_order_relaxed);
      if (ROSTER__LIKELY(s2 == s1))
        return;
    }
    /* a set is writing it (under the shard lock, a short copy) */
    if (tries % 64 == 0)
      sched_yield(); /* the writer may have been preempted mid-copy */
    s1 = atomic_load_explicit(&e->seq, memory_order_acquire);
  }
}

/* mc_val_write writes n bytes (e's own length) into e's value in place;
 * the shard lock held. */
static inline void mc_val_write(mc_entry *e, const unsigned char *src,
                                size_t n) {
  unsigned char *dst = mc_val(e);
  uint32_t s = atomic_load_explicit(&e->seq, memory_order_relaxed);
  atomic_store_explicit(&e->seq, s + 1, memory_order_relaxed);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, src + i, 8);
    atomic_store_explicit((_Atomic uint64_t *)(void *)(dst + i), w,
                          memory_order_release);
  }
  for (; i < n; i++)
    atomic_store_explicit((_Atomic unsigned char *)(void *)(dst + i), src[i],
                          memory_order_release);
  atomic_store_explicit(&e->seq, s + 2, memory_order_release);
}

/* mc_charge: what an entry counts against max_bytes (stats.bytes). */
static inline size_t mc_charge(size_t klen, size_t vlen) {
  return sizeof(mc_entry) + mc_voff(klen) + vlen;
}

/* mc_size: the allocation for an entry (a multiple of 16, as malloc's). */
static inline size_t mc_size(size_t klen, size_t vlen) {
  return (sizeof(mc_entry) + mc_voff(klen) + vlen + 15) & ~(size_t)15;
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

/* mc_expire_at sets e's expiry (s, its shard, locked). */
static inline void mc_expire_at(mc_shard *s, mc_entry *e, int64_t exp) {
  if (exp)
    atomic_store_explicit(&s->timed, true, memory_order_relaxed);
  atomic_store_explicit(&e->expire, exp, memory_order_relaxed);
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

/* mc_key_is: e's key is k (the lengths already equal); keys of 4 to 16
 * bytes in two overlapping loads each, no call. */
static inline bool mc_key_is(const mc_entry *e, const mc_key *k) {
  const unsigned char *a = e->data, *b = k->p;
  size_t n = k->n;
  if (n >= 8 && n <= 16) {
    uint64_t a0, a1, b0, b1;
    memcpy(&a0, a, 8);
    memcpy(&b0, b, 8);
    memcpy(&a1, a + n - 8, 8);
    memcpy(&b1, b + n - 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
  }
  if (n >= 4 && n < 8) {
    uint32_t a0, a1, b0, b1;
    memcpy(&a0, a, 4);
    memcpy(&b0, b, 4);
    memcpy(&a1, a + n - 4, 4);
    memcpy(&b1, b + n - 4, 4);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
  }
  return memcmp(a, b, n) == 0;
}

/* roster__memory_find: the live-or-dead entry for k (of hash h): inside a
 * read section, or holding k's shard lock (then the result stays valid
 * after the section). Inline: it is the read path. */
static inline mc_entry *roster__memory_find(mc *m, uint64_t h,
                                            const mc_key *k) {
  const roster__tab *t =
      atomic_load_explicit(&m->tabs[mc_shard_ix(m, h)], memory_order_acquire);
  uintptr_t tag = MC_TAG(h);
  for (size_t i = (size_t)h & t->mask;; i = (i + 1) & t->mask) {
    uintptr_t s = atomic_load_explicit(&t->slot[i], memory_order_acquire);
    if (!s)
      return NULL;
    if ((s & ~ROSTER__PTR_MASK) == tag && s != ROSTER__TOMB) {
      mc_entry *e = (mc_entry *)(s & ROSTER__PTR_MASK);
      ROSTER__TSAN_ACQUIRE(e);
      if (e->klen == k->n && mc_key_is(e, k))
        return e;
    }
  }
}
/* roster__memory_find_locked: roster__memory_find under the shard lock. */
static inline mc_entry *roster__memory_find_locked(mc *m, uint64_t h,
                                                   const mc_key *k) {
  return roster__memory_find(m, h, k);
}
/* roster__memory_alloc makes an unpublished entry for key with vlen value bytes
 * (an MC_INT gets its counter, 0). */
mc_entry *roster__memory_alloc(const void *key, size_t klen, uint8_t kind,
                               size_t vlen);
/* roster__memory_init makes e (size bytes, enough) such an entry. */
mc_entry *roster__memory_init(mc_entry *e, size_t size, const void *key,
                              size_t klen, uint8_t kind, size_t vlen);
/* roster__memory_put_locked publishes e (of hash h) in place of whatever holds
 * its key (s locked). ROSTER_ENOMEM (with its detail; e not taken) only
 * when the shard's table is full and cannot grow. */
int roster__memory_put_locked(mc *m, mc_shard *s, mc_entry *e, uint64_t h,
                              const mc_key *k);
/* roster__memory_remove_locked takes e out of the table and s's list and frees
 * it after a grace period; expired says which counter to bump (or neither: a
 * plain delete passes -1). */
void roster__memory_remove_locked(mc *m, mc_shard *s, mc_entry *e, int why);
enum { MC_WHY_DEL = -1, MC_WHY_EXPIRED = 0, MC_WHY_EVICTED = 1 };
/* roster__memory_after_write: eviction past the limits (s is the shard written,
 * unlocked; keep the entry just written). */
void roster__memory_after_write(mc *m, mc_shard *s, mc_entry *keep);
/* roster__memory_evict_locked evicts from s while the store is over its limits.
 */
void roster__memory_evict_locked(mc *m, mc_shard *s, mc_entry *keep,
                                 int64_t *now);

/* ---- memory_retire.c ---- */

/* roster__memory_retire: e has left the table and s's list (s locked); it
 * is freed, or reused, after a grace period. */
void roster__memory_retire(mc_shard *s, mc_entry *e);
/* roster__memory_spare: a spare entry of s (its grace period passed) with
 * room for size bytes, or NULL (s locked). */
mc_entry *roster__memory_spare(mc_shard *s, size_t size);
/* roster__memory_reap_shard frees s's batches whose grace period has passed
 * and its spares, and starts one for entries still gathering (the
 * maintenance thread). */
void roster__memory_reap_shard(mc_shard *s);
/* roster__memory_free_retired frees everything s has retired at once (close:
 * there are no readers left). */
void roster__memory_free_retired(mc_shard *s);

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

#endif /* ROSTER_MEMORY_IMPL_H */
