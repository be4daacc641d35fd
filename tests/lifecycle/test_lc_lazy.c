/*
 * test_lc_lazy.c: lazy providers. Sixteen threads getting a lazy service at
 * once (released together by a barrier) cause exactly one create, on one
 * of their threads, and all get the same instance; a failing lazy create
 * gives every concurrent getter the same error; roster_start creates a lazy
 * service only when an eager one depends on it; lazy dependencies are
 * created first; roster_wait_for on a lazy name wakes once someone gets it;
 * a failed lazy create is tried again by the next get or roster_start, and
 * after a shutdown; a shutdown during a failing create still finishes.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#define WAIT_MS 10000
enum { NTHREADS = 16 };

typedef struct getter {
  pthread_t th;
  roster *r;
  const char *name;
  pthread_barrier_t *barrier;
  int rc;
  void *out;
} getter;

static void *getter_main(void *arg) {
  getter *g = arg;
  pthread_barrier_wait(g->barrier);
  g->out = (void *)1;
  g->rc = roster_get(g->r, NULL, g->name, &roster__tu_svc_type, &g->out);
  return NULL;
}

/* A lazy tu_svc that also records which thread ran create. */
typedef struct lsvc {
  tu_svc svc;
  pthread_mutex_t mu;
  pthread_t creator;
  bool have_creator;
} lsvc;

static int lsvc_create(void *arg, const roster_deps *deps, void **out) {
  lsvc *l = arg;
  pthread_mutex_lock(&l->mu);
  l->creator = pthread_self();
  l->have_creator = true;
  pthread_mutex_unlock(&l->mu);
  return roster__tu_svc_create(&l->svc, deps, out);
}

static void run_getters(roster *r, const char *name, getter *g) {
  pthread_barrier_t barrier;
  assert_int_equal(pthread_barrier_init(&barrier, NULL, NTHREADS), 0);
  for (int i = 0; i < NTHREADS; i++) {
    g[i] = (getter){.r = r, .name = name, .barrier = &barrier, .rc = -99};
    assert_int_equal(pthread_create(&g[i].th, NULL, getter_main, &g[i]), 0);
  }
  for (int i = 0; i < NTHREADS; i++)
    assert_int_equal(pthread_join(g[i].th, NULL), 0);
  pthread_barrier_destroy(&barrier);
}

static void test_one_create_for_many_getters(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  static lsvc l;
  memset(&l, 0, sizeof l);
  roster__tu_svc_init(&l.svc, "lazybones", NULL, NULL);
  pthread_mutex_init(&l.mu, NULL);
  l.svc.sleep_ms = 100;
  roster_provider p = roster__tu_svc_provider(&l.svc);
  p.arg = &l;
  p.create = lsvc_create;
  p.lazy = true;
  assert_ok(roster_provide(r, NULL, "lazybones", &p));
  assert_int_equal(roster__tu_state(r, NULL, "lazybones"),
                   ROSTER_STATE_DECLARED);
  assert_false(roster_has(r, NULL, "lazybones"));

  getter g[NTHREADS];
  run_getters(r, "lazybones", g);
  assert_int_equal(atomic_load(&l.svc.creates), 1);
  for (int i = 0; i < NTHREADS; i++) {
    if (g[i].rc != ROSTER_OK)
      fail_msg("getter %d: %s", i, roster_err_name(g[i].rc));
    assert_non_null(g[i].out);
    assert_ptr_equal(g[i].out, g[0].out);
  }
  assert_ptr_equal(((tu_inst *)g[0].out)->svc, &l.svc);
  /* create ran on one of the getters' threads. */
  pthread_mutex_lock(&l.mu);
  bool on_getter = false;
  for (int i = 0; i < NTHREADS && l.have_creator; i++)
    on_getter |= pthread_equal(l.creator, g[i].th) != 0;
  pthread_mutex_unlock(&l.mu);
  assert_true(on_getter);
  assert_int_equal(roster__tu_state(r, NULL, "lazybones"), ROSTER_STATE_READY);

  /* Later gets find it without creating again. */
  void *again = NULL;
  assert_ok(roster_get(r, NULL, "lazybones", &roster__tu_svc_type, &again));
  assert_ptr_equal(again, g[0].out);
  assert_int_equal(atomic_load(&l.svc.creates), 1);

  /* Shutdown destroys it; the next get creates it again. */
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  assert_int_equal(atomic_load(&l.svc.destroys), 1);
  assert_int_equal(roster__tu_state(r, NULL, "lazybones"),
                   ROSTER_STATE_STOPPED);
  l.svc.sleep_ms = 0;
  assert_ok(roster_start(r, LC_LONG_MS)); /* lazy: nothing to create */
  assert_int_equal(atomic_load(&l.svc.creates), 1);
  assert_ok(roster_get(r, NULL, "lazybones", &roster__tu_svc_type, &again));
  assert_int_equal(atomic_load(&l.svc.creates), 2);
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  roster_free(r);
  assert_int_equal(atomic_load(&l.svc.live_instances), 0);
  pthread_mutex_destroy(&l.mu);
}

static void test_failing_lazy_create(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  static tu_svc s;
  roster__tu_svc_init(&s, "doomed", NULL, NULL);
  s.sleep_ms = 100;
  s.fail_code = ROSTER_EIO;
  tu_provide(r, NULL, "doomed", &s, true);
  getter g[NTHREADS];
  run_getters(r, "doomed", g);
  assert_true(atomic_load(&s.creates) >= 1);
  for (int i = 0; i < NTHREADS; i++) {
    if (g[i].rc != ROSTER_EIO)
      fail_msg("getter %d: %s, want EIO", i, roster_err_name(g[i].rc));
    assert_null(g[i].out);
  }
  assert_int_equal(roster__tu_state(r, NULL, "doomed"), ROSTER_STATE_FAILED);
  assert_false(roster_has(r, NULL, "doomed"));
  /* The detail on the caller's thread names the service and the cause. */
  void *out = (void *)1;
  assert_rc(roster_get(r, NULL, "doomed", &roster__tu_svc_type, &out),
            ROSTER_EIO);
  assert_null(out);
  assert_contains(roster_last_error(), "doomed");
  assert_contains(roster_last_error(), "went wrong on purpose");
  assert_int_equal(atomic_load(&s.destroys), 0);
  roster_free(r);
}

static void test_start_skips_lazy(void **state) {
  (void)state;
  tu_log log;
  roster__tu_log_init(&log);
  roster *r = tu_registry(NULL);
  static const char *const d_eager[] = {"needed", NULL};
  tu_svc idle, needed, eager;
  roster__tu_svc_init(&idle, "idle", &log, NULL);
  roster__tu_svc_init(&needed, "needed", &log, NULL);
  roster__tu_svc_init(&eager, "eager", &log, d_eager);
  tu_provide(r, NULL, "idle", &idle, true);
  tu_provide(r, NULL, "needed", &needed, true);
  tu_provide(r, NULL, "eager", &eager, false);

  assert_ok(roster_start(r, LC_LONG_MS));
  assert_int_equal(atomic_load(&idle.creates), 0);
  assert_int_equal(roster__tu_state(r, NULL, "idle"), ROSTER_STATE_DECLARED);
  assert_false(roster_has(r, NULL, "idle"));
  assert_int_equal(atomic_load(&needed.creates), 1);
  assert_int_equal(atomic_load(&eager.creates), 1);
  assert_int_equal(roster__tu_state(r, NULL, "needed"), ROSTER_STATE_READY);
  assert_false(atomic_load(&eager.deps_bad));
  assert_true(roster__tu_log_find(&log, "created:needed", 0) <
              roster__tu_log_find(&log, "create:eager", 0));
  /* wait_ready waits for eager services only. */
  assert_ok(roster_wait_ready(r, LC_LONG_MS));
  roster_health_report h;
  assert_ok(roster_health(r, &h));
  assert_true(h.ready);
  for (size_t i = 0; i < h.count; i++)
    if (strcmp(h.items[i].name, "idle") == 0)
      assert_true(h.items[i].lazy);
  roster_health_report_free(&h);

  /* The lazy one is made by the first get. */
  void *out = NULL;
  assert_ok(roster_get(r, NULL, "idle", &roster__tu_svc_type, &out));
  assert_int_equal(atomic_load(&idle.creates), 1);
  assert_int_equal(roster__tu_state(r, NULL, "idle"), ROSTER_STATE_READY);

  assert_ok(roster_shutdown(r, LC_LONG_MS));
  assert_int_equal(atomic_load(&idle.destroys), 1);
  assert_int_equal(atomic_load(&needed.destroys), 1);
  assert_int_equal(atomic_load(&eager.destroys), 1);
  /* needed outlived eager, which depends on it. */
  assert_true(roster__tu_log_find(&log, "destroyed:eager", 0) <
              roster__tu_log_find(&log, "destroy:needed", 0));
  roster_free(r);
  roster__tu_log_fini(&log);
}

/* A lazy service whose dependencies are lazy too: they come first, and its
 * create gets them. A lazy create may itself call roster_get. */
typedef struct asker {
  tu_svc svc; /* first: arg is also a tu_svc */
  roster *r;
  void *got; /* what its create's roster_get returned */
} asker;

static int asker_create(void *arg, const roster_deps *deps, void **out) {
  asker *a = arg;
  void *other = NULL;
  int rc = roster_get(a->r, NULL, "leaf", &roster__tu_svc_type, &other);
  if (rc)
    return rc;
  a->got = other;
  return roster__tu_svc_create(&a->svc, deps, out);
}

static void test_lazy_chain(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  static const char *const d_top[] = {"mid", NULL};
  static const char *const d_mid[] = {"leaf", NULL};
  tu_svc top, mid, leaf;
  roster__tu_svc_init(&top, "top", NULL, d_top);
  roster__tu_svc_init(&mid, "mid", NULL, d_mid);
  roster__tu_svc_init(&leaf, "leaf", NULL, NULL);
  tu_provide(r, NULL, "top", &top, true);
  tu_provide(r, NULL, "mid", &mid, true);
  tu_provide(r, NULL, "leaf", &leaf, true);

  void *t = NULL, *m = NULL, *l = NULL;
  assert_ok(roster_get(r, NULL, "top", &roster__tu_svc_type, &t));
  assert_int_equal(atomic_load(&top.creates), 1);
  assert_int_equal(atomic_load(&mid.creates), 1);
  assert_int_equal(atomic_load(&leaf.creates), 1);
  assert_false(atomic_load(&top.deps_bad));
  assert_false(atomic_load(&mid.deps_bad));
  assert_ok(roster_get(r, NULL, "mid", &roster__tu_svc_type, &m));
  assert_ok(roster_get(r, NULL, "leaf", &roster__tu_svc_type, &l));
  assert_ptr_equal(((tu_inst *)t)->deps[0], m);
  assert_ptr_equal(((tu_inst *)m)->deps[0], l);
  assert_int_equal(atomic_load(&leaf.creates), 1);

  /* A lazy create calling roster_get of another lazy service. */
  roster *r2 = tu_registry(NULL);
  static asker ask;
  tu_svc leaf2;
  roster__tu_svc_init(&ask.svc, "asker", NULL, NULL);
  ask.r = r2;
  ask.got = NULL;
  roster__tu_svc_init(&leaf2, "leaf", NULL, NULL);
  roster_provider p = roster__tu_svc_provider(&ask.svc);
  p.create = asker_create;
  p.lazy = true;
  assert_ok(roster_provide(r2, NULL, "asker", &p));
  tu_provide(r2, NULL, "leaf", &leaf2, true);
  void *a = NULL, *l2 = NULL;
  assert_ok(roster_get(r2, NULL, "asker", &roster__tu_svc_type, &a));
  assert_ok(roster_get(r2, NULL, "leaf", &roster__tu_svc_type, &l2));
  assert_ptr_equal(((tu_inst *)a)->svc, &ask.svc);
  assert_ptr_equal(ask.got, l2);
  assert_int_equal(atomic_load(&leaf2.creates), 1);
  assert_ok(roster_shutdown(r2, LC_LONG_MS));
  roster_free(r2);

  /* Unknown and cyclic lazy dependencies fail the get. */
  static const char *const d_orphan[] = {"ghost", NULL};
  tu_svc orphan;
  roster__tu_svc_init(&orphan, "orphan", NULL, d_orphan);
  tu_provide(r, NULL, "orphan", &orphan, true);
  void *o = (void *)1;
  assert_rc(roster_get(r, NULL, "orphan", &roster__tu_svc_type, &o),
            ROSTER_ENOENT);
  assert_null(o);
  char orphan_err[1024];
  snprintf(orphan_err, sizeof orphan_err, "%s", roster_last_error());
  assert_int_equal(atomic_load(&orphan.creates), 0);

  static const char *const d_yin[] = {"yang", NULL};
  static const char *const d_yang[] = {"yin", NULL};
  tu_svc yin, yang;
  roster__tu_svc_init(&yin, "yin", NULL, d_yin);
  roster__tu_svc_init(&yang, "yang", NULL, d_yang);
  tu_provide(r, NULL, "yin", &yin, true);
  tu_provide(r, NULL, "yang", &yang, true);
  assert_rc(roster_get(r, NULL, "yin", &roster__tu_svc_type, &o),
            ROSTER_ECYCLE);
  char cycle_err[1024];
  snprintf(cycle_err, sizeof cycle_err, "%s", roster_last_error());
  assert_int_equal(atomic_load(&yin.creates) + atomic_load(&yang.creates), 0);
  /* The details name the cause: the missing dependency, the cycle. */
  assert_contains(cycle_err, "yin");
  assert_contains(cycle_err, "yang");
  assert_contains(cycle_err, "->");
  assert_contains(orphan_err, "orphan");
  assert_contains(orphan_err, "ghost");

  assert_ok(roster_shutdown(r, LC_LONG_MS));
  assert_int_equal(atomic_load(&top.destroys), 1);
  assert_int_equal(atomic_load(&mid.destroys), 1);
  assert_int_equal(atomic_load(&leaf.destroys), 1);
  roster_free(r);
}

/* bounded_get runs roster_get on a thread and fails the test if it does not
 * return within WAIT_MS (the thread and its record are then leaked), so a
 * get that waits forever is a failure, not a hang. */
typedef struct bget {
  roster *r;
  const char *name;
  int rc;
  void *out;
  char err[256];
  atomic_bool done;
} bget;

static void *bget_main(void *arg) {
  bget *g = arg;
  g->rc = roster_get(g->r, NULL, g->name, &roster__tu_svc_type, &g->out);
  snprintf(g->err, sizeof g->err, "%s", g->rc ? roster_last_error() : "");
  atomic_store(&g->done, true);
  return NULL;
}

static int bounded_get(roster *r, const char *name, void **out, char *err,
                       size_t cap) {
  bget *g = calloc(1, sizeof *g);
  assert_non_null(g);
  g->r = r;
  g->name = name;
  atomic_init(&g->done, false);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, bget_main, g), 0);
  tu_wait_until(atomic_load(&g->done), WAIT_MS);
  if (!atomic_load(&g->done))
    fail_msg("roster_get('%s') did not return within %d ms (state %s)", name,
             WAIT_MS,
             roster_state_name((roster_state)roster__tu_state(r, NULL, name)));
  assert_int_equal(pthread_join(th, NULL), 0);
  int rc = g->rc;
  if (out)
    *out = g->out;
  snprintf(err, cap, "%s", g->err);
  free(g);
  return rc;
}

/* A failed lazy create is tried again by the next get: fail, fail,
 * succeed. */
static void test_lazy_get_retries(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  static tu_flaky f;
  roster__tu_flaky_init(&f, "shaky", NULL, NULL, 2);
  roster_provider p = roster__tu_flaky_provider(&f);
  p.lazy = true;
  assert_ok(roster_provide(r, NULL, "shaky", &p));
  char err[256];
  void *out = NULL;
  for (int round = 1; round <= 2; round++) {
    assert_rc(bounded_get(r, "shaky", &out, err, sizeof err), ROSTER_EIO);
    assert_contains(err, "service 'shaky' failed to start");
    assert_int_equal(atomic_load(&f.svc.creates), round);
    assert_int_equal(roster__tu_state(r, NULL, "shaky"), ROSTER_STATE_FAILED);
  }
  assert_rc(bounded_get(r, "shaky", &out, err, sizeof err), ROSTER_OK);
  assert_non_null(out);
  assert_int_equal(((tu_inst *)out)->gen, 3);
  assert_int_equal(roster__tu_state(r, NULL, "shaky"), ROSTER_STATE_READY);
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  roster_free(r);
  assert_int_equal(atomic_load(&f.svc.live_instances), 0);
}

/* A lazy service that roster_start created for an eager user and that
 * failed there: a roster_get tries it again (and reports its own
 * failure), and so does the next roster_start. */
static void test_lazy_retry_after_failed_start(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  static const char *const d_user[] = {"backing", NULL};
  static tu_flaky f;
  static tu_svc user;
  roster__tu_flaky_init(&f, "backing", NULL, NULL, 2);
  roster__tu_svc_init(&user, "user", NULL, d_user);
  roster_provider p = roster__tu_flaky_provider(&f);
  p.lazy = true;
  assert_ok(roster_provide(r, NULL, "backing", &p));
  tu_provide(r, NULL, "user", &user, false);

  assert_rc(roster_start(r, WAIT_MS), ROSTER_EIO);
  assert_contains(roster_last_error(), "service 'backing' failed to start");
  assert_int_equal(atomic_load(&f.svc.creates), 1);
  assert_int_equal(roster__tu_state(r, NULL, "user"), ROSTER_STATE_DECLARED);
  char err[256];
  void *out = NULL;
  assert_rc(bounded_get(r, "backing", &out, err, sizeof err), ROSTER_EIO);
  assert_contains(err, "service 'backing' failed to start");
  assert_int_equal(atomic_load(&f.svc.creates), 2);
  /* the dependent was not wanted by that get and was left alone */
  assert_int_equal(roster__tu_state(r, NULL, "user"), ROSTER_STATE_DECLARED);
  assert_ok(roster_start(r, WAIT_MS));
  assert_int_equal(atomic_load(&f.svc.creates), 3);
  assert_int_equal(atomic_load(&user.creates), 1);
  assert_rc(bounded_get(r, "backing", &out, err, sizeof err), ROSTER_OK);
  assert_int_equal(((tu_inst *)out)->gen, 3);
  assert_int_equal(roster__tu_state(r, NULL, "user"), ROSTER_STATE_READY);
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  roster_free(r);
  assert_int_equal(atomic_load(&f.svc.live_instances), 0);
  assert_int_equal(atomic_load(&user.live_instances), 0);
}

/* A lazy service that was never created when the registry shut down is
 * created by a get after the next roster_start. */
static void test_lazy_after_shutdown(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  static tu_svc idle, eager;
  roster__tu_svc_init(&idle, "idle", NULL, NULL);
  roster__tu_svc_init(&eager, "eager", NULL, NULL);
  tu_provide(r, NULL, "idle", &idle, true);
  tu_provide(r, NULL, "eager", &eager, false);
  assert_ok(roster_start(r, WAIT_MS));
  assert_ok(roster_shutdown(r, WAIT_MS));
  char err[256];
  void *out = NULL;
  /* shut down: a get says so rather than creating */
  assert_rc(bounded_get(r, "idle", &out, err, sizeof err), ROSTER_ESTATE);
  assert_ok(roster_start(r, WAIT_MS));
  assert_int_equal(atomic_load(&eager.creates), 2);
  assert_rc(bounded_get(r, "idle", &out, err, sizeof err), ROSTER_OK);
  assert_int_equal(atomic_load(&idle.creates), 1);
  assert_int_equal(roster__tu_state(r, NULL, "idle"), ROSTER_STATE_READY);
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  roster_free(r);
  assert_int_equal(atomic_load(&idle.live_instances), 0);
}

/* A create that blocks on a gate and then fails. */
typedef struct gated {
  tu_svc svc; /* first: roster__tu_svc_destroy takes the same arg */
  tu_gate gate;
} gated;

static int gated_create(void *arg, const roster_deps *deps, void **out) {
  gated *g = arg;
  if (!roster__tu_gate_wait(&g->gate, WAIT_MS))
    return roster_error_set(ROSTER_ETIMEDOUT, "gate never opened");
  g->svc.fail_code = ROSTER_EIO;
  return roster__tu_svc_create(&g->svc, deps, out);
}

typedef struct shut_call {
  roster *r;
  int rc;
  char err[256];
  atomic_bool done;
} shut_call;

static void *shut_main(void *arg) {
  shut_call *c = arg;
  c->rc = roster_shutdown(c->r, WAIT_MS);
  snprintf(c->err, sizeof c->err, "%s", c->rc ? roster_last_error() : "");
  atomic_store(&c->done, true);
  return NULL;
}

/* A shutdown that begins while a lazy create is running, which then
 * fails: the dependency that create was given still stops, and the
 * shutdown finishes. */
static void test_shutdown_during_failing_create(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  static const char *const d_slow[] = {"db", NULL};
  static gated slow;
  static tu_svc db, probe;
  memset(&slow, 0, sizeof slow);
  roster__tu_svc_init(&slow.svc, "slow", NULL, d_slow);
  roster__tu_gate_init(&slow.gate);
  roster__tu_svc_init(&db, "db", NULL, NULL);
  roster__tu_svc_init(&probe, "probe", NULL, NULL);
  roster_provider p = roster__tu_svc_provider(&slow.svc);
  p.arg = &slow;
  p.create = gated_create;
  p.lazy = true;
  assert_ok(roster_provide(r, NULL, "slow", &p));
  tu_provide(r, NULL, "db", &db, false);
  assert_ok(roster_start(r, WAIT_MS));

  bget *g = calloc(1, sizeof *g); /* leaked if a thread hangs */
  shut_call *sc = calloc(1, sizeof *sc);
  assert_true(g && sc);
  g->r = r;
  g->name = "slow";
  sc->r = r;
  pthread_t tg, ts;
  assert_int_equal(pthread_create(&tg, NULL, bget_main, g), 0);
  assert_eventually_equal(atomic_load(&slow.gate.waiting), 1, WAIT_MS);
  assert_int_equal(roster__tu_state(r, NULL, "slow"), ROSTER_STATE_STARTING);
  assert_int_equal(pthread_create(&ts, NULL, shut_main, sc), 0);
  /* roster_provide refuses once the shutdown has asked everything to stop
   * (the same locked step) */
  p = roster__tu_svc_provider(&probe);
  int rc = ROSTER_OK;
  for (uint64_t end = roster__tu_now_ns() + WAIT_MS * 1000000ull;
       rc != ROSTER_ESTATE && roster__tu_now_ns() < end; roster__tu_sleep_ms(1))
    rc = roster_provide(r, NULL, "probe", &p);
  assert_int_equal(rc, ROSTER_ESTATE);
  roster__tu_gate_open(&slow.gate);
  tu_wait_until(atomic_load(&g->done) && atomic_load(&sc->done), 2 * WAIT_MS);
  if (!atomic_load(&sc->done))
    fail_msg("roster_shutdown did not return (db is %s)",
             roster_state_name((roster_state)roster__tu_state(r, NULL, "db")));
  assert_true(atomic_load(&g->done));
  assert_int_equal(pthread_join(tg, NULL), 0);
  assert_int_equal(pthread_join(ts, NULL), 0);
  if (sc->rc != ROSTER_OK)
    fail_msg("roster_shutdown: %s: %s", roster_err_name(sc->rc), sc->err);
  assert_int_equal(g->rc, ROSTER_EIO);
  assert_contains(g->err, "service 'slow' failed to start");
  assert_int_equal(atomic_load(&db.destroys), 1);
  assert_int_equal(roster__tu_state(r, NULL, "db"), ROSTER_STATE_STOPPED);
  assert_int_equal(roster__tu_state(r, NULL, "slow"), ROSTER_STATE_FAILED);
  free(g);
  free(sc);
  roster_free(r);
  assert_int_equal(atomic_load(&db.live_instances), 0);
}

typedef struct waiter {
  roster *r;
  int rc;
  bool present_after;
  atomic_bool done;
} waiter;

static void *wait_main(void *arg) {
  waiter *w = arg;
  w->rc = roster_wait_for(w->r, NULL, "sleepy", LC_LONG_MS);
  w->present_after = roster_has(w->r, NULL, "sleepy");
  atomic_store(&w->done, true);
  return NULL;
}

static void test_wait_for_lazy(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  tu_svc s;
  roster__tu_svc_init(&s, "sleepy", NULL, NULL);
  tu_provide(r, NULL, "sleepy", &s, true);
  /* Not up yet: a zero wait times out. */
  assert_rc(roster_wait_for(r, NULL, "sleepy", 0), ROSTER_ETIMEDOUT);
  waiter w = {.r = r, .rc = -99};
  atomic_init(&w.done, false);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, wait_main, &w), 0);
  roster__tu_sleep_ms(50); /* let it block (not needed for correctness) */
  void *out = NULL;
  assert_ok(roster_get(r, NULL, "sleepy", &roster__tu_svc_type, &out));
  assert_int_equal(pthread_join(th, NULL), 0);
  assert_ok(w.rc);
  assert_true(w.present_after);
  assert_int_equal(atomic_load(&s.creates), 1);
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  roster_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_one_create_for_many_getters),
      cmocka_unit_test(test_failing_lazy_create),
      cmocka_unit_test(test_start_skips_lazy),
      cmocka_unit_test(test_lazy_chain),
      cmocka_unit_test(test_wait_for_lazy),
      cmocka_unit_test(test_lazy_get_retries),
      cmocka_unit_test(test_lazy_retry_after_failed_start),
      cmocka_unit_test(test_lazy_after_shutdown),
      cmocka_unit_test(test_shutdown_during_failing_create),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
