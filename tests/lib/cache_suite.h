/*
 * cache_suite.h: the cache conformance suite. Every cache backend runs the
 * same tests (tests/lib/cache_suite.c and cache_suite_patterns.c): each
 * backend's test program describes how to open a fresh cache in a
 * cache_suite_env and hands the suite's cases to cmocka:
 *
 *   static cache_suite_env env = {.name = "memory", .open = ..., ...};
 *   struct CMUnitTest t[CACHE_SUITE_MAX];
 *   size_t n = roster__cache_suite_tests(&env, t, CACHE_SUITE_MAX);
 *   return _cmocka_run_group_tests("cache_memory", t, n, NULL, NULL);
 *
 * Each case opens its own cache with env->open, so cases never see each
 * other's keys (a Redis backend gives each a fresh key prefix), and frees
 * it. Time: the suite never sleeps by itself; it calls env->advance, which
 * moves a test clock for the memory backend and sleeps for Redis. Windows
 * and TTLs are expressed in env->tick_ms, a span longer than any few cache
 * calls take on a loaded machine, so real-time backends stay free of
 * timing assumptions.
 */
#ifndef ROSTER_CACHE_SUITE_H
#define ROSTER_CACHE_SUITE_H

#include "testutil.h"

typedef struct cache_suite_env cache_suite_env;

struct cache_suite_env {
  const char *name; /* the backend, for messages: "memory", "redis" */
  /* open makes a new, empty cache; NULL on failure. */
  roster_cache *(*open)(const cache_suite_env *env);
  /* open_peer makes a second handle on c's store, as another process
   * would see it (its own single-flight table), or NULL where there is no
   * such thing (the plain memory backend): the cross-process cases are
   * skipped then. */
  roster_cache *(*open_peer)(const cache_suite_env *env, roster_cache *c);
  /* advance lets ms of the store's time pass. */
  void (*advance)(const cache_suite_env *env, roster_cache *c, int64_t ms);
  int64_t tick_ms; /* see above; at least 1 */
  void *arg;       /* the backend test's own */
};

/* CACHE_SUITE_MAX: room for every case. */
#define CACHE_SUITE_MAX 64

/* roster__cache_suite_tests writes the suite's cases into tests (at most cap),
 * each with env as its state, and returns how many it wrote. */
size_t roster__cache_suite_tests(const cache_suite_env *env,
                                 struct CMUnitTest *tests, size_t cap);

/* ---- shared between the suite's files ---- */

typedef struct cache_suite_case {
  const char *name;
  void (*fn)(void **state);
} cache_suite_case;

extern const cache_suite_case roster__cache_suite_value_cases[];
extern const cache_suite_case roster__cache_suite_pattern_cases[];

/* roster__cs_open opens a cache from the case's env, failing the case if it
 * cannot. */
roster_cache *roster__cs_open(void **state);
const cache_suite_env *roster__cs_env(void **state);

/* CS_K(lit): a string literal as (key, key_len). */
#define CS_K(lit) (lit), (sizeof(lit) - 1)

/* assert_bytes fails unless buf_ holds a bytes value equal to (want_,
 * want_len_). */
#define assert_bytes(buf_, want_, want_len_)                                   \
  do {                                                                         \
    const roster_cache_buf *b_ = (buf_);                                       \
    size_t l_ = (want_len_);                                                   \
    if (b_->kind != ROSTER_CACHE_BYTES || b_->len != l_ ||                     \
        (l_ && memcmp(b_->data, (want_), l_) != 0)) {                          \
      print_error("%s:%d: value is %s of %zu bytes, want %zu bytes\n",         \
                  __FILE__, __LINE__, roster_cache_kind_name(b_->kind),        \
                  b_->len, l_);                                                \
      fail();                                                                  \
    }                                                                          \
  } while (0)

#endif /* ROSTER_CACHE_SUITE_H */
