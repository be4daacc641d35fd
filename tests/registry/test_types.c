/*
 * test_types.c: typed access in roster/registry.h. A get with the wrong type
 * descriptor fails with ROSTER_ETYPE naming both types (and descriptors are
 * compared by address, not by name); a NULL type skips the check;
 * roster_get_by_type finds the only entry of a type, refuses none (ENOENT)
 * or several (EAMBIGUOUS, naming them), prefers the entry marked with
 * roster_set_default, and keeps that mark across re-registration of the
 * same name. The ROSTER_TYPED macro is exercised with a real struct type.
 */
#include "testutil.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const roster_type pg_type = {.name = "pg_pool_t",
                                    .destroy = roster__tu_obj_destroy};
static const roster_type redis_type = {.name = "redis_client_t",
                                       .destroy = roster__tu_obj_destroy};
/* Same name as pg_type, but a different descriptor: a different type. */
static const roster_type pg_lookalike = {.name = "pg_pool_t",
                                         .destroy = roster__tu_obj_destroy};

/* A real struct for ROSTER_TYPED. */
struct pool {
  atomic_int destroyed;
  int size;
};

static void pool_destroy(void *p) {
  struct pool *pl = p;
  atomic_fetch_add(&pl->destroyed, 1);
}

static const roster_type pool_type = {.name = "struct_pool",
                                      .destroy = pool_destroy};
ROSTER_TYPED(pool, struct pool, pool_type)

/* ---------------------------------------------------------------- */

static void test_get_wrong_type(void **state) {
  (void)state;
  static tu_obj a;
  roster__tu_obj_init(&a, 1);
  roster *r = tu_registry(NULL);
  assert_ok(roster_register(r, NULL, "db", &pg_type, &a));

  void *out = &out;
  roster_error_clear();
  assert_rc(roster_get(r, NULL, "db", &redis_type, &out), ROSTER_ETYPE);
  assert_null(out);
  assert_int_equal(roster_last_code(), ROSTER_ETYPE);
  const char *d = roster_last_error();
  assert_non_null(strstr(d, "pg_pool_t"));
  assert_non_null(strstr(d, "redis_client_t"));

  /* acquire checks the type the same way and takes no reference. */
  roster_ref *ref = (roster_ref *)&ref;
  out = &out;
  assert_rc(roster_acquire(r, NULL, "db", &redis_type, &out, &ref),
            ROSTER_ETYPE);
  assert_null(ref);
  assert_null(out);

  /* Same name, different descriptor: still the wrong type. */
  out = &out;
  assert_rc(roster_get(r, NULL, "db", &pg_lookalike, &out), ROSTER_ETYPE);
  assert_null(out);

  /* NULL type: no check. The right type: found. */
  assert_ok(roster_get(r, NULL, "db", NULL, &out));
  assert_ptr_equal(out, &a);
  out = NULL;
  assert_ok(roster_get(r, NULL, "db", &pg_type, &out));
  assert_ptr_equal(out, &a);

  /* The failed gets changed nothing. */
  assert_true(roster_has(r, NULL, "db"));
  roster_reclaim_wait();
  assert_int_equal(roster__tu_obj_destroyed(&a), 0);
  roster_free(r);
  assert_int_equal(roster__tu_obj_destroyed(&a), 1);
}

static void test_get_by_type_single_and_none(void **state) {
  (void)state;
  static tu_obj p1, r1;
  roster__tu_obj_init(&p1, 1);
  roster__tu_obj_init(&r1, 2);
  roster *r = tu_registry(NULL);

  void *out = &out;
  roster_error_clear();
  assert_rc(roster_get_by_type(r, NULL, &pg_type, &out), ROSTER_ENOENT);
  assert_int_equal(roster_last_code(), ROSTER_ENOENT);

  assert_ok(roster_register(r, NULL, "primary", &pg_type, &p1));
  assert_ok(roster_register(r, NULL, "cache", &redis_type, &r1));
  out = NULL;
  assert_ok(roster_get_by_type(r, NULL, &pg_type, &out));
  assert_ptr_equal(out, &p1);
  out = NULL;
  assert_ok(roster_get_by_type(r, NULL, &redis_type, &out));
  assert_ptr_equal(out, &r1);

  /* Descriptors are compared by address. */
  assert_rc(roster_get_by_type(r, NULL, &pg_lookalike, &out), ROSTER_ENOENT);

  /* Only the namespace asked is searched. */
  assert_rc(roster_get_by_type(r, "elsewhere", &pg_type, &out), ROSTER_ENOENT);
  static tu_obj p2;
  roster__tu_obj_init(&p2, 3);
  assert_ok(roster_register(r, "elsewhere", "primary", &pg_type, &p2));
  assert_ok(roster_get_by_type(r, "elsewhere", &pg_type, &out));
  assert_ptr_equal(out, &p2);
  assert_ok(roster_get_by_type(r, NULL, &pg_type, &out));
  assert_ptr_equal(out, &p1);

  roster_free(r);
  assert_int_equal(roster__tu_obj_destroyed(&p1), 1);
  assert_int_equal(roster__tu_obj_destroyed(&p2), 1);
  assert_int_equal(roster__tu_obj_destroyed(&r1), 1);
}

static void test_get_by_type_ambiguous_and_default(void **state) {
  (void)state;
  static tu_obj main1, replica, cache, main2;
  roster__tu_obj_init(&main1, 1);
  roster__tu_obj_init(&replica, 2);
  roster__tu_obj_init(&cache, 3);
  roster__tu_obj_init(&main2, 4);
  roster *r = tu_registry(NULL);
  assert_ok(roster_register(r, "prod", "pg_main", &pg_type, &main1));
  assert_ok(roster_register(r, "prod", "pg_replica", &pg_type, &replica));
  assert_ok(roster_register(r, "prod", "cache", &redis_type, &cache));

  void *out = &out;
  roster_error_clear();
  assert_rc(roster_get_by_type(r, "prod", &pg_type, &out), ROSTER_EAMBIGUOUS);
  assert_int_equal(roster_last_code(), ROSTER_EAMBIGUOUS);
  const char *d = roster_last_error();
  assert_non_null(strstr(d, "pg_main"));
  assert_non_null(strstr(d, "pg_replica"));

  /* set_default on a missing name: ENOENT, nothing marked. */
  roster_error_clear();
  assert_rc(roster_set_default(r, "prod", "pg_nope"), ROSTER_ENOENT);
  assert_int_equal(roster_last_code(), ROSTER_ENOENT);
  assert_rc(roster_set_default(r, "other-ns", "pg_main"), ROSTER_ENOENT);
  assert_rc(roster_get_by_type(r, "prod", &pg_type, &out), ROSTER_EAMBIGUOUS);

  /* With a default, that one wins. */
  assert_ok(roster_set_default(r, "prod", "pg_replica"));
  out = NULL;
  assert_ok(roster_get_by_type(r, "prod", &pg_type, &out));
  assert_ptr_equal(out, &replica);
  /* The other type is unaffected. */
  assert_ok(roster_get_by_type(r, "prod", &redis_type, &out));
  assert_ptr_equal(out, &cache);

  /* Move the default. */
  assert_ok(roster_set_default(r, "prod", "pg_main"));
  assert_ok(roster_get_by_type(r, "prod", &pg_type, &out));
  assert_ptr_equal(out, &main1);

  /* The mark follows the name: unregister, register again, default again. */
  assert_ok(roster_unregister(r, "prod", "pg_main"));
  assert_ok(
      roster_get_by_type(r, "prod", &pg_type, &out)); /* only replica left */
  assert_ptr_equal(out, &replica);
  static tu_obj extra;
  roster__tu_obj_init(&extra, 5);
  assert_ok(roster_register(r, "prod", "pg_extra", &pg_type, &extra));
  assert_rc(roster_get_by_type(r, "prod", &pg_type, &out), ROSTER_EAMBIGUOUS);
  assert_ok(roster_register(r, "prod", "pg_main", &pg_type, &main2));
  out = NULL;
  assert_ok(roster_get_by_type(r, "prod", &pg_type, &out));
  assert_ptr_equal(out, &main2);

  /* Re-registered under another type it is not of this type at all. */
  assert_ok(roster_unregister(r, "prod", "pg_main"));
  static tu_obj as_redis;
  roster__tu_obj_init(&as_redis, 6);
  assert_ok(roster_register(r, "prod", "pg_main", &redis_type, &as_redis));
  assert_rc(roster_get_by_type(r, "prod", &pg_type, &out), ROSTER_EAMBIGUOUS);
  d = roster_last_error();
  assert_non_null(strstr(d, "pg_replica"));
  assert_non_null(strstr(d, "pg_extra"));

  roster_reclaim_wait();
  assert_int_equal(roster__tu_obj_destroyed(&main1), 1);
  assert_int_equal(roster__tu_obj_destroyed(&main2), 1);
  assert_int_equal(roster__tu_obj_destroyed(&replica), 0);
  roster_free(r);
  assert_int_equal(roster__tu_obj_destroyed(&replica), 1);
  assert_int_equal(roster__tu_obj_destroyed(&cache), 1);
  assert_int_equal(roster__tu_obj_destroyed(&extra), 1);
  assert_int_equal(roster__tu_obj_destroyed(&as_redis), 1);
}

static void test_typed_macro(void **state) {
  (void)state;
  static struct pool p1, p2;
  atomic_store(&p1.destroyed, 0);
  atomic_store(&p2.destroyed, 0);
  p1.size = 10;
  p2.size = 20;
  static tu_obj other;
  roster__tu_obj_init(&other, 1);

  roster *r = tu_registry(NULL);
  assert_ok(pool_register(r, NULL, "db", &p1));
  assert_ok(pool_register(r, "ns", "db", &p2));
  assert_rc(pool_register(r, NULL, "db", &p2), ROSTER_EEXIST);
  assert_rc(pool_register(r, NULL, "", &p2), ROSTER_EINVAL);

  struct pool *got = NULL;
  assert_ok(pool_find(r, NULL, "db", &got));
  assert_ptr_equal(got, &p1);
  assert_int_equal(got->size, 10);
  assert_ok(pool_find(r, "ns", "db", &got));
  assert_ptr_equal(got, &p2);

  /* The descriptor travels with the macro: untyped get sees it. */
  void *raw = NULL;
  assert_ok(roster_get(r, NULL, "db", &pool_type, &raw));
  assert_ptr_equal(raw, &p1);

  /* A name of another type: ETYPE, *out NULL. */
  assert_ok(roster_register(r, NULL, "not-a-pool", &pg_type, &other));
  got = &p1;
  assert_rc(pool_find(r, NULL, "not-a-pool", &got), ROSTER_ETYPE);
  assert_null(got);
  assert_non_null(strstr(roster_last_error(), "struct_pool"));
  assert_non_null(strstr(roster_last_error(), "pg_pool_t"));
  got = &p1;
  assert_rc(pool_find(r, NULL, "missing", &got), ROSTER_ENOENT);
  assert_null(got);

  /* acquire holds the instance across an unregister. */
  roster_ref *ref = NULL;
  got = NULL;
  assert_ok(pool_acquire(r, NULL, "db", &got, &ref));
  assert_ptr_equal(got, &p1);
  assert_non_null(ref);
  assert_ok(roster_unregister(r, NULL, "db"));
  roster_reclaim_wait();
  assert_int_equal(atomic_load(&p1.destroyed), 0);
  roster_release(ref);
  roster_reclaim_wait();
  assert_int_equal(atomic_load(&p1.destroyed), 1);

  ref = (roster_ref *)&ref;
  got = &p2;
  assert_rc(pool_acquire(r, NULL, "not-a-pool", &got, &ref), ROSTER_ETYPE);
  assert_null(got);
  assert_null(ref);

  roster_free(r);
  assert_int_equal(atomic_load(&p1.destroyed), 1);
  assert_int_equal(atomic_load(&p2.destroyed), 1);
  assert_int_equal(roster__tu_obj_destroyed(&other), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_get_wrong_type),
      cmocka_unit_test(test_get_by_type_single_and_none),
      cmocka_unit_test(test_get_by_type_ambiguous_and_default),
      cmocka_unit_test(test_typed_macro),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
