/*
 * test_config_provenance.c: where each value came from, and redaction.
 * Every kind of source as roster_config_source and the dump's provenance
 * report it; the dump's shape with provenance; secrets redacted by key
 * (password, secret, token, api_key, key, under a secret parent) and the
 * password of any URL; ROSTER_CONFIG_DUMP_SECRETS; secret values kept out
 * of error details.
 */
#include "config_testutil.h"

#include <jansson.h>

static void test_every_source(void **state) {
  (void)state;
  char j[512], y[512], t[512], e[512];
  assert_non_null(ct_write(j, sizeof j, "p.json", "{\"j\": 1}"));
  assert_non_null(ct_write(y, sizeof y, "p.yaml", "y:\n  deep: 2\n"));
  assert_non_null(ct_write(t, sizeof t, "p.toml", "\n\n[tt]\nk = 3\n"));
  assert_non_null(ct_write(e, sizeof e, "p.env", "# x\n\nAPP_DOT=4\n"));
  const char *files[] = {j, y, t, NULL};
  const char *env[] = {"APP_ENVV=5", NULL};
  const char *ovr[] = {"ov=6", NULL};
  roster_config_field schema[] = {{.key = "sch", .def = "7"}, {0}};
  roster_config *c =
      ct_load(&(roster_config_options){.files = files,
                                       .env_file = e,
                                       .env_prefix = "APP",
                                       .env = env,
                                       .overrides = ovr,
                                       .defaults_json = "{\"dj\": 8}",
                                       .schema = schema});
  assert_non_null(c);
  char w[600];
  snprintf(w, sizeof w, "%s:1:7", j);
  assert_string_equal(ct_src(c, "j"), w);
  snprintf(w, sizeof w, "%s:2:9", y);
  assert_string_equal(ct_src(c, "y.deep"), w);
  snprintf(w, sizeof w, "%s:4:5", t);
  assert_string_equal(ct_src(c, "tt.k"), w);
  snprintf(w, sizeof w, "%s:3", e);
  assert_string_equal(ct_src(c, "dot"), w);
  assert_string_equal(ct_src(c, "envv"), "env APP_ENVV");
  assert_string_equal(ct_src(c, "ov"), "override");
  assert_string_equal(ct_src(c, "sch"), "default");
  assert_string_equal(ct_src(c, "dj"), "default");
  char buf[8];
  assert_rc(roster_config_source(c, "missing", buf, sizeof buf), ROSTER_ENOENT);
  assert_string_equal(buf, "");
  assert_rc(roster_config_source(c, "j", NULL, 4), ROSTER_EINVAL);
  /* a short buffer is cut, not overrun */
  assert_ok(roster_config_source(c, "envv", buf, sizeof buf));
  assert_string_equal(buf, "env APP");

  /* the dump's provenance lists every leaf with the same text */
  char *d = NULL;
  assert_ok(roster_config_dump(c, ROSTER_CONFIG_DUMP_PROVENANCE, &d));
  json_error_t err;
  json_t *doc = json_loads(d, 0, &err);
  assert_non_null(doc);
  json_t *cfg = json_object_get(doc, "config");
  json_t *prov = json_object_get(doc, "provenance");
  assert_non_null(cfg);
  assert_non_null(prov);
  assert_int_equal(json_integer_value(json_object_get(cfg, "j")), 1);
  assert_int_equal(json_object_size(prov), 8);
  snprintf(w, sizeof w, "%s:2:9", y);
  assert_string_equal(json_string_value(json_object_get(prov, "y.deep")), w);
  assert_string_equal(json_string_value(json_object_get(prov, "envv")),
                      "env APP_ENVV");
  assert_string_equal(json_string_value(json_object_get(prov, "sch")),
                      "default");
  json_decref(doc);
  roster_mem_free(d);
  /* without the flag the dump is the tree itself, indented */
  assert_ok(roster_config_dump(c, 0, &d));
  assert_contains(d, "\n  \"j\": 1,");
  assert_null(strstr(d, "provenance"));
  roster_mem_free(d);
  roster_config_free(c);
}

static void test_redaction(void **state) {
  (void)state;
  const char *yaml =
      "database:\n"
      "  url: postgresql://app:s3cret@db:5432/app?sslmode=require\n"
      "  password: hunter2\n"
      "  pool: {max: 8}\n"
      "api_key: abc\n"
      "auth:\n"
      "  token: t0k\n"
      "  client_secret: cs\n"
      "  ssh.key: k\n"
      "key: top\n"
      "keys: [not, secret]\n"
      "monkey: banana\n"
      "secrets:\n"
      "  a: 1\n"
      "  b: [x, y]\n"
      "cache: redis://:redispw@cache:6379/0\n"
      "hook: https://example.com/h?token=qt&x=1\n"
      "plain: not a url\n"
      "port: 5432\n";
  roster_config *v;
  assert_ok(roster_config_parse(yaml, strlen(yaml), "yaml", "r.yaml", &v));
  char *d = ct_dump_flags(v, 0);
  assert_non_null(d);
  assert_string_equal(
      d, "{\"database\":{\"url\":\"postgresql://app:***@db:5432/"
         "app?sslmode=require\",\"password\":\"***\",\"pool\":{\"max\":8}},"
         "\"api_key\":\"***\",\"auth\":{\"token\":\"***\",\"client_secret\":"
         "\"***\",\"ssh.key\":\"***\"},\"key\":\"***\",\"keys\":[\"not\","
         "\"secret\"],\"monkey\":\"banana\",\"secrets\":{\"a\":\"***\",\"b\":["
         "\"***\",\"***\"]},\"cache\":\"redis://:***@cache:6379/0\",\"hook\":"
         "\"https://example.com/h?token=***&x=1\",\"plain\":\"not a url\","
         "\"port\":5432}");
  assert_null(strstr(d, "hunter2"));
  assert_null(strstr(d, "s3cret"));
  roster_mem_free(d);
  /* asked for, the secrets are shown */
  d = ct_dump_flags(v, ROSTER_CONFIG_DUMP_SECRETS);
  assert_contains(d, "hunter2");
  assert_contains(d, "app:s3cret@db");
  roster_mem_free(d);
  /* a view of a secret subtree stays redacted: the key above counts */
  roster_config *sub;
  assert_ok(roster_config_sub(v, "secrets", &sub));
  d = ct_dump_flags(sub, ROSTER_CONFIG_DUMP_PROVENANCE);
  assert_string_equal(d, "{\"config\":{\"a\":\"***\",\"b\":[\"***\",\"***\"]},"
                         "\"provenance\":{\"a\":\"r.yaml:14:6\",\"b.0\":"
                         "\"r.yaml:15:7\",\"b.1\":\"r.yaml:15:10\"}}");
  roster_mem_free(d);
  roster_config_release(sub);
  /* the getters give the real value: redaction is for output */
  assert_string_equal(ct_str(v, "database.password"), "hunter2");
  /* error details never quote a secret */
  int64_t n;
  assert_rc(roster_config_int(v, "database.password", 0, &n), ROSTER_ETYPE);
  assert_null(strstr(roster_last_error(), "hunter2"));
  assert_contains(roster_last_error(), "a string (secret)");
  assert_rc(roster_config_int(v, "plain", 0, &n), ROSTER_ETYPE);
  assert_contains(roster_last_error(), "\"not a url\"");
  roster_config_release(v);
}

static void test_environment_secrets(void **state) {
  (void)state;
  /* values from the environment are redacted by the same rules, and a
   * value with invalid UTF-8 still dumps as valid JSON */
  const char *env[] = {"APP_DB__PASSWORD=pw", "APP_DB__URL=mysql://u:pw@h/d",
                       "APP_BIN=a\xff"
                       "b",
                       NULL};
  roster_config *c =
      ct_load(&(roster_config_options){.env_prefix = "APP", .env = env});
  assert_non_null(c);
  char *d = ct_dump_flags(c, ROSTER_CONFIG_DUMP_PROVENANCE);
  assert_string_equal(
      d, "{\"config\":{\"db\":{\"password\":\"***\",\"url\":\"mysql://u:***@h/"
         "d\"},\"bin\":\"a\xef\xbf\xbd"
         "b\"},\"provenance\":{\"db.password\":"
         "\"env APP_DB__PASSWORD\",\"db.url\":\"env APP_DB__URL\",\"bin\":"
         "\"env APP_BIN\"}}");
  json_error_t err;
  json_t *doc = json_loads(d, 0, &err);
  assert_non_null(doc);
  json_decref(doc);
  roster_mem_free(d);
  assert_rc(roster_config_dump(c, 0, NULL), ROSTER_EINVAL);
  roster_config_free(c);
}

/* dump_json dumps c with flags (compact added), checks that the text is
 * valid JSON and returns it (free with roster_mem_free). */
static char *dump_json(const roster_config *c, unsigned flags) {
  char *d = NULL;
  assert_ok(roster_config_dump(c, flags | ROSTER_CONFIG_DUMP_COMPACT, &d));
  json_error_t err;
  json_t *doc = json_loads(d, 0, &err);
  if (!doc) {
    print_error("not JSON (%s at %d): %s\n", err.text, err.position, d);
    fail();
  }
  json_decref(doc);
  return d;
}

static void test_long_secret_keys(void **state) {
  (void)state;
  /* the secret test sees the whole key, however long each segment is */
  char long_key[301], yaml[1600];
  memset(long_key, 'x', 300);
  long_key[300] = '\0';
  snprintf(yaml, sizeof yaml,
           "%s_password: hunter2\n"
           "%s_token:\n  inner: t0k3n\n"
           "outer:\n  %s_api_key: [k3y1, k3y2]\n"
           "%s: visible\n",
           long_key, long_key, long_key, long_key);
  roster_config *v;
  assert_ok(roster_config_parse(yaml, strlen(yaml), "yaml", "r.yaml", &v));
  char *d = dump_json(v, ROSTER_CONFIG_DUMP_PROVENANCE);
  assert_null(strstr(d, "hunter2"));
  assert_null(strstr(d, "t0k3n"));
  assert_null(strstr(d, "k3y1"));
  assert_contains(d, "visible");
  roster_mem_free(d);
  /* errors and foreach treat it as a secret too */
  char key[320];
  snprintf(key, sizeof key, "%.300s_password", long_key);
  int64_t n;
  assert_rc(roster_config_int(v, key, 0, &n), ROSTER_ETYPE);
  assert_null(strstr(roster_last_error(), "hunter2"));
  assert_contains(roster_last_error(), "(secret)");
  roster_config_release(v);
}

/* secret_items counts the items foreach marks as secret. */
static int count_secret(const roster_config_item *it, void *arg) {
  *(int *)arg += it->secret;
  return 0;
}

static void test_long_secret_keys_foreach(void **state) {
  (void)state;
  char key[300], ovr[400];
  memset(key, 'y', 280);
  snprintf(key + 280, sizeof key - 280, "_secret");
  snprintf(ovr, sizeof ovr, "%s=shh", key);
  roster_config *c = ct_load(
      &(roster_config_options){.overrides = (const char *[]){ovr, NULL}});
  assert_non_null(c);
  int secrets = 0;
  assert_ok(roster_config_foreach(c, NULL, count_secret, &secrets));
  assert_int_equal(secrets, 1);
  char *d = dump_json(c, 0);
  assert_null(strstr(d, "shh"));
  roster_mem_free(d);
  roster_config_free(c);
}

static void test_secret_keys_past_key_max(void **state) {
  (void)state;
  /* a document's keys may be longer than a getter's: the full key still
   * decides, in foreach and in views of views */
  size_t n = 2100;
  char *doc = malloc(3 * 1100 + n + 200);
  assert_non_null(doc);
  char *a = malloc(1001), *b = malloc(1001), *x = malloc(n + 1);
  assert_true(a && b && x);
  memset(a, 'a', 1000);
  a[1000] = '\0';
  memset(b, 'b', 1000);
  b[1000] = '\0';
  memset(x, 'x', n);
  x[n] = '\0';
  sprintf(doc,
          "{\"%s_password\": \"hunter2\", \"%s\": {\"%s\": "
          "{\"ccc_token\": {\"v\": \"t0k3n\"}}}}",
          x, a, b);
  roster_config *v;
  assert_ok(roster_config_parse(doc, strlen(doc), "json", "j.json", &v));
  int secrets = 0;
  assert_ok(roster_config_foreach(v, NULL, count_secret, &secrets));
  assert_int_equal(secrets, 2);
  roster_config *va, *vb, *vc;
  assert_ok(roster_config_sub(v, a, &va));
  assert_ok(roster_config_sub(va, b, &vb));
  assert_ok(roster_config_sub(vb, "ccc_token", &vc));
  char *d = dump_json(vc, 0);
  assert_string_equal(d, "{\"v\":\"***\"}");
  roster_mem_free(d);
  secrets = 0;
  assert_ok(roster_config_foreach(vc, NULL, count_secret, &secrets));
  assert_int_equal(secrets, 1);
  int64_t i;
  assert_rc(roster_config_int(vc, "v", 0, &i), ROSTER_ETYPE);
  assert_null(strstr(roster_last_error(), "t0k3n"));
  roster_config_release(vc);
  roster_config_release(vb);
  roster_config_release(va);
  roster_config_release(v);
  free(a);
  free(b);
  free(x);
  free(doc);
}

static void test_long_url_values(void **state) {
  (void)state;
  /* a URL too long for the redactor's usual size is still redacted */
  size_t n = 3 * 4096;
  char *val = malloc(n + 100);
  assert_non_null(val);
  int w = snprintf(val, n + 100, "postgresql://app:s3cr3tpw@db/app?x=");
  memset(val + w, 'a', n);
  snprintf(val + w + n, 100, "&password=qp4ss");
  char *ovr = malloc(strlen(val) + 8);
  assert_non_null(ovr);
  sprintf(ovr, "u=%s", val);
  roster_config *c = ct_load(
      &(roster_config_options){.overrides = (const char *[]){ovr, NULL}});
  assert_non_null(c);
  char *d = dump_json(c, 0);
  assert_null(strstr(d, "s3cr3tpw"));
  assert_null(strstr(d, "qp4ss"));
  roster_mem_free(d);
  d = dump_json(c, ROSTER_CONFIG_DUMP_SECRETS);
  assert_contains(d, "s3cr3tpw");
  roster_mem_free(d);
  roster_config_free(c);
  free(ovr);
  free(val);
}

static void test_urls_in_errors(void **state) {
  (void)state;
  /* a URL under a key that is not a secret: error details redact its
   * password */
  const char *yaml = "database:\n"
                     "  url: postgresql://app:s3cr3tpw@db:5432/app\n"
                     "services: mysql://u:s3cr3tpw@h/d\n";
  roster_config *v;
  assert_ok(roster_config_parse(yaml, strlen(yaml), "yaml", "r.yaml", &v));
  int64_t n;
  assert_rc(roster_config_int(v, "database.url", 0, &n), ROSTER_ETYPE);
  assert_null(strstr(roster_last_error(), "s3cr3tpw"));
  assert_contains(roster_last_error(), "app:***@db");
  /* "services" must be an object: the error describes the string */
  roster *r = tu_registry(NULL);
  assert_rc(roster_config_provide_services(r, v), ROSTER_ETYPE);
  assert_null(strstr(roster_last_error(), "s3cr3tpw"));
  assert_contains(roster_last_error(), "u:***@h");
  roster_config_release(v);
  /* an entry whose name looks like a secret: its url is not quoted */
  const char *svc = "services: {api_token: {url: 987654}}\n";
  assert_ok(roster_config_parse(svc, strlen(svc), "yaml", "s.yaml", &v));
  assert_rc(roster_config_provide_services(r, v), ROSTER_EINVAL);
  assert_null(strstr(roster_last_error(), "987654"));
  assert_contains(roster_last_error(), "(secret)");
  roster_free(r);
  roster_config_release(v);

  /* the schema's "not one of" names the value redacted */
  char p[512];
  assert_non_null(ct_write(p, sizeof p, "u.yaml",
                           "url: postgresql://app:s3cr3tpw@db/app\n"));
  static const char *const allowed[] = {"x", NULL};
  roster_config_field schema[] = {
      {.key = "url", .type = ROSTER_CONFIG_STRING, .allowed = allowed}, {0}};
  roster_config *c = NULL;
  assert_ok(roster_config_new(
      &(roster_config_options){.files = (const char *[]){p, NULL},
                               .schema = schema},
      &c));
  assert_non_null(c);
  assert_rc(roster_config_load(c), ROSTER_ECONSTRAINT);
  assert_null(strstr(roster_last_error(), "s3cr3tpw"));
  assert_contains(roster_last_error(), "is not one of");
  roster_config_free(c);

  /* a schema default that fails under a secret key is not quoted */
  roster_config_field bad[] = {
      {.key = "db.password", .type = ROSTER_CONFIG_INT, .def = "hunter2"}, {0}};
  assert_new_fails(
      roster_config,
      roster_config_new(&(roster_config_options){.schema = bad}, &bad_));
  assert_null(strstr(roster_last_error(), "hunter2"));
  assert_contains(roster_last_error(), "db.password");
}

static void test_hostile_keys(void **state) {
  (void)state;
  /* keys with control bytes, quotes, backslashes and invalid UTF-8, from
   * every source that allows them, and a file whose name is not UTF-8:
   * every dump is valid JSON */
  char f[512], bad[512];
  assert_non_null(
      ct_write(f, sizeof f, "k.json",
               "{\"q\\\"uote\": 1, \"c\\u0001tl\": {\"n\\nl\": \"v\\u001f\"}, "
               "\"b\\\\s\": [\"\\u007f\"], \"pass\\u0000word\": 2}"));
  /* jansson refuses NUL in keys: the file is an error, not a cut key */
  roster_config *c = NULL;
  assert_ok(roster_config_new(
      &(roster_config_options){.files = (const char *[]){f, NULL}}, &c));
  assert_non_null(c);
  assert_rc(roster_config_load(c), ROSTER_EPARSE);
  roster_config_free(c);
  assert_non_null(
      ct_write(f, sizeof f, "k.json",
               "{\"q\\\"uote\": 1, \"c\\u0001tl\": {\"n\\nl\": \"v\\u001f\"}, "
               "\"b\\\\s\": [\"\\u007f\"]}"));
  assert_non_null(ct_write(bad, sizeof bad, "n\xff\x01.yaml", "y: 1\n"));
  const char *env[] = {"APP_\xff\xfe=1", "APP_A\x01=2", "APP_Q\"=3", NULL};
  const char *ovr[] = {"o\xc3=1", "o\x02\"\\.x=2", "o.\xed\xa0\x80=3", NULL};
  c = ct_load(&(roster_config_options){.files = (const char *[]){f, bad, NULL},
                                       .env_prefix = "APP",
                                       .env = env,
                                       .overrides = ovr});
  assert_non_null(c);
  static const unsigned flags[] = {
      0, ROSTER_CONFIG_DUMP_PROVENANCE, ROSTER_CONFIG_DUMP_SECRETS,
      ROSTER_CONFIG_DUMP_PROVENANCE | ROSTER_CONFIG_DUMP_SECRETS};
  for (size_t i = 0; i < sizeof flags / sizeof *flags; i++) {
    char *d = dump_json(c, flags[i]);
    assert_contains(d, "q\\\"uote");
    assert_contains(d, "c\\u0001tl");
    roster_mem_free(d);
    /* the indented form too */
    assert_ok(roster_config_dump(c, flags[i], &d));
    json_error_t err;
    json_t *doc = json_loads(d, 0, &err);
    assert_non_null(doc);
    json_decref(doc);
    roster_mem_free(d);
  }
  roster_config_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_source),
      cmocka_unit_test(test_redaction),
      cmocka_unit_test(test_environment_secrets),
      cmocka_unit_test(test_long_secret_keys),
      cmocka_unit_test(test_long_secret_keys_foreach),
      cmocka_unit_test(test_secret_keys_past_key_max),
      cmocka_unit_test(test_long_url_values),
      cmocka_unit_test(test_urls_in_errors),
      cmocka_unit_test(test_hostile_keys),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
