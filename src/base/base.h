/*
 * base.h: the bottom layer of the core library (src/base), below the
 * registry and every service.
 *
 * What every other part of the library writes with: the allocator
 * wrappers, the per-thread error detail and its escaping, the per-thread
 * RCU plumbing and its ThreadSanitizer annotations, starting a library
 * thread (base/helpers.h), wrapping another call's error, and the one glob
 * matcher. It includes only liburcu and roster's public error, allocator
 * and version headers: nothing of the registry, the lifecycle or a service,
 * so any layer may include it and it never includes a layer above.
 * Never installed.
 */
#ifndef ROSTER_BASE_H
#define ROSTER_BASE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Not _LGPL_SOURCE: liburcu-bp 0.13's inlined read side accesses its reader
 * struct (declared 128-byte aligned) at the arena's smaller alignment, which
 * is undefined behaviour that UBSan reports in our code. roster inlines the
 * same steps itself (roster__rlock below), reaching the reader's counter
 * through an unsigned long pointer instead of the struct. */
#include <urcu/urcu-bp.h> /* must come first: picks the bp flavour */

#include <urcu/static/urcu-bp.h> /* the reader's counter, for roster__rlock */

#include "roster/alloc.h"
#include "roster/error.h"
#include "roster/version.h"

#include "base/helpers.h"

#if defined(__GNUC__) || defined(__clang__)
#define ROSTER__LIKELY(x) __builtin_expect(!!(x), 1)
#define ROSTER__UNLIKELY(x) __builtin_expect(!!(x), 0)
#define ROSTER__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define ROSTER__LIKELY(x) (x)
#define ROSTER__UNLIKELY(x) (x)
#define ROSTER__PRINTF(f, a)
#endif

/* ---- ThreadSanitizer annotations ------------------------------------
 * liburcu is not instrumented, so TSan cannot see the ordering that RCU
 * publication (rcu_assign_pointer inside cds_lfht) and grace periods give.
 * We tell it, at the exact points where liburcu provides the ordering:
 * an entry is "released" before it is published and "acquired" by whoever
 * finds it; every read-section exit releases a global token that the reclaim
 * callbacks acquire (the grace period orders them). No-ops otherwise. */
#if defined(ROSTER_TSAN)
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define ROSTER__TSAN_ACQUIRE(p) __tsan_acquire((void *)(p))
#define ROSTER__TSAN_RELEASE(p) __tsan_release((void *)(p))
#else
#define ROSTER__TSAN_ACQUIRE(p) ((void)0)
#define ROSTER__TSAN_RELEASE(p) ((void)0)
#endif
extern int roster__grace_token;
extern int roster__barrier_token; /* reclaim callbacks -> rcu_barrier */

/* ---- allocation (alloc.c) ---- */
void *roster__malloc(size_t n);
void *roster__calloc(size_t c, size_t n);
void *roster__realloc(void *p, size_t n);
void roster__free(void *p);
char *roster__strndup(const char *s, size_t n);

/* ---- errors (error.c) ---- */
/* roster__err_known: code is ROSTER_OK or one of the codes in
 * ROSTER_ERRNO_MAP (anything else came from outside: a callback). */
bool roster__err_known(int code);
/* roster__err sets the thread's detail from a format and returns code. */
int roster__err(int code, const char *fmt, ...) ROSTER__PRINTF(2, 3);
/* roster__err_compose_fn writes a lazily recorded detail into buf (cap
 * bytes) when roster_last_error() asks for it: obj, serial, ns and name
 * (name_len bytes, NUL-terminated after them; it may hold NULs, as a
 * cache key may) are what roster__err_lazy recorded. Runs on the thread
 * that asks. */
typedef void (*roster__err_compose_fn)(void *obj, uint64_t serial,
                                       const char *ns, const char *name,
                                       size_t name_len, char *buf, size_t cap);
/* roster__err_lazy records a failure whose sentence is costly (the
 * registry's not-found with its "did you mean", a cache miss's quoted
 * key) or frequent (a miss is an answer, not a fault): only the code, obj
 * (which must outlive the thread's next error: the registry, checked
 * against its serial; a string literal) and the two names (each at most
 * 255 bytes, cut there) are kept; compose writes the sentence if and when
 * roster_last_error() is called. Returns code. */
int roster__err_lazy(int code, roster__err_compose_fn compose, void *obj,
                     uint64_t serial, const char *ns, size_t ns_len,
                     const char *name, size_t name_len);
/* roster__escape appends s (n bytes) to buf at *o (cap bytes in all, kept
 * NUL-terminated) in the form every outside string takes in an error: a
 * control byte (C0, DEL), a byte that is not UTF-8, a C1 control, a line
 * separator or a bidi override is written \xNN (each byte), so the text
 * can be printed or logged as is; a backslash too when backslash is set,
 * which makes the form unambiguous. Stops before a character that does
 * not fit; returns how many bytes of s it wrote. Every error detail goes
 * through it (roster__err, roster_error_set), so no detail holds a raw
 * control byte. */
size_t roster__escape(char *buf, size_t cap, size_t *o, const char *s, size_t n,
                      bool backslash);
/* roster__clean escapes in place, as roster__escape does (backslash
 * kept), whatever in the NUL-terminated text d (cap bytes) needs it: a
 * detail composed from outside strings (a foreign message, a name). Text
 * with nothing to escape is left as it is; text that grows past cap is cut
 * before the escape that does not fit. */
void roster__clean(char *d, size_t cap);
/* roster__quote writes name into buf (cap >= 8 bytes) escaped by
 * roster__escape (backslash included) and shortened with "..." if it does
 * not fit; returns buf. Use it for every name or key an error quotes. */
const char *roster__quote(char *buf, size_t cap, const char *name, size_t len);

/* roster__copy copies n bytes (no overlap). Copies up to 64 bytes (names,
 * keys, short values) are done inline with overlapping 8-byte loads and
 * stores: GCC turns a memcpy of a bounded but unknown length into
 * `rep movs`, whose start-up costs tens of cycles on short copies, and a
 * libc call costs its own dispatch. Longer copies call memcpy. */
void roster__copy_big(char *d, const char *s, size_t n); /* memcpy */
static inline void roster__copy8(char *d, const char *s) {
  uint64_t v;
  __builtin_memcpy(&v, s, 8);
  __builtin_memcpy(d, &v, 8);
}
static inline void roster__copy(char *d, const char *s, size_t n) {
  if (n >= 8 && n <= 64) {
    /* 8-byte blocks from the front, then the last 8 bytes (overlapping) */
    for (size_t i = 0; i + 8 < n; i += 8)
      roster__copy8(d + i, s + i);
    roster__copy8(d + n - 8, s + n - 8);
  } else if (n >= 4 && n < 8) {
    uint32_t a, z;
    __builtin_memcpy(&a, s, 4);
    __builtin_memcpy(&z, s + n - 4, 4);
    __builtin_memcpy(d, &a, 4);
    __builtin_memcpy(d + n - 4, &z, 4);
  } else if (n < 4) { /* not a loop: GCC would make it a memcpy call */
    if (n > 0)
      d[0] = s[0];
    if (n > 1)
      d[1] = s[1];
    if (n > 2)
      d[2] = s[2];
  } else {
    roster__copy_big(d, s, n);
  }
}

/* ---- per-thread plumbing (rcu.c) ---- */
#define ROSTER__SHARDS 64 /* owned counter shards; one more is shared */

/* ROSTER__TLS marks a thread-local read on a hot path initial-exec: in
 * libroster.so an access is then one %fs load, not a __tls_get_addr call
 * (a registry lookup through the shared library took half again as long,
 * a miss twice as long). The price: the library's whole thread-local
 * block goes into glibc's static TLS reserve (about 1.6 KB, shared by
 * every library loaded with dlopen()), so the block must stay small:
 * 360 bytes today, nothing large (the error detail is a page of its
 * own, error.c). test_dlopen loads the .so with dlopen(). */
#if defined(__GNUC__) || defined(__clang__)
#define ROSTER__TLS __attribute__((tls_model("initial-exec")))
#else
#define ROSTER__TLS
#endif

typedef struct roster__tls {
  int registered;    /* rcu_register_thread done */
  int shard;         /* owned shard, or ROSTER__SHARDS (shared) */
  unsigned deferred; /* roster__defer_batched calls since the last flush */
} roster__tls;
extern _Thread_local ROSTER__TLS roster__tls roster__tls_state;
void roster__thread_slow(void);
/* roster__thread_ensure makes the calling thread known to RCU (and gives
 * it a counter shard) on its first roster call; every entry point that
 * reads RCU-protected data calls it first. Threads roster starts
 * (roster__thread_start) register the same way, on first use. */
static inline void roster__thread_ensure(void) {
  if (ROSTER__UNLIKELY(!roster__tls_state.registered))
    roster__thread_slow();
}
/* Read sections: liburcu-bp's read lock and unlock, inlined. The counter
 * is the first member of the thread's reader struct, which liburcu places
 * at a smaller alignment than the struct declares, so it is reached
 * through an unsigned long pointer, never through the struct (UBSan). A
 * thread bp does not know yet (NULL) takes the library's call, which
 * registers it. Under TSan the library's calls are kept: a reader slot
 * reused by a later thread is ordered by liburcu's own (uninstrumented)
 * lock, which TSan cannot see. */
#if defined(ROSTER_TSAN)
static inline void roster__rlock(void) { urcu_bp_read_lock(); }
static inline void roster__runlock(void) {
  ROSTER__TSAN_RELEASE(&roster__grace_token);
  urcu_bp_read_unlock();
}
#else
/* liburcu-bp's reader pointer, read initial-exec too (its library is a
 * dependency of ours, so its small block is static TLS as well); only when
 * liburcu keeps it in a real thread-local (CONFIG_RCU_TLS) */
#ifdef CONFIG_RCU_TLS
extern URCU_TLS_STORAGE_CLASS ROSTER__TLS struct urcu_bp_reader *urcu_bp_reader;
#endif
static inline unsigned long *roster__rcu_ctr(void) {
  return (unsigned long *)(void *)URCU_TLS(urcu_bp_reader);
}
static inline void roster__rlock(void) {
  unsigned long *c = roster__rcu_ctr();
  if (ROSTER__UNLIKELY(!c)) {
    urcu_bp_read_lock();
    return;
  }
  cmm_barrier();
  unsigned long tmp = CMM_LOAD_SHARED(*c);
  if (ROSTER__LIKELY(!(tmp & URCU_BP_GP_CTR_NEST_MASK))) {
    CMM_STORE_SHARED(*c, CMM_LOAD_SHARED(urcu_bp_gp.ctr));
    urcu_bp_smp_mb_slave();
  } else {
    CMM_STORE_SHARED(*c, tmp + URCU_BP_GP_COUNT);
  }
}
static inline void roster__runlock(void) {
  unsigned long *c = roster__rcu_ctr();
  unsigned long tmp = CMM_LOAD_SHARED(*c);
  urcu_bp_smp_mb_slave();
  CMM_STORE_SHARED(*c, tmp - URCU_BP_GP_COUNT);
  cmm_barrier();
}
#endif
/* roster__reclaim_enter marks the reclaim thread (registered with RCU by
 * liburcu itself) as registered, so callbacks may call roster functions. */
static inline void roster__reclaim_enter(void) {
  if (!roster__tls_state.registered) {
    roster__tls_state.registered = 1;
    roster__tls_state.shard = ROSTER__SHARDS;
  }
}
/* roster__reclaim_exit ends a reclaim callback: what it did happens before
 * the return of any later roster__barrier. */
static inline void roster__reclaim_exit(void) {
  ROSTER__TSAN_RELEASE(&roster__barrier_token);
}
/* roster__barrier waits for every queued reclaim callback (rcu_barrier),
 * batched ones included. */
void roster__barrier(void);
/* roster__defer queues fn(head) after a grace period, on the reclaim thread. */
void roster__defer(struct rcu_head *head, void (*fn)(struct rcu_head *));
/* roster__defer_batched is roster__defer for frequent small retirements
 * (registry entries and key nodes): head joins a process-wide list (one
 * compare-and-swap), and the list goes to call_rcu as one callback when a
 * thread has added ROSTER__DEFER_BATCH since its last hand-over, or when
 * a timer callback (armed by the first addition to an empty list, run
 * after one grace period) finds it waiting. So fn runs after a grace
 * period, on the reclaim thread, at most about two grace periods later
 * than with roster__defer; roster__barrier waits for it too. */
#define ROSTER__DEFER_BATCH 64
void roster__defer_batched(struct rcu_head *head,
                           void (*fn)(struct rcu_head *));

/* ---- RCU hash table slots (rcu.c) ---- */
/* roster__tab: a hash table under RCU (the registry's key index, each
 * memory cache shard's index), open addressing with linear probing. Each
 * slot is 0 (empty: ends a probe), ROSTER__TOMB (a removed key: probes go
 * on) or an item pointer with 16 bits of its hash in the pointer's unused
 * top 16 bits, so a probe rejects other keys without touching them. Slots
 * never go from taken to empty, and items never move within a table, so a
 * reader finds every key present throughout its probe. Its writers hold
 * one lock (the owner's); a table that fills up (live + tombstones past
 * 1/2) is rebuilt into a new one, published with a release store, and the
 * old one is freed after a grace period (roster__tab_retire). */
typedef struct roster__tab {
  size_t mask; /* slots - 1 */
  size_t used; /* non-empty slots (live + tombstones); writers' lock */
  size_t live; /* live slots; writers' lock */
  struct rcu_head rcu;
  _Atomic uintptr_t slot[];
} roster__tab;

#define ROSTER__TOMB ((uintptr_t)1)
/* Slots pack 16 bits of the hash into a pointer's unused top bits, except
 * under AddressSanitizer: LeakSanitizer does not take a tagged pointer for
 * a reference, so a registry alive at exit would read as leaked entries.
 * The tag is only a filter; the key is compared either way. */
#if defined(__SANITIZE_ADDRESS__)
#define ROSTER__ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ROSTER__ASAN 1
#endif
#endif
#if UINTPTR_MAX > 0xFFFFFFFFu && !defined(ROSTER__ASAN)
#define ROSTER__TAG_SHIFT 48
#define ROSTER__PTR_MASK (((uintptr_t)1 << ROSTER__TAG_SHIFT) - 1)
#define ROSTER__TAG(h) ((uintptr_t)((h) >> 48) << ROSTER__TAG_SHIFT)
#else
#define ROSTER__PTR_MASK UINTPTR_MAX
#define ROSTER__TAG(h) ((uintptr_t)0)
#endif
/* roster__tab_new makes an empty table of slots (a power of two) slots,
 * or NULL when out of memory. */
roster__tab *roster__tab_new(size_t slots);
/* roster__tab_free frees t at once (no reader may see it). */
void roster__tab_free(roster__tab *t);
/* roster__tab_retire frees t after a grace period (readers may still be
 * probing it), on the reclaim thread. */
void roster__tab_retire(roster__tab *t);
/* roster__tab_rebuilt: a new table (not yet published) holding t's items
 * without its tombstones, twice as large when t's live keys (plus the one
 * about to go in) pass a quarter of it, else the same size; hash(item, ctx)
 * gives an item's hash. NULL when out of memory. Writers' lock held. */
roster__tab *roster__tab_rebuilt(const roster__tab *t,
                                 uint64_t (*hash)(const void *item,
                                                  const void *ctx),
                                 const void *ctx);
/* roster__tab_probe finds, writers' lock held, the item eq(item, key) says
 * is key, whose hash is h and slot tag tag: its slot's index, or SIZE_MAX
 * with *free_at the slot an insert should take (the probe's first
 * tombstone, else the empty slot that ended it). Inline, so eq is too. */
static inline size_t
roster__tab_probe(const roster__tab *t, uint64_t h, uintptr_t tag,
                  bool (*eq)(const void *item, const void *key),
                  const void *key, size_t *free_at) {
  size_t i = (size_t)h & t->mask, tomb = SIZE_MAX;
  for (;; i = (i + 1) & t->mask) {
    uintptr_t s = atomic_load_explicit(&t->slot[i], memory_order_relaxed);
    if (!s) {
      *free_at = tomb != SIZE_MAX ? tomb : i;
      return SIZE_MAX;
    }
    if (s == ROSTER__TOMB) {
      if (tomb == SIZE_MAX)
        tomb = i;
    } else if ((s & ~ROSTER__PTR_MASK) == tag &&
               eq((const void *)(s & ROSTER__PTR_MASK), key)) {
      return i;
    }
  }
}

/* ---- glob (glob.c) ---- */
/* The two dialects of the one matcher; glob.c states every rule. Both:
 * '*' any run of bytes, '?' one byte, '\' makes the next byte literal,
 * '[...]' one byte of a class with ranges "x-y".
 * - ROSTER__GLOB_NAMES (roster_select, roster_count, ...): '!' or '^'
 *   right after '[' negates; a ']' first in the class is a member; ranges
 *   compare unsigned bytes; a class with no ']' is a literal '['.
 * - ROSTER__GLOB_REDIS (roster_cache_clear on every backend): exactly
 *   Redis 7's stringmatchlen(pat, plen, s, slen, 0) as an x86-64 server
 *   runs it ('^' negates, signed ranges, an empty key matches only the
 *   empty pattern, the 1000-run '*' guard of the patched releases). */
typedef enum roster__glob_mode {
  ROSTER__GLOB_NAMES,
  ROSTER__GLOB_REDIS,
} roster__glob_mode;
/* roster__glob: does s[0..slen) match pat[0..plen) in mode? Pure: no
 * allocation, no recursion, no state, O(plen x slen) at worst; any bytes,
 * NUL included; pat and s may be NULL when their length is 0. */
bool roster__glob(const void *pat, size_t plen, const void *s, size_t slen,
                  roster__glob_mode mode);

#endif /* ROSTER_BASE_H */
