/*
 * roster/pg.h: the PostgreSQL module (library roster_pg, pkg-config
 * roster_pg) over libpq.
 *
 * URLs: postgresql://user:password@host:port/dbname?param=value (the
 * scheme postgres:// too). Query parameters other than roster's own (see
 * roster/db.h) are libpq connection keywords (sslmode, connect_timeout,
 * application_name, options, ...), checked against libpq's list; roster
 * sets connect_timeout=10, application_name=roster and
 * client_encoding=UTF8 unless the URL says otherwise. A read-only
 * database adds "-c default_transaction_read_only=on" to options.
 *
 * Statements are prepared on each connection (named rs1, rs2, ...) with
 * their parameter types: int as int8, double as float8, blob as bytea,
 * text and NULL as unknown (the server infers them, so a text parameter
 * can fill a date or a numeric column). Rows come in text form and are
 * converted on get. A result holds all its rows in memory (libpq's
 * PGresult). PostgreSQL has no last insert id: write INSERT ... RETURNING
 * id, and roster_db_info.last_id reports the first column of the first
 * row when it is an integer.
 */
#ifndef ROSTER_PG_H
#define ROSTER_PG_H

#include "db.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pg_conn PGconn;

/* roster_pg_init registers the "postgresql" and "postgres" URL schemes.
 * Idempotent and thread-safe; ROSTER_OK, or ROSTER_EEXIST if another
 * module holds one of them. */
ROSTER_EXTERN int roster_pg_init(void);

/* roster_pg_native: conn's PGconn, or NULL when conn is not a PostgreSQL
 * connection. It stays conn's (see roster_db_native): leave no
 * transaction or result pending on it. */
ROSTER_EXTERN PGconn *roster_pg_native(roster_db_conn *conn);

#ifdef __cplusplus
}
#endif

#endif /* ROSTER_PG_H */
