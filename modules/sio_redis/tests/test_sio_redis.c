/*
 * test_sio_redis.c: the Redis adapter (roster/sio_redis.h) with the real
 * Redis of scripts/services.sh: two Socket.IO servers in this process
 * (two ports, two adapters, as two nodes) and clients over raw WebSocket
 * frames (the httpd tests' client). A broadcast to a room on one node
 * reaches the room's sockets on the other, exceptions hold, binary
 * arguments cross, events between servers reach the other node, namespaces have
 * their own channels, rooms and sockets are counted across both; a node's own
 * broadcasts do not come back; with a private Redis stopped, local emits go on
 * and the errors are counted, and broadcasts cross again once it is back; a
 * socketio:// service with redis=<service> gets its adapter from config. Each
 * test uses a channel key of its own (parallel runs share the server).
 */
#include "testutil.h"

#include <stdlib.h>
#include <unistd.h>

#include <roster/sio_redis.h>

#include "httpd_client.h"

static char g_key[96];

/* ---- a client over raw frames ------------------------------------------- */

static void expect_at(int fd, const char *want, const char *file, int line) {
  char *s = hc_eio_read(fd, NULL);
  if (!s || strcmp(s, want) != 0) {
    print_error("%s:%d: got \"%s\", want \"%s\"\n", file, line,
                s ? s : "(nothing)", want);
    free(s);
    fail();
  }
  free(s);
}
#define expect(fd, want) expect_at((fd), (want), __FILE__, __LINE__)

/* client: a socket in nsp ("/" or "/chat") of the server on port; its id
 * into sid. */
static int client(uint16_t port, const char *nsp, char sid[32]) {
  int fd =
      hc_ws_open(port, "/socket.io/?EIO=4&transport=websocket", NULL, NULL);
  assert_true(fd >= 0);
  char *open = hc_eio_read(fd, NULL);
  assert_non_null(open);
  free(open);
  char connect[64], want[96];
  bool root = strcmp(nsp, "/") == 0;
  snprintf(connect, sizeof connect, "40%s%s", root ? "" : nsp, root ? "" : ",");
  assert_true(hc_ws_frame(fd, true, 0, 1, true, connect, strlen(connect)));
  char *ans = hc_eio_read(fd, NULL);
  assert_non_null(ans);
  snprintf(want, sizeof want, "%s{\"sid\":\"", connect);
  assert_memory_equal(ans, want, strlen(want));
  snprintf(sid, 32, "%.20s", ans + strlen(want));
  free(ans);
  return fd;
}

/* ---- nodes ------------------------------------------------------------------
 */

typedef struct node {
  roster_redis *cli;
  roster_socketio *io;
  roster_sio_redis *a;
  uint16_t port;
  atomic_int server_events; /* on_server_event calls, [event, 1, "x"] */
} node;

static void on_server_event(roster_sio_redis *a, const char *nsp,
                            const json_t *data, void *arg) {
  node *n = arg;
  json_t *want = json_pack("[sis]", "tick", 1, "x");
  if (a == n->a && strcmp(nsp, "/chat") == 0 && json_equal(data, want))
    atomic_fetch_add(&n->server_events, 1);
  json_decref(want);
}

static roster_sio_redis_stats stats(node *n) {
  roster_sio_redis_stats st;
  assert_ok(roster_sio_redis_stats_get(n->a, &st));
  return st;
}

static int64_t numsub(roster_redis *cli, const char *chan) {
  roster_redis_reply *r = NULL;
  if (roster_redis_call(cli, &r, "PUBSUB", "NUMSUB", chan, NULL) != ROSTER_OK)
    return -1;
  int64_t n = r->elements == 2 ? r->element[1].integer : -1;
  roster_redis_reply_free(r);
  return n;
}

/* wait_nodes: every node's subscriptions of nsp are made (n of them). */
static void wait_nodes(roster_redis *cli, const char *nsp, int64_t n) {
  char chan[256];
  snprintf(chan, sizeof chan, "%s-request#%s#", g_key, nsp);
  tu_wait_until(numsub(cli, chan) == n, 10000);
  assert_int_equal(numsub(cli, chan), n);
}

static void node_up(node *n, const char *url) {
  memset(n, 0, sizeof *n);
  assert_ok(roster_redis_open(url, NULL, NULL, &n->cli));
  assert_ok(roster_socketio_new(NULL, &n->io));
  assert_ok(roster_socketio_of(n->io, "/chat", NULL));
  roster_sio_redis_options o = {.key = g_key,
                                .requests_timeout_ms = 3000,
                                .on_server_event = on_server_event,
                                .server_event_arg = n};
  assert_ok(roster_sio_redis_attach(n->io, n->cli, &o, &n->a));
  assert_int_equal(strlen(roster_sio_redis_uid(n->a)), 12);
  assert_ok(roster_socketio_start(n->io));
  n->port = roster_socketio_port(n->io);
}

static void node_down(node *n) {
  roster_socketio_free(n->io); /* the adapter with it */
  roster_redis_free(n->cli);
}

static void join(node *n, const char *nsp, const char *sid, const char *room) {
  roster_socketio_socket *s = NULL;
  assert_ok(roster_socketio_socket_find(n->io, nsp, sid, &s));
  assert_ok(roster_socketio_socket_join(s, room));
  roster_socketio_socket_release(s);
}

static void emit(node *n, const char *const *rooms, const char *const *except,
                 const char *event, const char *arg) {
  json_t *args = json_pack("[s]", arg);
  roster_socketio_target to = {.rooms = rooms, .except = except};
  assert_ok(roster_socketio_emit(n->io, &to, event, args, NULL, 0, NULL));
  json_decref(args);
}

static void two_nodes(node *a, node *b) {
  const char *url = roster__tu_server_url("REDIS");
  if (!url)
    skip();
  roster__tu_unique_name(g_key, sizeof g_key, "sior");
  node_up(a, url);
  node_up(b, url);
  wait_nodes(a->cli, "/", 2);
  wait_nodes(a->cli, "/chat", 2);
}

/* ---- tests -------------------------------------------------------------- */

static void t_rooms_across(void **state) {
  (void)state;
  node a, b;
  two_nodes(&a, &b);
  char s1[32], s2[32], s3[32];
  int c1 = client(a.port, "/", s1); /* on A, in r */
  int c2 = client(b.port, "/", s2); /* on B, in r and x */
  int c3 = client(b.port, "/", s3); /* on B, in no room */
  join(&a, "/", s1, "r");
  join(&b, "/", s2, "r");
  join(&b, "/", s2, "x");
  const char *r[] = {"r", NULL}, *x[] = {"x", NULL};
  emit(&a, r, NULL, "hi", "one");
  expect(c1, "42[\"hi\",\"one\"]"); /* local */
  expect(c2, "42[\"hi\",\"one\"]"); /* through Redis */
  emit(&a, r, x, "hi", "two");      /* except x: c2 left out */
  expect(c1, "42[\"hi\",\"two\"]");
  const char *bad[] = {"", NULL}; /* no valid room: nobody, anywhere */
  emit(&a, bad, NULL, "hi", "none");
  emit(&b, NULL, NULL, "all", "three"); /* everyone, from B */
  expect(c1, "42[\"all\",\"three\"]");  /* not "none" */
  expect(c2, "42[\"all\",\"three\"]");  /* not "two": except held */
  expect(c3, "42[\"all\",\"three\"]");  /* not "one", "two": not in r */
  /* a socket's own-id room on the other node */
  const char *own[] = {s2, NULL};
  emit(&a, own, NULL, "dm", "four");
  expect(c2, "42[\"dm\",\"four\"]");
  /* each node delivered the other's broadcasts once, never its own */
  tu_wait_until(stats(&b).received >= 3, 5000);
  assert_int_equal(stats(&b).received, 3);
  assert_int_equal(stats(&a).received, 1);
  /* counted when the pipeline's answer is read, maybe after B got it */
  tu_wait_until(stats(&a).published >= 3, 5000);
  assert_true(stats(&a).published >= 3);
  assert_int_equal(stats(&a).malformed, 0);
  assert_true(stats(&a).connected);
  close(c1);
  close(c2);
  close(c3);
  node_down(&a);
  node_down(&b);
}

static void t_binary_namespace_volatile(void **state) {
  (void)state;
  node a, b;
  two_nodes(&a, &b);
  char s1[32], s2[32];
  int c1 = client(a.port, "/chat", s1);
  int c2 = client(b.port, "/", s2);
  unsigned char bytes[] = {0, 1, 2, 255};
  roster_socketio_bin bin = {bytes, sizeof bytes};
  json_t *args = json_pack("[{sbsi}si]", "_placeholder", 1, "num", 0, "x", 7);
  roster_socketio_target to = {.nsp = "/chat", .is_volatile = true};
  assert_ok(roster_socketio_emit(b.io, &to, "file", args, &bin, 1, NULL));
  json_decref(args);
  expect(c1, "451-/chat,[\"file\",{\"_placeholder\":true,\"num\":0},\"x\",7]");
  hc_frame fr;
  char *s = hc_eio_read(c1, &fr);
  assert_string_equal(s, "<binary>");
  free(s);
  assert_int_equal(fr.len, sizeof bytes);
  assert_memory_equal(fr.p, bytes, sizeof bytes);
  hc_frame_free(&fr);
  /* "/" on B did not get the packet of "/chat": the next is this */
  emit(&a, NULL, NULL, "root", "only");
  expect(c2, "42[\"root\",\"only\"]");
  close(c1);
  close(c2);
  node_down(&a);
  node_down(&b);
}

static bool has(const roster_sio_redis_names *n, const char *name) {
  for (size_t i = 0; i < n->count; i++)
    if (strcmp(n->names[i], name) == 0)
      return true;
  return false;
}

static void ignore(void *arg, const roster_redis_message *msg) {
  (void)arg;
  (void)msg;
}

static void t_counts(void **state) {
  (void)state;
  node a, b;
  two_nodes(&a, &b);
  char s1[32], s2[32], s3[32];
  int c1 = client(a.port, "/", s1);
  int c2 = client(b.port, "/", s2);
  int c3 = client(b.port, "/", s3);
  join(&a, "/", s1, "ra");
  join(&b, "/", s2, "rb");
  join(&b, "/", s3, "rb");
  roster_sio_redis_names n;
  assert_ok(roster_sio_redis_rooms(a.a, NULL, 0, &n));
  assert_true(has(&n, "ra") && has(&n, "rb"));
  assert_true(has(&n, s1) && has(&n, s2) && has(&n, s3)); /* own-id rooms */
  assert_int_equal(n.count, 5);
  roster_sio_redis_names_free(&n);
  assert_ok(roster_sio_redis_sockets(a.a, "/", NULL, 0, &n));
  assert_int_equal(n.count, 3); /* the cluster's sockets */
  assert_true(has(&n, s1) && has(&n, s2) && has(&n, s3));
  roster_sio_redis_names_free(&n);
  const char *rb[] = {"rb", NULL};
  assert_ok(roster_sio_redis_sockets(a.a, "/", rb, 0, &n));
  assert_int_equal(n.count, 2);
  assert_true(has(&n, s2) && has(&n, s3));
  roster_sio_redis_names_free(&n);
  assert_ok(roster_sio_redis_sockets(b.a, "/chat", NULL, 0, &n));
  assert_int_equal(n.count, 0);
  roster_sio_redis_names_free(&n);
  assert_int_equal(stats(&a).requests, 3);
  assert_int_equal(stats(&a).requests_timed_out, 0);
  assert_true(stats(&b).answered >= 3);
  /* a node that does not answer: a third subscriber of A's request
   * channel (a raw subscriber here) makes A wait, then time out with what
   * came */
  roster_redis_subscriber *mute = NULL;
  assert_ok(roster_redis_subscriber_new(a.cli, NULL, &mute));
  char chan[256];
  snprintf(chan, sizeof chan, "%s-request#/#", g_key);
  assert_ok(roster_redis_subscribe(mute, chan, strlen(chan), ignore, NULL));
  uint64_t t0 = roster__tu_now_ns();
  assert_rc(roster_sio_redis_sockets(a.a, "/", NULL, 300, &n),
            ROSTER_ETIMEDOUT);
  assert_true(roster__tu_now_ns() - t0 >= 250000000u);
  assert_int_equal(n.count, 3); /* B answered */
  roster_sio_redis_names_free(&n);
  assert_int_equal(stats(&a).requests_timed_out, 1);
  roster_redis_subscriber_free(mute);
  close(c1);
  close(c2);
  close(c3);
  node_down(&a);
  node_down(&b);
}

/* The emitter's socketsJoin / disconnectSockets as Node sends them. */
static void t_remote_join_and_disconnect(void **state) {
  (void)state;
  node a, b;
  two_nodes(&a, &b);
  char s1[32];
  int c1 = client(b.port, "/", s1);
  char chan[256], req[256];
  snprintf(chan, sizeof chan, "%s-request#/#", g_key);
  snprintf(req, sizeof req,
           "{\"type\":2,\"opts\":{\"rooms\":[],\"except\":[]},"
           "\"rooms\":[\"joined\"]}");
  assert_ok(
      roster_redis_publish(a.cli, chan, strlen(chan), req, strlen(req), NULL));
  roster_socketio_socket *s = NULL;
  assert_ok(roster_socketio_socket_find(b.io, "/", s1, &s));
  tu_wait_until(roster_socketio_socket_in(s, "joined"), 5000);
  assert_true(roster_socketio_socket_in(s, "joined"));
  snprintf(req, sizeof req,
           "{\"type\":4,\"opts\":{\"rooms\":[\"joined\"],\"except\":[]},"
           "\"close\":false}");
  assert_ok(
      roster_redis_publish(a.cli, chan, strlen(chan), req, strlen(req), NULL));
  expect(c1, "41");
  assert_false(roster_socketio_socket_connected(s));
  roster_socketio_socket_release(s);
  close(c1);
  node_down(&a);
  node_down(&b);
}

/* Events between servers (serverSideEmit): to the other node only. */
static void t_server_events(void **state) {
  (void)state;
  node a, b;
  two_nodes(&a, &b);
  json_t *args = json_pack("[is]", 1, "x");
  assert_ok(roster_sio_redis_server_emit(a.a, "/chat", "tick", args));
  assert_rc(roster_sio_redis_server_emit(a.a, NULL, "", args), ROSTER_EINVAL);
  json_decref(args);
  tu_wait_until(atomic_load(&b.server_events) == 1, 5000);
  assert_int_equal(atomic_load(&b.server_events), 1);
  roster__tu_sleep_ms(100);
  assert_int_equal(atomic_load(&a.server_events), 0); /* not its own */
  node_down(&a);
  node_down(&b);
}

/* Redis stopped under the nodes: local emits go on, the failures are
 * counted; started again, broadcasts cross again. */
static void t_redis_down(void **state) {
  (void)state;
  if (!roster__tu_server_url("REDIS"))
    skip();
  tu_private_server srv;
  if (roster__tu_private_open(&srv, "redis", "sior") != 0)
    fail_msg("no private redis");
  roster__tu_unique_name(g_key, sizeof g_key, "sior");
  node a, b;
  node_up(&a, srv.url);
  node_up(&b, srv.url);
  wait_nodes(a.cli, "/", 2);
  char s1[32], s2[32];
  int c1 = client(a.port, "/", s1);
  int c2 = client(b.port, "/", s2);
  emit(&a, NULL, NULL, "up", "1");
  expect(c1, "42[\"up\",\"1\"]");
  expect(c2, "42[\"up\",\"1\"]");
  assert_int_equal(roster__tu_private_stop(&srv), 0);
  tu_wait_until(!stats(&a).connected, 10000);
  assert_false(stats(&a).connected);
  emit(&a, NULL, NULL, "down", "2");
  expect(c1, "42[\"down\",\"2\"]"); /* local delivery does not wait */
  tu_wait_until(stats(&a).publish_errors >= 1, 15000);
  assert_true(stats(&a).publish_errors >= 1);
  assert_int_equal(roster__tu_private_start(&srv), 0);
  tu_wait_until(stats(&a).connected && stats(&b).connected, 15000);
  assert_true(stats(&b).connected);
  emit(&a, NULL, NULL, "back", "3");
  expect(c1, "42[\"back\",\"3\"]");
  expect(c2, "42[\"back\",\"3\"]"); /* "down" never came: not kept */
  close(c1);
  close(c2);
  node_down(&a);
  node_down(&b);
  roster__tu_private_close(&srv);
}

/* socketio://...?redis=bus&redis_key=...: the adapter from config. */
static void t_config(void **state) {
  (void)state;
  const char *url = roster__tu_server_url("REDIS");
  if (!url)
    skip();
  assert_ok(roster_sio_redis_init());
  assert_ok(roster_sio_redis_init()); /* again: fine */
  roster__tu_unique_name(g_key, sizeof g_key, "sior");
  node b;
  node_up(&b, url);
  roster *r = tu_registry(NULL);
  assert_ok(roster_provide_url(r, NULL, "bus", url, NULL));
  int fp = roster__tu_free_port();
  assert_true(fp > 0);
  char su[512];
  snprintf(su, sizeof su,
           "socketio://127.0.0.1:%d/socket.io?redis=bus&redis_key=%s"
           "&redis_timeout=2000",
           fp, g_key);
  assert_ok(roster_provide_url(r, NULL, "rt", su, NULL));
  char bad[512];
  snprintf(bad, sizeof bad, "socketio://127.0.0.1:%d/x?redis_key=k", fp);
  assert_rc(roster_provide_url(r, NULL, "bad", bad, NULL), ROSTER_EINVAL);
  snprintf(bad, sizeof bad, "socketio://127.0.0.1:%d/x?redis=b&redis_nope=1",
           fp);
  assert_rc(roster_provide_url(r, NULL, "bad", bad, NULL), ROSTER_EINVAL);
  assert_ok(roster_start(r, 10000));
  roster_socketio *io = NULL;
  assert_ok(roster_socketio_find(r, NULL, "rt", &io));
  wait_nodes(b.cli, "/", 2);
  char s1[32];
  int c1 = client(b.port, "/", s1);
  json_t *args = json_pack("[s]", "cfg");
  assert_ok(roster_socketio_emit(io, NULL, "from", args, NULL, 0, NULL));
  json_decref(args);
  expect(c1, "42[\"from\",\"cfg\"]");
  close(c1);
  roster_free(r);
  roster__tu_sleep_ms(200); /* the server's free runs on a thread of its own */
  node_down(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_rooms_across),
      cmocka_unit_test(t_binary_namespace_volatile),
      cmocka_unit_test(t_counts),
      cmocka_unit_test(t_remote_join_and_disconnect),
      cmocka_unit_test(t_server_events),
      cmocka_unit_test(t_redis_down),
      cmocka_unit_test(t_config),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
