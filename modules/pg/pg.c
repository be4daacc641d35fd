/*
 * pg.c: the PostgreSQL driver (roster/pg.h) behind the database API
 * (roster/db.h), over libpq's synchronous calls.
 *
 * A connection is one PGconn (notices dropped: a connection pool has no
 * one to show them to). A statement is a named server-side prepared
 * statement with its parameter types; executing it is one round trip
 * (PQexecPrepared), its rows arrive whole in a PGresult, in text form.
 * Dropping a statement queues its DEALLOCATE, sent in the same round trip
 * as the connection's next prepare (when a full cache evicts, that is
 * when it happens), and never inside a transaction the server has
 * aborted, where it would fail.
 */
#include "pg_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- configuration ---- */

static void cfg_free(void *p) {
  pg_cfg *c = p;
  if (!c)
    return;
  for (size_t i = 0; i < c->n; i++) {
    roster_mem_free(c->keys[i]);
    roster_mem_free(c->vals[i]);
  }
  roster_mem_free(c->keys);
  roster_mem_free(c->vals);
  roster_mem_free(c);
}

static int cfg_add(pg_cfg *c, const char *k, const char *v) {
  char **nk = roster_mem_realloc(c->keys, (c->n + 2) * sizeof *nk);
  if (nk)
    c->keys = nk;
  char **nv = nk ? roster_mem_realloc(c->vals, (c->n + 2) * sizeof *nv) : NULL;
  if (nv)
    c->vals = nv;
  if (!nk || !nv)
    return roster_error_set(ROSTER_ENOMEM, "out of memory");
  c->keys[c->n] = roster_mem_strdup(k);
  c->vals[c->n] = roster_mem_strdup(v);
  if (!c->keys[c->n] || !c->vals[c->n]) {
    roster_mem_free(c->keys[c->n]);
    roster_mem_free(c->vals[c->n]);
    return roster_error_set(ROSTER_ENOMEM, "out of memory");
  }
  if (strcmp(k, "options") == 0)
    c->options_at = (int)c->n;
  c->n++;
  c->keys[c->n] = c->vals[c->n] = NULL;
  return ROSTER_OK;
}

static bool libpq_knows(const PQconninfoOption *all, const char *k) {
  for (const PQconninfoOption *o = all; o && o->keyword; o++)
    if (strcmp(o->keyword, k) == 0)
      return true;
  return false;
}

static int pg_setup(roster_db_setup *s) {
  const roster_url *u = s->url;
  pg_cfg *c = roster_mem_calloc(1, sizeof *c);
  if (!c)
    return roster_error_set(ROSTER_ENOMEM, "out of memory");
  c->options_at = -1;
  char port[16];
  snprintf(port, sizeof port, "%d", u->port);
  const char *db = u->path && u->path[0] == '/' ? u->path + 1 : u->path;
  int rc = cfg_add(c, "connect_timeout", "10");
  if (!rc)
    rc = cfg_add(c, "application_name", "roster");
  if (!rc)
    rc = cfg_add(c, "client_encoding", "UTF8");
  if (!rc && u->host && *u->host)
    rc = cfg_add(c, "host", u->host);
  if (!rc && u->port)
    rc = cfg_add(c, "port", port);
  if (!rc && u->user && *u->user)
    rc = cfg_add(c, "user", u->user);
  if (!rc && u->password)
    rc = cfg_add(c, "password", u->password);
  if (!rc && db && *db)
    rc = cfg_add(c, "dbname", db);
  PQconninfoOption *known = NULL;
  if (!rc && s->params && s->params[0] && !(known = PQconndefaults()))
    rc = roster_error_set(ROSTER_ENOMEM, "out of memory");
  for (size_t i = 0; !rc && s->params && s->params[i]; i += 2) {
    if (!libpq_knows(known, s->params[i]))
      rc = roster_error_set(ROSTER_EINVAL,
                            "postgresql: unknown URL "
                            "parameter '%.40s' (not a libpq connection "
                            "keyword, nor one of roster's)",
                            s->params[i]);
    else
      rc = cfg_add(c, s->params[i], s->params[i + 1]);
  }
  if (known)
    PQconninfoFree(known);
  if (rc) {
    cfg_free(c);
    return rc;
  }
  s->cfg = c;
  return ROSTER_OK;
}

/* ---- connections ---- */

static void quiet(void *arg, const char *message) {
  (void)arg;
  (void)message;
}

static int pgd_connect(void *cfg, bool read_only, void **out) {
  pg_cfg *c = cfg;
  const char **keys = (const char **)c->keys;
  const char **vals = (const char **)c->vals;
  const char *k2[64], *v2[64];
  char opts[1024];
  if (read_only) {
    /* The same list with default_transaction_read_only added to options. */
    if (c->n + 2 > 64)
      return roster_error_set(ROSTER_EINVAL, "postgresql: too many "
                                             "connection parameters");
    memcpy(k2, c->keys, c->n * sizeof *k2);
    memcpy(v2, c->vals, c->n * sizeof *v2);
    size_t n = c->n;
    const char *ro = "-c default_transaction_read_only=on";
    if (c->options_at >= 0) {
      snprintf(opts, sizeof opts, "%s %s", c->vals[c->options_at], ro);
      v2[c->options_at] = opts;
    } else {
      k2[n] = "options";
      v2[n++] = ro;
    }
    k2[n] = v2[n] = NULL;
    keys = k2;
    vals = v2;
  }
  PGconn *pg = PQconnectdbParams(keys, vals, 0);
  if (!pg || PQstatus(pg) != CONNECTION_OK) {
    int rc = roster__pg_err_conn(pg, "postgresql: cannot connect");
    if (pg)
      PQfinish(pg);
    return rc == ROSTER_EREMOTE ? ROSTER_ECONN : rc;
  }
  PQsetNoticeProcessor(pg, quiet, NULL);
  pg_cn *cn = roster_mem_calloc(1, sizeof *cn);
  if (!cn) {
    PQfinish(pg);
    return roster_error_set(ROSTER_ENOMEM, "out of memory");
  }
  cn->pg = pg;
  *out = cn;
  return ROSTER_OK;
}

static void pgd_disconnect(void *conn) {
  pg_cn *cn = conn;
  PQfinish(cn->pg);
  roster_mem_free(cn->pending);
  roster_mem_free(cn);
}

/* run sends a fixed statement (no parameters) with the simple protocol. */
static int run(pg_cn *cn, const char *sql, ExecStatusType want,
               PGresult **keep) {
  PGresult *r = PQexec(cn->pg, sql);
  int rc = ROSTER_OK;
  if (PQresultStatus(r) != want)
    rc = roster__pg_err_result(cn->pg, r);
  if (keep && rc == ROSTER_OK)
    *keep = r;
  else
    PQclear(r);
  return rc;
}

/* The empty query: the cheapest round trip there is. */
static int pgd_ping(void *conn) {
  return run(conn, "", PGRES_EMPTY_QUERY, NULL);
}

static bool pgd_broken(void *conn) {
  return PQstatus(((pg_cn *)conn)->pg) == CONNECTION_BAD;
}

static bool pgd_in_tx(void *conn) {
  PGTransactionStatusType t = PQtransactionStatus(((pg_cn *)conn)->pg);
  return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

/* A read-only database's transactions are read-only by the session's
 * default_transaction_read_only. */
static int pgd_begin(void *conn, bool read_only) {
  (void)read_only;
  return run(conn, "BEGIN", PGRES_COMMAND_OK, NULL);
}

static int pgd_rollback(void *conn) {
  return run(conn, "ROLLBACK", PGRES_COMMAND_OK, NULL);
}

static int pgd_commit(void *conn) {
  pg_cn *cn = conn;
  if (PQtransactionStatus(cn->pg) == PQTRANS_INERROR) {
    pgd_rollback(conn);
    return roster_error_set(ROSTER_ESTATE,
                            "postgresql: the transaction "
                            "was aborted by an earlier error; it was rolled "
                            "back, not committed");
  }
  PGresult *r = NULL;
  int rc = run(cn, "COMMIT", PGRES_COMMAND_OK, &r);
  if (rc)
    return rc;
  bool rolled = strcmp(PQcmdStatus(r), "ROLLBACK") == 0;
  PQclear(r);
  if (rolled)
    return roster_error_set(ROSTER_ESTATE,
                            "postgresql: the server rolled "
                            "the transaction back instead of committing it");
  return ROSTER_OK;
}

static void *pgd_native(void *conn) { return ((pg_cn *)conn)->pg; }

/* ---- statements ---- */

/* flush sends the queued DEALLOCATEs, if the transaction allows. */
static void flush(pg_cn *cn) {
  if (!cn->pending || !cn->pending[0] ||
      PQtransactionStatus(cn->pg) == PQTRANS_INERROR)
    return;
  PGresult *r = PQexec(cn->pg, cn->pending);
  PQclear(r);
  cn->pending[0] = '\0';
  cn->npending = 0;
}

static int pgd_prepare(void *conn, const char *sql, size_t len, size_t n,
                       const roster_db_kind *types, void **out) {
  (void)len;
  pg_cn *cn = conn;
  flush(cn);
  pg_stmt *s = roster_mem_calloc(1, sizeof *s);
  Oid obuf[32];
  Oid *oids = n <= 32 ? obuf : roster_mem_calloc(n, sizeof *oids);
  if (!s || !oids) {
    roster_mem_free(s);
    if (oids != obuf)
      roster_mem_free(oids);
    return roster_error_set(ROSTER_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < n; i++)
    oids[i] = roster__pg_param_oid(types[i]);
  snprintf(s->name, sizeof s->name, "rs%u", ++cn->next_id);
  s->nparams = n;
  PGresult *r = PQprepare(cn->pg, s->name, sql, (int)n, oids);
  if (oids != obuf)
    roster_mem_free(oids);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) {
    int rc = roster__pg_err_result(cn->pg, r);
    PQclear(r);
    roster_mem_free(s);
    return rc;
  }
  PQclear(r);
  *out = s;
  return ROSTER_OK;
}

static void cur_free(pg_cur *c) {
  if (c->res)
    PQclear(c->res);
  for (size_t i = 0; i < c->cap; i++)
    roster_mem_free(c->bufs[i]);
  roster_mem_free(c->bufs);
  roster_mem_free(c->bufcap);
  roster_mem_free(c->names);
  roster_mem_free(c->types);
  memset(c, 0, sizeof *c);
}

static void pgd_finalize(void *conn, void *stmt, bool closing) {
  pg_cn *cn = conn;
  pg_stmt *s = stmt;
  if (!closing) {
    /* "DEALLOCATE " + name + ";" */
    size_t need = strlen(s->name) + 13;
    size_t have = cn->pending ? strlen(cn->pending) : 0;
    if (have + need > cn->pending_cap) {
      size_t cap = (have + need) * 2;
      char *p = roster_mem_realloc(cn->pending, cap);
      if (p) {
        if (!cn->pending)
          p[0] = '\0';
        cn->pending = p;
        cn->pending_cap = cap;
      }
    }
    if (cn->pending && have + need <= cn->pending_cap) {
      snprintf(cn->pending + have, cn->pending_cap - have, "DEALLOCATE %s;",
               s->name);
      cn->npending++;
    }
  }
  cur_free(&s->cur);
  roster_mem_free(s->arena);
  roster_mem_free(s);
}

static int grow_cols(pg_cur *c, size_t n) {
  if (n <= c->cap)
    return ROSTER_OK;
  const char **nm = roster_mem_realloc(c->names, n * sizeof *nm);
  if (nm)
    c->names = nm;
  roster_db_kind *ty = nm ? roster_mem_realloc(c->types, n * sizeof *ty) : NULL;
  if (ty)
    c->types = ty;
  unsigned char **bf = ty ? roster_mem_realloc(c->bufs, n * sizeof *bf) : NULL;
  if (bf)
    c->bufs = bf;
  size_t *bc = bf ? roster_mem_realloc(c->bufcap, n * sizeof *bc) : NULL;
  if (bc)
    c->bufcap = bc;
  if (!bc)
    return roster_error_set(ROSTER_ENOMEM, "out of memory");
  for (size_t i = c->cap; i < n; i++) {
    c->bufs[i] = NULL;
    c->bufcap[i] = 0;
  }
  c->cap = n;
  return ROSTER_OK;
}

static int pgd_execute(void *conn, void *stmt, const roster_db_value *p,
                       size_t n, roster_db_cursor *cur) {
  pg_cn *cn = conn;
  pg_stmt *s = stmt;
  const char *vbuf[32];
  int lbuf[32], fbuf[32];
  const char **vals = vbuf;
  int *lens = lbuf, *fmts = fbuf;
  if (n > 32) {
    vals = roster_mem_calloc(n, sizeof *vals);
    lens = roster_mem_calloc(n, sizeof *lens);
    fmts = roster_mem_calloc(n, sizeof *fmts);
  }
  int rc = (!vals || !lens || !fmts)
               ? roster_error_set(ROSTER_ENOMEM, "out of memory")
               : roster__pg_bind(s, p, n, vals, lens, fmts);
  PGresult *r = NULL;
  if (rc == ROSTER_OK)
    r = PQexecPrepared(cn->pg, s->name, (int)n, vals, lens, fmts, 0);
  if (n > 32) {
    roster_mem_free(vals);
    roster_mem_free(lens);
    roster_mem_free(fmts);
  }
  if (rc)
    return rc;
  ExecStatusType st = PQresultStatus(r);
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    rc = roster__pg_err_result(cn->pg, r);
    PQclear(r);
    return rc;
  }
  pg_cur *c = &s->cur;
  size_t nc = (size_t)PQnfields(r);
  if ((rc = grow_cols(c, nc))) {
    PQclear(r);
    return rc;
  }
  for (size_t i = 0; i < nc; i++) {
    c->names[i] = PQfname(r, (int)i);
    c->types[i] = roster__pg_oid_type(PQftype(r, (int)i));
  }
  c->res = r;
  c->row = -1;
  c->nrows = PQntuples(r);
  c->ncols = nc;
  *cur = (roster_db_cursor){.ncols = nc,
                            .names = (const char *const *)c->names,
                            .types = c->types,
                            .affected = roster__pg_affected(r)};
  /* INSERT ... RETURNING id: the first column of the first row. */
  if (nc && c->nrows && c->types[0] == ROSTER_DB_INT &&
      strncmp(PQcmdStatus(r), "INSERT ", 7) == 0) {
    c->row = 0;
    roster_db_value v;
    if (roster__pg_get(c, 0, &v) == ROSTER_OK && v.type == ROSTER_DB_INT)
      cur->last_id = v.u.i;
    c->row = -1;
  }
  if (nc) {
    cur->impl = c;
  } else {
    PQclear(r);
    c->res = NULL;
  }
  return ROSTER_OK;
}

static int pgd_next(roster_db_cursor *cur) {
  pg_cur *c = cur->impl;
  return ++c->row < c->nrows ? 1 : 0;
}

static int pgd_get(roster_db_cursor *cur, size_t col, roster_db_value *out) {
  return roster__pg_get(cur->impl, col, out);
}

static void pgd_close(roster_db_cursor *cur) {
  pg_cur *c = cur->impl;
  if (!c)
    return;
  PQclear(c->res);
  c->res = NULL;
  cur->impl = NULL;
}

static const char *const pg_schemes[] = {"postgresql", "postgres", NULL};

static const roster_db_driver pg_driver = {
    .version = ROSTER_DB_DRIVER_VERSION,
    .dialect = ROSTER_DB_DIALECT_POSTGRESQL,
    .typed_prepare = true,
    .setup = pg_setup,
    .cfg_free = cfg_free,
    .connect = pgd_connect,
    .disconnect = pgd_disconnect,
    .ping = pgd_ping,
    .broken = pgd_broken,
    .in_transaction = pgd_in_tx,
    .begin = pgd_begin,
    .commit = pgd_commit,
    .rollback = pgd_rollback,
    .prepare = pgd_prepare,
    .finalize = pgd_finalize,
    .execute = pgd_execute,
    .next = pgd_next,
    .get = pgd_get,
    .close = pgd_close,
    .native = pgd_native,
};

static const roster_driver pg_module = {
    .version = ROSTER_DRIVER_VERSION,
    .name = "postgresql",
    .module = "pg",
    .schemes = pg_schemes,
    .faces = {{&roster_db_face, &pg_driver}},
};

int roster_pg_init(void) { return roster_driver_register(&pg_module); }

PGconn *roster_pg_native(roster_db_conn *conn) {
  if (!conn || roster_db_conn_driver(conn) != &pg_driver)
    return NULL;
  return roster_db_native(conn);
}
