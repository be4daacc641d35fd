/*
 * db_stmt.c: running statements and reading results (include/roster/db.h).
 *
 * Every exec and query goes through roster__db_run on a held connection:
 * check the arguments, find the statement in the connection's cache (keyed
 * by an XXH3 hash of the SQL text, and of the parameter types for drivers
 * that prepare with types), or translate its placeholders and prepare it,
 * reorder the parameters for the driver, execute, and either read the rows
 * to the end (exec) or hand them out as a result (query).
 *
 * The cache is a small array per connection, searched linearly by hash
 * (64 entries by default: a few tens of nanoseconds, against a network
 * round trip), evicting the least recently used statement that no open
 * result is reading. A statement whose cached copy is being read by an
 * open result (the same query nested in its own loop) is prepared again
 * as a temporary one, finalized with its result.
 */
#include "db_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

/* ---- the cache ---- */

static void stmt_clear(roster_db_conn *c, roster__db_stmt *s, bool closing) {
  if (s->ds)
    c->db->drv->finalize(c->dc, s->ds, closing);
  roster__free(s->sql);
  roster__free(s->types);
  roster__free(s->map);
  memset(s, 0, sizeof *s);
}

void roster__db_conn_free_stmts(roster_db_conn *c, bool closing) {
  for (unsigned i = 0; i < c->nstmts; i++)
    stmt_clear(c, &c->stmts[i], closing);
  roster__free(c->stmts);
  c->stmts = NULL;
  c->nstmts = c->cap = 0;
}

/* stmt_drop removes a statement: a temporary one is freed, a cached one
 * leaves an empty entry (entries never move: open results point to
 * them). */
static void stmt_drop(roster_db_conn *c, roster__db_stmt *s) {
  bool temp = s->temp;
  stmt_clear(c, s, c->broken);
  if (temp)
    roster__free(s);
  else
    roster__db_count(&c->db->st_evicted);
}

static roster__db_stmt *stmt_find(roster_db_conn *c, uint64_t h,
                                  const char *sql, size_t len,
                                  const uint8_t *types, size_t n, bool *busy) {
  *busy = false;
  for (unsigned i = 0; i < c->nstmts; i++) {
    roster__db_stmt *s = &c->stmts[i];
    if (!s->sql || s->hash != h || s->len != len ||
        memcmp(s->sql, sql, len) != 0)
      continue;
    if (types && (s->nparams != n || (n && memcmp(s->types, types, n))))
      continue;
    if (s->in_use) {
      *busy = true;
      continue;
    }
    return s;
  }
  return NULL;
}

/* stmt_slot returns an empty cache entry (evicting the least recently
 * used idle one when full), or NULL when there is no cache or every entry
 * is busy: the statement is then temporary. */
static roster__db_stmt *stmt_slot(roster_db_conn *c) {
  unsigned cap = c->db->stmt_cache;
  if (!cap)
    return NULL;
  if (!c->stmts) {
    c->stmts = roster__calloc(cap, sizeof *c->stmts);
    if (!c->stmts)
      return NULL;
    c->cap = cap;
  }
  for (unsigned i = 0; i < c->nstmts; i++)
    if (!c->stmts[i].sql)
      return &c->stmts[i];
  if (c->nstmts < c->cap)
    return &c->stmts[c->nstmts++];
  roster__db_stmt *old = NULL;
  for (unsigned i = 0; i < c->nstmts; i++)
    if (!c->stmts[i].in_use && (!old || c->stmts[i].used < old->used))
      old = &c->stmts[i];
  if (!old)
    return NULL;
  stmt_drop(c, old);
  return old;
}

/* stmt_prepare translates and prepares sql into a cache entry or a
 * temporary statement. */
static int stmt_prepare(roster_db_conn *c, uint64_t h, const char *sql,
                        size_t len, const uint8_t *types, size_t nparams,
                        bool busy, roster__db_stmt **out) {
  roster_db *db = c->db;
  roster__db_sql tr;
  int rc = roster__db_translate(db->drv->dialect, sql, len, &tr);
  if (rc)
    return roster__db_fail(db, NULL, rc);
  if (tr.nparams != nparams) {
    size_t want = tr.nparams;
    roster__db_sql_free(&tr);
    return roster__db_fail(
        db, NULL,
        roster__err(ROSTER_EINVAL,
                    "the statement uses %zu parameter%s; %zu given", want,
                    want == 1 ? "" : "s", nparams));
  }
  roster_db_kind ntypes_buf[16];
  roster_db_kind *ntypes = ntypes_buf;
  if (db->drv->typed_prepare && tr.nnative > 16 &&
      !(ntypes = roster__malloc(tr.nnative * sizeof *ntypes))) {
    roster__db_sql_free(&tr);
    return roster__err(ROSTER_ENOMEM, "out of memory");
  }
  if (db->drv->typed_prepare)
    for (size_t k = 0; k < tr.nnative; k++)
      ntypes[k] = (roster_db_kind)types[tr.map ? tr.map[k] : k];
  void *ds = NULL;
  rc = db->drv->prepare(c->dc, tr.sql, tr.len, tr.nnative,
                        db->drv->typed_prepare ? ntypes : NULL, &ds);
  if (ntypes != ntypes_buf)
    roster__free(ntypes);
  if (rc) {
    roster__db_sql_free(&tr);
    return roster__db_fail(db, c, rc);
  }
  roster__db_count(&db->st_prepared);
  roster__db_stmt *s = busy ? NULL : stmt_slot(c);
  bool temp = !s;
  if (temp && !(s = roster__calloc(1, sizeof *s))) {
    db->drv->finalize(c->dc, ds, false);
    roster__db_sql_free(&tr);
    return roster__err(ROSTER_ENOMEM, "out of memory");
  }
  s->hash = h;
  s->len = len;
  s->nparams = nparams;
  s->nnative = tr.nnative;
  s->map = tr.map;
  s->ds = ds;
  s->temp = temp;
  s->sql = roster__strndup(sql, len);
  if (types && nparams) {
    s->types = roster__malloc(nparams);
    if (s->types)
      memcpy(s->types, types, nparams);
  }
  roster__free(tr.sql);
  if (!s->sql || (types && nparams && !s->types)) {
    stmt_drop(c, s);
    return roster__err(ROSTER_ENOMEM, "out of memory");
  }
  *out = s;
  return ROSTER_OK;
}

/* ---- results ---- */

static void result_unlink(roster_db_result *r) {
  roster_db_conn *c = r->conn;
  if (r->prev)
    r->prev->next = r->next;
  else
    c->open = r->next;
  if (r->next)
    r->next->prev = r->prev;
  r->prev = r->next = NULL;
}

/* result_close ends r's cursor and gives its statement back (or drops a
 * temporary one); r stays readable for its counts only. */
static void result_close(roster_db_result *r) {
  roster_db_conn *c = r->conn;
  if (!c)
    return;
  c->db->drv->close(&r->cur);
  r->cur.impl = NULL;
  r->cur.ncols = 0;
  r->cur.names = NULL;
  r->cur.types = NULL;
  if (r->stmt) {
    if (r->stmt->temp)
      stmt_drop(c, r->stmt);
    else
      r->stmt->in_use = false;
    r->stmt = NULL;
  }
  result_unlink(r);
  r->conn = NULL;
}

void roster__db_conn_close_results(roster_db_conn *c) {
  while (c->open) {
    roster_db_result *r = c->open;
    result_close(r);
    if (r->state != R_END && r->state > 0)
      r->state = ROSTER_ESTATE;
  }
}

/* ---- running ---- */

static int check_params(roster_db *db, const roster_db_value *params,
                        size_t n) {
  if (n && !params)
    return roster__err(ROSTER_EINVAL,
                       "db '%s': %zu parameters but params "
                       "is NULL",
                       db->name, n);
  if (n > ROSTER_DB_PARAMS_MAX)
    return roster__err(ROSTER_EINVAL, "db '%s': %zu parameters; at most %d",
                       db->name, n, ROSTER_DB_PARAMS_MAX);
  for (size_t i = 0; i < n; i++) {
    const roster_db_value *v = &params[i];
    switch (v->type) {
    case ROSTER_DB_NULL:
    case ROSTER_DB_INT:
    case ROSTER_DB_DOUBLE:
      break;
    case ROSTER_DB_TEXT:
      if (!v->u.b.p && v->u.b.len)
        return roster__err(ROSTER_EINVAL,
                           "db '%s': parameter $%zu is text "
                           "of %zu bytes at NULL",
                           db->name, i + 1, v->u.b.len);
      if (v->u.b.len && memchr(v->u.b.p, '\0', v->u.b.len))
        return roster__err(ROSTER_EINVAL,
                           "db '%s': parameter $%zu is text "
                           "with a NUL byte inside; pass such bytes as a "
                           "blob",
                           db->name, i + 1);
      break;
    case ROSTER_DB_BLOB:
      if (!v->u.b.p && v->u.b.len)
        return roster__err(ROSTER_EINVAL,
                           "db '%s': parameter $%zu is a "
                           "blob of %zu bytes at NULL",
                           db->name, i + 1, v->u.b.len);
      break;
    default:
      return roster__err(ROSTER_EINVAL,
                         "db '%s': parameter $%zu has an "
                         "unknown type %d",
                         db->name, i + 1, (int)v->type);
    }
  }
  return ROSTER_OK;
}

int roster__db_run(roster_db_conn *c, const char *sql,
                   const roster_db_value *params, size_t nparams,
                   roster_db_result **out, roster_db_info *info) {
  if (out)
    *out = NULL;
  if (info)
    *info = (roster_db_info){0, 0};
  if (!c)
    return roster__err(ROSTER_EINVAL, "roster_db: conn is NULL");
  roster_db *db = c->db;
  if (!c->held)
    return roster__err(ROSTER_EINVAL,
                       "db '%s': the connection is not out "
                       "(released already?)",
                       db->name);
  if (!sql)
    return roster__err(ROSTER_EINVAL, "db '%s': sql is NULL", db->name);
  size_t len = strnlen(sql, (size_t)ROSTER_DB_SQL_MAX + 1);
  if (len == 0 || len > ROSTER_DB_SQL_MAX)
    return roster__err(ROSTER_EINVAL, "db '%s': the SQL is %s", db->name,
                       len ? "longer than ROSTER_DB_SQL_MAX" : "empty");
  int rc = check_params(db, params, nparams);
  if (rc)
    return rc;
  /* The key: the SQL, and for typed drivers the parameter types. */
  uint8_t tbuf[64];
  uint8_t *types = NULL;
  uint64_t h = XXH3_64bits(sql, len);
  if (db->drv->typed_prepare) {
    types = nparams <= sizeof tbuf ? tbuf : roster__malloc(nparams);
    if (!types)
      return roster__err(ROSTER_ENOMEM, "out of memory");
    for (size_t i = 0; i < nparams; i++)
      types[i] = (uint8_t)params[i].type;
    h = XXH3_64bits_withSeed(types, nparams, h);
  }
  bool busy;
  roster__db_stmt *s = stmt_find(c, h, sql, len, types, nparams, &busy);
  if (s) {
    roster__db_count(&db->st_hits);
    if (s->nparams != nparams)
      rc = roster__err(ROSTER_EINVAL,
                       "db '%s': the statement uses %zu "
                       "parameter%s; %zu given",
                       db->name, s->nparams, s->nparams == 1 ? "" : "s",
                       nparams);
  } else {
    rc = stmt_prepare(c, h, sql, len, types, nparams, busy, &s);
  }
  if (types != tbuf && types)
    roster__free(types);
  if (rc)
    return rc;
  s->used = ++c->tick;
  /* The driver's order: MySQL's ? are positional. */
  roster_db_value nbuf[16];
  const roster_db_value *np = params;
  roster_db_value *nheap = NULL;
  if (s->map) {
    nheap = s->nnative > 16 ? roster__malloc(s->nnative * sizeof *nheap) : NULL;
    if (s->nnative > 16 && !nheap)
      return roster__err(ROSTER_ENOMEM, "out of memory");
    roster_db_value *w = nheap ? nheap : nbuf;
    for (size_t k = 0; k < s->nnative; k++)
      w[k] = params[s->map[k]];
    np = w;
  }
  roster_db_cursor cur = {0};
  s->in_use = true;
  rc = db->drv->execute(c->dc, s->ds, np, s->nnative, &cur);
  roster__free(nheap);
  roster__db_count(&db->st_executed);
  if (rc) {
    rc = roster__db_fail(db, c, rc);
    s->in_use = false;
    stmt_drop(c, s); /* it may be stale: prepare it again next time */
    return rc;
  }
  if (!out) { /* exec: read to the end */
    int st = 1;
    while (cur.impl && (st = db->drv->next(&cur)) > 0) {
    }
    if (info)
      *info = (roster_db_info){cur.affected, cur.last_id};
    db->drv->close(&cur);
    s->in_use = false;
    if (s->temp)
      stmt_drop(c, s);
    return st < 0 ? roster__db_fail(db, c, st) : ROSTER_OK;
  }
  roster_db_result *r = roster__calloc(1, sizeof *r);
  if (!r) {
    db->drv->close(&cur);
    s->in_use = false;
    if (s->temp)
      stmt_drop(c, s);
    return roster__err(ROSTER_ENOMEM, "out of memory");
  }
  r->db = db;
  r->conn = c;
  r->stmt = s;
  r->cur = cur;
  r->state = R_BEFORE;
  r->next = c->open;
  if (c->open)
    c->open->prev = r;
  c->open = r;
  *out = r;
  return ROSTER_OK;
}

int roster_db_conn_exec(roster_db_conn *c, const char *sql,
                        const roster_db_value *params, size_t nparams,
                        roster_db_info *info) {
  return roster__db_run(c, sql, params, nparams, NULL, info);
}

int roster_db_conn_query(roster_db_conn *c, const char *sql,
                         const roster_db_value *params, size_t nparams,
                         roster_db_result **out) {
  if (!out)
    return roster__err(ROSTER_EINVAL, "roster_db_conn_query: out is NULL");
  return roster__db_run(c, sql, params, nparams, out, NULL);
}

int roster_db_exec(roster_db *db, const char *sql,
                   const roster_db_value *params, size_t nparams,
                   roster_db_info *info) {
  if (info)
    *info = (roster_db_info){0, 0};
  if (!db)
    return roster__err(ROSTER_EINVAL, "roster_db_exec: db is NULL");
  if (!sql || !*sql)
    return roster__err(ROSTER_EINVAL, "db '%s': sql is %s", db->name,
                       sql ? "empty" : "NULL");
  roster_db_conn *c;
  int rc = roster_db_acquire(db, &c);
  if (rc)
    return rc;
  rc = roster__db_run(c, sql, params, nparams, NULL, info);
  roster_db_release(c);
  return rc;
}

int roster_db_query_at(roster_db *db, const char *sql,
                       const roster_db_value *params, size_t nparams,
                       roster_db_result **out, const char *file, int line,
                       const char *func) {
  if (out)
    *out = NULL;
  if (!db || !out)
    return roster__err(ROSTER_EINVAL, "roster_db_query: %s is NULL",
                       db ? "out" : "db");
  if (!sql || !*sql)
    return roster__err(ROSTER_EINVAL, "db '%s': sql is %s", db->name,
                       sql ? "empty" : "NULL");
  roster_db_conn *c;
  int rc =
      roster_db_acquire_at(db, ROSTER_POOL_WAIT_DEFAULT, &c, file, line, func);
  if (rc)
    return rc;
  rc = roster__db_run(c, sql, params, nparams, out, NULL);
  if (rc) {
    roster_db_release(c);
    return rc;
  }
  (*out)->owns_conn = true;
  return ROSTER_OK;
}

void roster_db_result_free(roster_db_result *r) {
  if (!r)
    return;
  roster_db_conn *c = r->conn;
  bool owns = r->owns_conn;
  result_close(r);
  roster__free(r);
  if (c && owns)
    roster_db_release(c);
}

int roster_db_next(roster_db_result *r) {
  if (!r)
    return roster__err(ROSTER_EINVAL, "roster_db_next: res is NULL");
  if (r->state < 0)
    return r->state == ROSTER_ESTATE ? roster__err(ROSTER_ESTATE,
                                                   "db '%s': the result's "
                                                   "connection was released",
                                                   r->db->name)
                                     : roster__err(r->state,
                                                   "db '%s': the result failed "
                                                   "earlier",
                                                   r->db->name);
  if (r->state == R_END)
    return 0;
  if (!r->conn || !r->cur.impl) {
    r->state = R_END;
    return 0;
  }
  int rc = r->db->drv->next(&r->cur);
  if (rc > 0) {
    r->state = R_ROW;
    return 1;
  }
  if (rc == 0) {
    r->state = R_END;
    return 0;
  }
  rc = roster__db_fail(r->db, r->conn, rc);
  r->state = rc;
  return rc;
}

size_t roster_db_columns(const roster_db_result *r) {
  return r ? r->cur.ncols : 0;
}

const char *roster_db_column_name(const roster_db_result *r, size_t col) {
  return r && col < r->cur.ncols ? r->cur.names[col] : NULL;
}

roster_db_kind roster_db_column_kind(const roster_db_result *r, size_t col) {
  return r && col < r->cur.ncols ? r->cur.types[col] : ROSTER_DB_NULL;
}

int roster_db_column_index(const roster_db_result *r, const char *name) {
  if (!r || !name) {
    roster__err(ROSTER_EINVAL, "roster_db_column_index: %s is NULL",
                r ? "name" : "res");
    return -1;
  }
  for (size_t i = 0; i < r->cur.ncols; i++)
    if (strcmp(r->cur.names[i], name) == 0)
      return (int)i;
  roster__err(ROSTER_ENOENT, "db '%s': the result has no column '%.64s'",
              r->db->name, name);
  return -1;
}

int roster_db_get_value(roster_db_result *r, size_t col, roster_db_value *out) {
  if (!r || !out)
    return roster__err(ROSTER_EINVAL, "roster_db_get: %s is NULL",
                       r ? "out" : "res");
  *out = roster_db_null();
  if (r->state != R_ROW)
    return roster__err(
        ROSTER_ESTATE, "db '%s': no current row (%s)", r->db->name,
        r->state == R_BEFORE        ? "call roster_db_next first"
        : r->state == R_END         ? "past the last row"
        : r->state == ROSTER_ESTATE ? "the result's connection was released"
                                    : "the result failed");
  if (col >= r->cur.ncols)
    return roster__err(ROSTER_ERANGE,
                       "db '%s': column %zu does not exist; "
                       "the result has %zu",
                       r->db->name, col, r->cur.ncols);
  int rc = r->db->drv->get(&r->cur, col, out);
  return rc ? roster__db_fail(r->db, NULL, rc) : ROSTER_OK;
}

static int type_err(roster_db_result *r, size_t col, const roster_db_value *v,
                    const char *want) {
  return roster__err(ROSTER_ETYPE,
                     "db '%s': column %zu ('%.64s') is %s in "
                     "this row, not %s",
                     r->db->name, col, r->cur.names[col],
                     roster_db_kind_name(v->type), want);
}

/* text_int: the whole of s is a decimal integer that fits. */
static bool text_int(const roster_db_value *v, int64_t *out) {
  const char *s = v->u.b.p;
  if (!v->u.b.len || v->u.b.len > 40)
    return false;
  char tmp[48];
  memcpy(tmp, s, v->u.b.len);
  tmp[v->u.b.len] = '\0';
  char *end;
  errno = 0;
  long long x = strtoll(tmp, &end, 10);
  if (*end || errno || end == tmp)
    return false;
  *out = x;
  return true;
}

static bool text_double(const roster_db_value *v, double *out) {
  if (!v->u.b.len || v->u.b.len > 400)
    return false;
  char tmp[408];
  memcpy(tmp, v->u.b.p, v->u.b.len);
  tmp[v->u.b.len] = '\0';
  char *end;
  errno = 0;
  double x = strtod(tmp, &end);
  if (*end || end == tmp || (errno && isinf(x)))
    return false;
  *out = x;
  return true;
}

int roster_db_get_int(roster_db_result *r, size_t col, int64_t *out) {
  roster_db_value v;
  if (!out)
    return roster__err(ROSTER_EINVAL, "roster_db_get_int: out is NULL");
  int rc = roster_db_get_value(r, col, &v);
  if (rc)
    return rc;
  if (v.type == ROSTER_DB_INT)
    return *out = v.u.i, ROSTER_OK;
  if (v.type == ROSTER_DB_TEXT && text_int(&v, out))
    return ROSTER_OK;
  return type_err(r, col, &v, "an integer");
}

int roster_db_get_double(roster_db_result *r, size_t col, double *out) {
  roster_db_value v;
  if (!out)
    return roster__err(ROSTER_EINVAL, "roster_db_get_double: out is NULL");
  int rc = roster_db_get_value(r, col, &v);
  if (rc)
    return rc;
  if (v.type == ROSTER_DB_DOUBLE)
    return *out = v.u.d, ROSTER_OK;
  if (v.type == ROSTER_DB_INT)
    return *out = (double)v.u.i, ROSTER_OK;
  if (v.type == ROSTER_DB_TEXT && text_double(&v, out))
    return ROSTER_OK;
  return type_err(r, col, &v, "a number");
}

int roster_db_get_text(roster_db_result *r, size_t col, const char **out,
                       size_t *len) {
  roster_db_value v;
  if (!out)
    return roster__err(ROSTER_EINVAL, "roster_db_get_text: out is NULL");
  *out = NULL;
  if (len)
    *len = 0;
  int rc = roster_db_get_value(r, col, &v);
  if (rc)
    return rc;
  if (v.type != ROSTER_DB_TEXT)
    return type_err(r, col, &v, "text");
  *out = v.u.b.p;
  if (len)
    *len = v.u.b.len;
  return ROSTER_OK;
}

int roster_db_get_blob(roster_db_result *r, size_t col, const void **out,
                       size_t *len) {
  roster_db_value v;
  if (!out)
    return roster__err(ROSTER_EINVAL, "roster_db_get_blob: out is NULL");
  *out = NULL;
  if (len)
    *len = 0;
  int rc = roster_db_get_value(r, col, &v);
  if (rc)
    return rc;
  if (v.type != ROSTER_DB_BLOB && v.type != ROSTER_DB_TEXT)
    return type_err(r, col, &v, "a blob");
  *out = v.u.b.p;
  if (len)
    *len = v.u.b.len;
  return ROSTER_OK;
}

roster_db_kind roster_db_value_kind(roster_db_result *r, size_t col) {
  roster_db_value v;
  if (!r || r->state != R_ROW || col >= r->cur.ncols ||
      r->db->drv->get(&r->cur, col, &v) != ROSTER_OK)
    return ROSTER_DB_NULL;
  return v.type;
}

bool roster_db_is_null(roster_db_result *r, size_t col) {
  return roster_db_value_kind(r, col) == ROSTER_DB_NULL;
}

int64_t roster_db_affected(const roster_db_result *r) {
  return r ? r->cur.affected : 0;
}

int64_t roster_db_last_id(const roster_db_result *r) {
  return r ? r->cur.last_id : 0;
}
