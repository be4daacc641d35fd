/*
 * test_url.c: roster_url_parse on the URLs services are named by (decoded
 * parts, IPv6 hosts, SQLite's paths, query parameters), on malformed ones
 * (a clear EPARSE with a column, the password never in the detail), and
 * roster_url_redact on good and broken text.
 */
#include "testutil.h"

#include <stdlib.h>

typedef struct good_case {
  const char *text;
  const char *scheme, *user, *password, *host;
  int port;
  const char *path;
} good_case;

static void test_parse_good(void **state) {
  (void)state;
  static const good_case cases[] = {
      {"postgresql://app:s3cret@127.0.0.1:5432/appdb", "postgresql", "app",
       "s3cret", "127.0.0.1", 5432, "/appdb"},
      {"PostgreSQL://db.example.com/x", "postgresql", NULL, NULL,
       "db.example.com", 0, "/x"},
      {"mysql://root@[::1]:3306/test", "mysql", "root", NULL, "::1", 3306,
       "/test"},
      {"redis://:p%40ss%2Fw%3Ard@localhost:6379/2", "redis", "", "p@ss/w:rd",
       "localhost", 6379, "/2"},
      {"redis://127.0.0.1", "redis", NULL, NULL, "127.0.0.1", 0, ""},
      {"unix:///run/redis.sock?db=3", "unix", NULL, NULL, NULL, 0,
       "/run/redis.sock"},
      {"sqlite:///var/lib/app%20data.db", "sqlite", NULL, NULL, NULL, 0,
       "/var/lib/app data.db"},
      {"sqlite::memory:", "sqlite", NULL, NULL, NULL, 0, ":memory:"},
      {"sqlite:relative/file.db", "sqlite", NULL, NULL, NULL, 0,
       "relative/file.db"},
      {"memory://sessions", "memory", NULL, NULL, "sessions", 0, ""},
      {"postgresql://u:@h/d", "postgresql", "u", "", "h", 0, "/d"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const good_case *c = &cases[i];
    roster_url *u = NULL;
    int rc = roster_url_parse(c->text, &u);
    if (rc != ROSTER_OK)
      fail_msg("%s: %s: %s", c->text, roster_err_name(rc),
               roster_last_error());
    assert_string_equal(u->scheme, c->scheme);
#define OPT_EQ(field)                                                          \
  do {                                                                         \
    if (c->field == NULL)                                                      \
      assert_null(u->field);                                                   \
    else {                                                                     \
      assert_non_null(u->field);                                               \
      assert_string_equal(u->field, c->field);                                 \
    }                                                                          \
  } while (0)
    OPT_EQ(user);
    OPT_EQ(password);
    OPT_EQ(host);
#undef OPT_EQ
    assert_int_equal(u->port, c->port);
    assert_string_equal(u->path, c->path);
    roster_url_free(u);
  }
}

static void test_query(void **state) {
  (void)state;
  roster_url *u = NULL;
  assert_ok(roster_url_parse(
      "postgresql://h/db?sslmode=disable&pool.max=8&flag&app=a%20b+c"
      "&pool.max=9#frag",
      &u));
  assert_int_equal(u->nquery, 5);
  assert_string_equal(u->query_keys[0], "sslmode");
  assert_string_equal(u->query_values[0], "disable");
  assert_string_equal(u->query_keys[2], "flag");
  assert_string_equal(u->query_values[2], "");
  /* '+' is kept: only %20 means a space */
  assert_string_equal(roster_url_query(u, "app"), "a b+c");
  /* the last of a repeated key wins */
  assert_string_equal(roster_url_query(u, "pool.max"), "9");
  assert_null(roster_url_query(u, "missing"));
  assert_null(roster_url_query(u, NULL));
  assert_string_equal(u->fragment, "frag");
  roster_url_free(u);
}

static void test_parse_bad(void **state) {
  (void)state;
  static const struct {
    const char *text;
    int code;
    const char *needle;
  } cases[] = {
      {"", ROSTER_EINVAL, "empty"},
      {"no-scheme-here", ROSTER_EPARSE, "no scheme"},
      {"postgresql://u:topsecret@h:99999/db", ROSTER_EPARSE, "99999"},
      {"postgresql://u:topsecret@h:0/db", ROSTER_EPARSE, "outside"},
      {"redis://u:topsecret@host name/0", ROSTER_EPARSE, "column"},
      {"postgresql://u:topsecret@h:54x2/db", ROSTER_EPARSE, "column"},
      {"1http://x", ROSTER_EPARSE, ""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    roster_url *u = (roster_url *)1;
    int rc = roster_url_parse(cases[i].text, &u);
    if (rc != cases[i].code)
      fail_msg("'%s': got %s (%s), want %s", cases[i].text,
               roster_err_name(rc), roster_last_error(),
               roster_err_name(cases[i].code));
    assert_null(u);
    assert_contains(roster_last_error(), cases[i].needle);
    /* the password never shows */
    assert_null(strstr(roster_last_error(), "topsecret"));
  }
  roster_url *u = (roster_url *)1;
  assert_rc(roster_url_parse(NULL, &u), ROSTER_EINVAL);
  assert_null(u);
  assert_rc(roster_url_parse("x://y", NULL), ROSTER_EINVAL);
  char *big = malloc(ROSTER_URL_MAX + 16);
  assert_non_null(big);
  memset(big, 'a', ROSTER_URL_MAX + 15);
  memcpy(big, "redis://", 8);
  big[ROSTER_URL_MAX + 15] = '\0';
  assert_rc(roster_url_parse(big, &u), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "longer");
  free(big);
}

static void test_redact(void **state) {
  (void)state;
  static const struct {
    const char *in, *out;
  } cases[] = {
      {"postgresql://app:s3cret@127.0.0.1:5432/db",
       "postgresql://app:***@127.0.0.1:5432/db"},
      {"redis://:pw@h:6379/0", "redis://:***@h:6379/0"},
      {"mysql://user@h/db", "mysql://user@h/db"},
      {"postgresql://h/db?user=a&password=xyz&sslmode=require",
       "postgresql://h/db?user=a&password=***&sslmode=require"},
      {"x://h/?api_key=1&token=2&monkey=3&key=4",
       "x://h/?api_key=***&token=***&monkey=3&key=***"},
      /* broken text: a space in the host, an '@' in the password */
      {"postgresql://u:p@ss word@bad host/db",
       "postgresql://u:***@bad host/db"},
      {"sqlite::memory:", "sqlite::memory:"},
      {"plain text", "plain text"},
  };
  char buf[256];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    assert_string_equal(roster_url_redact(cases[i].in, buf, sizeof buf),
                        cases[i].out);
  /* a small buffer is cut short, terminated, and never leaks the secret */
  char small[20];
  roster_url_redact("postgresql://app:s3cret@127.0.0.1/db", small,
                    sizeof small);
  assert_int_equal(strlen(small), sizeof small - 1);
  assert_null(strstr(small, "s3cret"));
  assert_string_equal(roster_url_redact(NULL, buf, sizeof buf), "");
}

static void test_secret_key(void **state) {
  (void)state;
  static const char *const yes[] = {"password", "db.password", "PASSWORD",
                                    "passwd", "client_secret", "token",
                                    "apiKey", "api_key", "key", "redis.key",
                                    "aws_secret_access_key", "signing-key"};
  static const char *const no[] = {"keys", "monkey", "keyboard", "host",
                                   "user", "url", "pool.max", ""};
  for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
    if (!roster_url_secret_key(yes[i]))
      fail_msg("'%s' should look secret", yes[i]);
  for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
    if (roster_url_secret_key(no[i]))
      fail_msg("'%s' should not look secret", no[i]);
  assert_false(roster_url_secret_key(NULL));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_good), cmocka_unit_test(test_query),
      cmocka_unit_test(test_parse_bad), cmocka_unit_test(test_redact),
      cmocka_unit_test(test_secret_key),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
