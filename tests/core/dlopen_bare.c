/*
 * dlopen_bare.c: the program of test_dlopen_bare, which links nothing of
 * roster's or liburcu's, so that dlopen() of libroster.so (argv[1]) loads
 * liburcu-bp with it, as a plugin host or a language binding would. It
 * makes, fills, reads and frees a registry through the library, on the
 * main thread and on a new one, and exits 0 when every answer was right
 * (1 and a line on stderr when not).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <roster/registry.h>

typedef struct api {
  int (*new_)(const roster_options *, roster **);
  void (*free_)(roster *);
  int (*reg)(roster *, const char *, const char *, const roster_type *, void *);
  int (*get)(roster *, const char *, const char *, const roster_type *,
             void **);
  const char *(*last_error)(void);
} api;

static const roster_type T = {.name = "bare"};

static void *round_trip(void *arg) {
  const api *a = arg;
  roster *r = NULL;
  if (a->new_(NULL, &r) != ROSTER_OK || !r)
    return "roster_new failed";
  const char *bad = NULL;
  void *out = NULL;
  if (a->reg(r, NULL, "svc", &T, (void *)(uintptr_t)7) != ROSTER_OK)
    bad = "roster_register failed";
  else if (a->get(r, NULL, "svc", &T, &out) != ROSTER_OK || out != (void *)7)
    bad = "roster_get did not find 'svc'";
  else if (a->get(r, NULL, "gone", &T, &out) != ROSTER_ENOENT ||
           !strstr(a->last_error(), "'gone' not found"))
    bad = "a miss did not answer ROSTER_ENOENT with its sentence";
  a->free_(r);
  return (void *)bad;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: dlopen_bare PATH-TO-libroster.so\n");
    return 2;
  }
  void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    fprintf(stderr, "dlopen_bare: dlopen: %s\n", dlerror());
    return 1;
  }
  api a;
  *(void **)&a.new_ = dlsym(h, "roster_new");
  *(void **)&a.free_ = dlsym(h, "roster_free");
  *(void **)&a.reg = dlsym(h, "roster_register");
  *(void **)&a.get = dlsym(h, "roster_get");
  *(void **)&a.last_error = dlsym(h, "roster_last_error");
  if (!a.new_ || !a.free_ || !a.reg || !a.get || !a.last_error) {
    fprintf(stderr, "dlopen_bare: a symbol is missing\n");
    return 1;
  }
  const char *bad = round_trip(&a);
  pthread_t t;
  void *tbad = "pthread_create failed";
  if (!bad && pthread_create(&t, NULL, round_trip, &a) == 0)
    pthread_join(t, &tbad);
  if (bad || tbad) {
    fprintf(stderr, "dlopen_bare: %s\n", bad ? bad : (const char *)tbad);
    return 1;
  }
  return 0;
}
