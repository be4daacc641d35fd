/*
 * test_lc_health.c: readiness checks. A check the test flips between pass
 * and fail through an atomic runs every 20 ms with fail_threshold 3 and
 * pass_threshold 2: one failure changes nothing; three in a row make the
 * service unhealthy and its dependents degraded; two passes make both
 * ready again. Transitions are recorded by a ROSTER_EV_STATE listener and
 * compared with the times the checks ran (ordering, never elapsed time).
 * Waits for a state are bounded polls of roster_service_state.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#define WAIT_MS 10000

enum { PASS = 0, FAIL = 1, HANG = 2 };
#define MAX_T 4096

/* A tu_svc with a readiness check. tu_svc is the first member, so the
 * provider's arg serves both roster__tu_svc_create and the check. */
typedef struct hsvc {
  tu_svc svc;
  atomic_int mode;        /* PASS, FAIL or HANG */
  atomic_int fail_budget; /* > 0: fail this many checks, then pass */
  atomic_int checks, passes, fails;
  atomic_int bad_instance; /* the check was given a foreign instance */
  tu_gate *gate;           /* HANG waits here */
  pthread_mutex_t mu;      /* guards the arrays below */
  size_t npass, nfail;
  int64_t pass_at[MAX_T], fail_at[MAX_T]; /* when each check began */
} hsvc;

static int check_fn(void *arg, void *instance) {
  hsvc *h = arg;
  int64_t now = (int64_t)roster__tu_now_ns();
  atomic_fetch_add(&h->checks, 1);
  tu_inst *in = instance;
  if (!in || in->svc != &h->svc)
    atomic_store(&h->bad_instance, 1);
  int mode = atomic_load(&h->mode);
  if (mode == HANG && h->gate)
    roster__tu_gate_wait(h->gate, 20000);
  bool fail = mode == FAIL;
  if (!fail && atomic_load(&h->fail_budget) > 0 &&
      atomic_fetch_sub(&h->fail_budget, 1) > 0)
    fail = true;
  pthread_mutex_lock(&h->mu);
  if (fail) {
    if (h->nfail < MAX_T)
      h->fail_at[h->nfail++] = now;
  } else if (mode != HANG) {
    if (h->npass < MAX_T)
      h->pass_at[h->npass++] = now;
  }
  pthread_mutex_unlock(&h->mu);
  if (fail) {
    atomic_fetch_add(&h->fails, 1);
    return roster_error_set(ROSTER_EIO, "check says no");
  }
  atomic_fetch_add(&h->passes, 1);
  return ROSTER_OK;
}

static hsvc *hsvc_new(const char *name, const char *const *deps) {
  hsvc *h = calloc(1, sizeof *h);
  assert_non_null(h);
  roster__tu_svc_init(&h->svc, name, NULL, deps);
  pthread_mutex_init(&h->mu, NULL);
  return h;
}

static void hsvc_free(hsvc *h) {
  pthread_mutex_destroy(&h->mu);
  free(h);
}

static roster_provider hsvc_provider(hsvc *h) {
  roster_provider p = roster__tu_svc_provider(&h->svc);
  p.arg = h;
  p.ready = check_fn;
  p.check_interval_ms = 20;
  p.fail_threshold = 3;
  p.pass_threshold = 2;
  return p;
}

/* The time the k-th (0-based) check recorded after index `from` began. */
static int64_t nth_after(hsvc *h, bool pass, size_t from, size_t k) {
  int64_t t = 0;
  pthread_mutex_lock(&h->mu);
  size_t n = pass ? h->npass : h->nfail;
  if (from + k < n)
    t = pass ? h->pass_at[from + k] : h->fail_at[from + k];
  pthread_mutex_unlock(&h->mu);
  return t;
}

static size_t count_of(hsvc *h, bool pass) {
  pthread_mutex_lock(&h->mu);
  size_t n = pass ? h->npass : h->nfail;
  pthread_mutex_unlock(&h->mu);
  return n;
}

/* The last transition of name into `to`, or false. */
static bool last_into(tu_events *e, const char *name, roster_state to,
                      tu_ev *out) {
  static tu_ev evs[TU_EV_MAX];
  size_t n = roster__tu_events_get(e, name, evs, TU_EV_MAX);
  for (size_t i = n; i-- > 0;)
    if (evs[i].to == to) {
      *out = evs[i];
      return true;
    }
  return false;
}

static void test_unhealthy_and_back(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  tu_events *ev = roster__tu_events_listen(r);
  hsvc *db = hsvc_new("database", NULL);
  static const char *const d_api[] = {"database", NULL};
  tu_svc api;
  roster__tu_svc_init(&api, "api", NULL, d_api);
  roster_provider p = hsvc_provider(db);
  assert_ok(roster_provide(r, NULL, "database", &p));
  tu_provide(r, NULL, "api", &api, false);
  assert_ok(roster_start(r, LC_LONG_MS));
  assert_ok(roster_wait_ready(r, LC_LONG_MS));

  /* Checks run, and pass. */
  tu_wait_until(atomic_load(&db->passes) >= 3, WAIT_MS);
  assert_true(atomic_load(&db->passes) >= 3);
  roster_service_health h;
  char detail[512];
  bool all_ready = false;
  assert_ok(roster__tu_health_item(r, "database", &h, detail, sizeof detail,
                                   &all_ready));
  assert_true(h.last_check_ns > 0);
  assert_true(h.last_latency_us >= 0);
  assert_int_equal(h.consecutive_failures, 0);
  assert_int_equal(h.state, ROSTER_STATE_READY);
  assert_true(h.live);
  assert_true(all_ready);

  /* One failure, then passes: no change at all. */
  size_t passes_before = count_of(db, true);
  atomic_store(&db->fail_budget, 1);
  tu_wait_until(atomic_load(&db->fails) == 1 &&
                    count_of(db, true) >= passes_before + 3,
                WAIT_MS);
  assert_int_equal(atomic_load(&db->fails), 1);
  assert_true(count_of(db, true) >= passes_before + 3);
  assert_int_equal(roster__tu_state(r, NULL, "database"), ROSTER_STATE_READY);
  assert_int_equal(roster__tu_state(r, NULL, "api"), ROSTER_STATE_READY);
  assert_int_equal(
      roster__tu_events_count(ev, "database", ROSTER_STATE_UNHEALTHY), 0);
  assert_int_equal(roster__tu_events_count(ev, "api", ROSTER_STATE_DEGRADED),
                   0);

  /* Failing for good: unhealthy after fail_threshold failures in a row. */
  size_t fails_before = count_of(db, false);
  atomic_store(&db->mode, FAIL);
  assert_state(r, NULL, "database", ROSTER_STATE_UNHEALTHY, WAIT_MS);
  assert_state(r, NULL, "api", ROSTER_STATE_DEGRADED, WAIT_MS);
  tu_ev e;
  tu_wait_until(last_into(ev, "database", ROSTER_STATE_UNHEALTHY, &e) &&
                    last_into(ev, "api", ROSTER_STATE_DEGRADED, &e),
                WAIT_MS);
  assert_true(last_into(ev, "database", ROSTER_STATE_UNHEALTHY, &e));
  assert_int_equal(e.from, ROSTER_STATE_READY);
  assert_int_equal(e.error, ROSTER_EIO);
  /* Not before the third failing check (since the flip) had begun. */
  int64_t third = nth_after(db, false, fails_before, 2);
  assert_true(third > 0);
  assert_true(e.at_ns > third);
  tu_ev d;
  assert_true(last_into(ev, "api", ROSTER_STATE_DEGRADED, &d));
  assert_int_equal(d.from, ROSTER_STATE_READY);
  assert_true(d.at_ns >= e.at_ns);

  assert_ok(roster__tu_health_item(r, "database", &h, detail, sizeof detail,
                                   &all_ready));
  assert_int_equal(h.state, ROSTER_STATE_UNHEALTHY);
  assert_int_equal(h.last_error, ROSTER_EIO);
  assert_contains(detail, "check says no");
  assert_true(h.consecutive_failures >= 3);
  assert_true(h.last_check_ns > 0);
  assert_true(h.since_ns >= third); /* it entered unhealthy after that */
  assert_true(h.live);              /* readiness, not liveness */
  assert_false(all_ready);
  /* Still up: still registered, nothing restarted. */
  void *inst = NULL;
  assert_ok(roster_get(r, NULL, "database", &roster__tu_svc_type, &inst));
  assert_int_equal(atomic_load(&db->svc.creates), 1);
  assert_int_equal(atomic_load(&api.creates), 1);
  /* wait_ready counts unhealthy and degraded as not ready. */
  assert_rc(roster_wait_ready(r, 50), ROSTER_ETIMEDOUT);
  assert_contains(roster_last_error(), "database");

  /* Passing again: ready after pass_threshold passes, dependents too. */
  size_t pass_mark = count_of(db, true);
  atomic_store(&db->mode, PASS);
  assert_state(r, NULL, "database", ROSTER_STATE_READY, WAIT_MS);
  assert_state(r, NULL, "api", ROSTER_STATE_READY, WAIT_MS);
  tu_wait_until(last_into(ev, "database", ROSTER_STATE_READY, &e) &&
                    e.from == ROSTER_STATE_UNHEALTHY,
                WAIT_MS);
  assert_true(last_into(ev, "database", ROSTER_STATE_READY, &e));
  assert_int_equal(e.from, ROSTER_STATE_UNHEALTHY);
  int64_t second = nth_after(db, true, pass_mark, 1);
  assert_true(second > 0);
  assert_true(e.at_ns > second);
  tu_wait_until(last_into(ev, "api", ROSTER_STATE_READY, &d) &&
                    d.from == ROSTER_STATE_DEGRADED,
                WAIT_MS);
  assert_true(last_into(ev, "api", ROSTER_STATE_READY, &d));
  assert_int_equal(d.from, ROSTER_STATE_DEGRADED);
  assert_true(d.at_ns >= e.at_ns);
  assert_ok(roster_wait_ready(r, LC_LONG_MS));
  assert_ok(roster__tu_health_item(r, "database", &h, detail, sizeof detail,
                                   &all_ready));
  assert_int_equal(h.consecutive_failures, 0);
  assert_true(all_ready);
  assert_int_equal(atomic_load(&db->svc.creates), 1);
  assert_int_equal(atomic_load(&api.creates), 1);
  assert_int_equal(atomic_load(&db->bad_instance), 0);

  assert_ok(roster_shutdown(r, LC_LONG_MS));
  /* Checks stop with the service. */
  int checks = atomic_load(&db->checks);
  roster__tu_sleep_ms(100);
  assert_int_equal(atomic_load(&db->checks), checks);
  roster_free(r);
  roster__tu_events_free(ev);
  hsvc_free(db);
}

/* Without a ready function the type's health function is the check. */
static atomic_int type_health_fail;
static atomic_int type_health_calls;
static int type_health(void *instance) {
  (void)instance;
  atomic_fetch_add(&type_health_calls, 1);
  return atomic_load(&type_health_fail)
             ? roster_error_set(ROSTER_EBUSY, "type says busy")
             : ROSTER_OK;
}
static const roster_type checked_type = {.name = "checked",
                                         .health = type_health};
static int checked_create(void *arg, const roster_deps *deps, void **out) {
  (void)deps;
  *out = arg;
  return ROSTER_OK;
}

static void test_type_health_fallback(void **state) {
  (void)state;
  static int inst;
  roster *r = tu_registry(NULL);
  roster_provider p = {.type = &checked_type,
                       .create = checked_create,
                       .arg = &inst,
                       .check_interval_ms = 20,
                       .fail_threshold = 2,
                       .pass_threshold = 1};
  assert_ok(roster_provide(r, NULL, "typed", &p));
  assert_ok(roster_start(r, LC_LONG_MS));
  tu_wait_until(atomic_load(&type_health_calls) >= 2, WAIT_MS);
  assert_true(atomic_load(&type_health_calls) >= 2);
  assert_int_equal(roster__tu_state(r, NULL, "typed"), ROSTER_STATE_READY);
  atomic_store(&type_health_fail, 1);
  assert_state(r, NULL, "typed", ROSTER_STATE_UNHEALTHY, WAIT_MS);
  roster_service_health h;
  char detail[512];
  assert_ok(
      roster__tu_health_item(r, "typed", &h, detail, sizeof detail, NULL));
  assert_int_equal(h.last_error, ROSTER_EBUSY);
  assert_contains(detail, "type says busy");
  atomic_store(&type_health_fail, 0);
  assert_state(r, NULL, "typed", ROSTER_STATE_READY, WAIT_MS);
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  roster_free(r);
}

/* A readiness check returning something that is not a roster error code
 * fails with ROSTER_EFAILED and a detail saying what it returned. */
static int odd_check(void *arg, void *instance) {
  (void)arg;
  (void)instance;
  return 4;
}

static void test_check_returns_foreign_code(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  static tu_svc s;
  roster__tu_svc_init(&s, "odd", NULL, NULL);
  roster_provider p = roster__tu_svc_provider(&s);
  p.ready = odd_check;
  p.check_interval_ms = 20;
  p.fail_threshold = 1;
  assert_ok(roster_provide(r, NULL, "odd", &p));
  assert_ok(roster_start(r, LC_LONG_MS));
  assert_state(r, NULL, "odd", ROSTER_STATE_UNHEALTHY, WAIT_MS);
  roster_service_health h;
  char detail[512];
  assert_ok(roster__tu_health_item(r, "odd", &h, detail, sizeof detail, NULL));
  assert_int_equal(h.last_error, ROSTER_EFAILED);
  assert_contains(detail, "readiness check of 'odd' returned 4, not a "
                          "roster error code");
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  roster_free(r);
}

/* A check that overruns check_timeout_ms counts as a failure. */
static tu_gate hang_gate;

static void test_check_timeout(void **state) {
  (void)state;
  roster__tu_gate_init(&hang_gate);
  roster *r = tu_registry(NULL);
  static hsvc *h;
  h = hsvc_new("sluggish", NULL);
  h->gate = &hang_gate;
  roster_provider p = hsvc_provider(h);
  p.check_timeout_ms = 50;
  p.fail_threshold = 1;
  p.pass_threshold = 1;
  assert_ok(roster_provide(r, NULL, "sluggish", &p));
  assert_ok(roster_start(r, LC_LONG_MS));
  assert_int_equal(roster__tu_state(r, NULL, "sluggish"), ROSTER_STATE_READY);
  atomic_store(&h->mode, HANG);
  assert_state(r, NULL, "sluggish", ROSTER_STATE_UNHEALTHY, WAIT_MS);
  roster_service_health sh;
  char detail[512];
  assert_ok(
      roster__tu_health_item(r, "sluggish", &sh, detail, sizeof detail, NULL));
  assert_int_not_equal(sh.last_error, ROSTER_OK);
  /* The hung check is still blocked: it was abandoned, not awaited. */
  assert_true(atomic_load(&hang_gate.waiting) >= 1);
  atomic_store(&h->mode, PASS);
  roster__tu_gate_open(&hang_gate);
  assert_state(r, NULL, "sluggish", ROSTER_STATE_READY, WAIT_MS);
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  assert_eventually_equal(atomic_load(&hang_gate.waiting), 0, WAIT_MS);
  roster_free(r);
  /* h stays allocated (reachable from the static pointer): an abandoned
   * check may still be on its way out of check_fn. */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_unhealthy_and_back),
      cmocka_unit_test(test_type_health_fallback),
      cmocka_unit_test(test_check_returns_foreign_code),
      cmocka_unit_test(test_check_timeout),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
