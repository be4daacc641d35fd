/*
 * dump.c: the merged tree as JSON (jansson), redacted unless asked not to,
 * optionally with the provenance of every leaf. Redaction follows
 * roster/url.h so that a config and a URL agree on what a secret is: a
 * value under a key roster_url_secret_key accepts (on any segment of its
 * path) becomes "***", and a URL's password becomes "***" wherever the URL
 * appears (roster__config_redact: text too long to redact that could hold one
 * becomes "***"). Keys and file names that are not UTF-8 are written with
 * U+FFFD, so the dump is always valid JSON.
 */
#include "config_impl.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>

typedef struct dctx {
  unsigned flags;
  json_t *prov; /* the provenance object, or NULL */
  cfg_buf key;  /* the full key, the view's prefix included */
  size_t plen;  /* the prefix's length */
  int digits;   /* the most significant digits any real needs */
  bool oom;
} dctx;

/* real_digits: the fewest significant digits that read d back exactly. */
static int real_digits(double d) {
  char tmp[40];
  for (int prec = 1; prec < 17; prec++) {
    snprintf(tmp, sizeof tmp, "%.*g", prec, d);
    if (strtod(tmp, NULL) == d)
      return prec;
  }
  return 17;
}

/* utf8_json makes a JSON string of s, replacing invalid UTF-8 (an
 * environment variable may hold anything) with U+FFFD. */
static json_t *utf8_json(const char *s, size_t len) {
  json_t *j = json_stringn(s, len);
  if (j)
    return j;
  cfg_buf b = {0};
  size_t i = 0;
  while (i < len) {
    size_t bad = roster__config_utf8_check(s + i, len - i);
    roster__config_buf_add(&b, s + i, bad);
    i += bad;
    if (i < len) {
      roster__config_buf_adds(&b, "\xEF\xBF\xBD");
      i++;
    }
  }
  j = b.oom ? NULL : json_stringn(roster__config_buf_str(&b), b.n);
  roster__config_buf_free(&b);
  return j;
}

static json_t *string_json(const dctx *c, const char *s, size_t len) {
  if (c->flags & ROSTER_CONFIG_DUMP_SECRETS)
    return utf8_json(s, len);
  cfg_buf b = {0};
  roster__config_redact(s, len, &b);
  json_t *j = b.oom ? NULL : utf8_json(roster__config_buf_str(&b), b.n);
  roster__config_buf_free(&b);
  return j;
}

static json_t *to_json(dctx *c, const cfg_node *n) {
  bool leaf = (n->kind != CFG_OBJ || n->u.obj.n == 0) &&
              (n->kind != CFG_ARR || n->u.arr.n == 0);
  if (leaf && c->prov && c->key.n > c->plen) {
    /* provenance keys are relative to the dumped tree */
    const char *rel =
        roster__config_buf_str(&c->key) + c->plen + (c->plen ? 1 : 0);
    char where[512];
    roster__config_where(n, where, sizeof where);
    /* a key or a file name need not be UTF-8, and a long file name may
     * be cut inside a character: both are made valid as values are */
    json_t *k = utf8_json(rel, strlen(rel));
    json_t *w = utf8_json(where, strlen(where));
    if (k && w) {
      /* json_object_set_new takes w, whatever it returns */
      if (json_object_set_new(c->prov, json_string_value(k), w))
        c->oom = true;
    } else {
      json_decref(w);
      c->oom = true;
    }
    json_decref(k);
  }
  bool redact = !(c->flags & ROSTER_CONFIG_DUMP_SECRETS) &&
                n->kind != CFG_OBJ && n->kind != CFG_ARR &&
                n->kind != CFG_NULL &&
                roster__config_key_secret(c->key.p ? c->key.p : "", c->key.n);
  if (redact)
    return json_string("***");
  size_t base = c->key.n;
  switch (n->kind) {
  case CFG_NULL:
    return json_null();
  case CFG_BOOL:
    return json_boolean(n->u.b);
  case CFG_INT:
    return json_integer((json_int_t)n->u.i);
  case CFG_REAL:
    if (isnan(n->u.d))
      return json_string("nan");
    if (isinf(n->u.d))
      return json_string(n->u.d < 0 ? "-inf" : "inf");
    if (real_digits(n->u.d) > c->digits)
      c->digits = real_digits(n->u.d);
    return json_real(n->u.d);
  case CFG_STR:
  case CFG_TEXT:
    return string_json(c, n->u.s.p, n->u.s.len);
  case CFG_OBJ: {
    json_t *o = json_object();
    for (size_t i = 0; o && i < n->u.obj.n; i++) {
      if (base)
        roster__config_buf_addc(&c->key, '.');
      roster__config_buf_add(&c->key, n->u.obj.v[i].key, n->u.obj.v[i].klen);
      json_t *v = c->key.oom ? NULL : to_json(c, n->u.obj.v[i].val);
      c->key.n = base;
      if (c->key.p)
        c->key.p[base] = '\0';
      json_t *k = v ? utf8_json(n->u.obj.v[i].key, n->u.obj.v[i].klen) : NULL;
      if (v && !k)
        json_decref(v);
      if (!v || !k || json_object_set_new(o, json_string_value(k), v)) {
        json_decref(k);
        json_decref(o);
        return NULL;
      }
      json_decref(k);
    }
    return o;
  }
  case CFG_ARR: {
    json_t *a = json_array();
    for (size_t i = 0; a && i < n->u.arr.n; i++) {
      if (base)
        roster__config_buf_addc(&c->key, '.');
      roster__config_buf_addf(&c->key, "%zu", i);
      json_t *v = c->key.oom ? NULL : to_json(c, n->u.arr.v[i]);
      c->key.n = base;
      if (c->key.p)
        c->key.p[base] = '\0';
      if (!v || json_array_append_new(a, v)) {
        json_decref(a);
        return NULL;
      }
    }
    return a;
  }
  }
  return NULL;
}

int roster__config_dump(const cfg_node *root, const char *prefix,
                        unsigned flags, char **out) {
  dctx c = {.flags = flags};
  /* keys are relative to root, but a secret may sit above it */
  roster__config_buf_adds(&c.key, prefix);
  c.plen = c.key.n;
  if (flags & ROSTER_CONFIG_DUMP_PROVENANCE)
    c.prov = json_object();
  json_t *tree = to_json(&c, root);
  json_t *doc = tree;
  if (tree && c.prov) {
    doc = json_object();
    if (!doc || json_object_set_new(doc, "config", tree) ||
        json_object_set(doc, "provenance", c.prov)) {
      json_decref(doc);
      doc = NULL;
    }
  }
  roster__config_buf_free(&c.key);
  size_t jf =
      (flags & ROSTER_CONFIG_DUMP_COMPACT) ? JSON_COMPACT : JSON_INDENT(2);
  /* jansson writes reals with one precision for the whole document: the
   * least that keeps every real exact, so 3.14 stays "3.14" (but at least
   * 15, so that 1000.0 is not written 1e3) */
  jf |= JSON_REAL_PRECISION(c.digits > 15 ? c.digits : 15);
  char *txt = doc && !c.oom ? json_dumps(doc, jf | JSON_ENCODE_ANY) : NULL;
  json_decref(doc);
  json_decref(c.prov);
  if (!txt)
    return roster__err(ROSTER_ENOMEM, "out of memory (config dump)");
  *out = roster__strndup(txt, strlen(txt));
  free(txt);
  return *out ? ROSTER_OK : roster__err(ROSTER_ENOMEM, "out of memory");
}
