/*
 * demo.h: what the demo's files share: the two parts of the demo, the
 * output helpers, and the allocation counts that prove at exit that every
 * instance was destroyed.
 */
#ifndef ROSTER_DEMO_H
#define ROSTER_DEMO_H

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "roster.h"

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

#ifdef DEMO_HAVE_MONGODB
#include <stdbool.h>
/* demo_events.c: the optional MongoDB store of events (when
 * services.events.url, DEMO_SERVICE_EVENTS_URL, is set). events_init
 * registers the mongodb:// driver; events_enabled says whether the config
 * names the server (and prints its URL, redacted); events_record writes
 * one event {kind, n, note, at_ms} to the collection demo_events through
 * the service "events" (any thread; the error's detail is set). */
int events_init(void);
bool events_enabled(const roster_config *cfg);
int events_record(roster *svc, const char *kind, int n, const char *note,
                  int64_t at_ms);
#endif

/* Output */
void heading(const char *title);
/* show_error prints a failed call with its code and the per-thread detail. */
void show_error(const char *what, int rc);
int64_t now_ms(void);
void sleep_ms(long ms);

/* CHECK stops the demo if a call that should work does not. */
#define CHECK(expr)                                                            \
  do {                                                                         \
    int rc_ = (expr);                                                          \
    if (rc_ != ROSTER_OK) {                                                    \
      fprintf(stderr, "demo: %s:%d: %s failed: %s: %s\n", __FILE__, __LINE__,  \
              #expr, roster_err_name(rc_), roster_last_error());               \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

/* demo_alloc allocates a tour instance (zeroed) or exits; demo_free frees
 * one. Both count, and demo_all_freed (at exit) prints the counts and says
 * whether every instance made was freed. */
void *demo_alloc(size_t size);
void demo_free(void *p);
int demo_all_freed(void);

#endif
