/*
 * dashboard.c: the admin dashboard in a real browser. The endpoint runs on
 * the admin tests' registry (modules/admin/tests/admin_fixture.c: a
 * database, services, a scheduler with the job "tick", a logger) with a
 * token; dashboard.mjs drives headless Chromium through puppeteer-core.
 * When the script says "STOP", this side stops the service "ok" (a normal
 * exit) and logs a warning, which the page must show live; the script
 * then runs "tick" by its button, and this side checks the job ran. The
 * screenshot lands in the build directory (the test's artifact;
 * docs/dashboard.png is a copy of one).
 *
 * Skipped when node, puppeteer-core or chromium is missing, unless
 * ROSTER_TEST_REQUIRE_SERVERS=1, which makes it fail instead.
 * Usage: dashboard <tests/interop dir> <screenshot path>
 */
#include "testutil.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "admin_fixture.h"

extern char **environ;

static const char *interop_dir, *shot;

static bool peers_available(void) {
  static const char *const packages[] = {"puppeteer-core", NULL};
  const char *chromium = getenv("CHROMIUM");
  const char *tools[] = {chromium ? chromium : "/usr/bin/chromium", NULL};
  return roster__tu_peers_ok(interop_dir, packages, tools);
}

/* an application panel, as a discovery mirror would show itself */
static json_t *discovery_panel(void *arg) {
  (void)arg;
  return json_pack("{s:b,s:I,s:I}", "connected", 1, "revision",
                   (json_int_t)4242, "stale_ms", (json_int_t)17);
}

static void t_dashboard(void **state) {
  (void)state;
  if (!peers_available()) {
    skip();
    return;
  }
  fx f;
  fx_setup(&f, &(roster_admin_options){.token = "open-sesame-42",
                                       .stats_interval_ms = 300});
  assert_ok(roster_admin_panel(f.admin, "discovery", discovery_panel, NULL));
  char url[64], script[1200];
  snprintf(url, sizeof url, "http://127.0.0.1:%u/", f.port);
  snprintf(script, sizeof script, "%s/dashboard.mjs", interop_dir);
  int to_node[2], from_node[2];
  assert_int_equal(pipe(to_node), 0);
  assert_int_equal(pipe(from_node), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, to_node[0], 0);
  posix_spawn_file_actions_adddup2(&fa, from_node[1], 1);
  posix_spawn_file_actions_addclose(&fa, to_node[1]);
  posix_spawn_file_actions_addclose(&fa, from_node[0]);
  char *argv[] = {"node", script, url, "open-sesame-42", (char *)shot, NULL};
  pid_t pid;
  int err = posix_spawnp(&pid, "node", &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(to_node[0]);
  close(from_node[1]);
  if (err != 0) {
    print_error("cannot run node: %s\n", strerror(err));
    fail();
  }
  /* the script's lines: "STOP" (then we act), "OK <path>" at the end */
  FILE *in = fdopen(from_node[0], "r");
  char line[1400];
  bool stopped = false, ok = false;
  while (fgets(line, sizeof line, in)) {
    if (strncmp(line, "STOP", 4) == 0 && !stopped) {
      assert_ok(roster_service_exit(f.r, NULL, "ok", ROSTER_OK, NULL));
      assert_ok(
          roster_log_write(f.log, ROSTER_LOG_WARN, NULL, 0, "dashboard hello"));
      stopped = true;
      ssize_t w = write(to_node[1], "go\n", 3);
      assert_int_equal(w, 3);
    } else if (strncmp(line, "OK ", 3) == 0) {
      ok = true;
    }
  }
  fclose(in);
  close(to_node[1]);
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  assert_true(stopped);
  assert_true(ok);
  assert_true(access(shot, R_OK) == 0);
  /* the button ran the job here */
  assert_true(atomic_load(&f.job_runs) >= 1);
  roster_state s;
  assert_ok(roster_service_state(f.r, NULL, "ok", &s));
  assert_int_equal(s, ROSTER_STATE_STOPPED);
  fx_teardown(&f);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: dashboard <tests/interop dir> <screenshot>\n");
    return 2;
  }
  interop_dir = argv[1];
  shot = argv[2];
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {cmocka_unit_test(t_dashboard)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
