/*
 * listen.c: register/unregister listeners.
 *
 * The listener set is an immutable snapshot published through an RCU
 * pointer. A notifying thread pins the snapshot with a reference inside a
 * short read section, then calls the listeners outside any read section and
 * with no lock held, so a listener may block or call back into roster
 * (register, unregister, listen, unlisten) without deadlock. Writers build a
 * new snapshot under listen_lock; the old one loses the table's reference
 * after a grace period and is freed when its last notifier is done. A
 * listener's free_arg runs when no snapshot holds it any more.
 */
#include "roster_impl.h"

static void listener_put(roster__listener *l) {
  if (atomic_fetch_sub_explicit(&l->refs, 1, memory_order_acq_rel) == 1) {
    if (l->free_arg)
      l->free_arg(l->arg);
    roster__free(l);
  }
}

static void snap_put(roster__lsnap *s) {
  if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1) {
    for (size_t i = 0; i < s->n; i++)
      listener_put(s->items[i]);
    roster__free(s);
  }
}

static void snap_put_rcu(struct rcu_head *h) {
  roster__reclaim_enter();
  ROSTER__TSAN_ACQUIRE(h);
  ROSTER__TSAN_ACQUIRE(&roster__grace_token);
  snap_put(caa_container_of(h, roster__lsnap, rcu));
  roster__reclaim_exit();
}

/* publish swaps in s (may be NULL); called with listen_lock held. */
static void publish(roster *r, roster__lsnap *s) {
  if (s)
    ROSTER__TSAN_RELEASE(s);
  roster__lsnap *old = atomic_exchange(&r->lsnap, s);
  if (old)
    roster__defer(&old->rcu, snap_put_rcu);
}

static roster__lsnap *snap_new(size_t n) {
  roster__lsnap *s = roster__malloc(sizeof *s + n * sizeof s->items[0]);
  if (s) {
    atomic_init(&s->refs, 1);
    s->n = n;
  }
  return s;
}

int roster_listen(roster *r, unsigned mask, roster_listener_fn fn, void *arg,
                  void (*free_arg)(void *), uint64_t *id) {
  if (id)
    *id = 0;
  if (!r || !fn)
    return roster__err(ROSTER_EINVAL, "%s is NULL", r ? "fn" : "registry");
  if (!mask)
    return roster__err(ROSTER_EINVAL, "listener mask is empty");
  roster__thread_ensure();
  roster__listener *l = roster__malloc(sizeof *l);
  if (!l)
    return roster__err(ROSTER_ENOMEM, "out of memory");
  *l = (roster__listener){
      .mask = mask, .fn = fn, .arg = arg, .free_arg = free_arg};
  atomic_init(&l->refs, 1);
  pthread_mutex_lock(&r->listen_lock);
  roster__lsnap *cur = atomic_load(&r->lsnap);
  size_t n = cur ? cur->n : 0;
  roster__lsnap *s = snap_new(n + 1);
  if (!s) {
    pthread_mutex_unlock(&r->listen_lock);
    roster__free(l);
    return roster__err(ROSTER_ENOMEM, "out of memory");
  }
  l->id = r->next_listener_id++;
  for (size_t i = 0; i < n; i++) {
    s->items[i] = cur->items[i];
    atomic_fetch_add(&s->items[i]->refs, 1);
  }
  s->items[n] = l;
  publish(r, s);
  atomic_fetch_add(&r->nlisteners, 1);
  if (id)
    *id = l->id;
  pthread_mutex_unlock(&r->listen_lock);
  return ROSTER_OK;
}

int roster_unlisten(roster *r, uint64_t id) {
  if (!r)
    return roster__err(ROSTER_EINVAL, "registry is NULL");
  roster__thread_ensure();
  pthread_mutex_lock(&r->listen_lock);
  roster__lsnap *cur = atomic_load(&r->lsnap);
  size_t n = cur ? cur->n : 0, at = n;
  for (size_t i = 0; i < n; i++)
    if (cur->items[i]->id == id)
      at = i;
  if (at == n) {
    pthread_mutex_unlock(&r->listen_lock);
    return roster__err(ROSTER_ENOENT, "no listener with id %llu",
                       (unsigned long long)id);
  }
  roster__lsnap *s = NULL;
  if (n > 1) {
    s = snap_new(n - 1);
    if (!s) {
      pthread_mutex_unlock(&r->listen_lock);
      return roster__err(ROSTER_ENOMEM, "out of memory");
    }
    for (size_t i = 0, j = 0; i < n; i++) {
      if (i == at)
        continue;
      s->items[j] = cur->items[i];
      atomic_fetch_add(&s->items[j]->refs, 1);
      j++;
    }
  }
  publish(r, s);
  atomic_fetch_sub(&r->nlisteners, 1);
  pthread_mutex_unlock(&r->listen_lock);
  return ROSTER_OK;
}

/* pin returns the current snapshot with a reference, or NULL. */
static roster__lsnap *pin(roster *r) {
  if (!atomic_load_explicit(&r->lsnap, memory_order_relaxed))
    return NULL;
  roster__rlock();
  roster__lsnap *s = atomic_load_explicit(&r->lsnap, memory_order_consume);
  if (s) {
    ROSTER__TSAN_ACQUIRE(s);
    atomic_fetch_add(&s->refs, 1);
  }
  roster__runlock();
  return s;
}

static void deliver(roster *r, roster__lsnap *s, const roster_event *ev) {
  for (size_t i = 0; i < s->n; i++) {
    roster__listener *l = s->items[i];
    if (l->mask & (unsigned)ev->kind)
      l->fn(r, ev, l->arg);
  }
  snap_put(s);
}

bool roster__has_listeners(roster *r, unsigned kind) {
  bool any = false;
  roster__lsnap *s = pin(r);
  if (s) {
    for (size_t i = 0; i < s->n && !any; i++)
      any = (s->items[i]->mask & kind) != 0;
    snap_put(s);
  }
  return any;
}

void roster__notify_event(roster *r, const roster_event *ev) {
  roster__lsnap *s = pin(r);
  if (s)
    deliver(r, s, ev);
}

void roster__notify(roster *r, roster_event_kind kind, roster_reason why,
                    const roster__entry *e) {
  roster__lsnap *s = pin(r);
  if (!s)
    return;
  /* The caller holds a reference on e, so its fields stay valid; its
   * metadata may be retired by a concurrent meta_set, so copy it inside a
   * short read section and call the listeners outside any. */
  unsigned char meta[ROSTER_META_MAX];
  roster_info info;
  roster__rlock();
  roster__fill_info(e, &info);
  if (info.meta) {
    memcpy(meta, info.meta, info.meta_len);
    info.meta = meta;
  }
  roster__runlock();
  roster_event ev = {.kind = kind, .reason = why, .entry = &info};
  deliver(r, s, &ev);
}

void roster__listeners_free(roster *r) {
  pthread_mutex_lock(&r->listen_lock);
  roster__lsnap *old = atomic_exchange(&r->lsnap, NULL);
  atomic_store(&r->nlisteners, 0);
  pthread_mutex_unlock(&r->listen_lock);
  if (old)
    snap_put(old); /* after roster_free's barrier nobody else can hold it */
}
