/*
 * test_etcd_failover.c: one member of three down. Calls through a client
 * whose current endpoint is the stopped member go on through the others
 * (a failover counted in the stats), a session keeps its lease alive
 * through them for longer than the TTL, and the client still works once
 * the member is back.
 */
#include "etcd_testutil.h"

static void test_one_member_down(void **state) {
  (void)state;
  roster_etcd *c = et_client(NULL);
  char cl[64], k[160];
  snprintf(k, sizeof k, "/%s/f", et_cluster(cl, sizeof cl));
  assert_ok(roster_etcd_put(c, k, "1", 1, 0, NULL));
  roster_etcd_stats st;
  assert_ok(roster_etcd_stats_get(c, &st));
  int member = (int)st.endpoint + 1;
  roster_etcd_session *s = NULL;
  assert_ok(roster_etcd_session_new(c, 2, NULL, NULL, &s));
  char lk[170];
  snprintf(lk, sizeof lk, "%s-leased", k);
  assert_ok(roster_etcd_put(c, lk, "l", 1, roster_etcd_session_lease(s), NULL));
  if (!et_member(member, "stop")) {
    roster_etcd_session_free(s, false);
    roster_etcd_free(c);
    skip();
  }
  /* every call works with the member down */
  for (int i = 0; i < 20; i++) {
    char v[16];
    snprintf(v, sizeof v, "%d", i);
    assert_ok(roster_etcd_put(c, k, v, strlen(v), 0, NULL));
    roster_etcd_kvs kvs;
    assert_ok(roster_etcd_get(c, k, &kvs));
    assert_string_equal(kvs.items[0].value, v);
    roster_etcd_kvs_free(&kvs);
  }
  assert_ok(roster_etcd_stats_get(c, &st));
  assert_true(st.failovers >= 1);
  assert_int_not_equal(st.endpoint + 1, member);
  sleep(3); /* longer than the TTL: the session went on through the others */
  assert_int_equal(et_key_count(c, lk), 1);
  assert_true(et_member(member, "start"));
  assert_ok(roster_etcd_put(c, k, "back", 4, 0, NULL));
  roster_etcd_session_free(s, false);
  assert_int_equal(et_key_count(c, lk), 0);
  assert_ok(roster_etcd_delete(c, k, false, NULL));
  roster_etcd_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_one_member_down),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
