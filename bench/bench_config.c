/*
 * bench_config.c: what a config read costs, and what a reload does to the
 * readers, beside a plain baseline in the same run.
 *
 *   - get_int: roster_config_int of a three-level key in a tree of ~250
 *     keys, at 1, 2, 4, 8 and 16 threads (--quick: 1 and 2; the last three
 *     for bigger machines: on 2 cores they show oversubscription).
 *     Baseline (rwlock): the same tree as a
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
 * best of 3 runs, roster and baseline interleaved (bench.h). See
 * bench/README.md.
 */
#include "bench.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <roster.h>

enum { REPEATS = 3 };

static char g_yaml[4096], g_jsonpath[4096];

static void bad(const char *what) { roster__bench_fail(1, "%s", what); }

/* The tree: 25 services x 10 keys, plus service.http.port. Both files hold
 * the same values; port is 8080 or 8081 depending on the generation. */
static void write_files(int port) {
  FILE *y = fopen(g_yaml, "w"), *j = fopen(g_jsonpath, "w");
  if (!y || !j)
    roster__bench_die("cannot write the config files in %s", g_yaml);
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
  unsigned threads; /* readers */
  bool reloading;   /* a writer reloads meanwhile */
} job;

static bool ok_port(int64_t v) { return v == 8080 || v == 8081; }

static void reader(bench_thread *t) {
  const job *j = t->arg;
  int64_t v = 0, w = 0;
  /* one untimed call: roster registers the thread with RCU lazily */
  roster_config_int(j->cfg, "service.http.port", 0, &v);
  roster__bench_start(t);
  long wrong = 0;
  for (uint64_t i = 0; i < t->ops; i++) {
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
  bench_stop(t);
  if (wrong)
    bad("a read returned a value the file does not hold (or a mixed pair)");
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

/* read_run (a bench_fn) times ops reads per thread on the job's threads,
 * with a writer reloading meanwhile if the job says so (aux: its reloads). */
static bench_sample read_run(void *arg, uint64_t ops) {
  const job *j = arg;
  writer w = {.ours = j->ours, .cfg = j->cfg};
  pthread_t wt;
  if (j->reloading && pthread_create(&wt, NULL, write_loop, &w) != 0)
    roster__bench_die("pthread_create failed");
  bench_sample s = roster__bench_threads(reader, arg, j->threads, ops);
  if (j->reloading) {
    atomic_store(&w.stop, true);
    pthread_join(wt, NULL);
  }
  s.aux = (uint64_t)w.reloads;
  return s;
}

static void report(const char *impl, const char *op, const bench_case *c,
                   bool reloading) {
  const bench_sample *r = &c->best;
  if (roster__bench.json) {
    printf("{\"impl\":\"%s\",\"op\":\"%s\",\"threads\":%u,\"ns_per_op\":%.2f,"
           "\"ops_per_sec\":%.0f",
           impl, op, r->threads, bench_ns_per_op(r), bench_rate(r));
    if (reloading)
      printf(",\"reloads\":%" PRIu64, r->aux);
    printf(",\"best_of\":%d}\n", REPEATS);
    return;
  }
  printf("%-7s %-18s %7u %10.1f %14.0f %8s %6.0f%%\n", impl, op, r->threads,
         bench_ns_per_op(r), bench_rate(r), reloading ? "" : "-",
         roster__bench_spread(c) * 100);
  if (reloading)
    printf("%-7s %-18s %7s %10s %14s %8" PRIu64 "\n", "",
           "  (reloads meanwhile)", "", "", "", r->aux);
}

/* measure runs roster and the baseline, each calibrated, 3 times each,
 * interleaved, and reports the best of each. */
static void measure(const char *name, op_kind op, roster_config *cfg,
                    unsigned threads, bool reloading) {
  static const char *const impl[2] = {"roster", "rwlock"};
  job jobs[2];
  bench_case c[2];
  for (int k = 0; k < 2; k++) {
    jobs[k] = (job){k == 0, op, cfg, threads, reloading};
    c[k] = (bench_case){.impl = impl[k],
                        .op = name,
                        .size = 0,
                        .fn = read_run,
                        .arg = &jobs[k]};
  }
  roster__bench_compare(c, 2, roster__bench.quick ? 0.02 : 0.25, REPEATS);
  report(impl[0], name, &c[0], reloading);
  report(impl[1], name, &c[1], reloading);
}

typedef struct reloader {
  bool ours;
  roster_config *cfg;
} reloader;

/* reload_run (a bench_fn): ops reloads in a row on this thread. */
static bench_sample reload_run(void *arg, uint64_t ops) {
  const reloader *r = arg;
  double t0 = bench_now();
  for (uint64_t i = 0; i < ops; i++) {
    if (!r->ours)
      base_reload();
    else if (roster_config_reload(r->cfg) != ROSTER_OK)
      bad(roster_last_error());
  }
  return (bench_sample){.wall = bench_now() - t0, .ops = ops, .threads = 1};
}

static void measure_reload(roster_config *cfg) {
  reloader r[2] = {{true, cfg}, {false, cfg}};
  uint64_t n = roster__bench.quick ? 20 : 200;
  static const char *const note[2] = {
      "read+parse YAML, merge, validate, swap",
      "read+parse JSON, swap under the write lock"};
  bench_case c[2];
  for (int k = 0; k < 2; k++)
    c[k] = (bench_case){.impl = k ? "jansson" : "roster",
                        .op = "reload",
                        .fn = reload_run,
                        .arg = &r[k],
                        .ops = n};
  roster__bench_measure(c, 2, REPEATS);
  for (int k = 0; k < 2; k++) {
    double us = bench_ns_per_op(&c[k].best) / 1e3;
    if (roster__bench.json)
      printf("{\"impl\":\"%s\",\"op\":\"reload\",\"us_per_op\":%.1f,"
             "\"best_of\":%d}\n",
             c[k].impl, us, REPEATS);
    else
      printf("%-7s %-18s %7d %9.1fus %14s  %s\n", c[k].impl, "reload", 1, us,
             "", note[k]);
  }
}

static const bench_spec spec = {
    .prog = "roster-bench-config",
    .about = "  Measures roster_config reads beside a jansson tree behind a\n"
             "  pthread_rwlock_t, also while another thread reloads, and one\n"
             "  reload beside a jansson parse of the same tree.\n",
};

int main(int argc, char **argv) {
  roster__bench_init(&spec, argc, argv);
  const char *tmp = getenv("TMPDIR");
  char dir[2048];
  snprintf(dir, sizeof dir, "%s/roster-bench-config-XXXXXX",
           tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir))
    roster__bench_die("mkdtemp %s failed", dir);
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
  roster_config *cfg = NULL;
  if (roster_config_new(
          &(roster_config_options){.files = files, .schema = schema}, &cfg) !=
          ROSTER_OK ||
      roster_config_load(cfg) != ROSTER_OK)
    roster__bench_die("load: %s", roster_last_error());
  g_tree = parse_json_file();
  if (!g_tree)
    return 1;
  if (!roster__bench.json)
    printf("%-7s %-18s %7s %10s %14s %8s %7s\n", "impl", "op", "threads",
           "ns/op", "ops/s", "reloads", "spread");
  static const unsigned th[] = {1, 2, 4, 8, 16};
  for (size_t i = 0; i < (roster__bench.quick ? 2 : sizeof th / sizeof th[0]);
       i++)
    measure("get_int", OP_GET, cfg, th[i], false);
  measure("get_int_reloading", OP_GET, cfg, 1, true);
  measure("get_int_reloading", OP_GET, cfg, 2, true);
  measure("view_pair", OP_PAIR, cfg, 1, false);
  measure_reload(cfg);
  fprintf(roster__bench.out,
          "\nrwlock ns/op / roster ns/op (above 1: roster is faster):\n"
          "  get_int 1 thread %.2f, 2 threads %.2f; while reloading 1 "
          "thread %.2f, 2 threads %.2f; view_pair %.2f\n",
          roster__bench_ratio("roster", "rwlock", "get_int", 1, 0),
          roster__bench_ratio("roster", "rwlock", "get_int", 2, 0),
          roster__bench_ratio("roster", "rwlock", "get_int_reloading", 1, 0),
          roster__bench_ratio("roster", "rwlock", "get_int_reloading", 2, 0),
          roster__bench_ratio("roster", "rwlock", "view_pair", 1, 0));
  roster_config_free(cfg);
  json_decref(g_tree);
  unlink(g_yaml);
  unlink(g_jsonpath);
  rmdir(dir);
  roster_reclaim_wait();
  return roster__bench_finish();
}
