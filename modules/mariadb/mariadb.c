/*
 * mariadb.c: the MySQL/MariaDB driver (roster/mariadb.h) behind the
 * database API (roster/db.h): configuration from the URL, connections
 * (utf8mb4, CLIENT_FOUND_ROWS, no automatic reconnection, no LOAD DATA
 * LOCAL), the transaction statements, and the module's init.
 * Statements and rows are in mariadb_rows.c.
 */
#include "mariadb_impl.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- configuration ---- */

static void cfg_free(void *p) {
  my_cfg *c = p;
  if (!c)
    return;
  roster_mem_free(c->host);
  roster_mem_free(c->user);
  roster_mem_free(c->password);
  roster_mem_free(c->db);
  roster_mem_free(c->socket);
  roster_mem_free(c);
}

static int seconds(const char *k, const char *v, unsigned *out) {
  char *end;
  errno = 0;
  long x = strtol(v, &end, 10);
  if (!*v || *end || errno || x < 0 || x > 86400)
    return roster_error_set(ROSTER_EINVAL,
                            "mariadb: %s '%.40s' is not a "
                            "number of seconds (0 to 86400)",
                            k, v);
  *out = (unsigned)x;
  return ROSTER_OK;
}

static char *dup_or_null(const char *s, bool *oom) {
  if (!s)
    return NULL;
  char *d = roster_mem_strdup(s);
  if (!d)
    *oom = true;
  return d;
}

static int my_setup(roster_db_setup *s) {
  const roster_url *u = s->url;
  my_cfg *c = roster_mem_calloc(1, sizeof *c);
  if (!c)
    return roster_error_set(ROSTER_ENOMEM, "out of memory");
  snprintf(c->charset, sizeof c->charset, "utf8mb4");
  c->connect_timeout = 10;
  c->port = (unsigned)u->port;
  bool oom = false;
  const char *db = u->path && u->path[0] == '/' ? u->path + 1 : u->path;
  c->host = dup_or_null(u->host && *u->host ? u->host : NULL, &oom);
  c->user = dup_or_null(u->user, &oom);
  c->password = dup_or_null(u->password, &oom);
  c->db = dup_or_null(db && *db ? db : NULL, &oom);
  int rc = oom ? roster_error_set(ROSTER_ENOMEM, "out of memory") : ROSTER_OK;
  for (size_t i = 0; !rc && s->params && s->params[i]; i += 2) {
    const char *k = s->params[i], *v = s->params[i + 1];
    if (strcmp(k, "connect_timeout") == 0)
      rc = seconds(k, v, &c->connect_timeout);
    else if (strcmp(k, "read_timeout") == 0)
      rc = seconds(k, v, &c->read_timeout);
    else if (strcmp(k, "write_timeout") == 0)
      rc = seconds(k, v, &c->write_timeout);
    else if (strcmp(k, "unix_socket") == 0) {
      roster_mem_free(c->socket);
      if (!(c->socket = roster_mem_strdup(v)))
        rc = roster_error_set(ROSTER_ENOMEM, "out of memory");
    } else if (strcmp(k, "charset") == 0) {
      size_t n = strlen(v);
      bool ok = n > 0 && n < sizeof c->charset;
      for (size_t j = 0; ok && j < n; j++)
        ok = (v[j] >= 'a' && v[j] <= 'z') || (v[j] >= '0' && v[j] <= '9') ||
             v[j] == '_';
      if (!ok)
        rc = roster_error_set(ROSTER_EINVAL,
                              "mariadb: charset '%.40s' is "
                              "not a character set name",
                              v);
      else
        snprintf(c->charset, sizeof c->charset, "%s", v);
    } else {
      rc = roster_error_set(ROSTER_EINVAL,
                            "mariadb: unknown URL parameter "
                            "'%.40s' (known: connect_timeout, read_timeout, "
                            "write_timeout, charset, unix_socket)",
                            k);
    }
  }
  if (rc) {
    cfg_free(c);
    return rc;
  }
  s->cfg = c;
  return ROSTER_OK;
}

/* ---- connections ---- */

static int my_connect(void *cfg, bool read_only, void **out) {
  my_cfg *c = cfg;
  my_cn *cn = roster_mem_calloc(1, sizeof *cn);
  MYSQL *m = cn ? mysql_init(NULL) : NULL;
  if (!m) {
    roster_mem_free(cn);
    return roster_error_set(ROSTER_ENOMEM, "out of memory");
  }
  cn->m = m;
  my_bool off = 0;
  unsigned zero = 0;
  mysql_options(m, MYSQL_SET_CHARSET_NAME, c->charset);
  mysql_options(m, MYSQL_OPT_RECONNECT, &off);
  mysql_options(m, MYSQL_OPT_LOCAL_INFILE, &zero);
  if (c->connect_timeout)
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &c->connect_timeout);
  if (c->read_timeout)
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &c->read_timeout);
  if (c->write_timeout)
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &c->write_timeout);
  if (!mysql_real_connect(m, c->host, c->user, c->password, c->db, c->port,
                          c->socket, CLIENT_FOUND_ROWS)) {
    roster__mariadb_err_conn(cn, "mariadb: cannot connect");
    mysql_close(m);
    roster_mem_free(cn);
    return roster_last_code() == ROSTER_ENOMEM ? ROSTER_ENOMEM : ROSTER_ECONN;
  }
  if (read_only) {
    static const char ro[] = "SET SESSION TRANSACTION READ ONLY";
    if (mysql_real_query(m, ro, sizeof ro - 1)) {
      int rc = roster__mariadb_err_conn(
          cn, "mariadb: cannot make the session read-only");
      mysql_close(m);
      roster_mem_free(cn);
      return rc;
    }
  }
  *out = cn;
  return ROSTER_OK;
}

static void my_disconnect(void *conn) {
  my_cn *cn = conn;
  mysql_close(cn->m);
  roster_mem_free(cn);
}

static int my_ping(void *conn) {
  my_cn *cn = conn;
  return mysql_ping(cn->m) ? roster__mariadb_err_conn(cn, "mariadb: ping")
                           : ROSTER_OK;
}

static bool my_broken(void *conn) { return ((my_cn *)conn)->lost; }

static bool my_in_tx(void *conn) {
  unsigned status = 0;
  if (mariadb_get_infov(((my_cn *)conn)->m, MARIADB_CONNECTION_SERVER_STATUS,
                        &status))
    return false;
  return (status & SERVER_STATUS_IN_TRANS) != 0;
}

static int query(my_cn *cn, const char *sql) {
  if (mysql_real_query(cn->m, sql, (unsigned long)strlen(sql)))
    return roster__mariadb_err_conn(cn, NULL);
  return ROSTER_OK;
}

/* A read-only session's transactions are read-only by its default. */
static int my_begin(void *conn, bool read_only) {
  (void)read_only;
  return query(conn, "START TRANSACTION");
}

static int my_commit(void *conn) {
  my_cn *cn = conn;
  return mysql_commit(cn->m) ? roster__mariadb_err_conn(cn, NULL) : ROSTER_OK;
}

static int my_rollback(void *conn) {
  my_cn *cn = conn;
  return mysql_rollback(cn->m) ? roster__mariadb_err_conn(cn, NULL) : ROSTER_OK;
}

static void *my_native(void *conn) { return ((my_cn *)conn)->m; }

static const char *const my_schemes[] = {"mysql", "mariadb", NULL};

static const roster_db_driver my_driver = {
    .version = ROSTER_DB_DRIVER_VERSION,
    .dialect = ROSTER_DB_DIALECT_MYSQL,
    .typed_prepare = false,
    .setup = my_setup,
    .cfg_free = cfg_free,
    .connect = my_connect,
    .disconnect = my_disconnect,
    .ping = my_ping,
    .broken = my_broken,
    .in_transaction = my_in_tx,
    .begin = my_begin,
    .commit = my_commit,
    .rollback = my_rollback,
    .prepare = roster__mariadb_prepare,
    .finalize = roster__mariadb_finalize,
    .execute = roster__mariadb_execute,
    .next = roster__mariadb_next,
    .get = roster__mariadb_get,
    .close = roster__mariadb_close,
    .native = my_native,
};

static const roster_driver my_module = {
    .version = ROSTER_DRIVER_VERSION,
    .name = "mariadb",
    .module = "mariadb",
    .schemes = my_schemes,
    .faces = {{&roster_db_face, &my_driver}},
};

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_rc;

static void lib_init(void) { lib_rc = mysql_library_init(0, NULL, NULL); }

int roster_mariadb_init(void) {
  pthread_once(&lib_once, lib_init);
  if (lib_rc)
    return roster_error_set(ROSTER_ESYS,
                            "mariadb: mysql_library_init "
                            "failed (%d)",
                            lib_rc);
  return roster_driver_register(&my_module);
}

struct st_mysql *roster_mariadb_native(roster_db_conn *conn) {
  if (!conn || roster_db_conn_driver(conn) != &my_driver)
    return NULL;
  return roster_db_native(conn);
}
