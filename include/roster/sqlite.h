/*
 * roster/sqlite.h: the SQLite module (library roster_sqlite, pkg-config
 * roster_sqlite), the embedded default database.
 *
 * URLs: sqlite:///absolute/path.db, sqlite:relative/path.db (made
 * absolute against the working directory when the database is opened),
 * sqlite::memory:. Query parameters: mode=ro|rw|rwc (rwc, the default,
 * creates the file; ro opens it read-only, like read_only=1),
 * busy_timeout=<ms> (5000), journal_mode=wal|delete|truncate|persist|
 * memory|off (wal; not changed on a read-only database),
 * synchronous=off|normal|full|extra (SQLite's default), foreign_keys=on|off
 * (SQLite's default, off), besides roster's own (see roster/db.h).
 *
 * sqlite::memory: is one private in-memory database per roster_db, living
 * in one connection: its pool is pinned to that connection (pool_max 1,
 * never closed for idleness or age), so every thread sees the same data
 * and the threads' statements are served in turn.
 *
 * Connections are opened with SQLITE_OPEN_NOMUTEX: roster lends each to
 * one thread at a time.
 */
#ifndef ROSTER_SQLITE_H
#define ROSTER_SQLITE_H

#include "db.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sqlite3 sqlite3;

/* roster_sqlite_init registers the "sqlite" URL scheme (roster_db_open,
 * roster_provide_url). Idempotent and thread-safe; ROSTER_OK, or
 * ROSTER_EEXIST if another module holds the scheme. */
ROSTER_EXTERN int roster_sqlite_init(void);

/* roster_sqlite_native: conn's sqlite3 handle, or NULL when conn is not
 * an SQLite connection. The handle stays conn's (see roster_db_native). */
ROSTER_EXTERN sqlite3 *roster_sqlite_native(roster_db_conn *conn);

#ifdef __cplusplus
}
#endif

#endif /* ROSTER_SQLITE_H */
