/*
 * redis_impl.h: the Redis module's private header (modules/redis only).
 *
 * The module is built on roster's public API (it sees none of the core's
 * internals) and hiredis. This header holds the client's structure, the
 * parsed configuration shared by the client, the subscriber and the cache
 * backend, and the internal calls they share: borrowing a checked
 * connection, one command or a batch of commands on it with hiredis's raw
 * replies, and the sentences for failures. Never installed.
 */
#ifndef ROSTER_REDIS_IMPL_H
#define ROSTER_REDIS_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis.h>

#include "roster.h"
#include "roster/redis.h"

#define RR_LIKELY(x) __builtin_expect(!!(x), 1)
#define RR_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ---- configuration (conf.c) ----------------------------------------- */

/* rr_conf: a parsed redis:// or unix:// URL with its options. Strings are
 * roster memory, owned. */
typedef struct rr_conf {
  bool is_unix;
  char *host;         /* TCP: the host ("127.0.0.1", "::1") */
  int port;           /* TCP: 6379 unless given */
  char *path;         /* unix: the socket's path */
  int db;             /* SELECTed on connect when not 0 */
  char *user;         /* AUTH user password, Redis 6 ACLs; or NULL */
  char *password;     /* AUTH password; or NULL: no AUTH */
  int64_t connect_ms; /* > 0 */
  int64_t timeout_ms; /* <= 0: none */
  unsigned pool_max, pool_min;
  int64_t pool_timeout_ms;
  int64_t pool_idle_ms, pool_life_ms, pool_validate_ms, pool_leak_ms;
  bool set_idle, set_life, set_validate, set_leak;
  bool kind_cache;       /* kind=cache */
  unsigned char *prefix; /* prefix=..., cache only; NULL if none */
  size_t prefix_len;
  char name[64];   /* the client's name */
  char where[300]; /* "127.0.0.1:6379/0", "/run/redis.sock?db=2":
                      in details, never with the password */
} rr_conf;

/* RR_PREFIX_MAX: the longest cache key prefix. */
#define RR_PREFIX_MAX 1024

/* roster__redis_conf_parse fills *c from url (its text, for roster_url_parse)
 * and opts, over the code's settings o (NULL: defaults). allow_cache lets the
 * cache's own keys (prefix) through. ROSTER_EINVAL / ROSTER_EPARSE with a
 * detail that never shows the password. On failure nothing is left to
 * free. */
int roster__redis_conf_parse(const char *url, const char *const *opts,
                             const roster_redis_options *o, bool allow_cache,
                             rr_conf *c);

/* roster__redis_conf_from: the same from an already parsed URL. */
int roster__redis_conf_from(const roster_url *u, const char *const *opts,
                            const roster_redis_options *o, bool allow_cache,
                            rr_conf *c);

/* roster__redis_conf_copy deep-copies src into dst. ROSTER_ENOMEM. */
int roster__redis_conf_copy(rr_conf *dst, const rr_conf *src);

/* roster__redis_conf_free frees c's strings (c itself is the caller's). */
void roster__redis_conf_free(rr_conf *c);

/* ---- the client (client.c) ------------------------------------------ */

/* rr_conn: one pooled connection. */
typedef struct rr_conn {
  redisContext *ctx;
  int64_t used_ns; /* CLOCK_MONOTONIC when last given back (or made) */
} rr_conn;

/* RR_TRUST_NS: a connection given back this recently is used without the
 * liveness peek (no Redis restarts within a millisecond; a connection in
 * steady use pays no extra system call). */
#define RR_TRUST_NS 1000000

struct roster_redis {
  atomic_uint refs; /* roster_redis_open's + one per cache and
                       subscriber made from it */
  rr_conf conf;
  roster_pool *pool; /* its free_arg frees this structure */
  /* connections lent raw (roster_redis_acquire), to find their rr_conn
   * from the context handed back */
  pthread_mutex_t lent_lock;
  rr_conn **lent; /* pool_max slots */
};

/* roster__redis_client_new makes a client from conf, which it takes (conf is
 * left empty, also on failure). */
int roster__redis_client_new(rr_conf *conf, roster_redis **out);

/* roster__redis_ref / roster__redis_unref: the client's reference count; the
 * last unref frees the pool (and, once its last connection is closed, the
 * client). */
void roster__redis_ref(roster_redis *cli);
void roster__redis_unref(roster_redis *cli);

/* roster__redis_connect opens one connection for conf: connect, AUTH, SELECT
 * (when select_db), then the command timeout. ROSTER_ECONN / ROSTER_ETIMEDOUT /
 * ROSTER_EREMOTE / ROSTER_ENOMEM with a detail. */
int roster__redis_connect(const rr_conf *conf, bool select_db,
                          redisContext **out);

/* roster__redis_io_error sets the detail for a failed connection (c->err set)
 * during what (a command's name) and returns ROSTER_ECONN or ROSTER_ETIMEDOUT.
 */
int roster__redis_io_error(const rr_conf *conf, const redisContext *c,
                           const char *what);

/* roster__redis_remote sets the detail for an error reply to what and returns
 * ROSTER_EREMOTE. */
int roster__redis_remote(const rr_conf *conf, const redisReply *r,
                         const char *what);

/* roster__redis_acquire borrows a connection that is checked alive (see
 * redis.h); roster__redis_release gives it back, closing it when broken or when
 * its context has an error. */
int roster__redis_acquire(roster_redis *cli, rr_conn **out);
void roster__redis_release(roster_redis *cli, rr_conn *c, bool broken);

/* rr_cmd: one command for roster__redis_run. */
typedef struct rr_cmd {
  int argc;
  const char **argv;
  const size_t *lens;
} rr_cmd;

/* roster__redis_run sends n commands on one borrowed connection and reads their
 * n raw replies into out[] (which the caller frees with freeReplyObject). A
 * reply may be an error reply: that is ROSTER_OK here. ROSTER_ECONN /
 * ROSTER_ETIMEDOUT (the connection is closed, out[] is all NULL), a pool
 * error, ROSTER_ENOMEM. what names the operation in details. discard
 * closes the connection afterwards even when all went well. */
int roster__redis_run(roster_redis *cli, const rr_cmd *cmds, size_t n,
                      redisReply **out, const char *what, bool discard);

/* roster__redis_run1 is roster__redis_run for one command. */
int roster__redis_run1(roster_redis *cli, int argc, const char **argv,
                       const size_t *lens, redisReply **out, const char *what);

/* roster__redis_cmd_name copies argv[0] for details: printable, at most 32
 * bytes. */
const char *roster__redis_cmd_name(char *buf, size_t cap, const char *arg,
                                   size_t len);

/* rr_cmd_class: what a command does to a connection's transaction state. */
enum {
  RR_CMD_PLAIN,
  RR_CMD_MULTI,   /* MULTI */
  RR_CMD_END,     /* EXEC, DISCARD: ends MULTI and WATCH */
  RR_CMD_WATCH,   /* WATCH */
  RR_CMD_UNWATCH, /* UNWATCH */
};

/* roster__redis_check_channel: a channel name for call (publish,
 * subscribe, ...) on client is not NULL, not empty and at most
 * ROSTER_CACHE_KEY_MAX bytes; ROSTER_EINVAL saying which otherwise. */
int roster__redis_check_channel(const char *client, const char *call,
                                const void *name, size_t len);
/* roster__redis_check_command: whether a command (argv[0], argv[1]) may run on
 * a pooled connection; in_pipeline allows the transaction commands. Sets the
 * detail and returns ROSTER_EINVAL if not; else *cls is its RR_CMD_ class. */
int roster__redis_check_command(const rr_conf *conf, size_t argc,
                                const char *const *argv, const size_t *lens,
                                bool in_pipeline, int *cls);

/* roster__redis_check_args: argc, argv and argvlen as the public calls take
 * them. Fills lens (n entries) from argvlen or strlen. ROSTER_EINVAL. */
int roster__redis_check_args(const rr_conf *conf, const char *call, size_t argc,
                             const char *const *argv, const size_t *argvlen,
                             size_t *lens);

/* ---- replies (reply.c) ------------------------------------------------ */

/* roster__redis_reply_wrap turns n raw replies into one roster_redis_reply (n
 * == 1 and !as_array: that reply; else an ARRAY of them) that owns them. NULL
 * on ENOMEM (the raw replies are then freed). */
roster_redis_reply *roster__redis_reply_wrap(redisReply **raw, size_t n,
                                             bool as_array);

/* ---- the cache backend (cache*.c) ------------------------------------ */

/* roster__redis_cache_backend: the cache face of redis:// and unix://. */
extern const roster_cache_backend roster__redis_cache_backend;
/* roster__redis_driver: the module's driver of redis:// and unix://
 * (service.c). */
extern const roster_driver roster__redis_driver;

/* rc_store: one cache's store: a client (a reference held) and the prefix
 * of its keys. */
typedef struct rc_store {
  roster_redis *cli;
  unsigned char *prefix; /* NULL when none */
  size_t plen;
  char *match; /* the prefix with glob characters escaped, for
                  SCAN MATCH; NUL-terminated */
  size_t mlen;
} rc_store;

/* rc_buf: bytes built for one argument (a prefixed key, a tagged value),
 * on the stack when small. */
typedef struct rc_buf {
  char *p;
  size_t n;
  char stack[192];
} rc_buf;

/* roster__rcache_cat sets b to a followed by b2 (either may be empty).
 * ROSTER_ENOMEM with a detail. */
int roster__rcache_cat(rc_buf *b, const void *a, size_t alen, const void *b2,
                       size_t b2len);
void roster__rcache_buf_done(rc_buf *b);

/* roster__rcache_key: b = the store's prefix + key. */
int roster__rcache_key(const rc_store *s, const void *key, size_t klen,
                       rc_buf *b);

/* rc_wrongtype: the ROSTER_ETYPE detail for a Redis WRONGTYPE (or "not an
 * integer") error reply: what the key holds instead of what. */
int roster__rcache_type_error(const rc_store *s, const redisReply *r,
                              const char *want);

/* roster__rcache_reply_error maps an error reply: WRONGTYPE and "not an
 * integer" are ROSTER_ETYPE (want names what was expected), "overflow"
 * ROSTER_ERANGE, anything else ROSTER_EREMOTE; the server's text is kept. */
int roster__rcache_reply_error(const rc_store *s, const redisReply *r,
                               const char *what, const char *want);

/* roster__rcache_unexpected: ROSTER_EPROTO for a reply of the wrong shape. */
int roster__rcache_unexpected(const rc_store *s, const redisReply *r,
                              const char *what);

/* roster__rcache_script runs script which (EVALSHA, then EVAL if the server
 * does not have it) with one key (prefixed here) and nargs arguments; *out is
 * the raw reply (maybe an error reply). Errors as roster__redis_run. */
int roster__rcache_script(const rc_store *s, int which, const void *key,
                          size_t klen, size_t nargs, const char *const *args,
                          const size_t *lens, redisReply **out);

/* The backend's operations in cache_patterns.c (see roster_cache_backend). */
int roster__rcache_clear(void *impl, const void *pattern, size_t plen,
                         size_t *removed);
int roster__rcache_stats(void *impl, roster_cache_stats *out);
int roster__rcache_info(void *impl, struct json_t **out);
int roster__rcache_lock_acquire(void *impl, const void *key, size_t klen,
                                const char *token, int64_t ttl_ms);
int roster__rcache_lock_release(void *impl, const void *key, size_t klen,
                                const char *token);
int roster__rcache_lock_extend(void *impl, const void *key, size_t klen,
                               const char *token, int64_t ttl_ms);
int roster__rcache_rate_fixed(void *impl, const void *key, size_t klen,
                              int64_t limit, int64_t window_ms,
                              roster_cache_rate *out);
int roster__rcache_rate_sliding(void *impl, const void *key, size_t klen,
                                int64_t limit, int64_t window_ms,
                                roster_cache_rate *out);

/* rr_scripts: the Lua scripts the cache backend runs, by number. */
enum {
  RR_SCRIPT_UNLOCK,  /* compare-and-delete */
  RR_SCRIPT_EXTEND,  /* compare-and-pexpire */
  RR_SCRIPT_PERSIST, /* PERSIST, telling a missing key apart */
  RR_SCRIPT_FIXED,   /* fixed window */
  RR_SCRIPT_SLIDING, /* sliding window */
  RR_SCRIPT_COUNT
};

/* roster__redis_script_text / roster__redis_script_sha: a script's text and its
 * SHA-1 (40 hex digits, what SCRIPT LOAD answers; test_redis_cache checks
 * them). */
const char *roster__redis_script_text(int which);
const char *roster__redis_script_sha(int which);

#endif /* ROSTER_REDIS_IMPL_H */
