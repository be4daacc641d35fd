/*
 * test_wait_for.c: roster_wait_for. A key already registered answers at
 * once; a key never registered answers ROSTER_ETIMEDOUT; a waiter blocked on
 * a key wakes when another thread registers that key, and only that key
 * (waiters on other names, or the same name in another namespace, keep
 * waiting and time out); bad names are ROSTER_EINVAL. Timeouts here are
 * limits on how long a broken build can hang, never assertions on timing.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

/* A long limit: a correct build never reaches it. */
#define LONG_MS 30000

static int inst[32];

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

typedef struct waiter {
  pthread_t th;
  roster *r;
  const char *ns;
  char name[32];
  int64_t timeout_ms;
  int rc;
  bool present_after; /* the key was registered when wait_for returned OK */
  atomic_bool done;
} waiter;

static void *waiter_main(void *arg) {
  waiter *w = arg;
  w->rc = roster_wait_for(w->r, w->ns, w->name, w->timeout_ms);
  w->present_after = roster_has(w->r, w->ns, w->name);
  atomic_store(&w->done, true);
  return NULL;
}

static void start_waiter(waiter *w, roster *r, const char *ns, const char *name,
                         int64_t timeout_ms) {
  memset(w, 0, sizeof *w);
  w->r = r;
  w->ns = ns;
  snprintf(w->name, sizeof w->name, "%s", name);
  w->timeout_ms = timeout_ms;
  atomic_init(&w->done, false);
  assert_int_equal(pthread_create(&w->th, NULL, waiter_main, w), 0);
}

static void test_already_registered(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  assert_ok(
      roster_register(r, NULL, "here", &roster__tu_counter_type, &inst[0]));
  assert_ok(
      roster_register(r, "ns1", "there", &roster__tu_counter_type, &inst[1]));
  assert_ok(roster_wait_for(r, NULL, "here", 0));
  assert_ok(roster_wait_for(r, ROSTER_DEFAULT_NS, "here", LONG_MS));
  assert_ok(roster_wait_for(r, "ns1", "there", -1));
  assert_ok(roster_wait_for(r, "ns1", "there", LONG_MS));
  roster_free(r);
}

static void test_timeout(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  assert_ok(
      roster_register(r, NULL, "here", &roster__tu_counter_type, &inst[0]));
  assert_rc(roster_wait_for(r, NULL, "never", 0), ROSTER_ETIMEDOUT);
  assert_rc(roster_wait_for(r, NULL, "never", 50), ROSTER_ETIMEDOUT);
  /* The same name in another namespace does not count. */
  assert_rc(roster_wait_for(r, "elsewhere", "here", 20), ROSTER_ETIMEDOUT);
  /* Unregistered again: waiting times out. */
  assert_ok(roster_unregister(r, NULL, "here"));
  assert_rc(roster_wait_for(r, NULL, "here", 20), ROSTER_ETIMEDOUT);
  roster_free(r);
}

typedef struct late {
  roster *r;
  const char *ns;
  const char *name;
  long delay_ms;
  int rc;
} late;

static void *late_register(void *arg) {
  late *l = arg;
  sleep_ms(l->delay_ms);
  l->rc =
      roster_register(l->r, l->ns, l->name, &roster__tu_counter_type, &inst[5]);
  return NULL;
}

static void test_woken_by_registration(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  pthread_t th;
  late l = {.r = r, .ns = "svc", .name = "db", .delay_ms = 100, .rc = -99};
  assert_int_equal(pthread_create(&th, NULL, late_register, &l), 0);
  assert_ok(roster_wait_for(r, "svc", "db", LONG_MS));
  assert_true(roster_has(r, "svc", "db"));
  assert_int_equal(pthread_join(th, NULL), 0);
  assert_ok(l.rc);

  /* No limit at all (negative timeout) also wakes. */
  late l2 = {.r = r, .ns = NULL, .name = "cache", .delay_ms = 50, .rc = -99};
  assert_int_equal(pthread_create(&th, NULL, late_register, &l2), 0);
  assert_ok(roster_wait_for(r, NULL, "cache", -1));
  assert_int_equal(pthread_join(th, NULL), 0);
  assert_ok(l2.rc);
  roster_free(r);
}

static void test_woken_in_duplicate_registry(void **state) {
  (void)state;
  roster_options o = {.keys = ROSTER_KEYS_DUPLICATE};
  roster *r = tu_registry(&o);
  pthread_t th;
  late l = {.r = r, .ns = NULL, .name = "topic", .delay_ms = 50, .rc = -99};
  assert_int_equal(pthread_create(&th, NULL, late_register, &l), 0);
  assert_ok(roster_wait_for(r, NULL, "topic", LONG_MS));
  assert_int_equal(pthread_join(th, NULL), 0);
  assert_ok(l.rc);
  roster_free(r);
}

static void test_each_waiter_woken_by_its_own_name(void **state) {
  (void)state;
  enum { N = 4 };
  roster *r = tu_registry(NULL);
  waiter w[N];
  waiter other_ns;  /* same name as w[0], other namespace: must time out */
  waiter unrelated; /* a name nobody registers: must time out */
  for (int i = 0; i < N; i++) {
    char name[32];
    snprintf(name, sizeof name, "svc-%d", i);
    start_waiter(&w[i], r, NULL, name, LONG_MS);
  }
  start_waiter(&other_ns, r, "other", "svc-0", 500);
  start_waiter(&unrelated, r, NULL, "unrelated", 500);
  sleep_ms(50); /* let the waiters block (not required for correctness) */

  /* Register in reverse order; after each, exactly that waiter returns. */
  for (int i = N - 1; i >= 0; i--) {
    char name[32];
    snprintf(name, sizeof name, "svc-%d", i);
    assert_ok(
        roster_register(r, NULL, name, &roster__tu_counter_type, &inst[i]));
    assert_int_equal(pthread_join(w[i].th, NULL), 0);
    assert_ok(w[i].rc);
    assert_true(w[i].present_after);
    for (int j = 0; j < i; j++)
      assert_false(atomic_load(&w[j].done)); /* svc-j is not registered */
  }
  assert_int_equal(pthread_join(other_ns.th, NULL), 0);
  assert_int_equal(pthread_join(unrelated.th, NULL), 0);
  assert_rc(other_ns.rc, ROSTER_ETIMEDOUT);
  assert_false(other_ns.present_after);
  assert_rc(unrelated.rc, ROSTER_ETIMEDOUT);
  roster_free(r);
}

static void test_many_waiters_same_name(void **state) {
  (void)state;
  enum { N = 4 };
  roster *r = tu_registry(NULL);
  waiter w[N];
  for (int i = 0; i < N; i++)
    start_waiter(&w[i], r, "grp", "shared", LONG_MS);
  sleep_ms(30);
  assert_ok(
      roster_register(r, "grp", "shared", &roster__tu_counter_type, &inst[0]));
  for (int i = 0; i < N; i++) {
    assert_int_equal(pthread_join(w[i].th, NULL), 0);
    assert_ok(w[i].rc);
    assert_true(w[i].present_after);
  }
  roster_free(r);
}

static void test_bad_names(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  char longname[ROSTER_NAME_MAX + 2];
  memset(longname, 'n', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  assert_rc(roster_wait_for(r, NULL, NULL, 10), ROSTER_EINVAL);
  assert_rc(roster_wait_for(r, NULL, "", 10), ROSTER_EINVAL);
  assert_rc(roster_wait_for(r, NULL, longname, 10), ROSTER_EINVAL);
  assert_rc(roster_wait_for(r, "", "x", 10), ROSTER_EINVAL);
  assert_rc(roster_wait_for(r, longname, "x", 10), ROSTER_EINVAL);
  assert_rc(roster_wait_for(NULL, NULL, "x", 10), ROSTER_EINVAL);
  assert_rc(roster_last_code(), ROSTER_EINVAL);
  assert_true(strlen(roster_last_error()) > 0);
  /* A name of exactly ROSTER_NAME_MAX bytes is fine. */
  longname[ROSTER_NAME_MAX] = '\0';
  assert_rc(roster_wait_for(r, NULL, longname, 0), ROSTER_ETIMEDOUT);
  assert_ok(
      roster_register(r, NULL, longname, &roster__tu_counter_type, &inst[0]));
  assert_ok(roster_wait_for(r, NULL, longname, 0));
  roster_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_already_registered),
      cmocka_unit_test(test_timeout),
      cmocka_unit_test(test_woken_by_registration),
      cmocka_unit_test(test_woken_in_duplicate_registry),
      cmocka_unit_test(test_each_waiter_woken_by_its_own_name),
      cmocka_unit_test(test_many_waiters_same_name),
      cmocka_unit_test(test_bad_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
