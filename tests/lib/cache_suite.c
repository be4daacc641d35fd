/*
 * cache_suite.c: the conformance suite's value cases (see cache_suite.h):
 * bytes, JSON and int values and their kinds, binary keys and values, 1 MB
 * values, del and exists, TTL semantics (-1/-2 as Redis), incr and its
 * overflow, mget/mset, clear by pattern (with Redis's answers for hostile
 * patterns, cache_glob_cases.c), stats, health, and bad input of
 * every kind changing nothing. The patterns' cases are in
 * cache_suite_patterns.c.
 */
#include "cache_suite.h"

#include "cache_glob_cases.h"

#include <jansson.h>
#include <stdlib.h>

const cache_suite_env *roster__cs_env(void **state) { return *state; }

roster_cache *roster__cs_open(void **state) {
  const cache_suite_env *env = roster__cs_env(state);
  roster_cache *c = env->open(env);
  if (!c) {
    print_error("%s: cannot open a cache: %s\n", env->name,
                roster_last_error());
    fail();
  }
  return c;
}

static bool key_exists(roster_cache *c, const void *k, size_t n) {
  bool e = true;
  assert_ok(roster_cache_exists(c, k, n, &e));
  return e;
}

/* ---- bytes ---------------------------------------------------------- */

static void t_bytes(void **state) {
  roster_cache *c = roster__cs_open(state);
  roster_cache_buf b = {0};
  assert_ok(roster_cache_set_bytes(c, CS_K("greeting"), "hello", 5, 0));
  assert_ok(roster_cache_get_bytes(c, CS_K("greeting"), &b));
  assert_bytes(&b, "hello", 5);
  assert_int_equal(b.data[b.len], 0); /* NUL-terminated */
  /* overwrite with a shorter value; the buffer is reused */
  assert_ok(roster_cache_set_bytes(c, CS_K("greeting"), "hi", 2, 0));
  assert_ok(roster_cache_get_bytes(c, CS_K("greeting"), &b));
  assert_bytes(&b, "hi", 2);
  /* an empty value is a value */
  assert_ok(roster_cache_set_bytes(c, CS_K("empty"), NULL, 0, 0));
  assert_ok(roster_cache_get_bytes(c, CS_K("empty"), &b));
  assert_bytes(&b, "", 0);
  /* binary keys and values: NUL, 0xff, and keys differing only after a NUL */
  static const unsigned char k1[] = {'k', 0, 0xff, 'x'};
  static const unsigned char k2[] = {'k', 0, 0xff, 'y'};
  static const unsigned char v1[] = {0, 1, 2, 0, 0xfe, 0xff, 0};
  assert_ok(roster_cache_set_bytes(c, k1, sizeof k1, v1, sizeof v1, 0));
  assert_ok(roster_cache_set_bytes(c, k2, sizeof k2, "other", 5, 0));
  assert_ok(roster_cache_get_bytes(c, k1, sizeof k1, &b));
  assert_bytes(&b, v1, sizeof v1);
  assert_ok(roster_cache_get_bytes(c, k2, sizeof k2, &b));
  assert_bytes(&b, "other", 5);
  assert_rc(roster_cache_get_bytes(c, k1, 2, &b), ROSTER_ENOENT); /* "k\0" */
  /* a miss: ENOENT naming the cache and the key (escaped), buffer empty */
  assert_rc(roster_cache_get_bytes(c, CS_K("absent"), &b), ROSTER_ENOENT);
  assert_int_equal(b.kind, ROSTER_CACHE_NONE);
  assert_int_equal(b.len, 0);
  assert_contains(roster_last_error(), "absent");
  assert_contains(roster_last_error(), roster_cache_name(c));
  assert_rc(roster_cache_get_bytes(c, k1, 3, &b), ROSTER_ENOENT);
  assert_contains(roster_last_error(), "k\\x00");
  roster_cache_buf_close(&b);
  assert_null(b.data);
  roster_cache_free(c);
}

/* A miss's sentence is composed only when asked for: it must read the same
 * as one composed at once, whatever happened to the cache meanwhile. */
static void t_miss_detail(void **state) {
  roster_cache *c = roster__cs_open(state);
  roster_cache_buf b = {0};
  char want[256];
  snprintf(want, sizeof want, "cache '%s': get_bytes: key 'gone' not found",
           roster_cache_name(c));
  assert_rc(roster_cache_get_bytes(c, CS_K("gone"), &b), ROSTER_ENOENT);
  assert_int_equal(roster_last_code(), ROSTER_ENOENT);
  assert_string_equal(roster_last_error(), want);
  assert_string_equal(roster_last_error(), want); /* asked twice */
  /* each op names itself */
  assert_rc(roster_cache_del(c, CS_K("gone")), ROSTER_ENOENT);
  assert_contains(roster_last_error(), ": del: key 'gone' not found");
  /* a key past the 255 bytes a lazy detail keeps: quoted, shortened */
  static char longkey[1000];
  memset(longkey, 'q', sizeof longkey);
  longkey[sizeof longkey - 1] = 'Z';
  assert_rc(roster_cache_get_bytes(c, longkey, sizeof longkey, &b),
            ROSTER_ENOENT);
  const char *e = roster_last_error();
  assert_contains(e, "key 'qqqqqqqq");
  assert_contains(e, "...' not found");
  assert_null(strchr(e, 'Z'));
  assert_true(strlen(e) < 200);
  /* a later failure replaces the miss's detail */
  assert_rc(roster_cache_get_bytes(c, CS_K("gone"), &b), ROSTER_ENOENT);
  assert_rc(roster_cache_get_bytes(c, CS_K("k"), NULL), ROSTER_EINVAL);
  assert_null(strstr(roster_last_error(), "not found"));
  /* the detail outlives the cache: asked for after roster_cache_free */
  assert_rc(roster_cache_get_bytes(c, "g\0ne", 4, &b), ROSTER_ENOENT);
  snprintf(want, sizeof want, "cache '%s': get_bytes: key 'g\\x00ne' not found",
           roster_cache_name(c));
  roster_cache_buf_close(&b);
  roster_cache_free(c);
  assert_string_equal(roster_last_error(), want);
}

static void fill_random(unsigned char *p, size_t n, uint64_t seed) {
  uint64_t x = seed | 1;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    p[i] = (unsigned char)x;
  }
}

static void t_big_values(void **state) {
  roster_cache *c = roster__cs_open(state);
  enum { MB = 1024 * 1024 };
  unsigned char *v = malloc(MB);
  unsigned char *w = malloc(MB);
  assert_non_null(v);
  assert_non_null(w);
  fill_random(v, MB, 42);
  fill_random(w, MB, 43);
  roster_cache_buf b = {0};
  assert_ok(roster_cache_set_bytes(c, CS_K("big"), v, MB, 0));
  assert_ok(roster_cache_get_bytes(c, CS_K("big"), &b));
  assert_bytes(&b, v, MB);
  /* a 1 MB key's worth of neighbours through mset/mget */
  roster_cache_item items[2] = {
      {.key = "big1",
       .key_len = 4,
       .kind = ROSTER_CACHE_BYTES,
       .data = v,
       .len = MB},
      {.key = "big2",
       .key_len = 4,
       .kind = ROSTER_CACHE_BYTES,
       .data = w,
       .len = MB},
  };
  assert_ok(roster_cache_mset(c, items, 2, 0));
  roster_cache_key keys[2] = {{"big1", 4}, {"big2", 4}};
  roster_cache_buf out[2] = {{0}, {0}};
  assert_ok(roster_cache_mget(c, keys, 2, out));
  assert_bytes(&out[0], v, MB);
  assert_bytes(&out[1], w, MB);
  /* the longest key works too */
  unsigned char *longkey = malloc(ROSTER_CACHE_KEY_MAX);
  assert_non_null(longkey);
  fill_random(longkey, ROSTER_CACHE_KEY_MAX, 7);
  assert_ok(
      roster_cache_set_bytes(c, longkey, ROSTER_CACHE_KEY_MAX, "L", 1, 0));
  assert_ok(roster_cache_get_bytes(c, longkey, ROSTER_CACHE_KEY_MAX, &b));
  assert_bytes(&b, "L", 1);
  free(longkey);
  roster_cache_buf_close(&out[0]);
  roster_cache_buf_close(&out[1]);
  roster_cache_buf_close(&b);
  free(v);
  free(w);
  roster_cache_free(c);
}

/* ---- kinds ---------------------------------------------------------- */

static void t_kinds(void **state) {
  roster_cache *c = roster__cs_open(state);
  json_t *doc = json_pack("{s:s, s:I, s:f, s:[i,i,{s:b}], s:n, s:s}", "name",
                          "Ada \xc3\xa9", "big",
                          (json_int_t)1152921504606846977LL, "pi", 3.25, "list",
                          1, 2, "deep", 1, "none", "raw", "with \"quotes\"\n");
  assert_non_null(doc);
  assert_ok(roster_cache_set_json(c, CS_K("doc"), doc, 0));
  json_t *back = NULL;
  assert_ok(roster_cache_get_json(c, CS_K("doc"), &back));
  assert_true(json_equal(doc, back));
  assert_int_equal(json_integer_value(json_object_get(back, "big")),
                   1152921504606846977LL);
  json_decref(back);
  /* scalars are JSON values too */
  json_t *str = json_string("just text");
  assert_ok(roster_cache_set_json(c, CS_K("scalar"), str, 0));
  assert_ok(roster_cache_get_json(c, CS_K("scalar"), &back));
  assert_string_equal(json_string_value(back), "just text");
  json_decref(back);
  json_decref(str);
  assert_ok(roster_cache_set_bytes(c, CS_K("bytes"), "{\"a\":1}", 7, 0));
  assert_ok(roster_cache_set_int(c, CS_K("int"), -42, 0));

  roster_cache_buf b = {0};
  int64_t n = 0;
  /* the wrong reader is a clear ETYPE naming the right one */
  assert_rc(roster_cache_get_bytes(c, CS_K("doc"), &b), ROSTER_ETYPE);
  assert_contains(roster_last_error(), "JSON");
  assert_contains(roster_last_error(), "roster_cache_get_json");
  assert_int_equal(b.kind, ROSTER_CACHE_NONE);
  assert_rc(roster_cache_get_json(c, CS_K("bytes"), &back), ROSTER_ETYPE);
  assert_null(back);
  assert_contains(roster_last_error(), "roster_cache_get_bytes");
  assert_rc(roster_cache_get_int(c, CS_K("bytes"), &n), ROSTER_ETYPE);
  assert_rc(roster_cache_get_bytes(c, CS_K("int"), &b), ROSTER_ETYPE);
  assert_contains(roster_last_error(), "roster_cache_get_int");
  assert_rc(roster_cache_get_json(c, CS_K("int"), &back), ROSTER_ETYPE);
  assert_rc(roster_cache_incr(c, CS_K("bytes"), &n), ROSTER_ETYPE);
  assert_rc(roster_cache_incr(c, CS_K("doc"), &n), ROSTER_ETYPE);
  /* ... and changed nothing */
  assert_ok(roster_cache_get_bytes(c, CS_K("bytes"), &b));
  assert_bytes(&b, "{\"a\":1}", 7);
  assert_ok(roster_cache_get_json(c, CS_K("doc"), &back));
  assert_true(json_equal(doc, back));
  json_decref(back);

  /* get_value reads any kind */
  assert_ok(roster_cache_get_value(c, CS_K("int"), &b));
  assert_int_equal(b.kind, ROSTER_CACHE_INT);
  assert_int_equal(b.num, -42);
  assert_string_equal((char *)b.data, "-42");
  assert_ok(roster_cache_get_value(c, CS_K("doc"), &b));
  assert_int_equal(b.kind, ROSTER_CACHE_JSON);
  assert_ok(roster_cache_get_value(c, CS_K("bytes"), &b));
  assert_int_equal(b.kind, ROSTER_CACHE_BYTES);
  assert_ok(roster_cache_get_int(c, CS_K("int"), &n));
  assert_int_equal(n, -42);
  /* a new kind replaces the old */
  assert_ok(roster_cache_set_bytes(c, CS_K("int"), "now bytes", 9, 0));
  assert_rc(roster_cache_get_int(c, CS_K("int"), &n), ROSTER_ETYPE);
  roster_cache_buf_close(&b);
  json_decref(doc);
  roster_cache_free(c);
}

/* ---- del, exists, ttl ----------------------------------------------- */

static void t_del_exists(void **state) {
  roster_cache *c = roster__cs_open(state);
  assert_ok(roster_cache_set_bytes(c, CS_K("a"), "1", 1, 0));
  assert_ok(roster_cache_set_bytes(c, CS_K("b"), "2", 1, 0));
  assert_ok(roster_cache_set_int(c, CS_K("c"), 3, 0));
  assert_true(key_exists(c, CS_K("a")));
  assert_false(key_exists(c, CS_K("zz")));
  assert_ok(roster_cache_del(c, CS_K("a")));
  assert_false(key_exists(c, CS_K("a")));
  assert_rc(roster_cache_del(c, CS_K("a")), ROSTER_ENOENT);
  assert_contains(roster_last_error(), "'a'");
  roster_cache_key keys[] = {{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}};
  size_t removed = 99;
  assert_ok(roster_cache_del_many(c, keys, 4, &removed));
  assert_int_equal(removed, 2);
  assert_false(key_exists(c, CS_K("b")));
  assert_false(key_exists(c, CS_K("c")));
  assert_ok(roster_cache_del_many(c, keys, 4, &removed));
  assert_int_equal(removed, 0);
  assert_ok(roster_cache_del_many(c, NULL, 0, &removed));
  assert_int_equal(removed, 0);
  roster_cache_free(c);
}

static void t_ttl(void **state) {
  const cache_suite_env *env = roster__cs_env(state);
  roster_cache *c = roster__cs_open(state);
  int64_t t = 0, n = 0;
  roster_cache_buf b = {0};
  const int64_t long_ms = 1000 * env->tick_ms; /* never passes in a case */
  assert_ok(roster_cache_ttl(c, CS_K("missing"), &t));
  assert_int_equal(t, -2);
  assert_ok(roster_cache_set_bytes(c, CS_K("forever"), "x", 1, 0));
  assert_ok(roster_cache_ttl(c, CS_K("forever"), &t));
  assert_int_equal(t, -1);
  assert_ok(roster_cache_set_bytes(c, CS_K("k"), "x", 1, long_ms));
  assert_ok(roster_cache_ttl(c, CS_K("k"), &t));
  assert_true(t > 0 && t <= long_ms);
  assert_ok(roster_cache_expire(c, CS_K("k"), 2 * long_ms));
  assert_ok(roster_cache_ttl(c, CS_K("k"), &t));
  assert_true(t > long_ms && t <= 2 * long_ms);
  assert_ok(roster_cache_expire(c, CS_K("k"), 0)); /* 0: no expiry */
  assert_ok(roster_cache_ttl(c, CS_K("k"), &t));
  assert_int_equal(t, -1);
  assert_ok(roster_cache_expire(c, CS_K("k"), long_ms));
  assert_ok(roster_cache_set_bytes(c, CS_K("k"), "y", 1, 0)); /* set clears */
  assert_ok(roster_cache_ttl(c, CS_K("k"), &t));
  assert_int_equal(t, -1);
  assert_rc(roster_cache_expire(c, CS_K("missing"), long_ms), ROSTER_ENOENT);
  assert_false(key_exists(c, CS_K("missing")));

  /* expiry: gone for every operation */
  assert_ok(roster_cache_set_bytes(c, CS_K("short"), "x", 1, env->tick_ms));
  assert_ok(roster_cache_set_int(c, CS_K("ctr"), 5, long_ms));
  assert_ok(roster_cache_incr(c, CS_K("ctr"), &n)); /* incr keeps the TTL */
  assert_int_equal(n, 6);
  assert_ok(roster_cache_ttl(c, CS_K("ctr"), &t));
  assert_true(t > 0 && t <= long_ms);
  assert_ok(roster_cache_set_int(c, CS_K("ctr2"), 5, env->tick_ms));
  env->advance(env, c, 2 * env->tick_ms);
  assert_rc(roster_cache_get_bytes(c, CS_K("short"), &b), ROSTER_ENOENT);
  assert_ok(roster_cache_ttl(c, CS_K("short"), &t));
  assert_int_equal(t, -2);
  assert_false(key_exists(c, CS_K("short")));
  assert_rc(roster_cache_del(c, CS_K("short")), ROSTER_ENOENT);
  assert_rc(roster_cache_expire(c, CS_K("short"), long_ms), ROSTER_ENOENT);
  /* an expired counter starts again at 0, with no expiry */
  assert_ok(roster_cache_incr(c, CS_K("ctr2"), &n));
  assert_int_equal(n, 1);
  assert_ok(roster_cache_ttl(c, CS_K("ctr2"), &t));
  assert_int_equal(t, -1);
  /* the long ones are still there */
  assert_ok(roster_cache_get_int(c, CS_K("ctr"), &n));
  assert_int_equal(n, 6);
  assert_true(key_exists(c, CS_K("forever")));
  roster_cache_buf_close(&b);
  roster_cache_free(c);
}

/* ---- incr ----------------------------------------------------------- */

static void t_incr(void **state) {
  roster_cache *c = roster__cs_open(state);
  int64_t n = 0;
  assert_ok(roster_cache_incr(c, CS_K("n"), &n));
  assert_int_equal(n, 1);
  assert_ok(roster_cache_incr_by(c, CS_K("n"), 10, &n));
  assert_int_equal(n, 11);
  assert_ok(roster_cache_decr(c, CS_K("n"), &n));
  assert_int_equal(n, 10);
  assert_ok(roster_cache_incr_by(c, CS_K("n"), -25, NULL));
  assert_ok(roster_cache_get_int(c, CS_K("n"), &n));
  assert_int_equal(n, -15);
  assert_ok(roster_cache_decr(c, CS_K("m"), &n)); /* missing: from 0 */
  assert_int_equal(n, -1);
  /* overflow: ERANGE, the counter unchanged */
  assert_ok(roster_cache_set_int(c, CS_K("top"), INT64_MAX, 0));
  assert_rc(roster_cache_incr(c, CS_K("top"), &n), ROSTER_ERANGE);
  assert_ok(roster_cache_get_int(c, CS_K("top"), &n));
  assert_true(n == INT64_MAX);
  assert_ok(roster_cache_set_int(c, CS_K("bottom"), INT64_MIN + 1, 0));
  assert_ok(roster_cache_decr(c, CS_K("bottom"), &n));
  assert_true(n == INT64_MIN);
  assert_rc(roster_cache_decr(c, CS_K("bottom"), &n), ROSTER_ERANGE);
  assert_ok(roster_cache_set_int(c, CS_K("z"), 5, 0));
  assert_ok(roster_cache_incr_by(c, CS_K("z"), INT64_MIN, &n));
  assert_true(n == INT64_MIN + 5);
  assert_rc(roster_cache_incr_by(c, CS_K("z"), INT64_MIN, &n), ROSTER_ERANGE);
  roster_cache_free(c);
}

enum { INCR_THREADS = 4, INCR_EACH = 1000 };

typedef struct incr_arg {
  roster_cache *c;
  pthread_barrier_t *go;
  int errors;
} incr_arg;

static void *incr_main(void *p) {
  incr_arg *a = p;
  pthread_barrier_wait(a->go);
  for (int i = 0; i < INCR_EACH; i++)
    if (roster_cache_incr(a->c, CS_K("shared"), NULL) != ROSTER_OK)
      a->errors++;
  return NULL;
}

static void t_incr_threads(void **state) {
  roster_cache *c = roster__cs_open(state);
  pthread_barrier_t go;
  pthread_barrier_init(&go, NULL, INCR_THREADS);
  pthread_t th[INCR_THREADS];
  incr_arg a[INCR_THREADS];
  for (int i = 0; i < INCR_THREADS; i++) {
    a[i] = (incr_arg){c, &go, 0};
    assert_int_equal(pthread_create(&th[i], NULL, incr_main, &a[i]), 0);
  }
  for (int i = 0; i < INCR_THREADS; i++)
    pthread_join(th[i], NULL);
  for (int i = 0; i < INCR_THREADS; i++)
    assert_int_equal(a[i].errors, 0);
  int64_t n = 0;
  assert_ok(roster_cache_get_int(c, CS_K("shared"), &n));
  assert_int_equal(n, INCR_THREADS * INCR_EACH);
  pthread_barrier_destroy(&go);
  roster_cache_free(c);
}

/* ---- mget / mset ---------------------------------------------------- */

static void t_mget_mset(void **state) {
  const cache_suite_env *env = roster__cs_env(state);
  roster_cache *c = roster__cs_open(state);
  json_t *j = json_pack("{s:i}", "v", 7);
  roster_cache_item items[] = {
      {.key = "m1",
       .key_len = 2,
       .kind = ROSTER_CACHE_BYTES,
       .data = "one",
       .len = 3},
      {.key = "m2", .key_len = 2, .kind = ROSTER_CACHE_JSON, .json = j},
      {.key = "m3", .key_len = 2, .kind = ROSTER_CACHE_INT, .num = 33},
  };
  assert_ok(roster_cache_mset(c, items, 3, 1000 * env->tick_ms));
  roster_cache_key keys[] = {{"m1", 2}, {"nope", 4}, {"m2", 2}, {"m3", 2}};
  roster_cache_buf out[4] = {{0}, {0}, {0}, {0}};
  assert_ok(roster_cache_mget(c, keys, 4, out));
  assert_bytes(&out[0], "one", 3);
  assert_int_equal(out[1].kind, ROSTER_CACHE_NONE);
  assert_int_equal(out[2].kind, ROSTER_CACHE_JSON);
  assert_string_equal((char *)out[2].data, "{\"v\":7}");
  assert_int_equal(out[3].kind, ROSTER_CACHE_INT);
  assert_int_equal(out[3].num, 33);
  int64_t t = 0;
  assert_ok(roster_cache_ttl(c, CS_K("m3"), &t));
  assert_true(t > 0);
  /* one bad item: nothing is stored, the detail names the item */
  roster_cache_item bad[] = {
      {.key = "ok1",
       .key_len = 3,
       .kind = ROSTER_CACHE_BYTES,
       .data = "x",
       .len = 1},
      {.key = "",
       .key_len = 0,
       .kind = ROSTER_CACHE_BYTES,
       .data = "y",
       .len = 1},
  };
  assert_rc(roster_cache_mset(c, bad, 2, 0), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "items[1]");
  assert_false(key_exists(c, CS_K("ok1")));
  bad[1] = (roster_cache_item){.key = "k", .key_len = 1, .kind = 99};
  assert_rc(roster_cache_mset(c, bad, 2, 0), ROSTER_EINVAL);
  bad[1] =
      (roster_cache_item){.key = "k", .key_len = 1, .kind = ROSTER_CACHE_JSON};
  assert_rc(roster_cache_mset(c, bad, 2, 0), ROSTER_EINVAL);
  assert_false(key_exists(c, CS_K("ok1")));
  assert_false(key_exists(c, CS_K("k")));
  /* nothing asked, nothing done */
  assert_ok(roster_cache_mget(c, NULL, 0, NULL));
  assert_ok(roster_cache_mset(c, NULL, 0, 0));
  for (int i = 0; i < 4; i++)
    roster_cache_buf_close(&out[i]);
  json_decref(j);
  roster_cache_free(c);
}

/* ---- clear ---------------------------------------------------------- */

static void t_clear(void **state) {
  roster_cache *c = roster__cs_open(state);
  static const char *const names[] = {
      "user:1", "user:2", "user:10", "session:1", "a*b", "axb", "u"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    assert_ok(roster_cache_set_bytes(c, names[i], strlen(names[i]), "v", 1, 0));
  static const unsigned char bin[] = {'u', 's', 'e', 'r', ':', 0, 0xff};
  assert_ok(roster_cache_set_bytes(c, bin, sizeof bin, "v", 1, 0));
  size_t n = 0;
  assert_ok(roster_cache_clear(c, CS_K("user:?"), &n));
  assert_int_equal(n, 2); /* user:1, user:2 */
  assert_true(key_exists(c, CS_K("user:10")));
  assert_ok(roster_cache_clear(c, CS_K("a\\*b"), &n)); /* literal '*' */
  assert_int_equal(n, 1);
  assert_true(key_exists(c, CS_K("axb")));
  assert_ok(roster_cache_clear(c, CS_K("[^u]*"), &n)); /* session:1, axb */
  assert_int_equal(n, 2);
  assert_ok(roster_cache_clear(c, CS_K("user:*"), &n)); /* user:10, bin */
  assert_int_equal(n, 2);
  assert_false(key_exists(c, bin, sizeof bin));
  assert_true(key_exists(c, CS_K("u")));
  assert_ok(roster_cache_set_bytes(c, CS_K("v"), "v", 1, 0));
  assert_ok(roster_cache_clear(c, CS_K("[t-v]"), &n));
  assert_int_equal(n, 2);
  assert_ok(roster_cache_set_bytes(c, CS_K("w"), "v", 1, 0));
  assert_ok(roster_cache_clear(c, NULL, 0, &n));
  assert_int_equal(n, 1);
  assert_false(key_exists(c, CS_K("w")));
  assert_ok(roster_cache_clear(c, NULL, 0, NULL));
  roster_cache_free(c);
}

/* t_clear_glob: clear selects the keys Redis's glob selects, on every
 * backend. For each pattern of cache_glob_cases.c (hostile ones: signed
 * ranges over high bytes, escapes, empty and unterminated classes, NUL
 * bytes, 1000 runs of '*' and more), the keys of its rows are set, clear
 * runs, and exactly the keys Redis 7 matches are gone. */
static void t_clear_glob(void **state) {
  roster_cache *c = roster__cs_open(state);
  size_t n = 0;
  const cache_glob_case *t = roster__cache_glob_cases(&n);
  char hp[96], hk[96];
  int bad = 0;
  for (size_t i = 0, j; i < n; i = j) {
    for (j = i; j < n && t[j].plen == t[i].plen &&
                memcmp(t[j].pat, t[i].pat, t[i].plen) == 0;
         j++)
      ;
    if (!t[i].plen)
      continue; /* an empty pattern is EINVAL (t_bad_input) */
    size_t want = 0, removed = 0;
    for (size_t r = i; r < j; r++)
      if (t[r].klen) { /* a cache has no empty key */
        assert_ok(roster_cache_set_bytes(c, t[r].key, t[r].klen, "v", 1, 0));
        want += t[r].match;
      }
    assert_ok(roster_cache_clear(c, t[i].pat, t[i].plen, &removed));
    roster__cache_glob_hex(hp, sizeof hp, t[i].pat, t[i].plen);
    for (size_t r = i; r < j; r++)
      if (t[r].klen && key_exists(c, t[r].key, t[r].klen) == t[r].match) {
        print_error("%s: clear '%s' %s key '%s'\n", roster__cs_env(state)->name,
                    hp, t[r].match ? "kept" : "removed",
                    roster__cache_glob_hex(hk, sizeof hk, t[r].key, t[r].klen));
        bad++;
      }
    if (removed != want) {
      print_error("%s: clear '%s' counted %zu, want %zu\n",
                  roster__cs_env(state)->name, hp, removed, want);
      bad++;
    }
    assert_ok(roster_cache_clear(c, NULL, 0, NULL));
  }
  assert_int_equal(bad, 0);
  roster_cache_free(c);
}

/* ---- stats and health ----------------------------------------------- */

static void t_stats(void **state) {
  roster_cache *c = roster__cs_open(state);
  roster_cache_stats s0, s1;
  roster_cache_buf b = {0};
  assert_ok(roster_cache_stats_get(c, &s0));
  for (int i = 0; i < 5; i++) {
    char k[16];
    snprintf(k, sizeof k, "s%d", i);
    assert_ok(roster_cache_set_bytes(c, k, strlen(k), "v", 1, 0));
  }
  assert_ok(roster_cache_get_bytes(c, CS_K("s1"), &b));
  assert_rc(roster_cache_get_bytes(c, CS_K("none"), &b), ROSTER_ENOENT);
  assert_ok(roster_cache_stats_get(c, &s1));
  assert_true(s1.entries >= 5);
  assert_true(s1.hits >= s0.hits + 1);
  assert_true(s1.misses >= s0.misses + 1);
  assert_true(s1.bytes > 0);
  assert_ok(roster_cache_health(c));
  assert_true(*roster_cache_name(c));
  assert_true(*roster_cache_scheme(c));
  json_t *info = NULL;
  int rc = roster_cache_info(c, &info);
  if (rc == ROSTER_OK) {
    assert_true(json_is_object(info));
    json_decref(info);
  } else {
    assert_rc(rc, ROSTER_ENOTSUP);
    assert_null(info);
  }
  roster_cache_buf_close(&b);
  roster_cache_free(c);
}

/* ---- bad input ------------------------------------------------------ */

static void t_bad_input(void **state) {
  const cache_suite_env *env = roster__cs_env(state);
  roster_cache *c = roster__cs_open(state);
  roster_cache_buf b = {0};
  int64_t n = 0;
  bool e = false;
  json_t *j = json_integer(1), *jo = NULL;
  roster_cache_stats st;
  roster_cache_rate rate;
  roster_cache_lock lk = {0};
  size_t cnt = 0;
  /* a NULL cache */
  assert_rc(roster_cache_set_bytes(NULL, CS_K("k"), "v", 1, 0), ROSTER_EINVAL);
  assert_rc(roster_cache_get_bytes(NULL, CS_K("k"), &b), ROSTER_EINVAL);
  assert_rc(roster_cache_get_json(NULL, CS_K("k"), &jo), ROSTER_EINVAL);
  assert_rc(roster_cache_get_int(NULL, CS_K("k"), &n), ROSTER_EINVAL);
  assert_rc(roster_cache_del(NULL, CS_K("k")), ROSTER_EINVAL);
  assert_rc(roster_cache_exists(NULL, CS_K("k"), &e), ROSTER_EINVAL);
  assert_rc(roster_cache_ttl(NULL, CS_K("k"), &n), ROSTER_EINVAL);
  assert_rc(roster_cache_incr(NULL, CS_K("k"), &n), ROSTER_EINVAL);
  assert_rc(roster_cache_clear(NULL, NULL, 0, &cnt), ROSTER_EINVAL);
  assert_rc(roster_cache_stats_get(NULL, &st), ROSTER_EINVAL);
  assert_rc(roster_cache_lock_acquire(NULL, CS_K("k"), 10, 0, &lk),
            ROSTER_EINVAL);
  assert_rc(roster_cache_rate_fixed(NULL, CS_K("k"), 1, 10, &rate),
            ROSTER_EINVAL);
  assert_rc(roster_cache_health(NULL), ROSTER_EINVAL);
  /* NULL, empty and over-long keys */
  static unsigned char huge[ROSTER_CACHE_KEY_MAX + 1];
  assert_rc(roster_cache_set_bytes(c, NULL, 3, "v", 1, 0), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "NULL");
  assert_rc(roster_cache_set_bytes(c, "", 0, "v", 1, 0), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "empty");
  assert_rc(roster_cache_set_bytes(c, huge, sizeof huge, "v", 1, 0),
            ROSTER_EINVAL);
  assert_contains(roster_last_error(), "65537");
  assert_rc(roster_cache_get_bytes(c, "", 0, &b), ROSTER_EINVAL);
  assert_rc(roster_cache_incr(c, NULL, 1, &n), ROSTER_EINVAL);
  assert_rc(roster_cache_del(c, huge, sizeof huge), ROSTER_EINVAL);
  roster_cache_key badkeys[] = {{"ok", 2}, {NULL, 0}};
  assert_rc(roster_cache_del_many(c, badkeys, 2, &cnt), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "keys[1]");
  assert_rc(roster_cache_mget(c, badkeys, 2, &b), ROSTER_EINVAL);
  /* TTLs: negative, and more than 100 years */
  assert_rc(roster_cache_set_bytes(c, CS_K("k"), "v", 1, -1), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "negative");
  assert_rc(
      roster_cache_set_bytes(c, CS_K("k"), "v", 1, ROSTER_CACHE_TTL_MAX + 1),
      ROSTER_ERANGE);
  assert_rc(roster_cache_set_json(c, CS_K("k"), j, -5), ROSTER_EINVAL);
  assert_rc(roster_cache_set_int(c, CS_K("k"), 1, INT64_MAX), ROSTER_ERANGE);
  assert_rc(roster_cache_mset(c,
                              &(roster_cache_item){.key = "k",
                                                   .key_len = 1,
                                                   .kind = ROSTER_CACHE_INT},
                              1, -1),
            ROSTER_EINVAL);
  /* values: NULL data with a length, too large, a NULL tree */
  assert_rc(roster_cache_set_bytes(c, CS_K("k"), NULL, 5, 0), ROSTER_EINVAL);
  assert_rc(
      roster_cache_set_bytes(c, CS_K("k"), huge, ROSTER_CACHE_VALUE_MAX + 1, 0),
      ROSTER_ERANGE); /* refused before a byte is read */
  assert_rc(roster_cache_set_json(c, CS_K("k"), NULL, 0), ROSTER_EINVAL);
  /* none of that stored anything */
  assert_false(key_exists(c, CS_K("k")));
  assert_ok(roster_cache_set_bytes(c, CS_K("k"), "v", 1, 0));
  assert_rc(roster_cache_expire(c, CS_K("k"), -1), ROSTER_EINVAL);
  assert_rc(roster_cache_expire(c, CS_K("k"), ROSTER_CACHE_TTL_MAX + 1),
            ROSTER_ERANGE);
  assert_ok(roster_cache_ttl(c, CS_K("k"), &n));
  assert_int_equal(n, -1);
  /* NULL outputs */
  assert_rc(roster_cache_get_bytes(c, CS_K("k"), NULL), ROSTER_EINVAL);
  assert_rc(roster_cache_get_json(c, CS_K("k"), NULL), ROSTER_EINVAL);
  assert_rc(roster_cache_get_int(c, CS_K("k"), NULL), ROSTER_EINVAL);
  assert_rc(roster_cache_get_value(c, CS_K("k"), NULL), ROSTER_EINVAL);
  assert_rc(roster_cache_exists(c, CS_K("k"), NULL), ROSTER_EINVAL);
  assert_rc(roster_cache_ttl(c, CS_K("k"), NULL), ROSTER_EINVAL);
  assert_rc(roster_cache_stats_get(c, NULL), ROSTER_EINVAL);
  assert_rc(roster_cache_info(c, NULL), ROSTER_EINVAL);
  assert_rc(roster_cache_mget(c, badkeys, 1, NULL), ROSTER_EINVAL);
  /* patterns */
  assert_rc(roster_cache_clear(c, "", 0, &cnt), ROSTER_EINVAL);
  assert_rc(roster_cache_clear(c, NULL, 3, &cnt), ROSTER_EINVAL);
  assert_rc(roster_cache_clear(c, huge, sizeof huge, &cnt), ROSTER_EINVAL);
  assert_true(key_exists(c, CS_K("k")));
  /* buffers */
  assert_rc(roster_cache_buf_set(NULL, ROSTER_CACHE_BYTES, "x", 1),
            ROSTER_EINVAL);
  assert_rc(roster_cache_buf_set(&b, ROSTER_CACHE_NONE, "x", 1), ROSTER_EINVAL);
  assert_rc(roster_cache_buf_set(&b, ROSTER_CACHE_INT, "12x", 3),
            ROSTER_EPARSE);
  assert_rc(
      roster_cache_buf_set(&b, ROSTER_CACHE_INT, "99999999999999999999", 20),
      ROSTER_EPARSE);
  assert_ok(
      roster_cache_buf_set(&b, ROSTER_CACHE_INT, "-9223372036854775808", 20));
  assert_true(b.num == INT64_MIN);
  roster_cache_buf_close(&b);
  roster_cache_buf_close(NULL);
  (void)env;
  json_decref(j);
  roster_cache_free(c);
  roster_cache_free(NULL);
}

const cache_suite_case roster__cache_suite_value_cases[] = {
    {"bytes", t_bytes},
    {"miss_detail", t_miss_detail},
    {"big_values", t_big_values},
    {"kinds", t_kinds},
    {"del_exists", t_del_exists},
    {"ttl", t_ttl},
    {"incr", t_incr},
    {"incr_threads", t_incr_threads},
    {"mget_mset", t_mget_mset},
    {"clear", t_clear},
    {"clear_glob", t_clear_glob},
    {"stats", t_stats},
    {"bad_input", t_bad_input},
    {NULL, NULL},
};

size_t roster__cache_suite_tests(const cache_suite_env *env,
                                 struct CMUnitTest *tests, size_t cap) {
  static const cache_suite_case *const groups[] = {
      roster__cache_suite_value_cases, roster__cache_suite_pattern_cases};
  size_t n = 0;
  for (size_t g = 0; g < 2; g++)
    for (const cache_suite_case *k = groups[g]; k->name && n < cap; k++)
      tests[n++] = (struct CMUnitTest){
          .name = k->name, .test_func = k->fn, .initial_state = (void *)env};
  return n;
}
