/*
 * test_run.c: roster_run as a program's main loop, in a fork()ed child.
 *
 * Each test forks first: the child makes a registry with two services ("b"
 * depends on "a") whose create and destroy write lines ("start a", "stop
 * b") to a pipe, points NOTIFY_SOCKET at a datagram socket the parent
 * bound, and calls roster_run; it writes what roster_run returned and exits
 * with a status the parent checks. The parent plays systemd: it waits for
 * READY=1 (and WATCHDOG=1), sends signals, and asserts on the exit status,
 * the lines and the notify messages.
 *
 * The parent never makes a roster (or any thread) before forking, so the
 * child is the child of a single-threaded process: ThreadSanitizer supports
 * that, and these tests run under it too (unlike test_fork.c's).
 * The child never runs cmocka asserts; it only reports.
 */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MS 20000 /* generous bound for anything the parent waits for */

/* ---- the child ---------------------------------------------------- */

enum mode { M_CLEAN, M_FORCE, M_CANCEL, M_START_FAIL, M_STOP_TIMEOUT };

static int lines_fd = -1; /* the child's write end */

static void line(const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  if ((size_t)n > sizeof buf - 2)
    n = (int)sizeof buf - 2;
  buf[n++] = '\n';
  ssize_t w = write(lines_fd, buf, (size_t)n); /* <= PIPE_BUF: atomic */
  (void)w;
}

typedef struct svc {
  const char *name;
  roster *r;
  bool fail;       /* create fails with ROSTER_EIO */
  bool hang;       /* destroy never returns */
  bool check_busy; /* create calls roster_run (must be ROSTER_EBUSY) */
} svc;

static int svc_create(void *arg, const roster_deps *deps, void **out) {
  (void)deps;
  svc *s = arg;
  if (s->fail) {
    line("fail %s", s->name);
    return roster_error_set(ROSTER_EIO, "disk on fire under %s", s->name);
  }
  line("start %s", s->name);
  if (s->check_busy)
    line("busy %d", roster_run(s->r, NULL) == ROSTER_EBUSY);
  *out = s;
  return ROSTER_OK;
}

static void svc_destroy(void *arg, void *instance) {
  (void)instance;
  svc *s = arg;
  line("stop %s", s->name);
  while (s->hang)
    sleep(1000);
}

static const roster_type svc_type = {.name = "svc"};

static void marker_handler(int signo) { (void)signo; }

static int count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d)
    return -1;
  int n = 0;
  while (readdir(d))
    n++;
  closedir(d);
  return n;
}

static bool handlers_are_markers(void) {
  struct sigaction cur;
  return sigaction(SIGTERM, NULL, &cur) == 0 &&
         cur.sa_handler == marker_handler &&
         sigaction(SIGINT, NULL, &cur) == 0 && cur.sa_handler == marker_handler;
}

static int child_main(enum mode mode, const char *notify_path) {
  setenv("NOTIFY_SOCKET", notify_path, 1);
  setenv("WATCHDOG_USEC", "200000", 1);
  if (mode == M_CANCEL)
    setenv("WATCHDOG_PID", "1", 1); /* not us: no watchdog */
  else
    unsetenv("WATCHDOG_PID");
  /* Handlers that roster_run must put back. */
  struct sigaction mk;
  memset(&mk, 0, sizeof mk);
  mk.sa_handler = marker_handler;
  sigemptyset(&mk.sa_mask);
  sigaction(SIGTERM, &mk, NULL);
  sigaction(SIGINT, &mk, NULL);

  roster *r = tu_registry(NULL);
  if (!r)
    return 90;
  static svc a = {.name = "a"}, b = {.name = "b"};
  a.r = b.r = r;
  a.fail = mode == M_START_FAIL;
  b.hang = mode == M_FORCE || mode == M_CANCEL || mode == M_STOP_TIMEOUT;
  b.check_busy = mode == M_CLEAN;
  static const char *const b_deps[] = {"a", NULL};
  roster_provider pb = {.type = &svc_type,
                        .create = svc_create,
                        .destroy = svc_destroy,
                        .arg = &b,
                        .deps = b_deps,
                        .stop_timeout_ms = 600000};
  if (mode == M_STOP_TIMEOUT)
    pb.stop_timeout_ms = 200; /* b's destroy is abandoned */
  roster_provider pa = {.type = &svc_type,
                        .create = svc_create,
                        .destroy = svc_destroy,
                        .arg = &a,
                        .stop_timeout_ms = 600000};
  /* b first: the order comes from the dependency, not declaration. */
  if (roster_provide(r, NULL, "b", &pb) != ROSTER_OK)
    return 91;
  if (roster_provide(r, NULL, "a", &pa) != ROSTER_OK)
    return 92;

  int fds_before = count_fds();
  roster_run_options o = {.status = "serving",
                          .no_force_exit = mode == M_CANCEL,
                          .shutdown_deadline_ms = 600000};
  int rc = roster_run(r, &o);
  line("rc %s", roster_err_name(rc));
  line("restored %d", handlers_are_markers());
  switch (mode) {
  case M_CLEAN:
    line("fds same %d", count_fds() == fds_before);
    return rc == ROSTER_OK ? 0 : 100 - rc;
  case M_CANCEL:
    line("detail %d", strstr(roster_last_error(), "signal") != NULL);
    return rc == ROSTER_ECANCELED ? 42 : 100 - rc;
  case M_START_FAIL:
    line("detail %d", strstr(roster_last_error(), "disk on fire") != NULL);
    line("fds same %d", count_fds() == fds_before);
    return rc < 0 ? -rc : 99;
  case M_STOP_TIMEOUT:
    /* The detail was made on the shutdown thread and carried over. */
    line("detail: %s", roster_last_error());
    return rc < 0 ? -rc : 99;
  case M_FORCE:
    return 98; /* roster_run must not return */
  }
  return 97;
}

/* ---- the parent --------------------------------------------------- */

typedef struct run_ctx {
  pid_t pid;
  int sock; /* the notify socket */
  char dir[64], path[108];
  int lines_rd;       /* read end of the child's lines */
  int err_rd;         /* read end of the child's stderr */
  char msgs[64][256]; /* notify datagrams, in order */
  int nmsgs;
  bool exited;
  int status;
  char lines[4096];
  char err[4096];
} run_ctx;

static run_ctx ctx;

static void spawn(enum mode mode) {
  memset(&ctx, 0, sizeof ctx);
  snprintf(ctx.dir, sizeof ctx.dir, "/tmp/roster-run-XXXXXX");
  assert_non_null(mkdtemp(ctx.dir));
  snprintf(ctx.path, sizeof ctx.path, "%s/notify", ctx.dir);
  ctx.sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  assert_true(ctx.sock >= 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", ctx.path);
  assert_int_equal(bind(ctx.sock, (struct sockaddr *)&sa, sizeof sa), 0);
  int lp[2], ep[2];
  assert_int_equal(pipe(lp), 0);
  assert_int_equal(pipe(ep), 0);
  fflush(NULL);
  ctx.pid = fork();
  assert_true(ctx.pid >= 0);
  if (ctx.pid == 0) {
    /* cmocka catches crash signals and longjmps into its runner; in the
     * child that would run the rest of the suite. Crash for real. */
    signal(SIGSEGV, SIG_DFL);
    signal(SIGABRT, SIG_DFL);
    signal(SIGBUS, SIG_DFL);
    signal(SIGILL, SIG_DFL);
    signal(SIGFPE, SIG_DFL);
    close(lp[0]);
    close(ep[0]);
    close(ctx.sock);
    dup2(ep[1], STDERR_FILENO);
    close(ep[1]);
    lines_fd = lp[1];
    _exit(child_main(mode, ctx.path));
  }
  close(lp[1]);
  close(ep[1]);
  ctx.lines_rd = lp[0];
  ctx.err_rd = ep[0];
}

static void take_msg(void) {
  char buf[256];
  ssize_t n = recv(ctx.sock, buf, sizeof buf - 1, MSG_DONTWAIT);
  if (n < 0 || ctx.nmsgs >= 64)
    return;
  buf[n] = '\0';
  memcpy(ctx.msgs[ctx.nmsgs++], buf, (size_t)n + 1);
}

static void reap(int flags) {
  if (ctx.exited)
    return;
  int st;
  if (waitpid(ctx.pid, &st, flags) == ctx.pid) {
    ctx.exited = true;
    ctx.status = st;
  }
}

/* has_msg: index of the first datagram from `from` containing needle. */
static int has_msg(const char *needle, int from) {
  for (int i = from; i < ctx.nmsgs; i++)
    if (strstr(ctx.msgs[i], needle))
      return i;
  return -1;
}

static int count_msgs(const char *exact) {
  int n = 0;
  for (int i = 0; i < ctx.nmsgs; i++)
    n += strcmp(ctx.msgs[i], exact) == 0;
  return n;
}

/* wait_msg waits (bounded) until a datagram containing needle came;
 * gives up early if the child exits. */
static bool wait_msg(const char *needle) {
  uint64_t end = roster__tu_now_ns() + (uint64_t)WAIT_MS * 1000000u;
  while (has_msg(needle, 0) < 0) {
    if (ctx.exited || roster__tu_now_ns() > end)
      return false;
    struct pollfd p = {.fd = ctx.sock, .events = POLLIN};
    if (poll(&p, 1, 50) == 1)
      take_msg();
    reap(WNOHANG);
  }
  return true;
}

static void read_all(int fd, char *buf, size_t cap) {
  size_t o = 0;
  ssize_t n;
  while (o + 1 < cap && (n = read(fd, buf + o, cap - 1 - o)) > 0)
    o += (size_t)n;
  buf[o] = '\0';
}

/* finish waits (bounded) for the child, then collects everything it left.
 * A child still alive after WAIT_MS is killed and the test fails. */
static void finish(void) {
  uint64_t end = roster__tu_now_ns() + (uint64_t)WAIT_MS * 1000000u;
  while (!ctx.exited && roster__tu_now_ns() < end) {
    struct pollfd p = {.fd = ctx.sock, .events = POLLIN};
    if (poll(&p, 1, 20) == 1)
      take_msg();
    reap(WNOHANG);
  }
  bool hung = !ctx.exited;
  if (hung) {
    kill(ctx.pid, SIGKILL);
    reap(0);
  }
  for (;;) {
    int before = ctx.nmsgs;
    take_msg();
    if (ctx.nmsgs == before)
      break;
  }
  read_all(ctx.lines_rd, ctx.lines, sizeof ctx.lines);
  read_all(ctx.err_rd, ctx.err, sizeof ctx.err);
  close(ctx.lines_rd);
  close(ctx.err_rd);
  close(ctx.sock);
  unlink(ctx.path);
  rmdir(ctx.dir);
  print_message("child lines:\n%s", ctx.lines);
  if (ctx.err[0])
    print_message("child stderr:\n%s", ctx.err);
  for (int i = 0; i < ctx.nmsgs; i++)
    print_message("notify[%d]: %s\n", i, ctx.msgs[i]);
  if (WIFSIGNALED(ctx.status))
    print_error("child killed by signal %d\n", WTERMSIG(ctx.status));
  assert_false(hung);
}

static void test_clean_run(void **state) {
  (void)state;
  spawn(M_CLEAN);
  assert_true(wait_msg("READY=1"));
  assert_true(wait_msg("WATCHDOG=1")); /* WATCHDOG_USEC=200000: every 0.1 s */
  assert_int_equal(kill(ctx.pid, SIGTERM), 0);
  finish();
  assert_true(WIFEXITED(ctx.status));
  assert_int_equal(WEXITSTATUS(ctx.status), 0);
  /* Starts in dependency order, stops in reverse, nothing else. */
  assert_string_equal(ctx.lines, "start a\nstart b\nbusy 1\nstop b\nstop a\n"
                                 "rc OK\nrestored 1\nfds same 1\n");
  int ready = has_msg("READY=1", 0);
  assert_true(ready >= 0);
  assert_string_equal(ctx.msgs[ready], "READY=1\nSTATUS=serving");
  assert_true(count_msgs("WATCHDOG=1") >= 1);
  assert_true(has_msg("WATCHDOG=1", ready) > ready);
  assert_true(has_msg("STOPPING=1", ready) > ready);
  assert_int_equal(count_msgs("STOPPING=1"), 1);
  assert_string_equal(ctx.err, "");
}

static void test_second_signal_forces_exit(void **state) {
  (void)state;
  spawn(M_FORCE);
  assert_true(wait_msg("READY=1"));
  assert_int_equal(kill(ctx.pid, SIGTERM), 0);
  assert_true(wait_msg("STOPPING=1"));
  assert_int_equal(kill(ctx.pid, SIGINT), 0);
  finish();
  assert_true(WIFEXITED(ctx.status));
  assert_int_equal(WEXITSTATUS(ctx.status), 128 + SIGINT);
  assert_non_null(strstr(ctx.lines, "start a\nstart b\n"));
  assert_null(strstr(ctx.lines, "rc "));    /* roster_run never returned */
  assert_null(strstr(ctx.lines, "stop a")); /* b's destroy hangs */
  assert_non_null(strstr(ctx.err, "exiting"));
}

static void test_second_signal_cancels(void **state) {
  (void)state;
  spawn(M_CANCEL);
  assert_true(wait_msg("READY=1"));
  /* WATCHDOG_PID names another process: no WATCHDOG=1 in 0.4 s (it would
   * be ~4 at the 0.1 s interval). */
  struct timespec ts = {0, 400000000};
  nanosleep(&ts, NULL);
  assert_int_equal(kill(ctx.pid, SIGTERM), 0);
  assert_true(wait_msg("STOPPING=1"));
  assert_int_equal(kill(ctx.pid, SIGINT), 0);
  finish();
  assert_true(WIFEXITED(ctx.status));
  assert_int_equal(WEXITSTATUS(ctx.status), 42);
  /* Separately: the shutdown thread's "stop b" may come in between. */
  assert_non_null(strstr(ctx.lines, "rc ECANCELED\n"));
  assert_non_null(strstr(ctx.lines, "restored 1\n"));
  assert_non_null(strstr(ctx.lines, "detail 1\n"));
  assert_null(strstr(ctx.lines, "stop a")); /* b's destroy still hangs */
  assert_int_equal(count_msgs("WATCHDOG=1"), 0);
  assert_int_equal(count_msgs("STOPPING=1"), 1);
}

static void test_start_failure(void **state) {
  (void)state;
  spawn(M_START_FAIL);
  finish();
  assert_true(WIFEXITED(ctx.status));
  assert_int_equal(WEXITSTATUS(ctx.status), -ROSTER_EIO);
  assert_string_equal(ctx.lines, "fail a\nrc EIO\nrestored 1\ndetail 1\n"
                                 "fds same 1\n");
  assert_int_equal(has_msg("READY=1", 0), -1);
  int st = has_msg("STATUS=start failed: ", 0);
  assert_true(st >= 0);
  assert_ptr_equal(strstr(ctx.msgs[st], "STATUS=start failed: "), ctx.msgs[st]);
  assert_non_null(strstr(ctx.msgs[st], "disk on fire"));
}

static void test_shutdown_error(void **state) {
  (void)state;
  spawn(M_STOP_TIMEOUT);
  assert_true(wait_msg("READY=1"));
  assert_int_equal(kill(ctx.pid, SIGTERM), 0);
  finish();
  assert_true(WIFEXITED(ctx.status));
  assert_int_equal(WEXITSTATUS(ctx.status), -ROSTER_ETIMEDOUT);
  /* b is abandoned, a is stopped anyway, and the error names b. */
  char *stop_b = strstr(ctx.lines, "stop b\n");
  char *stop_a = strstr(ctx.lines, "stop a\n");
  char *ret = strstr(ctx.lines, "rc ETIMEDOUT\n");
  assert_non_null(stop_b);
  assert_non_null(stop_a);
  assert_non_null(ret);
  assert_true(stop_a < ret); /* a stopped before roster_run returned */
  char *d = strstr(ctx.lines, "detail: ");
  assert_non_null(d);
  assert_non_null(strstr(d, "'b'"));
  assert_int_equal(count_msgs("STOPPING=1"), 1);
  /* The watchdog is petted while shutting down: the shutdown takes at
   * least b's 200 ms and the interval is 100 ms. */
  int stopping = has_msg("STOPPING=1", 0);
  assert_true(has_msg("WATCHDOG=1", stopping) > stopping);
}

static void test_null_registry(void **state) {
  (void)state;
  assert_rc(roster_run(NULL, NULL), ROSTER_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_clean_run),
      cmocka_unit_test(test_second_signal_forces_exit),
      cmocka_unit_test(test_second_signal_cancels),
      cmocka_unit_test(test_start_failure),
      cmocka_unit_test(test_shutdown_error),
      cmocka_unit_test(test_null_registry),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
