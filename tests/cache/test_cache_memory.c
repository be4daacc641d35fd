/*
 * test_cache_memory.c: the memory backend. It runs the conformance suite
 * (cache_suite.c) on a memory cache whose TTL clock the test moves by hand,
 * then what only the memory backend has: exact TTL boundaries on that
 * clock, the sweep thread, CLOCK eviction by entries and by bytes (locks
 * are never evicted, expired keys go first), table growth, readers and
 * writers racing with eviction and the sweep (checked for torn or foreign
 * values), readers racing with the tables' growth (checked for misses),
 * and URL options.
 */
#include "cache_suite.h"

#include <jansson.h>
#include <stdlib.h>

/* ---- the test clock ------------------------------------------------- */

static _Atomic int64_t now_ms = 1000000;

static int64_t test_clock(void *arg) {
  (void)arg;
  return atomic_load(&now_ms);
}

static void advance(int64_t ms) { atomic_fetch_add(&now_ms, ms); }

static roster_cache *open_mem(const roster_cache_memory_options *extra) {
  roster_cache_memory_options mo =
      extra ? *extra : (roster_cache_memory_options){0};
  mo.clock_ms = test_clock;
  roster_cache *c = NULL;
  int rc =
      roster_cache_memory_new(&mo, &(roster_cache_options){.name = "mem"}, &c);
  if (rc)
    print_error("roster_cache_memory_new: %s\n", roster_last_error());
  return c;
}

/* ---- the suite's environment ---------------------------------------- */

static roster_cache *env_open(const cache_suite_env *env) {
  (void)env;
  return open_mem(NULL);
}

static void env_advance(const cache_suite_env *env, roster_cache *c,
                        int64_t ms) {
  (void)env;
  (void)c;
  advance(ms);
}

static const cache_suite_env memory_env = {
    .name = "memory",
    .open = env_open,
    .advance = env_advance,
    .tick_ms = 1000,
};

/* ---- helpers -------------------------------------------------------- */

static roster_cache_stats stats(roster_cache *c) {
  roster_cache_stats s = {0};
  assert_ok(roster_cache_stats_get(c, &s));
  return s;
}

static bool has(roster_cache *c, const char *k) {
  bool e = false;
  assert_ok(roster_cache_exists(c, k, strlen(k), &e));
  return e;
}

static void put(roster_cache *c, const char *k, int64_t ttl) {
  assert_ok(roster_cache_set_bytes(c, k, strlen(k), "value", 5, ttl));
}

static json_int_t info_int(roster_cache *c, const char *field) {
  json_t *info = NULL;
  assert_ok(roster_cache_info(c, &info));
  json_int_t v = json_integer_value(json_object_get(info, field));
  json_decref(info);
  return v;
}

/* ---- TTLs on the test clock ----------------------------------------- */

static void test_clock_ttl(void **state) {
  (void)state;
  roster_cache *c = open_mem(NULL);
  assert_non_null(c);
  int64_t t = 0;
  roster_cache_buf b = {0};
  put(c, "k", 100);
  assert_ok(roster_cache_ttl(c, CS_K("k"), &t));
  assert_int_equal(t, 100);
  advance(99);
  assert_ok(roster_cache_ttl(c, CS_K("k"), &t));
  assert_int_equal(t, 1);
  assert_ok(roster_cache_get_bytes(c, CS_K("k"), &b));
  assert_int_equal(stats(c).entries, 1);
  advance(1); /* the TTL has passed exactly now */
  assert_rc(roster_cache_get_bytes(c, CS_K("k"), &b), ROSTER_ENOENT);
  roster_cache_stats s = stats(c);
  assert_int_equal(s.expired, 1); /* the read freed it */
  assert_int_equal(s.entries, 0);
  assert_int_equal(s.hits, 1);
  assert_int_equal(s.misses, 1);
  /* expire from a hand-moved clock, too */
  put(c, "k2", 0);
  assert_ok(roster_cache_expire(c, CS_K("k2"), 5));
  advance(4);
  assert_true(has(c, "k2"));
  advance(1);
  assert_false(has(c, "k2"));
  roster_cache_buf_close(&b);
  roster_cache_free(c);
}

static void test_sweep(void **state) {
  (void)state;
  roster_cache *c = open_mem(&(roster_cache_memory_options){.sweep_ms = 2});
  assert_non_null(c);
  char k[32];
  for (int i = 0; i < 300; i++) {
    snprintf(k, sizeof k, "t%d", i);
    put(c, k, 10);
  }
  for (int i = 0; i < 50; i++) {
    snprintf(k, sizeof k, "p%d", i);
    put(c, k, 0);
  }
  assert_int_equal(stats(c).entries, 350);
  advance(11);
  /* Nobody reads: only the sweep thread can free them. */
  tu_wait_until(stats(c).entries == 50, LC_LONG_MS);
  roster_cache_stats s = stats(c);
  assert_int_equal(s.entries, 50);
  assert_int_equal(s.expired, 300);
  assert_int_equal(s.hits + s.misses, 0);
  assert_true(has(c, "p0"));
  roster_cache_free(c);
}

static void test_no_sweep(void **state) {
  (void)state;
  roster_cache *c = open_mem(&(roster_cache_memory_options){.sweep_ms = -1});
  assert_non_null(c);
  roster_cache_key keys[10];
  char names[10][16];
  for (int i = 0; i < 10; i++) {
    snprintf(names[i], sizeof names[i], "k%d", i);
    put(c, names[i], 10);
    keys[i] = (roster_cache_key){names[i], strlen(names[i])};
  }
  advance(11);
  /* Expired but not freed: no sweep, nobody touched them. */
  assert_int_equal(stats(c).entries, 10);
  assert_int_equal(info_int(c, "sweep_ms"), -1);
  size_t removed = 99;
  assert_ok(roster_cache_del_many(c, keys, 10, &removed));
  assert_int_equal(removed, 0); /* expired keys are not there to delete */
  roster_cache_stats s = stats(c);
  assert_int_equal(s.entries, 0);
  assert_int_equal(s.expired, 10);
  roster_cache_free(c);
}

/* ---- eviction ------------------------------------------------------- */

static void test_evict_clock(void **state) {
  (void)state;
  roster_cache *c =
      open_mem(&(roster_cache_memory_options){.max_entries = 100, .shards = 1});
  assert_non_null(c);
  char k[16];
  roster_cache_buf b = {0};
  for (int i = 0; i < 100; i++) {
    snprintf(k, sizeof k, "k%d", i);
    put(c, k, 0);
  }
  for (int i = 0; i < 50; i++) { /* the first half is used */
    snprintf(k, sizeof k, "k%d", i);
    assert_ok(roster_cache_get_bytes(c, k, strlen(k), &b));
  }
  for (int i = 100; i < 150; i++) {
    snprintf(k, sizeof k, "k%d", i);
    put(c, k, 0);
  }
  roster_cache_stats s = stats(c);
  assert_int_equal(s.entries, 100);
  assert_int_equal(s.evicted, 50);
  assert_int_equal(s.max_entries, 100);
  /* CLOCK gave the used half its second chance and took the unused */
  for (int i = 0; i < 150; i++) {
    snprintf(k, sizeof k, "k%d", i);
    if (has(c, k) != (i < 50 || i >= 100)) {
      print_error("key %s is %s\n", k, has(c, k) ? "present" : "gone");
      fail();
    }
  }
  roster_cache_buf_close(&b);
  roster_cache_free(c);
}

static void test_evict_sharded(void **state) {
  (void)state;
  roster_cache *c =
      open_mem(&(roster_cache_memory_options){.max_entries = 1000});
  assert_non_null(c);
  assert_int_equal(info_int(c, "shards"), 8); /* ~125 entries per shard */
  char k[16];
  for (int i = 0; i < 5000; i++) {
    snprintf(k, sizeof k, "k%d", i);
    put(c, k, 0);
  }
  roster_cache_stats s = stats(c);
  assert_int_equal(s.entries, 1000);
  assert_int_equal(s.evicted, 4000);
  assert_true(has(c, "k4999"));
  roster_cache_free(c);
}

static void test_evict_bytes(void **state) {
  (void)state;
  roster_cache *c =
      open_mem(&(roster_cache_memory_options){.max_bytes = 64 * 1024});
  assert_non_null(c);
  static unsigned char v[70 * 1024];
  char k[16];
  for (int i = 0; i < 500; i++) {
    snprintf(k, sizeof k, "k%d", i);
    assert_ok(roster_cache_set_bytes(c, k, strlen(k), v, 1000, 0));
    assert_true(stats(c).bytes <= 64 * 1024);
  }
  roster_cache_stats s = stats(c);
  assert_true(s.evicted > 400);
  assert_int_equal(s.entries + s.evicted, 500);
  assert_true(has(c, "k499"));
  /* an entry larger than max_bytes is refused, and evicts nothing */
  assert_rc(roster_cache_set_bytes(c, CS_K("huge"), v, sizeof v, 0),
            ROSTER_ERANGE);
  assert_contains(roster_last_error(), "max_bytes");
  assert_false(has(c, "huge"));
  assert_int_equal(stats(c).evicted, s.evicted);
  roster_cache_free(c);
}

static void test_locks_pinned(void **state) {
  (void)state;
  roster_cache *c =
      open_mem(&(roster_cache_memory_options){.max_entries = 10, .shards = 1});
  assert_non_null(c);
  roster_cache_lock locks[10];
  char k[16];
  for (int i = 0; i < 10; i++) {
    snprintf(k, sizeof k, "lock%d", i);
    assert_ok(roster_cache_lock_acquire(c, k, strlen(k), 60000, 0, &locks[i]));
  }
  for (int i = 0; i < 20; i++) {
    snprintf(k, sizeof k, "v%d", i);
    put(c, k, 0);
  }
  /* Only values were evicted; the cache stays one over its limit rather
   * than take a held lock. */
  assert_int_equal(stats(c).entries, 11);
  assert_true(has(c, "v19"));
  for (int i = 0; i < 10; i++)
    assert_ok(roster_cache_lock_release(&locks[i]));
  roster_cache_free(c);
}

static void test_expired_first(void **state) {
  (void)state;
  roster_cache *c = open_mem(&(roster_cache_memory_options){
      .max_entries = 10, .shards = 1, .sweep_ms = -1});
  assert_non_null(c);
  char k[16];
  roster_cache_buf b = {0};
  for (int i = 0; i < 10; i++) {
    snprintf(k, sizeof k, "k%d", i);
    put(c, k, i % 2 ? 10 : 0); /* odd keys expire */
    assert_ok(roster_cache_get_bytes(c, k, strlen(k), &b));
  }
  advance(11);
  for (int i = 0; i < 5; i++) {
    snprintf(k, sizeof k, "new%d", i);
    put(c, k, 0);
  }
  roster_cache_stats s = stats(c);
  assert_int_equal(s.entries, 10);
  assert_int_equal(s.evicted, 0); /* every victim had expired */
  assert_int_equal(s.expired, 5);
  for (int i = 0; i < 10; i += 2) {
    snprintf(k, sizeof k, "k%d", i);
    assert_true(has(c, k));
  }
  roster_cache_buf_close(&b);
  roster_cache_free(c);
}

/* ---- growth --------------------------------------------------------- */

static void test_growth(void **state) {
  (void)state;
  roster_cache *c = open_mem(NULL);
  assert_non_null(c);
  assert_int_equal(info_int(c, "buckets"), 1024);
  enum { N = 50000 };
  char k[16];
  for (int i = 0; i < N; i++) {
    snprintf(k, sizeof k, "g%d", i);
    assert_ok(roster_cache_set_int(c, k, strlen(k), i, 0));
  }
  tu_wait_until(info_int(c, "buckets") >= N / 2, LC_LONG_MS);
  assert_true(info_int(c, "buckets") >= N / 2);
  for (int i = 0; i < N; i++) {
    int64_t n = -1;
    snprintf(k, sizeof k, "g%d", i);
    assert_ok(roster_cache_get_int(c, k, strlen(k), &n));
    assert_int_equal(n, i);
  }
  roster_cache_free(c);
}

/* ---- readers and writers racing ------------------------------------- */

enum { RACE_KEYS = 600, RACE_WRITES = 20000, RACE_VLEN = 64 };

typedef struct race {
  roster_cache *c;
  atomic_int writers_left;
  atomic_int bad;    /* a value that is torn or another key's */
  atomic_int errors; /* a failure other than a miss */
} race;

typedef struct race_writer_arg {
  race *r;
  unsigned seed;
} race_writer_arg;

/* A value is 64 bytes: the key's number and a generation, then a byte
 * pattern derived from both, so a reader can tell a whole value of its own
 * key from anything else. */
static void race_value(unsigned char *v, unsigned key, unsigned gen) {
  memcpy(v, &key, 4);
  memcpy(v + 4, &gen, 4);
  for (int i = 8; i < RACE_VLEN; i++)
    v[i] = (unsigned char)(key * 31u + gen * 7u + (unsigned)i);
}

static void *race_writer(void *p) {
  race_writer_arg *w = p;
  race *r = w->r;
  unsigned s = w->seed;
  unsigned char v[RACE_VLEN];
  char k[16];
  for (unsigned gen = 0; gen < RACE_WRITES; gen++) {
    s = s * 1103515245u + 12345u;
    unsigned key = (s >> 8) % RACE_KEYS;
    snprintf(k, sizeof k, "r%u", key);
    race_value(v, key, gen);
    int rc = (gen % 10 == 0)
                 ? roster_cache_del(r->c, k, strlen(k))
                 : roster_cache_set_bytes(r->c, k, strlen(k), v, RACE_VLEN,
                                          gen % 3 ? 0 : 5);
    if (rc && rc != ROSTER_ENOENT)
      atomic_fetch_add(&r->errors, 1);
    if (gen % 64 == 0)
      advance(1); /* TTLs pass while everyone works */
  }
  atomic_fetch_sub(&r->writers_left, 1);
  return NULL;
}

static void *race_reader(void *p) {
  race *r = p;
  roster_cache_buf b = {0};
  char k[16];
  unsigned key = 0;
  while (atomic_load(&r->writers_left) > 0) {
    key = (key + 7) % RACE_KEYS;
    snprintf(k, sizeof k, "r%u", key);
    int rc = roster_cache_get_bytes(r->c, k, strlen(k), &b);
    if (rc == ROSTER_OK) {
      unsigned got_key, gen;
      unsigned char want[RACE_VLEN];
      memcpy(&got_key, b.data, 4);
      memcpy(&gen, b.data + 4, 4);
      race_value(want, key, gen);
      if (b.len != RACE_VLEN || got_key != key ||
          memcmp(b.data, want, RACE_VLEN) != 0)
        atomic_fetch_add(&r->bad, 1);
    } else if (rc != ROSTER_ENOENT) {
      atomic_fetch_add(&r->errors, 1);
    }
  }
  roster_cache_buf_close(&b);
  return NULL;
}

static void test_race(void **state) {
  (void)state;
  /* Eviction (a limit below the key count) and the sweep run too. */
  race r = {.c = open_mem(&(roster_cache_memory_options){.max_entries = 400,
                                                         .sweep_ms = 1})};
  assert_non_null(r.c);
  atomic_init(&r.writers_left, 2);
  pthread_t th[4];
  race_writer_arg wa[2] = {{&r, 1}, {&r, 2}};
  for (int i = 0; i < 2; i++)
    assert_int_equal(pthread_create(&th[i], NULL, race_writer, &wa[i]), 0);
  for (int i = 2; i < 4; i++)
    assert_int_equal(pthread_create(&th[i], NULL, race_reader, &r), 0);
  for (int i = 0; i < 4; i++)
    pthread_join(th[i], NULL);
  assert_int_equal(atomic_load(&r.bad), 0);
  assert_int_equal(atomic_load(&r.errors), 0);
  roster_cache_stats s = stats(r.c);
  assert_true(s.entries <= 400);
  assert_true(s.hits > 0);
  roster_cache_free(r.c);
}

/* Growth under readers: two writers insert new keys into tables that start
 * at one slot per shard (each shard's table is rebuilt and republished
 * again and again, and removals leave tombstones), while two readers look
 * up keys stored before they started, which must be found every time with
 * their own values. */
enum { GROW_STABLE = 64, GROW_WRITES = 6000 };

typedef struct grow {
  roster_cache *c;
  atomic_int writers_left;
  atomic_int missed; /* a stable key not found */
  atomic_int bad;    /* found with another value */
  atomic_int errors;
} grow;

typedef struct grow_writer_arg {
  grow *g;
  unsigned id;
} grow_writer_arg;

static void *grow_writer(void *p) {
  grow_writer_arg *w = p;
  char k[24];
  for (unsigned i = 0; i < GROW_WRITES; i++) {
    snprintf(k, sizeof k, "new%u-%u", w->id, i);
    if (roster_cache_set_int(w->g->c, k, strlen(k), i, 0))
      atomic_fetch_add(&w->g->errors, 1);
    if (i % 3 == 0 && roster_cache_del(w->g->c, k, strlen(k)))
      atomic_fetch_add(&w->g->errors, 1);
  }
  atomic_fetch_sub(&w->g->writers_left, 1);
  return NULL;
}

static void *grow_reader(void *p) {
  grow *g = p;
  char k[16];
  unsigned i = 0;
  while (atomic_load(&g->writers_left) > 0) {
    i = (i + 1) % GROW_STABLE;
    snprintf(k, sizeof k, "stable%u", i);
    int64_t n = -1;
    int rc = roster_cache_get_int(g->c, k, strlen(k), &n);
    if (rc == ROSTER_ENOENT)
      atomic_fetch_add(&g->missed, 1);
    else if (rc)
      atomic_fetch_add(&g->errors, 1);
    else if (n != (int64_t)i * 7)
      atomic_fetch_add(&g->bad, 1);
  }
  return NULL;
}

static void test_race_growth(void **state) {
  (void)state;
  grow g = {.c = open_mem(&(roster_cache_memory_options){
                .shards = 4, .initial_buckets = 4, .sweep_ms = -1})};
  assert_non_null(g.c);
  assert_int_equal(info_int(g.c, "buckets"), 4);
  char k[16];
  for (unsigned i = 0; i < GROW_STABLE; i++) {
    snprintf(k, sizeof k, "stable%u", i);
    assert_ok(roster_cache_set_int(g.c, k, strlen(k), (int64_t)i * 7, 0));
  }
  atomic_init(&g.writers_left, 2);
  pthread_t th[4];
  grow_writer_arg wa[2] = {{&g, 0}, {&g, 1}};
  for (int i = 0; i < 2; i++)
    assert_int_equal(pthread_create(&th[i], NULL, grow_writer, &wa[i]), 0);
  for (int i = 2; i < 4; i++)
    assert_int_equal(pthread_create(&th[i], NULL, grow_reader, &g), 0);
  for (int i = 0; i < 4; i++)
    pthread_join(th[i], NULL);
  assert_int_equal(atomic_load(&g.missed), 0);
  assert_int_equal(atomic_load(&g.bad), 0);
  assert_int_equal(atomic_load(&g.errors), 0);
  roster_cache_stats s = stats(g.c);
  /* the stable keys and two thirds of each writer's */
  assert_int_equal(s.entries,
                   GROW_STABLE + 2 * (GROW_WRITES - GROW_WRITES / 3));
  assert_true((uint64_t)info_int(g.c, "buckets") >= 2 * s.entries);
  roster_cache_free(g.c);
}

/* ---- options -------------------------------------------------------- */

static void test_url_options(void **state) {
  (void)state;
  roster_cache *c = NULL;
  assert_ok(roster_cache_open("memory://opts?max_entries=5&max_bytes=1k&"
                              "sweep_ms=-1&shards=2&buckets=64",
                              NULL, NULL, &c));
  assert_string_equal(roster_cache_name(c), "opts");
  assert_string_equal(roster_cache_scheme(c), "memory");
  roster_cache_stats s = stats(c);
  assert_int_equal(s.max_entries, 5);
  assert_int_equal(s.max_bytes, 1024);
  assert_int_equal(info_int(c, "shards"), 2);
  assert_int_equal(info_int(c, "buckets"), 64);
  assert_int_equal(info_int(c, "sweep_ms"), -1);
  roster_cache_free(c);
  /* the options array adds to the query (and wins) */
  static const char *const opts[] = {"max_entries", "7", "max_bytes", "2MiB",
                                     NULL};
  assert_ok(roster_cache_open("memory://x?max_entries=5", opts, NULL, &c));
  s = stats(c);
  assert_int_equal(s.max_entries, 7);
  assert_int_equal(s.max_bytes, 2 * 1024 * 1024);
  roster_cache_free(c);
  /* bad options: a clear error naming them, no cache */
  assert_rc(roster_cache_open("memory://x?colour=red", NULL, NULL, &c),
            ROSTER_EINVAL);
  assert_contains(roster_last_error(), "'colour'");
  assert_null(c);
  assert_rc(roster_cache_open("memory://x?max_entries=lots", NULL, NULL, &c),
            ROSTER_EINVAL);
  assert_contains(roster_last_error(), "max_entries");
  assert_rc(roster_cache_open("memory://x?max_bytes=5t", NULL, NULL, &c),
            ROSTER_EINVAL);
  assert_rc(roster_cache_open("memory://x?shards=3", NULL, NULL, &c),
            ROSTER_EINVAL);
  assert_contains(roster_last_error(), "power of two");
  assert_rc(roster_cache_open("memory://x?shards=128", NULL, NULL, &c),
            ROSTER_EINVAL);
  assert_rc(roster_cache_open("memory://x?sweep_ms=-0", NULL, NULL, &c),
            ROSTER_EINVAL);
  assert_rc(roster_cache_open("memory://u:hunter2@x", NULL, NULL, &c),
            ROSTER_EINVAL);
  assert_null(strstr(roster_last_error(), "hunter2"));
  assert_rc(roster_cache_open("memory://x/a/path", NULL, NULL, &c),
            ROSTER_EINVAL);
  static const char *const odd[] = {"max_entries", NULL};
  assert_rc(roster_cache_open("memory://x", odd, NULL, &c), ROSTER_EINVAL);
  assert_rc(roster_cache_open("memory://x", NULL, NULL, NULL), ROSTER_EINVAL);
  assert_rc(roster_cache_memory_new(&(roster_cache_memory_options){.shards = 6},
                                    NULL, &c),
            ROSTER_EINVAL);
  assert_rc(roster_cache_memory_new(
                NULL, &(roster_cache_options){.load_lock_ttl_ms = -1}, &c),
            ROSTER_EINVAL);
  assert_null(c);
  /* defaults */
  assert_ok(roster_cache_memory_new(NULL, NULL, &c));
  assert_string_equal(roster_cache_name(c), "memory");
  assert_int_equal(info_int(c, "shards"), 64);
  assert_int_equal(info_int(c, "sweep_ms"), 1000);
  roster_cache_free(c);
}

int main(void) {
  struct CMUnitTest tests[CACHE_SUITE_MAX + 16];
  size_t n = roster__cache_suite_tests(&memory_env, tests, CACHE_SUITE_MAX);
  const struct CMUnitTest own[] = {
      cmocka_unit_test(test_clock_ttl),
      cmocka_unit_test(test_sweep),
      cmocka_unit_test(test_no_sweep),
      cmocka_unit_test(test_evict_clock),
      cmocka_unit_test(test_evict_sharded),
      cmocka_unit_test(test_evict_bytes),
      cmocka_unit_test(test_locks_pinned),
      cmocka_unit_test(test_expired_first),
      cmocka_unit_test(test_growth),
      cmocka_unit_test(test_race),
      cmocka_unit_test(test_race_growth),
      cmocka_unit_test(test_url_options),
  };
  for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
    tests[n++] = own[i];
  int rc = _cmocka_run_group_tests("cache_memory", tests, n, NULL, NULL);
  roster_reclaim_wait(); /* replaced entries are freed after a grace period */
  return rc;
}
