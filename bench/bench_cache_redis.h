/*
 * bench_cache_redis.h: the Redis section of roster-bench-cache
 * (bench_cache_redis.c), called by bench_cache.c's main when the Redis
 * module is built.
 */
#ifndef ROSTER_BENCH_CACHE_REDIS_H
#define ROSTER_BENCH_CACHE_REDIS_H

#include <stdbool.h>
#include <stdint.h>

/* bench_cache_redis runs the Redis rows against $ROSTER_TEST_REDIS_URL
 * and returns how many answers were wrong or calls failed (0: all well).
 * Without the URL it prints why and returns 0, or 1 when
 * ROSTER_TEST_REQUIRE_SERVERS=1. */
uint64_t bench_cache_redis(bool json, bool quick);

#endif
