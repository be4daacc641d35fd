/*
 * db_sql.c: placeholder translation. Callers write $1, $2, ... or ?, the
 * drivers want PostgreSQL's $N, SQLite's ?N or MySQL's positional ?.
 *
 * Written here because no packaged library lexes SQL for all three
 * dialects: this is a small scanner that knows just enough of each to skip
 * what is not code (string literals, quoted identifiers, comments,
 * PostgreSQL's dollar-quoted strings) and to tell a placeholder from an
 * identifier that contains '$' (a$1 is a name in all three). It does not
 * check the SQL otherwise: an unterminated literal simply runs to the end
 * and the server reports it.
 */
#include "db_impl.h"

#include <stdio.h>

typedef struct buf {
  char *p;
  size_t n, cap;
  bool oom;
} buf;

static void put(buf *b, const char *s, size_t n) {
  if (b->oom)
    return;
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    while (b->n + n + 1 > cap)
      cap *= 2;
    char *np = roster__realloc(b->p, cap);
    if (!np) {
      b->oom = true;
      return;
    }
    b->p = np;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = '\0';
}

static void put_num(buf *b, char lead, size_t v) {
  char tmp[16];
  int w = snprintf(tmp, sizeof tmp, "%c%zu", lead, v);
  put(b, tmp, (size_t)w);
}

static bool ident_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '$' || c >= 0x80;
}

static bool tag_start(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         c >= 0x80;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* skip_quoted: s[i] is the opening quote q; returns the index after the
 * closing one (a doubled quote is part of the text; with backslash, \x
 * is too), or len when it never closes. */
static size_t skip_quoted(const char *s, size_t len, size_t i, char q,
                          bool backslash) {
  for (i++; i < len; i++) {
    if (backslash && s[i] == '\\') {
      i++;
      continue;
    }
    if (s[i] == q) {
      if (i + 1 < len && s[i + 1] == q) {
        i++;
        continue;
      }
      return i + 1;
    }
  }
  return len;
}

/* skip_block_comment: s[i..] is "/" "*"; PostgreSQL's nest. */
static size_t skip_block_comment(const char *s, size_t len, size_t i,
                                 bool nested) {
  int depth = 0;
  while (i < len) {
    if (s[i] == '/' && i + 1 < len && s[i + 1] == '*') {
      depth++;
      i += 2;
      if (!nested && depth > 1)
        depth = 1;
    } else if (s[i] == '*' && i + 1 < len && s[i + 1] == '/') {
      i += 2;
      if (--depth == 0)
        return i;
    } else {
      i++;
    }
  }
  return len;
}

static size_t skip_line(const char *s, size_t len, size_t i) {
  while (i < len && s[i] != '\n')
    i++;
  return i;
}

/* dollar_tag: s[i] is '$'; if a dollar quote opens here ($$ or $tag$),
 * returns the tag's length including both '$', else 0. */
static size_t dollar_tag(const char *s, size_t len, size_t i) {
  size_t j = i + 1;
  if (j < len && s[j] == '$')
    return 2;
  if (j >= len || !tag_start((unsigned char)s[j]))
    return 0;
  while (j < len && ident_char((unsigned char)s[j]) && s[j] != '$')
    j++;
  return (j < len && s[j] == '$') ? j - i + 1 : 0;
}

static size_t skip_dollar_quote(const char *s, size_t len, size_t i,
                                size_t tag) {
  for (size_t j = i + tag; j + tag <= len; j++)
    if (s[j] == '$' && memcmp(s + j, s + i, tag) == 0)
      return j + tag;
  return len;
}

/* The scanner's record of one placeholder. */
typedef struct ph {
  size_t at, end; /* byte range in the input */
  size_t num;     /* $N: N; ?: 0 */
} ph;

typedef struct phs {
  ph *v;
  size_t n, cap;
  ph inline_v[16];
} phs;

static bool phs_push(phs *p, ph x) {
  if (p->n == p->cap) {
    size_t cap = p->cap * 2;
    ph *nv = roster__malloc(cap * sizeof *nv);
    if (!nv)
      return false;
    memcpy(nv, p->v, p->n * sizeof *nv);
    if (p->v != p->inline_v)
      roster__free(p->v);
    p->v = nv;
    p->cap = cap;
  }
  p->v[p->n++] = x;
  return true;
}

void roster__db_sql_free(roster__db_sql *s) {
  if (!s)
    return;
  roster__free(s->sql);
  roster__free(s->map);
  memset(s, 0, sizeof *s);
}

int roster__db_translate(roster_db_dialect d, const char *s, size_t len,
                         roster__db_sql *out) {
  memset(out, 0, sizeof *out);
  const bool pg = d == ROSTER_DB_DIALECT_POSTGRESQL;
  const bool my = d == ROSTER_DB_DIALECT_MYSQL;
  const bool lite = d == ROSTER_DB_DIALECT_SQLITE;
  phs p = {.v = NULL, .n = 0, .cap = 16};
  p.v = p.inline_v;
  size_t ndollar = 0, nq = 0, first_dollar = 0, first_q = 0, maxnum = 0;
  int rc = ROSTER_OK;
  /* Pass 1: find the placeholders (and PostgreSQL's "??" escapes, kept as
   * num = SIZE_MAX to be written as one '?'). */
  size_t i = 0;
  while (i < len && rc == ROSTER_OK) {
    char c = s[i];
    unsigned char prev = i ? (unsigned char)s[i - 1] : ' ';
    if (c == '\'') {
      bool bs = my;
      if (pg && i && (prev == 'E' || prev == 'e') &&
          (i < 2 || !ident_char((unsigned char)s[i - 2])))
        bs = true;
      i = skip_quoted(s, len, i, '\'', bs);
    } else if (c == '"') {
      i = skip_quoted(s, len, i, '"', my);
    } else if (c == '`' && !pg) {
      i = skip_quoted(s, len, i, '`', false);
    } else if (c == '[' && lite) {
      while (i < len && s[i] != ']')
        i++;
      i = i < len ? i + 1 : len;
    } else if (c == '-' && i + 1 < len && s[i + 1] == '-' &&
               (!my || i + 2 >= len || (unsigned char)s[i + 2] <= ' ')) {
      i = skip_line(s, len, i);
    } else if (c == '#' && my) {
      i = skip_line(s, len, i);
    } else if (c == '/' && i + 1 < len && s[i + 1] == '*') {
      i = skip_block_comment(s, len, i, pg);
    } else if (c == '$' && !ident_char(prev)) {
      if (i + 1 < len && is_digit(s[i + 1])) {
        size_t j = i + 1, v = 0;
        while (j < len && is_digit(s[j])) {
          if (v <= ROSTER_DB_PARAMS_MAX)
            v = v * 10 + (size_t)(s[j] - '0');
          j++;
        }
        if (v == 0)
          rc = roster__err(ROSTER_EPARSE,
                           "placeholder '$0' at column %zu: "
                           "parameters are numbered from $1",
                           i + 1);
        else if (v > ROSTER_DB_PARAMS_MAX)
          rc = roster__err(ROSTER_EPARSE,
                           "placeholder at column %zu: "
                           "parameters go up to $%d",
                           i + 1, ROSTER_DB_PARAMS_MAX);
        else if (!phs_push(&p, (ph){i, j, v}))
          rc = roster__err(ROSTER_ENOMEM, "out of memory");
        if (rc == ROSTER_OK) {
          if (!ndollar++)
            first_dollar = i;
          if (v > maxnum)
            maxnum = v;
        }
        i = j;
      } else if (pg) {
        size_t tag = dollar_tag(s, len, i);
        i = tag ? skip_dollar_quote(s, len, i, tag) : i + 1;
      } else {
        i++;
      }
    } else if (c == '?') {
      if (pg && i + 1 < len && s[i + 1] == '?') {
        if (!phs_push(&p, (ph){i, i + 2, SIZE_MAX}))
          rc = roster__err(ROSTER_ENOMEM, "out of memory");
        i += 2;
      } else if (i + 1 < len && is_digit(s[i + 1])) {
        rc = roster__err(ROSTER_EPARSE,
                         "placeholder '?%c...' at column %zu: "
                         "write $N or a plain ?",
                         s[i + 1], i + 1);
      } else {
        if (!nq++)
          first_q = i;
        if (nq > ROSTER_DB_PARAMS_MAX)
          rc = roster__err(ROSTER_EPARSE, "more than %d ? placeholders",
                           ROSTER_DB_PARAMS_MAX);
        else if (!phs_push(&p, (ph){i, i + 1, 0}))
          rc = roster__err(ROSTER_ENOMEM, "out of memory");
        i++;
      }
    } else {
      i++;
    }
  }
  if (rc == ROSTER_OK && ndollar && nq) {
    size_t a = first_dollar < first_q ? first_dollar : first_q;
    size_t b = first_dollar < first_q ? first_q : first_dollar;
    rc = roster__err(ROSTER_EPARSE,
                     "the statement mixes $N and ? "
                     "placeholders (a %s at column %zu, a %s at column %zu): "
                     "use one style",
                     a == first_dollar ? "$N" : "?", a + 1,
                     b == first_dollar ? "$N" : "?", b + 1);
  }
  /* Pass 2: write the translation. */
  buf b = {0};
  uint16_t *map = NULL;
  size_t nnative = 0, nparams = ndollar ? maxnum : nq;
  if (rc == ROSTER_OK && my && (ndollar || nq)) {
    map = roster__malloc((ndollar + nq) * sizeof *map);
    if (!map)
      rc = roster__err(ROSTER_ENOMEM, "out of memory");
  }
  if (rc == ROSTER_OK) {
    size_t at = 0, qk = 0;
    put(&b, "", 0);
    for (size_t k = 0; k < p.n; k++) {
      const ph *x = &p.v[k];
      put(&b, s + at, x->at - at);
      at = x->end;
      if (x->num == SIZE_MAX) { /* PostgreSQL "??" */
        put(&b, "?", 1);
        continue;
      }
      size_t num = x->num ? x->num : ++qk; /* 1-based */
      if (pg)
        put_num(&b, '$', num);
      else if (lite)
        put_num(&b, '?', num);
      else {
        put(&b, "?", 1);
        map[nnative] = (uint16_t)(num - 1);
      }
      nnative++;
    }
    put(&b, s + at, len - at);
    if (b.oom)
      rc = roster__err(ROSTER_ENOMEM, "out of memory");
  }
  if (p.v != p.inline_v)
    roster__free(p.v);
  if (rc != ROSTER_OK) {
    roster__free(b.p);
    roster__free(map);
    return rc;
  }
  if (!my)
    nnative = nparams;
  if (map) {
    bool identity = nnative == nparams;
    for (size_t k = 0; identity && k < nnative; k++)
      identity = map[k] == k;
    if (identity) {
      roster__free(map);
      map = NULL;
    }
  }
  out->sql = b.p;
  out->len = b.n;
  out->nparams = nparams;
  out->nnative = nnative;
  out->map = map;
  return ROSTER_OK;
}
