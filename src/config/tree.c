/*
 * tree.c: the config tree. An arena per tree, nodes with provenance and a
 * hash index on large objects, dotted key lookup, deep merge and copy,
 * keys, and leaf walks. Everything here is single-threaded: a tree is built
 * by one load and immutable once published. Text forms are in text.c.
 */
#include "config_impl.h"

#include <stdlib.h>

/* header-only, as in the registry: nothing extra to link */
#define XXH_INLINE_ALL
#include <xxhash.h>

/* ---- arena ---- */

struct cfg_chunk {
  cfg_chunk *next;
  size_t cap, used;
  max_align_t data[];
};

#define CHUNK_MIN 8192

void *roster__config_alloc(cfg_arena *a, size_t n) {
  const size_t al = _Alignof(max_align_t);
  n = (n + al - 1) & ~(al - 1);
  if (n == 0)
    n = al;
  cfg_chunk *c = a->head;
  if (!c || c->cap - c->used < n) {
    size_t cap = n > CHUNK_MIN ? n : CHUNK_MIN;
    if (c && cap < c->cap * 2 && c->cap < (1u << 20))
      cap = c->cap * 2;
    c = roster__malloc(sizeof *c + cap);
    if (!c) {
      a->oom = true;
      return NULL;
    }
    c->cap = cap;
    c->used = 0;
    c->next = a->head;
    a->head = c;
    a->total += sizeof *c + cap;
  }
  void *p = (char *)c->data + c->used;
  c->used += n;
  return p;
}

char *roster__config_strndup(cfg_arena *a, const char *s, size_t n) {
  char *d = roster__config_alloc(a, n + 1);
  if (d) {
    if (n)
      memcpy(d, s, n);
    d[n] = '\0';
  }
  return d;
}

void roster__config_arena_free(cfg_arena *a) {
  cfg_chunk *c = a->head;
  while (c) {
    cfg_chunk *nx = c->next;
    roster__free(c);
    c = nx;
  }
  a->head = NULL;
  a->total = 0;
}

/* ---- nodes ---- */

cfg_src *roster__config_src_new(cfg_arena *a, cfg_src_kind kind,
                                const char *name) {
  cfg_src *s = roster__config_alloc(a, sizeof *s);
  if (!s)
    return NULL;
  s->kind = kind;
  s->name = name ? roster__config_strndup(a, name, strlen(name)) : NULL;
  if (name && !s->name)
    return NULL;
  return s;
}

cfg_node *roster__config_node_new(cfg_arena *a, cfg_kind kind,
                                  const cfg_src *src, uint32_t line,
                                  uint32_t col) {
  cfg_node *n = roster__config_alloc(a, sizeof *n);
  if (!n)
    return NULL;
  memset(n, 0, sizeof *n);
  n->kind = (uint8_t)kind;
  n->src = src;
  n->line = line;
  n->col = col;
  return n;
}

cfg_node *roster__config_str_new(cfg_arena *a, cfg_kind kind, const char *s,
                                 size_t len, const cfg_src *src, uint32_t line,
                                 uint32_t col) {
  cfg_node *n = roster__config_node_new(a, kind, src, line, col);
  if (!n)
    return NULL;
  n->u.s.p = roster__config_strndup(a, s, len);
  n->u.s.len = len;
  return n->u.s.p ? n : NULL;
}

/* Objects past IDX_MIN members get a hash index (linear probing), so
 * building and reading a large mapping stays linear. */
#define IDX_MIN 8

static size_t key_hash(const char *key, size_t klen) {
  return (size_t)XXH3_64bits(key, klen);
}

static bool idx_build(cfg_arena *a, cfg_node *obj, size_t icap) {
  uint32_t *idx = roster__config_alloc(a, icap * sizeof *idx);
  if (!idx)
    return false;
  memset(idx, 0, icap * sizeof *idx);
  for (size_t i = 0; i < obj->u.obj.n; i++) {
    size_t h = key_hash(obj->u.obj.v[i].key, obj->u.obj.v[i].klen);
    while (idx[h & (icap - 1)])
      h++;
    idx[h & (icap - 1)] = (uint32_t)(i + 1);
  }
  obj->u.obj.idx = idx;
  obj->u.obj.icap = icap;
  return true;
}

bool roster__config_obj_add(cfg_arena *a, cfg_node *obj, const char *key,
                            size_t klen, cfg_node *val) {
  if (obj->u.obj.n == obj->u.obj.cap) {
    size_t cap = obj->u.obj.cap ? obj->u.obj.cap * 2 : 4;
    cfg_member *v = roster__config_alloc(a, cap * sizeof *v);
    if (!v)
      return false;
    if (obj->u.obj.n)
      memcpy(v, obj->u.obj.v, obj->u.obj.n * sizeof *v);
    obj->u.obj.v = v;
    obj->u.obj.cap = cap;
  }
  char *k = roster__config_strndup(a, key, klen);
  if (!k)
    return false;
  size_t i = obj->u.obj.n++;
  obj->u.obj.v[i] = (cfg_member){k, klen, val};
  if (obj->u.obj.n <= IDX_MIN)
    return true;
  if (!obj->u.obj.idx || obj->u.obj.n * 2 > obj->u.obj.icap) {
    size_t icap = 32;
    while (icap < obj->u.obj.n * 4)
      icap *= 2;
    return idx_build(a, obj, icap);
  }
  size_t h = key_hash(k, klen);
  while (obj->u.obj.idx[h & (obj->u.obj.icap - 1)])
    h++;
  obj->u.obj.idx[h & (obj->u.obj.icap - 1)] = (uint32_t)(i + 1);
  return true;
}

cfg_member *roster__config_obj_find(const cfg_node *obj, const char *key,
                                    size_t klen) {
  if (!obj || obj->kind != CFG_OBJ)
    return NULL;
  if (obj->u.obj.idx) {
    size_t mask = obj->u.obj.icap - 1;
    for (size_t h = key_hash(key, klen);; h++) {
      uint32_t slot = obj->u.obj.idx[h & mask];
      if (!slot)
        return NULL;
      cfg_member *m = &obj->u.obj.v[slot - 1];
      if (m->klen == klen && memcmp(m->key, key, klen) == 0)
        return m;
    }
  }
  for (size_t i = 0; i < obj->u.obj.n; i++) {
    cfg_member *m = &obj->u.obj.v[i];
    if (m->klen == klen && memcmp(m->key, key, klen) == 0)
      return m;
  }
  return NULL;
}

bool roster__config_arr_push(cfg_arena *a, cfg_node *arr, cfg_node *val) {
  if (arr->u.arr.n == arr->u.arr.cap) {
    size_t cap = arr->u.arr.cap ? arr->u.arr.cap * 2 : 4;
    cfg_node **v = roster__config_alloc(a, cap * sizeof *v);
    if (!v)
      return false;
    if (arr->u.arr.n)
      memcpy(v, arr->u.arr.v, arr->u.arr.n * sizeof *v);
    arr->u.arr.v = v;
    arr->u.arr.cap = cap;
  }
  arr->u.arr.v[arr->u.arr.n++] = val;
  return true;
}

/* index_of parses a segment of digits as an array index; -1 if it is not
 * one. */
static long index_of(const char *s, size_t n) {
  if (n == 0 || n > 9)
    return -1;
  long v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

/* child finds segment [s, s+n) below n. */
static cfg_node *child(const cfg_node *n, const char *s, size_t len) {
  if (!n)
    return NULL;
  if (n->kind == CFG_OBJ) {
    cfg_member *m = roster__config_obj_find(n, s, len);
    return m ? m->val : NULL;
  }
  if (n->kind == CFG_ARR) {
    long i = index_of(s, len);
    return i >= 0 && (size_t)i < n->u.arr.n ? n->u.arr.v[i] : NULL;
  }
  return NULL;
}

const cfg_node *roster__config_lookup(const cfg_node *root, const char *key) {
  const cfg_node *n = root;
  const char *p = key;
  if (!*p)
    return n;
  while (n) {
    const char *dot = strchr(p, '.');
    size_t len = dot ? (size_t)(dot - p) : strlen(p);
    n = child(n, p, len);
    if (!dot)
      return n;
    p = dot + 1;
  }
  return NULL;
}

int roster__config_find_key(const cfg_node *root, const char *key,
                            const cfg_node **out) {
  const cfg_node *n = root;
  const char *p = key;
  size_t total = 0;
  *out = NULL;
  if (!*p)
    return -1;
  for (;;) {
    const char *s = p;
    while (*p && *p != '.')
      p++;
    size_t len = (size_t)(p - s);
    total += len + 1;
    if (len == 0 || total > ROSTER_CONFIG_KEY_MAX + 1)
      return -1;
    if (n)
      n = child(n, s, len);
    if (!*p)
      break;
    p++;
  }
  *out = n;
  return 0;
}

bool roster__config_set_path(cfg_arena *a, cfg_node *root, const char *key,
                             cfg_node *val) {
  cfg_node *n = root;
  const char *p = key;
  for (;;) {
    const char *dot = strchr(p, '.');
    size_t len = dot ? (size_t)(dot - p) : strlen(p);
    if (n->kind == CFG_ARR) {
      long i = index_of(p, len);
      if (i >= 0 && (size_t)i < n->u.arr.n) {
        if (!dot) {
          n->u.arr.v[i] = val;
          return true;
        }
        cfg_node *c = n->u.arr.v[i];
        if (c->kind != CFG_OBJ && c->kind != CFG_ARR) {
          c = roster__config_node_new(a, CFG_OBJ, val->src, val->line,
                                      val->col);
          if (!c)
            return false;
          n->u.arr.v[i] = c;
        }
        n = c;
        p = dot + 1;
        continue;
      }
      /* not an index in range: the array gives way to an object */
      n->kind = CFG_OBJ;
      memset(&n->u, 0, sizeof n->u);
    }
    cfg_member *m = roster__config_obj_find(n, p, len);
    if (!dot) {
      if (m)
        m->val = val;
      else if (!roster__config_obj_add(a, n, p, len, val))
        return false;
      return true;
    }
    cfg_node *c = m ? m->val : NULL;
    if (!c || (c->kind != CFG_OBJ && c->kind != CFG_ARR)) {
      cfg_node *o =
          roster__config_node_new(a, CFG_OBJ, val->src, val->line, val->col);
      if (!o)
        return false;
      if (m)
        m->val = o;
      else if (!roster__config_obj_add(a, n, p, len, o))
        return false;
      c = o;
    }
    n = c;
    p = dot + 1;
  }
}

bool roster__config_merge(cfg_arena *a, cfg_node *dst, cfg_node *src) {
  for (size_t i = 0; i < src->u.obj.n; i++) {
    cfg_member *s = &src->u.obj.v[i];
    cfg_member *d = roster__config_obj_find(dst, s->key, s->klen);
    if (!d) {
      if (!roster__config_obj_add(a, dst, s->key, s->klen, s->val))
        return false;
    } else if (d->val->kind == CFG_OBJ && s->val->kind == CFG_OBJ) {
      if (!roster__config_merge(a, d->val, s->val))
        return false;
    } else {
      d->val = s->val;
    }
  }
  return true;
}

cfg_node *roster__config_copy(cfg_arena *a, const cfg_node *n, size_t *budget) {
  if (*budget == 0)
    return NULL;
  (*budget)--;
  cfg_node *c =
      roster__config_node_new(a, (cfg_kind)n->kind, n->src, n->line, n->col);
  if (!c)
    return NULL;
  c->flags = n->flags;
  switch (n->kind) {
  case CFG_OBJ:
    for (size_t i = 0; i < n->u.obj.n; i++) {
      cfg_node *v = roster__config_copy(a, n->u.obj.v[i].val, budget);
      if (!v || !roster__config_obj_add(a, c, n->u.obj.v[i].key,
                                        n->u.obj.v[i].klen, v))
        return NULL;
    }
    break;
  case CFG_ARR:
    for (size_t i = 0; i < n->u.arr.n; i++) {
      cfg_node *v = roster__config_copy(a, n->u.arr.v[i], budget);
      if (!v || !roster__config_arr_push(a, c, v))
        return NULL;
    }
    break;
  default:
    c->u = n->u; /* strings are immutable and live in the same arena */
  }
  return c;
}

size_t roster__config_depth(const cfg_node *n) {
  size_t d = 0;
  if (n->kind == CFG_OBJ)
    for (size_t i = 0; i < n->u.obj.n; i++) {
      size_t c = roster__config_depth(n->u.obj.v[i].val);
      d = c > d ? c : d;
    }
  else if (n->kind == CFG_ARR)
    for (size_t i = 0; i < n->u.arr.n; i++) {
      size_t c = roster__config_depth(n->u.arr.v[i]);
      d = c > d ? c : d;
    }
  else
    return 0;
  return d + 1;
}

/* ---- keys ---- */

int roster__config_key_check(const char *what, const char *key,
                             bool allow_empty) {
  if (!key)
    return roster__err(ROSTER_EINVAL, "config %s is NULL", what);
  size_t len = strnlen(key, ROSTER_CONFIG_KEY_MAX + 1);
  if (len > ROSTER_CONFIG_KEY_MAX)
    return roster__err(ROSTER_EINVAL,
                       "config %s '%.40s...' is longer than "
                       "%d bytes",
                       what, key, ROSTER_CONFIG_KEY_MAX);
  if (len == 0)
    return allow_empty ? ROSTER_OK
                       : roster__err(ROSTER_EINVAL, "config %s is empty", what);
  if (key[0] == '.' || key[len - 1] == '.' || strstr(key, ".."))
    return roster__err(ROSTER_EINVAL,
                       "config %s '%s' has an empty segment "
                       "(keys are dotted paths like 'database.url')",
                       what, key);
  return ROSTER_OK;
}

size_t roster__config_key_parts(const char *key, size_t len, bool *empty) {
  size_t parts = 1;
  *empty = len == 0 || key[0] == '.' || key[len - 1] == '.';
  for (size_t i = 0; i < len; i++)
    if (key[i] == '.') {
      parts++;
      if (i + 1 < len && key[i + 1] == '.')
        *empty = true;
    }
  return parts;
}

int roster__config_key_depth_check(const char *what, const char *key) {
  bool empty;
  size_t parts = roster__config_key_parts(key, strlen(key), &empty);
  if (parts <= ROSTER_CONFIG_DEPTH_MAX)
    return ROSTER_OK;
  return roster__err(ROSTER_EINVAL,
                     "config %s '%.60s...' has %zu parts, more than %d "
                     "(ROSTER_CONFIG_DEPTH_MAX)",
                     what, key, parts, ROSTER_CONFIG_DEPTH_MAX);
}

bool roster__config_key_secret(const char *key, size_t len) {
  /* roster_url_secret_key reads a NUL-terminated name: give it a copy of
   * the whole key, then of each segment, however long they are (a word
   * near the end of a long segment counts). A NUL inside the key would
   * hide what follows it, so each NUL-separated piece is tested too. */
  char stack[256];
  char *buf = len < sizeof stack ? stack : roster__malloc(len + 1);
  if (!buf)
    return true; /* when in doubt, redact */
  memcpy(buf, key, len);
  buf[len] = '\0';
  bool secret = roster_url_secret_key(buf);
  for (size_t i = 0; i < len; i++)
    if (buf[i] == '.')
      buf[i] = '\0';
  for (size_t i = 0; i <= len && !secret; i += strlen(buf + i) + 1)
    secret = roster_url_secret_key(buf + i);
  if (buf != stack)
    roster__free(buf);
  return secret;
}

bool roster__config_path_secret(const char *prefix, const char *key,
                                size_t klen) {
  size_t pl = prefix ? strlen(prefix) : 0;
  if (!pl)
    return roster__config_key_secret(key, klen);
  if (!klen)
    return roster__config_key_secret(prefix, pl);
  cfg_buf b = {0};
  roster__config_buf_add(&b, prefix, pl);
  roster__config_buf_addc(&b, '.');
  roster__config_buf_add(&b, key, klen);
  bool secret = b.oom || roster__config_key_secret(b.p, b.n);
  roster__config_buf_free(&b);
  return secret;
}

char *roster__config_key_join_new(const char *prefix, const char *key) {
  cfg_buf b = {0};
  if (prefix && *prefix) {
    roster__config_buf_adds(&b, prefix);
    if (key && *key)
      roster__config_buf_addc(&b, '.');
  }
  roster__config_buf_adds(&b, key ? key : "");
  if (b.oom) {
    roster__config_buf_free(&b);
    return NULL;
  }
  if (!b.p)
    return roster__strndup("", 0);
  return b.p;
}

const char *roster__config_key_join(char *buf, size_t cap, const char *prefix,
                                    const char *key) {
  if (prefix && *prefix && key && *key)
    snprintf(buf, cap, "%s.%s", prefix, key);
  else
    snprintf(buf, cap, "%s", prefix && *prefix ? prefix : key ? key : "");
  return buf;
}

/* ---- leaves ---- */

int roster__config_walk(const cfg_node *n, cfg_buf *key, cfg_leaf_fn fn,
                        void *arg) {
  bool container = n->kind == CFG_OBJ || n->kind == CFG_ARR;
  size_t count = n->kind == CFG_OBJ   ? n->u.obj.n
                 : n->kind == CFG_ARR ? n->u.arr.n
                                      : 0;
  if (!container || count == 0)
    return fn(roster__config_buf_str(key), key->n, n, arg);
  size_t base = key->n;
  for (size_t i = 0; i < count; i++) {
    if (base)
      roster__config_buf_addc(key, '.');
    const cfg_node *c;
    if (n->kind == CFG_OBJ) {
      roster__config_buf_add(key, n->u.obj.v[i].key, n->u.obj.v[i].klen);
      c = n->u.obj.v[i].val;
    } else {
      roster__config_buf_addf(key, "%zu", i);
      c = n->u.arr.v[i];
    }
    if (key->oom)
      return -1;
    int rc = roster__config_walk(c, key, fn, arg);
    key->n = base;
    if (key->p)
      key->p[base] = '\0';
    if (rc)
      return rc;
  }
  return 0;
}
