/*
 * bench_db.c: what the database layer costs. First the connection pool
 * (include/roster/pool.h): one acquire + release pair, uncontended (1
 * thread), with 4 threads on a pool of 2 and of 4 connections, and with 8
 * and 16 threads on 4 (for bigger machines; oversubscribed on 2 cores),
 * beside a plain pool written here in the same run: a stack of connections
 * behind one pthread_mutex_t and one pthread_cond_t (pthread_cond_signal on
 * release when someone waits), the textbook pool, with the same timeout
 * but none of roster's bookkeeping (no FIFO, leak sites, lifetimes, stats).
 * Then SELECT 1 round trips against real servers beside pgbench and
 * mariadb-slap (bench_db_sql.c).
 *
 * Each pool measurement runs its threads for a fixed time (0.3 s; --quick
 * 0.03 s), three times, the two pools interleaved, and reports the best
 * run: ns_per_op = wall x threads / ops, ops_per_sec = ops / wall. It also
 * reports min_share, the fewest operations any one thread completed over
 * the mean (1.0: every thread got the same share; the plain pool lets a
 * releasing thread take its connection straight back, roster hands it to
 * the oldest waiter). Every connection counts its uses with a plain
 * increment; a total that differs from the operations counted means two
 * threads held one connection at once: the program says so and exits 1.
 *
 * A program, not a test; see bench/README.md.
 */
#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <roster.h>

#include "bench_db.h"

enum { REPEATS = 3, MAX_THREADS = 16, MAX_CONNS = 8 };

static double g_run_s; /* length of one pool run */

/* ------------------------------------------------------------------ */
/* Connections: the same trivial ones for both pools                  */

typedef struct bconn {
  uint64_t uses; /* plain: only the holder touches it */
  char pad[56];  /* one cache line each */
} bconn;

/* ------------------------------------------------------------------ */
/* The baseline: a mutex + condvar pool                               */

typedef struct mpool {
  pthread_mutex_t mu;
  pthread_cond_t cv; /* CLOCK_MONOTONIC */
  void *free[MAX_CONNS];
  unsigned nfree;
  unsigned waiters;
  int64_t timeout_ms;
} mpool;

static void *mpool_make(bconn *conns, unsigned n) {
  mpool *p = roster__bench_xcalloc(1, sizeof *p);
  pthread_mutex_init(&p->mu, NULL);
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
  pthread_cond_init(&p->cv, &a);
  pthread_condattr_destroy(&a);
  for (unsigned i = 0; i < n; i++)
    p->free[p->nfree++] = &conns[i];
  p->timeout_ms = 30000;
  return p;
}

static int mpool_acquire(void *pool, void **conn) {
  mpool *p = pool;
  pthread_mutex_lock(&p->mu);
  if (p->nfree == 0) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += p->timeout_ms / 1000;
    p->waiters++;
    while (p->nfree == 0) {
      if (pthread_cond_timedwait(&p->cv, &p->mu, &ts) == ETIMEDOUT &&
          p->nfree == 0) {
        p->waiters--;
        pthread_mutex_unlock(&p->mu);
        return ROSTER_ETIMEDOUT;
      }
    }
    p->waiters--;
  }
  *conn = p->free[--p->nfree];
  pthread_mutex_unlock(&p->mu);
  return ROSTER_OK;
}

static void mpool_release(void *pool, void *conn) {
  mpool *p = pool;
  pthread_mutex_lock(&p->mu);
  p->free[p->nfree++] = conn;
  if (p->waiters)
    pthread_cond_signal(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

static void mpool_destroy(void *pool) {
  mpool *p = pool;
  pthread_cond_destroy(&p->cv);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

/* ------------------------------------------------------------------ */
/* roster's pool over the same connections                            */

typedef struct rsrc {
  bconn *conns;
  unsigned n, next;
} rsrc;

static int r_connect(void *arg, void **conn) {
  rsrc *s = arg;
  if (s->next == s->n)
    return roster_error_set(ROSTER_ECONN, "bench: no more connections");
  *conn = &s->conns[s->next++];
  return ROSTER_OK;
}

static void r_close(void *arg, void *conn) {
  (void)arg;
  (void)conn;
}

static const roster_pool_ops r_ops = {ROSTER_POOL_OPS_VERSION, r_connect,
                                      r_close, NULL, NULL};

typedef struct rpool {
  roster_pool *pool;
  rsrc src;
} rpool;

static void *rpool_make(bconn *conns, unsigned n) {
  rpool *p = roster__bench_xcalloc(1, sizeof *p);
  p->src = (rsrc){.conns = conns, .n = n};
  roster_pool_options o = {0};
  o.name = "bench";
  o.ops = &r_ops;
  o.arg = &p->src;
  o.min_idle = n; /* all made up front, like the baseline's */
  o.max_size = n;
  if (roster_pool_new(&o, &p->pool) != ROSTER_OK)
    roster__bench_die("roster_pool_new: %s", roster_last_error());
  return p;
}

static int rpool_acquire(void *pool, void **conn) {
  return roster_pool_acquire(((rpool *)pool)->pool, conn);
}

static void rpool_release(void *pool, void *conn) {
  if (roster_pool_release(((rpool *)pool)->pool, conn, false) != ROSTER_OK)
    roster__bench_die("roster_pool_release failed");
}

static void rpool_destroy(void *pool) {
  rpool *p = pool;
  roster_pool_free(p->pool);
  free(p);
}

typedef struct impl {
  const char *name;
  void *(*make)(bconn *conns, unsigned n);
  int (*acquire)(void *pool, void **conn);
  void (*release)(void *pool, void *conn);
  void (*destroy)(void *pool);
} impl;

static const impl IMPLS[2] = {
    {"roster", rpool_make, rpool_acquire, rpool_release, rpool_destroy},
    {"mutex_pool", mpool_make, mpool_acquire, mpool_release, mpool_destroy},
};

/* ------------------------------------------------------------------ */
/* Runs                                                                */

/* A latency histogram: 8 linear sub-buckets per power of two of ns, so a
 * percentile is read within 12.5 %. */
#define LAT_BUCKETS (64 * 8)
typedef struct lat_hist {
  uint64_t n[LAT_BUCKETS];
  uint64_t max;
} lat_hist;

static unsigned lat_bucket(uint64_t ns) {
  if (ns < 8)
    return (unsigned)ns;
  unsigned msb = 63u - (unsigned)__builtin_clzll(ns);
  return msb * 8 + (unsigned)((ns >> (msb - 3)) & 7);
}

/* lat_upper: the largest value in bucket b. */
static uint64_t lat_upper(unsigned b) {
  if (b < 8)
    return b;
  unsigned msb = b / 8, sub = b % 8;
  return ((8ull + sub + 1) << (msb - 3)) - 1;
}

static uint64_t lat_percentile(const lat_hist *h, double q) {
  uint64_t total = 0;
  for (unsigned b = 0; b < LAT_BUCKETS; b++)
    total += h->n[b];
  uint64_t want = (uint64_t)(q * (double)total), seen = 0;
  for (unsigned b = 0; b < LAT_BUCKETS; b++) {
    seen += h->n[b];
    if (seen > want)
      return lat_upper(b) < h->max ? lat_upper(b) : h->max;
  }
  return h->max;
}

typedef struct run_ctx {
  const impl *im;
  void *pool;
  long hold_us;               /* sleep this long holding the connection */
  lat_hist *lat[MAX_THREADS]; /* each thread's, when acquires are timed */
} run_ctx;

static void thr_main(bench_thread *me) {
  run_ctx *c = me->arg;
  const impl *im = c->im;
  void *pool = c->pool;
  uint64_t n = 0, fail = 0;
  lat_hist *h = c->lat[me->id];
  roster__bench_start(me);
  while (bench_running(me)) {
    void *conn;
    int64_t t0 = h ? bench_now_ns() : 0;
    if (im->acquire(pool, &conn) != ROSTER_OK) {
      fail++;
      continue;
    }
    if (h) {
      uint64_t d = (uint64_t)(bench_now_ns() - t0);
      h->n[lat_bucket(d)]++;
      if (d > h->max)
        h->max = d;
    }
    ((bconn *)conn)->uses++;
    if (c->hold_us) {
      struct timespec ts = {0, c->hold_us * 1000};
      nanosleep(&ts, NULL);
    }
    im->release(pool, conn);
    n++;
  }
  me->ops = n;
  me->errors = fail;
}

/* min_share: the fewest operations of one thread over the mean. */
static double min_share(const bench_sample *s) {
  return (double)s->least * s->threads / (double)s->ops;
}

/* run_once runs threads on a fresh pool of size connections for g_run_s;
 * with lat, each acquire is timed and the histograms summed into it. */
static bench_sample run_once(const impl *im, unsigned threads, unsigned size,
                             lat_hist *lat, long hold_us) {
  bconn conns[MAX_CONNS];
  memset(conns, 0, sizeof conns);
  run_ctx c = {.im = im, .pool = im->make(conns, size), .hold_us = hold_us};
  for (unsigned i = 0; lat && i < threads; i++)
    c.lat[i] = roster__bench_xcalloc(1, sizeof *c.lat[i]);
  bench_sample s = roster__bench_threads_for(thr_main, &c, threads, g_run_s);
  for (unsigned i = 0; lat && i < threads; i++) {
    for (unsigned b = 0; b < LAT_BUCKETS; b++)
      lat->n[b] += c.lat[i]->n[b];
    if (c.lat[i]->max > lat->max)
      lat->max = c.lat[i]->max;
    free(c.lat[i]);
  }
  im->destroy(c.pool);
  uint64_t uses = 0;
  for (unsigned i = 0; i < size; i++)
    uses += conns[i].uses;
  if (uses != s.ops || s.errors)
    roster__bench_fail(1,
                       "%s, %u threads, %u connections: %" PRIu64
                       " operations but %" PRIu64 " uses counted, %" PRIu64
                       " failed acquires",
                       im->name, threads, size, s.ops, uses, s.errors);
  if (s.ops == 0)
    roster__bench_die("no operation completed");
  return s;
}

/* The acquire_release rows: threads on size connections. */
static const struct {
  unsigned threads, size;
} POOL_ROWS[] = {{1, 4}, {4, 2}, {4, 4}, {8, 4}, {16, 4}};

typedef struct pool_case {
  const impl *im;
  unsigned threads, size;
} pool_case;

/* pool_run: a bench_fn, one timed run of a pool. */
static bench_sample pool_run(void *arg, uint64_t ops) {
  const pool_case *p = arg;
  (void)ops;
  return run_once(p->im, p->threads, p->size, NULL, 0);
}

static void print_header(void) {
  if (roster__bench.json)
    return;
  printf("%-11s %-15s %7s %5s %9s %10s %9s %7s\n", "impl", "op", "threads",
         "size", "ns/op", "ops/s", "min_share", "spread");
  fflush(stdout);
}

static void print_result(const bench_case *c, const char *name, unsigned size) {
  const bench_sample *b = &c->best;
  if (roster__bench.json) {
    printf(
        "{\"impl\":\"%s\",\"op\":\"acquire_release\",\"threads\":%u,"
        "\"size\":%u,\"ns_per_op\":%.2f,\"ops_per_sec\":%.0f,\"ops\":%" PRIu64
        ",\"min_share\":%.3f,\"best_of\":%d}\n",
        name, b->threads, size, bench_ns_per_op(b), bench_rate(b), b->ops,
        min_share(b), REPEATS);
  } else {
    printf("%-11s %-15s %7u %5u %9.1f %9.2fM %9.3f %6.0f%%\n", name,
           "acquire_release", b->threads, size, bench_ns_per_op(b),
           bench_rate(b) / 1e6, min_share(b), 100.0 * roster__bench_spread(c));
  }
  fflush(stdout);
}

/* measure runs both pools REPEATS times, interleaved, keeping each one's
 * fastest run (by operations per second). */
static void measure(unsigned threads, unsigned size) {
  pool_case pc[2];
  bench_case c[2];
  for (int k = 0; k < 2; k++) {
    pc[k] = (pool_case){&IMPLS[k], threads, size};
    c[k] = (bench_case){.impl = IMPLS[k].name,
                        .op = "acquire_release",
                        .size = size,
                        .fn = pool_run,
                        .arg = &pc[k]};
  }
  roster__bench_compare(c, 2, 0, REPEATS);
  print_result(&c[0], IMPLS[0].name, size);
  print_result(&c[1], IMPLS[1].name, size);
}

/* measure_latency times every acquire (two clock reads each, so these runs
 * are not the throughput rows) over REPEATS runs of each pool, and prints
 * the percentiles of all of them together. */
static void measure_latency(unsigned threads, unsigned size, long hold_us) {
  lat_hist *h[2];
  uint64_t ops[2] = {0, 0};
  for (int k = 0; k < 2; k++)
    h[k] = roster__bench_xcalloc(1, sizeof *h[k]);
  double least[2] = {1, 1};
  for (int rep = 0; rep < REPEATS; rep++)
    for (int k = 0; k < 2; k++) {
      bench_sample x = run_once(&IMPLS[k], threads, size, h[k], hold_us);
      ops[k] += x.ops;
      if (min_share(&x) < least[k])
        least[k] = min_share(&x);
    }
  for (int k = 0; k < 2; k++) {
    uint64_t p50 = lat_percentile(h[k], 0.50), p99 = lat_percentile(h[k], 0.99),
             p999 = lat_percentile(h[k], 0.999);
    if (roster__bench.json)
      printf("{\"impl\":\"%s\",\"op\":\"acquire_wait\",\"threads\":%u,"
             "\"size\":%u,\"hold_us\":%ld,\"p50_ns\":%" PRIu64
             ",\"p99_ns\":%" PRIu64 ",\"p999_ns\":%" PRIu64
             ",\"max_ns\":%" PRIu64 ",\"min_share\":%.3f,\"ops\":%" PRIu64
             "}\n",
             IMPLS[k].name, threads, size, hold_us, p50, p99, p999, h[k]->max,
             least[k], ops[k]);
    else
      printf("%-11s %7u %5u %7ld %9.1f %9.1f %9.1f %10.1f %9.3f\n",
             IMPLS[k].name, threads, size, hold_us, p50 / 1e3, p99 / 1e3,
             p999 / 1e3, h[k]->max / 1e3, least[k]);
    free(h[k]);
  }
  fflush(stdout);
}

static void print_ratios(void) {
  fprintf(roster__bench.out,
          "\nroster / mutex_pool, ns per acquire+release:\n");
  for (size_t i = 0; i < sizeof POOL_ROWS / sizeof POOL_ROWS[0]; i++) {
    unsigned th = POOL_ROWS[i].threads, size = POOL_ROWS[i].size;
    const bench_result *a =
        roster__bench_find("roster", "acquire_release", th, size);
    const bench_result *b =
        roster__bench_find("mutex_pool", "acquire_release", th, size);
    if (a && b)
      fprintf(roster__bench.out,
              "  %u thread%s, %u connections: %.2fx (%.1f vs %.1f ns)\n", th,
              th == 1 ? "" : "s", size, a->ns_per_op / b->ns_per_op,
              a->ns_per_op, b->ns_per_op);
  }
  fflush(roster__bench.out);
}

/* ------------------------------------------------------------------ */

static const bench_spec spec = {
    .prog = "roster-bench-db",
    .about =
        "  Measures roster's connection pool beside a mutex + condvar pool:\n"
        "  acquire+release pairs with 1 thread on 4 connections, 4\n"
        "  threads on 2 and on 4 connections, and 8 and 16 threads on 4\n"
        "  (for bigger machines). Each figure is the best of\n"
        "  3 runs of 0.3 s. Then SELECT 1 per second with 4 clients\n"
        "  through roster beside pgbench and mariadb-slap, best of 3 runs\n"
        "  of 3 s, on the servers in ROSTER_TEST_PG_URL and\n"
        "  ROSTER_TEST_MARIADB_URL (left out, with a line, when unset).\n",
    .quick = "runs of 0.03 s, one SELECT 1 run of 0.3 s (smoke test)",
};

int main(int argc, char **argv) {
  roster__bench_init(&spec, argc, argv);
  g_run_s = roster__bench.quick ? 0.03 : 0.3;
  if (!roster__bench.json) {
    printf("roster %s database benchmark: %ld CPUs online, best of %d runs "
           "of %.2f s, CLOCK_MONOTONIC\n",
           roster_version(), sysconf(_SC_NPROCESSORS_ONLN), REPEATS, g_run_s);
    printf("ns/op = wall x threads / ops (one thread's time per acquire + "
           "release); min_share = fewest ops of one thread / mean; spread = "
           "(worst - best) / best of the %d runs\n\n",
           REPEATS);
  }

  print_header();
  for (size_t i = 0; i < sizeof POOL_ROWS / sizeof POOL_ROWS[0]; i++)
    measure(POOL_ROWS[i].threads, POOL_ROWS[i].size);
  if (!roster__bench.json)
    printf("\nacquire_wait: how long one acquire takes, in us (each one timed; "
           "%d runs together; min_share of the worst run):\n"
           "%-11s %7s %5s %7s %9s %9s %9s %10s %9s\n",
           REPEATS, "impl", "threads", "size", "hold_us", "p50", "p99", "p99.9",
           "max", "min_share");
  measure_latency(4, 2, 0);
  measure_latency(8, 2, 50);
  print_ratios();
  bench_db_select1();
  return roster__bench_finish();
}
