/*
 * test_meta.c: per-entry metadata in roster/registry.h. Metadata set by
 * roster_register_ex is read back by roster_meta_get (ROSTER_ERANGE with the
 * needed length and an untouched buffer when cap is too small), replaced or
 * removed by roster_meta_set, capped at ROSTER_META_MAX (an oversized value
 * is refused and the old one kept), and changed atomically by
 * roster_meta_update: the function sees the old value, its error aborts the
 * update and is returned, and concurrent increments from several threads are
 * never lost. Under duplicate keys the owner picks the entry.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const roster_type meta_type = {.name = "meta_holder"};

/* ---------------------------------------------------------------- */

static void test_register_ex_and_get(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  roster_entry_options eo = {.meta = "hello", .meta_len = 5};
  assert_ok(roster_register_ex(r, NULL, "svc", &meta_type, NULL, &eo));
  assert_ok(roster_register_ex(r, NULL, "bare", &meta_type, NULL, NULL));

  char buf[16];
  size_t len = 0;
  memset(buf, 0, sizeof buf);
  assert_ok(roster_meta_get(r, NULL, "svc", NULL, buf, sizeof buf, &len));
  assert_int_equal(len, 5);
  assert_memory_equal(buf, "hello", 5);

  /* Exactly enough room. */
  memset(buf, 0, sizeof buf);
  assert_ok(roster_meta_get(r, NULL, "svc", NULL, buf, 5, &len));
  assert_int_equal(len, 5);
  assert_memory_equal(buf, "hello", 5);

  /* Too small: ERANGE, *len says how much, buf untouched. */
  memset(buf, 0xAA, sizeof buf);
  len = 0;
  roster_error_clear();
  assert_rc(roster_meta_get(r, NULL, "svc", NULL, buf, 4, &len), ROSTER_ERANGE);
  assert_int_equal(roster_last_code(), ROSTER_ERANGE);
  assert_int_equal(len, 5);
  for (size_t i = 0; i < sizeof buf; i++)
    assert_int_equal((unsigned char)buf[i], 0xAA);
  len = 0;
  assert_rc(roster_meta_get(r, NULL, "svc", NULL, buf, 0, &len), ROSTER_ERANGE);
  assert_int_equal(len, 5);
  for (size_t i = 0; i < sizeof buf; i++)
    assert_int_equal((unsigned char)buf[i], 0xAA);

  /* An entry without metadata: len 0. */
  len = 99;
  assert_ok(roster_meta_get(r, NULL, "bare", NULL, buf, sizeof buf, &len));
  assert_int_equal(len, 0);

  /* Errors. */
  assert_rc(roster_meta_get(r, NULL, "missing", NULL, buf, sizeof buf, &len),
            ROSTER_ENOENT);
  assert_rc(roster_meta_get(r, NULL, "", NULL, buf, sizeof buf, &len),
            ROSTER_EINVAL);
  assert_rc(roster_meta_get(r, "", "svc", NULL, buf, sizeof buf, &len),
            ROSTER_EINVAL);
  assert_rc(roster_meta_get(NULL, NULL, "svc", NULL, buf, sizeof buf, &len),
            ROSTER_EINVAL);
  assert_rc(roster_meta_set(r, NULL, "missing", NULL, "x", 1), ROSTER_ENOENT);
  assert_rc(roster_meta_set(r, NULL, "", NULL, "x", 1), ROSTER_EINVAL);
  assert_rc(roster_meta_set(NULL, NULL, "svc", NULL, "x", 1), ROSTER_EINVAL);
  assert_false(roster_has(r, NULL, "missing"));

  /* The listing carries a copy of the metadata. */
  roster_list list = {0};
  assert_ok(roster_list_entries(r, NULL, &list));
  assert_int_equal(list.count, 2);
  assert_string_equal(list.items[1].name, "svc");
  assert_int_equal(list.items[1].meta_len, 5);
  assert_non_null(list.items[1].meta);
  assert_memory_equal(list.items[1].meta, "hello", 5);
  assert_int_equal(list.items[0].meta_len, 0);
  assert_null(list.items[0].meta);
  /* A later change does not reach the snapshot. */
  assert_ok(roster_meta_set(r, NULL, "svc", NULL, "HELLO", 5));
  assert_memory_equal(list.items[1].meta, "hello", 5);
  roster_list_free(&list);

  roster_free(r);
}

static void test_meta_set(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  assert_ok(roster_register(r, "ns", "svc", &meta_type, NULL));

  char buf[ROSTER_META_MAX + 8];
  size_t len = 99;
  assert_ok(roster_meta_get(r, "ns", "svc", NULL, buf, sizeof buf, &len));
  assert_int_equal(len, 0);

  assert_ok(roster_meta_set(r, "ns", "svc", NULL, "v1", 2));
  assert_ok(roster_meta_get(r, "ns", "svc", NULL, buf, sizeof buf, &len));
  assert_int_equal(len, 2);
  assert_memory_equal(buf, "v1", 2);

  assert_ok(roster_meta_set(r, "ns", "svc", NULL, "version-two", 11));
  assert_ok(roster_meta_get(r, "ns", "svc", NULL, buf, sizeof buf, &len));
  assert_int_equal(len, 11);
  assert_memory_equal(buf, "version-two", 11);

  /* Binary bytes, including NUL, are kept. */
  const unsigned char bin[6] = {0, 1, 0xff, 0, 'x', 0};
  assert_ok(roster_meta_set(r, "ns", "svc", NULL, bin, sizeof bin));
  assert_ok(roster_meta_get(r, "ns", "svc", NULL, buf, sizeof buf, &len));
  assert_int_equal(len, sizeof bin);
  assert_memory_equal(buf, bin, sizeof bin);

  /* len 0 removes. */
  assert_ok(roster_meta_set(r, "ns", "svc", NULL, NULL, 0));
  len = 99;
  assert_ok(roster_meta_get(r, "ns", "svc", NULL, buf, sizeof buf, &len));
  assert_int_equal(len, 0);
  roster_list list = {0};
  assert_ok(roster_list_entries(r, "ns", &list));
  assert_int_equal(list.count, 1);
  assert_null(list.items[0].meta);
  assert_int_equal(list.items[0].meta_len, 0);
  roster_list_free(&list);

  /* Exactly ROSTER_META_MAX is allowed. */
  static unsigned char big[ROSTER_META_MAX + 1];
  for (size_t i = 0; i < sizeof big; i++)
    big[i] = (unsigned char)(i * 7 + 3);
  assert_ok(roster_meta_set(r, "ns", "svc", NULL, big, ROSTER_META_MAX));
  assert_ok(roster_meta_get(r, "ns", "svc", NULL, buf, sizeof buf, &len));
  assert_int_equal(len, ROSTER_META_MAX);
  assert_memory_equal(buf, big, ROSTER_META_MAX);

  /* One more byte: EINVAL, the old value is kept. */
  assert_ok(roster_meta_set(r, "ns", "svc", NULL, "keep", 4));
  roster_error_clear();
  assert_rc(roster_meta_set(r, "ns", "svc", NULL, big, ROSTER_META_MAX + 1),
            ROSTER_EINVAL);
  assert_int_equal(roster_last_code(), ROSTER_EINVAL);
  assert_true(strlen(roster_last_error()) > 0);
  assert_ok(roster_meta_get(r, "ns", "svc", NULL, buf, sizeof buf, &len));
  assert_int_equal(len, 4);
  assert_memory_equal(buf, "keep", 4);

  /* register_ex with oversized metadata registers nothing. */
  roster_entry_options eo = {.meta = big, .meta_len = ROSTER_META_MAX + 1};
  assert_rc(roster_register_ex(r, "ns", "too-big", &meta_type, NULL, &eo),
            ROSTER_EINVAL);
  assert_false(roster_has(r, "ns", "too-big"));
  assert_int_equal(roster_count(r, "ns"), 1);
  eo.meta_len = ROSTER_META_MAX;
  assert_ok(roster_register_ex(r, "ns", "just-fits", &meta_type, NULL, &eo));
  assert_ok(roster_meta_get(r, "ns", "just-fits", NULL, buf, sizeof buf, &len));
  assert_int_equal(len, ROSTER_META_MAX);
  assert_memory_equal(buf, big, ROSTER_META_MAX);

  roster_free(r);
}

/* ---- meta_update ---- */

typedef struct upd {
  int calls;
  size_t old_len;
  int old_was_null;
  char old[64];
  const char *new_value;
  int ret;
} upd;

static int upd_fn(const void *old, size_t old_len, void *out, size_t *out_len,
                  void *arg) {
  upd *u = arg;
  u->calls++;
  u->old_len = old_len;
  u->old_was_null = old == NULL;
  memset(u->old, 0, sizeof u->old);
  if (old && old_len < sizeof u->old)
    memcpy(u->old, old, old_len);
  if (u->ret != ROSTER_OK)
    return u->ret;
  size_t n = strlen(u->new_value);
  memcpy(out, u->new_value, n);
  *out_len = n;
  return ROSTER_OK;
}

static int failing_fn(const void *old, size_t old_len, void *out,
                      size_t *out_len, void *arg) {
  (void)old;
  (void)old_len;
  (void)arg;
  /* Scribble on out: must not become the value. */
  memcpy(out, "garbage", 7);
  *out_len = 7;
  return roster_error_set(ROSTER_EIO, "update refused by fn");
}

static void test_meta_update(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  assert_ok(roster_register(r, NULL, "svc", &meta_type, NULL));

  /* No value yet: old is NULL / 0. */
  upd u = {.new_value = "first", .ret = ROSTER_OK};
  assert_ok(roster_meta_update(r, NULL, "svc", NULL, upd_fn, &u));
  assert_int_equal(u.calls, 1);
  assert_int_equal(u.old_len, 0);
  char buf[64];
  size_t len = 0;
  assert_ok(roster_meta_get(r, NULL, "svc", NULL, buf, sizeof buf, &len));
  assert_int_equal(len, 5);
  assert_memory_equal(buf, "first", 5);

  /* fn sees the current value. */
  u = (upd){.new_value = "second-value", .ret = ROSTER_OK};
  assert_ok(roster_meta_update(r, NULL, "svc", NULL, upd_fn, &u));
  assert_int_equal(u.calls, 1);
  assert_int_equal(u.old_len, 5);
  assert_false(u.old_was_null);
  assert_memory_equal(u.old, "first", 5);
  assert_ok(roster_meta_get(r, NULL, "svc", NULL, buf, sizeof buf, &len));
  assert_int_equal(len, 12);
  assert_memory_equal(buf, "second-value", 12);

  /* fn's error aborts and is returned; the value is unchanged. */
  u = (upd){.new_value = "never", .ret = ROSTER_ECANCELED};
  assert_rc(roster_meta_update(r, NULL, "svc", NULL, upd_fn, &u),
            ROSTER_ECANCELED);
  assert_int_equal(u.calls, 1);
  assert_memory_equal(u.old, "second-value", 12);
  assert_ok(roster_meta_get(r, NULL, "svc", NULL, buf, sizeof buf, &len));
  assert_int_equal(len, 12);
  assert_memory_equal(buf, "second-value", 12);

  assert_rc(roster_meta_update(r, NULL, "svc", NULL, failing_fn, NULL),
            ROSTER_EIO);
  assert_ok(roster_meta_get(r, NULL, "svc", NULL, buf, sizeof buf, &len));
  assert_int_equal(len, 12);
  assert_memory_equal(buf, "second-value", 12);

  /* A failing call never runs fn. */
  u = (upd){.new_value = "x", .ret = ROSTER_OK};
  assert_rc(roster_meta_update(r, NULL, "missing", NULL, upd_fn, &u),
            ROSTER_ENOENT);
  assert_rc(roster_meta_update(r, NULL, "", NULL, upd_fn, &u), ROSTER_EINVAL);
  assert_rc(roster_meta_update(NULL, NULL, "svc", NULL, upd_fn, &u),
            ROSTER_EINVAL);
  assert_int_equal(u.calls, 0);

  /* fn may write an empty value: removes it. */
  u = (upd){.new_value = "", .ret = ROSTER_OK};
  assert_ok(roster_meta_update(r, NULL, "svc", NULL, upd_fn, &u));
  len = 99;
  assert_ok(roster_meta_get(r, NULL, "svc", NULL, buf, sizeof buf, &len));
  assert_int_equal(len, 0);

  roster_free(r);
}

/* Concurrent increments through meta_update. */
#define UTHREADS 4
#define UITERS 2000

typedef struct uthr {
  roster *r;
  pthread_barrier_t *start;
  int failures;
  atomic_long *fn_calls;
} uthr;

static int incr_fn(const void *old, size_t old_len, void *out, size_t *out_len,
                   void *arg) {
  atomic_long *calls = arg;
  atomic_fetch_add(calls, 1);
  uint64_t v = 0;
  if (old != NULL && old_len == sizeof v)
    memcpy(&v, old, sizeof v);
  v++;
  memcpy(out, &v, sizeof v);
  *out_len = sizeof v;
  return ROSTER_OK;
}

static void *incr_thread(void *arg) {
  uthr *t = arg;
  pthread_barrier_wait(t->start);
  for (int i = 0; i < UITERS; i++)
    if (roster_meta_update(t->r, "ctr", "counter", NULL, incr_fn,
                           t->fn_calls) != ROSTER_OK)
      t->failures++;
  return NULL;
}

static void test_meta_update_concurrent(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  uint64_t zero = 0;
  roster_entry_options eo = {.meta = &zero, .meta_len = sizeof zero};
  assert_ok(roster_register_ex(r, "ctr", "counter", &meta_type, NULL, &eo));

  atomic_long calls = 0;
  pthread_barrier_t start;
  assert_int_equal(pthread_barrier_init(&start, NULL, UTHREADS), 0);
  pthread_t th[UTHREADS];
  uthr t[UTHREADS];
  for (int i = 0; i < UTHREADS; i++) {
    t[i] = (uthr){.r = r, .start = &start, .failures = 0, .fn_calls = &calls};
    assert_int_equal(pthread_create(&th[i], NULL, incr_thread, &t[i]), 0);
  }
  for (int i = 0; i < UTHREADS; i++)
    assert_int_equal(pthread_join(th[i], NULL), 0);
  pthread_barrier_destroy(&start);

  for (int i = 0; i < UTHREADS; i++)
    assert_int_equal(t[i].failures, 0);
  uint64_t v = 0;
  size_t len = 0;
  assert_ok(roster_meta_get(r, "ctr", "counter", NULL, &v, sizeof v, &len));
  assert_int_equal(len, sizeof v);
  assert_int_equal(v, (uint64_t)UTHREADS * UITERS);
  /* Each successful update called fn at least once (retries add more). */
  assert_true(atomic_load(&calls) >= (long)UTHREADS * UITERS);
  roster_free(r);
}

/* ---- duplicate keys: the owner picks the entry ---- */

static void test_meta_duplicate_owners(void **state) {
  (void)state;
  roster_options ro = {.keys = ROSTER_KEYS_DUPLICATE};
  roster *r = tu_registry(&ro);
  roster_owner *o1 = tu_owner();
  roster_owner *o2 = tu_owner();
  roster_owner *o3 = tu_owner();
  roster_entry_options e1 = {.owner = o1, .meta = "one", .meta_len = 3};
  roster_entry_options e2 = {.owner = o2, .meta = "two!", .meta_len = 4};
  assert_ok(roster_register_ex(r, NULL, "room", &meta_type, NULL, &e1));
  assert_ok(roster_register_ex(r, NULL, "room", &meta_type, NULL, &e2));

  char buf[32];
  size_t len = 0;
  roster_error_clear();
  assert_rc(roster_meta_get(r, NULL, "room", NULL, buf, sizeof buf, &len),
            ROSTER_EAMBIGUOUS);
  assert_int_equal(roster_last_code(), ROSTER_EAMBIGUOUS);
  assert_rc(roster_meta_set(r, NULL, "room", NULL, "x", 1), ROSTER_EAMBIGUOUS);
  upd u = {.new_value = "y", .ret = ROSTER_OK};
  assert_rc(roster_meta_update(r, NULL, "room", NULL, upd_fn, &u),
            ROSTER_EAMBIGUOUS);
  assert_int_equal(u.calls, 0);

  assert_ok(roster_meta_get(r, NULL, "room", o1, buf, sizeof buf, &len));
  assert_int_equal(len, 3);
  assert_memory_equal(buf, "one", 3);
  assert_ok(roster_meta_get(r, NULL, "room", o2, buf, sizeof buf, &len));
  assert_int_equal(len, 4);
  assert_memory_equal(buf, "two!", 4);
  assert_rc(roster_meta_get(r, NULL, "room", o3, buf, sizeof buf, &len),
            ROSTER_ENOENT);

  /* Setting through o1 changes only o1's entry. */
  assert_ok(roster_meta_set(r, NULL, "room", o1, "uno", 3));
  assert_ok(roster_meta_get(r, NULL, "room", o1, buf, sizeof buf, &len));
  assert_memory_equal(buf, "uno", 3);
  assert_ok(roster_meta_get(r, NULL, "room", o2, buf, sizeof buf, &len));
  assert_int_equal(len, 4);
  assert_memory_equal(buf, "two!", 4);

  /* Updating through o2 sees o2's value. */
  u = (upd){.new_value = "dos", .ret = ROSTER_OK};
  assert_ok(roster_meta_update(r, NULL, "room", o2, upd_fn, &u));
  assert_int_equal(u.calls, 1);
  assert_memory_equal(u.old, "two!", 4);
  assert_ok(roster_meta_get(r, NULL, "room", o2, buf, sizeof buf, &len));
  assert_int_equal(len, 3);
  assert_memory_equal(buf, "dos", 3);
  assert_ok(roster_meta_get(r, NULL, "room", o1, buf, sizeof buf, &len));
  assert_memory_equal(buf, "uno", 3);

  /* Once only one entry is left, owner NULL matches it. */
  assert_ok(roster_unregister_owned(r, NULL, "room", o1));
  assert_ok(roster_meta_get(r, NULL, "room", NULL, buf, sizeof buf, &len));
  assert_int_equal(len, 3);
  assert_memory_equal(buf, "dos", 3);
  assert_rc(roster_meta_get(r, NULL, "room", o1, buf, sizeof buf, &len),
            ROSTER_ENOENT);

  roster_owner_free(o1);
  roster_owner_free(o2);
  roster_owner_free(o3);
  assert_false(roster_has(r, NULL, "room"));
  roster_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_register_ex_and_get),
      cmocka_unit_test(test_meta_set),
      cmocka_unit_test(test_meta_update),
      cmocka_unit_test(test_meta_update_concurrent),
      cmocka_unit_test(test_meta_duplicate_owners),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
