/*
 * roster/cache.h: the cache service: binary keys to values with TTLs, the
 * patterns people build on a cache (a lock, rate limiters, cache-aside with
 * one loader per key), over a backend chosen by URL scheme.
 *
 * A roster_cache is a handle on one store. Two backends implement it:
 * memory:// (built in: lock-free reads, TTLs, optional limits with
 * eviction; src/cache/memory.c) and redis:// (the Redis module). Every
 * operation behaves the same on both; tests/lib/cache_suite.c is the
 * conformance suite each backend runs.
 *
 * Keys are byte strings (any byte, NUL included) of 1 to
 * ROSTER_CACHE_KEY_MAX bytes, always passed as (pointer, length). Values
 * are one of three kinds, stored with a kind tag so that reading a value as
 * the wrong kind is a clear ROSTER_ETYPE on every backend:
 *   bytes  (roster_cache_set_bytes)  any bytes, up to ROSTER_CACHE_VALUE_MAX;
 *   JSON   (roster_cache_set_json)   a jansson tree, stored as compact text;
 *   int    (roster_cache_incr, roster_cache_set_int)  a signed 64-bit counter.
 * A backend that keeps values as strings (Redis) stores a bytes value as
 * the byte 'b' followed by the bytes, a JSON value as 'j' followed by its
 * text, and an int as its decimal text with no tag (so INCR works on it).
 * A string with neither a tag nor an integer's form (written by some other
 * program) reads as bytes, whole.
 *
 * TTLs are milliseconds. 0 means no expiry; negative is ROSTER_EINVAL and
 * more than ROSTER_CACHE_TTL_MAX is ROSTER_ERANGE. roster_cache_ttl answers
 * like Redis PTTL: -1 for a key with no expiry, -2 for a missing key. An
 * expired key is gone for every operation at once (lazily); the backend
 * frees its memory later (the memory backend's sweep, Redis's own).
 *
 * Errors: every call returns ROSTER_OK or a negative roster code with a
 * sentence in roster_last_error() naming the cache, the key (non-printable
 * bytes escaped) and the cause; a backend's foreign message (Redis's error
 * text) is kept verbatim inside it. A missing key is ROSTER_ENOENT. Bad
 * input (a NULL cache, key or output, an empty or over-long key, a bad TTL
 * or limit, a value too large) is ROSTER_EINVAL or ROSTER_ERANGE and
 * changes nothing.
 *
 * Threads: a roster_cache may be used by any number of threads at once;
 * every call is thread-safe except roster_cache_free. Calls block only on
 * the backend (a Redis round trip; the memory backend never blocks a
 * reader), lock_acquire on its wait, and get_or_set on another caller's
 * loader. Callbacks (loaders) run on the calling thread with no cache or
 * roster lock held.
 *
 * Registry: a cache is a service like any other. Declare it from a URL
 * (roster_provide_url(r, NULL, "sessions", "memory://sessions", NULL), or
 * a `services:` config entry) and get it back typed with roster_cache_find.
 */
#ifndef ROSTER_CACHE_H
#define ROSTER_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "driver.h"
#include "registry.h"
#include "url.h"

#ifdef __cplusplus
extern "C" {
#endif

struct json_t; /* jansson's tree; include <jansson.h> to build or read one */

/* ROSTER_CACHE_KEY_MAX is the longest key, in bytes. */
#define ROSTER_CACHE_KEY_MAX 65536
/* ROSTER_CACHE_VALUE_MAX is the largest value, in bytes (Redis's limit). */
#define ROSTER_CACHE_VALUE_MAX ((size_t)512 * 1024 * 1024)
/* ROSTER_CACHE_TTL_MAX is the longest TTL, in milliseconds (100 years). */
#define ROSTER_CACHE_TTL_MAX INT64_C(3155760000000)
/* ROSTER_CACHE_LIMIT_MAX is the largest sliding-window rate limit. */
#define ROSTER_CACHE_LIMIT_MAX 1000000

/* roster_cache: a handle on one store. Opaque; made by roster_cache_open,
 * roster_cache_memory_new or roster_cache_new, freed by roster_cache_free
 * (or by the registry, for a cache declared as a service). */
typedef struct roster_cache roster_cache;

/* roster_cache_kind: what a value is. */
typedef enum roster_cache_kind {
  ROSTER_CACHE_NONE = 0,  /* no value: an empty buffer, a miss in mget */
  ROSTER_CACHE_BYTES = 1, /* bytes, as given */
  ROSTER_CACHE_JSON = 2,  /* a JSON tree, kept as compact text */
  ROSTER_CACHE_INT = 3,   /* a signed 64-bit counter */
} roster_cache_kind;

/* roster_cache_kind_name: "none", "bytes", "json", "int" ("?" otherwise). */
ROSTER_EXTERN const char *roster_cache_kind_name(roster_cache_kind kind);

/* roster_cache_key: one key, for the calls that take many. */
typedef struct roster_cache_key {
  const void *data; /* the key's bytes */
  size_t len;       /* 1 to ROSTER_CACHE_KEY_MAX */
} roster_cache_key;

/* roster_cache_buf: a value read from a cache, in memory the caller owns.
 * {0} is an empty buffer. roster grows data as needed (roster_mem_realloc)
 * and keeps it between reads, so one buffer reused across reads costs no
 * allocation once it is large enough; free it with roster_cache_buf_close.
 * On a failed read the buffer is left empty (kind NONE, len 0). */
typedef struct roster_cache_buf {
  roster_cache_kind kind; /* what the value is */
  unsigned char *data;    /* bytes: the bytes; JSON: its text; int: its
                             decimal text. Always NUL-terminated
                             (data[len] == 0), NULL until first used */
  size_t len;             /* bytes in data, not counting the NUL */
  size_t cap;             /* bytes allocated (roster's business) */
  int64_t num;            /* int: the number */
} roster_cache_buf;

/* roster_cache_buf_close frees b's memory and leaves it empty ({0}). NULL
 * is a no-op. */
ROSTER_EXTERN void roster_cache_buf_close(roster_cache_buf *b);

/* roster_cache_buf_set stores a copy of data (len bytes) as a value of
 * kind in b. For ROSTER_CACHE_INT data is decimal text ("-42"), parsed into
 * num: ROSTER_EPARSE if it is not a 64-bit integer. For loaders and
 * backends. ROSTER_EINVAL for a NULL b, kind NONE, or data NULL with len >
 * 0; ROSTER_ENOMEM. */
ROSTER_EXTERN int roster_cache_buf_set(roster_cache_buf *b,
                                       roster_cache_kind kind, const void *data,
                                       size_t len);

/* roster_cache_buf_set_int stores the counter value num in b. */
ROSTER_EXTERN int roster_cache_buf_set_int(roster_cache_buf *b, int64_t num);

/* ------------------------------------------------------------------ */
/* Opening and closing                                                 */

/* roster_cache_options: settings every backend shares. {0} = defaults. */
typedef struct roster_cache_options {
  const char *name;         /* shown in error details; copied. NULL: the
                               URL's host (memory://NAME), else the scheme */
  int64_t load_lock_ttl_ms; /* get_or_set on a shared backend: the TTL of
                               the lock the loading process holds; 10000 */
  int64_t load_wait_ms;     /* how long get_or_set waits for another
                               process's loader before ROSTER_ETIMEDOUT;
                               2 x load_lock_ttl_ms */
} roster_cache_options;

/* roster_cache_open opens the cache that url names, through the backend
 * registered for its scheme ("memory://sessions?max_entries=1000").
 * opts is NULL or a NULL-terminated array of key, value pairs the backend
 * reads besides the URL's query ({"max_entries", "1000", NULL}); a key it
 * does not know is ROSTER_EINVAL naming it. o may be NULL. ROSTER_EPARSE
 * for a malformed URL, ROSTER_ENOTSUP for a scheme no driver with a cache
 * face serves (the detail lists the schemes registered), else the
 * backend's error. *out is the new cache, or NULL on failure. Passwords
 * never appear in details. */
ROSTER_EXTERN int roster_cache_open(const char *url, const char *const *opts,
                                    const roster_cache_options *o,
                                    roster_cache **out);

/* roster_cache_memory_options: the memory backend. {0} = defaults. The
 * same settings are URL query keys: memory://NAME?max_entries=N&
 * max_bytes=N&sweep_ms=N&shards=N&buckets=N (max_bytes takes k, m, g
 * suffixes: 64m). */
typedef struct roster_cache_memory_options {
  size_t max_entries;             /* 0: no limit. Past it, writes evict (CLOCK,
                                     see docs/cache.md); locks are never evicted */
  size_t max_bytes;               /* 0: no limit. Counts keys, values and each
                                     entry's overhead (roster_cache_stats.bytes) */
  int64_t sweep_ms;               /* how often a background thread frees expired
                                     keys; 0 = 1000; < 0: never (expired keys are
                                     still invisible, and freed when touched) */
  unsigned shards;                /* write shards, a power of two up to 64; 0 =
                                     64, or fewer when max_entries is small (each
                                     shard evicts on its own) */
  size_t initial_buckets;         /* hash table size hint; 0 = 1024; it grows */
  int64_t (*clock_ms)(void *arg); /* the clock TTLs run on, in ms, never
                              going back; NULL = CLOCK_MONOTONIC. Tests
                              pass a clock they move by hand. Called on
                              any thread, with a shard lock possibly held */
  void *clock_arg;                /* passed to clock_ms */
} roster_cache_memory_options;

/* roster_cache_memory_new makes an empty memory cache. mo and o may be
 * NULL. ROSTER_EINVAL for a bad option (the detail names it),
 * ROSTER_ENOMEM, ROSTER_ESYS if the sweep thread cannot start. */
ROSTER_EXTERN int roster_cache_memory_new(const roster_cache_memory_options *mo,
                                          const roster_cache_options *o,
                                          roster_cache **out);

/* roster_cache_free closes the cache and frees it (the backend's close:
 * the memory backend frees every entry, Redis returns its connections).
 * NULL is a no-op. No other thread may be using c, nor any lock taken in
 * it be held, during or after this call. */
ROSTER_EXTERN void roster_cache_free(roster_cache *c);

/* roster_cache_name returns the name c was given ("" for NULL). */
ROSTER_EXTERN const char *roster_cache_name(const roster_cache *c);

/* roster_cache_scheme returns the scheme c was opened with ("memory"). */
ROSTER_EXTERN const char *roster_cache_scheme(const roster_cache *c);

/* roster_cache_health is ROSTER_OK when the store answers (Redis: PING on
 * a pooled connection), else the backend's error. */
ROSTER_EXTERN int roster_cache_health(roster_cache *c);

/* ------------------------------------------------------------------ */
/* Values                                                              */

/* roster_cache_set_bytes stores a copy of data (len bytes; data may be
 * NULL when len is 0) under key as a bytes value, replacing whatever the
 * key held (and its TTL). ttl_ms 0: no expiry. ROSTER_ERANGE for a value
 * over ROSTER_CACHE_VALUE_MAX, or larger than a memory cache's max_bytes. */
ROSTER_EXTERN int roster_cache_set_bytes(roster_cache *c, const void *key,
                                         size_t key_len, const void *data,
                                         size_t len, int64_t ttl_ms);

/* roster_cache_set_json stores value (any JSON value; jansson's
 * json_dumps with JSON_COMPACT | JSON_ENCODE_ANY) under key as a JSON
 * value. The tree is only read. ROSTER_EINVAL if it cannot be serialized
 * (a NaN or infinite real). */
ROSTER_EXTERN int roster_cache_set_json(roster_cache *c, const void *key,
                                        size_t key_len,
                                        const struct json_t *value,
                                        int64_t ttl_ms);

/* roster_cache_set_int stores num under key as a counter (what
 * roster_cache_incr makes). */
ROSTER_EXTERN int roster_cache_set_int(roster_cache *c, const void *key,
                                       size_t key_len, int64_t num,
                                       int64_t ttl_ms);

/* roster_cache_get_bytes reads the bytes value under key into out.
 * ROSTER_ENOENT if the key is missing or expired; ROSTER_ETYPE if it holds
 * another kind (the detail says which, and the call that reads it). */
ROSTER_EXTERN int roster_cache_get_bytes(roster_cache *c, const void *key,
                                         size_t key_len, roster_cache_buf *out);

/* roster_cache_get_json parses the JSON value under key into a new tree
 * (*out; the caller owns it: json_decref). ROSTER_ENOENT, ROSTER_ETYPE as
 * above; ROSTER_EPARSE (jansson's message) if the stored text is not JSON.
 * *out is NULL on failure. */
ROSTER_EXTERN int roster_cache_get_json(roster_cache *c, const void *key,
                                        size_t key_len, struct json_t **out);

/* roster_cache_get_int reads the counter under key into *out. ROSTER_ENOENT,
 * ROSTER_ETYPE as above. */
ROSTER_EXTERN int roster_cache_get_int(roster_cache *c, const void *key,
                                       size_t key_len, int64_t *out);

/* roster_cache_get_value reads the value under key, of any kind, into out
 * (out->kind says which). ROSTER_ENOENT if missing; ROSTER_ETYPE if the key
 * holds something that is not a value (a sliding-window rate limiter). */
ROSTER_EXTERN int roster_cache_get_value(roster_cache *c, const void *key,
                                         size_t key_len, roster_cache_buf *out);

/* roster_cache_del removes key. ROSTER_ENOENT if it was missing (nothing
 * to remove; callers that only want it gone may ignore that code). */
ROSTER_EXTERN int roster_cache_del(roster_cache *c, const void *key,
                                   size_t key_len);

/* roster_cache_del_many removes the n keys and stores in *removed (may be
 * NULL) how many existed. keys may be NULL when n is 0. */
ROSTER_EXTERN int roster_cache_del_many(roster_cache *c,
                                        const roster_cache_key *keys, size_t n,
                                        size_t *removed);

/* roster_cache_exists sets *out to whether key holds anything. */
ROSTER_EXTERN int roster_cache_exists(roster_cache *c, const void *key,
                                      size_t key_len, bool *out);

/* roster_cache_ttl stores the key's remaining time to live in *ttl_ms:
 * milliseconds (at least 1), -1 if it has no expiry, -2 if it is missing
 * (as Redis PTTL; both are ROSTER_OK). */
ROSTER_EXTERN int roster_cache_ttl(roster_cache *c, const void *key,
                                   size_t key_len, int64_t *ttl_ms);

/* roster_cache_expire sets the key's TTL to ttl_ms from now, or removes
 * its expiry when ttl_ms is 0 (unlike Redis PEXPIRE 0, which deletes: 0
 * means "no expiry" everywhere in this API). ROSTER_ENOENT if missing. */
ROSTER_EXTERN int roster_cache_expire(roster_cache *c, const void *key,
                                      size_t key_len, int64_t ttl_ms);

/* roster_cache_incr_by atomically adds delta to the counter under key and
 * stores the new value in *out (may be NULL). A missing key starts at 0
 * with no expiry; an existing counter keeps its TTL. ROSTER_ETYPE if the
 * key holds bytes or JSON; ROSTER_ERANGE if the result would overflow
 * (the counter is unchanged). */
ROSTER_EXTERN int roster_cache_incr_by(roster_cache *c, const void *key,
                                       size_t key_len, int64_t delta,
                                       int64_t *out);

/* roster_cache_incr is roster_cache_incr_by with delta 1. */
ROSTER_EXTERN int roster_cache_incr(roster_cache *c, const void *key,
                                    size_t key_len, int64_t *out);

/* roster_cache_decr is roster_cache_incr_by with delta -1. */
ROSTER_EXTERN int roster_cache_decr(roster_cache *c, const void *key,
                                    size_t key_len, int64_t *out);

/* roster_cache_mget reads n keys in one call (one round trip on Redis)
 * into out[0..n-1]: a value of any kind, or kind NONE for a key that is
 * missing or holds no value (as Redis MGET answers nil for a key of another
 * type). Returns ROSTER_OK even if every key is missing; a backend failure
 * fails the whole call. */
ROSTER_EXTERN int roster_cache_mget(roster_cache *c,
                                    const roster_cache_key *keys, size_t n,
                                    roster_cache_buf *out);

/* roster_cache_item: one key and value for roster_cache_mset. */
typedef struct roster_cache_item {
  const void *key; /* the key */
  size_t key_len;
  roster_cache_kind kind;    /* BYTES, JSON or INT */
  const void *data;          /* BYTES: the bytes */
  size_t len;                /* BYTES: how many */
  const struct json_t *json; /* JSON: the tree */
  int64_t num;               /* INT: the counter */
} roster_cache_item;

/* roster_cache_mset stores n items in one call (one round trip on Redis),
 * each with ttl_ms (0: no expiry). Every item is checked before anything is
 * stored: one bad item fails the call and stores nothing. Each key is set
 * atomically; the group is not (a reader of a memory cache may see some
 * keys set before the others). */
ROSTER_EXTERN int roster_cache_mset(roster_cache *c,
                                    const roster_cache_item *items, size_t n,
                                    int64_t ttl_ms);

/* roster_cache_clear removes every key matching pattern, a Redis glob
 * ('*' any run, '?' one byte, '[abc]', '[a-z]', '[^a]', '\' escapes) over
 * the key's bytes with Redis 7's exact rules on every backend (signed
 * ranges over high bytes and the other corner cases: docs/cache.md), or
 * every key when pattern is NULL, and stores the count in *removed (may
 * be NULL). A key written while clear runs may or may not be removed. On
 * Redis this is SCAN + UNLINK in batches, never KEYS. ROSTER_EINVAL for
 * an empty or over-long pattern. */
ROSTER_EXTERN int roster_cache_clear(roster_cache *c, const void *pattern,
                                     size_t pattern_len, size_t *removed);

/* roster_cache_stats: a snapshot of counters. Exact once the cache is
 * quiet; approximate while others write. */
typedef struct roster_cache_stats {
  uint64_t entries;     /* keys held (memory: including expired keys not
                           yet freed; Redis: its database's, DBSIZE) */
  uint64_t bytes;       /* memory: bytes held for keys, values and entry
                           overhead; Redis: the server's used_memory */
  uint64_t hits;        /* reads that found a value (Redis: server-wide
                           keyspace_hits) */
  uint64_t misses;      /* reads that did not (Redis: keyspace_misses) */
  uint64_t expired;     /* keys removed because their TTL passed */
  uint64_t evicted;     /* keys removed to stay within the limits */
  uint64_t max_entries; /* the limits; 0 = none */
  uint64_t max_bytes;
  uint64_t loads;      /* get_or_set loader calls made through c */
  uint64_t load_waits; /* get_or_set calls through c that waited for
                          another caller's loader instead of running one */
} roster_cache_stats;

/* roster_cache_stats_get fills *out. */
ROSTER_EXTERN int roster_cache_stats_get(roster_cache *c,
                                         roster_cache_stats *out);

/* roster_cache_info stores in *out a new JSON object describing the store
 * (Redis: INFO parsed into an object of sections; memory: its settings and
 * counters); the caller owns it (json_decref). ROSTER_ENOTSUP if the
 * backend has no info. */
ROSTER_EXTERN int roster_cache_info(roster_cache *c, struct json_t **out);

/* ------------------------------------------------------------------ */
/* Patterns: lock, rate limiters, cache-aside                          */

/* roster_cache_lock: a held lock. Caller-allocated; filled by
 * roster_cache_lock_acquire, emptied by roster_cache_lock_release. */
typedef struct roster_cache_lock {
  roster_cache *cache; /* where it was taken */
  unsigned char *key;  /* a copy of the key (owned) */
  size_t key_len;
  char token[33]; /* 128 random bits, hex: who holds it */
} roster_cache_lock;

/* roster_cache_lock_acquire takes the lock named key for ttl_ms (> 0):
 * the key is set to a random token only if it does not exist (Redis: SET
 * key token NX PX ttl), so across threads and processes one holder at a
 * time has it, until it releases it or the TTL passes. If the key is held,
 * it retries (with jittered backoff, 1 to 32 ms apart) for up to wait_ms:
 * 0 tries once (ROSTER_EBUSY if held), < 0 waits without limit, else
 * ROSTER_ETIMEDOUT once wait_ms have passed. On success *lock holds a copy
 * of the key and the token. A lock is an ordinary key: choose one that
 * holds nothing else ("lock:orders"). The memory backend never evicts a
 * held lock. */
ROSTER_EXTERN int roster_cache_lock_acquire(roster_cache *c, const void *key,
                                            size_t key_len, int64_t ttl_ms,
                                            int64_t wait_ms,
                                            roster_cache_lock *lock);

/* roster_cache_lock_extend resets a held lock's TTL to ttl_ms, only if
 * lock still holds it (compare-and-pexpire by script on Redis).
 * ROSTER_ESTATE if it does not any more (its TTL passed; someone else may
 * hold it now): the lock is not touched and the caller must stop work that
 * needed it. */
ROSTER_EXTERN int roster_cache_lock_extend(roster_cache_lock *lock,
                                           int64_t ttl_ms);

/* roster_cache_lock_release deletes the lock's key only if lock still holds
 * it (compare-and-delete by script on Redis; never a blind DEL), then
 * empties *lock, whatever the result. ROSTER_ESTATE if the lock had been
 * lost meanwhile (nothing is deleted: another holder's lock is safe).
 * An empty lock ({0}) is ROSTER_EINVAL. */
ROSTER_EXTERN int roster_cache_lock_release(roster_cache_lock *lock);

/* roster_cache_rate: the answer of a rate limiter. */
typedef struct roster_cache_rate {
  bool allowed;      /* this request is within the limit */
  int64_t count;     /* requests counted in the window, this one included
                        (fixed: every request; sliding: allowed ones) */
  int64_t remaining; /* limit - count, at least 0 */
  int64_t reset_ms;  /* until the count drops: fixed, the window's end;
                        sliding, the oldest counted request leaving it */
  int64_t retry_ms;  /* 0 if allowed, else when to try again (reset_ms) */
} roster_cache_rate;

/* roster_cache_rate_fixed counts a request against key in a fixed window:
 * the first request starts a window of window_ms, every request in it
 * increments the counter (atomically with setting the window's expiry: one
 * round trip on Redis), and requests past limit are not allowed until the
 * window ends. The key holds an int counter. limit >= 1, window_ms > 0 and
 * at most ROSTER_CACHE_TTL_MAX, else ROSTER_EINVAL. ROSTER_ETYPE if the key
 * holds something else. Returns ROSTER_OK whether or not it is allowed. */
ROSTER_EXTERN int roster_cache_rate_fixed(roster_cache *c, const void *key,
                                          size_t key_len, int64_t limit,
                                          int64_t window_ms,
                                          roster_cache_rate *out);

/* roster_cache_rate_sliding allows a request if fewer than limit requests
 * were allowed under key in the last window_ms (a sliding log: Redis keeps
 * a sorted set of timestamps, trimmed, counted and added to by one script;
 * the memory backend a ring of timestamps). Denied requests are not
 * counted. The key expires window_ms after its newest request. limit is
 * 1 to ROSTER_CACHE_LIMIT_MAX. Errors as roster_cache_rate_fixed. */
ROSTER_EXTERN int roster_cache_rate_sliding(roster_cache *c, const void *key,
                                            size_t key_len, int64_t limit,
                                            int64_t window_ms,
                                            roster_cache_rate *out);

/* roster_cache_load_fn makes the value for key on a miss: it stores it in
 * out (roster_cache_buf_set with ROSTER_CACHE_BYTES) and returns ROSTER_OK,
 * or returns an error code with a detail (roster_error_set). It runs on the
 * calling thread with no lock held, and may use the cache (other keys). */
typedef int (*roster_cache_load_fn)(void *arg, const void *key, size_t key_len,
                                    roster_cache_buf *out);

/* roster_cache_get_or_set reads the bytes value under key into out; on a
 * miss it calls fn to make it, stores it with ttl_ms and returns it. Only
 * one caller per key runs fn at a time: concurrent callers in this process
 * wait for that call (for as long as it runs) and all get its value, or its
 * error and detail (errors are not cached). On a shared backend (Redis),
 * the loading process also holds a lock (key + "\0roster:load", for
 * load_lock_ttl_ms) and other processes poll the key (1 to 32 ms apart)
 * until the value appears, taking the lock themselves if it is released or
 * expires without one, for up to load_wait_ms (then ROSTER_ETIMEDOUT). If
 * the value was made but could not be stored, that error is returned with
 * out holding the value. fn calling get_or_set on its own key is
 * ROSTER_EBUSY. ROSTER_ETYPE if key holds another kind. */
ROSTER_EXTERN int roster_cache_get_or_set(roster_cache *c, const void *key,
                                          size_t key_len, int64_t ttl_ms,
                                          roster_cache_load_fn fn, void *arg,
                                          roster_cache_buf *out);

/* roster_cache_load_json_fn is roster_cache_load_fn for JSON values: it
 * stores a new tree in *out (the cache takes that reference). */
typedef int (*roster_cache_load_json_fn)(void *arg, const void *key,
                                         size_t key_len, struct json_t **out);

/* roster_cache_get_or_set_json is roster_cache_get_or_set for JSON values:
 * *out is a new tree (json_decref it), each caller its own. */
ROSTER_EXTERN int roster_cache_get_or_set_json(roster_cache *c, const void *key,
                                               size_t key_len, int64_t ttl_ms,
                                               roster_cache_load_json_fn fn,
                                               void *arg, struct json_t **out);

/* ------------------------------------------------------------------ */
/* Registry integration                                                */

/* roster_cache_type: the type of cache services (destroy frees the cache,
 * health is roster_cache_health). */
ROSTER_EXTERN extern const roster_type roster_cache_type;

/* roster_cache_find stores in *out the cache service (ns, name) (ns NULL:
 * the default namespace), declared from a URL or registered with
 * roster_cache_type, creating it if it is lazy and not yet up: the typed
 * lookup of every area (ROSTER_DEFINE_FIND in registry.h). Errors as
 * roster_get (ROSTER_ETYPE if the service is not a cache). The pointer is
 * valid while the service is up; hold it across a shutdown with
 * roster_acquire. */
ROSTER_EXTERN int roster_cache_find(roster *r, const char *ns, const char *name,
                                    roster_cache **out);

/* ------------------------------------------------------------------ */
/* Backends                                                            */

/* ROSTER_CACHE_BACKEND_VERSION: the layout of roster_cache_backend; a
 * backend sets its version field to this. */
#define ROSTER_CACHE_BACKEND_VERSION 2

/* ROSTER_CACHE_SHARED (roster_cache_backend.flags): other processes may
 * use the same store, so get_or_set serializes loaders with the lock too. */
#define ROSTER_CACHE_SHARED 1u

/* roster_cache_val: a value handed to a backend's set. */
typedef struct roster_cache_val {
  roster_cache_kind kind; /* BYTES, JSON or INT */
  const void *data;       /* BYTES: the bytes; JSON: compact JSON text */
  size_t len;
  int64_t num; /* INT */
} roster_cache_val;

/* roster_cache_backend: the operations a store implements: the cache face
 * of a driver (roster/driver.h), registered with roster_driver_register
 * as {&roster_cache_face, &backend} among the driver's faces; the
 * driver's schemes are the cache's. The front end (src/cache/cache.c) checks
 * every argument before calling an operation, so a backend sees only valid keys
 * (1 to ROSTER_CACHE_KEY_MAX bytes), TTLs (0 = none, else 1 to
 * ROSTER_CACHE_TTL_MAX), limits and non-NULL outputs, and never n == 0. It
 * writes the sentences for ROSTER_ENOENT (missing key), ROSTER_EBUSY (lock
 * held) and ROSTER_ESTATE (lock lost), so a backend returns those codes without
 * a detail; for any other failure the backend sets a detail (roster_error_set,
 * a foreign message verbatim) and the front end prefixes the cache and key.
 * Every operation may be called from any thread, concurrently, and must be
 * atomic per key as documented for the public call it serves. Every
 * member is required except where marked optional. */
typedef struct roster_cache_backend {
  unsigned version; /* ROSTER_CACHE_BACKEND_VERSION */
  unsigned flags;   /* ROSTER_CACHE_SHARED, or 0 */
  /* check (optional) validates url and opts without I/O, when a cache
   * service is declared from a URL, so a bad option fails there. */
  int (*check)(const roster_url *url, const char *text,
               const char *const *opts);
  /* open makes a store from url (text is the URL as given; opts as for
   * roster_cache_open) into *impl. Required to register; a backend used
   * only through roster_cache_new may leave it NULL. */
  int (*open)(const roster_url *url, const char *text, const char *const *opts,
              void **impl);
  void (*close)(void *impl); /* frees the store: roster_cache_free */
  /* get: the value into out (roster_cache_buf_set/_set_int); ENOENT if
   * missing; ETYPE for a key that holds no value. */
  int (*get)(void *impl, const void *key, size_t key_len,
             roster_cache_buf *out);
  int (*set)(void *impl, const void *key, size_t key_len,
             const roster_cache_val *val, int64_t ttl_ms);
  /* del: removes keys, *removed = how many existed. */
  int (*del)(void *impl, const roster_cache_key *keys, size_t n,
             size_t *removed);
  int (*pttl)(void *impl, const void *key, size_t key_len, int64_t *out);
  /* expire: ttl_ms 0 removes the expiry; ENOENT if missing. */
  int (*expire)(void *impl, const void *key, size_t key_len, int64_t ttl_ms);
  /* incr: ETYPE for another kind, ERANGE on overflow. */
  int (*incr)(void *impl, const void *key, size_t key_len, int64_t delta,
              int64_t *out);
  int (*mget)(void *impl, const roster_cache_key *keys, size_t n,
              roster_cache_buf *out);
  int (*mset)(void *impl, const roster_cache_key *keys,
              const roster_cache_val *vals, size_t n, int64_t ttl_ms);
  /* clear: pattern NULL = every key of this store. */
  int (*clear)(void *impl, const void *pattern, size_t pattern_len,
               size_t *removed);
  /* stats: every field but loads and load_waits (the front end's). */
  int (*stats)(void *impl, roster_cache_stats *out);
  /* lock_acquire: set key to token (32 hex digits, stored as a bytes
   * value, so get_bytes reads the token) if absent, for ttl_ms; EBUSY if
   * the key exists. lock_release / lock_extend: delete / re-TTL the key
   * only if it holds token, atomically; ESTATE if it does not. */
  int (*lock_acquire)(void *impl, const void *key, size_t key_len,
                      const char *token, int64_t ttl_ms);
  int (*lock_release)(void *impl, const void *key, size_t key_len,
                      const char *token);
  int (*lock_extend)(void *impl, const void *key, size_t key_len,
                     const char *token, int64_t ttl_ms);
  /* rate_fixed / rate_sliding: as the public calls, each one atomic step
   * (one round trip on Redis). */
  int (*rate_fixed)(void *impl, const void *key, size_t key_len, int64_t limit,
                    int64_t window_ms, roster_cache_rate *out);
  int (*rate_sliding)(void *impl, const void *key, size_t key_len,
                      int64_t limit, int64_t window_ms, roster_cache_rate *out);
  int (*health)(void *impl);                    /* optional: OK */
  int (*info)(void *impl, struct json_t **out); /* optional: ENOTSUP */
} roster_cache_backend;

/* roster_cache_face: the kind of cache faces (roster/driver.h). A URL
 * whose driver has a cache face opens with roster_cache_open and declares
 * a cache service (roster_cache_type) with roster_provide_url: lazily,
 * opened on first roster_cache_find, the backend's check run at once. */
ROSTER_EXTERN extern const roster_face_kind roster_cache_face;

/* roster_cache_new makes a cache over a store impl that the caller opened
 * itself through the cache face of driver d (checked as by
 * roster_driver_register, except that open may be NULL; d need not be
 * registered). roster_cache_scheme is d's first scheme. The cache owns
 * impl from now on (the backend's close frees it with the cache). On
 * failure impl is not touched. o may be NULL. */
ROSTER_EXTERN int roster_cache_new(const roster_driver *d, void *impl,
                                   const roster_cache_options *o,
                                   roster_cache **out);

#ifdef __cplusplus
}
#endif

#endif /* ROSTER_CACHE_H */
