/*
 * roster/driver.h: drivers, the table that turns a URL into a service.
 *
 * A driver is a small vtable a module registers under a URL scheme (the way
 * nng registers transports): "sqlite", "postgresql", "mysql", "redis",
 * "memory", ... roster_provide_url parses a URL, finds the driver for its
 * scheme and lets it declare a provider under the given name, so that a
 * `services:` section of the config or a <PREFIX>_SERVICE_<NAME>_URL
 * environment variable creates a service with no code. A scheme no module
 * registered is a clear ROSTER_ENOTSUP naming the schemes that are there.
 *
 * Threads: the table is global and every call is thread-safe. A driver must
 * stay valid (static storage, usually) until roster_driver_unregister or the
 * end of the process; roster keeps the pointer, not a copy.
 */
#ifndef ROSTER_DRIVER_H
#define ROSTER_DRIVER_H

#include <stddef.h>

#include "registry.h"
#include "url.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ROSTER_DRIVER_VERSION: the layout of roster_driver; a driver sets its
 * version field to this. */
#define ROSTER_DRIVER_VERSION 1

/* roster_driver_provide_fn declares the service (ns, name) for url, usually
 * by calling roster_provide with a create that opens the URL. text is the
 * URL as given (the driver may keep a copy; never log it unredacted). opts
 * is NULL or a NULL-terminated array of key, value pairs from the
 * configuration entry besides its url ({"pool.max", "8", NULL}); keys the
 * driver does not know are an error (ROSTER_EINVAL naming the key). Returns
 * a roster code with a detail; on failure nothing is declared. Runs on the
 * caller's thread, with no roster lock held. */
typedef int (*roster_driver_provide_fn)(roster *r, const char *ns,
                                        const char *name,
                                        const roster_url *url,
                                        const char *text,
                                        const char *const *opts, void *arg);

/* roster_driver: one URL scheme. */
typedef struct roster_driver {
  unsigned version;                 /* ROSTER_DRIVER_VERSION */
  const char *scheme;               /* lower case: "postgresql" */
  const char *module;               /* who provides it: "pg" */
  const roster_type *type;          /* the type of the services it makes */
  roster_driver_provide_fn provide; /* required */
  void *arg;                        /* passed to provide */
} roster_driver;

/* roster_driver_register adds d to the table. Registering the same driver
 * again is a no-op; ROSTER_EEXIST if another driver holds the scheme;
 * ROSTER_EINVAL for a wrong version, a missing scheme, type or provide, or a
 * scheme that is not lower-case letters, digits, '+', '-', '.'. */
ROSTER_EXTERN int roster_driver_register(const roster_driver *d);

/* roster_driver_unregister removes d (ROSTER_ENOENT if it is not there). */
ROSTER_EXTERN int roster_driver_unregister(const roster_driver *d);

/* roster_driver_find returns the driver for scheme (any case), or NULL. */
ROSTER_EXTERN const roster_driver *roster_driver_find(const char *scheme);

/* roster_driver_schemes writes the registered schemes, sorted and
 * comma-separated ("memory, postgresql, sqlite"), into buf (cap bytes,
 * cut short if it must be; "" when none). Returns buf. */
ROSTER_EXTERN char *roster_driver_schemes(char *buf, size_t cap);

/* roster_provide_url declares the service (ns, name) from url through the
 * driver of its scheme. Declaring the same (ns, name) again with the same
 * URL is a no-op returning ROSTER_OK (the existing service is kept: the
 * same pool); with another URL it is ROSTER_EEXIST, both URLs redacted in
 * the detail. ROSTER_EPARSE for a malformed URL, ROSTER_ENOTSUP for a
 * scheme no compiled-in module serves (the detail lists those that are),
 * else the driver's error. opts as for roster_driver_provide_fn. */
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
