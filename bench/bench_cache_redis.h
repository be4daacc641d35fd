/*
 * bench_cache_redis.h: the Redis section of roster-bench-cache
 * (bench_cache_redis.c), called by bench_cache.c's main when the Redis
 * module is built.
 */
#ifndef ROSTER_BENCH_CACHE_REDIS_H
#define ROSTER_BENCH_CACHE_REDIS_H

/* bench_cache_redis runs the Redis rows against $ROSTER_TEST_REDIS_URL; a
 * wrong answer or a failed call counts as a failure (roster__bench_fail).
 * Without the URL it says why on stderr and returns, which is a failure when
 * ROSTER_TEST_REQUIRE_SERVERS=1. */
void bench_cache_redis(void);

#endif
