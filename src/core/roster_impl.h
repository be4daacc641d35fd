/*
 * roster_impl.h: the core's private umbrella header.
 *
 * Every registry source (src/core) and the lifecycle (src/lifecycle, through
 * lc_impl.h) include this. It defines the registry's internal structures
 * (entries, namespaces, owners' links, listener snapshots), the counter
 * shards, and the roster__ helpers shared across files. What lies below the
 * registry (allocator, errors, RCU plumbing, threads, glob) is in
 * base/base.h; what the built-in services need of the core is in
 * core/service_impl.h; both are included here. Never installed.
 */
#ifndef ROSTER_IMPL_H
#define ROSTER_IMPL_H

#include "base/base.h"

#include <urcu/rculfhash.h>

#include "roster.h"

#include "core/service_impl.h"

/* Counters: each thread owns one shard (single writer, plain relaxed
 * load+store, no lock prefix); threads beyond ROSTER__SHARDS share the last
 * with atomic adds. Each shard fills its own cache line. */
enum {
  ROSTER__C_HITS,
  ROSTER__C_MISSES,
  ROSTER__C_REGS,
  ROSTER__C_UNREGS,
  ROSTER__C_N
};
typedef struct roster__shard {
  _Atomic uint64_t c[ROSTER__C_N];
} __attribute__((aligned(64))) roster__shard;

/* ---- not-found details (names.c) ---- */
/* roster__err_notfound records a miss cheaply; the sentence (with the names
 * the namespace holds and a "did you mean") is composed only when
 * roster_last_error() is called, so a lookup miss stays fast. */
int roster__err_notfound(roster *r, const char *ns, size_t ns_len,
                         const char *name, size_t name_len);
/* roster__describe_missing formats the not-found sentence into buf; defined
 * in registry_query.c (it needs to walk the table). */
void roster__describe_missing(roster *r, const char *ns, const char *name,
                              char *buf, size_t cap);
/* The set of live registries: roster_free removes itself under its lock,
 * and a lazy not-found detail is composed only for a registry still in it. */
void roster__live_add(roster *r);
void roster__live_remove(roster *r);

/* ---- registry structures ---- */
typedef struct roster_ns roster_ns;
typedef struct roster__olink roster__olink;
typedef struct roster__meta roster__meta;
typedef struct roster__entry roster__entry;

struct roster__meta {
  struct rcu_head rcu;
  size_t len;
  unsigned char data[];
};

/* roster__olink: an owned entry's link into its owner's list (allocated only
 * for owned entries, to keep unowned ones small). Guarded by owner->lock. */
struct roster__olink {
  roster_owner *owner; /* holds one owner reference until reclaim */
  roster__entry *entry;
  roster__olink *prev, *next;
  bool linked;
};

typedef struct roster__knode roster__knode;

/* roster__entry (= roster_ref): one registration, 56 bytes plus the name.
 * Immutable after publish except refs, removed and meta. The fields a
 * lookup reads (ns, type, instance, the name) sit together at the end.
 * What only some entries need lives in a roster__front just before the
 * entry, in the same allocation (flag ROSTER__E_FRONT). */
struct roster__entry {
  struct rcu_head rcu;        /* reclaim */
  roster__meta *_Atomic meta; /* RCU-published metadata or NULL */
  atomic_uint refs;           /* 1 for the table + acquired references */
  atomic_bool removed;        /* set, under tab_lock, by whoever took it out */
  uint8_t flags;              /* ROSTER__E_* */
  uint16_t name_len;
  roster_ns *ns; /* interned; lives until roster_free */
  const roster_type *type;
  void *instance;
  char name[]; /* name_len bytes + NUL */
};

/* roster__front: the optional head of an entry's allocation. */
typedef struct roster__front {
  roster__knode *kn; /* ROSTER__E_DUP: the key it belongs to */
  union {
    roster__olink *olink;      /* owned entries, else NULL */
    struct roster__inst *inst; /* ROSTER__E_INST: the lifecycle's record */
  };
  uint32_t idx; /* ROSTER__E_DUP: its slot in kn->vec (tab_lock) */
} roster__front;
_Static_assert(sizeof(roster__front) % _Alignof(roster__entry) == 0,
               "the entry after a front keeps its alignment");

/* Entry flags. ROSTER__E_INST: the instance belongs to a provider; reclaim
 * tells the lifecycle (roster__inst_reclaimed) instead of calling the type's
 * destroy, and the entry has no owner. ROSTER__E_FRONT: a roster__front
 * precedes the entry (owned, instance and duplicate-key entries).
 * ROSTER__E_DUP: a member of a duplicate-keys registry's key node. */
enum { ROSTER__E_INST = 1, ROSTER__E_FRONT = 2, ROSTER__E_DUP = 4 };

static inline roster__front *roster__front_of(const roster__entry *e) {
  return (roster__front *)(void *)((char *)(uintptr_t)e -
                                   sizeof(roster__front));
}

/* roster__mvec: the members of a duplicate key, an array published under
 * RCU. Slots [0, n) are in use; a member that left leaves NULL in its slot
 * (readers skip it). A member never moves within a vector: the writer that
 * grows or compacts one builds a new vector, publishes it and frees the old
 * after a grace period, so a reader walking either sees every member
 * present throughout its walk exactly once. Readers load n once, then the
 * items (acquire); writers hold tab_lock and publish with release stores. */
typedef struct roster__mvec {
  struct rcu_head rcu;
  uint32_t cap;
  _Atomic uint32_t n;
  roster__entry *_Atomic item[];
} roster__mvec;

/* roster__knode: one key of a duplicate-keys registry: the table's slot
 * points to it; its members are a roster__mvec, so a dispatch compares the
 * name once and walks an array, and a join (append) or leave (clear the
 * slot) is O(1), amortized over the occasional rebuild of the vector.
 * Freed, with its vector, after a grace period once its last member left. */
struct roster__knode {
  roster__mvec *_Atomic vec; /* writers hold tab_lock */
  struct rcu_head rcu;
  size_t n; /* members; tab_lock */
  roster_ns *ns;
  uint16_t name_len;
  char name[];
};

/* roster__tab (the key index) and its slot tags: base/base.h. Writers
 * hold r->tab_lock. */

struct roster_default {
  struct roster_default *next;
  const roster_type *type;
  char *name;
};

struct roster_ns {
  struct cds_lfht_node node; /* in r->ns_ht */
  roster *r;
  uint64_t hash; /* XXH3 of the name: the seed of entry hashes */
  atomic_size_t entries;
  pthread_mutex_t lock; /* guards defaults */
  struct roster_default *defaults;
  uint16_t len;
  char name[];
};

typedef struct roster__listener {
  atomic_uint refs; /* one per snapshot holding it */
  unsigned mask;
  roster_listener_fn fn;
  void *arg;
  void (*free_arg)(void *);
  uint64_t id;
} roster__listener;

typedef struct roster__lsnap {
  atomic_uint refs; /* 1 while published + in-flight notifications */
  struct rcu_head rcu;
  size_t n;
  roster__listener *items[];
} roster__lsnap;

typedef struct roster__waiter roster__waiter;

struct roster {
  roster__tab *_Atomic tab; /* the key index (RCU-published) */
  struct cds_lfht *ns_ht;   /* namespaces */
  roster_ns *default_ns;
  roster_keys keys;
  uint64_t serial; /* unique per registry, for lazy error details */
  char name[64];
  atomic_size_t entries;
  _Atomic uint64_t mem;     /* bytes allocated for entries, metadata, ns */
  pthread_mutex_t tab_lock; /* every change of the key index (rtab.c) */
  pthread_mutex_t ns_lock;  /* serializes namespace creation */
  /* listeners */
  pthread_mutex_t listen_lock;
  roster__lsnap *_Atomic lsnap;
  uint64_t next_listener_id;
  atomic_size_t nlisteners;
  /* wait_for */
  pthread_mutex_t wait_lock;
  roster__waiter *waiters;
  atomic_size_t nwaiters;
  /* lifecycle and scopes */
  struct roster__lc *_Atomic lc; /* made on first roster_provide */
  pthread_mutex_t lc_lock;       /* guards making lc */
  pthread_mutex_t claim_lock;    /* a plain registration and roster_provide
                                    check and take a key under it, so that a
                                    key is never both registered and provided */
  unsigned workers;              /* roster_options.workers */
  roster *parent;                /* scopes: the parent (held), else NULL */
  pthread_mutex_t url_lock;      /* guards urls (driver.c) */
  struct roster__urlrec *urls;   /* services declared by roster_provide_url */
  atomic_uint holds;             /* 1 until roster_free + 1 per live scope */
  void *raw;                     /* the allocation r was aligned within */
  /* live set (error.c) */
  roster *live_next;
  roster__shard shards[ROSTER__SHARDS + 1];
};

/* counters */
static inline void roster__count(roster *r, int which) {
  int s = roster__tls_state.shard;
  _Atomic uint64_t *c = &r->shards[s].c[which];
  if (ROSTER__LIKELY(s < ROSTER__SHARDS))
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                          memory_order_relaxed);
  else
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}
uint64_t roster__count_sum(roster *r, int which);

/* ---- registry internals (registry.c) ---- */
typedef struct roster__key {
  const char *ns; /* namespace name */
  size_t ns_len;
  roster_ns *nsobj; /* when known: matched by pointer */
  const char *name;
  size_t name_len;
  uint64_t hash;
} roster__key;

/* roster__key_init validates and hashes (ns, name) into k. */
int roster__key_init(roster *r, roster__key *k, const char *ns,
                     const char *name);
/* roster__key_enter is the opening of every public call that takes (r,
 * ns, name): r must not be NULL, the thread is made known to RCU, and
 * (ns, name) is checked and hashed into k. Returns ROSTER_OK or the
 * code, with the detail set. */
static inline int roster__key_enter(roster *r, roster__key *k, const char *ns,
                                    const char *name) {
  if (!r)
    return roster__err(ROSTER_EINVAL, "registry is NULL");
  roster__thread_ensure();
  return roster__key_init(r, k, ns, name);
}
/* roster__key_is: does k name (ns, name)? The namespace by pointer when
 * k knows it, else by bytes. */
static inline bool roster__key_is(const roster__key *k, const roster_ns *ns,
                                  size_t len, const char *name) {
  if (len != k->name_len)
    return false;
  if (k->nsobj) {
    if (ns != k->nsobj)
      return false;
  } else if (ns->len != k->ns_len || memcmp(ns->name, k->ns, k->ns_len) != 0) {
    return false;
  }
  const char *a = name, *b = k->name;
  uint64_t x, y;
  if (len < 8) {
    for (; len; len--)
      if (*a++ != *b++)
        return false;
    return true;
  }
  /* 8-byte words; the last one overlaps the one before it */
  for (size_t i = 0; i + 8 < len; i += 8) {
    memcpy(&x, a + i, 8);
    memcpy(&y, b + i, 8);
    if (x != y)
      return false;
  }
  memcpy(&x, a + len - 8, 8);
  memcpy(&y, b + len - 8, 8);
  return x == y;
}

/* roster__tab_find returns the item (entry, or key node when dup) of k in
 * t, or NULL; inside a read section. Lock-free, allocation-free. */
static inline __attribute__((always_inline)) void *
roster__tab_find(const roster__tab *t, const roster__key *k, bool dup) {
  size_t i = (size_t)k->hash & t->mask;
  uintptr_t tag = ROSTER__TAG(k->hash);
  for (;;) {
    uintptr_t s = atomic_load_explicit(&t->slot[i], memory_order_acquire);
    if (!s)
      return NULL;
    if ((s & ~ROSTER__PTR_MASK) == tag && s != ROSTER__TOMB) {
      void *p = (void *)(s & ROSTER__PTR_MASK);
      if (dup) {
        const roster__knode *kn = p;
        if (roster__key_is(k, kn->ns, kn->name_len, kn->name))
          return p;
      } else {
        const roster__entry *e = p;
        if (roster__key_is(k, e->ns, e->name_len, e->name))
          return p;
      }
    }
    i = (i + 1) & t->mask;
  }
}

/* roster__iter: a walk over one key's entries or over the whole table, on
 * the table published when it began. */
typedef struct roster__iter {
  const roster__tab *t;
  size_t i;        /* whole-table walks: the next slot */
  roster__mvec *v; /* duplicate keys: the members being walked */
  uint32_t j, n;   /* their next index, and n when the walk began */
} roster__iter;

/* roster__member_next: the walk's next member, or NULL (and it->v NULL)
 * at the end of the key's vector. */
static inline roster__entry *roster__member_next(roster__iter *it) {
  while (it->j < it->n) {
    roster__entry *e =
        atomic_load_explicit(&it->v->item[it->j++], memory_order_acquire);
    if (e)
      return e;
  }
  it->v = NULL;
  return NULL;
}

/* roster__member_prefetch asks for the lines of the member `ahead` slots
 * past the walk's position, if any: what roster__fill_info reads, from the
 * front's owner link to the instance, spans two lines. For members
 * scattered in memory. */
static inline void roster__member_prefetch(const roster__iter *it,
                                           uint32_t ahead) {
  if (!it->v || it->j + ahead >= it->n)
    return;
  const char *e = (const char *)atomic_load_explicit(
      &it->v->item[it->j + ahead], memory_order_relaxed);
  if (e) {
    __builtin_prefetch(e - sizeof(roster__front));
    __builtin_prefetch(e + offsetof(roster__entry, instance));
  }
}

static inline roster__entry *roster__member_first(roster__iter *it,
                                                  const roster__knode *kn) {
  roster__mvec *v =
      atomic_load_explicit(&((roster__knode *)kn)->vec, memory_order_acquire);
  it->v = v;
  it->j = 0;
  it->n = atomic_load_explicit(&v->n, memory_order_acquire);
  return roster__member_next(it);
}

/* Table walks; all must be called inside a read section. Every entry
 * present throughout a walk is seen exactly once. */
static inline roster__entry *roster__find_first(roster *r, const roster__key *k,
                                                roster__iter *it) {
  const roster__tab *t = atomic_load_explicit(&r->tab, memory_order_acquire);
  it->v = NULL;
  it->j = it->n = 0;
  if (r->keys != ROSTER_KEYS_DUPLICATE)
    return roster__tab_find(t, k, false);
  const roster__knode *kn = roster__tab_find(t, k, true);
  return kn ? roster__member_first(it, kn) : NULL;
}
static inline roster__entry *roster__find_next(roster *r, const roster__key *k,
                                               roster__iter *it) {
  (void)r;
  (void)k;
  return it->v ? roster__member_next(it) : NULL;
}
roster__entry *roster__iter_first(roster *r, roster__iter *it);
roster__entry *roster__iter_next(roster *r, roster__iter *it);
static inline roster__olink *roster__olink_of(const roster__entry *e) {
  return (e->flags & (ROSTER__E_INST | ROSTER__E_FRONT)) == ROSTER__E_FRONT
             ? roster__front_of(e)->olink
             : NULL;
}
static inline struct roster__inst *roster__inst_of(const roster__entry *e) {
  return (e->flags & ROSTER__E_INST) ? roster__front_of(e)->inst : NULL;
}
static inline roster_owner *roster__owner_of(const roster__entry *e) {
  roster__olink *l = roster__olink_of(e);
  return l ? l->owner : NULL;
}
/* roster__fill_info describes e (inside a read section or holding a ref). */
static inline void roster__fill_info(const roster__entry *e,
                                     roster_info *info) {
  info->ns = e->ns->name;
  info->name = e->name;
  info->type = e->type;
  info->instance = e->instance;
  info->owner = roster__owner_of(e);
  roster__meta *m =
      atomic_load_explicit(&((roster__entry *)e)->meta, memory_order_acquire);
  info->meta = m ? m->data : NULL;
  info->meta_len = m ? m->len : 0;
}

/* ---- the key index (rtab.c); writers hold no read section ---- */
/* roster__tab_add publishes e (fully made, refs counted) under k. Unique
 * keys: when k is taken, with replace the old entry is swapped out in
 * place and returned in *other (taken: removed set, the caller finishes
 * its removal), without replace *other is the holder (valid until the
 * caller's read section ends; the caller holds one) and the result
 * ROSTER_EEXIST. Duplicate keys: e joins k's key node. ROSTER_ENOMEM when
 * a rebuild or a key node cannot be allocated (detail not set). */
int roster__tab_add(roster *r, roster__entry *e, const roster__key *k,
                    bool replace, roster__entry **other);

/* Removal: roster__take deletes e from the table (under tab_lock, so
 * inside a read section or not); true if this caller won the removal and
 * must call roster__finish_removal (outside the read section) with the
 * table's reference. */
bool roster__take(roster *r, roster__entry *e);
void roster__finish_removal(roster *r, roster__entry *e, roster_reason why,
                            bool notify);
void roster__entry_put(roster__entry *e);

/* A growable array of removed entries (stack storage first). */
typedef struct roster__vec {
  roster__entry **v;
  size_t n, cap;
  roster__entry *inline_v[32];
} roster__vec;
void roster__vec_init(roster__vec *vec);
bool roster__vec_push(roster__vec *vec, roster__entry *e);
void roster__vec_free(roster__vec *vec);
/* roster__vec_room: true when one more push cannot fail (grows if needed);
 * checked before taking an entry, so a removal is never lost to ENOMEM. */
bool roster__vec_room(roster__vec *vec);
/* roster__remove_where removes every entry matching pred (whole-table walk),
 * notifying listeners with why; returns the count. */
size_t roster__remove_where(roster *r, bool (*pred)(roster__entry *, void *),
                            void *arg, roster_reason why, bool notify);

/* ---- owners (owner.c) ---- */
void roster__owner_link(roster_owner *o, roster__entry *e);
/* roster__owner_take_key takes o's entries of k in r (walking o's own
 * list, so the cost is o's entries, not the key's: one member leaving a
 * hot room is O(1)) into vec; sets *more when vec could not grow. Called
 * inside a read section; returns how many it took. */
size_t roster__owner_take_key(roster_owner *o, roster *r, const roster__key *k,
                              roster__vec *vec, bool *more);
void roster__owner_unlink(roster__entry *e);
void roster__owner_get(roster_owner *o);
void roster__owner_put(roster_owner *o);

/* ---- listeners (listen.c) ---- */
void roster__notify(roster *r, roster_event_kind kind, roster_reason why,
                    const roster__entry *e);
/* roster__notify_event calls the listeners of ev->kind with ev as given. */
void roster__notify_event(roster *r, const roster_event *ev);
bool roster__has_listeners(roster *r, unsigned kind);
void roster__listeners_free(roster *r);

/* ---- wait_for (wait.c) ---- */
void roster__wake_waiters(roster *r, const roster__entry *e);

/* ---- lifecycle hooks (lifecycle.c, scope.c) ---- */
struct roster__inst;
/* roster__register_inst registers a provider's instance (flag
 * ROSTER__E_INST). Same errors as roster_register. */
int roster__register_inst(roster *r, const char *ns, const char *name,
                          const roster_type *type, void *instance,
                          struct roster__inst *inst);
/* roster__unregister_inst removes the entries of key holding inst; returns
 * how many. */
size_t roster__unregister_inst(roster *r, const char *ns, const char *name,
                               struct roster__inst *inst);
/* roster__inst_released: e (an instance entry) has left the table and lost
 * its last reference. True if the lifecycle's stop takes it from here: it
 * waits for a grace period and calls roster__entry_free_synced. */
bool roster__inst_released(struct roster__inst *inst, roster__entry *e);
void roster__entry_free_synced(roster__entry *e);
/* roster__inst_reclaimed runs on the reclaim thread when an instance entry
 * nobody waited for (its stop gave up) has no reader and no reference
 * left: it destroys the instance. */
void roster__inst_reclaimed(struct roster__inst *inst);
/* roster__lc_materialize makes the provider at k (in r itself) up. Sets
 * *provided to whether r has a provider for k (when it has none, the result
 * is ROSTER_ENOENT with no detail set); OK once its instance is registered,
 * else the creation's error (which may also be ROSTER_ENOENT: an unknown
 * dependency). Called on a lookup miss, outside read sections. */
int roster__lc_materialize(roster *r, const roster__key *k, bool *provided);
/* roster__provider_type returns the type name of the provider r itself
 * holds k with, or NULL when r provides no such key. The caller holds
 * r->claim_lock, so no provider can appear until it is released. */
const char *roster__provider_type(roster *r, const roster__key *k);
/* roster__urls_free frees r's URL records (driver.c; roster_free). */
void roster__urls_free(roster *r);
/* roster__lc_free shuts down and frees r's lifecycle (roster_free). */
void roster__lc_free(roster *r);
/* roster__get_slow: a get/acquire miss in r, when r has providers or a
 * parent (registry.c). */
int roster__get_slow(roster *r, const char *ns, const char *name,
                     const roster_type *type, void **out, roster_ref **ref);
/* roster__struct_release drops a hold on r's memory (scope.c). */
void roster__struct_release(roster *r);
void roster__struct_destroy(roster *r);

/* ---- namespaces ---- */
roster_ns *roster__ns_get(roster *r, const char *ns, size_t len, bool create);

#endif /* ROSTER_IMPL_H */
