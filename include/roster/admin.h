/*
 * roster/admin.h: the admin endpoint (modules/admin, library roster_admin,
 * pkg-config roster_admin): one HTTP port that shows a registry to people
 * and to probes, built on a Socket.IO server of its own (roster/socketio.h).
 *
 *   GET  /livez            200 "ok" while the I/O loop turns
 *   GET  /readyz           200 when every eager service is ready, else 503
 *                          with a JSON body naming those that are not and why
 *   GET  /healthz          JSON: every service's health (roster_health)
 *   GET  /metrics          Prometheus text 0.0.4, or OpenMetrics 1.0 when
 *                          Accept asks for application/openmetrics-text
 *   GET  /api/services     services, dependencies, restarts, last error
 *   GET  /api/registry     entries by namespace
 *   GET  /api/config       every config of the registry, with provenance,
 *                          secrets always redacted
 *   GET  /api/cron         every scheduler's jobs with their next runs
 *   GET  /api/pools        pools (of the databases) and caches with stats
 *   GET  /api/logs         recent lines of the tapped logger (a ring)
 *   GET  /api/panels       the application's own panels (roster_admin_panel)
 *   POST /api/actions/...  restart, run a job now, enable or disable a job,
 *                          set the log level: Authorization: Bearer <token>
 *   /socket.io/            live updates in namespace "/admin": events
 *                          "state", "log", "stats" (every stats interval,
 *                          with the panels)
 *   GET  /                 a page saying where the API is
 *
 * The JSON shapes are documented in docs/admin.md.
 *
 * Security: the endpoint binds 127.0.0.1 by default. A bind to any other
 * address needs a token, else roster_admin_new refuses it. Actions need
 * the token (compared in constant time): 401 without an Authorization
 * header, 403 with a wrong one, and 403 for every action when no token is
 * configured. Reads (GET, the live namespace) need none. Config values
 * under secret-looking keys and URL passwords are redacted in every answer.
 *
 * Threads: /livez is answered on the server's I/O thread; every other
 * request, the actions and the stats tick run on the admin's own thread
 * ("roster-admin"), so a slow stats call (a Redis cache) never stalls the
 * loop. Every call here may be made from any thread; roster_admin_stop and
 * _free must not be made from a request handler or a listener.
 *
 * Errors: roster codes with a sentence in roster_last_error().
 */
#ifndef ROSTER_ADMIN_H
#define ROSTER_ADMIN_H

#include <stdint.h>

#include "log.h"
#include "registry.h"
#include "socketio.h"
#include "version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* roster_admin: one endpoint. Opaque. */
typedef struct roster_admin roster_admin;

/* roster_admin_options: {0} gives the defaults shown. */
typedef struct roster_admin_options {
  const char *name;          /* in details; copied; NULL: "admin" */
  const char *host;          /* numeric address to bind; NULL: "127.0.0.1" */
  uint16_t port;             /* 0: any free port (roster_admin_port) */
  const char *token;         /* the actions' token; copied; NULL: token_env */
  const char *token_env;     /* when token is NULL: the environment variable
                                holding it (e.g. "ROSTER_ADMIN_TOKEN"), read by
                                roster_admin_new; NULL or unset: no token */
  roster_log *log;           /* tapped for /api/logs and live lines, and the
                                logger set-level acts on; NULL: none. Must
                                outlive the admin. */
  unsigned log_lines;        /* lines the ring keeps; 0: 200 */
  int64_t stats_interval_ms; /* live "stats" events; 0: 1000 */
} roster_admin_options;

/* roster_admin_new makes an endpoint for r (which must outlive it), bound
 * to its address (roster_admin_port is known) but not serving yet. o may
 * be NULL. Errors (*out is NULL): ROSTER_EINVAL (NULL r or out; a bind
 * that is not loopback without a token; an empty token), ROSTER_ESYS (the
 * bind), ROSTER_ENOMEM. */
ROSTER_EXTERN int roster_admin_new(roster *r, const roster_admin_options *o,
                                   roster_admin **out);

/* roster_admin_start serves: the Socket.IO server, the admin's thread,
 * the log tap and the state listener. ROSTER_ESTATE when started before;
 * ROSTER_ESYS when a thread cannot start. */
ROSTER_EXTERN int roster_admin_start(roster_admin *a);

/* roster_admin_stop stops within deadline_ms (0: 5000): the server stops
 * (live clients get a disconnect), requests still queued are answered
 * 503, the log tap and the listener are removed. A second stop is
 * ROSTER_OK. */
ROSTER_EXTERN int roster_admin_stop(roster_admin *a, int64_t deadline_ms);

/* roster_admin_free stops (if needed) and frees a. NULL: no-op. */
ROSTER_EXTERN void roster_admin_free(roster_admin *a);

/* roster_admin_port: the bound port. */
ROSTER_EXTERN uint16_t roster_admin_port(const roster_admin *a);

/* roster_admin_socketio: the admin's Socket.IO server (valid until
 * roster_admin_free), e.g. to add a namespace of one's own. */
ROSTER_EXTERN roster_socketio *roster_admin_socketio(roster_admin *a);

/* roster_admin_panel_fn returns a panel's figures now: a new JSON object
 * (the caller takes it) of names to numbers, strings, booleans or null,
 * shown in that order; NULL to show nothing this time. It runs on the
 * admin's thread, for /api/panels and at each stats tick: it must be
 * quick and must not call roster_admin_panel or _stop. */
typedef json_t *(*roster_admin_panel_fn)(void *arg);

/* roster_admin_panel adds (fn not NULL) or removes (fn NULL) a panel of
 * the application's own: figures that the endpoint does not know about
 * (a discovery mirror's staleness, a queue's depth), shown in
 * /api/panels as {"<title>": {...}}, in every live "stats" event under
 * "panels", and as a table on the dashboard. title: 1..64 bytes,
 * UTF-8, copied; adding a title again replaces its function. fn(arg) is
 * not called after the removal returns (nor after roster_admin_stop).
 * ROSTER_EINVAL (NULL a, a bad title), ROSTER_ENOENT (removing a title
 * not there), ROSTER_ERANGE (over 32 panels), ROSTER_ENOMEM. Any thread
 * but the panel functions'. */
ROSTER_EXTERN int roster_admin_panel(roster_admin *a, const char *title,
                                     roster_admin_panel_fn fn, void *arg);

/* roster_admin_health: ROSTER_OK while the endpoint serves; else
 * ROSTER_ESTATE with why. */
ROSTER_EXTERN int roster_admin_health(roster_admin *a);

/* roster_admin_type: the descriptor of endpoints in a registry; destroy
 * stops (5 s) and frees. */
ROSTER_EXTERN extern const roster_type roster_admin_type;

/* roster_admin_find finds the endpoint registered as (ns, name). Errors
 * as roster_get (ROSTER_ETYPE for an entry of another type). */
ROSTER_EXTERN int roster_admin_find(roster *r, const char *ns, const char *name,
                                    roster_admin **out);

/* roster_admin_init registers the admin:// driver: a URL
 * admin://host:port declares an endpoint service for the registry it is
 * declared in (made and started by roster_start), with options (in the
 * query or in opts) token_env (the variable holding the token),
 * log_lines, stats_interval (ms). A token itself is never accepted in a
 * URL. Declaring the same name with the same URL again is the same
 * service. */
ROSTER_EXTERN int roster_admin_init(void);

#ifdef __cplusplus
}
#endif

#endif /* ROSTER_ADMIN_H */
