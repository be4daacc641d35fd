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

const bool bench_sio_have_roster = true;

static json_t *msg_args; /* ["x...x"], built once */

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

int bench_sio_serve(void) {
  char x[SIO_PAYLOAD_LEN + 1];
  memset(x, 'x', SIO_PAYLOAD_LEN);
  x[SIO_PAYLOAD_LEN] = 0;
  msg_args = json_pack("[s]", x);
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, NULL); /* the server's threads too */
  signal(SIGPIPE, SIG_IGN);

  struct rlimit rl = {0};
  getrlimit(RLIMIT_NOFILE, &rl);
  unsigned maxc = rl.rlim_cur > 64 ? (unsigned)(rl.rlim_cur - 32) : 32;
  roster_socketio_options o = {.name = "bench", .max_connections = maxc};
  roster_socketio *io = NULL;
  roster_socketio_nsp *nsp = NULL;
  if (roster_socketio_new(&o, &io) != ROSTER_OK ||
      roster_socketio_of(io, "/", &nsp) != ROSTER_OK ||
      roster_socketio_on(nsp, "go", on_go, io) != ROSTER_OK ||
      roster_socketio_on(nsp, "echo", on_echo, NULL) != ROSTER_OK ||
      roster_socketio_start(io) != ROSTER_OK) {
    fprintf(stderr, "roster-bench-sio server: %s\n", roster_last_error());
    roster_socketio_free(io);
    return 1;
  }
  printf("listening %u pid=%ld\n", roster_socketio_port(io), (long)getpid());
  fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  roster_socketio_free(io);
  json_decref(msg_args);
  return 0;
}

#else

const bool bench_sio_have_roster = false;

int bench_sio_serve(void) {
  fprintf(stderr, "roster-bench-sio: the socketio module is not in this "
                  "build\n");
  return 3;
}

#endif
