/*
 * db_service.c: databases in the registry and in the driver table: the
 * roster_db_type descriptor, roster_db_find, and the database face
 * (roster_db_face): what a database driver must have, and how a URL whose
 * driver has one declares a database service (eager, so that a server
 * that is down fails roster_start with its reason).
 */
#include "db_impl.h"

#include <stdio.h>

static void svc_destroy(void *instance) { roster_db_free(instance); }
static int svc_health(void *instance) { return roster_db_ping(instance); }

const roster_type roster_db_type = {
    .name = "roster_db", .destroy = svc_destroy, .health = svc_health};

ROSTER_DEFINE_FIND(roster_db_find, roster_db, roster_db_type)

/* ---- the database face ---------------------------------------------- */

static const roster__face_op db_required[] = {
    ROSTER__FACE_OP(roster_db_driver, setup),
    ROSTER__FACE_OP(roster_db_driver, cfg_free),
    ROSTER__FACE_OP(roster_db_driver, connect),
    ROSTER__FACE_OP(roster_db_driver, disconnect),
    ROSTER__FACE_OP(roster_db_driver, ping),
    ROSTER__FACE_OP(roster_db_driver, broken),
    ROSTER__FACE_OP(roster_db_driver, in_transaction),
    ROSTER__FACE_OP(roster_db_driver, begin),
    ROSTER__FACE_OP(roster_db_driver, commit),
    ROSTER__FACE_OP(roster_db_driver, rollback),
    ROSTER__FACE_OP(roster_db_driver, prepare),
    ROSTER__FACE_OP(roster_db_driver, finalize),
    ROSTER__FACE_OP(roster_db_driver, execute),
    ROSTER__FACE_OP(roster_db_driver, next),
    ROSTER__FACE_OP(roster_db_driver, get),
    ROSTER__FACE_OP(roster_db_driver, close),
};

static int face_validate(const roster_driver *d, const void *ops) {
  const roster_db_driver *drv = ops;
  if (drv->dialect < ROSTER_DB_DIALECT_SQLITE ||
      drv->dialect > ROSTER_DB_DIALECT_MYSQL) {
    char qn[80];
    return roster__err(ROSTER_EINVAL,
                       "driver '%s': its db face has an unknown dialect %d",
                       roster__quote(qn, sizeof qn, d->name, strlen(d->name)),
                       (int)drv->dialect);
  }
  return ROSTER_OK;
}

static const roster_type *face_type(const void *ops) {
  (void)ops;
  return &roster_db_type;
}

static bool face_lazy(const void *ops) {
  (void)ops;
  return false;
}

/* The pool is named after the service, cut to what a pool takes. */
static const char *pool_name(char *buf, size_t cap, const char *name) {
  snprintf(buf, cap, "%s", name);
  return buf;
}

static int face_check(const roster_driver *d, const void *ops,
                      const roster_url *u, const char *text,
                      const char *const *opts, const char *name) {
  (void)u;
  char pn[ROSTER_POOL_NAME_MAX + 1];
  roster__face_ref f = {d, &roster_db_face, ops};
  roster_db_options o = {.name = pool_name(pn, sizeof pn, name)};
  return roster__db_open(text, &o, opts, true, &f, NULL);
}

static int face_open(const roster_driver *d, const void *ops, const char *text,
                     const char *const *opts, const char *name, void **out) {
  char pn[ROSTER_POOL_NAME_MAX + 1];
  roster__face_ref f = {d, &roster_db_face, ops};
  roster_db_options o = {.name = pool_name(pn, sizeof pn, name)};
  roster_db *db = NULL;
  int rc = roster__db_open(text, &o, opts, false, &f, &db);
  *out = db;
  return rc;
}

const roster_face_kind roster_db_face = {
    .name = "db",
    .what = "a database",
    .version = ROSTER_DB_DRIVER_VERSION,
    .required = db_required,
    .nrequired = sizeof db_required / sizeof db_required[0],
    .validate = face_validate,
    .type = face_type,
    .lazy = face_lazy,
    .check = face_check,
    .open = face_open,
};
