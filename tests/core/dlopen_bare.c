/*
 * dlopen_bare.c: the program of test_dlopen_bare, which links nothing of
 * roster's or liburcu's, so that dlopen() of libroster.so (argv[1]) loads
 * liburcu-bp with it, as a plugin host or a language binding would. It
 * makes, fills, reads and frees a registry through the library, on the
 * main thread and on a new one, and exits 0 when every answer was right
 * (1 and a line on stderr when not).
 */
#include <pthread.h>
#include <stdio.h>

#include "dlopen_api.h"

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
  dl_api a;
  if (!dl_api_load(h, &a)) {
    fprintf(stderr, "dlopen_bare: a symbol is missing\n");
    return 1;
  }
  const char *bad = dl_round_trip(&a);
  pthread_t t;
  void *tbad = "pthread_create failed";
  if (!bad && pthread_create(&t, NULL, dl_round_trip, &a) == 0)
    pthread_join(t, &tbad);
  if (bad || tbad) {
    fprintf(stderr, "dlopen_bare: %s\n", bad ? bad : (const char *)tbad);
    return 1;
  }
  return 0;
}
