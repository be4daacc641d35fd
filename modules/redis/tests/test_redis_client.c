/*
 * test_redis_client.c: the Redis client (roster/redis.h) against the
 * shared test server ($ROSTER_TEST_REDIS_URL), and its URL handling with
 * no server at all.
 *
 * - URLs and options: every bad one is a clear ROSTER_EINVAL/EPARSE
 *   naming the problem and never the password; a good one opens without
 *   connecting.
 * - Replies of every RESP2 type (string, status, integer, nil string, nil
 *   array, array, nested and empty arrays, error with the server's text).
 * - Binary-safe arguments and replies (NUL and 0xff bytes), 1 MB values.
 * - Pipelines: one round trip's replies in order, an error reply among
 *   them, MULTI ... EXEC, reuse, a MULTI left open closing its connection.
 * - Commands that would change a pooled connection are refused.
 * - Threads sharing one client (counts asserted after join), raw
 *   connections, health, a wrong password, a down server, databases.
 * - The registry: redis:// declares a client service.
 *
 * Keys carry roster__tu_unique_name prefixes; the server is never flushed.
 */
#include "testutil.h"

#include <stdlib.h>

#include <hiredis.h>
#include <roster/redis.h>

static roster_redis *client(const char *const *opts) {
  roster_redis *cli = NULL;
  assert_ok(roster_redis_open(roster__tu_server_url("REDIS"), opts,
                              &(roster_redis_options){.name = "test"}, &cli));
  return cli;
}

static char *key(char *buf, size_t cap, const char *what) {
  char u[64];
  roster__tu_unique_name(u, sizeof u, "rc");
  snprintf(buf, cap, "%s:%s", u, what);
  return buf;
}

static void del(roster_redis *cli, const char *k) {
  assert_ok(roster_redis_call(cli, NULL, "DEL", k, NULL));
}

/* ---- URLs and options ----------------------------------------------- */

static void bad_url(const char *url, const char *const *opts, int want,
                    const char *says) {
  roster_redis *cli = (roster_redis *)1;
  int rc = roster_redis_open(url, opts, NULL, &cli);
  if (rc != want) {
    print_error("%s: got %s, want %s (%s)\n", url, roster_err_name(rc),
                roster_err_name(want), roster_last_error());
    fail();
  }
  assert_null(cli);
  assert_contains(roster_last_error(), says);
  if (url && strstr(url, "s3cret") && strstr(roster_last_error(), "s3cret")) {
    print_error("the password shows in: %s\n", roster_last_error());
    fail();
  }
}

static void t_urls(void **state) {
  (void)state;
  bad_url("redis://:s3cret@127.0.0.1:1/x", NULL, ROSTER_EINVAL, "database");
  bad_url("redis://:s3cret@127.0.0.1:1/1?db=2", NULL, ROSTER_EINVAL, "twice");
  bad_url("redis://:s3cret@h?pool_max=0", NULL, ROSTER_EINVAL, "pool_max");
  bad_url("redis://h?pool_max=many", NULL, ROSTER_EINVAL, "not an integer");
  bad_url("redis://h?pool_min=5&pool_max=2", NULL, ROSTER_EINVAL, "pool_min");
  bad_url("redis://h?timeout=-1", NULL, ROSTER_EINVAL, "timeout");
  bad_url("redis://h?connect_timeout=0", NULL, ROSTER_EINVAL,
          "connect_timeout");
  bad_url("redis://h?pool_timeout=0", NULL, ROSTER_EINVAL, "pool_timeout");
  bad_url("redis://:s3cret@h?colour=red", NULL, ROSTER_EINVAL, "colour");
  bad_url("redis://h?kind=cache", NULL, ROSTER_EINVAL, "roster_cache_open");
  bad_url("redis://h?kind=queue", NULL, ROSTER_EINVAL, "kind");
  bad_url("redis://h?prefix=p:", NULL, ROSTER_EINVAL, "kind=cache");
  bad_url("redis://h#frag", NULL, ROSTER_EINVAL, "fragment");
  bad_url("redis://user@h", NULL, ROSTER_EINVAL, "password");
  bad_url("redis://:s3cret@h?password=x", NULL, ROSTER_EINVAL, "twice");
  bad_url("unix://host/tmp/r.sock", NULL, ROSTER_EINVAL, "socket path");
  bad_url("unix://", NULL, ROSTER_EINVAL, "socket path");
  bad_url("http://:s3cret@h/", NULL, ROSTER_EINVAL, "neither redis nor unix");
  bad_url("redis://:s3cret@[::1", NULL, ROSTER_EPARSE, "");
  bad_url(NULL, NULL, ROSTER_EINVAL, "NULL");
  const char *odd[] = {"pool_max", NULL};
  bad_url("redis://h", odd, ROSTER_EINVAL, "no value");
  const char *dotted[] = {"pool.max", "0", NULL};
  bad_url("redis://h", dotted, ROSTER_EINVAL, "pool_max");
  assert_rc(roster_redis_open("redis://h", NULL, NULL, NULL), ROSTER_EINVAL);

  /* Good URLs open without connecting (pool_min 0); options from opts
   * apply ("pool.max" is "pool_max"). */
  roster_redis *cli = NULL;
  const char *opts[] = {"pool.max", "3", "timeout", "0", NULL};
  assert_ok(roster_redis_open("redis://:s3cret@127.0.0.1:1/2", opts,
                              &(roster_redis_options){.name = "down"}, &cli));
  assert_string_equal(roster_redis_name(cli), "down");
  roster_pool_stats st;
  assert_ok(roster_pool_stats_get(roster_redis_pool(cli), &st));
  assert_int_equal(st.max_size, 3);
  assert_int_equal(st.size, 0);
  /* ... and a down server is found by the first command: ECONN with
   * hiredis's text, naming the client, never the password. */
  assert_rc(roster_redis_call(cli, NULL, "PING", NULL), ROSTER_ECONN);
  assert_contains(roster_last_error(), "Connection refused");
  assert_contains(roster_last_error(), "'down'");
  assert_contains(roster_last_error(), "127.0.0.1:1/2");
  assert_null(strstr(roster_last_error(), "s3cret"));
  assert_rc(roster_redis_health(cli), ROSTER_ECONN);
  roster_redis_free(cli);
  assert_ok(roster_redis_open("unix:///tmp/nonexistent.sock?db=3&password=pw",
                              NULL, NULL, &cli));
  assert_rc(roster_redis_call(cli, NULL, "PING", NULL), ROSTER_ECONN);
  assert_contains(roster_last_error(), "/tmp/nonexistent.sock?db=3");
  roster_redis_free(cli);
  roster_redis_free(NULL);
  assert_string_equal(roster_redis_name(NULL), "");
  assert_null(roster_redis_pool(NULL));
}

/* ---- replies -------------------------------------------------------- */

static void t_replies(void **state) {
  (void)state;
  roster_redis *cli = client(NULL);
  char k[96], l[96];
  key(k, sizeof k, "str");
  key(l, sizeof l, "list");
  roster_redis_reply *r = NULL;

  assert_ok(roster_redis_call(cli, &r, "SET", k, "hello", NULL));
  assert_int_equal(r->type, ROSTER_REDIS_STATUS);
  assert_string_equal(r->str, "OK");
  assert_int_equal(r->len, 2);
  roster_redis_reply_free(r);

  assert_ok(roster_redis_call(cli, &r, "GET", k, NULL));
  assert_int_equal(r->type, ROSTER_REDIS_STRING);
  assert_int_equal(r->len, 5);
  assert_string_equal(r->str, "hello");
  roster_redis_reply_free(r);

  assert_ok(roster_redis_call(cli, &r, "STRLEN", k, NULL));
  assert_int_equal(r->type, ROSTER_REDIS_INTEGER);
  assert_int_equal(r->integer, 5);
  roster_redis_reply_free(r);

  /* a nil bulk string */
  assert_ok(roster_redis_call(cli, &r, "GET", l, NULL));
  assert_int_equal(r->type, ROSTER_REDIS_NIL);
  assert_null(r->str);
  roster_redis_reply_free(r);

  /* an error: EREMOTE, the server's text in the detail and the reply */
  assert_rc(roster_redis_call(cli, &r, "INCR", k, NULL), ROSTER_EREMOTE);
  assert_contains(roster_last_error(), "not an integer");
  assert_contains(roster_last_error(), "INCR");
  assert_non_null(r);
  assert_int_equal(r->type, ROSTER_REDIS_ERROR);
  assert_true(strncmp(r->str, "ERR", 3) == 0);
  roster_redis_reply_free(r);
  assert_rc(roster_redis_call(cli, NULL, "NOSUCHCOMMAND", NULL),
            ROSTER_EREMOTE);
  assert_contains(roster_last_error(), "unknown command");

  /* arrays */
  assert_ok(roster_redis_call(cli, NULL, "RPUSH", l, "a", "bb", "ccc", NULL));
  assert_ok(roster_redis_call(cli, &r, "LRANGE", l, "0", "-1", NULL));
  assert_int_equal(r->type, ROSTER_REDIS_ARRAY);
  assert_int_equal(r->elements, 3);
  assert_string_equal(r->element[0].str, "a");
  assert_string_equal(r->element[1].str, "bb");
  assert_int_equal(r->element[2].len, 3);
  roster_redis_reply_free(r);
  /* an empty array */
  char none[100];
  key(none, sizeof none, "none");
  assert_ok(roster_redis_call(cli, &r, "LRANGE", none, "0", "-1", NULL));
  assert_int_equal(r->type, ROSTER_REDIS_ARRAY);
  assert_int_equal(r->elements, 0);
  assert_null(r->element);
  roster_redis_reply_free(r);
  /* a nil array (*-1): BLPOP that times out */
  assert_ok(roster_redis_call(cli, &r, "BLPOP", none, "0.01", NULL));
  assert_int_equal(r->type, ROSTER_REDIS_NIL);
  roster_redis_reply_free(r);
  /* nested arrays, with every type inside, from a script */
  assert_ok(roster_redis_call(cli, &r, "EVAL",
                              "return {1, {2, 'x', {}}, false, "
                              "redis.status_reply('FINE'), "
                              "redis.error_reply('OOPS bad'), 'last'}",
                              "0", NULL));
  assert_int_equal(r->type, ROSTER_REDIS_ARRAY);
  assert_int_equal(r->elements, 6);
  const roster_redis_reply *e = r->element;
  assert_int_equal(e[0].type, ROSTER_REDIS_INTEGER);
  assert_int_equal(e[0].integer, 1);
  assert_int_equal(e[1].type, ROSTER_REDIS_ARRAY);
  assert_int_equal(e[1].elements, 3);
  assert_int_equal(e[1].element[0].integer, 2);
  assert_string_equal(e[1].element[1].str, "x");
  assert_int_equal(e[1].element[2].type, ROSTER_REDIS_ARRAY);
  assert_int_equal(e[1].element[2].elements, 0);
  assert_int_equal(e[2].type, ROSTER_REDIS_NIL);
  assert_int_equal(e[3].type, ROSTER_REDIS_STATUS);
  assert_string_equal(e[3].str, "FINE");
  assert_int_equal(e[4].type, ROSTER_REDIS_ERROR);
  assert_string_equal(e[4].str, "OOPS bad");
  assert_string_equal(e[5].str, "last");
  roster_redis_reply_free(r);
  /* a negative and a 64-bit integer */
  assert_ok(roster_redis_call(cli, &r, "EVAL", "return -9007199254740991", "0",
                              NULL));
  assert_int_equal(r->type, ROSTER_REDIS_INTEGER);
  assert_true(r->integer == -9007199254740991LL);
  roster_redis_reply_free(r);
  assert_ok(
      roster_redis_call(cli, NULL, "SET", k, "9223372036854775806", NULL));
  assert_ok(roster_redis_call(cli, &r, "INCR", k, NULL));
  assert_true(r->integer == INT64_MAX);
  roster_redis_reply_free(r);

  assert_string_equal(roster_redis_reply_kind_name(ROSTER_REDIS_STRING),
                      "string");
  assert_string_equal(roster_redis_reply_kind_name(ROSTER_REDIS_ERROR),
                      "error");
  assert_string_equal(roster_redis_reply_kind_name(0), "?");
  roster_redis_reply_free(NULL);
  del(cli, k);
  del(cli, l);
  roster_redis_free(cli);
}

/* ---- binary safety, large values ------------------------------------ */

static void t_binary(void **state) {
  (void)state;
  roster_redis *cli = client(NULL);
  char base[96];
  key(base, sizeof base, "bin");
  unsigned char k[128], v[] = {0, 'a', 0xff, 0, '\r', '\n', '$', '*', 0};
  size_t kl = strlen(base);
  memcpy(k, base, kl);
  k[kl++] = 0;
  k[kl++] = 0xfe;
  const char *set[3] = {"SET", (const char *)k, (const char *)v};
  size_t set_l[3] = {3, kl, sizeof v};
  assert_ok(roster_redis_command(cli, 3, set, set_l, NULL));
  const char *get[2] = {"GET", (const char *)k};
  size_t get_l[2] = {3, kl};
  roster_redis_reply *r = NULL;
  assert_ok(roster_redis_command(cli, 2, get, get_l, &r));
  assert_int_equal(r->type, ROSTER_REDIS_STRING);
  assert_int_equal(r->len, sizeof v);
  assert_memory_equal(r->str, v, sizeof v);
  assert_int_equal(r->str[r->len], 0);
  roster_redis_reply_free(r);
  /* the key without its last byte is another key */
  get_l[1] = kl - 1;
  assert_ok(roster_redis_command(cli, 2, get, get_l, &r));
  assert_int_equal(r->type, ROSTER_REDIS_NIL);
  roster_redis_reply_free(r);

  /* 1 MB values, by command and in a pipeline */
  enum { MB = 1024 * 1024 };
  unsigned char *big = malloc(MB);
  for (size_t i = 0; i < MB; i++)
    big[i] = (unsigned char)(i * 31 + 7);
  set[2] = (const char *)big;
  set_l[2] = MB;
  assert_ok(roster_redis_command(cli, 3, set, set_l, NULL));
  get_l[1] = kl;
  assert_ok(roster_redis_command(cli, 2, get, get_l, &r));
  assert_int_equal(r->len, MB);
  assert_memory_equal(r->str, big, MB);
  roster_redis_reply_free(r);
  roster_redis_pipeline *p = NULL;
  assert_ok(roster_redis_pipeline_new(cli, &p));
  assert_ok(roster_redis_pipeline_add(p, 2, get, get_l));
  assert_ok(roster_redis_pipeline_add(p, 2, get, get_l));
  assert_ok(roster_redis_pipeline_exec(p, &r));
  assert_int_equal(r->elements, 2);
  assert_memory_equal(r->element[0].str, big, MB);
  assert_memory_equal(r->element[1].str, big, MB);
  roster_redis_reply_free(r);
  roster_redis_pipeline_free(p);
  const char *dl[2] = {"DEL", (const char *)k};
  assert_ok(roster_redis_command(cli, 2, dl, get_l, NULL));
  free(big);
  roster_redis_free(cli);
}

/* ---- pipelines ------------------------------------------------------ */

static void t_pipeline(void **state) {
  (void)state;
  roster_redis *cli = client(NULL);
  char k[96], s[96];
  key(k, sizeof k, "ctr");
  key(s, sizeof s, "s");
  roster_redis_pipeline *p = NULL;
  assert_ok(roster_redis_pipeline_new(cli, &p));
  const char *incr[2] = {"INCR", k};
  for (int i = 0; i < 100; i++)
    assert_ok(roster_redis_pipeline_add(p, 2, incr, NULL));
  const char *bad[2] = {"INCR", s};
  const char *set[3] = {"SET", s, "text"};
  assert_ok(roster_redis_pipeline_add(p, 3, set, NULL));
  assert_ok(roster_redis_pipeline_add(p, 2, bad, NULL)); /* an error reply */
  assert_ok(roster_redis_pipeline_add(p, 2, incr, NULL));
  assert_int_equal(roster_redis_pipeline_count(p), 103);
  roster_redis_reply *r = NULL;
  assert_ok(roster_redis_pipeline_exec(p, &r));
  assert_int_equal(roster_redis_pipeline_count(p), 0); /* emptied */
  assert_int_equal(r->type, ROSTER_REDIS_ARRAY);
  assert_int_equal(r->elements, 103);
  for (int i = 0; i < 100; i++)
    assert_int_equal(r->element[i].integer, i + 1);
  assert_int_equal(r->element[100].type, ROSTER_REDIS_STATUS);
  assert_int_equal(r->element[101].type, ROSTER_REDIS_ERROR);
  assert_contains(r->element[101].str, "not an integer");
  assert_int_equal(r->element[102].integer, 101);
  roster_redis_reply_free(r);

  /* MULTI ... EXEC in one pipeline; the pipeline is reused */
  const char *multi[1] = {"MULTI"}, *exec[1] = {"exec"};
  assert_ok(roster_redis_pipeline_add(p, 1, multi, NULL));
  assert_ok(roster_redis_pipeline_add(p, 2, incr, NULL));
  assert_ok(roster_redis_pipeline_add(p, 2, incr, NULL));
  assert_ok(roster_redis_pipeline_add(p, 1, exec, NULL));
  assert_ok(roster_redis_pipeline_exec(p, &r));
  assert_int_equal(r->elements, 4);
  assert_string_equal(r->element[1].str, "QUEUED");
  const roster_redis_reply *ex = &r->element[3];
  assert_int_equal(ex->type, ROSTER_REDIS_ARRAY);
  assert_int_equal(ex->elements, 2);
  assert_int_equal(ex->element[1].integer, 103);
  roster_redis_reply_free(r);

  /* A MULTI left open: the connection is closed, not handed on with a
   * transaction in it. With one connection, the next command would
   * otherwise be QUEUED. */
  roster_redis *one = client((const char *[]){"pool_max", "1", NULL});
  roster_redis_pipeline *q = NULL;
  assert_ok(roster_redis_pipeline_new(one, &q));
  assert_ok(roster_redis_pipeline_add(q, 1, multi, NULL));
  assert_ok(roster_redis_pipeline_add(q, 2, incr, NULL));
  assert_ok(roster_redis_pipeline_exec(q, &r));
  assert_string_equal(r->element[1].str, "QUEUED");
  roster_redis_reply_free(r);
  assert_ok(roster_redis_call(one, &r, "INCR", k, NULL));
  assert_int_equal(r->type, ROSTER_REDIS_INTEGER);
  assert_int_equal(r->integer, 104);
  roster_redis_reply_free(r);
  roster_pool_stats st;
  assert_ok(roster_pool_stats_get(roster_redis_pool(one), &st));
  assert_int_equal(st.created, 2);
  assert_int_equal(st.broken, 1);
  roster_redis_pipeline_free(q);
  roster_redis_free(one);

  /* bad input changes nothing */
  assert_rc(roster_redis_pipeline_exec(p, &r), ROSTER_EINVAL); /* empty */
  assert_contains(roster_last_error(), "empty");
  assert_null(r);
  const char *sel[2] = {"select", "1"};
  assert_rc(roster_redis_pipeline_add(p, 2, sel, NULL), ROSTER_EINVAL);
  const char *sub[2] = {"SUBSCRIBE", "x"};
  assert_rc(roster_redis_pipeline_add(p, 2, sub, NULL), ROSTER_EINVAL);
  const char *nul[2] = {"GET", NULL};
  assert_rc(roster_redis_pipeline_add(p, 2, nul, NULL), ROSTER_EINVAL);
  assert_rc(roster_redis_pipeline_add(p, 0, incr, NULL), ROSTER_EINVAL);
  assert_rc(roster_redis_pipeline_add(p, 1, NULL, NULL), ROSTER_EINVAL);
  assert_rc(roster_redis_pipeline_add(NULL, 1, incr, NULL), ROSTER_EINVAL);
  assert_int_equal(roster_redis_pipeline_count(p), 0);
  assert_rc(roster_redis_pipeline_exec(NULL, &r), ROSTER_EINVAL);
  assert_rc(roster_redis_pipeline_exec(p, NULL), ROSTER_EINVAL);
  assert_rc(roster_redis_pipeline_new(NULL, &q), ROSTER_EINVAL);
  assert_rc(roster_redis_pipeline_new(cli, NULL), ROSTER_EINVAL);
  assert_int_equal(roster_redis_pipeline_count(NULL), 0);
  roster_redis_pipeline_free(NULL);
  roster_redis_pipeline_free(p);
  del(cli, k);
  del(cli, s);
  roster_redis_free(cli);
}

/* ---- refused commands and bad input --------------------------------- */

static void t_refused(void **state) {
  (void)state;
  roster_redis *cli = client((const char *[]){"pool_max", "1", NULL});
  static const char *const cmds[][3] = {
      {"SELECT", "1", NULL},    {"select", "2", NULL},
      {"AUTH", "x", NULL},      {"HELLO", "3", NULL},
      {"MULTI", NULL, NULL},    {"WATCH", "k", NULL},
      {"SUBSCRIBE", "c", NULL}, {"PSUBSCRIBE", "c*", NULL},
      {"MONITOR", NULL, NULL},  {"QUIT", NULL, NULL},
      {"RESET", NULL, NULL},    {"CLIENT", "REPLY", "OFF"},
      {"SYNC", NULL, NULL},
  };
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
    size_t n = cmds[i][1] ? cmds[i][2] ? 3 : 2 : 1;
    roster_redis_reply *r = (roster_redis_reply *)1;
    assert_rc(roster_redis_command(cli, n, cmds[i], NULL, &r), ROSTER_EINVAL);
    assert_null(r);
    assert_contains(roster_last_error(), "pooled connection");
  }
  /* nothing was sent (no connection was even borrowed), and the client
   * works */
  roster_pool_stats st;
  assert_ok(roster_pool_stats_get(roster_redis_pool(cli), &st));
  assert_int_equal(st.acquires, 0);
  assert_ok(roster_redis_call(cli, NULL, "CLIENT", "ID", NULL));
  /* EXEC, DISCARD and UNWATCH are harmless alone: the server's error */
  assert_rc(roster_redis_call(cli, NULL, "EXEC", NULL), ROSTER_EREMOTE);
  assert_contains(roster_last_error(), "EXEC without MULTI");

  /* bad input */
  roster_redis_reply *r = (roster_redis_reply *)1;
  assert_rc(roster_redis_command(NULL, 1, (const char *[]){"PING"}, NULL, &r),
            ROSTER_EINVAL);
  assert_null(r);
  assert_rc(roster_redis_command(cli, 0, (const char *[]){"PING"}, NULL, &r),
            ROSTER_EINVAL);
  assert_rc(roster_redis_command(cli, 1, NULL, NULL, &r), ROSTER_EINVAL);
  assert_rc(
      roster_redis_command(cli, 2, (const char *[]){"GET", NULL}, NULL, &r),
      ROSTER_EINVAL);
  assert_contains(roster_last_error(), "argv[1]");
  assert_rc(roster_redis_command(cli, (size_t)ROSTER_REDIS_ARGS_MAX + 1,
                                 (const char *[]){"PING"}, NULL, &r),
            ROSTER_EINVAL);
  assert_rc(roster_redis_call(cli, &r, NULL, NULL), ROSTER_EINVAL);
  assert_rc(roster_redis_call(NULL, &r, "PING", NULL), ROSTER_EINVAL);
  assert_rc(roster_redis_publish(cli, NULL, 1, "m", 1, NULL), ROSTER_EINVAL);
  assert_rc(roster_redis_publish(cli, "c", 0, "m", 1, NULL), ROSTER_EINVAL);
  assert_rc(roster_redis_publish(cli, "c", 1, NULL, 1, NULL), ROSTER_EINVAL);
  assert_rc(roster_redis_publish(NULL, "c", 1, "m", 1, NULL), ROSTER_EINVAL);
  assert_rc(roster_redis_health(NULL), ROSTER_EINVAL);
  int64_t n = -1;
  assert_ok(roster_redis_publish(cli, "nobody-listens", 14, NULL, 0, &n));
  assert_int_equal(n, 0);
  roster_redis_free(cli);
}

/* ---- threads -------------------------------------------------------- */

enum { THREADS = 4, EACH = 500 };

typedef struct th_arg {
  roster_redis *cli;
  const char *key;
  pthread_barrier_t *go;
  int errors;
  int64_t last;
} th_arg;

static void *th_main(void *p) {
  th_arg *a = p;
  pthread_barrier_wait(a->go);
  for (int i = 0; i < EACH; i++) {
    roster_redis_reply *r = NULL;
    if (roster_redis_call(a->cli, &r, "INCR", a->key, NULL) != ROSTER_OK ||
        r->type != ROSTER_REDIS_INTEGER || r->integer <= a->last)
      a->errors++;
    else
      a->last = r->integer; /* each thread sees its own answers rise */
    roster_redis_reply_free(r);
  }
  return NULL;
}

static void t_threads(void **state) {
  (void)state;
  roster_redis *cli = client((const char *[]){"pool_max", "2", NULL});
  char k[96];
  key(k, sizeof k, "shared");
  pthread_barrier_t go;
  pthread_barrier_init(&go, NULL, THREADS);
  pthread_t th[THREADS];
  th_arg a[THREADS];
  for (int i = 0; i < THREADS; i++) {
    a[i] = (th_arg){cli, k, &go, 0, 0};
    assert_int_equal(pthread_create(&th[i], NULL, th_main, &a[i]), 0);
  }
  for (int i = 0; i < THREADS; i++)
    pthread_join(th[i], NULL);
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(a[i].errors, 0);
  roster_redis_reply *r = NULL;
  assert_ok(roster_redis_call(cli, &r, "GET", k, NULL));
  assert_string_equal(r->str, "2000");
  roster_redis_reply_free(r);
  roster_pool_stats st;
  assert_ok(roster_pool_stats_get(roster_redis_pool(cli), &st));
  assert_true(st.created <= 2);
  assert_int_equal(st.in_use, 0);
  pthread_barrier_destroy(&go);
  del(cli, k);
  roster_redis_free(cli);
}

/* ---- raw connections, health, passwords, databases ------------------ */

static void t_raw_and_health(void **state) {
  (void)state;
  roster_redis *cli = client(NULL);
  assert_ok(roster_redis_health(cli));
  redisContext *ctx = NULL;
  assert_ok(roster_redis_acquire(cli, &ctx));
  assert_non_null(ctx);
  const char *argv[1] = {"PING"};
  redisReply *rr = redisCommandArgv(ctx, 1, argv, NULL);
  assert_non_null(rr);
  assert_string_equal(rr->str, "PONG");
  freeReplyObject(rr);
  assert_ok(roster_redis_release(cli, ctx, false));
  assert_rc(roster_redis_release(cli, ctx, false), ROSTER_EINVAL);
  assert_rc(roster_redis_release(cli, (redisContext *)&argv, false),
            ROSTER_EINVAL);
  assert_rc(roster_redis_release(cli, NULL, false), ROSTER_EINVAL);
  assert_rc(roster_redis_acquire(cli, NULL), ROSTER_EINVAL);
  assert_rc(roster_redis_acquire(NULL, &ctx), ROSTER_EINVAL);
  assert_null(ctx);
  /* a context released as broken is closed */
  assert_ok(roster_redis_acquire(cli, &ctx));
  assert_ok(roster_redis_release(cli, ctx, true));
  roster_pool_stats st;
  assert_ok(roster_pool_stats_get(roster_redis_pool(cli), &st));
  assert_int_equal(st.broken, 1);
  roster_redis_free(cli);

  /* a wrong password: the server's refusal, never the password */
  roster_url *u = NULL;
  assert_ok(roster_url_parse(roster__tu_server_url("REDIS"), &u));
  char url[256];
  snprintf(url, sizeof url, "redis://:n0t-the-pw@%s:%d/0", u->host, u->port);
  assert_ok(roster_redis_open(url, NULL, NULL, &cli));
  assert_rc(roster_redis_health(cli), ROSTER_EREMOTE);
  assert_contains(roster_last_error(), "AUTH");
  assert_contains(roster_last_error(), "WRONGPASS");
  assert_null(strstr(roster_last_error(), "n0t-the-pw"));
  roster_redis_free(cli);
  /* no password at all, on a server that wants one */
  snprintf(url, sizeof url, "redis://%s:%d/0", u->host, u->port);
  assert_ok(roster_redis_open(url, NULL, NULL, &cli));
  assert_rc(roster_redis_call(cli, NULL, "GET", "k", NULL), ROSTER_EREMOTE);
  assert_contains(roster_last_error(), "NOAUTH");
  roster_redis_free(cli);

  /* databases: the URL's path picks one, and SELECT comes with every
   * connection */
  snprintf(url, sizeof url, "redis://:%s@%s:%d/1", u->password, u->host,
           u->port);
  roster_redis *db1 = NULL, *db0 = client(NULL);
  assert_ok(roster_redis_open(url, NULL, NULL, &db1));
  char k[96];
  key(k, sizeof k, "db");
  assert_ok(roster_redis_call(db1, NULL, "SET", k, "in one", NULL));
  roster_redis_reply *r = NULL;
  assert_ok(roster_redis_call(db0, &r, "GET", k, NULL));
  assert_int_equal(r->type, ROSTER_REDIS_NIL);
  roster_redis_reply_free(r);
  assert_ok(roster_redis_call(db1, &r, "GET", k, NULL));
  assert_string_equal(r->str, "in one");
  roster_redis_reply_free(r);
  del(db1, k);
  roster_redis_free(db1);
  roster_redis_free(db0);
  roster_url_free(u);
}

/* ---- timeouts ------------------------------------------------------- */

static void t_timeout(void **state) {
  (void)state;
  /* A command that outlasts the timeout: ETIMEDOUT, and its connection is
   * closed (it would deliver the late reply to the next user). */
  roster_redis *cli =
      client((const char *[]){"timeout", "100", "pool_max", "1", NULL});
  char k[96];
  key(k, sizeof k, "never");
  assert_rc(roster_redis_call(cli, NULL, "BLPOP", k, "5", NULL),
            ROSTER_ETIMEDOUT);
  assert_contains(roster_last_error(), "BLPOP");
  assert_contains(roster_last_error(), "timed out");
  roster_redis_reply *r = NULL;
  assert_ok(roster_redis_call(cli, &r, "ECHO", "fresh", NULL));
  assert_string_equal(r->str, "fresh");
  roster_redis_reply_free(r);
  roster_pool_stats st;
  assert_ok(roster_pool_stats_get(roster_redis_pool(cli), &st));
  assert_int_equal(st.broken, 1);
  assert_int_equal(st.created, 2);
  roster_redis_free(cli);
}

/* ---- the registry --------------------------------------------------- */

static void t_registry(void **state) {
  (void)state;
  const char *url = roster__tu_server_url("REDIS");
  assert_ok(roster_redis_init());
  assert_ok(roster_redis_init()); /* again: a no-op */
  const roster_driver *d = roster_driver_find("redis");
  assert_non_null(d);
  assert_string_equal(d->module, "redis");
  assert_ptr_equal(roster_driver_find("unix"), d);
  /* one driver, two faces: the client (the default) and a cache */
  assert_ptr_equal(d->faces[0].kind, &roster_service_face);
  assert_ptr_equal(d->faces[1].kind, &roster_cache_face);
  roster *r = tu_registry(NULL);
  assert_ok(roster_provide_url(r, NULL, "kv", url, NULL));
  assert_ok(roster_provide_url(r, NULL, "kv", url, NULL)); /* same: no-op */
  assert_rc(roster_provide_url(r, NULL, "kv", "redis://:x@127.0.0.1:1", NULL),
            ROSTER_EEXIST);
  assert_null(strstr(roster_last_error(), ":x@"));
  roster_redis *cli = NULL;
  assert_ok(roster_redis_find(r, NULL, "kv", &cli));
  assert_string_equal(roster_redis_name(cli), "kv");
  roster_redis *again = NULL;
  assert_ok(roster_redis_find(r, NULL, "kv", &again));
  assert_ptr_equal(cli, again);
  assert_ok(roster_redis_call(cli, NULL, "PING", NULL));
  roster_cache *c = NULL;
  assert_rc(roster_cache_find(r, NULL, "kv", &c), ROSTER_ETYPE);
  assert_rc(roster_redis_find(r, NULL, "kv", NULL), ROSTER_EINVAL);
  /* bad options fail the declaration */
  assert_rc(roster_provide_url(r, NULL, "bad", url,
                               (const char *[]){"pool_max", "x", NULL}),
            ROSTER_EINVAL);
  assert_contains(roster_last_error(), "service 'bad'");
  assert_rc(roster_redis_find(r, NULL, "bad", &cli), ROSTER_ENOENT);
  /* a server that is down fails the service's creation with its reason */
  assert_ok(roster_provide_url(r, NULL, "down", "redis://127.0.0.1:1/0", NULL));
  assert_rc(roster_redis_find(r, NULL, "down", &cli), ROSTER_ECONN);
  assert_contains(roster_last_error(), "Connection refused");
  roster_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_urls),           cmocka_unit_test(t_replies),
      cmocka_unit_test(t_binary),         cmocka_unit_test(t_pipeline),
      cmocka_unit_test(t_refused),        cmocka_unit_test(t_threads),
      cmocka_unit_test(t_raw_and_health), cmocka_unit_test(t_timeout),
      cmocka_unit_test(t_registry),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
