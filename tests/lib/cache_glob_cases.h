/*
 * cache_glob_cases.h: hostile pattern/key pairs for the cache's glob,
 * each with the answer a real Redis 7 server gives (x86-64, where char is
 * signed; with the nesting guard of the patched releases). The answers
 * were taken from the server with KEYS, and test_cache_redis asks the
 * server again for every pair whenever it runs with a server, so the
 * table cannot drift from Redis.
 *
 * Users: test_cache_service (the matcher, roster__glob in Redis mode, against
 * the table), the conformance suite's clear_glob case (roster_cache_clear
 * on every backend), test_cache_redis (the table and the matcher against
 * the server, over every pattern x key).
 *
 * Rows with the same pattern are consecutive, and their keys differ.
 */
#ifndef ROSTER_CACHE_GLOB_CASES_H
#define ROSTER_CACHE_GLOB_CASES_H

#include <stdbool.h>
#include <stddef.h>

typedef struct cache_glob_case {
  const char *pat; /* bytes, NUL and high bytes included */
  size_t plen;
  const char *key;
  size_t klen;
  bool match; /* what Redis 7 answers */
} cache_glob_case;

/* roster__cache_glob_cases returns the table (built once, thread-safe, kept
 * until the process ends) and stores its length in *n. */
const cache_glob_case *roster__cache_glob_cases(size_t *n);

/* roster__cache_glob_hex writes up to cap-1 bytes of a printable form of (p, n)
 * into buf (printable ASCII as is, other bytes as \xHH, long runs cut
 * with their length) for failure messages; returns buf. */
char *roster__cache_glob_hex(char *buf, size_t cap, const void *p, size_t n);

#endif /* ROSTER_CACHE_GLOB_CASES_H */
