/*
 * cache_driver.c: the cache layer in the driver table: the cache face
 * (roster_cache_face: what a cache backend must have, and how a URL whose
 * driver has one declares a cache service) and the layer's built-in
 * driver, memory://.
 *
 * memory:// is registered here, when the library is loaded, so that
 * roster_provide_url(r, NULL, "sessions", "memory://sessions", NULL) works
 * with no set-up call. The core names no driver: in a static link this
 * file comes in with the cache layer (roster_cache_open and
 * roster_cache_new use roster_cache_face), i.e. once the program calls a
 * roster_cache_ function.
 */
#include "cache_impl.h"

#include <stdio.h>

static const roster__face_op cache_required[] = {
    ROSTER__FACE_OP(roster_cache_backend, open),
    ROSTER__FACE_OP(roster_cache_backend, close),
    ROSTER__FACE_OP(roster_cache_backend, get),
    ROSTER__FACE_OP(roster_cache_backend, set),
    ROSTER__FACE_OP(roster_cache_backend, del),
    ROSTER__FACE_OP(roster_cache_backend, pttl),
    ROSTER__FACE_OP(roster_cache_backend, expire),
    ROSTER__FACE_OP(roster_cache_backend, incr),
    ROSTER__FACE_OP(roster_cache_backend, mget),
    ROSTER__FACE_OP(roster_cache_backend, mset),
    ROSTER__FACE_OP(roster_cache_backend, clear),
    ROSTER__FACE_OP(roster_cache_backend, stats),
    ROSTER__FACE_OP(roster_cache_backend, lock_acquire),
    ROSTER__FACE_OP(roster_cache_backend, lock_release),
    ROSTER__FACE_OP(roster_cache_backend, lock_extend),
    ROSTER__FACE_OP(roster_cache_backend, rate_fixed),
    ROSTER__FACE_OP(roster_cache_backend, rate_sliding),
};

static const roster_type *face_type(const void *ops) {
  (void)ops;
  return &roster_cache_type;
}

static bool face_lazy(const void *ops) {
  (void)ops;
  return true;
}

static int face_check(const roster_driver *d, const void *ops,
                      const roster_url *u, const char *text,
                      const char *const *opts, const char *name) {
  (void)d;
  (void)name;
  const roster_cache_backend *be = ops;
  if (!be->check)
    return ROSTER_OK;
  int rc = be->check(u, text, opts);
  if (rc) {
    char shown[512];
    return roster__err_wrap(rc, "cache %s",
                            roster__url_shown(text, shown, sizeof shown));
  }
  return ROSTER_OK;
}

static int face_open(const roster_driver *d, const void *ops, const char *text,
                     const char *const *opts, const char *name, void **out) {
  (void)d;
  roster_url *u = NULL;
  int rc = roster_url_parse(text, &u);
  if (rc)
    return rc;
  roster_cache *c = NULL;
  roster_cache_options o = {.name = name};
  rc = roster__cache_open_with(ops, u, text, opts, &o, &c);
  roster_url_free(u);
  *out = c;
  return rc;
}

const roster_face_kind roster_cache_face = {
    .name = "cache",
    .what = "a cache",
    .version = ROSTER_CACHE_BACKEND_VERSION,
    .required = cache_required,
    .nrequired = sizeof cache_required / sizeof cache_required[0],
    .type = face_type,
    .lazy = face_lazy,
    .check = face_check,
    .open = face_open,
};

/* ---- the built-in driver -------------------------------------------- */

static const char *const memory_schemes[] = {"memory", NULL};

static const roster_driver memory_driver = {
    .version = ROSTER_DRIVER_VERSION,
    .name = "memory",
    .module = "cache",
    .schemes = memory_schemes,
    .faces = {{&roster_cache_face, &roster__memory_backend}},
};

/* Before main; it cannot fail but for a program that registered a
 * "memory" driver of its own in an earlier constructor, which then keeps
 * the scheme. */
__attribute__((constructor)) static void register_builtins(void) {
  (void)roster_driver_register(&memory_driver);
}
