/*
 * test_scope.c: child scopes. Lookups fall through to the parent; a name
 * registered or provided in the scope shadows the parent's without
 * touching it; a scope's provider may depend on a parent's service;
 * listings, counts and health see only the scope; roster_free(scope)
 * destroys only the scope's instances; a parent freed before its scope
 * leaves the scope working, missing what the parent held.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#define WAIT_MS 10000

static int pinst[8], sinst[8];

static void test_fall_through_and_shadow(void **state) {
  (void)state;
  roster *parent = tu_registry(NULL);
  assert_null(roster_parent(parent));
  assert_null(roster_parent(NULL));
  roster *scope = NULL;
  assert_ok(roster_scope_new(parent, &scope));
  assert_non_null(scope);
  assert_ptr_equal(roster_parent(scope), parent);
  assert_int_equal(roster_keys_mode(scope), ROSTER_KEYS_UNIQUE);

  assert_ok(
      roster_register(parent, NULL, "db", &roster__tu_counter_type, &pinst[0]));
  assert_ok(roster_register(parent, "app", "cfg", &roster__tu_counter_type,
                            &pinst[1]));
  void *out = NULL;
  assert_ok(roster_get(scope, NULL, "db", &roster__tu_counter_type, &out));
  assert_ptr_equal(out, &pinst[0]);
  assert_ok(roster_get(scope, "app", "cfg", NULL, &out));
  assert_ptr_equal(out, &pinst[1]);
  assert_true(roster_has(scope, NULL, "db"));
  /* The parent's type check applies through the scope. */
  assert_rc(roster_get(scope, NULL, "db", &roster__tu_other_type, &out),
            ROSTER_ETYPE);
  /* acquire falls through too. */
  roster_ref *ref = NULL;
  assert_ok(
      roster_acquire(scope, NULL, "db", &roster__tu_counter_type, &out, &ref));
  assert_ptr_equal(out, &pinst[0]);
  assert_non_null(ref);
  roster_release(ref);
  /* lookup falls through too. */
  void *many[2];
  size_t count = 0;
  assert_ok(roster_lookup(scope, NULL, "db", many, 2, &count));
  assert_int_equal(count, 1);
  assert_ptr_equal(many[0], &pinst[0]);
  /* A miss in both is a miss. */
  assert_rc(roster_get(scope, NULL, "nothing", NULL, &out), ROSTER_ENOENT);
  assert_null(out);

  /* Registering in the scope shadows the parent's, which stays. */
  assert_ok(
      roster_register(scope, NULL, "db", &roster__tu_counter_type, &sinst[0]));
  assert_ok(roster_get(scope, NULL, "db", &roster__tu_counter_type, &out));
  assert_ptr_equal(out, &sinst[0]);
  assert_ok(roster_get(parent, NULL, "db", &roster__tu_counter_type, &out));
  assert_ptr_equal(out, &pinst[0]);
  /* The scope's own entries are not visible from the parent. */
  assert_ok(roster_register(scope, NULL, "scoped", &roster__tu_counter_type,
                            &sinst[1]));
  assert_false(roster_has(parent, NULL, "scoped"));
  /* Counts and listings see only the scope. */
  assert_int_equal(roster_count(scope, NULL), 2);
  assert_int_equal(roster_count(scope, "app"), 0);
  assert_int_equal(roster_count(parent, NULL), 1);
  roster_list l;
  assert_ok(roster_list_entries(scope, NULL, &l));
  assert_int_equal(l.count, 2);
  roster_list_free(&l);
  /* Unregistering the scope's uncovers the parent's again. */
  assert_ok(roster_unregister(scope, NULL, "db"));
  assert_ok(roster_get(scope, NULL, "db", &roster__tu_counter_type, &out));
  assert_ptr_equal(out, &pinst[0]);
  /* ...and unregistering through the scope never touches the parent. */
  assert_rc(roster_unregister(scope, NULL, "db"), ROSTER_ENOENT);
  assert_true(roster_has(parent, NULL, "db"));

  roster_free(scope);
  roster_free(parent);
}

static void test_scope_of_duplicate_registry(void **state) {
  (void)state;
  roster_options o = {.keys = ROSTER_KEYS_DUPLICATE};
  roster *parent = tu_registry(&o);
  roster *scope = NULL;
  assert_ok(roster_scope_new(parent, &scope));
  assert_non_null(scope);
  assert_int_equal(roster_keys_mode(scope), ROSTER_KEYS_DUPLICATE);
  assert_ok(
      roster_register(scope, NULL, "t", &roster__tu_counter_type, &sinst[0]));
  assert_ok(
      roster_register(scope, NULL, "t", &roster__tu_counter_type, &sinst[1]));
  size_t count = 0;
  assert_ok(roster_lookup(scope, NULL, "t", NULL, 0, &count));
  assert_int_equal(count, 2);
  roster_free(scope);
  roster_free(parent);
  assert_new_fails(roster, roster_scope_new(NULL, &bad_));
  assert_int_equal(roster_last_code(), ROSTER_EINVAL);
}

static void test_scope_providers(void **state) {
  (void)state;
  tu_log log;
  roster__tu_log_init(&log);
  roster *parent = tu_registry(NULL);
  /* In the parent: an eager "db", a lazy "pool", a plain "cfg". */
  static tu_svc pdb, ppool, sdb, repo, cache;
  roster__tu_svc_init(&pdb, "db", &log, NULL);
  roster__tu_svc_init(&ppool, "pool", &log, NULL);
  tu_provide(parent, NULL, "db", &pdb, false);
  tu_provide(parent, NULL, "pool", &ppool, true);
  assert_ok(
      roster_register(parent, NULL, "cfg", &roster__tu_other_type, &pinst[2]));
  assert_ok(roster_start(parent, LC_LONG_MS));
  void *parent_db = NULL;
  assert_ok(roster_get(parent, NULL, "db", &roster__tu_svc_type, &parent_db));

  roster *scope = NULL;
  assert_ok(roster_scope_new(parent, &scope));
  assert_non_null(scope);
  /* A scope provider depending on the parent's services (a provider, a
   * lazy provider not created yet, and a plain instance). */
  static const char *const d_repo[] = {"db", "pool", "cfg", NULL};
  roster__tu_svc_init(&repo, "repo", &log, d_repo);
  tu_provide(scope, NULL, "repo", &repo, false);
  assert_ok(roster_start(scope, LC_LONG_MS));
  assert_int_equal(atomic_load(&repo.creates), 1);
  assert_false(atomic_load(&repo.deps_bad));
  void *r_out = NULL, *pool = NULL;
  assert_ok(roster_get(scope, NULL, "repo", &roster__tu_svc_type, &r_out));
  assert_ptr_equal(((tu_inst *)r_out)->deps[0], parent_db);
  assert_int_equal(atomic_load(&ppool.creates), 1); /* made for repo */
  assert_ok(roster_get(parent, NULL, "pool", &roster__tu_svc_type, &pool));
  assert_ptr_equal(((tu_inst *)r_out)->deps[1], pool);
  assert_ptr_equal(((tu_inst *)r_out)->deps[2], &pinst[2]);
  assert_false(roster_has(parent, NULL, "repo"));
  /* Scope state and health cover only the scope's providers. */
  assert_int_equal(roster__tu_state(scope, NULL, "repo"), ROSTER_STATE_READY);
  roster_health_report h;
  assert_ok(roster_health(scope, &h));
  assert_int_equal(h.count, 1);
  assert_string_equal(h.items[0].name, "repo");
  roster_health_report_free(&h);

  /* A second scope that provides its own "db", shadowing the parent's: its
   * "cache" depends on "db" and must get the scope's. */
  roster *scope2 = NULL;
  assert_ok(roster_scope_new(parent, &scope2));
  assert_non_null(scope2);
  static const char *const d_cache[] = {"db", NULL};
  roster__tu_svc_init(&sdb, "db", &log, NULL);
  roster__tu_svc_init(&cache, "cache", &log, d_cache);
  tu_provide(scope2, NULL, "db", &sdb, false);
  tu_provide(scope2, NULL, "cache", &cache, false);
  assert_ok(roster_start(scope2, LC_LONG_MS));
  void *s2db = NULL, *c_out = NULL;
  assert_ok(roster_get(scope2, NULL, "db", &roster__tu_svc_type, &s2db));
  assert_ok(roster_get(scope2, NULL, "cache", &roster__tu_svc_type, &c_out));
  assert_ptr_not_equal(s2db, parent_db);
  assert_ptr_equal(((tu_inst *)s2db)->svc, &sdb);
  assert_ptr_equal(((tu_inst *)c_out)->deps[0], s2db);
  void *still = NULL;
  assert_ok(roster_get(parent, NULL, "db", &roster__tu_svc_type, &still));
  assert_ptr_equal(still, parent_db);
  assert_int_equal(atomic_load(&pdb.creates), 1);

  /* Freeing a scope destroys only its own instances. */
  roster_free(scope2);
  assert_int_equal(atomic_load(&sdb.destroys), 1);
  assert_int_equal(atomic_load(&cache.destroys), 1);
  assert_int_equal(atomic_load(&pdb.destroys), 0);
  assert_ok(roster_get(parent, NULL, "db", &roster__tu_svc_type, &still));
  assert_ptr_equal(still, parent_db);
  assert_int_equal(roster__tu_state(parent, NULL, "db"), ROSTER_STATE_READY);
  roster_free(scope);
  assert_int_equal(atomic_load(&repo.destroys), 1);
  assert_int_equal(atomic_load(&pdb.destroys), 0);
  assert_int_equal(atomic_load(&ppool.destroys), 0);
  assert_true(roster_has(parent, NULL, "pool"));
  assert_true(roster_has(parent, NULL, "cfg"));

  assert_ok(roster_shutdown(parent, LC_LONG_MS));
  assert_int_equal(atomic_load(&pdb.destroys), 1);
  assert_int_equal(atomic_load(&ppool.destroys), 1);
  roster_free(parent);
  roster__tu_log_fini(&log);
}

/* A scope provider shadows the parent's name even when it cannot be made:
 * a lazy scope "pool" with an unknown dependency must fail the get, not
 * hand out the parent's "pool". */
static void test_scope_shadow_unresolvable(void **state) {
  (void)state;
  roster *parent = tu_registry(NULL);
  assert_ok(roster_register(parent, NULL, "pool", &roster__tu_counter_type,
                            &pinst[5]));
  roster *scope = NULL;
  assert_ok(roster_scope_new(parent, &scope));
  assert_non_null(scope);
  static tu_svc shadow;
  static const char *const d_ghost[] = {"ghost", NULL};
  roster__tu_svc_init(&shadow, "pool", NULL, d_ghost);
  tu_provide(scope, NULL, "pool", &shadow, true);
  void *sp = (void *)1;
  int rc = roster_get(scope, NULL, "pool", NULL, &sp);
  if (rc == ROSTER_OK)
    fail_msg("scope's unresolvable 'pool' fell through to the parent's "
             "(%p, parent's is %p)",
             sp, (void *)&pinst[5]);
  assert_rc(rc, ROSTER_ENOENT);
  assert_null(sp);
  assert_contains(roster_last_error(), "ghost");
  assert_int_equal(atomic_load(&shadow.creates), 0);
  roster_free(scope);
  roster_free(parent);
}

static void test_scope_lazy_from_parent(void **state) {
  (void)state;
  roster *parent = tu_registry(NULL);
  static tu_svc lz;
  roster__tu_svc_init(&lz, "lazy", NULL, NULL);
  tu_provide(parent, NULL, "lazy", &lz, true);
  roster *scope = NULL;
  assert_ok(roster_scope_new(parent, &scope));
  assert_non_null(scope);
  void *a = NULL, *b = NULL;
  /* Getting through the scope creates the parent's lazy service, in the
   * parent. */
  assert_ok(roster_get(scope, NULL, "lazy", &roster__tu_svc_type, &a));
  assert_int_equal(atomic_load(&lz.creates), 1);
  assert_ok(roster_get(parent, NULL, "lazy", &roster__tu_svc_type, &b));
  assert_ptr_equal(a, b);
  assert_int_equal(roster__tu_state(parent, NULL, "lazy"), ROSTER_STATE_READY);
  assert_rc(roster_service_state(scope, NULL, "lazy", &(roster_state){0}),
            ROSTER_ENOENT);
  roster_free(scope);
  assert_int_equal(atomic_load(&lz.destroys), 0);
  roster_free(parent);
  assert_int_equal(atomic_load(&lz.destroys), 1);
}

typedef struct waiter {
  roster *r;
  const char *name;
  int rc;
} waiter;

static void *wait_main(void *arg) {
  waiter *w = arg;
  w->rc = roster_wait_for(w->r, NULL, w->name, LC_LONG_MS);
  return NULL;
}

static void test_scope_wait_for_parent(void **state) {
  (void)state;
  roster *parent = tu_registry(NULL);
  roster *scope = NULL;
  assert_ok(roster_scope_new(parent, &scope));
  assert_non_null(scope);
  waiter w = {.r = scope, .name = "late", .rc = -99};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, wait_main, &w), 0);
  roster__tu_sleep_ms(50); /* let it block (not needed for correctness) */
  assert_ok(roster_register(parent, NULL, "late", &roster__tu_counter_type,
                            &pinst[3]));
  assert_int_equal(pthread_join(th, NULL), 0);
  assert_ok(w.rc);
  roster_free(scope);
  roster_free(parent);
}

static void test_parent_freed_first(void **state) {
  (void)state;
  roster__tu_reset_destroyed();
  roster *parent = tu_registry(NULL);
  roster *scope = NULL;
  assert_ok(roster_scope_new(parent, &scope));
  assert_non_null(scope);
  roster *scope2 = NULL;
  assert_ok(roster_scope_new(parent, &scope2));
  assert_non_null(scope2);
  assert_ok(
      roster_register(parent, NULL, "p", &roster__tu_counter_type, &pinst[4]));
  assert_ok(
      roster_register(scope, NULL, "s", &roster__tu_counter_type, &sinst[2]));
  static tu_svc ps;
  roster__tu_svc_init(&ps, "psvc", NULL, NULL);
  tu_provide(parent, NULL, "psvc", &ps, false);
  assert_ok(roster_start(parent, LC_LONG_MS));
  void *out = NULL;
  assert_ok(roster_get(scope, NULL, "p", NULL, &out));

  /* The parent goes first: emptied at once (its instances destroyed). */
  roster_free(parent);
  assert_int_equal(roster__tu_wait_destroyed(1), 1);
  assert_int_equal(atomic_load(&ps.destroys), 1);
  /* The scopes still work, and miss what the parent held. */
  out = (void *)1;
  assert_rc(roster_get(scope, NULL, "p", NULL, &out), ROSTER_ENOENT);
  assert_null(out);
  assert_rc(roster_get(scope, NULL, "psvc", NULL, &out), ROSTER_ENOENT);
  assert_false(roster_has(scope2, NULL, "p"));
  assert_ok(roster_get(scope, NULL, "s", NULL, &out));
  assert_ptr_equal(out, &sinst[2]);
  assert_ok(roster_register(scope2, NULL, "new", &roster__tu_counter_type,
                            &sinst[3]));
  assert_true(roster_has(scope2, NULL, "new"));
  assert_rc(roster_wait_for(scope, NULL, "p", 10), ROSTER_ETIMEDOUT);
  assert_ptr_equal(roster_parent(scope), roster_parent(scope2));
  roster_free(scope);
  roster_free(scope2); /* the last one releases the parent's shell */
  assert_int_equal(roster__tu_destroyed(), 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fall_through_and_shadow),
      cmocka_unit_test(test_scope_of_duplicate_registry),
      cmocka_unit_test(test_scope_providers),
      cmocka_unit_test(test_scope_shadow_unresolvable),
      cmocka_unit_test(test_scope_lazy_from_parent),
      cmocka_unit_test(test_scope_wait_for_parent),
      cmocka_unit_test(test_parent_freed_first),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
