/*
 * memory.c: the memory backend's value operations (get, set, del, ttl,
 * expire, incr, mget, mset), its entries and the vtable. See memory_impl.h
 * for the design: lock-free reads over per-shard RCU tables, writes under
 * the key's shard lock, replaced entries freed after an RCU grace period,
 * short values of the same length written in place (MC_INPLACE_MAX).
 */
#include "memory_impl.h"

#include <inttypes.h>
#include <stdio.h>

/* ---- entries -------------------------------------------------------- */

mc_entry *roster__memory_init(mc_entry *e, size_t size, const void *key,
                              size_t klen, uint8_t kind, size_t vlen) {
  atomic_init(&e->expire, 0);
  e->klen = (uint32_t)klen;
  e->vlen = (uint32_t)vlen;
  e->kind = kind;
  e->flags = 0;
  e->size = (uint32_t)size;
  atomic_init(&e->seq, 0);
  atomic_init(&e->ref, 0);
  e->u.l.prev = e->u.l.next = NULL;
  memcpy(e->data, key, klen);
  if (kind == MC_INT)
    atomic_init(mc_num(e), 0);
  return e;
}

mc_entry *roster__memory_alloc(const void *key, size_t klen, uint8_t kind,
                               size_t vlen) {
  if (kind == MC_INT)
    vlen = sizeof(int64_t);
  size_t size = mc_size(klen, vlen);
  mc_entry *e = roster__malloc(size);
  return e ? roster__memory_init(e, size, key, klen, kind, vlen) : NULL;
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

/* ---- the shards' tables --------------------------------------------- */

static bool entry_is(const void *p, const void *k) {
  const mc_entry *e = p;
  return e->klen == ((const mc_key *)k)->n && mc_key_is(e, k);
}

/* tab_probe finds k (hash h) in t (its shard locked): the slot index of its
 * entry, or SIZE_MAX with *free_at the slot an insert should take. */
static size_t tab_probe(const roster__tab *t, uint64_t h, const mc_key *k,
                        size_t *free_at) {
  return roster__tab_probe(t, h, MC_TAG(h), entry_is, k, free_at);
}

/* entry_hash: an entry's hash (ctx: the store), computed again from its
 * key: a rebuild and a removal are rare enough that the 8 bytes per entry
 * are worth more than the hashing. */
static uint64_t entry_hash(const void *p, const void *ctx) {
  const mc_entry *e = p;
  return mc_hash(ctx, e->data, e->klen);
}

/* tab_rebuild makes room for one more key in shard ix's table t (its lock
 * held): the rebuilt table is published and t freed after a grace period.
 * NULL when out of memory (t stays). */
static roster__tab *tab_rebuild(mc *m, unsigned ix, roster__tab *t) {
  roster__tab *nt = roster__tab_rebuilt(t, entry_hash, m);
  if (!nt)
    return NULL;
  atomic_store_explicit(&m->tabs[ix], nt, memory_order_release);
  atomic_fetch_add(&m->buckets, (nt->mask + 1) - (t->mask + 1));
  roster__tab_retire(t);
  return nt;
}

int roster__memory_put_locked(mc *m, mc_shard *s, mc_entry *e, uint64_t h,
                              const mc_key *k) {
  if ((uintptr_t)e & ~ROSTER__PTR_MASK)
    return roster__err(ROSTER_ENOMEM, "no room for a tag beside the entry "
                                      "(not on today's 64-bit systems)");
  unsigned ix = mc_shard_ix(m, h);
  roster__tab *t = atomic_load_explicit(&m->tabs[ix], memory_order_relaxed);
  size_t charge = mc_charge(e->klen, e->vlen);
  size_t at = 0;
  size_t i = tab_probe(t, h, k, &at);
  if (atomic_load_explicit(&e->expire, memory_order_relaxed))
    atomic_store_explicit(&s->timed, true, memory_order_relaxed);
  uintptr_t v = (uintptr_t)e | MC_TAG(h);
  ROSTER__TSAN_RELEASE(e);
  if (i != SIZE_MAX) {
    mc_entry *o =
        (mc_entry *)(atomic_load_explicit(&t->slot[i], memory_order_relaxed) &
                     ROSTER__PTR_MASK);
    atomic_store_explicit(&t->slot[i], v, memory_order_release);
    int64_t now = INT64_MIN;
    size_t was = mc_charge(o->klen, o->vlen);
    if (mc_dead(m, o, &now)) { /* an expired key is written anew */
      atomic_fetch_add(&m->expired, 1);
      mc_unlink(s, o);
      mc_link(s, e);
    } else {
      mc_swap(s, o, e);
    }
    roster__memory_retire(s, o);
    if (charge > was)
      atomic_fetch_add(&m->bytes, charge - was);
    else if (charge < was)
      atomic_fetch_sub(&m->bytes, was - charge);
    return ROSTER_OK;
  }
  if (!atomic_load_explicit(&t->slot[at], memory_order_relaxed) &&
      (t->used + 1) * 2 > t->mask + 1) {
    roster__tab *nt = tab_rebuild(m, ix, t);
    /* Out of memory for a bigger table: go on in this one while it keeps
     * an empty slot to end every probe. */
    if (!nt && t->used + 2 > t->mask + 1)
      return roster__err(ROSTER_ENOMEM,
                         "out of memory for the table of %zu "
                         "slots the shard needs",
                         2 * (t->mask + 1));
    if (nt) {
      t = nt;
      (void)tab_probe(t, h, k, &at);
    }
  }
  if (!atomic_load_explicit(&t->slot[at], memory_order_relaxed))
    t->used++;
  t->live++;
  atomic_store_explicit(&t->slot[at], v, memory_order_release);
  mc_link(s, e);
  atomic_fetch_add(&m->entries, 1);
  atomic_fetch_add(&m->bytes, charge);
  return ROSTER_OK;
}

void roster__memory_remove_locked(mc *m, mc_shard *s, mc_entry *e, int why) {
  uint64_t h = entry_hash(e, m);
  roster__tab *t =
      atomic_load_explicit(&m->tabs[mc_shard_ix(m, h)], memory_order_relaxed);
  size_t i = (size_t)h & t->mask;
  while ((atomic_load_explicit(&t->slot[i], memory_order_relaxed) &
          ROSTER__PTR_MASK) != (uintptr_t)e)
    i = (i + 1) & t->mask; /* e is in the table: every change holds s */
  atomic_store_explicit(&t->slot[i], ROSTER__TOMB, memory_order_release);
  t->live--;
  mc_unlink(s, e);
  atomic_fetch_sub(&m->entries, 1);
  atomic_fetch_sub(&m->bytes, mc_charge(e->klen, e->vlen));
  if (why == MC_WHY_EXPIRED)
    atomic_fetch_add(&m->expired, 1);
  else if (why == MC_WHY_EVICTED)
    atomic_fetch_add(&m->evicted, 1);
  roster__memory_retire(s, e);
}

/* ---- limits ---------------------------------------------- */

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

/* mc_copy copies e's value into out (inside the read section). klen is
 * the key's length as the caller gave it (e's, since the key matched):
 * the value's address then does not wait for e's first line to arrive, so
 * its lines load beside that one. */
static inline __attribute__((always_inline)) int
mc_copy(mc_entry *e, size_t klen, roster_cache_buf *out) {
  const unsigned char *val = e->data + mc_voff(klen);
  switch (e->kind) {
  case MC_INT:
    return roster_cache_buf_set_int(
        out, atomic_load_explicit(mc_num(e), memory_order_relaxed));
  case MC_BYTES:
  case MC_JSON: {
    /* a short value may change in place: copied under its sequence lock */
    bool short_value = e->vlen <= MC_INPLACE_MAX;
    if (ROSTER__UNLIKELY(e->vlen >= out->cap)) { /* the buffer must grow */
      unsigned char tmp[MC_INPLACE_MAX];
      const unsigned char *v = val;
      if (short_value) {
        mc_val_read(e, val, tmp, e->vlen);
        v = tmp;
      }
      return roster_cache_buf_set(out, (roster_cache_kind)e->kind, v, e->vlen);
    }
    if (ROSTER__LIKELY(short_value))
      mc_val_read(e, val, (unsigned char *)out->data, e->vlen);
    else
      memcpy(out->data, val, e->vlen);
    out->data[e->vlen] = '\0';
    out->len = e->vlen;
    out->kind = (roster_cache_kind)e->kind;
    out->num = 0;
    return ROSTER_OK;
  }
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
      rc = mc_copy(e, klen, out);
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

/* mc_check_charge: an entry of klen and the value v fits max_bytes. */
static int mc_check_charge(const mc *m, size_t klen,
                           const roster_cache_val *v) {
  size_t vlen = v->kind == ROSTER_CACHE_INT ? sizeof(int64_t) : v->len;
  size_t charge = mc_charge(klen, vlen);
  if (m->max_bytes && charge > m->max_bytes)
    return roster__err(ROSTER_ERANGE,
                       "the entry needs %zu bytes and the "
                       "cache's max_bytes is %zu",
                       charge, m->max_bytes);
  return ROSTER_OK;
}

/* mc_make makes the entry for key = v: in spare e (size bytes, enough)
 * if not NULL, else in a new allocation (NULL when out of memory, with
 * the detail). */
static mc_entry *mc_make(mc_entry *e, const void *key, size_t klen,
                         const roster_cache_val *v, int64_t ttl_ms,
                         int64_t now) {
  bool is_int = v->kind == ROSTER_CACHE_INT;
  size_t vlen = is_int ? sizeof(int64_t) : v->len;
  e = e ? roster__memory_init(e, e->size, key, klen, (uint8_t)v->kind, vlen)
        : roster__memory_alloc(key, klen, (uint8_t)v->kind, vlen);
  if (!e) {
    roster__err(ROSTER_ENOMEM, "out of memory for a %zu-byte entry",
                mc_charge(klen, vlen));
    return NULL;
  }
  if (is_int)
    atomic_init(mc_num(e), v->num);
  else if (vlen)
    memcpy(mc_val(e), v->data, vlen);
  atomic_init(&e->expire, ttl_ms ? now + ttl_ms : 0);
  return e;
}

static int mc_fill(mc *m, const void *key, size_t klen,
                   const roster_cache_val *v, int64_t ttl_ms, int64_t now,
                   mc_entry **out) {
  int rc = mc_check_charge(m, klen, v);
  if (rc)
    return rc;
  *out = mc_make(NULL, key, klen, v, ttl_ms, now);
  return *out ? ROSTER_OK : ROSTER_ENOMEM;
}

/* mc_can_overwrite: may e (a bytes or JSON entry, not a lock, of v's
 * length) take v in place? v is one mc_set_in_place accepts. */
static bool mc_can_overwrite(const mc_entry *e, const roster_cache_val *v) {
  return e && e->kind == (uint8_t)v->kind && e->flags == 0 && e->vlen == v->len;
}

/* mc_set_in_place writes v into k's entry if it can take it in place
 * (looked at first without the lock, so a set that cannot costs no lock);
 * true if it did. */
static bool mc_set_in_place(mc *m, mc_shard *s, uint64_t h, const mc_key *k,
                            const roster_cache_val *v, int64_t ttl_ms,
                            int64_t now) {
  if ((v->kind != ROSTER_CACHE_BYTES && v->kind != ROSTER_CACHE_JSON) ||
      v->len > MC_INPLACE_MAX)
    return false;
  roster__rlock();
  bool can = mc_can_overwrite(roster__memory_find(m, h, k), v);
  roster__runlock();
  if (!can)
    return false;
  pthread_mutex_lock(&s->lock);
  mc_entry *e = roster__memory_find_locked(m, h, k);
  int64_t dnow = INT64_MIN;
  /* an expired key is written anew by the usual path, which counts it */
  can = mc_can_overwrite(e, v) && !mc_dead(m, e, &dnow);
  if (can) {
    mc_val_write(e, (const unsigned char *)v->data, v->len);
    mc_expire_at(s, e, ttl_ms ? now + ttl_ms : 0);
  }
  pthread_mutex_unlock(&s->lock);
  return can;
}

static int mc_set(void *impl, const void *key, size_t klen,
                  const roster_cache_val *v, int64_t ttl_ms) {
  mc *m = impl;
  int rc = mc_check_charge(m, klen, v);
  if (rc)
    return rc;
  int64_t now = ttl_ms ? mc_clock(m) : 0;
  mc_key k = {key, klen};
  uint64_t h = mc_hash(m, key, klen);
  mc_shard *s = mc_shard_of(m, h);
  if (mc_set_in_place(m, s, h, &k, v, ttl_ms, now))
    return ROSTER_OK;
  /* With spares (an overwrite's steady state) the entry is made in one
   * under the lock; else it is allocated before the lock. */
  mc_entry *e = NULL;
  if (!atomic_load_explicit(&s->nspare, memory_order_relaxed) &&
      !(e = mc_make(NULL, key, klen, v, ttl_ms, now)))
    return ROSTER_ENOMEM;
  pthread_mutex_lock(&s->lock);
  if (!e) {
    size_t vlen = v->kind == ROSTER_CACHE_INT ? sizeof(int64_t) : v->len;
    e = mc_make(roster__memory_spare(s, mc_size(klen, vlen)), key, klen, v,
                ttl_ms, now);
    if (!e) {
      pthread_mutex_unlock(&s->lock);
      return ROSTER_ENOMEM;
    }
  }
  rc = roster__memory_put_locked(m, s, e, h, &k);
  pthread_mutex_unlock(&s->lock);
  if (ROSTER__UNLIKELY(rc)) {
    roster__free(e);
    return rc;
  }
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
  /* A table that cannot grow (out of memory) stops the stores there. */
  for (size_t i = 0; i < n; i++) {
    mc_key k = {keys[i].data, keys[i].len};
    uint64_t h = mc_hash(m, k.p, k.n);
    mc_shard *s = mc_shard_of(m, h);
    pthread_mutex_lock(&s->lock);
    if (!rc)
      rc = roster__memory_put_locked(m, s, es[i], h, &k);
    pthread_mutex_unlock(&s->lock);
    if (rc)
      roster__free(es[i]);
    else
      roster__memory_after_write(m, s, es[i]);
  }
  roster__free(es);
  return rc;
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
    mc_expire_at(s, e, ttl_ms ? now + ttl_ms : 0);
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
  int rc = roster__memory_put_locked(m, s, ne, h, k);
  if (rc) {
    roster__free(ne);
    return rc;
  }
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
