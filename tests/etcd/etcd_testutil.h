/*
 * etcd_testutil.h: what the etcd tests share: the cluster of
 * scripts/services.sh (ROSTER_TEST_ETCD_ENDPOINTS; skipped when unset,
 * failed when ROSTER_TEST_REQUIRE_SERVERS=1), a client on it, a key
 * prefix of the test's own, stopping and starting one member, and
 * waiting for a condition.
 */
#ifndef ROSTER_ETCD_TESTUTIL_H
#define ROSTER_ETCD_TESTUTIL_H

#include "testutil.h"

#include <roster/etcd.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* et_endpoints: the cluster's endpoints, or skips/fails (from the test's
 * own thread). */
static inline const char *et_endpoints(void) {
  const char *e = getenv("ROSTER_TEST_ETCD_ENDPOINTS");
  if (e && *e)
    return e;
  const char *req = getenv("ROSTER_TEST_REQUIRE_SERVERS");
  if (req && !strcmp(req, "1")) {
    print_error("ROSTER_TEST_ETCD_ENDPOINTS is not set, and "
                "ROSTER_TEST_REQUIRE_SERVERS=1: the etcd cluster is "
                "required (scripts/test.sh starts it)\n");
    fail();
  }
  print_message("skipping: ROSTER_TEST_ETCD_ENDPOINTS is not set (run the "
                "tests through scripts/test.sh to start the servers)\n");
  skip();
  return NULL;
}

/* et_first_endpoint: the first member's endpoint alone (a client that
 * has nowhere to fail over to), in buf. */
static inline const char *et_first_endpoint(char *buf, size_t cap) {
  const char *eps = et_endpoints();
  const char *comma = strchr(eps, ',');
  snprintf(buf, cap, "%.*s", comma ? (int)(comma - eps) : (int)strlen(eps),
           eps);
  return buf;
}

/* et_client: a client of the cluster (endpoints NULL: the test cluster). */
static inline roster_etcd *et_client(const char *endpoints) {
  roster_etcd_options o = {.endpoints = endpoints ? endpoints : et_endpoints(),
                           .timeout_ms = 3000,
                           .connect_timeout_ms = 500};
  roster_etcd *c = NULL;
  assert_ok(roster_etcd_new(&o, &c));
  return c;
}

/* et_cluster: a cluster name no other test process uses. */
static inline const char *et_cluster(char *buf, size_t cap) {
  return roster__tu_unique_name(buf, cap, "t");
}

static inline int64_t et_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* et_until: polls cond(arg) every 20 ms for at most ms; its last answer. */
static inline bool et_until(bool (*cond)(void *), void *arg, int64_t ms) {
  int64_t end = et_now_ms() + ms;
  while (!cond(arg)) {
    if (et_now_ms() > end)
      return cond(arg);
    usleep(20000);
  }
  return true;
}

/* et_member: stops or starts member n (1..3) through services.sh; false
 * (after saying why) when the cluster was not started by it. */
static inline bool et_member(int n, const char *what) {
  const char *dir = getenv("ROSTER_TEST_ETCD_DIR");
  if (!dir || !*dir) {
    print_message("ROSTER_TEST_ETCD_DIR is not set: members cannot be "
                  "stopped\n");
    return false;
  }
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "bash '%s/scripts/services.sh' etcd-member '%s' "
           "%d %s >/dev/null 2>&1",
           ROSTER_SOURCE_DIR, dir, n, what);
  return system(cmd) == 0;
}

/* et_key_count: how many keys start with prefix (-1 on error). */
static inline long et_key_count(roster_etcd *c, const char *prefix) {
  roster_etcd_kvs kvs;
  if (roster_etcd_range(c, prefix, &kvs))
    return -1;
  long n = (long)kvs.count;
  roster_etcd_kvs_free(&kvs);
  return n;
}

#endif
