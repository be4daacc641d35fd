/*
 * toml.c: TOML 1.0 documents, written here because Debian 12 packages no
 * C TOML library. This half handles structure: comments, key/value pairs
 * with bare, quoted and dotted keys, [tables], [[arrays of tables]], value
 * arrays and inline tables, and TOML's rules against defining anything
 * twice: a key set twice, a table header repeated, a table made by dotted
 * keys reopened by a header (or the reverse), an inline table or a value
 * array extended afterwards. Each rule is checked with the table states in
 * toml_impl.h. Scalars are in toml_value.c. Every error has a line and a
 * column (in characters).
 */
#include "toml_impl.h"

#define KEY_SEGS ROSTER_CONFIG_DEPTH_MAX

/* ---- positions and errors ---- */

int roster__toml_fail(tp *p, size_t at, const char *fmt, ...) {
  if (at > p->len)
    at = p->len;
  uint32_t line = 1;
  size_t ls = 0;
  for (size_t i = 0; i < at; i++)
    if (p->s[i] == '\n')
      line++, ls = i + 1;
  p->d->line = line;
  p->d->col = roster__config_column(p->s, ls, at);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->d->msg, sizeof p->d->msg, fmt, ap);
  va_end(ap);
  return ROSTER_EPARSE;
}

int roster__toml_oom(tp *p) {
  return roster__config_doc_fail(p->d, ROSTER_ENOMEM, 0, 0, "out of memory");
}

bool roster__toml_newline(tp *p) {
  if (tp_peek(p) == '\n') {
    p->pos++;
  } else if (tp_peek(p) == '\r' && tp_at(p, 1) == '\n') {
    p->pos += 2;
  } else {
    return false;
  }
  p->line++;
  p->ls = p->pos;
  return true;
}

cfg_node *roster__toml_node(tp *p, cfg_kind kind, size_t at) {
  uint32_t col =
      at >= p->ls ? roster__config_col_at(&p->cc, p->s, p->ls, at) : 1;
  return roster__config_node_new(p->d->arena, kind, p->d->src, p->line, col);
}

int roster__toml_count(tp *p, size_t at) {
  if (++p->nodes > ROSTER_CONFIG_NODES_MAX)
    return roster__toml_fail(p, at, "more than %d values",
                             ROSTER_CONFIG_NODES_MAX);
  return ROSTER_OK;
}

static void skip_ws(tp *p) {
  while (tp_peek(p) == ' ' || tp_peek(p) == '\t')
    p->pos++;
}

/* skip_comment skips a '#' comment up to (not including) the newline. */
static int skip_comment(tp *p) {
  if (tp_peek(p) != '#')
    return ROSTER_OK;
  while (p->pos < p->len && p->s[p->pos] != '\n') {
    unsigned char c = (unsigned char)p->s[p->pos];
    if (c == '\r' && tp_at(p, 1) == '\n')
      break;
    if ((c < 0x20 && c != '\t') || c == 0x7F)
      return roster__toml_fail(p, p->pos,
                               "control character U+%04X in a comment", c);
    p->pos++;
  }
  return ROSTER_OK;
}

/* skip_blank skips blanks, newlines and comments (inside arrays). */
static int skip_blank(tp *p) {
  for (;;) {
    skip_ws(p);
    int rc = skip_comment(p);
    if (rc)
      return rc;
    if (!roster__toml_newline(p))
      return ROSTER_OK;
  }
}

/* end_of_line: only blanks and a comment may follow, then a newline. */
static int end_of_line(tp *p) {
  skip_ws(p);
  int rc = skip_comment(p);
  if (rc)
    return rc;
  if (p->pos >= p->len || roster__toml_newline(p))
    return ROSTER_OK;
  return roster__toml_fail(
      p, p->pos, "expected the end of the line, found '%c'", p->s[p->pos]);
}

/* ---- keys ---- */

typedef struct tkey {
  const char *s;
  size_t len;
  size_t at;
  uint32_t line, col; /* taken as it is read, before the value moves on */
} tkey;

static bool bare(int c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* parse_key reads a possibly dotted key into segs. */
static int parse_key(tp *p, tkey *segs, size_t *n) {
  *n = 0;
  for (;;) {
    skip_ws(p);
    if (*n == KEY_SEGS)
      return roster__toml_fail(p, p->pos, "a key with more than %d parts",
                               KEY_SEGS);
    tkey *k = &segs[(*n)++];
    k->at = p->pos;
    k->line = p->line;
    k->col = roster__config_col_at(&p->cc, p->s, p->ls, p->pos);
    int c = tp_peek(p);
    if (c == '"' || c == '\'') {
      int rc = roster__toml_string(p, false, &k->s, &k->len);
      if (rc)
        return rc;
    } else {
      size_t st = p->pos;
      while (bare(tp_peek(p)))
        p->pos++;
      if (p->pos == st)
        return roster__toml_fail(p, st,
                                 c < 0 || c == '\n' || c == '\r'
                                     ? "expected a key"
                                     : "expected a key, found '%c' (bare keys "
                                       "are A-Z a-z 0-9 _ -; quote others)",
                                 c);
      k->s = p->s + st;
      k->len = p->pos - st;
    }
    skip_ws(p);
    if (tp_peek(p) != '.')
      return ROSTER_OK;
    p->pos++;
  }
}

static const char *show(const tkey *k, char *buf, size_t cap) {
  snprintf(buf, cap, "%.*s", (int)(k->len > 60 ? 60 : k->len), k->s);
  return buf;
}

static const char *what_is(const cfg_node *n) {
  switch (n->kind) {
  case CFG_OBJ:
    return n->flags & T_INLINE ? "an inline table" : "a table";
  case CFG_ARR:
    return n->flags & T_AOT ? "an array of tables" : "an array";
  default:
    return "a value";
  }
}

static int parse_value(tp *p, size_t depth, cfg_node **out);

/* freeze marks an inline table and the tables its dotted keys made. */
static void freeze(cfg_node *n) {
  n->flags |= T_INLINE;
  if (n->kind == CFG_OBJ)
    for (size_t i = 0; i < n->u.obj.n; i++)
      if (n->u.obj.v[i].val->kind == CFG_OBJ)
        freeze(n->u.obj.v[i].val);
}

/* keyval parses key = value into table t. */
static int keyval(tp *p, cfg_node *t, size_t depth) {
  tkey segs[KEY_SEGS];
  size_t n;
  char kb[80];
  int rc = parse_key(p, segs, &n);
  if (rc)
    return rc;
  skip_ws(p);
  if (tp_peek(p) != '=')
    return roster__toml_fail(p, p->pos, "expected '=' after the key '%s'",
                             show(&segs[n - 1], kb, sizeof kb));
  p->pos++;
  skip_ws(p);
  size_t vat = p->pos;
  if (p->pos >= p->len || tp_peek(p) == '\n' || tp_peek(p) == '\r' ||
      tp_peek(p) == '#')
    return roster__toml_fail(p, vat, "expected a value after '='");
  cfg_node *v;
  rc = parse_value(p, depth + n, &v);
  if (rc)
    return rc;
  for (size_t i = 0; i + 1 < n; i++) {
    cfg_member *m = roster__config_obj_find(t, segs[i].s, segs[i].len);
    if (!m) {
      if ((rc = roster__toml_count(p, segs[i].at)))
        return rc;
      cfg_node *nt = roster__config_node_new(p->d->arena, CFG_OBJ, p->d->src,
                                             segs[i].line, segs[i].col);
      if (!nt ||
          !roster__config_obj_add(p->d->arena, t, segs[i].s, segs[i].len, nt))
        return roster__toml_oom(p);
      nt->flags = T_DOTTED;
      t = nt;
      continue;
    }
    cfg_node *x = m->val;
    if (x->kind == CFG_OBJ && (x->flags & T_DOTTED) && !(x->flags & T_INLINE)) {
      t = x;
      continue;
    }
    if (x->kind == CFG_OBJ && !(x->flags & T_INLINE))
      return roster__toml_fail(p, segs[i].at,
                               "dotted keys cannot add to table '%s', "
                               "defined with a [header] (line %u)",
                               show(&segs[i], kb, sizeof kb), x->line);
    return roster__toml_fail(p, segs[i].at,
                             "key '%s' is already %s (line %u, column "
                             "%u), which cannot be extended",
                             show(&segs[i], kb, sizeof kb), what_is(x), x->line,
                             x->col);
  }
  tkey *last = &segs[n - 1];
  cfg_member *m = roster__config_obj_find(t, last->s, last->len);
  if (m)
    return roster__toml_fail(p, last->at,
                             "key '%s' is defined twice (first on line "
                             "%u)",
                             show(last, kb, sizeof kb), m->val->line);
  if (!roster__config_obj_add(p->d->arena, t, last->s, last->len, v))
    return roster__toml_oom(p);
  return ROSTER_OK;
}

static int array(tp *p, size_t depth, cfg_node **out) {
  cfg_node *a = roster__toml_node(p, CFG_ARR, p->pos);
  if (!a)
    return roster__toml_oom(p);
  a->flags = T_INLINE;
  p->pos++;
  for (;;) {
    int rc = skip_blank(p);
    if (rc)
      return rc;
    if (p->pos >= p->len)
      return roster__toml_fail(p, p->pos, "unterminated array (expected ']')");
    if (tp_peek(p) == ']') {
      p->pos++;
      break;
    }
    cfg_node *v;
    if ((rc = parse_value(p, depth + 1, &v)))
      return rc;
    if (!roster__config_arr_push(p->d->arena, a, v))
      return roster__toml_oom(p);
    if ((rc = skip_blank(p)))
      return rc;
    if (tp_peek(p) == ',') {
      p->pos++;
      continue;
    }
    if (tp_peek(p) == ']') {
      p->pos++;
      break;
    }
    return roster__toml_fail(p, p->pos,
                             p->pos >= p->len
                                 ? "unterminated array "
                                   "(expected ']')"
                                 : "expected ',' or ']' in the array");
  }
  *out = a;
  return ROSTER_OK;
}

static int inline_table(tp *p, size_t depth, cfg_node **out) {
  size_t start = p->pos;
  cfg_node *t = roster__toml_node(p, CFG_OBJ, p->pos);
  if (!t)
    return roster__toml_oom(p);
  p->pos++;
  skip_ws(p);
  if (tp_peek(p) == '}') {
    p->pos++;
  } else {
    for (;;) {
      int rc = keyval(p, t, depth);
      if (rc)
        return rc;
      skip_ws(p);
      if (tp_peek(p) == ',') {
        p->pos++;
        skip_ws(p);
        if (tp_peek(p) == '}')
          return roster__toml_fail(p, p->pos,
                                   "a trailing comma is not allowed in an "
                                   "inline table");
        continue;
      }
      if (tp_peek(p) == '}') {
        p->pos++;
        break;
      }
      if (p->pos >= p->len || tp_peek(p) == '\n' || tp_peek(p) == '\r')
        return roster__toml_fail(p, start,
                                 "unterminated inline table (an inline "
                                 "table must end on its line)");
      return roster__toml_fail(p, p->pos,
                               "expected ',' or '}' in the inline table");
    }
  }
  freeze(t);
  *out = t;
  return ROSTER_OK;
}

static int parse_value(tp *p, size_t depth, cfg_node **out) {
  size_t at = p->pos;
  if (depth > ROSTER_CONFIG_DEPTH_MAX)
    return roster__toml_fail(p, at, "nested deeper than %d levels",
                             ROSTER_CONFIG_DEPTH_MAX);
  int rc = roster__toml_count(p, at);
  if (rc)
    return rc;
  int c = tp_peek(p);
  if (c == '"' || c == '\'') {
    /* take the position first: a multi-line string ends on a later line */
    cfg_node *n = roster__toml_node(p, CFG_STR, at);
    if (!n)
      return roster__toml_oom(p);
    if ((rc = roster__toml_string(p, true, &n->u.s.p, &n->u.s.len)))
      return rc;
    *out = n;
    return ROSTER_OK;
  }
  if (c == '[')
    return array(p, depth, out);
  if (c == '{')
    return inline_table(p, depth, out);
  if (c < 0)
    return roster__toml_fail(p, at, "expected a value");
  return roster__toml_scalar(p, out);
}

/* ---- headers ---- */

/* header parses [a.b] or [[a.b]] and makes *cur the table it opens. */
static int header(tp *p, cfg_node **cur) {
  size_t at = p->pos;
  uint32_t hline = p->line, hcol = roster__config_column(p->s, p->ls, at);
  bool aot = tp_at(p, 1) == '[';
  p->pos += aot ? 2 : 1;
  tkey segs[KEY_SEGS];
  size_t n;
  char kb[80];
  int rc = parse_key(p, segs, &n);
  if (rc)
    return rc;
  skip_ws(p);
  if (tp_peek(p) != ']' || (aot && tp_at(p, 1) != ']'))
    return roster__toml_fail(
        p, p->pos, "expected '%s' to close the table header", aot ? "]]" : "]");
  p->pos += aot ? 2 : 1;
  if ((rc = end_of_line(p)))
    return rc;
  cfg_arena *a = p->d->arena;
  const cfg_src *src = p->d->src;
  cfg_node *t = p->d->root;
  for (size_t i = 0; i + 1 < n; i++) {
    cfg_member *m = roster__config_obj_find(t, segs[i].s, segs[i].len);
    if (!m) {
      if ((rc = roster__toml_count(p, segs[i].at)))
        return rc;
      cfg_node *nt = roster__config_node_new(a, CFG_OBJ, src, hline, hcol);
      if (!nt || !roster__config_obj_add(a, t, segs[i].s, segs[i].len, nt))
        return roster__toml_oom(p);
      nt->flags = T_IMPLICIT;
      t = nt;
      continue;
    }
    cfg_node *x = m->val;
    if (x->kind == CFG_OBJ && !(x->flags & T_INLINE)) {
      t = x;
    } else if (x->kind == CFG_ARR && (x->flags & T_AOT) && x->u.arr.n) {
      t = x->u.arr.v[x->u.arr.n - 1];
    } else {
      return roster__toml_fail(p, segs[i].at,
                               "key '%s' is already %s (line %u, "
                               "column %u), not a table",
                               show(&segs[i], kb, sizeof kb), what_is(x),
                               x->line, x->col);
    }
  }
  tkey *last = &segs[n - 1];
  cfg_member *m = roster__config_obj_find(t, last->s, last->len);
  if (!aot) {
    if (m) {
      cfg_node *x = m->val;
      if (x->kind == CFG_OBJ && (x->flags & T_IMPLICIT) &&
          !(x->flags & (T_DEFINED | T_DOTTED | T_INLINE))) {
        /* made as a prefix of an earlier header: this defines it, and it
         * now sits where its own header is */
        x->flags |= T_DEFINED;
        x->line = hline;
        x->col = hcol;
        *cur = x;
        return ROSTER_OK;
      }
      if (x->kind == CFG_OBJ && (x->flags & T_DOTTED))
        return roster__toml_fail(p, last->at,
                                 "table '%s' was already made by dotted "
                                 "keys (line %u); a [header] cannot reopen it",
                                 show(last, kb, sizeof kb), x->line);
      if (x->kind == CFG_OBJ && !(x->flags & T_INLINE))
        return roster__toml_fail(p, at,
                                 "table [%s] is defined twice (first at line "
                                 "%u)",
                                 show(last, kb, sizeof kb), x->line);
      return roster__toml_fail(p, last->at,
                               "key '%s' is already %s (line %u, column "
                               "%u)",
                               show(last, kb, sizeof kb), what_is(x), x->line,
                               x->col);
    }
    if ((rc = roster__toml_count(p, last->at)))
      return rc;
    cfg_node *nt = roster__config_node_new(a, CFG_OBJ, src, hline, hcol);
    if (!nt || !roster__config_obj_add(a, t, last->s, last->len, nt))
      return roster__toml_oom(p);
    nt->flags = T_DEFINED;
    *cur = nt;
    return ROSTER_OK;
  }
  cfg_node *arr;
  if (!m) {
    if ((rc = roster__toml_count(p, last->at)))
      return rc;
    arr = roster__config_node_new(a, CFG_ARR, src, hline, hcol);
    if (!arr || !roster__config_obj_add(a, t, last->s, last->len, arr))
      return roster__toml_oom(p);
    arr->flags = T_AOT;
  } else if (m->val->kind == CFG_ARR && (m->val->flags & T_AOT)) {
    arr = m->val;
  } else {
    return roster__toml_fail(p, last->at,
                             "[[%s]] cannot append: '%s' is already %s "
                             "(line %u, column %u)",
                             show(last, kb, sizeof kb),
                             show(last, kb, sizeof kb), what_is(m->val),
                             m->val->line, m->val->col);
  }
  if ((rc = roster__toml_count(p, at)))
    return rc;
  cfg_node *nt = roster__config_node_new(a, CFG_OBJ, src, hline, hcol);
  if (!nt || !roster__config_arr_push(a, arr, nt))
    return roster__toml_oom(p);
  nt->flags = T_DEFINED;
  *cur = nt;
  return ROSTER_OK;
}

int roster__config_parse_toml(cfg_doc *d) {
  tp p = {.d = d, .s = d->text, .len = d->len, .line = 1};
  size_t bad = roster__config_utf8_check(d->text, d->len);
  if (bad < d->len)
    return roster__toml_fail(&p, bad, "invalid UTF-8 (TOML files are UTF-8)");
  d->root = roster__config_node_new(d->arena, CFG_OBJ, d->src, 1, 1);
  if (!d->root)
    return roster__toml_oom(&p);
  d->root->flags = T_DEFINED;
  cfg_node *cur = d->root;
  int rc = ROSTER_OK;
  while (rc == ROSTER_OK && p.pos < p.len) {
    skip_ws(&p);
    int c = tp_peek(&p);
    if (c < 0)
      break;
    if (c == '#') {
      rc = end_of_line(&p);
    } else if (roster__toml_newline(&p)) {
      continue;
    } else if (c == '\r') {
      rc = roster__toml_fail(&p, p.pos,
                             "a carriage return must be followed by a "
                             "line feed");
    } else if (c == '[') {
      rc = header(&p, &cur);
    } else {
      rc = keyval(&p, cur, 0);
      if (rc == ROSTER_OK)
        rc = end_of_line(&p);
    }
  }
  if (rc == ROSTER_OK &&
      roster__config_depth(d->root) > ROSTER_CONFIG_DEPTH_MAX)
    rc = roster__toml_fail(&p, 0, "nested deeper than %d levels",
                           ROSTER_CONFIG_DEPTH_MAX);
  if (rc)
    d->root = NULL;
  return rc;
}
