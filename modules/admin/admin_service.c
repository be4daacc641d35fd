/*
 * admin_service.c: endpoints in the registry: roster_admin_type,
 * roster_admin_find, and the admin:// driver (a URL declares an endpoint
 * for the registry it is declared in, made and started by roster_start).
 */
#include "admin_impl.h"

#include "base/helpers.h" /* roster__err_save */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <urcu-bp.h>
#include <urcu/call-rcu.h>

static void *free_main(void *a) {
  roster_admin_free(a);
  return NULL;
}

static void admin_type_destroy(void *instance) {
  roster_admin_stop(instance, 5000); /* the port is free on return */
  /* On liburcu's call_rcu thread (an instance unregistered by hand) the
   * free would wait for an RCU barrier needing that very thread (the
   * server's rooms registry): it goes to a thread of its own. */
  if (urcu_bp_get_thread_call_rcu_data() &&
      roster__thread_start(NULL, "roster-admin-free", true, free_main,
                           instance) == ROSTER_OK)
    return;
  roster_admin_free(instance);
}

static int admin_type_health(void *instance) {
  return roster_admin_health(instance);
}

const roster_type roster_admin_type = {.name = "admin",
                                       .destroy = admin_type_destroy,
                                       .health = admin_type_health};

ROSTER_DEFINE_FIND(roster_admin_find, roster_admin, roster_admin_type)

/* ---- the URL and its options ------------------------------------------- */

typedef struct admin_conf {
  roster_admin_options o;
  char host[64];
} admin_conf;

static int apply(admin_conf *c, const char *key, const char *v) {
  if (strcmp(key, "token_env") == 0) {
    c->o.token_env = v;
    return ROSTER_OK;
  }
  bool lines = strcmp(key, "log_lines") == 0;
  if (lines || strcmp(key, "stats_interval") == 0) {
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (!*v || *end || errno || x < 1 || x > (lines ? 1000000 : 3600000))
      return roster_error_set(ROSTER_EINVAL,
                              "admin URL: option '%s': '%.40s' is not a "
                              "positive integer in range",
                              key, v);
    if (lines)
      c->o.log_lines = (unsigned)x;
    else
      c->o.stats_interval_ms = x;
    return ROSTER_OK;
  }
  if (roster_url_secret_key(key))
    return roster_error_set(ROSTER_EINVAL,
                            "admin URL: option '%.60s': a secret is never "
                            "taken from a URL; name the variable that holds "
                            "it with token_env",
                            key);
  return roster_error_set(ROSTER_EINVAL,
                          "admin URL: unknown option '%.60s' (known: "
                          "token_env, log_lines, stats_interval)",
                          key);
}

/* conf_from reads the URL; the option strings point into u and opts. */
static int conf_from(const roster_url *u, const char *const *opts,
                     const char *name, admin_conf *c) {
  memset(c, 0, sizeof *c);
  if (u->user || u->password || u->fragment ||
      (u->path && *u->path && strcmp(u->path, "/") != 0))
    return roster_error_set(ROSTER_EINVAL,
                            "admin URL: no user, password, path or "
                            "fragment: admin://host:port?token_env=NAME");
  if (!u->port)
    return roster_error_set(ROSTER_EINVAL, "admin URL: the port is missing: "
                                           "admin://127.0.0.1:9100");
  snprintf(c->host, sizeof c->host, "%s",
           u->host && *u->host ? u->host : "127.0.0.1");
  c->o.name = name;
  c->o.host = c->host;
  c->o.port = (uint16_t)u->port;
  int rc = ROSTER_OK;
  for (size_t i = 0; rc == ROSTER_OK && i < u->nquery; i++)
    rc = apply(c, u->query_keys[i], u->query_values[i]);
  for (size_t i = 0; rc == ROSTER_OK && opts && opts[i]; i += 2)
    rc = opts[i + 1]
             ? apply(c, opts[i], opts[i + 1])
             : roster_error_set(ROSTER_EINVAL,
                                "admin: option '%s' has no value", opts[i]);
  return rc;
}

static int face_check(const roster_url *url, const char *text,
                      const char *const *opts, const char *name) {
  (void)text;
  admin_conf c;
  return conf_from(url, opts, name, &c);
}

static int face_open(const char *text, const char *const *opts,
                     const char *name, void **out) {
  *out = NULL;
  roster *r = roster_driver_registry();
  if (!r)
    return roster_error_set(ROSTER_ESTATE,
                            "admin: an admin:// service is made by the "
                            "registry it is declared in");
  roster_url *u = NULL;
  int rc = roster_url_parse(text, &u);
  admin_conf c;
  roster_admin *a = NULL;
  if (rc == ROSTER_OK)
    rc = conf_from(u, opts, name, &c);
  if (rc == ROSTER_OK)
    rc = roster_admin_new(r, &c.o, &a);
  roster_url_free(u);
  if (rc == ROSTER_OK)
    rc = roster_admin_start(a);
  if (rc != ROSTER_OK) {
    roster__err_saved es;
    roster__err_save(&es, rc);
    roster_admin_free(a);
    return roster__err_restore(&es);
  }
  *out = a;
  return ROSTER_OK;
}

static const roster_service_ops admin_face = {
    .version = ROSTER_DRIVER_VERSION,
    .kind = "admin",
    .type = &roster_admin_type,
    .check = face_check,
    .open = face_open,
    .eager = true,
};

static const char *const schemes[] = {"admin", NULL};

const roster_driver roster__admin_driver = {
    .version = ROSTER_DRIVER_VERSION,
    .name = "admin",
    .module = "admin",
    .schemes = schemes,
    .faces = {{&roster_service_face, &admin_face}},
};

int roster_admin_init(void) {
  return roster_driver_register(&roster__admin_driver);
}
