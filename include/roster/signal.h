/*
 * roster/signal.h: run code when the process gets SIGHUP, SIGUSR1 or SIGUSR2.
 *
 * Several parts of a program want the same signal: the config reloads on
 * SIGHUP, the log reopens its files on SIGHUP (for logrotate). A watch
 * registers a callback for a signal; the first watch of a signal installs a
 * handler that only writes the signal number to a pipe, and roster's signal
 * thread reads the pipe and runs every watch of that signal, in the order
 * they were added. No work ever runs inside the handler. SIGTERM and SIGINT
 * belong to roster_run and cannot be watched here.
 *
 * Threads: every call is thread-safe. Callbacks run on roster's signal
 * thread (every signal blocked), one at a time, with no roster lock held;
 * they may call roster functions, and roster_signal_unwatch of their own or
 * another watch. Signals that arrive while a round of callbacks runs are
 * coalesced into one more round.
 */
#ifndef ROSTER_SIGNAL_H
#define ROSTER_SIGNAL_H

#include <stdint.h>

#include "version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* roster_signal_fn runs for each delivery of signo. */
typedef void (*roster_signal_fn)(int signo, void *arg);

/* roster_signal_watch calls fn(signo, arg) each time the process receives
 * signo (SIGHUP, SIGUSR1 or SIGUSR2) and puts a watch id (never 0) in *id.
 * The previous handler of signo is replaced while any watch of it exists
 * and restored when the last goes. ROSTER_EINVAL for another signal or a
 * NULL fn or id; ROSTER_ESYS if the handler, pipe or thread cannot be set
 * up (then fn never runs). */
ROSTER_EXTERN int roster_signal_watch(int signo, roster_signal_fn fn, void *arg,
                                      uint64_t *id);

/* roster_signal_unwatch removes watch id. Once it returns, its fn is not
 * running and will not run again (unless it is called from that very fn,
 * which may finish). ROSTER_ENOENT for an unknown id. */
ROSTER_EXTERN int roster_signal_unwatch(uint64_t id);

#ifdef __cplusplus
}
#endif

#endif /* ROSTER_SIGNAL_H */
