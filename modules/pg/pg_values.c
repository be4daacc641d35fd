/*
 * pg_values.c: values between roster and libpq: parameters (numbers
 * printed for the text format, text copied with its NUL, blobs sent in
 * binary as bytea), column values (text form parsed into int64 and
 * double, booleans as 1/0, bytea's hex form decoded), and errors (the
 * SQLSTATE mapped to a roster code, the server's message kept).
 */
#include "pg_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- errors ---- */

static int code_for(PGconn *pg, const char *st) {
  if (PQstatus(pg) == CONNECTION_BAD)
    return ROSTER_ECONN;
  if (!st || strlen(st) != 5)
    return ROSTER_EREMOTE;
  if (strncmp(st, "23", 2) == 0)
    return ROSTER_ECONSTRAINT;
  if (strcmp(st, "25006") == 0)
    return ROSTER_EREADONLY;
  if (strncmp(st, "08", 2) == 0 || strcmp(st, "57P01") == 0 ||
      strcmp(st, "57P02") == 0 || strcmp(st, "57P03") == 0 ||
      strcmp(st, "53300") == 0)
    return ROSTER_ECONN;
  return ROSTER_EREMOTE;
}

/* one_line copies s into buf with its trailing newline gone and inner
 * newlines and tabs made spaces (libpq's connection messages span
 * lines). */
static const char *one_line(char *buf, size_t cap, const char *s) {
  snprintf(buf, cap, "%s", s ? s : "");
  size_t n = strlen(buf);
  while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
    buf[--n] = '\0';
  for (char *p = buf; *p; p++)
    if (*p == '\n' || *p == '\t')
      *p = ' ';
  return buf;
}

int roster__pg_err_result(PGconn *pg, const PGresult *res) {
  const char *primary =
      res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  if (!primary)
    return roster__pg_err_conn(pg, NULL);
  const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  const char *det = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
  const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
  return roster_error_set(code_for(pg, st), "%s (SQLSTATE %s)%s%s%s%s", primary,
                          st ? st : "?", det ? "; detail: " : "",
                          det ? det : "", hint ? "; hint: " : "",
                          hint ? hint : "");
}

int roster__pg_err_conn(PGconn *pg, const char *what) {
  char line[900];
  one_line(line, sizeof line, pg ? PQerrorMessage(pg) : "out of memory");
  int code = !pg                              ? ROSTER_ENOMEM
             : PQstatus(pg) == CONNECTION_BAD ? ROSTER_ECONN
                                              : ROSTER_EREMOTE;
  return roster_error_set(code, "%s%s%s", what ? what : "", what ? ": " : "",
                          *line ? line : "no message");
}

/* ---- types ---- */

enum {
  OID_BOOL = 16,
  OID_BYTEA = 17,
  OID_INT8 = 20,
  OID_INT2 = 21,
  OID_INT4 = 23,
  OID_OID = 26,
  OID_FLOAT4 = 700,
  OID_FLOAT8 = 701
};

roster_db_kind roster__pg_oid_type(Oid oid) {
  switch (oid) {
  case OID_BOOL:
  case OID_INT2:
  case OID_INT4:
  case OID_INT8:
  case OID_OID:
    return ROSTER_DB_INT;
  case OID_FLOAT4:
  case OID_FLOAT8:
    return ROSTER_DB_DOUBLE;
  case OID_BYTEA:
    return ROSTER_DB_BLOB;
  default:
    return ROSTER_DB_TEXT;
  }
}

Oid roster__pg_param_oid(roster_db_kind t) {
  switch (t) {
  case ROSTER_DB_INT:
    return OID_INT8;
  case ROSTER_DB_DOUBLE:
    return OID_FLOAT8;
  case ROSTER_DB_BLOB:
    return OID_BYTEA;
  default:
    return 0; /* text, NULL: the server infers the type */
  }
}

/* ---- parameters ---- */

int roster__pg_bind(pg_stmt *s, const roster_db_value *p, size_t n,
                    const char **vals, int *lens, int *fmts) {
  /* One pass to size the arena (numbers take at most 32 bytes), one to
   * fill it, so that pointers into it stay put. */
  size_t need = 0;
  for (size_t i = 0; i < n; i++) {
    if (p[i].type == ROSTER_DB_INT || p[i].type == ROSTER_DB_DOUBLE)
      need += 32;
    else if (p[i].type == ROSTER_DB_TEXT)
      need += p[i].u.b.len + 1;
  }
  if (need > s->arena_cap) {
    char *a = roster_mem_realloc(s->arena, need);
    if (!a)
      return roster_error_set(ROSTER_ENOMEM, "out of memory");
    s->arena = a;
    s->arena_cap = need;
  }
  char *w = s->arena;
  for (size_t i = 0; i < n; i++) {
    fmts[i] = 0;
    lens[i] = 0;
    vals[i] = NULL;
    switch (p[i].type) {
    case ROSTER_DB_INT:
      snprintf(w, 32, "%" PRId64, p[i].u.i);
      vals[i] = w;
      w += 32;
      break;
    case ROSTER_DB_DOUBLE: {
      double d = p[i].u.d;
      if (isnan(d))
        snprintf(w, 32, "NaN");
      else if (isinf(d))
        snprintf(w, 32, "%sInfinity", d < 0 ? "-" : "");
      else
        snprintf(w, 32, "%.17g", d);
      vals[i] = w;
      w += 32;
      break;
    }
    case ROSTER_DB_TEXT:
      if (p[i].u.b.len)
        memcpy(w, p[i].u.b.p, p[i].u.b.len);
      w[p[i].u.b.len] = '\0';
      vals[i] = w;
      w += p[i].u.b.len + 1;
      break;
    case ROSTER_DB_BLOB:
      if (p[i].u.b.len > INT32_MAX)
        return roster_error_set(ROSTER_ERANGE,
                                "postgresql: parameter %zu: "
                                "a blob of %zu bytes is over 2 GiB",
                                i + 1, p[i].u.b.len);
      vals[i] = p[i].u.b.len ? p[i].u.b.p : "";
      lens[i] = (int)p[i].u.b.len;
      fmts[i] = 1; /* binary: bytea's bytes as they are */
      break;
    default:
      break; /* NULL */
    }
  }
  return ROSTER_OK;
}

/* ---- values ---- */

static int hexval(unsigned char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* decode_bytea turns the text form of a bytea (hex, "\x0102...", or the
 * old escape form) into bytes held by the cursor for this row. */
static int decode_bytea(pg_cur *c, size_t col, const char *s, size_t len,
                        roster_db_value *out) {
  if (len >= 2 && s[0] == '\\' && s[1] == 'x') {
    size_t n = (len - 2) / 2;
    if (n + 1 > c->bufcap[col]) {
      unsigned char *b = roster_mem_realloc(c->bufs[col], n + 1);
      if (!b)
        return roster_error_set(ROSTER_ENOMEM, "out of memory");
      c->bufs[col] = b;
      c->bufcap[col] = n + 1;
    }
    for (size_t i = 0; i < n; i++) {
      int hi = hexval((unsigned char)s[2 + 2 * i]);
      int lo = hexval((unsigned char)s[3 + 2 * i]);
      if (hi < 0 || lo < 0)
        return roster_error_set(ROSTER_EPROTO, "postgresql: a bytea value "
                                               "is not valid hex");
      c->bufs[col][i] = (unsigned char)(hi << 4 | lo);
    }
    *out = roster_db_blob(c->bufs[col], n);
    return ROSTER_OK;
  }
  size_t n = 0;
  unsigned char *tmp = PQunescapeBytea((const unsigned char *)s, &n);
  if (!tmp)
    return roster_error_set(ROSTER_ENOMEM, "out of memory");
  if (n + 1 > c->bufcap[col]) {
    unsigned char *b = roster_mem_realloc(c->bufs[col], n + 1);
    if (!b) {
      PQfreemem(tmp);
      return roster_error_set(ROSTER_ENOMEM, "out of memory");
    }
    c->bufs[col] = b;
    c->bufcap[col] = n + 1;
  }
  memcpy(c->bufs[col], tmp, n);
  PQfreemem(tmp);
  *out = roster_db_blob(c->bufs[col], n);
  return ROSTER_OK;
}

int roster__pg_get(pg_cur *c, size_t col, roster_db_value *out) {
  int row = c->row, i = (int)col;
  if (PQgetisnull(c->res, row, i)) {
    *out = roster_db_null();
    return ROSTER_OK;
  }
  const char *s = PQgetvalue(c->res, row, i);
  size_t len = (size_t)PQgetlength(c->res, row, i);
  switch (c->types[col]) {
  case ROSTER_DB_INT: {
    if (PQftype(c->res, i) == OID_BOOL) {
      *out = roster_db_int(s[0] == 't');
      return ROSTER_OK;
    }
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno == ERANGE) /* an oid above INT64_MAX cannot happen */
      return roster_error_set(ROSTER_ERANGE,
                              "postgresql: column %zu: %s "
                              "does not fit in int64",
                              col, s);
    if (*end || end == s)
      return roster_error_set(ROSTER_EPROTO,
                              "postgresql: column %zu: "
                              "'%.40s' is not an integer",
                              col, s);
    *out = roster_db_int(v);
    return ROSTER_OK;
  }
  case ROSTER_DB_DOUBLE: {
    char *end;
    double d = strtod(s, &end);
    if (*end || end == s)
      return roster_error_set(ROSTER_EPROTO,
                              "postgresql: column %zu: "
                              "'%.40s' is not a number",
                              col, s);
    *out = roster_db_double(d);
    return ROSTER_OK;
  }
  case ROSTER_DB_BLOB:
    return decode_bytea(c, col, s, len, out);
  default:
    *out = roster_db_textn(s, len);
    return ROSTER_OK;
  }
}

int64_t roster__pg_affected(PGresult *res) {
  const char *tag = PQcmdStatus(res);
  if (!tag)
    return 0;
  if (strncmp(tag, "INSERT ", 7) != 0 && strncmp(tag, "UPDATE ", 7) != 0 &&
      strncmp(tag, "DELETE ", 7) != 0 && strncmp(tag, "MERGE ", 6) != 0)
    return 0;
  const char *n = PQcmdTuples(res);
  return n && *n ? strtoll(n, NULL, 10) : 0;
}
