/*
 * driver.c: the driver table (roster/driver.h): registration and its
 * checks, the one lookup (roster__driver_pick) and its sentences.
 *
 * The table is a small array under one mutex: it is read when something
 * is opened or declared from a URL, never on a registry lookup, so a lock
 * costs nothing that matters. Core knows no kind of face but its own
 * service face (driver_url.c) and no driver at all: the layers that own a
 * kind (cache, database) describe it with a roster_face_kind, and register
 * their built-in drivers themselves.
 */
#include "roster_impl.h"

#include "driver_impl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#define DRIVERS_MAX 64

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static const roster_driver *table[DRIVERS_MAX];
static size_t ntable;

static bool scheme_ok(const char *s) {
  if (!s || !*s || strlen(s) > 32 || !islower((unsigned char)s[0]))
    return false;
  for (; *s; s++)
    if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) &&
        *s != '+' && *s != '-' && *s != '.')
      return false;
  return true;
}

static const char *qstr(char *buf, size_t cap, const char *s) {
  return s ? roster__quote(buf, cap, s, strnlen(s, 64)) : "?";
}

static size_t nfaces(const roster_driver *d) {
  size_t n = 0;
  while (n < ROSTER_DRIVER_FACES && (d->faces[n].kind || d->faces[n].ops))
    n++;
  return n;
}

/* ---- checks ---------------------------------------------------------- */

int roster__face_check(const roster_face_kind *k, const void *ops,
                       const char *who, const char *skip) {
  unsigned v;
  memcpy(&v, ops, sizeof v); /* every vtable begins with its version */
  if (v != k->version)
    return roster__err(ROSTER_EINVAL,
                       "%s: its %s face has version %u; this roster speaks "
                       "version %u",
                       who, k->name, v, k->version);
  for (size_t i = 0; i < k->nrequired; i++) {
    if (skip && strcmp(skip, k->required[i].name) == 0)
      continue;
    const unsigned char *p = (const unsigned char *)ops + k->required[i].offset;
    bool set = false;
    for (size_t j = 0; j < sizeof(void (*)(void)) && !set; j++)
      set = p[j] != 0;
    if (!set)
      return roster__err(ROSTER_EINVAL,
                         "%s: its %s face has no %s, which is required", who,
                         k->name, k->required[i].name);
  }
  return ROSTER_OK;
}

static int check_driver(const roster_driver *d) {
  if (!d)
    return roster__err(ROSTER_EINVAL, "driver is NULL");
  char qn[80], who[96];
  snprintf(who, sizeof who, "driver '%s'", qstr(qn, sizeof qn, d->name));
  if (d->version != ROSTER_DRIVER_VERSION)
    return roster__err(ROSTER_EINVAL,
                       "%s has version %u; this roster speaks version %d", who,
                       d->version, ROSTER_DRIVER_VERSION);
  if (!d->name || !*d->name)
    return roster__err(ROSTER_EINVAL, "driver has no name");
  size_t ns = 0;
  while (d->schemes && ns <= ROSTER_DRIVER_SCHEMES && d->schemes[ns])
    ns++;
  if (ns == 0 || ns > ROSTER_DRIVER_SCHEMES)
    return roster__err(ROSTER_EINVAL, "%s has %s schemes (1 to %d)", who,
                       ns ? "too many" : "no", ROSTER_DRIVER_SCHEMES);
  for (size_t i = 0; i < ns; i++)
    if (!scheme_ok(d->schemes[i])) {
      char qs[80];
      return roster__err(ROSTER_EINVAL,
                         "%s: scheme '%s' must be 1 to 32 lower-case "
                         "letters, digits, '+', '-' or '.', starting with a "
                         "letter",
                         who, qstr(qs, sizeof qs, d->schemes[i]));
    }
  size_t nf = nfaces(d);
  if (nf == 0)
    return roster__err(ROSTER_EINVAL, "%s offers no face", who);
  for (size_t i = 0; i < nf; i++) {
    const roster_driver_face *f = &d->faces[i];
    if (!f->kind || !f->ops)
      return roster__err(ROSTER_EINVAL, "%s: face %zu has no %s", who, i + 1,
                         f->kind ? "vtable (ops)" : "kind");
    for (size_t j = 0; j < i; j++)
      if (d->faces[j].kind == f->kind)
        return roster__err(ROSTER_EINVAL, "%s offers two %s faces", who,
                           f->kind->name);
    int rc = roster__face_check(f->kind, f->ops, who, NULL);
    if (!rc && f->kind->validate)
      rc = f->kind->validate(d, f->ops);
    if (rc)
      return rc;
  }
  return ROSTER_OK;
}

/* ---- the table --------------------------------------------------------- */

/* find_locked: the driver serving scheme (any case), or NULL. */
static const roster_driver *find_locked(const char *scheme) {
  for (size_t i = 0; i < ntable; i++)
    for (const char *const *s = table[i]->schemes; *s; s++)
      if (strcasecmp(*s, scheme) == 0)
        return table[i];
  return NULL;
}

int roster_driver_register(const roster_driver *d) {
  int rc = check_driver(d);
  if (rc)
    return rc;
  pthread_mutex_lock(&table_lock);
  for (size_t i = 0; i < ntable && rc == ROSTER_OK; i++)
    if (table[i] == d)
      rc = 1; /* again: a no-op */
  for (const char *const *s = d->schemes; *s && rc == ROSTER_OK; s++) {
    const roster_driver *have = find_locked(*s);
    char qm[80];
    if (have)
      rc = roster__err(
          ROSTER_EEXIST, "scheme '%s' is already served by module '%s'", *s,
          qstr(qm, sizeof qm, have->module ? have->module : have->name));
  }
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
    char qn[80];
    return roster__err(rc, "driver '%s' is not registered",
                       d ? qstr(qn, sizeof qn, d->name) : "(null)");
  }
  return rc;
}

const roster_driver *roster_driver_find(const char *scheme) {
  if (!scheme)
    return NULL;
  pthread_mutex_lock(&table_lock);
  const roster_driver *d = find_locked(scheme);
  pthread_mutex_unlock(&table_lock);
  return d;
}

/* snapshot: every (scheme, module) pair, sorted by scheme. */
typedef struct pair {
  const char *scheme, *module;
} pair;

static int cmp_pair(const void *a, const void *b) {
  return strcmp(((const pair *)a)->scheme, ((const pair *)b)->scheme);
}

static size_t snapshot(pair *v, size_t cap) {
  size_t n = 0;
  pthread_mutex_lock(&table_lock);
  for (size_t i = 0; i < ntable; i++)
    for (const char *const *s = table[i]->schemes; *s && n < cap; s++)
      v[n++] = (pair){*s, table[i]->module ? table[i]->module : table[i]->name};
  pthread_mutex_unlock(&table_lock);
  qsort(v, n, sizeof v[0], cmp_pair);
  return n;
}

/* list writes the pairs into buf, "a, b" or with modules "a (module m)". */
static char *list(char *buf, size_t cap, bool modules) {
  pair v[DRIVERS_MAX * ROSTER_DRIVER_SCHEMES];
  size_t n = snapshot(v, sizeof v / sizeof v[0]);
  size_t o = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < n && o + 1 < cap; i++) {
    char qm[80];
    int w =
        modules
            ? snprintf(buf + o, cap - o, "%s%s (module %s)", i ? ", " : "",
                       v[i].scheme, qstr(qm, sizeof qm, v[i].module))
            : snprintf(buf + o, cap - o, "%s%s", i ? ", " : "", v[i].scheme);
    if (w < 0)
      break;
    o += (size_t)w < cap - o ? (size_t)w : cap - o - 1;
  }
  return buf;
}

char *roster_driver_schemes(char *buf, size_t cap) {
  return buf && cap ? list(buf, cap, false) : buf;
}

/* ---- the one lookup ------------------------------------------------------ */

/* The URL schemes of roster's own modules, and the call that registers
 * each, so that a scheme whose module was linked but not initialised says
 * what to do. Plain text: core links no module. */
#define HINT(call, hdr, lib)                                                   \
  "call " call "() (<roster/" hdr ">, library " lib ") to register it"
static const struct {
  const char *scheme, *hint;
} known[] = {
    {"sqlite", HINT("roster_sqlite_init", "sqlite.h", "roster_sqlite")},
    {"postgresql", HINT("roster_pg_init", "pg.h", "roster_pg")},
    {"postgres", HINT("roster_pg_init", "pg.h", "roster_pg")},
    {"mysql", HINT("roster_mariadb_init", "mariadb.h", "roster_mariadb")},
    {"mariadb", HINT("roster_mariadb_init", "mariadb.h", "roster_mariadb")},
    {"redis", HINT("roster_redis_init", "redis.h", "roster_redis")},
    {"unix", HINT("roster_redis_init", "redis.h", "roster_redis")},
    {"http", HINT("roster_http_init", "http.h", "roster_http")},
    {"https", HINT("roster_http_init", "http.h", "roster_http")},
    {"rediss", "the Redis module serves redis:// and unix:// only (TLS is "
               "not supported)"},
    {"memory", "it is built into roster's cache layer, which a static link "
               "includes once the program calls a roster_cache_ function"},
};

const char *roster__driver_module_hint(const char *scheme) {
  for (size_t i = 0; scheme && i < sizeof known / sizeof known[0]; i++)
    if (strcasecmp(known[i].scheme, scheme) == 0)
      return known[i].hint;
  return NULL;
}

/* kinds writes the kind names d offers: "client, cache". */
static const char *kinds(const roster_driver *d, char *buf, size_t cap) {
  size_t o = 0;
  buf[0] = '\0';
  for (size_t i = 0, n = nfaces(d); i < n && o + 1 < cap; i++) {
    const roster_driver_face *f = &d->faces[i];
    const char *nm = f->kind->name;
    if (f->kind == &roster_service_face &&
        ((const roster_service_ops *)f->ops)->kind)
      nm = ((const roster_service_ops *)f->ops)->kind;
    int w = snprintf(buf + o, cap - o, "%s%s", i ? ", " : "", nm);
    if (w < 0)
      break;
    o += (size_t)w < cap - o ? (size_t)w : cap - o - 1;
  }
  return buf;
}

static bool face_named(const roster_driver_face *f, const char *kind) {
  const char *own = f->kind == &roster_service_face
                        ? ((const roster_service_ops *)f->ops)->kind
                        : NULL;
  return strcmp(f->kind->name, kind) == 0 || (own && strcmp(own, kind) == 0);
}

int roster__driver_pick(const char *scheme, const roster_face_kind *want,
                        const char *kind, const char *shown,
                        roster__face_ref *out) {
  *out = (roster__face_ref){0};
  char qs[80], qm[80];
  const roster_driver *d = roster_driver_find(scheme);
  if (!d) {
    const char *hint = roster__driver_module_hint(scheme);
    char have[512];
    list(have, sizeof have, true);
    return roster__err(ROSTER_ENOTSUP,
                       "no module for URL scheme '%s' (%s) is registered%s%s; "
                       "schemes registered: %s",
                       qstr(qs, sizeof qs, scheme), shown, hint ? ": " : "",
                       hint ? hint : "", *have ? have : "none");
  }
  size_t n = nfaces(d), pick = n;
  for (size_t i = 0; i < n && pick == n; i++)
    if (want   ? d->faces[i].kind == want
        : kind ? face_named(&d->faces[i], kind)
               : d->faces[i].kind == &roster_service_face)
      pick = i;
  if (pick == n && !want && !kind)
    pick = 0; /* no service face: the first */
  if (pick == n) {
    char offers[128];
    kinds(d, offers, sizeof offers);
    if (want)
      return roster__err(ROSTER_ENOTSUP,
                         "URL %s: scheme '%s' (module '%s') is not %s; it "
                         "offers: %s",
                         shown, qstr(qs, sizeof qs, scheme),
                         qstr(qm, sizeof qm, d->module ? d->module : d->name),
                         want->what, offers);
    char qk[80];
    return roster__err(ROSTER_ENOTSUP,
                       "URL %s: scheme '%s' (module '%s') has no kind '%s'; "
                       "kind may be: %s",
                       shown, qstr(qs, sizeof qs, scheme),
                       qstr(qm, sizeof qm, d->module ? d->module : d->name),
                       qstr(qk, sizeof qk, kind), offers);
  }
  *out = (roster__face_ref){d, d->faces[pick].kind, d->faces[pick].ops};
  return ROSTER_OK;
}
