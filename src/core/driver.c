/*
 * driver.c: the driver table (roster/driver.h) and roster_provide_url.
 *
 * The table is a small array under one mutex: it is read when a service is
 * declared from a URL, never on a lookup, so a lock costs nothing that
 * matters. Each registry keeps the URL text of every service declared from
 * a URL, so that declaring the same name again with the same URL finds the
 * same service and another URL is refused.
 */
#include "roster_impl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#define DRIVERS_MAX 64

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static const roster_driver *table[DRIVERS_MAX];
static size_t ntable;

typedef struct roster__urlrec {
  struct roster__urlrec *next;
  char *ns, *name, *url;
} roster__urlrec;

/* Built-in services' drivers (memory://, the cache in src/cache) are in
 * the table from its first use, so no set-up call is needed; referencing
 * them here also keeps them in a static link. */
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

static void builtin_add(void) { table[ntable++] = &roster__memory_driver; }

static inline void builtins(void) { pthread_once(&builtin_once, builtin_add); }

static bool scheme_ok(const char *s) {
  if (!s || !*s || strlen(s) > 32 || !islower((unsigned char)s[0]))
    return false;
  for (; *s; s++)
    if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) &&
        *s != '+' && *s != '-' && *s != '.')
      return false;
  return true;
}

int roster_driver_register(const roster_driver *d) {
  builtins();
  if (!d)
    return roster__err(ROSTER_EINVAL, "driver is NULL");
  char qs[48];
  if (d->scheme)
    roster__quote(qs, sizeof qs, d->scheme, strnlen(d->scheme, 40));
  if (d->version != ROSTER_DRIVER_VERSION)
    return roster__err(ROSTER_EINVAL,
                       "driver '%s' has version %u; this roster speaks "
                       "version %d",
                       d->scheme ? qs : "?", d->version, ROSTER_DRIVER_VERSION);
  if (!scheme_ok(d->scheme))
    return roster__err(ROSTER_EINVAL,
                       "driver scheme '%s' must be 1 to 32 lower-case "
                       "letters, digits, '+', '-' or '.', starting with a "
                       "letter",
                       d->scheme ? qs : "");
  if (!d->type || !d->provide)
    return roster__err(ROSTER_EINVAL, "driver '%s' has no %s", d->scheme,
                       d->type ? "provide function" : "type");
  int rc = ROSTER_OK;
  pthread_mutex_lock(&table_lock);
  for (size_t i = 0; i < ntable && rc == ROSTER_OK; i++)
    if (strcmp(table[i]->scheme, d->scheme) == 0)
      rc = table[i] == d
               ? 1
               : roster__err(ROSTER_EEXIST,
                             "scheme '%s' is already "
                             "served by module '%s'",
                             d->scheme,
                             table[i]->module ? table[i]->module : "?");
  if (rc == ROSTER_OK) {
    if (ntable == DRIVERS_MAX)
      rc = roster__err(ROSTER_ENOMEM, "the driver table is full (%d)",
                       DRIVERS_MAX);
    else
      table[ntable++] = d;
  }
  pthread_mutex_unlock(&table_lock);
  return rc == 1 ? ROSTER_OK : rc;
}

int roster_driver_unregister(const roster_driver *d) {
  builtins();
  int rc = ROSTER_ENOENT;
  pthread_mutex_lock(&table_lock);
  for (size_t i = 0; i < ntable; i++)
    if (table[i] == d) {
      table[i] = table[--ntable];
      rc = ROSTER_OK;
      break;
    }
  pthread_mutex_unlock(&table_lock);
  if (rc) {
    char qs[48];
    return roster__err(rc, "driver '%s' is not registered",
                       d && d->scheme ? roster__quote(qs, sizeof qs, d->scheme,
                                                      strnlen(d->scheme, 40))
                                      : "(null)");
  }
  return rc;
}

const roster_driver *roster_driver_find(const char *scheme) {
  const roster_driver *d = NULL;
  builtins();
  if (!scheme)
    return NULL;
  pthread_mutex_lock(&table_lock);
  for (size_t i = 0; i < ntable && !d; i++)
    if (strcasecmp(table[i]->scheme, scheme) == 0)
      d = table[i];
  pthread_mutex_unlock(&table_lock);
  return d;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *roster_driver_schemes(char *buf, size_t cap) {
  if (!buf || !cap)
    return buf;
  const char *v[DRIVERS_MAX];
  builtins();
  pthread_mutex_lock(&table_lock);
  size_t n = ntable;
  for (size_t i = 0; i < n; i++)
    v[i] = table[i]->scheme;
  pthread_mutex_unlock(&table_lock);
  qsort(v, n, sizeof v[0], cmp_str);
  size_t o = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < n && o + 1 < cap; i++) {
    int w = snprintf(buf + o, cap - o, "%s%s", i ? ", " : "", v[i]);
    if (w < 0)
      break;
    o += (size_t)w < cap - o ? (size_t)w : cap - o - 1;
  }
  return buf;
}

/* The URL schemes of roster's own modules, and the call that registers
 * each, so that a scheme whose module was linked but not initialised says
 * what to do. */
static const struct {
  const char *scheme, *hint;
} known[] = {
    {"sqlite", "call roster_sqlite_init() (<roster/sqlite.h>, library "
               "roster_sqlite) to register it"},
    {"postgresql", "call roster_pg_init() (<roster/pg.h>, library roster_pg) "
                   "to register it"},
    {"postgres", "call roster_pg_init() (<roster/pg.h>, library roster_pg) "
                 "to register it"},
    {"mysql", "call roster_mariadb_init() (<roster/mariadb.h>, library "
              "roster_mariadb) to register it"},
    {"mariadb", "call roster_mariadb_init() (<roster/mariadb.h>, library "
                "roster_mariadb) to register it"},
    {"redis", "call roster_redis_init() (<roster/redis.h>, library "
              "roster_redis) to register it"},
    {"unix", "call roster_redis_init() (<roster/redis.h>, library "
             "roster_redis) to register it"},
    {"rediss", "the Redis module serves redis:// and unix:// only (TLS is "
               "not supported)"},
};

/* registered writes "scheme (module m), ..." for every driver, sorted by
 * scheme, into buf; "none" if there is none. */
static const char *registered(char *buf, size_t cap) {
  const roster_driver *v[DRIVERS_MAX];
  builtins();
  pthread_mutex_lock(&table_lock);
  size_t n = ntable;
  memcpy(v, table, n * sizeof v[0]);
  pthread_mutex_unlock(&table_lock);
  for (size_t i = 1; i < n; i++) /* insertion sort: a few entries */
    for (size_t j = i; j > 0 && strcmp(v[j - 1]->scheme, v[j]->scheme) > 0;
         j--) {
      const roster_driver *t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  size_t o = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < n && o + 1 < cap; i++) {
    char qm[48];
    const char *m = v[i]->module ? v[i]->module : "?";
    int w = snprintf(buf + o, cap - o, "%s%s (module %s)", i ? ", " : "",
                     v[i]->scheme, roster__quote(qm, sizeof qm, m, strlen(m)));
    if (w < 0)
      break;
    o += (size_t)w < cap - o ? (size_t)w : cap - o - 1;
  }
  return *buf ? buf : "none";
}

const char *roster__no_module(char *buf, size_t cap, const char *scheme,
                              const char *shown) {
  const char *hint = NULL;
  for (size_t i = 0; scheme && i < sizeof known / sizeof known[0]; i++)
    if (strcasecmp(known[i].scheme, scheme) == 0)
      hint = known[i].hint;
  char have[512], qs[96];
  snprintf(buf, cap,
           "no module for URL scheme '%s' (%s) is registered%s%s; "
           "schemes registered: %s",
           scheme ? roster__quote(qs, sizeof qs, scheme, strlen(scheme)) : "",
           shown, hint ? ": " : "", hint ? hint : "",
           registered(have, sizeof have));
  return buf;
}

static roster__urlrec *find_rec(roster *r, const char *ns, const char *name) {
  for (roster__urlrec *u = r->urls; u; u = u->next)
    if (strcmp(u->ns, ns) == 0 && strcmp(u->name, name) == 0)
      return u;
  return NULL;
}

void roster__urls_free(roster *r) {
  pthread_mutex_lock(&r->url_lock);
  roster__urlrec *u = r->urls;
  r->urls = NULL;
  pthread_mutex_unlock(&r->url_lock);
  while (u) {
    roster__urlrec *nx = u->next;
    roster__free(u->ns);
    roster__free(u->name);
    roster__free(u->url);
    roster__free(u);
    u = nx;
  }
}

int roster_provide_url(roster *r, const char *ns, const char *name,
                       const char *url, const char *const *opts) {
  if (!r)
    return roster__err(ROSTER_EINVAL, "registry is NULL");
  roster__thread_ensure();
  roster__key k;
  int rc = roster__key_init(r, &k, ns, name);
  if (rc)
    return rc;
  char qn[96];
  roster__quote(qn, sizeof qn, name, k.name_len);
  roster_url *u = NULL;
  rc = roster_url_parse(url, &u);
  if (rc)
    return roster__err_wrap(rc, "service '%s'", qn);
  char shown[512];
  roster__url_shown(url, shown, sizeof shown);
  const roster_driver *d = roster_driver_find(u->scheme);
  if (!d) {
    char why[1024];
    rc = roster__err(ROSTER_ENOTSUP, "service '%s': %s", qn,
                     roster__no_module(why, sizeof why, u->scheme, shown));
    roster_url_free(u);
    return rc;
  }
  char *kns = roster__strndup(k.ns, k.ns_len);
  char *kname = roster__strndup(name, k.name_len);
  if (!kns || !kname) {
    roster__free(kns);
    roster__free(kname);
    roster_url_free(u);
    return roster__err(ROSTER_ENOMEM, "out of memory");
  }
  pthread_mutex_lock(&r->url_lock);
  roster__urlrec *rec = find_rec(r, kns, kname);
  if (rec) {
    if (strcmp(rec->url, url) == 0) {
      rc = ROSTER_OK; /* the same service */
    } else {
      char was[512], qs[96];
      roster__url_shown(rec->url, was, sizeof was);
      rc = roster__err(ROSTER_EEXIST,
                       "service '%s' in namespace '%s' is already declared "
                       "with URL %s; refusing %s",
                       qn, roster__quote(qs, sizeof qs, kns, strlen(kns)), was,
                       shown);
    }
  } else {
    rc = d->provide(r, kns, kname, u, url, opts, d->arg);
    if (rc == ROSTER_OK) {
      rec = roster__calloc(1, sizeof *rec);
      if (rec && (rec->url = roster__strndup(url, strlen(url)))) {
        rec->ns = kns;
        rec->name = kname;
        kns = kname = NULL;
        rec->next = r->urls;
        r->urls = rec;
      } else {
        roster__free(rec);
        rc = roster__err(ROSTER_ENOMEM, "out of memory");
      }
    }
  }
  pthread_mutex_unlock(&r->url_lock);
  roster__free(kns);
  roster__free(kname);
  roster_url_free(u);
  return rc;
}

int roster_service_url(roster *r, const char *ns, const char *name, char *buf,
                       size_t cap) {
  if (!r || !buf || !cap)
    return roster__err(ROSTER_EINVAL, "roster_service_url: %s is NULL",
                       !r ? "registry" : "buf");
  roster__key k;
  int rc = roster__key_init(r, &k, ns, name);
  if (rc)
    return rc;
  char kns[ROSTER_NAME_MAX + 1], kname[ROSTER_NAME_MAX + 1];
  snprintf(kns, sizeof kns, "%.*s", (int)k.ns_len, k.ns);
  snprintf(kname, sizeof kname, "%.*s", (int)k.name_len, name);
  rc = ROSTER_ENOENT;
  pthread_mutex_lock(&r->url_lock);
  roster__urlrec *rec = find_rec(r, kns, kname);
  if (rec) {
    roster_url_redact(rec->url, buf, cap);
    rc = ROSTER_OK;
  }
  pthread_mutex_unlock(&r->url_lock);
  if (rc) {
    char qn[96], qs[96];
    return roster__err(rc,
                       "service '%s' in namespace '%s' was not declared from "
                       "a URL",
                       roster__quote(qn, sizeof qn, kname, strlen(kname)),
                       roster__quote(qs, sizeof qs, kns, strlen(kns)));
  }
  return rc;
}
