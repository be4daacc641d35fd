/*
 * toml_value.c: TOML 1.0 scalar values, written here because Debian 12
 * packages no C TOML library. Strings (basic and literal, single- and
 * multi-line, every escape including \uXXXX and \UXXXXXXXX), integers
 * (decimal, 0x, 0o, 0b, underscores between digits), floats (with
 * exponents, inf, nan), booleans, and the four date/time forms. Dates and
 * times are kept as strings, checked and written in RFC 3339 form ("T"
 * between date and time, "Z" upper case): "1979-05-27T07:32:00Z",
 * "1979-05-27T07:32:00" (local), "1979-05-27", "07:32:00.999".
 */
#include "toml_impl.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

static bool ctrl(int c) {
  return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7F;
}

static void put_utf8(cfg_buf *b, uint32_t cp) {
  char o[4];
  size_t n;
  if (cp < 0x80) {
    o[0] = (char)cp;
    n = 1;
  } else if (cp < 0x800) {
    o[0] = (char)(0xC0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3F));
    n = 2;
  } else if (cp < 0x10000) {
    o[0] = (char)(0xE0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    n = 3;
  } else {
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    n = 4;
  }
  roster__config_buf_add(b, o, n);
}

/* escape handles the escape at pos (on the backslash). */
static int escape(tp *p, cfg_buf *b) {
  size_t at = p->pos;
  int e = tp_at(p, 1);
  p->pos += 2;
  switch (e) {
  case 'b':
    roster__config_buf_addc(b, '\b');
    return ROSTER_OK;
  case 't':
    roster__config_buf_addc(b, '\t');
    return ROSTER_OK;
  case 'n':
    roster__config_buf_addc(b, '\n');
    return ROSTER_OK;
  case 'f':
    roster__config_buf_addc(b, '\f');
    return ROSTER_OK;
  case 'r':
    roster__config_buf_addc(b, '\r');
    return ROSTER_OK;
  case '"':
    roster__config_buf_addc(b, '"');
    return ROSTER_OK;
  case '\\':
    roster__config_buf_addc(b, '\\');
    return ROSTER_OK;
  case 'u':
  case 'U': {
    size_t n = e == 'u' ? 4 : 8;
    uint32_t cp = 0;
    for (size_t i = 0; i < n; i++) {
      int h = tp_peek(p);
      if (h < 0 || !isxdigit(h))
        return roster__toml_fail(p, at, "\\%c needs %zu hex digits", e, n);
      cp = cp * 16 + (uint32_t)(isdigit(h) ? h - '0' : (h | 0x20) - 'a' + 10);
      p->pos++;
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return roster__toml_fail(p, at, "\\%c%0*X is not a Unicode scalar value",
                               e, (int)n, cp);
    if (cp == 0)
      return roster__toml_fail(p, at,
                               "a NUL character is not supported in config "
                               "values");
    put_utf8(b, cp);
    return ROSTER_OK;
  }
  default:
    if (e < 0 || e == '\n' || e == '\r')
      return roster__toml_fail(p, at,
                               "a backslash at the end of a line is only "
                               "allowed in multi-line basic strings (\"\"\")");
    return roster__toml_fail(p, at,
                             "unknown escape '\\%c' (use \\b \\t \\n \\f \\r "
                             "\\\" \\\\ \\uXXXX \\UXXXXXXXX)",
                             e);
  }
}

/* ml_close: at pos a run of q quotes (q >= 3) ends a multi-line string;
 * the string keeps q - 3 of them (at most 2). */
static int ml_close(tp *p, char quote, cfg_buf *b, bool *done) {
  size_t q = 0;
  while (tp_at(p, q) == quote)
    q++;
  if (q < 3) {
    roster__config_buf_add(b, p->s + p->pos, q);
    p->pos += q;
    *done = false;
    return ROSTER_OK;
  }
  if (q > 5)
    return roster__toml_fail(p, p->pos + 5,
                             "too many quotes at the end of a "
                             "multi-line string");
  roster__config_buf_add(b, p->s + p->pos, q - 3);
  p->pos += q;
  *done = true;
  return ROSTER_OK;
}

static int string_body(tp *p, bool basic, bool ml, cfg_buf *b) {
  char quote = basic ? '"' : '\'';
  size_t start = p->pos;
  p->pos += ml ? 3 : 1;
  if (ml)
    roster__toml_newline(p); /* a newline right after the opening is trimmed */
  for (;;) {
    int c = tp_peek(p);
    if (c < 0)
      return roster__toml_fail(p, start, "unterminated string");
    if (c == quote) {
      if (!ml) {
        p->pos++;
        return ROSTER_OK;
      }
      bool done = false;
      int rc = ml_close(p, quote, b, &done);
      if (rc || done)
        return rc;
      continue;
    }
    if (c == '\n' || (c == '\r' && tp_at(p, 1) == '\n')) {
      if (!ml)
        return roster__toml_fail(p, start,
                                 "unterminated string (a single-line "
                                 "string ends on its line)");
      roster__toml_newline(p);
      roster__config_buf_addc(b, '\n');
      continue;
    }
    if (basic && c == '\\') {
      if (ml) {
        /* a line-ending backslash trims the newline and the blanks and
         * newlines after it */
        size_t k = 1;
        while (tp_at(p, k) == ' ' || tp_at(p, k) == '\t')
          k++;
        if (tp_at(p, k) == '\n' ||
            (tp_at(p, k) == '\r' && tp_at(p, k + 1) == '\n')) {
          p->pos += k;
          for (;;) {
            int w = tp_peek(p);
            if (w == ' ' || w == '\t')
              p->pos++;
            else if (!roster__toml_newline(p))
              break;
          }
          continue;
        }
      }
      int rc = escape(p, b);
      if (rc)
        return rc;
      continue;
    }
    if (ctrl(c))
      return roster__toml_fail(p, p->pos,
                               "control character U+%04X in a string "
                               "(write it as an escape)",
                               c);
    roster__config_buf_addc(b, (char)c);
    p->pos++;
  }
}

int roster__toml_string(tp *p, bool multiline, const char **out, size_t *len) {
  int q = tp_peek(p);
  bool basic = q == '"';
  bool ml = multiline && tp_at(p, 1) == q && tp_at(p, 2) == q;
  cfg_buf b = {0};
  int rc = string_body(p, basic, ml, &b);
  if (rc == ROSTER_OK) {
    char *s = b.oom ? NULL
                    : roster__config_strndup(p->d->arena,
                                             roster__config_buf_str(&b), b.n);
    if (!s) {
      rc = roster__toml_oom(p);
    } else {
      *out = s;
      *len = b.n;
    }
  }
  roster__config_buf_free(&b);
  return rc;
}

/* ---- numbers ---- */

static bool is_delim(int c) {
  return c < 0 || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' ||
         c == ']' || c == '}' || c == '#';
}

/* digits_ok: [s, s+n) is digits of the class, underscores only between
 * digits. */
static bool digits_ok(const char *s, size_t n, int (*cls)(int)) {
  if (n == 0 || !cls((unsigned char)s[0]) || !cls((unsigned char)s[n - 1]))
    return false;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '_') {
      if (!cls((unsigned char)s[i + 1]) || !cls((unsigned char)s[i - 1]))
        return false;
    } else if (!cls((unsigned char)s[i])) {
      return false;
    }
  }
  return true;
}

static int is_dec(int c) { return c >= '0' && c <= '9'; }
static int is_oct(int c) { return c >= '0' && c <= '7'; }
static int is_bin(int c) { return c == '0' || c == '1'; }
static int is_hex(int c) { return isxdigit(c); }

/* strip copies [s, s+n) without underscores into buf. */
static void strip(char *buf, const char *s, size_t n) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] != '_')
      buf[o++] = s[i];
  buf[o] = '\0';
}

/* dec_int_ok: a decimal integer part: "0" or no leading zero. */
static bool dec_int_ok(const char *s, size_t n) {
  if (!digits_ok(s, n, is_dec))
    return false;
  return !(n > 1 && s[0] == '0');
}

static int number(tp *p, size_t at, size_t n, cfg_node **out) {
  const char *t = p->s + at;
  char buf[256];
  if (n >= sizeof buf)
    return roster__toml_fail(p, at, "number is too long");
  /* prefixed integers */
  if (n > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'o' || t[1] == 'b')) {
    int base = t[1] == 'x' ? 16 : t[1] == 'o' ? 8 : 2;
    int (*cls)(int) = base == 16 ? is_hex : base == 8 ? is_oct : is_bin;
    if (!digits_ok(t + 2, n - 2, cls))
      return roster__toml_fail(p, at, "invalid %s integer '%.*s'",
                               base == 16  ? "hexadecimal"
                               : base == 8 ? "octal"
                                           : "binary",
                               (int)n, t);
    strip(buf, t + 2, n - 2);
    errno = 0;
    unsigned long long v = strtoull(buf, NULL, base);
    if (errno == ERANGE || v > (unsigned long long)INT64_MAX)
      return roster__toml_fail(p, at, "integer '%.*s' does not fit in 64 bits",
                               (int)n, t);
    cfg_node *nd = roster__toml_node(p, CFG_INT, at);
    if (!nd)
      return roster__toml_oom(p);
    nd->u.i = (int64_t)v;
    *out = nd;
    return ROSTER_OK;
  }
  size_t i = (t[0] == '+' || t[0] == '-') ? 1 : 0;
  size_t ip = i;
  while (ip < n && (is_dec(t[ip]) || t[ip] == '_'))
    ip++;
  if (ip == n) {
    if (!dec_int_ok(t + i, n - i))
      return roster__toml_fail(p, at, "invalid integer '%.*s'%s", (int)n, t,
                               n - i > 1 && t[i] == '0'
                                   ? " (leading zeros are not "
                                     "allowed)"
                                   : "");
    strip(buf, t, n);
    errno = 0;
    long long v = strtoll(buf, NULL, 10);
    if (errno == ERANGE)
      return roster__toml_fail(p, at, "integer '%.*s' does not fit in 64 bits",
                               (int)n, t);
    cfg_node *nd = roster__toml_node(p, CFG_INT, at);
    if (!nd)
      return roster__toml_oom(p);
    nd->u.i = v;
    *out = nd;
    return ROSTER_OK;
  }
  /* a float: int part, then a fraction and/or an exponent */
  bool ok = dec_int_ok(t + i, ip - i);
  size_t k = ip;
  if (ok && k < n && t[k] == '.') {
    size_t f = ++k;
    while (k < n && (is_dec(t[k]) || t[k] == '_'))
      k++;
    ok = digits_ok(t + f, k - f, is_dec);
  }
  if (ok && k < n && (t[k] == 'e' || t[k] == 'E')) {
    k++;
    if (k < n && (t[k] == '+' || t[k] == '-'))
      k++;
    size_t e = k;
    while (k < n && (is_dec(t[k]) || t[k] == '_'))
      k++;
    ok = digits_ok(t + e, k - e, is_dec);
  }
  if (!ok || k != n || k == ip)
    return roster__toml_fail(p, at, "invalid number '%.*s'", (int)n, t);
  strip(buf, t, n);
  errno = 0;
  double v = strtod(buf, NULL);
  if (errno == ERANGE && isinf(v))
    return roster__toml_fail(p, at, "number '%.*s' is out of range", (int)n, t);
  cfg_node *nd = roster__toml_node(p, CFG_REAL, at);
  if (!nd)
    return roster__toml_oom(p);
  nd->u.d = v;
  *out = nd;
  return ROSTER_OK;
}

/* ---- dates and times ---- */

static bool dd(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!is_dec(s[i]))
      return false;
  return true;
}

static int num(const char *s, size_t n) {
  int v = 0;
  for (size_t i = 0; i < n; i++)
    v = v * 10 + (s[i] - '0');
  return v;
}

static bool looks_date(const char *s, size_t n) {
  return n >= 10 && dd(s, 4) && s[4] == '-' && dd(s + 5, 2) && s[7] == '-' &&
         dd(s + 8, 2);
}

static bool looks_time(const char *s, size_t n) {
  return n >= 5 && dd(s, 2) && s[2] == ':' && dd(s + 3, 2);
}

/* time_len checks HH:MM:SS[.frac] at s (n bytes left); 0 if invalid. */
static size_t time_len(const char *s, size_t n, const char **why) {
  if (n < 8 || !dd(s, 2) || s[2] != ':' || !dd(s + 3, 2) || s[5] != ':' ||
      !dd(s + 6, 2)) {
    *why = "a time is HH:MM:SS";
    return 0;
  }
  if (num(s, 2) > 23 || num(s + 3, 2) > 59 || num(s + 6, 2) > 60) {
    *why = "hour, minute or second out of range";
    return 0;
  }
  size_t k = 8;
  if (k < n && s[k] == '.') {
    size_t f = ++k;
    while (k < n && is_dec(s[k]))
      k++;
    if (k == f) {
      *why = "a fraction of a second needs digits";
      return 0;
    }
  }
  return k;
}

static int datetime(tp *p, size_t at, cfg_node **out) {
  const char *s = p->s + at;
  size_t n = p->len - at;
  const char *why = NULL;
  cfg_buf b = {0};
  size_t k = 0;
  if (looks_date(s, n)) {
    int y = num(s, 4), m = num(s + 5, 2), d = num(s + 8, 2);
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m < 1 || m > 12 || d < 1 || d > dim[m - 1] + (m == 2 && leap ? 1 : 0)) {
      roster__config_buf_free(&b);
      return roster__toml_fail(p, at, "invalid date '%.10s'", s);
    }
    roster__config_buf_add(&b, s, 10);
    k = 10;
    bool t = k < n && (s[k] == 'T' || s[k] == 't');
    bool sp = k + 1 < n && s[k] == ' ' && looks_time(s + k + 1, n - k - 1);
    if (t || sp) {
      size_t tl = time_len(s + k + 1, n - k - 1, &why);
      if (!tl) {
        roster__config_buf_free(&b);
        return roster__toml_fail(p, at + k + 1, "invalid time: %s", why);
      }
      roster__config_buf_addc(&b, 'T');
      roster__config_buf_add(&b, s + k + 1, tl);
      k += 1 + tl;
      if (k < n && (s[k] == 'Z' || s[k] == 'z')) {
        roster__config_buf_addc(&b, 'Z');
        k++;
      } else if (k < n && (s[k] == '+' || s[k] == '-')) {
        if (n - k < 6 || !dd(s + k + 1, 2) || s[k + 3] != ':' ||
            !dd(s + k + 4, 2) || num(s + k + 1, 2) > 23 ||
            num(s + k + 4, 2) > 59) {
          roster__config_buf_free(&b);
          return roster__toml_fail(p, at + k,
                                   "invalid time offset (want +HH:MM, "
                                   "-HH:MM or Z)");
        }
        roster__config_buf_add(&b, s + k, 6);
        k += 6;
      }
    }
  } else {
    size_t tl = time_len(s, n, &why);
    if (!tl) {
      roster__config_buf_free(&b);
      return roster__toml_fail(p, at, "invalid time: %s", why);
    }
    roster__config_buf_add(&b, s, tl);
    k = tl;
  }
  if (!is_delim(k < n ? (unsigned char)s[k] : -1)) {
    roster__config_buf_free(&b);
    return roster__toml_fail(p, at + k, "unexpected '%c' after a date or time",
                             s[k]);
  }
  cfg_node *nd = b.oom ? NULL : roster__toml_node(p, CFG_STR, at);
  if (nd) {
    nd->u.s.p =
        roster__config_strndup(p->d->arena, roster__config_buf_str(&b), b.n);
    nd->u.s.len = b.n;
  }
  roster__config_buf_free(&b);
  if (!nd || !nd->u.s.p)
    return roster__toml_oom(p);
  p->pos = at + k;
  *out = nd;
  return ROSTER_OK;
}

static bool word(const tp *p, size_t at, const char *w) {
  size_t n = strlen(w);
  return at + n <= p->len && memcmp(p->s + at, w, n) == 0 &&
         is_delim(at + n < p->len ? (unsigned char)p->s[at + n] : -1);
}

int roster__toml_scalar(tp *p, cfg_node **out) {
  size_t at = p->pos;
  const char *s = p->s + at;
  size_t left = p->len - at;
  if (word(p, at, "true") || word(p, at, "false")) {
    cfg_node *n = roster__toml_node(p, CFG_BOOL, at);
    if (!n)
      return roster__toml_oom(p);
    n->u.b = s[0] == 't';
    p->pos += n->u.b ? 4 : 5;
    *out = n;
    return ROSTER_OK;
  }
  size_t sign = (s[0] == '+' || s[0] == '-') ? 1 : 0;
  if (word(p, at + sign, "inf") || word(p, at + sign, "nan")) {
    cfg_node *n = roster__toml_node(p, CFG_REAL, at);
    if (!n)
      return roster__toml_oom(p);
    bool nan = s[sign] == 'n';
    n->u.d = nan ? NAN : (s[0] == '-' ? -INFINITY : INFINITY);
    p->pos += sign + 3;
    *out = n;
    return ROSTER_OK;
  }
  if (looks_date(s, left) || looks_time(s, left))
    return datetime(p, at, out);
  if (sign >= left || !is_dec(s[sign]))
    return roster__toml_fail(p, at,
                             "expected a value (a string, number, boolean, "
                             "date, array or inline table)");
  size_t n = 0;
  while (at + n < p->len) {
    char c = p->s[at + n];
    if (isalnum((unsigned char)c) || c == '_' || c == '.' ||
        ((c == '+' || c == '-') &&
         (n == 0 || p->s[at + n - 1] == 'e' || p->s[at + n - 1] == 'E')))
      n++;
    else
      break;
  }
  int rc = number(p, at, n, out);
  if (rc == ROSTER_OK)
    p->pos = at + n;
  return rc;
}
