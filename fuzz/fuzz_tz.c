/*
 * fuzz_tz.c: time zones: TZif files (roster__cron_tzif_parse, what
 * roster_tz_get reads) and POSIX TZ strings (roster__cron_posix_parse: a TZif
 * footer, or $TZ for roster_tz_local), then the public calls on the zone they
 * make: roster_tz_offset, roster_tz_format, roster_time_parse.
 *
 * Input: a TZif file (it starts with "TZif": seeds are real small zones
 * from /usr/share/zoneinfo), or a POSIX TZ string up to a newline or NUL
 * followed by up to 8 lines, each a decimal instant and also a text for
 * roster_time_parse (as is the TZ string). Instants tested: every offset
 * change of the zone (up to 64) and the seconds around it, the instants
 * given, fixed ones (the ends of int64, of the supported years, the
 * epoch), and, for a TZif file, its last 8 bytes as an int64.
 *
 * Properties:
 *  - a refusal's reason is clean text (not empty, valid UTF-8, no control
 *    character), and so is, for a TZ string, roster_tz_local's detail;
 *  - a parsed TZif zone has its changes in order, each changing the
 *    offset, and every offset within RC_OFF_MAX; a POSIX rule has its two
 *    offsets within RC_OFF_MAX, different when it has DST, and one of
 *    them at every instant given;
 *  - for every instant t, the span holding t holds t and has t's offset,
 *    and the next and previous spans meet it; the local time t + offset
 *    maps back to t (the only instant, or one of the two of a repeated
 *    hour; never a skipped time);
 *  - roster_tz_format succeeds exactly when the local year is 1 to 9999
 *    (ROSTER_ERANGE otherwise), and roster_time_parse reads the text back
 *    as t;
 *  - roster_time_parse of any text is an instant that formats back to
 *    itself, or a refusal (ROSTER_EINVAL, ROSTER_ERANGE) whose detail is
 *    clean text.
 *
 * Inputs up to 8192 bytes: the system's zone files are up to 3.9 KB.
 * fuzz-max-len: 8192
 */
#include "fuzz_util.h"

#include "cron/cron_impl.h"

#include <limits.h>
#include <time.h>

/* local_year: the year of local time L by the C library (false if it is
 * beyond what gmtime represents). */
static bool local_year(int64_t L, int64_t *year) {
  if (L < -((int64_t)1 << 55) || L > ((int64_t)1 << 55))
    return false;
  time_t tt = (time_t)L;
  struct tm tm;
  if (!gmtime_r(&tt, &tm))
    return false;
  *year = (int64_t)tm.tm_year + 1900;
  return true;
}

static void check_instant(const roster_tz *z, int64_t t) {
  int32_t off = roster_tz_offset(z, t);
  FUZZ_CHECK(off > -RC_OFF_MAX && off < RC_OFF_MAX, "offset %d at %lld", off,
             (long long)t);
  rc_span s;
  roster__cron_tz_span(z, t, &s);
  FUZZ_CHECK(s.off == off, "span offset %d, roster_tz_offset %d at %lld", s.off,
             off, (long long)t);
  FUZZ_CHECK(s.start <= t && (t < s.end || s.end == INT64_MAX),
             "the span [%lld, %lld) does not hold %lld", (long long)s.start,
             (long long)s.end, (long long)t);
  if (s.end != INT64_MAX) {
    rc_span n;
    roster__cron_tz_span(z, s.end, &n);
    FUZZ_CHECK(n.start == s.end, "the span after [%lld, %lld) starts at %lld",
               (long long)s.start, (long long)s.end, (long long)n.start);
  }
  if (s.start != INT64_MIN) {
    rc_span p;
    roster__cron_tz_span(z, s.start - 1, &p);
    FUZZ_CHECK(p.end == s.start, "the span before [%lld, %lld) ends at %lld",
               (long long)s.start, (long long)s.end, (long long)p.end);
  }
  /* local time and back, where local times are computed: the years 1 to
   * 9999 with a day's margin */
  if (t < RC_T_MIN - RC_DAY || t > RC_T_MAX + RC_DAY)
    goto format;
  int64_t L = t + off;
  rc_map m;
  roster__cron_local_map(z, L, &m);
  FUZZ_CHECK(m.kind != RC_GAP, "local time %lld of %lld maps to a gap",
             (long long)L, (long long)t);
  FUZZ_CHECK(m.t1 == t || (m.kind == RC_OVERLAP && m.t2 == t),
             "local time %lld of %lld maps to %lld/%lld (kind %d)",
             (long long)L, (long long)t, (long long)m.t1, (long long)m.t2,
             (int)m.kind);
format:;
  char buf[ROSTER_TIME_STR_MAX];
  int rc = roster_tz_format(z, t, buf, sizeof buf);
  int64_t year = 0;
  bool in_years = t > INT64_MIN + RC_OFF_MAX && t < INT64_MAX - RC_OFF_MAX &&
                  local_year(t + off, &year) && year >= 1 && year <= 9999;
  FUZZ_CHECK((rc == ROSTER_OK) == in_years,
             "roster_tz_format(%lld) with offset %d: %s (local year %lld)",
             (long long)t, off, rc == ROSTER_OK ? buf : roster_last_error(),
             (long long)year);
  if (rc != ROSTER_OK) {
    FUZZ_CHECK(rc == ROSTER_ERANGE, "roster_tz_format: %d", rc);
    return;
  }
  int64_t back = 0;
  rc = roster_time_parse(buf, NULL, &back);
  FUZZ_CHECK(rc == ROSTER_OK && back == t,
             "%lld formats as %s, which reads back as %lld (%s)", (long long)t,
             buf, (long long)back,
             rc == ROSTER_OK ? "ok" : roster_last_error());
}

/* check_zone runs the instant checks on z's changes and the fixed set. */
static void check_zone(const roster_tz *z, const int64_t *extra, size_t nx) {
  static const int64_t fixed[] = {INT64_MIN,
                                  INT64_MIN + 1,
                                  RC_T_MIN - RC_DAY - 1,
                                  RC_T_MIN - 1,
                                  RC_T_MIN,
                                  -1,
                                  0,
                                  1767225600,
                                  RC_T_MAX,
                                  RC_T_MAX + 1,
                                  RC_T_MAX + RC_DAY + 1,
                                  INT64_MAX - 1,
                                  INT64_MAX};
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
    check_instant(z, fixed[i]);
  for (size_t i = 0; i < nx; i++)
    check_instant(z, extra[i]);
  /* the changes, from the first (or from 1900 for a rule) */
  int64_t x = z->n ? z->at[0] : -2208988800;
  for (int i = 0; i < 64; i++) {
    rc_span s;
    roster__cron_tz_span(z, x, &s);
    check_instant(z, s.start == INT64_MIN ? x : s.start);
    if (s.start != INT64_MIN)
      check_instant(z, s.start - 1);
    if (s.end == INT64_MAX || s.end > RC_T_MAX)
      break;
    check_instant(z, s.end - 1);
    x = s.end;
  }
}

static void check_reason(const char *why) {
  const char *bad = why[0] ? fuzz_text_bad(why, false) : "nothing";
  FUZZ_CHECK(!bad, "the reason holds %s: %s", bad, why);
}

static void tzif(const uint8_t *data, size_t size) {
  unsigned char *buf = (unsigned char *)fuzz_copy_exact(data, size);
  roster_tz *z = calloc(1, sizeof *z);
  if (!z)
    abort();
  char why[160] = "";
  if (!roster__cron_tzif_parse(buf, size, z, why, sizeof why)) {
    check_reason(why);
    roster_mem_free(z->at);
    roster_mem_free(z->off);
    free(z);
    free(buf);
    return;
  }
  z->name = (char *)"fuzz";
  for (size_t i = 0; i < z->n; i++) {
    FUZZ_CHECK(i == 0 || z->at[i] > z->at[i - 1], "changes out of order at %zu",
               i);
    FUZZ_CHECK(z->off[i] > -RC_OFF_MAX && z->off[i] < RC_OFF_MAX,
               "offset %d at change %zu", z->off[i], i);
    FUZZ_CHECK(z->off[i] != (i ? z->off[i - 1] : z->off0),
               "change %zu keeps the offset", i);
  }
  int64_t extra[1] = {0};
  size_t nx = 0;
  if (size >= 8) {
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
      u = u << 8 | data[size - 8 + (size_t)i];
    extra[nx++] = (int64_t)u;
  }
  check_zone(z, extra, nx);
  roster_mem_free(z->at);
  roster_mem_free(z->off);
  free(z);
  free(buf);
}

/* check_time_text: roster_time_parse of any text is an instant that
 * formats back to the same instant, or a refusal with a clean detail. */
static void check_time_text(const char *text) {
  int64_t t = 0, back = 0;
  int rc = roster_time_parse(text, NULL, &t);
  if (rc != ROSTER_OK) {
    FUZZ_CHECK(rc == ROSTER_EINVAL || rc == ROSTER_ERANGE,
               "roster_time_parse: %d", rc);
    fuzz_error_ok("roster_time_parse", rc, NULL);
    return;
  }
  char buf[ROSTER_TIME_STR_MAX];
  rc = roster_tz_format(NULL, t, buf, sizeof buf);
  if (rc != ROSTER_OK) { /* an offset moved it out of the years */
    FUZZ_CHECK(rc == ROSTER_ERANGE && (t < RC_T_MIN || t > RC_T_MAX),
               "%s parses as %lld, which does not format: %s", text,
               (long long)t, roster_last_error());
    return;
  }
  rc = roster_time_parse(buf, NULL, &back);
  FUZZ_CHECK(rc == ROSTER_OK && back == t, "%s -> %lld -> %s -> %lld", text,
             (long long)t, buf, (long long)back);
}

static void posix(const uint8_t *data, size_t size) {
  fuzz_reader r = {data, size};
  size_t n;
  const uint8_t *p = fuzz_field(&r, '\n', &n);
  char *s = fuzz_strndup(p, n);
  int64_t extra[8];
  size_t nx = 0;
  while (r.n && nx < 8) {
    size_t ln;
    const uint8_t *lp = fuzz_field(&r, '\n', &ln);
    char *line = fuzz_strndup(lp, ln);
    long long v = strtoll(line, NULL, 10);
    extra[nx++] = (int64_t)v;
    check_time_text(line);
    free(line);
  }
  check_time_text(s);
  rc_posix rule;
  char why[128] = "";
  if (!roster__cron_posix_parse(s, &rule, why, sizeof why)) {
    check_reason(why);
    /* the public way in: $TZ, refused with a clean detail (a string that
     * names a zone file loads it instead) */
    const roster_tz *z = NULL;
    int rc = fuzz_tz_local(s, &z);
    if (rc != ROSTER_OK)
      fuzz_error_ok("roster_tz_local", rc, NULL);
    free(s);
    return;
  }
  FUZZ_CHECK(rule.std_off > -RC_OFF_MAX && rule.std_off < RC_OFF_MAX &&
                 rule.dst_off > -RC_OFF_MAX && rule.dst_off < RC_OFF_MAX,
             "offsets %d and %d", rule.std_off, rule.dst_off);
  FUZZ_CHECK(!rule.has_dst || rule.std_off != rule.dst_off,
             "has_dst with offsets %d and %d", rule.std_off, rule.dst_off);
  roster_tz z = {
      .name = s, .has_tail = true, .tail = rule, .off0 = rule.std_off};
  check_zone(&z, extra, nx);
  for (size_t i = 0; i < nx; i++) {
    int32_t off = roster_tz_offset(&z, extra[i]);
    FUZZ_CHECK(off == rule.std_off || (rule.has_dst && off == rule.dst_off),
               "offset %d at %lld is neither of the rule's", off,
               (long long)extra[i]);
  }
  free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_begin(data, size);
  if (size >= 4 && memcmp(data, "TZif", 4) == 0)
    tzif(data, size);
  else
    posix(data, size);
  return 0;
}
