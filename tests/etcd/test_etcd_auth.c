/*
 * test_etcd_auth.c: a client of a cluster with authentication on. The
 * test runs an etcd member of its own (authentication must not touch the
 * shared cluster): a fresh directory, two free ports, killed with the
 * test (PR_SET_PDEATHSIG) and stopped by its pid at the end; a root user
 * and `auth enable` through etcdctl; tokens live 2 s.
 * Asserted: credentials in the endpoint (http://root:pw@h:p) or in the
 * options authenticate, and keys, leases and a watch work; a token that
 * expired is renewed without the caller seeing it; a wrong password is
 * EREMOTE naming the user and etcd's reason, never the password; no
 * credentials is etcd's refusal; the etcd:// driver takes the URL's user
 * info and shows it redacted.
 */
#include "etcd_testutil.h"

#include <roster/driver.h>

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

static pid_t server = -1;
static char dir[64] = "/tmp/roster-etcd-auth-XXXXXX";
static char ep[64];

static bool healthy(void *arg) {
  (void)arg;
  char cmd[256];
  snprintf(cmd, sizeof cmd, "curl -sf %s/health >/dev/null 2>&1", ep);
  return system(cmd) == 0;
}

static int setup(void **state) {
  (void)state;
  if (system("command -v etcd >/dev/null && command -v etcdctl >/dev/null")) {
    const char *req = getenv("ROSTER_TEST_REQUIRE_SERVERS");
    print_message("etcd or etcdctl is missing\n");
    return req && !strcmp(req, "1") ? -1 : 0;
  }
  int cport = roster__tu_free_port(), pport = roster__tu_free_port();
  if (!mkdtemp(dir) || cport < 0 || pport < 0 || cport == pport)
    return -1;
  snprintf(ep, sizeof ep, "http://127.0.0.1:%d", cport);
  char data[128], peer[64], cluster[96], log[128];
  snprintf(data, sizeof data, "%s/data", dir);
  snprintf(peer, sizeof peer, "http://127.0.0.1:%d", pport);
  snprintf(cluster, sizeof cluster, "a=%s", peer);
  snprintf(log, sizeof log, "%s/server.log", dir);
  pid_t parent = getpid();
  server = fork();
  if (server == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(1);
    if (!freopen("/dev/null", "r", stdin) || !freopen(log, "w", stdout) ||
        !freopen(log, "a", stderr))
      _exit(1);
    execlp("etcd", "etcd", "--name", "a", "--data-dir", data,
           "--listen-client-urls", ep, "--advertise-client-urls", ep,
           "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
           "--initial-cluster", cluster, "--auth-token-ttl", "2", (char *)NULL);
    _exit(127);
  }
  if (server < 0 || !et_until(healthy, NULL, 20000))
    return -1;
  char cmd[512];
  snprintf(cmd, sizeof cmd,
           "etcdctl --endpoints=%s user add root:pw </dev/null >/dev/null "
           "2>&1 && etcdctl --endpoints=%s auth enable </dev/null >/dev/null "
           "2>&1",
           ep, ep);
  return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  if (server > 0) {
    kill(server, SIGTERM);
    waitpid(server, NULL, 0);
  }
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

static void need_server(void) {
  if (server <= 0)
    skip();
}

typedef struct seen {
  atomic_int events;
} seen;

static void on_events(const roster_etcd_event *ev, size_t n, int64_t rev,
                      void *arg) {
  (void)ev;
  (void)rev;
  atomic_fetch_add(&((seen *)arg)->events, (int)n);
}

static void on_sync(const roster_etcd_kvs *all, void *arg) {
  (void)all;
  (void)arg;
}

static bool two_events(void *arg) {
  return atomic_load(&((seen *)arg)->events) >= 2;
}

static void test_credentials(void **state) {
  (void)state;
  need_server();
  char url[128];
  snprintf(url, sizeof url, "http://root:pw@%s", ep + 7);
  roster_etcd *c = et_client(url);
  assert_ok(roster_etcd_put(c, "/a/k", "v", 1, 0, NULL));
  roster_etcd_kvs kvs;
  assert_ok(roster_etcd_get(c, "/a/k", &kvs));
  assert_string_equal(kvs.items[0].value, "v");
  roster_etcd_kvs_free(&kvs);
  roster_etcd_session *s = NULL;
  assert_ok(roster_etcd_session_new(c, 5, NULL, NULL, &s));
  seen n = {0};
  roster_etcd_watch *w = NULL;
  assert_ok(roster_etcd_watch_new(c, "/a/", on_events, on_sync, &n, &w));
  usleep(300000);
  assert_ok(
      roster_etcd_put(c, "/a/k", "w", 1, roster_etcd_session_lease(s), NULL));
  /* the token lives 2 s: later calls renew it unseen */
  sleep(3);
  assert_ok(roster_etcd_put(c, "/a/k2", "x", 1, 0, NULL));
  assert_true(et_until(two_events, &n, 5000));
  roster_etcd_watch_free(w);
  roster_etcd_session_free(s, false);
  roster_etcd_free(c);

  /* the same through the options */
  roster_etcd_options o = {.endpoints = ep, .user = "root", .password = "pw"};
  assert_ok(roster_etcd_new(&o, &c));
  assert_ok(roster_etcd_delete(c, "/a/", true, NULL));
  roster_etcd_free(c);
}

static void test_refused(void **state) {
  (void)state;
  need_server();
  char url[128];
  snprintf(url, sizeof url, "http://root:b%%40dpass@%s", ep + 7);
  roster_etcd *c = et_client(url);
  assert_rc(roster_etcd_put(c, "/a/k", "v", 1, 0, NULL), ROSTER_EREMOTE);
  assert_non_null(strstr(roster_last_error(), "as user 'root' failed"));
  assert_non_null(strstr(roster_last_error(), "invalid user ID or password"));
  assert_null(strstr(roster_last_error(), "dpass"));
  roster_etcd_free(c);
  c = et_client(ep); /* no credentials */
  assert_rc(roster_etcd_put(c, "/a/k", "v", 1, 0, NULL), ROSTER_EREMOTE);
  assert_non_null(strstr(roster_last_error(), "user name is empty"));
  roster_etcd_free(c);
  roster_etcd_options o = {.endpoints = "http://root@127.0.0.1:1"};
  assert_rc(roster_etcd_new(&o, &c), ROSTER_EINVAL);
}

static void test_driver(void **state) {
  (void)state;
  need_server();
  assert_ok(roster_etcd_init());
  roster *r = tu_registry(NULL);
  char url[160];
  snprintf(url, sizeof url, "etcd://root:s3cr%%3At@%s/roster", ep + 7);
  /* a wrong password: the service starts (no I/O), its calls are
   * refused, the password never shown */
  assert_ok(roster_provide_url(r, NULL, "etcd", url, NULL));
  char shown[256];
  assert_ok(roster_service_url(r, NULL, "etcd", shown, sizeof shown));
  assert_null(strstr(shown, "s3cr"));
  assert_ok(roster_start(r, 10000));
  roster_etcd *c = NULL;
  assert_ok(roster_etcd_find(r, NULL, "etcd", &c));
  assert_rc(roster_etcd_put(c, "/roster/x", "1", 1, 0, NULL), ROSTER_EREMOTE);
  assert_null(strstr(roster_last_error(), "s3cr"));
  roster_free(r);
  r = tu_registry(NULL);
  snprintf(url, sizeof url, "etcd://root:pw@%s/roster", ep + 7);
  assert_ok(roster_provide_url(r, NULL, "etcd", url, NULL));
  assert_ok(roster_start(r, 10000));
  assert_ok(roster_etcd_find(r, NULL, "etcd", &c));
  assert_ok(roster_etcd_put(c, "/roster/x", "1", 1, 0, NULL));
  roster_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_credentials),
      cmocka_unit_test(test_refused),
      cmocka_unit_test(test_driver),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
