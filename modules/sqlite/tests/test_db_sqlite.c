/*
 * test_db_sqlite.c: what only the SQLite driver does. Files open in WAL
 * with a busy timeout (a writer waits for another's lock, or fails with
 * ROSTER_EBUSY when told not to wait); sqlite::memory: is pinned to one
 * connection that every thread shares; mode=ro and read_only refuse
 * writes; relative paths; the URL's parameters and their errors; one
 * statement per call; the native handle.
 */
#include "testutil.h"

#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include <sqlite3.h>

#include <roster/sqlite.h>

static char g_dir[256];

static int setup(void **state) {
  (void)state;
  if (roster_sqlite_init() != ROSTER_OK)
    return -1;
  snprintf(g_dir, sizeof g_dir, "/tmp/roster-sqlite-XXXXXX");
  return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  DIR *d = opendir(g_dir);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d))) {
      if (e->d_name[0] == '.')
        continue;
      char p[512];
      snprintf(p, sizeof p, "%s/%s", g_dir, e->d_name);
      unlink(p);
    }
    closedir(d);
  }
  rmdir(g_dir);
  return 0;
}

/* file_url writes sqlite://<g_dir>/<name><query> into buf. */
static const char *file_url(char *buf, size_t cap, const char *name,
                            const char *query) {
  snprintf(buf, cap, "sqlite://%s/%s%s", g_dir, name, query ? query : "");
  return buf;
}

/* one_text runs a query returning one text cell into out. */
static void one_text(roster_db *db, const char *sql, char *out, size_t cap) {
  roster_db_result *res;
  assert_ok(roster_db_query(db, sql, NULL, 0, &res));
  assert_int_equal(roster_db_next(res), 1);
  const char *s;
  assert_ok(roster_db_get_text(res, 0, &s, NULL));
  snprintf(out, cap, "%s", s);
  assert_int_equal(roster_db_next(res), 0);
  roster_db_result_free(res);
}

static int64_t one_int(roster_db *db, const char *sql) {
  roster_db_result *res;
  int64_t v = -1;
  assert_ok(roster_db_query(db, sql, NULL, 0, &res));
  assert_int_equal(roster_db_next(res), 1);
  assert_ok(roster_db_get_int(res, 0, &v));
  roster_db_result_free(res);
  return v;
}

static void test_file_wal(void **state) {
  (void)state;
  char url[512];
  roster_db *db;
  assert_ok(
      roster_db_open(file_url(url, sizeof url, "wal.db", NULL), NULL, &db));
  assert_string_equal(roster_db_driver_name(db), "sqlite");
  char mode[32];
  one_text(db, "PRAGMA journal_mode", mode, sizeof mode);
  assert_string_equal(mode, "wal");
  assert_int_equal(one_int(db, "PRAGMA busy_timeout"), 5000);
  assert_ok(roster_db_exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v)",
                           NULL, 0, NULL));
  roster_db_info info;
  assert_ok(roster_db_exec(db, "INSERT INTO t(v) VALUES (?)",
                           ROSTER_DB_PARAMS(roster_db_text("x")), &info));
  assert_int_equal(info.affected, 1);
  assert_int_equal(info.last_id, 1);
  /* a statement that inserts nothing reports no id, not the last one */
  assert_ok(
      roster_db_exec(db, "UPDATE t SET v = 'y' WHERE id = 99", NULL, 0, &info));
  assert_int_equal(info.affected, 0);
  assert_int_equal(info.last_id, 0);
  roster_db_free(db);
  /* the pragmas the URL asks for */
  assert_ok(roster_db_open(file_url(url, sizeof url, "wal.db",
                                    "?journal_mode=delete&busy_timeout=250"
                                    "&synchronous=normal&foreign_keys=on"),
                           NULL, &db));
  one_text(db, "PRAGMA journal_mode", mode, sizeof mode);
  assert_string_equal(mode, "delete");
  assert_int_equal(one_int(db, "PRAGMA busy_timeout"), 250);
  assert_int_equal(one_int(db, "PRAGMA synchronous"), 1);
  assert_int_equal(one_int(db, "PRAGMA foreign_keys"), 1);
  assert_int_equal(one_int(db, "SELECT count(*) FROM t"), 1);
  roster_db_free(db);
}

/* A writer holding the lock, released from another thread after a while. */
typedef struct holder {
  roster_db_conn *c;
  atomic_bool committed;
  int rc;
} holder;

static void *commit_later(void *arg) {
  holder *h = arg;
  roster__tu_sleep_ms(150);
  h->rc = roster_db_commit(h->c);
  atomic_store(&h->committed, true);
  return NULL;
}

static void test_busy_timeout(void **state) {
  (void)state;
  char url[512];
  roster_db *a, *wait, *nowait;
  assert_ok(
      roster_db_open(file_url(url, sizeof url, "busy.db", NULL), NULL, &a));
  assert_ok(roster_db_exec(a, "CREATE TABLE t(x)", NULL, 0, NULL));
  assert_ok(roster_db_open(
      file_url(url, sizeof url, "busy.db", "?busy_timeout=20000"), NULL,
      &wait));
  assert_ok(roster_db_open(
      file_url(url, sizeof url, "busy.db", "?busy_timeout=0"), NULL, &nowait));
  holder h = {0};
  assert_ok(roster_db_acquire(a, &h.c));
  assert_ok(roster_db_begin(h.c)); /* BEGIN IMMEDIATE: the write lock */
  assert_ok(
      roster_db_conn_exec(h.c, "INSERT INTO t VALUES (1)", NULL, 0, NULL));
  /* no waiting: busy at once, SQLite's message kept */
  assert_rc(roster_db_exec(nowait, "INSERT INTO t VALUES (2)", NULL, 0, NULL),
            ROSTER_EBUSY);
  assert_contains(roster_last_error(), "database is locked");
  /* waiting: the insert goes through once the holder commits */
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, commit_later, &h), 0);
  assert_ok(roster_db_exec(wait, "INSERT INTO t VALUES (3)", NULL, 0, NULL));
  pthread_join(t, NULL);
  assert_true(atomic_load(&h.committed));
  assert_ok(h.rc);
  assert_ok(roster_db_release(h.c));
  assert_int_equal(one_int(a, "SELECT count(*) FROM t"), 2);
  assert_int_equal(one_int(a, "SELECT sum(x) FROM t"), 4);
  roster_db_free(nowait);
  roster_db_free(wait);
  roster_db_free(a);
}

/* ---- :memory: ---- */

typedef struct mem_arg {
  roster_db *db;
  int id;
  int failures;
} mem_arg;

static void *mem_writer(void *arg) {
  mem_arg *m = arg;
  for (int i = 0; i < 200; i++)
    if (roster_db_exec(m->db, "INSERT INTO t(w, i) VALUES ($1, $2)",
                       ROSTER_DB_PARAMS(roster_db_int(m->id), roster_db_int(i)),
                       NULL) != ROSTER_OK)
      m->failures++;
  return NULL;
}

static void test_memory_pinned(void **state) {
  (void)state;
  roster_db *db;
  assert_ok(roster_db_open("sqlite::memory:", NULL, &db));
  roster_pool_stats st;
  assert_ok(roster_pool_stats_get(roster_db_pool(db), &st));
  assert_int_equal(st.max_size, 1);
  assert_int_equal(st.size, 1);
  assert_ok(roster_db_exec(db, "CREATE TABLE t(w INTEGER, i INTEGER)", NULL, 0,
                           NULL));
  /* four threads write through the one connection: all see one database */
  mem_arg m[4];
  pthread_t t[4];
  for (int i = 0; i < 4; i++) {
    m[i] = (mem_arg){.db = db, .id = i};
    assert_int_equal(pthread_create(&t[i], NULL, mem_writer, &m[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(m[i].failures, 0);
  }
  assert_int_equal(one_int(db, "SELECT count(*) FROM t"), 800);
  assert_int_equal(one_int(db, "SELECT count(DISTINCT w) FROM t"), 4);
  assert_ok(roster_pool_stats_get(roster_db_pool(db), &st));
  assert_int_equal(st.created, 1); /* never a second connection */
  assert_int_equal(st.destroyed, 0);
  roster_db_free(db);
  /* two :memory: databases are two databases */
  roster_db *x, *y;
  assert_ok(roster_db_open("sqlite::memory:", NULL, &x));
  assert_ok(roster_db_open("sqlite::memory:", NULL, &y));
  assert_ok(roster_db_exec(x, "CREATE TABLE only_x(a)", NULL, 0, NULL));
  assert_rc(roster_db_exec(y, "SELECT * FROM only_x", NULL, 0, NULL),
            ROSTER_EREMOTE);
  assert_contains(roster_last_error(), "no such table: only_x");
  roster_db_free(x);
  roster_db_free(y);
  /* a pool of more than one is refused, so is read-only */
  db = (roster_db *)1;
  assert_rc(roster_db_open("sqlite::memory:?pool_max=4", NULL, &db),
            ROSTER_EINVAL);
  assert_contains(roster_last_error(), "pool_max must be 1");
  assert_null(db);
  assert_rc(roster_db_open(
                "sqlite::memory:", &(roster_db_options){.pool_max = 2}, &db),
            ROSTER_EINVAL);
  assert_rc(roster_db_open("sqlite::memory:?mode=ro", NULL, &db),
            ROSTER_EINVAL);
  assert_contains(roster_last_error(), "cannot be read-only");
}

static void test_read_only(void **state) {
  (void)state;
  char url[512];
  roster_db *rw, *ro, *ro2;
  assert_ok(
      roster_db_open(file_url(url, sizeof url, "ro.db", NULL), NULL, &rw));
  assert_ok(roster_db_exec(rw, "CREATE TABLE t(x)", NULL, 0, NULL));
  assert_ok(roster_db_exec(rw, "INSERT INTO t VALUES (7)", NULL, 0, NULL));
  assert_ok(roster_db_open(file_url(url, sizeof url, "ro.db", "?mode=ro"), NULL,
                           &ro));
  assert_true(roster_db_read_only(ro));
  assert_ok(roster_db_open(file_url(url, sizeof url, "ro.db", NULL),
                           &(roster_db_options){.read_only = true}, &ro2));
  roster_db *dbs[2] = {ro, ro2};
  for (int i = 0; i < 2; i++) {
    assert_int_equal(one_int(dbs[i], "SELECT x FROM t"), 7);
    assert_rc(roster_db_exec(dbs[i], "INSERT INTO t VALUES (8)", NULL, 0, NULL),
              ROSTER_EREADONLY);
    assert_contains(roster_last_error(), "readonly");
    /* a read-only transaction reads */
    roster_db_conn *c;
    assert_ok(roster_db_acquire(dbs[i], &c));
    assert_ok(roster_db_begin(c));
    assert_ok(roster_db_conn_exec(c, "SELECT x FROM t", NULL, 0, NULL));
    assert_ok(roster_db_commit(c));
    assert_ok(roster_db_release(c));
  }
  assert_int_equal(one_int(rw, "SELECT count(*) FROM t"), 1);
  roster_db_free(ro2);
  roster_db_free(ro);
  roster_db_free(rw);
  /* mode=rw does not create; rwc (the default) does */
  roster_db *db = NULL;
  assert_rc(roster_db_open(file_url(url, sizeof url, "absent.db", "?mode=rw"),
                           NULL, &db),
            ROSTER_ECONN);
  assert_contains(roster_last_error(), "unable to open database file");
  assert_null(db);
  assert_int_equal(access(url + strlen("sqlite://"), F_OK), -1);
}

static void test_relative_path(void **state) {
  (void)state;
  char cwd[512];
  assert_non_null(getcwd(cwd, sizeof cwd));
  assert_int_equal(chdir(g_dir), 0);
  roster_db *db;
  int rc = roster_db_open("sqlite:rel.db", NULL, &db);
  int back = chdir(cwd);
  assert_int_equal(back, 0);
  assert_ok(rc);
  assert_ok(roster_db_exec(db, "CREATE TABLE t(x)", NULL, 0, NULL));
  roster_db_conn *c;
  assert_ok(roster_db_acquire(db, &c));
  sqlite3 *h = roster_sqlite_native(c);
  assert_non_null(h);
  char want[512];
  snprintf(want, sizeof want, "%s/rel.db", g_dir);
  char *real_want = realpath(want, NULL);
  char *real_got = realpath(sqlite3_db_filename(h, "main"), NULL);
  assert_non_null(real_want);
  assert_non_null(real_got);
  assert_string_equal(real_got, real_want);
  free(real_want);
  free(real_got);
  assert_ptr_equal(roster_db_native(c), h);
  /* a connection opened later, after the directory changed, opens the
   * same file: the path was made absolute when the database was opened */
  roster_db_conn *c2;
  assert_ok(roster_db_acquire(db, &c2));
  assert_ptr_not_equal(c2, c);
  real_got =
      realpath(sqlite3_db_filename(roster_sqlite_native(c2), "main"), NULL);
  real_want = realpath(want, NULL);
  assert_non_null(real_got);
  assert_string_equal(real_got, real_want);
  free(real_want);
  free(real_got);
  assert_ok(roster_db_conn_exec(c2, "INSERT INTO t VALUES (1)", NULL, 0, NULL));
  assert_ok(roster_db_release(c2));
  assert_ok(roster_db_release(c));
  roster_db_free(db);
  assert_int_equal(access("rel.db", F_OK), -1); /* none here */
}

static void test_url_errors(void **state) {
  (void)state;
  roster_db *db = NULL;
  assert_rc(roster_db_open("sqlite://somehost/x.db", NULL, &db), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "sqlite:///absolute/path.db");
  assert_rc(roster_db_open("sqlite:", NULL, &db), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "no path");
  char url[512];
  assert_rc(roster_db_open(file_url(url, sizeof url, "e.db", "?colour=blue"),
                           NULL, &db),
            ROSTER_EINVAL);
  assert_contains(roster_last_error(), "unknown URL parameter 'colour'");
  assert_rc(
      roster_db_open(file_url(url, sizeof url, "e.db", "?journal_mode=fast"),
                     NULL, &db),
      ROSTER_EINVAL);
  assert_contains(roster_last_error(), "journal_mode 'fast' is not one of");
  assert_rc(
      roster_db_open(file_url(url, sizeof url, "e.db", "?mode=rx"), NULL, &db),
      ROSTER_EINVAL);
  assert_rc(
      roster_db_open(file_url(url, sizeof url, "e.db", "?busy_timeout=-4"),
                     NULL, &db),
      ROSTER_EINVAL);
  /* an unknown parameter is named, its value (a misspelt password?) is
   * never shown */
  assert_rc(roster_db_open(
                file_url(url, sizeof url, "e.db", "?mode=rw&pasword=Zq1Xw9"),
                NULL, &db),
            ROSTER_EINVAL);
  assert_contains(roster_last_error(), "unknown URL parameter 'pasword'");
  assert_null(strstr(roster_last_error(), "Zq1Xw9"));
  /* an encoded NUL would cut the path: refused, no file "e.db" made */
  assert_rc(
      roster_db_open(file_url(url, sizeof url, "e.db%00.bak", NULL), NULL, &db),
      ROSTER_EPARSE);
  assert_null(db);
  /* none of those created the file */
  snprintf(url, sizeof url, "%s/e.db", g_dir);
  assert_int_equal(access(url, F_OK), -1);
}

static void test_statements(void **state) {
  (void)state;
  roster_db *db;
  assert_ok(roster_db_open("sqlite::memory:", NULL, &db));
  assert_rc(
      roster_db_exec(db, "CREATE TABLE a(x); CREATE TABLE b(y)", NULL, 0, NULL),
      ROSTER_EINVAL);
  assert_contains(roster_last_error(), "more than one statement");
  /* trailing blanks, a semicolon and comments are one statement */
  assert_ok(roster_db_exec(db, "CREATE TABLE a(x);  -- done\n /* ok */", NULL,
                           0, NULL));
  assert_rc(roster_db_exec(db, "SELECT * FROM b", NULL, 0, NULL),
            ROSTER_EREMOTE); /* b was never made */
  assert_rc(roster_db_exec(db, "SELECT :named", NULL, 0, NULL), ROSTER_EINVAL);
  assert_contains(roster_last_error(), ":named");
  assert_rc(roster_db_exec(db, "-- nothing\n", NULL, 0, NULL), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "no statement");
  /* a statement nested in its own loop: the cached copy is busy, so the
   * inner one runs on a copy of its own */
  for (int i = 1; i <= 3; i++)
    assert_ok(roster_db_exec(db, "INSERT INTO a VALUES ($1)",
                             ROSTER_DB_PARAMS(roster_db_int(i)), NULL));
  roster_db_conn *c;
  assert_ok(roster_db_acquire(db, &c));
  const char *q = "SELECT x FROM a WHERE x >= $1 ORDER BY x";
  roster_db_result *outer, *inner;
  assert_ok(
      roster_db_conn_query(c, q, ROSTER_DB_PARAMS(roster_db_int(1)), &outer));
  int64_t sum = 0, rows = 0;
  while (roster_db_next(outer) > 0) {
    int64_t x;
    assert_ok(roster_db_get_int(outer, 0, &x));
    assert_ok(
        roster_db_conn_query(c, q, ROSTER_DB_PARAMS(roster_db_int(x)), &inner));
    while (roster_db_next(inner) > 0) {
      int64_t y;
      assert_ok(roster_db_get_int(inner, 0, &y));
      sum += y;
      rows++;
    }
    roster_db_result_free(inner);
  }
  roster_db_result_free(outer);
  assert_int_equal(rows, 3 + 2 + 1);
  assert_int_equal(sum, (1 + 2 + 3) + (2 + 3) + 3);
  assert_ok(roster_db_release(c));
  roster_db_free(db);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_file_wal),      cmocka_unit_test(test_busy_timeout),
      cmocka_unit_test(test_memory_pinned), cmocka_unit_test(test_read_only),
      cmocka_unit_test(test_relative_path), cmocka_unit_test(test_url_errors),
      cmocka_unit_test(test_statements),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
