/*
 * test_pool_wait.c: acquires that wait, with real threads. Waiters are
 * served in arrival order, each woken exactly once (no thundering herd); a
 * waiter not served in time gets ROSTER_ETIMEDOUT with a detail naming the
 * pool, its size, the connections in use and the wait; a closed connection
 * becomes a permit for the head waiter to connect, and that connect's
 * failure is the waiter's; the wait-time histogram counts each acquire
 * once. Threads record what they saw; the main thread asserts after join.
 */
#include "pool_fake.h"

enum { NWAITERS = 12 };

typedef struct waiter_arg {
  roster_pool *p;
  fake_srv *srv;
  int idx;
  int64_t timeout_ms;
  int rc;
  void *conn;
  char detail[512];
  /* the served order, shared */
  pthread_mutex_t *mu;
  int *order;
  int *norder;
  bool release_broken;
} waiter_arg;

static void *waiter_main(void *arg) {
  waiter_arg *w = arg;
  w->rc = roster_pool_acquire_timeout(w->p, w->timeout_ms, &w->conn);
  if (w->rc != ROSTER_OK) {
    snprintf(w->detail, sizeof w->detail, "%s", roster_last_error());
    return NULL;
  }
  if (w->order) {
    pthread_mutex_lock(w->mu);
    w->order[(*w->norder)++] = w->idx;
    pthread_mutex_unlock(w->mu);
  }
  if (fake_hold(w->srv, w->conn))
    fake_unhold(w->conn);
  w->rc = roster_pool_release(w->p, w->conn, w->release_broken);
  return NULL;
}

/* start_queued starts waiter i and waits (bounded) until it is queued, so
 * the arrival order is exactly the start order. */
static void start_queued(roster_pool *p, pthread_t *t, waiter_arg *w,
                         unsigned queued_before) {
  assert_int_equal(pthread_create(t, NULL, waiter_main, w), 0);
  assert_eventually_equal(fake_stats(p).waiters, queued_before + 1, LC_LONG_MS);
}

static void run_fairness(bool broken, bool fast) {
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = fake_opts(&s);
  if (fast) /* releases park unless someone waits; here someone always does */
    o.ops = &fake_ops_fast;
  o.max_size = 1;
  o.min_idle = broken ? 0 : 1; /* no refill racing the permits */
  roster_pool *p = fake_pool(&o);
  void *held = NULL;
  assert_ok(roster_pool_acquire(p, &held));

  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  int order[NWAITERS], norder = 0;
  pthread_t t[NWAITERS];
  waiter_arg w[NWAITERS];
  for (int i = 0; i < NWAITERS; i++) {
    w[i] = (waiter_arg){.p = p,
                        .srv = &s,
                        .idx = i,
                        .timeout_ms = LC_LONG_MS,
                        .mu = &mu,
                        .order = order,
                        .norder = &norder,
                        .release_broken = broken};
    start_queued(p, &t[i], &w[i], (unsigned)i);
  }
  uint64_t wakeups_before = roster__pool_wakeups(p);
  assert_int_equal(wakeups_before, 0); /* nobody woken while queueing */
  /* One release: the connection travels down the queue, one hand-off (or,
   * when each release is broken, one permit to connect) per waiter. */
  assert_ok(roster_pool_release(p, held, broken));
  for (int i = 0; i < NWAITERS; i++)
    pthread_join(t[i], NULL);

  for (int i = 0; i < NWAITERS; i++)
    assert_rc(w[i].rc, ROSTER_OK);
  assert_int_equal(norder, NWAITERS);
  for (int i = 0; i < NWAITERS; i++)
    assert_int_equal(order[i], i); /* served in arrival order */
  /* Each waiter woke exactly once: no herd, no wasted wake-up. */
  assert_int_equal(roster__pool_wakeups(p), NWAITERS);
  roster_pool_stats st = fake_stats(p);
  assert_int_equal(st.acquires, NWAITERS + 1);
  assert_int_equal(st.timeouts, 0);
  assert_int_equal(st.waiters, 0);
  assert_int_equal(st.in_use, 0);
  assert_int_equal(st.wait_hist[0], 1); /* only the first did not queue */
  assert_int_equal(fake_hist_total(&st), NWAITERS + 1);
  if (broken) {
    /* every release closed its connection; each waiter made a new one */
    assert_int_equal(atomic_load(&s.connects), NWAITERS + 1);
    assert_int_equal(st.broken, NWAITERS + 1);
    assert_int_equal(st.size, 0);
  } else {
    assert_int_equal(atomic_load(&s.connects), 1);
    assert_int_equal(st.size, 1);
  }
  fake_pool_free(p, &s, FAKE_ALL_CLOSED);
  pthread_mutex_destroy(&mu);
}

static void test_fifo_handoff(void **state) {
  (void)state;
  run_fairness(false, false);
}

static void test_fifo_permits(void **state) {
  (void)state;
  run_fairness(true, false);
}

/* The same with the fast path on: a release while others queue hands off
 * under the lock, in order, one wake-up each; only the last parks. */
static void test_fifo_handoff_fast(void **state) {
  (void)state;
  run_fairness(false, true);
}

static void test_timeout(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = fake_opts(&s);
  o.name = "db";
  o.max_size = 2;
  o.acquire_timeout_ms = 30;
  roster_pool *p = fake_pool(&o);
  void *a = NULL, *b = NULL, *c = (void *)1;
  assert_ok(roster_pool_acquire(p, &a));
  assert_ok(roster_pool_acquire(p, &b));
  /* The pool's own timeout. */
  assert_rc(roster_pool_acquire(p, &c), ROSTER_ETIMEDOUT);
  assert_null(c);
  const char *d = roster_last_error();
  assert_contains(d, "pool 'db'");
  assert_contains(d, "after waiting ");
  assert_contains(d, "size 2 of max 2");
  assert_contains(d, "2 in use");
  /* how long it waited: a number of ms, whatever it was */
  const char *ms = strstr(d, "after waiting ");
  assert_non_null(ms);
  long waited = strtol(ms + strlen("after waiting "), NULL, 10);
  assert_true(waited >= 0);
  roster_pool_stats st = fake_stats(p);
  assert_int_equal(st.timeouts, 1);
  assert_int_equal(st.waiters, 0);
  assert_int_equal(st.wait_hist[0], 2);
  assert_int_equal(fake_hist_total(&st), 3);
  assert_true(st.wait_hist[0] + 1 == fake_hist_total(&st));

  /* A timeout given per call, from another thread, while the main thread
   * keeps both: it fails, and the queue is left empty. */
  waiter_arg w = {.p = p, .srv = &s, .timeout_ms = 20};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, waiter_main, &w), 0);
  pthread_join(t, NULL);
  assert_rc(w.rc, ROSTER_ETIMEDOUT);
  assert_contains(w.detail, "pool 'db'");
  st = fake_stats(p);
  assert_int_equal(st.timeouts, 2);
  assert_int_equal(st.waiters, 0);

  /* After timeouts, a release still reaches the next waiter. */
  waiter_arg w2 = {.p = p, .srv = &s, .timeout_ms = LC_LONG_MS};
  start_queued(p, &t, &w2, 0);
  assert_ok(roster_pool_release(p, a, false));
  pthread_join(t, NULL);
  assert_rc(w2.rc, ROSTER_OK);
  assert_ptr_equal(w2.conn, a);
  assert_ok(roster_pool_release(p, b, false));
  roster_pool_free(p);
  assert_int_equal(atomic_load(&s.connects), 2);
  assert_int_equal(atomic_load(&s.closes), 2);
  fake_srv_done(&s);
}

/* The head waiter's permit to connect fails: it gets the connect's error;
 * the slot goes on to the next waiter, whose connect works. */
static void test_permit_connect_failure(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = fake_opts(&s);
  o.max_size = 1;
  roster_pool *p = fake_pool(&o);
  void *held = NULL;
  assert_ok(roster_pool_acquire(p, &held));
  pthread_t t1, t2;
  waiter_arg w1 = {.p = p, .srv = &s, .timeout_ms = LC_LONG_MS};
  waiter_arg w2 = {.p = p, .srv = &s, .timeout_ms = LC_LONG_MS};
  start_queued(p, &t1, &w1, 0);
  start_queued(p, &t2, &w2, 1);
  atomic_store(&s.fail_connects, 1);
  assert_ok(roster_pool_release(p, held, true));
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  assert_rc(w1.rc, ROSTER_ECONN);
  assert_string_equal(w1.detail, "fake: connect failed on demand");
  assert_rc(w2.rc, ROSTER_OK);
  assert_int_equal(fake_id(w2.conn), 2);
  roster_pool_stats st = fake_stats(p);
  assert_int_equal(st.connect_failures, 1);
  assert_int_equal(st.acquires, 2);
  assert_int_equal(st.connecting, 0);
  assert_int_equal(st.size, 1);
  assert_int_equal(roster__pool_wakeups(p), 2);
  fake_pool_free(p, &s, FAKE_ALL_CLOSED);
}

/* A connect made for a waiter by the maintenance thread (refilling
 * min_idle) is handed to the waiter. */
static void test_refill_serves_waiter(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  tu_gate gate;
  roster__tu_gate_init(&gate);
  roster_pool_options o = fake_opts(&s);
  o.max_size = 1;
  o.min_idle = 1;
  o.maintenance_ms = 5;
  roster_pool *p = fake_pool(&o);
  void *held = NULL;
  assert_ok(roster_pool_acquire(p, &held));
  s.connect_gate = &gate;
  /* A broken release makes room; the refill connects (held at the gate)
   * before the waiter arrives, so the waiter queues behind it. */
  assert_ok(roster_pool_release(p, held, true));
  assert_eventually_equal(atomic_load(&s.in_connect), 1, LC_LONG_MS);
  assert_int_equal(fake_stats(p).connecting, 1);
  pthread_t t;
  waiter_arg w = {.p = p, .srv = &s, .timeout_ms = LC_LONG_MS};
  start_queued(p, &t, &w, 0);
  roster__tu_gate_open(&gate);
  pthread_join(t, NULL);
  assert_rc(w.rc, ROSTER_OK);
  assert_int_equal(fake_id(w.conn), 2);
  assert_int_equal(atomic_load(&s.connect_calls), 2);
  fake_pool_free(p, &s, FAKE_ALL_CLOSED);
}

/* Waiters queued when the pool drains are woken with ROSTER_ESTATE. */
static void test_drain_wakes_waiters(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = fake_opts(&s);
  o.max_size = 1;
  roster_pool *p = fake_pool(&o);
  void *held = NULL;
  assert_ok(roster_pool_acquire(p, &held));
  pthread_t t[3];
  waiter_arg w[3];
  for (int i = 0; i < 3; i++) {
    w[i] = (waiter_arg){.p = p, .srv = &s, .timeout_ms = -1};
    start_queued(p, &t[i], &w[i], (unsigned)i);
  }
  assert_rc(roster_pool_drain(p, 0), ROSTER_ETIMEDOUT); /* held is out */
  for (int i = 0; i < 3; i++) {
    pthread_join(t[i], NULL);
    assert_rc(w[i].rc, ROSTER_ESTATE);
    assert_contains(w[i].detail, "pool 'test' is draining");
  }
  roster_pool_stats st = fake_stats(p);
  assert_int_equal(st.waiters, 0);
  assert_int_equal(st.timeouts, 0);
  assert_ok(roster_pool_release(p, held, false));
  assert_ok(roster_pool_drain(p, 0));
  fake_pool_free(p, &s, 1);
}

/* Many threads over few connections with tight timeouts: timeouts racing
 * hand-offs never lose a connection or serve one twice. */
static void test_timeouts_race_handoffs(void **state) {
  (void)state;
  enum { T = 8 };
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = fake_opts(&s);
  o.ops = &fake_ops_min;
  o.max_size = 2;
  roster_pool *p = fake_pool(&o);
  pthread_t t[T];
  fake_churn c[T];
  for (int i = 0; i < T; i++) {
    c[i] = (fake_churn){.p = p, .srv = &s, .iters = 3000, .vary = true};
    assert_int_equal(pthread_create(&t[i], NULL, fake_churn_main, &c[i]), 0);
  }
  int ok = 0, timedout = 0;
  for (int i = 0; i < T; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(c[i].other, 0);
    ok += c[i].ok;
    timedout += c[i].timedout;
  }
  assert_int_equal(ok + timedout, T * 3000);
  roster_pool_stats st = fake_stats(p);
  assert_int_equal(st.acquires, (uint64_t)ok);
  assert_int_equal(st.timeouts, (uint64_t)timedout);
  assert_int_equal(fake_hist_total(&st), (uint64_t)(ok + timedout));
  assert_int_equal(st.in_use, 0);
  assert_int_equal(st.waiters, 0);
  assert_int_equal(st.idle, st.size);
  assert_true(st.size <= 2);
  assert_int_equal(atomic_load(&s.connects), (int)st.size);
  fake_pool_free(p, &s, FAKE_ALL_CLOSED);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fifo_handoff),
      cmocka_unit_test(test_fifo_permits),
      cmocka_unit_test(test_fifo_handoff_fast),
      cmocka_unit_test(test_timeout),
      cmocka_unit_test(test_permit_connect_failure),
      cmocka_unit_test(test_refill_serves_waiter),
      cmocka_unit_test(test_drain_wakes_waiters),
      cmocka_unit_test(test_timeouts_race_handoffs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
