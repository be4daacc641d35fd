/*
 * service.c: etcd in the registry: the roster_etcd_type descriptor,
 * roster_etcd_find, the etcd:// driver and roster_etcd_init.
 *
 * etcd://h1:p1,h2:p2/prefix?cluster=c&ttl=10&timeout=5000
 *        &publish=api:8080,worker&mirror=cluster
 * declares a client service (created by roster_start) of the cluster's
 * members. publish names services of the registry the etcd service is
 * declared in (name, or name:port; namespace "default") that are
 * published while the etcd service is up: services marked public by
 * configuration. mirror names a namespace of that registry into which the
 * cluster's services are mirrored (the registry needs duplicate keys).
 * The URL's query may also come as options (a config entry's keys).
 */
#include "etcd_impl.h"

#include <roster/driver.h>

#include "base/helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* an etcd service: the client and what it publishes and mirrors */
typedef struct svc {
  roster_etcd *c; /* first: roster_etcd_find hands out the client */
  roster_etcd_publication **pubs;
  size_t npubs;
  roster_etcd_mirror *mirror;
} svc;

static void svc_destroy(void *instance) {
  svc *s = instance;
  if (!s)
    return;
  roster_etcd_mirror_free(s->mirror);
  for (size_t i = 0; i < s->npubs; i++)
    roster_etcd_unpublish(s->pubs[i], false);
  roster_mem_free(s->pubs);
  roster_etcd_free(s->c);
  roster_mem_free(s);
}

static int svc_health(void *instance) {
  svc *s = instance;
  roster_etcd_kvs kvs;
  int rc = roster_etcd_get(s->c, "/roster/.health", &kvs);
  roster_etcd_kvs_free(&kvs);
  return rc;
}

const roster_type roster_etcd_type = {
    .name = "etcd",
    .destroy = svc_destroy,
    .health = svc_health,
};

int roster_etcd_find(roster *r, const char *ns, const char *name,
                     roster_etcd **out) {
  if (!out)
    return roster_error_set(ROSTER_EINVAL, "roster_etcd_find: out is NULL");
  void *p = NULL;
  int rc = roster_get(r, ns, name, &roster_etcd_type, &p);
  *out = p ? ((svc *)p)->c : NULL;
  return rc;
}

typedef struct conf {
  char endpoints[1024];
  char prefix[256];
  const char *cluster, *publish, *mirror;
  int64_t ttl, timeout;
} conf;

static int num(const char *name, const char *k, const char *v, int64_t *out) {
  char *end;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (!*v || *end || errno || x <= 0)
    return roster_error_set(ROSTER_EINVAL,
                            "etcd service '%s': option '%s' must be a number "
                            "of 1 or more",
                            name, k);
  *out = x;
  return ROSTER_OK;
}

static int opt(conf *c, const char *name, const char *k, const char *v) {
  if (!strcmp(k, "cluster"))
    c->cluster = v;
  else if (!strcmp(k, "publish"))
    c->publish = v;
  else if (!strcmp(k, "mirror"))
    c->mirror = v;
  else if (!strcmp(k, "ttl"))
    return num(name, k, v, &c->ttl);
  else if (!strcmp(k, "timeout"))
    return num(name, k, v, &c->timeout);
  else
    return roster_error_set(ROSTER_EINVAL,
                            "etcd service '%s': unknown option '%s' (known: "
                            "cluster, ttl, timeout, publish, mirror)",
                            name, k);
  return ROSTER_OK;
}

static int conf_from(const roster_url *u, const char *const *opts,
                     const char *name, conf *c) {
  memset(c, 0, sizeof *c);
  if (u->user)
    return roster_error_set(ROSTER_ENOTSUP,
                            "etcd service '%s': user info in the URL (etcd "
                            "authentication) is not supported",
                            name);
  const char *hosts = u->hosts;
  char one[300];
  if (!hosts) {
    snprintf(one, sizeof one, "%s:%d", u->host ? u->host : "", u->port);
    hosts = one;
  }
  size_t n = 0;
  for (const char *p = hosts; *p;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    n += (size_t)snprintf(c->endpoints + n,
                          n < sizeof c->endpoints ? sizeof c->endpoints - n : 0,
                          "%shttp://%.*s", n ? "," : "", (int)len, p);
    p += len + (comma != NULL);
  }
  if (n >= sizeof c->endpoints)
    return roster_error_set(ROSTER_EINVAL, "etcd service '%s': too many hosts",
                            name);
  snprintf(c->prefix, sizeof c->prefix, "%s",
           u->path && strcmp(u->path, "/") && *u->path ? u->path : "/roster");
  size_t pl = strlen(c->prefix);
  if (pl > 1 && c->prefix[pl - 1] == '/')
    c->prefix[pl - 1] = '\0';
  for (size_t i = 0; i < u->nquery; i++) {
    int rc = opt(c, name, u->query_keys[i], u->query_values[i]);
    if (rc)
      return rc;
  }
  for (size_t i = 0; opts && opts[i] && opts[i + 1]; i += 2) {
    int rc = opt(c, name, opts[i], opts[i + 1]);
    if (rc)
      return rc;
  }
  return ROSTER_OK;
}

static int publish_all(svc *s, roster *r, const conf *c, const char *name) {
  if (!c->publish || !*c->publish)
    return ROSTER_OK;
  size_t n = 1;
  for (const char *p = c->publish; *p; p++)
    n += *p == ',';
  s->pubs = roster_mem_calloc(n, sizeof *s->pubs);
  if (!s->pubs)
    return roster_error_set(ROSTER_ENOMEM, "etcd service: out of memory");
  for (const char *p = c->publish; *p;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    char item[300];
    snprintf(item, sizeof item, "%.*s", (int)len, p);
    p += len + (comma != NULL);
    char *colon = strchr(item, ':');
    int port = 0;
    if (colon) {
      *colon = '\0';
      port = atoi(colon + 1);
    }
    roster_etcd_publish_options po = {.cluster = c->cluster,
                                      .prefix = c->prefix,
                                      .name = item,
                                      .port = port,
                                      .ttl_s = c->ttl};
    int rc = roster_etcd_publish(s->c, r, &po, &s->pubs[s->npubs]);
    if (rc)
      return roster__err_wrap(rc, "etcd service '%s'", name);
    s->npubs++;
  }
  return ROSTER_OK;
}

static int svc_open(const char *text, const char *const *opts, const char *name,
                    void **out) {
  *out = NULL;
  roster_url *u = NULL;
  int rc = roster_url_parse(text, &u);
  conf c;
  if (!rc)
    rc = conf_from(u, opts, name, &c); /* c points into u and opts */
  svc *s = rc ? NULL : roster_mem_calloc(1, sizeof *s);
  if (!s) {
    roster_url_free(u);
    return rc ? rc
              : roster_error_set(ROSTER_ENOMEM, "etcd service: out of memory");
  }
  roster_etcd_options o = {
      .endpoints = c.endpoints, .name = name, .timeout_ms = c.timeout};
  rc = roster_etcd_new(&o, &s->c);
  roster *r = roster_driver_registry();
  if (!rc && r)
    rc = publish_all(s, r, &c, name);
  if (!rc && r && c.mirror) {
    roster_etcd_mirror_options mo = {
        .cluster = c.cluster, .prefix = c.prefix, .ns = c.mirror};
    rc = roster_etcd_mirror_new(s->c, r, &mo, &s->mirror);
  }
  roster_url_free(u);
  if (rc) {
    svc_destroy(s);
    return rc;
  }
  *out = s;
  return ROSTER_OK;
}

static int svc_check(const roster_url *url, const char *text,
                     const char *const *opts, const char *name) {
  (void)text;
  conf c;
  int rc = conf_from(url, opts, name, &c);
  roster_etcd *cli = NULL;
  roster_etcd_options o = {.endpoints = c.endpoints, .name = name};
  if (!rc)
    rc = roster_etcd_new(&o, &cli);
  roster_etcd_free(cli);
  return rc;
}

static const roster_service_ops svc_face = {
    .version = ROSTER_DRIVER_VERSION,
    .kind = "client",
    .type = &roster_etcd_type,
    .check = svc_check,
    .open = svc_open,
    .eager = true,
};

static const char *const schemes[] = {"etcd", NULL};

static const roster_driver driver = {
    .version = ROSTER_DRIVER_VERSION,
    .name = "etcd",
    .module = "etcd",
    .schemes = schemes,
    .faces = {{&roster_service_face, &svc_face}},
};

int roster_etcd_init(void) { return roster_driver_register(&driver); }
