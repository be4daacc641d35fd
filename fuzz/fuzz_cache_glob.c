/*
 * fuzz_cache_glob.c: the cache's key patterns (roster__cache_match, and
 * roster_cache_clear on a memory cache) against a reference of Redis 7's
 * glob (util.c stringmatchlen, case-sensitive), written here from Redis's
 * documented and published behaviour:
 *  - '*' matches any run of bytes, '?' any one byte, '\x' the byte x (a
 *    trailing '\' is itself);
 *  - '[' opens a class: a leading '^' negates it; inside, '\x' is the byte
 *    x, "a-b" a range compared as signed char (so a byte >= 0x80 is below
 *    every ASCII byte), its ends swapped when reversed, and a ']' always
 *    closes it, even first; a class never closed runs to the end of the
 *    pattern;
 *  - Redis never matches an empty key (roster refuses them anyway), and
 *    gives up on a pattern with more than 1000 '*' groups (its recursion
 *    limit): patterns longer than 2000 bytes are not compared.
 * The reference tokenizes the pattern (one 256-bit set per byte-consuming
 * token) and matches with dynamic programming, a different algorithm from
 * the two-pointer walk of src/cache/cache_glob.c.
 *
 * Input: a pattern line, then key lines (the first 8 distinct ones that
 * are not empty are used).
 *
 * Properties:
 *  - roster__cache_match agrees with the reference on the pattern against
 *    every key and against the rest of the input, and on the rest against
 *    the pattern line;
 *  - with the keys stored in a memory cache, roster_cache_clear(pattern)
 *    removes exactly the keys that match (roster_cache_exists), and says
 *    it removed that many.
 *
 * Inputs up to 512 bytes. libFuzzer runs it without LeakSanitizer between
 * inputs: the cache frees a removed entry after an RCU grace period, on
 * another thread, so an input that clears keys ends with more allocations
 * than frees, and libFuzzer would answer each such input with a leak scan
 * of the whole heap (milliseconds: some 600 inputs a second instead of
 * 15000). The CTest replay still looks for leaks when it exits.
 * fuzz-max-len: 512
 * fuzz-options: -detect_leaks=0
 */
#include "fuzz_util.h"

#include <roster/cache.h>

/* The matcher under test (src/cache/cache_impl.h). */
bool roster__cache_match(const unsigned char *pat, size_t plen,
                         const unsigned char *s, size_t slen);

#define MAX_PAT 2000 /* under Redis's 1000 '*' groups */
#define MAX_KEYS 8

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

/* ref_match: Redis's answer for a key of at least one byte. */
static bool ref_match(const tok *t, size_t nt, const unsigned char *s, size_t n,
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

/* ref: Redis's answer for pattern pat and a key of at least one byte. */
static bool ref(const uint8_t *pat, size_t pl, const uint8_t *s, size_t sl) {
  tok *t = malloc((pl + 1) * sizeof *t);
  unsigned char *row = malloc(sl + 1), *next = malloc(sl + 1);
  if (!t || !row || !next)
    abort();
  size_t nt = tokenize(pat, pl, t);
  bool m = ref_match(t, nt, s, sl, row, next);
  free(t);
  free(row);
  free(next);
  return m;
}

static roster_cache *cache;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  roster_cache_memory_options mo = {.sweep_ms = -1, .shards = 1};
  if (roster_cache_memory_new(&mo, NULL, &cache) != ROSTER_OK) {
    fprintf(stderr, "fuzz_cache_glob: %s\n", roster_last_error());
    abort();
  }
  return 0;
}

static void check_pair(const uint8_t *pat, size_t pl, const uint8_t *s,
                       size_t sl) {
  if (sl == 0 || pl > MAX_PAT)
    return;
  char *p = fuzz_copy_exact(pat, pl), *k = fuzz_copy_exact(s, sl);
  bool want = ref(pat, pl, s, sl);
  bool got = roster__cache_match((const unsigned char *)p, pl,
                                 (const unsigned char *)k, sl);
  if (got != want) {
    fuzz_show("pattern", pat, pl);
    fuzz_show("key", s, sl);
    FUZZ_CHECK(false, "cache glob says %s, Redis's rules say %s",
               got ? "match" : "no match", want ? "match" : "no match");
  }
  free(p);
  free(k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_begin(data, size);
  fuzz_reader r = {data, size};
  size_t pl;
  const uint8_t *pat = fuzz_field(&r, '\n', &pl);
  const uint8_t *rest = r.p;
  size_t restlen = r.n;

  check_pair(pat, pl, rest, restlen);
  check_pair(rest, restlen, pat, pl);

  const uint8_t *keys[MAX_KEYS];
  size_t klen[MAX_KEYS], nk = 0;
  while (r.n && nk < MAX_KEYS) {
    size_t kl;
    const uint8_t *k = fuzz_field(&r, '\n', &kl);
    if (kl == 0)
      continue;
    bool dup = false;
    for (size_t i = 0; i < nk && !dup; i++)
      dup = klen[i] == kl && memcmp(keys[i], k, kl) == 0;
    if (dup)
      continue;
    check_pair(pat, pl, k, kl);
    keys[nk] = k;
    klen[nk++] = kl;
  }

  /* The public call: the memory backend removes exactly what matches (as
   * roster__cache_match says: that it agrees with Redis is checked above,
   * this checks that clear applies it to every key). */
  if (pl == 0 || pl > MAX_PAT || nk == 0)
    return 0;
  size_t expect = 0;
  bool match[MAX_KEYS];
  for (size_t i = 0; i < nk; i++) {
    match[i] = roster__cache_match(pat, pl, keys[i], klen[i]);
    expect += match[i];
    int rc = roster_cache_set_bytes(cache, keys[i], klen[i], "v", 1, 0);
    FUZZ_CHECK(rc == ROSTER_OK, "set_bytes: %s", roster_last_error());
  }
  char *p = fuzz_copy_exact(pat, pl);
  size_t removed = 0;
  int rc = roster_cache_clear(cache, p, pl, &removed);
  FUZZ_CHECK(rc == ROSTER_OK, "clear: %s", roster_last_error());
  FUZZ_CHECK(removed == expect, "clear removed %zu keys, the matcher %zu",
             removed, expect);
  for (size_t i = 0; i < nk; i++) {
    bool there = true;
    rc = roster_cache_exists(cache, keys[i], klen[i], &there);
    FUZZ_CHECK(rc == ROSTER_OK, "exists: %s", roster_last_error());
    FUZZ_CHECK(there == !match[i], "key %zu %s after clear", i,
               there ? "is still there" : "is gone");
  }
  free(p);
  rc = roster_cache_clear(cache, NULL, 0, NULL);
  FUZZ_CHECK(rc == ROSTER_OK, "clear all: %s", roster_last_error());
  return 0;
}
