/*
 * glob_ref.h: reference matchers for the two dialects of roster's one glob
 * matcher (src/base/glob.c, roster__glob), shared by fuzz_registry_glob
 * and fuzz_cache_glob, and the property both harnesses check on every
 * (pattern, subject) pair: each mode agrees with its reference.
 *
 * - names_ref_match: the registry's names (ROSTER__GLOB_NAMES), written
 *   from the syntax registry.h documents: '*' any run of bytes, '?' any one
 *   byte, '\' makes the next byte literal (a trailing '\' is itself), and
 *   classes '[abc]', '[a-z]', '[!x]' or '[^x]', where a ']' right after
 *   '[' or the negation is a member, '\' escapes a byte, '-' first or last
 *   is itself, a reversed range holds nothing and ranges compare unsigned
 *   bytes; a '[' that is never closed is a literal '['. The textbook
 *   recursion over (pattern, subject) positions, memoized: independent of
 *   glob.c's one-backtrack walk.
 * - redis_ref_match: Redis 7's glob (util.c stringmatchlen,
 *   case-sensitive), from Redis's documented and published behaviour
 *   (ROSTER__GLOB_REDIS): '*', '?', '\x' as above; '[' opens a class: a
 *   leading '^' negates it; inside, '\x' is the byte x, "a-b" a range
 *   compared as signed char (so a byte >= 0x80 is below every ASCII byte),
 *   its ends swapped when reversed, and a ']' always closes it, even
 *   first; a class never closed runs to the end of the pattern. Redis
 *   matches an empty key only with the empty pattern, and gives up on a
 *   pattern with more than 1000 '*' groups (its recursion limit): patterns
 *   longer than 2000 bytes are not compared. It tokenizes the pattern (one
 *   256-bit set per byte-consuming token) and matches with dynamic
 *   programming, a different algorithm from glob.c's walk.
 *
 * Include after fuzz_util.h, in one harness per program.
 */
#ifndef ROSTER_FUZZ_GLOB_REF_H
#define ROSTER_FUZZ_GLOB_REF_H

/* The matcher under test (src/base/base.h). */
typedef enum { GLOB_NAMES, GLOB_REDIS } glob_mode; /* roster__glob_mode */
bool roster__glob(const void *pat, size_t plen, const void *s, size_t slen,
                  glob_mode mode);

/* ---- the registry's names ------------------------------------------- */

typedef struct names_ref {
  const unsigned char *p, *s;
  size_t pl, sl;
  unsigned char *memo; /* (pl + 1) x (sl + 1): 0 unknown, 1 no, 2 yes */
} names_ref;

/* parse_class: p[i] is '['. On a closed class, fills set and *next (past
 * the ']') and returns true; false for a '[' never closed. */
static bool names_parse_class(const unsigned char *p, size_t pl, size_t i,
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

static bool names_rmatch(names_ref *r, size_t pi, size_t si) {
  unsigned char *m = &r->memo[pi * (r->sl + 1) + si];
  if (*m)
    return *m == 2;
  bool ok;
  if (pi == r->pl) {
    ok = si == r->sl;
  } else {
    unsigned char c = r->p[pi];
    if (c == '*') {
      ok = names_rmatch(r, pi + 1, si) ||
           (si < r->sl && names_rmatch(r, pi, si + 1));
    } else if (si == r->sl) {
      ok = false;
    } else if (c == '?') {
      ok = names_rmatch(r, pi + 1, si + 1);
    } else if (c == '[') {
      bool set[256];
      size_t next;
      if (names_parse_class(r->p, r->pl, pi, set, &next))
        ok = set[r->s[si]] && names_rmatch(r, next, si + 1);
      else
        ok = r->s[si] == '[' && names_rmatch(r, pi + 1, si + 1);
    } else if (c == '\\' && pi + 1 < r->pl) {
      ok = r->s[si] == r->p[pi + 1] && names_rmatch(r, pi + 2, si + 1);
    } else {
      ok = r->s[si] == c && names_rmatch(r, pi + 1, si + 1);
    }
  }
  *m = ok ? 2 : 1;
  return ok;
}

/* The recursion goes one frame per subject byte at most, plus one per
 * pattern byte: bound both so the stack stays small. */
#define NAMES_MAX_LEN 2048

static bool names_ref_match(const void *p, size_t pl, const void *s,
                            size_t sl) {
  names_ref r = {p, s, pl, sl, calloc((pl + 1) * (sl + 1), 1)};
  if (!r.memo)
    abort();
  bool ok = names_rmatch(&r, 0, 0);
  free(r.memo);
  return ok;
}

/* ---- Redis -------------------------------------------------------- */

#define MAX_PAT 2000 /* under Redis's 1000 '*' groups */

typedef struct tok {
  bool star;
  uint64_t set[4]; /* the bytes it matches, when not a star */
} tok;

static void set_add(tok *t, unsigned c) { t->set[c >> 6] |= 1ull << (c & 63); }
static bool set_has(const tok *t, unsigned c) {
  return (t->set[c >> 6] >> (c & 63)) & 1;
}

/* tokenize follows Redis's reading of a pattern; returns the count. */
static size_t tokenize(const unsigned char *p, size_t n, tok *out) {
  size_t k = 0, i = 0;
  while (i < n) {
    tok *t = &out[k++];
    memset(t, 0, sizeof *t);
    if (p[i] == '*') {
      t->star = true;
      while (i < n && p[i] == '*')
        i++;
      continue;
    }
    if (p[i] == '?') {
      for (unsigned c = 0; c < 256; c++)
        set_add(t, c);
      i++;
      continue;
    }
    if (p[i] == '\\') {
      set_add(t, i + 1 < n ? p[i + 1] : '\\');
      i += i + 1 < n ? 2 : 1;
      continue;
    }
    if (p[i] != '[') {
      set_add(t, p[i++]);
      continue;
    }
    i++;
    bool neg = i < n && p[i] == '^';
    if (neg)
      i++;
    while (i < n) {
      if (p[i] == '\\' && i + 1 < n) {
        set_add(t, p[i + 1]);
        i += 2;
      } else if (p[i] == ']') {
        i++;
        break;
      } else if (i + 2 < n && p[i + 1] == '-') {
        int lo = (signed char)p[i], hi = (signed char)p[i + 2];
        if (lo > hi) {
          int x = lo;
          lo = hi;
          hi = x;
        }
        for (int c = lo; c <= hi; c++)
          set_add(t, (unsigned char)c);
        i += 3;
      } else {
        set_add(t, p[i++]);
      }
    }
    if (neg)
      for (int w = 0; w < 4; w++)
        t->set[w] = ~t->set[w];
  }
  return k;
}

/* redis_dp: Redis's answer for a key of at least one byte. */
static bool redis_dp(const tok *t, size_t nt, const unsigned char *s, size_t n,
                     unsigned char *row, unsigned char *next) {
  /* row[j]: tokens [i, nt) match s[j, n). Built from the last token. */
  for (size_t j = 0; j <= n; j++)
    row[j] = j == n;
  for (size_t i = nt; i-- > 0;) {
    if (t[i].star) {
      next[n] = row[n];
      for (size_t j = n; j-- > 0;)
        next[j] = row[j] || next[j + 1];
    } else {
      next[n] = 0;
      for (size_t j = 0; j < n; j++)
        next[j] = set_has(&t[i], s[j]) && row[j + 1];
    }
    memcpy(row, next, n + 1);
  }
  return row[0];
}

/* redis_ref_match: Redis's answer for pattern pat and a key of at least one
 * byte. */
static bool redis_ref_match(const uint8_t *pat, size_t pl, const uint8_t *s,
                            size_t sl) {
  tok *t = malloc((pl + 1) * sizeof *t);
  unsigned char *row = malloc(sl + 1), *next = malloc(sl + 1);
  if (!t || !row || !next)
    abort();
  size_t nt = tokenize(pat, pl, t);
  bool m = redis_dp(t, nt, s, sl, row, next);
  free(t);
  free(row);
  free(next);
  return m;
}

/* glob_check_pair: both modes of roster__glob against their references on
 * pattern p and subject s (any bytes, NUL included). */
static void glob_check_pair(const uint8_t *p, size_t pl, const uint8_t *s,
                            size_t sl) {
  if (pl > NAMES_MAX_LEN || sl > NAMES_MAX_LEN)
    return;
  char *pc = fuzz_copy_exact(p, pl), *sc = fuzz_copy_exact(s, sl);
  static const char *const mode_name[] = {"names", "Redis"};
  for (int mode = GLOB_NAMES; mode <= GLOB_REDIS; mode++) {
    bool want;
    if (mode == GLOB_NAMES)
      want = names_ref_match(p, pl, s, sl);
    else if (sl == 0)
      want = pl == 0; /* stringmatchlen's answer for an empty key */
    else if (pl > MAX_PAT)
      continue;
    else
      want = redis_ref_match(p, pl, s, sl);
    bool got = roster__glob(pc, pl, sc, sl, (glob_mode)mode);
    if (got != want) {
      fuzz_show("pattern", p, pl);
      fuzz_show("subject", s, sl);
      FUZZ_CHECK(false, "%s glob says %s, its rules say %s", mode_name[mode],
                 got ? "match" : "no match", want ? "match" : "no match");
    }
  }
  free(pc);
  free(sc);
}

#endif /* ROSTER_FUZZ_GLOB_REF_H */
