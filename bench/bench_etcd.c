/*
 * bench_etcd.c: discovery on etcd, measured between two roster instances
 * in one process (each its own registry and client), on the cluster of
 * $ROSTER_TEST_ETCD_ENDPOINTS (make bench starts it, scripts/services.sh):
 *
 *   - publish_to_visible  from roster_etcd_publish on A (a lease grant and
 *                         a put) to roster_wait_for returning on B, whose
 *                         mirror learns it from its watch: p50, p99, max
 *   - stop_to_gone        from the moment A stops keeping a publication's
 *                         lease (the process dying; TTL 2 s, etcd's least)
 *                         to its entry leaving B's mirror: p50, max
 *   - idle_requests       HTTP requests per second one node sends while
 *                         nothing changes: a publication (TTL 10 s) kept
 *                         alive and a mirror's watch stream
 *
 * Every step is checked (a wait that times out, a call that fails): a
 * failure is counted and the exit code is 1. See bench/README.md.
 */
#include "bench.h"

#include <roster.h>
#include <roster/etcd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const bench_spec spec = {
    .prog = "roster-bench-etcd",
    .about = "  Discovery on etcd between two registries: publish to visible,\n"
             "  stop to gone, idle requests per second.\n",
    .quick = "20 publishes, 3 expiries, a 3 s idle window",
};

static roster_etcd *client(const char *eps) {
  roster_etcd *c = NULL;
  if (roster_etcd_new(&(roster_etcd_options){.endpoints = eps}, &c))
    roster__bench_die("etcd: %s", roster_last_error());
  return c;
}

static roster *dup_registry(void) {
  roster *r = NULL;
  if (roster_new(&(roster_options){.keys = ROSTER_KEYS_DUPLICATE}, &r))
    roster__bench_die("registry: %s", roster_last_error());
  return r;
}

static void row(const char *op, size_t n, double *ms) {
  roster__bench_sort(ms, n);
  double p50 = roster__bench_percentile(ms, n, 0.50);
  double p99 = roster__bench_percentile(ms, n, 0.99);
  double max = ms[n - 1];
  if (roster__bench.json)
    printf("{\"impl\":\"roster\",\"op\":\"%s\",\"samples\":%zu,"
           "\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"max_ms\":%.2f}\n",
           op, n, p50, p99, max);
  else
    printf("%-20s %7zu %9.2f %9.2f %9.2f\n", op, n, p50, p99, max);
  roster__bench_add(
      &(bench_result){.impl = "roster", .op = op, .size = n, .value = p50});
}

int main(int argc, char **argv) {
  roster__bench_init(&spec, argc, argv);
  const char *eps = getenv("ROSTER_TEST_ETCD_ENDPOINTS");
  if (!eps || !*eps) {
    const char *req = getenv("ROSTER_TEST_REQUIRE_SERVERS");
    if (req && !strcmp(req, "1"))
      roster__bench_fail(1, "ROSTER_TEST_ETCD_ENDPOINTS is not set, and "
                            "ROSTER_TEST_REQUIRE_SERVERS=1: failing");
    else
      roster__bench_warn("ROSTER_TEST_ETCD_ENDPOINTS is not set; nothing to "
                         "measure (scripts/services.sh start DIR etcd "
                         "starts a cluster)");
    return roster__bench_finish();
  }
  char cl[64];
  snprintf(cl, sizeof cl, "bench_%ld", (long)getpid());
  roster_etcd *ca = client(eps), *cb = client(eps);
  roster *b = dup_registry();
  roster_etcd_mirror *m = NULL;
  if (roster_etcd_mirror_new(cb, b,
                             &(roster_etcd_mirror_options){.cluster = cl}, &m))
    roster__bench_die("mirror: %s", roster_last_error());
  if (!roster__bench.json)
    printf("%-20s %7s %9s %9s %9s\n", "op", "samples", "p50 ms", "p99 ms",
           "max ms");

  /* publish to visible */
  size_t n = roster__bench.quick ? 20 : 200;
  double *ms = roster__bench_xcalloc(n, sizeof *ms);
  roster_etcd_publication **pubs = roster__bench_xcalloc(n, sizeof *pubs);
  for (size_t i = 0; i < n; i++) {
    char name[32];
    snprintf(name, sizeof name, "svc%zu", i);
    int64_t t0 = bench_now_ns();
    roster_etcd_publish_options po = {
        .cluster = cl, .name = name, .port = 1000 + (int)i, .ttl_s = 10};
    if (roster_etcd_publish(ca, NULL, &po, &pubs[i]))
      roster__bench_fail(1, "publish: %s", roster_last_error());
    else if (roster_wait_for(b, "cluster", name, 10000))
      roster__bench_fail(1, "%s never became visible", name);
    ms[i] = (double)(bench_now_ns() - t0) / 1e6;
  }
  row("publish_to_visible", n, ms);
  for (size_t i = 0; i < n; i++)
    roster_etcd_unpublish(pubs[i], false);

  /* stop to gone: several at once, each timed */
  size_t k = roster__bench.quick ? 3 : 10;
  roster_etcd_publication **dying = roster__bench_xcalloc(k, sizeof *dying);
  for (size_t i = 0; i < k; i++) {
    char name[32];
    snprintf(name, sizeof name, "dies%zu", i);
    roster_etcd_publish_options po = {.cluster = cl, .name = name, .ttl_s = 2};
    if (roster_etcd_publish(ca, NULL, &po, &dying[i]) ||
        roster_wait_for(b, "cluster", name, 10000))
      roster__bench_die("set-up of %s: %s", name, roster_last_error());
  }
  int64_t t0 = bench_now_ns();
  for (size_t i = 0; i < k; i++)
    roster_etcd_unpublish(dying[i], true); /* keepalives stop */
  double *gone = roster__bench_xcalloc(k, sizeof *gone);
  size_t left = k;
  while (left && bench_now_ns() - t0 < 10 * 1000000000LL) {
    for (size_t i = 0; i < k; i++) {
      char name[32];
      snprintf(name, sizeof name, "dies%zu", i);
      if (gone[i] == 0 && !roster_has(b, "cluster", name)) {
        gone[i] = (double)(bench_now_ns() - t0) / 1e6;
        left--;
      }
    }
    usleep(5000);
  }
  if (left)
    roster__bench_fail(left, "%zu publications outlived their lease", left);
  row("stop_to_gone", k, gone);

  /* idle requests per second of one node: a publication and a mirror */
  roster_etcd *ci = client(eps);
  roster *ri = dup_registry();
  roster_etcd_mirror *mi = NULL;
  roster_etcd_publication *pi = NULL;
  roster_etcd_publish_options po = {.cluster = cl, .name = "idle", .ttl_s = 10};
  if (roster_etcd_mirror_new(
          ci, ri, &(roster_etcd_mirror_options){.cluster = cl}, &mi) ||
      roster_etcd_publish(ci, NULL, &po, &pi))
    roster__bench_die("idle node: %s", roster_last_error());
  roster__bench_sleep(1.0); /* the first read and the stream are set up */
  roster_etcd_stats s0, s1;
  roster_etcd_stats_get(ci, &s0);
  double secs = roster__bench.quick ? 3.0 : 30.0;
  roster__bench_sleep(secs);
  roster_etcd_stats_get(ci, &s1);
  double rps = (double)(s1.requests - s0.requests) / secs;
  if (roster__bench.json)
    printf("{\"impl\":\"roster\",\"op\":\"idle_requests\",\"seconds\":%.0f,"
           "\"requests_per_s\":%.3f}\n",
           secs, rps);
  else
    printf("%-20s %7.0fs %9.3f requests/s (keepalives; the watch is one "
           "stream)\n",
           "idle_requests", secs, rps);
  roster__bench_add(
      &(bench_result){.impl = "roster", .op = "idle_requests", .value = rps});
  roster_etcd_unpublish(pi, false);
  roster_etcd_mirror_free(mi);
  roster_free(ri);
  roster_etcd_free(ci);

  roster__bench_targets();
  roster__bench_target("idle requests per node", rps, "/s", "< 1", rps < 1.0);
  roster_etcd_mirror_free(m);
  roster_free(b);
  roster_etcd_free(ca);
  roster_etcd_free(cb);
  free(ms);
  free(pubs);
  free(dying);
  free(gone);
  return roster__bench_finish();
}
