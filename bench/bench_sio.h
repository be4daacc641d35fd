/*
 * bench_sio.h: the parts of roster-bench-sio (bench_sio.c) that live in
 * their own files.
 *
 * bench_sio_client.c is the client driver, the same for both servers: N
 * WebSocket connections to one server, made and served by one thread on
 * epoll, each speaking Engine.IO 4 / Socket.IO 5 by hand (the upgrade
 * request, masked client frames, the open packet, CONNECT to "/", pongs
 * for the server's pings). It counts every 'msg' event each connection
 * receives and checks its bytes. A sio_clients and its calls belong to
 * the thread that made it.
 *
 * bench_sio_server.c is roster's server, run by the program in a process
 * of its own (roster-bench-sio --serve-roster).
 */
#ifndef ROSTER_BENCH_SIO_H
#define ROSTER_BENCH_SIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The broadcast's one argument: a string of this many 'x'. */
enum { SIO_PAYLOAD_LEN = 100 };

typedef struct sio_clients sio_clients;

/* bench_sio_clients_new: n connections to 127.0.0.1:port, none opened yet.
 * Dies when out of memory. */
sio_clients *bench_sio_clients_new(uint16_t port, unsigned n);

/* bench_sio_clients_free closes every connection and frees c (NULL:
 * no-op). */
void bench_sio_clients_free(sio_clients *c);

/* bench_sio_connect opens the connections, at most `pending` handshakes at
 * a time, until every one has its Socket.IO CONNECT answer, one fails, or
 * timeout_s passes. Returns how many are connected; when short of n, the
 * reason is in bench_sio_error. */
unsigned bench_sio_connect(sio_clients *c, unsigned pending, double timeout_s);

/* bench_sio_error: the first error (a connection lost or refused, a
 * protocol error, a wrong payload), or "" when none. bench_sio_errors
 * counts them. */
const char *bench_sio_error(const sio_clients *c);
uint64_t bench_sio_errors(const sio_clients *c);

/* sio_fanout: one windowed fan-out run. */
typedef struct sio_fanout {
  uint64_t gos;       /* 'go' events sent by connection 0 */
  uint64_t delivered; /* 'msg' events received, every connection */
  uint64_t expected;  /* gos x connections */
  uint64_t bad;       /* events that were not the expected 'msg' */
  double seconds;     /* from the first 'go' to the last 'msg' (or the
                         drain's end) */
} sio_fanout;

/* bench_sio_fanout: connection 0 emits 'go', keeping at most window
 * broadcasts in flight (sent - its own 'msg' received), for seconds; then
 * waits (at most 10 s) until every connection has every broadcast. */
void bench_sio_fanout(sio_clients *c, unsigned window, double seconds,
                      sio_fanout *out);

/* bench_sio_echo: connection 0 emits 'echo' with the payload and an ack,
 * waits for the server's answer (checked), samples times; us[i] gets each
 * round trip in microseconds. Returns how many completed (fewer after an
 * error or a 5 s wait). */
size_t bench_sio_echo(sio_clients *c, size_t samples, double *us);

/* bench_sio_have_roster: whether roster's server is in this build (the
 * socketio module). */
extern const bool bench_sio_have_roster;

/* bench_sio_serve: the program as roster's server (--serve-roster):
 * listens on 127.0.0.1, any port, prints "listening <port> pid=<pid>" on
 * stdout, serves until SIGTERM or SIGINT. 'go' broadcasts 'msg' with the
 * payload to every socket; 'echo' answers its ack with its arguments.
 * Returns the exit code. */
int bench_sio_serve(void);

/* bench_sio_have_redis: whether the cross-node server is in this build
 * (the sio_redis module). bench_sio_serve_redis: the program as that
 * server (--serve-roster-redis URL): two nodes with the Redis adapter in
 * one process; 'go' at the printed one makes the other broadcast, so the
 * messages reach the clients through Redis. */
extern const bool bench_sio_have_redis;
int bench_sio_serve_redis(const char *url);

#endif
