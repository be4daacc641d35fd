/*
 * service.c: Redis in the registry: the roster_redis_type descriptor,
 * typed lookups, the redis:// and unix:// drivers, and roster_redis_init.
 *
 * A redis:// (or unix://) URL declares one of two things. By default a
 * client service (roster_redis_type; roster_redis_find), whose create
 * opens the client and PINGs once, so that a server that is down fails
 * the start with its reason; with kind=cache (in the query or the
 * options) a cache service (roster_cache_type; roster_cache_find) through
 * roster_cache_provide, which opens a cache with a client of its own.
 * Either way every option is checked when the service is declared.
 */
#include "redis_impl.h"

#include "base/helpers.h" /* roster__err_wrap, roster__err_save */

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static void client_destroy(void *instance) { roster_redis_free(instance); }

static int client_health(void *instance) {
  return roster_redis_health(instance);
}

const roster_type roster_redis_type = {
    .name = "redis",
    .destroy = client_destroy,
    .health = client_health,
};

ROSTER_DEFINE_FIND(roster_redis_find, roster_redis, roster_redis_type)

/* ---- declared clients ----------------------------------------------- */

typedef struct decl {
  char *url;
  char **opts; /* NULL-terminated copy */
  char *name;
} decl;

static void decl_free(void *arg) {
  decl *d = arg;
  if (!d)
    return;
  roster_mem_strv_free(d->opts);
  roster_mem_free(d->url);
  roster_mem_free(d->name);
  roster_mem_free(d);
}

static decl *decl_new(const char *name, const char *url,
                      const char *const *opts) {
  decl *d = roster_mem_calloc(1, sizeof *d);
  if (!d)
    return NULL;
  d->url = roster_mem_strdup(url);
  d->name = roster_mem_strdup(name);
  d->opts = roster_mem_strv_dup(opts);
  if (!d->url || !d->name || !d->opts) {
    decl_free(d);
    return NULL;
  }
  return d;
}

static int decl_create(void *arg, const roster_deps *deps, void **out) {
  (void)deps;
  decl *d = arg;
  roster_redis_options o = {.name = d->name};
  roster_redis *cli = NULL;
  *out = NULL;
  int rc = roster_redis_open(d->url, (const char *const *)d->opts, &o, &cli);
  if (!rc) {
    rc = roster_redis_health(cli);
    if (rc) {
      roster__err_saved e;
      roster__err_save(&e, rc);
      roster_redis_free(cli);
      return roster__err_restore(&e);
    }
  }
  *out = cli;
  return rc;
}

static void decl_destroy(void *arg, void *instance) {
  (void)arg;
  roster_redis_free(instance);
}

static int provide(roster *r, const char *ns, const char *name,
                   const roster_url *url, const char *text,
                   const char *const *opts, void *arg) {
  (void)arg;
  rr_conf c;
  roster_redis_options o = {.name = name};
  int rc = roster__redis_conf_from(url, opts, &o, false, &c);
  if (rc)
    return roster__err_wrap(rc, "service '%s'", name);
  bool cache = c.kind_cache;
  roster__redis_conf_free(&c);
  if (cache)
    return roster_cache_provide(r, ns, name, text, opts);
  decl *d = decl_new(name, text, opts);
  if (!d)
    return roster_error_set(ROSTER_ENOMEM, "service '%s': out of memory", name);
  roster_provider p = {
      .type = &roster_redis_type,
      .create = decl_create,
      .destroy = decl_destroy,
      .arg = d,
      .free_arg = decl_free,
      .lazy = true,
  };
  rc = roster_provide(r, ns, name, &p);
  if (rc)
    decl_free(d);
  return rc;
}

static const roster_driver driver_redis = {
    .version = ROSTER_DRIVER_VERSION,
    .scheme = "redis",
    .module = "redis",
    .type = &roster_redis_type,
    .provide = provide,
};

static const roster_driver driver_unix = {
    .version = ROSTER_DRIVER_VERSION,
    .scheme = "unix",
    .module = "redis",
    .type = &roster_redis_type,
    .provide = provide,
};

/* ---- init ----------------------------------------------------------- */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc;
static char init_detail[512];

static void init_all(void) {
  const roster_driver *ds[] = {&driver_redis, &driver_unix};
  const roster_cache_backend *bs[] = {&roster__redis_cache_backend,
                                      &roster__redis_cache_backend_unix};
  for (size_t i = 0; i < 2 && !init_rc; i++)
    init_rc = roster_driver_register(ds[i]);
  for (size_t i = 0; i < 2 && !init_rc; i++)
    init_rc = roster_cache_backend_register(bs[i]);
  if (init_rc)
    snprintf(init_detail, sizeof init_detail, "%s", roster_last_error());
}

int roster_redis_init(void) {
  pthread_once(&init_once, init_all);
  if (init_rc)
    return roster_error_set(init_rc, "roster_redis_init: %s", init_detail);
  return ROSTER_OK;
}
