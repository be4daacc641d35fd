/*
 * test_config_yaml.c: the YAML parser (libyaml events, YAML 1.2 core
 * schema). Table-driven: scalars and the type each resolves to, quoting and
 * tags, anchors and aliases, invalid documents with their line:column, the
 * alias-bomb and depth caps, and positions.
 */
#include "config_testutil.h"

static const ct_case valid[] = {
    /* the core schema's typed plain scalars */
    {"a: true\nb: False\nc: TRUE\nd: false\n",
     "{\"a\":true,\"b\":false,\"c\":true,\"d\":false}", 0, 0, NULL},
    {"a: null\nb: ~\nc:\nd: Null\ne: NULL\n",
     "{\"a\":null,\"b\":null,\"c\":null,\"d\":null,\"e\":null}", 0, 0, NULL},
    {"a: 42\nb: -17\nc: +3\nd: 0x1F\ne: 0o17\nf: 0755\n",
     "{\"a\":42,\"b\":-17,\"c\":3,\"d\":31,\"e\":15,\"f\":755}", 0, 0, NULL},
    {"a: 1.5\nb: -.5\nc: 1e3\nd: 2.\ne: .inf\nf: -.Inf\ng: .nan\n",
     "{\"a\":1.5,\"b\":-0.5,\"c\":1000.0,\"d\":2.0,\"e\":\"inf\",\"f\":\"-"
     "inf\","
     "\"g\":\"nan\"}",
     0, 0, NULL},
    /* YAML 1.1 booleans and sexagesimals are strings in 1.2 */
    {"a: yes\nb: on\nc: No\nd: off\ne: y\nf: 1:30\n",
     "{\"a\":\"yes\",\"b\":\"on\",\"c\":\"No\",\"d\":\"off\",\"e\":\"y\","
     "\"f\":\"1:30\"}",
     0, 0, NULL},
    /* not quite numbers */
    {"a: 0x\nb: 1_000\nc: 0b101\nd: 12e\ne: 1.2.3\nf: inf\n",
     "{\"a\":\"0x\",\"b\":\"1_000\",\"c\":\"0b101\",\"d\":\"12e\",\"e\":\"1.2."
     "3\","
     "\"f\":\"inf\"}",
     0, 0, NULL},
    /* quoted scalars are always strings */
    {"a: \"42\"\nb: 'true'\nc: \"null\"\nd: ''\n",
     "{\"a\":\"42\",\"b\":\"true\",\"c\":\"null\",\"d\":\"\"}", 0, 0, NULL},
    /* block scalars */
    {"a: |\n  line1\n  line2\nb: >\n  folded\n  text\n",
     "{\"a\":\"line1\\nline2\\n\",\"b\":\"folded text\\n\"}", 0, 0, NULL},
    /* standard tags */
    {"a: !!str 42\nb: !!int \"7\"\nc: !!float 3\nd: !!bool \"true\"\n"
     "e: !!null ''\nf: ! 12\n",
     "{\"a\":\"42\",\"b\":7,\"c\":3.0,\"d\":true,\"e\":null,\"f\":\"12\"}", 0,
     0, NULL},
    /* flow and block collections */
    {"a: [1, two, {three: 3}]\nb:\n  - x\n  - y: z\nc: {}\nd: []\n",
     "{\"a\":[1,\"two\",{\"three\":3}],\"b\":[\"x\",{\"y\":\"z\"}],\"c\":{},"
     "\"d\":[]}",
     0, 0, NULL},
    /* anchors and aliases copy the node */
    {"base: &b {host: h, port: 1}\nx: *b\ny: [*b, *b]\nn: &n 5\nm: *n\n",
     "{\"base\":{\"host\":\"h\",\"port\":1},\"x\":{\"host\":\"h\",\"port\":1},"
     "\"y\":[{\"host\":\"h\",\"port\":1},{\"host\":\"h\",\"port\":1}],\"n\":5,"
     "\"m\":5}",
     0, 0, NULL},
    /* an anchor may be redefined; an alias takes the latest */
    {"a: &x 1\nb: *x\nc: &x 2\nd: *x\n", "{\"a\":1,\"b\":1,\"c\":2,\"d\":2}", 0,
     0, NULL},
    /* "<<" is an ordinary key (no YAML 1.1 merge keys) */
    {"a: {<<: 1}\n", "{\"a\":{\"<<\":1}}", 0, 0, NULL},
    /* an empty file, a comment-only file and an empty document */
    {"", "{}", 0, 0, NULL},
    {"# nothing\n", "{}", 0, 0, NULL},
    {"---\n...\n", "{}", 0, 0, NULL},
    {"%YAML 1.2\n---\na: 1\n", "{\"a\":1}", 0, 0, NULL},
    /* keys are scalars as written */
    {"1: one\ntrue: t\nnull: n\n",
     "{\"1\":\"one\",\"true\":\"t\",\"null\":\"n\"}", 0, 0, NULL},
    {"big: 9223372036854775807\nsmall: -9223372036854775808\n",
     "{\"big\":9223372036854775807,\"small\":-9223372036854775808}", 0, 0,
     NULL},
};

static const ct_case invalid[] = {
    {"a: 1\n---\nb: 2\n", NULL, 2, 1, "a second YAML document"},
    {"a: 1\nb: 2\na: 3\n", NULL, 3, 1,
     "duplicate key 'a' (first set on line 1)"},
    {"- 1\n- 2\n", NULL, 1, 1, "the top level must be a mapping"},
    {"just text\n", NULL, 1, 1, "the top level must be a mapping"},
    {"a: b: c\n", NULL, 1, 5, "mapping values are not allowed in this context"},
    {"a:\n  b: 1\n c: 2\n", NULL, 3, 2, "did not find expected key"},
    {"a: [1, 2\n", NULL, 2, 1, "did not find expected ',' or ']'"},
    {"a: \"open\n", NULL, 2, 1, "found unexpected end of stream"},
    {"a: *nope\n", NULL, 1, 4, "unknown alias '*nope'"},
    {"a: &x [1, *x]\n", NULL, 1, 11, "refers to a node that contains it"},
    {"a: !custom 1\n", NULL, 1, 4, "unsupported tag '!custom'"},
    {"a: !!int abc\n", NULL, 1, 4, "'abc' is not a valid !!int"},
    {"a: !!binary aGk=\n", NULL, 1, 4, "unsupported tag '!!binary'"},
    {"? [a, b]\n: 1\n", NULL, 1, 3, "a sequence as a key is not supported"},
    {"{a: 1}: 2\n", NULL, 1, 1, "a mapping as a key is not supported"},
    {"n: 99999999999999999999\n", NULL, 1, 4, "does not fit in 64 bits"},
    {"a: \"x\\0y\"\n", NULL, 1, 4, "NUL character"},
    {"a: \xff\n", NULL, 1, 4, "invalid leading UTF-8 octet"},
    {"a:\n\tb: 1\n", NULL, 2, 1, "found character that cannot start any token"},
};

static void test_valid(void **state) {
  (void)state;
  assert_int_equal(ct_run_cases("yaml", valid, sizeof valid / sizeof *valid),
                   0);
}

static void test_invalid(void **state) {
  (void)state;
  assert_int_equal(
      ct_run_cases("yaml", invalid, sizeof invalid / sizeof *invalid), 0);
}

/* The "billion laughs": nine levels of nine aliases would be 9^9 nodes. The
 * parse must stop at the node cap with an error, not build them. */
static void test_alias_bomb(void **state) {
  (void)state;
  const char *bomb =
      "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\","
      "\"lol\"]\n"
      "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
      "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
      "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
      "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
      "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
      "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
      "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
      "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
  roster_config *v = NULL;
  assert_rc(roster_config_parse(bomb, strlen(bomb), "yaml", "bomb.yaml", &v),
            ROSTER_EPARSE);
  assert_null(v);
  assert_contains(roster_last_error(), "more than 100000 values");
  assert_contains(roster_last_error(), "alias bomb");
  /* the first levels stay below the cap and parse */
  const char *small = "a: &a [1,2,3]\nb: &b [*a,*a,*a]\nc: [*b,*b]\n";
  assert_ok(roster_config_parse(small, strlen(small), "yaml", "t", &v));
  int64_t x = 0;
  assert_ok(roster_config_int(v, "c.1.2.0", 0, &x));
  assert_int_equal(x, 1);
  roster_config_release(v);
}

static void test_depth_cap(void **state) {
  (void)state;
  char deep[1024];
  size_t o = 0;
  /* 65 nested flow sequences under one key */
  o += (size_t)snprintf(deep + o, sizeof deep - o, "a: ");
  for (int i = 0; i < ROSTER_CONFIG_DEPTH_MAX; i++)
    deep[o++] = '[';
  for (int i = 0; i < ROSTER_CONFIG_DEPTH_MAX; i++)
    deep[o++] = ']';
  deep[o++] = '\n';
  deep[o] = '\0';
  roster_config *v = NULL;
  assert_rc(roster_config_parse(deep, o, "yaml", "t", &v), ROSTER_EPARSE);
  assert_contains(roster_last_error(), "nested deeper than 64 levels");
  assert_contains(roster_last_error(), "t:1:67");

  /* an alias whose copy would nest too deep is refused too */
  o = (size_t)snprintf(deep, sizeof deep, "a: &x ");
  for (int i = 0; i < 40; i++)
    deep[o++] = '[';
  for (int i = 0; i < 40; i++)
    deep[o++] = ']';
  o += (size_t)snprintf(deep + o, sizeof deep - o, "\nb: ");
  for (int i = 0; i < 30; i++)
    deep[o++] = '[';
  o += (size_t)snprintf(deep + o, sizeof deep - o, "*x");
  for (int i = 0; i < 30; i++)
    deep[o++] = ']';
  deep[o++] = '\n';
  deep[o] = '\0';
  assert_rc(roster_config_parse(deep, o, "yaml", "t", &v), ROSTER_EPARSE);
  assert_contains(roster_last_error(), "alias '*x' nests deeper than 64");
}

static void test_positions(void **state) {
  (void)state;
  const char *t = "name: svc\n"
                  "http:\n"
                  "  port: 8080\n"
                  "  hosts:\n"
                  "    - a\n"
                  "    - \"b\"\n"
                  "caf\xc3\xa9: \xc3\xa9t\xc3\xa9 # comment\n"
                  "ref: &r {x: 1}\n"
                  "copy: *r\n";
  roster_config *v;
  assert_ok(roster_config_parse(t, strlen(t), "yaml", "f.yaml", &v));
  assert_string_equal(ct_src(v, "name"), "f.yaml:1:7");
  assert_string_equal(ct_src(v, "http.port"), "f.yaml:3:9");
  assert_string_equal(ct_src(v, "http.hosts"), "f.yaml:5:5");
  assert_string_equal(ct_src(v, "http.hosts.1"), "f.yaml:6:7");
  assert_string_equal(ct_src(v, "caf\xc3\xa9"), "f.yaml:7:7");
  /* a copy made by an alias points where the value is written */
  assert_string_equal(ct_src(v, "copy.x"), "f.yaml:8:13");
  roster_config_release(v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid),      cmocka_unit_test(test_invalid),
      cmocka_unit_test(test_alias_bomb), cmocka_unit_test(test_depth_cap),
      cmocka_unit_test(test_positions),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
