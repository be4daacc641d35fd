/*
 * pg_impl.h: the PostgreSQL driver's private structures, shared by pg.c
 * (configuration, connections, transactions, statements) and pg_values.c
 * (parameters out, values in, errors).
 */
#ifndef ROSTER_PG_IMPL_H
#define ROSTER_PG_IMPL_H

#include <roster.h>
#include <roster/pg.h>

#include <libpq-fe.h>

/* pg_cfg: libpq keywords and values, NULL-terminated, in the order
 * PQconnectdbParams reads them (a later one wins). */
typedef struct pg_cfg {
  char **keys;
  char **vals;
  size_t n;
  int options_at; /* index of "options", or -1 */
} pg_cfg;

typedef struct pg_cn {
  PGconn *pg;
  unsigned next_id; /* statement names: rs1, rs2, ... */
  char *pending;    /* "DEALLOCATE rsN;" ... not yet sent */
  size_t pending_cap;
  unsigned npending;
} pg_cn;

/* pg_cur: one executed statement's rows (one per statement at a time). */
typedef struct pg_cur {
  PGresult *res;
  int row, nrows;
  size_t ncols, cap;
  const char **names;
  roster_db_kind *types;
  unsigned char **bufs; /* per column: decoded bytea of the current row */
  size_t *bufcap;
} pg_cur;

typedef struct pg_stmt {
  char name[24];
  size_t nparams;
  pg_cur cur;
  /* parameter buffers, reused: text copies (libpq's text format wants a
   * NUL), numbers printed */
  char *arena;
  size_t arena_cap;
} pg_stmt;

/* roster__pg_err_result sets the detail from a failed result (the server's
 * primary message verbatim, SQLSTATE, detail and hint) and returns the
 * roster code for its SQLSTATE. */
int roster__pg_err_result(PGconn *pg, const PGresult *res);

/* roster__pg_err_conn: the same from the connection's message (no result). */
int roster__pg_err_conn(PGconn *pg, const char *what);

/* roster__pg_oid_type maps a column type's OID to the five types. */
roster_db_kind roster__pg_oid_type(Oid oid);

/* roster__pg_param_oid: the type a parameter is prepared with. */
Oid roster__pg_param_oid(roster_db_kind t);

/* roster__pg_bind fills the libpq parameter arrays for p (n values) into
 * s->arena; returns ROSTER_ENOMEM on failure. */
int roster__pg_bind(pg_stmt *s, const roster_db_value *p, size_t n,
                    const char **vals, int *lens, int *fmts);

/* roster__pg_get reads column col of the current row. */
int roster__pg_get(pg_cur *c, size_t col, roster_db_value *out);

/* roster__pg_affected: rows an INSERT/UPDATE/DELETE/MERGE touched, from the
 * command tag; 0 for anything else. */
int64_t roster__pg_affected(PGresult *res);

#endif /* ROSTER_PG_IMPL_H */
