/*
 * test_config_expand.c: ${VAR} expansion. The forms (${V}, ${V:-d}, ${V-d},
 * nested defaults, $${), where the values come from (the environment, then
 * the .env file), what is not expanded (environment values, overrides,
 * single-quoted .env values, keys), errors with key and source, and an
 * expanded value becoming text that the typed getters convert.
 */
#include "config_testutil.h"

static roster_config *load(const char *name, const char *text,
                           const char *const *env, const char *envfile) {
  char p[512];
  if (!ct_write(p, sizeof p, name, text))
    return NULL;
  const char *files[] = {p, NULL};
  return ct_load(
      &(roster_config_options){.files = files,
                               .env = env ? env : (const char *const[]){NULL},
                               .env_file = envfile});
}

static void test_forms(void **state) {
  (void)state;
  const char *env[] = {"HOST=db.local", "EMPTY=", "PORT=5432", "USER=app",
                       NULL};
  roster_config *c = load("e.yaml",
                          "plain: ${HOST}\n"
                          "inside: \"pg://${USER}@${HOST}:${PORT}/x\"\n"
                          "def_unset: ${NOPE:-fallback}\n"
                          "def_empty: ${EMPTY:-fallback}\n"
                          "dash_empty: \"[${EMPTY-fallback}]\"\n"
                          "dash_unset: ${NOPE-fallback}\n"
                          "nested: ${NOPE:-${ALSO_NOPE:-${HOST}}}\n"
                          "empty_default: \"[${NOPE:-}]\"\n"
                          "literal: \"$${HOST} costs $5 and $$\"\n"
                          "dollar: \"$HOST $ {HOST}\"\n"
                          "default_with_colon: ${NOPE:-a:b}\n",
                          env, NULL);
  assert_non_null(c);
  assert_string_equal(ct_str(c, "plain"), "db.local");
  assert_string_equal(ct_str(c, "inside"), "pg://app@db.local:5432/x");
  assert_string_equal(ct_str(c, "def_unset"), "fallback");
  assert_string_equal(ct_str(c, "def_empty"), "fallback");
  assert_string_equal(ct_str(c, "dash_empty"), "[]");
  assert_string_equal(ct_str(c, "dash_unset"), "fallback");
  assert_string_equal(ct_str(c, "nested"), "db.local");
  assert_string_equal(ct_str(c, "empty_default"), "[]");
  assert_string_equal(ct_str(c, "literal"), "${HOST} costs $5 and $$");
  assert_string_equal(ct_str(c, "dollar"), "$HOST $ {HOST}");
  assert_string_equal(ct_str(c, "default_with_colon"), "a:b");
  /* the value keeps the position it was written at */
  char w[600];
  snprintf(w, sizeof w, "%s/e.yaml:2:9", ct_dir());
  assert_string_equal(ct_src(c, "inside"), w);
  roster_config_free(c);
}

static void test_typed_after_expansion(void **state) {
  (void)state;
  const char *env[] = {"PORT=8080", "DEBUG=true", "TIMEOUT=30s", NULL};
  roster_config *c = load("t.toml",
                          "port = \"${PORT}\"\ndebug = \"${DEBUG}\"\n"
                          "timeout = \"${TIMEOUT}\"\nraw = \"8080\"\n",
                          env, NULL);
  assert_non_null(c);
  int64_t port = 0, ms = 0;
  bool debug = false;
  /* an expanded string is text: it converts like an environment value */
  assert_ok(roster_config_int(c, "port", 0, &port));
  assert_int_equal(port, 8080);
  assert_ok(roster_config_bool(c, "debug", false, &debug));
  assert_true(debug);
  assert_ok(roster_config_duration(c, "timeout", 0, &ms));
  assert_int_equal(ms, 30000);
  /* a plain quoted string is still a string */
  assert_rc(roster_config_int(c, "raw", 0, &port), ROSTER_ETYPE);
  roster_config_free(c);
}

static void test_sources_of_values(void **state) {
  (void)state;
  char envf[512];
  assert_non_null(
      ct_write(envf, sizeof envf, "vars.env",
               "FROM_DOTENV=dotenv\nBOTH=dotenv\n"
               "SINGLE='${FROM_DOTENV}'\nDOUBLE=\"${FROM_DOTENV}\"\n"
               "REF=${BOTH}\n"));
  const char *env[] = {"BOTH=environment", "APP_RAW=${FROM_DOTENV}", NULL};
  char p[512];
  assert_non_null(ct_write(p, sizeof p, "v.yaml",
                           "a: ${FROM_DOTENV}\nb: ${BOTH}\n"
                           "\"${KEY}\": keys are not expanded\n"));
  const char *files[] = {p, NULL};
  const char *ovr[] = {"o=${FROM_DOTENV}", NULL};
  roster_config *c = ct_load(&(roster_config_options){.files = files,
                                                      .env = env,
                                                      .env_file = envf,
                                                      .env_prefix = "APP",
                                                      .overrides = ovr});
  assert_non_null(c);
  assert_string_equal(ct_str(c, "a"), "dotenv");
  /* the environment wins over the .env file, in ${} too */
  assert_string_equal(ct_str(c, "b"), "environment");
  assert_string_equal(ct_str(c, "${KEY}"), "keys are not expanded");
  /* environment values and overrides are taken as they are */
  assert_string_equal(ct_str(c, "raw"), "${FROM_DOTENV}");
  assert_string_equal(ct_str(c, "o"), "${FROM_DOTENV}");
  roster_config_free(c);

  /* inside the .env file: single quotes are literal, and a reference
   * looks at the environment first */
  roster_config *v = NULL;
  const char *t = "FROM=dotenv\nS='${FROM}'\nD=\"${FROM}\"\nU=${FROM}\n";
  assert_ok(roster_config_parse(t, strlen(t), "env", "x.env", &v));
  assert_string_equal(ct_str(v, "S"), "${FROM}");
  assert_string_equal(ct_str(v, "D"), "dotenv");
  assert_string_equal(ct_str(v, "U"), "dotenv");
  roster_config_release(v);
  setenv("RCFG_EXPAND_FROM", "process", 1);
  t = "RCFG_EXPAND_FROM=file\nX=${RCFG_EXPAND_FROM}\n";
  assert_ok(roster_config_parse(t, strlen(t), "env", "x.env", &v));
  assert_string_equal(ct_str(v, "X"), "process");
  roster_config_release(v);
  unsetenv("RCFG_EXPAND_FROM");
}

static void test_errors(void **state) {
  (void)state;
  char p[512];
  assert_non_null(ct_write(p, sizeof p, "bad.yaml",
                           "db:\n  url: ${DB_URL}\n  user: ${DB_USER}\n"
                           "open: \"${OPEN\"\nname: \"${1X}\"\n"
                           "op: \"${A:=b}\"\nok: ${DB_URL:-x}\n"));
  const char *files[] = {p, NULL};
  roster_config *c = NULL;
  assert_ok(roster_config_new(
      &(roster_config_options){.files = files, .env = (const char *[]){NULL}},
      &c));
  assert_rc(roster_config_load(c), ROSTER_ENOENT);
  char *all = roster_config_errors(c);
  assert_non_null(all);
  char w[800];
  snprintf(w, sizeof w,
           "%s:2:8: db.url: ${DB_URL} is not set (give a "
           "default with ${DB_URL:-value})",
           p);
  assert_contains(all, w);
  snprintf(w, sizeof w, "%s:3:9: db.user: ${DB_USER} is not set", p);
  assert_contains(all, w);
  snprintf(w, sizeof w, "%s:4:7: open: unterminated ${", p);
  assert_contains(all, w);
  assert_contains(all, "name: ${1X}: a variable name must start with a "
                       "letter or '_'");
  assert_contains(all, "op: ${A:=b}: expected '}', ':-' or '-' after the "
                       "name 'A'");
  assert_null(strstr(all, "ok:"));
  roster_mem_free(all);
  roster_config_free(c);

  /* defaults nested too deep */
  char deep[512] = "x: ";
  for (int i = 0; i < 10; i++)
    strcat(deep, "${N:-");
  strcat(deep, "end");
  for (int i = 0; i < 10; i++)
    strcat(deep, "}");
  strcat(deep, "\n");
  assert_non_null(ct_write(p, sizeof p, "deep.yaml", deep));
  assert_ok(roster_config_new(
      &(roster_config_options){.files = files, .env = (const char *[]){NULL}},
      &c));
  assert_rc(roster_config_load(c), ROSTER_EPARSE);
  assert_contains(roster_last_error(), "nested deeper than 8 levels");
  roster_config_free(c);

  /* roster_config_parse expands too, and fails the same way */
  roster_config *v = NULL;
  const char *t = "{\"a\": \"${SURELY_NOT_SET_ANYWHERE_42}\"}";
  assert_rc(roster_config_parse(t, strlen(t), "json", "m.json", &v),
            ROSTER_ENOENT);
  assert_contains(roster_last_error(),
                  "m.json:1:7: a: ${SURELY_NOT_SET_ANYWHERE_42} is not set");
  assert_null(v);
}

/* A secret's value with a broken ${} shows in no error: the message names
 * the key and the problem, not the text around it (a default is as secret
 * as the value). */
static void test_errors_hide_secrets(void **state) {
  (void)state;
  char p[512];
  assert_non_null(ct_write(p, sizeof p, "secret.yaml",
                           "db_password: \"${1:-Zs3cr3tQ}\"\n"
                           "api_key: \"${A+Zs3cr3tQ}\"\n"
                           "name: \"${1:-shown}\"\n"));
  const char *files[] = {p, NULL};
  roster_config *c = NULL;
  assert_ok(roster_config_new(
      &(roster_config_options){.files = files, .env = (const char *[]){NULL}},
      &c));
  assert_rc(roster_config_load(c), ROSTER_EPARSE);
  char *all = roster_config_errors(c);
  assert_non_null(all);
  assert_null(strstr(all, "Zs3cr3tQ"));
  assert_null(strstr(roster_last_error(), "Zs3cr3tQ"));
  assert_contains(all, "db_password: ${...}: a variable name must start with "
                       "a letter or '_'");
  assert_contains(all, "api_key: ${...}: expected '}', ':-' or '-' after the "
                       "name 'A'");
  /* a value that is not secret is still quoted */
  assert_contains(all, "name: ${1:-shown}: a variable name must start");
  roster_mem_free(all);
  roster_config_free(c);

  /* the same in a .env file */
  roster_config *v = NULL;
  const char *t = "DB_PASSWORD=${1:-Zs3cr3tQ}\n";
  assert_rc(roster_config_parse(t, strlen(t), "env", "x.env", &v),
            ROSTER_EPARSE);
  assert_null(strstr(roster_last_error(), "Zs3cr3tQ"));
  assert_contains(roster_last_error(), "DB_PASSWORD: ${...}: a variable name");
  t = "TOKEN=\"${A+Zs3cr3tQ}\"\n";
  assert_rc(roster_config_parse(t, strlen(t), "env", "x.env", &v),
            ROSTER_EPARSE);
  assert_null(strstr(roster_last_error(), "Zs3cr3tQ"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_forms),
      cmocka_unit_test(test_typed_after_expansion),
      cmocka_unit_test(test_sources_of_values),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_errors_hide_secrets),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
