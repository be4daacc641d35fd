/*
 * lc_supervise.c: the supervisor thread — health checks and restarts.
 *
 * One thread per registry that needs it wakes at the earliest due check or
 * restart (or when signalled), hands checks to the worker pool, and starts
 * services whose backoff has ended. Check results apply thresholds: N
 * consecutive readiness failures make a service unhealthy and M passes make
 * it ready again; N liveness failures fail it, and its restart policy
 * decides what follows (lifecycle.c, roster__svc_fail).
 */
#include "lc_impl.h"

#include <signal.h>
#include <stdio.h>

static bool has_check(const roster__svc *s) {
  return s->p.ready || s->p.live || s->p.type->health;
}

void roster__check_schedule(roster__lc *lc, roster__svc *s) {
  if (!has_check(s))
    return;
  s->next_check_ns = roster__mono_ns() + s->p.check_interval_ms * 1000000LL;
  roster__sup_ensure(lc);
}

typedef struct check_job {
  roster__job job;
  roster__lc *lc;
  roster__svc *svc;
  void *instance;
  bool skipped;
  int live_rc, ready_rc;
  char detail[200];
  int64_t t0, t1;
} check_job;

static int one_check(const roster__svc *s, const char *what, roster_check_fn fn,
                     void *instance, char *detail, size_t cap) {
  roster_error_clear();
  int rc = fn ? fn(s->p.arg, instance) : s->p.type->health(instance);
  if (rc != ROSTER_OK)
    rc = roster__fn_failed(s->name, what, rc, detail, cap);
  return rc;
}

static void check_run(roster__job *j) {
  check_job *c = (check_job *)j;
  roster__svc *s = c->svc;
  roster__thread_ensure();
  /* Hold the entry so the instance cannot be destroyed under the check;
   * skip if the service has moved on to another instance. */
  void *p = NULL;
  roster_ref *ref = NULL;
  if (roster_acquire(c->lc->r, s->ns, s->name, s->p.type, &p, &ref) ||
      p != c->instance) {
    c->skipped = true;
    roster_release(ref);
    return;
  }
  c->t0 = roster__mono_ns();
  if (s->p.live)
    c->live_rc = one_check(s, "liveness check", s->p.live, p, c->detail,
                           sizeof c->detail);
  if (c->live_rc == ROSTER_OK && (s->p.ready || s->p.type->health))
    c->ready_rc = one_check(s, "readiness check", s->p.ready, p, c->detail,
                            sizeof c->detail);
  c->t1 = roster__mono_ns();
  roster_release(ref);
}

/* apply records a check's outcome. Lock held. */
static void apply(roster__lc *lc, roster__svc *s, int live_rc, int ready_rc,
                  const char *detail) {
  char msg[400];
  if (s->p.live) {
    if (live_rc == ROSTER_OK) {
      s->live_fails = 0;
      s->live_ok = true;
    } else if (++s->live_fails >= s->p.fail_threshold) {
      s->live_ok = false;
      snprintf(msg, sizeof msg,
               "service '%s': liveness check failed %u "
               "times: %s",
               s->name, s->live_fails, detail);
      roster__svc_fail(lc, s, live_rc, msg, false);
      return;
    }
  }
  if (!s->p.ready && !s->p.type->health)
    return;
  if (live_rc != ROSTER_OK)
    return; /* readiness was not checked */
  if (ready_rc == ROSTER_OK) {
    s->ready_fails = 0;
    if (s->unhealthy && ++s->ready_passes >= s->p.pass_threshold) {
      s->unhealthy = false;
      s->ready_passes = 0;
      s->err = ROSTER_OK;
      s->detail[0] = '\0';
      if (!s->stop_req)
        roster__set_state(
            lc, s,
            s->state == ROSTER_STATE_UNHEALTHY ? ROSTER_STATE_READY : s->state,
            ROSTER_OK, NULL);
      /* set_state's follow-up makes it degraded if a dependency is not
       * ready; recompute from the dependencies once more to be exact */
      for (size_t i = 0; i < s->ndeps; i++)
        if (s->dep_svc[i] && s->dep_svc[i]->state != ROSTER_STATE_READY &&
            s->state == ROSTER_STATE_READY) {
          roster__set_state(lc, s, ROSTER_STATE_DEGRADED, ROSTER_OK, NULL);
          break;
        }
    }
  } else {
    s->ready_passes = 0;
    if (!s->unhealthy && ++s->ready_fails >= s->p.fail_threshold) {
      s->unhealthy = true;
      snprintf(msg, sizeof msg,
               "service '%s': readiness check failed %u "
               "times: %s",
               s->name, s->ready_fails, detail);
      if (!s->stop_req)
        roster__set_state(lc, s, ROSTER_STATE_UNHEALTHY, ready_rc, msg);
    } else if (s->unhealthy) {
      s->ready_fails++;
    }
  }
}

static void finish(check_job *c, bool timed_out) {
  roster__lc *lc = c->lc;
  roster__svc *s = c->svc;
  pthread_mutex_lock(&lc->lock);
  if (!timed_out)
    s->checking = false;
  bool current = !c->skipped && s->inst && s->inst->instance == c->instance &&
                 roster__svc_up(s) && !s->stop_req &&
                 lc->phase != ROSTER__LC_STOPPING &&
                 lc->phase != ROSTER__LC_CLOSED;
  if (current) {
    int64_t now = roster__mono_ns();
    if (timed_out) {
      char d[128];
      snprintf(d, sizeof d, "check did not return within %lld ms",
               (long long)s->p.check_timeout_ms);
      s->last_check_ns = now;
      s->last_latency_us = s->p.check_timeout_ms * 1000;
      apply(lc, s, s->p.live ? ROSTER_ETIMEDOUT : ROSTER_OK, ROSTER_ETIMEDOUT,
            d);
    } else {
      s->last_check_ns = c->t1;
      s->last_latency_us = (c->t1 - c->t0) / 1000;
      apply(lc, s, c->live_rc, c->ready_rc, c->detail);
    }
    if (roster__svc_up(s) && !s->stop_req)
      s->next_check_ns = now + s->p.check_interval_ms * 1000000LL;
    pthread_cond_signal(&lc->sup_cond);
  }
  pthread_mutex_unlock(&lc->lock);
  roster__drain(lc, false);
}

static void check_done(roster__job *j) { finish((check_job *)j, false); }
static void check_timeout(roster__job *j) { finish((check_job *)j, true); }

/* A check that overran returns at last: the next check may run. The
 * service is only touched while the registry is open (lc_free frees the
 * services after closing it). */
static void check_late(roster__job *j) {
  check_job *c = (check_job *)j;
  pthread_mutex_lock(&c->lc->lock);
  if (c->lc->phase != ROSTER__LC_CLOSED) {
    c->svc->checking = false;
    pthread_cond_signal(&c->lc->sup_cond);
  }
  pthread_mutex_unlock(&c->lc->lock);
}

static void check_drop(roster__job *j) {
  check_job *c = (check_job *)j;
  roster__lc_put(c->lc);
  roster__free(c);
}

static void submit_check(roster__lc *lc, roster__svc *s) {
  check_job *c = roster__calloc(1, sizeof *c);
  if (!c)
    return;
  c->job = (roster__job){.run = check_run,
                         .done = check_done,
                         .on_timeout = check_timeout,
                         .late = check_late,
                         .drop = check_drop};
  atomic_init(&c->job.refs, 1);
  c->job.timeout_ns = s->p.check_timeout_ms * 1000000LL;
  c->lc = lc;
  atomic_fetch_add(&lc->refs, 1);
  c->svc = s;
  c->instance = s->inst->instance;
  s->checking = true;
  s->next_check_ns = 0;
  roster__workers_submit(lc->workers, &c->job);
}

static void *sup_main(void *arg) {
  roster__lc *lc = arg;
  roster__thread_ensure();
  pthread_mutex_lock(&lc->lock);
  while (!lc->sup_stop) {
    int64_t now = roster__mono_ns(), next = 0;
    bool active =
        lc->phase == ROSTER__LC_RUNNING || lc->phase == ROSTER__LC_IDLE;
    for (roster__svc *s = active ? lc->head : NULL; s; s = s->next) {
      if (roster__svc_up(s) && !s->stop_req && s->next_check_ns &&
          !s->checking && s->inst && lc->workers) {
        if (s->next_check_ns <= now)
          submit_check(lc, s);
        else if (!next || s->next_check_ns < next)
          next = s->next_check_ns;
      }
      if (s->restart_at_ns && s->want_up && !roster__svc_up(s) &&
          s->state != ROSTER_STATE_STARTING &&
          s->state != ROSTER_STATE_STOPPING && !s->stop_req) {
        if (s->restart_at_ns <= now) {
          s->restart_at_ns = 0;
          roster__kick_start(lc, s);
        } else if (!next || s->restart_at_ns < next) {
          next = s->restart_at_ns;
        }
      }
    }
    /* events made by the kicks above are delivered outside the lock */
    if (lc->ev_head && !lc->draining) {
      pthread_mutex_unlock(&lc->lock);
      roster__drain(lc, false);
      pthread_mutex_lock(&lc->lock);
      continue;
    }
    if (next) {
      struct timespec ts;
      roster__deadline(&ts, next);
      pthread_cond_timedwait(&lc->sup_cond, &lc->lock, &ts);
    } else {
      pthread_cond_wait(&lc->sup_cond, &lc->lock);
    }
  }
  pthread_mutex_unlock(&lc->lock);
  return NULL;
}

void roster__sup_ensure(roster__lc *lc) {
  if (!lc->sup_started && !lc->sup_stop) {
    lc->sup_started = roster__thread_start(&lc->sup, "roster-sup", false,
                                           sup_main, lc) == ROSTER_OK;
  }
  pthread_cond_signal(&lc->sup_cond);
}

void roster__sup_stop(roster__lc *lc) {
  pthread_mutex_lock(&lc->lock);
  lc->sup_stop = true;
  bool started = lc->sup_started;
  pthread_cond_signal(&lc->sup_cond);
  pthread_mutex_unlock(&lc->lock);
  if (started)
    pthread_join(lc->sup, NULL);
}
