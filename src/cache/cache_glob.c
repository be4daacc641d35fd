/*
 * cache_glob.c: the key patterns of roster_cache_clear, with Redis's glob
 * semantics (SCAN MATCH, KEYS: util.c stringmatchlen), so that one pattern
 * selects the same keys on every backend: '*' any run of bytes, '?' one
 * byte, '[abc]' '[a-z]' '[^a]' classes ('^' negates, a range may be given
 * backwards, ']' always closes, '\' makes the next byte literal), '\' before
 * any byte makes it literal; a trailing '\' is itself. Written here because
 * roster's registry glob (glob.c) negates with '!' as POSIX does, and no
 * Debian library matches Redis's variant on bytes. Matching is the classic
 * two-pointer walk with one backtrack point (every token but '*' consumes
 * exactly one byte), so it is O(pattern x key) at worst, never exponential.
 */
#include "cache_impl.h"

/* class_match: pat[0] is the byte after '['; *used gets the bytes of the
 * class through its ']' (or to the end of the pattern, as Redis does when
 * the ']' is missing). */
static bool class_match(const unsigned char *pat, size_t plen,
                        unsigned char c, size_t *used) {
  size_t i = 0;
  bool neg = false, hit = false;
  if (i < plen && pat[i] == '^') {
    neg = true;
    i++;
  }
  while (i < plen) {
    if (pat[i] == '\\' && i + 1 < plen) {
      hit |= pat[i + 1] == c;
      i += 2;
    } else if (pat[i] == ']') {
      i++;
      break;
    } else if (i + 2 < plen && pat[i + 1] == '-') {
      unsigned char lo = pat[i], hi = pat[i + 2];
      if (lo > hi) {
        unsigned char t = lo;
        lo = hi;
        hi = t;
      }
      hit |= c >= lo && c <= hi;
      i += 3;
    } else {
      hit |= pat[i] == c;
      i++;
    }
  }
  *used = i;
  return neg ? !hit : hit;
}

/* one: does the single-byte token at pat[0] match c? *used = its length. */
static bool one(const unsigned char *pat, size_t plen, unsigned char c,
                size_t *used) {
  switch (pat[0]) {
  case '?':
    *used = 1;
    return true;
  case '[': {
    size_t u;
    bool m = class_match(pat + 1, plen - 1, c, &u);
    *used = 1 + u;
    return m;
  }
  case '\\':
    if (plen >= 2) {
      *used = 2;
      return pat[1] == c;
    }
    *used = 1;
    return c == '\\';
  default:
    *used = 1;
    return pat[0] == c;
  }
}

bool roster__cache_match(const unsigned char *pat, size_t plen,
                         const unsigned char *s, size_t slen) {
  size_t p = 0, i = 0;
  size_t star_p = SIZE_MAX, star_i = 0; /* the last '*' and where it began */
  while (i < slen) {
    if (p < plen && pat[p] == '*') {
      while (p < plen && pat[p] == '*')
        p++;
      if (p == plen)
        return true;
      star_p = p;
      star_i = i;
      continue;
    }
    size_t used;
    if (p < plen && one(pat + p, plen - p, s[i], &used)) {
      p += used;
      i++;
      continue;
    }
    if (star_p == SIZE_MAX)
      return false;
    /* Let the last '*' swallow one more byte and retry from there. */
    p = star_p;
    i = ++star_i;
  }
  while (p < plen && pat[p] == '*')
    p++;
  return p == plen;
}
