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

#include <pthread.h>

#include "dlopen_api.h"

static const char *lib_path;

/* run_in_thread: dl_round_trip on a new thread; its answer. */
static const char *run_in_thread(dl_api *a) {
  pthread_t t;
  void *bad = "pthread_create failed";
  if (pthread_create(&t, NULL, dl_round_trip, a) == 0)
    assert_int_equal(pthread_join(t, &bad), 0);
  return bad;
}

static void test_dlopen_and_use(void **state) {
  (void)state;
  void *h = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
  if (!h)
    fail_msg("dlopen %s: %s", lib_path, dlerror());
  dl_api a = {0};
  assert_true(dl_api_load(h, &a));
  assert_string_equal(a.version(), roster_version());
  assert_null(dl_round_trip(&a));
  assert_null(run_in_thread(&a));
  /* dlclose does not unload it (-z nodelete): the main thread's key
   * destructors and liburcu's threads still run its code, and so may we */
  assert_int_equal(dlclose(h), 0);
  assert_null(dl_round_trip(&a));
  assert_null(run_in_thread(&a));
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
