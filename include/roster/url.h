/*
 * roster/url.h: service URLs, parsed and redacted.
 *
 * Every service roster can open from configuration is named by a URL whose
 * scheme picks the driver: postgresql://user:pw@127.0.0.1:5432/app?x=y,
 * mysql://..., redis://:pw@host:6379/0, unix:///run/redis.sock?db=2,
 * sqlite:///var/lib/app.db, sqlite::memory:, memory://sessions. The parser
 * follows RFC 3986 (liburiparser) and percent-decodes every part, so a
 * password may hold any byte.
 *
 * Redaction: a URL is never printed, logged or put in an error detail with
 * its password. roster_url_redact replaces the password (and the value of
 * any query parameter whose name looks like a secret: password, secret,
 * token, key) with "***".
 *
 * Threads: the functions are pure and thread-safe; a roster_url is owned by
 * its caller and not shared by roster.
 */
#ifndef ROSTER_URL_H
#define ROSTER_URL_H

#include <stdbool.h>
#include <stddef.h>

#include "version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ROSTER_URL_MAX is the longest URL accepted, in bytes. */
#define ROSTER_URL_MAX 4096

/* roster_url: a parsed URL. Every string is decoded and NUL-terminated;
 * absent parts are NULL (path is "" when absent). */
typedef struct roster_url {
  char *scheme;        /* lower-cased: "postgresql" */
  char *user;          /* NULL if none */
  char *password;      /* NULL if none (":" with nothing after is "") */
  char *host;          /* NULL if none; an IPv6 address has no brackets */
  int port;            /* 0 if none; else 1..65535 */
  char *path;          /* "/app", ":memory:", "" */
  size_t nquery;       /* query parameters, in order */
  char **query_keys;   /* nquery keys */
  char **query_values; /* nquery values ("" for "?flag") */
  char *fragment;      /* NULL if none */
} roster_url;

/* roster_url_parse parses text into *out (free with roster_url_free).
 * ROSTER_EINVAL for NULL, empty or over-long text; ROSTER_EPARSE for a
 * malformed URL (no scheme, a bad port, a syntax error), with a detail
 * giving the column (1-based) and the URL redacted. *out is NULL on
 * failure. */
ROSTER_EXTERN int roster_url_parse(const char *text, roster_url **out);

/* roster_url_free frees u. NULL is ignored. */
ROSTER_EXTERN void roster_url_free(roster_url *u);

/* roster_url_query returns the value of the last query parameter named key,
 * or NULL. */
ROSTER_EXTERN const char *roster_url_query(const roster_url *u,
                                           const char *key);

/* roster_url_redact writes text with its secrets replaced by "***" into buf
 * (cap bytes, always NUL-terminated, cut short if it must be). Works on
 * malformed text too: whatever sits between "scheme://user:" and the last
 * "@" before the host is taken for a password. Returns buf. */
ROSTER_EXTERN char *roster_url_redact(const char *text, char *buf, size_t cap);

/* roster_url_secret_key: key (a config key or query parameter name) looks
 * like it holds a secret: it contains password, passwd, pwd, secret, token,
 * apikey, api_key or credential, or is "key" or ends in "_key", ".key" or
 * "-key" (any case). */
ROSTER_EXTERN bool roster_url_secret_key(const char *key);

#ifdef __cplusplus
}
#endif

#endif /* ROSTER_URL_H */
