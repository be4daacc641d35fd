/*
 * test_etcd_kv.c: keys on the real cluster: put, get, range by prefix,
 * delete (one key, a prefix), create-if-absent, delete-if, values with
 * NUL bytes; etcd's errors keep its code; endpoints with user info are
 * refused without being shown; a dead endpoint first in the list is
 * passed over (failover) and counted.
 */
#include "etcd_testutil.h"

static char P[128]; /* "/t_<pid>_<n>/" */

static void test_put_get_range_delete(void **state) {
  (void)state;
  roster_etcd *c = et_client(NULL);
  char cl[64], k[256];
  snprintf(P, sizeof P, "/%s/", et_cluster(cl, sizeof cl));
  int64_t rev1 = 0, rev2 = 0;
  for (int i = 0; i < 3; i++) {
    snprintf(k, sizeof k, "%sk%d", P, i);
    char v[16];
    snprintf(v, sizeof v, "v%d", i);
    assert_ok(roster_etcd_put(c, k, v, strlen(v), 0, i ? &rev2 : &rev1));
  }
  assert_true(rev2 > rev1);
  snprintf(k, sizeof k, "%sk1", P);
  roster_etcd_kvs kvs;
  assert_ok(roster_etcd_get(c, k, &kvs));
  assert_int_equal(kvs.count, 1);
  assert_string_equal(kvs.items[0].key, k);
  assert_string_equal(kvs.items[0].value, "v1");
  assert_int_equal(kvs.items[0].version, 1);
  assert_true(kvs.revision >= rev2);
  roster_etcd_kvs_free(&kvs);

  assert_ok(roster_etcd_range(c, P, &kvs));
  assert_int_equal(kvs.count, 3);
  for (size_t i = 0; i < 3; i++) { /* sorted by key */
    snprintf(k, sizeof k, "%sk%zu", P, i);
    assert_string_equal(kvs.items[i].key, k);
  }
  roster_etcd_kvs_free(&kvs);

  /* a value with NUL bytes comes back whole */
  snprintf(k, sizeof k, "%sbin", P);
  const char bin[] = {'a', 0, 'b', 0, (char)0xff};
  assert_ok(roster_etcd_put(c, k, bin, sizeof bin, 0, NULL));
  assert_ok(roster_etcd_get(c, k, &kvs));
  assert_int_equal(kvs.items[0].value_len, sizeof bin);
  assert_memory_equal(kvs.items[0].value, bin, sizeof bin);
  roster_etcd_kvs_free(&kvs);

  /* a missing key is no error */
  snprintf(k, sizeof k, "%snone", P);
  assert_ok(roster_etcd_get(c, k, &kvs));
  assert_int_equal(kvs.count, 0);
  roster_etcd_kvs_free(&kvs);

  int64_t deleted = -1;
  snprintf(k, sizeof k, "%sk0", P);
  assert_ok(roster_etcd_delete(c, k, false, &deleted));
  assert_int_equal(deleted, 1);
  assert_ok(roster_etcd_delete(c, P, true, &deleted));
  assert_int_equal(deleted, 3); /* k1, k2, bin */
  assert_int_equal(et_key_count(c, P), 0);
  roster_etcd_free(c);
}

static void test_create_if_absent(void **state) {
  (void)state;
  roster_etcd *c = et_client(NULL);
  char k[256];
  snprintf(k, sizeof k, "%slock", P);
  bool created = false;
  int64_t rev = 0, rev2 = 0;
  assert_ok(roster_etcd_create(c, k, "a", 1, 0, &created, &rev));
  assert_true(created);
  assert_ok(roster_etcd_create(c, k, "b", 1, 0, &created, &rev2));
  assert_false(created);
  assert_int_equal(rev2, rev); /* the holder's create_revision */
  roster_etcd_kvs kvs;
  assert_ok(roster_etcd_get(c, k, &kvs));
  assert_string_equal(kvs.items[0].value, "a");
  assert_int_equal(kvs.items[0].create_revision, rev);
  roster_etcd_kvs_free(&kvs);

  /* the same write again with the same lease counts as ours (an answer
   * lost and the request sent again) */
  int64_t lease;
  assert_ok(roster_etcd_lease_grant(c, 30, &lease));
  char k2[256];
  snprintf(k2, sizeof k2, "%slock2", P);
  assert_ok(roster_etcd_create(c, k2, "me", 2, lease, &created, NULL));
  assert_true(created);
  assert_ok(roster_etcd_create(c, k2, "me", 2, lease, &created, NULL));
  assert_true(created);
  assert_ok(roster_etcd_create(c, k2, "me", 2, 0, &created, NULL));
  assert_false(created);

  bool deleted = true;
  assert_ok(roster_etcd_delete_if(c, k, rev + 1000, &deleted));
  assert_false(deleted);
  assert_ok(roster_etcd_delete_if(c, k, rev, &deleted));
  assert_true(deleted);
  assert_ok(roster_etcd_lease_revoke(c, lease));
  assert_int_equal(et_key_count(c, P), 0); /* lock2 went with the lease */
  roster_etcd_free(c);
}

static void test_errors(void **state) {
  (void)state;
  roster_etcd *c = et_client(NULL);
  /* etcd's code and message are kept */
  assert_rc(roster_etcd_lease_revoke(c, 0x1234567), ROSTER_EREMOTE);
  assert_non_null(strstr(roster_last_error(), "etcd error 5 (NotFound)"));
  assert_non_null(strstr(roster_last_error(), "lease not found"));
  int64_t ttl = -1;
  assert_rc(roster_etcd_lease_keepalive(c, 0x1234567, &ttl), ROSTER_ENOENT);
  assert_int_equal(ttl, 0);
  assert_non_null(strstr(roster_last_error(), "without a TTL"));
  roster_etcd_stats st;
  assert_ok(roster_etcd_stats_get(c, &st));
  assert_true(st.errors >= 1);
  assert_true(st.last_revision > 0);
  assert_true(st.last_contact_ms >= 0 && st.last_contact_ms < 5000);
  roster_etcd_free(c);

  /* credentials in an endpoint: refused, never shown */
  roster_etcd_options o = {.endpoints = "http://u:s3cret@127.0.0.1:1"};
  assert_new_fails(roster_etcd, roster_etcd_new(&o, &bad_));
  assert_null(strstr(roster_last_error(), "s3cret"));
  o.endpoints = "127.0.0.1";
  assert_rc(roster_etcd_new(&o, &c), ROSTER_EINVAL);
  o.endpoints = "";
  assert_rc(roster_etcd_new(&o, &c), ROSTER_EINVAL);
  assert_null(c);
}

static void test_dead_endpoint_first(void **state) {
  (void)state;
  int port = roster__tu_free_port(); /* nothing listens there */
  char eps[1024];
  snprintf(eps, sizeof eps, "http://127.0.0.1:%d,%s", port, et_endpoints());
  roster_etcd *c = et_client(eps);
  char k[256];
  snprintf(k, sizeof k, "%sfo", P);
  assert_ok(roster_etcd_put(c, k, "x", 1, 0, NULL));
  roster_etcd_stats st;
  assert_ok(roster_etcd_stats_get(c, &st));
  assert_int_equal(st.failovers, 1);
  assert_int_equal(st.endpoint, 1); /* stays on the one that answered */
  assert_ok(roster_etcd_delete(c, k, false, NULL));
  assert_ok(roster_etcd_stats_get(c, &st));
  assert_int_equal(st.failovers, 1);
  roster_etcd_free(c);

  /* every endpoint dead: ECONN naming them */
  char dead[128];
  snprintf(dead, sizeof dead, "127.0.0.1:%d,127.0.0.1:%d", port, port);
  c = et_client(dead);
  assert_rc(roster_etcd_put(c, k, "x", 1, 0, NULL), ROSTER_ECONN);
  assert_non_null(strstr(roster_last_error(), "every other endpoint"));
  roster_etcd_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_put_get_range_delete),
      cmocka_unit_test(test_create_if_absent),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_dead_endpoint_first),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
