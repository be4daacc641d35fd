/*
 * roster/mongodb.h: the MongoDB module (modules/mongodb, library
 * roster_mongodb, on libmongoc 1.23): one client pool per service, the
 * native libmongoc client and database for anything, and a small JSON API
 * (jansson values, converted through libbson's relaxed extended JSON) for
 * the common work.
 *
 * A roster_mongodb is one mongoc_client_pool_t for one URL
 * ("mongodb://user:pw@host:port/db?opt=..."): every option libmongoc
 * understands goes in the query and is passed to it unchanged
 * (maxPoolSize, serverSelectionTimeoutMS, appname, authSource, tls, ...).
 * The URL's database is the one the calls use ("test" without one). Each
 * call of the JSON API borrows a client from the pool for its duration (a
 * cursor holds one until it is freed); roster_mongodb_acquire lends one
 * across several calls of the program's own.
 *
 * JSON: documents, filters, sorts, projections, updates and pipelines are
 * jansson values, read as relaxed extended JSON ({"$oid": "..."},
 * {"$date": "..."}, {"$numberLong": "..."}); documents read back are
 * relaxed extended JSON too (an ObjectId is {"$oid": "<24 hex>"}).
 *
 * Errors keep the server's code and message in the detail ("MongoDB
 * 'events': insert into 'items': server error 11000: E11000 duplicate key
 * ..."): ROSTER_ECONSTRAINT for a duplicate key (11000, 11001, 12582),
 * ROSTER_EREMOTE for any other error the server reported (a failed
 * authentication too), ROSTER_ECONN when no server could be reached or a
 * connection failed (server selection, socket errors; libmongoc waits up
 * to serverSelectionTimeoutMS, 30 s by default, before it says so),
 * ROSTER_ETIMEDOUT for a socket timeout, ROSTER_EPARSE for JSON libbson
 * cannot read or a malformed URL, ROSTER_EINVAL for bad arguments (named),
 * ROSTER_ENOMEM.
 *
 * Secrets: the URL's password never appears in a detail, in the stats, in
 * the service's URL (roster_service_url) or in the name: URLs are shown
 * redacted (roster_url_redact) and libmongoc's messages are scrubbed of
 * it.
 *
 * Threads: every call is thread-safe except roster_mongodb_free, which no
 * call may race with. A cursor, and a client from roster_mongodb_acquire
 * with what is made from it, belong to one thread at a time (libmongoc's
 * rule). Calls block: on the network, and in roster_mongodb_acquire (and
 * every call of the JSON API) while maxPoolSize clients (default 100)
 * are out.
 *
 * Memory: roster's structures come from roster's allocator hooks;
 * libmongoc and libbson allocate their own. JSON values handed back are
 * new references the caller decrefs.
 */
#ifndef ROSTER_MONGODB_H
#define ROSTER_MONGODB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "registry.h"

#ifdef __cplusplus
extern "C" {
#endif

/* jansson's value; include <jansson.h> to use it. */
struct json_t;
/* libmongoc's client and database (mongoc_client_t, mongoc_database_t);
 * include <mongoc/mongoc.h> to use them. */
struct _mongoc_client_t;
struct _mongoc_database_t;

/* roster_mongodb_init registers the mongodb:// and mongodb+srv:// driver
 * (roster/driver.h): such a URL declares a client service
 * (roster_mongodb_type; roster_mongodb_find), made on first use (libmongoc
 * connects in the background; no I/O when it is made), its health
 * roster_mongodb_health. The URL (with libmongoc's options in its query)
 * is checked when the service is declared; the only option outside it is
 * max_clients (maxPoolSize). An unknown key or a bad value is
 * ROSTER_EINVAL naming the key. Calling again is a no-op. Thread-safe. */
ROSTER_EXTERN int roster_mongodb_init(void);

/* roster_mongodb: one client pool. Opaque. */
typedef struct roster_mongodb roster_mongodb;

/* roster_mongodb_options: {0} gives the defaults. Strings are copied. */
typedef struct roster_mongodb_options {
  const char *name;     /* in details; NULL: "mongodb" */
  const char *url;      /* required: mongodb:// or mongodb+srv:// */
  unsigned max_clients; /* clients out at once; 0: the URL's maxPoolSize,
                           else libmongoc's 100 */
} roster_mongodb_options;

/* roster_mongodb_new makes the pool into *out; no I/O. Errors (*out
 * NULL): ROSTER_EINVAL (NULL opts, url or out), ROSTER_EPARSE (a URL
 * libmongoc refuses: its reason, the URL redacted), ROSTER_ENOMEM. */
ROSTER_EXTERN int roster_mongodb_new(const roster_mongodb_options *opts,
                                     roster_mongodb **out);

/* roster_mongodb_free destroys the pool. Every client acquired and every
 * cursor must have been given back. NULL is a no-op. */
ROSTER_EXTERN void roster_mongodb_free(roster_mongodb *m);

/* roster_mongodb_name: the name ("" for NULL). */
ROSTER_EXTERN const char *roster_mongodb_name(const roster_mongodb *m);

/* roster_mongodb_database_name: the database of the URL ("test" if it
 * names none). */
ROSTER_EXTERN const char *roster_mongodb_database_name(const roster_mongodb *m);

/* roster_mongodb_acquire lends a client of the pool into *out, waiting
 * while all are out; give it back with roster_mongodb_release (the
 * calling thread or another). ROSTER_EINVAL for NULL. */
ROSTER_EXTERN int roster_mongodb_acquire(roster_mongodb *m,
                                         struct _mongoc_client_t **out);

/* roster_mongodb_release gives c back to m's pool. NULL is a no-op. */
ROSTER_EXTERN void roster_mongodb_release(roster_mongodb *m,
                                          struct _mongoc_client_t *c);

/* roster_mongodb_database: the URL's database on a client acquired from
 * m, into *out (free with mongoc_database_destroy, before the client is
 * released). ROSTER_EINVAL for NULL, ROSTER_ENOMEM. */
ROSTER_EXTERN int roster_mongodb_database(roster_mongodb *m,
                                          struct _mongoc_client_t *c,
                                          struct _mongoc_database_t **out);

/* ---- the JSON API: coll is a collection of the URL's database ---- */

/* roster_mongodb_command runs cmd ({"ping": 1}) on the database and puts
 * the server's reply into *reply (may be NULL). */
ROSTER_EXTERN int roster_mongodb_command(roster_mongodb *m,
                                         const struct json_t *cmd,
                                         struct json_t **reply);

/* roster_mongodb_insert_one inserts doc (an object). Without an "_id" one
 * is made (an ObjectId). *id (may be NULL) gets the document's _id. */
ROSTER_EXTERN int roster_mongodb_insert_one(roster_mongodb *m, const char *coll,
                                            const struct json_t *doc,
                                            struct json_t **id);

/* roster_mongodb_insert_many inserts docs (an array of objects, at least
 * one) in order; *inserted (may be NULL) gets how many were, also on
 * failure (those before the failing one). */
ROSTER_EXTERN int roster_mongodb_insert_many(roster_mongodb *m,
                                             const char *coll,
                                             const struct json_t *docs,
                                             int64_t *inserted);

/* roster_mongodb_query_opts: what a query returns. {0}: every document. */
typedef struct roster_mongodb_query_opts {
  const struct json_t *filter;     /* NULL: {} */
  const struct json_t *sort;       /* {"n": -1}; NULL: none */
  const struct json_t *projection; /* {"_id": 0, "name": 1}; NULL: all */
  int64_t limit;                   /* 0: none */
  int64_t skip;
  int32_t batch_size; /* documents per round trip; 0: the server's */
} roster_mongodb_query_opts;

/* roster_mongodb_cursor: documents read as they are needed. Opaque. */
typedef struct roster_mongodb_cursor roster_mongodb_cursor;

/* roster_mongodb_query (MongoDB's find) opens a cursor over coll into *out
 * (free with roster_mongodb_cursor_free); opts may be NULL. The query is sent
 * by the first roster_mongodb_cursor_next, so its errors come from there. */
ROSTER_EXTERN int roster_mongodb_query(roster_mongodb *m, const char *coll,
                                       const roster_mongodb_query_opts *opts,
                                       roster_mongodb_cursor **out);

/* roster_mongodb_aggregate opens a cursor over the results of pipeline
 * (an array of stages) on coll, as roster_mongodb_query does. */
ROSTER_EXTERN int roster_mongodb_aggregate(roster_mongodb *m, const char *coll,
                                           const struct json_t *pipeline,
                                           roster_mongodb_cursor **out);

/* roster_mongodb_cursor_next puts the next document into *doc (a new
 * reference), or NULL after the last one; ROSTER_OK both ways. Errors
 * (*doc NULL) as the file comment says. */
ROSTER_EXTERN int roster_mongodb_cursor_next(roster_mongodb_cursor *cur,
                                             struct json_t **doc);

/* roster_mongodb_cursor_free closes cur (killing it on the server if it
 * is not exhausted) and gives its client back. NULL is a no-op. */
ROSTER_EXTERN void roster_mongodb_cursor_free(roster_mongodb_cursor *cur);

/* roster_mongodb_query_all runs a query and collects its documents into
 * *docs (a new array). */
ROSTER_EXTERN int
roster_mongodb_query_all(roster_mongodb *m, const char *coll,
                         const roster_mongodb_query_opts *opts,
                         struct json_t **docs);

/* Flags of roster_mongodb_update and roster_mongodb_delete. */
#define ROSTER_MONGODB_MANY 1u   /* every matching document, not the first */
#define ROSTER_MONGODB_UPSERT 2u /* update: insert when nothing matches */

/* roster_mongodb_result: what a write did. */
typedef struct roster_mongodb_result {
  int64_t matched;  /* update: documents matched */
  int64_t modified; /* update: documents changed */
  int64_t deleted;  /* delete: documents removed */
  int64_t upserted; /* update: 1 when an upsert inserted */
} roster_mongodb_result;

/* roster_mongodb_update applies update (operators: {"$set": {...}}) to
 * the documents of coll matching filter (NULL: {}); flags as above. *res
 * may be NULL. */
ROSTER_EXTERN int roster_mongodb_update(roster_mongodb *m, const char *coll,
                                        const struct json_t *filter,
                                        const struct json_t *update,
                                        unsigned flags,
                                        roster_mongodb_result *res);

/* roster_mongodb_delete removes the documents matching filter (NULL: {})
 * (the first only, without ROSTER_MONGODB_MANY). *res may be NULL. */
ROSTER_EXTERN int roster_mongodb_delete(roster_mongodb *m, const char *coll,
                                        const struct json_t *filter,
                                        unsigned flags,
                                        roster_mongodb_result *res);

/* roster_mongodb_count: documents of coll matching filter (NULL: all). */
ROSTER_EXTERN int roster_mongodb_count(roster_mongodb *m, const char *coll,
                                       const struct json_t *filter,
                                       int64_t *out);

/* roster_mongodb_distinct: the distinct values of field among the
 * documents matching filter (NULL: all), into *values (a new array). */
ROSTER_EXTERN int roster_mongodb_distinct(roster_mongodb *m, const char *coll,
                                          const char *field,
                                          const struct json_t *filter,
                                          struct json_t **values);

/* roster_mongodb_create_index creates an index on keys ({"n": 1,
 * "tag": -1}) of coll; name NULL makes libmongoc-style "n_1_tag_-1";
 * unique as MongoDB's. Creating an existing index again is ROSTER_OK. */
ROSTER_EXTERN int roster_mongodb_create_index(roster_mongodb *m,
                                              const char *coll,
                                              const struct json_t *keys,
                                              const char *name, bool unique);

/* roster_mongodb_drop drops coll (ROSTER_OK if it did not exist). */
ROSTER_EXTERN int roster_mongodb_drop(roster_mongodb *m, const char *coll);

/* roster_mongodb_health: a ping on a pooled client: ROSTER_OK, or the
 * error. The health check of declared services. */
ROSTER_EXTERN int roster_mongodb_health(roster_mongodb *m);

/* roster_mongodb_stats: counters since roster_mongodb_new. An operation
 * is one call of the JSON API (a cursor's getMores are not counted
 * again); a failed one is counted once, by its class. */
typedef struct roster_mongodb_stats {
  uint64_t operations;       /* JSON API calls, health checks included */
  uint64_t errors_connect;   /* ROSTER_ECONN, ROSTER_ETIMEDOUT */
  uint64_t errors_server;    /* ROSTER_EREMOTE */
  uint64_t errors_duplicate; /* ROSTER_ECONSTRAINT */
  uint64_t errors_other;     /* bad JSON, arguments, memory */
  uint64_t clients_out;      /* borrowed now (cursors, acquire) */
  uint64_t clients_out_max;  /* the most out at once */
  uint64_t acquires;         /* clients borrowed in all */
  unsigned max_clients;      /* the pool's bound */
} roster_mongodb_stats;

/* roster_mongodb_stats_get fills *out. ROSTER_EINVAL for NULL. Any
 * thread. */
ROSTER_EXTERN int roster_mongodb_stats_get(roster_mongodb *m,
                                           roster_mongodb_stats *out);

/* roster_mongodb_type: the type of declared services. */
ROSTER_EXTERN extern const roster_type roster_mongodb_type;

/* roster_mongodb_find: the service (ns, name): ROSTER_DEFINE_FIND
 * (registry.h); ROSTER_ETYPE for a service of another type. */
ROSTER_EXTERN int roster_mongodb_find(roster *r, const char *ns,
                                      const char *name, roster_mongodb **out);

#ifdef __cplusplus
}
#endif

#endif /* ROSTER_MONGODB_H */
