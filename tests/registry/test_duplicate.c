/*
 * test_duplicate.c: duplicate keys (ROSTER_KEYS_DUPLICATE) against unique
 * keys. In a duplicate registry one key holds many entries: roster_lookup
 * fills up to cap and reports the full count, roster_get answers only when
 * the key holds exactly one entry (else ROSTER_EAMBIGUOUS), roster_dispatch
 * calls its function once per entry, roster_unregister removes every entry
 * of the key and roster_unregister_owned only one owner's, and
 * roster_replace leaves only the new entry. In a unique registry a second
 * register is ROSTER_EEXIST and leaves the first instance untouched.
 */
#include "testutil.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const roster_type member_type = {.name = "room_member",
                                        .destroy = roster__tu_obj_destroy};

static roster *new_dup(void) {
  roster_options o = {.keys = ROSTER_KEYS_DUPLICATE};
  roster *r = tu_registry(&o);
  return r;
}

/* How many times p occurs in arr[0..n). */
static int occurrences(void *const *arr, size_t n, const void *p) {
  int c = 0;
  for (size_t i = 0; i < n; i++)
    if (arr[i] == p)
      c++;
  return c;
}

/* ---------------------------------------------------------------- */

static void test_keys_mode(void **state) {
  (void)state;
  roster *d = new_dup();
  assert_non_null(d);
  assert_int_equal(roster_keys_mode(d), ROSTER_KEYS_DUPLICATE);
  roster *u = tu_registry(NULL);
  assert_int_equal(roster_keys_mode(u), ROSTER_KEYS_UNIQUE);
  roster_free(d);
  roster_free(u);
}

static void test_many_entries_per_key(void **state) {
  (void)state;
  static tu_obj m[3], solo;
  for (int i = 0; i < 3; i++)
    roster__tu_obj_init(&m[i], i);
  roster__tu_obj_init(&solo, 9);
  roster *r = new_dup();
  assert_non_null(r);
  for (int i = 0; i < 3; i++)
    assert_ok(roster_register(r, NULL, "room", &member_type, &m[i]));
  assert_ok(roster_register(r, NULL, "solo", &member_type, &solo));
  assert_true(roster_has(r, NULL, "room"));
  assert_int_equal(roster_count(r, NULL), 4);

  /* lookup: fills up to cap, reports the full count. */
  void *arr[8];
  size_t n = 0;
  memset(arr, 0, sizeof arr);
  assert_ok(roster_lookup(r, NULL, "room", arr, 8, &n));
  assert_int_equal(n, 3);
  for (int i = 0; i < 3; i++)
    assert_int_equal(occurrences(arr, 3, &m[i]), 1);
  assert_null(arr[3]);

  memset(arr, 0, sizeof arr);
  n = 0;
  assert_ok(roster_lookup(r, NULL, "room", arr, 2, &n));
  assert_int_equal(n, 3);
  assert_non_null(arr[0]);
  assert_non_null(arr[1]);
  assert_ptr_not_equal(arr[0], arr[1]);
  for (int k = 0; k < 2; k++)
    assert_true(arr[k] == &m[0] || arr[k] == &m[1] || arr[k] == &m[2]);
  assert_null(arr[2]); /* nothing written past cap */

  n = 0;
  assert_ok(roster_lookup(r, NULL, "room", NULL, 0, &n));
  assert_int_equal(n, 3);

  n = 99;
  assert_ok(roster_lookup(r, NULL, "nobody", arr, 8, &n));
  assert_int_equal(n, 0);

  n = 0;
  assert_ok(roster_lookup(r, NULL, "solo", arr, 8, &n));
  assert_int_equal(n, 1);
  assert_ptr_equal(arr[0], &solo);

  /* get: ambiguous with 2+, fine with 1. */
  void *out = &out;
  roster_error_clear();
  assert_rc(roster_get(r, NULL, "room", &member_type, &out), ROSTER_EAMBIGUOUS);
  assert_null(out);
  assert_int_equal(roster_last_code(), ROSTER_EAMBIGUOUS);
  roster_ref *ref = (roster_ref *)&ref;
  assert_rc(roster_acquire(r, NULL, "room", &member_type, &out, &ref),
            ROSTER_EAMBIGUOUS);
  assert_null(ref);
  assert_ok(roster_get(r, NULL, "solo", &member_type, &out));
  assert_ptr_equal(out, &solo);

  /* Two entries exactly: still ambiguous. */
  static tu_obj two[2];
  roster__tu_obj_init(&two[0], 20);
  roster__tu_obj_init(&two[1], 21);
  assert_ok(roster_register(r, "ns2", "pair", &member_type, &two[0]));
  assert_ok(roster_get(r, "ns2", "pair", &member_type, &out));
  assert_ptr_equal(out, &two[0]);
  assert_ok(roster_register(r, "ns2", "pair", &member_type, &two[1]));
  assert_rc(roster_get(r, "ns2", "pair", &member_type, &out),
            ROSTER_EAMBIGUOUS);

  /* The listing shows every entry. */
  roster_list list = {0};
  assert_ok(roster_list_entries(r, NULL, &list));
  assert_int_equal(list.count, 4);
  int rooms = 0;
  for (size_t i = 0; i < list.count; i++)
    if (strcmp(list.items[i].name, "room") == 0)
      rooms++;
  assert_int_equal(rooms, 3);
  roster_list_free(&list);

  /* unregister removes every entry of the key. */
  assert_ok(roster_unregister(r, NULL, "room"));
  assert_false(roster_has(r, NULL, "room"));
  assert_ok(roster_lookup(r, NULL, "room", arr, 8, &n));
  assert_int_equal(n, 0);
  assert_rc(roster_unregister(r, NULL, "room"), ROSTER_ENOENT);
  assert_int_equal(roster_count(r, NULL), 1);
  roster_reclaim_wait();
  for (int i = 0; i < 3; i++)
    assert_int_equal(roster__tu_obj_destroyed(&m[i]), 1);
  assert_int_equal(roster__tu_obj_destroyed(&solo), 0);

  roster_free(r);
  assert_int_equal(roster__tu_obj_destroyed(&solo), 1);
  assert_int_equal(roster__tu_obj_destroyed(&two[0]), 1);
  assert_int_equal(roster__tu_obj_destroyed(&two[1]), 1);
  for (int i = 0; i < 3; i++)
    assert_int_equal(roster__tu_obj_destroyed(&m[i]), 1);
}

/* ---- dispatch ---- */

typedef struct seen {
  size_t n;
  void *inst[16];
  int bad_name;
  int bad_type;
} seen;

static int record_visit(const roster_info *info, void *arg) {
  seen *s = arg;
  if (s->n < 16)
    s->inst[s->n] = info->instance;
  s->n++;
  if (info->name == NULL || strcmp(info->name, "topic") != 0)
    s->bad_name++;
  if (info->type != &member_type)
    s->bad_type++;
  return 1; /* ignored by dispatch: every entry is still visited */
}

static void test_dispatch(void **state) {
  (void)state;
  static tu_obj sub[4], other, other2;
  for (int i = 0; i < 4; i++)
    roster__tu_obj_init(&sub[i], i);
  roster__tu_obj_init(&other, 9);
  roster__tu_obj_init(&other2, 11);
  roster *r = new_dup();
  assert_non_null(r);
  for (int i = 0; i < 4; i++)
    assert_ok(roster_register(r, "chat", "topic", &member_type, &sub[i]));
  assert_ok(roster_register(r, "chat", "other-topic", &member_type, &other));
  assert_ok(roster_register(r, NULL, "topic", &member_type, &other2));

  seen s;
  memset(&s, 0, sizeof s);
  size_t called = 0;
  assert_ok(roster_dispatch(r, "chat", "topic", record_visit, &s, &called));
  assert_int_equal(called, 4);
  assert_int_equal(s.n, 4);
  for (int i = 0; i < 4; i++)
    assert_int_equal(occurrences(s.inst, 4, &sub[i]), 1);
  assert_int_equal(occurrences(s.inst, 4, &other), 0);
  assert_int_equal(occurrences(s.inst, 4, &other2), 0);
  assert_int_equal(s.bad_name, 0);
  assert_int_equal(s.bad_type, 0);

  /* called may be NULL. */
  memset(&s, 0, sizeof s);
  assert_ok(roster_dispatch(r, "chat", "topic", record_visit, &s, NULL));
  assert_int_equal(s.n, 4);

  /* No entry: not an error, no call. */
  memset(&s, 0, sizeof s);
  called = 99;
  assert_ok(roster_dispatch(r, "chat", "silence", record_visit, &s, &called));
  assert_int_equal(called, 0);
  assert_int_equal(s.n, 0);

  /* After one leaves, the rest are still reached. */
  roster_owner *o = tu_owner();
  static tu_obj late;
  roster__tu_obj_init(&late, 10);
  roster_entry_options eo = {.owner = o};
  assert_ok(roster_register_ex(r, "chat", "topic", &member_type, &late, &eo));
  memset(&s, 0, sizeof s);
  assert_ok(roster_dispatch(r, "chat", "topic", record_visit, &s, &called));
  assert_int_equal(called, 5);
  assert_int_equal(occurrences(s.inst, 5, &late), 1);
  assert_ok(roster_unregister_owned(r, "chat", "topic", o));
  memset(&s, 0, sizeof s);
  assert_ok(roster_dispatch(r, "chat", "topic", record_visit, &s, &called));
  assert_int_equal(called, 4);
  assert_int_equal(occurrences(s.inst, 4, &late), 0);
  roster_owner_free(o);

  /* Bad names are refused. */
  assert_rc(roster_dispatch(r, "chat", "", record_visit, &s, &called),
            ROSTER_EINVAL);
  assert_rc(roster_dispatch(NULL, "chat", "topic", record_visit, &s, &called),
            ROSTER_EINVAL);

  /* Unique registry: dispatch reaches the one entry. */
  roster *u = tu_registry(NULL);
  static tu_obj single;
  roster__tu_obj_init(&single, 12);
  assert_ok(roster_register(u, NULL, "topic", &member_type, &single));
  memset(&s, 0, sizeof s);
  assert_ok(roster_dispatch(u, NULL, "topic", record_visit, &s, &called));
  assert_int_equal(called, 1);
  assert_ptr_equal(s.inst[0], &single);
  roster_free(u);
  assert_int_equal(roster__tu_obj_destroyed(&single), 1);

  roster_free(r);
  for (int i = 0; i < 4; i++)
    assert_int_equal(roster__tu_obj_destroyed(&sub[i]), 1);
  assert_int_equal(roster__tu_obj_destroyed(&late), 1);
  assert_int_equal(roster__tu_obj_destroyed(&other), 1);
  assert_int_equal(roster__tu_obj_destroyed(&other2), 1);
}

static void test_unregister_owned(void **state) {
  (void)state;
  static tu_obj a1, a2, b1, c1;
  roster__tu_obj_init(&a1, 1);
  roster__tu_obj_init(&a2, 2);
  roster__tu_obj_init(&b1, 3);
  roster__tu_obj_init(&c1, 4);
  roster *r = new_dup();
  assert_non_null(r);
  roster_owner *oa = tu_owner();
  roster_owner *ob = tu_owner();
  roster_owner *oc = tu_owner();
  assert_ptr_not_equal(oa, ob);

  roster_entry_options ea = {.owner = oa}, eb = {.owner = ob};
  assert_ok(roster_register_ex(r, NULL, "room", &member_type, &a1, &ea));
  assert_ok(roster_register_ex(r, NULL, "room", &member_type, &a2, &ea));
  assert_ok(roster_register_ex(r, NULL, "room", &member_type, &b1, &eb));
  assert_ok(roster_register(r, NULL, "room", &member_type, &c1)); /* no owner */

  /* The listing carries the owners. */
  roster_list list = {0};
  assert_ok(roster_list_entries(r, NULL, &list));
  assert_int_equal(list.count, 4);
  int owned_a = 0, owned_b = 0, unowned = 0;
  for (size_t i = 0; i < list.count; i++) {
    if (list.items[i].owner == oa)
      owned_a++;
    else if (list.items[i].owner == ob)
      owned_b++;
    else if (list.items[i].owner == NULL)
      unowned++;
  }
  assert_int_equal(owned_a, 2);
  assert_int_equal(owned_b, 1);
  assert_int_equal(unowned, 1);
  roster_list_free(&list);

  /* Only oa's entries go. */
  assert_ok(roster_unregister_owned(r, NULL, "room", oa));
  void *arr[8] = {0};
  size_t n = 0;
  assert_ok(roster_lookup(r, NULL, "room", arr, 8, &n));
  assert_int_equal(n, 2);
  assert_int_equal(occurrences(arr, 2, &b1), 1);
  assert_int_equal(occurrences(arr, 2, &c1), 1);
  roster_reclaim_wait();
  assert_int_equal(roster__tu_obj_destroyed(&a1), 1);
  assert_int_equal(roster__tu_obj_destroyed(&a2), 1);
  assert_int_equal(roster__tu_obj_destroyed(&b1), 0);
  assert_int_equal(roster__tu_obj_destroyed(&c1), 0);

  /* Nothing left for oa, none ever for oc, none of ob's under another key. */
  roster_error_clear();
  assert_rc(roster_unregister_owned(r, NULL, "room", oa), ROSTER_ENOENT);
  assert_int_equal(roster_last_code(), ROSTER_ENOENT);
  assert_rc(roster_unregister_owned(r, NULL, "room", oc), ROSTER_ENOENT);
  assert_rc(roster_unregister_owned(r, NULL, "hall", ob), ROSTER_ENOENT);
  assert_rc(roster_unregister_owned(r, "elsewhere", "room", ob), ROSTER_ENOENT);
  assert_rc(roster_unregister_owned(r, NULL, "", ob), ROSTER_EINVAL);
  assert_rc(roster_unregister_owned(NULL, NULL, "room", ob), ROSTER_EINVAL);
  assert_ok(roster_lookup(r, NULL, "room", arr, 8, &n));
  assert_int_equal(n, 2);

  /* Exactly one left after ob's goes: get works again. */
  assert_ok(roster_unregister_owned(r, NULL, "room", ob));
  void *out = NULL;
  assert_ok(roster_get(r, NULL, "room", &member_type, &out));
  assert_ptr_equal(out, &c1);

  /* roster_owner_free releases what the owner still holds. */
  static tu_obj a3;
  roster__tu_obj_init(&a3, 5);
  assert_ok(roster_register_ex(r, NULL, "hall", &member_type, &a3, &ea));
  roster_owner_free(oa);
  assert_false(roster_has(r, NULL, "hall"));
  roster_reclaim_wait();
  assert_int_equal(roster__tu_obj_destroyed(&a3), 1);
  roster_owner_free(ob);
  roster_owner_free(oc);
  roster_owner_free(NULL); /* no-op */

  roster_free(r);
  assert_int_equal(roster__tu_obj_destroyed(&a1), 1);
  assert_int_equal(roster__tu_obj_destroyed(&a2), 1);
  assert_int_equal(roster__tu_obj_destroyed(&b1), 1);
  assert_int_equal(roster__tu_obj_destroyed(&c1), 1);
  assert_int_equal(roster__tu_obj_destroyed(&a3), 1);
}

static void test_replace_duplicate(void **state) {
  (void)state;
  static tu_obj old[3], fresh;
  for (int i = 0; i < 3; i++)
    roster__tu_obj_init(&old[i], i);
  roster__tu_obj_init(&fresh, 9);
  roster *r = new_dup();
  assert_non_null(r);
  for (int i = 0; i < 3; i++)
    assert_ok(roster_register(r, NULL, "grp", &member_type, &old[i]));
  assert_ok(roster_replace(r, NULL, "grp", &member_type, &fresh));
  void *arr[4] = {0};
  size_t n = 0;
  assert_ok(roster_lookup(r, NULL, "grp", arr, 4, &n));
  assert_int_equal(n, 1);
  assert_ptr_equal(arr[0], &fresh);
  roster_reclaim_wait();
  for (int i = 0; i < 3; i++)
    assert_int_equal(roster__tu_obj_destroyed(&old[i]), 1);
  assert_int_equal(roster__tu_obj_destroyed(&fresh), 0);
  roster_free(r);
  assert_int_equal(roster__tu_obj_destroyed(&fresh), 1);
}

static void test_unique_second_register(void **state) {
  (void)state;
  static tu_obj first, second;
  roster__tu_obj_init(&first, 1);
  roster__tu_obj_init(&second, 2);
  roster *r = tu_registry(NULL);
  assert_ok(roster_register(r, NULL, "room", &member_type, &first));
  roster_error_clear();
  assert_rc(roster_register(r, NULL, "room", &member_type, &second),
            ROSTER_EEXIST);
  assert_int_equal(roster_last_code(), ROSTER_EEXIST);
  roster_owner *o = tu_owner();
  roster_entry_options eo = {.owner = o};
  assert_rc(roster_register_ex(r, NULL, "room", &member_type, &second, &eo),
            ROSTER_EEXIST);

  void *arr[4] = {0};
  size_t n = 0;
  assert_ok(roster_lookup(r, NULL, "room", arr, 4, &n));
  assert_int_equal(n, 1);
  assert_ptr_equal(arr[0], &first);
  void *out = NULL;
  assert_ok(roster_get(r, NULL, "room", &member_type, &out));
  assert_ptr_equal(out, &first);
  assert_int_equal(roster_count(r, NULL), 1);
  assert_rc(roster_unregister_owned(r, NULL, "room", o), ROSTER_ENOENT);
  assert_true(roster_has(r, NULL, "room"));
  roster_reclaim_wait();
  assert_int_equal(roster__tu_obj_destroyed(&first), 0);
  assert_int_equal(roster__tu_obj_destroyed(&second), 0);
  roster_owner_free(o);
  assert_true(roster_has(r, NULL, "room"));
  roster_free(r);
  assert_int_equal(roster__tu_obj_destroyed(&first), 1);
  assert_int_equal(roster__tu_obj_destroyed(&second), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_keys_mode),
      cmocka_unit_test(test_many_entries_per_key),
      cmocka_unit_test(test_dispatch),
      cmocka_unit_test(test_unregister_owned),
      cmocka_unit_test(test_replace_duplicate),
      cmocka_unit_test(test_unique_second_register),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
