/*
 * sched.c: the scheduler's public calls (roster_sched_*): making,
 * starting and stopping a scheduler, and adding, removing, switching,
 * running and listing its jobs. The timer is in sched_timer.c, the
 * workers in sched_worker.c.
 */
#include "sched_impl.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MAX_WORKERS 64
#define DEFAULT_WORKERS 4
#define DEFAULT_QUEUE_MAX 16

/* deadline_of: the CLOCK_MONOTONIC deadline ms from now (real time: a
 * caller's wait is real even with a custom clock). */
static struct timespec deadline_of(int64_t ms) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  int64_t ns = (int64_t)ts.tv_sec * RS_NS + ts.tv_nsec + ms * RS_MS;
  ts.tv_sec = (time_t)(ns / RS_NS);
  ts.tv_nsec = (long)(ns % RS_NS);
  return ts;
}

/* wait_done waits on done_cv until *until; false once it has passed. */
static bool wait_done(roster_sched *s, int64_t timeout_ms,
                      const struct timespec *until) {
  if (timeout_ms < 0) {
    pthread_cond_wait(&s->done_cv, &s->mu);
    return true;
  }
  return pthread_cond_timedwait(&s->done_cv, &s->mu, until) != ETIMEDOUT;
}

int roster_sched_new(const roster_sched_options *opts, roster_sched **out) {
  roster_sched_options none = {0};
  if (!out)
    return roster_error_set(ROSTER_EINVAL, "roster_sched_new: out is NULL");
  *out = NULL;
  if (!opts)
    opts = &none;
  if (opts->workers > MAX_WORKERS)
    return roster_error_set(ROSTER_EINVAL,
                            "scheduler: %u workers is more than %d",
                            opts->workers, MAX_WORKERS);
  if (opts->clock && (!opts->clock->now_wall_ns || !opts->clock->now_mono_ns))
    return roster_error_set(ROSTER_EINVAL,
                            "scheduler: the clock needs both now_wall_ns and "
                            "now_mono_ns");
  if (opts->stop_timeout_ms < 0)
    return roster_error_set(ROSTER_EINVAL,
                            "scheduler: stop_timeout_ms %lld is negative",
                            (long long)opts->stop_timeout_ms);
  const roster_tz *tz;
  int rc = opts->tz ? roster_tz_get(opts->tz, &tz) : roster_tz_local(&tz);
  if (rc != ROSTER_OK)
    return rc;
  roster_sched *s = roster_mem_calloc(1, sizeof *s);
  if (!s)
    return roster_error_set(ROSTER_ENOMEM, "scheduler: out of memory");
  pthread_mutex_init(&s->mu, NULL);
  roster__cond_init_mono(&s->timer_cv);
  roster__cond_init_mono(&s->work_cv);
  roster__cond_init_mono(&s->done_cv);
  s->state = RS_NEW;
  s->refs = 1;
  s->nworkers = opts->workers ? opts->workers : DEFAULT_WORKERS;
  s->tz = tz;
  if (opts->clock) {
    s->custom_clock = true;
    s->clock = *opts->clock;
  }
  s->on_event = opts->on_event;
  s->event_arg = opts->event_arg;
  s->claim = opts->claim;
  s->claim_arg = opts->claim_arg;
  if (opts->log) {
    if (roster_log_child(opts->log, RL_FIELDS(RL_STR("component", "cron")),
                         &s->log) != ROSTER_OK) {
      roster__sched_destroy(s);
      return roster_error_set(ROSTER_ENOMEM, "scheduler: out of memory "
                                             "(its logger)");
    }
  }
  s->stop_timeout_ms = opts->stop_timeout_ms ? opts->stop_timeout_ms : 10000;
  s->rng = opts->seed
               ? opts->seed
               : (uint64_t)roster__sched_mono(s) * 0x9e3779b97f4a7c15ull + 1;
  if (!s->rng)
    s->rng = 1;
  *out = s;
  return ROSTER_OK;
}

int roster_sched_start(roster_sched *s) {
  if (!s)
    return roster_error_set(ROSTER_EINVAL, "roster_sched_start: s is NULL");
  pthread_mutex_lock(&s->mu);
  if (s->state != RS_NEW) {
    pthread_mutex_unlock(&s->mu);
    return roster_error_set(ROSTER_ESTATE,
                            "scheduler: already %s (a scheduler starts once)",
                            s->state == RS_STARTED ? "started" : "stopped");
  }
  s->workers = roster_mem_calloc(s->nworkers, sizeof *s->workers);
  if (!s->workers) {
    pthread_mutex_unlock(&s->mu);
    return roster_error_set(ROSTER_ENOMEM, "scheduler: out of memory");
  }
  s->state = RS_STARTED;
  s->mark_ns = roster__sched_wall(s);
  int64_t from = roster__sched_from_s(s);
  rs_evq q = {0};
  for (rs_job *j = s->jobs; j; j = j->next)
    if (j->enabled) {
      roster__sched_schedule(s, j, from);
      if (j->run_on_start)
        roster__sched_dispatch(s, j, ROSTER_TRIGGER_START, 0, &q);
    }
  int e = ROSTER_OK;
  unsigned made = 0;
  for (; made < s->nworkers && !e; made++) {
    rs_worker *w = roster_mem_calloc(1, sizeof *w);
    if (!w) {
      e = roster_error_set(ROSTER_ESYS, "%s", strerror(ENOMEM));
      break;
    }
    w->s = s;
    e = roster__thread_start(&w->thread, "roster-cron", false,
                             roster__sched_worker_main, w);
    if (e) {
      roster_mem_free(w);
      break;
    }
    s->workers[made] = w;
  }
  if (!e) {
    e = roster__thread_start(&s->timer, "roster-cron-tmr", false,
                             roster__sched_timer_main, s);
    s->timer_started = e == 0;
  }
  if (e) { /* undo: stop what started */
    e = roster__err_wrap(e, "scheduler: cannot start a thread");
    s->state = RS_STOPPED;
    rs_job *gone = roster__sched_drop_runs(s, NULL);
    (void)gone; /* no job is removed yet */
    pthread_cond_broadcast(&s->work_cv);
    pthread_mutex_unlock(&s->mu);
    for (unsigned i = 0; i < s->nworkers; i++)
      if (s->workers[i]) {
        pthread_join(s->workers[i]->thread, NULL);
        roster_mem_free(s->workers[i]);
        s->workers[i] = NULL;
      }
    roster__sched_evq_free(&q);
    return e;
  }
  pthread_mutex_unlock(&s->mu);
  roster__sched_evq_deliver(s, &q);
  roster__sched_evq_free(&q);
  return ROSTER_OK;
}

int roster_sched_stop(roster_sched *s, int64_t deadline_ms) {
  if (!s)
    return roster_error_set(ROSTER_EINVAL, "roster_sched_stop: s is NULL");
  if (roster__sched_self == s)
    return roster_error_set(ROSTER_ESTATE,
                            "roster_sched_stop: called from one of the "
                            "scheduler's own jobs or event callbacks");
  pthread_mutex_lock(&s->mu);
  if (s->state != RS_STARTED) {
    if (s->state == RS_NEW)
      s->state = RS_STOPPED;
    pthread_mutex_unlock(&s->mu);
    return ROSTER_OK;
  }
  s->state = RS_STOPPING;
  rs_job *gone = roster__sched_drop_runs(s, NULL); /* no new run starts */
  pthread_cond_broadcast(&s->work_cv);
  pthread_cond_broadcast(&s->timer_cv);
  pthread_mutex_unlock(&s->mu);
  if (s->timer_started)
    pthread_join(s->timer, NULL);
  s->timer_started = false;

  /* Wait for the runs in progress; idle workers leave at once. */
  struct timespec until = deadline_of(deadline_ms < 0 ? 0 : deadline_ms);
  pthread_mutex_lock(&s->mu);
  while (s->active && wait_done(s, deadline_ms, &until))
    ;
  int rc = ROSTER_OK;
  char names[512] = "";
  size_t len = 0;
  rs_worker *join[MAX_WORKERS];
  unsigned njoin = 0;
  for (unsigned i = 0; i < s->nworkers; i++) {
    rs_worker *w = s->workers[i];
    if (!w)
      continue;
    if (!w->busy) {
      join[njoin++] = w;
    } else { /* its job overran the deadline: let it finish alone */
      w->orphan = true;
      s->refs++;
      pthread_detach(w->thread);
    }
    s->workers[i] = NULL;
  }
  if (s->active) {
    atomic_store(&s->quiet, true);
    for (rs_active *a = s->active; a; a = a->next)
      if (len < sizeof names - 1)
        len += (size_t)snprintf(names + len, sizeof names - len, "%s'%s'",
                                len ? ", " : "", a->job->name);
    rc = ROSTER_ETIMEDOUT;
  }
  s->state = RS_STOPPED;
  pthread_cond_broadcast(&s->done_cv);
  pthread_mutex_unlock(&s->mu);
  for (unsigned i = 0; i < njoin; i++) {
    pthread_join(join[i]->thread, NULL);
    roster_mem_free(join[i]);
  }
  while (gone) {
    rs_job *n = gone->next;
    roster__sched_job_free(gone);
    gone = n;
  }
  if (rc != ROSTER_OK)
    return roster_error_set(rc,
                            "scheduler: jobs still running after the %lld ms "
                            "stop deadline: %s",
                            (long long)deadline_ms, names);
  return ROSTER_OK;
}

void roster_sched_free(roster_sched *s) {
  if (!s)
    return;
  roster_sched_stop(s, s->stop_timeout_ms);
  pthread_mutex_lock(&s->mu);
  rs_job *gone = NULL;
  while (s->jobs) {
    rs_job *j = s->jobs;
    s->jobs = j->next;
    j->removed = true;
    if (j->running == 0) {
      j->next = gone;
      gone = j;
    } /* else its orphaned worker frees it when the run returns */
  }
  bool last = --s->refs == 0;
  pthread_mutex_unlock(&s->mu);
  while (gone) {
    rs_job *n = gone->next;
    roster__sched_job_free(gone);
    gone = n;
  }
  if (last)
    roster__sched_destroy(s);
}

/* ---- jobs --------------------------------------------------------- */

static rs_job *find(roster_sched *s, const char *name) {
  for (rs_job *j = s->jobs; j; j = j->next)
    if (strcmp(j->name, name) == 0)
      return j;
  return NULL;
}

static int check_name(const char *fn, const char *name) {
  if (!name)
    return roster_error_set(ROSTER_EINVAL, "%s: the job name is NULL", fn);
  size_t len = strnlen(name, ROSTER_NAME_MAX + 1);
  if (len == 0 || len > ROSTER_NAME_MAX)
    return roster_error_set(ROSTER_EINVAL,
                            "%s: a job name must be 1 to %d bytes, not %s", fn,
                            ROSTER_NAME_MAX, len ? "longer" : "empty");
  return ROSTER_OK;
}

/* lookup locks s and finds name; on error s is unlocked. */
static int lookup(roster_sched *s, const char *fn, const char *name,
                  rs_job **out) {
  if (!s)
    return roster_error_set(ROSTER_EINVAL, "%s: s is NULL", fn);
  int rc = check_name(fn, name);
  if (rc != ROSTER_OK)
    return rc;
  pthread_mutex_lock(&s->mu);
  *out = find(s, name);
  if (!*out) {
    pthread_mutex_unlock(&s->mu);
    return roster_error_set(ROSTER_ENOENT, "%s: no job '%s'", fn, name);
  }
  return ROSTER_OK;
}

static void changed(roster_sched *s) {
  s->dirty = true;
  pthread_cond_signal(&s->timer_cv);
}

int roster_sched_add(roster_sched *s, const char *name, const char *expr,
                     roster_job_fn fn, void *arg,
                     const roster_job_options *opts) {
  static const char *const me = "roster_sched_add";
  roster_job_options none = {0};
  if (!opts)
    opts = &none;
  if (!s || !fn)
    return roster_error_set(ROSTER_EINVAL, "%s: %s is NULL", me,
                            s ? "fn" : "s");
  int rc = check_name(me, name);
  if (rc != ROSTER_OK)
    return rc;
  if (opts->overlap < ROSTER_OVERLAP_SKIP ||
      opts->overlap > ROSTER_OVERLAP_ALLOW || opts->timeout_ms < 0 ||
      opts->jitter_ms < 0 || opts->jitter_ms > 86400000 ||
      opts->queue_max > 1000000)
    return roster_error_set(
        ROSTER_EINVAL,
        "job '%s': bad options (overlap %d; timeout_ms %lld and jitter_ms "
        "%lld must be >= 0, jitter at most a day; queue_max at most 1000000)",
        name, (int)opts->overlap, (long long)opts->timeout_ms,
        (long long)opts->jitter_ms);
  roster_cron *c;
  if (!expr)
    return roster_error_set(ROSTER_EINVAL, "job '%s': the schedule is NULL",
                            name);
  roster_cron_error err;
  if (roster_cron_parse(expr, &c, &err) != ROSTER_OK) {
    if (roster_last_code() == ROSTER_ENOMEM)
      return ROSTER_ENOMEM;
    return roster_error_set(ROSTER_EINVAL,
                            "job '%s': cron expression '%.64s': column %zu: %s",
                            name, expr, err.column, err.message);
  }
  const roster_tz *tz = s->tz;
  if (opts->tz && (rc = roster_tz_get(opts->tz, &tz)) != ROSTER_OK) {
    rc = roster__err_wrap(rc, "job '%s'", name);
    roster_cron_free(c);
    return rc;
  }
  int64_t probe;
  if (!roster__cron_fire_after(c, roster__sched_wall(s) / RS_NS, tz, &probe)) {
    rc = roster_error_set(ROSTER_EINVAL,
                          "job '%s': cron expression '%s' never fires in %s",
                          name, c->text, roster_tz_name(tz));
    roster_cron_free(c);
    return rc;
  }
  rs_job *j = roster_mem_calloc(1, sizeof *j);
  char *nm = roster_mem_strdup(name);
  if (!j || !nm) {
    roster_mem_free(j);
    roster_mem_free(nm);
    roster_cron_free(c);
    return roster_error_set(ROSTER_ENOMEM, "job '%s': out of memory", name);
  }
  j->name = nm;
  j->cron = c;
  j->tz = tz;
  j->fn = fn;
  j->arg = arg;
  j->enabled_fn = opts->enabled;
  j->free_arg = opts->free_arg;
  j->overlap = opts->overlap;
  j->queue_max = opts->queue_max ? opts->queue_max : DEFAULT_QUEUE_MAX;
  j->timeout_ns = opts->timeout_ms * RS_MS;
  j->jitter_ns = opts->jitter_ms * RS_MS;
  j->run_on_start = opts->run_on_start;
  j->local = opts->local;
  j->wildcard = rc_wildcard(c);
  j->enabled = !opts->disabled;
  j->next_at = RS_NONE;

  pthread_mutex_lock(&s->mu);
  if (s->state == RS_STOPPING || s->state == RS_STOPPED) {
    pthread_mutex_unlock(&s->mu);
    j->free_arg = NULL;
    roster__sched_job_free(j);
    return roster_error_set(ROSTER_ESTATE, "job '%s': the scheduler is stopped",
                            name);
  }
  rs_job **pp = &s->jobs;
  while (*pp && strcmp((*pp)->name, name) < 0)
    pp = &(*pp)->next;
  if (*pp && strcmp((*pp)->name, name) == 0) {
    pthread_mutex_unlock(&s->mu);
    j->free_arg = NULL;
    roster__sched_job_free(j);
    return roster_error_set(ROSTER_EEXIST, "job '%s' already exists", name);
  }
  j->next = *pp;
  *pp = j;
  rs_evq q = {0};
  if (s->state == RS_STARTED && j->enabled) {
    roster__sched_schedule(s, j, roster__sched_from_s(s));
    if (j->run_on_start)
      roster__sched_dispatch(s, j, ROSTER_TRIGGER_START, 0, &q);
  }
  changed(s);
  pthread_mutex_unlock(&s->mu);
  roster__sched_evq_deliver(s, &q);
  roster__sched_evq_free(&q);
  return ROSTER_OK;
}

int roster_sched_remove(roster_sched *s, const char *name) {
  rs_job *j;
  int rc = lookup(s, "roster_sched_remove", name, &j);
  if (rc != ROSTER_OK)
    return rc;
  for (rs_job **pp = &s->jobs; *pp; pp = &(*pp)->next)
    if (*pp == j) {
      *pp = j->next;
      break;
    }
  j->removed = true;
  j->next = NULL;
  rs_job *gone = roster__sched_drop_runs(s, j);
  changed(s);
  pthread_mutex_unlock(&s->mu);
  if (gone)
    roster__sched_job_free(gone);
  return ROSTER_OK;
}

static int set_enabled(roster_sched *s, const char *fn, const char *name,
                       bool on) {
  rs_job *j;
  int rc = lookup(s, fn, name, &j);
  if (rc != ROSTER_OK)
    return rc;
  if (j->enabled != on) {
    j->enabled = on;
    if (!on)
      j->next_at = RS_NONE;
    else if (s->state == RS_STARTED)
      roster__sched_schedule(s, j, roster__sched_from_s(s));
    changed(s);
  }
  pthread_mutex_unlock(&s->mu);
  return ROSTER_OK;
}

int roster_sched_enable(roster_sched *s, const char *name) {
  return set_enabled(s, "roster_sched_enable", name, true);
}

int roster_sched_disable(roster_sched *s, const char *name) {
  return set_enabled(s, "roster_sched_disable", name, false);
}

int roster_sched_run_now(roster_sched *s, const char *name) {
  rs_job *j;
  int rc = lookup(s, "roster_sched_run_now", name, &j);
  if (rc != ROSTER_OK)
    return rc;
  if (s->state != RS_STARTED) {
    pthread_mutex_unlock(&s->mu);
    return roster_error_set(ROSTER_ESTATE,
                            "job '%s': the scheduler is not running", name);
  }
  rc = roster__sched_dispatch(s, j, ROSTER_TRIGGER_NOW, 0, NULL);
  unsigned running = j->running + j->in_pool, waiting = j->waiting;
  pthread_mutex_unlock(&s->mu);
  if (rc == ROSTER_EBUSY)
    return roster_error_set(ROSTER_EBUSY,
                            "job '%s' is busy (%u running or starting, %u "
                            "waiting) and its overlap policy does not take "
                            "another run",
                            name, running, waiting);
  return rc;
}

static void fill_stats(roster_sched *s, const rs_job *j, roster_job_stats *o) {
  o->enabled = j->enabled;
  o->running = j->running;
  o->waiting = j->in_pool + j->waiting;
  o->runs = j->runs;
  o->failures = j->failures;
  o->skipped = j->skipped;
  o->elsewhere = j->elsewhere;
  o->next_run = s->state == RS_STARTED && j->enabled && j->next_at != RS_NONE
                    ? j->next_at
                    : 0;
  o->last_start_unix_ms = j->last_start_ms;
  o->last_lateness_ns = j->last_lateness_ns;
  o->last_end_unix_ms = j->last_end_ms;
  o->last_duration_ns = j->last_duration_ns;
  o->last_error = j->last_error;
}

int roster_sched_stats_get(roster_sched *s, const char *name,
                           roster_job_stats *out) {
  if (!out)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_sched_stats_get: out is NULL");
  rs_job *j;
  int rc = lookup(s, "roster_sched_stats_get", name, &j);
  if (rc != ROSTER_OK)
    return rc;
  fill_stats(s, j, out);
  pthread_mutex_unlock(&s->mu);
  return ROSTER_OK;
}

int roster_sched_list(roster_sched *s, roster_job_list *out) {
  if (!s || !out)
    return roster_error_set(ROSTER_EINVAL, "roster_sched_list: %s is NULL",
                            s ? "out" : "s");
  out->count = 0;
  out->items = NULL;
  pthread_mutex_lock(&s->mu);
  size_t n = 0;
  for (rs_job *j = s->jobs; j; j = j->next)
    n++;
  roster_job_info *items = n ? roster_mem_calloc(n, sizeof *items) : NULL;
  bool ok = !n || items;
  size_t i = 0;
  for (rs_job *j = s->jobs; ok && j; j = j->next, i++) {
    items[i].name = roster_mem_strdup(j->name);
    items[i].expr = roster_mem_strdup(j->cron->text);
    items[i].tz = roster_mem_strdup(roster_tz_name(j->tz));
    fill_stats(s, j, &items[i].stats);
    ok = items[i].name && items[i].expr && items[i].tz;
    if (!ok)
      i++;
  }
  pthread_mutex_unlock(&s->mu);
  out->items = items;
  out->count = ok ? n : i;
  if (!ok) {
    roster_job_list_free(out);
    return roster_error_set(ROSTER_ENOMEM, "roster_sched_list: out of memory");
  }
  return ROSTER_OK;
}

void roster_job_list_free(roster_job_list *list) {
  if (!list)
    return;
  for (size_t i = 0; i < list->count; i++) {
    roster_mem_free((void *)list->items[i].name);
    roster_mem_free((void *)list->items[i].expr);
    roster_mem_free((void *)list->items[i].tz);
  }
  roster_mem_free(list->items);
  list->items = NULL;
  list->count = 0;
}

int roster_sched_tick(roster_sched *s, int64_t timeout_ms) {
  if (!s)
    return roster_error_set(ROSTER_EINVAL, "roster_sched_tick: s is NULL");
  if (roster__sched_self == s)
    return roster_error_set(ROSTER_ESTATE,
                            "roster_sched_tick: called from one of the "
                            "scheduler's own jobs or event callbacks");
  struct timespec until = deadline_of(timeout_ms < 0 ? 0 : timeout_ms);
  pthread_mutex_lock(&s->mu);
  if (s->state != RS_STARTED) {
    pthread_mutex_unlock(&s->mu);
    return roster_error_set(ROSTER_ESTATE,
                            "roster_sched_tick: the scheduler is not running");
  }
  uint64_t want = ++s->tick_req;
  pthread_cond_signal(&s->timer_cv);
  while (s->tick_done < want && s->state == RS_STARTED)
    if (!wait_done(s, timeout_ms, &until)) {
      pthread_mutex_unlock(&s->mu);
      return roster_error_set(ROSTER_ETIMEDOUT,
                              "roster_sched_tick: the timer did not finish a "
                              "pass within %lld ms",
                              (long long)timeout_ms);
    }
  bool stopped = s->tick_done < want;
  pthread_mutex_unlock(&s->mu);
  if (stopped)
    return roster_error_set(ROSTER_ESTATE,
                            "roster_sched_tick: the scheduler stopped");
  return ROSTER_OK;
}

int roster_sched_wait_idle(roster_sched *s, int64_t timeout_ms) {
  if (!s)
    return roster_error_set(ROSTER_EINVAL, "roster_sched_wait_idle: s is NULL");
  if (roster__sched_self == s)
    return roster_error_set(ROSTER_ESTATE,
                            "roster_sched_wait_idle: called from one of the "
                            "scheduler's own jobs or event callbacks");
  struct timespec until = deadline_of(timeout_ms < 0 ? 0 : timeout_ms);
  pthread_mutex_lock(&s->mu);
  while (s->busy > 0)
    if (!wait_done(s, timeout_ms, &until)) {
      size_t busy = s->busy;
      pthread_mutex_unlock(&s->mu);
      return roster_error_set(ROSTER_ETIMEDOUT,
                              "roster_sched_wait_idle: %zu runs still waiting "
                              "or running after %lld ms",
                              busy, (long long)timeout_ms);
    }
  pthread_mutex_unlock(&s->mu);
  return ROSTER_OK;
}

const char *roster_job_event_name(roster_job_event_kind k) {
  switch (k) {
  case ROSTER_JOB_STARTED:
    return "started";
  case ROSTER_JOB_FINISHED:
    return "finished";
  case ROSTER_JOB_FAILED:
    return "failed";
  case ROSTER_JOB_SLOW:
    return "slow";
  case ROSTER_JOB_SKIPPED:
    return "skipped";
  }
  return "?";
}

const char *roster_job_trigger_name(roster_job_trigger t) {
  switch (t) {
  case ROSTER_TRIGGER_SCHEDULE:
    return "schedule";
  case ROSTER_TRIGGER_CATCH_UP:
    return "catch-up";
  case ROSTER_TRIGGER_START:
    return "start";
  case ROSTER_TRIGGER_NOW:
    return "now";
  }
  return "?";
}
