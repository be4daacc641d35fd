/*
 * mongodb_impl.h: the MongoDB module's private header: the pool, the
 * cursor, one operation's borrowed client, JSON <-> BSON and the error
 * mapping shared by client.c, ops.c and service.c.
 */
#ifndef ROSTER_MONGODB_IMPL_H
#define ROSTER_MONGODB_IMPL_H

#include <roster.h>
#include <roster/driver.h>
#include <roster/mongodb.h>

#include <jansson.h>
#include <mongoc/mongoc.h>
#include <stdatomic.h>
#include <stdint.h>

struct roster_mongodb {
  char *name;
  char *url_shown; /* redacted */
  char *password;  /* the URL's, scrubbed from libmongoc's messages; NULL */
  char *db;
  mongoc_client_pool_t *pool;
  unsigned max_clients;
  _Atomic uint64_t operations, errors_connect, errors_server, errors_duplicate,
      errors_other, clients_out, clients_out_max, acquires;
};

struct roster_mongodb_cursor {
  roster_mongodb *m;
  mongoc_client_t *cli;
  mongoc_collection_t *col;
  mongoc_cursor_t *cur;
  const char *what; /* "find" or "aggregate", for details */
  bool done;        /* the last document was read */
  char coll[128];
};

/* mg_op: one operation's client and collection (col NULL when the
 * operation has no collection). */
typedef struct mg_op {
  roster_mongodb *m;
  const char *what;
  const char *coll;
  mongoc_client_t *cli;
  mongoc_collection_t *col;
} mg_op;

/* roster__mg_begin counts the operation, checks m (and coll unless it is
 * NULL with need_coll false) and borrows a client into o. */
int roster__mg_begin(roster_mongodb *m, const char *what, const char *coll,
                     bool need_coll, mg_op *o);
/* roster__mg_end gives o's client back. */
void roster__mg_end(mg_op *o);

/* roster__mg_fail maps a libmongoc error to a roster code, counts it and
 * sets the detail (the server's code and message kept, the password
 * scrubbed). */
int roster__mg_fail(roster_mongodb *m, const char *what, const char *coll,
                    const bson_error_t *e);
/* roster__mg_scrub copies msg into buf (cap bytes) with every
 * occurrence of pw (NULL: none) written "***". */
void roster__mg_scrub(const char *msg, const char *pw, char *buf, size_t cap);
/* roster__mg_bad counts an error of the caller's (EINVAL, EPARSE,
 * ENOMEM) and sets its detail. */
int roster__mg_bad(roster_mongodb *m, int code, const char *what,
                   const char *coll, const char *why);

/* roster__mg_to_bson reads v (an object; an array when array_ok) as
 * relaxed extended JSON into b (initialized here; bson_destroy it).
 * ROSTER_EPARSE / ROSTER_EINVAL with the detail set. */
int roster__mg_to_bson(mg_op *o, const json_t *v, const char *arg, bson_t *b);
/* roster__mg_to_json converts b to a new JSON object (NULL: no memory). */
json_t *roster__mg_to_json(const bson_t *b);

/* roster__mg_client_get / _put: a pool client, counted in the stats. */
mongoc_client_t *roster__mg_client_get(roster_mongodb *m);
void roster__mg_client_put(roster_mongodb *m, mongoc_client_t *c);

extern const roster_driver roster__mongodb_driver;

#endif
