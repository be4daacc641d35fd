/*
 * roster/mariadb.h: the MySQL/MariaDB module (library roster_mariadb,
 * pkg-config roster_mariadb) over libmariadb (MariaDB Connector/C).
 *
 * URLs: mysql://user:password@host:port/dbname (the scheme mariadb://
 * too). Write 127.0.0.1, not localhost: to libmariadb, localhost means
 * the Unix socket. Query parameters besides roster's own (see
 * roster/db.h): connect_timeout, read_timeout, write_timeout (seconds;
 * connect_timeout defaults to 10), charset (utf8mb4), unix_socket (a
 * path). Connections are opened with CLIENT_FOUND_ROWS (an UPDATE
 * reports the rows it matched, as PostgreSQL and SQLite do), automatic
 * reconnection off (roster replaces a lost connection itself) and LOAD
 * DATA LOCAL off. A read-only database runs SET SESSION TRANSACTION READ
 * ONLY on each connection.
 *
 * Statements are server-side prepared statements (the binary protocol);
 * MySQL's placeholders are positional, so roster repeats and reorders the
 * parameters of a statement written with $N. A result's rows are stored
 * on the client at once (mysql_stmt_store_result), so the connection is
 * free for other statements while they are read. DECIMAL, dates and
 * times come as text.
 */
#ifndef ROSTER_MARIADB_H
#define ROSTER_MARIADB_H

#include "db.h"

#ifdef __cplusplus
extern "C" {
#endif

struct st_mysql;

/* roster_mariadb_init initialises libmariadb (once) and registers the
 * "mysql" and "mariadb" URL schemes. Idempotent and thread-safe;
 * ROSTER_OK, ROSTER_EEXIST if another module holds a scheme, or
 * ROSTER_ESYS if the library cannot be initialised. */
ROSTER_EXTERN int roster_mariadb_init(void);

/* roster_mariadb_native: conn's MYSQL handle, or NULL when conn is not a
 * MySQL/MariaDB connection. It stays conn's (see roster_db_native). */
ROSTER_EXTERN struct st_mysql *roster_mariadb_native(roster_db_conn *conn);

#ifdef __cplusplus
}
#endif

#endif /* ROSTER_MARIADB_H */
