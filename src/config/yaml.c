/*
 * yaml.c: YAML config files through libyaml's event API, built into the
 * config tree with the YAML 1.2 core schema: plain true/false, null/~,
 * integers (decimal, 0o octal, 0x hex), floats (.inf, .nan) are typed;
 * every other scalar, "yes" and "on" included, is a string. The standard
 * tags (!!str, !!int, !!float, !!bool, !!null, !!map, !!seq) are honoured
 * and any other tag is refused. An alias copies its anchor's node, and the
 * copies count toward ROSTER_CONFIG_NODES_MAX and ROSTER_CONFIG_DEPTH_MAX,
 * so an alias bomb stops with an error instead of filling memory. A file
 * holds one document; keys are scalars and may not repeat; "<<" is an
 * ordinary key (merge keys are YAML 1.1).
 */
#include "config_impl.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <yaml.h>

#define TAG_PREFIX "tag:yaml.org,2002:"

typedef struct yframe {
  cfg_node *node;
  bool is_map;
  bool have_key;
  const char *key;
  size_t klen;
  uint32_t kline, kcol;
  size_t anchor; /* 1 + the index of the container's anchor, or 0 */
} yframe;

typedef struct yanchor {
  char *name;
  cfg_node *node; /* NULL while its container is being built */
} yanchor;

typedef struct yctx {
  cfg_doc *d;
  yframe frames[ROSTER_CONFIG_DEPTH_MAX + 1];
  size_t depth;
  yanchor *anchors;
  size_t nanchors, acap;
  size_t nodes;
  int docs;
  bool done;
} yctx;

static uint32_t mline(yaml_mark_t m) { return (uint32_t)m.line + 1; }
static uint32_t mcol(yaml_mark_t m) { return (uint32_t)m.column + 1; }

static int fail_at(yctx *c, yaml_mark_t m, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail_at(yctx *c, yaml_mark_t m, int code, const char *fmt, ...) {
  cfg_doc *d = c->d;
  d->line = mline(m);
  d->col = mcol(m);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(d->msg, sizeof d->msg, fmt, ap);
  va_end(ap);
  return code;
}

static int oom(yctx *c) {
  return roster__config_doc_fail(c->d, ROSTER_ENOMEM, 0, 0, "out of memory");
}

static yanchor *anchor_find(yctx *c, const char *name) {
  for (size_t i = c->nanchors; i-- > 0;)
    if (strcmp(c->anchors[i].name, name) == 0)
      return &c->anchors[i];
  return NULL;
}

/* anchor_set registers (or redefines: YAML allows it, the latest wins)
 * anchor name for node (NULL: being built). */
static bool anchor_set(yctx *c, const char *name, cfg_node *node) {
  if (c->nanchors == c->acap) {
    size_t cap = c->acap ? c->acap * 2 : 8;
    yanchor *v = roster__realloc(c->anchors, cap * sizeof *v);
    if (!v)
      return false;
    c->anchors = v;
    c->acap = cap;
  }
  char *n = roster__strndup(name, strlen(name));
  if (!n)
    return false;
  c->anchors[c->nanchors++] = (yanchor){n, node};
  return true;
}

static void anchors_free(yctx *c) {
  for (size_t i = 0; i < c->nanchors; i++)
    roster__free(c->anchors[i].name);
  roster__free(c->anchors);
}

/* ---- core schema ---- */

static bool all(const char *s, const char *set) {
  if (!*s)
    return false;
  for (; *s; s++)
    if (!strchr(set, *s))
      return false;
  return true;
}

static bool is_null(const char *s) {
  return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
         !strcmp(s, "NULL");
}

static int is_bool(const char *s) {
  if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
    return 1;
  if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
    return 0;
  return -1;
}

/* is_int: 1 and *v set for a core-schema integer, 0 if the text is not
 * one, -1 if it is one that does not fit in 64 bits. */
static int is_int(const char *s, int64_t *v) {
  int base = 10;
  const char *digits = s;
  if (s[0] == '0' && s[1] == 'o' && all(s + 2, "01234567"))
    base = 8, digits = s + 2;
  else if (s[0] == '0' && s[1] == 'x' && all(s + 2, "0123456789abcdefABCDEF"))
    base = 16, digits = s + 2;
  else if (!all(s + (*s == '-' || *s == '+'), "0123456789"))
    return 0;
  errno = 0;
  char *end;
  if (base == 10) {
    long long x = strtoll(digits, &end, 10);
    if (errno == ERANGE)
      return -1;
    *v = x;
  } else {
    unsigned long long x = strtoull(digits, &end, base);
    if (errno == ERANGE || x > (unsigned long long)INT64_MAX)
      return -1;
    *v = (int64_t)x;
  }
  return 1;
}

static bool is_float(const char *s, double *v) {
  const char *p = s + (*s == '-' || *s == '+');
  if (!strcmp(p, ".inf") || !strcmp(p, ".Inf") || !strcmp(p, ".INF")) {
    *v = *s == '-' ? -INFINITY : INFINITY;
    return true;
  }
  if (!strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN")) {
    *v = NAN;
    return true;
  }
  /* [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
  const char *q = p;
  size_t ip = 0, fp = 0;
  while (*q >= '0' && *q <= '9')
    q++, ip++;
  if (*q == '.') {
    q++;
    while (*q >= '0' && *q <= '9')
      q++, fp++;
    if (ip == 0 && fp == 0)
      return false;
  } else if (ip == 0) {
    return false;
  }
  if (*q == 'e' || *q == 'E') {
    q++;
    if (*q == '-' || *q == '+')
      q++;
    size_t ep = 0;
    while (*q >= '0' && *q <= '9')
      q++, ep++;
    if (ep == 0)
      return false;
  }
  if (*q)
    return false;
  *v = strtod(s, NULL);
  return true;
}

/* scalar makes the node for a scalar event. */
static int scalar(yctx *c, yaml_event_t *ev, cfg_node **out) {
  cfg_doc *d = c->d;
  const char *s = (const char *)ev->data.scalar.value;
  size_t len = ev->data.scalar.length;
  const char *tag = (const char *)ev->data.scalar.tag;
  uint32_t line = mline(ev->start_mark), col = mcol(ev->start_mark);
  if (memchr(s, '\0', len))
    return fail_at(c, ev->start_mark, ROSTER_EPARSE,
                   "a NUL character is "
                   "not supported in config values");
  bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
  const char *want = NULL; /* the tag's type, if any */
  if (tag) {
    if (!strcmp(tag, "!"))
      plain = false;
    else if (!strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)))
      want = tag + strlen(TAG_PREFIX);
    else
      return fail_at(c, ev->start_mark, ROSTER_EPARSE,
                     "unsupported tag "
                     "'%s'",
                     tag);
    if (want && strcmp(want, "str") && strcmp(want, "int") &&
        strcmp(want, "float") && strcmp(want, "bool") && strcmp(want, "null"))
      return fail_at(c, ev->start_mark, ROSTER_EPARSE,
                     "unsupported tag "
                     "'!!%s' on a scalar",
                     want);
  }
  cfg_node *n = NULL;
  int64_t iv;
  double dv;
  int b;
  if (want && !strcmp(want, "str")) {
    n = roster__config_str_new(d->arena, CFG_STR, s, len, d->src, line, col);
  } else if (want) {
    int ir = 0;
    if (!strcmp(want, "null") && is_null(s)) {
      n = roster__config_node_new(d->arena, CFG_NULL, d->src, line, col);
    } else if (!strcmp(want, "bool") && (b = is_bool(s)) >= 0) {
      if ((n = roster__config_node_new(d->arena, CFG_BOOL, d->src, line, col)))
        n->u.b = b;
    } else if (!strcmp(want, "int") && (ir = is_int(s, &iv)) == 1) {
      if ((n = roster__config_node_new(d->arena, CFG_INT, d->src, line, col)))
        n->u.i = iv;
    } else if (!strcmp(want, "float") &&
               (is_float(s, &dv) ||
                (is_int(s, &iv) == 1 && (dv = (double)iv, true)))) {
      if ((n = roster__config_node_new(d->arena, CFG_REAL, d->src, line, col)))
        n->u.d = dv;
    } else {
      return fail_at(c, ev->start_mark, ROSTER_EPARSE,
                     ir < 0 ? "integer '%s' does not fit in 64 bits"
                            : "'%s' is not a valid !!%s",
                     s, want);
    }
  } else if (!plain) {
    n = roster__config_str_new(d->arena, CFG_STR, s, len, d->src, line, col);
  } else if (is_null(s)) {
    n = roster__config_node_new(d->arena, CFG_NULL, d->src, line, col);
  } else if ((b = is_bool(s)) >= 0) {
    if ((n = roster__config_node_new(d->arena, CFG_BOOL, d->src, line, col)))
      n->u.b = b;
  } else if ((b = is_int(s, &iv)) != 0) {
    if (b < 0)
      return fail_at(c, ev->start_mark, ROSTER_EPARSE,
                     "integer '%s' does "
                     "not fit in 64 bits",
                     s);
    if ((n = roster__config_node_new(d->arena, CFG_INT, d->src, line, col)))
      n->u.i = iv;
  } else if (is_float(s, &dv)) {
    if ((n = roster__config_node_new(d->arena, CFG_REAL, d->src, line, col)))
      n->u.d = dv;
  } else {
    n = roster__config_str_new(d->arena, CFG_STR, s, len, d->src, line, col);
  }
  if (!n)
    return oom(c);
  *out = n;
  return ROSTER_OK;
}

/* count_node charges one node against the cap. */
static int count_node(yctx *c, yaml_mark_t m, size_t k) {
  c->nodes += k;
  if (c->nodes > ROSTER_CONFIG_NODES_MAX)
    return fail_at(c, m, ROSTER_EPARSE,
                   "more than %d values (with aliases "
                   "expanded): refusing what looks like an alias bomb",
                   ROSTER_CONFIG_NODES_MAX);
  return ROSTER_OK;
}

/* add_value places n (parsed at m) into the open container, or makes it
 * the root. */
static int add_value(yctx *c, cfg_node *n, yaml_mark_t m) {
  cfg_doc *d = c->d;
  if (c->depth == 0) {
    if (n->kind == CFG_NULL) {
      n = roster__config_node_new(d->arena, CFG_OBJ, d->src, n->line, n->col);
      if (!n)
        return oom(c);
    } else if (n->kind != CFG_OBJ) {
      return roster__config_doc_fail(d, ROSTER_EPARSE, n->line, n->col,
                                     "the top level "
                                     "must be a mapping (key: value)");
    }
    d->root = n;
    return ROSTER_OK;
  }
  yframe *f = &c->frames[c->depth];
  if (!f->is_map)
    return roster__config_arr_push(d->arena, f->node, n) ? ROSTER_OK : oom(c);
  cfg_member *dup = roster__config_obj_find(f->node, f->key, f->klen);
  if (dup) {
    d->line = f->kline;
    d->col = f->kcol;
    snprintf(d->msg, sizeof d->msg,
             "duplicate key '%.*s' (first set on "
             "line %u)",
             (int)(f->klen > 80 ? 80 : f->klen), f->key, dup->val->line);
    return ROSTER_EPARSE;
  }
  f->have_key = false;
  return roster__config_obj_add(d->arena, f->node, f->key, f->klen, n)
             ? ROSTER_OK
             : oom(c);
}

static bool expects_key(yctx *c) {
  return c->depth > 0 && c->frames[c->depth].is_map &&
         !c->frames[c->depth].have_key;
}

static int set_key(yctx *c, const char *s, size_t len, yaml_mark_t m) {
  yframe *f = &c->frames[c->depth];
  char *k = roster__config_strndup(c->d->arena, s, len);
  if (!k)
    return oom(c);
  if (memchr(s, '\0', len))
    return fail_at(c, m, ROSTER_EPARSE, "a NUL character in a key");
  f->key = k;
  f->klen = len;
  f->kline = mline(m);
  f->kcol = mcol(m);
  f->have_key = true;
  return ROSTER_OK;
}

static int on_start(yctx *c, yaml_event_t *ev, bool is_map) {
  cfg_doc *d = c->d;
  const char *tag = (const char *)(is_map ? ev->data.mapping_start.tag
                                          : ev->data.sequence_start.tag);
  const char *anchor = (const char *)(is_map ? ev->data.mapping_start.anchor
                                             : ev->data.sequence_start.anchor);
  if (expects_key(c))
    return fail_at(c, ev->start_mark, ROSTER_EPARSE,
                   "a %s as a key is not "
                   "supported (keys are scalars)",
                   is_map ? "mapping" : "sequence");
  if (tag && strcmp(tag, "!") &&
      strcmp(tag, is_map ? TAG_PREFIX "map" : TAG_PREFIX "seq"))
    return fail_at(c, ev->start_mark, ROSTER_EPARSE,
                   "unsupported tag '%s' "
                   "on a %s",
                   tag, is_map ? "mapping" : "sequence");
  if (c->depth >= ROSTER_CONFIG_DEPTH_MAX)
    return fail_at(c, ev->start_mark, ROSTER_EPARSE,
                   "nested deeper than %d "
                   "levels",
                   ROSTER_CONFIG_DEPTH_MAX);
  int rc = count_node(c, ev->start_mark, 1);
  if (rc)
    return rc;
  cfg_node *n =
      roster__config_node_new(d->arena, is_map ? CFG_OBJ : CFG_ARR, d->src,
                              mline(ev->start_mark), mcol(ev->start_mark));
  if (!n)
    return oom(c);
  if (anchor && !anchor_set(c, anchor, NULL))
    return oom(c);
  c->frames[++c->depth] =
      (yframe){.node = n, .is_map = is_map, .anchor = anchor ? c->nanchors : 0};
  return ROSTER_OK;
}

static int on_end(yctx *c, yaml_event_t *ev) {
  yframe f = c->frames[c->depth--];
  if (f.anchor)
    c->anchors[f.anchor - 1].node = f.node;
  return add_value(c, f.node, ev->start_mark);
}

static int on_scalar(yctx *c, yaml_event_t *ev) {
  const char *anchor = (const char *)ev->data.scalar.anchor;
  if (expects_key(c)) {
    int rc = set_key(c, (const char *)ev->data.scalar.value,
                     ev->data.scalar.length, ev->start_mark);
    if (rc == ROSTER_OK && anchor) {
      cfg_node *k = roster__config_str_new(
          c->d->arena, CFG_STR, (const char *)ev->data.scalar.value,
          ev->data.scalar.length, c->d->src, mline(ev->start_mark),
          mcol(ev->start_mark));
      if (!k || !anchor_set(c, anchor, k))
        return oom(c);
    }
    return rc;
  }
  int rc = count_node(c, ev->start_mark, 1);
  cfg_node *n = NULL;
  if (rc == ROSTER_OK)
    rc = scalar(c, ev, &n);
  if (rc == ROSTER_OK && anchor && !anchor_set(c, anchor, n))
    rc = oom(c);
  return rc ? rc : add_value(c, n, ev->start_mark);
}

static int on_alias(yctx *c, yaml_event_t *ev) {
  const char *name = (const char *)ev->data.alias.anchor;
  yanchor *an = anchor_find(c, name);
  if (!an)
    return fail_at(c, ev->start_mark, ROSTER_EPARSE, "unknown alias '*%s'",
                   name);
  if (!an->node)
    return fail_at(c, ev->start_mark, ROSTER_EPARSE,
                   "alias '*%s' refers to "
                   "a node that contains it",
                   name);
  if (expects_key(c)) {
    if (!roster__config_is_string(an->node) && an->node->kind != CFG_INT &&
        an->node->kind != CFG_BOOL && an->node->kind != CFG_REAL)
      return fail_at(c, ev->start_mark, ROSTER_EPARSE,
                     "alias '*%s' as a "
                     "key must refer to a scalar",
                     name);
    cfg_buf t = {0};
    roster__config_text(an->node, &t);
    int rc = t.oom
                 ? oom(c)
                 : set_key(c, roster__config_buf_str(&t), t.n, ev->start_mark);
    roster__config_buf_free(&t);
    return rc;
  }
  if (c->depth + roster__config_depth(an->node) > ROSTER_CONFIG_DEPTH_MAX)
    return fail_at(c, ev->start_mark, ROSTER_EPARSE,
                   "alias '*%s' nests "
                   "deeper than %d levels",
                   name, ROSTER_CONFIG_DEPTH_MAX);
  size_t budget = c->nodes < ROSTER_CONFIG_NODES_MAX
                      ? ROSTER_CONFIG_NODES_MAX - c->nodes
                      : 0;
  size_t before = budget;
  cfg_node *n = roster__config_copy(c->d->arena, an->node, &budget);
  if (!n) {
    if (budget == 0)
      return count_node(c, ev->start_mark, before + 1);
    return oom(c);
  }
  int rc = count_node(c, ev->start_mark, before - budget);
  return rc ? rc : add_value(c, n, ev->start_mark);
}

/* parser_error describes libyaml's error, keeping its words. */
static int parser_error(yctx *c, yaml_parser_t *p) {
  cfg_doc *d = c->d;
  if (p->error == YAML_MEMORY_ERROR)
    return oom(c);
  uint32_t line, col;
  if (p->error == YAML_READER_ERROR) {
    /* only a byte offset: find its line and column */
    size_t off = p->problem_offset < d->len ? p->problem_offset : d->len;
    size_t ls = 0;
    line = 1;
    for (size_t i = 0; i < off; i++)
      if (d->text[i] == '\n')
        line++, ls = i + 1;
    col = roster__config_column(d->text, ls, off);
  } else {
    line = mline(p->problem_mark);
    col = mcol(p->problem_mark);
  }
  const char *problem = p->problem ? p->problem : "syntax error";
  if (p->context && p->error != YAML_READER_ERROR)
    return roster__config_doc_fail(d, ROSTER_EPARSE, line, col,
                                   "%s %s (line %u, column "
                                   "%u)",
                                   problem, p->context, mline(p->context_mark),
                                   mcol(p->context_mark));
  return roster__config_doc_fail(d, ROSTER_EPARSE, line, col, "%s", problem);
}

static int on_event(yctx *c, yaml_event_t *ev) {
  switch (ev->type) {
  case YAML_DOCUMENT_START_EVENT:
    if (++c->docs > 1)
      return fail_at(c, ev->start_mark, ROSTER_EPARSE,
                     "a second YAML "
                     "document ('---'): a config file holds one document");
    return ROSTER_OK;
  case YAML_MAPPING_START_EVENT:
    return on_start(c, ev, true);
  case YAML_SEQUENCE_START_EVENT:
    return on_start(c, ev, false);
  case YAML_MAPPING_END_EVENT:
  case YAML_SEQUENCE_END_EVENT:
    return on_end(c, ev);
  case YAML_SCALAR_EVENT:
    return on_scalar(c, ev);
  case YAML_ALIAS_EVENT:
    return on_alias(c, ev);
  case YAML_STREAM_END_EVENT:
    c->done = true;
    return ROSTER_OK;
  default:
    return ROSTER_OK;
  }
}

int roster__config_parse_yaml(cfg_doc *d) {
  yctx *c = roster__calloc(1, sizeof *c);
  if (!c)
    return roster__config_doc_fail(d, ROSTER_ENOMEM, 0, 0, "out of memory");
  c->d = d;
  yaml_parser_t p;
  if (!yaml_parser_initialize(&p)) {
    roster__free(c);
    return roster__config_doc_fail(d, ROSTER_ENOMEM, 0, 0, "out of memory");
  }
  yaml_parser_set_input_string(&p, (const unsigned char *)d->text, d->len);
  yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
  int rc = ROSTER_OK;
  while (rc == ROSTER_OK && !c->done) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&p, &ev)) {
      rc = parser_error(c, &p);
      break;
    }
    rc = on_event(c, &ev);
    yaml_event_delete(&ev);
  }
  if (rc == ROSTER_OK && !d->root &&
      !(d->root = roster__config_node_new(d->arena, CFG_OBJ, d->src, 1, 1)))
    rc = oom(c);
  if (rc)
    d->root = NULL;
  yaml_parser_delete(&p);
  anchors_free(c);
  roster__free(c);
  return rc;
}
