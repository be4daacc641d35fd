/*
 * db.c: databases (include/roster/db.h): opening one from a URL and its
 * options, the pool operations that make, check, reset and close
 * connections through the driver, lending and taking back connections,
 * and transactions. The registry glue and the database face of the driver
 * table are in db_service.c, statements and results in db_stmt.c,
 * placeholders in db_sql.c.
 */
#include "db_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#define YEAR_MS (366LL * 24 * 3600 * 1000)

/* ---- errors ---- */

int roster__db_fail(roster_db *db, roster_db_conn *c, int code) {
  char detail[1024];
  const char *d = roster_last_error();
  snprintf(detail, sizeof detail, "%s", *d ? d : roster_strerror(code));
  if (db)
    roster__db_count(&db->st_errors);
  if (c && !c->broken && db->drv->broken(c->dc))
    roster__db_mark_broken(c);
  if (!db)
    return roster__err(code, "%s", detail);
  return roster__err(code, "db '%s' (%s): %s", db->name, db->drv_name, detail);
}

void roster__db_mark_broken(roster_db_conn *c) {
  if (c->broken)
    return;
  c->broken = true;
  roster__db_count(&c->db->st_broken);
  atomic_fetch_add(&c->db->epoch, 1);
}

/* ---- options ---- */

/* The settings roster_db_open resolves from the options struct, the URL's
 * query and (from a provider) the configuration entry. */
typedef struct db_conf {
  char name[ROSTER_POOL_NAME_MAX + 1];
  unsigned pool_max, pool_min;
  int64_t acquire_ms, idle_ms, life_ms, validate_ms, leak_ms, drain_ms;
  int stmt_cache;
  bool read_only;
  bool set_max; /* pool_max was given */
  roster_pool_leak_fn leak_fn;
  void *leak_arg;
} db_conf;

static int parse_i64(const char *key, const char *v, int64_t lo, int64_t hi,
                     int64_t *out) {
  char *end;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (!*v || *end || errno)
    return roster__err(ROSTER_EINVAL,
                       "option '%s': '%.40s' is not an "
                       "integer",
                       key, v);
  if (x < lo || x > hi)
    return roster__err(ROSTER_ERANGE,
                       "option '%s': %lld is out of range "
                       "[%" PRId64 ", %" PRId64 "]",
                       key, x, lo, hi);
  *out = x;
  return ROSTER_OK;
}

static int parse_bool(const char *key, const char *v, bool *out) {
  static const char *const yes[] = {"1", "true", "on", "yes"};
  static const char *const no[] = {"0", "false", "off", "no"};
  for (size_t i = 0; i < 4; i++) {
    if (strcasecmp(v, yes[i]) == 0)
      return *out = true, ROSTER_OK;
    if (strcasecmp(v, no[i]) == 0)
      return *out = false, ROSTER_OK;
  }
  return roster__err(ROSTER_EINVAL,
                     "option '%s': '%.40s' is not a boolean "
                     "(1/0, true/false, on/off, yes/no)",
                     key, v);
}

/* take_key applies one of roster's own keys to c; *mine says whether key
 * was one (else it goes to the driver). */
static int take_key(db_conf *c, const char *key, const char *v, bool *mine) {
  static const struct {
    const char *key;
    size_t off;
  } durs[] = {
      {"pool_timeout", offsetof(db_conf, acquire_ms)},
      {"pool_idle_timeout", offsetof(db_conf, idle_ms)},
      {"pool_max_lifetime", offsetof(db_conf, life_ms)},
      {"pool_validate_after", offsetof(db_conf, validate_ms)},
      {"pool_leak_threshold", offsetof(db_conf, leak_ms)},
      {"drain_timeout", offsetof(db_conf, drain_ms)},
  };
  *mine = true;
  int64_t x;
  int rc;
  if (strcmp(key, "pool_max") == 0) {
    if ((rc = parse_i64(key, v, 1, ROSTER_POOL_MAX_SIZE, &x)))
      return rc;
    c->pool_max = (unsigned)x;
    c->set_max = true;
    return ROSTER_OK;
  }
  if (strcmp(key, "pool_min") == 0) {
    if ((rc = parse_i64(key, v, 0, ROSTER_POOL_MAX_SIZE, &x)))
      return rc;
    c->pool_min = (unsigned)x;
    return ROSTER_OK;
  }
  if (strcmp(key, "stmt_cache") == 0) {
    if ((rc = parse_i64(key, v, 0, 4096, &x)))
      return rc;
    c->stmt_cache = x ? (int)x : -1;
    return ROSTER_OK;
  }
  if (strcmp(key, "read_only") == 0)
    return parse_bool(key, v, &c->read_only);
  for (size_t i = 0; i < sizeof durs / sizeof durs[0]; i++)
    if (strcmp(key, durs[i].key) == 0) {
      if ((rc = parse_i64(key, v, -1, YEAR_MS, &x)))
        return rc;
      *(int64_t *)((char *)c + durs[i].off) = x;
      return ROSTER_OK;
    }
  *mine = false;
  return ROSTER_OK;
}

/* A key from a configuration entry may be written "pool.max". */
static void norm_key(char *dst, size_t cap, const char *key) {
  snprintf(dst, cap, "%s", key);
  for (char *p = dst; *p; p++)
    if (*p == '.')
      *p = '_';
}

/* ---- the pool's operations ---- */

static int op_connect(void *arg, void **out) {
  roster_db *db = arg;
  roster_db_conn *c = roster__calloc(1, sizeof *c);
  if (!c)
    return roster__err(ROSTER_ENOMEM, "db '%s': out of memory", db->name);
  c->db = db;
  c->epoch = atomic_load(&db->epoch);
  int rc = db->drv->connect(db->cfg, db->read_only, &c->dc);
  if (rc) {
    roster__free(c);
    return roster__err_wrap(rc, "db '%s' (%s)", db->name, db->drv_name);
  }
  *out = c;
  return ROSTER_OK;
}

static void op_close(void *arg, void *conn) {
  (void)arg;
  roster_db_conn *c = conn;
  roster__db_conn_close_results(c);
  roster__db_conn_free_stmts(c, true);
  c->db->drv->disconnect(c->dc);
  roster__free(c);
}

static int op_validate(void *arg, void *conn) {
  roster_db *db = arg;
  roster_db_conn *c = conn;
  int rc = db->drv->ping(c->dc);
  if (rc == ROSTER_OK)
    c->epoch = atomic_load(&db->epoch);
  return rc;
}

/* No reset operation: roster_db_release rolls back an open transaction
 * itself, before it hands the connection to the pool, so that a release
 * takes the pool's lock once (a reset runs between two takings of it). */
static const roster_pool_ops db_pool_ops = {ROSTER_POOL_OPS_VERSION, op_connect,
                                            op_close, op_validate, NULL};

static void db_destroy(void *arg) {
  roster_db *db = arg;
  if (db->cfg)
    db->drv->cfg_free(db->cfg);
  roster__free(db);
}

/* ---- opening ---- */

int roster__db_open(const char *text, const roster_db_options *o,
                    const char *const *extra, bool dry,
                    const roster__face_ref *f, roster_db **out) {
  roster_db_options none = {0};
  if (!o)
    o = &none;
  if (out)
    *out = NULL;
  if (!text || !*text)
    return roster__err(ROSTER_EINVAL, "roster_db_open: the URL is %s",
                       text ? "empty" : "NULL");
  if (!out && !dry)
    return roster__err(ROSTER_EINVAL, "roster_db_open: out is NULL");
  roster__thread_ensure();
  /* shown: the URL in errors (every query value hidden: one the driver
   * does not know may be a misspelt password); db->url: the URL for
   * roster_db_url (only secrets hidden) */
  char shown[512];
  roster__url_shown(text, shown, sizeof shown);
  roster_url *u = NULL;
  int rc = roster_url_parse(text, &u);
  if (rc)
    return rc;
  roster__face_ref got;
  if (!f) {
    rc = roster__driver_pick(u->scheme, &roster_db_face, NULL, shown, &got);
    if (rc) {
      roster_url_free(u);
      return rc;
    }
    f = &got;
  }
  const roster_db_driver *drv = f->ops;
  const char *drv_name = f->driver->name;
  db_conf c = {.pool_max = 10, .pool_min = 1, .drain_ms = 5000};
  /* The URL's query, then the configuration entry's pairs: roster's keys
   * are taken, the others go to the driver in order. */
  size_t nx = 0;
  while (extra && extra[2 * nx])
    nx++;
  size_t cap = 2 * (u->nquery + nx) + 1;
  const char **dparams = roster__calloc(cap, sizeof *dparams);
  char(*keys)[64] = roster__calloc(u->nquery + nx + 1, sizeof *keys);
  if (!dparams || !keys) {
    roster__free(dparams);
    roster__free(keys);
    roster_url_free(u);
    return roster__err(ROSTER_ENOMEM, "out of memory");
  }
  size_t nd = 0;
  for (size_t i = 0; i < u->nquery + nx && rc == ROSTER_OK; i++) {
    const char *k =
        i < u->nquery ? u->query_keys[i] : extra[2 * (i - u->nquery)];
    const char *v =
        i < u->nquery ? u->query_values[i] : extra[2 * (i - u->nquery) + 1];
    if (!v)
      v = "";
    norm_key(keys[i], sizeof keys[i], k);
    bool mine;
    rc = take_key(&c, keys[i], v, &mine);
    if (rc == ROSTER_OK && !mine) {
      dparams[nd++] = k;
      dparams[nd++] = v;
    }
  }
  /* The options struct wins over the URL. */
  if (rc == ROSTER_OK) {
    if (o->name && (!*o->name || strlen(o->name) > ROSTER_POOL_NAME_MAX))
      rc = roster__err(ROSTER_EINVAL,
                       "roster_db_open: the name must be 1 to "
                       "%d bytes",
                       ROSTER_POOL_NAME_MAX);
    if (o->pool_max) {
      c.pool_max = o->pool_max;
      c.set_max = true;
    }
    if (o->pool_min)
      c.pool_min = o->pool_min;
    if (o->acquire_timeout_ms)
      c.acquire_ms = o->acquire_timeout_ms;
    if (o->idle_timeout_ms)
      c.idle_ms = o->idle_timeout_ms;
    if (o->max_lifetime_ms)
      c.life_ms = o->max_lifetime_ms;
    if (o->validate_after_ms)
      c.validate_ms = o->validate_after_ms;
    if (o->leak_threshold_ms)
      c.leak_ms = o->leak_threshold_ms;
    if (o->drain_timeout_ms)
      c.drain_ms = o->drain_timeout_ms;
    if (o->stmt_cache)
      c.stmt_cache = o->stmt_cache;
    if (o->read_only)
      c.read_only = true;
    c.leak_fn = o->leak_fn;
    c.leak_arg = o->leak_arg;
    if (rc == ROSTER_OK && c.pool_max > ROSTER_POOL_MAX_SIZE)
      rc = roster__err(ROSTER_ERANGE, "pool_max %u is above %d", c.pool_max,
                       ROSTER_POOL_MAX_SIZE);
    if (rc == ROSTER_OK && c.pool_min > c.pool_max)
      rc = roster__err(ROSTER_EINVAL, "pool_min %u is above pool_max %u",
                       c.pool_min, c.pool_max);
  }
  roster_db_setup su = {.url = u, .params = dparams, .read_only = c.read_only};
  if (rc == ROSTER_OK) {
    rc = drv->setup(&su);
    if (rc)
      rc = roster__err_wrap(rc, "URL %s", shown);
  }
  roster__free(dparams);
  roster__free(keys);
  roster_url_free(u);
  if (rc == ROSTER_OK && su.single) {
    if (c.set_max && c.pool_max != 1)
      rc = roster__err(ROSTER_EINVAL,
                       "URL %s: this database lives in one "
                       "connection, so pool_max must be 1 (not %u)",
                       shown, c.pool_max);
    c.pool_max = c.pool_min = 1;
    c.idle_ms = c.life_ms = c.validate_ms = -1;
  }
  if (rc || dry) {
    if (su.cfg)
      drv->cfg_free(su.cfg);
    return rc;
  }
  roster_db *db = roster__calloc(1, sizeof *db);
  if (!db) {
    drv->cfg_free(su.cfg);
    return roster__err(ROSTER_ENOMEM, "out of memory");
  }
  db->drv = drv;
  db->drv_name = drv_name;
  db->cfg = su.cfg;
  db->read_only = su.read_only;
  db->single = su.single;
  db->stmt_cache = c.stmt_cache < 0 ? 0
                   : c.stmt_cache   ? (unsigned)c.stmt_cache
                                    : 64;
  db->drain_ms = c.drain_ms;
  db->pool_max = c.pool_max;
  snprintf(db->name, sizeof db->name, "%s", o->name ? o->name : drv_name);
  roster_url_redact(text, db->url, sizeof db->url);
  roster_pool_options po = {
      .name = db->name,
      .ops = &db_pool_ops,
      .arg = db,
      .free_arg = db_destroy,
      .min_idle = c.pool_min,
      .max_size = c.pool_max,
      .acquire_timeout_ms = c.acquire_ms,
      .idle_timeout_ms = c.idle_ms,
      .max_lifetime_ms = c.life_ms,
      .validate_after_ms = c.validate_ms,
      .leak_threshold_ms = c.leak_ms,
      .leak_fn = c.leak_fn,
      .leak_arg = c.leak_arg,
  };
  rc = roster_pool_new(&po, &db->pool);
  if (rc) { /* free_arg did not run */
    db_destroy(db);
    return rc;
  }
  *out = db;
  return ROSTER_OK;
}

int roster_db_open(const char *url, const roster_db_options *opts,
                   roster_db **out) {
  if (!out)
    return roster__err(ROSTER_EINVAL, "roster_db_open: out is NULL");
  return roster__db_open(url, opts, NULL, false, NULL, out);
}

void roster_db_free(roster_db *db) {
  if (!db)
    return;
  roster_pool *p = db->pool;
  roster_pool_drain(p, db->drain_ms < 0 ? 0 : db->drain_ms);
  roster_pool_free(p); /* db goes with the pool's last connection */
}

const char *roster_db_url(const roster_db *db) { return db ? db->url : ""; }
const char *roster_db_name(const roster_db *db) { return db ? db->name : ""; }
const char *roster_db_driver_name(const roster_db *db) {
  return db ? db->drv_name : "";
}
bool roster_db_read_only(const roster_db *db) { return db && db->read_only; }
roster_pool *roster_db_pool(roster_db *db) { return db ? db->pool : NULL; }

int roster_db_stats_get(roster_db *db, roster_db_stats *out) {
  if (!db || !out)
    return roster__err(ROSTER_EINVAL, "roster_db_stats_get: %s is NULL",
                       db ? "out" : "db");
  out->prepared = atomic_load(&db->st_prepared);
  out->cache_hits = atomic_load(&db->st_hits);
  out->evicted = atomic_load(&db->st_evicted);
  out->executed = atomic_load(&db->st_executed);
  out->errors = atomic_load(&db->st_errors);
  out->broken = atomic_load(&db->st_broken);
  out->revalidated = atomic_load(&db->st_revalidated);
  return ROSTER_OK;
}

const char *roster_db_kind_name(roster_db_kind t) {
  switch (t) {
  case ROSTER_DB_NULL:
    return "null";
  case ROSTER_DB_INT:
    return "int";
  case ROSTER_DB_DOUBLE:
    return "double";
  case ROSTER_DB_TEXT:
    return "text";
  case ROSTER_DB_BLOB:
    return "blob";
  }
  return "?";
}

/* ---- connections ---- */

int roster_db_acquire_at(roster_db *db, int64_t timeout_ms,
                         roster_db_conn **conn, const char *file, int line,
                         const char *func) {
  if (conn)
    *conn = NULL;
  if (!db || !conn)
    return roster__err(ROSTER_EINVAL, "roster_db_acquire: %s is NULL",
                       db ? "conn" : "db");
  for (unsigned tries = 0;; tries++) {
    void *p;
    int rc = roster_pool_acquire_at(db->pool, timeout_ms, &p, file, line, func);
    if (rc)
      return rc;
    roster_db_conn *c = p;
    uint64_t ep = atomic_load(&db->epoch);
    if (c->epoch != ep) {
      /* Another connection was found broken since this one was last
       * known good (a server restart breaks them all): check it. */
      roster__db_count(&db->st_revalidated);
      if (db->drv->ping(c->dc) != ROSTER_OK) {
        if (!c->broken) {
          c->broken = true;
          roster__db_count(&db->st_broken);
        }
        roster_pool_release(db->pool, c, !db->single);
        if (tries > db->pool_max)
          return roster__err(ROSTER_ECONN,
                             "db '%s': no connection passed "
                             "its check",
                             db->name);
        continue;
      }
      c->epoch = ep;
    }
    c->held = true;
    *conn = c;
    return ROSTER_OK;
  }
}

int roster_db_release(roster_db_conn *c) {
  if (!c)
    return roster__err(ROSTER_EINVAL, "roster_db_release: conn is NULL");
  if (!c->held)
    return roster__err(ROSTER_EINVAL,
                       "db '%s': roster_db_release of a "
                       "connection that is not out",
                       c->db->name);
  roster_db *db = c->db;
  roster__db_conn_close_results(c);
  c->held = false;
  /* A transaction left open is rolled back; a connection that cannot
   * roll back is not reused. */
  if (!c->broken && db->drv->in_transaction(c->dc) &&
      db->drv->rollback(c->dc) != ROSTER_OK) {
    roster__db_count(&db->st_errors);
    if (db->drv->broken(c->dc))
      roster__db_mark_broken(c);
    else
      c->broken = true; /* not lost, but not fit for the next user */
  }
  return roster_pool_release(db->pool, c, c->broken && !db->single);
}

roster_db *roster_db_conn_db(roster_db_conn *c) { return c ? c->db : NULL; }

const roster_db_driver *roster_db_conn_driver(const roster_db_conn *c) {
  return c ? c->db->drv : NULL;
}

void *roster_db_native(roster_db_conn *c) {
  return c && c->db->drv->native ? c->db->drv->native(c->dc) : NULL;
}

int roster_db_ping(roster_db *db) {
  if (!db)
    return roster__err(ROSTER_EINVAL, "roster_db_ping: db is NULL");
  roster_db_conn *c;
  int rc = roster_db_acquire_timeout(db, 200, &c);
  if (rc == ROSTER_ETIMEDOUT)
    return ROSTER_OK; /* every connection is in use: busy, not broken */
  if (rc)
    return rc;
  rc = db->drv->ping(c->dc);
  if (rc)
    rc = roster__db_fail(db, c, rc);
  roster_db_release(c);
  return rc;
}

/* ---- transactions ---- */

static int tx_check(roster_db_conn *c, const char *what, bool want_open) {
  if (!c)
    return roster__err(ROSTER_EINVAL, "roster_db_%s: conn is NULL", what);
  if (!c->held)
    return roster__err(ROSTER_EINVAL,
                       "db '%s': roster_db_%s on a "
                       "connection that is not out",
                       c->db->name, what);
  bool open = c->db->drv->in_transaction(c->dc);
  if (open != want_open)
    return roster__err(
        ROSTER_ESTATE, "db '%s': roster_db_%s: %s", c->db->name, what,
        open ? "a transaction is already open" : "no transaction is open");
  return ROSTER_OK;
}

int roster_db_begin(roster_db_conn *c) {
  int rc = tx_check(c, "begin", false);
  if (rc)
    return rc;
  rc = c->db->drv->begin(c->dc, c->db->read_only);
  return rc ? roster__db_fail(c->db, c, rc) : ROSTER_OK;
}

int roster_db_commit(roster_db_conn *c) {
  int rc = tx_check(c, "commit", true);
  if (rc)
    return rc;
  rc = c->db->drv->commit(c->dc);
  if (rc && c->db->drv->in_transaction(c->dc))
    c->db->drv->rollback(c->dc); /* whatever happened, it is over */
  return rc ? roster__db_fail(c->db, c, rc) : ROSTER_OK;
}

int roster_db_rollback(roster_db_conn *c) {
  int rc = tx_check(c, "rollback", true);
  if (rc)
    return rc;
  rc = c->db->drv->rollback(c->dc);
  return rc ? roster__db_fail(c->db, c, rc) : ROSTER_OK;
}

bool roster_db_in_transaction(roster_db_conn *c) {
  return c && c->held && c->db->drv->in_transaction(c->dc);
}

int roster_db_transaction(roster_db *db, roster_db_tx_fn fn, void *arg) {
  if (!db || !fn)
    return roster__err(ROSTER_EINVAL, "roster_db_transaction: %s is NULL",
                       db ? "fn" : "db");
  roster_db_conn *c;
  int rc = roster_db_acquire(db, &c);
  if (rc)
    return rc;
  rc = roster_db_begin(c);
  if (rc == ROSTER_OK) {
    rc = fn(c, arg);
    if (rc == ROSTER_OK) {
      rc = roster_db_commit(c);
    } else if (c->db->drv->in_transaction(c->dc)) {
      roster__err_saved e;
      roster__err_save(&e, rc);
      if (c->db->drv->rollback(c->dc) && c->db->drv->broken(c->dc))
        roster__db_mark_broken(c);
      roster__err_restore(&e); /* fn's detail, not the rollback's */
    }
  }
  roster_db_release(c);
  return rc;
}
