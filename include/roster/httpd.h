/*
 * roster/httpd.h: the HTTP/1.1 and WebSocket server layer (modules/httpd,
 * library roster_httpd, pkg-config roster_httpd), on an epoll loop of
 * roster's own, with libhttp-parser (requests) and libwslay (RFC 6455
 * frames). The Socket.IO module and the admin endpoint are built on it.
 *
 * A server listens on one address, runs one I/O thread ("roster-httpd",
 * every signal blocked) and serves:
 *  - HTTP routes, by path prefix (the longest registered prefix wins): the
 *    handler gets the request (method, path, query, headers, body) and
 *    answers it with roster_httpd_respond, at once or later from any
 *    thread (a held request: an Engine.IO long-poll);
 *  - WebSocket routes, by exact path: on_open (may refuse the upgrade),
 *    on_message (a whole text or binary message, reassembled), on_close
 *    (the code and reason that ended the connection).
 *
 * Requests: HTTP/1.0 and 1.1, keep-alive, one request at a time per
 * connection (pipelined requests wait their turn). Bodies by
 * Content-Length or chunked (decoded by the parser; the decoded size
 * counts against max_body). A head over max_head is answered 431, a body
 * over max_body 413, a malformed request 400; each of these closes that
 * connection only. Unknown paths: 404.
 *
 * WebSocket: version 13 only (426 otherwise); the Origin header, when
 * present, must be allowed (options.origins; by default only the same
 * origin: Origin's host[:port] equal to Host), else 403. Client frames
 * are validated: unmasked frames, reserved bits, unknown opcodes, control
 * frames over 125 bytes or fragmented, bad continuation, close codes that
 * may not be sent: close 1002; invalid UTF-8 in a text message or close
 * reason: 1007; a message over max_message: 1009. Pings are answered; a
 * ping may come between the fragments of a message.
 *
 * Sending: roster_httpd_ws_send (and roster_httpd_msg_new +
 * roster_httpd_ws_send_msg for one message to many connections: it is
 * framed once and shared by reference count) never block: they put the
 * message on a lock-free queue that the I/O thread drains (woken by an
 * eventfd). Each connection has a bound (max_queue bytes) on what is
 * queued and not yet written; a send past it fails with ROSTER_EBUSY
 * (the caller may drop a volatile packet), counted in dropped_sends. A
 * connection that stays over its bound for slow_timeout_ms is closed as
 * a slow consumer (counted; on_close gets 1008).
 *
 * Threads: every callback (HTTP handlers, on_abort, on_open, on_message,
 * on_close) runs on the server's I/O thread, with no lock of roster's
 * held; it must not block (hand slow work to another thread and answer
 * later). From any thread: roster_httpd_respond, roster_httpd_ws_send*,
 * roster_httpd_ws_close, roster_httpd_msg_*, the _acquire/_release calls,
 * roster_httpd_port, roster_httpd_stats_get. Routes are added before
 * roster_httpd_start. roster_httpd_stop and roster_httpd_free are called
 * from any thread but the I/O thread.
 *
 * Memory comes from roster's allocator hooks (roster/alloc.h), except
 * libwslay's frame context (about 4 KiB, its read buffer, held only while
 * a frame is partly read), which libwslay 1.1 allocates with the C
 * library's malloc.
 */
#ifndef ROSTER_HTTPD_H
#define ROSTER_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* roster_httpd: one server. Opaque. */
typedef struct roster_httpd roster_httpd;
/* roster_httpd_request: one HTTP request, from the handler's call until
 * roster_httpd_respond. Opaque. */
typedef struct roster_httpd_request roster_httpd_request;
/* roster_httpd_ws: one WebSocket connection. Opaque. */
typedef struct roster_httpd_ws roster_httpd_ws;
/* roster_httpd_msg: a framed WebSocket message, shared by reference count
 * between the connections it is sent to. Opaque. */
typedef struct roster_httpd_msg roster_httpd_msg;

/* roster_httpd_options: {0} gives the defaults shown. */
typedef struct roster_httpd_options {
  const char *name;           /* in details; copied; NULL: "httpd" */
  const char *host;           /* numeric IPv4 or IPv6 address to bind;
                                 NULL: "127.0.0.1" */
  uint16_t port;              /* 0: any free port (roster_httpd_port) */
  unsigned max_connections;   /* open at once; 0: 1024; past it, a new
                                 connection is closed at once */
  size_t max_head;            /* request line and headers; 0: 8 KiB (431) */
  size_t max_body;            /* request body; 0: 1 MiB (413) */
  size_t max_message;         /* WebSocket message; 0: 1 MiB (1009) */
  size_t max_queue;           /* queued outgoing bytes per connection;
                                 0: 1 MiB */
  int64_t idle_timeout_ms;    /* an HTTP connection with no request under
                                 way, or a request that does not arrive
                                 whole; 0: 60000; < 0: none. Not held
                                 requests, not WebSockets. */
  int64_t slow_timeout_ms;    /* over max_queue this long: closed; 0: 5000 */
  const char *const *origins; /* NULL-terminated list of allowed Origin
                                 values for upgrades ("*": any); copied;
                                 NULL: same origin only */
} roster_httpd_options;

/* roster_httpd_stats: counters since roster_httpd_new. */
typedef struct roster_httpd_stats {
  uint64_t connections_open;    /* TCP connections now */
  uint64_t connections_total;   /* accepted */
  uint64_t connections_refused; /* over max_connections */
  uint64_t requests;            /* HTTP requests given to handlers */
  uint64_t bad_requests;        /* answered 400, 404, 413, 431, ... */
  uint64_t ws_open;             /* WebSocket connections now */
  uint64_t ws_messages_in, ws_messages_out;
  uint64_t ws_bytes_in, ws_bytes_out; /* payload bytes */
  uint64_t dropped_sends;             /* sends refused with ROSTER_EBUSY */
  uint64_t slow_consumers;            /* connections closed for a full queue */
} roster_httpd_stats;

/* roster_httpd_new makes a server and binds its socket (so
 * roster_httpd_port is known), without serving yet. o may be NULL.
 * Errors (*out is NULL): ROSTER_EINVAL (NULL out, a bad host),
 * ROSTER_ESYS (socket, bind: the system's message), ROSTER_ENOMEM. */
ROSTER_EXTERN int roster_httpd_new(const roster_httpd_options *o,
                                   roster_httpd **out);

/* roster_httpd_port: the bound port. */
ROSTER_EXTERN uint16_t roster_httpd_port(const roster_httpd *s);

/* roster_httpd_handler answers or keeps req: it calls
 * roster_httpd_respond now, or later from any thread. Until then the
 * connection reads nothing more. */
typedef void (*roster_httpd_handler)(roster_httpd_request *req, void *arg);

/* roster_httpd_route_options: an HTTP route. */
typedef struct roster_httpd_route_options {
  const char *prefix; /* "/api/" matches "/api/x"; copied */
  roster_httpd_handler handler;
  /* on_abort (may be NULL): the connection of a held request closed (the
   * client left, or the server stops). req must still be answered: the
   * answer is then discarded. I/O thread. */
  void (*on_abort)(roster_httpd_request *req, void *arg);
  void *arg;
} roster_httpd_route_options;

/* roster_httpd_route adds an HTTP route. ROSTER_EINVAL (NULL or empty
 * prefix, no handler), ROSTER_EEXIST (the prefix is taken), ROSTER_ESTATE
 * (after roster_httpd_start), ROSTER_ENOMEM. */
ROSTER_EXTERN int roster_httpd_route(roster_httpd *s,
                                     const roster_httpd_route_options *r);

/* roster_httpd_ws_kind: a data message's type. */
typedef enum roster_httpd_ws_kind {
  ROSTER_HTTPD_WS_TEXT = 1, /* valid UTF-8 */
  ROSTER_HTTPD_WS_BINARY = 2
} roster_httpd_ws_kind;

/* roster_httpd_ws_route_options: a WebSocket route. All on the I/O
 * thread. ws stays valid until on_close returns (longer with
 * roster_httpd_ws_acquire). */
typedef struct roster_httpd_ws_route_options {
  const char *path; /* exact; copied */
  /* on_open (may be NULL): the upgrade request is valid; return 0 to
   * accept (101 follows) or an HTTP status >= 400 to refuse it. req is
   * readable during the call only (never answered by the callee). */
  int (*on_open)(roster_httpd_ws *ws, const roster_httpd_request *req,
                 void *arg);
  void (*on_message)(roster_httpd_ws *ws, roster_httpd_ws_kind kind,
                     const void *data, size_t len, void *arg);
  /* on_close: once per accepted connection. code: the peer's close code
   * (1005 when it sent none), or the one roster sent (1001 server stop,
   * 1002, 1007, 1008 slow consumer, 1009), or 1006 (the TCP connection
   * ended without a close frame). reason is NUL-terminated, maybe "". */
  void (*on_close)(roster_httpd_ws *ws, int code, const char *reason,
                   void *arg);
  void *arg;
} roster_httpd_ws_route_options;

/* roster_httpd_ws_route adds a WebSocket route. Errors as
 * roster_httpd_route. A path may have both kinds of route: an upgrade
 * goes to the WebSocket one, other requests to the HTTP one. */
ROSTER_EXTERN int roster_httpd_ws_route(roster_httpd *s,
                                        const roster_httpd_ws_route_options *r);

/* roster_httpd_start starts the I/O thread. ROSTER_ESTATE when started
 * before, ROSTER_ESYS when the thread cannot start. */
ROSTER_EXTERN int roster_httpd_start(roster_httpd *s);

/* roster_httpd_stop stops gracefully, within deadline_ms (0: 5000): the
 * listening socket closes; WebSockets get close 1001; idle HTTP
 * connections close; held requests get on_abort and may still be
 * answered until the deadline; the rest is written out. At the deadline
 * every connection closes. Returns when the I/O thread has ended (every
 * on_close called). ROSTER_ESTATE from the I/O thread itself; a second
 * stop returns ROSTER_OK. */
ROSTER_EXTERN int roster_httpd_stop(roster_httpd *s, int64_t deadline_ms);

/* roster_httpd_free stops (deadline 0) if needed and frees s. Requests
 * still unanswered and acquired WebSockets keep their own memory until
 * answered or released. NULL is a no-op. */
ROSTER_EXTERN void roster_httpd_free(roster_httpd *s);

/* roster_httpd_stats_get fills *out. Any thread. */
ROSTER_EXTERN int roster_httpd_stats_get(const roster_httpd *s,
                                         roster_httpd_stats *out);

/* ROSTER_HTTPD_STALL_MS: an I/O thread that has not come back to its
 * loop for this long (a handler blocking) makes the server unhealthy. */
#define ROSTER_HTTPD_STALL_MS 2000

/* roster_httpd_health: ROSTER_OK while s serves (started, not stopping)
 * and its I/O thread turns (it wakes at least every 100 ms; one that has
 * not for ROSTER_HTTPD_STALL_MS is stuck); else ROSTER_ESTATE saying
 * which. ROSTER_EINVAL for NULL. Any thread. */
ROSTER_EXTERN int roster_httpd_health(const roster_httpd *s);

/* ---- requests (valid until answered; from the holder's thread) ---- */

/* The method ("GET"), the path (decoded of nothing: as sent, without the
 * query) and the query (without '?'; "" when none). */
ROSTER_EXTERN const char *
roster_httpd_request_method(const roster_httpd_request *req);
ROSTER_EXTERN const char *
roster_httpd_request_path(const roster_httpd_request *req);
ROSTER_EXTERN const char *
roster_httpd_request_query(const roster_httpd_request *req);
/* roster_httpd_request_header: the value of the first header called name
 * (any case), or NULL. */
ROSTER_EXTERN const char *
roster_httpd_request_header(const roster_httpd_request *req, const char *name);
/* roster_httpd_request_origin_ok: true when the request has no Origin
 * header or its Origin is allowed by the server's options.origins (by
 * default the same origin: Origin's host[:port] equal to Host). The check
 * WebSocket upgrades get, for handlers doing CORS. Any thread while req
 * is alive. */
ROSTER_EXTERN bool
roster_httpd_request_origin_ok(const roster_httpd_request *req);
/* roster_httpd_request_body: the body (decoded when it was chunked) and
 * its length; never NULL (an empty body is ""). */
ROSTER_EXTERN const void *
roster_httpd_request_body(const roster_httpd_request *req, size_t *len);

/* roster_httpd_respond answers req and frees it (req is invalid after the
 * call, whatever it returns). headers: NULL or a NULL-terminated list of
 * name, value pairs (Content-Length is added; a Connection header is
 * roster's). The response is copied. Any thread, exactly once per
 * request. ROSTER_OK; ROSTER_EINVAL (status outside 100..599, body NULL
 * with len > 0, a header with CR or LF, an empty name, or one of
 * Content-Length and Connection: a 500 goes out instead; NULL req);
 * ROSTER_ESTATE (the connection is gone: the answer is discarded);
 * ROSTER_ENOMEM. HEAD requests get the headers only. */
ROSTER_EXTERN int roster_httpd_respond(roster_httpd_request *req, int status,
                                       const char *const *headers,
                                       const void *body, size_t len);

/* ---- WebSocket connections ---- */

/* roster_httpd_ws_acquire keeps ws valid past its on_close until
 * roster_httpd_ws_release. Any thread. */
ROSTER_EXTERN roster_httpd_ws *roster_httpd_ws_acquire(roster_httpd_ws *ws);
ROSTER_EXTERN void roster_httpd_ws_release(roster_httpd_ws *ws);

/* roster_httpd_ws_set_data / _data: one pointer of the caller's per
 * connection. Any thread (the pointer is stored atomically). */
ROSTER_EXTERN void roster_httpd_ws_set_data(roster_httpd_ws *ws, void *data);
ROSTER_EXTERN void *roster_httpd_ws_data(const roster_httpd_ws *ws);

/* roster_httpd_msg_new frames one message (copied) into *out, with one
 * reference. ROSTER_EINVAL (bad kind, NULL out, data NULL with len > 0,
 * text that is not UTF-8), ROSTER_ENOMEM. Any thread. */
ROSTER_EXTERN int roster_httpd_msg_new(roster_httpd_ws_kind kind,
                                       const void *data, size_t len,
                                       roster_httpd_msg **out);
/* roster_httpd_msg_release drops a reference; NULL is a no-op. */
ROSTER_EXTERN void roster_httpd_msg_release(roster_httpd_msg *m);

/* roster_httpd_ws_send_msg queues m on ws (taking a reference of its own:
 * the caller keeps its reference). ROSTER_OK; ROSTER_EBUSY (ws's queue is
 * over max_queue: not sent, counted in dropped_sends); ROSTER_ESTATE (ws is
 * closing or closed); ROSTER_EINVAL (NULL), ROSTER_ENOMEM. Any thread,
 * never blocks; messages sent from one thread arrive in order. */
ROSTER_EXTERN int roster_httpd_ws_send_msg(roster_httpd_ws *ws,
                                           roster_httpd_msg *m);
/* roster_httpd_ws_send: roster_httpd_msg_new + _send_msg + _release. */
ROSTER_EXTERN int roster_httpd_ws_send(roster_httpd_ws *ws,
                                       roster_httpd_ws_kind kind,
                                       const void *data, size_t len);

/* roster_httpd_ws_close starts the closing handshake with code (1000,
 * or 3000..4999) and reason (NULL or at most 123 bytes of UTF-8); what
 * is queued before it is written first. ROSTER_EINVAL (a bad code or
 * reason), ROSTER_ESTATE (already closing). Any thread. */
ROSTER_EXTERN int roster_httpd_ws_close(roster_httpd_ws *ws, int code,
                                        const char *reason);

#ifdef __cplusplus
}
#endif

#endif /* ROSTER_HTTPD_H */
