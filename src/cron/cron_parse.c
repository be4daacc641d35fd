/*
 * cron_parse.c: the cron expression parser (roster_cron_parse).
 *
 * Written here: no Debian package parses Vixie cron's syntax as a library
 * (cron itself parses inside its daemon). The grammar and checks follow
 * ISC/Vixie cron 4.1's entry.c: lists of ranges, `*` as "first-last" that
 * a step may modify, names matched case-insensitively, Sunday as 0 or 7,
 * a reversed range or a zero step refused; plus `a/n` (a to the field's
 * end by n, as cronie allows) and an optional leading seconds field. A
 * field that starts with `*` is flagged, as Vixie cron flags it: the
 * day-of-month/day-of-week rule and DST handling depend on it.
 */
#include "cron_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct field {
  const char *name; /* for messages */
  int lo, hi;
  const char *const *names; /* lower-case names, or NULL */
  int name_base;            /* the value names[0] stands for */
} field;

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may",
                                          "jun", "jul", "aug", "sep", "oct",
                                          "nov", "dec", NULL};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed",
                                        "thu", "fri", "sat", NULL};

enum { F_SEC, F_MIN, F_HOUR, F_DOM, F_MON, F_DOW, F_N };
static const field fields[F_N] = {
    {"second", 0, 59, NULL, 0},       {"minute", 0, 59, NULL, 0},
    {"hour", 0, 23, NULL, 0},         {"day-of-month", 1, 31, NULL, 0},
    {"month", 1, 12, month_names, 1}, {"day-of-week", 0, 7, dow_names, 0},
};

/* A parse: the whole text (for columns), and the error if any. */
typedef struct pstate {
  const char *text;
  roster_cron_error *err;
} pstate;

static bool fail(pstate *ps, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool fail(pstate *ps, const char *at, const char *fmt, ...) {
  ps->err->column = (size_t)(at - ps->text) + 1;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ps->err->message, sizeof ps->err->message, fmt, ap);
  va_end(ap);
  return false;
}

static bool is_blank(char ch) { return ch == ' ' || ch == '\t'; }
static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }
static bool is_alpha(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}
static char lower(char ch) {
  return (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
}

/* show writes a character for a message: printable as is, else \xNN. */
static const char *show(char ch, char buf[8]) {
  unsigned char u = (unsigned char)ch;
  if (u >= 0x21 && u < 0x7f)
    snprintf(buf, 8, "%c", ch);
  else
    snprintf(buf, 8, "\\x%02x", u);
  return buf;
}

/* A field's text is [p, end). */

/* number parses a value (digits, or a name where the field has names) at
 * *pp, advancing it. */
static bool number(pstate *ps, const field *f, const char **pp, const char *end,
                   int *out) {
  const char *p = *pp;
  if (p < end && is_digit(*p)) {
    long v = 0;
    const char *s = p;
    while (p < end && is_digit(*p)) {
      if (v < 100000)
        v = v * 10 + (*p - '0');
      p++;
    }
    if (v < f->lo || v > f->hi) {
      if (v >= 100000)
        return fail(ps, s, "%s %.*s is out of range %d-%d", f->name,
                    (int)(p - s > 12 ? 12 : p - s), s, f->lo, f->hi);
      return fail(ps, s, "%s %ld is out of range %d-%d", f->name, v, f->lo,
                  f->hi);
    }
    *out = (int)v;
    *pp = p;
    return true;
  }
  if (p < end && is_alpha(*p)) {
    const char *s = p;
    while (p < end && is_alpha(*p))
      p++;
    size_t len = (size_t)(p - s);
    int shown = len > 24 ? 24 : (int)len;
    if (!f->names)
      return fail(ps, s, "'%.*s' is not a number (the %s field takes no names)",
                  shown, s, f->name);
    for (int i = 0; len == 3 && f->names[i]; i++)
      if (lower(s[0]) == f->names[i][0] && lower(s[1]) == f->names[i][1] &&
          lower(s[2]) == f->names[i][2]) {
        *out = f->name_base + i;
        *pp = p;
        return true;
      }
    return fail(ps, s, "unknown %s name '%.*s'", f->name, shown, s);
  }
  char b[8];
  if (p >= end)
    return fail(ps, p, "a value is missing in the %s field", f->name);
  return fail(ps, p, "unexpected '%s' in the %s field", show(*p, b), f->name);
}

/* step parses the number after a '/'. */
static bool step(pstate *ps, const field *f, const char **pp, const char *end,
                 int *out) {
  const char *p = *pp, *s = p;
  if (p >= end || !is_digit(*p)) {
    char b[8];
    if (p >= end)
      return fail(ps, p, "a step is missing after '/' in the %s field",
                  f->name);
    return fail(ps, p, "a step must be a number, not '%s' (%s field)",
                show(*p, b), f->name);
  }
  long v = 0;
  while (p < end && is_digit(*p)) {
    if (v < 100000)
      v = v * 10 + (*p - '0');
    p++;
  }
  if (v == 0)
    return fail(ps, s, "step 0 in the %s field: a step must be at least 1",
                f->name);
  if (v > 9999)
    return fail(ps, s, "step %.*s is too large in the %s field",
                (int)(p - s > 12 ? 12 : p - s), s, f->name);
  *out = (int)v;
  *pp = p;
  return true;
}

/* parse_field parses one field [p, end) into *bits (bit v for value v). */
static bool parse_field(pstate *ps, const field *f, const char *p,
                        const char *end, uint64_t *bits) {
  uint64_t b = 0;
  for (;;) {
    int a, z, st = 1;
    const char *elem = p;
    if (p < end && *p == ',')
      return fail(ps, p, "an empty list element in the %s field", f->name);
    if (p < end && *p == '*') {
      a = f->lo;
      z = f->hi;
      p++;
      if (p < end && *p == '/') {
        p++;
        if (!step(ps, f, &p, end, &st))
          return false;
      }
    } else {
      if (!number(ps, f, &p, end, &a))
        return false;
      z = a;
      if (p < end && *p == '-') {
        p++;
        if (!number(ps, f, &p, end, &z))
          return false;
        if (a > z)
          return fail(ps, elem, "reversed range %d-%d in the %s field", a, z,
                      f->name);
        if (p < end && *p == '/') {
          p++;
          if (!step(ps, f, &p, end, &st))
            return false;
        }
      } else if (p < end && *p == '/') {
        /* a/n: from a to the field's end, every n (cronie's form) */
        z = f->hi;
        p++;
        if (!step(ps, f, &p, end, &st))
          return false;
      }
    }
    for (int v = a; v <= z; v += st)
      b |= (uint64_t)1 << v;
    if (p >= end)
      break;
    if (*p != ',') {
      char c[8];
      return fail(ps, p, "unexpected '%s' in the %s field", show(*p, c),
                  f->name);
    }
    p++;
    if (p >= end)
      return fail(ps, p - 1, "an empty list element in the %s field", f->name);
  }
  *bits = b;
  return true;
}

/* Macros: Vixie cron's, as their five-field meaning. */
static const struct macro {
  const char *name, *expansion;
} macros[] = {
    {"yearly", "0 0 1 1 *"},  {"annually", "0 0 1 1 *"},
    {"monthly", "0 0 1 * *"}, {"weekly", "0 0 * * 0"},
    {"daily", "0 0 * * *"},   {"midnight", "0 0 * * *"},
    {"hourly", "0 * * * *"},
};

static bool ieq(const char *a, size_t alen, const char *b) {
  size_t blen = strlen(b);
  if (alen != blen)
    return false;
  for (size_t i = 0; i < alen; i++)
    if (lower(a[i]) != b[i])
      return false;
  return true;
}

/* finish computes the day masks and the never flag. */
static void finish(roster_cron *c) {
  bool both = !(c->flags & (RC_DOM_STAR | RC_DOW_STAR));
  for (unsigned w = 0; w < 7; w++) {
    uint32_t dm = 0;
    for (unsigned d = 1; d <= 31; d++)
      if (c->dow & (1u << ((w + d - 1) % 7)))
        dm |= 1u << d;
    c->days[w] = both ? (c->dom | dm) : (c->dom & dm);
  }
  /* In the AND case a day fires only if some allowed month has an allowed
   * day of the month: every date falls on every weekday in the 400-year
   * Gregorian cycle, so the weekday field cannot make it impossible. In
   * the OR case every allowed weekday fires. */
  c->never = false;
  if (!both) {
    static const unsigned maxd[13] = {0,  31, 29, 31, 30, 31, 30,
                                      31, 31, 30, 31, 30, 31};
    bool any = false;
    for (unsigned m = 1; m <= 12 && !any; m++)
      if (c->month & (1u << m))
        any = (c->dom & (((2u << maxd[m]) - 1) & ~1u)) != 0;
    c->never = !any;
  }
}

/* parse_fields parses the fields of a (non-macro) expression s[0..len). */
static bool parse_fields(pstate *ps, const char *s, size_t len,
                         roster_cron *c) {
  const char *start[7], *stop[7];
  size_t n = 0;
  const char *p = s, *end = s + len;
  while (p < end) {
    while (p < end && is_blank(*p))
      p++;
    if (p >= end)
      break;
    if (n == 6)
      return fail(ps, p,
                  "too many fields: a cron expression has 5 fields, or 6 "
                  "with seconds");
    start[n] = p;
    while (p < end && !is_blank(*p))
      p++;
    stop[n++] = p;
  }
  if (n < 5)
    return fail(ps, end,
                "too few fields (%zu): a cron expression has 5 fields "
                "(minute hour day-of-month month day-of-week), or 6 with "
                "seconds first",
                n);
  size_t off = n == 6 ? 0 : 1; /* fields[] index of the first given field */
  uint64_t bits[F_N] = {1, 0, 0, 0, 0, 0}; /* seconds default to 0 */
  c->flags = n == 6 ? RC_SECONDS : 0;
  for (size_t i = 0; i < n; i++) {
    size_t fi = i + off;
    if (!parse_field(ps, &fields[fi], start[i], stop[i], &bits[fi]))
      return false;
    if (*start[i] == '*') {
      if (fi == F_MIN)
        c->flags |= RC_MIN_STAR;
      else if (fi == F_HOUR)
        c->flags |= RC_HR_STAR;
      else if (fi == F_DOM)
        c->flags |= RC_DOM_STAR;
      else if (fi == F_DOW)
        c->flags |= RC_DOW_STAR;
    }
  }
  c->sec = bits[F_SEC];
  c->min = bits[F_MIN];
  c->hour = (uint32_t)bits[F_HOUR];
  c->dom = (uint32_t)bits[F_DOM];
  c->month = (uint16_t)bits[F_MON];
  uint64_t dw = bits[F_DOW];
  if (dw & (1u << 7)) /* Sunday as 7 */
    dw |= 1;
  c->dow = (uint8_t)(dw & 0x7f);
  return true;
}

int roster_cron_parse(const char *text, roster_cron **out,
                      roster_cron_error *err) {
  roster_cron_error local;
  if (!err)
    err = &local;
  err->column = 0;
  err->message[0] = '\0';
  if (out)
    *out = NULL;
  if (!text || !out) {
    snprintf(err->message, sizeof err->message, "%s is NULL",
             text ? "out" : "the expression");
    return roster_error_set(ROSTER_EINVAL, "cron expression: %s", err->message);
  }
  pstate ps = {text, err};
  size_t tlen = strnlen(text, ROSTER_CRON_MAX + 1);
  const char *s = text, *e = text + tlen;
  bool ok = true;
  if (tlen > ROSTER_CRON_MAX) {
    ok = fail(&ps, text + ROSTER_CRON_MAX, "longer than %d bytes",
              ROSTER_CRON_MAX);
  } else {
    while (s < e && (is_blank(*s) || *s == '\n' || *s == '\r'))
      s++;
    while (e > s && (is_blank(e[-1]) || e[-1] == '\n' || e[-1] == '\r'))
      e--;
    if (s == e)
      ok = fail(&ps, s, "empty expression");
  }
  size_t len = ok ? (size_t)(e - s) : 0;
  roster_cron *c = NULL;
  if (ok) {
    c = roster_mem_calloc(1, sizeof *c + len + 1);
    if (!c)
      return roster_error_set(ROSTER_ENOMEM, "cron expression: out of memory");
    memcpy(c->text, s, len);
    c->text[len] = '\0';
  }
  if (ok && *s == '@') {
    const char *w = s + 1, *we = w;
    while (we < e && !is_blank(*we))
      we++;
    const char *exp = NULL;
    for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++)
      if (ieq(w, (size_t)(we - w), macros[i].name))
        exp = macros[i].expansion;
    if (!exp && ieq(w, (size_t)(we - w), "reboot"))
      ok = fail(&ps, s,
                "@reboot is not a time: use the job's run_on_start option");
    else if (!exp) {
      char b[72];
      ok = fail(
          &ps, s,
          "unknown macro '@%s' (known: @yearly @annually "
          "@monthly @weekly @daily @midnight @hourly)",
          roster__quote(b, sizeof b, w, (size_t)(we - w > 24 ? 24 : we - w)));
    } else {
      const char *j = we;
      while (j < e && is_blank(*j))
        j++;
      if (j < e)
        ok = fail(&ps, j, "unexpected text after @%.*s", (int)(we - w), w);
      else {
        /* Parse the expansion; it is valid, so no error can point into it. */
        pstate xs = {exp, err};
        ok = parse_fields(&xs, exp, strlen(exp), c);
      }
    }
  } else if (ok) {
    for (const char *p = s; p < e && ok; p++)
      if ((unsigned char)*p < 0x20 && !is_blank(*p)) {
        char b[8];
        ok = fail(&ps, p, "unexpected character '%s'", show(*p, b));
      }
    if (ok)
      ok = parse_fields(&ps, s, len, c);
  }
  if (!ok) {
    roster_mem_free(c);
    char q[80];
    size_t shown = strnlen(text, 60);
    snprintf(q, sizeof q, "%.*s%s", (int)shown, text, text[shown] ? "..." : "");
    for (char *p = q; *p; p++)
      if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
        *p = '?';
    return roster_error_set(ROSTER_EINVAL,
                            "cron expression '%s': column %zu: %s", q,
                            err->column, err->message);
  }
  finish(c);
  *out = c;
  return ROSTER_OK;
}

void roster_cron_free(roster_cron *c) { roster_mem_free(c); }

const char *roster_cron_text(const roster_cron *c) { return c ? c->text : ""; }
