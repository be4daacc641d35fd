/*
 * bench_lifecycle.c: how fast roster's lifecycle starts and stops a graph of
 * providers, how well it keeps its worker pool busy, and what the first
 * roster_get of a lazy service costs beside a plain hit.
 *
 * Workloads (all from one seeded PRNG, the seed printed):
 *   - a random DAG: service i depends on up to 3 distinct random services
 *     declared before it in index order (0..3 of them, uniformly); the
 *     providers are declared in a shuffled order, so roster has to sort;
 *   - start_dag_noop: 1,000 such services with no-op create/destroy; the
 *     time from the roster_start call to its return (all ready), repeated
 *     on a new registry each time, median and min reported; its
 *     roster_shutdown is shutdown_dag_noop;
 *   - baseline_sequential_noop: the same create functions called directly,
 *     on one thread, in a precomputed topological order, with the same
 *     roster_deps a create gets: the floor (no scheduling at all);
 *   - start_dag_sleep: 64 services whose create sleeps 10 ms, at 8 and 4
 *     workers; ideal_ms = max(critical path x sleep, N x sleep / W),
 *     ratio = ready_ms / ideal_ms; sequential_ms = N x sleep (what one
 *     thread would need); greedy_ms = a perfect list scheduler's makespan
 *     on W workers (a tighter bound than ideal_ms, for context);
 *   - lazy_get: the first roster_get of each of 1,000 lazy services (it
 *     runs create on the calling thread) vs a hit on them afterwards.
 *
 * Every create checks that it got its dependencies' instances, in order,
 * and every destroy that nothing depending on it is still alive, so a
 * wrong order is reported (and the exit code is 1), not just timed. A
 * program, not a test: the targets are printed as PASS/MISS and the exit
 * code is 0 unless a call fails or an order check does. See
 * bench/README.md.
 */
#include "bench.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <roster/lifecycle.h>
#include <roster/registry.h>

enum { MAX_DEPS = 3 };

static const uint64_t SEED = 0x7261737465720001ull; /* "raster" + 1 */

typedef struct settings {
  size_t noop_n;    /* services in the no-op DAG */
  int noop_repeats; /* start/shutdown repeats (median of) */
  int base_repeats; /* baseline repeats */
  size_t sleep_n;   /* services in the sleep DAG */
  int64_t sleep_ms; /* each create sleeps this long */
  int sleep_repeats;
  size_t lazy_n;  /* lazy services */
  int hit_rounds; /* passes over them for the hit figure */
} settings;

/* The sizes: QUICK for --quick, FULL otherwise. */
static const settings QUICK = {.noop_n = 200,
                               .noop_repeats = 3,
                               .base_repeats = 5,
                               .sleep_n = 16,
                               .sleep_ms = 2,
                               .sleep_repeats = 1,
                               .lazy_n = 100,
                               .hit_rounds = 10};
static const settings FULL = {.noop_n = 1000,
                              .noop_repeats = 15,
                              .base_repeats = 101,
                              .sleep_n = 64,
                              .sleep_ms = 10,
                              .sleep_repeats = 5,
                              .lazy_n = 1000,
                              .hit_rounds = 1000};
static settings S;

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

/* die_rc: a roster call failed; say which, with the library's detail. */
static void die_rc(const char *what, int rc) {
  roster__bench_die("%s: %s: %s", what, roster_err_name(rc),
                    roster_last_error());
}

/* die_rc_on: the same for call on the services named by what. */
static void die_rc_on(const char *call, const char *what, int rc) {
  roster__bench_die("%s (%s): %s: %s", call, what, roster_err_name(rc),
                    roster_last_error());
}

/* median_min sorts the n values of v and returns their median; *min gets
 * the smallest. */
static double median_min(double *v, int n, double *min) {
  roster__bench_sort(v, (size_t)n);
  *min = roster__bench_percentile(v, (size_t)n, 0);
  return roster__bench_percentile(v, (size_t)n, 0.5);
}

/* ------------------------------------------------------------------ */
/* The DAG                                                             */

typedef struct dag dag;

/* svc: one service's provider argument. */
typedef struct svc {
  dag *g;
  size_t idx;
} svc;

struct dag {
  size_t n;
  char (*names)[32]; /* "svc-0042" */
  size_t *ndeps;     /* per service */
  size_t (*deps)[MAX_DEPS];
  const char *(*dep_names)[MAX_DEPS + 1]; /* NULL-terminated, for provide */
  void *(*dep_inst)[MAX_DEPS];            /* for the baseline's roster_deps */
  size_t **users;                         /* reverse edges */
  size_t *nusers;
  uint32_t *order;   /* declaration order (a shuffle) */
  unsigned *depth;   /* longest chain ending here, in services */
  unsigned critical; /* longest chain in the DAG */
  svc *args;
  atomic_int *alive; /* created and not yet destroyed */
  atomic_ulong creates, destroys;
  int64_t sleep_ns;      /* 0: no-op create */
  atomic_llong slept_ns; /* total measured sleep time, sleep creates */
};

static void *inst_of(size_t i) { return (void *)(uintptr_t)(i + 1); }

/* dag_make: n services, each depending on up to maxdeps earlier ones. */
static void dag_make(dag *g, size_t n, size_t maxdeps, uint64_t seed) {
  uint64_t s = seed | 1;
  memset(g, 0, sizeof *g);
  g->n = n;
  g->names = roster__bench_xcalloc(n, sizeof *g->names);
  g->ndeps = roster__bench_xcalloc(n, sizeof *g->ndeps);
  g->deps = roster__bench_xcalloc(n, sizeof *g->deps);
  g->dep_names = roster__bench_xcalloc(n, sizeof *g->dep_names);
  g->dep_inst = roster__bench_xcalloc(n, sizeof *g->dep_inst);
  g->users = roster__bench_xcalloc(n, sizeof *g->users);
  g->nusers = roster__bench_xcalloc(n, sizeof *g->nusers);
  g->order = roster__bench_xcalloc(n, sizeof *g->order);
  g->depth = roster__bench_xcalloc(n, sizeof *g->depth);
  g->args = roster__bench_xcalloc(n, sizeof *g->args);
  g->alive = roster__bench_xcalloc(n, sizeof *g->alive);
  for (size_t i = 0; i < n; i++) {
    snprintf(g->names[i], sizeof g->names[i], "svc-%04zu", i);
    g->args[i] = (svc){.g = g, .idx = i};
    atomic_init(&g->alive[i], 0);
    size_t want = (size_t)(bench_rand(&s) % (maxdeps + 1));
    if (want > i)
      want = i;
    size_t k = 0;
    while (k < want) {
      size_t d = (size_t)(bench_rand(&s) % i);
      bool dup = false;
      for (size_t j = 0; j < k; j++)
        dup |= g->deps[i][j] == d;
      if (!dup)
        g->deps[i][k++] = d;
    }
    g->ndeps[i] = k;
    unsigned depth = 0;
    for (size_t j = 0; j < k; j++) {
      size_t d = g->deps[i][j];
      g->dep_names[i][j] = g->names[d];
      g->dep_inst[i][j] = inst_of(d);
      depth = g->depth[d] > depth ? g->depth[d] : depth;
      g->nusers[d]++;
    }
    g->dep_names[i][k] = NULL;
    g->depth[i] = depth + 1;
    g->critical = g->depth[i] > g->critical ? g->depth[i] : g->critical;
  }
  for (size_t i = 0; i < n; i++) {
    g->users[i] = roster__bench_xcalloc(g->nusers[i], sizeof *g->users[i]);
    g->nusers[i] = 0;
  }
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < g->ndeps[i]; j++) {
      size_t d = g->deps[i][j];
      g->users[d][g->nusers[d]++] = i;
    }
  /* Declaration order: a Fisher-Yates shuffle of 0..n-1. */
  roster__bench_shuffle(g->order, n, &s);
}

static void dag_free(dag *g) {
  for (size_t i = 0; i < g->n; i++)
    free(g->users[i]);
  free(g->names);
  free(g->ndeps);
  free(g->deps);
  free(g->dep_names);
  free(g->dep_inst);
  free(g->users);
  free(g->nusers);
  free(g->order);
  free(g->depth);
  free(g->args);
  free(g->alive);
}

static size_t dag_edges(const dag *g) {
  size_t e = 0;
  for (size_t i = 0; i < g->n; i++)
    e += g->ndeps[i];
  return e;
}

/* greedy_steps: the makespan, in create durations, of a list scheduler
 * that keeps w workers busy whenever a service is startable (all creates
 * take the same time, so the schedule advances in whole steps). */
static unsigned greedy_steps(const dag *g, unsigned w) {
  unsigned *done_at =
      roster__bench_xcalloc(g->n, sizeof *done_at); /* 0: not yet */
  size_t left = g->n;
  unsigned step = 0;
  while (left) {
    step++;
    unsigned used = 0;
    for (size_t i = 0; i < g->n && used < w; i++) {
      if (done_at[i])
        continue;
      bool ok = true;
      for (size_t j = 0; j < g->ndeps[i] && ok; j++) {
        unsigned d = done_at[g->deps[i][j]];
        ok = d != 0 && d < step;
      }
      if (ok) {
        done_at[i] = step;
        used++;
        left--;
      }
    }
  }
  free(done_at);
  return step;
}

/* ------------------------------------------------------------------ */
/* Provider functions                                                  */

static const roster_type bench_type = {.name = "bench_svc"};

/* svc_create: checks its dependencies, optionally sleeps, makes the
 * instance inst_of(idx). The baseline calls it too. */
static int svc_create(void *arg, const roster_deps *deps, void **out) {
  const svc *a = arg;
  dag *g = a->g;
  size_t i = a->idx;
  if (!deps || deps->count != g->ndeps[i]) {
    roster__bench_fail(1, "create %s: got %zu dependencies, want %zu",
                       g->names[i], deps ? deps->count : 0, g->ndeps[i]);
  } else {
    for (size_t j = 0; j < deps->count; j++) {
      size_t d = g->deps[i][j];
      if (deps->instances[j] != inst_of(d) ||
          atomic_load_explicit(&g->alive[d], memory_order_acquire) != 1)
        roster__bench_fail(
            1, "create %s: dependency %s not alive or not its instance",
            g->names[i], g->names[d]);
    }
  }
  if (g->sleep_ns) {
    int64_t t0 = bench_now_ns();
    roster__bench_sleep((double)g->sleep_ns / 1e9);
    atomic_fetch_add(&g->slept_ns, bench_now_ns() - t0);
  }
  if (atomic_fetch_add_explicit(&g->alive[i], 1, memory_order_acq_rel) != 0)
    roster__bench_fail(1, "create %s: created twice without a destroy",
                       g->names[i]);
  atomic_fetch_add_explicit(&g->creates, 1, memory_order_relaxed);
  *out = inst_of(i);
  return ROSTER_OK;
}

/* svc_destroy: checks that every service using this one is gone. */
static void svc_destroy(void *arg, void *instance) {
  const svc *a = arg;
  dag *g = a->g;
  size_t i = a->idx;
  if (instance != inst_of(i))
    roster__bench_fail(1, "destroy %s: got instance %p, not its own",
                       g->names[i], instance);
  for (size_t k = 0; k < g->nusers[i]; k++) {
    size_t u = g->users[i][k];
    if (atomic_load_explicit(&g->alive[u], memory_order_acquire) != 0)
      roster__bench_fail(1,
                         "destroy %s: %s, which depends on it, is still alive",
                         g->names[i], g->names[u]);
  }
  atomic_fetch_sub_explicit(&g->alive[i], 1, memory_order_acq_rel);
  atomic_fetch_add_explicit(&g->destroys, 1, memory_order_relaxed);
}

static void dag_reset(dag *g) {
  for (size_t i = 0; i < g->n; i++)
    atomic_store(&g->alive[i], 0);
  atomic_store(&g->creates, 0);
  atomic_store(&g->destroys, 0);
  atomic_store(&g->slept_ns, 0);
}

static roster *dag_registry(dag *g, unsigned workers, bool lazy) {
  roster *r = NULL;
  if (roster_new(&(roster_options){.name = "bench", .workers = workers}, &r) !=
      ROSTER_OK)
    die_rc("roster_new", roster_last_code());
  for (size_t k = 0; k < g->n; k++) {
    size_t i = g->order[k];
    roster_provider p = {.type = &bench_type,
                         .create = svc_create,
                         .destroy = svc_destroy,
                         .arg = &g->args[i],
                         .deps = g->dep_names[i],
                         .lazy = lazy};
    int rc = roster_provide(r, NULL, g->names[i], &p);
    if (rc != ROSTER_OK)
      die_rc("roster_provide", rc);
  }
  return r;
}

/* ------------------------------------------------------------------ */
/* Output                                                              */

static const unsigned WORKERS[] = {8, 4};
enum { NWORKERS = sizeof WORKERS / sizeof WORKERS[0] };

/* keep stores a row's figure for the targets: value is what the target
 * or context line reads (ms, or a ratio). */
static void keep(const char *op, unsigned workers, double value) {
  roster__bench_add(&(bench_result){
      .impl = "roster", .op = op, .threads = workers, .value = value});
}

/* ------------------------------------------------------------------ */
/* The no-op DAG                                                       */

static void check_all_ready(roster *r, size_t n) {
  roster_health_report rep;
  int rc = roster_health(r, &rep);
  if (rc != ROSTER_OK)
    die_rc("roster_health", rc);
  size_t ready = 0;
  for (size_t i = 0; i < rep.count; i++)
    ready += rep.items[i].state == ROSTER_STATE_READY;
  if (rep.count != n || ready != n || !rep.ready)
    roster__bench_fail(1,
                       "after roster_start: %zu services reported, %zu ready, "
                       "report.ready=%d (want %zu, %zu, 1)",
                       rep.count, ready, (int)rep.ready, n, n);
  roster_health_report_free(&rep);
}

/* start_dag makes a registry of g's providers with workers workers and
 * starts it; *ms gets roster_start's time. Every service must be created;
 * what names the run in messages. */
static roster *start_dag(dag *g, unsigned workers, const char *what,
                         double *ms) {
  dag_reset(g);
  roster *r = dag_registry(g, workers, false);
  int64_t t0 = bench_now_ns();
  int rc = roster_start(r, 60000);
  int64_t t1 = bench_now_ns();
  if (rc != ROSTER_OK)
    die_rc_on("roster_start", what, rc);
  if (atomic_load(&g->creates) != g->n)
    roster__bench_fail(1,
                       "%s: roster_start returned OK with %lu of %zu services "
                       "created",
                       what, atomic_load(&g->creates), g->n);
  *ms = (double)(t1 - t0) / 1e6;
  return r;
}

/* stop_dag shuts r down (every service must be destroyed) and frees it;
 * returns roster_shutdown's time in ms. */
static double stop_dag(roster *r, dag *g, const char *what) {
  int64_t t0 = bench_now_ns();
  int rc = roster_shutdown(r, 60000);
  int64_t t1 = bench_now_ns();
  if (rc != ROSTER_OK)
    die_rc_on("roster_shutdown", what, rc);
  if (atomic_load(&g->destroys) != atomic_load(&g->creates))
    roster__bench_fail(
        1,
        "%s: roster_shutdown returned OK with %lu of %lu services "
        "destroyed",
        what, atomic_load(&g->destroys), atomic_load(&g->creates));
  roster_free(r);
  return (double)(t1 - t0) / 1e6;
}

static void bench_noop(dag *g, unsigned workers) {
  int reps = S.noop_repeats;
  double *start = roster__bench_xcalloc((size_t)reps, sizeof *start);
  double *stop = roster__bench_xcalloc((size_t)reps, sizeof *stop);
  for (int k = 0; k < reps; k++) {
    roster *r = start_dag(g, workers, "no-op DAG", &start[k]);
    if (k == 0)
      check_all_ready(r, g->n);
    stop[k] = stop_dag(r, g, "no-op DAG");
  }
  double smin, tmin;
  double smed = median_min(start, reps, &smin);
  double tmed = median_min(stop, reps, &tmin);
  keep("start_dag_noop", workers, smed);
  keep("shutdown_dag_noop", workers, tmed);
  if (roster__bench.json) {
    printf("{\"op\":\"start_dag_noop\",\"services\":%zu,\"workers\":%u,"
           "\"ready_ms\":%.3f,\"min_ms\":%.3f,\"edges\":%zu,"
           "\"critical_path\":%u,\"repeats\":%d,\"seed\":%" PRIu64 "}\n",
           g->n, workers, smed, smin, dag_edges(g), g->critical, reps, SEED);
    printf("{\"op\":\"shutdown_dag_noop\",\"services\":%zu,\"workers\":%u,"
           "\"stop_ms\":%.3f,\"min_ms\":%.3f,\"repeats\":%d}\n",
           g->n, workers, tmed, tmin, reps);
  } else {
    printf("%-26s %8zu %7u %8.3fms %8.3fms  roster_start to return, "
           "%zu edges, median of %d\n",
           "start_dag_noop", g->n, workers, smed, smin, dag_edges(g), reps);
    printf("%-26s %8zu %7u %8.3fms %8.3fms  roster_shutdown\n",
           "shutdown_dag_noop", g->n, workers, tmed, tmin);
  }
  fflush(stdout);
  free(start);
  free(stop);
}

/* The floor: the same creates and destroys, in index order (a topological
 * order: every dependency has a smaller index), on this thread, no roster. */
static void bench_baseline(dag *g) {
  int reps = S.base_repeats;
  double *t = roster__bench_xcalloc((size_t)reps, sizeof *t);
  double *td = roster__bench_xcalloc((size_t)reps, sizeof *td);
  int (*volatile create)(void *, const roster_deps *, void **) = svc_create;
  void (*volatile destroy)(void *, void *) = svc_destroy;
  for (int k = 0; k < reps; k++) {
    dag_reset(g);
    int64_t t0 = bench_now_ns();
    for (size_t i = 0; i < g->n; i++) {
      roster_deps d = {.count = g->ndeps[i],
                       .names = g->dep_names[i],
                       .instances = g->dep_inst[i]};
      void *out = NULL;
      if (create(&g->args[i], &d, &out) != ROSTER_OK)
        roster__bench_die("baseline create failed");
      roster__bench_keep((uintptr_t)out);
    }
    int64_t t1 = bench_now_ns();
    for (size_t i = g->n; i-- > 0;)
      destroy(&g->args[i], inst_of(i));
    int64_t t2 = bench_now_ns();
    t[k] = (double)(t1 - t0) / 1e6;
    td[k] = (double)(t2 - t1) / 1e6;
  }
  double mn, dmin;
  double med = median_min(t, reps, &mn);
  double dmed = median_min(td, reps, &dmin);
  keep("baseline_sequential_noop", 1, med);
  if (roster__bench.json) {
    printf("{\"op\":\"baseline_sequential_noop\",\"services\":%zu,"
           "\"ms\":%.4f,\"min_ms\":%.4f,\"destroy_ms\":%.4f,"
           "\"repeats\":%d}\n",
           g->n, med, mn, dmed, reps);
  } else {
    printf("%-26s %8zu %7u %8.4fms %8.4fms  same creates, topological "
           "order, one thread, no roster (destroys: %.4f ms)\n",
           "baseline_sequential_noop", g->n, 1u, med, mn, dmed);
  }
  fflush(stdout);
  free(t);
  free(td);
}

/* ------------------------------------------------------------------ */
/* The sleeping DAG                                                    */

static void bench_sleep_dag(dag *g, unsigned workers) {
  int reps = S.sleep_repeats;
  double *t = roster__bench_xcalloc((size_t)reps, sizeof *t);
  double slept = 0;
  for (int k = 0; k < reps; k++) {
    roster *r = start_dag(g, workers, "sleep DAG", &t[k]);
    slept += (double)atomic_load(&g->slept_ns) / 1e6 / (double)g->n;
    stop_dag(r, g, "sleep DAG");
  }
  double mn;
  double med = median_min(t, reps, &mn);
  double sl = (double)g->sleep_ns / 1e6;
  double crit = g->critical * sl;
  double spread = (double)g->n * sl / workers;
  double ideal = crit > spread ? crit : spread;
  double greedy = greedy_steps(g, workers) * sl;
  double seq = (double)g->n * sl;
  double ratio = med / ideal;
  keep("start_dag_sleep", workers, ratio);
  if (roster__bench.json) {
    printf("{\"op\":\"start_dag_sleep\",\"services\":%zu,\"workers\":%u,"
           "\"ready_ms\":%.2f,\"ideal_ms\":%.2f,\"ratio\":%.3f,"
           "\"min_ms\":%.2f,\"greedy_ms\":%.2f,\"sequential_ms\":%.2f,"
           "\"sleep_ms\":%.2f,\"sleep_measured_ms\":%.3f,"
           "\"critical_path\":%u,\"repeats\":%d,\"seed\":%" PRIu64 "}\n",
           g->n, workers, med, ideal, ratio, mn, greedy, seq, sl, slept / reps,
           g->critical, reps, SEED);
  } else {
    printf("%-26s %8zu %7u %8.2fms %8.2fms  ideal %.0f ms (critical path %u "
           "x %.0f ms, %zu x %.0f ms / %u), ratio %.2f; greedy schedule "
           "%.0f ms; sequential %.0f ms; one sleep measured %.2f ms\n",
           "start_dag_sleep", g->n, workers, med, mn, ideal, g->critical, sl,
           g->n, sl, workers, ratio, greedy, seq, slept / reps);
  }
  fflush(stdout);
  free(t);
}

/* ------------------------------------------------------------------ */
/* Lazy services                                                       */

static void bench_lazy(dag *g) {
  /* A DAG without edges: each first get creates exactly one service. */
  dag_reset(g);
  roster *r = dag_registry(g, 0, true);
  size_t n = g->n;
  int64_t t0 = bench_now_ns();
  for (size_t i = 0; i < n; i++) {
    void *out = NULL;
    int rc = roster_get(r, NULL, g->names[i], &bench_type, &out);
    if (rc != ROSTER_OK)
      die_rc("roster_get (first, lazy)", rc);
    if (out != inst_of(i))
      roster__bench_fail(1, "lazy get %s: got instance %p, not its own",
                         g->names[i], out);
  }
  int64_t t1 = bench_now_ns();
  if (atomic_load(&g->creates) != n)
    roster__bench_fail(1, "first lazy gets made %lu creates, want %zu",
                       atomic_load(&g->creates), n);
  uintptr_t sink = 0;
  int rounds = S.hit_rounds;
  int64_t t2 = bench_now_ns();
  for (int k = 0; k < rounds; k++) {
    for (size_t i = 0; i < n; i++) {
      void *out = NULL;
      int rc = roster_get(r, NULL, g->names[i], &bench_type, &out);
      if (rc != ROSTER_OK)
        die_rc("roster_get (hit, lazy)", rc);
      sink ^= (uintptr_t)out;
    }
  }
  int64_t t3 = bench_now_ns();
  roster__bench_keep(sink);
  if (atomic_load(&g->creates) != n)
    roster__bench_fail(
        1, "hits on lazy services made more creates (%lu, want %zu)",
        atomic_load(&g->creates), n);
  stop_dag(r, g, "lazy services");
  double first = (double)(t1 - t0) / (double)n;
  double hit = (double)(t3 - t2) / ((double)n * rounds);
  keep("lazy_get", 0, first / hit);
  if (roster__bench.json) {
    printf("{\"op\":\"lazy_get\",\"services\":%zu,\"first_ns_per_op\":%.1f,"
           "\"hit_ns_per_op\":%.1f,\"ratio\":%.1f,\"hit_ops\":%zu}\n",
           n, first, hit, first / hit, n * (size_t)rounds);
  } else {
    printf("%-26s %8zu %7s %8.0fns %10s  first roster_get (runs create on "
           "this thread)\n",
           "lazy_get first", n, "-", first, "");
    printf("%-26s %8zu %7s %8.1fns %10s  roster_get afterwards (a hit), "
           "%zu gets; first/hit = %.0fx\n",
           "lazy_get hit", n, "-", hit, "", n * (size_t)rounds, first / hit);
  }
  fflush(stdout);
}

/* ------------------------------------------------------------------ */
/* Targets                                                             */

static void print_targets(void) {
  char label[128];
  const bench_result *x;
  roster__bench_targets();
  for (size_t i = 0; i < NWORKERS; i++) {
    if (!(x = roster__bench_find("roster", "start_dag_noop", WORKERS[i], 0)))
      continue;
    snprintf(label, sizeof label, "start_dag_noop median, %zu svc, %u wrk",
             S.noop_n, WORKERS[i]);
    roster__bench_target(label, x->value, " ms", "<= 20", x->value <= 20.0);
  }
  for (size_t i = 0; i < NWORKERS; i++) {
    if (!(x = roster__bench_find("roster", "start_dag_sleep", WORKERS[i], 0)))
      continue;
    snprintf(label, sizeof label,
             "start_dag_sleep ready/ideal, %zu svc, %u wrk", S.sleep_n,
             WORKERS[i]);
    roster__bench_target(label, x->value, "x", "<= 1.3x", x->value <= 1.3);
  }
  if ((x = roster__bench_find("roster", "baseline_sequential_noop", 1, 0)))
    roster__bench_context("(context) baseline_sequential_noop", x->value, 3,
                          " ms");
  for (size_t i = 0; i < NWORKERS; i++) {
    if (!(x = roster__bench_find("roster", "shutdown_dag_noop", WORKERS[i], 0)))
      continue;
    snprintf(label, sizeof label, "(context) shutdown_dag_noop, %u wrk",
             WORKERS[i]);
    roster__bench_context(label, x->value, 2, " ms");
  }
  if ((x = roster__bench_find("roster", "lazy_get", 0, 0)))
    roster__bench_context("(context) lazy_get first / hit", x->value, 0, "x");
}

/* ------------------------------------------------------------------ */

static const bench_spec spec = {
    .prog = "roster-bench-lifecycle",
    .about =
        "  Measures roster's lifecycle: roster_start and roster_shutdown of\n"
        "  1,000 no-op providers in a random DAG (each depends on up to 3\n"
        "  earlier ones) at 8 and 4 workers, beside the same creates called\n"
        "  in topological order on one thread; roster_start of 64 providers\n"
        "  whose create sleeps 10 ms, against the ideal schedule; the first\n"
        "  roster_get of a lazy service against a hit.\n",
    .quick = "small graphs, few repeats (smoke test)",
};

int main(int argc, char **argv) {
  roster__bench_init(&spec, argc, argv);
  S = roster__bench.quick ? QUICK : FULL;

  dag noop, sleepy, lazy;
  dag_make(&noop, S.noop_n, MAX_DEPS, SEED);
  dag_make(&sleepy, S.sleep_n, MAX_DEPS, SEED);
  sleepy.sleep_ns = S.sleep_ms * 1000000LL;
  dag_make(&lazy, S.lazy_n, 0, SEED); /* no edges */

  if (!roster__bench.json) {
    printf("roster %s lifecycle benchmark: %ld CPUs online, seed %" PRIu64
           ", CLOCK_MONOTONIC\n",
           roster_version(), sysconf(_SC_NPROCESSORS_ONLN), SEED);
    printf("no-op DAG: %zu services, %zu edges, critical path %u; sleep DAG: "
           "%zu services x %" PRId64 " ms, critical path %u; each run on a "
           "new registry (its worker pool starts inside roster_start)\n\n",
           noop.n, dag_edges(&noop), noop.critical, sleepy.n, S.sleep_ms,
           sleepy.critical);
    printf("%-26s %8s %7s %10s %10s  %s\n", "op", "services", "workers",
           "median", "min", "note");
    fflush(stdout);
  }

  bench_baseline(&noop);
  for (size_t i = 0; i < NWORKERS; i++)
    bench_noop(&noop, WORKERS[i]);
  for (size_t i = 0; i < NWORKERS; i++)
    bench_sleep_dag(&sleepy, WORKERS[i]);
  bench_lazy(&lazy);

  print_targets();
  dag_free(&noop);
  dag_free(&sleepy);
  dag_free(&lazy);
  return roster__bench_finish();
}
