/*
 * test_pool_maint.c: what the pool does with time, on a clock the test
 * moves (roster_pool_options.clock), so nothing sleeps for long: validation
 * on borrow only past the idle threshold; lifetime recycling, spread by the
 * jitter, never of a connection in use; the idle timeout down to min_idle;
 * leak reports, once per acquisition, naming who acquired it (file, line,
 * function, thread), through the callback or on stderr; a refill that
 * fails is retried later. The maintenance thread runs every 2 ms here; the
 * tests wait for it with a bound, then assert.
 */
#include "pool_fake.h"

#include <fcntl.h>
#include <sys/stat.h>

static roster_pool_options clock_opts(fake_srv *s) {
  roster_pool_options o = fake_opts(s);
  o.clock = fake_clock;
  o.clock_arg = s;
  o.maintenance_ms = 2;
  return o;
}

static void test_validate_after_idle_threshold(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = clock_opts(&s);
  o.min_idle = 1;
  o.max_size = 1;
  o.validate_after_ms = 1000;
  roster_pool *p = fake_pool(&o);
  void *c = NULL;
  /* Just made, then idle for up to the threshold: not validated. */
  assert_ok(roster_pool_acquire(p, &c));
  assert_ok(roster_pool_release(p, c, false));
  fake_advance_ms(&s, 1000);
  assert_ok(roster_pool_acquire(p, &c));
  assert_int_equal(atomic_load(&s.validates), 0);
  assert_ok(roster_pool_release(p, c, false));
  /* Idle longer than the threshold: validated once, on borrow. */
  fake_advance_ms(&s, 1001);
  assert_ok(roster_pool_acquire(p, &c));
  assert_int_equal(atomic_load(&s.validates), 1);
  assert_int_equal(fake_id(c), 1);
  /* Held a long time is not idle: released and taken at once, no check. */
  fake_advance_ms(&s, 5000);
  assert_ok(roster_pool_release(p, c, false));
  assert_ok(roster_pool_acquire(p, &c));
  assert_int_equal(atomic_load(&s.validates), 1);
  assert_ok(roster_pool_release(p, c, false));

  /* A failing validation closes it; the acquire goes on with a new one. */
  fake_advance_ms(&s, 1001);
  atomic_store(&((fake_conn *)c)->bad, true);
  void *d = NULL;
  assert_ok(roster_pool_acquire(p, &d));
  assert_ptr_not_equal(d, c);
  assert_int_equal(fake_id(d), 2);
  assert_int_equal(atomic_load(&s.validates), 2);
  assert_true(atomic_load(&((fake_conn *)c)->closed));
  roster_pool_stats st = fake_stats(p);
  assert_int_equal(st.validation_failures, 1);
  assert_int_equal(st.size, 1);
  assert_ok(roster_pool_release(p, d, false));
  fake_pool_free(p, &s, FAKE_ALL_CLOSED);
}

static void test_validate_never(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = clock_opts(&s);
  o.min_idle = 1;
  o.validate_after_ms = -1;
  roster_pool *p = fake_pool(&o);
  fake_advance_ms(&s, 100000);
  void *c = NULL;
  assert_ok(roster_pool_acquire(p, &c));
  assert_int_equal(atomic_load(&s.validates), 0);
  assert_ok(roster_pool_release(p, c, false));
  roster_pool_free(p);
  fake_srv_fini(&s);
}

/* Connections made together expire spread over [90 %, 100 %] of the
 * lifetime, idle ones by the maintenance thread; one in use past its
 * lifetime stays open until its release closes it. */
static void test_lifetime_recycling(void **state) {
  (void)state;
  enum { N = 40, STEPS = 10 };
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = clock_opts(&s);
  o.max_size = N + 1;
  o.max_lifetime_ms = 10000;
  o.idle_timeout_ms = -1;
  roster_pool *p = fake_pool(&o);
  void *c[N], *held = NULL;
  for (int i = 0; i < N; i++)
    assert_ok(roster_pool_acquire(p, &c[i]));
  assert_ok(roster_pool_acquire(p, &held));
  for (int i = 0; i < N; i++)
    assert_ok(roster_pool_release(p, c[i], false));

  /* Below 90 % of the lifetime: nothing closes. */
  fake_advance_ms(&s, 8999);
  fake_wait_passes(p);
  assert_int_equal(atomic_load(&s.closes), 0);
  /* Then in steps of 100 ms up to the full lifetime. */
  int closed_at[STEPS], steps_with_closes = 0;
  for (int k = 0; k < STEPS; k++) {
    fake_advance_ms(&s, 100);
    fake_wait_passes(p);
    closed_at[k] = atomic_load(&s.closes);
    if (closed_at[k] != (k ? closed_at[k - 1] : 0))
      steps_with_closes++;
  }
  /* All idle ones are gone at the full lifetime; the one in use is not. */
  fake_advance_ms(&s, 1);
  fake_wait_passes(p);
  assert_int_equal(atomic_load(&s.closes), N);
  assert_false(atomic_load(&((fake_conn *)held)->closed));
  /* The jitter spread them out (40 uniform draws over 10 steps falling in
   * 3 or fewer is a chance below 1e-12). */
  assert_true(steps_with_closes >= 4);
  roster_pool_stats st = fake_stats(p);
  assert_int_equal(st.expired, N);
  assert_int_equal(st.size, 1);
  assert_int_equal(st.in_use, 1);
  /* Released past its lifetime: closed then, not reused, no reset. */
  int resets = atomic_load(&s.resets);
  assert_ok(roster_pool_release(p, held, false));
  assert_true(atomic_load(&((fake_conn *)held)->closed));
  assert_int_equal(atomic_load(&s.resets), resets);
  st = fake_stats(p);
  assert_int_equal(st.expired, N + 1);
  assert_int_equal(st.size, 0);
  /* A new one has a new lifetime. */
  void *d = NULL;
  assert_ok(roster_pool_acquire(p, &d));
  assert_int_equal(fake_id(d), N + 2);
  assert_ok(roster_pool_release(p, d, false));
  fake_advance_ms(&s, 8999);
  fake_wait_passes(p);
  assert_false(atomic_load(&((fake_conn *)d)->closed));
  fake_pool_free(p, &s, FAKE_ALL_CLOSED);
}

/* An expired connection found idle on borrow is closed, not handed out,
 * even before the maintenance thread gets to it. */
static void test_lifetime_on_borrow(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = clock_opts(&s);
  o.maintenance_ms = 100000; /* no pass during the test */
  o.min_idle = 1;
  o.max_size = 1;
  o.max_lifetime_ms = 1000;
  roster_pool *p = fake_pool(&o);
  fake_advance_ms(&s, 1000);
  void *c = NULL;
  assert_ok(roster_pool_acquire(p, &c));
  assert_int_equal(fake_id(c), 2);
  assert_int_equal(atomic_load(&s.closes), 1);
  assert_int_equal(fake_stats(p).expired, 1);
  assert_ok(roster_pool_release(p, c, false));
  fake_pool_free(p, &s, 2);
}

/* Idle connections past the idle timeout close, oldest first, down to
 * min_idle; the recently used ones stay. */
static void test_idle_timeout(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = clock_opts(&s);
  o.min_idle = 2;
  o.max_size = 6;
  o.idle_timeout_ms = 5000;
  roster_pool *p = fake_pool(&o);
  void *c[6];
  for (int i = 0; i < 6; i++)
    assert_ok(roster_pool_acquire(p, &c[i]));
  for (int i = 0; i < 6; i++)
    assert_ok(roster_pool_release(p, c[i], false));
  assert_int_equal(fake_stats(p).idle, 6);
  fake_advance_ms(&s, 4999);
  fake_wait_passes(p);
  assert_int_equal(atomic_load(&s.closes), 0);
  /* Use the two released last again, so they are the young ones. */
  void *a = NULL, *b = NULL;
  assert_ok(roster_pool_acquire(p, &a));
  assert_ok(roster_pool_acquire(p, &b));
  assert_ptr_equal(a, c[5]);
  assert_ptr_equal(b, c[4]);
  assert_ok(roster_pool_release(p, b, false));
  assert_ok(roster_pool_release(p, a, false));
  fake_advance_ms(&s, 1);
  tu_wait_until(fake_stats(p).idle == 2, LC_LONG_MS);
  fake_wait_passes(p);
  roster_pool_stats st = fake_stats(p);
  assert_int_equal(st.idle, 2);
  assert_int_equal(st.size, 2);
  assert_int_equal(st.idle_closed, 4);
  for (int i = 0; i < 4; i++)
    assert_true(atomic_load(&((fake_conn *)c[i])->closed));
  assert_false(atomic_load(&((fake_conn *)c[4])->closed));
  assert_false(atomic_load(&((fake_conn *)c[5])->closed));
  /* min_idle is a floor: much later, the two are still there. */
  fake_advance_ms(&s, 60000);
  fake_wait_passes(p);
  assert_int_equal(fake_stats(p).idle, 2);
  fake_pool_free(p, &s, FAKE_ALL_CLOSED);
}

/* ---- leaks ---- */

typedef struct leak_log {
  pthread_mutex_t mu;
  int n;
  roster_pool_leak v[8];
  char file[8][256], func[8][64];
} leak_log;

static void on_leak(const roster_pool_leak *l, void *arg) {
  leak_log *g = arg;
  pthread_mutex_lock(&g->mu);
  if (g->n < 8) {
    g->v[g->n] = *l;
    snprintf(g->file[g->n], sizeof g->file[0], "%s", l->file);
    snprintf(g->func[g->n], sizeof g->func[0], "%s", l->func);
  }
  g->n++;
  pthread_mutex_unlock(&g->mu);
}

static int leak_count(leak_log *g) {
  pthread_mutex_lock(&g->mu);
  int n = g->n;
  pthread_mutex_unlock(&g->mu);
  return n;
}

typedef struct leaker {
  roster_pool *p;
  void *conn;
  int rc;
  int line;
  int64_t tid;
} leaker;

/* leaker_main acquires on its own thread and keeps the connection. */
static void *leaker_main(void *arg) {
  leaker *k = arg;
  k->tid = (int64_t)gettid();
  k->line = __LINE__ + 1;
  k->rc = roster_pool_acquire(k->p, &k->conn);
  return NULL;
}

static void test_leak_reported_once(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  leak_log g = {.mu = PTHREAD_MUTEX_INITIALIZER};
  roster_pool_options o = clock_opts(&s);
  o.name = "orders";
  o.leak_threshold_ms = 30000;
  o.leak_fn = on_leak;
  o.leak_arg = &g;
  roster_pool *p = fake_pool(&o);
  leaker k = {.p = p};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, leaker_main, &k), 0);
  pthread_join(t, NULL);
  assert_ok(k.rc);
  /* Another one, held briefly: never reported. */
  void *brief = NULL;
  assert_ok(roster_pool_acquire(p, &brief));
  fake_advance_ms(&s, 29999);
  assert_ok(roster_pool_release(p, brief, false));
  fake_wait_passes(p);
  assert_int_equal(leak_count(&g), 0);
  fake_advance_ms(&s, 2);
  tu_wait_until(leak_count(&g) == 1, LC_LONG_MS);
  fake_wait_passes(p);
  fake_advance_ms(&s, 60000);
  fake_wait_passes(p);
  /* Once per acquisition, naming who took it. */
  assert_int_equal(leak_count(&g), 1);
  assert_string_equal(g.v[0].pool, "orders");
  assert_ptr_equal(g.v[0].conn, k.conn);
  assert_contains(g.file[0], "test_pool_maint.c");
  assert_int_equal(g.v[0].line, k.line);
  assert_string_equal(g.func[0], "leaker_main");
  assert_int_equal(g.v[0].thread_id, k.tid);
  assert_true(g.v[0].thread_id != (int64_t)gettid());
  assert_true(g.v[0].held_ms >= 30000);
  assert_int_equal(fake_stats(p).leaks, 1);
  /* Released and taken again: a new acquisition, reported anew, with the
   * new holder. */
  assert_ok(roster_pool_release(p, k.conn, false));
  void *again = NULL;
  int line = __LINE__ + 1;
  assert_ok(roster_pool_acquire(p, &again));
  fake_advance_ms(&s, 30001);
  assert_eventually_equal(leak_count(&g), 2, LC_LONG_MS);
  assert_int_equal(g.v[1].line, line);
  assert_string_equal(g.func[1], "test_leak_reported_once");
  assert_int_equal(g.v[1].thread_id, (int64_t)gettid());
  assert_ok(roster_pool_release(p, again, false));
  fake_pool_free(p, &s, FAKE_ALL_CLOSED);
  pthread_mutex_destroy(&g.mu);
}

/* With a threshold and no callback, the report is one line on stderr. */
static void test_leak_on_stderr(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  char path[] = "/tmp/roster-pool-leak-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  fflush(stderr);
  int saved = dup(2);
  assert_true(saved >= 0);
  assert_true(dup2(fd, 2) >= 0);

  roster_pool_options o = clock_opts(&s);
  o.name = "cache-db";
  o.leak_threshold_ms = 1000;
  roster_pool *p = fake_pool(&o);
  void *c = NULL;
  int line = __LINE__ + 1;
  assert_ok(roster_pool_acquire(p, &c));
  fake_advance_ms(&s, 1001);
  tu_wait_until(fake_stats(p).leaks == 1, LC_LONG_MS);
  fake_wait_passes(p); /* the line is written after the count */
  roster_pool_stats st = fake_stats(p);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);

  char buf[1024] = {0};
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  close(fd);
  unlink(path);
  assert_int_equal(st.leaks, 1);
  assert_true(n > 0);
  char want[128];
  snprintf(want, sizeof want, "test_pool_maint.c:%d in test_leak_on_stderr()",
           line);
  assert_contains(buf, "roster: pool 'cache-db': connection");
  assert_contains(buf, "held for 1001 ms by thread");
  assert_contains(buf, want);
  assert_ok(roster_pool_release(p, c, false));
  roster_pool_free(p);
  fake_srv_done(&s);
}

/* A refill that fails is counted and retried on a later pass. */
static void test_refill_retries(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = fake_opts(&s);
  o.maintenance_ms = 2;
  o.min_idle = 2;
  o.max_size = 4;
  roster_pool *p = fake_pool(&o);
  atomic_store(&s.refuse, true);
  void *a = NULL, *b = NULL;
  assert_ok(roster_pool_acquire(p, &a));
  assert_ok(roster_pool_acquire(p, &b));
  tu_wait_until(fake_stats(p).connect_failures >= 3, LC_LONG_MS);
  roster_pool_stats st = fake_stats(p);
  assert_true(st.connect_failures >= 3);
  assert_int_equal(st.idle, 0);
  assert_int_equal(st.size, 2);
  atomic_store(&s.refuse, false);
  tu_wait_until(fake_stats(p).idle == 2, LC_LONG_MS);
  st = fake_stats(p);
  assert_int_equal(st.idle, 2);
  assert_int_equal(st.size, 4);
  assert_ok(roster_pool_release(p, a, false));
  assert_ok(roster_pool_release(p, b, false));
  fake_pool_free(p, &s, FAKE_ALL_CLOSED);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_validate_after_idle_threshold),
      cmocka_unit_test(test_validate_never),
      cmocka_unit_test(test_lifetime_recycling),
      cmocka_unit_test(test_lifetime_on_borrow),
      cmocka_unit_test(test_idle_timeout),
      cmocka_unit_test(test_leak_reported_once),
      cmocka_unit_test(test_leak_on_stderr),
      cmocka_unit_test(test_refill_retries),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
