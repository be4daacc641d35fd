/*
 * cache_glob_cases.c: the table of cache_glob_cases.h. Every
 * answer is a real Redis 7.0.15 server's (Debian's, x86-64: KEYS over the keys
 * SET under a prefix, the empty key through HSCAN), but for '*' against the
 * empty key, which SCAN and HSCAN do not filter at all: that answer is
 * stringmatchlen's, read in util.c. test_cache_redis checks them all
 * again.
 *
 * In C literals: "\\" is one backslash, "\x80" one byte (a hex digit
 * after it must be written as an escape too: "\xff\x61" for 0xff 'a').
 */
#include "cache_glob_cases.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define G(p, k, m)                                                             \
  { p, sizeof(p) - 1, k, sizeof(k) - 1, m }

static const cache_glob_case fixed[] = {
    /* Ranges compare signed chars: 0x80..0xff are -128..-1, below '\0'.
     * [a-\xff] is the range -1..'a' given backwards. */
    G("[a-\xff]", "a", true),
    G("[a-\xff]", "b", false),
    G("[a-\xff]", "\xe9", false),
    G("[a-\xff]", "\xff", true),
    G("[a-\xff]", "\x01", true),
    G("[a-\xff]", "\0", true),
    G("[a-\xff]", "`", true),
    G("[a-\xff]", "z", false),
    G("[\xff-a]", "b", false),
    G("[\xff-a]", "\xff", true),
    G("[\xff-a]", "a", true),
    G("[\xff-a]", "\xfe", false),
    G("[\x80-\xff]", "\x80", true),
    G("[\x80-\xff]", "\xc3", true),
    G("[\x80-\xff]", "\xff", true),
    G("[\x80-\xff]", "\x7f", false),
    G("[\x80-\xff]", "a", false),
    G("[\x80-\xff]", "\0", false),
    G("[\x7f-\x80]", "\0", true), /* -128..127: every byte */
    G("[\x7f-\x80]", "a", true),
    G("[\x7f-\x80]", "\x7f", true),
    G("[\x7f-\x80]", "\x80", true),
    G("[\x7f-\x80]", "\xff", true),
    G("[\0-\x7f]", "\0", true),
    G("[\0-\x7f]", "\x7f", true),
    G("[\0-\x7f]", "\x80", false),
    G("[\0-\x7f]", "\xff", false),
    G("[\x80-a]", "\x80", true),
    G("[\x80-a]", "\xff", true),
    G("[\x80-a]", "a", true),
    G("[\x80-a]", "b", false),
    G("[\x80-\xfe]", "\xff", false),
    G("[\x80-\xfe]", "\xfe", true),
    G("[\x80-\xfe]", "\x80", true),
    G("[\xff-\xff]", "\xff", true),
    G("[\xff-\xff]", "\xfe", false),
    G("[z-\x80]", "z", true),
    G("[z-\x80]", "{", false),
    G("[z-\x80]", "\x80", true),
    G("[z-\x80]", "\xff", true),
    G("[^a-\xff]", "b", true),
    G("[^a-\xff]", "\xe9", true),
    G("[^a-\xff]", "a", false),
    G("[^a-\xff]", "\xff", false),
    G("[\xc0-\xdf][\x80-\xbf]", "\xc3\xa9", true),
    G("[\xc0-\xdf][\x80-\xbf]", "e\xa9", false),
    G("[\xc0-\xdf][\x80-\xbf]", "\xc3\x61", false), /* \xc3 a */
    /* high bytes as literals */
    G("[\xe9]", "\xe9", true),
    G("[\xe9]", "\xe8", false),
    G("[^\xe9]", "\xe9", false),
    G("[^\xe9]", "e", true),
    G("caf\xe9*", "caf\xe9", true),
    G("caf\xe9*", "caf\xe9s", true),
    G("caf\xe9*", "cafe", false),
    G("\xc3?", "\xc3\xa9", true),
    G("\xc3?", "\xc3", false),
    G("\\\xff", "\xff", true),
    G("\\\xff", "\\\xff", false),
    /* escapes */
    G("\\*", "*", true),
    G("\\*", "x", false),
    G("\\*", "\\*", false),
    G("a\\", "a\\", true), /* a trailing backslash is itself */
    G("a\\", "a", false),
    G("\\", "\\", true),
    G("\\", "x", false),
    G("\\a", "a", true),
    G("\\a", "\\a", false),
    G("\\\\*", "\\", true),
    G("\\\\*", "\\x", true),
    G("\\\\*", "x", false),
    G("\\[a]", "[a]", true),
    G("\\[a]", "a", false),
    G("[\\]]", "]", true),
    G("[\\]]", "\\", false),
    G("[\\", "\\", true), /* unterminated; the backslash is a member */
    G("[\\", "[", false),
    G("[a\\", "\\", true),
    G("[a\\", "a", true),
    G("[a\\", "b", false),
    G("[\\-z]", "-", true), /* an escaped byte starts no range */
    G("[\\-z]", "z", true),
    G("[\\-z]", "m", false),
    G("[\\-z]", "\\", false),
    G("[\\^a]", "^", true),
    G("[\\^a]", "a", true),
    G("[\\^a]", "b", false),
    /* negation is '^' only; '!' is a member */
    G("[!a]", "!", true),
    G("[!a]", "a", true),
    G("[!a]", "b", false),
    G("[^a]", "b", true),
    G("[^a]", "a", false),
    G("[^a]", "\xff", true),
    G("[^a]", "\0", true),
    G("[^^]", "^", false),
    G("[^^]", "a", true),
    G("[^-]", "-", false),
    G("[^-]", "a", true),
    /* empty classes: "[]" matches nothing, "[^]" any one byte */
    G("[]", "]", false),
    G("[]", "x", false),
    G("[]", "[]", false),
    G("[]a]", "]a]", false),
    G("[]a]", "a]", false),
    G("[^]", "x", true),
    G("[^]", "]", true),
    G("[^]", "", false),
    G("[^]", "xy", false),
    G("[^]a]", "xa]", true),
    G("[^]a]", "]", false),
    /* unterminated classes run to the end of the pattern */
    G("[", "[", false),
    G("[", "x", false),
    G("[^", "x", true),
    G("[^", "^", true),
    G("[^", "xy", false),
    G("a[", "a[", false),
    G("a[", "a", false),
    G("[abc", "b", true),
    G("[abc", "d", false),
    G("[abc", "[", false),
    G("[a-z", "m", true),
    G("[a-z", "A", false),
    G("[a-", "a", true),
    G("[a-", "-", true),
    G("[a-", "b", false),
    /* a range may end in ']' (then the class is unterminated) or '\' */
    G("[a-]", "]", true),
    G("[a-]", "^", true),
    G("[a-]", "_", true),
    G("[a-]", "`", true),
    G("[a-]", "a", true),
    G("[a-]", "b", false),
    G("[a-]", "-", false),
    G("[a-]x", "x", true),
    G("[a-]x", "]x", false),
    G("[a-]x", "b", false),
    G("[--]", "-", true),
    G("[--]", "5", true),
    G("[--]", "A", true),
    G("[--]", "]", true),
    G("[--]", "^", false),
    G("[--]", "a", false),
    G("[-a]", "-", true),
    G("[-a]", "a", true),
    G("[-a]", "b", false),
    G("[z-a]", "m", true), /* backwards */
    G("[z-a]", "A", false),
    G("[a-\\]", "\\", true),
    G("[a-\\]", "_", true),
    G("[a-\\]", "b", false),
    G("[]-a]", "-a]", false),
    G("[]-a]", "-", false),
    /* stars */
    G("*", "x", true),
    G("*", "", false), /* stringmatchlen: an empty string matches only "" */
    G("*", "\xff", true),
    G("*", "\0", true),
    G("**", "", false),
    G("**", "ab", true),
    G("", "", true),
    G("", "a", false),
    G("?", "", false),
    G("?", "\0", true),
    G("?", "\xff", true),
    G("?", "ab", false),
    G("a*", "a", true),
    G("a*", "ab", true),
    G("a*", "ba", false),
    G("*a", "a", true),
    G("*a", "ba", true),
    G("*a", "ab", false),
    G("a**b", "ab", true),
    G("a**b", "axyb", true),
    G("a**b", "axyc", false),
    G("*a*b*c*", "xxaxxbxxcxx", true),
    G("*a*b*c*", "xxaxxcxxbxx", false),
    G("**x", "abcx", true),
    G("*?", "a", true),
    G("?*?", "a", false),
    G("?*?", "ab", true),
    G("*[", "x[", false),
    G("*[", "x", false),
    G("*[^", "x", true),
    G("*[^", "xy", true),
    G("*\\", "a\\", true),
    G("*\\", "a", false),
    G("a*a*a*b", "aaaaaaaaaaaaaaaaaaaa", false),
    G("a*a*a*b", "aaaaaaaaab", true),
    /* NUL bytes, in keys and in patterns */
    G("a\0b", "a\0b", true),
    G("a\0b", "a", false),
    G("a\0b", "a\0c", false),
    G("*\0", "x\0", true),
    G("*\0", "x", false),
    G("[\0-\x01]", "\0", true),
    G("[\0-\x01]", "\x02", false),
    G("a?b", "a\0b", true),
    G("a?b", "ab", false),
};

/* The long rows: Redis 7 stops its '*' recursion past 1000 runs of '*'
 * (util.c: "nesting > 1000"), so no key matches a pattern that goes on
 * after its 1001st run, while a 1001st run at the very end matches the
 * rest as any '*' does. Built once. */
static cache_glob_case *table;
static size_t table_len;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

/* rep: head, then unit repeated times, then tail, in a new buffer. */
static char *rep(const char *head, const char *unit, size_t times,
                 const char *tail, size_t *len) {
  size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
  char *s = malloc(hl + ul * times + tl + 1);
  if (!s)
    abort();
  memcpy(s, head, hl);
  for (size_t i = 0; i < times; i++)
    memcpy(s + hl + i * ul, unit, ul);
  memcpy(s + hl + ul * times, tail, tl + 1);
  *len = hl + ul * times + tl;
  return s;
}

/* add: a row whose pattern is punit x ptimes + ptail and whose key is
 * kunit x ktimes + ktail. */
static void add(size_t *n, const char *punit, size_t ptimes, const char *ptail,
                const char *kunit, size_t ktimes, const char *ktail,
                bool match) {
  cache_glob_case *r = &table[(*n)++];
  r->pat = rep("", punit, ptimes, ptail, &r->plen);
  r->key = rep("", kunit, ktimes, ktail, &r->klen);
  r->match = match;
}

static void build(void) {
  size_t nfixed = sizeof fixed / sizeof fixed[0];
  table = malloc((nfixed + 32) * sizeof *table);
  if (!table)
    abort();
  memcpy(table, fixed, sizeof fixed);
  size_t n = nfixed;
  /* 1000 runs: no limit reached */
  add(&n, "*a", 1000, "", "a", 1000, "", true);
  add(&n, "*a", 1000, "", "a", 1500, "", true);
  add(&n, "*a", 1000, "", "a", 999, "", false);
  /* 1001 runs, the last one not final: nothing matches */
  add(&n, "*a", 1001, "", "a", 1001, "", false);
  add(&n, "*a", 1001, "", "a", 2000, "", false);
  /* a final 1001st run matches the rest */
  add(&n, "*a", 1000, "*", "a", 1000, "", true);
  add(&n, "*a", 1000, "*", "a", 1000, "b", true);
  add(&n, "*a", 1000, "*b", "a", 1000, "b", false);
  add(&n, "?*", 1001, "", "x", 1001, "", true);
  add(&n, "?*", 1001, "", "x", 2000, "", true);
  add(&n, "?*", 1001, "?", "x", 2000, "", false);
  add(&n, "?*", 1000, "?", "x", 2000, "", true);
  /* stars in a row are one run; escaped stars and stars in a class are
   * no run */
  add(&n, "*", 5000, "a", "", 0, "a", true);
  add(&n, "*", 5000, "a", "", 0, "ba", true);
  add(&n, "\\*", 1500, "", "*", 1500, "", true);
  add(&n, "\\*", 1500, "", "*", 1499, "x", false);
  add(&n, "[*]*", 1000, "x", "*", 1000, "x", true);
  add(&n, "[*]*", 1000, "x", "*", 1000, "y", false);
  add(&n, "[*]*", 1001, "x", "*", 1001, "x", false);
  /* backtracking that would be exponential without care */
  add(&n, "*a", 30, "*b", "a", 3000, "", false);
  add(&n, "*a", 30, "*b", "a", 3000, "b", true);
  /* a class of 3000 members */
  cache_glob_case *r = &table[n++];
  r->pat = rep("[", "a", 3000, "]", &r->plen);
  r->key = rep("", "", 0, "a", &r->klen);
  r->match = true;
  table_len = n;
}

const cache_glob_case *roster__cache_glob_cases(size_t *n) {
  pthread_once(&table_once, build);
  *n = table_len;
  return table;
}

char *roster__cache_glob_hex(char *buf, size_t cap, const void *p, size_t n) {
  const unsigned char *s = p;
  size_t o = 0, i = 0;
  if (cap < 32) {
    if (cap)
      buf[0] = '\0';
    return buf;
  }
  /* room for one more \xHH and the "...(N bytes)" tail */
  for (; i < n && o + 4 + 24 < cap; i++) {
    if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\')
      buf[o++] = (char)s[i];
    else
      o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", s[i]);
  }
  buf[o] = '\0';
  if (i < n)
    snprintf(buf + o, cap - o, "...(%zu bytes)", n);
  return buf;
}
