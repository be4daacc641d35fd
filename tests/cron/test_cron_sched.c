/*
 * test_cron_sched.c: the scheduler under a controllable clock.
 *
 * A fake clock (wall and monotonic time the test sets) drives the
 * scheduler: the test moves time, calls roster_sched_tick (the timer's
 * pass over the new time) and roster_sched_wait_idle (every run done, its
 * events delivered), then asserts on what the event callback recorded. No
 * test sleeps for real time. Covered: jobs fire exactly at their fire
 * times and never twice; late wakes, forward jumps (5 min-3 h and more)
 * and backward jumps; overlap policies; enable/disable and the enabled
 * predicate; run now; run on start; remove while running; slow warnings;
 * failures; jitter; per-job time zones; bad input.
 */
#include "testutil.h"

#include <stdlib.h>

#define WAIT 20000 /* a bound no correct build reaches, in ms */
#define S 1000000000LL

/* ---- the fake clock ----------------------------------------------- */

typedef struct fclock {
  _Atomic int64_t wall, mono;
} fclock;

static int64_t f_wall(void *a) { return atomic_load(&((fclock *)a)->wall); }
static int64_t f_mono(void *a) { return atomic_load(&((fclock *)a)->mono); }

static fclock clk;
static roster_sched_clock vclock = {f_wall, f_mono, &clk};

static int64_t t_of(const char *iso) {
  int64_t t;
  if (roster_time_parse(iso, NULL, &t) != ROSTER_OK) {
    print_error("bad time %s\n", iso);
    fail();
  }
  return t;
}

static void clock_set(const char *iso) {
  atomic_store(&clk.wall, t_of(iso) * S);
  atomic_store(&clk.mono, 1000 * S);
}

/* ---- recording events ---------------------------------------------- */

#define MAXEV 4096
typedef struct rec {
  roster_job_event_kind kind;
  roster_job_trigger trigger;
  char job[32];
  int64_t scheduled;
  int64_t wall_s; /* the fake wall clock when the event came */
  char detail[128];
} rec;

static pthread_mutex_t rec_mu = PTHREAD_MUTEX_INITIALIZER;
static rec recs[MAXEV];
static size_t nrec;

static void on_event(const roster_job_event *ev, void *arg) {
  (void)arg;
  pthread_mutex_lock(&rec_mu);
  if (nrec < MAXEV) {
    rec *r = &recs[nrec++];
    r->kind = ev->kind;
    r->trigger = ev->trigger;
    snprintf(r->job, sizeof r->job, "%s", ev->job);
    r->scheduled = ev->scheduled;
    r->wall_s = atomic_load(&clk.wall) / S;
    snprintf(r->detail, sizeof r->detail, "%s", ev->detail);
  }
  pthread_mutex_unlock(&rec_mu);
}

static void rec_reset(void) {
  pthread_mutex_lock(&rec_mu);
  nrec = 0;
  pthread_mutex_unlock(&rec_mu);
}

/* count: events of kind for job (NULL: any job). */
static size_t count(const char *job, roster_job_event_kind kind) {
  size_t n = 0;
  pthread_mutex_lock(&rec_mu);
  for (size_t i = 0; i < nrec; i++)
    if (recs[i].kind == kind && (!job || strcmp(recs[i].job, job) == 0))
      n++;
  pthread_mutex_unlock(&rec_mu);
  return n;
}

/* starts: the scheduled times of job's STARTED events, in order, as
 * "HH:MM:SS" UTC joined by spaces, with "!" before catch-ups, "s" for
 * START and "n" for NOW. */
static const char *starts(const char *job) {
  static char buf[4096];
  size_t len = 0;
  buf[0] = '\0';
  pthread_mutex_lock(&rec_mu);
  for (size_t i = 0; i < nrec; i++) {
    const rec *r = &recs[i];
    if (r->kind != ROSTER_JOB_STARTED || strcmp(r->job, job) != 0)
      continue;
    char t[16];
    if (r->trigger == ROSTER_TRIGGER_START)
      snprintf(t, sizeof t, "s");
    else if (r->trigger == ROSTER_TRIGGER_NOW)
      snprintf(t, sizeof t, "n");
    else {
      int64_t sod = ((r->scheduled % 86400) + 86400) % 86400;
      snprintf(t, sizeof t, "%s%02d:%02d:%02d",
               r->trigger == ROSTER_TRIGGER_CATCH_UP ? "!" : "",
               (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
    }
    len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", len ? " " : "",
                            t);
  }
  pthread_mutex_unlock(&rec_mu);
  return buf;
}

#define assert_starts(job, want)                                               \
  do {                                                                         \
    const char *got_ = starts(job);                                            \
    if (strcmp(got_, (want)) != 0) {                                           \
      print_error("%s:%d: job '%s' started at \"%s\", want \"%s\"\n",          \
                  __FILE__, __LINE__, (job), got_, (want));                    \
      fail();                                                                  \
    }                                                                          \
  } while (0)

/* ---- jobs ---------------------------------------------------------- */

typedef struct jstate {
  atomic_int calls;
  atomic_int inside, max_inside;
  tu_gate *gate;     /* if set, each run waits on it */
  int fail_code;     /* return this (with a detail) */
  atomic_int freed;  /* free_arg calls */
  atomic_bool allow; /* for the enabled predicate */
  atomic_llong started_wall_s;
} jstate;

static int job_fn(void *arg) {
  jstate *j = arg;
  atomic_fetch_add(&j->calls, 1);
  int in = atomic_fetch_add(&j->inside, 1) + 1;
  int m = atomic_load(&j->max_inside);
  while (in > m && !atomic_compare_exchange_weak(&j->max_inside, &m, in))
    ;
  atomic_store(&j->started_wall_s, atomic_load(&clk.wall) / S);
  if (j->gate)
    roster__tu_gate_wait(j->gate, WAIT);
  atomic_fetch_sub(&j->inside, 1);
  if (j->fail_code)
    return roster_error_set(j->fail_code, "the job broke on purpose");
  return ROSTER_OK;
}

static void job_free(void *arg) {
  atomic_fetch_add(&((jstate *)arg)->freed, 1);
}
static bool job_allowed(void *arg) {
  return atomic_load(&((jstate *)arg)->allow);
}

static roster_sched *new_sched(unsigned workers) {
  rec_reset();
  roster_sched_options o = {.workers = workers,
                            .tz = "UTC",
                            .clock = &vclock,
                            .on_event = on_event,
                            .seed = 42};
  roster_sched *s;
  assert_ok(roster_sched_new(&o, &s));
  return s;
}

/* step moves both clocks by secs, then lets the scheduler catch up. */
static void step(roster_sched *s, int64_t secs) {
  atomic_fetch_add(&clk.wall, secs * S);
  atomic_fetch_add(&clk.mono, secs * S);
  assert_ok(roster_sched_tick(s, WAIT));
  assert_ok(roster_sched_wait_idle(s, WAIT));
}

/* walk moves time forward secs seconds, one step of `by` at a time. */
static void walk(roster_sched *s, int64_t secs, int64_t by) {
  for (int64_t done = 0; done < secs; done += by)
    step(s, by);
}

/* jump moves only the wall clock (a clock set, or a suspend). */
static void jump(roster_sched *s, int64_t secs) {
  atomic_fetch_add(&clk.wall, secs * S);
  assert_ok(roster_sched_tick(s, WAIT));
  assert_ok(roster_sched_wait_idle(s, WAIT));
}

static roster_job_stats stats(roster_sched *s, const char *name) {
  roster_job_stats st;
  assert_ok(roster_sched_stats_get(s, name, &st));
  return st;
}

/* ---- tests --------------------------------------------------------- */

static void test_fires_exactly(void **state) {
  (void)state;
  clock_set("2026-01-01T00:00:30Z");
  roster_sched *s = new_sched(2);
  jstate a = {0}, b = {0};
  assert_ok(roster_sched_add(s, "quarter", "*/15 * * * *", job_fn, &a, NULL));
  /* queue: a minute's step brings three of its times due at once */
  assert_ok(
      roster_sched_add(s, "secs", "*/20 * * * * *", job_fn, &b,
                       &(roster_job_options){.overlap = ROSTER_OVERLAP_QUEUE}));
  assert_ok(roster_sched_start(s));
  assert_int_equal(stats(s, "quarter").next_run, t_of("2026-01-01T00:15:00Z"));
  walk(s, 14 * 60 + 29, 1); /* to 00:14:59 */
  assert_starts("quarter", "");
  step(s, 1); /* 00:15:00: on the second */
  assert_starts("quarter", "00:15:00");
  assert_int_equal(atomic_load(&a.started_wall_s),
                   t_of("2026-01-01T00:15:00Z"));
  walk(s, 45 * 60, 60); /* to 01:00:00, a minute at a time */
  assert_starts("quarter", "00:15:00 00:30:00 00:45:00 01:00:00");
  roster_job_stats st = stats(s, "quarter");
  assert_int_equal(st.runs, 4);
  assert_int_equal(st.failures, 0);
  assert_int_equal(st.next_run, t_of("2026-01-01T01:15:00Z"));
  assert_int_equal(st.last_start_unix_ms, t_of("2026-01-01T01:00:00Z") * 1000);
  /* the seconds job: every 20 s, none lost to minute-sized steps */
  assert_int_equal(stats(s, "secs").runs, (3600 - 30) / 20 + 1);
  /* a tick without time passing fires nothing again */
  size_t before = count(NULL, ROSTER_JOB_STARTED);
  step(s, 0);
  step(s, 0);
  assert_int_equal(count(NULL, ROSTER_JOB_STARTED), before);
  /* lateness: on the second it is 0; a step past a fire time shows */
  assert_int_equal(stats(s, "quarter").last_lateness_ns, 0);
  step(s, 25); /* 01:00:25: the 01:00:20 run of secs starts 5 s late */
  assert_int_equal(stats(s, "secs").last_lateness_ns, 5 * 1000000000LL);
  roster_sched_free(s);
}

static void test_late_wake_replays(void **state) {
  (void)state;
  clock_set("2026-01-01T00:00:30Z");
  roster_sched *s = new_sched(2);
  jstate a = {0};
  assert_ok(
      roster_sched_add(s, "every", "* * * * *", job_fn, &a,
                       &(roster_job_options){.overlap = ROSTER_OVERLAP_QUEUE}));
  assert_ok(roster_sched_start(s));
  step(s, 4 * 60); /* one wake, four minutes late: each minute once */
  assert_starts("every", "00:01:00 00:02:00 00:03:00 00:04:00");
  step(s, 60);
  assert_starts("every", "00:01:00 00:02:00 00:03:00 00:04:00 00:05:00");
  roster_sched_free(s);
}

static void test_forward_jumps(void **state) {
  (void)state;
  clock_set("2026-01-01T00:00:30Z");
  roster_sched *s = new_sched(2);
  jstate fx = {0}, wc = {0};
  /* fixed-time (no '*' at the start of minute or hour) and wildcard */
  assert_ok(roster_sched_add(s, "fixed", "5,35 0-23 * * *", job_fn, &fx, NULL));
  assert_ok(roster_sched_add(s, "wild", "5,35 * * * *", job_fn, &wc, NULL));
  assert_ok(roster_sched_start(s));
  jump(s, 3600);                       /* 01:00:30: missed 00:05 and 00:35 */
  assert_starts("fixed", "!00:35:00"); /* once, for all it missed */
  assert_starts("wild", "");           /* missed times are skipped */
  walk(s, 5 * 60, 60);                 /* 01:05:30 */
  assert_starts("fixed", "!00:35:00 01:05:00");
  assert_starts("wild", "01:05:00");

  /* a jump that lands in a minute the wildcard job fires in runs it */
  jump(s, 30 * 60); /* 01:35:30 */
  assert_starts("wild", "01:05:00 !01:35:00");
  assert_starts("fixed", "!00:35:00 01:05:00 !01:35:00");

  /* over 3 hours: nothing missed runs */
  jump(s, 5 * 3600); /* 06:35:30 */
  assert_starts("fixed", "!00:35:00 01:05:00 !01:35:00 !06:35:00");
  jump(s, 4 * 3600 + 60); /* 10:36:30 */
  assert_starts("fixed", "!00:35:00 01:05:00 !01:35:00 !06:35:00");
  assert_starts("wild", "01:05:00 !01:35:00 !06:35:00");
  walk(s, 30 * 60, 60); /* 11:06:30: back to normal */
  assert_starts("wild", "01:05:00 !01:35:00 !06:35:00 11:05:00");
  assert_int_equal(stats(s, "fixed").next_run, t_of("2026-01-01T11:35:00Z"));
  roster_sched_free(s);
}

static void test_backward_jumps(void **state) {
  (void)state;
  clock_set("2026-01-01T00:00:30Z");
  roster_sched *s = new_sched(2);
  jstate a = {0};
  assert_ok(roster_sched_add(s, "ten", "*/10 * * * *", job_fn, &a, NULL));
  assert_ok(roster_sched_start(s));
  walk(s, 30 * 60, 60); /* 00:30:30 */
  assert_starts("ten", "00:10:00 00:20:00 00:30:00");
  jump(s, -25 * 60);    /* back to 00:05:30 */
  walk(s, 30 * 60, 60); /* through 00:10 .. 00:30 again, to 00:35:30 */
  assert_starts("ten", "00:10:00 00:20:00 00:30:00"); /* none twice */
  walk(s, 5 * 60, 60);                                /* 00:40:30 */
  assert_starts("ten", "00:10:00 00:20:00 00:30:00 00:40:00");
  /* a job added while the clock is behind starts after the mark too */
  jstate b = {0};
  jump(s, -20 * 60); /* 00:20:30 */
  assert_ok(roster_sched_add(s, "late", "*/10 * * * *", job_fn, &b, NULL));
  assert_int_equal(stats(s, "late").next_run, t_of("2026-01-01T00:50:00Z"));
  walk(s, 30 * 60, 60); /* 00:50:30 */
  assert_starts("late", "00:50:00");
  assert_starts("ten", "00:10:00 00:20:00 00:30:00 00:40:00 00:50:00");

  /* over 3 hours back: the clock was wrong; schedules start again */
  jump(s, -5 * 3600); /* 2025-12-31T19:50:30 */
  walk(s, 10 * 60, 60);
  assert_starts("ten", "00:10:00 00:20:00 00:30:00 00:40:00 00:50:00 20:00:00");
  roster_sched_free(s);
}

static void test_overlap_skip_queue_allow(void **state) {
  (void)state;
  clock_set("2026-01-01T00:00:30Z");
  roster_sched *s = new_sched(4);
  tu_gate g1, g2, g3;
  roster__tu_gate_init(&g1);
  roster__tu_gate_init(&g2);
  roster__tu_gate_init(&g3);
  jstate sk = {.gate = &g1}, qu = {.gate = &g2}, al = {.gate = &g3};
  assert_ok(roster_sched_add(s, "skip", "* * * * *", job_fn, &sk, NULL));
  assert_ok(roster_sched_add(
      s, "queue", "* * * * *", job_fn, &qu,
      &(roster_job_options){.overlap = ROSTER_OVERLAP_QUEUE, .queue_max = 2}));
  assert_ok(
      roster_sched_add(s, "allow", "* * * * *", job_fn, &al,
                       &(roster_job_options){.overlap = ROSTER_OVERLAP_ALLOW}));
  assert_ok(roster_sched_start(s));
  for (int m = 0; m < 4; m++) { /* 00:01 .. 00:04, every run blocked */
    atomic_fetch_add(&clk.wall, 60 * S);
    atomic_fetch_add(&clk.mono, 60 * S);
    assert_ok(roster_sched_tick(s, WAIT));
  }
  tu_wait_until(atomic_load(&al.calls) == 2, WAIT);
  roster_job_stats st = stats(s, "skip");
  assert_int_equal(st.running, 1);
  assert_int_equal(st.skipped, 3);
  assert_int_equal(count("skip", ROSTER_JOB_SKIPPED), 3);
  st = stats(s, "queue");
  assert_int_equal(st.running, 1);
  assert_int_equal(st.waiting, 2); /* queue_max: the fourth is skipped */
  assert_int_equal(st.skipped, 1);
  /* allow: runs side by side, as far as the 4 workers go (2 are taken) */
  assert_int_equal(atomic_load(&al.calls), 2);
  assert_int_equal(atomic_load(&al.max_inside), 2);
  roster__tu_gate_open(&g1);
  roster__tu_gate_open(&g2);
  roster__tu_gate_open(&g3);
  assert_ok(roster_sched_wait_idle(s, WAIT));
  assert_starts("skip", "00:01:00");
  assert_starts("queue", "00:01:00 00:02:00 00:03:00"); /* in order */
  assert_int_equal(atomic_load(&qu.max_inside), 1);     /* never together */
  assert_int_equal(stats(s, "allow").runs, 4);
  pthread_mutex_lock(&rec_mu);
  bool why = false;
  for (size_t i = 0; i < nrec; i++)
    if (recs[i].kind == ROSTER_JOB_SKIPPED && !strcmp(recs[i].job, "skip"))
      why = strstr(recs[i].detail, "still going") != NULL;
  pthread_mutex_unlock(&rec_mu);
  assert_true(why);
  roster_sched_free(s);
}

static void test_enable_disable_predicate(void **state) {
  (void)state;
  clock_set("2026-01-01T00:00:30Z");
  roster_sched *s = new_sched(2);
  jstate a = {0}, p = {0};
  assert_ok(roster_sched_add(s, "a", "*/10 * * * *", job_fn, &a,
                             &(roster_job_options){.disabled = true}));
  assert_ok(roster_sched_add(s, "p", "*/10 * * * *", job_fn, &p,
                             &(roster_job_options){.enabled = job_allowed}));
  assert_ok(roster_sched_start(s));
  assert_false(stats(s, "a").enabled);
  assert_int_equal(stats(s, "a").next_run, 0);
  walk(s, 20 * 60, 60); /* 00:20:30 */
  assert_starts("a", "");
  assert_starts("p", ""); /* the predicate said no, twice */
  assert_int_equal(stats(s, "p").skipped, 2);
  assert_int_equal(count("p", ROSTER_JOB_SKIPPED), 2);
  assert_ok(roster_sched_enable(s, "a")); /* missed times are not run */
  assert_ok(roster_sched_enable(s, "a")); /* idempotent */
  atomic_store(&p.allow, true);
  assert_int_equal(stats(s, "a").next_run, t_of("2026-01-01T00:30:00Z"));
  walk(s, 10 * 60, 60);
  assert_starts("a", "00:30:00");
  assert_starts("p", "00:30:00");
  assert_ok(roster_sched_disable(s, "a"));
  walk(s, 10 * 60, 60);
  assert_starts("a", "00:30:00");
  assert_int_equal(stats(s, "a").runs, 1);
  assert_rc(roster_sched_enable(s, "nope"), ROSTER_ENOENT);
  assert_rc(roster_sched_disable(s, ""), ROSTER_EINVAL);
  roster_sched_free(s);
}

static void test_run_now_and_on_start(void **state) {
  (void)state;
  clock_set("2026-01-01T00:00:30Z");
  roster_sched *s = new_sched(2);
  tu_gate g;
  roster__tu_gate_init(&g);
  jstate a = {.gate = &g}, b = {0}, c = {0};
  assert_ok(roster_sched_add(s, "a", "0 0 1 1 *", job_fn, &a,
                             &(roster_job_options){.disabled = true}));
  assert_ok(roster_sched_add(s, "b", "0 0 1 1 *", job_fn, &b,
                             &(roster_job_options){.run_on_start = true}));
  assert_rc(roster_sched_run_now(s, "a"), ROSTER_ESTATE);
  assert_ok(roster_sched_start(s));
  assert_ok(roster_sched_wait_idle(s, WAIT));
  assert_starts("b", "s");
  /* run now: also for a disabled job; busy under the skip policy */
  assert_ok(roster_sched_run_now(s, "a"));
  tu_wait_until(atomic_load(&a.calls) == 1, WAIT);
  assert_rc(roster_sched_run_now(s, "a"), ROSTER_EBUSY);
  assert_contains(roster_last_error(), "job 'a' is busy");
  assert_int_equal(stats(s, "a").skipped, 0); /* the caller's answer */
  assert_int_equal(count("a", ROSTER_JOB_SKIPPED), 0);
  roster__tu_gate_open(&g);
  assert_ok(roster_sched_wait_idle(s, WAIT));
  assert_starts("a", "n");
  assert_int_equal(stats(s, "a").runs, 1);
  /* added to a running scheduler, run_on_start runs at once */
  assert_ok(roster_sched_add(s, "c", "0 0 1 1 *", job_fn, &c,
                             &(roster_job_options){.run_on_start = true}));
  assert_ok(roster_sched_wait_idle(s, WAIT));
  assert_starts("c", "s");
  assert_rc(roster_sched_run_now(s, "zzz"), ROSTER_ENOENT);
  roster_sched_free(s);
}

static void test_remove_while_running(void **state) {
  (void)state;
  clock_set("2026-01-01T00:00:30Z");
  roster_sched *s = new_sched(2);
  tu_gate g;
  roster__tu_gate_init(&g);
  jstate a = {.gate = &g}, b = {0};
  assert_ok(
      roster_sched_add(s, "job", "* * * * *", job_fn, &a,
                       &(roster_job_options){.free_arg = job_free,
                                             .overlap = ROSTER_OVERLAP_QUEUE}));
  assert_ok(roster_sched_start(s));
  atomic_fetch_add(&clk.wall, 60 * S);
  assert_ok(roster_sched_tick(s, WAIT));
  tu_wait_until(atomic_load(&a.calls) == 1, WAIT);
  atomic_fetch_add(&clk.wall, 60 * S); /* one more waits in its queue */
  assert_ok(roster_sched_tick(s, WAIT));
  assert_int_equal(stats(s, "job").waiting, 1);
  assert_ok(roster_sched_remove(s, "job"));
  assert_rc(roster_sched_stats_get(s, "job", &(roster_job_stats){0}),
            ROSTER_ENOENT);
  assert_int_equal(atomic_load(&a.freed), 0); /* still running */
  /* the name is free again */
  assert_ok(roster_sched_add(s, "job", "* * * * *", job_fn, &b, NULL));
  roster__tu_gate_open(&g);
  assert_ok(roster_sched_wait_idle(s, WAIT));
  assert_int_equal(atomic_load(&a.freed), 1);
  assert_int_equal(atomic_load(&a.calls), 1); /* the waiting run dropped */
  step(s, 60);
  assert_int_equal(atomic_load(&a.calls), 1);
  assert_int_equal(atomic_load(&b.calls), 1);
  assert_rc(roster_sched_remove(s, "job2"), ROSTER_ENOENT);
  roster_sched_free(s);
  assert_int_equal(atomic_load(&a.freed), 1);
}

static void test_slow_and_failed(void **state) {
  (void)state;
  clock_set("2026-01-01T00:00:30Z");
  roster_sched *s = new_sched(2);
  tu_gate g;
  roster__tu_gate_init(&g);
  jstate slow = {.gate = &g}, bad = {.fail_code = ROSTER_EIO};
  assert_ok(roster_sched_add(s, "slow", "* * * * *", job_fn, &slow,
                             &(roster_job_options){.timeout_ms = 5000}));
  assert_ok(roster_sched_add(s, "bad", "* * * * *", job_fn, &bad, NULL));
  assert_ok(roster_sched_start(s));
  atomic_fetch_add(&clk.wall, 30 * S);
  atomic_fetch_add(&clk.mono, 30 * S);
  assert_ok(roster_sched_tick(s, WAIT));
  tu_wait_until(atomic_load(&slow.calls) == 1, WAIT);
  assert_ok(roster_sched_tick(s, WAIT));
  assert_int_equal(count("slow", ROSTER_JOB_SLOW), 0);
  atomic_fetch_add(&clk.mono, 4 * S); /* 4 s into the run */
  assert_ok(roster_sched_tick(s, WAIT));
  assert_int_equal(count("slow", ROSTER_JOB_SLOW), 0);
  atomic_fetch_add(&clk.mono, 2 * S); /* 6 s: past its 5 s timeout */
  assert_ok(roster_sched_tick(s, WAIT));
  assert_ok(roster_sched_tick(s, WAIT));
  assert_int_equal(count("slow", ROSTER_JOB_SLOW), 1); /* once */
  roster__tu_gate_open(&g);
  assert_ok(roster_sched_wait_idle(s, WAIT));
  assert_int_equal(count("slow", ROSTER_JOB_FINISHED), 1);
  roster_job_stats st = stats(s, "bad");
  assert_int_equal(st.runs, 1);
  assert_int_equal(st.failures, 1);
  assert_int_equal(st.last_error, ROSTER_EIO);
  assert_int_equal(count("bad", ROSTER_JOB_FAILED), 1);
  pthread_mutex_lock(&rec_mu);
  for (size_t i = 0; i < nrec; i++)
    if (recs[i].kind == ROSTER_JOB_FAILED)
      assert_string_equal(recs[i].detail, "the job broke on purpose");
  pthread_mutex_unlock(&rec_mu);
  roster_sched_free(s);
}

static void test_jitter(void **state) {
  (void)state;
  clock_set("2026-01-01T00:00:00Z");
  roster_sched *s = new_sched(2);
  jstate a = {0};
  assert_ok(roster_sched_add(s, "j", "*/5 * * * *", job_fn, &a,
                             &(roster_job_options){.jitter_ms = 60000}));
  assert_ok(roster_sched_start(s));
  bool some_late = false;
  for (int k = 1; k <= 6; k++) {
    int64_t fire = t_of("2026-01-01T00:00:00Z") + k * 300;
    while (atomic_load(&clk.wall) / S + 10 < fire)
      step(s, 10);
    int before = atomic_load(&a.calls);
    for (int i = 0; i < 75 && atomic_load(&a.calls) == before; i++)
      step(s, 1);
    assert_int_equal(atomic_load(&a.calls), before + 1);
    int64_t late = atomic_load(&a.started_wall_s) - fire;
    assert_true(late >= 0 && late <= 60); /* within the jitter */
    some_late |= late > 0;
  }
  assert_true(some_late);
  assert_starts("j", "00:05:00 00:10:00 00:15:00 00:20:00 00:25:00 00:30:00");
  roster_sched_free(s);
}

static void test_job_time_zone(void **state) {
  (void)state;
  clock_set("2026-03-07T12:00:00Z");
  roster_sched *s = new_sched(2);
  jstate a = {0};
  assert_ok(roster_sched_add(s, "ny", "30 2 * * *", job_fn, &a,
                             &(roster_job_options){.tz = "America/New_York"}));
  roster_job_list l;
  assert_ok(roster_sched_list(s, &l));
  assert_int_equal(l.count, 1);
  assert_string_equal(l.items[0].tz, "America/New_York");
  assert_string_equal(l.items[0].expr, "30 2 * * *");
  roster_job_list_free(&l);
  assert_ok(roster_sched_start(s));
  walk(s, 2 * 86400, 300);
  /* 03-08 02:30 does not exist: the run comes at the jump, 07:00 UTC */
  pthread_mutex_lock(&rec_mu);
  int64_t got[4];
  size_t n = 0;
  for (size_t i = 0; i < nrec && n < 4; i++)
    if (recs[i].kind == ROSTER_JOB_STARTED)
      got[n++] = recs[i].scheduled;
  pthread_mutex_unlock(&rec_mu);
  assert_int_equal(n, 2);
  assert_int_equal(got[0], t_of("2026-03-08T07:00:00Z"));
  assert_int_equal(got[1], t_of("2026-03-09T06:30:00Z"));
  roster_sched_free(s);
}

/* A job that calls back into its own scheduler: stop and wait_idle
 * would wait for the job itself, so they refuse. */
static roster_sched *self_s;
static atomic_int self_stop_rc, self_idle_rc, self_tick_rc, self_list_rc;
static int self_job(void *arg) {
  (void)arg;
  atomic_store(&self_stop_rc, roster_sched_stop(self_s, 1000));
  atomic_store(&self_idle_rc, roster_sched_wait_idle(self_s, 1000));
  atomic_store(&self_tick_rc, roster_sched_tick(self_s, 1000));
  roster_job_list l;
  atomic_store(&self_list_rc, roster_sched_list(self_s, &l));
  roster_job_list_free(&l);
  return ROSTER_OK;
}

static void test_calls_from_own_job(void **state) {
  (void)state;
  clock_set("2026-01-01T00:00:00Z");
  self_s = new_sched(1);
  assert_ok(roster_sched_add(self_s, "self", "@daily", self_job, NULL, NULL));
  assert_ok(roster_sched_start(self_s));
  assert_ok(roster_sched_run_now(self_s, "self"));
  assert_ok(roster_sched_wait_idle(self_s, WAIT));
  assert_int_equal(atomic_load(&self_stop_rc), ROSTER_ESTATE);
  assert_int_equal(atomic_load(&self_idle_rc), ROSTER_ESTATE);
  assert_int_equal(atomic_load(&self_tick_rc), ROSTER_ESTATE);
  assert_int_equal(atomic_load(&self_list_rc), ROSTER_OK);
  assert_int_equal(stats(self_s, "self").runs, 1); /* still running */
  assert_ok(roster_sched_run_now(self_s, "self"));
  assert_ok(roster_sched_wait_idle(self_s, WAIT));
  assert_int_equal(stats(self_s, "self").runs, 2);
  roster_sched_free(self_s);
}

static void test_bad_input(void **state) {
  (void)state;
  clock_set("2026-01-01T00:00:00Z");
  roster_sched *s = new_sched(1);
  jstate a = {0};
  assert_rc(roster_sched_add(s, "x", "* * * * *", NULL, &a, NULL),
            ROSTER_EINVAL);
  assert_rc(roster_sched_add(NULL, "x", "* * * * *", job_fn, &a, NULL),
            ROSTER_EINVAL);
  assert_rc(roster_sched_add(s, "", "* * * * *", job_fn, &a, NULL),
            ROSTER_EINVAL);
  assert_rc(roster_sched_add(s, NULL, "* * * * *", job_fn, &a, NULL),
            ROSTER_EINVAL);
  char big[300];
  memset(big, 'n', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  assert_rc(roster_sched_add(s, big, "* * * * *", job_fn, &a, NULL),
            ROSTER_EINVAL);
  assert_rc(roster_sched_add(s, "x", "0 0 32 * *", job_fn, &a, NULL),
            ROSTER_EINVAL);
  assert_contains(roster_last_error(), "job 'x'");
  assert_contains(roster_last_error(), "column 5");
  assert_rc(roster_sched_add(s, "x", NULL, job_fn, &a, NULL), ROSTER_EINVAL);
  assert_rc(roster_sched_add(s, "x", "0 0 30 2 *", job_fn, &a, NULL),
            ROSTER_EINVAL);
  assert_contains(roster_last_error(), "never fires");
  assert_rc(roster_sched_add(s, "x", "* * * * *", job_fn, &a,
                             &(roster_job_options){.tz = "Nowhere/Land"}),
            ROSTER_ENOENT);
  assert_contains(roster_last_error(), "job 'x'");
  assert_rc(roster_sched_add(s, "x", "* * * * *", job_fn, &a,
                             &(roster_job_options){.timeout_ms = -1}),
            ROSTER_EINVAL);
  assert_rc(roster_sched_add(s, "x", "* * * * *", job_fn, &a,
                             &(roster_job_options){.overlap = 7}),
            ROSTER_EINVAL);
  assert_rc(roster_sched_add(s, "x", "* * * * *", job_fn, &a,
                             &(roster_job_options){.jitter_ms = -5}),
            ROSTER_EINVAL);
  /* nothing was added, and free_arg was never called */
  roster_job_list l;
  assert_ok(roster_sched_list(s, &l));
  assert_int_equal(l.count, 0);
  roster_job_list_free(&l);
  assert_ok(roster_sched_add(s, "x", "* * * * *", job_fn, &a,
                             &(roster_job_options){.free_arg = job_free}));
  assert_rc(roster_sched_add(s, "x", "* * * * *", job_fn, &a,
                             &(roster_job_options){.free_arg = job_free}),
            ROSTER_EEXIST);
  assert_int_equal(atomic_load(&a.freed), 0);
  assert_rc(roster_sched_tick(s, 100), ROSTER_ESTATE); /* not started */
  assert_ok(roster_sched_start(s));
  assert_rc(roster_sched_start(s), ROSTER_ESTATE);
  assert_ok(roster_sched_stop(s, WAIT));
  assert_ok(roster_sched_stop(s, WAIT));
  assert_rc(roster_sched_start(s), ROSTER_ESTATE);
  assert_rc(roster_sched_add(s, "y", "* * * * *", job_fn, &a, NULL),
            ROSTER_ESTATE);
  assert_int_equal(stats(s, "x").next_run, 0);
  roster_sched_free(s);
  assert_int_equal(atomic_load(&a.freed), 1);

  roster_sched *t = (roster_sched *)&t;
  assert_rc(roster_sched_new(&(roster_sched_options){.workers = 65}, &t),
            ROSTER_EINVAL);
  assert_null(t);
  assert_rc(roster_sched_new(&(roster_sched_options){.tz = "Bad/Zone"}, &t),
            ROSTER_ENOENT);
  roster_sched_clock half = {f_wall, NULL, &clk};
  assert_rc(roster_sched_new(&(roster_sched_options){.clock = &half}, &t),
            ROSTER_EINVAL);
  assert_rc(roster_sched_new(NULL, NULL), ROSTER_EINVAL);
  roster_sched_free(NULL);
  assert_string_equal(roster_job_event_name(ROSTER_JOB_SLOW), "slow");
  assert_string_equal(roster_job_trigger_name(ROSTER_TRIGGER_CATCH_UP),
                      "catch-up");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fires_exactly),
      cmocka_unit_test(test_late_wake_replays),
      cmocka_unit_test(test_forward_jumps),
      cmocka_unit_test(test_backward_jumps),
      cmocka_unit_test(test_overlap_skip_queue_allow),
      cmocka_unit_test(test_enable_disable_predicate),
      cmocka_unit_test(test_run_now_and_on_start),
      cmocka_unit_test(test_remove_while_running),
      cmocka_unit_test(test_slow_and_failed),
      cmocka_unit_test(test_jitter),
      cmocka_unit_test(test_job_time_zone),
      cmocka_unit_test(test_calls_from_own_job),
      cmocka_unit_test(test_bad_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
