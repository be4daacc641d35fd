/*
 * roster/sio_redis.h: Socket.IO across nodes on Redis pub/sub
 * (modules/sio_redis, library roster_sio_redis, pkg-config
 * roster_sio_redis; on roster_socketio, roster_redis and msgpack-c).
 *
 * An adapter (roster/socketio.h) for one server: every broadcast of the
 * server (roster_socketio_emit: to all, to rooms, with exceptions,
 * volatile, with binary arguments) is published to Redis, and what other
 * nodes publish is delivered to this server's sockets only
 * (roster_socketio_emit_local), never published again. It speaks the
 * format of Node's @socket.io/redis-adapter 8 and
 * @socket.io/redis-emitter 5, so roster servers and Node socket.io
 * servers are one cluster, and a Node process with the emitter emits into
 * roster's servers:
 *   - broadcasts: msgpack [uid, {type: 2, data: [event, args...], nsp},
 *     {rooms, except, flags}] on "<key>#<nsp>#" (or "<key>#<nsp>#<room>#"
 *     for exactly one room); a node ignores its own uid;
 *   - requests (JSON) on "<key>-request#<nsp>#", responses on
 *     "<key>-response#<nsp>#": the rooms of every node (ALL_ROOMS), the
 *     sockets in rooms (SOCKETS), and, answered for Node's
 *     fetchSockets(), REMOTE_FETCH. A request waits for as many answers
 *     as PUBSUB NUMSUB counts subscribers of the request channel;
 *   - events between servers (SERVER_SIDE_EMIT), both ways, without
 *     acknowledgements (a Node server that asks for one gets no answer
 *     from roster's nodes).
 * key is "socket.io" unless set. Each namespace of the server is
 * subscribed as it is made.
 *
 * Sending never blocks an emit: the message is encoded on the emitting
 * thread and queued (max_queue bytes); the adapter's thread
 * ("roster-sior") publishes what is queued in one pipeline. With Redis
 * down, local emits go on as before: publishes fail (counted in
 * publish_errors), a full queue drops broadcasts (counted in dropped),
 * the subscriber reconnects with backoff and subscribes again, and
 * publishing resumes on a new connection of the client's pool.
 * Broadcasts are not kept for a node that was away (as Node's adapter).
 *
 * Threads: received broadcasts are delivered on the subscriber's thread;
 * requests from other nodes are answered there. Every call here is
 * thread-safe. roster_sio_redis_rooms and _sockets block (up to their
 * timeout): not from a Socket.IO handler (it would hold the server's I/O
 * thread) nor from the adapter's threads.
 *
 * Errors: roster codes with a sentence in roster_last_error().
 */
#ifndef ROSTER_SIO_REDIS_H
#define ROSTER_SIO_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "redis.h"
#include "socketio.h"

#ifdef __cplusplus
extern "C" {
#endif

/* roster_sio_redis: one server's adapter. Opaque. */
typedef struct roster_sio_redis roster_sio_redis;

/* roster_sio_redis_server_event_fn: an event another node sent to the
 * servers of the cluster (socket.io's serverSideEmit), not to clients:
 * data is [event, args...] (borrowed for the call), in namespace nsp. It
 * runs on the subscriber's thread; it should not block. */
typedef void (*roster_sio_redis_server_event_fn)(roster_sio_redis *a,
                                                 const char *nsp,
                                                 const json_t *data, void *arg);

/* roster_sio_redis_options: {0} gives the defaults shown. */
typedef struct roster_sio_redis_options {
  const char *key;             /* the channels' prefix; NULL: "socket.io"
                                  (Node's key option); copied */
  int64_t requests_timeout_ms; /* a request's default; 0: 5000 */
  size_t max_queue;            /* bytes queued to publish; 0: 8 MiB */
  roster_sio_redis_server_event_fn on_server_event; /* NULL: ignored */
  void *server_event_arg;
} roster_sio_redis_options;

/* roster_sio_redis_attach makes an adapter on cli (borrowed: it must
 * outlive the adapter; the subscriber has a connection of its own) and
 * sets it on io (roster_socketio_set_adapter): io owns it from then, and
 * frees it when freed or when another adapter (or NULL) is set; *out (may
 * be NULL) is valid until then. o may be NULL. ROSTER_EINVAL,
 * ROSTER_ENOMEM, ROSTER_ESYS (no thread). Redis being down is not an
 * error. */
ROSTER_EXTERN int roster_sio_redis_attach(roster_socketio *io,
                                          roster_redis *cli,
                                          const roster_sio_redis_options *o,
                                          roster_sio_redis **out);

/* roster_sio_redis_uid: the node's uid in the messages (12 characters). */
ROSTER_EXTERN const char *roster_sio_redis_uid(const roster_sio_redis *a);

/* roster_sio_redis_names: a set of names, sorted; free with
 * roster_sio_redis_names_free. */
typedef struct roster_sio_redis_names {
  size_t count;
  char **names;
} roster_sio_redis_names;
ROSTER_EXTERN void roster_sio_redis_names_free(roster_sio_redis_names *n);

/* roster_sio_redis_rooms fills *out with the rooms of namespace nsp (NULL:
 * "/") on every node (as socket.io's allRooms(): each socket's own-id
 * room too); roster_sio_redis_sockets with the ids of the sockets of nsp
 * in any of rooms (NULL-terminated; NULL or empty: every socket) on every
 * node, so out->count is the cluster's socket count. They wait up to
 * timeout_ms (0: the adapter's requests_timeout) for every other node's
 * answer: ROSTER_ETIMEDOUT when some did not answer, *out then holding
 * what came. ROSTER_EINVAL, ROSTER_ECONN and the client's errors (Redis is
 * down: *out is empty), ROSTER_ENOMEM. */
ROSTER_EXTERN int roster_sio_redis_rooms(roster_sio_redis *a, const char *nsp,
                                         int64_t timeout_ms,
                                         roster_sio_redis_names *out);
ROSTER_EXTERN int roster_sio_redis_sockets(roster_sio_redis *a, const char *nsp,
                                           const char *const *rooms,
                                           int64_t timeout_ms,
                                           roster_sio_redis_names *out);

/* roster_sio_redis_server_emit sends event with args (an array or NULL;
 * JSON only, no binary) to the other servers of the cluster in nsp (NULL:
 * "/"), as socket.io's serverSideEmit (without an acknowledgement): Node
 * servers get it as io.on(event), roster nodes in their on_server_event.
 * Queued as a broadcast is (never blocks). ROSTER_EINVAL (no event, args
 * not an array), ROSTER_EBUSY (the queue is full), ROSTER_ENOMEM. */
ROSTER_EXTERN int roster_sio_redis_server_emit(roster_sio_redis *a,
                                               const char *nsp,
                                               const char *event,
                                               const json_t *args);

/* roster_sio_redis_stats: counters since the adapter was made. */
typedef struct roster_sio_redis_stats {
  bool connected;              /* the subscriber is up, every channel
                                  subscribed */
  uint64_t published;          /* messages Redis took (broadcasts, requests,
                                  answers) */
  uint64_t publish_errors;     /* messages Redis did not take (down) */
  uint64_t dropped;            /* broadcasts not queued: over max_queue */
  uint64_t received;           /* broadcasts from other nodes delivered here */
  uint64_t ignored;            /* broadcasts not for this node (its own, a
                                  room with no socket here) */
  uint64_t malformed;          /* messages that did not decode, or that the
                                  server refused (a reserved event name) */
  uint64_t requests;           /* requests made to the other nodes */
  uint64_t requests_timed_out; /* of which some node did not answer */
  uint64_t answered;           /* requests of other nodes answered or
                                  carried out (server events handed to
                                  on_server_event too) */
} roster_sio_redis_stats;

/* roster_sio_redis_stats_get fills *out. ROSTER_EINVAL for NULL. */
ROSTER_EXTERN int roster_sio_redis_stats_get(roster_sio_redis *a,
                                             roster_sio_redis_stats *out);

/* roster_sio_redis_init registers the adapter kind "redis" with the
 * socketio:// driver (and both drivers, roster_socketio_init and
 * roster_redis_init): a server service with the option redis=<name> gets
 * an adapter on the Redis client service <name> of its registry (in the
 * default namespace; "ns/name" names another), held by reference
 * (roster_acquire) while the adapter lives; redis_key, redis_timeout (ms)
 * and redis_queue (bytes) set the options.
 * Thread-safe; again is ROSTER_OK. */
ROSTER_EXTERN int roster_sio_redis_init(void);

#ifdef __cplusplus
}
#endif

#endif /* ROSTER_SIO_REDIS_H */
