/*
 * rtab.c: the registry's key index, writer side: a table of roster's own
 * under RCU (roster__tab in roster_impl.h), open addressing with linear
 * probing, one slot per key. A slot holds the entry (unique keys) or the
 * key node (duplicate keys, its entries in an RCU-published array), tagged with
 * the top 16 bits of the key's hash.
 *
 * Readers (roster__tab_find, roster__find_*, roster__iter_*) take no lock
 * and allocate nothing. Writers serialise on r->tab_lock: an insert fills
 * the first tombstone or empty slot of its probe, a removal leaves a
 * tombstone. When live slots and tombstones pass half of the table, the
 * writer builds a new table (twice as large when live keys pass a quarter
 * of it, else the same size without tombstones), publishes it, and frees the
 * old one after a grace period with call_rcu: never waiting for readers on
 * a caller's thread.
 */
#include "roster_impl.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

static uint64_t hash_of(const roster_ns *ns, const char *name, size_t len) {
  return XXH3_64bits_withSeed(name, len, ns->hash);
}

static uint64_t item_hash(const roster *r, const void *p) {
  if (r->keys == ROSTER_KEYS_DUPLICATE) {
    const roster__knode *kn = p;
    return hash_of(kn->ns, kn->name, kn->name_len);
  }
  const roster__entry *e = p;
  return hash_of(e->ns, e->name, e->name_len);
}

/* count adds d to the registry's and the namespace's entry counts. Only
 * writers change them, all under tab_lock, so a plain load and store do
 * (no lock prefix); readers load them atomically. */
static void count(roster *r, roster_ns *ns, size_t d) {
  atomic_store_explicit(
      &r->entries, atomic_load_explicit(&r->entries, memory_order_relaxed) + d,
      memory_order_relaxed);
  atomic_store_explicit(
      &ns->entries,
      atomic_load_explicit(&ns->entries, memory_order_relaxed) + d,
      memory_order_relaxed);
}

static uint64_t item_hash_cb(const void *p, const void *r) {
  return item_hash(r, p);
}

/* rebuild makes room for one more key: a new table without tombstones,
 * twice as large when live keys pass a quarter of the old one (so a table
 * that churns at steady size is rebuilt at most every slots/2 inserts).
 * Returns the new table (published) or NULL when out of memory. */
static roster__tab *rebuild(roster *r, roster__tab *t) {
  roster__tab *nt = roster__tab_rebuilt(t, item_hash_cb, r);
  if (!nt)
    return NULL;
  atomic_store_explicit(&r->tab, nt, memory_order_release);
  roster__tab_retire(t);
  return nt;
}

static bool entry_is(const void *p, const void *k) {
  const roster__entry *e = p;
  return roster__key_is(k, e->ns, e->name_len, e->name);
}

static bool knode_is(const void *p, const void *k) {
  const roster__knode *kn = p;
  return roster__key_is(k, kn->ns, kn->name_len, kn->name);
}

/* probe finds k in t (tab_lock held): the slot index of its item, or
 * SIZE_MAX with *free_at the slot an insert should take. */
static size_t probe(const roster *r, const roster__tab *t, const roster__key *k,
                    size_t *free_at) {
  uintptr_t tag = ROSTER__TAG(k->hash);
  return r->keys == ROSTER_KEYS_DUPLICATE
             ? roster__tab_probe(t, k->hash, tag, knode_is, k, free_at)
             : roster__tab_probe(t, k->hash, tag, entry_is, k, free_at);
}

/* insert puts p (hash of k) into the current table at slot at (what the
 * caller's probe of k there found free), rebuilding first when it is full.
 * False when out of memory. */
static bool insert(roster *r, const roster__key *k, void *p, size_t at) {
  if ((uintptr_t)p & ~ROSTER__PTR_MASK)
    return false; /* no room for the tag: not on today's 64-bit systems */
  roster__tab *t = atomic_load_explicit(&r->tab, memory_order_relaxed);
  uintptr_t was = atomic_load_explicit(&t->slot[at], memory_order_relaxed);
  if (!was && (t->used + 1) * 2 > t->mask + 1) {
    t = rebuild(r, t);
    if (!t)
      return false;
    (void)probe(r, t, k, &at);
    was = atomic_load_explicit(&t->slot[at], memory_order_relaxed);
  }
  if (!was)
    t->used++;
  t->live++;
  atomic_store_explicit(&t->slot[at], (uintptr_t)p | ROSTER__TAG(k->hash),
                        memory_order_release);
  return true;
}

/* clear_slot leaves a tombstone where p (hash h) is in the current table. */
static void clear_slot(roster *r, const void *p, uint64_t h) {
  roster__tab *t = atomic_load_explicit(&r->tab, memory_order_relaxed);
  uintptr_t want = (uintptr_t)p | ROSTER__TAG(h);
  size_t i = (size_t)h & t->mask;
  while (atomic_load_explicit(&t->slot[i], memory_order_relaxed) != want)
    i = (i + 1) & t->mask;
  atomic_store_explicit(&t->slot[i], ROSTER__TOMB, memory_order_release);
  t->live--;
}

static void reclaim_knode(struct rcu_head *h) {
  roster__reclaim_enter();
  ROSTER__TSAN_ACQUIRE(h);
  ROSTER__TSAN_ACQUIRE(&roster__grace_token);
  roster__knode *kn = caa_container_of(h, roster__knode, rcu);
  roster__free(atomic_load_explicit(&kn->vec, memory_order_relaxed));
  roster__free(kn);
  roster__reclaim_exit();
}

/* ---- a duplicate key's members (roster__mvec) ----------------------- */

#define MVEC_MIN 4u

static size_t mvec_size(uint32_t cap) {
  return sizeof(roster__mvec) + (size_t)cap * sizeof(roster__entry *);
}

static roster__mvec *mvec_new(uint32_t cap) {
  roster__mvec *v = roster__malloc(mvec_size(cap));
  if (v) {
    v->cap = cap;
    atomic_init(&v->n, 0);
  }
  return v;
}

static void reclaim_mvec(struct rcu_head *h) {
  roster__reclaim_enter();
  ROSTER__TSAN_ACQUIRE(h);
  ROSTER__TSAN_ACQUIRE(&roster__grace_token);
  roster__free(caa_container_of(h, roster__mvec, rcu));
  roster__reclaim_exit();
}

/* mvec_rebuild gives kn a new vector of cap slots holding its members in
 * their order, without the holes; publishes it and frees the old one after
 * a grace period. False when out of memory (kn keeps its vector). */
static bool mvec_rebuild(roster *r, roster__knode *kn, uint32_t cap) {
  roster__mvec *v = atomic_load_explicit(&kn->vec, memory_order_relaxed);
  roster__mvec *nv = mvec_new(cap);
  if (!nv)
    return false;
  uint32_t n = atomic_load_explicit(&v->n, memory_order_relaxed), m = 0;
  for (uint32_t j = 0; j < n; j++) {
    roster__entry *e = atomic_load_explicit(&v->item[j], memory_order_relaxed);
    if (!e)
      continue;
    roster__front_of(e)->idx = m;
    atomic_store_explicit(&nv->item[m++], e, memory_order_relaxed);
  }
  atomic_store_explicit(&nv->n, m, memory_order_relaxed);
  atomic_store_explicit(&kn->vec, nv, memory_order_release);
  atomic_fetch_add(&r->mem, mvec_size(cap));
  atomic_fetch_sub(&r->mem, mvec_size(v->cap));
  roster__defer_batched(&v->rcu, reclaim_mvec);
  return true;
}

/* join appends e to the members of k's key node, making the node if the key
 * is new. When the vector is full it is rebuilt: twice as large when live
 * members pass half of it, else the same size without holes. False when out
 * of memory. */
static bool join(roster *r, roster__entry *e, const roster__key *k) {
  roster__tab *t = atomic_load_explicit(&r->tab, memory_order_relaxed);
  size_t at, i = probe(r, t, k, &at);
  roster__knode *kn;
  if (i != SIZE_MAX) {
    kn = (roster__knode *)(atomic_load_explicit(&t->slot[i],
                                                memory_order_relaxed) &
                           ROSTER__PTR_MASK);
  } else {
    size_t sz = sizeof *kn + k->name_len + 1;
    kn = roster__malloc(sz);
    roster__mvec *v = kn ? mvec_new(MVEC_MIN) : NULL;
    if (!v) {
      roster__free(kn);
      return false;
    }
    atomic_init(&kn->vec, v);
    kn->n = 0;
    kn->ns = e->ns;
    kn->name_len = e->name_len;
    memcpy(kn->name, e->name, (size_t)e->name_len + 1);
    if (!insert(r, k, kn, at)) {
      roster__free(v);
      roster__free(kn);
      return false;
    }
    atomic_fetch_add(&r->mem, sz + mvec_size(MVEC_MIN));
  }
  roster__mvec *v = atomic_load_explicit(&kn->vec, memory_order_relaxed);
  uint32_t n = atomic_load_explicit(&v->n, memory_order_relaxed);
  if (n == v->cap) {
    uint32_t cap = v->cap;
    if (kn->n + 1 > cap / 2) {
      if (cap > UINT32_MAX / 2)
        return false;
      cap *= 2;
    }
    if (!mvec_rebuild(r, kn, cap))
      return false;
    v = atomic_load_explicit(&kn->vec, memory_order_relaxed);
    n = atomic_load_explicit(&v->n, memory_order_relaxed);
  }
  roster__front *f = roster__front_of(e);
  f->kn = kn;
  f->idx = n;
  atomic_store_explicit(&v->item[n], e, memory_order_release);
  atomic_store_explicit(&v->n, n + 1, memory_order_release);
  kn->n++;
  return true;
}

/* leave clears e's slot in its key node's vector (the vector's tail of
 * holes is trimmed; when holes are most of a vector of 16 or more, it is
 * rebuilt without them, smaller if it is mostly empty). The node leaves
 * the table with its last member and is freed after a grace period. */
static void leave(roster *r, roster__entry *e) {
  roster__front *f = roster__front_of(e);
  roster__knode *kn = f->kn;
  roster__mvec *v = atomic_load_explicit(&kn->vec, memory_order_relaxed);
  atomic_store_explicit(&v->item[f->idx], NULL, memory_order_release);
  uint32_t n = atomic_load_explicit(&v->n, memory_order_relaxed);
  if (f->idx + 1 == n) {
    while (n && !atomic_load_explicit(&v->item[n - 1], memory_order_relaxed))
      n--;
    atomic_store_explicit(&v->n, n, memory_order_release);
  }
  if (--kn->n == 0) {
    clear_slot(r, kn, hash_of(kn->ns, kn->name, kn->name_len));
    atomic_fetch_sub(&r->mem,
                     sizeof *kn + kn->name_len + 1 + mvec_size(v->cap));
    roster__defer_batched(&kn->rcu, reclaim_knode);
    return;
  }
  if (n >= 16 && n - kn->n > n / 2) {
    uint32_t cap = v->cap;
    while (cap > MVEC_MIN && kn->n * 4 <= cap)
      cap /= 2;
    (void)mvec_rebuild(r, kn, cap); /* out of memory: keep the holes */
  }
}

int roster__tab_add(roster *r, roster__entry *e, const roster__key *k,
                    bool replace, roster__entry **other) {
  *other = NULL;
  int rc = ROSTER_OK;
  pthread_mutex_lock(&r->tab_lock);
  if (r->keys == ROSTER_KEYS_DUPLICATE) {
    if (join(r, e, k))
      count(r, e->ns, 1);
    else
      rc = ROSTER_ENOMEM;
    pthread_mutex_unlock(&r->tab_lock);
    return rc;
  }
  roster__tab *t = atomic_load_explicit(&r->tab, memory_order_relaxed);
  size_t at, i = probe(r, t, k, &at);
  if (i == SIZE_MAX) {
    if (insert(r, k, e, at))
      count(r, e->ns, 1);
    else
      rc = ROSTER_ENOMEM;
  } else {
    uintptr_t s = atomic_load_explicit(&t->slot[i], memory_order_relaxed);
    roster__entry *old = (roster__entry *)(s & ROSTER__PTR_MASK);
    *other = old;
    if (replace) { /* the count stays: one out, one in */
      atomic_store(&old->removed, true);
      atomic_store_explicit(&t->slot[i], (uintptr_t)e | ROSTER__TAG(k->hash),
                            memory_order_release);
    } else {
      rc = ROSTER_EEXIST;
    }
  }
  pthread_mutex_unlock(&r->tab_lock);
  return rc;
}

bool roster__take(roster *r, roster__entry *e) {
  pthread_mutex_lock(&r->tab_lock);
  bool won = !atomic_load_explicit(&e->removed, memory_order_relaxed);
  if (won) {
    atomic_store(&e->removed, true);
    count(r, e->ns, (size_t)-1);
    if (e->flags & ROSTER__E_DUP)
      leave(r, e);
    else
      clear_slot(r, e, hash_of(e->ns, e->name, e->name_len));
  }
  pthread_mutex_unlock(&r->tab_lock);
  return won;
}

/* ---- whole-table walks (readers) ----------------------------------- */

roster__entry *roster__iter_next(roster *r, roster__iter *it) {
  if (it->v) {
    roster__entry *e = roster__member_next(it);
    if (e)
      return e;
  }
  bool dup = r->keys == ROSTER_KEYS_DUPLICATE;
  while (it->i <= it->t->mask) {
    uintptr_t s =
        atomic_load_explicit(&it->t->slot[it->i++], memory_order_acquire);
    if (s <= ROSTER__TOMB)
      continue;
    void *p = (void *)(s & ROSTER__PTR_MASK);
    if (!dup)
      return p;
    roster__entry *e = roster__member_first(it, p);
    if (e)
      return e;
  }
  return NULL;
}

roster__entry *roster__iter_first(roster *r, roster__iter *it) {
  it->t = atomic_load_explicit(&r->tab, memory_order_acquire);
  it->i = 0;
  it->v = NULL;
  it->j = it->n = 0;
  return roster__iter_next(r, it);
}
