/*
 * glob.c: byte-wise glob matching for roster_select and friends.
 *
 * Written here rather than using fnmatch(3) because names may hold any byte
 * but NUL, and glibc's fnmatch decodes multibyte characters per the locale
 * (and may allocate), so a name that is not valid UTF-8 would match
 * unpredictably. Supports '*', '?', '[...]' with ranges and '!'/'^'
 * negation, and '\' escapes. Iterative with one backtrack point: linear in
 * practice, never recursive.
 */
#include "roster_impl.h"

/* class_match: pat[*pi] is just past '['; on return *pi is past ']'.
 * A class that is not closed matches '[' literally. */
static bool class_match(const char *pat, size_t plen, size_t *pi,
                        unsigned char c, bool *ok) {
  size_t i = *pi;
  bool neg = false, hit = false;
  if (i < plen && (pat[i] == '!' || pat[i] == '^')) {
    neg = true;
    i++;
  }
  bool first = true;
  while (i < plen && (pat[i] != ']' || first)) {
    first = false;
    unsigned char lo = (unsigned char)pat[i];
    if (lo == '\\' && i + 1 < plen)
      lo = (unsigned char)pat[++i];
    i++;
    unsigned char hi = lo;
    if (i + 1 < plen && pat[i] == '-' && pat[i + 1] != ']') {
      hi = (unsigned char)pat[i + 1];
      if (hi == '\\' && i + 2 < plen) {
        hi = (unsigned char)pat[i + 2];
        i++;
      }
      i += 2;
    }
    if (c >= lo && c <= hi)
      hit = true;
  }
  if (i >= plen) { /* unterminated: treat '[' as a literal */
    *ok = false;
    return false;
  }
  *pi = i + 1;
  *ok = true;
  return hit != neg;
}

bool roster__glob(const char *pat, size_t plen, const char *s, size_t slen) {
  size_t pi = 0, si = 0;
  size_t star_p = SIZE_MAX, star_s = 0;
  while (si < slen) {
    if (pi < plen) {
      char pc = pat[pi];
      if (pc == '*') {
        star_p = ++pi;
        star_s = si;
        continue;
      }
      if (pc == '?') {
        pi++;
        si++;
        continue;
      }
      if (pc == '[') {
        size_t np = pi + 1;
        bool ok;
        bool m = class_match(pat, plen, &np, (unsigned char)s[si], &ok);
        if (ok) {
          if (m) {
            pi = np;
            si++;
            continue;
          }
        } else if (s[si] == '[') {
          pi++;
          si++;
          continue;
        }
      } else {
        if (pc == '\\' && pi + 1 < plen)
          pc = pat[++pi];
        if (pc == s[si]) {
          pi++;
          si++;
          continue;
        }
      }
    }
    if (star_p == SIZE_MAX)
      return false;
    pi = star_p;
    si = ++star_s;
  }
  while (pi < plen && pat[pi] == '*')
    pi++;
  return pi == plen;
}
