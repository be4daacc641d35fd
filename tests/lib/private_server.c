/*
 * private_server.c: servers of a test's own (see testutil.h), run with
 * scripts/services.sh start-one / stop-one from the source tree
 * (ROSTER_SOURCE_DIR).
 *
 * The guardian: a process forked before the server starts, holding the
 * read end of a pipe whose write end is close-on-exec and stays only in
 * the test process. Its read returns when the test process ends, however
 * it ends; it then stops the server and removes the directory.
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define SERVICES ROSTER_SOURCE_DIR "/scripts/services.sh"

int roster__tu_free_port(void) {
  for (int tries = 0; tries < 50; tries++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
      return -1;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
      port = ntohs(a.sin_port);
    close(fd);
    if (port > 0 && (port < 47000 || port >= 50000))
      return port;
  }
  return -1;
}

/* guard forks the guardian of s. The command is written before the fork,
 * so the child runs nothing but system calls until it execs. */
static int guard(const tu_private_server *s) {
  char cmd[1200];
  /* twice: a start-one that was running when this process died may have
   * launched its server since the first */
  snprintf(cmd, sizeof cmd,
           "'%s' stop-one '%s'; sleep 1; '%s' stop-one '%s'; rm -rf '%s'",
           SERVICES, s->dir, SERVICES, s->dir, s->top);
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0)
    return -1;
  pid_t pid = fork();
  if (pid < 0) {
    close(p[0]);
    close(p[1]);
    return -1;
  }
  if (pid == 0) {
    setsid();
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    for (int fd = 3; fd < 1024; fd++) /* other guardians' pipes, too */
      if (fd != p[0])
        close(fd);
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    char c;
    while (read(p[0], &c, 1) != 0) {
    }
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  close(p[0]); /* p[1] stays open until this process exits */
  return 0;
}

int roster__tu_private_open(tu_private_server *s, const char *kind,
                            const char *prefix) {
  memset(s, 0, sizeof *s);
  s->kind = kind;
  snprintf(s->top, sizeof s->top, "/tmp/%s-XXXXXX", prefix);
  if (!mkdtemp(s->top)) {
    print_error("private %s server: mkdtemp %s: %s\n", kind, s->top,
                strerror(errno));
    return -1;
  }
  if (chmod(s->top, 0755) != 0) { /* PostgreSQL's user goes in */
    print_error("private %s server: chmod %s: %s\n", kind, s->top,
                strerror(errno));
    return -1;
  }
  snprintf(s->dir, sizeof s->dir, "%s/%s", s->top, kind);
  if (guard(s) != 0) {
    print_error("private %s server: cannot fork the guardian: %s\n", kind,
                strerror(errno));
    return -1;
  }
  s->port = roster__tu_free_port();
  if (s->port <= 0) {
    print_error("private %s server: no free port\n", kind);
    return -1;
  }
  return roster__tu_private_start(s);
}

int roster__tu_private_start(tu_private_server *s) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "'%s' start-one %s '%s' %d 2>&1", SERVICES, s->kind,
           s->dir, s->port);
  FILE *f = popen(cmd, "r");
  if (!f)
    return -1;
  char line[512], last[512] = "";
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    if (*line)
      snprintf(last, sizeof last, "%s", line);
  }
  if (pclose(f) != 0) {
    print_error("services.sh start-one %s failed: %s\n", s->kind, last);
    return -1;
  }
  snprintf(s->url, sizeof s->url, "%s", last);
  s->up = true;
  return 0;
}

int roster__tu_private_stop(tu_private_server *s) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "'%s' stop-one '%s' >/dev/null 2>&1", SERVICES,
           s->dir);
  s->up = false;
  return system(cmd);
}

int roster__tu_private_close(tu_private_server *s) {
  roster__tu_private_stop(s);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->top);
  if (system(cmd) != 0) {
    print_error("private %s server: could not remove %s\n", s->kind, s->top);
    return -1;
  }
  return 0;
}
