/*
 * test_namespaces.c: namespaces in roster/registry.h. An entry lives in one
 * namespace (NULL means "default"); the same name in two namespaces is two
 * independent entries; roster_count counts one namespace; roster_ns_list_get
 * lists only non-empty namespaces, sorted, with their entry counts; and
 * roster_ns_drop removes (and destroys) one namespace's entries, leaves the
 * others alone, tells unregister listeners with ROSTER_REASON_NS_DROP, and
 * accepts an unknown namespace with removed = 0.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const roster_type obj_type = {.name = "ns_obj",
                                     .destroy = roster__tu_obj_destroy};

/* ---------------------------------------------------------------- */

static void test_null_is_default(void **state) {
  (void)state;
  static tu_obj a, b;
  roster__tu_obj_init(&a, 1);
  roster__tu_obj_init(&b, 2);
  roster *r = tu_registry(NULL);
  assert_ok(roster_register(r, NULL, "svc", &obj_type, &a));
  assert_ok(roster_register(r, ROSTER_DEFAULT_NS, "other", &obj_type, &b));

  void *out = NULL;
  assert_ok(roster_get(r, "default", "svc", &obj_type, &out));
  assert_ptr_equal(out, &a);
  assert_ok(roster_get(r, NULL, "other", &obj_type, &out));
  assert_ptr_equal(out, &b);
  assert_true(roster_has(r, "default", "svc"));
  assert_int_equal(roster_count(r, NULL), 2);
  assert_int_equal(roster_count(r, "default"), 2);

  /* Registering the same name through the other spelling collides. */
  assert_rc(roster_register(r, "default", "svc", &obj_type, &b), ROSTER_EEXIST);

  roster_list list = {0};
  assert_ok(roster_list_entries(r, NULL, &list));
  assert_int_equal(list.count, 2);
  assert_string_equal(list.items[0].ns, "default");
  assert_string_equal(list.items[1].ns, "default");
  roster_list_free(&list);

  assert_ok(roster_unregister(r, "default", "svc"));
  assert_false(roster_has(r, NULL, "svc"));
  roster_free(r);
  assert_int_equal(roster__tu_obj_destroyed(&a), 1);
  assert_int_equal(roster__tu_obj_destroyed(&b), 1);
}

static void test_same_name_two_namespaces(void **state) {
  (void)state;
  static tu_obj prod, test;
  roster__tu_obj_init(&prod, 1);
  roster__tu_obj_init(&test, 2);
  roster *r = tu_registry(NULL);
  assert_ok(roster_register(r, "production", "db", &obj_type, &prod));
  assert_ok(roster_register(r, "test", "db", &obj_type, &test));
  assert_false(roster_has(r, NULL, "db"));

  void *out = NULL;
  assert_ok(roster_get(r, "production", "db", &obj_type, &out));
  assert_ptr_equal(out, &prod);
  assert_ok(roster_get(r, "test", "db", &obj_type, &out));
  assert_ptr_equal(out, &test);
  assert_rc(roster_get(r, NULL, "db", &obj_type, &out), ROSTER_ENOENT);

  size_t n = 0;
  void *arr[2] = {NULL, NULL};
  assert_ok(roster_lookup(r, "test", "db", arr, 2, &n));
  assert_int_equal(n, 1);
  assert_ptr_equal(arr[0], &test);

  /* Removing one leaves the other. */
  assert_ok(roster_unregister(r, "test", "db"));
  assert_false(roster_has(r, "test", "db"));
  assert_true(roster_has(r, "production", "db"));
  roster_reclaim_wait();
  assert_int_equal(roster__tu_obj_destroyed(&test), 1);
  assert_int_equal(roster__tu_obj_destroyed(&prod), 0);
  assert_ok(roster_get(r, "production", "db", &obj_type, &out));
  assert_ptr_equal(out, &prod);
  roster_free(r);
  assert_int_equal(roster__tu_obj_destroyed(&prod), 1);
}

static void test_count(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  assert_int_equal(roster_count(r, NULL), 0);
  assert_int_equal(roster_count(r, "a"), 0);
  char name[32];
  for (int i = 0; i < 7; i++) {
    snprintf(name, sizeof name, "e%d", i);
    assert_ok(roster_register(r, "a", name, &roster__tu_counter_type, NULL));
  }
  for (int i = 0; i < 3; i++) {
    snprintf(name, sizeof name, "e%d", i);
    assert_ok(roster_register(r, "b", name, &roster__tu_counter_type, NULL));
  }
  assert_int_equal(roster_count(r, "a"), 7);
  assert_int_equal(roster_count(r, "b"), 3);
  assert_int_equal(roster_count(r, NULL), 0);
  assert_int_equal(roster_count(r, "unknown"), 0);
  assert_int_equal(roster_count(r, ""), 0);
  assert_ok(roster_unregister(r, "a", "e0"));
  assert_int_equal(roster_count(r, "a"), 6);
  assert_int_equal(roster_count(r, "b"), 3);
  roster_free(r);
}

static void test_ns_list(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);

  roster_ns_list nl = {0};
  assert_ok(roster_ns_list_get(r, &nl));
  assert_int_equal(nl.count, 0);
  roster_ns_list_free(&nl);

  assert_ok(roster_register(r, "zeta", "x", &roster__tu_counter_type, NULL));
  assert_ok(roster_register(r, "alpha", "x", &roster__tu_counter_type, NULL));
  assert_ok(roster_register(r, "alpha", "y", &roster__tu_counter_type, NULL));
  assert_ok(roster_register(r, "mid", "x", &roster__tu_counter_type, NULL));
  assert_ok(roster_register(r, NULL, "x", &roster__tu_counter_type, NULL));
  assert_ok(roster_register(r, NULL, "y", &roster__tu_counter_type, NULL));
  assert_ok(roster_register(r, NULL, "z", &roster__tu_counter_type, NULL));
  /* "mid" becomes empty again and must not be listed. */
  assert_ok(roster_unregister(r, "mid", "x"));

  nl = (roster_ns_list){0};
  assert_ok(roster_ns_list_get(r, &nl));
  assert_int_equal(nl.count, 3);
  assert_non_null(nl.items);
  assert_string_equal(nl.items[0].name, "alpha");
  assert_int_equal(nl.items[0].entries, 2);
  assert_string_equal(nl.items[1].name, "default");
  assert_int_equal(nl.items[1].entries, 3);
  assert_string_equal(nl.items[2].name, "zeta");
  assert_int_equal(nl.items[2].entries, 1);

  /* The list is a snapshot that owns its names. */
  assert_ok(roster_ns_drop(r, "alpha", NULL));
  assert_string_equal(nl.items[0].name, "alpha");
  assert_int_equal(nl.items[0].entries, 2);
  roster_ns_list_free(&nl);

  nl = (roster_ns_list){0};
  assert_ok(roster_ns_list_get(r, &nl));
  assert_int_equal(nl.count, 2);
  assert_string_equal(nl.items[0].name, "default");
  assert_string_equal(nl.items[1].name, "zeta");
  roster_ns_list_free(&nl);

  roster_ns_list_free(NULL); /* no-op */
  assert_rc(roster_ns_list_get(NULL, &nl), ROSTER_EINVAL);
  roster_free(r);
}

static void test_ns_drop(void **state) {
  (void)state;
  static tu_obj p[3], t[2], d[1];
  for (int i = 0; i < 3; i++)
    roster__tu_obj_init(&p[i], i);
  for (int i = 0; i < 2; i++)
    roster__tu_obj_init(&t[i], 10 + i);
  roster__tu_obj_init(&d[0], 20);
  roster *r = tu_registry(NULL);
  assert_ok(roster_register(r, "prod", "a", &obj_type, &p[0]));
  assert_ok(roster_register(r, "prod", "b", &obj_type, &p[1]));
  assert_ok(roster_register(r, "prod", "c", &obj_type, &p[2]));
  assert_ok(roster_register(r, "test", "a", &obj_type, &t[0]));
  assert_ok(roster_register(r, "test", "b", &obj_type, &t[1]));
  assert_ok(roster_register(r, NULL, "a", &obj_type, &d[0]));

  static tu_reglog log;
  roster__tu_reglog_init(&log);
  uint64_t id = 0;
  assert_ok(roster_listen(r, ROSTER_EV_UNREGISTER, roster__tu_reglog_listener,
                          &log, NULL, &id));

  size_t removed = 0;
  assert_ok(roster_ns_drop(r, "prod", &removed));
  assert_int_equal(removed, 3);
  assert_int_equal(roster_count(r, "prod"), 0);
  assert_false(roster_has(r, "prod", "a"));
  assert_false(roster_has(r, "prod", "b"));
  assert_false(roster_has(r, "prod", "c"));

  /* Listeners saw three unregisters from "prod", reason NS_DROP. */
  assert_int_equal(roster__tu_reglog_count(&log), 3);
  int seen[3] = {0, 0, 0};
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(log.ev[i].kind, ROSTER_EV_UNREGISTER);
    assert_int_equal(log.ev[i].reason, ROSTER_REASON_NS_DROP);
    assert_string_equal(log.ev[i].ns, "prod");
    int found = 0;
    for (int k = 0; k < 3; k++) {
      if (log.ev[i].instance == &p[k]) {
        seen[k]++;
        found = 1;
        const char want[2] = {(char)('a' + k), '\0'};
        assert_string_equal(log.ev[i].name, want);
      }
    }
    assert_true(found);
  }
  for (int k = 0; k < 3; k++)
    assert_int_equal(seen[k], 1);

  /* The others are untouched. */
  assert_int_equal(roster_count(r, "test"), 2);
  assert_int_equal(roster_count(r, NULL), 1);
  void *out = NULL;
  assert_ok(roster_get(r, "test", "a", &obj_type, &out));
  assert_ptr_equal(out, &t[0]);
  assert_ok(roster_get(r, NULL, "a", &obj_type, &out));
  assert_ptr_equal(out, &d[0]);

  roster_reclaim_wait();
  for (int k = 0; k < 3; k++)
    assert_int_equal(roster__tu_obj_destroyed(&p[k]), 1);
  for (int k = 0; k < 2; k++)
    assert_int_equal(roster__tu_obj_destroyed(&t[k]), 0);
  assert_int_equal(roster__tu_obj_destroyed(&d[0]), 0);

  /* An unknown or already-empty namespace: OK, removed 0, no events. */
  removed = 99;
  assert_ok(roster_ns_drop(r, "never-existed", &removed));
  assert_int_equal(removed, 0);
  removed = 99;
  assert_ok(roster_ns_drop(r, "prod", &removed));
  assert_int_equal(removed, 0);
  assert_ok(roster_ns_drop(r, "never-existed", NULL));
  assert_int_equal(roster__tu_reglog_count(&log), 3);

  /* The listener mask excludes registers. */
  static tu_obj again;
  roster__tu_obj_init(&again, 30);
  assert_ok(roster_register(r, "prod", "a", &obj_type, &again));
  assert_int_equal(roster__tu_reglog_count(&log), 3);
  assert_int_equal(roster_count(r, "prod"), 1);

  /* Dropping the default namespace by NULL; removed may be NULL. */
  assert_ok(roster_ns_drop(r, NULL, NULL));
  assert_int_equal(roster_count(r, NULL), 0);
  assert_int_equal(roster__tu_reglog_count(&log), 4);
  assert_int_equal(log.ev[3].reason, ROSTER_REASON_NS_DROP);
  assert_string_equal(log.ev[3].ns, "default");
  assert_ptr_equal(log.ev[3].instance, &d[0]);
  roster_reclaim_wait();
  assert_int_equal(roster__tu_obj_destroyed(&d[0]), 1);

  /* Bad namespace names are refused. */
  assert_rc(roster_ns_drop(r, "", &removed), ROSTER_EINVAL);

  assert_ok(roster_unlisten(r, id));
  roster_free(r);
  for (int k = 0; k < 3; k++)
    assert_int_equal(roster__tu_obj_destroyed(&p[k]), 1);
  for (int k = 0; k < 2; k++)
    assert_int_equal(roster__tu_obj_destroyed(&t[k]), 1);
  assert_int_equal(roster__tu_obj_destroyed(&again), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_null_is_default),
      cmocka_unit_test(test_same_name_two_namespaces),
      cmocka_unit_test(test_count),
      cmocka_unit_test(test_ns_list),
      cmocka_unit_test(test_ns_drop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
