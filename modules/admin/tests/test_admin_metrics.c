/*
 * test_admin_metrics.c: the admin endpoint's /metrics, checked by
 * promtool (Debian's prometheus package) on a registry holding a pool, a
 * cache, a scheduler, a logger, a Socket.IO server and services in
 * several states, with names that need escaping; and the OpenMetrics
 * form. Without promtool the program exits 77 (skipped), or fails when
 * ROSTER_TEST_REQUIRE_SERVERS=1 (make test, CI).
 */
#include "testutil.h"

#include "admin_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* promtool_check: promtool check metrics on text; its exit status, its
 * output printed when it fails. */
static int promtool_check(const char *text, size_t len) {
  char path[] = "/tmp/roster-admin-metrics-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, len), (ssize_t)len);
  close(fd);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "promtool check metrics < %s 2>&1", path);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  char out[4096];
  size_t n = fread(out, 1, sizeof out - 1, p);
  out[n] = '\0';
  int st = pclose(p);
  unlink(path);
  if (st != 0)
    print_error("promtool:\n%s\n", out);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void t_promtool(void **state) {
  (void)state;
  fx f;
  fx_setup(&f, NULL);
  fx_set_failing(true); /* flappy: unhealthy */
  assert_state(f.r, "we\"ird\\ns", "flappy", ROSTER_STATE_UNHEALTHY, 5000);
  void *inst;
  assert_rc(roster_get(f.r, NULL, "broken", &roster__tu_svc_type, &inst),
            ROSTER_EIO); /* failed */
  assert_ok(roster_log_write(f.log, ROSTER_LOG_WARN, NULL, 0, "counted"));
  assert_ok(roster_sched_run_now(f.sched, "tick"));
  tu_wait_until(atomic_load(&f.job_runs) == 1, 5000);
  hc_resp r;
  assert_int_equal(fx_get(f.port, "/metrics", NULL, &r), 200);
  char ct[128];
  assert_non_null(hc_header(&r, "Content-Type", ct, sizeof ct));
  assert_string_equal(ct, "text/plain; version=0.0.4; charset=utf-8");
  static const char *const want[] = {
      "roster_registry_entries ",
      "roster_registry_lookups_total ",
      "roster_service_state{ns=\"we\\\"ird\\\\ns\",name=\"flappy\","
      "state=\"unhealthy\"} 1",
      "roster_service_state{ns=\"default\",name=\"broken\",state=\"failed\"} 1",
      "roster_service_state{ns=\"default\",name=\"ok\",state=\"ready\"} 1",
      "roster_service_restarts_total{",
      "roster_pool_size{ns=\"default\",name=\"db\"} ",
      "roster_pool_wait_seconds_bucket{ns=\"default\",name=\"db\",le=\"+Inf\"}",
      "roster_cache_hits_total{ns=\"default\",name=\"cache\\nnl\"} 1",
      "roster_cache_evictions_total{",
      "roster_cron_runs_total{ns=\"default\",scheduler=\"cron\",job=\"tick\"} "
      "1",
      "roster_cron_next_run_timestamp_seconds{",
      "roster_log_lines_total{ns=\"default\",name=\"log\"} ",
      "roster_admin_log_lines_total{level=\"warn\"} 1",
      "roster_socketio_connections{ns=\"default\",name=\"rt\"} 0",
      "roster_socketio_slow_consumers_total{",
      "process_cpu_seconds_total ",
      "process_resident_memory_bytes ",
      "process_open_fds ",
  };
  for (size_t i = 0; i < sizeof want / sizeof *want; i++)
    assert_contains(r.body, want[i]);
  assert_null(strstr(r.body, "# EOF"));
  assert_int_equal(promtool_check(r.body, r.body_len), 0);
  hc_resp_free(&r);

  /* OpenMetrics when asked */
  assert_int_equal(
      fx_get(f.port, "/metrics",
             "application/openmetrics-text; version=1.0.0,text/plain;q=0.5",
             &r),
      200);
  assert_non_null(hc_header(&r, "Content-Type", ct, sizeof ct));
  assert_string_equal(ct, "application/openmetrics-text; version=1.0.0; "
                          "charset=utf-8");
  assert_true(r.body_len > 6);
  assert_string_equal(r.body + r.body_len - 6, "# EOF\n");
  assert_contains(r.body, "# TYPE roster_cache_hits counter\n");
  assert_contains(r.body, "roster_cache_hits_total{");
  hc_resp_free(&r);
  fx_teardown(&f);
}

int main(void) {
  if (system("command -v promtool >/dev/null 2>&1") != 0) {
    const char *req = getenv("ROSTER_TEST_REQUIRE_SERVERS");
    if (req && strcmp(req, "1") == 0) {
      fprintf(stderr, "promtool is missing, and ROSTER_TEST_REQUIRE_SERVERS=1: "
                      "install Debian's prometheus package "
                      "(scripts/deps.sh)\n");
      return 1;
    }
    fprintf(stderr, "skipping: promtool is missing (Debian's prometheus "
                    "package)\n");
    return 77;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_promtool),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
