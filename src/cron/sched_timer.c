/*
 * sched_timer.c: the scheduler's timer thread and its clock rules.
 *
 * The timer sleeps on CLOCK_MONOTONIC until the earliest due run (or a
 * slow deadline), at most RS_MAX_SLEEP_NS, and at each wake reads the wall
 * clock again. It keeps a mark: the wall time it has handled up to. What a
 * wake does depends on how far the wall clock moved since the mark (the
 * rules of Vixie cron's main loop, which wakes every minute the same way):
 *
 *  - forward up to 5 minutes (the normal case, or a late wake): every fire
 *    time that came due runs, each once, in order, so a late wake never
 *    loses one;
 *  - forward 5 minutes to 3 hours (a suspend, a clock set forward): each
 *    fixed-time job that missed fire times runs once, now (Vixie cron runs
 *    it once per missed minute); a wildcard job runs only if it was due in
 *    the current minute (as in Vixie cron);
 *  - forward over 3 hours: missed fire times are skipped; a job due in the
 *    current minute runs;
 *  - backward up to 3 hours: the mark stays, and nothing fires until the
 *    wall clock passes it again, so no fire time runs twice (Vixie cron
 *    would run wildcard jobs meanwhile);
 *  - backward over 3 hours: the clock was wrong; every job is scheduled
 *    again from the new time (fire times may repeat, as in Vixie cron).
 *
 * Either way each job then continues at its next fire time after now.
 */
#include "sched_impl.h"

#include <time.h>

static uint64_t rand64(roster_sched *s) {
  uint64_t x = s->rng; /* xorshift64 */
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  s->rng = x;
  return x;
}

static void set_due(roster_sched *s, rs_job *j) {
  if (j->next_at == RS_NONE)
    return;
  j->due_ns = j->next_at * RS_NS;
  if (j->jitter_ns > 0)
    j->due_ns += (int64_t)(rand64(s) % (uint64_t)(j->jitter_ns + 1));
}

void roster__sched_schedule(roster_sched *s, rs_job *j, int64_t after_s) {
  int64_t t;
  j->next_at =
      roster__cron_fire_after(j->cron, after_s, j->tz, &t) ? t : RS_NONE;
  set_due(s, j);
}

static int64_t floor_s(int64_t ns) { return ns / RS_NS - (ns % RS_NS < 0); }

int64_t roster__sched_from_s(roster_sched *s) {
  int64_t now = roster__sched_wall(s);
  return floor_s(now > s->mark_ns ? now : s->mark_ns);
}

/* pass handles one wake: runs due, skipped or caught up, slow warnings.
 * Returns the monotonic time of the next wake. Under s->mu. */
static int64_t pass(roster_sched *s, rs_evq *q) {
  int64_t now = roster__sched_wall(s), mono = roster__sched_mono(s);
  int64_t d = now - s->mark_ns, now_s = floor_s(now);
  if (d < 0) {
    if (-d > RS_LARGE_NS) { /* the clock was far off: start again */
      s->mark_ns = now;
      for (rs_job *j = s->jobs; j; j = j->next)
        if (j->enabled)
          roster__sched_schedule(s, j, now_s);
    }
  } else {
    for (rs_job *j = s->jobs; j; j = j->next) {
      if (!j->enabled || j->next_at == RS_NONE)
        continue;
      if (d <= RS_SMALL_NS) {
        /* bounded: 5 minutes of a per-second job is 300 runs */
        for (int n = 0; j->next_at != RS_NONE && j->due_ns <= now && n < 1000;
             n++) {
          roster__sched_dispatch(s, j, ROSTER_TRIGGER_SCHEDULE, j->next_at, q);
          roster__sched_schedule(s, j, j->next_at);
        }
      } else if (j->next_at <= now_s) {
        int64_t last;
        if (!roster__cron_fire_before(j->cron, now_s + 1, j->tz, &last))
          last = j->next_at;
        bool current = last / 60 == now_s / 60;
        if ((d <= RS_LARGE_NS && !j->wildcard) || current)
          roster__sched_dispatch(s, j, ROSTER_TRIGGER_CATCH_UP, last, q);
        roster__sched_schedule(s, j, now_s);
      }
    }
    s->mark_ns = now;
  }
  int64_t wake = mono + RS_MAX_SLEEP_NS;
  for (rs_active *a = s->active; a; a = a->next) {
    if (a->slow_told || a->slow_at == INT64_MAX)
      continue;
    if (mono >= a->slow_at) {
      a->slow_told = true;
      roster__sched_evq_push(q, a->job, ROSTER_JOB_SLOW, a->trigger,
                             a->scheduled, mono - a->start_mono,
                             "the run is taking longer than "
                             "its timeout_ms");
    } else if (a->slow_at < wake) {
      wake = a->slow_at;
    }
  }
  for (rs_job *j = s->jobs; j; j = j->next)
    if (j->enabled && j->next_at != RS_NONE) {
      int64_t in = j->due_ns - now;
      if (in < 0)
        in = 0;
      if (mono + in < wake)
        wake = mono + in;
    }
  return wake;
}

void *roster__sched_timer_main(void *arg) {
  roster_sched *s = arg;
  rs_evq q = {0};
  roster__sched_self = s;
  pthread_mutex_lock(&s->mu);
  while (s->state == RS_STARTED) {
    uint64_t seen = s->tick_req;
    s->dirty = false;
    int64_t wake = pass(s, &q);
    if (q.n) {
      pthread_mutex_unlock(&s->mu);
      roster__sched_evq_deliver(s, &q);
      pthread_mutex_lock(&s->mu);
    }
    s->tick_done = seen;
    pthread_cond_broadcast(&s->done_cv);
    if (s->state != RS_STARTED)
      break;
    if (s->dirty || s->tick_req != seen)
      continue; /* something changed while the events went out */
    if (s->custom_clock) {
      pthread_cond_wait(&s->timer_cv, &s->mu);
    } else {
      struct timespec ts = {.tv_sec = wake / RS_NS, .tv_nsec = wake % RS_NS};
      pthread_cond_timedwait(&s->timer_cv, &s->mu, &ts);
    }
  }
  pthread_mutex_unlock(&s->mu);
  roster__sched_evq_free(&q);
  return NULL;
}
