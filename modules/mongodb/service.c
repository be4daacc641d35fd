/*
 * service.c: MongoDB pools in the registry: the roster_mongodb_type
 * descriptor, roster_mongodb_find, the driver of mongodb:// and
 * mongodb+srv:// and roster_mongodb_init.
 *
 * The URL goes to libmongoc as it is (its options in the query); the one
 * option outside it is max_clients. A declared service is checked by
 * making its pool and freeing it (no I/O: libmongoc connects on the first
 * client taken).
 */
#include "mongodb_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void pool_destroy(void *instance) { roster_mongodb_free(instance); }

static int pool_health(void *instance) {
  return roster_mongodb_health(instance);
}

const roster_type roster_mongodb_type = {
    .name = "mongodb",
    .destroy = pool_destroy,
    .health = pool_health,
};

ROSTER_DEFINE_FIND(roster_mongodb_find, roster_mongodb, roster_mongodb_type)

static int conf_from(const char *text, const char *const *opts,
                     const char *name, roster_mongodb_options *o) {
  memset(o, 0, sizeof *o);
  o->name = name;
  o->url = text;
  for (size_t i = 0; opts && opts[i] && opts[i + 1]; i += 2) {
    const char *k = opts[i], *v = opts[i + 1];
    if (strcmp(k, "max_clients") != 0)
      return roster_error_set(ROSTER_EINVAL,
                              "MongoDB '%s': unknown option '%s' (known: "
                              "max_clients; libmongoc's options go in the "
                              "URL's query)",
                              name, k);
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (!*v || *end || errno || x < 1 || x > 100000)
      return roster_error_set(ROSTER_EINVAL,
                              "MongoDB '%s': option 'max_clients' must be a "
                              "number from 1 to 100000",
                              name);
    o->max_clients = (unsigned)x;
  }
  return ROSTER_OK;
}

static int pool_open(const char *text, const char *const *opts,
                     const char *name, void **out) {
  roster_mongodb_options o;
  *out = NULL;
  int rc = conf_from(text, opts, name, &o);
  if (rc)
    return rc;
  roster_mongodb *m = NULL;
  rc = roster_mongodb_new(&o, &m);
  *out = m;
  return rc;
}

static int pool_check(const roster_url *url, const char *text,
                      const char *const *opts, const char *name) {
  (void)url;
  void *m = NULL;
  int rc = pool_open(text, opts, name, &m);
  roster_mongodb_free(m);
  return rc;
}

static const roster_service_ops pool_face = {
    .version = ROSTER_DRIVER_VERSION,
    .kind = "client",
    .type = &roster_mongodb_type,
    .check = pool_check,
    .open = pool_open,
};

static const char *const schemes[] = {"mongodb", "mongodb+srv", NULL};

const roster_driver roster__mongodb_driver = {
    .version = ROSTER_DRIVER_VERSION,
    .name = "mongodb",
    .module = "mongodb",
    .schemes = schemes,
    .faces = {{&roster_service_face, &pool_face}},
};

int roster_mongodb_init(void) {
  return roster_driver_register(&roster__mongodb_driver);
}
