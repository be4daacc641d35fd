/*
 * watch.c: change callbacks. After a reload has swapped in the new tree,
 * the leaves of the old and the new tree are compared by key, and each
 * watch is called for the changed leaves under its prefix, watch by watch
 * in the order they were added. The reloading thread runs them with
 * load_lock held (so the rounds of two reloads never interleave) and the
 * watch list unlocked (so a callback may watch and unwatch); unwatch waits
 * for a running callback the way roster_signal_unwatch does.
 */
#include "config_impl.h"

#include <stdlib.h>

struct cfg_watch {
  cfg_watch *next;
  uint64_t id;
  char *prefix;
  roster_config_change_fn fn;
  void *arg;
};

static bool loader_is_me(const roster_config *cfg) {
  return atomic_load(&cfg->live->loading) &&
         pthread_equal(atomic_load(&cfg->live->loader), pthread_self());
}

int roster_config_watch(roster_config *cfg, const char *prefix,
                        roster_config_change_fn fn, void *arg, uint64_t *id) {
  if (!cfg || cfg->is_view || !fn || !id)
    return roster__err(ROSTER_EINVAL, "roster_config_watch: %s",
                       !cfg           ? "cfg is NULL"
                       : cfg->is_view ? "a view does not change; watch the "
                                        "config"
                       : !fn          ? "fn is NULL"
                                      : "id is NULL");
  int rc = roster__config_key_check("watch prefix", prefix ? prefix : "", true);
  if (rc)
    return rc;
  cfg_watch *w = roster__calloc(1, sizeof *w);
  if (!w || !(w->prefix = roster_mem_strdup(prefix ? prefix : ""))) {
    roster__free(w);
    return roster__err(ROSTER_ENOMEM, "out of memory");
  }
  w->fn = fn;
  w->arg = arg;
  pthread_mutex_lock(&cfg->live->watch_lock);
  w->id = ++cfg->live->next_watch;
  cfg_watch **pp = &cfg->live->watches;
  while (*pp)
    pp = &(*pp)->next;
  *pp = w;
  *id = w->id;
  pthread_mutex_unlock(&cfg->live->watch_lock);
  return ROSTER_OK;
}

int roster_config_unwatch(roster_config *cfg, uint64_t id) {
  if (!cfg || cfg->is_view)
    return roster__err(ROSTER_EINVAL, "roster_config_unwatch: %s",
                       cfg ? "a view has no watches" : "cfg is NULL");
  bool me = loader_is_me(cfg);
  pthread_mutex_lock(&cfg->live->watch_lock);
  cfg_watch **pp = &cfg->live->watches;
  while (*pp && (*pp)->id != id)
    pp = &(*pp)->next;
  cfg_watch *w = *pp;
  if (!w) {
    pthread_mutex_unlock(&cfg->live->watch_lock);
    return roster__err(ROSTER_ENOENT, "no config watch with id %llu",
                       (unsigned long long)id);
  }
  *pp = w->next;
  while (cfg->live->running_watch == id && !me)
    pthread_cond_wait(&cfg->live->watch_idle, &cfg->live->watch_lock);
  pthread_mutex_unlock(&cfg->live->watch_lock);
  roster__free(w->prefix);
  roster__free(w);
  return ROSTER_OK;
}

void roster__config_watches_free(roster_config *cfg) {
  pthread_mutex_lock(&cfg->live->watch_lock);
  cfg_watch *w = cfg->live->watches;
  cfg->live->watches = NULL;
  pthread_mutex_unlock(&cfg->live->watch_lock);
  while (w) {
    cfg_watch *nx = w->next;
    roster__free(w->prefix);
    roster__free(w);
    w = nx;
  }
}

/* ---- the changes of one reload ---- */

typedef struct leaf {
  char *key;
  const cfg_node *n;
} leaf;

typedef struct leaves {
  leaf *v;
  size_t n, cap;
  bool oom;
} leaves;

static int collect(const char *key, size_t klen, const cfg_node *n, void *arg) {
  leaves *l = arg;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 32;
    leaf *v = roster__realloc(l->v, cap * sizeof *v);
    if (!v) {
      l->oom = true;
      return 1;
    }
    l->v = v;
    l->cap = cap;
  }
  char *k = roster__strndup(key, klen);
  if (!k) {
    l->oom = true;
    return 1;
  }
  l->v[l->n++] = (leaf){k, n};
  return 0;
}

static int by_key(const void *a, const void *b) {
  return strcmp(((const leaf *)a)->key, ((const leaf *)b)->key);
}

static void leaves_free(leaves *l) {
  for (size_t i = 0; i < l->n; i++)
    roster__free(l->v[i].key);
  roster__free(l->v);
}

static bool gather(const cfg_node *root, leaves *l) {
  cfg_buf key = {0};
  if (roster__config_walk(root, &key, collect, l) < 0)
    l->oom = true;
  roster__config_buf_free(&key);
  /* the root of an empty tree is a leaf with key "": not a value */
  if (l->n == 1 && !*l->v[0].key) {
    roster__free(l->v[0].key);
    l->n = 0;
  }
  qsort(l->v, l->n, sizeof *l->v, by_key);
  return !l->oom;
}

typedef struct change {
  const char *key;
  const cfg_node *o, *n;
} change;

static bool under(const char *key, const char *prefix) {
  size_t pl = strlen(prefix);
  return pl == 0 ||
         (!strncmp(key, prefix, pl) && (key[pl] == '\0' || key[pl] == '.'));
}

static bool watch_alive(roster_config *cfg, uint64_t id) {
  bool alive = false;
  pthread_mutex_lock(&cfg->live->watch_lock);
  for (cfg_watch *w = cfg->live->watches; w && !alive; w = w->next)
    alive = w->id == id;
  pthread_mutex_unlock(&cfg->live->watch_lock);
  return alive;
}

static void call(roster_config *view, const change *c,
                 roster_config_change_fn fn, void *arg) {
  cfg_buf ov = {0}, nv = {0};
  char os[512], ns[512];
  roster_config_change ch = {.key = c->key, .config = view};
  if (c->o) {
    roster__config_text(c->o, &ov);
    ch.old_value = roster__config_buf_str(&ov);
    ch.old_source = roster__config_where(c->o, os, sizeof os);
  }
  if (c->n) {
    roster__config_text(c->n, &nv);
    ch.new_value = roster__config_buf_str(&nv);
    ch.new_source = roster__config_where(c->n, ns, sizeof ns);
  }
  if (!ov.oom && !nv.oom)
    fn(&ch, arg);
  roster__config_buf_free(&ov);
  roster__config_buf_free(&nv);
}

void roster__config_notify(roster_config *cfg, cfg_snap *old, cfg_snap *nw) {
  pthread_mutex_lock(&cfg->live->watch_lock);
  bool any = cfg->live->watches != NULL;
  pthread_mutex_unlock(&cfg->live->watch_lock);
  if (!any)
    return;
  leaves lo = {0}, ln = {0};
  change *ch = NULL;
  size_t nch = 0;
  roster_config *view = NULL;
  if (!gather(old->root, &lo) || !gather(nw->root, &ln))
    goto out;
  ch = roster__malloc((lo.n + ln.n + 1) * sizeof *ch);
  view = roster__config_view_new(nw, nw->root, "");
  if (!ch || !view)
    goto out;
  for (size_t i = 0, j = 0; i < lo.n || j < ln.n;) {
    int c = i == lo.n ? 1 : j == ln.n ? -1 : strcmp(lo.v[i].key, ln.v[j].key);
    if (c < 0) {
      ch[nch++] = (change){lo.v[i].key, lo.v[i].n, NULL};
      i++;
    } else if (c > 0) {
      ch[nch++] = (change){ln.v[j].key, NULL, ln.v[j].n};
      j++;
    } else {
      if (!roster__config_equal(lo.v[i].n, ln.v[j].n))
        ch[nch++] = (change){ln.v[j].key, lo.v[i].n, ln.v[j].n};
      i++;
      j++;
    }
  }
  uint64_t last = 0;
  char prefix[ROSTER_CONFIG_KEY_MAX + 1];
  pthread_mutex_lock(&cfg->live->watch_lock);
  for (;;) {
    cfg_watch *w = cfg->live->watches;
    while (w && w->id <= last)
      w = w->next;
    if (!w)
      break;
    last = w->id;
    snprintf(prefix, sizeof prefix, "%s", w->prefix);
    roster_config_change_fn fn = w->fn;
    void *arg = w->arg;
    cfg->live->running_watch = w->id;
    pthread_mutex_unlock(&cfg->live->watch_lock);
    for (size_t k = 0; k < nch; k++) {
      if (!under(ch[k].key, prefix))
        continue;
      /* a callback that unwatched itself is not called again */
      if (!watch_alive(cfg, last))
        break;
      call(view, &ch[k], fn, arg);
    }
    pthread_mutex_lock(&cfg->live->watch_lock);
    cfg->live->running_watch = 0;
    pthread_cond_broadcast(&cfg->live->watch_idle);
  }
  pthread_mutex_unlock(&cfg->live->watch_lock);
out:
  roster_config_release(view);
  roster__free(ch);
  leaves_free(&lo);
  leaves_free(&ln);
}
