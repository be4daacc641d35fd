/*
 * test_config_getters.c: the typed getters on typed values (from files) and
 * on text (environment, overrides); defaults for missing and null keys;
 * wrong types with a detail naming key, type, source and what was wanted;
 * durations and sizes (table-driven, with the errors); lists; has; views
 * (acquire, sub) and foreach; bad keys.
 */
#include "config_testutil.h"

static roster_config *load_yaml(const char *yaml, const char *const *env,
                                const char *const *ovr) {
  char p[512];
  if (!ct_write(p, sizeof p, "get.yaml", yaml))
    return NULL;
  const char *files[] = {p, NULL};
  return ct_load(
      &(roster_config_options){.files = files,
                               .env_prefix = "APP",
                               .env = env ? env : (const char *const[]){NULL},
                               .overrides = ovr});
}

static void test_typed(void **state) {
  (void)state;
  roster_config *c = load_yaml("s: hello\nq: \"8080\"\ni: 42\nneg: -7\n"
                               "d: 2.5\nb: true\nn: null\nbig: 0x7fffffff\n"
                               "obj: {x: 1}\nlist: [1, two]\n",
                               NULL, NULL);
  assert_non_null(c);
  char *s = NULL;
  assert_ok(roster_config_string(c, "s", "def", &s));
  assert_string_equal(s, "hello");
  roster_mem_free(s);
  int64_t i = 0;
  assert_ok(roster_config_int(c, "i", 0, &i));
  assert_int_equal(i, 42);
  assert_ok(roster_config_int(c, "neg", 0, &i));
  assert_int_equal(i, -7);
  assert_ok(roster_config_int(c, "big", 0, &i));
  assert_int_equal(i, 0x7fffffff);
  double d = 0;
  assert_ok(roster_config_double(c, "d", 0, &d));
  assert_true(d == 2.5);
  assert_ok(roster_config_double(c, "i", 0, &d)); /* an integer converts */
  assert_true(d == 42.0);
  bool b = false;
  assert_ok(roster_config_bool(c, "b", false, &b));
  assert_true(b);

  /* missing keys and nulls give the default */
  assert_ok(roster_config_int(c, "nope", 99, &i));
  assert_int_equal(i, 99);
  assert_ok(roster_config_int(c, "n", 98, &i));
  assert_int_equal(i, 98);
  assert_ok(roster_config_int(c, "obj.nope.deeper", 97, &i));
  assert_int_equal(i, 97);
  assert_ok(roster_config_string(c, "nope", "fallback", &s));
  assert_string_equal(s, "fallback");
  roster_mem_free(s);
  assert_ok(roster_config_string(c, "nope", NULL, &s));
  assert_null(s);
  assert_ok(roster_config_bool(c, "nope", true, &b));
  assert_true(b);

  /* wrong types name the key, what it is, where it is from, and what was
   * wanted; *out is the default */
  char p[600];
  snprintf(p, sizeof p, "%s/get.yaml", ct_dir());
  char want[800];
  assert_rc(roster_config_int(c, "q", 5, &i), ROSTER_ETYPE);
  assert_int_equal(i, 5);
  snprintf(want, sizeof want,
           "config key 'q' is a string (\"8080\") from "
           "%s:2:4; want an integer",
           p);
  assert_contains(roster_last_error(), want);
  assert_rc(roster_config_string(c, "i", "x", &s), ROSTER_ETYPE);
  assert_string_equal(s, "x");
  roster_mem_free(s);
  assert_contains(roster_last_error(), "config key 'i' is an integer (42)");
  assert_contains(roster_last_error(), "quote it");
  assert_rc(roster_config_bool(c, "s", false, &b), ROSTER_ETYPE);
  assert_contains(roster_last_error(), "want a boolean");
  assert_rc(roster_config_double(c, "b", 1.0, &d), ROSTER_ETYPE);
  assert_contains(roster_last_error(), "is a boolean (true)");
  assert_rc(roster_config_int(c, "obj", 0, &i), ROSTER_ETYPE);
  assert_contains(roster_last_error(), "config key 'obj' is an object");
  assert_rc(roster_config_int(c, "d", 0, &i), ROSTER_ETYPE);
  assert_contains(roster_last_error(), "is a number (2.5)");
  roster_config_free(c);
}

static void test_text(void **state) {
  (void)state;
  const char *env[] = {"APP_PORT=8080",      "APP_HEX=0x10",
                       "APP_RATIO=0.75",     "APP_ON=yes",
                       "APP_OFF=Off",        "APP_ONE=1",
                       "APP_WORDS= a, b ,c", "APP_EMPTY=",
                       "APP_BAD=eighty",     "APP_HUGE=99999999999999999999",
                       "APP_SPACED= 12 ",    NULL};
  roster_config *c = load_yaml("x: 1\n", env, NULL);
  assert_non_null(c);
  int64_t i = 0;
  assert_ok(roster_config_int(c, "port", 0, &i));
  assert_int_equal(i, 8080);
  assert_ok(roster_config_int(c, "hex", 0, &i));
  assert_int_equal(i, 16);
  assert_ok(roster_config_int(c, "spaced", 0, &i));
  assert_int_equal(i, 12);
  double d = 0;
  assert_ok(roster_config_double(c, "ratio", 0, &d));
  assert_true(d == 0.75);
  bool b = false;
  assert_ok(roster_config_bool(c, "on", false, &b));
  assert_true(b);
  assert_ok(roster_config_bool(c, "off", true, &b));
  assert_false(b);
  assert_ok(roster_config_bool(c, "one", false, &b));
  assert_true(b);
  char *s = NULL;
  assert_ok(roster_config_string(c, "port", NULL, &s)); /* text is a string */
  assert_string_equal(s, "8080");
  roster_mem_free(s);
  assert_rc(roster_config_int(c, "bad", 3, &i), ROSTER_ETYPE);
  assert_int_equal(i, 3);
  assert_contains(roster_last_error(),
                  "config key 'bad' is text (\"eighty\") from env APP_BAD; "
                  "want an integer");
  assert_rc(roster_config_int(c, "huge", 3, &i), ROSTER_ERANGE);
  assert_contains(roster_last_error(), "which does not fit an integer");
  assert_rc(roster_config_bool(c, "bad", false, &b), ROSTER_ETYPE);

  char **list = NULL;
  size_t n = 0;
  assert_ok(roster_config_list(c, "words", &list, &n));
  assert_int_equal(n, 3);
  assert_string_equal(list[0], "a");
  assert_string_equal(list[1], "b");
  assert_string_equal(list[2], "c");
  assert_null(list[3]);
  roster_config_list_free(list);
  assert_ok(roster_config_list(c, "empty", &list, &n));
  assert_int_equal(n, 0);
  assert_null(list[0]);
  roster_config_list_free(list);
  roster_config_free(c);
}

typedef struct dcase {
  const char *text; /* YAML value */
  int rc;
  int64_t want;
  const char *err;
} dcase;

static void test_durations(void **state) {
  (void)state;
  static const dcase cases[] = {
      {"\"250ms\"", ROSTER_OK, 250, NULL},
      {"30s", ROSTER_OK, 30000, NULL},
      {"5m", ROSTER_OK, 300000, NULL},
      {"1h", ROSTER_OK, 3600000, NULL},
      {"1h30m", ROSTER_OK, 5400000, NULL},
      {"1h 30m 15s", ROSTER_OK, 5415000, NULL},
      {"2d", ROSTER_OK, 172800000, NULL},
      {"1.5s", ROSTER_OK, 1500, NULL},
      {"0.25m", ROSTER_OK, 15000, NULL},
      {"0", ROSTER_OK, 0, NULL},
      {"\"0\"", ROSTER_OK, 0, NULL},
      {"0s", ROSTER_OK, 0, NULL},
      {"5", ROSTER_ETYPE, 0, "a bare number needs a unit"},
      {"\"5\"", ROSTER_ETYPE, 0, "a number needs a unit"},
      {"0.5ms", ROSTER_ETYPE, 0, "not a whole number of milliseconds"},
      {"-1s", ROSTER_ETYPE, 0, "durations cannot be negative"},
      {"5x", ROSTER_ETYPE, 0, "unknown unit"},
      {"5 s", ROSTER_ETYPE, 0, "a number needs a unit"},
      {"s", ROSTER_ETYPE, 0, "expected a number"},
      {"\"\"", ROSTER_ETYPE, 0, "empty"},
      {"1.s", ROSTER_ETYPE, 0, "expected a number"},
      {"2.5", ROSTER_ETYPE, 0, "want a duration"},
      {"true", ROSTER_ETYPE, 0, "want a duration"},
      {"999999999999999999d", ROSTER_ERANGE, 0, "does not fit a duration"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    char y[128];
    snprintf(y, sizeof y, "t: %s\n", cases[k].text);
    roster_config *c = load_yaml(y, NULL, NULL);
    assert_non_null(c);
    int64_t ms = -1;
    int rc = roster_config_duration(c, "t", -1, &ms);
    bool ok = rc == cases[k].rc && (rc != ROSTER_OK || ms == cases[k].want) &&
              (rc == ROSTER_OK || (ms == -1 && cases[k].err &&
                                   strstr(roster_last_error(), cases[k].err)));
    if (!ok) {
      print_error("duration %s -> %s %lld (%s); want %s %lld '%s'\n",
                  cases[k].text, roster_err_name(rc), (long long)ms,
                  roster_last_error(), roster_err_name(cases[k].rc),
                  (long long)cases[k].want, cases[k].err ? cases[k].err : "");
      roster_config_free(c);
      fail();
    }
    roster_config_free(c);
  }
}

static void test_sizes(void **state) {
  (void)state;
  static const dcase cases[] = {
      {"512", ROSTER_OK, 512, NULL},
      {"\"512\"", ROSTER_OK, 512, NULL},
      {"64MB", ROSTER_OK, 64000000, NULL},
      {"64mb", ROSTER_OK, 64000000, NULL},
      {"64 MB", ROSTER_OK, 64000000, NULL},
      {"1GiB", ROSTER_OK, 1073741824, NULL},
      {"1gib", ROSTER_OK, 1073741824, NULL},
      {"512k", ROSTER_OK, 512000, NULL},
      {"512K", ROSTER_OK, 512000, NULL},
      {"4KiB", ROSTER_OK, 4096, NULL},
      {"2Mi", ROSTER_OK, 2097152, NULL},
      {"1.5KiB", ROSTER_OK, 1536, NULL},
      {"1.5GB", ROSTER_OK, 1500000000, NULL},
      {"10B", ROSTER_OK, 10, NULL},
      {"1TB", ROSTER_OK, 1000000000000, NULL},
      {"1PiB", ROSTER_OK, 1125899906842624, NULL},
      {"0", ROSTER_OK, 0, NULL},
      {"1.5B", ROSTER_ETYPE, 0, "not a whole number of bytes"},
      {"10XB", ROSTER_ETYPE, 0, "unknown unit"},
      {"-1", ROSTER_ETYPE, 0, "sizes cannot be negative"},
      {"-1KB", ROSTER_ETYPE, 0, "sizes cannot be negative"},
      {"MB", ROSTER_ETYPE, 0, "expected a number"},
      {"1.5", ROSTER_ETYPE, 0, "want a size"},
      {"10000PiB", ROSTER_ERANGE, 0, "does not fit a size"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    char y[128];
    snprintf(y, sizeof y, "t: %s\n", cases[k].text);
    roster_config *c = load_yaml(y, NULL, NULL);
    assert_non_null(c);
    int64_t v = -1;
    int rc = roster_config_size(c, "t", -1, &v);
    bool ok = rc == cases[k].rc && (rc != ROSTER_OK || v == cases[k].want) &&
              (rc == ROSTER_OK || (v == -1 && cases[k].err &&
                                   strstr(roster_last_error(), cases[k].err)));
    if (!ok) {
      print_error("size %s -> %s %lld (%s); want %s %lld '%s'\n", cases[k].text,
                  roster_err_name(rc), (long long)v, roster_last_error(),
                  roster_err_name(cases[k].rc), (long long)cases[k].want,
                  cases[k].err ? cases[k].err : "");
      roster_config_free(c);
      fail();
    }
    roster_config_free(c);
  }
}

static void test_bools_from_yaml(void **state) {
  (void)state;
  /* YAML 1.2: yes is a string, so it is not a boolean */
  roster_config *c = load_yaml("y: yes\nt: true\nq: \"true\"\n", NULL, NULL);
  bool b = false;
  assert_ok(roster_config_bool(c, "t", false, &b));
  assert_true(b);
  assert_rc(roster_config_bool(c, "y", false, &b), ROSTER_ETYPE);
  assert_contains(roster_last_error(), "is a string (\"yes\")");
  assert_contains(roster_last_error(), "true or false, unquoted");
  assert_rc(roster_config_bool(c, "q", false, &b), ROSTER_ETYPE);
  roster_config_free(c);
}

static void test_lists(void **state) {
  (void)state;
  roster_config *c = load_yaml("hosts: [a, b]\nmixed: [1, 2.5, true, x]\n"
                               "nested: [[1]]\nobjs: [{a: 1}]\nstr: \"a,b\"\n"
                               "empty: []\n",
                               NULL, NULL);
  char **l = NULL;
  size_t n = 9;
  assert_ok(roster_config_list(c, "hosts", &l, &n));
  assert_int_equal(n, 2);
  assert_string_equal(l[1], "b");
  roster_config_list_free(l);
  assert_ok(roster_config_list(c, "mixed", &l, &n));
  assert_int_equal(n, 4);
  assert_string_equal(l[0], "1");
  assert_string_equal(l[1], "2.5");
  assert_string_equal(l[2], "true");
  assert_string_equal(l[3], "x");
  roster_config_list_free(l);
  assert_ok(roster_config_list(c, "missing", &l, &n));
  assert_int_equal(n, 0);
  assert_non_null(l);
  assert_null(l[0]);
  roster_config_list_free(l);
  assert_ok(roster_config_list(c, "empty", &l, &n));
  assert_int_equal(n, 0);
  roster_config_list_free(l);
  assert_rc(roster_config_list(c, "nested", &l, &n), ROSTER_ETYPE);
  assert_null(l);
  assert_int_equal(n, 0);
  assert_contains(roster_last_error(), "its items must be scalars");
  assert_rc(roster_config_list(c, "objs", &l, &n), ROSTER_ETYPE);
  assert_rc(roster_config_list(c, "str", &l, &n), ROSTER_ETYPE);
  assert_contains(roster_last_error(), "want a list");
  /* items are also reachable by index */
  char *s;
  assert_ok(roster_config_string(c, "hosts.1", NULL, &s));
  assert_string_equal(s, "b");
  roster_mem_free(s);
  assert_false(roster_config_has(c, "hosts.2"));
  assert_false(roster_config_has(c, "hosts.x"));
  roster_config_free(c);
}

static void test_has_and_keys(void **state) {
  (void)state;
  roster_config *c = load_yaml("a: {b: 1, n: null}\n", NULL, NULL);
  assert_true(roster_config_has(c, "a"));
  assert_true(roster_config_has(c, "a.b"));
  assert_false(roster_config_has(c, "a.n")); /* null is not set */
  assert_false(roster_config_has(c, "a.b.c"));
  assert_false(roster_config_has(c, "x"));
  assert_false(roster_config_has(c, NULL));
  assert_false(roster_config_has(c, ""));
  assert_false(roster_config_has(NULL, "a"));
  int64_t i;
  assert_rc(roster_config_int(c, NULL, 0, &i), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "config key is NULL");
  assert_rc(roster_config_int(c, "", 0, &i), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "config key is empty");
  assert_rc(roster_config_int(c, ".a", 0, &i), ROSTER_EINVAL);
  assert_rc(roster_config_int(c, "a.", 0, &i), ROSTER_EINVAL);
  assert_rc(roster_config_int(c, "a..b", 0, &i), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "empty segment");
  char longkey[ROSTER_CONFIG_KEY_MAX + 8];
  memset(longkey, 'k', sizeof longkey - 1);
  longkey[sizeof longkey - 1] = '\0';
  assert_rc(roster_config_int(c, longkey, 0, &i), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "longer than 1024 bytes");
  assert_rc(roster_config_int(c, "a.b", 0, NULL), ROSTER_EINVAL);
  assert_rc(roster_config_int(NULL, "a.b", 0, &i), ROSTER_EINVAL);
  roster_config_free(c);

  /* a config that was never loaded */
  assert_ok(roster_config_new(NULL, &c));
  assert_rc(roster_config_int(c, "a", 4, &i), ROSTER_ESTATE);
  assert_int_equal(i, 4);
  assert_contains(roster_last_error(), "not loaded yet");
  assert_false(roster_config_has(c, "a"));
  roster_config *v = NULL;
  assert_rc(roster_config_acquire(c, &v), ROSTER_ESTATE);
  assert_null(v);
  roster_config_free(c);
}

static void test_views(void **state) {
  (void)state;
  roster_config *c = load_yaml("database:\n  url: \"sqlite::memory:\"\n"
                               "  pool: {max: 8, idle: 30s}\n"
                               "servers: [{host: a}, {host: b}]\nflat: 1\n",
                               NULL, NULL);
  roster_config *db = NULL, *pool = NULL, *srv = NULL, *all = NULL;
  assert_ok(roster_config_sub(c, "database", &db));
  int64_t v = 0;
  assert_ok(roster_config_int(db, "pool.max", 0, &v));
  assert_int_equal(v, 8);
  assert_ok(roster_config_sub(db, "pool", &pool));
  assert_ok(roster_config_duration(pool, "idle", 0, &v));
  assert_int_equal(v, 30000);
  /* errors name the full key */
  assert_rc(roster_config_string(pool, "max", NULL, &(char *){NULL}),
            ROSTER_ETYPE);
  assert_contains(roster_last_error(), "config key 'database.pool.max'");
  assert_ok(roster_config_sub(c, "servers", &srv));
  char *h = NULL;
  assert_ok(roster_config_string(srv, "1.host", NULL, &h));
  assert_string_equal(h, "b");
  roster_mem_free(h);
  assert_rc(roster_config_sub(c, "flat", &all), ROSTER_ETYPE);
  assert_null(all);
  assert_contains(roster_last_error(), "want an object or a list");
  assert_rc(roster_config_sub(c, "nope", &all), ROSTER_ENOENT);
  assert_contains(roster_last_error(), "config key 'nope' is not set");
  assert_ok(roster_config_acquire(c, &all));
  assert_true(roster_config_has(all, "database.url"));
  assert_int_equal(roster_config_generation(all), 1);
  /* a view cannot be loaded, watched or registered */
  assert_rc(roster_config_load(db), ROSTER_EINVAL);
  assert_rc(roster_config_reload(db), ROSTER_EINVAL);
  uint64_t id;
  assert_rc(
      roster_config_watch(db, NULL, (roster_config_change_fn)1, NULL, &id),
      ROSTER_EINVAL);
  /* views outlive the config they came from */
  roster_config_free(c);
  assert_ok(roster_config_int(db, "pool.max", 0, &v));
  assert_int_equal(v, 8);
  assert_dump(pool, "{\"max\":8,\"idle\":\"30s\"}");
  roster_config_release(pool);
  roster_config_release(db);
  roster_config_release(srv);
  roster_config_release(all);
  roster_config_release(NULL);
}

typedef struct seen {
  int n;
  char keys[16][64];
  char vals[16][64];
  roster_config_kind types[16];
  bool secret[16];
  int stop_at;
} seen;

static int visit(const roster_config_item *it, void *arg) {
  seen *s = arg;
  if (s->n < 16) {
    snprintf(s->keys[s->n], 64, "%s", it->key);
    snprintf(s->vals[s->n], 64, "%s", it->value);
    s->types[s->n] = it->type;
    s->secret[s->n] = it->secret;
  }
  s->n++;
  return s->stop_at && s->n == s->stop_at;
}

static void test_foreach(void **state) {
  (void)state;
  roster_config *c = load_yaml("a: {s: x, i: 1, d: 1.5, b: false, n: null}\n"
                               "l: [7, {k: v}]\ne: {}\ndb: {password: pw}\n",
                               NULL, NULL);
  seen s = {0};
  assert_ok(roster_config_foreach(c, NULL, visit, &s));
  assert_int_equal(s.n, 9);
  const char *keys[] = {"a.s", "a.i",   "a.d", "a.b",        "a.n",
                        "l.0", "l.1.k", "e",   "db.password"};
  const char *vals[] = {"x", "1", "1.5", "false", "null", "7", "v", "{}", "pw"};
  roster_config_kind types[] = {
      ROSTER_CONFIG_STRING, ROSTER_CONFIG_INT,    ROSTER_CONFIG_DOUBLE,
      ROSTER_CONFIG_BOOL,   ROSTER_CONFIG_NULL,   ROSTER_CONFIG_INT,
      ROSTER_CONFIG_STRING, ROSTER_CONFIG_OBJECT, ROSTER_CONFIG_STRING};
  for (int k = 0; k < 9; k++) {
    assert_string_equal(s.keys[k], keys[k]);
    assert_string_equal(s.vals[k], vals[k]);
    assert_int_equal(s.types[k], types[k]);
    assert_int_equal(s.secret[k], k == 8);
  }
  /* a prefix, and stopping early */
  seen t = {0};
  assert_ok(roster_config_foreach(c, "l", visit, &t));
  assert_int_equal(t.n, 2);
  assert_string_equal(t.keys[1], "l.1.k");
  seen u = {.stop_at = 3};
  assert_ok(roster_config_foreach(c, NULL, visit, &u));
  assert_int_equal(u.n, 3);
  assert_rc(roster_config_foreach(c, "zzz", visit, &u), ROSTER_ENOENT);
  assert_rc(roster_config_foreach(c, NULL, NULL, &u), ROSTER_EINVAL);
  /* in a view keys are relative, secrets judged on the full key */
  roster_config *db;
  assert_ok(roster_config_sub(c, "db", &db));
  seen w = {0};
  assert_ok(roster_config_foreach(db, NULL, visit, &w));
  assert_int_equal(w.n, 1);
  assert_string_equal(w.keys[0], "password");
  assert_true(w.secret[0]);
  roster_config_release(db);
  roster_config_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_typed),           cmocka_unit_test(test_text),
      cmocka_unit_test(test_durations),       cmocka_unit_test(test_sizes),
      cmocka_unit_test(test_bools_from_yaml), cmocka_unit_test(test_lists),
      cmocka_unit_test(test_has_and_keys),    cmocka_unit_test(test_views),
      cmocka_unit_test(test_foreach),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
