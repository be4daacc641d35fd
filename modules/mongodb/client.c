/*
 * client.c: the pool (roster_mongodb_new, _free), borrowed clients,
 * the error mapping, JSON <-> BSON, health and stats.
 *
 * libmongoc is initialized once per process (mongoc_init, under
 * pthread_once) and never cleaned up: another pool may be made at any
 * time, and mongoc_cleanup must not race with one. Its log handler is set
 * then (quiet_log); a program may set its own afterwards.
 */
#include "mongodb_impl.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* quiet_log: libmongoc's warnings and errors go to its default handler
 * (stderr); its informational, debug and trace lines (Debian builds it
 * with them on: a line per failed heartbeat) are dropped. */
static void quiet_log(mongoc_log_level_t level, const char *domain,
                      const char *message, void *arg) {
  if (level <= MONGOC_LOG_LEVEL_WARNING)
    mongoc_log_default_handler(level, domain, message, arg);
}

static void init_mongoc(void) {
  mongoc_init();
  mongoc_log_set_handler(quiet_log, NULL);
}

static char *dup_or_null(const char *s) {
  return s ? roster_mem_strdup(s) : NULL;
}

/* raw_password: the text between the user's ':' and the last '@' of the
 * authority of url, into buf; NULL when there is none. */
static const char *raw_password(const char *url, char *buf, size_t cap) {
  const char *a = strstr(url, "://");
  a = a ? a + 3 : url;
  const char *at = NULL;
  for (const char *p = a; *p && *p != '/' && *p != '?'; p++)
    if (*p == '@')
      at = p;
  if (!at)
    return NULL;
  const char *colon = memchr(a, ':', (size_t)(at - a));
  if (!colon || colon + 1 == at || (size_t)(at - colon) > cap)
    return NULL;
  memcpy(buf, colon + 1, (size_t)(at - colon - 1));
  buf[at - colon - 1] = '\0';
  return buf;
}

int roster_mongodb_new(const roster_mongodb_options *opts,
                       roster_mongodb **out) {
  if (out)
    *out = NULL;
  if (!opts || !opts->url || !out)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_mongodb_new: opts, opts->url and out are "
                            "required");
  const char *name = opts->name ? opts->name : "mongodb";
  char shown[512];
  roster_url_redact(opts->url, shown, sizeof shown);
  pthread_once(&init_once, init_mongoc);
  bson_error_t e;
  mongoc_uri_t *uri = mongoc_uri_new_with_error(opts->url, &e);
  if (!uri) {
    /* libmongoc's reason may quote part of the URL: scrub the password
     * as the text spells it (the URL may not parse far enough to know). */
    char pw[256], why[sizeof e.message + 64];
    roster__mg_scrub(e.message, raw_password(opts->url, pw, sizeof pw), why,
                     sizeof why);
    return roster_error_set(ROSTER_EPARSE, "MongoDB '%s': bad URL %s: %s", name,
                            shown, why);
  }
  if (opts->max_clients)
    mongoc_uri_set_option_as_int32(uri, MONGOC_URI_MAXPOOLSIZE,
                                   (int32_t)opts->max_clients);
  roster_mongodb *m = roster_mem_calloc(1, sizeof *m);
  if (!m) {
    mongoc_uri_destroy(uri);
    return roster_error_set(ROSTER_ENOMEM, "MongoDB '%s': out of memory", name);
  }
  const char *db = mongoc_uri_get_database(uri);
  const char *pw = mongoc_uri_get_password(uri);
  m->name = roster_mem_strdup(name);
  m->url_shown = roster_mem_strdup(shown);
  m->db = roster_mem_strdup(db && *db ? db : "test");
  m->password = pw && *pw ? dup_or_null(pw) : NULL;
  m->max_clients = (unsigned)mongoc_uri_get_option_as_int32(
      uri, MONGOC_URI_MAXPOOLSIZE, 100);
  if (!m->name || !m->url_shown || !m->db || (pw && *pw && !m->password)) {
    mongoc_uri_destroy(uri);
    roster_mongodb_free(m);
    return roster_error_set(ROSTER_ENOMEM, "MongoDB '%s': out of memory", name);
  }
  m->pool = mongoc_client_pool_new_with_error(uri, &e);
  mongoc_uri_destroy(uri);
  if (!m->pool) {
    int rc = roster__mg_fail(m, "open", NULL, &e);
    char detail[1024];
    snprintf(detail, sizeof detail, "%s (URL %s)", roster_last_error(), shown);
    roster_mongodb_free(m);
    return roster_error_set(rc == ROSTER_ENOMEM ? rc : ROSTER_EINVAL, "%s",
                            detail);
  }
  mongoc_client_pool_set_error_api(m->pool, MONGOC_ERROR_API_VERSION_2);
  *out = m;
  return ROSTER_OK;
}

void roster_mongodb_free(roster_mongodb *m) {
  if (!m)
    return;
  if (m->pool)
    mongoc_client_pool_destroy(m->pool);
  roster_mem_free(m->name);
  roster_mem_free(m->url_shown);
  if (m->password) {
    memset(m->password, 0, strlen(m->password));
    roster_mem_free(m->password);
  }
  roster_mem_free(m->db);
  roster_mem_free(m);
}

const char *roster_mongodb_name(const roster_mongodb *m) {
  return m ? m->name : "";
}

const char *roster_mongodb_database_name(const roster_mongodb *m) {
  return m ? m->db : "";
}

/* ---- borrowed clients ---- */

mongoc_client_t *roster__mg_client_get(roster_mongodb *m) {
  mongoc_client_t *c = mongoc_client_pool_pop(m->pool);
  if (!c)
    return NULL;
  uint64_t now = atomic_fetch_add(&m->clients_out, 1) + 1;
  uint64_t max = atomic_load(&m->clients_out_max);
  while (now > max &&
         !atomic_compare_exchange_weak(&m->clients_out_max, &max, now))
    ;
  atomic_fetch_add(&m->acquires, 1);
  return c;
}

void roster__mg_client_put(roster_mongodb *m, mongoc_client_t *c) {
  /* counted back first: once pushed, another thread may take it */
  atomic_fetch_sub(&m->clients_out, 1);
  mongoc_client_pool_push(m->pool, c);
}

int roster_mongodb_acquire(roster_mongodb *m, mongoc_client_t **out) {
  if (out)
    *out = NULL;
  if (!m || !out)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_mongodb_acquire: m and out are required");
  *out = roster__mg_client_get(m);
  if (!*out)
    return roster_error_set(ROSTER_ENOMEM, "MongoDB '%s': no client", m->name);
  return ROSTER_OK;
}

void roster_mongodb_release(roster_mongodb *m, mongoc_client_t *c) {
  if (m && c)
    roster__mg_client_put(m, c);
}

int roster_mongodb_database(roster_mongodb *m, mongoc_client_t *c,
                            mongoc_database_t **out) {
  if (out)
    *out = NULL;
  if (!m || !c || !out)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_mongodb_database: m, c and out are "
                            "required");
  *out = mongoc_client_get_database(c, m->db);
  return *out ? ROSTER_OK
              : roster_error_set(ROSTER_ENOMEM, "MongoDB '%s': out of memory",
                                 m->name);
}

int roster__mg_begin(roster_mongodb *m, const char *what, const char *coll,
                     bool need_coll, mg_op *o) {
  memset(o, 0, sizeof *o);
  if (!m)
    return roster_error_set(ROSTER_EINVAL, "roster_mongodb_%s: m is required",
                            what);
  atomic_fetch_add(&m->operations, 1);
  o->m = m;
  o->what = what;
  o->coll = coll;
  if (need_coll && (!coll || !*coll))
    return roster__mg_bad(m, ROSTER_EINVAL, what, NULL,
                          "a collection name is required");
  o->cli = roster__mg_client_get(m);
  if (!o->cli)
    return roster__mg_bad(m, ROSTER_ENOMEM, what, coll, "no client");
  if (coll) {
    o->col = mongoc_client_get_collection(o->cli, m->db, coll);
    if (!o->col) {
      roster__mg_end(o);
      return roster__mg_bad(m, ROSTER_ENOMEM, what, coll, "out of memory");
    }
  }
  return ROSTER_OK;
}

void roster__mg_end(mg_op *o) {
  if (o->col)
    mongoc_collection_destroy(o->col);
  if (o->cli)
    roster__mg_client_put(o->m, o->cli);
  o->col = NULL;
  o->cli = NULL;
}

/* ---- errors ---- */

void roster__mg_scrub(const char *msg, const char *pw, char *buf, size_t cap) {
  size_t n = 0, pl = pw ? strlen(pw) : 0;
  while (*msg && n + 4 < cap) {
    if (pl && strncmp(msg, pw, pl) == 0) {
      memcpy(buf + n, "***", 3);
      n += 3;
      msg += pl;
    } else {
      buf[n++] = *msg++;
    }
  }
  buf[n] = '\0';
}

static int classify(const bson_error_t *e) {
  switch (e->domain) {
  case MONGOC_ERROR_SERVER:
  case MONGOC_ERROR_WRITE_CONCERN:
  case MONGOC_ERROR_QUERY:
  case MONGOC_ERROR_COMMAND:
    if (e->code == 11000 || e->code == 11001 || e->code == 12582)
      return ROSTER_ECONSTRAINT;
    if (e->domain == MONGOC_ERROR_COMMAND &&
        e->code == MONGOC_ERROR_COMMAND_INVALID_ARG)
      return ROSTER_EINVAL;
    return ROSTER_EREMOTE;
  case MONGOC_ERROR_STREAM:
    if (strstr(e->message, "timeout") || strstr(e->message, "timed out"))
      return ROSTER_ETIMEDOUT;
    return ROSTER_ECONN;
  case MONGOC_ERROR_SERVER_SELECTION:
    return ROSTER_ECONN;
  case MONGOC_ERROR_CLIENT:
    if (e->code == MONGOC_ERROR_CLIENT_AUTHENTICATE)
      return ROSTER_EREMOTE;
    if (e->code == MONGOC_ERROR_CLIENT_TOO_BIG)
      return ROSTER_ERANGE;
    return ROSTER_ECONN;
  case MONGOC_ERROR_BSON:
    return ROSTER_EPARSE;
  default:
    return ROSTER_EREMOTE;
  }
}

static void count_error(roster_mongodb *m, int rc) {
  _Atomic uint64_t *c = rc == ROSTER_ECONN || rc == ROSTER_ETIMEDOUT
                            ? &m->errors_connect
                        : rc == ROSTER_EREMOTE     ? &m->errors_server
                        : rc == ROSTER_ECONSTRAINT ? &m->errors_duplicate
                                                   : &m->errors_other;
  atomic_fetch_add(c, 1);
}

int roster__mg_fail(roster_mongodb *m, const char *what, const char *coll,
                    const bson_error_t *e) {
  int rc = classify(e);
  count_error(m, rc);
  char msg[sizeof e->message + 64];
  roster__mg_scrub(e->message, m->password, msg, sizeof msg);
  const char *kind = e->domain == MONGOC_ERROR_SERVER ||
                             e->domain == MONGOC_ERROR_WRITE_CONCERN
                         ? "server error"
                         : "error";
  return roster_error_set(rc, "MongoDB '%s': %s%s%s%s: %s %u.%u: %s", m->name,
                          what, coll ? " on '" : "", coll ? coll : "",
                          coll ? "'" : "", kind, e->domain, e->code, msg);
}

int roster__mg_bad(roster_mongodb *m, int code, const char *what,
                   const char *coll, const char *why) {
  count_error(m, code);
  return roster_error_set(code, "MongoDB '%s': %s%s%s%s: %s", m->name, what,
                          coll ? " on '" : "", coll ? coll : "",
                          coll ? "'" : "", why);
}

/* ---- JSON <-> BSON ---- */

int roster__mg_to_bson(mg_op *o, const json_t *v, const char *arg, bson_t *b) {
  bson_init(b);
  if (!v || !json_is_object(v)) {
    char why[96];
    snprintf(why, sizeof why, "%s must be a JSON object", arg);
    return roster__mg_bad(o->m, ROSTER_EINVAL, o->what, o->coll, why);
  }
  char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
  if (!text)
    return roster__mg_bad(o->m, ROSTER_ENOMEM, o->what, o->coll,
                          "out of memory");
  bson_error_t e;
  bson_destroy(b);
  bool ok = bson_init_from_json(b, text, -1, &e);
  free(text);
  if (!ok) {
    bson_init(b);
    char why[sizeof e.message + 64];
    snprintf(why, sizeof why, "%s is not extended JSON libbson reads: %s", arg,
             e.message);
    return roster__mg_bad(o->m, ROSTER_EPARSE, o->what, o->coll, why);
  }
  return ROSTER_OK;
}

json_t *roster__mg_to_json(const bson_t *b) {
  size_t len = 0;
  char *text = bson_as_relaxed_extended_json(b, &len);
  if (!text)
    return NULL;
  json_t *v = json_loadb(text, len, JSON_ALLOW_NUL, NULL);
  bson_free(text);
  return v;
}

/* ---- health, stats ---- */

int roster_mongodb_health(roster_mongodb *m) {
  json_t *cmd = json_pack("{s:i}", "ping", 1);
  if (!cmd)
    return roster_error_set(ROSTER_ENOMEM, "MongoDB: out of memory");
  int rc = roster_mongodb_command(m, cmd, NULL);
  json_decref(cmd);
  return rc;
}

int roster_mongodb_stats_get(roster_mongodb *m, roster_mongodb_stats *out) {
  if (!m || !out)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_mongodb_stats_get: m and out are "
                            "required");
  out->operations = atomic_load(&m->operations);
  out->errors_connect = atomic_load(&m->errors_connect);
  out->errors_server = atomic_load(&m->errors_server);
  out->errors_duplicate = atomic_load(&m->errors_duplicate);
  out->errors_other = atomic_load(&m->errors_other);
  out->clients_out = atomic_load(&m->clients_out);
  out->clients_out_max = atomic_load(&m->clients_out_max);
  out->acquires = atomic_load(&m->acquires);
  out->max_clients = m->max_clients;
  return ROSTER_OK;
}
