/*
 * test_config_bounds.c: every in-memory parser stays inside the buffer it
 * is given. Each input is copied into a heap block of exactly its length
 * (no NUL after it), so a read one byte past the end is an ASan
 * heap-buffer-overflow in the sanitized build. Every prefix of a sample
 * document of each format (TOML, YAML, JSON, .env, with ${} expansion)
 * must either parse or fail with ROSTER_EPARSE and a "name:line:column: "
 * location; then a list of short inputs that end right after a sign, an
 * escape, a quote or a prefix.
 */
#include "config_testutil.h"

/* parse_exact parses the n bytes at text from a block of exactly n bytes;
 * returns the code, with the view released. */
static int parse_exact(const char *text, size_t n, const char *format) {
  char *b = malloc(n ? n : 1);
  assert_non_null(b);
  if (n)
    memcpy(b, text, n);
  roster_config *v = NULL;
  int rc = roster_config_parse(b, n, format, "t", &v);
  free(b);
  if (rc == ROSTER_OK) {
    /* the dump reads every string of the tree: it must stay inside too */
    char *d = ct_dump_flags(v, ROSTER_CONFIG_DUMP_PROVENANCE);
    assert_non_null(d);
    roster_mem_free(d);
  } else {
    assert_null(v);
  }
  roster_config_release(v);
  return rc;
}

/* located: the detail starts "t:<line>:<column>: " with both >= 1. */
static bool located(const char *e) {
  unsigned line = 0, col = 0;
  int used = 0;
  if (sscanf(e, "t:%u:%u: %n", &line, &col, &used) != 2 || used == 0)
    return false;
  return line >= 1 && col >= 1 && e[used] != '\0';
}

/* every_prefix parses each prefix of sample; returns how many parsed. */
static size_t every_prefix(const char *format, const char *sample) {
  size_t len = strlen(sample), ok = 0;
  for (size_t n = 0; n <= len; n++) {
    int rc = parse_exact(sample, n, format);
    if (rc == ROSTER_OK) {
      ok++;
      continue;
    }
    if (rc != ROSTER_EPARSE || !located(roster_last_error())) {
      print_error("%s prefix of %zu bytes:\n%.*s\n-> %s: %s\n", format, n,
                  (int)n, sample, roster_err_name(rc), roster_last_error());
      fail();
    }
  }
  /* the whole sample is valid */
  assert_int_equal(parse_exact(sample, len, format), ROSTER_OK);
  return ok;
}

static const char toml_sample[] =
    "# a comment\r\n"
    "title = \"T \\\"q\\\" \\u00e9 \\U0001F600 \\t\"\n"
    "lit = 'C:\\x'\n"
    "u = \"h\xc3\xb4te \xf0\x9f\x98\x80\"\n"
    "ml = \"\"\"\nline one \\\n   two\"\"\"\n"
    "mll = '''\nraw ''q'' '''\n"
    "[nums]\n"
    "a = -17\nb = +42\nc = 0xDEAD_beef\nd = 0o755\ne = 0b1101\n"
    "f = -3.14e+2\ng = 6.626E-34\nh = 1_000.5\n"
    "i = -inf\nj = +nan\nk = inf\nl = -0\nm = 1e6\nbo = true\nbf = false\n"
    "[dates]\n"
    "odt = 1979-05-27T07:32:00.999-07:00\n"
    "odz = 1979-05-27 07:32:00Z\n"
    "ldt = 1979-05-27T07:32:00\n"
    "ld = 1979-05-27\n"
    "lt = 07:32:00.5\n"
    "[[srv]]\n"
    "name = \"a\"\n"
    "ports = [ 1, 2, # c\n  3, ]\n"
    "[[srv]]\n"
    "\"quoted key\" = { x = 1, y.z = [true, \"s\"] }\n"
    "[a.\"b\".'c']\n"
    "d.e = 'f'\n"
    "end = -1";

static const char yaml_sample[] = "%YAML 1.2\n"
                                  "---\n"
                                  "# comment\n"
                                  "str: plain text\n"
                                  "u: h\xc3\xb4te \xf0\x9f\x98\x80\n"
                                  "dq: \"esc \\\" \\u00e9 \\x41 \\t\"\n"
                                  "sq: 'it''s'\n"
                                  "ints: [0, -17, +42, 0o17, 0x1F]\n"
                                  "floats: [1.5, -2e3, .inf, -.inf, .nan]\n"
                                  "bools: {a: true, b: False, n: ~, m: null}\n"
                                  "base: &anchor\n"
                                  "  k: v\n"
                                  "  l: [1, 2]\n"
                                  "copy: *anchor\n"
                                  "tagged: !!str 123\n"
                                  "tint: !!int \"7\"\n"
                                  "block: |\n"
                                  "  line 1\n"
                                  "  line 2\n"
                                  "folded: >-\n"
                                  "  a\n"
                                  "  b\n"
                                  "seq:\n"
                                  "  - one\n"
                                  "  - {x: 1}\n"
                                  "  - - nested\n"
                                  "\"quoted key\": x\n"
                                  "? complex\n"
                                  ": value\n"
                                  "env: ${RCFG_BOUNDS:-dflt} and $${lit}\n"
                                  "last: -1";

static const char json_sample[] =
    "{\n"
    "  \"s\": \"esc \\\" \\\\ \\/ \\b\\f\\n\\r\\t \\u00e9 \\ud83d\\ude00\",\n"
    "  \"n\": [0, -1, 1.5, -2.5e+3, 1E-2, 9223372036854775807],\n"
    "  \"b\": [true, false, null],\n"
    "  \"u\": \"h\xc3\xb4te \xf0\x9f\x98\x80\",\n"
    "  \"o\": {\"k\": {\"deep\": [[], {}]}},\n"
    "  \"e\": \"${RCFG_BOUNDS} ${RCFG_UNSET_X:-d}\",\n"
    "  \"last\": -1\n"
    "}";

static const char env_sample[] =
    "# comment\r\n"
    "export A=plain value # comment\n"
    "B = 'single $X'\n"
    "C=\"double \\n \\t \\\\ \\\" \\$ \\q ${RCFG_BOUNDS}\"\n"
    "D=`back`\n"
    "E=${A:-x}\r\n"
    "F=\"multi\nline\"\n"
    "G.H-I=\n"
    "J=$${K} $ ${RCFG_UNSET_X-d}\n"
    "L='x'   # c\n"
    "M=-";

static void test_toml_prefixes(void **state) {
  (void)state;
  assert_true(every_prefix("toml", toml_sample) > 0);
}

static void test_yaml_prefixes(void **state) {
  (void)state;
  assert_true(every_prefix("yaml", yaml_sample) > 0);
}

static void test_json_prefixes(void **state) {
  (void)state;
  assert_true(every_prefix("json", json_sample) > 0);
}

static void test_env_prefixes(void **state) {
  (void)state;
  assert_true(every_prefix("env", env_sample) > 0);
}

/* Short inputs that end where a parser looks one byte further. */
static void test_ends(void **state) {
  (void)state;
  static const struct {
    const char *format, *text;
    int rc;
  } cases[] = {
      {"toml", "a=-", ROSTER_EPARSE},
      {"toml", "a=+", ROSTER_EPARSE},
      {"toml", "a = -", ROSTER_EPARSE},
      {"toml", "[t]\nb=+", ROSTER_EPARSE},
      {"toml", "a=[-", ROSTER_EPARSE},
      {"toml", "a={b=-", ROSTER_EPARSE},
      {"toml", "a=-i", ROSTER_EPARSE},
      {"toml", "a=-in", ROSTER_EPARSE},
      {"toml", "a=-inf", ROSTER_OK},
      {"toml", "a=0x", ROSTER_EPARSE},
      {"toml", "a=1e", ROSTER_EPARSE},
      {"toml", "a=1_", ROSTER_EPARSE},
      {"toml", "a=1.", ROSTER_EPARSE},
      {"toml", "a=\"\\", ROSTER_EPARSE},
      {"toml", "a=\"\\u00", ROSTER_EPARSE},
      {"toml", "a=\"\"\"x\\", ROSTER_EPARSE},
      {"toml", "a=1979-05-27T07:32:00+", ROSTER_EPARSE},
      {"toml", "a=1979-05-27T07:32:00.", ROSTER_EPARSE},
      {"toml", "a=1979-05-27 ", ROSTER_OK},
      {"toml", "a=07:32", ROSTER_EPARSE},
      {"toml", "[[", ROSTER_EPARSE},
      {"toml", "a.", ROSTER_EPARSE},
      {"toml", "a=1\r", ROSTER_EPARSE},
      {"yaml", "a: -", ROSTER_EPARSE},
      {"yaml", "a: -1", ROSTER_OK},
      {"yaml", "a: \"\\", ROSTER_EPARSE},
      {"yaml", "a: 0", ROSTER_OK},
      {"yaml", "a: 0o", ROSTER_OK},
      {"yaml", "a: &", ROSTER_EPARSE},
      {"json", "{\"a\":-", ROSTER_EPARSE},
      {"json", "{\"a\":\"\\", ROSTER_EPARSE},
      {"env", "A=\"\\", ROSTER_EPARSE},
      {"env", "A=\"x\\$", ROSTER_EPARSE},
      {"env", "A=${", ROSTER_EPARSE},
      {"env", "A=$", ROSTER_OK},
      {"env", "export", ROSTER_EPARSE},
      {"env", "A", ROSTER_EPARSE},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    int rc = parse_exact(cases[i].text, strlen(cases[i].text), cases[i].format);
    if (rc != cases[i].rc ||
        (rc != ROSTER_OK && !located(roster_last_error()))) {
      print_error("case %zu (%s) '%s': %s: %s (want %s)\n", i, cases[i].format,
                  cases[i].text, roster_err_name(rc), roster_last_error(),
                  roster_err_name(cases[i].rc));
      fail();
    }
  }
}

int main(void) {
  setenv("RCFG_BOUNDS", "set", 1);
  unsetenv("RCFG_UNSET_X");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ends),
      cmocka_unit_test(test_toml_prefixes),
      cmocka_unit_test(test_yaml_prefixes),
      cmocka_unit_test(test_json_prefixes),
      cmocka_unit_test(test_env_prefixes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
