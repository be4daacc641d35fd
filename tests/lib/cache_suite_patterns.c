/*
 * cache_suite_patterns.c: the conformance suite's pattern cases (see
 * cache_suite.h): the lock (holder-only release and extend, mutual
 * exclusion across real threads, asserted with a counter incremented
 * non-atomically under it), the fixed- and sliding-window rate limiters
 * (semantics, and exact allowed counts under concurrency), and get_or_set
 * (the loader's value and errors, single flight in process, and across
 * handles as separate processes see the store when the backend has them).
 * Worker threads only record; the test's thread asserts after joining.
 */
#include "cache_suite.h"

#include <jansson.h>
#include <sched.h>
#include <stdlib.h>

/* ---- locks ---------------------------------------------------------- */

static void t_lock(void **state) {
  const cache_suite_env *env = roster__cs_env(state);
  roster_cache *c = roster__cs_open(state);
  const int64_t ttl = 2 * env->tick_ms;
  roster_cache_lock a = {0}, b = {0};
  roster_cache_buf v = {0};
  assert_ok(roster_cache_lock_acquire(c, CS_K("lock:job"), ttl, 0, &a));
  assert_int_equal(strlen(a.token), 32);
  assert_ptr_equal(a.cache, c);
  /* held: a second acquire fails at once, or after its wait */
  assert_rc(roster_cache_lock_acquire(c, CS_K("lock:job"), ttl, 0, &b),
            ROSTER_EBUSY);
  assert_contains(roster_last_error(), "lock:job");
  assert_null(b.key);
  roster_cache_lock l2 = {0};
  assert_ok(roster_cache_lock_acquire(c, CS_K("lock:long"), 1000 * env->tick_ms,
                                      0, &l2));
  assert_rc(roster_cache_lock_acquire(c, CS_K("lock:long"), ttl, 20, &b),
            ROSTER_ETIMEDOUT); /* held far longer than the wait */
  assert_contains(roster_last_error(), "after waiting");
  assert_ok(roster_cache_lock_release(&l2));
  /* the lock reads as a bytes value holding the holder's token */
  assert_ok(roster_cache_get_bytes(c, CS_K("lock:job"), &v));
  assert_bytes(&v, a.token, 32);
  /* someone with another token can neither release nor extend it */
  roster_cache_lock forged = a;
  forged.key = malloc(a.key_len);
  memcpy(forged.key, a.key, a.key_len);
  forged.token[0] = forged.token[0] == 'a' ? 'b' : 'a';
  assert_rc(roster_cache_lock_extend(&forged, ttl), ROSTER_ESTATE);
  assert_rc(roster_cache_lock_release(&forged), ROSTER_ESTATE);
  assert_null(forged.key); /* emptied whatever the result */
  assert_ok(roster_cache_get_bytes(c, CS_K("lock:job"), &v));
  assert_bytes(&v, a.token, 32); /* still a's */
  assert_ok(roster_cache_lock_extend(&a, ttl));
  /* a's TTL passes: b takes it; a can no longer release or extend, and
   * trying does not touch b's lock */
  env->advance(env, c, 2 * ttl);
  assert_ok(roster_cache_lock_acquire(c, CS_K("lock:job"), ttl, 0, &b));
  assert_rc(roster_cache_lock_extend(&a, ttl), ROSTER_ESTATE);
  assert_contains(roster_last_error(), "no longer held");
  assert_rc(roster_cache_lock_release(&a), ROSTER_ESTATE);
  assert_null(a.key);
  assert_ok(roster_cache_get_bytes(c, CS_K("lock:job"), &v));
  assert_bytes(&v, b.token, 32);
  assert_ok(roster_cache_lock_release(&b));
  bool e = true;
  assert_ok(roster_cache_exists(c, CS_K("lock:job"), &e));
  assert_false(e);
  /* an empty lock, bad TTLs */
  assert_rc(roster_cache_lock_release(&b), ROSTER_EINVAL);
  assert_rc(roster_cache_lock_release(NULL), ROSTER_EINVAL);
  assert_rc(roster_cache_lock_extend(&b, ttl), ROSTER_EINVAL);
  assert_rc(roster_cache_lock_acquire(c, CS_K("lock:x"), 0, 0, &b),
            ROSTER_EINVAL);
  assert_rc(roster_cache_lock_acquire(c, CS_K("lock:x"), -1, 0, &b),
            ROSTER_EINVAL);
  assert_rc(roster_cache_lock_acquire(c, CS_K("lock:x"), ttl, 0, NULL),
            ROSTER_EINVAL);
  assert_ok(roster_cache_exists(c, CS_K("lock:x"), &e));
  assert_false(e);
  /* a key that holds a value is not free */
  assert_ok(roster_cache_set_bytes(c, CS_K("plain"), "v", 1, 0));
  assert_rc(roster_cache_lock_acquire(c, CS_K("plain"), ttl, 0, &b),
            ROSTER_EBUSY);
  roster_cache_buf_close(&v);
  roster_cache_free(c);
}

enum { LOCK_THREADS = 4, LOCK_EACH = 100 };

typedef struct lock_arg {
  roster_cache *c;
  int64_t ttl;
  pthread_barrier_t *go;
  atomic_long *counter; /* incremented as load, yield, store: not atomic */
  atomic_int *inside;
  int violations, errors;
} lock_arg;

static void *lock_main(void *p) {
  lock_arg *a = p;
  pthread_barrier_wait(a->go);
  for (int i = 0; i < LOCK_EACH; i++) {
    roster_cache_lock lk;
    if (roster_cache_lock_acquire(a->c, CS_K("lock:counter"), a->ttl,
                                  LC_LONG_MS, &lk) != ROSTER_OK) {
      a->errors++;
      continue;
    }
    if (atomic_fetch_add(a->inside, 1) != 0)
      a->violations++;
    long v = atomic_load_explicit(a->counter, memory_order_relaxed);
    sched_yield(); /* invite a lost update, were the lock broken */
    atomic_store_explicit(a->counter, v + 1, memory_order_relaxed);
    atomic_fetch_sub(a->inside, 1);
    if (roster_cache_lock_release(&lk) != ROSTER_OK)
      a->errors++;
  }
  return NULL;
}

static void t_lock_threads(void **state) {
  const cache_suite_env *env = roster__cs_env(state);
  roster_cache *c = roster__cs_open(state);
  pthread_barrier_t go;
  pthread_barrier_init(&go, NULL, LOCK_THREADS);
  atomic_long counter = 0;
  atomic_int inside = 0;
  pthread_t th[LOCK_THREADS];
  lock_arg a[LOCK_THREADS];
  for (int i = 0; i < LOCK_THREADS; i++) {
    a[i] = (lock_arg){c, 1000 * env->tick_ms, &go, &counter, &inside, 0, 0};
    assert_int_equal(pthread_create(&th[i], NULL, lock_main, &a[i]), 0);
  }
  for (int i = 0; i < LOCK_THREADS; i++)
    pthread_join(th[i], NULL);
  for (int i = 0; i < LOCK_THREADS; i++) {
    assert_int_equal(a[i].errors, 0);
    assert_int_equal(a[i].violations, 0);
  }
  assert_int_equal(atomic_load(&counter), LOCK_THREADS * LOCK_EACH);
  pthread_barrier_destroy(&go);
  roster_cache_free(c);
}

/* ---- rate limiters -------------------------------------------------- */

static void t_rate_fixed(void **state) {
  const cache_suite_env *env = roster__cs_env(state);
  roster_cache *c = roster__cs_open(state);
  const int64_t w = 1000 * env->tick_ms;
  roster_cache_rate r;
  for (int i = 1; i <= 5; i++) {
    assert_ok(roster_cache_rate_fixed(c, CS_K("rf"), 3, w, &r));
    assert_int_equal(r.allowed, i <= 3);
    assert_int_equal(r.count, i);
    assert_int_equal(r.remaining, i <= 3 ? 3 - i : 0);
    assert_true(r.reset_ms > 0 && r.reset_ms <= w);
    if (i <= 3)
      assert_int_equal(r.retry_ms, 0);
    else
      assert_int_equal(r.retry_ms, r.reset_ms);
  }
  int64_t n = 0;
  assert_ok(roster_cache_get_int(c, CS_K("rf"), &n)); /* an int counter */
  assert_int_equal(n, 5);
  /* the window ends: a new one starts */
  assert_ok(roster_cache_rate_fixed(c, CS_K("short"), 1, 2 * env->tick_ms, &r));
  assert_true(r.allowed);
  assert_ok(roster_cache_rate_fixed(c, CS_K("short"), 1, 2 * env->tick_ms, &r));
  assert_false(r.allowed);
  env->advance(env, c, 3 * env->tick_ms);
  assert_ok(roster_cache_rate_fixed(c, CS_K("short"), 1, 2 * env->tick_ms, &r));
  assert_true(r.allowed);
  assert_int_equal(r.count, 1);
  /* a counter with no expiry gets the window's */
  assert_ok(roster_cache_incr(c, CS_K("plain"), NULL));
  assert_ok(roster_cache_rate_fixed(c, CS_K("plain"), 10, w, &r));
  assert_int_equal(r.count, 2);
  int64_t t = 0;
  assert_ok(roster_cache_ttl(c, CS_K("plain"), &t));
  assert_true(t > 0 && t <= w);
  /* wrong kinds and bad limits change nothing */
  assert_ok(roster_cache_set_bytes(c, CS_K("b"), "v", 1, 0));
  assert_rc(roster_cache_rate_fixed(c, CS_K("b"), 3, w, &r), ROSTER_ETYPE);
  roster_cache_buf v = {0};
  assert_ok(roster_cache_get_bytes(c, CS_K("b"), &v));
  assert_bytes(&v, "v", 1);
  assert_rc(roster_cache_rate_fixed(c, CS_K("n"), 0, w, &r), ROSTER_EINVAL);
  assert_rc(roster_cache_rate_fixed(c, CS_K("n"), 3, 0, &r), ROSTER_EINVAL);
  assert_rc(roster_cache_rate_fixed(c, CS_K("n"), 3, -5, &r), ROSTER_EINVAL);
  assert_rc(
      roster_cache_rate_fixed(c, CS_K("n"), 3, ROSTER_CACHE_TTL_MAX + 1, &r),
      ROSTER_ERANGE);
  assert_rc(roster_cache_rate_fixed(c, CS_K("n"), 3, w, NULL), ROSTER_EINVAL);
  bool e = true;
  assert_ok(roster_cache_exists(c, CS_K("n"), &e));
  assert_false(e);
  roster_cache_buf_close(&v);
  roster_cache_free(c);
}

static void t_rate_sliding(void **state) {
  const cache_suite_env *env = roster__cs_env(state);
  roster_cache *c = roster__cs_open(state);
  const int64_t tick = env->tick_ms, w = 4 * tick;
  roster_cache_rate r;
  /* two at t0, the third denied */
  assert_ok(roster_cache_rate_sliding(c, CS_K("rs"), 2, w, &r));
  assert_true(r.allowed);
  assert_int_equal(r.count, 1);
  assert_ok(roster_cache_rate_sliding(c, CS_K("rs"), 2, w, &r));
  assert_true(r.allowed);
  assert_int_equal(r.remaining, 0);
  assert_ok(roster_cache_rate_sliding(c, CS_K("rs"), 2, w, &r));
  assert_false(r.allowed);
  assert_int_equal(r.count, 2); /* denied requests are not counted */
  assert_true(r.retry_ms > 0 && r.retry_ms <= w);
  /* halfway: still denied; past the window: allowed again */
  env->advance(env, c, 2 * tick);
  assert_ok(roster_cache_rate_sliding(c, CS_K("rs"), 2, w, &r));
  assert_false(r.allowed);
  env->advance(env, c, 3 * tick);
  assert_ok(roster_cache_rate_sliding(c, CS_K("rs"), 2, w, &r));
  assert_true(r.allowed);
  assert_int_equal(r.count, 1);
  /* requests leave one at a time (unlike a fixed window) */
  assert_ok(roster_cache_rate_sliding(c, CS_K("one"), 2, w, &r)); /* t0 */
  env->advance(env, c, 2 * tick);
  assert_ok(roster_cache_rate_sliding(c, CS_K("one"), 2, w, &r)); /* t2 */
  assert_true(r.allowed);
  assert_ok(roster_cache_rate_sliding(c, CS_K("one"), 2, w, &r));
  assert_false(r.allowed);
  env->advance(env, c, 3 * tick); /* t5: t0 has left, t2 has not */
  assert_ok(roster_cache_rate_sliding(c, CS_K("one"), 2, w, &r));
  assert_true(r.allowed);
  assert_int_equal(r.count, 2);
  assert_ok(roster_cache_rate_sliding(c, CS_K("one"), 2, w, &r));
  assert_false(r.allowed);
  /* a larger limit keeps what was counted */
  assert_ok(roster_cache_rate_sliding(c, CS_K("grow"), 2, 1000 * tick, &r));
  assert_ok(roster_cache_rate_sliding(c, CS_K("grow"), 2, 1000 * tick, &r));
  assert_ok(roster_cache_rate_sliding(c, CS_K("grow"), 3, 1000 * tick, &r));
  assert_true(r.allowed);
  assert_int_equal(r.count, 3);
  assert_ok(roster_cache_rate_sliding(c, CS_K("grow"), 3, 1000 * tick, &r));
  assert_false(r.allowed);
  /* the log is not a value: ETYPE for the readers, NONE in mget; it has a
   * TTL and can be deleted */
  roster_cache_buf v = {0};
  int64_t n = 0, t = 0;
  assert_rc(roster_cache_get_bytes(c, CS_K("grow"), &v), ROSTER_ETYPE);
  assert_rc(roster_cache_get_value(c, CS_K("grow"), &v), ROSTER_ETYPE);
  assert_rc(roster_cache_incr(c, CS_K("grow"), &n), ROSTER_ETYPE);
  assert_rc(roster_cache_rate_fixed(c, CS_K("grow"), 3, w, &r), ROSTER_ETYPE);
  roster_cache_key k = {"grow", 4};
  assert_ok(roster_cache_mget(c, &k, 1, &v));
  assert_int_equal(v.kind, ROSTER_CACHE_NONE);
  assert_ok(roster_cache_ttl(c, CS_K("grow"), &t));
  assert_true(t > 0 && t <= 1000 * tick);
  assert_ok(roster_cache_del(c, CS_K("grow")));
  /* wrong kinds and bad limits */
  assert_ok(roster_cache_set_bytes(c, CS_K("b"), "v", 1, 0));
  assert_rc(roster_cache_rate_sliding(c, CS_K("b"), 2, w, &r), ROSTER_ETYPE);
  assert_rc(roster_cache_rate_sliding(c, CS_K("x"), 0, w, &r), ROSTER_EINVAL);
  assert_rc(roster_cache_rate_sliding(c, CS_K("x"), ROSTER_CACHE_LIMIT_MAX + 1,
                                      w, &r),
            ROSTER_EINVAL);
  assert_rc(roster_cache_rate_sliding(c, CS_K("x"), 2, 0, &r), ROSTER_EINVAL);
  bool e = true;
  assert_ok(roster_cache_exists(c, CS_K("x"), &e));
  assert_false(e);
  roster_cache_buf_close(&v);
  roster_cache_free(c);
}

enum { RATE_THREADS = 4, RATE_EACH = 50, RATE_LIMIT = 60 };

typedef struct rate_arg {
  roster_cache *c;
  bool sliding;
  int64_t window;
  pthread_barrier_t *go;
  int allowed, errors;
} rate_arg;

static void *rate_main(void *p) {
  rate_arg *a = p;
  pthread_barrier_wait(a->go);
  for (int i = 0; i < RATE_EACH; i++) {
    roster_cache_rate r;
    int rc = a->sliding ? roster_cache_rate_sliding(a->c, CS_K("api"),
                                                    RATE_LIMIT, a->window, &r)
                        : roster_cache_rate_fixed(a->c, CS_K("api"), RATE_LIMIT,
                                                  a->window, &r);
    if (rc)
      a->errors++;
    else
      a->allowed += r.allowed;
  }
  return NULL;
}

static void rate_threads(void **state, bool sliding) {
  const cache_suite_env *env = roster__cs_env(state);
  roster_cache *c = roster__cs_open(state);
  pthread_barrier_t go;
  pthread_barrier_init(&go, NULL, RATE_THREADS);
  pthread_t th[RATE_THREADS];
  rate_arg a[RATE_THREADS];
  for (int i = 0; i < RATE_THREADS; i++) {
    a[i] = (rate_arg){c, sliding, 1000 * env->tick_ms, &go, 0, 0};
    assert_int_equal(pthread_create(&th[i], NULL, rate_main, &a[i]), 0);
  }
  int allowed = 0;
  for (int i = 0; i < RATE_THREADS; i++) {
    pthread_join(th[i], NULL);
    allowed += a[i].allowed;
  }
  for (int i = 0; i < RATE_THREADS; i++)
    assert_int_equal(a[i].errors, 0);
  assert_int_equal(allowed, RATE_LIMIT);
  if (!sliding) {
    int64_t n = 0;
    assert_ok(roster_cache_get_int(c, CS_K("api"), &n));
    assert_int_equal(n, RATE_THREADS * RATE_EACH);
  }
  pthread_barrier_destroy(&go);
  roster_cache_free(c);
}

static void t_rate_fixed_threads(void **state) { rate_threads(state, false); }
static void t_rate_sliding_threads(void **state) { rate_threads(state, true); }

/* ---- get_or_set ----------------------------------------------------- */

typedef struct loader {
  atomic_int calls;
  int fail;          /* return this (with a detail) instead */
  const char *value; /* what to load */
  bool no_value;     /* return OK with nothing */
  roster_cache *c;   /* for the cases that look at the cache */
  int waiters;       /* wait until c's load_waits reach this */
  tu_gate *gate;     /* or until this opens */
  int inner_rc;      /* get_or_set of the same key, from inside */
  bool recurse;
} loader;

static int load_fn(void *arg, const void *key, size_t klen,
                   roster_cache_buf *out) {
  loader *l = arg;
  atomic_fetch_add(&l->calls, 1);
  if (l->waiters) {
    roster_cache_stats s = {0};
    uint64_t end = roster__tu_now_ns() + 10ull * 1000000000u; /* a hang guard */
    while (roster__tu_now_ns() < end && (roster_cache_stats_get(l->c, &s) ||
                                         s.load_waits < (uint64_t)l->waiters))
      roster__tu_sleep_ms(1);
  }
  if (l->gate)
    roster__tu_gate_wait(l->gate, LC_LONG_MS);
  if (l->recurse) {
    roster_cache_buf inner = {0};
    l->inner_rc =
        roster_cache_get_or_set(l->c, key, klen, 0, load_fn, l, &inner);
    roster_cache_buf_close(&inner);
  }
  if (l->fail)
    return roster_error_set(l->fail, "the database said no");
  if (l->no_value)
    return ROSTER_OK;
  return roster_cache_buf_set(out, ROSTER_CACHE_BYTES, l->value,
                              strlen(l->value));
}

static int load_json_fn(void *arg, const void *key, size_t klen,
                        struct json_t **out) {
  (void)key;
  (void)klen;
  loader *l = arg;
  atomic_fetch_add(&l->calls, 1);
  if (l->fail)
    return roster_error_set(l->fail, "no row");
  *out = json_pack("{s:s, s:i}", "name", l->value, "id", 7);
  return ROSTER_OK;
}

static void t_get_or_set(void **state) {
  const cache_suite_env *env = roster__cs_env(state);
  roster_cache *c = roster__cs_open(state);
  const int64_t ttl = 1000 * env->tick_ms;
  roster_cache_buf b = {0};
  loader l = {.value = "loaded", .c = c};
  assert_ok(roster_cache_get_or_set(c, CS_K("k"), ttl, load_fn, &l, &b));
  assert_bytes(&b, "loaded", 6);
  assert_int_equal(atomic_load(&l.calls), 1);
  int64_t t = 0;
  assert_ok(roster_cache_ttl(c, CS_K("k"), &t));
  assert_true(t > 0 && t <= ttl);
  l.value = "other";
  assert_ok(roster_cache_get_or_set(c, CS_K("k"), ttl, load_fn, &l, &b));
  assert_bytes(&b, "loaded", 6); /* a hit: no second load */
  assert_int_equal(atomic_load(&l.calls), 1);
  roster_cache_stats s;
  assert_ok(roster_cache_stats_get(c, &s));
  assert_int_equal(s.loads, 1);
  /* a failing loader: its code and detail, nothing cached, retried */
  loader f = {.fail = ROSTER_EIO, .c = c};
  assert_rc(roster_cache_get_or_set(c, CS_K("f"), ttl, load_fn, &f, &b),
            ROSTER_EIO);
  assert_contains(roster_last_error(), "the database said no");
  assert_contains(roster_last_error(), "loader");
  assert_int_equal(b.kind, ROSTER_CACHE_NONE);
  bool e = true;
  assert_ok(roster_cache_exists(c, CS_K("f"), &e));
  assert_false(e);
  f.fail = 0;
  f.value = "second try";
  assert_ok(roster_cache_get_or_set(c, CS_K("f"), ttl, load_fn, &f, &b));
  assert_bytes(&b, "second try", 10);
  assert_int_equal(atomic_load(&f.calls), 2);
  /* a loader that makes nothing is an error, and stores nothing */
  loader nv = {.no_value = true, .c = c};
  assert_rc(roster_cache_get_or_set(c, CS_K("nv"), ttl, load_fn, &nv, &b),
            ROSTER_EINVAL);
  assert_contains(roster_last_error(), "no value");
  assert_ok(roster_cache_exists(c, CS_K("nv"), &e));
  assert_false(e);
  /* a key of another kind: ETYPE, no load */
  assert_ok(roster_cache_set_int(c, CS_K("n"), 1, 0));
  loader other = {.value = "x", .c = c};
  assert_rc(roster_cache_get_or_set(c, CS_K("n"), ttl, load_fn, &other, &b),
            ROSTER_ETYPE);
  assert_int_equal(atomic_load(&other.calls), 0);
  /* a loader asking for its own key gets EBUSY instead of a deadlock */
  loader rec = {.value = "outer", .c = c, .recurse = true};
  assert_ok(roster_cache_get_or_set(c, CS_K("rec"), ttl, load_fn, &rec, &b));
  assert_bytes(&b, "outer", 5);
  assert_int_equal(rec.inner_rc, ROSTER_EBUSY);
  /* bad arguments */
  assert_rc(roster_cache_get_or_set(c, CS_K("z"), ttl, NULL, &l, &b),
            ROSTER_EINVAL);
  assert_rc(roster_cache_get_or_set(c, CS_K("z"), ttl, load_fn, &l, NULL),
            ROSTER_EINVAL);
  assert_rc(roster_cache_get_or_set(c, CS_K("z"), -1, load_fn, &l, &b),
            ROSTER_EINVAL);
  assert_rc(roster_cache_get_or_set(c, "", 0, ttl, load_fn, &l, &b),
            ROSTER_EINVAL);
  assert_rc(roster_cache_get_or_set(NULL, CS_K("z"), ttl, load_fn, &l, &b),
            ROSTER_EINVAL);
  assert_ok(roster_cache_exists(c, CS_K("z"), &e));
  assert_false(e);

  /* JSON */
  loader j = {.value = "Ada"};
  json_t *out = NULL;
  assert_ok(roster_cache_get_or_set_json(c, CS_K("user:7"), ttl, load_json_fn,
                                         &j, &out));
  assert_string_equal(json_string_value(json_object_get(out, "name")), "Ada");
  json_t *again = NULL;
  assert_ok(roster_cache_get_json(c, CS_K("user:7"), &again));
  assert_true(json_equal(out, again));
  json_decref(again);
  json_decref(out);
  assert_ok(roster_cache_get_or_set_json(c, CS_K("user:7"), ttl, load_json_fn,
                                         &j, &out));
  assert_int_equal(atomic_load(&j.calls), 1);
  json_decref(out);
  j.fail = ROSTER_ENOENT;
  assert_rc(roster_cache_get_or_set_json(c, CS_K("user:8"), ttl, load_json_fn,
                                         &j, &out),
            ROSTER_ENOENT);
  assert_null(out);
  assert_contains(roster_last_error(), "no row");
  assert_rc(
      roster_cache_get_or_set_json(c, CS_K("k"), ttl, load_json_fn, &j, &out),
      ROSTER_ETYPE); /* "k" holds bytes */
  roster_cache_buf_close(&b);
  roster_cache_free(c);
}

enum { FLIGHT_THREADS = 8 };

typedef struct flight_arg {
  roster_cache *c;
  loader *l;
  pthread_barrier_t *go;
  int rc;
  char detail[256];
  roster_cache_buf out;
} flight_arg;

static void *flight_main(void *p) {
  flight_arg *a = p;
  pthread_barrier_wait(a->go);
  a->rc = roster_cache_get_or_set(a->c, CS_K("sf"), 0, load_fn, a->l, &a->out);
  if (a->rc)
    snprintf(a->detail, sizeof a->detail, "%s", roster_last_error());
  return NULL;
}

static void single_flight(void **state, int fail) {
  roster_cache *c = roster__cs_open(state);
  roster_cache_stats s0, s1;
  assert_ok(roster_cache_stats_get(c, &s0));
  /* The loader returns only once every other caller is waiting for it. */
  loader l = {.value = "the one value",
              .c = c,
              .fail = fail,
              .waiters = (int)s0.load_waits + FLIGHT_THREADS - 1};
  pthread_barrier_t go;
  pthread_barrier_init(&go, NULL, FLIGHT_THREADS);
  pthread_t th[FLIGHT_THREADS];
  flight_arg a[FLIGHT_THREADS];
  for (int i = 0; i < FLIGHT_THREADS; i++) {
    a[i] = (flight_arg){.c = c, .l = &l, .go = &go};
    assert_int_equal(pthread_create(&th[i], NULL, flight_main, &a[i]), 0);
  }
  for (int i = 0; i < FLIGHT_THREADS; i++)
    pthread_join(th[i], NULL);
  assert_int_equal(atomic_load(&l.calls), 1);
  assert_ok(roster_cache_stats_get(c, &s1));
  assert_int_equal(s1.loads, s0.loads + 1);
  assert_int_equal(s1.load_waits, s0.load_waits + FLIGHT_THREADS - 1);
  for (int i = 0; i < FLIGHT_THREADS; i++) {
    if (fail) {
      assert_int_equal(a[i].rc, fail);
      assert_contains(a[i].detail, "the database said no");
      assert_int_equal(a[i].out.kind, ROSTER_CACHE_NONE);
    } else {
      assert_int_equal(a[i].rc, ROSTER_OK);
      assert_bytes(&a[i].out, "the one value", 13);
    }
    roster_cache_buf_close(&a[i].out);
  }
  bool e = false;
  assert_ok(roster_cache_exists(c, CS_K("sf"), &e));
  assert_int_equal(e, !fail);
  pthread_barrier_destroy(&go);
  roster_cache_free(c);
}

static void t_single_flight(void **state) { single_flight(state, 0); }
static void t_single_flight_error(void **state) {
  single_flight(state, ROSTER_EIO);
}

/* ---- across handles (processes) ------------------------------------- */

typedef struct peer_arg {
  roster_cache *c;
  loader *l;
  int rc;
  roster_cache_buf out;
} peer_arg;

static void *peer_main(void *p) {
  peer_arg *a = p;
  a->rc = roster_cache_get_or_set(a->c, CS_K("p"), 0, load_fn, a->l, &a->out);
  return NULL;
}

static uint64_t stat_of(roster_cache *c, bool waits) {
  roster_cache_stats s = {0};
  roster_cache_stats_get(c, &s);
  return waits ? s.load_waits : s.loads;
}

/* peer_case: A's loader holds the load until the gate opens (then fails
 * if a_fails); B asks for the same key meanwhile through its own handle. */
static void peer_case(void **state, bool a_fails) {
  const cache_suite_env *env = roster__cs_env(state);
  if (!env->open_peer)
    skip(); /* one handle per store: nothing to share with */
  roster_cache *ca = roster__cs_open(state);
  roster_cache *cb = env->open_peer(env, ca);
  assert_non_null(cb);
  tu_gate gate;
  roster__tu_gate_init(&gate);
  loader la = {
      .value = "from A", .gate = &gate, .fail = a_fails ? ROSTER_EIO : 0};
  loader lb = {.value = "from B"};
  peer_arg pa = {.c = ca, .l = &la}, pb = {.c = cb, .l = &lb};
  pthread_t ta, tb;
  assert_int_equal(pthread_create(&ta, NULL, peer_main, &pa), 0);
  tu_wait_until(stat_of(ca, false) == 1, LC_LONG_MS); /* A is loading */
  assert_int_equal(pthread_create(&tb, NULL, peer_main, &pb), 0);
  tu_wait_until(stat_of(cb, true) >= 1, LC_LONG_MS); /* B is waiting */
  assert_true(stat_of(cb, true) >= 1);
  assert_int_equal(atomic_load(&lb.calls), 0);
  roster__tu_gate_open(&gate);
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  assert_int_equal(atomic_load(&la.calls), 1);
  if (!a_fails) {
    /* B waited for A's load and got A's value */
    assert_int_equal(pa.rc, ROSTER_OK);
    assert_int_equal(pb.rc, ROSTER_OK);
    assert_bytes(&pa.out, "from A", 6);
    assert_bytes(&pb.out, "from A", 6);
    assert_int_equal(atomic_load(&lb.calls), 0);
  } else {
    /* A failed and let go of the lock: B took it and loaded itself */
    assert_int_equal(pa.rc, ROSTER_EIO);
    assert_int_equal(pb.rc, ROSTER_OK);
    assert_bytes(&pb.out, "from B", 6);
    assert_int_equal(atomic_load(&lb.calls), 1);
  }
  roster_cache_buf_close(&pa.out);
  roster_cache_buf_close(&pb.out);
  roster_cache_free(cb);
  roster_cache_free(ca);
}

static void t_peer_get_or_set(void **state) { peer_case(state, false); }
static void t_peer_loader_fails(void **state) { peer_case(state, true); }

const cache_suite_case roster__cache_suite_pattern_cases[] = {
    {"lock", t_lock},
    {"lock_threads", t_lock_threads},
    {"rate_fixed", t_rate_fixed},
    {"rate_fixed_threads", t_rate_fixed_threads},
    {"rate_sliding", t_rate_sliding},
    {"rate_sliding_threads", t_rate_sliding_threads},
    {"get_or_set", t_get_or_set},
    {"single_flight", t_single_flight},
    {"single_flight_error", t_single_flight_error},
    {"peer_get_or_set", t_peer_get_or_set},
    {"peer_loader_fails", t_peer_loader_fails},
    {NULL, NULL},
};
