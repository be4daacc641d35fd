/*
 * client.c: the pooled Redis client (roster/redis.h): connections made by
 * hiredis and lent by roster's generic pool, each checked before use,
 * commands by argument vector, replies, health, raw connections.
 *
 * Only the hiredis calls that 0.14 (Debian 12) and 1.x share are used:
 * redisConnectWithTimeout / redisConnectUnixWithTimeout, redisSetTimeout,
 * redisEnableKeepAlive, redisAppendCommandArgv + redisGetReply (one
 * command or many on one connection), redisCommandArgv for the set-up
 * commands, freeReplyObject, redisFree; and the context's err, errstr and
 * fd fields. No command is ever formatted from a string with user data.
 */
#include "redis_impl.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

static struct timeval ms_tv(int64_t ms) {
  struct timeval tv = {0, 0};
  if (ms > 0) {
    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
  }
  return tv;
}

/* ---- error sentences ------------------------------------------------ */

const char *roster__redis_cmd_name(char *buf, size_t cap, const char *arg,
                                   size_t len) {
  size_t o = 0;
  for (size_t i = 0; arg && i < len && o + 1 < cap && i < 32; i++) {
    unsigned char ch = (unsigned char)arg[i];
    buf[o++] = ch > 32 && ch < 127 ? (char)ch : '?';
  }
  buf[o] = '\0';
  if (!o)
    snprintf(buf, cap, "(command)");
  return buf;
}

int roster__redis_io_error(const rr_conf *conf, const redisContext *c,
                           const char *what) {
  int code = ROSTER_ECONN;
  const char *how = "connection failed";
  switch (c->err) {
  case REDIS_ERR_EOF:
    how = "connection closed";
    break;
  case REDIS_ERR_PROTOCOL:
    how = "protocol error";
    break;
  case REDIS_ERR_OOM:
    code = ROSTER_ENOMEM;
    how = "out of memory";
    break;
  default:
    break;
  }
#ifdef REDIS_ERR_TIMEOUT
  if (c->err == REDIS_ERR_TIMEOUT)
    code = ROSTER_ETIMEDOUT;
#endif
  /* hiredis 0.14 reports a socket timeout as an I/O error with errno's
   * text: EAGAIN while reading, ETIMEDOUT while connecting. */
  if (c->err == REDIS_ERR_IO && (strstr(c->errstr, "timed out") ||
                                 strstr(c->errstr, "temporarily unavailable")))
    code = ROSTER_ETIMEDOUT;
  if (code == ROSTER_ETIMEDOUT)
    how = "timed out";
  return roster_error_set(code, "redis '%s' (%s): %s: %s: %s", conf->name,
                          conf->where, what, how,
                          c->errstr[0] ? c->errstr : "no detail from hiredis");
}

int roster__redis_remote(const rr_conf *conf, const redisReply *r,
                         const char *what) {
  return roster_error_set(
      ROSTER_EREMOTE, "redis '%s' (%s): %s: %.*s", conf->name, conf->where,
      what, (int)(r->len > 700 ? 700 : r->len), r->str ? r->str : "");
}

/* ---- connecting ----------------------------------------------------- */

/* setup runs one set-up command; on failure sets the detail, and the
 * caller frees c. */
static int setup(const rr_conf *conf, redisContext *c, int argc,
                 const char **argv, const char *what) {
  redisReply *r = redisCommandArgv(c, argc, argv, NULL);
  if (!r)
    return roster__redis_io_error(conf, c, what);
  int rc = ROSTER_OK;
  if (r->type == REDIS_REPLY_ERROR)
    rc = roster_error_set(ROSTER_EREMOTE, "redis '%s' (%s): %s refused: %.*s",
                          conf->name, conf->where, what,
                          (int)(r->len > 700 ? 700 : r->len), r->str);
  freeReplyObject(r);
  return rc;
}

int roster__redis_connect(const rr_conf *conf, bool select_db,
                          redisContext **out) {
  *out = NULL;
  struct timeval tv = ms_tv(conf->connect_ms);
  redisContext *c = conf->is_unix
                        ? redisConnectUnixWithTimeout(conf->path, tv)
                        : redisConnectWithTimeout(conf->host, conf->port, tv);
  if (!c)
    return roster_error_set(ROSTER_ENOMEM,
                            "redis '%s' (%s): hiredis could "
                            "not allocate a context",
                            conf->name, conf->where);
  int rc = ROSTER_OK;
  if (c->err)
    rc = roster__redis_io_error(conf, c, "connect");
  /* The connect timeout bounds the set-up commands too. */
  if (!rc && redisSetTimeout(c, tv) != REDIS_OK)
    rc = roster__redis_io_error(conf, c, "setting the timeout");
  if (!rc && !conf->is_unix)
    (void)redisEnableKeepAlive(c); /* best effort: finds dead peers */
  if (!rc && conf->password) {
    const char *argv[3] = {"AUTH", conf->user ? conf->user : conf->password,
                           conf->password};
    rc = setup(conf, c, conf->user ? 3 : 2, argv, "AUTH");
  }
  if (!rc && select_db && conf->db) {
    char db[16];
    snprintf(db, sizeof db, "%d", conf->db);
    const char *argv[2] = {"SELECT", db};
    rc = setup(conf, c, 2, argv, "SELECT");
  }
  if (!rc && redisSetTimeout(c, ms_tv(conf->timeout_ms)) != REDIS_OK)
    rc = roster__redis_io_error(conf, c, "setting the timeout");
  if (rc) {
    redisFree(c);
    return rc;
  }
  *out = c;
  return ROSTER_OK;
}

/* ---- the pool's operations ----------------------------------------- */

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int op_connect(void *arg, void **conn) {
  roster_redis *cli = arg;
  *conn = NULL;
  rr_conn *rc = roster_mem_alloc(sizeof *rc);
  if (!rc)
    return roster_error_set(ROSTER_ENOMEM, "redis '%s': out of memory",
                            cli->conf.name);
  int e = roster__redis_connect(&cli->conf, true, &rc->ctx);
  if (e) {
    roster_mem_free(rc);
    return e;
  }
  rc->used_ns = mono_ns();
  *conn = rc;
  return ROSTER_OK;
}

static void op_close(void *arg, void *conn) {
  (void)arg;
  rr_conn *rc = conn;
  redisFree(rc->ctx);
  roster_mem_free(rc);
}

static int ping(const rr_conf *conf, redisContext *c) {
  const char *argv[1] = {"PING"};
  redisReply *r = redisCommandArgv(c, 1, argv, NULL);
  if (!r)
    return roster__redis_io_error(conf, c, "PING");
  int rc = ROSTER_OK;
  if (r->type == REDIS_REPLY_ERROR)
    rc = roster__redis_remote(conf, r, "PING");
  else if (r->type != REDIS_REPLY_STATUS || strcmp(r->str, "PONG") != 0)
    rc = roster_error_set(ROSTER_EPROTO,
                          "redis '%s' (%s): PING was not "
                          "answered PONG",
                          conf->name, conf->where);
  freeReplyObject(r);
  return rc;
}

static int op_validate(void *arg, void *conn) {
  roster_redis *cli = arg;
  rr_conn *rc = conn;
  return ping(&cli->conf, rc->ctx);
}

static const roster_pool_ops pool_ops = {
    .version = ROSTER_POOL_OPS_VERSION,
    .connect = op_connect,
    .close = op_close,
    .validate = op_validate,
};

static void client_mem_free(void *arg) {
  roster_redis *cli = arg;
  roster__redis_conf_free(&cli->conf);
  pthread_mutex_destroy(&cli->lent_lock);
  roster_mem_free(cli->lent);
  roster_mem_free(cli);
}

void roster__redis_ref(roster_redis *cli) {
  atomic_fetch_add_explicit(&cli->refs, 1, memory_order_relaxed);
}

void roster__redis_unref(roster_redis *cli) {
  if (atomic_fetch_sub_explicit(&cli->refs, 1, memory_order_acq_rel) != 1)
    return;
  /* The pool's free_arg frees the client after its last close. */
  roster_pool_free(cli->pool);
}

/* ---- the client ----------------------------------------------------- */

int roster__redis_client_new(rr_conf *conf, roster_redis **out) {
  *out = NULL;
  roster_redis *cli = roster_mem_calloc(1, sizeof *cli);
  if (!cli) {
    roster__redis_conf_free(conf);
    return roster_error_set(ROSTER_ENOMEM, "redis: out of memory");
  }
  cli->conf = *conf;
  *conf = (rr_conf){0};
  atomic_init(&cli->refs, 1);
  pthread_mutex_init(&cli->lent_lock, NULL);
  cli->lent = roster_mem_calloc(cli->conf.pool_max, sizeof *cli->lent);
  if (!cli->lent) {
    client_mem_free(cli);
    return roster_error_set(ROSTER_ENOMEM, "redis: out of memory");
  }
  const rr_conf *c = &cli->conf;
  roster_pool_options po = {
      .name = c->name,
      .ops = &pool_ops,
      .arg = cli,
      .free_arg = client_mem_free,
      .min_idle = c->pool_min,
      .max_size = c->pool_max,
      .acquire_timeout_ms = c->pool_timeout_ms,
      /* For these four, 0 (also from the URL) is the pool's default. */
      .idle_timeout_ms = c->set_idle ? c->pool_idle_ms : 0,
      .max_lifetime_ms = c->set_life ? c->pool_life_ms : 0,
      .validate_after_ms = c->set_validate ? c->pool_validate_ms : 0,
      .leak_threshold_ms = c->set_leak ? c->pool_leak_ms : 0,
  };
  int rc = roster_pool_new(&po, &cli->pool);
  if (rc) {
    client_mem_free(cli); /* the pool did not take it */
    return rc;
  }
  *out = cli;
  return ROSTER_OK;
}

int roster_redis_open(const char *url, const char *const *opts,
                      const roster_redis_options *o, roster_redis **out) {
  if (!out)
    return roster_error_set(ROSTER_EINVAL, "roster_redis_open: out is NULL");
  *out = NULL;
  rr_conf conf;
  int rc = roster__redis_conf_parse(url, opts, o, false, &conf);
  if (rc)
    return rc;
  if (conf.kind_cache) {
    roster__redis_conf_free(&conf);
    return roster_error_set(ROSTER_EINVAL, "redis: kind=cache makes a cache: "
                                           "open it with roster_cache_open");
  }
  return roster__redis_client_new(&conf, out);
}

void roster_redis_free(roster_redis *cli) {
  if (cli)
    roster__redis_unref(cli);
}

const char *roster_redis_name(const roster_redis *cli) {
  return cli ? cli->conf.name : "";
}

roster_pool *roster_redis_pool(roster_redis *cli) {
  return cli ? cli->pool : NULL;
}

/* ---- borrowing ------------------------------------------------------ */

/* alive: whether a borrowed connection may be used. One given back less
 * than RR_TRUST_NS ago is; else one non-blocking peek at the socket: a
 * live idle connection has nothing to read; a closed one reads 0 bytes
 * (EOF), a reset one an error, and bytes nobody asked for mean the
 * connection is out of step. */
static bool alive(const rr_conn *c) {
  if (c->ctx->err)
    return false;
  if (mono_ns() - c->used_ns < RR_TRUST_NS)
    return true;
  char b;
  ssize_t n = recv(c->ctx->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n >= 0)
    return false;
  return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
}

int roster__redis_acquire(roster_redis *cli, rr_conn **out) {
  /* Each dead connection found is closed, so after at most pool_max of
   * them the next acquire connects anew. */
  for (unsigned tries = 0;; tries++) {
    void *p = NULL;
    int rc = roster_pool_acquire_at(cli->pool, ROSTER_POOL_WAIT_DEFAULT, &p,
                                    __FILE__, __LINE__, __func__);
    if (rc)
      return rc;
    if (RR_LIKELY(alive(p))) {
      *out = p;
      return ROSTER_OK;
    }
    roster_pool_release(cli->pool, p, true);
    if (tries > cli->conf.pool_max + 1)
      return roster_error_set(ROSTER_ECONN,
                              "redis '%s' (%s): every "
                              "connection was dead, new ones too",
                              cli->conf.name, cli->conf.where);
  }
}

void roster__redis_release(roster_redis *cli, rr_conn *c, bool broken) {
  c->used_ns = mono_ns();
  roster_pool_release(cli->pool, c, broken || c->ctx->err != 0);
}

int roster__redis_run(roster_redis *cli, const rr_cmd *cmds, size_t n,
                      redisReply **out, const char *what, bool discard) {
  for (size_t i = 0; i < n; i++)
    out[i] = NULL;
  rr_conn *conn;
  int rc = roster__redis_acquire(cli, &conn);
  if (rc)
    return rc;
  redisContext *c = conn->ctx;
  for (size_t i = 0; i < n && !rc; i++)
    if (redisAppendCommandArgv(c, cmds[i].argc, cmds[i].argv, cmds[i].lens) !=
        REDIS_OK)
      rc = c->err ? roster__redis_io_error(&cli->conf, c, what)
                  : roster_error_set(ROSTER_ENOMEM,
                                     "redis '%s': %s: out of "
                                     "memory",
                                     cli->conf.name, what);
  for (size_t i = 0; i < n && !rc; i++) {
    void *r = NULL;
    if (redisGetReply(c, &r) != REDIS_OK || !r) {
      rc = c->err ? roster__redis_io_error(&cli->conf, c, what)
                  : roster_error_set(ROSTER_EPROTO,
                                     "redis '%s': %s: no "
                                     "reply",
                                     cli->conf.name, what);
      for (size_t k = 0; k < i; k++) {
        freeReplyObject(out[k]);
        out[k] = NULL;
      }
      break;
    }
    out[i] = r;
  }
  roster__redis_release(cli, conn, rc != ROSTER_OK || discard);
  return rc;
}

int roster__redis_run1(roster_redis *cli, int argc, const char **argv,
                       const size_t *lens, redisReply **out, const char *what) {
  rr_cmd cmd = {argc, argv, lens};
  return roster__redis_run(cli, &cmd, 1, out, what, false);
}

/* ---- checking commands ---------------------------------------------- */

static bool is(const char *arg, size_t len, const char *name) {
  size_t n = strlen(name);
  return len == n && strncasecmp(arg, name, n) == 0;
}

int roster__redis_check_command(const rr_conf *conf, size_t argc,
                                const char *const *argv, const size_t *lens,
                                bool in_pipeline, int *cls) {
  static const struct {
    const char *name;
    int cls; /* RR_CMD_ in a pipeline; -1: refused everywhere */
    const char *advice;
  } special[] = {
      {"SELECT", -1,
       "put the database in the URL (redis://host:port/2) or "
       "open another client"},
      {"AUTH", -1, "the URL's password is sent on connect"},
      {"HELLO", -1, "connections speak RESP2, set up from the URL"},
      {"RESET", -1, "connections are set up from the URL"},
      {"QUIT", -1, "roster closes connections itself"},
      {"SUBSCRIBE", -1, "use a subscriber (roster_redis_subscriber_new)"},
      {"PSUBSCRIBE", -1, "use a subscriber (roster_redis_subscriber_new)"},
      {"SSUBSCRIBE", -1, "use a subscriber (roster_redis_subscriber_new)"},
      {"UNSUBSCRIBE", -1, "use a subscriber (roster_redis_subscriber_new)"},
      {"PUNSUBSCRIBE", -1, "use a subscriber (roster_redis_subscriber_new)"},
      {"SUNSUBSCRIBE", -1, "use a subscriber (roster_redis_subscriber_new)"},
      {"MONITOR", -1,
       "borrow a connection (roster_redis_acquire) and "
       "release it as broken"},
      {"SYNC", -1,
       "borrow a connection (roster_redis_acquire) and release "
       "it as broken"},
      {"PSYNC", -1,
       "borrow a connection (roster_redis_acquire) and release "
       "it as broken"},
      {"MULTI", RR_CMD_MULTI,
       "send MULTI ... EXEC in one pipeline "
       "(roster_redis_pipeline_new)"},
      {"WATCH", RR_CMD_WATCH,
       "borrow a connection (roster_redis_acquire) "
       "for WATCH ... MULTI ... EXEC"},
      {"EXEC", RR_CMD_END, NULL},
      {"DISCARD", RR_CMD_END, NULL},
      {"UNWATCH", RR_CMD_UNWATCH, NULL},
  };
  *cls = RR_CMD_PLAIN;
  const char *a0 = argv[0];
  size_t l0 = lens[0];
  if (l0 < 4 || l0 > 12)
    return ROSTER_OK; /* no special command is shorter or longer */
  for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) {
    if (!is(a0, l0, special[i].name))
      continue;
    if (special[i].cls >= 0 && (in_pipeline || !special[i].advice)) {
      *cls = special[i].cls;
      return ROSTER_OK;
    }
    return roster_error_set(ROSTER_EINVAL,
                            "redis '%s': %s would change the "
                            "pooled connection for its next user; %s",
                            conf->name, special[i].name, special[i].advice);
  }
  if (is(a0, l0, "CLIENT") && argc > 1 && is(argv[1], lens[1], "REPLY"))
    return roster_error_set(ROSTER_EINVAL,
                            "redis '%s': CLIENT REPLY would "
                            "change the pooled connection for its next user; "
                            "borrow a connection (roster_redis_acquire) and "
                            "release it as broken",
                            conf->name);
  return ROSTER_OK;
}

int roster__redis_check_args(const rr_conf *conf, const char *call, size_t argc,
                             const char *const *argv, const size_t *argvlen,
                             size_t *lens) {
  for (size_t i = 0; i < argc; i++) {
    if (!argv[i])
      return roster_error_set(ROSTER_EINVAL,
                              "redis '%s': %s: argv[%zu] is "
                              "NULL",
                              conf->name, call, i);
    lens[i] = argvlen ? argvlen[i] : strlen(argv[i]);
  }
  return ROSTER_OK;
}

/* ---- commands ------------------------------------------------------- */

enum { STACK_ARGS = 16 };

int roster_redis_command(roster_redis *cli, size_t argc,
                         const char *const *argv, const size_t *argvlen,
                         roster_redis_reply **out) {
  if (out)
    *out = NULL;
  if (!cli)
    return roster_error_set(ROSTER_EINVAL, "roster_redis_command: the client "
                                           "is NULL");
  if (!argc || argc > ROSTER_REDIS_ARGS_MAX || !argv)
    return roster_error_set(ROSTER_EINVAL,
                            "redis '%s': roster_redis_command: "
                            "%s",
                            cli->conf.name,
                            !argv  ? "argv is NULL"
                            : argc ? "more than ROSTER_REDIS_ARGS_MAX "
                                     "arguments"
                                   : "no arguments (argc is 0)");
  size_t stack[STACK_ARGS];
  size_t *lens =
      argc <= STACK_ARGS ? stack : roster_mem_alloc(argc * sizeof *lens);
  if (!lens)
    return roster_error_set(ROSTER_ENOMEM, "redis '%s': out of memory",
                            cli->conf.name);
  int cls;
  int rc = roster__redis_check_args(&cli->conf, "roster_redis_command", argc,
                                    argv, argvlen, lens);
  if (!rc)
    rc = roster__redis_check_command(&cli->conf, argc, argv, lens, false, &cls);
  char name[40];
  roster__redis_cmd_name(name, sizeof name, argv[0], argv[0] ? lens[0] : 0);
  redisReply *raw = NULL;
  if (!rc)
    rc = roster__redis_run1(cli, (int)argc, (const char **)argv, lens, &raw,
                            name);
  if (lens != stack)
    roster_mem_free(lens);
  if (rc)
    return rc;
  if (raw->type == REDIS_REPLY_ERROR)
    rc = roster__redis_remote(&cli->conf, raw, name);
  if (!out) {
    freeReplyObject(raw);
    return rc;
  }
  *out = roster__redis_reply_wrap(&raw, 1, false);
  if (!*out)
    return roster_error_set(ROSTER_ENOMEM,
                            "redis '%s': %s: out of memory "
                            "for the reply",
                            cli->conf.name, name);
  return rc;
}

int roster_redis_call(roster_redis *cli, roster_redis_reply **out,
                      const char *arg0, ...) {
  if (out)
    *out = NULL;
  if (!cli)
    return roster_error_set(ROSTER_EINVAL, "roster_redis_call: the client is "
                                           "NULL");
  if (!arg0)
    return roster_error_set(ROSTER_EINVAL,
                            "redis '%s': roster_redis_call: no "
                            "command (the first argument is NULL)",
                            cli->conf.name);
  const char *stack[STACK_ARGS];
  const char **args = stack;
  size_t n = 0, cap = STACK_ARGS;
  va_list ap;
  va_start(ap, arg0);
  int rc = ROSTER_OK;
  for (const char *a = arg0; a; a = va_arg(ap, const char *)) {
    if (n == cap) {
      if (cap >= ROSTER_REDIS_ARGS_MAX) {
        rc = roster_error_set(ROSTER_EINVAL,
                              "redis '%s': roster_redis_call: "
                              "more than ROSTER_REDIS_ARGS_MAX arguments",
                              cli->conf.name);
        break;
      }
      const char **more = roster_mem_alloc(2 * cap * sizeof *more);
      if (!more) {
        rc = roster_error_set(ROSTER_ENOMEM, "redis '%s': out of memory",
                              cli->conf.name);
        break;
      }
      memcpy(more, args, n * sizeof *more);
      if (args != stack)
        roster_mem_free(args);
      args = more;
      cap *= 2;
    }
    args[n++] = a;
  }
  va_end(ap);
  if (!rc)
    rc = roster_redis_command(cli, n, args, NULL, out);
  if (args != stack)
    roster_mem_free(args);
  return rc;
}

int roster__redis_check_channel(const char *client, const char *call,
                                const void *name, size_t len) {
  if (RR_LIKELY(name && len && len <= ROSTER_CACHE_KEY_MAX))
    return ROSTER_OK;
  return roster_error_set(ROSTER_EINVAL, "redis '%s': %s: the %s", client, call,
                          !name  ? "channel is NULL"
                          : !len ? "channel is empty"
                                 : "channel is longer than 65536 bytes");
}

int roster_redis_publish(roster_redis *cli, const void *channel,
                         size_t channel_len, const void *message,
                         size_t message_len, int64_t *receivers) {
  if (!cli)
    return roster_error_set(ROSTER_EINVAL, "roster_redis_publish: the client "
                                           "is NULL");
  int crc = roster__redis_check_channel(cli->conf.name, "publish", channel,
                                        channel_len);
  if (crc)
    return crc;
  if (!message && message_len)
    return roster_error_set(ROSTER_EINVAL,
                            "redis '%s': publish: the message is NULL but its "
                            "length is not 0",
                            cli->conf.name);
  const char *argv[3] = {"PUBLISH", channel, message ? message : ""};
  size_t lens[3] = {7, channel_len, message_len};
  redisReply *r;
  int rc = roster__redis_run1(cli, 3, argv, lens, &r, "PUBLISH");
  if (rc)
    return rc;
  if (r->type == REDIS_REPLY_ERROR)
    rc = roster__redis_remote(&cli->conf, r, "PUBLISH");
  else if (r->type != REDIS_REPLY_INTEGER)
    rc = roster_error_set(ROSTER_EPROTO,
                          "redis '%s': PUBLISH was not "
                          "answered with an integer",
                          cli->conf.name);
  else if (receivers)
    *receivers = r->integer;
  freeReplyObject(r);
  return rc;
}

int roster_redis_health(roster_redis *cli) {
  if (!cli)
    return roster_error_set(ROSTER_EINVAL, "roster_redis_health: the client "
                                           "is NULL");
  rr_conn *c;
  int rc = roster__redis_acquire(cli, &c);
  if (rc)
    return rc;
  rc = ping(&cli->conf, c->ctx);
  roster__redis_release(cli, c,
                        rc == ROSTER_ECONN || rc == ROSTER_ETIMEDOUT ||
                            rc == ROSTER_EPROTO);
  return rc;
}

/* ---- raw connections ------------------------------------------------ */

int roster_redis_acquire(roster_redis *cli, struct redisContext **out) {
  if (out)
    *out = NULL;
  if (!cli || !out)
    return roster_error_set(ROSTER_EINVAL, "roster_redis_acquire: %s is NULL",
                            cli ? "out" : "the client");
  rr_conn *c;
  int rc = roster__redis_acquire(cli, &c);
  if (rc)
    return rc;
  /* The pool lends at most pool_max connections: there is a free slot. */
  pthread_mutex_lock(&cli->lent_lock);
  for (unsigned i = 0; i < cli->conf.pool_max; i++)
    if (!cli->lent[i]) {
      cli->lent[i] = c;
      break;
    }
  pthread_mutex_unlock(&cli->lent_lock);
  *out = c->ctx;
  return ROSTER_OK;
}

int roster_redis_release(roster_redis *cli, struct redisContext *ctx,
                         bool broken) {
  if (!cli || !ctx)
    return roster_error_set(ROSTER_EINVAL, "roster_redis_release: %s is NULL",
                            cli ? "the context" : "the client");
  rr_conn *c = NULL;
  pthread_mutex_lock(&cli->lent_lock);
  for (unsigned i = 0; i < cli->conf.pool_max && !c; i++)
    if (cli->lent[i] && cli->lent[i]->ctx == ctx) {
      c = cli->lent[i];
      cli->lent[i] = NULL;
    }
  pthread_mutex_unlock(&cli->lent_lock);
  if (!c)
    return roster_error_set(ROSTER_EINVAL,
                            "redis '%s': roster_redis_release: "
                            "this context was not lent by this client (or "
                            "was released already)",
                            cli->conf.name);
  roster__redis_release(cli, c, broken);
  return ROSTER_OK;
}
