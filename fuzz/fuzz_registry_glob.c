/*
 * fuzz_registry_glob.c: the registry's glob (src/core/glob.c, used by
 * roster_select, roster_foreach and roster_count_match) against a
 * reference matcher written here from the syntax registry.h documents:
 * '*' any run of bytes, '?' any one byte, '\' makes the next byte literal
 * (a trailing '\' is itself), and classes '[abc]', '[a-z]', '[!x]' (or
 * '[^x]'), where a ']' right after '[' or '[!' is a member, '\' escapes a
 * byte, '-' first or last is itself, a reversed range holds nothing and
 * ranges compare unsigned bytes; a '[' that is never closed is a literal
 * '['. The reference is the textbook recursion over (pattern, subject)
 * positions, memoized, so it is independent of glob.c's one-backtrack
 * walk.
 *
 * Input: a pattern line, a namespace-pattern line, then up to 8 subject
 * lines.
 *
 * Properties:
 *  - roster__glob agrees with the reference on the pattern against each
 *    subject, the namespace pattern and the rest of the input (any bytes,
 *    NUL included), on the rest against the pattern, and on the namespace
 *    pattern against each subject;
 *  - roster_select and roster_count_match over a registry of fixed,
 *    awkward names, with the two patterns (as C strings: a NUL ends them)
 *    and with the pattern alone, return exactly the entries the reference
 *    picks, each once;
 *  - an empty pattern or one longer than ROSTER_NAME_MAX is refused
 *    (ROSTER_EINVAL, an error detail of clean text: not empty, valid
 *    UTF-8, no control character; a count of 0).
 *
 * Inputs up to 1024 bytes: patterns past ROSTER_NAME_MAX (255) too.
 * fuzz-max-len: 1024
 */
#include "fuzz_util.h"

/* The matcher under test (src/core/roster_impl.h). */
bool roster__glob(const char *pat, size_t plen, const char *s, size_t slen);

/* ---- the reference -------------------------------------------------- */

typedef struct ref {
  const unsigned char *p, *s;
  size_t pl, sl;
  unsigned char *memo; /* (pl + 1) x (sl + 1): 0 unknown, 1 no, 2 yes */
} ref;

/* parse_class: p[i] is '['. On a closed class, fills set and *next (past
 * the ']') and returns true; false for a '[' never closed. */
static bool parse_class(const unsigned char *p, size_t pl, size_t i,
                        bool set[256], size_t *next) {
  memset(set, 0, 256 * sizeof set[0]);
  i++;
  bool neg = false;
  if (i < pl && (p[i] == '!' || p[i] == '^')) {
    neg = true;
    i++;
  }
  bool first = true;
  for (;;) {
    if (i >= pl)
      return false;
    if (p[i] == ']' && !first)
      break;
    first = false;
    unsigned lo = p[i];
    if (lo == '\\' && i + 1 < pl)
      lo = p[++i];
    i++;
    unsigned hi = lo;
    if (i + 1 < pl && p[i] == '-' && p[i + 1] != ']') {
      i++;
      hi = p[i];
      if (hi == '\\' && i + 1 < pl)
        hi = p[++i];
      i++;
    }
    for (unsigned c = lo; c <= hi; c++)
      set[c] = true;
  }
  if (neg)
    for (unsigned c = 0; c < 256; c++)
      set[c] = !set[c];
  *next = i + 1;
  return true;
}

static bool rmatch(ref *r, size_t pi, size_t si) {
  unsigned char *m = &r->memo[pi * (r->sl + 1) + si];
  if (*m)
    return *m == 2;
  bool ok;
  if (pi == r->pl) {
    ok = si == r->sl;
  } else {
    unsigned char c = r->p[pi];
    if (c == '*') {
      ok = rmatch(r, pi + 1, si) || (si < r->sl && rmatch(r, pi, si + 1));
    } else if (si == r->sl) {
      ok = false;
    } else if (c == '?') {
      ok = rmatch(r, pi + 1, si + 1);
    } else if (c == '[') {
      bool set[256];
      size_t next;
      if (parse_class(r->p, r->pl, pi, set, &next))
        ok = set[r->s[si]] && rmatch(r, next, si + 1);
      else
        ok = r->s[si] == '[' && rmatch(r, pi + 1, si + 1);
    } else if (c == '\\' && pi + 1 < r->pl) {
      ok = r->s[si] == r->p[pi + 1] && rmatch(r, pi + 2, si + 1);
    } else {
      ok = r->s[si] == c && rmatch(r, pi + 1, si + 1);
    }
  }
  *m = ok ? 2 : 1;
  return ok;
}

/* The recursion goes one frame per subject byte at most, plus one per
 * pattern byte: bound both so the stack stays small. */
#define MAX_LEN 2048

static bool ref_match(const void *p, size_t pl, const void *s, size_t sl) {
  ref r = {p, s, pl, sl, calloc((pl + 1) * (sl + 1), 1)};
  if (!r.memo)
    abort();
  bool ok = rmatch(&r, 0, 0);
  free(r.memo);
  return ok;
}

/* ---- the registry --------------------------------------------------- */

static const roster_type thing_type = {.name = "thing"};

static const char *const names[] = {
    "db",   "db.main", "db.replica", "cache",    "cache:users",
    "log",  "a",       "aa",         "ab",       "[x]",
    "x",    "*",       "?",          "\\",       "a\\b",
    "-",    "]",       "!",          "^",        "caf\xc3\xa9",
    "\xff", "a b",     "a\tb",       "UPPER",    "with-dash_1",
    "[",    "[!]",     "a[b",        "\x7f\x01", "cache:*",
};
static const char *const spaces[] = {"default", "svc", "svc.db", "[ns]"};
#define NNAMES (sizeof names / sizeof names[0])
#define NSPACES (sizeof spaces / sizeof spaces[0])

static roster *reg;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  if (roster_new(NULL, &reg) != ROSTER_OK)
    abort();
  /* every name in the default namespace, every third one elsewhere */
  for (size_t s = 0; s < NSPACES; s++)
    for (size_t i = s; i < NNAMES; i += s ? 3 : 1)
      if (roster_register(reg, spaces[s], names[i], &thing_type, NULL) !=
          ROSTER_OK) {
        fprintf(stderr, "fuzz_registry_glob: %s\n", roster_last_error());
        abort();
      }
  return 0;
}

static bool registered(size_t s, size_t i) {
  return s == 0 || (i >= s && (i - s) % 3 == 0);
}

static void check_pair(const uint8_t *p, size_t pl, const uint8_t *s,
                       size_t sl) {
  if (pl > MAX_LEN || sl > MAX_LEN)
    return;
  char *pc = fuzz_copy_exact(p, pl), *sc = fuzz_copy_exact(s, sl);
  bool got = roster__glob(pc, pl, sc, sl);
  bool want = ref_match(p, pl, s, sl);
  if (got != want) {
    fuzz_show("pattern", p, pl);
    fuzz_show("subject", s, sl);
    FUZZ_CHECK(false, "registry glob says %s, the documented syntax %s",
               got ? "match" : "no match", want ? "match" : "no match");
  }
  free(pc);
  free(sc);
}

/* check_select: p and nsp are C strings here (the API's view: a NUL in
 * the input ends them). */
static void check_select(const uint8_t *p, size_t pl, const uint8_t *nsp,
                         size_t nl, bool use_ns) {
  char *pat = fuzz_strndup(p, pl), *ns = use_ns ? fuzz_strndup(nsp, nl) : NULL;
  pl = strlen(pat);
  nl = ns ? strlen(ns) : 0;
  roster_query q = {.ns = ns, .pattern = pat};
  roster_list list = {0};
  int rc = roster_select(reg, &q, &list);
  size_t counted = roster_count_match(reg, &q);
  bool valid = pl >= 1 && pl <= ROSTER_NAME_MAX &&
               (!use_ns || (nl >= 1 && nl <= ROSTER_NAME_MAX));
  if (!valid) {
    FUZZ_CHECK(rc == ROSTER_EINVAL, "select of a bad pattern: %d", rc);
    fuzz_error_ok("roster_select", rc, NULL);
    FUZZ_CHECK(counted == 0, "count_match of a bad pattern: %zu", counted);
    free(pat);
    free(ns);
    return;
  }
  FUZZ_CHECK(rc == ROSTER_OK, "select: %s", roster_last_error());
  bool want[NSPACES][NNAMES];
  size_t nwant = 0;
  for (size_t s = 0; s < NSPACES; s++) {
    bool ns_ok =
        use_ns ? ref_match(nsp, nl, spaces[s], strlen(spaces[s])) : s == 0;
    for (size_t i = 0; i < NNAMES; i++) {
      want[s][i] = ns_ok && registered(s, i) &&
                   ref_match(p, pl, names[i], strlen(names[i]));
      nwant += want[s][i];
    }
  }
  FUZZ_CHECK(list.count == nwant, "select found %zu entries, expected %zu",
             list.count, nwant);
  FUZZ_CHECK(counted == nwant, "count_match says %zu, expected %zu", counted,
             nwant);
  for (size_t k = 0; k < list.count; k++) {
    size_t s = 0, i = 0;
    while (s < NSPACES && strcmp(spaces[s], list.items[k].ns) != 0)
      s++;
    FUZZ_CHECK(s < NSPACES, "select returned namespace '%s'", list.items[k].ns);
    while (i < NNAMES && strcmp(names[i], list.items[k].name) != 0)
      i++;
    FUZZ_CHECK(i < NNAMES && want[s][i], "select returned '%s' in '%s'",
               list.items[k].name, list.items[k].ns);
    want[s][i] = false; /* a second copy would fail here */
  }
  roster_list_free(&list);
  free(pat);
  free(ns);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_begin(data, size);
  fuzz_reader r = {data, size};
  size_t pl, nl;
  const uint8_t *pat = fuzz_field(&r, '\n', &pl);
  const uint8_t *rest = r.p;
  size_t restlen = r.n;
  const uint8_t *nsp = fuzz_field(&r, '\n', &nl);
  bool use_ns = restlen > 0;

  check_pair(pat, pl, rest, restlen);
  check_pair(rest, restlen, pat, pl);
  check_pair(pat, pl, nsp, nl);
  for (int k = 0; k < 8 && r.n; k++) {
    size_t sl;
    const uint8_t *s = fuzz_field(&r, '\n', &sl);
    check_pair(pat, pl, s, sl);
    check_pair(nsp, nl, s, sl);
  }
  /* the registered names are matched by check_select, through the API */
  check_select(pat, pl, nsp, nl, use_ns);
  if (use_ns)
    check_select(pat, pl, NULL, 0, false);
  return 0;
}
