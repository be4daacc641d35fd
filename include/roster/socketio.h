/*
 * roster/socketio.h: a Socket.IO server (modules/socketio, library
 * roster_socketio, pkg-config roster_socketio) that the stock
 * socket.io-client 4.x talks to: Engine.IO 4 (long-polling, WebSocket,
 * the upgrade between them, the heartbeat) and Socket.IO 5 (namespaces,
 * middleware, events, acknowledgements both ways, binary attachments),
 * on roster's HTTP layer (roster/httpd.h).
 *
 * A server listens on one address and path ("/socket.io/" by default).
 * Clients connect to namespaces ("/" always exists; others are made with
 * roster_socketio_of). A client's connection to one namespace is a
 * socket (roster_socketio_socket), with an id of its own, the auth object
 * the client sent, one pointer of user data, and rooms.
 *
 * Rooms are entries of a registry of the server's own, under duplicate
 * keys: (namespace, room) -> socket, each owned by the socket's owner
 * token. A socket joins the room named by its id when it connects, so an
 * emit to that room reaches it alone; when it disconnects, one
 * roster_owner_drop takes it out of every room at once.
 * roster_socketio_rooms gives that registry, for queries (roster_count,
 * roster_lookup, roster_select) but not for writes. Every socket is also
 * an entry under (ROSTER_SOCKETIO_ALL_NS, namespace), so an emit to a
 * whole namespace is one dispatch.
 *
 * Emits encode the packet once, whatever the number of receivers, and
 * never block: each receiver's connection gets a reference to the same
 * bytes on a lock-free queue that the I/O thread writes out. A connection
 * has a bound on what it may have queued (max_queue bytes). Past it a
 * volatile packet is dropped (counted); any other packet cannot be
 * dropped without the client knowing, so the connection is closed as a
 * slow consumer (counted; the client sees a disconnect and reconnects).
 * A connection over its bound for slow_timeout_ms is closed likewise.
 *
 * Threads:
 *  - Handlers (middleware, on_connect, events, acks from the client) run
 *    on the server's I/O thread, one at a time; they must not block (hand
 *    slow work to another thread and answer the ack from there). They
 *    may call anything here but roster_socketio_stop and _free.
 *  - on_disconnect runs once per socket on the thread that ended it: the
 *    I/O thread, the heartbeat thread (a ping timeout), a caller of
 *    roster_socketio_socket_disconnect, or roster_socketio_stop's caller.
 *  - An ack callback of roster_socketio_socket_emit_ack runs exactly
 *    once: on the I/O thread (the answer came), on the server's timer
 *    thread ("roster-sio": the timeout), or on the thread that ended the
 *    socket (it disconnected first).
 *  - Emits, joins, leaves, acks, disconnects, lookups and stats: any
 *    thread, at any time between roster_socketio_new and
 *    roster_socketio_free. Namespaces and handlers may be added at any
 *    time too (a server declared in config is set up after it is made);
 *    they are never removed before roster_socketio_free.
 *
 * Payloads are jansson trees. The arguments of an event or an ack are a
 * JSON array (NULL: none). A binary argument (a Buffer on the Node side)
 * is the placeholder object {"_placeholder":true,"num":i} in the tree,
 * where i indexes the bins that come with it; a bin may be named more
 * than once. Numbers come in as reals (JavaScript has only doubles).
 *
 * Errors: roster codes with a sentence in roster_last_error().
 */
#ifndef ROSTER_SOCKETIO_H
#define ROSTER_SOCKETIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "httpd.h"
#include "log.h"
#include "registry.h"
#include "version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* roster_socketio: one server. Opaque. */
typedef struct roster_socketio roster_socketio;
/* roster_socketio_nsp: one namespace of a server; lives as long as the
 * server. Opaque. */
typedef struct roster_socketio_nsp roster_socketio_nsp;
/* roster_socketio_socket: one client in one namespace. Valid during a
 * handler's call, and from roster_socketio_socket_acquire until
 * roster_socketio_socket_release (a released socket's calls answer
 * ROSTER_ESTATE once it is disconnected). Opaque. */
typedef struct roster_socketio_socket roster_socketio_socket;

/* The registry namespace under which every socket of a Socket.IO
 * namespace is an entry (the entry name is the namespace: "/"). */
#define ROSTER_SOCKETIO_ALL_NS "@sockets"

/* roster_socketio_bin: bytes of one binary attachment. */
typedef struct roster_socketio_bin {
  const void *data;
  size_t len;
} roster_socketio_bin;

/* roster_socketio_options: {0} gives the defaults shown. */
typedef struct roster_socketio_options {
  const char *name;           /* in details and the registry; copied;
                                 NULL: "socketio" */
  const char *host;           /* address to bind; NULL: "127.0.0.1" */
  uint16_t port;              /* 0: any free port (roster_socketio_port) */
  const char *path;           /* NULL: "/socket.io/"; must start and end
                                 with '/' */
  uint32_t ping_interval_ms;  /* 0: 25000 */
  uint32_t ping_timeout_ms;   /* 0: 20000 */
  uint64_t max_payload;       /* maxHttpBufferSize: the largest message
                                 and polling body; 0: 1e6 bytes */
  unsigned max_connections;   /* 0: 1024 (TCP connections and sessions) */
  size_t max_queue;           /* queued outgoing bytes per connection;
                                 0: 1 MiB */
  int64_t slow_timeout_ms;    /* over max_queue this long: closed; 0: 5000 */
  int64_t connect_timeout_ms; /* a connection in no namespace this long
                                 after it opened is closed (socket.io's
                                 connectTimeout); 0: 45000 */
  const char *const *origins; /* allowed Origin values for polling (CORS)
                                 and upgrades, NULL-terminated ("*": any);
                                 copied; NULL: the same origin only */
} roster_socketio_options;

/* roster_socketio_new makes a server, bound to its address (so the port is
 * known) but not yet serving; with namespace "/". o may be NULL.
 * ROSTER_EINVAL (NULL out, a bad host or path), ROSTER_ESYS (bind: the
 * system's message), ROSTER_ENOMEM. *out is NULL on failure. */
ROSTER_EXTERN int roster_socketio_new(const roster_socketio_options *o,
                                      roster_socketio **out);

/* roster_socketio_start serves. ROSTER_ESTATE when started before;
 * ROSTER_ESYS when a thread cannot start. */
ROSTER_EXTERN int roster_socketio_start(roster_socketio *io);

/* roster_socketio_stop stops gracefully within deadline_ms (0: 5000): no
 * new connection or namespace is accepted; every socket gets its
 * on_disconnect ("server shutting down"); what is queued is written out;
 * then the connections close (WebSocket 1001, a polling session's close
 * packet). As socket.io's close(), no DISCONNECT packet is sent: a client
 * sees its transport close and reconnects by itself, so a restart is a
 * gap to it (to dismiss a client for good, disconnect its socket first).
 * Returns when every handler has returned. A second stop is ROSTER_OK.
 * Never from a handler of io: it waits for them. */
ROSTER_EXTERN int roster_socketio_stop(roster_socketio *io,
                                       int64_t deadline_ms);

/* roster_socketio_free stops (if needed) and frees io. Sockets still
 * acquired keep their memory until released. NULL: no-op. */
ROSTER_EXTERN void roster_socketio_free(roster_socketio *io);

/* roster_socketio_port: the bound port. */
ROSTER_EXTERN uint16_t roster_socketio_port(const roster_socketio *io);

/* roster_socketio_httpd: the server's HTTP layer, to add routes of one's
 * own (an admin page beside its live updates) with roster_httpd_route
 * before roster_socketio_start; the server owns, starts and stops it. */
ROSTER_EXTERN roster_httpd *roster_socketio_httpd(roster_socketio *io);

/* roster_socketio_rooms: the server's room registry (duplicate keys), for
 * queries only; valid until roster_socketio_free. */
ROSTER_EXTERN roster *roster_socketio_rooms(roster_socketio *io);

/* roster_socketio_health: ROSTER_OK while the server serves (started, not
 * stopped, its I/O thread alive); else ROSTER_ESTATE with why. */
ROSTER_EXTERN int roster_socketio_health(roster_socketio *io);

/* roster_socketio_stats: counters since roster_socketio_new. */
typedef struct roster_socketio_stats {
  uint64_t connections;             /* Engine.IO sessions open */
  uint64_t connections_total;       /* opened */
  uint64_t sockets;                 /* namespace connections open */
  uint64_t sockets_total;           /* accepted */
  uint64_t refused;                 /* CONNECTs refused (unknown namespace,
                                       middleware, stopping) */
  uint64_t rooms;                   /* rooms holding a socket, in every
                                       namespace (not the sockets' own-id rooms) */
  uint64_t packets_in, packets_out; /* Socket.IO packets (a packet with
                                       attachments counts once) */
  uint64_t bytes_in, bytes_out;     /* Engine.IO message bytes */
  uint64_t dropped;                 /* volatile packets not sent */
  uint64_t slow_consumers;          /* connections closed over max_queue */
  uint64_t acks_timed_out;          /* server -> client acks that expired */
} roster_socketio_stats;

/* roster_socketio_stats_get fills *out (each counter atomically; not one
 * instant). ROSTER_EINVAL for NULL. Any thread. */
ROSTER_EXTERN int roster_socketio_stats_get(roster_socketio *io,
                                            roster_socketio_stats *out);

/* ---- namespaces and handlers ---- */

/* roster_socketio_of finds or makes the namespace called name (starting
 * with '/', at most ROSTER_NAME_MAX bytes, UTF-8, no ',' or NUL) and puts
 * it in *out (may be NULL). ROSTER_EINVAL (a bad name), ROSTER_ENOMEM. */
ROSTER_EXTERN int roster_socketio_of(roster_socketio *io, const char *name,
                                     roster_socketio_nsp **out);

/* roster_socketio_nsp_name: the namespace's name ("/chat"). */
ROSTER_EXTERN const char *
roster_socketio_nsp_name(const roster_socketio_nsp *nsp);

/* roster_socketio_use_fn: middleware. Return 0 to let the socket in, or
 * non-zero to refuse it: the client gets CONNECT_ERROR with
 * {"message": message}, message being what the function wrote into
 * message[0, cap) ("not authorized" when it wrote nothing). auth is the
 * client's auth object (never NULL: {} when it sent none). The socket is
 * not yet in any room and gets no on_disconnect when refused. */
typedef int (*roster_socketio_use_fn)(roster_socketio_socket *s,
                                      const json_t *auth, char *message,
                                      size_t cap, void *arg);

/* roster_socketio_use adds middleware to nsp; they run in the order
 * added, the first refusal ending the chain. ROSTER_EINVAL, ROSTER_ENOMEM. */
ROSTER_EXTERN int roster_socketio_use(roster_socketio_nsp *nsp,
                                      roster_socketio_use_fn fn, void *arg);

/* roster_socketio_event: one event from a client, valid during the call
 * (take references or copies to keep any of it). */
typedef struct roster_socketio_event {
  const char *name;                /* the event; a numeric name as text */
  const json_t *args;              /* the arguments after the name: an
                                      array, maybe empty */
  const roster_socketio_bin *bins; /* attachments the placeholders name */
  size_t nbin;
  int64_t ack_id; /* >= 0: the client waits for an answer
                     (roster_socketio_ack); -1: it does not */
} roster_socketio_event;

typedef void (*roster_socketio_event_fn)(roster_socketio_socket *s,
                                         const roster_socketio_event *ev,
                                         void *arg);
typedef void (*roster_socketio_connect_fn)(roster_socketio_socket *s,
                                           void *arg);
/* reason is Socket.IO's: "client namespace disconnect", "server namespace
 * disconnect", "server shutting down", "transport close", "transport
 * error", "ping timeout", "parse error", "forced close". */
typedef void (*roster_socketio_disconnect_fn)(roster_socketio_socket *s,
                                              const char *reason, void *arg);

/* roster_socketio_on adds a handler of event (NULL: every event that has
 * no handler of its own) in nsp; several handlers of one event all run,
 * in the order added. roster_socketio_on_connect / _on_disconnect add
 * handlers of a socket's arrival (after the middleware let it in and the
 * client got its CONNECT answer) and departure. ROSTER_EINVAL,
 * ROSTER_ENOMEM. */
ROSTER_EXTERN int roster_socketio_on(roster_socketio_nsp *nsp,
                                     const char *event,
                                     roster_socketio_event_fn fn, void *arg);
ROSTER_EXTERN int roster_socketio_on_connect(roster_socketio_nsp *nsp,
                                             roster_socketio_connect_fn fn,
                                             void *arg);
ROSTER_EXTERN int
roster_socketio_on_disconnect(roster_socketio_nsp *nsp,
                              roster_socketio_disconnect_fn fn, void *arg);

/* ---- emitting ---- */

/* roster_socketio_target: who receives an emit. {0}: every socket of "/". */
typedef struct roster_socketio_target {
  const char *nsp;           /* NULL: "/" */
  const char *const *rooms;  /* NULL-terminated; NULL or empty: every
                                socket of nsp. A socket in several of
                                them receives the packet once. */
  const char *const *except; /* NULL-terminated rooms whose sockets are
                                left out; NULL: none */
  bool is_volatile;          /* drop, rather than queue, for a connection
                                over its bound (or not yet writable) */
} roster_socketio_target;

/* roster_socketio_emit sends event with args (an array, borrowed; NULL:
 * none) and bins to the target (NULL: every socket of "/"), encoded once.
 * *sent (may be NULL) gets the number of sockets the packet was queued
 * for. ROSTER_EINVAL (a bad event name or args, a placeholder naming no
 * bin, NULL event), ROSTER_ENOENT (no such namespace), ROSTER_ERANGE (the
 * packet is over max_payload or has too many attachments), ROSTER_ENOMEM.
 * Reaching no socket is ROSTER_OK. Any thread; never blocks. */
ROSTER_EXTERN int roster_socketio_emit(roster_socketio *io,
                                       const roster_socketio_target *to,
                                       const char *event, const json_t *args,
                                       const roster_socketio_bin *bins,
                                       size_t nbin, size_t *sent);

/* roster_socketio_emit_room: roster_socketio_emit to one room of "/". */
ROSTER_EXTERN int roster_socketio_emit_room(roster_socketio *io,
                                            const char *room, const char *event,
                                            const json_t *args);

/* roster_socketio_emit_local is roster_socketio_emit to this server's
 * sockets only: the adapter (below) is not given the packet. An adapter
 * delivers what other nodes broadcast with it, so a packet never comes
 * back to the node it came from. Errors and threads as
 * roster_socketio_emit. */
ROSTER_EXTERN int roster_socketio_emit_local(roster_socketio *io,
                                             const roster_socketio_target *to,
                                             const char *event,
                                             const json_t *args,
                                             const roster_socketio_bin *bins,
                                             size_t nbin, size_t *sent);

/* ---- adapters: broadcasts across nodes ---- */

/* roster_socketio_adapter: where a server hands its broadcasts, so that
 * other nodes deliver them to their sockets too (roster/sio_redis.h is
 * one, on Redis pub/sub). A broadcast is what roster_socketio_emit (and
 * _emit_room) sends: to every socket, to rooms, with exceptions; never
 * roster_socketio_socket_emit, an ack, or roster_socketio_emit_local
 * (which is how an adapter delivers what it receives: no loops). Without
 * an adapter an emit costs one atomic load more than it did without the
 * seam. The server copies the struct. */
typedef struct roster_socketio_adapter {
  /* broadcast: after roster_socketio_emit checked and encoded the packet
   * (an emit that fails is not handed over), before its local dispatch,
   * on the emitting thread; to->nsp is set. Everything is borrowed for
   * the call. It must not block (an emit never does): queue the work. */
  void (*broadcast)(void *arg, const roster_socketio_target *to,
                    const char *event, const json_t *args,
                    const roster_socketio_bin *bins, size_t nbin);
  /* nsp_added (optional): the namespace called nsp exists: once for each
   * at roster_socketio_set_adapter, then for each new one, on the thread
   * that made it (a namespace made meanwhile may be told twice). It must
   * not block. */
  void (*nsp_added)(void *arg, const char *nsp);
  /* close (optional): the adapter is detached (replaced, removed, or the
   * server freed): no call of broadcast or nsp_added runs or will run;
   * it frees arg. */
  void (*close)(void *arg);
  void *arg;
} roster_socketio_adapter;

/* roster_socketio_set_adapter puts a (copied; NULL: none) in place of the
 * server's adapter, waits until no call of the former one runs, and calls
 * its close. The server owns the adapter from then: roster_socketio_free
 * detaches it first. Any thread but an adapter's own callbacks.
 * ROSTER_EINVAL (NULL io, or a without broadcast), ROSTER_ENOMEM. */
ROSTER_EXTERN int roster_socketio_set_adapter(roster_socketio *io,
                                              const roster_socketio_adapter *a);

/* roster_socketio_adapter_kind: an adapter that a socketio:// service can
 * name in its options: the option itself and the options that start with
 * it and '_' ("redis=bus&redis_key=app": roster/sio_redis.h registers
 * "redis"). */
typedef struct roster_socketio_adapter_kind {
  const char *option; /* the option's key; static */
  /* check (optional): key (option or option_...) with value is
   * acceptable, at declaration (no I/O); ROSTER_EINVAL naming it */
  int (*check)(const char *key, const char *value);
  /* open: makes an adapter from opts (the service's key, value pairs of
   * this kind, NULL-terminated; option among them) and sets it on io (not
   * yet started), in the registry r the service is made in (may be
   * NULL). */
  int (*open)(roster *r, roster_socketio *io, const char *const *opts);
} roster_socketio_adapter_kind;

/* roster_socketio_adapter_kind_register adds k (kept by pointer: static);
 * again with the same k is ROSTER_OK. ROSTER_EEXIST (another kind has
 * its option), ROSTER_EINVAL, ROSTER_ENOMEM (at most 8 kinds).
 * Thread-safe. */
ROSTER_EXTERN int
roster_socketio_adapter_kind_register(const roster_socketio_adapter_kind *k);

/* ---- sockets ---- */

/* roster_socketio_socket_find acquires the socket called id in nsp
 * (NULL: "/"). ROSTER_ENOENT when none; release it after use. */
ROSTER_EXTERN int roster_socketio_socket_find(roster_socketio *io,
                                              const char *nsp, const char *id,
                                              roster_socketio_socket **out);
ROSTER_EXTERN roster_socketio_socket *
roster_socketio_socket_acquire(roster_socketio_socket *s);
ROSTER_EXTERN void roster_socketio_socket_release(roster_socketio_socket *s);

/* The socket's id (20 characters), its namespace's name, its transport
 * now ("polling" or "websocket"), its auth object (borrowed: valid while
 * the socket is; {} when the client sent none), its server. */
ROSTER_EXTERN const char *
roster_socketio_socket_id(const roster_socketio_socket *s);
ROSTER_EXTERN const char *
roster_socketio_socket_nsp(const roster_socketio_socket *s);
ROSTER_EXTERN const char *
roster_socketio_socket_transport(roster_socketio_socket *s);
ROSTER_EXTERN const json_t *
roster_socketio_socket_auth(const roster_socketio_socket *s);
ROSTER_EXTERN roster_socketio *
roster_socketio_socket_server(const roster_socketio_socket *s);
ROSTER_EXTERN bool roster_socketio_socket_connected(roster_socketio_socket *s);

/* roster_socketio_socket_set_data stores one pointer of the caller's;
 * free_fn (may be NULL) frees it when it is replaced or when the socket's
 * memory goes (after the last release). _data reads it. Any thread. */
ROSTER_EXTERN void roster_socketio_socket_set_data(roster_socketio_socket *s,
                                                   void *data,
                                                   void (*free_fn)(void *));
ROSTER_EXTERN void *roster_socketio_socket_data(roster_socketio_socket *s);

/* roster_socketio_socket_join / _leave put the socket in or take it out of
 * room (a registry name: 1 to ROSTER_NAME_MAX bytes, no NUL). Joining a
 * room it is in, or leaving one it is not in, is ROSTER_OK.
 * ROSTER_EINVAL (a bad room), ROSTER_ESTATE (disconnected),
 * ROSTER_ENOMEM. _in tells whether it is in room. Any thread. */
ROSTER_EXTERN int roster_socketio_socket_join(roster_socketio_socket *s,
                                              const char *room);
ROSTER_EXTERN int roster_socketio_socket_leave(roster_socketio_socket *s,
                                               const char *room);
ROSTER_EXTERN bool roster_socketio_socket_in(roster_socketio_socket *s,
                                             const char *room);

/* roster_socketio_socket_emit sends event to this socket only (errors as
 * roster_socketio_emit, and ROSTER_ESTATE when it is disconnected;
 * ROSTER_EBUSY when is_volatile and its connection is over its bound). */
ROSTER_EXTERN int roster_socketio_socket_emit(roster_socketio_socket *s,
                                              const char *event,
                                              const json_t *args,
                                              const roster_socketio_bin *bins,
                                              size_t nbin);

/* roster_socketio_ack_fn: the client's answer to an emit with an ack.
 * rc: ROSTER_OK with its args (an array) and bins, valid during the call;
 * ROSTER_ETIMEDOUT (no answer in time) or ROSTER_ESTATE (the socket
 * disconnected first), with args NULL. */
typedef void (*roster_socketio_ack_fn)(roster_socketio_socket *s, int rc,
                                       const json_t *args,
                                       const roster_socketio_bin *bins,
                                       size_t nbin, void *arg);

/* roster_socketio_socket_emit_ack sends event asking for an answer: fn
 * runs exactly once (see Threads), within timeout_ms (0: 10000) of the
 * call. If the call fails fn is not called. */
ROSTER_EXTERN int roster_socketio_socket_emit_ack(
    roster_socketio_socket *s, const char *event, const json_t *args,
    const roster_socketio_bin *bins, size_t nbin, int64_t timeout_ms,
    roster_socketio_ack_fn fn, void *arg);

/* roster_socketio_ack answers the client's event ev->ack_id with args (an
 * array, borrowed; NULL: none) and bins. Any thread. Answer each id once:
 * roster does not track ids it was given, and the client ignores an answer
 * to an id it no longer waits for.
 * ROSTER_EINVAL (id < 0, bad args), ROSTER_ESTATE (disconnected). */
ROSTER_EXTERN int roster_socketio_ack(roster_socketio_socket *s, int64_t ack_id,
                                      const json_t *args,
                                      const roster_socketio_bin *bins,
                                      size_t nbin);

/* roster_socketio_socket_disconnect ends the socket: the client gets
 * DISCONNECT for its namespace ("server namespace disconnect");
 * close_connection also ends every other socket of the client's
 * connection the same way (each namespace gets DISCONNECT, as
 * socket.io's disconnect(true)), then closes the connection.
 * Disconnecting again is ROSTER_OK. Any thread. */
ROSTER_EXTERN int roster_socketio_socket_disconnect(roster_socketio_socket *s,
                                                    bool close_connection);

/* ---- the logger ---- */

/* roster_socketio_log_sink adds a sink to log that emits each line at or
 * above level as event (NULL: "log") with one argument
 * {"level": "info", "line": "<the formatted line>"} to room (NULL: every
 * socket) of nsp (NULL: "/"), volatile: it never blocks the logger, and
 * a connection that cannot take a line loses it (counted in the server's
 * dropped). The emit logs nothing, so it cannot loop. The sink holds io:
 * remove it (roster_log_sink_remove with *id) before freeing io.
 * ROSTER_EINVAL, ROSTER_ENOMEM, or the logger's errors. */
ROSTER_EXTERN int roster_socketio_log_sink(roster_socketio *io, roster_log *log,
                                           int level, const char *nsp,
                                           const char *room, const char *event,
                                           uint64_t *id);

/* ---- in the registry ---- */

/* roster_socketio_type: the descriptor of servers in a registry; destroy
 * stops (5 s) and frees. */
ROSTER_EXTERN extern const roster_type roster_socketio_type;

/* roster_socketio_find finds the server registered as (ns, name). Errors
 * as roster_get (ROSTER_ETYPE for an entry of another type). */
ROSTER_EXTERN int roster_socketio_find(roster *r, const char *ns,
                                       const char *name, roster_socketio **out);

/* roster_socketio_init registers the socketio:// driver: a URL
 * socketio://host:port/path declares a server service (made and started
 * by roster_start), with options (in the query or in opts)
 * ping_interval, ping_timeout (ms), max_payload (bytes), max_connections,
 * max_queue (bytes), slow_timeout (ms), origins (comma-separated),
 * and the option of each registered adapter kind (redis=<a Redis client
 * service>, once roster_sio_redis_init has run). Declaring the same name with
 * the same URL again is the same server. */
ROSTER_EXTERN int roster_socketio_init(void);

#ifdef __cplusplus
}
#endif

#endif /* ROSTER_SOCKETIO_H */
