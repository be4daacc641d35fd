/*
 * test_pool_basic.c: the connection pool's plain use on one thread: min_idle
 * made by new, max_size, reuse (last released first), broken connections
 * closed and replaced, reset on release, connect failures passed through
 * with their detail, the stats, free with a connection still out, and bad
 * arguments refused without changing anything.
 */
#include "pool_fake.h"

static void test_min_idle_and_reuse(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = fake_opts(&s);
  o.min_idle = 3;
  o.max_size = 5;
  roster_pool *p = fake_pool(&o);
  assert_string_equal(roster_pool_name(p), "test");
  assert_int_equal(atomic_load(&s.connects), 3);
  roster_pool_stats st = fake_stats(p);
  assert_int_equal(st.size, 3);
  assert_int_equal(st.idle, 3);
  assert_int_equal(st.in_use, 0);
  assert_int_equal(st.max_size, 5);
  assert_int_equal(st.created, 3);

  /* Two out, back in the order a then b: b (released last) comes first. */
  void *a = NULL, *b = NULL, *c = NULL;
  assert_ok(roster_pool_acquire(p, &a));
  assert_ok(roster_pool_acquire(p, &b));
  assert_non_null(a);
  assert_non_null(b);
  assert_ptr_not_equal(a, b);
  /* One idle left: the maintenance thread tops it up to min_idle. */
  tu_wait_until(fake_stats(p).idle == 3, LC_LONG_MS);
  st = fake_stats(p);
  assert_int_equal(st.in_use, 2);
  assert_int_equal(st.idle, 3);
  assert_int_equal(st.size, 5);
  assert_ok(roster_pool_release(p, a, false));
  assert_ok(roster_pool_release(p, b, false));
  assert_ok(roster_pool_acquire(p, &c));
  assert_ptr_equal(c, b);
  assert_ok(roster_pool_release(p, c, false));
  /* A connection used a moment ago is not validated; reset runs on each
   * release. */
  assert_int_equal(atomic_load(&s.validates), 0);
  assert_int_equal(atomic_load(&s.resets), 3);
  st = fake_stats(p);
  assert_int_equal(st.acquires, 3);
  assert_int_equal(st.wait_hist[0], 3); /* none of them queued */
  assert_int_equal(fake_hist_total(&st), 3);

  fake_pool_free(p, &s, FAKE_ALL_CLOSED);
}

static void test_max_size(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = fake_opts(&s);
  o.max_size = 2;
  roster_pool *p = fake_pool(&o);
  assert_int_equal(atomic_load(&s.connects), 0); /* min_idle 0: lazy */
  void *a = NULL, *b = NULL, *c = (void *)1;
  assert_ok(roster_pool_acquire(p, &a));
  assert_ok(roster_pool_acquire(p, &b));
  assert_int_equal(atomic_load(&s.connects), 2);
  /* Full: a zero timeout does not wait, and never hands out NULL
   * silently. */
  assert_rc(roster_pool_acquire_timeout(p, 0, &c), ROSTER_ETIMEDOUT);
  assert_null(c);
  assert_contains(roster_last_error(), "pool 'test'");
  assert_contains(roster_last_error(), "size 2 of max 2");
  assert_contains(roster_last_error(), "2 in use");
  assert_int_equal(atomic_load(&s.connects), 2);
  roster_pool_stats st = fake_stats(p);
  assert_int_equal(st.timeouts, 1);
  assert_int_equal(st.size, 2);
  assert_int_equal(st.waiters, 0);
  assert_ok(roster_pool_release(p, a, false));
  assert_ok(roster_pool_release(p, b, false));
  fake_pool_free(p, &s, 2);
}

static void test_broken_replaced(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = fake_opts(&s);
  o.min_idle = 1;
  o.max_size = 1;
  roster_pool *p = fake_pool(&o);
  void *a = NULL, *b = NULL;
  assert_ok(roster_pool_acquire(p, &a));
  assert_ok(roster_pool_release(p, a, true));
  /* Closed at once on this thread, without a reset. */
  assert_int_equal(atomic_load(&s.closes), 1);
  assert_int_equal(atomic_load(&s.resets), 0);
  /* The maintenance thread refills min_idle, or the acquire connects. */
  assert_ok(roster_pool_acquire(p, &b));
  assert_ptr_not_equal(a, b);
  assert_int_equal(fake_id(b), 2);
  assert_int_equal(atomic_load(&s.connects), 2);
  roster_pool_stats st = fake_stats(p);
  assert_int_equal(st.broken, 1);
  assert_int_equal(st.destroyed, 1);
  assert_int_equal(st.created, 2);
  assert_int_equal(st.size, 1);
  assert_ok(roster_pool_release(p, b, false));
  fake_pool_free(p, &s, 2);
}

static void test_refill_after_broken(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = fake_opts(&s);
  o.min_idle = 2;
  o.max_size = 4;
  o.maintenance_ms = 5;
  roster_pool *p = fake_pool(&o);
  void *a = NULL;
  assert_ok(roster_pool_acquire(p, &a));
  /* One idle left: the maintenance thread tops the idle set up to 2. */
  tu_wait_until(fake_stats(p).idle == 2, LC_LONG_MS);
  roster_pool_stats st = fake_stats(p);
  assert_int_equal(st.idle, 2);
  assert_int_equal(st.size, 3);
  assert_ok(roster_pool_release(p, a, true));
  st = fake_stats(p);
  assert_int_equal(st.size, 2);
  assert_int_equal(st.idle, 2);
  assert_int_equal(atomic_load(&s.connects), 3);
  fake_pool_free(p, &s, 3);
}

static void test_reset_failure_closes(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = fake_opts(&s);
  o.max_size = 1;
  roster_pool *p = fake_pool(&o);
  void *a = NULL, *b = NULL;
  assert_ok(roster_pool_acquire(p, &a));
  atomic_store(&s.reset_fails, true);
  assert_ok(roster_pool_release(p, a, false)); /* the release itself is ok */
  assert_int_equal(atomic_load(&s.resets), 1);
  assert_int_equal(atomic_load(&s.closes), 1);
  atomic_store(&s.reset_fails, false);
  assert_ok(roster_pool_acquire(p, &b));
  assert_int_equal(fake_id(b), 2);
  roster_pool_stats st = fake_stats(p);
  assert_int_equal(st.reset_failures, 1);
  assert_ok(roster_pool_release(p, b, false));
  fake_pool_free(p, &s, 2);
}

static void test_connect_failure(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = fake_opts(&s);
  o.max_size = 2;
  roster_pool *p = fake_pool(&o);
  void *c = (void *)1;
  atomic_store(&s.refuse, true);
  /* The module's code and detail, verbatim. */
  assert_rc(roster_pool_acquire(p, &c), ROSTER_ECONN);
  assert_null(c);
  assert_string_equal(roster_last_error(),
                      "fake: could not connect to 127.0.0.1:1: "
                      "Connection refused");
  roster_pool_stats st = fake_stats(p);
  assert_int_equal(st.connect_failures, 1);
  assert_int_equal(st.size, 0);
  assert_int_equal(st.connecting, 0);
  /* OK without a connection is the module's bug, reported as such. */
  atomic_store(&s.refuse, false);
  atomic_store(&s.null_conn, true);
  assert_rc(roster_pool_acquire(p, &c), ROSTER_ECONN);
  assert_null(c);
  assert_contains(roster_last_error(), "no connection");
  atomic_store(&s.null_conn, false);
  /* The slot a failed connect had is free again. */
  void *a = NULL, *b = NULL;
  assert_ok(roster_pool_acquire(p, &a));
  assert_ok(roster_pool_acquire(p, &b));
  assert_ok(roster_pool_release(p, a, false));
  assert_ok(roster_pool_release(p, b, false));
  fake_pool_free(p, &s, 2);
}

static void test_new_connect_failure(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = fake_opts(&s);
  o.min_idle = 3;
  o.free_arg = fake_free_arg;
  roster_pool *p = (roster_pool *)&s;
  /* The third of three connects fails: new returns its error, the two made
   * are closed again, and free_arg is not called. */
  atomic_store(&s.fail_from, 3);
  assert_rc(roster_pool_new(&o, &p), ROSTER_ECONN);
  assert_null(p);
  assert_string_equal(roster_last_error(), "fake: connect failed on demand");
  assert_int_equal(atomic_load(&s.connect_calls), 3);
  assert_int_equal(atomic_load(&s.connects), 2);
  assert_int_equal(atomic_load(&s.closes), 2);
  assert_int_equal(atomic_load(&s.freed_args), 0);

  /* When they all succeed, free closes them before free_arg runs. */
  atomic_store(&s.fail_from, 0);
  assert_ok(roster_pool_new(&o, &p));
  assert_int_equal(atomic_load(&s.connects), 5);
  roster_pool_free(p);
  assert_int_equal(atomic_load(&s.freed_args), 1);
  assert_int_equal(atomic_load(&s.closes_at_free), 5);
  fake_srv_done(&s);
}

static void test_free_with_connection_out(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = fake_opts(&s);
  o.free_arg = fake_free_arg;
  roster_pool *p = fake_pool(&o);
  void *a = NULL, *b = NULL;
  assert_ok(roster_pool_acquire(p, &a));
  assert_ok(roster_pool_acquire(p, &b));
  assert_ok(roster_pool_release(p, b, false));
  roster_pool_free(p);
  /* The idle one is closed; the one out is not, nor is the pool freed. */
  assert_int_equal(atomic_load(&s.closes), 1);
  assert_int_equal(atomic_load(&s.freed_args), 0);
  /* Its release closes it and frees the pool: free_arg after the close. */
  assert_ok(roster_pool_release(p, a, false));
  assert_int_equal(atomic_load(&s.closes), 2);
  assert_int_equal(atomic_load(&s.freed_args), 1);
  assert_int_equal(atomic_load(&s.closes_at_free), 2);
  fake_srv_done(&s);
}

static void test_bad_options(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  roster_pool *p = (roster_pool *)&s;
  roster_pool_options o = fake_opts(&s);
  assert_rc(roster_pool_new(NULL, &p), ROSTER_EINVAL);
  assert_null(p);
  assert_rc(roster_pool_new(&o, NULL), ROSTER_EINVAL);

  roster_pool_ops ops = fake_ops;
  o.ops = NULL;
  assert_rc(roster_pool_new(&o, &p), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "pool 'test': no ops");
  o.ops = &ops;
  ops.version = 99;
  assert_rc(roster_pool_new(&o, &p), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "version 99");
  ops = fake_ops;
  ops.connect = NULL;
  assert_rc(roster_pool_new(&o, &p), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "no connect");
  ops = fake_ops;
  ops.close = NULL;
  assert_rc(roster_pool_new(&o, &p), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "no close");
  ops = fake_ops;

  o.name = "";
  assert_rc(roster_pool_new(&o, &p), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "empty");
  char longname[ROSTER_POOL_NAME_MAX + 2];
  memset(longname, 'x', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  o.name = longname;
  assert_rc(roster_pool_new(&o, &p), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "too long");
  longname[ROSTER_POOL_NAME_MAX] = '\0'; /* exactly the limit is fine */
  o.min_idle = 1;
  assert_ok(roster_pool_new(&o, &p));
  assert_string_equal(roster_pool_name(p), longname);
  roster_pool_free(p);
  p = NULL;
  o = fake_opts(&s);
  o.ops = &ops;

  o.max_size = 3;
  o.min_idle = 4;
  assert_rc(roster_pool_new(&o, &p), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "min_idle 4 is above max_size 3");
  o.min_idle = 0;
  o.max_size = ROSTER_POOL_MAX_SIZE + 1;
  assert_rc(roster_pool_new(&o, &p), ROSTER_ERANGE);
  assert_contains(roster_last_error(), "max_size");
  o.max_size = 0;
  o.min_idle = 11; /* above the default max_size of 10 */
  assert_rc(roster_pool_new(&o, &p), ROSTER_EINVAL);
  o.min_idle = 0;
  o.max_lifetime_ms = 400LL * 24 * 3600 * 1000;
  assert_rc(roster_pool_new(&o, &p), ROSTER_ERANGE);
  assert_contains(roster_last_error(), "max_lifetime_ms");
  o.max_lifetime_ms = 0;
  o.acquire_timeout_ms = 400LL * 24 * 3600 * 1000;
  assert_rc(roster_pool_new(&o, &p), ROSTER_ERANGE);
  assert_contains(roster_last_error(), "acquire_timeout_ms");
  o.acquire_timeout_ms = 0;
  o.maintenance_ms = -1;
  assert_rc(roster_pool_new(&o, &p), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "maintenance_ms");
  assert_null(p);
  /* Nothing was connected by any refused call. */
  assert_int_equal(atomic_load(&s.connect_calls), 1);
  assert_int_equal(atomic_load(&s.closes), 1);
  fake_srv_fini(&s);
}

static void test_bad_calls(void **state) {
  (void)state;
  fake_srv s, s2;
  fake_srv_init(&s);
  fake_srv_init(&s2);
  roster_pool_options o = fake_opts(&s);
  roster_pool *p = NULL, *q = NULL;
  assert_ok(roster_pool_new(&o, &p));
  o = fake_opts(&s2);
  o.name = "other";
  assert_ok(roster_pool_new(&o, &q));

  void *c = (void *)1;
  assert_rc(roster_pool_acquire(NULL, &c), ROSTER_EINVAL);
  assert_null(c);
  assert_rc(roster_pool_acquire(p, NULL), ROSTER_EINVAL);
  assert_rc(roster_pool_acquire_timeout(p, -3, &c), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "-3 ms is not valid");
  assert_rc(roster_pool_release(NULL, c, false), ROSTER_EINVAL);
  assert_rc(roster_pool_release(p, NULL, false), ROSTER_EINVAL);
  roster_pool_stats st;
  assert_rc(roster_pool_stats_get(NULL, &st), ROSTER_EINVAL);
  assert_rc(roster_pool_stats_get(p, NULL), ROSTER_EINVAL);
  assert_rc(roster_pool_drain(NULL, 0), ROSTER_EINVAL);
  assert_string_equal(roster_pool_name(NULL), "");
  roster_pool_free(NULL);

  void *a = NULL, *b = NULL;
  assert_ok(roster_pool_acquire(p, &a));
  assert_ok(roster_pool_acquire(q, &b));
  roster_pool_stats before = fake_stats(p);
  /* A connection from another pool, a pointer the pool never gave out, a
   * connection released twice: refused, nothing changes. */
  assert_rc(roster_pool_release(p, b, false), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "pool 'test': connection");
  assert_contains(roster_last_error(), "not out of this pool");
  int local;
  assert_rc(roster_pool_release(p, &local, false), ROSTER_EINVAL);
  assert_ok(roster_pool_release(p, a, false));
  before = fake_stats(p);
  assert_rc(roster_pool_release(p, a, false), ROSTER_EINVAL);
  assert_rc(roster_pool_release(p, a, true), ROSTER_EINVAL);
  roster_pool_stats after = fake_stats(p);
  assert_memory_equal(&before, &after, sizeof before);
  assert_int_equal(atomic_load(&s.closes), 0);
  assert_int_equal(atomic_load(&s.resets), 1);
  /* A released-and-closed pointer is refused too. */
  assert_ok(roster_pool_acquire(p, &a));
  assert_ok(roster_pool_release(p, a, true));
  assert_rc(roster_pool_release(p, a, false), ROSTER_EINVAL);
  assert_int_equal(atomic_load(&s.closes), 1);

  assert_ok(roster_pool_release(q, b, false));
  fake_pool_free(p, &s, FAKE_ALL_CLOSED);
  fake_pool_free(q, &s2, FAKE_ALL_CLOSED);
}

/* Many connections in one pool: the map from connection to slot keeps
 * working as connections come and go in every order. */
static void test_many_connections(void **state) {
  (void)state;
  enum { N = 300 };
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = fake_opts(&s);
  o.ops = &fake_ops_min;
  o.max_size = N;
  roster_pool *p = fake_pool(&o);
  static void *held[N];
  for (int round = 0; round < 5; round++) {
    for (int i = 0; i < N; i++)
      assert_ok(roster_pool_acquire(p, &held[i]));
    roster_pool_stats st = fake_stats(p);
    assert_int_equal(st.in_use, N);
    /* every third broken (closed), in a scrambled order */
    for (int k = 0; k < N; k++) {
      int i = (k * 7) % N;
      assert_ok(roster_pool_release(p, held[i], i % 3 == round % 3));
    }
    for (int i = 0; i < N; i++)
      assert_rc(roster_pool_release(p, held[i], false), ROSTER_EINVAL);
    st = fake_stats(p);
    assert_int_equal(st.in_use, 0);
    assert_int_equal(st.size, st.created - st.destroyed);
  }
  fake_pool_free(p, &s, FAKE_ALL_CLOSED);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_min_idle_and_reuse),
      cmocka_unit_test(test_max_size),
      cmocka_unit_test(test_broken_replaced),
      cmocka_unit_test(test_refill_after_broken),
      cmocka_unit_test(test_reset_failure_closes),
      cmocka_unit_test(test_connect_failure),
      cmocka_unit_test(test_new_connect_failure),
      cmocka_unit_test(test_free_with_connection_out),
      cmocka_unit_test(test_bad_options),
      cmocka_unit_test(test_bad_calls),
      cmocka_unit_test(test_many_connections),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
