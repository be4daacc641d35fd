/*
 * test_members.c: the members of one duplicate key (a room). A dispatch
 * visits them in the order they joined, whatever left in between: members
 * leaving from the middle, the front and the end, the key's storage growing
 * and being compacted. The bytes roster_stats counts come back to where
 * they were once the key is empty. Under real threads, members that stay in
 * the room for a whole dispatch are seen by it exactly once while others
 * join and leave around them, in any order.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const roster_type member_type = {.name = "member"};

static roster *new_dup(void) {
  roster_options o = {.keys = ROSTER_KEYS_DUPLICATE};
  return tu_registry(&o);
}

/* ---- order ---------------------------------------------------------- */

enum { ORDER_MAX = 600 };

typedef struct seen {
  size_t n;
  uintptr_t v[ORDER_MAX];
} seen;

static int record(const roster_info *info, void *arg) {
  seen *s = arg;
  if (s->n < ORDER_MAX)
    s->v[s->n] = (uintptr_t)info->instance;
  s->n++;
  return 0;
}

/* expect_room checks that dispatch visits exactly want[0..n) in order. */
static void expect_room(roster *r, const uintptr_t *want, size_t n) {
  seen s = {0};
  size_t called = 0;
  assert_ok(roster_dispatch(r, NULL, "room", record, &s, &called));
  assert_int_equal(called, n);
  assert_int_equal(s.n, n);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(s.v[i], want[i]);
  size_t count = 0;
  assert_ok(roster_lookup(r, NULL, "room", NULL, 0, &count));
  assert_int_equal(count, n);
}

static void test_join_order_kept(void **state) {
  (void)state;
  roster *r = new_dup();
  roster_stats st;
  assert_ok(roster_stats_get(r, &st));
  uint64_t mem0 = st.memory_bytes;

  /* 300 members, each with an owner of its own, so one can leave alone. */
  enum { N = 300 };
  roster_owner *o[N];
  uintptr_t want[N];
  size_t n = 0;
  for (int i = 0; i < N; i++) {
    assert_ok(roster_owner_new(&o[i]));
    roster_entry_options eo = {.owner = o[i]};
    assert_ok(roster_register_ex(r, NULL, "room", &member_type,
                                 (void *)(uintptr_t)(i + 1), &eo));
    want[n++] = (uintptr_t)(i + 1);
  }
  expect_room(r, want, n);

  /* Two of three leave, from the front, the middle and the end: most of
   * the storage is holes, which a leave compacts away. */
  for (int i = 0; i < N; i++)
    if (i % 3 != 0)
      assert_ok(roster_unregister_owned(r, NULL, "room", o[i]));
  n = 0;
  for (int i = 0; i < N; i += 3)
    want[n++] = (uintptr_t)(i + 1);
  expect_room(r, want, n);

  /* The last one leaves and joins again: it is last still. The first one
   * leaves and joins again: now it is last. */
  int last = (N - 1) / 3 * 3;
  assert_ok(roster_unregister_owned(r, NULL, "room", o[last]));
  roster_entry_options eo = {.owner = o[last]};
  assert_ok(roster_register_ex(r, NULL, "room", &member_type,
                               (void *)(uintptr_t)(last + 1), &eo));
  expect_room(r, want, n);
  assert_ok(roster_unregister_owned(r, NULL, "room", o[0]));
  eo.owner = o[0];
  assert_ok(roster_register_ex(r, NULL, "room", &member_type,
                               (void *)(uintptr_t)1, &eo));
  memmove(want, want + 1, (n - 1) * sizeof *want);
  want[n - 1] = 1;
  expect_room(r, want, n);

  /* New members join after every one already there. */
  for (int i = 0; i < 150; i++)
    assert_ok(roster_register(r, NULL, "room", &member_type,
                              (void *)(uintptr_t)(1000 + i)));
  for (int i = 0; i < 150; i++)
    want[n++] = (uintptr_t)(1000 + i);
  expect_room(r, want, n);

  /* Everyone leaves: the key is gone and its bytes are given back. */
  assert_ok(roster_unregister(r, NULL, "room"));
  assert_false(roster_has(r, NULL, "room"));
  expect_room(r, want, 0);
  roster_reclaim_wait();
  assert_ok(roster_stats_get(r, &st));
  assert_int_equal(st.memory_bytes, mem0);
  for (int i = 0; i < N; i++)
    roster_owner_free(o[i]);
  roster_free(r);
}

/* A room that fills and empties many times over, one member leaving at a
 * time from the front: the storage shrinks with it and dispatch stays
 * right at every size. */
static void test_fill_and_drain(void **state) {
  (void)state;
  roster *r = new_dup();
  enum { N = 200 };
  roster_owner *o[N];
  uintptr_t want[N];
  for (int i = 0; i < N; i++)
    assert_ok(roster_owner_new(&o[i]));
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < N; i++) {
      roster_entry_options eo = {.owner = o[i]};
      assert_ok(roster_register_ex(r, NULL, "room", &member_type,
                                   (void *)(uintptr_t)(i + 1), &eo));
    }
    for (int i = 0; i < N; i++) {
      assert_ok(roster_unregister_owned(r, NULL, "room", o[i]));
      size_t n = 0;
      for (int j = i + 1; j < N; j++)
        want[n++] = (uintptr_t)(j + 1);
      expect_room(r, want, n);
    }
    assert_false(roster_has(r, NULL, "room"));
  }
  for (int i = 0; i < N; i++)
    roster_owner_free(o[i]);
  roster_free(r);
}

/* ---- under threads -------------------------------------------------- */

enum {
  STABLE = 40, /* members there from start to end */
  CHURN = 120, /* members per writer that join and leave */
  WRITERS = 2,
  READERS = 2,
  ROUNDS = 60, /* each writer: join all, then leave all in a shuffle */
  READS_MAX = 200000,
};

typedef struct churn {
  roster *r;
  atomic_bool stop;
  atomic_long dispatches;
  atomic_long bad_stable; /* a stable member seen other than once */
  atomic_long bad_other;  /* an entry seen twice, or a stranger */
  atomic_long bad_rc;
} churn;

typedef struct wctx {
  churn *c;
  int id;
} wctx;

/* Instances are small integers, one per registration, so a walk that saw
 * one entry twice shows as an instance seen twice: stable members
 * 1..STABLE, then writer w's round r member i. */
static uintptr_t churn_inst(int w, int round, int i) {
  return (uintptr_t)(STABLE + 1 + (round * WRITERS + w) * CHURN + i);
}

enum { INST_MAX = STABLE + ROUNDS * WRITERS * CHURN + 1 };

/* A reader's tally: cnt[v] counts the sightings of v in dispatch number
 * gen[v]; an entry of an older dispatch counts as none. */
typedef struct tally {
  unsigned g;
  unsigned gen[INST_MAX];
  unsigned char cnt[INST_MAX];
  long strangers, twice;
} tally;

static int count_cb(const roster_info *info, void *arg) {
  tally *t = arg;
  uintptr_t v = (uintptr_t)info->instance;
  if (v == 0 || v >= INST_MAX) {
    t->strangers++;
    return 0;
  }
  if (t->gen[v] != t->g) {
    t->gen[v] = t->g;
    t->cnt[v] = 0;
  }
  if (++t->cnt[v] == 2)
    t->twice++;
  return 0;
}

static void *reader(void *arg) {
  churn *c = arg;
  tally *t = calloc(1, sizeof *t);
  if (!t) {
    atomic_fetch_add(&c->bad_rc, 1);
    return NULL;
  }
  for (long it = 0; it < READS_MAX && !atomic_load(&c->stop); it++) {
    t->g++;
    t->strangers = t->twice = 0;
    size_t called = 0;
    if (roster_dispatch(c->r, NULL, "room", count_cb, t, &called) != ROSTER_OK)
      atomic_fetch_add(&c->bad_rc, 1);
    if (t->strangers || t->twice)
      atomic_fetch_add(&c->bad_other, 1);
    size_t sum = 0;
    for (int v = 1; v <= STABLE; v++) {
      unsigned char n = t->gen[v] == t->g ? t->cnt[v] : 0;
      if (n != 1)
        atomic_fetch_add(&c->bad_stable, 1);
      sum += n;
    }
    if (called < sum)
      atomic_fetch_add(&c->bad_other, 1);
    atomic_fetch_add(&c->dispatches, 1);
  }
  free(t);
  return NULL;
}

static void *writer(void *arg) {
  wctx *w = arg;
  churn *c = w->c;
  roster_owner *o[CHURN];
  int order[CHURN];
  uint64_t seed = 0x9e3779b97f4a7c15ull * (uint64_t)(w->id + 1);
  for (int i = 0; i < CHURN; i++) {
    if (roster_owner_new(&o[i]) != ROSTER_OK)
      atomic_fetch_add(&c->bad_rc, 1);
    order[i] = i;
  }
  for (int round = 0; round < ROUNDS; round++) {
    for (int i = 0; i < CHURN; i++) {
      roster_entry_options eo = {.owner = o[i]};
      if (roster_register_ex(c->r, NULL, "room", &member_type,
                             (void *)churn_inst(w->id, round, i),
                             &eo) != ROSTER_OK)
        atomic_fetch_add(&c->bad_rc, 1);
    }
    for (int i = CHURN - 1; i > 0; i--) { /* xorshift Fisher-Yates */
      seed ^= seed << 13;
      seed ^= seed >> 7;
      seed ^= seed << 17;
      int j = (int)(seed % (uint64_t)(i + 1));
      int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    for (int i = 0; i < CHURN; i++)
      if (roster_unregister_owned(c->r, NULL, "room", o[order[i]]) != ROSTER_OK)
        atomic_fetch_add(&c->bad_rc, 1);
  }
  for (int i = 0; i < CHURN; i++)
    roster_owner_free(o[i]);
  return NULL;
}

static void test_stable_members_seen_once(void **state) {
  (void)state;
  churn c;
  memset(&c, 0, sizeof c);
  c.r = new_dup();
  /* The stable members join between churning ones of the main thread,
   * so they sit at scattered places once those leave. */
  roster_owner *gap = NULL;
  assert_ok(roster_owner_new(&gap));
  roster_entry_options eo = {.owner = gap};
  for (int i = 1; i <= STABLE; i++) {
    assert_ok(
        roster_register(c.r, NULL, "room", &member_type, (void *)(uintptr_t)i));
    for (int k = 0; k < 3; k++)
      assert_ok(roster_register_ex(c.r, NULL, "room", &member_type,
                                   (void *)churn_inst(0, 0, k), &eo));
  }
  assert_ok(roster_unregister_owned(c.r, NULL, "room", gap));
  roster_owner_free(gap);

  pthread_t rt[READERS], wt[WRITERS];
  wctx wc[WRITERS];
  for (int i = 0; i < READERS; i++)
    assert_int_equal(pthread_create(&rt[i], NULL, reader, &c), 0);
  for (int i = 0; i < WRITERS; i++) {
    wc[i] = (wctx){&c, i};
    assert_int_equal(pthread_create(&wt[i], NULL, writer, &wc[i]), 0);
  }
  for (int i = 0; i < WRITERS; i++)
    assert_int_equal(pthread_join(wt[i], NULL), 0);
  atomic_store(&c.stop, true);
  for (int i = 0; i < READERS; i++)
    assert_int_equal(pthread_join(rt[i], NULL), 0);

  print_message("dispatches %ld, bad: stable %ld other %ld rc %ld\n",
                atomic_load(&c.dispatches), atomic_load(&c.bad_stable),
                atomic_load(&c.bad_other), atomic_load(&c.bad_rc));
  assert_true(atomic_load(&c.dispatches) > 0);
  assert_int_equal(atomic_load(&c.bad_stable), 0);
  assert_int_equal(atomic_load(&c.bad_other), 0);
  assert_int_equal(atomic_load(&c.bad_rc), 0);
  uintptr_t want[STABLE];
  for (int i = 0; i < STABLE; i++)
    want[i] = (uintptr_t)(i + 1);
  expect_room(c.r, want, STABLE);
  roster_free(c.r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_join_order_kept),
      cmocka_unit_test(test_fill_and_drain),
      cmocka_unit_test(test_stable_members_seen_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
