/*
 * test_etcd_lease.c: leases on the real cluster.
 * - Expiry: a key bound to a session's lease (TTL 2 s, etcd's least) stays
 *   while the session keeps it alive, and is gone within TTL + 1 s once
 *   the keepalives stop (the session paused, as if the process stopped).
 * - A keepalive answered without a TTL (the lease revoked behind the
 *   session's back) makes the session grant a new lease and hand it to
 *   its owner, which writes its key again: the published key comes back,
 *   on the new lease, and the regrant is counted.
 */
#include "etcd_testutil.h"

typedef struct probe {
  roster_etcd *c;
  const char *key;
  bool want; /* present */
} probe;

static bool key_is(void *arg) {
  probe *p = arg;
  return (et_key_count(p->c, p->key) == 1) == p->want;
}

static void test_expiry(void **state) {
  (void)state;
  roster_etcd *c = et_client(NULL);
  char cl[64], key[128];
  snprintf(key, sizeof key, "/%s/alive", et_cluster(cl, sizeof cl));
  roster_etcd_session *s = NULL;
  assert_ok(roster_etcd_session_new(c, 2, NULL, NULL, &s));
  assert_ok(
      roster_etcd_put(c, key, "x", 1, roster_etcd_session_lease(s), NULL));
  sleep(3); /* longer than the TTL: the keepalives hold it */
  assert_int_equal(et_key_count(c, key), 1);
  roster_etcd_session_pause(s, true);
  int64_t t0 = et_now_ms();
  probe p = {c, key, false};
  assert_true(et_until(key_is, &p, 5000));
  int64_t gone = et_now_ms() - t0;
  print_message("key gone %lld ms after the keepalives stopped\n",
                (long long)gone);
  assert_true(gone <= 3000); /* TTL + 1 s */
  roster_etcd_session_free(s, true);
  roster_etcd_free(c);
}

typedef struct owner {
  roster_etcd *c;
  const char *key;
  atomic_int calls;
  atomic_llong lease;
} owner;

static int rewrite(roster_etcd_session *s, int64_t lease, void *arg) {
  (void)s;
  owner *o = arg;
  atomic_fetch_add(&o->calls, 1);
  atomic_store(&o->lease, lease);
  return roster_etcd_put(o->c, o->key, "again", 5, lease, NULL);
}

static void test_lease_gone_regrants(void **state) {
  (void)state;
  roster_etcd *c = et_client(NULL);
  char cl[64], key[128];
  snprintf(key, sizeof key, "/%s/reg", et_cluster(cl, sizeof cl));
  owner o = {.c = c, .key = key};
  roster_etcd_session *s = NULL;
  assert_ok(roster_etcd_session_new(c, 3, rewrite, &o, &s));
  int64_t first = roster_etcd_session_lease(s);
  assert_ok(roster_etcd_put(c, key, "x", 1, first, NULL));
  assert_ok(roster_etcd_lease_revoke(c, first)); /* behind its back */
  assert_int_equal(et_key_count(c, key), 0);
  probe p = {c, key, true};
  assert_true(et_until(key_is, &p, 4000)); /* one keepalive period: 1 s */
  assert_int_equal(atomic_load(&o.calls), 1);
  int64_t second = roster_etcd_session_lease(s);
  assert_true(second != first);
  assert_int_equal(atomic_load(&o.lease), second);
  roster_etcd_kvs kvs;
  assert_ok(roster_etcd_get(c, key, &kvs));
  assert_string_equal(kvs.items[0].value, "again");
  assert_int_equal(kvs.items[0].lease, second);
  roster_etcd_kvs_free(&kvs);
  roster_etcd_stats st;
  assert_ok(roster_etcd_stats_get(c, &st));
  assert_int_equal(st.lease_regrants, 1);
  /* freeing revokes the new lease: the key goes */
  roster_etcd_session_free(s, false);
  assert_int_equal(et_key_count(c, key), 0);
  roster_etcd_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_expiry),
      cmocka_unit_test(test_lease_gone_regrants),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
