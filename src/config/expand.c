/*
 * expand.c: ${VAR} expansion in config strings. Written here: it is a few
 * dozen lines and must report positions and sources the way the rest of
 * the config does, which wordexp(3) (it also runs commands) cannot.
 *
 *   ${NAME}           the value of NAME; an error if NAME is unset
 *   ${NAME:-default}  default if NAME is unset or empty
 *   ${NAME-default}   default if NAME is unset
 *   $${               a literal "${"
 *
 * NAME is [A-Za-z_][A-Za-z0-9_]*. A default may itself hold ${...} (up to
 * 8 levels). An inserted value is not expanded again. A '$' not followed
 * by '{' is kept as it is. A message quotes the faulty ${...} unless the
 * value is a secret's (then it names the variable at most: a default is as
 * secret as the value).
 */
#include "config_impl.h"

#include <ctype.h>

#define EXPAND_DEPTH 8

typedef struct exp_ctx {
  cfg_lookup_fn fn;
  void *arg;
  const char *base; /* the outermost string, for offsets */
  size_t at;
  char *err;
  size_t errcap;
  bool secret; /* quote no text of the value, only variable names */
} exp_ctx;

/* close_of finds the '}' that closes the ${ whose body starts at s,
 * counting nested ${...}; returns its offset or len if none. */
static size_t close_of(const char *s, size_t len) {
  int depth = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '$' && i + 1 < len && s[i + 1] == '{') {
      depth++;
      i++;
    } else if (s[i] == '}') {
      if (depth == 0)
        return i;
      depth--;
    }
  }
  return len;
}

static int expand_into(exp_ctx *c, cfg_buf *out, const char *s, size_t len,
                       int depth) {
  size_t i = 0;
  while (i < len) {
    if (s[i] != '$') {
      roster__config_buf_addc(out, s[i++]);
      continue;
    }
    if (i + 2 < len && s[i + 1] == '$' && s[i + 2] == '{') {
      roster__config_buf_add(out, "${", 2);
      i += 3;
      continue;
    }
    if (i + 1 >= len || s[i + 1] != '{') {
      roster__config_buf_addc(out, s[i++]);
      continue;
    }
    c->at = (size_t)(s + i - c->base);
    const char *body = s + i + 2;
    size_t blen = len - i - 2;
    size_t close = close_of(body, blen);
    if (close == blen) {
      snprintf(c->err, c->errcap, "unterminated ${ (no closing '}')");
      return ROSTER_EPARSE;
    }
    size_t n = 0;
    if (n < close && (isalpha((unsigned char)body[0]) || body[0] == '_'))
      while (n < close && (isalnum((unsigned char)body[n]) || body[n] == '_'))
        n++;
    if (n == 0) {
      if (c->secret)
        snprintf(c->err, c->errcap,
                 "${...}: a variable name must start with a letter or '_'");
      else
        snprintf(c->err, c->errcap,
                 "${%.*s}: a variable name must start with "
                 "a letter or '_'",
                 (int)(close > 40 ? 40 : close), body);
      return ROSTER_EPARSE;
    }
    const char *def = NULL;
    size_t dlen = 0;
    bool empty_too = false;
    if (n < close) {
      if (body[n] == ':' && n + 1 < close && body[n + 1] == '-') {
        empty_too = true;
        def = body + n + 2;
      } else if (body[n] == '-') {
        def = body + n + 1;
      } else {
        if (c->secret)
          snprintf(c->err, c->errcap,
                   "${...}: expected '}', ':-' or '-' after the name '%.*s'",
                   (int)(n > 40 ? 40 : n), body);
        else
          snprintf(c->err, c->errcap,
                   "${%.*s}: expected '}', ':-' or '-' "
                   "after the name '%.*s'",
                   (int)(close > 40 ? 40 : close), body, (int)n, body);
        return ROSTER_EPARSE;
      }
      dlen = (size_t)(body + close - def);
    }
    char name[256];
    if (n >= sizeof name) {
      snprintf(c->err, c->errcap,
               "${...}: the variable name is longer than "
               "%zu bytes",
               sizeof name - 1);
      return ROSTER_EPARSE;
    }
    memcpy(name, body, n);
    name[n] = '\0';
    const char *v = c->fn(c->arg, name, n);
    if (def && (!v || (empty_too && !*v))) {
      if (depth >= EXPAND_DEPTH) {
        snprintf(c->err, c->errcap,
                 "${%s...}: defaults nested deeper than "
                 "%d levels",
                 name, EXPAND_DEPTH);
        return ROSTER_EPARSE;
      }
      size_t saved = c->at;
      int rc = expand_into(c, out, def, dlen, depth + 1);
      if (rc)
        return rc;
      c->at = saved;
    } else if (!v) {
      snprintf(c->err, c->errcap,
               "${%s} is not set (give a default with "
               "${%s:-value})",
               name, name);
      return ROSTER_ENOENT;
    } else {
      roster__config_buf_adds(out, v);
    }
    i += 2 + close + 1;
  }
  return ROSTER_OK;
}

int roster__config_expand(cfg_arena *a, const char *s, size_t len,
                          cfg_lookup_fn fn, void *arg, bool secret,
                          const char **out, size_t *out_len, bool *changed,
                          size_t *at, char *err, size_t errcap) {
  *changed = false;
  *out = s;
  *out_len = len;
  *at = 0;
  if (!memchr(s, '$', len))
    return ROSTER_OK;
  bool any = false;
  for (size_t i = 0; i + 1 < len && !any; i++)
    any = s[i] == '$' && s[i + 1] == '{';
  if (!any)
    return ROSTER_OK;
  exp_ctx c = {fn, arg, s, 0, err, errcap, secret};
  cfg_buf b = {0};
  int rc = expand_into(&c, &b, s, len, 0);
  if (rc == ROSTER_OK && b.oom)
    rc = ROSTER_ENOMEM;
  if (rc == ROSTER_OK && memchr(roster__config_buf_str(&b), '\0', b.n)) {
    snprintf(err, errcap, "the expanded value holds a NUL byte");
    rc = ROSTER_EINVAL;
  }
  if (rc == ROSTER_OK) {
    char *p = roster__config_strndup(a, roster__config_buf_str(&b), b.n);
    if (!p) {
      rc = ROSTER_ENOMEM;
    } else {
      *out = p;
      *out_len = b.n;
      *changed = true;
    }
  }
  if (rc == ROSTER_ENOMEM)
    snprintf(err, errcap, "out of memory");
  *at = c.at;
  roster__config_buf_free(&b);
  return rc;
}

typedef struct tree_ctx {
  cfg_arena *a;
  cfg_lookup_fn fn;
  void *arg;
  cfg_problems *p;
} tree_ctx;

static void expand_node(tree_ctx *t, cfg_node *n, cfg_buf *key) {
  if (n->kind == CFG_OBJ || n->kind == CFG_ARR) {
    size_t base = key->n;
    size_t count = n->kind == CFG_OBJ ? n->u.obj.n : n->u.arr.n;
    for (size_t i = 0; i < count; i++) {
      if (base)
        roster__config_buf_addc(key, '.');
      cfg_node *c;
      if (n->kind == CFG_OBJ) {
        roster__config_buf_add(key, n->u.obj.v[i].key, n->u.obj.v[i].klen);
        c = n->u.obj.v[i].val;
      } else {
        roster__config_buf_addf(key, "%zu", i);
        c = n->u.arr.v[i];
      }
      expand_node(t, c, key);
      key->n = base;
      if (key->p)
        key->p[base] = '\0';
    }
    return;
  }
  if (n->kind != CFG_STR)
    return;
  const char *v;
  size_t vlen, at;
  bool changed;
  char err[512];
  int rc = roster__config_expand(
      t->a, n->u.s.p, n->u.s.len, t->fn, t->arg,
      roster__config_key_secret(roster__config_buf_str(key), key->n), &v, &vlen,
      &changed, &at, err, sizeof err);
  if (rc) {
    char where[512];
    roster__config_where(n, where, sizeof where);
    roster__config_problem_add(t->p, rc, "%s: %s: %s", where,
                               roster__config_buf_str(key), err);
    return;
  }
  if (changed) {
    n->kind = CFG_TEXT;
    n->u.s.p = v;
    n->u.s.len = vlen;
  }
}

void roster__config_expand_tree(cfg_arena *a, cfg_node *root, cfg_lookup_fn fn,
                                void *arg, cfg_problems *p) {
  tree_ctx t = {a, fn, arg, p};
  cfg_buf key = {0};
  expand_node(&t, root, &key);
  if (key.oom)
    roster__config_problem_add(p, ROSTER_ENOMEM,
                               "out of memory (expanding ${})");
  roster__config_buf_free(&key);
}
