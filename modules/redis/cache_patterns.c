/*
 * cache_patterns.c: the redis:// cache backend's atomic patterns and
 * whole-store operations: the lock (SET NX PX; compare-and-delete and
 * compare-and-pexpire by script, never a blind DEL), both rate limiters
 * (one script each, one round trip), clear (SCAN + UNLINK in batches,
 * never KEYS), stats and info (INFO parsed, DBSIZE).
 *
 * Scripts run by EVALSHA with the SHA-1 written below; a server that does
 * not have a script yet (a fresh or restarted one) answers NOSCRIPT, and
 * the script is sent whole with EVAL, which also loads it. The SHA-1s are
 * what SCRIPT LOAD answers for the texts (test_redis_cache checks them),
 * computed once and written down, so that no SHA-1 code is needed here.
 */
#include "redis_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <jansson.h>

/* ---- scripts -------------------------------------------------------- */

static const struct {
  const char *text;
  const char *sha;
} scripts[RR_SCRIPT_COUNT] = {
    /* RR_SCRIPT_UNLOCK */
    {"local v = redis.pcall('GET', KEYS[1])\n"
     "if v == ARGV[1] then return redis.call('DEL', KEYS[1]) end\n"
     "return 0\n",
     "f1372833a4551954bb25f5993b3afbe44b58fed3"},
    /* RR_SCRIPT_EXTEND */
    {"local v = redis.pcall('GET', KEYS[1])\n"
     "if v == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end\n"
     "return 0\n",
     "02c5718e03d8efef6047f8827b347cf959d67595"},
    /* RR_SCRIPT_PERSIST */
    {"if redis.call('PERSIST', KEYS[1]) == 1 then return 1 end\n"
     "return redis.call('EXISTS', KEYS[1])\n",
     "1bf2030707a1818185f01e32f1e84a665329f02c"},
    /* RR_SCRIPT_FIXED */
    {"local n = redis.call('INCR', KEYS[1])\n"
     "local t = redis.call('PTTL', KEYS[1])\n"
     "if t < 0 then\n"
     "  redis.call('PEXPIRE', KEYS[1], ARGV[1])\n"
     "  t = tonumber(ARGV[1])\n"
     "end\n"
     "return {n, t}\n",
     "d402c3b182b804d45e9693df5e74407af0672486"},
    /* RR_SCRIPT_SLIDING */
    {"local limit = tonumber(ARGV[1])\n"
     "local window = tonumber(ARGV[2])\n"
     "local t = redis.call('TIME')\n"
     "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
     "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)\n"
     "local n = redis.call('ZCARD', KEYS[1])\n"
     "local allowed = 0\n"
     "if n < limit then\n"
     "  redis.call('ZADD', KEYS[1], now, ARGV[3])\n"
     "  redis.call('PEXPIRE', KEYS[1], window)\n"
     "  n = n + 1\n"
     "  allowed = 1\n"
     "end\n"
     "local reset = window\n"
     "local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')\n"
     "if oldest[2] then reset = tonumber(oldest[2]) + window - now end\n"
     "return {allowed, n, reset}\n",
     "ffd1590fa8ca4a4898662f9099de719ec857660d"},
};

const char *roster__redis_script_text(int which) { return scripts[which].text; }
const char *roster__redis_script_sha(int which) { return scripts[which].sha; }

int roster__rcache_script(const rc_store *s, int which, const void *key,
                          size_t klen, size_t nargs, const char *const *args,
                          const size_t *lens, redisReply **out) {
  *out = NULL;
  rc_buf k;
  int rc = roster__rcache_key(s, key, klen, &k);
  if (rc)
    return rc;
  const char *argv[8] = {"EVALSHA", scripts[which].sha, "1", k.p};
  size_t alen[8] = {7, 40, 1, k.n};
  for (size_t i = 0; i < nargs && i < 4; i++) {
    argv[4 + i] = args[i];
    alen[4 + i] = lens[i];
  }
  redisReply *r;
  rc = roster__redis_run1(s->cli, (int)(4 + nargs), argv, alen, &r, "EVALSHA");
  if (!rc && r->type == REDIS_REPLY_ERROR && r->len >= 8 &&
      memcmp(r->str, "NOSCRIPT", 8) == 0) {
    freeReplyObject(r);
    argv[0] = "EVAL";
    alen[0] = 4;
    argv[1] = scripts[which].text;
    alen[1] = strlen(scripts[which].text);
    rc = roster__redis_run1(s->cli, (int)(4 + nargs), argv, alen, &r, "EVAL");
  }
  roster__rcache_buf_done(&k);
  if (!rc)
    *out = r;
  return rc;
}

/* ---- locks ---------------------------------------------------------- */

#define TOKEN_LEN 32

int roster__rcache_lock_acquire(void *impl, const void *key, size_t klen,
                                const char *token, int64_t ttl_ms) {
  rc_store *s = impl;
  rc_buf k;
  int rc = roster__rcache_key(s, key, klen, &k);
  if (rc)
    return rc;
  /* The lock reads as a bytes value holding the token. */
  char val[1 + TOKEN_LEN];
  val[0] = 'b';
  memcpy(val + 1, token, TOKEN_LEN);
  char ttl[24];
  int tl = snprintf(ttl, sizeof ttl, "%" PRId64, ttl_ms);
  const char *argv[6] = {"SET", k.p, val, "NX", "PX", ttl};
  size_t lens[6] = {3, k.n, sizeof val, 2, 2, (size_t)tl};
  redisReply *r;
  rc = roster__redis_run1(s->cli, 6, argv, lens, &r, "SET NX");
  roster__rcache_buf_done(&k);
  if (rc)
    return rc;
  if (r->type == REDIS_REPLY_STATUS)
    rc = ROSTER_OK;
  else if (r->type == REDIS_REPLY_NIL)
    rc = ROSTER_EBUSY;
  else if (r->type == REDIS_REPLY_ERROR)
    rc = roster__rcache_reply_error(s, r, "SET NX", NULL);
  else
    rc = roster__rcache_unexpected(s, r, "SET NX");
  freeReplyObject(r);
  return rc;
}

/* holder_script runs the compare-and-delete or compare-and-pexpire. */
static int holder_script(rc_store *s, int which, const void *key, size_t klen,
                         const char *token, int64_t ttl_ms) {
  char val[1 + TOKEN_LEN];
  val[0] = 'b';
  memcpy(val + 1, token, TOKEN_LEN);
  char ttl[24];
  int tl = snprintf(ttl, sizeof ttl, "%" PRId64, ttl_ms);
  const char *args[2] = {val, ttl};
  size_t lens[2] = {sizeof val, (size_t)tl};
  redisReply *r;
  int rc = roster__rcache_script(
      s, which, key, klen, which == RR_SCRIPT_EXTEND ? 2 : 1, args, lens, &r);
  if (rc)
    return rc;
  if (r->type == REDIS_REPLY_INTEGER)
    rc = r->integer ? ROSTER_OK : ROSTER_ESTATE;
  else if (r->type == REDIS_REPLY_ERROR)
    rc = roster__rcache_reply_error(s, r, "EVALSHA", NULL);
  else
    rc = roster__rcache_unexpected(s, r, "EVALSHA");
  freeReplyObject(r);
  return rc;
}

int roster__rcache_lock_release(void *impl, const void *key, size_t klen,
                                const char *token) {
  return holder_script(impl, RR_SCRIPT_UNLOCK, key, klen, token, 0);
}

int roster__rcache_lock_extend(void *impl, const void *key, size_t klen,
                               const char *token, int64_t ttl_ms) {
  return holder_script(impl, RR_SCRIPT_EXTEND, key, klen, token, ttl_ms);
}

/* ---- rate limiters -------------------------------------------------- */

static void fill(roster_cache_rate *out, bool allowed, int64_t count,
                 int64_t limit, int64_t reset_ms) {
  if (reset_ms < 1)
    reset_ms = 1; /* about to end: not yet ended */
  out->allowed = allowed;
  out->count = count;
  out->remaining = limit > count ? limit - count : 0;
  out->reset_ms = reset_ms;
  out->retry_ms = allowed ? 0 : reset_ms;
}

/* ints reads an array reply of n integers. */
static bool ints(const redisReply *r, size_t n, int64_t *v) {
  if (r->type != REDIS_REPLY_ARRAY || r->elements != n)
    return false;
  for (size_t i = 0; i < n; i++) {
    if (r->element[i]->type != REDIS_REPLY_INTEGER)
      return false;
    v[i] = r->element[i]->integer;
  }
  return true;
}

int roster__rcache_rate_fixed(void *impl, const void *key, size_t klen,
                              int64_t limit, int64_t window_ms,
                              roster_cache_rate *out) {
  rc_store *s = impl;
  char w[24];
  int wl = snprintf(w, sizeof w, "%" PRId64, window_ms);
  const char *args[1] = {w};
  size_t lens[1] = {(size_t)wl};
  redisReply *r;
  int rc =
      roster__rcache_script(s, RR_SCRIPT_FIXED, key, klen, 1, args, lens, &r);
  if (rc)
    return rc;
  int64_t v[2];
  if (ints(r, 2, v))
    fill(out, v[0] <= limit, v[0], limit, v[1]);
  else if (r->type == REDIS_REPLY_ERROR)
    rc = roster__rcache_reply_error(s, r, "the fixed window's script",
                                    "a fixed window's counter");
  else
    rc = roster__rcache_unexpected(s, r, "the fixed window's script");
  freeReplyObject(r);
  return rc;
}

/* member: a name for one request in a sliding window's sorted set, unique
 * across processes (random) and within this one (a counter). */
static size_t member(char *buf, size_t cap) {
  static _Atomic uint64_t ctr;
  uint64_t r = 0;
  if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
    r = (uint64_t)(uintptr_t)&r ^ ((uint64_t)time(NULL) << 20);
  return (size_t)snprintf(buf, cap, "%016" PRIx64 "%" PRIx64, r,
                          atomic_fetch_add(&ctr, 1));
}

int roster__rcache_rate_sliding(void *impl, const void *key, size_t klen,
                                int64_t limit, int64_t window_ms,
                                roster_cache_rate *out) {
  rc_store *s = impl;
  char l[24], w[24], m[48];
  int ll = snprintf(l, sizeof l, "%" PRId64, limit);
  int wl = snprintf(w, sizeof w, "%" PRId64, window_ms);
  size_t ml = member(m, sizeof m);
  const char *args[3] = {l, w, m};
  size_t lens[3] = {(size_t)ll, (size_t)wl, ml};
  redisReply *r;
  int rc =
      roster__rcache_script(s, RR_SCRIPT_SLIDING, key, klen, 3, args, lens, &r);
  if (rc)
    return rc;
  int64_t v[3];
  if (ints(r, 3, v))
    fill(out, v[0] != 0, v[1], limit, v[2]);
  else if (r->type == REDIS_REPLY_ERROR)
    rc = roster__rcache_reply_error(s, r, "the sliding window's script",
                                    "a sliding window's log");
  else
    rc = roster__rcache_unexpected(s, r, "the sliding window's script");
  freeReplyObject(r);
  return rc;
}

/* ---- clear ---------------------------------------------------------- */

#define SCAN_COUNT "1000"

int roster__rcache_clear(void *impl, const void *pattern, size_t plen,
                         size_t *removed) {
  rc_store *s = impl;
  rc_buf m;
  int rc = pattern ? roster__rcache_cat(&m, s->match, s->mlen, pattern, plen)
                   : roster__rcache_cat(&m, s->match, s->mlen, "*", 1);
  if (rc)
    return rc;
  size_t total = 0;
  redisReply *prev = NULL; /* the last SCAN's reply: its cursor and keys */
  const char **uargv = NULL;
  size_t *ulens = NULL, ucap = 0;
  bool last = false;
  /* Each round trip unlinks the keys the previous SCAN found and asks for
   * the next batch. */
  while (!rc) {
    const redisReply *keys = prev ? prev->element[1] : NULL;
    size_t nk = keys ? keys->elements : 0;
    rr_cmd cmds[2];
    size_t n = 0;
    if (nk) {
      if (nk + 1 > ucap) {
        roster_mem_free(uargv);
        roster_mem_free(ulens);
        ucap = nk + 1;
        uargv = roster_mem_alloc(ucap * sizeof *uargv);
        ulens = roster_mem_alloc(ucap * sizeof *ulens);
        if (!uargv || !ulens) {
          rc = roster_error_set(ROSTER_ENOMEM, "redis cache: out of memory");
          break;
        }
      }
      uargv[0] = "UNLINK";
      ulens[0] = 6;
      for (size_t i = 0; i < nk; i++) {
        uargv[1 + i] = keys->element[i]->str;
        ulens[1 + i] = keys->element[i]->len;
      }
      cmds[n++] = (rr_cmd){(int)(nk + 1), uargv, ulens};
    }
    const char *cursor = prev ? prev->element[0]->str : "0";
    size_t cursor_len = prev ? prev->element[0]->len : 1;
    const char *sargv[6] = {"SCAN", cursor, "MATCH", m.p, "COUNT", SCAN_COUNT};
    size_t slens[6] = {4, cursor_len, 5, m.n, 5, strlen(SCAN_COUNT)};
    if (!last)
      cmds[n++] = (rr_cmd){6, sargv, slens};
    if (!n)
      break;
    redisReply *rs[2] = {NULL, NULL};
    rc =
        roster__redis_run(s->cli, cmds, n, rs, last ? "UNLINK" : "SCAN", false);
    if (rc)
      break;
    if (nk) {
      if (rs[0]->type == REDIS_REPLY_INTEGER)
        total += (size_t)rs[0]->integer;
      else
        rc = rs[0]->type == REDIS_REPLY_ERROR
                 ? roster__rcache_reply_error(s, rs[0], "UNLINK", NULL)
                 : roster__rcache_unexpected(s, rs[0], "UNLINK");
      freeReplyObject(rs[0]);
    }
    if (prev)
      freeReplyObject(prev);
    prev = NULL;
    if (last)
      break;
    redisReply *sc = rs[n - 1];
    if (rc) {
      freeReplyObject(sc);
      break;
    }
    if (sc->type != REDIS_REPLY_ARRAY || sc->elements != 2 ||
        sc->element[0]->type != REDIS_REPLY_STRING ||
        sc->element[1]->type != REDIS_REPLY_ARRAY) {
      rc = sc->type == REDIS_REPLY_ERROR
               ? roster__rcache_reply_error(s, sc, "SCAN", NULL)
               : roster__rcache_unexpected(s, sc, "SCAN");
      freeReplyObject(sc);
      break;
    }
    for (size_t i = 0; i < sc->element[1]->elements; i++)
      if (sc->element[1]->element[i]->type != REDIS_REPLY_STRING) {
        rc = roster__rcache_unexpected(s, sc, "SCAN");
        break;
      }
    if (rc) {
      freeReplyObject(sc);
      break;
    }
    prev = sc;
    if (sc->element[0]->len == 1 && sc->element[0]->str[0] == '0')
      last = true; /* the scan is over: only its last keys are left */
  }
  if (prev)
    freeReplyObject(prev);
  roster_mem_free(uargv);
  roster_mem_free(ulens);
  roster__rcache_buf_done(&m);
  if (!rc)
    *removed = total;
  return rc;
}

/* ---- stats and info ------------------------------------------------- */

/* info_field finds "key:" at a line's start in INFO's text. */
static bool info_field(const redisReply *r, const char *key, uint64_t *out) {
  size_t kl = strlen(key);
  const char *p = r->str, *end = r->str + r->len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *le = nl ? nl : end;
    if ((size_t)(le - p) > kl && memcmp(p, key, kl) == 0 && p[kl] == ':') {
      char num[32];
      size_t n = (size_t)(le - p) - kl - 1;
      if (n && p[kl + n] == '\r')
        n--;
      if (n >= sizeof num)
        return false;
      memcpy(num, p + kl + 1, n);
      num[n] = 0;
      char *e;
      errno = 0;
      unsigned long long v = strtoull(num, &e, 10);
      if (e == num || *e || errno)
        return false;
      *out = v;
      return true;
    }
    p = le + 1;
  }
  return false;
}

/* info_and_size runs INFO and DBSIZE in one round trip. */
static int info_and_size(rc_store *s, redisReply **info, int64_t *size) {
  static const char *a1[1] = {"INFO"}, *a2[1] = {"DBSIZE"};
  static const size_t l1[1] = {4}, l2[1] = {6};
  rr_cmd cmds[2] = {{1, a1, l1}, {1, a2, l2}};
  redisReply *rs[2];
  int rc = roster__redis_run(s->cli, cmds, 2, rs, "INFO", false);
  if (rc)
    return rc;
  if (rs[0]->type != REDIS_REPLY_STRING)
    rc = rs[0]->type == REDIS_REPLY_ERROR
             ? roster__rcache_reply_error(s, rs[0], "INFO", NULL)
             : roster__rcache_unexpected(s, rs[0], "INFO");
  else if (rs[1]->type != REDIS_REPLY_INTEGER)
    rc = rs[1]->type == REDIS_REPLY_ERROR
             ? roster__rcache_reply_error(s, rs[1], "DBSIZE", NULL)
             : roster__rcache_unexpected(s, rs[1], "DBSIZE");
  if (rc) {
    freeReplyObject(rs[0]);
    freeReplyObject(rs[1]);
    return rc;
  }
  *size = rs[1]->integer;
  freeReplyObject(rs[1]);
  *info = rs[0];
  return ROSTER_OK;
}

int roster__rcache_stats(void *impl, roster_cache_stats *out) {
  rc_store *s = impl;
  redisReply *info;
  int64_t size;
  int rc = info_and_size(s, &info, &size);
  if (rc)
    return rc;
  *out = (roster_cache_stats){0};
  out->entries = (uint64_t)size;
  info_field(info, "used_memory", &out->bytes);
  info_field(info, "keyspace_hits", &out->hits);
  info_field(info, "keyspace_misses", &out->misses);
  info_field(info, "expired_keys", &out->expired);
  info_field(info, "evicted_keys", &out->evicted);
  info_field(info, "maxmemory", &out->max_bytes);
  freeReplyObject(info);
  return ROSTER_OK;
}

/* value_json: an INFO value as JSON: an integer, a real, an object for
 * "keys=1,expires=0" lists (the keyspace section), else a string. */
static json_t *value_json(const char *v, size_t n) {
  char buf[512];
  if (n < sizeof buf) {
    memcpy(buf, v, n);
    buf[n] = 0;
    char *e;
    errno = 0;
    long long i = strtoll(buf, &e, 10);
    if (n && !*e && !errno)
      return json_integer(i);
    double d = strtod(buf, &e);
    if (n && !*e && !errno && strchr(buf, '.'))
      return json_real(d);
    if (memchr(v, '=', n) && !memchr(v, ' ', n)) {
      json_t *o = json_object();
      char *save = NULL;
      for (char *kv = strtok_r(buf, ",", &save); o && kv;
           kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq) {
          json_decref(o);
          o = NULL;
          break;
        }
        *eq = 0;
        json_object_set_new(o, kv, value_json(eq + 1, strlen(eq + 1)));
      }
      if (o)
        return o;
      memcpy(buf, v, n); /* strtok_r cut it */
      buf[n] = 0;
    }
  }
  json_t *str = json_stringn(v, n);
  return str ? str : json_string("?");
}

int roster__rcache_info(void *impl, struct json_t **out) {
  rc_store *s = impl;
  redisReply *info;
  int64_t size;
  int rc = info_and_size(s, &info, &size);
  if (rc)
    return rc;
  json_t *root = json_object();
  json_t *sec = NULL;
  const char *p = info->str, *end = info->str + info->len;
  while (root && p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *le = nl ? nl : end;
    size_t n = (size_t)(le - p);
    if (n && p[n - 1] == '\r')
      n--;
    if (n > 2 && p[0] == '#' && p[1] == ' ') {
      char name[64];
      size_t k = n - 2 < sizeof name - 1 ? n - 2 : sizeof name - 1;
      for (size_t i = 0; i < k; i++)
        name[i] = (char)(p[2 + i] >= 'A' && p[2 + i] <= 'Z' ? p[2 + i] + 32
                                                            : p[2 + i]);
      name[k] = 0;
      sec = json_object();
      json_object_set_new(root, name, sec);
    } else if (n && sec) {
      const char *colon = memchr(p, ':', n);
      if (colon) {
        char key[128];
        size_t kl = (size_t)(colon - p);
        if (kl < sizeof key) {
          memcpy(key, p, kl);
          key[kl] = 0;
          json_object_set_new(sec, key, value_json(colon + 1, n - kl - 1));
        }
      }
    }
    p = le + 1;
  }
  freeReplyObject(info);
  if (!root)
    return roster_error_set(ROSTER_ENOMEM, "redis cache: out of memory");
  json_object_set_new(root, "backend", json_string("redis"));
  json_object_set_new(root, "dbsize", json_integer(size));
  json_object_set_new(root, "prefix_bytes", json_integer((json_int_t)s->plen));
  json_t *pre = s->plen ? json_stringn((const char *)s->prefix, s->plen)
                        : json_string("");
  if (pre)
    json_object_set_new(root, "prefix", pre); /* when it is UTF-8 */
  *out = root;
  return ROSTER_OK;
}
