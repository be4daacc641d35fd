/*
 * test_pool_drain.c: roster_pool_drain. Idle connections are closed at once
 * and acquires refused; connections in use are waited for until the
 * deadline (and closed as they come back); at the deadline the detail names
 * who still holds them; a connect in flight is waited for and its
 * connection closed; drain may be called again; free drains too.
 */
#include "pool_fake.h"

typedef struct holder {
  roster_pool *p;
  fake_srv *srv;
  void *conn;
  int rc_acquire, rc_release, rc_probe;
  bool saw_draining;
} holder;

/* holder_main holds its connection until the pool refuses acquires (the
 * drain has begun), then releases it. */
static void *holder_main(void *arg) {
  holder *h = arg;
  void *probe = NULL;
  uint64_t end = roster__tu_now_ns() + (uint64_t)LC_LONG_MS * 1000000u;
  while (roster__tu_now_ns() < end) {
    h->rc_probe = roster_pool_acquire_timeout(h->p, 0, &probe);
    if (h->rc_probe == ROSTER_ESTATE) {
      h->saw_draining = true;
      break;
    }
    if (h->rc_probe == ROSTER_OK)
      roster_pool_release(h->p, probe, false);
    roster__tu_sleep_ms(1);
  }
  h->rc_release = roster_pool_release(h->p, h->conn, false);
  return NULL;
}

static void test_drain_idle_and_refuse(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = fake_opts(&s);
  o.min_idle = 3;
  o.free_arg = fake_free_arg;
  roster_pool *p = fake_pool(&o);
  assert_ok(roster_pool_drain(p, 0));
  assert_int_equal(atomic_load(&s.closes), 3);
  roster_pool_stats st = fake_stats(p);
  assert_int_equal(st.size, 0);
  assert_int_equal(st.idle, 0);
  assert_int_equal(st.destroyed, 3);
  void *c = (void *)1;
  assert_rc(roster_pool_acquire(p, &c), ROSTER_ESTATE);
  assert_null(c);
  assert_contains(roster_last_error(), "pool 'test' is draining");
  /* The maintenance thread makes no new connection for min_idle. */
  fake_wait_passes(p);
  assert_int_equal(atomic_load(&s.connect_calls), 3);
  /* Again: nothing left, OK at once. */
  assert_ok(roster_pool_drain(p, -1));
  roster_pool_free(p);
  assert_int_equal(atomic_load(&s.freed_args), 1);
  fake_srv_done(&s);
}

static void test_drain_waits_for_release(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = fake_opts(&s);
  o.min_idle = 2;
  o.max_size = 3;
  o.maintenance_ms = 5;
  roster_pool *p = fake_pool(&o);
  holder h = {.p = p, .srv = &s};
  assert_ok(roster_pool_acquire(p, &h.conn));
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, holder_main, &h), 0);
  /* No limit: returns once the holder has released (and so closed) it. */
  assert_ok(roster_pool_drain(p, -1));
  pthread_join(t, NULL);
  assert_true(h.saw_draining);
  assert_ok(h.rc_release);
  assert_true(atomic_load(&((fake_conn *)h.conn)->closed));
  assert_int_equal(atomic_load(&s.closes), atomic_load(&s.connects));
  roster_pool_stats st = fake_stats(p);
  assert_int_equal(st.size, 0);
  assert_int_equal(st.in_use, 0);
  assert_int_equal(st.created, st.destroyed);
  fake_pool_free(p, &s, FAKE_ALL_CLOSED);
}

static void test_drain_deadline(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = fake_opts(&s);
  o.name = "pg";
  o.min_idle = 1;
  o.max_size = 4;
  roster_pool *p = fake_pool(&o);
  void *a = NULL, *b = NULL;
  int line = __LINE__ + 1;
  assert_ok(roster_pool_acquire(p, &a));
  assert_ok(roster_pool_acquire(p, &b));
  assert_rc(roster_pool_drain(p, 20), ROSTER_ETIMEDOUT);
  const char *d = roster_last_error();
  assert_contains(d, "pool 'pg': 2 connections still in use after ");
  char want[128];
  snprintf(want, sizeof want, "test_pool_drain.c:%d in test_drain_deadline()",
           line);
  assert_contains(d, want);
  char tid[64];
  snprintf(tid, sizeof tid, "on thread %lld", (long long)gettid());
  assert_contains(d, tid);
  /* Still open: in use, never closed under their holder. */
  assert_false(atomic_load(&((fake_conn *)a)->closed));
  assert_false(atomic_load(&((fake_conn *)b)->closed));
  roster_pool_stats st = fake_stats(p);
  assert_int_equal(st.in_use, 2);
  assert_int_equal(st.idle, 0);
  /* Each is closed when it comes back, without a reset. */
  int resets = atomic_load(&s.resets);
  assert_ok(roster_pool_release(p, a, false));
  assert_true(atomic_load(&((fake_conn *)a)->closed));
  assert_rc(roster_pool_drain(p, 0), ROSTER_ETIMEDOUT);
  assert_contains(roster_last_error(), "1 connection still in use");
  assert_ok(roster_pool_release(p, b, false));
  assert_int_equal(atomic_load(&s.resets), resets);
  assert_ok(roster_pool_drain(p, 0));
  assert_int_equal(atomic_load(&s.closes), atomic_load(&s.connects));
  roster_pool_free(p);
  fake_srv_done(&s);
}

typedef struct connector {
  roster_pool *p;
  void *conn;
  int rc;
  char detail[256];
} connector;

static void *connector_main(void *arg) {
  connector *c = arg;
  c->rc = roster_pool_acquire(c->p, &c->conn);
  snprintf(c->detail, sizeof c->detail, "%s", roster_last_error());
  return NULL;
}

typedef struct drainer {
  roster_pool *p;
  int rc;
  atomic_bool done;
} drainer;

static void *drainer_main(void *arg) {
  drainer *d = arg;
  d->rc = roster_pool_drain(d->p, -1);
  atomic_store(&d->done, true);
  return NULL;
}

/* A connect running when the drain begins: the drain waits for it, its
 * connection is closed, and its acquire fails with ROSTER_ESTATE. */
static void test_drain_waits_for_connect(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  tu_gate gate;
  roster__tu_gate_init(&gate);
  s.connect_gate = &gate;
  roster_pool_options o = fake_opts(&s);
  roster_pool *p = fake_pool(&o);
  connector c = {.p = p};
  pthread_t tc, td;
  assert_int_equal(pthread_create(&tc, NULL, connector_main, &c), 0);
  tu_wait_until(atomic_load(&s.in_connect) == 1, LC_LONG_MS);
  assert_int_equal(fake_stats(p).connecting, 1);
  drainer d = {.p = p};
  assert_int_equal(pthread_create(&td, NULL, drainer_main, &d), 0);
  /* The drain cannot finish while the connect runs. */
  assert_rc(roster_pool_drain(p, 10), ROSTER_ETIMEDOUT);
  assert_contains(roster_last_error(), "1 connects and 0 closes are still");
  assert_false(atomic_load(&d.done));
  roster__tu_gate_open(&gate);
  pthread_join(tc, NULL);
  pthread_join(td, NULL);
  assert_rc(c.rc, ROSTER_ESTATE);
  assert_null(c.conn);
  assert_contains(c.detail, "draining");
  assert_ok(d.rc);
  assert_int_equal(atomic_load(&s.connects), 1);
  assert_int_equal(atomic_load(&s.closes), 1);
  roster_pool_stats st = fake_stats(p);
  assert_int_equal(st.connecting, 0);
  assert_int_equal(st.created, st.destroyed);
  roster_pool_free(p);
  fake_srv_done(&s);
}

/* free without a drain closes the idle connections, stops the maintenance
 * thread and runs free_arg once. */
static void test_free_drains(void **state) {
  (void)state;
  fake_srv s;
  fake_srv_init(&s);
  roster_pool_options o = fake_opts(&s);
  o.min_idle = 4;
  o.free_arg = fake_free_arg;
  roster_pool *p = fake_pool(&o);
  roster_pool_free(p);
  assert_int_equal(atomic_load(&s.closes), 4);
  assert_int_equal(atomic_load(&s.freed_args), 1);
  assert_int_equal(atomic_load(&s.closes_at_free), 4);
  fake_srv_done(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_drain_idle_and_refuse),
      cmocka_unit_test(test_drain_waits_for_release),
      cmocka_unit_test(test_drain_deadline),
      cmocka_unit_test(test_drain_waits_for_connect),
      cmocka_unit_test(test_free_drains),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
