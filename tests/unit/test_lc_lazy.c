/*
 * test_lc_lazy.c: lazy providers. Sixteen threads getting a lazy service at
 * once (released together by a barrier) cause exactly one create, on one
 * of their threads, and all get the same instance; a failing lazy create
 * gives every concurrent getter the same error; roster_start creates a lazy
 * service only when an eager one depends on it; lazy dependencies are
 * created first; roster_wait_for on a lazy name wakes once someone gets it.
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
  g->rc = roster_get(g->r, NULL, g->name, &tu_svc_type, &g->out);
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
  return tu_svc_create(&l->svc, deps, out);
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
  roster *r = roster_new(NULL);
  assert_non_null(r);
  static lsvc l;
  memset(&l, 0, sizeof l);
  tu_svc_init(&l.svc, "lazybones", NULL, NULL);
  pthread_mutex_init(&l.mu, NULL);
  l.svc.sleep_ms = 100;
  roster_provider p = tu_svc_provider(&l.svc);
  p.arg = &l;
  p.create = lsvc_create;
  p.lazy = true;
  assert_ok(roster_provide(r, NULL, "lazybones", &p));
  assert_int_equal(tu_state(r, NULL, "lazybones"), ROSTER_STATE_DECLARED);
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
  assert_int_equal(tu_state(r, NULL, "lazybones"), ROSTER_STATE_READY);

  /* Later gets find it without creating again. */
  void *again = NULL;
  assert_ok(roster_get(r, NULL, "lazybones", &tu_svc_type, &again));
  assert_ptr_equal(again, g[0].out);
  assert_int_equal(atomic_load(&l.svc.creates), 1);

  /* Shutdown destroys it; the next get creates it again. */
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  assert_int_equal(atomic_load(&l.svc.destroys), 1);
  assert_int_equal(tu_state(r, NULL, "lazybones"), ROSTER_STATE_STOPPED);
  l.svc.sleep_ms = 0;
  assert_ok(roster_start(r, LC_LONG_MS)); /* lazy: nothing to create */
  assert_int_equal(atomic_load(&l.svc.creates), 1);
  assert_ok(roster_get(r, NULL, "lazybones", &tu_svc_type, &again));
  assert_int_equal(atomic_load(&l.svc.creates), 2);
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  roster_free(r);
  assert_int_equal(atomic_load(&l.svc.live_instances), 0);
  pthread_mutex_destroy(&l.mu);
}

static void test_failing_lazy_create(void **state) {
  (void)state;
  roster *r = roster_new(NULL);
  assert_non_null(r);
  static tu_svc s;
  tu_svc_init(&s, "doomed", NULL, NULL);
  s.sleep_ms = 100;
  s.fail_code = ROSTER_EIO;
  roster_provider p = tu_svc_provider(&s);
  p.lazy = true;
  assert_ok(roster_provide(r, NULL, "doomed", &p));
  getter g[NTHREADS];
  run_getters(r, "doomed", g);
  assert_true(atomic_load(&s.creates) >= 1);
  for (int i = 0; i < NTHREADS; i++) {
    if (g[i].rc != ROSTER_EIO)
      fail_msg("getter %d: %s, want EIO", i, roster_err_name(g[i].rc));
    assert_null(g[i].out);
  }
  assert_int_equal(tu_state(r, NULL, "doomed"), ROSTER_STATE_FAILED);
  assert_false(roster_has(r, NULL, "doomed"));
  /* The detail on the caller's thread names the service and the cause. */
  void *out = (void *)1;
  assert_rc(roster_get(r, NULL, "doomed", &tu_svc_type, &out), ROSTER_EIO);
  assert_null(out);
  assert_contains(roster_last_error(), "doomed");
  assert_contains(roster_last_error(), "went wrong on purpose");
  assert_int_equal(atomic_load(&s.destroys), 0);
  roster_free(r);
}

static void test_start_skips_lazy(void **state) {
  (void)state;
  tu_log log;
  tu_log_init(&log);
  roster *r = roster_new(NULL);
  assert_non_null(r);
  static const char *const d_eager[] = {"needed", NULL};
  tu_svc idle, needed, eager;
  tu_svc_init(&idle, "idle", &log, NULL);
  tu_svc_init(&needed, "needed", &log, NULL);
  tu_svc_init(&eager, "eager", &log, d_eager);
  roster_provider p = tu_svc_provider(&idle);
  p.lazy = true;
  assert_ok(roster_provide(r, NULL, "idle", &p));
  p = tu_svc_provider(&needed);
  p.lazy = true;
  assert_ok(roster_provide(r, NULL, "needed", &p));
  p = tu_svc_provider(&eager);
  assert_ok(roster_provide(r, NULL, "eager", &p));

  assert_ok(roster_start(r, LC_LONG_MS));
  assert_int_equal(atomic_load(&idle.creates), 0);
  assert_int_equal(tu_state(r, NULL, "idle"), ROSTER_STATE_DECLARED);
  assert_false(roster_has(r, NULL, "idle"));
  assert_int_equal(atomic_load(&needed.creates), 1);
  assert_int_equal(atomic_load(&eager.creates), 1);
  assert_int_equal(tu_state(r, NULL, "needed"), ROSTER_STATE_READY);
  assert_false(atomic_load(&eager.deps_bad));
  assert_true(tu_log_find(&log, "created:needed", 0) <
              tu_log_find(&log, "create:eager", 0));
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
  assert_ok(roster_get(r, NULL, "idle", &tu_svc_type, &out));
  assert_int_equal(atomic_load(&idle.creates), 1);
  assert_int_equal(tu_state(r, NULL, "idle"), ROSTER_STATE_READY);

  assert_ok(roster_shutdown(r, LC_LONG_MS));
  assert_int_equal(atomic_load(&idle.destroys), 1);
  assert_int_equal(atomic_load(&needed.destroys), 1);
  assert_int_equal(atomic_load(&eager.destroys), 1);
  /* needed outlived eager, which depends on it. */
  assert_true(tu_log_find(&log, "destroyed:eager", 0) <
              tu_log_find(&log, "destroy:needed", 0));
  roster_free(r);
  tu_log_fini(&log);
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
  int rc = roster_get(a->r, NULL, "leaf", &tu_svc_type, &other);
  if (rc)
    return rc;
  a->got = other;
  return tu_svc_create(&a->svc, deps, out);
}

static void test_lazy_chain(void **state) {
  (void)state;
  roster *r = roster_new(NULL);
  assert_non_null(r);
  static const char *const d_top[] = {"mid", NULL};
  static const char *const d_mid[] = {"leaf", NULL};
  tu_svc top, mid, leaf;
  tu_svc_init(&top, "top", NULL, d_top);
  tu_svc_init(&mid, "mid", NULL, d_mid);
  tu_svc_init(&leaf, "leaf", NULL, NULL);
  roster_provider p;
  p = tu_svc_provider(&top);
  p.lazy = true;
  assert_ok(roster_provide(r, NULL, "top", &p));
  p = tu_svc_provider(&mid);
  p.lazy = true;
  assert_ok(roster_provide(r, NULL, "mid", &p));
  p = tu_svc_provider(&leaf);
  p.lazy = true;
  assert_ok(roster_provide(r, NULL, "leaf", &p));

  void *t = NULL, *m = NULL, *l = NULL;
  assert_ok(roster_get(r, NULL, "top", &tu_svc_type, &t));
  assert_int_equal(atomic_load(&top.creates), 1);
  assert_int_equal(atomic_load(&mid.creates), 1);
  assert_int_equal(atomic_load(&leaf.creates), 1);
  assert_false(atomic_load(&top.deps_bad));
  assert_false(atomic_load(&mid.deps_bad));
  assert_ok(roster_get(r, NULL, "mid", &tu_svc_type, &m));
  assert_ok(roster_get(r, NULL, "leaf", &tu_svc_type, &l));
  assert_ptr_equal(((tu_inst *)t)->deps[0], m);
  assert_ptr_equal(((tu_inst *)m)->deps[0], l);
  assert_int_equal(atomic_load(&leaf.creates), 1);

  /* A lazy create calling roster_get of another lazy service. */
  roster *r2 = roster_new(NULL);
  assert_non_null(r2);
  static asker ask;
  tu_svc leaf2;
  tu_svc_init(&ask.svc, "asker", NULL, NULL);
  ask.r = r2;
  ask.got = NULL;
  tu_svc_init(&leaf2, "leaf", NULL, NULL);
  p = tu_svc_provider(&ask.svc);
  p.create = asker_create;
  p.lazy = true;
  assert_ok(roster_provide(r2, NULL, "asker", &p));
  p = tu_svc_provider(&leaf2);
  p.lazy = true;
  assert_ok(roster_provide(r2, NULL, "leaf", &p));
  void *a = NULL, *l2 = NULL;
  assert_ok(roster_get(r2, NULL, "asker", &tu_svc_type, &a));
  assert_ok(roster_get(r2, NULL, "leaf", &tu_svc_type, &l2));
  assert_ptr_equal(((tu_inst *)a)->svc, &ask.svc);
  assert_ptr_equal(ask.got, l2);
  assert_int_equal(atomic_load(&leaf2.creates), 1);
  assert_ok(roster_shutdown(r2, LC_LONG_MS));
  roster_free(r2);

  /* Unknown and cyclic lazy dependencies fail the get. */
  static const char *const d_orphan[] = {"ghost", NULL};
  tu_svc orphan;
  tu_svc_init(&orphan, "orphan", NULL, d_orphan);
  p = tu_svc_provider(&orphan);
  p.lazy = true;
  assert_ok(roster_provide(r, NULL, "orphan", &p));
  void *o = (void *)1;
  assert_rc(roster_get(r, NULL, "orphan", &tu_svc_type, &o), ROSTER_ENOENT);
  assert_null(o);
  char orphan_err[1024];
  snprintf(orphan_err, sizeof orphan_err, "%s", roster_last_error());
  assert_int_equal(atomic_load(&orphan.creates), 0);

  static const char *const d_yin[] = {"yang", NULL};
  static const char *const d_yang[] = {"yin", NULL};
  tu_svc yin, yang;
  tu_svc_init(&yin, "yin", NULL, d_yin);
  tu_svc_init(&yang, "yang", NULL, d_yang);
  p = tu_svc_provider(&yin);
  p.lazy = true;
  assert_ok(roster_provide(r, NULL, "yin", &p));
  p = tu_svc_provider(&yang);
  p.lazy = true;
  assert_ok(roster_provide(r, NULL, "yang", &p));
  assert_rc(roster_get(r, NULL, "yin", &tu_svc_type, &o), ROSTER_ECYCLE);
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
  roster *r = roster_new(NULL);
  assert_non_null(r);
  tu_svc s;
  tu_svc_init(&s, "sleepy", NULL, NULL);
  roster_provider p = tu_svc_provider(&s);
  p.lazy = true;
  assert_ok(roster_provide(r, NULL, "sleepy", &p));
  /* Not up yet: a zero wait times out. */
  assert_rc(roster_wait_for(r, NULL, "sleepy", 0), ROSTER_ETIMEDOUT);
  waiter w = {.r = r, .rc = -99};
  atomic_init(&w.done, false);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, wait_main, &w), 0);
  tu_sleep_ms(50); /* let it block (not needed for correctness) */
  void *out = NULL;
  assert_ok(roster_get(r, NULL, "sleepy", &tu_svc_type, &out));
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
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
