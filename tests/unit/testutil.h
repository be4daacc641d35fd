/*
 * testutil.h: helpers shared by the cmocka tests.
 *
 * assert_ok/assert_rc print roster's error name and detail on failure, so a
 * failing test says why. cmocka asserts only on the test's own thread: worker
 * threads record what they saw and the main thread asserts after joining.
 */
#ifndef ROSTER_TESTUTIL_H
#define ROSTER_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "roster.h"

/* assert_rc fails the test unless expr returns want, printing the detail. */
#define assert_rc(expr, want)                                                    \
  do {                                                                           \
    int rc_ = (expr);                                                            \
    int want_ = (want);                                                          \
    if (rc_ != want_) {                                                          \
      print_error("%s:%d: %s returned %s (%d), want %s; detail: %s\n",           \
                  __FILE__, __LINE__, #expr, roster_err_name(rc_), rc_,          \
                  roster_err_name(want_), roster_last_error());                  \
      fail();                                                                    \
    }                                                                            \
  } while (0)

#define assert_ok(expr) assert_rc((expr), ROSTER_OK)

/* tu_counter_type: a type whose destroy counts calls in tu_destroyed. */
extern const roster_type tu_counter_type;
extern const roster_type tu_other_type;
int tu_destroyed(void); /* destroys so far (atomic) */
void tu_reset_destroyed(void);

/* tu_wait_destroyed waits (bounded, ~10 s) until at least n destroys have
 * happened; returns the count seen. Destroy runs on the reclaim thread. */
int tu_wait_destroyed(int n);

/* tu_now_ns: CLOCK_MONOTONIC in nanoseconds. */
uint64_t tu_now_ns(void);

#endif
