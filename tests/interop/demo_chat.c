/*
 * demo_chat.c: roster-demo's realtime chat driven by the stock
 * socket.io-client (demo_chat.mjs). The demo runs with a fresh data
 * directory and a free port; the script checks what the clients see
 * (messages in the right room only, the history through the cache, the
 * cron job's summary in lobby only); this side checks that the page is
 * served, that the demo shuts down cleanly on SIGTERM, and that the
 * message reached SQLite.
 *
 * Skipped when node or socket.io-client is missing, unless
 * ROSTER_TEST_REQUIRE_SERVERS=1, which makes it fail instead.
 * Usage: demo_chat <roster-demo> <tests/interop dir> <scratch dir>
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <roster/db.h>
#include <roster/sqlite.h>

extern char **environ;

static const char *demo, *interop_dir, *work;

static bool peers_available(void) {
  static const char *const packages[] = {"socket.io-client", NULL};
  return roster__tu_peers_ok(interop_dir, packages, NULL);
}

/* read_until reads fd into buf until it holds want (or ms pass). */
static bool read_until(int fd, char *buf, size_t cap, size_t *len,
                       const char *want, int ms) {
  uint64_t end = roster__tu_now_ns() + (uint64_t)ms * 1000000u;
  while (!strstr(buf, want) && roster__tu_now_ns() < end) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 100) <= 0)
      continue;
    ssize_t n = read(fd, buf + *len, cap - 1 - *len);
    if (n <= 0)
      return false;
    *len += (size_t)n;
    buf[*len] = '\0';
  }
  return strstr(buf, want) != NULL;
}

static void t_chat(void **state) {
  (void)state;
  if (!peers_available()) {
    skip();
    return;
  }
  char data[1100], port_env[64], data_env[1200];
  snprintf(data, sizeof data, "%s", work);
  mkdir(data, 0755);
  char db_path[1200];
  snprintf(db_path, sizeof db_path, "%s/roster-demo.db", data);
  unlink(db_path);
  int fp = roster__tu_free_port();
  assert_true(fp > 0);
  uint16_t port = (uint16_t)fp;
  snprintf(port_env, sizeof port_env, "DEMO_CHAT__PORT=%u", port);
  snprintf(data_env, sizeof data_env, "DEMO_DATA_DIR=%s", data);
  int out[2];
  assert_int_equal(pipe(out), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addclose(&fa, out[0]);
  /* the demo's environment: ours, without service URLs that would take
   * it elsewhere, with the port, the data directory and a long run */
  const char *add[] = {port_env, data_env, "DEMO_SECONDS=60",
                       "DEMO_ADMIN__PORT=0", NULL};
  char **env = roster__tu_env_with("DEMO_", add);
  char *argv[] = {(char *)demo, NULL};
  pid_t pid;
  assert_int_equal(posix_spawn(&pid, demo, &fa, NULL, argv, env), 0);
  posix_spawn_file_actions_destroy(&fa);
  close(out[1]);
  static char buf[1 << 20];
  size_t len = 0;
  buf[0] = '\0';
  char want[96];
  snprintf(want, sizeof want, "start chat: open http://127.0.0.1:%u/", port);
  bool up = read_until(out[0], buf, sizeof buf, &len, want, 30000);
  if (!up) {
    kill(pid, SIGKILL);
    print_error("the demo never said \"%s\"; it printed:\n%s\n", want, buf);
    fail();
  }
  /* the page */
  char url[64], script[1200];
  snprintf(url, sizeof url, "http://127.0.0.1:%u", port);
  snprintf(script, sizeof script, "%s/demo_chat.mjs", interop_dir);
  char *nargv[] = {"node", script, url, NULL};
  pid_t npid;
  assert_int_equal(posix_spawnp(&npid, "node", NULL, NULL, nargv, environ), 0);
  int st, nst;
  while (waitpid(npid, &nst, 0) < 0 && errno == EINTR)
    ;
  if (!WIFEXITED(nst) || WEXITSTATUS(nst) != 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    print_error("demo_chat.mjs failed; the demo printed:\n%s\n", buf);
    fail();
  }
  /* a clean stop on SIGTERM */
  kill(pid, SIGTERM);
  read_until(out[0], buf, sizeof buf, &len, "demo: clean shutdown", 30000);
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  close(out[0]);
  free(env);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    print_error("the demo printed:\n%s\n", buf);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  assert_contains(buf, "stop chat (1 messages said");
  /* the message is in SQLite */
  assert_ok(roster_sqlite_init());
  char dburl[1300];
  snprintf(dburl, sizeof dburl, "sqlite://%s", db_path);
  roster_db *db = NULL;
  assert_ok(roster_db_open(dburl, NULL, &db));
  roster_db_result *res = NULL;
  assert_ok(roster_db_query(db,
                            "SELECT COUNT(*) FROM demo_messages WHERE room = "
                            "'lobby' AND who = 'A' AND text LIKE 'hello "
                            "from A %'",
                            NULL, 0, &res));
  int64_t count = 0;
  assert_true(roster_db_next(res) > 0);
  assert_ok(roster_db_get_int(res, 0, &count));
  assert_int_equal(count, 1);
  roster_db_result_free(res);
  roster_db_free(db);
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: demo_chat <roster-demo> <tests/interop dir> "
                    "<scratch dir>\n");
    return 2;
  }
  demo = argv[1];
  interop_dir = argv[2];
  work = argv[3];
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {cmocka_unit_test(t_chat)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
