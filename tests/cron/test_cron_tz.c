/*
 * test_cron_tz.c: time zones. Real zones from the system database give the
 * offsets they must (including the half-hour of Lord Howe and the local
 * mean time of 1880s New York); zones are cached (same pointer, also when
 * many threads load one at once); TZif files written by the test into a
 * private $TZDIR exercise version 1 and 2+ data, footers, and every kind
 * of broken file; POSIX TZ rules (Mm.w.d, Jn, n, negative and >24 h
 * times, DST all year) agree with the database; $TZ is honoured; names
 * that could escape the database are refused; ISO 8601 formatting and
 * parsing round-trip.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cron/cron_impl.h"
#include "cron_testutil.h"
#include "tzif_testutil.h"

static void test_real_offsets(void **state) {
  (void)state;
  static const struct {
    const char *zone, *at;
    int32_t want; /* the offset at that instant, in seconds */
  } cases[] = {
      {"America/New_York", "2026-01-15T12:00:00Z", -18000},
      {"America/New_York", "2026-07-15T12:00:00Z", -14400},
      /* the transition instants themselves */
      {"America/New_York", "2026-03-08T06:59:59Z", -18000},
      {"America/New_York", "2026-03-08T07:00:00Z", -14400},
      {"America/New_York", "2026-11-01T05:59:59Z", -14400},
      {"America/New_York", "2026-11-01T06:00:00Z", -18000},
      /* local mean time before 1883: -4:56:02 */
      {"America/New_York", "1850-01-01T00:00:00Z", -(4 * 3600 + 56 * 60 + 2)},
      /* past the last explicit transition: the footer's rule */
      {"America/New_York", "2300-07-01T00:00:00Z", -14400},
      {"America/New_York", "2300-12-01T00:00:00Z", -18000},
      {"Australia/Lord_Howe", "2026-07-01T00:00:00Z", 37800},
      {"Australia/Lord_Howe", "2026-12-01T00:00:00Z", 39600},
      {"Asia/Kolkata", "1970-01-01T00:00:00Z", 19800},
      {"Europe/London", "2026-06-01T00:00:00Z", 3600},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int32_t got =
        roster_tz_offset(cron_zone(cases[i].zone), cron_at(cases[i].at));
    if (got != cases[i].want) {
      print_error("%s at %s: offset %d, want %d\n", cases[i].zone, cases[i].at,
                  (int)got, (int)cases[i].want);
      fail();
    }
  }
  const roster_tz *ny = cron_zone("America/New_York");
  assert_int_equal(roster_tz_offset(NULL, 12345), 0);
  assert_int_equal(roster_tz_offset(roster_tz_utc(), 12345), 0);
  assert_string_equal(roster_tz_name(ny), "America/New_York");
  assert_string_equal(roster_tz_name(NULL), "UTC");
}

static void test_names_and_cache(void **state) {
  (void)state;
  const roster_tz *a = cron_zone("Europe/Paris"),
                  *b = cron_zone("Europe/Paris");
  assert_ptr_equal(a, b);
  assert_ptr_equal(cron_zone("UTC"), roster_tz_utc());
  const roster_tz *z = (const roster_tz *)&z;
  assert_rc(roster_tz_get("Mars/Olympus_Mons", &z), ROSTER_ENOENT);
  assert_null(z);
  assert_contains(roster_last_error(), "unknown time zone 'Mars/Olympus_Mons'");
  assert_rc(roster_tz_get("America", &z), ROSTER_ENOENT);
  assert_contains(roster_last_error(), "a directory");
  const char *bad[] = {
      "",    "../etc/passwd", "/etc/localtime", "Europe/..", "Europe/../x",
      "a b", "Europe/",       "./UTC",          "-rf",       "x\ny"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_rc(roster_tz_get(bad[i], &z), ROSTER_EINVAL);
    assert_contains(roster_last_error(), "bad time zone name");
  }
  char big[ROSTER_NAME_MAX + 2];
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  assert_rc(roster_tz_get(big, &z), ROSTER_EINVAL);
  assert_rc(roster_tz_get(NULL, &z), ROSTER_EINVAL);
  assert_rc(roster_tz_get("UTC", NULL), ROSTER_EINVAL);
}

/* ---- TZif files written here -------------------------------------- */

static char tzdir[128];

static void write_zone(const char *name, const unsigned char *b, size_t n) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", tzdir, name);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(b, 1, n, f), n);
  fclose(f);
}

static int setup_tzdir(void **state) {
  (void)state;
  snprintf(tzdir, sizeof tzdir, "/tmp/roster-tz-%ld", (long)getpid());
  mkdir(tzdir, 0700);
  setenv("TZDIR", tzdir, 1);
  return 0;
}

static int teardown_tzdir(void **state) {
  (void)state;
  char cmd[192];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tzdir);
  int rc = system(cmd);
  (void)rc;
  unsetenv("TZDIR");
  return 0;
}

static void test_tzif_files(void **state) {
  (void)state;
  tzw w;
  /* version 1: 32-bit times, no footer: +1h from 1e9 on, +2h from 2e9 */
  const int64_t t1[] = {1000000000, 2000000000};
  const uint8_t i1[] = {1, 2};
  const int32_t o1[] = {0, 3600, 7200};
  make_tzif(&w, &(tzspec){1, 2, t1, i1, 3, o1, 0, ""});
  write_zone("V1", w.b, w.n);
  const roster_tz *z = cron_zone("V1");
  assert_int_equal(roster_tz_offset(z, 999999999), 0);
  assert_int_equal(roster_tz_offset(z, 1000000000), 3600);
  assert_int_equal(roster_tz_offset(z, 1999999999), 3600);
  assert_int_equal(roster_tz_offset(z, 4000000000LL), 7200);

  /* version 2 with 64-bit times and a footer rule after the last one;
   * transitions that do not change the offset are dropped */
  const int64_t t2[] = {-5000000000LL, 0, 100};
  const uint8_t i2[] = {1, 1, 0};
  const int32_t o2[] = {-18000, -14400};
  make_tzif(&w, &(tzspec){2, 3, t2, i2, 2, o2, 0, "EST5EDT,M3.2.0,M11.1.0"});
  write_zone("V2", w.b, w.n);
  z = cron_zone("V2");
  assert_int_equal(roster_tz_offset(z, -6000000000LL), -18000);
  assert_int_equal(roster_tz_offset(z, -5000000000LL), -14400);
  assert_int_equal(roster_tz_offset(z, 50), -14400);
  assert_int_equal(roster_tz_offset(z, 100), -18000); /* 1970-01-01 */
  assert_int_equal(roster_tz_offset(z, cron_at("2026-07-01T00:00:00Z")),
                   -14400);
  assert_int_equal(roster_tz_offset(z, cron_at("2026-12-01T00:00:00Z")),
                   -18000);
  assert_int_equal(z->n, 2);

  /* version 3, no transitions, a fixed footer */
  make_tzif(&w, &(tzspec){3, 0, NULL, NULL, 1, (const int32_t[]){19800}, 0,
                          "IST-5:30"});
  write_zone("V3", w.b, w.n);
  assert_int_equal(roster_tz_offset(cron_zone("V3"), 0), 19800);

  /* broken files: each refused with EINVAL and a reason, nothing cached */

  make_tzif(&w, &(tzspec){2, 0, NULL, NULL, 1, (const int32_t[]){0}, 1, ""});
  write_zone("Leap", w.b, w.n);
  const roster_tz *bz = (const roster_tz *)&bz;
  assert_rc(roster_tz_get("Leap", &bz), ROSTER_EINVAL);
  assert_null(bz);
  assert_contains(roster_last_error(), "leap seconds");

  make_tzif(&w, &(tzspec){2, 2, t1, i1, 3, o1, 0, "EST5EDT"});
  write_zone("Trunc", w.b, w.n - 30);
  assert_rc(roster_tz_get("Trunc", &bz), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "truncated");

  write_zone("Magic",
             (const unsigned char *)"TZix0000000000000000000000"
                                    "00000000000000000000000000",
             52);
  assert_rc(roster_tz_get("Magic", &bz), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "not a TZif file");

  write_zone("Empty", (const unsigned char *)"", 0);
  assert_rc(roster_tz_get("Empty", &bz), ROSTER_EINVAL);

  const uint8_t badidx[] = {1, 7};
  make_tzif(&w, &(tzspec){2, 2, t1, badidx, 3, o1, 0, ""});
  write_zone("BadIdx", w.b, w.n);
  assert_rc(roster_tz_get("BadIdx", &bz), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "bad type");

  const int64_t unsorted[] = {2000000000, 1000000000};
  make_tzif(&w, &(tzspec){2, 2, unsorted, i1, 3, o1, 0, ""});
  write_zone("Unsorted", w.b, w.n);
  assert_rc(roster_tz_get("Unsorted", &bz), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "out of order");

  make_tzif(&w,
            &(tzspec){2, 0, NULL, NULL, 1, (const int32_t[]){200000}, 0, ""});
  write_zone("BigOff", w.b, w.n);
  assert_rc(roster_tz_get("BigOff", &bz), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "out of range");

  make_tzif(&w, &(tzspec){2, 0, NULL, NULL, 1, (const int32_t[]){0}, 0,
                          "EST5EDT,M13.1.0,M11.1.0"});
  write_zone("BadFooter", w.b, w.n);
  assert_rc(roster_tz_get("BadFooter", &bz), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "bad TZ string");

  make_tzif(&w, &(tzspec){2, 0, NULL, NULL, 1, (const int32_t[]){0}, 0, ""});
  write_zone("NoFooter", w.b, w.n - 2); /* drop the footer's newlines */
  assert_rc(roster_tz_get("NoFooter", &bz), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "footer");

  /* a broken zone fixed on disk loads next time: failures are not cached */
  make_tzif(
      &w, &(tzspec){2, 0, NULL, NULL, 1, (const int32_t[]){3600}, 0, "CET-1"});
  write_zone("Magic", w.b, w.n);
  assert_int_equal(roster_tz_offset(cron_zone("Magic"), 0), 3600);
}

/* ---- POSIX rules -------------------------------------------------- */

static const roster_tz *posix(const char *tzs) {
  setenv("TZ", tzs, 1);
  const roster_tz *z = NULL;
  int rc = roster_tz_local(&z);
  unsetenv("TZ");
  if (rc != ROSTER_OK) {
    print_error("TZ=%s: %s\n", tzs, roster_last_error());
    fail();
  }
  return z;
}

/* rules_agree: the POSIX rule gives the database zone's offsets at random
 * instants between two years (where the zone follows that rule). */
static void rules_agree(const char *tzs, const char *name, const char *from,
                        const char *to) {
  const roster_tz *p = posix(tzs), *z = cron_zone(name);
  int64_t a = cron_at(from), b = cron_at(to);
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 20000; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    int64_t t = a + (int64_t)(x % (uint64_t)(b - a));
    if (roster_tz_offset(p, t) != roster_tz_offset(z, t)) {
      print_error("%s vs %s at %lld: %d, %d\n", tzs, name, (long long)t,
                  roster_tz_offset(p, t), roster_tz_offset(z, t));
      fail();
    }
  }
}

static void test_posix_rules(void **state) {
  (void)state;
  rules_agree("EST5EDT,M3.2.0,M11.1.0", "America/New_York",
              "2007-01-01T00:00:00Z", "2037-01-01T00:00:00Z");
  rules_agree("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", "Australia/Lord_Howe",
              "2009-01-01T00:00:00Z", "2037-01-01T00:00:00Z");
  rules_agree("GMT0BST,M3.5.0/1,M10.5.0", "Europe/London",
              "1997-01-01T00:00:00Z", "2037-01-01T00:00:00Z");
  /* negative DST (Dublin's "winter time") and hours past 24 (Greenland) */
  rules_agree("IST-1GMT0,M10.5.0,M3.5.0/1", "Europe/Dublin",
              "1997-01-01T00:00:00Z", "2037-01-01T00:00:00Z");
  rules_agree("<-02>2<-01>,M3.5.0/-1,M10.5.0/0", "America/Nuuk",
              "2024-01-01T00:00:00Z", "2037-01-01T00:00:00Z");

  /* Jn skips February 29; n counts it */
  const roster_tz *j = posix("AAA0BBB,J60/0,J300/0");
  assert_int_equal(roster_tz_offset(j, cron_at("2028-02-29T12:00:00Z")), 0);
  assert_int_equal(roster_tz_offset(j, cron_at("2028-03-01T00:00:00Z")), 3600);
  const roster_tz *n = posix("CCC0DDD,59/0,300/0");
  assert_int_equal(roster_tz_offset(n, cron_at("2028-02-29T00:00:00Z")), 3600);
  assert_int_equal(roster_tz_offset(n, cron_at("2027-02-28T23:59:59Z")), 0);
  assert_int_equal(roster_tz_offset(n, cron_at("2027-03-01T00:00:00Z")), 3600);
  /* DST all year (RFC 8536's form), and no rule at all */
  const roster_tz *all = posix("EST5EDT,0/0,J365/25");
  for (int m = 1; m <= 12; m++) {
    char iso[32];
    snprintf(iso, sizeof iso, "2026-%02d-01T00:30:00Z", m);
    assert_int_equal(roster_tz_offset(all, cron_at(iso)), -14400);
  }
  assert_int_equal(roster_tz_offset(all, cron_at("2027-01-01T04:59:00Z")),
                   -14400);
  assert_int_equal(roster_tz_offset(posix("<+0545>-5:45"), 0), 20700);
  /* DST without a rule: the US rule, one hour ahead */
  assert_int_equal(
      roster_tz_offset(posix("PST8PDT"), cron_at("2026-07-01T00:00:00Z")),
      -25200);

  const char *bad[] = {"X5",
                       "ESTX",
                       "EST5EDT,M3.2.0",
                       "EST5EDT,M3.6.0,M11.1.0",
                       "EST5EDT,J0,J100",
                       "EST25",
                       "<AB>5",
                       "EST5EDT,M3.2.0/168,J1",
                       "EST5EDT;x",
                       "EST5:7"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    setenv("TZ", bad[i], 1);
    const roster_tz *z;
    if (roster_tz_local(&z) != ROSTER_EINVAL) {
      print_error("TZ=%s was accepted\n", bad[i]);
      fail();
    }
    assert_contains(roster_last_error(), "POSIX TZ string");
  }
  unsetenv("TZ");
}

static void test_tz_env(void **state) {
  (void)state;
  const roster_tz *z;
  setenv("TZ", "Asia/Tokyo", 1);
  assert_ok(roster_tz_local(&z));
  assert_ptr_equal(z, cron_zone("Asia/Tokyo"));
  setenv("TZ", ":Asia/Tokyo", 1);
  assert_ok(roster_tz_local(&z));
  assert_ptr_equal(z, cron_zone("Asia/Tokyo"));
  setenv("TZ", "/usr/share/zoneinfo/Asia/Seoul", 1);
  assert_ok(roster_tz_local(&z));
  assert_string_equal(roster_tz_name(z), "Asia/Seoul");
  assert_int_equal(roster_tz_offset(z, 1700000000), 32400);
  setenv("TZ", "", 1);
  assert_ok(roster_tz_local(&z));
  assert_ptr_equal(z, roster_tz_utc());
  setenv("TZ", "/nonexistent/zone", 1);
  assert_rc(roster_tz_local(&z), ROSTER_ENOENT);
  unsetenv("TZ");
  assert_ok(roster_tz_local(&z)); /* /etc/localtime, or UTC */
  assert_non_null(z);
  assert_rc(roster_tz_local(NULL), ROSTER_EINVAL);
}

/* ---- concurrent loads --------------------------------------------- */

#define LOADERS 8
static const roster_tz *loaded[LOADERS];
static atomic_int load_fails;
static pthread_barrier_t go;

static void *loader(void *arg) {
  size_t i = (size_t)(uintptr_t)arg;
  pthread_barrier_wait(&go);
  if (roster_tz_get("America/Sao_Paulo", &loaded[i]) != ROSTER_OK)
    atomic_fetch_add(&load_fails, 1);
  return NULL;
}

static void test_concurrent_load(void **state) {
  (void)state;
  pthread_t t[LOADERS];
  pthread_barrier_init(&go, NULL, LOADERS);
  for (size_t i = 0; i < LOADERS; i++)
    assert_int_equal(pthread_create(&t[i], NULL, loader, (void *)i), 0);
  for (size_t i = 0; i < LOADERS; i++)
    pthread_join(t[i], NULL);
  pthread_barrier_destroy(&go);
  assert_int_equal(atomic_load(&load_fails), 0);
  for (size_t i = 1; i < LOADERS; i++)
    assert_ptr_equal(loaded[i], loaded[0]);
  assert_int_equal(roster_tz_offset(loaded[0], 1700000000), -10800);
}

/* ---- ISO 8601 ----------------------------------------------------- */

static void test_format_parse(void **state) {
  (void)state;
  char buf[ROSTER_TIME_STR_MAX];
  const roster_tz *ny = cron_zone("America/New_York");
  assert_ok(
      roster_tz_format(ny, cron_at("2026-03-08T07:00:00Z"), buf, sizeof buf));
  assert_string_equal(buf, "2026-03-08T03:00:00-04:00");
  assert_ok(roster_tz_format(NULL, 0, buf, sizeof buf));
  assert_string_equal(buf, "1970-01-01T00:00:00+00:00");
  assert_ok(
      roster_tz_format(ny, cron_at("1850-06-01T12:00:00Z"), buf, sizeof buf));
  assert_string_equal(buf, "1850-06-01T07:03:58-04:56:02");
  assert_ok(roster_tz_format(cron_zone("Asia/Kolkata"), 0, buf, sizeof buf));
  assert_string_equal(buf, "1970-01-01T05:30:00+05:30");
  assert_ok(roster_tz_format(NULL, RC_T_MIN, buf, sizeof buf));
  assert_string_equal(buf, "0001-01-01T00:00:00+00:00");
  assert_rc(roster_tz_format(NULL, RC_T_MAX + 1, buf, sizeof buf),
            ROSTER_ERANGE);
  assert_rc(roster_tz_format(NULL, 0, buf, 10), ROSTER_ERANGE);
  assert_rc(roster_tz_format(NULL, 0, NULL, 10), ROSTER_EINVAL);

  int64_t t;
  assert_ok(roster_time_parse("2026-01-01T00:00:00Z", NULL, &t));
  assert_int_equal(t, 1767225600);
  assert_ok(roster_time_parse("2026-01-01 05:30+05:30", NULL, &t));
  assert_int_equal(t, 1767225600);
  assert_ok(roster_time_parse("2025-12-31T19:00:00-0500", NULL, &t));
  assert_int_equal(t, 1767225600);
  assert_ok(roster_time_parse("2026-01-01", NULL, &t));
  assert_int_equal(t, 1767225600);
  /* local times: the repeated hour means its first time; a skipped one
   * does not exist */
  assert_ok(roster_time_parse("2026-11-01T01:30:00", ny, &t));
  assert_int_equal(t, cron_at("2026-11-01T05:30:00Z"));
  assert_rc(roster_time_parse("2026-03-08T02:30:00", ny, &t), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "does not exist in America/New_York");

  struct {
    const char *text;
    int rc;
    const char *why;
  } bad[] = {
      {"2026-1-01", ROSTER_EINVAL, "column 6: expected '-' and a two-digit"},
      {"26-01-01", ROSTER_EINVAL, "column 1: expected a four-digit year"},
      {"2026-01-01T1:00", ROSTER_EINVAL,
       "column 12: expected a two-digit hour"},
      {"2026-01-01T10:00:00Q", ROSTER_EINVAL, "column 20: expected the end"},
      {"2026-01-01T10:00:00+5", ROSTER_EINVAL, "column 21: expected an offset"},
      {"2026-02-30T00:00:00Z", ROSTER_EINVAL, "no such date"},
      {"2026-01-01T24:00:00Z", ROSTER_EINVAL, "no such date"},
      {"2026-01-01T23:59:60Z", ROSTER_EINVAL, "no such date"},
      {"0000-01-01T00:00:00Z", ROSTER_ERANGE, "year must be 1 to 9999"},
      {"", ROSTER_EINVAL, "column 1"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    t = 42;
    assert_rc(roster_time_parse(bad[i].text, NULL, &t), bad[i].rc);
    assert_contains(roster_last_error(), bad[i].why);
  }
  assert_rc(roster_time_parse(NULL, NULL, &t), ROSTER_EINVAL);

  /* round trip: format then parse gives the instant back, in every zone */
  const char *zones[] = {"America/New_York", "Australia/Lord_Howe",
                         "Europe/London", "Pacific/Chatham", "UTC"};
  for (size_t zi = 0; zi < 5; zi++) {
    const roster_tz *z = cron_zone(zones[zi]);
    for (int64_t u = -2000000000LL; u < 4000000000LL; u += 7777777) {
      assert_ok(roster_tz_format(z, u, buf, sizeof buf));
      assert_ok(roster_time_parse(buf, NULL, &t));
      assert_int_equal(t, u);
    }
  }
}

/* ---- what roster_tz_format writes, roster_time_parse reads ---------- */

/* round_trip formats t in z and parses the text back: the same instant,
 * or, for a local time outside the years 1 to 9999, ROSTER_ERANGE from
 * both. */
static void round_trip(const roster_tz *z, int64_t t) {
  char buf[ROSTER_TIME_STR_MAX];
  int64_t back = 0;
  int rc = roster_tz_format(z, t, buf, sizeof buf);
  if (rc == ROSTER_ERANGE) {
    int64_t L = t + roster_tz_offset(z, t);
    if (L >= RC_T_MIN && L <= RC_T_MAX) {
      print_error("%s: %lld not formatted: %s\n", roster_tz_name(z),
                  (long long)t, roster_last_error());
      fail();
    }
    return;
  }
  assert_ok(rc);
  rc = roster_time_parse(buf, NULL, &back);
  if (rc != ROSTER_OK || back != t) {
    print_error("%s: %lld was written '%s', read back as %lld (%s)\n",
                roster_tz_name(z), (long long)t, buf, (long long)back,
                rc == ROSTER_OK ? "another instant" : roster_last_error());
    fail();
  }
}

/* round_trip_zone: instants across the supported range, before and after
 * each of the zone's first transitions (local mean time, with seconds),
 * and around its last. */
static void round_trip_zone(const roster_tz *z) {
  for (int64_t u = RC_T_MIN - 2 * RC_DAY; u <= RC_T_MAX + 2 * RC_DAY;
       u += 86400LL * 365 * 97 + 12345)
    round_trip(z, u);
  for (int64_t d = -RC_DAY; d <= RC_DAY; d += 3 * 3600 + 1) {
    round_trip(z, RC_T_MIN + d);
    round_trip(z, RC_T_MAX + d);
  }
  for (size_t i = 0; i < z->n && i < 4; i++)
    for (int64_t d = -2; d <= 2; d++)
      round_trip(z, z->at[i] + d * 3601);
  if (z->n > 0)
    for (int64_t d = -2; d <= 2; d++)
      round_trip(z, z->at[z->n - 1] + d * 3601);
}

/* Offsets with seconds (local mean time: -04:56:02 in New York until
 * 1883), and beyond 23:59 (a POSIX rule allows 24:59:59 either way, a
 * TZif file up to 25:59:59): roster_tz_format writes them as +hh:mm:ss
 * and +hh:mm, and roster_time_parse reads them, in every zone of the
 * database and in made-up ones at the limits. */
static void test_offset_round_trip(void **state) {
  (void)state;
  int64_t t;
  assert_ok(roster_time_parse("1850-06-01T07:03:58-04:56:02", NULL, &t));
  assert_int_equal(t, cron_at("1850-06-01T12:00:00Z"));
  assert_ok(roster_time_parse("1850-06-01T07:03:58-045602", NULL, &t));
  assert_int_equal(t, cron_at("1850-06-01T12:00:00Z"));
  assert_ok(roster_time_parse("2026-01-01T00:00:00-24:00", NULL, &t));
  assert_int_equal(t, cron_at("2026-01-02T00:00:00Z"));
  assert_ok(roster_time_parse("2026-01-02T01:59:59+25:59:59", NULL, &t));
  assert_int_equal(t, cron_at("2026-01-01T00:00:00Z"));
  struct {
    const char *text, *why;
  } bad[] = {
      {"2026-01-01T00:00:00+26:00", "column 21: expected an offset hour 00-25"},
      {"2026-01-01T00:00:00+05:60", "column 24: expected offset minutes"},
      {"2026-01-01T00:00:00+05:30:60", "column 27: expected offset seconds"},
      {"2026-01-01T00:00:00+05:30:5", "column 27: expected offset seconds"},
      {"2026-01-01T00:00:00+05:30:", "column 27: expected offset seconds"},
      {"2026-01-01T00:00:00+0530:00", "column 25: expected the end"},
      {"2026-01-01T00:00:00+05:3000", "column 26: expected the end"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_rc(roster_time_parse(bad[i].text, NULL, &t), ROSTER_EINVAL);
    assert_contains(roster_last_error(), bad[i].why);
  }

  if (access("/usr/share/zoneinfo/America/New_York", R_OK) == 0) {
    assert_true(cron_each_zone(round_trip_zone) > 300);
  }

  const char *rules[] = {"<+245959>-24:59:59",
                         "<-245959>24:59:59",
                         "<-24>24",
                         "<+24>-24",
                         "<-0001>0:00:01<+0001>-0:00:01",
                         "<+24>-24<-245959>24:59:59,J1/0,J365/24"};
  for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
    round_trip_zone(posix(rules[i]));

  /* TZif time types at RFC 8536's limits */
  char dir[128];
  snprintf(dir, sizeof dir, "/tmp/roster-tzrt-%ld", (long)getpid());
  mkdir(dir, 0700);
  setenv("TZDIR", dir, 1);
  const int32_t offs[] = {-93599, 93599, -86400, 86400, 3661, -1};
  const int64_t times[] = {-9000000000LL, 0, 1000000000, 2000000000,
                           3000000000LL};
  const uint8_t idx[] = {1, 2, 3, 4, 5};
  tzw w;
  make_tzif(&w, &(tzspec){2, 5, times, idx, 6, offs, 0, "<-01>0:00:01"});
  char path[192];
  snprintf(path, sizeof path, "%s/Limits", dir);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(w.b, 1, w.n, f), w.n);
  fclose(f);
  const roster_tz *z = cron_zone("Limits");
  unlink(path);
  rmdir(dir);
  unsetenv("TZDIR");
  char buf[ROSTER_TIME_STR_MAX];
  assert_ok(roster_tz_format(z, -1, buf, sizeof buf));
  assert_string_equal(buf, "1970-01-02T01:59:58+25:59:59");
  assert_ok(roster_tz_format(z, 0, buf, sizeof buf));
  assert_string_equal(buf, "1969-12-31T00:00:00-24:00");
  assert_ok(roster_tz_format(z, -9000000001LL, buf, sizeof buf));
  assert_string_equal(buf, "1684-10-18T06:00:00-25:59:59");
  round_trip_zone(z);
  for (size_t i = 0; i < 5; i++)
    for (int64_t d = -3; d <= 3; d++)
      round_trip(z, times[i] + d * 7200);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_real_offsets),
      cmocka_unit_test(test_names_and_cache),
      cmocka_unit_test_setup_teardown(test_tzif_files, setup_tzdir,
                                      teardown_tzdir),
      cmocka_unit_test(test_posix_rules),
      cmocka_unit_test(test_tz_env),
      cmocka_unit_test(test_concurrent_load),
      cmocka_unit_test(test_format_parse),
      cmocka_unit_test(test_offset_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
