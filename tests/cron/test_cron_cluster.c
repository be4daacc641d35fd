/*
 * test_cron_cluster.c: the scheduler's cluster mode (roster_sched_options
 * .claim). Three schedulers stand for three nodes running the same jobs
 * on one fake clock; their claim function is a table shared by the three
 * (first claimer of a (job, tick) wins), as a store like etcd would be.
 * Each node's FINISHED events go to a ledger of ticks. Covered: every
 * tick runs exactly once across the nodes, with the others counting it
 * as elsewhere; a node that stops does not lose ticks for the others; a
 * claim that fails skips the tick with the reason, on every node; local
 * jobs run on every node; runs by hand and at start are never claimed;
 * the claim sees the job's name and the tick's fire time.
 */
#include "sched_testutil.h"

#include <string.h>

#define WAIT 20000 /* a bound no correct build reaches, in ms */
#define NODES 3
#define TICKS 240

static int64_t t0; /* the first fire time the tests walk from */

/* ---- the shared claim table ---------------------------------------- */

typedef struct claim_row {
  char job[32];
  int64_t tick;
  int node;
} claim_row;

static pthread_mutex_t tab_mu = PTHREAD_MUTEX_INITIALIZER;
static claim_row tab[NODES * TICKS * 4];
static size_t tab_n;
static atomic_int claim_calls;
static atomic_bool claims_fail;

typedef struct node {
  int id;
  roster_sched *s;
} node;

static int claim(const char *job, int64_t scheduled, void *arg) {
  node *n = arg;
  atomic_fetch_add(&claim_calls, 1);
  if (atomic_load(&claims_fail))
    return roster_error_set(ROSTER_ECONN, "the store is unreachable");
  int rc = 1;
  pthread_mutex_lock(&tab_mu);
  for (size_t i = 0; i < tab_n; i++)
    if (tab[i].tick == scheduled && strcmp(tab[i].job, job) == 0) {
      rc = tab[i].node == n->id; /* asked again by the holder: still ours */
      goto out;
    }
  if (tab_n < sizeof tab / sizeof tab[0]) {
    snprintf(tab[tab_n].job, sizeof tab[tab_n].job, "%s", job);
    tab[tab_n].tick = scheduled;
    tab[tab_n].node = n->id;
    tab_n++;
  }
out:
  pthread_mutex_unlock(&tab_mu);
  return rc;
}

/* job_ok checks that the job sees the tick its events carry (0 for runs
 * by hand and at start, which the ledger records as scheduled 0). */
static _Atomic int64_t last_seen_tick;
static int job_ok(void *arg) {
  (void)arg;
  atomic_store(&last_seen_tick, roster_job_scheduled());
  return ROSTER_OK;
}

static node nodes[NODES];

static int setup(void **state) {
  (void)state;
  assert_ok(roster_time_parse("2026-01-01T00:00:30Z", NULL, &t0));
  tu_clock_set(t0);
  t0 += 30; /* the first minute after */
  tab_n = 0;
  tu_ledger_reset();
  atomic_store(&claim_calls, 0);
  atomic_store(&claims_fail, false);
  for (int i = 0; i < NODES; i++) {
    nodes[i].id = i;
    roster_sched_options o = {.workers = 2,
                              .tz = "UTC",
                              .clock = &tu_vclock,
                              .on_event = tu_on_event,
                              .event_arg = &nodes[i],
                              .claim = claim,
                              .claim_arg = &nodes[i],
                              .seed = 7 + (uint64_t)i};
    assert_ok(roster_sched_new(&o, &nodes[i].s));
  }
  return 0;
}

static int teardown(void **state) {
  (void)state;
  for (int i = 0; i < NODES; i++) {
    roster_sched_free(nodes[i].s);
    nodes[i].s = NULL;
  }
  return 0;
}

static void add_all(const char *job, const char *expr,
                    const roster_job_options *o) {
  for (int i = 0; i < NODES; i++)
    if (nodes[i].s)
      assert_ok(roster_sched_add(nodes[i].s, job, expr, job_ok, NULL, o));
}

static void start_all(void) {
  for (int i = 0; i < NODES; i++)
    assert_ok(roster_sched_start(nodes[i].s));
}

/* step moves the clock secs seconds and lets every live node catch up;
 * the nodes' timers race for the same ticks, as hosts would. */
static void step(int64_t secs) {
  tu_clock_add(secs);
  for (int i = 0; i < NODES; i++)
    if (nodes[i].s)
      assert_ok(roster_sched_tick(nodes[i].s, WAIT));
  for (int i = 0; i < NODES; i++)
    if (nodes[i].s)
      assert_ok(roster_sched_wait_idle(nodes[i].s, WAIT));
}

static roster_job_stats stats(int i, const char *job) {
  roster_job_stats st;
  assert_ok(roster_sched_stats_get(nodes[i].s, job, &st));
  return st;
}

/* ---- tests --------------------------------------------------------- */

/* Every minute of four hours runs once in the whole cluster; the nodes
 * that lost a tick count it as elsewhere, not as skipped, and report no
 * event for it. */
static void test_each_tick_once(void **state) {
  (void)state;
  add_all("every-minute", "* * * * *", NULL);
  start_all();
  for (int m = 0; m < TICKS; m++)
    step(60);
  uint64_t runs = 0, elsewhere = 0, skipped = 0;
  for (int i = 0; i < NODES; i++) {
    roster_job_stats st = stats(i, "every-minute");
    runs += st.runs;
    elsewhere += st.elsewhere;
    skipped += st.skipped;
  }
  assert_int_equal(runs, TICKS);
  assert_int_equal(elsewhere, (NODES - 1) * TICKS);
  assert_int_equal(skipped, 0);
  assert_int_equal(atomic_load(&tu_skips), 0);
  for (int m = 0; m < TICKS; m++)
    assert_int_equal(tu_runs_of("every-minute", t0 + 60 * m, -1), 1);
  assert_int_equal(atomic_load(&claim_calls), NODES * TICKS);
  /* the job saw its own fire time: the last tick's */
  assert_int_equal(atomic_load(&last_seen_tick), t0 + 60 * (TICKS - 1));
  assert_int_equal(roster_job_scheduled(), 0); /* not in a job */
}

/* A node that goes away mid-way loses no tick: the others claim them. */
static void test_node_lost(void **state) {
  (void)state;
  add_all("job", "* * * * *", NULL);
  start_all();
  for (int m = 0; m < TICKS / 2; m++)
    step(60);
  roster_sched_free(nodes[1].s);
  nodes[1].s = NULL;
  for (int m = TICKS / 2; m < TICKS; m++)
    step(60);
  for (int m = 0; m < TICKS; m++)
    assert_int_equal(tu_runs_of("job", t0 + 60 * m, -1), 1);
  for (int m = TICKS / 2; m < TICKS; m++)
    assert_int_equal(tu_runs_of("job", t0 + 60 * m, 1), 0);
}

/* A claim that fails skips the tick on every node, saying why: a tick
 * nobody could claim does not run (at most once). Once the store is
 * back, ticks run again. */
static void test_claim_fails(void **state) {
  (void)state;
  add_all("job", "* * * * *", NULL);
  start_all();
  atomic_store(&claims_fail, true);
  step(60);
  assert_int_equal(tu_runs_of("job", t0, -1), 0);
  assert_int_equal(atomic_load(&tu_skips), NODES);
  assert_non_null(strstr(tu_skip_detail, "could not claim the tick"));
  assert_non_null(strstr(tu_skip_detail, "the store is unreachable"));
  for (int i = 0; i < NODES; i++) {
    assert_int_equal(stats(i, "job").skipped, 1);
    assert_int_equal(stats(i, "job").elsewhere, 0);
  }
  atomic_store(&claims_fail, false);
  step(60);
  assert_int_equal(tu_runs_of("job", t0 + 60, -1), 1);
}

/* A local job runs on every node and never asks; a run by hand and a run
 * at start are this node's own. */
static void test_local_and_by_hand(void **state) {
  (void)state;
  add_all("cleanup", "* * * * *", &(roster_job_options){.local = true});
  add_all("boot", "0 0 1 1 *", &(roster_job_options){.run_on_start = true});
  start_all();
  for (int i = 0; i < NODES; i++)
    assert_ok(roster_sched_wait_idle(nodes[i].s, WAIT));
  step(60);
  step(60);
  assert_int_equal(atomic_load(&claim_calls), 0);
  for (int i = 0; i < NODES; i++) {
    assert_int_equal(tu_runs_of("cleanup", t0, i), 1);
    assert_int_equal(tu_runs_of("cleanup", t0 + 60, i), 1);
    assert_int_equal(tu_runs_of("boot", 0, i), 1); /* at start: scheduled 0 */
    assert_ok(roster_sched_run_now(nodes[i].s, "boot"));
    assert_ok(roster_sched_wait_idle(nodes[i].s, WAIT));
    assert_int_equal(tu_runs_of("boot", 0, i), 2);
    assert_int_equal(atomic_load(&last_seen_tick), 0); /* by hand: 0 */
  }
  assert_int_equal(atomic_load(&claim_calls), 0);
}

/* The claim sees each job by its own name and the fire time it stands
 * for; two jobs on the same minute are two claims. */
static void test_claim_keys(void **state) {
  (void)state;
  add_all("a", "*/2 * * * *", NULL);
  add_all("b", "* * * * *", NULL);
  start_all();
  for (int m = 0; m < 10; m++)
    step(60);
  pthread_mutex_lock(&tab_mu);
  size_t na = 0, nb = 0;
  for (size_t i = 0; i < tab_n; i++) {
    if (strcmp(tab[i].job, "a") == 0) {
      assert_int_equal(tab[i].tick % 120, 0);
      na++;
    } else {
      assert_string_equal(tab[i].job, "b");
      assert_int_equal(tab[i].tick % 60, 0);
      nb++;
    }
  }
  pthread_mutex_unlock(&tab_mu);
  assert_int_equal(na, 5);
  assert_int_equal(nb, 10);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_each_tick_once, setup, teardown),
      cmocka_unit_test_setup_teardown(test_node_lost, setup, teardown),
      cmocka_unit_test_setup_teardown(test_claim_fails, setup, teardown),
      cmocka_unit_test_setup_teardown(test_local_and_by_hand, setup, teardown),
      cmocka_unit_test_setup_teardown(test_claim_keys, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
