/*
 * roster/lifecycle.h: providers, dependency order, health, restart, shutdown.
 *
 * A provider is a factory registered under a (namespace, name) key instead
 * of an instance: a type descriptor, a create function, optional destroy and
 * check functions, an argument and the names of the services it depends on.
 * roster creates the instance (lazily on the first roster_get, or eagerly in
 * roster_start), registers it under the provider's key so every registry call
 * finds it, checks its health, restarts it by policy, and stops it in
 * reverse dependency order.
 *
 * States (roster_state): declared -> starting -> ready; ready <-> degraded
 * (a dependency is not ready) and ready <-> unhealthy (its own readiness
 * check failed N times running); -> stopping -> stopped, or failed. Every
 * transition is told to listeners of ROSTER_EV_STATE with its timestamps.
 *
 * The instance is registered in the registry when the service becomes ready
 * and unregistered when it starts stopping, so roster_get, roster_wait_for
 * and listeners see exactly the services that are up. While it is stopping,
 * roster waits (within the stop timeout) for every roster_acquire reference
 * to be released and for readers to move on, then calls destroy.
 *
 * Threads: every call here may be made from any thread. Eager creates,
 * destroys and checks run on the registry's worker pool (at most
 * roster_options.workers at a time); a lazy create runs on the thread of the
 * roster_get that triggered it. No roster lock is held while any of them
 * runs, so they may call roster functions, including roster_get of other
 * services. A function that overruns its timeout is abandoned: roster stops
 * waiting for it, reports it, and replaces its worker; if it returns later,
 * what it made is destroyed on that abandoned thread.
 *
 * Dependencies are names in the provider's own namespace. A dependency may
 * be another provider or a plain registered instance (treated as always
 * ready); in a scope it may also live in the parent. Unknown dependencies
 * and cycles are reported (with the cycle's path) before anything starts.
 *
 * Errors: as everywhere, a negative roster_err and a sentence in
 * roster_last_error() that names the service and its cause.
 */
#ifndef ROSTER_LIFECYCLE_H
#define ROSTER_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "registry.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ROSTER_DEPS_MAX is the most dependencies one provider may name. */
#define ROSTER_DEPS_MAX 64

/* roster_state: where a service is in its life. */
typedef enum roster_state {
  ROSTER_STATE_DECLARED = 0, /* provided, not created yet */
  ROSTER_STATE_STARTING,     /* create is running */
  ROSTER_STATE_READY,        /* up, healthy, every dependency ready */
  ROSTER_STATE_DEGRADED,     /* up, but a dependency is not ready */
  ROSTER_STATE_UNHEALTHY,    /* up, but its readiness check is failing */
  ROSTER_STATE_STOPPING,     /* destroy is pending or running */
  ROSTER_STATE_STOPPED,      /* stopped by shutdown or a normal exit */
  ROSTER_STATE_FAILED,       /* create failed, it failed while up, or its
                                restarts ran out; see the last error */
} roster_state;

/* roster_state_name: "declared", "starting", "ready", ... ("?" otherwise). */
ROSTER_EXTERN const char *roster_state_name(roster_state s);

/* roster_deps: the resolved dependencies handed to create, in the order the
 * provider named them. Valid only during the create call. */
typedef struct roster_deps {
  size_t count;
  const char *const *names; /* count names */
  void *const *instances;   /* count instances, same order */
} roster_deps;

/* roster_deps_get returns the instance of dependency `name`, or NULL. */
ROSTER_EXTERN void *roster_deps_get(const roster_deps *deps, const char *name);

/* roster_create_fn makes the instance into *out and returns ROSTER_OK, or
 * returns a negative code (set a detail with roster_error_set; it becomes
 * the service's last error). deps holds every named dependency, ready. A
 * value that is not a roster_err (positive, or an unknown negative one)
 * fails the service with ROSTER_EFAILED, the detail saying what it was. */
typedef int (*roster_create_fn)(void *arg, const roster_deps *deps, void **out);
/* roster_destroy_fn stops and frees an instance create made. */
typedef void (*roster_destroy_fn)(void *arg, void *instance);
/* roster_check_fn returns ROSTER_OK when the check passes, else a code
 * (detail via roster_error_set); a value that is not a roster_err counts as
 * ROSTER_EFAILED, the detail saying what it was. */
typedef int (*roster_check_fn)(void *arg, void *instance);

/* roster_restart: what to do when a service that was up fails or exits. */
typedef enum roster_restart {
  ROSTER_RESTART_NEVER = 0,  /* stay failed (or stopped) */
  ROSTER_RESTART_ON_FAILURE, /* restart after a failure, not a normal exit */
  ROSTER_RESTART_ALWAYS,     /* restart after a failure or a normal exit */
} roster_restart;

/* roster_on_dep: what a service does when one of its dependencies restarts
 * (the instance it was given is about to be destroyed). */
typedef enum roster_on_dep {
  ROSTER_ON_DEP_RESTART = 0, /* stop before the dependency stops; start
                                again once it is ready (the safe default) */
  ROSTER_ON_DEP_NOTIFY,      /* stay up, marked degraded meanwhile; for
                                services that look the dependency up by
                                name each time rather than keep its pointer */
} roster_on_dep;

/* roster_provider: how to make, check and stop one service. {0} plus a type
 * and a create is a valid eager provider with no dependencies. Every
 * duration is in milliseconds; 0 picks the default shown. Strings and the
 * deps array are copied. */
typedef struct roster_provider {
  const roster_type *type;     /* required: the instance's type; roster_get
                                  checks it as for any registration */
  roster_create_fn create;     /* required */
  roster_destroy_fn destroy;   /* NULL: type->destroy(instance), if set */
  roster_check_fn ready;       /* readiness; NULL: type->health, if set.
                                  Failing -> unhealthy; dependents degraded */
  roster_check_fn live;        /* liveness, optional. Failing -> the service
                                  is failed and restarted by policy */
  void *arg;                   /* passed to every function above */
  void (*free_arg)(void *arg); /* called when the provider is freed */
  const char *const *deps;     /* NULL-terminated dependency names, or NULL */
  bool lazy;                   /* create on first roster_get, not in start */
  int64_t start_timeout_ms;    /* create on the pool; 30000; <0: none */
  int64_t stop_timeout_ms;     /* release wait + destroy; 10000; <0: none */
  int64_t check_interval_ms;   /* between checks; 5000 */
  int64_t check_timeout_ms;    /* a check that overruns fails; 1000 */
  unsigned fail_threshold;     /* consecutive failures to change state; 3 */
  unsigned pass_threshold;     /* consecutive passes to recover; 2 */
  roster_restart restart;      /* ROSTER_RESTART_NEVER */
  int64_t backoff_min_ms;      /* first restart delay; 100 */
  int64_t backoff_max_ms;      /* delay cap (doubles each time); 30000 */
  unsigned max_restarts;       /* intensity: at most this many restarts... */
  int64_t restart_window_ms;   /* ...in this window (5 in 60000), else the
                                  service is failed for good */
  roster_on_dep on_dep;        /* ROSTER_ON_DEP_RESTART */
} roster_provider;

/* roster_provide declares a service under (ns, name). The key must be free:
 * ROSTER_EEXIST if an instance or another provider holds it. From then on
 * the key is the provider's: roster_register or roster_replace of it fails
 * with ROSTER_EEXIST (in a scope only the scope's own keys count).
 * ROSTER_EINVAL for a bad name, a missing type or create, more than
 * ROSTER_DEPS_MAX or a bad dependency name, or a negative threshold;
 * ROSTER_ESTATE while the registry is shutting down. Dependencies need not
 * exist yet: they are checked by roster_start (or the first roster_get of a
 * lazy service). A service declared after roster_start is started by the
 * next roster_start, or on first use if lazy. */
ROSTER_EXTERN int roster_provide(roster *r, const char *ns, const char *name,
                                 const roster_provider *p);

/* roster_start creates every eager service that is not up, with the lazy
 * services they depend on, in dependency order: each service starts as soon
 * as its own dependencies are ready, independent ones in parallel on the
 * worker pool. Returns ROSTER_OK when all are ready, or the first failure:
 * the failing service's code (ROSTER_ETIMEDOUT for a start timeout,
 * ROSTER_ECYCLE for a cycle, ROSTER_ENOENT for an unknown dependency) with a
 * detail naming it and its cause; then every service this call started is
 * stopped again in reverse order, and services it did not reach stay
 * declared. Calling it again tries the failed service again. timeout_ms
 * (<0: none) bounds the whole call. Blocks; must not be called from a
 * create, destroy or check. */
ROSTER_EXTERN int roster_start(roster *r, int64_t timeout_ms);

/* roster_wait_ready blocks until every eager service declared in r is ready
 * (not degraded, not unhealthy), or timeout_ms (<0: none) passes:
 * ROSTER_ETIMEDOUT naming the services not ready. ROSTER_EFAILED at once if
 * one has failed for good. Woken by state changes; does not poll. */
ROSTER_EXTERN int roster_wait_ready(roster *r, int64_t timeout_ms);

/* roster_shutdown stops every service that is up, in reverse dependency
 * order (a service stops only after everything that depends on it stopped),
 * independent ones in parallel, each within its stop timeout, all within
 * deadline_ms (<0: none). A service that overruns is reported and abandoned
 * (its dependencies are then stopped anyway): ROSTER_ETIMEDOUT, naming it.
 * Health checks and restarts stop first. Afterwards the services are
 * stopped (or failed) and roster_start may start them again. Blocks. */
ROSTER_EXTERN int roster_shutdown(roster *r, int64_t deadline_ms);

/* roster_service_exit reports, from the service's own code, that its work
 * has ended: code ROSTER_OK for a normal exit, else a failure (detail is
 * kept, may be NULL; a code that is not a roster_err is kept as
 * ROSTER_EFAILED, the detail saying what it was). roster stops the
 * instance and then restarts it, or not, by its restart policy.
 * ROSTER_ENOENT if no provider holds the key, ROSTER_ESTATE if the service
 * is not up. Returns at once; the stop and restart happen on the worker
 * pool. */
ROSTER_EXTERN int roster_service_exit(roster *r, const char *ns,
                                      const char *name, int code,
                                      const char *detail);

/* roster_service_state puts the state of the provider at (ns, name) into
 * *out. ROSTER_ENOENT if no provider holds the key. */
ROSTER_EXTERN int roster_service_state(roster *r, const char *ns,
                                       const char *name, roster_state *out);

/* ------------------------------------------------------------------ */
/* Health                                                              */

/* roster_service_health: one service in a health report. Times are
 * CLOCK_MONOTONIC nanoseconds (0 = never) unless named unix_ms. */
typedef struct roster_service_health {
  const char *ns;
  const char *name;
  const char *type; /* the type descriptor's name */
  roster_state state;
  bool lazy;
  bool live;               /* false once liveness failed, until restart */
  int64_t since_ns;        /* when it entered state */
  int64_t since_unix_ms;   /* the same, wall clock */
  int64_t last_check_ns;   /* last readiness/liveness check finished */
  int64_t last_latency_us; /* how long that check took */
  unsigned consecutive_failures;
  unsigned restarts;       /* restarts so far */
  int64_t next_restart_ns; /* a restart is scheduled for then, or 0 */
  int last_error;          /* ROSTER_OK, or the last failure's code */
  const char *last_detail; /* its sentence ("" if none) */
} roster_service_health;

/* roster_health_report: from roster_health, freed by
 * roster_health_report_free. Items are in declaration order. */
typedef struct roster_health_report {
  size_t count;
  roster_service_health *items;
  bool ready; /* every eager service is ready */
} roster_health_report;

/* roster_health fills *out with every service of r (not its parent). The
 * report is a copy: the caller owns it. */
ROSTER_EXTERN int roster_health(roster *r, roster_health_report *out);
ROSTER_EXTERN void roster_health_report_free(roster_health_report *report);

/* ------------------------------------------------------------------ */
/* State events                                                        */

/* Listeners of ROSTER_EV_STATE (see roster_listen) see every service state
 * transition: roster_event.entry describes the service (the instance may
 * be NULL; owner and metadata are NULL) and roster_event.state holds the
 * change. They run on the thread that made the change, in order per
 * service, with no roster lock held. */

/* roster_state_change: one transition, valid while the listener runs. */
typedef struct roster_state_change {
  roster_state from;
  roster_state to;
  int64_t at_ns;      /* CLOCK_MONOTONIC */
  int64_t prev_at_ns; /* CLOCK_MONOTONIC: when the service entered from,
                         so at_ns - prev_at_ns is the time spent there */
  int64_t at_unix_ms; /* wall clock */
  int error;          /* ROSTER_OK, or why (failed, unhealthy...) */
  const char *detail; /* sentence for error ("" if none) */
  bool final;         /* failed with no restart to come */
} roster_state_change;

/* ------------------------------------------------------------------ */
/* Running a program                                                   */

/* roster_run_options: {0} means the defaults. */
typedef struct roster_run_options {
  int64_t start_timeout_ms;     /* roster_start's; <=0: 60000 */
  int64_t shutdown_deadline_ms; /* roster_shutdown's; <=0: 30000 */
  bool no_force_exit;           /* a second signal makes roster_run return
                                   ROSTER_ECANCELED instead of _exit(128+sig) */
  const char *status;           /* systemd STATUS= once ready; NULL: "ready" */
} roster_run_options;

/* roster_run is a program's main loop: it catches SIGTERM and SIGINT (a
 * self-pipe; the handler only writes the signal number), starts r, waits
 * for a signal, and shuts r down; the old handlers are restored before it
 * returns. Under systemd (NOTIFY_SOCKET set) it sends READY=1 with STATUS=
 * once started, WATCHDOG=1 every WATCHDOG_USEC/2 while running, and
 * STOPPING=1 when the signal comes. A second signal during shutdown forces
 * the exit. Returns ROSTER_OK after a clean shutdown, the start error if
 * start failed (after stopping what started), or the shutdown error. */
ROSTER_EXTERN int roster_run(roster *r, const roster_run_options *opts);

/* roster_sd_notify sends one systemd notify message (e.g. "STATUS=warming
 * up") to $NOTIFY_SOCKET. ROSTER_OK, also when NOTIFY_SOCKET is unset (then
 * nothing is sent); ROSTER_ESYS if the send fails. */
ROSTER_EXTERN int roster_sd_notify(const char *message);

/* ------------------------------------------------------------------ */
/* Scopes                                                              */

/* roster_scope_new makes a child registry of parent. Lookups (get, acquire,
 * has, lookup, wait_for, lazy creation, dependencies) look in the scope
 * first and then in its parent, so registering or providing a name in the
 * scope shadows the parent's service without touching it. Listings,
 * select, dispatch, counts, listeners, health and start/shutdown see only
 * the scope itself. roster_free(scope) shuts down and removes only what the
 * scope holds. The scope takes its parent's keys mode. A parent freed while
 * scopes live is emptied at once and released with its last scope. Stores
 * the scope in *out: ROSTER_OK, or ROSTER_EINVAL (NULL parent or out),
 * ROSTER_ENOMEM (detail in roster_last_error(); *out NULL). */
ROSTER_EXTERN int roster_scope_new(roster *parent, roster **out);

/* roster_parent: the scope's parent, or NULL for a root registry. */
ROSTER_EXTERN roster *roster_parent(const roster *r);

/* ------------------------------------------------------------------ */
/* The service graph                                                   */

/* roster_graph_json puts into *out a JSON document describing r's services:
 *   {"registry":"...","services":[{"ns":"...","name":"...","type":"...",
 *    "state":"ready","lazy":false,"deps":["..."],"restarts":0,
 *    "error":null}, ...]}
 * roster_graph_dot puts a Graphviz digraph (an edge from each service to
 * each dependency, nodes coloured by state). Free *out with roster_mem_free.
 * A snapshot: states may change right after. */
ROSTER_EXTERN int roster_graph_json(roster *r, char **out);
ROSTER_EXTERN int roster_graph_dot(roster *r, char **out);

#ifdef __cplusplus
}
#endif

#endif /* ROSTER_LIFECYCLE_H */
