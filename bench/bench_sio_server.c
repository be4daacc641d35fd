/*
 * bench_sio_server.c: roster's side of roster-bench-sio, run as a process
 * of its own (roster-bench-sio --serve-roster) so that its memory is its
 * own. The same contract as bench/sio_server.js (Node's socket.io): a
 * server on 127.0.0.1 (any port), path /socket.io/; 'go' broadcasts 'msg'
 * with one 100-byte string to every socket of "/" (encoded once by
 * roster_socketio_emit); 'echo' answers its ack with its own arguments.
 * The connection limit is raised to what the file descriptors allow (the
 * benchmark raises RLIMIT_NOFILE before it starts the servers).
 *
 * Built with the server when the socketio module is (ROSTER_BENCH_SIO_SERVER,
 * set by bench/CMakeLists.txt); otherwise bench_sio_have_roster is false
 * and the program has no roster rows.
 *
 * --serve-roster-redis URL: two such servers in the process, each with
 * the Redis adapter (roster/sio_redis.h) on a key of its own; the one it
 * prints serves the clients, and its 'go' makes the other one (which has
 * no client) broadcast, so that every message reaches the clients through
 * Redis (ROSTER_BENCH_SIO_REDIS, when the sio_redis module is built).
 */
#include "bench_sio.h"

#include <stdio.h>

#ifdef ROSTER_BENCH_SIO_SERVER

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <roster.h>
#include <roster/socketio.h>
#ifdef ROSTER_BENCH_SIO_REDIS
#include <roster/sio_redis.h>
#else
typedef struct roster_redis roster_redis;
#endif

const bool bench_sio_have_roster = true;

static json_t *msg_args; /* ["x...x"], built once */

/* on_go: arg is the server that broadcasts (this one, or the far node) */
static void on_go(roster_socketio_socket *s, const roster_socketio_event *ev,
                  void *arg) {
  (void)ev;
  roster_socketio *io = arg;
  int rc = roster_socketio_emit(io, NULL, "msg", msg_args, NULL, 0, NULL);
  if (rc != ROSTER_OK)
    fprintf(stderr, "roster-bench-sio server: emit: %s\n", roster_last_error());
  (void)s;
}

static void on_echo(roster_socketio_socket *s, const roster_socketio_event *ev,
                    void *arg) {
  (void)arg;
  if (ev->ack_id >= 0 && roster_socketio_ack(s, ev->ack_id, ev->args, ev->bins,
                                             ev->nbin) != ROSTER_OK)
    fprintf(stderr, "roster-bench-sio server: ack: %s\n", roster_last_error());
}

/* block_stop: SIGTERM and SIGINT blocked (the server's threads inherit
 * it) for sigwait; SIGPIPE ignored. */
static void block_stop(sigset_t *stop) {
  sigemptyset(stop);
  sigaddset(stop, SIGTERM);
  sigaddset(stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, stop, NULL);
  signal(SIGPIPE, SIG_IGN);
}

/* serve_one: a server with 'go' (go_fn, go_arg) and 'echo'; NULL, said,
 * on failure. cli: with its Redis adapter on key. */
static roster_socketio *serve_one(roster_socketio_event_fn go_fn, void *go_arg,
                                  roster_redis *cli, const char *key) {
  struct rlimit rl = {0};
  getrlimit(RLIMIT_NOFILE, &rl);
  unsigned maxc = rl.rlim_cur > 64 ? (unsigned)(rl.rlim_cur - 32) : 32;
  roster_socketio_options o = {.name = "bench", .max_connections = maxc};
  roster_socketio *io = NULL;
  roster_socketio_nsp *nsp = NULL;
  int rc = roster_socketio_new(&o, &io);
  if (rc == ROSTER_OK)
    rc = roster_socketio_of(io, "/", &nsp);
  if (rc == ROSTER_OK)
    rc = roster_socketio_on(nsp, "go", go_fn, go_arg ? go_arg : io);
  if (rc == ROSTER_OK)
    rc = roster_socketio_on(nsp, "echo", on_echo, NULL);
#ifdef ROSTER_BENCH_SIO_REDIS
  roster_sio_redis_options ro = {.key = key};
  if (rc == ROSTER_OK && cli)
    rc = roster_sio_redis_attach(io, cli, &ro, NULL);
#else
  (void)cli;
  (void)key;
#endif
  if (rc == ROSTER_OK)
    rc = roster_socketio_start(io);
  if (rc != ROSTER_OK) {
    fprintf(stderr, "roster-bench-sio server: %s\n", roster_last_error());
    roster_socketio_free(io);
    return NULL;
  }
  return io;
}

static void payload(void) {
  char x[SIO_PAYLOAD_LEN + 1];
  memset(x, 'x', SIO_PAYLOAD_LEN);
  x[SIO_PAYLOAD_LEN] = 0;
  msg_args = json_pack("[s]", x);
}

int bench_sio_serve(void) {
  payload();
  sigset_t stop;
  block_stop(&stop);
  roster_socketio *io = serve_one(on_go, NULL, NULL, NULL);
  if (!io)
    return 1;
  printf("listening %u pid=%ld\n", roster_socketio_port(io), (long)getpid());
  fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  roster_socketio_free(io);
  json_decref(msg_args);
  return 0;
}

#ifdef ROSTER_BENCH_SIO_REDIS
const bool bench_sio_have_redis = true;

int bench_sio_serve_redis(const char *url) {
  payload();
  sigset_t stop;
  block_stop(&stop);
  char key[64];
  snprintf(key, sizeof key, "bench-sio-%ld", (long)getpid());
  roster_redis *cli = NULL;
  if (roster_redis_open(url, NULL, NULL, &cli) != ROSTER_OK) {
    fprintf(stderr, "roster-bench-sio server: %s\n", roster_last_error());
    return 1;
  }
  /* far broadcasts, to no client of its own; near's 'go' asks far to */
  roster_socketio *far = serve_one(on_go, NULL, cli, key);
  roster_socketio *near = far ? serve_one(on_go, far, cli, key) : NULL;
  char chan[128];
  snprintf(chan, sizeof chan, "%s-request#/#", key);
  int64_t subs = 0;
  for (int i = 0; near && subs != 2 && i < 500; i++) {
    roster_redis_reply *r = NULL;
    if (roster_redis_call(cli, &r, "PUBSUB", "NUMSUB", chan, NULL) ==
            ROSTER_OK &&
        r->elements == 2)
      subs = r->element[1].integer;
    roster_redis_reply_free(r);
    if (subs != 2)
      usleep(10000);
  }
  int code = 0;
  if (!near || subs != 2) {
    fprintf(stderr, "roster-bench-sio server: the two nodes are not "
                    "subscribed\n");
    code = 1;
  } else {
    printf("listening %u pid=%ld\n", roster_socketio_port(near),
           (long)getpid());
    fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
  }
  roster_socketio_free(near);
  roster_socketio_free(far);
  roster_redis_free(cli);
  json_decref(msg_args);
  return code;
}
#else
const bool bench_sio_have_redis = false;

int bench_sio_serve_redis(const char *url) {
  (void)url;
  fprintf(stderr, "roster-bench-sio: the sio_redis module is not in this "
                  "build\n");
  return 3;
}
#endif

#else

const bool bench_sio_have_roster = false;
const bool bench_sio_have_redis = false;

int bench_sio_serve_redis(const char *url) {
  (void)url;
  return bench_sio_serve();
}

int bench_sio_serve(void) {
  fprintf(stderr, "roster-bench-sio: the socketio module is not in this "
                  "build\n");
  return 3;
}

#endif
