/*
 * test_owners.c: owner tokens. An entry registered with an owner vanishes
 * when the owner is released, in every registry and namespace at once, and
 * only the owner's entries do; listeners hear ROSTER_REASON_OWNER for each;
 * the owner stays usable after a release; roster_owner_free releases too; an
 * owned entry already unregistered by name is not removed (or destroyed)
 * twice; and freeing one registry while the owner still holds entries in
 * another leaves the owner and the other registry working.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* rec_has tells whether an unregister of (r, ns, name) was recorded. */
static bool rec_has(tu_reglog *rc, roster *r, const char *ns,
                    const char *name) {
  for (size_t i = 0; i < rc->n; i++)
    if (rc->ev[i].r == r && strcmp(rc->ev[i].ns, ns) == 0 &&
        strcmp(rc->ev[i].name, name) == 0)
      return true;
  return false;
}

static int inst[32]; /* distinct instance addresses */

static int reg_owned(roster *r, const char *ns, const char *name,
                     roster_owner *o, void *instance) {
  roster_entry_options eo = {.owner = o};
  return roster_register_ex(r, ns, name, &roster__tu_counter_type, instance,
                            &eo);
}

static void test_owner_new_and_free_null(void **state) {
  (void)state;
  roster_owner *a = NULL;
  assert_ok(roster_owner_new(&a));
  roster_owner *b = NULL;
  assert_ok(roster_owner_new(&b));
  assert_non_null(a);
  assert_non_null(b);
  assert_ptr_not_equal(a, b);
  roster_owner_free(NULL); /* no-op */
  /* An owner with no entries releases nothing. */
  size_t removed = 99;
  assert_ok(roster_owner_drop(a, &removed));
  assert_int_equal(removed, 0);
  assert_ok(roster_owner_drop(a, NULL));
  roster_owner_free(a);
  roster_owner_free(b);
}

static void test_release_across_registries_and_namespaces(void **state) {
  (void)state;
  roster__tu_reset_destroyed();
  roster *r1 = tu_registry(NULL);
  roster_options dup = {.keys = ROSTER_KEYS_DUPLICATE, .name = "dup"};
  roster *r2 = tu_registry(&dup);
  assert_non_null(r1);
  assert_non_null(r2);
  tu_reglog regs, rec; /* registers; unregisters */
  roster__tu_reglog_init(&regs);
  roster__tu_reglog_init(&rec);
  for (int i = 0; i < 2; i++) {
    roster *ri = i ? r2 : r1;
    assert_ok(roster_listen(ri, ROSTER_EV_REGISTER, roster__tu_reglog_listener,
                            &regs, NULL, NULL));
    assert_ok(roster_listen(ri, ROSTER_EV_UNREGISTER,
                            roster__tu_reglog_listener, &rec, NULL, NULL));
  }

  roster_owner *o = tu_owner();
  roster_owner *other = tu_owner();

  /* Owned by o: 6 entries over 2 registries and 3 namespaces. */
  assert_ok(reg_owned(r1, "a", "x", o, &inst[0]));
  assert_ok(reg_owned(r1, "a", "y", o, &inst[1]));
  assert_ok(reg_owned(r1, "b", "z", o, &inst[2]));
  assert_ok(reg_owned(r1, NULL, "d", o, &inst[3]));
  assert_ok(reg_owned(r2, "a", "room", o, &inst[4]));
  assert_ok(reg_owned(r2, "c", "room", o, &inst[5]));
  /* Not owned by o: no owner, or another owner, some under the same keys. */
  assert_ok(
      roster_register(r1, "a", "free", &roster__tu_counter_type, &inst[6]));
  assert_ok(reg_owned(r1, "b", "theirs", other, &inst[7]));
  assert_ok(
      roster_register(r2, "a", "room", &roster__tu_counter_type, &inst[8]));
  assert_ok(reg_owned(r2, "a", "room", other, &inst[9]));
  assert_int_equal(regs.n, 10);
  assert_int_equal(rec.n, 0);

  size_t removed = 0;
  assert_ok(roster_owner_drop(o, &removed));
  assert_int_equal(removed, 6);

  /* o's entries are gone everywhere... */
  assert_false(roster_has(r1, "a", "x"));
  assert_false(roster_has(r1, "a", "y"));
  assert_false(roster_has(r1, "b", "z"));
  assert_false(roster_has(r1, NULL, "d"));
  assert_false(roster_has(r2, "c", "room"));
  /* ...the others are untouched. */
  assert_true(roster_has(r1, "a", "free"));
  assert_true(roster_has(r1, "b", "theirs"));
  size_t count = 0;
  void *got[4] = {0};
  assert_ok(roster_lookup(r2, "a", "room", got, 4, &count));
  assert_int_equal(count, 2);
  assert_true((got[0] == &inst[8] && got[1] == &inst[9]) ||
              (got[0] == &inst[9] && got[1] == &inst[8]));
  assert_int_equal(roster_count(r1, "a"), 1);
  assert_int_equal(roster_count(r1, "b"), 1);
  assert_int_equal(roster_count(r1, NULL), 0);
  assert_int_equal(roster_count(r2, "c"), 0);

  /* Listeners heard exactly the 6 removals, with the owner reason. */
  assert_int_equal(rec.n, 6);
  for (size_t i = 0; i < rec.n; i++) {
    assert_int_equal(rec.ev[i].reason, ROSTER_REASON_OWNER);
    assert_ptr_equal(rec.ev[i].owner, o);
  }
  assert_true(rec_has(&rec, r1, "a", "x"));
  assert_true(rec_has(&rec, r1, "a", "y"));
  assert_true(rec_has(&rec, r1, "b", "z"));
  assert_true(rec_has(&rec, r1, ROSTER_DEFAULT_NS, "d"));
  assert_true(rec_has(&rec, r2, "a", "room"));
  assert_true(rec_has(&rec, r2, "c", "room"));

  roster_reclaim_wait();
  assert_int_equal(roster__tu_destroyed(), 6);

  /* The owner stays valid and may own new entries. */
  assert_ok(reg_owned(r1, "a", "x", o, &inst[10]));
  assert_ok(reg_owned(r2, "a", "room", o, &inst[11]));
  assert_ok(roster_owner_drop(o, &removed));
  assert_int_equal(removed, 2);
  assert_false(roster_has(r1, "a", "x"));
  assert_ok(roster_lookup(r2, "a", "room", NULL, 0, &count));
  assert_int_equal(count, 2);
  /* Releasing again removes nothing. */
  assert_ok(roster_owner_drop(o, &removed));
  assert_int_equal(removed, 0);
  roster_reclaim_wait();
  assert_int_equal(roster__tu_destroyed(), 8);

  roster_owner_free(o);
  roster_free(r1);
  roster_free(r2);
  /* roster_free waited for the 4 remaining instances. */
  assert_int_equal(roster__tu_destroyed(), 12);
  roster_owner_free(other);
  roster__tu_reglog_fini(&regs);
  roster__tu_reglog_fini(&rec);
}

static void test_owner_free_releases(void **state) {
  (void)state;
  roster__tu_reset_destroyed();
  roster *r = tu_registry(NULL);
  tu_reglog rec;
  roster__tu_reglog_init(&rec);
  assert_ok(roster_listen(r, ROSTER_EV_UNREGISTER, roster__tu_reglog_listener,
                          &rec, NULL, NULL));
  roster_owner *o = tu_owner();
  assert_ok(reg_owned(r, "p", "one", o, &inst[0]));
  assert_ok(reg_owned(r, "q", "two", o, &inst[1]));
  assert_ok(
      roster_register(r, "p", "keep", &roster__tu_counter_type, &inst[2]));

  roster_owner_free(o);
  assert_false(roster_has(r, "p", "one"));
  assert_false(roster_has(r, "q", "two"));
  assert_true(roster_has(r, "p", "keep"));
  assert_int_equal(rec.n, 2);
  assert_int_equal(rec.ev[0].reason, ROSTER_REASON_OWNER);
  assert_int_equal(rec.ev[1].reason, ROSTER_REASON_OWNER);
  /* The instances were not destroyed before the listener ran. */
  assert_int_equal(rec.ev[0].destroyed_then, 0);
  roster_reclaim_wait();
  assert_int_equal(roster__tu_destroyed(), 2);
  roster_free(r);
  assert_int_equal(roster__tu_destroyed(), 3);
  roster__tu_reglog_fini(&rec);
}

static void test_unregistered_by_name_not_removed_twice(void **state) {
  (void)state;
  roster__tu_reset_destroyed();
  roster_options dup = {.keys = ROSTER_KEYS_DUPLICATE};
  roster *r = tu_registry(&dup);
  tu_reglog rec;
  roster__tu_reglog_init(&rec);
  assert_ok(roster_listen(r, ROSTER_EV_UNREGISTER, roster__tu_reglog_listener,
                          &rec, NULL, NULL));
  roster_owner *o = tu_owner();
  roster_owner *p = tu_owner();

  assert_ok(reg_owned(r, NULL, "a", o, &inst[0]));
  assert_ok(reg_owned(r, NULL, "b", o, &inst[1]));
  assert_ok(reg_owned(r, NULL, "g", o, &inst[2]));
  assert_ok(reg_owned(r, NULL, "g", p, &inst[3]));

  /* By name: removes a (reason CALL). */
  assert_ok(roster_unregister(r, NULL, "a"));
  /* One member leaving a group: only o's entry of g. */
  assert_ok(roster_unregister_owned(r, NULL, "g", o));
  assert_rc(roster_unregister_owned(r, NULL, "g", o), ROSTER_ENOENT);
  size_t count = 0;
  void *got = NULL;
  assert_ok(roster_lookup(r, NULL, "g", &got, 1, &count));
  assert_int_equal(count, 1);
  assert_ptr_equal(got, &inst[3]);
  assert_int_equal(rec.n, 2);
  assert_int_equal(rec.ev[0].reason, ROSTER_REASON_CALL);
  assert_int_equal(rec.ev[1].reason, ROSTER_REASON_CALL);

  roster_reclaim_wait();
  assert_int_equal(roster__tu_destroyed(), 2);

  size_t removed = 0;
  assert_ok(roster_owner_drop(o, &removed));
  assert_int_equal(removed, 1); /* only b is left of o's */
  assert_false(roster_has(r, NULL, "b"));
  assert_true(roster_has(r, NULL, "g"));
  assert_int_equal(rec.n, 3);
  assert_string_equal(rec.ev[2].name, "b");
  assert_int_equal(rec.ev[2].reason, ROSTER_REASON_OWNER);
  roster_reclaim_wait();
  assert_int_equal(roster__tu_destroyed(), 3);

  /* Re-registering a name that o once owned, without an owner, is not
   * removed by o. */
  assert_ok(roster_register(r, NULL, "a", &roster__tu_counter_type, &inst[4]));
  assert_ok(roster_owner_drop(o, &removed));
  assert_int_equal(removed, 0);
  assert_true(roster_has(r, NULL, "a"));

  roster_owner_free(o);
  roster_reclaim_wait();
  assert_int_equal(roster__tu_destroyed(), 3);
  assert_int_equal(rec.n, 3);

  roster_owner_free(p);
  assert_false(roster_has(r, NULL, "g"));
  roster_free(r);
  assert_int_equal(roster__tu_destroyed(), 5); /* each instance exactly once */
  roster__tu_reglog_fini(&rec);
}

static void test_free_registry_while_owned_elsewhere(void **state) {
  (void)state;
  roster__tu_reset_destroyed();
  roster *r1 = tu_registry(NULL);
  roster *r2 = tu_registry(NULL);
  assert_non_null(r1);
  assert_non_null(r2);
  roster_owner *o = tu_owner();
  assert_ok(reg_owned(r1, NULL, "x", o, &inst[0]));
  assert_ok(reg_owned(r1, "n", "y", o, &inst[1]));
  assert_ok(reg_owned(r2, NULL, "x", o, &inst[2]));
  assert_ok(reg_owned(r2, "n", "y", o, &inst[3]));
  assert_ok(
      roster_register(r2, NULL, "keep", &roster__tu_counter_type, &inst[4]));

  roster_free(r1);
  assert_int_equal(roster__tu_destroyed(), 2);

  size_t removed = 0;
  assert_ok(roster_owner_drop(o, &removed));
  assert_int_equal(removed, 2); /* only what is left, in r2 */
  assert_false(roster_has(r2, NULL, "x"));
  assert_false(roster_has(r2, "n", "y"));
  assert_true(roster_has(r2, NULL, "keep"));
  roster_reclaim_wait();
  assert_int_equal(roster__tu_destroyed(), 4);

  /* Owner still usable; then free the owner while it owns entries in a
   * registry that outlives it, and free an owner whose registry is gone. */
  assert_ok(reg_owned(r2, NULL, "z", o, &inst[5]));
  roster *r3 = tu_registry(NULL);
  roster_owner *q = tu_owner();
  assert_ok(reg_owned(r3, NULL, "w", q, &inst[6]));
  roster_free(r3);
  assert_int_equal(roster__tu_destroyed(), 5);
  roster_owner_free(q); /* its registry is gone: nothing to remove */
  roster_owner_free(o);
  assert_false(roster_has(r2, NULL, "z"));
  roster_reclaim_wait();
  assert_int_equal(roster__tu_destroyed(), 6);
  roster_free(r2);
  assert_int_equal(roster__tu_destroyed(), 7);
}

static void test_owner_free_before_registry(void **state) {
  (void)state;
  roster__tu_reset_destroyed();
  roster *r = tu_registry(NULL);
  roster_owner *o = tu_owner();
  assert_ok(reg_owned(r, NULL, "a", o, &inst[0]));
  /* An acquired reference outlives the owner token. */
  void *out = NULL;
  roster_ref *ref = NULL;
  assert_ok(roster_acquire(r, NULL, "a", &roster__tu_counter_type, &out, &ref));
  assert_ptr_equal(out, &inst[0]);
  roster_owner_free(o);
  assert_false(roster_has(r, NULL, "a"));
  roster_reclaim_wait();
  assert_int_equal(roster__tu_destroyed(), 0);
  roster_release(ref);
  roster_reclaim_wait();
  assert_int_equal(roster__tu_destroyed(), 1);
  roster_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_owner_new_and_free_null),
      cmocka_unit_test(test_release_across_registries_and_namespaces),
      cmocka_unit_test(test_owner_free_releases),
      cmocka_unit_test(test_unregistered_by_name_not_removed_twice),
      cmocka_unit_test(test_free_registry_while_owned_elsewhere),
      cmocka_unit_test(test_owner_free_before_registry),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
