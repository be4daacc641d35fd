/*
 * registry_meta.c: per-entry metadata. A value is an immutable block
 * published through an RCU pointer: readers copy it out without locking,
 * writers swap in a new block (compare-and-swap for updates) and free the
 * old one after a grace period.
 */
#include "roster_impl.h"

#include <stdio.h>

static void free_meta(struct rcu_head *h) {
  roster__reclaim_enter();
  ROSTER__TSAN_ACQUIRE(h);
  ROSTER__TSAN_ACQUIRE(&roster__grace_token);
  roster__free(caa_container_of(h, roster__meta, rcu));
  roster__reclaim_exit();
}

/* target finds the one entry a metadata call addresses; inside a read
 * section. */
static int target(roster *r, const roster__key *k, roster_owner *owner,
                  roster__entry **out) {
  roster__iter it;
  size_t n = 0;
  for (roster__entry *e = roster__find_first(r, k, &it); e;
       e = roster__find_next(r, k, &it)) {
    if (owner && roster__owner_of(e) != owner)
      continue;
    if (n++ == 0)
      *out = e;
  }
  char qn[96];
  if (n == 1)
    return ROSTER_OK;
  if (n > 1)
    return roster__err(ROSTER_EAMBIGUOUS,
                       "'%s' in namespace '%s' holds %zu entries; pass the "
                       "owner of the one whose metadata you mean",
                       roster__quote(qn, sizeof qn, k->name, k->name_len),
                       (*out)->ns->name, n);
  if (owner)
    return roster__err(
        ROSTER_ENOENT, "no entry of '%s' in namespace '%s' has that owner",
        roster__quote(qn, sizeof qn, k->name, k->name_len), k->ns);
  return roster__err_notfound(r, k->ns, k->ns_len, k->name, k->name_len);
}

static int prologue(roster *r, roster__key *k, const char *ns,
                    const char *name) {
  if (!r)
    return roster__err(ROSTER_EINVAL, "registry is NULL");
  roster__thread_ensure();
  return roster__key_init(r, k, ns, name);
}

int roster_meta_get(roster *r, const char *ns, const char *name,
                    roster_owner *owner, void *buf, size_t cap, size_t *len) {
  if (len)
    *len = 0;
  roster__key k;
  int rc = prologue(r, &k, ns, name);
  if (rc)
    return rc;
  if (!len || (cap && !buf))
    return roster__err(ROSTER_EINVAL, "%s is NULL", !len ? "len" : "buf");
  roster__entry *e;
  roster__rlock();
  rc = target(r, &k, owner, &e);
  if (rc == ROSTER_OK) {
    roster__meta *m = atomic_load_explicit(&e->meta, memory_order_acquire);
    size_t n = m ? m->len : 0;
    *len = n;
    if (n > cap)
      rc = roster__err(ROSTER_ERANGE,
                       "metadata is %zu bytes; the buffer holds %zu", n, cap);
    else if (n)
      memcpy(buf, m->data, n);
  }
  roster__runlock();
  return rc;
}

static roster__meta *meta_new(const void *data, size_t len) {
  roster__meta *m = roster__malloc(sizeof *m + len);
  if (m) {
    m->len = len;
    memcpy(m->data, data, len);
  }
  return m;
}

static void meta_retire(roster *r, roster__meta *old, roster__meta *nw) {
  int64_t delta = (nw ? (int64_t)(sizeof *nw + nw->len) : 0) -
                  (old ? (int64_t)(sizeof *old + old->len) : 0);
  atomic_fetch_add(&r->mem, (uint64_t)delta);
  if (old)
    roster__defer(&old->rcu, free_meta);
}

int roster_meta_set(roster *r, const char *ns, const char *name,
                    roster_owner *owner, const void *data, size_t len) {
  roster__key k;
  int rc = prologue(r, &k, ns, name);
  if (rc)
    return rc;
  if (len > ROSTER_META_MAX)
    return roster__err(ROSTER_EINVAL, "metadata is %zu bytes; the limit is %d",
                       len, ROSTER_META_MAX);
  if (len && !data)
    return roster__err(ROSTER_EINVAL, "data is NULL");
  roster__meta *m = NULL;
  if (len && !(m = meta_new(data, len)))
    return roster__err(ROSTER_ENOMEM, "out of memory");
  ROSTER__TSAN_RELEASE(m);
  roster__entry *e;
  roster__rlock();
  rc = target(r, &k, owner, &e);
  if (rc == ROSTER_OK) {
    roster__meta *old = atomic_exchange(&e->meta, m);
    meta_retire(r, old, m);
  }
  roster__runlock();
  if (rc)
    roster__free(m);
  return rc;
}

int roster_meta_update(roster *r, const char *ns, const char *name,
                       roster_owner *owner, roster_meta_fn fn, void *arg) {
  roster__key k;
  int rc = prologue(r, &k, ns, name);
  if (rc)
    return rc;
  if (!fn)
    return roster__err(ROSTER_EINVAL, "fn is NULL");
  unsigned char out[ROSTER_META_MAX];
  roster__entry *e;
  roster__rlock();
  rc = target(r, &k, owner, &e);
  while (rc == ROSTER_OK) {
    roster__meta *old = atomic_load(&e->meta);
    ROSTER__TSAN_ACQUIRE(old);
    size_t out_len = 0;
    int frc =
        fn(old ? old->data : NULL, old ? old->len : 0, out, &out_len, arg);
    if (frc != ROSTER_OK) {
      rc = roster_last_code() == frc
               ? frc
               : roster__err(frc, "metadata update function returned %s",
                             roster_err_name(frc));
      break;
    }
    if (out_len > ROSTER_META_MAX) {
      rc = roster__err(ROSTER_ERANGE,
                       "metadata update produced %zu bytes; the limit is %d",
                       out_len, ROSTER_META_MAX);
      break;
    }
    roster__meta *m = NULL;
    if (out_len && !(m = meta_new(out, out_len))) {
      rc = roster__err(ROSTER_ENOMEM, "out of memory");
      break;
    }
    ROSTER__TSAN_RELEASE(m);
    /* old cannot be freed and reused while we are in the read section, so
     * the compare cannot be fooled by a recycled address (no ABA). */
    if (atomic_compare_exchange_strong(&e->meta, &old, m)) {
      meta_retire(r, old, m);
      break;
    }
    roster__free(m);
  }
  roster__runlock();
  return rc;
}
