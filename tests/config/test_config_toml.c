/*
 * test_config_toml.c: the TOML 1.0 parser. Table-driven: every string form
 * and escape, integers in four bases, floats, booleans, the date/time
 * forms, arrays, inline tables, dotted keys, tables and arrays of tables;
 * then invalid documents (each redefinition rule, bad numbers, strings,
 * dates, structure) with the line:column and message of the error; value
 * positions; a TOML file in a load.
 */
#include "config_testutil.h"

static const ct_case valid[] = {
    /* strings */
    {"a = \"basic \\\"q\\\" \\\\ \\t\\n\"\n",
     "{\"a\":\"basic \\\"q\\\" \\\\ \\t\\n\"}", 0, 0, NULL},
    {"a = \"\\u00e9\\U0001F600 \\b\\f\\r\"\n",
     "{\"a\":\"\xc3\xa9\xf0\x9f\x98\x80 \\b\\f\\r\"}", 0, 0, NULL},
    {"a = 'C:\\Users\\x'\nb = 'it''s'\n", NULL, 2, 9,
     "expected the end of the line"},
    {"a = 'C:\\Users\\x'\n", "{\"a\":\"C:\\\\Users\\\\x\"}", 0, 0, NULL},
    {"a = \"\"\"\nfirst\nsecond\"\"\"\n", "{\"a\":\"first\\nsecond\"}", 0, 0,
     NULL},
    {"a = \"\"\"one \\\n     two \\\n\n   three\"\"\"\n",
     "{\"a\":\"one two three\"}", 0, 0, NULL},
    {"a = \"\"\"a \"quoted\" \"\"word\"\" \"\"\"\"\"\n",
     "{\"a\":\"a \\\"quoted\\\" \\\"\\\"word\\\"\\\" \\\"\\\"\"}", 0, 0, NULL},
    {"a = '''\nraw \\n 'x' ''y'' '''\n", "{\"a\":\"raw \\\\n 'x' ''y'' \"}", 0,
     0, NULL},
    {"a = ''''one''''\n", "{\"a\":\"'one'\"}", 0, 0, NULL},
    {"a = \"\"\nb = ''\n", "{\"a\":\"\",\"b\":\"\"}", 0, 0, NULL},
    /* integers */
    {"a = 42\nb = +17\nc = -0\nd = 1_000_000\ne = 0xDEAD_beef\nf = 0o755\n"
     "g = 0b1101\n",
     "{\"a\":42,\"b\":17,\"c\":0,\"d\":1000000,\"e\":3735928559,\"f\":493,"
     "\"g\":13}",
     0, 0, NULL},
    {"max = 9223372036854775807\nmin = -9223372036854775808\n",
     "{\"max\":9223372036854775807,\"min\":-9223372036854775808}", 0, 0, NULL},
    /* floats */
    {"a = 3.14\nb = -0.01\nc = 5e+22\nd = 1e06\ne = -2E-2\nf = 6.626e-34\n"
     "g = 224_617.445_991\n",
     "{\"a\":3.14,\"b\":-0.01,\"c\":5e22,\"d\":1000000.0,\"e\":-0.02,"
     "\"f\":6.626e-34,\"g\":224617.445991}",
     0, 0, NULL},
    {"a = inf\nb = +inf\nc = -inf\nd = nan\ne = -nan\n",
     "{\"a\":\"inf\",\"b\":\"inf\",\"c\":\"-inf\",\"d\":\"nan\",\"e\":\"nan\"}",
     0, 0, NULL},
    /* booleans */
    {"t = true\nf = false\n", "{\"t\":true,\"f\":false}", 0, 0, NULL},
    /* dates and times, kept as RFC 3339 strings */
    {"a = 1979-05-27T07:32:00Z\nb = 1979-05-27 00:32:00.999999-07:00\n"
     "c = 1979-05-27t07:32:00z\nd = 1979-05-27T07:32:00\ne = 1979-05-27\n"
     "f = 07:32:00\ng = 00:32:00.5\nh = 2024-02-29\n",
     "{\"a\":\"1979-05-27T07:32:00Z\",\"b\":\"1979-05-27T00:32:00.999999-07:"
     "00\","
     "\"c\":\"1979-05-27T07:32:00Z\",\"d\":\"1979-05-27T07:32:00\","
     "\"e\":\"1979-05-27\",\"f\":\"07:32:00\",\"g\":\"00:32:00.5\","
     "\"h\":\"2024-02-29\"}",
     0, 0, NULL},
    /* arrays: mixed, nested, multi-line with comments, trailing comma */
    {"a = [1, \"two\", 3.0, [4, 5], {x = 6}]\n"
     "b = [\n  1, # one\n  2,\n  # alone\n]\nc = []\n",
     "{\"a\":[1,\"two\",3.0,[4,5],{\"x\":6}],\"b\":[1,2],\"c\":[]}", 0, 0,
     NULL},
    /* inline tables, with dotted keys inside */
    {"p = { name = \"x\", pos.x = 1, pos.y = 2 }\ne = {}\n",
     "{\"p\":{\"name\":\"x\",\"pos\":{\"x\":1,\"y\":2}},\"e\":{}}", 0, 0, NULL},
    /* keys: bare, quoted, dotted with blanks, digits */
    {"bare_key-1 = 1\n\"quoted key\" = 2\n'lit.key' = 3\na . b . c = 4\n"
     "1234 = 5\n\"\" = 6\n",
     "{\"bare_key-1\":1,\"quoted key\":2,\"lit.key\":3,\"a\":{\"b\":{\"c\":4}},"
     "\"1234\":5,\"\":6}",
     0, 0, NULL},
    /* dotted keys extend the tables they made */
    {"fruit.apple.color = \"red\"\nfruit.apple.taste.sweet = true\n"
     "fruit.orange = 2\n",
     "{\"fruit\":{\"apple\":{\"color\":\"red\",\"taste\":{\"sweet\":true}},"
     "\"orange\":2}}",
     0, 0, NULL},
    /* tables: defined once each, super-tables after sub-tables */
    {"[a.b.c]\nx = 1\n[a]\ny = 2\n[a.b]\nz = 3\n[ d . \"e f\" ]\n",
     "{\"a\":{\"b\":{\"c\":{\"x\":1},\"z\":3},\"y\":2},\"d\":{\"e f\":{}}}", 0,
     0, NULL},
    /* [header] may add sub-tables to a table made by dotted keys */
    {"[fruit]\napple.color = \"red\"\n[fruit.apple.texture]\nsmooth = true\n",
     "{\"fruit\":{\"apple\":{\"color\":\"red\",\"texture\":{\"smooth\":true}}}"
     "}",
     0, 0, NULL},
    /* arrays of tables, with sub-tables and nested arrays */
    {"[[fruits]]\nname = \"apple\"\n[fruits.physical]\ncolor = \"red\"\n"
     "[[fruits.varieties]]\nname = \"fuji\"\n[[fruits.varieties]]\n"
     "name = \"gala\"\n[[fruits]]\nname = \"banana\"\n",
     "{\"fruits\":[{\"name\":\"apple\",\"physical\":{\"color\":\"red\"},"
     "\"varieties\":[{\"name\":\"fuji\"},{\"name\":\"gala\"}]},"
     "{\"name\":\"banana\"}]}",
     0, 0, NULL},
    /* comments, blank lines, CRLF, a BOM, no final newline */
    {"\xEF\xBB\xBF# c\r\n\r\na = 1 # c\r\n  [t] # c\r\nb = 2",
     "{\"a\":1,\"t\":{\"b\":2}}", 0, 0, NULL},
    {"", "{}", 0, 0, NULL},
};

static const ct_case invalid[] = {
    /* redefinitions */
    {"a = 1\na = 2\n", NULL, 2, 1,
     "key 'a' is defined twice (first on line 1)"},
    {"[a]\nb = 1\n[a]\n", NULL, 3, 1, "table [a] is defined twice"},
    {"[a]\nb = 1\n[a.b]\n", NULL, 3, 4, "key 'b' is already a value"},
    {"a = {x = 1}\n[a]\n", NULL, 2, 2, "key 'a' is already an inline table"},
    {"a = {x = 1}\na.y = 2\n", NULL, 2, 1, "already an inline table"},
    {"a = {x = {y = 1}}\n[a.x.z]\n", NULL, 2, 2, "already an inline table"},
    {"a.b = 1\n[a]\n", NULL, 2, 2, "table 'a' was already made by dotted keys"},
    {"[fruit]\napple.color = 1\n[fruit.apple]\n", NULL, 3, 8,
     "already made by dotted keys"},
    {"[a.b.c]\nz = 9\n[a]\nb.c.t = 1\n", NULL, 4, 1,
     "dotted keys cannot add to table 'b', defined with a [header]"},
    {"a = [1]\n[[a]]\n", NULL, 2, 3,
     "[[a]] cannot append: 'a' is already an "
     "array"},
    {"[[a]]\n[a]\n", NULL, 2, 2, "key 'a' is already an array of tables"},
    {"[a]\n[[a]]\n", NULL, 2, 3, "is already a table"},
    {"a = 1\n[a.b]\n", NULL, 2, 2, "key 'a' is already a value"},
    {"a = 1\na.b = 2\n", NULL, 2, 1, "key 'a' is already a value"},
    {"p = {a = 1, a = 2}\n", NULL, 1, 13, "key 'a' is defined twice"},
    /* integers */
    {"a = 012\n", NULL, 1, 5, "leading zeros are not allowed"},
    {"a = 1__0\n", NULL, 1, 5, "invalid integer"},
    {"a = _1\n", NULL, 1, 5, "expected a value"},
    {"a = 1_\n", NULL, 1, 5, "invalid integer"},
    {"a = 0xG1\n", NULL, 1, 5, "invalid hexadecimal integer"},
    {"a = 0o8\n", NULL, 1, 5, "invalid octal integer"},
    {"a = 0b12\n", NULL, 1, 5, "invalid binary integer"},
    {"a = -0x1\n", NULL, 1, 5, "invalid number"},
    {"a = 9223372036854775808\n", NULL, 1, 5, "does not fit in 64 bits"},
    {"a = 0x8000000000000000\n", NULL, 1, 5, "does not fit in 64 bits"},
    /* floats */
    {"a = 1.\n", NULL, 1, 5, "invalid number"},
    {"a = .5\n", NULL, 1, 5, "expected a value"},
    {"a = 1e\n", NULL, 1, 5, "invalid number"},
    {"a = 1.2.3\n", NULL, 1, 5, "invalid number"},
    {"a = 03.14\n", NULL, 1, 5, "invalid number"},
    {"a = 1e999\n", NULL, 1, 5, "out of range"},
    {"a = infinity\n", NULL, 1, 5, "expected a value"},
    /* strings */
    {"a = \"open\n", NULL, 1, 5,
     "unterminated string (a single-line string "
     "ends on its line)"},
    {"a = 'open\n", NULL, 1, 5, "unterminated string"},
    {"a = \"\"\"open\n", NULL, 1, 5, "unterminated string"},
    {"a = \"bad \\q\"\n", NULL, 1, 10, "unknown escape '\\q'"},
    {"a = \"\\uD800\"\n", NULL, 1, 6, "not a Unicode scalar value"},
    {"a = \"\\u12\"\n", NULL, 1, 6, "\\u needs 4 hex digits"},
    {"a = \"\\u0000\"\n", NULL, 1, 6, "NUL character"},
    {"a = \"tab\tok but \x01 not\"\n", NULL, 1, 17, "control character U+0001"},
    {"a = \"\"\"x\"\"\"\"\"\"\n", NULL, 1, 14, "too many quotes"},
    {"a = '''\nx\n\x7f'''\n", NULL, 3, 1, "control character U+007F"},
    /* dates */
    {"a = 1979-13-01\n", NULL, 1, 5, "invalid date '1979-13-01'"},
    {"a = 2023-02-29\n", NULL, 1, 5, "invalid date"},
    {"a = 1979-05-27T25:00:00\n", NULL, 1, 16, "out of range"},
    {"a = 1979-05-27T07:32\n", NULL, 1, 16, "a time is HH:MM:SS"},
    {"a = 1979-05-27T07:32:00+7\n", NULL, 1, 24, "invalid time offset"},
    {"a = 07:32:00.\n", NULL, 1, 5, "needs digits"},
    {"a = 1979-05-27x\n", NULL, 1, 15, "unexpected 'x' after a date"},
    /* structure */
    {"a\n", NULL, 1, 2, "expected '=' after the key 'a'"},
    {"a =\n", NULL, 1, 4, "expected a value after '='"},
    {"a = 1 b = 2\n", NULL, 1, 7, "expected the end of the line, found 'b'"},
    {"= 1\n", NULL, 1, 1, "expected a key, found '='"},
    {"a.=1\n", NULL, 1, 3, "expected a key"},
    {"[a\n", NULL, 1, 3, "expected ']' to close the table header"},
    {"[[a]\n", NULL, 1, 4, "expected ']]'"},
    {"[a] b = 1\n", NULL, 1, 5, "expected the end of the line"},
    {"a = [1 2]\n", NULL, 1, 8, "expected ',' or ']' in the array"},
    {"a = [1,\n", NULL, 2, 1, "unterminated array"},
    {"a = {x = 1,}\n", NULL, 1, 12, "trailing comma is not allowed"},
    {"a = {x = 1\n}\n", NULL, 1, 5, "an inline table must end on its line"},
    {"a = {x = 1 y = 2}\n", NULL, 1, 12, "expected ',' or '}'"},
    {"a = tru\n", NULL, 1, 5, "expected a value"},
    {"a = true1\n", NULL, 1, 5, "expected a value"},
    {"a = @\n", NULL, 1, 5, "expected a value"},
    {"a = 1\r\nb = 2\rc = 3\n", NULL, 2, 6, "expected the end of the line"},
    {"# ok\n# bad \x01\n", NULL, 2, 7, "control character U+0001 in a comment"},
    {"a = \"\xc3\x28\"\n", NULL, 1, 6, "invalid UTF-8"},
};

static void test_valid(void **state) {
  (void)state;
  assert_int_equal(ct_run_cases("toml", valid, sizeof valid / sizeof *valid),
                   0);
}

static void test_invalid(void **state) {
  (void)state;
  assert_int_equal(
      ct_run_cases("toml", invalid, sizeof invalid / sizeof *invalid), 0);
}

static void test_positions(void **state) {
  (void)state;
  const char *t = "title = \"x\"\n"
                  "[db]\n"
                  "port = 5432\n"
                  "text = \"\"\"\n"
                  "spans\n"
                  "lines\"\"\"\n"
                  "  [[srv]]\n"
                  "  \"h\xc3\xb4te\" = { n = 1 }\n"
                  "[a.b]\n";
  roster_config *v;
  assert_ok(roster_config_parse(t, strlen(t), "toml", "f.toml", &v));
  assert_string_equal(ct_src(v, "title"), "f.toml:1:9");
  assert_string_equal(ct_src(v, "db"), "f.toml:2:1");
  assert_string_equal(ct_src(v, "db.port"), "f.toml:3:8");
  /* a multi-line string is where it starts */
  assert_string_equal(ct_src(v, "db.text"), "f.toml:4:8");
  assert_string_equal(ct_src(v, "srv.0"), "f.toml:7:3");
  /* columns count characters */
  assert_string_equal(ct_src(v, "srv.0.h\xc3\xb4te.n"), "f.toml:8:18");
  assert_string_equal(ct_src(v, "a"), "f.toml:9:1");
  roster_config_release(v);
}

static void test_deep(void **state) {
  (void)state;
  char deep[512];
  size_t o = (size_t)snprintf(deep, sizeof deep, "a = ");
  for (int i = 0; i < ROSTER_CONFIG_DEPTH_MAX + 1; i++)
    deep[o++] = '[';
  for (int i = 0; i < ROSTER_CONFIG_DEPTH_MAX + 1; i++)
    deep[o++] = ']';
  deep[o] = '\0';
  roster_config *v = NULL;
  assert_rc(roster_config_parse(deep, o, "toml", "t", &v), ROSTER_EPARSE);
  assert_contains(roster_last_error(), "nested deeper than 64 levels");
}

static void test_file_in_load(void **state) {
  (void)state;
  char p[512];
  assert_non_null(ct_write(p, sizeof p, "app.toml",
                           "[http]\nport = 8080\ntimeout = \"30s\"\n"));
  const char *files[] = {p, NULL};
  roster_config *c = ct_load(&(roster_config_options){.files = files});
  assert_non_null(c);
  int64_t port = 0, ms = 0;
  assert_ok(roster_config_int(c, "http.port", 1, &port));
  assert_ok(roster_config_duration(c, "http.timeout", 1, &ms));
  assert_int_equal(port, 8080);
  assert_int_equal(ms, 30000);
  roster_config_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid),        cmocka_unit_test(test_invalid),
      cmocka_unit_test(test_positions),    cmocka_unit_test(test_deep),
      cmocka_unit_test(test_file_in_load),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
