/*
 * mirror.c: the cluster's services mirrored into a registry namespace.
 *
 * Every key <prefix>/<cluster>/<ns>/<name>/<instance> becomes one entry
 * (<name>, or <ns>/<name> when qualified) of type roster_etcd_remote_type
 * in the mirror's namespace, with the key's JSON value as its metadata and
 * an owner of its own. The watch's thread is the only writer: a sync (the
 * first read, or after a compaction) adds what is new and removes what is
 * gone; each event adds, replaces or removes one instance.
 */
#include "etcd_impl.h"

#include "base/helpers.h"

#include <stdio.h>
#include <string.h>

static void remote_destroy(void *instance) { roster_mem_free(instance); }

const roster_type roster_etcd_remote_type = {
    .name = "etcd_remote",
    .destroy = remote_destroy,
};

typedef struct slot {
  char *key;
  roster_owner *owner;
  int64_t mod_revision;
  bool seen;
} slot;

struct roster_etcd_mirror {
  roster_etcd *c;
  roster *r;
  char *ns, *prefix;
  bool qualify;
  roster_etcd_watch *w;
  slot *slots; /* watch thread only */
  size_t n, cap;
  atomic_uint_fast64_t instances, arrivals, departures;
  atomic_int_fast64_t revision;
};

static slot *find(roster_etcd_mirror *m, const char *key) {
  for (size_t i = 0; i < m->n; i++)
    if (!strcmp(m->slots[i].key, key))
      return &m->slots[i];
  return NULL;
}

static void drop(roster_etcd_mirror *m, slot *s) {
  roster_owner_free(s->owner);
  roster_mem_free(s->key);
  *s = m->slots[--m->n];
  atomic_fetch_sub(&m->instances, 1);
  atomic_fetch_add(&m->departures, 1);
}

/* remote_new reads a value into a remote (one allocation, strings after
 * the struct); NULL when it is not an instance's JSON. */
static roster_etcd_remote *remote_new(const roster_etcd_kv *kv,
                                      const char *cluster, const char *ns,
                                      const char *name, const char *inst) {
  json_error_t je;
  json_t *j = json_loadb(kv->value, kv->value_len, 0, &je);
  const char *addr = json_string_value(json_object_get(j, "address"));
  const char *state = json_string_value(json_object_get(j, "state"));
  addr = addr ? addr : "";
  state = state ? state : "ready";
  const char *parts[] = {cluster, ns, name, inst, addr, state};
  size_t total = sizeof(roster_etcd_remote);
  for (size_t i = 0; i < 6; i++)
    total += strlen(parts[i]) + 1;
  roster_etcd_remote *r =
      json_is_object(j) ? roster_mem_calloc(1, total) : NULL;
  if (r) {
    char *d = (char *)(r + 1);
    const char **f[] = {&r->cluster,  &r->ns,      &r->name,
                        &r->instance, &r->address, &r->state};
    for (size_t i = 0; i < 6; i++) {
      size_t n = strlen(parts[i]) + 1;
      memcpy(d, parts[i], n);
      *f[i] = d;
      d += n;
    }
    r->port = (int)json_integer_value(json_object_get(j, "port"));
    r->mod_revision = kv->mod_revision;
  }
  json_decref(j);
  return r;
}

/* put adds or replaces the instance of kv. */
static void put(roster_etcd_mirror *m, const roster_etcd_kv *kv) {
  const char *rest = kv->key + strlen(m->prefix);
  char ns[256], name[256], inst[256];
  if (sscanf(rest, "%255[^/]/%255[^/]/%255[^/]", ns, name, inst) != 3)
    return; /* not an instance's key (cron claims, elections) */
  slot *old = find(m, kv->key);
  if (old) {
    old->seen = true;
    if (old->mod_revision == kv->mod_revision)
      return;
  }
  char *cluster = roster_mem_strdup(m->prefix);
  roster_etcd_remote *r = NULL;
  if (cluster) {
    size_t cl = strlen(cluster);
    if (cl)
      cluster[cl - 1] = '\0';
    const char *slash = strrchr(cluster, '/');
    r = remote_new(kv, slash ? slash + 1 : cluster, ns, name, inst);
  }
  roster_mem_free(cluster);
  roster_owner *owner = NULL;
  if (!r || roster_owner_new(&owner)) {
    roster_mem_free(r);
    return;
  }
  char entry[520];
  if (m->qualify)
    snprintf(entry, sizeof entry, "%s/%s", ns, name);
  else
    snprintf(entry, sizeof entry, "%s", name);
  roster_entry_options eo = {.owner = owner};
  if (kv->value_len <= ROSTER_META_MAX) {
    eo.meta = kv->value;
    eo.meta_len = kv->value_len;
  }
  if (roster_register_ex(m->r, m->ns, entry, &roster_etcd_remote_type, r,
                         &eo)) {
    roster_mem_free(r);
    roster_owner_free(owner);
    return;
  }
  if (old) { /* the new entry is in: the old one goes */
    roster_owner_free(old->owner);
    old->owner = owner;
    old->mod_revision = kv->mod_revision;
    return;
  }
  if (m->n == m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 16;
    slot *s = roster_mem_realloc(m->slots, cap * sizeof *s);
    if (!s) {
      roster_owner_free(owner);
      return;
    }
    m->slots = s;
    m->cap = cap;
  }
  char *k = roster_mem_strdup(kv->key);
  if (!k) {
    roster_owner_free(owner);
    return;
  }
  m->slots[m->n++] = (slot){k, owner, kv->mod_revision, true};
  atomic_fetch_add(&m->instances, 1);
  atomic_fetch_add(&m->arrivals, 1);
}

static void on_events(const roster_etcd_event *ev, size_t n, int64_t rev,
                      void *arg) {
  roster_etcd_mirror *m = arg;
  for (size_t i = 0; i < n; i++) {
    if (ev[i].kind == 0) {
      put(m, ev[i].kv);
    } else {
      slot *s = find(m, ev[i].kv->key);
      if (s)
        drop(m, s);
    }
  }
  atomic_store(&m->revision, rev);
}

static void on_sync(const roster_etcd_kvs *all, void *arg) {
  roster_etcd_mirror *m = arg;
  for (size_t i = 0; i < m->n; i++)
    m->slots[i].seen = false;
  for (size_t i = 0; i < all->count; i++)
    put(m, &all->items[i]);
  for (size_t i = 0; i < m->n;)
    if (!m->slots[i].seen)
      drop(m, &m->slots[i]);
    else
      i++;
  atomic_store(&m->revision, all->revision);
}

int roster_etcd_mirror_new(roster_etcd *c, roster *r,
                           const roster_etcd_mirror_options *o,
                           roster_etcd_mirror **out) {
  if (!out)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_etcd_mirror_new: out is NULL");
  *out = NULL;
  if (!c || !r)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_etcd_mirror_new: a client and a registry "
                            "are needed");
  if (roster_keys_mode(r) != ROSTER_KEYS_DUPLICATE)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_etcd_mirror_new: the registry has unique "
                            "keys; a service name holds one entry per remote "
                            "instance, so the mirror needs a registry made "
                            "with ROSTER_KEYS_DUPLICATE");
  roster_etcd_mirror_options d = {0};
  o = o ? o : &d;
  roster_etcd_mirror *m = roster_mem_calloc(1, sizeof *m);
  if (!m)
    return roster_error_set(ROSTER_ENOMEM, "etcd mirror: out of memory");
  m->c = c;
  m->r = r;
  m->qualify = o->qualify;
  m->ns = roster_mem_strdup(o->ns ? o->ns : "cluster");
  size_t pn = strlen(o->prefix ? o->prefix : "/roster") +
              strlen(o->cluster ? o->cluster : "default") + 3;
  m->prefix = roster_mem_alloc(pn);
  if (!m->ns || !m->prefix) {
    roster_mem_free(m->ns);
    roster_mem_free(m->prefix);
    roster_mem_free(m);
    return roster_error_set(ROSTER_ENOMEM, "etcd mirror: out of memory");
  }
  snprintf(m->prefix, pn, "%s/%s/", o->prefix ? o->prefix : "/roster",
           o->cluster ? o->cluster : "default");
  int rc = roster_etcd_watch_new(c, m->prefix, on_events, on_sync, m, &m->w);
  if (rc) {
    roster_mem_free(m->ns);
    roster_mem_free(m->prefix);
    roster_mem_free(m);
    return rc;
  }
  *out = m;
  return ROSTER_OK;
}

int roster_etcd_mirror_stats_get(roster_etcd_mirror *m,
                                 roster_etcd_mirror_stats *out) {
  if (!m || !out)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_etcd_mirror_stats_get: NULL argument");
  out->instances = atomic_load(&m->instances);
  out->arrivals = atomic_load(&m->arrivals);
  out->departures = atomic_load(&m->departures);
  out->revision = atomic_load(&m->revision);
  roster__etcd_watch_state(m->w, &out->connected, &out->stale_ms);
  return ROSTER_OK;
}

void roster_etcd_mirror_free(roster_etcd_mirror *m) {
  if (!m)
    return;
  roster_etcd_watch_free(m->w);
  while (m->n)
    drop(m, &m->slots[m->n - 1]);
  roster_mem_free(m->slots);
  roster_mem_free(m->ns);
  roster_mem_free(m->prefix);
  roster_mem_free(m);
}
