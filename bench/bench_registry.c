/*
 * bench_registry.c: how fast roster's registry answers lookups, misses,
 * register+unregister pairs and dispatch, and how much memory an entry costs,
 * each measured beside a baseline written here in the same run: a chained
 * hash table (XXH3, power-of-two buckets, grown at load factor 1) behind one
 * pthread_rwlock_t, fed the same pre-generated keys ("service-%u") in the
 * same shuffled order, at the same thread counts. Every measurement runs a
 * fixed number of operations sized to last ~0.25 s (roster__bench_calibrate),
 * is repeated three times interleaved with the baseline, and the best
 * (shortest) repeat is reported (roster__bench_measure). ns_per_op = wall time
 * x threads / total ops (the time one thread spends per operation); ops_per_sec
 * = total ops / wall time (the aggregate of all threads). Memory is the glibc
 * mallinfo2() delta (heap plus mmapped chunks, so hash-table bucket arrays
 * count) across inserting the entries, per entry, minus the names' own bytes. A
 * program, not a test: the targets are printed as PASS/MISS and the exit code
 * is 0 unless a lookup returns a wrong answer. See bench/README.md.
 */
#include "bench.h"

#include <inttypes.h>
#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <roster/registry.h>

/* ------------------------------------------------------------------ */
/* Settings                                                            */

enum { REPEATS = 3, DISPATCH_FANOUT = 1000, FRESH_POOL = 1u << 16 };

typedef struct settings {
  size_t sizes[3];
  size_t nsizes;
  unsigned threads[5]; /* thread counts of the lookup and dispatch rows */
  size_t nthreads;
  size_t rooms[3]; /* members of the hot room */
  size_t nrooms;
  double target_s; /* wall time of one repeat */
} settings;

static settings S;

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

#define xmalloc roster__bench_xmalloc

/* Memory in use by malloc: heap chunks plus mmapped chunks (big arrays). */
static long long heap_bytes(void) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
  struct mallinfo2 mi = mallinfo2();
  return (long long)mi.uordblks + (long long)mi.hblkhd;
#else
  return 0;
#endif
}

static long long rss_bytes(void) {
  long long size = 0, res = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f)
    return 0;
  if (fscanf(f, "%lld %lld", &size, &res) != 2)
    res = 0;
  fclose(f);
  return res * (long long)sysconf(_SC_PAGESIZE);
}

/* ------------------------------------------------------------------ */
/* Keys                                                                */

/* keyset: n NUL-terminated names packed in one buffer. */
typedef struct keyset {
  char *buf;
  const char **names;
  size_t n;
  size_t bytes; /* sum of strlen + 1 */
} keyset;

static void keyset_make(keyset *ks, size_t first, size_t n) {
  ks->n = n;
  ks->names = xmalloc(n * sizeof *ks->names);
  ks->buf = xmalloc(n * 24);
  size_t off = 0;
  for (size_t i = 0; i < n; i++) {
    int len = snprintf(ks->buf + off, 24, "service-%zu", first + i);
    ks->names[i] = ks->buf + off;
    off += (size_t)len + 1;
  }
  ks->bytes = off;
}

static void keyset_free(keyset *ks) {
  free(ks->names);
  free(ks->buf);
  memset(ks, 0, sizeof *ks);
}

/* A shuffled order of 0..n-1 (Fisher-Yates, fixed seed). */
static uint32_t *make_perm(size_t n, uint64_t seed) {
  uint32_t *p = xmalloc(n * sizeof *p);
  uint64_t s = seed | 1;
  roster__bench_shuffle(p, n, &s);
  return p;
}

/* The lookups read their names from a stream: the names of ks copied in
 * the order perm gives, KEY_STRIDE bytes apart. A lookup loop reads it
 * front to back, which the hardware prefetches, so at 1M entries the
 * timed loop's DRAM reads are the table's alone (an array of pointers
 * into ks->buf cost two more random reads per lookup, for both tables). */
#define KEY_STRIDE 24
static char *make_stream(const keyset *ks, const uint32_t *perm) {
  char *s = xmalloc(ks->n * KEY_STRIDE);
  for (size_t i = 0; i < ks->n; i++) {
    size_t len = strlen(ks->names[perm[i]]);
    if (len >= KEY_STRIDE)
      roster__bench_die("name too long for the lookup stream");
    memcpy(s + i * KEY_STRIDE, ks->names[perm[i]], len + 1);
  }
  return s;
}

static void *inst_of(size_t i) { return (void *)(uintptr_t)(i + 1); }

#include "bench_rwtable.h"

/* ------------------------------------------------------------------ */
/* Workloads                                                           */

typedef enum impl { IMPL_ROSTER, IMPL_RWLOCK } impl;
typedef enum op {
  OP_HIT,
  OP_MISS,
  OP_HIT_SCATTERED,
  OP_REGUNREG,
  OP_DISPATCH,
  OP_ROOM,
} op;

static const char *impl_name[] = {"roster", "rwlock"};
static const char *op_name[] = {
    "lookup_hit",          "lookup_miss", "lookup_hit_scattered",
    "register_unregister", "dispatch",    "room_join_leave"};

typedef struct work {
  impl im;
  op o;
  roster *r;
  rwtable *t;
  const keyset *keys;   /* names to look up / register */
  const char *stream;   /* lookups: keys in access order (make_stream) */
  const uint32_t *perm; /* OP_HIT_SCATTERED: access order over keys */
  size_t entries;       /* reported entry count */
  unsigned threads;     /* how many run it */
} work;

static int visit_cb(const roster_info *info, void *arg) {
  *(uintptr_t *)arg += (uintptr_t)info->instance;
  return 0;
}

/* KEY_AT is the name lookup i reads: the next in the stream, or for
 * OP_HIT_SCATTERED a pointer from the name array into the names' buffer
 * (two more random reads, as for a caller whose keys are cold). */
#define KEY_AT(w, j)                                                           \
  ((w)->perm ? (w)->keys->names[(w)->perm[j]] : (w)->stream + (j)*KEY_STRIDE)

static void run_lookups(bench_thread *k) {
  const work *w = k->arg;
  size_t n = w->keys->n;
  size_t j = (n / k->threads) * k->id;
  bool hit = w->o != OP_MISS;
  uintptr_t sink = 0;
  uint64_t errors = 0;
  if (w->im == IMPL_ROSTER) {
    int rwant = hit ? ROSTER_OK : ROSTER_ENOENT;
    for (uint64_t i = 0; i < k->ops; i++) {
      void *out;
      int rc = roster_get(w->r, NULL, KEY_AT(w, j), NULL, &out);
      if (++j == n)
        j = 0;
      sink ^= (uintptr_t)out;
      errors += rc != rwant;
    }
  } else {
    int want = hit ? 0 : -1;
    for (uint64_t i = 0; i < k->ops; i++) {
      void *out;
      int rc = rw_get(w->t, KEY_AT(w, j), &out);
      if (++j == n)
        j = 0;
      sink ^= (uintptr_t)out;
      errors += rc != want;
    }
  }
  k->sink = sink;
  k->errors = errors;
}

static void run_regunreg(bench_thread *k) {
  const work *w = k->arg;
  const char *const *names = w->keys->names;
  size_t mask = w->keys->n - 1; /* FRESH_POOL, a power of two */
  uint64_t errors = 0;
  if (w->im == IMPL_ROSTER) {
    for (uint64_t i = 0; i < k->ops; i++) {
      const char *name = names[i & mask];
      errors += roster_register(w->r, NULL, name, &bench_type, inst_of(i)) !=
                ROSTER_OK;
      errors += roster_unregister(w->r, NULL, name) != ROSTER_OK;
    }
  } else {
    for (uint64_t i = 0; i < k->ops; i++) {
      const char *name = names[i & mask];
      errors += rw_insert(w->t, name, inst_of(i)) != 0;
      errors += rw_delete(w->t, name) != 0;
    }
  }
  k->errors = errors;
}

static void run_dispatch(bench_thread *k) {
  const work *w = k->arg;
  const char *topic = w->keys->names[0];
  uintptr_t acc = 0;
  uint64_t errors = 0;
  if (w->im == IMPL_ROSTER) {
    for (uint64_t i = 0; i < k->ops; i++) {
      size_t called = 0;
      int rc = roster_dispatch(w->r, NULL, topic, visit_cb, &acc, &called);
      errors += rc != ROSTER_OK || called != DISPATCH_FANOUT;
    }
  } else {
    for (uint64_t i = 0; i < k->ops; i++)
      errors += rw_dispatch(w->t, topic, visit_cb, &acc) != DISPATCH_FANOUT;
  }
  k->sink = acc;
  k->errors = errors;
}

/* A hot room: one member joins the key that holds w->entries members and
 * leaves again (roster: registered with an owner of this thread's, left
 * with roster_unregister_owned; baseline: insert, delete that node). */
static void run_room(bench_thread *k) {
  const work *w = k->arg;
  const char *room = w->keys->names[0];
  uint64_t errors = 0;
  if (w->im == IMPL_ROSTER) {
    roster_owner *o = NULL;
    if (roster_owner_new(&o) != ROSTER_OK)
      roster__bench_die("roster_owner_new failed");
    roster_entry_options eo = {.owner = o};
    for (uint64_t i = 0; i < k->ops; i++) {
      errors += roster_register_ex(w->r, NULL, room, &bench_type,
                                   inst_of(w->entries + i), &eo) != ROSTER_OK;
      errors += roster_unregister_owned(w->r, NULL, room, o) != ROSTER_OK;
    }
    roster_owner_free(o);
  } else {
    for (uint64_t i = 0; i < k->ops; i++) {
      void *inst = inst_of(w->entries + i);
      errors += rw_insert(w->t, room, inst) != 0;
      errors += rw_delete_inst(w->t, room, inst) != 0;
    }
  }
  k->errors = errors;
}

/* One untimed call first, so that roster registers this thread with RCU
 * outside the timed loop. */
static void worker_main(bench_thread *k) {
  const work *w = k->arg;
  if (w->im == IMPL_ROSTER)
    (void)roster_has(w->r, NULL, w->keys->names[0]);
  roster__bench_start(k);
  switch (w->o) {
  case OP_HIT:
  case OP_MISS:
  case OP_HIT_SCATTERED:
    run_lookups(k);
    break;
  case OP_REGUNREG:
    run_regunreg(k);
    break;
  case OP_DISPATCH:
    run_dispatch(k);
    break;
  case OP_ROOM:
    run_room(k);
    break;
  }
  bench_stop(k);
}

/* run_once (a bench_fn): ops_per_thread operations on each of the work's
 * threads, started together. */
static bench_sample run_once(void *arg, uint64_t ops_per_thread) {
  const work *w = arg;
  bench_sample s =
      roster__bench_threads(worker_main, arg, w->threads, ops_per_thread);
  roster__bench_check(&s, impl_name[w->im], op_name[w->o]);
  /* Unregistered entries wait for a grace period; reclaim them between
   * runs, untimed, so one run's backlog does not land on the next. */
  if (w->im == IMPL_ROSTER && (w->o == OP_REGUNREG || w->o == OP_ROOM))
    roster_reclaim_wait();
  return s;
}

/* ------------------------------------------------------------------ */
/* Results                                                             */

static void fmt_rate(char *buf, size_t cap, double v) {
  if (v >= 1e9)
    snprintf(buf, cap, "%.2fG", v / 1e9);
  else if (v >= 1e6)
    snprintf(buf, cap, "%.2fM", v / 1e6);
  else if (v >= 1e3)
    snprintf(buf, cap, "%.2fk", v / 1e3);
  else
    snprintf(buf, cap, "%.1f", v);
}

static void print_header(void) {
  if (roster__bench.json)
    return;
  printf("%-7s %-20s %7s %8s %11s %10s %7s  %s\n", "impl", "op", "threads",
         "entries", "ns/op", "ops/s", "spread", "note");
  fflush(stdout);
}

static void print_result(const work *w, const bench_case *c) {
  const bench_sample *b = &c->best;
  double ns = bench_ns_per_op(b), rate = bench_rate(b);
  if (roster__bench.json) {
    printf("{\"impl\":\"%s\",\"op\":\"%s\",\"threads\":%u,\"entries\":%zu,"
           "\"ns_per_op\":%.2f,\"ops_per_sec\":%.0f,\"ops\":%" PRIu64
           ",\"best_of\":%d}\n",
           impl_name[w->im], op_name[w->o], b->threads, w->entries, ns, rate,
           b->ops, REPEATS);
  } else {
    char srate[32], note[64] = "";
    fmt_rate(srate, sizeof srate, rate);
    if (w->o == OP_DISPATCH)
      snprintf(note, sizeof note, "%.2f ns per entry visited",
               ns / DISPATCH_FANOUT);
    else if (w->o == OP_REGUNREG)
      snprintf(note, sizeof note, "op = one register + one unregister");
    else if (w->o == OP_ROOM)
      snprintf(note, sizeof note, "op = one join + one leave");
    printf("%-7s %-20s %7u %8zu %11.1f %10s %6.0f%%  %s\n", impl_name[w->im],
           op_name[w->o], b->threads, w->entries, ns, srate,
           100.0 * roster__bench_spread(c), note);
  }
  fflush(stdout);
}

/* Measures roster and the baseline on the same workload at threads
 * threads: each calibrated, then REPEATS runs of each, interleaved; each
 * one's best is kept and printed. */
static void measure_pair(work *wr, work *wb, unsigned threads) {
  wr->threads = wb->threads = threads;
  bench_case c[2] = {
      {.impl = impl_name[wr->im],
       .op = op_name[wr->o],
       .size = wr->entries,
       .fn = run_once,
       .arg = wr},
      {.impl = impl_name[wb->im],
       .op = op_name[wb->o],
       .size = wb->entries,
       .fn = run_once,
       .arg = wb},
  };
  roster__bench_compare(c, 2, S.target_s, REPEATS);
  print_result(wr, &c[0]);
  print_result(wb, &c[1]);
}

/* ------------------------------------------------------------------ */
/* Building the tables                                                 */

static roster *roster_fill(const keyset *ks, roster_keys keys,
                           const char *dup_name) {
  roster_options o = {.keys = keys, .name = "bench", .initial_buckets = 0};
  roster *r = NULL;
  if (roster_new(&o, &r) != ROSTER_OK) {
    fprintf(stderr, "roster-bench-registry: roster_new: %s\n",
            roster_last_error());
    exit(1);
  }
  for (size_t i = 0; i < ks->n; i++) {
    const char *name = dup_name ? dup_name : ks->names[i];
    if (roster_register(r, NULL, name, &bench_type, inst_of(i)) != ROSTER_OK) {
      fprintf(stderr, "roster-bench-registry: roster_register(%s): %s\n", name,
              roster_last_error());
      exit(1);
    }
  }
  return r;
}

static rwtable *rw_fill(const keyset *ks, bool unique, const char *dup_name) {
  rwtable *t = rw_new(unique);
  for (size_t i = 0; i < ks->n; i++) {
    if (rw_insert(t, dup_name ? dup_name : ks->names[i], inst_of(i)) != 0)
      roster__bench_die("baseline insert failed");
  }
  return t;
}

/* Lets background work finish (RCU callbacks; cds_lfht grows its bucket
 * array on a worker thread): waits until malloc's figure stops moving. */
static void settle(void) {
  roster_reclaim_wait();
  long long last = heap_bytes();
  int same = 0;
  for (int i = 0; i < 100 && same < 3; i++) {
    struct timespec d = {0, 20 * 1000 * 1000};
    nanosleep(&d, NULL);
    long long cur = heap_bytes();
    same = cur == last ? same + 1 : 0;
    last = cur;
  }
}

typedef struct memres {
  size_t entries;
  double name_bytes; /* average strlen + 1 */
  double heap_per;   /* malloc delta per entry, names included */
  double rss_per;    /* resident-set delta per entry */
  double stats_per;  /* roster_stats memory_bytes per entry (roster only) */
  bool valid;
} memres;

static memres g_mem[2];

static void print_mem(impl im, const memres *m) {
  double beyond = m->heap_per - m->name_bytes;
  if (roster__bench.json) {
    if (m->valid)
      printf("{\"impl\":\"%s\",\"op\":\"memory\",\"entries\":%zu,"
             "\"bytes_per_entry\":%.1f}\n",
             impl_name[im], m->entries, beyond);
    else
      printf("{\"impl\":\"%s\",\"op\":\"memory\",\"entries\":%zu,"
             "\"bytes_per_entry\":null}\n",
             impl_name[im], m->entries);
  } else if (!m->valid) {
    printf("%-7s memory: n/a (mallinfo2 saw no change, e.g. under ASan)\n",
           impl_name[im]);
  } else {
    printf("%-7s memory, %zu entries: %.1f bytes/entry beyond the name "
           "(malloc delta %.1f B/entry incl. bucket arrays, minus %.1f B avg "
           "name+NUL; RSS delta %.1f B/entry",
           impl_name[im], m->entries, beyond, m->heap_per, m->name_bytes,
           m->rss_per);
    if (im == IMPL_ROSTER)
      printf("; roster_stats says %.1f B/entry without buckets", m->stats_per);
    printf(")\n");
  }
  fflush(stdout);
}

/* ------------------------------------------------------------------ */
/* The run                                                             */

typedef struct sized {
  size_t n;
  keyset hit, miss;
  uint32_t *perm;                 /* the lookups' order */
  char *hit_stream, *miss_stream; /* the names in that order (make_stream) */
  roster *r;
  rwtable *t;
} sized;

static void sized_make(sized *z, size_t n, bool measure_memory) {
  z->n = n;
  keyset_make(&z->hit, 0, n);
  keyset_make(&z->miss, n, n); /* the names right after the registered ones */
  z->perm = make_perm(n, 0x9e3779b97f4a7c15ull ^ n);
  z->hit_stream = make_stream(&z->hit, z->perm);
  z->miss_stream = make_stream(&z->miss, z->perm);
  if (!measure_memory) {
    z->r = roster_fill(&z->hit, ROSTER_KEYS_UNIQUE, NULL);
    z->t = rw_fill(&z->hit, true, NULL);
    settle();
    return;
  }
  double name_bytes = (double)z->hit.bytes / (double)n;
  settle();
  long long h0 = heap_bytes(), s0 = rss_bytes();
  z->r = roster_fill(&z->hit, ROSTER_KEYS_UNIQUE, NULL);
  settle();
  long long h1 = heap_bytes(), s1 = rss_bytes();
  roster_stats st;
  memset(&st, 0, sizeof st);
  roster_stats_get(z->r, &st);
  g_mem[IMPL_ROSTER] =
      (memres){.entries = n,
               .name_bytes = name_bytes,
               .heap_per = (double)(h1 - h0) / (double)n,
               .rss_per = (double)(s1 - s0) / (double)n,
               .stats_per = (double)st.memory_bytes / (double)n,
               .valid = h1 != h0};
  z->t = rw_fill(&z->hit, true, NULL);
  settle();
  long long h2 = heap_bytes(), s2 = rss_bytes();
  g_mem[IMPL_RWLOCK] = (memres){.entries = n,
                                .name_bytes = name_bytes,
                                .heap_per = (double)(h2 - h1) / (double)n,
                                .rss_per = (double)(s2 - s1) / (double)n,
                                .valid = h2 != h1};
  print_mem(IMPL_ROSTER, &g_mem[IMPL_ROSTER]);
  print_mem(IMPL_RWLOCK, &g_mem[IMPL_RWLOCK]);
}

static void sized_free(sized *z) {
  roster_free(z->r);
  rw_free(z->t);
  keyset_free(&z->hit);
  keyset_free(&z->miss);
  free(z->perm);
  free(z->hit_stream);
  free(z->miss_stream);
}

/* measure_vs measures the roster work wr beside the same work on the
 * baseline table t. */
static void measure_vs(work wr, rwtable *t, unsigned threads) {
  work wb = wr;
  wb.im = IMPL_RWLOCK;
  wb.r = NULL;
  wb.t = t;
  measure_pair(&wr, &wb, threads);
}

static void bench_size(sized *z, const keyset *fresh) {
  static const op lookups[] = {OP_HIT, OP_MISS};
  for (size_t i = 0; i < 2; i++) {
    const keyset *ks = lookups[i] == OP_HIT ? &z->hit : &z->miss;
    for (size_t ti = 0; ti < S.nthreads; ti++)
      measure_vs((work){.im = IMPL_ROSTER,
                        .o = lookups[i],
                        .r = z->r,
                        .keys = ks,
                        .stream = lookups[i] == OP_HIT ? z->hit_stream
                                                       : z->miss_stream,
                        .entries = z->n},
                 z->t, S.threads[ti]);
  }
  /* At the largest size, hits again with the names scattered in memory. */
  for (size_t ti = 0;
       z->n == S.sizes[S.nsizes - 1] && ti < S.nthreads && S.threads[ti] <= 2;
       ti++)
    measure_vs((work){.im = IMPL_ROSTER,
                      .o = OP_HIT_SCATTERED,
                      .r = z->r,
                      .keys = &z->hit,
                      .perm = z->perm,
                      .entries = z->n},
               z->t, S.threads[ti]);
  measure_vs((work){.im = IMPL_ROSTER,
                    .o = OP_REGUNREG,
                    .r = z->r,
                    .keys = fresh,
                    .entries = z->n},
             z->t, 1);
}

static void bench_dispatch(void) {
  keyset topic;
  keyset_make(&topic, 0, DISPATCH_FANOUT); /* only for inst_of's count */
  const char *name = "topic";
  roster *r = roster_fill(&topic, ROSTER_KEYS_DUPLICATE, name);
  rwtable *t = rw_fill(&topic, false, name);
  settle();
  keyset k1 = {.buf = NULL, .names = &name, .n = 1, .bytes = 6};
  for (size_t ti = 0; ti < S.nthreads; ti++)
    measure_vs((work){.im = IMPL_ROSTER,
                      .o = OP_DISPATCH,
                      .r = r,
                      .keys = &k1,
                      .entries = DISPATCH_FANOUT},
               t, S.threads[ti]);
  roster_free(r);
  rw_free(t);
  keyset_free(&topic);
}

/* The hot room: join + leave of one member under a key holding 1k, 10k,
 * 200k members, 1 thread. */
static void bench_rooms(void) {
  const char *name = "room";
  keyset k1 = {.buf = NULL, .names = &name, .n = 1, .bytes = 5};
  for (size_t i = 0; i < S.nrooms; i++) {
    keyset members;
    keyset_make(&members, 0, S.rooms[i]); /* only for the count */
    roster *r = roster_fill(&members, ROSTER_KEYS_DUPLICATE, name);
    rwtable *t = rw_fill(&members, false, name);
    settle();
    measure_vs((work){.im = IMPL_ROSTER,
                      .o = OP_ROOM,
                      .r = r,
                      .keys = &k1,
                      .entries = S.rooms[i]},
               t, 1);
    roster_free(r);
    rw_free(t);
    keyset_free(&members);
  }
}

/* ------------------------------------------------------------------ */
/* Targets                                                             */

static void fmt_entries(char *buf, size_t cap, size_t n) {
  if (n >= 1000000 && n % 1000000 == 0)
    snprintf(buf, cap, "%zuM", n / 1000000);
  else if (n >= 1000 && n % 1000 == 0)
    snprintf(buf, cap, "%zuk", n / 1000);
  else
    snprintf(buf, cap, "%zu", n);
}

/* label formats a target's label, the entry count at its end. */
static const char *label(char *buf, size_t cap, const char *what, size_t n) {
  char en[32];
  fmt_entries(en, sizeof en, n);
  snprintf(buf, cap, "%s, %s", what, en);
  return buf;
}

static void print_targets(void) {
  char l[128];
  size_t small = S.sizes[0], big = S.sizes[S.nsizes - 1];
  roster__bench_targets();
  /* 1. lookup hit latency at 1 thread, smallest and largest size */
  const bench_result *x = roster__bench_find("roster", "lookup_hit", 1, small);
  if (x)
    roster__bench_target(
        label(l, sizeof l, "roster lookup_hit ns/op, 1 thread", small),
        x->ns_per_op, " ns", "<= 20", x->ns_per_op <= 20.0);
  x = roster__bench_find("roster", "lookup_hit", 1, big);
  if (x && big >= 1000000)
    roster__bench_target(
        label(l, sizeof l, "roster lookup_hit ns/op, 1 thread", big),
        x->ns_per_op, " ns", "<= 250", x->ns_per_op <= 250.0);
  /* 2. roster vs rwlock at 1 and 2 threads, every size */
  for (unsigned th = 1; th <= 2; th++)
    for (size_t i = 0; i < S.nsizes; i++) {
      double r =
          roster__bench_ratio("roster", "rwlock", "lookup_hit", th, S.sizes[i]);
      double goal = th == 1 ? 1.0 : 1.5;
      if (r > 0)
        roster__bench_target(label(l, sizeof l,
                                   th == 1 ? "hit rate roster / rwlock, 1 thr"
                                           : "hit rate roster / rwlock, 2 thr",
                                   S.sizes[i]),
                             r, "x", th == 1 ? ">= 1.0x" : ">= 1.5x",
                             r >= goal);
    }
  /* 3. misses no slower than hits */
  for (size_t i = 0; i < S.nsizes; i++) {
    const bench_result *h =
        roster__bench_find("roster", "lookup_hit", 1, S.sizes[i]);
    const bench_result *m =
        roster__bench_find("roster", "lookup_miss", 1, S.sizes[i]);
    if (h && m)
      roster__bench_target(
          label(l, sizeof l, "roster miss ns / hit ns, 1 thr", S.sizes[i]),
          m->ns_per_op / h->ns_per_op, "x", "<= 1.0x",
          m->ns_per_op <= h->ns_per_op);
  }
  /* 4. dispatch per entry */
  x = roster__bench_find("roster", "dispatch", 1, DISPATCH_FANOUT);
  if (x)
    roster__bench_target("roster dispatch ns per entry, 1 thread",
                         x->ns_per_op / DISPATCH_FANOUT, " ns", "<= 3",
                         x->ns_per_op / DISPATCH_FANOUT <= 3.0);
  /* 5. the hot room: flat from the smallest to the largest room */
  const bench_result *r0 =
      roster__bench_find("roster", "room_join_leave", 1, S.rooms[0]);
  const bench_result *r1 =
      roster__bench_find("roster", "room_join_leave", 1, S.rooms[S.nrooms - 1]);
  if (r0 && r1)
    roster__bench_target(label(l, sizeof l,
                               "roster room join+leave ns, largest / 1k",
                               S.rooms[S.nrooms - 1]),
                         r1->ns_per_op / r0->ns_per_op, "x", "<= 1.5x",
                         r1->ns_per_op <= 1.5 * r0->ns_per_op);
  /* 6. memory */
  const memres *m = &g_mem[IMPL_ROSTER];
  double beyond = m->valid ? m->heap_per - m->name_bytes : NAN;
  roster__bench_target(
      label(l, sizeof l, "roster bytes/entry beyond the name", m->entries),
      beyond, " B", "<= 96", beyond <= 96.0);
  /* 7. register + unregister pairs per second at the smallest size */
  x = roster__bench_find("roster", "register_unregister", 1, small);
  if (x)
    roster__bench_target(
        label(l, sizeof l, "roster register+unregister pairs/s", small),
        x->rate / 1e6, " M/s", ">= 3M/s", x->rate >= 3e6);
  /* context, no target: scaling from 1 to 2 threads */
  for (size_t i = 0; i < S.nsizes; i++) {
    const bench_result *a =
        roster__bench_find("roster", "lookup_hit", 1, S.sizes[i]);
    const bench_result *b =
        roster__bench_find("roster", "lookup_hit", 2, S.sizes[i]);
    if (a && b)
      roster__bench_context(label(l, sizeof l,
                                  "(context) roster hit rate 2 thr / 1 thr",
                                  S.sizes[i]),
                            b->rate / a->rate, 2, "x");
  }
  /* context, no target: the largest size with cold, scattered names */
  for (unsigned th = 1; th <= 2; th++) {
    double q = roster__bench_ratio("roster", "rwlock", "lookup_hit_scattered",
                                   th, big);
    char what[64];
    snprintf(what, sizeof what,
             "(context) scattered names, roster / rwlock, %u thr", th);
    if (q > 0)
      roster__bench_context(label(l, sizeof l, what, big), q, 2, "x");
  }
}

/* ------------------------------------------------------------------ */

/* roster-bench-registry-shared is this program linked with libroster.so
 * instead of the static library: what a program that links the shared
 * library pays on top (thread-locals, calls through the PLT). */
#ifdef ROSTER_BENCH_SHARED
#define PROG "roster-bench-registry-shared"
#define LINKED "  This build is linked with libroster.so.\n"
#else
#define PROG "roster-bench-registry"
#define LINKED ""
#endif

static const bench_spec spec = {
    .prog = PROG,
    .about = "  Measures roster's registry beside a pthread_rwlock + chained "
             "hash\n"
             "  table baseline: lookup hit/miss at 1 and 2 threads with 1k, "
             "100k\n"
             "  and 1M entries, register+unregister pairs, dispatch to 1000\n"
             "  entries of one key, and memory per entry. Each figure is the\n"
             "  best of 3 runs of ~0.25 s.\n" LINKED,
    .quick = "1k and 10k entries, short runs (smoke test)",
};

int main(int argc, char **argv) {
  roster__bench_init(&spec, argc, argv);
  if (roster__bench.quick) {
    S.sizes[0] = 1000;
    S.sizes[1] = 10000;
    S.nsizes = 2;
    S.threads[0] = 1;
    S.threads[1] = 2;
    S.nthreads = 2;
    S.rooms[0] = 1000;
    S.rooms[1] = 10000;
    S.nrooms = 2;
    S.target_s = 0.01;
  } else {
    S.sizes[0] = 1000;
    S.sizes[1] = 100000;
    S.sizes[2] = 1000000;
    S.nsizes = 3;
    static const unsigned th[] = {1, 2, 4, 8, 16};
    memcpy(S.threads, th, sizeof th);
    S.nthreads = 5;
    S.rooms[0] = 1000;
    S.rooms[1] = 10000;
    S.rooms[2] = 200000;
    S.nrooms = 3;
    S.target_s = 0.25;
  }

  if (!roster__bench.json) {
    printf("roster %s registry benchmark: %ld CPUs online, best of %d runs "
           "of ~%.2f s each, CLOCK_MONOTONIC\n",
           roster_version(), sysconf(_SC_NPROCESSORS_ONLN), REPEATS,
           S.target_s);
    printf("ns/op = best wall time x threads / total ops (time per op on one "
           "thread); ops/s = total ops / wall time (all threads together); "
           "spread = (worst - best) / best of the %d runs\n\n",
           REPEATS);
  }

  /* The largest size first, while the heap is fresh, for the memory
   * figures; its tables are kept for its turn below. */
  sized big;
  size_t nbig = S.sizes[S.nsizes - 1];
  sized_make(&big, nbig, true);
  if (!roster__bench.json)
    printf("\n");

  keyset fresh;
  keyset_make(&fresh, 4 * nbig, FRESH_POOL); /* never registered */

  print_header();
  for (size_t i = 0; i < S.nsizes; i++) {
    if (S.sizes[i] == nbig) {
      bench_size(&big, &fresh);
    } else {
      sized z;
      sized_make(&z, S.sizes[i], false);
      bench_size(&z, &fresh);
      sized_free(&z);
    }
  }
  sized_free(&big);
  keyset_free(&fresh);
  bench_dispatch();
  bench_rooms();

  print_targets();
  return roster__bench_finish();
}
