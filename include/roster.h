/*
 * roster.h: the umbrella header for the core library and its built-in
 * services. It never includes a third-party header.
 *
 * Quick start (examples/hello.c is the whole program):
 *   roster *r;
 *   roster_new(NULL, &r);
 *   roster_register(r, NULL, "cache", &cache_type, cache);
 *   roster_get(r, NULL, "cache", &cache_type, (void **)&c);
 * The names follow one verb per meaning: docs/conventions.md.
 */
#ifndef ROSTER_H
#define ROSTER_H

#include "roster/version.h"
#include "roster/error.h"
#include "roster/alloc.h"
#include "roster/registry.h"
#include "roster/lifecycle.h"
#include "roster/url.h"
#include "roster/driver.h"
#include "roster/signal.h"
#include "roster/pool.h"
#include "roster/config.h"
#include "roster/cache.h"
#include "roster/log.h"
#include "roster/cron.h"
#include "roster/db.h"

#endif /* ROSTER_H */
