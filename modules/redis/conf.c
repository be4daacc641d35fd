/*
 * conf.c: redis:// and unix:// URLs and their options, parsed once into an
 * rr_conf that the client, the subscriber and the cache backend share.
 *
 * Every key of the query and of a configuration entry's options is checked
 * here, so a bad one fails when a service is declared, not when it is
 * first used. Details quote the URL redacted (roster_url_redact) and never
 * the password.
 */
#include "redis_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define YEAR_MS INT64_C(31536000000)

static char *dup(const char *s) { return s ? roster_mem_strdup(s) : NULL; }

void roster__redis_conf_free(rr_conf *c) {
  if (!c)
    return;
  roster_mem_free(c->host);
  roster_mem_free(c->path);
  roster_mem_free(c->user);
  if (c->password) {
    /* Not left in freed memory for the next allocation to show. */
    volatile char *p = c->password;
    while (*p)
      *p++ = 0;
  }
  roster_mem_free(c->password);
  roster_mem_free(c->prefix);
  c->host = c->path = c->user = c->password = NULL;
  c->prefix = NULL;
}

int roster__redis_conf_copy(rr_conf *dst, const rr_conf *src) {
  *dst = *src;
  dst->host = dup(src->host);
  dst->path = dup(src->path);
  dst->user = dup(src->user);
  dst->password = dup(src->password);
  dst->prefix = NULL;
  if (src->prefix) {
    dst->prefix = roster_mem_alloc(src->prefix_len + 1);
    if (dst->prefix) {
      memcpy(dst->prefix, src->prefix, src->prefix_len);
      dst->prefix[src->prefix_len] = 0;
    }
  }
  if ((src->host && !dst->host) || (src->path && !dst->path) ||
      (src->user && !dst->user) || (src->password && !dst->password) ||
      (src->prefix && !dst->prefix)) {
    roster__redis_conf_free(dst);
    return roster_error_set(ROSTER_ENOMEM, "redis: out of memory");
  }
  return ROSTER_OK;
}

/* ---- values --------------------------------------------------------- */

static int parse_int(const char *shown, const char *key, const char *v,
                     int64_t lo, int64_t hi, int64_t *out) {
  char *end;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (!*v || *end || errno)
    return roster_error_set(ROSTER_EINVAL,
                            "redis URL %s: option '%s': "
                            "'%.40s' is not an integer",
                            shown, key, v);
  if (x < lo || x > hi)
    return roster_error_set(ROSTER_EINVAL,
                            "redis URL %s: option '%s': "
                            "%lld is out of range [%" PRId64 ", %" PRId64 "]",
                            shown, key, x, lo, hi);
  *out = x;
  return ROSTER_OK;
}

/* set_str replaces *slot with a copy of v. */
static int set_str(char **slot, const char *v) {
  char *s = roster_mem_strdup(v);
  if (!s)
    return roster_error_set(ROSTER_ENOMEM, "redis: out of memory");
  roster_mem_free(*slot);
  *slot = s;
  return ROSTER_OK;
}

/* seen: which keys came from the query or opts, to refuse one given twice
 * in two places that disagree (db in the path and in the query). */
typedef struct seen {
  bool db, user, password;
} seen;

/* apply takes one option. key is normalized ("pool.max" -> "pool_max"). */
static int apply(rr_conf *c, const char *shown, const char *key, const char *v,
                 bool allow_cache, seen *sn) {
  static const struct {
    const char *key;
    size_t off;
    size_t set_off; /* offset of its set_ flag, or 0 */
    int64_t lo, hi;
  } durs[] = {
      {"connect_timeout", offsetof(rr_conf, connect_ms), 0, 1, YEAR_MS},
      {"timeout", offsetof(rr_conf, timeout_ms), 0, 0, YEAR_MS},
      {"pool_timeout", offsetof(rr_conf, pool_timeout_ms), 0, -1, YEAR_MS},
      {"pool_idle_timeout", offsetof(rr_conf, pool_idle_ms),
       offsetof(rr_conf, set_idle), -1, YEAR_MS},
      {"pool_max_lifetime", offsetof(rr_conf, pool_life_ms),
       offsetof(rr_conf, set_life), -1, YEAR_MS},
      {"pool_validate_after", offsetof(rr_conf, pool_validate_ms),
       offsetof(rr_conf, set_validate), -1, YEAR_MS},
      {"pool_leak_threshold", offsetof(rr_conf, pool_leak_ms),
       offsetof(rr_conf, set_leak), 0, YEAR_MS},
  };
  int64_t x;
  int rc;
  for (size_t i = 0; i < sizeof durs / sizeof durs[0]; i++)
    if (strcmp(key, durs[i].key) == 0) {
      if ((rc = parse_int(shown, key, v, durs[i].lo, durs[i].hi, &x)))
        return rc;
      if (x == 0 && strcmp(key, "pool_timeout") == 0)
        return roster_error_set(ROSTER_EINVAL,
                                "redis URL %s: option "
                                "'pool_timeout' must be -1 (no limit) or "
                                "more than 0",
                                shown);
      *(int64_t *)((char *)c + durs[i].off) = x;
      if (durs[i].set_off)
        *(bool *)((char *)c + durs[i].set_off) = true;
      return ROSTER_OK;
    }
  if (strcmp(key, "pool_max") == 0 || strcmp(key, "pool_min") == 0) {
    bool max = key[5] == 'm' && key[6] == 'a';
    if ((rc = parse_int(shown, key, v, max ? 1 : 0, ROSTER_POOL_MAX_SIZE, &x)))
      return rc;
    *(max ? &c->pool_max : &c->pool_min) = (unsigned)x;
    return ROSTER_OK;
  }
  if (strcmp(key, "db") == 0) {
    if (sn->db)
      return roster_error_set(ROSTER_EINVAL,
                              "redis URL %s: the database is "
                              "given twice (path and 'db')",
                              shown);
    if ((rc = parse_int(shown, key, v, 0, INT_MAX, &x)))
      return rc;
    c->db = (int)x;
    sn->db = true;
    return ROSTER_OK;
  }
  if (strcmp(key, "password") == 0 || strcmp(key, "user") == 0) {
    bool pw = key[0] == 'p';
    if (pw ? sn->password : sn->user)
      return roster_error_set(ROSTER_EINVAL,
                              "redis URL %s: the %s is given "
                              "twice (user info and '%s')",
                              shown, key, key);
    *(pw ? &sn->password : &sn->user) = true;
    if (!*v)
      return ROSTER_OK; /* empty: none */
    return set_str(pw ? &c->password : &c->user, v);
  }
  if (strcmp(key, "kind") == 0) {
    if (strcmp(v, "client") == 0)
      c->kind_cache = false;
    else if (strcmp(v, "cache") == 0)
      c->kind_cache = true;
    else
      return roster_error_set(ROSTER_EINVAL,
                              "redis URL %s: option 'kind': "
                              "'%.40s' is neither 'client' nor 'cache'",
                              shown, v);
    return ROSTER_OK;
  }
  if (strcmp(key, "prefix") == 0) {
    size_t n = strlen(v);
    if (n > RR_PREFIX_MAX)
      return roster_error_set(ROSTER_EINVAL,
                              "redis URL %s: option 'prefix' "
                              "is %zu bytes; the longest is %d",
                              shown, n, RR_PREFIX_MAX);
    unsigned char *p = roster_mem_alloc(n + 1);
    if (!p)
      return roster_error_set(ROSTER_ENOMEM, "redis: out of memory");
    memcpy(p, v, n + 1);
    roster_mem_free(c->prefix);
    c->prefix = n ? p : NULL;
    c->prefix_len = n;
    if (!n)
      roster_mem_free(p);
    (void)allow_cache; /* checked once every key is in */
    return ROSTER_OK;
  }
  return roster_error_set(ROSTER_EINVAL,
                          "redis URL %s: unknown option '%s' "
                          "(known: connect_timeout, timeout, pool_max, "
                          "pool_min, pool_timeout, pool_idle_timeout, "
                          "pool_max_lifetime, pool_validate_after, "
                          "pool_leak_threshold, db, user, password, kind, "
                          "prefix)",
                          shown, key);
}

static void norm_key(char *dst, size_t cap, const char *key) {
  snprintf(dst, cap, "%s", key);
  for (char *p = dst; *p; p++)
    if (*p == '.')
      *p = '_';
}

static void make_where(rr_conf *c) {
  if (c->is_unix) {
    if (c->db)
      snprintf(c->where, sizeof c->where, "%.250s?db=%d", c->path, c->db);
    else
      snprintf(c->where, sizeof c->where, "%.250s", c->path);
  } else {
    bool v6 = strchr(c->host, ':') != NULL;
    snprintf(c->where, sizeof c->where, "%s%.250s%s:%d/%d", v6 ? "[" : "",
             c->host, v6 ? "]" : "", c->port, c->db);
  }
}

int roster__redis_conf_from(const roster_url *u, const char *const *opts,
                            const roster_redis_options *o, bool allow_cache,
                            rr_conf *c) {
  *c = (rr_conf){0};
  roster_redis_options def = o ? *o : (roster_redis_options){0};
  char shown[512];
  int rc = ROSTER_OK;
  /* The URL for details, rebuilt from its parts without the password
   * (the caller's text is not at hand here). */
  char port[16] = "";
  if (u->port)
    snprintf(port, sizeof port, ":%d", u->port);
  snprintf(shown, sizeof shown, "%s://%s%.200s%s%.200s", u->scheme,
           u->password ? ":***@" : "", u->host ? u->host : "", port,
           u->path ? u->path : "");

  if (strcmp(u->scheme, "redis") == 0) {
    c->is_unix = false;
  } else if (strcmp(u->scheme, "unix") == 0) {
    c->is_unix = true;
  } else {
    return roster_error_set(ROSTER_EINVAL,
                            "redis: URL scheme '%s' is neither "
                            "redis nor unix",
                            u->scheme);
  }
  if (u->fragment)
    return roster_error_set(ROSTER_EINVAL,
                            "redis URL %s: a fragment ('#') "
                            "means nothing here",
                            shown);
  seen sn = {0};
  c->connect_ms = def.connect_timeout_ms > 0 ? def.connect_timeout_ms : 5000;
  c->timeout_ms = def.timeout_ms == 0  ? 10000
                  : def.timeout_ms < 0 ? 0
                                       : def.timeout_ms;
  c->pool_max = def.pool_max ? def.pool_max : 10;
  c->pool_min = def.pool_min;
  c->pool_timeout_ms = def.pool_timeout_ms == 0  ? 5000
                       : def.pool_timeout_ms < 0 ? -1
                                                 : def.pool_timeout_ms;
  snprintf(c->name, sizeof c->name, "%.63s",
           def.name && *def.name ? def.name : "redis");

  if (c->is_unix) {
    if (u->host || u->port)
      rc = roster_error_set(ROSTER_EINVAL,
                            "redis URL %s: a unix:// URL names "
                            "a socket path, not a host: unix:///path/to/"
                            "redis.sock",
                            shown);
    else if (!u->path || !*u->path)
      rc = roster_error_set(ROSTER_EINVAL,
                            "redis URL %s: the socket path is "
                            "missing: unix:///path/to/redis.sock",
                            shown);
    else
      rc = set_str(&c->path, u->path);
  } else {
    c->port = u->port ? u->port : 6379;
    rc = set_str(&c->host, u->host && *u->host ? u->host : "127.0.0.1");
    const char *p = u->path ? u->path : "";
    if (!rc && *p && strcmp(p, "/") != 0) {
      int64_t db;
      rc = parse_int(shown, "database (the path)", p + 1, 0, INT_MAX, &db);
      if (!rc) {
        c->db = (int)db;
        sn.db = true;
      }
    }
  }
  if (!rc && u->user && *u->user) {
    rc = set_str(&c->user, u->user);
    sn.user = true;
  }
  if (!rc && u->password) {
    sn.password = true;
    if (*u->password)
      rc = set_str(&c->password, u->password);
  }
  for (size_t i = 0; !rc && i < u->nquery; i++) {
    char k[64];
    norm_key(k, sizeof k, u->query_keys[i]);
    rc = apply(c, shown, k, u->query_values[i], allow_cache, &sn);
  }
  for (size_t i = 0; !rc && opts && opts[i]; i += 2) {
    if (!opts[i + 1]) {
      rc = roster_error_set(ROSTER_EINVAL,
                            "redis URL %s: option '%.40s' has "
                            "no value (opts come in key, value pairs)",
                            shown, opts[i]);
      break;
    }
    char k[64];
    norm_key(k, sizeof k, opts[i]);
    rc = apply(c, shown, k, opts[i + 1], allow_cache, &sn);
  }
  if (!rc && c->pool_min > c->pool_max)
    rc = roster_error_set(ROSTER_EINVAL,
                          "redis URL %s: pool_min %u is more "
                          "than pool_max %u",
                          shown, c->pool_min, c->pool_max);
  if (!rc && c->user && !c->password)
    rc = roster_error_set(ROSTER_EINVAL,
                          "redis URL %s: a user needs a "
                          "password",
                          shown);
  if (!rc && c->prefix && !allow_cache && !c->kind_cache)
    rc = roster_error_set(ROSTER_EINVAL,
                          "redis URL %s: option 'prefix' is a "
                          "cache's (add kind=cache)",
                          shown);
  if (!rc && allow_cache && !c->kind_cache) {
    /* A cache opened by URL is a cache whatever kind says, unless it says
     * otherwise outright. */
    for (size_t i = 0; i < u->nquery; i++)
      if (strcmp(u->query_keys[i], "kind") == 0)
        rc = roster_error_set(ROSTER_EINVAL,
                              "redis URL %s: kind=client opens "
                              "a client, not a cache",
                              shown);
    for (size_t i = 0; !rc && opts && opts[i] && opts[i + 1]; i += 2)
      if (strcmp(opts[i], "kind") == 0)
        rc = roster_error_set(ROSTER_EINVAL,
                              "redis URL %s: kind=client opens "
                              "a client, not a cache",
                              shown);
    c->kind_cache = true;
  }
  if (rc) {
    roster__redis_conf_free(c);
    return rc;
  }
  make_where(c);
  return ROSTER_OK;
}

int roster__redis_conf_parse(const char *url, const char *const *opts,
                             const roster_redis_options *o, bool allow_cache,
                             rr_conf *c) {
  *c = (rr_conf){0};
  if (!url)
    return roster_error_set(ROSTER_EINVAL, "redis: the URL is NULL");
  roster_url *u = NULL;
  int rc = roster_url_parse(url, &u);
  if (rc)
    return rc; /* its detail is redacted */
  rc = roster__redis_conf_from(u, opts, o, allow_cache, c);
  roster_url_free(u);
  return rc;
}
