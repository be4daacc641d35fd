/*
 * test_db_api.c: the database API's own checks, with no server (SQLite
 * in memory where a driver is needed): bad URLs and options, schemes that
 * are not databases, driver registration, bad arguments to every call
 * (each refused with a clear error and nothing run), acquire timeouts,
 * a busy pool's health, leak reports naming the caller, and freeing a
 * database while a result still holds a connection.
 */
#include "testutil.h"

#include <roster/sqlite.h>

#include <stdlib.h>
#include <unistd.h>

static int setup(void **state) {
  (void)state;
  return roster_sqlite_init() == ROSTER_OK ? 0 : -1;
}

static void expect_new_fails(const char *url, const roster_db_options *o,
                             int want, const char *needle) {
  roster_db *db = (roster_db *)&db;
  int rc = roster_db_open(url, o, &db);
  if (rc != want) {
    print_error("roster_db_open(%s) returned %s, want %s: %s\n",
                url ? url : "NULL", roster_err_name(rc), roster_err_name(want),
                roster_last_error());
    fail();
  }
  assert_null(db);
  if (needle)
    assert_contains(roster_last_error(), needle);
}

static void test_open_errors(void **state) {
  (void)state;
  expect_new_fails(NULL, NULL, ROSTER_EINVAL, "NULL");
  expect_new_fails("", NULL, ROSTER_EINVAL, "empty");
  assert_rc(roster_db_open("sqlite::memory:", NULL, NULL), ROSTER_EINVAL);
  expect_new_fails("nosuch://h/x", NULL, ROSTER_ENOTSUP, "sqlite");
  expect_new_fails("no scheme at all", NULL, ROSTER_EPARSE, NULL);
  expect_new_fails("sqlite::memory:?pool_max=0", NULL, ROSTER_ERANGE,
                   "pool_max");
  expect_new_fails("sqlite::memory:?pool_max=lots", NULL, ROSTER_EINVAL,
                   "not an integer");
  expect_new_fails("sqlite:///tmp/x.db?pool_min=5&pool_max=2", NULL,
                   ROSTER_EINVAL, "pool_min 5 is above pool_max 2");
  expect_new_fails("sqlite:///tmp/x.db?pool_timeout=-5", NULL, ROSTER_ERANGE,
                   "pool_timeout");
  expect_new_fails("sqlite:///tmp/x.db?read_only=maybe", NULL, ROSTER_EINVAL,
                   "not a boolean");
  expect_new_fails("sqlite:///tmp/x.db?stmt_cache=99999", NULL, ROSTER_ERANGE,
                   "stmt_cache");
  /* an unknown key is the driver's to refuse */
  expect_new_fails("sqlite:///tmp/x.db?pool_maxx=3", NULL, ROSTER_EINVAL,
                   "pool_maxx");
  char longname[ROSTER_POOL_NAME_MAX + 2];
  memset(longname, 'n', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  expect_new_fails("sqlite::memory:", &(roster_db_options){.name = longname},
                   ROSTER_EINVAL, "name");
  expect_new_fails("sqlite::memory:", &(roster_db_options){.name = ""},
                   ROSTER_EINVAL, "name");
  expect_new_fails("sqlite:///tmp/x.db",
                   &(roster_db_options){.pool_max = 100000}, ROSTER_ERANGE,
                   "pool_max");
  /* the URL in a detail is redacted */
  expect_new_fails("sqlite://me:pa55word@/tmp/x.db", NULL, ROSTER_EINVAL, NULL);
  assert_null(strstr(roster_last_error(), "pa55word"));
}

/* A URL driver that is not a database. */
static const roster_type kv_type = {.name = "kv"};
static int kv_open(const char *text, const char *const *opts, const char *name,
                   void **out) {
  (void)text, (void)opts, (void)name, (void)out;
  return roster_error_set(ROSTER_ENOTSUP, "kv: not here");
}
static const roster_service_ops kv_ops = {
    .version = ROSTER_DRIVER_VERSION, .type = &kv_type, .open = kv_open};
static const char *const kv_schemes[] = {"kvfake", NULL};
static const roster_driver kv_driver = {
    .version = ROSTER_DRIVER_VERSION,
    .name = "kvfake",
    .module = "kvtest",
    .schemes = kv_schemes,
    .faces = {{&roster_service_face, &kv_ops}},
};

static void never(void) { abort(); }

static int nop_setup(roster_db_setup *s) {
  (void)s;
  return ROSTER_OK;
}

static void test_driver_register(void **state) {
  (void)state;
  assert_ok(roster_driver_register(&kv_driver));
  expect_new_fails("kvfake://x", NULL, ROSTER_ENOTSUP, "not a database");
  /* the real driver again: a no-op */
  assert_ok(roster_sqlite_init());
  assert_ok(roster_sqlite_init());
  assert_rc(roster_driver_register(NULL), ROSTER_EINVAL);
  /* a driver missing what it must have */
  roster_db_driver d = {0};
  d.version = 99;
  roster_driver w = {.version = ROSTER_DRIVER_VERSION,
                     .name = "broken",
                     .module = "brokenmod",
                     .faces = {{&roster_db_face, &d}}};
  assert_rc(roster_driver_register(&w), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "has no schemes");
  static const char *const schemes[] = {"dbtestnew", "kvfake", NULL};
  w.schemes = schemes;
  assert_rc(roster_driver_register(&w), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "version 99");
  d.version = ROSTER_DB_DRIVER_VERSION;
  assert_rc(roster_driver_register(&w), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "has no setup");
  d.setup = nop_setup;
  assert_rc(roster_driver_register(&w), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "has no cfg_free");
  /* complete (never called), but one scheme is another module's: none of
   * its schemes is registered */
#define NEVER(t) ((t)(void (*)(void))never)
  d.cfg_free = NEVER(void (*)(void *));
  d.connect = NEVER(int (*)(void *, bool, void **));
  d.disconnect = NEVER(void (*)(void *));
  d.ping = NEVER(int (*)(void *));
  d.broken = NEVER(bool (*)(void *));
  d.in_transaction = NEVER(bool (*)(void *));
  d.begin = NEVER(int (*)(void *, bool));
  d.commit = d.rollback = NEVER(int (*)(void *));
  d.prepare = NEVER(int (*)(void *, const char *, size_t, size_t,
                            const roster_db_kind *, void **));
  d.finalize = NEVER(void (*)(void *, void *, bool));
  d.execute = NEVER(int (*)(void *, void *, const roster_db_value *, size_t,
                            roster_db_cursor *));
  d.next = NEVER(int (*)(roster_db_cursor *));
  d.get = NEVER(int (*)(roster_db_cursor *, size_t, roster_db_value *));
  d.close = NEVER(void (*)(roster_db_cursor *));
  assert_rc(roster_driver_register(&w), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "unknown dialect");
  d.dialect = ROSTER_DB_DIALECT_SQLITE;
  assert_rc(roster_driver_register(&w), ROSTER_EEXIST);
  assert_contains(roster_last_error(), "kvtest");
  assert_null(roster_driver_find("dbtestnew"));
  assert_ok(roster_driver_unregister(&kv_driver));
}

static void test_bad_arguments(void **state) {
  (void)state;
  roster_db *db;
  assert_ok(roster_db_open("sqlite::memory:", NULL, &db));
  assert_ok(roster_db_exec(db, "CREATE TABLE t(x)", NULL, 0, NULL));
  roster_db_stats s0, s1;
  assert_ok(roster_db_stats_get(db, &s0));
  roster_db_info info = {7, 7};
  roster_db_result *res = (roster_db_result *)&res;
  assert_rc(roster_db_exec(NULL, "SELECT 1", NULL, 0, &info), ROSTER_EINVAL);
  assert_int_equal(info.affected, 0);
  assert_rc(roster_db_exec(db, NULL, NULL, 0, NULL), ROSTER_EINVAL);
  assert_rc(roster_db_exec(db, "", NULL, 0, NULL), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "empty");
  assert_rc(roster_db_exec(db, "SELECT $1", NULL, 1, NULL), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "params is NULL");
  roster_db_value v = roster_db_int(1);
  assert_rc(roster_db_exec(db, "SELECT $1", &v, ROSTER_DB_PARAMS_MAX + 1, NULL),
            ROSTER_EINVAL);
  v.type = (roster_db_kind)99;
  assert_rc(roster_db_exec(db, "SELECT $1", &v, 1, NULL), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "unknown type 99");
  v = roster_db_textn(NULL, 0);
  assert_int_equal(v.type, ROSTER_DB_NULL); /* NULL text is SQL NULL */
  v.type = ROSTER_DB_TEXT;
  v.u.b.len = 3;
  assert_rc(roster_db_exec(db, "SELECT $1", &v, 1, NULL), ROSTER_EINVAL);
  v = roster_db_blob(NULL, 4);
  assert_rc(roster_db_exec(db, "SELECT $1", &v, 1, NULL), ROSTER_EINVAL);
  assert_rc(roster_db_query(db, "SELECT 1", NULL, 0, NULL), ROSTER_EINVAL);
  assert_rc(roster_db_query(NULL, "SELECT 1", NULL, 0, &res), ROSTER_EINVAL);
  assert_null(res);
  assert_rc(roster_db_query(db, NULL, NULL, 0, &res), ROSTER_EINVAL);
  /* nothing ran, no connection is held */
  assert_ok(roster_db_stats_get(db, &s1));
  assert_int_equal(s1.executed, s0.executed);
  roster_pool_stats st;
  assert_ok(roster_pool_stats_get(roster_db_pool(db), &st));
  assert_int_equal(st.in_use, 0);
  /* connections */
  roster_db_conn *c;
  assert_rc(roster_db_acquire(NULL, &c), ROSTER_EINVAL);
  assert_rc(roster_db_acquire(db, NULL), ROSTER_EINVAL);
  assert_rc(roster_db_release(NULL), ROSTER_EINVAL);
  assert_ok(roster_db_acquire(db, &c));
  assert_ptr_equal(roster_db_conn_db(c), db);
  assert_non_null(roster_sqlite_native(c));
  assert_rc(roster_db_conn_query(c, "SELECT 1", NULL, 0, NULL), ROSTER_EINVAL);
  assert_ok(roster_db_release(c));
  assert_rc(roster_db_release(c), ROSTER_EINVAL); /* twice */
  assert_contains(roster_last_error(), "not out");
  assert_rc(roster_db_conn_exec(c, "SELECT 1", NULL, 0, NULL), ROSTER_EINVAL);
  assert_rc(roster_db_begin(c), ROSTER_EINVAL);
  assert_rc(roster_db_conn_exec(NULL, "SELECT 1", NULL, 0, NULL),
            ROSTER_EINVAL);
  assert_rc(roster_db_begin(NULL), ROSTER_EINVAL);
  assert_rc(roster_db_commit(NULL), ROSTER_EINVAL);
  assert_rc(roster_db_rollback(NULL), ROSTER_EINVAL);
  assert_false(roster_db_in_transaction(NULL));
  assert_null(roster_db_native(NULL));
  assert_null(roster_sqlite_native(NULL));
  assert_rc(roster_db_transaction(db, NULL, NULL), ROSTER_EINVAL);
  assert_rc(roster_db_transaction(NULL, NULL, NULL), ROSTER_EINVAL);
  /* results */
  assert_rc(roster_db_next(NULL), ROSTER_EINVAL);
  assert_int_equal(roster_db_columns(NULL), 0);
  assert_null(roster_db_column_name(NULL, 0));
  assert_int_equal(roster_db_column_kind(NULL, 0), ROSTER_DB_NULL);
  assert_int_equal(roster_db_column_index(NULL, "x"), -1);
  roster_db_value out;
  assert_rc(roster_db_get_value(NULL, 0, &out), ROSTER_EINVAL);
  assert_ok(roster_db_query(db, "SELECT 1 AS one", NULL, 0, &res));
  assert_int_equal(roster_db_next(res), 1);
  assert_rc(roster_db_get_value(res, 0, NULL), ROSTER_EINVAL);
  assert_rc(roster_db_get_int(res, 0, NULL), ROSTER_EINVAL);
  assert_rc(roster_db_get_double(res, 0, NULL), ROSTER_EINVAL);
  assert_rc(roster_db_get_text(res, 0, NULL, NULL), ROSTER_EINVAL);
  assert_rc(roster_db_get_blob(res, 0, NULL, NULL), ROSTER_EINVAL);
  assert_int_equal(roster_db_column_index(res, NULL), -1);
  int64_t one;
  assert_ok(roster_db_get_int(res, 0, &one));
  assert_int_equal(one, 1);
  roster_db_result_free(res);
  roster_db_result_free(NULL);
  assert_int_equal(roster_db_affected(NULL), 0);
  assert_rc(roster_db_stats_get(NULL, &s1), ROSTER_EINVAL);
  assert_rc(roster_db_stats_get(db, NULL), ROSTER_EINVAL);
  assert_rc(roster_db_ping(NULL), ROSTER_EINVAL);
  assert_string_equal(roster_db_url(NULL), "");
  assert_string_equal(roster_db_name(NULL), "");
  assert_null(roster_db_pool(NULL));
  assert_string_equal(roster_db_kind_name(ROSTER_DB_BLOB), "blob");
  assert_string_equal(roster_db_kind_name((roster_db_kind)42), "?");
  roster *r = tu_registry(NULL);
  assert_rc(roster_db_find(r, NULL, "x", NULL), ROSTER_EINVAL);
  roster_db *found = (roster_db *)&found;
  assert_rc(roster_db_find(r, NULL, "x", &found), ROSTER_ENOENT);
  assert_null(found);
  roster_free(r);
  roster_db_free(NULL);
  roster_db_free(db);
}

static void test_timeouts(void **state) {
  (void)state;
  char dir[] = "/tmp/roster-dbapi-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char url[256];
  snprintf(url, sizeof url, "sqlite://%s/t.db?pool_max=1", dir);
  roster_db *db;
  assert_ok(roster_db_open(url, &(roster_db_options){.name = "tiny"}, &db));
  roster_db_conn *a, *b = (roster_db_conn *)&b;
  assert_ok(roster_db_acquire(db, &a));
  assert_rc(roster_db_acquire_timeout(db, 50, &b), ROSTER_ETIMEDOUT);
  assert_null(b);
  assert_contains(roster_last_error(), "pool 'tiny'");
  /* every connection busy: the health check passes (busy, not broken)
   * after a short wait */
  assert_ok(roster_db_ping(db));
  /* a db-level call waits in the queue, then times out too */
  roster_db *q;
  snprintf(url, sizeof url, "sqlite://%s/t.db?pool_max=1&pool_timeout=30", dir);
  assert_ok(roster_db_open(url, NULL, &q));
  roster_db_conn *qa;
  assert_ok(roster_db_acquire(q, &qa));
  assert_rc(roster_db_exec(q, "SELECT 1", NULL, 0, NULL), ROSTER_ETIMEDOUT);
  roster_pool_stats st;
  assert_ok(roster_pool_stats_get(roster_db_pool(q), &st));
  assert_int_equal(st.timeouts, 1);
  assert_ok(roster_db_release(qa));
  assert_ok(roster_db_exec(q, "SELECT 1", NULL, 0, NULL));
  roster_db_free(q);
  assert_ok(roster_db_release(a));
  roster_db_free(db);
  snprintf(url, sizeof url, "%s/t.db", dir);
  unlink(url);
  snprintf(url, sizeof url, "%s/t.db-wal", dir);
  unlink(url);
  snprintf(url, sizeof url, "%s/t.db-shm", dir);
  unlink(url);
  rmdir(dir);
}

typedef struct leak_rec {
  pthread_mutex_t mu;
  int n;
  char pool[64], file[256], func[64];
  int line;
} leak_rec;

static void on_leak(const roster_pool_leak *l, void *arg) {
  leak_rec *r = arg;
  pthread_mutex_lock(&r->mu);
  if (r->n++ == 0) {
    snprintf(r->pool, sizeof r->pool, "%s", l->pool);
    snprintf(r->file, sizeof r->file, "%s", l->file);
    snprintf(r->func, sizeof r->func, "%s", l->func);
    r->line = l->line;
  }
  pthread_mutex_unlock(&r->mu);
}

static int leaks_seen(leak_rec *r) {
  pthread_mutex_lock(&r->mu);
  int n = r->n;
  pthread_mutex_unlock(&r->mu);
  return n;
}

static void test_leak_report(void **state) {
  (void)state;
  leak_rec rec = {.mu = PTHREAD_MUTEX_INITIALIZER};
  roster_db *db;
  assert_ok(roster_db_open("sqlite::memory:",
                           &(roster_db_options){.name = "leaky",
                                                .leak_threshold_ms = 50,
                                                .leak_fn = on_leak,
                                                .leak_arg = &rec},
                           &db));
  roster_db_conn *c;
  int line = __LINE__ + 1;
  assert_ok(roster_db_acquire(db, &c));
  tu_wait_until(leaks_seen(&rec) > 0, 10000);
  assert_int_equal(leaks_seen(&rec), 1);
  assert_string_equal(rec.pool, "leaky");
  assert_contains(rec.file, "test_db_api.c");
  assert_int_equal(rec.line, line);
  assert_string_equal(rec.func, "test_leak_report");
  assert_ok(roster_db_release(c));
  /* a roster_db_query result holds its connection: reported at the
   * query's call site */
  rec.n = 0;
  roster_db_result *res;
  line = __LINE__ + 1;
  assert_ok(roster_db_query(db, "SELECT 1", NULL, 0, &res));
  tu_wait_until(leaks_seen(&rec) > 0, 10000);
  assert_int_equal(leaks_seen(&rec), 1);
  assert_int_equal(rec.line, line);
  roster_db_result_free(res);
  roster_db_free(db);
}

static void test_free_with_result_out(void **state) {
  (void)state;
  roster_db *db;
  assert_ok(roster_db_open("sqlite::memory:?drain_timeout=-1", NULL, &db));
  assert_ok(roster_db_exec(db, "CREATE TABLE t(x)", NULL, 0, NULL));
  assert_ok(roster_db_exec(db, "INSERT INTO t VALUES (1), (2)", NULL, 0, NULL));
  roster_db_result *res;
  assert_ok(roster_db_query(db, "SELECT x FROM t ORDER BY x", NULL, 0, &res));
  roster_db_free(db); /* does not wait: the result keeps its connection */
  int64_t x = 0, sum = 0;
  while (roster_db_next(res) > 0) {
    assert_ok(roster_db_get_int(res, 0, &x));
    sum += x;
  }
  assert_int_equal(sum, 3);
  roster_db_result_free(res); /* the connection is closed now */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_open_errors),
      cmocka_unit_test(test_driver_register),
      cmocka_unit_test(test_bad_arguments),
      cmocka_unit_test(test_timeouts),
      cmocka_unit_test(test_leak_report),
      cmocka_unit_test(test_free_with_result_out),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
