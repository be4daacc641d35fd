/*
 * demo_chat.c: the demo's realtime web app, a chat with rooms. The "chat"
 * service is a Socket.IO server (roster/socketio.h) that serves its own
 * page at / (chat.html, compiled in) and speaks to browsers and to the
 * stock socket.io-client:
 *
 *   join  {room}              the socket joins the room; the ack carries
 *                             the room's recent messages, read through the
 *                             cache (cache-aside over the database)
 *   leave {room}              it leaves
 *   say   {room, who, text}   the message is written to the database, the
 *                             room's cached history dropped, and "said"
 *                             sent to every socket in the room
 *
 * A cron job ("summary", every 2 s) pushes {messages, connected} to the
 * room "lobby", and a log sink sends warnings and errors to the room
 * "ops". Handlers run on the server's I/O thread; the database here is
 * SQLite on a local file (or a pool), so a statement is short.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <string.h>

#include "demo.h"
#include "demo_chat.h"
#include "demo_chat_html.h" /* demo_chat_html, generated from chat.html */
#include "roster/db.h"
#include "roster/socketio.h"

static const roster_type chat_type = {.name = "chat"};

struct chat {
  roster_socketio *io;
  roster_db *db;
  roster_cache *cache;
  roster_sched *jobs;
  roster_log *log;
  uint64_t sink;
  atomic_long said;
};

static const char CREATE_SQL[] =
    "CREATE TABLE IF NOT EXISTS demo_messages ("
    "room TEXT NOT NULL, who TEXT NOT NULL, text TEXT NOT NULL, at_ms BIGINT)";

/* ---- the page ------------------------------------------------------------ */

static void page(roster_httpd_request *req, void *arg) {
  (void)arg;
  if (strcmp(roster_httpd_request_path(req), "/") != 0) {
    roster_httpd_respond(req, 404, NULL, "not found\n", 10);
    return;
  }
  static const char *const headers[] = {"Content-Type",
                                        "text/html; charset=utf-8",
                                        "Cache-Control", "no-cache", NULL};
  roster_httpd_respond(req, 200, headers, (const char *)demo_chat_html,
                       sizeof demo_chat_html - 1);
}

/* ---- the handlers (the server's I/O thread) ------------------------------ */

/* text_arg: the string member key of the event's first argument. */
static const char *text_arg(const roster_socketio_event *ev, const char *key) {
  const char *s =
      json_string_value(json_object_get(json_array_get(ev->args, 0), key));
  return s && *s && strlen(s) <= 200 ? s : NULL;
}

/* load_history is the cache-aside loader of a room's recent messages. */
static int load_history(void *arg, const void *key, size_t key_len,
                        roster_cache_buf *out) {
  struct chat *c = arg;
  const char *room = (const char *)key + 5; /* after "chat:" */
  char name[256];
  snprintf(name, sizeof name, "%.*s", (int)(key_len - 5), room);
  roster_db_result *res = NULL;
  int rc =
      roster_db_query(c->db,
                      "SELECT who, text FROM demo_messages WHERE room = $1 "
                      "ORDER BY at_ms DESC LIMIT 20",
                      ROSTER_DB_PARAMS(roster_db_text(name)), &res);
  if (rc != ROSTER_OK)
    return rc;
  json_t *list = json_array();
  while (list && roster_db_next(res) > 0) {
    const char *who = NULL, *text = NULL;
    size_t wl = 0, tl = 0;
    roster_db_get_text(res, 0, &who, &wl);
    roster_db_get_text(res, 1, &text, &tl);
    json_array_insert_new(
        list, 0,
        json_pack("{s:s#,s:s#}", "who", who, (int)wl, "text", text, (int)tl));
  }
  roster_db_result_free(res);
  char *js = list ? json_dumps(list, JSON_COMPACT) : NULL;
  json_decref(list);
  if (!js)
    return roster_error_set(ROSTER_ENOMEM, "chat: out of memory");
  rc = roster_cache_buf_set(out, ROSTER_CACHE_BYTES, js, strlen(js));
  free(js);
  return rc;
}

static void on_join(roster_socketio_socket *s, const roster_socketio_event *ev,
                    void *arg) {
  struct chat *c = arg;
  const char *room = text_arg(ev, "room");
  if (!room || roster_socketio_socket_join(s, room) != ROSTER_OK)
    return;
  char key[256];
  int kl = snprintf(key, sizeof key, "chat:%s", room);
  roster_cache_buf hist = {0};
  json_t *history = NULL;
  int rc = roster_cache_get_or_set(c->cache, key, (size_t)kl, 5000,
                                   load_history, c, &hist);
  if (rc == ROSTER_OK)
    history = json_loadb((const char *)hist.data, hist.len, 0, NULL);
  else /* the room still opens, without history; the warning reaches ops */
    roster_log_write(c->log, ROSTER_LOG_WARN, NULL, 0,
                     "chat: history of %s: %s", room, roster_last_error());
  roster_cache_buf_close(&hist);
  if (ev->ack_id >= 0) {
    json_t *ans = json_pack("[{s:s,s:o}]", "room", room, "history",
                            history ? history : json_array());
    roster_socketio_ack(s, ev->ack_id, ans, NULL, 0);
    json_decref(ans);
  } else {
    json_decref(history);
  }
}

static void on_leave(roster_socketio_socket *s, const roster_socketio_event *ev,
                     void *arg) {
  (void)arg;
  const char *room = text_arg(ev, "room");
  if (room)
    roster_socketio_socket_leave(s, room);
}

static void on_say(roster_socketio_socket *s, const roster_socketio_event *ev,
                   void *arg) {
  struct chat *c = arg;
  const char *room = text_arg(ev, "room"), *who = text_arg(ev, "who"),
             *text = text_arg(ev, "text");
  int rc = ROSTER_EINVAL;
  if (room && who && text && roster_socketio_socket_in(s, room))
    rc = roster_db_exec(
        c->db,
        "INSERT INTO demo_messages (room, who, text, at_ms) "
        "VALUES ($1, $2, $3, $4)",
        ROSTER_DB_PARAMS(roster_db_text(room), roster_db_text(who),
                         roster_db_text(text), roster_db_int(now_ms())),
        NULL);
  if (rc == ROSTER_OK) {
    atomic_fetch_add(&c->said, 1);
    char key[256];
    int kl = snprintf(key, sizeof key, "chat:%s", room);
    roster_cache_del(c->cache, key, (size_t)kl); /* the next join reloads */
    json_t *said =
        json_pack("[{s:s,s:s,s:s}]", "room", room, "who", who, "text", text);
    roster_socketio_emit_room(c->io, room, "said", said);
    json_decref(said);
  }
  if (ev->ack_id >= 0) {
    json_t *ans = json_pack("[{s:b}]", "ok", rc == ROSTER_OK);
    roster_socketio_ack(s, ev->ack_id, ans, NULL, 0);
    json_decref(ans);
  }
}

/* ---- the cron job (a scheduler worker) ----------------------------------- */

static int summary(void *arg) {
  struct chat *c = arg;
  roster_db_result *res = NULL;
  int rc = roster_db_query(c->db, "SELECT COUNT(*) FROM demo_messages", NULL, 0,
                           &res);
  if (rc != ROSTER_OK)
    return rc;
  int64_t n = 0;
  if (roster_db_next(res) > 0)
    rc = roster_db_get_int(res, 0, &n);
  roster_db_result_free(res);
  if (rc != ROSTER_OK)
    return rc;
  roster_socketio_stats st;
  roster_socketio_stats_get(c->io, &st);
  json_t *args = json_pack("[{s:I,s:I}]", "messages", (json_int_t)n,
                           "connected", (json_int_t)st.sockets);
  rc = roster_socketio_emit_room(c->io, "lobby", "summary", args);
  json_decref(args);
  return rc;
}

/* ---- the service --------------------------------------------------------- */

static int chat_create(void *arg, const roster_deps *deps, void **out) {
  roster_config *cfg = arg;
  struct chat *c = calloc(1, sizeof *c);
  if (!c)
    return roster_error_set(ROSTER_ENOMEM, "chat: out of memory");
  c->db = roster_deps_get(deps, "db");
  c->cache = roster_deps_get(deps, "cache");
  c->jobs = roster_deps_get(deps, "jobs");
  c->log = roster_deps_get(deps, "log");
  char *host = NULL;
  int64_t port = 0;
  int rc = roster_db_exec(c->db, CREATE_SQL, NULL, 0, NULL);
  if (rc == ROSTER_OK)
    rc = roster_config_string(cfg, "chat.host", "127.0.0.1", &host);
  if (rc == ROSTER_OK)
    rc = roster_config_int(cfg, "chat.port", 8088, &port);
  if (rc == ROSTER_OK && (port < 0 || port > 65535)) /* 0: any free port */
    rc = roster_error_set(ROSTER_EINVAL,
                          "chat.port %" PRId64 " is not a TCP port", port);
  if (rc == ROSTER_OK)
    rc = roster_socketio_new(&(roster_socketio_options){.name = "chat",
                                                        .host = host,
                                                        .port = (uint16_t)port},
                             &c->io);
  roster_socketio_nsp *root = NULL;
  if (rc == ROSTER_OK)
    rc = roster_socketio_of(c->io, "/", &root);
  if (rc == ROSTER_OK)
    rc = roster_socketio_on(root, "join", on_join, c);
  if (rc == ROSTER_OK)
    rc = roster_socketio_on(root, "leave", on_leave, c);
  if (rc == ROSTER_OK)
    rc = roster_socketio_on(root, "say", on_say, c);
  if (rc == ROSTER_OK)
    rc = roster_httpd_route(
        roster_socketio_httpd(c->io),
        &(roster_httpd_route_options){.prefix = "/", .handler = page});
  if (rc == ROSTER_OK)
    rc = roster_socketio_start(c->io);
  if (rc == ROSTER_OK)
    rc = roster_socketio_log_sink(c->io, c->log, ROSTER_LOG_WARN, NULL, "ops",
                                  NULL, &c->sink);
  if (rc == ROSTER_OK)
    rc = roster_sched_add(c->jobs, "summary", "*/2 * * * * *", summary, c,
                          &(roster_job_options){.timeout_ms = 1000});
  if (rc == ROSTER_OK)
    printf("  start chat: open http://%s:%u/ (Socket.IO on /socket.io/)\n",
           host, roster_socketio_port(c->io));
  roster_mem_free(host);
  if (rc != ROSTER_OK) {
    if (c->sink)
      roster_log_sink_remove(c->log, c->sink);
    roster_socketio_free(c->io);
    free(c);
    return rc;
  }
  *out = c;
  return ROSTER_OK;
}

static void chat_destroy(void *arg, void *instance) {
  (void)arg;
  struct chat *c = instance;
  roster_sched_remove(c->jobs, "summary");
  roster_log_sink_remove(c->log, c->sink);
  roster_socketio_stats st;
  roster_socketio_stats_get(c->io, &st);
  roster_socketio_stop(c->io, 2000);
  printf("  stop chat (%ld messages said, %" PRIu64 " sockets served)\n",
         atomic_load(&c->said), st.sockets_total);
  roster_socketio_free(c->io);
  free(c);
}

int chat_provide(roster *svc, roster_config *cfg) {
  static const char *const deps[] = {"db", "cache", "log", "jobs", NULL};
  return roster_provide(svc, NULL, "chat",
                        &(roster_provider){.type = &chat_type,
                                           .create = chat_create,
                                           .destroy = chat_destroy,
                                           .arg = cfg,
                                           .deps = deps});
}
