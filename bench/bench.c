/*
 * bench.c: the benchmark programs' shared harness (see bench.h): command
 * line, failures, threads started on a barrier, calibration, interleaved
 * repeats, percentiles, the result store and the targets summary.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

bench_state roster__bench = {.prog = "roster-bench", .out = NULL};

static atomic_uint_fast64_t g_failures;
static atomic_uint g_messages;
static volatile uint64_t g_sink;

enum { MAX_MESSAGES = 10, MAX_RESULTS = 256 };

/* ------------------------------------------------------------------ */
/* The program                                                         */

static void usage(const bench_spec *s, FILE *f) {
  fprintf(f, "usage: %s [--json] [--quick]%s [--help]\n%s", s->prog,
          s->more_usage ? s->more_usage : "", s->about ? s->about : "");
  fprintf(
      f,
      "  --json   one JSON object per measurement on stdout, nothing else;\n"
      "           the rest (header, ratios, targets) goes to stderr\n"
      "  --quick  %s\n"
      "%s"
      "  --help   this text\n",
      s->quick ? s->quick : "short runs (smoke test)",
      s->more_help ? s->more_help : "");
}

void roster__bench_init(const bench_spec *spec, int argc, char **argv) {
  roster__bench.prog = spec->prog;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0) {
      roster__bench.json = true;
    } else if (strcmp(argv[i], "--quick") == 0) {
      roster__bench.quick = true;
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(spec, stdout);
      exit(0);
    } else {
      int used = spec->more ? spec->more(argc, argv, i) : 0;
      if (used > 0) {
        i += used - 1;
        continue;
      }
      fprintf(stderr, "%s: %s '%s'\n", spec->prog,
              used < 0 ? "bad value for option" : "unknown option", argv[i]);
      usage(spec, stderr);
      exit(2);
    }
  }
  roster__bench.verbose = getenv("ROSTER_BENCH_VERBOSE") != NULL;
  roster__bench.out = roster__bench.json ? stderr : stdout;
  roster__bench.start = bench_now();
}

int roster__bench_finish(void) {
  fprintf(roster__bench.out, "\ntotal time %.1f s\n",
          bench_now() - roster__bench.start);
  fflush(roster__bench.out);
  uint64_t n = roster__bench_failures();
  if (!n)
    return 0;
  fprintf(stderr,
          "%s: failures: %" PRIu64 " (wrong answers, failed calls or runs); "
          "the figures above are not valid\n",
          roster__bench.prog, n);
  return 1;
}

static void vsay(const char *fmt, va_list ap) {
  flockfile(stderr);
  fprintf(stderr, "%s: ", roster__bench.prog);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  funlockfile(stderr);
}

void roster__bench_fail(uint64_t n, const char *fmt, ...) {
  atomic_fetch_add(&g_failures, n);
  if (atomic_fetch_add(&g_messages, 1) >= MAX_MESSAGES)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsay(fmt, ap);
  va_end(ap);
}

uint64_t roster__bench_failures(void) { return atomic_load(&g_failures); }

void roster__bench_warn(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsay(fmt, ap);
  va_end(ap);
}

void roster__bench_die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsay(fmt, ap);
  va_end(ap);
  exit(1);
}

bool roster__bench_have_tool(const char *name) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "command -v '%s' >/dev/null 2>&1", name);
  return system(cmd) == 0;
}

int roster__bench_tool(const char *cmd, char *out, size_t cap) {
  size_t len = 0;
  out[0] = '\0';
  FILE *f = popen(cmd, "r");
  if (!f)
    return -1;
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
    const char *from = chunk;
    if (n > cap - 1) { /* only the end of this chunk fits */
      from += n - (cap - 1);
      n = cap - 1;
    }
    if (len + n > cap - 1) { /* drop the oldest bytes */
      size_t drop = len + n - (cap - 1);
      memmove(out, out + drop, len - drop);
      len -= drop;
    }
    memcpy(out + len, from, n);
    len += n;
  }
  out[len] = '\0';
  int st = pclose(f);
  return st == 0 ? 0 : (st == -1 ? -1 : 1);
}

void *roster__bench_xmalloc(size_t size) {
  void *p = malloc(size ? size : 1);
  if (!p)
    roster__bench_die("out of memory");
  return p;
}

void *roster__bench_xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p)
    roster__bench_die("out of memory");
  return p;
}

/* ------------------------------------------------------------------ */
/* Clock, random numbers                                               */

void roster__bench_sleep(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

void roster__bench_shuffle(uint32_t *v, size_t n, uint64_t *state) {
  for (size_t i = 0; i < n; i++)
    v[i] = (uint32_t)i;
  for (size_t i = n; i > 1; i--) {
    size_t j = (size_t)(bench_rand(state) % i);
    uint32_t t = v[i - 1];
    v[i - 1] = v[j];
    v[j] = t;
  }
}

void roster__bench_keep(uint64_t v) { g_sink ^= v; }

/* ------------------------------------------------------------------ */
/* Threads                                                             */

/* slot: a thread of a run and the body it runs. */
typedef struct slot {
  bench_thread t;
  bench_body body;
  char pad[64]; /* keeps the next thread's fields off this cache line */
} slot;

static void *slot_main(void *p) {
  slot *s = p;
  s->body(&s->t);
  if (s->t.t1 == 0)
    s->t.t1 = bench_now();
  return NULL;
}

void roster__bench_start(bench_thread *t) {
  pthread_barrier_wait(t->go);
  t->t0 = bench_now();
}

/* start_all makes the slots and starts their threads on a barrier of
 * parties (threads, or threads + 1 with the main thread). */
static slot *start_all(bench_body body, void *arg, unsigned threads,
                       uint64_t ops, pthread_barrier_t *go, unsigned parties) {
  if (threads == 0)
    roster__bench_die("a run needs a thread");
  slot *s = roster__bench_xcalloc(threads, sizeof *s);
  if (pthread_barrier_init(go, NULL, parties) != 0)
    roster__bench_die("pthread_barrier_init failed");
  for (unsigned i = 0; i < threads; i++) {
    s[i].body = body;
    s[i].t.arg = arg;
    s[i].t.id = i;
    s[i].t.threads = threads;
    s[i].t.ops = ops;
    s[i].t.go = go;
    atomic_init(&s[i].t.stop, false);
    if (pthread_create(&s[i].t.tid, NULL, slot_main, &s[i]) != 0)
      roster__bench_die("pthread_create failed");
  }
  return s;
}

/* join_all waits for the threads, sums what they did, frees the slots;
 * wall is from the first start to the last end. */
static bench_sample join_all(slot *s, unsigned threads, pthread_barrier_t *go) {
  bench_sample r = {.threads = threads, .least = UINT64_MAX};
  double t1 = 0;
  uint64_t sink = 0;
  for (unsigned i = 0; i < threads; i++) {
    bench_thread *t = &s[i].t;
    pthread_join(t->tid, NULL);
    if (i == 0 || t->t0 < r.t0)
      r.t0 = t->t0;
    if (i == 0 || t->t1 > t1)
      t1 = t->t1;
    r.ops += t->ops;
    r.errors += t->errors;
    if (t->ops < r.least)
      r.least = t->ops;
    sink ^= t->sink;
  }
  roster__bench_keep(sink);
  pthread_barrier_destroy(go);
  free(s);
  r.wall = t1 - r.t0 > 1e-9 ? t1 - r.t0 : 1e-9;
  return r;
}

bench_sample roster__bench_threads(bench_body body, void *arg, unsigned threads,
                                   uint64_t ops) {
  pthread_barrier_t go;
  slot *s = start_all(body, arg, threads, ops, &go, threads);
  return join_all(s, threads, &go);
}

bench_sample roster__bench_threads_for(bench_body body, void *arg,
                                       unsigned threads, double seconds) {
  pthread_barrier_t go;
  slot *s = start_all(body, arg, threads, 0, &go, threads + 1);
  pthread_barrier_wait(&go);
  double t0 = bench_now();
  roster__bench_sleep(seconds);
  for (unsigned i = 0; i < threads; i++)
    atomic_store(&s[i].t.stop, true);
  bench_sample r = join_all(s, threads, &go);
  double wall = bench_now() - t0;
  r.t0 = t0;
  r.wall = wall > 1e-9 ? wall : 1e-9;
  return r;
}

void roster__bench_check(const bench_sample *s, const char *impl,
                         const char *op) {
  if (s->errors)
    roster__bench_fail(s->errors,
                       "%s %s, %u threads: %" PRIu64
                       " wrong answers or failed calls",
                       impl, op, s->threads, s->errors);
}

/* ------------------------------------------------------------------ */
/* Calibration and repeats                                             */

void roster__bench_calibrate(bench_case *c, double target_s, int tries) {
  uint64_t ops = c->ops ? c->ops : 16;
  double best = 0;
  for (int done = 0; done < (tries > 0 ? tries : 1);) {
    bench_sample s = c->fn(c->arg, ops);
    double t = s.wall > 1e-9 ? s.wall : 1e-9;
    if (t < target_s / 10 && ops < (1ull << 34)) {
      ops *= t < target_s / 100 ? 16 : 4;
      continue;
    }
    if ((double)ops / t > best)
      best = (double)ops / t;
    done++;
  }
  double want = best * target_s;
  c->ops = want < 1 ? 1 : (uint64_t)want;
}

void roster__bench_measure(bench_case *cases, size_t n, int repeats) {
  for (size_t k = 0; k < n; k++)
    cases[k].runs = 0;
  for (int rep = 0; rep < repeats; rep++) {
    for (size_t k = 0; k < n; k++) {
      bench_case *c = &cases[k];
      bench_sample s = c->fn(c->arg, c->ops);
      if (s.ops == 0)
        continue;
      if (roster__bench.verbose)
        fprintf(stderr, "  rep %d %-16s %-8s %u: %.0f ops/s\n", rep,
                c->impl ? c->impl : "", c->op ? c->op : "", s.threads,
                bench_rate(&s));
      if (c->runs == 0 || bench_rate(&s) > bench_rate(&c->best))
        c->best = s;
      if (c->runs == 0 || bench_rate(&s) < bench_rate(&c->worst))
        c->worst = s;
      c->runs++;
    }
  }
}

void roster__bench_compare(bench_case *cases, size_t n, double target_s,
                           int repeats) {
  for (size_t k = 0; target_s > 0 && k < n; k++)
    roster__bench_calibrate(&cases[k], target_s, 1);
  roster__bench_measure(cases, n, repeats);
  for (size_t k = 0; k < n; k++)
    if (cases[k].runs)
      roster__bench_add_case(&cases[k]);
}

double roster__bench_spread(const bench_case *c) {
  if (c->runs == 0)
    return 0;
  return bench_rate(&c->best) / bench_rate(&c->worst) - 1;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

void roster__bench_sort(double *v, size_t n) {
  qsort(v, n, sizeof *v, cmp_double);
}

double roster__bench_percentile(const double *sorted, size_t n, double p) {
  if (n == 0)
    return 0;
  size_t i = (size_t)(p * (double)(n - 1) + 0.5);
  return sorted[i < n ? i : n - 1];
}

/* ------------------------------------------------------------------ */
/* Results, ratios, targets                                            */

static bench_result g_res[MAX_RESULTS];
static size_t g_nres;

void roster__bench_add(const bench_result *r) {
  if (g_nres == MAX_RESULTS)
    roster__bench_die("too many results");
  g_res[g_nres++] = *r;
}

void roster__bench_add_case(const bench_case *c) {
  roster__bench_add(&(bench_result){.impl = c->impl,
                                    .op = c->op,
                                    .threads = c->best.threads,
                                    .size = c->size,
                                    .rate = bench_rate(&c->best),
                                    .ns_per_op = bench_ns_per_op(&c->best)});
}

const bench_result *roster__bench_find(const char *impl, const char *op,
                                       unsigned threads, size_t size) {
  for (size_t i = 0; i < g_nres; i++) {
    const bench_result *r = &g_res[i];
    if ((!impl || strcmp(r->impl, impl) == 0) &&
        (!op || strcmp(r->op, op) == 0) && r->threads == threads &&
        r->size == size)
      return r;
  }
  return NULL;
}

double roster__bench_ratio(const char *a, const char *b, const char *op,
                           unsigned threads, size_t size) {
  const bench_result *x = roster__bench_find(a, op, threads, size);
  const bench_result *y = roster__bench_find(b, op, threads, size);
  if (!x || !y || y->rate <= 0)
    return 0;
  return x->rate / y->rate;
}

void roster__bench_targets(void) {
  fprintf(roster__bench.out, "\nTargets (informational; the exit code does not "
                             "depend on them):\n");
  fprintf(roster__bench.out, "  %-46s %15s %-10s %s\n", "measure", "value",
          "goal", "result");
}

void roster__bench_target(const char *what, double value, const char *unit,
                          const char *goal, bool pass) {
  if (isnan(value))
    fprintf(roster__bench.out, "  %-46s %15s %-10s %s\n", what, "n/a", goal,
            "n/a");
  else
    fprintf(roster__bench.out, "  %-46s %10.2f%-5s %-10s %s\n", what, value,
            unit, goal, pass ? "PASS" : "MISS");
  fflush(roster__bench.out);
}

void roster__bench_context(const char *what, double value, int decimals,
                           const char *unit) {
  fprintf(roster__bench.out, "  %-46s %10.*f%-5s\n", what, decimals, value,
          unit);
  fflush(roster__bench.out);
}
