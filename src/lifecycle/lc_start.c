/*
 * lc_start.c: the calls a program makes on its services: start, wait for
 * ready, shut down, lazy creation on a lookup miss, exit reports, state and
 * health queries.
 */
#include "lc_impl.h"

#include <stdio.h>

static void deadline_of(int64_t timeout_ms, int64_t *abs_ns) {
  *abs_ns = timeout_ms < 0 ? 0 : roster__mono_ns() + timeout_ms * 1000000LL;
}

/* wait_until waits on lc->cond; false once abs_ns (0: none) has passed. */
static bool wait_until(roster__lc *lc, int64_t abs_ns) {
  if (!abs_ns) {
    pthread_cond_wait(&lc->cond, &lc->lock);
    return true;
  }
  if (roster__mono_ns() >= abs_ns)
    return false;
  struct timespec ts;
  roster__deadline(&ts, abs_ns);
  pthread_cond_timedwait(&lc->cond, &lc->lock, &ts);
  return true;
}

static bool busy(const roster__svc *s) {
  return roster__svc_up(s) || s->state == ROSTER_STATE_STARTING ||
         s->state == ROSTER_STATE_STOPPING;
}

/* names appends "a (starting), b (degraded)" for services matching pred. */
static void names(char *buf, size_t cap, roster__svc **v, size_t n,
                  bool (*pred)(const roster__svc *)) {
  size_t o = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < n && o + 1 < cap; i++)
    if (pred(v[i]))
      o += (size_t)snprintf(buf + o, cap - o, "%s%s (%s)", o ? ", " : "",
                            v[i]->name, roster_state_name(v[i]->state));
}

/* stop_all asks every service in v (or all, when v is NULL) that is up or
 * starting to stop, all at once, so that each stops only after every
 * service using it has. Lock held. */
static void stop_all(roster__lc *lc, roster__svc **v, size_t n) {
  roster__svc *s = v ? (n ? v[0] : NULL) : lc->head;
  for (size_t i = 0; s; s = v ? (++i < n ? v[i] : NULL) : s->next)
    if (!s->stop_req &&
        (roster__svc_up(s) || s->state == ROSTER_STATE_STARTING)) {
      s->stop_req = true;
      s->after = ROSTER__AFTER_STAY;
    }
  s = v ? (n ? v[0] : NULL) : lc->head;
  for (size_t i = 0; s; s = v ? (++i < n ? v[i] : NULL) : s->next)
    roster__request_stop(lc, s, ROSTER__AFTER_STAY);
}

static bool not_up(const roster__svc *s) { return !roster__svc_up(s); }

/* mark adds s and the services it depends on (not up) to the start set. */
static bool mark(roster__lc *lc, roster__svc *s, unsigned gen,
                 roster__svc ***set, size_t *n, size_t *cap) {
  if (s->start_gen == gen)
    return true;
  s->start_gen = gen;
  if (*n == *cap) {
    size_t nc = *cap ? *cap * 2 : 64;
    roster__svc **v = roster__realloc(*set, nc * sizeof *v);
    if (!v)
      return false;
    *set = v;
    *cap = nc;
  }
  (*set)[(*n)++] = s;
  if (!roster__svc_up(s)) {
    s->want_up = true;
    s->final = false;
    s->restart_at_ns = 0;
    lc->start_pending++;
  }
  for (size_t i = 0; i < s->ndeps; i++)
    if (s->dep_svc[i] && !mark(lc, s->dep_svc[i], gen, set, n, cap))
      return false;
  return true;
}

/* enter: the opening of roster_start and roster_shutdown: r is not NULL,
 * the caller is not a worker (it would wait for itself); *lc is r's
 * lifecycle, NULL when nothing was ever provided (nothing to do). */
static int enter(roster *r, const char *fn, roster__lc **lc) {
  *lc = NULL;
  if (!r)
    return roster__err(ROSTER_EINVAL, "registry is NULL");
  roster__thread_ensure();
  if (roster__in_worker())
    return roster__err(ROSTER_ESTATE,
                       "%s must not be called from a create, destroy or check",
                       fn);
  *lc = roster__lc_get(r, false);
  return ROSTER_OK;
}

int roster_start(roster *r, int64_t timeout_ms) {
  roster__lc *lc;
  int erc = enter(r, "roster_start", &lc);
  if (erc != ROSTER_OK || !lc)
    return erc; /* !lc: nothing provided, nothing to start */
  int64_t deadline;
  deadline_of(timeout_ms, &deadline);
  pthread_mutex_lock(&lc->lock);
  if (lc->phase == ROSTER__LC_STOPPING || lc->phase == ROSTER__LC_CLOSED ||
      lc->start_active) {
    pthread_mutex_unlock(&lc->lock);
    return roster__err(ROSTER_ESTATE, "registry '%s' is %s", r->name,
                       lc->start_active ? "already starting" : "shutting down");
  }
  int rc = roster__resolve(lc, NULL);
  if (rc == ROSTER_OK && !roster__lc_workers(lc))
    rc = roster__err(ROSTER_ENOMEM, "out of memory (worker pool)");
  if (rc) {
    pthread_mutex_unlock(&lc->lock);
    return rc;
  }
  lc->phase = ROSTER__LC_RUNNING;
  unsigned gen = ++lc->start_gen ? lc->start_gen : ++lc->start_gen;
  lc->start_active = true;
  lc->start_pending = 0;
  lc->start_failed = NULL;
  roster__svc **set = NULL;
  size_t n = 0, cap = 0;
  bool ok = true;
  for (roster__svc *s = lc->head; s && ok; s = s->next)
    if (!s->p.lazy)
      ok = mark(lc, s, gen, &set, &n, &cap);
  if (!ok) {
    rc = roster__err(ROSTER_ENOMEM, "out of memory");
  } else {
    for (size_t i = 0; i < n; i++)
      roster__kick_start(lc, set[i]);
    while (lc->start_pending && !lc->start_failed)
      if (!wait_until(lc, deadline))
        break;
    if (lc->start_failed) {
      roster__svc *f = lc->start_failed;
      rc = roster__err(f->err ? f->err : ROSTER_EFAILED, "%s", f->detail);
    } else if (lc->start_pending) {
      char buf[512];
      names(buf, sizeof buf, set, n, not_up);
      rc = roster__err(ROSTER_ETIMEDOUT,
                       "registry '%s' did not start within "
                       "%lld ms; not up: %s",
                       r->name, (long long)timeout_ms, buf);
    }
  }
  lc->start_active = false;
  char keep[512];
  lc_copy(keep, sizeof keep, rc ? roster_last_error() : "");
  if (rc) {
    /* Undo: nothing more starts; what this call started stops again in
     * reverse order, once the creations in flight have settled. */
    for (size_t i = 0; i < n; i++)
      set[i]->want_up = false;
    stop_all(lc, set, n);
    for (;;) {
      bool any = false;
      for (size_t i = 0; i < n && !any; i++)
        any = busy(set[i]);
      if (!any || !wait_until(lc, deadline))
        break;
    }
  }
  for (size_t i = 0; i < n; i++)
    set[i]->start_gen = 0;
  pthread_mutex_unlock(&lc->lock);
  roster__free(set);
  roster__drain(lc, true); /* listeners may overwrite the detail */
  if (rc)
    roster__err(rc, "%s", keep);
  return rc;
}

int roster_wait_ready(roster *r, int64_t timeout_ms) {
  if (!r)
    return roster__err(ROSTER_EINVAL, "registry is NULL");
  roster__thread_ensure();
  roster__lc *lc = roster__lc_get(r, false);
  if (!lc)
    return ROSTER_OK;
  int64_t deadline;
  deadline_of(timeout_ms, &deadline);
  pthread_mutex_lock(&lc->lock);
  int rc = ROSTER_OK;
  for (;;) {
    roster__svc *waiting = NULL, *failed = NULL;
    for (roster__svc *s = lc->head; s && !failed; s = s->next) {
      if (s->p.lazy)
        continue;
      if (s->state == ROSTER_STATE_FAILED && s->final)
        failed = s;
      else if (s->state != ROSTER_STATE_READY && !waiting)
        waiting = s;
    }
    if (failed) {
      rc = roster__err(ROSTER_EFAILED, "service '%s' has failed: %s",
                       failed->name, failed->detail);
      break;
    }
    if (!waiting)
      break;
    if (!wait_until(lc, deadline)) {
      char buf[512];
      size_t o = 0;
      buf[0] = '\0';
      for (roster__svc *s = lc->head; s && o + 1 < sizeof buf; s = s->next)
        if (!s->p.lazy && s->state != ROSTER_STATE_READY)
          o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s (%s)",
                                o ? ", " : "", s->name,
                                roster_state_name(s->state));
      rc = roster__err(ROSTER_ETIMEDOUT, "not ready within %lld ms: %s",
                       (long long)timeout_ms, buf);
      break;
    }
  }
  pthread_mutex_unlock(&lc->lock);
  return rc;
}

int roster_shutdown(roster *r, int64_t deadline_ms) {
  roster__lc *lc;
  int erc = enter(r, "roster_shutdown", &lc);
  if (erc != ROSTER_OK || !lc)
    return erc;
  int64_t deadline;
  deadline_of(deadline_ms, &deadline);
  int64_t began = roster__mono_ns();
  pthread_mutex_lock(&lc->lock);
  if (lc->phase == ROSTER__LC_CLOSED) {
    pthread_mutex_unlock(&lc->lock);
    return ROSTER_OK;
  }
  lc->phase = ROSTER__LC_STOPPING;
  pthread_cond_broadcast(&lc->sup_cond);
  for (roster__svc *s = lc->head; s; s = s->next) {
    s->want_up = false;
    s->restart_at_ns = 0;
    if (busy(s)) {
      s->err = ROSTER_OK;
      s->detail[0] = '\0';
    }
  }
  stop_all(lc, NULL, 0);
  int rc = ROSTER_OK;
  for (;;) {
    bool any = false;
    for (roster__svc *s = lc->head; s && !any; s = s->next)
      any = busy(s);
    if (!any)
      break;
    if (!wait_until(lc, deadline)) {
      char buf[512];
      size_t o = 0;
      buf[0] = '\0';
      for (roster__svc *s = lc->head; s && o + 1 < sizeof buf; s = s->next)
        if (busy(s))
          o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s (%s)",
                                o ? ", " : "", s->name,
                                roster_state_name(s->state));
      rc = roster__err(ROSTER_ETIMEDOUT,
                       "shutdown deadline of %lld ms "
                       "passed; still running: %s",
                       (long long)deadline_ms, buf);
      break;
    }
  }
  if (rc == ROSTER_OK)
    for (roster__svc *s = lc->head; s; s = s->next)
      if (s->state == ROSTER_STATE_FAILED && s->err == ROSTER_ETIMEDOUT &&
          s->since_ns >= began) {
        rc = roster__err(ROSTER_ETIMEDOUT, "%s", s->detail);
        break;
      }
  lc->phase = ROSTER__LC_DOWN;
  pthread_mutex_unlock(&lc->lock);
  char keep[512];
  lc_copy(keep, sizeof keep, rc ? roster_last_error() : "");
  roster__drain(lc, true);
  if (rc)
    roster__err(rc, "%s", keep);
  return rc;
}

int roster__lc_materialize(roster *r, const roster__key *k, bool *provided) {
  roster__lc *lc = atomic_load(&r->lc);
  *provided = false;
  if (!lc)
    return ROSTER_ENOENT;
  pthread_mutex_lock(&lc->lock);
  roster__svc *s = roster__svc_find(lc, k->ns, k->ns_len, k->name, k->name_len);
  if (!s) {
    pthread_mutex_unlock(&lc->lock);
    return ROSTER_ENOENT;
  }
  *provided = true;
  uint64_t seen = s->attempt;
  bool waited = false;
  int rc;
  for (;;) {
    if (lc->phase == ROSTER__LC_STOPPING || lc->phase == ROSTER__LC_DOWN ||
        lc->phase == ROSTER__LC_CLOSED) {
      rc = roster__err(ROSTER_ESTATE,
                       "service '%s' is not available: "
                       "registry '%s' is %s",
                       s->name, r->name,
                       lc->phase == ROSTER__LC_STOPPING ? "shutting down"
                                                        : "shut down");
      break;
    }
    if (roster__svc_up(s) && !s->stop_req) {
      rc = ROSTER_OK;
      break;
    }
    if (s->state == ROSTER_STATE_STARTING ||
        s->state == ROSTER_STATE_STOPPING || s->stop_req) {
      waited = true;
      pthread_cond_wait(&lc->cond, &lc->lock);
      continue;
    }
    if (waited && s->attempt != seen && s->state == ROSTER_STATE_FAILED) {
      /* the creation we waited for failed: the same error for everyone */
      rc = roster__err(s->err ? s->err : ROSTER_EFAILED, "%s", s->detail);
      break;
    }
    if (s->restart_at_ns) {
      rc = roster__err(ROSTER_EFAILED, "service '%s' is restarting: %s",
                       s->name, s->detail);
      break;
    }
    if (s->state == ROSTER_STATE_FAILED && s->final && s->restarts) {
      rc = roster__err(ROSTER_EFAILED, "%s", s->detail);
      break;
    }
    rc = roster__resolve(lc, s);
    if (rc)
      break;
    rc = roster__create_inline(lc, s);
    break;
  }
  pthread_mutex_unlock(&lc->lock);
  if (rc == ROSTER_OK)
    roster__drain(lc, false);
  return rc;
}

/* find_svc resolves (ns, name) to r's provider, lock taken on success. */
static int find_svc(roster *r, const char *ns, const char *name,
                    roster__lc **lcp, roster__svc **sp) {
  roster__key k;
  int rc = roster__key_enter(r, &k, ns, name);
  if (rc)
    return rc;
  roster__lc *lc = roster__lc_get(r, false);
  roster__svc *s = NULL;
  if (lc) {
    pthread_mutex_lock(&lc->lock);
    s = roster__svc_find(lc, k.ns, k.ns_len, name, k.name_len);
    if (!s)
      pthread_mutex_unlock(&lc->lock);
  }
  if (!s) {
    char qn[96];
    return roster__err(ROSTER_ENOENT,
                       "no provider for '%s' in namespace "
                       "'%s'",
                       roster__quote(qn, sizeof qn, name, k.name_len), k.ns);
  }
  *lcp = lc;
  *sp = s;
  return ROSTER_OK;
}

int roster_service_exit(roster *r, const char *ns, const char *name, int code,
                        const char *detail) {
  roster__lc *lc = NULL;
  roster__svc *s = NULL;
  int rc = find_svc(r, ns, name, &lc, &s);
  if (rc)
    return rc;
  if (!roster__svc_up(s) || s->stop_req) {
    roster_state st = s->state;
    pthread_mutex_unlock(&lc->lock);
    return roster__err(ROSTER_ESTATE, "service '%s' is %s, not up", name,
                       roster_state_name(st));
  }
  char msg[512];
  if (code == ROSTER_OK)
    snprintf(msg, sizeof msg, "service '%s' exited%s%s", s->name,
             detail ? ": " : "", detail ? detail : "");
  else if (!roster__err_known(code))
    snprintf(msg, sizeof msg,
             "service '%s' failed: reported code %d, not "
             "a roster error code%s%s",
             s->name, code, detail ? ": " : "", detail ? detail : "");
  else
    snprintf(msg, sizeof msg, "service '%s' failed: %s", s->name,
             detail ? detail : roster_strerror(code));
  roster__svc_fail(lc, s, roster__err_known(code) ? code : ROSTER_EFAILED, msg,
                   code == ROSTER_OK);
  pthread_mutex_unlock(&lc->lock);
  roster__drain(lc, false);
  return ROSTER_OK;
}

int roster_service_state(roster *r, const char *ns, const char *name,
                         roster_state *out) {
  if (!out)
    return roster__err(ROSTER_EINVAL, "out is NULL");
  roster__lc *lc = NULL;
  roster__svc *s = NULL;
  int rc = find_svc(r, ns, name, &lc, &s);
  if (rc)
    return rc;
  *out = s->state;
  pthread_mutex_unlock(&lc->lock);
  return ROSTER_OK;
}

int roster_health(roster *r, roster_health_report *out) {
  if (!out)
    return roster__err(ROSTER_EINVAL, "report is NULL");
  *out = (roster_health_report){.ready = true};
  if (!r)
    return roster__err(ROSTER_EINVAL, "registry is NULL");
  roster__thread_ensure();
  roster__lc *lc = roster__lc_get(r, false);
  if (!lc)
    return ROSTER_OK;
  pthread_mutex_lock(&lc->lock);
  size_t n = lc->n;
  roster_service_health *items = n ? roster__calloc(n, sizeof *items) : NULL;
  if (n && !items) {
    pthread_mutex_unlock(&lc->lock);
    return roster__err(ROSTER_ENOMEM, "out of memory");
  }
  size_t i = 0;
  bool ok = true, ready = true;
  for (roster__svc *s = lc->head; s && i < n; s = s->next, i++) {
    roster_service_health *h = &items[i];
    h->ns = roster__strndup(s->ns, strlen(s->ns));
    h->name = roster__strndup(s->name, strlen(s->name));
    h->type = roster__strndup(s->p.type->name, strlen(s->p.type->name));
    h->last_detail = roster__strndup(s->detail, strlen(s->detail));
    ok = ok && h->ns && h->name && h->type && h->last_detail;
    h->state = s->state;
    h->lazy = s->p.lazy;
    h->live = s->live_ok;
    h->since_ns = s->since_ns;
    h->since_unix_ms = s->since_unix_ms;
    h->last_check_ns = s->last_check_ns;
    h->last_latency_us = s->last_latency_us;
    h->consecutive_failures =
        s->live_fails > s->ready_fails ? s->live_fails : s->ready_fails;
    h->restarts = s->restarts;
    h->next_restart_ns = s->restart_at_ns;
    h->last_error = s->err;
    if (!s->p.lazy && s->state != ROSTER_STATE_READY)
      ready = false;
  }
  pthread_mutex_unlock(&lc->lock);
  out->count = i;
  out->items = items;
  out->ready = ready;
  if (!ok) {
    roster_health_report_free(out);
    return roster__err(ROSTER_ENOMEM, "out of memory");
  }
  return ROSTER_OK;
}

void roster_health_report_free(roster_health_report *report) {
  if (!report)
    return;
  for (size_t i = 0; i < report->count; i++) {
    roster__free((void *)report->items[i].ns);
    roster__free((void *)report->items[i].name);
    roster__free((void *)report->items[i].type);
    roster__free((void *)report->items[i].last_detail);
  }
  roster__free(report->items);
  *report = (roster_health_report){0};
}
