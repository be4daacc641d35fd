/*
 * sio_interop.c: the real socket.io-client (npm, 4.8 in tests/interop)
 * against roster's Socket.IO server. This program serves namespaces "/"
 * and "/admin" (middleware checks the auth token), with handlers the
 * script drives, and runs sio_interop.mjs with the server's URL. The
 * script connects over polling only, WebSocket only and polling then
 * upgrade, asks this side for what it checks (echoes, acks both ways,
 * binary, rooms and broadcasts, disconnects), asks for a restart (this
 * side stops the server and serves again on the same port), and ends
 * with 1,000 WebSocket clients receiving one broadcast. This side checks
 * the stats and the reasons on_disconnect was given.
 *
 * Skipped (77) when node or socket.io-client is missing, unless
 * ROSTER_TEST_REQUIRE_SERVERS=1 (as in scripts/test.sh), which makes it
 * fail instead.
 */
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <roster/socketio.h>

extern char **environ;

/* The script's clients: 1,000 at once, over WebSocket. */
#define MANY 1000
/* Transport cases of the script: polling, websocket, upgrade. */
#define CASES 3

static char interop_dir[1024];
static roster_socketio *g_io;   /* the server serving now (main only) */
static atomic_int g_gen;        /* 0: the first server, 1: after the restart */
static atomic_int g_restart;    /* the script asked for a restart */
static atomic_int g_errors;     /* calls that failed in handlers */
static atomic_long g_events[2]; /* events the handlers took, per server */

/* ---- counts by name (a handler may run on any thread) ---- */

#define COUNTS_MAX 64
static struct {
  pthread_mutex_t mu;
  int n;
  struct {
    char key[128];
    long n;
  } c[COUNTS_MAX];
} g_counts = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void count_add(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static void count_add(const char *fmt, ...) {
  char key[128];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(key, sizeof key, fmt, ap);
  va_end(ap);
  pthread_mutex_lock(&g_counts.mu);
  int i = 0;
  while (i < g_counts.n && strcmp(g_counts.c[i].key, key) != 0)
    i++;
  if (i == g_counts.n && i < COUNTS_MAX) {
    snprintf(g_counts.c[i].key, sizeof g_counts.c[i].key, "%s", key);
    g_counts.n++;
  }
  if (i < COUNTS_MAX)
    g_counts.c[i].n++;
  pthread_mutex_unlock(&g_counts.mu);
}

static long count_get(const char *key) {
  long n = 0;
  pthread_mutex_lock(&g_counts.mu);
  for (int i = 0; i < g_counts.n; i++)
    if (strcmp(g_counts.c[i].key, key) == 0)
      n = g_counts.c[i].n;
  pthread_mutex_unlock(&g_counts.mu);
  return n;
}

static void counts_dump(void) {
  pthread_mutex_lock(&g_counts.mu);
  for (int i = 0; i < g_counts.n; i++)
    print_message("  %s: %ld\n", g_counts.c[i].key, g_counts.c[i].n);
  pthread_mutex_unlock(&g_counts.mu);
}

/* check_rc records a failed call of a handler (cmocka asserts only on the
 * test's thread; main asserts g_errors == 0 at the end). */
static void check_rc(int rc, const char *what) {
  if (rc != ROSTER_OK) {
    fprintf(stderr, "sio_interop: %s: %s (%s)\n", what, roster_err_name(rc),
            roster_last_error());
    atomic_fetch_add(&g_errors, 1);
  }
}

/* ---- middleware and handlers: the I/O thread unless said ---- */

/* need_token: arg is the token the namespace wants in auth.token. */
static int need_token(roster_socketio_socket *s, const json_t *auth,
                      char *message, size_t cap, void *arg) {
  (void)s;
  const char *want = arg;
  const char *got = json_string_value(json_object_get(auth, "token"));
  if (got && strcmp(got, want) == 0)
    return 0;
  snprintf(message, cap, "%s",
           strcmp(want, "secret") == 0 ? "bad token" : "admin only");
  return 1;
}

/* on_connect: joins auth.room when given, then says welcome with what
 * the server knows of the socket. */
static void on_connect(roster_socketio_socket *s, void *arg) {
  (void)arg;
  const json_t *auth = roster_socketio_socket_auth(s);
  const char *room = json_string_value(json_object_get(auth, "room"));
  if (room)
    check_rc(roster_socketio_socket_join(s, room), "join auth.room");
  count_add("g%d:connect:%s", atomic_load(&g_gen),
            roster_socketio_socket_nsp(s));
  const char *who = json_string_value(json_object_get(auth, "who"));
  if (who)
    count_add("g%d:connect:%s:%s", atomic_load(&g_gen),
              roster_socketio_socket_nsp(s), who);
  json_t *args = json_pack(
      "[{s:s,s:s,s:s,s:o}]", "id", roster_socketio_socket_id(s), "nsp",
      roster_socketio_socket_nsp(s), "transport",
      roster_socketio_socket_transport(s), "auth", json_deep_copy(auth));
  check_rc(roster_socketio_socket_emit(s, "welcome", args, NULL, 0),
           "emit welcome");
  json_decref(args);
}

/* on_disconnect: any thread. */
static void on_disconnect(roster_socketio_socket *s, const char *reason,
                          void *arg) {
  (void)arg;
  count_add("g%d:disconnect:%s:%s", atomic_load(&g_gen),
            roster_socketio_socket_nsp(s), reason);
  const char *who =
      json_string_value(json_object_get(roster_socketio_socket_auth(s), "who"));
  if (who)
    count_add("g%d:gone:%s", atomic_load(&g_gen), who);
}

/* echo: answers the ack with the same arguments and attachments, or
 * emits them back as "echo" when the client asks for no ack. */
static void on_echo(roster_socketio_socket *s, const roster_socketio_event *ev,
                    void *arg) {
  (void)arg;
  if (ev->ack_id >= 0)
    check_rc(roster_socketio_ack(s, ev->ack_id, ev->args, ev->bins, ev->nbin),
             "ack echo");
  else
    check_rc(
        roster_socketio_socket_emit(s, "echo", ev->args, ev->bins, ev->nbin),
        "emit echo");
}

static json_t *placeholder(int num) {
  return json_pack("{s:b,s:i}", "_placeholder", 1, "num", num);
}

/* binary: emits "bin" [{x: b0, y: [b1, {z: b0}], n: 2}], b0 the bytes
 * 0..255 and b1 de ad be ef: nested, and one attachment named twice. */
static void on_binary(roster_socketio_socket *s,
                      const roster_socketio_event *ev, void *arg) {
  (void)ev, (void)arg;
  static unsigned char b0[256];
  static const unsigned char b1[] = {0xde, 0xad, 0xbe, 0xef};
  for (int i = 0; i < 256; i++)
    b0[i] = (unsigned char)i;
  roster_socketio_bin bins[] = {{b0, sizeof b0}, {b1, sizeof b1}};
  json_t *args = json_pack("[{s:o,s:[o,{s:o}],s:i}]", "x", placeholder(0), "y",
                           placeholder(1), "z", placeholder(0), "n", 2);
  check_rc(roster_socketio_socket_emit(s, "bin", args, bins, 2), "emit bin");
  json_decref(args);
}

/* join / leave: [room] -> ack [in the room now]. */
static void on_room(roster_socketio_socket *s, const roster_socketio_event *ev,
                    void *arg) {
  bool join = arg != NULL;
  const char *room = json_string_value(json_array_get(ev->args, 0));
  int rc = join ? roster_socketio_socket_join(s, room)
                : roster_socketio_socket_leave(s, room);
  check_rc(rc, join ? "join" : "leave");
  json_t *a = json_pack("[b]", roster_socketio_socket_in(s, room));
  check_rc(roster_socketio_ack(s, ev->ack_id, a, NULL, 0), "ack join");
  json_decref(a);
}

/* strings: the strings of a JSON array into out (NULL-terminated). */
static const char *const *strings(const json_t *a, const char **out,
                                  size_t cap) {
  if (!json_is_array(a))
    return NULL;
  size_t i = 0;
  for (; i < json_array_size(a) && i + 1 < cap; i++)
    out[i] = json_string_value(json_array_get(a, i));
  out[i] = NULL;
  return out;
}

static json_t *stats_json(roster_socketio *io) {
  roster_socketio_stats st;
  check_rc(roster_socketio_stats_get(io, &st), "stats");
  return json_pack(
      "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "connections",
      (json_int_t)st.connections, "connections_total",
      (json_int_t)st.connections_total, "sockets", (json_int_t)st.sockets,
      "sockets_total", (json_int_t)st.sockets_total, "refused",
      (json_int_t)st.refused, "rooms", (json_int_t)st.rooms, "packets_in",
      (json_int_t)st.packets_in, "packets_out", (json_int_t)st.packets_out,
      "dropped", (json_int_t)st.dropped, "acks_timed_out",
      (json_int_t)st.acks_timed_out);
}

/* broadcast: [{event, data, nsp, rooms, except, volatile}] -> emit to
 * that target; ack [{sent, dropped}] (dropped: the stats' count after). */
static void on_broadcast(roster_socketio_socket *s,
                         const roster_socketio_event *ev, void *arg) {
  (void)arg;
  const json_t *o = json_array_get(ev->args, 0);
  const char *rooms[9], *except[9];
  roster_socketio_target to = {
      .nsp = json_string_value(json_object_get(o, "nsp")),
      .rooms = strings(json_object_get(o, "rooms"), rooms, 9),
      .except = strings(json_object_get(o, "except"), except, 9),
      .is_volatile = json_is_true(json_object_get(o, "volatile")),
  };
  json_t *data = json_pack("[O]", json_object_get(o, "data"));
  size_t sent = 0;
  check_rc(roster_socketio_emit(roster_socketio_socket_server(s), &to,
                                json_string_value(json_object_get(o, "event")),
                                data, NULL, 0, &sent),
           "broadcast");
  json_decref(data);
  json_t *a = json_pack("[{s:I}]", "sent", (json_int_t)sent);
  check_rc(roster_socketio_ack(s, ev->ack_id, a, NULL, 0), "ack broadcast");
  json_decref(a);
}

/* on_answer: the client's answer to "ask"'s emit; on the I/O thread, the
 * timer thread (a timeout) or the thread that ended the socket. Tells the
 * client what came as "answer" [{rc, args}] with the attachments. */
static void on_answer(roster_socketio_socket *s, int rc, const json_t *args,
                      const roster_socketio_bin *bins, size_t nbin, void *arg) {
  (void)arg;
  count_add("g%d:answer:%s", atomic_load(&g_gen), roster_err_name(rc));
  if (rc == ROSTER_ESTATE)
    return;
  json_t *a = json_pack("[{s:s,s:O?}]", "rc",
                        rc == ROSTER_OK          ? "ok"
                        : rc == ROSTER_ETIMEDOUT ? "timeout"
                                                 : roster_err_name(rc),
                        "args", args);
  check_rc(roster_socketio_socket_emit(s, "answer", a, bins, nbin),
           "emit answer");
  json_decref(a);
}

/* ask: [{event, timeout, data}] -> emit event [data] with an ack. */
static void on_ask(roster_socketio_socket *s, const roster_socketio_event *ev,
                   void *arg) {
  (void)arg;
  const json_t *o = json_array_get(ev->args, 0);
  json_t *data = json_pack("[O]", json_object_get(o, "data"));
  check_rc(roster_socketio_socket_emit_ack(
               s, json_string_value(json_object_get(o, "event")), data, NULL, 0,
               (int64_t)json_number_value(json_object_get(o, "timeout")),
               on_answer, NULL),
           "emit_ack");
  json_decref(data);
}

/* whoami: ack [{id, nsp, transport, stats}]. */
static void on_whoami(roster_socketio_socket *s,
                      const roster_socketio_event *ev, void *arg) {
  (void)arg;
  json_t *a = json_pack(
      "[{s:s,s:s,s:s,s:o,s:i}]", "id", roster_socketio_socket_id(s), "nsp",
      roster_socketio_socket_nsp(s), "transport",
      roster_socketio_socket_transport(s), "stats",
      stats_json(roster_socketio_socket_server(s)), "gen", atomic_load(&g_gen));
  check_rc(roster_socketio_ack(s, ev->ack_id, a, NULL, 0), "ack whoami");
  json_decref(a);
}

static void on_kick(roster_socketio_socket *s, const roster_socketio_event *ev,
                    void *arg) {
  (void)ev, (void)arg;
  check_rc(roster_socketio_socket_disconnect(s, false), "disconnect");
}

/* kick-all: ends the socket and its whole connection. */
static void on_kick_all(roster_socketio_socket *s,
                        const roster_socketio_event *ev, void *arg) {
  (void)ev, (void)arg;
  check_rc(roster_socketio_socket_disconnect(s, true), "disconnect all");
}

typedef struct thread_job {
  roster_socketio_socket *s; /* acquired */
  int64_t ack_id;
} thread_job;

/* thread_main: another thread than the server's joins a room, emits to
 * it, leaves it, and answers the ack. */
static void *thread_main(void *p) {
  thread_job *j = p;
  roster__tu_sleep_ms(20);
  check_rc(roster_socketio_socket_join(j->s, "threaded"), "thread join");
  bool in = roster_socketio_socket_in(j->s, "threaded");
  const char *const rooms[] = {"threaded", NULL};
  json_t *a = json_pack("[s]", roster_socketio_socket_id(j->s));
  size_t sent = 0;
  check_rc(roster_socketio_emit(roster_socketio_socket_server(j->s),
                                &(roster_socketio_target){.rooms = rooms},
                                "threaded", a, NULL, 0, &sent),
           "thread emit");
  json_decref(a);
  if (sent != 1)
    check_rc(ROSTER_ERANGE, "thread emit: sent to other than 1 socket");
  check_rc(roster_socketio_socket_leave(j->s, "threaded"), "thread leave");
  a = json_pack("[b]", in);
  check_rc(roster_socketio_ack(j->s, j->ack_id, a, NULL, 0), "thread ack");
  json_decref(a);
  roster_socketio_socket_release(j->s);
  free(j);
  return NULL;
}

/* from-thread: hands the socket to a thread of its own. */
static void on_from_thread(roster_socketio_socket *s,
                           const roster_socketio_event *ev, void *arg) {
  (void)arg;
  thread_job *j = malloc(sizeof *j);
  pthread_t t;
  if (!j) {
    check_rc(ROSTER_ENOMEM, "from-thread");
    return;
  }
  *j = (thread_job){roster_socketio_socket_acquire(s), ev->ack_id};
  if (pthread_create(&t, NULL, thread_main, j) != 0) {
    check_rc(ROSTER_ESYS, "pthread_create");
    roster_socketio_socket_release(j->s);
    free(j);
    return;
  }
  pthread_detach(t);
}

/* restart: main stops this server and serves again on its port. */
static void on_restart(roster_socketio_socket *s,
                       const roster_socketio_event *ev, void *arg) {
  (void)s, (void)ev, (void)arg;
  atomic_store(&g_restart, 1);
}

/* on_any: the catch-all, for the events no handler above takes. */
static void on_any(roster_socketio_socket *s, const roster_socketio_event *ev,
                   void *arg) {
  (void)arg;
  count_add("g%d:unhandled:%s:%s", atomic_load(&g_gen),
            roster_socketio_socket_nsp(s), ev->name);
}

static void count_event(roster_socketio_socket *s,
                        const roster_socketio_event *ev, void *arg) {
  (void)s, (void)ev, (void)arg;
  atomic_fetch_add(&g_events[atomic_load(&g_gen)], 1);
}

static const struct {
  const char *event;
  roster_socketio_event_fn fn;
  void *arg;
} handlers[] = {
    {"echo", on_echo, NULL},
    {"binary", on_binary, NULL},
    {"join", on_room, "join"},
    {"leave", on_room, NULL},
    {"broadcast", on_broadcast, NULL},
    {"ask", on_ask, NULL},
    {"whoami", on_whoami, NULL},
    {"kick", on_kick, NULL},
    {"restart", on_restart, NULL},
    {"kick-all", on_kick_all, NULL},
    {"from-thread", on_from_thread, NULL},
};

/* serve makes, sets up and starts a server on port (0: any). */
static roster_socketio *serve(uint16_t port) {
  roster_socketio *io = NULL;
  roster_socketio_options o = {
      .port = port,
      .max_connections = MANY + 200,
      /* the script stays idle past pingInterval on each transport; the
       * timeout leaves room for node busy opening 1,000 clients */
      .ping_interval_ms = 1000,
      .ping_timeout_ms = 10000,
  };
  /* The port of a stopped server may take a moment to be free. */
  for (int i = 0; i < 200; i++) {
    int rc = roster_socketio_new(&o, &io);
    if (rc == ROSTER_OK)
      break;
    assert_rc(rc, ROSTER_ESYS);
    roster__tu_sleep_ms(10);
  }
  assert_non_null(io);
  static const char *const nsps[] = {"/", "/admin"};
  static char token[] = "secret", admin_token[] = "admin-secret";
  for (int n = 0; n < 2; n++) {
    roster_socketio_nsp *nsp;
    assert_ok(roster_socketio_of(io, nsps[n], &nsp));
    assert_string_equal(roster_socketio_nsp_name(nsp), nsps[n]);
    assert_ok(roster_socketio_use(nsp, need_token, n ? admin_token : token));
    assert_ok(roster_socketio_on_connect(nsp, on_connect, NULL));
    assert_ok(roster_socketio_on_disconnect(nsp, on_disconnect, NULL));
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++) {
      assert_ok(roster_socketio_on(nsp, handlers[i].event, count_event, NULL));
      assert_ok(roster_socketio_on(nsp, handlers[i].event, handlers[i].fn,
                                   handlers[i].arg));
    }
    assert_ok(roster_socketio_on(nsp, NULL, on_any, NULL));
  }
  assert_ok(roster_socketio_start(io));
  /* t_health_after_start asserts health right after the start */
  tu_wait_until(roster_socketio_health(io) == ROSTER_OK, 2000);
  assert_ok(roster_socketio_health(io));
  return io;
}

static bool peers_available(void) {
  char p[1200];
  snprintf(p, sizeof p, "%s/node_modules/socket.io-client/package.json",
           interop_dir);
  if (access(p, R_OK) == 0)
    return true;
  const char *req = getenv("ROSTER_TEST_REQUIRE_SERVERS");
  if (req && strcmp(req, "1") == 0) {
    fprintf(stderr,
            "socket.io-client is missing under %s and "
            "ROSTER_TEST_REQUIRE_SERVERS=1 (run scripts/npm.sh)\n",
            interop_dir);
    exit(1);
  }
  fprintf(stderr, "skipping: the Node.js peers are missing (run "
                  "scripts/npm.sh)\n");
  return false;
}

/* raise_nofile: MANY clients take 2 descriptors each (this side's and
 * node's, which inherits the limit). */
static void raise_nofile(void) {
  struct rlimit rl;
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
  rlim_t want = 4 * MANY + 512;
  if (rl.rlim_cur < want) {
    rl.rlim_cur =
        rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
  }
  if (rl.rlim_cur < 2 * MANY + 256) {
    print_error("RLIMIT_NOFILE is %llu, too low for %d clients\n",
                (unsigned long long)rl.rlim_cur, MANY);
    fail();
  }
}

/* restart_if_asked: while the script runs, restarts the server on the
 * same port when the script asks (once); first gets the first server's
 * last stats. */
typedef struct restart_ctx {
  uint16_t port;
  roster_socketio_stats *first;
} restart_ctx;

static void restart_if_asked(void *arg) {
  restart_ctx *c = arg;
  if (!atomic_exchange(&g_restart, 0))
    return;
  assert_int_equal(atomic_load(&g_gen), 0);
  assert_ok(roster_socketio_stop(g_io, 2000));
  assert_rc(roster_socketio_health(g_io), ROSTER_ESTATE);
  assert_ok(roster_socketio_stats_get(g_io, c->first));
  roster_socketio_free(g_io);
  atomic_store(&g_gen, 1);
  g_io = serve(c->port);
  assert_int_equal(roster_socketio_port(g_io), c->port);
}

/* run_node runs the script; restarts the server when it asks; returns its
 * wait status. */
static int run_node(uint16_t port, roster_socketio_stats *first) {
  char url[64], script[1200];
  snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)port);
  snprintf(script, sizeof script, "%s/sio_interop.mjs", interop_dir);
  char *argv[] = {"node", script, url, NULL};
  pid_t pid;
  int err = posix_spawnp(&pid, "node", NULL, NULL, argv, environ);
  if (err != 0) {
    print_error("cannot run node: %s\n", strerror(err));
    fail();
  }
  restart_ctx c = {.port = port, .first = first};
  return roster__tu_wait_child(pid, 90, "sio_interop.mjs", restart_if_asked,
                               &c);
}

static void t_socketio_client(void **state) {
  (void)state;
  raise_nofile();
  g_io = serve(0);
  uint16_t port = roster_socketio_port(g_io);
  assert_true(port != 0);
  roster_socketio_stats first = {0}, second = {0};
  int st = run_node(port, &first);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    counts_dump();
    print_error("sio_interop.mjs failed (status %d)\n", st);
    fail();
  }
  assert_int_equal(atomic_load(&g_gen), 1);
  assert_int_equal(atomic_load(&g_errors), 0);

  /* The first server, stopped: nothing open; per case one refusal by the
   * middleware of "/" and of "/admin" and one unknown namespace; one
   * ack timed out per case. */
  assert_int_equal(first.connections, 0);
  assert_int_equal(first.sockets, 0);
  assert_int_equal(first.rooms, 0);
  assert_int_equal(first.refused, 3 * CASES);
  assert_int_equal(first.acks_timed_out, CASES);
  assert_int_equal(count_get("g0:answer:ETIMEDOUT"), CASES);
  assert_int_equal(count_get("g0:answer:OK"), CASES);
  /* per case: A, B, C, X, O on "/" and admin, Y on "/admin"; then R, which
   * asks for the restart, and P (polling) */
  assert_int_equal(first.sockets_total, 7 * CASES + 2);
  assert_int_equal(count_get("g0:connect:/"), 5 * CASES + 2);
  assert_int_equal(count_get("g0:connect:/admin"), 2 * CASES);
  static const char *const who[] = {"A", "B", "C", "X", "O"};
  for (int i = 0; i < 5; i++) {
    char key[32];
    snprintf(key, sizeof key, "g0:connect:/:%s", who[i]);
    assert_int_equal(count_get(key), CASES);
    snprintf(key, sizeof key, "g0:gone:%s", who[i]);
    assert_int_equal(count_get(key), CASES);
  }
  assert_int_equal(count_get("g0:connect:/:R"), 1);
  assert_int_equal(count_get("g0:connect:/:P"), 1);
  /* every event handled, and a CONNECT per socket, came in packets */
  assert_true(first.packets_in >=
              (uint64_t)atomic_load(&g_events[0]) + first.sockets_total);
  assert_true(first.packets_out > first.packets_in);
  assert_true(first.bytes_in > 0 && first.bytes_out > first.bytes_in);
  /* A and B leave, C is kicked, X is kicked with its connection (and Y
   * with it), the admin socket leaves; the restart ends the last one */
  assert_int_equal(count_get("g0:disconnect:/:client namespace disconnect"),
                   2 * CASES);
  assert_int_equal(count_get("g0:disconnect:/:server namespace disconnect"),
                   2 * CASES);
  assert_int_equal(
      count_get("g0:disconnect:/admin:client namespace disconnect"), CASES);
  assert_int_equal(
      count_get("g0:disconnect:/admin:server namespace disconnect"), CASES);
  assert_int_equal(count_get("g0:disconnect:/:server shutting down"), 2);
  assert_int_equal(count_get("g0:unhandled:/:nobody"), CASES);

  /* The second server: R and P again, and MANY more, all gone. */
  tu_wait_until(roster_socketio_stats_get(g_io, &second) == ROSTER_OK &&
                    second.connections == 0,
                5000);
  assert_ok(roster_socketio_stats_get(g_io, &second));
  assert_int_equal(second.connections, 0);
  assert_int_equal(second.sockets, 0);
  assert_int_equal(second.rooms, 0);
  assert_int_equal(second.sockets_total, MANY + 2);
  assert_int_equal(second.refused, 0);
  /* a welcome, the broadcast and an echo's ack each */
  assert_true(second.packets_out >= MANY * 3);
  assert_true(second.packets_in >=
              (uint64_t)atomic_load(&g_events[1]) + second.sockets_total);
  assert_true(atomic_load(&g_events[1]) >= MANY);
  assert_int_equal(count_get("g1:connect:/"), MANY + 2);
  assert_int_equal(count_get("g1:connect:/:R"), 1); /* once, not again */
  assert_int_equal(count_get("g1:connect:/:P"), 1);
  assert_int_equal(count_get("g1:disconnect:/:client namespace disconnect"),
                   MANY + 2);
  assert_ok(roster_socketio_stop(g_io, 2000));
  roster_socketio_free(g_io);
  g_io = NULL;
  assert_int_equal(atomic_load(&g_errors), 0);
}

/* A server is healthy as soon as roster_socketio_start returns, and no
 * longer once roster_socketio_stop has. */
static void t_health_after_start(void **state) {
  (void)state;
  for (int i = 0; i < 20; i++) {
    roster_socketio *io;
    assert_ok(roster_socketio_new(NULL, &io));
    assert_rc(roster_socketio_health(io), ROSTER_ESTATE);
    assert_ok(roster_socketio_start(io));
    assert_ok(roster_socketio_health(io));
    assert_rc(roster_socketio_start(io), ROSTER_ESTATE);
    assert_ok(roster_socketio_stop(io, 1000));
    assert_rc(roster_socketio_health(io), ROSTER_ESTATE);
    assert_ok(roster_socketio_stop(io, 1000));
    roster_socketio_free(io);
  }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: sio_interop <tests/interop dir>\n");
    return 2;
  }
  snprintf(interop_dir, sizeof interop_dir, "%s", argv[1]);
  if (!peers_available())
    return 77;
  const struct CMUnitTest tests[] = {cmocka_unit_test(t_health_after_start),
                                     cmocka_unit_test(t_socketio_client)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
