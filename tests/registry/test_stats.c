/*
 * test_stats.c: roster_stats_get. After a known sequence of calls every
 * counter (entries, namespaces, lookups, hits, misses, registers,
 * unregisters, listeners) has its exact value; calls that are not lookups do
 * not count as lookups; counters are per registry; memory_bytes grows with
 * entries and returns near its baseline once they are unregistered and
 * reclaimed; and lookups made by many threads, some of which have exited,
 * sum exactly once the registry is quiet.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

static int inst[256];

static roster_stats stats(roster *r) {
  roster_stats st;
  memset(&st, 0xa5, sizeof st);
  assert_ok(roster_stats_get(r, &st));
  return st;
}

/* expect_stats asserts every counter of r's stats against the fields
 * named (the others: 0), naming the caller's line; memory_bytes is left
 * to test_memory_bytes. */
#define expect_stats(r, ...)                                                   \
  check_stats((r), (roster_stats){.memory_bytes = 0, __VA_ARGS__}, __LINE__)

static void check_stats(roster *r, roster_stats want, int line) {
  roster_stats st = stats(r);
  const struct {
    const char *name;
    uint64_t got, want;
  } f[] = {
      {"entries", st.entries, want.entries},
      {"namespaces", st.namespaces, want.namespaces},
      {"lookups", st.lookups, want.lookups},
      {"hits", st.hits, want.hits},
      {"misses", st.misses, want.misses},
      {"registers", st.registers, want.registers},
      {"unregisters", st.unregisters, want.unregisters},
      {"listeners", st.listeners, want.listeners},
  };
  bool ok = true;
  for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
    if (f[i].got != f[i].want) {
      print_error("%s:%d: stats.%s is %llu, want %llu\n", __FILE__, line,
                  f[i].name, (unsigned long long)f[i].got,
                  (unsigned long long)f[i].want);
      ok = false;
    }
  if (!ok)
    _fail(__FILE__, line);
}

/* expect_lookups asserts st's lookup counters: hits + misses lookups. */
static void expect_lookups(const roster_stats *st, uint64_t hits,
                           uint64_t misses) {
  assert_int_equal(st->lookups, hits + misses);
  assert_int_equal(st->hits, hits);
  assert_int_equal(st->misses, misses);
}

static void nop_listener(roster *r, const roster_event *ev, void *arg) {
  (void)r;
  (void)ev;
  (void)arg;
}

static void test_fresh_registry(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  expect_stats(r, .entries = 0); /* every counter 0 */
  roster_free(r);
}

static void test_known_sequence(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);

  assert_ok(roster_register(r, "a", "x", &roster__tu_counter_type, &inst[0]));
  assert_ok(roster_register(r, "a", "y", &roster__tu_counter_type, &inst[1]));
  assert_ok(roster_register(r, "b", "z", &roster__tu_counter_type, &inst[2]));
  assert_ok(roster_register(r, NULL, "w", &roster__tu_counter_type, &inst[3]));
  /* Failed registrations do not count. */
  assert_rc(roster_register(r, "a", "x", &roster__tu_counter_type, &inst[4]),
            ROSTER_EEXIST);
  assert_rc(roster_register(r, "a", "", &roster__tu_counter_type, &inst[4]),
            ROSTER_EINVAL);
  expect_stats(r, .entries = 4, .namespaces = 3, .registers = 4);

  /* Lookups: get/acquire/has/lookup, 4 hits and 3 misses. */
  void *p = NULL;
  size_t n = 0;
  roster_ref *ref = NULL;
  assert_ok(roster_get(r, "a", "x", NULL, &p));                      /* hit */
  assert_rc(roster_get(r, "a", "missing", NULL, &p), ROSTER_ENOENT); /* miss */
  assert_true(roster_has(r, "b", "z"));                              /* hit */
  assert_false(roster_has(r, "b", "nope"));                          /* miss */
  assert_ok(roster_lookup(r, "a", "y", &p, 1, &n));                  /* hit */
  assert_int_equal(n, 1);
  assert_ok(roster_lookup(r, "zz", "y", NULL, 0, &n)); /* miss */
  assert_int_equal(n, 0);
  assert_ok(roster_acquire(r, NULL, "w", NULL, &p, &ref)); /* hit */
  roster_release(ref);
  expect_stats(r, .entries = 4, .namespaces = 3, .registers = 4, .lookups = 7,
               .hits = 4, .misses = 3);

  /* Unregister, replace, drop, clear. */
  assert_ok(roster_unregister(r, "a", "x"));
  assert_rc(roster_unregister(r, "a", "x"), ROSTER_ENOENT);
  expect_stats(r, .entries = 3, .namespaces = 3, .registers = 4,
               .unregisters = 1, .lookups = 7, .hits = 4, .misses = 3);
  assert_ok(roster_replace(r, "a", "y", &roster__tu_counter_type, &inst[5]));
  assert_ok(roster_replace(r, "c", "new", &roster__tu_counter_type, &inst[6]));
  expect_stats(r, .entries = 4, .namespaces = 4, /* a, b, c, default */
               .registers = 6, .unregisters = 2, .lookups = 7, .hits = 4,
               .misses = 3);
  size_t removed = 0;
  assert_ok(roster_ns_drop(r, "b", &removed));
  assert_int_equal(removed, 1);
  expect_stats(r, .entries = 3, .namespaces = 3, .registers = 6,
               .unregisters = 3, .lookups = 7, .hits = 4, .misses = 3);

  /* Listeners attached now. */
  uint64_t id1 = 0, id2 = 0;
  assert_ok(roster_listen(r, ROSTER_EV_ALL, nop_listener, NULL, NULL, &id1));
  assert_ok(
      roster_listen(r, ROSTER_EV_REGISTER, nop_listener, NULL, NULL, &id2));
  assert_rc(roster_listen(r, ROSTER_EV_ALL, NULL, NULL, NULL, NULL),
            ROSTER_EINVAL);
  assert_int_equal(stats(r).listeners, 2);
  assert_ok(roster_unlisten(r, id1));
  assert_rc(roster_unlisten(r, id1), ROSTER_ENOENT);
  assert_int_equal(stats(r).listeners, 1);

  /* Owner release counts as unregisters. */
  roster_owner *o = tu_owner();
  roster_entry_options eo = {.owner = o};
  assert_ok(roster_register_ex(r, "d", "o1", &roster__tu_counter_type, &inst[7],
                               &eo));
  assert_ok(roster_register_ex(r, "d", "o2", &roster__tu_counter_type, &inst[8],
                               &eo));
  expect_stats(r, .entries = 5, .namespaces = 4, .registers = 8,
               .unregisters = 3, .lookups = 7, .hits = 4, .misses = 3,
               .listeners = 1);
  assert_ok(roster_owner_drop(o, &removed));
  assert_int_equal(removed, 2);
  roster_owner_free(o);
  expect_stats(r, .entries = 3, .namespaces = 3, .registers = 8,
               .unregisters = 5, .lookups = 7, .hits = 4, .misses = 3,
               .listeners = 1);

  assert_ok(roster_clear(r, &removed));
  assert_int_equal(removed, 3);
  expect_stats(r, .registers = 8, .unregisters = 8, .lookups = 7, .hits = 4,
               .misses = 3, .listeners = 1);
  roster_free(r);
}

static int visit_nop(const roster_info *info, void *arg) {
  (void)info;
  (*(int *)arg)++;
  return 0;
}

static void test_non_lookups_do_not_count(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  roster *other = tu_registry(NULL);
  assert_non_null(r);
  assert_non_null(other);
  assert_ok(roster_register(r, NULL, "a", &roster__tu_counter_type, &inst[0]));
  assert_ok(roster_register(r, NULL, "b", &roster__tu_counter_type, &inst[1]));
  roster_stats before = stats(r);

  /* Listing, counting, dispatch and metadata are not lookups. */
  assert_int_equal(roster_count(r, NULL), 2);
  roster_list l = {0};
  assert_ok(roster_select(r, NULL, &l));
  roster_list_free(&l);
  assert_ok(roster_list_entries(r, NULL, &l));
  roster_list_free(&l);
  assert_int_equal(roster_count_match(r, NULL), 2);
  int visits = 0;
  assert_ok(roster_foreach(r, NULL, visit_nop, &visits, NULL));
  assert_ok(roster_dispatch(r, NULL, "a", visit_nop, &visits, NULL));
  assert_int_equal(visits, 3);
  roster_ns_list nl = {0};
  assert_ok(roster_ns_list_get(r, &nl));
  roster_ns_list_free(&nl);
  /* Lookups on another registry do not count here. */
  void *p = NULL;
  assert_ok(
      roster_register(other, NULL, "a", &roster__tu_counter_type, &inst[2]));
  assert_ok(roster_get(other, NULL, "a", NULL, &p));
  assert_false(roster_has(other, NULL, "zz"));

  roster_stats after = stats(r);
  assert_int_equal(after.lookups, before.lookups);
  assert_int_equal(after.hits, before.hits);
  assert_int_equal(after.misses, before.misses);
  assert_int_equal(after.registers, 2);
  assert_int_equal(after.entries, 2);
  roster_stats os = stats(other);
  assert_int_equal(os.lookups, 2);
  assert_int_equal(os.hits, 1);
  assert_int_equal(os.misses, 1);
  assert_int_equal(os.registers, 1);
  roster_free(r);
  roster_free(other);
}

static void test_memory_bytes(void **state) {
  (void)state;
  enum { N = 100, META = 64 };
  roster *r = tu_registry(NULL);
  /* One entry in place first, so the namespace's own record exists in the
   * baseline. */
  assert_ok(
      roster_register(r, "mem", "anchor", &roster__tu_counter_type, &inst[0]));
  roster_reclaim_wait();
  uint64_t base = stats(r).memory_bytes;

  char meta[META];
  memset(meta, 'm', sizeof meta);
  size_t payload = 0;
  for (int i = 0; i < N; i++) {
    char name[64];
    int len = snprintf(name, sizeof name,
                       "a-fairly-long-entry-name-for-memory-%03d", i);
    payload += (size_t)len + META;
    roster_entry_options eo = {.meta = meta, .meta_len = META};
    assert_ok(roster_register_ex(r, "mem", name, &roster__tu_counter_type,
                                 &inst[1 + i], &eo));
  }
  uint64_t full = stats(r).memory_bytes;
  assert_true(full > base);
  /* At least the names and metadata themselves. */
  assert_true(full - base >= payload);

  for (int i = 0; i < N; i++) {
    char name[64];
    snprintf(name, sizeof name, "a-fairly-long-entry-name-for-memory-%03d", i);
    assert_ok(roster_unregister(r, "mem", name));
  }
  roster_reclaim_wait();
  uint64_t after = stats(r).memory_bytes;
  /* Near the baseline: what is left is far less than what the entries
   * took (a little slack for allocator bookkeeping the registry keeps). */
  print_message("memory_bytes: base %llu, full %llu, after %llu\n",
                (unsigned long long)base, (unsigned long long)full,
                (unsigned long long)after);
  assert_true(after < full);
  assert_true(after <= base + (full - base) / 20);
  roster_free(r);
}

/* ---- lookups from many threads ----------------------------------------- */

enum { THREADS = 4, HITS = 2000, MISSES = 700 };

typedef struct looker {
  roster *r;
  pthread_barrier_t *done;    /* all lookups made */
  pthread_barrier_t *go_exit; /* main has read the stats */
  uint64_t hits, misses, errors;
} looker;

static void *looker_main(void *arg) {
  looker *lk = arg;
  void *p = NULL;
  for (int i = 0; i < HITS; i++) {
    int rc;
    switch (i % 3) {
    case 0:
      rc = roster_get(lk->r, "t", "present", &roster__tu_counter_type, &p);
      break;
    case 1:
      rc = roster_has(lk->r, "t", "present") ? ROSTER_OK : ROSTER_ENOENT;
      break;
    default: {
      size_t n = 0;
      rc = roster_lookup(lk->r, "t", "present", &p, 1, &n);
      if (rc == ROSTER_OK && n != 1)
        rc = ROSTER_ENOENT;
    }
    }
    if (rc == ROSTER_OK)
      lk->hits++;
    else
      lk->errors++;
  }
  for (int i = 0; i < MISSES; i++) {
    if (i % 2)
      lk->misses += roster_get(lk->r, "t", "absent", NULL, &p) == ROSTER_ENOENT;
    else
      lk->misses += !roster_has(lk->r, "t", "absent");
  }
  if (lk->done) {
    pthread_barrier_wait(lk->done);
    pthread_barrier_wait(lk->go_exit);
  }
  return NULL;
}

static void test_thread_sums(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  assert_ok(
      roster_register(r, "t", "present", &roster__tu_counter_type, &inst[0]));

  /* Round 1: threads that have exited. */
  pthread_t th[THREADS];
  looker lk[THREADS];
  for (int i = 0; i < THREADS; i++) {
    lk[i] = (looker){.r = r};
    assert_int_equal(pthread_create(&th[i], NULL, looker_main, &lk[i]), 0);
  }
  uint64_t hits = 0, misses = 0;
  for (int i = 0; i < THREADS; i++) {
    assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(lk[i].errors, 0);
    hits += lk[i].hits;
    misses += lk[i].misses;
  }
  assert_int_equal(hits, (uint64_t)THREADS * HITS);
  assert_int_equal(misses, (uint64_t)THREADS * MISSES);
  roster_stats st = stats(r);
  expect_lookups(&st, hits, misses);

  /* Round 2: threads still alive (quiet, parked on a barrier). */
  pthread_barrier_t done, go_exit;
  pthread_barrier_init(&done, NULL, THREADS + 1);
  pthread_barrier_init(&go_exit, NULL, THREADS + 1);
  for (int i = 0; i < THREADS; i++) {
    lk[i] = (looker){.r = r, .done = &done, .go_exit = &go_exit};
    assert_int_equal(pthread_create(&th[i], NULL, looker_main, &lk[i]), 0);
  }
  pthread_barrier_wait(&done);
  st = stats(r);
  pthread_barrier_wait(&go_exit);
  for (int i = 0; i < THREADS; i++) {
    assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(lk[i].errors, 0);
  }
  expect_lookups(&st, 2 * hits, 2 * misses);
  /* And after they exit, nothing is lost or counted twice. */
  st = stats(r);
  expect_lookups(&st, 2 * hits, 2 * misses);
  assert_int_equal(st.entries, 1);
  pthread_barrier_destroy(&done);
  pthread_barrier_destroy(&go_exit);
  roster_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fresh_registry),
      cmocka_unit_test(test_known_sequence),
      cmocka_unit_test(test_non_lookups_do_not_count),
      cmocka_unit_test(test_memory_bytes),
      cmocka_unit_test(test_thread_sums),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
