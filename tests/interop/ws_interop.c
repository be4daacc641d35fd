/*
 * ws_interop.c: Node's `ws` client (npm, 8.18, tests/interop) against the
 * httpd module: ws_interop.mjs echoes text, binary, empty, large and
 * fragmented messages, pings, sees the server's close (4001 "bye"), closes
 * with its own code (4002, checked here in on_close), and is refused for
 * a foreign Origin (403).
 *
 * Skipped when node or the ws package is missing, unless
 * ROSTER_TEST_REQUIRE_SERVERS=1 (as in scripts/test.sh), which makes it
 * fail instead.
 */
#include "testutil.h"

#include <errno.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <roster/httpd.h>

extern char **environ;

static char interop_dir[1024];
static atomic_int g_code_4002, g_code_4001, g_closes;

static bool peers_available(void) {
  static const char *const packages[] = {"ws", NULL};
  return roster__tu_peers_ok(interop_dir, packages, NULL);
}

static void on_message(roster_httpd_ws *ws, roster_httpd_ws_kind kind,
                       const void *data, size_t len, void *arg) {
  (void)arg;
  if (len == 8 && memcmp(data, "close-me", 8) == 0)
    assert_ok(roster_httpd_ws_close(ws, 4001, "bye"));
  else
    assert_ok(roster_httpd_ws_send(ws, kind, data, len));
}

static void on_close(roster_httpd_ws *ws, int code, const char *reason,
                     void *arg) {
  (void)ws;
  (void)arg;
  if (code == 4002 && strcmp(reason, "client bye") == 0)
    atomic_fetch_add(&g_code_4002, 1);
  if (code == 4001)
    atomic_fetch_add(&g_code_4001, 1);
  atomic_fetch_add(&g_closes, 1);
}

static void t_node_ws(void **state) {
  (void)state;
  if (!peers_available()) {
    skip();
    return;
  }
  roster_httpd *s;
  assert_ok(roster_httpd_new(NULL, &s));
  assert_ok(roster_httpd_ws_route(
      s, &(roster_httpd_ws_route_options){
             .path = "/ws", .on_message = on_message, .on_close = on_close}));
  assert_ok(roster_httpd_start(s));
  char url[64], script[1200];
  snprintf(url, sizeof url, "ws://127.0.0.1:%u/ws",
           (unsigned)roster_httpd_port(s));
  snprintf(script, sizeof script, "%s/ws_interop.mjs", interop_dir);
  char *argv[] = {"node", script, url, NULL};
  pid_t pid;
  int e = posix_spawnp(&pid, "node", NULL, NULL, argv, environ);
  if (e != 0) {
    print_error("cannot run node: %s\n", strerror(e));
    fail();
  }
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  tu_wait_until(atomic_load(&g_closes) == 2, 3000);
  assert_int_equal(atomic_load(&g_code_4001), 1);
  assert_int_equal(atomic_load(&g_code_4002), 1);
  roster_httpd_stats stats;
  assert_ok(roster_httpd_stats_get(s, &stats));
  assert_int_equal(stats.ws_messages_in, 8); /* 6 cases, fragments, close-me */
  assert_int_equal(stats.bad_requests, 1);   /* the foreign Origin */
  roster_httpd_free(s);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: ws_interop <tests/interop dir>\n");
    return 2;
  }
  snprintf(interop_dir, sizeof interop_dir, "%s", argv[1]);
  const struct CMUnitTest tests[] = {cmocka_unit_test(t_node_ws)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
