/*
 * test_cron_parse.c: roster_cron_parse, table-driven. Valid expressions
 * are checked field by field against the sets they must allow (and the
 * '*' flags the day rule and DST depend on); invalid ones must fail with
 * ROSTER_EINVAL at the right column with the right message, and change
 * nothing (*out stays NULL).
 */
#include "testutil.h"

#include <stdlib.h>

#include "cron/cron_impl.h"

/* set parses "a,b,c-d" (inclusive ranges) into a bit mask; "" is none. */
static uint64_t set(const char *s) {
  uint64_t m = 0;
  while (*s) {
    char *e;
    long a = strtol(s, &e, 10), b = a;
    if (*e == '-')
      b = strtol(e + 1, &e, 10);
    for (long v = a; v <= b; v++)
      m |= (uint64_t)1 << v;
    s = *e == ',' ? e + 1 : e;
  }
  return m;
}

typedef struct valid_case {
  const char *expr;
  const char *sec, *min, *hour, *dom, *month, *dow;
  unsigned flags; /* RC_* */
} valid_case;

#define ALL_MIN "0-59"
#define ALL_H "0-23"
#define ALL_DOM "1-31"
#define ALL_MON "1-12"
#define ALL_DOW "0-6"
#define STARS (RC_MIN_STAR | RC_HR_STAR | RC_DOM_STAR | RC_DOW_STAR)

static const valid_case valid[] = {
    {"* * * * *", "0", ALL_MIN, ALL_H, ALL_DOM, ALL_MON, ALL_DOW, STARS},
    {"0 0 * * *", "0", "0", "0", ALL_DOM, ALL_MON, ALL_DOW,
     RC_DOM_STAR | RC_DOW_STAR},
    {"*/15 * * * *", "0", "0,15,30,45", ALL_H, ALL_DOM, ALL_MON, ALL_DOW,
     STARS},
    {"5-20/5 1,2,3 * * *", "0", "5,10,15,20", "1-3", ALL_DOM, ALL_MON, ALL_DOW,
     RC_DOM_STAR | RC_DOW_STAR},
    /* a/n runs from a to the field's end */
    {"10/20 * * * *", "0", "10,30,50", ALL_H, ALL_DOM, ALL_MON, ALL_DOW,
     RC_HR_STAR | RC_DOM_STAR | RC_DOW_STAR},
    {"0 0 1/10 * *", "0", "0", "0", "1,11,21,31", ALL_MON, ALL_DOW,
     RC_DOW_STAR},
    /* names, any case, in lists and ranges */
    {"0 0 * jan,Mar,DEC mon-FRI", "0", "0", "0", ALL_DOM, "1,3,12", "1-5",
     RC_DOM_STAR},
    {"0 0 * Jan-Jun/2 *", "0", "0", "0", ALL_DOM, "1,3,5", ALL_DOW,
     RC_DOM_STAR | RC_DOW_STAR},
    {"0 0 * * sun", "0", "0", "0", ALL_DOM, ALL_MON, "0", RC_DOM_STAR},
    /* Sunday as 7, alone and in ranges */
    {"0 0 * * 7", "0", "0", "0", ALL_DOM, ALL_MON, "0", RC_DOM_STAR},
    {"0 0 * * 5-7", "0", "0", "0", ALL_DOM, ALL_MON, "0,5,6", RC_DOM_STAR},
    {"0 0 * * */2", "0", "0", "0", ALL_DOM, ALL_MON, "0,2,4,6",
     STARS & ~(RC_MIN_STAR | RC_HR_STAR)},
    {"0 0 * * */7", "0", "0", "0", ALL_DOM, ALL_MON, "0",
     RC_DOM_STAR | RC_DOW_STAR},
    /* both day fields restricted: no day flag */
    {"0 0 1,15 * 1", "0", "0", "0", "1,15", ALL_MON, "1", 0},
    /* a field starting with '*' is flagged even with a step */
    {"0 0 */2 * 1", "0", "0", "0", "1,3,5,7,9,11,13,15,17,19,21,23,25,27,29,31",
     ALL_MON, "1", RC_DOM_STAR},
    /* leading zeros, blanks around and between fields, tabs */
    {"  00\t05   * *  *  ", "0", "0", "5", ALL_DOM, ALL_MON, ALL_DOW,
     RC_DOM_STAR | RC_DOW_STAR},
    /* six fields: seconds first */
    {"*/10 * * * * *", "0,10,20,30,40,50", ALL_MIN, ALL_H, ALL_DOM, ALL_MON,
     ALL_DOW, STARS | RC_SECONDS},
    {"30 0 12 * * 1-5", "30", "0", "12", ALL_DOM, ALL_MON, "1-5",
     RC_DOM_STAR | RC_SECONDS},
    /* steps larger than the field select its start (as Vixie cron) */
    {"*/100 * * * *", "0", "0", ALL_H, ALL_DOM, ALL_MON, ALL_DOW, STARS},
    /* macros, any case */
    {"@yearly", "0", "0", "0", "1", "1", ALL_DOW, RC_DOW_STAR},
    {"@annually", "0", "0", "0", "1", "1", ALL_DOW, RC_DOW_STAR},
    {"@monthly", "0", "0", "0", "1", ALL_MON, ALL_DOW, RC_DOW_STAR},
    {"@weekly", "0", "0", "0", ALL_DOM, ALL_MON, "0", RC_DOM_STAR},
    {"@daily", "0", "0", "0", ALL_DOM, ALL_MON, ALL_DOW,
     RC_DOM_STAR | RC_DOW_STAR},
    {"@MIDNIGHT", "0", "0", "0", ALL_DOM, ALL_MON, ALL_DOW,
     RC_DOM_STAR | RC_DOW_STAR},
    {" @hourly ", "0", "0", ALL_H, ALL_DOM, ALL_MON, ALL_DOW,
     RC_HR_STAR | RC_DOM_STAR | RC_DOW_STAR},
    /* full ranges written out are not '*' */
    {"0-59 0-23 1-31 1-12 0-6", "0", ALL_MIN, ALL_H, ALL_DOM, ALL_MON, ALL_DOW,
     0},
};

static void test_valid(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
    const valid_case *v = &valid[i];
    roster_cron *c = NULL;
    roster_cron_error err;
    int rc = roster_cron_parse(v->expr, &c, &err);
    if (rc != ROSTER_OK) {
      print_error("'%s': %s\n", v->expr, roster_last_error());
      fail();
    }
    bool ok = c->sec == set(v->sec) && c->min == set(v->min) &&
              c->hour == set(v->hour) && c->dom == set(v->dom) &&
              c->month == set(v->month) && c->dow == set(v->dow) &&
              c->flags == v->flags;
    if (!ok) {
      print_error(
          "'%s': sec %llx min %llx hour %x dom %x month %x dow %x "
          "flags %x; want %llx %llx %llx %llx %llx %llx %x\n",
          v->expr, (unsigned long long)c->sec, (unsigned long long)c->min,
          c->hour, c->dom, c->month, c->dow, c->flags,
          (unsigned long long)set(v->sec), (unsigned long long)set(v->min),
          (unsigned long long)set(v->hour), (unsigned long long)set(v->dom),
          (unsigned long long)set(v->month), (unsigned long long)set(v->dow),
          v->flags);
      fail();
    }
    assert_false(c->never);
    roster_cron_free(c);
  }
}

typedef struct invalid_case {
  const char *expr;
  size_t column;
  const char *message; /* a substring of err.message */
} invalid_case;

static const invalid_case invalid[] = {
    /* out of range, each field, with the column of the value */
    {"60 * * * *", 1, "minute 60 is out of range 0-59"},
    {"0 24 * * *", 3, "hour 24 is out of range 0-23"},
    {"0 0 0 * *", 5, "day-of-month 0 is out of range 1-31"},
    {"0 0 32 * *", 5, "day-of-month 32 is out of range 1-31"},
    {"0 0 * 13 *", 7, "month 13 is out of range 1-12"},
    {"0 0 * 0 *", 7, "month 0 is out of range 1-12"},
    {"0 0 * * 8", 9, "day-of-week 8 is out of range 0-7"},
    {"60 0 0 * * *", 1, "second 60 is out of range 0-59"},
    {"0 1,2,99 * * *", 7, "hour 99 is out of range"},
    {"0 0 1-40 * *", 7, "day-of-month 40 is out of range"},
    {"99999999999 * * * *", 1, "minute 99999999999 is out of range"},
    /* reversed ranges: the column of the range */
    {"0 5-3 * * *", 3, "reversed range 5-3 in the hour field"},
    {"0 0 * dec-jan *", 7, "reversed range 12-1 in the month field"},
    {"0 0 * * fri-mon", 9, "reversed range 5-1"},
    {"0 0 * * sat-sun", 9, "reversed range 6-0"}, /* sun is 0; 6-7 works */
    /* zero and bad steps */
    {"*/0 * * * *", 3, "step 0 in the minute field"},
    {"0 0 1-10/0 * *", 10, "step 0"},
    {"0 0 * * */", 11, "a step is missing after '/'"},
    {"*/x * * * *", 3, "a step must be a number, not 'x'"},
    {"*/99999 * * * *", 3, "step 99999 is too large"},
    /* unknown names, and names where none are allowed */
    {"0 0 * foo *", 7, "unknown month name 'foo'"},
    {"0 0 * * mondays", 9, "unknown day-of-week name 'mondays'"},
    {"0 0 * January *", 7, "unknown month name 'January'"},
    {"0 mon * * *", 3, "'mon' is not a number (the hour field takes no names)"},
    {"0 0 * * jan", 9, "unknown day-of-week name 'jan'"},
    /* wrong field count */
    {"* * * *", 8, "too few fields (4)"},
    {"*", 2, "too few fields (1)"},
    {"0 0 * * * * *", 13, "too many fields"},
    {"1 2 3 4 5 6 7 8", 13, "too many fields"},
    /* trailing junk and bad characters */
    {"0 0 * * 1x", 10, "unexpected 'x' in the day-of-week field"},
    {"0 0 * * 1-", 11, "a value is missing in the day-of-week field"},
    {"5, * * * *", 2, "an empty list element in the minute field"},
    {"1,,2 * * * *", 3, "an empty list element"},
    {",1 * * * *", 1, "an empty list element"},
    {"*5 * * * *", 2, "unexpected '5' in the minute field"},
    {"*-5 * * * *", 2, "unexpected '-' in the minute field"},
    {"-5 * * * *", 1, "unexpected '-' in the minute field"},
    {"0 0 ? * *", 5, "unexpected '?' in the day-of-month field"},
    {"0 0 L * *", 5, "'L' is not a number"},
    {"0 0 * * 1#2", 10, "unexpected '#'"},
    {"0 0 * * 5L", 10, "unexpected 'L'"},
    {"0 0\x01 * * *", 4, "unexpected character '\\x01'"},
    /* empty, macros */
    {"", 1, "empty expression"},
    {"   \t ", 6, "empty expression"},
    {"@fortnightly", 1, "unknown macro '@fortnightly'"},
    {"@reboot", 1, "@reboot is not a time"},
    {"@daily 5", 8, "unexpected text after @daily"},
    {"@", 1, "unknown macro '@'"},
};

static void test_invalid(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
    const invalid_case *v = &invalid[i];
    roster_cron *c = (roster_cron *)&c; /* must be reset to NULL */
    roster_cron_error err;
    int rc = roster_cron_parse(v->expr, &c, &err);
    if (rc != ROSTER_EINVAL || c != NULL || err.column != v->column ||
        !strstr(err.message, v->message)) {
      print_error("'%s': rc %s, column %zu, message '%s'; want EINVAL, "
                  "column %zu, '%s'\n",
                  v->expr, roster_err_name(rc), err.column, err.message,
                  v->column, v->message);
      fail();
    }
    /* the thread's detail names the expression, the column and why */
    char col[32];
    snprintf(col, sizeof col, "column %zu: ", v->column);
    assert_contains(roster_last_error(), col);
    assert_contains(roster_last_error(), v->message);
    assert_contains(roster_last_error(), "cron expression '");
  }
}

static void test_too_long_and_null(void **state) {
  (void)state;
  char big[ROSTER_CRON_MAX + 8];
  memset(big, ' ', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  big[0] = '*';
  roster_cron *c = NULL;
  roster_cron_error err;
  assert_rc(roster_cron_parse(big, &c, &err), ROSTER_EINVAL);
  assert_int_equal(err.column, ROSTER_CRON_MAX + 1);
  assert_contains(err.message, "longer than 1024 bytes");
  assert_null(c);
  /* exactly the limit is fine */
  char ok[ROSTER_CRON_MAX + 1];
  memset(ok, ' ', ROSTER_CRON_MAX);
  ok[ROSTER_CRON_MAX] = '\0';
  memcpy(ok, "* * * * *", 9);
  assert_ok(roster_cron_parse(ok, &c, NULL));
  assert_string_equal(roster_cron_text(c), "* * * * *");
  roster_cron_free(c);

  assert_rc(roster_cron_parse(NULL, &c, &err), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "NULL");
  assert_rc(roster_cron_parse("* * * * *", NULL, NULL), ROSTER_EINVAL);
  roster_cron_free(NULL);
}

static void test_never(void **state) {
  (void)state;
  const char *never[] = {"0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 31 2,4 *",
                         "0 0 31 2 */2", "0 0 30,31 feb *"};
  for (size_t i = 0; i < sizeof never / sizeof never[0]; i++) {
    roster_cron *c;
    assert_ok(roster_cron_parse(never[i], &c, NULL));
    assert_true(c->never);
    roster_cron_free(c);
  }
  /* both day fields restricted: Mondays in February still fire; the 29th
   * fires in leap years */
  const char *fires[] = {"0 0 30 2 1", "0 0 29 2 *", "0 0 31 * *",
                         "0 0 */30 2 *"};
  for (size_t i = 0; i < sizeof fires / sizeof fires[0]; i++) {
    roster_cron *c;
    assert_ok(roster_cron_parse(fires[i], &c, NULL));
    assert_false(c->never);
    roster_cron_free(c);
  }
}

/* no_control: s holds no control byte (below 0x20, or DEL). */
static bool no_control(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
      return false;
  return true;
}

/* Control bytes in a refused expression never reach the error texts raw:
 * neither the message (an unknown macro's name is quoted in it) nor the
 * thread's detail, which quotes the expression. */
static void test_error_text_escaped(void **state) {
  (void)state;
  const char *bad[] = {"0 0 * * \x7f", "\x7f * * * *", "@da\x01ly",    "@\x7f",
                       "@x\x1b[2J",    "@daily\x7f",   "0 0\x01 * * *"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    roster_cron *c = NULL;
    roster_cron_error err;
    assert_rc(roster_cron_parse(bad[i], &c, &err), ROSTER_EINVAL);
    if (!no_control(err.message) || !no_control(roster_last_error())) {
      print_error("case %zu: message '%s', detail '%s'\n", i, err.message,
                  roster_last_error());
      fail();
    }
  }
  /* the unknown macro is still named, escaped */
  roster_cron_error err;
  roster_cron *c = NULL;
  assert_rc(roster_cron_parse("@da\x01ly", &c, &err), ROSTER_EINVAL);
  assert_contains(err.message, "unknown macro '@da\\x01ly'");
}

static void test_text_trimmed(void **state) {
  (void)state;
  roster_cron *c;
  assert_ok(roster_cron_parse("\t 0 12 * * mon \n", &c, NULL));
  assert_string_equal(roster_cron_text(c), "0 12 * * mon");
  roster_cron_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid),
      cmocka_unit_test(test_invalid),
      cmocka_unit_test(test_too_long_and_null),
      cmocka_unit_test(test_never),
      cmocka_unit_test(test_text_trimmed),
      cmocka_unit_test(test_error_text_escaped),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
