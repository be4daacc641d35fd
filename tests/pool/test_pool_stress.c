/*
^ * test_pool_stress.c: many threads over a small pool with everything going
 * wrong at once: short and zero timeouts, broken releases, failing
 * validations, resets and connects, short lifetimes and idle timeouts, leak
 * reports, min_idle refills. No connection is ever held by two threads or
 * used after close; every acquire is counted once (as a success, a timeout
 * or a connect failure); and at the end the stats are back to rest and
 * every connection made was closed.
 */
#include "pool_fake.h"

enum { THREADS = 16, ITERS = 1500 };

typedef struct worker {
  roster_pool *p;
  fake_srv *srv;
  uint64_t seed;
  int ok, timedout, connfail, other;
  int bad_detail; /* a failure without the expected detail */
} worker;

static uint64_t next_rand(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *s = x;
}

static void *worker_main(void *arg) {
  worker *w = arg;
  for (int i = 0; i < ITERS; i++) {
    uint64_t r = next_rand(&w->seed);
    int64_t timeout = (int64_t)(r % 4); /* 0 to 3 ms */
    void *conn = NULL;
    int rc = roster_pool_acquire_timeout(w->p, timeout, &conn);
    if (rc == ROSTER_ETIMEDOUT) {
      w->timedout++;
      if (!strstr(roster_last_error(), "pool 'stress'"))
        w->bad_detail++;
      continue;
    }
    if (rc == ROSTER_ECONN) {
      w->connfail++;
      if (!strstr(roster_last_error(), "fake: connect failed on demand"))
        w->bad_detail++;
      continue;
    }
    if (rc != ROSTER_OK || !conn) {
      w->other++;
      continue;
    }
    w->ok++;
    if (fake_hold(w->srv, conn)) {
      if (r % 7 == 0)
        sched_yield();
      if (r % 97 == 0)
        roster__tu_sleep_ms(1);
      fake_unhold(conn);
    }
    if (r % 53 == 0) /* the server dropped it, unseen: validate will see */
      atomic_store(&((fake_conn *)conn)->bad, true);
    bool broken = r % 19 == 0;
    if (roster_pool_release(w->p, conn, broken) != ROSTER_OK)
      w->other++;
  }
  return NULL;
}

typedef struct chaos {
  fake_srv *srv;
  atomic_bool stop;
} chaos;

/* chaos_main makes connects and resets fail now and then, and moves the
 * pool's clock 5 ms a tick, so lifetimes, idle timeouts, validation and
 * leak thresholds (in that clock) come around often. */
static void *chaos_main(void *arg) {
  chaos *c = arg;
  uint64_t seed = 88172645463325252ULL;
  while (!atomic_load(&c->stop)) {
    uint64_t r = next_rand(&seed);
    if (r % 4 == 0)
      atomic_store(&c->srv->fail_connects, 1);
    atomic_store(&c->srv->reset_fails, r % 16 == 1);
    fake_advance_ms(c->srv, 5);
    roster__tu_sleep_ms(1);
  }
  atomic_store(&c->srv->fail_connects, 0);
  atomic_store(&c->srv->reset_fails, false);
  return NULL;
}

static atomic_int leaks_seen;
static void count_leak(const roster_pool_leak *l, void *arg) {
  (void)arg;
  if (l->conn && l->file && l->func && l->thread_id > 0)
    atomic_fetch_add(&leaks_seen, 1);
}

/* fast: no reset and no leak threshold, so the fast path is on and parks,
 * claims and take-backs race everything else too. */
static void run_stress(int nthreads, bool fast) {
  atomic_store(&leaks_seen, 0);
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = fake_opts(&s);
  o.name = "stress";
  o.min_idle = 2;
  o.max_size = 4;
  o.max_lifetime_ms = 20;
  o.idle_timeout_ms = 5;
  o.validate_after_ms = 1;
  o.leak_threshold_ms = 1;
  o.leak_fn = count_leak;
  o.maintenance_ms = 1;
  o.clock = fake_clock;
  o.clock_arg = &s;
  if (fast) {
    o.ops = &fake_ops_fast;
    o.leak_threshold_ms = 0;
  }
  roster_pool *p = fake_pool(&o);

  chaos c = {.srv = &s};
  pthread_t tc, t[THREADS];
  worker w[THREADS];
  assert_int_equal(pthread_create(&tc, NULL, chaos_main, &c), 0);
  for (int i = 0; i < nthreads; i++) {
    w[i] = (worker){.p = p, .srv = &s, .seed = 0x9E3779B97F4A7C15ULL * (i + 1)};
    assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
  }
  int ok = 0, timedout = 0, connfail = 0;
  for (int i = 0; i < nthreads; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(w[i].other, 0);
    assert_int_equal(w[i].bad_detail, 0);
    ok += w[i].ok;
    timedout += w[i].timedout;
    connfail += w[i].connfail;
  }
  atomic_store(&c.stop, true);
  pthread_join(tc, NULL);
  assert_int_equal(ok + timedout + connfail, nthreads * ITERS);
  assert_true(ok > 0);

  /* Back at rest: nothing in use, nobody queued, counters agree. */
  roster_pool_stats st = fake_stats(p);
  assert_int_equal(st.in_use, 0);
  assert_int_equal(st.waiters, 0);
  assert_int_equal(st.acquires, (uint64_t)ok);
  assert_int_equal(st.timeouts, (uint64_t)timedout);
  assert_int_equal(fake_hist_total(&st), (uint64_t)(ok + timedout));
  assert_true(st.size <= 4);
  assert_true(st.connect_failures >= (uint64_t)connfail);
  roster_pool_stats later = st;
  tu_wait_until((later = fake_stats(p), later.connecting == 0), LC_LONG_MS);
  assert_int_equal(later.size, later.created - later.destroyed);
  assert_int_equal(later.size, later.idle);
  assert_true(later.broken > 0);
  print_message(
      "stress, %d threads: %d ok, %d timed out, %d connect failures; %llu "
      "made, "
      "%llu broken, %llu expired, %llu idle-closed, %llu failed "
      "validation, %llu failed reset, %llu leak reports\n",
      nthreads, ok, timedout, connfail, (unsigned long long)later.created,
      (unsigned long long)later.broken, (unsigned long long)later.expired,
      (unsigned long long)later.idle_closed,
      (unsigned long long)later.validation_failures,
      (unsigned long long)later.reset_failures,
      (unsigned long long)later.leaks);

  assert_ok(roster_pool_drain(p, LC_LONG_MS));
  st = fake_stats(p);
  assert_int_equal(st.size, 0);
  assert_int_equal(st.created, st.destroyed);
  roster_pool_free(p);
  /* Nothing in use since the drain, so no report since; free joined the
   * maintenance thread, so every report counted was delivered. */
  assert_int_equal(st.leaks, (uint64_t)atomic_load(&leaks_seen));
  /* Every connection made was closed, once; none was misused. */
  assert_int_equal(atomic_load(&s.closes), atomic_load(&s.connects));
  assert_int_equal(fake_live(&s), 0);
  assert_int_equal(atomic_load(&s.misuse), 0);
  for (size_t i = 0; i < s.nconns; i++)
    assert_true(atomic_load(&s.conns[i]->closed));
  fake_srv_fini(&s);
}

/* More threads than connections: most acquires wait or time out. */
static void test_stress_contended(void **state) {
  (void)state;
  run_stress(THREADS, false);
}

/* Fewer threads than connections: most acquires take an idle one, so
 * validation on borrow and the idle timeout come into play. */
static void test_stress_mostly_idle(void **state) {
  (void)state;
  run_stress(3, false);
}

/* Both again with the fast path on. */
static void test_stress_fast(void **state) {
  (void)state;
  run_stress(THREADS, true);
  run_stress(3, true);
}

/* Pools made and freed while their connections are still being released
 * by other threads: the last release frees the pool, exactly once. */
typedef struct late {
  roster_pool *p;
  void *conn;
  tu_gate *go;
  int rc;
} late;

static void *late_main(void *arg) {
  late *l = arg;
  roster__tu_gate_wait(l->go, LC_LONG_MS);
  l->rc = roster_pool_release(l->p, l->conn, false);
  return NULL;
}

static void test_free_races_releases(void **state) {
  (void)state;
  enum { ROUNDS = 50, HOLD = 4 };
  fake_srv s;
  fake_srv_init(&s);
  for (int r = 0; r < ROUNDS; r++) {
    roster_pool_options o = fake_opts(&s);
    o.max_size = HOLD;
    o.free_arg = fake_free_arg;
    roster_pool *p = fake_pool(&o);
    tu_gate go;
    roster__tu_gate_init(&go);
    late l[HOLD];
    pthread_t t[HOLD];
    for (int i = 0; i < HOLD; i++) {
      l[i] = (late){.p = p, .go = &go};
      assert_ok(roster_pool_acquire(p, &l[i].conn));
      assert_int_equal(pthread_create(&t[i], NULL, late_main, &l[i]), 0);
    }
    roster__tu_gate_open(&go);
    roster_pool_free(p); /* races the releases */
    for (int i = 0; i < HOLD; i++) {
      pthread_join(t[i], NULL);
      assert_ok(l[i].rc);
    }
    assert_int_equal(atomic_load(&s.freed_args), r + 1);
    assert_int_equal(atomic_load(&s.closes_at_free), atomic_load(&s.connects));
  }
  assert_int_equal(atomic_load(&s.closes), atomic_load(&s.connects));
  fake_srv_done(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stress_contended),
      cmocka_unit_test(test_stress_mostly_idle),
      cmocka_unit_test(test_stress_fast),
      cmocka_unit_test(test_free_races_releases),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
