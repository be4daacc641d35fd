/*
 * test_sio_server.c: the Socket.IO server (roster/socketio.h) over raw
 * WebSocket frames (the httpd tests' client), packet by packet as the
 * socket.io-protocol document writes them: CONNECT and its answers
 * (namespaces, middleware), events and acks both ways, binary
 * attachments, rooms in the registry, broadcasts, volatile drops and slow
 * consumers, disconnects, the stop, the log sink and the socketio://
 * driver. Handlers record what they see in a tu_log.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <roster/socketio.h>

#include "httpd_client.h"

static tu_log g_log;
static roster_socketio_socket *g_last; /* the last socket connected */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;

/* ---- a client over raw frames ------------------------------------------- */

static void cli_send(int fd, const char *text) {
  assert_true(hc_ws_frame(fd, true, 0, 1, true, text, strlen(text)));
}

/* cli_expect: the next text frame starts with want (the rest is returned
 * malloc'd, for the caller to look at or free). */
static char *cli_expect_at(int fd, const char *want, const char *file,
                           int line) {
  char *s = hc_eio_read(fd, NULL);
  if (!s || strncmp(s, want, strlen(want)) != 0) {
    print_error("%s:%d: got \"%s\", want \"%s...\"\n", file, line,
                s ? s : "(nothing)", want);
    free(s);
    fail();
  }
  return s;
}
#define cli_expect(fd, want) cli_expect_at((fd), (want), __FILE__, __LINE__)
#define cli_expect_free(fd, want) free(cli_expect((fd), (want)))

/* cli_open: a WebSocket session (the open packet read) on path. */
static int cli_open(uint16_t port) {
  int fd =
      hc_ws_open(port, "/socket.io/?EIO=4&transport=websocket", NULL, NULL);
  assert_true(fd >= 0);
  cli_expect_free(fd, "0{\"sid\":");
  return fd;
}

/* cli_join_ns: CONNECT to nsp ("/": "40"), answered with the socket id. */
static int cli_connect(uint16_t port) {
  int fd = cli_open(port);
  cli_send(fd, "40");
  cli_expect_free(fd, "40{\"sid\":\"");
  return fd;
}

/* ---- handlers ---------------------------------------------------------- */

static void on_connect(roster_socketio_socket *s, void *arg) {
  (void)arg;
  roster__tu_log_add(&g_log, "connect:%s", roster_socketio_socket_nsp(s));
  pthread_mutex_lock(&g_mu);
  roster_socketio_socket_release(g_last);
  g_last = roster_socketio_socket_acquire(s);
  pthread_mutex_unlock(&g_mu);
}

static roster_socketio_socket *last(void) {
  pthread_mutex_lock(&g_mu);
  roster_socketio_socket *s = roster_socketio_socket_acquire(g_last);
  pthread_mutex_unlock(&g_mu);
  return s;
}

static void on_disconnect(roster_socketio_socket *s, const char *reason,
                          void *arg) {
  (void)s;
  (void)arg;
  roster__tu_log_add(&g_log, "disconnect:%s", reason);
}

/* echo: answers the ack with the arguments it got. */
static void on_echo(roster_socketio_socket *s, const roster_socketio_event *ev,
                    void *arg) {
  (void)arg;
  roster__tu_log_add(&g_log, "echo:%zu:%lld", json_array_size(ev->args),
                     (long long)ev->ack_id);
  if (ev->ack_id >= 0)
    assert_ok(roster_socketio_ack(s, ev->ack_id, ev->args, ev->bins, ev->nbin));
  else
    assert_ok(
        roster_socketio_socket_emit(s, "echoed", ev->args, ev->bins, ev->nbin));
}

/* join / leave: the first argument is the room. */
static void on_join(roster_socketio_socket *s, const roster_socketio_event *ev,
                    void *arg) {
  const char *room = json_string_value(json_array_get(ev->args, 0));
  if (arg)
    assert_ok(roster_socketio_socket_leave(s, room));
  else
    assert_ok(roster_socketio_socket_join(s, room));
  if (ev->ack_id >= 0)
    assert_ok(roster_socketio_ack(s, ev->ack_id, NULL, NULL, 0));
}

static void on_any(roster_socketio_socket *s, const roster_socketio_event *ev,
                   void *arg) {
  (void)s;
  (void)arg;
  roster__tu_log_add(&g_log, "any:%s", ev->name);
}

static int use_token(roster_socketio_socket *s, const json_t *auth,
                     char *message, size_t cap, void *arg) {
  (void)s;
  (void)arg;
  const char *t = json_string_value(json_object_get(auth, "token"));
  if (t && strcmp(t, "sesame") == 0)
    return 0;
  snprintf(message, cap, "bad token");
  return 1;
}

typedef struct fixture {
  roster_socketio *io;
  uint16_t port;
} fixture;

static void hello(roster_httpd_request *req, void *arg) {
  (void)arg;
  roster_httpd_respond(req, 200, NULL, "hello", 5);
}

static void setup_with(fixture *f, const roster_socketio_options *o) {
  roster__tu_log_init(&g_log);
  assert_ok(roster_socketio_new(o, &f->io));
  roster_socketio_nsp *root, *admin;
  assert_ok(roster_socketio_of(f->io, "/", &root));
  assert_ok(roster_socketio_of(f->io, "/admin", &admin));
  assert_ok(roster_socketio_use(admin, use_token, NULL));
  for (int i = 0; i < 2; i++) {
    roster_socketio_nsp *n = i ? admin : root;
    assert_ok(roster_socketio_on_connect(n, on_connect, NULL));
    assert_ok(roster_socketio_on_disconnect(n, on_disconnect, NULL));
    assert_ok(roster_socketio_on(n, "echo", on_echo, NULL));
  }
  assert_ok(roster_socketio_on(root, "join", on_join, NULL));
  assert_ok(roster_socketio_on(root, "leave", on_join, (void *)1));
  assert_ok(roster_socketio_on(root, NULL, on_any, NULL));
  /* a route of one's own beside the server's */
  assert_ok(roster_httpd_route(
      roster_socketio_httpd(f->io),
      &(roster_httpd_route_options){.prefix = "/hello", .handler = hello}));
  assert_ok(roster_socketio_start(f->io));
  f->port = roster_socketio_port(f->io);
}

static void setup(fixture *f) { setup_with(f, NULL); }

static void teardown(fixture *f) {
  roster_socketio_free(f->io);
  pthread_mutex_lock(&g_mu);
  roster_socketio_socket_release(g_last);
  g_last = NULL;
  pthread_mutex_unlock(&g_mu);
  roster__tu_log_fini(&g_log);
}

static roster_socketio_stats stats(fixture *f) {
  roster_socketio_stats st;
  assert_ok(roster_socketio_stats_get(f->io, &st));
  return st;
}

/* ---- tests -------------------------------------------------------------- */

static void t_connect_event_ack(void **state) {
  (void)state;
  fixture f;
  setup(&f);
  assert_ok(roster_socketio_health(f.io));
  hc_resp hr;
  assert_int_equal(
      hc_request(f.port, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &hr), 200);
  assert_string_equal(hr.body, "hello");
  hc_resp_free(&hr);
  int fd = cli_open(f.port);
  cli_send(fd, "40");
  char *ok = cli_expect(fd, "40{\"sid\":\"");
  roster_socketio_socket *s = last();
  assert_non_null(s);
  char want[64];
  snprintf(want, sizeof want, "40{\"sid\":\"%s\"}",
           roster_socketio_socket_id(s));
  assert_string_equal(ok, want);
  free(ok);
  assert_string_equal(roster_socketio_socket_nsp(s), "/");
  assert_string_equal(roster_socketio_socket_transport(s), "websocket");
  assert_true(json_is_object(roster_socketio_socket_auth(s)));
  assert_int_equal(json_object_size(roster_socketio_socket_auth(s)), 0);
  /* an event with an ack id comes back as the ACK of that id */
  cli_send(fd, "421[\"echo\",{\"x\":1},\"two\"]");
  cli_expect_free(fd, "431[{\"x\":1},\"two\"]");
  /* without an ack id the handler emits "echoed" */
  cli_send(fd, "42[\"echo\",3]");
  cli_expect_free(fd, "42[\"echoed\",3]");
  assert_int_equal(roster__tu_log_find(&g_log, "echo:2:1", 0) >= 0, 1);
  /* an event nobody handles goes to the catch-all; numeric names too */
  cli_send(fd, "42[\"nobody\"]");
  cli_send(fd, "42[7,\"x\"]");
  tu_wait_until(roster__tu_log_count(&g_log, "any:7") == 1, 3000);
  assert_int_equal(roster__tu_log_count(&g_log, "any:nobody"), 1);
  assert_int_equal(roster__tu_log_count(&g_log, "any:7"), 1);
  /* the socket's id is a room of its own; user data */
  roster_socketio_socket *found = NULL;
  assert_ok(roster_socketio_socket_find(f.io, "/", roster_socketio_socket_id(s),
                                        &found));
  assert_ptr_equal(found, s);
  roster_socketio_socket_release(found);
  assert_rc(roster_socketio_socket_find(f.io, "/", "nobody", &found),
            ROSTER_ENOENT);
  roster_socketio_socket_set_data(s, strdup("mine"), free);
  assert_string_equal(roster_socketio_socket_data(s), "mine");
  roster_socketio_stats st = stats(&f);
  assert_int_equal(st.sockets, 1);
  assert_int_equal(st.sockets_total, 1);
  assert_int_equal(st.connections, 1);
  assert_true(st.packets_in >= 5);
  assert_true(st.packets_out >= 3);
  /* bad calls */
  assert_rc(roster_socketio_socket_emit(s, "connect", NULL, NULL, 0),
            ROSTER_EINVAL);
  json_t *notarr = json_object();
  assert_rc(roster_socketio_socket_emit(s, "e", notarr, NULL, 0),
            ROSTER_EINVAL);
  json_decref(notarr);
  assert_rc(roster_socketio_ack(s, -1, NULL, NULL, 0), ROSTER_EINVAL);
  /* the client leaves its namespace */
  cli_send(fd, "41");
  tu_wait_until(roster__tu_log_count(
                    &g_log, "disconnect:client namespace disconnect") == 1,
                3000);
  assert_int_equal(
      roster__tu_log_count(&g_log, "disconnect:client namespace disconnect"),
      1);
  assert_false(roster_socketio_socket_connected(s));
  assert_rc(roster_socketio_socket_emit(s, "e", NULL, NULL, 0), ROSTER_ESTATE);
  assert_rc(roster_socketio_socket_join(s, "r"), ROSTER_ESTATE);
  assert_eventually_equal(stats(&f).sockets, 0, 3000);
  roster_socketio_socket_release(s);
  close(fd);
  teardown(&f);
}

static void t_namespaces_and_middleware(void **state) {
  (void)state;
  fixture f;
  setup(&f);
  int fd = cli_open(f.port);
  cli_send(fd, "40/nope,");
  cli_expect_free(fd, "44/nope,{\"message\":\"Invalid namespace\"}");
  cli_send(fd, "40/admin,{\"token\":\"wrong\"}");
  cli_expect_free(fd, "44/admin,{\"message\":\"bad token\"}");
  cli_send(fd, "40/admin,");
  cli_expect_free(fd, "44/admin,{\"message\":\"bad token\"}");
  assert_int_equal(stats(&f).refused, 3);
  assert_int_equal(roster__tu_log_count(&g_log, "connect:/admin"), 0);
  cli_send(fd, "40/admin,{\"token\":\"sesame\"}");
  cli_expect_free(fd, "40/admin,{\"sid\":\"");
  roster_socketio_socket *s = last();
  assert_string_equal(roster_socketio_socket_nsp(s), "/admin");
  assert_string_equal(json_string_value(json_object_get(
                          roster_socketio_socket_auth(s), "token")),
                      "sesame");
  /* one connection, two namespaces */
  cli_send(fd, "40");
  cli_expect_free(fd, "40{\"sid\":\"");
  cli_send(fd, "42/admin,5[\"echo\",\"a\"]");
  cli_expect_free(fd, "43/admin,5[\"a\"]");
  assert_int_equal(stats(&f).sockets, 2);
  assert_int_equal(stats(&f).connections, 1);
  /* an event in a namespace the client is not in closes the connection */
  roster_socketio_socket_release(s);
  cli_send(fd, "42/other,[\"echo\"]");
  assert_true(hc_closed(fd, 3000));
  tu_wait_until(roster__tu_log_count(&g_log, "disconnect:parse error") == 2,
                3000);
  assert_int_equal(roster__tu_log_count(&g_log, "disconnect:parse error"), 2);
  close(fd);
  /* a packet that is not Socket.IO closes it too */
  fd = cli_open(f.port);
  cli_send(fd, "4x");
  assert_true(hc_closed(fd, 3000));
  close(fd);
  /* bad namespace names */
  assert_rc(roster_socketio_of(f.io, "nope", NULL), ROSTER_EINVAL);
  assert_rc(roster_socketio_of(f.io, "/a,b", NULL), ROSTER_EINVAL);
  assert_rc(roster_socketio_emit(f.io, &(roster_socketio_target){.nsp = "/x"},
                                 "e", NULL, NULL, 0, NULL),
            ROSTER_ENOENT);
  teardown(&f);
}

/* ack_cb records the client's answer. */
static void ack_cb(roster_socketio_socket *s, int rc, const json_t *args,
                   const roster_socketio_bin *bins, size_t nbin, void *arg) {
  (void)s;
  (void)bins;
  char *text = args ? json_dumps(args, JSON_COMPACT) : NULL;
  roster__tu_log_add(&g_log, "ack:%s:%s:%s:%zu", (const char *)arg,
                     roster_err_name(rc), text ? text : "-", nbin);
  free(text);
}

static void t_server_acks(void **state) {
  (void)state;
  fixture f;
  setup(&f);
  int fd = cli_connect(f.port);
  roster_socketio_socket *s = last();
  json_t *args = json_pack("[si]", "q", 1);
  assert_ok(roster_socketio_socket_emit_ack(s, "ask", args, NULL, 0, 5000,
                                            ack_cb, "a"));
  char *got = cli_expect(fd, "420[\"ask\",\"q\",1]");
  free(got);
  cli_send(fd, "430[\"yes\"]");
  tu_wait_until(roster__tu_log_count(&g_log, "ack:a:OK:[\"yes\"]:0") == 1,
                3000);
  assert_int_equal(roster__tu_log_count(&g_log, "ack:a:OK:[\"yes\"]:0"), 1);
  /* a second answer to the same id is ignored */
  cli_send(fd, "430[\"again\"]");
  /* no answer: the timeout */
  assert_ok(roster_socketio_socket_emit_ack(s, "ask", NULL, NULL, 0, 100,
                                            ack_cb, "b"));
  cli_expect_free(fd, "421[\"ask\"]");
  tu_wait_until(roster__tu_log_count(&g_log, "ack:b:ETIMEDOUT:-:0") == 1, 3000);
  assert_int_equal(roster__tu_log_count(&g_log, "ack:b:ETIMEDOUT:-:0"), 1);
  assert_int_equal(stats(&f).acks_timed_out, 1);
  /* a late answer after the timeout is ignored */
  cli_send(fd, "431[\"late\"]");
  /* waiting when the socket goes: ROSTER_ESTATE */
  assert_ok(roster_socketio_socket_emit_ack(s, "ask", NULL, NULL, 0, 60000,
                                            ack_cb, "c"));
  cli_expect_free(fd, "422[\"ask\"]");
  close(fd);
  tu_wait_until(roster__tu_log_count(&g_log, "ack:c:ESTATE:-:0") == 1, 3000);
  assert_int_equal(roster__tu_log_count(&g_log, "ack:c:ESTATE:-:0"), 1);
  assert_int_equal(roster__tu_log_count(&g_log, "ack:a:OK:[\"again\"]:0"), 0);
  if (roster__tu_log_count(&g_log, "disconnect:transport close") != 1)
    roster__tu_log_dump(&g_log);
  assert_int_equal(roster__tu_log_count(&g_log, "disconnect:transport close"),
                   1);
  /* after the disconnect, no new wait */
  assert_rc(roster_socketio_socket_emit_ack(s, "ask", NULL, NULL, 0, 100,
                                            ack_cb, "d"),
            ROSTER_ESTATE);
  json_decref(args);
  roster_socketio_socket_release(s);
  teardown(&f);
}

static void t_binary(void **state) {
  (void)state;
  fixture f;
  setup(&f);
  int fd = cli_connect(f.port);
  /* a binary event: its attachment follows as a binary frame; echoed
   * (no ack id) as "echoed" with the same attachment */
  cli_send(fd, "451-[\"echo\",{\"b\":{\"_placeholder\":true,\"num\":0}}]");
  assert_true(hc_ws_frame(fd, true, 0, 2, true, "\x01\x02\x03", 3));
  cli_expect_free(fd,
                  "451-[\"echoed\",{\"b\":{\"_placeholder\":true,\"num\":0}}]");
  hc_frame bin;
  char *b = hc_eio_read(fd, &bin);
  assert_string_equal(b, "<binary>");
  free(b);
  assert_int_equal(bin.len, 3);
  assert_memory_equal(bin.p, "\x01\x02\x03", 3);
  hc_frame_free(&bin);
  /* a binary ack: BINARY_ACK */
  cli_send(fd, "452-9[\"echo\",{\"_placeholder\":true,\"num\":0},"
               "{\"_placeholder\":true,\"num\":1}]");
  assert_true(hc_ws_frame(fd, true, 0, 2, true, "A", 1));
  assert_true(hc_ws_frame(fd, true, 0, 2, true, "BC", 2));
  cli_expect_free(fd,
                  "462-9[{\"_placeholder\":true,\"num\":0},{\"_placeholder\":"
                  "true,\"num\":1}]");
  for (int i = 0; i < 2; i++) {
    b = hc_eio_read(fd, &bin);
    assert_string_equal(b, "<binary>");
    free(b);
    assert_int_equal(bin.len, (size_t)i + 1);
    assert_memory_equal(bin.p, i ? "BC" : "A", (size_t)i + 1);
    hc_frame_free(&bin);
  }
  /* the server sends one bin named twice: both placeholders, one frame
   * each (as socket.io-parser deconstructs) */
  json_t *args = json_loads("[{\"_placeholder\":true,\"num\":0},"
                            "{\"_placeholder\":true,\"num\":0}]",
                            0, NULL);
  roster_socketio_bin one = {"Z", 1};
  assert_ok(roster_socketio_emit(f.io, NULL, "bins", args, &one, 1, NULL));
  cli_expect_free(fd, "452-[\"bins\",{\"_placeholder\":true,\"num\":0},"
                      "{\"_placeholder\":true,\"num\":1}]");
  for (int i = 0; i < 2; i++) {
    b = hc_eio_read(fd, &bin);
    assert_string_equal(b, "<binary>");
    free(b);
    assert_memory_equal(bin.p, "Z", 1);
    hc_frame_free(&bin);
  }
  /* a placeholder naming no bin is the caller's error */
  json_t *bad = json_loads("[{\"_placeholder\":true,\"num\":1}]", 0, NULL);
  assert_rc(roster_socketio_emit(f.io, NULL, "bins", bad, &one, 1, NULL),
            ROSTER_EINVAL);
  json_decref(bad);
  json_decref(args);
  close(fd);
  teardown(&f);
}

/* next_event: the next "42[...]" frame's event name (into buf). */
static const char *next_event(int fd, char *buf, size_t cap) {
  char *s = hc_eio_read(fd, NULL);
  assert_non_null(s);
  const char *q = strchr(s, '"');
  const char *e = q ? strchr(q + 1, '"') : NULL;
  assert_non_null(e);
  snprintf(buf, cap, "%.*s", (int)(e - q - 1), q + 1);
  free(s);
  return buf;
}

static void t_rooms_and_broadcast(void **state) {
  (void)state;
  fixture f;
  setup(&f);
  int c[3];
  for (int i = 0; i < 3; i++)
    c[i] = cli_connect(f.port);
  /* c0: rooms r and q; c1: r; c2: none */
  cli_send(c[0], "421[\"join\",\"r\"]");
  cli_expect_free(c[0], "431[]");
  cli_send(c[0], "422[\"join\",\"q\"]");
  cli_expect_free(c[0], "432[]");
  cli_send(c[1], "421[\"join\",\"r\"]");
  cli_expect_free(c[1], "431[]");
  cli_send(c[1], "422[\"join\",\"r\"]"); /* twice: still once */
  cli_expect_free(c[1], "432[]");
  roster *rooms = roster_socketio_rooms(f.io);
  size_t count = 0;
  void *inst[4];
  assert_ok(roster_lookup(rooms, "/", "r", inst, 4, &count));
  assert_int_equal(count, 2);
  assert_ok(roster_lookup(rooms, "/", "q", inst, 4, &count));
  assert_int_equal(count, 1);
  assert_int_equal(stats(&f).rooms, 2);
  char ev[32];
  /* to r: c0, c1; then a marker to everyone shows c2 got nothing before */
  size_t sent = 0;
  assert_ok(roster_socketio_emit_room(f.io, "r", "to-r", NULL));
  assert_ok(roster_socketio_emit(f.io, NULL, "all", NULL, NULL, 0, &sent));
  assert_int_equal(sent, 3);
  assert_string_equal(next_event(c[0], ev, sizeof ev), "to-r");
  assert_string_equal(next_event(c[1], ev, sizeof ev), "to-r");
  for (int i = 0; i < 3; i++)
    assert_string_equal(next_event(c[i], ev, sizeof ev), "all");
  /* to r and q: c0 once; except q: c1 only */
  const char *rq[] = {"r", "q", NULL}, *q[] = {"q", NULL};
  assert_ok(roster_socketio_emit(f.io, &(roster_socketio_target){.rooms = rq},
                                 "rq", NULL, NULL, 0, &sent));
  assert_int_equal(sent, 2);
  assert_ok(roster_socketio_emit(
      f.io, &(roster_socketio_target){.rooms = rq, .except = q}, "not-q", NULL,
      NULL, 0, &sent));
  assert_int_equal(sent, 1);
  assert_ok(roster_socketio_emit(f.io, &(roster_socketio_target){.except = q},
                                 "all-but-q", NULL, NULL, 0, &sent));
  assert_int_equal(sent, 2);
  assert_ok(roster_socketio_emit(f.io, NULL, "all", NULL, NULL, 0, NULL));
  assert_string_equal(next_event(c[0], ev, sizeof ev), "rq");
  assert_string_equal(next_event(c[0], ev, sizeof ev), "all");
  assert_string_equal(next_event(c[1], ev, sizeof ev), "rq");
  assert_string_equal(next_event(c[1], ev, sizeof ev), "not-q");
  assert_string_equal(next_event(c[1], ev, sizeof ev), "all-but-q");
  assert_string_equal(next_event(c[1], ev, sizeof ev), "all");
  assert_string_equal(next_event(c[2], ev, sizeof ev), "all-but-q");
  assert_string_equal(next_event(c[2], ev, sizeof ev), "all");
  /* leave; then a disconnect leaves every room at once */
  cli_send(c[1], "423[\"leave\",\"r\"]");
  cli_expect_free(c[1], "433[]");
  assert_ok(roster_lookup(rooms, "/", "r", inst, 4, &count));
  assert_int_equal(count, 1);
  close(c[0]);
  tu_wait_until(!roster_has(rooms, "/", "r") && !roster_has(rooms, "/", "q"),
                3000);
  assert_false(roster_has(rooms, "/", "r"));
  assert_false(roster_has(rooms, "/", "q"));
  assert_int_equal(stats(&f).rooms, 0);
  assert_int_equal(roster_count(rooms, ROSTER_SOCKETIO_ALL_NS), 2);
  /* server-side join from this thread */
  roster_socketio_socket *s = last();
  assert_ok(roster_socketio_socket_join(s, "late"));
  assert_true(roster_socketio_socket_in(s, "late"));
  assert_true(roster_socketio_socket_in(s, roster_socketio_socket_id(s)));
  assert_rc(roster_socketio_socket_join(s, ""), ROSTER_EINVAL);
  assert_ok(roster_socketio_emit_room(f.io, "late", "late", NULL));
  assert_string_equal(next_event(c[2], ev, sizeof ev), "late");
  /* to one socket by its id room */
  const char *id[] = {roster_socketio_socket_id(s), NULL};
  assert_ok(roster_socketio_emit(f.io, &(roster_socketio_target){.rooms = id},
                                 "you", NULL, NULL, 0, &sent));
  assert_int_equal(sent, 1);
  assert_string_equal(next_event(c[2], ev, sizeof ev), "you");
  roster_socketio_socket_release(s);
  close(c[1]);
  close(c[2]);
  teardown(&f);
}

static void t_volatile_and_slow_consumer(void **state) {
  (void)state;
  fixture f;
  setup_with(&f, &(roster_socketio_options){.max_queue = 64 * 1024,
                                            .slow_timeout_ms = 60000});
  int fd = cli_connect(f.port);
  int small = 1024; /* a small receive buffer fills sooner */
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  char *big = malloc(60001);
  memset(big, 'x', 60000);
  big[60000] = '\0';
  json_t *args = json_pack("[s]", big);
  /* volatile emits past the bound drop; the connection stays */
  uint64_t dropped = 0;
  for (int i = 0; i < 2000 && !dropped; i++) {
    assert_ok(roster_socketio_emit(
        f.io, &(roster_socketio_target){.is_volatile = true}, "v", args, NULL,
        0, NULL));
    dropped = stats(&f).dropped;
  }
  assert_true(dropped > 0);
  assert_int_equal(stats(&f).sockets, 1);
  assert_int_equal(stats(&f).slow_consumers, 0);
  /* one that cannot be dropped ends the connection */
  for (int i = 0; i < 2000 && !stats(&f).slow_consumers; i++)
    assert_ok(roster_socketio_emit(f.io, NULL, "must", args, NULL, 0, NULL));
  assert_int_equal(stats(&f).slow_consumers, 1);
  assert_eventually_equal(stats(&f).sockets, 0, 3000);
  assert_int_equal(roster__tu_log_count(&g_log, "disconnect:transport error"),
                   1);
  /* over max_payload: refused whole */
  json_t *huge = json_array();
  char *hb = malloc(1000001);
  memset(hb, 'y', 1000000);
  hb[1000000] = '\0';
  json_array_append_new(huge, json_string(hb));
  assert_rc(roster_socketio_emit(f.io, NULL, "huge", huge, NULL, 0, NULL),
            ROSTER_ERANGE);
  json_decref(huge);
  free(hb);
  json_decref(args);
  free(big);
  close(fd);
  teardown(&f);
}

static void t_connect_timeout(void **state) {
  (void)state;
  fixture f;
  setup_with(&f, &(roster_socketio_options){.connect_timeout_ms = 300});
  int idle = cli_open(f.port); /* a session, in no namespace */
  int fd = cli_connect(f.port);
  assert_true(hc_closed(idle, 3000));
  /* the connected one stays: it still answers after the deadline */
  roster__tu_sleep_ms(400);
  cli_send(fd, "421[\"echo\",1]");
  cli_expect_free(fd, "431[1]");
  close(idle);
  close(fd);
  teardown(&f);
}

static void t_disconnect_and_stop(void **state) {
  (void)state;
  fixture f;
  setup(&f);
  int fd = cli_connect(f.port);
  roster_socketio_socket *s = last();
  assert_ok(roster_socketio_socket_disconnect(s, false));
  cli_expect_free(fd, "41");
  assert_int_equal(
      roster__tu_log_count(&g_log, "disconnect:server namespace disconnect"),
      1);
  assert_ok(roster_socketio_socket_disconnect(s, false)); /* again: no-op */
  assert_int_equal(
      roster__tu_log_count(&g_log, "disconnect:server namespace disconnect"),
      1);
  roster_socketio_socket_release(s);
  /* the connection stays: connect again on it */
  cli_send(fd, "40");
  cli_expect_free(fd, "40{\"sid\":\"");
  int fd2 = cli_connect(f.port);
  assert_ok(roster_socketio_stop(f.io, 2000));
  /* no DISCONNECT (the client reconnects, as after socket.io's close()):
   * the next frame is the close */
  assert_int_equal(hc_ws_close_code(fd), 1001);
  assert_int_equal(hc_ws_close_code(fd2), 1001);
  assert_int_equal(
      roster__tu_log_count(&g_log, "disconnect:server shutting down"), 2);
  assert_rc(roster_socketio_health(f.io), ROSTER_ESTATE);
  assert_ok(roster_socketio_stop(f.io, 0)); /* twice: fine */
  assert_rc(roster_socketio_start(f.io), ROSTER_ESTATE);
  close(fd);
  close(fd2);
  teardown(&f);
}

/* t_threads: emits, joins and leaves from several threads while clients
 * connect and leave: every client gets every emit meant for all. */
typedef struct {
  roster_socketio *io;
  int n;
} emitter;

static void *emit_main(void *arg) {
  emitter *e = arg;
  json_t *args = json_pack("[i]", 1);
  for (int i = 0; i < e->n; i++) {
    roster_socketio_emit(e->io, NULL, "tick", args, NULL, 0, NULL);
    const char *r[] = {"nobody-here", NULL};
    roster_socketio_emit(e->io, &(roster_socketio_target){.rooms = r}, "x",
                         args, NULL, 0, NULL);
  }
  json_decref(args);
  return NULL;
}

static void t_threads(void **state) {
  (void)state;
  fixture f;
  setup(&f);
  int c[4];
  for (int i = 0; i < 4; i++)
    c[i] = cli_connect(f.port);
  pthread_t t[3];
  emitter e = {f.io, 200};
  for (int i = 0; i < 3; i++)
    assert_int_equal(pthread_create(&t[i], NULL, emit_main, &e), 0);
  /* a fifth client comes and goes meanwhile */
  int extra = cli_connect(f.port);
  close(extra);
  for (int i = 0; i < 3; i++)
    pthread_join(t[i], NULL);
  char ev[32];
  for (int k = 0; k < 4; k++)
    for (int i = 0; i < 600; i++)
      assert_string_equal(next_event(c[k], ev, sizeof ev), "tick");
  for (int i = 0; i < 4; i++)
    close(c[i]);
  teardown(&f);
}

/* ---- the log sink ------------------------------------------------------- */

static void t_log_sink(void **state) {
  (void)state;
  fixture f;
  setup(&f);
  roster_log *log = NULL;
  assert_ok(roster_log_new(
      &(roster_log_options){.level = ROSTER_LOG_INFO, .nsinks = 0}, &log));
  uint64_t id = 0;
  assert_ok(roster_socketio_log_sink(f.io, log, ROSTER_LOG_WARN, NULL, "ops",
                                     NULL, &id));
  int fd = cli_connect(f.port), other = cli_connect(f.port);
  cli_send(fd, "421[\"join\",\"ops\"]");
  cli_expect_free(fd, "431[]");
  assert_ok(roster_log_write(log, ROSTER_LOG_INFO, NULL, 0, "quiet"));
  assert_ok(roster_log_write(log, ROSTER_LOG_WARN, NULL, 0, "loud"));
  char *s = cli_expect(fd, "42[\"log\",{\"level\":\"warn\",\"line\":");
  assert_contains(s, "loud");
  free(s);
  /* the client not in the room got nothing: its next frame is a marker */
  assert_ok(roster_socketio_emit(f.io, NULL, "marker", NULL, NULL, 0, NULL));
  char ev[32];
  assert_string_equal(next_event(other, ev, sizeof ev), "marker");
  assert_rc(roster_socketio_log_sink(f.io, log, ROSTER_LOG_WARN, NULL, "", NULL,
                                     NULL),
            ROSTER_EINVAL);
  assert_ok(roster_log_sink_remove(log, id));
  roster_log_free(log);
  close(fd);
  close(other);
  teardown(&f);
}

/* ---- the driver --------------------------------------------------------- */

static void t_driver(void **state) {
  (void)state;
  assert_ok(roster_socketio_init());
  roster *r = tu_registry(NULL);
  int fp = roster__tu_free_port();
  assert_true(fp > 0);
  uint16_t port = (uint16_t)fp;
  char url[128];
  snprintf(url, sizeof url, "socketio://127.0.0.1:%u/rt?ping_interval=1000",
           port);
  assert_ok(roster_provide_url(r, NULL, "rt", url, NULL));
  assert_ok(roster_provide_url(r, NULL, "rt", url, NULL)); /* same: fine */
  assert_rc(roster_provide_url(r, NULL, "bad", "socketio://127.0.0.1/x", NULL),
            ROSTER_EINVAL);
  assert_rc(roster_provide_url(r, NULL, "bad",
                               "socketio://127.0.0.1:1/x?pong=1", NULL),
            ROSTER_EINVAL);
  assert_rc(roster_provide_url(r, NULL, "bad",
                               "socketio://127.0.0.1:1/x?max_payload=-5", NULL),
            ROSTER_EINVAL);
  assert_ok(roster_start(r, 10000));
  roster_socketio *io = NULL;
  assert_ok(roster_socketio_find(r, NULL, "rt", &io));
  assert_ok(roster_socketio_health(io));
  assert_int_equal(roster_socketio_port(io), port);
  int fd = hc_ws_open(port, "/rt/?EIO=4&transport=websocket", NULL, NULL);
  assert_true(fd >= 0);
  char *open = cli_expect(fd, "0{\"sid\":");
  assert_contains(open, "\"pingInterval\":1000");
  free(open);
  cli_send(fd, "40");
  cli_expect_free(fd, "40{\"sid\":\"");
  assert_eventually_equal(({
                            roster_socketio_stats st;
                            roster_socketio_stats_get(io, &st);
                            st.sockets;
                          }),
                          1, 3000);
  close(fd);
  assert_ok(roster_shutdown(r, 5000));
  roster_free(r);
  /* registered by hand and unregistered: destroy runs on the reclaim
   * thread, stops the server and frees it without waiting on itself */
  r = tu_registry(NULL);
  roster_socketio *mine = NULL;
  assert_ok(roster_socketio_new(NULL, &mine));
  assert_ok(roster_socketio_start(mine));
  uint16_t p2 = roster_socketio_port(mine);
  assert_ok(roster_register(r, NULL, "mine", &roster_socketio_type, mine));
  assert_ok(roster_socketio_find(r, NULL, "mine", &io));
  assert_ptr_equal(io, mine);
  assert_ok(roster_unregister(r, NULL, "mine"));
  roster_reclaim_wait();
  int gone = hc_connect(p2);
  assert_int_equal(gone, -1); /* stopped: nothing listens */
  roster_free(r);
  roster__tu_sleep_ms(200); /* the free's own thread ends */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_connect_event_ack),
      cmocka_unit_test(t_namespaces_and_middleware),
      cmocka_unit_test(t_server_acks),
      cmocka_unit_test(t_binary),
      cmocka_unit_test(t_rooms_and_broadcast),
      cmocka_unit_test(t_volatile_and_slow_consumer),
      cmocka_unit_test(t_connect_timeout),
      cmocka_unit_test(t_disconnect_and_stop),
      cmocka_unit_test(t_threads),
      cmocka_unit_test(t_log_sink),
      cmocka_unit_test(t_driver),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
