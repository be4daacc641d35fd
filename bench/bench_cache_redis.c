/*
 * bench_cache_redis.c: roster-bench-cache's Redis section: GET and SET
 * through roster against a real Redis, with 1 and 4 connections, beside
 * redis-benchmark running the same command with the same number of
 * clients and no pipelining, in the same run; and MGET of 100 keys.
 *
 * Rows (see bench/README.md):
 * - impl "roster": roster_cache_get_bytes / roster_cache_set_bytes on a
 *   redis:// cache (roster_redis_cache_new over a client whose pool holds
 *   one connection per thread, all made before the clock starts), one
 *   thread per client, each a loop of calls;
 * - impl "roster_client": the same command through roster_redis_command,
 *   without the cache layer (its tag, its prefix, its buffer);
 * - impl "redis-benchmark": redis-benchmark -c N -n OPS -r 10000 -P 1 with
 *   the same command (SET key value / GET key / MGET 100 keys) on a key
 *   space of its own of the same size, its requests per second.
 * Keys are 10,000 per impl under a prefix of this run ("bench:PID:"),
 * picked at random as -r picks them, values 64 bytes; every GET through
 * roster checks the value it read. Each measurement is repeated nine
 * times interleaved with the others of its row group and the best is
 * reported (roster__bench_measure, bench.h). The keys are removed at the end
 * (SCAN + UNLINK on the run's prefix; never FLUSHDB: the server may be shared).
 */
#include "bench.h"

#include "bench_cache_redis.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <roster.h>
#include <roster/redis.h>

enum { KEYS = 10000, VLEN = 64, MAX_CLIENTS = 4, REPEATS = 9, MGET_N = 100 };

static struct {
  double target_s;
  char prefix[64]; /* "bench:PID:" */
  const char *url;
  roster_url *u;
  bool have_rb; /* redis-benchmark is there */
} R;

static void fail_call(const char *what) {
  roster__bench_fail(1, "redis: %s failed: %s", what, roster_last_error());
}

/* value_of: key i's 64-byte value: 'v', its number, a pattern. Never
 * starts with a tag byte or a digit, so it reads back as bytes either
 * way it was written. */
static void value_of(unsigned char *v, uint32_t i) {
  v[0] = 'v';
  memcpy(v + 1, &i, sizeof i);
  for (int k = 5; k < VLEN; k++)
    v[k] = (unsigned char)('a' + (i * 7u + (unsigned)k) % 26);
}

/* Keys and values made once, so that the loops measure the calls. */
static char key_tab[KEYS][16]; /* "%012u" */
static char raw_tab[KEYS][96]; /* roster_client's: prefix "c:" key */
static size_t raw_len[KEYS];
static unsigned char val_tab[KEYS][VLEN];

static void tables(void) {
  for (uint32_t i = 0; i < KEYS; i++) {
    snprintf(key_tab[i], sizeof key_tab[i], "%012u", i);
    raw_len[i] = (size_t)snprintf(raw_tab[i], sizeof raw_tab[i], "%sc:%s",
                                  R.prefix, key_tab[i]);
    value_of(val_tab[i], i);
  }
}

static bool value_ok(const unsigned char *v, size_t len, uint32_t i) {
  return len == VLEN && memcmp(v, val_tab[i], VLEN) == 0;
}

static uint32_t next_rand(uint64_t *s) {
  return (uint32_t)(bench_rand(s) % KEYS);
}

/* ---- roster's side -------------------------------------------------- */

typedef enum op { OP_GET, OP_SET, OP_MGET } op;
static const char *const op_name[] = {"get", "set", "mget100"};

typedef struct rrun {
  op o;
  bool raw;          /* roster_client: the command, no cache */
  roster_cache *c;   /* prefix "r:" */
  roster_redis *cli; /* for raw */
  char kprefix[80];  /* the full prefix of raw keys */
} rrun;

typedef struct run_arg {
  const rrun *r;
  uint64_t seed[MAX_CLIENTS]; /* each thread's key stream */
} run_arg;

static void worker_main(bench_thread *w) {
  run_arg *a = w->arg;
  const rrun *r = a->r;
  uint64_t seed = a->seed[w->id];
  roster_cache_buf b = {0};
  roster_cache_buf mb[MGET_N];
  memset(mb, 0, sizeof mb);
  roster_cache_key mk[MGET_N];
  uint32_t mi[MGET_N];
  uint64_t errors = 0;
  roster__bench_start(w);
  for (uint64_t n = 0; n < w->ops; n++) {
    uint32_t i = next_rand(&seed);
    if (r->o == OP_MGET) {
      for (int j = 0; j < MGET_N; j++) {
        mi[j] = j ? next_rand(&seed) : i;
        mk[j] = (roster_cache_key){key_tab[mi[j]], 12};
      }
      if (roster_cache_mget(r->c, mk, MGET_N, mb) != ROSTER_OK)
        errors++;
      for (int j = 0; j < MGET_N; j++)
        errors += mb[j].kind != ROSTER_CACHE_BYTES ||
                  !value_ok(mb[j].data, mb[j].len, mi[j]);
      continue;
    }
    if (r->raw) {
      roster_redis_reply *rep = NULL;
      if (r->o == OP_GET) {
        const char *argv[2] = {"GET", raw_tab[i]};
        size_t lens[2] = {3, raw_len[i]};
        int rc = roster_redis_command(r->cli, 2, argv, lens, &rep);
        errors += rc != ROSTER_OK || rep->type != ROSTER_REDIS_STRING ||
                  !value_ok((const unsigned char *)rep->str, rep->len, i);
      } else {
        const char *argv[3] = {"SET", raw_tab[i], (const char *)val_tab[i]};
        size_t lens[3] = {3, raw_len[i], VLEN};
        errors +=
            roster_redis_command(r->cli, 3, argv, lens, &rep) != ROSTER_OK;
      }
      roster_redis_reply_free(rep);
      continue;
    }
    if (r->o == OP_GET) {
      int rc = roster_cache_get_bytes(r->c, key_tab[i], 12, &b);
      errors += rc != ROSTER_OK || !value_ok(b.data, b.len, i);
    } else {
      errors += roster_cache_set_bytes(r->c, key_tab[i], 12, val_tab[i], VLEN,
                                       0) != ROSTER_OK;
    }
  }
  bench_stop(w);
  w->errors = errors;
  roster_cache_buf_close(&b);
  for (int j = 0; j < MGET_N; j++)
    roster_cache_buf_close(&mb[j]);
}

/* roster_rate (a bench_fn): ops calls over the run's clients, one thread
 * each. */
typedef struct rcase {
  const rrun *r;
  op o;
  unsigned clients;
} rcase;

static bench_sample roster_rate(void *arg, uint64_t ops) {
  const rcase *c = arg;
  static uint64_t seed = 0x9e3779b97f4a7c15ull;
  run_arg a = {.r = c->r};
  for (unsigned i = 0; i < c->clients; i++)
    a.seed[i] = (seed += 0x1234567ull) | 1;
  bench_sample s =
      roster__bench_threads(worker_main, &a, c->clients, ops / c->clients);
  roster__bench_check(&s, c->r->raw ? "roster_client" : "roster",
                      op_name[c->r->o]);
  return s;
}

/* ---- redis-benchmark's side ----------------------------------------- */

/* rb_rate (a bench_fn) runs redis-benchmark with the same command: its
 * requests per second as a run of ops (ops 0 when it failed). */
static bench_sample rb_rate(void *arg, uint64_t ops) {
  const rcase *c = arg;
  char cmd[8192];
  int n =
      snprintf(cmd, sizeof cmd,
               "redis-benchmark -h '%s' -p %d%s%s%s --dbnum %s -c %u "
               "-n %" PRIu64 " -r %d -P 1 --csv ",
               R.u->host ? R.u->host : "127.0.0.1",
               R.u->port ? R.u->port : 6379, R.u->password ? " -a '" : "",
               R.u->password ? R.u->password : "", R.u->password ? "'" : "",
               R.u->path && R.u->path[0] && R.u->path[1] ? R.u->path + 1 : "0",
               c->clients, ops, KEYS);
  if (c->o == OP_SET) {
    unsigned char v[VLEN + 1];
    value_of(v, 0);
    for (int k = 1; k < 5; k++)
      v[k] = 'x'; /* printable: it is a command-line argument */
    v[VLEN] = 0;
    n += snprintf(cmd + n, sizeof cmd - (size_t)n, "SET %sb:__rand_int__ %s",
                  R.prefix, (const char *)v);
  } else if (c->o == OP_GET) {
    n += snprintf(cmd + n, sizeof cmd - (size_t)n, "GET %sb:__rand_int__",
                  R.prefix);
  } else {
    n += snprintf(cmd + n, sizeof cmd - (size_t)n, "MGET");
    for (int j = 0; j < MGET_N; j++)
      n += snprintf(cmd + n, sizeof cmd - (size_t)n, " %sb:__rand_int__",
                    R.prefix);
  }
  snprintf(cmd + n, sizeof cmd - (size_t)n, " 2>/dev/null");
  static char out[8192];
  double rps = -1;
  if (roster__bench_tool(cmd, out, sizeof out) == 0) {
    char *save = NULL;
    for (char *line = strtok_r(out, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
      /* "TEST","rps",...: the row after the header */
      if (strncmp(line, "\"test\"", 6) == 0)
        continue;
      char *q = strstr(line, "\",\"");
      if (q)
        rps = strtod(q + 3, NULL);
    }
  }
  if (rps <= 0) {
    roster__bench_fail(1, "redis-benchmark failed");
    return (bench_sample){.wall = 1};
  }
  return (bench_sample){
      .wall = (double)ops / rps, .ops = ops, .threads = c->clients};
}

/* ---- rows ----------------------------------------------------------- */

static void print_row(const bench_case *c, unsigned clients) {
  double best = bench_rate(&c->best);
  if (roster__bench.json)
    printf("{\"impl\":\"%s\",\"op\":\"%s\",\"clients\":%u,\"ops_per_sec\":%.0f,"
           "\"ops\":%" PRIu64 ",\"value_bytes\":%d,\"keys\":%d,"
           "\"best_of\":%d}\n",
           c->impl, c->op, clients, best, c->ops, VLEN, KEYS, REPEATS);
  else
    printf("%-16s %-8s %7u %12.0f %10" PRIu64 " %6.0f%%\n", c->impl, c->op,
           clients, best, c->ops, 100.0 * roster__bench_spread(c));
  fflush(stdout);
}

/* measure: one row group, roster's cache, roster's client (not for MGET)
 * and redis-benchmark (when installed) with the same number of calls,
 * sized to take about target_s through roster at the best rate of three
 * calibration runs (roster__bench_calibrate). */
static void measure(op o, unsigned clients, roster_cache *c,
                    roster_redis *cli) {
  rrun rc = {.o = o, .c = c};
  rrun rr = {.o = o, .raw = true, .cli = cli};
  rcase rcs[3] = {{&rc, o, clients}, {&rr, o, clients}, {NULL, o, clients}};
  bench_case all[3] = {
      {.impl = "roster",
       .op = op_name[o],
       .size = 0,
       .fn = roster_rate,
       .arg = &rcs[0]},
      {.impl = "roster_client",
       .op = op_name[o],
       .size = 0,
       .fn = roster_rate,
       .arg = &rcs[1]},
      {.impl = "redis-benchmark",
       .op = op_name[o],
       .size = 0,
       .fn = rb_rate,
       .arg = &rcs[2]},
  };
  bool on[3] = {true, o != OP_MGET, R.have_rb};
  bench_case cs[3];
  size_t n = 0;
  for (int k = 0; k < 3; k++)
    if (on[k])
      cs[n++] = all[k];
  roster__bench_calibrate(&cs[0], R.target_s, 3);
  uint64_t ops = cs[0].ops - cs[0].ops % clients;
  for (size_t i = 0; i < n; i++)
    cs[i].ops = ops < clients ? clients : ops;
  roster__bench_compare(cs, n, 0, REPEATS);
  for (size_t i = 0; i < n; i++)
    if (cs[i].runs)
      print_row(&cs[i], clients);
}

/* ---- set-up --------------------------------------------------------- */

/* populate writes every key of the three key spaces: roster's cache's
 * ("r:", tagged), roster_client's ("c:") and redis-benchmark's ("b:"),
 * both raw, as a plain SET writes them. */
static void populate(roster_cache *c, roster_redis *cli) {
  enum { CHUNK = 500 };
  static char keys[CHUNK][24];
  static unsigned char vals[CHUNK][VLEN];
  static char raw[2][CHUNK][96];
  roster_cache_item items[CHUNK];
  const char *argv[1 + 4 * CHUNK];
  size_t lens[1 + 4 * CHUNK];
  for (uint32_t base = 0; base < KEYS; base += CHUNK) {
    argv[0] = "MSET";
    lens[0] = 4;
    size_t n = 1;
    for (uint32_t j = 0; j < CHUNK; j++) {
      uint32_t i = base + j;
      snprintf(keys[j], sizeof keys[j], "%012u", i);
      value_of(vals[j], i);
      items[j] = (roster_cache_item){.key = keys[j],
                                     .key_len = strlen(keys[j]),
                                     .kind = ROSTER_CACHE_BYTES,
                                     .data = vals[j],
                                     .len = VLEN};
      for (int s = 0; s < 2; s++) {
        int kl = snprintf(raw[s][j], sizeof raw[s][j], "%s%c:%012u", R.prefix,
                          s ? 'b' : 'c', i);
        argv[n] = raw[s][j];
        lens[n++] = (size_t)kl;
        argv[n] = (const char *)vals[j];
        lens[n++] = VLEN;
      }
    }
    if (roster_cache_mset(c, items, CHUNK, 0) != ROSTER_OK)
      fail_call("roster_cache_mset");
    if (roster_redis_command(cli, n, argv, lens, NULL) != ROSTER_OK)
      fail_call("MSET");
  }
}

void bench_cache_redis(void) {
  R.target_s = roster__bench.quick ? 0.02 : 0.15;
  R.url = getenv("ROSTER_TEST_REDIS_URL");
  FILE *note = roster__bench.out;
  if (!R.url || !*R.url) {
    const char *req = getenv("ROSTER_TEST_REQUIRE_SERVERS");
    if (req && !strcmp(req, "1"))
      roster__bench_fail(1, "redis: ROSTER_TEST_REDIS_URL is not set, and "
                            "ROSTER_TEST_REQUIRE_SERVERS=1: failing");
    else
      roster__bench_warn(
          "redis: ROSTER_TEST_REDIS_URL is not set; skipping the "
          "Redis rows (scripts/services.sh start DIR redis starts "
          "one)");
    return;
  }
  if (roster_url_parse(R.url, &R.u) != ROSTER_OK) {
    fail_call("roster_url_parse");
    return;
  }
  R.have_rb = roster__bench_have_tool("redis-benchmark");
  if (!R.have_rb)
    roster__bench_warn(
        "redis: redis-benchmark is not installed: no baseline rows");
  snprintf(R.prefix, sizeof R.prefix, "bench:%ld:", (long)getpid());
  tables();
  char shown[512];
  roster_url_redact(R.url, shown, sizeof shown);
  fprintf(note,
          "\nroster-bench-cache: redis at %s, %d keys per impl, "
          "%d-byte values, best of %d\n",
          shown, KEYS, VLEN, REPEATS);
  if (!roster__bench.json)
    printf("%-16s %-8s %7s %12s %10s %7s\n", "impl", "op", "clients", "ops/s",
           "ops", "spread");

  char rprefix[80];
  snprintf(rprefix, sizeof rprefix, "%sr:", R.prefix);
  roster_redis *setup = NULL;
  roster_cache *all = NULL, *c = NULL;
  if (roster_redis_open(R.url, NULL, &(roster_redis_options){.name = "bench"},
                        &setup) != ROSTER_OK ||
      roster_redis_cache_new(setup, R.prefix, strlen(R.prefix), NULL, &all) !=
          ROSTER_OK ||
      roster_redis_cache_new(setup, rprefix, strlen(rprefix), NULL, &c) !=
          ROSTER_OK) {
    fail_call("opening the cache");
    goto out;
  }
  populate(c, setup);
  for (unsigned clients = 1; clients <= MAX_CLIENTS; clients *= 4) {
    /* one connection per thread, all open before the clock starts */
    char n[8];
    snprintf(n, sizeof n, "%u", clients);
    const char *opts[] = {"pool_max", n, "pool_min", n, NULL};
    roster_redis *cli = NULL;
    roster_cache *cc = NULL;
    if (roster_redis_open(R.url, opts, &(roster_redis_options){.name = "bench"},
                          &cli) != ROSTER_OK ||
        roster_redis_cache_new(cli, rprefix, strlen(rprefix), NULL, &cc) !=
            ROSTER_OK) {
      fail_call("opening the clients");
      roster_redis_free(cli);
      break;
    }
    measure(OP_SET, clients, cc, cli);
    measure(OP_GET, clients, cc, cli);
    if (clients == 1)
      measure(OP_MGET, clients, cc, cli);
    roster_cache_free(cc);
    roster_redis_free(cli);
  }

  fprintf(note, "\nratios (roster / redis-benchmark, ops/s; the target is "
                ">= 0.9):\n");
  for (int o = OP_GET; o <= OP_MGET; o++)
    for (unsigned clients = 1; clients <= MAX_CLIENTS; clients *= 4) {
      double a = roster__bench_ratio("roster", "redis-benchmark", op_name[o],
                                     clients, 0);
      double k = roster__bench_ratio("roster_client", "redis-benchmark",
                                     op_name[o], clients, 0);
      if (a > 0)
        fprintf(note, "  %-7s %u client%s: cache %.2fx%s", op_name[o], clients,
                clients > 1 ? "s" : " ", a, k > 0 ? "" : "\n");
      if (a > 0 && k > 0)
        fprintf(note, ", client %.2fx\n", k);
    }
out:
  if (all) {
    size_t removed = 0;
    if (roster_cache_clear(all, NULL, 0, &removed) != ROSTER_OK)
      fail_call("clearing the run's keys");
    roster_cache_free(all);
  }
  roster_cache_free(c);
  roster_redis_free(setup);
  roster_url_free(R.u);
  R.u = NULL;
}
