/*
 * test_etcd_driver.c: the etcd:// driver. A URL with a host list declares
 * a client service (roster_etcd_find); its options publish services of
 * the registry by configuration (publish=name:port) and mirror the
 * cluster into a namespace of it (mirror=ns): two registries with
 * duplicate keys, each declaring etcd with the other's service public,
 * find each other's service by name. Bad options fail the declaration
 * with the option named; a URL with user info is refused without showing
 * the password.
 */
#include "etcd_testutil.h"

#include <roster/driver.h>
#include <roster/lifecycle.h>

static const roster_type svc_type = {.name = "svc"};

static int make_svc(void *arg, const roster_deps *deps, void **out) {
  (void)deps;
  *out = arg;
  return ROSTER_OK;
}

/* url_of: etcd://h1:p1,h2:p2,.../roster?cluster=CL&ttl=2 and more. */
static void url_of(char *buf, size_t cap, const char *cl, const char *more) {
  const char *eps = et_endpoints();
  char hosts[512] = "";
  size_t n = 0;
  for (const char *p = eps; *p;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    const char *h = !strncmp(p, "http://", 7) ? p + 7 : p;
    n += (size_t)snprintf(hosts + n, sizeof hosts - n, "%s%.*s", n ? "," : "",
                          (int)(len - (size_t)(h - p)), h);
    p += len + (comma != NULL);
  }
  snprintf(buf, cap, "etcd://%s/roster?cluster=%s&ttl=2%s", hosts, cl, more);
}

static roster *node(const char *cl, const char *mine, int port) {
  roster_options ro = {.keys = ROSTER_KEYS_DUPLICATE};
  roster *r = tu_registry(&ro);
  static int x;
  roster_provider p = {.type = &svc_type, .create = make_svc, .arg = &x};
  assert_ok(roster_provide(r, NULL, mine, &p));
  char url[1024], more[128];
  snprintf(more, sizeof more, "&publish=%s:%d&mirror=cluster", mine, port);
  url_of(url, sizeof url, cl, more);
  assert_ok(roster_provide_url(r, NULL, "etcd", url, NULL));
  assert_ok(roster_start(r, 10000));
  return r;
}

static void test_declared(void **state) {
  (void)state;
  assert_ok(roster_etcd_init());
  assert_ok(roster_etcd_init()); /* idempotent */
  char cl[64];
  et_cluster(cl, sizeof cl);
  roster *a = node(cl, "alpha", 7001), *b = node(cl, "beta", 7002);
  assert_ok(roster_wait_for(a, "cluster", "beta", 5000));
  assert_ok(roster_wait_for(b, "cluster", "alpha", 5000));
  void *inst = NULL;
  size_t n = 0;
  roster_read_lock(); /* an update may replace the instance */
  int rc = roster_lookup(a, "cluster", "beta", &inst, 1, &n);
  int port = inst ? ((roster_etcd_remote *)inst)->port : 0;
  roster_read_unlock();
  assert_ok(rc);
  assert_int_equal(n, 1);
  assert_int_equal(port, 7002);
  roster_etcd *c = NULL;
  assert_ok(roster_etcd_find(a, NULL, "etcd", &c));
  assert_non_null(c);
  roster_etcd_stats st;
  assert_ok(roster_etcd_stats_get(c, &st));
  assert_true(st.requests > 0);
  char shown[512];
  assert_ok(roster_service_url(a, NULL, "etcd", shown, sizeof shown));
  assert_non_null(strstr(shown, "etcd://"));
  /* b shuts down: its service leaves a's mirror */
  assert_ok(roster_shutdown(b, 10000));
  int i = 0;
  while (roster_has(a, "cluster", "beta") && i++ < 250)
    usleep(20000);
  assert_false(roster_has(a, "cluster", "beta"));
  roster_free(b);
  roster_free(a);
}

static void test_bad_declarations(void **state) {
  (void)state;
  assert_ok(roster_etcd_init());
  roster *r = tu_registry(NULL);
  assert_rc(roster_provide_url(r, NULL, "e1", "etcd://h:1/x?nope=1", NULL),
            ROSTER_EINVAL);
  assert_non_null(strstr(roster_last_error(), "'nope'"));
  assert_rc(roster_provide_url(r, NULL, "e2", "etcd://h:1/x?ttl=soon", NULL),
            ROSTER_EINVAL);
  assert_non_null(strstr(roster_last_error(), "'ttl'"));
  assert_rc(
      roster_provide_url(r, NULL, "e3", "etcd://u:hunter2@h:1,h:2/x", NULL),
      ROSTER_ENOTSUP);
  assert_null(strstr(roster_last_error(), "hunter2"));
  assert_rc(roster_provide_url(r, NULL, "e4", "etcd://h:1,,h:2/x", NULL),
            ROSTER_EPARSE);
  const char *opts[] = {"cluster", "c", "timeout", "100", NULL};
  assert_ok(roster_provide_url(r, NULL, "e5", "etcd://h:1,h:2/x", opts));
  roster_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_declared),
      cmocka_unit_test(test_bad_declarations),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
