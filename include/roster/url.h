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
 * A raw '@' may only end the user info: a URL with an '@' in its path,
 * query or fragment is refused, because that is what a password holding
 * an unencoded '/', '?' or '#' looks like (write %40 for a literal '@').
 * An encoded NUL (%00) is refused anywhere: it would cut the decoded part.
 *
 * Redaction: a URL is never printed, logged or put in an error detail with
 * its password. roster_url_redact replaces the password (and the value of
 * any query parameter whose name looks like a secret: password, secret,
 * token, key) with "***". An error detail that quotes a URL hides every
 * query value as well (a parameter a driver does not know may be a
 * misspelt password), and never holds a raw control byte.
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
  char *hosts;         /* a host list ("h1:p1,h2:p2", as written, for
                          drivers that take several: etcd): the whole list;
                          host and port are its first. NULL: one host */
} roster_url;

/* roster_url_parse parses text into *out (free with roster_url_free).
 * An authority may name several hosts ("etcd://h1:p1,h2:p2/x"): each is
 * checked as a URL of its own would be, the URL is read with the first,
 * and the list is kept in hosts.
 * ROSTER_EINVAL for NULL, empty or over-long text; ROSTER_EPARSE for a
 * malformed URL (a syntax error, no scheme, an '@' that does not end the
 * user info, an encoded NUL, a port outside 1..65535, an empty host in a
 * host list), with a detail
 * giving the column (1-based) where it helps and the URL redacted. *out is
 * NULL on failure. */
ROSTER_EXTERN int roster_url_parse(const char *text, roster_url **out);

/* roster_url_free frees u. NULL is ignored. */
ROSTER_EXTERN void roster_url_free(roster_url *u);

/* roster_url_query returns the value of the last query parameter named key,
 * or NULL. */
ROSTER_EXTERN const char *roster_url_query(const roster_url *u,
                                           const char *key);

/* roster_url_redact writes text with its secrets replaced by "***" into buf
 * (cap bytes, always NUL-terminated, cut short if it must be; never cut
 * inside a secret). It works on the text, so that malformed text (the
 * kind an error quotes) is covered too:
 *  - user info: everything from the authority's start (after "scheme://",
 *    or after a leading "//", or the text's start when it has neither) to
 *    the text's LAST '@' is user info, wherever '/', '?', '#', ':' or '@'
 *    sit inside it. When the text parses as a URL whose user info is
 *    exactly that span, the user stays and what follows its first ':' is
 *    "***" ("postgresql://app:***@db/app"); otherwise the whole span is
 *    "***" (both "u" and "pw" go from "//u:pw@h/db" and "u:pw@h/db").
 *  - with no '@': after "scheme://" or "//", a ':' in the host part
 *    followed by something that is not a port number (or by nothing, with
 *    '/', '?' or '#' after it) may be "user:password" with the host
 *    forgotten: everything after that ':' is "***".
 *  - query and fragment (from the first '?' or '#' after the authority's
 *    start, even inside hidden user info): a name starts after '?', '#',
 *    '&' or ';' and ends at '='; it is percent-decoded as the parser
 *    decodes it and, if roster_url_secret_key accepts it (or it is too
 *    long to judge, or holds %00), its value becomes "***" up to the next
 *    '&' (through any '?', '#' or ';', which a password may hold).
 *  - control bytes and bytes that are not UTF-8 are written \xNN.
 * An '@' in a query value or fragment thus hides all before it; such a
 * URL does not parse anyway. Returns buf. */
ROSTER_EXTERN char *roster_url_redact(const char *text, char *buf, size_t cap);

/* roster_url_secret_key: key (a config key or query parameter name) looks
 * like it holds a secret: it contains password, passwd, pwd, secret, token,
 * apikey, api_key, credential or authorization (an HTTP client's
 * headers.Authorization), or is "key" or ends in "_key", ".key" or "-key"
 * (any case). */
ROSTER_EXTERN bool roster_url_secret_key(const char *key);

#ifdef __cplusplus
}
#endif

#endif /* ROSTER_URL_H */
