/*
 * sched_worker.c: the scheduler's worker threads, the overlap policies
 * (roster__sched_dispatch) and job events.
 *
 * Runs wait in one FIFO queue that a fixed number of workers take from;
 * a job's QUEUE-policy backlog waits on the job itself, one run of it
 * moving to the pool's queue each time the previous one returns, so runs
 * of one job never overlap and keep their order. A worker asks the job's
 * enabled predicate (for scheduled runs), reports STARTED, runs the job,
 * reports FINISHED or FAILED, and only then counts the run as done, so
 * roster_sched_wait_idle returns after the events. Workers block every
 * signal. A worker the stop gave up on (its job overran the deadline)
 * becomes an orphan: it frees its own record and, if it is the last
 * thing holding the scheduler, the scheduler.
 *
 * The scheduler has its own pool rather than the lifecycle's: that one is
 * core-internal (this built-in service uses only the public API), and it
 * abandons work that overruns a deadline, where a slow job here is only
 * reported and keeps its worker.
 */
#include "sched_impl.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t roster__sched_wall(roster_sched *s) {
  if (s->custom_clock)
    return s->clock.now_wall_ns(s->clock.arg);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * RS_NS + ts.tv_nsec;
}

int64_t roster__sched_mono(roster_sched *s) {
  if (s->custom_clock)
    return s->clock.now_mono_ns(s->clock.arg);
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * RS_NS + ts.tv_nsec;
}

/* ---- events ------------------------------------------------------- */

/* log_event writes one job event to the scheduler's logger. */
static void log_event(roster_log *log, const roster_job_event *ev) {
  static const int levels[] = {
      [ROSTER_JOB_STARTED] = ROSTER_LOG_DEBUG,
      [ROSTER_JOB_FINISHED] = ROSTER_LOG_DEBUG,
      [ROSTER_JOB_FAILED] = ROSTER_LOG_ERROR,
      [ROSTER_JOB_SLOW] = ROSTER_LOG_WARN,
      [ROSTER_JOB_SKIPPED] = ROSTER_LOG_WARN,
  };
  int level = (unsigned)ev->kind < sizeof levels / sizeof levels[0]
                  ? levels[ev->kind]
                  : ROSTER_LOG_INFO;
  if (!roster_log_enabled(log, level))
    return;
  roster_log_field f[6];
  size_t n = 0;
  f[n++] = RL_STR("job", ev->job);
  f[n++] = RL_STR("trigger", roster_job_trigger_name(ev->trigger));
  f[n++] = RL_INT("scheduled", ev->scheduled);
  if (ev->kind == ROSTER_JOB_FINISHED || ev->kind == ROSTER_JOB_FAILED ||
      ev->kind == ROSTER_JOB_SLOW)
    f[n++] = RL_DBL("duration_ms", (double)ev->duration_ns / 1e6);
  if (ev->kind == ROSTER_JOB_FAILED)
    f[n++] = RL_STR("error", roster_err_name(ev->error));
  if (ev->kind == ROSTER_JOB_FAILED || ev->kind == ROSTER_JOB_SKIPPED)
    f[n++] = RL_STR("detail", ev->detail);
  roster_log_write(log, level, f, n, "job %s %s", ev->job,
                   roster_job_event_name(ev->kind));
}

void roster__sched_emit(roster_sched *s, const char *job,
                        roster_job_event_kind kind, roster_job_trigger trigger,
                        int64_t scheduled, int64_t duration_ns, int error,
                        const char *detail) {
  if ((!s->on_event && !s->log) || atomic_load(&s->quiet))
    return;
  roster_job_event ev = {
      .kind = kind,
      .job = job,
      .trigger = trigger,
      .scheduled = scheduled,
      .at_unix_ms = roster__sched_wall(s) / RS_MS,
      .duration_ns = duration_ns,
      .error = error,
      .detail = detail ? detail : "",
  };
  if (s->log)
    log_event(s->log, &ev);
  if (s->on_event)
    s->on_event(&ev, s->event_arg);
}

void roster__sched_evq_push(rs_evq *q, const rs_job *j,
                            roster_job_event_kind kind,
                            roster_job_trigger trigger, int64_t scheduled,
                            int64_t duration_ns, const char *detail) {
  if (!q)
    return;
  if (q->n == q->cap) {
    size_t cap = q->cap ? q->cap * 2 : 8;
    rs_ev *v = roster_mem_realloc(q->v, cap * sizeof *v);
    if (!v)
      return; /* an event lost to memory pressure; the counters still
                 count it */
    q->v = v;
    q->cap = cap;
  }
  rs_ev *e = &q->v[q->n++];
  e->kind = kind;
  e->trigger = trigger;
  e->scheduled = scheduled;
  e->duration_ns = duration_ns;
  e->detail = detail;
  snprintf(e->job, sizeof e->job, "%s", j->name);
}

void roster__sched_evq_deliver(roster_sched *s, rs_evq *q) {
  for (size_t i = 0; i < q->n; i++)
    roster__sched_emit(s, q->v[i].job, q->v[i].kind, q->v[i].trigger,
                       q->v[i].scheduled, q->v[i].duration_ns, ROSTER_OK,
                       q->v[i].detail);
  q->n = 0;
}

void roster__sched_evq_free(rs_evq *q) {
  roster_mem_free(q->v);
  q->v = NULL;
  q->n = q->cap = 0;
}

/* ---- dispatch ----------------------------------------------------- */

static int skip(rs_job *j, rs_evq *q, roster_job_trigger trigger,
                int64_t scheduled, const char *why) {
  if (trigger != ROSTER_TRIGGER_NOW) /* run_now's caller gets EBUSY */
    j->skipped++;
  roster__sched_evq_push(q, j, ROSTER_JOB_SKIPPED, trigger, scheduled, 0, why);
  return ROSTER_EBUSY;
}

int roster__sched_dispatch(roster_sched *s, rs_job *j,
                           roster_job_trigger trigger, int64_t scheduled,
                           rs_evq *q) {
  bool to_wait = false;
  switch (j->overlap) {
  case ROSTER_OVERLAP_QUEUE:
    if (j->running + j->in_pool > 0) {
      if (j->waiting >= j->queue_max)
        return skip(j, q, trigger, scheduled,
                    "the overlap queue is full (queue_max runs wait)");
      to_wait = true;
    }
    break;
  case ROSTER_OVERLAP_ALLOW:
    if (j->in_pool >= j->queue_max)
      return skip(j, q, trigger, scheduled,
                  "queue_max runs already wait for a worker");
    break;
  default:
    if (j->running + j->in_pool > 0)
      return skip(j, q, trigger, scheduled, "the last run is still going");
  }
  rs_run *r = roster_mem_calloc(1, sizeof *r);
  if (!r)
    return skip(j, q, trigger, scheduled, "out of memory");
  r->job = j;
  r->trigger = trigger;
  r->scheduled = scheduled;
  if (to_wait) {
    if (j->wait_tail)
      j->wait_tail->next = r;
    else
      j->wait_head = r;
    j->wait_tail = r;
    j->waiting++;
  } else {
    if (s->q_tail)
      s->q_tail->next = r;
    else
      s->q_head = r;
    s->q_tail = r;
    j->in_pool++;
    pthread_cond_signal(&s->work_cv);
  }
  s->busy++;
  return ROSTER_OK;
}

void roster__sched_job_free(rs_job *j) {
  if (j->free_arg)
    j->free_arg(j->arg);
  roster_cron_free(j->cron);
  roster_mem_free(j->name);
  roster_mem_free(j);
}

rs_job *roster__sched_drop_runs(roster_sched *s, rs_job *j) {
  rs_run **pp = &s->q_head, *tail = NULL;
  while (*pp) {
    rs_run *r = *pp;
    if (!j || r->job == j) {
      *pp = r->next;
      r->job->in_pool--;
      s->busy--;
      roster_mem_free(r);
    } else {
      tail = r;
      pp = &r->next;
    }
  }
  s->q_tail = tail;
  rs_job *gone = NULL;
  /* the jobs whose backlogs to drop: j, or every job */
  for (rs_job *x = j ? j : s->jobs; x; x = j ? NULL : x->next) {
    while (x->wait_head) {
      rs_run *r = x->wait_head;
      x->wait_head = r->next;
      roster_mem_free(r);
      s->busy--;
    }
    x->wait_tail = NULL;
    x->waiting = 0;
  }
  if (j && j->removed && j->running == 0 && j->in_pool == 0) {
    j->next = gone;
    gone = j;
  }
  pthread_cond_broadcast(&s->done_cv);
  return gone;
}

void roster__sched_destroy(roster_sched *s) {
  roster_log_free(s->log);
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->timer_cv);
  pthread_cond_destroy(&s->work_cv);
  pthread_cond_destroy(&s->done_cv);
  roster_mem_free(s->workers);
  roster_mem_free(s);
}

/* ---- workers ------------------------------------------------------ */

static void unlink_active(roster_sched *s, rs_active *a) {
  for (rs_active **pp = &s->active; *pp; pp = &(*pp)->next)
    if (*pp == a) {
      *pp = a->next;
      return;
    }
}

/* the fire time of the run this worker is running (roster_job_scheduled) */
static _Thread_local int64_t running_scheduled;

int64_t roster_job_scheduled(void) { return running_scheduled; }

/* ask_claim asks s's claim function whether this node runs j's tick
 * `scheduled`: 1 yes, 0 another node's, <0 undecided (why in detail). */
static int ask_claim(roster_sched *s, rs_job *j, int64_t scheduled,
                     char *detail, size_t cap) {
  roster_error_clear();
  int c = s->claim(j->name, scheduled, s->claim_arg);
  if (c > 1)
    c = 1;
  if (c < 0)
    snprintf(detail, cap, "could not claim the tick: %s",
             roster_last_code() == c && roster_last_error()[0]
                 ? roster_last_error()
                 : roster_strerror(c));
  return c;
}

/* run_one runs r's job on this worker; called with s->mu held, returns
 * with it held. */
static void run_one(roster_sched *s, rs_run *r) {
  rs_job *j = r->job;
  j->in_pool--;
  j->running++;
  rs_active a = {.job = j,
                 .start_mono = roster__sched_mono(s),
                 .trigger = r->trigger,
                 .scheduled = r->scheduled};
  a.slow_at = j->timeout_ns ? a.start_mono + j->timeout_ns : INT64_MAX;
  a.next = s->active;
  s->active = &a;
  if (j->timeout_ns)
    pthread_cond_signal(&s->timer_cv); /* a new slow deadline */
  bool check = r->trigger == ROSTER_TRIGGER_SCHEDULE ||
               r->trigger == ROSTER_TRIGGER_CATCH_UP;
  roster_mem_free(r);
  pthread_mutex_unlock(&s->mu);

  bool go = !(check && j->enabled_fn && !j->enabled_fn(j->arg));
  int rc = ROSTER_OK;
  int64_t start_wall = 0, dur = 0;
  char detail[512] = "";
  int claim = 1; /* 1: ours; 0: another node's; <0: undecided */
  if (!go) {
    roster__sched_emit(s, j->name, ROSTER_JOB_SKIPPED, a.trigger, a.scheduled,
                       0, ROSTER_OK, "its enabled predicate said no");
  } else if (check && s->claim && !j->local &&
             (claim = ask_claim(s, j, a.scheduled, detail, sizeof detail)) <
                 1) {
    go = false;
    if (claim < 0)
      roster__sched_emit(s, j->name, ROSTER_JOB_SKIPPED, a.trigger, a.scheduled,
                         0, ROSTER_OK, detail);
  } else {
    start_wall = roster__sched_wall(s);
    pthread_mutex_lock(&s->mu);
    j->last_start_ms = start_wall / RS_MS;
    if (check && a.scheduled > 0) /* scheduled, or a catch-up */
      j->last_lateness_ns = start_wall - a.scheduled * RS_NS > 0
                                ? start_wall - a.scheduled * RS_NS
                                : 0;
    pthread_mutex_unlock(&s->mu);
    roster__sched_emit(s, j->name, ROSTER_JOB_STARTED, a.trigger, a.scheduled,
                       0, ROSTER_OK, NULL);
    roster_error_clear();
    running_scheduled = check ? a.scheduled : 0;
    rc = j->fn(j->arg);
    running_scheduled = 0;
    dur = roster__sched_mono(s) - a.start_mono;
    if (rc != ROSTER_OK)
      snprintf(detail, sizeof detail, "%s",
               roster_last_code() == rc && roster_last_error()[0]
                   ? roster_last_error()
                   : roster_strerror(rc));
    roster__sched_emit(s, j->name, rc ? ROSTER_JOB_FAILED : ROSTER_JOB_FINISHED,
                       a.trigger, a.scheduled, dur, rc, rc ? detail : NULL);
  }

  int64_t end_wall = go ? roster__sched_wall(s) : 0;
  pthread_mutex_lock(&s->mu);
  unlink_active(s, &a);
  j->running--;
  if (go) {
    j->runs++;
    j->failures += rc != ROSTER_OK;
    j->last_end_ms = end_wall / RS_MS;
    j->last_duration_ns = dur;
    j->last_error = rc;
  } else if (claim == 0) {
    j->elsewhere++;
  } else {
    j->skipped++;
  }
  if (j->wait_head && !j->removed && s->state == RS_STARTED) {
    rs_run *n = j->wait_head; /* the next of the QUEUE backlog */
    j->wait_head = n->next;
    if (!j->wait_head)
      j->wait_tail = NULL;
    j->waiting--;
    n->next = NULL;
    if (s->q_tail)
      s->q_tail->next = n;
    else
      s->q_head = n;
    s->q_tail = n;
    j->in_pool++;
    pthread_cond_signal(&s->work_cv);
  }
  if (j->removed && j->running == 0 && j->in_pool == 0) {
    pthread_mutex_unlock(&s->mu); /* its last run: free it (free_arg) */
    roster__sched_job_free(j);
    pthread_mutex_lock(&s->mu);
  }
  s->busy--; /* after free_arg, so wait_idle returns after it too */
  pthread_cond_broadcast(&s->done_cv);
}

_Thread_local roster_sched *roster__sched_self;

void *roster__sched_worker_main(void *arg) {
  rs_worker *w = arg;
  roster_sched *s = w->s;
  roster__sched_self = s;
  pthread_mutex_lock(&s->mu);
  for (;;) {
    while (!s->q_head && s->state == RS_STARTED)
      pthread_cond_wait(&s->work_cv, &s->mu);
    if (s->state != RS_STARTED)
      break;
    rs_run *r = s->q_head;
    s->q_head = r->next;
    if (!s->q_head)
      s->q_tail = NULL;
    w->busy = true;
    run_one(s, r);
    w->busy = false;
  }
  w->done = true;
  pthread_cond_broadcast(&s->done_cv);
  if (w->orphan) {
    bool last = --s->refs == 0;
    pthread_mutex_unlock(&s->mu);
    roster_mem_free(w);
    if (last)
      roster__sched_destroy(s);
    return NULL;
  }
  pthread_mutex_unlock(&s->mu);
  return NULL;
}
