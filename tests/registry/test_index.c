/*
 * test_index.c: the key index under churn and threads. Tombstones and
 * rebuilds never lose a key (unique keys churned through many rebuilds);
 * a duplicate key's members join and leave in any order, by owner, and
 * the key node goes and comes back; a walk (roster_dispatch over one key,
 * roster_foreach over the table) sees every entry present throughout it
 * exactly once while other threads register and unregister around it,
 * rebuilding the table meanwhile.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const roster_type item_type = {.name = "index_item"};

static void *tag(size_t i) { return (void *)(uintptr_t)(i + 1); }

static int visit_none(const roster_info *info, void *arg) {
  (void)info;
  (void)arg;
  return 0;
}

/* Many register/unregister rounds over a small live set: every round
 * leaves tombstones, so the table is rebuilt many times over; the keys
 * that stay are found every time, the ones that left never. */
static void test_churn_keeps_keys(void **state) {
  (void)state;
  roster_options o = {.initial_buckets = 16};
  roster *r = tu_registry(&o);
  char name[32];
  enum { STAY = 300, ROUNDS = 40, CHURN = 500 };
  for (size_t i = 0; i < STAY; i++) {
    snprintf(name, sizeof name, "stay-%zu", i);
    assert_ok(roster_register(r, NULL, name, &item_type, tag(i)));
  }
  for (size_t round = 0; round < ROUNDS; round++) {
    for (size_t i = 0; i < CHURN; i++) {
      snprintf(name, sizeof name, "churn-%zu-%zu", round, i);
      assert_ok(roster_register(r, NULL, name, &item_type, tag(i)));
    }
    for (size_t i = 0; i < CHURN; i++) {
      snprintf(name, sizeof name, "churn-%zu-%zu", round, i);
      assert_ok(roster_unregister(r, NULL, name));
      assert_false(roster_has(r, NULL, name));
    }
    for (size_t i = 0; i < STAY; i += 7) {
      void *out = NULL;
      snprintf(name, sizeof name, "stay-%zu", i);
      assert_ok(roster_get(r, NULL, name, &item_type, &out));
      assert_ptr_equal(out, tag(i));
    }
  }
  assert_int_equal(roster_count(r, NULL), STAY);
  size_t seen = 0;
  assert_ok(roster_foreach(r, NULL, visit_none, NULL, &seen));
  assert_int_equal(seen, STAY);
  roster_query q = {0};
  assert_int_equal(roster_count_match(r, &q), STAY);
  roster_free(r);
}

/* A room of members, each with its own owner, left in a scattered order:
 * each leave takes exactly that member; the key disappears with its last
 * member and comes back with the next join. */
static void test_room_leave_any_order(void **state) {
  (void)state;
  roster_options o = {.keys = ROSTER_KEYS_DUPLICATE};
  roster *r = tu_registry(&o);
  enum { N = 2000 };
  roster_owner **own = calloc(N, sizeof *own);
  assert_non_null(own);
  for (size_t i = 0; i < N; i++) {
    assert_ok(roster_owner_new(&own[i]));
    roster_entry_options eo = {.owner = own[i]};
    assert_ok(roster_register_ex(r, NULL, "room", &item_type, tag(i), &eo));
  }
  size_t left = N;
  for (size_t step = 0; step < N; step++) {
    size_t i = (step * 7919) % N; /* 7919 is prime: visits every i once */
    assert_ok(roster_unregister_owned(r, NULL, "room", own[i]));
    assert_rc(roster_unregister_owned(r, NULL, "room", own[i]), ROSTER_ENOENT);
    left--;
    if (step % 97 == 0 || left < 3) {
      size_t n = 0;
      assert_ok(roster_lookup(r, NULL, "room", NULL, 0, &n));
      assert_int_equal(n, left);
    }
  }
  assert_false(roster_has(r, NULL, "room"));
  assert_ok(roster_register(r, NULL, "room", &item_type, tag(0)));
  void *out = NULL;
  assert_ok(roster_get(r, NULL, "room", &item_type, &out));
  assert_ptr_equal(out, tag(0));
  for (size_t i = 0; i < N; i++)
    roster_owner_free(own[i]);
  free(own);
  roster_free(r);
}

/* ---- walks during writes -------------------------------------------- */

enum { STABLE = 200, WRITERS = 2, WALKS = 300 };

typedef struct walk_ctx {
  roster *r;
  atomic_bool stop;
  unsigned counts[STABLE];
  int bad;
} walk_ctx;

typedef struct writer_arg {
  walk_ctx *c;
  int id;
} writer_arg;

/* Writers join and leave the room and add and remove unique-looking names
 * around the stable entries, so the table rebuilds under the walks. */
static void *writer_main(void *p) {
  writer_arg *a = p;
  roster *r = a->c->r;
  roster_owner *o = NULL;
  if (roster_owner_new(&o) != ROSTER_OK)
    return NULL;
  roster_entry_options eo = {.owner = o};
  char name[48];
  for (size_t i = 0; !atomic_load(&a->c->stop); i++) {
    (void)roster_register_ex(r, NULL, "room", &item_type, tag(100000 + i), &eo);
    snprintf(name, sizeof name, "w%d-%zu", a->id, i % 4096);
    (void)roster_register(r, NULL, name, &item_type, tag(200000 + i));
    (void)roster_unregister_owned(r, NULL, "room", o);
    if (i % 3 == 0)
      (void)roster_unregister(r, NULL, name);
  }
  roster_owner_free(o);
  return NULL;
}

static int count_stable(const roster_info *info, void *arg) {
  walk_ctx *c = arg;
  uintptr_t v = (uintptr_t)info->instance;
  if (v >= 1 && v <= STABLE)
    c->counts[v - 1]++;
  return 0;
}

static bool all_once(walk_ctx *c) {
  bool ok = true;
  for (size_t i = 0; i < STABLE; i++) {
    ok = ok && c->counts[i] == 1;
    c->counts[i] = 0;
  }
  return ok;
}

static void test_walks_see_stable_once(void **state) {
  (void)state;
  roster_options o = {.keys = ROSTER_KEYS_DUPLICATE, .initial_buckets = 8};
  walk_ctx *c = calloc(1, sizeof *c);
  assert_non_null(c);
  c->r = tu_registry(&o);
  char name[32];
  for (size_t i = 0; i < STABLE; i++) {
    assert_ok(roster_register(c->r, NULL, "room", &item_type, tag(i)));
    snprintf(name, sizeof name, "stable-%zu", i);
    assert_ok(roster_register(c->r, NULL, name, &item_type, tag(i)));
  }
  pthread_t t[WRITERS];
  writer_arg wa[WRITERS];
  for (int i = 0; i < WRITERS; i++) {
    wa[i] = (writer_arg){c, i};
    assert_int_equal(pthread_create(&t[i], NULL, writer_main, &wa[i]), 0);
  }
  int dispatch_bad = 0, foreach_bad = 0;
  for (int w = 0; w < WALKS; w++) {
    size_t called = 0;
    assert_ok(roster_dispatch(c->r, NULL, "room", count_stable, c, &called));
    dispatch_bad += !all_once(c);
    /* the stable unique names hold the same tags: count them by name */
    roster_query q = {.pattern = "stable-*"};
    assert_ok(roster_foreach(c->r, &q, count_stable, c, NULL));
    foreach_bad += !all_once(c);
  }
  atomic_store(&c->stop, true);
  for (int i = 0; i < WRITERS; i++)
    pthread_join(t[i], NULL);
  assert_int_equal(dispatch_bad, 0);
  assert_int_equal(foreach_bad, 0);
  size_t n = 0;
  assert_ok(roster_lookup(c->r, NULL, "room", NULL, 0, &n));
  assert_int_equal(n, STABLE);
  roster_free(c->r);
  free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_churn_keeps_keys),
      cmocka_unit_test(test_room_leave_any_order),
      cmocka_unit_test(test_walks_see_stable_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
