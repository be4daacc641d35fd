/*
 * test_config_sources.c: the layers and their precedence. One key set in
 * every layer, and keys set in fewer, show that each layer beats the ones
 * below it; environment names map to nested keys; objects merge and other
 * values replace; bad options are refused by roster_config_new; a failing
 * load reports every problem at once and changes nothing.
 */
#include "config_testutil.h"

#include <sys/stat.h>

/* ct_layers writes two files in three formats and returns them in files.
 * Each key says which layers set it: key "d" only the defaults, "d1" the
 * defaults and file 1, and so on; its value names the top layer. */
static void write_layers(char f1[512], char f2[512], char envf[512]) {
  assert_non_null(ct_write(f1, 512, "layer1.yaml",
                           "d1: file1\nd12: file1\nd12e: file1\nall: file1\n"
                           "nested: {a: file1, b: file1}\n"));
  assert_non_null(ct_write(f2, 512, "layer2.toml",
                           "d12 = \"file2\"\nd12e = \"file2\"\n"
                           "all = \"file2\"\n[nested]\nb = \"file2\"\n"));
  assert_non_null(
      ct_write(envf, 512, "layer.env",
               "APP_D12E=dotenv\nAPP_ALL=dotenv\nAPP_DOTENV=dotenv\n"));
}

static void test_precedence(void **state) {
  (void)state;
  char f1[512], f2[512], envf[512];
  write_layers(f1, f2, envf);
  const char *files[] = {f1, f2, NULL};
  const char *env[] = {"APP_ALL=env", "APP_ENV=env", "OTHER_ALL=nope", NULL};
  const char *ovr[] = {"all=override", "ovr=override", NULL};
  roster_config *c = ct_load(&(roster_config_options){
      .files = files,
      .env_file = envf,
      .env_prefix = "APP",
      .env = env,
      .overrides = ovr,
      .defaults_json = "{\"d\":\"default\",\"d1\":\"default\",\"d12\":"
                       "\"default\",\"d12e\":\"default\",\"all\":\"default\","
                       "\"nested\":{\"a\":\"default\",\"c\":\"default\"}}"});
  assert_non_null(c);
  assert_string_equal(ct_str(c, "d"), "default");
  assert_string_equal(ct_str(c, "d1"), "file1");
  assert_string_equal(ct_str(c, "d12"), "file2");
  assert_string_equal(ct_str(c, "d12e"), "dotenv");
  assert_string_equal(ct_str(c, "all"), "override");
  assert_string_equal(ct_str(c, "dotenv"), "dotenv");
  assert_string_equal(ct_str(c, "env"), "env");
  assert_string_equal(ct_str(c, "ovr"), "override");
  /* objects merge key by key across layers */
  assert_string_equal(ct_str(c, "nested.a"), "file1");
  assert_string_equal(ct_str(c, "nested.b"), "file2");
  assert_string_equal(ct_str(c, "nested.c"), "default");
  assert_false(roster_config_has(c, "other_all"));
  /* provenance names each winner */
  char w[600];
  assert_string_equal(ct_src(c, "d"), "default");
  snprintf(w, sizeof w, "%s:1:5", f1);
  assert_string_equal(ct_src(c, "d1"), w);
  snprintf(w, sizeof w, "%s:1:7", f2);
  assert_string_equal(ct_src(c, "d12"), w);
  snprintf(w, sizeof w, "%s:1", envf);
  assert_string_equal(ct_src(c, "d12e"), w);
  assert_string_equal(ct_src(c, "env"), "env APP_ENV");
  assert_string_equal(ct_src(c, "all"), "override");
  roster_config_free(c);

  /* without the override and the environment, .env is on top */
  c = ct_load(&(roster_config_options){.files = files,
                                       .env_file = envf,
                                       .env_prefix = "APP",
                                       .env = (const char *[]){NULL}});
  assert_non_null(c);
  assert_string_equal(ct_str(c, "all"), "dotenv");
  roster_config_free(c);
  /* the files alone: the later one wins */
  c = ct_load(&(roster_config_options){.files = files});
  assert_string_equal(ct_str(c, "all"), "file2");
  roster_config_free(c);
  const char *rev[] = {f2, f1, NULL};
  c = ct_load(&(roster_config_options){.files = rev});
  assert_string_equal(ct_str(c, "all"), "file1");
  assert_string_equal(ct_str(c, "nested.b"), "file1");
  roster_config_free(c);
}

static void test_env_names(void **state) {
  (void)state;
  const char *env[] = {"APP_DATABASE__PRIMARY__URL=postgresql://db/app",
                       "APP_LOG_LEVEL=warn",  /* one '_' stays in the key */
                       "APP_HTTP__PORT=9090", /* text: converts on demand */
                       "APP_SERVICE_MY_CACHE_URL=memory://c",
                       "APPX_NOT=1",  /* another prefix */
                       "app_lower=1", /* the prefix is case-sensitive */
                       "APP_=empty",  /* nothing after the prefix */
                       "NOEQUALS",    /* not NAME=value */
                       NULL};
  /* "NOEQUALS" is not NAME=value: the options are refused */
  roster_config *c = NULL;
  assert_int_not_equal(
      roster_config_new(
          &(roster_config_options){.env_prefix = "APP_", .env = env}, &c),
      ROSTER_OK);
  assert_null(c);
  assert_contains(roster_last_error(), "env entry 'NOEQUALS' has no '='");
  env[7] = NULL;
  c = ct_load(&(roster_config_options){
      .env_prefix = "APP_", /* a trailing '_' is the same prefix */
      .env = env,
      .defaults_json = "{\"http\":{\"port\":80,\"host\":\"h\"}}"});
  assert_non_null(c);
  assert_string_equal(ct_str(c, "database.primary.url"), "postgresql://db/app");
  assert_string_equal(ct_src(c, "database.primary.url"),
                      "env APP_DATABASE__PRIMARY__URL");
  assert_string_equal(ct_str(c, "log_level"), "warn");
  int64_t port = 0;
  assert_ok(roster_config_int(c, "http.port", 0, &port));
  assert_int_equal(port, 9090);
  assert_string_equal(ct_str(c, "http.host"), "h"); /* merged, not replaced */
  assert_string_equal(ct_str(c, "services.my_cache.url"), "memory://c");
  assert_false(roster_config_has(c, "not"));
  assert_false(roster_config_has(c, "lower"));
  roster_config_free(c);
}

static void test_merge_rules(void **state) {
  (void)state;
  char a[512], b[512];
  assert_non_null(
      ct_write(a, sizeof a, "m1.json",
               "{\"list\":[1,2,3],\"obj\":{\"x\":1,\"y\":{\"z\":1}},"
               "\"scalar\":{\"was\":\"object\"},\"keep\":true}"));
  assert_non_null(ct_write(b, sizeof b, "m2.yaml",
                           "list: [9]\nobj: {y: {w: 2}}\nscalar: 5\n"));
  const char *files[] = {a, b, NULL};
  const char *env[] = {"APP_OBJ=flat", "APP_LIST__0=first", NULL};
  roster_config *c = ct_load(&(roster_config_options){.files = files});
  assert_non_null(c);
  assert_dump(c, "{\"list\":[9],\"obj\":{\"x\":1,\"y\":{\"z\":1,\"w\":2}},"
                 "\"scalar\":5,\"keep\":true}");
  roster_config_free(c);
  /* an environment variable replaces a whole object, and indexes arrays */
  c = ct_load(&(roster_config_options){
      .files = files, .env_prefix = "APP", .env = env});
  assert_non_null(c);
  assert_dump(c, "{\"list\":[\"first\"],\"obj\":\"flat\",\"scalar\":5,"
                 "\"keep\":true}");
  roster_config_free(c);
  /* an override may go through a scalar, which becomes an object */
  const char *ovr[] = {"scalar.sub=1", "keep.x.y=2", NULL};
  c = ct_load(&(roster_config_options){.files = files, .overrides = ovr});
  assert_non_null(c);
  assert_string_equal(ct_str(c, "scalar.sub"), "1");
  assert_string_equal(ct_str(c, "keep.x.y"), "2");
  roster_config_free(c);
}

static void test_bad_options(void **state) {
  (void)state;
  struct {
    roster_config_options o;
    const char *err;
  } cases[] = {
      {{.files = (const char *[]){"", NULL}}, "empty path"},
      {{.files = (const char *[]){"app.conf", NULL}},
       "cannot tell the format of config file 'app.conf'"},
      {{.files = (const char *[]){"x.env", NULL}}, "goes in env_file"},
      {{.env_file = ""}, "env_file is an empty path"},
      {{.env_prefix = ""}, "env_prefix '' must be 1 to 64"},
      {{.env_prefix = "__"}, "must be 1 to 64"},
      {{.env_prefix = "MY-APP"}, "must be letters, digits or '_'"},
      {{.overrides = (const char *[]){"novalue", NULL}},
       "override 'novalue' has no '='"},
      {{.overrides = (const char *[]){"=1", NULL}}, "override key is empty"},
      {{.overrides = (const char *[]){"a..b=1", NULL}}, "empty segment"},
      {{.defaults_json = "{\"a\":"}, "defaults_json:1:5:"},
      {{.defaults_json = "[1]"}, "the top level must be an object"},
      {{.strict = true}, "strict needs a schema"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    roster_error_clear();
    roster_config *c = NULL;
    int rc = roster_config_new(&cases[i].o, &c);
    if (c || rc != ROSTER_EINVAL || roster_last_code() != ROSTER_EINVAL ||
        !strstr(roster_last_error(), cases[i].err)) {
      print_error("case %zu: %s: %s (want EINVAL with '%s')\n", i,
                  roster_err_name(roster_last_code()), roster_last_error(),
                  cases[i].err);
      roster_config_free(c);
      fail();
    }
  }
  /* {0} and NULL are empty configs */
  roster_config *c = ct_load(NULL);
  assert_non_null(c);
  assert_dump(c, "{}");
  roster_config_free(c);
  c = ct_load(&(roster_config_options){0});
  assert_non_null(c);
  assert_dump(c, "{}");
  roster_config_free(c);
}

static void test_every_problem(void **state) {
  (void)state;
  char bad1[512], bad2[512], gone[512], good[512];
  assert_non_null(ct_write(bad1, sizeof bad1, "bad1.json", "{\"a\": }"));
  assert_non_null(ct_write(bad2, sizeof bad2, "bad2.toml", "x = [1,\n"));
  assert_non_null(
      ct_write(good, sizeof good, "good.yaml", "url: ${UNSET_FOR_TEST}\n"));
  ct_path(gone, sizeof gone, "gone.yaml");
  const char *files[] = {bad1, gone, bad2, good, NULL};
  roster_config *c = NULL;
  assert_ok(roster_config_new(
      &(roster_config_options){.files = files,
                               .env_prefix = "APP",
                               .env = (const char *[]){"APP_A____B=1", NULL}},
      &c));
  assert_non_null(c);
  assert_null(roster_config_errors(c));
  assert_rc(roster_config_load(c), ROSTER_EPARSE);
  char *all = roster_config_errors(c);
  assert_non_null(all);
  char w[600];
  snprintf(w, sizeof w, "%s:1:7: unexpected token", bad1);
  assert_contains(all, w);
  snprintf(w, sizeof w, "cannot open config file '%s': No such file", gone);
  assert_contains(all, w);
  snprintf(w, sizeof w, "%s:2:1: unterminated array", bad2);
  assert_contains(all, w);
  snprintf(w, sizeof w, "%s:1:6: url: ${UNSET_FOR_TEST} is not set", good);
  assert_contains(all, w);
  assert_contains(all, "environment variable APP_A____B: '__' must sit");
  /* one problem per line */
  int lines = 0;
  for (const char *p = all; *p; p++)
    lines += *p == '\n';
  assert_int_equal(lines, 5);
  /* the detail holds them too, in order */
  const char *d = roster_last_error();
  assert_true(strstr(d, "bad1.json") < strstr(d, "gone.yaml"));
  assert_true(strstr(d, "gone.yaml") < strstr(d, "bad2.toml"));
  roster_mem_free(all);
  /* nothing was loaded */
  int64_t x;
  assert_rc(roster_config_int(c, "a", 0, &x), ROSTER_ESTATE);
  assert_false(roster_config_has(c, "url"));
  assert_int_equal(roster_config_generation(c), 0);
  assert_rc(roster_config_reload(c), ROSTER_ESTATE);
  roster_config_free(c);

  /* a missing file is skipped with missing_ok, others still fail */
  const char *some[] = {gone, good, NULL};
  c = ct_load(&(roster_config_options){
      .files = some,
      .missing_ok = true,
      .env = (const char *[]){"UNSET_FOR_TEST=set", NULL}});
  assert_non_null(c);
  assert_string_equal(ct_str(c, "url"), "set");
  roster_config_free(c);
}

static void test_long_detail(void **state) {
  (void)state;
  /* many problems: the detail is shortened, the full list is kept */
  char t[8192];
  size_t o = 0;
  for (int i = 0; i < 60; i++)
    o += (size_t)snprintf(t + o, sizeof t - o, "k%d: ${UNSET_VAR_%d}\n", i, i);
  char p[512];
  assert_non_null(ct_write(p, sizeof p, "many.yaml", t));
  const char *files[] = {p, NULL};
  roster_config *c = NULL;
  assert_ok(roster_config_new(
      &(roster_config_options){.files = files, .env = (const char *[]){NULL}},
      &c));
  assert_rc(roster_config_load(c), ROSTER_ENOENT);
  assert_true(strlen(roster_last_error()) < 1024);
  assert_contains(roster_last_error(), "more (roster_config_errors lists them "
                                       "all)");
  char *all = roster_config_errors(c);
  assert_contains(all, "k59: ${UNSET_VAR_59} is not set");
  roster_mem_free(all);
  roster_config_free(c);
}

static void test_process_environment(void **state) {
  (void)state;
  /* env NULL reads environ at each load */
  setenv("RCFGTEST_FROM__PROCESS", "yes", 1);
  roster_config *c =
      ct_load(&(roster_config_options){.env_prefix = "RCFGTEST"});
  assert_non_null(c);
  assert_string_equal(ct_str(c, "from.process"), "yes");
  setenv("RCFGTEST_FROM__PROCESS", "changed", 1);
  assert_ok(roster_config_reload(c));
  assert_string_equal(ct_str(c, "from.process"), "changed");
  unsetenv("RCFGTEST_FROM__PROCESS");
  roster_config_free(c);
}

static void test_special_files(void **state) {
  (void)state;
  /* a FIFO (or any file that is not a regular file) is refused at once,
   * naming the path; without that the load waits for a writer forever.
   * SIGALRM ends the test if a regression blocks. */
  alarm(30);
  char fifo[512], fifo_env[512], link[512], big[512];
  ct_path(fifo, sizeof fifo, "fifo.yaml");
  ct_path(fifo_env, sizeof fifo_env, "fifo.env");
  ct_path(link, sizeof link, "link.yaml");
  assert_int_equal(mkfifo(fifo, 0600), 0);
  assert_int_equal(mkfifo(fifo_env, 0600), 0);
  assert_int_equal(symlink(fifo, link), 0);
  const char *files[][2] = {{fifo, NULL}, {link, NULL}};
  for (size_t i = 0; i < 2; i++) {
    roster_config *c = NULL;
    assert_ok(
        roster_config_new(&(roster_config_options){.files = files[i]}, &c));
    assert_non_null(c);
    assert_rc(roster_config_load(c), ROSTER_EIO);
    char want[600];
    snprintf(want, sizeof want, "config file '%s' is not a regular file",
             files[i][0]);
    assert_contains(roster_last_error(), want);
    roster_config_free(c);
  }
  /* missing_ok skips only what is missing */
  roster_config *c = NULL;
  assert_ok(roster_config_new(
      &(roster_config_options){.files = files[0], .missing_ok = true}, &c));
  assert_rc(roster_config_load(c), ROSTER_EIO);
  roster_config_free(c);
  /* the .env file, and a character device */
  const char *envs[] = {fifo_env, "/dev/zero"};
  for (size_t i = 0; i < 2; i++) {
    assert_ok(
        roster_config_new(&(roster_config_options){.env_file = envs[i]}, &c));
    assert_rc(roster_config_load(c), ROSTER_EIO);
    char want[600];
    snprintf(want, sizeof want, "'%s' is not a regular file", envs[i]);
    assert_contains(roster_last_error(), want);
    roster_config_free(c);
  }
  /* a file larger than ROSTER_CONFIG_FILE_MAX is refused before it is
   * read (a sparse file: no disk used) */
  ct_path(big, sizeof big, "big.json");
  FILE *f = fopen(big, "w");
  assert_non_null(f);
  assert_int_equal(ftruncate(fileno(f), ROSTER_CONFIG_FILE_MAX + 1), 0);
  fclose(f);
  assert_ok(roster_config_new(
      &(roster_config_options){.files = (const char *[]){big, NULL}}, &c));
  assert_rc(roster_config_load(c), ROSTER_EIO);
  assert_contains(roster_last_error(), "is larger than 16777216 bytes");
  roster_config_free(c);
  alarm(0);
}

/* env_name writes APP_A__A__... with parts key parts into buf. */
static char *env_name(char *buf, size_t cap, int parts, const char *value) {
  size_t o = (size_t)snprintf(buf, cap, "APP_");
  for (int i = 0; i < parts; i++)
    o += (size_t)snprintf(buf + o, cap - o, "%sA", i ? "__" : "");
  if (value)
    snprintf(buf + o, cap - o, "=%s", value);
  return buf;
}

/* dotted writes a.a.a... with parts parts into buf. */
static char *dotted(char *buf, size_t cap, int parts, const char *tail) {
  size_t o = 0;
  buf[0] = '\0';
  for (int i = 0; i < parts; i++)
    o += (size_t)snprintf(buf + o, cap - o, "%sa", i ? "." : "");
  snprintf(buf + o, cap - o, "%s", tail);
  return buf;
}

static void test_key_depth(void **state) {
  (void)state;
  /* every source keeps to ROSTER_CONFIG_DEPTH_MAX: 64 key parts are
   * accepted, 65 and 400 refused, naming the variable or key but never
   * the value */
  static const int parts[] = {ROSTER_CONFIG_DEPTH_MAX,
                              ROSTER_CONFIG_DEPTH_MAX + 1, 400};
  char var[2048], key[2048], ovr[2100], envp[512], want[600];
  for (size_t i = 0; i < 3; i++) {
    bool ok = parts[i] <= ROSTER_CONFIG_DEPTH_MAX;
    dotted(key, sizeof key, parts[i], "");
    /* the environment */
    const char *env[] = {env_name(var, sizeof var, parts[i], "s3cretval"),
                         NULL};
    roster_config *c = NULL;
    assert_ok(roster_config_new(
        &(roster_config_options){.env_prefix = "APP", .env = env}, &c));
    assert_non_null(c);
    if (ok) {
      assert_ok(roster_config_load(c));
      assert_string_equal(ct_str(c, key), "s3cretval");
    } else {
      assert_rc(roster_config_load(c), ROSTER_EINVAL);
      snprintf(want, sizeof want, "environment variable %.40s", var);
      assert_contains(roster_last_error(), want);
      snprintf(want, sizeof want, "has %d parts, more than 64", parts[i]);
      assert_contains(roster_last_error(), want);
      assert_null(strstr(roster_last_error(), "s3cretval"));
    }
    roster_config_free(c);

    /* the .env file */
    char text[2200];
    snprintf(text, sizeof text, "%s\n", var);
    assert_non_null(ct_write(envp, sizeof envp, "deep.env", text));
    assert_ok(roster_config_new(
        &(roster_config_options){.env_file = envp,
                                 .env_prefix = "APP",
                                 .env = (const char *[]){NULL}},
        &c));
    assert_non_null(c);
    if (ok) {
      assert_ok(roster_config_load(c));
      assert_string_equal(ct_str(c, key), "s3cretval");
    } else {
      assert_rc(roster_config_load(c), ROSTER_EINVAL);
      snprintf(want, sizeof want, "%s:1: variable %.40s", envp, var);
      assert_contains(roster_last_error(), want);
      snprintf(want, sizeof want, "has %d parts, more than 64", parts[i]);
      assert_contains(roster_last_error(), want);
      assert_null(strstr(roster_last_error(), "s3cretval"));
    }
    roster_config_free(c);

    /* overrides, refused by roster_config_new */
    snprintf(ovr, sizeof ovr, "%s=s3cretval", key);
    int rc = roster_config_new(
        &(roster_config_options){.overrides = (const char *[]){ovr, NULL}}, &c);
    assert_int_equal(rc, ok ? ROSTER_OK : ROSTER_EINVAL);
    if (ok) {
      assert_non_null(c);
      assert_ok(roster_config_load(c));
      assert_string_equal(ct_str(c, key), "s3cretval");
      roster_config_free(c);
    } else {
      assert_null(c);
      assert_int_equal(roster_last_code(), ROSTER_EINVAL);
      assert_contains(roster_last_error(), "override key 'a.a.a");
      snprintf(want, sizeof want, "has %d parts, more than 64", parts[i]);
      assert_contains(roster_last_error(), want);
      assert_null(strstr(roster_last_error(), "s3cretval"));
    }

    /* schema keys */
    roster_config_field schema[] = {{.key = key, .def = "1"}, {0}};
    rc = roster_config_new(&(roster_config_options){.schema = schema}, &c);
    assert_int_equal(rc, ok ? ROSTER_OK : ROSTER_EINVAL);
    if (ok) {
      assert_non_null(c);
      roster_config_free(c);
    } else {
      assert_null(c);
      assert_int_equal(roster_last_code(), ROSTER_EINVAL);
      assert_contains(roster_last_error(), "schema key 'a.a.a");
    }

    /* files in each format */
    char doc[8192];
    size_t o = 0;
    for (int k = 0; k < parts[i]; k++)
      o += (size_t)snprintf(doc + o, sizeof doc - o, "{\"a\":");
    o += (size_t)snprintf(doc + o, sizeof doc - o, "1");
    for (int k = 0; k < parts[i]; k++)
      o += (size_t)snprintf(doc + o, sizeof doc - o, "}");
    roster_config *v = NULL;
    assert_rc(roster_config_parse(doc, o, "json", "t", &v),
              ok ? ROSTER_OK : ROSTER_EPARSE);
    roster_config_release(v);
    snprintf(doc, sizeof doc, "%s = 1\n", key);
    assert_rc(roster_config_parse(doc, strlen(doc), "toml", "t", &v),
              ok ? ROSTER_OK : ROSTER_EPARSE);
    roster_config_release(v);
    /* YAML: block mappings for the first levels, then flow ones */
    o = 0;
    for (int k = 0; k < parts[i]; k++)
      o += (size_t)(k < 8 ? snprintf(doc + o, sizeof doc - o, "%*sa:\n", k, "")
                          : snprintf(doc + o, sizeof doc - o,
                                     "%s{a: ", k == 8 ? "        " : ""));
    o += (size_t)snprintf(doc + o, sizeof doc - o, "1");
    for (int k = 8; k < parts[i]; k++)
      o += (size_t)snprintf(doc + o, sizeof doc - o, "}");
    assert_true(o < sizeof doc);
    assert_rc(roster_config_parse(doc, strlen(doc), "yaml", "t", &v),
              ok ? ROSTER_OK : ROSTER_EPARSE);
    roster_config_release(v);
  }

  /* a name with '.' cannot make an empty key part either */
  const char *dots[] = {"APP_A..B=1", "APP_A.=1", NULL};
  for (size_t i = 0; dots[i]; i++) {
    roster_config *c = NULL;
    assert_ok(roster_config_new(
        &(roster_config_options){.env_prefix = "APP",
                                 .env = (const char *[]){dots[i], NULL}},
        &c));
    assert_rc(roster_config_load(c), ROSTER_EINVAL);
    assert_contains(roster_last_error(), "empty");
    roster_config_free(c);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_precedence),
      cmocka_unit_test(test_env_names),
      cmocka_unit_test(test_merge_rules),
      cmocka_unit_test(test_bad_options),
      cmocka_unit_test(test_every_problem),
      cmocka_unit_test(test_long_detail),
      cmocka_unit_test(test_process_environment),
      cmocka_unit_test(test_special_files),
      cmocka_unit_test(test_key_depth),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
