/*
 * test_lc_restart.c: restarts. A failing liveness check fails the service
 * and ON_FAILURE restarts it, each time after a longer backoff (asserted
 * from recorded create times: with jitter the k-th delay is in [d/2, d],
 * d = min(backoff_max, backoff_min * 2^k), so gap_k >= d_k / 2); after
 * max_restarts in the window it is failed for good (a final event) and no
 * create follows. roster_service_exit with each policy, and with a code
 * that is not a roster code. A dependency's
 * restart stops and restarts an ON_DEP_RESTART dependent around it, and
 * only degrades an ON_DEP_NOTIFY one.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#define WAIT_MS 10000
#define MAX_CREATES 64

typedef struct rsvc {
  tu_svc svc;           /* first: the provider's arg is also a tu_svc */
  atomic_int live_fail; /* liveness check fails while set */
  atomic_int live_checks;
  pthread_mutex_t mu;
  size_t n;
  int64_t created_at[MAX_CREATES]; /* when each create began */
} rsvc;

static int rsvc_create(void *arg, const roster_deps *deps, void **out) {
  rsvc *s = arg;
  pthread_mutex_lock(&s->mu);
  if (s->n < MAX_CREATES)
    s->created_at[s->n++] = (int64_t)roster__tu_now_ns();
  pthread_mutex_unlock(&s->mu);
  return roster__tu_svc_create(&s->svc, deps, out);
}

static int rsvc_live(void *arg, void *instance) {
  (void)instance;
  rsvc *s = arg;
  atomic_fetch_add(&s->live_checks, 1);
  if (atomic_load(&s->live_fail))
    return roster_error_set(ROSTER_EIO, "heart stopped");
  return ROSTER_OK;
}

static rsvc *rsvc_new(const char *name, tu_log *log, const char *const *deps) {
  rsvc *s = calloc(1, sizeof *s);
  assert_non_null(s);
  roster__tu_svc_init(&s->svc, name, log, deps);
  pthread_mutex_init(&s->mu, NULL);
  return s;
}

static void rsvc_free(rsvc *s) {
  pthread_mutex_destroy(&s->mu);
  free(s);
}

static roster_provider rsvc_provider(rsvc *s) {
  roster_provider p = roster__tu_svc_provider(&s->svc);
  p.arg = s;
  p.create = rsvc_create;
  return p;
}

static size_t creates_of(rsvc *s, int64_t *out, size_t cap) {
  pthread_mutex_lock(&s->mu);
  size_t n = s->n < cap ? s->n : cap;
  memcpy(out, s->created_at, n * sizeof *out);
  pthread_mutex_unlock(&s->mu);
  return n;
}

static bool has_final(tu_events *ev, const char *name) {
  static tu_ev evs[TU_EV_MAX];
  size_t n = roster__tu_events_get(ev, name, evs, TU_EV_MAX);
  for (size_t i = 0; i < n; i++)
    if (evs[i].final)
      return true;
  return false;
}

/* Exactly one final event for name, it is a FAILED one, and it is the
 * service's last transition. */
static void assert_one_final_failed(tu_events *ev, const char *name) {
  static tu_ev evs[TU_EV_MAX];
  size_t n = roster__tu_events_get(ev, name, evs, TU_EV_MAX);
  size_t finals = 0;
  for (size_t i = 0; i < n; i++)
    if (evs[i].final) {
      finals++;
      assert_int_equal(evs[i].to, ROSTER_STATE_FAILED);
    }
  if (finals != 1) {
    roster__tu_events_dump(ev, name);
    fail_msg("%s: %zu final events, want 1", name, finals);
  }
  assert_true(n > 0);
  assert_true(evs[n - 1].final);
}

/* Liveness fails every time: restarted max_restarts times with growing
 * delays, then failed for good. */
static void run_live_failure(unsigned max_restarts, int64_t bmin, int64_t bmax,
                             const char *name) {
  roster *r = tu_registry(NULL);
  tu_events *ev = roster__tu_events_listen(r);
  rsvc *s = rsvc_new(name, NULL, NULL);
  roster_provider p = rsvc_provider(s);
  p.live = rsvc_live;
  p.check_interval_ms = 10;
  p.fail_threshold = 1;
  p.restart = ROSTER_RESTART_ON_FAILURE;
  p.backoff_min_ms = bmin;
  p.backoff_max_ms = bmax;
  p.max_restarts = max_restarts;
  p.restart_window_ms = 60000;
  assert_ok(roster_provide(r, NULL, name, &p));
  atomic_store(&s->live_fail, 1);
  assert_ok(roster_start(r, LC_LONG_MS));

  assert_state(r, NULL, name, ROSTER_STATE_FAILED, WAIT_MS);
  tu_wait_until(roster__tu_events_count(ev, name, ROSTER_STATE_FAILED) > 0 &&
                    roster__tu_state(r, NULL, name) == ROSTER_STATE_FAILED,
                WAIT_MS);
  /* Failed for good means failed with nothing scheduled; give a wrong
   * implementation time to create again (twice the longest delay). */
  int64_t longest = bmin;
  for (unsigned k = 0; k < max_restarts && longest < bmax; k++)
    longest *= 2;
  if (longest > bmax)
    longest = bmax;
  roster__tu_sleep_ms((long)(longest + 100));
  int64_t t[MAX_CREATES];
  size_t n = creates_of(s, t, MAX_CREATES);
  assert_int_equal(n, max_restarts + 1);
  assert_int_equal(atomic_load(&s->svc.creates), (int)max_restarts + 1);
  assert_int_equal(roster__tu_state(r, NULL, name), ROSTER_STATE_FAILED);
  assert_false(roster_has(r, NULL, name));
  /* Every instance made was destroyed. */
  assert_eventually_equal(atomic_load(&s->svc.destroys), (int)max_restarts + 1,
                          WAIT_MS);

  /* Backoff: the k-th restart waited at least half its nominal delay. */
  for (size_t k = 0; k + 1 < n; k++) {
    int64_t d = bmin;
    for (size_t i = 0; i < k && d < bmax; i++)
      d *= 2;
    if (d > bmax)
      d = bmax;
    int64_t gap = t[k + 1] - t[k];
    if (gap < d * 1000000 / 2)
      fail_msg("restart %zu came %lld us after the previous create; the "
               "backoff is %lld ms (at least %lld ms with jitter)",
               k, (long long)(gap / 1000), (long long)d, (long long)d / 2);
  }

  tu_wait_until(has_final(ev, name), WAIT_MS);
  assert_one_final_failed(ev, name);
  roster_service_health h;
  char detail[512];
  assert_ok(roster__tu_health_item(r, name, &h, detail, sizeof detail, NULL));
  assert_int_equal(h.state, ROSTER_STATE_FAILED);
  assert_int_equal(h.restarts, max_restarts);
  /* The last failure is the liveness check's (EIO); a code saying the
   * restarts ran out (EFAILED) is tolerated as long as the detail keeps
   * the cause. */
  if (h.last_error != ROSTER_EIO && h.last_error != ROSTER_EFAILED)
    fail_msg("last_error %s (%s)", roster_err_name(h.last_error), detail);
  assert_contains(detail, "heart stopped");
  assert_int_equal(h.next_restart_ns, 0);
  assert_false(h.live);
  assert_rc(roster_wait_ready(r, 0), ROSTER_EFAILED);

  assert_ok(roster_shutdown(r, LC_LONG_MS));
  roster_free(r);
  roster__tu_events_free(ev);
  rsvc_free(s);
}

static void test_backoff_grows(void **state) {
  (void)state;
  run_live_failure(5, 20, 1000, "flaky");
}

static void test_intensity_limit(void **state) {
  (void)state;
  run_live_failure(3, 20, 1000, "fragile");
}

/* A restarted service that comes back healthy is ready again. */
static void test_live_recovers(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  rsvc *s = rsvc_new("phoenix", NULL, NULL);
  roster_provider p = rsvc_provider(s);
  p.live = rsvc_live;
  p.check_interval_ms = 10;
  p.fail_threshold = 1;
  p.restart = ROSTER_RESTART_ON_FAILURE;
  p.backoff_min_ms = 10;
  p.max_restarts = 5;
  p.restart_window_ms = 60000;
  assert_ok(roster_provide(r, NULL, "phoenix", &p));
  assert_ok(roster_start(r, LC_LONG_MS));
  void *first = NULL;
  assert_ok(roster_get(r, NULL, "phoenix", &roster__tu_svc_type, &first));
  atomic_store(&s->live_fail, 1);
  tu_wait_until(atomic_load(&s->svc.creates) >= 2, WAIT_MS);
  atomic_store(&s->live_fail, 0);
  assert_true(atomic_load(&s->svc.creates) >= 2);
  assert_state(r, NULL, "phoenix", ROSTER_STATE_READY, WAIT_MS);
  tu_wait_until(roster_has(r, NULL, "phoenix"), WAIT_MS);
  void *now = NULL;
  assert_ok(roster_get(r, NULL, "phoenix", &roster__tu_svc_type, &now));
  assert_true(((tu_inst *)now)->gen >= 2);
  roster_service_health h;
  char detail[512];
  assert_ok(
      roster__tu_health_item(r, "phoenix", &h, detail, sizeof detail, NULL));
  assert_true(h.restarts >= 1);
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  roster_free(r);
  assert_int_equal(atomic_load(&s->svc.live_instances), 0);
  rsvc_free(s);
}

/* roster_service_exit under each policy. */
static rsvc *exit_svc(roster *r, const char *name, roster_restart policy) {
  rsvc *s = rsvc_new(name, NULL, NULL);
  roster_provider p = rsvc_provider(s);
  p.restart = policy;
  p.backoff_min_ms = 10;
  p.backoff_max_ms = 100;
  assert_ok(roster_provide(r, NULL, name, &p));
  return s;
}

static void test_service_exit(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  tu_events *ev = roster__tu_events_listen(r);
  rsvc *always = exit_svc(r, "always", ROSTER_RESTART_ALWAYS);
  rsvc *onfail_ok = exit_svc(r, "onfail-ok", ROSTER_RESTART_ON_FAILURE);
  rsvc *onfail_bad = exit_svc(r, "onfail-bad", ROSTER_RESTART_ON_FAILURE);
  rsvc *never_bad = exit_svc(r, "never-bad", ROSTER_RESTART_NEVER);
  static int plain;
  assert_ok(roster_register(r, NULL, "plain", &roster__tu_other_type, &plain));

  /* Not up yet. */
  assert_rc(roster_service_exit(r, NULL, "always", ROSTER_OK, NULL),
            ROSTER_ESTATE);
  assert_rc(roster_service_exit(r, NULL, "nobody", ROSTER_OK, NULL),
            ROSTER_ENOENT);
  assert_rc(roster_service_exit(r, NULL, "plain", ROSTER_OK, NULL),
            ROSTER_ENOENT);
  assert_ok(roster_start(r, LC_LONG_MS));

  assert_ok(roster_service_exit(r, NULL, "always", ROSTER_OK, NULL));
  assert_ok(roster_service_exit(r, NULL, "onfail-ok", ROSTER_OK, "done"));
  assert_ok(roster_service_exit(r, NULL, "onfail-bad", ROSTER_EIO, "crashed"));
  assert_ok(roster_service_exit(r, NULL, "never-bad", ROSTER_EIO, "boom"));

  /* ALWAYS: a normal exit restarts. */
  tu_wait_until(atomic_load(&always->svc.creates) == 2 &&
                    roster__tu_state(r, NULL, "always") == ROSTER_STATE_READY,
                WAIT_MS);
  assert_int_equal(atomic_load(&always->svc.creates), 2);
  assert_int_equal(atomic_load(&always->svc.destroys), 1);
  assert_int_equal(roster__tu_state(r, NULL, "always"), ROSTER_STATE_READY);
  /* ON_FAILURE: a failure restarts... */
  tu_wait_until(atomic_load(&onfail_bad->svc.creates) == 2 &&
                    roster__tu_state(r, NULL, "onfail-bad") ==
                        ROSTER_STATE_READY,
                WAIT_MS);
  assert_int_equal(atomic_load(&onfail_bad->svc.creates), 2);
  assert_int_equal(roster__tu_state(r, NULL, "onfail-bad"), ROSTER_STATE_READY);
  /* ...a normal exit does not: stopped. */
  assert_state(r, NULL, "onfail-ok", ROSTER_STATE_STOPPED, WAIT_MS);
  /* NEVER: a failure stays failed, for good. */
  assert_state(r, NULL, "never-bad", ROSTER_STATE_FAILED, WAIT_MS);
  /* Give a wrong implementation time to restart what it should not. */
  roster__tu_sleep_ms(300);
  assert_int_equal(atomic_load(&onfail_ok->svc.creates), 1);
  assert_int_equal(atomic_load(&onfail_ok->svc.destroys), 1);
  assert_int_equal(roster__tu_state(r, NULL, "onfail-ok"),
                   ROSTER_STATE_STOPPED);
  assert_false(roster_has(r, NULL, "onfail-ok"));
  assert_int_equal(atomic_load(&never_bad->svc.creates), 1);
  assert_int_equal(atomic_load(&never_bad->svc.destroys), 1);
  assert_int_equal(roster__tu_state(r, NULL, "never-bad"), ROSTER_STATE_FAILED);
  assert_false(roster_has(r, NULL, "never-bad"));
  assert_int_equal(atomic_load(&always->svc.creates), 2);

  roster_service_health h;
  char detail[512];
  assert_ok(
      roster__tu_health_item(r, "never-bad", &h, detail, sizeof detail, NULL));
  assert_int_equal(h.last_error, ROSTER_EIO);
  assert_contains(detail, "boom");
  assert_ok(
      roster__tu_health_item(r, "always", &h, detail, sizeof detail, NULL));
  assert_int_equal(h.restarts, 1);
  tu_wait_until(has_final(ev, "never-bad"), WAIT_MS);
  assert_one_final_failed(ev, "never-bad");
  /* The restarted ones had no final event. */
  static tu_ev evs[TU_EV_MAX];
  size_t n = roster__tu_events_get(ev, "onfail-bad", evs, TU_EV_MAX);
  for (size_t i = 0; i < n; i++)
    assert_false(evs[i].final);

  /* Not up any more: ESTATE. */
  assert_rc(roster_service_exit(r, NULL, "onfail-ok", ROSTER_OK, NULL),
            ROSTER_ESTATE);
  assert_rc(roster_service_exit(r, NULL, "never-bad", ROSTER_OK, NULL),
            ROSTER_ESTATE);

  /* A normal exit is a stop (STOPPED), then the restart; never FAILED. */
  {
    static tu_ev aev[TU_EV_MAX];
    size_t an = roster__tu_events_get(ev, "always", aev, TU_EV_MAX);
    size_t stopped = 0, failed = 0;
    for (size_t i = 0; i < an; i++) {
      stopped += aev[i].to == ROSTER_STATE_STOPPED;
      failed += aev[i].to == ROSTER_STATE_FAILED;
    }
    if (stopped != 1 || failed != 0) {
      roster__tu_events_dump(ev, "always");
      fail_msg("always: a normal exit gave %zu stopped and %zu failed "
               "transitions, want 1 and 0",
               stopped, failed);
    }
  }
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  roster_free(r);
  roster__tu_events_free(ev);
  rsvc *all[] = {always, onfail_ok, onfail_bad, never_bad};
  for (int i = 0; i < 4; i++) {
    assert_int_equal(atomic_load(&all[i]->svc.live_instances), 0);
    rsvc_free(all[i]);
  }
}

/* An exit code that is not a roster error code is a failure,
 * ROSTER_EFAILED, and the detail says what was reported. */
static void test_service_exit_foreign_code(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  rsvc *odd = exit_svc(r, "odd-exit", ROSTER_RESTART_NEVER);
  rsvc *odd2 = exit_svc(r, "odd-detail", ROSTER_RESTART_NEVER);
  assert_ok(roster_start(r, LC_LONG_MS));
  assert_ok(roster_service_exit(r, NULL, "odd-exit", 5, NULL));
  assert_ok(roster_service_exit(r, NULL, "odd-detail", -999, "lost it"));
  assert_state(r, NULL, "odd-exit", ROSTER_STATE_FAILED, WAIT_MS);
  assert_state(r, NULL, "odd-detail", ROSTER_STATE_FAILED, WAIT_MS);
  roster_service_health h;
  char detail[512];
  assert_ok(
      roster__tu_health_item(r, "odd-exit", &h, detail, sizeof detail, NULL));
  assert_int_equal(h.last_error, ROSTER_EFAILED);
  assert_contains(detail, "service 'odd-exit' failed");
  assert_contains(detail, "5, not a roster error code");
  if (strstr(detail, "unknown error"))
    fail_msg("detail says \"unknown error\": %s", detail);
  assert_ok(
      roster__tu_health_item(r, "odd-detail", &h, detail, sizeof detail, NULL));
  assert_int_equal(h.last_error, ROSTER_EFAILED);
  assert_contains(detail, "-999, not a roster error code");
  assert_contains(detail, "lost it");
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  roster_free(r);
  assert_int_equal(atomic_load(&odd->svc.live_instances), 0);
  assert_int_equal(atomic_load(&odd2->svc.live_instances), 0);
  rsvc_free(odd);
  rsvc_free(odd2);
}

/* A dependency restarts: the ON_DEP_RESTART dependent is stopped before it
 * and started after it; the ON_DEP_NOTIFY one stays up, degraded. */
static void test_dependency_restart(void **state) {
  (void)state;
  tu_log log;
  roster__tu_log_init(&log);
  roster *r = tu_registry(NULL);
  tu_events *ev = roster__tu_events_listen(r);
  static const char *const d_base[] = {"base", NULL};
  rsvc *base = rsvc_new("base", &log, NULL);
  tu_svc user, watcher;
  roster__tu_svc_init(&user, "user", &log, d_base);
  roster__tu_svc_init(&watcher, "watcher", &log, d_base);
  roster_provider pb = rsvc_provider(base);
  pb.restart = ROSTER_RESTART_ALWAYS;
  pb.backoff_min_ms = 10;
  pb.backoff_max_ms = 100;
  assert_ok(roster_provide(r, NULL, "base", &pb));
  roster_provider pu = roster__tu_svc_provider(&user);
  pu.on_dep = ROSTER_ON_DEP_RESTART;
  assert_ok(roster_provide(r, NULL, "user", &pu));
  roster_provider pw = roster__tu_svc_provider(&watcher);
  pw.on_dep = ROSTER_ON_DEP_NOTIFY;
  assert_ok(roster_provide(r, NULL, "watcher", &pw));
  assert_ok(roster_start(r, LC_LONG_MS));
  size_t mark = roster__tu_log_len(&log);

  assert_ok(roster_service_exit(r, NULL, "base", ROSTER_OK, NULL));
  tu_wait_until(atomic_load(&user.creates) == 2 &&
                    roster__tu_state(r, NULL, "user") == ROSTER_STATE_READY &&
                    roster__tu_state(r, NULL, "watcher") ==
                        ROSTER_STATE_READY &&
                    roster__tu_state(r, NULL, "base") == ROSTER_STATE_READY,
                WAIT_MS);
  assert_int_equal(atomic_load(&base->svc.creates), 2);
  assert_int_equal(atomic_load(&user.creates), 2);
  assert_int_equal(roster__tu_state(r, NULL, "base"), ROSTER_STATE_READY);
  assert_int_equal(roster__tu_state(r, NULL, "user"), ROSTER_STATE_READY);

  /* Order after the exit: user destroyed, then base destroyed, then base
   * created, then user created. */
  int ud = roster__tu_log_find(&log, "destroyed:user", mark);
  int bd = roster__tu_log_find(&log, "destroy:base", mark);
  int bc = roster__tu_log_find(&log, "created:base", mark);
  int uc = roster__tu_log_find(&log, "create:user", mark);
  if (!(ud >= 0 && bd >= 0 && bc >= 0 && uc >= 0 && ud < bd && bd < bc &&
        bc < uc)) {
    roster__tu_log_dump(&log);
    fail_msg("restart order wrong: destroyed:user %d destroy:base %d "
             "created:base %d create:user %d",
             ud, bd, bc, uc);
  }
  /* The new user got the new base. */
  void *b = NULL, *u = NULL;
  assert_ok(roster_get(r, NULL, "base", &roster__tu_svc_type, &b));
  assert_ok(roster_get(r, NULL, "user", &roster__tu_svc_type, &u));
  assert_int_equal(((tu_inst *)b)->gen, 2);
  assert_ptr_equal(((tu_inst *)u)->deps[0], b);
  assert_false(atomic_load(&user.deps_bad));

  /* The watcher was never recreated, only degraded meanwhile. */
  assert_int_equal(atomic_load(&watcher.creates), 1);
  assert_int_equal(atomic_load(&watcher.destroys), 0);
  assert_int_equal(roster__tu_log_find(&log, "destroy:watcher", mark), -1);
  tu_wait_until(roster__tu_events_count(ev, "watcher", ROSTER_STATE_READY) >= 2,
                WAIT_MS);
  static tu_ev evs[TU_EV_MAX];
  size_t n = roster__tu_events_get(ev, "watcher", evs, TU_EV_MAX);
  int degraded = -1, ready_after = -1;
  for (size_t i = 0; i < n; i++) {
    if (evs[i].to == ROSTER_STATE_DEGRADED && degraded < 0)
      degraded = (int)i;
    if (evs[i].to == ROSTER_STATE_READY && degraded >= 0 && ready_after < 0)
      ready_after = (int)i;
    assert_int_not_equal(evs[i].to, ROSTER_STATE_STOPPING);
  }
  if (degraded < 0 || ready_after < 0) {
    roster__tu_events_dump(ev, "watcher");
    fail_msg("watcher did not go degraded and back to ready");
  }
  assert_int_equal(evs[ready_after].from, ROSTER_STATE_DEGRADED);
  assert_int_equal(roster__tu_state(r, NULL, "watcher"), ROSTER_STATE_READY);
  assert_true(roster_has(r, NULL, "watcher"));

  assert_ok(roster_shutdown(r, LC_LONG_MS));
  roster_free(r);
  assert_int_equal(atomic_load(&base->svc.live_instances), 0);
  assert_int_equal(atomic_load(&user.live_instances), 0);
  assert_int_equal(atomic_load(&watcher.live_instances), 0);
  roster__tu_events_free(ev);
  rsvc_free(base);
  roster__tu_log_fini(&log);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_backoff_grows),
      cmocka_unit_test(test_intensity_limit),
      cmocka_unit_test(test_live_recovers),
      cmocka_unit_test(test_service_exit),
      cmocka_unit_test(test_service_exit_foreign_code),
      cmocka_unit_test(test_dependency_restart),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
