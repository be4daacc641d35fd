/*
 * run.c: roster_run, a program's main loop, and roster_sd_notify.
 *
 * roster_run catches SIGTERM and SIGINT with a self-pipe (the handler only
 * writes the signal number), starts the registry, tells systemd it is ready,
 * pets the watchdog from poll()'s timeout (no extra thread), and on the
 * first signal shuts the registry down on a helper thread while it keeps
 * polling the pipe, so that a second signal can still end the process.
 *
 * Ownership: the helper thread gets a heap job (run_job) with two
 * references, one per side; whichever side drops the last one closes the
 * job's own completion pipe and frees it. The signal pipe belongs to
 * roster_run alone: the helper never touches it, and it is closed only
 * after the handlers are restored and no handler is still running (see
 * run_release), so a late signal can never write into a reused fd.
 *
 * Errors: the start or shutdown code with its detail (the shutdown's detail
 * is carried over from the helper thread); ROSTER_EBUSY when another
 * roster_run is active in the process; ROSTER_ECANCELED when a second
 * signal comes with no_force_exit set. Failed notify messages are ignored.
 *
 * Threads: one roster_run per process at a time (a static flag). The
 * helper blocks every signal, like roster's own threads.
 */
#include "core/roster_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* sd_notify                                                           */

/* The systemd notify protocol is one datagram of newline-separated
 * KEY=VALUE text sent to the AF_UNIX socket named by $NOTIFY_SOCKET (a path,
 * or '@' for the Linux abstract namespace). That is all sd_notify(3) does
 * for us, so it is written here and libsystemd is not a dependency. No
 * credentials are attached: the kernel adds them when systemd asks. */
int roster_sd_notify(const char *message) {
  if (!message || !*message)
    return roster__err(ROSTER_EINVAL, "sd_notify message is %s",
                       message ? "empty" : "NULL");
  const char *path = getenv("NOTIFY_SOCKET");
  if (!path || !*path)
    return ROSTER_OK;
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  size_t len = strlen(path);
  bool abstract = path[0] == '@';
  if (!abstract && path[0] != '/')
    return roster__err(ROSTER_EINVAL,
                       "NOTIFY_SOCKET '%.200s' is neither an "
                       "absolute path nor an abstract '@' name",
                       path);
  /* A path needs its terminating NUL; an abstract name does not. */
  size_t room = sizeof sa.sun_path - (abstract ? 0 : 1);
  if (len > room)
    return roster__err(ROSTER_EINVAL,
                       "NOTIFY_SOCKET is %zu bytes long; a "
                       "socket address holds at most %zu",
                       len, room);
  memcpy(sa.sun_path, path, len);
  if (abstract)
    sa.sun_path[0] = '\0';
  socklen_t alen =
      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + !abstract);

  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    char eb[128];
    return roster__err(ROSTER_ESYS, "sd_notify: socket: %s",
                       strerror_r(errno, eb, sizeof eb));
  }
  /* A full receive queue would block the send: wait at most a second. */
  struct timeval tv = {.tv_sec = 1};
  (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  size_t mlen = strlen(message);
  ssize_t n;
  do
    n = sendto(fd, message, mlen, MSG_NOSIGNAL, (struct sockaddr *)&sa, alen);
  while (n < 0 && errno == EINTR);
  int e = errno;
  close(fd);
  if (n < 0) {
    char eb[128];
    return roster__err(ROSTER_ESYS,
                       "sd_notify to NOTIFY_SOCKET '%.200s': "
                       "sendto: %s",
                       path, strerror_r(e, eb, sizeof eb));
  }
  if ((size_t)n != mlen)
    return roster__err(ROSTER_ESYS, "sd_notify: sent %zd of %zu bytes", n,
                       mlen);
  return ROSTER_OK;
}

/* ------------------------------------------------------------------ */
/* Signals                                                             */

static atomic_bool run_active;  /* a roster_run is active */
static atomic_int run_wfd = -1; /* the signal pipe's write end, or -1 */
static atomic_int run_inflight; /* handlers between load and write */

/* run_on_signal: async-signal-safe; writes the signal number, nothing else.
 * The in-flight count lets run_release wait until no handler can still
 * hold the fd it is about to close (both sides are sequentially
 * consistent, so either the handler sees -1 or run_release sees it). */
static void run_on_signal(int signo) {
  int saved = errno;
  atomic_fetch_add(&run_inflight, 1);
  int fd = atomic_load(&run_wfd);
  if (fd >= 0) {
    unsigned char b = (unsigned char)signo;
    ssize_t n = write(fd, &b, 1); /* full pipe: the byte is not needed */
    (void)n;
  }
  atomic_fetch_sub(&run_inflight, 1);
  errno = saved;
}

typedef struct run_sig {
  int pipe[2];
  struct sigaction old_term, old_int;
} run_sig;

static int run_catch(run_sig *s) {
  char eb[128];
  if (pipe2(s->pipe, O_CLOEXEC | O_NONBLOCK) != 0)
    return roster__err(ROSTER_ESYS, "roster_run: pipe2: %s",
                       strerror_r(errno, eb, sizeof eb));
  atomic_store(&run_wfd, s->pipe[1]);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = run_on_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGTERM, &sa, &s->old_term) != 0) {
    int e = errno;
    atomic_store(&run_wfd, -1);
    close(s->pipe[0]);
    close(s->pipe[1]);
    return roster__err(ROSTER_ESYS, "roster_run: sigaction: %s",
                       strerror_r(e, eb, sizeof eb));
  }
  if (sigaction(SIGINT, &sa, &s->old_int) != 0) {
    int e = errno;
    sigaction(SIGTERM, &s->old_term, NULL);
    atomic_store(&run_wfd, -1);
    while (atomic_load(&run_inflight))
      sched_yield();
    close(s->pipe[0]);
    close(s->pipe[1]);
    return roster__err(ROSTER_ESYS, "roster_run: sigaction: %s",
                       strerror_r(e, eb, sizeof eb));
  }
  return ROSTER_OK;
}

/* run_release restores the old handlers, waits out any handler still
 * running on another thread, then closes the pipe. Touches no error
 * detail, so the caller's stays as it was. */
static void run_release(run_sig *s) {
  sigaction(SIGTERM, &s->old_term, NULL);
  sigaction(SIGINT, &s->old_int, NULL);
  atomic_store(&run_wfd, -1);
  while (atomic_load(&run_inflight))
    sched_yield(); /* a handler never blocks: this ends at once */
  close(s->pipe[0]);
  close(s->pipe[1]);
}

/* ------------------------------------------------------------------ */
/* The shutdown helper                                                 */

typedef struct run_job {
  atomic_int refs; /* roster_run's side + the helper's */
  roster *r;
  int64_t deadline_ms;
  int done[2]; /* the helper writes one byte when it has finished */
  int rc;      /* written before that byte, read after the join */
  char detail[1024];
} run_job;

static void job_put(run_job *job) {
  if (atomic_fetch_sub_explicit(&job->refs, 1, memory_order_acq_rel) == 1) {
    close(job->done[0]);
    close(job->done[1]);
    roster__free(job);
  }
}

static void *job_main(void *arg) {
  run_job *job = arg;
  job->rc = roster_shutdown(job->r, job->deadline_ms);
  if (job->rc)
    snprintf(job->detail, sizeof job->detail, "%s", roster_last_error());
  unsigned char b = 1;
  ssize_t n;
  do
    n = write(job->done[1], &b, 1);
  while (n < 0 && errno == EINTR);
  job_put(job);
  return NULL;
}

/* job_start runs roster_shutdown on a helper thread with every signal
 * blocked; NULL if it cannot (the caller then shuts down inline). */
static run_job *job_start(roster *r, int64_t deadline_ms, pthread_t *th) {
  run_job *job = roster__calloc(1, sizeof *job);
  if (!job)
    return NULL;
  if (pipe2(job->done, O_CLOEXEC | O_NONBLOCK) != 0) {
    roster__free(job);
    return NULL;
  }
  job->r = r;
  job->deadline_ms = deadline_ms;
  atomic_init(&job->refs, 2);
  if (roster__thread_start(th, "roster-shutdown", false, job_main, job)) {
    atomic_store(&job->refs, 1);
    job_put(job);
    return NULL;
  }
  return job;
}

/* ------------------------------------------------------------------ */
/* The loop                                                            */

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* watchdog_ns: half of $WATCHDOG_USEC in nanoseconds, or 0 when there is no
 * watchdog for this process (unset, malformed, or WATCHDOG_PID names
 * another process). */
static int64_t watchdog_ns(void) {
  const char *u = getenv("WATCHDOG_USEC");
  if (!u || *u < '0' || *u > '9')
    return 0;
  const char *p = getenv("WATCHDOG_PID");
  if (p && *p) {
    char *end;
    errno = 0;
    unsigned long long pid = strtoull(p, &end, 10);
    if (errno || *end || *p < '0' || *p > '9' ||
        pid != (unsigned long long)getpid())
      return 0;
  }
  char *end;
  errno = 0;
  unsigned long long usec = strtoull(u, &end, 10);
  if (errno || *end || usec == 0 || usec > INT64_MAX / 1000)
    return 0;
  return (int64_t)usec * 500; /* usec / 2 * 1000 */
}

static void send_status(const char *prefix, const char *text) {
  char msg[1200];
  snprintf(msg, sizeof msg, "%s%s", prefix, text);
  (void)roster_sd_notify(msg);
}

/* run_wait runs from READY to the end: waits for a signal, shuts down, and
 * returns the shutdown's result (or ECANCELED, or does not return). */
static int run_wait(roster *r, const roster_run_options *o, int64_t stop_ms,
                    int sigfd) {
  int64_t wd = watchdog_ns();
  int64_t next_wd = wd ? mono_ns() + wd : 0;
  run_job *job = NULL;
  pthread_t th;
  bool stopping = false;
  for (;;) {
    struct pollfd pfd[2] = {{.fd = sigfd, .events = POLLIN},
                            {.fd = job ? job->done[0] : -1, .events = POLLIN}};
    int timeout = -1;
    if (wd) {
      int64_t left = next_wd - mono_ns();
      int64_t ms = left <= 0 ? 0 : (left + 999999) / 1000000;
      timeout = ms > INT_MAX ? INT_MAX : (int)ms;
    }
    int n = poll(pfd, 2, timeout);
    if (n < 0 && errno != EINTR) {
      struct timespec ts = {0, 10000000}; /* ENOMEM: retry shortly */
      nanosleep(&ts, NULL);
    }
    if (wd) {
      int64_t now = mono_ns();
      if (now >= next_wd) {
        (void)roster_sd_notify("WATCHDOG=1");
        next_wd += wd;
        if (next_wd <= now)
          next_wd = now + wd;
      }
    }
    if (n <= 0)
      continue;
    if (job && (pfd[1].revents & POLLIN)) {
      /* Finished: a clean result wins over a signal in the same round. */
      pthread_join(th, NULL);
      int rc = job->rc;
      char detail[sizeof job->detail];
      memcpy(detail, job->detail, sizeof detail);
      job_put(job);
      return rc ? roster__err(rc, "%s", detail) : ROSTER_OK;
    }
    if (!(pfd[0].revents & POLLIN))
      continue;
    unsigned char buf[16];
    ssize_t got = read(sigfd, buf, sizeof buf);
    for (ssize_t i = 0; i < got; i++) {
      int signo = buf[i];
      if (!stopping) {
        stopping = true;
        (void)roster_sd_notify("STOPPING=1");
        job = job_start(r, stop_ms, &th);
        if (!job) /* no helper thread: shut down here, cannot be forced */
          return roster_shutdown(r, stop_ms);
        continue;
      }
      if (!o->no_force_exit) {
        char line[96];
        int len = snprintf(line, sizeof line,
                           "roster: signal %d during "
                           "shutdown; exiting now\n",
                           signo);
        ssize_t w = write(STDERR_FILENO, line, (size_t)len);
        (void)w;
        _exit(128 + signo);
      }
      /* The helper goes on alone; it holds its own reference. */
      pthread_detach(th);
      job_put(job);
      return roster__err(ROSTER_ECANCELED,
                         "signal %d during shutdown: "
                         "roster_run returned while the shutdown goes on in "
                         "the background",
                         signo);
    }
  }
}

int roster_run(roster *r, const roster_run_options *opts) {
  if (!r)
    return roster__err(ROSTER_EINVAL, "registry is NULL");
  roster_run_options o = {0};
  if (opts)
    o = *opts;
  int64_t start_ms = o.start_timeout_ms > 0 ? o.start_timeout_ms : 60000;
  int64_t stop_ms = o.shutdown_deadline_ms > 0 ? o.shutdown_deadline_ms : 30000;
  if (atomic_exchange(&run_active, true))
    return roster__err(ROSTER_EBUSY, "roster_run is already running in this "
                                     "process");
  run_sig sig;
  int rc = run_catch(&sig);
  if (rc) {
    atomic_store(&run_active, false);
    return rc;
  }
  rc = roster_start(r, start_ms);
  if (rc) {
    roster__err_saved keep;
    roster__err_save(&keep, rc);
    send_status("STATUS=start failed: ", keep.detail);
    roster__err_restore(&keep); /* the notify may have replaced it */
  } else {
    send_status("READY=1\nSTATUS=", o.status ? o.status : "ready");
    rc = run_wait(r, &o, stop_ms, sig.pipe[0]);
  }
  run_release(&sig);
  atomic_store(&run_active, false);
  return rc;
}
