/*
 * registry_ns.c: namespaces and the registry's statistics. A namespace is
 * interned on first use in a small cds_lfht (r->ns_ht) and lives until
 * roster_free, so entries point to it and the default one is matched by
 * pointer; its name's hash seeds the hashes of its entries' names. Here
 * too: counting, listing and dropping namespaces, and roster_stats_get,
 * which sums the per-thread counter shards.
 */
#include "roster_impl.h"

#include <stdlib.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

uint64_t roster__count_sum(roster *r, int which) {
  uint64_t sum = 0;
  for (int i = 0; i <= ROSTER__SHARDS; i++)
    sum += atomic_load_explicit(&r->shards[i].c[which], memory_order_relaxed);
  return sum;
}

/* ---- namespaces ----------------------------------------------------- */

static int match_ns(struct cds_lfht_node *node, const void *key) {
  const roster_ns *n = caa_container_of(node, roster_ns, node);
  const roster__key *k = key;
  ROSTER__TSAN_ACQUIRE(n);
  return n->len == k->ns_len && memcmp(n->name, k->ns, k->ns_len) == 0;
}

/* Namespaces are interned and live until roster_free, so the pointer stays
 * valid after the read section. Creation is serialized by ns_lock. */
roster_ns *roster__ns_get(roster *r, const char *ns, size_t len, bool create) {
  roster__key k = {.ns = ns, .ns_len = len};
  uint64_t h = XXH3_64bits(ns, len);
  struct cds_lfht_iter it;
  roster__rlock();
  cds_lfht_lookup(r->ns_ht, (unsigned long)h, match_ns, &k, &it);
  struct cds_lfht_node *node = cds_lfht_iter_get_node(&it);
  roster__runlock();
  if (node) {
    roster_ns *found = caa_container_of(node, roster_ns, node);
    ROSTER__TSAN_ACQUIRE(found);
    return found;
  }
  if (!create)
    return NULL;
  size_t sz = sizeof(roster_ns) + len + 1;
  roster_ns *n = roster__calloc(1, sz);
  if (!n)
    return NULL;
  n->r = r;
  n->hash = h;
  n->len = (uint16_t)len;
  memcpy(n->name, ns, len);
  n->name[len] = '\0';
  pthread_mutex_init(&n->lock, NULL);
  atomic_init(&n->entries, 0);
  ROSTER__TSAN_RELEASE(n);
  pthread_mutex_lock(&r->ns_lock);
  roster__rlock();
  struct cds_lfht_node *got =
      cds_lfht_add_unique(r->ns_ht, (unsigned long)h, match_ns, &k, &n->node);
  roster__runlock();
  pthread_mutex_unlock(&r->ns_lock);
  if (got != &n->node) {
    pthread_mutex_destroy(&n->lock);
    roster__free(n);
    n = caa_container_of(got, roster_ns, node);
    ROSTER__TSAN_ACQUIRE(n);
  } else {
    atomic_fetch_add(&r->mem, sz);
  }
  return n;
}

/* ---- namespaces and stats ------------------------------------------- */

size_t roster_count(roster *r, const char *ns) {
  if (!r)
    return 0;
  roster__thread_ensure();
  size_t len = 0;
  if (ns) {
    len = strnlen(ns, ROSTER_NAME_MAX + 1);
    if (len == 0 || len > ROSTER_NAME_MAX)
      return 0;
  }
  roster_ns *n = ns ? roster__ns_get(r, ns, len, false) : r->default_ns;
  return n ? atomic_load(&n->entries) : 0;
}

static int cmp_ns_info(const void *a, const void *b) {
  const roster_ns_info *x = a, *y = b;
  return strcmp(x->name, y->name);
}

int roster_ns_list_get(roster *r, roster_ns_list *out) {
  if (out)
    *out = (roster_ns_list){0};
  if (!r || !out)
    return roster__err(ROSTER_EINVAL, "%s is NULL", r ? "out" : "registry");
  roster__thread_ensure();
  size_t cap = 8, n = 0;
  roster_ns_info *items = roster__malloc(cap * sizeof *items);
  bool oom = !items;
  struct cds_lfht_iter it;
  roster__rlock();
  cds_lfht_first(r->ns_ht, &it);
  for (struct cds_lfht_node *node; !oom && (node = cds_lfht_iter_get_node(&it));
       cds_lfht_next(r->ns_ht, &it)) {
    roster_ns *ns = caa_container_of(node, roster_ns, node);
    ROSTER__TSAN_ACQUIRE(ns);
    size_t c = atomic_load(&ns->entries);
    if (!c)
      continue;
    if (n == cap) {
      roster_ns_info *ni = roster__realloc(items, 2 * cap * sizeof *items);
      if (!ni) {
        oom = true;
        break;
      }
      items = ni;
      cap *= 2;
    }
    char *nm = roster__strndup(ns->name, ns->len);
    if (!nm) {
      oom = true;
      break;
    }
    items[n].name = nm;
    items[n].entries = c;
    n++;
  }
  roster__runlock();
  if (oom) {
    roster_ns_list tmp = {n, items};
    roster_ns_list_free(&tmp);
    return roster__err(ROSTER_ENOMEM, "out of memory listing namespaces");
  }
  qsort(items, n, sizeof *items, cmp_ns_info);
  out->count = n;
  out->items = items;
  return ROSTER_OK;
}

void roster_ns_list_free(roster_ns_list *list) {
  if (!list)
    return;
  for (size_t i = 0; i < list->count; i++)
    roster__free((void *)list->items[i].name);
  roster__free(list->items);
  list->items = NULL;
  list->count = 0;
}

static bool pred_ns(roster__entry *e, void *arg) { return e->ns == arg; }

int roster_ns_drop(roster *r, const char *ns, size_t *removed) {
  if (removed)
    *removed = 0;
  if (!r)
    return roster__err(ROSTER_EINVAL, "registry is NULL");
  roster__thread_ensure();
  size_t len;
  int rc =
      roster__check_name("namespace", ns ? ns : ROSTER_DEFAULT_NS, &len, false);
  if (rc)
    return rc;
  roster_ns *n = roster__ns_get(r, ns ? ns : ROSTER_DEFAULT_NS, len, false);
  if (!n)
    return ROSTER_OK;
  size_t c = roster__remove_where(r, pred_ns, n, ROSTER_REASON_NS_DROP, true);
  if (removed)
    *removed = c;
  return ROSTER_OK;
}

int roster_stats_get(roster *r, roster_stats *out) {
  if (out)
    *out = (roster_stats){0};
  if (!r || !out)
    return roster__err(ROSTER_EINVAL, "%s is NULL", r ? "out" : "registry");
  roster__thread_ensure();
  out->entries = atomic_load(&r->entries);
  struct cds_lfht_iter it;
  roster__rlock();
  cds_lfht_first(r->ns_ht, &it);
  for (struct cds_lfht_node *node; (node = cds_lfht_iter_get_node(&it));
       cds_lfht_next(r->ns_ht, &it)) {
    roster_ns *ns = caa_container_of(node, roster_ns, node);
    ROSTER__TSAN_ACQUIRE(ns);
    if (atomic_load(&ns->entries))
      out->namespaces++;
  }
  roster__runlock();
  out->hits = roster__count_sum(r, ROSTER__C_HITS);
  out->misses = roster__count_sum(r, ROSTER__C_MISSES);
  out->lookups = out->hits + out->misses;
  out->registers = roster__count_sum(r, ROSTER__C_REGS);
  out->unregisters = roster__count_sum(r, ROSTER__C_UNREGS);
  out->listeners = atomic_load(&r->nlisteners);
  out->memory_bytes = atomic_load(&r->mem);
  return ROSTER_OK;
}
