/*
 * sched_service.c: the scheduler as a service in the registry: its type
 * descriptor and roster_sched_provide, a provider whose create makes,
 * sets up and starts a scheduler and whose destroy stops it gracefully
 * (no new runs; running jobs get the stop timeout) and frees it.
 */
#include "sched_impl.h"

#include <stdio.h>
#include <string.h>

static void sched_type_destroy(void *instance) { roster_sched_free(instance); }

const roster_type roster_sched_type = {
    .name = "roster_sched",
    .destroy = sched_type_destroy,
};

ROSTER_DEFINE_FIND(roster_sched_find, roster_sched, roster_sched_type)

/* svc: a copy of the options, the provider's argument. */
typedef struct svc {
  roster_sched_options opts;
  char *tz;
  roster_sched_clock clock;
} svc;

static void svc_free(void *arg) {
  svc *p = arg;
  roster_mem_free(p->tz);
  roster_mem_free(p);
}

static int svc_create(void *arg, const roster_deps *deps, void **out) {
  svc *p = arg;
  roster_sched *s;
  int rc = roster_sched_new(&p->opts, &s);
  if (rc != ROSTER_OK)
    return rc;
  if (p->opts.setup &&
      (rc = p->opts.setup(s, deps, p->opts.setup_arg)) != ROSTER_OK) {
    char why[512];
    snprintf(why, sizeof why, "%s",
             roster_last_code() == rc ? roster_last_error() : "");
    roster_sched_free(s);
    return roster_error_set(rc, "scheduler setup failed: %s",
                            why[0] ? why : roster_strerror(rc));
  }
  if ((rc = roster_sched_start(s)) != ROSTER_OK) {
    roster_sched_free(s);
    return rc;
  }
  *out = s;
  return ROSTER_OK;
}

static void svc_destroy(void *arg, void *instance) {
  svc *p = arg;
  roster_sched *s = instance;
  roster_sched_stop(s, p->opts.stop_timeout_ms);
  roster_sched_free(s);
}

int roster_sched_provide(roster *r, const char *ns, const char *name,
                         const roster_sched_options *opts) {
  roster_sched_options none = {0};
  if (!opts)
    opts = &none;
  /* check the options now, as roster_sched_new would at start */
  roster_sched *probe;
  int rc = roster_sched_new(opts, &probe);
  if (rc != ROSTER_OK)
    return rc;
  roster_sched_free(probe);
  svc *p = roster_mem_calloc(1, sizeof *p);
  if (!p || (opts->tz && !(p->tz = roster_mem_strdup(opts->tz)))) {
    roster_mem_free(p);
    return roster_error_set(ROSTER_ENOMEM, "scheduler: out of memory");
  }
  p->opts = *opts;
  p->opts.tz = p->tz;
  if (opts->clock) {
    p->clock = *opts->clock;
    p->opts.clock = &p->clock;
  }
  p->opts.deps = NULL; /* roster_provide copies them */
  if (!p->opts.stop_timeout_ms)
    p->opts.stop_timeout_ms = 10000;
  roster_provider pv = {
      .type = &roster_sched_type,
      .create = svc_create,
      .destroy = svc_destroy,
      .arg = p,
      .free_arg = svc_free,
      .deps = opts->deps,
      .stop_timeout_ms = p->opts.stop_timeout_ms + 1000,
  };
  rc = roster_provide(r, ns, name, &pv);
  if (rc != ROSTER_OK)
    svc_free(p);
  return rc;
}
