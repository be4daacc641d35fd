/*
 * sio_redis_interop.c: Socket.IO across nodes with the real npm packages
 * (tests/interop: socket.io-client, socket.io, @socket.io/redis-adapter
 * 8.3, @socket.io/redis-emitter 5.1, redis 4.7) over the Redis of
 * scripts/services.sh. This program serves two roster Socket.IO servers
 * (two ports, each with its Redis adapter: two nodes) and runs
 * sio_redis_interop.mjs with their URLs. The script connects a
 * socket.io-client to each, has them join rooms and broadcast through
 * either node (a room emit on A reaches B, except holds), asks for the
 * rooms and socket counts of the cluster, emits into roster's servers
 * with @socket.io/redis-emitter (rooms, except, binary), then starts a
 * Node socket.io server with @socket.io/redis-adapter as a third node:
 * roster's broadcasts reach a client of the Node server, the Node
 * server's reach roster's clients, and the Node server's allRooms() and
 * fetchSockets() see roster's rooms and sockets, and events between
 * servers (serverSideEmit) go both ways. This side checks its
 * adapters' counters. A channel key of its own keeps parallel runs apart.
 *
 * Skipped (77) without node, the packages or Redis, unless
 * ROSTER_TEST_REQUIRE_SERVERS=1, which makes it fail instead.
 */
#include "testutil.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <roster/sio_redis.h>

extern char **environ;

static char interop_dir[1024];
static char g_key[96];

typedef struct node {
  roster_redis *cli;
  roster_socketio *io;
  roster_sio_redis *a;
  const char *name;
} node;

static node g_nodes[2];
static atomic_int g_errors;

static void check_rc(int rc, const char *what) {
  if (rc != ROSTER_OK) {
    fprintf(stderr, "sio_redis_interop: %s: %s\n", what, roster_last_error());
    atomic_fetch_add(&g_errors, 1);
  }
}

static node *node_of(roster_socketio_socket *s) {
  return roster_socketio_socket_server(s) == g_nodes[0].io ? &g_nodes[0]
                                                           : &g_nodes[1];
}

static void ack_ok(roster_socketio_socket *s, const roster_socketio_event *ev,
                   json_t *v) {
  json_t *args = json_pack("[o]", v ? v : json_string("ok"));
  if (ev->ack_id >= 0)
    check_rc(roster_socketio_ack(s, ev->ack_id, args, NULL, 0), "ack");
  json_decref(args);
}

/* join(room...): the socket joins the rooms; the ack says which node. */
static void on_join(roster_socketio_socket *s, const roster_socketio_event *ev,
                    void *arg) {
  (void)arg;
  for (size_t i = 0; i < json_array_size(ev->args); i++) {
    const char *room = json_string_value(json_array_get(ev->args, i));
    if (room)
      check_rc(roster_socketio_socket_join(s, room), "join");
  }
  ack_ok(s, ev, json_string(node_of(s)->name));
}

/* shout({rooms, except, event, args}): a broadcast from this node. */
static void on_shout(roster_socketio_socket *s, const roster_socketio_event *ev,
                     void *arg) {
  (void)arg;
  json_t *o = json_array_get(ev->args, 0);
  const char *rooms[8] = {NULL}, *except[8] = {NULL};
  json_t *jr = json_object_get(o, "rooms"), *je = json_object_get(o, "except");
  for (size_t i = 0; i < json_array_size(jr) && i < 7; i++)
    rooms[i] = json_string_value(json_array_get(jr, i));
  for (size_t i = 0; i < json_array_size(je) && i < 7; i++)
    except[i] = json_string_value(json_array_get(je, i));
  roster_socketio_target to = {.rooms = rooms, .except = except};
  check_rc(roster_socketio_emit(roster_socketio_socket_server(s), &to,
                                json_string_value(json_object_get(o, "event")),
                                json_object_get(o, "args"), ev->bins, ev->nbin,
                                NULL),
           "shout");
  ack_ok(s, ev, NULL);
}

/* counts(room?): the cluster's rooms and sockets, asked on a thread of
 * its own (the queries wait for the other nodes: never on the I/O
 * thread), answered from there. */
typedef struct count_job {
  roster_socketio_socket *s;
  int64_t ack_id;
  char room[64];
} count_job;

static json_t *names_json(const roster_sio_redis_names *n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n->count; i++)
    json_array_append_new(a, json_string(n->names[i]));
  return a;
}

static void *count_main(void *p) {
  count_job *j = p;
  roster_sio_redis *a = node_of(j->s)->a;
  roster_sio_redis_names rooms = {0}, socks = {0};
  const char *in[] = {j->room, NULL};
  check_rc(roster_sio_redis_rooms(a, "/", 0, &rooms), "rooms");
  check_rc(roster_sio_redis_sockets(a, "/", *j->room ? in : NULL, 0, &socks),
           "sockets");
  json_t *args = json_pack("[{soso}]", "rooms", names_json(&rooms), "sockets",
                           names_json(&socks));
  check_rc(roster_socketio_ack(j->s, j->ack_id, args, NULL, 0), "counts ack");
  json_decref(args);
  roster_sio_redis_names_free(&rooms);
  roster_sio_redis_names_free(&socks);
  roster_socketio_socket_release(j->s);
  free(j);
  return NULL;
}

static void on_counts(roster_socketio_socket *s,
                      const roster_socketio_event *ev, void *arg) {
  (void)arg;
  count_job *j = calloc(1, sizeof *j);
  j->s = roster_socketio_socket_acquire(s);
  j->ack_id = ev->ack_id;
  const char *room = json_string_value(json_array_get(ev->args, 0));
  snprintf(j->room, sizeof j->room, "%s", room ? room : "");
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, count_main, j), 0);
  pthread_detach(t);
}

/* Events between servers: sse(x) makes this node send fromRoster(x);
 * sse_count answers how many fromNode events this node got. */
static atomic_int g_from_node[2];

static void on_server_event(roster_sio_redis *a, const char *nsp,
                            const json_t *data, void *arg) {
  (void)a;
  (void)nsp;
  if (strcmp(json_string_value(json_array_get(data, 0)), "fromNode") == 0)
    atomic_fetch_add(&g_from_node[(intptr_t)arg], 1);
}

static void on_sse(roster_socketio_socket *s, const roster_socketio_event *ev,
                   void *arg) {
  (void)arg;
  check_rc(
      roster_sio_redis_server_emit(node_of(s)->a, "/", "fromRoster", ev->args),
      "server_emit");
  ack_ok(s, ev, NULL);
}

static void on_sse_count(roster_socketio_socket *s,
                         const roster_socketio_event *ev, void *arg) {
  (void)arg;
  int i = node_of(s) == &g_nodes[0] ? 0 : 1;
  ack_ok(s, ev, json_integer(atomic_load(&g_from_node[i])));
}

static void node_up(node *n, const char *url, const char *name) {
  n->name = name;
  assert_ok(roster_redis_open(url, NULL, NULL, &n->cli));
  assert_ok(roster_socketio_new(NULL, &n->io));
  roster_socketio_nsp *root = NULL;
  assert_ok(roster_socketio_of(n->io, "/", &root));
  assert_ok(roster_socketio_on(root, "join", on_join, NULL));
  assert_ok(roster_socketio_on(root, "shout", on_shout, NULL));
  assert_ok(roster_socketio_on(root, "counts", on_counts, NULL));
  assert_ok(roster_socketio_on(root, "sse", on_sse, NULL));
  assert_ok(roster_socketio_on(root, "sse_count", on_sse_count, NULL));
  roster_sio_redis_options o = {.key = g_key,
                                .requests_timeout_ms = 5000,
                                .on_server_event = on_server_event,
                                .server_event_arg =
                                    (void *)(intptr_t)(n == &g_nodes[1])};
  assert_ok(roster_sio_redis_attach(n->io, n->cli, &o, &n->a));
  assert_ok(roster_socketio_start(n->io));
}

static int run_node(const char *redis_url) {
  char ua[64], ub[64], script[1200];
  snprintf(ua, sizeof ua, "http://127.0.0.1:%u",
           (unsigned)roster_socketio_port(g_nodes[0].io));
  snprintf(ub, sizeof ub, "http://127.0.0.1:%u",
           (unsigned)roster_socketio_port(g_nodes[1].io));
  snprintf(script, sizeof script, "%s/sio_redis_interop.mjs", interop_dir);
  char *argv[] = {"node",        script, ua, ub, (char *)redis_url,
                  (char *)g_key, NULL};
  pid_t pid;
  int err = posix_spawnp(&pid, "node", NULL, NULL, argv, environ);
  if (err != 0) {
    print_error("cannot run node: %s\n", strerror(err));
    fail();
  }
  return roster__tu_wait_child(pid, 90, "sio_redis_interop.mjs", NULL, NULL);
}

static void t_cluster(void **state) {
  (void)state;
  const char *url = roster__tu_server_url("REDIS");
  if (!url)
    skip();
  roster__tu_unique_name(g_key, sizeof g_key, "sio_interop");
  node_up(&g_nodes[0], url, "A");
  node_up(&g_nodes[1], url, "B");
  int st = run_node(url);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    print_error("sio_redis_interop.mjs failed (status %d)\n", st);
    fail();
  }
  assert_int_equal(atomic_load(&g_errors), 0);
  roster_sio_redis_stats sa, sb;
  assert_ok(roster_sio_redis_stats_get(g_nodes[0].a, &sa));
  assert_ok(roster_sio_redis_stats_get(g_nodes[1].a, &sb));
  /* each node delivered broadcasts of the other, of the emitter and of
   * the Node server; none was malformed; both answered requests */
  assert_true(sa.received >= 3 && sb.received >= 3);
  assert_int_equal(sa.malformed + sb.malformed, 0);
  assert_int_equal(sa.publish_errors + sb.publish_errors, 0);
  assert_true(sa.answered + sb.answered >= 4);
  assert_true(sa.requests >= 2);
  for (int i = 0; i < 2; i++) {
    roster_socketio_free(g_nodes[i].io);
    roster_redis_free(g_nodes[i].cli);
  }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: sio_redis_interop <tests/interop dir>\n");
    return 2;
  }
  snprintf(interop_dir, sizeof interop_dir, "%s", argv[1]);
  const char *const packages[] = {
      "socket.io-client",         "socket.io", "@socket.io/redis-adapter",
      "@socket.io/redis-emitter", "redis",     NULL};
  const char *const tools[] = {"node", NULL};
  if (!roster__tu_peers_ok(interop_dir, packages, tools))
    return 77;
  const struct CMUnitTest tests[] = {cmocka_unit_test(t_cluster)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
