/*
 * dlopen_api.h: what test_dlopen and test_dlopen_bare (dlopen_bare.c) both
 * do with a libroster.so they loaded: find its entry points, and make,
 * fill, read and free a registry through them (on whichever thread calls).
 * Headers only of roster's: neither program calls roster directly here.
 */
#ifndef ROSTER_TESTS_DLOPEN_API_H
#define ROSTER_TESTS_DLOPEN_API_H

#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <roster/error.h>
#include <roster/registry.h>

typedef struct dl_api {
  const char *(*version)(void);
  int (*new_)(const roster_options *, roster **);
  void (*free_)(roster *);
  int (*reg)(roster *, const char *, const char *, const roster_type *, void *);
  int (*get)(roster *, const char *, const char *, const roster_type *,
             void **);
  const char *(*last_error)(void);
} dl_api;

/* dl_api_load fills a from the library h; false if a symbol is missing. */
static inline bool dl_api_load(void *h, dl_api *a) {
  *(void **)&a->version = dlsym(h, "roster_version");
  *(void **)&a->new_ = dlsym(h, "roster_new");
  *(void **)&a->free_ = dlsym(h, "roster_free");
  *(void **)&a->reg = dlsym(h, "roster_register");
  *(void **)&a->get = dlsym(h, "roster_get");
  *(void **)&a->last_error = dlsym(h, "roster_last_error");
  return a->version && a->new_ && a->free_ && a->reg && a->get && a->last_error;
}

/* dl_round_trip (a pthread start routine too; arg: a dl_api): a registry
 * made, filled, read (a hit and a miss with its sentence) and freed
 * through the library. NULL when every answer was right, else what was
 * wrong. */
static inline void *dl_round_trip(void *arg) {
  static const roster_type T = {.name = "dl"};
  const dl_api *a = arg;
  roster *r = NULL;
  if (a->new_(NULL, &r) != ROSTER_OK || !r)
    return "roster_new failed";
  const char *bad = NULL;
  void *out = NULL;
  if (a->reg(r, NULL, "svc", &T, (void *)(uintptr_t)42) != ROSTER_OK)
    bad = "roster_register failed";
  else if (a->get(r, NULL, "svc", &T, &out) != ROSTER_OK || out != (void *)42)
    bad = "roster_get did not find 'svc'";
  else if (a->get(r, NULL, "gone", &T, &out) != ROSTER_ENOENT || out ||
           !strstr(a->last_error(), "'gone' not found"))
    bad = "a miss did not answer ROSTER_ENOENT with its sentence";
  a->free_(r);
  return (void *)bad;
}

#endif
