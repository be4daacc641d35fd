/*
 * bench_mongodb.c: MongoDB operations per second through the roster module
 * (roster/mongodb.h, its JSON API) beside libmongoc called directly, in the
 * same run, against the same server ($ROSTER_TEST_MONGODB_URL; make bench
 * starts CongoDB, scripts/services.sh):
 *
 *   - roster  roster_mongodb_insert_one / roster_mongodb_query_all from T
 *             threads sharing one roster_mongodb (a client borrowed from
 *             the pool per call; jansson <-> BSON through extended JSON)
 *   - mongoc  the same operations with bson_t built by BCON, one client
 *             popped from a mongoc_client_pool_t per thread and held for
 *             the whole run: libmongoc with nothing of roster's around it
 *
 * Operations: "insert" (a small document of 3 fields, into a collection of
 * its own) and "find" (one document by an indexed key, limit 1, among 200).
 * Every call is checked (a find must return its document): a failure is counted
 * and the exit code is 1. The server is in Node.js on the same cores, so it
 * dominates the time; the ratio roster / mongoc (printed as context, no target)
 * says what the JSON layer costs on top of it. See bench/README.md.
 */
#include "bench.h"

#include <inttypes.h>
#include <jansson.h>
#include <mongoc/mongoc.h>
#include <roster.h>
#include <roster/mongodb.h>
#include <stdlib.h>
#include <string.h>

#define REPEATS 3
#define KEYS 200

static roster_mongodb *rm;
static mongoc_client_pool_t *pool;
static char coll[64], coll_ins[64], dbname[64];

typedef struct mcase {
  bench_body body;
  unsigned threads;
} mcase;

/* ---- roster ---- */

static void roster_insert(bench_thread *t) {
  roster__bench_start(t);
  for (uint64_t i = 0; i < t->ops; i++) {
    json_t *d =
        json_pack("{s:s,s:i,s:i}", "kind", "ins", "t", (int)t->id, "i", (int)i);
    if (roster_mongodb_insert_one(rm, coll_ins, d, NULL))
      t->errors++;
    json_decref(d);
  }
}

static void roster_find(bench_thread *t) {
  roster__bench_start(t);
  for (uint64_t i = 0; i < t->ops; i++) {
    json_t *f = json_pack("{s:i}", "key", (int)(i % KEYS)), *all = NULL;
    roster_mongodb_query_opts q = {.filter = f, .limit = 1};
    if (roster_mongodb_query_all(rm, coll, &q, &all) ||
        json_array_size(all) != 1)
      t->errors++;
    json_decref(all);
    json_decref(f);
  }
}

/* ---- mongoc ---- */

static void mongoc_insert(bench_thread *t) {
  mongoc_client_t *c = mongoc_client_pool_pop(pool);
  mongoc_collection_t *col = mongoc_client_get_collection(c, dbname, coll_ins);
  roster__bench_start(t);
  for (uint64_t i = 0; i < t->ops; i++) {
    bson_t *d = BCON_NEW("kind", "ins", "t", BCON_INT32((int32_t)t->id), "i",
                         BCON_INT32((int32_t)i));
    bson_error_t e;
    if (!mongoc_collection_insert_one(col, d, NULL, NULL, &e))
      t->errors++;
    bson_destroy(d);
  }
  bench_stop(t);
  mongoc_collection_destroy(col);
  mongoc_client_pool_push(pool, c);
}

static void mongoc_find(bench_thread *t) {
  mongoc_client_t *c = mongoc_client_pool_pop(pool);
  mongoc_collection_t *col = mongoc_client_get_collection(c, dbname, coll);
  bson_t *opts = BCON_NEW("limit", BCON_INT64(1));
  roster__bench_start(t);
  for (uint64_t i = 0; i < t->ops; i++) {
    bson_t *f = BCON_NEW("key", BCON_INT32((int32_t)(i % KEYS)));
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, f, opts, NULL);
    const bson_t *d;
    int n = 0;
    while (mongoc_cursor_next(cur, &d))
      n++;
    if (n != 1 || mongoc_cursor_error(cur, NULL))
      t->errors++;
    mongoc_cursor_destroy(cur);
    bson_destroy(f);
  }
  bench_stop(t);
  bson_destroy(opts);
  mongoc_collection_destroy(col);
  mongoc_client_pool_push(pool, c);
}

static bench_sample threads_rate(void *arg, uint64_t ops) {
  const mcase *c = arg;
  bench_sample s =
      roster__bench_threads(c->body, NULL, c->threads, ops / c->threads);
  roster__bench_check(&s, "mongodb", "op");
  return s;
}

static void print_row(const bench_case *c, unsigned threads) {
  double best = bench_rate(&c->best);
  if (roster__bench.json)
    printf("{\"impl\":\"%s\",\"op\":\"%s\",\"threads\":%u,"
           "\"ops_per_sec\":%.0f,\"us_per_op\":%.1f,\"ops\":%" PRIu64
           ",\"best_of\":%d}\n",
           c->impl, c->op, threads, best, bench_ns_per_op(&c->best) / 1000.0,
           c->ops, REPEATS);
  else
    printf("%-8s %-7s %7u %10.0f %9.1f %9" PRIu64 " %6.0f%%\n", c->impl, c->op,
           threads, best, bench_ns_per_op(&c->best) / 1000.0, c->ops,
           100.0 * roster__bench_spread(c));
  fflush(stdout);
}

static void measure(const char *op, bench_body r_body, bench_body m_body,
                    unsigned threads, double target_s) {
  mcase r = {r_body, threads}, m = {m_body, threads};
  bench_case cs[2] = {
      {.impl = "roster", .op = op, .fn = threads_rate, .arg = &r},
      {.impl = "mongoc", .op = op, .fn = threads_rate, .arg = &m},
  };
  roster__bench_calibrate(&cs[0], target_s, 1);
  uint64_t ops = cs[0].ops - cs[0].ops % threads;
  for (size_t i = 0; i < 2; i++)
    cs[i].ops = ops < threads ? threads : ops;
  roster__bench_compare(cs, 2, 0, REPEATS);
  for (size_t i = 0; i < 2; i++)
    if (cs[i].runs)
      print_row(&cs[i], threads);
}

static const bench_spec spec = {
    .prog = "roster-bench-mongodb",
    .about = "  MongoDB insert and find through the roster module beside\n"
             "  libmongoc called directly, on $ROSTER_TEST_MONGODB_URL.\n",
    .quick = "short runs",
};

int main(int argc, char **argv) {
  roster__bench_init(&spec, argc, argv);
  const char *url = getenv("ROSTER_TEST_MONGODB_URL");
  if (!url || !*url) {
    const char *req = getenv("ROSTER_TEST_REQUIRE_SERVERS");
    if (req && !strcmp(req, "1"))
      roster__bench_fail(1, "ROSTER_TEST_MONGODB_URL is not set, and "
                            "ROSTER_TEST_REQUIRE_SERVERS=1: failing");
    else
      roster__bench_warn("ROSTER_TEST_MONGODB_URL is not set; nothing to "
                         "measure (scripts/services.sh start DIR mongodb "
                         "starts a server)");
    return roster__bench_finish();
  }
  if (roster_mongodb_new(&(roster_mongodb_options){.name = "bench", .url = url},
                         &rm))
    roster__bench_die("roster: %s", roster_last_error());
  snprintf(dbname, sizeof dbname, "%s", roster_mongodb_database_name(rm));
  /* finds in a collection of KEYS documents; inserts in another, so the
   * finds do not slow down as the inserts add documents */
  snprintf(coll, sizeof coll, "bench_%ld", (long)getpid());
  snprintf(coll_ins, sizeof coll_ins, "bench_ins_%ld", (long)getpid());
  mongoc_uri_t *u = mongoc_uri_new(url); /* roster_mongodb_new ran init */
  pool = u ? mongoc_client_pool_new(u) : NULL;
  mongoc_uri_destroy(u);
  if (!pool)
    roster__bench_die("mongoc: no pool for the URL");
  mongoc_client_pool_set_error_api(pool, MONGOC_ERROR_API_VERSION_2);
  /* the documents the finds look for, one per key, indexed */
  json_t *k = json_pack("{s:i}", "key", 1), *docs = json_array();
  for (int i = 0; i < KEYS; i++)
    json_array_append_new(docs, json_pack("{s:i,s:s}", "key", i, "v", "x"));
  if (roster_mongodb_create_index(rm, coll, k, NULL, false) ||
      roster_mongodb_insert_many(rm, coll, docs, NULL))
    roster__bench_die("set-up: %s", roster_last_error());
  json_decref(k);
  json_decref(docs);

  double target = roster__bench.quick ? 0.05 : 1.0;
  if (!roster__bench.json)
    printf("%-8s %-7s %7s %10s %9s %9s %7s\n", "impl", "op", "threads", "ops/s",
           "us/op", "ops", "spread");
  unsigned ts[] = {1, 4};
  for (size_t i = 0; i < 2; i++) {
    measure("insert", roster_insert, mongoc_insert, ts[i], target);
    measure("find", roster_find, mongoc_find, ts[i], target);
  }
  roster__bench_targets();
  const char *ops[] = {"insert", "find"};
  for (size_t o = 0; o < 2; o++)
    for (size_t i = 0; i < 2; i++) {
      char what[64];
      snprintf(what, sizeof what, "roster / mongoc, %s, %u thread%s", ops[o],
               ts[i], ts[i] == 1 ? "" : "s");
      roster__bench_context(
          what, roster__bench_ratio("roster", "mongoc", ops[o], ts[i], 0), 2,
          "x");
    }
  roster_mongodb_drop(rm, coll);
  roster_mongodb_drop(rm, coll_ins);
  mongoc_client_pool_destroy(pool);
  roster_mongodb_free(rm);
  return roster__bench_finish();
}
