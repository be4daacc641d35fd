/*
 * test_dlopen.c: the shared library loads with dlopen() (a plugin, a
 * language binding), not only as a program's dependency, and works from a
 * thread started after it was loaded. A library whose thread-local block
 * must go into glibc's small static TLS reserve (initial-exec
 * thread-locals) fails here with "cannot allocate memory in static TLS
 * block". dlclose() leaves it loaded (threads that used it run its code
 * when they exit). test_dlopen_bare (dlopen_bare.c) does the same from a
 * program that links nothing of roster's or liburcu's. The path of
 * libroster.so is the test's argument.
 */
#include "testutil.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

static const char *lib_path;

typedef struct api {
  const char *(*version)(void);
  int (*new_)(const roster_options *, roster **);
  void (*free_)(roster *);
  int (*reg)(roster *, const char *, const char *, const roster_type *, void *);
  int (*get)(roster *, const char *, const char *, const roster_type *,
             void **);
  const char *(*last_error)(void);
} api;

static const roster_type T = {.name = "dl"};

/* round_trip: a registry made, filled, read and freed through the loaded
 * library; 0 when every step gave what it should. */
static int round_trip(const api *a) {
  roster *r = NULL;
  if (a->new_(NULL, &r) != ROSTER_OK || !r)
    return 1;
  int bad = a->reg(r, NULL, "svc", &T, (void *)(uintptr_t)42) != ROSTER_OK;
  void *out = NULL;
  bad |= a->get(r, NULL, "svc", &T, &out) != ROSTER_OK || out != (void *)42;
  bad |= a->get(r, NULL, "nope", &T, &out) != ROSTER_ENOENT || out;
  bad |= strstr(a->last_error(), "'nope'") == NULL;
  a->free_(r);
  return bad;
}

static void *thread_main(void *arg) {
  return (void *)(uintptr_t)round_trip(arg);
}

static void test_dlopen_and_use(void **state) {
  (void)state;
  void *h = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
  if (!h)
    fail_msg("dlopen %s: %s", lib_path, dlerror());
  api a = {0};
  *(void **)&a.version = dlsym(h, "roster_version");
  *(void **)&a.new_ = dlsym(h, "roster_new");
  *(void **)&a.free_ = dlsym(h, "roster_free");
  *(void **)&a.reg = dlsym(h, "roster_register");
  *(void **)&a.get = dlsym(h, "roster_get");
  *(void **)&a.last_error = dlsym(h, "roster_last_error");
  assert_non_null(a.version);
  assert_non_null(a.new_);
  assert_non_null(a.free_);
  assert_non_null(a.reg);
  assert_non_null(a.get);
  assert_non_null(a.last_error);
  assert_string_equal(a.version(), roster_version());
  assert_int_equal(round_trip(&a), 0);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, thread_main, &a), 0);
  void *rc = NULL;
  assert_int_equal(pthread_join(t, &rc), 0);
  assert_null(rc);
  /* dlclose does not unload it (-z nodelete): the main thread's key
   * destructors and liburcu's threads still run its code, and so may we */
  assert_int_equal(dlclose(h), 0);
  assert_int_equal(round_trip(&a), 0);
  assert_int_equal(pthread_create(&t, NULL, thread_main, &a), 0);
  assert_int_equal(pthread_join(t, &rc), 0);
  assert_null(rc);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: test_dlopen PATH-TO-libroster.so\n");
    return 2;
  }
  lib_path = argv[1];
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dlopen_and_use),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
