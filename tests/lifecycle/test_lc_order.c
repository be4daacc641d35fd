/*
 * test_lc_order.c: roster_start creates providers in dependency order and
 * roster_shutdown destroys them in reverse; create receives its
 * dependencies; independent services start in parallel; a failing create
 * stops what the call had started, in reverse, and leaves the rest
 * declared; calling roster_start again retries the failed service (fail,
 * fail, succeed); a create returning no roster code fails with
 * ROSTER_EFAILED and a detail saying what it returned. Orders come from a
 * log appended under a mutex; overlap comes from recorded CLOCK_MONOTONIC
 * timestamps, never from elapsed time.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The DAG (an arrow points at a dependency):
 *   api -> db, cache      worker -> db, log
 *   db -> config, log     cache -> config
 *   config, log: none
 * Declared in an order that is not topological on purpose. */
enum { N_DAG = 6 };
static const char *const dag_names[N_DAG] = {"api",   "worker", "db",
                                             "cache", "config", "log"};
static const char *const dag_deps[N_DAG][3] = {
    {"db", "cache", NULL},  {"db", "log", NULL}, {"config", "log", NULL},
    {"config", NULL, NULL}, {NULL, NULL, NULL},  {NULL, NULL, NULL}};

typedef struct dag {
  tu_log log;
  tu_svc svc[N_DAG];
  roster *r;
} dag;

static dag *dag_new(void) {
  dag *d = calloc(1, sizeof *d);
  assert_non_null(d);
  roster__tu_log_init(&d->log);
  d->r = tu_registry(NULL);
  for (int i = 0; i < N_DAG; i++) {
    roster__tu_svc_init(&d->svc[i], dag_names[i], &d->log, dag_deps[i]);
    roster_provider p = roster__tu_svc_provider(&d->svc[i]);
    assert_ok(roster_provide(d->r, NULL, dag_names[i], &p));
  }
  return d;
}

static void dag_free(dag *d) {
  roster_free(d->r);
  for (int i = 0; i < N_DAG; i++)
    assert_int_equal(atomic_load(&d->svc[i].live_instances), 0);
  roster__tu_log_fini(&d->log);
  free(d);
}

static int idx(tu_log *l, const char *what, const char *name) {
  char buf[64];
  snprintf(buf, sizeof buf, "%s:%s", what, name);
  return roster__tu_log_find(l, buf, 0);
}

static void test_dag_order(void **state) {
  (void)state;
  dag *d = dag_new();
  /* Nothing is created by roster_provide. */
  for (int i = 0; i < N_DAG; i++) {
    assert_int_equal(atomic_load(&d->svc[i].creates), 0);
    assert_int_equal(roster__tu_state(d->r, NULL, dag_names[i]),
                     ROSTER_STATE_DECLARED);
    assert_false(roster_has(d->r, NULL, dag_names[i]));
  }

  assert_ok(roster_start(d->r, LC_LONG_MS));
  assert_ok(roster_wait_ready(d->r, LC_LONG_MS));

  for (int i = 0; i < N_DAG; i++) {
    tu_svc *s = &d->svc[i];
    assert_int_equal(atomic_load(&s->creates), 1);
    assert_false(atomic_load(&s->deps_bad));
    assert_int_equal(roster__tu_state(d->r, NULL, dag_names[i]),
                     ROSTER_STATE_READY);
    /* Registered under its name with its type. */
    void *p = NULL;
    assert_ok(roster_get(d->r, NULL, dag_names[i], &roster__tu_svc_type, &p));
    assert_non_null(p);
    tu_inst *in = p;
    assert_ptr_equal(in->svc, s);
    assert_rc(roster_get(d->r, NULL, dag_names[i], &roster__tu_other_type, &p),
              ROSTER_ETYPE);
    assert_null(p);
    /* Every dependency was created (finished) before it began, and create
     * received exactly the dependency's registered instance. */
    for (int k = 0; dag_deps[i][k]; k++) {
      const char *dep = dag_deps[i][k];
      int dep_done = idx(&d->log, "created", dep);
      int begun = idx(&d->log, "create", dag_names[i]);
      assert_true(dep_done >= 0);
      assert_true(begun >= 0);
      if (dep_done > begun) {
        roster__tu_log_dump(&d->log);
        fail_msg("%s began before its dependency %s was created", dag_names[i],
                 dep);
      }
      void *depinst = NULL;
      assert_ok(roster_get(d->r, NULL, dep, &roster__tu_svc_type, &depinst));
      assert_ptr_equal(in->deps[k], depinst);
      assert_string_equal(((tu_inst *)depinst)->svc->name, dep);
    }
  }

  /* Shutdown: destroyed in reverse; every dependent destroyed (finished)
   * before any of its dependencies is destroyed. */
  assert_ok(roster_shutdown(d->r, LC_LONG_MS));
  for (int i = 0; i < N_DAG; i++) {
    assert_int_equal(atomic_load(&d->svc[i].destroys), 1);
    assert_int_equal(roster__tu_state(d->r, NULL, dag_names[i]),
                     ROSTER_STATE_STOPPED);
    assert_false(roster_has(d->r, NULL, dag_names[i]));
    /* Not up, so not found. (registry.h documents ROSTER_ENOENT; a
     * shut-down registry answering ROSTER_ESTATE is tolerated.) */
    void *p = (void *)1;
    int rc = roster_get(d->r, NULL, dag_names[i], &roster__tu_svc_type, &p);
    if (rc != ROSTER_ENOENT && rc != ROSTER_ESTATE)
      fail_msg("roster_get of a stopped service: %s", roster_err_name(rc));
    assert_null(p);
    for (int k = 0; dag_deps[i][k]; k++) {
      int user_done = idx(&d->log, "destroyed", dag_names[i]);
      int dep_begun = idx(&d->log, "destroy", dag_deps[i][k]);
      assert_true(user_done >= 0 && dep_begun >= 0);
      if (user_done > dep_begun) {
        roster__tu_log_dump(&d->log);
        fail_msg("%s destroyed before its dependent %s", dag_deps[i][k],
                 dag_names[i]);
      }
    }
  }
  /* Nothing was created twice or destroyed twice. */
  for (int i = 0; i < N_DAG; i++) {
    char buf[64];
    snprintf(buf, sizeof buf, "create:%s", dag_names[i]);
    assert_int_equal(roster__tu_log_count(&d->log, buf), 1);
    snprintf(buf, sizeof buf, "destroy:%s", dag_names[i]);
    assert_int_equal(roster__tu_log_count(&d->log, buf), 1);
  }
  dag_free(d);
}

static void test_start_again_after_shutdown(void **state) {
  (void)state;
  dag *d = dag_new();
  assert_ok(roster_start(d->r, LC_LONG_MS));
  assert_ok(roster_shutdown(d->r, LC_LONG_MS));
  /* "Afterwards ... roster_start may start them again." */
  assert_ok(roster_start(d->r, LC_LONG_MS));
  for (int i = 0; i < N_DAG; i++) {
    assert_int_equal(atomic_load(&d->svc[i].creates), 2);
    assert_int_equal(roster__tu_state(d->r, NULL, dag_names[i]),
                     ROSTER_STATE_READY);
    assert_false(atomic_load(&d->svc[i].deps_bad));
  }
  /* A second roster_start with everything up creates nothing. */
  assert_ok(roster_start(d->r, LC_LONG_MS));
  for (int i = 0; i < N_DAG; i++)
    assert_int_equal(atomic_load(&d->svc[i].creates), 2);
  assert_ok(roster_shutdown(d->r, LC_LONG_MS));
  for (int i = 0; i < N_DAG; i++)
    assert_int_equal(atomic_load(&d->svc[i].destroys), 2);
  /* Shutting down what is already down is fine. */
  assert_ok(roster_shutdown(d->r, LC_LONG_MS));
  dag_free(d);
}

typedef struct start_call {
  roster *r;
  int rc;
} start_call;

static void *start_main(void *arg) {
  start_call *c = arg;
  c->rc = roster_start(c->r, LC_LONG_MS);
  return NULL;
}

static void test_independent_start_in_parallel(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  static tu_svc a, b;
  roster__tu_svc_init(&a, "slow-a", NULL, NULL);
  roster__tu_svc_init(&b, "slow-b", NULL, NULL);
  a.sleep_ms = b.sleep_ms = 200;
  roster_provider pa = roster__tu_svc_provider(&a),
                  pb = roster__tu_svc_provider(&b);
  assert_ok(roster_provide(r, NULL, "slow-a", &pa));
  assert_ok(roster_provide(r, NULL, "slow-b", &pb));
  /* Not ready before anything started. */
  assert_rc(roster_wait_ready(r, 0), ROSTER_ETIMEDOUT);
  /* Start on another thread; wait_ready here is woken when both are. */
  start_call c = {.r = r, .rc = -99};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, start_main, &c), 0);
  assert_ok(roster_wait_ready(r, LC_LONG_MS));
  assert_int_equal(roster__tu_state(r, NULL, "slow-a"), ROSTER_STATE_READY);
  assert_int_equal(roster__tu_state(r, NULL, "slow-b"), ROSTER_STATE_READY);
  assert_int_equal(pthread_join(th, NULL), 0);
  assert_ok(c.rc);
  /* The health report describes both. */
  roster_health_report h;
  assert_ok(roster_health(r, &h));
  assert_int_equal(h.count, 2);
  assert_true(h.ready);
  for (size_t i = 0; i < h.count; i++) {
    assert_string_equal(h.items[i].ns, ROSTER_DEFAULT_NS);
    assert_string_equal(h.items[i].type, "tu_svc");
    assert_int_equal(h.items[i].state, ROSTER_STATE_READY);
    assert_false(h.items[i].lazy);
    assert_true(h.items[i].since_ns > 0);
    assert_true(h.items[i].since_unix_ms > 0);
    assert_int_equal(h.items[i].restarts, 0);
    assert_int_equal(h.items[i].last_error, ROSTER_OK);
    assert_int_equal(h.items[i].next_restart_ns, 0);
  }
  /* Declaration order. */
  assert_string_equal(h.items[0].name, "slow-a");
  assert_string_equal(h.items[1].name, "slow-b");
  roster_health_report_free(&h);
  long long as = atomic_load(&a.start_ns), ae = atomic_load(&a.end_ns);
  long long bs = atomic_load(&b.start_ns), be = atomic_load(&b.end_ns);
  assert_true(as > 0 && ae > as && bs > 0 && be > bs);
  if (!(as < be && bs < ae))
    fail_msg("independent creates ran one after the other: a [%lld, %lld] "
             "b [%lld, %lld]",
             as, ae, bs, be);
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  roster_free(r);
  assert_int_equal(atomic_load(&a.destroys), 1);
  assert_int_equal(atomic_load(&b.destroys), 1);
}

/* The pool runs the longest chain first. One worker, held busy by "gate"
 * while roster_start queues every startable service: "lone" (nothing
 * depends on it) is declared before "base", but base heads the chain
 * base <- mid <- top, so base and then mid are created before lone. In
 * FIFO order lone would come before base. */
static tu_gate hold_gate;
static tu_log *hold_log;
static int hold_create(void *arg, const roster_deps *deps, void **out) {
  (void)arg;
  (void)deps;
  roster__tu_log_add(hold_log, "create:gate");
  if (!roster__tu_gate_wait(&hold_gate, LC_LONG_MS))
    return roster_error_set(ROSTER_ETIMEDOUT, "the test never opened");
  *out = &hold_gate;
  return ROSTER_OK;
}
static const roster_type hold_type = {.name = "hold"};

static void test_longest_chain_first(void **state) {
  (void)state;
  static tu_log log;
  roster__tu_log_init(&log);
  hold_log = &log;
  roster__tu_gate_init(&hold_gate);
  roster *r = tu_registry(&(roster_options){.workers = 1});
  assert_ok(roster_provide(
      r, NULL, "gate",
      &(roster_provider){.type = &hold_type, .create = hold_create}));
  static tu_svc lone, base, mid, top;
  static const char *const on_base[] = {"base", NULL};
  static const char *const on_mid[] = {"mid", NULL};
  roster__tu_svc_init(&lone, "lone", &log, NULL);
  roster__tu_svc_init(&base, "base", &log, NULL);
  roster__tu_svc_init(&mid, "mid", &log, on_base);
  roster__tu_svc_init(&top, "top", &log, on_mid);
  tu_svc *all[] = {&lone, &base, &mid, &top};
  for (int i = 0; i < 4; i++) {
    tu_provide(r, NULL, all[i]->name, all[i], false);
  }
  start_call c = {.r = r, .rc = -99};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, start_main, &c), 0);
  assert_eventually_equal(atomic_load(&hold_gate.waiting), 1, LC_LONG_MS);
  /* roster_start queues its services under the lifecycle lock, which
   * roster_service_state takes too: once it returns, all are queued. lone
   * waits behind gate (same rank, declared first); base may have run
   * before gate did (it outranks it). */
  assert_int_equal(roster__tu_state(r, NULL, "lone"), ROSTER_STATE_STARTING);
  roster__tu_gate_open(&hold_gate);
  assert_int_equal(pthread_join(th, NULL), 0);
  assert_ok(c.rc);
  int g = idx(&log, "create", "gate"), b = idx(&log, "create", "base"),
      m = idx(&log, "create", "mid"), l = idx(&log, "create", "lone"),
      t = idx(&log, "create", "top");
  if (!(g >= 0 && g < l && b < m && m < l && l < t)) {
    roster__tu_log_dump(&log);
    fail_msg("want base, mid, lone, top in that order, gate before lone");
  }
  roster_free(r);
  roster__tu_log_fini(&log);
}

/* A chain first <- second <- bad <- last (bad's create fails), plus an
 * instance "third" that depends on second only (so it may or may not
 * start before bad fails). */
static void test_failing_create_rolls_back(void **state) {
  (void)state;
  tu_log log;
  roster__tu_log_init(&log);
  roster *r = tu_registry(NULL);
  static const char *const d_second[] = {"first", NULL};
  static const char *const d_bad[] = {"second", NULL};
  static const char *const d_last[] = {"kaput-svc", NULL};
  tu_svc first, second, bad, last;
  roster__tu_svc_init(&first, "first", &log, NULL);
  roster__tu_svc_init(&second, "second", &log, d_second);
  roster__tu_svc_init(&bad, "kaput-svc", &log, d_bad);
  roster__tu_svc_init(&last, "last", &log, d_last);
  bad.fail_code = ROSTER_EIO;
  tu_provide(r, NULL, "last", &last, false);
  tu_provide(r, NULL, "kaput-svc", &bad, false);
  tu_provide(r, NULL, "second", &second, false);
  tu_provide(r, NULL, "first", &first, false);

  roster_error_clear();
  assert_rc(roster_start(r, LC_LONG_MS), ROSTER_EIO);
  char err[1024];
  snprintf(err, sizeof err, "%s", roster_last_error());
  int err_code = roster_last_code();

  /* What was started is stopped again, in reverse order. */
  tu_wait_until(atomic_load(&first.destroys) == 1 &&
                    atomic_load(&second.destroys) == 1,
                10000);
  assert_int_equal(atomic_load(&first.creates), 1);
  assert_int_equal(atomic_load(&second.creates), 1);
  assert_int_equal(atomic_load(&bad.creates), 1);
  assert_int_equal(atomic_load(&first.destroys), 1);
  assert_int_equal(atomic_load(&second.destroys), 1);
  assert_int_equal(atomic_load(&bad.destroys), 0); /* nothing was made */
  int sd = roster__tu_log_find(&log, "destroyed:second", 0);
  int fd = roster__tu_log_find(&log, "destroy:first", 0);
  assert_true(sd >= 0 && fd >= 0);
  if (sd > fd) {
    roster__tu_log_dump(&log);
    fail_msg("first destroyed before second, which depends on it");
  }
  /* The service after the failure was never created. */
  assert_int_equal(atomic_load(&last.creates), 0);
  assert_int_equal(roster__tu_log_find(&log, "create:last", 0), -1);

  assert_state(r, NULL, "first", ROSTER_STATE_STOPPED, 10000);
  assert_state(r, NULL, "second", ROSTER_STATE_STOPPED, 10000);
  assert_int_equal(roster__tu_state(r, NULL, "kaput-svc"), ROSTER_STATE_FAILED);
  assert_int_equal(roster__tu_state(r, NULL, "last"), ROSTER_STATE_DECLARED);
  for (int i = 0; i < 4; i++) {
    static const char *const n[] = {"first", "second", "kaput-svc", "last"};
    assert_false(roster_has(r, NULL, n[i]));
  }
  /* The failure is the service's last error. */
  roster_health_report h;
  assert_ok(roster_health(r, &h));
  assert_int_equal(h.count, 4);
  bool seen = false;
  for (size_t i = 0; i < h.count; i++)
    if (strcmp(h.items[i].name, "kaput-svc") == 0) {
      seen = true;
      assert_int_equal(h.items[i].state, ROSTER_STATE_FAILED);
      assert_int_equal(h.items[i].last_error, ROSTER_EIO);
      assert_contains(h.items[i].last_detail, "went wrong on purpose");
    }
  assert_true(seen);
  assert_false(h.ready);
  roster_health_report_free(&h);
  /* wait_ready reports the failure at once. */
  assert_rc(roster_wait_ready(r, LC_LONG_MS), ROSTER_EFAILED);

  /* The detail names the service and its cause (the detail create set). */
  assert_int_equal(err_code, ROSTER_EIO);
  assert_contains(err, "kaput-svc");
  assert_contains(err, "went wrong on purpose");

  assert_ok(roster_shutdown(r, LC_LONG_MS));
  roster_free(r);
  assert_int_equal(atomic_load(&first.live_instances), 0);
  assert_int_equal(atomic_load(&second.live_instances), 0);
  roster__tu_log_fini(&log);
}

/* RETRY_MS bounds each roster_start of the retry test: a start that no
 * longer creates the failed service waits it out and fails the test. */
#define RETRY_MS 10000

/* A program retrying roster_start at boot: db fails twice, then works.
 * api (eager, depends on db) and cfg (independent) come up with it on the
 * third call; each failed call stops what it started. */
static void test_start_retries_failed_service(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  static const char *const d_api[] = {"db", NULL};
  static tu_flaky db;
  static tu_svc api, cfg;
  roster__tu_flaky_init(&db, "db", NULL, NULL, 2);
  roster__tu_svc_init(&api, "api", NULL, d_api);
  roster__tu_svc_init(&cfg, "cfg", NULL, NULL);
  roster_provider p = roster__tu_flaky_provider(&db);
  assert_ok(roster_provide(r, NULL, "db", &p));
  tu_provide(r, NULL, "api", &api, false);
  tu_provide(r, NULL, "cfg", &cfg, false);

  for (int round = 1; round <= 2; round++) {
    roster_error_clear();
    assert_rc(roster_start(r, RETRY_MS), ROSTER_EIO);
    assert_contains(roster_last_error(), "service 'db' failed to start");
    assert_int_equal(atomic_load(&db.svc.creates), round);
    assert_int_equal(roster__tu_state(r, NULL, "db"), ROSTER_STATE_FAILED);
    assert_false(roster_has(r, NULL, "db"));
    /* api never ran: its dependency was never up */
    assert_int_equal(atomic_load(&api.creates), 0);
    assert_int_equal(roster__tu_state(r, NULL, "api"), ROSTER_STATE_DECLARED);
    assert_state(r, NULL, "cfg", ROSTER_STATE_STOPPED, RETRY_MS);
    assert_false(roster_has(r, NULL, "cfg"));
  }
  assert_ok(roster_start(r, RETRY_MS));
  assert_int_equal(atomic_load(&db.svc.creates), 3);
  assert_int_equal(atomic_load(&api.creates), 1);
  assert_int_equal(atomic_load(&cfg.creates), 3);
  const char *const names[] = {"db", "api", "cfg"};
  for (int i = 0; i < 3; i++) {
    assert_int_equal(roster__tu_state(r, NULL, names[i]), ROSTER_STATE_READY);
    void *got = NULL;
    assert_ok(roster_get(r, NULL, names[i], &roster__tu_svc_type, &got));
    assert_non_null(got);
  }
  tu_inst *a = NULL;
  assert_ok(roster_get(r, NULL, "api", &roster__tu_svc_type, (void **)&a));
  tu_inst *d = NULL;
  assert_ok(roster_get(r, NULL, "db", &roster__tu_svc_type, (void **)&d));
  assert_ptr_equal(a->deps[0], d);
  assert_int_equal(d->gen, 3);
  assert_ok(roster_wait_ready(r, RETRY_MS));
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  roster_free(r);
  assert_int_equal(atomic_load(&db.svc.live_instances), 0);
  assert_int_equal(atomic_load(&api.live_instances), 0);
  assert_int_equal(atomic_load(&cfg.live_instances), 0);
  assert_false(atomic_load(&api.deps_bad));
}

/* The same with the failing service in the middle of a chain and no
 * timeout at all (timeout -1): every call returns, the third succeeds.
 * The calls run on a thread so that a regression fails instead of
 * hanging. */
typedef struct retry_run {
  roster *r;
  int rc[3];
  char err[3][256];
  atomic_int done;
} retry_run;

static void *retry_main(void *arg) {
  retry_run *t = arg;
  for (int i = 0; i < 3; i++) {
    t->rc[i] = roster_start(t->r, -1);
    snprintf(t->err[i], sizeof t->err[i], "%s",
             t->rc[i] ? roster_last_error() : "");
    atomic_store(&t->done, i + 1);
  }
  return NULL;
}

static void test_start_retries_without_timeout(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  static const char *const d_mid[] = {"base", NULL};
  static const char *const d_top[] = {"mid", NULL};
  static tu_flaky mid;
  static tu_svc base, top;
  roster__tu_svc_init(&base, "base", NULL, NULL);
  roster__tu_flaky_init(&mid, "mid", NULL, d_mid, 2);
  roster__tu_svc_init(&top, "top", NULL, d_top);
  tu_provide(r, NULL, "top", &top, false);
  roster_provider p = roster__tu_flaky_provider(&mid);
  assert_ok(roster_provide(r, NULL, "mid", &p));
  tu_provide(r, NULL, "base", &base, false);

  retry_run *t = calloc(1, sizeof *t); /* leaked if the thread hangs */
  assert_non_null(t);
  t->r = r;
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, retry_main, t), 0);
  tu_wait_until(atomic_load(&t->done) == 3, 3 * RETRY_MS);
  if (atomic_load(&t->done) != 3)
    fail_msg("roster_start(-1) call %d of 3 did not return after a failed "
             "start (mid is %s)",
             atomic_load(&t->done) + 1,
             roster_state_name((roster_state)roster__tu_state(r, NULL, "mid")));
  assert_int_equal(pthread_join(th, NULL), 0);
  for (int i = 0; i < 2; i++) {
    if (t->rc[i] != ROSTER_EIO)
      fail_msg("call %d returned %s: %s", i + 1, roster_err_name(t->rc[i]),
               t->err[i]);
    assert_contains(t->err[i], "service 'mid' failed to start");
  }
  if (t->rc[2] != ROSTER_OK)
    fail_msg("call 3 returned %s: %s", roster_err_name(t->rc[2]), t->err[2]);
  free(t);
  assert_int_equal(atomic_load(&base.creates), 3);
  assert_int_equal(atomic_load(&mid.svc.creates), 3);
  assert_int_equal(atomic_load(&top.creates), 1);
  assert_true(roster_has(r, NULL, "top"));
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  roster_free(r);
  assert_int_equal(atomic_load(&base.live_instances), 0);
  assert_int_equal(atomic_load(&mid.svc.live_instances), 0);
  assert_int_equal(atomic_load(&top.live_instances), 0);
}

/* A create returning something that is not a roster error code (a
 * positive number, an unknown negative one): the service fails with
 * ROSTER_EFAILED and the detail says what create returned. */
typedef struct odd_create {
  int code;
  const char *detail; /* set with roster_error_set, or NULL */
} odd_create;

static int odd_create_fn(void *arg, const roster_deps *deps, void **out) {
  (void)deps;
  (void)out;
  odd_create *o = arg;
  if (o->detail)
    roster_error_set(o->code, "%s", o->detail);
  return o->code;
}

static void test_create_returns_foreign_code(void **state) {
  (void)state;
  static odd_create cases[] = {
      {3, NULL}, {-1000, NULL}, {7, "disk full"}, {INT32_MIN, NULL}};
  static const char *const want[] = {"returned 3,", "returned -1000,",
                                     "returned 7,", "returned -2147483648,"};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    roster *r = tu_registry(NULL);
    roster_provider p = {.type = &roster__tu_other_type,
                         .create = odd_create_fn,
                         .arg = &cases[i]};
    assert_ok(roster_provide(r, NULL, "db", &p));
    roster_error_clear();
    assert_rc(roster_start(r, LC_LONG_MS), ROSTER_EFAILED);
    char err[512];
    snprintf(err, sizeof err, "%s", roster_last_error());
    assert_contains(err, "service 'db' failed to start");
    assert_contains(err, "create of 'db'");
    assert_contains(err, want[i]);
    assert_contains(err, "not a roster error code");
    if (strstr(err, "unknown error"))
      fail_msg("case %zu: detail says \"unknown error\": %s", i, err);
    if (cases[i].detail)
      assert_contains(err, cases[i].detail);
    assert_int_equal(roster__tu_state(r, NULL, "db"), ROSTER_STATE_FAILED);
    roster_health_report h;
    assert_ok(roster_health(r, &h));
    assert_int_equal(h.count, 1);
    assert_int_equal(h.items[0].last_error, ROSTER_EFAILED);
    assert_contains(h.items[0].last_detail, want[i]);
    roster_health_report_free(&h);
    /* The same through a lazy first get. */
    roster_provider lz = p;
    lz.lazy = true;
    assert_ok(roster_provide(r, NULL, "lazy-db", &lz));
    void *got = NULL;
    assert_rc(roster_get(r, NULL, "lazy-db", NULL, &got), ROSTER_EFAILED);
    assert_contains(roster_last_error(), "create of 'lazy-db'");
    assert_contains(roster_last_error(), want[i]);
    roster_free(r);
  }
}

/* A provider without destroy uses type->destroy; with neither, nothing. */
static int plain_create(void *arg, const roster_deps *deps, void **out) {
  (void)deps;
  *out = arg;
  return ROSTER_OK;
}

static void test_type_destroy_fallback(void **state) {
  (void)state;
  static int inst;
  roster__tu_reset_destroyed();
  roster *r = tu_registry(NULL);
  roster_provider p = {
      .type = &roster__tu_counter_type, .create = plain_create, .arg = &inst};
  assert_ok(roster_provide(r, "ns1", "counted", &p));
  assert_ok(roster_start(r, LC_LONG_MS));
  void *got = NULL;
  assert_ok(roster_get(r, "ns1", "counted", &roster__tu_counter_type, &got));
  assert_ptr_equal(got, &inst);
  assert_rc(roster_get(r, NULL, "counted", NULL, &got), ROSTER_ENOENT);
  assert_int_equal(roster__tu_destroyed(), 0);
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  assert_int_equal(roster__tu_wait_destroyed(1), 1);
  roster_free(r);
  assert_int_equal(roster__tu_destroyed(), 1);
}

static void test_state_names(void **state) {
  (void)state;
  assert_string_equal(roster_state_name(ROSTER_STATE_DECLARED), "declared");
  assert_string_equal(roster_state_name(ROSTER_STATE_STARTING), "starting");
  assert_string_equal(roster_state_name(ROSTER_STATE_READY), "ready");
  assert_string_equal(roster_state_name(ROSTER_STATE_DEGRADED), "degraded");
  assert_string_equal(roster_state_name(ROSTER_STATE_UNHEALTHY), "unhealthy");
  assert_string_equal(roster_state_name(ROSTER_STATE_STOPPING), "stopping");
  assert_string_equal(roster_state_name(ROSTER_STATE_STOPPED), "stopped");
  assert_string_equal(roster_state_name(ROSTER_STATE_FAILED), "failed");
  assert_string_equal(roster_state_name((roster_state)99), "?");
  assert_null(roster_deps_get(NULL, "x"));
}

static void test_service_state_errors(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  static int inst;
  roster_state st;
  assert_rc(roster_service_state(r, NULL, "nobody", &st), ROSTER_ENOENT);
  /* A plain registered instance is not a provider. */
  assert_ok(roster_register(r, NULL, "plain", &roster__tu_other_type, &inst));
  assert_rc(roster_service_state(r, NULL, "plain", &st), ROSTER_ENOENT);
  /* Empty registry: start, wait_ready and shutdown have nothing to do. */
  assert_ok(roster_start(r, LC_LONG_MS));
  assert_ok(roster_wait_ready(r, 0));
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  roster_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dag_order),
      cmocka_unit_test(test_start_again_after_shutdown),
      cmocka_unit_test(test_independent_start_in_parallel),
      cmocka_unit_test(test_longest_chain_first),
      cmocka_unit_test(test_failing_create_rolls_back),
      cmocka_unit_test(test_start_retries_failed_service),
      cmocka_unit_test(test_start_retries_without_timeout),
      cmocka_unit_test(test_create_returns_foreign_code),
      cmocka_unit_test(test_type_destroy_fallback),
      cmocka_unit_test(test_state_names),
      cmocka_unit_test(test_service_state_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
