/*
 * fuzz_sql_placeholders.c: placeholder translation (src/db/db_sql.c,
 * roster__db_translate), the step every roster_db statement goes through,
 * on raw SQL and on SQL generated from pieces whose translation is known.
 *
 * Input: the first byte picks the dialect (1 + byte % 3: SQLite,
 * PostgreSQL, MySQL) and the mode: after a digit the rest is raw SQL (cut
 * at its first NUL, as the callers pass C strings); after any other byte
 * the rest drives a generator of up to 64 pieces: code, placeholders ($N,
 * ?, PostgreSQL's ??), and everything that is not code with random bytes
 * inside (string literals, E'' strings, quoted identifiers, backticks,
 * SQLite's [..], -- # and block comments, PostgreSQL's nested comments and
 * dollar quotes), each in the dialects that have it.
 *
 * Properties:
 *  - raw SQL: the call succeeds or says ROSTER_EPARSE; only placeholders
 *    change, so the input and the output are equal once '$', '?' and
 *    digits are removed from both; the output is at most 5 bytes longer
 *    per '?' of the input; the counts are consistent (MySQL's map only
 *    names given parameters); translating to the caller's own style
 *    changes nothing (PostgreSQL with $N, MySQL with ?), so a MySQL
 *    translation translates to itself again;
 *  - generated SQL: the output is exactly the expected text, with the
 *    expected counts and map, or ROSTER_EPARSE where the pieces call for
 *    it ($0, a number past 65535, ?N, both styles);
 *  - a refusal leaves an error detail of clean text (not empty, valid
 *    UTF-8, no control character).
 *
 * Inputs up to 2048 bytes: long raw SQL, and room for the generator's 64
 * pieces (most take under 30 bytes).
 * fuzz-max-len: 2048
 */
#include "fuzz_util.h"

#include "db/db_impl.h"

/* ---- raw SQL -------------------------------------------------------- */

/* strip removes '$', '?' and digits. */
static void strip(const char *s, size_t n, fuzz_buf *out) {
  fuzz_buf_reset(out);
  for (size_t i = 0; i < n; i++)
    if (s[i] != '$' && s[i] != '?' && (s[i] < '0' || s[i] > '9'))
      fuzz_buf_addc(out, s[i]);
}

static size_t count_byte(const char *s, size_t n, char c) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    k += s[i] == c;
  return k;
}

/* dollar_digit: a '$' followed by a digit somewhere in s. */
static bool dollar_digit(const char *s, size_t n) {
  for (size_t i = 0; i + 1 < n; i++)
    if (s[i] == '$' && s[i + 1] >= '0' && s[i + 1] <= '9')
      return true;
  return false;
}

/* digit_dollar: a digit followed by '$' somewhere in s. */
static bool digit_dollar(const char *s, size_t n) {
  for (size_t i = 0; i + 1 < n; i++)
    if (s[i + 1] == '$' && s[i] >= '0' && s[i] <= '9')
      return true;
  return false;
}

static void check_out(roster_db_dialect d, const roster__db_sql *o) {
  FUZZ_CHECK(o->sql && strlen(o->sql) == o->len,
             "output length %zu, strlen %zu", o->len,
             o->sql ? strlen(o->sql) : 0);
  FUZZ_CHECK(o->nparams <= ROSTER_DB_PARAMS_MAX, "nparams %zu", o->nparams);
  if (d != ROSTER_DB_DIALECT_MYSQL) {
    FUZZ_CHECK(o->nnative == o->nparams && !o->map, "nnative %zu, nparams %zu",
               o->nnative, o->nparams);
    return;
  }
  FUZZ_CHECK(o->nnative <= count_byte(o->sql, o->len, '?'),
             "%zu native placeholders, %zu '?' in the output", o->nnative,
             count_byte(o->sql, o->len, '?'));
  FUZZ_CHECK(o->map || o->nnative == o->nparams,
             "no map, but %zu native placeholders for %zu parameters",
             o->nnative, o->nparams);
  for (size_t k = 0; o->map && k < o->nnative; k++)
    FUZZ_CHECK(o->map[k] < o->nparams, "map[%zu] = %u of %zu parameters", k,
               o->map[k], o->nparams);
}

static void check_error(int rc) {
  FUZZ_CHECK(rc == ROSTER_EPARSE, "translate failed with %d: %s", rc,
             roster_last_error());
  fuzz_error_ok("roster__db_translate", rc, NULL);
}

static void raw(roster_db_dialect d, const uint8_t *data, size_t size) {
  const uint8_t *z = memchr(data, 0, size);
  size_t len = z ? (size_t)(z - data) : size;
  char *sql = fuzz_copy_exact(data, len);
  roster__db_sql o;
  int rc = roster__db_translate(d, sql, len, &o);
  if (rc != ROSTER_OK) {
    check_error(rc);
    free(sql);
    return;
  }
  check_out(d, &o);
  fuzz_buf a = {0}, b = {0};
  strip(sql, len, &a);
  strip(o.sql, o.len, &b);
  FUZZ_CHECK(a.n == b.n && memcmp(a.p, b.p, a.n) == 0,
             "the translation changed more than placeholders: %s", o.sql);
  size_t nq = count_byte(sql, len, '?');
  FUZZ_CHECK(o.len <= len + 5 * nq, "output %zu bytes for %zu with %zu '?'",
             o.len, len, nq);
  bool same_style = (d == ROSTER_DB_DIALECT_POSTGRESQL && nq == 0 &&
                     !memmem(sql, len, "$0", 2)) ||
                    (d == ROSTER_DB_DIALECT_MYSQL && !dollar_digit(sql, len));
  if (same_style)
    FUZZ_CHECK(o.len == len && memcmp(o.sql, sql, len) == 0,
               "translating to the same style changed the text: %s", o.sql);
  /* MySQL's output translates to itself, unless a '$' follows a digit
   * (in "$1$2" the second is part of a name, in "?$2" it is not). */
  if (d == ROSTER_DB_DIALECT_MYSQL && !digit_dollar(sql, len)) {
    roster__db_sql o2;
    rc = roster__db_translate(d, o.sql, o.len, &o2);
    FUZZ_CHECK(rc == ROSTER_OK, "the translation does not translate again: %s",
               roster_last_error());
    FUZZ_CHECK(o2.len == o.len && memcmp(o2.sql, o.sql, o.len) == 0 &&
                   o2.nnative == o.nnative && !o2.map,
               "a second translation changed the text: %s", o2.sql);
    roster__db_sql_free(&o2);
  }
  free(a.p);
  free(b.p);
  roster__db_sql_free(&o);
  free(sql);
}

/* ---- generated SQL -------------------------------------------------- */

typedef struct gen {
  roster_db_dialect d;
  bool pg, my, lite;
  fuzz_reader r;
  fuzz_buf in, exp;
  size_t nq, ndollar, maxnum;
  bool error;        /* the pieces call for ROSTER_EPARSE */
  uint16_t map[512]; /* MySQL: the parameter of each native placeholder */
  size_t nmap;
} gen;

/* content takes up to 40 bytes of the input for the inside of a literal
 * or comment (a NUL becomes '$'). */
static void content(gen *g, fuzz_buf *c) {
  size_t n;
  const uint8_t *p = fuzz_bytes(&g->r, fuzz_u8(&g->r) % 41, &n);
  fuzz_buf_reset(c);
  for (size_t i = 0; i < n; i++)
    fuzz_buf_addc(c, p[i] ? (char)p[i] : '$');
}

/* both appends the same text to the input and the expected output. */
static void both(gen *g, const char *p, size_t n) {
  fuzz_buf_add(&g->in, p, n);
  fuzz_buf_add(&g->exp, p, n);
}
static void both_s(gen *g, const char *p) { both(g, p, strlen(p)); }

/* quoted appends open + c + close with every close doubled inside (and,
 * with bs, every backslash doubled too). */
static void quoted(gen *g, const char *open, const fuzz_buf *c, char close,
                   bool bs) {
  both_s(g, open);
  for (size_t i = 0; i < c->n; i++) {
    if (c->p[i] == close || (bs && c->p[i] == '\\'))
      both(g, &c->p[i], 1);
    both(g, &c->p[i], 1);
  }
  both(g, &close, 1);
}

/* line appends lead + c (no newline) + "\n". */
static void line(gen *g, const char *lead, const fuzz_buf *c) {
  both_s(g, lead);
  for (size_t i = 0; i < c->n; i++)
    if (c->p[i] != '\n')
      both(g, &c->p[i], 1);
  both_s(g, "\n");
}

/* comment_text appends c with no "/" "*" or "*" "/" pair in it, and no '/'
 * last (it would open a comment with the closing "*" "/"). */
static void comment_text(gen *g, const fuzz_buf *c) {
  for (size_t i = 0; i < c->n; i++) {
    char ch = c->p[i] == '*' ? '+' : c->p[i];
    if (ch == '/' && i + 1 == c->n)
      ch = '|';
    both(g, &ch, 1);
  }
}

static void placeholder(gen *g, size_t num) {
  char t[16];
  if (g->pg || g->lite) {
    snprintf(t, sizeof t, "%c%zu", g->pg ? '$' : '?', num);
    fuzz_buf_adds(&g->exp, t);
  } else {
    fuzz_buf_addc(&g->exp, '?');
    if (g->nmap < sizeof g->map / sizeof g->map[0])
      g->map[g->nmap] = (uint16_t)(num - 1);
    g->nmap++;
  }
}

static void piece(gen *g, fuzz_buf *c) {
  static const char code[] = "abcxyzEeABC_0123456789 ,()=<>+;.:%!&|~^\n\t";
  uint8_t op = fuzz_u8(&g->r);
  switch (op % 16) {
  case 0: { /* code */
    size_t n = op / 16 + 1;
    for (size_t i = 0; i < n; i++)
      both(g, &code[fuzz_u8(&g->r) % (sizeof code - 1)], 1);
    both_s(g, " ");
    break;
  }
  case 1: { /* $N, maybe with leading zeros, maybe 0 or too large */
    uint16_t v = fuzz_u16(&g->r);
    unsigned zeros = (op >> 4) & 3;
    size_t num = (op >> 6) == 3 ? 65536 + v : v;
    char t[32];
    snprintf(t, sizeof t, " $%.*s%zu ", (int)zeros, "000", num);
    fuzz_buf_adds(&g->in, t);
    fuzz_buf_addc(&g->exp, ' ');
    if (num == 0 || num > ROSTER_DB_PARAMS_MAX)
      g->error = true;
    else
      placeholder(g, num);
    fuzz_buf_addc(&g->exp, ' ');
    g->ndollar++;
    if (num > g->maxnum)
      g->maxnum = num;
    break;
  }
  case 2:
  case 3: /* ? */
    fuzz_buf_adds(&g->in, " ? ");
    fuzz_buf_addc(&g->exp, ' ');
    placeholder(g, ++g->nq);
    fuzz_buf_addc(&g->exp, ' ');
    break;
  case 4: /* ?? : one '?' for PostgreSQL, two placeholders elsewhere */
    if (g->pg) {
      fuzz_buf_adds(&g->in, " ?? ");
      fuzz_buf_adds(&g->exp, " ? ");
    } else {
      fuzz_buf_adds(&g->in, " ?");
      fuzz_buf_addc(&g->exp, ' ');
      placeholder(g, ++g->nq);
      fuzz_buf_adds(&g->in, "? ");
      placeholder(g, ++g->nq);
      fuzz_buf_addc(&g->exp, ' ');
    }
    break;
  case 5: /* ?N: refused */
    fuzz_buf_adds(&g->in, " ?1 ");
    g->error = true;
    break;
  case 6: /* a string literal */
    content(g, c);
    quoted(g, " '", c, '\'', g->my);
    break;
  case 7: /* PostgreSQL's E'' string; a quoted x elsewhere */
    content(g, c);
    if (g->pg)
      quoted(g, (op & 16) ? " e'" : " E'", c, '\'', true);
    else
      quoted(g, " x'", c, '\'', g->my);
    break;
  case 8: /* xE'...': not an E string, backslashes are text */
    content(g, c);
    quoted(g, " xE'", c, '\'', g->my);
    break;
  case 9: /* a quoted identifier */
    content(g, c);
    quoted(g, " \"", c, '"', g->my);
    break;
  case 10: /* backticks (MySQL, SQLite); SQLite's [..] */
    content(g, c);
    if (g->pg)
      break;
    if (g->lite && (op & 16)) {
      both_s(g, " [");
      for (size_t i = 0; i < c->n; i++)
        if (c->p[i] != ']')
          both(g, &c->p[i], 1);
      both_s(g, "]");
    } else {
      quoted(g, " `", c, '`', false);
    }
    break;
  case 11: /* -- comment (MySQL's needs a blank after the dashes) */
    content(g, c);
    line(g, g->my ? " -- " : " --", c);
    break;
  case 12: /* # comment (MySQL); plain code elsewhere is not safe: skip */
    content(g, c);
    if (g->my)
      line(g, " #", c);
    break;
  case 13: { /* a block comment; PostgreSQL's nest */
    content(g, c);
    both_s(g, " /*");
    comment_text(g, c);
    if (op & 16) {
      content(g, c);
      both_s(g, " /*");
      comment_text(g, c);
      both_s(g, " */");
      if (!g->pg) { /* the first end closed it */
        both_s(g, " ");
        break;
      }
      content(g, c);
      comment_text(g, c);
    }
    both_s(g, " */ ");
    break;
  }
  case 14: { /* PostgreSQL's dollar quote */
    static const char *const tags[] = {"", "a", "tag", "_x1", "\xc3\xa9"};
    content(g, c);
    if (!g->pg)
      break;
    const char *tg = tags[(op >> 4) % 5];
    char open[16];
    snprintf(open, sizeof open, "$%s$", tg);
    size_t tl = strlen(open);
    /* the first "$tag$" of body + close must be the close */
    fuzz_buf body = {0};
    fuzz_buf_add(&body, c->p, c->n);
    fuzz_buf_add(&body, open, tl);
    for (;;) {
      char *hit = memmem(body.p, body.n, open, tl);
      if (!hit || (size_t)(hit - body.p) == body.n - tl)
        break;
      *hit = 'S';
    }
    both_s(g, " ");
    both(g, open, tl);
    both(g, body.p, body.n);
    both_s(g, " ");
    free(body.p);
    break;
  }
  default: /* a lone '-' or '/' */
    both_s(g, (op & 16) ? " - " : " / ");
    break;
  }
}

static void generated(roster_db_dialect d, const uint8_t *data, size_t size) {
  gen g = {.d = d,
           .pg = d == ROSTER_DB_DIALECT_POSTGRESQL,
           .my = d == ROSTER_DB_DIALECT_MYSQL,
           .lite = d == ROSTER_DB_DIALECT_SQLITE,
           .r = {data, size}};
  fuzz_buf c = {0};
  fuzz_buf_reset(&g.in);
  fuzz_buf_reset(&g.exp);
  for (int k = 0; k < 64 && g.r.n; k++)
    piece(&g, &c);
  if (g.ndollar && g.nq)
    g.error = true;
  char *sql = fuzz_copy_exact(g.in.p, g.in.n);
  roster__db_sql o;
  int rc = roster__db_translate(d, sql, g.in.n, &o);
  if (g.error) {
    FUZZ_CHECK(rc != ROSTER_OK, "accepted, expected ROSTER_EPARSE: %s", g.in.p);
    check_error(rc);
  } else {
    FUZZ_CHECK(rc == ROSTER_OK, "refused (%s): %s", roster_last_error(),
               g.in.p);
    check_out(d, &o);
    if (o.len != g.exp.n || memcmp(o.sql, g.exp.p, o.len) != 0) {
      fuzz_show("sql", g.in.p, g.in.n);
      fuzz_show("expected", g.exp.p, g.exp.n);
      fuzz_show("got", o.sql, o.len);
      FUZZ_CHECK(false, "the translation differs from the expected text");
    }
    size_t nparams = g.ndollar ? g.maxnum : g.nq;
    FUZZ_CHECK(o.nparams == nparams, "nparams %zu, expected %zu", o.nparams,
               nparams);
    if (g.my) {
      FUZZ_CHECK(o.nnative == g.nmap, "nnative %zu, expected %zu", o.nnative,
                 g.nmap);
      bool identity = g.nmap == nparams;
      for (size_t k = 0; identity && k < g.nmap && k < 512; k++)
        identity = g.map[k] == k;
      FUZZ_CHECK(!o.map == identity, "map %s, expected %s",
                 o.map ? "given" : "NULL", identity ? "NULL" : "a map");
      for (size_t k = 0; o.map && k < g.nmap && k < 512; k++)
        FUZZ_CHECK(o.map[k] == g.map[k], "map[%zu] = %u, expected %u", k,
                   o.map[k], g.map[k]);
    }
    roster__db_sql_free(&o);
  }
  free(sql);
  free(c.p);
  free(g.in.p);
  free(g.exp.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_begin(data, size);
  if (size == 0)
    return 0;
  roster_db_dialect d = (roster_db_dialect)(1 + data[0] % 3);
  if (data[0] >= '0' && data[0] <= '9')
    raw(d, data + 1, size - 1);
  else
    generated(d, data + 1, size - 1);
  return 0;
}
