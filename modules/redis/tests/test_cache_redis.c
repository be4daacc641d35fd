/*
 * test_cache_redis.c: the cache conformance suite against a real Redis
 * (the shared test server, $ROSTER_TEST_REDIS_URL), and what is the Redis
 * backend's own.
 *
 * - The suite (tests/lib/cache_suite*.c): each case opens a cache under
 *   a fresh key prefix (roster__tu_unique_name), its peer is a second cache on
 *   the same prefix with its own client (another process's view, so the
 *   cross-process get_or_set cases run), and time passes by sleeping.
 * - Prefixes keep caches apart: clear(NULL) of one leaves another's keys
 *   and keys outside any prefix alone; a prefix with glob characters is
 *   matched literally.
 * - The stored forms are the contract's ('b' + bytes, 'j' + JSON, ints as
 *   text), and strings written by another program read as bytes or ints.
 * - The scripts' SHA-1s are what the server computes (SCRIPT LOAD), and a
 *   server without the scripts (SCRIPT FLUSH) still runs them (EVAL).
 * - Caches declared from redis:// URLs with kind=cache, and made over an
 *   existing client (roster_redis_cache_new); info's sections.
 * - The memory backend's glob (roster__glob, Redis mode) against the server's
 *   own matching, over every pattern x key of cache_glob_cases.c, and
 *   that table's answers against the server's.
 *
 * Never FLUSHDB or FLUSHALL: the server is shared with other tests.
 */
#include "cache_suite.h"

#include <jansson.h>
#include <stdlib.h>

#include "cache/cache_impl.h"
#include "cache_glob_cases.h"
#include "redis_impl.h"

/* ---- the suite's environment ---------------------------------------- */

/* Each open cache's prefix, for its peer. */
static pthread_mutex_t prefixes_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
  roster_cache *c;
  char prefix[64];
} prefixes[64];

static void remember(roster_cache *c, const char *prefix) {
  static int next;
  pthread_mutex_lock(&prefixes_lock);
  /* A new cache may have a freed one's address: its slot is reused. */
  int i = 0;
  while (i < 64 && prefixes[i].c != c)
    i++;
  if (i == 64)
    i = next++ % 64;
  prefixes[i].c = c;
  snprintf(prefixes[i].prefix, sizeof prefixes[i].prefix, "%s", prefix);
  pthread_mutex_unlock(&prefixes_lock);
}

static const char *prefix_of(roster_cache *c) {
  const char *p = NULL;
  pthread_mutex_lock(&prefixes_lock);
  for (int i = 0; i < 64 && !p; i++)
    if (prefixes[i].c == c)
      p = prefixes[i].prefix;
  pthread_mutex_unlock(&prefixes_lock);
  return p;
}

static roster_cache *open_prefix(const char *prefix) {
  const char *url = roster__tu_server_url("REDIS");
  const char *opts[] = {"prefix", prefix, NULL};
  roster_cache_options o = {.name = "suite", .load_lock_ttl_ms = 60000};
  roster_cache *c = NULL;
  if (roster_cache_open(url, opts, &o, &c) != ROSTER_OK)
    return NULL;
  return c;
}

static roster_cache *suite_open(const cache_suite_env *env) {
  (void)env;
  char prefix[64];
  roster__tu_unique_name(prefix, sizeof prefix - 1, "cs");
  strcat(prefix, ":");
  roster_cache *c = open_prefix(prefix);
  if (c)
    remember(c, prefix);
  return c;
}

static roster_cache *suite_peer(const cache_suite_env *env, roster_cache *c) {
  (void)env;
  const char *p = prefix_of(c);
  return p ? open_prefix(p) : NULL;
}

static void suite_advance(const cache_suite_env *env, roster_cache *c,
                          int64_t ms) {
  (void)env;
  (void)c;
  roster__tu_sleep_ms(ms);
}

static const cache_suite_env redis_env = {
    .name = "redis",
    .open = suite_open,
    .open_peer = suite_peer,
    .advance = suite_advance,
    .tick_ms = 300,
};

/* ---- helpers -------------------------------------------------------- */

static roster_redis *client(void) {
  roster_redis *cli = NULL;
  assert_ok(roster_redis_open(roster__tu_server_url("REDIS"), NULL,
                              &(roster_redis_options){.name = "t"}, &cli));
  return cli;
}

/* raw_get reads a key as Redis holds it. */
static roster_redis_reply *raw_get(roster_redis *cli, const void *key,
                                   size_t len) {
  const char *argv[2] = {"GET", key};
  size_t lens[2] = {3, len};
  roster_redis_reply *r = NULL;
  assert_ok(roster_redis_command(cli, 2, argv, lens, &r));
  return r;
}

static void raw_set(roster_redis *cli, const char *key, const char *val) {
  assert_ok(roster_redis_call(cli, NULL, "SET", key, val, NULL));
}

/* ---- the backend's own cases ---------------------------------------- */

static void t_stored_forms(void **state) {
  (void)state;
  roster_redis *cli = client();
  char pre[64], k[96];
  roster__tu_unique_name(pre, sizeof pre, "forms");
  strcat(pre, ":");
  roster_cache *c = NULL;
  assert_ok(roster_redis_cache_new(cli, pre, strlen(pre), NULL, &c));
  assert_string_equal(roster_cache_scheme(c), "redis");
  assert_ok(roster_cache_set_bytes(c, CS_K("b"), "x\0y", 3, 0));
  json_t *j = json_pack("{s:i}", "a", 1);
  assert_ok(roster_cache_set_json(c, CS_K("j"), j, 0));
  json_decref(j);
  assert_ok(roster_cache_set_int(c, CS_K("i"), -7, 0));
  snprintf(k, sizeof k, "%sb", pre);
  roster_redis_reply *r = raw_get(cli, k, strlen(k));
  assert_int_equal(r->type, ROSTER_REDIS_STRING);
  assert_int_equal(r->len, 4);
  assert_memory_equal(r->str, "bx\0y", 4);
  roster_redis_reply_free(r);
  snprintf(k, sizeof k, "%sj", pre);
  r = raw_get(cli, k, strlen(k));
  assert_string_equal(r->str, "j{\"a\":1}");
  roster_redis_reply_free(r);
  snprintf(k, sizeof k, "%si", pre);
  r = raw_get(cli, k, strlen(k));
  assert_string_equal(r->str, "-7");
  roster_redis_reply_free(r);

  /* Strings another program wrote: an integer's canonical form is an int,
   * anything else untagged is bytes, whole. */
  roster_cache_buf b = {0};
  snprintf(k, sizeof k, "%sforeign_int", pre);
  raw_set(cli, k, "12345");
  assert_ok(roster_cache_get_value(c, CS_K("foreign_int"), &b));
  assert_int_equal(b.kind, ROSTER_CACHE_INT);
  assert_int_equal(b.num, 12345);
  snprintf(k, sizeof k, "%sforeign_text", pre);
  raw_set(cli, k, "hello");
  assert_ok(roster_cache_get_bytes(c, CS_K("foreign_text"), &b));
  assert_bytes(&b, "hello", 5);
  snprintf(k, sizeof k, "%sleading_zero", pre);
  raw_set(cli, k, "007");
  assert_ok(roster_cache_get_bytes(c, CS_K("leading_zero"), &b));
  assert_bytes(&b, "007", 3);
  snprintf(k, sizeof k, "%sminus_zero", pre);
  raw_set(cli, k, "-0");
  assert_ok(roster_cache_get_bytes(c, CS_K("minus_zero"), &b));
  assert_bytes(&b, "-0", 2);
  /* a list is not a value: ETYPE, with Redis's text kept */
  snprintf(k, sizeof k, "%slist", pre);
  assert_ok(roster_redis_call(cli, NULL, "RPUSH", k, "x", NULL));
  assert_rc(roster_cache_get_bytes(c, CS_K("list"), &b), ROSTER_ETYPE);
  assert_contains(roster_last_error(), "WRONGTYPE");
  assert_rc(roster_cache_incr(c, CS_K("list"), NULL), ROSTER_ETYPE);
  roster_cache_buf_close(&b);
  assert_ok(roster_cache_clear(c, NULL, 0, NULL));
  roster_cache_free(c);
  roster_redis_free(cli);
}

static void t_prefixes(void **state) {
  (void)state;
  roster_redis *cli = client();
  char u[48], pa[64], pb[64], outside[96];
  roster__tu_unique_name(u, sizeof u, "pre");
  /* As a glob, a's prefix would match b's keys ('*' matching "-b"). */
  snprintf(pa, sizeof pa, "%s*:", u);
  snprintf(pb, sizeof pb, "%s-b:", u);
  roster_cache *a = NULL, *b = NULL;
  assert_ok(roster_redis_cache_new(cli, pa, strlen(pa), NULL, &a));
  assert_ok(roster_redis_cache_new(cli, pb, strlen(pb), NULL, &b));
  /* The client may go: the caches hold it. */
  roster_redis_free(cli);
  assert_ok(roster_cache_set_bytes(a, CS_K("k1"), "a", 1, 0));
  assert_ok(roster_cache_set_bytes(a, CS_K("k2"), "a", 1, 0));
  assert_ok(roster_cache_set_bytes(b, CS_K("k1"), "b", 1, 0));
  roster_cache_buf v = {0};
  assert_ok(roster_cache_get_bytes(b, CS_K("k1"), &v));
  assert_bytes(&v, "b", 1);
  /* a's glob characters are literal: its clear does not reach b's keys. */
  size_t n = 0;
  assert_ok(roster_cache_clear(a, NULL, 0, &n));
  assert_int_equal(n, 2);
  assert_ok(roster_cache_get_bytes(b, CS_K("k1"), &v));
  assert_bytes(&v, "b", 1);
  bool e = true;
  assert_ok(roster_cache_exists(a, CS_K("k1"), &e));
  assert_false(e);
  /* a key outside any cache's prefix is left alone too */
  roster_redis *c2 = client();
  snprintf(outside, sizeof outside, "%s_outside", u);
  raw_set(c2, outside, "v");
  assert_ok(roster_cache_clear(a, NULL, 0, &n));
  assert_int_equal(n, 0);
  roster_redis_reply *r = raw_get(c2, outside, strlen(outside));
  assert_int_equal(r->type, ROSTER_REDIS_STRING);
  roster_redis_reply_free(r);
  assert_ok(roster_redis_call(c2, NULL, "DEL", outside, NULL));
  assert_ok(roster_cache_clear(b, NULL, 0, &n));
  assert_int_equal(n, 1);
  /* bad prefixes */
  roster_cache *bad = NULL;
  assert_rc(roster_redis_cache_new(c2, NULL, 3, NULL, &bad), ROSTER_EINVAL);
  assert_rc(roster_redis_cache_new(NULL, "p", 1, NULL, &bad), ROSTER_EINVAL);
  static char huge[RR_PREFIX_MAX + 1];
  assert_rc(roster_redis_cache_new(c2, huge, sizeof huge, NULL, &bad),
            ROSTER_EINVAL);
  assert_null(bad);
  roster_redis_free(c2);
  roster_cache_buf_close(&v);
  roster_cache_free(a);
  roster_cache_free(b);
}

/* t_clear_many: clear goes through SCAN in batches of 1000 and UNLINK. */
static void t_clear_many(void **state) {
  (void)state;
  char pre[64];
  roster__tu_unique_name(pre, sizeof pre, "many");
  strcat(pre, ":");
  roster_cache *c = open_prefix(pre);
  assert_non_null(c);
  enum { N = 2500 };
  roster_cache_item *items = calloc(N, sizeof *items);
  char(*keys)[24] = calloc(N, sizeof *keys);
  for (int i = 0; i < N; i++) {
    snprintf(keys[i], 24, "%s%d", i % 2 ? "odd:" : "even:", i);
    items[i] = (roster_cache_item){.key = keys[i],
                                   .key_len = strlen(keys[i]),
                                   .kind = ROSTER_CACHE_INT,
                                   .num = i};
  }
  assert_ok(roster_cache_mset(c, items, N, 0));
  size_t n = 0;
  assert_ok(roster_cache_clear(c, CS_K("odd:*"), &n));
  assert_int_equal(n, N / 2);
  int64_t v = 0;
  assert_ok(roster_cache_get_int(c, CS_K("even:2"), &v));
  assert_int_equal(v, 2);
  assert_ok(roster_cache_clear(c, NULL, 0, &n));
  assert_int_equal(n, N / 2);
  free(items);
  free(keys);
  roster_cache_free(c);
}

static void t_scripts(void **state) {
  (void)state;
  roster_redis *cli = client();
  for (int i = 0; i < RR_SCRIPT_COUNT; i++) {
    roster_redis_reply *r = NULL;
    assert_ok(roster_redis_call(cli, &r, "SCRIPT", "LOAD",
                                roster__redis_script_text(i), NULL));
    assert_int_equal(r->type, ROSTER_REDIS_STRING);
    assert_string_equal(r->str, roster__redis_script_sha(i));
    roster_redis_reply_free(r);
  }
  roster_redis_free(cli);
}

static void t_info(void **state) {
  (void)state;
  char pre[64];
  roster__tu_unique_name(pre, sizeof pre, "info");
  roster_cache *c = open_prefix(pre);
  assert_non_null(c);
  json_t *info = NULL;
  assert_ok(roster_cache_info(c, &info));
  assert_string_equal(json_string_value(json_object_get(info, "backend")),
                      "redis");
  assert_string_equal(json_string_value(json_object_get(info, "prefix")), pre);
  json_t *server = json_object_get(info, "server");
  assert_true(json_is_object(server));
  assert_true(json_is_string(json_object_get(server, "redis_version")));
  json_t *mem = json_object_get(info, "memory");
  assert_true(json_is_integer(json_object_get(mem, "used_memory")));
  roster_cache_stats st;
  assert_ok(roster_cache_stats_get(c, &st));
  assert_true(st.bytes > 0);
  json_decref(info);
  roster_cache_free(c);
}

static void t_declared(void **state) {
  (void)state;
  const char *url = roster__tu_server_url("REDIS");
  char pre[64];
  roster__tu_unique_name(pre, sizeof pre, "decl");
  roster *r = tu_registry(NULL);
  const char *opts[] = {"kind", "cache", "prefix", pre, NULL};
  assert_ok(roster_provide_url(r, NULL, "sessions", url, opts));
  roster_cache *c = NULL;
  assert_ok(roster_cache_find(r, NULL, "sessions", &c));
  assert_string_equal(roster_cache_name(c), "sessions");
  assert_ok(roster_cache_set_bytes(c, CS_K("k"), "v", 1, 60000));
  roster_cache_buf b = {0};
  assert_ok(roster_cache_get_bytes(c, CS_K("k"), &b));
  assert_bytes(&b, "v", 1);
  assert_ok(roster_cache_health(c));
  /* it is a cache, not a client */
  roster_redis *cli = NULL;
  assert_rc(roster_redis_find(r, NULL, "sessions", &cli), ROSTER_ETYPE);
  /* a bad option fails the declaration, and declares nothing */
  const char *bad[] = {"kind", "cache", "prefx", "x", NULL};
  assert_rc(roster_provide_url(r, NULL, "other", url, bad), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "prefx");
  roster_cache *none = NULL;
  assert_rc(roster_cache_find(r, NULL, "other", &none), ROSTER_ENOENT);
  /* a prefix without kind=cache is refused */
  const char *noc[] = {"prefix", "x", NULL};
  assert_rc(roster_provide_url(r, NULL, "third", url, noc), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "kind=cache");
  /* roster_cache_open of a redis:// URL is a cache whatever, but not one
   * that says kind=client */
  roster_cache *d = NULL;
  const char *cl[] = {"kind", "client", NULL};
  assert_rc(roster_cache_open(url, cl, NULL, &d), ROSTER_EINVAL);
  assert_null(d);
  assert_ok(roster_cache_clear(c, NULL, 0, NULL));
  roster_cache_buf_close(&b);
  roster_free(r);
}

/* t_no_scripts: a server that lost its scripts (restarted, or SCRIPT
 * FLUSH) answers NOSCRIPT; the backend sends the script itself. */
static void t_no_scripts(void **state) {
  (void)state;
  char pre[64];
  roster__tu_unique_name(pre, sizeof pre, "noscript");
  roster_cache *c = open_prefix(pre);
  assert_non_null(c);
  roster_redis *cli = client();
  /* SCRIPT FLUSH drops the cache of scripts only, never keys; other tests
   * running meanwhile take the same fallback. */
  assert_ok(roster_redis_call(cli, NULL, "SCRIPT", "FLUSH", NULL));
  roster_cache_rate rate;
  assert_ok(roster_cache_rate_fixed(c, CS_K("rf"), 5, 60000, &rate));
  assert_true(rate.allowed);
  assert_int_equal(rate.count, 1);
  roster_redis_reply *r = NULL;
  assert_ok(roster_redis_call(cli, &r, "SCRIPT", "EXISTS",
                              roster__redis_script_sha(RR_SCRIPT_FIXED), NULL));
  assert_int_equal(r->type, ROSTER_REDIS_ARRAY);
  assert_int_equal(r->element[0].integer, 1); /* loaded again by EVAL */
  roster_redis_reply_free(r);
  assert_ok(roster_cache_clear(c, NULL, 0, NULL));
  roster_redis_free(cli);
  roster_cache_free(c);
}

/* ---- the glob against the server ----------------------------------- */

/* rcmd runs one command of binary arguments and fails the test on an
 * error reply or a failed connection. */
static roster_redis_reply *rcmd(roster_redis *cli, int argc, const char **argv,
                                const size_t *lens) {
  roster_redis_reply *r = NULL;
  int rc = roster_redis_command(cli, argc, argv, lens, &r);
  if (rc) {
    print_error("%s: %s\n", argv[0], roster_last_error());
    fail();
  }
  return r;
}

/* glob_unique: the index of (p, n) in list[0..*len), added if new. */
static size_t glob_unique(const char **list, size_t *lens, size_t *len,
                          const char *p, size_t n) {
  for (size_t i = 0; i < *len; i++)
    if (lens[i] == n && memcmp(list[i], p, n) == 0)
      return i;
  list[*len] = p;
  lens[*len] = n;
  return (*len)++;
}

/* t_glob_server: every key of the table is SET under a fresh prefix (the
 * empty key, which no cache has, is a field of a hash: HSCAN MATCH); KEYS
 * of the prefix (which has no glob characters) + a pattern is the
 * server's answer for every key at once. The memory backend's matcher
 * must give the same for every pattern x key, and the table's rows must
 * say what the server says. */
static void t_glob_server(void **state) {
  (void)state;
  roster_redis *cli = client();
  size_t n = 0;
  const cache_glob_case *t = roster__cache_glob_cases(&n);
  char hash[48], pre[64], hp[96], hk[96];
  roster__tu_unique_name(hash, sizeof hash, "glob");
  snprintf(pre, sizeof pre, "%s:", hash); /* no glob characters in it */
  const size_t pl = strlen(pre);
  const char **keys = calloc(n, sizeof *keys), **pats = calloc(n, sizeof *pats);
  size_t *klens = calloc(n, sizeof *klens), *plens = calloc(n, sizeof *plens);
  size_t *row_k = calloc(n, sizeof *row_k), *row_p = calloc(n, sizeof *row_p);
  size_t nk = 0, np = 0;
  for (size_t i = 0; i < n; i++) {
    row_p[i] = glob_unique(pats, plens, &np, t[i].pat, t[i].plen);
    row_k[i] = t[i].klen ? glob_unique(keys, klens, &nk, t[i].key, t[i].klen)
                         : SIZE_MAX;
  }
  /* server[p * (nk + 1) + k]: the server's answer; column nk: the empty
   * key. */
  unsigned char *server = calloc(np * (nk + 1), 1);
  char *buf = malloc(pl + 65536 + 1);
  assert_non_null(server);
  assert_non_null(buf);
  memcpy(buf, pre, pl);
  for (size_t k = 0; k < nk; k++) {
    memcpy(buf + pl, keys[k], klens[k]);
    const char *argv[3] = {"SET", buf, "1"};
    size_t lens[3] = {3, pl + klens[k], 1};
    roster_redis_reply_free(rcmd(cli, 3, argv, lens));
  }
  {
    const char *argv[4] = {"HSET", hash, "", "1"};
    size_t lens[4] = {4, strlen(hash), 0, 1};
    roster_redis_reply_free(rcmd(cli, 4, argv, lens));
  }
  int bad = 0;
  for (size_t p = 0; p < np; p++) {
    unsigned char *row = server + p * (nk + 1);
    memcpy(buf + pl, pats[p], plens[p]);
    const char *kargv[2] = {"KEYS", buf};
    size_t klen2[2] = {4, pl + plens[p]};
    roster_redis_reply *r = rcmd(cli, 2, kargv, klen2);
    assert_int_equal(r->type, ROSTER_REDIS_ARRAY);
    for (size_t e = 0; e < r->elements; e++) {
      const roster_redis_reply *el = &r->element[e];
      assert_true(el->len >= pl && memcmp(el->str, pre, pl) == 0);
      size_t k = nk;
      for (size_t j = 0; j < nk && k == nk; j++)
        if (klens[j] == el->len - pl &&
            memcmp(keys[j], el->str + pl, klens[j]) == 0)
          k = j;
      assert_true(k < nk); /* only keys this test made */
      row[k] = 1;
    }
    roster_redis_reply_free(r);
    /* The empty key. HSCAN does not filter at all for the pattern "*"
     * (nor does SCAN), which stringmatchlen would answer 0 for "": that
     * one answer is left to the table. */
    const bool star = plens[p] == 1 && pats[p][0] == '*';
    if (!star) {
      const char *hargv[5] = {"HSCAN", hash, "0", "MATCH", pats[p]};
      size_t hlens[5] = {5, strlen(hash), 1, 5, plens[p]};
      r = rcmd(cli, 5, hargv, hlens);
      assert_int_equal(r->type, ROSTER_REDIS_ARRAY);
      assert_int_equal(r->elements, 2);
      assert_string_equal(r->element[0].str, "0"); /* one round */
      row[nk] = r->element[1].elements > 0;
      roster_redis_reply_free(r);
    }
    for (size_t k = 0; k < nk + !star; k++) {
      const char *key = k < nk ? keys[k] : "";
      size_t kl = k < nk ? klens[k] : 0;
      bool mine =
          roster__glob((const unsigned char *)pats[p], plens[p],
                       (const unsigned char *)key, kl, ROSTER__GLOB_REDIS);
      if (mine != (row[k] != 0)) {
        print_error("pattern '%s' key '%s': the server says %d, the memory "
                    "backend %d\n",
                    roster__cache_glob_hex(hp, sizeof hp, pats[p], plens[p]),
                    roster__cache_glob_hex(hk, sizeof hk, key, kl), row[k],
                    mine);
        bad++;
      }
    }
  }
  /* The table says what the server says. */
  for (size_t i = 0; i < n; i++) {
    size_t k = row_k[i] == SIZE_MAX ? nk : row_k[i];
    bool s = server[row_p[i] * (nk + 1) + k] != 0;
    if (row_k[i] == SIZE_MAX && t[i].plen == 1 && t[i].pat[0] == '*')
      continue; /* not asked (above) */
    if (s != t[i].match) {
      print_error("table row %zu, pattern '%s' key '%s': the table says %d, "
                  "the server %d\n",
                  i, roster__cache_glob_hex(hp, sizeof hp, t[i].pat, t[i].plen),
                  roster__cache_glob_hex(hk, sizeof hk, t[i].key, t[i].klen),
                  t[i].match, s);
      bad++;
    }
  }
  /* Clean up: the keys, then the hash. */
  for (size_t k = 0; k < nk; k++) {
    memcpy(buf + pl, keys[k], klens[k]);
    const char *argv[2] = {"DEL", buf};
    size_t lens[2] = {3, pl + klens[k]};
    roster_redis_reply_free(rcmd(cli, 2, argv, lens));
  }
  assert_ok(roster_redis_call(cli, NULL, "DEL", hash, NULL));
  free(buf);
  free(server);
  free(keys);
  free(pats);
  free(klens);
  free(plens);
  free(row_k);
  free(row_p);
  roster_redis_free(cli);
  assert_int_equal(bad, 0);
}

int main(void) {
  if (roster_redis_init() != ROSTER_OK) {
    fprintf(stderr, "roster_redis_init: %s\n", roster_last_error());
    return 1;
  }
  struct CMUnitTest t[CACHE_SUITE_MAX + 16];
  size_t n = roster__cache_suite_tests(&redis_env, t, CACHE_SUITE_MAX);
  const struct CMUnitTest own[] = {
      cmocka_unit_test(t_stored_forms), cmocka_unit_test(t_prefixes),
      cmocka_unit_test(t_clear_many),   cmocka_unit_test(t_scripts),
      cmocka_unit_test(t_info),         cmocka_unit_test(t_declared),
      cmocka_unit_test(t_no_scripts),   cmocka_unit_test(t_glob_server),
  };
  for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
    t[n++] = own[i];
  return _cmocka_run_group_tests("cache_redis", t, n, NULL, NULL);
}
