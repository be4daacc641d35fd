/*
 * test_registry.c: the basic registry calls of roster/registry.h. It covers
 * roster_new (defaults, options, a bad keys value), register / get / has /
 * unregister / replace / list_entries / clear, the name rules (NULL, empty,
 * 255 and 256 bytes, for names and namespaces), NULL registry and bad type
 * arguments, and checks that every failed call changed nothing. It also
 * checks the error details (EEXIST names the existing type, ENOENT lists the
 * namespace and suggests a near-miss), that instances are destroyed exactly
 * once (on unregister, replace, clear and roster_free) and that
 * roster_global() is one registry shared by every thread.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const roster_type alpha_type = {.name = "alpha_pool",
                                       .destroy = roster__tu_obj_destroy};
static const roster_type beta_type = {.name = "beta_client",
                                      .destroy = roster__tu_obj_destroy};
static const roster_type plain_type = {.name = "plain_no_destroy"};
static const roster_type nameless_type = {.name = NULL,
                                          .destroy = roster__tu_obj_destroy};

/* Names of given lengths. */
static char name255[ROSTER_NAME_MAX + 1];
static char name256[ROSTER_NAME_MAX + 2];

static void make_names(void) {
  memset(name255, 'n', ROSTER_NAME_MAX);
  name255[ROSTER_NAME_MAX] = '\0';
  memset(name256, 'm', ROSTER_NAME_MAX + 1);
  name256[ROSTER_NAME_MAX + 1] = '\0';
}

/* ---------------------------------------------------------------- */

static void test_new_defaults_and_options(void **state) {
  (void)state;
  roster *r = NULL;
  assert_ok(roster_new(NULL, &r));
  assert_non_null(r);
  assert_int_equal(roster_keys_mode(r), ROSTER_KEYS_UNIQUE);
  assert_int_equal(roster_count(r, NULL), 0);
  roster_free(r);

  roster_options o = {0};
  assert_ok(roster_new(&o, &r));
  assert_non_null(r);
  assert_int_equal(roster_keys_mode(r), ROSTER_KEYS_UNIQUE);
  roster_free(r);

  o.keys = ROSTER_KEYS_DUPLICATE;
  assert_ok(roster_new(&o, &r));
  assert_non_null(r);
  assert_int_equal(roster_keys_mode(r), ROSTER_KEYS_DUPLICATE);
  roster_free(r);

  /* A small, non-power-of-two size hint still holds many entries. */
  o = (roster_options){.name = "svc-registry", .initial_buckets = 3};
  assert_ok(roster_new(&o, &r));
  assert_non_null(r);
  static tu_obj objs[300];
  char name[32];
  for (int i = 0; i < 300; i++) {
    roster__tu_obj_init(&objs[i], i);
    snprintf(name, sizeof name, "svc-%d", i);
    assert_ok(roster_register(r, NULL, name, &alpha_type, &objs[i]));
  }
  assert_int_equal(roster_count(r, NULL), 300);
  for (int i = 0; i < 300; i++) {
    void *out = NULL;
    snprintf(name, sizeof name, "svc-%d", i);
    assert_ok(roster_get(r, NULL, name, &alpha_type, &out));
    assert_ptr_equal(out, &objs[i]);
  }
  roster_free(r);
  for (int i = 0; i < 300; i++)
    assert_int_equal(roster__tu_obj_destroyed(&objs[i]), 1);

  roster_free(NULL); /* no-op */
}

static void test_new_bad_keys(void **state) {
  (void)state;
  roster_error_clear();
  roster_options o = {.keys = (roster_keys)7};
  assert_new_fails(roster, roster_new(&o, &bad_));
  assert_int_equal(roster_last_code(), ROSTER_EINVAL);
  assert_true(strlen(roster_last_error()) > 0);

  roster_error_clear();
  o.keys = (roster_keys)-1;
  assert_new_fails(roster, roster_new(&o, &bad_));
  assert_int_equal(roster_last_code(), ROSTER_EINVAL);

  roster_error_clear();
  o.keys = (roster_keys)2;
  assert_new_fails(roster, roster_new(&o, &bad_));
  assert_int_equal(roster_last_code(), ROSTER_EINVAL);
}

static void test_register_get_has_unregister(void **state) {
  (void)state;
  static tu_obj a, b;
  roster__tu_obj_init(&a, 1);
  roster__tu_obj_init(&b, 2);
  roster *r = tu_registry(NULL);

  roster_error_clear();
  assert_false(roster_has(r, NULL, "db")); /* a miss sets no detail */
  assert_int_equal(roster_last_code(), ROSTER_OK);
  assert_string_equal(roster_last_error(), "");
  assert_ok(roster_register(r, NULL, "db", &alpha_type, &a));
  assert_ok(roster_register(r, NULL, "cache", &beta_type, &b));
  assert_true(roster_has(r, NULL, "db"));
  assert_true(roster_has(r, "default", "cache"));
  assert_int_equal(roster_count(r, NULL), 2);

  void *out = NULL;
  assert_ok(roster_get(r, NULL, "db", &alpha_type, &out));
  assert_ptr_equal(out, &a);
  out = NULL;
  assert_ok(roster_get(r, NULL, "db", NULL, &out)); /* NULL type: no check */
  assert_ptr_equal(out, &a);
  out = NULL;
  assert_ok(roster_get(r, NULL, "cache", &beta_type, &out));
  assert_ptr_equal(out, &b);

  assert_ok(roster_unregister(r, NULL, "db"));
  assert_false(roster_has(r, NULL, "db"));
  assert_int_equal(roster_count(r, NULL), 1);
  out = &out;
  assert_rc(roster_get(r, NULL, "db", &alpha_type, &out), ROSTER_ENOENT);
  assert_null(out);
  assert_rc(roster_unregister(r, NULL, "db"), ROSTER_ENOENT);

  roster_reclaim_wait();
  assert_int_equal(roster__tu_obj_destroyed(&a), 1);
  assert_int_equal(roster__tu_obj_destroyed(&b), 0);

  /* The name can be registered again afterwards. */
  static tu_obj a2;
  roster__tu_obj_init(&a2, 3);
  assert_ok(roster_register(r, NULL, "db", &alpha_type, &a2));
  assert_ok(roster_get(r, NULL, "db", &alpha_type, &out));
  assert_ptr_equal(out, &a2);

  /* A NULL instance is allowed. */
  assert_ok(roster_register(r, NULL, "nil", &plain_type, NULL));
  out = &out;
  assert_ok(roster_get(r, NULL, "nil", &plain_type, &out));
  assert_null(out);
  assert_true(roster_has(r, NULL, "nil"));

  /* Any byte but NUL is allowed in a name. */
  const char odd[] = "\x01 odd/name:*?[]\\\xff";
  static tu_obj c;
  roster__tu_obj_init(&c, 4);
  assert_ok(roster_register(r, "ns with spaces/\xfe", odd, &alpha_type, &c));
  assert_ok(roster_get(r, "ns with spaces/\xfe", odd, &alpha_type, &out));
  assert_ptr_equal(out, &c);

  roster_free(r);
  assert_int_equal(roster__tu_obj_destroyed(&a), 1);
  assert_int_equal(roster__tu_obj_destroyed(&a2), 1);
  assert_int_equal(roster__tu_obj_destroyed(&b), 1);
  assert_int_equal(roster__tu_obj_destroyed(&c), 1);
}

static void test_acquire_holds_instance(void **state) {
  (void)state;
  static tu_obj a;
  roster__tu_obj_init(&a, 1);
  roster *r = tu_registry(NULL);
  assert_ok(roster_register(r, NULL, "held", &alpha_type, &a));
  void *out = NULL;
  roster_ref *ref = NULL;
  assert_ok(roster_acquire(r, NULL, "held", &alpha_type, &out, &ref));
  assert_ptr_equal(out, &a);
  assert_non_null(ref);
  assert_ok(roster_unregister(r, NULL, "held"));
  roster_reclaim_wait();
  assert_int_equal(roster__tu_obj_destroyed(&a), 0); /* still referenced */
  roster_release(ref);
  roster_reclaim_wait();
  assert_int_equal(roster__tu_obj_destroyed(&a), 1);
  roster_release(NULL); /* no-op */

  /* Errors leave *ref and *out NULL. */
  ref = (roster_ref *)&ref;
  out = &out;
  assert_rc(roster_acquire(r, NULL, "held", &alpha_type, &out, &ref),
            ROSTER_ENOENT);
  assert_null(ref);
  assert_null(out);
  roster_free(r);
  assert_int_equal(roster__tu_obj_destroyed(&a), 1);
}

/* Every call that takes a key must refuse this key with EINVAL and change
 * nothing: "keep" stays registered, cand is never touched. */
static void check_bad_key(roster *r, const char *ns, const char *name,
                          tu_obj *keep, tu_obj *cand) {
  void *out = &out;
  size_t n = 99;
  void *arr[2] = {NULL, NULL};
  roster_ref *ref = (roster_ref *)&ref;
  roster_entry_options eo = {0};

  roster_error_clear();
  assert_rc(roster_register(r, ns, name, &alpha_type, cand), ROSTER_EINVAL);
  assert_int_equal(roster_last_code(), ROSTER_EINVAL);
  assert_true(strlen(roster_last_error()) > 0);
  assert_rc(roster_register_ex(r, ns, name, &alpha_type, cand, &eo),
            ROSTER_EINVAL);
  assert_rc(roster_replace(r, ns, name, &alpha_type, cand), ROSTER_EINVAL);
  assert_rc(roster_get(r, ns, name, &alpha_type, &out), ROSTER_EINVAL);
  assert_null(out);
  assert_rc(roster_acquire(r, ns, name, &alpha_type, &out, &ref),
            ROSTER_EINVAL);
  assert_null(ref);
  assert_rc(roster_lookup(r, ns, name, arr, 2, &n), ROSTER_EINVAL);
  assert_rc(roster_unregister(r, ns, name), ROSTER_EINVAL);
  assert_rc(roster_set_default(r, ns, name), ROSTER_EINVAL);

  /* roster_has answers false and sets no detail. */
  roster_error_clear();
  assert_false(roster_has(r, ns, name));
  assert_int_equal(roster_last_code(), ROSTER_OK);
  assert_string_equal(roster_last_error(), "");

  /* Nothing changed. */
  assert_int_equal(roster_count(r, NULL), 1);
  out = NULL;
  assert_ok(roster_get(r, NULL, "keep", &alpha_type, &out));
  assert_ptr_equal(out, keep);
  roster_reclaim_wait();
  assert_int_equal(roster__tu_obj_destroyed(keep), 0);
  assert_int_equal(roster__tu_obj_destroyed(cand), 0);
}

static void test_name_validation(void **state) {
  (void)state;
  make_names();
  static tu_obj keep, cand;
  roster__tu_obj_init(&keep, 1);
  roster__tu_obj_init(&cand, 2);
  roster *r = tu_registry(NULL);
  assert_ok(roster_register(r, NULL, "keep", &alpha_type, &keep));

  check_bad_key(r, NULL, NULL, &keep, &cand);
  check_bad_key(r, NULL, "", &keep, &cand);
  check_bad_key(r, NULL, name256, &keep, &cand);
  check_bad_key(r, "", "x", &keep, &cand);
  check_bad_key(r, name256, "x", &keep, &cand);
  check_bad_key(r, name256, name256, &keep, &cand);

  /* Bad namespaces elsewhere. */
  size_t removed = 99;
  roster_list list = {0};
  assert_rc(roster_ns_drop(r, "", &removed), ROSTER_EINVAL);
  assert_rc(roster_ns_drop(r, name256, &removed), ROSTER_EINVAL);
  assert_rc(roster_list_entries(r, "", &list), ROSTER_EINVAL);
  assert_rc(roster_list_entries(r, name256, &list), ROSTER_EINVAL);
  assert_int_equal(roster_count(r, ""), 0);
  assert_int_equal(roster_count(r, name256), 0);
  assert_int_equal(roster_count(r, NULL), 1);

  /* 255 bytes is fine, as name and as namespace. */
  static tu_obj x, y;
  roster__tu_obj_init(&x, 3);
  roster__tu_obj_init(&y, 4);
  assert_ok(roster_register(r, NULL, name255, &alpha_type, &x));
  assert_ok(roster_register(r, name255, name255, &alpha_type, &y));
  assert_true(roster_has(r, NULL, name255));
  assert_true(roster_has(r, name255, name255));
  void *out = NULL;
  assert_ok(roster_get(r, NULL, name255, &alpha_type, &out));
  assert_ptr_equal(out, &x);
  assert_ok(roster_get(r, name255, name255, &alpha_type, &out));
  assert_ptr_equal(out, &y);
  assert_int_equal(roster_count(r, name255), 1);
  assert_ok(roster_list_entries(r, name255, &list));
  assert_int_equal(list.count, 1);
  assert_string_equal(list.items[0].ns, name255);
  assert_string_equal(list.items[0].name, name255);
  roster_list_free(&list);
  assert_ok(roster_unregister(r, name255, name255));
  assert_ok(roster_unregister(r, NULL, name255));
  roster_reclaim_wait();
  assert_int_equal(roster__tu_obj_destroyed(&x), 1);
  assert_int_equal(roster__tu_obj_destroyed(&y), 1);

  roster_free(r);
  assert_int_equal(roster__tu_obj_destroyed(&keep), 1);
  assert_int_equal(roster__tu_obj_destroyed(&cand), 0);
}

static void test_null_registry(void **state) {
  (void)state;
  static tu_obj a;
  roster__tu_obj_init(&a, 1);
  void *out = &out;
  size_t n = 99;
  roster_ref *ref = (roster_ref *)&ref;
  roster_list list = {0};
  roster_ns_list nsl = {0};

  roster_error_clear();
  assert_rc(roster_register(NULL, NULL, "x", &alpha_type, &a), ROSTER_EINVAL);
  assert_int_equal(roster_last_code(), ROSTER_EINVAL);
  assert_true(strlen(roster_last_error()) > 0);
  assert_rc(roster_register_ex(NULL, NULL, "x", &alpha_type, &a, NULL),
            ROSTER_EINVAL);
  assert_rc(roster_replace(NULL, NULL, "x", &alpha_type, &a), ROSTER_EINVAL);
  assert_rc(roster_unregister(NULL, NULL, "x"), ROSTER_EINVAL);
  assert_rc(roster_get(NULL, NULL, "x", NULL, &out), ROSTER_EINVAL);
  assert_null(out);
  assert_rc(roster_acquire(NULL, NULL, "x", NULL, &out, &ref), ROSTER_EINVAL);
  assert_null(ref);
  assert_rc(roster_lookup(NULL, NULL, "x", NULL, 0, &n), ROSTER_EINVAL);
  assert_rc(roster_get_by_type(NULL, NULL, &alpha_type, &out), ROSTER_EINVAL);
  assert_rc(roster_set_default(NULL, NULL, "x"), ROSTER_EINVAL);
  assert_rc(roster_clear(NULL, NULL), ROSTER_EINVAL);
  assert_rc(roster_list_entries(NULL, NULL, &list), ROSTER_EINVAL);
  assert_rc(roster_ns_list_get(NULL, &nsl), ROSTER_EINVAL);
  assert_rc(roster_ns_drop(NULL, NULL, NULL), ROSTER_EINVAL);
  assert_false(roster_has(NULL, NULL, "x"));
  roster_reclaim_wait();
  assert_int_equal(roster__tu_obj_destroyed(&a), 0);
}

static void test_bad_type(void **state) {
  (void)state;
  static tu_obj keep, cand;
  roster__tu_obj_init(&keep, 1);
  roster__tu_obj_init(&cand, 2);
  roster *r = tu_registry(NULL);
  assert_ok(roster_register(r, NULL, "keep", &alpha_type, &keep));

  roster_error_clear();
  assert_rc(roster_register(r, NULL, "x", NULL, &cand), ROSTER_EINVAL);
  assert_true(strlen(roster_last_error()) > 0);
  assert_rc(roster_register(r, NULL, "x", &nameless_type, &cand),
            ROSTER_EINVAL);
  assert_rc(roster_register_ex(r, NULL, "x", NULL, &cand, NULL), ROSTER_EINVAL);
  assert_rc(roster_register_ex(r, NULL, "x", &nameless_type, &cand, NULL),
            ROSTER_EINVAL);
  assert_rc(roster_replace(r, NULL, "x", NULL, &cand), ROSTER_EINVAL);
  assert_rc(roster_replace(r, NULL, "x", &nameless_type, &cand), ROSTER_EINVAL);
  /* A replace that fails leaves the old entry in place. */
  assert_rc(roster_replace(r, NULL, "keep", NULL, &cand), ROSTER_EINVAL);
  assert_rc(roster_replace(r, NULL, "keep", &nameless_type, &cand),
            ROSTER_EINVAL);

  assert_false(roster_has(r, NULL, "x"));
  assert_int_equal(roster_count(r, NULL), 1);
  void *out = NULL;
  assert_ok(roster_get(r, NULL, "keep", &alpha_type, &out));
  assert_ptr_equal(out, &keep);
  roster_reclaim_wait();
  assert_int_equal(roster__tu_obj_destroyed(&keep), 0);
  assert_int_equal(roster__tu_obj_destroyed(&cand), 0);
  roster_free(r);
  assert_int_equal(roster__tu_obj_destroyed(&keep), 1);
  assert_int_equal(roster__tu_obj_destroyed(&cand), 0);
}

static void test_eexist_names_existing_type(void **state) {
  (void)state;
  static tu_obj first, second;
  roster__tu_obj_init(&first, 1);
  roster__tu_obj_init(&second, 2);
  roster *r = tu_registry(NULL);
  assert_ok(roster_register(r, "prod", "db", &alpha_type, &first));

  roster_error_clear();
  assert_rc(roster_register(r, "prod", "db", &beta_type, &second),
            ROSTER_EEXIST);
  assert_int_equal(roster_last_code(), ROSTER_EEXIST);
  assert_non_null(strstr(roster_last_error(), "alpha_pool"));
  roster_entry_options eo = {0};
  assert_rc(roster_register_ex(r, "prod", "db", &beta_type, &second, &eo),
            ROSTER_EEXIST);
  assert_non_null(strstr(roster_last_error(), "alpha_pool"));
  assert_rc(roster_register(r, "prod", "db", &alpha_type, &second),
            ROSTER_EEXIST);

  /* Nothing changed: the first instance is still there and untouched. */
  assert_int_equal(roster_count(r, "prod"), 1);
  void *out = NULL;
  assert_ok(roster_get(r, "prod", "db", &alpha_type, &out));
  assert_ptr_equal(out, &first);
  roster_reclaim_wait();
  assert_int_equal(roster__tu_obj_destroyed(&first), 0);
  assert_int_equal(roster__tu_obj_destroyed(&second), 0);
  roster_free(r);
  assert_int_equal(roster__tu_obj_destroyed(&first), 1);
  assert_int_equal(roster__tu_obj_destroyed(&second), 0);
}

static void test_enoent_detail(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  assert_ok(roster_register(r, "production", "main", &plain_type, NULL));
  assert_ok(roster_register(r, "production", "cache", &plain_type, NULL));
  assert_ok(roster_register(r, "staging", "zzz-elsewhere", &plain_type, NULL));

  void *out = &out;
  roster_error_clear();
  assert_rc(roster_get(r, "production", "mian", NULL, &out), ROSTER_ENOENT);
  assert_null(out);
  assert_int_equal(roster_last_code(), ROSTER_ENOENT);
  const char *d = roster_last_error();
  assert_non_null(strstr(d, "mian"));
  assert_non_null(strstr(d, "production"));
  const char *dym = strstr(d, "did you mean");
  assert_non_null(dym);
  assert_non_null(strstr(dym, "main")); /* the suggestion follows */
  assert_non_null(strstr(d, "cache"));

  /* The listing is of the asked namespace only. */
  assert_rc(roster_get(r, "production", "nothing-like-it", NULL, &out),
            ROSTER_ENOENT);
  d = roster_last_error();
  assert_non_null(strstr(d, "nothing-like-it"));
  assert_non_null(strstr(d, "main"));
  assert_non_null(strstr(d, "cache"));
  assert_null(strstr(d, "zzz-elsewhere"));

  /* Unregister's ENOENT has a detail too. */
  roster_error_clear();
  assert_rc(roster_unregister(r, "production", "mian"), ROSTER_ENOENT);
  assert_int_equal(roster_last_code(), ROSTER_ENOENT);
  assert_non_null(strstr(roster_last_error(), "mian"));
  roster_free(r);
}

static void test_unregister_destroys_once(void **state) {
  (void)state;
  static tu_obj o[3];
  for (int i = 0; i < 3; i++)
    roster__tu_obj_init(&o[i], i);
  roster__tu_reset_destroyed();
  roster *r = tu_registry(NULL);
  assert_ok(roster_register(r, NULL, "a", &alpha_type, &o[0]));
  assert_ok(roster_register(r, NULL, "b", &alpha_type, &o[1]));
  assert_ok(roster_register(r, NULL, "c", &alpha_type, &o[2]));
  assert_ok(
      roster_register(r, NULL, "counted", &roster__tu_counter_type, NULL));

  assert_ok(roster_unregister(r, NULL, "a"));
  assert_ok(roster_unregister(r, NULL, "counted"));
  roster_reclaim_wait();
  assert_int_equal(roster__tu_obj_destroyed(&o[0]), 1);
  assert_int_equal(roster__tu_obj_destroyed(&o[1]), 0);
  assert_int_equal(roster__tu_obj_destroyed(&o[2]), 0);
  assert_int_equal(roster__tu_destroyed(), 1);

  /* Nothing is destroyed twice. */
  assert_rc(roster_unregister(r, NULL, "a"), ROSTER_ENOENT);
  roster_reclaim_wait();
  roster_reclaim_wait();
  assert_int_equal(roster__tu_obj_destroyed(&o[0]), 1);
  assert_int_equal(roster__tu_destroyed(), 1);

  /* roster_free destroys the rest, once each. */
  roster_free(r);
  assert_int_equal(roster__tu_obj_destroyed(&o[0]), 1);
  assert_int_equal(roster__tu_obj_destroyed(&o[1]), 1);
  assert_int_equal(roster__tu_obj_destroyed(&o[2]), 1);
  roster_reclaim_wait();
  assert_int_equal(roster__tu_destroyed(), 1);
}

static void test_free_destroys_remaining(void **state) {
  (void)state;
  static tu_obj o[5];
  for (int i = 0; i < 5; i++)
    roster__tu_obj_init(&o[i], i);
  roster *r = tu_registry(NULL);
  static tu_reglog log;
  roster__tu_reglog_init(&log);
  assert_ok(roster_listen(r, ROSTER_EV_ALL, roster__tu_reglog_listener, &log,
                          NULL, NULL));
  assert_ok(roster_register(r, NULL, "a", &alpha_type, &o[0]));
  assert_ok(roster_register(r, NULL, "b", &beta_type, &o[1]));
  assert_ok(roster_register(r, "ns1", "a", &alpha_type, &o[2]));
  assert_ok(roster_register(r, "ns2", "z", &alpha_type, &o[3]));
  assert_ok(roster_register(r, "ns2", "y", &alpha_type, &o[4]));
  size_t before = roster__tu_reglog_count(&log);
  assert_int_equal(before, 5);
  roster_free(r); /* waits for every destroy; listeners are not told */
  for (int i = 0; i < 5; i++)
    assert_int_equal(roster__tu_obj_destroyed(&o[i]), 1);
  assert_int_equal(roster__tu_reglog_count(&log), before);
  roster_reclaim_wait();
  for (int i = 0; i < 5; i++)
    assert_int_equal(roster__tu_obj_destroyed(&o[i]), 1);
}

static void test_replace(void **state) {
  (void)state;
  static tu_obj a, b, c;
  roster__tu_obj_init(&a, 1);
  roster__tu_obj_init(&b, 2);
  roster__tu_obj_init(&c, 3);
  roster *r = tu_registry(NULL);
  static tu_reglog log;
  roster__tu_reglog_init(&log);
  uint64_t id = 0;
  assert_ok(roster_listen(r, ROSTER_EV_ALL, roster__tu_reglog_listener, &log,
                          NULL, &id));

  /* The key need not exist. */
  assert_ok(roster_replace(r, NULL, "svc", &alpha_type, &a));
  void *out = NULL;
  assert_ok(roster_get(r, NULL, "svc", &alpha_type, &out));
  assert_ptr_equal(out, &a);
  assert_int_equal(roster__tu_reglog_count(&log), 1);
  assert_int_equal(log.ev[0].kind, ROSTER_EV_REGISTER);
  assert_true(pthread_equal(log.ev[0].thread, pthread_self()));

  /* Replacing swaps in the new instance (of another type, even). */
  assert_ok(roster_replace(r, NULL, "svc", &beta_type, &b));
  assert_ok(roster_get(r, NULL, "svc", &beta_type, &out));
  assert_ptr_equal(out, &b);
  assert_rc(roster_get(r, NULL, "svc", &alpha_type, &out), ROSTER_ETYPE);
  assert_int_equal(roster_count(r, NULL), 1);
  assert_int_equal(roster__tu_reglog_count(&log), 3);
  assert_int_equal(log.ev[1].kind, ROSTER_EV_REGISTER);
  assert_ptr_equal(log.ev[1].instance, &b);
  assert_ptr_equal(log.ev[1].type, &beta_type);
  assert_string_equal(log.ev[1].name, "svc");
  assert_string_equal(log.ev[1].ns, "default");
  assert_int_equal(log.ev[2].kind, ROSTER_EV_UNREGISTER);
  assert_int_equal(log.ev[2].reason, ROSTER_REASON_REPLACED);
  assert_ptr_equal(log.ev[2].instance, &a);
  assert_ptr_equal(log.ev[2].type, &alpha_type);

  roster_reclaim_wait();
  assert_int_equal(roster__tu_obj_destroyed(&a), 1);
  assert_int_equal(roster__tu_obj_destroyed(&b), 0);

  /* A failed replace keeps the current entry. */
  assert_rc(roster_replace(r, NULL, "svc", NULL, &c), ROSTER_EINVAL);
  assert_ok(roster_get(r, NULL, "svc", NULL, &out));
  assert_ptr_equal(out, &b);
  assert_int_equal(roster__tu_reglog_count(&log), 3);

  /* Plain unregister is reason CALL. */
  assert_ok(roster_unregister(r, NULL, "svc"));
  assert_int_equal(roster__tu_reglog_count(&log), 4);
  assert_int_equal(log.ev[3].kind, ROSTER_EV_UNREGISTER);
  assert_int_equal(log.ev[3].reason, ROSTER_REASON_CALL);
  assert_ptr_equal(log.ev[3].instance, &b);
  roster_reclaim_wait();
  assert_int_equal(roster__tu_obj_destroyed(&b), 1);

  assert_ok(roster_unlisten(r, id));
  roster_free(r);
  assert_int_equal(roster__tu_obj_destroyed(&a), 1);
  assert_int_equal(roster__tu_obj_destroyed(&b), 1);
  assert_int_equal(roster__tu_obj_destroyed(&c), 0);
}

static void test_list_entries(void **state) {
  (void)state;
  static tu_obj o[4];
  for (int i = 0; i < 4; i++)
    roster__tu_obj_init(&o[i], i);
  roster *r = tu_registry(NULL);
  assert_ok(roster_register(r, NULL, "b", &alpha_type, &o[0]));
  assert_ok(roster_register(r, NULL, "a", &beta_type, &o[1]));
  assert_ok(roster_register(r, NULL, "c", &alpha_type, &o[2]));
  assert_ok(roster_register(r, "other", "a", &alpha_type, &o[3]));

  roster_list list = {0};
  assert_ok(roster_list_entries(r, NULL, &list));
  assert_int_equal(list.count, 3);
  assert_non_null(list.items);
  const char *want[] = {"a", "b", "c"};
  void *inst[] = {&o[1], &o[0], &o[2]};
  const roster_type *types[] = {&beta_type, &alpha_type, &alpha_type};
  for (size_t i = 0; i < 3; i++) {
    assert_string_equal(list.items[i].ns, "default");
    assert_string_equal(list.items[i].name, want[i]);
    assert_ptr_equal(list.items[i].instance, inst[i]);
    assert_ptr_equal(list.items[i].type, types[i]);
    assert_null(list.items[i].owner);
    assert_null(list.items[i].meta);
    assert_int_equal(list.items[i].meta_len, 0);
  }

  /* The snapshot owns its strings: it outlives an unregister. */
  assert_ok(roster_unregister(r, NULL, "a"));
  roster_reclaim_wait();
  assert_string_equal(list.items[0].name, "a");
  assert_string_equal(list.items[0].ns, "default");
  roster_list_free(&list);

  roster_list l2 = {0};
  assert_ok(roster_list_entries(r, "default", &l2));
  assert_int_equal(l2.count, 2);
  assert_string_equal(l2.items[0].name, "b");
  assert_string_equal(l2.items[1].name, "c");
  roster_list_free(&l2);

  roster_list l3 = {0};
  assert_ok(roster_list_entries(r, "other", &l3));
  assert_int_equal(l3.count, 1);
  assert_string_equal(l3.items[0].ns, "other");
  assert_ptr_equal(l3.items[0].instance, &o[3]);
  roster_list_free(&l3);

  roster_list l4 = {0};
  assert_ok(roster_list_entries(r, "no-such-ns", &l4));
  assert_int_equal(l4.count, 0);
  roster_list_free(&l4);

  roster_list_free(NULL); /* no-op */
  roster_free(r);
}

static void test_clear(void **state) {
  (void)state;
  static tu_obj o[5];
  for (int i = 0; i < 5; i++)
    roster__tu_obj_init(&o[i], i);
  roster *r = tu_registry(NULL);
  assert_ok(roster_register(r, NULL, "a", &alpha_type, &o[0]));
  assert_ok(roster_register(r, NULL, "b", &alpha_type, &o[1]));
  assert_ok(roster_register(r, NULL, "c", &beta_type, &o[2]));
  assert_ok(roster_register(r, "other", "a", &alpha_type, &o[3]));
  assert_ok(roster_register(r, "other", "d", &alpha_type, &o[4]));

  static tu_reglog log;
  roster__tu_reglog_init(&log);
  assert_ok(roster_listen(r, ROSTER_EV_ALL, roster__tu_reglog_listener, &log,
                          NULL, NULL));
  size_t removed = 0;
  assert_ok(roster_clear(r, &removed));
  assert_int_equal(removed, 5);
  assert_int_equal(roster_count(r, NULL), 0);
  assert_int_equal(roster_count(r, "other"), 0);
  assert_false(roster_has(r, NULL, "a"));
  assert_false(roster_has(r, "other", "d"));
  assert_int_equal(roster__tu_reglog_count(&log), 5);
  for (size_t i = 0; i < 5; i++) {
    assert_int_equal(log.ev[i].kind, ROSTER_EV_UNREGISTER);
    assert_int_equal(log.ev[i].reason, ROSTER_REASON_CLEAR);
  }
  roster_reclaim_wait();
  for (int i = 0; i < 5; i++)
    assert_int_equal(roster__tu_obj_destroyed(&o[i]), 1);

  removed = 99;
  assert_ok(roster_clear(r, &removed));
  assert_int_equal(removed, 0);
  assert_ok(roster_clear(r, NULL));

  /* Still usable afterwards. */
  static tu_obj again;
  roster__tu_obj_init(&again, 9);
  assert_ok(roster_register(r, NULL, "a", &alpha_type, &again));
  assert_int_equal(roster_count(r, NULL), 1);
  roster_free(r);
  for (int i = 0; i < 5; i++)
    assert_int_equal(roster__tu_obj_destroyed(&o[i]), 1);
  assert_int_equal(roster__tu_obj_destroyed(&again), 1);
}

/* ---- roster_global from several threads ---- */

#define GTHREADS 6

typedef struct gthr {
  int idx;
  pthread_barrier_t *start;
  roster *seen;
  roster *seen_again;
  int reg_rc;
  int get_rc;
  void *got;
  tu_obj *obj;
} gthr;

static void *global_thread(void *arg) {
  gthr *g = arg;
  pthread_barrier_wait(g->start);
  g->seen = roster_global();
  char name[32];
  snprintf(name, sizeof name, "thread-%d", g->idx);
  g->reg_rc = roster_register(g->seen, "test_registry.global", name,
                              &alpha_type, g->obj);
  g->get_rc =
      roster_get(g->seen, "test_registry.global", name, &alpha_type, &g->got);
  g->seen_again = roster_global();
  return NULL;
}

static void test_global(void **state) {
  (void)state;
  static tu_obj objs[GTHREADS];
  pthread_barrier_t start;
  assert_int_equal(pthread_barrier_init(&start, NULL, GTHREADS), 0);
  pthread_t th[GTHREADS];
  gthr g[GTHREADS];
  for (int i = 0; i < GTHREADS; i++) {
    roster__tu_obj_init(&objs[i], i);
    g[i] = (gthr){.idx = i, .start = &start, .obj = &objs[i]};
    assert_int_equal(pthread_create(&th[i], NULL, global_thread, &g[i]), 0);
  }
  for (int i = 0; i < GTHREADS; i++)
    assert_int_equal(pthread_join(th[i], NULL), 0);
  pthread_barrier_destroy(&start);

  roster *mine = roster_global();
  assert_non_null(mine);
  assert_ptr_equal(roster_global(), mine);
  assert_int_equal(roster_keys_mode(mine), ROSTER_KEYS_UNIQUE);
  for (int i = 0; i < GTHREADS; i++) {
    assert_ptr_equal(g[i].seen, mine);
    assert_ptr_equal(g[i].seen_again, mine);
    assert_int_equal(g[i].reg_rc, ROSTER_OK);
    assert_int_equal(g[i].get_rc, ROSTER_OK);
    assert_ptr_equal(g[i].got, &objs[i]);
  }
  /* Entries made by the threads are visible here. */
  assert_int_equal(roster_count(mine, "test_registry.global"), GTHREADS);
  for (int i = 0; i < GTHREADS; i++) {
    char name[32];
    snprintf(name, sizeof name, "thread-%d", i);
    void *out = NULL;
    assert_ok(
        roster_get(mine, "test_registry.global", name, &alpha_type, &out));
    assert_ptr_equal(out, &objs[i]);
    assert_ok(roster_unregister(mine, "test_registry.global", name));
  }
  roster_reclaim_wait();
  for (int i = 0; i < GTHREADS; i++)
    assert_int_equal(roster__tu_obj_destroyed(&objs[i]), 1);
  assert_int_equal(roster_count(mine, "test_registry.global"), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_new_defaults_and_options),
      cmocka_unit_test(test_new_bad_keys),
      cmocka_unit_test(test_register_get_has_unregister),
      cmocka_unit_test(test_acquire_holds_instance),
      cmocka_unit_test(test_name_validation),
      cmocka_unit_test(test_null_registry),
      cmocka_unit_test(test_bad_type),
      cmocka_unit_test(test_eexist_names_existing_type),
      cmocka_unit_test(test_enoent_detail),
      cmocka_unit_test(test_unregister_destroys_once),
      cmocka_unit_test(test_free_destroys_remaining),
      cmocka_unit_test(test_replace),
      cmocka_unit_test(test_list_entries),
      cmocka_unit_test(test_clear),
      cmocka_unit_test(test_global),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
