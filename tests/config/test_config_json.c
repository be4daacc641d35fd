/*
 * test_config_json.c: the JSON parser (jansson plus the position scanner).
 * Table-driven: valid documents and the tree they give; invalid ones and
 * the line:column and message of their error; the position recorded for
 * each value; the depth and value caps; a JSON config file in a load.
 */
#include "config_testutil.h"

static const ct_case valid[] = {
    {"{}", "{}", 0, 0, NULL},
    {"{\"a\": 1, \"b\": -2, \"c\": 9223372036854775807}",
     "{\"a\":1,\"b\":-2,\"c\":9223372036854775807}", 0, 0, NULL},
    {"{\"r\": 2.5, \"e\": 1e3, \"n\": -0.125}",
     "{\"r\":2.5,\"e\":1000.0,\"n\":-0.125}", 0, 0, NULL},
    {"{\"t\": true, \"f\": false, \"z\": null}",
     "{\"t\":true,\"f\":false,\"z\":null}", 0, 0, NULL},
    {"{\"s\": \"caf\\u00e9 \\\"q\\\" \\\\ \\n\"}",
     "{\"s\":\"caf\xc3\xa9 \\\"q\\\" \\\\ \\n\"}", 0, 0, NULL},
    {"{\"a\": {\"b\": {\"c\": [1, [2, 3], {\"d\": \"e\"}]}}}",
     "{\"a\":{\"b\":{\"c\":[1,[2,3],{\"d\":\"e\"}]}}}", 0, 0, NULL},
    /* key order is kept as written */
    {"{\"z\": 1, \"a\": 2, \"m\": 3}", "{\"z\":1,\"a\":2,\"m\":3}", 0, 0, NULL},
    {"\xEF\xBB\xBF{\"bom\": 1}", "{\"bom\":1}", 0, 0, NULL},
    {"{\"empty\": {}, \"none\": [], \"str\": \"\"}",
     "{\"empty\":{},\"none\":[],\"str\":\"\"}", 0, 0, NULL},
};

static const ct_case invalid[] = {
    {"", NULL, 1, 1, "'[' or '{' expected"},
    {"{\"a\": }", NULL, 1, 7, "unexpected token"},
    {"{\"a\": 1,}", NULL, 1, 9, "string or '}' expected"},
    {"{\"a\": 1,\n \"a\": 2}", NULL, 2, 4, "duplicate object key"},
    {"{\"a\": \"unterminated}", NULL, 1, 20, "premature end of input"},
    {"[1, 2]", NULL, 1, 1, "the top level must be an object"},
    {"\"just a string\"", NULL, 1, 15, "'[' or '{' expected"},
    {"{\"a\": 1} {\"b\": 2}", NULL, 1, 10, "end of file expected"},
    {"{\"n\": 99999999999999999999}", NULL, 1, 26, "too big integer"},
    {"{\"s\": \"a\\u0000b\"}", NULL, 1, 16, "\\u0000 is not allowed"},
    {"{\"a\": tru}", NULL, 1, 9, "invalid token"},
    {"{\n  \"a\": [1, 2\n}", NULL, 3, 1, "']' expected"},
};

static void test_valid(void **state) {
  (void)state;
  assert_int_equal(ct_run_cases("json", valid, sizeof valid / sizeof *valid),
                   0);
}

static void test_invalid(void **state) {
  (void)state;
  assert_int_equal(
      ct_run_cases("json", invalid, sizeof invalid / sizeof *invalid), 0);
}

static void test_positions(void **state) {
  (void)state;
  const char *t = "{\n"
                  "  \"name\": \"svc\",\n"
                  "  \"http\": {\"port\": 8080,\n"
                  "           \"hosts\": [\"a\",\n"
                  "                     \"b\"]},\n"
                  "  \"k\\\"ey\": {\"x\": null}, \"\xc3\xa9\": true\n"
                  "}\n";
  roster_config *v;
  assert_ok(roster_config_parse(t, strlen(t), "json", "f.json", &v));
  assert_string_equal(ct_src(v, "name"), "f.json:2:11");
  assert_string_equal(ct_src(v, "http"), "f.json:3:11");
  assert_string_equal(ct_src(v, "http.port"), "f.json:3:20");
  assert_string_equal(ct_src(v, "http.hosts"), "f.json:4:21");
  assert_string_equal(ct_src(v, "http.hosts.0"), "f.json:4:22");
  assert_string_equal(ct_src(v, "http.hosts.1"), "f.json:5:22");
  assert_string_equal(ct_src(v, "k\"ey.x"), "f.json:6:18");
  /* columns count characters, not bytes */
  assert_string_equal(ct_src(v, "\xc3\xa9"), "f.json:6:30");
  roster_config_release(v);
}

static void test_caps(void **state) {
  (void)state;
  char deep[512];
  size_t o = 0;
  for (int i = 0; i <= ROSTER_CONFIG_DEPTH_MAX; i++)
    o += (size_t)snprintf(deep + o, sizeof deep - o, "{\"a\":");
  o += (size_t)snprintf(deep + o, sizeof deep - o, "1");
  for (int i = 0; i <= ROSTER_CONFIG_DEPTH_MAX; i++)
    deep[o++] = '}';
  deep[o] = '\0';
  roster_config *v = NULL;
  assert_rc(roster_config_parse(deep, o, "json", "t", &v), ROSTER_EPARSE);
  assert_null(v);
  assert_contains(roster_last_error(), "nested deeper than 64 levels");
  assert_contains(roster_last_error(), "t:1:");

  /* exactly at the cap is fine */
  o = 0;
  for (int i = 0; i < ROSTER_CONFIG_DEPTH_MAX; i++)
    o += (size_t)snprintf(deep + o, sizeof deep - o, "{\"a\":");
  o += (size_t)snprintf(deep + o, sizeof deep - o, "1");
  for (int i = 0; i < ROSTER_CONFIG_DEPTH_MAX; i++)
    deep[o++] = '}';
  deep[o] = '\0';
  assert_ok(roster_config_parse(deep, o, "json", "t", &v));
  roster_config_release(v);

  /* more values than the cap */
  size_t cap = (size_t)ROSTER_CONFIG_NODES_MAX * 2 + 64;
  char *big = malloc(cap);
  assert_non_null(big);
  o = (size_t)snprintf(big, cap, "{\"a\":[");
  for (int i = 0; i < ROSTER_CONFIG_NODES_MAX; i++)
    o += (size_t)snprintf(big + o, cap - o, i ? ",1" : "1");
  o += (size_t)snprintf(big + o, cap - o, "]}");
  assert_rc(roster_config_parse(big, o, "json", "t", &v), ROSTER_EPARSE);
  assert_contains(roster_last_error(), "more than 100000 values");
  free(big);
}

static void test_file_in_load(void **state) {
  (void)state;
  char p[512];
  assert_non_null(ct_write(p, sizeof p, "app.json",
                           "{\"http\": {\"port\": 8080}, \"name\": \"x\"}"));
  const char *files[] = {p, NULL};
  roster_config *c = ct_load(&(roster_config_options){.files = files});
  assert_non_null(c);
  int64_t port = 0;
  assert_ok(roster_config_int(c, "http.port", 1, &port));
  assert_int_equal(port, 8080);
  char want[600];
  snprintf(want, sizeof want, "%s:1:19", p);
  assert_string_equal(ct_src(c, "http.port"), want);
  roster_config_free(c);

  /* a broken file: the load fails with the file's path and position */
  assert_non_null(ct_write(p, sizeof p, "bad.json", "{\n  \"a\": 1,\n}\n"));
  assert_ok(roster_config_new(&(roster_config_options){.files = files}, &c));
  assert_non_null(c);
  assert_rc(roster_config_load(c), ROSTER_EPARSE);
  snprintf(want, sizeof want, "%s:3:1: ", p);
  assert_contains(roster_last_error(), want);
  roster_config_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid),        cmocka_unit_test(test_invalid),
      cmocka_unit_test(test_positions),    cmocka_unit_test(test_caps),
      cmocka_unit_test(test_file_in_load),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
