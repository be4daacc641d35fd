/*
 * cache_service.c: caches as registry services: the roster_cache_type
 * descriptor, typed lookups (roster_cache_find), roster_cache_provide, and
 * the memory:// driver of the driver table.
 *
 * The driver is built in: the core's driver table adds it on first use
 * (driver.c), so roster_provide_url(r, NULL, "sessions",
 * "memory://sessions?max_entries=1000", NULL) works with no set-up call,
 * in a static link too (driver.c references the driver, which pulls this
 * file in). A declared cache is a lazy provider: it is opened on its first
 * roster_cache_find (or by roster_start, when another service depends on
 * it) and freed when the service stops.
 */
#include "cache_impl.h"

#include <stdio.h>
#include <strings.h>

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

/* ---- declared caches ------------------------------------------------ */

typedef struct cache_decl {
  char *url;   /* the URL as given */
  char **opts; /* a copy of the options, NULL-terminated */
  char *name;  /* the service's name, the cache's name in details */
} cache_decl;

static void decl_free(void *arg) {
  cache_decl *d = arg;
  if (!d)
    return;
  roster_mem_strv_free(d->opts);
  roster__free(d->url);
  roster__free(d->name);
  roster__free(d);
}

static cache_decl *decl_new(const char *name, const char *url,
                            const char *const *opts) {
  cache_decl *d = roster__calloc(1, sizeof *d);
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
  cache_decl *d = arg;
  roster_cache_options o = {.name = d->name};
  roster_cache *c = NULL;
  int rc = roster_cache_open(d->url, (const char *const *)d->opts, &o, &c);
  *out = c;
  return rc;
}

static void decl_destroy(void *arg, void *instance) {
  (void)arg;
  roster_cache_free(instance);
}

int roster_cache_provide(roster *r, const char *ns, const char *name,
                         const char *url, const char *const *opts) {
  if (!r)
    return roster__err(ROSTER_EINVAL, "registry is NULL");
  size_t len;
  int rc = roster__check_name("name", name, &len, false);
  if (rc)
    return rc;
  roster_url *u = NULL;
  rc = roster_url_parse(url, &u);
  if (rc)
    return rc;
  char shown[512];
  roster__url_shown(url, shown, sizeof shown);
  const roster_cache_backend *be = roster_cache_backend_find(u->scheme);
  if (!be) {
    char why[1024];
    if (roster_driver_find(u->scheme))
      rc = roster__err(ROSTER_ENOTSUP,
                       "cache '%s': no cache backend serves URL scheme '%s' "
                       "(%s)",
                       name, u->scheme, shown);
    else
      rc = roster__err(ROSTER_ENOTSUP, "cache '%s': %s", name,
                       roster__no_module(why, sizeof why, u->scheme, shown));
  } else if (be == &roster__memory_backend) {
    /* Bad options fail now, when the service is declared, not at its
     * first use. */
    roster_cache_memory_options mo;
    rc = roster__memory_options(u, opts, &mo);
    if (rc)
      rc = roster__err_wrap(rc, "cache '%s' (%s)", name, shown);
  }
  roster_url_free(u);
  if (rc)
    return rc;
  cache_decl *d = decl_new(name, url, opts);
  if (!d)
    return roster__err(ROSTER_ENOMEM, "cache '%s': out of memory", name);
  roster_provider p = {
      .type = &roster_cache_type,
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

/* ---- the memory:// driver ------------------------------------------- */

static int memory_provide(roster *r, const char *ns, const char *name,
                          const roster_url *url, const char *text,
                          const char *const *opts, void *arg) {
  (void)url;
  (void)arg;
  return roster_cache_provide(r, ns, name, text, opts);
}

const roster_driver roster__memory_driver = {
    .version = ROSTER_DRIVER_VERSION,
    .scheme = "memory",
    .module = "cache",
    .type = &roster_cache_type,
    .provide = memory_provide,
};
