/*
 * test_config_dotenv.c: the .env parser. Table-driven over the dotenv
 * conventions (quotes of three kinds, multi-line double quotes, export,
 * comments, escapes, expansion from earlier variables) and the errors with
 * their line:column; then a .env file as a config layer: variables under
 * the prefix become keys with "path:line" provenance, the others serve
 * ${VAR} only, and the environment wins over the file.
 */
#include "config_testutil.h"

static const ct_case valid[] = {
    {"A=1\nB=two\n", "{\"A\":\"1\",\"B\":\"two\"}", 0, 0, NULL},
    {"export A=1\nexport\tB=2\n", "{\"A\":\"1\",\"B\":\"2\"}", 0, 0, NULL},
    /* blanks around '=' and the value; an empty value */
    {"  A =  spaced out  \nB=\nC= \n",
     "{\"A\":\"spaced out\",\"B\":\"\",\"C\":\"\"}", 0, 0, NULL},
    /* comments: whole lines, and after a blank in an unquoted value */
    {"# a comment\n\n  # indented\nA=v # note\nB=a#b\nC=#x\nD= # none\n",
     "{\"A\":\"v\",\"B\":\"a#b\",\"C\":\"#x\",\"D\":\"\"}", 0, 0, NULL},
    /* single and back quotes: literal */
    {"A='a $B \\n # c'\nB=`x \"y\" ${Z}`\n",
     "{\"A\":\"a $B \\\\n # c\",\"B\":\"x \\\"y\\\" ${Z}\"}", 0, 0, NULL},
    /* double quotes: escapes; unknown ones are kept */
    {"A=\"line1\\nline2\\t\\\"q\\\" \\\\ \\$ C:\\x\"\n",
     "{\"A\":\"line1\\nline2\\t\\\"q\\\" \\\\ $ C:\\\\x\"}", 0, 0, NULL},
    /* multi-line quoted values, CRLF inside */
    {"KEY=\"-----BEGIN-----\nabc\r\n-----END-----\"\nNEXT=1\n",
     "{\"KEY\":\"-----BEGIN-----\\nabc\\n-----END-----\",\"NEXT\":\"1\"}", 0, 0,
     NULL},
    {"A='one\ntwo'\n", "{\"A\":\"one\\ntwo\"}", 0, 0, NULL},
    /* a quoted value may be followed by a comment */
    {"A=\"x\" # c\nB='y'   \n", "{\"A\":\"x\",\"B\":\"y\"}", 0, 0, NULL},
    /* expansion from variables defined above; \$ stops it */
    {"HOST=db\nPORT=5432\nURL=pg://${HOST}:${PORT}/${DB:-app}\n"
     "LIT=\"\\${HOST}\"\nQ=\"${HOST}\"\n",
     "{\"HOST\":\"db\",\"PORT\":\"5432\",\"URL\":\"pg://db:5432/app\","
     "\"LIT\":\"${HOST}\",\"Q\":\"db\"}",
     0, 0, NULL},
    /* names with dots and dashes; the last definition wins */
    {"a.b-c_D=1\nX=1\nX=2\n", "{\"a.b-c_D\":\"1\",\"X\":\"2\"}", 0, 0, NULL},
    /* CRLF lines, no final newline */
    {"A=1\r\nB=2", "{\"A\":\"1\",\"B\":\"2\"}", 0, 0, NULL},
    {"", "{}", 0, 0, NULL},
};

static const ct_case invalid[] = {
    {"A=1\nnot a line\n", NULL, 2, 5, "expected '=' after 'not'"},
    {"A=1\nB\n", NULL, 2, 2, "expected '=' after 'B'"},
    {"=1\n", NULL, 1, 1, "expected a variable name"},
    {"1A=x\n", NULL, 1, 1, "expected a variable name"},
    {"A=\"open\nB=2\n", NULL, 1, 3, "unterminated double-quoted value"},
    {"A='open\n", NULL, 1, 3, "unterminated single-quoted value"},
    {"A=`open\n", NULL, 1, 3, "unterminated back-quoted value"},
    {"A=\"x\" y\n", NULL, 1, 7, "unexpected text after the closing quote"},
    {"A=${NOPE_UNSET_VAR}\n", NULL, 1, 3, "A: ${NOPE_UNSET_VAR} is not set"},
    {"A=\"${1BAD}\"\n", NULL, 1, 3, "a variable name must start with"},
    {"A=${OPEN\n", NULL, 1, 3, "unterminated ${"},
};

static void test_valid(void **state) {
  (void)state;
  assert_int_equal(ct_run_cases("env", valid, sizeof valid / sizeof *valid), 0);
}

static void test_invalid(void **state) {
  (void)state;
  assert_int_equal(
      ct_run_cases("env", invalid, sizeof invalid / sizeof *invalid), 0);
}

static void test_positions(void **state) {
  (void)state;
  const char *t = "# header\n"
                  "A=1\n"
                  "export   B=\"two\n"
                  "lines\"\n"
                  "C = 3\n";
  roster_config *v;
  assert_ok(roster_config_parse(t, strlen(t), "env", "x.env", &v));
  assert_string_equal(ct_src(v, "A"), "x.env:2:3");
  assert_string_equal(ct_src(v, "B"), "x.env:3:12");
  assert_string_equal(ct_src(v, "C"), "x.env:5:5");
  roster_config_release(v);
}

static void test_layer(void **state) {
  (void)state;
  char envp[512], yp[512];
  assert_non_null(ct_write(envp, sizeof envp, "app.env",
                           "# secrets for local runs\n"
                           "APP_DB__URL=postgresql://u:pw@h/app\n"
                           "APP_LOG__LEVEL=debug\n"
                           "HOST_ONLY=from-dotenv\n"
                           "APP_NAME=dotenv-name\n"));
  assert_non_null(ct_write(yp, sizeof yp, "app.yaml",
                           "name: file-name\nhost: ${HOST_ONLY}\n"
                           "log: {level: info}\n"));
  const char *files[] = {yp, NULL};
  const char *env[] = {"APP_NAME=env-name", "PATH=/bin", NULL};
  roster_config *c = ct_load(&(roster_config_options){
      .files = files, .env_file = envp, .env_prefix = "APP", .env = env});
  assert_non_null(c);
  /* .env beats the file ... */
  assert_string_equal(ct_str(c, "log.level"), "debug");
  char want[600];
  snprintf(want, sizeof want, "%s:3", envp);
  assert_string_equal(ct_src(c, "log.level"), want);
  assert_string_equal(ct_str(c, "db.url"), "postgresql://u:pw@h/app");
  /* ... the environment beats .env ... */
  assert_string_equal(ct_str(c, "name"), "env-name");
  assert_string_equal(ct_src(c, "name"), "env APP_NAME");
  /* ... and a variable without the prefix only serves ${} */
  assert_string_equal(ct_str(c, "host"), "from-dotenv");
  assert_false(roster_config_has(c, "host_only"));
  assert_false(roster_config_has(c, "HOST_ONLY"));
  roster_config_free(c);

  /* without a prefix the .env file adds no keys */
  c = ct_load(
      &(roster_config_options){.files = files, .env_file = envp, .env = env});
  assert_non_null(c);
  assert_false(roster_config_has(c, "db.url"));
  assert_string_equal(ct_str(c, "host"), "from-dotenv");
  assert_string_equal(ct_str(c, "log.level"), "info");
  roster_config_free(c);
}

static void test_layer_errors(void **state) {
  (void)state;
  char envp[512];
  assert_non_null(ct_write(envp, sizeof envp, "bad.env",
                           "OK=1\nAPP__LEADING=x\nbroken line\n"));
  roster_config *c = NULL;
  assert_ok(roster_config_new(
      &(roster_config_options){
          .env_file = envp, .env_prefix = "APP", .env = (const char *[]){NULL}},
      &c));
  assert_non_null(c);
  assert_rc(roster_config_load(c), ROSTER_EPARSE);
  char want[600];
  snprintf(want, sizeof want, "%s:3:8: expected '=' after 'broken'", envp);
  assert_contains(roster_last_error(), want);
  roster_config_free(c);

  /* a variable under the prefix with an empty key part */
  assert_non_null(ct_write(envp, sizeof envp, "bad2.env", "APP_DB____URL=1\n"));
  assert_ok(roster_config_new(
      &(roster_config_options){
          .env_file = envp, .env_prefix = "APP", .env = (const char *[]){NULL}},
      &c));
  assert_rc(roster_config_load(c), ROSTER_EINVAL);
  snprintf(want, sizeof want,
           "%s:1: variable APP_DB____URL: '__' must sit "
           "between two parts of a key",
           envp);
  assert_contains(roster_last_error(), want);
  roster_config_free(c);

  /* a missing .env: an error, or skipped with missing_ok */
  char gone[512];
  ct_path(gone, sizeof gone, "missing.env");
  assert_ok(roster_config_new(&(roster_config_options){.env_file = gone}, &c));
  assert_rc(roster_config_load(c), ROSTER_EIO);
  assert_contains(roster_last_error(), "missing.env");
  assert_contains(roster_last_error(), "No such file or directory");
  roster_config_free(c);
  c = ct_load(&(roster_config_options){.env_file = gone, .missing_ok = true});
  assert_non_null(c);
  roster_config_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid),        cmocka_unit_test(test_invalid),
      cmocka_unit_test(test_positions),    cmocka_unit_test(test_layer),
      cmocka_unit_test(test_layer_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
