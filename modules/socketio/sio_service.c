/*
 * sio_service.c: Socket.IO servers in the registry: roster_socketio_type,
 * roster_socketio_find, and the socketio:// driver (a URL declares a
 * server service, made and started by roster_start, stopped and freed
 * when it is unregistered).
 */
#include "sio_impl.h"

#include "base/helpers.h" /* roster__err_save */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <urcu-bp.h>
#include <urcu/call-rcu.h>

static void *free_main(void *io) {
  roster_socketio_free(io);
  return NULL;
}

static void server_destroy(void *instance) {
  roster_socketio_stop(instance, 5000); /* the port is free on return */
  /* Unregistered from a registry, this runs on liburcu's call_rcu thread,
   * where roster_free of the rooms' registry would wait for an RCU
   * barrier that needs this very thread: the free goes to a thread of its
   * own (it only frees memory now). */
  if (urcu_bp_get_thread_call_rcu_data() &&
      roster__thread_start(NULL, "roster-sio-free", true, free_main,
                           instance) == ROSTER_OK)
    return;
  roster_socketio_free(instance);
}

static int server_health(void *instance) {
  return roster_socketio_health(instance);
}

const roster_type roster_socketio_type = {
    .name = "socketio", .destroy = server_destroy, .health = server_health};

ROSTER_DEFINE_FIND(roster_socketio_find, roster_socketio, roster_socketio_type)

/* ---- the URL and its options ------------------------------------------- */

typedef struct sio_conf {
  roster_socketio_options o;
  char path[ROSTER_NAME_MAX + 2];
  char host[64];
  char *origins_text;
  char **origins;
  const roster_socketio_adapter_kind *akind; /* an adapter's options */
  char **aopts;                              /* key, value, ..., NULL */
  size_t naopts;
  bool anamed; /* the kind's option itself was given */
} sio_conf;

static void conf_free(sio_conf *c) {
  roster_mem_strv_free(c->aopts);
  roster_mem_free(c->origins_text);
  roster_mem_free(c->origins);
}

static int num(const char *key, const char *v, int64_t lo, int64_t hi,
               int64_t *out) {
  char *end;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (!*v || *end || errno || x < lo || x > hi)
    return roster_error_set(ROSTER_EINVAL,
                            "socketio URL: option '%s': '%.40s' is not an "
                            "integer in [%" PRId64 ", %" PRId64 "]",
                            key, v, lo, hi);
  *out = x;
  return ROSTER_OK;
}

static int apply(sio_conf *c, const char *key, const char *v) {
  int64_t x = 0;
  int rc;
  if (strcmp(key, "origins") == 0) {
    roster_mem_free(c->origins_text);
    roster_mem_free(c->origins);
    c->origins = NULL;
    size_t n = 1;
    for (const char *p = v; *p; p++)
      n += *p == ',';
    c->origins_text = roster_mem_strdup(v);
    c->origins = roster_mem_calloc(n + 1, sizeof *c->origins);
    if (!c->origins_text || !c->origins)
      return roster_error_set(ROSTER_ENOMEM, "socketio: out of memory");
    size_t k = 0;
    for (char *save = NULL, *t = strtok_r(c->origins_text, ",", &save); t;
         t = strtok_r(NULL, ",", &save))
      c->origins[k++] = t;
    c->o.origins = (const char *const *)c->origins;
    return ROSTER_OK;
  }
  static const struct {
    const char *key;
    int64_t lo, hi;
  } keys[] = {{"ping_interval", 1, 3600000},  {"ping_timeout", 1, 3600000},
              {"max_payload", 1, 1LL << 32},  {"max_connections", 1, 1 << 20},
              {"max_queue", 1024, 1LL << 32}, {"slow_timeout", 1, 3600000}};
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
    if (strcmp(key, keys[i].key) != 0)
      continue;
    if ((rc = num(key, v, keys[i].lo, keys[i].hi, &x)) != ROSTER_OK)
      return rc;
    switch (i) {
    case 0:
      c->o.ping_interval_ms = (uint32_t)x;
      break;
    case 1:
      c->o.ping_timeout_ms = (uint32_t)x;
      break;
    case 2:
      c->o.max_payload = (uint64_t)x;
      break;
    case 3:
      c->o.max_connections = (unsigned)x;
      break;
    case 4:
      c->o.max_queue = (size_t)x;
      break;
    default:
      c->o.slow_timeout_ms = x;
      break;
    }
    return ROSTER_OK;
  }
  const roster_socketio_adapter_kind *k = roster__sio_adapter_kind_find(key);
  if (k) {
    if (c->akind && c->akind != k)
      return roster_error_set(ROSTER_EINVAL,
                              "socketio URL: one adapter at most ('%s' and "
                              "'%s')",
                              c->akind->option, k->option);
    if (k->check && (rc = k->check(key, v)) != ROSTER_OK)
      return rc;
    char **nv = roster_mem_realloc(c->aopts, (c->naopts + 3) * sizeof *nv);
    if (!nv)
      return roster_error_set(ROSTER_ENOMEM, "socketio: out of memory");
    c->aopts = nv;
    nv[c->naopts] = roster_mem_strdup(key);
    nv[c->naopts + 1] = roster_mem_strdup(v);
    nv[c->naopts + 2] = NULL;
    c->naopts += 2;
    if (!nv[c->naopts - 2] || !nv[c->naopts - 1])
      return roster_error_set(ROSTER_ENOMEM, "socketio: out of memory");
    c->akind = k;
    c->anamed |= strcmp(key, k->option) == 0;
    return ROSTER_OK;
  }
  return roster_error_set(ROSTER_EINVAL,
                          "socketio URL: unknown option '%.60s' (known: "
                          "ping_interval, ping_timeout, max_payload, "
                          "max_connections, max_queue, slow_timeout, "
                          "origins, and an adapter's: redis once "
                          "roster_sio_redis_init has run)",
                          key);
}

static int conf_from(const roster_url *u, const char *const *opts,
                     const char *name, sio_conf *c) {
  memset(c, 0, sizeof *c);
  if (u->user || u->password || u->fragment)
    return roster_error_set(ROSTER_EINVAL,
                            "socketio URL: no user, password or fragment: "
                            "socketio://host:port/path");
  if (!u->port)
    return roster_error_set(ROSTER_EINVAL,
                            "socketio URL: the port is missing: "
                            "socketio://127.0.0.1:3001/socket.io");
  snprintf(c->host, sizeof c->host, "%s",
           u->host && *u->host ? u->host : "127.0.0.1");
  const char *p = u->path && *u->path && strcmp(u->path, "/") != 0
                      ? u->path
                      : "/socket.io/";
  size_t pl = strlen(p);
  if (pl > ROSTER_NAME_MAX || strchr(p, '?'))
    return roster_error_set(ROSTER_EINVAL, "socketio URL: a bad path");
  snprintf(c->path, sizeof c->path, "%s%s", p, p[pl - 1] == '/' ? "" : "/");
  c->o.name = name;
  c->o.host = c->host;
  c->o.port = (uint16_t)u->port;
  c->o.path = c->path;
  int rc = ROSTER_OK;
  for (size_t i = 0; rc == ROSTER_OK && i < u->nquery; i++)
    rc = apply(c, u->query_keys[i], u->query_values[i]);
  for (size_t i = 0; rc == ROSTER_OK && opts && opts[i]; i += 2)
    rc = opts[i + 1]
             ? apply(c, opts[i], opts[i + 1])
             : roster_error_set(ROSTER_EINVAL,
                                "socketio: option '%s' has no value", opts[i]);
  if (rc == ROSTER_OK && c->akind && !c->anamed)
    rc = roster_error_set(ROSTER_EINVAL,
                          "socketio URL: options of the adapter '%s' without "
                          "the option '%s' itself",
                          c->akind->option, c->akind->option);
  if (rc != ROSTER_OK)
    conf_free(c);
  return rc;
}

static int face_check(const roster_url *url, const char *text,
                      const char *const *opts, const char *name) {
  (void)text;
  sio_conf c;
  int rc = conf_from(url, opts, name, &c);
  if (rc == ROSTER_OK)
    conf_free(&c);
  return rc;
}

static int face_open(const char *text, const char *const *opts,
                     const char *name, void **out) {
  *out = NULL;
  roster_url *u = NULL;
  int rc = roster_url_parse(text, &u);
  sio_conf c;
  if (rc == ROSTER_OK)
    rc = conf_from(u, opts, name, &c);
  roster_url_free(u);
  if (rc != ROSTER_OK)
    return rc;
  roster_socketio *io = NULL;
  rc = roster_socketio_new(&c.o, &io);
  if (rc == ROSTER_OK && c.akind)
    rc = c.akind->open(roster_driver_registry(), io,
                       (const char *const *)c.aopts);
  conf_free(&c);
  if (rc == ROSTER_OK)
    rc = roster_socketio_start(io);
  if (rc != ROSTER_OK) {
    roster__err_saved es;
    roster__err_save(&es, rc);
    roster_socketio_free(io);
    return roster__err_restore(&es);
  }
  *out = io;
  return ROSTER_OK;
}

static const roster_service_ops server_face = {
    .version = ROSTER_DRIVER_VERSION,
    .kind = "server",
    .type = &roster_socketio_type,
    .check = face_check,
    .open = face_open,
    .eager = true,
};

static const char *const schemes[] = {"socketio", NULL};

const roster_driver roster__socketio_driver = {
    .version = ROSTER_DRIVER_VERSION,
    .name = "socketio",
    .module = "socketio",
    .schemes = schemes,
    .faces = {{&roster_service_face, &server_face}},
};

int roster_socketio_init(void) {
  return roster_driver_register(&roster__socketio_driver);
}
