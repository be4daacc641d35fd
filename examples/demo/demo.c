/*
 * demo.c: a small service that uses roster.
 *
 * First a tour of the registry (demo_tour.c): instances registered under
 * names, looked up with their C types from any thread, namespaces, a
 * pub/sub hub with owners, wait_for, metadata and stats. Then the service
 * container (demo_app.c): services declared in a config file and in code,
 * started in dependency order, a cron job doing visible work through the
 * database and the cache, JSON log lines, and roster_run serving until
 * SIGINT or SIGTERM (or until DEMO_SECONDS have passed), then stopping
 * everything in reverse order. The program exits 0 after the line
 * "demo: clean shutdown".
 *
 * Signals are blocked in every thread from the start, so no roster thread
 * ever takes one; main unblocks them for itself only while roster_run's
 * handler (which only writes to a pipe) is the one that catches them.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "demo.h"

int main(void) {
  sigset_t sigs;
  long seconds = 0;
  const char *env = getenv("DEMO_SECONDS");

  setvbuf(stdout, NULL, _IOLBF, 0);
  if (env != NULL && *env != '\0')
    seconds = strtol(env, NULL, 10);

  /* Block the shutdown signals (and the DEMO_SECONDS alarm) before any
   * thread exists, so every thread inherits the mask and only main, while
   * it runs roster_run, ever takes them. */
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGALRM);
  if (pthread_sigmask(SIG_BLOCK, &sigs, NULL) != 0) {
    fprintf(stderr, "demo: pthread_sigmask failed\n");
    return 1;
  }

  printf("roster %s demo (built against %d.%d.%d)\n", roster_version(),
         ROSTER_VERSION_MAJOR, ROSTER_VERSION_MINOR, ROSTER_VERSION_PATCH);

  tour t = {0};
  tour_start(&t);
  int code = app_run(&t, &sigs, seconds);

  heading("12. Shutdown");
  tour_end(&t);
  if (!demo_all_freed())
    return 1;
  if (code != 0)
    return code;
  printf("demo: clean shutdown\n");
  return 0;
}

void heading(const char *title) { printf("\n== %s ==\n", title); }

void show_error(const char *what, int rc) {
  printf("  %s\n    -> %s: %s\n", what, roster_err_name(rc),
         roster_last_error());
}

int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* ------------------------------------------------------------------ */
/* Allocation counts: every instance the tour makes is freed by exit    */

static atomic_int made;
static atomic_int freed;

void *demo_alloc(size_t size) {
  void *p = calloc(1, size);
  if (p == NULL) {
    fprintf(stderr, "demo: out of memory\n");
    exit(1);
  }
  atomic_fetch_add(&made, 1);
  return p;
}

void demo_free(void *p) {
  free(p);
  atomic_fetch_add(&freed, 1);
}

int demo_all_freed(void) {
  printf("  %d instances made, %d destroyed\n", atomic_load(&made),
         atomic_load(&freed));
  if (atomic_load(&made) != atomic_load(&freed)) {
    fprintf(stderr, "demo: some instances were not destroyed\n");
    return 0;
  }
  return 1;
}
