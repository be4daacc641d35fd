/*
 * tz_posix.c: POSIX TZ strings ("EST5EDT,M3.2.0,M11.1.0"), as in the
 * footer of a TZif file (RFC 8536, section 3.3) and in $TZ: parsing, and
 * the spans of constant offset their daylight-saving rule gives for any
 * year. Written here for the same reason as tz.c: glibc computes these
 * only for the process-wide zone.
 *
 * Grammar: std offset [dst [offset] [,start[/time],end[/time]]], where a
 * name is three or more letters or <...> (letters, digits, + and -), an
 * offset is [+-]hh[:mm[:ss]] hours west of UTC, a date is Jn (1..365, no
 * February 29), n (0..365) or Mm.w.d (week 5 = last), and a time is
 * [+-]hh[:mm[:ss]] with hh up to 167 (RFC 8536's extension). A missing
 * DST offset is one hour ahead of standard time; a missing rule is the US
 * rule, M3.2.0,M11.1.0, as glibc assumes.
 */
#include "cron_impl.h"

#include <stdio.h>
#include <string.h>

typedef struct cursor {
  const char *p;
  char *err;
  size_t cap;
} cursor;

static bool bad(cursor *c, const char *what) {
  char q[72];
  snprintf(c->err, c->cap, "%s at '%s'", what,
           roster__quote(q, sizeof q, c->p, strnlen(c->p, 16)));
  return false;
}

static bool digit(char ch) { return ch >= '0' && ch <= '9'; }
static bool alpha(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool name(cursor *c) {
  const char *p = c->p;
  if (*p == '<') {
    p++;
    const char *s = p;
    while (alpha(*p) || digit(*p) || *p == '+' || *p == '-')
      p++;
    if (*p != '>' || p - s < 3)
      return bad(c, "a bad <...> zone abbreviation");
    c->p = p + 1;
    return true;
  }
  const char *s = p;
  while (alpha(*p))
    p++;
  if (p - s < 3)
    return bad(c, "a zone abbreviation of three or more letters expected");
  c->p = p;
  return true;
}

/* hms parses [+-]hh[:mm[:ss]] into seconds; hh at most max_h. */
static bool hms(cursor *c, int max_h, bool sign_ok, int32_t *out) {
  const char *p = c->p;
  int sign = 1;
  if (sign_ok && (*p == '+' || *p == '-')) {
    sign = *p == '-' ? -1 : 1;
    p++;
  }
  int v[3] = {0, 0, 0};
  for (int i = 0; i < 3; i++) {
    if (i > 0) {
      if (*p != ':')
        break;
      p++;
    }
    if (!digit(*p))
      return bad(c, "a number expected");
    int n = 0, len = 0;
    while (digit(*p) && len < 3) {
      n = n * 10 + (*p++ - '0');
      len++;
    }
    if (digit(*p) || (i > 0 && (len != 2 || n > 59)) || (i == 0 && n > max_h))
      return bad(c, "a time out of range");
    v[i] = n;
  }
  *out = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
  c->p = p;
  return true;
}

static bool num(cursor *c, int lo, int hi, int *out) {
  const char *p = c->p;
  if (!digit(*p))
    return bad(c, "a number expected");
  int n = 0, len = 0;
  while (digit(*p)) {
    if (++len > 3)
      return bad(c, "a number out of range");
    n = n * 10 + (*p++ - '0');
  }
  if (n < lo || n > hi)
    return bad(c, "a number out of range");
  *out = n;
  c->p = p;
  return true;
}

static bool rule(cursor *c, rc_rule *r) {
  int a, b, d;
  if (*c->p == 'J') {
    c->p++;
    if (!num(c, 1, 365, &a))
      return false;
    r->kind = 'J';
    r->n = (int16_t)a;
  } else if (*c->p == 'M') {
    c->p++;
    if (!num(c, 1, 12, &a))
      return false;
    if (*c->p != '.')
      return bad(c, "'.' expected in an Mm.w.d rule");
    c->p++;
    if (!num(c, 1, 5, &b))
      return false;
    if (*c->p != '.')
      return bad(c, "'.' expected in an Mm.w.d rule");
    c->p++;
    if (!num(c, 0, 6, &d))
      return false;
    r->kind = 'M';
    r->m = (int8_t)a;
    r->w = (int8_t)b;
    r->d = (int8_t)d;
  } else {
    if (!num(c, 0, 365, &a))
      return false;
    r->kind = 'D';
    r->n = (int16_t)a;
  }
  r->time = 2 * 3600;
  if (*c->p == '/') {
    c->p++;
    if (!hms(c, 167, true, &r->time))
      return false;
  }
  return true;
}

bool roster__cron_posix_parse(const char *s, rc_posix *p, char *err,
                              size_t errcap) {
  cursor c = {s, err, errcap};
  memset(p, 0, sizeof *p);
  int32_t o;
  if (!name(&c) || !hms(&c, 24, true, &o))
    return false;
  p->std_off = -o;
  if (*c.p == '\0')
    return true;
  if (!name(&c))
    return false;
  p->dst_off = p->std_off + 3600;
  if (*c.p && *c.p != ',') {
    if (!hms(&c, 24, true, &o))
      return false;
    p->dst_off = -o;
  }
  if (*c.p == ',') {
    c.p++;
    if (!rule(&c, &p->start))
      return false;
    if (*c.p != ',')
      return bad(&c, "',' expected between the rule's two dates");
    c.p++;
    if (!rule(&c, &p->end))
      return false;
  } else {
    p->start = (rc_rule){'M', 0, 3, 2, 0, 2 * 3600};
    p->end = (rc_rule){'M', 0, 11, 1, 0, 2 * 3600};
  }
  if (*c.p != '\0')
    return bad(&c, "unexpected text");
  p->has_dst = p->dst_off != p->std_off;
  return true;
}

/* rule_day: the day number (since the epoch) rule r picks in year y. */
static int64_t rule_day(const rc_rule *r, int64_t y) {
  int64_t jan1 = roster__cron_days_from_civil(y, 1, 1);
  if (r->kind == 'J')
    return jan1 + r->n - 1 + (roster__cron_leap(y) && r->n >= 60 ? 1 : 0);
  if (r->kind == 'D')
    return jan1 + r->n;
  int64_t first = roster__cron_days_from_civil(y, (unsigned)r->m, 1);
  int day =
      1 + (r->d - (int)roster__cron_weekday(first) + 7) % 7 + (r->w - 1) * 7;
  int nd = (int)roster__cron_mdays(y, (unsigned)r->m);
  while (day > nd)
    day -= 7;
  return first + day - 1;
}

typedef struct change {
  int64_t at;
  int32_t off;
  int is_start; /* ties: an end sorts first, so "DST all year" stays DST */
} change;

void roster__cron_posix_span(const rc_posix *p, int64_t t, rc_span *s) {
  if (!p->has_dst) {
    *s = (rc_span){INT64_MIN, INT64_MAX, p->std_off};
    return;
  }
  /* The year's changes are computed around t, but no further out than
   * +-2^60 s (some 36 billion years): past that the instants of the
   * changes would overflow. t beyond it falls in the first or last span
   * of the changes found there, which then runs to the end of time. */
  const int64_t lim = (int64_t)1 << 60;
  int64_t tc = t < -lim ? -lim : t > lim ? lim : t;
  int64_t days = tc / RC_DAY - (tc % RC_DAY < 0), y;
  unsigned m, d;
  roster__cron_civil_from_days(days, &y, &m, &d);
  change ch[10];
  size_t n = 0;
  for (int64_t yy = y - 2; yy <= y + 2; yy++) {
    ch[n++] =
        (change){rule_day(&p->start, yy) * RC_DAY + p->start.time - p->std_off,
                 p->dst_off, 1};
    ch[n++] =
        (change){rule_day(&p->end, yy) * RC_DAY + p->end.time - p->dst_off,
                 p->std_off, 0};
  }
  for (size_t i = 1; i < n; i++) /* insertion sort: 10 items */
    for (size_t j = i; j > 0; j--) {
      change *a = &ch[j - 1], *b = &ch[j];
      if (a->at < b->at || (a->at == b->at && a->is_start <= b->is_start))
        break;
      change tmp = *a;
      *a = *b;
      *b = tmp;
    }
  size_t i = 0;
  while (i < n && ch[i].at <= t)
    i++;
  s->start = i > 0 ? ch[i - 1].at : INT64_MIN;
  s->off = i > 0 ? ch[i - 1].off
                 : (ch[0].off == p->dst_off ? p->std_off : p->dst_off);
  s->end = i < n ? ch[i].at : INT64_MAX;
}
