/*
 * log_sink.c: the sinks: opening and closing them, writing one line (sync
 * mode) or a batch of lines (the async writer), and reopening files.
 *
 * File descriptors are written with write(2) in a loop (short writes,
 * EINTR, and EAGAIN on a non-blocking descriptor, which waits in poll).
 * A file is opened O_APPEND, so one write of whole lines never splits a
 * line between writers. Reopen opens the path again and dup3()s the new
 * file onto the sink's descriptor number: a concurrent write goes either to
 * the old file or to the new one, never to a closed or reused descriptor.
 */
#include "log_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

static int write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w > 0) {
      p += w;
      n -= (size_t)w;
      continue;
    }
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      struct pollfd pf = {.fd = fd, .events = POLLOUT};
      if (poll(&pf, 1, -1) < 0 && errno != EINTR)
        return -1;
      continue;
    }
    if (w == 0)
      errno = EIO;
    return -1;
  }
  return 0;
}

static int open_file(const char *path) {
  return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
}

static bool sink_level_ok(int level) {
  return level == 0 || level == ROSTER_LOG_SILENT || rl_level_valid(level);
}

rl_sink *roster__log_sink_open(const roster_log_sink *d) {
  if (!sink_level_ok(d->level)) {
    roster_error_set(ROSTER_EINVAL,
                     "log sink: level %d is not a level (0 = every line, "
                     "10 trace ... 60 fatal, 100 silent)",
                     d->level);
    return NULL;
  }
  switch (d->kind) {
  case ROSTER_LOG_SINK_STDOUT:
  case ROSTER_LOG_SINK_STDERR:
  case ROSTER_LOG_SINK_JOURNALD:
    break;
  case ROSTER_LOG_SINK_FILE:
    if (!d->path || !d->path[0]) {
      roster_error_set(ROSTER_EINVAL, "log sink: a file sink needs a path");
      return NULL;
    }
    break;
  case ROSTER_LOG_SINK_FD:
    if (d->fd < 0) {
      roster_error_set(ROSTER_EINVAL,
                       "log sink: fd %d is not a file "
                       "descriptor",
                       d->fd);
      return NULL;
    }
    break;
  case ROSTER_LOG_SINK_CALLBACK:
    if (!d->fn) {
      roster_error_set(ROSTER_EINVAL, "log sink: a callback sink needs fn");
      return NULL;
    }
    break;
  default:
    roster_error_set(ROSTER_EINVAL, "log sink: kind %d is not a sink kind",
                     (int)d->kind);
    return NULL;
  }
  rl_sink *s = roster_mem_calloc(1, sizeof *s);
  if (!s) {
    roster_error_set(ROSTER_ENOMEM, "log sink: out of memory");
    return NULL;
  }
  s->kind = d->kind;
  s->level = d->level;
  s->fd = -1;
  switch (d->kind) {
  case ROSTER_LOG_SINK_STDOUT:
    s->fd = STDOUT_FILENO;
    break;
  case ROSTER_LOG_SINK_STDERR:
    s->fd = STDERR_FILENO;
    break;
  case ROSTER_LOG_SINK_FD:
    s->fd = d->fd;
    break;
  case ROSTER_LOG_SINK_FILE:
    s->path = roster_mem_strdup(d->path);
    if (!s->path) {
      roster_mem_free(s);
      roster_error_set(ROSTER_ENOMEM, "log sink: out of memory");
      return NULL;
    }
    s->fd = open_file(d->path);
    if (s->fd < 0) {
      roster_error_set(ROSTER_ESYS, "log sink: cannot open log file '%s': %s",
                       d->path, strerror(errno));
      roster_mem_free(s->path);
      roster_mem_free(s);
      return NULL;
    }
    break;
  case ROSTER_LOG_SINK_CALLBACK:
    s->fn = d->fn;
    s->arg = d->arg;
    s->free_arg = d->free_arg;
    break;
  case ROSTER_LOG_SINK_JOURNALD:
    if (roster__log_journald_open(s, d->path) != ROSTER_OK) {
      roster_mem_free(s);
      return NULL;
    }
    break;
  }
  return s;
}

void roster__log_sink_close(rl_sink *s) {
  if (!s)
    return;
  if ((s->kind == ROSTER_LOG_SINK_FILE ||
       s->kind == ROSTER_LOG_SINK_JOURNALD) &&
      s->fd >= 0)
    close(s->fd);
  if (s->free_arg)
    s->free_arg(s->arg);
  roster_mem_free(s->path);
  roster_mem_free(s->batch);
  roster_mem_free(s);
}

static bool is_fd_sink(const rl_sink *s) {
  return s->kind == ROSTER_LOG_SINK_STDOUT ||
         s->kind == ROSTER_LOG_SINK_STDERR || s->kind == ROSTER_LOG_SINK_FILE ||
         s->kind == ROSTER_LOG_SINK_FD;
}

int roster__log_sink_line(rl_sink *s, int level, char *line, size_t len) {
  if (is_fd_sink(s))
    return write_all(s->fd, line, len);
  if (s->kind == ROSTER_LOG_SINK_CALLBACK) {
    line[len - 1] = '\0';
    s->fn(level, line, len - 1, s->arg);
    line[len - 1] = '\n';
    return 0;
  }
  return roster__log_journald_send(s, level, line, len - 1);
}

int roster__log_sink_flush_batch(rl_sink *s) {
  if (!s->blen)
    return 0;
  int rc = write_all(s->fd, s->batch, s->blen);
  s->blen = 0;
  return rc;
}

int roster__log_sink_batch_line(rl_sink *s, int level, char *line, size_t len) {
  if (!is_fd_sink(s))
    return roster__log_sink_line(s, level, line, len);
  if (!s->batch) {
    s->batch = roster_mem_alloc(RL_BATCH);
    if (!s->batch)
      return write_all(s->fd, line, len);
  }
  int rc = 0;
  if (s->blen + len > RL_BATCH)
    rc = roster__log_sink_flush_batch(s);
  if (len > RL_BATCH)
    return write_all(s->fd, line, len) | rc;
  memcpy(s->batch + s->blen, line, len);
  s->blen += len;
  return rc;
}

int roster__log_sink_reopen(rl_sink *s) {
  int nfd = open_file(s->path);
  if (nfd < 0)
    return roster_error_set(ROSTER_ESYS,
                            "log: cannot reopen log file '%s': "
                            "%s",
                            s->path, strerror(errno));
  if (nfd != s->fd && dup3(nfd, s->fd, O_CLOEXEC) < 0) {
    int e = errno;
    close(nfd);
    return roster_error_set(ROSTER_ESYS,
                            "log: cannot reopen log file '%s': "
                            "dup3: %s",
                            s->path, strerror(e));
  }
  if (nfd != s->fd)
    close(nfd);
  return ROSTER_OK;
}
