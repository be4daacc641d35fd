/*
 * registry.c: the registry's heart: make and free registries, register /
 * replace / unregister, and the lock-free lookups (get, has, lookup,
 * acquire). Namespaces and statistics: registry_ns.c.
 *
 * Entries live in roster's own table under RCU (rtab.c), keyed by
 * XXH3(name) seeded with XXH3(namespace), so one hash covers both. Writers
 * change it under tab_lock; whoever takes an entry out (roster__take)
 * finishes the removal outside the read section (roster__finish_removal):
 * owner unlink, counters, listeners, and dropping the table's reference.
 * The last reference queues reclaim after a grace period, where the type's
 * destroy runs.
 */
#include "roster_impl.h"

#include <stdio.h>
#include <stdlib.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

static _Atomic uint64_t next_serial = 1;

/* ---- keys and matching ---------------------------------------------- */

/* key_init is roster__key_init, inlined into the lookups: a name of 1 to
 * ROSTER_NAME_MAX bytes in the default namespace takes no call but strnlen;
 * anything else (an error to word) goes through roster__check_name. */
static inline __attribute__((always_inline)) int
key_init(roster *r, roster__key *k, const char *ns, const char *name) {
  size_t n = name ? strnlen(name, ROSTER_NAME_MAX + 1) : 0;
  if (ROSTER__UNLIKELY(n - 1 >= ROSTER_NAME_MAX))
    return roster__check_name("name", name, &k->name_len, false);
  k->name_len = n;
  k->name = name;
  if (!ns) {
    k->nsobj = r->default_ns;
    k->ns = r->default_ns->name;
    k->ns_len = r->default_ns->len;
  } else {
    int rc = roster__check_name("namespace", ns, &k->ns_len, false);
    if (rc)
      return rc;
    k->ns = ns;
    if (k->ns_len == r->default_ns->len &&
        memcmp(ns, r->default_ns->name, k->ns_len) == 0)
      k->nsobj = r->default_ns;
    else
      k->nsobj = NULL;
  }
  uint64_t seed = k->nsobj ? k->nsobj->hash : XXH3_64bits(k->ns, k->ns_len);
  k->hash = XXH3_64bits_withSeed(k->name, k->name_len, seed);
  return ROSTER_OK;
}

int roster__key_init(roster *r, roster__key *k, const char *ns,
                     const char *name) {
  return key_init(r, k, ns, name);
}

/* ---- registries ----------------------------------------------------- */

static roster *registry_make(const roster_options *opts) {
  roster_options o = opts ? *opts : (roster_options){0};
  if (o.keys != ROSTER_KEYS_UNIQUE && o.keys != ROSTER_KEYS_DUPLICATE) {
    roster__err(ROSTER_EINVAL,
                "roster_new: keys mode %d is neither "
                "ROSTER_KEYS_UNIQUE nor ROSTER_KEYS_DUPLICATE",
                (int)o.keys);
    return NULL;
  }
  roster__thread_ensure();
  /* The counter shards want 64-byte alignment, which the allocator hooks do
   * not promise: over-allocate and align by hand. */
  void *raw = roster__calloc(1, sizeof(roster) + 63);
  if (!raw) {
    roster__err(ROSTER_ENOMEM, "roster_new: out of memory");
    return NULL;
  }
  roster *r = (roster *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
  r->raw = raw;
  r->keys = o.keys;
  snprintf(r->name, sizeof r->name, "%s", o.name ? o.name : "roster");
  r->serial = atomic_fetch_add(&next_serial, 1);
  /* initial_buckets: that many keys fit before the first rebuild (the
   * table keeps at most half of its slots taken). */
  size_t init = 1024;
  if (o.initial_buckets) {
    init = 1;
    while (init < o.initial_buckets && init < ((size_t)1 << 30))
      init <<= 1;
  }
  atomic_init(&r->tab, roster__tab_new(init < 8 ? 16 : 2 * init));
  r->ns_ht = cds_lfht_new_flavor(16, 16, 0, CDS_LFHT_AUTO_RESIZE,
                                 &urcu_bp_flavor, NULL);
  pthread_mutex_init(&r->ns_lock, NULL);
  pthread_mutex_init(&r->listen_lock, NULL);
  pthread_mutex_init(&r->wait_lock, NULL);
  pthread_mutex_init(&r->tab_lock, NULL);
  pthread_mutex_init(&r->lc_lock, NULL);
  pthread_mutex_init(&r->claim_lock, NULL);
  pthread_mutex_init(&r->url_lock, NULL);
  r->workers = o.workers;
  atomic_init(&r->holds, 1);
  r->next_listener_id = 1;
  roster__tab *t = atomic_load(&r->tab);
  if (t && r->ns_ht)
    r->default_ns = roster__ns_get(r, ROSTER_DEFAULT_NS,
                                   sizeof ROSTER_DEFAULT_NS - 1, true);
  if (!t || !r->ns_ht || !r->default_ns) {
    roster__tab_free(t);
    if (r->default_ns) {
      roster__rlock();
      cds_lfht_del(r->ns_ht, &r->default_ns->node);
      roster__runlock();
    }
    if (r->ns_ht)
      cds_lfht_destroy(r->ns_ht, NULL);
    roster__free(r->default_ns);
    roster__free(r->raw);
    roster__err(ROSTER_ENOMEM, "roster_new: out of memory");
    return NULL;
  }
  roster__live_add(r);
  return r;
}

int roster_new(const roster_options *opts, roster **out) {
  if (!out)
    return roster__err(ROSTER_EINVAL, "roster_new: out is NULL");
  *out = registry_make(opts);
  return *out ? ROSTER_OK : roster_last_code();
}

static bool pred_all(roster__entry *e, void *arg) {
  (void)e;
  (void)arg;
  return true;
}

void roster_free(roster *r) {
  if (!r)
    return;
  roster__thread_ensure();
  /* Services first, in reverse dependency order, while their entries and
   * the registry are all still there. */
  roster__lc_free(r);
  roster__urls_free(r);
  roster__live_remove(r);
  roster__remove_where(r, pred_all, NULL, ROSTER_REASON_CLEAR, false);
  roster__listeners_free(r);
  /* Every destroy has run once this returns (acquired references must have
   * been released, as documented). */
  roster__barrier();
  roster *parent = r->parent;
  /* The memory stays while scopes of r live: their lookups fall through to
   * r's (now empty) table. */
  roster__struct_release(r);
  if (parent)
    roster__struct_release(parent);
}

void roster__struct_destroy(roster *r) {
  roster__vec nss;
  roster__vec_init(&nss);
  struct cds_lfht_iter it;
  roster__rlock();
  cds_lfht_first(r->ns_ht, &it);
  for (struct cds_lfht_node *n; (n = cds_lfht_iter_get_node(&it));
       cds_lfht_next(r->ns_ht, &it)) {
    if (cds_lfht_del(r->ns_ht, n) == 0)
      roster__vec_push(
          &nss, (roster__entry *)(void *)caa_container_of(n, roster_ns, node));
  }
  roster__runlock();
  roster__tab_free(atomic_load(&r->tab));
  cds_lfht_destroy(r->ns_ht, NULL);
  for (size_t i = 0; i < nss.n; i++) {
    roster_ns *ns = (roster_ns *)(void *)nss.v[i];
    for (struct roster_default *d = ns->defaults, *nx; d; d = nx) {
      nx = d->next;
      roster__free(d->name);
      roster__free(d);
    }
    pthread_mutex_destroy(&ns->lock);
    roster__free(ns);
  }
  roster__vec_free(&nss);
  pthread_mutex_destroy(&r->ns_lock);
  pthread_mutex_destroy(&r->listen_lock);
  pthread_mutex_destroy(&r->wait_lock);
  pthread_mutex_destroy(&r->tab_lock);
  pthread_mutex_destroy(&r->lc_lock);
  pthread_mutex_destroy(&r->claim_lock);
  pthread_mutex_destroy(&r->url_lock);
  roster__free(r->raw);
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static roster *global_registry;

static void global_init(void) {
  roster_options o = {.name = "global"};
  (void)roster_new(&o, &global_registry); /* NULL: roster_global says */
}

roster *roster_global(void) {
  pthread_once(&global_once, global_init);
  if (!global_registry)
    roster__err(ROSTER_ENOMEM, "roster_global: could not make the registry");
  return global_registry;
}

roster_keys roster_keys_mode(const roster *r) {
  return r ? r->keys : ROSTER_KEYS_UNIQUE;
}

/* ---- removal -------------------------------------------------------- */

/* free_entry frees e (not its instance); no reader can see it any more. */
static void free_entry(roster__entry *e) {
  roster *r = e->ns->r;
  size_t sz = sizeof *e + e->name_len + 1;
  roster__meta *m = atomic_load(&e->meta);
  if (m) {
    sz += sizeof *m + m->len;
    roster__free(m);
  }
  roster__olink *ol = roster__olink_of(e);
  if (ol) {
    sz += sizeof *ol;
    roster__owner_put(ol->owner);
    roster__free(ol);
  }
  void *base = e;
  if (e->flags & ROSTER__E_FRONT) {
    sz += sizeof(roster__front);
    base = roster__front_of(e);
  }
  atomic_fetch_sub(&r->mem, sz);
  roster__free(base);
}

static void reclaim_entry(struct rcu_head *head) {
  roster__reclaim_enter();
  ROSTER__TSAN_ACQUIRE(head);
  ROSTER__TSAN_ACQUIRE(&roster__grace_token);
  roster__entry *e = caa_container_of(head, roster__entry, rcu);
  if (e->flags & ROSTER__E_INST)
    roster__inst_reclaimed(roster__inst_of(e)); /* the lifecycle destroys it */
  else if (e->type->destroy)
    e->type->destroy(e->instance);
  free_entry(e);
  roster__reclaim_exit();
}

void roster__entry_free_synced(roster__entry *e) {
  ROSTER__TSAN_ACQUIRE(&roster__grace_token);
  free_entry(e);
}

void roster__entry_put(roster__entry *e) {
  if (atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) != 1)
    return;
  /* A provider's instance: its stop is waiting and finishes the job itself
   * after one grace period (call_rcu's worker batches for ~10 ms, which a
   * stop would pay once per level of the dependency graph). */
  if ((e->flags & ROSTER__E_INST) &&
      roster__inst_released(roster__inst_of(e), e))
    return;
  roster__defer_batched(&e->rcu, reclaim_entry);
}

void roster__finish_removal(roster *r, roster__entry *e, roster_reason why,
                            bool notify) {
  if (roster__olink_of(e))
    roster__owner_unlink(e);
  roster__count(r, ROSTER__C_UNREGS);
  if (notify)
    roster__notify(r, ROSTER_EV_UNREGISTER, why, e);
  roster__entry_put(e);
}

void roster__vec_init(roster__vec *vec) {
  vec->v = vec->inline_v;
  vec->n = 0;
  vec->cap = sizeof vec->inline_v / sizeof vec->inline_v[0];
}

/* roster__vec_push never fails when n < cap; callers check roster__vec_room
 * before taking an entry, so a removal is never lost to ENOMEM. */
bool roster__vec_push(roster__vec *vec, roster__entry *e) {
  if (vec->n == vec->cap) {
    size_t ncap = vec->cap * 2;
    roster__entry **nv;
    if (vec->v == vec->inline_v) {
      nv = roster__malloc(ncap * sizeof *nv);
      if (nv)
        memcpy(nv, vec->v, vec->n * sizeof *nv);
    } else {
      nv = roster__realloc(vec->v, ncap * sizeof *nv);
    }
    if (!nv)
      return false;
    vec->v = nv;
    vec->cap = ncap;
  }
  vec->v[vec->n++] = e;
  return true;
}

bool roster__vec_room(roster__vec *vec) {
  if (vec->n < vec->cap)
    return true;
  /* Grow by pushing a placeholder and popping it. */
  if (!roster__vec_push(vec, NULL))
    return false;
  vec->n--;
  return true;
}

void roster__vec_free(roster__vec *vec) {
  if (vec->v != vec->inline_v)
    roster__free(vec->v);
  roster__vec_init(vec);
}

size_t roster__remove_where(roster *r, bool (*pred)(roster__entry *, void *),
                            void *arg, roster_reason why, bool notify) {
  size_t total = 0;
  for (;;) {
    roster__vec vec;
    roster__vec_init(&vec);
    bool full = false;
    roster__iter it;
    roster__rlock();
    for (roster__entry *e = roster__iter_first(r, &it); e;
         e = roster__iter_next(r, &it)) {
      if (!pred(e, arg))
        continue;
      if (!roster__vec_room(&vec)) {
        full = true;
        break;
      }
      if (roster__take(r, e))
        roster__vec_push(&vec, e);
    }
    roster__runlock();
    for (size_t i = 0; i < vec.n; i++)
      roster__finish_removal(r, vec.v[i], why, notify);
    total += vec.n;
    roster__vec_free(&vec);
    if (!full)
      return total;
  }
}

/* ---- register ------------------------------------------------------- */

/* discard_new frees a new entry that was never published (e, its metadata
 * m and its owner link ol, whose owner it holds). */
static void discard_new(void *base, roster__meta *m, roster__olink *ol) {
  if (ol)
    roster__owner_put(ol->owner);
  roster__free(m);
  roster__free(ol);
  roster__free(base);
}

static int do_register(roster *r, const char *ns, const char *name,
                       const roster_type *type, void *instance,
                       const roster_entry_options *opts, bool replace,
                       struct roster__inst *inst) {
  roster__key k;
  int rc = roster__key_enter(r, &k, ns, name);
  if (rc)
    return rc;
  char qn[96];
  if (!type || !type->name)
    return roster__err(ROSTER_EINVAL,
                       "type descriptor %s for '%s' in namespace '%s'",
                       type ? "has no name" : "is NULL",
                       roster__quote(qn, sizeof qn, name, k.name_len), k.ns);
  size_t meta_len = opts && opts->meta ? opts->meta_len : 0;
  if (meta_len > ROSTER_META_MAX)
    return roster__err(ROSTER_EINVAL,
                       "metadata for '%s' is %zu bytes; the limit is %d",
                       roster__quote(qn, sizeof qn, name, k.name_len), meta_len,
                       ROSTER_META_MAX);
  if (!k.nsobj) {
    k.nsobj = roster__ns_get(r, k.ns, k.ns_len, true);
    if (!k.nsobj)
      return roster__err(ROSTER_ENOMEM, "out of memory");
  }

  /* Owned, instance and duplicate-key entries carry a front. */
  bool front =
      inst || (opts && opts->owner) || r->keys == ROSTER_KEYS_DUPLICATE;
  size_t sz = (front ? sizeof(roster__front) : 0) + sizeof(roster__entry) +
              k.name_len + 1;
  void *base = roster__malloc(sz);
  roster__entry *e =
      !base   ? NULL
      : front ? (roster__entry *)(void *)((char *)base + sizeof(roster__front))
              : base;
  roster__meta *m = NULL;
  roster__olink *ol = NULL;
  if (e && meta_len) {
    m = roster__malloc(sizeof *m + meta_len);
    if (m) {
      m->len = meta_len;
      memcpy(m->data, opts->meta, meta_len);
      sz += sizeof *m + meta_len;
    }
  }
  if (e && opts && opts->owner) {
    ol = roster__calloc(1, sizeof *ol);
    sz += sizeof *ol;
  }
  if (!e || (meta_len && !m) || (opts && opts->owner && !ol)) {
    roster__free(base);
    roster__free(m);
    roster__free(ol);
    return roster__err(ROSTER_ENOMEM, "out of memory registering '%s'",
                       roster__quote(qn, sizeof qn, name, k.name_len));
  }
  e->ns = k.nsobj;
  e->type = type;
  e->instance = instance;
  e->flags =
      (uint8_t)((inst ? ROSTER__E_INST : 0) | (front ? ROSTER__E_FRONT : 0) |
                (r->keys == ROSTER_KEYS_DUPLICATE ? ROSTER__E_DUP : 0));
  if (inst)
    roster__front_of(e)->inst = inst;
  else if (front)
    roster__front_of(e)->olink = ol;
  atomic_init(&e->meta, m);
  atomic_init(&e->refs, 2); /* the table's, and ours until we are done */
  atomic_init(&e->removed, false);
  e->name_len = (uint16_t)k.name_len;
  memcpy(e->name, name, k.name_len);
  e->name[k.name_len] = '\0';
  if (ol) {
    ol->owner = opts->owner;
    ol->entry = e;
    roster__owner_get(opts->owner); /* dropped when the entry is reclaimed */
  }
  ROSTER__TSAN_RELEASE(e);

  /* A key a provider holds takes no plain entry (its provider registers
   * the instance): refuse it now rather than fail the start later. The
   * claim lock keeps a roster_provide of the key from slipping in between
   * the check and the insert. A provider's own instance needs no check. */
  if (!inst) {
    pthread_mutex_lock(&r->claim_lock);
    const char *pt = roster__provider_type(r, &k);
    if (pt) {
      pthread_mutex_unlock(&r->claim_lock);
      char qs[96], qt[96];
      roster__err(ROSTER_EEXIST,
                  "service '%s' is provided in namespace '%s' (a provider "
                  "of type '%s' holds the key); its provider registers "
                  "the instance: use another name, or a scope to shadow it",
                  roster__quote(qn, sizeof qn, name, k.name_len),
                  roster__quote(qs, sizeof qs, k.ns, k.ns_len),
                  roster__quote(qt, sizeof qt, pt, strlen(pt)));
      discard_new(base, m, ol);
      return ROSTER_EEXIST;
    }
  }
  roster__entry *old = NULL;
  roster__rlock();
  rc = roster__tab_add(r, e, &k, replace, &old);
  if (rc == ROSTER_EEXIST) {
    char qt[96];
    roster__err(
        ROSTER_EEXIST,
        "service '%s' is already registered in namespace '%s' "
        "(type '%s'); use roster_replace to override it",
        roster__quote(qn, sizeof qn, name, k.name_len), k.nsobj->name,
        roster__quote(qt, sizeof qt, old->type->name, strlen(old->type->name)));
  } else if (rc) {
    roster__err(ROSTER_ENOMEM, "out of memory registering '%s'",
                roster__quote(qn, sizeof qn, name, k.name_len));
  }
  roster__runlock();
  if (!inst)
    pthread_mutex_unlock(&r->claim_lock);
  if (rc) {
    discard_new(base, m, ol);
    return rc;
  }

  atomic_fetch_add(&r->mem, sz);
  roster__count(r, ROSTER__C_REGS);
  if (ol)
    roster__owner_link(opts->owner, e);
  roster__wake_waiters(r, e);
  roster__notify(r, ROSTER_EV_REGISTER, ROSTER_REASON_CALL, e);

  if (old) {
    roster__finish_removal(r, old, ROSTER_REASON_REPLACED, true);
  } else if (replace) { /* duplicate keys: remove every other entry */
    for (bool more = true; more;) {
      roster__vec vec;
      roster__vec_init(&vec);
      roster__iter it;
      more = false;
      roster__rlock();
      for (roster__entry *x = roster__find_first(r, &k, &it); x;
           x = roster__find_next(r, &k, &it)) {
        if (x == e)
          continue;
        if (!roster__vec_room(&vec)) {
          more = true;
          break;
        }
        if (roster__take(r, x))
          roster__vec_push(&vec, x);
      }
      roster__runlock();
      for (size_t i = 0; i < vec.n; i++)
        roster__finish_removal(r, vec.v[i], ROSTER_REASON_REPLACED, true);
      roster__vec_free(&vec);
    }
  }
  roster__entry_put(e);
  return ROSTER_OK;
}

int roster_register(roster *r, const char *ns, const char *name,
                    const roster_type *type, void *instance) {
  return do_register(r, ns, name, type, instance, NULL, false, NULL);
}

int roster__register_inst(roster *r, const char *ns, const char *name,
                          const roster_type *type, void *instance,
                          struct roster__inst *inst) {
  return do_register(r, ns, name, type, instance, NULL, false, inst);
}

int roster_register_ex(roster *r, const char *ns, const char *name,
                       const roster_type *type, void *instance,
                       const roster_entry_options *opts) {
  return do_register(r, ns, name, type, instance, opts, false, NULL);
}

int roster_replace(roster *r, const char *ns, const char *name,
                   const roster_type *type, void *instance) {
  return do_register(r, ns, name, type, instance, NULL, true, NULL);
}

/* ---- unregister ----------------------------------------------------- */

/* remove_key removes the entries of k that match (by owner, or by lifecycle
 * record, when given) and returns how many. */
static size_t remove_key(roster *r, const roster__key *k, roster_owner *owner,
                         bool by_owner, struct roster__inst *inst) {
  size_t removed = 0;
  for (bool more = true; more;) {
    roster__vec vec;
    roster__vec_init(&vec);
    roster__iter it = {0};
    more = false;
    roster__rlock();
    if (by_owner)
      (void)roster__owner_take_key(owner, r, k, &vec, &more);
    for (roster__entry *e = by_owner ? NULL : roster__find_first(r, k, &it); e;
         e = roster__find_next(r, k, &it)) {
      if (inst && roster__inst_of(e) != inst)
        continue;
      if (!roster__vec_room(&vec)) {
        more = true;
        break;
      }
      if (roster__take(r, e))
        roster__vec_push(&vec, e);
    }
    roster__runlock();
    for (size_t i = 0; i < vec.n; i++)
      roster__finish_removal(r, vec.v[i], ROSTER_REASON_CALL, true);
    removed += vec.n;
    roster__vec_free(&vec);
  }
  return removed;
}

size_t roster__unregister_inst(roster *r, const char *ns, const char *name,
                               struct roster__inst *inst) {
  roster__key k;
  if (roster__key_init(r, &k, ns, name))
    return 0;
  return remove_key(r, &k, NULL, false, inst);
}

static int do_unregister(roster *r, const char *ns, const char *name,
                         roster_owner *owner, bool by_owner) {
  roster__key k;
  int rc = roster__key_enter(r, &k, ns, name);
  if (rc)
    return rc;
  if (by_owner && !owner)
    return roster__err(ROSTER_EINVAL, "owner is NULL");
  if (remove_key(r, &k, owner, by_owner, NULL))
    return ROSTER_OK;
  if (by_owner) {
    char qn[96];
    return roster__err(ROSTER_ENOENT,
                       "no entry of '%s' in namespace '%s' has that owner",
                       roster__quote(qn, sizeof qn, name, k.name_len), k.ns);
  }
  return roster__err_notfound(r, k.ns, k.ns_len, name, k.name_len);
}

int roster_unregister(roster *r, const char *ns, const char *name) {
  return do_unregister(r, ns, name, NULL, false);
}

int roster_unregister_owned(roster *r, const char *ns, const char *name,
                            roster_owner *owner) {
  return do_unregister(r, ns, name, owner, true);
}

int roster_clear(roster *r, size_t *removed) {
  if (removed)
    *removed = 0;
  if (!r)
    return roster__err(ROSTER_EINVAL, "registry is NULL");
  roster__thread_ensure();
  size_t n = roster__remove_where(r, pred_all, NULL, ROSTER_REASON_CLEAR, true);
  if (removed)
    *removed = n;
  return ROSTER_OK;
}

/* ---- lookups -------------------------------------------------------- */

/* lookup_one finds the single entry for get/acquire. Called inside a read
 * section; on failure sets the detail and returns the code. The caller counts
 * the hit or miss once, from its final result. */
static inline __attribute__((always_inline)) int
lookup_one(roster *r, const roster__key *k, const roster_type *type,
           roster__entry **out) {
  roster__iter it;
  roster__entry *e = roster__find_first(r, k, &it);
  if (ROSTER__UNLIKELY(!e))
    return roster__err_notfound(r, k->ns, k->ns_len, k->name, k->name_len);
  char qn[96];
  if (r->keys == ROSTER_KEYS_DUPLICATE) {
    roster__iter it2 = it;
    if (roster__find_next(r, k, &it2)) {
      size_t n = 2;
      while (roster__find_next(r, k, &it2))
        n++;
      return roster__err(ROSTER_EAMBIGUOUS,
                         "'%s' in namespace '%s' holds %zu entries; use "
                         "roster_lookup or roster_dispatch for every one",
                         roster__quote(qn, sizeof qn, k->name, k->name_len),
                         e->ns->name, n);
    }
  }
  if (type && ROSTER__UNLIKELY(e->type != type)) {
    char qt[96], qw[96];
    return roster__err(
        ROSTER_ETYPE, "service '%s' in namespace '%s' is a '%s', not a '%s'",
        roster__quote(qn, sizeof qn, k->name, k->name_len), e->ns->name,
        roster__quote(qt, sizeof qt, e->type->name, strlen(e->type->name)),
        type->name
            ? roster__quote(qw, sizeof qw, type->name, strlen(type->name))
            : "(unnamed type)");
  }
  *out = e;
  return ROSTER_OK;
}

int roster_get(roster *r, const char *ns, const char *name,
               const roster_type *type, void **out) {
  if (out)
    *out = NULL;
  if (ROSTER__UNLIKELY(!r || !out))
    return roster__err(ROSTER_EINVAL, "%s is NULL", r ? "out" : "registry");
  roster__thread_ensure();
  roster__key k;
  int rc = key_init(r, &k, ns, name);
  if (ROSTER__UNLIKELY(rc))
    return rc;
  roster__entry *e = NULL;
  roster__rlock();
  rc = lookup_one(r, &k, type, &e);
  if (ROSTER__LIKELY(rc == ROSTER_OK))
    *out = e->instance;
  roster__runlock();
  roster__count(r, rc == ROSTER_ENOENT ? ROSTER__C_MISSES : ROSTER__C_HITS);
  if (ROSTER__UNLIKELY(rc == ROSTER_ENOENT) &&
      (atomic_load_explicit(&r->lc, memory_order_relaxed) || r->parent))
    return roster__get_slow(r, ns, name, type, out, NULL);
  return rc;
}

int roster_acquire(roster *r, const char *ns, const char *name,
                   const roster_type *type, void **out, roster_ref **ref) {
  if (out)
    *out = NULL;
  if (ref)
    *ref = NULL;
  if (!r || !out || !ref)
    return roster__err(ROSTER_EINVAL, "%s is NULL",
                       !r     ? "registry"
                       : !out ? "out"
                              : "ref");
  roster__thread_ensure();
  roster__key k;
  int rc = key_init(r, &k, ns, name);
  if (rc)
    return rc;
  roster__entry *e = NULL;
  roster__rlock();
  for (;;) {
    rc = lookup_one(r, &k, type, &e);
    if (rc != ROSTER_OK)
      break;
    /* Take a reference unless the entry is already dying (refs 0): then it
     * has left the table (replaced or unregistered), and a fresh lookup
     * finds its successor, if any. */
    unsigned c = atomic_load(&e->refs);
    while (c && !atomic_compare_exchange_weak(&e->refs, &c, c + 1))
      ;
    if (c) {
      *out = e->instance;
      *ref = (roster_ref *)e;
      break;
    }
  }
  roster__runlock();
  roster__count(r, rc == ROSTER_ENOENT ? ROSTER__C_MISSES : ROSTER__C_HITS);
  if (ROSTER__UNLIKELY(rc == ROSTER_ENOENT) &&
      (atomic_load_explicit(&r->lc, memory_order_relaxed) || r->parent))
    return roster__get_slow(r, ns, name, type, out, ref);
  return rc;
}

/* A miss in r: create r's provider for the key if it has one, else look in
 * the parent. The parent's answer (and its error detail) is the result. */
int roster__get_slow(roster *r, const char *ns, const char *name,
                     const roster_type *type, void **out, roster_ref **ref) {
  roster__key k;
  int rc = roster__key_init(r, &k, ns, name);
  if (rc)
    return rc;
  if (atomic_load(&r->lc)) {
    bool provided;
    rc = roster__lc_materialize(r, &k, &provided);
    if (rc == ROSTER_OK) {
      roster__entry *e = NULL;
      roster__rlock();
      rc = lookup_one(r, &k, type, &e);
      if (rc == ROSTER_OK) {
        *out = e->instance;
        if (ref) {
          unsigned c = atomic_load(&e->refs);
          while (c && !atomic_compare_exchange_weak(&e->refs, &c, c + 1))
            ;
          if (c)
            *ref = (roster_ref *)e;
          else
            rc = roster__err_notfound(r, k.ns, k.ns_len, name, k.name_len);
        }
      }
      roster__runlock();
      return rc;
    }
    if (provided) /* r's provider shadows the parent's, even failing */
      return rc;
  }
  if (r->parent)
    return ref ? roster_acquire(r->parent, ns, name, type, out, ref)
               : roster_get(r->parent, ns, name, type, out);
  return roster__err_notfound(r, k.ns, k.ns_len, name, k.name_len);
}

void roster_release(roster_ref *ref) {
  if (ref)
    roster__entry_put((roster__entry *)ref);
}

bool roster_has(roster *r, const char *ns, const char *name) {
  if (!r || !name)
    return false;
  size_t nl = strnlen(name, ROSTER_NAME_MAX + 1);
  if (nl == 0 || nl > ROSTER_NAME_MAX)
    return false;
  if (ns) {
    size_t sl = strnlen(ns, ROSTER_NAME_MAX + 1);
    if (sl == 0 || sl > ROSTER_NAME_MAX)
      return false;
  }
  roster__thread_ensure();
  roster__key k;
  if (key_init(r, &k, ns, name))
    return false;
  roster__iter it;
  roster__rlock();
  bool found = roster__find_first(r, &k, &it) != NULL;
  roster__runlock();
  roster__count(r, found ? ROSTER__C_HITS : ROSTER__C_MISSES);
  if (!found && r->parent)
    return roster_has(r->parent, ns, name);
  return found;
}

int roster_lookup(roster *r, const char *ns, const char *name, void **out,
                  size_t cap, size_t *count) {
  if (count)
    *count = 0;
  if (!r || !count || (cap && !out))
    return roster__err(ROSTER_EINVAL, "%s is NULL",
                       !r       ? "registry"
                       : !count ? "count"
                                : "out");
  roster__thread_ensure();
  roster__key k;
  int rc = roster__key_init(r, &k, ns, name);
  if (rc)
    return rc;
  size_t n = 0;
  roster__iter it;
  roster__rlock();
  for (roster__entry *e = roster__find_first(r, &k, &it); e;
       e = roster__find_next(r, &k, &it)) {
    if (n < cap)
      out[n] = e->instance;
    n++;
  }
  roster__runlock();
  roster__count(r, n ? ROSTER__C_HITS : ROSTER__C_MISSES);
  if (!n && r->parent)
    return roster_lookup(r->parent, ns, name, out, cap, count);
  *count = n;
  return ROSTER_OK;
}
