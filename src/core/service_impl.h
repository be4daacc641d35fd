/*
 * service_impl.h: what the built-in services (src/cache, src/config,
 * src/db) need of the core beyond base/base.h: the name rule, the URL text
 * an error may quote, the sentence for a scheme no driver serves, and the
 * memory cache driver the driver table holds. Small on purpose: a service
 * includes this and base/base.h, not the registry's structures
 * (roster_impl.h). Never installed.
 */
#ifndef ROSTER_SERVICE_IMPL_H
#define ROSTER_SERVICE_IMPL_H

#include "base/base.h"

#include "roster.h"

/* roster__check_name validates a name (what = "name" or "namespace") and
 * stores its length: not NULL (unless allow_null), not empty, at most
 * ROSTER_NAME_MAX bytes (names.c). */
int roster__check_name(const char *what, const char *name, size_t *len,
                       bool allow_null);
/* roster__url_shown is roster_url_redact for an error text: the password
 * and the value of every query parameter hidden (an unknown parameter may
 * be a misspelt secret), control bytes escaped. Every error that quotes a
 * URL quotes it so (url.c). */
char *roster__url_shown(const char *text, char *buf, size_t cap);
/* roster__no_module writes the sentence for a URL scheme that no
 * registered driver serves: "no module for URL scheme 's' (shown) is
 * registered", the call that registers it when it is one of roster's
 * modules (roster_pg_init() for postgresql, ...), and the schemes that
 * are registered. Returns buf (driver.c). */
const char *roster__no_module(char *buf, size_t cap, const char *scheme,
                              const char *shown);
/* roster__memory_driver: the memory:// cache driver (src/cache), which the
 * driver table holds from its first use (driver.c). */
extern const roster_driver roster__memory_driver;

#endif /* ROSTER_SERVICE_IMPL_H */
