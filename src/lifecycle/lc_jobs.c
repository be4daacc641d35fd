/*
 * lc_jobs.c: the work done on services — creating an instance (on the
 * pool, or inline for a lazy roster_get), stopping one (unregister, wait
 * for readers and references, destroy), the instance records that tie an
 * instance to its registry entry, and what a failure leads to (restart by
 * policy, with backoff and an intensity limit).
 */
#include "lc_impl.h"

#include <stdio.h>

/* ---- instance records ------------------------------------------------ */

static void inst_destroy_now(roster__inst *in) {
  if (in->destroy)
    in->destroy(in->arg, in->instance);
  else if (in->type->destroy)
    in->type->destroy(in->instance);
}

void roster__inst_put(roster__inst *in) {
  if (atomic_fetch_sub_explicit(&in->refs, 1, memory_order_acq_rel) == 1) {
    roster__lc_put(in->lc);
    roster__free(in);
  }
}

bool roster__inst_released(roster__inst *in, roster__entry *e) {
  int live = ROSTER__INST_LIVE;
  roster__lc *lc = in->lc;
  pthread_mutex_lock(&lc->lock);
  in->entry = e;
  bool taken =
      atomic_compare_exchange_strong(&in->state, &live, ROSTER__INST_RELEASED);
  if (taken)
    pthread_cond_broadcast(&lc->cond);
  pthread_mutex_unlock(&lc->lock);
  return taken;
}

void roster__inst_reclaimed(roster__inst *in) {
  /* orphaned: its stop gave up waiting; finish it here */
  inst_destroy_now(in);
  roster__inst_put(in); /* the entry's reference */
}

/* ---- create ---------------------------------------------------------- */

typedef struct create_job {
  roster__job job;
  roster__lc *lc;
  roster__svc *svc;
  uint64_t attempt;
  int rc;
  void *instance;
  char detail[256];
  /* copies for a late return, when svc may be gone */
  roster_destroy_fn destroy;
  const roster_type *type;
  void *arg;
} create_job;

/* call_create gathers the dependencies and calls create, on this thread. */
static int call_create(roster__lc *lc, roster__svc *s, void **out, char *detail,
                       size_t cap) {
  const char *names[ROSTER_DEPS_MAX];
  void *insts[ROSTER_DEPS_MAX];
  *out = NULL;
  for (size_t i = 0; i < s->ndeps; i++) {
    names[i] = s->deps[i];
    int rc = roster_get(lc->r, s->ns, s->deps[i], NULL, &insts[i]);
    if (rc) {
      snprintf(detail, cap, "dependency '%s': %s", s->deps[i],
               roster_last_error());
      return rc;
    }
  }
  roster_deps d = {.count = s->ndeps, .names = names, .instances = insts};
  roster_error_clear();
  int rc = s->p.create(s->p.arg, &d, out);
  if (rc == ROSTER_OK)
    return ROSTER_OK;
  return roster__fn_failed(s->name, "create", rc, detail, cap);
}

/* created records the outcome of a creation: registers the instance and
 * makes the service ready, or failed. Lock not held; takes it. */
static int created(roster__lc *lc, roster__svc *s, uint64_t attempt, int rc,
                   void *instance, const char *why) {
  char detail[512];
  roster__inst *in = NULL;
  if (rc == ROSTER_OK) {
    in = roster__calloc(1, sizeof *in);
    if (!in) {
      rc = ROSTER_ENOMEM;
      why = "out of memory";
    } else {
      atomic_init(&in->refs, 2); /* the service's and the entry's */
      atomic_init(&in->state, ROSTER__INST_LIVE);
      in->lc = lc;
      atomic_fetch_add(&lc->refs, 1);
      in->instance = instance;
      in->type = s->p.type;
      in->destroy = s->p.destroy;
      in->arg = s->p.arg;
      rc =
          roster__register_inst(lc->r, s->ns, s->name, s->p.type, instance, in);
      if (rc) {
        lc_copy(detail, sizeof detail, roster_last_error());
        why = detail;
        atomic_fetch_sub(&in->refs, 1);
        roster__inst_put(in);
        in = NULL;
      }
    }
    if (rc) {
      roster__inst tmp = {.instance = instance,
                          .type = s->p.type,
                          .destroy = s->p.destroy,
                          .arg = s->p.arg};
      inst_destroy_now(&tmp);
    }
  }
  pthread_mutex_lock(&lc->lock);
  if (attempt != s->attempt) { /* a later attempt owns the service now */
    pthread_mutex_unlock(&lc->lock);
    if (in) { /* reclaim destroys it */
      atomic_store(&in->state, ROSTER__INST_ORPHANED);
      roster__unregister_inst(lc->r, s->ns, s->name, in);
      roster__inst_put(in);
    }
    return ROSTER_ECANCELED;
  }
  if (rc == ROSTER_OK && !roster__lc_workers(lc)) {
    pthread_mutex_unlock(&lc->lock);
    atomic_store(&in->state, ROSTER__INST_ORPHANED);
    roster__unregister_inst(lc->r, s->ns, s->name, in);
    roster__inst_put(in);
    in = NULL;
    rc = ROSTER_ENOMEM;
    why = "out of memory (worker pool)";
    pthread_mutex_lock(&lc->lock);
  }
  if (rc == ROSTER_OK) {
    s->inst = in;
    s->up_seq = ++lc->seq;
    if (lc->start_active && s->start_gen == lc->start_gen && lc->start_pending)
      lc->start_pending--;
    s->unhealthy = false;
    s->live_ok = true;
    s->ready_fails = s->ready_passes = s->live_fails = 0;
    roster__set_state(lc, s, roster__up_state(s), ROSTER_OK, NULL);
    roster__check_schedule(lc, s);
    for (size_t i = 0; i < s->nusers; i++)
      roster__kick_start(lc, s->users[i]);
    if (s->stop_req)
      roster__kick_stop(lc, s);
  } else {
    char msg[768];
    snprintf(msg, sizeof msg, "service '%s' failed to start: %s", s->name,
             why ? why : roster_strerror(rc));
    if (lc->start_active && s->start_gen == lc->start_gen && !lc->start_failed)
      lc->start_failed = s;
    /* Nothing was made, so nothing is left to stop: a stop asked for while
     * it was starting is done, and what it would have used may stop now. */
    s->stop_req = false;
    s->after = ROSTER__AFTER_STAY;
    for (size_t i = 0; i < s->ndeps; i++)
      if (s->dep_svc[i])
        roster__kick_stop(lc, s->dep_svc[i]);
    if (s->restarts && s->want_up && !s->start_gen &&
        lc->phase == ROSTER__LC_RUNNING) {
      roster__svc_fail(lc, s, rc, msg, false); /* try again by policy */
    } else {
      s->want_up = false;
      s->restart_at_ns = 0;
      roster__set_state(lc, s, ROSTER_STATE_FAILED, rc, msg);
    }
  }
  pthread_mutex_unlock(&lc->lock);
  roster__drain(lc, false);
  return rc;
}

static void create_run(roster__job *j) {
  create_job *c = (create_job *)j;
  roster__thread_ensure();
  c->rc = call_create(c->lc, c->svc, &c->instance, c->detail, sizeof c->detail);
}

static void create_done(roster__job *j) {
  create_job *c = (create_job *)j;
  created(c->lc, c->svc, c->attempt, c->rc, c->instance, c->detail);
}

static void create_timeout(roster__job *j) {
  create_job *c = (create_job *)j;
  char msg[128];
  snprintf(msg, sizeof msg,
           "create did not return within %lld ms "
           "(abandoned)",
           (long long)c->svc->p.start_timeout_ms);
  created(c->lc, c->svc, c->attempt, ROSTER_ETIMEDOUT, NULL, msg);
}

static void create_late(roster__job *j) {
  create_job *c = (create_job *)j;
  if (c->rc == ROSTER_OK) { /* nobody wants it any more */
    roster__inst tmp = {.instance = c->instance,
                        .type = c->type,
                        .destroy = c->destroy,
                        .arg = c->arg};
    inst_destroy_now(&tmp);
  }
}

static void create_drop(roster__job *j) {
  create_job *c = (create_job *)j;
  roster__lc_put(c->lc);
  roster__free(c);
}

/* start_svc: s is eligible; hand its creation to the pool. Lock held. */
static void start_svc(roster__lc *lc, roster__svc *s) {
  create_job *c = roster__calloc(1, sizeof *c);
  s->attempt++;
  s->restart_at_ns = 0;
  if (!c) {
    s->want_up = false;
    roster__set_state(lc, s, ROSTER_STATE_FAILED, ROSTER_ENOMEM,
                      "out of memory");
    return;
  }
  c->job = (roster__job){.run = create_run,
                         .done = create_done,
                         .on_timeout = create_timeout,
                         .late = create_late,
                         .drop = create_drop};
  atomic_init(&c->job.refs, 1);
  if (s->p.start_timeout_ms > 0)
    c->job.timeout_ns = s->p.start_timeout_ms * 1000000LL;
  c->job.prio = s->rank_up;
  c->lc = lc;
  atomic_fetch_add(&lc->refs, 1);
  c->svc = s;
  c->attempt = s->attempt;
  c->destroy = s->p.destroy;
  c->type = s->p.type;
  c->arg = s->p.arg;
  roster__set_state(lc, s, ROSTER_STATE_STARTING, ROSTER_OK, NULL);
  roster__workers_submit(lc->workers, &c->job);
}

/* roster__kick_start starts s if it is wanted, down and its dependencies
 * are up. Lock held. */
void roster__kick_start(roster__lc *lc, roster__svc *s) {
  if (!s->want_up || s->stop_req || roster__svc_up(s) ||
      s->state == ROSTER_STATE_STARTING || s->state == ROSTER_STATE_STOPPING)
    return;
  if (s->restart_at_ns && s->restart_at_ns > roster__mono_ns())
    return; /* the supervisor starts it when the backoff ends */
  if (lc->phase == ROSTER__LC_STOPPING || lc->phase == ROSTER__LC_CLOSED ||
      !lc->workers || !roster__deps_up(s))
    return;
  start_svc(lc, s);
}

/* roster__create_inline creates s on this thread (a lazy roster_get). Lock
 * held on entry and exit; s was down and nobody was creating it. */
int roster__create_inline(roster__lc *lc, roster__svc *s) {
  uint64_t attempt = ++s->attempt;
  s->want_up = true; /* once up, restarts bring it back */
  s->restart_at_ns = 0;
  roster__set_state(lc, s, ROSTER_STATE_STARTING, ROSTER_OK, NULL);
  pthread_mutex_unlock(&lc->lock);
  roster__drain(lc, false);
  void *inst = NULL;
  char detail[256];
  int rc = call_create(lc, s, &inst, detail, sizeof detail);
  rc = created(lc, s, attempt, rc, inst, detail);
  pthread_mutex_lock(&lc->lock);
  if (rc && s->attempt == attempt)
    roster__err(rc, "%s", s->detail);
  return rc;
}

/* ---- stop ------------------------------------------------------------ */

typedef struct stop_job {
  roster__job job;
  roster__lc *lc;
  roster__svc *svc;
  roster__inst *inst;
  int rc;
  char detail[200];
} stop_job;

static void stop_run(roster__job *j) {
  stop_job *c = (stop_job *)j;
  roster__lc *lc = c->lc;
  roster__svc *s = c->svc;
  roster__thread_ensure();
  roster__unregister_inst(lc->r, s->ns, s->name, c->inst);
  /* Wait until no reader and no acquired reference can see it. */
  int64_t deadline = s->p.stop_timeout_ms > 0
                         ? roster__mono_ns() + s->p.stop_timeout_ms * 1000000LL
                         : 0;
  pthread_mutex_lock(&lc->lock);
  while (atomic_load(&c->inst->state) == ROSTER__INST_LIVE) {
    if (deadline && roster__mono_ns() >= deadline) {
      int live = ROSTER__INST_LIVE;
      if (atomic_compare_exchange_strong(&c->inst->state, &live,
                                         ROSTER__INST_ORPHANED)) {
        pthread_mutex_unlock(&lc->lock);
        c->rc = ROSTER_ETIMEDOUT;
        snprintf(c->detail, sizeof c->detail,
                 "references still held after %lld ms; it will be "
                 "destroyed when the last is released",
                 (long long)s->p.stop_timeout_ms);
        return;
      }
      break;
    }
    if (deadline) {
      struct timespec ts;
      roster__deadline(&ts, deadline);
      pthread_cond_timedwait(&lc->cond, &lc->lock, &ts);
    } else {
      pthread_cond_wait(&lc->cond, &lc->lock);
    }
  }
  pthread_mutex_unlock(&lc->lock);
  /* Released: no reference left. After one grace period no reader can
   * still be looking at the entry either. */
  urcu_bp_synchronize_rcu();
  roster__entry_free_synced(c->inst->entry);
  inst_destroy_now(c->inst);
  roster__inst_put(c->inst); /* the entry's reference */
  c->rc = ROSTER_OK;
}

static void stopped(roster__lc *lc, roster__svc *s, roster__inst *in, int rc,
                    const char *why) {
  pthread_mutex_lock(&lc->lock);
  bool put = s->inst == in;
  if (put)
    s->inst = NULL;
  s->stop_req = false;
  s->checking = false;
  enum roster__after after = s->after;
  s->after = ROSTER__AFTER_STAY;
  char msg[400];
  if (rc) {
    snprintf(msg, sizeof msg, "service '%s' did not stop cleanly: %s", s->name,
             why);
    roster__set_state(lc, s, ROSTER_STATE_FAILED, rc, msg);
  } else if (after == ROSTER__AFTER_RESTART && s->err == ROSTER_OK) {
    /* a normal exit with a restart to come: a stop, not a failure */
    roster__set_state(lc, s, ROSTER_STATE_STOPPED, ROSTER_OK, s->detail);
  } else if (after == ROSTER__AFTER_RESTART || after == ROSTER__AFTER_FAIL) {
    /* svc_fail decided: the error is already in s->err/detail */
    roster__set_state(lc, s, ROSTER_STATE_FAILED,
                      s->err ? s->err : ROSTER_EFAILED, s->detail);
  } else if (after == ROSTER__AFTER_WAIT_DEP) {
    roster__set_state(lc, s, ROSTER_STATE_STOPPED, ROSTER_OK,
                      "waiting for a dependency to restart");
  } else {
    roster__set_state(lc, s, ROSTER_STATE_STOPPED, s->err, s->detail);
  }
  if (after == ROSTER__AFTER_RESTART)
    roster__sup_ensure(lc); /* the supervisor starts it after the backoff */
  /* What s used may stop now; what waits for s may restart later. */
  for (size_t i = 0; i < s->ndeps; i++)
    if (s->dep_svc[i])
      roster__kick_stop(lc, s->dep_svc[i]);
  roster__kick_start(lc, s);
  pthread_mutex_unlock(&lc->lock);
  if (put)
    roster__inst_put(in); /* the service's reference */
  roster__drain(lc, false);
}

static void stop_done(roster__job *j) {
  stop_job *c = (stop_job *)j;
  stopped(c->lc, c->svc, c->inst, c->rc, c->detail);
}

static void stop_timeout(roster__job *j) {
  stop_job *c = (stop_job *)j;
  char msg[128];
  snprintf(msg, sizeof msg,
           "stop did not finish within %lld ms "
           "(abandoned)",
           (long long)c->svc->p.stop_timeout_ms);
  stopped(c->lc, c->svc, c->inst, ROSTER_ETIMEDOUT, msg);
}

static void stop_drop(roster__job *j) {
  stop_job *c = (stop_job *)j;
  roster__inst_put(c->inst);
  roster__lc_put(c->lc);
  roster__free(c);
}

/* roster__kick_stop stops s if asked to and nothing being stopped still
 * uses it. Lock held. */
void roster__kick_stop(roster__lc *lc, roster__svc *s) {
  if (!s->stop_req || !roster__svc_up(s))
    return;
  for (size_t i = 0; i < s->nusers; i++) {
    roster__svc *u = s->users[i];
    if (u->stop_req &&
        (roster__svc_up(u) || u->state == ROSTER_STATE_STARTING ||
         u->state == ROSTER_STATE_STOPPING))
      return;
  }
  stop_job *c = roster__calloc(1, sizeof *c);
  if (!c)
    return; /* retried on the next kick */
  c->job = (roster__job){.run = stop_run,
                         .done = stop_done,
                         .on_timeout = stop_timeout,
                         .drop = stop_drop};
  atomic_init(&c->job.refs, 1);
  /* the whole stop (release wait + destroy) gets the stop timeout, plus a
   * little so that the release wait reports itself first */
  if (s->p.stop_timeout_ms > 0)
    c->job.timeout_ns = s->p.stop_timeout_ms * 1000000LL + 50000000LL;
  c->job.prio = s->rank_down;
  c->lc = lc;
  atomic_fetch_add(&lc->refs, 1);
  c->svc = s;
  c->inst = s->inst;
  atomic_fetch_add(&c->inst->refs, 1);
  roster__set_state(lc, s, ROSTER_STATE_STOPPING, s->err, s->detail);
  roster__workers_submit(lc->workers, &c->job);
}

/* roster__request_stop marks s to stop (and, first, everything up that
 * depends on it with on_dep = restart). Only a service that is up or
 * starting is marked: one that is down has nothing to stop, and a mark left
 * on it would keep it from ever starting again. Lock held. */
void roster__request_stop(roster__lc *lc, roster__svc *s,
                          enum roster__after after) {
  if (s->stop_req) {
    roster__kick_stop(lc, s);
    return;
  }
  if (!roster__svc_up(s) && s->state != ROSTER_STATE_STARTING)
    return;
  s->stop_req = true;
  s->after = after;
  for (size_t i = 0; i < s->nusers; i++) {
    roster__svc *u = s->users[i];
    if (!(roster__svc_up(u) || u->state == ROSTER_STATE_STARTING) ||
        u->p.on_dep != ROSTER_ON_DEP_RESTART)
      continue;
    enum roster__after ua = after;
    if (after == ROSTER__AFTER_RESTART || after == ROSTER__AFTER_WAIT_DEP) {
      ua = ROSTER__AFTER_WAIT_DEP;
    } else if (lc->phase == ROSTER__LC_RUNNING ||
               lc->phase == ROSTER__LC_IDLE) {
      /* s will not come back: neither will what needs it */
      u->want_up = false;
      u->restart_at_ns = 0;
      u->err = after == ROSTER__AFTER_FAIL ? ROSTER_EFAILED : ROSTER_OK;
      snprintf(u->detail, sizeof u->detail, "dependency '%s' %s", s->name,
               after == ROSTER__AFTER_FAIL ? "failed" : "exited");
    }
    roster__request_stop(lc, u, ua);
  }
  roster__kick_stop(lc, s);
}

/* roster__svc_fail: s, which was up, failed (or exited normally). Decide by
 * its policy and the intensity limit; stop it (and the users that cannot
 * outlive it); schedule the restart. Lock held. */
void roster__svc_fail(roster__lc *lc, roster__svc *s, int code,
                      const char *detail, bool normal_exit) {
  if (lc->phase != ROSTER__LC_RUNNING && lc->phase != ROSTER__LC_IDLE)
    return;
  bool restart = s->p.restart == ROSTER_RESTART_ALWAYS ||
                 (s->p.restart == ROSTER_RESTART_ON_FAILURE && !normal_exit);
  int64_t now = roster__mono_ns();
  int64_t window = s->p.restart_window_ms * 1000000LL;
  size_t recent = 0;
  for (size_t i = 0; i < s->hist_n; i++)
    if (now - s->hist[i] < window)
      recent++;
  char msg[512];
  lc_copy(msg, sizeof msg, detail ? detail : "");
  if (restart && recent >= s->p.max_restarts) {
    restart = false;
    snprintf(msg, sizeof msg,
             "service '%s' restarted %zu times in %lld ms; "
             "giving up: %s",
             s->name, recent, (long long)s->p.restart_window_ms,
             detail ? detail : "");
    code = ROSTER_EFAILED;
    normal_exit = false;
  }
  if (restart) {
    /* k-th restart in the window: d = min(max, min * 2^k), jittered
     * uniformly into [d/2, d] so restarts of many services spread out. */
    int64_t d = s->p.backoff_min_ms;
    for (size_t k = 0; k < recent && d < s->p.backoff_max_ms; k++)
      d *= 2;
    if (d > s->p.backoff_max_ms)
      d = s->p.backoff_max_ms;
    lc->rng ^= lc->rng << 13;
    lc->rng ^= lc->rng >> 7;
    lc->rng ^= lc->rng << 17;
    int64_t half = d * 1000000LL / 2;
    int64_t delay =
        half + (half ? (int64_t)(lc->rng % (uint64_t)(half + 1)) : 0);
    /* record the restart */
    if (s->hist_n < s->p.max_restarts) {
      s->hist[s->hist_n++] = now;
    } else {
      size_t oldest = 0;
      for (size_t i = 1; i < s->hist_n; i++)
        if (s->hist[i] < s->hist[oldest])
          oldest = i;
      s->hist[oldest] = now;
    }
    s->restarts++;
    s->restart_at_ns = now + (delay > 0 ? delay : 1);
    s->want_up = true;
  } else {
    s->restart_at_ns = 0;
    s->want_up = false;
  }
  s->err = normal_exit ? ROSTER_OK : code;
  lc_copy(s->detail, sizeof s->detail, msg);
  if (roster__svc_up(s)) {
    roster__request_stop(lc, s,
                         restart       ? ROSTER__AFTER_RESTART
                         : normal_exit ? ROSTER__AFTER_STAY
                                       : ROSTER__AFTER_FAIL);
  } else {
    /* it was not up (a restart's create failed): no stop needed */
    roster__set_state(lc, s,
                      normal_exit ? ROSTER_STATE_STOPPED : ROSTER_STATE_FAILED,
                      s->err, s->detail);
    if (restart)
      roster__sup_ensure(lc);
  }
  if (!restart) {
    /* users already stopped, waiting for s to come back, will not see it */
    for (size_t i = 0; i < s->nusers; i++) {
      roster__svc *u = s->users[i];
      if (u->want_up && !u->stop_req && u->state == ROSTER_STATE_STOPPED &&
          u->p.on_dep == ROSTER_ON_DEP_RESTART) {
        u->want_up = false;
        char m[400];
        snprintf(m, sizeof m, "dependency '%s' %s", s->name,
                 normal_exit ? "exited" : "failed");
        roster__set_state(
            lc, u, normal_exit ? ROSTER_STATE_STOPPED : ROSTER_STATE_FAILED,
            normal_exit ? ROSTER_OK : ROSTER_EFAILED, m);
      }
    }
  }
  pthread_cond_signal(&lc->sup_cond);
}

/* roster__kick_all: kick every service (after a phase change). Lock held. */
void roster__kick_all(roster__lc *lc) {
  for (roster__svc *s = lc->head; s; s = s->next) {
    roster__kick_start(lc, s);
    roster__kick_stop(lc, s);
  }
}
