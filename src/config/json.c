/*
 * json.c: JSON config files, parsed by jansson. jansson gives error
 * positions but not the position of each value, so after it has accepted
 * the text a small scanner walks the same text and lists where every value
 * starts, in document order; the tree is then converted in the same order
 * (jansson keeps object keys in insertion order) and each node takes its
 * line and column from that list.
 */
#include "config_impl.h"

#include <jansson.h>

typedef struct jpos {
  uint32_t line, col;
} jpos;

typedef struct jctx {
  cfg_doc *d;
  jpos *pos;
  size_t npos, cap, next;
  size_t nodes;
  bool failed;
} jctx;

static bool record(jctx *c, uint32_t line, uint32_t col) {
  if (c->npos == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 64;
    jpos *p = roster__realloc(c->pos, cap * sizeof *p);
    if (!p)
      return false;
    c->pos = p;
    c->cap = cap;
  }
  c->pos[c->npos++] = (jpos){line, col};
  return true;
}

/* scan lists the start of every value in text, which jansson has already
 * accepted as valid JSON. */
static bool scan(jctx *c, const char *t, size_t len) {
  uint32_t line = 1;
  size_t ls = 0, i = 0;
  cfg_colcur cc = {0};
  while (i < len) {
    char ch = t[i];
    if (ch == '\n') {
      line++;
      ls = ++i;
    } else if (ch == ' ' || ch == '\t' || ch == '\r' || ch == ',' ||
               ch == ':' || ch == '}' || ch == ']') {
      i++;
    } else if (ch == '{' || ch == '[') {
      if (!record(c, line, roster__config_col_at(&cc, t, ls, i)))
        return false;
      i++;
    } else if (ch == '"') {
      size_t start = i++;
      while (i < len && t[i] != '"')
        i += t[i] == '\\' ? 2 : 1;
      i++;
      size_t k = i;
      while (k < len &&
             (t[k] == ' ' || t[k] == '\t' || t[k] == '\r' || t[k] == '\n'))
        k++;
      if ((k >= len || t[k] != ':') &&
          !record(c, line, roster__config_col_at(&cc, t, ls, start)))
        return false;
    } else {
      if (!record(c, line, roster__config_col_at(&cc, t, ls, i)))
        return false;
      while (i < len && !strchr(",]} \t\r\n", t[i]))
        i++;
    }
  }
  return true;
}

static cfg_node *conv(jctx *c, json_t *j, size_t depth) {
  jpos p = c->next < c->npos ? c->pos[c->next] : (jpos){0, 0};
  c->next++;
  cfg_doc *d = c->d;
  if (depth > ROSTER_CONFIG_DEPTH_MAX) {
    roster__config_doc_fail(d, ROSTER_EPARSE, p.line, p.col,
                            "nested deeper than %d "
                            "levels",
                            ROSTER_CONFIG_DEPTH_MAX);
    c->failed = true;
    return NULL;
  }
  if (++c->nodes > ROSTER_CONFIG_NODES_MAX) {
    roster__config_doc_fail(d, ROSTER_EPARSE, p.line, p.col,
                            "more than %d values", ROSTER_CONFIG_NODES_MAX);
    c->failed = true;
    return NULL;
  }
  cfg_node *n = NULL;
  switch (json_typeof(j)) {
  case JSON_OBJECT: {
    n = roster__config_node_new(d->arena, CFG_OBJ, d->src, p.line, p.col);
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v) {
      if (!n)
        break;
      cfg_node *cn = conv(c, v, depth + 1);
      if (!cn || !roster__config_obj_add(d->arena, n, k, strlen(k), cn))
        return NULL;
    }
    break;
  }
  case JSON_ARRAY: {
    n = roster__config_node_new(d->arena, CFG_ARR, d->src, p.line, p.col);
    size_t i;
    json_t *v;
    json_array_foreach(j, i, v) {
      if (!n)
        break;
      cfg_node *cn = conv(c, v, depth + 1);
      if (!cn || !roster__config_arr_push(d->arena, n, cn))
        return NULL;
    }
    break;
  }
  case JSON_STRING:
    n = roster__config_str_new(d->arena, CFG_STR, json_string_value(j),
                               json_string_length(j), d->src, p.line, p.col);
    break;
  case JSON_INTEGER:
    if ((n = roster__config_node_new(d->arena, CFG_INT, d->src, p.line, p.col)))
      n->u.i = (int64_t)json_integer_value(j);
    break;
  case JSON_REAL:
    if ((n = roster__config_node_new(d->arena, CFG_REAL, d->src, p.line,
                                     p.col)))
      n->u.d = json_real_value(j);
    break;
  case JSON_TRUE:
  case JSON_FALSE:
    if ((n = roster__config_node_new(d->arena, CFG_BOOL, d->src, p.line,
                                     p.col)))
      n->u.b = json_is_true(j);
    break;
  case JSON_NULL:
    n = roster__config_node_new(d->arena, CFG_NULL, d->src, p.line, p.col);
    break;
  }
  return n;
}

int roster__config_parse_json(cfg_doc *d) {
  json_error_t e;
  json_t *j = json_loadb(d->text, d->len, JSON_REJECT_DUPLICATES, &e);
  if (!j)
    return roster__config_doc_fail(
        d, ROSTER_EPARSE, e.line > 0 ? (uint32_t)e.line : 1,
        e.column > 0 ? (uint32_t)e.column : 1, "%s", e.text);
  if (!json_is_object(j)) {
    json_decref(j);
    return roster__config_doc_fail(d, ROSTER_EPARSE, 1, 1,
                                   "the top level must be an "
                                   "object ({...})");
  }
  jctx c = {.d = d};
  int rc = ROSTER_OK;
  if (!scan(&c, d->text, d->len)) {
    rc = roster__config_doc_fail(d, ROSTER_ENOMEM, 0, 0, "out of memory");
  } else {
    d->root = conv(&c, j, 0);
    if (!d->root)
      rc = c.failed ? ROSTER_EPARSE
                    : roster__config_doc_fail(d, ROSTER_ENOMEM, 0, 0,
                                              "out of memory");
  }
  roster__free(c.pos);
  json_decref(j);
  return rc;
}
