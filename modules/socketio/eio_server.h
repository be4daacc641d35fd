/*
 * eio_server.h: the Engine.IO 4 transport server on a roster_httpd
 * (modules/socketio only; never installed). It speaks HTTP long-polling
 * and WebSocket on one path (default "/engine.io/"), upgrades a polling
 * session to WebSocket, sends the heartbeat and closes sessions whose
 * peer stops answering. The layer above (Socket.IO) sees sessions and
 * whole messages through three callbacks and sends with
 * roster__eio_send.
 *
 * Threads:
 *  - on_open and on_message run on the httpd I/O thread (a handshake,
 *    a POST, a WebSocket message).
 *  - on_close runs on whichever thread ended the session: the httpd I/O
 *    thread (a close packet, a bad payload, a second GET, the transport
 *    closing), the server's heartbeat thread ("roster-eio", ping
 *    timeout), or the thread that called roster__eio_close.
 *  - Per session the three are serialised by a lock of the session's
 *    own: on_close comes once, after on_open, and no on_message starts
 *    after it. A callback may call roster__eio_send and
 *    roster__eio_close (the lock is recursive); it must not block.
 *  - roster__eio_send, roster__eio_close, the session's acquire/release,
 *    sid and data calls: any thread; they never block on I/O.
 *
 * Errors: roster codes with a detail in roster_last_error().
 */
#ifndef ROSTER_EIO_SERVER_H
#define ROSTER_EIO_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <roster/httpd.h>

typedef struct roster__eio_server roster__eio_server;
/* roster__eio_session: one Engine.IO connection, whatever its transport.
 * Valid from on_open until on_close returns (longer with
 * roster__eio_session_acquire, but never past roster__eio_server_free:
 * a session's calls use its server). */
typedef struct roster__eio_session roster__eio_session;

typedef struct roster__eio_options {
  const char *path;            /* NULL: "/engine.io/"; copied */
  uint32_t ping_interval_ms;   /* 0: 25000 */
  uint32_t ping_timeout_ms;    /* 0: 20000 */
  uint64_t max_payload;        /* 0: 1e6 (ROSTER__EIO_MAX_PAYLOAD_DEFAULT);
                                  a POST over it: 413, "transport error" */
  uint32_t upgrade_timeout_ms; /* 0: 10000; a probe WebSocket without the
                                  upgrade packet by then is closed and
                                  the session keeps polling */
  size_t max_sessions;         /* open at once; 0: no bound. Past it a handshake
                                  is refused: 503 (polling; the upgrade refused
                                  503 for WebSocket), counted in the stats */
  /* on_open: a session is open (its open packet is queued). I/O thread. */
  void (*on_open)(roster__eio_session *s, void *arg);
  /* on_message: one message packet; data is valid during the call only;
   * binary: raw bytes, else UTF-8 text. I/O thread. */
  void (*on_message)(roster__eio_session *s, const void *data, size_t len,
                     bool binary, void *arg);
  /* on_close: the session ended; reason is one of engine.io's: "transport
   * close", "transport error", "ping timeout", "parse error", "forced
   * close", "server shutting down". Any thread (see above). */
  void (*on_close)(roster__eio_session *s, const char *reason, void *arg);
  void *arg;
} roster__eio_options;

/* roster__eio_server_new adds the routes for o->path to h (before
 * roster_httpd_start) and starts the heartbeat thread. ROSTER_EINVAL (NULL
 * h or out, a path not starting and ending with '/'), ROSTER_EEXIST and
 * ROSTER_ESTATE (from roster_httpd_route), ROSTER_ESYS, ROSTER_ENOMEM. */
int roster__eio_server_new(roster_httpd *h, const roster__eio_options *o,
                           roster__eio_server **out);

/* roster__eio_server_free closes every session ("server shutting down")
 * and frees the server. Call it after roster_httpd_stop on h (no handler
 * may run any more), from any thread but h's I/O thread. NULL: no-op. */
void roster__eio_server_free(roster__eio_server *e);

/* roster__eio_sessions: sessions open now. Any thread. */
size_t roster__eio_sessions(roster__eio_server *e);

/* The close reasons, in the order of roster__eio_stats.closes. */
#define ROSTER__EIO_NREASONS 6
extern const char *const roster__eio_reasons[ROSTER__EIO_NREASONS];

/* roster__eio_stats: counters since roster__eio_server_new. Packets and
 * bytes (packet data) in are the client's packets taken; out are the
 * packets the server sent or queued (pings, messages), not the open
 * packet or the probe's answer. */
typedef struct roster__eio_stats {
  uint64_t sessions_open, sessions_total;
  uint64_t packets_in, packets_out, bytes_in, bytes_out;
  uint64_t upgrades;           /* polling sessions moved to WebSocket */
  uint64_t refused_handshakes; /* over max_sessions */
  uint64_t closes[ROSTER__EIO_NREASONS]; /* by roster__eio_reasons */
} roster__eio_stats;

/* roster__eio_stats_get fills *out (each counter read atomically; the
 * whole not one instant). Any thread. */
void roster__eio_stats_get(roster__eio_server *e, roster__eio_stats *out);

/* roster__eio_send queues one message packet: over polling it goes out
 * with the next GET, over WebSocket through roster_httpd_ws_send (during
 * an upgrade it waits and is flushed over the WebSocket). Text must be
 * UTF-8. ROSTER_OK; ROSTER_ESTATE (the session is closed); ROSTER_EBUSY
 * (the WebSocket's queue is full: not sent); ROSTER_ERANGE (the polling
 * queue is over max_payload bytes: not sent); ROSTER_EINVAL;
 * ROSTER_ENOMEM. Any thread; messages sent from one thread arrive in
 * order. */
int roster__eio_send(roster__eio_session *s, const void *data, size_t len,
                     bool binary);

/* roster__eio_part: one message of roster__eio_send_parts: its bytes
 * (text without the Engine.IO kind digit, or binary) for polling, and
 * optionally the same message already framed for a WebSocket (text: "4"
 * and the bytes) so that a broadcast frames it once. */
typedef struct roster__eio_part {
  roster_httpd_msg *ws; /* NULL: framed per send; a reference is taken */
  const uint8_t *data;
  size_t len;
  bool binary;
} roster__eio_part;

/* roster__eio_send_parts sends n messages back to back: no other sender's
 * message comes between them (a Socket.IO packet and its attachments).
 * Errors as roster__eio_send, for the first part (nothing sent). A later
 * part refused ends the session ("transport error"): the peer would wait
 * for attachments that never come. Any thread. Text parts must be UTF-8
 * (not checked here). */
int roster__eio_send_parts(roster__eio_session *s,
                           const roster__eio_part *parts, size_t n);

/* roster__eio_close_reason closes the session with one of
 * roster__eio_reasons (NULL: "forced close"). Any thread. */
void roster__eio_close_reason(roster__eio_session *s, const char *reason);

/* ROSTER__EIO_ID_LEN: a session id's length; roster__eio_random_id writes
 * one (15 random bytes as base64url) and a NUL. ROSTER_ESYS if the
 * system has no randomness to give. */
#define ROSTER__EIO_ID_LEN 20
int roster__eio_random_id(char out[ROSTER__EIO_ID_LEN + 1]);

/* roster__eio_close closes the session ("forced close"): a close packet
 * goes out when the transport can carry it. Over polling, packets waiting
 * for the next GET go first: that GET takes them and the close packet,
 * and the session ends then (or after pingTimeout without a GET), as
 * engine.io's socket.close() drains. A second close is a no-op. Any
 * thread. (roster__eio_close_reason, for failures, closes at once.) */
void roster__eio_close(roster__eio_session *s);

/* The session's id (its sid, NUL-terminated); "websocket" or "polling";
 * one pointer of the caller's. Any thread. */
const char *roster__eio_session_sid(const roster__eio_session *s);
const char *roster__eio_session_transport(roster__eio_session *s);
void roster__eio_session_set_data(roster__eio_session *s, void *data);
void *roster__eio_session_data(const roster__eio_session *s);
roster__eio_session *roster__eio_session_acquire(roster__eio_session *s);
void roster__eio_session_release(roster__eio_session *s);

#endif /* ROSTER_EIO_SERVER_H */
