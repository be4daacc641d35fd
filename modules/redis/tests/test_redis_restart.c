/*
 * test_redis_restart.c: a private Redis restarts under load, and unix://
 * URLs on its socket.
 *
 * The test runs a Redis of its own (scripts/services.sh start-one, on a
 * free port outside the shared servers' ranges; never the shared server,
 * which other tests are using). Worker threads increment a counter through
 * a redis:// cache while a subscriber listens; the server is stopped
 * (stop-one) and started again on the same port. Asserted:
 * - while it is down, calls fail with ROSTER_ECONN or ROSTER_ETIMEDOUT
 *   only, with hiredis's message in the detail, and health fails;
 * - once it is back, every worker's calls succeed again, health passes,
 *   the pool has made new connections, the scripts run on the fresh
 *   server (which has none loaded: the NOSCRIPT fallback), and a client
 *   whose pool never validates idle connections gets its first command
 *   after the restart through (the dead connection is seen before use);
 * - the subscriber saw the connection go and come back, subscribed again
 *   to its channel and its pattern, and delivers messages on both; a
 *   subscription made while the server was down timed out waiting for its
 *   confirmation but was made when the server came back.
 * Then unix:///.../redis.sock?password=...&db=N: a client, a cache and a
 * declared service over the socket; and an ACL user (AUTH user password)
 * whose subscription to a channel it may not use is refused.
 *
 * The private server is stopped even if the test fails or crashes: a
 * guardian process, forked before anything else, waits for this process
 * to end (a pipe closing) and then runs stop-one and removes the
 * directory (roster__tu_private_open, tests/lib/private_server.c).
 */
#include "testutil.h"

#include <stdlib.h>

#include <roster/redis.h>

/* The private Redis (tests/lib/private_server.c). */
static tu_private_server S;

/* ---- the restart ---------------------------------------------------- */

enum { WORKERS = 3 };

typedef struct worker {
  roster_cache *c;
  atomic_bool *stop;
  atomic_long ok, failed;
  atomic_int unexpected; /* a failure that is not ECONN / ETIMEDOUT */
  int unexpected_code;
  char detail[512]; /* the first failure's detail */
  atomic_bool has_detail;
} worker;

static void *worker_main(void *p) {
  worker *w = p;
  char k[16];
  snprintf(k, sizeof k, "n%p", (void *)w);
  while (!atomic_load(w->stop)) {
    int rc = roster_cache_incr(w->c, k, strlen(k), NULL);
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
    roster__tu_sleep_ms(2);
  }
  return NULL;
}

typedef struct msgs {
  pthread_mutex_t mu;
  int channel, pattern;
  char last_pattern[64];
} msgs;

static void on_msg(void *arg, const roster_redis_message *m) {
  msgs *g = arg;
  pthread_mutex_lock(&g->mu);
  if (m->pattern) {
    g->pattern++;
    snprintf(g->last_pattern, sizeof g->last_pattern, "%.*s",
             (int)m->pattern_len, m->pattern);
  } else {
    g->channel++;
  }
  pthread_mutex_unlock(&g->mu);
}

static int msgs_get(msgs *g, bool pattern) {
  pthread_mutex_lock(&g->mu);
  int n = pattern ? g->pattern : g->channel;
  pthread_mutex_unlock(&g->mu);
  return n;
}

typedef struct states {
  atomic_int ups, downs;
} states;

static void on_state(void *arg, bool up, const char *detail) {
  (void)detail;
  states *s = arg;
  atomic_fetch_add(up ? &s->ups : &s->downs, 1);
}

static bool all_at_least(worker *w, long *base, long more) {
  for (int i = 0; i < WORKERS; i++)
    if (atomic_load(&w[i].ok) < base[i] + more)
      return false;
  return true;
}

static long total_failed(worker *w) {
  long n = 0;
  for (int i = 0; i < WORKERS; i++)
    n += atomic_load(&w[i].failed);
  return n;
}

static int sub_connected(roster_redis_subscriber *sub, uint64_t *connects) {
  roster_redis_subscriber_stats st;
  if (roster_redis_subscriber_stats_get(sub, &st))
    return -1;
  *connects = st.connects;
  return st.connected;
}

static void t_restart(void **state) {
  (void)state;
  assert_true(S.up);
  const char *opts[] = {"pool_max",        "4",    "timeout", "2000",
                        "connect_timeout", "1000", NULL};
  roster_redis *cli = NULL;
  assert_ok(roster_redis_open(S.url, opts, NULL, &cli));
  roster_cache *c = NULL;
  assert_ok(roster_redis_cache_new(cli, "rs:", 3, NULL, &c));
  /* a second client that never validates idle connections */
  roster_redis *idle = NULL;
  assert_ok(roster_redis_open(
      S.url, (const char *[]){"pool_validate_after", "-1", NULL}, NULL, &idle));
  assert_ok(roster_redis_call(idle, NULL, "PING", NULL));

  states st = {0};
  roster_redis_subscriber_options so = {
      .on_state = on_state, .state_arg = &st, .backoff_max_ms = 200};
  roster_redis_subscriber *sub = NULL;
  assert_ok(roster_redis_subscriber_new(cli, &so, &sub));
  msgs g = {.mu = PTHREAD_MUTEX_INITIALIZER};
  assert_ok(roster_redis_subscribe(sub, "events", 6, on_msg, &g));
  assert_ok(roster_redis_psubscribe(sub, "news.*", 6, on_msg, &g));
  assert_ok(roster_redis_publish(cli, "events", 6, "1", 1, NULL));
  assert_eventually_equal(msgs_get(&g, false), 1, LC_LONG_MS);

  atomic_bool stop = false;
  worker w[WORKERS];
  pthread_t th[WORKERS];
  long base[WORKERS] = {0};
  for (int i = 0; i < WORKERS; i++) {
    memset(&w[i], 0, sizeof w[i]);
    w[i].c = c;
    w[i].stop = &stop;
    assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
  }
  tu_wait_until(all_at_least(w, base, 20), LC_LONG_MS);
  assert_true(all_at_least(w, base, 20));
  roster_pool_stats before;
  assert_ok(roster_pool_stats_get(roster_redis_pool(cli), &before));

  /* down */
  assert_int_equal(roster__tu_private_stop(&S), 0);
  int hrc = ROSTER_OK;
  tu_wait_until((hrc = roster_redis_health(cli)) != ROSTER_OK, LC_LONG_MS);
  assert_rc(hrc, ROSTER_ECONN);
  assert_contains(roster_last_error(), "Connection refused");
  /* the workers fail meanwhile */
  long failed_before = total_failed(w);
  tu_wait_until(total_failed(w) > failed_before, LC_LONG_MS);
  assert_true(total_failed(w) > failed_before);
  uint64_t connects = 0;
  assert_eventually_equal(sub_connected(sub, &connects), 0, LC_LONG_MS);
  tu_wait_until(atomic_load(&st.downs) >= 1, LC_LONG_MS);
  assert_true(atomic_load(&st.downs) >= 1);

  /* a subscription made while the server is down is not confirmed, but
   * stays, and is made when the server is back */
  assert_rc(roster_redis_subscribe(sub, "late", 4, on_msg, &g),
            ROSTER_ETIMEDOUT);
  assert_contains(roster_last_error(), "when the connection is back");

  /* up again, on the same directory and port */
  assert_int_equal(roster__tu_private_start(&S), 0);
  tu_wait_until((hrc = roster_redis_health(cli)) == ROSTER_OK, LC_LONG_MS);
  assert_ok(hrc);
  /* the idle client's connection died with the old server; the first
   * command sees that before using it and goes to a new one */
  roster_redis_reply *r = NULL;
  assert_ok(roster_redis_call(idle, &r, "ECHO", "back", NULL));
  assert_string_equal(r->str, "back");
  roster_redis_reply_free(r);
  for (int i = 0; i < WORKERS; i++)
    base[i] = atomic_load(&w[i].ok);
  tu_wait_until(all_at_least(w, base, 20), LC_LONG_MS);
  assert_true(all_at_least(w, base, 20));
  atomic_store(&stop, true);
  for (int i = 0; i < WORKERS; i++)
    pthread_join(th[i], NULL);
  for (int i = 0; i < WORKERS; i++) {
    if (atomic_load(&w[i].unexpected)) {
      print_error("worker %d: unexpected %s: %s\n", i,
                  roster_err_name(w[i].unexpected_code), w[i].detail);
      fail();
    }
  }
  /* a failure kept hiredis's words */
  bool worded = false;
  for (int i = 0; i < WORKERS; i++)
    if (atomic_load(&w[i].has_detail) &&
        (strstr(w[i].detail, "Connection refused") ||
         strstr(w[i].detail, "Server closed the connection") ||
         strstr(w[i].detail, "Connection reset by peer") ||
         strstr(w[i].detail, "Broken pipe")))
      worded = true;
  if (!worded) {
    print_error("no failure kept hiredis's message: %s\n", w[0].detail);
    fail();
  }
  roster_pool_stats after;
  assert_ok(roster_pool_stats_get(roster_redis_pool(cli), &after));
  assert_true(after.created > before.created);
  assert_true(after.connect_failures > before.connect_failures);
  assert_int_equal(after.in_use, 0);

  /* the fresh server has no scripts: the patterns still work */
  roster_cache_rate rate;
  assert_ok(roster_cache_rate_sliding(c, "rl", 2, 2, 60000, &rate));
  assert_true(rate.allowed);
  roster_cache_lock lk;
  assert_ok(roster_cache_lock_acquire(c, "lk", 2, 60000, 0, &lk));
  assert_ok(roster_cache_lock_release(&lk));

  /* the subscriber is back, with both subscriptions */
  assert_eventually_equal(sub_connected(sub, &connects), 1, LC_LONG_MS);
  assert_true(connects >= 2);
  assert_true(atomic_load(&st.ups) >= 2);
  int64_t receivers = 0;
  assert_ok(roster_redis_publish(cli, "events", 6, "2", 1, &receivers));
  assert_int_equal(receivers, 1);
  assert_ok(roster_redis_publish(cli, "news.x", 6, "3", 1, &receivers));
  assert_int_equal(receivers, 1);
  assert_ok(roster_redis_publish(cli, "late", 4, "4", 1, &receivers));
  assert_int_equal(receivers, 1);
  tu_wait_until(msgs_get(&g, false) == 3 && msgs_get(&g, true) == 1,
                LC_LONG_MS);
  assert_int_equal(msgs_get(&g, false), 3);
  assert_int_equal(msgs_get(&g, true), 1);
  assert_string_equal(g.last_pattern, "news.*");

  roster_redis_subscriber_free(sub);
  roster_cache_free(c);
  roster_redis_free(idle);
  roster_redis_free(cli);
}

/* ---- unix:// -------------------------------------------------------- */

static void t_unix(void **state) {
  (void)state;
  assert_true(S.up);
  roster_url *u = NULL;
  assert_ok(roster_url_parse(S.url, &u));
  char url[256];
  snprintf(url, sizeof url, "unix://%s/redis.sock?db=2&password=%s", S.dir,
           u->password);
  roster_url_free(u);
  roster_redis *cli = NULL;
  assert_ok(roster_redis_open(url, NULL, NULL, &cli));
  assert_ok(roster_redis_call(cli, NULL, "SET", "over-unix", "yes", NULL));
  roster_redis_reply *r = NULL;
  assert_ok(roster_redis_call(cli, &r, "GET", "over-unix", NULL));
  assert_string_equal(r->str, "yes");
  roster_redis_reply_free(r);
  /* database 2: not in database 0 */
  roster_redis *tcp = NULL;
  assert_ok(roster_redis_open(S.url, NULL, NULL, &tcp));
  assert_ok(roster_redis_call(tcp, &r, "EXISTS", "over-unix", NULL));
  assert_int_equal(r->integer, 0);
  roster_redis_reply_free(r);
  roster_redis_free(tcp);
  /* a wrong socket path: hiredis's words */
  roster_redis *bad = NULL;
  char wrong[256];
  snprintf(wrong, sizeof wrong, "unix://%s/nope.sock", S.dir);
  assert_ok(roster_redis_open(wrong, NULL, NULL, &bad));
  assert_rc(roster_redis_health(bad), ROSTER_ECONN);
  assert_contains(roster_last_error(), "No such file or directory");
  roster_redis_free(bad);

  /* a cache and a declared service over the socket */
  assert_ok(roster_redis_init());
  char curl[300];
  snprintf(curl, sizeof curl, "%s&prefix=u:", url);
  roster_cache *c = NULL;
  assert_ok(roster_cache_open(curl, NULL, NULL, &c));
  assert_string_equal(roster_cache_scheme(c), "unix");
  assert_ok(roster_cache_set_int(c, "k", 1, 41, 0));
  int64_t n = 0;
  assert_ok(roster_cache_incr(c, "k", 1, &n));
  assert_int_equal(n, 42);
  roster_cache_free(c);
  roster *reg = tu_registry(NULL);
  assert_ok(roster_provide_url(reg, NULL, "local", url, NULL));
  roster_redis *svc = NULL;
  assert_ok(roster_redis_find(reg, NULL, "local", &svc));
  assert_ok(roster_redis_call(svc, &r, "GET", "u:k", NULL));
  assert_string_equal(r->str, "42");
  roster_redis_reply_free(r);
  char shown[300];
  assert_ok(roster_service_url(reg, NULL, "local", shown, sizeof shown));
  assert_null(strstr(shown, "roster-test")); /* the password, redacted */
  roster_free(reg);
  roster_redis_free(cli);
}

/* ---- ACL users -------------------------------------------------------- */

/* An ACL user (AUTH user password, from the URL's user info) that may use
 * one channel: the other is refused by the server, which the subscriber
 * reports (ROSTER_EREMOTE, the server's text) and drops. On the private
 * server only: it changes the server's users. */
static void on_any(void *arg, const roster_redis_message *m) {
  (void)m;
  atomic_fetch_add((atomic_int *)arg, 1);
}

static void t_acl(void **state) {
  (void)state;
  assert_true(S.up);
  roster_redis *admin = NULL;
  assert_ok(roster_redis_open(S.url, NULL, NULL, &admin));
  assert_ok(roster_redis_call(admin, NULL, "ACL", "SETUSER", "limited", "on",
                              ">limited-pw", "resetchannels", "&allowed", "~*",
                              "+@all", NULL));
  char url[256];
  snprintf(url, sizeof url, "redis://limited:limited-pw@127.0.0.1:%d/0",
           S.port);
  roster_redis *cli = NULL;
  assert_ok(roster_redis_open(url, NULL, NULL, &cli));
  roster_redis_reply *r = NULL;
  assert_ok(roster_redis_call(cli, &r, "ACL", "WHOAMI", NULL));
  assert_string_equal(r->str, "limited");
  roster_redis_reply_free(r);
  /* a wrong password for that user: refused, and never shown */
  char bad[256];
  snprintf(bad, sizeof bad, "redis://limited:wrong-pw@127.0.0.1:%d/0", S.port);
  roster_redis *nope = NULL;
  assert_ok(roster_redis_open(bad, NULL, NULL, &nope));
  assert_rc(roster_redis_health(nope), ROSTER_EREMOTE);
  assert_contains(roster_last_error(), "WRONGPASS");
  assert_null(strstr(roster_last_error(), "wrong-pw"));
  roster_redis_free(nope);

  roster_redis_subscriber *sub = NULL;
  assert_ok(roster_redis_subscriber_new(cli, NULL, &sub));
  atomic_int got = 0;
  assert_ok(roster_redis_subscribe(sub, "allowed", 7, on_any, &got));
  assert_rc(roster_redis_subscribe(sub, "forbidden", 9, on_any, &got),
            ROSTER_EREMOTE);
  assert_contains(roster_last_error(), "NOPERM");
  roster_redis_subscriber_stats st;
  assert_ok(roster_redis_subscriber_stats_get(sub, &st));
  assert_int_equal(st.channels, 1);
  int64_t n = 0;
  assert_ok(roster_redis_publish(admin, "allowed", 7, "x", 1, &n));
  assert_int_equal(n, 1);
  assert_eventually_equal(atomic_load(&got), 1, LC_LONG_MS);
  roster_redis_subscriber_free(sub);
  roster_redis_free(cli);
  assert_ok(roster_redis_call(admin, NULL, "ACL", "DELUSER", "limited", NULL));
  roster_redis_free(admin);
}

int main(void) {
  /* No redis-server at all: skipped, unless the servers are required (as
   * in make test and CI), like roster__tu_server_url. */
  if (system("command -v redis-server >/dev/null 2>&1") != 0) {
    const char *req = getenv("ROSTER_TEST_REQUIRE_SERVERS");
    bool required = req && strcmp(req, "1") == 0;
    fprintf(stderr, "test_redis_restart: redis-server is not installed%s\n",
            required ? " and ROSTER_TEST_REQUIRE_SERVERS=1: failing"
                     : ": skipping");
    return required ? 1 : 0;
  }
  if (roster__tu_private_open(&S, "redis", "roster-redis-restart") != 0) {
    fprintf(stderr, "test_redis_restart: cannot start a private Redis\n");
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_restart),
      cmocka_unit_test(t_unix),
      cmocka_unit_test(t_acl),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  if (roster__tu_private_close(&S) != 0)
    fprintf(stderr, "test_redis_restart: could not remove %s\n", S.top);
  return rc;
}
