/*
 * helpers.h: starting a library thread, a condition variable on the
 * monotonic clock, and wrapping another call's error: the pieces the core
 * library and the modules all write.
 *
 * Header-only and built on roster's public API alone (roster_error_set,
 * roster_last_error), so that a module, whose library sees none of the
 * core's hidden roster__ symbols, compiles the same code: include it as
 * "base/helpers.h" (src/ is on every roster target's private include path).
 * base.h includes it. Never installed.
 */
#ifndef ROSTER_BASE_HELPERS_H
#define ROSTER_BASE_HELPERS_H

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "roster/error.h"

/* roster__thread_start starts fn(arg) on a new thread, detached when
 * detached is set, else joinable; its id goes to *t unless t is NULL (a
 * zeroed id when it fails). The thread starts with every signal blocked
 * (signals belong to the program's own threads and to roster_run; the
 * caller's mask is restored before return) and is named name (at most 15
 * bytes are kept; the name shows in top, gdb and /proc) so that a
 * process's roster threads can be told apart. It registers with RCU
 * lazily, on its first roster call (roster__thread_ensure), as every
 * thread does. Returns ROSTER_OK, or ROSTER_ESYS with strerror's text
 * alone as the detail, for the caller to wrap with what it was starting
 * (roster__err_wrap). Any thread. */
static inline int roster__thread_start(pthread_t *t, const char *name,
                                       bool detached, void *(*fn)(void *),
                                       void *arg) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t id;
  memset(&id, 0, sizeof id); /* what *t holds when no thread started */
  int e = pthread_create(&id, NULL, fn, arg);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (t)
    *t = id;
  if (e) {
    char eb[128];
    return roster_error_set(ROSTER_ESYS, "%s", strerror_r(e, eb, sizeof eb));
  }
  /* Named while still joinable (a detached thread may be gone already),
   * then detached. A name is a courtesy: a refusal is ignored. */
  char n[16];
  size_t len = strnlen(name, sizeof n - 1);
  memcpy(n, name, len);
  n[len] = '\0';
  pthread_setname_np(id, n);
  if (detached)
    pthread_detach(id);
  return ROSTER_OK;
}

/* roster__cond_init_mono initializes c to time its waits on
 * CLOCK_MONOTONIC (so a wall-clock step moves no deadline); waits take
 * deadlines from clock_gettime(CLOCK_MONOTONIC). Returns
 * pthread_cond_init's result. */
static inline int roster__cond_init_mono(pthread_cond_t *c) {
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
  int e = pthread_cond_init(c, &a);
  pthread_condattr_destroy(&a);
  return e;
}

/* roster__mono_after returns the CLOCK_MONOTONIC instant ms (>= 0) from
 * now: the deadline of a timed wait on a roster__cond_init_mono
 * condition. */
static inline struct timespec roster__mono_after(int64_t ms) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += (time_t)(ms / 1000);
  ts.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  return ts;
}

/* roster__err_wrap sets the detail to fmt's text, ": " and the detail the
 * thread held (another call's failure), and returns code: the one shape of
 * "<what>: <inner detail>". The inner detail is read before anything is
 * written, so it may be the current one. Any thread. */
static inline int roster__err_wrap(int code, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static inline int roster__err_wrap(int code, const char *fmt, ...) {
  char inner[1024], what[512];
  snprintf(inner, sizeof inner, "%s", roster_last_error());
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return roster_error_set(code, "%s: %s", what, inner);
}

/* roster__err_saved holds a failure (code, and the thread's detail) across
 * clean-up calls that may set details of their own: roster__err_save,
 * clean up, then return roster__err_restore. */
typedef struct roster__err_saved {
  int code;
  char detail[1024];
} roster__err_saved;
static inline void roster__err_save(roster__err_saved *s, int code) {
  s->code = code;
  snprintf(s->detail, sizeof s->detail, "%s", roster_last_error());
}
/* roster__err_restore sets the saved failure again; returns its code. */
static inline int roster__err_restore(const roster__err_saved *s) {
  return roster_error_set(s->code, "%s", s->detail);
}

#endif /* ROSTER_BASE_HELPERS_H */
