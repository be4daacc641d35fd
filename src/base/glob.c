/*
 * glob.c: the one glob matcher, in two dialects (roster__glob_mode): the
 * registry's names (roster_select, roster_count, ...) and the cache's keys
 * (roster_cache_clear), which follow Redis (SCAN MATCH, KEYS: util.c
 * stringmatchlen) so that one pattern selects the same keys on every
 * backend.
 *
 * Written here rather than using fnmatch(3) because names and keys may
 * hold any byte, and glibc's fnmatch decodes multibyte characters per the
 * locale (and may allocate), so a name that is not valid UTF-8 would match
 * unpredictably; no Debian library matches Redis's variant on bytes.
 *
 * Both dialects, byte by byte:
 * - '*' matches any run of bytes; stars in a row are one run.
 * - '?' matches one byte.
 * - '\' makes the next byte literal; a '\' that ends the pattern is itself.
 * - '[' opens a class that matches one byte; inside, "x-y" is a range.
 *
 * ROSTER__GLOB_NAMES (POSIX-like, with '^' accepted too):
 * - '!' or '^' right after '[' negates. A ']' right after the '[' (or the
 *   negation) is a member; a later one closes. '\' makes the next byte a
 *   member or a range's end. "x-]" is the members 'x' and '-'. Ranges
 *   compare unsigned bytes; a backwards range matches nothing.
 * - A class with no closing ']' is no class: its '[' is a literal byte.
 *
 * ROSTER__GLOB_REDIS, as Redis 7 applies it (nocase off):
 * - '^' right after '[' negates ('!' is a member like any other). Inside,
 *   '\' makes the next byte a member (unless it ends the pattern: then '\'
 *   is one), ']' closes, and "x-y" (three bytes, x not escaped) is a range,
 *   whose ends are compared as signed chars, as Redis on x86-64 does:
 *   0x80..0xff are -128..-1, so they sort below '\0', and [a-\xff] is the
 *   range -1..'a' given backwards. A range may end in ']' or '\' (taken as
 *   they are). A class with no ']' runs to the end of the pattern; "[]"
 *   matches nothing and "[^]" any byte.
 * - An empty key matches only the empty pattern (stringmatchlen's answer;
 *   SCAN and KEYS skip matching for the pattern "*" alone, and no cache
 *   key is empty).
 * - Redis stops its '*' recursion past 1000 runs of '*' (the nesting
 *   guard of CVE-2024-31228, in Debian's 7.0.15 and in 7.2.6+ and
 *   7.4.1+): a pattern that goes on after its 1001st run matches nothing,
 *   while a 1001st run that ends the pattern matches the rest.
 *
 * Redis searches with recursion per '*' plus a flag that stops the search
 * once the last '*' has tried every start; that is the classic two-pointer
 * walk with one backtrack point (every token but '*' consumes exactly one
 * byte), which this is, in both dialects. O(pattern x key) at worst, no
 * recursion, never exponential. tests/lib/cache_glob_cases.c holds the
 * real server's answers for hostile pairs; test_cache_redis asks the server
 * again.
 */
#include "base/base.h"

/* Redis's "nesting > 1000": the runs of '*' whose rest it still matches. */
#define STAR_RUNS_MAX 1000

/* sval: a byte as Redis's ranges see it, a signed char. */
static int sval(unsigned char b) { return b < 0x80 ? b : (int)b - 256; }

/* class_redis: pat[0] is the byte after '['; *used gets the bytes of the
 * class through its ']' (or to the end of the pattern when the ']' is
 * missing). */
static bool class_redis(const unsigned char *pat, size_t plen, unsigned char c,
                        size_t *used) {
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
      int lo = sval(pat[i]), hi = sval(pat[i + 2]), v = sval(c);
      if (lo > hi) {
        int t = lo;
        lo = hi;
        hi = t;
      }
      hit |= v >= lo && v <= hi;
      i += 3;
    } else {
      hit |= pat[i] == c;
      i++;
    }
  }
  *used = i;
  return neg ? !hit : hit;
}

/* class_names: pat[0] is the byte after '['; *used gets the bytes of the
 * class through its ']'. False with *used 0 when the class is not closed
 * (then the '[' is a literal). */
static bool class_names(const unsigned char *pat, size_t plen, unsigned char c,
                        size_t *used) {
  size_t i = 0;
  bool neg = false, hit = false;
  if (i < plen && (pat[i] == '!' || pat[i] == '^')) {
    neg = true;
    i++;
  }
  bool first = true;
  while (i < plen && (pat[i] != ']' || first)) {
    first = false;
    unsigned char lo = pat[i];
    if (lo == '\\' && i + 1 < plen)
      lo = pat[++i];
    i++;
    unsigned char hi = lo;
    if (i + 1 < plen && pat[i] == '-' && pat[i + 1] != ']') {
      hi = pat[i + 1];
      if (hi == '\\' && i + 2 < plen) {
        hi = pat[i + 2];
        i++;
      }
      i += 2;
    }
    if (c >= lo && c <= hi)
      hit = true;
  }
  if (i >= plen) {
    *used = 0;
    return false;
  }
  *used = i + 1;
  return hit != neg;
}

/* one: does the single-byte token at pat[0] match c? *used = its length. */
static bool one(const unsigned char *pat, size_t plen, unsigned char c,
                size_t *used, roster__glob_mode mode) {
  switch (pat[0]) {
  case '?':
    *used = 1;
    return true;
  case '[': {
    size_t u;
    bool m = mode == ROSTER__GLOB_REDIS ? class_redis(pat + 1, plen - 1, c, &u)
                                        : class_names(pat + 1, plen - 1, c, &u);
    if (mode == ROSTER__GLOB_NAMES && u == 0) { /* not closed: a literal */
      *used = 1;
      return c == '[';
    }
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

bool roster__glob(const void *pattern, size_t plen, const void *subject,
                  size_t slen, roster__glob_mode mode) {
  const unsigned char *pat = pattern, *s = subject;
  if (slen == 0 && mode == ROSTER__GLOB_REDIS)
    return plen == 0;
  size_t p = 0, i = 0;
  size_t star_p = SIZE_MAX, star_i = 0; /* the last '*' and where it began */
  unsigned runs = 0;                    /* runs of '*' passed */
  while (i < slen) {
    if (p < plen && pat[p] == '*') {
      while (p < plen && pat[p] == '*')
        p++;
      if (p == plen)
        return true;
      if (++runs > STAR_RUNS_MAX && mode == ROSTER__GLOB_REDIS)
        return false; /* Redis gives up here, whatever follows */
      star_p = p;
      star_i = i;
      continue;
    }
    size_t used;
    if (p < plen && one(pat + p, plen - p, s[i], &used, mode)) {
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
