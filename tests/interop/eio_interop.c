/*
 * eio_interop.c: the real engine.io-client (npm, 6.6, from socket.io-client
 * 4.8 in tests/interop) against the socketio module's Engine.IO server:
 * eio_interop.mjs connects over polling only, WebSocket only, and polling
 * then upgrade; this side sends "hello" and the bytes 1 2 3 on open,
 * echoes every message, and checks what came in and how each session
 * ended.
 *
 * Skipped when node or engine.io-client is missing, unless
 * ROSTER_TEST_REQUIRE_SERVERS=1 (as in scripts/test.sh), which makes it
 * fail instead.
 */
#include "testutil.h"

#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "eio_server.h"

extern char **environ;

static char interop_dir[1024];
static tu_log g_log;

static bool peers_available(void) {
  static const char *const packages[] = {"engine.io-client", NULL};
  return roster__tu_peers_ok(interop_dir, packages, NULL);
}

/* on_open: I/O thread. */
static void on_open(roster__eio_session *s, void *arg) {
  (void)arg;
  assert_ok(roster__eio_send(s, "hello", 5, false));
  assert_ok(roster__eio_send(s, "\x01\x02\x03", 3, true));
}

/* on_message: I/O thread; echoes. */
static void on_message(roster__eio_session *s, const void *data, size_t len,
                       bool binary, void *arg) {
  (void)arg;
  roster__tu_log_add(&g_log, "%s:%s:%zu", roster__eio_session_transport(s),
                     binary ? "b" : "t", len);
  assert_ok(roster__eio_send(s, data, len, binary));
}

static void on_close(roster__eio_session *s, const char *reason, void *arg) {
  (void)arg;
  roster__tu_log_add(&g_log, "close:%s:%s", roster__eio_session_transport(s),
                     reason);
}

static void t_engine_io_client(void **state) {
  (void)state;
  if (!peers_available()) {
    skip();
    return;
  }
  roster__tu_log_init(&g_log);
  roster_httpd *h;
  roster__eio_server *e;
  assert_ok(roster_httpd_new(NULL, &h));
  assert_ok(roster__eio_server_new(h,
                                   &(roster__eio_options){
                                       .on_open = on_open,
                                       .on_message = on_message,
                                       .on_close = on_close,
                                   },
                                   &e));
  assert_ok(roster_httpd_start(h));
  char url[64], script[1200];
  snprintf(url, sizeof url, "http://127.0.0.1:%u",
           (unsigned)roster_httpd_port(h));
  snprintf(script, sizeof script, "%s/eio_interop.mjs", interop_dir);
  char *argv[] = {"node", script, url, NULL};
  pid_t pid;
  int err = posix_spawnp(&pid, "node", NULL, NULL, argv, environ);
  if (err != 0) {
    print_error("cannot run node: %s\n", strerror(err));
    fail();
  }
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  /* "text from polling é": 20 bytes, "text from websocket é" 22, "text
   * from upgrade é" 20 (after the upgrade, so over the WebSocket) */
  tu_wait_until(
      roster__tu_log_count(&g_log, "close:websocket:transport close") == 2,
      3000);
  assert_int_equal(roster__tu_log_count(&g_log, "polling:t:20"), 1);
  assert_int_equal(roster__tu_log_count(&g_log, "polling:b:4"), 1);
  assert_int_equal(roster__tu_log_count(&g_log, "polling:t:100000"), 1);
  assert_int_equal(roster__tu_log_count(&g_log, "websocket:t:22"), 1);
  assert_int_equal(roster__tu_log_count(&g_log, "websocket:t:20"), 1);
  assert_int_equal(roster__tu_log_count(&g_log, "websocket:b:4"), 2);
  assert_int_equal(roster__tu_log_count(&g_log, "websocket:t:100000"), 2);
  assert_int_equal(
      roster__tu_log_count(&g_log, "close:polling:transport close"), 1);
  assert_int_equal(
      roster__tu_log_count(&g_log, "close:websocket:transport close"), 2);
  assert_int_equal(roster__eio_sessions(e), 0);
  assert_ok(roster_httpd_stop(h, 1000));
  roster__eio_server_free(e);
  roster_httpd_free(h);
  roster__tu_log_fini(&g_log);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: eio_interop <tests/interop dir>\n");
    return 2;
  }
  snprintf(interop_dir, sizeof interop_dir, "%s", argv[1]);
  const struct CMUnitTest tests[] = {cmocka_unit_test(t_engine_io_client)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
