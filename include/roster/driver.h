/*
 * roster/driver.h: drivers, the one table that turns a URL into a service,
 * a cache or a database. This is the header of people who write a module;
 * docs/modules.md is the guide, with a complete example.
 *
 * A driver is one versioned struct for one URL scheme or a set of them
 * ("postgresql" and "postgres"), saying which faces it offers. A face is a
 * vtable of one kind, paired with the descriptor of that kind:
 *   roster_service_face  its own service (a Redis client):
 *                        roster_service_ops, this header;
 *   roster_cache_face    a cache backend: roster_cache_backend, cache.h;
 *   roster_db_face       a database driver: roster_db_driver, db.h.
 * Later kinds (pub/sub, discovery) are new descriptors in the same slots,
 * so the layout of roster_driver does not change for them.
 *
 * One lookup serves every path: roster_provide_url (and `services:` config
 * entries), roster_cache_open and roster_db_open find a scheme's driver
 * and the face they need here, with one lock, one version check, one check
 * of required operations and one sentence for a scheme nobody registered
 * (naming the schemes that are, and the init call that adds one of
 * roster's own modules).
 *
 * Threads: the table is global and every call is thread-safe. A driver
 * and its faces must stay valid (static storage) for as long as anything
 * made through them exists; roster keeps the pointers, not copies.
 */
#ifndef ROSTER_DRIVER_H
#define ROSTER_DRIVER_H

#include <stdbool.h>
#include <stddef.h>

#include "registry.h"
#include "url.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ROSTER_DRIVER_VERSION: the layout of roster_driver and of
 * roster_service_ops; a driver sets both version fields to this. */
#define ROSTER_DRIVER_VERSION 2

/* ROSTER_DRIVER_FACES: how many faces one driver may offer. */
#define ROSTER_DRIVER_FACES 4

/* ROSTER_DRIVER_SCHEMES: how many schemes one driver may serve. */
#define ROSTER_DRIVER_SCHEMES 8

/* roster_face_kind: the descriptor of one kind of face (opaque). Each
 * layer defines its own: roster_service_face here, roster_cache_face in
 * cache.h, roster_db_face in db.h. */
typedef struct roster_face_kind roster_face_kind;

/* roster_driver_face: one face: its kind and its vtable (a
 * roster_service_ops, roster_cache_backend or roster_db_driver, as the
 * kind says; every vtable begins with its version). */
typedef struct roster_driver_face {
  const roster_face_kind *kind;
  const void *ops;
} roster_driver_face;

/* roster_driver: one module's entry in the table. */
typedef struct roster_driver {
  unsigned version;           /* ROSTER_DRIVER_VERSION */
  const char *name;           /* "postgresql": shown by the objects it
                                 makes (roster_db_driver_name) */
  const char *module;         /* who provides it, for messages: "pg" */
  const char *const *schemes; /* lower case, NULL-terminated, 1 to
                                 ROSTER_DRIVER_SCHEMES of them */
  roster_driver_face faces[ROSTER_DRIVER_FACES]; /* 1 or more, from the
                                 first; the first {NULL, NULL} ends them */
} roster_driver;

/* roster_service_ops: the service face, for a driver whose URL declares a
 * service of its own type (the Redis client). A driver with only a cache
 * or database face needs none: its URL declares a cache or a database.
 * Every function runs on the caller's thread with no roster lock held and
 * returns a roster code with a detail (roster_error_set). */
typedef struct roster_service_ops {
  unsigned version;        /* ROSTER_DRIVER_VERSION */
  const char *kind;        /* the kind= value that picks this face when
                              the scheme has others ("client"); NULL:
                              "service" */
  const roster_type *type; /* required: the services' type; its destroy
                              frees what open made */
  /* check (optional) validates url and opts when the service is declared,
   * without I/O, so a bad option fails there and not at first use. */
  int (*check)(const roster_url *url, const char *text, const char *const *opts,
               const char *name);
  /* open (required) makes the instance of the service `name` from the URL
   * text and opts, when the service is created. */
  int (*open)(const char *text, const char *const *opts, const char *name,
              void **out);
  bool eager; /* created by roster_start, not on first use */
} roster_service_ops;

/* roster_service_face: the kind of roster_service_ops faces. */
ROSTER_EXTERN extern const roster_face_kind roster_service_face;

/* roster_driver_register adds d to the table. Registering the same driver
 * again is a no-op. ROSTER_EEXIST if another driver holds one of its
 * schemes (naming that driver's module; nothing is registered);
 * ROSTER_EINVAL, with one sentence naming what is wrong, for a wrong
 * version (of d or of a face), no name, no or too many schemes, a scheme
 * that is not 1 to 32 lower-case letters, digits, '+', '-' or '.'
 * starting with a letter, no face, a face without its kind or vtable, two
 * faces of one kind, or a face missing a required operation (named);
 * ROSTER_ENOMEM if the table is full. */
ROSTER_EXTERN int roster_driver_register(const roster_driver *d);

/* roster_driver_unregister removes d (ROSTER_ENOENT if it is not there).
 * What was made through it (open caches, declared services) is not
 * touched. */
ROSTER_EXTERN int roster_driver_unregister(const roster_driver *d);

/* roster_driver_registry: during a service face's open (on the thread
 * that creates the service), the registry the service is being created
 * in, for a service that serves its own registry (the admin endpoint);
 * NULL on any other thread or at any other time. */
ROSTER_EXTERN roster *roster_driver_registry(void);

/* roster_driver_find returns the driver serving scheme (any case), or
 * NULL. */
ROSTER_EXTERN const roster_driver *roster_driver_find(const char *scheme);

/* roster_driver_schemes writes the registered schemes, sorted and
 * comma-separated ("memory, postgresql, sqlite"), into buf (cap bytes,
 * cut short if it must be; "" when none). Returns buf. */
ROSTER_EXTERN char *roster_driver_schemes(char *buf, size_t cap);

/* roster_provide_url declares the service (ns, name) from url through the
 * driver of its scheme: a service face declares its own service, a cache
 * face a cache (roster_cache_type), a database face a database
 * (roster_db_type). When the scheme offers several faces, the option
 * `kind` (in opts, or in the URL's query) picks one by name ("client",
 * "cache", "db"); without it the service face is used. `kind` is taken
 * out before the face sees the URL and options. Each face checks the URL
 * and options now (no I/O); the instance is made when the service is
 * created (first use, or roster_start for databases). opts is NULL or a
 * NULL-terminated array of key, value pairs ({"pool.max", "8", NULL});
 * keys the face does not know are ROSTER_EINVAL naming the key. Declaring
 * the same (ns, name) again with the same URL is a no-op returning
 * ROSTER_OK (the same service); with another URL it is ROSTER_EEXIST,
 * both URLs redacted in the detail. ROSTER_EPARSE for a malformed URL,
 * ROSTER_ENOTSUP for a scheme no registered driver serves (the detail
 * lists those that are) or a kind it does not offer, else the face's
 * error. On failure nothing is declared. */
ROSTER_EXTERN int roster_provide_url(roster *r, const char *ns,
                                     const char *name, const char *url,
                                     const char *const *opts);

/* roster_service_url writes the redacted URL that declared (ns, name) into
 * buf (cap bytes). ROSTER_ENOENT if no URL declared it. */
ROSTER_EXTERN int roster_service_url(roster *r, const char *ns,
                                     const char *name, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* ROSTER_DRIVER_H */
