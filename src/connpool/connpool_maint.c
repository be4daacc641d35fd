/*
 * connpool_maint.c: the connection pool's background side: the maintenance
 * thread (closing expired and idle-timed-out connections, leak reports,
 * refilling min_idle) and roster_pool_drain.
 *
 * The maintenance thread makes a pass every maintenance_ms, or at once
 * when an acquire or release asks for a refill. A pass gathers its work
 * under the lock (connections to close, leak reports to make, each
 * acquisition reported once), then closes and reports with the lock
 * dropped, then refills one connect at a time, also unlocked. A refill that
 * fails is not retried before the next pass, so a server that is down is
 * not hammered.
 */
#include "connpool_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>

#define LEAK_BATCH 32  /* leak reports gathered per pass under the lock */
#define CLOSE_BATCH 64 /* connections closed per pass */

typedef struct leak_batch {
  size_t n;
  bool more; /* not all reports fitted: make another pass at once */
  roster_pool_leak v[LEAK_BATCH];
} leak_batch;

void roster__cp_leak_stderr(const roster_pool_leak *l, void *arg) {
  (void)arg;
  fprintf(stderr,
          "roster: pool '%s': connection %p held for %" PRId64
          " ms by thread %" PRId64 ", acquired at %s:%d in %s()\n",
          l->pool, l->conn, l->held_ms, l->thread_id, l->file, l->line,
          l->func);
}

/* find_leaks gathers the in-use connections held past the threshold and
 * not reported yet. */
static void find_leaks(roster_pool *p, int64_t now, leak_batch *b) {
  b->n = 0;
  b->more = false;
  if (p->leak_threshold <= 0)
    return;
  for (unsigned i = 0; i < p->max_size; i++) {
    roster__cp_slot *s = &p->slots[i];
    /* (no slot is parked: a leak threshold turns the fast path off) */
    if ((s->state != S_USED && s->state != S_RESET) || s->leak_reported ||
        now - roster__cp_since(s) < p->leak_threshold)
      continue;
    if (b->n == LEAK_BATCH) {
      b->more = true;
      return;
    }
    s->leak_reported = true;
    p->st.leaks++;
    roster__cp_site who = roster__cp_site_get(s);
    b->v[b->n++] =
        (roster_pool_leak){.pool = p->name,
                           .conn = s->conn,
                           .file = who.file,
                           .line = who.line,
                           .func = who.func,
                           .thread_id = who.tid,
                           .held_ms = (now - roster__cp_since(s)) / NS_PER_MS};
  }
}

/* sweep retires idle connections past their lifetime, or idle too long
 * while more than min_idle are idle, oldest first, into out (at most
 * CLOSE_BATCH); returns how many. */
static size_t sweep(roster_pool *p, int64_t now, void **out) {
  size_t n = 0;
  for (roster__cp_slot *s = p->idle_tail, *prev; s && n < CLOSE_BATCH;
       s = prev) {
    prev = s->prev;
    if (now >= s->expires) {
      p->st.expired++;
    } else if (p->idle_timeout >= 0 && p->nidle > p->min_idle &&
               now - roster__cp_since(s) >= p->idle_timeout) {
      p->st.idle_closed++;
    } else {
      continue;
    }
    roster__cp_idle_unlink(p, s);
    out[n++] = roster__cp_retire(p, s);
  }
  return n;
}

/* refill opens connections until min_idle are idle (or one fails). A new
 * connection goes to the head waiter if there is one. */
static void refill(roster_pool *p) {
  while (!p->draining && !p->stop && p->nidle + p->pending < p->min_idle &&
         p->size + p->pending < p->max_size) {
    p->pending++;
    pthread_mutex_unlock(&p->mu);
    void *conn = NULL;
    int rc = roster__cp_connect(p, &conn);
    pthread_mutex_lock(&p->mu);
    p->pending--;
    if (rc != ROSTER_OK) {
      p->st.connect_failures++;
      roster__cp_give_permit(p);
      return; /* next pass, not in a tight loop */
    }
    if (p->draining || p->stop) {
      p->st.created++;
      p->st.destroyed++;
      p->nclosing++;
      roster__cp_close_unlocked(p, conn);
      return;
    }
    int64_t now = roster__cp_now(p);
    _Atomic int *wake =
        roster__cp_give_slot(p, roster__cp_slot_add(p, conn, now), now);
    if (wake)
      roster__cp_futex_wake(wake);
  }
}

void *roster__cp_maint_main(void *arg) {
  roster_pool *p = arg;
  void *closing[CLOSE_BATCH];
  leak_batch leaks;
  pthread_mutex_lock(&p->mu);
  while (!p->stop) {
    p->refill_asked = false;
    /* parked connections back into the idle list, so the sweep sees them
     * (their threads' next acquires take the lock once); a slot parked
     * from here on was released after now (see roster__cp_parked_since) */
    int64_t now = roster__cp_now(p);
    roster__cp_claim_parked(p, UINT_MAX);
    atomic_store_explicit(&p->parked_floor, now, memory_order_relaxed);
    size_t n = p->draining ? 0 : sweep(p, now, closing);
    find_leaks(p, now, &leaks);
    bool again = n == CLOSE_BATCH || leaks.more;
    if (n || leaks.n) {
      pthread_mutex_unlock(&p->mu);
      for (size_t i = 0; i < n; i++)
        p->ops->close(p->arg, closing[i]);
      for (size_t i = 0; i < leaks.n; i++)
        p->leak_fn(&leaks.v[i], p->leak_arg);
      pthread_mutex_lock(&p->mu);
      p->nclosing -= (unsigned)n;
    }
    refill(p);
    /* Wakes drainers; never destroys: freed is set after this thread. */
    roster__cp_settle(p);
    p->passes++;
    if (again || p->stop || p->refill_asked)
      continue;
    struct timespec ts =
        roster__cp_ts(roster__cp_mono_ns() + p->maint_ms * NS_PER_MS);
    pthread_cond_timedwait(&p->maint_cv, &p->mu, &ts);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

void roster__cp_drain_begin(roster_pool *p) {
  void *closing[CLOSE_BATCH];
  pthread_mutex_lock(&p->mu);
  if (!p->draining) {
    p->draining = true;
    atomic_fetch_or(&p->fast_block, CP_FAST_DRAIN);
    for (roster__cp_waiter *w; (w = roster__cp_wq_pop(p));)
      roster__cp_futex_wake(roster__cp_serve(w, W_DRAIN));
    pthread_cond_signal(&p->maint_cv);
  }
  /* parked connections are idle: closed here (unpark closes when draining);
   * no release parks from here on */
  roster__cp_claim_parked(p, UINT_MAX);
  while (p->idle_head) {
    size_t n = 0;
    for (roster__cp_slot *s; n < CLOSE_BATCH && (s = p->idle_head); n++) {
      roster__cp_idle_unlink(p, s);
      closing[n] = roster__cp_retire(p, s);
    }
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; i < n; i++)
      p->ops->close(p->arg, closing[i]);
    pthread_mutex_lock(&p->mu);
    p->nclosing -= (unsigned)n;
  }
  roster__cp_settle(p); /* wakes other drainers; never destroys here */
  pthread_mutex_unlock(&p->mu);
}

/* err_still_used names who holds what is left at a drain's deadline. */
static int err_still_used(const roster_pool *p, int64_t waited_ns) {
  if (!p->in_use)
    return roster__err(ROSTER_ETIMEDOUT,
                       "pool '%s': after %" PRId64
                       " ms, %u connects and %u closes are still running",
                       p->name, waited_ns / NS_PER_MS, p->pending, p->nclosing);
  char buf[768];
  size_t o = 0;
  unsigned shown = 0;
  int64_t now = roster__cp_now(p);
  buf[0] = '\0';
  for (unsigned i = 0; i < p->max_size && shown < 4; i++) {
    const roster__cp_slot *s = &p->slots[i];
    if (s->state != S_USED && s->state != S_RESET)
      continue;
    roster__cp_site who = roster__cp_site_get(s);
    int k = snprintf(buf + o, sizeof buf - o,
                     "%s%s:%d in %s() on thread %" PRId64 " for %" PRId64 " ms",
                     shown ? "; " : "", who.file, who.line, who.func, who.tid,
                     (now - roster__cp_since(s)) / NS_PER_MS);
    if (k < 0 || (size_t)k >= sizeof buf - o) {
      buf[o] = '\0';
      break;
    }
    o += (size_t)k;
    shown++;
  }
  return roster__err(ROSTER_ETIMEDOUT,
                     "pool '%s': %u connection%s still in use after %" PRId64
                     " ms (closed when released), held by %s%s",
                     p->name, p->in_use, p->in_use == 1 ? "" : "s",
                     waited_ns / NS_PER_MS, buf,
                     p->in_use > shown ? "; ..." : "");
}

int roster_pool_drain(roster_pool *p, int64_t deadline_ms) {
  if (!p)
    return roster__err(ROSTER_EINVAL, "roster_pool_drain: pool is NULL");
  int64_t t0 = roster__cp_mono_ns();
  if (deadline_ms > YEAR_MS)
    deadline_ms = YEAR_MS;
  roster__cp_drain_begin(p);
  pthread_mutex_lock(&p->mu);
  struct timespec ts =
      roster__cp_ts(t0 + (deadline_ms > 0 ? deadline_ms : 0) * NS_PER_MS);
  while (!roster__cp_quiet(p) && deadline_ms != 0) {
    int e = deadline_ms < 0 ? pthread_cond_wait(&p->drain_cv, &p->mu)
                            : pthread_cond_timedwait(&p->drain_cv, &p->mu, &ts);
    if (e == ETIMEDOUT)
      break;
  }
  int rc = roster__cp_quiet(p) ? ROSTER_OK
                               : err_still_used(p, roster__cp_mono_ns() - t0);
  pthread_mutex_unlock(&p->mu);
  return rc;
}
