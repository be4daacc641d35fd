/*
 * bench.h: the harness every roster benchmark program shares (bench.c, the
 * roster_bench static library). It holds what each program used to write
 * for itself: the command line (--json, --quick, --help), the clock,
 * threads started together on a barrier and timed, the calibration of a
 * run's size, repeats interleaved with the baseline keeping each one's
 * best and worst run, percentiles, a store of the reported results for the
 * ratios and targets printed after the rows, the targets summary, error
 * counting and the closing line. A program keeps its workloads, its
 * baselines and its rows (the table columns and JSON keys are its own).
 *
 * Threading: roster__bench_init, roster__bench_measure,
 * roster__bench_calibrate, the result store, the targets and
 * roster__bench_finish are for the main thread. roster__bench_fail,
 * roster__bench_warn, roster__bench_die and the inline helpers may be called
 * from any thread. See bench/README.md.
 */
#ifndef ROSTER_BENCH_H
#define ROSTER_BENCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

/* ------------------------------------------------------------------ */
/* The program                                                         */

/* bench_spec: what roster__bench_init needs to know about a program. */
typedef struct bench_spec {
  const char *prog;  /* "roster-bench-x": the usage line, every message */
  const char *about; /* the help text's description: lines of "  ...\n" */
  const char *quick; /* what --quick does, a few words */
  /* Options of the program's own: shown on the usage line (e.g.
   * " [--seconds N]") and in the help (lines of "  ...\n"), parsed by more
   * at argv[i], which returns how many arguments it used, 0 if argv[i] is
   * not one of its options, -1 if it is but its value is wrong. */
  const char *more_usage;
  const char *more_help;
  int (*more)(int argc, char **argv, int i);
} bench_spec;

/* bench_state: the run's settings (set by roster__bench_init, then read-only).
 */
typedef struct bench_state {
  const char *prog; /* the spec's */
  bool json;        /* --json: JSON lines on stdout, nothing else there */
  bool quick;       /* --quick: short runs (the smoke tests) */
  bool verbose;     /* ROSTER_BENCH_VERBOSE is set: every repeat on stderr */
  FILE *out;        /* human text: stdout, or stderr with --json */
  double
      start; /* roster__bench_init's clock reading, for roster__bench_finish */
} bench_state;

extern bench_state roster__bench;

/* roster__bench_init parses the command line: --json, --quick, --help (-h) and
 * the program's own options. On --help it prints the usage on stdout and exits
 * 0; on anything else it does not know, the usage on stderr and exits 2. */
void roster__bench_init(const bench_spec *spec, int argc, char **argv);

/* roster__bench_finish prints the total time to roster__bench.out and, when
 * anything failed (roster__bench_fail), says that the figures are not valid.
 * Returns the exit code: 0, or 1 after a failure. */
int roster__bench_finish(void);

/* roster__bench_fail counts n failures (wrong answers, failed calls, runs gone
 * wrong; 0 only prints) and prints "<prog>: <message>" on stderr: the
 * first 10 messages, so a broken loop does not flood the output. Any
 * thread. */
void roster__bench_fail(uint64_t n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* roster__bench_failures: the failures counted so far. */
uint64_t roster__bench_failures(void);

/* roster__bench_warn prints "<prog>: <message>" on stderr and counts nothing (a
 * missing server or tool: the rows that need it are left out). */
void roster__bench_warn(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* roster__bench_die prints "<prog>: <message>" on stderr and exits 1 (a setup
 * that cannot go on). */
_Noreturn void roster__bench_die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* roster__bench_have_tool: whether the command name is on PATH. */
bool roster__bench_have_tool(const char *name);

/* roster__bench_tool runs cmd with the shell and keeps the end of its output
 * (what it writes on stdout; add 2>&1 for stderr) in out, NUL-terminated, at
 * most cap - 1 bytes. Returns 0 when the command ran and exited 0. */
int roster__bench_tool(const char *cmd, char *out, size_t cap);

/* roster__bench_xmalloc, roster__bench_xcalloc: malloc and calloc that die when
 * out of memory (a size of 0 allocates 1 byte). */
void *roster__bench_xmalloc(size_t size);
void *roster__bench_xcalloc(size_t n, size_t size);

/* ------------------------------------------------------------------ */
/* Clock, sleep, random numbers                                        */

/* bench_now: CLOCK_MONOTONIC, in seconds. */
static inline double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* bench_now_ns: CLOCK_MONOTONIC, in nanoseconds. */
static inline int64_t bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* roster__bench_sleep sleeps s seconds, all of them (resumed after a signal).
 */
void roster__bench_sleep(double s);

/* bench_rand: the next number of a xorshift64 stream; *state must not be
 * 0. Fixed seeds make every run of a program use the same data. */
static inline uint64_t bench_rand(uint64_t *state) {
  uint64_t x = *state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *state = x;
}

/* roster__bench_shuffle fills v with 0..n-1 in the order of a Fisher-Yates
 * shuffle drawn from *state. */
void roster__bench_shuffle(uint32_t *v, size_t n, uint64_t *state);

/* roster__bench_keep folds v into a volatile sink, so that the compiler keeps
 * the work that computed it. Any thread. */
void roster__bench_keep(uint64_t v);

/* ------------------------------------------------------------------ */
/* Threads started together                                            */

/* bench_sample: what one run did. */
typedef struct bench_sample {
  double wall;      /* seconds (at least 1e-9): first start to last end */
  double t0;        /* bench_now() at the first start */
  uint64_t ops;     /* operations, all threads together; 0: the run failed */
  uint64_t least;   /* the fewest operations one thread did */
  uint64_t errors;  /* the threads' errors together */
  uint64_t aux;     /* a count of the program's own (e.g. reloads meanwhile) */
  unsigned threads; /* how many threads ran */
} bench_sample;

/* bench_rate: operations per second of a run. */
static inline double bench_rate(const bench_sample *s) {
  return (double)s->ops / s->wall;
}

/* roster__bench_check counts a run's errors (wrong answers, failed calls) as
 * failures, with a line naming the run. */
void roster__bench_check(const bench_sample *s, const char *impl,
                         const char *op);

/* bench_ns_per_op: one thread's time per operation, in ns: wall x threads
 * / ops (at 1 thread, the latency; with perfect scaling it does not change
 * with the thread count). */
static inline double bench_ns_per_op(const bench_sample *s) {
  return s->wall * 1e9 * (double)(s->threads ? s->threads : 1) / (double)s->ops;
}

/* bench_thread: one thread of a run, handed to its body. The body reads
 * arg, id, threads and (counted runs) ops; does its untimed set-up (a first
 * call: roster registers a thread with RCU lazily); calls roster__bench_start;
 * runs its loop; and (optionally) calls bench_stop before an untimed clean-up.
 * It sets errors, sink and (timed runs) ops. */
typedef struct bench_thread {
  void *arg;        /* the run's argument */
  unsigned id;      /* 0 .. threads - 1 */
  unsigned threads; /* how many run together */
  uint64_t ops;     /* counted runs: to do; timed runs: the body's count */
  uint64_t errors;  /* set by the body: wrong answers, failed calls */
  uint64_t sink;    /* set by the body: its results folded together */
  double t0, t1;    /* set by roster__bench_start, bench_stop */
  /* The harness's: */
  pthread_barrier_t *go;
  atomic_bool stop;
  pthread_t tid;
} bench_thread;

typedef void (*bench_body)(bench_thread *t);

/* roster__bench_start waits until every thread of the run is ready, then reads
 * the clock: the timed part begins. */
void roster__bench_start(bench_thread *t);

/* bench_stop reads the clock: the timed part ends (when the body does not
 * call it, it ends when the body returns). */
static inline void bench_stop(bench_thread *t) { t->t1 = bench_now(); }

/* bench_running: whether a timed run (roster__bench_threads_for) goes on; the
 * body's loop condition. */
static inline bool bench_running(const bench_thread *t) {
  return !atomic_load_explicit(&t->stop, memory_order_relaxed);
}

/* roster__bench_threads runs body on threads threads, ops operations each (a
 * counted run); wall is from the first thread's start to the last one's
 * stop. ops in the sample is threads x ops. */
bench_sample roster__bench_threads(bench_body body, void *arg, unsigned threads,
                                   uint64_t ops);

/* roster__bench_threads_for runs body on threads threads for seconds (a timed
 * run): they start together, and bench_running turns false after that
 * long; wall is what the main thread measured from the start to the last
 * thread's end. ops in the sample is the bodies' counts together. */
bench_sample roster__bench_threads_for(bench_body body, void *arg,
                                       unsigned threads, double seconds);

/* ------------------------------------------------------------------ */
/* Calibration and repeats                                             */

/* bench_fn: one run of a measurement, ops operations (a counted run;
 * timed runs ignore it). A run that fails says so (roster__bench_fail) and
 * returns ops 0. */
typedef bench_sample (*bench_fn)(void *arg, uint64_t ops);

/* bench_case: one implementation on one workload, for roster__bench_measure. */
typedef struct bench_case {
  const char *impl;   /* "roster", or the baseline's name */
  const char *op;     /* the workload */
  size_t size;        /* entries, connections... (0: none) */
  bench_fn fn;        /* one run */
  void *arg;          /* fn's */
  uint64_t ops;       /* per run: from roster__bench_calibrate, or set */
  int runs;           /* out: the runs kept (those with ops > 0) */
  bench_sample best;  /* out: the run with the most operations per second */
  bench_sample worst; /* out: the one with the fewest */
} bench_case;

/* roster__bench_calibrate sets c->ops to the operations a run of about target_s
 * seconds needs: it grows a trial run from c->ops operations (16 when 0)
 * until it takes a tenth of the target, then scales. With tries > 1 it
 * makes that many runs at the size found and scales by the best rate (a
 * shared machine runs at two speeds, busy and idle: runs sized at the busy
 * one would be too short on the idle one). */
void roster__bench_calibrate(bench_case *c, double target_s, int tries);

/* roster__bench_measure runs each of the n cases repeats times, interleaved (a
 * round runs each case once, so a noisy moment of a shared machine falls
 * on all of them alike), and keeps each one's best and worst run. With
 * ROSTER_BENCH_VERBOSE set, every run's rate goes to stderr. */
void roster__bench_measure(bench_case *cases, size_t n, int repeats);

/* roster__bench_compare is what a row group does: calibrates each case to
 * target_s (when > 0; else each keeps its ops), measures them
 * (roster__bench_measure) and keeps each measured one's best in the result
 * store (roster__bench_add_case). */
void roster__bench_compare(bench_case *cases, size_t n, double target_s,
                           int repeats);

/* roster__bench_spread: (worst - best) / best of a case's time per operation, a
 * hint of how noisy the machine was; 0 without runs. */
double roster__bench_spread(const bench_case *c);

/* roster__bench_sort sorts v ascending; roster__bench_percentile reads the
 * p-quantile (0..1, nearest rank) of sorted values: 0 is the minimum, 0.5 the
 * median, 1 the maximum (0 when n is 0). */
void roster__bench_sort(double *v, size_t n);
double roster__bench_percentile(const double *sorted, size_t n, double p);

/* ------------------------------------------------------------------ */
/* Results, ratios, targets                                            */

/* bench_result: one reported measurement, kept for the ratios and the
 * targets printed after the rows. The strings must outlive the program's
 * use of the store (literals, in practice). */
typedef struct bench_result {
  const char *impl; /* "roster", or the baseline's name */
  const char *op;   /* the workload */
  unsigned threads; /* threads, clients or workers */
  size_t size;      /* entries, connections, services... (0: none) */
  double rate;      /* operations per second */
  double ns_per_op; /* one thread's time per operation */
  double value;     /* a figure of the program's own (ms, a ratio...) */
} bench_result;

/* roster__bench_add keeps a copy of r (dies past 256 results). */
void roster__bench_add(const bench_result *r);

/* roster__bench_add_case keeps a measured case's best run (its impl, op, size
 * and thread count). */
void roster__bench_add_case(const bench_case *c);

/* roster__bench_find: the first result with these fields (impl or op NULL:
 * any), or NULL. */
const bench_result *roster__bench_find(const char *impl, const char *op,
                                       unsigned threads, size_t size);

/* roster__bench_ratio: the rate of impl a over impl b on the same op, threads
 * and size (above 1: a is faster); 0 when either is missing. */
double roster__bench_ratio(const char *a, const char *b, const char *op,
                           unsigned threads, size_t size);

/* The targets summary, on roster__bench.out: roster__bench_targets opens it
 * ("Targets (informational; ...)" and the column heads); roster__bench_target
 * prints one target with its value and PASS or MISS (value NAN: n/a);
 * roster__bench_context one figure beside them without a goal, with decimals
 * digits. */
void roster__bench_targets(void);
void roster__bench_target(const char *what, double value, const char *unit,
                          const char *goal, bool pass);
void roster__bench_context(const char *what, double value, int decimals,
                           const char *unit);

#endif
