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
  static const char *const names[] = {"declared", "starting", "ready",
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
      pthread_condattr_t ca;
      pthread_condattr_init(&ca);
      pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
      pthread_cond_init(&lc->cond, &ca);
      pthread_cond_init(&lc->sup_cond, &ca);
      pthread_condattr_destroy(&ca);
      lc->rng = (uint64_t)roster__mono_ns() ^ (uintptr_t)lc;
      atomic_store(&r->lc, lc);
    }
  }
  pthread_mutex_unlock(&r->lc_lock);
  return lc;
}

/* roster__lc_pool makes the worker pool on first need. Lock held. */
bool roster__lc_pool(roster__lc *lc) {
  if (lc->pool)
    return true;
  unsigned n = lc->r->workers;
  if (!n) {
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    n = c > 0 ? (unsigned)c * 4 : 8;
    n = n < 8 ? 8 : n > 64 ? 64 : n;
  }
  lc->pool = roster__pool_new(n);
  return lc->pool != NULL;
}

/* ---- provide -------------------------------------------------------- */

static int64_t dflt(int64_t v, int64_t d) { return v ? v : d; }

int roster_provide(roster *r, const char *ns, const char *name,
                   const roster_provider *p) {
  if (!r)
    return roster__err(ROSTER_EINVAL, "registry is NULL");
  roster__thread_ensure();
  roster__key k;
  int rc = roster__key_init(r, &k, ns, name);
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
                       "value", qn);
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
                           "dependencies", qn, ROSTER_DEPS_MAX);
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

  pthread_mutex_lock(&lc->lock);
  rc = ROSTER_OK;
  if (lc->phase == ROSTER__LC_STOPPING || lc->phase == ROSTER__LC_CLOSED)
    rc = roster__err(ROSTER_ESTATE,
                     "cannot provide '%s': registry '%s' is shutting down",
                     qn, r->name);
  else if (roster__svc_find(lc, k.ns, k.ns_len, name, k.name_len))
    rc = roster__err(ROSTER_EEXIST,
                     "a provider for '%s' already exists in namespace '%s'",
                     qn, k.ns);
  else if (roster_has(r, k.ns, name) &&
           !r->parent /* the parent's may be shadowed */)
    rc = roster__err(ROSTER_EEXIST,
                     "'%s' is already registered in namespace '%s'", qn,
                     k.ns);
  else if (r->parent) {
    struct cds_lfht_iter it;
    roster__rlock();
    bool here = roster__find_first(r, &k, &it) != NULL;
    roster__runlock();
    if (here)
      rc = roster__err(ROSTER_EEXIST,
                       "'%s' is already registered in namespace '%s'", qn,
                       k.ns);
  }
  if (rc == ROSTER_OK && !table_add(lc, s))
    rc = roster__err(ROSTER_ENOMEM, "out of memory");
  if (rc == ROSTER_OK) {
    s->since_ns = roster__mono_ns();
    s->since_unix_ms = unix_ms();
    lc->dirty = true;
  }
  pthread_mutex_unlock(&lc->lock);
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
static roster__svc *find_cycle(roster__svc *s, roster__svc **path,
                               size_t depth, size_t *plen) {
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

/* roster__resolve rebuilds the edges when needed and checks `only` (or
 * every service, when NULL) and what it depends on: unknown dependencies
 * (ROSTER_ENOENT) and cycles (ROSTER_ECYCLE, with the path). lc->lock held. */
int roster__resolve(roster__lc *lc, roster__svc *only) {
  if (lc->dirty) {
    for (roster__svc *s = lc->head; s; s = s->next)
      s->nusers = 0;
    for (roster__svc *s = lc->head; s; s = s->next)
      for (size_t i = 0; i < s->ndeps; i++) {
        roster__svc *d = roster__svc_find(lc, s->ns, strlen(s->ns),
                                          s->deps[i], strlen(s->deps[i]));
        s->dep_svc[i] = d;
        if (d && !add_user(d, s))
          return roster__err(ROSTER_ENOMEM, "out of memory");
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
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s -> ",
                              path[i]->name);
      if (o < sizeof buf)
        snprintf(buf + o, sizeof buf - o, "%s", c->name);
      rc = roster__err(ROSTER_ECYCLE, "dependency cycle in namespace '%s': "
                       "%s", c->ns, buf);
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
static bool deps_ready(const roster__svc *s) {
  for (size_t i = 0; i < s->ndeps; i++)
    if (s->dep_svc[i] && s->dep_svc[i]->state != ROSTER_STATE_READY)
      return false;
  return true;
}

static bool deps_up(const roster__svc *s) {
  for (size_t i = 0; i < s->ndeps; i++) {
    roster__svc *d = s->dep_svc[i];
    if (d && (!roster__svc_up(d) || d->stop_req))
      return false;
  }
  return true;
}

static roster_state up_state(const roster__svc *s) {
  if (s->unhealthy)
    return ROSTER_STATE_UNHEALTHY;
  return deps_ready(s) ? ROSTER_STATE_READY : ROSTER_STATE_DEGRADED;
}

void roster__set_state(roster__lc *lc, roster__svc *s, roster_state to,
                       int err, const char *detail) {
  roster_state from = s->state;
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
      ev->ch = (roster_state_change){.from = from, .to = to,
                                     .at_ns = s->since_ns,
                                     .at_unix_ms = s->since_unix_ms,
                                     .error = err, .final = final};
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
      if (roster__svc_up(u) && !u->stop_req && u->state != up_state(u))
        roster__set_state(lc, u, up_state(u), ROSTER_OK, NULL);
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
    roster_info info = {.ns = s->ns, .name = s->name, .type = s->p.type,
                        .instance = ev->instance};
    ev->ch.detail = ev->detail;
    roster_event e = {.kind = ROSTER_EV_STATE, .reason = ROSTER_REASON_CALL,
                      .entry = &info, .state = &ev->ch};
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

/* ---- instance records ------------------------------------------------ */

static void inst_destroy_now(roster__inst *in) {
  if (in->destroy)
    in->destroy(in->arg, in->instance);
  else if (in->type->destroy)
    in->type->destroy(in->instance);
}

static void inst_put(roster__inst *in) {
  if (atomic_fetch_sub_explicit(&in->refs, 1, memory_order_acq_rel) == 1) {
    roster__lc_put(in->lc);
    roster__free(in);
  }
}

void roster__inst_reclaimed(roster__inst *in) {
  int live = ROSTER__INST_LIVE;
  roster__lc *lc = in->lc;
  pthread_mutex_lock(&lc->lock);
  bool told = atomic_compare_exchange_strong(&in->state, &live,
                                             ROSTER__INST_RECLAIMED);
  pthread_cond_broadcast(&lc->cond);
  pthread_mutex_unlock(&lc->lock);
  if (!told) /* orphaned: its stop gave up waiting; finish it here */
    inst_destroy_now(in);
  inst_put(in); /* the entry's reference */
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
static int call_create(roster__lc *lc, roster__svc *s, void **out,
                       char *detail, size_t cap) {
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
  const char *why = roster_last_error();
  snprintf(detail, cap, "%s", why && *why ? why : roster_strerror(rc));
  if (rc > 0)
    rc = ROSTER_EFAILED; /* a create must return a roster code */
  return rc;
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
      rc = roster__register_inst(lc->r, s->ns, s->name, s->p.type, instance,
                                 in);
      if (rc) {
        lc_copy(detail, sizeof detail, roster_last_error());
        why = detail;
        atomic_fetch_sub(&in->refs, 1);
        inst_put(in);
        in = NULL;
      }
    }
    if (rc) {
      roster__inst tmp = {.instance = instance, .type = s->p.type,
                          .destroy = s->p.destroy, .arg = s->p.arg};
      inst_destroy_now(&tmp);
    }
  }
  pthread_mutex_lock(&lc->lock);
  if (attempt != s->attempt) { /* a later attempt owns the service now */
    pthread_mutex_unlock(&lc->lock);
    if (in) { /* reclaim destroys it */
      atomic_store(&in->state, ROSTER__INST_ORPHANED);
      roster__unregister_inst(lc->r, s->ns, s->name, in);
      inst_put(in);
    }
    return ROSTER_ECANCELED;
  }
  if (rc == ROSTER_OK && !roster__lc_pool(lc)) {
    pthread_mutex_unlock(&lc->lock);
    atomic_store(&in->state, ROSTER__INST_ORPHANED);
    roster__unregister_inst(lc->r, s->ns, s->name, in);
    inst_put(in);
    in = NULL;
    rc = ROSTER_ENOMEM;
    why = "out of memory (worker pool)";
    pthread_mutex_lock(&lc->lock);
  }
  if (rc == ROSTER_OK) {
    s->inst = in;
    s->want_up = true; /* restarts bring it back */
    s->up_seq = ++lc->seq;
    if (lc->start_active && s->start_gen == lc->start_gen &&
        lc->start_pending)
      lc->start_pending--;
    s->unhealthy = false;
    s->live_ok = true;
    s->ready_fails = s->ready_passes = s->live_fails = 0;
    roster__set_state(lc, s, up_state(s), ROSTER_OK, NULL);
    roster__check_schedule(lc, s);
    for (size_t i = 0; i < s->nusers; i++)
      roster__kick_start(lc, s->users[i]);
    if (s->stop_req)
      roster__kick_stop(lc, s);
  } else {
    char msg[768];
    snprintf(msg, sizeof msg, "service '%s' failed to start: %s", s->name,
             why ? why : roster_strerror(rc));
    if (lc->start_active && s->start_gen == lc->start_gen &&
        !lc->start_failed)
      lc->start_failed = s;
    if (s->restarts && s->want_up && !s->start_gen &&
        lc->phase == ROSTER__LC_RUNNING) {
      roster__set_state(lc, s, ROSTER_STATE_FAILED, rc, msg);
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
  c->rc = call_create(c->lc, c->svc, &c->instance, c->detail,
                      sizeof c->detail);
}

static void create_done(roster__job *j) {
  create_job *c = (create_job *)j;
  created(c->lc, c->svc, c->attempt, c->rc, c->instance, c->detail);
}

static void create_timeout(roster__job *j) {
  create_job *c = (create_job *)j;
  char msg[128];
  snprintf(msg, sizeof msg, "create did not return within %lld ms "
           "(abandoned)", (long long)c->svc->p.start_timeout_ms);
  created(c->lc, c->svc, c->attempt, ROSTER_ETIMEDOUT, NULL, msg);
}

static void create_late(roster__job *j) {
  create_job *c = (create_job *)j;
  if (c->rc == ROSTER_OK) { /* nobody wants it any more */
    roster__inst tmp = {.instance = c->instance, .type = c->type,
                        .destroy = c->destroy, .arg = c->arg};
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
  c->job = (roster__job){.run = create_run, .done = create_done,
                         .on_timeout = create_timeout, .late = create_late,
                         .drop = create_drop};
  atomic_init(&c->job.refs, 1);
  if (s->p.start_timeout_ms > 0)
    c->job.timeout_ns = s->p.start_timeout_ms * 1000000LL;
  c->lc = lc;
  atomic_fetch_add(&lc->refs, 1);
  c->svc = s;
  c->attempt = s->attempt;
  c->destroy = s->p.destroy;
  c->type = s->p.type;
  c->arg = s->p.arg;
  roster__set_state(lc, s, ROSTER_STATE_STARTING, ROSTER_OK, NULL);
  roster__pool_submit(lc->pool, &c->job);
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
      !lc->pool || !deps_up(s))
    return;
  start_svc(lc, s);
}

/* roster__create_inline creates s on this thread (a lazy roster_get). Lock
 * held on entry and exit; s was down and nobody was creating it. */
int roster__create_inline(roster__lc *lc, roster__svc *s) {
  uint64_t attempt = ++s->attempt;
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
  inst_destroy_now(c->inst);
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
    snprintf(msg, sizeof msg, "service '%s' did not stop cleanly: %s",
             s->name, why);
    roster__set_state(lc, s, ROSTER_STATE_FAILED, rc, msg);
  } else if (after == ROSTER__AFTER_RESTART || after == ROSTER__AFTER_FAIL) {
    /* svc_fail decided: the error is already in s->err/detail */
    roster__set_state(lc, s, ROSTER_STATE_FAILED, s->err ? s->err
                      : ROSTER_EFAILED, s->detail);
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
    inst_put(in); /* the service's reference */
  roster__drain(lc, false);
}

static void stop_done(roster__job *j) {
  stop_job *c = (stop_job *)j;
  stopped(c->lc, c->svc, c->inst, c->rc, c->detail);
}

static void stop_timeout(roster__job *j) {
  stop_job *c = (stop_job *)j;
  char msg[128];
  snprintf(msg, sizeof msg, "stop did not finish within %lld ms "
           "(abandoned)", (long long)c->svc->p.stop_timeout_ms);
  stopped(c->lc, c->svc, c->inst, ROSTER_ETIMEDOUT, msg);
}

static void stop_drop(roster__job *j) {
  stop_job *c = (stop_job *)j;
  inst_put(c->inst);
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
    if (u->stop_req && (roster__svc_up(u) || u->state ==
                        ROSTER_STATE_STARTING || u->state ==
                        ROSTER_STATE_STOPPING))
      return;
  }
  stop_job *c = roster__calloc(1, sizeof *c);
  if (!c)
    return; /* retried on the next kick */
  c->job = (roster__job){.run = stop_run, .done = stop_done,
                         .on_timeout = stop_timeout, .drop = stop_drop};
  atomic_init(&c->job.refs, 1);
  /* the whole stop (release wait + destroy) gets the stop timeout, plus a
   * little so that the release wait reports itself first */
  if (s->p.stop_timeout_ms > 0)
    c->job.timeout_ns = s->p.stop_timeout_ms * 1000000LL + 50000000LL;
  c->lc = lc;
  atomic_fetch_add(&lc->refs, 1);
  c->svc = s;
  c->inst = s->inst;
  atomic_fetch_add(&c->inst->refs, 1);
  roster__set_state(lc, s, ROSTER_STATE_STOPPING, s->err, s->detail);
  roster__pool_submit(lc->pool, &c->job);
}

/* roster__request_stop marks s to stop (and, first, everything up that
 * depends on it with on_dep = restart). Lock held. */
void roster__request_stop(roster__lc *lc, roster__svc *s,
                          enum roster__after after) {
  if (s->stop_req)
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
    snprintf(msg, sizeof msg, "service '%s' restarted %zu times in %lld ms; "
             "giving up: %s", s->name, recent,
             (long long)s->p.restart_window_ms, detail ? detail : "");
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
    int64_t delay = half + (half ? (int64_t)(lc->rng % (uint64_t)(half + 1))
                                 : 0);
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
    roster__request_stop(lc, s, restart ? ROSTER__AFTER_RESTART
                                : normal_exit ? ROSTER__AFTER_STAY
                                              : ROSTER__AFTER_FAIL);
  } else {
    /* it was not up (a restart's create failed): no stop needed */
    roster__set_state(lc, s, normal_exit ? ROSTER_STATE_STOPPED
                                         : ROSTER_STATE_FAILED,
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
        roster__set_state(lc, u, normal_exit ? ROSTER_STATE_STOPPED
                                             : ROSTER_STATE_FAILED,
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
  roster__pool_free(lc->pool); /* waits for in-flight jobs (bounded) */
  roster__drain(lc, true);
  pthread_mutex_lock(&lc->lock);
  /* a stop that never finished leaves its record; drop the service's */
  for (roster__svc *s = lc->head; s; s = s->next)
    if (s->inst) {
      roster__inst *in = s->inst;
      s->inst = NULL;
      pthread_mutex_unlock(&lc->lock);
      roster__unregister_inst(r, s->ns, s->name, in);
      inst_put(in);
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
