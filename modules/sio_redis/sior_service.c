/*
 * sior_service.c: the adapter kind "redis" of socketio:// services
 * (roster_sio_redis_init): redis=<a Redis client service of the
 * registry>, redis_key, redis_timeout (ms), redis_queue (bytes).
 */
#include "sior_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/helpers.h" /* roster__err_save */

static int num(const char *key, const char *v, long long lo, long long hi,
               long long *out) {
  char *end;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (!*v || *end || errno || x < lo || x > hi)
    return roster_error_set(ROSTER_EINVAL,
                            "socketio URL: option '%s': '%.40s' is not an "
                            "integer in [%lld, %lld]",
                            key, v, lo, hi);
  *out = x;
  return ROSTER_OK;
}

/* apply: one option of the kind into the adapter's options (svc: the
 * service's name). */
static int apply(const char *key, const char *v, roster_sio_redis_options *o,
                 const char **svc) {
  long long x = 0;
  int rc = ROSTER_OK;
  if (strcmp(key, "redis") == 0) {
    if (!*v || strlen(v) > 2 * ROSTER_NAME_MAX + 1)
      return roster_error_set(ROSTER_EINVAL,
                              "socketio URL: option 'redis': the name of a "
                              "Redis client service (\"bus\" or "
                              "\"ns/bus\")");
    *svc = v;
  } else if (strcmp(key, "redis_key") == 0) {
    if (!*v || strlen(v) > 1024)
      return roster_error_set(ROSTER_EINVAL,
                              "socketio URL: option 'redis_key': 1 to 1024 "
                              "bytes");
    o->key = v;
  } else if (strcmp(key, "redis_timeout") == 0) {
    if ((rc = num(key, v, 1, 3600000, &x)) == ROSTER_OK)
      o->requests_timeout_ms = x;
  } else if (strcmp(key, "redis_queue") == 0) {
    if ((rc = num(key, v, 1024, 1LL << 32, &x)) == ROSTER_OK)
      o->max_queue = (size_t)x;
  } else {
    rc = roster_error_set(ROSTER_EINVAL,
                          "socketio URL: unknown option '%.60s' (the Redis "
                          "adapter's: redis, redis_key, redis_timeout, "
                          "redis_queue)",
                          key);
  }
  return rc;
}

static int kind_check(const char *key, const char *value) {
  roster_sio_redis_options o = {0};
  const char *svc = NULL;
  return apply(key, value, &o, &svc);
}

static int kind_open(roster *r, roster_socketio *io, const char *const *opts) {
  roster_sio_redis_options o = {0};
  const char *svc = NULL;
  int rc = ROSTER_OK;
  for (size_t i = 0; rc == ROSTER_OK && opts && opts[i] && opts[i + 1]; i += 2)
    rc = apply(opts[i], opts[i + 1], &o, &svc);
  if (rc != ROSTER_OK)
    return rc;
  if (!r || !svc)
    return roster_error_set(ROSTER_EINVAL,
                            "socketio: the option 'redis' names a service "
                            "of the registry the server is made in");
  char ns[ROSTER_NAME_MAX + 1] = "";
  const char *name = svc, *slash = strchr(svc, '/');
  if (slash && slash != svc && (size_t)(slash - svc) <= ROSTER_NAME_MAX) {
    memcpy(ns, svc, (size_t)(slash - svc));
    ns[slash - svc] = 0;
    name = slash + 1;
  }
  void *cli = NULL;
  roster_ref *ref = NULL;
  rc = roster_acquire(r, *ns ? ns : NULL, name, &roster_redis_type, &cli, &ref);
  if (rc == ROSTER_OK)
    rc = roster__sior_attach(io, cli, ref, &o, NULL);
  if (rc != ROSTER_OK) {
    roster__err_saved es;
    roster__err_save(&es, rc);
    roster_release(ref);
    return roster__err_restore(&es);
  }
  return ROSTER_OK;
}

static const roster_socketio_adapter_kind redis_kind = {
    .option = "redis", .check = kind_check, .open = kind_open};

int roster_sio_redis_init(void) {
  int rc = roster_socketio_init();
  if (rc == ROSTER_OK || rc == ROSTER_EEXIST)
    rc = roster_redis_init();
  if (rc == ROSTER_OK || rc == ROSTER_EEXIST)
    rc = roster_socketio_adapter_kind_register(&redis_kind);
  return rc;
}
