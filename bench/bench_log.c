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
 *   - roster sync, 1, 2, 4, 8 and 16 threads (--quick: 1 and 2; from 4 on
 *     the threads share the 2-thread row's lines): each call formats and
 *     write(2)s its line;
 *   - roster async, the same threads: block mode (nothing is dropped), timed
 *     until roster_log_flush returns, so every line has been written;
 *   - pino sync, 1 thread: bench/pino_baseline.js under node (from PATH),
 *     pino.destination({sync: true}), one write per line like roster sync;
 *   - floor sync, 1 thread: not a logger but the machine's limit for this
 *     line in sync mode: the clock read, a line of the same shape built by
 *     fixed code (memcpy of the constant parts, the numbers by hand; no
 *     escaping, no fields, no sinks) and one write(2), in a loop. What a
 *     sync logger can approach but not pass.
 *   - roster format, 1 thread: roster sync with a callback sink that does
 *     nothing: the line's cost in user space (the clock read, formatting,
 *     the sink set), without the write;
 *   - write sync, 1 thread: write(2) of a line of the same length, alone.
 *     sync minus format minus write is what the two cost together beyond
 *     their sum: user code running after the kernel's, on caches and
 *     branch predictors the call has cooled.
 * Each roster row is the best of 3 runs of N lines per thread, N chosen so a
 * run lasts ~0.3 s (--quick: ~0.02 s); pino runs the same N, best of 3.
 * lines_per_sec = total lines / wall time. After the rows the target (roster
 * sync 1 thread >= 10x pino) is printed as PASS/MISS in the harness's
 * targets summary; it is information, not the exit code (1 only for a
 * failed call or a lost line). See bench/README.md.
 */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <roster.h>

#ifndef ROSTER_BENCH_DIR
#define ROSTER_BENCH_DIR "bench"
#endif

enum { REPEATS = 3 };

static int typical_line(roster_log *log) {
  return roster_log_write(
      log, ROSTER_LOG_INFO,
      RL_FIELDS(RL_STR("user", "alice"), RL_INT("status", 200),
                RL_DBL("latency", 12.5), RL_BOOL("cached", true)),
      "request handled");
}

static void writer(bench_thread *t) {
  roster_log *log = t->arg;
  typical_line(log); /* untimed: first-call costs of this thread */
  roster__bench_start(t);
  uint64_t errors = 0;
  for (uint64_t i = 0; i < t->ops; i++)
    if (typical_line(log) != ROSTER_OK)
      errors++;
  bench_stop(t);
  t->errors = errors;
}

typedef struct mode {
  const char *name; /* "sync" or "async" */
  unsigned threads;
} log_mode;

static void nop_cb(int level, const char *line, size_t len, void *arg) {
  (void)level;
  (void)line;
  (void)len;
  (void)arg;
}

/* log_run (a bench_fn): a new logger, the mode's threads x lines each;
 * mode "format" is sync to a sink that does nothing. */
static bench_sample log_run(void *arg, uint64_t lines) {
  const log_mode *m = arg;
  bool async = !strcmp(m->name, "async");
  roster_log_sink s = {.kind = ROSTER_LOG_SINK_FILE, .path = "/dev/null"};
  if (!strcmp(m->name, "format"))
    s = (roster_log_sink){.kind = ROSTER_LOG_SINK_CALLBACK, .fn = nop_cb};
  roster_log_options o = {.sinks = &s,
                          .nsinks = 1,
                          .async = async,
                          .block = true,
                          .queue_lines = 8192};
  roster_log *log = NULL;
  if (roster_log_new(&o, &log) != ROSTER_OK)
    roster__bench_die("roster_log_new: %s", roster_last_error());
  bench_sample r = roster__bench_threads(writer, log, m->threads, lines);
  if (async) {
    if (roster_log_flush(log) != ROSTER_OK)
      roster__bench_die("roster_log_flush: %s", roster_last_error());
    r.wall = bench_now() - r.t0; /* every line is written now */
  }
  roster_log_stats st;
  roster_log_stats_get(log, &st);
  uint64_t want = (uint64_t)m->threads * (lines + 1);
  if (r.errors || st.dropped || st.errors || st.written != want)
    roster__bench_die(
        "%s %u threads: %llu failed calls, %llu dropped, %llu write "
        "errors, %llu of %llu lines written",
        m->name, m->threads, (unsigned long long)r.errors,
        (unsigned long long)st.dropped, (unsigned long long)st.errors,
        (unsigned long long)st.written, (unsigned long long)want);
  roster_log_free(log);
  return r;
}

/* emit prints a row and keeps its rate for the targets. */
static void emit(const char *impl, const char *mode, unsigned threads,
                 double lps, double spread, size_t line_bytes) {
  roster__bench_add(&(bench_result){
      .impl = impl, .op = mode, .threads = threads, .rate = lps});
  if (roster__bench.json)
    printf("{\"impl\":\"%s\",\"mode\":\"%s\",\"threads\":%u,"
           "\"lines_per_sec\":%.0f}\n",
           impl, mode, threads, lps);
  else
    printf("%-7s %-6s %7u %16.0f %8.1f%% %10zu\n", impl, mode, threads, lps,
           spread * 100, line_bytes);
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
  roster_log *log = NULL;
  if (roster_log_new(&(roster_log_options){.sinks = &s, .nsinks = 1}, &log) !=
          ROSTER_OK ||
      typical_line(log) != ROSTER_OK)
    roster__bench_die("measuring the line: %s", roster_last_error());
  roster_log_free(log);
}

static void measure(const char *name, unsigned threads, uint64_t lines) {
  log_mode m = {name, threads};
  bench_case c = {.impl = "roster",
                  .op = name,
                  .size = 0,
                  .fn = log_run,
                  .arg = &m,
                  .ops = lines};
  roster__bench_measure(&c, 1, REPEATS);
  emit("roster", name, threads, bench_rate(&c.best), roster__bench_spread(&c),
       roster_line_bytes);
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

#define FLOOR_PUT(p, lit)                                                      \
  (memcpy((p), (lit), sizeof(lit) - 1), (p) + sizeof(lit) - 1)

typedef struct floor_arg {
  int fd;
  long pid;
  char host[64];
} floor_arg;

/* floor_run (a bench_fn): the sync floor's loop (see the file comment). */
static bench_sample floor_run(void *arg, uint64_t lines) {
  const floor_arg *f = arg;
  double t0 = bench_now();
  for (uint64_t i = 0; i < lines; i++) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char b[512], *p = b;
    p = FLOOR_PUT(p, "{\"level\":30,\"time\":");
    p = put_u(p, (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
    p = FLOOR_PUT(p, ",\"pid\":");
    p = put_u(p, (uint64_t)f->pid);
    p = FLOOR_PUT(p, ",\"hostname\":\"");
    size_t hl = strlen(f->host);
    memcpy(p, f->host, hl);
    p += hl;
    p = FLOOR_PUT(p, "\",\"msg\":\"request handled\",\"user\":\"alice\","
                     "\"status\":");
    p = put_u(p, 200);
    p = FLOOR_PUT(p, ",\"latency\":12.5,\"cached\":true}\n");
    if (write(f->fd, b, (size_t)(p - b)) != p - b)
      roster__bench_die("the floor's write failed");
  }
  return (bench_sample){.wall = bench_now() - t0, .ops = lines, .threads = 1};
}

/* measure_fd_row: a row of fn (floor_run or write_run) writing to
 * /dev/null, opened O_APPEND as the file sink opens it. */
static void measure_fd_row(const char *impl, bench_fn fn, uint64_t lines) {
  FILE *f = fopen("/dev/null", "a");
  if (!f)
    roster__bench_die("cannot open /dev/null");
  floor_arg a = {.fd = fileno(f), .pid = (long)getpid(), .host = "localhost"};
  gethostname(a.host, sizeof a.host - 1);
  bench_case c = {
      .impl = impl, .op = "sync", .size = 0, .fn = fn, .arg = &a, .ops = lines};
  roster__bench_measure(&c, 1, REPEATS);
  fclose(f);
  emit(impl, "sync", 1, bench_rate(&c.best), roster__bench_spread(&c),
       roster_line_bytes);
}

/* write_run (a bench_fn): write(2) of a line of roster's length, alone. */
static bench_sample write_run(void *arg, uint64_t lines) {
  const floor_arg *f = arg;
  char b[512];
  size_t n = roster_line_bytes < sizeof b ? roster_line_bytes : sizeof b;
  memset(b, 'x', n);
  b[n - 1] = '\n';
  double t0 = bench_now();
  for (uint64_t i = 0; i < lines; i++)
    if (write(f->fd, b, n) != (ssize_t)n)
      roster__bench_die("the bare write failed");
  return (bench_sample){.wall = bench_now() - t0, .ops = lines, .threads = 1};
}

/* ns_per_line: 1e9 / the rate of impl's 1-thread row of mode; 0 if none. */
static double ns_per_line(const char *impl, const char *mode) {
  const bench_result *r = roster__bench_find(impl, mode, 1, 0);
  return r && r->rate > 0 ? 1e9 / r->rate : 0;
}

/* pino: run the node script and read its one JSON line. Without node or
 * pino, a line on stderr says so and there is no row. */
static void measure_pino(uint64_t lines) {
  if (!roster__bench_have_tool("node")) {
    roster__bench_warn(
        "node is not on PATH: no pino baseline (install nodejs, then "
        "run scripts/npm.sh)");
    return;
  }
  char cmd[1024], buf[512];
  snprintf(cmd, sizeof cmd, "node '%s/pino_baseline.js' %llu 3",
           ROSTER_BENCH_DIR, (unsigned long long)lines);
  int st = roster__bench_tool(cmd, buf, sizeof buf);
  double lps = 0;
  size_t bytes = 0;
  const char *at = strstr(buf, "\"lines_per_sec\":");
  const char *lb = strstr(buf, "\"line_bytes\":");
  if (st != 0 || !at || sscanf(at + 16, "%lf", &lps) != 1 || lps <= 0) {
    roster__bench_warn(
        "the pino baseline did not run (see above): no pino row");
    return;
  }
  if (lb)
    sscanf(lb + 13, "%zu", &bytes);
  emit("pino", "sync", 1, lps, 0, bytes);
}

static void print_targets(void) {
  double pino = roster__bench_ratio("roster", "pino", "sync", 1, 0);
  double floor = roster__bench_ratio("roster", "floor", "sync", 1, 0);
  roster__bench_targets();
  roster__bench_target("roster sync / pino lines/s, 1 thread",
                       pino > 0 ? pino : NAN, "x", ">= 10x", pino >= 10);
  roster__bench_context("(context) roster sync / floor sync, 1 thread", floor,
                        2, "x");
  double sync = ns_per_line("roster", "sync"),
         fmt = ns_per_line("roster", "format"),
         wr = ns_per_line("write", "sync");
  roster__bench_context("(context) ns a line: roster sync, 1 thread", sync, 0,
                        "");
  roster__bench_context("(context) ns a line: roster format (no write)", fmt, 0,
                        "");
  roster__bench_context("(context) ns a line: write(2) alone", wr, 0, "");
  roster__bench_context("(context) ns a line: sync - format - write",
                        sync - fmt - wr, 0, "");
  if (pino > 0)
    roster__bench_context("(context) floor sync / pino, 1 thread",
                          roster__bench_ratio("floor", "pino", "sync", 1, 0), 1,
                          "x");
}

static const bench_spec spec = {
    .prog = "roster-bench-log",
    .about = "  Measures the logger writing a typical line (a message, four\n"
             "  fields) to /dev/null, sync and async at 1, 2, 4, 8 and 16\n"
             "  threads (--quick: 1 and 2),\n"
             "  beside a fixed-code floor and pino (node, when installed);\n"
             "  the sync line's cost apart: formatting, the write.\n",
};

int main(int argc, char **argv) {
  roster__bench_init(&spec, argc, argv);
  measure_line();
  log_mode m = {"sync", 1};
  bench_case cal = {.fn = log_run, .arg = &m};
  roster__bench_calibrate(&cal, roster__bench.quick ? 0.02 : 0.3, 1);
  uint64_t lines = cal.ops;
  fprintf(roster__bench.out,
          "# roster-bench-log: %llu lines per thread per run, best of "
          "%d; /dev/null\n",
          (unsigned long long)lines, REPEATS);
  if (!roster__bench.json)
    printf("%-7s %-6s %7s %16s %9s %10s\n", "impl", "mode", "threads",
           "lines_per_sec", "spread", "line_bytes");
  /* 4, 8 and 16 threads (for bigger machines; oversubscribed on 2 cores)
   * share the 2-thread row's lines, so each row takes about as long. */
  static const unsigned th[] = {1, 2, 4, 8, 16};
  size_t nth = roster__bench.quick ? 2 : 5;
  for (int a = 0; a < 2; a++)
    for (size_t i = 0; i < nth; i++)
      measure(a ? "async" : "sync", th[i],
              th[i] <= 2 ? lines : lines * 2 / th[i]);
  measure("format", 1, lines);
  measure_fd_row("floor", floor_run, lines); /* see the file comment */
  measure_fd_row("write", write_run, lines);
  measure_pino(lines);
  print_targets();
  return roster__bench_finish();
}
