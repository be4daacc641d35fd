/*
 * test_log_escape.c: whatever bytes go into a line, the line parses as
 * JSON (jansson) and says what went in: valid UTF-8 comes back byte for
 * byte; each invalid sequence comes back as U+FFFD, one per maximal
 * subpart (checked against a decoder written here by code-point
 * arithmetic, independent of the logger's byte-range table, and against
 * the Unicode standard's own examples); control bytes, quotes and
 * backslashes are escaped; numbers read back as the same numbers; the
 * line ends with exactly one newline.
 */
#include "log_testutil.h"

#include <math.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

/* ---- a reference decoder ---------------------------------------------- */

/* ref_decode_one: if s[0..k) (k = 1..4) is one complete valid sequence,
 * returns its code point, else -1. By arithmetic: the code point must use
 * the shortest form, not be a surrogate, and be at most U+10FFFF. */
static long ref_decode_one(const unsigned char *s, size_t k) {
  static const long min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
  unsigned char c = s[0];
  size_t want;
  long cp;
  if (c < 0x80) {
    want = 1;
    cp = c;
  } else if ((c & 0xe0) == 0xc0) {
    want = 2;
    cp = c & 0x1f;
  } else if ((c & 0xf0) == 0xe0) {
    want = 3;
    cp = c & 0x0f;
  } else if ((c & 0xf8) == 0xf0) {
    want = 4;
    cp = c & 0x07;
  } else {
    return -1;
  }
  if (k != want)
    return -1;
  for (size_t i = 1; i < k; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return -1;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if (cp < min_cp[k] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
    return -1;
  return cp;
}

/* ref_is_prefix: can s[0..k) be completed to a valid sequence? Tries every
 * continuation for the next byte (the others are free: 0x80..0xbf). */
static bool ref_is_prefix(const unsigned char *s, size_t k) {
  for (size_t total = k; total <= 4; total++) {
    unsigned char t[4];
    memcpy(t, s, k);
    if (total == k) {
      if (ref_decode_one(t, k) >= 0)
        return true;
      continue;
    }
    for (int b = 0x80; b <= 0xbf; b++) {
      t[k] = (unsigned char)b;
      for (size_t j = k + 1; j < total; j++)
        t[j] = 0x80;
      if (ref_decode_one(t, total) >= 0)
        return true;
      for (size_t j = k + 1; j < total; j++)
        t[j] = 0xbf;
      if (ref_decode_one(t, total) >= 0)
        return true;
    }
  }
  return false;
}

/* ref_sanitize writes what the logger should produce for s (decoded, i.e.
 * the string jansson returns): valid sequences copied, each maximal
 * invalid subpart replaced by EF BF BD. Returns the length. */
static size_t ref_sanitize(const unsigned char *s, size_t n,
                           unsigned char *out) {
  size_t o = 0, i = 0;
  while (i < n) {
    size_t done = 0;
    for (size_t k = 1; k <= 4 && i + k <= n; k++)
      if (ref_decode_one(s + i, k) >= 0) {
        memcpy(out + o, s + i, k);
        o += k;
        done = k;
        break;
      }
    if (done) {
      i += done;
      continue;
    }
    size_t sub = 1; /* the longest valid prefix, at least one byte */
    for (size_t k = 2; k <= 3 && i + k <= n; k++)
      if (ref_is_prefix(s + i, k))
        sub = k;
      else
        break;
    if (!ref_is_prefix(s + i, 1))
      sub = 1;
    out[o++] = 0xef;
    out[o++] = 0xbf;
    out[o++] = 0xbd;
    i += sub;
  }
  return o;
}

/* ---- helpers ---------------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* value_of writes one line with field "v" = s[0..n) and returns the
 * decoded value of v (malloc'd, *out_len bytes), checking the line. */
static char *value_of(roster_log *log, lt_lines *l, const void *s, size_t n,
                      size_t *out_len) {
  lt_clear(l);
  assert_ok(roster_log_write(log, ROSTER_LOG_INFO,
                             RL_FIELDS(RL_STRN("v", s, n)), NULL));
  assert_int_equal(lt_count(l), 1);
  const char *line = lt_line(l, 0);
  /* the callback gets the line without its newline: none may remain */
  assert_null(memchr(line, '\n', strlen(line)));
  json_t *j = lt_parse(l, 0);
  json_t *v = json_object_get(j, "v");
  assert_true(json_is_string(v));
  *out_len = json_string_length(v);
  char *copy = malloc(*out_len + 1);
  memcpy(copy, json_string_value(v), *out_len + 1);
  json_decref(j);
  return copy;
}

static void check_sanitized(roster_log *log, lt_lines *l,
                            const unsigned char *s, size_t n) {
  unsigned char want[4 * 64 + 16];
  size_t wl = ref_sanitize(s, n, want);
  size_t got_len;
  char *got = value_of(log, l, s, n, &got_len);
  if (got_len != wl || memcmp(got, want, wl) != 0) {
    print_error("input:");
    for (size_t i = 0; i < n; i++)
      print_error(" %02x", s[i]);
    print_error("\ngot:  ");
    for (size_t i = 0; i < got_len; i++)
      print_error(" %02x", (unsigned char)got[i]);
    print_error("\nwant: ");
    for (size_t i = 0; i < wl; i++)
      print_error(" %02x", want[i]);
    print_error("\n");
    free(got);
    fail();
  }
  free(got);
}

/* ---- tests ------------------------------------------------------------ */

static void test_control_and_quotes(void **state) {
  (void)state;
  lt_lines l;
  lt_init(&l);
  roster_log *log = lt_logger(&l, 0);
  char all[32 + 4];
  for (int i = 1; i < 32; i++)
    all[i - 1] = (char)i;
  all[31] = '"';
  all[32] = '\\';
  all[33] = '/';
  all[34] = 0x7f;
  all[35] = '\0';
  assert_ok(roster_log_write(log, ROSTER_LOG_INFO, RL_FIELDS(RL_STR("k", all)),
                             "%s", all));
  const char *line = lt_line(&l, 0);
  /* no raw control byte anywhere in the line */
  for (const char *p = line; *p; p++)
    assert_true((unsigned char)*p >= 0x20);
  assert_contains(line, "\"\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007"
                        "\\b\\t\\n\\u000b\\f\\r\\u000e");
  assert_contains(line, "\\u001f\\\"\\\\/\x7f\"");
  json_t *j = lt_parse(&l, 0);
  assert_string_equal(lt_str(j, "k"), all);
  assert_string_equal(lt_str(j, "msg"), all);
  json_decref(j);

  /* NUL inside a counted string */
  size_t n;
  char *v = value_of(log, &l, "a\0b", 3, &n);
  assert_int_equal(n, 3);
  assert_memory_equal(v, "a\0b", 3);
  free(v);
  assert_contains(lt_line(&l, 0), "\"a\\u0000b\"");

  /* keys are escaped too, NULL key is "" and NULL strings are null */
  lt_clear(&l);
  assert_ok(roster_log_write(
      log, ROSTER_LOG_INFO,
      RL_FIELDS(RL_STR("q\"k\n", "x"), RL_STR(NULL, "y"), RL_STR("nul", NULL)),
      NULL));
  j = lt_parse(&l, 0);
  assert_string_equal(lt_str(j, "q\"k\n"), "x");
  assert_string_equal(lt_str(j, ""), "y");
  assert_true(json_is_null(json_object_get(j, "nul")));
  assert_null(json_object_get(j, "msg")); /* NULL format: no msg */
  json_decref(j);
  roster_log_free(log);
  lt_fini(&l);
}

static void test_unicode_examples(void **state) {
  (void)state;
  lt_lines l;
  lt_init(&l);
  roster_log *log = lt_logger(&l, 0);
  struct {
    const char *in;
    const char *want; /* decoded, with U+FFFD as EF BF BD */
  } cases[] = {
      /* The Unicode Standard 15, section 3.9, table 3-8's example:
       * 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64 */
      {"\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64",
       "a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
       "b\xef\xbf\xbd"
       "c\xef\xbf\xbd\xef\xbf\xbd"
       "d"},
      /* overlong forms: every byte is its own maximal subpart */
      {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},
      {"\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
      {"\xf0\x80\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
      /* a surrogate (U+D800) encoded */
      {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
      /* past U+10FFFF */
      {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
      {"\xf5\xff\xfe", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
      /* truncated at the end */
      {"ok\xe2\x82", "ok\xef\xbf\xbd"},
      {"\xf0\x9f\x98", "\xef\xbf\xbd"},
      /* the largest valid of each length, and U+FFFD itself */
      {"\x7f\xdf\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf\xef\xbf\xbd",
       "\x7f\xdf\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf\xef\xbf\xbd"},
      {"\xe2\x82\xac \xf0\x9f\x98\x80", "\xe2\x82\xac \xf0\x9f\x98\x80"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t n;
    char *got = value_of(log, &l, cases[i].in, strlen(cases[i].in), &n);
    if (n != strlen(cases[i].want) || memcmp(got, cases[i].want, n)) {
      print_error("case %zu: got '%s'\n", i, got);
      free(got);
      fail();
    }
    free(got);
    /* the reference decoder agrees with the standard's examples */
    unsigned char ref[64];
    size_t rl = ref_sanitize((const unsigned char *)cases[i].in,
                             strlen(cases[i].in), ref);
    assert_int_equal(rl, strlen(cases[i].want));
    assert_memory_equal(ref, cases[i].want, rl);
  }
  /* invalid bytes are written as the escape, never raw */
  lt_clear(&l);
  assert_ok(roster_log_write(log, ROSTER_LOG_INFO,
                             RL_FIELDS(RL_STR("v", "\xff")), NULL));
  assert_contains(lt_line(&l, 0), "\"v\":\"\\ufffd\"");
  roster_log_free(log);
  lt_fini(&l);
}

static void test_random_bytes(void **state) {
  (void)state;
  lt_lines l;
  lt_init(&l);
  roster_log *log = lt_logger(&l, 0);
  unsigned char buf[64];
  for (int iter = 0; iter < 20000; iter++) {
    size_t n = next_rand() % sizeof buf;
    for (size_t i = 0; i < n; i++) {
      uint64_t r = next_rand();
      /* bias toward the interesting bytes: leads, continuations, controls */
      switch (r % 4) {
      case 0:
        buf[i] = (unsigned char)(r >> 8);
        break;
      case 1:
        buf[i] = (unsigned char)(0x80 | ((r >> 8) & 0x3f));
        break;
      case 2:
        buf[i] = (unsigned char)(0xc0 | ((r >> 8) & 0x3f));
        break;
      default:
        buf[i] = (unsigned char)((r >> 8) & 0x7f);
        break;
      }
    }
    check_sanitized(log, &l, buf, n);
  }
  roster_log_free(log);
  lt_fini(&l);
}

static size_t put_cp(unsigned char *o, long cp) {
  if (cp < 0x80) {
    o[0] = (unsigned char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (unsigned char)(0xc0 | (cp >> 6));
    o[1] = (unsigned char)(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (unsigned char)(0xe0 | (cp >> 12));
    o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    o[2] = (unsigned char)(0x80 | (cp & 0x3f));
    return 3;
  }
  o[0] = (unsigned char)(0xf0 | (cp >> 18));
  o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
  o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
  o[3] = (unsigned char)(0x80 | (cp & 0x3f));
  return 4;
}

static void test_valid_utf8_round_trips(void **state) {
  (void)state;
  lt_lines l;
  lt_init(&l);
  roster_log *log = lt_logger(&l, 0);
  unsigned char buf[4 * 32];
  for (int iter = 0; iter < 20000; iter++) {
    size_t n = 0, count = next_rand() % 32;
    for (size_t k = 0; k < count; k++) {
      long cp;
      do {
        uint64_t r = next_rand();
        switch (r % 4) { /* every length, often */
        case 0:
          cp = (long)((r >> 8) % 0x80);
          break;
        case 1:
          cp = (long)((r >> 8) % 0x800);
          break;
        case 2:
          cp = (long)((r >> 8) % 0x10000);
          break;
        default:
          cp = (long)((r >> 8) % 0x110000);
          break;
        }
      } while ((cp >= 0xd800 && cp <= 0xdfff));
      n += put_cp(buf + n, cp);
    }
    size_t got_len;
    char *got = value_of(log, &l, buf, n, &got_len);
    assert_int_equal(got_len, n);
    assert_memory_equal(got, buf, n);
    free(got);
  }
  roster_log_free(log);
  lt_fini(&l);
}

static void test_numbers(void **state) {
  (void)state;
  lt_lines l;
  lt_init(&l);
  roster_log *log = lt_logger(&l, 0);
  int64_t ints[] = {0,         1,         -1,      9,
                    10,        99,        100,     12345678901234LL,
                    INT64_MAX, INT64_MIN, -1000000};
  for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
    lt_clear(&l);
    assert_ok(roster_log_write(log, ROSTER_LOG_INFO,
                               RL_FIELDS(RL_INT("n", ints[i])), NULL));
    json_t *j = lt_parse(&l, 0);
    assert_true(json_is_integer(json_object_get(j, "n")));
    assert_true(json_integer_value(json_object_get(j, "n")) == ints[i]);
    json_decref(j);
  }
  /* doubles: fixed ones, then random bit patterns; each reads back equal */
  double fixed[] = {12.5,          0.1,     0.1 + 0.2, -3.25,
                    1e300,         -1e-300, 5e-324,    1.7976931348623157e308,
                    123456789.125, 1e15,    1e16,      9007199254740993.0,
                    0.000001,      1e-7,    2.5e-8};
  for (int iter = 0; iter < 20000 + (int)(sizeof fixed / sizeof fixed[0]);
       iter++) {
    double d;
    if (iter < (int)(sizeof fixed / sizeof fixed[0])) {
      d = fixed[iter];
    } else {
      uint64_t bits = next_rand();
      memcpy(&d, &bits, sizeof d);
      if (!isfinite(d))
        continue;
      if (iter % 2) /* and short decimals, the fast path */
        d = (double)(int64_t)(next_rand() % 2000000 - 1000000) /
            (double)(1 << (next_rand() % 10));
    }
    lt_clear(&l);
    assert_ok(roster_log_write(log, ROSTER_LOG_INFO, RL_FIELDS(RL_DBL("d", d)),
                               NULL));
    json_t *j = lt_parse(&l, 0);
    json_t *v = json_object_get(j, "d");
    if (!json_is_number(v) || json_number_value(v) != d) {
      print_error("%.17g written as %s\n", d, lt_line(&l, 0));
      fail();
    }
    json_decref(j);
  }
  /* short forms where they exist */
  lt_clear(&l);
  assert_ok(roster_log_write(log, ROSTER_LOG_INFO,
                             RL_FIELDS(RL_DBL("a", 12.5), RL_DBL("b", 0.1),
                                       RL_DBL("c", 3.0), RL_DBL("z", -0.0)),
                             NULL));
  assert_contains(lt_line(&l, 0), "\"a\":12.5,\"b\":0.1,\"c\":3,\"z\":0}");
  /* NaN and infinities are null, as JSON.stringify writes them */
  lt_clear(&l);
  assert_ok(roster_log_write(
      log, ROSTER_LOG_INFO,
      RL_FIELDS(RL_DBL("nan", NAN), RL_DBL("inf", INFINITY),
                RL_DBL("ninf", -INFINITY), RL_BOOL("t", 7), RL_BOOL("f", 0)),
      NULL));
  json_t *j = lt_parse(&l, 0);
  assert_true(json_is_null(json_object_get(j, "nan")));
  assert_true(json_is_null(json_object_get(j, "inf")));
  assert_true(json_is_null(json_object_get(j, "ninf")));
  assert_true(json_is_true(json_object_get(j, "t")));
  assert_true(json_is_false(json_object_get(j, "f")));
  json_decref(j);
  roster_log_free(log);
  lt_fini(&l);
}

static void test_json_fields_and_long_lines(void **state) {
  (void)state;
  lt_lines l;
  lt_init(&l);
  roster_log *log = lt_logger(&l, 0);
  json_t *tree = json_pack("{s:i, s:[s, f, b, n], s:{s:s}}", "a", 1, "b",
                           "x\"y", 1.5, 1, "c", "d", "\xc3\xa9");
  assert_non_null(tree);
  assert_ok(roster_log_write(
      log, ROSTER_LOG_INFO,
      RL_FIELDS(RL_JSON("tree", tree), RL_JSON("none", NULL)), "with a tree"));
  json_t *j = lt_parse(&l, 0);
  assert_true(json_equal(json_object_get(j, "tree"), tree));
  assert_true(json_is_null(json_object_get(j, "none")));
  json_decref(j);
  assert_int_equal(tree->refcount, 1); /* not taken */
  json_decref(tree);

  /* a message over the stack buffers (1 KiB message, 2 KiB line) */
  size_t big = 100000;
  char *s = malloc(big + 1);
  for (size_t i = 0; i < big; i++)
    s[i] = (char)('a' + i % 26);
  s[big] = '\0';
  s[500] = '\n';
  lt_clear(&l);
  assert_ok(roster_log_write(log, ROSTER_LOG_INFO, RL_FIELDS(RL_STR("copy", s)),
                             "m=%s!", s));
  j = lt_parse(&l, 0);
  assert_int_equal(strlen(lt_str(j, "msg")), big + 3);
  assert_memory_equal(lt_str(j, "msg") + 2, s, big);
  assert_string_equal(lt_str(j, "copy"), s);
  json_decref(j);
  free(s);
  roster_log_free(log);
  lt_fini(&l);
}

static int64_t realtime_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_line_shape(void **state) {
  (void)state;
  lt_lines l;
  lt_init(&l);
  roster_log_sink sink = lt_sink(&l, 0);
  roster_log_options o = {.name = "api", .sinks = &sink, .nsinks = 1};
  roster_log *log = lt_new(&o);
  /* CLOCK_REALTIME, as the logger reads: time() reads the coarse clock,
     which lags it by up to a tick, so a second boundary falls between. */
  int64_t before = realtime_ms() - 1000;
  RL_WARN_F(log, RL_FIELDS(RL_STR("user", "alice"), RL_INT("n", 3)), "hello %s",
            "world");
  int64_t after = realtime_ms() + 1000;
  const char *line = lt_line(&l, 0);
  /* the key order pino writes: level, time, pid, hostname, name, msg */
  assert_true(strncmp(line, "{\"level\":40,\"time\":", 19) == 0);
  const char *keys[] = {"\"level\"", "\"time\"", "\"pid\"",  "\"hostname\"",
                        "\"name\"",  "\"msg\"",  "\"user\"", "\"n\""};
  const char *prev = line;
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    const char *at = strstr(line, keys[i]);
    assert_non_null(at);
    assert_true(at >= prev);
    prev = at;
  }
  json_t *j = lt_parse(&l, 0);
  assert_int_equal(lt_int(j, "level"), 40);
  /* in range, the values printed when not */
  assert_in_range(lt_int(j, "time"), before, after);
  assert_int_equal(lt_int(j, "pid"), getpid());
  char host[256];
  gethostname(host, sizeof host);
  assert_string_equal(lt_str(j, "hostname"), host);
  assert_string_equal(lt_str(j, "name"), "api");
  assert_string_equal(lt_str(j, "msg"), "hello world");
  assert_string_equal(lt_str(j, "user"), "alice");
  assert_int_equal(lt_int(j, "n"), 3);
  assert_int_equal(json_object_size(j), 8);
  json_decref(j);
  assert_int_equal(l.lens[0], strlen(line));
  roster_log_free(log);
  assert_int_equal(atomic_load(&l.frees), 1);
  lt_fini(&l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_control_and_quotes),
      cmocka_unit_test(test_unicode_examples),
      cmocka_unit_test(test_random_bytes),
      cmocka_unit_test(test_valid_utf8_round_trips),
      cmocka_unit_test(test_numbers),
      cmocka_unit_test(test_json_fields_and_long_lines),
      cmocka_unit_test(test_line_shape),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
