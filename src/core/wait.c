/*
 * wait.c: roster_wait_for, woken by the registration itself.
 *
 * Waiters park on their own condition variable (CLOCK_MONOTONIC) in a list
 * under wait_lock. A registering thread checks an atomic waiter count after
 * publishing its entry; only if someone waits does it take the lock and
 * signal the waiters of that key. The waiter raises the count before it
 * checks the table, and the registrant publishes before it reads the count
 * (both sequentially consistent), so a wake-up cannot be lost.
 */
#include "roster_impl.h"

#include <errno.h>

/* present checks the key without touching the lookup counters (waiting is
 * not a lookup). */
static bool present(roster *r, const roster__key *k) {
  roster__iter it;
  roster__rlock();
  bool found = roster__find_first(r, k, &it) != NULL;
  roster__runlock();
  return found;
}
#include <time.h>

/* A waiter parks on its own mutex and condition variable. It is linked into
 * the waiter list of the registry it waits on and of every ancestor scope
 * (one roster__waiter node per registry, all pointing to the same park),
 * since a lookup in a scope falls through to its parents. */
typedef struct park {
  pthread_mutex_t mu;
  pthread_cond_t cond;
  bool woken;
} park;

struct roster__waiter {
  roster__waiter *next;
  const char *ns; /* resolved namespace name */
  size_t ns_len;
  const char *name;
  size_t name_len;
  park *p;
};

void roster__wake_waiters(roster *r, const roster__entry *e) {
  atomic_thread_fence(memory_order_seq_cst);
  if (ROSTER__LIKELY(atomic_load(&r->nwaiters) == 0))
    return;
  pthread_mutex_lock(&r->wait_lock);
  for (roster__waiter *w = r->waiters; w; w = w->next) {
    if (w->name_len == e->name_len && w->ns_len == e->ns->len &&
        memcmp(w->name, e->name, w->name_len) == 0 &&
        memcmp(w->ns, e->ns->name, w->ns_len) == 0) {
      pthread_mutex_lock(&w->p->mu);
      w->p->woken = true;
      pthread_cond_signal(&w->p->cond);
      pthread_mutex_unlock(&w->p->mu);
    }
  }
  pthread_mutex_unlock(&r->wait_lock);
}

/* present_chain checks the key in r and its ancestors. */
static bool present_chain(roster *r, const char *ns, const char *name) {
  for (; r; r = r->parent) {
    roster__key k;
    if (roster__key_init(r, &k, ns, name) == ROSTER_OK && present(r, &k))
      return true;
  }
  return false;
}

#define WAIT_DEPTH_INLINE 8

int roster_wait_for(roster *r, const char *ns, const char *name,
                    int64_t timeout_ms) {
  roster__key k;
  int rc = roster__key_enter(r, &k, ns, name);
  if (rc)
    return rc;
  if (present_chain(r, ns, name))
    return ROSTER_OK;

  size_t depth = 0;
  for (roster *x = r; x; x = x->parent)
    depth++;
  roster__waiter inline_w[WAIT_DEPTH_INLINE];
  roster__waiter *ws = inline_w;
  if (depth > WAIT_DEPTH_INLINE) {
    ws = roster__calloc(depth, sizeof *ws);
    if (!ws)
      return roster__err(ROSTER_ENOMEM, "out of memory");
  }
  park pk = {.woken = false};
  pthread_mutex_init(&pk.mu, NULL);
  roster__cond_init_mono(&pk.cond);

  struct timespec deadline =
      roster__mono_after(timeout_ms >= 0 ? timeout_ms : 0);

  size_t i = 0;
  for (roster *x = r; x; x = x->parent, i++) {
    ws[i] = (roster__waiter){.ns = k.ns,
                             .ns_len = k.ns_len,
                             .name = name,
                             .name_len = k.name_len,
                             .p = &pk};
    pthread_mutex_lock(&x->wait_lock);
    ws[i].next = x->waiters;
    x->waiters = &ws[i];
    atomic_fetch_add(&x->nwaiters, 1); /* seq_cst, before the check below */
    pthread_mutex_unlock(&x->wait_lock);
  }
  rc = ROSTER_ETIMEDOUT;
  for (;;) {
    if (present_chain(r, ns, name)) {
      rc = ROSTER_OK;
      break;
    }
    int e = 0;
    pthread_mutex_lock(&pk.mu);
    while (!pk.woken && e != ETIMEDOUT)
      e = timeout_ms < 0 ? pthread_cond_wait(&pk.cond, &pk.mu)
                         : pthread_cond_timedwait(&pk.cond, &pk.mu, &deadline);
    bool woken = pk.woken;
    pk.woken = false;
    pthread_mutex_unlock(&pk.mu);
    if (!woken) {
      if (present_chain(r, ns, name))
        rc = ROSTER_OK;
      break;
    }
  }
  i = 0;
  for (roster *x = r; x; x = x->parent, i++) {
    pthread_mutex_lock(&x->wait_lock);
    for (roster__waiter **p = &x->waiters; *p; p = &(*p)->next)
      if (*p == &ws[i]) {
        *p = ws[i].next;
        break;
      }
    atomic_fetch_sub(&x->nwaiters, 1);
    pthread_mutex_unlock(&x->wait_lock);
  }
  if (ws != inline_w)
    roster__free(ws);
  pthread_cond_destroy(&pk.cond);
  pthread_mutex_destroy(&pk.mu);
  if (rc != ROSTER_OK) {
    char qn[96];
    return roster__err(ROSTER_ETIMEDOUT,
                       "'%s' was not registered in namespace '%s' within "
                       "%lld ms",
                       roster__quote(qn, sizeof qn, name, k.name_len), k.ns,
                       (long long)timeout_ms);
  }
  return ROSTER_OK;
}
