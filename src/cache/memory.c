/*
 * memory.c: the memory backend's value operations (get, set, del, ttl,
 * expire, incr, mget, mset), its entries and the vtable. See memory_impl.h
 * for the design: lock-free reads over a cds_lfht, writes under the key's
 * shard lock, replaced entries freed after an RCU grace period.
 */
#include "memory_impl.h"

#include <inttypes.h>
#include <stdio.h>

/* ---- entries -------------------------------------------------------- */

static int mc_match(struct cds_lfht_node *node, const void *key) {
  const mc_entry *e = caa_container_of(node, mc_entry, node);
  const mc_key *k = key;
  ROSTER__TSAN_ACQUIRE(e);
  return e->klen == k->n && memcmp(e->data, k->p, k->n) == 0;
}

mc_entry *roster__memory_find(mc *m, uint64_t h, const mc_key *k) {
  struct cds_lfht_iter it;
  cds_lfht_lookup(m->ht, (unsigned long)h, mc_match, k, &it);
  struct cds_lfht_node *n = cds_lfht_iter_get_node(&it);
  if (!n)
    return NULL;
  mc_entry *e = caa_container_of(n, mc_entry, node);
  ROSTER__TSAN_ACQUIRE(e);
  return e;
}

mc_entry *roster__memory_find_locked(mc *m, uint64_t h, const mc_key *k) {
  roster__rlock();
  mc_entry *e = roster__memory_find(m, h, k);
  roster__runlock();
  return e;
}

mc_entry *roster__memory_alloc(const void *key, size_t klen, uint8_t kind,
                               size_t vlen) {
  if (kind == MC_INT)
    vlen = sizeof(int64_t);
  mc_entry *e = roster__malloc(sizeof *e + mc_voff(klen) + vlen);
  if (!e)
    return NULL;
  cds_lfht_node_init(&e->node);
  atomic_init(&e->expire, 0);
  e->klen = (uint32_t)klen;
  e->vlen = (uint32_t)vlen;
  e->kind = kind;
  e->flags = 0;
  atomic_init(&e->ref, 0);
  e->u.l.prev = e->u.l.next = NULL;
  memcpy(e->data, key, klen);
  if (kind == MC_INT)
    atomic_init(mc_num(e), 0);
  return e;
}

static void mc_reclaim(struct rcu_head *head) {
  roster__reclaim_enter();
  ROSTER__TSAN_ACQUIRE(head);
  ROSTER__TSAN_ACQUIRE(&roster__grace_token);
  roster__free(caa_container_of(head, mc_entry, u.rcu));
  roster__reclaim_exit();
}

/* Retired entries are freed in batches, on the writers' own threads. A
 * shard gathers what its writes retire (64 entries or 64 KiB), then hands
 * the batch to call_rcu with a callback that only marks it ready; the
 * shard's next write after that frees the batch. Measured on the set
 * benchmark: one call_rcu per entry woke liburcu's reclaim thread for a
 * few callbacks and a grace period each time, and its frees of memory the
 * writer had allocated contended on malloc's arena lock (futex wake-ups
 * in every profile); together about as much as the rest of a set. The
 * maintenance thread frees ready batches of shards nobody writes to. */
#define MC_BATCH_N 64
#define MC_BATCH_BYTES (64 * 1024)

enum { MC_B_PENDING = 0, MC_B_READY = 1, MC_B_ORPHAN = 2 };

typedef struct mc_batch {
  struct rcu_head rcu;
  struct mc_batch *next; /* in the shard's pending list (shard lock) */
  mc_entry *first;
  _Atomic int state; /* MC_B_*: the callback and close race on it */
} mc_batch;

static void mc_batch_ready(struct rcu_head *head) {
  roster__reclaim_enter();
  ROSTER__TSAN_ACQUIRE(head);
  ROSTER__TSAN_ACQUIRE(&roster__grace_token);
  mc_batch *b = caa_container_of(head, mc_batch, rcu);
  /* The release orders the grace period before the writer's frees. */
  if (atomic_exchange_explicit(&b->state, MC_B_READY, memory_order_acq_rel) ==
      MC_B_ORPHAN)
    roster__free(b); /* the store closed meanwhile and freed the entries */
  roster__reclaim_exit();
}

static void free_chain(mc_entry *e) {
  for (mc_entry *next; e; e = next) {
    next = e->u.l.next;
    roster__free(e);
  }
}

static void mc_flush(mc_shard *s) {
  mc_entry *e = s->retired;
  s->retired = NULL;
  s->nretired = s->retired_bytes = 0;
  if (!e)
    return;
  mc_batch *b = roster__malloc(sizeof *b);
  if (!b) { /* no memory for a batch: one call_rcu each */
    for (mc_entry *next; e; e = next) {
      next = e->u.l.next;
      roster__defer(&e->u.rcu, mc_reclaim);
    }
    return;
  }
  b->first = e;
  b->next = NULL;
  atomic_init(&b->state, MC_B_PENDING);
  if (s->pend_tail)
    s->pend_tail->next = b;
  else
    s->pend_head = b;
  s->pend_tail = b;
  roster__defer(&b->rcu, mc_batch_ready);
}

/* mc_take_ready unlinks s's ready batches (s locked); the caller frees
 * them, after the unlock if it likes. */
static mc_batch *mc_take_ready(mc_shard *s) {
  mc_batch *first = s->pend_head, *last = NULL;
  for (mc_batch *b = first;
       b && atomic_load_explicit(&b->state, memory_order_acquire) == MC_B_READY;
       b = b->next)
    last = b;
  if (!last)
    return NULL;
  s->pend_head = last->next;
  if (!s->pend_head)
    s->pend_tail = NULL;
  last->next = NULL;
  return first;
}

static void mc_free_batches(mc_batch *b) {
  for (mc_batch *next; b; b = next) {
    next = b->next;
    free_chain(b->first);
    roster__free(b);
  }
}

/* mc_retire: e has left the table and s's list (s locked); it is freed
 * after a grace period, since readers may still be looking at it. */
static void mc_retire(mc_shard *s, mc_entry *e) {
  e->u.l.next = s->retired;
  s->retired = e;
  s->nretired++;
  s->retired_bytes += mc_charge(e->klen, e->vlen);
  if (s->nretired >= MC_BATCH_N || s->retired_bytes >= MC_BATCH_BYTES)
    mc_flush(s);
  if (s->pend_head)
    mc_free_batches(mc_take_ready(s));
}

void roster__memory_reap_shard(mc_shard *s) {
  pthread_mutex_lock(&s->lock);
  mc_flush(s);
  mc_batch *ready = mc_take_ready(s);
  pthread_mutex_unlock(&s->lock);
  mc_free_batches(ready);
}

void roster__memory_free_retired(mc_shard *s) {
  free_chain(s->retired);
  s->retired = NULL;
  s->nretired = s->retired_bytes = 0;
  for (mc_batch *b = s->pend_head, *next; b; b = next) {
    next = b->next;
    free_chain(b->first);
    /* A batch whose callback has not run yet is freed by it. */
    if (atomic_exchange_explicit(&b->state, MC_B_ORPHAN,
                                 memory_order_acq_rel) == MC_B_READY)
      roster__free(b);
  }
  s->pend_head = s->pend_tail = NULL;
}

/* The shard's circular list: a new entry goes just behind the hand, so the
 * hand reaches it last (CLOCK). */
static void mc_link(mc_shard *s, mc_entry *e) {
  if (!s->hand) {
    e->u.l.prev = e->u.l.next = e;
    s->hand = e;
  } else {
    mc_entry *at = s->hand, *before = at->u.l.prev;
    e->u.l.next = at;
    e->u.l.prev = before;
    before->u.l.next = e;
    at->u.l.prev = e;
  }
  s->count++;
}

static void mc_unlink(mc_shard *s, mc_entry *e) {
  mc_entry *next = e->u.l.next, *prev = e->u.l.prev;
  if (next == e) {
    s->hand = s->cursor = NULL;
  } else {
    if (s->hand == e)
      s->hand = next;
    if (s->cursor == e)
      s->cursor = next;
    prev->u.l.next = next;
    next->u.l.prev = prev;
  }
  s->count--;
}

/* mc_swap puts e where o is in the list: an overwrite keeps the key's
 * place, and counts as a use (it saves the cache misses of a link at the
 * hand and an unlink elsewhere). */
static void mc_swap(mc_shard *s, mc_entry *o, mc_entry *e) {
  mc_entry *next = o->u.l.next, *prev = o->u.l.prev;
  if (next == o) {
    e->u.l.prev = e->u.l.next = e;
  } else {
    e->u.l.prev = prev;
    e->u.l.next = next;
    prev->u.l.next = e;
    next->u.l.prev = e;
  }
  if (s->hand == o)
    s->hand = e;
  if (s->cursor == o)
    s->cursor = e;
  atomic_store_explicit(&e->ref, 1, memory_order_relaxed);
}

void roster__memory_put_locked(mc *m, mc_shard *s, mc_entry *e, uint64_t h,
                               const mc_key *k) {
  size_t charge = mc_charge(e->klen, e->vlen);
  ROSTER__TSAN_RELEASE(e);
  roster__rlock();
  struct cds_lfht_node *old =
      cds_lfht_add_replace(m->ht, (unsigned long)h, mc_match, k, &e->node);
  roster__runlock();
  if (old) {
    mc_entry *o = caa_container_of(old, mc_entry, node);
    int64_t now = INT64_MIN;
    size_t was = mc_charge(o->klen, o->vlen);
    if (mc_dead(m, o, &now)) { /* an expired key is written anew */
      atomic_fetch_add(&m->expired, 1);
      mc_unlink(s, o);
      mc_link(s, e);
    } else {
      mc_swap(s, o, e);
    }
    mc_retire(s, o);
    if (charge > was)
      atomic_fetch_add(&m->bytes, charge - was);
    else if (charge < was)
      atomic_fetch_sub(&m->bytes, was - charge);
  } else {
    mc_link(s, e);
    atomic_fetch_add(&m->entries, 1);
    atomic_fetch_add(&m->bytes, charge);
  }
}

void roster__memory_remove_locked(mc *m, mc_shard *s, mc_entry *e, int why) {
  roster__rlock();
  cds_lfht_del(m->ht, &e->node); /* always ours: every change holds s */
  roster__runlock();
  mc_unlink(s, e);
  atomic_fetch_sub(&m->entries, 1);
  atomic_fetch_sub(&m->bytes, mc_charge(e->klen, e->vlen));
  if (why == MC_WHY_EXPIRED)
    atomic_fetch_add(&m->expired, 1);
  else if (why == MC_WHY_EVICTED)
    atomic_fetch_add(&m->evicted, 1);
  mc_retire(s, e);
}

/* ---- limits and growth ---------------------------------------------- */

static inline bool mc_over(mc *m) {
  return (m->max_entries &&
          atomic_load_explicit(&m->entries, memory_order_relaxed) >
              m->max_entries) ||
         (m->max_bytes &&
          atomic_load_explicit(&m->bytes, memory_order_relaxed) > m->max_bytes);
}

/* mc_victim: where s's CLOCK hand stops: the first entry past it that is
 * expired, or not a lock and not read since the hand last passed (whose
 * bit the hand clears on its way). Two turns at most; never keep. */
static mc_entry *mc_victim(mc *m, mc_shard *s, mc_entry *keep, int64_t *now) {
  size_t n = 2 * s->count + 1;
  for (size_t i = 0; i < n && s->hand; i++) {
    mc_entry *e = s->hand;
    s->hand = e->u.l.next;
    if (e == keep)
      continue;
    if (mc_dead(m, e, now))
      return e;
    if (e->flags & MC_F_LOCK)
      continue;
    if (atomic_load_explicit(&e->ref, memory_order_relaxed)) {
      atomic_store_explicit(&e->ref, 0, memory_order_relaxed);
      continue;
    }
    return e;
  }
  return NULL;
}

void roster__memory_evict_locked(mc *m, mc_shard *s, mc_entry *keep,
                                 int64_t *now) {
  while (mc_over(m)) {
    mc_entry *v = mc_victim(m, s, keep, now);
    if (!v)
      return;
    roster__memory_remove_locked(
        m, s, v, mc_dead(m, v, now) ? MC_WHY_EXPIRED : MC_WHY_EVICTED);
  }
}

void roster__memory_after_write(mc *m, mc_shard *s, mc_entry *keep) {
  if (ROSTER__UNLIKELY(mc_over(m))) {
    int64_t now = INT64_MIN;
    /* The written shard first (each shard is its own CLOCK, the way
     * segmented caches evict), then the others in turn if it had nothing
     * to give (only locks, or only the new entry). */
    pthread_mutex_lock(&s->lock);
    roster__memory_evict_locked(m, s, keep, &now);
    pthread_mutex_unlock(&s->lock);
    unsigned n = 1u << m->shard_bits;
    for (unsigned i = 0; i < n && mc_over(m); i++) {
      mc_shard *t = &m->shards[atomic_fetch_add(&m->evict_rr, 1) & (n - 1)];
      if (t == s)
        continue;
      pthread_mutex_lock(&t->lock);
      roster__memory_evict_locked(m, t, NULL, &now);
      pthread_mutex_unlock(&t->lock);
    }
  }
  size_t e = atomic_load_explicit(&m->entries, memory_order_relaxed);
  if (ROSTER__UNLIKELY(e >
                       atomic_load_explicit(&m->buckets, memory_order_relaxed)))
    roster__memory_wake_grow(m);
}

/* ---- reads ---------------------------------------------------------- */

/* mc_reap removes k's entry if it is expired (a read found it so). */
static void mc_reap(mc *m, uint64_t h, const mc_key *k) {
  mc_shard *s = mc_shard_of(m, h);
  pthread_mutex_lock(&s->lock);
  mc_entry *e = roster__memory_find_locked(m, h, k);
  int64_t now = INT64_MIN;
  if (e && mc_dead(m, e, &now))
    roster__memory_remove_locked(m, s, e, MC_WHY_EXPIRED);
  pthread_mutex_unlock(&s->lock);
}

/* mc_copy copies e's value into out (inside the read section). */
static int mc_copy(mc_entry *e, roster_cache_buf *out) {
  switch (e->kind) {
  case MC_INT:
    return roster_cache_buf_set_int(
        out, atomic_load_explicit(mc_num(e), memory_order_relaxed));
  case MC_BYTES:
  case MC_JSON:
    return roster_cache_buf_set(out, (roster_cache_kind)e->kind, mc_val(e),
                                e->vlen);
  default:
    roster__cache_buf_clear(out);
    return roster__err(ROSTER_ETYPE, "it holds a sliding-window rate "
                                     "limiter's log, not a value");
  }
}

/* mc_read: one key's read: OK, ENOENT, or a copy's error. */
static int mc_read(mc *m, const void *key, size_t klen, roster_cache_buf *out,
                   bool values_only) {
  mc_key k = {key, klen};
  uint64_t h = mc_hash(m, key, klen);
  int64_t now = INT64_MIN;
  int rc = ROSTER_ENOENT;
  bool dead = false;
  roster__rlock();
  mc_entry *e = roster__memory_find(m, h, &k);
  if (e) {
    if (mc_dead(m, e, &now)) {
      dead = true;
    } else if (values_only && e->kind == MC_SLIDE) {
      roster__cache_buf_clear(out); /* mget: not a value, like nil */
    } else {
      rc = mc_copy(e, out);
      if (!atomic_load_explicit(&e->ref, memory_order_relaxed))
        atomic_store_explicit(&e->ref, 1, memory_order_relaxed);
    }
  }
  roster__runlock();
  mc_count(m, rc == ROSTER_OK);
  if (ROSTER__UNLIKELY(dead))
    mc_reap(m, h, &k);
  return rc;
}

static int mc_get(void *impl, const void *key, size_t klen,
                  roster_cache_buf *out) {
  return mc_read(impl, key, klen, out, false);
}

static int mc_mget(void *impl, const roster_cache_key *keys, size_t n,
                   roster_cache_buf *out) {
  for (size_t i = 0; i < n; i++) {
    int rc = mc_read(impl, keys[i].data, keys[i].len, &out[i], true);
    if (rc == ROSTER_ENOENT)
      roster__cache_buf_clear(&out[i]);
    else if (rc)
      return rc;
  }
  return ROSTER_OK;
}

static int mc_pttl(void *impl, const void *key, size_t klen, int64_t *out) {
  mc *m = impl;
  mc_key k = {key, klen};
  uint64_t h = mc_hash(m, key, klen);
  int64_t now = INT64_MIN, t = -2;
  roster__rlock();
  mc_entry *e = roster__memory_find(m, h, &k);
  bool dead = e && mc_dead(m, e, &now);
  if (e && !dead) {
    int64_t exp = atomic_load_explicit(&e->expire, memory_order_relaxed);
    if (!exp) {
      t = -1;
    } else {
      if (now == INT64_MIN)
        now = mc_clock(m);
      t = exp - now;
    }
  }
  roster__runlock();
  if (dead)
    mc_reap(m, h, &k);
  *out = t;
  return ROSTER_OK;
}

/* ---- writes --------------------------------------------------------- */

static int mc_fill(mc *m, const void *key, size_t klen,
                   const roster_cache_val *v, int64_t ttl_ms, int64_t now,
                   mc_entry **out) {
  bool is_int = v->kind == ROSTER_CACHE_INT;
  size_t vlen = is_int ? sizeof(int64_t) : v->len;
  size_t charge = mc_charge(klen, vlen);
  if (m->max_bytes && charge > m->max_bytes)
    return roster__err(ROSTER_ERANGE,
                       "the entry needs %zu bytes and the "
                       "cache's max_bytes is %zu",
                       charge, m->max_bytes);
  mc_entry *e = roster__memory_alloc(key, klen, (uint8_t)v->kind, vlen);
  if (!e)
    return roster__err(ROSTER_ENOMEM, "out of memory for a %zu-byte entry",
                       charge);
  if (is_int)
    atomic_init(mc_num(e), v->num);
  else if (vlen)
    memcpy(mc_val(e), v->data, vlen);
  atomic_init(&e->expire, ttl_ms ? now + ttl_ms : 0);
  *out = e;
  return ROSTER_OK;
}

static int mc_set(void *impl, const void *key, size_t klen,
                  const roster_cache_val *v, int64_t ttl_ms) {
  mc *m = impl;
  mc_entry *e = NULL;
  int rc = mc_fill(m, key, klen, v, ttl_ms, ttl_ms ? mc_clock(m) : 0, &e);
  if (rc)
    return rc;
  mc_key k = {key, klen};
  uint64_t h = mc_hash(m, key, klen);
  mc_shard *s = mc_shard_of(m, h);
  pthread_mutex_lock(&s->lock);
  roster__memory_put_locked(m, s, e, h, &k);
  pthread_mutex_unlock(&s->lock);
  roster__memory_after_write(m, s, e);
  return ROSTER_OK;
}

static int mc_mset(void *impl, const roster_cache_key *keys,
                   const roster_cache_val *vals, size_t n, int64_t ttl_ms) {
  mc *m = impl;
  /* Every entry is made before any is stored: an allocation failure
   * stores nothing. */
  mc_entry **es = roster__calloc(n, sizeof *es);
  if (!es)
    return roster__err(ROSTER_ENOMEM, "out of memory");
  int64_t now = ttl_ms ? mc_clock(m) : 0;
  int rc = ROSTER_OK;
  for (size_t i = 0; i < n && !rc; i++)
    rc = mc_fill(m, keys[i].data, keys[i].len, &vals[i], ttl_ms, now, &es[i]);
  if (rc) {
    for (size_t i = 0; i < n; i++)
      roster__free(es[i]);
    roster__free(es);
    return rc;
  }
  for (size_t i = 0; i < n; i++) {
    mc_key k = {keys[i].data, keys[i].len};
    uint64_t h = mc_hash(m, k.p, k.n);
    mc_shard *s = mc_shard_of(m, h);
    pthread_mutex_lock(&s->lock);
    roster__memory_put_locked(m, s, es[i], h, &k);
    pthread_mutex_unlock(&s->lock);
    roster__memory_after_write(m, s, es[i]);
  }
  roster__free(es);
  return ROSTER_OK;
}

static int mc_del(void *impl, const roster_cache_key *keys, size_t n,
                  size_t *removed) {
  mc *m = impl;
  size_t got = 0;
  for (size_t i = 0; i < n; i++) {
    mc_key k = {keys[i].data, keys[i].len};
    uint64_t h = mc_hash(m, k.p, k.n);
    mc_shard *s = mc_shard_of(m, h);
    pthread_mutex_lock(&s->lock);
    mc_entry *e = roster__memory_find_locked(m, h, &k);
    if (e) {
      int64_t now = INT64_MIN;
      bool dead = mc_dead(m, e, &now);
      roster__memory_remove_locked(m, s, e, dead ? MC_WHY_EXPIRED : MC_WHY_DEL);
      got += !dead;
    }
    pthread_mutex_unlock(&s->lock);
  }
  *removed = got;
  return ROSTER_OK;
}

static int mc_expire(void *impl, const void *key, size_t klen, int64_t ttl_ms) {
  mc *m = impl;
  mc_key k = {key, klen};
  uint64_t h = mc_hash(m, key, klen);
  mc_shard *s = mc_shard_of(m, h);
  int rc = ROSTER_ENOENT;
  int64_t now = INT64_MIN;
  pthread_mutex_lock(&s->lock);
  mc_entry *e = roster__memory_find_locked(m, h, &k);
  if (e && mc_dead(m, e, &now)) {
    roster__memory_remove_locked(m, s, e, MC_WHY_EXPIRED);
  } else if (e) {
    if (ttl_ms && now == INT64_MIN)
      now = mc_clock(m);
    atomic_store_explicit(&e->expire, ttl_ms ? now + ttl_ms : 0,
                          memory_order_relaxed);
    rc = ROSTER_OK;
  }
  pthread_mutex_unlock(&s->lock);
  return rc;
}

/* mc_incr_locked: the counter step; s is locked. *made is the new entry
 * if one was made (for eviction after the unlock). */
static int mc_incr_locked(mc *m, mc_shard *s, const mc_key *k, uint64_t h,
                          int64_t delta, int64_t *out, mc_entry **made) {
  int64_t now = INT64_MIN;
  mc_entry *e = roster__memory_find_locked(m, h, k);
  *made = NULL;
  if (e && !mc_dead(m, e, &now)) {
    if (e->kind != MC_INT)
      return roster__err(ROSTER_ETYPE, "%s, not an int counter",
                         mc_kind_phrase(e->kind));
    int64_t v = atomic_load_explicit(mc_num(e), memory_order_relaxed);
    if ((delta > 0 && v > INT64_MAX - delta) ||
        (delta < 0 && v < INT64_MIN - delta))
      return roster__err(ROSTER_ERANGE,
                         "adding %" PRId64 " to %" PRId64
                         " would overflow a 64-bit counter (it is unchanged)",
                         delta, v);
    atomic_store_explicit(mc_num(e), v + delta, memory_order_relaxed);
    *out = v + delta;
    return ROSTER_OK;
  }
  /* Missing or expired: a new counter from 0, with no expiry. */
  mc_entry *ne = roster__memory_alloc(k->p, k->n, MC_INT, 0);
  if (!ne)
    return roster__err(ROSTER_ENOMEM, "out of memory");
  atomic_init(mc_num(ne), delta);
  roster__memory_put_locked(m, s, ne, h, k);
  *made = ne;
  *out = delta;
  return ROSTER_OK;
}

static int mc_incr(void *impl, const void *key, size_t klen, int64_t delta,
                   int64_t *out) {
  mc *m = impl;
  mc_key k = {key, klen};
  uint64_t h = mc_hash(m, key, klen);
  mc_shard *s = mc_shard_of(m, h);
  mc_entry *made;
  pthread_mutex_lock(&s->lock);
  int rc = mc_incr_locked(m, s, &k, h, delta, out, &made);
  pthread_mutex_unlock(&s->lock);
  if (made)
    roster__memory_after_write(m, s, made);
  return rc;
}

/* ---- the vtable ----------------------------------------------------- */

const roster_cache_backend roster__memory_backend = {
    .version = ROSTER_CACHE_BACKEND_VERSION,
    .flags = 0,
    .check = roster__memory_check,
    .open = roster__memory_open,
    .close = roster__memory_close,
    .get = mc_get,
    .set = mc_set,
    .del = mc_del,
    .pttl = mc_pttl,
    .expire = mc_expire,
    .incr = mc_incr,
    .mget = mc_mget,
    .mset = mc_mset,
    .clear = roster__memory_clear,
    .stats = roster__memory_stats,
    .lock_acquire = roster__memory_lock_acquire,
    .lock_release = roster__memory_lock_release,
    .lock_extend = roster__memory_lock_extend,
    .rate_fixed = roster__memory_rate_fixed,
    .rate_sliding = roster__memory_rate_sliding,
    .info = roster__memory_info,
};
