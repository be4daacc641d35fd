/*
 * roster/pool.h: a generic connection pool, for the client modules
 * (databases, Redis) to build on.
 *
 * A pool holds up to max_size connections of one kind. The module supplies
 * the connection operations as a small vtable (connect, close, and
 * optionally validate and reset); a connection is an opaque non-NULL
 * void *. Callers borrow a connection with roster_pool_acquire and give it
 * back with roster_pool_release; in between it is theirs alone.
 *
 * What the pool does for them:
 * - keeps at least min_idle connections idle (made by roster_pool_new, and
 *   refilled by the maintenance thread when they are used or closed);
 * - queues acquires when every connection is in use and the pool is full,
 *   first come first served: a released connection is handed directly to
 *   the oldest waiter, and only that waiter is woken (each waiter sleeps
 *   on its own futex word: no thundering herd). A waiter that is not served
 *   within the acquire timeout gets ROSTER_ETIMEDOUT, never a NULL;
 * - closes connections idle longer than idle_timeout_ms (down to min_idle)
 *   and connections older than their lifetime (max_lifetime_ms, less a
 *   random 0-10 % per connection so that connections made together do not
 *   expire together), but never while one is in use: an expired connection
 *   in use is closed when it is released;
 * - validates an idle connection on borrow, only when it has been idle
 *   longer than validate_after_ms (a connection used a moment ago is
 *   trusted); one that fails is closed and the acquire goes on with the
 *   next;
 * - records who acquired each connection (file, line, function, thread id)
 *   and when, and reports once, through a callback, a connection held
 *   longer than leak_threshold_ms;
 * - drains on shutdown: roster_pool_drain refuses new acquires, closes the
 *   idle connections and waits, until a deadline, for the ones in use;
 * - counts: size, idle, in use, waiters, a wait-time histogram, timeouts,
 *   connections created and destroyed, failures.
 *
 * Threads: every call is thread-safe. The pool has one mutex; no operation
 * of the vtable and no callback ever runs with it held. connect runs on
 * the acquiring thread (when the pool needs one more connection to serve
 * it) or on the pool's maintenance thread (refilling min_idle); validate on
 * the acquiring thread; reset and close on the releasing thread, or on the
 * thread of whichever call closes the connection (an acquire finding an
 * expired one, roster_pool_drain, roster_pool_free, the maintenance
 * thread). Operations on different connections may run at the same time on
 * different threads; a connection is only ever touched by one thread at a
 * time (its holder, or the pool). The leak callback runs on the
 * maintenance thread. The maintenance thread blocks every signal.
 *
 * The fast path: in a pool with no reset operation and no leak threshold
 * (the database and Redis pools), a thread that releases the connection it
 * acquired last, while nobody waits, keeps it aside without taking the
 * mutex, and its next acquire from that pool takes it back the same way.
 * Such a connection is idle in every other sense: counted as idle, taken
 * by another thread's acquire when nothing else is idle, handed to a
 * waiter, closed by the idle timeout, the lifetime and a drain, validated
 * when taken back after validate_after_ms. The release reads no clock, so
 * such a connection's idle time counts from when it was taken or from the
 * last maintenance pass, whichever is later: over-counted (validated, or
 * closed by the idle timeout, up to one maintenance_ms early), never
 * under-counted.
 *
 * Errors: a negative roster_err and a sentence in roster_last_error() that
 * names the pool and the cause. A connect failure is passed through as the
 * module returned it (code and detail).
 */
#ifndef ROSTER_POOL_H
#define ROSTER_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* roster_pool: a connection pool. Opaque; made by roster_pool_new, freed
 * by roster_pool_free. */
typedef struct roster_pool roster_pool;

/* ROSTER_POOL_OPS_VERSION: the layout of roster_pool_ops; a module sets its
 * version field to this. */
#define ROSTER_POOL_OPS_VERSION 1

/* ROSTER_POOL_MAX_SIZE: the largest max_size a pool accepts. */
#define ROSTER_POOL_MAX_SIZE 4096

/* ROSTER_POOL_NAME_MAX: the longest pool name, in bytes. */
#define ROSTER_POOL_NAME_MAX 63

/* roster_pool_ops: the connection operations a module supplies. arg is
 * roster_pool_options.arg. None of them runs with a pool lock held. */
typedef struct roster_pool_ops {
  unsigned version; /* ROSTER_POOL_OPS_VERSION */
  /* connect makes a connection into *conn (never NULL) and returns
   * ROSTER_OK, or returns a negative code (ROSTER_ECONN, usually) with a
   * detail set by roster_error_set, the foreign library's message kept in
   * it. The acquire that needed it returns that code and detail. Required. */
  int (*connect)(void *arg, void **conn);
  /* close closes and frees conn. It cannot fail. Required. */
  void (*close)(void *arg, void *conn);
  /* validate checks, with a cheap round trip, that an idle conn still
   * works; ROSTER_OK if it does. Called on borrow, only when conn has been
   * idle longer than validate_after_ms. A failing conn is closed and the
   * acquire goes on. Optional (NULL: never validated). */
  int (*validate)(void *arg, void *conn);
  /* reset makes a released conn fit for the next user (rolls back an open
   * transaction, say); ROSTER_OK if it did. Not called for a broken or
   * expiring conn, which is closed anyway. A failing conn is closed.
   * Optional (NULL: connections are reused as released). */
  int (*reset)(void *arg, void *conn);
} roster_pool_ops;

/* roster_pool_leak: one connection held past leak_threshold_ms, as told to
 * the leak callback. Valid only during the call. */
typedef struct roster_pool_leak {
  const char *pool; /* the pool's name */
  void *conn;       /* the connection; in use by its holder, so only to
                       identify it: do not use it */
  const char *file; /* where it was acquired (the caller of
                       roster_pool_acquire), or "?" */
  int line;
  const char *func;
  int64_t thread_id; /* the acquiring thread's id (gettid) */
  int64_t held_ms;   /* how long it had been held when reported */
} roster_pool_leak;

/* roster_pool_leak_fn is called once per acquisition held past the
 * threshold, on the maintenance thread, with no pool lock held. It may
 * call roster_pool_stats_get, but should not block for long: the pool's
 * maintenance waits for it. */
typedef void (*roster_pool_leak_fn)(const roster_pool_leak *leak, void *arg);

/* roster_pool_clock_fn returns monotonic time in nanoseconds. For tests:
 * see roster_pool_options.clock. */
typedef int64_t (*roster_pool_clock_fn)(void *arg);

/* roster_pool_options: how to make a pool. {0} plus ops means the defaults
 * shown. Durations are in milliseconds. */
typedef struct roster_pool_options {
  const char *name;            /* for details and leak reports, copied;
                                  NULL = "pool"; at most
                                  ROSTER_POOL_NAME_MAX bytes, not empty */
  const roster_pool_ops *ops;  /* required; kept, not copied: it must
                                  outlive the pool (static, usually) */
  void *arg;                   /* passed to every operation */
  void (*free_arg)(void *arg); /* called when the pool's memory is freed,
                                  after the last close; NULL = none */
  unsigned min_idle;           /* connections kept idle; 0; <= max_size */
  unsigned max_size;           /* connections open at most, idle or in use;
                                  10; at most ROSTER_POOL_MAX_SIZE */
  int64_t acquire_timeout_ms;  /* how long an acquire waits in the queue;
                                  30000; <0: no limit */
  int64_t idle_timeout_ms;     /* close a connection idle this long, while
                                  more than min_idle are idle; 600000;
                                  <0: never */
  int64_t max_lifetime_ms;     /* close a connection this old (less 0-10 %,
                                  drawn per connection) when it is idle or
                                  released; 1800000; <0: no limit */
  int64_t validate_after_ms;   /* validate on borrow a connection idle
                                  longer than this; 500; <0: never */
  int64_t leak_threshold_ms;   /* report a connection held longer than
                                  this; 0 or <0: off (the default) */
  roster_pool_leak_fn leak_fn; /* the report; NULL with a threshold set:
                                  one line on stderr */
  void *leak_arg;              /* passed to leak_fn */
  int64_t maintenance_ms;      /* how often the maintenance thread looks
                                  at idle, expired and leaked connections;
                                  1000; must not be negative. A refill it
                                  is asked for runs at once. */
  roster_pool_clock_fn clock;  /* for tests: the time connection ages are
                                  measured in (idle time, lifetime, leak
                                  threshold), in ns; NULL =
                                  CLOCK_MONOTONIC_COARSE (ages are only
                                  ever compared in milliseconds). Acquire
                                  timeouts and wait times always use
                                  CLOCK_MONOTONIC. */
  void *clock_arg;             /* passed to clock */
} roster_pool_options;

/* roster_pool_new makes a pool into *out and opens min_idle connections on
 * the calling thread before it returns. Errors change nothing (no
 * free_arg, no thread, connections already opened are closed again):
 * ROSTER_EINVAL for NULL opts or out, missing ops, connect or close, a
 * wrong ops version, an empty or over-long name, min_idle > max_size, or
 * a negative maintenance_ms; ROSTER_ERANGE for max_size above
 * ROSTER_POOL_MAX_SIZE or a duration above a year; ROSTER_ENOMEM;
 * ROSTER_ESYS if the maintenance thread cannot start; else the first
 * connect's own code and detail. */
ROSTER_EXTERN int roster_pool_new(const roster_pool_options *opts,
                                  roster_pool **out);

/* roster_pool_free drains the pool (as roster_pool_drain with deadline 0:
 * idle connections are closed at once, nothing waits), stops its
 * maintenance thread and frees it. Connections still in use may be
 * released afterwards: each is closed then, and the pool's memory (with
 * free_arg) goes with the last one; so ops and arg must stay valid until
 * free_arg runs. NULL is ignored. Apart from those releases, no call on
 * the pool may race with or follow this one. */
ROSTER_EXTERN void roster_pool_free(roster_pool *pool);

/* ROSTER_POOL_WAIT_DEFAULT: the pool's acquire_timeout_ms, for
 * roster_pool_acquire_at. ROSTER_POOL_WAIT_FOREVER: no limit. */
#define ROSTER_POOL_WAIT_DEFAULT (-2)
#define ROSTER_POOL_WAIT_FOREVER (-1)

/* roster_pool_acquire_at borrows a connection into *conn (the address of a
 * void *, not a cast PGconn **: copy it into your own type). file, line and
 * func name the call site for leak reports and drain details (string
 * literals, or anything else that outlives the pool; NULL = "?"); use the
 * macros below, or pass your own caller's __FILE__, __LINE__, __func__
 * from a wrapper macro. timeout_ms bounds the wait in the queue: 0 does not
 * wait, > 0 waits that long, ROSTER_POOL_WAIT_FOREVER has no limit and
 * ROSTER_POOL_WAIT_DEFAULT is the pool's. A connect or validate already
 * running is not interrupted (their own timeouts belong to the module).
 *
 * An idle connection is taken first (the calling thread's own last one,
 * if it is idle; else the one released last); else, below max_size, a new
 * one is connected on this thread; else the call queues.
 * On success *conn is non-NULL. Errors (*conn is set to NULL):
 * ROSTER_ETIMEDOUT when no connection came within the timeout (the detail
 * names the pool, its size and max, how many are in use and waiting, and
 * how long this call waited); the connect's own code and detail when a new
 * connection could not be made; ROSTER_ESTATE once the pool is draining;
 * ROSTER_EINVAL for a NULL pool or conn or a timeout below
 * ROSTER_POOL_WAIT_DEFAULT. Blocks; must not be called from the pool's own
 * operations or leak callback. */
ROSTER_EXTERN int roster_pool_acquire_at(roster_pool *pool, int64_t timeout_ms,
                                         void **conn, const char *file,
                                         int line, const char *func);

/* roster_pool_acquire borrows a connection with the pool's timeout,
 * recording the caller's location. See roster_pool_acquire_at. */
#define roster_pool_acquire(pool, conn)                                        \
  roster_pool_acquire_at((pool), ROSTER_POOL_WAIT_DEFAULT, (conn), __FILE__,   \
                         __LINE__, __func__)

/* roster_pool_acquire_timeout: the same with timeout_ms for this call. */
#define roster_pool_acquire_timeout(pool, timeout_ms, conn)                    \
  roster_pool_acquire_at((pool), (timeout_ms), (conn), __FILE__, __LINE__,     \
                         __func__)

/* roster_pool_release gives back conn, acquired from pool by any thread.
 * broken = true says the caller saw it fail: it is closed, never reused.
 * Otherwise it is closed if it has outlived its lifetime, if reset fails,
 * or if the pool is draining; else it goes to the oldest waiter, or back
 * to the idle set. A close or reset runs on this thread before the call
 * returns. ROSTER_EINVAL, changing nothing, for a NULL pool or conn, or a
 * conn this pool does not have out (never acquired from it, or released
 * twice). Never blocks on other callers beyond the pool's mutex (and on
 * the fast path, see above, does not take it). */
ROSTER_EXTERN int roster_pool_release(roster_pool *pool, void *conn,
                                      bool broken);

/* roster_pool_drain stops the pool for good: acquires from then on fail
 * with ROSTER_ESTATE, queued acquires are woken with ROSTER_ESTATE, the
 * maintenance thread stops opening connections, and the idle connections
 * are closed on this thread. It then waits until every connection in use
 * has been released (and closed: a release while draining closes) and
 * every connect, validate or close in flight has finished, or until
 * deadline_ms (<0: no limit, 0: do not wait) has passed. Returns ROSTER_OK
 * when the pool has no connection left and no operation running;
 * ROSTER_ETIMEDOUT if some are still in use at the deadline, the detail
 * naming how many and who holds them (file:line, function, thread, for
 * how long). Those are closed when they are released. May be called again
 * (to wait again); the stats stay readable. */
ROSTER_EXTERN int roster_pool_drain(roster_pool *pool, int64_t deadline_ms);

/* ROSTER_POOL_WAIT_BUCKETS: the wait-time histogram's size. Bucket 0
 * counts acquires that did not queue; bucket i (1..30) those that queued
 * w microseconds with 2^(i-1) <= max(w, 1) < 2^i; bucket 31 everything
 * from 2^30 us (about 18 minutes) up. */
#define ROSTER_POOL_WAIT_BUCKETS 32

/* roster_pool_stats: a snapshot, taken under the pool's lock, so the
 * numbers agree with each other. Counters run from roster_pool_new. */
typedef struct roster_pool_stats {
  unsigned max_size;            /* the pool's max_size */
  unsigned size;                /* connections open: idle + in use */
  unsigned idle;                /* open and not in use */
  unsigned in_use;              /* held by callers (or being validated or
                                   reset) */
  unsigned connecting;          /* connects running now (or permits to
                                   connect handed to waiters) */
  unsigned waiters;             /* acquires queued now */
  uint64_t acquires;            /* acquires that returned a connection */
  uint64_t timeouts;            /* acquires that returned ROSTER_ETIMEDOUT */
  uint64_t created;             /* connects that succeeded */
  uint64_t destroyed;           /* connections closed, for any reason */
  uint64_t connect_failures;    /* connects that failed */
  uint64_t validation_failures; /* connections closed by a failed validate */
  uint64_t reset_failures;      /* connections closed by a failed reset */
  uint64_t broken;              /* released with broken = true */
  uint64_t expired;             /* closed past their lifetime */
  uint64_t idle_closed;         /* closed by the idle timeout */
  uint64_t leaks;               /* leak reports made */
  uint64_t wait_hist[ROSTER_POOL_WAIT_BUCKETS]; /* acquires that returned a
                                   connection or timed out, by time spent
                                   queued; see ROSTER_POOL_WAIT_BUCKETS */
} roster_pool_stats;

/* roster_pool_stats_get fills *out. ROSTER_EINVAL for NULL arguments. */
ROSTER_EXTERN int roster_pool_stats_get(roster_pool *pool,
                                        roster_pool_stats *out);

/* roster_pool_name returns the pool's name (owned by the pool), or "" for
 * NULL. */
ROSTER_EXTERN const char *roster_pool_name(const roster_pool *pool);

#ifdef __cplusplus
}
#endif

#endif /* ROSTER_POOL_H */
