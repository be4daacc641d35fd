/* testutil.c: shared test helpers (see testutil.h). */
#include "testutil.h"

#include <stdatomic.h>
#include <time.h>

static atomic_int destroyed;

static void counter_destroy(void *p) {
  (void)p;
  atomic_fetch_add(&destroyed, 1);
}

const roster_type tu_counter_type = {.name = "counter", .destroy = counter_destroy};
const roster_type tu_other_type = {.name = "other", .destroy = counter_destroy};

int tu_destroyed(void) { return atomic_load(&destroyed); }
void tu_reset_destroyed(void) { atomic_store(&destroyed, 0); }

uint64_t tu_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int tu_wait_destroyed(int n) {
  uint64_t end = tu_now_ns() + 10ull * 1000000000u;
  while (atomic_load(&destroyed) < n && tu_now_ns() < end) {
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  return atomic_load(&destroyed);
}
