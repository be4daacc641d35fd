/*
 * mariadb_impl.h: the MySQL/MariaDB driver's private structures, shared
 * by mariadb.c (configuration, connections, transactions) and
 * mariadb_rows.c (statements, rows, errors).
 */
#ifndef ROSTER_MARIADB_IMPL_H
#define ROSTER_MARIADB_IMPL_H

#include <roster.h>
#include <roster/mariadb.h>

#include <mysql.h>

typedef struct my_cfg {
  char *host, *user, *password, *db, *socket;
  char charset[32];
  unsigned port;
  unsigned connect_timeout, read_timeout, write_timeout; /* s; 0: none */
} my_cfg;

typedef struct my_cn {
  MYSQL *m;
  bool lost; /* an error said the connection is gone */
} my_cn;

/* my_col: how one result column is fetched. */
typedef struct my_col {
  roster_db_kind type; /* its declared type */
  bool is_unsigned;
  unsigned long length;
  my_bool is_null, error;
  union {
    long long i;
    double d;
  } num;
  char *buf; /* text and blobs: a NUL is kept after the bytes */
  unsigned long cap;
} my_col;

typedef struct my_stmt {
  MYSQL_STMT *st;
  my_cn *cn;
  size_t nparams;
  MYSQL_RES *meta; /* while a result is open */
  size_t ncols, cap;
  my_col *cols;
  MYSQL_BIND *binds;
  const char **names;
  roster_db_kind *types;
} my_stmt;

/* roster__mariadb_err_conn / roster__mariadb_err_stmt set the detail from
 * libmariadb's message, error number and SQLSTATE, note a lost connection in
 * cn, and return the roster code. */
int roster__mariadb_err_conn(my_cn *cn, const char *what);
int roster__mariadb_err_stmt(my_cn *cn, MYSQL_STMT *st);

int roster__mariadb_prepare(void *conn, const char *sql, size_t len,
                            size_t nparams, const roster_db_kind *types,
                            void **out);
void roster__mariadb_finalize(void *conn, void *stmt, bool closing);
int roster__mariadb_execute(void *conn, void *stmt, const roster_db_value *p,
                            size_t n, roster_db_cursor *cur);
int roster__mariadb_next(roster_db_cursor *cur);
int roster__mariadb_get(roster_db_cursor *cur, size_t col,
                        roster_db_value *out);
void roster__mariadb_close(roster_db_cursor *cur);

#endif /* ROSTER_MARIADB_IMPL_H */
