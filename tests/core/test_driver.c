/*
 * test_driver.c: the driver table and roster_provide_url. A test driver
 * ("fake://") has a service face whose instance records the URL and
 * options it was made from; the tests check registration rules and the
 * one lookup's sentences (unknown scheme, wrong version, missing
 * operation), same name + same URL (one service), same name + another URL
 * (refused, redacted), malformed URLs and driver errors.
 */
#include "testutil.h"

#include <stdlib.h>

#define STR(x) #x
#define XSTR(x) STR(x)

typedef struct fake {
  char host[64];
  int port;
  char opts[256];
} fake;

static atomic_int provides, creates;

static int fake_check(const roster_url *url, const char *text,
                      const char *const *opts, const char *name) {
  (void)url, (void)text, (void)name;
  atomic_fetch_add(&provides, 1);
  for (size_t i = 0; opts && opts[i]; i += 2)
    if (strcmp(opts[i], "bad") == 0)
      return roster_error_set(ROSTER_EINVAL, "fake: unknown option '%s'",
                              opts[i]);
  return ROSTER_OK;
}

static int fake_open(const char *text, const char *const *opts,
                     const char *name, void **out) {
  (void)name;
  atomic_fetch_add(&creates, 1);
  roster_url *url = NULL;
  int rc = roster_url_parse(text, &url);
  if (rc)
    return rc;
  fake *f = calloc(1, sizeof *f);
  if (!f) {
    roster_url_free(url);
    return roster_error_set(ROSTER_ENOMEM, "out of memory");
  }
  snprintf(f->host, sizeof f->host, "%s", url->host ? url->host : "");
  f->port = url->port;
  roster_url_free(url);
  for (size_t i = 0; opts && opts[i]; i += 2) {
    size_t o = strlen(f->opts);
    snprintf(f->opts + o, sizeof f->opts - o, "%s=%s;", opts[i], opts[i + 1]);
  }
  *out = f;
  return ROSTER_OK;
}

static void fake_destroy(void *instance) { free(instance); }

static const roster_type fake_type = {.name = "fake", .destroy = fake_destroy};

static const roster_service_ops fake_ops = {.version = ROSTER_DRIVER_VERSION,
                                            .type = &fake_type,
                                            .check = fake_check,
                                            .open = fake_open};

static const char *const fake_schemes[] = {"fake", NULL};

static const roster_driver fake_driver = {
    .version = ROSTER_DRIVER_VERSION,
    .name = "fake",
    .module = "test",
    .schemes = fake_schemes,
    .faces = {{&roster_service_face, &fake_ops}},
};

static void test_register_rules(void **state) {
  (void)state;
  assert_ok(roster_driver_register(&fake_driver));
  assert_ok(roster_driver_register(&fake_driver)); /* again: no-op */
  assert_ptr_equal(roster_driver_find("fake"), &fake_driver);
  assert_ptr_equal(roster_driver_find("FAKE"), &fake_driver);
  assert_null(roster_driver_find("nope"));
  assert_null(roster_driver_find(NULL));

  const char *schemes[] = {"fake", NULL};
  roster_service_ops ops = fake_ops;
  roster_driver other = fake_driver;
  other.name = "fake2";
  other.schemes = schemes;
  other.faces[0].ops = &ops;
  assert_rc(roster_driver_register(&other), ROSTER_EEXIST);
  assert_contains(roster_last_error(), "test");
  schemes[0] = "Fake2";
  assert_rc(roster_driver_register(&other), ROSTER_EINVAL);
  schemes[0] = "";
  assert_rc(roster_driver_register(&other), ROSTER_EINVAL);
  schemes[0] = "fake2";
  other.version = 99;
  assert_rc(roster_driver_register(&other), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "99");
  other.version = ROSTER_DRIVER_VERSION;
  ops.open = NULL;
  assert_rc(roster_driver_register(&other), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "has no open, which is required");
  ops.open = fake_open;
  ops.type = NULL;
  assert_rc(roster_driver_register(&other), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "has no type, which is required");
  assert_rc(roster_driver_register(NULL), ROSTER_EINVAL);
  assert_null(roster_driver_find("fake2"));

  ops.type = &fake_type;
  assert_ok(roster_driver_register(&other));
  char buf[128];
  assert_contains(roster_driver_schemes(buf, sizeof buf), "fake, fake2");
  assert_ok(roster_driver_unregister(&other));
  assert_rc(roster_driver_unregister(&other), ROSTER_ENOENT);
  assert_null(roster_driver_find("fake2"));
}

static void test_provide_url(void **state) {
  (void)state;
  assert_ok(roster_driver_register(&fake_driver));
  roster *r = tu_registry(NULL);
  int p0 = atomic_load(&provides);
  static const char *const opts[] = {"pool.max", "8", "mode", "rw", NULL};
  assert_ok(
      roster_provide_url(r, NULL, "main", "fake://u:hunter2@db:5/x", opts));
  assert_int_equal(atomic_load(&provides), p0 + 1);
  /* the same name and URL again: the same service, not a second one */
  assert_ok(
      roster_provide_url(r, NULL, "main", "fake://u:hunter2@db:5/x", NULL));
  assert_int_equal(atomic_load(&provides), p0 + 1);
  /* another URL under that name: refused, both URLs redacted */
  assert_rc(roster_provide_url(r, NULL, "main", "fake://u:other@db2:6/y", NULL),
            ROSTER_EEXIST);
  assert_contains(roster_last_error(), "fake://u:***@db:5/x");
  assert_contains(roster_last_error(), "fake://u:***@db2:6/y");
  assert_null(strstr(roster_last_error(), "hunter2"));
  assert_null(strstr(roster_last_error(), "other@"));
  /* the same URL in another namespace is another service */
  assert_ok(
      roster_provide_url(r, "test", "main", "fake://u:hunter2@db:5/x", NULL));
  assert_int_equal(atomic_load(&provides), p0 + 2);

  char buf[128];
  assert_ok(roster_service_url(r, NULL, "main", buf, sizeof buf));
  assert_string_equal(buf, "fake://u:***@db:5/x");
  assert_rc(roster_service_url(r, NULL, "absent", buf, sizeof buf),
            ROSTER_ENOENT);

  /* the provider works like any other: made once, on first use */
  fake *f = NULL;
  int c0 = atomic_load(&creates);
  assert_ok(roster_get(r, NULL, "main", &fake_type, (void **)&f));
  assert_ok(roster_get(r, NULL, "main", &fake_type, (void **)&f));
  assert_int_equal(atomic_load(&creates), c0 + 1);
  assert_string_equal(f->host, "db");
  assert_int_equal(f->port, 5);
  assert_string_equal(f->opts, "pool.max=8;mode=rw;");

  /* errors: unknown scheme, malformed URL, driver refusal, bad names */
  assert_rc(roster_provide_url(r, NULL, "m", "mongodb://u:pw@h/db", NULL),
            ROSTER_ENOTSUP);
  assert_contains(roster_last_error(), "'mongodb'");
  assert_contains(roster_last_error(), "fake");
  assert_null(strstr(roster_last_error(), ":pw@"));
  assert_rc(roster_provide_url(r, NULL, "m", "fake://u:pw@h:70000/", NULL),
            ROSTER_EPARSE);
  assert_contains(roster_last_error(), "'m'");
  assert_null(strstr(roster_last_error(), ":pw@"));
  static const char *const bad[] = {"bad", "1", NULL};
  int before = atomic_load(&provides);
  assert_rc(roster_provide_url(r, NULL, "m", "fake://h/", bad), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "unknown option");
  assert_int_equal(atomic_load(&provides), before + 1);
  /* nothing was declared by the failures */
  assert_rc(roster_service_url(r, NULL, "m", buf, sizeof buf), ROSTER_ENOENT);
  assert_false(roster_has(r, NULL, "m"));
  assert_rc(roster_provide_url(r, NULL, "", "fake://h/", NULL), ROSTER_EINVAL);
  assert_rc(roster_provide_url(r, NULL, "m", NULL, NULL), ROSTER_EINVAL);
  assert_rc(roster_provide_url(NULL, NULL, "m", "fake://h/", NULL),
            ROSTER_EINVAL);
  roster_free(r);
}

static void assert_clean(const char *e) {
  for (const char *p = e; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      fail_msg("byte 0x%02x in '%s'", (unsigned char)*p, e);
}

/* A scheme whose module is not registered: the error says which call
 * registers it, the same way for a service, a database and a cache. */
static void test_missing_module(void **state) {
  (void)state;
  static const struct {
    const char *url, *hint;
  } cases[] = {
      {"postgresql://u:Zq1@h/db", "call roster_pg_init() (<roster/pg.h>, "
                                  "library roster_pg) to register it"},
      {"postgres://h/db", "call roster_pg_init() (<roster/pg.h>, library "
                          "roster_pg) to register it"},
      {"mysql://h/db", "call roster_mariadb_init() (<roster/mariadb.h>, "
                       "library roster_mariadb) to register it"},
      {"mariadb://h/db", "call roster_mariadb_init() (<roster/mariadb.h>, "
                         "library roster_mariadb) to register it"},
      {"sqlite::memory:", "call roster_sqlite_init() (<roster/sqlite.h>, "
                          "library roster_sqlite) to register it"},
      {"SQLite:///tmp/x.db", "call roster_sqlite_init() (<roster/sqlite.h>, "
                             "library roster_sqlite) to register it"},
      {"redis://h:6379/0", "call roster_redis_init() (<roster/redis.h>, "
                           "library roster_redis) to register it"},
      {"unix:///run/redis.sock", "call roster_redis_init() (<roster/redis.h>, "
                                 "library roster_redis) to register it"},
      {"rediss://h:6379/0", "TLS"},
  };
  roster *r = tu_registry(NULL);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_rc(roster_provide_url(r, NULL, "svc", cases[i].url, NULL),
              ROSTER_ENOTSUP);
    assert_contains(roster_last_error(), "service 'svc'");
    assert_contains(roster_last_error(), cases[i].hint);
    assert_contains(roster_last_error(), "schemes registered: ");
    assert_null(strstr(roster_last_error(), "Zq1"));
  }
  /* the same sentence from roster_db_open and roster_cache_open */
  roster_db *db = NULL;
  assert_rc(roster_db_open("postgresql://u:Zq1@h/db", NULL, &db),
            ROSTER_ENOTSUP);
  assert_contains(roster_last_error(), "call roster_pg_init() (<roster/pg.h>, "
                                       "library roster_pg) to register it");
  assert_null(strstr(roster_last_error(), "Zq1"));
  roster_cache *c = NULL;
  assert_rc(roster_cache_open("redis://:Zq1@h/0", NULL, NULL, &c),
            ROSTER_ENOTSUP);
  assert_contains(roster_last_error(),
                  "call roster_redis_init() (<roster/redis.h>, library "
                  "roster_redis) to register it");
  assert_null(strstr(roster_last_error(), "Zq1"));
  /* a scheme no module of roster's serves: no call to suggest */
  assert_rc(roster_provide_url(r, NULL, "m", "mongodb://h/db", NULL),
            ROSTER_ENOTSUP);
  assert_contains(roster_last_error(), "no module for URL scheme 'mongodb'");
  assert_null(strstr(roster_last_error(), "_init()"));
  roster_free(r);
}

/* An option a driver does not know is named, its value never shown (it
 * may be a misspelt password), in any error that quotes the URL. */
static void test_unknown_option_value(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  assert_rc(roster_provide_url(r, NULL, "c", "memory://c?pasword=Zq1Xw9", NULL),
            ROSTER_EINVAL);
  assert_contains(roster_last_error(), "'pasword'");
  assert_null(strstr(roster_last_error(), "Zq1Xw9"));
  roster_cache *c = NULL;
  assert_rc(roster_cache_open("memory://c?max_entries=9&pasword=Zq1Xw9", NULL,
                              NULL, &c),
            ROSTER_EINVAL);
  assert_contains(roster_last_error(), "'pasword'");
  assert_null(strstr(roster_last_error(), "Zq1Xw9"));
  roster_free(r);
}

/* Outside strings in the driver table's errors are escaped. */
static void test_errors_escaped(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  assert_rc(roster_provide_url(r, NULL, "a\nb\x1b[2J", "mongodb://h/db", NULL),
            ROSTER_ENOTSUP);
  assert_contains(roster_last_error(), "a\\x0ab\\x1b[2J");
  assert_clean(roster_last_error());
  const char *schemes[] = {"bad\nscheme", NULL};
  roster_driver d = fake_driver;
  d.schemes = schemes;
  assert_rc(roster_driver_register(&d), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "bad\\x0ascheme");
  d.version = 77;
  assert_rc(roster_driver_register(&d), ROSTER_EINVAL);
  assert_clean(roster_last_error());
  roster_free(r);
}

/* The one lookup's sentences: a scheme nobody serves lists those that
 * are (and stops listing a driver once unregistered); a wrong version and
 * a missing operation are named, for the driver and for each face. */
static void test_lookup_messages(void **state) {
  (void)state;
  const char *schemes[] = {"lookup-a", "lookup-b", NULL};
  roster_service_ops ops = fake_ops;
  roster_driver d = {.version = ROSTER_DRIVER_VERSION,
                     .name = "lookup",
                     .module = "lookupmod",
                     .schemes = schemes,
                     .faces = {{&roster_service_face, &ops}}};
  assert_ok(roster_driver_register(&d));
  roster *r = tu_registry(NULL);
  assert_rc(roster_provide_url(r, NULL, "x", "nosuch://h/", NULL),
            ROSTER_ENOTSUP);
  assert_contains(roster_last_error(),
                  "no module for URL scheme 'nosuch' (nosuch://h/) is "
                  "registered; schemes registered: ");
  assert_contains(roster_last_error(), "lookup-a (module lookupmod)");
  assert_contains(roster_last_error(), "lookup-b (module lookupmod)");
  /* both schemes reach the one driver */
  assert_ptr_equal(roster_driver_find("lookup-b"), &d);
  assert_ok(roster_provide_url(r, NULL, "b", "lookup-b://h:1/", NULL));
  char buf[64];
  assert_ok(roster_service_url(r, NULL, "b", buf, sizeof buf));
  assert_ok(roster_driver_unregister(&d));
  assert_rc(roster_provide_url(r, NULL, "x", "lookup-a://h/", NULL),
            ROSTER_ENOTSUP);
  assert_null(strstr(roster_last_error(), "lookupmod"));
  /* a service declared before the driver left still works */
  fake *f = NULL;
  assert_ok(roster_get(r, NULL, "b", &fake_type, (void **)&f));
  assert_int_equal(f->port, 1);
  roster_free(r);

  ops.version = 7;
  assert_rc(roster_driver_register(&d), ROSTER_EINVAL);
  assert_string_equal(
      roster_last_error(),
      "driver 'lookup': its service face has version 7; "
      "this roster speaks version " XSTR(ROSTER_DRIVER_VERSION));
  ops.version = ROSTER_DRIVER_VERSION;
  d.version = 1;
  assert_rc(roster_driver_register(&d), ROSTER_EINVAL);
  assert_string_equal(roster_last_error(),
                      "driver 'lookup' has version 1; this roster speaks "
                      "version " XSTR(ROSTER_DRIVER_VERSION));
  d.version = ROSTER_DRIVER_VERSION;
  ops.open = NULL;
  assert_rc(roster_driver_register(&d), ROSTER_EINVAL);
  assert_string_equal(roster_last_error(), "driver 'lookup': its service "
                                           "face has no open, which is "
                                           "required");
  ops.open = fake_open;
  d.faces[1] = d.faces[0];
  assert_rc(roster_driver_register(&d), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "two service faces");
  d.faces[0] = d.faces[1] = (roster_driver_face){0};
  assert_rc(roster_driver_register(&d), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "offers no face");
  d.faces[0] = (roster_driver_face){&roster_service_face, NULL};
  assert_rc(roster_driver_register(&d), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "has no vtable");
  d.faces[0].ops = &ops;
  d.schemes = NULL;
  assert_rc(roster_driver_register(&d), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "has no schemes");
  assert_null(roster_driver_find("lookup-a"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_register_rules),
      cmocka_unit_test(test_provide_url),
      cmocka_unit_test(test_missing_module),
      cmocka_unit_test(test_unknown_option_value),
      cmocka_unit_test(test_errors_escaped),
      cmocka_unit_test(test_lookup_messages),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
