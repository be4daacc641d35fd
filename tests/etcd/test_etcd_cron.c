/*
 * test_etcd_cron.c: clustered cron on the real cluster. Three schedulers
 * stand for three nodes (each its own etcd client and claim state, node
 * names n0..n2) running the same job on one fake clock, with
 * roster_etcd_cron_claim as their claim function. Each node's FINISHED
 * events go to one ledger. Asserted: every tick runs exactly once across
 * the nodes (the others count it as elsewhere), also after one node is
 * freed mid-way (the next ticks run on the others, none is lost); each
 * claim key holds the name of the node that ran the tick; a local job
 * runs on every node; a node whose etcd cannot be reached skips the tick
 * with the reason (and still runs its local job).
 */
#include "etcd_testutil.h"

#include "sched_testutil.h"

#define WAIT 20000
#define NODES 3
#define TICKS 40

static int64_t t0;

typedef struct node {
  int id;
  roster_etcd *c;
  roster_etcd_cron *cc;
  roster_sched *s;
} node;

static node nodes[NODES];
static char CL[64];

static int job_ok(void *arg) {
  (void)arg;
  return ROSTER_OK;
}

static void node_up(node *n, int id, const char *endpoints) {
  n->id = id;
  n->c = et_client(endpoints);
  char name[16];
  snprintf(name, sizeof name, "n%d", id);
  assert_ok(roster_etcd_cron_new(n->c, CL, name, 60, &n->cc));
  roster_sched_options o = {.workers = 2,
                            .tz = "UTC",
                            .clock = &tu_vclock,
                            .on_event = tu_on_event,
                            .event_arg = n,
                            .claim = roster_etcd_cron_claim,
                            .claim_arg = n->cc,
                            .seed = 7 + (uint64_t)id};
  assert_ok(roster_sched_new(&o, &n->s));
  assert_ok(roster_sched_add(n->s, "tick", "* * * * *", job_ok, NULL, NULL));
  roster_job_options lo = {.local = true};
  assert_ok(roster_sched_add(n->s, "local", "* * * * *", job_ok, NULL, &lo));
  assert_ok(roster_sched_start(n->s));
}

static void node_down(node *n) {
  roster_sched_free(n->s);
  roster_etcd_cron_free(n->cc);
  roster_etcd_free(n->c);
  memset(n, 0, sizeof *n);
}

static void step(int64_t secs) {
  tu_clock_add(secs);
  for (int i = 0; i < NODES; i++)
    if (nodes[i].s)
      assert_ok(roster_sched_tick(nodes[i].s, WAIT));
  for (int i = 0; i < NODES; i++)
    if (nodes[i].s)
      assert_ok(roster_sched_wait_idle(nodes[i].s, WAIT));
}

static void test_each_tick_once(void **state) {
  (void)state;
  et_endpoints();
  et_cluster(CL, sizeof CL);
  assert_ok(roster_time_parse("2026-01-01T00:00:30Z", NULL, &t0));
  tu_clock_set(t0);
  t0 += 30;
  for (int i = 0; i < NODES; i++)
    node_up(&nodes[i], i, NULL);
  for (int k = 0; k < TICKS; k++) {
    if (k == TICKS / 2)
      node_down(&nodes[1]); /* a node goes away mid-way */
    step(60);
  }
  uint64_t elsewhere = 0;
  for (int k = 0; k < TICKS; k++) {
    int64_t tick = t0 + 60 * k;
    assert_int_equal(tu_runs_of("tick", tick, -1), 1);
    if (k >= TICKS / 2)
      assert_int_equal(tu_runs_of("tick", tick, 1), 0);
    for (int i = 0; i < NODES; i++)
      if (k < TICKS / 2 || i != 1)
        assert_int_equal(tu_runs_of("local", tick, i), 1);
    /* the claim names the node that ran it */
    char key[256];
    snprintf(key, sizeof key, "/roster/%s/cron/tick/%lld", CL, (long long)tick);
    roster_etcd_kvs kvs;
    assert_ok(roster_etcd_get(nodes[0].c, key, &kvs));
    assert_int_equal(kvs.count, 1);
    int who = kvs.items[0].value[1] - '0';
    assert_int_equal(tu_runs_of("tick", tick, who), 1);
    roster_etcd_kvs_free(&kvs);
  }
  for (int i = 0; i < NODES; i++)
    if (nodes[i].s) {
      roster_job_stats st;
      assert_ok(roster_sched_stats_get(nodes[i].s, "tick", &st));
      elsewhere += st.elsewhere;
    }
  assert_true(elsewhere > 0);
  assert_int_equal(atomic_load(&tu_skips), 0);
  node_down(&nodes[0]);
  node_down(&nodes[2]);
}

static void test_unreachable_skips(void **state) {
  (void)state;
  et_endpoints();
  /* a node whose etcd cannot be reached skips the tick with the reason */
  char dead[64];
  snprintf(dead, sizeof dead, "127.0.0.1:%d", roster__tu_free_port());
  node *n = &nodes[0]; /* step() drives the nodes of the table */
  tu_ledger_reset();
  atomic_store(&tu_skips, 0);
  node_up(n, 5, dead);
  step(60);
  roster_job_stats st;
  assert_int_equal(atomic_load(&tu_skips), 1);
  assert_non_null(strstr(tu_skip_detail, "cron claim of job 'tick'"));
  assert_non_null(strstr(tu_skip_detail, "127.0.0.1"));
  assert_int_equal(tu_runs_of("tick", t0 + 60 * TICKS, 5), 0);
  assert_int_equal(tu_runs_of("local", t0 + 60 * TICKS, 5), 1);
  assert_ok(roster_sched_stats_get(n->s, "tick", &st));
  assert_int_equal(st.skipped, 1);
  assert_int_equal(st.runs, 0);
  node_down(n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_each_tick_once),
      cmocka_unit_test(test_unreachable_skips),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
