/*
 * db_conf.h: the conformance table's drivers, shared by the tests that
 * run the same cases against SQLite, PostgreSQL and MariaDB
 * (test_db_conformance.c, test_db_behaviour.c).
 *
 * Each driver row gives the bits of SQL that differ (an auto-increment
 * key, the blob and double types, how an INSERT reports its id) and the
 * words its messages use, so that one case body serves all three. A case
 * gets its driver's context with db_use(state): the database is opened
 * on first use (SQLite in a file of a fresh directory, the servers from
 * $ROSTER_TEST_PG_URL / $ROSTER_TEST_MARIADB_URL; a missing server skips
 * the case, or fails it under ROSTER_TEST_REQUIRE_SERVERS=1).
 */
#ifndef ROSTER_TEST_DB_CONF_H
#define ROSTER_TEST_DB_CONF_H

#include "testutil.h"

#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include <roster/mariadb.h>
#include <roster/pg.h>
#include <roster/sqlite.h>

typedef struct db_drv {
  const char *name;   /* roster_db_driver_name */
  const char *server; /* roster__tu_server_url's argument; NULL: SQLite */
  const char *pk;     /* an auto-increment integer key */
  const char *blob, *dbl, *text;
  const char *returning; /* appended to an INSERT to learn its id */
  const char *syntax;    /* in the message of a syntax error */
  const char *dup;       /* ... of a unique key violation */
  const char *notnull;   /* ... of a NOT NULL violation */
  const char *no_table;  /* ... of an unknown table */
  const char *readonly;  /* ... of a write to a read-only database */
} db_drv;

static const db_drv DB_SQLITE = {"sqlite",
                                 NULL,
                                 "INTEGER PRIMARY KEY AUTOINCREMENT",
                                 "BLOB",
                                 "REAL",
                                 "TEXT",
                                 "",
                                 "syntax error",
                                 "UNIQUE constraint failed",
                                 "NOT NULL constraint failed",
                                 "no such table",
                                 "readonly"};
static const db_drv DB_PG = {"postgresql",
                             "PG",
                             "BIGSERIAL PRIMARY KEY",
                             "BYTEA",
                             "DOUBLE PRECISION",
                             "TEXT",
                             " RETURNING id",
                             "syntax error at or near",
                             "duplicate key value violates unique constraint",
                             "violates not-null",
                             "does not exist",
                             "read-only transaction"};
static const db_drv DB_MARIADB = {"mariadb",
                                  "MARIADB",
                                  "BIGINT AUTO_INCREMENT PRIMARY KEY",
                                  "LONGBLOB",
                                  "DOUBLE",
                                  "LONGTEXT",
                                  "",
                                  "You have an error in your SQL syntax",
                                  "Duplicate entry",
                                  "cannot be null",
                                  "doesn't exist",
                                  "READ ONLY"};

typedef struct db_ctx {
  const db_drv *d;
  roster_db *db;
  char url[1024];
  char dir[128]; /* SQLite: the directory of its file */
  bool have;     /* the modules this build has */
} db_ctx;

static db_ctx ctx_sqlite = {.d = &DB_SQLITE};
static db_ctx ctx_pg = {.d = &DB_PG};
static db_ctx ctx_mariadb = {.d = &DB_MARIADB};

static inline int db_group_setup(void **state) {
  db_ctx *c = *state;
#if defined(ROSTER_TEST_HAVE_SQLITE)
  if (c->d == &DB_SQLITE)
    c->have = roster_sqlite_init() == ROSTER_OK;
#endif
#if defined(ROSTER_TEST_HAVE_PG)
  if (c->d == &DB_PG)
    c->have = roster_pg_init() == ROSTER_OK;
#endif
#if defined(ROSTER_TEST_HAVE_MARIADB)
  if (c->d == &DB_MARIADB)
    c->have = roster_mariadb_init() == ROSTER_OK;
#endif
  if (c->d == &DB_SQLITE) {
    snprintf(c->dir, sizeof c->dir, "/tmp/roster-conf-XXXXXX");
    if (!mkdtemp(c->dir))
      return -1;
    snprintf(c->url, sizeof c->url, "sqlite://%s/conf.db", c->dir);
  }
  return 0;
}

static inline int db_group_teardown(void **state) {
  db_ctx *c = *state;
  roster_db_free(c->db);
  c->db = NULL;
  if (c->dir[0]) {
    DIR *d = opendir(c->dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
      if (e->d_name[0] == '.')
        continue;
      char p[512];
      snprintf(p, sizeof p, "%s/%s", c->dir, e->d_name);
      unlink(p);
    }
    if (d)
      closedir(d);
    rmdir(c->dir);
  }
  return 0;
}

/* db_use returns the case's context with its database open (skipping or
 * failing the case when its server or module is missing). */
static inline db_ctx *db_use(void **state) {
  db_ctx *c = *state;
  if (!c->have) {
    print_message("skipping: this build has no %s module\n", c->d->name);
    skip();
  }
  if (c->d->server)
    snprintf(c->url, sizeof c->url, "%s", roster__tu_server_url(c->d->server));
  if (!c->db) {
    int rc = roster_db_open(c->url, NULL, &c->db);
    if (rc != ROSTER_OK) {
      print_error("cannot open %s: %s\n", c->d->name, roster_last_error());
      fail();
    }
  }
  return c;
}

/* db_url_with writes the context's URL plus query parameters q ("a=1&b=2")
 * into buf. */
static inline const char *db_url_with(const db_ctx *c, const char *q, char *buf,
                                      size_t cap) {
  snprintf(buf, cap, "%s%s%s", c->url, strchr(c->url, '?') ? "&" : "?", q);
  return buf;
}

/* db_table makes a table name no other test process uses. */
static inline const char *db_table(char *buf, size_t cap) {
  return roster__tu_unique_name(buf, cap, "rt");
}

/* db_sqlf formats SQL (table names only: values go in parameters). */
static inline const char *db_sqlf(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline const char *db_sqlf(char *buf, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, cap, fmt, ap);
  va_end(ap);
  return buf;
}

/* db_drop drops table t (ignoring errors). */
static inline void db_drop(roster_db *db, const char *t) {
  char sql[256];
  roster_db_exec(db, db_sqlf(sql, sizeof sql, "DROP TABLE IF EXISTS %s", t),
                 NULL, 0, NULL);
}

/* db_count returns SELECT count(*) FROM t [where]. */
static inline int64_t db_count(roster_db *db, const char *t,
                               const char *where) {
  char sql[512];
  roster_db_result *res;
  int64_t n = -1;
  db_sqlf(sql, sizeof sql, "SELECT count(*) FROM %s%s%s", t,
          where ? " WHERE " : "", where ? where : "");
  if (roster_db_query(db, sql, NULL, 0, &res) != ROSTER_OK)
    return -1;
  if (roster_db_next(res) == 1)
    roster_db_get_int(res, 0, &n);
  roster_db_result_free(res);
  return n;
}

/* The group setups hand each driver's context to its cases (cmocka
 * gives the group's state to every case). */
static inline int db_setup_sqlite(void **state) {
  *state = &ctx_sqlite;
  return db_group_setup(state);
}
static inline int db_setup_pg(void **state) {
  *state = &ctx_pg;
  return db_group_setup(state);
}
static inline int db_setup_mariadb(void **state) {
  *state = &ctx_mariadb;
  return db_group_setup(state);
}

/* DB_GROUP runs the cases once per driver, as three groups; non-zero if
 * any case failed. */
#define DB_GROUP(cases)                                                        \
  (cmocka_run_group_tests_name("sqlite", cases, db_setup_sqlite,               \
                               db_group_teardown) |                            \
   cmocka_run_group_tests_name("postgresql", cases, db_setup_pg,               \
                               db_group_teardown) |                            \
   cmocka_run_group_tests_name("mariadb", cases, db_setup_mariadb,             \
                               db_group_teardown))

#endif
