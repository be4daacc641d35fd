/*
 * mariadb_rows.c: statements and rows for the MySQL/MariaDB driver, over
 * libmariadb's prepared statements (the binary protocol), and its errors.
 *
 * Parameters are bound straight from the caller's values (libmariadb only
 * reads them during execute). A result is stored on the client at once
 * (mysql_stmt_store_result, with STMT_ATTR_UPDATE_MAX_LENGTH so that each
 * column's longest value is known and its buffer is sized once); integers
 * are fetched as 64-bit, FLOAT and DOUBLE as double, everything else as
 * text or bytes (libmariadb prints DECIMAL, dates and times). A value
 * longer than its buffer (libmariadb's max_length can undercount a
 * converted column) is fetched again into a grown buffer.
 */
#include "mariadb_impl.h"

#include <errmsg.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <string.h>

/* ---- errors ---- */

static bool lost_code(unsigned e) {
  switch (e) {
  case CR_CONNECTION_ERROR:
  case CR_CONN_HOST_ERROR:
  case CR_SERVER_GONE_ERROR:
  case CR_SERVER_LOST:
  case CR_SERVER_LOST_EXTENDED:
  case CR_SSL_CONNECTION_ERROR:
  case CR_COMMANDS_OUT_OF_SYNC:
  case ER_CONNECTION_KILLED:
  case ER_SERVER_SHUTDOWN:
  case 4031: /* ER_CLIENT_INTERACTION_TIMEOUT */
    return true;
  default:
    return false;
  }
}

static int code_for(my_cn *cn, unsigned e, const char *state) {
  if (lost_code(e)) {
    if (cn)
      cn->lost = true;
    return ROSTER_ECONN;
  }
  if (e == CR_OUT_OF_MEMORY)
    return ROSTER_ENOMEM;
  if (e == ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION ||
      e == ER_OPTION_PREVENTS_STATEMENT || e == ER_READ_ONLY_MODE ||
      (state && strcmp(state, "25006") == 0))
    return ROSTER_EREADONLY;
  if ((state && strncmp(state, "23", 2) == 0) || e == ER_DUP_ENTRY ||
      e == ER_NO_DEFAULT_FOR_FIELD || e == ER_BAD_NULL_ERROR ||
      e == ER_ROW_IS_REFERENCED_2 || e == ER_NO_REFERENCED_ROW_2 ||
      e == 4025 /* ER_CONSTRAINT_FAILED: CHECK */)
    return ROSTER_ECONSTRAINT;
  return ROSTER_EREMOTE;
}

static int report(my_cn *cn, const char *what, unsigned e, const char *msg,
                  const char *state) {
  return roster_error_set(code_for(cn, e, state),
                          "%s%s%s (error %u, "
                          "SQLSTATE %s)",
                          what ? what : "", what ? ": " : "",
                          msg && *msg ? msg : "no message", e,
                          state && *state ? state : "?");
}

int roster__mariadb_err_conn(my_cn *cn, const char *what) {
  return report(cn, what, mysql_errno(cn->m), mysql_error(cn->m),
                mysql_sqlstate(cn->m));
}

int roster__mariadb_err_stmt(my_cn *cn, MYSQL_STMT *st) {
  return report(cn, NULL, mysql_stmt_errno(st), mysql_stmt_error(st),
                mysql_stmt_sqlstate(st));
}

/* ---- statements ---- */

int roster__mariadb_prepare(void *conn, const char *sql, size_t len,
                            size_t nparams, const roster_db_kind *types,
                            void **out) {
  (void)types;
  my_cn *cn = conn;
  MYSQL_STMT *st = mysql_stmt_init(cn->m);
  if (!st)
    return roster__mariadb_err_conn(cn, "mariadb: mysql_stmt_init");
  my_bool on = 1;
  mysql_stmt_attr_set(st, STMT_ATTR_UPDATE_MAX_LENGTH, &on);
  if (mysql_stmt_prepare(st, sql, (unsigned long)len)) {
    int rc = roster__mariadb_err_stmt(cn, st);
    mysql_stmt_close(st);
    return rc;
  }
  unsigned long have = mysql_stmt_param_count(st);
  if (have != nparams) {
    mysql_stmt_close(st);
    return roster_error_set(ROSTER_EINVAL,
                            "mariadb: the server counts %lu "
                            "parameters in the statement, roster %zu",
                            have, nparams);
  }
  my_stmt *s = roster_mem_calloc(1, sizeof *s);
  if (!s) {
    mysql_stmt_close(st);
    return roster_error_set(ROSTER_ENOMEM, "out of memory");
  }
  s->st = st;
  s->cn = cn;
  s->nparams = nparams;
  *out = s;
  return ROSTER_OK;
}

void roster__mariadb_finalize(void *conn, void *stmt, bool closing) {
  (void)conn;
  (void)closing; /* COM_STMT_CLOSE has no reply: cheap either way */
  my_stmt *s = stmt;
  if (s->meta)
    mysql_free_result(s->meta);
  mysql_stmt_close(s->st);
  for (size_t i = 0; i < s->cap; i++)
    roster_mem_free(s->cols[i].buf);
  roster_mem_free(s->cols);
  roster_mem_free(s->binds);
  roster_mem_free(s->names);
  roster_mem_free(s->types);
  roster_mem_free(s);
}

static int grow(my_stmt *s, size_t n) {
  if (n <= s->cap)
    return ROSTER_OK;
  my_col *c = roster_mem_realloc(s->cols, n * sizeof *c);
  if (c)
    s->cols = c;
  MYSQL_BIND *b = c ? roster_mem_realloc(s->binds, n * sizeof *b) : NULL;
  if (b)
    s->binds = b;
  const char **nm = b ? roster_mem_realloc(s->names, n * sizeof *nm) : NULL;
  if (nm)
    s->names = nm;
  roster_db_kind *ty = nm ? roster_mem_realloc(s->types, n * sizeof *ty) : NULL;
  if (ty)
    s->types = ty;
  if (!ty)
    return roster_error_set(ROSTER_ENOMEM, "out of memory");
  memset(s->cols + s->cap, 0, (n - s->cap) * sizeof *s->cols);
  s->cap = n;
  return ROSTER_OK;
}

static roster_db_kind field_type(const MYSQL_FIELD *f) {
  switch (f->type) {
  case MYSQL_TYPE_TINY:
  case MYSQL_TYPE_SHORT:
  case MYSQL_TYPE_LONG:
  case MYSQL_TYPE_INT24:
  case MYSQL_TYPE_LONGLONG:
  case MYSQL_TYPE_YEAR:
    return ROSTER_DB_INT;
  case MYSQL_TYPE_FLOAT:
  case MYSQL_TYPE_DOUBLE:
    return ROSTER_DB_DOUBLE;
  case MYSQL_TYPE_NULL:
    return ROSTER_DB_NULL;
  case MYSQL_TYPE_BIT:
  case MYSQL_TYPE_GEOMETRY:
    return ROSTER_DB_BLOB;
  case MYSQL_TYPE_TINY_BLOB:
  case MYSQL_TYPE_MEDIUM_BLOB:
  case MYSQL_TYPE_LONG_BLOB:
  case MYSQL_TYPE_BLOB:
  case MYSQL_TYPE_VAR_STRING:
  case MYSQL_TYPE_STRING:
  case MYSQL_TYPE_VARCHAR:
    return f->charsetnr == 63 ? ROSTER_DB_BLOB : ROSTER_DB_TEXT;
  default:
    return ROSTER_DB_TEXT; /* DECIMAL, dates and times, JSON, ENUM, SET */
  }
}

/* bind_col points column i's bind at its buffers. */
static int bind_col(my_stmt *s, size_t i, unsigned long want) {
  my_col *c = &s->cols[i];
  MYSQL_BIND *b = &s->binds[i];
  memset(b, 0, sizeof *b);
  b->is_null = &c->is_null;
  b->length = &c->length;
  b->error = &c->error;
  if (c->type == ROSTER_DB_INT) {
    b->buffer_type = MYSQL_TYPE_LONGLONG;
    b->buffer = &c->num.i;
    b->is_unsigned = c->is_unsigned;
    return ROSTER_OK;
  }
  if (c->type == ROSTER_DB_DOUBLE) {
    b->buffer_type = MYSQL_TYPE_DOUBLE;
    b->buffer = &c->num.d;
    return ROSTER_OK;
  }
  if (want < 64)
    want = 64;
  if (want + 1 > c->cap) {
    char *nb = roster_mem_realloc(c->buf, want + 1);
    if (!nb)
      return roster_error_set(ROSTER_ENOMEM, "out of memory");
    c->buf = nb;
    c->cap = want + 1;
  }
  b->buffer_type =
      c->type == ROSTER_DB_BLOB ? MYSQL_TYPE_BLOB : MYSQL_TYPE_STRING;
  b->buffer = c->buf;
  b->buffer_length = c->cap - 1; /* room for our NUL */
  return ROSTER_OK;
}

int roster__mariadb_execute(void *conn, void *stmt, const roster_db_value *p,
                            size_t n, roster_db_cursor *cur) {
  my_cn *cn = conn;
  my_stmt *s = stmt;
  MYSQL_STMT *st = s->st;
  MYSQL_BIND pbuf[16];
  unsigned long lbuf[16];
  MYSQL_BIND *pb = pbuf;
  unsigned long *lens = lbuf;
  if (n > 16) {
    pb = roster_mem_calloc(n, sizeof *pb);
    lens = roster_mem_calloc(n, sizeof *lens);
    if (!pb || !lens) {
      roster_mem_free(pb);
      roster_mem_free(lens);
      return roster_error_set(ROSTER_ENOMEM, "out of memory");
    }
  }
  memset(pb, 0, n * sizeof *pb);
  for (size_t i = 0; i < n; i++) {
    MYSQL_BIND *b = &pb[i];
    switch (p[i].type) {
    case ROSTER_DB_INT:
      b->buffer_type = MYSQL_TYPE_LONGLONG;
      b->buffer = (void *)&p[i].u.i;
      break;
    case ROSTER_DB_DOUBLE:
      b->buffer_type = MYSQL_TYPE_DOUBLE;
      b->buffer = (void *)&p[i].u.d;
      break;
    case ROSTER_DB_TEXT:
    case ROSTER_DB_BLOB:
      b->buffer_type =
          p[i].type == ROSTER_DB_TEXT ? MYSQL_TYPE_STRING : MYSQL_TYPE_BLOB;
      b->buffer = (void *)(p[i].u.b.p ? p[i].u.b.p : "");
      lens[i] = (unsigned long)p[i].u.b.len;
      b->buffer_length = lens[i];
      b->length = &lens[i];
      break;
    default:
      b->buffer_type = MYSQL_TYPE_NULL;
    }
  }
  int rc = ROSTER_OK;
  if (n && mysql_stmt_bind_param(st, pb))
    rc = roster__mariadb_err_stmt(cn, st);
  if (!rc && mysql_stmt_execute(st))
    rc = roster__mariadb_err_stmt(cn, st);
  if (n > 16) {
    roster_mem_free(pb);
    roster_mem_free(lens);
  }
  if (rc)
    return rc;
  *cur = (roster_db_cursor){0};
  size_t nc = mysql_stmt_field_count(st);
  if (nc == 0) {
    cur->affected = (int64_t)mysql_stmt_affected_rows(st);
    cur->last_id = (int64_t)mysql_stmt_insert_id(st);
    return ROSTER_OK;
  }
  if (mysql_stmt_store_result(st))
    return roster__mariadb_err_stmt(cn, st);
  s->meta = mysql_stmt_result_metadata(st);
  if (!s->meta || (rc = grow(s, nc))) {
    int e = s->meta ? rc : roster__mariadb_err_stmt(cn, st);
    if (s->meta)
      mysql_free_result(s->meta);
    s->meta = NULL;
    mysql_stmt_free_result(st);
    return e;
  }
  MYSQL_FIELD *f = mysql_fetch_fields(s->meta);
  for (size_t i = 0; i < nc && !rc; i++) {
    s->cols[i].type = field_type(&f[i]);
    s->cols[i].is_unsigned = (f[i].flags & UNSIGNED_FLAG) != 0;
    s->names[i] = f[i].name ? f[i].name : "";
    s->types[i] = s->cols[i].type;
    rc = bind_col(s, i, f[i].max_length);
  }
  if (!rc && mysql_stmt_bind_result(st, s->binds))
    rc = roster__mariadb_err_stmt(cn, st);
  if (rc) {
    mysql_free_result(s->meta);
    s->meta = NULL;
    mysql_stmt_free_result(st);
    return rc;
  }
  s->ncols = nc;
  cur->impl = s;
  cur->ncols = nc;
  cur->names = (const char *const *)s->names;
  cur->types = s->types;
  cur->last_id = (int64_t)mysql_stmt_insert_id(st);
  return ROSTER_OK;
}

int roster__mariadb_next(roster_db_cursor *cur) {
  my_stmt *s = cur->impl;
  int r = mysql_stmt_fetch(s->st);
  if (r == MYSQL_NO_DATA)
    return 0;
  if (r == 1)
    return roster__mariadb_err_stmt(s->cn, s->st);
  if (r == MYSQL_DATA_TRUNCATED) {
    /* Fetch each cut value again into a buffer that fits, and keep the
     * bigger buffers bound for the rows after. */
    bool rebind = false;
    for (size_t i = 0; i < s->ncols; i++) {
      my_col *c = &s->cols[i];
      if (c->is_null ||
          (c->type != ROSTER_DB_TEXT && c->type != ROSTER_DB_BLOB &&
           c->type != ROSTER_DB_NULL))
        continue;
      if (c->length + 1 <= c->cap)
        continue;
      int rc = bind_col(s, i, c->length);
      if (rc)
        return rc;
      if (mysql_stmt_fetch_column(s->st, &s->binds[i], (unsigned)i, 0))
        return roster__mariadb_err_stmt(s->cn, s->st);
      rebind = true;
    }
    if (rebind && mysql_stmt_bind_result(s->st, s->binds))
      return roster__mariadb_err_stmt(s->cn, s->st);
  }
  for (size_t i = 0; i < s->ncols; i++) {
    my_col *c = &s->cols[i];
    if (c->buf && !c->is_null && c->type != ROSTER_DB_INT &&
        c->type != ROSTER_DB_DOUBLE)
      c->buf[c->length < c->cap ? c->length : c->cap - 1] = '\0';
  }
  return 1;
}

int roster__mariadb_get(roster_db_cursor *cur, size_t col,
                        roster_db_value *out) {
  my_stmt *s = cur->impl;
  my_col *c = &s->cols[col];
  if (c->is_null) {
    *out = roster_db_null();
    return ROSTER_OK;
  }
  switch (c->type) {
  case ROSTER_DB_INT:
    if (c->is_unsigned && (unsigned long long)c->num.i > INT64_MAX)
      return roster_error_set(ROSTER_ERANGE,
                              "mariadb: column %zu ('%s'): "
                              "%llu does not fit in int64",
                              col, s->names[col], (unsigned long long)c->num.i);
    *out = roster_db_int(c->num.i);
    break;
  case ROSTER_DB_DOUBLE:
    *out = roster_db_double(c->num.d);
    break;
  case ROSTER_DB_BLOB:
    *out = roster_db_blob(c->buf, c->length);
    break;
  default: /* text, or a NULL-typed column holding a value */
    *out = roster_db_textn(c->buf, c->length);
  }
  return ROSTER_OK;
}

void roster__mariadb_close(roster_db_cursor *cur) {
  my_stmt *s = cur->impl;
  if (!s)
    return;
  mysql_stmt_free_result(s->st);
  if (s->meta)
    mysql_free_result(s->meta);
  s->meta = NULL;
  s->ncols = 0;
  cur->impl = NULL;
}
