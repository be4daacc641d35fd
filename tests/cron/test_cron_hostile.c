/*
 * test_cron_hostile.c: time zone calls given what a careless or hostile
 * caller passes: instants at the ends of int64 (no overflow: an offset, or
 * ROSTER_ERANGE from roster_tz_format), and control bytes in TZ strings,
 * zone names, paths and ISO 8601 texts, which must reach no error text
 * raw. Found by fuzz/fuzz_tz.c; the corpus keeps the inputs too.
 */
#include "testutil.h"

#include <stdlib.h>

#include "cron/cron_impl.h"
#include "cron_testutil.h"

/* no_control: s holds no control byte (below 0x20, or DEL). */
static bool no_control(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
      return false;
  return true;
}

#define assert_clean_error()                                                   \
  do {                                                                         \
    if (!no_control(roster_last_error())) {                                    \
      print_error("a control byte in '%s'\n", roster_last_error());            \
      fail();                                                                  \
    }                                                                          \
  } while (0)

static const int64_t far[] = {INT64_MIN,           INT64_MIN + 1,
                              -((int64_t)1 << 62), (int64_t)1 << 62,
                              INT64_MAX - 1,       INT64_MAX};

/* A zone whose times after its last change come from its POSIX rule, and
 * a zone that is only a rule: the offset of any instant is one of the
 * rule's, computed without overflow. */
static void test_offset_far_instants(void **state) {
  (void)state;
  const roster_tz *ny = cron_zone("America/New_York");
  setenv("TZ", "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", 1);
  const roster_tz *rule = NULL;
  assert_ok(roster_tz_local(&rule));
  unsetenv("TZ");
  for (size_t i = 0; i < sizeof far / sizeof far[0]; i++) {
    int32_t o = roster_tz_offset(ny, far[i]);
    if (far[i] > 0)
      assert_true(o == -18000 || o == -14400);
    o = roster_tz_offset(rule, far[i]);
    assert_true(o == 37800 || o == 39600);
    /* the span holding the instant holds it */
    rc_span s;
    roster__cron_tz_span(rule, far[i], &s);
    assert_true(s.start <= far[i]);
    assert_true(far[i] < s.end || s.end == INT64_MAX);
  }
}

/* roster_tz_format of an instant far outside the years 1 to 9999 is
 * ROSTER_ERANGE, in every zone (t + offset must not overflow). */
static void test_format_far_instants(void **state) {
  (void)state;
  const roster_tz *zs[] = {NULL, cron_zone("America/New_York"),
                           cron_zone("Pacific/Kiritimati")};
  char buf[ROSTER_TIME_STR_MAX];
  for (size_t k = 0; k < sizeof zs / sizeof zs[0]; k++)
    for (size_t i = 0; i < sizeof far / sizeof far[0]; i++) {
      assert_rc(roster_tz_format(zs[k], far[i], buf, sizeof buf),
                ROSTER_ERANGE);
      assert_contains(roster_last_error(), "outside the years 1 to 9999");
    }
  /* a day inside either end still formats where the offset allows */
  assert_ok(roster_tz_format(NULL, RC_T_MIN, buf, sizeof buf));
  assert_string_equal(buf, "0001-01-01T00:00:00+00:00");
  assert_ok(roster_tz_format(NULL, RC_T_MAX, buf, sizeof buf));
  assert_string_equal(buf, "9999-12-31T23:59:59+00:00");
}

/* Control bytes in a TZ string, a zone name, a path in $TZ or a time text
 * are escaped in the error (\xNN), not copied. */
static void test_error_text_escaped(void **state) {
  (void)state;
  const roster_tz *z = NULL;
  const char *tzs[] = {"EST5EDT,M3.2.0,M11.1.0\x01", "E\x1bST5",
                       "EST5EDT,M3.2.0,M11.1.0\x7f", ":/nonexistent\x01/zone",
                       "/nonexistent/\x1b[2J"};
  for (size_t i = 0; i < sizeof tzs / sizeof tzs[0]; i++) {
    setenv("TZ", tzs[i], 1);
    int rc = roster_tz_local(&z);
    unsetenv("TZ");
    if (rc == ROSTER_OK) {
      print_error("TZ case %zu was accepted\n", i);
      fail();
    }
    assert_clean_error();
  }
  setenv("TZ", "EST5EDT,M3.2.0,M11.1.0\x01", 1);
  assert_rc(roster_tz_local(&z), ROSTER_EINVAL);
  unsetenv("TZ");
  assert_contains(roster_last_error(), "M11.1.0\\x01");

  assert_rc(roster_tz_get("Europe/\x01London", &z), ROSTER_EINVAL);
  assert_clean_error();
  assert_contains(roster_last_error(), "Europe/\\x01London");

  int64_t t;
  const char *times[] = {"2026-01-01T00:00:00\x01", "2026\x1b-01-01",
                         "0000-01-01\x7f", "2026-02-30T00:00:00Z\x01"};
  for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
    assert_true(roster_time_parse(times[i], NULL, &t) != ROSTER_OK);
    assert_clean_error();
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_offset_far_instants),
      cmocka_unit_test(test_format_far_instants),
      cmocka_unit_test(test_error_text_escaped),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
