/*
 * get.c: the typed getters, has, source and foreach. Each call pins the
 * tree for its own length (a read section on a config, nothing on a view),
 * converts, and copies out what it returns, so nothing it hands back points
 * into a tree that a reload may free.
 */
#include "config_impl.h"

#include <ctype.h>

/* full_key writes the key as the user knows it: the view's prefix, key. */
static const char *full_key(const cfg_pin *p, const char *key, char *buf,
                            size_t cap) {
  return roster__config_key_join(buf, cap, p->prefix, key);
}

/* find validates key, pins cfg and finds key's value (NULL when missing or
 * null). On success the caller must roster__config_pin_drop. */
static int find(const roster_config *cfg, const char *key, const void *out,
                cfg_pin *p, const cfg_node **n) {
  *n = NULL;
  if (!key || !out)
    return !key ? roster__config_key_check("key", key, false)
                : roster__err(ROSTER_EINVAL,
                              "config getter for '%.200s': "
                              "out is NULL",
                              key);
  int rc = roster__config_pin_take(cfg, p);
  if (rc)
    return rc;
  const cfg_node *v;
  if (roster__config_find_key(p->root, key, &v) < 0) {
    roster__config_pin_drop(p);
    return roster__config_key_check("key", key, false);
  }
  *n = v && v->kind != CFG_NULL ? v : NULL;
  return ROSTER_OK;
}

/* wrong sets the detail for a value that does not convert. */
static int wrong(const cfg_pin *p, const char *key, const cfg_node *n, int code,
                 roster_config_kind want, const char *why) {
  char full[ROSTER_CONFIG_KEY_MAX * 2 + 2], what[160], where[512];
  full_key(p, key, full, sizeof full);
  bool secret = roster__config_path_secret(p->prefix, key, strlen(key));
  roster__config_describe(n, secret, what, sizeof what);
  roster__config_where(n, where, sizeof where);
  if (code == ROSTER_ERANGE)
    return roster__err(code,
                       "config key '%s' is %s from %s, which does not "
                       "fit %s",
                       full, what, where, roster__config_type_want(want));
  return roster__err(code, "config key '%s' is %s from %s; want %s%s%s", full,
                     what, where, roster__config_type_want(want),
                     why ? ": " : "", why ? why : "");
}

int roster_config_string(const roster_config *cfg, const char *key,
                         const char *def, char **out) {
  cfg_pin p;
  const cfg_node *n;
  int rc = find(cfg, key, out, &p, &n);
  if (rc) {
    if (out)
      *out = NULL;
    return rc;
  }
  if (!n) {
    *out = NULL;
    if (def && !(*out = roster_mem_strdup(def)))
      rc = roster__err(ROSTER_ENOMEM, "out of memory");
  } else if (roster__config_is_string(n)) {
    if (!(*out = roster__strndup(n->u.s.p, n->u.s.len)))
      rc = roster__err(ROSTER_ENOMEM, "out of memory");
  } else {
    rc = wrong(&p, key, n, ROSTER_ETYPE, ROSTER_CONFIG_STRING,
               n->kind == CFG_OBJ || n->kind == CFG_ARR
                   ? NULL
                   : "quote it to make it a string");
    *out = def ? roster_mem_strdup(def) : NULL;
  }
  roster__config_pin_drop(&p);
  return rc;
}

int roster_config_int(const roster_config *cfg, const char *key, int64_t def,
                      int64_t *out) {
  cfg_pin p;
  const cfg_node *n;
  int rc = find(cfg, key, out, &p, &n);
  if (out)
    *out = def;
  if (rc)
    return rc;
  if (n) {
    int64_t v;
    int c = roster__config_to_int(n, &v);
    if (c == ROSTER_OK)
      *out = v;
    else
      rc = wrong(&p, key, n, c, ROSTER_CONFIG_INT, NULL);
  }
  roster__config_pin_drop(&p);
  return rc;
}

int roster_config_double(const roster_config *cfg, const char *key, double def,
                         double *out) {
  cfg_pin p;
  const cfg_node *n;
  int rc = find(cfg, key, out, &p, &n);
  if (out)
    *out = def;
  if (rc)
    return rc;
  if (n) {
    double v;
    int c = roster__config_to_double(n, &v);
    if (c == ROSTER_OK)
      *out = v;
    else
      rc = wrong(&p, key, n, c, ROSTER_CONFIG_DOUBLE, NULL);
  }
  roster__config_pin_drop(&p);
  return rc;
}

int roster_config_bool(const roster_config *cfg, const char *key, bool def,
                       bool *out) {
  cfg_pin p;
  const cfg_node *n;
  int rc = find(cfg, key, out, &p, &n);
  if (out)
    *out = def;
  if (rc)
    return rc;
  if (n) {
    bool v;
    int c = roster__config_to_bool(n, &v);
    if (c == ROSTER_OK)
      *out = v;
    else
      rc = wrong(&p, key, n, c, ROSTER_CONFIG_BOOL,
                 n->kind == CFG_STR ? "true or false, unquoted" : NULL);
  }
  roster__config_pin_drop(&p);
  return rc;
}

int roster_config_duration(const roster_config *cfg, const char *key,
                           int64_t def_ms, int64_t *out_ms) {
  cfg_pin p;
  const cfg_node *n;
  int rc = find(cfg, key, out_ms, &p, &n);
  if (out_ms)
    *out_ms = def_ms;
  if (rc)
    return rc;
  if (n) {
    int64_t v;
    const char *why;
    int c = roster__config_to_duration(n, &v, &why);
    if (c == ROSTER_OK)
      *out_ms = v;
    else
      rc = wrong(&p, key, n, c, ROSTER_CONFIG_DURATION, why);
  }
  roster__config_pin_drop(&p);
  return rc;
}

int roster_config_size(const roster_config *cfg, const char *key, int64_t def,
                       int64_t *out) {
  cfg_pin p;
  const cfg_node *n;
  int rc = find(cfg, key, out, &p, &n);
  if (out)
    *out = def;
  if (rc)
    return rc;
  if (n) {
    int64_t v;
    const char *why;
    int c = roster__config_to_size(n, &v, &why);
    if (c == ROSTER_OK)
      *out = v;
    else
      rc = wrong(&p, key, n, c, ROSTER_CONFIG_SIZE, why);
  }
  roster__config_pin_drop(&p);
  return rc;
}

void roster_config_list_free(char **list) {
  for (size_t i = 0; list && list[i]; i++)
    roster__free(list[i]);
  roster__free(list);
}

/* list_items copies a list value's items into a NULL-terminated array. */
static char **list_items(const cfg_node *n, long count) {
  char **v = roster__calloc((size_t)count + 1, sizeof *v);
  if (!v)
    return NULL;
  if (n->kind == CFG_ARR) {
    for (long i = 0; i < count; i++) {
      cfg_buf t = {0};
      roster__config_text(n->u.arr.v[i], &t);
      v[i] = t.oom ? NULL : roster__strndup(roster__config_buf_str(&t), t.n);
      roster__config_buf_free(&t);
      if (!v[i]) {
        roster_config_list_free(v);
        return NULL;
      }
    }
    return v;
  }
  const char *s = n->u.s.p, *end = s + n->u.s.len;
  for (long i = 0; i < count; i++) {
    const char *c = memchr(s, ',', (size_t)(end - s));
    const char *e = c ? c : end;
    const char *a = s;
    while (a < e && isspace((unsigned char)*a))
      a++;
    const char *b = e;
    while (b > a && isspace((unsigned char)b[-1]))
      b--;
    if (!(v[i] = roster__strndup(a, (size_t)(b - a)))) {
      roster_config_list_free(v);
      return NULL;
    }
    s = c ? c + 1 : end;
  }
  return v;
}

int roster_config_list(const roster_config *cfg, const char *key, char ***out,
                       size_t *count) {
  if (out)
    *out = NULL;
  if (count)
    *count = 0;
  if (!count)
    return roster__err(ROSTER_EINVAL, "roster_config_list: count is NULL");
  cfg_pin p;
  const cfg_node *n;
  int rc = find(cfg, key, out, &p, &n);
  if (rc)
    return rc;
  long c = n ? roster__config_list_count(n) : 0;
  if (c < 0) {
    rc = wrong(&p, key, n, ROSTER_ETYPE, ROSTER_CONFIG_LIST,
               n->kind == CFG_ARR   ? "its items must be scalars"
               : n->kind == CFG_STR ? "comma-separated text is a list only "
                                      "from the environment or an override"
                                    : NULL);
  } else if (!n) {
    *out = roster__calloc(1, sizeof **out);
  } else {
    *out = list_items(n, c);
    *count = *out ? (size_t)c : 0;
  }
  if (rc == ROSTER_OK && !*out)
    rc = roster__err(ROSTER_ENOMEM, "out of memory");
  roster__config_pin_drop(&p);
  return rc;
}

bool roster_config_has(const roster_config *cfg, const char *key) {
  if (!cfg || !key)
    return false;
  const cfg_node *n;
  if (cfg->is_view)
    return roster__config_find_key(cfg->root, key, &n) == 0 && n &&
           n->kind != CFG_NULL;
  roster__thread_ensure();
  roster__rlock();
  cfg_snap *s = atomic_load_explicit(&cfg->cur, memory_order_acquire);
  ROSTER__TSAN_ACQUIRE(s);
  bool has = s && roster__config_find_key(s->root, key, &n) == 0 && n &&
             n->kind != CFG_NULL;
  roster__runlock();
  return has;
}

int roster_config_source(const roster_config *cfg, const char *key, char *buf,
                         size_t cap) {
  if (!buf || !cap)
    return roster__err(ROSTER_EINVAL, "roster_config_source: buf is %s",
                       buf ? "empty" : "NULL");
  buf[0] = '\0';
  cfg_pin p;
  int rc = roster__config_key_check("key", key, false);
  if (rc)
    return rc;
  if ((rc = roster__config_pin_take(cfg, &p)))
    return rc;
  const cfg_node *n = roster__config_lookup(p.root, key);
  if (n) {
    roster__config_where(n, buf, cap);
  } else {
    char full[ROSTER_CONFIG_KEY_MAX * 2 + 2];
    rc = roster__err(ROSTER_ENOENT, "config key '%s' is not set",
                     full_key(&p, key, full, sizeof full));
  }
  roster__config_pin_drop(&p);
  return rc;
}

/* ---- foreach ---- */

typedef struct visit {
  roster_config_visit_fn fn;
  void *arg;
  const char *prefix; /* the view's prefix */
  bool oom;
} visit;

static roster_config_kind type_of(const cfg_node *n) {
  switch (n->kind) {
  case CFG_NULL:
    return ROSTER_CONFIG_NULL;
  case CFG_BOOL:
    return ROSTER_CONFIG_BOOL;
  case CFG_INT:
    return ROSTER_CONFIG_INT;
  case CFG_REAL:
    return ROSTER_CONFIG_DOUBLE;
  case CFG_OBJ:
    return ROSTER_CONFIG_OBJECT;
  case CFG_ARR:
    return ROSTER_CONFIG_LIST;
  default:
    return ROSTER_CONFIG_STRING;
  }
}

static int visit_leaf(const char *key, size_t klen, const cfg_node *n,
                      void *arg) {
  visit *v = arg;
  cfg_buf val = {0};
  roster__config_text(n, &val);
  char where[512];
  if (val.oom) {
    v->oom = true;
    return -1;
  }
  roster_config_item it = {
      .key = key,
      .type = type_of(n),
      .value = roster__config_buf_str(&val),
      .source = roster__config_where(n, where, sizeof where),
      .secret = roster__config_path_secret(v->prefix, key, klen),
  };
  int rc = v->fn(&it, v->arg);
  roster__config_buf_free(&val);
  return rc ? 1 : 0;
}

int roster_config_foreach(const roster_config *cfg, const char *prefix,
                          roster_config_visit_fn fn, void *arg) {
  if (!fn)
    return roster__err(ROSTER_EINVAL, "roster_config_foreach: fn is NULL");
  const char *pre = prefix ? prefix : "";
  int rc = roster__config_key_check("prefix", pre, true);
  if (rc)
    return rc;
  cfg_pin p;
  if ((rc = roster__config_pin_take(cfg, &p)))
    return rc;
  const cfg_node *n = roster__config_lookup(p.root, pre);
  cfg_snap *held = NULL;
  if (n) {
    /* hold the tree by reference, so fn runs outside the read section */
    held = p.snap;
    roster__config_snap_get(held);
  }
  char full[ROSTER_CONFIG_KEY_MAX * 2 + 2];
  full_key(&p, pre, full, sizeof full);
  const char *vprefix = p.prefix;
  roster__config_pin_drop(&p);
  if (!n)
    return roster__err(ROSTER_ENOENT, "config key '%s' is not set", full);
  /* keys are given relative to cfg: the walk starts with prefix itself */
  visit v = {fn, arg, vprefix, false};
  cfg_buf key = {0};
  roster__config_buf_adds(&key, pre);
  bool empty_root = !*pre && (n->kind == CFG_OBJ   ? n->u.obj.n == 0
                              : n->kind == CFG_ARR ? n->u.arr.n == 0
                                                   : false);
  int w = empty_root ? 0 : roster__config_walk(n, &key, visit_leaf, &v);
  roster__config_buf_free(&key);
  roster__config_snap_put(held);
  if (w < 0 || v.oom)
    return roster__err(ROSTER_ENOMEM, "out of memory");
  return ROSTER_OK;
}

/* ---- dump ---- */

int roster_config_dump(const roster_config *cfg, unsigned flags, char **out) {
  if (out)
    *out = NULL;
  if (!out)
    return roster__err(ROSTER_EINVAL, "roster_config_dump: out is NULL");
  cfg_pin p;
  int rc = roster__config_pin_take(cfg, &p);
  if (rc)
    return rc;
  rc = roster__config_dump(p.root, p.prefix, flags, out);
  roster__config_pin_drop(&p);
  return rc;
}
