/*
 * test_etcd_discovery.c: two roster instances in one process, each with
 * its own registry and etcd client. A publishes "api" (port, metadata);
 * B's mirror finds it by name in namespace "cluster" (roster_wait_for
 * wakes on the remote arrival; roster_lookup, roster_select and the
 * entry's metadata work; a listener sees the arrival). A second instance
 * of "api" is a second entry of the same key. A state change is
 * republished; "stopped" removes the instance; an unpublish with the
 * lease kept (the process dying) removes it within the TTL; the
 * listener sees the departures. A lifecycle service published from A
 * follows its state. The mirror's stats show it connected and fresh;
 * when its member stops it keeps serving what it knew and its stats show
 * how stale that is. A registry with unique keys is refused.
 */
#include "etcd_testutil.h"

#include <roster/lifecycle.h>

static char CL[64];

typedef struct counts {
  atomic_int arrivals, departures;
} counts;

static void count(roster *r, const roster_event *ev, void *arg) {
  (void)r;
  counts *n = arg;
  if (strcmp(ev->entry->ns, "cluster"))
    return;
  if (ev->kind == ROSTER_EV_REGISTER)
    atomic_fetch_add(&n->arrivals, 1);
  else if (ev->kind == ROSTER_EV_UNREGISTER)
    atomic_fetch_add(&n->departures, 1);
}

typedef struct want {
  roster *r;
  const char *name;
  size_t n;
} want;

static bool has_n(void *arg) {
  want *w = arg;
  size_t count = 0;
  roster_lookup(w->r, "cluster", w->name, NULL, 0, &count);
  return count == w->n;
}

static bool not_kept(void *arg) {
  return !roster_has((roster *)arg, "cluster", "kept");
}

static roster *dup_registry(void) {
  roster_options o = {.keys = ROSTER_KEYS_DUPLICATE};
  return tu_registry(&o);
}

static void test_publish_find(void **state) {
  (void)state;
  et_cluster(CL, sizeof CL);
  roster_etcd *ca = et_client(NULL), *cb = et_client(NULL);
  roster *a = dup_registry(), *b = dup_registry();
  counts n = {0};
  assert_ok(roster_listen(b, ROSTER_EV_REGISTER | ROSTER_EV_UNREGISTER, count,
                          &n, NULL, NULL));
  roster_etcd_mirror_options mo = {.cluster = CL};
  roster_etcd_mirror *m = NULL;
  assert_ok(roster_etcd_mirror_new(cb, b, &mo, &m));

  roster_etcd_publish_options po = {.cluster = CL,
                                    .name = "api",
                                    .instance = "a1",
                                    .address = "10.0.0.1",
                                    .port = 8080,
                                    .meta = "{\"zone\":\"eu\"}",
                                    .ttl_s = 2};
  roster_etcd_publication *p1 = NULL, *p2 = NULL;
  assert_ok(roster_etcd_publish(ca, a, &po, &p1));
  assert_ok(roster_wait_for(b, "cluster", "api", 5000));
  void *inst = NULL;
  size_t count = 0;
  /* the instance is read inside a read section: an update may replace it */
  roster_read_lock();
  int rc = roster_lookup(b, "cluster", "api", &inst, 1, &count);
  const roster_etcd_remote *rem = inst;
  roster_etcd_remote seen1 = rem ? *rem : (roster_etcd_remote){0};
  char addr[32], iname[32], cname[64], nsname[32], st[32];
  snprintf(addr, sizeof addr, "%s", rem ? rem->address : "");
  snprintf(iname, sizeof iname, "%s", rem ? rem->instance : "");
  snprintf(cname, sizeof cname, "%s", rem ? rem->cluster : "");
  snprintf(nsname, sizeof nsname, "%s", rem ? rem->ns : "");
  snprintf(st, sizeof st, "%s", rem ? rem->state : "");
  roster_read_unlock();
  assert_ok(rc);
  assert_int_equal(count, 1);
  assert_string_equal(addr, "10.0.0.1");
  assert_int_equal(seen1.port, 8080);
  assert_string_equal(iname, "a1");
  assert_string_equal(cname, CL);
  assert_string_equal(nsname, "default");
  assert_string_equal(st, "ready");
  roster_list l;
  roster_query q = {.ns = "cluster", .pattern = "a*"};
  assert_ok(roster_select(b, &q, &l));
  assert_int_equal(l.count, 1);
  assert_ptr_equal(l.items[0].type, &roster_etcd_remote_type);
  assert_non_null(l.items[0].meta);
  char meta[512];
  snprintf(meta, sizeof meta, "%.*s", (int)l.items[0].meta_len,
           (const char *)l.items[0].meta);
  assert_non_null(strstr(meta, "\"zone\":\"eu\""));
  assert_non_null(strstr(meta, "\"port\":8080"));
  roster_list_free(&l);

  /* a second instance: a second entry of the key */
  po.instance = "a2";
  po.port = 8081;
  assert_ok(roster_etcd_publish(ca, NULL, &po, &p2));
  want w = {b, "api", 2};
  assert_true(et_until(has_n, &w, 5000));

  /* a state change is republished in place */
  assert_ok(roster_etcd_publication_set_state(p1, "unhealthy"));
  roster_etcd_remote *two[2];
  bool seen = false;
  for (int i = 0; i < 250 && !seen; i++, usleep(20000)) {
    roster_read_lock();
    rc = roster_lookup(b, "cluster", "api", (void **)two, 2, &count);
    for (size_t j = 0; !rc && j < count && j < 2; j++)
      seen |= !strcmp(two[j]->instance, "a1") &&
              !strcmp(two[j]->state, "unhealthy");
    roster_read_unlock();
    assert_ok(rc);
  }
  assert_true(seen);
  roster_etcd_mirror_stats ms;
  assert_ok(roster_etcd_mirror_stats_get(m, &ms));
  assert_true(ms.connected);
  assert_int_equal(ms.stale_ms, 0);
  assert_int_equal(ms.instances, 2);
  assert_true(ms.revision > 0);

  /* stopped: gone at once */
  assert_ok(roster_etcd_publication_set_state(p1, "stopped"));
  w.n = 1;
  assert_true(et_until(has_n, &w, 5000));
  /* the process dies: gone within the TTL */
  int64_t t0 = et_now_ms();
  roster_etcd_unpublish(p2, true);
  w.n = 0;
  assert_true(et_until(has_n, &w, 4000));
  print_message("gone %lld ms after its keepalives stopped\n",
                (long long)(et_now_ms() - t0));
  roster_etcd_unpublish(p1, false);
  assert_true(atomic_load(&n.arrivals) >= 2);
  assert_int_equal(atomic_load(&n.arrivals) - atomic_load(&n.departures), 0);

  roster_etcd_mirror_free(m);
  roster_free(a);
  roster_free(b);
  roster_etcd_free(ca);
  roster_etcd_free(cb);
}

static int make_svc(void *arg, const roster_deps *deps, void **out) {
  (void)arg;
  (void)deps;
  static int x;
  *out = &x;
  return ROSTER_OK;
}

static const roster_type svc_type = {.name = "svc"};

static void test_lifecycle_service(void **state) {
  (void)state;
  roster_etcd *ca = et_client(NULL), *cb = et_client(NULL);
  roster *a = tu_registry(NULL), *b = dup_registry();
  roster_provider pr = {.type = &svc_type, .create = make_svc};
  assert_ok(roster_provide(a, NULL, "worker", &pr));
  assert_ok(roster_start(a, 5000));
  roster_etcd_publication *p = NULL;
  roster_etcd_publish_options po = {
      .cluster = CL, .name = "worker", .ttl_s = 5};
  assert_ok(roster_etcd_publish(ca, a, &po, &p));
  roster_etcd_mirror_options mo = {
      .cluster = CL, .ns = "remote", .qualify = true};
  roster_etcd_mirror *m = NULL;
  assert_ok(roster_etcd_mirror_new(cb, b, &mo, &m));
  assert_ok(roster_wait_for(b, "remote", "default/worker", 5000));
  /* shutdown stops the service: the key goes */
  assert_ok(roster_shutdown(a, 5000));
  int i = 0;
  while (roster_has(b, "remote", "default/worker") && i++ < 250)
    usleep(20000);
  assert_false(roster_has(b, "remote", "default/worker"));
  roster_etcd_unpublish(p, false);
  roster_etcd_mirror_free(m);
  assert_int_equal(roster_count(b, "remote"), 0);
  roster_free(a);
  roster_free(b);

  /* unique keys cannot mirror */
  roster *u = tu_registry(NULL);
  assert_new_fails(roster_etcd_mirror,
                   roster_etcd_mirror_new(cb, u, &mo, &bad_));
  assert_non_null(strstr(roster_last_error(), "ROSTER_KEYS_DUPLICATE"));
  roster_free(u);
  roster_etcd_free(ca);
  roster_etcd_free(cb);
}

static bool connected_is(roster_etcd_mirror *m, bool up) {
  roster_etcd_mirror_stats ms;
  for (int i = 0; i < 500; i++, usleep(20000))
    if (!roster_etcd_mirror_stats_get(m, &ms) && ms.connected == up)
      return true;
  return false;
}

/* The mirror's only member stops: the mirror keeps serving what it knew,
 * and its stats say it is disconnected and for how long; the member comes
 * back: connected again, fresh. A mirror whose etcd was never reached is
 * disconnected too, and says so. */
static void test_unreachable_keeps_serving(void **state) {
  (void)state;
  char first[256];
  et_first_endpoint(first, sizeof first);
  roster_etcd *ca = et_client(NULL), *cb = et_client(first);
  roster *b = dup_registry();
  roster_etcd_mirror *m = NULL;
  roster_etcd_mirror_options mo = {.cluster = CL};
  assert_ok(roster_etcd_mirror_new(cb, b, &mo, &m));
  roster_etcd_publication *p = NULL;
  roster_etcd_publish_options po = {.cluster = CL, .name = "kept", .ttl_s = 30};
  assert_ok(roster_etcd_publish(ca, NULL, &po, &p));
  assert_ok(roster_wait_for(b, "cluster", "kept", 5000));
  assert_true(connected_is(m, true));
  if (!et_member(1, "stop")) {
    roster_etcd_unpublish(p, false);
    roster_etcd_mirror_free(m);
    roster_free(b);
    roster_etcd_free(ca);
    roster_etcd_free(cb);
    skip();
  }
  assert_true(connected_is(m, false));
  usleep(1200000);
  assert_true(roster_has(b, "cluster", "kept")); /* still served */
  roster_etcd_mirror_stats ms;
  assert_ok(roster_etcd_mirror_stats_get(m, &ms));
  assert_false(ms.connected);
  assert_true(ms.stale_ms >= 1000);
  assert_true(ms.revision > 0);
  assert_int_equal(ms.instances, 1);
  assert_true(et_member(1, "start"));
  assert_true(connected_is(m, true));
  assert_ok(roster_etcd_mirror_stats_get(m, &ms));
  assert_int_equal(ms.stale_ms, 0);
  roster_etcd_unpublish(p, false);
  assert_true(et_until(not_kept, b, 5000));
  roster_etcd_mirror_free(m);

  /* never reached */
  char dead[64];
  snprintf(dead, sizeof dead, "127.0.0.1:%d", roster__tu_free_port());
  roster_etcd *cd = et_client(dead);
  assert_ok(roster_etcd_mirror_new(cd, b, &mo, &m));
  usleep(500000);
  assert_ok(roster_etcd_mirror_stats_get(m, &ms));
  assert_false(ms.connected);
  assert_int_equal(ms.revision, 0);
  roster_etcd_mirror_free(m);
  roster_etcd_free(cd);
  roster_free(b);
  roster_etcd_free(ca);
  roster_etcd_free(cb);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_publish_find),
      cmocka_unit_test(test_unreachable_keeps_serving),
      cmocka_unit_test(test_lifecycle_service),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
