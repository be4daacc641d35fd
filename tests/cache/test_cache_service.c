/*
 * test_cache_service.c: the cache as a service and its backend contract.
 *
 * - Cache faces in the driver table: version and required operations
 *   checked at registration, schemes, re-registration, unregistration.
 * - A scheme with a service face and a cache face, kind= picking one.
 * - roster_cache_open's errors (unknown scheme, malformed URL).
 * - Registry integration: memory:// through roster_provide_url (also
 *   with kind=cache), typed lookups, namespaces, the same URL twice, a
 *   bad option refused at declaration, a registered instance destroyed by
 *   roster_free.
 * - Redis's glob semantics of roster_cache_clear, case by case.
 * - The conformance suite again, over a backend registered through the
 *   vtable that is the memory store flagged ROSTER_CACHE_SHARED, with peer
 *   handles on one store standing for processes: this runs get_or_set's
 *   cross-process path (the load lock, waiters polling) that a Redis
 *   backend takes.
 */
#include "cache_suite.h"

#include "cache/cache_impl.h"
#include "cache_glob_cases.h"

#include <jansson.h>
#include <stdlib.h>

/* ---- a shared store over the memory backend ------------------------- */

static _Atomic int64_t now_ms = 5000000;

static int64_t test_clock(void *arg) {
  (void)arg;
  return atomic_load(&now_ms);
}

/* Peers share one memory store: it is closed with its last handle. */
static pthread_mutex_t refs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
  void *impl;
  int refs;
} refs[16];

static void shm_close(void *impl) {
  pthread_mutex_lock(&refs_lock);
  for (int i = 0; i < 16; i++)
    if (refs[i].impl == impl && --refs[i].refs == 0) {
      refs[i].impl = NULL;
      roster__memory_backend.close(impl);
    }
  pthread_mutex_unlock(&refs_lock);
}

static void shm_hold(void *impl) {
  pthread_mutex_lock(&refs_lock);
  int i = 0;
  while (i < 16 && refs[i].impl != impl)
    i++;
  if (i == 16)
    for (i = 0; i < 16 && refs[i].impl; i++) {
    }
  refs[i].impl = impl;
  refs[i].refs++;
  pthread_mutex_unlock(&refs_lock);
}

static roster_cache_backend shm_backend;
static const char *const shm_schemes[] = {"shm", NULL};
static const roster_driver shm_driver = {
    .version = ROSTER_DRIVER_VERSION,
    .name = "shm",
    .schemes = shm_schemes,
    .faces = {{&roster_cache_face, &shm_backend}},
};

static roster_cache *shm_new(void *impl) {
  roster_cache *c = NULL;
  shm_hold(impl);
  roster_cache_options o = {.name = "shm", .load_lock_ttl_ms = 60000};
  if (roster_cache_new(&shm_driver, impl, &o, &c) != ROSTER_OK) {
    shm_close(impl);
    return NULL;
  }
  return c;
}

static roster_cache *shm_open(const cache_suite_env *env) {
  (void)env;
  void *impl = NULL;
  roster_cache_memory_options mo = {.clock_ms = test_clock};
  if (roster__memory_open_with(&mo, &impl) != ROSTER_OK)
    return NULL;
  return shm_new(impl);
}

static roster_cache *shm_peer(const cache_suite_env *env, roster_cache *c) {
  (void)env;
  return shm_new(c->impl); /* the tests may look inside the handle */
}

static void shm_advance(const cache_suite_env *env, roster_cache *c,
                        int64_t ms) {
  (void)env;
  (void)c;
  atomic_fetch_add(&now_ms, ms);
}

static const cache_suite_env shared_env = {
    .name = "shared memory",
    .open = shm_open,
    .open_peer = shm_peer,
    .advance = shm_advance,
    .tick_ms = 1000,
};

/* ---- caches in the driver table ----------------------------------- */

static void test_cache_faces(void **state) {
  (void)state;
  const roster_driver *memd = roster_driver_find("memory");
  assert_non_null(memd);
  assert_ptr_equal(roster_driver_find("MEMORY"), memd);
  assert_null(roster_driver_find("nope"));
  assert_null(roster_driver_find(NULL));
  assert_ptr_equal(memd->faces[0].kind, &roster_cache_face);
  const roster_cache_backend *mem = memd->faces[0].ops;
  assert_ptr_equal(mem, &roster__memory_backend);

  roster_cache_backend be = *mem;
  const char *schemes[] = {"memory", NULL};
  roster_driver d = {.version = ROSTER_DRIVER_VERSION,
                     .name = "test-kv",
                     .module = "kvtest",
                     .schemes = schemes,
                     .faces = {{&roster_cache_face, &be}}};
  assert_rc(roster_driver_register(&d), ROSTER_EEXIST);
  assert_ok(roster_driver_register(memd)); /* again: a no-op */
  schemes[0] = "test-kv";
  be.version = 9;
  assert_rc(roster_driver_register(&d), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "version 9");
  be.version = ROSTER_CACHE_BACKEND_VERSION;
  schemes[0] = "Bad";
  assert_rc(roster_driver_register(&d), ROSTER_EINVAL);
  d.schemes = NULL;
  assert_rc(roster_driver_register(&d), ROSTER_EINVAL);
  d.schemes = schemes;
  schemes[0] = "test-kv";
  be.lock_release = NULL;
  assert_rc(roster_driver_register(&d), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "lock_release");
  be.lock_release = mem->lock_release;
  be.open = NULL; /* required to register, not for roster_cache_new */
  assert_rc(roster_driver_register(&d), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "open");
  assert_rc(roster_driver_register(NULL), ROSTER_EINVAL);
  assert_null(roster_driver_find("test-kv"));
  be.open = mem->open;
  assert_ok(roster_driver_register(&d));
  assert_ptr_equal(roster_driver_find("test-kv"), &d);
  roster_cache *c = NULL;
  assert_ok(roster_cache_open("test-kv://kv1", NULL, NULL, &c));
  assert_string_equal(roster_cache_scheme(c), "test-kv");
  assert_string_equal(roster_cache_name(c), "kv1");
  assert_ok(roster_cache_set_int(c, CS_K("n"), 3, 0));
  assert_ok(roster_driver_unregister(&d));
  assert_rc(roster_driver_unregister(&d), ROSTER_ENOENT);
  assert_null(roster_driver_find("test-kv"));
  int64_t n = 0;
  assert_ok(roster_cache_get_int(c, CS_K("n"), &n)); /* still works */
  assert_int_equal(n, 3);
  roster_cache_free(c);

  /* roster_cache_new checks the vtable the same way */
  be.lock_extend = NULL;
  assert_rc(roster_cache_new(&d, NULL, NULL, &c), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "lock_extend");
  assert_null(c);
  assert_rc(roster_cache_new(NULL, NULL, NULL, &c), ROSTER_EINVAL);
  assert_rc(roster_cache_new(memd, NULL, NULL, NULL), ROSTER_EINVAL);
}

/* A scheme with two faces: a service of its own by default, a cache with
 * kind=cache (in the options or the URL's query), and nothing else. */
static const roster_type twin_type = {.name = "twin"};
static int twin_open(const char *text, const char *const *opts,
                     const char *name, void **out) {
  (void)text, (void)opts, (void)name;
  static int instance;
  *out = &instance;
  return ROSTER_OK;
}
static const roster_service_ops twin_client = {.version = ROSTER_DRIVER_VERSION,
                                               .kind = "client",
                                               .type = &twin_type,
                                               .open = twin_open};
static const char *const twin_schemes[] = {"twin", NULL};
static const roster_driver twin_driver = {
    .version = ROSTER_DRIVER_VERSION,
    .name = "twin",
    .module = "twintest",
    .schemes = twin_schemes,
    .faces = {{&roster_service_face, &twin_client},
              {&roster_cache_face, &roster__memory_backend}},
};

static void test_kind_selects_face(void **state) {
  (void)state;
  assert_ok(roster_driver_register(&twin_driver));
  roster *r = tu_registry(NULL);
  /* no kind: the service face */
  assert_ok(roster_provide_url(r, NULL, "plain", "twin://p", NULL));
  void *p = NULL;
  assert_ok(roster_get(r, NULL, "plain", &twin_type, &p));
  assert_non_null(p);
  roster_cache *c = NULL;
  assert_rc(roster_cache_find(r, NULL, "plain", &c), ROSTER_ETYPE);
  /* kind=client names it too */
  assert_ok(roster_provide_url(r, NULL, "cli", "twin://c",
                               (const char *[]){"kind", "client", NULL}));
  assert_ok(roster_get(r, NULL, "cli", &twin_type, &p));
  /* kind=cache in the options: a cache, and the face never sees kind
   * (the memory backend refuses keys it does not know) */
  assert_ok(roster_provide_url(
      r, NULL, "c1", "twin://c1",
      (const char *[]){"kind", "cache", "max_entries", "5", NULL}));
  assert_ok(roster_cache_find(r, NULL, "c1", &c));
  roster_cache_stats st;
  assert_ok(roster_cache_stats_get(c, &st));
  assert_int_equal(st.max_entries, 5);
  assert_string_equal(roster_cache_scheme(c), "twin");
  /* kind=cache in the query: the same, the URL kept as given */
  assert_ok(
      roster_provide_url(r, NULL, "c2", "twin://c2?kind=cache&shards=2", NULL));
  assert_ok(roster_cache_find(r, NULL, "c2", &c));
  char url[64];
  assert_ok(roster_service_url(r, NULL, "c2", url, sizeof url));
  assert_string_equal(url, "twin://c2?kind=cache&shards=2");
  /* kind spelt with a percent escape is kind too: taken out as well */
  assert_ok(roster_provide_url(r, NULL, "c4", "twin://c4?k%69nd=cache&shards=2",
                               NULL));
  assert_ok(roster_cache_find(r, NULL, "c4", &c));
  /* the cache face checks its options at declaration */
  assert_rc(
      roster_provide_url(r, NULL, "c3", "twin://c3?kind=cache&size=1", NULL),
      ROSTER_EINVAL);
  assert_contains(roster_last_error(), "service 'c3'");
  assert_contains(roster_last_error(), "'size'");
  /* a kind it does not offer, and two kinds that differ */
  assert_rc(roster_provide_url(r, NULL, "x", "twin://x",
                               (const char *[]){"kind", "db", NULL}),
            ROSTER_ENOTSUP);
  assert_contains(roster_last_error(), "has no kind 'db'; kind may be: "
                                       "client, cache");
  assert_rc(roster_provide_url(r, NULL, "x", "twin://x?kind=client",
                               (const char *[]){"kind", "cache", NULL}),
            ROSTER_EINVAL);
  assert_contains(roster_last_error(), "kind is given twice");
  assert_rc(roster_service_url(r, NULL, "x", url, sizeof url), ROSTER_ENOENT);
  /* roster_cache_open takes the cache face whatever comes first */
  assert_ok(roster_cache_open("twin://direct", NULL, NULL, &c));
  roster_cache_free(c);
  assert_ok(roster_driver_unregister(&twin_driver));
  roster_free(r);
}

static void test_open_errors(void **state) {
  (void)state;
  roster_cache *c = (roster_cache *)&c;
  assert_rc(roster_cache_open("mongodb://u:pw@h/db", NULL, NULL, &c),
            ROSTER_ENOTSUP);
  assert_null(c);
  assert_contains(roster_last_error(), "'mongodb'");
  assert_contains(roster_last_error(), "memory");
  assert_null(strstr(roster_last_error(), ":pw@"));
  assert_rc(roster_cache_open("memory://x:70000", NULL, NULL, &c),
            ROSTER_EPARSE);
  assert_rc(roster_cache_open("", NULL, NULL, &c), ROSTER_EINVAL);
  assert_rc(roster_cache_open(NULL, NULL, NULL, &c), ROSTER_EINVAL);
  assert_null(c);
}

/* ---- registry integration ------------------------------------------- */

static void test_provide_url(void **state) {
  (void)state;
  assert_non_null(roster_driver_find("memory"));
  char schemes[256];
  assert_contains(roster_driver_schemes(schemes, sizeof schemes), "memory");
  roster *r = tu_registry(NULL);
  assert_ok(roster_provide_url(r, NULL, "sessions",
                               "memory://sessions?max_entries=1000", NULL));
  /* the same URL again: the same service */
  assert_ok(roster_provide_url(r, NULL, "sessions",
                               "memory://sessions?max_entries=1000", NULL));
  assert_rc(roster_provide_url(r, NULL, "sessions", "memory://sessions", NULL),
            ROSTER_EEXIST);
  roster_cache *c = NULL, *again = NULL;
  assert_ok(roster_cache_find(r, NULL, "sessions", &c));
  assert_non_null(c);
  assert_string_equal(roster_cache_name(c), "sessions");
  assert_ok(roster_cache_set_bytes(c, CS_K("user:1"), "ada", 3, 0));
  assert_ok(roster_cache_find(r, NULL, "sessions", &again));
  assert_ptr_equal(c, again);
  roster_cache_stats s;
  assert_ok(roster_cache_stats_get(c, &s));
  assert_int_equal(s.max_entries, 1000);
  assert_int_equal(s.entries, 1);
  char url[128];
  assert_ok(roster_service_url(r, NULL, "sessions", url, sizeof url));
  assert_string_equal(url, "memory://sessions?max_entries=1000");
  /* the service is healthy (roster_cache_type's health) */
  roster_state st;
  assert_ok(roster_service_state(r, NULL, "sessions", &st));
  assert_int_equal(st, ROSTER_STATE_READY);

  /* options from the configuration entry; a bad one fails at once */
  static const char *const opts[] = {"max_bytes", "1m", NULL};
  assert_ok(roster_provide_url(r, "tenant", "cache", "memory://t", opts));
  assert_ok(roster_cache_find(r, "tenant", "cache", &c));
  assert_ok(roster_cache_stats_get(c, &s));
  assert_int_equal(s.max_bytes, 1024 * 1024);
  assert_rc(roster_cache_find(r, NULL, "cache", &c), ROSTER_ENOENT);
  assert_null(c);
  static const char *const bad[] = {"max_entries", "many", NULL};
  assert_rc(roster_provide_url(r, NULL, "b1", "memory://b1", bad),
            ROSTER_EINVAL);
  assert_contains(roster_last_error(), "max_entries");
  assert_contains(roster_last_error(), "'b1'");
  assert_rc(roster_provide_url(r, NULL, "b2", "memory://b2?size=3", NULL),
            ROSTER_EINVAL);
  assert_false(roster_has(r, NULL, "b1"));
  assert_rc(roster_service_state(r, NULL, "b2", &st), ROSTER_ENOENT);

  /* not a cache */
  assert_ok(
      roster_register(r, NULL, "counter", &roster__tu_counter_type, NULL));
  assert_rc(roster_cache_find(r, NULL, "counter", &c), ROSTER_ETYPE);
  assert_null(c);
  assert_rc(roster_cache_find(r, NULL, "sessions", NULL), ROSTER_EINVAL);
  assert_rc(roster_cache_find(NULL, NULL, "sessions", &c), ROSTER_EINVAL);

  /* a cache by kind, and a started registry's shutdown */
  static const char *const as_cache[] = {"kind", "cache", NULL};
  assert_ok(roster_provide_url(r, NULL, "direct", "memory://d", as_cache));
  assert_ok(roster_provide_url(r, NULL, "direct", "memory://d", as_cache));
  assert_rc(roster_provide_url(r, NULL, "direct", "memory://d2", as_cache),
            ROSTER_EEXIST);
  assert_rc(roster_provide_url(r, NULL, "x", "nope://d", as_cache),
            ROSTER_ENOTSUP);
  assert_rc(roster_provide_url(r, NULL, "", "memory://d", as_cache),
            ROSTER_EINVAL);
  assert_rc(roster_provide_url(NULL, NULL, "x", "memory://d", as_cache),
            ROSTER_EINVAL);
  assert_ok(roster_cache_find(r, NULL, "direct", &c));
  assert_ok(roster_cache_incr(c, CS_K("hits"), NULL));
  assert_ok(roster_start(r, LC_LONG_MS));
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  assert_ok(roster_service_state(r, NULL, "direct", &st));
  assert_int_equal(st, ROSTER_STATE_STOPPED);
  roster_free(r); /* frees every cache; ASan checks */
}

static void test_registered_instance(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  roster_cache *c = NULL, *got = NULL;
  assert_ok(roster_cache_memory_new(NULL, NULL, &c));
  assert_ok(roster_register(r, NULL, "plain", &roster_cache_type, c));
  assert_ok(roster_cache_find(r, NULL, "plain", &got));
  assert_ptr_equal(got, c);
  assert_ok(roster_cache_set_bytes(got, CS_K("k"), "v", 1, 0));
  assert_ok(roster_cache_incr(got, CS_K("n"), NULL));
  /* roster_free destroys it on the reclaim thread */
  roster_free(r);
}

/* ---- Redis's glob --------------------------------------------------- */

static bool m(const char *pat, const char *s) {
  return roster__glob((const unsigned char *)pat, strlen(pat),
                      (const unsigned char *)s, strlen(s), ROSTER__GLOB_REDIS);
}

static void test_glob(void **state) {
  (void)state;
  assert_false(m("*", "")); /* as stringmatchlen; no cache key is empty */
  assert_true(m("*", "anything"));
  assert_true(m("user:*", "user:"));
  assert_true(m("user:*", "user:42"));
  assert_false(m("user:*", "users:42"));
  assert_true(m("h?llo", "hello"));
  assert_false(m("h?llo", "hllo"));
  assert_true(m("h*llo", "hllo"));
  assert_true(m("h*llo", "heeeello"));
  assert_true(m("h[ae]llo", "hallo"));
  assert_false(m("h[ae]llo", "hillo"));
  assert_true(m("h[^e]llo", "hallo"));
  assert_false(m("h[^e]llo", "hello"));
  assert_true(m("h[a-b]llo", "hbllo"));
  assert_true(m("h[b-a]llo", "hallo")); /* a backwards range, as Redis */
  assert_false(m("h[a-b]llo", "hcllo"));
  assert_true(m("a\\*b", "a*b"));
  assert_false(m("a\\*b", "axb"));
  assert_true(m("[\\]]", "]"));
  assert_true(m("x\\", "x\\")); /* a trailing backslash is itself */
  assert_true(m("*a*b*c*", "xxaxxbxxcxx"));
  assert_false(m("*a*b*c*", "xxaxxcxxbxx"));
  assert_true(m("**x", "abcx"));
  assert_false(m("", "a"));
  assert_true(m("", ""));
  assert_true(m("[abc", "b")); /* an unterminated class runs to the end */
  /* bytes, NUL included */
  static const unsigned char k[] = {'a', 0, 'b'};
  static const unsigned char p[] = {'a', '?', 'b'};
  assert_true(roster__glob(p, 3, k, 3, ROSTER__GLOB_REDIS));
  /* no exponential blow-up on many stars */
  static const char many[] = "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
  char s[200];
  memset(s, 'a', sizeof s - 1);
  s[sizeof s - 1] = '\0';
  assert_false(m(many, s));
}

/* test_glob_redis_table: the matcher gives Redis 7's answer for every
 * hostile pattern/key pair of cache_glob_cases.c (signed ranges over
 * high bytes, escapes, empty and unterminated classes, star runs, NUL bytes,
 * the limit of 1000 runs of '*'). */
static void test_glob_redis_table(void **state) {
  (void)state;
  size_t n = 0;
  const cache_glob_case *t = roster__cache_glob_cases(&n);
  char hp[96], hk[96];
  int bad = 0;
  for (size_t i = 0; i < n; i++) {
    bool got = roster__glob((const unsigned char *)t[i].pat, t[i].plen,
                            (const unsigned char *)t[i].key, t[i].klen,
                            ROSTER__GLOB_REDIS);
    if (got != t[i].match) {
      print_error("row %zu: pattern '%s' key '%s': %d, Redis says %d\n", i,
                  roster__cache_glob_hex(hp, sizeof hp, t[i].pat, t[i].plen),
                  roster__cache_glob_hex(hk, sizeof hk, t[i].key, t[i].klen),
                  got, t[i].match);
      bad++;
    }
  }
  assert_int_equal(bad, 0);
  /* The table's shape, which the suite's clear_glob relies on: rows of
   * one pattern are consecutive, and their keys differ. */
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++) {
      bool same =
          t[j].plen == t[i].plen && memcmp(t[j].pat, t[i].pat, t[i].plen) == 0;
      if (!same)
        continue;
      for (size_t k = i + 1; k < j; k++) /* no other pattern in between */
        assert_true(t[k].plen == t[i].plen &&
                    memcmp(t[k].pat, t[i].pat, t[i].plen) == 0);
      assert_false(t[j].klen == t[i].klen &&
                   memcmp(t[j].key, t[i].key, t[i].klen) == 0);
    }
}

int main(void) {
  shm_backend = roster__memory_backend;
  shm_backend.flags = ROSTER_CACHE_SHARED;
  shm_backend.open = NULL;
  shm_backend.close = shm_close;

  struct CMUnitTest tests[CACHE_SUITE_MAX + 8];
  const struct CMUnitTest own[] = {
      cmocka_unit_test(test_cache_faces),
      cmocka_unit_test(test_kind_selects_face),
      cmocka_unit_test(test_open_errors),
      cmocka_unit_test(test_provide_url),
      cmocka_unit_test(test_registered_instance),
      cmocka_unit_test(test_glob),
      cmocka_unit_test(test_glob_redis_table),
  };
  size_t n = 0;
  for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
    tests[n++] = own[i];
  n += roster__cache_suite_tests(&shared_env, tests + n, CACHE_SUITE_MAX);
  int rc = _cmocka_run_group_tests("cache_service", tests, n, NULL, NULL);
  roster_reclaim_wait();
  return rc;
}
