/*
 * cache_impl.h: the cache service's private header (src/cache only).
 *
 * The cache is a built-in service inside the core library, so it shares the
 * library's bottom layer (base/base.h): the same liburcu flavour and
 * per-thread registration, the reclaim thread, the ThreadSanitizer
 * annotations, the allocator wrappers, errors and the glob (Redis mode for
 * its key patterns); of the core it needs only core/service_impl.h (names,
 * URLs in errors) and core/driver_impl.h (the driver table), never the
 * registry's structures.
 * This header adds the handle
 * (struct roster_cache), the checks and error sentences the front end
 * (cache.c) shares with the patterns (cache_patterns.c), and the memory
 * backend's entry points. Never installed.
 */
#ifndef ROSTER_CACHE_IMPL_H
#define ROSTER_CACHE_IMPL_H

#include "base/base.h"
#include "core/driver_impl.h"
#include "core/service_impl.h"

#include "roster/cache.h"

/* ---- the handle (cache.c) ---- */

typedef struct roster__flight roster__flight;

#define ROSTER__FLIGHT_BUCKETS 64

struct roster_cache {
  const roster_cache_backend *be;
  void *impl; /* the backend's store */
  char name[64];
  size_t name_len; /* strlen(name): a miss records it */
  char scheme[40]; /* the URL's, or the driver's first */
  int64_t load_lock_ttl_ms;
  int64_t load_wait_ms;
  /* get_or_set single flight (cache_patterns.c): loads in progress, by
   * key hash, under flight_lock. */
  pthread_mutex_t flight_lock;
  roster__flight *flights[ROSTER__FLIGHT_BUCKETS];
  _Atomic uint64_t loads;
  _Atomic uint64_t load_waits;
};

/* roster__cache_enter: the prologue of every call on a cache: c is not
 * NULL ("roster_cache_<fn>: cache is NULL", ROSTER_EINVAL) and the thread
 * is known to RCU. */
static inline int roster__cache_enter(roster_cache *c, const char *fn) {
  if (ROSTER__UNLIKELY(!c))
    return roster__err(ROSTER_EINVAL, "roster_cache_%s: cache is NULL", fn);
  roster__thread_ensure();
  return ROSTER_OK;
}

/* roster__cache_open_with opens the cache at u (text as given) through
 * backend be: roster_cache_open once the driver is found, and the cache
 * face's open (cache_driver.c). */
int roster__cache_open_with(const roster_cache_backend *be, const roster_url *u,
                            const char *text, const char *const *opts,
                            const roster_cache_options *o, roster_cache **out);
/* roster__cache_check_key validates a key for op; on failure sets the
 * detail (naming c and op) and returns ROSTER_EINVAL. c must not be NULL.
 * Inline: every call checks a key; the failure is roster__cache_key_error. */
int roster__cache_key_error(roster_cache *c, const char *op, const void *key,
                            size_t len);
static inline int roster__cache_check_key(roster_cache *c, const char *op,
                                          const void *key, size_t len) {
  if (ROSTER__LIKELY(key && len && len <= ROSTER_CACHE_KEY_MAX))
    return ROSTER_OK;
  return roster__cache_key_error(c, op, key, len);
}
/* roster__cache_check_ttl: 0 or 1..ROSTER_CACHE_TTL_MAX; positive says
 * whether 0 is refused too (locks, windows). */
int roster__cache_check_ttl(roster_cache *c, const char *op, const char *what,
                            int64_t ttl_ms, bool positive);
/* roster__cache_fail turns a backend's code for op on key into the public
 * sentence: ENOENT, EBUSY and ESTATE get the front end's own; any other
 * code keeps the backend's detail behind the cache, op and key. op must be
 * a string literal: a miss keeps it by pointer, its sentence composed only
 * when roster_last_error() asks (roster__err_lazy). */
int roster__cache_fail(roster_cache *c, int rc, const char *op, const void *key,
                       size_t len);
/* roster__cache_qkey quotes a key for a detail (escaped, shortened). */
const char *roster__cache_qkey(char *buf, size_t cap, const void *key,
                               size_t len);
/* roster__cache_json_text serializes v (compact) into *text (roster
 * memory, NUL-terminated) and *len. ROSTER_EINVAL if jansson cannot. */
int roster__cache_json_text(const struct json_t *v, char **text, size_t *len);
/* roster__cache_json_parse parses a JSON value's text into *out. */
int roster__cache_json_parse(roster_cache *c, const void *key, size_t klen,
                             const roster_cache_buf *b, struct json_t **out);
/* roster__cache_kind_error: ROSTER_ETYPE for reading key as want when it
 * holds have. */
int roster__cache_kind_error(roster_cache *c, const void *key, size_t klen,
                             roster_cache_kind have, roster_cache_kind want);
/* roster__cache_buf_clear empties b (kind NONE, len 0), keeping memory. */
void roster__cache_buf_clear(roster_cache_buf *b);
/* roster__cache_buf_copy copies src's value into dst. */
int roster__cache_buf_copy(roster_cache_buf *dst, const roster_cache_buf *src);
/* roster__cache_now_ms: CLOCK_MONOTONIC in milliseconds. */
int64_t roster__cache_now_ms(void);
/* roster__cache_sleep_ms sleeps ms milliseconds. */
void roster__cache_sleep_ms(int64_t ms);
/* roster__cache_backoff_ms: the k-th retry's delay, 1..32 ms, jittered. */
int64_t roster__cache_backoff_ms(unsigned k);
/* roster__cache_random fills buf with n random bytes (getrandom). */
void roster__cache_random(void *buf, size_t n);
/* roster__cache_flights_free frees what is left of the flight table. */
void roster__cache_flights_free(roster_cache *c);

/* ---- the memory backend (memory*.c) ---- */

extern const roster_cache_backend roster__memory_backend;

/* roster__memory_options reads a memory:// URL's query and opts into *mo.
 * ROSTER_EINVAL naming an unknown key or a bad value. */
int roster__memory_options(const roster_url *url, const char *const *opts,
                           roster_cache_memory_options *mo);
/* roster__memory_open makes a memory store. */
int roster__memory_open_with(const roster_cache_memory_options *mo,
                             void **impl);

#endif /* ROSTER_CACHE_IMPL_H */
