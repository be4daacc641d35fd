/*
 * text.c: the config's text: growable buffers, the text form of a value
 * (as getters, callbacks and foreach show it), provenance strings, the
 * descriptions in error details, value equality for change callbacks, the
 * problem list a load collects, and the position helpers the parsers
 * share (columns in characters, UTF-8 checks).
 */
#include "config_impl.h"

#include <math.h>
#include <stdlib.h>

/* ---- text buffers ---- */

void roster__config_buf_add(cfg_buf *b, const char *s, size_t n) {
  if (b->oom)
    return;
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->n + n + 1)
      cap *= 2;
    char *p = roster__realloc(b->p, cap);
    if (!p) {
      b->oom = true;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  if (n)
    memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = '\0';
}

void roster__config_buf_adds(cfg_buf *b, const char *s) {
  roster__config_buf_add(b, s, strlen(s));
}
void roster__config_buf_addc(cfg_buf *b, char c) {
  roster__config_buf_add(b, &c, 1);
}

void roster__config_buf_addf(cfg_buf *b, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (w < 0)
    return;
  if ((size_t)w < sizeof tmp) {
    roster__config_buf_add(b, tmp, (size_t)w);
    return;
  }
  char *big = roster__malloc((size_t)w + 1);
  if (!big) {
    b->oom = true;
    return;
  }
  va_start(ap, fmt);
  vsnprintf(big, (size_t)w + 1, fmt, ap);
  va_end(ap);
  roster__config_buf_add(b, big, (size_t)w);
  roster__free(big);
}

const char *roster__config_buf_str(cfg_buf *b) { return b->p ? b->p : ""; }

void roster__config_buf_free(cfg_buf *b) {
  roster__free(b->p);
  *b = (cfg_buf){0};
}

/* ---- text ---- */

static void json_string_text(cfg_buf *out, const char *s, size_t n) {
  roster__config_buf_addc(out, '"');
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      roster__config_buf_addc(out, '\\');
      roster__config_buf_addc(out, (char)c);
    } else if (c < 0x20) {
      roster__config_buf_addf(out, "\\u%04x", c);
    } else {
      roster__config_buf_addc(out, (char)c);
    }
  }
  roster__config_buf_addc(out, '"');
}

static void real_text(cfg_buf *out, double d) {
  if (isnan(d)) {
    roster__config_buf_adds(out, "nan");
  } else if (isinf(d)) {
    roster__config_buf_adds(out, d < 0 ? "-inf" : "inf");
  } else {
    char tmp[40];
    /* the shortest form that reads back the same */
    for (int prec = 1; prec <= 17; prec++) {
      snprintf(tmp, sizeof tmp, "%.*g", prec, d);
      if (strtod(tmp, NULL) == d)
        break;
    }
    roster__config_buf_adds(out, tmp);
    if (!strpbrk(tmp, ".eE"))
      roster__config_buf_adds(out, ".0");
  }
}

static void text_in(const cfg_node *n, cfg_buf *out, bool nested) {
  switch (n->kind) {
  case CFG_NULL:
    roster__config_buf_adds(out, "null");
    break;
  case CFG_BOOL:
    roster__config_buf_adds(out, n->u.b ? "true" : "false");
    break;
  case CFG_INT:
    roster__config_buf_addf(out, "%lld", (long long)n->u.i);
    break;
  case CFG_REAL:
    real_text(out, n->u.d);
    break;
  case CFG_STR:
  case CFG_TEXT:
    if (nested)
      json_string_text(out, n->u.s.p, n->u.s.len);
    else
      roster__config_buf_add(out, n->u.s.p, n->u.s.len);
    break;
  case CFG_OBJ:
    roster__config_buf_addc(out, '{');
    for (size_t i = 0; i < n->u.obj.n; i++) {
      if (i)
        roster__config_buf_addc(out, ',');
      json_string_text(out, n->u.obj.v[i].key, n->u.obj.v[i].klen);
      roster__config_buf_addc(out, ':');
      text_in(n->u.obj.v[i].val, out, true);
    }
    roster__config_buf_addc(out, '}');
    break;
  case CFG_ARR:
    roster__config_buf_addc(out, '[');
    for (size_t i = 0; i < n->u.arr.n; i++) {
      if (i)
        roster__config_buf_addc(out, ',');
      text_in(n->u.arr.v[i], out, true);
    }
    roster__config_buf_addc(out, ']');
    break;
  }
}

void roster__config_text(const cfg_node *n, cfg_buf *out) {
  text_in(n, out, false);
}

const char *roster__config_where(const cfg_node *n, char *buf, size_t cap) {
  const cfg_src *s = n ? n->src : NULL;
  if (!s) {
    snprintf(buf, cap, "(unknown)");
    return buf;
  }
  switch (s->kind) {
  case CFG_SRC_DEFAULT:
    snprintf(buf, cap, "default");
    break;
  case CFG_SRC_OVERRIDE:
    snprintf(buf, cap, "override");
    break;
  case CFG_SRC_ENV:
    snprintf(buf, cap, "env %s", s->name ? s->name : "?");
    break;
  case CFG_SRC_DOTENV:
    if (n->line)
      snprintf(buf, cap, "%s:%u", s->name, n->line);
    else
      snprintf(buf, cap, "%s", s->name);
    break;
  case CFG_SRC_FILE:
    if (n->line)
      snprintf(buf, cap, "%s:%u:%u", s->name, n->line, n->col);
    else
      snprintf(buf, cap, "%s", s->name);
    break;
  }
  return buf;
}

static const char *kind_name(const cfg_node *n) {
  switch (n->kind) {
  case CFG_NULL:
    return "null";
  case CFG_BOOL:
    return "a boolean";
  case CFG_INT:
    return "an integer";
  case CFG_REAL:
    return "a number";
  case CFG_STR:
    return "a string";
  case CFG_TEXT:
    return "text";
  case CFG_OBJ:
    return "an object";
  case CFG_ARR:
    return "a list";
  }
  return "?";
}

void roster__config_redact(const char *s, size_t len, cfg_buf *out) {
  /* a password sits in user-info (before an '@') and a secret parameter
   * in a query (after a '?'): text with neither has nothing to hide */
  if (!memchr(s, '@', len) && !memchr(s, '?', len)) {
    roster__config_buf_add(out, s, len);
    return;
  }
  /* past ROSTER_URL_MAX the redactor may not see the whole text: hide it
   * whole rather than show a password it did not reach */
  if (len > ROSTER_URL_MAX || memchr(s, '\0', len)) {
    roster__config_buf_adds(out, "***");
    return;
  }
  /* "***" in place of a short password or value, and \xNN for a byte
   * that is not text, make the text grow: room for four times the text,
   * and anything that fills it is hidden whole */
  char stack[512];
  size_t cap = 4 * len + 64;
  char *buf = cap <= sizeof stack ? stack : roster__malloc(cap);
  if (!buf) {
    roster__config_buf_adds(out, "***");
    return;
  }
  roster_url_redact(s, buf, cap);
  size_t n = strlen(buf);
  if (n + 1 >= cap)
    roster__config_buf_adds(out, "***");
  else
    roster__config_buf_add(out, buf, n);
  if (buf != stack)
    roster__free(buf);
}

const char *roster__config_describe(const cfg_node *n, bool secret, char *buf,
                                    size_t cap) {
  if (n->kind == CFG_NULL || n->kind == CFG_OBJ || n->kind == CFG_ARR) {
    snprintf(buf, cap, "%s", kind_name(n));
    return buf;
  }
  if (secret) {
    snprintf(buf, cap, "%s (secret)", kind_name(n));
    return buf;
  }
  cfg_buf t = {0};
  bool quote = n->kind == CFG_STR || n->kind == CFG_TEXT;
  if (quote)
    roster__config_redact(n->u.s.p, n->u.s.len, &t);
  else
    roster__config_text(n, &t);
  const char *v = roster__config_buf_str(&t);
  size_t len = strlen(v);
  int shown = len > 60 ? 57 : (int)len;
  snprintf(buf, cap, "%s (%s%.*s%s%s)", kind_name(n), quote ? "\"" : "", shown,
           v, len > 60 ? "..." : "", quote ? "\"" : "");
  roster__config_buf_free(&t);
  return buf;
}

static int kind_class(const cfg_node *n) {
  return n->kind == CFG_TEXT ? CFG_STR : n->kind;
}

bool roster__config_equal(const cfg_node *a, const cfg_node *b) {
  if (kind_class(a) != kind_class(b))
    return false;
  switch (a->kind) {
  case CFG_NULL:
    return true;
  case CFG_BOOL:
    return a->u.b == b->u.b;
  case CFG_INT:
    return a->u.i == b->u.i;
  case CFG_REAL:
    return a->u.d == b->u.d || (isnan(a->u.d) && isnan(b->u.d));
  case CFG_STR:
  case CFG_TEXT:
    return a->u.s.len == b->u.s.len &&
           memcmp(a->u.s.p, b->u.s.p, a->u.s.len) == 0;
  case CFG_OBJ:
    if (a->u.obj.n != b->u.obj.n)
      return false;
    for (size_t i = 0; i < a->u.obj.n; i++) {
      cfg_member *m =
          roster__config_obj_find(b, a->u.obj.v[i].key, a->u.obj.v[i].klen);
      if (!m || !roster__config_equal(a->u.obj.v[i].val, m->val))
        return false;
    }
    return true;
  case CFG_ARR:
    if (a->u.arr.n != b->u.arr.n)
      return false;
    for (size_t i = 0; i < a->u.arr.n; i++)
      if (!roster__config_equal(a->u.arr.v[i], b->u.arr.v[i]))
        return false;
    return true;
  }
  return false;
}

/* ---- problems ---- */

void roster__config_problem_add(cfg_problems *p, int code, const char *fmt,
                                ...) {
  if (p->oom)
    return;
  if (p->n == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 8;
    cfg_problem *v = roster__realloc(p->v, cap * sizeof *v);
    if (!v) {
      p->oom = true;
      return;
    }
    p->v = v;
    p->cap = cap;
  }
  char tmp[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  roster__clean(tmp, sizeof tmp); /* no raw control byte in a problem */
  char *m = roster__strndup(tmp, strlen(tmp));
  if (!m) {
    p->oom = true;
    return;
  }
  p->v[p->n++] = (cfg_problem){code, m};
}

void roster__config_problems_free(cfg_problems *p) {
  for (size_t i = 0; i < p->n; i++)
    roster__free(p->v[i].msg);
  roster__free(p->v);
  *p = (cfg_problems){0};
}

int roster__config_problems_report(const cfg_problems *p) {
  if (p->n == 0)
    return p->oom ? roster__err(ROSTER_ENOMEM, "out of memory (config)")
                  : ROSTER_OK;
  char d[1000];
  size_t o = 0;
  d[0] = '\0';
  size_t shown = 0;
  for (size_t i = 0; i < p->n; i++) {
    size_t len = strlen(p->v[i].msg);
    size_t room = sizeof d - o;
    /* keep room for the "and N more" tail */
    if (shown && len + 2 + 48 >= room)
      break;
    int w = snprintf(d + o, room, "%s%s", shown ? "; " : "", p->v[i].msg);
    if (w < 0)
      break;
    o += (size_t)w < room ? (size_t)w : room - 1;
    shown++;
  }
  if (shown < p->n)
    snprintf(d + o, sizeof d - o,
             "; and %zu more (roster_config_errors "
             "lists them all)",
             p->n - shown);
  return roster__err(p->v[0].code, "%s", d);
}

char *roster__config_problems_join(const cfg_problems *p) {
  cfg_buf b = {0};
  for (size_t i = 0; i < p->n; i++) {
    roster__config_buf_adds(&b, p->v[i].msg);
    roster__config_buf_addc(&b, '\n');
  }
  if (p->oom)
    roster__config_buf_adds(
        &b, "(out of memory: some problems were not recorded)\n");
  if (b.oom) {
    roster__config_buf_free(&b);
    return NULL;
  }
  return b.p;
}

/* ---- documents ---- */

int roster__config_doc_fail(cfg_doc *d, int code, uint32_t line, uint32_t col,
                            const char *fmt, ...) {
  d->line = line;
  d->col = col;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(d->msg, sizeof d->msg, fmt, ap);
  va_end(ap);
  return code;
}

uint32_t roster__config_column(const char *text, size_t line_start,
                               size_t pos) {
  uint32_t col = 1;
  for (size_t i = line_start; i < pos; i++)
    if (((unsigned char)text[i] & 0xC0) != 0x80)
      col++;
  return col;
}

uint32_t roster__config_col_at(cfg_colcur *c, const char *text,
                               size_t line_start, size_t pos) {
  if (c->col == 0 || c->ls != line_start || pos < c->pos) {
    c->ls = c->pos = line_start;
    c->col = 1;
  }
  for (; c->pos < pos; c->pos++)
    if (((unsigned char)text[c->pos] & 0xC0) != 0x80)
      c->col++;
  return c->col;
}

size_t roster__config_utf8_check(const char *str, size_t len) {
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;
  while (i < len) {
    unsigned char c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return i;
    }
    for (size_t k = 1; k <= n; k++) {
      if (i + k >= len || (s[i + k] & 0xC0) != 0x80)
        return i;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return i;
    i += n + 1;
  }
  return len;
}
