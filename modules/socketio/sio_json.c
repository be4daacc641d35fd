/*
 * sio_json.c: walking and writing a payload tree the way socket.io-parser
 * and JSON.stringify do (sio_codec.h): object members with array-index
 * keys first, in ascending order, then the rest in insertion order (the
 * order of a JavaScript object's own keys); strings escaped only where
 * JSON.stringify escapes (quote, backslash, controls: \b \f \n \r \t,
 * others \u00xx in lower case); numbers in JavaScript's Number#toString
 * form. Writing the same bytes as the JavaScript encoder lets the interop
 * test compare encodings byte for byte.
 */
#include "sio_codec.h"

#include <roster.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool roster__sio_is_placeholder(const json_t *v) {
  return json_is_object(v) && json_is_true(json_object_get(v, "_placeholder"));
}

/* ---- numbers ------------------------------------------------------------- */

/* write_double writes d as Number.prototype.toString does: the shortest
 * digits that read back as d, fixed notation for exponents -7 < e < 21. */
static int write_double(roster__eio_buf *b, double d) {
  char s[48], digits[24];
  if (!isfinite(d))
    return roster__eio_buf_add(b, "null", 4); /* as JSON.stringify */
  if (d == 0)
    return roster__eio_buf_addc(b, '0'); /* -0 too */
  int p;
  for (p = 1; p <= 17; p++) {
    snprintf(s, sizeof s, "%.*e", p - 1, d);
    if (strtod(s, NULL) == d)
      break;
  }
  /* s is "[-]d[.ddd]e[+-]xx" */
  const char *q = s;
  bool neg = *q == '-';
  q += neg;
  size_t k = 0;
  for (; *q && *q != 'e'; q++)
    if (*q >= '0' && *q <= '9')
      digits[k++] = *q;
  while (k > 1 && digits[k - 1] == '0')
    k--;
  long n = strtol(q + 1, NULL, 10) + 1; /* the decimal point after n digits */
  char o[64];
  size_t w = 0;
  if (neg)
    o[w++] = '-';
  if ((long)k <= n && n <= 21) {
    memcpy(o + w, digits, k), w += k;
    for (long i = (long)k; i < n; i++)
      o[w++] = '0';
  } else if (0 < n && n <= 21) {
    memcpy(o + w, digits, (size_t)n), w += (size_t)n;
    o[w++] = '.';
    memcpy(o + w, digits + n, k - (size_t)n), w += k - (size_t)n;
  } else if (-6 < n && n <= 0) {
    o[w++] = '0', o[w++] = '.';
    for (long i = 0; i < -n; i++)
      o[w++] = '0';
    memcpy(o + w, digits, k), w += k;
  } else {
    o[w++] = digits[0];
    if (k > 1) {
      o[w++] = '.';
      memcpy(o + w, digits + 1, k - 1), w += k - 1;
    }
    w += (size_t)snprintf(o + w, sizeof o - w, "e%c%ld", n - 1 >= 0 ? '+' : '-',
                          labs(n - 1));
  }
  return roster__eio_buf_add(b, o, w);
}

/* ---- strings ------------------------------------------------------------- */

static int write_string(roster__eio_buf *b, const char *s, size_t n) {
  int rc = roster__eio_buf_addc(b, '"');
  size_t run = 0; /* start of the bytes not yet written */
  for (size_t i = 0; !rc && i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    char esc[8];
    size_t e = 2;
    esc[0] = '\\';
    switch (c) {
    case '"':
      esc[1] = '"';
      break;
    case '\\':
      esc[1] = '\\';
      break;
    case '\b':
      esc[1] = 'b';
      break;
    case '\f':
      esc[1] = 'f';
      break;
    case '\n':
      esc[1] = 'n';
      break;
    case '\r':
      esc[1] = 'r';
      break;
    case '\t':
      esc[1] = 't';
      break;
    default:
      e = (size_t)snprintf(esc, sizeof esc, "\\u%04x", c);
    }
    rc = roster__eio_buf_add(b, s + run, i - run);
    rc = rc ? rc : roster__eio_buf_add(b, esc, e);
    run = i + 1;
  }
  rc = rc ? rc : roster__eio_buf_add(b, s + run, n - run);
  return rc ? rc : roster__eio_buf_addc(b, '"');
}

/* ---- key order ----------------------------------------------------------- */

/* index_key: key is a canonical array index (0 .. 2^32 - 2), as a
 * JavaScript object orders it; *v is its value. */
static bool index_key(const char *key, size_t n, uint64_t *v) {
  if (n == 0 || n > 10 || (n > 1 && key[0] == '0'))
    return false;
  uint64_t x = 0;
  for (size_t i = 0; i < n; i++) {
    if (key[i] < '0' || key[i] > '9')
      return false;
    x = x * 10 + (uint64_t)(key[i] - '0');
  }
  *v = x;
  return x < 4294967295u;
}

typedef struct okey {
  const char *key;
  size_t len;
  json_t *val;
  uint64_t index; /* UINT64_MAX: not an index */
  size_t order;   /* insertion order */
} okey;

static int okey_cmp(const void *pa, const void *pb) {
  const okey *a = pa, *b = pb;
  if (a->index != b->index)
    return a->index < b->index ? -1 : 1;
  return a->order < b->order ? -1 : a->order > b->order;
}

/* ordered_members lists obj's members in JavaScript's order; *keys is
 * NULL (the caller iterates in insertion order) when no key is an index. */
static int ordered_members(json_t *obj, okey **keys, size_t *n) {
  const char *key;
  size_t len, i = 0;
  json_t *val;
  uint64_t x;
  bool any = false;
  *keys = NULL;
  *n = json_object_size(obj);
  json_object_keylen_foreach(obj, key, len, val) {
    if (index_key(key, len, &x)) {
      any = true;
      break;
    }
  }
  if (!any)
    return ROSTER_OK;
  okey *k = roster_mem_calloc(*n, sizeof *k);
  if (!k)
    return roster_error_set(ROSTER_ENOMEM, "socket.io: out of memory");
  json_object_keylen_foreach(obj, key, len, val) {
    k[i] = (okey){key, len, val, UINT64_MAX, i};
    if (index_key(key, len, &x))
      k[i].index = x;
    i++;
  }
  qsort(k, *n, sizeof *k, okey_cmp);
  *keys = k;
  return ROSTER_OK;
}

/* ---- the walk ------------------------------------------------------------ */

static int walk(roster__sio_walk *w, json_t *v, size_t depth);

static int walk_member(roster__sio_walk *w, bool first, const char *key,
                       size_t len, json_t *val, size_t depth) {
  int rc = ROSTER_OK;
  if (w->out) {
    if (!first)
      rc = roster__eio_buf_addc(w->out, ',');
    rc = rc ? rc : write_string(w->out, key, len);
    rc = rc ? rc : roster__eio_buf_addc(w->out, ':');
  }
  return rc ? rc : walk(w, val, depth);
}

static int walk_object(roster__sio_walk *w, json_t *v, size_t depth) {
  okey *keys;
  size_t n;
  int rc = ordered_members(v, &keys, &n);
  if (!rc && w->out)
    rc = roster__eio_buf_addc(w->out, '{');
  if (keys) {
    for (size_t i = 0; !rc && i < n; i++)
      rc = walk_member(w, i == 0, keys[i].key, keys[i].len, keys[i].val, depth);
    roster_mem_free(keys);
  } else if (!rc) {
    const char *key;
    size_t len;
    json_t *val;
    bool first = true;
    json_object_keylen_foreach(v, key, len, val) {
      if ((rc = walk_member(w, first, key, len, val, depth)))
        break;
      first = false;
    }
  }
  if (!rc && w->out)
    rc = roster__eio_buf_addc(w->out, '}');
  return rc;
}

static int walk(roster__sio_walk *w, json_t *v, size_t depth) {
  int rc = ROSTER_OK;
  char num[32];
  if ((json_is_object(v) || json_is_array(v)) && ++depth > w->max_depth)
    return roster_error_set(ROSTER_ERANGE,
                            "socket.io: payload nested deeper than %zu "
                            "levels",
                            w->max_depth);
  switch (json_typeof(v)) {
  case JSON_OBJECT:
    if (w->binary && roster__sio_is_placeholder(v)) {
      size_t k = 0;
      rc = w->on_placeholder(w->ctx, v, &k);
      if (!rc && w->out) {
        int m = snprintf(num, sizeof num, "%zu", k);
        rc = roster__eio_buf_add(w->out, "{\"_placeholder\":true,\"num\":", 27);
        rc = rc ? rc : roster__eio_buf_add(w->out, num, (size_t)m);
        rc = rc ? rc : roster__eio_buf_addc(w->out, '}');
      }
      return rc;
    }
    return walk_object(w, v, depth);
  case JSON_ARRAY:
    rc = w->out ? roster__eio_buf_addc(w->out, '[') : ROSTER_OK;
    for (size_t i = 0; !rc && i < json_array_size(v); i++) {
      if (i && w->out)
        rc = roster__eio_buf_addc(w->out, ',');
      rc = rc ? rc : walk(w, json_array_get(v, i), depth);
    }
    return rc ? rc : w->out ? roster__eio_buf_addc(w->out, ']') : ROSTER_OK;
  default:
    break;
  }
  if (!w->out)
    return ROSTER_OK;
  switch (json_typeof(v)) {
  case JSON_STRING:
    return write_string(w->out, json_string_value(v), json_string_length(v));
  case JSON_INTEGER: {
    int m = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT,
                     json_integer_value(v));
    return roster__eio_buf_add(w->out, num, (size_t)m);
  }
  case JSON_REAL:
    return write_double(w->out, json_real_value(v));
  case JSON_TRUE:
    return roster__eio_buf_add(w->out, "true", 4);
  case JSON_FALSE:
    return roster__eio_buf_add(w->out, "false", 5);
  default:
    return roster__eio_buf_add(w->out, "null", 4);
  }
}

int roster__sio_json_walk(roster__sio_walk *w, json_t *v) {
  return walk(w, v, 0);
}
