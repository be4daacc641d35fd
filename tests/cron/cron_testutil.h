/*
 * cron_testutil.h: what the time zone tests of tests/cron share: a zone
 * by name and an instant from ISO 8601 text, each failing the test when
 * the call fails, and a walk over every zone of the system's database.
 * Test thread only (they assert).
 */
#ifndef ROSTER_CRON_TESTUTIL_H
#define ROSTER_CRON_TESTUTIL_H

#include "testutil.h"

#include <ftw.h>
#include <string.h>

/* cron_zone returns the zone roster_tz_get finds for name. */
static inline const roster_tz *cron_zone(const char *name) {
  const roster_tz *z = NULL;
  if (roster_tz_get(name, &z) != ROSTER_OK) {
    print_error("zone %s: %s\n", name, roster_last_error());
    fail();
  }
  return z;
}

/* cron_at returns the instant of iso (ISO 8601 with an offset). */
static inline int64_t cron_at(const char *iso) {
  int64_t t = 0;
  if (roster_time_parse(iso, NULL, &t) != ROSTER_OK) {
    print_error("bad time '%s': %s\n", iso, roster_last_error());
    fail();
  }
  return t;
}

/* cron_each_zone calls fn with every zone of /usr/share/zoneinfo that
 * roster_tz_get loads (not posix/ and right/, which repeat the others;
 * links are the same files), asserts that the walk succeeded and returns
 * how many zones fn saw. */
static void (*cron_each_zone_fn)(const roster_tz *z);
static int cron_each_zone_n;

static inline int cron_each_zone_one(const char *path, const struct stat *st,
                                     int flag, struct FTW *ftw) {
  (void)st;
  (void)ftw;
  const char *dir = "/usr/share/zoneinfo/";
  if (flag != FTW_F || strncmp(path, dir, strlen(dir)) != 0)
    return 0;
  const char *name = path + strlen(dir);
  if (strncmp(name, "posix/", 6) == 0 || strncmp(name, "right/", 6) == 0)
    return 0;
  const roster_tz *z;
  if (roster_tz_get(name, &z) != ROSTER_OK)
    return 0; /* zone.tab, leapseconds and the like */
  cron_each_zone_fn(z);
  cron_each_zone_n++;
  return 0;
}

static inline int cron_each_zone(void (*fn)(const roster_tz *z)) {
  cron_each_zone_fn = fn;
  cron_each_zone_n = 0;
  assert_int_equal(
      nftw("/usr/share/zoneinfo", cron_each_zone_one, 16, FTW_PHYS), 0);
  return cron_each_zone_n;
}

#endif /* ROSTER_CRON_TESTUTIL_H */
