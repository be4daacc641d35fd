/*
 * demo.h: what the demo's files share: the checks, the output helpers and
 * the counters that prove at exit that every instance was destroyed.
 */
#ifndef ROSTER_DEMO_H
#define ROSTER_DEMO_H

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "roster.h"

/* Instances made and destroyed by the tour, to prove nothing leaked. */
extern atomic_int demo_made;
extern atomic_int demo_destroyed;

/* CHECK stops the demo if a call that should work does not. */
#define CHECK(expr)                                                            \
  do {                                                                         \
    int rc_ = (expr);                                                          \
    if (rc_ != ROSTER_OK) {                                                    \
      fprintf(stderr, "demo: %s:%d: %s failed: %s: %s\n", __FILE__, __LINE__, \
              #expr, roster_err_name(rc_), roster_last_error());               \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

void heading(const char *title);
/* show_error prints a failed call with its code and the per-thread detail. */
void show_error(const char *what, int rc);
int64_t now_ms(void);
void sleep_ms(long ms);
/* xcalloc allocates a tour instance (counted in demo_made) or exits. */
void *xcalloc(size_t size);

/* demo_tour.c: the registry tour (sections 1-9). tour_start makes the
 * "app" registry (unique keys) and the "hub" (duplicate keys) and walks
 * through lookups, namespaces, pub/sub, wait_for, metadata and stats;
 * tour_tick does one round of lookups as request handlers would (callable
 * from any thread); tour_end frees both registries. */
typedef struct tour {
  roster *app;
  roster *hub;
  uint64_t listener;
} tour;
void tour_start(tour *t);
void tour_tick(tour *t, int tick);
void tour_end(tour *t);

/* demo_app.c: the service container (sections 10-11): services declared as
 * providers, started in dependency order, served with roster_run until a
 * signal (or DEMO_SECONDS), stopped in reverse order. Returns the exit
 * code. */
int app_run(tour *t, const sigset_t *sigs, long seconds);

#endif
