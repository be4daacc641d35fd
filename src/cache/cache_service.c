/*
 * cache_service.c: caches as registry services: the roster_cache_type
 * descriptor and typed lookups (roster_cache_get). A cache declared from a
 * URL (roster_provide_url through the cache face, cache_driver.c) is a
 * lazy provider of this type: opened on its first roster_cache_get (or by
 * roster_start, when another service depends on it) and freed when the
 * service stops.
 */
#include "cache_impl.h"

static void cache_destroy(void *instance) { roster_cache_free(instance); }

static int cache_health(void *instance) { return roster_cache_health(instance); }

const roster_type roster_cache_type = {
    .name = "cache",
    .destroy = cache_destroy,
    .health = cache_health,
};

int roster_cache_get_ns(roster *r, const char *ns, const char *name,
                        roster_cache **out) {
  if (!out)
    return roster__err(ROSTER_EINVAL, "roster_cache_get: out is NULL");
  void *p = NULL;
  int rc = roster_get(r, ns, name, &roster_cache_type, &p);
  *out = p;
  return rc;
}

int roster_cache_get(roster *r, const char *name, roster_cache **out) {
  return roster_cache_get_ns(r, NULL, name, out);
}
