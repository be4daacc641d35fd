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
 * the DST rule literally, gives. The same predicate, listed over windows
 * (fire_list), checks both ends of the supported range, every zone of the
 * system's database around its transitions, and zones whose transitions
 * come closer together than their shifts, with the invariants that tie
 * next and prev together (check_probe).
 */
#include "testutil.h"

#include <stdlib.h>
#include <unistd.h>

#include "cron/cron_impl.h"
#include "cron_testutil.h"
#include "tzif_testutil.h"

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
  const roster_tz *z = cron_zone(s->tz);
  roster_cron *c;
  assert_ok(roster_cron_parse(s->expr, &c, NULL));
  int64_t t = cron_at(s->from), prev = t;
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
  const roster_tz *ny = cron_zone("America/New_York");
  assert_rc(roster_cron_next(c, cron_at("2026-01-01T00:00:00Z"), ny, &out),
            ROSTER_ENOENT);
  assert_contains(roster_last_error(), "before the year 10000");
  assert_contains(roster_last_error(), "America/New_York");
  /* ...but it fired before the 2007 rule change, and fires in UTC */
  assert_ok(roster_cron_prev(c, cron_at("2026-01-01T00:00:00Z"), ny, &out));
  char buf[ROSTER_TIME_STR_MAX];
  roster_tz_format(ny, out, buf, sizeof buf);
  assert_string_equal(buf, "2006-03-12T02:55:00-05:00");
  assert_ok(roster_cron_next(c, cron_at("2026-01-01T00:00:00Z"), NULL, &out));
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
  assert_ok(roster_cron_next(c, cron_at("1900-02-28T23:59:30Z"), NULL, &out));
  assert_int_equal(out, cron_at("1900-03-01T00:00:00Z"));
  roster_cron_free(c);
}

/* ---- the brute-force oracle ---------------------------------------- */

static bool match_local(const roster_cron *c, int64_t L) {
  int64_t days = L / RC_DAY - (L % RC_DAY < 0), sod = L - days * RC_DAY, y;
  unsigned m, d;
  roster__cron_civil_from_days(days, &y, &m, &d);
  unsigned wd = roster__cron_weekday(days);
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
  roster__cron_tz_span(z, t, &s);
  int64_t L = t + s.off;
  bool second = false;
  int64_t shift = 0;
  if (s.start != INT64_MIN) {
    roster__cron_tz_span(z, s.start - 1, &p);
    if (p.off > s.off && t < s.start + (p.off - s.off)) {
      second = true;
      shift = p.off - s.off;
    }
    if (t == s.start && p.off < s.off) { /* a jump: its skipped times */
      int64_t g = s.off - p.off;
      bool fires = g < 300 || (g <= 3 * 3600 && !rc_wildcard(c));
      /* the skipped local times on a whole step (an offset with seconds
       * puts the first one off the step), within the supported range */
      int64_t l = s.start + p.off, r = l % step;
      l += r == 0 ? 0 : r < 0 ? -r : step - r;
      for (; fires && l < s.start + s.off; l += step)
        if (l >= RC_T_MIN && match_local(c, l))
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
  int64_t center = cron_at(around);
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
  oracle_zone(cron_zone("America/New_York"), "2026-03-08T07:00:00Z", 60);
  oracle_zone(cron_zone("America/New_York"), "2026-11-01T06:00:00Z", 60);
  oracle_zone(cron_zone("Europe/London"), "2026-03-29T01:00:00Z", 40);
  oracle_zone(cron_zone("Europe/London"), "2026-10-25T01:00:00Z", 40);
  oracle_zone(cron_zone("Australia/Lord_Howe"), "2026-10-03T15:30:00Z", 40);
  oracle_zone(cron_zone("Australia/Lord_Howe"), "2026-04-04T15:00:00Z", 40);
  oracle_zone(cron_zone("America/New_York"), "2050-03-13T07:00:00Z", 20);
  oracle_zone(cron_zone("UTC"), "2026-06-01T00:00:00Z", 20);
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
  assert_ok(roster_cron_next(c, cron_at("2026-03-29T00:59:00Z"), z, &t));
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
  assert_ok(roster_cron_next(c, cron_at("2026-03-28T12:00:00Z"), z, &t));
  roster_tz_format(z, t, buf, sizeof buf);
  assert_string_equal(buf, "2026-03-30T02:30:00+04:00");
  roster_cron_free(c);
  assert_ok(roster_cron_parse("30 22 * * *", &c, NULL));
  assert_ok(roster_cron_next(c, cron_at("2026-10-24T12:00:00Z"), z, &t));
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
    const roster_tz *z = cron_zone(zones[zi]);
    for (int i = 0; i < 300; i++) {
      char m[32], h[32], dom[32], dow[32], expr[160];
      rand_field(m, sizeof m, 0, 59, true);
      rand_field(h, sizeof h, 0, 23, true);
      rand_field(dom, sizeof dom, 1, 31, true);
      rand_field(dow, sizeof dow, 0, 7, true);
      snprintf(expr, sizeof expr, "%s %s %s * %s", m, h, dom, dow);
      roster_cron *c;
      assert_ok(roster_cron_parse(expr, &c, NULL));
      int64_t t = cron_at("2020-01-01T00:00:00Z") + (int64_t)rnd(400000000u);
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

/* ---- the predicate over a window ----------------------------------- */

/* fires_in_range: brute_fires within the supported range: a fire time's
 * instant and its local time both lie in the years 1 to 9999 (and the
 * local time a skipped match had, for a fire at a jump). */
static bool fires_in_range(const roster_cron *c, const roster_tz *z, int64_t t,
                           int64_t step) {
  if (t < RC_T_MIN || t > RC_T_MAX)
    return false;
  int64_t L = t + roster_tz_offset(z, t);
  if (L < RC_T_MIN || L > RC_T_MAX)
    return false;
  return brute_fires(c, z, t, step);
}

#define FIRES_MAX 20000

/* fire_list stores every fire time in [lo, hi], ascending, by the predicate.
 * Only two kinds of instants can fire: the start of a span (a jump), and an
 * instant whose local time is on a whole step (a minute, or a second for a
 * six-field expression), so those are the ones tried. */
static size_t fire_list(const roster_cron *c, const roster_tz *z, int64_t lo,
                        int64_t hi, int64_t step, int64_t *out) {
  size_t n = 0;
  int64_t t = lo;
  while (t <= hi) {
    rc_span s;
    roster__cron_tz_span(z, t, &s);
    int64_t end = s.end == INT64_MAX || s.end > hi ? hi + 1 : s.end;
    int64_t L = t + s.off, r = L % step;
    int64_t u = t + (r == 0 ? 0 : r < 0 ? -r : step - r);
    if (s.start == t && u != t && fires_in_range(c, z, t, step)) {
      assert_true(n < FIRES_MAX);
      out[n++] = t;
    }
    for (; u < end; u += step)
      if (fires_in_range(c, z, u, step)) {
        assert_true(n < FIRES_MAX);
        out[n++] = u;
      }
    t = end;
  }
  return n;
}

static void fmt_time(const roster_tz *z, int64_t t, char *buf, size_t cap) {
  char loc[ROSTER_TIME_STR_MAX], utc[ROSTER_TIME_STR_MAX];
  if (roster_tz_format(z, t, loc, sizeof loc) != ROSTER_OK)
    snprintf(loc, sizeof loc, "(no local time)");
  if (roster_tz_format(NULL, t, utc, sizeof utc) != ROSTER_OK)
    snprintf(utc, sizeof utc, "(out of range)");
  snprintf(buf, cap, "%lld = %s = %s", (long long)t, loc, utc);
}

static void window_fail(const char *what, const roster_cron *c,
                        const roster_tz *z, int64_t t, int64_t got, int grc,
                        int64_t want, bool has_want) {
  char a[128], b[128], f[128];
  fmt_time(z, t, f, sizeof f);
  if (grc == ROSTER_OK)
    fmt_time(z, got, a, sizeof a);
  else
    snprintf(a, sizeof a, "%s (%s)", roster_err_name(grc), roster_last_error());
  if (has_want)
    fmt_time(z, want, b, sizeof b);
  else
    snprintf(b, sizeof b, "none");
  print_error("'%s' in %s: %s(%s)\n  got  %s\n  want %s\n", roster_cron_text(c),
              roster_tz_name(z), what, f, a, b);
  fail();
}

/* check_probe compares next(t) and prev(t) with the fire times of the
 * window [lo, hi] (list[0..n)), where the window decides them: next's
 * answer is the first listed time after t, or, if there is none, later
 * than hi (ROSTER_ENOENT when hi reaches past the supported range); prev
 * likewise. Then the invariants that hold for any t, whatever the window:
 *   next: n = next(t) > t is a fire time: prev(n + 1) == n, and no fire
 *         time lies between t and n: prev(n) <= t;
 *   prev: p = prev(t) < t is a fire time: next(p - 1) == p, and
 *         next(p) >= t;
 *   every fire time has a local time in the years 1 to 9999 (it formats). */
static void check_probe(const roster_cron *c, const roster_tz *z, int64_t lo,
                        int64_t hi, const int64_t *list, size_t n, int64_t t) {
  char buf[ROSTER_TIME_STR_MAX];
  if (t >= RC_T_MIN && t <= RC_T_MAX) {
    size_t i = 0;
    while (i < n && list[i] <= t)
      i++;
    int64_t got = 0;
    int rc = roster_cron_next(c, t, z, &got);
    if (t >= lo) {
      if (i < n) {
        if (rc != ROSTER_OK || got != list[i])
          window_fail("next", c, z, t, got, rc, list[i], true);
      } else if (hi >= RC_T_MAX) {
        if (rc != ROSTER_ENOENT)
          window_fail("next", c, z, t, got, rc, 0, false);
      } else if (rc == ROSTER_OK && got <= hi) {
        window_fail("next", c, z, t, got, rc, 0, false);
      }
    }
    if (rc == ROSTER_OK) {
      int64_t p;
      if (got <= t || roster_tz_format(z, got, buf, sizeof buf) != ROSTER_OK)
        window_fail("next (a fire time in range)", c, z, t, got, rc, 0, false);
      int prc = roster_cron_prev(c, got + 1, z, &p);
      if (prc != ROSTER_OK || p != got)
        window_fail("prev(next(t) + 1)", c, z, t, p, prc, got, true);
      prc = roster_cron_prev(c, got, z, &p);
      if (prc == ROSTER_OK && p > t)
        window_fail("prev(next(t)) <= t", c, z, t, p, prc, t, true);
    } else if (rc != ROSTER_ENOENT) {
      window_fail("next", c, z, t, got, rc, 0, false);
    }
  }
  if (t >= RC_T_MIN && t <= RC_T_MAX + 1) {
    size_t i = n;
    while (i > 0 && list[i - 1] >= t)
      i--;
    int64_t got = 0;
    int rc = roster_cron_prev(c, t, z, &got);
    if (t <= hi + 1) {
      if (i > 0) {
        if (rc != ROSTER_OK || got != list[i - 1])
          window_fail("prev", c, z, t, got, rc, list[i - 1], true);
      } else if (lo <= RC_T_MIN) {
        if (rc != ROSTER_ENOENT)
          window_fail("prev", c, z, t, got, rc, 0, false);
      } else if (rc == ROSTER_OK && got >= lo) {
        window_fail("prev", c, z, t, got, rc, 0, false);
      }
    }
    if (rc == ROSTER_OK) {
      int64_t f;
      if (got >= t || roster_tz_format(z, got, buf, sizeof buf) != ROSTER_OK)
        window_fail("prev (a fire time in range)", c, z, t, got, rc, 0, false);
      int frc = ROSTER_OK;
      if (got > RC_T_MIN) {
        frc = roster_cron_next(c, got - 1, z, &f);
        if (frc != ROSTER_OK || f != got)
          window_fail("next(prev(t) - 1)", c, z, t, f, frc, got, true);
      }
      frc = roster_cron_next(c, got, z, &f);
      if (frc == ROSTER_OK ? f < t : frc != ROSTER_ENOENT)
        window_fail("next(prev(t)) >= t", c, z, t, f, frc, t, true);
    } else if (rc != ROSTER_ENOENT) {
      window_fail("prev", c, z, t, got, rc, 0, false);
    }
  }
}

static int64_t fires[FIRES_MAX];

/* check_window lists the fire times of expr in [lo, hi] and probes next and
 * prev every `every` seconds from lo to hi, and one second either side of
 * and at: each span start, the two fire times around it, and the other
 * fire times (every one of up to `most`, else `most` spread evenly). */
static void check_window(const char *expr, const roster_tz *z, int64_t lo,
                         int64_t hi, int64_t every, size_t most) {
  roster_cron *c;
  assert_ok(roster_cron_parse(expr, &c, NULL));
  int64_t step = (c->flags & RC_SECONDS) ? 1 : 60;
  size_t n = fire_list(c, z, lo, hi, step, fires);
  for (int64_t t = lo; t <= hi; t += every)
    check_probe(c, z, lo, hi, fires, n, t);
  size_t stride = n > most ? n / most : 1;
  for (size_t i = 0; i < n; i += stride)
    for (int64_t d = -1; d <= 1; d++)
      check_probe(c, z, lo, hi, fires, n, fires[i] + d);
  size_t i = 0;
  for (int64_t t = lo; t <= hi;) {
    rc_span s;
    roster__cron_tz_span(z, t, &s);
    if (s.end == INT64_MAX || s.end > hi)
      break;
    while (i < n && fires[i] < s.end)
      i++;
    for (int64_t d = -1; d <= 1; d++) {
      check_probe(c, z, lo, hi, fires, n, s.end + d);
      if (i > 0)
        check_probe(c, z, lo, hi, fires, n, fires[i - 1] + d);
      if (i < n)
        check_probe(c, z, lo, hi, fires, n, fires[i] + d);
    }
    t = s.end;
  }
  roster_cron_free(c);
}

/* ---- the ends of the range ----------------------------------------- */

static const char *const sweep_exprs[] = {
    "* * * * *",   "0 * * * *",  "30 2 * * *", "0 0 1 1 *",
    "*/7 * * * *", "0 0 29 2 *", "@hourly",    "@daily"};
#define SWEEP_EXPRS (sizeof sweep_exprs / sizeof sweep_exprs[0])

static const roster_tz *posix_zone(const char *tzs) {
  const roster_tz *z;
  setenv("TZ", tzs, 1);
  int rc = roster_tz_local(&z);
  unsetenv("TZ");
  assert_ok(rc);
  return z;
}

/* Fire times near 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the
 * instant and its local time both stay in the years 1 to 9999, in next and
 * prev alike, in zones whose offsets then are local mean time (with
 * seconds), ahead by 14 hours, or a POSIX rule whose transitions fall on
 * New Year. */
static void test_range_ends(void **state) {
  (void)state;
  const roster_tz *zs[] = {
      cron_zone("UTC"),
      cron_zone("America/New_York"),    /* -4:56:02 */
      cron_zone("Australia/Lord_Howe"), /* +10:36:20, and 30-minute DST later */
      cron_zone("Pacific/Kiritimati"),  /* +14 at the end */
      cron_zone("Africa/Monrovia"),     /* -0:43:08 */
      cron_zone("Europe/Amsterdam"),    /* +0:19:32 */
      cron_zone("Asia/Manila"),         /* -15:56:00 */
      cron_zone("Pacific/Apia"),
      /* DST from 23:00 on New Year's Eve to 24:00 on the 31st: the
       * transitions an hour apart shift by two hours */
      posix_zone("<+14>-14<+16>-16,J1/-1,J365/24"),
      posix_zone("<-12>12<-10>10,J1/-1,J365/24"),
  };
  const char *secs[] = {"* * * * * *", "*/10 * * * * *", "59 59 23 31 12 *",
                        "0 0 0 1 1 *"};
  for (size_t zi = 0; zi < sizeof zs / sizeof zs[0]; zi++) {
    const roster_tz *z = zs[zi];
    for (size_t e = 0; e < SWEEP_EXPRS; e++) {
      check_window(sweep_exprs[e], z, RC_T_MIN - 2 * RC_DAY,
                   RC_T_MIN + 3 * RC_DAY, 601, 48);
      check_window(sweep_exprs[e], z, RC_T_MAX - 3 * RC_DAY,
                   RC_T_MAX + 2 * RC_DAY, 601, 48);
    }
    check_window("59 23 31 12 *", z, RC_T_MAX - 3 * RC_DAY,
                 RC_T_MAX + 2 * RC_DAY, 601, 48);
    /* to the second, where the local time crosses into the range */
    int64_t in = RC_T_MIN - roster_tz_offset(z, RC_T_MIN);
    int64_t out = RC_T_MAX - roster_tz_offset(z, RC_T_MAX);
    for (size_t e = 0; e < sizeof secs / sizeof secs[0]; e++) {
      check_window(secs[e], z, in - 300, in + 300, 7, 48);
      check_window(secs[e], z, RC_T_MIN - 300, RC_T_MIN + 300, 7, 48);
      check_window(secs[e], z, out - 300, out + 300, 7, 48);
      check_window(secs[e], z, RC_T_MAX - 300, RC_T_MAX + 300, 7, 48);
    }
  }

  /* the cases that were reported */
  roster_cron *c;
  int64_t t;
  char buf[ROSTER_TIME_STR_MAX];
  const roster_tz *ny = cron_zone("America/New_York");
  assert_ok(roster_cron_parse("@hourly", &c, NULL));
  assert_ok(roster_cron_next(c, cron_at("0001-01-01T00:00:30Z"), ny, &t));
  assert_ok(roster_tz_format(ny, t, buf, sizeof buf));
  assert_string_equal(buf, "0001-01-01T00:00:00-04:56:02");
  int64_t p;
  assert_ok(roster_cron_next(c, t, ny, &t));
  assert_ok(roster_cron_prev(c, t, ny, &p));
  assert_int_equal(p, cron_at("0001-01-01T04:56:02Z"));
  /* Lord Howe's year 1 begins at 0001-01-01T10:36:20 local: nothing fires
   * before the range, and the first hour fires at 11:00 */
  const roster_tz *lh = cron_zone("Australia/Lord_Howe");
  assert_rc(roster_cron_prev(c, RC_T_MIN + 30, lh, &t), ROSTER_ENOENT);
  assert_contains(roster_last_error(), "after the year 1");
  assert_ok(roster_cron_next(c, RC_T_MIN, lh, &t));
  assert_ok(roster_tz_format(lh, t, buf, sizeof buf));
  assert_string_equal(buf, "0001-01-01T11:00:00+10:36:20");
  assert_rc(roster_cron_prev(c, t, lh, &p), ROSTER_ENOENT);
  /* Kiritimati reaches the year 10000 at 9999-12-31T10:00:00Z */
  const roster_tz *kt = cron_zone("Pacific/Kiritimati");
  assert_ok(roster_cron_prev(c, RC_T_MAX + 1, kt, &t));
  assert_ok(roster_tz_format(kt, t, buf, sizeof buf));
  assert_string_equal(buf, "9999-12-31T23:00:00+14:00");
  assert_rc(roster_cron_next(c, t, kt, &p), ROSTER_ENOENT);
  assert_contains(roster_last_error(), "before the year 10000");
  roster_cron_free(c);
}

/* ---- centuries without a fire time --------------------------------- */

/* Past a zone's last transition its fire times repeat every 400 years, so
 * a search that finds none in 400 years stops (next), or goes on before
 * the rule took over (prev), rather than walk to the year 10000 or 1. */
static void test_no_fire_for_centuries(void **state) {
  (void)state;
  roster_cron *c;
  int64_t t, u;
  char buf[ROSTER_TIME_STR_MAX];
  /* 02:xx on the second Sunday of March: New York's skipped hour since
   * 2007, a wildcard job, so none after 2006 */
  assert_ok(roster_cron_parse("*/5 2 8-14 3 */7", &c, NULL));
  const roster_tz *ny = cron_zone("America/New_York");
  assert_ok(roster_cron_prev(c, RC_T_MAX + 1, ny, &t));
  assert_ok(roster_tz_format(ny, t, buf, sizeof buf));
  assert_string_equal(buf, "2006-03-12T02:55:00-05:00");
  assert_rc(roster_cron_next(c, cron_at("2007-01-01T00:00:00Z"), ny, &t),
            ROSTER_ENOENT);
  assert_ok(roster_cron_next(c, cron_at("2006-01-01T00:00:00Z"), ny, &t));
  assert_ok(roster_tz_format(ny, t, buf, sizeof buf));
  assert_string_equal(buf, "2006-03-12T02:00:00-05:00");
  /* a zone that is its rule alone: none in any year */
  const roster_tz *rule = posix_zone("EST5EDT,M3.2.0,M11.1.0");
  assert_rc(roster_cron_next(c, RC_T_MIN, rule, &t), ROSTER_ENOENT);
  assert_rc(roster_cron_prev(c, RC_T_MAX + 1, rule, &t), ROSTER_ENOENT);
  roster_cron_free(c);

  /* February 29 on a Sunday, where DST starts that day at 02:00: a
   * fixed-time job fires at the jump, 02:00Z, every 28 years or so (40
   * years over a century's end), five minutes before it would in UTC */
  const roster_tz *feb = posix_zone("AAA0BBB,M2.5.0/2,M10.5.0");
  assert_ok(roster_cron_parse("5 2 29 2 */7", &c, NULL));
  for (int64_t from = RC_T_MIN; from < RC_T_MAX; from += 86400LL * 36524) {
    int rc = roster_cron_next(c, from, NULL, &u);
    assert_rc(roster_cron_next(c, from, feb, &t), rc);
    if (rc == ROSTER_OK)
      assert_int_equal(t, u - 300);
    rc = roster_cron_prev(c, from + 1, NULL, &u);
    assert_rc(roster_cron_prev(c, from + 1, feb, &t), rc);
    if (rc == ROSTER_OK)
      assert_int_equal(t, u - 300);
  }
  assert_ok(roster_cron_prev(c, RC_T_MAX + 1, feb, &t));
  assert_ok(roster_tz_format(feb, t, buf, sizeof buf));
  assert_string_equal(buf, "9976-02-29T03:00:00+01:00");
  roster_cron_free(c);
  /* ...and a wildcard job never does */
  assert_ok(roster_cron_parse("*/5 2 29 2 */7", &c, NULL));
  assert_rc(roster_cron_next(c, RC_T_MIN, feb, &t), ROSTER_ENOENT);
  assert_rc(roster_cron_prev(c, RC_T_MAX + 1, feb, &t), ROSTER_ENOENT);
  roster_cron_free(c);
}

/* ---- every zone of the database ------------------------------------ */

/* sweep_zone checks the sweep expressions in windows of two hours either
 * side of some of z's transitions: the first and last ones, a few between,
 * every one closer to its neighbour than their offset changes, and a few
 * of its POSIX rule's (now and centuries ahead). */
static void sweep_zone(const roster_tz *z) {
  int64_t ts[64];
  size_t nt = 0;
  if (z->n > 0) {
    size_t pick[] = {0, 1, z->n / 3, z->n / 2, (2 * z->n) / 3, z->n - 1};
    for (size_t i = 0; i < sizeof pick / sizeof pick[0]; i++)
      if (pick[i] < z->n && (nt == 0 || ts[nt - 1] != z->at[pick[i]]))
        ts[nt++] = z->at[pick[i]];
    for (size_t i = 1; i < z->n && nt < 48; i++) {
      int64_t d = (int64_t)z->off[i] - z->off[i - 1];
      int64_t d0 = (int64_t)z->off[i - 1] - (i > 1 ? z->off[i - 2] : z->off0);
      int64_t gap = z->at[i] - z->at[i - 1];
      if (gap <= llabs(d) + 3600 || gap <= llabs(d0) + 3600)
        ts[nt++] = z->at[i];
    }
  }
  if (z->has_tail && z->tail.has_dst) {
    const char *when[] = {"2040-01-01T00:00:00Z", "2040-07-01T00:00:00Z",
                          "2399-01-01T00:00:00Z"};
    for (size_t i = 0; i < 3; i++) {
      rc_span s;
      roster__cron_tz_span(z, cron_at(when[i]), &s);
      ts[nt++] = s.end;
    }
  }
  for (size_t i = 0; i < nt; i++) {
    if (ts[i] - 3 * 3600 < RC_T_MIN || ts[i] + 3 * 3600 > RC_T_MAX)
      continue; /* test_range_ends covers those */
    for (size_t e = 0; e < SWEEP_EXPRS; e++)
      check_window(sweep_exprs[e], z, ts[i] - 2 * 3600, ts[i] + 2 * 3600, 1201,
                   12);
  }
}

/* test_zone_sweep: every zone of the system's database (links are the same
 * files), by the predicate, around its transitions. */
static void test_zone_sweep(void **state) {
  (void)state;
  if (access("/usr/share/zoneinfo/America/New_York", R_OK) != 0) {
    print_message("no tz database in /usr/share/zoneinfo: skipped\n");
    skip();
  }
  assert_true(cron_each_zone(sweep_zone) > 300);
}

/* ---- transitions closer together than their shifts ------------------ */

/* close_zone makes a zone from TZif bytes, as roster_tz_get would: nt
 * transitions at times[i] to the offset offs[idx[i]] (offs[0] before the
 * first), then the POSIX rule footer. The caller frees it with
 * roster__cron_tz_release. */
static roster_tz *close_zone(const int64_t *times, const uint8_t *idx,
                             size_t nt, const int32_t *offs, size_t ntypes,
                             const char *footer) {
  tzw w;
  make_tzif(&w, &(tzspec){2, nt, times, idx, ntypes, offs, 0, footer});
  roster_tz *z = roster_mem_calloc(1, sizeof *z);
  assert_non_null(z);
  z->name = roster_mem_strdup("Close");
  char why[160];
  if (!roster__cron_tzif_parse(w.b, w.n, z, why, sizeof why)) {
    print_error("synthetic zone: %s\n", why);
    fail();
  }
  return z;
}

/* Zones whose transitions come closer together than their offset changes
 * (a shift of two hours undone after thirty minutes, a jump back within a
 * jump forward, seconds in the offsets): next and prev give exactly the
 * fire times of the predicate, each transition applying the DST rule on
 * its own, and agree with each other. Hand-made ones first, then random
 * ones from a fixed seed. */
static void test_close_transitions(void **state) {
  (void)state;
  int64_t t0 = cron_at("2026-06-01T00:00:00Z");
  struct {
    size_t nt;
    int64_t times[8];
    uint8_t idx[8];
    size_t ntypes;
    int32_t offs[6];
    const char *footer;
  } hand[] = {
      /* +2 h for 30 minutes */
      {2, {t0, t0 + 1800}, {1, 0}, 2, {0, 7200}, ""},
      /* -2 h for 30 minutes */
      {2, {t0, t0 + 1800}, {1, 0}, 2, {7200, 0}, ""},
      /* +1 h, then -2 h after 20 minutes, then +3 h after 10 */
      {3, {t0, t0 + 1200, t0 + 1800}, {1, 2, 3}, 4, {0, 3600, -3600, 7200}, ""},
      /* a 3-minute and a 4-hour shift a minute apart, with seconds */
      {3, {t0, t0 + 60, t0 + 3600}, {1, 2, 0}, 3, {-17762, -17582, -3182}, ""},
      /* a 24-hour jump forward and back within an hour */
      {2, {t0, t0 + 3600}, {1, 0}, 2, {-36000, 50400}, ""},
  };
  const char *exprs[] = {"30 2 * * *", "*/20 * * * *", "15 0-3 * * *",
                         "0,30 * * * *", "*/5 1,23 * * *"};
  for (size_t h = 0; h < sizeof hand / sizeof hand[0]; h++) {
    roster_tz *z = close_zone(hand[h].times, hand[h].idx, hand[h].nt,
                              hand[h].offs, hand[h].ntypes, hand[h].footer);
    for (size_t e = 0; e < SWEEP_EXPRS; e++)
      check_window(sweep_exprs[e], z, t0 - RC_DAY, t0 + RC_DAY, 293, 48);
    for (size_t e = 0; e < sizeof exprs / sizeof exprs[0]; e++)
      check_window(exprs[e], z, t0 - RC_DAY, t0 + RC_DAY, 293, 48);
    roster__cron_tz_release(z);
  }

  /* POSIX rules whose two changes fall an hour apart with a two-hour
   * shift, at the end of a year and in March */
  const char *rules[] = {"<+14>-14<+16>-16,J1/-1,J365/24",
                         "AAA0BBB-2,M3.2.0/0,M3.2.0/1",
                         "AAA-2BBB0,M3.2.0/0,M3.2.0/23"};
  for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++) {
    const roster_tz *z = posix_zone(rules[r]);
    for (int y = 0; y < 2; y++) {
      rc_span s;
      roster__cron_tz_span(
          z, cron_at(y ? "2031-03-01T00:00:00Z" : "2030-12-20T00:00:00Z"), &s);
      for (size_t e = 0; e < SWEEP_EXPRS; e++)
        check_window(sweep_exprs[e], z, s.end - 12 * 3600, s.end + 12 * 3600,
                     293, 48);
      for (size_t e = 0; e < sizeof exprs / sizeof exprs[0]; e++)
        check_window(exprs[e], z, s.end - 12 * 3600, s.end + 12 * 3600, 293,
                     48);
    }
  }

  /* random zones: 2 to 7 transitions 1 second to 3 hours apart, offsets
   * from -25:59:59 to +25:59:59 (whole quarter hours mostly) */
  for (int k = 0; k < 150; k++) {
    size_t nt = 2 + rnd(6), ntypes = 2 + rnd(4);
    int64_t times[8];
    uint8_t idx[8];
    int32_t offs[6];
    for (size_t i = 0; i < ntypes; i++) {
      switch (rnd(4)) {
      case 0:
        offs[i] = (int32_t)rnd(2 * 93599 + 1) - 93599;
        break;
      default:
        offs[i] = ((int32_t)rnd(2 * 56 + 1) - 56) * 900;
      }
    }
    int64_t t = t0;
    uint8_t last = 0;
    for (size_t i = 0; i < nt; i++) {
      t += 1 + (rnd(3) == 0 ? rnd(60) : rnd(3 * 3600));
      times[i] = t;
      uint8_t x = (uint8_t)rnd((unsigned)ntypes);
      if (x == last)
        x = (uint8_t)((x + 1) % ntypes);
      idx[i] = last = x;
    }
    roster_tz *z = close_zone(times, idx, nt, offs, ntypes, "");
    char expr[128], m[32], hr[32];
    rand_field(m, sizeof m, 0, 59, true);
    rand_field(hr, sizeof hr, 0, 23, true);
    snprintf(expr, sizeof expr, "%s %s * * *", m, hr);
    check_window(expr, z, t0 - RC_DAY, t + RC_DAY, 293, 48);
    check_window(sweep_exprs[k % SWEEP_EXPRS], z, t0 - RC_DAY, t + RC_DAY, 293,
                 48);
    roster__cron_tz_release(z);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tables),
      cmocka_unit_test(test_never_and_range),
      cmocka_unit_test(test_oracle_real_zones),
      cmocka_unit_test(test_oracle_odd_shifts),
      cmocka_unit_test(test_next_prev_agree),
      cmocka_unit_test(test_range_ends),
      cmocka_unit_test(test_no_fire_for_centuries),
      cmocka_unit_test(test_zone_sweep),
      cmocka_unit_test(test_close_transitions),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
