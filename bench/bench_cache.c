/*
 * bench_cache.c: how fast the cache service answers, each figure measured
 * beside a baseline in the same run.
 *
 * Sections (one function each, run in order; see bench/README.md):
 * - memory: roster_cache_get_bytes and roster_cache_set_bytes on the memory
 *   backend, at 1, 2, 4, 8 and 16 threads (--quick: 1 and 2), beside a baseline
 * written here: a chained hash table (XXH3, grown at load factor 1) behind one
 * pthread_mutex_t that copies values in and out the way the cache does. Both
 * hold the same pre-generated keys ("key:%u") with 64-byte values and are
 * driven in the same shuffled order; every get checks the value it read.
 * A third op, miss, gets keys that are not there (the next N numbers:
 * the same lengths) and checks that each is ROSTER_ENOENT.
 * - redis (bench_cache_redis.c, when the Redis module is built): GET, SET
 *   and MGET through roster against a real Redis beside redis-benchmark
 *   with the same command and client count; rows with "clients" instead
 *   of "threads".
 *
 * Every measurement runs a fixed number of operations sized to last ~0.25 s
 * (calibrated first), is repeated three times interleaved with its
 * baseline, and the best (shortest) repeat is reported (the harness,
 * bench.h): ns_per_op = wall x
 * threads / ops (one thread's time per operation), ops_per_sec = ops /
 * wall. A program, not a test: ratios are printed, the exit code is 0
 * unless an answer was wrong or a call failed.
 */
#include "bench.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <roster.h>

#ifdef ROSTER_BENCH_REDIS
#include "bench_cache_redis.h"
#endif

enum { REPEATS = 3, VALUE_LEN = 64 };

typedef struct settings {
  size_t sizes[2];     /* entries in the store, one run of the section each */
  unsigned threads[5]; /* thread counts of the rows */
  size_t nthreads;
  double target_s;
} settings;

static settings S;

/* ------------------------------------------------------------------ */
/* Keys and values                                                     */

typedef struct keyset {
  char (*keys)[16];
  size_t *lens;
  uint32_t *perm; /* a fixed-seed shuffle of 0..n-1 */
  size_t n;
} keyset;

/* keyset_make: the keys key:FIRST .. key:FIRST+n-1 (FIRST = n for the
 * misses: keys of the same lengths, none stored). */
static void keyset_make(keyset *ks, size_t first, size_t n) {
  ks->n = n;
  ks->keys = roster__bench_xmalloc(n * sizeof *ks->keys);
  ks->lens = roster__bench_xmalloc(n * sizeof *ks->lens);
  ks->perm = roster__bench_xmalloc(n * sizeof *ks->perm);
  for (size_t i = 0; i < n; i++)
    ks->lens[i] = (size_t)snprintf(ks->keys[i], 16, "key:%zu", first + i);
  uint64_t s = 0x9e3779b97f4a7c15ull;
  roster__bench_shuffle(ks->perm, n, &s);
}

static void keyset_free(keyset *ks) {
  free(ks->keys);
  free(ks->lens);
  free(ks->perm);
}

/* The value of key i: its number, then a pattern, so a read can be
 * checked. */
static void value_of(unsigned char *v, uint32_t i) {
  memcpy(v, &i, sizeof i);
  for (int k = 4; k < VALUE_LEN; k++)
    v[k] = (unsigned char)(i * 13u + (unsigned)k);
}

/* ------------------------------------------------------------------ */
/* Baseline: a chained hash table behind one pthread_mutex_t           */

typedef struct mx_node {
  struct mx_node *next;
  uint64_t hash;
  size_t klen, vlen;
  unsigned char *val; /* its own allocation, replaced on set */
  char key[];
} mx_node;

typedef struct mxmap {
  pthread_mutex_t lock;
  mx_node **buckets;
  size_t mask, count;
} mxmap;

static mxmap *mx_new(void) {
  mxmap *t = roster__bench_xmalloc(sizeof *t);
  pthread_mutex_init(&t->lock, NULL);
  t->mask = 1023;
  t->buckets = calloc(t->mask + 1, sizeof *t->buckets);
  if (!t->buckets)
    roster__bench_die("out of memory");
  t->count = 0;
  return t;
}

static void mx_free(mxmap *t) {
  for (size_t b = 0; b <= t->mask; b++)
    for (mx_node *n = t->buckets[b], *nx; n; n = nx) {
      nx = n->next;
      free(n->val);
      free(n);
    }
  free(t->buckets);
  pthread_mutex_destroy(&t->lock);
  free(t);
}

static void mx_grow(mxmap *t) { /* lock held */
  size_t nmask = (t->mask + 1) * 2 - 1;
  mx_node **nb = calloc(nmask + 1, sizeof *nb);
  if (!nb)
    return;
  for (size_t b = 0; b <= t->mask; b++)
    for (mx_node *n = t->buckets[b], *nx; n; n = nx) {
      nx = n->next;
      n->next = nb[n->hash & nmask];
      nb[n->hash & nmask] = n;
    }
  free(t->buckets);
  t->buckets = nb;
  t->mask = nmask;
}

/* mx_set stores a copy of the value (allocated outside the lock, as the
 * cache allocates its entry outside its shard lock). */
static int mx_set(mxmap *t, const char *key, size_t klen, const void *v,
                  size_t vlen) {
  uint64_t h = XXH3_64bits(key, klen);
  unsigned char *copy = malloc(vlen);
  if (!copy)
    return -1;
  memcpy(copy, v, vlen);
  unsigned char *old = NULL;
  pthread_mutex_lock(&t->lock);
  mx_node **slot = &t->buckets[h & t->mask];
  mx_node *n = *slot;
  while (n &&
         !(n->hash == h && n->klen == klen && memcmp(n->key, key, klen) == 0))
    n = n->next;
  if (n) {
    old = n->val;
    n->val = copy;
    n->vlen = vlen;
  } else {
    n = malloc(sizeof *n + klen);
    if (!n) {
      pthread_mutex_unlock(&t->lock);
      free(copy);
      return -1;
    }
    n->hash = h;
    n->klen = klen;
    n->vlen = vlen;
    n->val = copy;
    memcpy(n->key, key, klen);
    n->next = *slot;
    *slot = n;
    if (++t->count > t->mask + 1)
      mx_grow(t);
  }
  pthread_mutex_unlock(&t->lock);
  free(old);
  return 0;
}

/* mx_get copies the value into out (cap bytes); its length or -1. */
static long mx_get(mxmap *t, const char *key, size_t klen, void *out,
                   size_t cap) {
  uint64_t h = XXH3_64bits(key, klen);
  long got = -1;
  pthread_mutex_lock(&t->lock);
  for (mx_node *n = t->buckets[h & t->mask]; n; n = n->next)
    if (n->hash == h && n->klen == klen && memcmp(n->key, key, klen) == 0) {
      if (n->vlen <= cap) {
        memcpy(out, n->val, n->vlen);
        got = (long)n->vlen;
      }
      break;
    }
  pthread_mutex_unlock(&t->lock);
  return got;
}

/* ------------------------------------------------------------------ */
/* The memory section                                                  */

typedef enum impl { IMPL_MEMORY, IMPL_MUTEX } impl;
typedef enum op { OP_GET, OP_SET, OP_MISS } op;
static const char *const impl_name[] = {"memory", "mutex_map"};
static const char *const op_name[] = {"get", "set", "miss"};

typedef struct work {
  impl im;
  op o;
  roster_cache *c;
  mxmap *t;
  const keyset *ks;
  unsigned threads;
} work;

static bool value_ok(const unsigned char *v, size_t len, uint32_t i) {
  uint32_t got;
  if (len != VALUE_LEN)
    return false;
  memcpy(&got, v, sizeof got);
  return got == i &&
         v[VALUE_LEN - 1] == (unsigned char)(i * 13u + VALUE_LEN - 1);
}

static void worker_main(bench_thread *k) {
  const work *w = k->arg;
  const keyset *ks = w->ks;
  size_t n = ks->n;
  size_t j = (n / k->threads) * k->id;
  roster_cache_buf buf = {0};
  unsigned char v[VALUE_LEN];
  uint64_t errors = 0, sink = 0;
  /* One untimed call: roster registers the thread with RCU lazily, and the
   * buffer gets its memory. */
  if (w->im == IMPL_MEMORY &&
      roster_cache_get_bytes(w->c, ks->keys[0], ks->lens[0], &buf) !=
          (w->o == OP_MISS ? ROSTER_ENOENT : ROSTER_OK))
    errors++;
  roster__bench_start(k);
  for (uint64_t i = 0; i < k->ops; i++) {
    uint32_t idx = ks->perm[j];
    if (++j == n)
      j = 0;
    const char *key = ks->keys[idx];
    size_t klen = ks->lens[idx];
    if (w->o == OP_MISS) { /* a key that is not there: ENOENT, nothing read */
      if (w->im == IMPL_MEMORY) {
        int rc = roster_cache_get_bytes(w->c, key, klen, &buf);
        errors += rc != ROSTER_ENOENT || buf.len != 0;
      } else {
        errors += mx_get(w->t, key, klen, v, sizeof v) != -1;
      }
    } else if (w->o == OP_GET) {
      if (w->im == IMPL_MEMORY) {
        int rc = roster_cache_get_bytes(w->c, key, klen, &buf);
        errors += rc != ROSTER_OK || !value_ok(buf.data, buf.len, idx);
        sink += buf.data[5];
      } else {
        long got = mx_get(w->t, key, klen, v, sizeof v);
        errors += got < 0 || !value_ok(v, (size_t)got, idx);
        sink += v[5];
      }
    } else {
      value_of(v, idx);
      int rc = w->im == IMPL_MEMORY
                   ? roster_cache_set_bytes(w->c, key, klen, v, VALUE_LEN, 0)
                   : mx_set(w->t, key, klen, v, VALUE_LEN);
      errors += rc != 0;
    }
  }
  bench_stop(k);
  k->errors = errors;
  k->sink = sink;
  roster_cache_buf_close(&buf);
}

/* run_once (a bench_fn): ops operations on each of the work's threads. */
static bench_sample run_once(void *arg, uint64_t ops) {
  const work *w = arg;
  bench_sample s = roster__bench_threads(worker_main, arg, w->threads, ops);
  roster__bench_check(&s, impl_name[w->im], op_name[w->o]);
  /* Replaced entries are freed after a grace period: let that happen
   * between runs, untimed, so a run's backlog does not land on the next. */
  if (w->im == IMPL_MEMORY && w->o == OP_SET)
    roster_reclaim_wait();
  return s;
}

static void print_result(const work *w, const bench_case *c) {
  const bench_sample *b = &c->best;
  if (roster__bench.json) {
    printf("{\"impl\":\"%s\",\"op\":\"%s\",\"threads\":%u,\"entries\":%zu,"
           "\"value_bytes\":%d,\"ns_per_op\":%.2f,\"ops_per_sec\":%.0f,"
           "\"ops\":%" PRIu64 ",\"best_of\":%d}\n",
           impl_name[w->im], op_name[w->o], b->threads, w->ks->n, VALUE_LEN,
           bench_ns_per_op(b), bench_rate(b), b->ops, REPEATS);
  } else {
    printf("%-10s %-5s %7u %8zu %10.1f %12.0f %6.0f%%\n", impl_name[w->im],
           op_name[w->o], b->threads, w->ks->n, bench_ns_per_op(b),
           bench_rate(b), 100.0 * roster__bench_spread(c));
  }
  fflush(stdout);
}

static void measure_pair(work *wa, work *wb, unsigned threads) {
  wa->threads = wb->threads = threads;
  bench_case c[2] = {
      {.impl = impl_name[wa->im],
       .op = op_name[wa->o],
       .size = wa->ks->n,
       .fn = run_once,
       .arg = wa},
      {.impl = impl_name[wb->im],
       .op = op_name[wb->o],
       .size = wb->ks->n,
       .fn = run_once,
       .arg = wb},
  };
  roster__bench_compare(c, 2, S.target_s, REPEATS);
  print_result(wa, &c[0]);
  print_result(wb, &c[1]);
}

static void memory_size(size_t entries) {
  keyset ks, miss;
  keyset_make(&ks, 0, entries);
  keyset_make(&miss, entries, entries);
  roster_cache *c = NULL;
  if (roster_cache_memory_new(NULL, &(roster_cache_options){.name = "bench"},
                              &c) != ROSTER_OK)
    roster__bench_die("roster_cache_memory_new: %s", roster_last_error());
  mxmap *t = mx_new();
  unsigned char v[VALUE_LEN];
  for (size_t i = 0; i < ks.n; i++) {
    value_of(v, (uint32_t)i);
    if (roster_cache_set_bytes(c, ks.keys[i], ks.lens[i], v, VALUE_LEN, 0))
      roster__bench_die("roster_cache_set_bytes: %s", roster_last_error());
    if (mx_set(t, ks.keys[i], ks.lens[i], v, VALUE_LEN))
      roster__bench_die("baseline set failed");
  }
  roster_reclaim_wait();
  for (int o = OP_GET; o <= OP_MISS; o++)
    for (size_t ti = 0; ti < S.nthreads; ti++) {
      const keyset *k = o == OP_MISS ? &miss : &ks;
      work wm = {IMPL_MEMORY, (op)o, c, NULL, k, 0};
      work wb = {IMPL_MUTEX, (op)o, NULL, t, k, 0};
      measure_pair(&wm, &wb, S.threads[ti]);
    }
  roster_cache_free(c);
  mx_free(t);
  keyset_free(&ks);
  keyset_free(&miss);
  roster_reclaim_wait();
}

static void section_memory(void) {
  if (!roster__bench.json)
    printf("%-10s %-5s %7s %8s %10s %12s %7s\n", "impl", "op", "threads",
           "entries", "ns/op", "ops/s", "spread");
  for (int i = 0; i < 2; i++)
    memory_size(S.sizes[i]);

  /* Ratios, to stderr with --json (stdout holds only the rows). */
  FILE *f = roster__bench.out;
  fprintf(f, "\nratios (memory backend / mutex map, ops/s; >1 is faster):\n");
  for (int i = 0; i < 2; i++)
    for (int o = OP_GET; o <= OP_MISS; o++)
      for (size_t ti = 0; ti < S.nthreads; ti++) {
        unsigned th = S.threads[ti];
        double r = roster__bench_ratio("memory", "mutex_map", op_name[o], th,
                                       S.sizes[i]);
        if (r > 0)
          fprintf(f, "  %-4s, %zu entries, %u thread%s: %.2fx\n", op_name[o],
                  S.sizes[i], th, th > 1 ? "s" : "", r);
      }
  for (int i = 0; i < 2; i++) {
    const bench_result *g1 = roster__bench_find("memory", "get", 1, S.sizes[i]);
    const bench_result *g2 = roster__bench_find("memory", "get", 2, S.sizes[i]);
    if (g1 && g2)
      fprintf(f,
              "  memory get, %zu entries, 2 threads / 1 thread: %.2fx "
              "(2.0 is perfect scaling; needs two idle cores)\n",
              S.sizes[i], g2->rate / g1->rate);
  }
}

static const bench_spec spec = {
    .prog = "roster-bench-cache",
    .about = "  Measures the cache service: the memory backend's get, miss\n"
             "  and set beside a mutex-protected hash map at 1, 2, 4, 8 and\n"
             "  16 threads, with 10k and 100k keys; with the Redis module and\n"
             "  ROSTER_TEST_REDIS_URL, GET, SET and MGET through roster\n"
             "  beside redis-benchmark.\n",
    .quick = "1k and 10k keys, short runs (smoke test)",
};

int main(int argc, char **argv) {
  roster__bench_init(&spec, argc, argv);
  S.sizes[0] = roster__bench.quick ? 1000 : 10000;
  S.sizes[1] = roster__bench.quick ? 10000 : 100000;
  S.target_s = roster__bench.quick ? 0.01 : 0.25;
  /* The 4-, 8- and 16-thread rows are for bigger machines; on 2 cores they
   * show oversubscription. */
  static const unsigned th[5] = {1, 2, 4, 8, 16};
  S.nthreads = roster__bench.quick ? 2 : 5;
  memcpy(S.threads, th, sizeof th);
  fprintf(roster__bench.out,
          "roster-bench-cache: %zu and %zu keys, %d-byte values, best of %d\n",
          S.sizes[0], S.sizes[1], VALUE_LEN, REPEATS);
  section_memory();
#ifdef ROSTER_BENCH_REDIS
  bench_cache_redis();
#endif
  return roster__bench_finish();
}
