/*
 * ops.c: the JSON API: command, insert, query and aggregate cursors,
 * update, delete, count, distinct, indexes, drop. Each call borrows a
 * client (roster__mg_begin) and gives it back before it returns; a cursor
 * keeps its client until roster_mongodb_cursor_free.
 */
#include "mongodb_impl.h"

#include <stdio.h>
#include <string.h>

/* i64_of: the integer field key of reply (0 without it). */
static int64_t i64_of(const bson_t *reply, const char *key) {
  bson_iter_t it;
  if (bson_iter_init_find(&it, reply, key) && BSON_ITER_HOLDS_NUMBER(&it))
    return bson_iter_as_int64(&it);
  return 0;
}

/* opt_bson: v as BSON into b when v is set; b stays empty otherwise. */
static int opt_bson(mg_op *o, const json_t *v, const char *arg, bson_t *b) {
  if (!v) {
    bson_init(b);
    return ROSTER_OK;
  }
  return roster__mg_to_bson(o, v, arg, b);
}

int roster_mongodb_command(roster_mongodb *m, const json_t *cmd,
                           json_t **reply) {
  if (reply)
    *reply = NULL;
  mg_op o;
  int rc = roster__mg_begin(m, "command", NULL, false, &o);
  if (rc)
    return rc;
  bson_t c, r;
  if ((rc = roster__mg_to_bson(&o, cmd, "the command", &c))) {
    bson_destroy(&c);
    roster__mg_end(&o);
    return rc;
  }
  bson_error_t e;
  /* ping and other server-wide commands run on admin; the rest on the
   * database. */
  const char *db = json_object_get(cmd, "ping") ? "admin" : m->db;
  if (!mongoc_client_command_simple(o.cli, db, &c, NULL, &r, &e))
    rc = roster__mg_fail(m, "command", NULL, &e);
  else if (reply && !(*reply = roster__mg_to_json(&r)))
    rc = roster__mg_bad(m, ROSTER_ENOMEM, "command", NULL, "out of memory");
  bson_destroy(&r);
  bson_destroy(&c);
  roster__mg_end(&o);
  return rc;
}

int roster_mongodb_insert_one(roster_mongodb *m, const char *coll,
                              const json_t *doc, json_t **id) {
  if (id)
    *id = NULL;
  mg_op o;
  int rc = roster__mg_begin(m, "insert", coll, true, &o);
  if (rc)
    return rc;
  bson_t d, full, r;
  bson_init(&full);
  if ((rc = roster__mg_to_bson(&o, doc, "the document", &d)))
    goto out;
  bson_iter_t it;
  if (!bson_iter_init_find(&it, &d, "_id")) {
    bson_oid_t oid;
    bson_oid_init(&oid, NULL);
    BSON_APPEND_OID(&full, "_id", &oid);
  }
  bson_concat(&full, &d);
  bson_error_t e;
  if (!mongoc_collection_insert_one(o.col, &full, NULL, &r, &e))
    rc = roster__mg_fail(m, "insert", coll, &e);
  bson_destroy(&r);
  if (!rc && id) {
    bson_t one = BSON_INITIALIZER;
    json_t *j = NULL;
    if (bson_iter_init_find(&it, &full, "_id") &&
        bson_append_iter(&one, "_id", 3, &it))
      j = roster__mg_to_json(&one);
    bson_destroy(&one);
    *id = j ? json_incref(json_object_get(j, "_id")) : NULL;
    json_decref(j);
    if (!*id)
      rc = roster__mg_bad(m, ROSTER_ENOMEM, "insert", coll, "out of memory");
  }
out:
  bson_destroy(&full);
  bson_destroy(&d);
  roster__mg_end(&o);
  return rc;
}

int roster_mongodb_insert_many(roster_mongodb *m, const char *coll,
                               const json_t *docs, int64_t *inserted) {
  if (inserted)
    *inserted = 0;
  mg_op o;
  int rc = roster__mg_begin(m, "insert", coll, true, &o);
  if (rc)
    return rc;
  size_t n = json_is_array(docs) ? json_array_size(docs) : 0;
  if (n == 0) {
    roster__mg_end(&o);
    return roster__mg_bad(m, ROSTER_EINVAL, "insert", coll,
                          "docs must be an array of at least one object");
  }
  bson_t *b = roster_mem_calloc(n, sizeof *b);
  const bson_t **ptrs = roster_mem_calloc(n, sizeof *ptrs);
  size_t made = 0;
  if (!b || !ptrs) {
    rc = roster__mg_bad(m, ROSTER_ENOMEM, "insert", coll, "out of memory");
    goto out;
  }
  for (; made < n; made++) {
    if ((rc = roster__mg_to_bson(&o, json_array_get(docs, made),
                                 "every document", &b[made]))) {
      made++;
      goto out;
    }
    ptrs[made] = &b[made];
  }
  bson_t r;
  bson_error_t e;
  if (!mongoc_collection_insert_many(o.col, ptrs, n, NULL, &r, &e))
    rc = roster__mg_fail(m, "insert", coll, &e);
  if (inserted)
    *inserted = i64_of(&r, "insertedCount");
  bson_destroy(&r);
out:
  for (size_t i = 0; i < made; i++)
    bson_destroy(&b[i]);
  roster_mem_free(b);
  roster_mem_free(ptrs);
  roster__mg_end(&o);
  return rc;
}

/* ---- cursors ---- */

/* cursor_open wraps o's client and collection and cur into *out; o is
 * emptied (the cursor now owns them). */
static int cursor_open(mg_op *o, mongoc_cursor_t *cur,
                       roster_mongodb_cursor **out) {
  roster_mongodb_cursor *c = roster_mem_calloc(1, sizeof *c);
  if (!c || !cur) {
    roster_mem_free(c);
    if (cur)
      mongoc_cursor_destroy(cur);
    int rc =
        roster__mg_bad(o->m, ROSTER_ENOMEM, o->what, o->coll, "out of memory");
    roster__mg_end(o);
    return rc;
  }
  c->m = o->m;
  c->cli = o->cli;
  c->col = o->col;
  c->cur = cur;
  c->what = o->what;
  snprintf(c->coll, sizeof c->coll, "%s", o->coll);
  o->cli = NULL;
  o->col = NULL;
  *out = c;
  return ROSTER_OK;
}

int roster_mongodb_query(roster_mongodb *m, const char *coll,
                         const roster_mongodb_query_opts *opts,
                         roster_mongodb_cursor **out) {
  if (out)
    *out = NULL;
  mg_op o;
  int rc = roster__mg_begin(m, "find", coll, true, &o);
  if (rc)
    return rc;
  if (!out) {
    roster__mg_end(&o);
    return roster__mg_bad(m, ROSTER_EINVAL, "find", coll, "out is required");
  }
  roster_mongodb_query_opts none = {0};
  if (!opts)
    opts = &none;
  bson_t filter, sort, proj, fo;
  bson_init(&fo);
  bson_init(&sort);
  bson_init(&proj);
  if ((rc = opt_bson(&o, opts->filter, "the filter", &filter)) ||
      (rc = opt_bson(&o, opts->sort, "the sort", &sort)) ||
      (rc = opt_bson(&o, opts->projection, "the projection", &proj)))
    goto out;
  if (opts->sort)
    BSON_APPEND_DOCUMENT(&fo, "sort", &sort);
  if (opts->projection)
    BSON_APPEND_DOCUMENT(&fo, "projection", &proj);
  if (opts->limit > 0)
    BSON_APPEND_INT64(&fo, "limit", opts->limit);
  if (opts->skip > 0)
    BSON_APPEND_INT64(&fo, "skip", opts->skip);
  if (opts->batch_size > 0)
    BSON_APPEND_INT32(&fo, "batchSize", opts->batch_size);
  rc = cursor_open(
      &o, mongoc_collection_find_with_opts(o.col, &filter, &fo, NULL), out);
out:
  bson_destroy(&filter);
  bson_destroy(&sort);
  bson_destroy(&proj);
  bson_destroy(&fo);
  roster__mg_end(&o);
  return rc;
}

int roster_mongodb_aggregate(roster_mongodb *m, const char *coll,
                             const json_t *pipeline,
                             roster_mongodb_cursor **out) {
  if (out)
    *out = NULL;
  mg_op o;
  int rc = roster__mg_begin(m, "aggregate", coll, true, &o);
  if (rc)
    return rc;
  if (!out || !json_is_array(pipeline)) {
    roster__mg_end(&o);
    return roster__mg_bad(m, ROSTER_EINVAL, "aggregate", coll,
                          "the pipeline must be an array, and out is "
                          "required");
  }
  json_t *wrap = json_pack("{s:O}", "pipeline", pipeline);
  bson_t p;
  rc = wrap ? roster__mg_to_bson(&o, wrap, "the pipeline", &p)
            : roster__mg_bad(m, ROSTER_ENOMEM, "aggregate", coll,
                             "out of memory");
  json_decref(wrap);
  if (!wrap) {
    roster__mg_end(&o);
    return rc;
  }
  if (!rc)
    rc = cursor_open(
        &o,
        mongoc_collection_aggregate(o.col, MONGOC_QUERY_NONE, &p, NULL, NULL),
        out);
  bson_destroy(&p);
  roster__mg_end(&o);
  return rc;
}

int roster_mongodb_cursor_next(roster_mongodb_cursor *cur, json_t **doc) {
  if (doc)
    *doc = NULL;
  if (!cur || !doc)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_mongodb_cursor_next: cur and doc are "
                            "required");
  const bson_t *b;
  if (cur->done)
    return ROSTER_OK;
  if (mongoc_cursor_next(cur->cur, &b)) {
    *doc = roster__mg_to_json(b);
    return *doc ? ROSTER_OK
                : roster__mg_bad(cur->m, ROSTER_ENOMEM, cur->what, cur->coll,
                                 "out of memory");
  }
  bson_error_t e;
  if (mongoc_cursor_error(cur->cur, &e))
    return roster__mg_fail(cur->m, cur->what, cur->coll, &e);
  cur->done = true;
  return ROSTER_OK;
}

void roster_mongodb_cursor_free(roster_mongodb_cursor *cur) {
  if (!cur)
    return;
  mongoc_cursor_destroy(cur->cur);
  mongoc_collection_destroy(cur->col);
  roster__mg_client_put(cur->m, cur->cli);
  roster_mem_free(cur);
}

int roster_mongodb_query_all(roster_mongodb *m, const char *coll,
                             const roster_mongodb_query_opts *opts,
                             json_t **docs) {
  if (docs)
    *docs = NULL;
  if (!docs)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_mongodb_query_all: docs is required");
  roster_mongodb_cursor *cur;
  int rc = roster_mongodb_query(m, coll, opts, &cur);
  if (rc)
    return rc;
  json_t *all = json_array(), *d;
  while (all && (rc = roster_mongodb_cursor_next(cur, &d)) == ROSTER_OK && d)
    if (json_array_append_new(all, d)) {
      rc = roster__mg_bad(m, ROSTER_ENOMEM, "find", coll, "out of memory");
      break;
    }
  roster_mongodb_cursor_free(cur);
  if (!all)
    return roster__mg_bad(m, ROSTER_ENOMEM, "find", coll, "out of memory");
  if (rc) {
    json_decref(all);
    return rc;
  }
  *docs = all;
  return ROSTER_OK;
}

/* ---- writes ---- */

int roster_mongodb_update(roster_mongodb *m, const char *coll,
                          const json_t *filter, const json_t *update,
                          unsigned flags, roster_mongodb_result *res) {
  if (res)
    memset(res, 0, sizeof *res);
  mg_op o;
  int rc = roster__mg_begin(m, "update", coll, true, &o);
  if (rc)
    return rc;
  bson_t f, u, opts = BSON_INITIALIZER, r = BSON_INITIALIZER;
  bson_init(&u);
  if ((rc = opt_bson(&o, filter, "the filter", &f)) ||
      (rc = roster__mg_to_bson(&o, update, "the update", &u)))
    goto out;
  if (flags & ROSTER_MONGODB_UPSERT)
    BSON_APPEND_BOOL(&opts, "upsert", true);
  bson_error_t e;
  bson_destroy(&r);
  bool ok = flags & ROSTER_MONGODB_MANY
                ? mongoc_collection_update_many(o.col, &f, &u, &opts, &r, &e)
                : mongoc_collection_update_one(o.col, &f, &u, &opts, &r, &e);
  if (!ok)
    rc = roster__mg_fail(m, "update", coll, &e);
  if (res) {
    res->matched = i64_of(&r, "matchedCount");
    res->modified = i64_of(&r, "modifiedCount");
    res->upserted = i64_of(&r, "upsertedCount");
  }
out:
  bson_destroy(&r);
  bson_destroy(&opts);
  bson_destroy(&f);
  bson_destroy(&u);
  roster__mg_end(&o);
  return rc;
}

int roster_mongodb_delete(roster_mongodb *m, const char *coll,
                          const json_t *filter, unsigned flags,
                          roster_mongodb_result *res) {
  if (res)
    memset(res, 0, sizeof *res);
  mg_op o;
  int rc = roster__mg_begin(m, "delete", coll, true, &o);
  if (rc)
    return rc;
  bson_t f, r;
  if ((rc = opt_bson(&o, filter, "the filter", &f))) {
    bson_destroy(&f);
    roster__mg_end(&o);
    return rc;
  }
  bson_error_t e;
  bool ok = flags & ROSTER_MONGODB_MANY
                ? mongoc_collection_delete_many(o.col, &f, NULL, &r, &e)
                : mongoc_collection_delete_one(o.col, &f, NULL, &r, &e);
  if (!ok)
    rc = roster__mg_fail(m, "delete", coll, &e);
  if (res)
    res->deleted = i64_of(&r, "deletedCount");
  bson_destroy(&r);
  bson_destroy(&f);
  roster__mg_end(&o);
  return rc;
}

/* ---- reads of one answer ---- */

int roster_mongodb_count(roster_mongodb *m, const char *coll,
                         const json_t *filter, int64_t *out) {
  if (out)
    *out = 0;
  mg_op o;
  int rc = roster__mg_begin(m, "count", coll, true, &o);
  if (rc)
    return rc;
  bson_t f;
  if (!(rc = opt_bson(&o, filter, "the filter", &f))) {
    bson_error_t e;
    int64_t n =
        mongoc_collection_count_documents(o.col, &f, NULL, NULL, NULL, &e);
    if (n < 0)
      rc = roster__mg_fail(m, "count", coll, &e);
    else if (out)
      *out = n;
  }
  bson_destroy(&f);
  roster__mg_end(&o);
  return rc;
}

int roster_mongodb_distinct(roster_mongodb *m, const char *coll,
                            const char *field, const json_t *filter,
                            json_t **values) {
  if (values)
    *values = NULL;
  mg_op o;
  int rc = roster__mg_begin(m, "distinct", coll, true, &o);
  if (rc)
    return rc;
  if (!field || !*field || !values) {
    roster__mg_end(&o);
    return roster__mg_bad(m, ROSTER_EINVAL, "distinct", coll,
                          "field and values are required");
  }
  bson_t f, cmd = BSON_INITIALIZER, r;
  bson_init(&r);
  if ((rc = opt_bson(&o, filter, "the filter", &f)))
    goto out;
  BSON_APPEND_UTF8(&cmd, "distinct", coll);
  BSON_APPEND_UTF8(&cmd, "key", field);
  BSON_APPEND_DOCUMENT(&cmd, "query", &f);
  bson_error_t e;
  bson_destroy(&r);
  if (!mongoc_collection_read_command_with_opts(o.col, &cmd, NULL, NULL, &r,
                                                &e)) {
    rc = roster__mg_fail(m, "distinct", coll, &e);
    goto out;
  }
  json_t *j = roster__mg_to_json(&r);
  json_t *v = json_object_get(j, "values");
  if (json_is_array(v))
    *values = json_incref(v);
  else
    rc = roster__mg_bad(m, j ? ROSTER_EPROTO : ROSTER_ENOMEM, "distinct", coll,
                        j ? "the reply has no values" : "out of memory");
  json_decref(j);
out:
  bson_destroy(&r);
  bson_destroy(&cmd);
  bson_destroy(&f);
  roster__mg_end(&o);
  return rc;
}

int roster_mongodb_create_index(roster_mongodb *m, const char *coll,
                                const json_t *keys, const char *name,
                                bool unique) {
  mg_op o;
  int rc = roster__mg_begin(m, "create index", coll, true, &o);
  if (rc)
    return rc;
  bson_t k, cmd = BSON_INITIALIZER, arr, idx, r;
  bson_init(&r);
  if ((rc = roster__mg_to_bson(&o, keys, "the keys", &k)))
    goto out;
  char *auto_name = name ? NULL : mongoc_collection_keys_to_index_string(&k);
  BSON_APPEND_UTF8(&cmd, "createIndexes", coll);
  BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &arr);
  BSON_APPEND_DOCUMENT_BEGIN(&arr, "0", &idx);
  BSON_APPEND_DOCUMENT(&idx, "key", &k);
  BSON_APPEND_UTF8(&idx, "name", name ? name : auto_name ? auto_name : "");
  if (unique)
    BSON_APPEND_BOOL(&idx, "unique", true);
  bson_append_document_end(&arr, &idx);
  bson_append_array_end(&cmd, &arr);
  bson_free(auto_name);
  bson_error_t e;
  bson_destroy(&r);
  if (!mongoc_collection_write_command_with_opts(o.col, &cmd, NULL, &r, &e))
    rc = roster__mg_fail(m, "create index", coll, &e);
out:
  bson_destroy(&r);
  bson_destroy(&cmd);
  bson_destroy(&k);
  roster__mg_end(&o);
  return rc;
}

int roster_mongodb_drop(roster_mongodb *m, const char *coll) {
  mg_op o;
  int rc = roster__mg_begin(m, "drop", coll, true, &o);
  if (rc)
    return rc;
  bson_error_t e;
  /* 26: NamespaceNotFound, a collection that is not there */
  if (!mongoc_collection_drop_with_opts(o.col, NULL, &e) && e.code != 26 &&
      !strstr(e.message, "ns not found"))
    rc = roster__mg_fail(m, "drop", coll, &e);
  roster__mg_end(&o);
  return rc;
}
