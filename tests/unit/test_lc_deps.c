/*
 * test_lc_deps.c: dependency resolution and roster_provide's checks.
 * An unknown dependency is ROSTER_ENOENT and a cycle ROSTER_ECYCLE (with
 * its path), both before anything is created; a dependency may be a plain
 * registered instance; bad arguments to roster_provide are ROSTER_EINVAL
 * and change nothing; a taken key is ROSTER_EEXIST.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static void provide_svc(roster *r, const char *ns, tu_svc *s) {
  roster_provider p = tu_svc_provider(s);
  assert_ok(roster_provide(r, ns, s->name, &p));
}

static void test_unknown_dependency(void **state) {
  (void)state;
  roster *r = roster_new(NULL);
  assert_non_null(r);
  static const char *const d_user[] = {"base", "no-such-thing", NULL};
  tu_svc base, user, other;
  tu_svc_init(&base, "base", NULL, NULL);
  tu_svc_init(&user, "user-svc", NULL, d_user);
  tu_svc_init(&other, "other", NULL, NULL);
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
  assert_int_equal(tu_state(r, NULL, "base"), ROSTER_STATE_DECLARED);
  assert_int_equal(tu_state(r, NULL, "other"), ROSTER_STATE_DECLARED);
  assert_false(roster_has(r, NULL, "other"));

  /* Once the dependency exists (here a plain instance), start works. */
  static int thing;
  assert_ok(roster_register(r, NULL, "no-such-thing", &tu_other_type, &thing));
  assert_ok(roster_start(r, LC_LONG_MS));
  assert_int_equal(atomic_load(&user.creates), 1);
  assert_false(atomic_load(&user.deps_bad));
  void *p = NULL;
  assert_ok(roster_get(r, NULL, "user-svc", &tu_svc_type, &p));
  assert_ptr_equal(((tu_inst *)p)->deps[1], &thing);
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  roster_free(r);
}

static void test_cycle(void **state) {
  (void)state;
  roster *r = roster_new(NULL);
  assert_non_null(r);
  static const char *const d_a[] = {"beta-svc", NULL};
  static const char *const d_b[] = {"gamma-svc", NULL};
  static const char *const d_c[] = {"alpha-svc", NULL};
  static const char *const d_d[] = {"alpha-svc", NULL}; /* hangs off it */
  tu_svc a, b, c, d, free_one;
  tu_svc_init(&a, "alpha-svc", NULL, d_a);
  tu_svc_init(&b, "beta-svc", NULL, d_b);
  tu_svc_init(&c, "gamma-svc", NULL, d_c);
  tu_svc_init(&d, "delta-svc", NULL, d_d);
  tu_svc_init(&free_one, "unrelated", NULL, NULL);
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
  assert_int_equal(tu_state(r, NULL, "unrelated"), ROSTER_STATE_DECLARED);
  assert_int_equal(tu_state(r, NULL, "alpha-svc"), ROSTER_STATE_DECLARED);
  /* Asking again gives the same answer. */
  assert_rc(roster_start(r, LC_LONG_MS), ROSTER_ECYCLE);
  assert_int_equal(atomic_load(&free_one.creates), 0);
  roster_free(r);
}

static void test_self_dependency(void **state) {
  (void)state;
  roster *r = roster_new(NULL);
  assert_non_null(r);
  static const char *const d_self[] = {"narcissus", NULL};
  tu_svc s, ok;
  tu_svc_init(&s, "narcissus", NULL, d_self);
  tu_svc_init(&ok, "fine", NULL, NULL);
  provide_svc(r, NULL, &ok);
  roster_provider p = tu_svc_provider(&s);
  int rc = roster_provide(r, NULL, "narcissus", &p);
  /* Either refused as a bad dependency name, or reported by start as the
   * shortest cycle. Both are allowed by the contract; silence is not. */
  if (rc == ROSTER_EINVAL) {
    assert_int_equal(tu_state(r, NULL, "narcissus"), -1);
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
  roster *r = roster_new(NULL);
  assert_non_null(r);
  static int cfg;
  assert_ok(roster_register(r, "app", "config", &tu_other_type, &cfg));
  static const char *const d_user[] = {"config", NULL};
  tu_svc user;
  tu_svc_init(&user, "reader", NULL, d_user);
  provide_svc(r, "app", &user);
  assert_ok(roster_start(r, LC_LONG_MS));
  assert_ok(roster_wait_ready(r, LC_LONG_MS));
  assert_int_equal(atomic_load(&user.creates), 1);
  assert_false(atomic_load(&user.deps_bad));
  void *p = NULL;
  assert_ok(roster_get(r, "app", "reader", &tu_svc_type, &p));
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
  roster *r = roster_new(NULL);
  assert_non_null(r);
  static const char *const d_user[] = {"db", NULL};
  tu_svc db1, db2, user;
  tu_svc_init(&db1, "db", NULL, NULL);
  tu_svc_init(&db2, "db", NULL, NULL);
  tu_svc_init(&user, "user", NULL, d_user);
  provide_svc(r, "one", &db1);
  provide_svc(r, "two", &db2);
  provide_svc(r, "two", &user);
  assert_ok(roster_start(r, LC_LONG_MS));
  void *u = NULL, *d2 = NULL, *d1 = NULL;
  assert_ok(roster_get(r, "two", "user", &tu_svc_type, &u));
  assert_ok(roster_get(r, "two", "db", &tu_svc_type, &d2));
  assert_ok(roster_get(r, "one", "db", &tu_svc_type, &d1));
  assert_ptr_equal(((tu_inst *)u)->deps[0], d2);
  assert_ptr_not_equal(d1, d2);
  assert_ok(roster_shutdown(r, LC_LONG_MS));

  /* A dependency living only in another namespace is unknown. */
  static const char *const d_lonely[] = {"db", NULL};
  tu_svc lonely;
  tu_svc_init(&lonely, "lonely", NULL, d_lonely);
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

static void count_free_arg(void *arg) { atomic_fetch_add((atomic_int *)arg, 1); }

/* After a refused roster_provide nothing changed: no provider, no entry. */
static void assert_untouched(roster *r, const char *name) {
  assert_int_equal(tu_state(r, NULL, name), -1);
  assert_false(roster_has(r, NULL, name));
  roster_health_report h;
  assert_ok(roster_health(r, &h));
  assert_int_equal(h.count, 1); /* only "good" */
  roster_health_report_free(&h);
}

static void test_provide_bad_input(void **state) {
  (void)state;
  roster *r = roster_new(NULL);
  assert_non_null(r);
  roster_provider good = {.type = &tu_other_type, .create = nop_create};
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
  assert_int_equal(tu_state(r, NULL, "wide"), ROSTER_STATE_DECLARED);

  /* Bad dependency names. */
  static const char *const d_empty[] = {"good", "", NULL};
  p = good;
  p.deps = d_empty;
  assert_rc(roster_provide(r, NULL, "y", &p), ROSTER_EINVAL);
  assert_int_equal(tu_state(r, NULL, "y"), -1);
  const char *d_long[] = {longname, NULL};
  p.deps = d_long;
  assert_rc(roster_provide(r, NULL, "y", &p), ROSTER_EINVAL);
  assert_int_equal(tu_state(r, NULL, "y"), -1);

  /* A name of exactly ROSTER_NAME_MAX bytes is fine. */
  longname[ROSTER_NAME_MAX] = '\0';
  assert_ok(roster_provide(r, NULL, longname, &good));
  assert_int_equal(tu_state(r, NULL, longname), ROSTER_STATE_DECLARED);
  roster_free(r);
}

static void test_provide_taken_key(void **state) {
  (void)state;
  static atomic_int accepted_freed, refused_freed;
  atomic_store(&accepted_freed, 0);
  atomic_store(&refused_freed, 0);
  roster *r = roster_new(NULL);
  assert_non_null(r);
  static int inst;
  roster_provider ok = {.type = &tu_other_type, .create = nop_create,
                        .free_arg = count_free_arg, .arg = &accepted_freed};
  roster_provider p = ok;
  p.arg = &refused_freed; /* whatever a refused call does with its arg */
  assert_ok(roster_provide(r, NULL, "svc", &ok));
  assert_rc(roster_provide(r, NULL, "svc", &p), ROSTER_EEXIST);
  assert_contains(roster_last_error(), "svc");
  /* The same name in another namespace is another key. */
  assert_ok(roster_provide(r, "elsewhere", "svc", &ok));
  /* A registered instance holds its key. */
  assert_ok(roster_register(r, NULL, "plain", &tu_other_type, &inst));
  assert_rc(roster_provide(r, NULL, "plain", &p), ROSTER_EEXIST);
  assert_int_equal(tu_state(r, NULL, "plain"), -1);
  /* A provider that is up holds its key too. */
  assert_ok(roster_start(r, LC_LONG_MS));
  assert_rc(roster_provide(r, NULL, "svc", &p), ROSTER_EEXIST);
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  assert_rc(roster_provide(r, NULL, "svc", &p), ROSTER_EEXIST);
  /* A service declared after roster_start is started by the next one. */
  tu_svc late;
  tu_svc_init(&late, "late", NULL, NULL);
  provide_svc(r, NULL, &late);
  assert_ok(roster_start(r, LC_LONG_MS));
  assert_int_equal(atomic_load(&late.creates), 1);
  assert_int_equal(tu_state(r, NULL, "late"), ROSTER_STATE_READY);
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  /* free_arg runs once per accepted provider, when it is freed (with the
   * registry), not before. */
  assert_int_equal(atomic_load(&accepted_freed), 0);
  roster_free(r);
  assert_int_equal(atomic_load(&accepted_freed), 2);
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
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
