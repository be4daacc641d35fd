/*
 * test_url.c: roster_url_parse on the URLs services are named by (decoded
 * parts, IPv6 hosts, SQLite's paths, query parameters), on malformed ones
 * (a clear EPARSE with a column, the password never in the detail), and
 * roster_url_redact on good and broken text; host lists.
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
      fail_msg("%s: %s: %s", c->text, roster_err_name(rc), roster_last_error());
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
      fail_msg("'%s': got %s (%s), want %s", cases[i].text, roster_err_name(rc),
               roster_last_error(), roster_err_name(cases[i].code));
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
      /* broken text: a space in the host, an '@' in the password; the
       * whole user info is hidden */
      {"postgresql://u:p@ss word@bad host/db", "postgresql://***@bad host/db"},
      /* no scheme, a forgotten scheme: the user info is hidden whole */
      {"//u:pw@host/db", "//***@host/db"},
      {"u:pw@h/db", "***@h/db"},
      /* an unencoded '#', '?' or '/' in the password */
      {"postgresql://user:s3cr#t@db.local/app",
       "postgresql://***@db.local/app"},
      {"postgresql://user:12?x@db/app", "postgresql://***@db/app"},
      {"postgresql://user:12/x@db/app", "postgresql://***@db/app"},
      /* an '@' after the host: everything before it is hidden */
      {"x://h/db?email=a@b.c", "x://***@b.c"},
      /* no '@': a port that is not a number may be a password */
      {"postgresql://user:s3cret/db", "postgresql://user:***"},
      {"redis://[::1]:6379/0", "redis://[::1]:6379/0"},
      /* query names are decoded before they are judged */
      {"x://h/?pass%77ord=1&PASS%57ORD=2&p%61ss=3",
       "x://h/?pass%77ord=***&PASS%57ORD=***&p%61ss=3"},
      /* a secret value runs to the next '&', through '#' and '?' */
      {"x://h/?password=a#b?c&d=e", "x://h/?password=***&d=e"},
      {"x://h/#token=abc", "x://h/#token=***"},
      /* control bytes and bytes that are not UTF-8 are escaped */
      {"x://h/a\nb\x1b[31m\x7f\xff\xc3\xa9",
       "x://h/a\\x0ab\\x1b[31m\\x7f\\xff\xc3\xa9"},
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
  static const char *const yes[] = {"password",
                                    "db.password",
                                    "PASSWORD",
                                    "passwd",
                                    "client_secret",
                                    "token",
                                    "apiKey",
                                    "api_key",
                                    "key",
                                    "redis.key",
                                    "aws_secret_access_key",
                                    "signing-key"};
  static const char *const no[] = {"keys", "monkey", "keyboard", "host",
                                   "user", "url",    "pool.max", ""};
  for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
    if (!roster_url_secret_key(yes[i]))
      fail_msg("'%s' should look secret", yes[i]);
  for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
    if (roster_url_secret_key(no[i]))
      fail_msg("'%s' should not look secret", no[i]);
  assert_false(roster_url_secret_key(NULL));
}

/* hostile: each text holds a secret (in pieces when the text may split it);
 * no piece may appear in the redaction, in the parse error, or in the
 * errors of the calls that quote a URL (roster_provide_url with an unknown
 * scheme, roster_cache_open). */
typedef struct hostile_case {
  const char *text;
  int rc; /* roster_url_parse's answer; 1: any failure */
  const char *pieces[3];
} hostile_case;

static const hostile_case hostile[] = {
    /* no scheme, a forgotten scheme, missing slashes */
    {"//u:Zq1@host/db", ROSTER_EPARSE, {"Zq1"}},
    {"u:Zq1@h/db", ROSTER_EPARSE, {"Zq1"}},
    {"postgresql:u:Zq1@h/db", ROSTER_EPARSE, {"Zq1"}},
    {"postgresql:/u:Zq1@h/db", ROSTER_EPARSE, {"Zq1"}},
    {"postgresql:///u:Zq1@h/db", ROSTER_EPARSE, {"Zq1"}},
    {" postgresql://u:Zq1@h/db", ROSTER_EPARSE, {"Zq1"}},
    {"://u:Zq1@h/db", ROSTER_EPARSE, {"Zq1"}},
    {"Zq1@h/db", ROSTER_EPARSE, {"Zq1"}},
    /* '#', '?', '/', '@', ':' and blanks inside the password */
    {"postgresql://user:Zq1#Xw9@db.local/app", ROSTER_EPARSE, {"Zq1", "Xw9"}},
    {"postgresql://user:987#Xw9@db.local/app", ROSTER_EPARSE, {"987", "Xw9"}},
    {"postgresql://user:Zq1?Xw9@db/app", ROSTER_EPARSE, {"Zq1", "Xw9"}},
    {"postgresql://user:987?Xw9@db/app", ROSTER_EPARSE, {"987", "Xw9"}},
    {"postgresql://user:987?a=Xw9@db/app", ROSTER_EPARSE, {"987", "Xw9"}},
    {"x://u:Zq1/Xw9@h/db", ROSTER_EPARSE, {"Zq1", "Xw9"}},
    {"x://u:987/Xw9@h/db", ROSTER_EPARSE, {"987", "Xw9"}},
    {"x://u:Zq1@Xw9@h/db", ROSTER_EPARSE, {"Zq1", "Xw9"}},
    {"x://u:Zq1@Xw9/Qp4@h/db", ROSTER_EPARSE, {"Zq1", "Xw9", "Qp4"}},
    {"x://u:Zq1 Xw9@bad host/db", ROSTER_EPARSE, {"Zq1", "Xw9"}},
    {"x://u:Zq1#@h/db?a=1", ROSTER_EPARSE, {"Zq1"}},
    {"x://u:Zq1@h/db#frag@x", ROSTER_EPARSE, {"Zq1"}},
    {"x://u:Zq1@h/db?email=a@b", ROSTER_EPARSE, {"Zq1"}},
    {"x://u:Zq1@h:5432:99/db", ROSTER_EPARSE, {"Zq1"}},
    {"x://u:Zq1@h:99999/db", ROSTER_EPARSE, {"Zq1"}},
    {"x://u:Zq1@[::1/db", ROSTER_EPARSE, {"Zq1"}},
    {"x://[::1:Zq1@h/db", ROSTER_EPARSE, {"Zq1"}},
    {"x://u:Zq1@h/%zz", ROSTER_EPARSE, {"Zq1"}},
    /* no host after the password */
    {"postgresql://u:Zq1", ROSTER_EPARSE, {"Zq1"}},
    {"postgresql://u:Zq1/db", ROSTER_EPARSE, {"Zq1"}},
    {"postgresql://u:Zq1?x=1", ROSTER_EPARSE, {"Zq1"}},
    /* encoded NULs */
    {"x://u:Zq1@h/%00db", ROSTER_EPARSE, {"Zq1"}},
    {"x://u:Zq1%00Xw9@h/db", ROSTER_EPARSE, {"Zq1", "Xw9"}},
    {"x://u:Zq1@h/db?password=Xw9%00Qp4", ROSTER_EPARSE, {"Zq1", "Xw9", "Qp4"}},
    /* control bytes */
    {"x://u:Zq1\n@h/db", ROSTER_EPARSE, {"Zq1"}},
    {"x://u:Zq1\x1b[2J@h/db", ROSTER_EPARSE, {"Zq1", "[2J"}},
    {"x://u:Zq1@h\x7f/db?token=Xw9", ROSTER_EPARSE, {"Zq1", "Xw9"}},
    /* secret query parameters, however spelt */
    {"x://h/db?password=Zq1", ROSTER_OK, {"Zq1"}},
    {"x://h/db?pass%77ord=Zq1", ROSTER_OK, {"Zq1"}},
    {"x://h/db?%70%61%73%73%77%6f%72%64=Zq1", ROSTER_OK, {"Zq1"}},
    {"x://h/db?API%5fKEY=Zq1&x=1", ROSTER_OK, {"Zq1"}},
    {"x://h/db?a=1&password=Zq1#Xw9", ROSTER_OK, {"Zq1", "Xw9"}},
    {"x://h/db?password=Zq1?Xw9&b=2", ROSTER_OK, {"Zq1", "Xw9"}},
    {"x://h/db?password=Zq1=Xw9", ROSTER_OK, {"Zq1", "Xw9"}},
    {"x://h/db?a=1?token=Zq1", ROSTER_OK, {"Zq1"}},
    {"x://h/db?pass%77ord;mykey=Zq1", ROSTER_OK, {"Zq1"}},
    {"x://h/db?password;=Zq1", ROSTER_OK, {"Zq1"}},
    {"x://h/db?x;token=Zq1&a=1", ROSTER_OK, {"Zq1"}},
    {"x://u:Zq1@h/db?password=Xw9", ROSTER_OK, {"Zq1", "Xw9"}},
    {"x://u:Zq1@h/db?password=Xw9 x", ROSTER_EPARSE, {"Zq1", "Xw9"}},
    {"redis://:Zq1@h:6379/0", ROSTER_OK, {"Zq1"}},
    {"x://u:Zq1:Xw9@h/db", ROSTER_OK, {"Zq1", "Xw9"}},
    {"x://u:Zq1%40Xw9@h/db", ROSTER_OK, {"Zq1", "Xw9"}},
};

static void check_clean(const hostile_case *c, const char *what,
                        const char *text) {
  for (size_t j = 0; j < 3 && c->pieces[j]; j++)
    if (strstr(text, c->pieces[j]))
      fail_msg("'%s': %s shows '%s': %s", c->text, what, c->pieces[j], text);
  for (const char *p = text; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      fail_msg("'%s': %s holds byte 0x%02x: %s", c->text, what,
               (unsigned char)*p, text);
}

static void test_hostile(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
    const hostile_case *c = &hostile[i];
    char buf[512];
    check_clean(c, "the redaction",
                roster_url_redact(c->text, buf, sizeof buf));
    roster_url *u = NULL;
    int rc = roster_url_parse(c->text, &u);
    if (c->rc == ROSTER_OK ? rc != ROSTER_OK : rc != c->rc)
      fail_msg("'%s': got %s (%s), want %s", c->text, roster_err_name(rc),
               roster_last_error(), roster_err_name(c->rc));
    if (rc)
      check_clean(c, "the parse error", roster_last_error());
    roster_url_free(u);
    /* the errors of calls that quote the URL */
    assert_int_not_equal(roster_provide_url(r, NULL, "svc", c->text, NULL),
                         ROSTER_OK);
    check_clean(c, "roster_provide_url's error", roster_last_error());
    roster_cache *cache = NULL;
    assert_int_not_equal(roster_cache_open(c->text, NULL, NULL, &cache),
                         ROSTER_OK);
    check_clean(c, "roster_cache_open's error", roster_last_error());
  }
  roster_free(r);
}

/* An encoded NUL would cut the part it is in: refused wherever it is. */
static void test_encoded_nul(void **state) {
  (void)state;
  static const char *const texts[] = {
      "sqlite:///tmp/app.db%00.bak", "postgresql://u:p%00w@h/db",
      "postgresql://u%00x:pw@h/db",  "postgresql://h%00x/db",
      "postgresql://h/db?k%00=v",    "postgresql://h/db?k=v%00w",
      "postgresql://h/db#f%00",      "postgresql://h/db?k=%2500%00",
  };
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
    roster_url *u = (roster_url *)1;
    int rc = roster_url_parse(texts[i], &u);
    if (rc != ROSTER_EPARSE)
      fail_msg("'%s': got %s, want ROSTER_EPARSE", texts[i],
               roster_err_name(rc));
    assert_null(u);
    assert_contains(roster_last_error(), "%00");
  }
  /* %25 is a '%', so %2500 is the text "%00", not a NUL */
  roster_url *u = NULL;
  assert_ok(roster_url_parse("x://h/a%2500b", &u));
  assert_string_equal(u->path, "/a%00b");
  roster_url_free(u);
}

/* Control bytes in any part never reach an error text raw. */
static void test_control_bytes(void **state) {
  (void)state;
  static const char *const texts[] = {
      "postgresql://u:pw@h/db\n",
      "post\ngresql://h/db",
      "postgresql://u\x1b:pw@h/db",
      "postgresql://h\x1b[31m/db",
      "postgresql://h/d\x7f"
      "b",
      "postgresql://h/db?a\n=1",
      "postgresql://h/db?a=\r\n",
      "postgresql://h/db#\x01",
      "\x1b]0;title\x07//h/db",
      "postgresql://h:\t5/db",
      "x://h/%0a\x9b",
      "\xc2\x9b://h",
  };
  roster *r = tu_registry(NULL);
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
    roster_url *u = NULL;
    assert_int_not_equal(roster_url_parse(texts[i], &u), ROSTER_OK);
    const char *e = roster_last_error();
    for (const char *p = e; *p; p++) {
      unsigned char b = (unsigned char)*p;
      if (b < 0x20 || b == 0x7f ||
          (b == 0xc2 && (unsigned char)p[1] >= 0x80 &&
           (unsigned char)p[1] < 0xa0))
        fail_msg("URL %zu: byte 0x%02x in '%s'", i, b, e);
    }
    assert_int_not_equal(roster_provide_url(r, NULL, "s", texts[i], NULL),
                         ROSTER_OK);
    for (const char *p = roster_last_error(); *p; p++)
      if ((unsigned char)*p < 0x20 || *p == 0x7f)
        fail_msg("URL %zu: byte 0x%02x in '%s'", i, (unsigned char)*p,
                 roster_last_error());
  }
  /* the escaped form says which byte it was */
  roster_url *u = NULL;
  assert_rc(roster_url_parse("postgresql://h/a\nb", &u), ROSTER_EPARSE);
  assert_contains(roster_last_error(), "postgresql://h/a\\x0ab");
  roster_free(r);
}

/* A host list (etcd://h1:p1,h2:p2/...): parsed with its first host, the
 * list kept whole in hosts; one host leaves hosts NULL; an empty host in
 * the list, or any host that would not parse alone, is EPARSE, the
 * password never shown. */
static void test_host_list(void **state) {
  (void)state;
  roster_url *u = NULL;
  assert_ok(roster_url_parse("etcd://10.0.0.1:2379,h2:2380,[::1]:2381/roster"
                             "?cluster=a",
                             &u));
  assert_string_equal(u->host, "10.0.0.1");
  assert_int_equal(u->port, 2379);
  assert_string_equal(u->hosts, "10.0.0.1:2379,h2:2380,[::1]:2381");
  assert_string_equal(u->path, "/roster");
  assert_string_equal(roster_url_query(u, "cluster"), "a");
  roster_url_free(u);
  assert_ok(roster_url_parse("etcd://u:pw@h1:1,h2:2", &u));
  assert_string_equal(u->user, "u");
  assert_string_equal(u->password, "pw");
  assert_string_equal(u->hosts, "h1:1,h2:2");
  assert_string_equal(u->path, "");
  roster_url_free(u);
  assert_ok(roster_url_parse("etcd://h1:1/x,y", &u)); /* a comma in the path */
  assert_null(u->hosts);
  assert_string_equal(u->path, "/x,y");
  roster_url_free(u);
  /* a "://" and a comma in the query are not a host list: the query
   * stays whole, as the redactor reads it */
  assert_ok(roster_url_parse("redis:/?a://h1,h2/password=x", &u));
  assert_null(u->hosts);
  assert_int_equal(u->nquery, 1);
  assert_string_equal(u->query_keys[0], "a://h1,h2/password");
  assert_string_equal(u->query_values[0], "x");
  roster_url_free(u);
  const char *bad[] = {"etcd://u:s3cret@h1:1,,h2:2/x", "etcd://,h:1/",
                       "etcd://h:1,/"};
  for (size_t i = 0; i < 3; i++) {
    assert_rc(roster_url_parse(bad[i], &u), ROSTER_EPARSE);
    assert_null(u);
    assert_contains(roster_last_error(), "empty host");
    assert_null(strstr(roster_last_error(), "s3cret"));
  }
  /* every host is checked as a URL of its own would be: the first's and
   * a later one's port, a later one's %00, the password never shown */
  assert_rc(roster_url_parse("etcd://h1:99999,h2:2/", &u), ROSTER_EPARSE);
  assert_null(u);
  assert_rc(roster_url_parse("etcd://u:s3cret@h1:1,h2:99999/", &u),
            ROSTER_EPARSE);
  assert_null(u);
  assert_contains(roster_last_error(), "port 99999");
  assert_null(strstr(roster_last_error(), "s3cret"));
  assert_rc(roster_url_parse("etcd://h1:1,h%002:2/", &u), ROSTER_EPARSE);
  assert_null(u);
  assert_contains(roster_last_error(), "%00");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_host_list),     cmocka_unit_test(test_parse_good),
      cmocka_unit_test(test_query),         cmocka_unit_test(test_parse_bad),
      cmocka_unit_test(test_redact),        cmocka_unit_test(test_secret_key),
      cmocka_unit_test(test_hostile),       cmocka_unit_test(test_encoded_nul),
      cmocka_unit_test(test_control_bytes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
