/*
 * bench_db.c: what the database layer costs. First the connection pool
 * (include/roster/pool.h): one acquire + release pair, uncontended (1
 * thread) and with 4 threads on a pool of 2 and of 4 connections, beside a
 * plain pool written here in the same run: a stack of connections behind
 * one pthread_mutex_t and one pthread_cond_t (pthread_cond_signal on
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
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <roster.h>

#include "bench_db.h"

enum { REPEATS = 3, MAX_THREADS = 8, MAX_CONNS = 8 };

static struct {
  bool json;
  bool quick;
  double run_s;
} S;

FILE *g_bench_out;
uint64_t g_bench_errors;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what) {
  fprintf(stderr, PROG ": %s\n", what);
  exit(1);
}

void bench_sleep(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

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
  mpool *p = calloc(1, sizeof *p);
  if (!p)
    die("out of memory");
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
  rpool *p = calloc(1, sizeof *p);
  if (!p)
    die("out of memory");
  p->src = (rsrc){.conns = conns, .n = n};
  roster_pool_options o = {0};
  o.name = "bench";
  o.ops = &r_ops;
  o.arg = &p->src;
  o.min_idle = n; /* all made up front, like the baseline's */
  o.max_size = n;
  if (roster_pool_new(&o, &p->pool) != ROSTER_OK) {
    fprintf(stderr, PROG ": roster_pool_new: %s\n", roster_last_error());
    exit(1);
  }
  return p;
}

static int rpool_acquire(void *pool, void **conn) {
  return roster_pool_acquire(((rpool *)pool)->pool, conn);
}

static void rpool_release(void *pool, void *conn) {
  if (roster_pool_release(((rpool *)pool)->pool, conn, false) != ROSTER_OK)
    die("roster_pool_release failed");
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

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

typedef struct run_ctx {
  const impl *im;
  void *pool;
  bool timed;   /* time each acquire into the threads' histograms */
  long hold_us; /* sleep this long holding the connection (a query) */
  pthread_barrier_t start;
  atomic_bool stop;
} run_ctx;

typedef struct thr {
  run_ctx *ctx;
  uint64_t ops;
  uint64_t failures;
  lat_hist *lat; /* when timed */
  pthread_t t;
} thr;

static void *thr_main(void *arg) {
  thr *me = arg;
  run_ctx *c = me->ctx;
  const impl *im = c->im;
  void *pool = c->pool;
  uint64_t n = 0, fail = 0;
  lat_hist *h = me->lat;
  pthread_barrier_wait(&c->start);
  while (!atomic_load_explicit(&c->stop, memory_order_relaxed)) {
    void *conn;
    uint64_t t0 = c->timed ? now_ns() : 0;
    if (im->acquire(pool, &conn) != ROSTER_OK) {
      fail++;
      continue;
    }
    if (c->timed) {
      uint64_t d = now_ns() - t0;
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
  me->failures = fail;
  return NULL;
}

typedef struct sample {
  double wall;      /* seconds */
  uint64_t ops;     /* all threads */
  double min_share; /* fewest ops of one thread / mean */
} sample;

/* run_once runs threads on a fresh pool of size connections for S.run_s;
 * with lat, each acquire is timed and the histograms summed into it. */
static sample run_once(const impl *im, unsigned threads, unsigned size,
                       lat_hist *lat, long hold_us) {
  bconn conns[MAX_CONNS];
  memset(conns, 0, sizeof conns);
  run_ctx c = {.im = im,
               .pool = im->make(conns, size),
               .timed = lat != NULL,
               .hold_us = hold_us};
  pthread_barrier_init(&c.start, NULL, threads + 1);
  thr t[MAX_THREADS];
  for (unsigned i = 0; i < threads; i++) {
    t[i] = (thr){.ctx = &c};
    if (lat && !(t[i].lat = calloc(1, sizeof *t[i].lat)))
      die("out of memory");
    if (pthread_create(&t[i].t, NULL, thr_main, &t[i]) != 0)
      die("pthread_create failed");
  }
  pthread_barrier_wait(&c.start);
  double t0 = now_s();
  bench_sleep(S.run_s);
  atomic_store(&c.stop, true);
  uint64_t total = 0, least = UINT64_MAX, fails = 0;
  for (unsigned i = 0; i < threads; i++) {
    pthread_join(t[i].t, NULL);
    total += t[i].ops;
    fails += t[i].failures;
    if (t[i].ops < least)
      least = t[i].ops;
    if (lat) {
      for (unsigned b = 0; b < LAT_BUCKETS; b++)
        lat->n[b] += t[i].lat->n[b];
      if (t[i].lat->max > lat->max)
        lat->max = t[i].lat->max;
      free(t[i].lat);
    }
  }
  double wall = now_s() - t0;
  pthread_barrier_destroy(&c.start);
  im->destroy(c.pool);
  uint64_t uses = 0;
  for (unsigned i = 0; i < size; i++)
    uses += conns[i].uses;
  if (uses != total || fails) {
    fprintf(stderr,
            PROG ": %s, %u threads, %u connections: %" PRIu64
                 " operations but %" PRIu64 " uses counted, %" PRIu64
                 " failed acquires\n",
            im->name, threads, size, total, uses, fails);
    g_bench_errors++;
  }
  if (total == 0)
    die("no operation completed");
  double mean = (double)total / threads;
  return (sample){wall, total, (double)least / mean};
}

typedef struct result {
  const char *impl;
  unsigned threads, size;
  sample best;
  double worst_rate, best_rate;
  double ns_per_op, ops_per_sec;
} result;

#define MAX_RESULTS 32
static result g_res[MAX_RESULTS];
static size_t g_nres;

static void print_header(void) {
  if (S.json)
    return;
  printf("%-11s %-15s %7s %5s %9s %10s %9s %7s\n", "impl", "op", "threads",
         "size", "ns/op", "ops/s", "min_share", "spread");
  fflush(stdout);
}

static void print_result(const result *x) {
  if (S.json) {
    printf(
        "{\"impl\":\"%s\",\"op\":\"acquire_release\",\"threads\":%u,"
        "\"size\":%u,\"ns_per_op\":%.2f,\"ops_per_sec\":%.0f,\"ops\":%" PRIu64
        ",\"min_share\":%.3f,\"best_of\":%d}\n",
        x->impl, x->threads, x->size, x->ns_per_op, x->ops_per_sec, x->best.ops,
        x->best.min_share, REPEATS);
  } else {
    printf("%-11s %-15s %7u %5u %9.1f %9.2fM %9.3f %6.0f%%\n", x->impl,
           "acquire_release", x->threads, x->size, x->ns_per_op,
           x->ops_per_sec / 1e6, x->best.min_share,
           100.0 * (x->best_rate - x->worst_rate) / x->best_rate);
  }
  fflush(stdout);
}

/* measure runs both pools REPEATS times, interleaved, keeping each one's
 * fastest run (by operations per second). */
static void measure(unsigned threads, unsigned size) {
  sample best[2];
  double hi[2] = {0, 0}, lo[2] = {0, 0};
  for (int rep = 0; rep < REPEATS; rep++)
    for (int k = 0; k < 2; k++) {
      sample s = run_once(&IMPLS[k], threads, size, NULL, 0);
      double rate = (double)s.ops / s.wall;
      if (rep == 0 || rate > hi[k]) {
        hi[k] = rate;
        best[k] = s;
      }
      if (rep == 0 || rate < lo[k])
        lo[k] = rate;
    }
  for (int k = 0; k < 2; k++) {
    if (g_nres == MAX_RESULTS)
      die("too many results");
    result *x = &g_res[g_nres++];
    *x = (result){.impl = IMPLS[k].name,
                  .threads = threads,
                  .size = size,
                  .best = best[k],
                  .best_rate = hi[k],
                  .worst_rate = lo[k],
                  .ns_per_op =
                      best[k].wall * 1e9 * threads / (double)best[k].ops,
                  .ops_per_sec = hi[k]};
    print_result(x);
  }
}

/* measure_latency times every acquire (two clock reads each, so these runs
 * are not the throughput rows) over REPEATS runs of each pool, and prints
 * the percentiles of all of them together. */
static void measure_latency(unsigned threads, unsigned size, long hold_us) {
  lat_hist *h[2];
  uint64_t ops[2] = {0, 0};
  for (int k = 0; k < 2; k++)
    if (!(h[k] = calloc(1, sizeof *h[k])))
      die("out of memory");
  double least[2] = {1, 1};
  for (int rep = 0; rep < REPEATS; rep++)
    for (int k = 0; k < 2; k++) {
      sample x = run_once(&IMPLS[k], threads, size, h[k], hold_us);
      ops[k] += x.ops;
      if (x.min_share < least[k])
        least[k] = x.min_share;
    }
  for (int k = 0; k < 2; k++) {
    uint64_t p50 = lat_percentile(h[k], 0.50), p99 = lat_percentile(h[k], 0.99),
             p999 = lat_percentile(h[k], 0.999);
    if (S.json)
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
  fprintf(g_bench_out, "\nroster / mutex_pool, ns per acquire+release:\n");
  for (size_t i = 0; i + 1 < g_nres; i += 2) {
    const result *a = &g_res[i], *b = &g_res[i + 1];
    fprintf(g_bench_out,
            "  %u thread%s, %u connections: %.2fx (%.1f vs %.1f ns)\n",
            a->threads, a->threads == 1 ? "" : "s", a->size,
            a->ns_per_op / b->ns_per_op, a->ns_per_op, b->ns_per_op);
  }
  fflush(g_bench_out);
}

/* ------------------------------------------------------------------ */

static void usage(FILE *f) {
  fprintf(
      f,
      "usage: " PROG " [--json] [--quick] [--help]\n"
      "  Measures roster's connection pool beside a mutex + condvar pool:\n"
      "  acquire+release pairs with 1 thread on 4 connections, and 4\n"
      "  threads on 2 and on 4 connections. Each figure is the best of\n"
      "  %d runs of 0.3 s. Then SELECT 1 per second with 4 clients\n"
      "  through roster beside pgbench and mariadb-slap, best of 3 runs\n"
      "  of 3 s, on the servers in ROSTER_TEST_PG_URL and\n"
      "  ROSTER_TEST_MARIADB_URL (left out, with a line, when unset).\n"
      "  --json   one JSON object per measurement on stdout, nothing else;\n"
      "           the summary goes to stderr\n"
      "  --quick  runs of 0.03 s, one SELECT 1 run of 0.3 s (smoke test)\n"
      "  --help   this text\n",
      REPEATS);
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0) {
      S.json = true;
    } else if (strcmp(argv[i], "--quick") == 0) {
      S.quick = true;
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return 0;
    } else {
      fprintf(stderr, PROG ": unknown option '%s'\n", argv[i]);
      usage(stderr);
      return 2;
    }
  }
  S.run_s = S.quick ? 0.03 : 0.3;
  g_bench_out = S.json ? stderr : stdout;
  double t_start = now_s();
  if (!S.json) {
    printf("roster %s database benchmark: %ld CPUs online, best of %d runs "
           "of %.2f s, CLOCK_MONOTONIC\n",
           roster_version(), sysconf(_SC_NPROCESSORS_ONLN), REPEATS, S.run_s);
    printf("ns/op = wall x threads / ops (one thread's time per acquire + "
           "release); min_share = fewest ops of one thread / mean; spread = "
           "(best - worst) / best rate of the %d runs\n\n",
           REPEATS);
  }

  print_header();
  measure(1, 4);
  measure(4, 2);
  measure(4, 4);
  if (!S.json)
    printf("\nacquire_wait: how long one acquire takes, in us (each one timed; "
           "%d runs together; min_share of the worst run):\n"
           "%-11s %7s %5s %7s %9s %9s %9s %10s %9s\n",
           REPEATS, "impl", "threads", "size", "hold_us", "p50", "p99", "p99.9",
           "max", "min_share");
  measure_latency(4, 2, 0);
  measure_latency(8, 2, 50);
  print_ratios();
  bench_db_select1(&(bench_db_opts){.json = S.json, .quick = S.quick});

  fprintf(g_bench_out, "\ntotal time %.1f s\n", now_s() - t_start);
  if (g_bench_errors) {
    fprintf(stderr,
            PROG ": %" PRIu64 " runs went wrong; the figures above "
                 "are not valid\n",
            g_bench_errors);
    return 1;
  }
  return 0;
}
