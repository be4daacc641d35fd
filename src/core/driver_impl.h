/*
 * driver_impl.h: what the layers that own a kind of face (core's service
 * face, the cache, the database) tell the driver table, and the one lookup
 * they use (src/core/driver.c; include/roster/driver.h).
 */
#ifndef ROSTER_DRIVER_IMPL_H
#define ROSTER_DRIVER_IMPL_H

#include <stddef.h>

#include "roster/driver.h"

/* roster__face_op: a required operation of a face: its name and where its
 * function pointer is in the vtable. */
typedef struct roster__face_op {
  const char *name;
  size_t offset;
} roster__face_op;

#define ROSTER__FACE_OP(T, member)                                             \
  { #member, offsetof(T, member) }

/* roster_face_kind: one kind of face. Every function gets the driver and
 * the face's vtable (ops). */
struct roster_face_kind {
  const char *name; /* the kind= value: "cache" */
  const char *what; /* in sentences: "a cache" */
  unsigned version; /* the version the vtable's first field must hold */
  const roster__face_op *required; /* the required operations */
  size_t nrequired;
  /* validate (optional): checks past the required operations (a db
   * driver's dialect); sets the detail. */
  int (*validate)(const roster_driver *d, const void *ops);
  /* type: the type of the services this face declares. */
  const roster_type *(*type)(const void *ops);
  bool (*lazy)(const void *ops); /* services are made on first use */
  /* check: the URL and options, at declaration, without I/O. */
  int (*check)(const roster_driver *d, const void *ops, const roster_url *u,
               const char *text, const char *const *opts, const char *name);
  /* open: the instance of service `name`. */
  int (*open)(const roster_driver *d, const void *ops, const char *text,
              const char *const *opts, const char *name, void **out);
};

/* roster__face_ref: a driver and one of its faces. */
typedef struct roster__face_ref {
  const roster_driver *driver;
  const roster_face_kind *kind;
  const void *ops;
} roster__face_ref;

/* roster__driver_pick is the one lookup: the driver of scheme and its face
 * of kind `want` (NULL: the face whose kind is named `kind`, or with kind
 * NULL the service face, else the only face). shown is the URL as errors
 * show it. ROSTER_ENOTSUP with one sentence for a scheme no driver serves
 * or a face the driver lacks; ROSTER_EINVAL for a kind the driver does not
 * offer when it has several. */
int roster__driver_pick(const char *scheme, const roster_face_kind *want,
                        const char *kind, const char *shown,
                        roster__face_ref *out);

/* roster__face_check checks a vtable of kind k as registration does: its
 * version and required operations (but `skip`, which may be NULL), one
 * sentence naming what is wrong; who names the driver ("driver 'memory'",
 * "cache backend"). */
int roster__face_check(const roster_face_kind *k, const void *ops,
                       const char *who, const char *skip);

/* roster__driver_module_hint: for one of roster's own schemes that is not
 * registered, the call that adds it; NULL otherwise. */
const char *roster__driver_module_hint(const char *scheme);

#endif /* ROSTER_DRIVER_IMPL_H */
