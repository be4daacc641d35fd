/*
 * cache_service.c: caches as registry services: the roster_cache_type
 * descriptor and typed lookups (roster_cache_find). A cache declared from a
 * URL (roster_provide_url through the cache face, cache_driver.c) is a
 * lazy provider of this type: opened on its first roster_cache_find (or by
 * roster_start, when another service depends on it) and freed when the
 * service stops.
 */
#include "cache_impl.h"

static void cache_destroy(void *instance) { roster_cache_free(instance); }

static int cache_health(void *instance) {
  return roster_cache_health(instance);
}

const roster_type roster_cache_type = {
    .name = "cache",
    .destroy = cache_destroy,
    .health = cache_health,
};

ROSTER_DEFINE_FIND(roster_cache_find, roster_cache, roster_cache_type)
