/*
 * registry_query.c: walking the registry: foreach, select, list, count,
 * dispatch over a key, lookups by type with per-namespace defaults, and the
 * "not found" sentence that names what a namespace does hold.
 */
#include "roster_impl.h"

#include <stdio.h>
#include <stdlib.h>

/* ---- query matching ------------------------------------------------- */

typedef struct qstate {
  const char *ns;
  size_t ns_len;
  bool ns_default; /* ns NULL: default namespace only */
  bool ns_any;     /* ns "*" */
  const char *pat;
  size_t pat_len;
  bool pat_any;
  const roster_type *type;
  roster_owner *owner;
} qstate;

static int qstate_init(const roster_query *q, qstate *s) {
  roster_query dq = {0};
  if (!q)
    q = &dq;
  *s = (qstate){.type = q->type, .owner = q->owner};
  if (!q->ns) {
    s->ns_default = true;
  } else {
    int rc = roster__check_name("namespace pattern", q->ns, &s->ns_len, false);
    if (rc)
      return rc;
    s->ns = q->ns;
    s->ns_any = s->ns_len == 1 && q->ns[0] == '*';
  }
  if (!q->pattern) {
    s->pat_any = true;
  } else {
    int rc = roster__check_name("pattern", q->pattern, &s->pat_len, false);
    if (rc)
      return rc;
    s->pat = q->pattern;
    s->pat_any = s->pat_len == 1 && q->pattern[0] == '*';
  }
  return ROSTER_OK;
}

static bool qmatch(roster *r, const qstate *s, const roster__entry *e) {
  if (s->type && e->type != s->type)
    return false;
  if (s->owner && roster__owner_of(e) != s->owner)
    return false;
  if (s->ns_default) {
    if (e->ns != r->default_ns)
      return false;
  } else if (!s->ns_any && !roster__glob(s->ns, s->ns_len, e->ns->name,
                                         e->ns->len, ROSTER__GLOB_NAMES)) {
    return false;
  }
  return s->pat_any || roster__glob(s->pat, s->pat_len, e->name, e->name_len,
                                    ROSTER__GLOB_NAMES);
}

int roster_foreach(roster *r, const roster_query *q, roster_visit_fn fn,
                   void *arg, size_t *visited) {
  if (visited)
    *visited = 0;
  if (!r || !fn)
    return roster__err(ROSTER_EINVAL, "%s is NULL", r ? "fn" : "registry");
  roster__thread_ensure();
  qstate s;
  int rc = qstate_init(q, &s);
  if (rc)
    return rc;
  size_t n = 0;
  roster__iter it;
  roster_info info;
  roster__rlock();
  for (roster__entry *e = roster__iter_first(r, &it); e;
       e = roster__iter_next(r, &it)) {
    if (!qmatch(r, &s, e))
      continue;
    roster__fill_info(e, &info);
    n++;
    if (fn(&info, arg))
      break;
  }
  roster__runlock();
  if (visited)
    *visited = n;
  return ROSTER_OK;
}

size_t roster_count_match(roster *r, const roster_query *q) {
  if (!r)
    return 0;
  roster__thread_ensure();
  qstate s;
  if (qstate_init(q, &s))
    return 0;
  size_t n = 0;
  roster__iter it;
  roster__rlock();
  for (roster__entry *e = roster__iter_first(r, &it); e;
       e = roster__iter_next(r, &it))
    n += qmatch(r, &s, e);
  roster__runlock();
  return n;
}

/* ---- snapshots ------------------------------------------------------ */

/* Each item's strings and metadata live in one block that starts at
 * item.ns; roster_list_free frees those blocks. */
static bool snap_item(const roster__entry *e, roster_info *out) {
  roster_info info;
  roster__fill_info(e, &info);
  size_t nsl = e->ns->len, nl = e->name_len;
  char *blk = roster__malloc(nsl + 1 + nl + 1 + info.meta_len);
  if (!blk)
    return false;
  memcpy(blk, e->ns->name, nsl + 1);
  memcpy(blk + nsl + 1, e->name, nl + 1);
  if (info.meta_len)
    memcpy(blk + nsl + nl + 2, info.meta, info.meta_len);
  *out = info;
  out->ns = blk;
  out->name = blk + nsl + 1;
  out->meta = info.meta_len ? blk + nsl + nl + 2 : NULL;
  return true;
}

static int cmp_info(const void *a, const void *b) {
  const roster_info *x = a, *y = b;
  int c = strcmp(x->ns, y->ns);
  return c ? c : strcmp(x->name, y->name);
}

int roster_select(roster *r, const roster_query *q, roster_list *out) {
  if (out)
    *out = (roster_list){0};
  if (!r || !out)
    return roster__err(ROSTER_EINVAL, "%s is NULL", r ? "out" : "registry");
  roster__thread_ensure();
  qstate s;
  int rc = qstate_init(q, &s);
  if (rc)
    return rc;
  size_t cap = 16, n = 0;
  roster_info *items = roster__malloc(cap * sizeof *items);
  bool oom = !items;
  roster__iter it;
  roster__rlock();
  for (roster__entry *e = oom ? NULL : roster__iter_first(r, &it); e;
       e = roster__iter_next(r, &it)) {
    if (!qmatch(r, &s, e))
      continue;
    if (n == cap) {
      roster_info *ni = roster__realloc(items, 2 * cap * sizeof *items);
      if (!ni) {
        oom = true;
        break;
      }
      items = ni;
      cap *= 2;
    }
    if (!snap_item(e, &items[n])) {
      oom = true;
      break;
    }
    n++;
  }
  roster__runlock();
  roster_list l = {n, items};
  if (oom) {
    roster_list_free(&l);
    return roster__err(ROSTER_ENOMEM, "out of memory making a snapshot");
  }
  qsort(items, n, sizeof *items, cmp_info);
  *out = l;
  return ROSTER_OK;
}

int roster_list_entries(roster *r, const char *ns, roster_list *out) {
  if (out)
    *out = (roster_list){0};
  size_t len;
  if (ns && roster__check_name("namespace", ns, &len, false))
    return ROSTER_EINVAL;
  /* An exact namespace: escape glob characters so it matches only itself. */
  char esc[2 * ROSTER_NAME_MAX + 1];
  roster_query q = {0};
  if (ns) {
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
      char c = ns[i];
      if (c == '*' || c == '?' || c == '[' || c == '\\')
        esc[o++] = '\\';
      esc[o++] = c;
    }
    esc[o] = '\0';
    if (o > ROSTER_NAME_MAX) {
      /* Too long to be a pattern: select everything, filter exactly. */
      roster_list all;
      roster_query qa = {.ns = "*"};
      int rc = roster_select(r, &qa, &all);
      if (rc)
        return rc;
      size_t k = 0;
      for (size_t i = 0; i < all.count; i++) {
        if (strcmp(all.items[i].ns, ns) == 0)
          all.items[k++] = all.items[i];
        else
          roster__free((void *)all.items[i].ns);
      }
      all.count = k;
      *out = all;
      return ROSTER_OK;
    }
    q.ns = esc;
  }
  return roster_select(r, &q, out);
}

void roster_list_free(roster_list *list) {
  if (!list)
    return;
  for (size_t i = 0; i < list->count; i++)
    roster__free((void *)list->items[i].ns);
  roster__free(list->items);
  list->items = NULL;
  list->count = 0;
}

/* ---- dispatch ------------------------------------------------------- */

int roster_dispatch(roster *r, const char *ns, const char *name,
                    roster_visit_fn fn, void *arg, size_t *called) {
  if (called)
    *called = 0;
  if (!r || !fn)
    return roster__err(ROSTER_EINVAL, "%s is NULL", r ? "fn" : "registry");
  roster__thread_ensure();
  roster__key k;
  int rc = roster__key_init(r, &k, ns, name);
  if (rc)
    return rc;
  size_t n = 0;
  roster_info info;
  roster__iter it;
  roster__rlock();
  for (roster__entry *e = roster__find_first(r, &k, &it); e;
       e = roster__find_next(r, &k, &it)) {
    /* duplicate keys: 2.5-2.7 against 2.9-3.3 ns a member when members
     * are scattered in memory, about even when they are packed */
    roster__member_prefetch(&it, 8);
    roster__fill_info(e, &info);
    (void)fn(&info, arg);
    n++;
  }
  roster__runlock();
  if (called)
    *called = n;
  return ROSTER_OK;
}

/* ---- by type and defaults ------------------------------------------- */

int roster_set_default(roster *r, const char *ns, const char *name) {
  roster__key k;
  int rc = roster__key_enter(r, &k, ns, name);
  if (rc)
    return rc;
  roster__iter it;
  roster__rlock();
  roster__entry *e = roster__find_first(r, &k, &it);
  const roster_type *type = e ? e->type : NULL;
  roster_ns *nso = e ? e->ns : NULL;
  roster__runlock();
  if (!e)
    return roster__err_notfound(r, k.ns, k.ns_len, name, k.name_len);
  char *copy = roster__strndup(name, k.name_len);
  if (!copy)
    return roster__err(ROSTER_ENOMEM, "out of memory");
  pthread_mutex_lock(&nso->lock);
  struct roster_default *d = nso->defaults;
  while (d && d->type != type)
    d = d->next;
  if (!d) {
    d = roster__calloc(1, sizeof *d);
    if (!d) {
      pthread_mutex_unlock(&nso->lock);
      roster__free(copy);
      return roster__err(ROSTER_ENOMEM, "out of memory");
    }
    d->type = type;
    d->next = nso->defaults;
    nso->defaults = d;
  }
  roster__free(d->name);
  d->name = copy;
  pthread_mutex_unlock(&nso->lock);
  return ROSTER_OK;
}

int roster_get_by_type(roster *r, const char *ns, const roster_type *type,
                       void **out) {
  if (out)
    *out = NULL;
  if (!r || !type || !out)
    return roster__err(ROSTER_EINVAL, "%s is NULL",
                       !r      ? "registry"
                       : !type ? "type"
                               : "out");
  roster__thread_ensure();
  size_t len = 0;
  if (ns && roster__check_name("namespace", ns, &len, false))
    return ROSTER_EINVAL;
  roster_ns *nso = ns ? roster__ns_get(r, ns, len, false) : r->default_ns;
  const char *nsname = ns ? ns : ROSTER_DEFAULT_NS;
  const char *tname = type->name ? type->name : "(unnamed type)";
  if (!nso)
    return roster__err(ROSTER_ENOENT, "no '%s' in namespace '%s'", tname,
                       nsname);

  /* The default, if one is set and its name is registered with this type. */
  char dname[ROSTER_NAME_MAX + 1];
  dname[0] = '\0';
  pthread_mutex_lock(&nso->lock);
  for (struct roster_default *d = nso->defaults; d; d = d->next)
    if (d->type == type) {
      snprintf(dname, sizeof dname, "%s", d->name);
      break;
    }
  pthread_mutex_unlock(&nso->lock);
  if (dname[0]) {
    void *p;
    if (roster_get(r, nso->name, dname, type, &p) == ROSTER_OK) {
      *out = p;
      return ROSTER_OK;
    }
  }

  /* Otherwise the only entry of that type. */
  size_t n = 0;
  void *found = NULL;
  char names[256];
  size_t o = 0;
  names[0] = '\0';
  roster__iter it;
  roster__rlock();
  for (roster__entry *e = roster__iter_first(r, &it); e;
       e = roster__iter_next(r, &it)) {
    if (e->ns != nso || e->type != type)
      continue;
    if (n++ == 0)
      found = e->instance;
    if (o < sizeof names - 1)
      o += (size_t)snprintf(names + o, sizeof names - o, "%s'%s'",
                            n > 1 ? ", " : "", e->name);
  }
  roster__runlock();
  if (o >= sizeof names)
    memcpy(names + sizeof names - 4, "...", 4);
  if (n == 1) {
    *out = found;
    return ROSTER_OK;
  }
  if (n == 0)
    return roster__err(ROSTER_ENOENT, "no '%s' in namespace '%s'", tname,
                       nsname);
  return roster__err(ROSTER_EAMBIGUOUS,
                     "%zu entries of type '%s' in namespace '%s' (%s) and no "
                     "default; call roster_set_default",
                     n, tname, nsname, names);
}

/* ---- the not-found sentence ----------------------------------------- */

/* Optimal-string-alignment distance (Levenshtein plus adjacent
 * transpositions, so "mian" is one edit from "main"), with an early exit
 * past limit; names up to 64 bytes. */
static size_t edit_distance(const char *a, size_t al, const char *b, size_t bl,
                            size_t limit) {
  size_t rows[3][65];
  if (al > 64 || bl > 64)
    return SIZE_MAX;
  size_t *pp = rows[0], *prev = rows[1], *cur = rows[2];
  for (size_t j = 0; j <= bl; j++)
    prev[j] = j;
  for (size_t i = 1; i <= al; i++) {
    cur[0] = i;
    size_t best = cur[0];
    for (size_t j = 1; j <= bl; j++) {
      size_t c = prev[j - 1] + (a[i - 1] != b[j - 1]);
      if (prev[j] + 1 < c)
        c = prev[j] + 1;
      if (cur[j - 1] + 1 < c)
        c = cur[j - 1] + 1;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
          pp[j - 2] + 1 < c)
        c = pp[j - 2] + 1;
      cur[j] = c;
      if (c < best)
        best = c;
    }
    if (best > limit)
      return SIZE_MAX;
    size_t *t = pp;
    pp = prev;
    prev = cur;
    cur = t;
  }
  return prev[bl];
}

#define SHOW_NAMES 5

void roster__describe_missing(roster *r, const char *ns, const char *name,
                              char *buf, size_t cap) {
  size_t nl = strlen(name), nsl = strlen(ns);
  size_t limit = nl / 3 > 1 ? nl / 3 : 1;
  const char *shown[SHOW_NAMES];
  size_t nshown = 0, total = 0, best = SIZE_MAX, scanned = 0;
  char suggestion[ROSTER_NAME_MAX + 1] = "";
  char names[SHOW_NAMES * 100] = "";
  roster__iter it;

  roster__thread_ensure();
  roster__rlock();
  for (roster__entry *e = roster__iter_first(r, &it); e;
       e = roster__iter_next(r, &it)) {
    if (e->ns->len != nsl || memcmp(e->ns->name, ns, nsl) != 0)
      continue;
    total++;
    /* keep the SHOW_NAMES smallest names, sorted */
    size_t pos = nshown;
    while (pos > 0 && strcmp(e->name, shown[pos - 1]) < 0)
      pos--;
    if (pos < SHOW_NAMES) {
      size_t last = nshown < SHOW_NAMES ? nshown : SHOW_NAMES - 1;
      for (size_t i = last; i > pos; i--)
        shown[i] = shown[i - 1];
      shown[pos] = e->name;
      if (nshown < SHOW_NAMES)
        nshown++;
    }
    if (scanned++ < 100000 && e->name_len + limit >= nl &&
        e->name_len <= nl + limit) {
      size_t d = edit_distance(name, nl, e->name, e->name_len, limit);
      if (d <= limit && d < best) {
        best = d;
        snprintf(suggestion, sizeof suggestion, "%s", e->name);
      }
    }
  }
  size_t o = 0;
  char q[96];
  for (size_t i = 0; i < nshown; i++)
    o += (size_t)snprintf(
        names + o, sizeof names - o, "%s%s", i ? ", " : "",
        roster__quote(q, sizeof q, shown[i], strlen(shown[i])));
  roster__runlock();

  char qn[96], qs[96], qg[96];
  roster__quote(qn, sizeof qn, name, nl);
  roster__quote(qs, sizeof qs, ns, nsl);
  int w =
      snprintf(buf, cap, "service '%s' not found in namespace '%s'", qn, qs);
  if (w < 0 || (size_t)w >= cap)
    return;
  size_t used = (size_t)w;
  if (suggestion[0])
    used += (size_t)snprintf(
        buf + used, cap - used, " (did you mean '%s'?)",
        roster__quote(qg, sizeof qg, suggestion, strlen(suggestion)));
  if (used >= cap)
    return;
  if (total == 0)
    snprintf(buf + used, cap - used, "; the namespace is empty");
  else if (total > nshown)
    snprintf(buf + used, cap - used, "; registered: %s and %zu more", names,
             total - nshown);
  else
    snprintf(buf + used, cap - used, "; registered: %s", names);
}

/* ---- read sections (the public face of base/rcu.c) ---- */

void roster_read_lock(void) {
  roster__thread_ensure();
  roster__rlock();
}

void roster_read_unlock(void) { roster__runlock(); }

void roster_reclaim_wait(void) {
  roster__thread_ensure();
  roster__barrier();
}
