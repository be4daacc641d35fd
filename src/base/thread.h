/*
 * thread.h: starting a library thread and wrapping another call's error,
 * the two pieces the core library and the modules both write.
 *
 * Header-only and built on roster's public API alone (roster_error_set,
 * roster_last_error), so that a module, whose library sees none of the
 * core's hidden roster__ symbols, compiles the same code: include it as
 * "base/thread.h" (src/ is on every roster target's private include path).
 * base.h includes it. Never installed.
 */
#ifndef ROSTER_BASE_THREAD_H
#define ROSTER_BASE_THREAD_H

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "roster/error.h"

/* roster__thread_start starts fn(arg) on a new thread, detached when
 * detached is set (then *t may be NULL), else joinable with its id in *t.
 * The thread starts with every signal blocked (signals belong to the
 * program's own threads and to roster_run; the caller's mask is restored
 * before return) and is named name (at most 15 bytes are kept; the name
 * shows in top, gdb and /proc) so a process's roster threads can be told
 * apart. It registers with RCU lazily, on its first roster call
 * (roster__thread_ensure), as every thread does. Returns ROSTER_OK, or
 * ROSTER_ESYS with the detail strerror's text alone, for the caller to
 * wrap with what it was starting (roster__err_wrap). Any thread. */
static inline int roster__thread_start(pthread_t *t, const char *name,
                                       bool detached, void *(*fn)(void *),
                                       void *arg) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_attr_t a, *ap = NULL;
  if (detached) {
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    ap = &a;
  }
  pthread_t id;
  int e = pthread_create(&id, ap, fn, arg);
  if (ap)
    pthread_attr_destroy(ap);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (e) {
    char eb[128];
    return roster_error_set(ROSTER_ESYS, "%s", strerror_r(e, eb, sizeof eb));
  }
  char n[16];
  snprintf(n, sizeof n, "%s", name);
  pthread_setname_np(id, n); /* a name is a courtesy: ignore a refusal */
  if (t)
    *t = id;
  return ROSTER_OK;
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

/* roster__err_saved holds a thread's failure across clean-up calls that
 * may set their own (roster__err_save, then roster__err_restore). */
typedef struct roster__err_saved {
  int code;
  char detail[1024];
} roster__err_saved;
static inline void roster__err_save(roster__err_saved *s) {
  s->code = roster_last_code();
  snprintf(s->detail, sizeof s->detail, "%s", roster_last_error());
}
/* roster__err_restore sets the saved failure again; returns its code. */
static inline int roster__err_restore(const roster__err_saved *s) {
  return roster_error_set(s->code, "%s", s->detail);
}

#endif /* ROSTER_BASE_THREAD_H */
