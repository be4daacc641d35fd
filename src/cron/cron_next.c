/*
 * cron_next.c: fire times (roster_cron_next, roster_cron_prev).
 *
 * Two steps. First, a search in local civil time: from a starting second,
 * find the next (or previous) second whose month, day, hour, minute and
 * second bits are set, a field at a time with bit scans (a month's
 * allowed days are one precomputed mask per weekday of the 1st), so the
 * cost does not depend on how far away the answer is. Second, local times
 * become instants in the zone, with Vixie cron's DST rule:
 *
 *  - a local time a forward jump skipped fires at the jump's instant if
 *    the job is fixed-time (no '*' at the start of its minute or hour) and
 *    the jump is 5 minutes to 3 hours; every job does when the jump is
 *    shorter than 5 minutes; none when it is longer than 3 hours. Several
 *    skipped matches fire once (Vixie cron runs each one, at the same
 *    moment);
 *  - a repeated local time fires the first time through, and the second
 *    time too for a wildcard job (or any job when the repeat is longer
 *    than 3 hours).
 *
 * The search walks the zone's spans of one offset in time order (backwards
 * for prev). In a span the fire times are the instants whose local time
 * matches, less the repeated stretch after a jump back that the rule does
 * not repeat, and the span's start if it begins with a jump forward whose
 * skipped times hold a match that fires there. Each transition is judged
 * by itself, so a zone whose transitions come closer together than their
 * shifts (old or made-up zone files, POSIX rules) loses no fire time, and
 * next and prev walk one and the same set. A bound from the nearest local
 * match skips the spans that cannot hold one, and the 400-year cycle ends
 * a search past a zone's last transition.
 *
 * Fire times stay in the supported range (cron.h), both as instants and as
 * local times: 0001-01-01T00:00:00 to 9999-12-31T23:59:59.
 */
#include "cron_impl.h"

#include <limits.h>

/* ---- calendar ----------------------------------------------------- */

/* Howard Hinnant's days_from_civil / civil_from_days. */
int64_t roster__cron_days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

void roster__cron_civil_from_days(int64_t z, int64_t *y, unsigned *m,
                                  unsigned *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

unsigned roster__cron_weekday(int64_t days) {
  int64_t w = (days + 4) % 7; /* 1970-01-01 was a Thursday */
  return (unsigned)(w < 0 ? w + 7 : w);
}

bool roster__cron_leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned roster__cron_mdays(int64_t y, unsigned m) {
  static const unsigned n[13] = {0,  31, 28, 31, 30, 31, 30,
                                 31, 31, 30, 31, 30, 31};
  return m == 2 && roster__cron_leap(y) ? 29 : n[m];
}

static int64_t floordiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* ---- local-time search -------------------------------------------- */

#define Y_MIN 1
#define Y_MAX 9999

/* mask_upto: bits 0..i set (i < 64). */
static uint64_t mask_upto(int i) {
  return i >= 63 ? ~(uint64_t)0 : ((uint64_t)2 << i) - 1;
}

/* next_local: the first local second >= L0 that matches. */
static bool next_local(const roster_cron *c, int64_t L0, int64_t *out) {
  int64_t days = floordiv(L0, RC_DAY), sod = L0 - days * RC_DAY;
  int64_t y;
  unsigned mo, d;
  roster__cron_civil_from_days(days, &y, &mo, &d);
  unsigned h = (unsigned)(sod / 3600), mi = (unsigned)(sod / 60 % 60),
           s = (unsigned)(sod % 60);
  for (;;) {
    if (y > Y_MAX)
      return false;
    uint32_t mm = mo <= 12 ? (uint32_t)c->month >> mo << mo : 0;
    if (!mm) {
      y++;
      mo = 1;
      d = 1;
      h = mi = s = 0;
      continue;
    }
    unsigned m2 = (unsigned)__builtin_ctz(mm);
    if (m2 != mo) {
      mo = m2;
      d = 1;
      h = mi = s = 0;
    }
    unsigned nd = roster__cron_mdays(y, mo);
    int64_t first = roster__cron_days_from_civil(y, mo, 1);
    uint32_t dm =
        c->days[roster__cron_weekday(first)] & (uint32_t)mask_upto((int)nd);
    dm = d <= 31 ? dm >> d << d : 0;
    if (!dm) {
      mo++;
      d = 1;
      h = mi = s = 0;
      continue;
    }
    unsigned d2 = (unsigned)__builtin_ctz(dm);
    if (d2 != d) {
      d = d2;
      h = mi = s = 0;
    }
    uint32_t hm = h < 24 ? c->hour >> h << h : 0;
    if (!hm) {
      d++;
      h = mi = s = 0;
      continue;
    }
    unsigned h2 = (unsigned)__builtin_ctz(hm);
    if (h2 != h) {
      h = h2;
      mi = s = 0;
    }
    uint64_t nm = mi < 60 ? c->min >> mi << mi : 0;
    if (!nm) {
      h++;
      mi = s = 0;
      continue;
    }
    unsigned mi2 = (unsigned)__builtin_ctzll(nm);
    if (mi2 != mi) {
      mi = mi2;
      s = 0;
    }
    uint64_t sm = s < 60 ? c->sec >> s << s : 0;
    if (!sm) {
      mi++;
      s = 0;
      continue;
    }
    s = (unsigned)__builtin_ctzll(sm);
    *out = (first + d - 1) * RC_DAY + h * 3600 + mi * 60 + s;
    return true;
  }
}

/* prev_local: the last local second <= L0 that matches. */
static bool prev_local(const roster_cron *c, int64_t L0, int64_t *out) {
  int64_t days = floordiv(L0, RC_DAY), sod = L0 - days * RC_DAY;
  int64_t y;
  unsigned um, ud;
  roster__cron_civil_from_days(days, &y, &um, &ud);
  int mo = (int)um, d = (int)ud;
  int h = (int)(sod / 3600), mi = (int)(sod / 60 % 60), s = (int)(sod % 60);
  for (;;) {
    if (y < Y_MIN)
      return false;
    uint32_t mm = mo >= 1 ? c->month & (uint32_t)mask_upto(mo) : 0;
    if (!mm) {
      y--;
      mo = 12;
      d = 31;
      h = 23;
      mi = s = 59;
      continue;
    }
    int m2 = 31 - __builtin_clz(mm);
    if (m2 != mo) {
      mo = m2;
      d = 31;
      h = 23;
      mi = s = 59;
    }
    int nd = (int)roster__cron_mdays(y, (unsigned)mo);
    if (d > nd)
      d = nd; /* only after a month change, when h:mi:s is 23:59:59 */
    int64_t first = roster__cron_days_from_civil(y, (unsigned)mo, 1);
    uint32_t dm = d >= 1 ? c->days[roster__cron_weekday(first)] &
                               (uint32_t)mask_upto(d) & (uint32_t)mask_upto(nd)
                         : 0;
    if (!dm) {
      mo--;
      d = 31;
      h = 23;
      mi = s = 59;
      continue;
    }
    int d2 = 31 - __builtin_clz(dm);
    if (d2 != d) {
      d = d2;
      h = 23;
      mi = s = 59;
    }
    uint32_t hm = h >= 0 ? c->hour & (uint32_t)mask_upto(h) : 0;
    if (!hm) {
      d--;
      h = 23;
      mi = s = 59;
      continue;
    }
    int h2 = 31 - __builtin_clz(hm);
    if (h2 != h) {
      h = h2;
      mi = s = 59;
    }
    uint64_t nm = mi >= 0 ? c->min & mask_upto(mi) : 0;
    if (!nm) {
      h--;
      mi = s = 59;
      continue;
    }
    int mi2 = 63 - __builtin_clzll(nm);
    if (mi2 != mi) {
      mi = mi2;
      s = 59;
    }
    uint64_t sm = s >= 0 ? c->sec & mask_upto(s) : 0;
    if (!sm) {
      mi--;
      s = 59;
      continue;
    }
    s = 63 - __builtin_clzll(sm);
    *out = (first + d - 1) * RC_DAY + h * 3600 + mi * 60 + s;
    return true;
  }
}

/* ---- local time -> instants --------------------------------------- */

void roster__cron_local_map(const roster_tz *z, int64_t L, rc_map *m) {
  rc_span cur;
  roster__cron_tz_span(z, L - RC_OFF_MAX, &cur);
  if (cur.end == INT64_MAX || cur.end > L + RC_OFF_MAX) {
    m->kind = RC_UNIQUE; /* no transition near: the common case */
    m->t1 = m->t2 = L - cur.off;
    m->shift = 0;
    m->lbeg = m->lend = L;
    return;
  }
  int nsol = 0;
  int64_t sol[2] = {0, 0};
  int32_t soloff[2] = {0, 0};
  int64_t solend = 0; /* the end of the first solution's span */
  bool gap = false;
  for (;;) {
    int64_t t = L - cur.off;
    if (t >= cur.start && t < cur.end) {
      if (nsol < 2) {
        sol[nsol] = t;
        soloff[nsol] = cur.off;
        if (nsol == 0)
          solend = cur.end;
      }
      nsol++;
    }
    if (cur.end == INT64_MAX || cur.end > L + RC_OFF_MAX)
      break;
    rc_span nx;
    roster__cron_tz_span(z, cur.end, &nx);
    if (nsol == 0 && !gap && nx.off > cur.off && L >= cur.end + cur.off &&
        L < cur.end + nx.off) {
      gap = true;
      m->t1 = m->t2 = cur.end;
      m->shift = nx.off - cur.off;
      m->lbeg = cur.end + cur.off;
      m->lend = cur.end + nx.off;
    }
    cur = nx;
  }
  if (nsol >= 2) {
    m->kind = RC_OVERLAP;
    m->t1 = sol[0];
    m->t2 = sol[1];
    m->shift = sol[1] - sol[0];
    m->lbeg = solend + soloff[1];
    m->lend = solend + soloff[0];
  } else if (nsol == 1) {
    m->kind = RC_UNIQUE;
    m->t1 = m->t2 = sol[0];
    m->shift = 0;
    m->lbeg = m->lend = L;
  } else if (gap) {
    m->kind = RC_GAP;
  } else { /* cannot happen with offsets within RC_OFF_MAX */
    m->kind = RC_UNIQUE;
    m->t1 = m->t2 = L - cur.off;
    m->shift = 0;
    m->lbeg = m->lend = L;
  }
}

/* ---- the DST rule ------------------------------------------------- */

#define SMALL_SHIFT (5 * 60)
#define LARGE_SHIFT (3 * 3600)

/* fires_in_gap: does a match at a skipped local time fire at the jump? */
static bool fires_in_gap(const roster_cron *c, int64_t shift) {
  if (shift < SMALL_SHIFT)
    return true;
  if (shift <= LARGE_SHIFT)
    return !rc_wildcard(c);
  return false;
}

/* fires_twice: does a match at a repeated local time fire again? */
static bool fires_twice(const roster_cron *c, int64_t shift) {
  return shift > LARGE_SHIFT || rc_wildcard(c);
}

/* fixed_offset: true (with the offset) if z never changes its offset. */
static bool fixed_offset(const roster_tz *z, int32_t *off) {
  if (!z) {
    *off = 0;
    return true;
  }
  if (z->n == 0 && (!z->has_tail || !z->tail.has_dst)) {
    *off = z->has_tail ? z->tail.std_off : z->off0;
    return true;
  }
  return false;
}

/* The supported local times are those of the supported instants: a fire
 * time's instant and its local time both lie in the years 1 to 9999. */
#define L_MIN RC_T_MIN
#define L_MAX RC_T_MAX

/* jump_fires: does span s, which begins with a jump forward from offset
 * po, fire at its start? Only if the DST rule fires the jump's skipped
 * matches, one of them is a supported local time, and so is the start's. */
static bool jump_fires(const roster_cron *c, const rc_span *s, int32_t po) {
  int64_t shift = (int64_t)s->off - po;
  if (shift <= 0 || !fires_in_gap(c, shift))
    return false;
  int64_t lb = s->start + po, le = s->start + s->off, L;
  if (lb < L_MIN)
    lb = L_MIN;
  return le <= L_MAX && lb < le && next_local(c, lb, &L) && L < le;
}

/* The Gregorian calendar repeats every 400 years, weekdays included, and
 * so do cron matches and a POSIX rule's transitions: past its explicit
 * transitions a zone's fire times repeat with the same period, and a
 * search that found none in a whole period never will. */
#define PERIOD (146097 * RC_DAY)

/* periodic_from: the instant from which z's spans, and the spans before
 * them, come from its POSIX rule alone (the span holding the last
 * transition is cut at it); INT64_MAX for a zone without a DST rule. */
static int64_t periodic_from(const roster_tz *z) {
  if (!z->has_tail || !z->tail.has_dst)
    return INT64_MAX;
  if (z->n == 0)
    return INT64_MIN;
  return z->at[z->n - 1] + 3 * 366 * RC_DAY; /* two rule changes later */
}

/* From here on a fire time is an instant t, in a span s = [S, E) of offset
 * o after a span p of offset po, that either
 *  - is S, s begins with a jump forward (po < o), and jump_fires; or
 *  - has a matching local time t + o, unless s begins with a jump back
 *    (po > o) the DST rule does not repeat and t is in its repeated
 *    stretch [S, S + po - o);
 * and that lies in the supported range, with its local time. Each span is
 * judged by its own start alone, even when the next transition comes
 * before the stretch a jump skipped or repeated is over. The search visits
 * the spans in order; a bound from the nearest match (offsets are below
 * RC_OFF_MAX) skips those that cannot hold a fire time. */

bool roster__cron_fire_after(const roster_cron *c, int64_t after,
                             const roster_tz *z, int64_t *out) {
  if (c->never)
    return false;
  int32_t off;
  if (fixed_offset(z, &off)) {
    int64_t L0 = after + off + 1, L;
    if (!next_local(c, L0 < L_MIN ? L_MIN : L0, &L) || L - off > RC_T_MAX)
      return false;
    *out = L - off;
    return true;
  }
  int64_t t0 = after + 1; /* the answer is >= t0: none in [after + 1, t0) */
  int64_t from = periodic_from(z);
  if (from < RC_T_MIN + 2 * RC_DAY)
    from = RC_T_MIN + 2 * RC_DAY; /* no fire time cut off by the range */
  if (from < after + 1)
    from = after + 1;
  for (;;) {
    if (t0 > RC_T_MAX)
      return false;
    /* a whole period with no fire time, away from the range's ends */
    if (from <= RC_T_MAX && t0 - from >= PERIOD && t0 <= RC_T_MAX - 2 * RC_DAY)
      return false;
    /* A fire time >= t0 has its match (its local time, or a skipped one)
     * at or after t0 - RC_OFF_MAX, so at or after M, and is itself after
     * M - RC_OFF_MAX. */
    int64_t M, L0 = t0 - RC_OFF_MAX;
    if (!next_local(c, L0 < L_MIN ? L_MIN : L0, &M))
      return false;
    int64_t t1 = M - RC_OFF_MAX < t0 ? t0 : M - RC_OFF_MAX;
    if (t1 > RC_T_MAX)
      return false;
    rc_span s;
    roster__cron_tz_span(z, t1, &s);
    int64_t lo = t1;
    if (s.start != INT64_MIN) {
      rc_span p;
      roster__cron_tz_span(z, s.start - 1, &p);
      if (s.start >= t0 && jump_fires(c, &s, p.off)) {
        *out = s.start;
        return true;
      }
      int64_t back = (int64_t)p.off - s.off;
      if (back > 0 && !fires_twice(c, back) && lo < s.start + back)
        lo = s.start + back;
    }
    int64_t L;
    if ((s.end == INT64_MAX || lo < s.end) &&
        next_local(c, lo + s.off < L_MIN ? L_MIN : lo + s.off, &L) &&
        (s.end == INT64_MAX || L - s.off < s.end)) {
      if (L - s.off > RC_T_MAX)
        return false;
      *out = L - s.off;
      return true;
    }
    if (s.end == INT64_MAX)
      return false;
    t0 = s.end;
  }
}

bool roster__cron_fire_before(const roster_cron *c, int64_t before,
                              const roster_tz *z, int64_t *out) {
  if (c->never)
    return false;
  int64_t x = before - 1; /* the answer is <= x */
  int32_t off;
  if (fixed_offset(z, &off)) {
    int64_t L0 = x + off, L;
    if (!prev_local(c, L0 > L_MAX ? L_MAX : L0, &L) || L - off < RC_T_MIN)
      return false;
    *out = L - off;
    return true;
  }
  int64_t from = periodic_from(z);
  for (;;) {
    if (x < RC_T_MIN)
      return false;
    /* none in (x, before - 1]: if that holds a whole period past `from`,
     * away from the range's ends, none is at or after `from` either */
    int64_t top =
        before - 1 < RC_T_MAX - 2 * RC_DAY ? before - 1 : RC_T_MAX - 2 * RC_DAY;
    if (x + 1 >= from && x >= RC_T_MIN + 2 * RC_DAY && top - x >= PERIOD) {
      if (from <= RC_T_MIN)
        return false;
      x = from - 1;
      from = INT64_MAX; /* once */
      continue;
    }
    /* A fire time <= x has its match before x + RC_OFF_MAX, so at or
     * before M, and is itself before M + RC_OFF_MAX. */
    int64_t M, L0 = x + RC_OFF_MAX;
    if (!prev_local(c, L0 > L_MAX ? L_MAX : L0, &M))
      return false;
    int64_t t1 = M + RC_OFF_MAX > x ? x : M + RC_OFF_MAX;
    if (t1 < RC_T_MIN)
      return false;
    rc_span s, p;
    roster__cron_tz_span(z, t1, &s);
    bool jump = s.start != INT64_MIN;
    int64_t lo = s.start;
    if (jump) {
      roster__cron_tz_span(z, s.start - 1, &p);
      int64_t back = (int64_t)p.off - s.off;
      if (back > 0 && !fires_twice(c, back))
        lo = s.start + back;
    }
    int64_t L;
    if (lo <= t1 &&
        prev_local(c, t1 + s.off > L_MAX ? L_MAX : t1 + s.off, &L) &&
        L - s.off >= lo) {
      if (L - s.off < RC_T_MIN)
        return false;
      *out = L - s.off;
      return true;
    }
    if (!jump)
      return false;
    if (jump_fires(c, &s, p.off)) {
      if (s.start < RC_T_MIN)
        return false;
      *out = s.start;
      return true;
    }
    x = s.start - 1;
  }
}

/* ---- public ------------------------------------------------------- */

static int never_error(const roster_cron *c, const roster_tz *z, bool next) {
  if (c->never)
    return roster_error_set(
        ROSTER_ENOENT,
        "cron expression '%s' never fires: none of its months has any of "
        "its days of the month",
        c->text);
  return roster_error_set(
      ROSTER_ENOENT, "cron expression '%s' has no fire time %s in %s", c->text,
      next ? "before the year 10000" : "after the year 1", roster_tz_name(z));
}

int roster_cron_next(const roster_cron *c, int64_t after, const roster_tz *tz,
                     int64_t *out) {
  if (!c || !out)
    return roster_error_set(ROSTER_EINVAL, "roster_cron_next: %s is NULL",
                            c ? "out" : "the expression");
  if (after < RC_T_MIN || after > RC_T_MAX)
    return roster_error_set(ROSTER_ERANGE,
                            "roster_cron_next: time %lld is outside the "
                            "years 1 to 9999",
                            (long long)after);
  if (!roster__cron_fire_after(c, after, tz, out))
    return never_error(c, tz, true);
  return ROSTER_OK;
}

int roster_cron_prev(const roster_cron *c, int64_t before, const roster_tz *tz,
                     int64_t *out) {
  if (!c || !out)
    return roster_error_set(ROSTER_EINVAL, "roster_cron_prev: %s is NULL",
                            c ? "out" : "the expression");
  if (before < RC_T_MIN || before > RC_T_MAX + 1)
    return roster_error_set(ROSTER_ERANGE,
                            "roster_cron_prev: time %lld is outside the "
                            "years 1 to 9999",
                            (long long)before);
  if (!roster__cron_fire_before(c, before, tz, out))
    return never_error(c, tz, false);
  return ROSTER_OK;
}
