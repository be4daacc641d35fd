/*
 * test_mongodb_threads.c: one pool shared by real threads, and a private
 * server restarting under load.
 *
 * - Threads: 8 threads insert, count and read back through one pool of at
 *   most 4 clients (so they wait for each other in the pool); every
 *   document arrives, no call fails, never more than 4 clients were out,
 *   all are back at the end.
 * - Restart: the test runs a CongoDB of its own (scripts/services.sh
 *   start-one mongodb, on a free port; tests/lib/private_server.c stops
 *   it even if the test crashes). Workers insert while the server is
 *   stopped and started again on the same port. While it is down calls
 *   fail with ROSTER_ECONN or ROSTER_ETIMEDOUT only (never a crash, never
 *   another code) and health fails; once it is back every worker's calls
 *   succeed again, health passes, and every client is back in the pool.
 *   Under ASan the run also shows nothing leaks across the failures.
 */
#include "testutil.h"

#include <jansson.h>
#include <roster/mongodb.h>
#include <stdlib.h>

enum { THREADS = 8, PER_THREAD = 150 };

typedef struct worker {
  roster_mongodb *m;
  const char *coll;
  int id;
  atomic_bool *stop; /* the restart's workers run until it is set */
  atomic_long ok, failed;
  atomic_int unexpected; /* a failure that is not ECONN / ETIMEDOUT */
  int unexpected_code;
  char detail[512];
  atomic_bool has_detail;
} worker;

static void *insert_main(void *p) {
  worker *w = p;
  for (int i = 0; i < PER_THREAD; i++) {
    json_t *d = json_pack("{s:i,s:i}", "t", w->id, "i", i);
    int rc = roster_mongodb_insert_one(w->m, w->coll, d, NULL);
    json_decref(d);
    if (rc == ROSTER_OK && i % 25 == 0) {
      json_t *f = json_pack("{s:i}", "t", w->id);
      int64_t n = -1;
      rc = roster_mongodb_count(w->m, w->coll, f, &n);
      if (rc == ROSTER_OK && n != i + 1)
        rc = ROSTER_ESTATE;
      json_decref(f);
    }
    if (rc)
      atomic_fetch_add(&w->failed, 1);
    else
      atomic_fetch_add(&w->ok, 1);
  }
  return NULL;
}

static void t_threads(void **state) {
  (void)state;
  roster_mongodb_options o = {.url = roster__tu_server_url("MONGODB"),
                              .max_clients = 4};
  roster_mongodb *m = NULL;
  assert_ok(roster_mongodb_new(&o, &m));
  char c[64];
  roster__tu_unique_name(c, sizeof c, "threads");
  worker w[THREADS];
  pthread_t th[THREADS];
  memset(w, 0, sizeof w);
  for (int i = 0; i < THREADS; i++) {
    w[i].m = m;
    w[i].coll = c;
    w[i].id = i;
    assert_int_equal(pthread_create(&th[i], NULL, insert_main, &w[i]), 0);
  }
  for (int i = 0; i < THREADS; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&w[i].failed), 0);
    assert_int_equal(atomic_load(&w[i].ok), PER_THREAD);
  }
  int64_t n = 0;
  assert_ok(roster_mongodb_count(m, c, NULL, &n));
  assert_int_equal(n, THREADS * PER_THREAD);
  json_t *vals = NULL;
  assert_ok(roster_mongodb_distinct(m, c, "t", NULL, &vals));
  assert_int_equal(json_array_size(vals), THREADS);
  json_decref(vals);
  roster_mongodb_stats st;
  assert_ok(roster_mongodb_stats_get(m, &st));
  assert_true(st.clients_out_max <= 4);
  assert_true(st.clients_out_max >= 1);
  assert_int_equal(st.clients_out, 0);
  assert_int_equal(st.errors_connect + st.errors_server + st.errors_other, 0);
  assert_ok(roster_mongodb_drop(m, c));
  roster_mongodb_free(m);
}

/* ---- the restart ---- */

static void *loop_main(void *p) {
  worker *w = p;
  long i = 0;
  while (!atomic_load(w->stop)) {
    json_t *d = json_pack("{s:i,s:i}", "t", w->id, "i", (int)i++);
    int rc = roster_mongodb_insert_one(w->m, w->coll, d, NULL);
    json_decref(d);
    if (rc == ROSTER_OK) {
      atomic_fetch_add(&w->ok, 1);
      continue;
    }
    if (rc != ROSTER_ECONN && rc != ROSTER_ETIMEDOUT) {
      w->unexpected_code = rc;
      atomic_fetch_add(&w->unexpected, 1);
    }
    if (!atomic_load(&w->has_detail)) {
      snprintf(w->detail, sizeof w->detail, "%s", roster_last_error());
      atomic_store(&w->has_detail, true);
    }
    atomic_fetch_add(&w->failed, 1);
    roster__tu_sleep_ms(5);
  }
  return NULL;
}

enum { WORKERS = 3 };

static void t_restart(void **state) {
  (void)state;
  static tu_private_server S;
  if (roster__tu_private_open(&S, "mongodb", "roster-mongo") != 0)
    fail_msg("the private CongoDB did not start");
  char url[640];
  snprintf(url, sizeof url,
           "%s?serverSelectionTimeoutMS=1000&connectTimeoutMS=1000"
           "&heartbeatFrequencyMS=500",
           S.url);
  roster_mongodb_options o = {.name = "restart", .url = url};
  roster_mongodb *m = NULL;
  assert_ok(roster_mongodb_new(&o, &m));
  assert_ok(roster_mongodb_health(m));
  atomic_bool stop = false;
  worker w[WORKERS];
  pthread_t th[WORKERS];
  memset(w, 0, sizeof w);
  for (int i = 0; i < WORKERS; i++) {
    w[i].m = m;
    w[i].coll = "restart";
    w[i].id = i;
    w[i].stop = &stop;
    assert_int_equal(pthread_create(&th[i], NULL, loop_main, &w[i]), 0);
  }
  for (int i = 0; i < WORKERS; i++) {
    tu_wait_until(atomic_load(&w[i].ok) > 10, LC_LONG_MS);
    assert_true(atomic_load(&w[i].ok) > 10);
  }

  assert_int_equal(roster__tu_private_stop(&S), 0);
  for (int i = 0; i < WORKERS; i++) {
    tu_wait_until(atomic_load(&w[i].failed) > 0, LC_LONG_MS);
    assert_true(atomic_load(&w[i].failed) > 0);
  }
  assert_rc(roster_mongodb_health(m), ROSTER_ECONN);
  long ok_down[WORKERS];
  for (int i = 0; i < WORKERS; i++)
    ok_down[i] = atomic_load(&w[i].ok);

  assert_int_equal(roster__tu_private_start(&S), 0);
  for (int i = 0; i < WORKERS; i++) {
    tu_wait_until(atomic_load(&w[i].ok) > ok_down[i] + 10, LC_LONG_MS);
    assert_true(atomic_load(&w[i].ok) > ok_down[i] + 10);
  }
  assert_ok(roster_mongodb_health(m));
  atomic_store(&stop, true);
  for (int i = 0; i < WORKERS; i++) {
    pthread_join(th[i], NULL);
    if (atomic_load(&w[i].unexpected))
      fail_msg("worker %d: unexpected %s: %s", i,
               roster_err_name(w[i].unexpected_code), w[i].detail);
    assert_true(atomic_load(&w[i].has_detail));
    assert_contains(w[i].detail, "MongoDB 'restart': insert on 'restart'");
  }
  roster_mongodb_stats st;
  assert_ok(roster_mongodb_stats_get(m, &st));
  assert_true(st.errors_connect >= WORKERS);
  assert_int_equal(st.clients_out, 0);
  roster_mongodb_free(m);
  assert_int_equal(roster__tu_private_close(&S), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_threads),
      cmocka_unit_test(t_restart),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
