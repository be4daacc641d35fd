/*
 * service.c: HTTP clients in the registry: the roster_http_type
 * descriptor, roster_http_find, the driver of http:// and https:// and
 * roster_http_init.
 *
 * An http:// or https:// URL declares a client service whose base URL is
 * that URL; the options (a config entry's other keys) are read into
 * roster_http_options here, and checked when the service is declared by
 * making a client and freeing it (roster_http_new does no I/O).
 */
#include "http_impl.h"

#include "base/helpers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void client_destroy(void *instance) { roster_http_free(instance); }

static int client_health(void *instance) {
  return roster_http_health(instance);
}

const roster_type roster_http_type = {
    .name = "http",
    .destroy = client_destroy,
    .health = client_health,
};

ROSTER_DEFINE_FIND(roster_http_find, roster_http, roster_http_type)

/* ---- options ---- */

typedef struct conf {
  roster_http_options o;
  const char **headers; /* pointers into opts */
} conf;

static int bad(const char *name, const char *key, const char *want) {
  return roster_error_set(ROSTER_EINVAL,
                          "HTTP client '%s': option '%s' must be %s", name, key,
                          want);
}

static int get_i64(const char *name, const char *key, const char *v,
                   int64_t *out) {
  char *end;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (!*v || *end || errno || x < 0)
    return bad(name, key, "a number of 0 or more");
  *out = x;
  return ROSTER_OK;
}

static int get_bool(const char *name, const char *key, const char *v,
                    bool *out) {
  if (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes"))
    *out = true;
  else if (!strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "no"))
    *out = false;
  else
    return bad(name, key, "true or false");
  return ROSTER_OK;
}

static const struct {
  const char *key;
  size_t off;
} durations[] = {
    {"connect_timeout", offsetof(roster_http_options, connect_timeout_ms)},
    {"timeout", offsetof(roster_http_options, timeout_ms)},
    {"retry_base", offsetof(roster_http_options, retry_base_ms)},
    {"retry_max", offsetof(roster_http_options, retry_max_ms)},
    {"retry_after_max", offsetof(roster_http_options, retry_after_max_ms)},
    {"breaker_cooldown", offsetof(roster_http_options, breaker_cooldown_ms)},
};

/* one reads opts[i], opts[i + 1] into c. */
static int one(conf *c, const char *k, const char *v, size_t *nh) {
  roster_http_options *o = &c->o;
  const char *n = o->name;
  int64_t x = 0;
  bool b = false;
  int rc;
  for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++)
    if (strcmp(k, durations[i].key) == 0) {
      if ((rc = get_i64(n, k, v, &x)))
        return rc;
      if (x == 0 && strcmp(k, "timeout") != 0)
        return bad(n, k, "1 or more");
      *(int64_t *)((char *)o + durations[i].off) = x ? x : -1; /* 0: none */
      return ROSTER_OK;
    }
  if (!strcmp(k, "retries") || !strcmp(k, "breaker_failures") ||
      !strcmp(k, "max_connections")) {
    if ((rc = get_i64(n, k, v, &x)))
      return rc;
    if (x > 1000000)
      return bad(n, k, "at most 1000000");
    if (!strcmp(k, "retries"))
      o->retries = x ? (int)x : -1;
    else if (!strcmp(k, "breaker_failures"))
      o->breaker_failures = x ? (int)x : -1;
    else if (x == 0)
      return bad(n, k, "1 or more");
    else
      o->max_connections = (unsigned)x;
    return ROSTER_OK;
  }
  if (!strcmp(k, "max_body")) {
    if ((rc = get_i64(n, k, v, &x)))
      return rc;
    if (x == 0)
      return bad(n, k, "1 or more");
    o->max_body = (size_t)x;
    return ROSTER_OK;
  }
  if (!strcmp(k, "tls_verify") || !strcmp(k, "follow_redirects")) {
    if ((rc = get_bool(n, k, v, &b)))
      return rc;
    *(k[0] == 't' ? &o->tls_no_verify : &o->no_redirects) = !b;
    return ROSTER_OK;
  }
  if (!strcmp(k, "compressed")) {
    if ((rc = get_bool(n, k, v, &b)))
      return rc;
    o->compressed = b;
    return ROSTER_OK;
  }
  const char **s = !strcmp(k, "probe")      ? &o->probe
                   : !strcmp(k, "ca_file")  ? &o->ca_file
                   : !strcmp(k, "token")    ? &o->bearer_token
                   : !strcmp(k, "user")     ? &o->user
                   : !strcmp(k, "password") ? &o->password
                                            : NULL;
  if (s) {
    *s = v;
    return ROSTER_OK;
  }
  if (!strncmp(k, "headers.", 8) && k[8]) {
    c->headers[(*nh)++] = k + 8;
    c->headers[(*nh)++] = v;
    return ROSTER_OK;
  }
  return roster_error_set(
      ROSTER_EINVAL,
      "HTTP client '%s': unknown option '%s' (known: "
      "connect_timeout, timeout, retries, retry_base, "
      "retry_max, retry_after_max, breaker_failures, "
      "breaker_cooldown, max_connections, max_body, probe, "
      "ca_file, tls_verify, follow_redirects, compressed, token, user, "
      "password, headers.<Name>)",
      n, k);
}

static int conf_from(const char *text, const char *const *opts,
                     const char *name, conf *c) {
  memset(c, 0, sizeof *c);
  c->o.name = name;
  c->o.base_url = text;
  size_t n = 0;
  while (opts && opts[n] && opts[n + 1])
    n += 2;
  c->headers = roster_mem_calloc(n + 1, sizeof *c->headers);
  if (!c->headers)
    return roster_error_set(ROSTER_ENOMEM, "HTTP client: out of memory");
  size_t nh = 0;
  for (size_t i = 0; i < n; i += 2) {
    int rc = one(c, opts[i], opts[i + 1], &nh);
    if (rc) {
      roster_mem_free(c->headers);
      c->headers = NULL;
      return rc;
    }
  }
  c->o.headers = c->headers;
  return ROSTER_OK;
}

static int client_open(const char *text, const char *const *opts,
                       const char *name, void **out) {
  conf c;
  *out = NULL;
  int rc = conf_from(text, opts, name, &c);
  if (rc)
    return rc;
  roster_http *cli = NULL;
  rc = roster_http_new(&c.o, &cli);
  roster_mem_free(c.headers);
  *out = cli;
  return rc;
}

static int client_check(const roster_url *url, const char *text,
                        const char *const *opts, const char *name) {
  (void)url;
  void *cli = NULL;
  int rc = client_open(text, opts, name, &cli);
  roster_http_free(cli);
  return rc;
}

static const roster_service_ops client_face = {
    .version = ROSTER_DRIVER_VERSION,
    .kind = "client",
    .type = &roster_http_type,
    .check = client_check,
    .open = client_open,
};

static const char *const schemes[] = {"http", "https", NULL};

const roster_driver roster__http_driver = {
    .version = ROSTER_DRIVER_VERSION,
    .name = "http",
    .module = "http",
    .schemes = schemes,
    .faces = {{&roster_service_face, &client_face}},
};

int roster_http_init(void) {
  return roster_driver_register(&roster__http_driver);
}
