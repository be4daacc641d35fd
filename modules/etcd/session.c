/*
 * session.c: a lease kept alive by a thread of its own.
 *
 * A keepalive goes every ttl/3 (every 500 ms after a failure, until the
 * lease's TTL would have run out). etcd answers a keepalive of a lease it
 * no longer knows with a 200 and no TTL: that means the lease expired (the
 * cluster was out of reach longer than the TTL, the process was paused)
 * or was revoked, and every key bound to it is gone. The session then
 * grants a new lease and hands it to its owner (on_lease), which writes
 * its keys again.
 */
#include "etcd_impl.h"

#include "base/helpers.h"

#include <string.h>

struct roster_etcd_session {
  roster_etcd *c;
  int64_t ttl_s;
  roster_etcd_lease_fn on_lease;
  void *arg;
  atomic_int_fast64_t lease;
  atomic_bool paused, stop;
  bool owed; /* on_lease failed: call it again */
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
};

static void *run(void *arg) {
  roster_etcd_session *s = arg;
  int64_t period = s->ttl_s * 1000 / 3;
  int64_t wait = period;
  while (!roster__etcd_nap(&s->mu, &s->cv, &s->stop, wait)) {
    wait = period;
    if (atomic_load(&s->paused))
      continue;
    int64_t ttl = 0;
    int rc = roster_etcd_lease_keepalive(s->c, atomic_load(&s->lease), &ttl);
    if (rc == ROSTER_ENOENT) {
      int64_t id = 0;
      if (roster_etcd_lease_grant(s->c, s->ttl_s, &id)) {
        wait = 500;
        continue;
      }
      atomic_store(&s->lease, id);
      atomic_fetch_add(&s->c->regrants, 1);
      s->owed = true;
    } else if (rc) {
      wait = 500;
      continue;
    }
    if (s->owed && s->on_lease)
      s->owed = s->on_lease(s, atomic_load(&s->lease), s->arg) != ROSTER_OK;
    else
      s->owed = false;
    if (s->owed)
      wait = 500;
  }
  return NULL;
}

int roster_etcd_session_new(roster_etcd *c, int64_t ttl_s,
                            roster_etcd_lease_fn on_lease, void *arg,
                            roster_etcd_session **out) {
  if (!out)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_etcd_session_new: out is NULL");
  *out = NULL;
  if (!c || ttl_s < 2)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_etcd_session_new: a client and a TTL of "
                            "2 s or more (etcd's least) are needed");
  int64_t id;
  int rc = roster_etcd_lease_grant(c, ttl_s, &id);
  if (rc)
    return rc;
  roster_etcd_session *s = roster_mem_calloc(1, sizeof *s);
  if (!s) {
    roster_etcd_lease_revoke(c, id);
    return roster_error_set(ROSTER_ENOMEM, "etcd session: out of memory");
  }
  s->c = c;
  s->ttl_s = ttl_s;
  s->on_lease = on_lease;
  s->arg = arg;
  atomic_init(&s->lease, id);
  pthread_mutex_init(&s->mu, NULL);
  roster__cond_init_mono(&s->cv);
  rc = roster__thread_start(&s->thread, "etcd-lease", false, run, s);
  if (rc) {
    rc = roster__err_wrap(rc, "etcd session: no thread");
    roster_etcd_lease_revoke(c, id);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    roster_mem_free(s);
    return rc;
  }
  *out = s;
  return ROSTER_OK;
}

int64_t roster_etcd_session_lease(roster_etcd_session *s) {
  return s ? atomic_load(&s->lease) : 0;
}

void roster_etcd_session_pause(roster_etcd_session *s, bool paused) {
  if (s)
    atomic_store(&s->paused, paused);
}

void roster_etcd_session_free(roster_etcd_session *s, bool keep_lease) {
  if (!s)
    return;
  pthread_mutex_lock(&s->mu);
  atomic_store(&s->stop, true);
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
  pthread_join(s->thread, NULL);
  if (!keep_lease)
    roster_etcd_lease_revoke(s->c, atomic_load(&s->lease));
  pthread_cond_destroy(&s->cv);
  pthread_mutex_destroy(&s->mu);
  roster_mem_free(s);
}
