/*
 * test_db_behaviour.c: the conformance table's behaviour cases, run
 * against SQLite, PostgreSQL and MariaDB alike (db_conf.h): transactions
 * (commit, rollback, the wrong calls, roster_db_transaction, a connection
 * released inside one is rolled back), errors with the server's message
 * kept and the right code, the prepared-statement cache (seen from the
 * server where it can be), read-only pools, the registry (same name and
 * URL is the same pool, another URL is refused, options, health on a
 * pooled connection) and passwords kept out of every detail.
 */
#include "db_conf.h"

static void make_table(db_ctx *c, char *t, size_t cap) {
  char sql[256];
  db_table(t, cap);
  db_drop(c->db, t);
  assert_ok(roster_db_exec(c->db,
                           db_sqlf(sql, sizeof sql,
                                   "CREATE TABLE %s (k BIGINT NOT NULL "
                                   "UNIQUE, v %s)",
                                   t, c->d->text),
                           NULL, 0, NULL));
}

static int insert_on(roster_db_conn *cn, const char *t, int64_t k) {
  char sql[128];
  return roster_db_conn_exec(
      cn, db_sqlf(sql, sizeof sql, "INSERT INTO %s (k) VALUES ($1)", t),
      ROSTER_DB_PARAMS(roster_db_int(k)), NULL);
}

typedef struct tx_arg {
  const char *t;
  int fail_with;
} tx_arg;

static int tx_body(roster_db_conn *cn, void *arg) {
  tx_arg *a = arg;
  int rc = insert_on(cn, a->t, 100);
  if (rc)
    return rc;
  if (a->fail_with)
    return roster_error_set(a->fail_with, "the body changed its mind");
  return insert_on(cn, a->t, 101);
}

static void test_transactions(void **state) {
  db_ctx *c = db_use(state);
  char t[64];
  make_table(c, t, sizeof t);
  roster_db_conn *cn;
  assert_ok(roster_db_acquire(c->db, &cn));
  assert_false(roster_db_in_transaction(cn));
  /* rollback */
  assert_ok(roster_db_begin(cn));
  assert_true(roster_db_in_transaction(cn));
  assert_ok(insert_on(cn, t, 1));
  assert_ok(roster_db_rollback(cn));
  assert_false(roster_db_in_transaction(cn));
  assert_int_equal(db_count(c->db, t, NULL), 0);
  /* commit */
  assert_ok(roster_db_begin(cn));
  assert_ok(insert_on(cn, t, 2));
  assert_ok(insert_on(cn, t, 3));
  assert_ok(roster_db_commit(cn));
  assert_int_equal(db_count(c->db, t, NULL), 2);
  /* the wrong calls */
  assert_rc(roster_db_commit(cn), ROSTER_ESTATE);
  assert_contains(roster_last_error(), "no transaction is open");
  assert_rc(roster_db_rollback(cn), ROSTER_ESTATE);
  assert_ok(roster_db_begin(cn));
  assert_rc(roster_db_begin(cn), ROSTER_ESTATE);
  assert_contains(roster_last_error(), "already open");
  assert_ok(roster_db_rollback(cn));
  /* a failing statement inside a transaction: PostgreSQL aborts the
   * transaction, so its commit is refused and nothing is kept; the
   * others keep what succeeded */
  assert_ok(roster_db_begin(cn));
  assert_ok(insert_on(cn, t, 4));
  assert_rc(insert_on(cn, t, 2), ROSTER_ECONSTRAINT); /* a duplicate */
  if (c->d == &DB_PG) {
    assert_rc(roster_db_commit(cn), ROSTER_ESTATE);
    assert_contains(roster_last_error(), "aborted");
    assert_int_equal(db_count(c->db, t, "k = 4"), 0);
  } else {
    assert_ok(roster_db_commit(cn));
    assert_int_equal(db_count(c->db, t, "k = 4"), 1);
  }
  assert_false(roster_db_in_transaction(cn));
  assert_ok(roster_db_release(cn));
  /* roster_db_transaction: committed, or rolled back with fn's error */
  tx_arg a = {t, 0};
  assert_ok(roster_db_transaction(c->db, tx_body, &a));
  assert_int_equal(db_count(c->db, t, "k >= 100"), 2);
  char sql[128];
  assert_ok(roster_db_exec(
      c->db, db_sqlf(sql, sizeof sql, "DELETE FROM %s WHERE k >= 100", t), NULL,
      0, NULL));
  a.fail_with = ROSTER_ECANCELED;
  assert_rc(roster_db_transaction(c->db, tx_body, &a), ROSTER_ECANCELED);
  assert_contains(roster_last_error(), "changed its mind");
  assert_int_equal(db_count(c->db, t, "k >= 100"), 0);
  db_drop(c->db, t);
}

static void test_release_in_tx(void **state) {
  db_ctx *c = db_use(state);
  char t[64], url[1200];
  make_table(c, t, sizeof t);
  /* a pool of one, so the next acquire gets the same connection */
  roster_db *one;
  assert_ok(roster_db_open(db_url_with(c, "pool_max=1", url, sizeof url), NULL,
                           &one));
  roster_db_conn *cn, *again;
  assert_ok(roster_db_acquire(one, &cn));
  assert_ok(roster_db_begin(cn));
  assert_ok(insert_on(cn, t, 7));
  assert_ok(roster_db_release(cn)); /* no commit */
  assert_ok(roster_db_acquire(one, &again));
  assert_ptr_equal(again, cn);
  assert_false(roster_db_in_transaction(again));
  roster_db_result *res;
  char sql[128];
  assert_ok(roster_db_conn_query(
      again, db_sqlf(sql, sizeof sql, "SELECT count(*) FROM %s", t), NULL, 0,
      &res));
  assert_int_equal(roster_db_next(res), 1);
  int64_t n = -1;
  assert_ok(roster_db_get_int(res, 0, &n));
  assert_int_equal(n, 0);
  roster_db_result_free(res);
  /* a transaction begun by hand ("BEGIN" as a statement) counts too */
  const char *begin = c->d == &DB_MARIADB ? "START TRANSACTION" : "BEGIN";
  assert_ok(roster_db_conn_exec(again, begin, NULL, 0, NULL));
  assert_true(roster_db_in_transaction(again));
  assert_ok(insert_on(again, t, 8));
  assert_ok(roster_db_release(again));
  assert_ok(roster_db_acquire(one, &cn));
  assert_false(roster_db_in_transaction(cn));
  assert_ok(roster_db_release(cn));
  assert_int_equal(db_count(one, t, NULL), 0);
  roster_pool_stats st;
  assert_ok(roster_pool_stats_get(roster_db_pool(one), &st));
  assert_int_equal(st.created, 1); /* reset, not replaced */
  assert_int_equal(st.reset_failures, 0);
  assert_int_equal(st.in_use, 0);
  roster_db_free(one);
  db_drop(c->db, t);
}

static void test_errors(void **state) {
  db_ctx *c = db_use(state);
  char t[64], sql[256], name[96];
  make_table(c, t, sizeof t);
  snprintf(name, sizeof name, "db '%s' (%s)", roster_db_name(c->db),
           c->d->name);
  roster_db_stats s0, s1;
  assert_ok(roster_db_stats_get(c->db, &s0));
  assert_rc(roster_db_exec(c->db, "SELEC 1", NULL, 0, NULL), ROSTER_EREMOTE);
  assert_contains(roster_last_error(), c->d->syntax);
  assert_contains(roster_last_error(), name);
  assert_rc(roster_db_exec(c->db, "SELECT * FROM roster_no_such_table", NULL, 0,
                           NULL),
            ROSTER_EREMOTE);
  assert_contains(roster_last_error(), c->d->no_table);
  assert_contains(roster_last_error(), "roster_no_such_table");
  /* constraints, with the server's words */
  db_sqlf(sql, sizeof sql, "INSERT INTO %s (k, v) VALUES ($1, $2)", t);
  assert_ok(roster_db_exec(
      c->db, sql, ROSTER_DB_PARAMS(roster_db_int(1), roster_db_text("a")),
      NULL));
  assert_rc(roster_db_exec(
                c->db, sql,
                ROSTER_DB_PARAMS(roster_db_int(1), roster_db_text("b")), NULL),
            ROSTER_ECONSTRAINT);
  assert_contains(roster_last_error(), c->d->dup);
  if (c->d == &DB_PG)
    assert_contains(roster_last_error(), "SQLSTATE 23505");
  if (c->d == &DB_MARIADB)
    assert_contains(roster_last_error(), "error 1062");
  assert_rc(roster_db_exec(
                c->db, sql,
                ROSTER_DB_PARAMS(roster_db_null(), roster_db_text("c")), NULL),
            ROSTER_ECONSTRAINT);
  assert_contains(roster_last_error(), c->d->notnull);
  /* the same statement still works after its failures */
  assert_ok(roster_db_exec(
      c->db, sql, ROSTER_DB_PARAMS(roster_db_int(2), roster_db_text("d")),
      NULL));
  assert_int_equal(db_count(c->db, t, NULL), 2);
  assert_ok(roster_db_stats_get(c->db, &s1));
  assert_int_equal(s1.errors - s0.errors, 4);
  assert_int_equal(s1.broken, s0.broken); /* no connection was lost */
  roster_pool_stats ps;
  assert_ok(roster_pool_stats_get(roster_db_pool(c->db), &ps));
  assert_int_equal(ps.broken, 0);
  assert_int_equal(ps.in_use, 0);
  db_drop(c->db, t);
}

/* server_count reads one integer the server reports about this session:
 * for PostgreSQL its prepared statements, for MariaDB a Com_ counter;
 * -1 for SQLite. */
static int64_t server_count(db_ctx *c, roster_db_conn *cn, const char *what) {
  const char *sql = NULL;
  size_t col = 0;
  if (c->d == &DB_PG) {
    sql = "SELECT count(*) FROM pg_prepared_statements";
  } else if (c->d == &DB_MARIADB) {
    sql = strcmp(what, "prepare") == 0
              ? "SHOW SESSION STATUS LIKE 'Com_stmt_prepare'"
              : "SHOW SESSION STATUS LIKE 'Com_stmt_close'";
    col = 1;
  } else {
    return -1;
  }
  roster_db_result *res;
  int64_t n = -1;
  assert_ok(roster_db_conn_query(cn, sql, NULL, 0, &res));
  assert_int_equal(roster_db_next(res), 1);
  assert_ok(roster_db_get_int(res, col, &n));
  roster_db_result_free(res);
  return n;
}

static void test_prepared_cache(void **state) {
  db_ctx *c = db_use(state);
  char url[1200];
  roster_db *db;
  assert_ok(roster_db_open(
      db_url_with(c, "pool_max=1&stmt_cache=3", url, sizeof url), NULL, &db));
  roster_db_conn *cn;
  assert_ok(roster_db_acquire(db, &cn));
  const char *q = "SELECT $1 + 1";
  /* once to prepare, so the server counts below see it cached */
  int64_t before = server_count(c, cn, "prepare");
  roster_db_stats s0, s1;
  assert_ok(roster_db_stats_get(db, &s0));
  for (int i = 0; i < 5; i++) {
    roster_db_result *res;
    assert_ok(
        roster_db_conn_query(cn, q, ROSTER_DB_PARAMS(roster_db_int(i)), &res));
    assert_int_equal(roster_db_next(res), 1);
    int64_t v;
    assert_ok(roster_db_get_int(res, 0, &v));
    assert_int_equal(v, i + 1);
    roster_db_result_free(res);
  }
  assert_ok(roster_db_stats_get(db, &s1));
  assert_int_equal(s1.prepared - s0.prepared, 1);
  assert_int_equal(s1.cache_hits - s0.cache_hits, 4);
  assert_int_equal(s1.executed - s0.executed, 5);
  /* the server agrees: one more statement prepared on this session (its
   * own count query was cached at the first call) */
  if (c->d != &DB_SQLITE)
    assert_int_equal(server_count(c, cn, "prepare") - before, 1);
  /* ten different statements through a cache of three: the oldest go,
   * and the server does not keep them */
  int64_t closed0 = c->d == &DB_MARIADB ? server_count(c, cn, "close") : 0;
  assert_ok(roster_db_stats_get(db, &s0));
  for (int k = 0; k < 10; k++) {
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT $1 + %d", k + 10);
    assert_ok(
        roster_db_conn_exec(cn, sql, ROSTER_DB_PARAMS(roster_db_int(1)), NULL));
  }
  assert_ok(roster_db_stats_get(db, &s1));
  assert_true(s1.evicted - s0.evicted >= 7);
  if (c->d == &DB_PG) /* three cached, at most one DEALLOCATE queued */
    assert_true(server_count(c, cn, "prepare") <= 3 + 1);
  if (c->d == &DB_MARIADB)
    assert_true(server_count(c, cn, "close") - closed0 >= 7);
  assert_ok(roster_db_release(cn));
  roster_db_free(db);
  /* stmt_cache=0: prepared every time */
  assert_ok(roster_db_open(
      db_url_with(c, "pool_max=1&stmt_cache=0", url, sizeof url), NULL, &db));
  assert_ok(roster_db_stats_get(db, &s0));
  for (int i = 0; i < 3; i++)
    assert_ok(roster_db_exec(db, q, ROSTER_DB_PARAMS(roster_db_int(i)), NULL));
  assert_ok(roster_db_stats_get(db, &s1));
  assert_int_equal(s1.prepared - s0.prepared, 3);
  assert_int_equal(s1.cache_hits - s0.cache_hits, 0);
  roster_db_free(db);
}

static void test_read_only(void **state) {
  db_ctx *c = db_use(state);
  char t[64], url[1200], sql[128];
  make_table(c, t, sizeof t);
  assert_ok(roster_db_exec(
      c->db, db_sqlf(sql, sizeof sql, "INSERT INTO %s (k) VALUES (5)", t), NULL,
      0, NULL));
  roster_db *ro;
  assert_ok(roster_db_open(db_url_with(c, "read_only=1", url, sizeof url), NULL,
                           &ro));
  assert_true(roster_db_read_only(ro));
  assert_false(roster_db_read_only(c->db));
  assert_int_equal(db_count(ro, t, NULL), 1);
  static const char *const writes[] = {"INSERT INTO %s (k) VALUES (6)",
                                       "UPDATE %s SET k = 9", "DELETE FROM %s"};
  for (int i = 0; i < 3; i++) {
    assert_rc(roster_db_exec(ro, db_sqlf(sql, sizeof sql, writes[i], t), NULL,
                             0, NULL),
              ROSTER_EREADONLY);
    assert_contains(roster_last_error(), c->d->readonly);
  }
  /* inside a transaction too */
  roster_db_conn *cn;
  assert_ok(roster_db_acquire(ro, &cn));
  assert_ok(roster_db_begin(cn));
  assert_rc(insert_on(cn, t, 6), ROSTER_EREADONLY);
  roster_db_rollback(cn);
  assert_ok(roster_db_release(cn));
  assert_int_equal(db_count(c->db, t, "k = 5"), 1);
  assert_int_equal(db_count(c->db, t, NULL), 1);
  roster_db_free(ro);
  db_drop(c->db, t);
}

static void test_registry(void **state) {
  db_ctx *c = db_use(state);
  roster *r = tu_registry(NULL);
  assert_ok(roster_provide_url(r, NULL, "main", c->url, NULL));
  assert_ok(roster_provide_url(r, NULL, "main", c->url, NULL)); /* again */
  roster_db *a, *b;
  assert_ok(roster_db_find(r, NULL, "main", &a));
  assert_ok(roster_db_find(r, NULL, "main", &b));
  assert_ptr_equal(a, b); /* the same pool */
  assert_string_equal(roster_db_driver_name(a), c->d->name);
  assert_string_equal(roster_db_name(a), "main");
  /* the same name with another URL is refused, both redacted */
  char url[1200];
  assert_rc(roster_provide_url(r, NULL, "main",
                               db_url_with(c, "pool_max=3", url, sizeof url),
                               NULL),
            ROSTER_EEXIST);
  assert_contains(roster_last_error(), "refusing");
  assert_null(strstr(roster_last_error(), "roster-test"));
  /* the configuration entry's options */
  static const char *const opts[] = {"pool.max", "3", "pool_min", "2", NULL};
  assert_ok(roster_provide_url(r, NULL, "opt", c->url, opts));
  roster_db *o;
  assert_ok(roster_db_find(r, NULL, "opt", &o));
  assert_ptr_not_equal(o, a);
  roster_pool_stats st;
  assert_ok(roster_pool_stats_get(roster_db_pool(o), &st));
  assert_int_equal(st.max_size, 3);
  assert_int_equal(st.size, 2);
  static const char *const bad[] = {"pool_max", "lots", NULL};
  assert_rc(roster_provide_url(r, NULL, "bad", c->url, bad), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "pool_max");
  static const char *const unknown[] = {"colour", "blue", NULL};
  assert_rc(roster_provide_url(r, NULL, "bad", c->url, unknown), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "colour");
  roster_state sst;
  assert_rc(roster_service_state(r, NULL, "bad", &sst), ROSTER_ENOENT);
  /* a typed get refuses another type */
  void *p;
  assert_rc(roster_get(r, NULL, "main", &roster__tu_counter_type, &p),
            ROSTER_ETYPE);
  /* health: a round trip on a pooled connection, not a new one (a pool
   * kept at no idle minimum, so that no refill makes one meanwhile) */
  static const char *const lean[] = {"pool_min", "0", NULL};
  assert_ok(roster_provide_url(r, NULL, "health", c->url, lean));
  assert_ok(roster_start(r, 30000));
  roster_db *h;
  assert_ok(roster_db_find(r, NULL, "health", &h));
  assert_ok(roster_db_exec(h, "SELECT 1", NULL, 0, NULL));
  roster_pool_stats before, after;
  assert_ok(roster_pool_stats_get(roster_db_pool(h), &before));
  assert_int_equal(before.size, 1);
  assert_ok(roster_db_type.health(h));
  assert_ok(roster_db_ping(h));
  assert_ok(roster_pool_stats_get(roster_db_pool(h), &after));
  assert_int_equal(after.created, 1);
  assert_true(after.acquires >= before.acquires + 2);
  assert_int_equal(after.in_use, 0);
  roster_health_report rep;
  assert_ok(roster_health(r, &rep));
  bool seen = false;
  for (size_t i = 0; i < rep.count; i++)
    if (strcmp(rep.items[i].name, "main") == 0) {
      seen = true;
      assert_int_equal(rep.items[i].state, ROSTER_STATE_READY);
      assert_string_equal(rep.items[i].type, "roster_db");
    }
  assert_true(seen);
  roster_health_report_free(&rep);
  char shown[1200];
  assert_ok(roster_service_url(r, NULL, "main", shown, sizeof shown));
  assert_null(strstr(shown, "roster-test"));
  assert_ok(roster_shutdown(r, 30000));
  roster_free(r);
}

static void test_secrets(void **state) {
  db_ctx *c = db_use(state);
  const char *pw = "Hunter2-s3cret";
  char url[1200];
  roster_db *db = NULL;
  if (c->d == &DB_SQLITE) {
    snprintf(url, sizeof url, "sqlite://u:%s@/tmp/x.db", pw);
    assert_rc(roster_db_open(url, NULL, &db), ROSTER_EINVAL);
    assert_null(strstr(roster_last_error(), pw));
    return;
  }
  /* the right user with a wrong password: MariaDB refuses, trust-auth
   * PostgreSQL lets it in; either way the password shows nowhere */
  const char *at = strstr(c->url, "://");
  assert_non_null(at);
  const char *host = strchr(at + 3, '@');
  assert_non_null(host);
  const char *colon = memchr(at + 3, ':', (size_t)(host - at - 3));
  size_t ulen = (size_t)((colon ? colon : host) - (at + 3));
  snprintf(url, sizeof url, "%.*s%.*s:%s%s", (int)(at + 3 - c->url), c->url,
           (int)ulen, at + 3, pw, host);
  int rc = roster_db_open(url, NULL, &db);
  if (c->d == &DB_MARIADB) {
    assert_contains(roster_db_url(c->db), ":***@");
    assert_null(strstr(roster_db_url(c->db), "roster-test"));
    assert_int_equal(rc, ROSTER_ECONN);
    assert_contains(roster_last_error(), "Access denied");
    assert_null(strstr(roster_last_error(), pw));
    assert_null(db);
    return;
  }
  assert_ok(rc);
  assert_contains(roster_db_url(db), "***");
  assert_null(strstr(roster_db_url(db), pw));
  assert_rc(roster_db_exec(db, "SELEC", NULL, 0, NULL), ROSTER_EREMOTE);
  assert_null(strstr(roster_last_error(), pw));
  roster_db_free(db);
}

int main(void) {
  const struct CMUnitTest cases[] = {
      cmocka_unit_test(test_transactions),
      cmocka_unit_test(test_release_in_tx),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_prepared_cache),
      cmocka_unit_test(test_read_only),
      cmocka_unit_test(test_registry),
      cmocka_unit_test(test_secrets),
  };
  return DB_GROUP(cases);
}
