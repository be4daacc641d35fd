/*
 * test_lifetime.c: when instances die. roster_acquire keeps an instance alive
 * past its unregister until roster_release; roster_release(NULL) is a no-op;
 * acquiring a missing key fails with *ref NULL; a (nested) read section keeps
 * a roster_get pointer alive until the outermost unlock, which a concurrent
 * roster_reclaim_wait must wait for; and every instance is destroyed exactly
 * once, on roster's reclaim thread, whichever way it leaves the registry.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LIVE 0x0b1ec7u
#define DEAD 0xdeadu

typedef struct obj {
  atomic_uint magic;
  atomic_int destroyed;
  atomic_bool on_caller; /* destroy ran on the registering thread */
} obj;

static pthread_t main_thread;
static atomic_int total_destroyed;

static void obj_destroy(void *p) {
  obj *o = p;
  atomic_store(&o->magic, DEAD);
  atomic_fetch_add(&o->destroyed, 1);
  if (pthread_equal(pthread_self(), main_thread))
    atomic_store(&o->on_caller, true);
  atomic_fetch_add(&total_destroyed, 1);
}

static const roster_type obj_type = {.name = "obj", .destroy = obj_destroy};
ROSTER_TYPED(objt, obj, obj_type)

static void obj_init(obj *o, size_t n) {
  for (size_t i = 0; i < n; i++) {
    atomic_init(&o[i].magic, LIVE);
    atomic_init(&o[i].destroyed, 0);
    atomic_init(&o[i].on_caller, false);
  }
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static int setup(void **state) {
  (void)state;
  main_thread = pthread_self();
  atomic_store(&total_destroyed, 0);
  roster__tu_reset_destroyed();
  return 0;
}

static void test_acquire_outlives_unregister(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  obj o[1];
  obj_init(o, 1);
  assert_ok(objt_register(r, NULL, "x", &o[0]));
  obj *got = NULL;
  roster_ref *ref = NULL;
  assert_ok(objt_acquire(r, NULL, "x", &got, &ref));
  assert_ptr_equal(got, &o[0]);
  assert_non_null(ref);

  assert_ok(roster_unregister(r, NULL, "x"));
  assert_false(roster_has(r, NULL, "x"));
  roster_reclaim_wait();
  assert_int_equal(atomic_load(&o[0].destroyed), 0);
  assert_int_equal(atomic_load(&got->magic), LIVE);

  roster_release(ref);
  roster_reclaim_wait();
  assert_int_equal(atomic_load(&o[0].destroyed), 1);
  assert_int_equal(atomic_load(&o[0].magic), DEAD);
  assert_false(atomic_load(&o[0].on_caller));
  roster_free(r);
  assert_int_equal(atomic_load(&o[0].destroyed), 1);
}

static void test_two_refs(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  obj o[1];
  obj_init(o, 1);
  assert_ok(objt_register(r, "n", "x", &o[0]));
  void *p1 = NULL, *p2 = NULL;
  roster_ref *r1 = NULL, *r2 = NULL;
  assert_ok(roster_acquire(r, "n", "x", &obj_type, &p1, &r1));
  assert_ok(roster_acquire(r, "n", "x", NULL, &p2, &r2));
  assert_ptr_equal(p1, p2);
  /* Replacing also unregisters the old entry. */
  obj o2[1];
  obj_init(o2, 1);
  assert_ok(roster_replace(r, "n", "x", &obj_type, &o2[0]));
  roster_release(r1);
  roster_reclaim_wait();
  assert_int_equal(atomic_load(&o[0].destroyed), 0);
  roster_release(r2);
  roster_reclaim_wait();
  assert_int_equal(atomic_load(&o[0].destroyed), 1);
  assert_int_equal(atomic_load(&o2[0].destroyed), 0);

  /* A reference still held on a registered entry does not stop it from
   * being listed or looked up, and is released before roster_free. */
  assert_ok(roster_acquire(r, "n", "x", NULL, &p1, &r1));
  assert_ptr_equal(p1, &o2[0]);
  roster_release(r1);
  roster_free(r);
  assert_int_equal(atomic_load(&o2[0].destroyed), 1);
}

static void test_release_null_and_acquire_errors(void **state) {
  (void)state;
  roster_release(NULL);
  roster *r = tu_registry(NULL);
  obj o[1];
  obj_init(o, 1);
  assert_ok(objt_register(r, NULL, "x", &o[0]));

  void *out = (void *)&out;
  roster_ref *ref = (roster_ref *)&out;
  assert_rc(roster_acquire(r, NULL, "missing", NULL, &out, &ref),
            ROSTER_ENOENT);
  assert_null(ref);
  assert_null(out);

  out = (void *)&out;
  ref = (roster_ref *)&out;
  assert_rc(roster_acquire(r, NULL, "x", &roster__tu_other_type, &out, &ref),
            ROSTER_ETYPE);
  assert_null(ref);
  assert_null(out);

  out = (void *)&out;
  ref = (roster_ref *)&out;
  assert_rc(roster_acquire(r, NULL, "", NULL, &out, &ref), ROSTER_EINVAL);
  assert_null(ref);
  assert_null(out);

  out = (void *)&out;
  ref = (roster_ref *)&out;
  assert_rc(roster_acquire(r, "other-ns", "x", NULL, &out, &ref),
            ROSTER_ENOENT);
  assert_null(ref);

  /* None of that took a reference: unregister destroys at once. */
  assert_ok(roster_unregister(r, NULL, "x"));
  roster_reclaim_wait();
  assert_int_equal(atomic_load(&o[0].destroyed), 1);
  roster_release(NULL);
  roster_free(r);
}

typedef struct reclaimer {
  atomic_bool done;
} reclaimer;

static void *reclaim_main(void *arg) {
  reclaimer *rc = arg;
  roster_reclaim_wait();
  atomic_store(&rc->done, true);
  return NULL;
}

static void test_read_lock_nesting(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  obj o[1];
  obj_init(o, 1);
  assert_ok(objt_register(r, NULL, "x", &o[0]));

  roster_read_lock();
  roster_read_lock();
  obj *p = NULL;
  int rc_get = objt_find(r, NULL, "x", &p);
  int rc_unreg = roster_unregister(r, NULL, "x");
  bool has_after = roster_has(r, NULL, "x");

  /* Another thread waits for reclamation; it cannot finish while this
   * thread is inside its read section. */
  reclaimer rc;
  atomic_init(&rc.done, false);
  pthread_t th;
  int rc_create = pthread_create(&th, NULL, reclaim_main, &rc);
  sleep_ms(100);
  int destroyed_nested = atomic_load(&o[0].destroyed);
  bool done_nested = atomic_load(&rc.done);
  unsigned magic_nested = p ? atomic_load(&p->magic) : 0;

  roster_read_unlock(); /* inner: still inside the outer section */
  sleep_ms(100);
  int destroyed_outer = atomic_load(&o[0].destroyed);
  bool done_outer = atomic_load(&rc.done);
  unsigned magic_outer = p ? atomic_load(&p->magic) : 0;
  roster_read_unlock();

  /* Asserts only outside the read section (a failing assert longjmps). */
  assert_int_equal(rc_create, 0);
  assert_int_equal(pthread_join(th, NULL), 0);
  assert_ok(rc_get);
  assert_ptr_equal(p, &o[0]);
  assert_ok(rc_unreg);
  assert_false(has_after);
  assert_int_equal(destroyed_nested, 0);
  assert_false(done_nested);
  assert_int_equal(magic_nested, LIVE);
  assert_int_equal(destroyed_outer, 0);
  assert_false(done_outer);
  assert_int_equal(magic_outer, LIVE);
  /* The reclaimer's wait covered this instance. */
  assert_true(atomic_load(&rc.done));
  assert_int_equal(atomic_load(&o[0].destroyed), 1);
  roster_free(r);
}

static void test_destroy_exactly_once(void **state) {
  (void)state;
  enum { N = 60 };
  roster_options opt = {.keys = ROSTER_KEYS_DUPLICATE};
  roster *r = tu_registry(&opt);
  roster_owner *ow = tu_owner();
  obj *o = calloc(N + 1, sizeof *o);
  assert_non_null(o);
  obj_init(o, N + 1);
  roster_entry_options eo = {.owner = ow};
  for (int i = 0; i < N; i++) {
    char name[32];
    snprintf(name, sizeof name, "e%d", i);
    const char *ns = (i % 6 == 0) ? "drop" : NULL;
    if (i % 6 == 1)
      assert_ok(roster_register_ex(r, ns, name, &obj_type, &o[i], &eo));
    else
      assert_ok(roster_register(r, ns, name, &obj_type, &o[i]));
  }
  /* Duplicate key with two entries. */
  assert_ok(roster_register(r, NULL, "e2", &obj_type, &o[N]));
  /* A failed register never touches the instance. */
  obj spare[1];
  obj_init(spare, 1);
  assert_rc(roster_register(r, NULL, "", &obj_type, &spare[0]), ROSTER_EINVAL);

  /* Every way out: by name, by owner, by namespace, by replace, by clear,
   * by roster_free. */
  size_t removed = 0;
  for (int i = 2; i < N; i += 6) {
    char name[32];
    snprintf(name, sizeof name, "e%d", i);
    assert_ok(roster_unregister(r, NULL, name));
  }
  assert_ok(roster_owner_drop(ow, &removed));
  assert_int_equal(removed, N / 6);
  assert_ok(roster_ns_drop(r, "drop", &removed));
  assert_int_equal(removed, N / 6);
  obj repl[N / 6];
  obj_init(repl, N / 6);
  for (int i = 3, k = 0; i < N; i += 6, k++) {
    char name[32];
    snprintf(name, sizeof name, "e%d", i);
    assert_ok(roster_replace(r, NULL, name, &obj_type, &repl[k]));
  }
  roster_reclaim_wait();
  for (int i = 0; i < N; i++) {
    int want = (i % 6 <= 3) ? 1 : 0;
    assert_int_equal(atomic_load(&o[i].destroyed), want);
  }
  assert_int_equal(atomic_load(&o[N].destroyed), 1); /* second e2 entry */

  for (int i = 4; i < N; i += 6) {
    char name[32];
    snprintf(name, sizeof name, "e%d", i);
    assert_ok(roster_unregister(r, NULL, name));
  }
  assert_ok(roster_clear(r, &removed));
  assert_int_equal(removed, N / 6 + N / 6); /* e5.. and the replacements */
  roster_reclaim_wait();
  for (int i = 0; i <= N; i++) {
    assert_int_equal(atomic_load(&o[i].destroyed), 1);
    assert_int_equal(atomic_load(&o[i].magic), DEAD);
    assert_false(atomic_load(&o[i].on_caller)); /* on the reclaim thread */
  }
  for (int k = 0; k < N / 6; k++)
    assert_int_equal(atomic_load(&repl[k].destroyed), 1);

  /* Entries still registered when the registry is freed. */
  obj last[3];
  obj_init(last, 3);
  assert_ok(roster_register(r, NULL, "l0", &obj_type, &last[0]));
  assert_ok(roster_register(r, "z", "l1", &obj_type, &last[1]));
  assert_ok(roster_register_ex(r, "z", "l2", &obj_type, &last[2], &eo));
  roster_free(r);
  for (int i = 0; i < 3; i++)
    assert_int_equal(atomic_load(&last[i].destroyed), 1);
  /* The owner's entries went with the registry. */
  assert_ok(roster_owner_drop(ow, &removed));
  assert_int_equal(removed, 0);
  roster_owner_free(ow);
  roster_reclaim_wait();
  assert_int_equal(atomic_load(&spare[0].destroyed), 0);
  assert_int_equal(atomic_load(&total_destroyed), N + 1 + N / 6 + 3);
  free(o);
}

static void test_no_destroy_is_fine(void **state) {
  (void)state;
  static const roster_type plain = {.name = "plain"};
  roster *r = tu_registry(NULL);
  int x = 5;
  assert_ok(roster_register(r, NULL, "plain", &plain, &x));
  assert_ok(roster_register(r, NULL, "null", &plain, NULL));
  void *p = (void *)&p;
  assert_ok(roster_get(r, NULL, "null", &plain, &p));
  assert_null(p);
  roster_ref *ref = NULL;
  assert_ok(roster_acquire(r, NULL, "plain", &plain, &p, &ref));
  assert_ok(roster_unregister(r, NULL, "plain"));
  roster_release(ref);
  roster_reclaim_wait();
  assert_int_equal(x, 5);
  roster_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_acquire_outlives_unregister, setup),
      cmocka_unit_test_setup(test_two_refs, setup),
      cmocka_unit_test_setup(test_release_null_and_acquire_errors, setup),
      cmocka_unit_test_setup(test_read_lock_nesting, setup),
      cmocka_unit_test_setup(test_destroy_exactly_once, setup),
      cmocka_unit_test_setup(test_no_destroy_is_fine, setup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
