/*
 * test_mongodb_real.c: what the CI server (CongoDB) cannot serve, run only
 * against a real MongoDB named by $ROSTER_TEST_MONGODB_URI
 * ("mongodb://user:pw@host:port/db?authSource=admin"); without it every
 * case is reported skipped and the program exits 77, which CTest shows
 * as "Not Run" (never as passed), in CI too. docs/DESIGN.md
 * ("MongoDB (as built)") lists them:
 * - a unique index enforced: a duplicate key is ROSTER_ECONSTRAINT with
 *   the server's code (11000) and message, counted as a duplicate;
 * - a string _id kept as given, and found by it;
 * - a change stream (mongoc_collection_watch on an acquired client; the
 *   server must be a replica set) sees an insert made through the JSON API;
 * - SCRAM authentication (the URI must carry a user and password): the
 *   right password pings; a wrong one is ROSTER_EREMOTE and neither
 *   password appears in the detail.
 */
#include "testutil.h"

#include <jansson.h>
#include <mongoc/mongoc.h>
#include <roster/mongodb.h>
#include <stdlib.h>

static const char *real_uri(void) {
  const char *u = getenv("ROSTER_TEST_MONGODB_URI");
  if (!u || !*u) {
    print_message("skipping: ROSTER_TEST_MONGODB_URI names no real MongoDB "
                  "(CongoDB cannot serve this case)\n");
    skip();
  }
  return u;
}

static roster_mongodb *open_real(void) {
  roster_mongodb_options o = {.name = "real", .url = real_uri()};
  roster_mongodb *m = NULL;
  assert_ok(roster_mongodb_new(&o, &m));
  return m;
}

static void t_unique(void **state) {
  (void)state;
  roster_mongodb *m = open_real();
  char c[64];
  roster__tu_unique_name(c, sizeof c, "uniq");
  json_t *k = json_pack("{s:i}", "email", 1);
  assert_ok(roster_mongodb_create_index(m, c, k, NULL, true));
  json_decref(k);
  json_t *d = json_pack("{s:s}", "email", "a@example.com");
  assert_ok(roster_mongodb_insert_one(m, c, d, NULL));
  assert_rc(roster_mongodb_insert_one(m, c, d, NULL), ROSTER_ECONSTRAINT);
  assert_contains(roster_last_error(), "11000");
  assert_contains(roster_last_error(), "duplicate key");
  json_t *many = json_pack("[O]", d);
  int64_t n = -1;
  assert_rc(roster_mongodb_insert_many(m, c, many, &n), ROSTER_ECONSTRAINT);
  assert_int_equal(n, 0);
  json_decref(many);
  json_decref(d);
  roster_mongodb_stats st;
  assert_ok(roster_mongodb_stats_get(m, &st));
  assert_int_equal(st.errors_duplicate, 2);
  assert_ok(roster_mongodb_drop(m, c));
  roster_mongodb_free(m);
}

static void t_string_id(void **state) {
  (void)state;
  roster_mongodb *m = open_real();
  char c[64];
  roster__tu_unique_name(c, sizeof c, "sid");
  json_t *d = json_pack("{s:s,s:i}", "_id", "k1", "v", 1), *id = NULL;
  assert_ok(roster_mongodb_insert_one(m, c, d, &id));
  assert_string_equal(json_string_value(id), "k1");
  assert_rc(roster_mongodb_insert_one(m, c, d, NULL), ROSTER_ECONSTRAINT);
  json_decref(d);
  json_decref(id);
  json_t *f = json_pack("{s:s}", "_id", "k1"), *all = NULL;
  roster_mongodb_query_opts q = {.filter = f};
  assert_ok(roster_mongodb_query_all(m, c, &q, &all));
  assert_int_equal(json_array_size(all), 1);
  json_decref(all);
  json_decref(f);
  assert_ok(roster_mongodb_drop(m, c));
  roster_mongodb_free(m);
}

static void t_change_stream(void **state) {
  (void)state;
  roster_mongodb *m = open_real();
  char c[64];
  roster__tu_unique_name(c, sizeof c, "watch");
  mongoc_client_t *cli = NULL;
  assert_ok(roster_mongodb_acquire(m, &cli));
  mongoc_database_t *db = NULL;
  assert_ok(roster_mongodb_database(m, cli, &db));
  mongoc_collection_t *col = mongoc_database_get_collection(db, c);
  bson_t empty = BSON_INITIALIZER;
  bson_t *opts = BCON_NEW("maxAwaitTimeMS", BCON_INT32(1000));
  mongoc_change_stream_t *cs = mongoc_collection_watch(col, &empty, opts);
  bson_destroy(opts);
  const bson_t *ev;
  bson_error_t e;
  /* the first next opens the stream */
  assert_false(mongoc_change_stream_next(cs, &ev));
  if (mongoc_change_stream_error_document(cs, &e, NULL))
    fail_msg("change stream: %s (the server must be a replica set)", e.message);
  json_t *d = json_pack("{s:s}", "hello", "stream");
  assert_ok(roster_mongodb_insert_one(m, c, d, NULL));
  json_decref(d);
  bool seen = false;
  for (int i = 0; i < 10 && !seen; i++)
    seen = mongoc_change_stream_next(cs, &ev);
  assert_true(seen);
  bson_iter_t it;
  assert_true(bson_iter_init_find(&it, ev, "operationType"));
  assert_string_equal(bson_iter_utf8(&it, NULL), "insert");
  mongoc_change_stream_destroy(cs);
  bson_destroy(&empty);
  mongoc_collection_destroy(col);
  mongoc_database_destroy(db);
  roster_mongodb_release(m, cli);
  assert_ok(roster_mongodb_drop(m, c));
  roster_mongodb_free(m);
}

static void t_scram(void **state) {
  (void)state;
  const char *uri = real_uri();
  bson_error_t e;
  mongoc_uri_t *u = mongoc_uri_new_with_error(uri, &e);
  assert_non_null(u);
  const char *pw = mongoc_uri_get_password(u);
  if (!pw || !*pw) {
    mongoc_uri_destroy(u);
    print_message("skipping: ROSTER_TEST_MONGODB_URI has no password\n");
    skip();
  }
  roster_mongodb *m = open_real();
  assert_ok(roster_mongodb_health(m));
  roster_mongodb_free(m);
  /* the same URI with another password: user info is up to the last '@'
   * before the path */
  char secret[128], bad[1024];
  snprintf(secret, sizeof secret, "%s", pw);
  mongoc_uri_destroy(u);
  const char *auth = strstr(uri, "://") + 3;
  const char *end = auth + strcspn(auth, "/?");
  const char *at = NULL;
  for (const char *p = auth; p < end; p++)
    if (*p == '@')
      at = p;
  const char *colon = strchr(auth, ':');
  assert_true(at && colon && colon < at);
  snprintf(bad, sizeof bad, "%.*s:wrong-S3CRET%s", (int)(colon - uri), uri, at);
  roster_mongodb_options o = {.name = "wrong", .url = bad};
  assert_ok(roster_mongodb_new(&o, &m));
  assert_rc(roster_mongodb_health(m), ROSTER_EREMOTE);
  const char *detail = roster_last_error();
  assert_contains(detail, "Authentication failed");
  assert_null(strstr(detail, "wrong-S3CRET"));
  assert_null(strstr(detail, secret));
  roster_mongodb_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_unique),
      cmocka_unit_test(t_string_id),
      cmocka_unit_test(t_change_stream),
      cmocka_unit_test(t_scram),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  /* nothing ran: CTest shows the test as not run (SKIP_RETURN_CODE) */
  const char *u = getenv("ROSTER_TEST_MONGODB_URI");
  return rc == 0 && (!u || !*u) ? 77 : rc;
}
