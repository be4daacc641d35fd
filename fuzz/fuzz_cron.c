/*
 * fuzz_cron.c: cron expressions (roster_cron_parse) and their fire times
 * (roster_cron_next, roster_cron_prev) in UTC and in zones with unusual
 * DST: half-hour and 45-minute offsets, negative DST, skipped days, DST
 * at midnight, local mean time, POSIX TZ rules with 3-minute and 4-hour
 * jumps, and two made-up zones whose changes come closer together than
 * their size.
 *
 * Input: a header line, then the expression (up to a NUL). The header's
 * first byte picks the zone (byte % 35, in the order of zone_names, then
 * the two made-up zones: '#' is UTC, '$' New York, '%' Lord Howe); the
 * rest picks the start instant t: decimal Unix seconds, "min" or "max"
 * (the ends of the supported range), or "@K+D" / "@K-D": the K-th offset
 * change of the zone after 2000-01-01 (K <= 0: before it) plus D seconds.
 * Instants are clamped into the years 1 to 9999. Without a newline the
 * whole input is the expression, in UTC from 2026-01-01.
 *
 * Properties:
 *  - parse agrees with a reference parser written here from crontab(5)
 *    as docs/cron.md extends it (accepts the same texts, yields the same
 *    sets of seconds, minutes, hours, days, months and weekdays); a
 *    refusal names a column inside the text (or just past it), and its
 *    message and roster_last_error() are clean text (not empty, valid
 *    UTF-8, no control character);
 *  - n = next(t): n > t, n fires by the documented DST rule (a reference
 *    model here: the local time matches and it is not the second time
 *    through a stretch a backward jump repeats, or a second time the rule
 *    allows, or n is a forward jump that skipped a match the rule fires
 *    at the jump; each transition judged by the offsets either side of
 *    it; instant and local time in the years 1 to 9999), prev(n + 1) ==
 *    n, next(n - 1) == n, prev(n) <= t, and no instant in the 600 s after
 *    t or before n fires by the model; likewise for p = prev(t), where
 *    next(p - 1) is ROSTER_ERANGE for p at the start of the year 1;
 *    ENOENT from next (prev) means prev from the end (next from the
 *    start) finds nothing past t;
 *  - a fire time formats with roster_tz_format and the text parses back
 *    to the same instant.
 *
 * Inputs up to 1280 bytes: a header and an expression a little longer
 * than ROSTER_CRON_MAX (1024), so that the limit is crossed too.
 * fuzz-max-len: 1280
 */
#include "fuzz_util.h"

#include "cron/cron_impl.h"

#include <limits.h>
#include <strings.h>
#include <time.h>

/* ---- zones ----------------------------------------------------------- */

static const char *const zone_names[] = {
    NULL, /* UTC */
    "America/New_York",
    "Australia/Lord_Howe",
    "Europe/London",
    "Pacific/Chatham",
    "Asia/Tehran",
    "Europe/Dublin",
    "America/St_Johns",
    "Asia/Kolkata",
    "Pacific/Kiritimati",
    "Pacific/Apia",
    "America/Sao_Paulo",
    "Africa/Casablanca",
    "Antarctica/Troll",
    "America/Caracas",
    "Asia/Kathmandu",
    "Europe/Moscow",
    "Australia/Adelaide",
    "America/Havana",
    "Europe/Amsterdam",
    "Africa/Monrovia",
    "America/Santiago",
    "Asia/Gaza",
    "America/Scoresbysund",
    "Pacific/Kwajalein",
    "Asia/Manila",
    "America/Juneau",
    "UTC",
    /* POSIX TZ rules, through $TZ */
    "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
    "EST5EDT,M3.2.0,M11.1.0",
    "AAA0BBB-0:03,M3.5.0/1,M10.5.0/2",
    "AAA3BBB-1,M3.2.0,M11.1.0",
    "XXX-14YYY-15,J1/0,J365/25",
};
#define NZONES (sizeof zone_names / sizeof zone_names[0])
static const roster_tz *zones[NZONES + 2];

/* Two made-up zones whose changes are closer together than the changes
 * are large, as no real zone has them (yet): around 2026-01-01, +1 h for
 * half an hour, then -1:30 for ten minutes a day later; and six 20-minute
 * steps of +-1 h. */
static int64_t close_at[2][6] = {
    {1767225600, 1767227400, 1767312000, 1767312600},
    {1767225600, 1767226800, 1767228000, 1767229200, 1767230400, 1767231600}};
static int32_t close_off[2][6] = {{3600, 0, -5400, 0},
                                  {3600, 0, -3600, 3600, 0, -3600}};
_Static_assert(NZONES + 2 == 35, "the header comment says byte % 35");

static roster_tz close_zones[2] = {{.name = (char *)"made-up/close-1",
                                    .n = 4,
                                    .at = close_at[0],
                                    .off = close_off[0]},
                                   {.name = (char *)"made-up/close-2",
                                    .n = 6,
                                    .at = close_at[1],
                                    .off = close_off[1]}};
static size_t nzones;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  zones[nzones++] = NULL;
  for (size_t i = 1; i < NZONES; i++) {
    const roster_tz *z = NULL;
    int rc;
    if (strchr(zone_names[i], ','))
      rc = fuzz_tz_local(zone_names[i], &z);
    else
      rc = roster_tz_get(zone_names[i], &z);
    /* a zone missing from this tzdata stays NULL (UTC): the indexes of
     * the others do not move */
    zones[nzones++] = rc == ROSTER_OK ? z : NULL;
  }
  zones[nzones++] = &close_zones[0];
  zones[nzones++] = &close_zones[1];
  return 0;
}

/* ---- the reference parser ------------------------------------------- */

typedef struct rcron {
  uint64_t bits[6]; /* second minute hour dom month dow (7 folded to 0) */
  bool star[6];     /* the field starts with '*' */
  bool wildcard;    /* minute or hour starts with '*' */
} rcron;

enum { SEC, MIN, HOUR, DOM, MON, DOW };
static const int lo_[6] = {0, 0, 0, 1, 1, 0}, hi_[6] = {59, 59, 23, 31, 12, 7};

static bool blank(char c) { return c == ' ' || c == '\t'; }
static bool digit(char c) { return c >= '0' && c <= '9'; }
static bool alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* value reads a number or a name of field f at *p (before end). */
static bool value(int f, const char **p, const char *end, int *out) {
  static const char *const mon[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                    "jul", "aug", "sep", "oct", "nov", "dec"};
  static const char *const dow[] = {"sun", "mon", "tue", "wed",
                                    "thu", "fri", "sat"};
  const char *s = *p;
  if (s < end && digit(*s)) {
    long v = 0;
    while (s < end && digit(*s)) {
      v = v * 10 + (*s++ - '0');
      if (v > 1000000)
        v = 1000000;
    }
    if (v < lo_[f] || v > hi_[f])
      return false;
    *out = (int)v;
    *p = s;
    return true;
  }
  const char *a = s;
  while (s < end && alpha(*s))
    s++;
  if (s - a != 3 || (f != MON && f != DOW))
    return false;
  char w[4] = {(char)(a[0] | 0x20), (char)(a[1] | 0x20), (char)(a[2] | 0x20),
               0};
  for (int i = 0; i < (f == MON ? 12 : 7); i++)
    if (strcmp(w, f == MON ? mon[i] : dow[i]) == 0) {
      *out = f == MON ? i + 1 : i;
      *p = s;
      return true;
    }
  return false;
}

static bool step(const char **p, const char *end, int *out) {
  const char *s = *p;
  if (s >= end || !digit(*s))
    return false;
  long v = 0;
  while (s < end && digit(*s)) {
    v = v * 10 + (*s++ - '0');
    if (v > 1000000)
      v = 1000000;
  }
  if (v < 1 || v > 9999)
    return false;
  *out = (int)v;
  *p = s;
  return true;
}

/* field parses [s, end) as a list for field f. */
static bool field(int f, const char *s, const char *end, uint64_t *bits) {
  uint64_t b = 0;
  for (;;) {
    int a, z, st = 1;
    if (s < end && *s == '*') {
      a = lo_[f];
      z = hi_[f];
      s++;
      if (s < end && *s == '/' && (s++, !step(&s, end, &st)))
        return false;
    } else {
      if (!value(f, &s, end, &a))
        return false;
      z = a;
      if (s < end && *s == '-') {
        s++;
        if (!value(f, &s, end, &z) || a > z)
          return false;
        if (s < end && *s == '/' && (s++, !step(&s, end, &st)))
          return false;
      } else if (s < end && *s == '/') {
        s++;
        z = hi_[f];
        if (!step(&s, end, &st))
          return false;
      }
    }
    for (int v = a; v <= z; v += st)
      b |= 1ull << v;
    if (s == end)
      break;
    if (*s != ',' || ++s == end)
      return false;
  }
  if (f == DOW && (b >> 7 & 1))
    b = (b | 1) & 0x7f;
  *bits = b;
  return true;
}

static bool fields(const char *s, const char *end, rcron *r) {
  const char *fs[7], *fe[7];
  int n = 0;
  while (s < end) {
    while (s < end && blank(*s))
      s++;
    if (s == end)
      break;
    if (n == 6)
      return false;
    fs[n] = s;
    while (s < end && !blank(*s))
      s++;
    fe[n++] = s;
  }
  if (n < 5)
    return false;
  int first = n == 6 ? SEC : MIN;
  memset(r, 0, sizeof *r);
  r->bits[SEC] = 1;
  for (int i = 0; i < n; i++) {
    int f = first + i;
    if (!field(f, fs[i], fe[i], &r->bits[f]))
      return false;
    r->star[f] = *fs[i] == '*';
  }
  r->wildcard = r->star[MIN] || r->star[HOUR];
  return true;
}

static bool ref_parse(const char *text, rcron *r) {
  size_t len = strlen(text);
  if (len > ROSTER_CRON_MAX)
    return false;
  const char *s = text, *e = text + len;
  while (s < e && (blank(*s) || *s == '\n' || *s == '\r'))
    s++;
  while (e > s && (blank(e[-1]) || e[-1] == '\n' || e[-1] == '\r'))
    e--;
  if (s == e)
    return false;
  if (*s == '@') {
    static const char *const mac[][2] = {
        {"yearly", "0 0 1 1 *"},  {"annually", "0 0 1 1 *"},
        {"monthly", "0 0 1 * *"}, {"weekly", "0 0 * * 0"},
        {"daily", "0 0 * * *"},   {"midnight", "0 0 * * *"},
        {"hourly", "0 * * * *"}};
    const char *w = s + 1, *we = w;
    while (we < e && !blank(*we))
      we++;
    if (we != e)
      return false; /* text after the macro */
    for (size_t i = 0; i < sizeof mac / sizeof mac[0]; i++)
      if ((size_t)(we - w) == strlen(mac[i][0]) &&
          strncasecmp(w, mac[i][0], (size_t)(we - w)) == 0)
        return fields(mac[i][1], mac[i][1] + strlen(mac[i][1]), r);
    return false;
  }
  for (const char *p = s; p < e; p++)
    if ((unsigned char)*p < 0x20 && !blank(*p))
      return false;
  return fields(s, e, r);
}

/* ---- the reference DST model ---------------------------------------- */

/* matches: does local time L (seconds since the epoch, as if UTC) match?
 * Only local times of the years 1 to 9999 can. */
static bool matches(const rcron *r, int64_t L) {
  if (L < RC_T_MIN || L > RC_T_MAX)
    return false;
  time_t tt = (time_t)L;
  struct tm tm;
  if (!gmtime_r(&tt, &tm))
    return false;
  if (!(r->bits[SEC] >> tm.tm_sec & 1) || !(r->bits[MIN] >> tm.tm_min & 1) ||
      !(r->bits[HOUR] >> tm.tm_hour & 1) ||
      !(r->bits[MON] >> (tm.tm_mon + 1) & 1))
    return false;
  bool d = r->bits[DOM] >> tm.tm_mday & 1, w = r->bits[DOW] >> tm.tm_wday & 1;
  return (r->star[DOM] || r->star[DOW]) ? d && w : d || w;
}

#define SMALL (5 * 60)
#define LARGE (3 * 3600)

/* skipped_match: a match among the local times [a, b) (a gap). */
static bool skipped_match(const rcron *r, int64_t a, int64_t b) {
  for (int64_t L = a; L < b; L++)
    if (matches(r, L))
      return true;
  return false;
}

/* fires: does instant u fire, by docs/cron.md's DST table and range (an
 * instant of the years 1 to 9999 whose local time is in them too)? Each
 * transition is judged by itself, by the offsets either side of it. */
static bool fires(const rcron *r, const roster_tz *z, int64_t u) {
  if (u < RC_T_MIN || u > RC_T_MAX)
    return false;
  rc_span s;
  roster__cron_tz_span(z, u, &s);
  int64_t L = u + s.off;
  if (L < RC_T_MIN || L > RC_T_MAX)
    return false;
  rc_span p = {0, 0, 0};
  bool has_prev = s.start != INT64_MIN;
  if (has_prev)
    roster__cron_tz_span(z, s.start - 1, &p);
  /* a forward jump at u that skipped a match */
  if (has_prev && u == s.start && s.off > p.off) {
    int64_t shift = (int64_t)s.off - p.off;
    bool at_jump = shift < SMALL || (shift <= LARGE && !r->wildcard);
    if (at_jump && skipped_match(r, s.start + p.off, s.start + s.off))
      return true;
  }
  if (!matches(r, L))
    return false;
  /* a second time through: the first shift seconds after a backward jump
   * of shift, even where the span before it was shorter than that */
  int64_t shift = (int64_t)p.off - s.off;
  if (has_prev && shift > 0 && u - s.start < shift)
    return shift > LARGE || r->wildcard;
  return true;
}

/* ---- the checks ------------------------------------------------------ */

static const char *zname(const roster_tz *z) { return roster_tz_name(z); }

/* check_format: f formats, and the text parses back to f. */
static void check_format(const roster_tz *z, int64_t f) {
  char buf[ROSTER_TIME_STR_MAX];
  int rc = roster_tz_format(z, f, buf, sizeof buf);
  FUZZ_CHECK(rc == ROSTER_OK, "fire time %lld in %s does not format: %s",
             (long long)f, zname(z), roster_last_error());
  int64_t back = 0;
  rc = roster_time_parse(buf, NULL, &back);
  FUZZ_CHECK(
      rc == ROSTER_OK && back == f,
      "fire time %lld in %s formats as %s, which reads back as %lld (%s)",
      (long long)f, zname(z), buf, (long long)back,
      rc == ROSTER_OK ? "ok" : roster_last_error());
}

#define SCAN 600

/* scan_part: the first instant of [a, b] that fires, or INT64_MIN. One
 * span lookup per span, one calendar conversion per second. */
static int64_t scan_part(const rcron *r, const roster_tz *z, int64_t a,
                         int64_t b) {
  int64_t u = a;
  while (u <= b) {
    rc_span s;
    roster__cron_tz_span(z, u, &s);
    if (u == s.start && fires(r, z, u))
      return u;
    int64_t stop = s.end == INT64_MAX || s.end - 1 > b ? b : s.end - 1;
    for (; u <= stop; u++)
      if (matches(r, u + s.off) && fires(r, z, u))
        return u;
  }
  return INT64_MIN;
}

/* scan: the first instant that fires in the SCAN seconds after a or the
 * SCAN seconds up to b (all of [a, b] when it is short). */
static int64_t scan(const rcron *r, const roster_tz *z, int64_t a, int64_t b) {
  if (b - a < 2 * SCAN)
    return scan_part(r, z, a, b);
  int64_t u = scan_part(r, z, a, a + SCAN - 1);
  return u != INT64_MIN ? u : scan_part(r, z, b - SCAN + 1, b);
}

static void check_next(const roster_cron *c, const rcron *r, const roster_tz *z,
                       int64_t t) {
  int64_t n = 0, x = 0;
  int rc = roster_cron_next(c, t, z, &n);
  if (rc == ROSTER_ENOENT) {
    rc = roster_cron_prev(c, RC_T_MAX + 1, z, &x);
    FUZZ_CHECK(rc == ROSTER_ENOENT || (rc == ROSTER_OK && x <= t),
               "next(%lld) in %s says none, prev(end) says %lld", (long long)t,
               zname(z), (long long)x);
    return;
  }
  FUZZ_CHECK(rc == ROSTER_OK, "next(%lld) in %s: %s", (long long)t, zname(z),
             roster_last_error());
  FUZZ_CHECK(n > t, "next(%lld) = %lld in %s", (long long)t, (long long)n,
             zname(z));
  FUZZ_CHECK(fires(r, z, n),
             "next(%lld) = %lld in %s does not fire by the rule", (long long)t,
             (long long)n, zname(z));
  check_format(z, n);
  rc = roster_cron_prev(c, n + 1, z, &x);
  FUZZ_CHECK(rc == ROSTER_OK && x == n,
             "next(%lld) = %lld in %s, but prev(%lld) = %lld (%s)",
             (long long)t, (long long)n, zname(z), (long long)(n + 1),
             (long long)x, rc == ROSTER_OK ? "ok" : roster_last_error());
  rc = roster_cron_next(c, n - 1, z, &x);
  FUZZ_CHECK(rc == ROSTER_OK && x == n,
             "next(%lld) = %lld in %s, but next(%lld) = %lld (%s)",
             (long long)t, (long long)n, zname(z), (long long)(n - 1),
             (long long)x, rc == ROSTER_OK ? "ok" : roster_last_error());
  rc = roster_cron_prev(c, n, z, &x);
  FUZZ_CHECK(rc == ROSTER_ENOENT || (rc == ROSTER_OK && x <= t),
             "next(%lld) = %lld in %s, but prev(%lld) = %lld is after %lld",
             (long long)t, (long long)n, zname(z), (long long)n, (long long)x,
             (long long)t);
  int64_t u = scan(r, z, t + 1, n - 1);
  FUZZ_CHECK(u == INT64_MIN,
             "next(%lld) = %lld in %s, but %lld fires by the rule",
             (long long)t, (long long)n, zname(z), (long long)u);
}

static void check_prev(const roster_cron *c, const rcron *r, const roster_tz *z,
                       int64_t t) {
  int64_t p = 0, x = 0;
  int rc = roster_cron_prev(c, t, z, &p);
  if (rc == ROSTER_ENOENT) {
    rc = roster_cron_next(c, RC_T_MIN, z, &x);
    FUZZ_CHECK(rc == ROSTER_ENOENT || (rc == ROSTER_OK && x >= t),
               "prev(%lld) in %s says none, next(start) says %lld",
               (long long)t, zname(z), (long long)x);
    return;
  }
  FUZZ_CHECK(rc == ROSTER_OK, "prev(%lld) in %s: %s", (long long)t, zname(z),
             roster_last_error());
  FUZZ_CHECK(p < t, "prev(%lld) = %lld in %s", (long long)t, (long long)p,
             zname(z));
  FUZZ_CHECK(fires(r, z, p),
             "prev(%lld) = %lld in %s does not fire by the rule", (long long)t,
             (long long)p, zname(z));
  check_format(z, p);
  rc = roster_cron_next(c, p - 1, z, &x);
  if (p == RC_T_MIN) /* next starts from no time before the year 1 */
    FUZZ_CHECK(rc == ROSTER_ERANGE, "next(%lld): %d, not ROSTER_ERANGE",
               (long long)(p - 1), rc);
  else
    FUZZ_CHECK(rc == ROSTER_OK && x == p,
               "prev(%lld) = %lld in %s, but next(%lld) = %lld (%s)",
               (long long)t, (long long)p, zname(z), (long long)(p - 1),
               (long long)x, rc == ROSTER_OK ? "ok" : roster_last_error());
  rc = roster_cron_prev(c, p + 1, z, &x);
  FUZZ_CHECK(rc == ROSTER_OK && x == p,
             "prev(%lld) = %lld in %s, but prev(%lld) = %lld (%s)",
             (long long)t, (long long)p, zname(z), (long long)(p + 1),
             (long long)x, rc == ROSTER_OK ? "ok" : roster_last_error());
  rc = roster_cron_next(c, p, z, &x);
  FUZZ_CHECK(rc == ROSTER_ENOENT || (rc == ROSTER_OK && x >= t),
             "prev(%lld) = %lld in %s, but next(%lld) = %lld is before %lld",
             (long long)t, (long long)p, zname(z), (long long)p, (long long)x,
             (long long)t);
  int64_t u = scan(r, z, p + 1, t - 1);
  FUZZ_CHECK(u == INT64_MIN,
             "prev(%lld) = %lld in %s, but %lld fires by the rule",
             (long long)t, (long long)p, zname(z), (long long)u);
}

/* ---- the header ------------------------------------------------------ */

static int64_t clamp(int64_t t) {
  return t < RC_T_MIN ? RC_T_MIN : t > RC_T_MAX ? RC_T_MAX : t;
}

/* number reads [+-]digits at *p, saturating. */
static int64_t number(const char **p, const char *end) {
  const char *s = *p;
  bool neg = s < end && *s == '-';
  if (s < end && (*s == '-' || *s == '+'))
    s++;
  int64_t v = 0;
  while (s < end && digit(*s)) {
    if (v < INT64_MAX / 100)
      v = v * 10 + (*s - '0');
    s++;
  }
  *p = s;
  return neg ? -v : v;
}

static int64_t instant(const roster_tz *z, const char *s, const char *end) {
  if (end - s == 3 && memcmp(s, "min", 3) == 0)
    return RC_T_MIN;
  if (end - s == 3 && memcmp(s, "max", 3) == 0)
    return RC_T_MAX;
  if (s < end && *s == '@') {
    s++;
    int64_t k = number(&s, end), d = number(&s, end);
    int64_t x = 946684800; /* 2000-01-01T00:00:00Z */
    rc_span sp;
    for (int64_t i = 0; i < k && i < 1000; i++) {
      roster__cron_tz_span(z, x, &sp);
      if (sp.end == INT64_MAX || sp.end > RC_T_MAX)
        break;
      x = sp.end;
    }
    for (int64_t i = 0; i < -k && i < 1000; i++) {
      roster__cron_tz_span(z, x - 1, &sp);
      if (sp.start == INT64_MIN || sp.start < RC_T_MIN)
        break;
      x = sp.start;
    }
    d = d > RC_DAY * 400 ? RC_DAY * 400 : d < -RC_DAY * 400 ? -RC_DAY * 400 : d;
    return clamp(x + d);
  }
  if (s == end)
    return 1767225600; /* 2026-01-01T00:00:00Z */
  return clamp(number(&s, end));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_begin(data, size);
  const uint8_t *nl = memchr(data, '\n', size);
  const roster_tz *z = NULL;
  int64_t t = 1767225600;
  const uint8_t *ex = data;
  size_t exlen = size;
  if (nl) {
    z = zones[data[0] % nzones];
    t = instant(z, (const char *)data + 1, (const char *)nl);
    ex = nl + 1;
    exlen = size - (size_t)(ex - data);
  }
  char *text = fuzz_strndup(ex, exlen);
  size_t len = strlen(text);

  roster_cron *c = NULL;
  roster_cron_error err;
  int rc = roster_cron_parse(text, &c, &err);
  rcron r;
  bool want = ref_parse(text, &r);
  if (rc != ROSTER_OK) {
    FUZZ_CHECK(rc == ROSTER_EINVAL && !c, "parse returned %d", rc);
    FUZZ_CHECK(!want, "refused at column %zu (%s), the reference accepts",
               err.column, err.message);
    FUZZ_CHECK(err.column >= 1 && err.column <= len + 1,
               "column %zu outside the text (%zu bytes): %s", err.column, len,
               err.message);
    const char *bad =
        err.message[0] ? fuzz_text_bad(err.message, false) : "nothing";
    FUZZ_CHECK(!bad, "the message holds %s: %s", bad, err.message);
    fuzz_error_ok("roster_cron_parse", rc, NULL);
    free(text);
    return 0;
  }
  FUZZ_CHECK(want, "accepted, the reference refuses");
  const struct roster_cron *ic = c;
  uint64_t bits[6] = {ic->sec, ic->min, ic->hour, ic->dom, ic->month, ic->dow};
  bool star[6] = {false,
                  (ic->flags & RC_MIN_STAR) != 0,
                  (ic->flags & RC_HR_STAR) != 0,
                  (ic->flags & RC_DOM_STAR) != 0,
                  false,
                  (ic->flags & RC_DOW_STAR) != 0};
  for (int f = 0; f < 6; f++) {
    FUZZ_CHECK(bits[f] == r.bits[f], "field %d: bits %llx, the reference %llx",
               f, (unsigned long long)bits[f], (unsigned long long)r.bits[f]);
    FUZZ_CHECK(f == SEC || f == MON || star[f] == r.star[f],
               "field %d: star %d, the reference %d", f, star[f], r.star[f]);
  }
  const char *ct = roster_cron_text(c);
  FUZZ_CHECK(strlen(ct) <= len && strstr(text, ct),
             "text '%s' is not the input", ct);

  check_next(c, &r, z, t);
  check_prev(c, &r, z, t);
  if (z) /* the same instant in UTC: the plain calendar */
    check_next(c, &r, NULL, t);
  roster_cron_free(c);
  free(text);
  return 0;
}
