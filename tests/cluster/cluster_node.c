/*
 * cluster_node.c: one host of the cluster test (cluster.mjs), built from
 * the public API only, as an application would be.
 *
 * It serves Socket.IO on CLUSTER_NODE_ADDR:CLUSTER_NODE_PORT with the
 * Redis adapter (every socket joins room "all"), publishes that server as
 * "web" in etcd (instance "<id>-<pid>", metadata {"node": id}, lease
 * CLUSTER_TTL s) and mirrors the cluster into its registry's namespace
 * "cluster". A clustered scheduler runs job "tick" every 2 s on exactly
 * one node: the run RPUSHes "<fire time> <id>" to the Redis list "ticks".
 * Beside Socket.IO, on the same port:
 *   GET /peers               the instances of "web" its registry holds
 *                            now: [{"node","instance","address","port"}]
 *   GET /emit?room=R&text=T  emits "news" {text, from} to room R of
 *                            every node: {"ok": true|false}
 * and the admin endpoint on port + 1, whose panel "discovery" shows the
 * mirror's view of etcd (connected, stale_ms, revision, instances).
 * It runs until SIGTERM or SIGINT, then unpublishes and stops.
 *
 * Environment: CLUSTER_NODE_ID, CLUSTER_NODE_ADDR, CLUSTER_NODE_PORT,
 * CLUSTER_ETCD (endpoints), CLUSTER_REDIS (URL), CLUSTER_TTL (s),
 * CLUSTER_NAME (the etcd cluster name).
 */
#define _GNU_SOURCE
#include <roster/admin.h>
#include <roster/cron.h>
#include <roster/error.h>
#include <roster/etcd.h>
#include <roster/httpd.h>
#include <roster/redis.h>
#include <roster/registry.h>
#include <roster/sio_redis.h>
#include <roster/socketio.h>

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct node {
  roster *r;
  roster_socketio *io;
  roster_redis *redis;
  const char *id;
} node;

static const char *need(const char *k) {
  const char *v = getenv(k);
  if (!v || !*v) {
    fprintf(stderr, "cluster_node: %s is not set\n", k);
    exit(2);
  }
  return v;
}

static void die(const char *what, int rc) {
  fprintf(stderr, "cluster_node: %s: %s (%s)\n", what, roster_strerror(rc),
          roster_last_error());
  exit(1);
}

/* tick: the clustered job; its record keys the run by its fire time */
static int tick(void *arg) {
  node *n = arg;
  char row[96];
  snprintf(row, sizeof row, "%lld %s", (long long)roster_job_scheduled(),
           n->id);
  roster_redis_reply *rep = NULL;
  int rc = roster_redis_call(n->redis, &rep, "RPUSH", "ticks", row, NULL);
  roster_redis_reply_free(rep);
  return rc;
}

static void on_connect(roster_socketio_socket *s, void *arg) {
  (void)arg;
  roster_socketio_socket_join(s, "all");
}

static void respond_json(roster_httpd_request *req, int status, json_t *j) {
  char *body = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  static const char *const hdr[] = {"Content-Type", "application/json", NULL};
  roster_httpd_respond(req, body ? status : 500, hdr, body ? body : "",
                       body ? strlen(body) : 0);
  free(body);
}

static int add_peer(const roster_info *info, void *arg) {
  json_t *list = arg;
  json_t *m =
      info->meta ? json_loadb(info->meta, info->meta_len, 0, NULL) : NULL;
  json_t *meta = json_object_get(m, "meta");
  json_array_append_new(list,
                        json_pack("{s:O?,s:O?,s:O?,s:O?}", "node",
                                  json_object_get(meta, "node"), "instance",
                                  json_object_get(m, "instance"), "address",
                                  json_object_get(m, "address"), "port",
                                  json_object_get(m, "port")));
  json_decref(m);
  return 0;
}

static void peers_route(roster_httpd_request *req, void *arg) {
  node *n = arg;
  json_t *list = json_array();
  roster_dispatch(n->r, "cluster", "web", add_peer, list, NULL);
  respond_json(req, 200, list);
}

/* query_get copies the %-decoded value of key from query into buf. */
static bool query_get(const char *query, const char *key, char *buf,
                      size_t cap) {
  size_t kl = strlen(key);
  for (const char *p = query; p && *p;
       p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
    if (strncmp(p, key, kl) != 0 || p[kl] != '=')
      continue;
    size_t o = 0;
    for (const char *v = p + kl + 1; *v && *v != '&' && o + 1 < cap; v++) {
      unsigned x;
      if (*v == '%' && v[1] && v[2] && sscanf(v + 1, "%2x", &x) == 1) {
        buf[o++] = (char)x;
        v += 2;
      } else {
        buf[o++] = *v == '+' ? ' ' : *v;
      }
    }
    buf[o] = '\0';
    return true;
  }
  return false;
}

static void emit_route(roster_httpd_request *req, void *arg) {
  node *n = arg;
  char room[256], text[512];
  const char *q = roster_httpd_request_query(req);
  if (!query_get(q, "room", room, sizeof room) ||
      !query_get(q, "text", text, sizeof text)) {
    respond_json(req, 400, json_pack("{s:b}", "ok", 0));
    return;
  }
  json_t *args = json_pack("[{s:s,s:s}]", "text", text, "from", n->id);
  const char *rooms[] = {room, NULL};
  int rc =
      roster_socketio_emit(n->io, &(roster_socketio_target){.rooms = rooms},
                           "news", args, NULL, 0, NULL);
  json_decref(args);
  respond_json(req, 200, json_pack("{s:b}", "ok", rc == ROSTER_OK));
}

/* discovery_panel: the mirror's figures on the admin endpoint */
static json_t *discovery_panel(void *arg) {
  roster_etcd_mirror_stats st;
  if (roster_etcd_mirror_stats_get(arg, &st) != ROSTER_OK)
    return NULL;
  return json_pack(
      "{s:b,s:I,s:I,s:I,s:I,s:I}", "connected", st.connected, "stale_ms",
      (json_int_t)st.stale_ms, "revision", (json_int_t)st.revision, "instances",
      (json_int_t)st.instances, "arrivals", (json_int_t)st.arrivals,
      "departures", (json_int_t)st.departures);
}

int main(void) {
  node n = {.id = need("CLUSTER_NODE_ID")};
  const char *addr = need("CLUSTER_NODE_ADDR");
  int port = atoi(need("CLUSTER_NODE_PORT"));
  const char *cluster = need("CLUSTER_NAME");
  int64_t ttl = atoll(need("CLUSTER_TTL"));
  int rc;

  /* SIGTERM and SIGINT are waited for below, on this thread only */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);

  if ((rc = roster_new(&(roster_options){.keys = ROSTER_KEYS_DUPLICATE,
                                         .name = "cluster-node"},
                       &n.r)))
    die("registry", rc);
  if ((rc = roster_redis_open(need("CLUSTER_REDIS"), NULL, NULL, &n.redis)))
    die("redis", rc);

  roster_socketio_nsp *root = NULL;
  if ((rc = roster_socketio_new(
           &(roster_socketio_options){
               .name = "web", .host = addr, .port = (uint16_t)port},
           &n.io)) ||
      (rc = roster_socketio_of(n.io, "/", &root)) ||
      (rc = roster_socketio_on_connect(root, on_connect, &n)))
    die("socket.io server", rc);
  roster_httpd *h = roster_socketio_httpd(n.io);
  if ((rc = roster_httpd_route(
           h, &(roster_httpd_route_options){.prefix = "/peers",
                                            .handler = peers_route,
                                            .arg = &n})) ||
      (rc = roster_httpd_route(
           h, &(roster_httpd_route_options){
                  .prefix = "/emit", .handler = emit_route, .arg = &n})))
    die("routes", rc);
  if ((rc = roster_sio_redis_attach(n.io, n.redis, NULL, NULL)))
    die("redis adapter", rc);
  if ((rc = roster_socketio_start(n.io)))
    die("socket.io start", rc);

  roster_etcd *etcd = NULL;
  roster_etcd_mirror *mirror = NULL;
  roster_etcd_publication *pub = NULL;
  roster_etcd_cron *claims = NULL;
  char instance[128], meta[128];
  snprintf(instance, sizeof instance, "%s-%ld", n.id, (long)getpid());
  snprintf(meta, sizeof meta, "{\"node\":\"%s\"}", n.id);
  if ((rc = roster_etcd_new(
           &(roster_etcd_options){.endpoints = need("CLUSTER_ETCD")}, &etcd)))
    die("etcd", rc);
  if ((rc = roster_etcd_mirror_new(
           etcd, n.r, &(roster_etcd_mirror_options){.cluster = cluster},
           &mirror)))
    die("mirror", rc);
  if ((rc = roster_etcd_publish(
           etcd, NULL,
           &(roster_etcd_publish_options){.cluster = cluster,
                                          .name = "web",
                                          .instance = instance,
                                          .address = addr,
                                          .port = port,
                                          .meta = meta,
                                          .ttl_s = ttl},
           &pub)))
    die("publish", rc);

  roster_admin *admin = NULL;
  if ((rc = roster_admin_new(
           n.r,
           &(roster_admin_options){.host = addr,
                                   .port = (uint16_t)(port + 1),
                                   .token = "cluster-test-token"},
           &admin)) ||
      (rc = roster_admin_panel(admin, "discovery", discovery_panel, mirror)) ||
      (rc = roster_admin_start(admin)))
    die("admin endpoint", rc);

  roster_sched *sched = NULL;
  if ((rc = roster_etcd_cron_new(etcd, cluster, n.id, 0, &claims)) ||
      (rc = roster_sched_new(
           &(roster_sched_options){.workers = 2,
                                   .tz = "UTC",
                                   .claim = roster_etcd_cron_claim,
                                   .claim_arg = claims},
           &sched)) ||
      (rc = roster_sched_add(sched, "tick", "*/2 * * * * *", tick, &n, NULL)) ||
      (rc = roster_sched_start(sched)))
    die("scheduler", rc);

  fprintf(stderr, "cluster_node %s: up on %s:%d\n", n.id, addr, port);
  int sig = 0;
  sigwait(&stop, &sig);
  fprintf(stderr, "cluster_node %s: stopping (signal %d)\n", n.id, sig);

  roster_sched_free(sched);
  roster_admin_free(admin);
  roster_etcd_cron_free(claims);
  roster_etcd_unpublish(pub, false);
  roster_etcd_mirror_free(mirror);
  roster_socketio_free(n.io);
  roster_etcd_free(etcd);
  roster_redis_free(n.redis);
  roster_free(n.r);
  return 0;
}
