/*
 * bench_cron.c: how fast roster_cron_next and roster_cron_prev are, and
 * how late the scheduler starts a job after its fire time.
 *
 *   - next / prev: for each expression and zone, 4,096 start instants
 *     spread over 2026-2027 (a fixed-seed PRNG); ns per call, the best of
 *     3 timed passes. Beside it, in the same run, the baseline: a naive
 *     search that walks instants a minute (a second, for expressions with
 *     seconds) at a time and tests each one's local time against the
 *     parsed fields, as a cron daemon that wakes every minute does. For UTC
 *     the naive answer must equal roster's (else the exit code is 1).
 *   - fire_delay: a scheduler on the real clock runs J jobs that fire
 *     every second ("* * * * * *") for D seconds; the delay is the wall
 *     clock when a run starts (its STARTED event, on the worker) minus
 *     its fire time. Percentiles over all runs. The baseline, measured at
 *     the same time: one thread sleeping with clock_nanosleep(TIMER_ABSTIME)
 *     to each half second of CLOCK_REALTIME (between the fire times), and
 *     how late it wakes: the machine's own timer latency, which the
 *     scheduler (a timer thread, then a worker) cannot beat.
 *
 * A program, not a test: the target (next <= 1 us for ordinary
 * expressions) is printed as PASS or MISS and the exit code is 0 unless a
 * call fails or the baseline disagrees. See bench/README.md.
 */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

#include "cron/cron_impl.h" /* the baseline tests the parsed fields */

#define STARTS 4096

typedef struct settings {
  double pass_s;  /* target time of one timed pass */
  double naive_s; /* time budget of the baseline per expression */
  int delay_s;    /* fire_delay run length */
} settings;

static settings S = {.pass_s = 0.1, .naive_s = 0.3, .delay_s = 10};

static int64_t wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what) {
  roster__bench_die("%s: %s", what, roster_last_error());
}

static uint64_t rng = 0x63726f6e62656e63ull; /* "cronbenc" */

/* ---- next / prev ---------------------------------------------------- */

typedef struct row {
  const char *expr;
  bool ordinary; /* counts for the 1 us target */
} row;

static const row rows[] = {
    {"*/5 * * * *", true},  {"0 0 * * *", true},
    {"30 2 * * 1-5", true}, {"*/15 9-17 * * mon-fri", true},
    {"0 */2 * * *", true},  {"15 3 1 * *", true},
    {"@yearly", true},      {"*/10 * * * * *", true},
    {"0 0 */2 * 1", true},  {"0 0 13 * fri", true},
    {"0 12 29 2 *", false}, /* leap days: years apart */
};
static const char *const zones[] = {"UTC", "America/New_York",
                                    "Australia/Lord_Howe"};

static bool match_local(const roster_cron *c, int64_t L) {
  int64_t days = L / RC_DAY - (L % RC_DAY < 0), sod = L - days * RC_DAY, y;
  unsigned m, d;
  roster__cron_civil_from_days(days, &y, &m, &d);
  unsigned wd = roster__cron_weekday(days);
  bool dom = (c->dom >> d) & 1, dow = (c->dow >> wd) & 1;
  bool day =
      (c->flags & (RC_DOM_STAR | RC_DOW_STAR)) ? (dom && dow) : (dom || dow);
  return ((c->month >> m) & 1) && day && ((c->hour >> (sod / 3600)) & 1) &&
         ((c->min >> (sod / 60 % 60)) & 1) && ((c->sec >> (sod % 60)) & 1);
}

/* naive_next: the first instant after t whose local time matches, by
 * walking (no DST rule: only a cost baseline, and exact in UTC). */
static int64_t naive_next(const roster_cron *c, const roster_tz *z, int64_t t) {
  int64_t step = (c->flags & RC_SECONDS) ? 1 : 60;
  for (int64_t u = (t / step + 1) * step;; u += step)
    if (match_local(c, u + roster_tz_offset(z, u)))
      return u;
}

typedef struct pass_arg {
  const roster_cron *c;
  const roster_tz *z;
  const int64_t *starts;
  bool prev;
} pass_arg;

/* pass_run (a bench_fn): reps passes of next (or prev) over the starts. */
static bench_sample pass_run(void *arg, uint64_t reps) {
  const pass_arg *a = arg;
  double t0 = bench_now();
  int64_t acc = 0;
  for (uint64_t r = 0; r < reps; r++)
    for (size_t i = 0; i < STARTS; i++) {
      int64_t out;
      int rc = a->prev ? roster_cron_prev(a->c, a->starts[i], a->z, &out)
                       : roster_cron_next(a->c, a->starts[i], a->z, &out);
      if (rc != ROSTER_OK)
        die(a->prev ? "roster_cron_prev" : "roster_cron_next");
      acc += out;
    }
  roster__bench_keep((uint64_t)acc);
  return (bench_sample){
      .wall = bench_now() - t0, .ops = reps * STARTS, .threads = 1};
}

/* best_of_3: ns per call, the best of 3 passes sized to S.pass_s. */
static double best_of_3(const roster_cron *c, const roster_tz *z,
                        const int64_t *starts, bool prev) {
  pass_arg a = {c, z, starts, prev};
  bench_case k = {.impl = "roster",
                  .op = prev ? "prev" : "next",
                  .size = 0,
                  .fn = pass_run,
                  .arg = &a,
                  .ops = 1};
  roster__bench_calibrate(&k, S.pass_s, 1);
  roster__bench_measure(&k, 1, 3);
  return bench_ns_per_op(&k.best);
}

static double g_worst_ordinary;

static void bench_next(void) {
  static int64_t starts[STARTS];
  int64_t lo = 1767225600LL; /* 2026-01-01 */
  for (size_t i = 0; i < STARTS; i++)
    starts[i] = lo + (int64_t)(bench_rand(&rng) % (2u * 365 * 86400));
  if (!roster__bench.json)
    fprintf(roster__bench.out, "%-4s %-24s %-20s %10s %14s %9s\n", "op", "expr",
            "tz", "ns/op", "naive ns/op", "speedup");
  for (size_t zi = 0; zi < sizeof zones / sizeof zones[0]; zi++) {
    const roster_tz *z;
    if (roster_tz_get(zones[zi], &z) != ROSTER_OK)
      die("roster_tz_get");
    for (size_t ri = 0; ri < sizeof rows / sizeof rows[0]; ri++) {
      roster_cron *c;
      if (roster_cron_parse(rows[ri].expr, &c, NULL) != ROSTER_OK)
        die("roster_cron_parse");
      /* the baseline, as many calls as fit its budget (at least one) */
      size_t calls = 0;
      int64_t t0 = bench_now_ns(), budget = (int64_t)(S.naive_s * 1e9);
      while (calls < STARTS && (calls == 0 || bench_now_ns() - t0 < budget)) {
        int64_t want = naive_next(c, z, starts[calls]), got;
        if (zi == 0 &&
            (roster_cron_next(c, starts[calls], z, &got) != ROSTER_OK ||
             got != want)) {
          roster__bench_fail(1, "'%s' after %lld: roster %lld, naive %lld",
                             rows[ri].expr, (long long)starts[calls],
                             (long long)got, (long long)want);
        }
        calls++;
      }
      double naive = (double)(bench_now_ns() - t0) / (double)calls;
      for (int op = 0; op < 2; op++) {
        double ns = best_of_3(c, z, starts, op == 1);
        if (op == 0 && rows[ri].ordinary && ns > g_worst_ordinary)
          g_worst_ordinary = ns;
        const char *name = op ? "prev" : "next";
        if (roster__bench.json)
          printf("{\"op\":\"%s\",\"expr\":\"%s\",\"tz\":\"%s\","
                 "\"ns_per_op\":%.1f,\"baseline\":\"minute_walk\","
                 "\"baseline_ns_per_op\":%.1f,\"speedup\":%.1f,"
                 "\"baseline_calls\":%zu}\n",
                 name, rows[ri].expr, zones[zi], ns, naive, naive / ns, calls);
        else
          fprintf(roster__bench.out, "%-4s %-24s %-20s %10.1f %14.0f %8.0fx\n",
                  name, rows[ri].expr, zones[zi], ns, naive, naive / ns);
      }
      roster_cron_free(c);
    }
  }
}

/* ---- fire delay ----------------------------------------------------- */

/* samples: delays in us, added from several threads. */
typedef struct samples {
  pthread_mutex_t mu;
  double *v;
  size_t n, cap;
} samples;

static void add_sample(samples *s, int64_t ns) {
  pthread_mutex_lock(&s->mu);
  if (s->n < s->cap)
    s->v[s->n++] = (double)ns / 1000.0;
  pthread_mutex_unlock(&s->mu);
}

static double pct(const samples *s, double p) {
  return roster__bench_percentile(s->v, s->n, p);
}

static void on_event(const roster_job_event *ev, void *arg) {
  if (ev->kind == ROSTER_JOB_STARTED && ev->trigger == ROSTER_TRIGGER_SCHEDULE)
    add_sample(arg, wall_ns() - ev->scheduled * 1000000000LL);
}

static int noop_job(void *arg) {
  (void)arg;
  return ROSTER_OK;
}

/* sleeper: the baseline, running beside the scheduler so both see the
 * same machine: it wakes at each half second (x.5 s), between the
 * scheduler's fire times, and records how late. */
typedef struct sleeper {
  samples *s;
  int seconds;
} sleeper;

static void *sleep_baseline(void *arg) {
  sleeper *sl = arg;
  int64_t next = wall_ns() / 1000000000LL + 1;
  for (int i = 0; i < sl->seconds; i++, next++) {
    struct timespec ts = {.tv_sec = (time_t)next, .tv_nsec = 500000000};
    while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) != 0)
      ;
    add_sample(sl->s, wall_ns() - (next * 1000000000LL + 500000000));
  }
  return NULL;
}

static void bench_delay(unsigned jobs) {
  size_t cap = (size_t)jobs * (size_t)(S.delay_s + 2);
  samples base = {PTHREAD_MUTEX_INITIALIZER,
                  roster__bench_xcalloc((size_t)S.delay_s + 2, sizeof(double)),
                  0, (size_t)S.delay_s + 2};
  samples got = {PTHREAD_MUTEX_INITIALIZER,
                 roster__bench_xcalloc(cap, sizeof(double)), 0, cap};

  roster_sched *s;
  roster_sched_options o = {
      .tz = "UTC", .on_event = on_event, .event_arg = &got};
  if (roster_sched_new(&o, &s) != ROSTER_OK)
    die("roster_sched_new");
  for (unsigned j = 0; j < jobs; j++) {
    char name[32];
    snprintf(name, sizeof name, "job-%u", j);
    if (roster_sched_add(s, name, "* * * * * *", noop_job, NULL, NULL) !=
        ROSTER_OK)
      die("roster_sched_add");
  }
  if (roster_sched_start(s) != ROSTER_OK)
    die("roster_sched_start");
  sleeper sl = {&base, S.delay_s};
  pthread_t bt;
  if (pthread_create(&bt, NULL, sleep_baseline, &sl) != 0)
    die("pthread_create");
  struct timespec ts = {.tv_sec = S.delay_s, .tv_nsec = 200000000};
  nanosleep(&ts, NULL);
  pthread_join(bt, NULL);
  if (roster_sched_stop(s, 10000) != ROSTER_OK)
    die("roster_sched_stop");
  roster_sched_free(s);
  roster__bench_sort(got.v, got.n);
  roster__bench_sort(base.v, base.n);
  if (got.n == 0)
    roster__bench_fail(1, "fire_delay: no run started");
  /* the scheduler's p50, p90, p99, max; the baseline's p50, p99, max */
  double v[7] = {pct(&got, 0.5), pct(&got, 0.9),  pct(&got, 0.99),
                 pct(&got, 1.0), pct(&base, 0.5), pct(&base, 0.99),
                 pct(&base, 1.0)};
  if (roster__bench.json)
    printf("{\"op\":\"fire_delay\",\"jobs\":%u,\"seconds\":%d,"
           "\"samples\":%zu,\"p50_us\":%.1f,\"p90_us\":%.1f,"
           "\"p99_us\":%.1f,\"max_us\":%.1f,\"baseline\":\"clock_nanosleep\","
           "\"baseline_p50_us\":%.1f,\"baseline_p99_us\":%.1f,"
           "\"baseline_max_us\":%.1f}\n",
           jobs, S.delay_s, got.n, v[0], v[1], v[2], v[3], v[4], v[5], v[6]);
  else
    fprintf(roster__bench.out,
            "fire_delay  %2u jobs x %d s: %zu runs, p50 %.0f us, p90 %.0f "
            "us, p99 %.0f us, max %.0f us (clock_nanosleep alone: p50 %.0f "
            "us, p99 %.0f us, max %.0f us)\n",
            jobs, S.delay_s, got.n, v[0], v[1], v[2], v[3], v[4], v[5], v[6]);
  free(base.v);
  free(got.v);
}

static int g_seconds; /* --seconds N, 0 when not given */

/* seconds_opt parses --seconds N (the fire_delay run length). */
static int seconds_opt(int argc, char **argv, int i) {
  if (strcmp(argv[i], "--seconds") != 0)
    return 0;
  if (i + 1 >= argc || atoi(argv[i + 1]) <= 0)
    return -1;
  g_seconds = atoi(argv[i + 1]);
  return 2;
}

static const bench_spec spec = {
    .prog = "roster-bench-cron",
    .about = "  Measures roster_cron_next and roster_cron_prev beside a\n"
             "  minute-walk baseline, and how late the scheduler starts a job\n"
             "  beside clock_nanosleep's own wake-up delay.\n",
    .quick = "short passes, 2 s delay runs (smoke test)",
    .more_usage = " [--seconds N]",
    .more_help = "  --seconds N  length of each fire_delay run (default 10)\n",
    .more = seconds_opt,
};

int main(int argc, char **argv) {
  roster__bench_init(&spec, argc, argv);
  if (roster__bench.quick) {
    S.pass_s = 0.005;
    S.naive_s = 0.02;
    S.delay_s = 2;
  }
  if (g_seconds)
    S.delay_s = g_seconds;
  fprintf(roster__bench.out, "%s, seed 0x%016llx%s\n", roster__bench.prog,
          (unsigned long long)rng, roster__bench.quick ? " (quick)" : "");
  bench_next();
  bench_delay(1);
  bench_delay(16);
  roster__bench_targets();
  roster__bench_target("roster_cron_next, worst ordinary expression",
                       g_worst_ordinary, " ns", "<= 1000",
                       g_worst_ordinary <= 1000);
  return roster__bench_finish();
}
