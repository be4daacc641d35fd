/*
 * test_lc_deps.c: dependency resolution and roster_provide's checks.
 * An unknown dependency is ROSTER_ENOENT and a cycle ROSTER_ECYCLE (with
 * its path), both before anything is created; a dependency may be a plain
 * registered instance; bad arguments to roster_provide are ROSTER_EINVAL
 * and change nothing; a taken key is ROSTER_EEXIST, and so is a plain
 * register of a provided key (in either keys mode; a scope may shadow its
 * parent's), with exactly one winner when the two race.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static void provide_svc(roster *r, const char *ns, tu_svc *s) {
  tu_provide(r, ns, s->name, s, false);
}

static void test_unknown_dependency(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  static const char *const d_user[] = {"base", "no-such-thing", NULL};
  tu_svc base, user, other;
  roster__tu_svc_init(&base, "base", NULL, NULL);
  roster__tu_svc_init(&user, "user-svc", NULL, d_user);
  roster__tu_svc_init(&other, "other", NULL, NULL);
  provide_svc(r, NULL, &base);
  provide_svc(r, NULL, &user);
  provide_svc(r, NULL, &other);

  assert_rc(roster_start(r, LC_LONG_MS), ROSTER_ENOENT);
  assert_contains(roster_last_error(), "no-such-thing");
  assert_contains(roster_last_error(), "user-svc");
  /* Reported before anything starts. */
  assert_int_equal(atomic_load(&base.creates), 0);
  assert_int_equal(atomic_load(&user.creates), 0);
  assert_int_equal(atomic_load(&other.creates), 0);
  assert_int_equal(roster__tu_state(r, NULL, "base"), ROSTER_STATE_DECLARED);
  assert_int_equal(roster__tu_state(r, NULL, "other"), ROSTER_STATE_DECLARED);
  assert_false(roster_has(r, NULL, "other"));

  /* Once the dependency exists (here a plain instance), start works. */
  static int thing;
  assert_ok(roster_register(r, NULL, "no-such-thing", &roster__tu_other_type,
                            &thing));
  assert_ok(roster_start(r, LC_LONG_MS));
  assert_int_equal(atomic_load(&user.creates), 1);
  assert_false(atomic_load(&user.deps_bad));
  void *p = NULL;
  assert_ok(roster_get(r, NULL, "user-svc", &roster__tu_svc_type, &p));
  assert_ptr_equal(((tu_inst *)p)->deps[1], &thing);
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  roster_free(r);
}

static void test_cycle(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  static const char *const d_a[] = {"beta-svc", NULL};
  static const char *const d_b[] = {"gamma-svc", NULL};
  static const char *const d_c[] = {"alpha-svc", NULL};
  static const char *const d_d[] = {"alpha-svc", NULL}; /* hangs off it */
  tu_svc a, b, c, d, free_one;
  roster__tu_svc_init(&a, "alpha-svc", NULL, d_a);
  roster__tu_svc_init(&b, "beta-svc", NULL, d_b);
  roster__tu_svc_init(&c, "gamma-svc", NULL, d_c);
  roster__tu_svc_init(&d, "delta-svc", NULL, d_d);
  roster__tu_svc_init(&free_one, "unrelated", NULL, NULL);
  provide_svc(r, NULL, &free_one);
  provide_svc(r, NULL, &d);
  provide_svc(r, NULL, &a);
  provide_svc(r, NULL, &b);
  provide_svc(r, NULL, &c);

  assert_rc(roster_start(r, LC_LONG_MS), ROSTER_ECYCLE);
  const char *e = roster_last_error();
  assert_contains(e, "alpha-svc");
  assert_contains(e, "beta-svc");
  assert_contains(e, "gamma-svc");
  assert_contains(e, "->");
  /* The path is in dependency order: each name is followed by the one it
   * depends on, and it closes where it began. */
  char path[3][256];
  bool found = false;
  for (int start = 0; start < 3 && !found; start++) {
    static const char *const ring[] = {"alpha-svc", "beta-svc", "gamma-svc"};
    char want[256];
    snprintf(want, sizeof want, "%s -> %s -> %s -> %s", ring[start],
             ring[(start + 1) % 3], ring[(start + 2) % 3], ring[start]);
    found = strstr(e, want) != NULL;
    snprintf(path[start], sizeof path[start], "%s", want);
  }
  if (!found)
    fail_msg("cycle path not found in \"%s\" (e.g. \"%s\")", e, path[0]);
  assert_null(strstr(e, "delta-svc -> alpha"));
  /* Nothing was created. */
  assert_int_equal(atomic_load(&a.creates) + atomic_load(&b.creates) +
                       atomic_load(&c.creates) + atomic_load(&d.creates) +
                       atomic_load(&free_one.creates),
                   0);
  assert_int_equal(roster__tu_state(r, NULL, "unrelated"),
                   ROSTER_STATE_DECLARED);
  assert_int_equal(roster__tu_state(r, NULL, "alpha-svc"),
                   ROSTER_STATE_DECLARED);
  /* Asking again gives the same answer. */
  assert_rc(roster_start(r, LC_LONG_MS), ROSTER_ECYCLE);
  assert_int_equal(atomic_load(&free_one.creates), 0);
  roster_free(r);
}

static void test_self_dependency(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  static const char *const d_self[] = {"narcissus", NULL};
  tu_svc s, ok;
  roster__tu_svc_init(&s, "narcissus", NULL, d_self);
  roster__tu_svc_init(&ok, "fine", NULL, NULL);
  provide_svc(r, NULL, &ok);
  roster_provider p = roster__tu_svc_provider(&s);
  int rc = roster_provide(r, NULL, "narcissus", &p);
  /* Either refused as a bad dependency name, or reported by start as the
   * shortest cycle. Both are allowed by the contract; silence is not. */
  if (rc == ROSTER_EINVAL) {
    assert_int_equal(roster__tu_state(r, NULL, "narcissus"), -1);
    assert_ok(roster_start(r, LC_LONG_MS));
  } else {
    assert_ok(rc);
    assert_rc(roster_start(r, LC_LONG_MS), ROSTER_ECYCLE);
    assert_contains(roster_last_error(), "narcissus -> narcissus");
    assert_int_equal(atomic_load(&s.creates), 0);
    assert_int_equal(atomic_load(&ok.creates), 0);
  }
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  roster_free(r);
}

static void test_plain_instance_dependency(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  static int cfg;
  assert_ok(roster_register(r, "app", "config", &roster__tu_other_type, &cfg));
  static const char *const d_user[] = {"config", NULL};
  tu_svc user;
  roster__tu_svc_init(&user, "reader", NULL, d_user);
  provide_svc(r, "app", &user);
  assert_ok(roster_start(r, LC_LONG_MS));
  assert_ok(roster_wait_ready(r, LC_LONG_MS));
  assert_int_equal(atomic_load(&user.creates), 1);
  assert_false(atomic_load(&user.deps_bad));
  void *p = NULL;
  assert_ok(roster_get(r, "app", "reader", &roster__tu_svc_type, &p));
  assert_ptr_equal(((tu_inst *)p)->deps[0], &cfg);
  /* A plain instance is not a provider: shutdown leaves it registered. */
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  assert_true(roster_has(r, "app", "config"));
  assert_int_equal(atomic_load(&user.destroys), 1);
  roster_free(r);
}

/* Dependencies are names in the provider's own namespace. */
static void test_dependency_namespace(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  static const char *const d_user[] = {"db", NULL};
  tu_svc db1, db2, user;
  roster__tu_svc_init(&db1, "db", NULL, NULL);
  roster__tu_svc_init(&db2, "db", NULL, NULL);
  roster__tu_svc_init(&user, "user", NULL, d_user);
  provide_svc(r, "one", &db1);
  provide_svc(r, "two", &db2);
  provide_svc(r, "two", &user);
  assert_ok(roster_start(r, LC_LONG_MS));
  void *u = NULL, *d2 = NULL, *d1 = NULL;
  assert_ok(roster_get(r, "two", "user", &roster__tu_svc_type, &u));
  assert_ok(roster_get(r, "two", "db", &roster__tu_svc_type, &d2));
  assert_ok(roster_get(r, "one", "db", &roster__tu_svc_type, &d1));
  assert_ptr_equal(((tu_inst *)u)->deps[0], d2);
  assert_ptr_not_equal(d1, d2);
  assert_ok(roster_shutdown(r, LC_LONG_MS));

  /* A dependency living only in another namespace is unknown. */
  static const char *const d_lonely[] = {"db", NULL};
  tu_svc lonely;
  roster__tu_svc_init(&lonely, "lonely", NULL, d_lonely);
  provide_svc(r, "three", &lonely);
  assert_rc(roster_start(r, LC_LONG_MS), ROSTER_ENOENT);
  assert_contains(roster_last_error(), "lonely");
  assert_int_equal(atomic_load(&lonely.creates), 0);
  roster_free(r);
}

static int nop_create(void *arg, const roster_deps *deps, void **out) {
  (void)arg;
  (void)deps;
  static int x;
  *out = &x;
  return ROSTER_OK;
}

static void count_free_arg(void *arg) {
  atomic_fetch_add((atomic_int *)arg, 1);
}

/* After a refused roster_provide nothing changed: no provider, no entry. */
static void assert_untouched(roster *r, const char *name) {
  assert_int_equal(roster__tu_state(r, NULL, name), -1);
  assert_false(roster_has(r, NULL, name));
  roster_health_report h;
  assert_ok(roster_health(r, &h));
  assert_int_equal(h.count, 1); /* only "good" */
  roster_health_report_free(&h);
}

static void test_provide_bad_input(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  roster_provider good = {.type = &roster__tu_other_type, .create = nop_create};
  assert_ok(roster_provide(r, NULL, "good", &good));

  char longname[ROSTER_NAME_MAX + 2];
  memset(longname, 'n', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';

  assert_rc(roster_provide(NULL, NULL, "x", &good), ROSTER_EINVAL);
  assert_true(strlen(roster_last_error()) > 0);
  assert_rc(roster_provide(r, NULL, NULL, &good), ROSTER_EINVAL);
  assert_rc(roster_provide(r, NULL, "", &good), ROSTER_EINVAL);
  assert_untouched(r, "");
  assert_rc(roster_provide(r, NULL, longname, &good), ROSTER_EINVAL);
  assert_untouched(r, longname);
  assert_rc(roster_provide(r, "", "x", &good), ROSTER_EINVAL);
  assert_rc(roster_provide(r, longname, "x", &good), ROSTER_EINVAL);
  assert_rc(roster_provide(r, NULL, "x", NULL), ROSTER_EINVAL);
  assert_untouched(r, "x");

  roster_provider p = good;
  p.type = NULL;
  assert_rc(roster_provide(r, NULL, "x", &p), ROSTER_EINVAL);
  assert_untouched(r, "x");
  p = good;
  p.create = NULL;
  assert_rc(roster_provide(r, NULL, "x", &p), ROSTER_EINVAL);
  assert_untouched(r, "x");

  /* ROSTER_DEPS_MAX dependencies are fine; one more is not. */
  static char depnames[ROSTER_DEPS_MAX + 1][16];
  static const char *deps[ROSTER_DEPS_MAX + 2];
  for (int i = 0; i <= ROSTER_DEPS_MAX; i++) {
    snprintf(depnames[i], sizeof depnames[i], "dep%d", i);
    deps[i] = depnames[i];
  }
  deps[ROSTER_DEPS_MAX + 1] = NULL;
  p = good;
  p.deps = deps;
  assert_rc(roster_provide(r, NULL, "x", &p), ROSTER_EINVAL);
  assert_untouched(r, "x");
  deps[ROSTER_DEPS_MAX] = NULL;
  assert_ok(roster_provide(r, NULL, "wide", &p));
  assert_int_equal(roster__tu_state(r, NULL, "wide"), ROSTER_STATE_DECLARED);

  /* Bad dependency names. */
  static const char *const d_empty[] = {"good", "", NULL};
  p = good;
  p.deps = d_empty;
  assert_rc(roster_provide(r, NULL, "y", &p), ROSTER_EINVAL);
  assert_int_equal(roster__tu_state(r, NULL, "y"), -1);
  const char *d_long[] = {longname, NULL};
  p.deps = d_long;
  assert_rc(roster_provide(r, NULL, "y", &p), ROSTER_EINVAL);
  assert_int_equal(roster__tu_state(r, NULL, "y"), -1);

  /* A name of exactly ROSTER_NAME_MAX bytes is fine. */
  longname[ROSTER_NAME_MAX] = '\0';
  assert_ok(roster_provide(r, NULL, longname, &good));
  assert_int_equal(roster__tu_state(r, NULL, longname), ROSTER_STATE_DECLARED);
  roster_free(r);
}

static void test_provide_taken_key(void **state) {
  (void)state;
  static atomic_int accepted_freed, refused_freed;
  atomic_store(&accepted_freed, 0);
  atomic_store(&refused_freed, 0);
  roster *r = tu_registry(NULL);
  static int inst;
  roster_provider ok = {.type = &roster__tu_other_type,
                        .create = nop_create,
                        .free_arg = count_free_arg,
                        .arg = &accepted_freed};
  roster_provider p = ok;
  p.arg = &refused_freed; /* whatever a refused call does with its arg */
  assert_ok(roster_provide(r, NULL, "svc", &ok));
  assert_rc(roster_provide(r, NULL, "svc", &p), ROSTER_EEXIST);
  assert_contains(roster_last_error(), "svc");
  /* The same name in another namespace is another key. */
  assert_ok(roster_provide(r, "elsewhere", "svc", &ok));
  /* A registered instance holds its key. */
  assert_ok(roster_register(r, NULL, "plain", &roster__tu_other_type, &inst));
  assert_rc(roster_provide(r, NULL, "plain", &p), ROSTER_EEXIST);
  assert_int_equal(roster__tu_state(r, NULL, "plain"), -1);
  /* A provider that is up holds its key too. */
  assert_ok(roster_start(r, LC_LONG_MS));
  assert_rc(roster_provide(r, NULL, "svc", &p), ROSTER_EEXIST);
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  assert_rc(roster_provide(r, NULL, "svc", &p), ROSTER_EEXIST);
  /* A service declared after roster_start is started by the next one. */
  tu_svc late;
  roster__tu_svc_init(&late, "late", NULL, NULL);
  provide_svc(r, NULL, &late);
  assert_ok(roster_start(r, LC_LONG_MS));
  assert_int_equal(atomic_load(&late.creates), 1);
  assert_int_equal(roster__tu_state(r, NULL, "late"), ROSTER_STATE_READY);
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  /* free_arg runs once per accepted provider, when it is freed (with the
   * registry), not before. */
  assert_int_equal(atomic_load(&accepted_freed), 0);
  roster_free(r);
  assert_int_equal(atomic_load(&accepted_freed), 2);
}

/* A provided key belongs to its provider: a plain register, register_ex or
 * replace of it fails at once, naming the provider, and leaves the
 * instance untouched; the service still starts. */
static void test_register_provided_key(void **state) {
  (void)state;
  roster_reclaim_wait(); /* earlier tests' destroys are done */
  roster__tu_reset_destroyed();
  roster *r = tu_registry(NULL);
  static int inst;
  static tu_svc db, lz;
  roster__tu_svc_init(&db, "db", NULL, NULL);
  roster__tu_svc_init(&lz, "lz", NULL, NULL);
  provide_svc(r, NULL, &db);
  tu_provide(r, "other", "lz", &lz, true);

  roster_error_clear();
  assert_rc(roster_register(r, NULL, "db", &roster__tu_counter_type, &inst),
            ROSTER_EEXIST);
  assert_int_equal(roster_last_code(), ROSTER_EEXIST);
  char err[512];
  snprintf(err, sizeof err, "%s", roster_last_error());
  assert_contains(err, "'db'");
  assert_contains(err, "provided");
  assert_contains(err, "namespace 'default'");
  assert_contains(err, roster__tu_svc_type.name);
  roster_entry_options eo = {.meta = "m", .meta_len = 1};
  assert_rc(roster_register_ex(r, "default", "db", &roster__tu_counter_type,
                               &inst, &eo),
            ROSTER_EEXIST);
  assert_contains(roster_last_error(), "provided");
  assert_rc(roster_replace(r, NULL, "db", &roster__tu_counter_type, &inst),
            ROSTER_EEXIST);
  assert_contains(roster_last_error(), "provided");
  assert_rc(roster_register(r, "other", "lz", &roster__tu_counter_type, &inst),
            ROSTER_EEXIST);
  assert_contains(roster_last_error(), "namespace 'other'");
  /* The same name elsewhere is another key. */
  assert_ok(roster_register(r, "other", "db", &roster__tu_counter_type, &inst));
  assert_ok(roster_register(r, NULL, "lz", &roster__tu_counter_type, &inst));
  roster_reclaim_wait();
  assert_int_equal(roster__tu_destroyed(), 0); /* refused instances untouched */
  assert_int_equal(roster_count(r, NULL), 1);

  /* Nothing shows up at start: the service starts and is the entry. */
  assert_ok(roster_start(r, LC_LONG_MS));
  void *got = NULL;
  assert_ok(roster_get(r, NULL, "db", &roster__tu_svc_type, &got));
  assert_ptr_equal(((tu_inst *)got)->svc, &db);
  /* Up, or stopped again, the key stays the provider's. */
  assert_rc(roster_register(r, NULL, "db", &roster__tu_counter_type, &inst),
            ROSTER_EEXIST);
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  assert_rc(roster_register(r, NULL, "db", &roster__tu_counter_type, &inst),
            ROSTER_EEXIST);
  assert_ok(roster_start(r, LC_LONG_MS));
  assert_int_equal(atomic_load(&db.creates), 2);
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  roster_free(r);
  /* the two accepted registrations */
  assert_int_equal(roster__tu_wait_destroyed(2), 2);
}

/* Under duplicate keys a plain key still takes many entries, but a provided
 * key takes none, and a provider is refused a key that holds entries. */
static void test_register_provided_key_duplicate(void **state) {
  (void)state;
  roster *r = tu_registry(&(roster_options){.keys = ROSTER_KEYS_DUPLICATE});
  static int a, b;
  static tu_svc svc, late;
  roster__tu_svc_init(&svc, "svc", NULL, NULL);
  roster__tu_svc_init(&late, "grp", NULL, NULL);
  provide_svc(r, NULL, &svc);
  assert_ok(roster_register(r, NULL, "grp", &roster__tu_other_type, &a));
  assert_ok(roster_register(r, NULL, "grp", &roster__tu_other_type, &b));
  assert_rc(roster_register(r, NULL, "svc", &roster__tu_other_type, &a),
            ROSTER_EEXIST);
  assert_contains(roster_last_error(), "provided");
  roster_provider p = roster__tu_svc_provider(&late);
  assert_rc(roster_provide(r, NULL, "grp", &p), ROSTER_EEXIST);
  assert_contains(roster_last_error(), "service 'grp' is already registered");
  assert_contains(roster_last_error(), "type 'other'");
  assert_ok(roster_start(r, LC_LONG_MS));
  void *got = NULL;
  assert_ok(roster_get(r, NULL, "svc", &roster__tu_svc_type, &got));
  size_t n = 0;
  void *v[4];
  assert_ok(roster_lookup(r, NULL, "grp", v, 4, &n));
  assert_int_equal(n, 2);
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  roster_free(r);
}

/* In a scope, only the scope's own providers count: registering a name the
 * parent provides shadows it, as providing it would. */
static void test_register_shadows_parent_provider(void **state) {
  (void)state;
  roster *app = tu_registry(NULL);
  static int fake;
  static tu_svc clock_svc;
  roster__tu_svc_init(&clock_svc, "clock", NULL, NULL);
  provide_svc(app, NULL, &clock_svc);
  roster *t = NULL;
  assert_ok(roster_scope_new(app, &t));
  assert_non_null(t);
  assert_ok(roster_register(t, NULL, "clock", &roster__tu_other_type, &fake));
  void *got = NULL;
  assert_ok(roster_get(t, NULL, "clock", &roster__tu_other_type, &got));
  assert_ptr_equal(got, &fake);
  assert_rc(roster_register(app, NULL, "clock", &roster__tu_other_type, &fake),
            ROSTER_EEXIST);
  roster_free(t);
  roster_free(app);
}

/* A register and a provide of the same key racing: exactly one wins. */
enum { RACE_KEYS = 2000 };
typedef struct race {
  roster *r;
  pthread_barrier_t *go;
  int rc[RACE_KEYS];
} race;

static void *race_register(void *arg) {
  race *x = arg;
  static int inst;
  pthread_barrier_wait(x->go);
  for (int i = 0; i < RACE_KEYS; i++) {
    char name[32];
    snprintf(name, sizeof name, "k%d", i);
    x->rc[i] = roster_register(x->r, NULL, name, &roster__tu_other_type, &inst);
  }
  return NULL;
}

static void *race_provide(void *arg) {
  race *x = arg;
  roster_provider p = {
      .type = &roster__tu_other_type, .create = nop_create, .lazy = true};
  pthread_barrier_wait(x->go);
  for (int i = 0; i < RACE_KEYS; i++) {
    char name[32];
    snprintf(name, sizeof name, "k%d", i);
    x->rc[i] = roster_provide(x->r, NULL, name, &p);
  }
  return NULL;
}

static void test_register_provide_race(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  /* a provider first, so that the registry has its lifecycle already */
  roster_provider p = {
      .type = &roster__tu_other_type, .create = nop_create, .lazy = true};
  assert_ok(roster_provide(r, NULL, "first", &p));
  pthread_barrier_t go;
  assert_int_equal(pthread_barrier_init(&go, NULL, 2), 0);
  race *reg = calloc(1, sizeof *reg), *prov = calloc(1, sizeof *prov);
  assert_true(reg && prov);
  reg->r = prov->r = r;
  reg->go = prov->go = &go;
  pthread_t t1, t2;
  assert_int_equal(pthread_create(&t1, NULL, race_register, reg), 0);
  assert_int_equal(pthread_create(&t2, NULL, race_provide, prov), 0);
  assert_int_equal(pthread_join(t1, NULL), 0);
  assert_int_equal(pthread_join(t2, NULL), 0);
  pthread_barrier_destroy(&go);
  int both = 0, neither = 0;
  for (int i = 0; i < RACE_KEYS; i++) {
    if (reg->rc[i] == ROSTER_OK && prov->rc[i] == ROSTER_OK)
      both++;
    else if (reg->rc[i] != ROSTER_OK && prov->rc[i] != ROSTER_OK)
      neither++;
    else
      assert_int_equal(reg->rc[i] ? reg->rc[i] : prov->rc[i], ROSTER_EEXIST);
  }
  if (both || neither)
    fail_msg("%d keys taken by both a register and a provide, %d by "
             "neither",
             both, neither);
  free(reg);
  free(prov);
  roster_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_unknown_dependency),
      cmocka_unit_test(test_cycle),
      cmocka_unit_test(test_self_dependency),
      cmocka_unit_test(test_plain_instance_dependency),
      cmocka_unit_test(test_dependency_namespace),
      cmocka_unit_test(test_provide_bad_input),
      cmocka_unit_test(test_provide_taken_key),
      cmocka_unit_test(test_register_provided_key),
      cmocka_unit_test(test_register_provided_key_duplicate),
      cmocka_unit_test(test_register_shadows_parent_provider),
      cmocka_unit_test(test_register_provide_race),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
