/*
 * test_mongodb_api.c: the MongoDB module (roster/mongodb.h) against the
 * shared test server ($ROSTER_TEST_MONGODB_URL: CongoDB, started by
 * scripts/services.sh). Each case works in collections of its own
 * (roster__tu_unique_name), so the sanitizer variants can share the server.
 *
 * - Options: NULL arguments, URLs libmongoc refuses (EPARSE, the password
 *   never in the detail).
 * - CRUD: insert one (an ObjectId made and handed back) and many, query
 *   with filter, sort, limit, skip and projection, update one, many and
 *   upsert, delete one and many, count, distinct.
 * - Cursors: 250 documents in batches of 100 (getMore), in order.
 * - Aggregate ($match, $group, $sort), indexes (made twice, listed).
 * - The native client and database beside the JSON API, in the stats.
 * - Errors: bad extended JSON, not an object, a command the server does
 *   not know (its code and message kept), counted by class.
 * - A server that is down: ECONN with libmongoc's reason, quickly with
 *   serverSelectionTimeoutMS; no password in any detail.
 * - The driver: mongodb:// declares a service found by roster_mongodb_find;
 *   same name and URL is the same service, another URL EEXIST; options;
 *   health; the service's URL redacted.
 */
#include "testutil.h"

#include <jansson.h>
#include <mongoc/mongoc.h>
#include <roster/driver.h>
#include <roster/mongodb.h>
#include <stdlib.h>

#define SECRET "pw-S3CRET"

static json_t *J(const char *text) {
  json_error_t e;
  json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
  if (!v)
    fail_msg("bad test JSON %s: %s", text, e.text);
  return v;
}

static roster_mongodb *open_shared(void) {
  roster_mongodb_options o = {.name = "t",
                              .url = roster__tu_server_url("MONGODB")};
  roster_mongodb *m = NULL;
  assert_ok(roster_mongodb_new(&o, &m));
  return m;
}

static void no_secret(const char *s) {
  if (strstr(s, SECRET))
    fail_msg("the password shows in: %s", s);
}

static void t_new_errors(void **state) {
  (void)state;
  roster_mongodb *m = (roster_mongodb *)1;
  assert_rc(roster_mongodb_new(NULL, &m), ROSTER_EINVAL);
  assert_null(m);
  roster_mongodb_options o = {0};
  assert_rc(roster_mongodb_new(&o, &m), ROSTER_EINVAL);
  const char *bad[] = {
      "http://u:" SECRET "@h/db",
      "mongodb://u:" SECRET "@h:notaport/db",
      "mongodb://u:" SECRET "@/db",
      "mongodb://u:" SECRET "@h/db?w=-5&journal=maybe",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    o.url = bad[i];
    m = (roster_mongodb *)1;
    assert_rc(roster_mongodb_new(&o, &m), ROSTER_EPARSE);
    assert_null(m);
    assert_contains(roster_last_error(), "bad URL");
    no_secret(roster_last_error());
  }
  /* NULLs everywhere else */
  assert_rc(roster_mongodb_insert_one(NULL, "c", NULL, NULL), ROSTER_EINVAL);
  assert_rc(roster_mongodb_stats_get(NULL, NULL), ROSTER_EINVAL);
  assert_string_equal(roster_mongodb_name(NULL), "");
  roster_mongodb_free(NULL);
  roster_mongodb_cursor_free(NULL);
}

static void t_crud(void **state) {
  (void)state;
  roster_mongodb *m = open_shared();
  assert_string_equal(roster_mongodb_database_name(m), "roster_test");
  char c[64];
  roster__tu_unique_name(c, sizeof c, "crud");
  json_t *id = NULL, *d = J("{\"name\": \"alpha\", \"n\": 1, \"tag\": \"a\"}");
  assert_ok(roster_mongodb_insert_one(m, c, d, &id));
  json_decref(d);
  assert_true(json_is_object(id));
  const char *oid = json_string_value(json_object_get(id, "$oid"));
  assert_non_null(oid);
  assert_int_equal(strlen(oid), 24);

  json_t *docs = J("[{\"name\": \"beta\", \"n\": 2, \"tag\": \"b\"},"
                   " {\"name\": \"gamma\", \"n\": 3, \"tag\": \"a\"},"
                   " {\"name\": \"delta\", \"n\": 4, \"tag\": \"b\"},"
                   " {\"name\": \"eps\", \"n\": 5, \"tag\": \"a\"},"
                   " {\"name\": \"zeta\", \"n\": 6, \"tag\": \"c\"}]");
  int64_t n = 0;
  assert_ok(roster_mongodb_insert_many(m, c, docs, &n));
  assert_int_equal(n, 5);
  json_decref(docs);
  assert_ok(roster_mongodb_count(m, c, NULL, &n));
  assert_int_equal(n, 6);
  json_t *f = J("{\"tag\": \"a\"}");
  assert_ok(roster_mongodb_count(m, c, f, &n));
  assert_int_equal(n, 3);
  json_decref(f);

  /* the document inserted first, found by its _id */
  json_t *byid = json_pack("{s:O}", "_id", id);
  json_t *all = NULL;
  roster_mongodb_query_opts q = {.filter = byid};
  assert_ok(roster_mongodb_query_all(m, c, &q, &all));
  assert_int_equal(json_array_size(all), 1);
  assert_string_equal(
      json_string_value(json_object_get(json_array_get(all, 0), "name")),
      "alpha");
  json_decref(all);
  json_decref(byid);
  json_decref(id);

  /* filter, sort, skip, limit, projection */
  json_t *flt = J("{\"n\": {\"$gte\": 2}}"), *sort = J("{\"n\": -1}"),
         *proj = J("{\"_id\": 0, \"name\": 1, \"n\": 1}");
  q = (roster_mongodb_query_opts){
      .filter = flt, .sort = sort, .projection = proj, .limit = 3, .skip = 1};
  assert_ok(roster_mongodb_query_all(m, c, &q, &all));
  assert_int_equal(json_array_size(all), 3);
  const char *want[] = {"eps", "delta", "gamma"};
  for (size_t i = 0; i < 3; i++) {
    json_t *doc = json_array_get(all, i);
    assert_string_equal(json_string_value(json_object_get(doc, "name")),
                        want[i]);
    assert_int_equal(json_integer_value(json_object_get(doc, "n")), 5 - i);
    assert_null(json_object_get(doc, "_id"));
    assert_null(json_object_get(doc, "tag"));
  }
  json_decref(all);
  json_decref(flt);
  json_decref(sort);
  json_decref(proj);

  /* updates */
  roster_mongodb_result res;
  json_t *uf = J("{\"tag\": \"a\"}"), *up = J("{\"$set\": {\"seen\": true}}");
  assert_ok(roster_mongodb_update(m, c, uf, up, 0, &res));
  assert_int_equal(res.matched, 1);
  assert_int_equal(res.modified, 1);
  assert_ok(roster_mongodb_update(m, c, uf, up, ROSTER_MONGODB_MANY, &res));
  assert_int_equal(res.matched, 3);
  assert_int_equal(res.upserted, 0);
  json_t *seen = J("{\"seen\": true}");
  assert_ok(roster_mongodb_count(m, c, seen, &n));
  assert_int_equal(n, 3);
  json_decref(uf);
  json_decref(up);
  uf = J("{\"name\": \"omega\"}");
  up = J("{\"$set\": {\"n\": 99, \"tag\": \"z\"}}");
  assert_ok(roster_mongodb_update(m, c, uf, up, 0, &res));
  assert_int_equal(res.matched, 0);
  assert_ok(roster_mongodb_update(m, c, uf, up, ROSTER_MONGODB_UPSERT, &res));
  assert_int_equal(res.upserted, 1);
  assert_ok(roster_mongodb_count(m, c, NULL, &n));
  assert_int_equal(n, 7);
  json_decref(uf);
  json_decref(up);

  /* distinct */
  json_t *vals = NULL;
  assert_ok(roster_mongodb_distinct(m, c, "tag", NULL, &vals));
  assert_int_equal(json_array_size(vals), 4); /* a b c z */
  json_decref(vals);
  assert_ok(roster_mongodb_distinct(m, c, "tag", seen, &vals));
  assert_int_equal(json_array_size(vals), 1);
  assert_string_equal(json_string_value(json_array_get(vals, 0)), "a");
  json_decref(vals);

  /* deletes */
  assert_ok(roster_mongodb_delete(m, c, seen, 0, &res));
  assert_int_equal(res.deleted, 1);
  assert_ok(roster_mongodb_delete(m, c, seen, ROSTER_MONGODB_MANY, &res));
  assert_int_equal(res.deleted, 2);
  assert_ok(roster_mongodb_count(m, c, NULL, &n));
  assert_int_equal(n, 4);
  json_decref(seen);
  assert_ok(roster_mongodb_drop(m, c));
  assert_ok(roster_mongodb_count(m, c, NULL, &n));
  assert_int_equal(n, 0);
  assert_ok(roster_mongodb_drop(m, c)); /* not there: still OK */

  roster_mongodb_stats st;
  assert_ok(roster_mongodb_stats_get(m, &st));
  assert_true(st.operations >= 20);
  assert_int_equal(st.clients_out, 0);
  assert_int_equal(st.errors_connect + st.errors_server + st.errors_other, 0);
  roster_mongodb_free(m);
}

static void t_cursor(void **state) {
  (void)state;
  roster_mongodb *m = open_shared();
  char c[64];
  roster__tu_unique_name(c, sizeof c, "cursor");
  json_t *docs = json_array();
  for (int i = 0; i < 250; i++)
    json_array_append_new(docs, json_pack("{s:i,s:s}", "i", i, "pad",
                                          "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
  int64_t n = 0;
  assert_ok(roster_mongodb_insert_many(m, c, docs, &n));
  assert_int_equal(n, 250);
  json_decref(docs);
  json_t *sort = J("{\"i\": 1}");
  roster_mongodb_query_opts q = {.sort = sort, .batch_size = 100};
  roster_mongodb_cursor *cur = NULL;
  assert_ok(roster_mongodb_query(m, c, &q, &cur));
  roster_mongodb_stats st;
  assert_ok(roster_mongodb_stats_get(m, &st));
  assert_int_equal(st.clients_out, 1); /* the cursor holds one */
  json_t *d;
  int seen = 0;
  while (true) {
    assert_ok(roster_mongodb_cursor_next(cur, &d));
    if (!d)
      break;
    assert_int_equal(json_integer_value(json_object_get(d, "i")), seen);
    seen++;
    json_decref(d);
  }
  assert_int_equal(seen, 250);
  assert_ok(roster_mongodb_cursor_next(cur, &d)); /* past the end: still */
  assert_null(d);
  roster_mongodb_cursor_free(cur);
  /* a cursor left early */
  assert_ok(roster_mongodb_query(m, c, &q, &cur));
  assert_ok(roster_mongodb_cursor_next(cur, &d));
  assert_non_null(d);
  json_decref(d);
  roster_mongodb_cursor_free(cur);
  assert_ok(roster_mongodb_stats_get(m, &st));
  assert_int_equal(st.clients_out, 0);
  json_decref(sort);
  assert_ok(roster_mongodb_drop(m, c));
  roster_mongodb_free(m);
}

static void t_aggregate_index(void **state) {
  (void)state;
  roster_mongodb *m = open_shared();
  char c[64];
  roster__tu_unique_name(c, sizeof c, "agg");
  json_t *docs = J("[{\"k\": \"a\", \"v\": 1}, {\"k\": \"b\", \"v\": 10},"
                   " {\"k\": \"a\", \"v\": 2}, {\"k\": \"c\", \"v\": 5},"
                   " {\"k\": \"b\", \"v\": 20}]");
  assert_ok(roster_mongodb_insert_many(m, c, docs, NULL));
  json_decref(docs);
  json_t *p = J("[{\"$match\": {\"v\": {\"$gt\": 1}}},"
                " {\"$group\": {\"_id\": \"$k\", \"sum\": {\"$sum\": \"$v\"}}},"
                " {\"$sort\": {\"sum\": -1}}]");
  roster_mongodb_cursor *cur = NULL;
  assert_ok(roster_mongodb_aggregate(m, c, p, &cur));
  json_decref(p);
  const char *keys[] = {"b", "c", "a"};
  const int sums[] = {30, 5, 2};
  json_t *d;
  for (int i = 0; i < 3; i++) {
    assert_ok(roster_mongodb_cursor_next(cur, &d));
    assert_non_null(d);
    assert_string_equal(json_string_value(json_object_get(d, "_id")), keys[i]);
    assert_int_equal(json_integer_value(json_object_get(d, "sum")), sums[i]);
    json_decref(d);
  }
  assert_ok(roster_mongodb_cursor_next(cur, &d));
  assert_null(d);
  roster_mongodb_cursor_free(cur);
  assert_rc(roster_mongodb_aggregate(m, c, NULL, &cur), ROSTER_EINVAL);

  /* indexes: an automatic name, a given one, again */
  json_t *k1 = J("{\"k\": 1, \"v\": -1}"), *k2 = J("{\"v\": 1}");
  assert_ok(roster_mongodb_create_index(m, c, k1, NULL, false));
  assert_ok(roster_mongodb_create_index(m, c, k2, "by_v", false));
  assert_ok(roster_mongodb_create_index(m, c, k1, NULL, false));
  json_decref(k1);
  json_decref(k2);
  json_t *cmd = json_pack("{s:s}", "listIndexes", c), *reply = NULL;
  assert_ok(roster_mongodb_command(m, cmd, &reply));
  json_decref(cmd);
  json_t *batch =
      json_object_get(json_object_get(reply, "cursor"), "firstBatch");
  bool auto_name = false, given = false;
  size_t i;
  json_t *ix;
  json_array_foreach(batch, i, ix) {
    const char *name = json_string_value(json_object_get(ix, "name"));
    auto_name |= name && strcmp(name, "k_1_v_-1") == 0;
    given |= name && strcmp(name, "by_v") == 0;
  }
  assert_true(auto_name);
  assert_true(given);
  json_decref(reply);
  assert_ok(roster_mongodb_drop(m, c));
  roster_mongodb_free(m);
}

static void t_native(void **state) {
  (void)state;
  roster_mongodb *m = open_shared();
  char c[64];
  roster__tu_unique_name(c, sizeof c, "native");
  mongoc_client_t *cli = NULL;
  assert_ok(roster_mongodb_acquire(m, &cli));
  assert_non_null(cli);
  mongoc_database_t *db = NULL;
  assert_ok(roster_mongodb_database(m, cli, &db));
  assert_string_equal(mongoc_database_get_name(db), "roster_test");
  mongoc_collection_t *col = mongoc_database_get_collection(db, c);
  bson_t *doc = BCON_NEW("native", BCON_INT32(7));
  bson_error_t e;
  assert_true(mongoc_collection_insert_one(col, doc, NULL, NULL, &e));
  bson_destroy(doc);
  roster_mongodb_stats st;
  assert_ok(roster_mongodb_stats_get(m, &st));
  assert_int_equal(st.clients_out, 1);
  assert_int_equal(st.max_clients, 100);
  /* the JSON API beside it sees the document */
  json_t *f = J("{\"native\": 7}");
  int64_t n = 0;
  assert_ok(roster_mongodb_count(m, c, f, &n));
  assert_int_equal(n, 1);
  json_decref(f);
  assert_ok(roster_mongodb_stats_get(m, &st));
  assert_int_equal(st.clients_out_max, 2);
  mongoc_collection_destroy(col);
  mongoc_database_destroy(db);
  roster_mongodb_release(m, cli);
  assert_ok(roster_mongodb_stats_get(m, &st));
  assert_int_equal(st.clients_out, 0);
  assert_ok(roster_mongodb_drop(m, c));
  roster_mongodb_free(m);

  /* max_clients becomes the pool's bound */
  roster_mongodb_options o = {.url = roster__tu_server_url("MONGODB"),
                              .max_clients = 3};
  assert_ok(roster_mongodb_new(&o, &m));
  assert_ok(roster_mongodb_stats_get(m, &st));
  assert_int_equal(st.max_clients, 3);
  assert_string_equal(roster_mongodb_name(m), "mongodb");
  roster_mongodb_free(m);
}

static void t_errors(void **state) {
  (void)state;
  roster_mongodb *m = open_shared();
  char c[64];
  roster__tu_unique_name(c, sizeof c, "err");
  json_t *bad = J("{\"_id\": {\"$oid\": \"not-hex\"}}");
  assert_rc(roster_mongodb_insert_one(m, c, bad, NULL), ROSTER_EPARSE);
  assert_contains(roster_last_error(), "MongoDB 't': insert on '");
  json_decref(bad);
  json_t *arr = J("[1, 2]");
  assert_rc(roster_mongodb_insert_one(m, c, arr, NULL), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "the document must be a JSON object");
  assert_rc(roster_mongodb_insert_many(m, c, arr, NULL), ROSTER_EINVAL);
  json_decref(arr);
  json_t *empty = J("{}");
  assert_rc(roster_mongodb_insert_one(m, "", empty, NULL), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "a collection name is required");
  json_decref(empty);
  json_t *cmd = J("{\"noSuchCommandHere\": 1}");
  assert_rc(roster_mongodb_command(m, cmd, NULL), ROSTER_EREMOTE);
  assert_contains(roster_last_error(), "server error");
  assert_contains(roster_last_error(), "noSuchCommandHere");
  json_decref(cmd);
  /* a password CongoDB's SCRAM cannot take: the failure never shows it */
  char url[300];
  snprintf(url, sizeof url, "mongodb://app:" SECRET "@%s",
           roster__tu_server_url("MONGODB") + strlen("mongodb://"));
  roster_mongodb_options o = {.name = "auth", .url = url};
  roster_mongodb *a = NULL;
  assert_ok(roster_mongodb_new(&o, &a));
  assert_true(roster_mongodb_health(a) != ROSTER_OK);
  assert_contains(roster_last_error(), "MongoDB 'auth': command");
  no_secret(roster_last_error());
  roster_mongodb_free(a);
  roster_mongodb_stats st;
  assert_ok(roster_mongodb_stats_get(m, &st));
  assert_int_equal(st.errors_server, 1);
  assert_int_equal(st.errors_other, 4);
  assert_int_equal(st.errors_connect, 0);
  assert_int_equal(st.clients_out, 0);
  roster_mongodb_free(m);
}

static void t_down(void **state) {
  (void)state;
  int port = roster__tu_free_port();
  assert_true(port > 0);
  char url[256];
  snprintf(url, sizeof url,
           "mongodb://app:" SECRET "@127.0.0.1:%d/db?"
           "serverSelectionTimeoutMS=300&connectTimeoutMS=300",
           port);
  roster_mongodb_options o = {.name = "down", .url = url};
  roster_mongodb *m = NULL;
  assert_ok(roster_mongodb_new(&o, &m));
  uint64_t t0 = roster__tu_now_ns();
  assert_rc(roster_mongodb_health(m), ROSTER_ECONN);
  assert_true(roster__tu_now_ns() - t0 < 10000000000ull);
  assert_contains(roster_last_error(), "MongoDB 'down': command");
  no_secret(roster_last_error());
  json_t *d = J("{\"a\": 1}");
  assert_rc(roster_mongodb_insert_one(m, "c", d, NULL), ROSTER_ECONN);
  assert_contains(roster_last_error(), "insert on 'c'");
  no_secret(roster_last_error());
  json_decref(d);
  roster_mongodb_cursor *cur = NULL;
  assert_ok(roster_mongodb_query(m, "c", NULL, &cur));
  assert_rc(roster_mongodb_cursor_next(cur, &d), ROSTER_ECONN);
  assert_null(d);
  roster_mongodb_cursor_free(cur);
  roster_mongodb_stats st;
  assert_ok(roster_mongodb_stats_get(m, &st));
  assert_int_equal(st.errors_connect, 3);
  assert_int_equal(st.clients_out, 0);
  roster_mongodb_free(m);
}

static void t_driver(void **state) {
  (void)state;
  const char *shared = roster__tu_server_url("MONGODB");
  assert_ok(roster_mongodb_init());
  assert_ok(roster_mongodb_init()); /* again: a no-op */
  roster *reg = tu_registry(NULL);
  const char *opts[] = {"max_clients", "4", NULL};
  assert_ok(roster_provide_url(reg, NULL, "events", shared, opts));
  assert_ok(roster_provide_url(reg, NULL, "events", shared, opts));
  char other[300];
  snprintf(other, sizeof other, "%s?appname=other", shared);
  assert_rc(roster_provide_url(reg, NULL, "events", other, opts),
            ROSTER_EEXIST);
  const char *bad[] = {"max_client", "1", NULL};
  assert_rc(roster_provide_url(reg, NULL, "x", shared, bad), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "unknown option 'max_client'");
  const char *bad2[] = {"max_clients", "0", NULL};
  assert_rc(roster_provide_url(reg, NULL, "x", shared, bad2), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "'max_clients' must be");
  assert_rc(roster_provide_url(reg, NULL, "x", "mongodb://h:nope/db", NULL),
            ROSTER_EPARSE);

  roster_mongodb *m = NULL, *m2 = NULL;
  assert_ok(roster_mongodb_find(reg, NULL, "events", &m));
  assert_ok(roster_mongodb_find(reg, NULL, "events", &m2));
  assert_ptr_equal(m, m2);
  assert_string_equal(roster_mongodb_name(m), "events");
  assert_ok(roster_mongodb_health(m));
  roster_mongodb_stats st;
  assert_ok(roster_mongodb_stats_get(m, &st));
  assert_int_equal(st.max_clients, 4);
  assert_rc(roster_mongodb_find(reg, NULL, "nope", &m), ROSTER_ENOENT);

  /* a password in the URL: redacted in the service's URL and details */
  char url[300], shown[300];
  snprintf(url, sizeof url,
           "mongodb://app:" SECRET "@127.0.0.1:%d/db?"
           "serverSelectionTimeoutMS=300",
           roster__tu_free_port());
  assert_ok(roster_provide_url(reg, NULL, "secret", url, NULL));
  assert_ok(roster_service_url(reg, NULL, "secret", shown, sizeof shown));
  no_secret(shown);
  assert_contains(shown, "app:***@");
  assert_ok(roster_mongodb_find(reg, NULL, "secret", &m));
  assert_rc(roster_mongodb_health(m), ROSTER_ECONN);
  no_secret(roster_last_error());
  roster_free(reg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_new_errors), cmocka_unit_test(t_crud),
      cmocka_unit_test(t_cursor),     cmocka_unit_test(t_aggregate_index),
      cmocka_unit_test(t_native),     cmocka_unit_test(t_errors),
      cmocka_unit_test(t_down),       cmocka_unit_test(t_driver),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
