/*
 * cache_values.c: the value operations of the cache front end (get and set
 * of each kind, del, exists, ttl, expire, incr, mget, mset, clear, stats,
 * info): each checks its arguments, calls the backend, and turns a failure
 * into the public sentence (cache.c).
 */
#include "cache_impl.h"

#include <stdio.h>

/* NEED_CACHE returns from the calling function unless c is usable. */
#define NEED_CACHE(c, fn)                                                      \
  do {                                                                         \
    int need_rc_ = roster__cache_enter(c, fn);                                 \
    if (ROSTER__UNLIKELY(need_rc_))                                            \
      return need_rc_;                                                         \
  } while (0)

#define NEED_OUT(c, p, op)                                                     \
  do {                                                                         \
    if (ROSTER__UNLIKELY(!(p)))                                                \
      return roster__err(ROSTER_EINVAL, "cache '%s': %s: the output is NULL",  \
                         (c)->name, op);                                       \
  } while (0)

static int check_value(roster_cache *c, const char *op, const void *data,
                       size_t len) {
  if (!data && len)
    return roster__err(ROSTER_EINVAL,
                       "cache '%s': %s: data is NULL but len "
                       "is %zu",
                       c->name, op, len);
  if (len > ROSTER_CACHE_VALUE_MAX)
    return roster__err(ROSTER_ERANGE,
                       "cache '%s': %s: the value is %zu "
                       "bytes; the largest is %zu",
                       c->name, op, len, ROSTER_CACHE_VALUE_MAX);
  return ROSTER_OK;
}

static int do_set(roster_cache *c, const char *op, const void *key, size_t klen,
                  const roster_cache_val *v, int64_t ttl_ms) {
  int rc = roster__cache_check_key(c, op, key, klen);
  if (!rc)
    rc = roster__cache_check_ttl(c, op, "ttl", ttl_ms, false);
  if (!rc && v->kind != ROSTER_CACHE_INT)
    rc = check_value(c, op, v->data, v->len);
  if (rc)
    return rc;
  rc = c->be->set(c->impl, key, klen, v, ttl_ms);
  return rc ? roster__cache_fail(c, rc, op, key, klen) : rc;
}

int roster_cache_set_bytes(roster_cache *c, const void *key, size_t key_len,
                           const void *data, size_t len, int64_t ttl_ms) {
  NEED_CACHE(c, "set_bytes");
  roster_cache_val v = {ROSTER_CACHE_BYTES, data, len, 0};
  return do_set(c, "set", key, key_len, &v, ttl_ms);
}

int roster_cache_set_int(roster_cache *c, const void *key, size_t key_len,
                         int64_t num, int64_t ttl_ms) {
  NEED_CACHE(c, "set_int");
  roster_cache_val v = {ROSTER_CACHE_INT, NULL, 0, num};
  return do_set(c, "set_int", key, key_len, &v, ttl_ms);
}

int roster_cache_set_json(roster_cache *c, const void *key, size_t key_len,
                          const struct json_t *value, int64_t ttl_ms) {
  NEED_CACHE(c, "set_json");
  int rc = roster__cache_check_key(c, "set_json", key, key_len);
  if (!rc)
    rc = roster__cache_check_ttl(c, "set_json", "ttl", ttl_ms, false);
  if (!rc && !value)
    rc = roster__err(ROSTER_EINVAL, "cache '%s': set_json: value is NULL",
                     c->name);
  if (rc)
    return rc;
  char *text = NULL;
  size_t len = 0;
  rc = roster__cache_json_text(value, &text, &len);
  if (rc)
    return roster__cache_fail(c, rc, "set_json", key, key_len);
  roster_cache_val v = {ROSTER_CACHE_JSON, text, len, 0};
  rc = do_set(c, "set_json", key, key_len, &v, ttl_ms);
  roster__free(text);
  return rc;
}

/* get_kind reads key into out and checks its kind (NONE: any). */
static int get_kind(roster_cache *c, const char *op, const void *key,
                    size_t klen, roster_cache_buf *out,
                    roster_cache_kind want) {
  int rc = roster__cache_check_key(c, op, key, klen);
  if (rc)
    return rc;
  rc = c->be->get(c->impl, key, klen, out);
  if (ROSTER__UNLIKELY(rc)) {
    roster__cache_buf_clear(out);
    return roster__cache_fail(c, rc, op, key, klen);
  }
  if (want != ROSTER_CACHE_NONE && out->kind != want) {
    roster_cache_kind have = out->kind;
    roster__cache_buf_clear(out);
    return roster__cache_kind_error(c, key, klen, have, want);
  }
  return ROSTER_OK;
}

int roster_cache_get_bytes(roster_cache *c, const void *key, size_t key_len,
                           roster_cache_buf *out) {
  NEED_CACHE(c, "get_bytes");
  NEED_OUT(c, out, "get_bytes");
  return get_kind(c, "get_bytes", key, key_len, out, ROSTER_CACHE_BYTES);
}

int roster_cache_get_value(roster_cache *c, const void *key, size_t key_len,
                           roster_cache_buf *out) {
  NEED_CACHE(c, "get_value");
  NEED_OUT(c, out, "get_value");
  return get_kind(c, "get_value", key, key_len, out, ROSTER_CACHE_NONE);
}

int roster_cache_get_int(roster_cache *c, const void *key, size_t key_len,
                         int64_t *out) {
  NEED_CACHE(c, "get_int");
  NEED_OUT(c, out, "get_int");
  roster_cache_buf b = {0};
  int rc = get_kind(c, "get_int", key, key_len, &b, ROSTER_CACHE_INT);
  if (!rc)
    *out = b.num;
  roster_cache_buf_close(&b);
  return rc;
}

int roster_cache_get_json(roster_cache *c, const void *key, size_t key_len,
                          struct json_t **out) {
  NEED_CACHE(c, "get_json");
  NEED_OUT(c, out, "get_json");
  *out = NULL;
  roster_cache_buf b = {0};
  int rc = get_kind(c, "get_json", key, key_len, &b, ROSTER_CACHE_JSON);
  if (!rc)
    rc = roster__cache_json_parse(c, key, key_len, &b, out);
  roster_cache_buf_close(&b);
  return rc;
}

int roster_cache_del(roster_cache *c, const void *key, size_t key_len) {
  NEED_CACHE(c, "del");
  int rc = roster__cache_check_key(c, "del", key, key_len);
  if (rc)
    return rc;
  roster_cache_key k = {key, key_len};
  size_t n = 0;
  rc = c->be->del(c->impl, &k, 1, &n);
  if (!rc && n == 0)
    rc = ROSTER_ENOENT;
  return rc ? roster__cache_fail(c, rc, "del", key, key_len) : rc;
}

static int check_keys(roster_cache *c, const char *op,
                      const roster_cache_key *keys, size_t n) {
  if (n && !keys)
    return roster__err(ROSTER_EINVAL,
                       "cache '%s': %s: keys is NULL but n is "
                       "%zu",
                       c->name, op, n);
  for (size_t i = 0; i < n; i++) {
    int rc = roster__cache_check_key(c, op, keys[i].data, keys[i].len);
    if (rc) {
      char detail[768];
      snprintf(detail, sizeof detail, "%s", roster_last_error());
      return roster__err(rc, "%s (keys[%zu])", detail, i);
    }
  }
  return ROSTER_OK;
}

int roster_cache_del_many(roster_cache *c, const roster_cache_key *keys,
                          size_t n, size_t *removed) {
  NEED_CACHE(c, "del_many");
  size_t got = 0;
  int rc = check_keys(c, "del_many", keys, n);
  if (rc)
    return rc;
  if (n) {
    rc = c->be->del(c->impl, keys, n, &got);
    if (rc)
      return roster__cache_fail(c, rc, "del_many", NULL, 0);
  }
  if (removed)
    *removed = got;
  return ROSTER_OK;
}

int roster_cache_ttl(roster_cache *c, const void *key, size_t key_len,
                     int64_t *ttl_ms) {
  NEED_CACHE(c, "ttl");
  NEED_OUT(c, ttl_ms, "ttl");
  int rc = roster__cache_check_key(c, "ttl", key, key_len);
  if (rc)
    return rc;
  rc = c->be->pttl(c->impl, key, key_len, ttl_ms);
  return rc ? roster__cache_fail(c, rc, "ttl", key, key_len) : rc;
}

int roster_cache_exists(roster_cache *c, const void *key, size_t key_len,
                        bool *out) {
  NEED_CACHE(c, "exists");
  NEED_OUT(c, out, "exists");
  int64_t t = -2;
  int rc = roster__cache_check_key(c, "exists", key, key_len);
  if (rc)
    return rc;
  rc = c->be->pttl(c->impl, key, key_len, &t);
  if (rc)
    return roster__cache_fail(c, rc, "exists", key, key_len);
  *out = t != -2;
  return ROSTER_OK;
}

int roster_cache_expire(roster_cache *c, const void *key, size_t key_len,
                        int64_t ttl_ms) {
  NEED_CACHE(c, "expire");
  int rc = roster__cache_check_key(c, "expire", key, key_len);
  if (!rc)
    rc = roster__cache_check_ttl(c, "expire", "ttl", ttl_ms, false);
  if (rc)
    return rc;
  rc = c->be->expire(c->impl, key, key_len, ttl_ms);
  return rc ? roster__cache_fail(c, rc, "expire", key, key_len) : rc;
}

int roster_cache_incr_by(roster_cache *c, const void *key, size_t key_len,
                         int64_t delta, int64_t *out) {
  NEED_CACHE(c, "incr_by");
  int rc = roster__cache_check_key(c, "incr", key, key_len);
  if (rc)
    return rc;
  int64_t v = 0;
  rc = c->be->incr(c->impl, key, key_len, delta, &v);
  if (rc)
    return roster__cache_fail(c, rc, "incr", key, key_len);
  if (out)
    *out = v;
  return ROSTER_OK;
}

int roster_cache_incr(roster_cache *c, const void *key, size_t key_len,
                      int64_t *out) {
  return roster_cache_incr_by(c, key, key_len, 1, out);
}

int roster_cache_decr(roster_cache *c, const void *key, size_t key_len,
                      int64_t *out) {
  return roster_cache_incr_by(c, key, key_len, -1, out);
}

int roster_cache_mget(roster_cache *c, const roster_cache_key *keys, size_t n,
                      roster_cache_buf *out) {
  NEED_CACHE(c, "mget");
  if (n)
    NEED_OUT(c, out, "mget");
  int rc = check_keys(c, "mget", keys, n);
  if (rc || !n)
    return rc;
  rc = c->be->mget(c->impl, keys, n, out);
  if (rc) {
    for (size_t i = 0; i < n; i++)
      roster__cache_buf_clear(&out[i]);
    return roster__cache_fail(c, rc, "mget", NULL, 0);
  }
  return ROSTER_OK;
}

int roster_cache_mset(roster_cache *c, const roster_cache_item *items, size_t n,
                      int64_t ttl_ms) {
  NEED_CACHE(c, "mset");
  if (n && !items)
    return roster__err(ROSTER_EINVAL,
                       "cache '%s': mset: items is NULL but n "
                       "is %zu",
                       c->name, n);
  int rc = roster__cache_check_ttl(c, "mset", "ttl", ttl_ms, false);
  if (rc || !n)
    return rc;
  if (n > SIZE_MAX / (sizeof(roster_cache_key) + sizeof(roster_cache_val)))
    return roster__err(ROSTER_ERANGE,
                       "cache '%s': mset: %zu items is too "
                       "many",
                       c->name, n);
  roster_cache_key *keys = roster__calloc(n, sizeof *keys);
  roster_cache_val *vals = roster__calloc(n, sizeof *vals);
  if (!keys || !vals) {
    roster__free(keys);
    roster__free(vals);
    return roster__err(ROSTER_ENOMEM, "cache '%s': mset: out of memory",
                       c->name);
  }
  size_t done = 0;
  for (; done < n && !rc; done++) {
    const roster_cache_item *it = &items[done];
    rc = roster__cache_check_key(c, "mset", it->key, it->key_len);
    if (rc)
      break;
    keys[done] = (roster_cache_key){it->key, it->key_len};
    vals[done].kind = it->kind;
    switch (it->kind) {
    case ROSTER_CACHE_BYTES:
      rc = check_value(c, "mset", it->data, it->len);
      vals[done].data = it->data;
      vals[done].len = it->len;
      break;
    case ROSTER_CACHE_INT:
      vals[done].num = it->num;
      break;
    case ROSTER_CACHE_JSON: {
      char *text = NULL;
      size_t len = 0;
      if (!it->json) {
        rc = roster__err(ROSTER_EINVAL,
                         "cache '%s': mset: the JSON value is "
                         "NULL",
                         c->name);
        break;
      }
      rc = roster__cache_json_text(it->json, &text, &len);
      if (rc)
        rc = roster__cache_fail(c, rc, "mset", it->key, it->key_len);
      vals[done].data = text;
      vals[done].len = len;
      break;
    }
    default:
      rc = roster__err(ROSTER_EINVAL,
                       "cache '%s': mset: kind %d is not "
                       "bytes, json or int",
                       c->name, (int)it->kind);
      vals[done].kind = ROSTER_CACHE_NONE;
      break;
    }
    if (rc)
      break;
  }
  if (rc) {
    char detail[768];
    snprintf(detail, sizeof detail, "%s", roster_last_error());
    rc = roster__err(rc, "%s (items[%zu]; nothing was stored)", detail, done);
  } else {
    rc = c->be->mset(c->impl, keys, vals, n, ttl_ms);
    if (rc)
      rc = roster__cache_fail(c, rc, "mset", NULL, 0);
  }
  for (size_t i = 0; i < n; i++)
    if (vals[i].kind == ROSTER_CACHE_JSON)
      roster__free((void *)vals[i].data);
  roster__free(keys);
  roster__free(vals);
  return rc;
}

int roster_cache_clear(roster_cache *c, const void *pattern, size_t pattern_len,
                       size_t *removed) {
  NEED_CACHE(c, "clear");
  if (pattern && (!pattern_len || pattern_len > ROSTER_CACHE_KEY_MAX))
    return roster__err(ROSTER_EINVAL,
                       "cache '%s': clear: the pattern is %s; "
                       "pass NULL to clear every key",
                       c->name, pattern_len ? "too long" : "empty");
  if (!pattern && pattern_len)
    return roster__err(ROSTER_EINVAL,
                       "cache '%s': clear: pattern is NULL "
                       "but pattern_len is %zu",
                       c->name, pattern_len);
  size_t got = 0;
  int rc = c->be->clear(c->impl, pattern, pattern_len, &got);
  if (rc)
    return roster__cache_fail(c, rc, "clear", NULL, 0);
  if (removed)
    *removed = got;
  return ROSTER_OK;
}

int roster_cache_stats_get(roster_cache *c, roster_cache_stats *out) {
  NEED_CACHE(c, "stats_get");
  NEED_OUT(c, out, "stats");
  roster_cache_stats s = {0};
  int rc = c->be->stats(c->impl, &s);
  if (rc)
    return roster__cache_fail(c, rc, "stats", NULL, 0);
  s.loads = atomic_load(&c->loads);
  s.load_waits = atomic_load(&c->load_waits);
  *out = s;
  return ROSTER_OK;
}

int roster_cache_info(roster_cache *c, struct json_t **out) {
  NEED_CACHE(c, "info");
  NEED_OUT(c, out, "info");
  *out = NULL;
  if (!c->be->info)
    return roster__err(ROSTER_ENOTSUP,
                       "cache '%s': the %s%sbackend has no "
                       "info",
                       c->name, c->scheme, *c->scheme ? " " : "");
  int rc = c->be->info(c->impl, out);
  return rc ? roster__cache_fail(c, rc, "info", NULL, 0) : rc;
}
