/*
 * bench_log.c: how many lines per second roster's logger writes, beside
 * pino (Node.js) writing the same line in the same run.
 *
 * The typical line: a message and four fields (string, int, double, bool),
 *   RL_INFO_F(log, RL_FIELDS(RL_STR("user", "alice"), RL_INT("status", 200),
 *             RL_DBL("latency", 12.5), RL_BOOL("cached", true)),
 *             "request handled");
 * written to a file sink on /dev/null (O_APPEND, as pino.destination opens
 * it). Rows:
 *   - roster sync, 1 and 2 threads: each call formats and write(2)s its line;
 *   - roster async, 1 and 2 threads: block mode (nothing is dropped), timed
 *     until roster_log_flush returns, so every line has been written;
 *   - pino sync, 1 thread: bench/pino_baseline.js under node (from PATH),
 *     pino.destination({sync: true}), one write per line like roster sync;
 *   - floor sync, 1 thread: not a logger but the machine's limit for this
 *     line in sync mode: the clock read, a line of the same shape built by
 *     fixed code (memcpy of the constant parts, the numbers by hand; no
 *     escaping, no fields, no sinks) and one write(2), in a loop. What a
 *     sync logger can approach but not pass.
 * Each roster row is the best of 3 runs of N lines per thread, N chosen so a
 * run lasts ~0.3 s (--quick: ~0.02 s); pino runs the same N, best of 3.
 * lines_per_sec = total lines / wall time. After the rows the target (roster
 * sync 1 thread >= 10x pino) is printed as PASS/MISS; it is information,
 * not the exit code (1 only for a failed call or a lost line). See
 * bench/README.md.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <roster.h>

#define PROG "roster-bench-log"

#ifndef ROSTER_BENCH_DIR
#define ROSTER_BENCH_DIR "bench"
#endif

static bool g_json, g_quick;
static FILE *g_out; /* the table, or stderr with --json */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what) {
  fprintf(stderr, PROG ": %s: %s\n", what, roster_last_error());
  exit(1);
}

static int typical_line(roster_log *log) {
  return roster_log_write(
      log, ROSTER_LOG_INFO,
      RL_FIELDS(RL_STR("user", "alice"), RL_INT("status", 200),
                RL_DBL("latency", 12.5), RL_BOOL("cached", true)),
      "request handled");
}

typedef struct run_arg {
  roster_log *log;
  uint64_t lines;
  pthread_barrier_t *start;
  double t0, t1;
  int errors;
} run_arg;

static void *writer(void *p) {
  run_arg *a = p;
  typical_line(a->log); /* untimed: first-call costs of this thread */
  pthread_barrier_wait(a->start);
  a->t0 = now_s();
  for (uint64_t i = 0; i < a->lines; i++)
    if (typical_line(a->log) != ROSTER_OK)
      a->errors++;
  a->t1 = now_s();
  return NULL;
}

/* run_once: a new logger, threads x lines, returns wall seconds. */
static double run_once(bool async, int threads, uint64_t lines) {
  roster_log_sink s = {.kind = ROSTER_LOG_SINK_FILE, .path = "/dev/null"};
  roster_log_options o = {.sinks = &s,
                          .nsinks = 1,
                          .async = async,
                          .block = true,
                          .queue_lines = 8192};
  roster_log *log = roster_log_new(&o);
  if (!log)
    die("roster_log_new");
  pthread_barrier_t b;
  pthread_barrier_init(&b, NULL, (unsigned)threads);
  run_arg args[8];
  pthread_t th[8];
  for (int t = 0; t < threads; t++) {
    args[t] = (run_arg){.log = log, .lines = lines, .start = &b};
    if (pthread_create(&th[t], NULL, writer, &args[t]) != 0)
      die("pthread_create");
  }
  double t0 = 1e300, t1 = 0;
  int errors = 0;
  for (int t = 0; t < threads; t++) {
    pthread_join(th[t], NULL);
    if (args[t].t0 < t0)
      t0 = args[t].t0;
    if (args[t].t1 > t1)
      t1 = args[t].t1;
    errors += args[t].errors;
  }
  if (async) {
    if (roster_log_flush(log) != ROSTER_OK)
      die("roster_log_flush");
    t1 = now_s(); /* every line is written now */
  }
  roster_log_stats st;
  roster_log_stats_get(log, &st);
  uint64_t want = (uint64_t)threads * (lines + 1);
  if (errors || st.dropped || st.errors || st.written != want) {
    fprintf(stderr,
            PROG ": %s %d threads: %d failed calls, %llu dropped, %llu write "
                 "errors, %llu of %llu lines written\n",
            async ? "async" : "sync", threads, errors,
            (unsigned long long)st.dropped, (unsigned long long)st.errors,
            (unsigned long long)st.written, (unsigned long long)want);
    exit(1);
  }
  roster_log_free(log);
  pthread_barrier_destroy(&b);
  return t1 - t0;
}

typedef struct row {
  const char *impl, *mode;
  int threads;
  double lps;
  double spread; /* (worst - best) / best */
} row;

static row rows[8];
static int nrows;

static void emit(const row *r, size_t line_bytes) {
  if (g_json)
    printf("{\"impl\":\"%s\",\"mode\":\"%s\",\"threads\":%d,"
           "\"lines_per_sec\":%.0f}\n",
           r->impl, r->mode, r->threads, r->lps);
  else
    fprintf(g_out, "%-7s %-6s %7d %16.0f %8.1f%% %10zu\n", r->impl, r->mode,
            r->threads, r->lps, r->spread * 100, line_bytes);
  fflush(stdout);
}

static size_t roster_line_bytes;

static void count_cb(int level, const char *line, size_t len, void *arg) {
  (void)level;
  (void)line;
  *(size_t *)arg = len + 1; /* with its newline */
}

static void measure_line(void) {
  roster_log_sink s = {.kind = ROSTER_LOG_SINK_CALLBACK,
                       .fn = count_cb,
                       .arg = &roster_line_bytes};
  roster_log *log =
      roster_log_new(&(roster_log_options){.sinks = &s, .nsinks = 1});
  if (!log || typical_line(log) != ROSTER_OK)
    die("measuring the line");
  roster_log_free(log);
}

static uint64_t calibrate(double target_s) {
  uint64_t n = 1000;
  for (;;) {
    double t = run_once(false, 1, n);
    if (t >= target_s / 10 || n >= (1ull << 30))
      return (uint64_t)((double)n * target_s / (t > 0 ? t : 1e-9)) + 1;
    n *= 8;
  }
}

static void measure(const char *mode, int threads, uint64_t lines) {
  bool async = !strcmp(mode, "async");
  double best = 1e300, worst = 0;
  for (int r = 0; r < 3; r++) {
    double t = run_once(async, threads, lines);
    if (t < best)
      best = t;
    if (t > worst)
      worst = t;
  }
  row *x = &rows[nrows++];
  *x = (row){.impl = "roster",
             .mode = mode,
             .threads = threads,
             .lps = (double)lines * threads / best,
             .spread = (worst - best) / best};
  emit(x, roster_line_bytes);
}

/* put_u writes v's digits at p and returns the end. */
static char *put_u(char *p, uint64_t v) {
  char t[24];
  int n = 0;
  do
    t[n++] = (char)('0' + v % 10);
  while ((v /= 10) != 0);
  while (n)
    *p++ = t[--n];
  return p;
}

#define FLOOR_PUT(p, lit) (memcpy((p), (lit), sizeof(lit) - 1), (p) + sizeof(lit) - 1)

/* measure_floor: the sync floor row (see the file comment). */
static void measure_floor(uint64_t lines) {
  FILE *f = fopen("/dev/null", "a");
  if (!f)
    die("opening /dev/null");
  int fd = fileno(f);
  long pid = (long)getpid();
  char host[64] = "localhost";
  gethostname(host, sizeof host - 1);
  double best = 1e300;
  for (int r = 0; r < 3; r++) {
    double t0 = now_s();
    for (uint64_t i = 0; i < lines; i++) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      char b[512], *p = b;
      p = FLOOR_PUT(p, "{\"level\":30,\"time\":");
      p = put_u(p, (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
      p = FLOOR_PUT(p, ",\"pid\":");
      p = put_u(p, (uint64_t)pid);
      p = FLOOR_PUT(p, ",\"hostname\":\"");
      size_t hl = strlen(host);
      memcpy(p, host, hl);
      p += hl;
      p = FLOOR_PUT(p, "\",\"msg\":\"request handled\",\"user\":\"alice\","
                       "\"status\":");
      p = put_u(p, 200);
      p = FLOOR_PUT(p, ",\"latency\":12.5,\"cached\":true}\n");
      if (write(fd, b, (size_t)(p - b)) != p - b)
        die("the floor's write");
    }
    double t = now_s() - t0;
    if (t < best)
      best = t;
  }
  fclose(f);
  row *x = &rows[nrows++];
  *x = (row){.impl = "floor", .mode = "sync", .threads = 1,
             .lps = (double)lines / best};
  emit(x, roster_line_bytes);
}

/* pino: run the node script and read its one JSON line. false if node or
 * pino is missing (said on stderr). */
static bool measure_pino(uint64_t lines) {
  if (system("command -v node >/dev/null 2>&1") != 0) {
    fprintf(stderr, PROG ": node is not on PATH: no pino baseline (install "
                         "nodejs, then run scripts/npm.sh)\n");
    return false;
  }
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "node '%s/pino_baseline.js' %llu 3",
           ROSTER_BENCH_DIR, (unsigned long long)lines);
  FILE *p = popen(cmd, "r");
  if (!p) {
    fprintf(stderr, PROG ": cannot run node: no pino baseline\n");
    return false;
  }
  char buf[512] = {0};
  size_t got = fread(buf, 1, sizeof buf - 1, p);
  int st = pclose(p);
  buf[got] = '\0';
  double lps = 0;
  size_t bytes = 0;
  const char *at = strstr(buf, "\"lines_per_sec\":");
  const char *lb = strstr(buf, "\"line_bytes\":");
  if (st != 0 || !at || sscanf(at + 16, "%lf", &lps) != 1 || lps <= 0) {
    fprintf(stderr, PROG ": the pino baseline did not run (see above): no "
                         "pino row\n");
    return false;
  }
  if (lb)
    sscanf(lb + 13, "%zu", &bytes);
  row *x = &rows[nrows++];
  *x = (row){.impl = "pino", .mode = "sync", .threads = 1, .lps = lps};
  emit(x, bytes);
  return true;
}

static void usage(FILE *f) {
  fprintf(f, "usage: " PROG " [--json] [--quick] [--help]\n"
             "  --json   one JSON object per row on stdout, nothing else;\n"
             "           the table notes and the target go to stderr\n"
             "  --quick  short runs (smoke test)\n");
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--json")) {
      g_json = true;
    } else if (!strcmp(argv[i], "--quick")) {
      g_quick = true;
    } else if (!strcmp(argv[i], "--help")) {
      usage(stdout);
      return 0;
    } else {
      fprintf(stderr, PROG ": unknown option '%s'\n", argv[i]);
      usage(stderr);
      return 2;
    }
  }
  g_out = g_json ? stderr : stdout;
  measure_line();
  uint64_t lines = calibrate(g_quick ? 0.02 : 0.3);
  fprintf(g_out,
          "# roster-bench-log: %llu lines per thread per run, best of "
          "3; /dev/null\n",
          (unsigned long long)lines);
  if (!g_json)
    fprintf(g_out, "%-7s %-6s %7s %16s %9s %10s\n", "impl", "mode", "threads",
            "lines_per_sec", "spread", "line_bytes");
  measure("sync", 1, lines);
  measure("sync", 2, lines);
  measure("async", 1, lines);
  measure("async", 2, lines);
  measure_floor(lines);
  double floor_lps = rows[nrows - 1].lps;
  bool have_pino = measure_pino(lines);
  fprintf(g_out, "roster sync 1 thread is %.0f%% of the sync floor\n",
          100 * rows[0].lps / floor_lps);
  if (have_pino) {
    double pino = rows[nrows - 1].lps;
    double ratio = rows[0].lps / pino;
    fprintf(g_out, "target: roster sync 1 thread >= 10x pino: %.1fx  %s "
            "(the sync floor is %.1fx pino)\n",
            ratio, ratio >= 10 ? "PASS" : "MISS", floor_lps / pino);
  }
  return 0;
}
