/*
 * signal.c: watches on SIGHUP, SIGUSR1 and SIGUSR2 (roster/signal.h).
 *
 * One process-wide table of watches under a mutex. The handler writes the
 * signal number to a self-pipe and nothing else; one thread (made on the
 * first watch, living as long as the process, with every signal blocked)
 * reads the pipe and runs the watches of each signal it saw, without the
 * lock. The pipe and the thread are never torn down: a handler may still be
 * running on another thread when the last watch goes, and the pipe it
 * writes to must stay valid.
 */
#include "roster_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

typedef struct watch {
  struct watch *next;
  uint64_t id;
  int signo;
  roster_signal_fn fn;
  void *arg;
} watch;

static const int watchable[] = {SIGHUP, SIGUSR1, SIGUSR2};
#define NSIG_W (sizeof watchable / sizeof watchable[0])

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle = PTHREAD_COND_INITIALIZER;
static watch *watches; /* in id order */
static uint64_t next_id = 1;
static uint64_t running; /* id of the watch whose fn runs now, or 0 */
static bool installed[NSIG_W];
static struct sigaction old_action[NSIG_W];
static int pipe_fd[2] = {-1, -1};
static atomic_int wfd = -1;
static bool thread_started;
static pthread_t thread;

static int slot(int signo) {
  for (size_t i = 0; i < NSIG_W; i++)
    if (watchable[i] == signo)
      return (int)i;
  return -1;
}

static void on_signal(int signo) {
  int saved = errno;
  int fd = atomic_load(&wfd);
  if (fd >= 0) {
    unsigned char b = (unsigned char)signo;
    ssize_t n = write(fd, &b, 1); /* a full pipe already holds a wake-up */
    (void)n;
  }
  errno = saved;
}

/* run_round runs every watch of signo, in id order, lock not held during
 * the calls. Lock held on entry and exit. */
static void run_round(int signo) {
  uint64_t last = 0;
  for (;;) {
    watch *w = watches;
    while (w && (w->id <= last || w->signo != signo))
      w = w->next;
    if (!w)
      return;
    last = w->id;
    running = w->id;
    roster_signal_fn fn = w->fn;
    void *arg = w->arg;
    pthread_mutex_unlock(&lock);
    fn(signo, arg);
    pthread_mutex_lock(&lock);
    running = 0;
    pthread_cond_broadcast(&idle);
  }
}

static void *signal_main(void *unused) {
  (void)unused;
  roster__thread_ensure();
  for (;;) {
    unsigned char buf[64];
    ssize_t n = read(pipe_fd[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      continue; /* cannot happen: the write end is never closed */
    bool seen[NSIG_W] = {false};
    for (ssize_t i = 0; i < n; i++) {
      int s = slot(buf[i]);
      if (s >= 0)
        seen[s] = true;
    }
    pthread_mutex_lock(&lock);
    for (size_t s = 0; s < NSIG_W; s++)
      if (seen[s])
        run_round(watchable[s]);
    pthread_mutex_unlock(&lock);
  }
  return NULL;
}

/* setup makes the pipe and the thread once. Lock held. */
static int setup(void) {
  char eb[128];
  if (pipe_fd[0] < 0) {
    if (pipe2(pipe_fd, O_CLOEXEC) != 0)
      return roster__err(ROSTER_ESYS, "roster_signal_watch: pipe2: %s",
                         strerror_r(errno, eb, sizeof eb));
    /* the handler must never block; the reader blocks */
    fcntl(pipe_fd[1], F_SETFL, fcntl(pipe_fd[1], F_GETFL) | O_NONBLOCK);
    atomic_store(&wfd, pipe_fd[1]);
  }
  if (!thread_started) {
    if (roster__thread_start(&thread, "roster-signal", true, signal_main, NULL))
      return roster__err_wrap(ROSTER_ESYS, "roster_signal_watch: "
                                           "pthread_create");
    thread_started = true;
  }
  return ROSTER_OK;
}

int roster_signal_watch(int signo, roster_signal_fn fn, void *arg,
                        uint64_t *id) {
  int s = slot(signo);
  if (s < 0)
    return roster__err(ROSTER_EINVAL,
                       "roster_signal_watch: signal %d cannot "
                       "be watched (only SIGHUP, SIGUSR1 and SIGUSR2; "
                       "SIGTERM and SIGINT belong to roster_run)",
                       signo);
  if (!fn || !id)
    return roster__err(ROSTER_EINVAL, "roster_signal_watch: %s is NULL",
                       fn ? "id" : "fn");
  watch *w = roster__calloc(1, sizeof *w);
  if (!w)
    return roster__err(ROSTER_ENOMEM, "out of memory");
  pthread_mutex_lock(&lock);
  int rc = setup();
  if (rc == ROSTER_OK && !installed[s]) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(signo, &sa, &old_action[s]) != 0) {
      char eb[128];
      rc = roster__err(ROSTER_ESYS, "roster_signal_watch: sigaction: %s",
                       strerror_r(errno, eb, sizeof eb));
    } else {
      installed[s] = true;
    }
  }
  if (rc == ROSTER_OK) {
    w->id = next_id++;
    w->signo = signo;
    w->fn = fn;
    w->arg = arg;
    watch **pp = &watches;
    while (*pp)
      pp = &(*pp)->next;
    *pp = w;
    *id = w->id;
  }
  pthread_mutex_unlock(&lock);
  if (rc)
    roster__free(w);
  return rc;
}

int roster_signal_unwatch(uint64_t id) {
  pthread_mutex_lock(&lock);
  watch **pp = &watches;
  while (*pp && (*pp)->id != id)
    pp = &(*pp)->next;
  watch *w = *pp;
  if (!w) {
    pthread_mutex_unlock(&lock);
    return roster__err(ROSTER_ENOENT, "no signal watch with id %llu",
                       (unsigned long long)id);
  }
  *pp = w->next;
  int s = slot(w->signo);
  bool others = false;
  for (watch *x = watches; x && !others; x = x->next)
    others = x->signo == w->signo;
  if (!others && installed[s]) {
    sigaction(w->signo, &old_action[s], NULL);
    installed[s] = false;
  }
  bool self = thread_started && pthread_equal(pthread_self(), thread);
  while (running == id && !self)
    pthread_cond_wait(&idle, &lock);
  pthread_mutex_unlock(&lock);
  roster__free(w);
  return ROSTER_OK;
}
