/*
 * lifecycle.c: providers, the service table, states and events, and the
 * jobs that create and stop instances.
 *
 * Every service's state lives under one mutex per registry (lc->lock). The
 * model is "wanted state": a service with want_up is created as soon as each
 * of its dependencies is up; a service with stop_req is stopped as soon as
 * every service using it that is also being stopped has stopped. Start,
 * restart, shutdown and a dependency's restart are all expressed by setting
 * those two flags and kicking the services concerned; the kicks look only at
 * the neighbours of what changed, so a start of n services with e edges
 * costs O(n + e). State events are queued under the lock and delivered after
 * it, in order, by one thread at a time.
 */
#include "lc_impl.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

static _Thread_local roster__lc *draining_here;

int roster__fn_failed(const char *name, const char *what, int rc, char *buf,
                      size_t cap) {
  const char *why = roster_last_error();
  bool has = why && *why;
  if (roster__err_known(rc)) {
    snprintf(buf, cap, "%s", has ? why : roster_strerror(rc));
    return rc;
  }
  char qn[96];
  snprintf(buf, cap, "%s of '%s' returned %d, not a roster error code%s%s",
           what, roster__quote(qn, sizeof qn, name, strlen(name)), rc,
           has ? ": " : "", has ? why : "");
  return ROSTER_EFAILED;
}

int64_t roster__mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t unix_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

void roster__deadline(struct timespec *ts, int64_t abs_ns) {
  ts->tv_sec = (time_t)(abs_ns / 1000000000LL);
  ts->tv_nsec = (long)(abs_ns % 1000000000LL);
}

const char *roster_state_name(roster_state s) {
  static const char *const names[] = {"declared", "starting",  "ready",
                                      "degraded", "unhealthy", "stopping",
                                      "stopped",  "failed"};
  return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

void *roster_deps_get(const roster_deps *d, const char *name) {
  if (!d || !name)
    return NULL;
  for (size_t i = 0; i < d->count; i++)
    if (strcmp(d->names[i], name) == 0)
      return d->instances[i];
  return NULL;
}

bool roster__svc_up(const roster__svc *s) {
  return s->state == ROSTER_STATE_READY || s->state == ROSTER_STATE_DEGRADED ||
         s->state == ROSTER_STATE_UNHEALTHY;
}

/* ---- the table ------------------------------------------------------ */

static uint64_t key_hash(const char *ns, size_t ns_len, const char *name,
                         size_t name_len) {
  return XXH3_64bits_withSeed(name, name_len, XXH3_64bits(ns, ns_len));
}

roster__svc *roster__svc_find(roster__lc *lc, const char *ns, size_t ns_len,
                              const char *name, size_t name_len) {
  if (!lc->nbuckets)
    return NULL;
  uint64_t h = key_hash(ns, ns_len, name, name_len);
  for (roster__svc *s = lc->buckets[h & (lc->nbuckets - 1)]; s; s = s->hnext)
    if (s->hash == h && strlen(s->name) == name_len &&
        strlen(s->ns) == ns_len && memcmp(s->name, name, name_len) == 0 &&
        memcmp(s->ns, ns, ns_len) == 0)
      return s;
  return NULL;
}

static bool table_add(roster__lc *lc, roster__svc *s) {
  if (lc->n + 1 > lc->nbuckets) {
    size_t nb = lc->nbuckets ? lc->nbuckets * 2 : 64;
    roster__svc **b = roster__calloc(nb, sizeof *b);
    if (!b)
      return false;
    for (roster__svc *x = lc->head; x; x = x->next) {
      x->hnext = b[x->hash & (nb - 1)];
      b[x->hash & (nb - 1)] = x;
    }
    roster__free(lc->buckets);
    lc->buckets = b;
    lc->nbuckets = nb;
  }
  s->hnext = lc->buckets[s->hash & (lc->nbuckets - 1)];
  lc->buckets[s->hash & (lc->nbuckets - 1)] = s;
  if (lc->tail)
    lc->tail->next = s;
  else
    lc->head = s;
  lc->tail = s;
  lc->n++;
  return true;
}

static void svc_free(roster__svc *s) {
  if (s->p.free_arg)
    s->p.free_arg(s->p.arg);
  for (size_t i = 0; i < s->ndeps; i++)
    roster__free(s->deps[i]);
  roster__free(s->deps);
  roster__free(s->dep_svc);
  roster__free(s->users);
  roster__free(s->hist);
  roster__free(s->ns);
  roster__free(s->name);
  roster__free(s);
}

void roster__lc_put(roster__lc *lc) {
  if (atomic_fetch_sub_explicit(&lc->refs, 1, memory_order_acq_rel) != 1)
    return;
  pthread_cond_destroy(&lc->cond);
  pthread_cond_destroy(&lc->sup_cond);
  pthread_mutex_destroy(&lc->lock);
  roster__free(lc);
}

roster__lc *roster__lc_get(roster *r, bool create) {
  roster__lc *lc = atomic_load(&r->lc);
  if (lc || !create)
    return lc;
  pthread_mutex_lock(&r->lc_lock);
  lc = atomic_load(&r->lc);
  if (!lc) {
    lc = roster__calloc(1, sizeof *lc);
    if (lc) {
      lc->r = r;
      atomic_init(&lc->refs, 1);
      pthread_mutex_init(&lc->lock, NULL);
      roster__cond_init_mono(&lc->cond);
      roster__cond_init_mono(&lc->sup_cond);
      lc->rng = (uint64_t)roster__mono_ns() ^ (uintptr_t)lc;
      atomic_store(&r->lc, lc);
    }
  }
  pthread_mutex_unlock(&r->lc_lock);
  return lc;
}

/* roster__lc_workers makes the worker pool on first need. Lock held. */
bool roster__lc_workers(roster__lc *lc) {
  if (lc->workers)
    return true;
  unsigned n = lc->r->workers;
  if (!n) {
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    n = c > 0 ? (unsigned)c * 4 : 8;
    n = n < 8 ? 8 : n > 64 ? 64 : n;
  }
  lc->workers = roster__workers_new(n);
  return lc->workers != NULL;
}

/* ---- provide -------------------------------------------------------- */

static int64_t dflt(int64_t v, int64_t d) { return v ? v : d; }

const char *roster__provider_type(roster *r, const roster__key *k) {
  roster__lc *lc = atomic_load(&r->lc);
  if (!lc)
    return NULL;
  pthread_mutex_lock(&lc->lock);
  roster__svc *s = roster__svc_find(lc, k->ns, k->ns_len, k->name, k->name_len);
  const char *type = s ? s->p.type->name : NULL;
  pthread_mutex_unlock(&lc->lock);
  return type;
}

int roster_provide(roster *r, const char *ns, const char *name,
                   const roster_provider *p) {
  roster__key k;
  int rc = roster__key_enter(r, &k, ns, name);
  if (rc)
    return rc;
  char qn[96];
  roster__quote(qn, sizeof qn, name, k.name_len);
  if (!p)
    return roster__err(ROSTER_EINVAL, "provider for '%s' is NULL", qn);
  if (!p->type || !p->type->name)
    return roster__err(ROSTER_EINVAL, "provider for '%s' has %s", qn,
                       p->type ? "a type without a name" : "no type");
  if (!p->create)
    return roster__err(ROSTER_EINVAL, "provider for '%s' has no create", qn);
  if ((unsigned)p->restart > ROSTER_RESTART_ALWAYS ||
      (unsigned)p->on_dep > ROSTER_ON_DEP_NOTIFY)
    return roster__err(ROSTER_EINVAL,
                       "provider for '%s' has an unknown restart or on_dep "
                       "value",
                       qn);
  if (p->check_interval_ms < 0 || p->check_timeout_ms < 0 ||
      p->backoff_min_ms < 0 || p->backoff_max_ms < 0 ||
      p->restart_window_ms < 0 || p->max_restarts > 10000)
    return roster__err(ROSTER_EINVAL,
                       "provider for '%s': intervals, backoff and window "
                       "must not be negative, max_restarts at most 10000",
                       qn);
  size_t nd = 0;
  if (p->deps)
    while (p->deps[nd]) {
      if (nd == ROSTER_DEPS_MAX)
        return roster__err(ROSTER_EINVAL,
                           "provider for '%s' names more than %d "
                           "dependencies",
                           qn, ROSTER_DEPS_MAX);
      size_t dl;
      rc = roster__check_name("dependency name", p->deps[nd], &dl, false);
      if (rc)
        return rc;
      nd++;
    }

  roster__svc *s = roster__calloc(1, sizeof *s);
  if (!s)
    return roster__err(ROSTER_ENOMEM, "out of memory");
  s->p = *p;
  s->p.deps = NULL;
  s->p.start_timeout_ms = dflt(p->start_timeout_ms, 30000);
  s->p.stop_timeout_ms = dflt(p->stop_timeout_ms, 10000);
  s->p.check_interval_ms = dflt(p->check_interval_ms, 5000);
  s->p.check_timeout_ms = dflt(p->check_timeout_ms, 1000);
  s->p.fail_threshold = p->fail_threshold ? p->fail_threshold : 3;
  s->p.pass_threshold = p->pass_threshold ? p->pass_threshold : 2;
  s->p.backoff_min_ms = dflt(p->backoff_min_ms, 100);
  s->p.backoff_max_ms = dflt(p->backoff_max_ms, 30000);
  if (s->p.backoff_max_ms < s->p.backoff_min_ms)
    s->p.backoff_max_ms = s->p.backoff_min_ms;
  s->p.max_restarts = p->max_restarts ? p->max_restarts : 5;
  s->p.restart_window_ms = dflt(p->restart_window_ms, 60000);
  if (!s->p.ready)
    s->p.ready = NULL; /* type->health is called directly (see checks) */
  s->ns = roster__strndup(k.ns, k.ns_len);
  s->name = roster__strndup(name, k.name_len);
  s->hash = key_hash(k.ns, k.ns_len, name, k.name_len);
  s->ndeps = nd;
  s->deps = nd ? roster__calloc(nd, sizeof *s->deps) : NULL;
  s->dep_svc = nd ? roster__calloc(nd, sizeof *s->dep_svc) : NULL;
  s->hist = roster__calloc(s->p.max_restarts, sizeof *s->hist);
  bool ok = s->ns && s->name && s->hist && (!nd || (s->deps && s->dep_svc));
  for (size_t i = 0; ok && i < nd; i++)
    ok = (s->deps[i] = roster__strndup(p->deps[i], strlen(p->deps[i])));
  s->live_ok = true;
  roster__lc *lc = ok ? roster__lc_get(r, true) : NULL;
  if (!lc) {
    s->p.free_arg = NULL; /* the caller keeps arg on failure */
    svc_free(s);
    return roster__err(ROSTER_ENOMEM, "out of memory");
  }

  /* the claim lock orders this against plain registrations of the key */
  pthread_mutex_lock(&r->claim_lock);
  pthread_mutex_lock(&lc->lock);
  rc = ROSTER_OK;
  if (lc->phase == ROSTER__LC_STOPPING || lc->phase == ROSTER__LC_CLOSED)
    rc = roster__err(ROSTER_ESTATE,
                     "cannot provide '%s': registry '%s' is shutting down", qn,
                     r->name);
  else if (roster__svc_find(lc, k.ns, k.ns_len, name, k.name_len))
    rc = roster__err(ROSTER_EEXIST,
                     "a provider for '%s' already exists in namespace '%s'", qn,
                     k.ns);
  else {
    /* only r's own entries count: a parent's may be shadowed */
    roster__iter it;
    char qt[96];
    roster__rlock();
    roster__entry *x = roster__find_first(r, &k, &it);
    if (x)
      roster__quote(qt, sizeof qt, x->type->name, strlen(x->type->name));
    roster__runlock();
    if (x) {
      char qs[96];
      rc = roster__err(ROSTER_EEXIST,
                       "service '%s' is already registered in namespace "
                       "'%s' (type '%s'), so it cannot be provided: "
                       "unregister it first, or use another name",
                       qn, roster__quote(qs, sizeof qs, k.ns, k.ns_len), qt);
    }
  }
  if (rc == ROSTER_OK && !table_add(lc, s))
    rc = roster__err(ROSTER_ENOMEM, "out of memory");
  if (rc == ROSTER_OK) {
    s->since_ns = roster__mono_ns();
    s->since_unix_ms = unix_ms();
    lc->dirty = true;
  }
  pthread_mutex_unlock(&lc->lock);
  pthread_mutex_unlock(&r->claim_lock);
  if (rc) {
    s->p.free_arg = NULL;
    svc_free(s);
  }
  return rc;
}

/* ---- edges, cycles --------------------------------------------------- */

static bool add_user(roster__svc *dep, roster__svc *user) {
  if (dep->nusers == dep->cap_users) {
    size_t nc = dep->cap_users ? dep->cap_users * 2 : 4;
    roster__svc **u = roster__realloc(dep->users, nc * sizeof *u);
    if (!u)
      return false;
    dep->users = u;
    dep->cap_users = nc;
  }
  dep->users[dep->nusers++] = user;
  return true;
}

/* exists_outside: a dependency not provided in lc must be registered in r
 * or provided or registered in an ancestor. */
static bool exists_outside(roster *r, const char *ns, const char *name) {
  if (roster_has(r, ns, name))
    return true;
  for (roster *x = r->parent; x; x = x->parent) {
    roster__lc *plc = atomic_load(&x->lc);
    if (!plc)
      continue;
    pthread_mutex_lock(&plc->lock);
    bool found = roster__svc_find(plc, ns, strlen(ns), name, strlen(name));
    pthread_mutex_unlock(&plc->lock);
    if (found)
      return true;
  }
  return false;
}

/* cycle search: mark 0 = new, 1 = on the path, 2 = done. */
static roster__svc *find_cycle(roster__svc *s, roster__svc **path, size_t depth,
                               size_t *plen) {
  s->mark = 1;
  path[depth] = s;
  for (size_t i = 0; i < s->ndeps; i++) {
    roster__svc *d = s->dep_svc[i];
    if (!d)
      continue;
    if (d->mark == 1) {
      *plen = depth + 1;
      return d;
    }
    if (d->mark == 0) {
      roster__svc *c = find_cycle(d, path, depth + 1, plen);
      if (c)
        return c;
    }
  }
  s->mark = 2;
  return NULL;
}

/* rank_of: the longest chain from s through its users (up) or its
 * dependencies (down), s included. A cycle (reported elsewhere) is cut. */
static unsigned rank_of(roster__svc *s, bool up) {
  int *mark = up ? &s->rmark_up : &s->rmark_down;
  unsigned *rank = up ? &s->rank_up : &s->rank_down;
  if (*mark)
    return *mark == 2 ? *rank : 0;
  *mark = 1;
  unsigned best = 0;
  size_t n = up ? s->nusers : s->ndeps;
  for (size_t i = 0; i < n; i++) {
    roster__svc *x = up ? s->users[i] : s->dep_svc[i];
    unsigned r = x ? rank_of(x, up) : 0;
    if (r > best)
      best = r;
  }
  *rank = best + 1;
  *mark = 2;
  return *rank;
}

/* roster__resolve rebuilds the edges when needed and checks `only` (or
 * every service, when NULL) and what it depends on: unknown dependencies
 * (ROSTER_ENOENT) and cycles (ROSTER_ECYCLE, with the path). lc->lock held. */
int roster__resolve(roster__lc *lc, roster__svc *only) {
  if (lc->dirty) {
    for (roster__svc *s = lc->head; s; s = s->next)
      s->nusers = 0;
    for (roster__svc *s = lc->head; s; s = s->next)
      for (size_t i = 0; i < s->ndeps; i++) {
        roster__svc *d = roster__svc_find(lc, s->ns, strlen(s->ns), s->deps[i],
                                          strlen(s->deps[i]));
        s->dep_svc[i] = d;
        if (d && !add_user(d, s))
          return roster__err(ROSTER_ENOMEM, "out of memory");
      }
    for (roster__svc *s = lc->head; s; s = s->next)
      s->rmark_up = s->rmark_down = 0;
    for (roster__svc *s = lc->head; s; s = s->next) {
      rank_of(s, true);
      rank_of(s, false);
    }
    lc->dirty = false;
  }
  for (roster__svc *s = lc->head; s; s = s->next)
    s->mark = 0;
  roster__svc **path = roster__malloc((lc->n + 1) * sizeof *path);
  if (!path)
    return roster__err(ROSTER_ENOMEM, "out of memory");
  int rc = ROSTER_OK;
  for (roster__svc *s = only ? only : lc->head; s && !rc;
       s = only ? NULL : s->next) {
    if (s->mark)
      continue;
    size_t plen = 0;
    roster__svc *c = find_cycle(s, path, 0, &plen);
    if (c) {
      char buf[1024];
      size_t o = 0, start = 0;
      while (path[start] != c)
        start++;
      for (size_t i = start; i < plen && o < sizeof buf; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s -> ", path[i]->name);
      if (o < sizeof buf)
        snprintf(buf + o, sizeof buf - o, "%s", c->name);
      rc = roster__err(ROSTER_ECYCLE,
                       "dependency cycle in namespace '%s': "
                       "%s",
                       c->ns, buf);
    }
  }
  /* unknown dependencies, over what was visited */
  for (roster__svc *s = lc->head; s && !rc; s = s->next) {
    if (only && !s->mark)
      continue;
    for (size_t i = 0; i < s->ndeps && !rc; i++)
      if (!s->dep_svc[i] && !exists_outside(lc->r, s->ns, s->deps[i]))
        rc = roster__err(ROSTER_ENOENT,
                         "service '%s' depends on '%s', which is neither "
                         "provided nor registered in namespace '%s'",
                         s->name, s->deps[i], s->ns);
  }
  roster__free(path);
  return rc;
}

/* ---- states and events ---------------------------------------------- */

/* deps_ready: every dependency provided here is ready. */
bool roster__deps_ready(const roster__svc *s) {
  for (size_t i = 0; i < s->ndeps; i++)
    if (s->dep_svc[i] && s->dep_svc[i]->state != ROSTER_STATE_READY)
      return false;
  return true;
}

bool roster__deps_up(const roster__svc *s) {
  for (size_t i = 0; i < s->ndeps; i++) {
    roster__svc *d = s->dep_svc[i];
    if (d && (!roster__svc_up(d) || d->stop_req))
      return false;
  }
  return true;
}

roster_state roster__up_state(const roster__svc *s) {
  if (s->unhealthy)
    return ROSTER_STATE_UNHEALTHY;
  return roster__deps_ready(s) ? ROSTER_STATE_READY : ROSTER_STATE_DEGRADED;
}

void roster__set_state(roster__lc *lc, roster__svc *s, roster_state to, int err,
                       const char *detail) {
  roster_state from = s->state;
  int64_t prev_at = s->since_ns;
  bool final = to == ROSTER_STATE_FAILED && !s->restart_at_ns;
  if (from == to && err == s->err && final == s->final)
    return;
  s->state = to;
  s->err = err;
  s->final = final;
  lc_copy(s->detail, sizeof s->detail, detail ? detail : "");
  s->since_ns = roster__mono_ns();
  s->since_unix_ms = unix_ms();
  pthread_cond_broadcast(&lc->cond);
  if (from != to && roster__has_listeners(lc->r, ROSTER_EV_STATE)) {
    roster__sev *ev = roster__calloc(1, sizeof *ev);
    if (ev) {
      ev->svc = s;
      ev->instance = s->inst ? s->inst->instance : NULL;
      ev->ch = (roster_state_change){.from = from,
                                     .to = to,
                                     .at_ns = s->since_ns,
                                     .prev_at_ns = prev_at,
                                     .at_unix_ms = s->since_unix_ms,
                                     .error = err,
                                     .final = final};
      lc_copy(ev->detail, sizeof ev->detail, s->detail);
      if (lc->ev_tail)
        lc->ev_tail->next = ev;
      else
        lc->ev_head = ev;
      lc->ev_tail = ev;
      lc->ev_queued++;
    }
  }
  /* Users that are up follow: ready, or degraded while this is not. */
  if (from != to)
    for (size_t i = 0; i < s->nusers; i++) {
      roster__svc *u = s->users[i];
      if (roster__svc_up(u) && !u->stop_req && u->state != roster__up_state(u))
        roster__set_state(lc, u, roster__up_state(u), ROSTER_OK, NULL);
    }
}

/* roster__drain delivers queued events, lock not held. With wait, returns
 * only once every event queued so far has been delivered (unless this
 * thread is the one delivering: a listener calling back). */
void roster__drain(roster__lc *lc, bool wait) {
  pthread_mutex_lock(&lc->lock);
  uint64_t mine = lc->ev_queued;
  if (lc->draining) {
    if (wait && draining_here != lc)
      while (lc->ev_done < mine)
        pthread_cond_wait(&lc->cond, &lc->lock);
    pthread_mutex_unlock(&lc->lock);
    return;
  }
  lc->draining = true;
  draining_here = lc;
  while (lc->ev_head) {
    roster__sev *ev = lc->ev_head;
    lc->ev_head = ev->next;
    if (!lc->ev_head)
      lc->ev_tail = NULL;
    pthread_mutex_unlock(&lc->lock);
    roster__svc *s = ev->svc;
    roster_info info = {.ns = s->ns,
                        .name = s->name,
                        .type = s->p.type,
                        .instance = ev->instance};
    ev->ch.detail = ev->detail;
    roster_event e = {.kind = ROSTER_EV_STATE,
                      .reason = ROSTER_REASON_CALL,
                      .entry = &info,
                      .state = &ev->ch};
    roster__notify_event(lc->r, &e);
    roster__free(ev);
    pthread_mutex_lock(&lc->lock);
    lc->ev_done++;
    pthread_cond_broadcast(&lc->cond);
  }
  lc->draining = false;
  draining_here = NULL;
  pthread_mutex_unlock(&lc->lock);
}

/* ---- teardown ---------------------------------------------------------- */

void roster__lc_free(roster *r) {
  roster__lc *lc = atomic_load(&r->lc);
  if (!lc)
    return;
  roster_shutdown(r, -1);
  pthread_mutex_lock(&lc->lock);
  lc->phase = ROSTER__LC_CLOSED;
  pthread_mutex_unlock(&lc->lock);
  roster__sup_stop(lc);
  roster__workers_free(lc->workers); /* waits for in-flight jobs (bounded) */
  roster__drain(lc, true);
  pthread_mutex_lock(&lc->lock);
  /* a stop that never finished leaves its record; drop the service's */
  for (roster__svc *s = lc->head; s; s = s->next)
    if (s->inst) {
      roster__inst *in = s->inst;
      s->inst = NULL;
      pthread_mutex_unlock(&lc->lock);
      int live = ROSTER__INST_LIVE; /* nobody waits: reclaim destroys it */
      atomic_compare_exchange_strong(&in->state, &live, ROSTER__INST_ORPHANED);
      roster__unregister_inst(r, s->ns, s->name, in);
      roster__inst_put(in);
      pthread_mutex_lock(&lc->lock);
    }
  roster__svc *s = lc->head;
  lc->head = lc->tail = NULL;
  pthread_mutex_unlock(&lc->lock);
  while (s) {
    roster__svc *nx = s->next;
    svc_free(s);
    s = nx;
  }
  roster__free(lc->buckets);
  atomic_store(&r->lc, NULL);
  roster__lc_put(lc);
}
