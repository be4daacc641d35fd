/*
 * test_pool_fast.c: the pool's fast path (a thread's last connection
 * parked on release and taken back without the lock), with real threads.
 * A parked connection is idle to everyone else: stats count it so, another
 * thread takes it at once (even with a zero timeout), a waiter gets it,
 * the idle timeout, the lifetime and validation still apply, a drain
 * closes it, and releasing it twice is refused. The maintenance interval
 * is an hour unless a test wants passes, so nothing claims a parked
 * connection behind a test's back.
 */
#include "pool_fake.h"

enum { HOUR_MS = 3600 * 1000 };

/* fast_opts: the fast path on (no reset, no leak threshold), the fake
 * clock, no maintenance passes to speak of. */
static roster_pool_options fast_opts(fake_srv *s) {
  roster_pool_options o = fake_opts(s);
  o.name = "fast";
  o.ops = &fake_ops_fast;
  o.clock = fake_clock;
  o.clock_arg = s;
  o.maintenance_ms = HOUR_MS;
  return o;
}

/* quiet_pool makes a pool and waits for its maintenance thread's first
 * pass (made as it starts), which would otherwise claim a connection a
 * test has just parked, whenever that thread happens to run. */
static roster_pool *quiet_pool(const roster_pool_options *o) {
  roster_pool *p = fake_pool(o);
  tu_wait_until(roster__pool_passes(p) >= 1, LC_LONG_MS);
  return p;
}

typedef struct taker {
  roster_pool *p;
  fake_srv *srv;
  int64_t timeout_ms;
  void *conn;
  int rc, rel_rc;
  char detail[256];
  tu_gate *release; /* when set, hold the connection until it opens */
} taker;

static void *taker_main(void *arg) {
  taker *t = arg;
  t->rc = roster_pool_acquire_timeout(t->p, t->timeout_ms, &t->conn);
  if (t->rc != ROSTER_OK) {
    snprintf(t->detail, sizeof t->detail, "%s", roster_last_error());
    return NULL;
  }
  if (fake_hold(t->srv, t->conn)) {
    if (t->release)
      roster__tu_gate_wait(t->release, LC_LONG_MS);
    fake_unhold(t->conn);
  }
  t->rel_rc = roster_pool_release(t->p, t->conn, false);
  return NULL;
}

/* Released on the fast path, the connection is parked, counted idle, and
 * the same thread's next acquire takes it back; every acquire is counted
 * once, as one that did not wait. */
static void test_park_and_take_back(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = fast_opts(&s);
  o.max_size = 2;
  roster_pool *p = quiet_pool(&o);
  void *c = NULL, *again = NULL;
  assert_ok(roster_pool_acquire(p, &c));
  assert_ok(roster_pool_release(p, c, false));
  assert_int_equal(fake_nparked(p), 1);
  roster_pool_stats st = fake_stats(p);
  assert_int_equal(st.idle, 1);
  assert_int_equal(st.in_use, 0);
  assert_int_equal(st.size, 1);
  for (int i = 0; i < 100; i++) {
    assert_ok(roster_pool_acquire(p, &again));
    assert_ptr_equal(again, c);
    assert_int_equal(fake_nparked(p), 0);
    st = fake_stats(p);
    assert_int_equal(st.in_use, 1);
    assert_int_equal(st.idle, 0);
    assert_ok(roster_pool_release(p, again, false));
  }
  st = fake_stats(p);
  assert_int_equal(st.acquires, 101);
  assert_int_equal(st.wait_hist[0], 101);
  assert_int_equal(fake_hist_total(&st), 101);
  assert_int_equal(atomic_load(&s.connects), 1);
  assert_int_equal(atomic_load(&s.validates), 0); /* never idle 500 ms */
  fake_pool_free(p, &s, FAKE_ALL_CLOSED);
}

typedef struct releaser {
  roster_pool *p;
  void *conn;
  int rc;
} releaser;

static void *releaser_main(void *arg) {
  releaser *r = arg;
  r->rc = roster_pool_release(r->p, r->conn, false);
  return NULL;
}

/* A parked connection released again is refused, as any connection not
 * out of the pool is, and nothing changes. */
static void test_release_twice(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  roster_pool *p =
      quiet_pool(&(roster_pool_options){.name = "fast",
                                        .max_size = 1,
                                        .ops = &fake_ops_fast,
                                        .arg = &s,
                                        .maintenance_ms = HOUR_MS});
  void *c = NULL;
  assert_ok(roster_pool_acquire(p, &c));
  assert_ok(roster_pool_release(p, c, false));
  assert_int_equal(fake_nparked(p), 1);
  assert_rc(roster_pool_release(p, c, false), ROSTER_EINVAL);
  assert_non_null(strstr(roster_last_error(), "is not out of this pool"));
  assert_rc(roster_pool_release(p, c, true), ROSTER_EINVAL);
  roster_pool_stats st = fake_stats(p);
  assert_int_equal(st.idle, 1);
  assert_int_equal(st.in_use, 0);
  assert_int_equal(st.broken, 0);
  assert_int_equal(fake_nparked(p), 1);
  void *again = NULL;
  assert_ok(roster_pool_acquire(p, &again));
  assert_ptr_equal(again, c);
  /* released by another thread (allowed), then again by this one (not):
   * refused, and the connection stays idle, not parked */
  releaser r = {.p = p, .conn = again};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, releaser_main, &r), 0);
  pthread_join(th, NULL);
  assert_ok(r.rc);
  assert_int_equal(fake_nparked(p), 0);
  assert_rc(roster_pool_release(p, again, false), ROSTER_EINVAL);
  assert_int_equal(fake_nparked(p), 0);
  st = fake_stats(p);
  assert_int_equal(st.idle, 1);
  assert_int_equal(st.in_use, 0);
  /* taken by one holder at a time from here on */
  assert_ok(roster_pool_acquire(p, &again));
  assert_ptr_equal(again, c);
  void *other = NULL;
  assert_rc(roster_pool_acquire_timeout(p, 0, &other), ROSTER_ETIMEDOUT);
  assert_ok(roster_pool_release(p, again, false));
  fake_pool_free(p, &s, FAKE_ALL_CLOSED);
}

/* Another thread finds the parked connection at once, with a zero
 * timeout, in a pool of one; then it parks it in its turn, and the first
 * thread takes it from there. */
static void test_other_thread_takes_it(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = fast_opts(&s);
  o.max_size = 1;
  roster_pool *p = quiet_pool(&o);
  void *c = NULL;
  assert_ok(roster_pool_acquire(p, &c));
  assert_ok(roster_pool_release(p, c, false));
  assert_int_equal(fake_nparked(p), 1);

  taker t = {.p = p, .srv = &s, .timeout_ms = 0};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, taker_main, &t), 0);
  pthread_join(th, NULL);
  if (t.rc != ROSTER_OK)
    fail_msg("the other thread: %d: %s", t.rc, t.detail);
  assert_ptr_equal(t.conn, c);
  assert_ok(t.rel_rc);
  assert_int_equal(fake_nparked(p), 1); /* parked by the other thread */

  void *again = NULL;
  assert_ok(roster_pool_acquire_timeout(p, 0, &again));
  assert_ptr_equal(again, c);
  assert_ok(roster_pool_release(p, again, false));
  roster_pool_stats st = fake_stats(p);
  assert_int_equal(st.acquires, 3);
  assert_int_equal(st.timeouts, 0);
  assert_int_equal(st.size, 1);
  assert_int_equal(atomic_load(&s.connects), 1);
  fake_pool_free(p, &s, FAKE_ALL_CLOSED);
}

/* With somebody queued, a release hands the connection over instead of
 * parking it: the waiter is served, woken once. */
static void test_waiter_gets_it(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = fast_opts(&s);
  o.max_size = 1;
  roster_pool *p = quiet_pool(&o);
  void *c = NULL;
  assert_ok(roster_pool_acquire(p, &c));
  assert_ok(roster_pool_release(p, c, false)); /* parked: the thread's own */
  assert_ok(roster_pool_acquire(p, &c));       /* taken back */
  taker t = {.p = p, .srv = &s, .timeout_ms = LC_LONG_MS};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, taker_main, &t), 0);
  assert_eventually_equal(fake_stats(p).waiters, 1, LC_LONG_MS);
  assert_ok(roster_pool_release(p, c, false));
  pthread_join(th, NULL);
  if (t.rc != ROSTER_OK)
    fail_msg("the other thread: %d: %s", t.rc, t.detail);
  assert_ptr_equal(t.conn, c);
  assert_ok(t.rel_rc);
  assert_int_equal(roster__pool_wakeups(p), 1);
  roster_pool_stats st = fake_stats(p);
  assert_int_equal(st.acquires, 3);
  assert_int_equal(st.waiters, 0);
  assert_int_equal(st.in_use, 0);
  assert_int_equal(st.wait_hist[0], 2);
  assert_int_equal(fake_hist_total(&st), 3);
  fake_pool_free(p, &s, FAKE_ALL_CLOSED);
}

/* The maintenance pass sees parked connections: the idle timeout closes
 * one (above min_idle). */
static void test_idle_timeout_closes_parked(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = fast_opts(&s);
  o.max_size = 2;
  o.idle_timeout_ms = 1000;
  o.maintenance_ms = 1;
  roster_pool *p = quiet_pool(&o);
  void *c = NULL;
  assert_ok(roster_pool_acquire(p, &c));
  assert_ok(roster_pool_release(p, c, false));
  /* (a pass may have claimed it already: parked or idle, it is idle) */
  fake_advance_ms(&s, 999);
  fake_wait_passes(p);
  assert_int_equal(atomic_load(&s.closes), 0);
  assert_int_equal(fake_stats(p).idle, 1);
  fake_advance_ms(&s, 1);
  fake_wait_passes(p);
  assert_int_equal(atomic_load(&s.closes), 1);
  assert_true(atomic_load(&((fake_conn *)c)->closed));
  roster_pool_stats st = fake_stats(p);
  assert_int_equal(st.size, 0);
  assert_int_equal(st.idle, 0);
  assert_int_equal(st.idle_closed, 1);
  assert_int_equal(fake_nparked(p), 0);
  /* the thread's next acquire does not find it: a new connection */
  void *d = NULL;
  assert_ok(roster_pool_acquire(p, &d));
  assert_ptr_not_equal(d, c);
  assert_ok(roster_pool_release(p, d, false));
  fake_pool_free(p, &s, FAKE_ALL_CLOSED);
}

/* A connection past its lifetime is never handed out again. The release
 * reads no clock, so it parks it; its thread's next acquire finds it
 * expired, closes it and makes a new one. */
static void test_lifetime_on_take_back(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = fast_opts(&s);
  o.max_lifetime_ms = 1000;
  roster_pool *p = quiet_pool(&o);
  void *c = NULL, *d = NULL;
  assert_ok(roster_pool_acquire(p, &c));
  assert_ok(roster_pool_release(p, c, false));
  assert_int_equal(fake_nparked(p), 1);
  assert_ok(roster_pool_acquire(p, &d)); /* taken back */
  assert_ptr_equal(d, c);
  fake_advance_ms(&s, 1000);
  assert_ok(roster_pool_release(p, c, false));
  assert_false(atomic_load(&((fake_conn *)c)->closed));
  assert_ok(roster_pool_acquire(p, &d));
  assert_ptr_not_equal(d, c);
  assert_true(atomic_load(&((fake_conn *)c)->closed));
  roster_pool_stats st = fake_stats(p);
  assert_int_equal(st.expired, 1);
  assert_int_equal(st.size, 1);
  assert_int_equal(st.in_use, 1);
  assert_int_equal(st.acquires, 3);
  assert_ok(roster_pool_release(p, d, false));
  fake_pool_free(p, &s, FAKE_ALL_CLOSED);
}

/* The maintenance pass closes a parked connection past its lifetime. */
static void test_lifetime_parked_pass(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = fast_opts(&s);
  o.max_lifetime_ms = 1000;
  o.maintenance_ms = 1;
  roster_pool *p = quiet_pool(&o);
  void *c = NULL;
  assert_ok(roster_pool_acquire(p, &c));
  fake_advance_ms(&s, 1000);
  assert_ok(roster_pool_release(p, c, false));
  fake_wait_passes(p);
  assert_true(atomic_load(&((fake_conn *)c)->closed));
  roster_pool_stats st = fake_stats(p);
  assert_int_equal(st.expired, 1);
  assert_int_equal(st.size, 0);
  assert_int_equal(fake_nparked(p), 0);
  fake_pool_free(p, &s, FAKE_ALL_CLOSED);
}

/* A parked connection's idle time counts from when it was taken, or from
 * the last maintenance pass if that is later (the release reads no
 * clock): held past validate_after and taken straight back, it is
 * validated; held as long, but with a pass between its taking and its
 * release, it is not. Never validated less than validate_after asks. */
static void test_validate_counts_from_take(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = fast_opts(&s);
  o.validate_after_ms = 10;
  roster_pool *p = quiet_pool(&o);
  void *c = NULL, *d = NULL;
  assert_ok(roster_pool_acquire(p, &c));
  fake_advance_ms(&s, 20); /* held 20 ms */
  assert_ok(roster_pool_release(p, c, false));
  assert_int_equal(fake_nparked(p), 1);
  assert_ok(roster_pool_acquire(p, &d));
  assert_ptr_equal(d, c);
  assert_int_equal(atomic_load(&s.validates), 1);
  assert_ok(roster_pool_release(p, d, false));
  fake_pool_free(p, &s, FAKE_ALL_CLOSED);

  fake_srv_init(&s);
  o = fast_opts(&s);
  o.validate_after_ms = 10;
  o.maintenance_ms = 1;
  p = quiet_pool(&o);
  assert_ok(roster_pool_acquire(p, &c));
  fake_advance_ms(&s, 20);
  fake_wait_passes(p); /* a pass at +20 while it is held */
  assert_ok(roster_pool_release(p, c, false));
  fake_wait_passes(p); /* claimed: idle since +20 */
  assert_int_equal(fake_nparked(p), 0);
  assert_ok(roster_pool_acquire(p, &d));
  assert_ptr_equal(d, c);
  assert_int_equal(atomic_load(&s.validates), 0);
  assert_ok(roster_pool_release(p, d, false));
  fake_pool_free(p, &s, FAKE_ALL_CLOSED);
}

/* Taken back after idling past validate_after, it is validated first; one
 * that fails validation is closed and the acquire makes a new one. */
static void test_validate_on_take_back(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = fast_opts(&s);
  o.validate_after_ms = 10;
  roster_pool *p = quiet_pool(&o);
  void *c = NULL, *d = NULL;
  assert_ok(roster_pool_acquire(p, &c));
  assert_ok(roster_pool_release(p, c, false));
  assert_int_equal(fake_nparked(p), 1);
  fake_advance_ms(&s, 10);
  assert_ok(roster_pool_acquire(p, &d)); /* idle 10 ms: not more than 10 */
  assert_ptr_equal(d, c);
  assert_int_equal(atomic_load(&s.validates), 0);
  assert_ok(roster_pool_release(p, d, false));
  fake_advance_ms(&s, 11);
  assert_ok(roster_pool_acquire(p, &d));
  assert_ptr_equal(d, c);
  assert_int_equal(atomic_load(&s.validates), 1);
  assert_ok(roster_pool_release(p, d, false));
  fake_advance_ms(&s, 11);
  atomic_store(&((fake_conn *)c)->bad, true);
  assert_ok(roster_pool_acquire(p, &d));
  assert_ptr_not_equal(d, c);
  assert_int_equal(atomic_load(&s.validates), 2);
  assert_true(atomic_load(&((fake_conn *)c)->closed));
  roster_pool_stats st = fake_stats(p);
  assert_int_equal(st.validation_failures, 1);
  assert_int_equal(st.in_use, 1);
  assert_int_equal(st.size, 1);
  assert_ok(roster_pool_release(p, d, false));
  fake_pool_free(p, &s, FAKE_ALL_CLOSED);
}

/* A drain closes parked connections with the idle ones; a release after
 * the drain began closes its connection rather than parking it. */
static void test_drain_closes_parked(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = fast_opts(&s);
  o.max_size = 2;
  roster_pool *p = quiet_pool(&o);
  void *c = NULL;
  assert_ok(roster_pool_acquire(p, &c));
  assert_ok(roster_pool_release(p, c, false));
  assert_int_equal(fake_nparked(p), 1);
  assert_ok(roster_pool_drain(p, 0));
  assert_int_equal(fake_nparked(p), 0);
  assert_true(atomic_load(&((fake_conn *)c)->closed));
  assert_int_equal(fake_stats(p).size, 0);
  void *d = NULL;
  assert_rc(roster_pool_acquire(p, &d), ROSTER_ESTATE);
  fake_pool_free(p, &s, FAKE_ALL_CLOSED);

  /* held across the start of a drain */
  fake_srv_init(&s);
  o = fast_opts(&s);
  p = quiet_pool(&o);
  assert_ok(roster_pool_acquire(p, &c));
  assert_ok(roster_pool_release(p, c, false));
  assert_ok(roster_pool_acquire(p, &c)); /* the thread's own, again */
  assert_rc(roster_pool_drain(p, 0), ROSTER_ETIMEDOUT);
  assert_non_null(strstr(roster_last_error(), "test_pool_fast.c"));
  assert_ok(roster_pool_release(p, c, false));
  assert_int_equal(fake_nparked(p), 0);
  assert_true(atomic_load(&((fake_conn *)c)->closed));
  assert_ok(roster_pool_drain(p, 0));
  fake_pool_free(p, &s, FAKE_ALL_CLOSED);
}

/* Threads each on their own connection (the fast path's case), then more
 * threads than connections with zero and short timeouts, so parks, claims,
 * hand-offs and timeouts race: no connection is ever held twice, every
 * acquire is counted once, and at rest the books balance. */
static void run_threads(unsigned nthreads, unsigned max_size,
                        int64_t timeout_ms) {
  enum { ITERS = 3000, MAXT = 8 };
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = fast_opts(&s);
  o.max_size = max_size;
  o.maintenance_ms = 1; /* passes claim parked connections all along */
  roster_pool *p = quiet_pool(&o);
  pthread_t t[MAXT];
  fake_churn w[MAXT];
  for (unsigned i = 0; i < nthreads; i++) {
    w[i] = (fake_churn){
        .p = p, .srv = &s, .iters = ITERS, .timeout_ms = timeout_ms};
    assert_int_equal(pthread_create(&t[i], NULL, fake_churn_main, &w[i]), 0);
  }
  int ok = 0, timedout = 0;
  for (unsigned i = 0; i < nthreads; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(w[i].other, 0);
    ok += w[i].ok;
    timedout += w[i].timedout;
  }
  assert_int_equal(ok + timedout, (int)nthreads * ITERS);
  assert_true(ok > 0);
  roster_pool_stats st = fake_stats(p);
  assert_int_equal(st.acquires, (uint64_t)ok);
  assert_int_equal(st.timeouts, (uint64_t)timedout);
  assert_int_equal(fake_hist_total(&st), (uint64_t)(ok + timedout));
  assert_int_equal(st.in_use, 0);
  assert_int_equal(st.waiters, 0);
  assert_int_equal(st.idle, st.size);
  assert_true(st.size <= max_size);
  assert_int_equal(atomic_load(&s.misuse), 0);
  fake_pool_free(p, &s, FAKE_ALL_CLOSED);
}

static void test_threads_own_connections(void **state) {
  (void)state;
  run_threads(4, 4, LC_LONG_MS);
}

static void test_threads_share_few(void **state) {
  (void)state;
  run_threads(8, 2, LC_LONG_MS);
  run_threads(8, 2, 0);
  run_threads(8, 3, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_park_and_take_back),
      cmocka_unit_test(test_release_twice),
      cmocka_unit_test(test_other_thread_takes_it),
      cmocka_unit_test(test_waiter_gets_it),
      cmocka_unit_test(test_idle_timeout_closes_parked),
      cmocka_unit_test(test_lifetime_on_take_back),
      cmocka_unit_test(test_lifetime_parked_pass),
      cmocka_unit_test(test_validate_counts_from_take),
      cmocka_unit_test(test_validate_on_take_back),
      cmocka_unit_test(test_drain_closes_parked),
      cmocka_unit_test(test_threads_own_connections),
      cmocka_unit_test(test_threads_share_few),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
