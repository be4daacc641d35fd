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
  struct cds_lfht_iter it;
  roster__rlock();
  bool found = roster__find_first(r, k, &it) != NULL;
  roster__runlock();
  return found;
}
#include <time.h>

struct roster__waiter {
  roster__waiter *next;
  const char *ns; /* resolved namespace name */
  size_t ns_len;
  const char *name;
  size_t name_len;
  pthread_cond_t cond;
  bool woken;
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
      w->woken = true;
      pthread_cond_signal(&w->cond);
    }
  }
  pthread_mutex_unlock(&r->wait_lock);
}

int roster_wait_for(roster *r, const char *ns, const char *name,
                    int64_t timeout_ms) {
  if (!r)
    return roster__err(ROSTER_EINVAL, "registry is NULL");
  roster__thread_ensure();
  roster__key k;
  int rc = roster__key_init(r, &k, ns, name);
  if (rc)
    return rc;
  if (present(r, &k))
    return ROSTER_OK;

  roster__waiter w = {.ns = k.ns, .ns_len = k.ns_len, .name = name,
                      .name_len = k.name_len};
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&w.cond, &ca);
  pthread_condattr_destroy(&ca);

  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  if (timeout_ms >= 0) {
    deadline.tv_sec += (time_t)(timeout_ms / 1000);
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
      deadline.tv_sec++;
      deadline.tv_nsec -= 1000000000L;
    }
  }

  pthread_mutex_lock(&r->wait_lock);
  w.next = r->waiters;
  r->waiters = &w;
  atomic_fetch_add(&r->nwaiters, 1); /* seq_cst, before the check below */
  rc = ROSTER_ETIMEDOUT;
  for (;;) {
    if (present(r, &k)) {
      rc = ROSTER_OK;
      break;
    }
    w.woken = false;
    int e = timeout_ms < 0 ? pthread_cond_wait(&w.cond, &r->wait_lock)
                           : pthread_cond_timedwait(&w.cond, &r->wait_lock,
                                                    &deadline);
    if (e == ETIMEDOUT && !w.woken) {
      if (present(r, &k))
        rc = ROSTER_OK;
      break;
    }
  }
  for (roster__waiter **p = &r->waiters; *p; p = &(*p)->next)
    if (*p == &w) {
      *p = w.next;
      break;
    }
  atomic_fetch_sub(&r->nwaiters, 1);
  pthread_mutex_unlock(&r->wait_lock);
  pthread_cond_destroy(&w.cond);
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
