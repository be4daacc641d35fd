/*
 * db_impl.h: the database layer's private structures (include/roster/db.h).
 *
 * A roster_db owns a roster_pool whose connections are roster_db_conn
 * records: the driver's connection, its prepared-statement cache and the
 * results still open on it. db.c makes and frees databases, lends and
 * takes back connections and ties databases to the registry; db_stmt.c
 * runs statements and reads results; db_sql.c translates placeholders.
 */
#ifndef ROSTER_DB_IMPL_H
#define ROSTER_DB_IMPL_H

#include "base/base.h"
#include "core/service_impl.h"

#include "core/driver_impl.h"

#include "roster/db.h"

/* roster__db_sql: one statement with its placeholders translated for a
 * dialect (db_sql.c). */
typedef struct roster__db_sql {
  char *sql;      /* translated, NUL-terminated (roster__malloc) */
  size_t len;     /* strlen(sql) */
  size_t nparams; /* parameters the caller must pass */
  size_t nnative; /* placeholders in sql, i.e. values the driver binds */
  uint16_t *map;  /* nnative caller indexes (0-based) for MySQL's ?, or
                     NULL: the driver's k-th value is the caller's k-th */
} roster__db_sql;

/* roster__db_translate translates len bytes of sql (no NUL inside) for
 * dialect d into *out: $N or ? placeholders (not both) outside literals,
 * quoted identifiers and comments become the dialect's ($N for
 * PostgreSQL, ?N for SQLite, ? for MySQL, with map). PostgreSQL's "??"
 * stands for a literal "?" (the jsonb operators). ROSTER_EPARSE (with
 * the column) for mixed styles, $0, ?N or a number past
 * ROSTER_DB_PARAMS_MAX; ROSTER_ENOMEM. */
int roster__db_translate(roster_db_dialect d, const char *sql, size_t len,
                         roster__db_sql *out);
void roster__db_sql_free(roster__db_sql *s);

/* roster__db_stmt: one prepared statement in a connection's cache (or a
 * temporary one, when the cached one is busy with an open result). */
typedef struct roster__db_stmt {
  uint64_t hash; /* of sql (and types, for typed drivers) */
  char *sql;     /* the caller's SQL, the cache key */
  size_t len;
  uint8_t *types; /* the parameter types it was prepared for (typed
                     drivers only), nparams bytes */
  size_t nparams; /* the caller's parameters */
  size_t nnative;
  uint16_t *map; /* see roster__db_sql */
  void *ds;      /* the driver's statement */
  uint64_t used; /* LRU tick */
  bool in_use;   /* an open result is reading it */
  bool temp;     /* not in the cache: finalized with its result */
} roster__db_stmt;

struct roster_db {
  const roster_db_driver *drv;
  const char *drv_name; /* the driver's name (roster_driver.name) */
  void *cfg;            /* the driver's, from setup */
  roster_pool *pool;
  char name[ROSTER_POOL_NAME_MAX + 1];
  char url[512]; /* redacted */
  bool read_only;
  bool single;         /* SQLite :memory:: one connection, kept */
  unsigned stmt_cache; /* entries per connection; 0: none */
  int64_t drain_ms;
  unsigned pool_max;
  _Atomic uint64_t epoch; /* bumped when a connection is found broken:
                             older connections are pinged before use */
  _Atomic uint64_t st_prepared, st_hits, st_evicted, st_executed, st_errors,
      st_broken, st_revalidated;
};

struct roster_db_conn {
  roster_db *db;
  void *dc;               /* the driver's connection */
  uint64_t epoch;         /* db->epoch when last known good */
  bool held;              /* lent out (between acquire and release) */
  bool broken;            /* a failure lost it: close on release */
  roster__db_stmt *stmts; /* the cache: cap entries, n used */
  unsigned nstmts, cap;
  uint64_t tick;
  struct roster_db_result *open; /* results open on it */
};

struct roster_db_result {
  roster_db *db;
  roster_db_conn *conn; /* NULL once its connection was released */
  bool owns_conn;       /* from roster_db_query: release on free */
  roster__db_stmt *stmt;
  roster_db_cursor cur;
  int state; /* R_BEFORE, R_ROW, R_END, or an error code */
  struct roster_db_result *prev, *next; /* in conn->open */
};

enum { R_BEFORE = 1, R_ROW = 2, R_END = 3 };

/* roster__db_open is roster_db_open with the configuration entry's pairs
 * (extra: NULL-terminated key, value list, or NULL), the driver's face
 * already found (f; NULL: look it up by the URL's scheme) and, for a dry
 * run (a declaration's check), no connection: *out is then left NULL
 * (out may be NULL). db.c. */
int roster__db_open(const char *text, const roster_db_options *o,
                    const char *const *extra, bool dry,
                    const roster__face_ref *f, roster_db **out);
/* roster__db_fail prefixes the detail the driver left with the database's
 * name ("db 'main' (postgresql): ..."), counts the error, notes a broken
 * connection (c may be NULL) and returns code. */
int roster__db_fail(roster_db *db, roster_db_conn *c, int code);

/* roster__db_mark_broken: c was lost; it is closed on release and every
 * other connection is pinged before its next use. */
void roster__db_mark_broken(roster_db_conn *c);

/* roster__db_conn_close_results closes every result open on c (they are
 * detached: reading them is ROSTER_ESTATE). */
void roster__db_conn_close_results(roster_db_conn *c);

/* roster__db_conn_free_stmts finalizes c's cached statements. */
void roster__db_conn_free_stmts(roster_db_conn *c, bool closing);

/* roster__db_run is the body of every exec and query on a held
 * connection: want_rows makes *out a result, else rows are read to the
 * end and *info filled (may be NULL). */
int roster__db_run(roster_db_conn *c, const char *sql,
                   const roster_db_value *params, size_t nparams,
                   roster_db_result **out, roster_db_info *info);

static inline void roster__db_count(_Atomic uint64_t *c) {
  atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

#endif /* ROSTER_DB_IMPL_H */
