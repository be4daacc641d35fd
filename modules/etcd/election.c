/*
 * election.c: leader election and the cron claim.
 *
 * Election: one key per election, <prefix>/<cluster>/election/<name>,
 * created if absent (a transaction comparing its create_revision with 0)
 * and bound to the candidate's lease. Whoever created it leads until it
 * resigns (the key is deleted if its create_revision is still ours) or its
 * lease ends (the process died or lost etcd for a TTL). The others watch
 * the key and try again when it is deleted. etcd's own recipe (a key per
 * candidate, ordered by create_revision, each watching the one before)
 * queues candidates in arrival order; with the few candidates of a
 * roster deployment the single key is as quick, has one key to read for
 * observe, and no queue to clean up after crashed candidates.
 *
 * Cron claim: each (job, tick) is its own key,
 * <prefix>/<cluster>/cron/<job>/<scheduled>, created if absent with the
 * node's name and bound to a lease of a few minutes: the one node whose
 * transaction created it runs the tick. See DESIGN.md for why this beats
 * running the jobs on a leader.
 */
#include "etcd_impl.h"

#include "base/helpers.h"

#include <stdio.h>
#include <string.h>

struct roster_etcd_election {
  roster_etcd *c;
  char *key, *id;
  int64_t ttl_s;
  roster_etcd_session *s;
  roster_etcd_watch *w;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool leading;
  int64_t my_rev;   /* create_revision of our key while leading */
  uint64_t changes; /* the key was deleted or changed: try again */
};

static int lease_lost(roster_etcd_session *s, int64_t lease, void *arg) {
  (void)s;
  (void)lease;
  roster_etcd_election *e = arg;
  pthread_mutex_lock(&e->mu);
  e->leading = false; /* the key went with the old lease */
  e->changes++;
  pthread_cond_broadcast(&e->cv);
  pthread_mutex_unlock(&e->mu);
  return ROSTER_OK;
}

/* note looks at the key's state as of revision at: held by create
 * revision rev (0: none). A view older than our own key (a read made
 * before we created it, delivered after) says nothing about it. */
static void note(roster_etcd_election *e, int64_t rev, int64_t at) {
  pthread_mutex_lock(&e->mu);
  if (e->leading && at >= e->my_rev && rev != e->my_rev)
    e->leading = false;
  e->changes++;
  pthread_cond_broadcast(&e->cv);
  pthread_mutex_unlock(&e->mu);
}

static void on_events(const roster_etcd_event *ev, size_t n, int64_t rev,
                      void *arg) {
  roster_etcd_election *e = arg;
  for (size_t i = 0; i < n; i++)
    if (!strcmp(ev[i].kv->key, e->key))
      note(e, ev[i].kind ? 0 : ev[i].kv->create_revision, rev);
}

static void on_sync(const roster_etcd_kvs *all, void *arg) {
  roster_etcd_election *e = arg;
  int64_t rev = 0;
  for (size_t i = 0; i < all->count; i++)
    if (!strcmp(all->items[i].key, e->key))
      rev = all->items[i].create_revision;
  note(e, rev, all->revision);
}

int roster_etcd_election_new(roster_etcd *c, const char *cluster,
                             const char *name, const char *id, int64_t ttl_s,
                             roster_etcd_election **out) {
  if (!out)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_etcd_election_new: out is NULL");
  *out = NULL;
  if (!c || !name || !*name || !id)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_etcd_election_new: a client, a name and "
                            "an id are needed");
  roster_etcd_election *e = roster_mem_calloc(1, sizeof *e);
  size_t kn = strlen(name) + strlen(cluster ? cluster : "default") + 32;
  if (e) {
    e->key = roster_mem_alloc(kn);
    e->id = roster_mem_strdup(id);
  }
  if (!e || !e->key || !e->id) {
    if (e) {
      roster_mem_free(e->key);
      roster_mem_free(e->id);
    }
    roster_mem_free(e);
    return roster_error_set(ROSTER_ENOMEM, "etcd election: out of memory");
  }
  snprintf(e->key, kn, "/roster/%s/election/%s", cluster ? cluster : "default",
           name);
  e->c = c;
  e->ttl_s = ttl_s > 0 ? ttl_s : 10;
  pthread_mutex_init(&e->mu, NULL);
  roster__cond_init_mono(&e->cv);
  *out = e;
  return ROSTER_OK;
}

static int start(roster_etcd_election *e) {
  int rc = ROSTER_OK;
  if (!e->s)
    rc = roster_etcd_session_new(e->c, e->ttl_s, lease_lost, e, &e->s);
  if (!rc && !e->w)
    rc = roster_etcd_watch_new(e->c, e->key, on_events, on_sync, e, &e->w);
  return rc;
}

int roster_etcd_campaign(roster_etcd_election *e, int64_t timeout_ms) {
  if (!e)
    return roster_error_set(ROSTER_EINVAL, "roster_etcd_campaign: NULL");
  int64_t deadline =
      timeout_ms < 0 ? INT64_MAX : roster__etcd_now_ns() + timeout_ms * 1000000;
  pthread_mutex_lock(&e->mu);
  int rc = start(e);
  while (!rc && !e->leading) {
    uint64_t seen = e->changes;
    pthread_mutex_unlock(&e->mu);
    bool created = false;
    int64_t rev = 0;
    rc = roster_etcd_create(e->c, e->key, e->id, strlen(e->id),
                            roster_etcd_session_lease(e->s), &created, &rev);
    pthread_mutex_lock(&e->mu);
    if (rc)
      break;
    if (created) {
      e->leading = true;
      e->my_rev = rev;
      break;
    }
    int64_t now = roster__etcd_now_ns();
    if (now >= deadline) {
      rc = roster_error_set(ROSTER_ETIMEDOUT,
                            "etcd election %s: not leader within %lld ms",
                            e->key, (long long)timeout_ms);
      break;
    }
    /* Until the key changes; every second at most, in case a change was
     * missed while the watch was between streams. */
    int64_t until = deadline - now < 1000000000 ? deadline : now + 1000000000;
    struct timespec ts = {.tv_sec = until / 1000000000,
                          .tv_nsec = until % 1000000000};
    while (e->changes == seen &&
           pthread_cond_timedwait(&e->cv, &e->mu, &ts) == 0)
      ;
  }
  pthread_mutex_unlock(&e->mu);
  return rc;
}

bool roster_etcd_is_leader(roster_etcd_election *e) {
  if (!e)
    return false;
  pthread_mutex_lock(&e->mu);
  bool l = e->leading;
  pthread_mutex_unlock(&e->mu);
  return l;
}

int roster_etcd_observe(roster_etcd_election *e, char *buf, size_t cap) {
  if (!e || !buf || !cap)
    return roster_error_set(ROSTER_EINVAL, "roster_etcd_observe: NULL");
  roster_etcd_kvs kvs;
  int rc = roster_etcd_get(e->c, e->key, &kvs);
  if (rc)
    return rc;
  if (!kvs.count)
    rc = roster_error_set(ROSTER_ENOENT, "etcd election %s: no leader", e->key);
  else
    snprintf(buf, cap, "%s", kvs.items[0].value);
  roster_etcd_kvs_free(&kvs);
  return rc;
}

int roster_etcd_resign(roster_etcd_election *e) {
  if (!e)
    return roster_error_set(ROSTER_EINVAL, "roster_etcd_resign: NULL");
  pthread_mutex_lock(&e->mu);
  int64_t rev = e->leading ? e->my_rev : 0;
  e->leading = false;
  pthread_mutex_unlock(&e->mu);
  return rev ? roster_etcd_delete_if(e->c, e->key, rev, NULL) : ROSTER_OK;
}

void roster_etcd_election_free(roster_etcd_election *e, bool keep_lease) {
  if (!e)
    return;
  roster_etcd_watch_free(e->w);
  if (!keep_lease)
    roster_etcd_resign(e);
  roster_etcd_session_free(e->s, keep_lease);
  pthread_cond_destroy(&e->cv);
  pthread_mutex_destroy(&e->mu);
  roster_mem_free(e->key);
  roster_mem_free(e->id);
  roster_mem_free(e);
}

/* ---- cron ---- */

struct roster_etcd_cron {
  roster_etcd *c;
  char *prefix, *node;
  int64_t ttl_s;
  pthread_mutex_t mu;
  roster_etcd_session *s; /* made by the first claim, under mu */
};

int roster_etcd_cron_new(roster_etcd *c, const char *cluster, const char *node,
                         int64_t ttl_s, roster_etcd_cron **out) {
  if (!out)
    return roster_error_set(ROSTER_EINVAL, "roster_etcd_cron_new: out is NULL");
  *out = NULL;
  if (!c || !node || !*node)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_etcd_cron_new: a client and a node name "
                            "are needed");
  roster_etcd_cron *cc = roster_mem_calloc(1, sizeof *cc);
  size_t pn = strlen(cluster ? cluster : "default") + 16;
  if (cc) {
    cc->prefix = roster_mem_alloc(pn);
    cc->node = roster_mem_strdup(node);
  }
  int rc = cc && cc->prefix && cc->node
               ? ROSTER_OK
               : roster_error_set(ROSTER_ENOMEM, "etcd cron: out of memory");
  if (!rc) {
    snprintf(cc->prefix, pn, "/roster/%s/cron/", cluster ? cluster : "default");
    cc->c = c;
    cc->ttl_s = ttl_s > 0 ? ttl_s : 300;
    pthread_mutex_init(&cc->mu, NULL);
  }
  if (rc) {
    if (cc) {
      roster_mem_free(cc->prefix);
      roster_mem_free(cc->node);
    }
    roster_mem_free(cc);
    return rc;
  }
  *out = cc;
  return ROSTER_OK;
}

void roster_etcd_cron_free(roster_etcd_cron *cc) {
  if (!cc)
    return;
  /* The claims stay until their lease ends: a tick claimed here must not
   * become claimable again by a node whose clock is a little behind. */
  roster_etcd_session_free(cc->s, true);
  pthread_mutex_destroy(&cc->mu);
  roster_mem_free(cc->prefix);
  roster_mem_free(cc->node);
  roster_mem_free(cc);
}

int roster_etcd_cron_claim(const char *job, int64_t scheduled, void *arg) {
  roster_etcd_cron *cc = arg;
  if (!cc || !job || !*job)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_etcd_cron_claim: no state or job name");
  char key[600];
  snprintf(key, sizeof key, "%s%s/%lld", cc->prefix, job, (long long)scheduled);
  pthread_mutex_lock(&cc->mu);
  int rc = cc->s
               ? ROSTER_OK
               : roster_etcd_session_new(cc->c, cc->ttl_s, NULL, NULL, &cc->s);
  int64_t lease = roster_etcd_session_lease(cc->s);
  pthread_mutex_unlock(&cc->mu);
  bool created = false;
  if (!rc)
    rc = roster_etcd_create(cc->c, key, cc->node, strlen(cc->node), lease,
                            &created, NULL);
  if (rc)
    return roster__err_wrap(rc, "cron claim of job '%s' at %lld", job,
                            (long long)scheduled);
  return created ? 1 : 0;
}
