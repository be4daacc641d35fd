/*
 * test_config_schema.c: validation against a schema declared in C. Types,
 * required keys, ranges (numbers, durations, sizes, string and list
 * lengths), allowed values, defaults, strict mode; every failure listed at
 * once with its source; bad schemas refused by roster_config_new; a reload
 * that fails validation keeps the old tree.
 */
#include "config_testutil.h"

static const char *const levels[] = {"debug", "info", "warn", "error", NULL};

static const roster_config_field schema[] = {
    {.key = "http.port",
     .type = ROSTER_CONFIG_INT,
     .required = true,
     .min = 1,
     .max = 65535},
    {.key = "http.host", .type = ROSTER_CONFIG_STRING, .def = "0.0.0.0"},
    {.key = "http.timeout",
     .type = ROSTER_CONFIG_DURATION,
     .def = "30s",
     .min = 100,
     .max = 60000},
    {.key = "log.level",
     .type = ROSTER_CONFIG_STRING,
     .def = "info",
     .allowed = levels},
    {.key = "cache.size", .type = ROSTER_CONFIG_SIZE, .max = 1e9},
    {.key = "ratio", .type = ROSTER_CONFIG_DOUBLE, .min = 0, .max = 1},
    {.key = "debug", .type = ROSTER_CONFIG_BOOL},
    {.key = "name", .type = ROSTER_CONFIG_STRING, .min = 1, .max = 8},
    {.key = "peers", .type = ROSTER_CONFIG_LIST, .max = 3},
    {.key = "database", .type = ROSTER_CONFIG_OBJECT, .required = true},
    {.key = "db.password", .type = ROSTER_CONFIG_STRING, .min = 8, .max = 64},
    {0},
};

static roster_config *make(const char *yaml, bool strict,
                           const char *const *env, char *path) {
  char p[512];
  if (!ct_write(p, sizeof p, "s.yaml", yaml))
    return NULL;
  if (path)
    snprintf(path, 512, "%s", p);
  const char *files[] = {p, NULL};
  roster_config *c = NULL;
  if (roster_config_new(
          &(roster_config_options){.files = files,
                                   .schema = schema,
                                   .strict = strict,
                                   .env_prefix = "APP",
                                   .env =
                                       env ? env : (const char *const[]){NULL}},
          &c) != ROSTER_OK)
    return NULL;
  return c;
}

static void test_valid_and_defaults(void **state) {
  (void)state;
  roster_config *c = make("http: {port: 8080}\ndatabase: {url: x}\n"
                          "cache: {size: 64MB}\nratio: 0.5\ndebug: true\n"
                          "name: svc\npeers: [a, b]\n",
                          false, NULL, NULL);
  assert_non_null(c);
  assert_ok(roster_config_load(c));
  /* defaults from the schema fill what no source set */
  assert_string_equal(ct_str(c, "http.host"), "0.0.0.0");
  assert_string_equal(ct_src(c, "http.host"), "default");
  int64_t ms = 0;
  assert_ok(roster_config_duration(c, "http.timeout", 0, &ms));
  assert_int_equal(ms, 30000);
  assert_string_equal(ct_str(c, "log.level"), "info");
  roster_config_free(c);

  /* values from the environment are checked the same way, as text */
  const char *env[] = {"APP_HTTP__PORT=9000", "APP_LOG__LEVEL=debug", NULL};
  c = make("database: {}\n", false, env, NULL);
  assert_ok(roster_config_load(c));
  int64_t port = 0;
  assert_ok(roster_config_int(c, "http.port", 0, &port));
  assert_int_equal(port, 9000);
  roster_config_free(c);
}

static void test_every_problem(void **state) {
  (void)state;
  char p[512];
  roster_config *c = make("http:\n"
                          "  timeout: 5ms\n"
                          "log: {level: loud}\n"
                          "cache: {size: 2GB}\n"
                          "ratio: 1.5\n"
                          "debug: maybe\n"
                          "name: much-too-long\n"
                          "peers: [a, b, c, d]\n"
                          "db: {password: short}\n",
                          false, NULL, p);
  assert_non_null(c);
  assert_rc(roster_config_load(c), ROSTER_ECONSTRAINT);
  char *all = roster_config_errors(c);
  assert_non_null(all);
  char w[800];
  const char *want[] = {
      "http.port: required, but not set",
      "%s:2:12: http.timeout: 5 ms is out of range [100, 60000]",
      "%s:3:14: log.level: \"loud\" is not one of: debug, info, warn, error",
      "%s:4:15: cache.size: 2000000000 bytes is out of range [0, "
      "1000000000]",
      "%s:5:8: ratio: 1.5 is out of range [0, 1]",
      "%s:6:8: debug: is a string (\"maybe\"); want a boolean",
      "%s:7:7: name: length 13 is out of range [1, 8]",
      "%s:8:8: peers: length 4 is out of range [0, 3]",
      "database: required, but not set",
      "%s:9:16: db.password: length 5 is out of range [8, 64]",
  };
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
    snprintf(w, sizeof w, want[i], p);
    assert_contains(all, w);
  }
  int lines = 0;
  for (const char *q = all; *q; q++)
    lines += *q == '\n';
  assert_int_equal(lines, (int)(sizeof want / sizeof *want));
  /* secrets are not quoted, even when they fail */
  assert_null(strstr(all, "short"));
  roster_mem_free(all);
  assert_contains(roster_last_error(), "http.port: required, but not set; ");
  roster_config_free(c);

  /* wrong types, each with the reason */
  c = make("http: {port: \"80\", timeout: 10}\ndatabase: [1]\n"
           "cache: {size: -5}\nname: 7\npeers: {a: 1}\n",
           false, NULL, p);
  assert_rc(roster_config_load(c), ROSTER_ECONSTRAINT);
  all = roster_config_errors(c);
  snprintf(w, sizeof w,
           "%s:1:14: http.port: is a string (\"80\"); want an "
           "integer",
           p);
  assert_contains(all, w);
  assert_contains(all, "http.timeout: is an integer (10); want a duration "
                       "(like \"250ms\", \"30s\", \"1h30m\"): a bare number "
                       "needs a unit (ms, s, m, h, d)");
  assert_contains(all, "database: is a list; want an object");
  assert_contains(all, "cache.size: is an integer (-5); want a size");
  assert_contains(all, "sizes cannot be negative");
  assert_contains(all, "name: is an integer (7); want a string");
  assert_contains(all, "peers: is an object; want a list");
  roster_mem_free(all);
  roster_config_free(c);
}

/* A field of any type with allowed values, given an object or a list: the
 * problem names what it is and quotes nothing below it (a secret may sit
 * there). */
static void test_allowed_container(void **state) {
  (void)state;
  static const char *const ports[] = {"8080", "80", NULL};
  static const roster_config_field f[] = {
      {.key = "listen", .type = ROSTER_CONFIG_ANY, .allowed = ports},
      {.key = "backup", .type = ROSTER_CONFIG_ANY, .allowed = ports},
      {0},
  };
  char p[512];
  assert_non_null(ct_write(p, sizeof p, "a.yaml",
                           "listen: {password: Zs3cr3tQ, port: 80}\n"
                           "backup: [postgresql://u:Zs3cr3tQ@h/db]\n"));
  const char *files[] = {p, NULL};
  roster_config *c = NULL;
  assert_ok(roster_config_new(
      &(roster_config_options){
          .files = files, .schema = f, .env = (const char *const[]){NULL}},
      &c));
  assert_non_null(c);
  assert_rc(roster_config_load(c), ROSTER_ECONSTRAINT);
  char *all = roster_config_errors(c);
  assert_non_null(all);
  assert_null(strstr(all, "Zs3cr3tQ"));
  assert_null(strstr(roster_last_error(), "Zs3cr3tQ"));
  char w[800];
  snprintf(w, sizeof w, "%s:1:9: listen: an object is not one of: 8080, 80", p);
  assert_contains(all, w);
  snprintf(w, sizeof w, "%s:2:9: backup: a list is not one of: 8080, 80", p);
  assert_contains(all, w);
  roster_mem_free(all);
  roster_config_free(c);
}

static void test_strict(void **state) {
  (void)state;
  char p[512];
  roster_config *c = make("http: {port: 80, prot: 1}\ndatabase: {any: "
                          "{thing: 1}}\npeers: [x]\ntypo: 1\n",
                          true, (const char *const[]){"APP_EXTRA=1", NULL}, p);
  assert_rc(roster_config_load(c), ROSTER_ECONSTRAINT);
  char *all = roster_config_errors(c);
  char w[800];
  snprintf(w, sizeof w,
           "%s:1:24: http.prot: unknown key (the schema does "
           "not declare it)",
           p);
  assert_contains(all, w);
  snprintf(w, sizeof w, "%s:4:7: typo: unknown key", p);
  assert_contains(all, w);
  assert_contains(all, "env APP_EXTRA: extra: unknown key");
  /* below an object field and in a list field anything goes */
  assert_null(strstr(all, "database.any"));
  assert_null(strstr(all, "peers"));
  int lines = 0;
  for (const char *q = all; *q; q++)
    lines += *q == '\n';
  assert_int_equal(lines, 3);
  roster_mem_free(all);
  roster_config_free(c);
  /* the same without strict loads */
  c = make("http: {port: 80, prot: 1}\ndatabase: {}\ntypo: 1\n", false, NULL,
           NULL);
  assert_ok(roster_config_load(c));
  roster_config_free(c);
}

static void test_bad_schemas(void **state) {
  (void)state;
  static const char *const any[] = {"a", NULL};
  struct {
    roster_config_field f;
    const char *err;
  } cases[] = {
      {{.key = ""}, "schema key is empty"},
      {{.key = "a..b"}, "empty segment"},
      {{.key = "x", .type = (roster_config_kind)42}, "unknown type 42"},
      {{.key = "x", .min = 5, .max = 1}, "min 5 is above max 1"},
      {{.key = "x", .type = ROSTER_CONFIG_LIST, .allowed = any},
       "allowed values need a scalar type, not list"},
      {{.key = "x", .type = ROSTER_CONFIG_OBJECT, .def = "1"},
       "an object cannot have a default"},
      {{.key = "x", .type = ROSTER_CONFIG_INT, .def = "eight"},
       "the default 'eight' does not pass"},
      {{.key = "x",
        .type = ROSTER_CONFIG_INT,
        .def = "80",
        .min = 100,
        .max = 200},
       "80 is out of range [100, 200]"},
      {{.key = "x", .type = ROSTER_CONFIG_STRING, .def = "b", .allowed = any},
       "\"b\" is not one of: a"},
      {{.key = "x", .type = ROSTER_CONFIG_DURATION, .def = "30"},
       "a number needs a unit"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    roster_config_field s[] = {cases[i].f, {0}};
    roster_error_clear();
    roster_config *c = NULL;
    int rc = roster_config_new(&(roster_config_options){.schema = s}, &c);
    if (c || rc != ROSTER_EINVAL || roster_last_code() != ROSTER_EINVAL ||
        !strstr(roster_last_error(), cases[i].err)) {
      print_error("case %zu: %s (want EINVAL with '%s')\n", i,
                  roster_last_error(), cases[i].err);
      roster_config_free(c);
      fail();
    }
  }
}

static void test_reload_keeps_old(void **state) {
  (void)state;
  char p[512];
  roster_config *c = make("http: {port: 80}\ndatabase: {}\n", false, NULL, p);
  assert_ok(roster_config_load(c));
  assert_int_equal(roster_config_generation(c), 1);
  assert_null(roster_config_errors(c));
  /* the file changes to something the schema rejects */
  assert_non_null(
      ct_write(p, sizeof p, "s.yaml", "http: {port: 70000}\ndatabase: {}\n"));
  assert_rc(roster_config_reload(c), ROSTER_ECONSTRAINT);
  assert_contains(roster_last_error(), "http.port: 70000 is out of range");
  int64_t port = 0;
  assert_ok(roster_config_int(c, "http.port", 0, &port));
  assert_int_equal(port, 80);
  assert_int_equal(roster_config_generation(c), 1);
  char *e = roster_config_errors(c);
  assert_contains(e, "70000");
  roster_mem_free(e);
  /* fixed, it loads, and the error list is gone */
  assert_non_null(
      ct_write(p, sizeof p, "s.yaml", "http: {port: 81}\ndatabase: {}\n"));
  assert_ok(roster_config_reload(c));
  assert_ok(roster_config_int(c, "http.port", 0, &port));
  assert_int_equal(port, 81);
  assert_int_equal(roster_config_generation(c), 2);
  assert_null(roster_config_errors(c));
  roster_config_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid_and_defaults),
      cmocka_unit_test(test_every_problem),
      cmocka_unit_test(test_allowed_container),
      cmocka_unit_test(test_strict),
      cmocka_unit_test(test_bad_schemas),
      cmocka_unit_test(test_reload_keeps_old),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
