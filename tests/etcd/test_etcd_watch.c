/*
 * test_etcd_watch.c: a watch across the loss of the member serving it.
 * A writer puts keys 0..N-1 under a prefix (one revision each) on its own
 * client while the watch's member is stopped mid-way and started again;
 * the watch must deliver each put exactly once, in order (no event lost
 * or repeated), resuming from the last revision + 1 on another member,
 * and count the restart. A delete is delivered as such. The first sync
 * reports the keys already there.
 */
#include "etcd_testutil.h"

#include <pthread.h>

enum { N = 200 };

typedef struct rec {
  pthread_mutex_t mu;
  int got[N];
  int order[N];
  int n; /* puts seen */
  int deletes;
  int bad; /* a key outside 0..N-1, or a revision going back */
  int64_t last_rev;
  size_t synced; /* keys in the first sync */
  int syncs;
} rec;

static void on_events(const roster_etcd_event *ev, size_t n, int64_t rev,
                      void *arg) {
  rec *r = arg;
  pthread_mutex_lock(&r->mu);
  if (rev <= r->last_rev)
    r->bad++;
  r->last_rev = rev;
  for (size_t i = 0; i < n; i++) {
    const char *slash = strrchr(ev[i].kv->key, '/');
    int k = slash ? atoi(slash + 1) : -1;
    if (ev[i].kind) {
      r->deletes++;
    } else if (k < 0 || k >= N) {
      r->bad++;
    } else {
      r->got[k]++;
      if (r->n < N)
        r->order[r->n] = k;
      r->n++;
    }
  }
  pthread_mutex_unlock(&r->mu);
}

static void on_sync(const roster_etcd_kvs *all, void *arg) {
  rec *r = arg;
  pthread_mutex_lock(&r->mu);
  if (!r->syncs++)
    r->synced = all->count;
  r->last_rev = all->revision;
  pthread_mutex_unlock(&r->mu);
}

static bool have(void *arg) {
  rec *r = arg;
  pthread_mutex_lock(&r->mu);
  bool done = r->n >= N && r->deletes >= 1;
  pthread_mutex_unlock(&r->mu);
  return done;
}

static void test_resume_after_member_stops(void **state) {
  (void)state;
  roster_etcd *wc = et_client(NULL), *pc = et_client(NULL);
  char cl[64], prefix[128], k[160];
  snprintf(prefix, sizeof prefix, "/%s/w/", et_cluster(cl, sizeof cl));
  snprintf(k, sizeof k, "%spre", prefix);
  assert_ok(roster_etcd_put(pc, k, "x", 1, 0, NULL));
  rec r = {.mu = PTHREAD_MUTEX_INITIALIZER};
  roster_etcd_watch *w = NULL;
  assert_ok(roster_etcd_watch_new(wc, prefix, on_events, on_sync, &r, &w));
  usleep(300000);
  roster_etcd_stats st;
  assert_ok(roster_etcd_stats_get(wc, &st));
  int member = (int)st.endpoint + 1; /* the watch's: services.sh order */
  /* the writer uses another member first, so its puts do not wait */
  roster_etcd_free(pc);
  const char *eps = et_endpoints();
  char rot[1024];
  const char *comma = strchr(eps, ',');
  snprintf(rot, sizeof rot, "%s,%.*s", comma ? comma + 1 : eps,
           comma ? (int)(comma - eps) : 0, eps);
  pc = et_client(rot);
  bool stopped = false;
  for (int i = 0; i < N; i++) {
    if (i == N / 3)
      stopped = et_member(member, "stop");
    if (i == 2 * N / 3 && stopped)
      assert_true(et_member(member, "start"));
    snprintf(k, sizeof k, "%s%d", prefix, i);
    assert_ok(roster_etcd_put(pc, k, "v", 1, 0, NULL));
  }
  snprintf(k, sizeof k, "%spre", prefix);
  assert_ok(roster_etcd_delete(pc, k, false, NULL));
  assert_true(et_until(have, &r, 15000));
  usleep(300000); /* nothing more may come */
  roster_etcd_watch_free(w);
  assert_int_equal(r.synced, 1);
  assert_int_equal(r.bad, 0);
  assert_int_equal(r.n, N);
  assert_int_equal(r.deletes, 1);
  for (int i = 0; i < N; i++) {
    assert_int_equal(r.got[i], 1);
    assert_int_equal(r.order[i], i);
  }
  assert_ok(roster_etcd_stats_get(wc, &st));
  if (stopped)
    assert_true(st.watch_restarts >= 1);
  else
    print_message("members could not be stopped: resume not exercised\n");
  assert_ok(roster_etcd_delete(pc, prefix, true, NULL));
  roster_etcd_free(pc);
  roster_etcd_free(wc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_resume_after_member_stops),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
