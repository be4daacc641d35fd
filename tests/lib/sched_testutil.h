/*
 * sched_testutil.h: what the tests that run several schedulers as the
 * nodes of a cluster share (tests/cron/test_cron_cluster.c with a claim
 * table of its own, tests/etcd/test_etcd_cron.c on etcd): one fake clock
 * every node reads, and a ledger of the runs each node finished and of
 * the ticks skipped. Header-only; one test program's state each.
 *
 * A node passes, as its scheduler's event_arg, a pointer to its int id
 * (the first member of the test's node struct), so tu_on_event knows
 * whose run it records. The ledger is thread-safe (workers report); the
 * rest is for the test thread.
 */
#ifndef ROSTER_SCHED_TESTUTIL_H
#define ROSTER_SCHED_TESTUTIL_H

#include "testutil.h"

#include <stdatomic.h>
#include <string.h>

#include <roster/cron.h>

#define TU_S 1000000000LL /* one second, in the clock's ns */

/* ---- the fake clock ---------------------------------------------------- */

typedef struct tu_fclock {
  _Atomic int64_t wall, mono;
} tu_fclock;

static inline int64_t tu_f_wall(void *a) {
  return atomic_load(&((tu_fclock *)a)->wall);
}
static inline int64_t tu_f_mono(void *a) {
  return atomic_load(&((tu_fclock *)a)->mono);
}

static tu_fclock tu_clk;
static roster_sched_clock tu_vclock = {tu_f_wall, tu_f_mono, &tu_clk};

/* tu_clock_set puts the wall clock at unix_s and the monotonic one at an
 * arbitrary 1000 s. */
static inline void tu_clock_set(int64_t unix_s) {
  atomic_store(&tu_clk.wall, unix_s * TU_S);
  atomic_store(&tu_clk.mono, 1000 * TU_S);
}

/* tu_clock_add moves both clocks secs seconds. */
static inline void tu_clock_add(int64_t secs) {
  atomic_fetch_add(&tu_clk.wall, secs * TU_S);
  atomic_fetch_add(&tu_clk.mono, secs * TU_S);
}

/* ---- the ledger of runs ------------------------------------------------ */

typedef struct tu_run {
  char job[32];
  int64_t tick; /* the run's scheduled time (0: by hand, at start) */
  int node;
} tu_run;

#define TU_LEDGER_MAX 4096
static pthread_mutex_t tu_led_mu = PTHREAD_MUTEX_INITIALIZER;
static tu_run tu_ledger[TU_LEDGER_MAX];
static size_t tu_led_n;
static atomic_int tu_skips;      /* SKIPPED events, every node */
static char tu_skip_detail[512]; /* the last one's detail */

static inline void tu_ledger_reset(void) {
  pthread_mutex_lock(&tu_led_mu);
  tu_led_n = 0;
  tu_skip_detail[0] = '\0';
  atomic_store(&tu_skips, 0);
  pthread_mutex_unlock(&tu_led_mu);
}

/* tu_on_event is a node's on_event: FINISHED runs go to the ledger,
 * SKIPPED ones are counted with their detail. arg: the node's int id. */
static inline void tu_on_event(const roster_job_event *ev, void *arg) {
  int node = *(const int *)arg;
  pthread_mutex_lock(&tu_led_mu);
  if (ev->kind == ROSTER_JOB_FINISHED && tu_led_n < TU_LEDGER_MAX) {
    tu_run *e = &tu_ledger[tu_led_n++];
    snprintf(e->job, sizeof e->job, "%s", ev->job);
    e->tick = ev->scheduled;
    e->node = node;
  }
  if (ev->kind == ROSTER_JOB_SKIPPED) {
    snprintf(tu_skip_detail, sizeof tu_skip_detail, "%s", ev->detail);
    atomic_fetch_add(&tu_skips, 1);
  }
  pthread_mutex_unlock(&tu_led_mu);
}

/* tu_runs_of counts the ledger's runs of job for tick on node (-1: any). */
static inline int tu_runs_of(const char *job, int64_t tick, int node) {
  int c = 0;
  pthread_mutex_lock(&tu_led_mu);
  for (size_t i = 0; i < tu_led_n; i++)
    if (strcmp(tu_ledger[i].job, job) == 0 && tu_ledger[i].tick == tick &&
        (node < 0 || tu_ledger[i].node == node))
      c++;
  pthread_mutex_unlock(&tu_led_mu);
  return c;
}

#endif /* ROSTER_SCHED_TESTUTIL_H */
