/*
 * admin.c: the admin endpoint: its Socket.IO server and HTTP routes, the
 * admin's thread (every request but /livez, and the stats tick), the
 * actions and their token, and the live updates (state listener, log tap).
 */
#include "admin_impl.h"
#include "admin_dashboard_html.h" /* from dashboard.html */

#include "base/helpers.h" /* roster__err_save */

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int roster__admin_level_index(int level) {
  int i = level / 10 - 1;
  return i < 0 ? 0 : i >= ROSTER__ADMIN_LEVELS ? ROSTER__ADMIN_LEVELS - 1 : i;
}

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- answers ----------------------------------------------------------- */

static void respond_text(roster_httpd_request *req, int status,
                         const char *type, const char *body, size_t len) {
  const char *h[] = {"Content-Type", type, "Cache-Control", "no-store", NULL};
  roster_httpd_respond(req, status, h, body, len);
}

/* respond_json answers with doc (stolen). */
static void respond_json(roster_httpd_request *req, int status, json_t *doc) {
  char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
  json_decref(doc);
  if (!s) {
    respond_text(req, 500, "application/json", "{\"error\":\"out of memory\"}",
                 25);
    return;
  }
  respond_text(req, status, "application/json", s, strlen(s));
  free(s);
}

static void respond_error(roster_httpd_request *req, int status,
                          const char *msg) {
  respond_json(req, status, json_pack("{s:s}", "error", msg));
}

/* ---- the token --------------------------------------------------------- */

/* same: a and b equal, in time that depends on their lengths only. */
static bool same(const char *a, size_t na, const char *b, size_t nb) {
  size_t n = na > nb ? na : nb;
  volatile unsigned char diff = (unsigned char)(na != nb);
  for (size_t i = 0; i < n; i++)
    diff |= (unsigned char)((i < na ? a[i] : 0) ^ (i < nb ? b[i] : 0));
  return diff == 0;
}

/* authorized: 0 when the request carries the token, else the status it
 * gets (401 none, 403 wrong or no token configured), answered here. */
static int authorized(roster_admin *a, roster_httpd_request *req) {
  if (!a->token) {
    respond_error(req, 403,
                  "actions are disabled: the admin endpoint has no token "
                  "(options.token or token_env)");
    return 403;
  }
  const char *h = roster_httpd_request_header(req, "Authorization");
  if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
    const char *hs[] = {"Content-Type", "application/json", "WWW-Authenticate",
                        "Bearer", NULL};
    const char *body = "{\"error\":\"an action needs Authorization: Bearer "
                       "<token>\"}";
    roster_httpd_respond(req, 401, hs, body, strlen(body));
    return 401;
  }
  const char *t = h + 7;
  if (!same(t, strlen(t), a->token, strlen(a->token))) {
    respond_error(req, 403, "wrong token");
    return 403;
  }
  return 0;
}

/* ---- actions ----------------------------------------------------------- */

static const char *jstr(const json_t *o, const char *key) {
  return json_string_value(json_object_get(o, key));
}

/* status_of: the HTTP status of a roster code. */
static int status_of(int rc) {
  switch (rc) {
  case ROSTER_ENOENT:
    return 404;
  case ROSTER_EINVAL:
  case ROSTER_ETYPE:
    return 400;
  case ROSTER_ESTATE:
    return 409;
  default:
    return 500;
  }
}

static void respond_rc(roster_httpd_request *req, int rc) {
  respond_json(req, status_of(rc),
               json_pack("{s:s,s:s}", "error", roster_last_error(), "code",
                         roster_err_name(rc)));
}

/* restart: stop the service (a normal exit), then start it again unless
 * its restart policy already does. */
static void act_restart(roster_admin *a, roster_httpd_request *req,
                        const json_t *body) {
  const char *ns = jstr(body, "ns"), *name = jstr(body, "name");
  roster_state st;
  int rc = name ? roster_service_state(a->r, ns, name, &st)
                : roster_error_set(ROSTER_EINVAL, "restart: no \"name\"");
  if (rc == ROSTER_OK)
    rc = roster_service_exit(a->r, ns, name, ROSTER_OK,
                             "restart asked by the admin endpoint");
  if (rc != ROSTER_OK) {
    respond_rc(req, rc);
    return;
  }
  int64_t end = mono_ms() + 30000;
  bool left = false; /* it has left ready */
  while (mono_ms() < end) {
    roster_service_state(a->r, ns, name, &st);
    if (st == ROSTER_STATE_STOPPED || st == ROSTER_STATE_FAILED ||
        st == ROSTER_STATE_DECLARED) {
      rc = roster_start(a->r, 30000);
      roster_service_state(a->r, ns, name, &st);
      break;
    }
    if (st == ROSTER_STATE_STOPPING || st == ROSTER_STATE_STARTING)
      left = true;
    else if (left)
      break; /* back up by its own policy */
    nanosleep(&(struct timespec){0, 10 * 1000000}, NULL);
  }
  json_t *doc =
      json_pack("{s:s,s:s}", "name", name, "state", roster_state_name(st));
  if (rc != ROSTER_OK)
    json_object_set_new(doc, "error", json_string(roster_last_error()));
  respond_json(req, rc == ROSTER_OK ? 200 : 500, doc);
}

typedef struct job_act {
  const char *sched, *job, *verb;
  int rc;
  bool done;
} job_act;

static void job_visit(const roster_info *info, void *arg) {
  job_act *j = arg;
  roster_job_stats st;
  if (j->done || (j->sched && strcmp(j->sched, info->name) != 0) ||
      roster_sched_stats_get(info->instance, j->job, &st) != ROSTER_OK)
    return;
  j->done = true;
  roster_sched *s = info->instance;
  j->rc = strcmp(j->verb, "run") == 0      ? roster_sched_run_now(s, j->job)
          : strcmp(j->verb, "enable") == 0 ? roster_sched_enable(s, j->job)
                                           : roster_sched_disable(s, j->job);
}

/* act_job: run, enable or disable a job of the scheduler named
 * "scheduler" (NULL: the first that has it). */
static void act_job(roster_admin *a, roster_httpd_request *req,
                    const json_t *body, const char *verb) {
  job_act j = {jstr(body, "scheduler"), jstr(body, "job"), verb, ROSTER_ENOENT,
               false};
  if (!j.job) {
    respond_rc(req, roster_error_set(ROSTER_EINVAL, "%s: no \"job\"", verb));
    return;
  }
  roster__admin_each(a, &roster_sched_type, job_visit, &j);
  if (!j.done)
    roster_error_set(ROSTER_ENOENT, "%s: no scheduler has a job '%.80s'", verb,
                     j.job);
  if (j.rc != ROSTER_OK)
    respond_rc(req, j.rc);
  else
    respond_json(req, 200, json_pack("{s:s,s:s}", "job", j.job, "done", verb));
}

/* act_level: the tapped logger's level, or that of the logger registered
 * as "logger" (in "ns"). */
static void act_level(roster_admin *a, roster_httpd_request *req,
                      const json_t *body) {
  roster_log *log = a->log;
  int level = 0, rc = ROSTER_OK;
  const char *text = jstr(body, "level"), *name = jstr(body, "logger");
  if (!text)
    rc = roster_error_set(ROSTER_EINVAL, "log-level: no \"level\"");
  else
    rc = roster_log_level_parse(text, &level);
  roster_read_lock();
  if (rc == ROSTER_OK && name)
    rc = roster_log_find(a->r, jstr(body, "ns"), name, &log);
  else if (rc == ROSTER_OK && !log)
    rc = roster_error_set(ROSTER_ENOENT,
                          "log-level: the endpoint taps no logger; name one "
                          "with \"logger\"");
  if (rc == ROSTER_OK)
    rc = roster_log_level_set(log, level);
  roster_read_unlock();
  if (rc != ROSTER_OK)
    respond_rc(req, rc);
  else
    respond_json(req, 200,
                 json_pack("{s:s}", "level", roster_log_level_name(level)));
}

static void action(roster_admin *a, roster_httpd_request *req,
                   const char *verb) {
  if (authorized(a, req))
    return;
  size_t len = 0;
  const char *raw = roster_httpd_request_body(req, &len);
  json_t *body = json_loadb(raw, len, 0, NULL);
  if (!json_is_object(body)) {
    json_decref(body);
    respond_error(req, 400, "the body must be a JSON object");
    return;
  }
  if (strcmp(verb, "restart") == 0)
    act_restart(a, req, body);
  else if (strcmp(verb, "run") == 0 || strcmp(verb, "enable") == 0 ||
           strcmp(verb, "disable") == 0)
    act_job(a, req, body, verb);
  else if (strcmp(verb, "log-level") == 0)
    act_level(a, req, body);
  else
    respond_error(req, 404,
                  "no such action (restart, run, enable, disable, "
                  "log-level)");
  json_decref(body);
}

/* ---- routes ------------------------------------------------------------ */

typedef json_t *(*doc_fn)(roster_admin *a);

static const struct {
  const char *path;
  doc_fn fn;
} docs[] = {
    {"/api/services", roster__admin_services_json},
    {"/api/registry", roster__admin_registry_json},
    {"/api/config", roster__admin_config_json},
    {"/api/cron", roster__admin_cron_json},
    {"/api/pools", roster__admin_pools_json},
    {"/api/logs", roster__admin_logs_json},
    {"/api/panels", roster__admin_panels_json},
    {"/api/stats", roster__admin_stats_json},
};

static void serve(roster_admin *a, roster_httpd_request *req) {
  const char *path = roster_httpd_request_path(req);
  const char *method = roster_httpd_request_method(req);
  if (strncmp(path, "/api/actions/", 13) == 0) {
    if (strcmp(method, "POST") != 0) {
      const char *h[] = {"Allow", "POST", NULL};
      roster_httpd_respond(req, 405, h, "", 0);
      return;
    }
    action(a, req, path + 13);
    return;
  }
  if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
    const char *h[] = {"Allow", "GET, HEAD", NULL};
    roster_httpd_respond(req, 405, h, "", 0);
    return;
  }
  if (strcmp(path, "/") == 0) {
    /* the dashboard (dashboard.html, compiled in: it works offline) */
    respond_text(req, 200, "text/html; charset=utf-8",
                 (const char *)admin_dashboard_html,
                 sizeof admin_dashboard_html - 1);
  } else if (strcmp(path, "/readyz") == 0 || strcmp(path, "/healthz") == 0) {
    bool ready = false, probe = path[1] == 'r';
    json_t *doc = roster__admin_health_json(a, &ready, probe);
    respond_json(req, probe && !ready ? 503 : 200, doc);
  } else if (strcmp(path, "/metrics") == 0) {
    const char *acc = roster_httpd_request_header(req, "Accept");
    bool om = acc && strstr(acc, "application/openmetrics-text");
    char *text = NULL;
    size_t len = 0;
    if (roster__admin_metrics(a, om, &text, &len) != ROSTER_OK) {
      respond_error(req, 500, roster_last_error());
      return;
    }
    respond_text(req, 200,
                 om ? "application/openmetrics-text; version=1.0.0; "
                      "charset=utf-8"
                    : "text/plain; version=0.0.4; charset=utf-8",
                 text, len);
    free(text);
  } else {
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++)
      if (strcmp(path, docs[i].path) == 0) {
        respond_json(req, 200, docs[i].fn(a));
        return;
      }
    respond_error(req, 404, "not found");
  }
}

/* on_request: /livez here, on the I/O thread (answering proves the loop
 * turns); everything else goes to the admin's thread. */
static void on_request(roster_httpd_request *req, void *arg) {
  roster_admin *a = arg;
  if (strcmp(roster_httpd_request_path(req), "/livez") == 0) {
    int rc = roster_httpd_health(roster_socketio_httpd(a->io));
    respond_text(req, rc == ROSTER_OK ? 200 : 503, "text/plain",
                 rc == ROSTER_OK ? "ok\n" : "stalled\n", rc ? 8 : 3);
    return;
  }
  roster__admin_job *j = roster_mem_calloc(1, sizeof *j);
  pthread_mutex_lock(&a->mu);
  bool open = j && a->thread_on && !a->stopping;
  if (open) {
    j->req = req;
    if (a->tail)
      a->tail->next = j;
    else
      a->head = j;
    a->tail = j;
    pthread_cond_signal(&a->cv);
  }
  pthread_mutex_unlock(&a->mu);
  if (!open) {
    roster_mem_free(j);
    respond_error(req, 503, "the admin endpoint is stopping");
  }
}

/* ---- live updates ------------------------------------------------------ */

static void emit(roster_socketio *io, const char *event, json_t *doc,
                 bool is_volatile) {
  json_t *args = json_array();
  if (args && doc && json_array_append_new(args, doc) == 0) {
    roster_socketio_target to = {.nsp = ROSTER__ADMIN_NSP,
                                 .is_volatile = is_volatile};
    roster_socketio_emit(io, &to, event, args, NULL, 0, NULL);
  } else {
    json_decref(doc);
  }
  json_decref(args);
}

static void on_state(roster *r, const roster_event *ev, void *arg) {
  (void)r;
  roster__admin_tap *tap = arg;
  if (!ev->state)
    return;
  pthread_rwlock_rdlock(&tap->lock);
  if (tap->io) {
    const roster_state_change *c = ev->state;
    json_t *doc =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:b}", "ns", ev->entry->ns, "name",
                  ev->entry->name, "type", ev->entry->type->name, "from",
                  roster_state_name(c->from), "to", roster_state_name(c->to),
                  "at_unix_ms", (json_int_t)c->at_unix_ms, "final", c->final);
    if (doc && c->error != ROSTER_OK) {
      json_object_set_new(doc, "error", json_string(roster_err_name(c->error)));
      json_object_set_new(doc, "detail", json_string(c->detail));
    }
    emit(tap->io, "state", doc, false);
  }
  pthread_rwlock_unlock(&tap->lock);
}

static void tap_free(void *arg) {
  roster__admin_tap *tap = arg;
  pthread_rwlock_destroy(&tap->lock);
  roster_mem_free(tap);
}

/* on_line: the log tap: into the ring, counted, and out to live clients. */
static void on_line(int level, const char *line, size_t len, void *arg) {
  roster_admin *a = arg;
  atomic_fetch_add(&a->level_lines[roster__admin_level_index(level)], 1);
  json_t *item = json_object();
  json_t *text = json_stringn_nocheck(line, len);
  if (!item || !text) {
    json_decref(item);
    json_decref(text);
    return;
  }
  json_object_set_new(item, "level", json_string(roster_log_level_name(level)));
  json_object_set_new(item, "line", text);
  pthread_mutex_lock(&a->ring_mu);
  json_object_set_new(item, "seq", json_integer((json_int_t)++a->ring_seq));
  json_t *old = NULL;
  if (a->ring_len == a->ring_cap) {
    old = a->ring[a->ring_head];
    a->ring[a->ring_head] = item;
    a->ring_head = (a->ring_head + 1) % a->ring_cap;
  } else {
    a->ring[(a->ring_head + a->ring_len++) % a->ring_cap] = item;
  }
  json_incref(item);
  pthread_mutex_unlock(&a->ring_mu);
  json_decref(old);
  emit(a->io, "log", item, true);
}

/* ---- the admin's thread ------------------------------------------------ */

static void *admin_main(void *arg) {
  roster_admin *a = arg;
  int64_t next = mono_ms() + a->interval_ms;
  pthread_mutex_lock(&a->mu);
  for (;;) {
    while (!a->head && !a->stopping && mono_ms() < next) {
      int64_t at = next;
      struct timespec ts = {(time_t)(at / 1000), (long)(at % 1000) * 1000000};
      pthread_cond_timedwait(&a->cv, &a->mu, &ts);
    }
    roster__admin_job *j = a->head;
    if (j) {
      a->head = j->next;
      if (!a->head)
        a->tail = NULL;
    }
    bool stopping = a->stopping;
    pthread_mutex_unlock(&a->mu);
    if (j) {
      if (stopping)
        respond_error(j->req, 503, "the admin endpoint is stopping");
      else
        serve(a, j->req);
      roster_mem_free(j);
    } else if (stopping) {
      return NULL;
    } else {
      roster_socketio_stats st;
      if (roster_socketio_stats_get(a->io, &st) == ROSTER_OK && st.sockets)
        emit(a->io, "stats", roster__admin_stats_json(a), true);
      next = mono_ms() + a->interval_ms;
    }
    pthread_mutex_lock(&a->mu);
  }
}

/* ---- making and stopping ----------------------------------------------- */

static bool loopback(const char *host) {
  struct in_addr v4;
  struct in6_addr v6;
  if (inet_pton(AF_INET, host, &v4) == 1)
    return (ntohl(v4.s_addr) >> 24) == 127;
  return inet_pton(AF_INET6, host, &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

static void admin_destroy(roster_admin *a) {
  if (!a)
    return;
  roster_socketio_free(a->io);
  for (size_t i = 0; i < a->ring_len; i++)
    json_decref(a->ring[(a->ring_head + i) % a->ring_cap]);
  roster_mem_free(a->ring);
  for (size_t i = 0; i < a->npanels; i++)
    roster_mem_free(a->panels[i].title);
  pthread_mutex_destroy(&a->panels_mu);
  pthread_mutex_destroy(&a->ring_mu);
  pthread_mutex_destroy(&a->mu);
  pthread_cond_destroy(&a->cv);
  roster_mem_free(a->name);
  roster_mem_free(a->host);
  if (a->token)
    memset(a->token, 0, strlen(a->token));
  roster_mem_free(a->token);
  roster_mem_free(a);
}

int roster_admin_new(roster *r, const roster_admin_options *o,
                     roster_admin **out) {
  if (out)
    *out = NULL;
  if (!r || !out)
    return roster_error_set(ROSTER_EINVAL, "roster_admin_new: NULL %s",
                            r ? "out" : "r");
  roster_admin_options d = {0};
  if (!o)
    o = &d;
  const char *name = o->name ? o->name : "admin";
  const char *host = o->host ? o->host : "127.0.0.1";
  const char *token = o->token;
  if (!token && o->token_env)
    token = getenv(o->token_env);
  if (token && !*token)
    return roster_error_set(
        ROSTER_EINVAL, "admin '%.60s': the token is empty%s%.60s", name,
        o->token ? "" : ": variable ", o->token ? "" : o->token_env);
  if (!token && !loopback(host))
    return roster_error_set(
        ROSTER_EINVAL,
        "admin '%.60s': binding %.60s, which is not a loopback address, "
        "needs a token (options.token, or token_env naming a variable that "
        "holds one); without one the endpoint binds only 127.0.0.1 or ::1",
        name, host);
  roster_admin *a = roster_mem_calloc(1, sizeof *a);
  if (!a)
    return roster_error_set(ROSTER_ENOMEM, "admin: out of memory");
  pthread_mutex_init(&a->ring_mu, NULL);
  pthread_mutex_init(&a->panels_mu, NULL);
  pthread_mutex_init(&a->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&a->cv, &ca);
  pthread_condattr_destroy(&ca);
  a->r = r;
  a->log = o->log;
  a->interval_ms = o->stats_interval_ms > 0 ? o->stats_interval_ms : 1000;
  a->ring_cap = o->log_lines ? o->log_lines : 200;
  a->name = roster_mem_strdup(name);
  a->host = roster_mem_strdup(host);
  a->token = token ? roster_mem_strdup(token) : NULL;
  a->ring = roster_mem_calloc(a->ring_cap, sizeof *a->ring);
  if (!a->name || !a->host || (token && !a->token) || !a->ring) {
    admin_destroy(a);
    return roster_error_set(ROSTER_ENOMEM, "admin: out of memory");
  }
  roster_socketio_options so = {.name = name, .host = host, .port = o->port};
  int rc = roster_socketio_new(&so, &a->io);
  if (rc == ROSTER_OK)
    rc = roster_socketio_of(a->io, ROSTER__ADMIN_NSP, NULL);
  if (rc == ROSTER_OK)
    rc =
        roster_httpd_route(roster_socketio_httpd(a->io),
                           &(roster_httpd_route_options){
                               .prefix = "/", .handler = on_request, .arg = a});
  if (rc != ROSTER_OK) {
    roster__err_saved es;
    roster__err_save(&es, rc);
    admin_destroy(a);
    return roster__err_restore(&es);
  }
  *out = a;
  return ROSTER_OK;
}

int roster_admin_start(roster_admin *a) {
  if (!a)
    return roster_error_set(ROSTER_EINVAL, "roster_admin_start: NULL");
  pthread_mutex_lock(&a->mu);
  bool again = a->started;
  a->started = true;
  pthread_mutex_unlock(&a->mu);
  if (again)
    return roster_error_set(ROSTER_ESTATE, "admin '%s': started before",
                            a->name);
  int rc =
      roster__thread_start(&a->thread, "roster-admin", false, admin_main, a);
  if (rc != ROSTER_OK)
    return rc;
  pthread_mutex_lock(&a->mu);
  a->thread_on = true;
  pthread_mutex_unlock(&a->mu);
  a->tap = roster_mem_calloc(1, sizeof *a->tap);
  if (!a->tap)
    return roster_error_set(ROSTER_ENOMEM, "admin: out of memory");
  pthread_rwlock_init(&a->tap->lock, NULL);
  a->tap->io = a->io;
  rc = roster_listen(a->r, ROSTER_EV_STATE, on_state, a->tap, tap_free,
                     &a->listen_id);
  if (rc != ROSTER_OK) {
    tap_free(a->tap);
    a->tap = NULL;
    return rc;
  }
  if (a->log) {
    roster_log_sink sink = {
        .kind = ROSTER_LOG_SINK_CALLBACK, .fn = on_line, .arg = a};
    if ((rc = roster_log_sink_add(a->log, &sink, &a->sink_id)) != ROSTER_OK)
      return rc;
  }
  return roster_socketio_start(a->io);
}

int roster_admin_stop(roster_admin *a, int64_t deadline_ms) {
  if (!a)
    return roster_error_set(ROSTER_EINVAL, "roster_admin_stop: NULL");
  pthread_mutex_lock(&a->mu);
  bool again = a->stopped;
  a->stopped = true;
  pthread_mutex_unlock(&a->mu);
  if (again)
    return ROSTER_OK;
  if (a->tap) {
    pthread_rwlock_wrlock(&a->tap->lock);
    a->tap->io = NULL;
    pthread_rwlock_unlock(&a->tap->lock);
    roster_unlisten(a->r, a->listen_id); /* tap_free runs when it may */
    a->tap = NULL;
  }
  if (a->sink_id)
    roster_log_sink_remove(a->log, a->sink_id);
  int rc = roster_socketio_stop(a->io, deadline_ms);
  pthread_mutex_lock(&a->mu);
  a->stopping = true;
  bool join = a->thread_on;
  a->thread_on = false;
  pthread_cond_broadcast(&a->cv);
  pthread_mutex_unlock(&a->mu);
  if (join)
    pthread_join(a->thread, NULL);
  return rc;
}

void roster_admin_free(roster_admin *a) {
  if (!a)
    return;
  roster_admin_stop(a, 0);
  admin_destroy(a);
}

uint16_t roster_admin_port(const roster_admin *a) {
  return a ? roster_socketio_port(a->io) : 0;
}

roster_socketio *roster_admin_socketio(roster_admin *a) {
  return a ? a->io : NULL;
}

int roster_admin_panel(roster_admin *a, const char *title,
                       roster_admin_panel_fn fn, void *arg) {
  if (!a || !title)
    return roster_error_set(ROSTER_EINVAL, "roster_admin_panel: NULL %s",
                            a ? "title" : "a");
  size_t tl = strlen(title);
  json_t *valid = tl && tl <= 64 ? json_stringn(title, tl) : NULL; /* UTF-8 */
  json_decref(valid);
  if (!valid)
    return roster_error_set(ROSTER_EINVAL,
                            "admin '%s': a panel's title must be 1-64 bytes "
                            "of UTF-8",
                            a->name);
  pthread_mutex_lock(&a->panels_mu);
  size_t i = 0;
  while (i < a->npanels && strcmp(a->panels[i].title, title) != 0)
    i++;
  int rc = ROSTER_OK;
  if (!fn) {
    if (i == a->npanels) {
      rc = roster_error_set(ROSTER_ENOENT, "admin '%s': no panel '%s'", a->name,
                            title);
    } else {
      roster_mem_free(a->panels[i].title);
      memmove(&a->panels[i], &a->panels[i + 1],
              (a->npanels - i - 1) * sizeof a->panels[0]);
      a->npanels--;
    }
  } else if (i < a->npanels) {
    a->panels[i].fn = fn;
    a->panels[i].arg = arg;
  } else if (a->npanels == ROSTER__ADMIN_PANELS) {
    rc = roster_error_set(ROSTER_ERANGE, "admin '%s': at most %d panels",
                          a->name, ROSTER__ADMIN_PANELS);
  } else if (!(a->panels[i].title = roster_mem_strdup(title))) {
    rc = roster_error_set(ROSTER_ENOMEM, "admin: out of memory");
  } else {
    a->panels[i].fn = fn;
    a->panels[i].arg = arg;
    a->npanels++;
  }
  pthread_mutex_unlock(&a->panels_mu);
  return rc;
}

int roster_admin_health(roster_admin *a) {
  if (!a)
    return roster_error_set(ROSTER_EINVAL, "roster_admin_health: NULL");
  pthread_mutex_lock(&a->mu);
  bool up = a->started && !a->stopped && a->thread_on;
  pthread_mutex_unlock(&a->mu);
  if (!up)
    return roster_error_set(ROSTER_ESTATE, "admin '%s': not serving", a->name);
  return roster_socketio_health(a->io);
}

typedef struct each_arg {
  roster__admin_entry_fn fn;
  void *arg;
} each_arg;

static int each_visit(const roster_info *info, void *arg) {
  each_arg *e = arg;
  e->fn(info, e->arg);
  return 0;
}

void roster__admin_each(roster_admin *a, const roster_type *t,
                        roster__admin_entry_fn fn, void *arg) {
  roster_query q = {.ns = "*", .type = t};
  each_arg e = {fn, arg};
  roster_foreach(a->r, &q, each_visit, &e, NULL);
}
