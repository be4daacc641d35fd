/*
 * service.c: Redis in the registry: the roster_redis_type descriptor,
 * typed lookups, the driver of redis:// and unix://, and roster_redis_init.
 *
 * A redis:// (or unix://) URL declares one of two things. By default a
 * client service (roster_redis_type; roster_redis_find), whose create
 * opens the client and PINGs once, so that a server that is down fails
 * the start with its reason; with kind=cache (in the query or the
 * options) a cache service (roster_cache_type; roster_cache_find) through
 * the driver's cache face, which opens a cache with a client of its own.
 * Either way every option is checked when the service is declared.
 */
#include "redis_impl.h"

#include "base/helpers.h" /* roster__err_save */

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

/* ---- the driver ----------------------------------------------------- */

/* The client face: checked when declared, opened (and PINGed once, so
 * that a server that is down fails the service's creation with its
 * reason) when created. */
static int client_check(const roster_url *url, const char *text,
                        const char *const *opts, const char *name) {
  (void)text;
  rr_conf c;
  roster_redis_options o = {.name = name};
  int rc = roster__redis_conf_from(url, opts, &o, false, &c);
  if (!rc)
    roster__redis_conf_free(&c);
  return rc;
}

static int client_open(const char *text, const char *const *opts,
                       const char *name, void **out) {
  roster_redis_options o = {.name = name};
  roster_redis *cli = NULL;
  *out = NULL;
  int rc = roster_redis_open(text, opts, &o, &cli);
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

static const roster_service_ops client_face = {
    .version = ROSTER_DRIVER_VERSION,
    .kind = "client",
    .type = &roster_redis_type,
    .check = client_check,
    .open = client_open,
};

static const char *const schemes[] = {"redis", "unix", NULL};

/* redis:// and unix:// declare a client service, or with kind=cache a
 * cache service (the cache face: cache.c). */
const roster_driver roster__redis_driver = {
    .version = ROSTER_DRIVER_VERSION,
    .name = "redis",
    .module = "redis",
    .schemes = schemes,
    .faces = {{&roster_service_face, &client_face},
              {&roster_cache_face, &roster__redis_cache_backend}},
};

int roster_redis_init(void) {
  return roster_driver_register(&roster__redis_driver);
}
