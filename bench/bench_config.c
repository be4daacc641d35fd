/*
 * bench_config.c: what a config read costs, and what a reload does to the
 * readers, beside a plain baseline in the same run.
 *
 *   - get_int: roster_config_int of a three-level key in a tree of ~250
 *     keys, at 1 and 2 threads. Baseline (rwlock): the same tree as a
 *     jansson object behind a pthread_rwlock_t: read-lock, three
 *     json_object_get, json_integer_value, unlock.
 *   - get_int_reloading: the same reads while another thread reloads
 *     without pause: roster_config_reload of the YAML file (read, parse,
 *     validate, swap) against a writer that parses the same tree as JSON
 *     with jansson and swaps it in under the write lock. Reported: the
 *     readers' ns/op and how many reloads the writer did meanwhile.
 *   - view_pair: roster_config_acquire, two reads from the view, release
 *     (a consistent pair of values) against read-lock, two reads, unlock.
 *   - reload: one roster_config_reload of the file on its own, against
 *     reading the file and parsing it with jansson (the floor of any
 *     reload: roster adds YAML typing, provenance, the merge and the swap).
 *
 * Every read is checked (the value must be one the file holds), so a wrong
 * answer is reported and makes the exit code 1. Times are CLOCK_MONOTONIC,
 * best of 3 runs, roster and baseline interleaved. See bench/README.md.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <jansson.h>
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

#define PROG "roster-bench-config"

static bool g_json, g_quick;
static atomic_ulong g_errors;
static char g_yaml[4096], g_jsonpath[4096];

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void bad(const char *what) {
  if (atomic_fetch_add(&g_errors, 1) < 10)
    fprintf(stderr, PROG ": %s\n", what);
}

/* The tree: 25 services x 10 keys, plus service.http.port. Both files hold
 * the same values; port is 8080 or 8081 depending on the generation. */
static void write_files(int port) {
  FILE *y = fopen(g_yaml, "w"), *j = fopen(g_jsonpath, "w");
  if (!y || !j) {
    perror(PROG ": fopen");
    exit(1);
  }
  fprintf(y, "service:\n  http:\n    port: %d\n    peer: %d\n", port, port);
  fprintf(j, "{\"service\":{\"http\":{\"port\":%d,\"peer\":%d}}", port, port);
  for (int s = 0; s < 25; s++) {
    fprintf(y, "svc%02d:\n", s);
    fprintf(j, ",\"svc%02d\":{", s);
    for (int k = 0; k < 10; k++) {
      fprintf(y, "  key%d: value-%d-%d\n", k, s, k);
      fprintf(j, "%s\"key%d\":\"value-%d-%d\"", k ? "," : "", k, s, k);
    }
    fprintf(j, "}");
  }
  fprintf(j, "}\n");
  fclose(y);
  fclose(j);
}

/* ---- the baseline: a jansson tree behind an rwlock ---- */

static pthread_rwlock_t g_lock = PTHREAD_RWLOCK_INITIALIZER;
static json_t *g_tree;

static json_t *parse_json_file(void) {
  json_error_t e;
  json_t *t = json_load_file(g_jsonpath, 0, &e);
  if (!t)
    bad(e.text);
  return t;
}

static int64_t base_get(const char *leaf) {
  pthread_rwlock_rdlock(&g_lock);
  json_t *v = json_object_get(
      json_object_get(json_object_get(g_tree, "service"), "http"), leaf);
  int64_t x = v ? (int64_t)json_integer_value(v) : -1;
  pthread_rwlock_unlock(&g_lock);
  return x;
}

static void base_pair(int64_t *a, int64_t *b) {
  pthread_rwlock_rdlock(&g_lock);
  json_t *h = json_object_get(json_object_get(g_tree, "service"), "http");
  *a = (int64_t)json_integer_value(json_object_get(h, "port"));
  *b = (int64_t)json_integer_value(json_object_get(h, "peer"));
  pthread_rwlock_unlock(&g_lock);
}

static void base_reload(void) {
  json_t *t = parse_json_file();
  if (!t)
    return;
  pthread_rwlock_wrlock(&g_lock);
  json_t *old = g_tree;
  g_tree = t;
  pthread_rwlock_unlock(&g_lock);
  json_decref(old);
}

/* ---- runs ---- */

typedef enum { OP_GET, OP_PAIR } op_kind;

typedef struct job {
  bool ours; /* roster, else the baseline */
  op_kind op;
  roster_config *cfg;
  long ops;
  pthread_barrier_t *start;
  int64_t t0, t1;
} job;

static bool ok_port(int64_t v) { return v == 8080 || v == 8081; }

static void *reader(void *arg) {
  job *j = arg;
  int64_t v = 0, w = 0;
  /* one untimed call: roster registers the thread with RCU lazily */
  roster_config_int(j->cfg, "service.http.port", 0, &v);
  pthread_barrier_wait(j->start);
  j->t0 = now_ns();
  long wrong = 0;
  for (long i = 0; i < j->ops; i++) {
    if (j->op == OP_GET) {
      if (j->ours)
        roster_config_int(j->cfg, "service.http.port", 0, &v);
      else
        v = base_get("port");
      wrong += !ok_port(v);
    } else {
      if (j->ours) {
        roster_config *view = NULL;
        roster_config_acquire(j->cfg, &view);
        roster_config_int(view, "service.http.port", 0, &v);
        roster_config_int(view, "service.http.peer", 0, &w);
        roster_config_release(view);
      } else {
        base_pair(&v, &w);
      }
      wrong += !ok_port(v) || v != w;
    }
  }
  j->t1 = now_ns();
  if (wrong)
    bad("a read returned a value the file does not hold (or a mixed pair)");
  return NULL;
}

typedef struct writer {
  bool ours;
  roster_config *cfg;
  atomic_bool stop;
  long reloads;
} writer;

static void *write_loop(void *arg) {
  writer *w = arg;
  while (!atomic_load(&w->stop)) {
    if (w->ours) {
      if (roster_config_reload(w->cfg) != ROSTER_OK)
        bad(roster_last_error());
    } else {
      base_reload();
    }
    w->reloads++;
  }
  return NULL;
}

typedef struct result {
  double ns_per_op; /* wall x threads / ops */
  double ops_per_sec;
  long reloads;
} result;

/* run_once times `ops` operations per thread on `threads` threads, with a
 * writer reloading meanwhile if `reloading`. */
static result run_once(bool ours, op_kind op, roster_config *cfg, int threads,
                       long ops, bool reloading) {
  pthread_barrier_t b;
  pthread_barrier_init(&b, NULL, (unsigned)threads);
  job jobs[8];
  pthread_t t[8];
  writer w = {.ours = ours, .cfg = cfg};
  pthread_t wt;
  if (reloading)
    pthread_create(&wt, NULL, write_loop, &w);
  for (int i = 0; i < threads; i++) {
    jobs[i] = (job){ours, op, cfg, ops, &b, 0, 0};
    pthread_create(&t[i], NULL, reader, &jobs[i]);
  }
  int64_t t0 = INT64_MAX, t1 = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(t[i], NULL);
    t0 = jobs[i].t0 < t0 ? jobs[i].t0 : t0;
    t1 = jobs[i].t1 > t1 ? jobs[i].t1 : t1;
  }
  if (reloading) {
    atomic_store(&w.stop, true);
    pthread_join(wt, NULL);
  }
  pthread_barrier_destroy(&b);
  double wall = (double)(t1 - t0);
  return (result){wall * threads / ((double)ops * threads),
                  (double)ops * threads / (wall / 1e9), w.reloads};
}

/* calibrate finds an op count that takes ~target ns on one thread. */
static long calibrate(bool ours, op_kind op, roster_config *cfg) {
  double target = g_quick ? 2e7 : 2.5e8;
  long ops = 1000;
  for (;;) {
    result r = run_once(ours, op, cfg, 1, ops, false);
    double took = r.ns_per_op * ops;
    if (took >= target / 4 || ops > (1L << 30))
      return (long)(ops * (target / (took > 1 ? took : 1)));
    ops *= 8;
  }
}

static void report(const char *impl, const char *op, int threads, result r,
                   bool reloading, double spread) {
  if (g_json) {
    printf("{\"impl\":\"%s\",\"op\":\"%s\",\"threads\":%d,\"ns_per_op\":%.2f,"
           "\"ops_per_sec\":%.0f",
           impl, op, threads, r.ns_per_op, r.ops_per_sec);
    if (reloading)
      printf(",\"reloads\":%ld", r.reloads);
    printf(",\"best_of\":3}\n");
    return;
  }
  printf("%-7s %-18s %7d %10.1f %14.0f %8s %6.0f%%\n", impl, op, threads,
         r.ns_per_op, r.ops_per_sec, reloading ? "" : "-", spread * 100);
  if (reloading)
    printf("%-7s %-18s %7s %10s %14s %8ld\n", "", "  (reloads meanwhile)", "",
           "", "", r.reloads);
}

/* measure runs roster and baseline 3 times each, interleaved, and reports
 * the best of each. */
static void measure(const char *name, op_kind op, roster_config *cfg,
                    int threads, bool reloading, double *ratio) {
  long ops_r = calibrate(true, op, cfg), ops_b = calibrate(false, op, cfg);
  result best[2] = {{1e300, 0, 0}, {1e300, 0, 0}};
  double worst[2] = {0, 0};
  for (int k = 0; k < 3; k++)
    for (int impl = 0; impl < 2; impl++) {
      result r = run_once(impl == 0, op, cfg, threads,
                          impl == 0 ? ops_r : ops_b, reloading);
      if (r.ns_per_op < best[impl].ns_per_op)
        best[impl] = r;
      if (r.ns_per_op > worst[impl])
        worst[impl] = r.ns_per_op;
    }
  report("roster", name, threads, best[0], reloading,
         (worst[0] - best[0].ns_per_op) / best[0].ns_per_op);
  report("rwlock", name, threads, best[1], reloading,
         (worst[1] - best[1].ns_per_op) / best[1].ns_per_op);
  *ratio = best[1].ns_per_op / best[0].ns_per_op;
}

static void measure_reload(roster_config *cfg) {
  int n = g_quick ? 20 : 200;
  double best_r = 1e300, best_b = 1e300;
  for (int k = 0; k < 3; k++) {
    int64_t t0 = now_ns();
    for (int i = 0; i < n; i++)
      if (roster_config_reload(cfg) != ROSTER_OK)
        bad(roster_last_error());
    int64_t t1 = now_ns();
    for (int i = 0; i < n; i++)
      base_reload();
    int64_t t2 = now_ns();
    double r = (double)(t1 - t0) / n, b = (double)(t2 - t1) / n;
    best_r = r < best_r ? r : best_r;
    best_b = b < best_b ? b : best_b;
  }
  if (g_json) {
    printf("{\"impl\":\"roster\",\"op\":\"reload\",\"us_per_op\":%.1f,"
           "\"best_of\":3}\n",
           best_r / 1e3);
    printf("{\"impl\":\"jansson\",\"op\":\"reload\",\"us_per_op\":%.1f,"
           "\"best_of\":3}\n",
           best_b / 1e3);
  } else {
    printf("%-7s %-18s %7d %9.1fus %14s  read+parse YAML, merge, "
           "validate, swap\n",
           "roster", "reload", 1, best_r / 1e3, "");
    printf("%-7s %-18s %7d %9.1fus %14s  read+parse JSON, swap under the "
           "write lock\n",
           "jansson", "reload", 1, best_b / 1e3, "");
  }
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--json")) {
      g_json = true;
    } else if (!strcmp(argv[i], "--quick")) {
      g_quick = true;
    } else {
      fprintf(stderr, "usage: " PROG " [--json] [--quick]\n"
                      "  --json   one JSON object per measurement on stdout\n"
                      "  --quick  short runs (a smoke test)\n");
      return strcmp(argv[i], "--help") ? 2 : 0;
    }
  }
  const char *tmp = getenv("TMPDIR");
  char dir[2048];
  snprintf(dir, sizeof dir, "%s/roster-bench-config-XXXXXX",
           tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) {
    perror(PROG ": mkdtemp");
    return 1;
  }
  snprintf(g_yaml, sizeof g_yaml, "%s/app.yaml", dir);
  snprintf(g_jsonpath, sizeof g_jsonpath, "%s/app.json", dir);
  write_files(8080);
  static const roster_config_field schema[] = {{.key = "service.http.port",
                                                .type = ROSTER_CONFIG_INT,
                                                .required = true,
                                                .min = 1,
                                                .max = 65535},
                                               {0}};
  const char *files[] = {g_yaml, NULL};
  roster_config *cfg = roster_config_new(
      &(roster_config_options){.files = files, .schema = schema});
  if (!cfg || roster_config_load(cfg) != ROSTER_OK) {
    fprintf(stderr, PROG ": load: %s\n", roster_last_error());
    return 1;
  }
  g_tree = parse_json_file();
  if (!g_tree)
    return 1;
  if (!g_json)
    printf("%-7s %-18s %7s %10s %14s %8s %7s\n", "impl", "op", "threads",
           "ns/op", "ops/s", "reloads", "spread");
  double r_get1, r_get2, r_rel1, r_rel2, r_pair;
  measure("get_int", OP_GET, cfg, 1, false, &r_get1);
  measure("get_int", OP_GET, cfg, 2, false, &r_get2);
  measure("get_int_reloading", OP_GET, cfg, 1, true, &r_rel1);
  measure("get_int_reloading", OP_GET, cfg, 2, true, &r_rel2);
  measure("view_pair", OP_PAIR, cfg, 1, false, &r_pair);
  measure_reload(cfg);
  FILE *o = g_json ? stderr : stdout;
  fprintf(o,
          "\nrwlock ns/op / roster ns/op (above 1: roster is faster):\n"
          "  get_int 1 thread %.2f, 2 threads %.2f; while reloading 1 "
          "thread %.2f, 2 threads %.2f; view_pair %.2f\n",
          r_get1, r_get2, r_rel1, r_rel2, r_pair);
  roster_config_free(cfg);
  json_decref(g_tree);
  unlink(g_yaml);
  unlink(g_jsonpath);
  rmdir(dir);
  roster_reclaim_wait();
  return atomic_load(&g_errors) ? 1 : 0;
}
