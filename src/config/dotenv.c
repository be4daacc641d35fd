/*
 * dotenv.c: .env files, written here: there is no library for them, only
 * conventions (motdotla/dotenv, bkeepers/dotenv, docker compose), which
 * this follows:
 *
 *   # a comment line
 *   export NAME=value      "export " is allowed and ignored
 *   NAME = value           blanks around '=' are ignored
 *   NAME=value # comment   unquoted: a '#' after a blank starts a comment;
 *                          the value is trimmed; ${VAR} is expanded
 *   NAME='a $literal'      single quotes: as written, no escapes, no ${}
 *   NAME=`literal`         back quotes: the same
 *   NAME="a\nb ${VAR}"     double quotes: \n \r \t \\ \" \$ escapes (other
 *                          backslashes are kept), ${VAR} is expanded
 *   NAME=                  the empty string
 *
 * Quoted values may span lines. Names are [A-Za-z_][A-Za-z0-9_.-]*. A name
 * defined twice keeps the last value. ${VAR} looks in the environment
 * first, then at the variables this file defined above it (the environment
 * wins over the file, as with dotenv). Anything else (a line with no '=',
 * an unterminated quote, text after a closing quote) is an error with its
 * line and column.
 */
#include "config_impl.h"

#include <ctype.h>

typedef struct dp {
  cfg_doc *d;
  const char *s;
  size_t len, pos;
  size_t cur;    /* line_at's cursor: it only moves forward */
  uint32_t line; /* the line of cur */
  size_t ls;     /* where that line starts */
} dp;

/* line_at moves the cursor to at (never backwards) and gives its line
 * and the line's start, so numbering every variable stays linear. */
static void line_at(dp *p, size_t at, uint32_t *line, size_t *ls) {
  for (; p->cur < at; p->cur++)
    if (p->s[p->cur] == '\n')
      p->line++, p->ls = p->cur + 1;
  *line = p->line;
  *ls = p->ls;
}

static int dfail(dp *p, size_t at, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int dfail(dp *p, size_t at, int code, const char *fmt, ...) {
  uint32_t line = 1;
  size_t ls = 0;
  for (size_t i = 0; i < at && i < p->len; i++)
    if (p->s[i] == '\n')
      line++, ls = i + 1;
  p->d->line = line;
  p->d->col = roster__config_column(p->s, ls, at);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->d->msg, sizeof p->d->msg, fmt, ap);
  va_end(ap);
  return code;
}

static int peek(const dp *p) {
  return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static void blanks(dp *p) {
  while (peek(p) == ' ' || peek(p) == '\t')
    p->pos++;
}

/* to_eol skips to just past the end of the line. */
static void to_eol(dp *p) {
  while (p->pos < p->len && p->s[p->pos] != '\n')
    p->pos++;
  if (p->pos < p->len)
    p->pos++;
}

static bool name_char(int c, bool first) {
  return isalpha(c) || c == '_' ||
         (!first && (isdigit(c) || c == '.' || c == '-'));
}

typedef struct lk {
  cfg_lookup_fn fn;
  void *arg;
  const cfg_dotenv *file;
} lk;

static const char *lookup2(void *arg, const char *name, size_t len) {
  lk *l = arg;
  const char *v = l->fn ? l->fn(l->arg, name, len) : NULL;
  return v ? v : roster__config_dotenv_get(l->file, name, len);
}

const char *roster__config_dotenv_get(const cfg_dotenv *e, const char *name,
                                      size_t len) {
  for (size_t i = e->n; i-- > 0;)
    if (strlen(e->v[i].name) == len && memcmp(e->v[i].name, name, len) == 0)
      return e->v[i].value;
  return NULL;
}

static bool push(cfg_arena *a, cfg_dotenv *e, cfg_envvar v) {
  if (e->n == e->cap) {
    size_t cap = e->cap ? e->cap * 2 : 16;
    cfg_envvar *nv = roster__config_alloc(a, cap * sizeof *nv);
    if (!nv)
      return false;
    if (e->n)
      memcpy(nv, e->v, e->n * sizeof *nv);
    e->v = nv;
    e->cap = cap;
  }
  e->v[e->n++] = v;
  return true;
}

/* quoted reads a quoted value (pos on the quote) into b. */
static int quoted(dp *p, cfg_buf *b) {
  size_t start = p->pos;
  char q = p->s[p->pos++];
  for (;;) {
    if (p->pos >= p->len)
      return dfail(p, start, ROSTER_EPARSE,
                   "unterminated %s-quoted value "
                   "(no closing %c)",
                   q == '"'    ? "double"
                   : q == '\'' ? "single"
                               : "back",
                   q);
    char c = p->s[p->pos];
    if (c == q) {
      p->pos++;
      return ROSTER_OK;
    }
    if (c == '\r' && p->pos + 1 < p->len && p->s[p->pos + 1] == '\n') {
      p->pos++;
      continue; /* CRLF inside a value is a newline */
    }
    if (q == '"' && c == '\\' && p->pos + 1 < p->len) {
      char e = p->s[p->pos + 1];
      p->pos += 2;
      switch (e) {
      case 'n':
        roster__config_buf_addc(b, '\n');
        break;
      case 'r':
        roster__config_buf_addc(b, '\r');
        break;
      case 't':
        roster__config_buf_addc(b, '\t');
        break;
      case '\\':
      case '"':
        roster__config_buf_addc(b, e);
        break;
      case '$':
        /* a literal '$': "$${" keeps a following "{" from expanding */
        roster__config_buf_adds(
            b, p->pos < p->len && p->s[p->pos] == '{' ? "$$" : "$");
        break;
      default:
        roster__config_buf_addc(b, '\\');
        roster__config_buf_addc(b, e);
      }
      continue;
    }
    if (c == '\0')
      return dfail(p, p->pos, ROSTER_EPARSE, "a NUL byte in a value");
    roster__config_buf_addc(b, c);
    p->pos++;
  }
}

int roster__config_parse_dotenv(cfg_doc *d, cfg_lookup_fn lookup, void *arg,
                                cfg_dotenv *out) {
  dp p = {.d = d, .s = d->text, .len = d->len, .line = 1};
  lk l = {lookup, arg, out};
  cfg_buf b = {0};
  int rc = ROSTER_OK;
  while (rc == ROSTER_OK && p.pos < p.len) {
    blanks(&p);
    int c = peek(&p);
    if (c < 0)
      break;
    if (c == '\n' || c == '\r' || c == '#') {
      to_eol(&p);
      continue;
    }
    if (p.len - p.pos > 7 && memcmp(p.s + p.pos, "export", 6) == 0 &&
        (p.s[p.pos + 6] == ' ' || p.s[p.pos + 6] == '\t')) {
      p.pos += 6;
      blanks(&p);
    }
    size_t nat = p.pos;
    if (!name_char(peek(&p), true)) {
      rc = dfail(&p, nat, ROSTER_EPARSE,
                 "expected a variable name "
                 "(letters, digits, '_', '.', '-', not starting with a "
                 "digit)");
      break;
    }
    while (name_char(peek(&p), false))
      p.pos++;
    size_t nlen = p.pos - nat;
    blanks(&p);
    if (peek(&p) != '=') {
      rc = dfail(&p, p.pos, ROSTER_EPARSE, "expected '=' after '%.*s'",
                 (int)(nlen > 60 ? 60 : nlen), p.s + nat);
      break;
    }
    p.pos++;
    blanks(&p);
    size_t vat = p.pos;
    b.n = 0;
    if (b.p)
      b.p[0] = '\0';
    c = peek(&p);
    bool expand = c != '\'' && c != '`';
    if (c == '"' || c == '\'' || c == '`') {
      if ((rc = quoted(&p, &b)))
        break;
      blanks(&p);
      c = peek(&p);
      if (c == '#' || c == '\r' || c == '\n' || c < 0) {
        to_eol(&p);
      } else {
        rc = dfail(&p, p.pos, ROSTER_EPARSE,
                   "unexpected text after the "
                   "closing quote (a comment needs '#')");
        break;
      }
    } else {
      size_t end = p.pos;
      while (end < p.len && p.s[end] != '\n' &&
             !(p.s[end] == '#' && end > 0 &&
               (p.s[end - 1] == ' ' || p.s[end - 1] == '\t')))
        end++;
      size_t vend = end;
      while (vend > vat && isspace((unsigned char)p.s[vend - 1]))
        vend--;
      if (memchr(p.s + vat, '\0', vend - vat)) {
        rc = dfail(&p, vat, ROSTER_EPARSE, "a NUL byte in a value");
        break;
      }
      roster__config_buf_add(&b, p.s + vat, vend - vat);
      p.pos = end;
      to_eol(&p);
    }
    if (b.oom) {
      rc = roster__config_doc_fail(d, ROSTER_ENOMEM, 0, 0, "out of memory");
      break;
    }
    const char *v = roster__config_buf_str(&b);
    size_t vlen = b.n;
    if (expand) {
      bool changed;
      size_t at;
      char err[400];
      int erc = roster__config_expand(
          d->arena, roster__config_buf_str(&b), b.n, lookup2, &l,
          roster__config_key_secret(p.s + nat, nlen), &v, &vlen, &changed, &at,
          err, sizeof err);
      if (erc) {
        rc = dfail(&p, vat, erc, "%.*s: %s", (int)(nlen > 60 ? 60 : nlen),
                   p.s + nat, err);
        break;
      }
    }
    uint32_t line;
    size_t ls;
    line_at(&p, nat, &line, &ls);
    cfg_envvar ev = {roster__config_strndup(d->arena, p.s + nat, nlen),
                     roster__config_strndup(d->arena, v, vlen), line,
                     roster__config_column(p.s, ls, vat)};
    if (!ev.name || !ev.value || !push(d->arena, out, ev))
      rc = roster__config_doc_fail(d, ROSTER_ENOMEM, 0, 0, "out of memory");
  }
  roster__config_buf_free(&b);
  return rc;
}
