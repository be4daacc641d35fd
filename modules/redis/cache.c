/*
 * cache.c: the redis:// cache backend (roster/cache.h), its value
 * operations: opening a store, get and set with the kind tag, del, ttl,
 * expire, incr, mget and mset in one round trip each, health. The
 * patterns, clear, stats and info are in cache_patterns.c.
 *
 * A store is a client and a key prefix. Values are strings tagged as the
 * cache contract says: 'b' and the bytes, 'j' and the JSON text, an int as
 * its decimal text with no tag (so INCRBY works on it and refuses the
 * others). A string with neither tag nor an integer's canonical form,
 * written by another program, reads as bytes, whole.
 */
#include "redis_impl.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* ---- argument buffers ----------------------------------------------- */

int roster__rcache_cat(rc_buf *b, const void *a, size_t alen, const void *b2,
                       size_t b2len) {
  b->n = alen + b2len;
  b->p = b->n <= sizeof b->stack ? b->stack : roster_mem_alloc(b->n ? b->n : 1);
  if (!b->p)
    return roster_error_set(ROSTER_ENOMEM,
                            "redis cache: out of memory for a "
                            "%zu-byte argument",
                            b->n);
  if (alen)
    memcpy(b->p, a, alen);
  if (b2len)
    memcpy(b->p + alen, b2, b2len);
  return ROSTER_OK;
}

void roster__rcache_buf_done(rc_buf *b) {
  if (b->p && b->p != b->stack)
    roster_mem_free(b->p);
  b->p = NULL;
}

int roster__rcache_key(const rc_store *s, const void *key, size_t klen,
                       rc_buf *b) {
  return roster__rcache_cat(b, s->prefix, s->plen, key, klen);
}

/* tag: the stored form of a value. */
static int tag(const roster_cache_val *v, rc_buf *b) {
  switch (v->kind) {
  case ROSTER_CACHE_BYTES:
    return roster__rcache_cat(b, "b", 1, v->data, v->len);
  case ROSTER_CACHE_JSON:
    return roster__rcache_cat(b, "j", 1, v->data, v->len);
  default: {
    char num[24];
    int n = snprintf(num, sizeof num, "%" PRId64, v->num);
    return roster__rcache_cat(b, num, (size_t)n, NULL, 0);
  }
  }
}

/* canonical_int: s is an integer as Redis writes one (no sign but '-',
 * no leading zeros, not "-0"), in 64 bits. */
static bool canonical_int(const char *s, size_t n, int64_t *out) {
  if (n == 0 || n > 20)
    return false;
  bool neg = s[0] == '-';
  size_t i = neg;
  if (i == n || (s[i] == '0' && (n > i + 1 || neg)))
    return false;
  uint64_t v = 0;
  for (; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    unsigned d = (unsigned)(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10)
      return false;
    v = v * 10 + d;
  }
  if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
    return false;
  *out = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v)
             : (int64_t)v;
  return true;
}

/* decode reads a stored string into out. */
static int decode(const redisReply *r, roster_cache_buf *out) {
  const char *s = r->str;
  size_t n = r->len;
  int64_t num;
  if (n && s[0] == 'b')
    return roster_cache_buf_set(out, ROSTER_CACHE_BYTES, s + 1, n - 1);
  if (n && s[0] == 'j')
    return roster_cache_buf_set(out, ROSTER_CACHE_JSON, s + 1, n - 1);
  if (canonical_int(s, n, &num))
    return roster_cache_buf_set_int(out, num);
  return roster_cache_buf_set(out, ROSTER_CACHE_BYTES, s, n);
}

static void buf_none(roster_cache_buf *b) {
  b->kind = ROSTER_CACHE_NONE;
  b->len = 0;
  b->num = 0;
  if (b->data)
    b->data[0] = 0;
}

/* ---- errors --------------------------------------------------------- */

int roster__rcache_type_error(const rc_store *s, const redisReply *r,
                              const char *want) {
  (void)s;
  bool wrongtype = r->len >= 9 && memcmp(r->str, "WRONGTYPE", 9) == 0;
  return roster_error_set(ROSTER_ETYPE, "it holds %s, not %s (Redis: %.*s)",
                          wrongtype ? "a sliding-window rate limiter's log "
                                      "(or another Redis type)"
                                    : "bytes or JSON",
                          want, (int)(r->len > 300 ? 300 : r->len), r->str);
}

int roster__rcache_reply_error(const rc_store *s, const redisReply *r,
                               const char *what, const char *want) {
  if (strstr(r->str, "WRONGTYPE") || strstr(r->str, "not an integer"))
    return roster__rcache_type_error(s, r, want ? want : "a value");
  if (strstr(r->str, "overflow"))
    return roster_error_set(ROSTER_ERANGE,
                            "the result would overflow a "
                            "64-bit counter (it is unchanged; Redis: %.*s)",
                            (int)(r->len > 300 ? 300 : r->len), r->str);
  return roster__redis_remote(&s->cli->conf, r, what);
}

int roster__rcache_unexpected(const rc_store *s, const redisReply *r,
                              const char *what) {
  return roster_error_set(ROSTER_EPROTO,
                          "redis '%s' (%s): %s: unexpected "
                          "reply of type %d",
                          s->cli->conf.name, s->cli->conf.where, what,
                          r ? r->type : 0);
}

/* run1 runs one command on s's client. */
static int run1(const rc_store *s, int argc, const char **argv,
                const size_t *lens, redisReply **r, const char *what) {
  return roster__redis_run1(s->cli, argc, argv, lens, r, what);
}

/* ---- opening -------------------------------------------------------- */

static int store_new(roster_redis *cli, const void *prefix, size_t plen,
                     rc_store **out) {
  rc_store *s = roster_mem_calloc(1, sizeof *s);
  if (!s)
    return roster_error_set(ROSTER_ENOMEM, "redis cache: out of memory");
  s->plen = plen;
  if (plen) {
    s->prefix = roster_mem_alloc(plen);
    if (!s->prefix) {
      roster_mem_free(s);
      return roster_error_set(ROSTER_ENOMEM, "redis cache: out of memory");
    }
    memcpy(s->prefix, prefix, plen);
  }
  /* SCAN MATCH takes a glob: the prefix's own glob characters are made
   * literal with a backslash. */
  s->match = roster_mem_alloc(2 * plen + 1);
  if (!s->match) {
    roster_mem_free(s->prefix);
    roster_mem_free(s);
    return roster_error_set(ROSTER_ENOMEM, "redis cache: out of memory");
  }
  for (size_t i = 0; i < plen; i++) {
    char ch = ((const char *)prefix)[i];
    if (ch == '*' || ch == '?' || ch == '[' || ch == ']' || ch == '\\')
      s->match[s->mlen++] = '\\';
    s->match[s->mlen++] = ch;
  }
  s->match[s->mlen] = 0;
  s->cli = cli;
  *out = s;
  return ROSTER_OK;
}

static void rc_close(void *impl) {
  rc_store *s = impl;
  roster__redis_unref(s->cli);
  roster_mem_free(s->prefix);
  roster_mem_free(s->match);
  roster_mem_free(s);
}

static int rc_check(const roster_url *url, const char *text,
                    const char *const *opts) {
  (void)text;
  rr_conf conf;
  int rc = roster__redis_conf_from(url, opts, NULL, true, &conf);
  if (!rc)
    roster__redis_conf_free(&conf);
  return rc;
}

static int rc_open(const roster_url *url, const char *text,
                   const char *const *opts, void **impl) {
  (void)text;
  rr_conf conf;
  int rc = roster__redis_conf_from(url, opts, NULL, true, &conf);
  if (rc)
    return rc;
  rc_store *s = NULL;
  rc = store_new(NULL, conf.prefix, conf.prefix_len, &s);
  if (rc) {
    roster__redis_conf_free(&conf);
    return rc;
  }
  rc = roster__redis_client_new(&conf, &s->cli); /* takes conf */
  if (rc) {
    s->cli = NULL;
    roster_mem_free(s->prefix);
    roster_mem_free(s->match);
    roster_mem_free(s);
    return rc;
  }
  *impl = s;
  return ROSTER_OK;
}

int roster_redis_cache_new(roster_redis *cli, const void *prefix,
                           size_t prefix_len, const roster_cache_options *o,
                           roster_cache **out) {
  if (out)
    *out = NULL;
  if (!cli || !out)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_redis_cache_new: %s is "
                            "NULL",
                            cli ? "out" : "the client");
  if ((!prefix && prefix_len) || prefix_len > RR_PREFIX_MAX)
    return roster_error_set(
        ROSTER_EINVAL, "redis '%s': cache prefix: %s", cli->conf.name,
        prefix_len > RR_PREFIX_MAX ? "longer than 1024 bytes"
                                   : "NULL, but its length is not 0");
  rc_store *s = NULL;
  int rc = store_new(cli, prefix, prefix_len, &s);
  if (rc)
    return rc;
  roster__redis_ref(cli);
  roster_cache_options opt = o ? *o : (roster_cache_options){0};
  if (!opt.name || !*opt.name)
    opt.name = cli->conf.name;
  rc = roster_cache_new(&roster__redis_driver, s, &opt, out);
  if (rc)
    rc_close(s);
  return rc;
}

/* ---- values --------------------------------------------------------- */

static int rc_get(void *impl, const void *key, size_t klen,
                  roster_cache_buf *out) {
  rc_store *s = impl;
  rc_buf k;
  int rc = roster__rcache_key(s, key, klen, &k);
  if (rc)
    return rc;
  const char *argv[2] = {"GET", k.p};
  size_t lens[2] = {3, k.n};
  redisReply *r;
  rc = run1(s, 2, argv, lens, &r, "GET");
  roster__rcache_buf_done(&k);
  if (rc)
    return rc;
  switch (r->type) {
  case REDIS_REPLY_STRING:
    rc = decode(r, out);
    break;
  case REDIS_REPLY_NIL:
    rc = ROSTER_ENOENT;
    break;
  case REDIS_REPLY_ERROR:
    rc = roster__rcache_reply_error(s, r, "GET", "a value");
    break;
  default:
    rc = roster__rcache_unexpected(s, r, "GET");
  }
  freeReplyObject(r);
  return rc;
}

static int status_ok(const rc_store *s, const redisReply *r, const char *what) {
  if (r->type == REDIS_REPLY_STATUS)
    return ROSTER_OK;
  if (r->type == REDIS_REPLY_ERROR)
    return roster__rcache_reply_error(s, r, what, NULL);
  return roster__rcache_unexpected(s, r, what);
}

static int rc_set(void *impl, const void *key, size_t klen,
                  const roster_cache_val *val, int64_t ttl_ms) {
  rc_store *s = impl;
  rc_buf k, v;
  int rc = roster__rcache_key(s, key, klen, &k);
  if (rc)
    return rc;
  rc = tag(val, &v);
  if (rc) {
    roster__rcache_buf_done(&k);
    return rc;
  }
  char ttl[24];
  const char *argv[5] = {"SET", k.p, v.p, "PX", ttl};
  size_t lens[5] = {3, k.n, v.n, 2, 0};
  if (ttl_ms)
    lens[4] = (size_t)snprintf(ttl, sizeof ttl, "%" PRId64, ttl_ms);
  redisReply *r;
  rc = run1(s, ttl_ms ? 5 : 3, argv, lens, &r, "SET");
  roster__rcache_buf_done(&k);
  roster__rcache_buf_done(&v);
  if (rc)
    return rc;
  rc = status_ok(s, r, "SET");
  freeReplyObject(r);
  return rc;
}

/* keyvec: prefixed copies of n keys for one command, after first fixed
 * arguments. argv/lens have room for first + n (+ extra) entries. */
typedef struct keyvec {
  const char **argv;
  size_t *lens;
  char *arena;
} keyvec;

static int keyvec_make(const rc_store *s, const roster_cache_key *keys,
                       size_t n, size_t first, size_t extra, keyvec *kv) {
  *kv = (keyvec){0};
  size_t total = 0;
  for (size_t i = 0; i < n; i++)
    total += s->plen + keys[i].len;
  size_t slots = first + n + extra;
  kv->argv = roster_mem_alloc(slots * sizeof *kv->argv);
  kv->lens = roster_mem_alloc(slots * sizeof *kv->lens);
  kv->arena = s->plen ? roster_mem_alloc(total ? total : 1) : NULL;
  if (!kv->argv || !kv->lens || (s->plen && !kv->arena)) {
    roster_mem_free(kv->argv);
    roster_mem_free(kv->lens);
    roster_mem_free(kv->arena);
    *kv = (keyvec){0};
    return roster_error_set(ROSTER_ENOMEM,
                            "redis cache: out of memory for "
                            "%zu keys",
                            n);
  }
  char *p = kv->arena;
  for (size_t i = 0; i < n; i++) {
    if (s->plen) {
      memcpy(p, s->prefix, s->plen);
      memcpy(p + s->plen, keys[i].data, keys[i].len);
      kv->argv[first + i] = p;
      p += s->plen + keys[i].len;
    } else {
      kv->argv[first + i] = keys[i].data;
    }
    kv->lens[first + i] = s->plen + keys[i].len;
  }
  return ROSTER_OK;
}

static void keyvec_done(keyvec *kv) {
  roster_mem_free(kv->argv);
  roster_mem_free(kv->lens);
  roster_mem_free(kv->arena);
}

static int rc_del(void *impl, const roster_cache_key *keys, size_t n,
                  size_t *removed) {
  rc_store *s = impl;
  if (n > INT32_MAX - 1)
    return roster_error_set(ROSTER_EINVAL,
                            "redis cache: %zu keys in one "
                            "call are too many",
                            n);
  keyvec kv;
  int rc = keyvec_make(s, keys, n, 1, 0, &kv);
  if (rc)
    return rc;
  kv.argv[0] = "UNLINK";
  kv.lens[0] = 6;
  redisReply *r;
  rc = run1(s, (int)(n + 1), kv.argv, kv.lens, &r, "UNLINK");
  keyvec_done(&kv);
  if (rc)
    return rc;
  if (r->type == REDIS_REPLY_INTEGER)
    *removed = (size_t)r->integer;
  else
    rc = r->type == REDIS_REPLY_ERROR
             ? roster__rcache_reply_error(s, r, "UNLINK", NULL)
             : roster__rcache_unexpected(s, r, "UNLINK");
  freeReplyObject(r);
  return rc;
}

/* int_cmd runs a command on one key whose answer is an integer. */
static int int_cmd(const rc_store *s, const char *cmd, const void *key,
                   size_t klen, const char *arg, size_t alen, const char *want,
                   int64_t *out) {
  rc_buf k;
  int rc = roster__rcache_key(s, key, klen, &k);
  if (rc)
    return rc;
  const char *argv[3] = {cmd, k.p, arg};
  size_t lens[3] = {strlen(cmd), k.n, alen};
  redisReply *r;
  rc = run1(s, arg ? 3 : 2, argv, lens, &r, cmd);
  roster__rcache_buf_done(&k);
  if (rc)
    return rc;
  if (r->type == REDIS_REPLY_INTEGER)
    *out = r->integer;
  else
    rc = r->type == REDIS_REPLY_ERROR
             ? roster__rcache_reply_error(s, r, cmd, want)
             : roster__rcache_unexpected(s, r, cmd);
  freeReplyObject(r);
  return rc;
}

static int rc_pttl(void *impl, const void *key, size_t klen, int64_t *out) {
  int rc = int_cmd(impl, "PTTL", key, klen, NULL, 0, NULL, out);
  if (!rc && *out == 0)
    *out = 1; /* about to expire, not yet gone: at least 1 ms */
  return rc;
}

static int rc_expire(void *impl, const void *key, size_t klen, int64_t ttl_ms) {
  rc_store *s = impl;
  int64_t n = 0;
  int rc;
  if (ttl_ms) {
    char ttl[24];
    int l = snprintf(ttl, sizeof ttl, "%" PRId64, ttl_ms);
    rc = int_cmd(s, "PEXPIRE", key, klen, ttl, (size_t)l, NULL, &n);
  } else {
    /* PERSIST answers 0 both for a missing key and for one with no TTL:
     * a script tells them apart in the same step. */
    redisReply *r;
    rc = roster__rcache_script(s, RR_SCRIPT_PERSIST, key, klen, 0, NULL, NULL,
                               &r);
    if (rc)
      return rc;
    if (r->type == REDIS_REPLY_INTEGER)
      n = r->integer;
    else
      rc = r->type == REDIS_REPLY_ERROR
               ? roster__rcache_reply_error(s, r, "PERSIST", NULL)
               : roster__rcache_unexpected(s, r, "PERSIST");
    freeReplyObject(r);
  }
  if (rc)
    return rc;
  return n ? ROSTER_OK : ROSTER_ENOENT;
}

static int rc_incr(void *impl, const void *key, size_t klen, int64_t delta,
                   int64_t *out) {
  char d[24];
  int l = snprintf(d, sizeof d, "%" PRId64, delta);
  return int_cmd(impl, "INCRBY", key, klen, d, (size_t)l, "an int counter",
                 out);
}

static int rc_mget(void *impl, const roster_cache_key *keys, size_t n,
                   roster_cache_buf *out) {
  rc_store *s = impl;
  if (n > INT32_MAX - 1)
    return roster_error_set(ROSTER_EINVAL,
                            "redis cache: %zu keys in one "
                            "call are too many",
                            n);
  keyvec kv;
  int rc = keyvec_make(s, keys, n, 1, 0, &kv);
  if (rc)
    return rc;
  kv.argv[0] = "MGET";
  kv.lens[0] = 4;
  redisReply *r;
  rc = run1(s, (int)(n + 1), kv.argv, kv.lens, &r, "MGET");
  keyvec_done(&kv);
  if (rc)
    return rc;
  if (r->type != REDIS_REPLY_ARRAY || r->elements != n) {
    rc = r->type == REDIS_REPLY_ERROR
             ? roster__rcache_reply_error(s, r, "MGET", NULL)
             : roster__rcache_unexpected(s, r, "MGET");
    freeReplyObject(r);
    return rc;
  }
  for (size_t i = 0; i < n && !rc; i++) {
    const redisReply *e = r->element[i];
    if (e->type == REDIS_REPLY_STRING)
      rc = decode(e, &out[i]);
    else
      buf_none(&out[i]); /* nil: missing, or not a string (MGET's way) */
  }
  freeReplyObject(r);
  return rc;
}

static int rc_mset(void *impl, const roster_cache_key *keys,
                   const roster_cache_val *vals, size_t n, int64_t ttl_ms) {
  rc_store *s = impl;
  if (n > INT32_MAX / 2 - 2)
    return roster_error_set(ROSTER_EINVAL,
                            "redis cache: %zu items in one "
                            "call are too many",
                            n);
  /* Keys and tagged values side by side in one arena. */
  size_t total = 0;
  for (size_t i = 0; i < n; i++) {
    total += s->plen + keys[i].len + 1 + vals[i].len;
    if (vals[i].kind == ROSTER_CACHE_INT)
      total += 24;
  }
  char *arena = roster_mem_alloc(total ? total : 1);
  const char **kp = roster_mem_alloc(2 * n * sizeof *kp);
  size_t *kl = roster_mem_alloc(2 * n * sizeof *kl);
  int rc = ROSTER_OK;
  if (!arena || !kp || !kl) {
    rc = roster_error_set(ROSTER_ENOMEM,
                          "redis cache: out of memory for %zu "
                          "items",
                          n);
    goto done;
  }
  char *p = arena;
  for (size_t i = 0; i < n; i++) {
    kp[2 * i] = p;
    if (s->plen)
      memcpy(p, s->prefix, s->plen);
    memcpy(p + s->plen, keys[i].data, keys[i].len);
    kl[2 * i] = s->plen + keys[i].len;
    p += kl[2 * i];
    kp[2 * i + 1] = p;
    const roster_cache_val *v = &vals[i];
    if (v->kind == ROSTER_CACHE_INT) {
      kl[2 * i + 1] = (size_t)snprintf(p, 24, "%" PRId64, v->num);
    } else {
      *p = v->kind == ROSTER_CACHE_JSON ? 'j' : 'b';
      if (v->len)
        memcpy(p + 1, v->data, v->len);
      kl[2 * i + 1] = 1 + v->len;
    }
    p += kl[2 * i + 1];
  }
  if (!ttl_ms) {
    /* MSET: one command, atomic as a group. */
    const char **argv = roster_mem_alloc((2 * n + 1) * sizeof *argv);
    size_t *lens = roster_mem_alloc((2 * n + 1) * sizeof *lens);
    if (!argv || !lens) {
      roster_mem_free(argv);
      roster_mem_free(lens);
      rc = roster_error_set(ROSTER_ENOMEM, "redis cache: out of memory");
      goto done;
    }
    argv[0] = "MSET";
    lens[0] = 4;
    memcpy(argv + 1, kp, 2 * n * sizeof *kp);
    memcpy(lens + 1, kl, 2 * n * sizeof *kl);
    redisReply *r;
    rc = run1(s, (int)(2 * n + 1), argv, lens, &r, "MSET");
    roster_mem_free(argv);
    roster_mem_free(lens);
    if (!rc) {
      rc = status_ok(s, r, "MSET");
      freeReplyObject(r);
    }
    goto done;
  }
  /* With a TTL: MULTI, a SET ... PX per item, EXEC, in one pipeline (one
   * round trip, atomic as a group). */
  {
    char ttl[24];
    size_t tl = (size_t)snprintf(ttl, sizeof ttl, "%" PRId64, ttl_ms);
    rr_cmd *cmds = roster_mem_alloc((n + 2) * sizeof *cmds);
    const char **argv = roster_mem_alloc(5 * n * sizeof *argv);
    size_t *lens = roster_mem_alloc(5 * n * sizeof *lens);
    redisReply **rs = roster_mem_calloc(n + 2, sizeof *rs);
    static const char *multi[1] = {"MULTI"}, *exec[1] = {"EXEC"};
    static const size_t multi_len[1] = {5}, exec_len[1] = {4};
    if (!cmds || !argv || !lens || !rs) {
      rc = roster_error_set(ROSTER_ENOMEM, "redis cache: out of memory");
    } else {
      cmds[0] = (rr_cmd){1, multi, multi_len};
      for (size_t i = 0; i < n; i++) {
        const char **a = argv + 5 * i;
        size_t *l = lens + 5 * i;
        a[0] = "SET", l[0] = 3;
        a[1] = kp[2 * i], l[1] = kl[2 * i];
        a[2] = kp[2 * i + 1], l[2] = kl[2 * i + 1];
        a[3] = "PX", l[3] = 2;
        a[4] = ttl, l[4] = tl;
        cmds[1 + i] = (rr_cmd){5, a, l};
      }
      cmds[n + 1] = (rr_cmd){1, exec, exec_len};
      rc = roster__redis_run(s->cli, cmds, n + 2, rs, "MSET (MULTI ... EXEC)",
                             false);
      if (!rc) {
        const redisReply *ex = rs[n + 1];
        if (ex->type == REDIS_REPLY_ARRAY && ex->elements == n) {
          for (size_t i = 0; i < n && !rc; i++)
            rc = status_ok(s, ex->element[i], "SET");
        } else {
          /* EXECABORT, or a SET refused while queueing: its own error. */
          const redisReply *why = ex;
          for (size_t i = 0; i < n + 1; i++)
            if (rs[i]->type == REDIS_REPLY_ERROR) {
              why = rs[i];
              break;
            }
          rc = why->type == REDIS_REPLY_ERROR
                   ? roster__rcache_reply_error(s, why, "MSET", NULL)
                   : roster__rcache_unexpected(s, why, "EXEC");
        }
      }
      for (size_t i = 0; i < n + 2; i++)
        if (rs[i])
          freeReplyObject(rs[i]);
    }
    roster_mem_free(cmds);
    roster_mem_free(argv);
    roster_mem_free(lens);
    roster_mem_free(rs);
  }
done:
  roster_mem_free(arena);
  roster_mem_free(kp);
  roster_mem_free(kl);
  return rc;
}

static int rc_health(void *impl) {
  rc_store *s = impl;
  return roster_redis_health(s->cli);
}

const roster_cache_backend roster__redis_cache_backend = {
    .version = ROSTER_CACHE_BACKEND_VERSION,
    .flags = ROSTER_CACHE_SHARED,
    .check = rc_check,
    .open = rc_open,
    .close = rc_close,
    .get = rc_get,
    .set = rc_set,
    .del = rc_del,
    .pttl = rc_pttl,
    .expire = rc_expire,
    .incr = rc_incr,
    .mget = rc_mget,
    .mset = rc_mset,
    .clear = roster__rcache_clear,
    .stats = roster__rcache_stats,
    .lock_acquire = roster__rcache_lock_acquire,
    .lock_release = roster__rcache_lock_release,
    .lock_extend = roster__rcache_lock_extend,
    .rate_fixed = roster__rcache_rate_fixed,
    .rate_sliding = roster__rcache_rate_sliding,
    .health = rc_health,
    .info = roster__rcache_info,
};
