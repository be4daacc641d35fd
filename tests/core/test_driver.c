/*
 * test_driver.c: the driver table and roster_provide_url. A test driver
 * ("fake://") declares a provider whose instance records the URL and
 * options it was made from; the tests check registration rules, the
 * unknown-scheme error, same name + same URL (one service), same name +
 * another URL (refused, redacted), malformed URLs and driver errors.
 */
#include "testutil.h"

#include <stdlib.h>

typedef struct fake {
  char host[64];
  int port;
  char opts[256];
} fake;

static atomic_int provides, creates;

static int fake_create(void *arg, const roster_deps *deps, void **out) {
  (void)deps;
  atomic_fetch_add(&creates, 1);
  *out = arg;
  return ROSTER_OK;
}

static void fake_free_arg(void *arg) { free(arg); }

static const roster_type fake_type = {.name = "fake"};

static int fake_provide(roster *r, const char *ns, const char *name,
                        const roster_url *url, const char *text,
                        const char *const *opts, void *arg) {
  (void)arg;
  (void)text;
  atomic_fetch_add(&provides, 1);
  fake *f = calloc(1, sizeof *f);
  if (!f)
    return roster_error_set(ROSTER_ENOMEM, "out of memory");
  snprintf(f->host, sizeof f->host, "%s", url->host ? url->host : "");
  f->port = url->port;
  for (size_t i = 0; opts && opts[i]; i += 2) {
    if (strcmp(opts[i], "bad") == 0) {
      free(f);
      return roster_error_set(ROSTER_EINVAL, "fake: unknown option '%s'",
                              opts[i]);
    }
    size_t o = strlen(f->opts);
    snprintf(f->opts + o, sizeof f->opts - o, "%s=%s;", opts[i], opts[i + 1]);
  }
  return roster_provide(r, ns, name,
                        &(roster_provider){.type = &fake_type,
                                           .create = fake_create,
                                           .arg = f,
                                           .free_arg = fake_free_arg,
                                           .lazy = true});
}

static const roster_driver fake_driver = {.version = ROSTER_DRIVER_VERSION,
                                          .scheme = "fake",
                                          .module = "test",
                                          .type = &fake_type,
                                          .provide = fake_provide};

static void test_register_rules(void **state) {
  (void)state;
  assert_ok(roster_driver_register(&fake_driver));
  assert_ok(roster_driver_register(&fake_driver)); /* again: no-op */
  assert_ptr_equal(roster_driver_find("fake"), &fake_driver);
  assert_ptr_equal(roster_driver_find("FAKE"), &fake_driver);
  assert_null(roster_driver_find("nope"));
  assert_null(roster_driver_find(NULL));

  roster_driver other = fake_driver;
  assert_rc(roster_driver_register(&other), ROSTER_EEXIST);
  assert_contains(roster_last_error(), "test");
  other.scheme = "Fake2";
  assert_rc(roster_driver_register(&other), ROSTER_EINVAL);
  other.scheme = "";
  assert_rc(roster_driver_register(&other), ROSTER_EINVAL);
  other.scheme = "fake2";
  other.version = 99;
  assert_rc(roster_driver_register(&other), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "99");
  other.version = ROSTER_DRIVER_VERSION;
  other.provide = NULL;
  assert_rc(roster_driver_register(&other), ROSTER_EINVAL);
  other.provide = fake_provide;
  other.type = NULL;
  assert_rc(roster_driver_register(&other), ROSTER_EINVAL);
  assert_rc(roster_driver_register(NULL), ROSTER_EINVAL);
  assert_null(roster_driver_find("fake2"));

  other.type = &fake_type;
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
  assert_ok(roster_provide_url(r, NULL, "main", "fake://u:hunter2@db:5/x",
                               opts));
  assert_int_equal(atomic_load(&provides), p0 + 1);
  /* the same name and URL again: the same service, not a second one */
  assert_ok(roster_provide_url(r, NULL, "main", "fake://u:hunter2@db:5/x",
                               NULL));
  assert_int_equal(atomic_load(&provides), p0 + 1);
  /* another URL under that name: refused, both URLs redacted */
  assert_rc(roster_provide_url(r, NULL, "main", "fake://u:other@db2:6/y",
                               NULL),
            ROSTER_EEXIST);
  assert_contains(roster_last_error(), "fake://u:***@db:5/x");
  assert_contains(roster_last_error(), "fake://u:***@db2:6/y");
  assert_null(strstr(roster_last_error(), "hunter2"));
  assert_null(strstr(roster_last_error(), "other@"));
  /* the same URL in another namespace is another service */
  assert_ok(roster_provide_url(r, "test", "main", "fake://u:hunter2@db:5/x",
                               NULL));
  assert_int_equal(atomic_load(&provides), p0 + 2);

  char buf[128];
  assert_ok(roster_service_url(r, NULL, "main", buf, sizeof buf));
  assert_string_equal(buf, "fake://u:***@db:5/x");
  assert_rc(roster_service_url(r, NULL, "absent", buf, sizeof buf),
            ROSTER_ENOENT);

  /* the provider works like any other */
  fake *f = NULL;
  assert_ok(roster_get(r, NULL, "main", &fake_type, (void **)&f));
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
  assert_rc(roster_provide_url(r, NULL, "m", "fake://h/", bad),
            ROSTER_EINVAL);
  assert_contains(roster_last_error(), "unknown option");
  assert_int_equal(atomic_load(&provides), before + 1);
  /* nothing was declared by the failures */
  assert_rc(roster_service_url(r, NULL, "m", buf, sizeof buf), ROSTER_ENOENT);
  assert_false(roster_has(r, NULL, "m"));
  assert_rc(roster_provide_url(r, NULL, "", "fake://h/", NULL),
            ROSTER_EINVAL);
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
  roster_driver d = fake_driver;
  d.scheme = "bad\nscheme";
  assert_rc(roster_driver_register(&d), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "bad\\x0ascheme");
  d.version = 77;
  assert_rc(roster_driver_register(&d), ROSTER_EINVAL);
  assert_clean(roster_last_error());
  roster_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_register_rules),
      cmocka_unit_test(test_provide_url),
      cmocka_unit_test(test_missing_module),
      cmocka_unit_test(test_unknown_option_value),
      cmocka_unit_test(test_errors_escaped),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
