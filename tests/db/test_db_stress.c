/*
 * test_db_stress.c: many threads on a small pool, against each driver
 * (SQLite in a WAL file, PostgreSQL, MariaDB; db_conf.h). Threads mix
 * one-shot statements, transactions that commit, transactions that roll
 * back and connections released inside a transaction; every connection's
 * native handle is checked to have one holder at a time; afterwards every
 * counted write is in the table, exactly, and the pool is at rest (nothing
 * in use or waiting, nothing timed out or broken, every connection made
 * accounted for). Then the same under a short maximum lifetime, which
 * recycles connections while the threads run, none while in use; and an
 * exhausted pool, whose waiters time out with ROSTER_ETIMEDOUT. On
 * PostgreSQL the server's own session count matches the pool's size.
 */
#include "db_conf.h"

enum { THREADS = 16, POOL = 4, ITERS = 60 };

/* holders: native handle -> threads holding it, to catch two at once */
static pthread_mutex_t hold_mu = PTHREAD_MUTEX_INITIALIZER;
static void *hold_key[256];
static int hold_n[256];
static atomic_int hold_violations;

static void hold(void *h, int delta) {
  pthread_mutex_lock(&hold_mu);
  size_t i = ((uintptr_t)h >> 4) % 256;
  while (hold_key[i] && hold_key[i] != h)
    i = (i + 1) % 256;
  hold_key[i] = h;
  hold_n[i] += delta;
  if (hold_n[i] < 0 || hold_n[i] > 1)
    atomic_fetch_add(&hold_violations, 1);
  pthread_mutex_unlock(&hold_mu);
}

typedef struct worker {
  roster_db *db;
  const char *t;
  int id;
  int iters;
  int64_t committed; /* rows this thread's committed writes added */
  int failures;
  int first_rc;
  char first_err[256];
  pthread_t th;
} worker;

static void note(worker *w, int rc) {
  if (rc == ROSTER_OK)
    return;
  if (!w->failures++) {
    w->first_rc = rc;
    snprintf(w->first_err, sizeof w->first_err, "%s", roster_last_error());
  }
}

static void *work(void *arg) {
  worker *w = arg;
  char ins[128];
  db_sqlf(ins, sizeof ins, "INSERT INTO %s (w, n) VALUES ($1, $2)", w->t);
  for (int i = 0; i < w->iters; i++) {
    roster_db_value p[2] = {roster_db_int(w->id), roster_db_int(i)};
    int rc;
    switch (i % 4) {
    case 0: /* one-shot */
      rc = roster_db_exec(w->db, ins, p, 2, NULL);
      note(w, rc);
      if (!rc)
        w->committed++;
      break;
    case 1:   /* a transaction of two rows, committed */
    case 2: { /* rolled back */
      roster_db_conn *c;
      rc = roster_db_acquire(w->db, &c);
      note(w, rc);
      if (rc)
        break;
      hold(roster_db_native(c), 1);
      rc = roster_db_begin(c);
      if (!rc)
        rc = roster_db_conn_exec(c, ins, p, 2, NULL);
      if (!rc)
        rc = roster_db_conn_exec(c, ins, p, 2, NULL);
      if (!rc)
        rc = i % 4 == 1 ? roster_db_commit(c) : roster_db_rollback(c);
      note(w, rc);
      if (!rc && i % 4 == 1)
        w->committed += 2;
      hold(roster_db_native(c), -1);
      note(w, roster_db_release(c));
      break;
    }
    default: { /* released inside a transaction: rolled back */
      roster_db_conn *c;
      rc = roster_db_acquire(w->db, &c);
      note(w, rc);
      if (rc)
        break;
      hold(roster_db_native(c), 1);
      rc = roster_db_begin(c);
      if (!rc)
        rc = roster_db_conn_exec(c, ins, p, 2, NULL);
      note(w, rc);
      hold(roster_db_native(c), -1);
      note(w, roster_db_release(c));
      break;
    }
    }
  }
  return NULL;
}

static void run_workers(db_ctx *c, roster_db *db, const char *t, int iters,
                        int64_t *committed) {
  worker w[THREADS];
  for (int i = 0; i < THREADS; i++) {
    w[i] = (worker){.db = db, .t = t, .id = i, .iters = iters};
    assert_int_equal(pthread_create(&w[i].th, NULL, work, &w[i]), 0);
  }
  *committed = 0;
  for (int i = 0; i < THREADS; i++)
    pthread_join(w[i].th, NULL);
  for (int i = 0; i < THREADS; i++) {
    if (w[i].failures)
      print_error("%s: worker %d: %d failures, first %s: %s\n", c->d->name, i,
                  w[i].failures, roster_err_name(w[i].first_rc),
                  w[i].first_err);
    assert_int_equal(w[i].failures, 0);
    *committed += w[i].committed;
  }
  assert_int_equal(atomic_load(&hold_violations), 0);
}

static void assert_at_rest(roster_db *db) {
  roster_pool_stats st;
  /* a release hands back before the reset's effects are counted, and the
   * maintenance thread may be refilling: wait (bounded) for rest */
  tu_wait_until((roster_pool_stats_get(roster_db_pool(db), &st),
                 st.in_use == 0 && st.connecting == 0),
                10000);
  assert_int_equal(st.in_use, 0);
  assert_int_equal(st.waiters, 0);
  assert_int_equal(st.connecting, 0);
  assert_int_equal(st.timeouts, 0);
  assert_int_equal(st.broken, 0);
  assert_int_equal(st.reset_failures, 0);
  assert_true(st.size <= POOL);
  assert_int_equal(st.idle, st.size);
  assert_int_equal(st.created - st.destroyed, st.size);
}

static void make_table(db_ctx *c, char *t, size_t cap) {
  char sql[256];
  db_table(t, cap);
  db_drop(c->db, t);
  assert_ok(roster_db_exec(c->db,
                           db_sqlf(sql, sizeof sql,
                                   "CREATE TABLE %s (id %s, w BIGINT, "
                                   "n BIGINT)",
                                   t, c->d->pk),
                           NULL, 0, NULL));
}

static void test_many_threads(void **state) {
  db_ctx *c = db_use(state);
  char t[64], url[1200], q[128], app[64];
  make_table(c, t, sizeof t);
  roster__tu_unique_name(app, sizeof app, "stress");
  snprintf(q, sizeof q, "pool_max=%d&pool_min=1%s%s", POOL,
           c->d == &DB_PG ? "&application_name=" : "",
           c->d == &DB_PG ? app : "");
  roster_db *db;
  assert_ok(roster_db_open(db_url_with(c, q, url, sizeof url), NULL, &db));
  int64_t committed;
  run_workers(c, db, t, ITERS, &committed);
  assert_int_equal(db_count(db, t, NULL), committed);
  assert_int_equal(committed, THREADS * (ITERS / 4) * 3);
  assert_at_rest(db);
  if (c->d == &DB_PG) {
    /* the server sees exactly the pool's connections */
    roster_pool_stats st;
    assert_ok(roster_pool_stats_get(roster_db_pool(db), &st));
    roster_db_result *res;
    assert_ok(roster_db_query(c->db,
                              "SELECT count(*) FROM pg_stat_activity "
                              "WHERE application_name = $1",
                              ROSTER_DB_PARAMS(roster_db_text(app)), &res));
    assert_int_equal(roster_db_next(res), 1);
    int64_t n;
    assert_ok(roster_db_get_int(res, 0, &n));
    assert_int_equal(n, st.size);
    roster_db_result_free(res);
  }
  roster_db_free(db);
  db_drop(c->db, t);
}

static void test_lifetime_recycling(void **state) {
  db_ctx *c = db_use(state);
  char t[64], url[1200], q[128];
  make_table(c, t, sizeof t);
  snprintf(q, sizeof q, "pool_max=%d&pool_max_lifetime=150", POOL);
  roster_db *db;
  assert_ok(roster_db_open(db_url_with(c, q, url, sizeof url), NULL, &db));
  /* enough rounds to outlive a lifetime several times */
  int64_t committed = 0, total = 0;
  roster_pool_stats st;
  for (int round = 0; round < 40; round++) {
    run_workers(c, db, t, 8, &committed);
    total += committed;
    assert_ok(roster_pool_stats_get(roster_db_pool(db), &st));
    if (st.expired >= 2 * POOL && round >= 3)
      break;
    roster__tu_sleep_ms(40);
  }
  assert_true(st.expired >= 2 * POOL);
  assert_true(st.created > POOL);
  assert_int_equal(db_count(db, t, NULL), total);
  assert_at_rest(db);
  roster_db_free(db);
  db_drop(c->db, t);
}

typedef struct waiter {
  roster_db *db;
  int rc;
  char err[256];
  pthread_t th;
} waiter;

static void *wait_one(void *arg) {
  waiter *w = arg;
  w->rc = roster_db_exec(w->db, "SELECT 1", NULL, 0, NULL);
  snprintf(w->err, sizeof w->err, "%s", roster_last_error());
  return NULL;
}

static void test_exhausted(void **state) {
  db_ctx *c = db_use(state);
  char url[1200];
  roster_db *db;
  assert_ok(roster_db_open(
      db_url_with(c, "pool_max=2&pool_timeout=100", url, sizeof url), NULL,
      &db));
  roster_db_conn *a, *b;
  assert_ok(roster_db_acquire(db, &a));
  assert_ok(roster_db_acquire(db, &b));
  waiter w[4];
  for (int i = 0; i < 4; i++) {
    w[i] = (waiter){.db = db};
    assert_int_equal(pthread_create(&w[i].th, NULL, wait_one, &w[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(w[i].th, NULL);
    assert_int_equal(w[i].rc, ROSTER_ETIMEDOUT);
    assert_contains(w[i].err, "no connection free");
  }
  roster_pool_stats st;
  assert_ok(roster_pool_stats_get(roster_db_pool(db), &st));
  assert_int_equal(st.timeouts, 4);
  assert_int_equal(st.waiters, 0);
  assert_ok(roster_db_release(a));
  assert_ok(roster_db_release(b));
  assert_ok(roster_db_exec(db, "SELECT 1", NULL, 0, NULL));
  roster_db_free(db);
}

int main(void) {
  const struct CMUnitTest cases[] = {
      cmocka_unit_test(test_many_threads),
      cmocka_unit_test(test_lifetime_recycling),
      cmocka_unit_test(test_exhausted),
  };
  return DB_GROUP(cases);
}
