/*
 * test_cache_overwrite.c: the memory backend's in-place sets. A set that
 * gives a bytes or JSON key a value of the same length (at most
 * MC_INPLACE_MAX bytes) writes into the key's entry instead of replacing
 * it: the entry stays the same (looked up through the backend's own
 * header), the value and the TTL are the new ones, and the counts do not
 * move. Other sets (another length, another kind, a longer value, an
 * expired key) replace the entry as before. Readers racing an in-place
 * writer on real threads never see a torn value.
 */
#include "testutil.h"

#include "cache/memory_impl.h" /* the entry, MC_INPLACE_MAX */

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>

static _Atomic int64_t now_ms = 1000000;

static int64_t test_clock(void *arg) {
  (void)arg;
  return atomic_load(&now_ms);
}

static roster_cache *open_mem(void) {
  roster_cache *c = NULL;
  assert_ok(roster_cache_memory_new(
      &(roster_cache_memory_options){.clock_ms = test_clock},
      &(roster_cache_options){.name = "mem"}, &c));
  return c;
}

/* entry_of: the entry that holds key now (NULL if none). */
static mc_entry *entry_of(roster_cache *c, const char *key) {
  mc *m = c->impl;
  size_t n = strlen(key);
  mc_key k = {key, n};
  uint64_t h = mc_hash(m, key, n);
  roster__rlock();
  mc_entry *e = roster__memory_find(m, h, &k);
  roster__runlock();
  return e;
}

static roster_cache_stats stats(roster_cache *c) {
  roster_cache_stats s = {0};
  assert_ok(roster_cache_stats_get(c, &s));
  return s;
}

static void assert_value(roster_cache *c, const char *key, const void *want,
                         size_t n) {
  roster_cache_buf b = {0};
  assert_ok(roster_cache_get_bytes(c, key, strlen(key), &b));
  assert_int_equal(b.len, n);
  assert_memory_equal(b.data, want, n);
  assert_int_equal(b.data[n], '\0');
  roster_cache_buf_close(&b);
}

/* Same length, bytes: the entry is written in place, the counts stay, the
 * TTL is the new set's. A 203-byte value: 8-byte words and a 3-byte tail. */
static void test_in_place(void **state) {
  (void)state;
  roster_cache *c = open_mem();
  unsigned char a[203], b[203];
  memset(a, 'a', sizeof a);
  memset(b, 'b', sizeof b);
  b[202] = 'z';
  assert_ok(roster_cache_set_bytes(c, "k", 1, a, sizeof a, 0));
  mc_entry *e = entry_of(c, "k");
  assert_non_null(e);
  roster_cache_stats before = stats(c);
  assert_ok(roster_cache_set_bytes(c, "k", 1, b, sizeof b, 5000));
  assert_ptr_equal(entry_of(c, "k"), e);
  assert_value(c, "k", b, sizeof b);
  roster_cache_stats after = stats(c);
  assert_int_equal(after.entries, before.entries);
  assert_int_equal(after.bytes, before.bytes);
  /* the TTL came with it, and goes with the next set without one */
  int64_t ttl = 0;
  assert_ok(roster_cache_ttl(c, "k", 1, &ttl));
  assert_int_equal(ttl, 5000);
  assert_ok(roster_cache_set_bytes(c, "k", 1, a, sizeof a, 0));
  assert_ptr_equal(entry_of(c, "k"), e);
  atomic_fetch_add(&now_ms, 10000);
  assert_value(c, "k", a, sizeof a);
  /* a reader's buffer too small for it grows, as before */
  roster_cache_buf small = {0};
  assert_ok(roster_cache_get_bytes(c, "k", 1, &small));
  assert_int_equal(small.len, sizeof a);
  assert_memory_equal(small.data, a, sizeof a);
  roster_cache_buf_close(&small);
  roster_cache_free(c);
}

/* Everything else replaces the entry, as before. */
static void test_replaced(void **state) {
  (void)state;
  roster_cache *c = open_mem();
  char big[MC_INPLACE_MAX + 1];
  memset(big, 'x', sizeof big);
  /* another length */
  assert_ok(roster_cache_set_bytes(c, "len", 3, "abc", 3, 0));
  mc_entry *e = entry_of(c, "len");
  assert_ok(roster_cache_set_bytes(c, "len", 3, "abcd", 4, 0));
  assert_ptr_not_equal(entry_of(c, "len"), e);
  assert_value(c, "len", "abcd", 4);
  /* longer than MC_INPLACE_MAX */
  assert_ok(roster_cache_set_bytes(c, "big", 3, big, sizeof big, 0));
  e = entry_of(c, "big");
  big[0] = 'y';
  assert_ok(roster_cache_set_bytes(c, "big", 3, big, sizeof big, 0));
  assert_ptr_not_equal(entry_of(c, "big"), e);
  assert_value(c, "big", big, sizeof big);
  /* another kind of the same length: bytes "[1]" then JSON [1] */
  assert_ok(roster_cache_set_bytes(c, "kind", 4, "[1]", 3, 0));
  e = entry_of(c, "kind");
  json_t *j = json_pack("[i]", 2);
  assert_ok(roster_cache_set_json(c, "kind", 4, j, 0));
  assert_ptr_not_equal(entry_of(c, "kind"), e);
  /* JSON of the same length: in place */
  e = entry_of(c, "kind");
  json_array_set_new(j, 0, json_integer(3));
  assert_ok(roster_cache_set_json(c, "kind", 4, j, 0));
  assert_ptr_equal(entry_of(c, "kind"), e);
  json_decref(j);
  json_t *got = NULL;
  assert_ok(roster_cache_get_json(c, "kind", 4, &got));
  assert_int_equal(json_integer_value(json_array_get(got, 0)), 3);
  json_decref(got);
  /* an expired key is written anew, and counted as expired */
  assert_ok(roster_cache_set_bytes(c, "old", 3, "v1", 2, 1000));
  e = entry_of(c, "old");
  atomic_fetch_add(&now_ms, 1000);
  uint64_t expired = stats(c).expired;
  assert_ok(roster_cache_set_bytes(c, "old", 3, "v2", 2, 0));
  assert_ptr_not_equal(entry_of(c, "old"), e);
  assert_int_equal(stats(c).expired, expired + 1);
  assert_value(c, "old", "v2", 2);
  roster_cache_free(c);
}

/* One writer sets two keys in turn to whole values of one letter or
 * another (a 203-byte key written in place, a 700-byte one replaced);
 * readers check every value they get is one letter throughout. */
enum { WRITES = 20000, READERS = 2 };

typedef struct race {
  roster_cache *c;
  atomic_bool done;
  atomic_int torn, errors, reads;
} race;

static void *writer(void *p) {
  race *r = p;
  unsigned char small[203], large[700];
  for (int i = 0; i < WRITES && !atomic_load(&r->errors); i++) {
    unsigned char ch = (unsigned char)('a' + i % 26);
    memset(small, ch, sizeof small);
    memset(large, ch, sizeof large);
    if (roster_cache_set_bytes(r->c, "small", 5, small, sizeof small, 0) ||
        (i % 8 == 0 &&
         roster_cache_set_bytes(r->c, "large", 5, large, sizeof large, 0)))
      atomic_fetch_add(&r->errors, 1);
  }
  atomic_store(&r->done, true);
  return NULL;
}

static bool whole(const roster_cache_buf *b, size_t n) {
  if (b->len != n)
    return false;
  for (size_t i = 1; i < n; i++)
    if (b->data[i] != b->data[0])
      return false;
  return b->data[0] >= 'a' && b->data[0] <= 'z';
}

static void *reader(void *p) {
  race *r = p;
  roster_cache_buf b = {0};
  while (!atomic_load(&r->done)) {
    if (roster_cache_get_bytes(r->c, "small", 5, &b) || !whole(&b, 203))
      atomic_fetch_add(&r->torn, 1);
    if (roster_cache_get_bytes(r->c, "large", 5, &b) || !whole(&b, 700))
      atomic_fetch_add(&r->torn, 1);
    atomic_fetch_add(&r->reads, 1);
  }
  roster_cache_buf_close(&b);
  return NULL;
}

static void test_readers_race_in_place(void **state) {
  (void)state;
  race r = {.c = open_mem()};
  unsigned char init[700];
  memset(init, 'a', sizeof init);
  assert_ok(roster_cache_set_bytes(r.c, "small", 5, init, 203, 0));
  assert_ok(roster_cache_set_bytes(r.c, "large", 5, init, 700, 0));
  mc_entry *e = entry_of(r.c, "small");
  pthread_t tw, tr[READERS];
  for (int i = 0; i < READERS; i++)
    assert_int_equal(pthread_create(&tr[i], NULL, reader, &r), 0);
  assert_int_equal(pthread_create(&tw, NULL, writer, &r), 0);
  pthread_join(tw, NULL);
  for (int i = 0; i < READERS; i++)
    pthread_join(tr[i], NULL);
  assert_int_equal(atomic_load(&r.errors), 0);
  assert_int_equal(atomic_load(&r.torn), 0);
  assert_true(atomic_load(&r.reads) > 0);
  assert_ptr_equal(entry_of(r.c, "small"), e); /* written in place all along */
  roster_cache_free(r.c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_in_place),
      cmocka_unit_test(test_replaced),
      cmocka_unit_test(test_readers_race_in_place),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
