/*
 * cache_patterns.c: the patterns built on a cache: the lock (acquire with
 * a random token, extend and release only by the holder), the fixed- and
 * sliding-window rate limiters, and cache-aside get_or_set with one loader
 * per key.
 *
 * Locks and rate limiters are backend operations, because each step must
 * be atomic in the store (SET NX PX and scripts on Redis, a shard lock in
 * memory); this file checks their arguments and does the waiting.
 * get_or_set is written once, here, for every backend: callers in this
 * process that miss the same key share one load (a "flight" in a small
 * table under a mutex: the first caller runs the loader, the others wait
 * on the flight's condition variable and copy its result). On a shared
 * backend the loading caller also takes a lock in the store, so that other
 * processes wait for it too, by polling the key.
 */
#include "cache_impl.h"

#include <inttypes.h>
#include <stdio.h>

#include <jansson.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

/* ---- locks ---------------------------------------------------------- */

static void make_token(char token[33]) {
  unsigned char r[16];
  static const char hex[] = "0123456789abcdef";
  roster__cache_random(r, sizeof r);
  for (int i = 0; i < 16; i++) {
    token[2 * i] = hex[r[i] >> 4];
    token[2 * i + 1] = hex[r[i] & 15];
  }
  token[32] = '\0';
}

/* sleep_until_next waits the k-th backoff, but not past deadline (0: no
 * deadline). */
static void sleep_backoff(unsigned k, int64_t deadline) {
  int64_t d = roster__cache_backoff_ms(k);
  if (deadline) {
    int64_t left = deadline - roster__cache_now_ms();
    if (left < d)
      d = left > 0 ? left : 0;
  }
  if (d > 0)
    roster__cache_sleep_ms(d);
}

int roster_cache_lock_acquire(roster_cache *c, const void *key, size_t key_len,
                              int64_t ttl_ms, int64_t wait_ms,
                              roster_cache_lock *lock) {
  int rc = roster__cache_enter(c, "lock_acquire");
  if (rc)
    return rc;
  if (!lock)
    return roster__err(ROSTER_EINVAL,
                       "cache '%s': lock_acquire: lock is "
                       "NULL",
                       c->name);
  rc = roster__cache_check_key(c, "lock_acquire", key, key_len);
  if (!rc)
    rc = roster__cache_check_ttl(c, "lock_acquire", "ttl", ttl_ms, true);
  if (!rc && wait_ms > ROSTER_CACHE_TTL_MAX)
    rc = roster__err(ROSTER_ERANGE,
                     "cache '%s': lock_acquire: wait %" PRId64
                     " ms is too long (negative waits without limit)",
                     c->name, wait_ms);
  if (rc)
    return rc;
  *lock = (roster_cache_lock){0};
  /* The copy first: once the lock is taken nothing may fail. */
  unsigned char *kc = roster__malloc(key_len);
  if (!kc)
    return roster__err(ROSTER_ENOMEM,
                       "cache '%s': lock_acquire: out of "
                       "memory",
                       c->name);
  memcpy(kc, key, key_len);
  char token[33];
  make_token(token);
  int64_t start = roster__cache_now_ms();
  int64_t deadline = wait_ms > 0 ? start + wait_ms : 0;
  for (unsigned k = 0;; k++) {
    rc = c->be->lock_acquire(c->impl, key, key_len, token, ttl_ms);
    if (rc != ROSTER_EBUSY)
      break;
    if (wait_ms == 0)
      break;
    if (deadline && roster__cache_now_ms() >= deadline) {
      rc = ROSTER_ETIMEDOUT;
      break;
    }
    sleep_backoff(k, deadline);
  }
  if (rc == ROSTER_OK) {
    lock->cache = c;
    lock->key = kc;
    lock->key_len = key_len;
    memcpy(lock->token, token, sizeof token);
    return ROSTER_OK;
  }
  roster__free(kc);
  if (rc == ROSTER_ETIMEDOUT) {
    char q[96];
    return roster__err(rc,
                       "cache '%s': lock_acquire: lock '%s' is still held "
                       "by another holder after waiting %" PRId64 " ms",
                       c->name, roster__cache_qkey(q, sizeof q, key, key_len),
                       roster__cache_now_ms() - start);
  }
  return roster__cache_fail(c, rc, "lock_acquire", key, key_len);
}

static int lock_check(const roster_cache_lock *lock, const char *op) {
  if (!lock)
    return roster__err(ROSTER_EINVAL, "%s: lock is NULL", op);
  if (!lock->cache || !lock->key || !lock->key_len || lock->token[32] ||
      strlen(lock->token) != 32)
    return roster__err(ROSTER_EINVAL,
                       "%s: the lock is empty (never "
                       "acquired, or already released)",
                       op);
  roster__thread_ensure();
  return ROSTER_OK;
}

int roster_cache_lock_extend(roster_cache_lock *lock, int64_t ttl_ms) {
  int rc = lock_check(lock, "roster_cache_lock_extend");
  if (rc)
    return rc;
  roster_cache *c = lock->cache;
  rc = roster__cache_check_ttl(c, "lock_extend", "ttl", ttl_ms, true);
  if (rc)
    return rc;
  rc = c->be->lock_extend(c->impl, lock->key, lock->key_len, lock->token,
                          ttl_ms);
  return rc ? roster__cache_fail(c, rc, "lock_extend", lock->key, lock->key_len)
            : rc;
}

int roster_cache_lock_release(roster_cache_lock *lock) {
  int rc = lock_check(lock, "roster_cache_lock_release");
  if (rc)
    return rc;
  roster_cache *c = lock->cache;
  rc = c->be->lock_release(c->impl, lock->key, lock->key_len, lock->token);
  if (rc)
    rc = roster__cache_fail(c, rc, "lock_release", lock->key, lock->key_len);
  roster__free(lock->key);
  *lock = (roster_cache_lock){0};
  return rc;
}

/* ---- rate limiters -------------------------------------------------- */

static int rate(roster_cache *c, const char *op, const void *key,
                size_t key_len, int64_t limit, int64_t window_ms,
                roster_cache_rate *out, bool sliding) {
  int rc = roster__cache_enter(c, op);
  if (rc)
    return rc;
  if (!out)
    return roster__err(ROSTER_EINVAL, "cache '%s': %s: the output is NULL",
                       c->name, op);
  rc = roster__cache_check_key(c, op, key, key_len);
  if (!rc)
    rc = roster__cache_check_ttl(c, op, "window", window_ms, true);
  if (!rc && (limit < 1 || (sliding && limit > ROSTER_CACHE_LIMIT_MAX)))
    rc = roster__err(ROSTER_EINVAL,
                     "cache '%s': %s: limit %" PRId64 " must "
                     "be 1 to %" PRId64,
                     c->name, op, limit,
                     sliding ? (int64_t)ROSTER_CACHE_LIMIT_MAX : INT64_MAX);
  if (rc)
    return rc;
  roster_cache_rate r = {0};
  rc = sliding
           ? c->be->rate_sliding(c->impl, key, key_len, limit, window_ms, &r)
           : c->be->rate_fixed(c->impl, key, key_len, limit, window_ms, &r);
  if (rc)
    return roster__cache_fail(c, rc, op, key, key_len);
  *out = r;
  return ROSTER_OK;
}

int roster_cache_rate_fixed(roster_cache *c, const void *key, size_t key_len,
                            int64_t limit, int64_t window_ms,
                            roster_cache_rate *out) {
  return rate(c, "rate_fixed", key, key_len, limit, window_ms, out, false);
}

int roster_cache_rate_sliding(roster_cache *c, const void *key, size_t key_len,
                              int64_t limit, int64_t window_ms,
                              roster_cache_rate *out) {
  return rate(c, "rate_sliding", key, key_len, limit, window_ms, out, true);
}

/* ---- get_or_set ------------------------------------------------------ */

/* roster__flight: one load in progress. Guarded by c->flight_lock; freed
 * by whoever drops the last reference. */
struct roster__flight {
  roster__flight *next;
  uint64_t hash;
  unsigned char *key;
  size_t klen;
  pthread_t leader;  /* the thread running the loader */
  pthread_cond_t cv; /* broadcast when done */
  unsigned refs;     /* the leader + each waiter */
  bool done;
  int rc;               /* the result */
  char *detail;         /* the error's sentence, when rc != OK */
  roster_cache_buf val; /* the value, when there is one */
};

static const char LOAD_SUFFIX[] = "\0roster:load";
#define LOAD_SUFFIX_LEN (sizeof LOAD_SUFFIX - 1)

static void flight_put(roster__flight *f) {
  if (--f->refs)
    return;
  pthread_cond_destroy(&f->cv);
  roster_cache_buf_close(&f->val);
  roster__free(f->detail);
  roster__free(f->key);
  roster__free(f);
}

void roster__cache_flights_free(roster_cache *c) {
  /* Nothing may be in flight once roster_cache_free runs; the table is
   * empty unless that rule was broken. */
  for (size_t i = 0; i < ROSTER__FLIGHT_BUCKETS; i++)
    c->flights[i] = NULL;
}

/* check_loaded: the value a loader produced, before it is stored. */
static int check_loaded(roster_cache *c, const void *key, size_t klen,
                        const roster_cache_buf *val, roster_cache_kind want) {
  char q[96];
  if (val->kind != want)
    return roster__err(ROSTER_EINVAL,
                       "cache '%s': the loader for key '%s' "
                       "returned ROSTER_OK with %s; it must store a %s value "
                       "in its output",
                       c->name, roster__cache_qkey(q, sizeof q, key, klen),
                       val->kind == ROSTER_CACHE_NONE ? "no value"
                                                      : "a value of another "
                                                        "kind",
                       roster_cache_kind_name(want));
  if (val->len > ROSTER_CACHE_VALUE_MAX)
    return roster__err(ROSTER_ERANGE,
                       "cache '%s': the loader for key '%s' "
                       "made a %zu-byte value; the largest is %zu",
                       c->name, roster__cache_qkey(q, sizeof q, key, klen),
                       val->len, ROSTER_CACHE_VALUE_MAX);
  return ROSTER_OK;
}

/* load_store runs the loader and stores what it made. */
static int load_store(roster_cache *c, const void *key, size_t klen,
                      int64_t ttl_ms, roster_cache_kind want,
                      roster_cache_load_fn fn, void *arg,
                      roster_cache_buf *val) {
  roster__cache_buf_clear(val);
  atomic_fetch_add(&c->loads, 1);
  roster_error_clear();
  int rc = fn(arg, key, klen, val);
  char q[96];
  if (rc) {
    if (rc > 0)
      rc = ROSTER_EFAILED;
    char detail[768];
    snprintf(detail, sizeof detail, "%s",
             roster_last_code() != ROSTER_OK ? roster_last_error()
                                             : roster_strerror(rc));
    roster__cache_buf_clear(val);
    return roster__err(rc, "cache '%s': the loader for key '%s' failed: %s",
                       c->name, roster__cache_qkey(q, sizeof q, key, klen),
                       detail);
  }
  rc = check_loaded(c, key, klen, val, want);
  if (rc) {
    roster__cache_buf_clear(val);
    return rc;
  }
  roster_cache_val v = {val->kind, val->data, val->len, val->num};
  rc = c->be->set(c->impl, key, klen, &v, ttl_ms);
  return rc ? roster__cache_fail(c, rc,
                                 "get_or_set (storing the loaded "
                                 "value)",
                                 key, klen)
            : rc;
}

/* got: a read found something; it must be of kind want. */
static int got(roster_cache *c, const void *key, size_t klen,
               roster_cache_buf *val, roster_cache_kind want) {
  if (val->kind == want)
    return ROSTER_OK;
  roster_cache_kind have = val->kind;
  roster__cache_buf_clear(val);
  return roster__cache_kind_error(c, key, klen, have, want);
}

/* lead: the in-process leader's load. On a shared store it takes the load
 * lock first and waits for other processes' loads by polling. */
static int lead(roster_cache *c, const char *op, const void *key, size_t klen,
                int64_t ttl_ms, roster_cache_kind want, roster_cache_load_fn fn,
                void *arg, roster_cache_buf *val) {
  int rc = c->be->get(c->impl, key, klen, val);
  if (rc == ROSTER_OK)
    return got(c, key, klen, val, want);
  if (rc != ROSTER_ENOENT)
    return roster__cache_fail(c, rc, op, key, klen);
  if (!(c->be->flags & ROSTER_CACHE_SHARED))
    return load_store(c, key, klen, ttl_ms, want, fn, arg, val);

  size_t lklen = klen + LOAD_SUFFIX_LEN;
  unsigned char *lk = roster__malloc(lklen);
  if (!lk)
    return roster__err(ROSTER_ENOMEM, "cache '%s': %s: out of memory", c->name,
                       op);
  memcpy(lk, key, klen);
  memcpy(lk + klen, LOAD_SUFFIX, LOAD_SUFFIX_LEN);
  char token[33];
  make_token(token);
  int64_t start = roster__cache_now_ms();
  int64_t deadline = start + c->load_wait_ms;
  bool waited = false;
  for (unsigned k = 0;; k++) {
    rc = c->be->lock_acquire(c->impl, lk, lklen, token, c->load_lock_ttl_ms);
    if (rc == ROSTER_OK) {
      /* Another process may have stored the value since our miss. */
      rc = c->be->get(c->impl, key, klen, val);
      if (rc == ROSTER_ENOENT)
        rc = load_store(c, key, klen, ttl_ms, want, fn, arg, val);
      else if (rc == ROSTER_OK)
        rc = got(c, key, klen, val, want);
      else
        rc = roster__cache_fail(c, rc, op, key, klen);
      /* Release keeps our result's detail: ROSTER_ESTATE (the lock
       * expired while the loader ran) or a failure leaves the lock to its
       * TTL, which is all a release could do anyway. */
      roster__err_saved e;
      if (rc)
        roster__err_save(&e, rc);
      c->be->lock_release(c->impl, lk, lklen, token);
      if (rc)
        roster__err_restore(&e);
      break;
    }
    if (rc != ROSTER_EBUSY) {
      rc = roster__cache_fail(c, rc, op, key, klen);
      break;
    }
    if (!waited) {
      waited = true;
      atomic_fetch_add(&c->load_waits, 1);
    }
    if (roster__cache_now_ms() >= deadline) {
      char q[96];
      rc = roster__err(ROSTER_ETIMEDOUT,
                       "cache '%s': %s: waited %" PRId64
                       " ms for another process to load key '%s'",
                       c->name, op, roster__cache_now_ms() - start,
                       roster__cache_qkey(q, sizeof q, key, klen));
      break;
    }
    sleep_backoff(k, deadline);
    rc = c->be->get(c->impl, key, klen, val);
    if (rc == ROSTER_OK) {
      rc = got(c, key, klen, val, want);
      break;
    }
    if (rc != ROSTER_ENOENT) {
      rc = roster__cache_fail(c, rc, op, key, klen);
      break;
    }
  }
  roster__free(lk);
  return rc;
}

static int get_or_set(roster_cache *c, const char *op, const void *key,
                      size_t klen, int64_t ttl_ms, roster_cache_kind want,
                      roster_cache_load_fn fn, void *arg,
                      roster_cache_buf *out) {
  int rc = roster__cache_enter(c, op);
  if (!rc)
    rc = roster__cache_check_key(c, op, key, klen);
  if (!rc && klen > ROSTER_CACHE_KEY_MAX - LOAD_SUFFIX_LEN &&
      (c->be->flags & ROSTER_CACHE_SHARED))
    rc = roster__err(ROSTER_EINVAL,
                     "cache '%s': %s: key is %zu bytes; with "
                     "the load lock's suffix the longest is %zu",
                     c->name, op, klen, ROSTER_CACHE_KEY_MAX - LOAD_SUFFIX_LEN);
  if (!rc)
    rc = roster__cache_check_ttl(c, op, "ttl", ttl_ms, false);
  if (!rc && (!fn || !out))
    rc = roster__err(ROSTER_EINVAL, "cache '%s': %s: the %s is NULL", c->name,
                     op, fn ? "output" : "loader");
  if (rc)
    return rc;

  rc = c->be->get(c->impl, key, klen, out);
  if (rc == ROSTER_OK)
    return got(c, key, klen, out, want);
  roster__cache_buf_clear(out);
  if (rc != ROSTER_ENOENT)
    return roster__cache_fail(c, rc, op, key, klen);

  uint64_t h = XXH3_64bits(key, klen);
  roster__flight **bucket = &c->flights[h % ROSTER__FLIGHT_BUCKETS];
  pthread_mutex_lock(&c->flight_lock);
  roster__flight *f = *bucket;
  while (f &&
         !(f->hash == h && f->klen == klen && memcmp(f->key, key, klen) == 0))
    f = f->next;
  if (f) {
    char q[96];
    if (pthread_equal(f->leader, pthread_self())) {
      pthread_mutex_unlock(&c->flight_lock);
      return roster__err(ROSTER_EBUSY,
                         "cache '%s': %s: the loader for key "
                         "'%s' asked for its own key",
                         c->name, op,
                         roster__cache_qkey(q, sizeof q, key, klen));
    }
    f->refs++;
    atomic_fetch_add(&c->load_waits, 1);
    while (!f->done)
      pthread_cond_wait(&f->cv, &c->flight_lock);
    rc = f->rc;
    int crc = roster__cache_buf_copy(out, &f->val);
    if (rc)
      roster__err(rc, "%s", f->detail ? f->detail : roster_strerror(rc));
    else if (crc)
      rc = crc;
    flight_put(f);
    pthread_mutex_unlock(&c->flight_lock);
    return rc;
  }
  f = roster__calloc(1, sizeof *f);
  unsigned char *kc = f ? roster__malloc(klen) : NULL;
  if (!kc) {
    pthread_mutex_unlock(&c->flight_lock);
    roster__free(f);
    return roster__err(ROSTER_ENOMEM, "cache '%s': %s: out of memory", c->name,
                       op);
  }
  memcpy(kc, key, klen);
  f->key = kc;
  f->klen = klen;
  f->hash = h;
  f->leader = pthread_self();
  f->refs = 1;
  pthread_cond_init(&f->cv, NULL);
  f->next = *bucket;
  *bucket = f;
  pthread_mutex_unlock(&c->flight_lock);

  rc = lead(c, op, key, klen, ttl_ms, want, fn, arg, &f->val);
  if (rc)
    f->detail = roster_mem_strdup(roster_last_error());

  pthread_mutex_lock(&c->flight_lock);
  for (roster__flight **p = bucket; *p; p = &(*p)->next)
    if (*p == f) {
      *p = f->next;
      break;
    }
  f->done = true;
  f->rc = rc;
  pthread_cond_broadcast(&f->cv);
  int crc = roster__cache_buf_copy(out, &f->val);
  if (rc)
    roster__err(rc, "%s", f->detail ? f->detail : roster_strerror(rc));
  else if (crc)
    rc = crc;
  flight_put(f);
  pthread_mutex_unlock(&c->flight_lock);
  return rc;
}

int roster_cache_get_or_set(roster_cache *c, const void *key, size_t key_len,
                            int64_t ttl_ms, roster_cache_load_fn fn, void *arg,
                            roster_cache_buf *out) {
  return get_or_set(c, "get_or_set", key, key_len, ttl_ms, ROSTER_CACHE_BYTES,
                    fn, arg, out);
}

typedef struct json_loader {
  roster_cache_load_json_fn fn;
  void *arg;
} json_loader;

static int json_load(void *arg, const void *key, size_t key_len,
                     roster_cache_buf *out) {
  json_loader *jl = arg;
  json_t *v = NULL;
  int rc = jl->fn(jl->arg, key, key_len, &v);
  if (rc) {
    json_decref(v);
    return rc;
  }
  if (!v)
    return roster__err(ROSTER_EINVAL, "the loader returned ROSTER_OK but no "
                                      "JSON value");
  char *text = NULL;
  size_t len = 0;
  rc = roster__cache_json_text(v, &text, &len);
  json_decref(v);
  if (rc)
    return rc;
  rc = roster_cache_buf_set(out, ROSTER_CACHE_JSON, text, len);
  roster__free(text);
  return rc;
}

int roster_cache_get_or_set_json(roster_cache *c, const void *key,
                                 size_t key_len, int64_t ttl_ms,
                                 roster_cache_load_json_fn fn, void *arg,
                                 struct json_t **out) {
  if (out)
    *out = NULL;
  if (c && !out)
    return roster__err(ROSTER_EINVAL,
                       "cache '%s': get_or_set_json: the "
                       "output is NULL",
                       c->name);
  if (c && !fn)
    return roster__err(ROSTER_EINVAL,
                       "cache '%s': get_or_set_json: the "
                       "loader is NULL",
                       c->name);
  json_loader jl = {fn, arg};
  roster_cache_buf b = {0};
  int rc = get_or_set(c, "get_or_set_json", key, key_len, ttl_ms,
                      ROSTER_CACHE_JSON, json_load, &jl, &b);
  if (b.kind == ROSTER_CACHE_JSON) {
    /* Also when storing failed: out holds the value, as documented. */
    roster__err_saved e;
    if (rc)
      roster__err_save(&e, rc);
    int prc = roster__cache_json_parse(c, key, key_len, &b, out);
    if (rc)
      roster__err_restore(&e);
    else
      rc = prc;
  }
  roster_cache_buf_close(&b);
  return rc;
}
