/*
 * roster/redis.h: the Redis module (modules/redis, library roster_redis,
 * on hiredis): a pooled Redis client, replies of every RESP2 type,
 * pipelines, pub/sub on a thread of its own, and the redis:// backend of
 * the cache service (roster/cache.h).
 *
 * A roster_redis is a client for one server and database: a pool of
 * connections (roster/pool.h) made on demand, each authenticated (AUTH)
 * and switched to the URL's database (SELECT) when it connects. Every call
 * borrows a connection for one round trip and gives it back, so one client
 * serves any number of threads. Commands are argument vectors, sent as
 * they are: binary-safe, never a format string.
 *
 * URLs: redis://[[user]:password@]host[:port][/db] (port 6379, db 0) and
 * unix:///path/to/redis.sock[?db=N]. Query options (or a configuration
 * entry's other keys; "pool.max" is read as "pool_max"), durations in
 * milliseconds:
 *   connect_timeout  connecting, AUTH and SELECT; 5000
 *   timeout          each command's reply; 10000; 0: none
 *   pool_max         connections at most; 10
 *   pool_min         connections kept idle; 0
 *   pool_timeout     waiting for a free connection; 5000
 *   pool_idle_timeout, pool_max_lifetime, pool_validate_after,
 *   pool_leak_threshold  as roster_pool_options (defaults there)
 *   password, user   for unix:// URLs, which have no user info
 *   db               unix:// only (redis:// takes it from the path)
 *   kind             "client" (the default) or "cache": what a declared
 *                    service is (see Registry below)
 *   prefix           cache only: the key prefix of the cache's keys
 * An unknown key or a bad value is ROSTER_EINVAL naming it.
 *
 * Replies: ROSTER_OK means a reply was read. A reply that is a Redis error
 * makes roster_redis_command return ROSTER_EREMOTE with the server's text
 * verbatim in the detail (and the reply itself in *out); in a pipeline,
 * each reply says for itself. A connection that fails (refused, reset,
 * closed, a timeout, a protocol error) is ROSTER_ECONN or ROSTER_ETIMEDOUT
 * with hiredis's message kept verbatim; that connection is closed, never
 * reused.
 *
 * Reconnects: after a server restart the pool's connections are dead. A
 * connection is checked before it is used (one non-blocking peek at its
 * socket, unless it was in use less than a millisecond ago: a closed or
 * reset connection, or one with bytes nobody asked for, is closed and
 * another taken), and idle ones are pinged by the pool, so the first
 * command after a restart goes to a new connection.
 * Commands are never re-sent: one that was under way when the server went
 * away fails with ROSTER_ECONN (it may or may not have run).
 *
 * Passwords never appear in error details or logs: a client is named by
 * its name and host:port (or socket path).
 *
 * Threads: every call is thread-safe except the _free calls (no other
 * call on the same object may race with them). Calls block on the network
 * (bounded by the timeouts) and on the pool (pool_timeout). A connection
 * (a redisContext, not thread-safe) is only ever used by the one thread
 * that holds it. Pub/sub callbacks run on the subscriber's own thread.
 *
 * Memory: roster's own structures come from roster's allocator hooks
 * (roster/alloc.h); hiredis 0.14 allocates its contexts and reply objects
 * with the C library's malloc, which it cannot be told otherwise.
 */
#ifndef ROSTER_REDIS_H
#define ROSTER_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "pool.h"
#include "registry.h"

#ifdef __cplusplus
extern "C" {
#endif

/* hiredis's connection, for roster_redis_acquire; include <hiredis.h> to
 * use it. */
struct redisContext;

/* roster_redis_init registers what the module provides: the redis:// and
 * unix:// drivers (roster/driver.h) and the redis:// and unix:// cache
 * backends (roster/cache.h). Call it once before declaring services from
 * URLs or opening caches by URL; calling it again is a no-op. Returns
 * ROSTER_OK, or the first registration's error (ROSTER_EEXIST if another
 * module holds one of the schemes). Thread-safe. */
ROSTER_EXTERN int roster_redis_init(void);

/* ------------------------------------------------------------------ */
/* The client                                                          */

/* roster_redis: a client for one Redis server and database. Opaque; made
 * by roster_redis_open, freed by roster_redis_free (or by the registry,
 * for a declared service). */
typedef struct roster_redis roster_redis;

/* roster_redis_options: what code sets; {0} means the defaults shown in
 * the file comment. The URL's query and opts override these fields. */
typedef struct roster_redis_options {
  const char *name;           /* in details and the pool's name; copied;
                                 NULL: "redis" */
  int64_t connect_timeout_ms; /* 0: 5000 */
  int64_t timeout_ms;         /* each reply; 0: 10000; < 0: none */
  unsigned pool_max;          /* 0: 10 */
  unsigned pool_min;          /* 0: none kept idle */
  int64_t pool_timeout_ms;    /* 0: 5000; < 0: wait without limit */
} roster_redis_options;

/* roster_redis_open makes a client for url (see the file comment) into
 * *out. opts is NULL or a NULL-terminated array of key, value pairs read
 * like the query ({"pool_max", "4", NULL}). o may be NULL. It opens
 * pool_min connections before it returns (none by default: a server that
 * is down is found by the first command, or by roster_redis_health).
 * Errors (*out is NULL): ROSTER_EINVAL for a NULL url or out, a scheme
 * other than redis or unix, a bad option (named); ROSTER_EPARSE for a
 * malformed URL; a connect's ROSTER_ECONN / ROSTER_EREMOTE (AUTH or
 * SELECT refused: the server's text) when pool_min > 0; ROSTER_ENOMEM. */
ROSTER_EXTERN int roster_redis_open(const char *url, const char *const *opts,
                                    const roster_redis_options *o,
                                    roster_redis **out);

/* roster_redis_free frees cli: its pool is drained (idle connections
 * closed) and its memory freed. A cache made from cli
 * (roster_redis_cache_new) holds the client: then that happens when the
 * last such cache is freed. A subscriber has a connection and a copy of
 * the settings of its own, so it outlives cli anyway. NULL is a no-op. */
ROSTER_EXTERN void roster_redis_free(roster_redis *cli);

/* roster_redis_name returns the client's name ("" for NULL). */
ROSTER_EXTERN const char *roster_redis_name(const roster_redis *cli);

/* roster_redis_pool returns the client's connection pool, for
 * roster_pool_stats_get (do not acquire from it or free it). */
ROSTER_EXTERN roster_pool *roster_redis_pool(roster_redis *cli);

/* roster_redis_health sends PING on a pooled connection: ROSTER_OK when the
 * server answers PONG, else the error (ROSTER_ECONN with hiredis's
 * message, ROSTER_EREMOTE with the server's: "LOADING ...", say). It is
 * the health check of Redis services. */
ROSTER_EXTERN int roster_redis_health(roster_redis *cli);

/* ------------------------------------------------------------------ */
/* Replies                                                             */

/* roster_redis_reply_kind: the RESP2 reply types. */
typedef enum roster_redis_reply_kind {
  ROSTER_REDIS_STRING = 1,  /* a bulk string: any bytes ($) */
  ROSTER_REDIS_ARRAY = 2,   /* an array of replies (*) */
  ROSTER_REDIS_INTEGER = 3, /* a signed 64-bit integer (:) */
  ROSTER_REDIS_NIL = 4,     /* a null bulk string or array ($-1, *-1) */
  ROSTER_REDIS_STATUS = 5,  /* a simple string: "OK", "PONG" (+) */
  ROSTER_REDIS_ERROR = 6,   /* an error: "WRONGTYPE Operation ..." (-) */
} roster_redis_reply_kind;

/* roster_redis_reply_kind_name: "string", "array", "integer", "nil",
 * "status", "error", or "?". */
ROSTER_EXTERN const char *
roster_redis_reply_kind_name(roster_redis_reply_kind type);

/* roster_redis_reply: one reply, read-only. A top-level reply owns its
 * elements and strings (one roster_redis_reply_free frees all of it). */
typedef struct roster_redis_reply roster_redis_reply;
struct roster_redis_reply {
  roster_redis_reply_kind type;
  const char *str; /* STRING, STATUS, ERROR: the bytes, NUL-terminated
                      (a STRING may hold NULs too: use len); else NULL */
  size_t len;      /* bytes in str */
  int64_t integer; /* INTEGER */
  size_t elements; /* ARRAY: how many (0 for an empty array) */
  const roster_redis_reply *element; /* ARRAY: element[0..elements-1];
                                        NULL when empty */
};

/* roster_redis_reply_free frees a top-level reply (from
 * roster_redis_command, roster_redis_call or roster_redis_pipeline_exec),
 * its elements and strings. NULL is a no-op. Never pass an element. */
ROSTER_EXTERN void roster_redis_reply_free(roster_redis_reply *reply);

/* ------------------------------------------------------------------ */
/* Commands                                                            */

/* ROSTER_REDIS_ARGS_MAX: the most arguments one command may have. */
#define ROSTER_REDIS_ARGS_MAX (1024 * 1024)

/* roster_redis_command sends one command, argc arguments argv[i] of
 * argvlen[i] bytes (argvlen NULL: each is a C string, strlen), on a pooled
 * connection and reads its reply into *out (out may be NULL: the reply is
 * checked and freed). Returns ROSTER_OK with the reply (which may be NIL);
 * ROSTER_EREMOTE when the reply is a Redis error: the detail names the
 * client and the command and holds the server's text verbatim, and *out
 * holds the error reply (type ERROR) so the caller may read its first word
 * ("WRONGTYPE"). Otherwise *out is NULL: ROSTER_ECONN or ROSTER_ETIMEDOUT
 * (the connection failed; hiredis's message), ROSTER_ETIMEDOUT also when
 * no connection was free within pool_timeout, ROSTER_EINVAL for a NULL
 * cli, argc 0 or over ROSTER_REDIS_ARGS_MAX, a NULL argv or argument, or a
 * command that would change the pooled connection for the next user
 * (SELECT, AUTH, HELLO, RESET, QUIT, MULTI, WATCH, SUBSCRIBE and the other
 * pub/sub commands, MONITOR, SYNC, PSYNC, CLIENT REPLY): use a pipeline
 * for MULTI ... EXEC, a subscriber for pub/sub, roster_redis_acquire for
 * the rest. Blocks for one round trip. */
ROSTER_EXTERN int roster_redis_command(roster_redis *cli, size_t argc,
                                       const char *const *argv,
                                       const size_t *argvlen,
                                       roster_redis_reply **out);

/* roster_redis_call is roster_redis_command for C-string arguments, given
 * as a NULL-terminated list: roster_redis_call(cli, &r, "SET", "k", "v",
 * NULL). Each string is one argument as it is (no formatting). */
ROSTER_EXTERN int roster_redis_call(roster_redis *cli, roster_redis_reply **out,
                                    const char *arg0, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((sentinel))
#endif
    ;

/* roster_redis_publish sends PUBLISH channel message (both binary) and
 * stores in *receivers (may be NULL) how many subscribers got it. Errors
 * as roster_redis_command. */
ROSTER_EXTERN int roster_redis_publish(roster_redis *cli, const void *channel,
                                       size_t channel_len, const void *message,
                                       size_t message_len, int64_t *receivers);

/* ------------------------------------------------------------------ */
/* Pipelines                                                           */

/* roster_redis_pipeline: commands queued to be sent together on one
 * connection, their replies read back in one go: one round trip for all
 * of them. Made by roster_redis_pipeline_new, freed by
 * roster_redis_pipeline_free. Not thread-safe: one thread builds and runs
 * a pipeline at a time. */
typedef struct roster_redis_pipeline roster_redis_pipeline;

/* roster_redis_pipeline_new makes an empty pipeline on cli (which must
 * outlive it). ROSTER_EINVAL for NULL arguments, ROSTER_ENOMEM. */
ROSTER_EXTERN int roster_redis_pipeline_new(roster_redis *cli,
                                            roster_redis_pipeline **out);

/* roster_redis_pipeline_free frees p and what it holds. NULL is a no-op. */
ROSTER_EXTERN void roster_redis_pipeline_free(roster_redis_pipeline *p);

/* roster_redis_pipeline_add queues one command, copied (arguments as for
 * roster_redis_command). MULTI, EXEC, DISCARD, WATCH and UNWATCH are
 * allowed here; the other commands roster_redis_command refuses are
 * refused here too. Errors change nothing: ROSTER_EINVAL, ROSTER_ENOMEM. */
ROSTER_EXTERN int roster_redis_pipeline_add(roster_redis_pipeline *p,
                                            size_t argc,
                                            const char *const *argv,
                                            const size_t *argvlen);

/* roster_redis_pipeline_count returns how many commands are queued. */
ROSTER_EXTERN size_t
roster_redis_pipeline_count(const roster_redis_pipeline *p);

/* roster_redis_pipeline_exec sends every queued command on one pooled
 * connection, reads every reply, and stores them in *out as one ARRAY
 * reply whose element[i] is command i's reply (an ERROR reply for a
 * command Redis refused: the call is still ROSTER_OK). The pipeline is
 * emptied either way and may be reused. ROSTER_EINVAL for an empty
 * pipeline or NULL arguments; ROSTER_ECONN / ROSTER_ETIMEDOUT if the
 * connection failed on the way (some commands may have run; *out is
 * NULL). A pipeline that leaves a MULTI or a WATCH open gets its
 * connection closed rather than handed to the next user. */
ROSTER_EXTERN int roster_redis_pipeline_exec(roster_redis_pipeline *p,
                                             roster_redis_reply **out);

/* ------------------------------------------------------------------ */
/* A raw connection                                                    */

/* roster_redis_acquire borrows one of cli's connections as a hiredis
 * context (authenticated, on the URL's database, with the command timeout
 * set), for what this API does not cover: WATCH ... MULTI ... EXEC across
 * round trips, blocking commands you want to wait on longer. It is the
 * caller's alone until roster_redis_release. Use hiredis's argv calls on
 * it; leave it as you found it (the database selected, no transaction or
 * subscription open), or release it as broken. Errors as the pool's
 * acquire (ROSTER_ETIMEDOUT, ROSTER_ECONN, ...); *out is NULL then. */
ROSTER_EXTERN int roster_redis_acquire(roster_redis *cli,
                                       struct redisContext **out);

/* roster_redis_release gives ctx back. broken = true (or a context whose
 * err is set) closes it. ROSTER_EINVAL for a context cli did not lend. */
ROSTER_EXTERN int roster_redis_release(roster_redis *cli,
                                       struct redisContext *ctx, bool broken);

/* ------------------------------------------------------------------ */
/* Pub/sub                                                             */

/* roster_redis_message: one message, as given to a callback. Valid only
 * during the call. */
typedef struct roster_redis_message {
  const char *pattern; /* the pattern that matched (PSUBSCRIBE), or NULL */
  size_t pattern_len;
  const char *channel; /* the channel it was published to */
  size_t channel_len;
  const char *data; /* the message (binary; NUL-terminated too) */
  size_t len;
} roster_redis_message;

/* roster_redis_message_fn receives a message. It runs on the subscriber's
 * thread, with no roster or subscriber lock held, one message at a time in
 * the order the server sent them. It may call roster_redis_subscribe and
 * roster_redis_unsubscribe (which do not wait there) and use any client,
 * but should not block for long: the subscriber reads nothing meanwhile. */
typedef void (*roster_redis_message_fn)(void *arg,
                                        const roster_redis_message *msg);

/* roster_redis_state_fn is told when the subscriber's connection goes
 * down (up = false, detail: why, hiredis's or the server's text) and when
 * it is back with every subscription made again (up = true, detail ""),
 * on the subscriber's thread. */
typedef void (*roster_redis_state_fn)(void *arg, bool up, const char *detail);

/* roster_redis_subscriber: a connection of its own (not from the pool) in
 * subscribe mode, and a thread that reads it and calls the callbacks. When
 * the connection is lost it reconnects, with backoff, and subscribes to
 * every channel and pattern again. */
typedef struct roster_redis_subscriber roster_redis_subscriber;

/* roster_redis_subscriber_options: {0} = defaults. */
typedef struct roster_redis_subscriber_options {
  roster_redis_state_fn on_state; /* optional */
  void *state_arg;                /* passed to on_state */
  int64_t backoff_min_ms;         /* first reconnect delay; 0: 50 */
  int64_t backoff_max_ms;         /* delay cap (doubles, jittered); 0: 2000 */
} roster_redis_subscriber_options;

/* roster_redis_subscriber_new makes a subscriber on cli's server (cli's
 * URL, password and timeouts; cli may be freed before it) and starts its
 * thread, which connects at once. o may be NULL. ROSTER_EINVAL, ROSTER_ENOMEM,
 * ROSTER_ESYS (no thread). A server that is down is not an error: the
 * thread keeps trying. */
ROSTER_EXTERN int
roster_redis_subscriber_new(roster_redis *cli,
                            const roster_redis_subscriber_options *o,
                            roster_redis_subscriber **out);

/* roster_redis_subscriber_free stops the thread, closes the connection and
 * frees sub; when it returns no callback is running or will run. Must not
 * be called from a callback. NULL is a no-op. */
ROSTER_EXTERN void roster_redis_subscriber_free(roster_redis_subscriber *sub);

/* roster_redis_subscribe calls fn(arg, msg) for every message published to
 * channel (binary, 1 to 65536 bytes) from now on. It waits, up to the
 * client's command timeout, for the server to confirm: ROSTER_OK once it
 * has. ROSTER_ETIMEDOUT if it has not (the server is down, say): the
 * subscription stays and is made as soon as the connection is back (call
 * roster_redis_unsubscribe to drop it). ROSTER_EEXIST if channel is
 * already subscribed on sub, ROSTER_EINVAL for NULL arguments or a bad
 * channel; both change nothing. Called from a callback it does not wait
 * (ROSTER_OK; the confirmation comes later). */
ROSTER_EXTERN int roster_redis_subscribe(roster_redis_subscriber *sub,
                                         const void *channel, size_t len,
                                         roster_redis_message_fn fn, void *arg);

/* roster_redis_psubscribe is roster_redis_subscribe for a glob pattern
 * (PSUBSCRIBE: "news.*"); msg->pattern names it. */
ROSTER_EXTERN int roster_redis_psubscribe(roster_redis_subscriber *sub,
                                          const void *pattern, size_t len,
                                          roster_redis_message_fn fn,
                                          void *arg);

/* roster_redis_unsubscribe drops the subscription to channel: once it
 * returns, its callback is not running (unless this is that callback) and
 * will not be called again, so arg may be freed. ROSTER_ENOENT if channel
 * is not subscribed. roster_redis_punsubscribe does the same for a
 * pattern. */
ROSTER_EXTERN int roster_redis_unsubscribe(roster_redis_subscriber *sub,
                                           const void *channel, size_t len);
ROSTER_EXTERN int roster_redis_punsubscribe(roster_redis_subscriber *sub,
                                            const void *pattern, size_t len);

/* roster_redis_subscriber_stats: counters from roster_redis_subscriber_new. */
typedef struct roster_redis_subscriber_stats {
  bool connected;    /* the connection is up and every subscription
                        confirmed */
  uint64_t connects; /* connections made (the first one included) */
  uint64_t messages; /* messages handed to callbacks (counted as each
                        call begins) */
  size_t channels;   /* subscriptions to channels */
  size_t patterns;   /* subscriptions to patterns */
} roster_redis_subscriber_stats;

/* roster_redis_subscriber_stats_get fills *out. ROSTER_EINVAL for NULL. */
ROSTER_EXTERN int
roster_redis_subscriber_stats_get(roster_redis_subscriber *sub,
                                  roster_redis_subscriber_stats *out);

/* ------------------------------------------------------------------ */
/* The cache backend                                                   */

/* roster_redis_cache_new makes a cache (roster/cache.h) stored in cli's
 * database, its keys prefixed with prefix (NULL or "": none; at most 1024
 * bytes; binary-safe), sharing cli's connections (cli may be freed before
 * the cache). roster_cache_open("redis://...?prefix=app:", ...) makes one
 * with a client of its own. o as for roster_cache_new. Values are stored
 * as roster/cache.h says a string store keeps them; the patterns use
 * SET NX PX and scripts; clear is SCAN + UNLINK in batches; stats come
 * from INFO and DBSIZE. ROSTER_EINVAL, ROSTER_ENOMEM. */
ROSTER_EXTERN int roster_redis_cache_new(roster_redis *cli, const void *prefix,
                                         size_t prefix_len,
                                         const roster_cache_options *o,
                                         roster_cache **out);

/* ------------------------------------------------------------------ */
/* Registry                                                            */

/* roster_redis_type: the type of Redis client services (destroy frees the
 * client, health is roster_redis_health). */
ROSTER_EXTERN extern const roster_type roster_redis_type;

/* Services from URLs: once roster_redis_init has run,
 * roster_provide_url(r, NULL, "redis", "redis://:pw@127.0.0.1:6379/0",
 * NULL) declares a lazy client service of roster_redis_type, and the same
 * URL with kind=cache (in the query or opts) declares a cache service of
 * roster_cache_type instead (roster_cache_find), with a client of its own.
 * Options are checked when the service is declared. */

/* roster_redis_find stores in *out the Redis client service (ns, name)
 * (ns NULL: the default namespace), creating it if it is lazy and not yet
 * up (ROSTER_DEFINE_FIND). Errors as roster_get (ROSTER_ETYPE if the
 * service is not a Redis client). */
ROSTER_EXTERN int roster_redis_find(roster *r, const char *ns, const char *name,
                                    roster_redis **out);

#ifdef __cplusplus
}
#endif

#endif /* ROSTER_REDIS_H */
