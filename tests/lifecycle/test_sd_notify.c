/*
 * test_sd_notify.c: roster_sd_notify against a real AF_UNIX datagram socket
 * (a filesystem path and a Linux abstract '@' name): the exact bytes arrive
 * as one datagram; nothing is sent and ROSTER_OK is returned when
 * NOTIFY_SOCKET is unset or empty; NULL or empty messages, relative and
 * over-long socket names are ROSTER_EINVAL; a socket that does not exist is
 * ROSTER_ESYS with the system's reason in the detail.
 */
#include "testutil.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

typedef struct sock {
  int fd;
  char path[108]; /* "" for an abstract socket */
} sock;

/* bind_path binds a datagram socket to a fresh path under /tmp and puts
 * that path into NOTIFY_SOCKET. */
static void bind_path(sock *s) {
  s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  assert_true(s->fd >= 0);
  char dir[] = "/tmp/roster-notify-XXXXXX";
  assert_non_null(mkdtemp(dir));
  snprintf(s->path, sizeof s->path, "%s/notify", dir);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", s->path);
  assert_int_equal(bind(s->fd, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(setenv("NOTIFY_SOCKET", s->path, 1), 0);
}

static void close_sock(sock *s) {
  close(s->fd);
  if (s->path[0]) {
    unlink(s->path);
    char *slash = strrchr(s->path, '/');
    *slash = '\0';
    rmdir(s->path);
  }
  unsetenv("NOTIFY_SOCKET");
}

/* recv_one waits (bounded) for one datagram; returns its length or -1. */
static ssize_t recv_one(int fd, char *buf, size_t cap, int timeout_ms) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  if (poll(&p, 1, timeout_ms) != 1)
    return -1;
  return recv(fd, buf, cap, MSG_DONTWAIT);
}

static void test_path_socket(void **state) {
  (void)state;
  sock s;
  bind_path(&s);
  assert_ok(roster_sd_notify("READY=1\nSTATUS=serving"));
  char buf[256];
  ssize_t n = recv_one(s.fd, buf, sizeof buf, 5000);
  assert_int_equal(n, strlen("READY=1\nSTATUS=serving"));
  assert_memory_equal(buf, "READY=1\nSTATUS=serving", (size_t)n);
  /* Two calls are two datagrams, not one stream. */
  assert_ok(roster_sd_notify("WATCHDOG=1"));
  assert_ok(roster_sd_notify("STOPPING=1"));
  n = recv_one(s.fd, buf, sizeof buf, 5000);
  assert_int_equal(n, strlen("WATCHDOG=1"));
  assert_memory_equal(buf, "WATCHDOG=1", (size_t)n);
  n = recv_one(s.fd, buf, sizeof buf, 5000);
  assert_int_equal(n, strlen("STOPPING=1"));
  assert_memory_equal(buf, "STOPPING=1", (size_t)n);
  close_sock(&s);
}

static void test_abstract_socket(void **state) {
  (void)state;
  sock s = {.path = ""};
  s.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  assert_true(s.fd >= 0);
  char name[64];
  int len =
      snprintf(name, sizeof name, "roster-test-notify-%ld", (long)getpid());
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  memcpy(sa.sun_path + 1, name, (size_t)len); /* sun_path[0] = '\0' */
  socklen_t alen =
      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)len);
  assert_int_equal(bind(s.fd, (struct sockaddr *)&sa, alen), 0);
  char env[80];
  snprintf(env, sizeof env, "@%s", name);
  assert_int_equal(setenv("NOTIFY_SOCKET", env, 1), 0);
  assert_ok(roster_sd_notify("STATUS=abstract"));
  char buf[64];
  ssize_t n = recv_one(s.fd, buf, sizeof buf, 5000);
  assert_int_equal(n, strlen("STATUS=abstract"));
  assert_memory_equal(buf, "STATUS=abstract", (size_t)n);
  /* The name is exact: a longer abstract name is another socket. */
  snprintf(env, sizeof env, "@%sx", name);
  assert_int_equal(setenv("NOTIFY_SOCKET", env, 1), 0);
  assert_rc(roster_sd_notify("STATUS=elsewhere"), ROSTER_ESYS);
  assert_int_equal(recv_one(s.fd, buf, sizeof buf, 0), -1);
  close_sock(&s);
}

static void test_unset_sends_nothing(void **state) {
  (void)state;
  sock s;
  bind_path(&s);
  unsetenv("NOTIFY_SOCKET");
  assert_ok(roster_sd_notify("READY=1"));
  assert_int_equal(setenv("NOTIFY_SOCKET", "", 1), 0);
  assert_ok(roster_sd_notify("READY=1"));
  char buf[64];
  assert_int_equal(recv_one(s.fd, buf, sizeof buf, 100), -1);
  close_sock(&s);
}

static void test_bad_message(void **state) {
  (void)state;
  sock s;
  bind_path(&s);
  assert_rc(roster_sd_notify(NULL), ROSTER_EINVAL);
  assert_rc(roster_sd_notify(""), ROSTER_EINVAL);
  /* Also without a socket: the argument is checked first. */
  unsetenv("NOTIFY_SOCKET");
  assert_rc(roster_sd_notify(NULL), ROSTER_EINVAL);
  char buf[64];
  assert_int_equal(recv_one(s.fd, buf, sizeof buf, 0), -1);
  close_sock(&s);
}

static void test_missing_socket(void **state) {
  (void)state;
  char dir[] = "/tmp/roster-notify-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[128];
  snprintf(path, sizeof path, "%s/nobody-listens", dir);
  assert_int_equal(setenv("NOTIFY_SOCKET", path, 1), 0);
  assert_rc(roster_sd_notify("READY=1"), ROSTER_ESYS);
  /* The detail carries the system's reason. */
  assert_non_null(strstr(roster_last_error(), strerror(ENOENT)));
  assert_non_null(strstr(roster_last_error(), "nobody-listens"));
  unsetenv("NOTIFY_SOCKET");
  rmdir(dir);
}

static void test_bad_address(void **state) {
  (void)state;
  char big[300];
  big[0] = '/';
  memset(big + 1, 'p', sizeof big - 2);
  big[sizeof big - 1] = '\0';
  assert_int_equal(setenv("NOTIFY_SOCKET", big, 1), 0);
  assert_rc(roster_sd_notify("READY=1"), ROSTER_EINVAL);
  /* Exactly sizeof sun_path bytes: too long for a path (no room for its
   * NUL), but the longest abstract name fits. */
  struct sockaddr_un sa;
  size_t max = sizeof sa.sun_path;
  big[max] = '\0';
  assert_int_equal(setenv("NOTIFY_SOCKET", big, 1), 0);
  assert_rc(roster_sd_notify("READY=1"), ROSTER_EINVAL);
  big[0] = '@';
  assert_int_equal(setenv("NOTIFY_SOCKET", big, 1), 0);
  assert_rc(roster_sd_notify("READY=1"), ROSTER_ESYS); /* valid, nobody there */
  big[max] = 'p';
  big[max + 1] = '\0';
  assert_int_equal(setenv("NOTIFY_SOCKET", big, 1), 0);
  assert_rc(roster_sd_notify("READY=1"), ROSTER_EINVAL);
  /* A relative path is not an address systemd would give. */
  assert_int_equal(setenv("NOTIFY_SOCKET", "relative/notify", 1), 0);
  assert_rc(roster_sd_notify("READY=1"), ROSTER_EINVAL);
  unsetenv("NOTIFY_SOCKET");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_path_socket),
      cmocka_unit_test(test_abstract_socket),
      cmocka_unit_test(test_unset_sends_nothing),
      cmocka_unit_test(test_bad_message),
      cmocka_unit_test(test_missing_socket),
      cmocka_unit_test(test_bad_address),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
