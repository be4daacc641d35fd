/*
 * test_cron_service.c: the scheduler as a service and with real threads
 * and the real clock. roster_sched_provide makes a scheduler that
 * roster_start starts (after its dependencies, with the jobs its setup
 * adds) and roster_shutdown stops gracefully: no new runs, running jobs
 * get until the deadline. A stop past the deadline reports the job still
 * running and nothing after. With the real clock a per-second job fires
 * each second, on time. Many threads add, remove, switch and run jobs at
 * once (for ThreadSanitizer); the main thread asserts after joining.
 */
#include "testutil.h"

#include <stdlib.h>

#define WAIT 20000

typedef struct jstate {
  atomic_int calls, done, freed;
  tu_gate *gate;
} jstate;

static int job_fn(void *arg) {
  jstate *j = arg;
  atomic_fetch_add(&j->calls, 1);
  if (j->gate)
    roster__tu_gate_wait(j->gate, WAIT);
  atomic_fetch_add(&j->done, 1);
  return ROSTER_OK;
}
static void job_free(void *arg) {
  atomic_fetch_add(&((jstate *)arg)->freed, 1);
}

/* events, recorded by any thread */
static pthread_mutex_t ev_mu = PTHREAD_MUTEX_INITIALIZER;
static int ev_count[5];
static int64_t ev_sched[64], ev_at_ms[64];
static size_t ev_n;
static void on_event(const roster_job_event *ev, void *arg) {
  (void)arg;
  pthread_mutex_lock(&ev_mu);
  ev_count[ev->kind]++;
  if (ev->kind == ROSTER_JOB_STARTED && ev_n < 64) {
    ev_sched[ev_n] = ev->scheduled;
    ev_at_ms[ev_n++] = ev->at_unix_ms;
  }
  pthread_mutex_unlock(&ev_mu);
}
static int events(roster_job_event_kind k) {
  pthread_mutex_lock(&ev_mu);
  int n = ev_count[k];
  pthread_mutex_unlock(&ev_mu);
  return n;
}
static void events_reset(void) {
  pthread_mutex_lock(&ev_mu);
  memset(ev_count, 0, sizeof ev_count);
  ev_n = 0;
  pthread_mutex_unlock(&ev_mu);
}

/* a fixed fake clock: these tests only run jobs by run_now */
static int64_t fixed_wall(void *a) {
  (void)a;
  return 1767225600LL * 1000000000LL;
}
static int64_t fixed_mono(void *a) {
  (void)a;
  return 1000;
}
static const roster_sched_clock still = {fixed_wall, fixed_mono, NULL};

static const roster_type thing_type = {.name = "thing"};

typedef struct setup_ctx {
  jstate *job;
  atomic_bool saw_dep;
  int fail;
} setup_ctx;

static int setup(roster_sched *s, const roster_deps *deps, void *arg) {
  setup_ctx *c = arg;
  if (roster_deps_get(deps, "db") == (void *)&thing_type)
    atomic_store(&c->saw_dep, true);
  if (c->fail)
    return roster_error_set(c->fail, "setup refused on purpose");
  return roster_sched_add(s, "work", "0 * * * *", job_fn, c->job,
                          &(roster_job_options){.free_arg = job_free});
}

/* shutdown_thread runs roster_shutdown and records its result. */
typedef struct shut {
  roster *r;
  int rc;
  atomic_bool done;
} shut;
static void *shutdown_thread(void *arg) {
  shut *sh = arg;
  sh->rc = roster_shutdown(sh->r, WAIT);
  atomic_store(&sh->done, true);
  return NULL;
}

static void test_shutdown_waits_for_running(void **state) {
  (void)state;
  events_reset();
  roster *r = tu_registry(NULL);
  assert_ok(roster_register(r, NULL, "db", &thing_type, (void *)&thing_type));
  tu_gate g;
  roster__tu_gate_init(&g);
  jstate j = {.gate = &g};
  setup_ctx ctx = {.job = &j};
  const char *deps[] = {"db", NULL};
  roster_sched_options o = {.tz = "UTC",
                            .clock = &still,
                            .on_event = on_event,
                            .stop_timeout_ms = WAIT,
                            .setup = setup,
                            .setup_arg = &ctx,
                            .deps = deps};
  assert_ok(roster_sched_provide(r, NULL, "cron", &o));
  assert_ok(roster_start(r, WAIT));
  assert_true(atomic_load(&ctx.saw_dep));
  roster_sched *s;
  assert_ok(roster_get(r, NULL, "cron", &roster_sched_type, (void **)&s));
  roster_job_stats st;
  assert_ok(roster_sched_stats_get(s, "work", &st));  /* setup added it */
  assert_int_equal(st.next_run, 1767225600LL + 3600); /* 01:00 UTC */
  jstate k = {0}; /* a job added at run time */
  assert_ok(roster_sched_add(s, "extra", "@daily", job_fn, &k, NULL));
  assert_ok(roster_sched_stats_get(s, "extra", &st));
  assert_int_equal(st.next_run, 1767225600LL + 86400);
  assert_ok(roster_sched_run_now(s, "work"));
  tu_wait_until(atomic_load(&j.calls) == 1, WAIT);

  shut sh = {.r = r};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, shutdown_thread, &sh), 0);
  /* the service goes to stopping and stays there while the job runs */
  assert_state(r, NULL, "cron", ROSTER_STATE_STOPPING, WAIT);
  tu_wait_until(roster_sched_run_now(s, "work") == ROSTER_ESTATE, WAIT);
  assert_rc(roster_sched_run_now(s, "work"), ROSTER_ESTATE); /* no new */
  assert_false(atomic_load(&sh.done));
  assert_int_equal(atomic_load(&j.done), 0);
  roster__tu_gate_open(&g);
  pthread_join(t, NULL);
  assert_ok(sh.rc);
  assert_int_equal(atomic_load(&j.done), 1);
  assert_int_equal(atomic_load(&j.calls), 1);
  assert_int_equal(events(ROSTER_JOB_FINISHED), 1);
  assert_int_equal(atomic_load(&j.freed), 1); /* the scheduler was freed */
  assert_state(r, NULL, "cron", ROSTER_STATE_STOPPED, WAIT);
  roster_free(r);
}

static void test_setup_failure_and_bad_opts(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  jstate j = {0};
  setup_ctx ctx = {.job = &j, .fail = ROSTER_ECONN};
  roster_sched_options o = {.tz = "UTC", .setup = setup, .setup_arg = &ctx};
  assert_ok(roster_sched_provide(r, NULL, "cron", &o));
  assert_rc(roster_start(r, WAIT), ROSTER_ECONN);
  assert_contains(roster_last_error(), "setup refused on purpose");
  assert_rc(roster_sched_provide(r, NULL, "cron2",
                                 &(roster_sched_options){.tz = "Nope/Nope"}),
            ROSTER_ENOENT);
  assert_rc(roster_sched_provide(r, NULL, "cron3",
                                 &(roster_sched_options){.workers = 1000}),
            ROSTER_EINVAL);
  assert_rc(roster_sched_provide(r, NULL, "cron", &o), ROSTER_EEXIST);
  roster_free(r);

  /* registered directly, the type's destroy frees it (and its jobs) */
  r = tu_registry(NULL);
  roster_sched *s;
  assert_ok(roster_sched_new(&(roster_sched_options){.tz = "UTC"}, &s));
  assert_ok(roster_sched_add(s, "j", "@hourly", job_fn, &j,
                             &(roster_job_options){.free_arg = job_free}));
  assert_ok(roster_sched_start(s));
  assert_ok(roster_register(r, NULL, "sched", &roster_sched_type, s));
  roster_free(r);
  assert_int_equal(atomic_load(&j.freed), 1);
}

static void test_stop_deadline(void **state) {
  (void)state;
  events_reset();
  tu_gate g;
  roster__tu_gate_init(&g);
  static jstate j; /* outlives the scheduler: its orphaned run uses it */
  memset(&j, 0, sizeof j);
  j.gate = &g;
  roster_sched *s;
  assert_ok(roster_sched_new(&(roster_sched_options){.tz = "UTC",
                                                     .clock = &still,
                                                     .on_event = on_event},
                             &s));
  assert_ok(roster_sched_add(s, "stuck", "@daily", job_fn, &j,
                             &(roster_job_options){.free_arg = job_free}));
  assert_ok(roster_sched_start(s));
  assert_ok(roster_sched_run_now(s, "stuck"));
  tu_wait_until(atomic_load(&j.calls) == 1, WAIT);
  assert_rc(roster_sched_stop(s, 50), ROSTER_ETIMEDOUT);
  assert_contains(roster_last_error(), "'stuck'");
  roster_sched_free(s); /* returns; the run still holds the job */
  assert_int_equal(atomic_load(&j.freed), 0);
  roster__tu_gate_open(&g);
  assert_eventually_equal(atomic_load(&j.freed), 1, WAIT);
  assert_int_equal(atomic_load(&j.done), 1);
  assert_int_equal(events(ROSTER_JOB_FINISHED), 0); /* quiet after */

  /* a job that ends within the deadline: stop returns OK after it */
  events_reset();
  tu_gate g2;
  roster__tu_gate_init(&g2);
  jstate k = {.gate = &g2};
  assert_ok(roster_sched_new(&(roster_sched_options){.tz = "UTC",
                                                     .clock = &still,
                                                     .on_event = on_event},
                             &s));
  assert_ok(roster_sched_add(s, "ok", "@daily", job_fn, &k, NULL));
  assert_ok(roster_sched_start(s));
  assert_ok(roster_sched_run_now(s, "ok"));
  tu_wait_until(atomic_load(&k.calls) == 1, WAIT);
  roster__tu_gate_open(&g2);
  assert_ok(roster_sched_stop(s, WAIT));
  assert_int_equal(atomic_load(&k.done), 1);
  assert_int_equal(events(ROSTER_JOB_FINISHED), 1);
  roster_sched_free(s);
}

static void test_real_clock(void **state) {
  (void)state;
  events_reset();
  roster_sched *s;
  assert_ok(roster_sched_new(
      &(roster_sched_options){.tz = "UTC", .on_event = on_event}, &s));
  jstate j = {0};
  assert_ok(roster_sched_add(s, "tick", "* * * * * *", job_fn, &j, NULL));
  assert_ok(roster_sched_start(s));
  tu_wait_until(atomic_load(&j.calls) >= 3, WAIT);
  assert_ok(roster_sched_stop(s, WAIT));
  assert_true(atomic_load(&j.calls) >= 3);
  pthread_mutex_lock(&ev_mu);
  size_t n = ev_n;
  bool consecutive = true, on_or_after = true;
  for (size_t i = 0; i < n; i++) {
    if (i > 0 && ev_sched[i] != ev_sched[i - 1] + 1)
      consecutive = false;
    if (ev_at_ms[i] < ev_sched[i] * 1000)
      on_or_after = false; /* never early */
  }
  pthread_mutex_unlock(&ev_mu);
  assert_true(n >= 3);
  assert_true(consecutive);
  assert_true(on_or_after);
  roster_sched_free(s);
}

/* ---- many threads at once ------------------------------------------ */

#define THREADS 6
#define ROUNDS 200
static roster_sched *shared;
static atomic_int unexpected;
static jstate shared_job;

static void *churn(void *arg) {
  int id = (int)(intptr_t)arg;
  char name[32];
  for (int i = 0; i < ROUNDS; i++) {
    snprintf(name, sizeof name, "t%d-%d", id, i % 5);
    int rc = roster_sched_add(shared, name, "* * * * * *", job_fn, &shared_job,
                              NULL);
    if (rc != ROSTER_OK && rc != ROSTER_EEXIST)
      atomic_fetch_add(&unexpected, 1);
    rc = (i % 3 == 0) ? roster_sched_disable(shared, name)
                      : roster_sched_enable(shared, name);
    if (rc != ROSTER_OK)
      atomic_fetch_add(&unexpected, 1);
    rc = roster_sched_run_now(shared, name);
    if (rc != ROSTER_OK && rc != ROSTER_EBUSY)
      atomic_fetch_add(&unexpected, 1);
    roster_job_list l;
    if (roster_sched_list(shared, &l) == ROSTER_OK)
      roster_job_list_free(&l);
    else
      atomic_fetch_add(&unexpected, 1);
    if (i % 2 == 1 && roster_sched_remove(shared, name) != ROSTER_OK)
      atomic_fetch_add(&unexpected, 1);
  }
  return NULL;
}

static void test_many_threads(void **state) {
  (void)state;
  assert_ok(roster_sched_new(&(roster_sched_options){.tz = "UTC", .workers = 3},
                             &shared));
  assert_ok(roster_sched_start(shared));
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(pthread_create(&t[i], NULL, churn, (void *)(intptr_t)i),
                     0);
  for (int i = 0; i < THREADS; i++)
    pthread_join(t[i], NULL);
  assert_int_equal(atomic_load(&unexpected), 0);
  assert_ok(roster_sched_wait_idle(shared, WAIT));
  /* name t<id>-k was last touched in round 195 + k; odd rounds remove,
   * so t<id>-1 and t<id>-3 stay */
  roster_job_list l;
  assert_ok(roster_sched_list(shared, &l));
  assert_int_equal(l.count, THREADS * 2);
  for (size_t i = 1; i < l.count; i++)
    assert_true(strcmp(l.items[i - 1].name, l.items[i].name) < 0);
  roster_job_list_free(&l);
  assert_true(atomic_load(&shared_job.calls) > 0);
  assert_ok(roster_sched_stop(shared, WAIT));
  roster_sched_free(shared);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shutdown_waits_for_running),
      cmocka_unit_test(test_setup_failure_and_bad_opts),
      cmocka_unit_test(test_stop_deadline),
      cmocka_unit_test(test_real_clock),
      cmocka_unit_test(test_many_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
