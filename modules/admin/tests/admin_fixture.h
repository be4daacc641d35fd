/*
 * admin_fixture.h: what the admin endpoint's tests share: a registry
 * holding one of each kind the endpoint reports (a SQLite database with
 * its pool, a memory cache, a scheduler with a job, a logger, a Socket.IO
 * server, a config holding secrets, services ready and unhealthy), and
 * HTTP requests over the httpd tests' raw client.
 */
#ifndef ADMIN_FIXTURE_H
#define ADMIN_FIXTURE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <roster.h>
#include <roster/admin.h>

#include "httpd_client.h"

/* The secrets the fixture's config holds: no byte of a response may show
 * them. */
#define FX_PASSWORD "hunter2-s3cret-pass"
#define FX_URL_PASSWORD "pw-in-url-7731"

typedef struct fx {
  roster *r;
  roster_log *log; /* registered as "log"; the fixture keeps a handle */
  int null_fd;     /* the logger's sink */
  roster_sched *sched;
  roster_admin *admin;
  uint16_t port;
  atomic_int job_runs;
} fx;

/* fx_setup fills the registry (with names that need escaping in metrics)
 * and starts an endpoint on it with o (port 0 and the logger tapped). */
void fx_setup(fx *f, const roster_admin_options *o);
void fx_teardown(fx *f);
/* fx_set_failing makes the service "flappy" fail (or pass) its readiness
 * check. */
void fx_set_failing(bool fail);
/* fx_ok_creates: how many times the service "ok" was made. */
int fx_ok_creates(void);

/* fx_get / fx_post: one request on a connection of its own; the status,
 * or -1. auth: an Authorization value or NULL; accept: an Accept value or
 * NULL. */
int fx_get(uint16_t port, const char *path, const char *accept, hc_resp *r);
int fx_post(uint16_t port, const char *path, const char *auth, const char *body,
            hc_resp *r);

#endif /* ADMIN_FIXTURE_H */
