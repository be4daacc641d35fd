/*
 * convert.c: turning config values into C values, shared by the getters
 * and the schema. Typed values (a YAML integer, a TOML boolean) convert only
 * to their own type; untyped text (environment variables, overrides,
 * expanded strings) is parsed on demand. Durations and sizes are parsed
 * exactly, in integer arithmetic: "1.5s" is 1500 ms, "0.5ms" is refused
 * rather than rounded.
 */
#include "config_impl.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <strings.h>

const char *roster_config_kind_name(roster_config_kind t) {
  switch (t) {
  case ROSTER_CONFIG_ANY:
    return "any";
  case ROSTER_CONFIG_STRING:
    return "string";
  case ROSTER_CONFIG_INT:
    return "integer";
  case ROSTER_CONFIG_DOUBLE:
    return "number";
  case ROSTER_CONFIG_BOOL:
    return "boolean";
  case ROSTER_CONFIG_DURATION:
    return "duration";
  case ROSTER_CONFIG_SIZE:
    return "size";
  case ROSTER_CONFIG_LIST:
    return "list";
  case ROSTER_CONFIG_OBJECT:
    return "object";
  case ROSTER_CONFIG_NULL:
    return "null";
  }
  return "?";
}

const char *roster__config_type_want(roster_config_kind t) {
  switch (t) {
  case ROSTER_CONFIG_STRING:
    return "a string";
  case ROSTER_CONFIG_INT:
    return "an integer";
  case ROSTER_CONFIG_DOUBLE:
    return "a number";
  case ROSTER_CONFIG_BOOL:
    return "a boolean";
  case ROSTER_CONFIG_DURATION:
    return "a duration (like \"250ms\", \"30s\", \"1h30m\")";
  case ROSTER_CONFIG_SIZE:
    return "a size (like \"512\", \"64MB\", \"1GiB\")";
  case ROSTER_CONFIG_LIST:
    return "a list";
  case ROSTER_CONFIG_OBJECT:
    return "an object";
  default:
    return "a value";
  }
}

bool roster__config_is_string(const cfg_node *n) {
  return n->kind == CFG_STR || n->kind == CFG_TEXT;
}

/* trim gives the text of n without surrounding ASCII blanks. */
static void trim(const cfg_node *n, const char **s, size_t *len) {
  const char *p = n->u.s.p;
  size_t l = n->u.s.len;
  while (l && isspace((unsigned char)*p)) {
    p++;
    l--;
  }
  while (l && isspace((unsigned char)p[l - 1]))
    l--;
  *s = p;
  *len = l;
}

/* parse_int reads [sign] digits | 0x.. | 0o.. | 0b.. from [s, s+len). */
static int parse_int(const char *s, size_t len, int64_t *out) {
  if (len == 0 || len > 80)
    return ROSTER_ETYPE;
  char tmp[81];
  memcpy(tmp, s, len);
  tmp[len] = '\0';
  const char *p = tmp;
  bool neg = false;
  if (*p == '+' || *p == '-')
    neg = *p++ == '-';
  int base = 10;
  if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
    base = 16, p += 2;
  else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O'))
    base = 8, p += 2;
  else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B'))
    base = 2, p += 2;
  if (!*p)
    return ROSTER_ETYPE;
  uint64_t v = 0;
  for (; *p; p++) {
    int d;
    if (*p >= '0' && *p <= '9')
      d = *p - '0';
    else if (*p >= 'a' && *p <= 'f')
      d = *p - 'a' + 10;
    else if (*p >= 'A' && *p <= 'F')
      d = *p - 'A' + 10;
    else
      return ROSTER_ETYPE;
    if (d >= base)
      return ROSTER_ETYPE;
    if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
      return ROSTER_ERANGE;
    v = v * (uint64_t)base + (uint64_t)d;
  }
  if (neg) {
    if (v > (uint64_t)INT64_MAX + 1)
      return ROSTER_ERANGE;
    *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
  } else {
    if (v > (uint64_t)INT64_MAX)
      return ROSTER_ERANGE;
    *out = (int64_t)v;
  }
  return ROSTER_OK;
}

int roster__config_to_int(const cfg_node *n, int64_t *out) {
  if (n->kind == CFG_INT) {
    *out = n->u.i;
    return ROSTER_OK;
  }
  if (n->kind != CFG_TEXT)
    return ROSTER_ETYPE;
  const char *s;
  size_t len;
  trim(n, &s, &len);
  return parse_int(s, len, out);
}

int roster__config_to_double(const cfg_node *n, double *out) {
  if (n->kind == CFG_REAL) {
    *out = n->u.d;
    return ROSTER_OK;
  }
  if (n->kind == CFG_INT) {
    *out = (double)n->u.i;
    return ROSTER_OK;
  }
  if (n->kind != CFG_TEXT)
    return ROSTER_ETYPE;
  const char *s;
  size_t len;
  trim(n, &s, &len);
  if (len == 0 || len > 80)
    return ROSTER_ETYPE;
  char tmp[81];
  memcpy(tmp, s, len);
  tmp[len] = '\0';
  int64_t iv;
  if (parse_int(tmp, len, &iv) == ROSTER_OK) {
    *out = (double)iv;
    return ROSTER_OK;
  }
  char *end;
  errno = 0;
  double d = strtod(tmp, &end);
  if (*end || end == tmp)
    return ROSTER_ETYPE;
  if (errno == ERANGE && isinf(d))
    return ROSTER_ERANGE;
  *out = d;
  return ROSTER_OK;
}

int roster__config_to_bool(const cfg_node *n, bool *out) {
  if (n->kind == CFG_BOOL) {
    *out = n->u.b;
    return ROSTER_OK;
  }
  if (n->kind != CFG_TEXT)
    return ROSTER_ETYPE;
  static const char *const yes[] = {"true", "yes", "on", "1"};
  static const char *const no[] = {"false", "no", "off", "0"};
  const char *s;
  size_t len;
  trim(n, &s, &len);
  for (size_t i = 0; i < 4; i++) {
    if (strlen(yes[i]) == len && strncasecmp(s, yes[i], len) == 0) {
      *out = true;
      return ROSTER_OK;
    }
    if (strlen(no[i]) == len && strncasecmp(s, no[i], len) == 0) {
      *out = false;
      return ROSTER_OK;
    }
  }
  return ROSTER_ETYPE;
}

/* A decimal number: up to 18 integer digits, up to 9 fraction digits. */
typedef struct decimal {
  int64_t whole;
  int64_t frac;  /* the fraction's digits as an integer */
  int64_t scale; /* 10^(number of fraction digits) */
} decimal;

/* read_decimal reads a number at *p (< end); false if there is none or it
 * has too many digits. */
static bool read_decimal(const char **p, const char *end, decimal *d) {
  const char *s = *p;
  d->whole = 0;
  d->frac = 0;
  d->scale = 1;
  int nd = 0, nf = 0;
  while (s < end && isdigit((unsigned char)*s)) {
    if (++nd > 18)
      return false;
    d->whole = d->whole * 10 + (*s++ - '0');
  }
  if (s < end && *s == '.') {
    s++;
    while (s < end && isdigit((unsigned char)*s)) {
      if (++nf > 9)
        return false;
      d->frac = d->frac * 10 + (*s++ - '0');
      d->scale *= 10;
    }
    if (nf == 0)
      return false;
  }
  if (nd == 0 && nf == 0)
    return false;
  *p = s;
  return true;
}

/* scale_exact computes d * mult; ROSTER_ETYPE if the fraction does not come
 * out whole, ROSTER_ERANGE on overflow. */
static int scale_exact(const decimal *d, int64_t mult, int64_t *out) {
  int64_t w, f;
  if (__builtin_mul_overflow(d->whole, mult, &w))
    return ROSTER_ERANGE;
  if (__builtin_mul_overflow(d->frac, mult, &f))
    return ROSTER_ERANGE;
  if (f % d->scale)
    return ROSTER_ETYPE;
  if (__builtin_add_overflow(w, f / d->scale, out))
    return ROSTER_ERANGE;
  return ROSTER_OK;
}

static int parse_duration(const char *s, size_t len, int64_t *ms,
                          const char **why) {
  static const struct {
    const char *u;
    int64_t ms;
  } units[] = {
      {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
  const char *p = s, *end = s + len;
  if (len == 1 && *s == '0') {
    *ms = 0;
    return ROSTER_OK;
  }
  if (len && *s == '-') {
    *why = "durations cannot be negative";
    return ROSTER_ETYPE;
  }
  int64_t total = 0;
  int parts = 0;
  while (p < end) {
    while (p < end && *p == ' ')
      p++;
    if (p == end)
      break;
    decimal d;
    if (!read_decimal(&p, end, &d)) {
      *why = "expected a number and a unit (ms, s, m, h, d)";
      return ROSTER_ETYPE;
    }
    size_t k = 0;
    while (p + k < end && isalpha((unsigned char)p[k]))
      k++;
    int64_t mult = 0;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
      if (strlen(units[i].u) == k && memcmp(p, units[i].u, k) == 0)
        mult = units[i].ms;
    if (!mult) {
      *why = k ? "unknown unit (use ms, s, m, h, d)"
               : "a number needs a unit (ms, s, m, h, d)";
      return ROSTER_ETYPE;
    }
    p += k;
    int64_t v;
    int rc = scale_exact(&d, mult, &v);
    if (rc == ROSTER_ETYPE) {
      *why = "not a whole number of milliseconds";
      return rc;
    }
    if (rc || __builtin_add_overflow(total, v, &total))
      return ROSTER_ERANGE;
    parts++;
  }
  if (!parts) {
    *why = "empty";
    return ROSTER_ETYPE;
  }
  *ms = total;
  return ROSTER_OK;
}

int roster__config_to_duration(const cfg_node *n, int64_t *ms,
                               const char **why) {
  const char *dummy;
  if (!why)
    why = &dummy;
  *why = NULL;
  if (n->kind == CFG_INT) {
    if (n->u.i == 0) {
      *ms = 0;
      return ROSTER_OK;
    }
    *why = "a bare number needs a unit (ms, s, m, h, d)";
    return ROSTER_ETYPE;
  }
  if (!roster__config_is_string(n))
    return ROSTER_ETYPE;
  const char *s;
  size_t len;
  trim(n, &s, &len);
  return parse_duration(s, len, ms, why);
}

static int parse_size(const char *s, size_t len, int64_t *out,
                      const char **why) {
  static const struct {
    const char *u;
    int64_t m;
  } units[] = {
      {"", 1},
      {"b", 1},
      {"k", 1000},
      {"kb", 1000},
      {"m", 1000000},
      {"mb", 1000000},
      {"g", 1000000000},
      {"gb", 1000000000},
      {"t", 1000000000000},
      {"tb", 1000000000000},
      {"p", 1000000000000000},
      {"pb", 1000000000000000},
      {"ki", 1024},
      {"kib", 1024},
      {"mi", 1048576},
      {"mib", 1048576},
      {"gi", 1073741824},
      {"gib", 1073741824},
      {"ti", 1099511627776},
      {"tib", 1099511627776},
      {"pi", 1125899906842624},
      {"pib", 1125899906842624},
  };
  const char *p = s, *end = s + len;
  if (len && *s == '-') {
    *why = "sizes cannot be negative";
    return ROSTER_ETYPE;
  }
  decimal d;
  if (!read_decimal(&p, end, &d)) {
    *why = "expected a number and an optional unit (B, kB, MB, GB, KiB, "
           "MiB, GiB, ...)";
    return ROSTER_ETYPE;
  }
  while (p < end && *p == ' ')
    p++;
  size_t k = (size_t)(end - p);
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    if (strlen(units[i].u) == k && strncasecmp(p, units[i].u, k) == 0) {
      int rc = scale_exact(&d, units[i].m, out);
      if (rc == ROSTER_ETYPE)
        *why = "not a whole number of bytes";
      return rc;
    }
  *why = "unknown unit (use B, kB, MB, GB, TB, PB or KiB, MiB, GiB, TiB, "
         "PiB)";
  return ROSTER_ETYPE;
}

int roster__config_to_size(const cfg_node *n, int64_t *out, const char **why) {
  const char *dummy;
  if (!why)
    why = &dummy;
  *why = NULL;
  if (n->kind == CFG_INT) {
    if (n->u.i < 0) {
      *why = "sizes cannot be negative";
      return ROSTER_ETYPE;
    }
    *out = n->u.i;
    return ROSTER_OK;
  }
  if (!roster__config_is_string(n))
    return ROSTER_ETYPE;
  const char *s;
  size_t len;
  trim(n, &s, &len);
  return parse_size(s, len, out, why);
}

long roster__config_list_count(const cfg_node *n) {
  if (n->kind == CFG_ARR) {
    for (size_t i = 0; i < n->u.arr.n; i++) {
      int k = n->u.arr.v[i]->kind;
      if (k == CFG_OBJ || k == CFG_ARR)
        return -1;
    }
    return (long)n->u.arr.n;
  }
  if (n->kind != CFG_TEXT)
    return -1;
  const char *s;
  size_t len;
  trim(n, &s, &len);
  if (len == 0)
    return 0;
  long c = 1;
  for (size_t i = 0; i < len; i++)
    c += s[i] == ',';
  return c;
}
