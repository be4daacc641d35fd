/*
 * test_cron_next.c: roster_cron_next and roster_cron_prev.
 *
 * Tables: from a start time, the next fire times an expression must give,
 * written as local times with offsets (so a wrong offset shows), in UTC
 * and in real zones: the day-of-month/day-of-week rule, names, steps,
 * leap days, month ends, seconds, and the DST transitions of
 * America/New_York, Europe/London and Australia/Lord_Howe (a half-hour
 * shift), plus Pacific/Apia's skipped day. Every table is also walked
 * backwards with prev. Then a brute-force oracle: random expressions
 * around transitions (real zones and POSIX zones with 3-minute and 4-hour
 * shifts) must give what a minute-by-minute walk over instants, applying
 * the DST rule literally, gives.
 */
#include "testutil.h"

#include <stdlib.h>

#include "cron/cron_impl.h"

static const roster_tz *zone(const char *name) {
  const roster_tz *z = NULL;
  if (roster_tz_get(name, &z) != ROSTER_OK) {
    print_error("zone %s: %s\n", name, roster_last_error());
    fail();
  }
  return z;
}

static int64_t at(const char *iso) {
  int64_t t = 0;
  if (roster_time_parse(iso, NULL, &t) != ROSTER_OK) {
    print_error("bad time in the table '%s': %s\n", iso, roster_last_error());
    fail();
  }
  return t;
}

typedef struct seq_case {
  const char *expr;
  const char *tz;
  const char *from;    /* ISO 8601 with an offset */
  const char *want[8]; /* the next fire times, formatted in tz */
} seq_case;

static const seq_case seqs[] = {
    /* basics */
    {"* * * * *",
     "UTC",
     "2026-01-01T00:00:00Z",
     {"2026-01-01T00:01:00+00:00", "2026-01-01T00:02:00+00:00"}},
    {"* * * * *", "UTC", "2026-01-01T00:00:30Z", {"2026-01-01T00:01:00+00:00"}},
    {"*/15 * * * * *",
     "UTC",
     "2026-01-01T00:00:00Z",
     {"2026-01-01T00:00:15+00:00", "2026-01-01T00:00:30+00:00",
      "2026-01-01T00:00:45+00:00", "2026-01-01T00:01:00+00:00"}},
    {"5-20/5 */6 * * *",
     "UTC",
     "2026-01-01T05:00:00Z",
     {"2026-01-01T06:05:00+00:00", "2026-01-01T06:10:00+00:00",
      "2026-01-01T06:15:00+00:00", "2026-01-01T06:20:00+00:00",
      "2026-01-01T12:05:00+00:00"}},
    {"59 23 31 12 *",
     "UTC",
     "2026-12-31T23:59:00Z",
     {"2027-12-31T23:59:00+00:00", "2028-12-31T23:59:00+00:00"}},
    /* the day rule: both restricted -> either; '*' start -> both */
    {"0 0 1,15 * 1",
     "UTC",
     "2026-01-01T00:00:00Z",
     {"2026-01-05T00:00:00+00:00", "2026-01-12T00:00:00+00:00",
      "2026-01-15T00:00:00+00:00", "2026-01-19T00:00:00+00:00",
      "2026-01-26T00:00:00+00:00", "2026-02-01T00:00:00+00:00",
      "2026-02-02T00:00:00+00:00"}},
    {"0 0 */2 * 1",
     "UTC",
     "2026-01-01T00:00:00Z",
     {"2026-01-05T00:00:00+00:00", "2026-01-19T00:00:00+00:00",
      "2026-02-09T00:00:00+00:00", "2026-02-23T00:00:00+00:00"}},
    {"0 0 13 * fri",
     "UTC",
     "2026-01-01T00:00:00Z",
     {"2026-01-02T00:00:00+00:00", "2026-01-09T00:00:00+00:00",
      "2026-01-13T00:00:00+00:00", "2026-01-16T00:00:00+00:00"}},
    {"0 0 * * */7",
     "UTC",
     "2026-01-01T00:00:00Z", /* {0,7}: Sundays */
     {"2026-01-04T00:00:00+00:00", "2026-01-11T00:00:00+00:00"}},
    /* names and Sunday as 7 */
    {"30 12 * Feb,jul SAT,sun",
     "UTC",
     "2026-01-01T00:00:00Z",
     {"2026-02-01T12:30:00+00:00", "2026-02-07T12:30:00+00:00",
      "2026-02-08T12:30:00+00:00", "2026-02-14T12:30:00+00:00"}},
    {"0 9 * * 7",
     "UTC",
     "2026-01-03T12:00:00Z",
     {"2026-01-04T09:00:00+00:00", "2026-01-11T09:00:00+00:00"}},
    /* leap days (2100 is not a leap year) and month ends */
    {"0 0 29 2 *",
     "UTC",
     "2026-01-01T00:00:00Z",
     {"2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00"}},
    {"0 0 29 2 *",
     "UTC",
     "2096-03-01T00:00:00Z",
     {"2104-02-29T00:00:00+00:00"}},
    {"0 0 31 * *",
     "UTC",
     "2026-01-31T00:00:00Z",
     {"2026-03-31T00:00:00+00:00", "2026-05-31T00:00:00+00:00",
      "2026-07-31T00:00:00+00:00", "2026-08-31T00:00:00+00:00",
      "2026-10-31T00:00:00+00:00"}},
    {"0 0 30 * *",
     "UTC",
     "2026-01-30T00:00:00Z",
     {"2026-03-30T00:00:00+00:00", "2026-04-30T00:00:00+00:00"}},
    /* macros */
    {"@weekly",
     "UTC",
     "2026-01-03T00:00:00Z", /* a Saturday */
     {"2026-01-04T00:00:00+00:00", "2026-01-11T00:00:00+00:00"}},
    {"@yearly", "UTC", "2026-06-01T00:00:00Z", {"2027-01-01T00:00:00+00:00"}},
    {"@hourly",
     "Europe/London",
     "2026-06-01T10:30:00Z",
     {"2026-06-01T12:00:00+01:00"}},

    /* America/New_York: 2026-03-08 02:00 EST -> 03:00 EDT */
    {"30 2 * * *",
     "America/New_York",
     "2026-03-07T00:00:00-05:00",
     {"2026-03-07T02:30:00-05:00", "2026-03-08T03:00:00-04:00",
      "2026-03-09T02:30:00-04:00"}},
    {"0,30 2 * * *",
     "America/New_York",
     "2026-03-07T12:00:00-05:00",
     {"2026-03-08T03:00:00-04:00", "2026-03-09T02:00:00-04:00"}},
    {"0 3 * * *",
     "America/New_York",
     "2026-03-07T12:00:00-05:00",
     {"2026-03-08T03:00:00-04:00", "2026-03-09T03:00:00-04:00"}},
    {"0 2,3 * * *",
     "America/New_York",
     "2026-03-07T12:00:00-05:00",
     {"2026-03-08T03:00:00-04:00", "2026-03-09T02:00:00-04:00"}},
    {"*/30 * * * *",
     "America/New_York",
     "2026-03-08T01:00:00-05:00",
     {"2026-03-08T01:30:00-05:00", "2026-03-08T03:00:00-04:00",
      "2026-03-08T03:30:00-04:00"}},
    {"*/30 2 * * *",
     "America/New_York",
     "2026-03-07T01:00:00-05:00",
     {"2026-03-07T02:00:00-05:00", "2026-03-07T02:30:00-05:00",
      "2026-03-09T02:00:00-04:00"}},
    /* 2026-11-01 02:00 EDT -> 01:00 EST */
    {"30 1 * * *",
     "America/New_York",
     "2026-10-31T00:00:00-04:00",
     {"2026-10-31T01:30:00-04:00", "2026-11-01T01:30:00-04:00",
      "2026-11-02T01:30:00-05:00"}},
    {"*/30 1 * * *",
     "America/New_York",
     "2026-11-01T00:00:00-04:00",
     {"2026-11-01T01:00:00-04:00", "2026-11-01T01:30:00-04:00",
      "2026-11-01T01:00:00-05:00", "2026-11-01T01:30:00-05:00",
      "2026-11-02T01:00:00-05:00"}},
    {"0 * * * *",
     "America/New_York",
     "2026-10-31T23:30:00-04:00",
     {"2026-11-01T00:00:00-04:00", "2026-11-01T01:00:00-04:00",
      "2026-11-01T01:00:00-05:00", "2026-11-01T02:00:00-05:00"}},
    /* starting inside the repeated hour, first and second time through */
    {"*/20 1 * * *",
     "America/New_York",
     "2026-11-01T01:45:00-04:00",
     {"2026-11-01T01:00:00-05:00", "2026-11-01T01:20:00-05:00",
      "2026-11-01T01:40:00-05:00", "2026-11-02T01:00:00-05:00"}},
    {"*/20 1 * * *",
     "America/New_York",
     "2026-11-01T01:10:00-05:00",
     {"2026-11-01T01:20:00-05:00", "2026-11-01T01:40:00-05:00"}},
    {"0 1 * * *",
     "America/New_York",
     "2026-11-01T01:10:00-05:00",
     {"2026-11-02T01:00:00-05:00"}},
    /* after 2037 the zone's POSIX rule takes over */
    {"30 2 * * *",
     "America/New_York",
     "2045-03-11T00:00:00-05:00",
     {"2045-03-11T02:30:00-05:00", "2045-03-12T03:00:00-04:00",
      "2045-03-13T02:30:00-04:00"}},
    {"*/30 1 * * *",
     "America/New_York",
     "2045-11-05T00:00:00-04:00",
     {"2045-11-05T01:00:00-04:00", "2045-11-05T01:30:00-04:00",
      "2045-11-05T01:00:00-05:00", "2045-11-05T01:30:00-05:00"}},

    /* Europe/London: 2026-03-29 01:00 GMT -> 02:00 BST;
     * 2026-10-25 02:00 BST -> 01:00 GMT */
    {"30 1 * * *",
     "Europe/London",
     "2026-03-28T12:00:00Z",
     {"2026-03-29T02:00:00+01:00", "2026-03-30T01:30:00+01:00"}},
    {"* * * * * *",
     "Europe/London",
     "2026-03-29T00:59:58Z",
     {"2026-03-29T00:59:59+00:00", "2026-03-29T02:00:00+01:00",
      "2026-03-29T02:00:01+01:00"}},
    {"*/20 1 * * *",
     "Europe/London",
     "2026-10-25T00:00:00+01:00",
     {"2026-10-25T01:00:00+01:00", "2026-10-25T01:20:00+01:00",
      "2026-10-25T01:40:00+01:00", "2026-10-25T01:00:00+00:00",
      "2026-10-25T01:20:00+00:00", "2026-10-25T01:40:00+00:00",
      "2026-10-26T01:00:00+00:00"}},
    {"15 1 * * *",
     "Europe/London",
     "2026-10-24T12:00:00Z",
     {"2026-10-25T01:15:00+01:00", "2026-10-26T01:15:00+00:00"}},

    /* Australia/Lord_Howe: 2026-10-04 02:00 +10:30 -> 02:30 +11;
     * 2026-04-05 02:00 +11 -> 01:30 +10:30 */
    {"15 2 * * *",
     "Australia/Lord_Howe",
     "2026-10-03T00:00:00+10:30",
     {"2026-10-03T02:15:00+10:30", "2026-10-04T02:30:00+11:00",
      "2026-10-05T02:15:00+11:00"}},
    {"0 2 * * *",
     "Australia/Lord_Howe",
     "2026-10-03T12:00:00+10:30",
     {"2026-10-04T02:30:00+11:00", "2026-10-05T02:00:00+11:00"}},
    {"*/20 * * * *",
     "Australia/Lord_Howe",
     "2026-04-05T01:10:00+11:00",
     {"2026-04-05T01:20:00+11:00", "2026-04-05T01:40:00+11:00",
      "2026-04-05T01:40:00+10:30", "2026-04-05T02:00:00+10:30"}},
    {"45 1 * * *",
     "Australia/Lord_Howe",
     "2026-04-04T00:00:00+11:00",
     {"2026-04-04T01:45:00+11:00", "2026-04-05T01:45:00+11:00",
      "2026-04-06T01:45:00+10:30"}},

    /* Pacific/Apia skipped 2011-12-30 (a 24-hour jump): nothing fires in
     * a jump over 3 hours */
    {"0 12 * * *",
     "Pacific/Apia",
     "2011-12-29T00:00:00-10:00",
     {"2011-12-29T12:00:00-10:00", "2011-12-31T12:00:00+14:00"}},
};

static void check_seq(const seq_case *s) {
  const roster_tz *z = zone(s->tz);
  roster_cron *c;
  assert_ok(roster_cron_parse(s->expr, &c, NULL));
  int64_t t = at(s->from), prev = t;
  char got[ROSTER_TIME_STR_MAX];
  size_t n = 0;
  for (; n < 8 && s->want[n]; n++) {
    int64_t nx;
    assert_ok(roster_cron_next(c, t, z, &nx));
    assert_ok(roster_tz_format(z, nx, got, sizeof got));
    if (strcmp(got, s->want[n]) != 0) {
      print_error("'%s' in %s after #%zu: got %s, want %s\n", s->expr, s->tz, n,
                  got, s->want[n]);
      fail();
    }
    if (n > 0) { /* prev walks the same sequence back */
      int64_t pv;
      assert_ok(roster_cron_prev(c, nx, z, &pv));
      if (pv != prev) {
        char want[ROSTER_TIME_STR_MAX];
        roster_tz_format(z, pv, got, sizeof got);
        roster_tz_format(z, prev, want, sizeof want);
        print_error("'%s' in %s: prev(%s) = %s, want %s\n", s->expr, s->tz,
                    s->want[n], got, want);
        fail();
      }
    }
    prev = nx;
    t = nx;
  }
  roster_cron_free(c);
}

static void test_tables(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++)
    check_seq(&seqs[i]);
}

static void test_never_and_range(void **state) {
  (void)state;
  roster_cron *c;
  int64_t out = 123;
  assert_ok(roster_cron_parse("0 0 30 2 *", &c, NULL));
  assert_rc(roster_cron_next(c, 0, NULL, &out), ROSTER_ENOENT);
  assert_contains(roster_last_error(), "'0 0 30 2 *' never fires");
  assert_rc(roster_cron_prev(c, 0, NULL, &out), ROSTER_ENOENT);
  roster_cron_free(c);

  /* A wildcard job whose only times fall in New York's skipped hour (the
   * second Sunday of March, 02:xx) never fires there after 2007; the
   * search ends at the year 10000 with a clear answer. */
  assert_ok(roster_cron_parse("*/5 2 8-14 3 */7", &c, NULL));
  const roster_tz *ny = zone("America/New_York");
  assert_rc(roster_cron_next(c, at("2026-01-01T00:00:00Z"), ny, &out),
            ROSTER_ENOENT);
  assert_contains(roster_last_error(), "before the year 10000");
  assert_contains(roster_last_error(), "America/New_York");
  /* ...but it fired before the 2007 rule change, and fires in UTC */
  assert_ok(roster_cron_prev(c, at("2026-01-01T00:00:00Z"), ny, &out));
  char buf[ROSTER_TIME_STR_MAX];
  roster_tz_format(ny, out, buf, sizeof buf);
  assert_string_equal(buf, "2006-03-12T02:55:00-05:00");
  assert_ok(roster_cron_next(c, at("2026-01-01T00:00:00Z"), NULL, &out));
  roster_cron_free(c);

  assert_ok(roster_cron_parse("* * * * *", &c, NULL));
  assert_rc(roster_cron_next(c, RC_T_MAX + 1, NULL, &out), ROSTER_ERANGE);
  assert_rc(roster_cron_next(c, RC_T_MIN - 1, NULL, &out), ROSTER_ERANGE);
  assert_rc(roster_cron_next(c, RC_T_MAX, NULL, &out), ROSTER_ENOENT);
  assert_rc(roster_cron_prev(c, RC_T_MIN, NULL, &out), ROSTER_ENOENT);
  assert_ok(roster_cron_next(c, RC_T_MIN, NULL, &out));
  assert_int_equal(out, RC_T_MIN + 60);
  assert_ok(roster_cron_prev(c, RC_T_MAX + 1, NULL, &out));
  assert_int_equal(out, RC_T_MAX - 59);
  assert_rc(roster_cron_next(NULL, 0, NULL, &out), ROSTER_EINVAL);
  assert_rc(roster_cron_next(c, 0, NULL, NULL), ROSTER_EINVAL);
  assert_rc(roster_cron_prev(c, 0, NULL, NULL), ROSTER_EINVAL);
  /* before 1970 too */
  assert_ok(roster_cron_next(c, at("1900-02-28T23:59:30Z"), NULL, &out));
  assert_int_equal(out, at("1900-03-01T00:00:00Z"));
  roster_cron_free(c);
}

/* ---- the brute-force oracle ---------------------------------------- */

static bool match_local(const roster_cron *c, int64_t L) {
  int64_t days = L / RC_DAY - (L % RC_DAY < 0), sod = L - days * RC_DAY, y;
  unsigned m, d;
  rc_civil_from_days(days, &y, &m, &d);
  unsigned wd = rc_weekday(days);
  bool dom = (c->dom >> d) & 1, dow = (c->dow >> wd) & 1;
  bool day =
      (c->flags & (RC_DOM_STAR | RC_DOW_STAR)) ? (dom && dow) : (dom || dow);
  return ((c->month >> m) & 1) && day && ((c->hour >> (sod / 3600)) & 1) &&
         ((c->min >> (sod / 60 % 60)) & 1) && ((c->sec >> (sod % 60)) & 1);
}

/* brute_fires: does instant t fire, by the DST rule applied literally? */
static bool brute_fires(const roster_cron *c, const roster_tz *z, int64_t t,
                        int64_t step) {
  rc_span s, p;
  rc_tz_span(z, t, &s);
  int64_t L = t + s.off;
  bool second = false;
  int64_t shift = 0;
  if (s.start != INT64_MIN) {
    rc_tz_span(z, s.start - 1, &p);
    if (p.off > s.off && t < s.start + (p.off - s.off)) {
      second = true;
      shift = p.off - s.off;
    }
    if (t == s.start && p.off < s.off) { /* a jump: its skipped times */
      int64_t g = s.off - p.off;
      bool fires = g < 300 || (g <= 3 * 3600 && !rc_wildcard(c));
      for (int64_t l = s.start + p.off; fires && l < s.start + s.off; l += step)
        if (match_local(c, l))
          return true;
    }
  }
  if (!match_local(c, L))
    return false;
  return !second || shift > 3 * 3600 || rc_wildcard(c);
}

/* Random expressions that fire often (so a short walk finds them): random
 * minute and hour fields, seconds sometimes, days mostly '*'. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static unsigned rnd(unsigned n) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (unsigned)(rng % n);
}

static void rand_field(char *out, size_t cap, int lo, int hi, bool star_ok) {
  switch (rnd(star_ok ? 5 : 4)) {
  case 0:
    snprintf(out, cap, "%d", lo + (int)rnd((unsigned)(hi - lo + 1)));
    break;
  case 1: {
    int a = lo + (int)rnd((unsigned)(hi - lo + 1));
    int b = a + (int)rnd((unsigned)(hi - a + 1));
    snprintf(out, cap, "%d-%d", a, b);
    break;
  }
  case 2:
    snprintf(out, cap, "%d,%d", lo + (int)rnd((unsigned)(hi - lo + 1)),
             lo + (int)rnd((unsigned)(hi - lo + 1)));
    break;
  case 3:
    snprintf(out, cap, "*/%d", 1 + (int)rnd(20));
    break;
  default:
    snprintf(out, cap, "*");
  }
}

static void oracle_zone(const roster_tz *z, const char *around, int exprs) {
  int64_t center = at(around);
  for (int i = 0; i < exprs; i++) {
    char sec[32], min[32], hour[32], expr[128];
    bool secs = rnd(4) == 0;
    rand_field(sec, sizeof sec, 0, 59, true);
    rand_field(min, sizeof min, 0, 59, true);
    rand_field(hour, sizeof hour, 0, 23, true);
    if (secs)
      snprintf(expr, sizeof expr, "%s %s %s * * *", sec, min, hour);
    else
      snprintf(expr, sizeof expr, "%s %s * * *", min, hour);
    roster_cron *c;
    assert_ok(roster_cron_parse(expr, &c, NULL));
    int64_t step = secs ? 1 : 60;
    /* from a few random starts around the transition, walk both ways */
    for (int k = 0; k < 3; k++) {
      int64_t from = center - 6 * 3600 + (int64_t)rnd(12 * 3600);
      int64_t want = INT64_MIN, got;
      for (int64_t t = (from / step + 1) * step; t <= from + 2 * RC_DAY;
           t += step)
        if (t > from && brute_fires(c, z, t, step)) {
          want = t;
          break;
        }
      if (want != INT64_MIN) {
        assert_ok(roster_cron_next(c, from, z, &got));
        if (got != want) {
          char a[40], b[40], f[40];
          roster_tz_format(z, got, a, sizeof a);
          roster_tz_format(z, want, b, sizeof b);
          roster_tz_format(z, from, f, sizeof f);
          print_error("'%s' in %s after %s: next %s, oracle %s\n", expr,
                      roster_tz_name(z), f, a, b);
          fail();
        }
      }
      want = INT64_MIN;
      for (int64_t t = ((from - 1) / step) * step; t >= from - 2 * RC_DAY;
           t -= step)
        if (t < from && brute_fires(c, z, t, step)) {
          want = t;
          break;
        }
      if (want != INT64_MIN) {
        assert_ok(roster_cron_prev(c, from, z, &got));
        if (got != want) {
          char a[40], b[40], f[40];
          roster_tz_format(z, got, a, sizeof a);
          roster_tz_format(z, want, b, sizeof b);
          roster_tz_format(z, from, f, sizeof f);
          print_error("'%s' in %s before %s: prev %s, oracle %s\n", expr,
                      roster_tz_name(z), f, a, b);
          fail();
        }
      }
    }
    roster_cron_free(c);
  }
}

static void test_oracle_real_zones(void **state) {
  (void)state;
  oracle_zone(zone("America/New_York"), "2026-03-08T07:00:00Z", 60);
  oracle_zone(zone("America/New_York"), "2026-11-01T06:00:00Z", 60);
  oracle_zone(zone("Europe/London"), "2026-03-29T01:00:00Z", 40);
  oracle_zone(zone("Europe/London"), "2026-10-25T01:00:00Z", 40);
  oracle_zone(zone("Australia/Lord_Howe"), "2026-10-03T15:30:00Z", 40);
  oracle_zone(zone("Australia/Lord_Howe"), "2026-04-04T15:00:00Z", 40);
  oracle_zone(zone("America/New_York"), "2050-03-13T07:00:00Z", 20);
  oracle_zone(zone("UTC"), "2026-06-01T00:00:00Z", 20);
}

/* POSIX zones (via $TZ) with shifts real zones do not have today: 3
 * minutes (everything skipped runs at the jump) and 4 hours (nothing
 * skipped runs; everything repeated runs twice). */
static void test_oracle_odd_shifts(void **state) {
  (void)state;
  const roster_tz *z;
  setenv("TZ", "AAA0BBB-0:03,M3.5.0/1,M10.5.0/1", 1);
  assert_ok(roster_tz_local(&z));
  oracle_zone(z, "2026-03-29T01:00:00Z", 60);
  oracle_zone(z, "2026-10-25T01:00:00Z", 60);
  /* the skipped minutes 01:00-01:02 of a per-minute job run once, at the
   * jump, which is also 01:03 */
  roster_cron *c;
  assert_ok(roster_cron_parse("* * * * *", &c, NULL));
  int64_t t;
  char buf[40];
  assert_ok(roster_cron_next(c, at("2026-03-29T00:59:00Z"), z, &t));
  roster_tz_format(z, t, buf, sizeof buf);
  assert_string_equal(buf, "2026-03-29T01:03:00+00:03");
  assert_ok(roster_cron_next(c, t, z, &t));
  roster_tz_format(z, t, buf, sizeof buf);
  assert_string_equal(buf, "2026-03-29T01:04:00+00:03");
  roster_cron_free(c);

  setenv("TZ", "AAA0BBB-4,M3.5.0/1,M10.5.0/1", 1);
  assert_ok(roster_tz_local(&z));
  oracle_zone(z, "2026-03-29T01:00:00Z", 60);
  oracle_zone(z, "2026-10-25T01:00:00Z", 60);
  /* a fixed-time job in a 4-hour jump (01:00 -> 05:00) is skipped; in a
   * 4-hour repeat (01:00 -> 21:00 the day before) it runs twice */
  assert_ok(roster_cron_parse("30 2 * * *", &c, NULL));
  assert_ok(roster_cron_next(c, at("2026-03-28T12:00:00Z"), z, &t));
  roster_tz_format(z, t, buf, sizeof buf);
  assert_string_equal(buf, "2026-03-30T02:30:00+04:00");
  roster_cron_free(c);
  assert_ok(roster_cron_parse("30 22 * * *", &c, NULL));
  assert_ok(roster_cron_next(c, at("2026-10-24T12:00:00Z"), z, &t));
  roster_tz_format(z, t, buf, sizeof buf);
  assert_string_equal(buf, "2026-10-24T22:30:00+04:00");
  assert_ok(roster_cron_next(c, t, z, &t));
  roster_tz_format(z, t, buf, sizeof buf);
  assert_string_equal(buf, "2026-10-24T22:30:00+00:00");
  roster_cron_free(c);
  unsetenv("TZ");
}

/* next and prev agree everywhere: prev(next(t)) <= t < next(t), and
 * next(prev(f)) == f for a fire time f. */
static void test_next_prev_agree(void **state) {
  (void)state;
  const char *zones[] = {"America/New_York", "Europe/London",
                         "Australia/Lord_Howe", "Asia/Kolkata", "UTC"};
  for (size_t zi = 0; zi < 5; zi++) {
    const roster_tz *z = zone(zones[zi]);
    for (int i = 0; i < 300; i++) {
      char m[32], h[32], dom[32], dow[32], expr[160];
      rand_field(m, sizeof m, 0, 59, true);
      rand_field(h, sizeof h, 0, 23, true);
      rand_field(dom, sizeof dom, 1, 31, true);
      rand_field(dow, sizeof dow, 0, 7, true);
      snprintf(expr, sizeof expr, "%s %s %s * %s", m, h, dom, dow);
      roster_cron *c;
      assert_ok(roster_cron_parse(expr, &c, NULL));
      int64_t t = at("2020-01-01T00:00:00Z") + (int64_t)rnd(400000000u);
      int64_t f, p, f2;
      assert_ok(roster_cron_next(c, t, z, &f));
      assert_true(f > t);
      assert_ok(roster_cron_prev(c, f, z, &p));
      assert_true(p <= t);
      assert_ok(roster_cron_next(c, p, z, &f2));
      if (f2 != f) {
        print_error("'%s' in %s: next(prev(next(%lld))) = %lld, not %lld\n",
                    expr, zones[zi], (long long)t, (long long)f2, (long long)f);
        fail();
      }
      roster_cron_free(c);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tables),
      cmocka_unit_test(test_never_and_range),
      cmocka_unit_test(test_oracle_real_zones),
      cmocka_unit_test(test_oracle_odd_shifts),
      cmocka_unit_test(test_next_prev_agree),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
