/*
 * test_lc_events.c: ROSTER_EV_STATE events. Every transition a listener
 * sees has from != to and follows on from the service's previous one;
 * at_ns never goes back per service; a normal service goes declared ->
 * starting -> ready -> stopping -> stopped; a failing create ends in a
 * final failed event with its code and detail; listeners with other masks
 * see no state events, and state listeners see no register events.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#define WAIT_MS 10000

static const roster_state normal_seq[] = {
    ROSTER_STATE_STARTING, ROSTER_STATE_READY, ROSTER_STATE_STOPPING,
    ROSTER_STATE_STOPPED};

/* Per-service consistency of everything recorded for name. */
static size_t check_chain(tu_events *ev, const char *name) {
  static tu_ev evs[TU_EV_MAX];
  size_t n = roster__tu_events_get(ev, name, evs, TU_EV_MAX);
  roster_state prev = ROSTER_STATE_DECLARED;
  int64_t prev_at = 0;
  for (size_t i = 0; i < n; i++) {
    tu_ev *e = &evs[i];
    if (!e->kind_ok || e->from == e->to || e->from != prev ||
        e->at_ns < prev_at || e->at_ns <= 0 || e->at_unix_ms <= 0) {
      roster__tu_events_dump(ev, name);
      fail_msg("%s: bad transition %zu (%s -> %s, previous state %s)", name, i,
               roster_state_name(e->from), roster_state_name(e->to),
               roster_state_name(prev));
    }
    assert_string_equal(e->ns, ROSTER_DEFAULT_NS);
    prev = e->to;
    prev_at = e->at_ns;
  }
  return n;
}

static void assert_seq(tu_events *ev, const char *name,
                       const roster_state *want, size_t nwant) {
  static tu_ev evs[TU_EV_MAX];
  size_t n = roster__tu_events_get(ev, name, evs, TU_EV_MAX);
  bool ok = n == nwant;
  for (size_t i = 0; ok && i < n; i++)
    ok = evs[i].to == want[i] &&
         evs[i].from == (i ? want[i - 1] : ROSTER_STATE_DECLARED);
  if (!ok) {
    roster__tu_events_dump(ev, name);
    fail_msg("%s: unexpected sequence of %zu transitions", name, n);
  }
}

/* Counts events by kind, to check masks. */
typedef struct kinds {
  atomic_int reg, unreg, state;
} kinds;

static void count_kinds(roster *r, const roster_event *ev, void *arg) {
  (void)r;
  kinds *k = arg;
  if (ev->kind == ROSTER_EV_REGISTER)
    atomic_fetch_add(&k->reg, 1);
  else if (ev->kind == ROSTER_EV_UNREGISTER)
    atomic_fetch_add(&k->unreg, 1);
  else if (ev->kind == ROSTER_EV_STATE)
    atomic_fetch_add(&k->state, 1);
}

static void test_normal_sequence(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  tu_events *ev = roster__tu_events_listen(r);
  static kinds reg_only, state_only, all;
  assert_ok(roster_listen(r, ROSTER_EV_REGISTER | ROSTER_EV_UNREGISTER,
                          count_kinds, &reg_only, NULL, NULL));
  assert_ok(
      roster_listen(r, ROSTER_EV_STATE, count_kinds, &state_only, NULL, NULL));
  assert_ok(roster_listen(r, ROSTER_EV_ALL, count_kinds, &all, NULL, NULL));

  /* a <- b <- c, and d on its own. */
  static const char *const d_b[] = {"a", NULL};
  static const char *const d_c[] = {"b", NULL};
  tu_svc a, b, c, d;
  roster__tu_svc_init(&a, "a", NULL, NULL);
  roster__tu_svc_init(&b, "b", NULL, d_b);
  roster__tu_svc_init(&c, "c", NULL, d_c);
  roster__tu_svc_init(&d, "d", NULL, NULL);
  tu_svc *all_svc[] = {&a, &b, &c, &d};
  for (int i = 0; i < 4; i++) {
    tu_provide(r, NULL, all_svc[i]->name, all_svc[i], false);
  }
  /* Declaring is not a transition. */
  assert_int_equal(roster__tu_events_count(ev, "a", -1), 0);

  assert_ok(roster_start(r, LC_LONG_MS));
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  for (int i = 0; i < 4; i++)
    tu_wait_until(roster__tu_events_count(ev, all_svc[i]->name, -1) >= 4,
                  WAIT_MS);
  for (int i = 0; i < 4; i++) {
    const char *n = all_svc[i]->name;
    assert_int_equal(check_chain(ev, n), 4);
    assert_seq(ev, n, normal_seq, 4);
  }
  /* Across services, the events agree with the dependency order. */
  tu_ev ea[8], eb[8];
  assert_int_equal(roster__tu_events_get(ev, "a", ea, 8), 4);
  assert_int_equal(roster__tu_events_get(ev, "b", eb, 8), 4);
  assert_true(ea[1].at_ns <= eb[0].at_ns); /* a ready before b starting */
  assert_true(eb[3].at_ns <= ea[2].at_ns); /* b stopped before a stopping */

  /* Masks: 4 services x 4 transitions. The register listener saw each
   * service registered and unregistered once, and no state events. */
  tu_wait_until(atomic_load(&state_only.state) == 16 &&
                    atomic_load(&all.state) == 16,
                WAIT_MS);
  assert_int_equal(atomic_load(&state_only.state), 16);
  assert_int_equal(atomic_load(&state_only.reg), 0);
  assert_int_equal(atomic_load(&state_only.unreg), 0);
  assert_int_equal(atomic_load(&reg_only.state), 0);
  assert_int_equal(atomic_load(&reg_only.reg), 4);
  assert_int_equal(atomic_load(&reg_only.unreg), 4);
  assert_int_equal(atomic_load(&all.state), 16);
  assert_int_equal(atomic_load(&all.reg), 4);
  assert_int_equal(atomic_load(&all.unreg), 4);
  roster_free(r);
  roster__tu_events_free(ev);
}

static void test_failure_events(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  tu_events *ev = roster__tu_events_listen(r);
  tu_svc bad;
  roster__tu_svc_init(&bad, "bad", NULL, NULL);
  bad.fail_code = ROSTER_ERANGE;
  tu_provide(r, NULL, "bad", &bad, false);
  assert_rc(roster_start(r, LC_LONG_MS), ROSTER_ERANGE);
  tu_wait_until(roster__tu_events_count(ev, "bad", ROSTER_STATE_FAILED) == 1,
                WAIT_MS);
  assert_int_equal(check_chain(ev, "bad"), 2);
  static const roster_state seq[] = {ROSTER_STATE_STARTING,
                                     ROSTER_STATE_FAILED};
  assert_seq(ev, "bad", seq, 2);
  tu_ev e[4];
  assert_int_equal(roster__tu_events_get(ev, "bad", e, 4), 2);
  assert_int_equal(e[0].error, ROSTER_OK);
  assert_false(e[0].final);
  assert_int_equal(e[1].error, ROSTER_ERANGE);
  assert_contains(e[1].detail, "went wrong on purpose");
  assert_true(e[1].final); /* restart NEVER: nothing more to come */
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  roster_free(r);
  roster__tu_events_free(ev);
}

static bool all_restarted(roster *r, tu_svc *s, char (*names)[16], int n,
                          int creates) {
  for (int i = 0; i < n; i++)
    if (atomic_load(&s[i].creates) != creates ||
        roster__tu_state(r, NULL, names[i]) != ROSTER_STATE_READY)
      return false;
  return true;
}

/* Every service's last transition so far is into STOPPED, after shutdown. */
static bool all_ended_stopped(tu_events *ev, char (*names)[16], int n) {
  static tu_ev evs[TU_EV_MAX];
  for (int i = 0; i < n; i++) {
    size_t m = roster__tu_events_get(ev, names[i], evs, TU_EV_MAX);
    if (m == 0 || evs[m - 1].to != ROSTER_STATE_STOPPED ||
        roster__tu_events_count(ev, names[i], ROSTER_STATE_READY) < 3)
      return false;
  }
  return true;
}

/* Many services starting in parallel and restarting: every chain stays
 * consistent per service. */
static void test_parallel_chains(void **state) {
  (void)state;
  enum { N = 12 };
  roster *r = tu_registry(NULL);
  tu_events *ev = roster__tu_events_listen(r);
  static tu_svc s[N];
  static char names[N][16];
  for (int i = 0; i < N; i++) {
    snprintf(names[i], sizeof names[i], "svc%02d", i);
    roster__tu_svc_init(&s[i], names[i], NULL, NULL);
    s[i].sleep_ms = 5;
    roster_provider p = roster__tu_svc_provider(&s[i]);
    p.restart = ROSTER_RESTART_ALWAYS;
    p.backoff_min_ms = 5;
    p.backoff_max_ms = 10;
    p.max_restarts = 10;
    assert_ok(roster_provide(r, NULL, names[i], &p));
  }
  assert_ok(roster_start(r, LC_LONG_MS));
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < N; i++)
      assert_ok(roster_service_exit(r, NULL, names[i], ROSTER_OK, NULL));
    tu_wait_until(all_restarted(r, s, names, N, round + 2), WAIT_MS);
    for (int i = 0; i < N; i++) {
      if (atomic_load(&s[i].creates) != round + 2 ||
          roster__tu_state(r, NULL, names[i]) != ROSTER_STATE_READY) {
        roster__tu_events_dump(ev, names[i]);
        fail_msg("%s: %d creates, state %s; want %d, ready", names[i],
                 atomic_load(&s[i].creates),
                 roster_state_name(
                     (roster_state)roster__tu_state(r, NULL, names[i])),
                 round + 2);
      }
    }
  }
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  tu_wait_until(all_ended_stopped(ev, names, N), WAIT_MS);
  for (int i = 0; i < N; i++) {
    size_t n = check_chain(ev, names[i]);
    assert_true(n >= 12); /* three lives of four transitions, at least */
    assert_int_equal(roster__tu_events_count(ev, names[i], ROSTER_STATE_READY),
                     3);
    /* A normal exit (code ROSTER_OK) is a stop, not a failure: each life
     * ended in STOPPED, none in FAILED. */
    if (roster__tu_events_count(ev, names[i], ROSTER_STATE_FAILED) != 0 ||
        roster__tu_events_count(ev, names[i], ROSTER_STATE_STOPPED) != 3) {
      roster__tu_events_dump(ev, names[i]);
      fail_msg("%s: a normal exit went to failed, not stopped", names[i]);
    }
    assert_int_equal(roster__tu_state(r, NULL, names[i]), ROSTER_STATE_STOPPED);
    static tu_ev evs[TU_EV_MAX];
    size_t m = roster__tu_events_get(ev, names[i], evs, TU_EV_MAX);
    assert_int_equal(evs[m - 1].to, ROSTER_STATE_STOPPED);
    for (size_t k = 0; k < m; k++)
      assert_false(evs[k].final);
  }
  roster_free(r);
  roster__tu_events_free(ev);
}

/* A listener sees the new state already in place (it runs after the
 * change), and may call roster functions. */
static void test_listener_sees_state(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  tu_events *ev = roster__tu_events_listen(r);
  tu_svc s;
  roster__tu_svc_init(&s, "observed", NULL, NULL);
  tu_provide(r, NULL, "observed", &s, false);
  assert_ok(roster_start(r, LC_LONG_MS));
  tu_wait_until(roster__tu_events_count(ev, "observed", ROSTER_STATE_READY) ==
                    1,
                WAIT_MS);
  tu_ev e[4];
  assert_int_equal(roster__tu_events_get(ev, "observed", e, 4), 2);
  /* roster_service_state called from inside the listener did not fail
   * and did not report a state older than the event's. */
  assert_true(e[0].seen_state == ROSTER_STATE_STARTING ||
              e[0].seen_state == ROSTER_STATE_READY);
  assert_int_equal(e[1].seen_state, ROSTER_STATE_READY);
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  roster_free(r);
  roster__tu_events_free(ev);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_normal_sequence),
      cmocka_unit_test(test_failure_events),
      cmocka_unit_test(test_parallel_chains),
      cmocka_unit_test(test_listener_sees_state),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
