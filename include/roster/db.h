/*
 * roster/db.h: the one database API, over SQLite, PostgreSQL and
 * MySQL/MariaDB.
 *
 * A roster_db is a pool of connections of one driver, opened from a URL:
 *   sqlite:///var/lib/app.db     sqlite:data/app.db     sqlite::memory:
 *   postgresql://user:pw@127.0.0.1:5432/app?sslmode=disable
 *   mysql://user:pw@127.0.0.1:3306/app
 * The driver is picked by the URL's scheme from the modules compiled in
 * (modules/sqlite, modules/pg, modules/mariadb; each registers its schemes
 * with roster_<module>_init()). Pool options go in the URL's query
 * (?pool_max=8&pool_timeout=2000) or in roster_db_options.
 *
 * Statements take typed parameters, never values pasted into SQL text.
 * Placeholders are written $1, $2, ... (each may be used more than once)
 * or ?, ?, ... (in order), never both in one statement, and roster
 * translates them for the driver; placeholders inside string literals,
 * quoted identifiers, comments and PostgreSQL dollar-quoted strings are
 * left alone. Each connection keeps its prepared statements in a small
 * cache keyed by the SQL text, so a statement is prepared once per
 * connection and then only executed.
 *
 *   roster_db *db;
 *   roster_db_open("sqlite:///tmp/app.db", NULL, &db);
 *   roster_db_exec(db, "INSERT INTO t(name, n) VALUES ($1, $2)",
 *                  ROSTER_DB_PARAMS(roster_db_text("ada"), roster_db_int(36)),
 *                  NULL);
 *   roster_db_result *res;
 *   roster_db_query(db, "SELECT name, n FROM t WHERE n > ?",
 *                   ROSTER_DB_PARAMS(roster_db_int(30)), &res);
 *   while (roster_db_next(res) > 0) { ... roster_db_get_text(res, 0, ...) }
 *   roster_db_result_free(res);
 *
 * Errors: a negative roster_err and a sentence in roster_last_error() that
 * names the database and keeps the server's (or SQLite's) message verbatim,
 * with its SQLSTATE or error code. Constraint violations are
 * ROSTER_ECONSTRAINT, writes refused by a read-only pool ROSTER_EREADONLY,
 * lost or refused connections ROSTER_ECONN, other server errors (syntax
 * errors among them) ROSTER_EREMOTE, SQLite's busy/locked ROSTER_EBUSY.
 * Passwords never appear in a detail, a log line or roster_db_url.
 *
 * Threads: a roster_db is shared by every thread; all roster_db_* calls
 * on it are thread-safe. A roster_db_conn, and every result made on it, is
 * used by the one thread that holds it (acquire to release), never by two
 * at once: the foreign libraries' connections are not thread-safe.
 */
#ifndef ROSTER_DB_H
#define ROSTER_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "driver.h"
#include "pool.h"
#include "registry.h"
#include "url.h"
#include "version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* roster_db: a database, i.e. a pool of connections of one driver.
 * Opaque; made by roster_db_open (or a provider declared from a URL),
 * freed by roster_db_free. */
typedef struct roster_db roster_db;

/* roster_db_conn: one connection borrowed from a roster_db. Opaque. */
typedef struct roster_db_conn roster_db_conn;

/* roster_db_result: the rows of one statement. Opaque. */
typedef struct roster_db_result roster_db_result;

/* ROSTER_DB_PARAMS_MAX: the most parameters one statement takes (the
 * PostgreSQL and MySQL protocols' limit). */
#define ROSTER_DB_PARAMS_MAX 65535

/* ROSTER_DB_SQL_MAX: the longest SQL text accepted, in bytes. */
#define ROSTER_DB_SQL_MAX (16u << 20)

/* ------------------------------------------------------------------ */
/* Values                                                              */

/* roster_db_kind: the five types a value has on the way in and out. */
typedef enum roster_db_kind {
  ROSTER_DB_NULL = 0, /* SQL NULL */
  ROSTER_DB_INT,      /* int64_t (booleans too: 0 or 1) */
  ROSTER_DB_DOUBLE,   /* double */
  ROSTER_DB_TEXT,     /* UTF-8 text; decimals, dates, JSON come as text */
  ROSTER_DB_BLOB,     /* bytes */
} roster_db_kind;

/* roster_db_kind_name: "null", "int", "double", "text", "blob" ("?"). */
ROSTER_EXTERN const char *roster_db_kind_name(roster_db_kind t);

/* roster_db_value: one parameter, or one value read from a row. Text and
 * blob point to memory the value does not own: a parameter's must stay
 * valid during the call; a row's is valid until the next roster_db_next
 * or roster_db_result_free. */
typedef struct roster_db_value {
  roster_db_kind type;
  union {
    int64_t i; /* ROSTER_DB_INT */
    double d;  /* ROSTER_DB_DOUBLE */
    struct {
      const void *p; /* TEXT, BLOB (TEXT: no NUL inside, a NUL after it
                        in values read from a row) */
      size_t len;    /* bytes */
    } b;
  } u;
} roster_db_value;

/* Constructors for parameters. roster_db_text(NULL) is SQL NULL. */
static inline roster_db_value roster_db_null(void) {
  roster_db_value v;
  v.type = ROSTER_DB_NULL;
  v.u.i = 0;
  return v;
}
static inline roster_db_value roster_db_int(int64_t i) {
  roster_db_value v;
  v.type = ROSTER_DB_INT;
  v.u.i = i;
  return v;
}
static inline roster_db_value roster_db_double(double d) {
  roster_db_value v;
  v.type = ROSTER_DB_DOUBLE;
  v.u.d = d;
  return v;
}
/* roster_db_textn: len bytes of UTF-8 at s (no NUL byte inside: a NUL is
 * ROSTER_EINVAL; store such bytes as a blob). */
static inline roster_db_value roster_db_textn(const char *s, size_t len) {
  roster_db_value v;
  v.type = s ? ROSTER_DB_TEXT : ROSTER_DB_NULL;
  v.u.b.p = s;
  v.u.b.len = s ? len : 0;
  return v;
}
static inline roster_db_value roster_db_text(const char *s) {
  size_t n = 0;
  if (s)
    while (s[n])
      n++;
  return roster_db_textn(s, n);
}
static inline roster_db_value roster_db_blob(const void *p, size_t len) {
  roster_db_value v;
  v.type = ROSTER_DB_BLOB;
  v.u.b.p = p;
  v.u.b.len = len;
  return v;
}

/* ROSTER_DB_PARAMS(v, ...) expands to the two arguments (params, nparams)
 * of the calls below, from one or more values:
 *   roster_db_exec(db, sql, ROSTER_DB_PARAMS(roster_db_int(1)), NULL);
 * With no parameters, pass NULL, 0. */
#define ROSTER_DB_PARAMS(...)                                                  \
  ((const roster_db_value[]){__VA_ARGS__}),                                    \
      (sizeof((const roster_db_value[]){__VA_ARGS__}) /                        \
       sizeof(roster_db_value))

/* ------------------------------------------------------------------ */
/* Opening and closing                                                 */

/* roster_db_options: how to open a database. {0} means the defaults, or
 * the URL's query parameters where the URL gives them; a field set here
 * wins over the URL. Durations in milliseconds. The same settings in a
 * URL's query: pool_max, pool_min, pool_timeout, pool_idle_timeout,
 * pool_max_lifetime, pool_validate_after, pool_leak_threshold,
 * drain_timeout (milliseconds, 0 and -1 as here), stmt_cache (0 there:
 * no cache), read_only (1/0, true/false, on/off, yes/no). */
typedef struct roster_db_options {
  const char *name;            /* for details and leak reports (copied, at
                                  most ROSTER_POOL_NAME_MAX bytes); NULL =
                                  the driver's name ("postgresql") */
  unsigned pool_max;           /* connections at most; 10 */
  unsigned pool_min;           /* kept idle (opened before roster_db_open
                                  returns, so a server that is down is
                                  reported at once); 1 */
  int64_t acquire_timeout_ms;  /* how long an acquire queues; 30000; <0:
                                  no limit */
  int64_t idle_timeout_ms;     /* close spare connections idle this long;
                                  600000; <0: never */
  int64_t max_lifetime_ms;     /* recycle connections this old (less a
                                  random 0-10 %); 1800000; <0: never */
  int64_t validate_after_ms;   /* ping a connection idle longer than this
                                  before lending it; 500; <0: never */
  int64_t leak_threshold_ms;   /* report a connection held this long; 0:
                                  off */
  roster_pool_leak_fn leak_fn; /* the report; NULL: one line on stderr */
  void *leak_arg;
  int64_t drain_timeout_ms; /* roster_db_free waits this long for
                               connections in use; 5000; <0: not at
                               all */
  int stmt_cache;           /* prepared statements kept per connection;
                               64; <0: none (prepared and dropped per
                               call) */
  bool read_only;           /* refuse writes (see docs/db.md): SQLite
                               opens read-only, PostgreSQL sets
                               default_transaction_read_only, MariaDB
                               SET SESSION TRANSACTION READ ONLY */
} roster_db_options;

/* roster_db_open opens the database at url into *out. opts may be NULL.
 * The driver comes from the URL's scheme; its module must be initialised
 * (roster_sqlite_init(), roster_pg_init(), roster_mariadb_init()).
 * pool_min connections are opened before it returns. Errors change
 * nothing: ROSTER_EINVAL for NULL or empty arguments, an unknown query
 * parameter or option value (named in the detail); ROSTER_EPARSE for a
 * malformed URL; ROSTER_ENOTSUP for a scheme no database module serves
 * (the detail lists those that are compiled in and initialised);
 * ROSTER_ERANGE for an option out of range; ROSTER_ECONN (or the driver's
 * code) when the first connections cannot be made, with the library's
 * message; ROSTER_ENOMEM. The URL is kept only redacted. */
ROSTER_EXTERN int roster_db_open(const char *url, const roster_db_options *opts,
                                 roster_db **out);

/* roster_db_free closes db: new acquires fail with ROSTER_ESTATE, idle
 * connections are closed, and connections in use get drain_timeout_ms to
 * be released; any still out after that are closed when they are
 * released (their results stay readable until then). NULL is ignored.
 * No call on db may race with or follow this one, except the release of
 * connections and results still out. */
ROSTER_EXTERN void roster_db_free(roster_db *db);

/* roster_db_url: db's URL with its password redacted (owned by db). */
ROSTER_EXTERN const char *roster_db_url(const roster_db *db);

/* roster_db_name: db's name (owned by db). */
ROSTER_EXTERN const char *roster_db_name(const roster_db *db);

/* roster_db_driver_name: "sqlite", "postgresql" or "mariadb". */
ROSTER_EXTERN const char *roster_db_driver_name(const roster_db *db);

/* roster_db_read_only: whether db refuses writes. */
ROSTER_EXTERN bool roster_db_read_only(const roster_db *db);

/* roster_db_pool: db's connection pool, for roster_pool_stats_get (do
 * not acquire from it directly, nor free it). */
ROSTER_EXTERN roster_pool *roster_db_pool(roster_db *db);

/* roster_db_stats: statement counters, summed over db's connections. */
typedef struct roster_db_stats {
  uint64_t prepared;    /* statements prepared */
  uint64_t cache_hits;  /* executions that found their statement cached */
  uint64_t evicted;     /* statements dropped from a full (or, after an
                           error, stale) cache */
  uint64_t executed;    /* statements executed */
  uint64_t errors;      /* statements that failed */
  uint64_t broken;      /* connections found broken (closed, replaced) */
  uint64_t revalidated; /* connections pinged before use because another
                           was found broken */
} roster_db_stats;

/* roster_db_stats_get fills *out. ROSTER_EINVAL for NULL arguments. */
ROSTER_EXTERN int roster_db_stats_get(roster_db *db, roster_db_stats *out);

/* roster_db_ping makes one round trip on a pooled connection: the
 * health check of a database service. It queues at most 200 ms behind
 * users: if no connection comes free by then, every one is in use and
 * working, and the check passes (busy is not broken). ROSTER_ECONN (the
 * library's message kept) when the server does not answer or a
 * connection cannot be made. */
ROSTER_EXTERN int roster_db_ping(roster_db *db);

/* ------------------------------------------------------------------ */
/* One-shot statements on the pool                                     */

/* roster_db_info: what a statement changed. */
typedef struct roster_db_info {
  int64_t affected; /* rows inserted, updated (matched) or deleted; 0 for
                       other statements */
  int64_t last_id;  /* the id the statement's INSERT generated (SQLite's
                       rowid, MySQL's AUTO_INCREMENT); PostgreSQL has
                       none: write INSERT ... RETURNING id, and the first
                       column of the first row, when an integer, is
                       reported here. 0 when none. */
} roster_db_info;

/* roster_db_exec runs one statement on a connection borrowed for the
 * call, with nparams parameters (params may be NULL when nparams is 0),
 * discards any rows, and fills *info if info is not NULL. Errors, with
 * nothing run: ROSTER_EINVAL for NULL db or sql, empty or over-long sql,
 * more than one statement (SQLite), a parameter count that differs from
 * the placeholders (the detail says how many the SQL uses), a NUL inside
 * a text parameter, a bad value type; ROSTER_EPARSE for a statement that
 * mixes $N and ?; the acquire's errors (ROSTER_ETIMEDOUT, ROSTER_ECONN,
 * ROSTER_ESTATE once db is being freed). Errors from the server: as in
 * the file comment. */
ROSTER_EXTERN int roster_db_exec(roster_db *db, const char *sql,
                                 const roster_db_value *params, size_t nparams,
                                 roster_db_info *info);

/* roster_db_query runs one statement and returns its rows in *out (free
 * with roster_db_result_free; NULL on error). The result holds the
 * connection it ran on until it is freed. Errors as roster_db_exec. */
ROSTER_EXTERN int roster_db_query_at(roster_db *db, const char *sql,
                                     const roster_db_value *params,
                                     size_t nparams, roster_db_result **out,
                                     const char *file, int line,
                                     const char *func);
/* roster_db_query(db, sql, params, nparams, out): variadic so that
 * ROSTER_DB_PARAMS(...) may stand for params, nparams. */
#define roster_db_query(db, sql, ...)                                          \
  roster_db_query_at((db), (sql), __VA_ARGS__, __FILE__, __LINE__, __func__)

/* roster_db_tx_fn: the body of roster_db_transaction; return ROSTER_OK to
 * commit, anything else to roll back. */
typedef int (*roster_db_tx_fn)(roster_db_conn *conn, void *arg);

/* roster_db_transaction borrows a connection, begins a transaction, calls
 * fn(conn, arg) on this thread, and commits if it returned ROSTER_OK or
 * rolls back otherwise, then releases the connection. Returns fn's code
 * (its detail kept) when it failed, else the commit's. fn must not
 * release conn or end the transaction itself. When begin fails, fn is not
 * called. */
ROSTER_EXTERN int roster_db_transaction(roster_db *db, roster_db_tx_fn fn,
                                        void *arg);

/* ------------------------------------------------------------------ */
/* Connections                                                         */

/* roster_db_acquire_at borrows a connection into *conn, queueing up to
 * timeout_ms (ROSTER_POOL_WAIT_DEFAULT: the pool's; see
 * roster_pool_acquire_at, whose errors it returns). file, line, func name
 * the caller for leak reports (use the macros). A connection that may
 * have gone stale (idle long, or another was just found broken) is pinged
 * first and replaced if it fails. */
ROSTER_EXTERN int roster_db_acquire_at(roster_db *db, int64_t timeout_ms,
                                       roster_db_conn **conn, const char *file,
                                       int line, const char *func);
#define roster_db_acquire(db, conn)                                            \
  roster_db_acquire_at((db), ROSTER_POOL_WAIT_DEFAULT, (conn), __FILE__,       \
                       __LINE__, __func__)
#define roster_db_acquire_timeout(db, timeout_ms, conn)                        \
  roster_db_acquire_at((db), (timeout_ms), (conn), __FILE__, __LINE__, __func__)

/* roster_db_release gives conn back. An open transaction is rolled back,
 * results still open on it are closed (reading them then fails with
 * ROSTER_ESTATE; they must still be freed), and a connection seen broken
 * is closed instead of reused. ROSTER_EINVAL for NULL or a connection
 * not out. */
ROSTER_EXTERN int roster_db_release(roster_db_conn *conn);

/* roster_db_conn_exec, roster_db_conn_query: roster_db_exec and
 * roster_db_query on a connection the caller holds (inside a
 * transaction, say). A result made here belongs to conn: free it before
 * releasing conn. Errors as roster_db_exec (no acquire errors). */
ROSTER_EXTERN int roster_db_conn_exec(roster_db_conn *conn, const char *sql,
                                      const roster_db_value *params,
                                      size_t nparams, roster_db_info *info);
ROSTER_EXTERN int roster_db_conn_query(roster_db_conn *conn, const char *sql,
                                       const roster_db_value *params,
                                       size_t nparams, roster_db_result **out);

/* roster_db_begin starts a transaction on conn (SQLite: BEGIN IMMEDIATE,
 * or BEGIN on a read-only database). ROSTER_ESTATE if one is open.
 * roster_db_commit commits it: ROSTER_ESTATE if none is open, or if the
 * server had aborted it after an earlier error (PostgreSQL; it is rolled
 * back and the detail says so); a failed commit is rolled back.
 * roster_db_rollback rolls it back (ROSTER_ESTATE if none is open). After
 * commit or rollback, whatever the result, no transaction is open. */
ROSTER_EXTERN int roster_db_begin(roster_db_conn *conn);
ROSTER_EXTERN int roster_db_commit(roster_db_conn *conn);
ROSTER_EXTERN int roster_db_rollback(roster_db_conn *conn);

/* roster_db_in_transaction: whether conn is inside a transaction, as the
 * driver sees it (so also one begun with a plain "BEGIN"). */
ROSTER_EXTERN bool roster_db_in_transaction(roster_db_conn *conn);

/* roster_db_native returns the driver's own handle (PGconn *, MYSQL *,
 * sqlite3 *; see the typed accessors in roster/pg.h, roster/mariadb.h,
 * roster/sqlite.h), for what this API does not cover. It stays conn's:
 * do not close it, and leave it as you found it (no open transaction, no
 * pending result). NULL for NULL. */
ROSTER_EXTERN void *roster_db_native(roster_db_conn *conn);

/* roster_db_conn_db: the database conn was borrowed from. */
ROSTER_EXTERN roster_db *roster_db_conn_db(roster_db_conn *conn);

/* ------------------------------------------------------------------ */
/* Results                                                             */

/* roster_db_next moves to the next row: 1 when there is one, 0 at the
 * end, or a negative code (ROSTER_ESTATE for a result whose connection
 * was released; a server error while reading). */
ROSTER_EXTERN int roster_db_next(roster_db_result *res);

/* roster_db_columns: the number of columns (0 for a statement that
 * returns no rows). */
ROSTER_EXTERN size_t roster_db_columns(const roster_db_result *res);

/* roster_db_column_name: column col's name (owned by res), or NULL when
 * col is out of range. */
ROSTER_EXTERN const char *roster_db_column_name(const roster_db_result *res,
                                                size_t col);

/* roster_db_column_kind: column col's declared type, mapped to the five
 * types (PostgreSQL int2/4/8, oid, bool -> INT, float4/8 -> DOUBLE,
 * bytea -> BLOB, the rest TEXT; MySQL integers -> INT, FLOAT/DOUBLE ->
 * DOUBLE, binary strings -> BLOB, the rest TEXT; SQLite by the declared
 * type's affinity, or the first row's value for an expression).
 * ROSTER_DB_NULL when col is out of range or nothing tells. */
ROSTER_EXTERN roster_db_kind roster_db_column_kind(const roster_db_result *res,
                                                   size_t col);

/* roster_db_column_index returns the index of the column named name, or
 * -1 (ROSTER_ENOENT in the detail). */
ROSTER_EXTERN int roster_db_column_index(const roster_db_result *res,
                                         const char *name);

/* roster_db_get_value puts the current row's value of col into *out
 * (its text and blob valid until the next roster_db_next or free).
 * ROSTER_ESTATE when there is no current row, ROSTER_ERANGE for col out
 * of range. The typed getters below convert: get_int takes an INT, or a
 * TEXT that is exactly an integer (PostgreSQL's numeric); get_double an
 * INT, a DOUBLE or a TEXT that is exactly a number; get_text a TEXT;
 * get_blob a BLOB or a TEXT. Anything else (a NULL among them) is
 * ROSTER_ETYPE naming the column and both types; ROSTER_ERANGE for an
 * integer that does not fit in int64_t (MySQL BIGINT UNSIGNED). len may
 * be NULL. */
ROSTER_EXTERN int roster_db_get_value(roster_db_result *res, size_t col,
                                      roster_db_value *out);
ROSTER_EXTERN int roster_db_get_int(roster_db_result *res, size_t col,
                                    int64_t *out);
ROSTER_EXTERN int roster_db_get_double(roster_db_result *res, size_t col,
                                       double *out);
ROSTER_EXTERN int roster_db_get_text(roster_db_result *res, size_t col,
                                     const char **out, size_t *len);
ROSTER_EXTERN int roster_db_get_blob(roster_db_result *res, size_t col,
                                     const void **out, size_t *len);

/* roster_db_value_kind: the type of col's value in the current row
 * (ROSTER_DB_NULL for NULL, and when there is no current row). */
ROSTER_EXTERN roster_db_kind roster_db_value_kind(roster_db_result *res,
                                                  size_t col);

/* roster_db_is_null: col's value in the current row is NULL. */
ROSTER_EXTERN bool roster_db_is_null(roster_db_result *res, size_t col);

/* roster_db_affected, roster_db_last_id: as roster_db_info, once the rows
 * have been read to the end (SQLite runs a statement as it is read). */
ROSTER_EXTERN int64_t roster_db_affected(const roster_db_result *res);
ROSTER_EXTERN int64_t roster_db_last_id(const roster_db_result *res);

/* roster_db_result_free frees res (and releases the connection of a
 * roster_db_query result). NULL is ignored. */
ROSTER_EXTERN void roster_db_result_free(roster_db_result *res);

/* ------------------------------------------------------------------ */
/* The registry                                                        */

/* roster_db_type: the type of every database service, whatever
 * its driver. A URL declared with roster_provide_url (or a `services:`
 * config entry) whose scheme is a database's makes a provider of this
 * type: create opens the database (pool_min connections, so a server
 * that is down fails the start), destroy frees it, and the readiness
 * check is roster_db_ping. The options given with the URL
 * ({"pool_max", "8", NULL}; "pool.max" is read as "pool_max") are the
 * URL's query parameters. */
ROSTER_EXTERN extern const roster_type roster_db_type;

/* roster_db_find gets the database service (ns, name) from r, creating
 * it if its provider has not yet (roster_get with roster_db_type).
 * Errors as roster_get. The pointer stays valid while the service is up;
 * to hold it across a restart or shutdown, use roster_acquire. */
ROSTER_EXTERN int roster_db_find(roster *r, const char *ns, const char *name,
                                 roster_db **out);

/* ------------------------------------------------------------------ */
/* For driver modules                                                  */

/* ROSTER_DB_DRIVER_VERSION: the layout of roster_db_driver and the
 * structures it uses; a driver sets its version field to this. */
#define ROSTER_DB_DRIVER_VERSION 2

/* roster_db_dialect: how the driver's SQL is lexed (for placeholders) and
 * which placeholders it wants: PostgreSQL $N; SQLite ?N; MySQL ? (roster
 * repeats and reorders the parameters for it). */
typedef enum roster_db_dialect {
  ROSTER_DB_DIALECT_SQLITE = 1,
  ROSTER_DB_DIALECT_POSTGRESQL,
  ROSTER_DB_DIALECT_MYSQL,
} roster_db_dialect;

/* roster_db_setup: what the driver's setup gets and gives. */
typedef struct roster_db_setup {
  const roster_url *url;     /* in: the parsed URL */
  const char *const *params; /* in: the query parameters roster did not
                                take, as key, value, ..., NULL; keys the
                                driver does not know are its error */
  bool read_only;            /* in/out: asked for by roster_db_options or
                                the URL; the driver may set it (SQLite
                                mode=ro) */
  bool single;               /* out: the database lives in one connection
                                (SQLite :memory:): the pool is pinned to
                                it, never closed by age or idleness */
  void *cfg;                 /* out: the driver's configuration, for
                                connect; freed with cfg_free */
} roster_db_setup;

/* roster_db_cursor: one executed statement, filled by execute; the
 * driver keeps its state in impl. names and types (ncols each) belong to
 * the driver and stay valid until close. next and get may update
 * affected and last_id (when the driver learns them only at the end). */
typedef struct roster_db_cursor {
  void *impl;                  /* the driver's state; NULL: no rows */
  size_t ncols;                /* 0: the statement returns no rows */
  const char *const *names;    /* column names */
  const roster_db_kind *types; /* declared column types */
  int64_t affected;            /* see roster_db_info */
  int64_t last_id;
} roster_db_cursor;

/* roster_db_driver: the database face of a driver (roster/driver.h),
 * registered with roster_driver_register as {&roster_db_face, &driver}
 * among the driver's faces; the driver's name ("postgresql") is the
 * database's driver name and its schemes are the URLs it opens. Every
 * function but native is required. Connections (conn) and
 * statements (stmt) are the driver's opaque objects; a statement belongs
 * to the connection that prepared it. roster calls a connection's
 * functions from one thread at a time, and never with a roster lock held.
 * Failing functions return a negative roster code with a detail set by
 * roster_error_set holding the library's message verbatim (roster
 * prefixes it with the database's name). */
typedef struct roster_db_driver {
  unsigned version; /* ROSTER_DB_DRIVER_VERSION */
  roster_db_dialect dialect;
  bool typed_prepare; /* prepare needs the parameter types, so a
                         statement is cached per SQL text and
                         types (PostgreSQL) */
  /* setup checks the URL and parameters and makes the configuration; no
   * I/O. ROSTER_EINVAL naming a bad parameter. */
  int (*setup)(roster_db_setup *s);
  void (*cfg_free)(void *cfg);
  /* connect opens a connection with cfg (read_only applied). */
  int (*connect)(void *cfg, bool read_only, void **conn);
  void (*disconnect)(void *conn);
  /* ping: one round trip; ROSTER_OK if the connection works. */
  int (*ping)(void *conn);
  /* broken: after a failure, whether conn is unusable (lost). */
  bool (*broken)(void *conn);
  /* in_transaction: whether conn is inside a transaction. */
  bool (*in_transaction)(void *conn);
  /* begin, commit, rollback: the transaction statements. commit returns
   * ROSTER_ESTATE when the server had aborted the transaction. */
  int (*begin)(void *conn, bool read_only);
  int (*commit)(void *conn);
  int (*rollback)(void *conn);
  /* prepare compiles sql (placeholders already in the dialect's form,
   * nparams of them, types their types) into *stmt. */
  int (*prepare)(void *conn, const char *sql, size_t len, size_t nparams,
                 const roster_db_kind *types, void **stmt);
  /* finalize frees stmt; closing: the connection is about to be closed,
   * so nothing need be said to the server. */
  void (*finalize)(void *conn, void *stmt, bool closing);
  /* execute runs stmt with nparams parameters in the dialect's order and
   * fills *cur; on failure *cur is left empty (impl NULL). */
  int (*execute)(void *conn, void *stmt, const roster_db_value *params,
                 size_t nparams, roster_db_cursor *cur);
  /* next: 1 on a row, 0 at the end, < 0 on error. Never called after it
   * returned 0 or an error. */
  int (*next)(roster_db_cursor *cur);
  /* get: the current row's value of col (< ncols), as roster_db_value
   * (text NUL-terminated); ROSTER_ERANGE for an integer out of int64_t. */
  int (*get)(roster_db_cursor *cur, size_t col, roster_db_value *out);
  /* close frees the cursor's state (impl may be NULL: nothing to do). */
  void (*close)(roster_db_cursor *cur);
  /* native: the library's handle for conn. */
  void *(*native)(void *conn);
} roster_db_driver;

/* roster_db_face: the kind of database faces (roster/driver.h). A URL
 * whose driver has a database face opens with roster_db_open and declares
 * a database service (roster_db_type) with roster_provide_url. */
ROSTER_EXTERN extern const roster_face_kind roster_db_face;

/* roster_db_conn_driver: the driver of conn (for a module's typed
 * accessor to check that conn is its own). */
ROSTER_EXTERN const roster_db_driver *
roster_db_conn_driver(const roster_db_conn *conn);

#ifdef __cplusplus
}
#endif

#endif /* ROSTER_DB_H */
