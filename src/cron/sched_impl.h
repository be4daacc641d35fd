/*
 * sched_impl.h: the scheduler's internals, shared by sched.c (the API),
 * sched_timer.c (the timer thread and the clock rules), sched_worker.c
 * (the workers, dispatch and events) and sched_service.c (the registry
 * type and provider).
 *
 * One mutex per scheduler guards everything below; no user function (a
 * job, its enabled predicate, free_arg, the event callback) ever runs with
 * it held. Three condition variables, all on CLOCK_MONOTONIC: timer_cv
 * wakes the timer (a change, a tick request, stop), work_cv the workers,
 * done_cv whoever waits for a tick, for idleness or for workers to exit.
 */
#ifndef ROSTER_SCHED_IMPL_H
#define ROSTER_SCHED_IMPL_H

#include <pthread.h>
#include <stdatomic.h>

#include "cron_impl.h"

#define RS_NONE INT64_MIN /* no next fire time */
#define RS_NS 1000000000LL
#define RS_MS 1000000LL
#define RS_MAX_SLEEP_NS                                                        \
  (60 * RS_NS)                         /* the timer looks at the clock at      \
                                          least this often */
#define RS_SMALL_NS (5 * 60 * RS_NS)   /* Vixie cron's "woke up late" */
#define RS_LARGE_NS (3 * 3600 * RS_NS) /* ...and its "clock jumped" */

typedef struct rs_job rs_job;

/* rs_run: a run waiting, in the pool's queue or a job's wait list. */
typedef struct rs_run {
  struct rs_run *next;
  rs_job *job;
  roster_job_trigger trigger;
  int64_t scheduled;
} rs_run;

/* rs_active: a run in progress, on its worker's stack, linked into
 * s->active for the timer's slow check. */
typedef struct rs_active {
  struct rs_active *next;
  rs_job *job;
  int64_t start_mono;
  int64_t slow_at; /* monotonic ns, INT64_MAX for no timeout */
  bool slow_told;
  roster_job_trigger trigger;
  int64_t scheduled;
} rs_active;

struct rs_job {
  rs_job *next; /* s->jobs, sorted by name */
  char *name;
  roster_cron *cron;
  const roster_tz *tz;
  roster_job_fn fn;
  void *arg;
  roster_job_enabled_fn enabled_fn;
  void (*free_arg)(void *);
  roster_overlap overlap;
  unsigned queue_max;
  int64_t timeout_ns; /* 0: none */
  int64_t jitter_ns;  /* 0: none */
  bool run_on_start;
  bool local;    /* never claimed (cluster mode) */
  bool wildcard; /* rc_wildcard(cron) */
  bool enabled;
  bool removed;     /* out of s->jobs; freed when no run holds it */
  int64_t next_at;  /* next fire time (s), RS_NONE if none */
  int64_t due_ns;   /* when it is due: next_at plus its jitter */
  unsigned running; /* runs in progress */
  unsigned in_pool; /* runs in the pool's queue */
  rs_run *wait_head, *wait_tail; /* QUEUE: runs waiting for the last */
  unsigned waiting;
  uint64_t runs, failures, skipped;
  uint64_t elsewhere; /* ticks another node claimed */
  int64_t last_start_ms, last_end_ms, last_duration_ns;
  int64_t last_lateness_ns; /* start - fire time, scheduled runs */
  int last_error;
};

typedef struct rs_worker {
  struct roster_sched *s;
  pthread_t thread;
  bool busy;   /* running a job (under s->mu) */
  bool done;   /* left its loop (under s->mu) */
  bool orphan; /* the stop gave up on it: it frees itself */
} rs_worker;

enum { RS_NEW, RS_STARTED, RS_STOPPING, RS_STOPPED };

struct roster_sched {
  pthread_mutex_t mu;
  pthread_cond_t timer_cv, work_cv, done_cv;
  int state; /* RS_* */
  rs_job *jobs;
  rs_run *q_head, *q_tail; /* the pool's queue, FIFO */
  rs_active *active;
  size_t busy; /* runs waiting anywhere or running */
  unsigned nworkers;
  rs_worker **workers; /* nworkers, until stop */
  pthread_t timer;
  bool timer_started;
  bool dirty;        /* jobs changed since the timer's last pass */
  atomic_bool quiet; /* a stop gave up: late runs report nothing */
  unsigned refs;     /* 1 for the owner + 1 per orphaned worker */
  int64_t mark_ns;   /* wall time the timer has handled up to */
  uint64_t tick_req, tick_done;
  bool custom_clock;
  roster_sched_clock clock;
  const roster_tz *tz;
  roster_job_event_fn on_event;
  void *event_arg;
  roster_sched_claim_fn claim; /* cluster mode, or NULL */
  void *claim_arg;
  roster_log *log; /* a child of opts.log, or NULL */
  int64_t stop_timeout_ms;
  uint64_t rng;
};

/* ---- sched_timer.c ---- */
void *roster__sched_timer_main(void *arg);
/* roster__sched_schedule sets j's next fire time to the first after `after_s`
 * (with a fresh jitter), or RS_NONE. Under s->mu. */
void roster__sched_schedule(roster_sched *s, rs_job *j, int64_t after_s);
/* roster__sched_from_s: the time new and re-enabled jobs are scheduled from:
 * now, or the timer's mark after a backward clock step (no minute fires twice).
 */
int64_t roster__sched_from_s(roster_sched *s);

/* ---- sched_worker.c ---- */
/* roster__sched_self: the scheduler whose worker or timer this thread is, or
 * NULL (stop and wait_idle from inside would wait for themselves). */
extern _Thread_local roster_sched *roster__sched_self;
int64_t roster__sched_wall(roster_sched *s);
int64_t roster__sched_mono(roster_sched *s);
void *roster__sched_worker_main(void *arg);

/* rs_evq: events collected under the lock, delivered after it. */
typedef struct rs_ev {
  roster_job_event_kind kind;
  roster_job_trigger trigger;
  int64_t scheduled, duration_ns;
  const char *detail; /* static */
  char job[ROSTER_NAME_MAX + 1];
} rs_ev;
typedef struct rs_evq {
  rs_ev *v;
  size_t n, cap;
} rs_evq;
void roster__sched_evq_push(rs_evq *q, const rs_job *j,
                            roster_job_event_kind kind,
                            roster_job_trigger trigger, int64_t scheduled,
                            int64_t duration_ns, const char *detail);
/* roster__sched_evq_deliver emits q's events (s->mu NOT held) and empties it.
 */
void roster__sched_evq_deliver(roster_sched *s, rs_evq *q);
void roster__sched_evq_free(rs_evq *q);
/* roster__sched_emit delivers one event now (s->mu NOT held). */
void roster__sched_emit(roster_sched *s, const char *job,
                        roster_job_event_kind kind, roster_job_trigger trigger,
                        int64_t scheduled, int64_t duration_ns, int error,
                        const char *detail);

/* roster__sched_dispatch hands one run of j to the workers under j's overlap
 * policy. ROSTER_EBUSY (and a SKIPPED event in q, if q) when the policy skips
 * it. Under s->mu. */
int roster__sched_dispatch(roster_sched *s, rs_job *j,
                           roster_job_trigger trigger, int64_t scheduled,
                           rs_evq *q);
/* roster__sched_job_free frees a removed job (s->mu NOT held), calling
 * free_arg. */
void roster__sched_job_free(rs_job *j);
/* roster__sched_drop_runs drops j's waiting runs (all jobs' if j is NULL);
 * returns the removed jobs that no run holds any more (to free after
 * unlocking). Under s->mu. */
rs_job *roster__sched_drop_runs(roster_sched *s, rs_job *j);
/* roster__sched_destroy frees s itself once nothing refers to it. */
void roster__sched_destroy(roster_sched *s);

#endif /* ROSTER_SCHED_IMPL_H */
