/*
 * sqlite.c: the SQLite driver (roster/sqlite.h) behind the database API
 * (roster/db.h).
 *
 * A connection is one sqlite3 handle opened SQLITE_OPEN_NOMUTEX (roster
 * lends it to one thread at a time), with a busy timeout, WAL and the
 * pragmas the URL asks for; each value is picked from a fixed list, so no
 * text from the URL is ever pasted into SQL. A statement is one
 * sqlite3_stmt prepared SQLITE_PREPARE_PERSISTENT; its one cursor lives
 * inside it (a statement is read by at most one result at a time). The
 * statement runs as it is read: execute binds and takes the first step, so
 * that errors (constraints, busy) come from the call that ran it; each
 * later row is one step. Parameters are copied (SQLITE_TRANSIENT), since a
 * statement still being read may look at them again after the call.
 */
#include <roster.h>
#include <roster/sqlite.h>

#include "base/helpers.h" /* roster__err_wrap */

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sqlite3.h>

typedef struct lite_cfg {
  char *path; /* the file, or ":memory:" */
  bool memory;
  bool create; /* mode=rwc */
  int busy_ms;
  const char *journal; /* a PRAGMA journal_mode statement, or NULL */
  const char *sync;    /* a PRAGMA synchronous statement, or NULL */
  const char *fk;      /* a PRAGMA foreign_keys statement, or NULL */
} lite_cfg;

typedef struct lite_conn {
  sqlite3 *db;
} lite_conn;

typedef struct lite_stmt {
  sqlite3_stmt *st;
  sqlite3 *db;
  size_t ncols, cap; /* columns this run; arrays' capacity */
  const char **names;
  roster_db_kind *types;
  sqlite3_int64 changes_before;
  bool row_ahead; /* execute's step found a row not yet handed out */
  bool done;
} lite_stmt;

/* ---- errors ---- */

static int lite_code(int rc) {
  switch (rc & 0xff) {
  case SQLITE_CONSTRAINT:
    return ROSTER_ECONSTRAINT;
  case SQLITE_READONLY:
    return ROSTER_EREADONLY;
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return ROSTER_EBUSY;
  case SQLITE_NOMEM:
    return ROSTER_ENOMEM;
  case SQLITE_IOERR:
  case SQLITE_CORRUPT:
  case SQLITE_FULL:
  case SQLITE_NOTADB:
  case SQLITE_CANTOPEN:
    return ROSTER_EIO;
  case SQLITE_TOOBIG:
    return ROSTER_ERANGE;
  case SQLITE_RANGE:
  case SQLITE_MISUSE:
    return ROSTER_EINVAL;
  case SQLITE_INTERRUPT:
    return ROSTER_ECANCELED;
  default:
    return ROSTER_EREMOTE;
  }
}

/* lite_err keeps SQLite's message (sqlite3_errmsg, verbatim) and its
 * extended code. */
static int lite_err(sqlite3 *db, int rc) {
  const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  int ext = db ? sqlite3_extended_errcode(db) : rc;
  return roster_error_set(lite_code(ext ? ext : rc), "%s (sqlite error %d)",
                          msg, ext ? ext : rc);
}

/* ---- setup ---- */

static const char *const journals[] = {
    "wal", "delete", "truncate", "persist", "memory", "off", NULL};
static const char *const journal_sql[] = {
    "PRAGMA journal_mode=WAL",      "PRAGMA journal_mode=DELETE",
    "PRAGMA journal_mode=TRUNCATE", "PRAGMA journal_mode=PERSIST",
    "PRAGMA journal_mode=MEMORY",   "PRAGMA journal_mode=OFF"};
static const char *const syncs[] = {"off", "normal", "full", "extra", NULL};
static const char *const sync_sql[] = {
    "PRAGMA synchronous=OFF", "PRAGMA synchronous=NORMAL",
    "PRAGMA synchronous=FULL", "PRAGMA synchronous=EXTRA"};

static int pick(const char *key, const char *v, const char *const *list) {
  for (int i = 0; list[i]; i++)
    if (strcasecmp(v, list[i]) == 0)
      return i;
  char all[128] = "";
  for (int i = 0; list[i]; i++) {
    strncat(all, i ? ", " : "", sizeof all - strlen(all) - 1);
    strncat(all, list[i], sizeof all - strlen(all) - 1);
  }
  roster_error_set(ROSTER_EINVAL, "sqlite: %s '%.40s' is not one of %s", key, v,
                   all);
  return -1;
}

static void lite_cfg_free(void *p) {
  lite_cfg *c = p;
  if (!c)
    return;
  roster_mem_free(c->path);
  roster_mem_free(c);
}

static int lite_setup(roster_db_setup *s) {
  const roster_url *u = s->url;
  if ((u->host && *u->host) || u->user || u->port)
    return roster_error_set(ROSTER_EINVAL,
                            "sqlite: the URL names a host or "
                            "user ('%s'); write sqlite:///absolute/path.db, "
                            "sqlite:relative/path.db or sqlite::memory:",
                            u->host && *u->host ? u->host : "");
  if (!u->path || !*u->path)
    return roster_error_set(ROSTER_EINVAL,
                            "sqlite: the URL has no path; "
                            "write sqlite:///absolute/path.db, "
                            "sqlite:relative/path.db or sqlite::memory:");
  lite_cfg *c = roster_mem_calloc(1, sizeof *c);
  if (!c)
    return roster_error_set(ROSTER_ENOMEM, "out of memory");
  c->memory = strcmp(u->path, ":memory:") == 0;
  c->create = true;
  c->busy_ms = 5000;
  c->journal = c->memory ? NULL : journal_sql[0];
  int rc = ROSTER_OK;
  for (size_t i = 0; s->params && s->params[i] && rc == ROSTER_OK; i += 2) {
    const char *k = s->params[i], *v = s->params[i + 1];
    int x;
    if (strcmp(k, "mode") == 0) {
      static const char *const modes[] = {"ro", "rw", "rwc", NULL};
      if ((x = pick(k, v, modes)) < 0)
        rc = ROSTER_EINVAL;
      else if (x == 0)
        s->read_only = true;
      else
        c->create = x == 2;
    } else if (strcmp(k, "busy_timeout") == 0) {
      char *end;
      errno = 0;
      long ms = strtol(v, &end, 10);
      if (!*v || *end || errno || ms < 0 || ms > INT_MAX)
        rc = roster_error_set(ROSTER_EINVAL,
                              "sqlite: busy_timeout '%.40s' "
                              "is not a number of milliseconds",
                              v);
      else
        c->busy_ms = (int)ms;
    } else if (strcmp(k, "journal_mode") == 0) {
      if ((x = pick(k, v, journals)) < 0)
        rc = ROSTER_EINVAL;
      else
        c->journal = c->memory ? NULL : journal_sql[x];
    } else if (strcmp(k, "synchronous") == 0) {
      if ((x = pick(k, v, syncs)) < 0)
        rc = ROSTER_EINVAL;
      else
        c->sync = sync_sql[x];
    } else if (strcmp(k, "foreign_keys") == 0) {
      static const char *const onoff[] = {"on",   "off",   "1", "0",
                                          "true", "false", NULL};
      if ((x = pick(k, v, onoff)) < 0)
        rc = ROSTER_EINVAL;
      else
        c->fk =
            x % 2 == 0 ? "PRAGMA foreign_keys=ON" : "PRAGMA foreign_keys=OFF";
    } else {
      rc = roster_error_set(ROSTER_EINVAL,
                            "sqlite: unknown URL parameter "
                            "'%.40s' (known: mode, busy_timeout, "
                            "journal_mode, synchronous, foreign_keys)",
                            k);
    }
  }
  if (rc == ROSTER_OK && c->memory && s->read_only)
    rc = roster_error_set(ROSTER_EINVAL,
                          "sqlite: an in-memory database "
                          "cannot be read-only (it starts empty)");
  /* A relative path is made absolute now: each connection opens the file
   * itself, some later on the pool's own thread, and the process may have
   * changed directory by then (each would open another file). */
  if (rc == ROSTER_OK && !c->memory && u->path[0] != '/') {
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd))
      rc = roster_error_set(ROSTER_ESYS,
                            "sqlite: cannot resolve '%s': the "
                            "working directory is unknown (%s)",
                            u->path, strerror(errno));
    else if (!(c->path = roster_mem_alloc(strlen(cwd) + strlen(u->path) + 2)))
      rc = roster_error_set(ROSTER_ENOMEM, "out of memory");
    else
      sprintf(c->path, "%s/%s", cwd, u->path);
  }
  if (rc == ROSTER_OK && !c->path && !(c->path = roster_mem_strdup(u->path)))
    rc = roster_error_set(ROSTER_ENOMEM, "out of memory");
  if (rc) {
    lite_cfg_free(c);
    return rc;
  }
  s->single = c->memory;
  s->cfg = c;
  return ROSTER_OK;
}

/* ---- connections ---- */

static int lite_run(sqlite3 *db, const char *sql) {
  int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
  return rc == SQLITE_OK ? ROSTER_OK : lite_err(db, rc);
}

static int lite_connect(void *cfg, bool read_only, void **out) {
  lite_cfg *c = cfg;
  int flags = SQLITE_OPEN_NOMUTEX |
              (read_only ? SQLITE_OPEN_READONLY
                         : SQLITE_OPEN_READWRITE |
                               (c->create ? SQLITE_OPEN_CREATE : 0));
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2(c->path, &db, flags, NULL);
  if (rc != SQLITE_OK) {
    int code = rc == SQLITE_NOMEM ? ROSTER_ENOMEM : ROSTER_ECONN;
    roster_error_set(code, "sqlite: cannot open '%s': %s (sqlite error %d)",
                     c->path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc),
                     db ? sqlite3_extended_errcode(db) : rc);
    sqlite3_close(db);
    return code;
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, c->busy_ms);
  rc = ROSTER_OK;
  if (!read_only && c->journal)
    rc = lite_run(db, c->journal);
  if (rc == ROSTER_OK && c->sync)
    rc = lite_run(db, c->sync);
  if (rc == ROSTER_OK && c->fk)
    rc = lite_run(db, c->fk);
  if (rc) {
    rc = roster__err_wrap(rc, "sqlite: cannot set up '%s'", c->path);
    sqlite3_close(db);
    return rc;
  }
  lite_conn *lc = roster_mem_calloc(1, sizeof *lc);
  if (!lc) {
    sqlite3_close(db);
    return roster_error_set(ROSTER_ENOMEM, "out of memory");
  }
  lc->db = db;
  *out = lc;
  return ROSTER_OK;
}

static void lite_disconnect(void *conn) {
  lite_conn *lc = conn;
  sqlite3_close_v2(lc->db);
  roster_mem_free(lc);
}

static int lite_ping(void *conn) {
  return lite_run(((lite_conn *)conn)->db, "SELECT 1");
}

/* An SQLite connection does not break the way a network one does. */
static bool lite_broken(void *conn) {
  (void)conn;
  return false;
}

static bool lite_in_tx(void *conn) {
  return !sqlite3_get_autocommit(((lite_conn *)conn)->db);
}

/* A read-write transaction takes the write lock at once (IMMEDIATE): a
 * deferred one that reads and then writes can fail with SQLITE_BUSY,
 * without waiting, when another connection wrote in between. */
static int lite_begin(void *conn, bool read_only) {
  return lite_run(((lite_conn *)conn)->db,
                  read_only ? "BEGIN" : "BEGIN IMMEDIATE");
}

static int lite_commit(void *conn) {
  return lite_run(((lite_conn *)conn)->db, "COMMIT");
}

static int lite_rollback(void *conn) {
  return lite_run(((lite_conn *)conn)->db, "ROLLBACK");
}

static void *lite_native(void *conn) { return ((lite_conn *)conn)->db; }

/* ---- statements ---- */

static int lite_prepare(void *conn, const char *sql, size_t len, size_t nparams,
                        const roster_db_kind *types, void **out) {
  (void)types;
  sqlite3 *db = ((lite_conn *)conn)->db;
  if (len >= INT_MAX)
    return roster_error_set(ROSTER_EINVAL, "sqlite: the SQL is too long");
  sqlite3_stmt *st = NULL;
  const char *tail = NULL;
  int rc = sqlite3_prepare_v3(db, sql, (int)len + 1, SQLITE_PREPARE_PERSISTENT,
                              &st, &tail);
  if (rc != SQLITE_OK)
    return lite_err(db, rc);
  if (!st)
    return roster_error_set(ROSTER_EINVAL, "sqlite: the SQL holds no "
                                           "statement");
  if (tail && *tail) {
    /* Anything but blanks and comments after the first statement? */
    sqlite3_stmt *more = NULL;
    rc = sqlite3_prepare_v2(db, tail, -1, &more, NULL);
    sqlite3_finalize(more);
    if (rc != SQLITE_OK || more) {
      sqlite3_finalize(st);
      return roster_error_set(ROSTER_EINVAL,
                              "sqlite: the SQL holds more "
                              "than one statement (the second starts at "
                              "byte %zu); run them one at a time",
                              (size_t)(tail - sql) + 1);
    }
  }
  int have = sqlite3_bind_parameter_count(st);
  if ((size_t)have != nparams) {
    char name[64] = "?";
    for (int i = 1; i <= have; i++) {
      const char *n = sqlite3_bind_parameter_name(st, i);
      if (n && n[0] != '?') {
        snprintf(name, sizeof name, "%s", n);
        break;
      }
    }
    sqlite3_finalize(st);
    return roster_error_set(ROSTER_EINVAL,
                            "sqlite: the statement has a "
                            "parameter roster does not bind (%s); write $N "
                            "or ?",
                            name);
  }
  lite_stmt *s = roster_mem_calloc(1, sizeof *s);
  if (!s) {
    sqlite3_finalize(st);
    return roster_error_set(ROSTER_ENOMEM, "out of memory");
  }
  s->st = st;
  s->db = db;
  *out = s;
  return ROSTER_OK;
}

static void lite_finalize(void *conn, void *stmt, bool closing) {
  (void)conn;
  (void)closing;
  lite_stmt *s = stmt;
  sqlite3_finalize(s->st);
  roster_mem_free(s->names);
  roster_mem_free(s->types);
  roster_mem_free(s);
}

static roster_db_kind affinity(const char *decl) {
  if (!decl || !*decl)
    return ROSTER_DB_NULL;
  /* SQLite's own rules (datatype3.html, 3.1), in its order. */
  char up[64];
  size_t n = 0;
  for (; decl[n] && n + 1 < sizeof up; n++)
    up[n] = (char)((decl[n] >= 'a' && decl[n] <= 'z') ? decl[n] - 32 : decl[n]);
  up[n] = '\0';
  if (strstr(up, "INT"))
    return ROSTER_DB_INT;
  if (strstr(up, "CHAR") || strstr(up, "CLOB") || strstr(up, "TEXT"))
    return ROSTER_DB_TEXT;
  if (strstr(up, "BLOB"))
    return ROSTER_DB_BLOB;
  if (strstr(up, "REAL") || strstr(up, "FLOA") || strstr(up, "DOUB"))
    return ROSTER_DB_DOUBLE;
  return ROSTER_DB_TEXT; /* NUMERIC affinity: decimals, dates */
}

static roster_db_kind value_type(int t) {
  switch (t) {
  case SQLITE_INTEGER:
    return ROSTER_DB_INT;
  case SQLITE_FLOAT:
    return ROSTER_DB_DOUBLE;
  case SQLITE_TEXT:
    return ROSTER_DB_TEXT;
  case SQLITE_BLOB:
    return ROSTER_DB_BLOB;
  default:
    return ROSTER_DB_NULL;
  }
}

/* finish records what a run changed, once it is done. */
static void finish(lite_stmt *s, roster_db_cursor *cur) {
  s->done = true;
  if (sqlite3_total_changes64(s->db) != s->changes_before) {
    cur->affected = sqlite3_changes64(s->db);
    cur->last_id = sqlite3_last_insert_rowid(s->db);
  }
}

static int lite_execute(void *conn, void *stmt, const roster_db_value *p,
                        size_t n, roster_db_cursor *cur) {
  (void)conn;
  lite_stmt *s = stmt;
  sqlite3_stmt *st = s->st;
  int rc = SQLITE_OK;
  for (size_t i = 0; i < n && rc == SQLITE_OK; i++) {
    int at = (int)i + 1;
    switch (p[i].type) {
    case ROSTER_DB_INT:
      rc = sqlite3_bind_int64(st, at, p[i].u.i);
      break;
    case ROSTER_DB_DOUBLE:
      rc = sqlite3_bind_double(st, at, p[i].u.d);
      break;
    case ROSTER_DB_TEXT:
      rc = sqlite3_bind_text64(st, at, p[i].u.b.p ? p[i].u.b.p : "",
                               p[i].u.b.len, SQLITE_TRANSIENT, SQLITE_UTF8);
      break;
    case ROSTER_DB_BLOB:
      rc = sqlite3_bind_blob64(st, at, p[i].u.b.p ? p[i].u.b.p : "",
                               p[i].u.b.len, SQLITE_TRANSIENT);
      break;
    default:
      rc = sqlite3_bind_null(st, at);
    }
  }
  if (rc != SQLITE_OK) {
    int e = lite_err(s->db, rc);
    sqlite3_clear_bindings(st);
    return e;
  }
  s->row_ahead = s->done = false;
  s->changes_before = sqlite3_total_changes64(s->db);
  sqlite3_set_last_insert_rowid(s->db, 0);
  rc = sqlite3_step(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    int e = lite_err(s->db, rc);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return e;
  }
  *cur = (roster_db_cursor){0};
  if (rc == SQLITE_DONE)
    finish(s, cur);
  else
    s->row_ahead = true;
  /* Names and count are stable for the rest of this run: a re-prepare
   * after a schema change happens only on a run's first step. */
  size_t nc = (size_t)sqlite3_column_count(st);
  if (nc > s->cap) {
    const char **nn = roster_mem_realloc(s->names, nc * sizeof *nn);
    if (nn)
      s->names = nn;
    roster_db_kind *nt =
        nn ? roster_mem_realloc(s->types, nc * sizeof *nt) : NULL;
    if (nt)
      s->types = nt;
    if (!nn || !nt) {
      sqlite3_reset(st);
      sqlite3_clear_bindings(st);
      return roster_error_set(ROSTER_ENOMEM, "out of memory");
    }
    s->cap = nc;
  }
  for (size_t i = 0; i < nc; i++) {
    const char *nm = sqlite3_column_name(st, (int)i);
    s->names[i] = nm ? nm : "";
    roster_db_kind t = affinity(sqlite3_column_decltype(st, (int)i));
    if (t == ROSTER_DB_NULL && s->row_ahead)
      t = value_type(sqlite3_column_type(st, (int)i));
    s->types[i] = t;
  }
  s->ncols = nc;
  cur->ncols = nc;
  cur->names = (const char *const *)s->names;
  cur->types = s->types;
  if (nc || s->row_ahead) {
    cur->impl = s;
  } else {
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
  }
  return ROSTER_OK;
}

static int lite_next(roster_db_cursor *cur) {
  lite_stmt *s = cur->impl;
  if (s->row_ahead) {
    s->row_ahead = false;
    return 1;
  }
  if (s->done)
    return 0;
  int rc = sqlite3_step(s->st);
  if (rc == SQLITE_ROW)
    return 1;
  if (rc == SQLITE_DONE) {
    finish(s, cur);
    return 0;
  }
  s->done = true;
  return lite_err(s->db, rc);
}

static int lite_get(roster_db_cursor *cur, size_t col, roster_db_value *out) {
  lite_stmt *s = cur->impl;
  int i = (int)col;
  switch (sqlite3_column_type(s->st, i)) {
  case SQLITE_INTEGER:
    *out = roster_db_int(sqlite3_column_int64(s->st, i));
    break;
  case SQLITE_FLOAT:
    *out = roster_db_double(sqlite3_column_double(s->st, i));
    break;
  case SQLITE_TEXT: {
    const unsigned char *t = sqlite3_column_text(s->st, i);
    if (!t)
      return roster_error_set(ROSTER_ENOMEM, "out of memory");
    *out = roster_db_textn((const char *)t,
                           (size_t)sqlite3_column_bytes(s->st, i));
    break;
  }
  case SQLITE_BLOB: {
    const void *b = sqlite3_column_blob(s->st, i);
    size_t n = (size_t)sqlite3_column_bytes(s->st, i);
    *out = roster_db_blob(b ? b : "", n);
    break;
  }
  default:
    *out = roster_db_null();
  }
  return ROSTER_OK;
}

static void lite_close(roster_db_cursor *cur) {
  lite_stmt *s = cur->impl;
  if (!s)
    return;
  sqlite3_reset(s->st);
  sqlite3_clear_bindings(s->st);
  cur->impl = NULL;
}

static const char *const lite_schemes[] = {"sqlite", NULL};

static const roster_db_driver lite_driver = {
    .version = ROSTER_DB_DRIVER_VERSION,
    .dialect = ROSTER_DB_DIALECT_SQLITE,
    .typed_prepare = false,
    .setup = lite_setup,
    .cfg_free = lite_cfg_free,
    .connect = lite_connect,
    .disconnect = lite_disconnect,
    .ping = lite_ping,
    .broken = lite_broken,
    .in_transaction = lite_in_tx,
    .begin = lite_begin,
    .commit = lite_commit,
    .rollback = lite_rollback,
    .prepare = lite_prepare,
    .finalize = lite_finalize,
    .execute = lite_execute,
    .next = lite_next,
    .get = lite_get,
    .close = lite_close,
    .native = lite_native,
};

static const roster_driver lite_module = {
    .version = ROSTER_DRIVER_VERSION,
    .name = "sqlite",
    .module = "sqlite",
    .schemes = lite_schemes,
    .faces = {{&roster_db_face, &lite_driver}},
};

int roster_sqlite_init(void) { return roster_driver_register(&lite_module); }

sqlite3 *roster_sqlite_native(roster_db_conn *conn) {
  if (!conn || roster_db_conn_driver(conn) != &lite_driver)
    return NULL;
  return roster_db_native(conn);
}
