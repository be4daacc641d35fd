/*
 * admin_impl.h: the admin endpoint's private shapes, shared by admin.c
 * (the server, its thread, the actions, live updates), admin_api.c (the
 * JSON answers), admin_metrics.c (/metrics) and admin_service.c (the
 * registry type and the admin:// driver).
 */
#ifndef ROSTER_ADMIN_IMPL_H
#define ROSTER_ADMIN_IMPL_H

#include "roster.h"
#include "roster/admin.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

/* The Socket.IO namespace of live updates. */
#define ROSTER__ADMIN_NSP "/admin"
/* The most panels of an application (roster_admin_panel). */
#define ROSTER__ADMIN_PANELS 32
/* Log levels counted per level: trace, debug, info, warn, error, fatal. */
#define ROSTER__ADMIN_LEVELS 6

/* admin_job: one request waiting for the admin's thread. */
typedef struct roster__admin_job {
  struct roster__admin_job *next;
  roster_httpd_request *req;
} roster__admin_job;

/* roster__admin_tap: what the state listener sees of the admin: cleared
 * (under its lock) before the listener is removed, so a call still in
 * flight emits nothing; freed by the listener's free_arg. */
typedef struct roster__admin_tap {
  pthread_rwlock_t lock;
  roster_socketio *io; /* NULL once the admin stops */
} roster__admin_tap;

struct roster_admin {
  roster *r;
  char *name;
  char *host;
  char *token; /* NULL: none (actions refused) */
  roster_socketio *io;
  roster_log *log;
  uint64_t sink_id;
  uint64_t listen_id;
  roster__admin_tap *tap;
  int64_t interval_ms;

  /* the log ring: the last ring_cap lines, oldest at ring_head */
  pthread_mutex_t ring_mu;
  json_t **ring; /* {"seq","level","line"} objects */
  size_t ring_cap, ring_head, ring_len;
  uint64_t ring_seq;
  atomic_uint_least64_t level_lines[ROSTER__ADMIN_LEVELS];

  /* the application's panels (roster_admin_panel), under panels_mu,
   * which is held while they are called */
  pthread_mutex_t panels_mu;
  struct roster__admin_panel {
    char *title;
    roster_admin_panel_fn fn;
    void *arg;
  } panels[ROSTER__ADMIN_PANELS];
  size_t npanels;

  /* the admin's thread: requests and the stats tick */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  roster__admin_job *head, *tail;
  bool started, stopping, stopped, thread_on;
  pthread_t thread;
};

/* roster__admin_level_index: the ring's slot of a level (0..5). */
int roster__admin_level_index(int level);

/* ---- admin_api.c: JSON documents (new references; NULL on ENOMEM) ---- */

/* /healthz; *ready gets whether every eager service is ready. */
json_t *roster__admin_health_json(roster_admin *a, bool *ready,
                                  bool only_not_ready);
json_t *roster__admin_services_json(roster_admin *a);
json_t *roster__admin_registry_json(roster_admin *a);
json_t *roster__admin_config_json(roster_admin *a);
json_t *roster__admin_cron_json(roster_admin *a);
json_t *roster__admin_pools_json(roster_admin *a);
json_t *roster__admin_logs_json(roster_admin *a);
/* /api/panels: {"<title>": {...}} */
json_t *roster__admin_panels_json(roster_admin *a);
/* the live "stats" event: registry counters and each service's state */
json_t *roster__admin_stats_json(roster_admin *a);

/* ---- admin_metrics.c ---- */

/* roster__admin_metrics writes /metrics into *out (malloc'd, *len bytes);
 * openmetrics picks OpenMetrics 1.0 over the text format 0.0.4. */
int roster__admin_metrics(roster_admin *a, bool openmetrics, char **out,
                          size_t *len);

/* ---- walking the registry ---- */

/* roster__admin_each calls fn for every entry of type t (NULL: any) in
 * every namespace of a's registry, inside a read section. */
typedef void (*roster__admin_entry_fn)(const roster_info *info, void *arg);
void roster__admin_each(roster_admin *a, const roster_type *t,
                        roster__admin_entry_fn fn, void *arg);

#endif /* ROSTER_ADMIN_IMPL_H */
