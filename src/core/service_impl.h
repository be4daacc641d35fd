/*
 * service_impl.h: what the built-in services (src/cache, src/config,
 * src/db) need of the core beyond base/base.h and the driver table
 * (core/driver_impl.h): the name rule and the URL text an error may quote.
 * Small on purpose: a service includes this, base/base.h and
 * core/driver_impl.h, not the registry's structures (roster_impl.h).
 * Never installed.
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
#endif /* ROSTER_SERVICE_IMPL_H */
