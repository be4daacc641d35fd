/*
 * test_lc_timeouts.c: a create that overruns its start timeout, a destroy
 * that overruns its stop timeout, and a shutdown deadline. roster must
 * return, report ROSTER_ETIMEDOUT naming the service, carry on with the
 * others, and, when the abandoned function finally returns, destroy what it
 * made. The hung functions block on a gate the test opens at the end, so
 * the process exits clean (ASan's leak check runs at exit). Nothing here
 * asserts elapsed time: "returned while still blocked" is checked with a
 * flag the blocked function sets when it finally returns.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

/* A service whose create or destroy blocks on a gate. */
typedef struct hung {
  const char *name;
  tu_gate *create_gate;  /* create waits here, if set */
  tu_gate *destroy_gate; /* destroy waits here, if set */
  atomic_int creates, creates_returned;
  atomic_int destroys_begun, destroys;
} hung;

static const roster_type hung_type = {.name = "hung"};

static void hung_init(hung *h, const char *name) {
  memset(h, 0, sizeof *h);
  h->name = name;
}

static int hung_create(void *arg, const roster_deps *deps, void **out) {
  (void)deps;
  hung *h = arg;
  atomic_fetch_add(&h->creates, 1);
  if (h->create_gate)
    roster__tu_gate_wait(h->create_gate, 20000);
  int *inst = malloc(sizeof *inst);
  if (!inst)
    return ROSTER_ENOMEM;
  *inst = 42;
  *out = inst;
  atomic_fetch_add(&h->creates_returned, 1);
  return ROSTER_OK;
}

static void hung_destroy(void *arg, void *instance) {
  hung *h = arg;
  atomic_fetch_add(&h->destroys_begun, 1);
  if (h->destroy_gate)
    roster__tu_gate_wait(h->destroy_gate, 20000);
  free(instance);
  atomic_fetch_add(&h->destroys, 1);
}

static roster_provider hung_provider(hung *h) {
  roster_provider p = {.type = &hung_type,
                       .create = hung_create,
                       .destroy = hung_destroy,
                       .arg = h};
  return p;
}

static tu_gate g_create;

static void test_create_timeout(void **state) {
  (void)state;
  roster__tu_gate_init(&g_create);
  roster *r = tu_registry(NULL);
  static hung h;
  hung_init(&h, "slowpoke");
  h.create_gate = &g_create;
  roster_provider p = hung_provider(&h);
  p.start_timeout_ms = 100;
  assert_ok(roster_provide(r, NULL, "slowpoke", &p));
  tu_svc quick;
  roster__tu_svc_init(&quick, "quick", NULL, NULL);
  tu_provide(r, NULL, "quick", &quick, false);

  assert_rc(roster_start(r, LC_LONG_MS), ROSTER_ETIMEDOUT);
  char err[1024];
  snprintf(err, sizeof err, "%s", roster_last_error());
  /* roster_start returned while create is still blocked. */
  assert_int_equal(atomic_load(&h.creates), 1);
  assert_int_equal(atomic_load(&h.creates_returned), 0);
  assert_false(roster_has(r, NULL, "slowpoke"));
  assert_int_equal(roster__tu_state(r, NULL, "slowpoke"), ROSTER_STATE_FAILED);
  roster_service_health sh;
  char detail[512];
  assert_ok(
      roster__tu_health_item(r, "slowpoke", &sh, detail, sizeof detail, NULL));
  assert_int_equal(sh.last_error, ROSTER_ETIMEDOUT);
  /* The service that did start was stopped again. */
  assert_eventually_equal(atomic_load(&quick.destroys), 1, 10000);
  assert_state(r, NULL, "quick", ROSTER_STATE_STOPPED, 10000);

  /* The abandoned create returns late: what it made is destroyed, and it
   * never shows up in the registry. */
  roster__tu_gate_open(&g_create);
  tu_wait_until(atomic_load(&h.destroys) == 1, 10000);
  assert_int_equal(atomic_load(&h.creates_returned), 1);
  assert_int_equal(atomic_load(&h.destroys), 1);
  assert_false(roster_has(r, NULL, "slowpoke"));
  assert_int_equal(roster__tu_state(r, NULL, "slowpoke"), ROSTER_STATE_FAILED);

  assert_int_equal(roster_last_code(), ROSTER_ETIMEDOUT);
  assert_contains(err, "slowpoke");

  assert_ok(roster_shutdown(r, LC_LONG_MS));
  roster_free(r);
  assert_int_equal(atomic_load(&h.creates), 1);
}

static tu_gate g_destroy;

static void test_destroy_timeout(void **state) {
  (void)state;
  roster__tu_gate_init(&g_destroy);
  tu_log log;
  roster__tu_log_init(&log);
  roster *r = tu_registry(NULL);
  /* base <- stuck (stuck depends on base); other is independent. */
  static hung h;
  hung_init(&h, "stuck");
  h.destroy_gate = &g_destroy;
  static const char *const d_stuck[] = {"base", NULL};
  roster_provider p = hung_provider(&h);
  p.stop_timeout_ms = 100;
  p.deps = d_stuck;
  assert_ok(roster_provide(r, NULL, "stuck", &p));
  tu_svc base, other;
  roster__tu_svc_init(&base, "base", &log, NULL);
  roster__tu_svc_init(&other, "other", &log, NULL);
  roster_provider pb = roster__tu_svc_provider(&base),
                  po = roster__tu_svc_provider(&other);
  assert_ok(roster_provide(r, NULL, "base", &pb));
  assert_ok(roster_provide(r, NULL, "other", &po));
  assert_ok(roster_start(r, LC_LONG_MS));
  assert_int_equal(roster__tu_state(r, NULL, "stuck"), ROSTER_STATE_READY);

  assert_rc(roster_shutdown(r, LC_LONG_MS), ROSTER_ETIMEDOUT);
  char err[1024];
  snprintf(err, sizeof err, "%s", roster_last_error());
  /* It returned while the destroy is still blocked... */
  assert_int_equal(atomic_load(&h.destroys_begun), 1);
  assert_int_equal(atomic_load(&h.destroys), 0);
  /* ...and stopped everything else, the overrunning service's dependency
   * included. */
  assert_int_equal(atomic_load(&base.destroys), 1);
  assert_int_equal(atomic_load(&other.destroys), 1);
  assert_int_equal(roster__tu_state(r, NULL, "base"), ROSTER_STATE_STOPPED);
  assert_int_equal(roster__tu_state(r, NULL, "other"), ROSTER_STATE_STOPPED);
  int st = roster__tu_state(r, NULL, "stuck");
  if (st != ROSTER_STATE_STOPPED && st != ROSTER_STATE_FAILED)
    fail_msg("overrun service is %s after shutdown",
             st < 0 ? "?" : roster_state_name((roster_state)st));
  assert_false(roster_has(r, NULL, "stuck"));

  roster__tu_gate_open(&g_destroy);
  assert_eventually_equal(atomic_load(&h.destroys), 1, 10000);

  assert_contains(err, "stuck");

  roster_free(r);
  assert_int_equal(atomic_load(&h.destroys), 1);
  assert_int_equal(atomic_load(&base.live_instances), 0);
  roster__tu_log_fini(&log);
}

static tu_gate g_deadline;

static void test_shutdown_deadline(void **state) {
  (void)state;
  roster__tu_gate_init(&g_deadline);
  roster *r = tu_registry(NULL);
  static hung h1, h2;
  hung_init(&h1, "molasses");
  hung_init(&h2, "treacle");
  h1.destroy_gate = h2.destroy_gate = &g_deadline;
  roster_provider p1 = hung_provider(&h1), p2 = hung_provider(&h2);
  p1.stop_timeout_ms = p2.stop_timeout_ms = -1; /* no per-service limit */
  assert_ok(roster_provide(r, NULL, "molasses", &p1));
  assert_ok(roster_provide(r, NULL, "treacle", &p2));
  tu_svc fine;
  roster__tu_svc_init(&fine, "fine", NULL, NULL);
  tu_provide(r, NULL, "fine", &fine, false);
  assert_ok(roster_start(r, LC_LONG_MS));

  assert_rc(roster_shutdown(r, 200), ROSTER_ETIMEDOUT);
  char err[1024];
  snprintf(err, sizeof err, "%s", roster_last_error());
  assert_int_equal(atomic_load(&h1.destroys), 0);
  assert_int_equal(atomic_load(&h2.destroys), 0);
  assert_int_equal(atomic_load(&fine.destroys), 1);
  assert_int_equal(roster__tu_state(r, NULL, "fine"), ROSTER_STATE_STOPPED);
  assert_false(roster_has(r, NULL, "molasses"));
  assert_false(roster_has(r, NULL, "treacle"));

  roster__tu_gate_open(&g_deadline);
  tu_wait_until(
      atomic_load(&h1.destroys) == 1 && atomic_load(&h2.destroys) == 1, 10000);
  assert_int_equal(atomic_load(&h1.destroys), 1);
  assert_int_equal(atomic_load(&h2.destroys), 1);

  assert_contains(err, "molasses");
  assert_contains(err, "treacle");
  roster_free(r);
}

static tu_gate g_start_deadline;

/* roster_start's own timeout bounds the whole call. */
static void test_start_deadline(void **state) {
  (void)state;
  roster__tu_gate_init(&g_start_deadline);
  roster *r = tu_registry(NULL);
  static hung h;
  hung_init(&h, "glacier");
  h.create_gate = &g_start_deadline;
  roster_provider p = hung_provider(&h);
  p.start_timeout_ms = -1; /* no per-service limit */
  assert_ok(roster_provide(r, NULL, "glacier", &p));
  assert_rc(roster_start(r, 150), ROSTER_ETIMEDOUT);
  char err[1024];
  snprintf(err, sizeof err, "%s", roster_last_error());
  assert_int_equal(atomic_load(&h.creates_returned), 0);
  assert_false(roster_has(r, NULL, "glacier"));

  roster__tu_gate_open(&g_start_deadline);
  tu_wait_until(atomic_load(&h.creates_returned) >= 1, 10000);
  assert_true(atomic_load(&h.creates_returned) >= 1);
  /* The failed start asked for nothing more: once the late create has
   * settled (the instance kept or destroyed), no new create begins. */
  tu_wait_until(roster__tu_state(r, NULL, "glacier") != ROSTER_STATE_STARTING,
                10000);
  roster__tu_sleep_ms(100);
  assert_int_equal(atomic_load(&h.creates), 1);
  /* Whatever became of the late instance, after shutdown it is gone. */
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  tu_wait_until(atomic_load(&h.destroys) >= 1, 10000);
  assert_int_equal(atomic_load(&h.destroys), 1);
  assert_false(roster_has(r, NULL, "glacier"));
  assert_contains(err, "glacier");
  roster_free(r);
  assert_int_equal(atomic_load(&h.creates), 1);
  assert_int_equal(atomic_load(&h.destroys), 1);
}

/* While a service stops, roster waits for roster_acquire references to be
 * released before destroy runs. */
typedef struct shutdown_call {
  roster *r;
  int64_t deadline_ms;
  int rc;
  char err[512];
  atomic_bool done;
} shutdown_call;

static void *shutdown_main(void *arg) {
  shutdown_call *c = arg;
  c->rc = roster_shutdown(c->r, c->deadline_ms);
  snprintf(c->err, sizeof c->err, "%s", roster_last_error());
  atomic_store(&c->done, true);
  return NULL;
}

static void test_acquire_delays_destroy(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  static tu_svc held;
  roster__tu_svc_init(&held, "held", NULL, NULL);
  tu_provide(r, NULL, "held", &held, false);
  assert_ok(roster_start(r, LC_LONG_MS));
  void *inst = NULL;
  roster_ref *ref = NULL;
  assert_ok(roster_acquire(r, NULL, "held", &roster__tu_svc_type, &inst, &ref));
  assert_non_null(ref);

  static shutdown_call c;
  memset(&c, 0, sizeof c);
  c.r = r;
  c.deadline_ms = LC_LONG_MS;
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, shutdown_main, &c), 0);
  /* Unregistered as it starts stopping... */
  tu_wait_until(!roster_has(r, NULL, "held"), 10000);
  assert_false(roster_has(r, NULL, "held"));
  /* ...but not destroyed while the reference is held. */
  roster__tu_sleep_ms(150);
  assert_int_equal(atomic_load(&held.destroys), 0);
  assert_false(atomic_load(&c.done));
  assert_ptr_equal(((tu_inst *)inst)->svc, &held); /* still valid */
  roster_release(ref);
  assert_int_equal(pthread_join(th, NULL), 0);
  assert_ok(c.rc);
  assert_int_equal(atomic_load(&held.destroys), 1);
  assert_int_equal(roster__tu_state(r, NULL, "held"), ROSTER_STATE_STOPPED);
  roster_free(r);
}

/* A reference held past the stop timeout: shutdown reports it and returns;
 * the instance is destroyed once the reference goes. */
static void test_acquire_past_stop_timeout(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  static tu_svc clung;
  roster__tu_svc_init(&clung, "clung", NULL, NULL);
  roster_provider p = roster__tu_svc_provider(&clung);
  p.stop_timeout_ms = 100;
  assert_ok(roster_provide(r, NULL, "clung", &p));
  assert_ok(roster_start(r, LC_LONG_MS));
  void *inst = NULL;
  roster_ref *ref = NULL;
  assert_ok(
      roster_acquire(r, NULL, "clung", &roster__tu_svc_type, &inst, &ref));
  assert_rc(roster_shutdown(r, LC_LONG_MS), ROSTER_ETIMEDOUT);
  char err[512];
  snprintf(err, sizeof err, "%s", roster_last_error());
  assert_int_equal(atomic_load(&clung.destroys), 0);
  assert_ptr_equal(((tu_inst *)inst)->svc, &clung); /* still valid */
  roster_release(ref);
  assert_eventually_equal(atomic_load(&clung.destroys), 1, 10000);
  assert_contains(err, "clung");
  roster_free(r);
  assert_int_equal(atomic_load(&clung.destroys), 1);
}

/* roster_provide while the registry is shutting down is ROSTER_ESTATE. */
static tu_gate g_provide;

static void test_provide_during_shutdown(void **state) {
  (void)state;
  roster__tu_gate_init(&g_provide);
  roster *r = tu_registry(NULL);
  static hung h;
  hung_init(&h, "lingering");
  h.destroy_gate = &g_provide;
  roster_provider p = hung_provider(&h);
  p.stop_timeout_ms = -1;
  assert_ok(roster_provide(r, NULL, "lingering", &p));
  assert_ok(roster_start(r, LC_LONG_MS));
  static shutdown_call c;
  memset(&c, 0, sizeof c);
  c.r = r;
  c.deadline_ms = LC_LONG_MS;
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, shutdown_main, &c), 0);
  assert_eventually_equal(atomic_load(&h.destroys_begun), 1, 10000);
  assert_false(atomic_load(&c.done));
  tu_svc late;
  roster__tu_svc_init(&late, "latecomer", NULL, NULL);
  roster_provider pl = roster__tu_svc_provider(&late);
  int rc = roster_provide(r, NULL, "latecomer", &pl);
  roster__tu_gate_open(&g_provide);
  assert_int_equal(pthread_join(th, NULL), 0);
  assert_ok(c.rc);
  assert_rc(rc, ROSTER_ESTATE);
  assert_int_equal(roster__tu_state(r, NULL, "latecomer"), -1);
  roster_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_timeout),
      cmocka_unit_test(test_destroy_timeout),
      cmocka_unit_test(test_shutdown_deadline),
      cmocka_unit_test(test_start_deadline),
      cmocka_unit_test(test_acquire_delays_destroy),
      cmocka_unit_test(test_acquire_past_stop_timeout),
      cmocka_unit_test(test_provide_during_shutdown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
