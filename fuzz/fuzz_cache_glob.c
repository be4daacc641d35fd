/*
 * fuzz_cache_glob.c: the cache's key patterns (src/base/glob.c in its
 * Redis mode, and roster_cache_clear on a memory cache) against the
 * reference of Redis 7's glob in glob_ref.h (util.c stringmatchlen,
 * case-sensitive: '^' negates, signed ranges, ']' always closes, an
 * unclosed class runs to the end, an empty key matches only the empty
 * pattern; patterns past 2000 bytes, beyond Redis's 1000 '*' groups, are
 * not compared).
 *
 * Input: a pattern line, then key lines (the first 8 distinct ones that
 * are not empty are used).
 *
 * Properties:
 *  - roster__glob, in both modes, agrees with its reference (glob_ref.h)
 *    on the pattern against every key and against the rest of the input,
 *    and on the rest against the pattern line;
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

#include "glob_ref.h"

#define MAX_KEYS 8

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_begin(data, size);
  fuzz_reader r = {data, size};
  size_t pl;
  const uint8_t *pat = fuzz_field(&r, '\n', &pl);
  const uint8_t *rest = r.p;
  size_t restlen = r.n;

  glob_check_pair(pat, pl, rest, restlen);
  glob_check_pair(rest, restlen, pat, pl);

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
    glob_check_pair(pat, pl, k, kl);
    keys[nk] = k;
    klen[nk++] = kl;
  }

  /* The public call: the memory backend removes exactly what matches (as
   * roster__glob says in Redis mode: that it agrees with Redis is checked
   * above, this checks that clear applies it to every key). */
  if (pl == 0 || pl > MAX_PAT || nk == 0)
    return 0;
  size_t expect = 0;
  bool match[MAX_KEYS];
  for (size_t i = 0; i < nk; i++) {
    match[i] = roster__glob(pat, pl, keys[i], klen[i], GLOB_REDIS);
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
