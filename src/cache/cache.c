/*
 * cache.c: the cache service's front end (roster/cache.h): the checks and
 * error sentences every call shares, value buffers, JSON values, and
 * opening (through the driver table's one lookup) and freeing caches. Every
 * public call checks its arguments in the front end, so backends see only valid
 * input, and turns a backend's code into one sentence naming the cache, the
 * operation and the key. The value operations are in cache_values.c, the
 * patterns (locks, rate limiters, get_or_set) in cache_patterns.c.
 */
#include "cache_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include <jansson.h>

/* ---- small helpers -------------------------------------------------- */

const char *roster_cache_kind_name(roster_cache_kind kind) {
  switch (kind) {
  case ROSTER_CACHE_NONE:
    return "none";
  case ROSTER_CACHE_BYTES:
    return "bytes";
  case ROSTER_CACHE_JSON:
    return "json";
  case ROSTER_CACHE_INT:
    return "int";
  }
  return "?";
}

int64_t roster__cache_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void roster__cache_sleep_ms(int64_t ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

void roster__cache_random(void *buf, size_t n) {
  unsigned char *p = buf;
  while (n) {
    ssize_t got = getrandom(p, n, 0);
    if (got < 0) {
      if (errno == EINTR)
        continue;
      /* No entropy source at all: fall back to a clock-seeded mix, which
       * still makes tokens unique within the process. */
      static _Atomic uint64_t ctr;
      uint64_t x = (uint64_t)roster__cache_now_ms() ^
                   (atomic_fetch_add(&ctr, 1) * 0x9e3779b97f4a7c15ull);
      for (; n; n--) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *p++ = (unsigned char)x;
      }
      return;
    }
    p += got;
    n -= (size_t)got;
  }
}

int64_t roster__cache_backoff_ms(unsigned k) {
  int64_t d = (int64_t)1 << (k < 5 ? k : 5); /* 1, 2, 4, ... 32 */
  unsigned char r;
  roster__cache_random(&r, 1);
  /* jitter into [d/2, d], at least 1 */
  int64_t lo = d / 2 ? d / 2 : 1;
  return lo + (int64_t)r % (d - lo + 1);
}

const char *roster__cache_qkey(char *buf, size_t cap, const void *key,
                               size_t len) {
  if (!key)
    return "(null)";
  return roster__quote(buf, cap, key, len);
}

int roster__cache_key_error(roster_cache *c, const char *op, const void *key,
                            size_t len) {
  if (!key)
    return roster__err(ROSTER_EINVAL, "cache '%s': %s: key is NULL", c->name,
                       op);
  if (!len)
    return roster__err(ROSTER_EINVAL, "cache '%s': %s: key is empty", c->name,
                       op);
  char q[48];
  return roster__err(ROSTER_EINVAL,
                     "cache '%s': %s: key '%s' is %zu bytes; "
                     "the longest is %d",
                     c->name, op, roster__cache_qkey(q, sizeof q, key, 24), len,
                     ROSTER_CACHE_KEY_MAX);
}

int roster__cache_check_ttl(roster_cache *c, const char *op, const char *what,
                            int64_t ttl_ms, bool positive) {
  if (ROSTER__LIKELY(ttl_ms > 0 && ttl_ms <= ROSTER_CACHE_TTL_MAX))
    return ROSTER_OK;
  if (ttl_ms == 0 && !positive)
    return ROSTER_OK;
  if (ttl_ms > ROSTER_CACHE_TTL_MAX)
    return roster__err(ROSTER_ERANGE,
                       "cache '%s': %s: %s %" PRId64 " ms is "
                       "more than %" PRId64 " ms (100 years)",
                       c->name, op, what, ttl_ms, ROSTER_CACHE_TTL_MAX);
  if (ttl_ms == 0)
    return roster__err(ROSTER_EINVAL,
                       "cache '%s': %s: %s must be more than "
                       "0 ms",
                       c->name, op, what);
  return roster__err(ROSTER_EINVAL,
                     "cache '%s': %s: %s %" PRId64 " ms is "
                     "negative%s",
                     c->name, op, what, ttl_ms,
                     positive ? "" : " (0 means no expiry)");
}

/* compose_not_found: a miss's sentence, composed when asked for (obj is
 * the op, a string literal; ns the cache's name; name the key, cut at 255
 * bytes, which the quoting cuts shorter anyway). */
static void compose_not_found(void *obj, uint64_t serial, const char *ns,
                              const char *name, size_t name_len, char *buf,
                              size_t cap) {
  (void)serial;
  char q[96];
  snprintf(buf, cap, "cache '%s': %s: key '%s' not found", ns,
           (const char *)obj, roster__cache_qkey(q, sizeof q, name, name_len));
}

int roster__cache_fail(roster_cache *c, int rc, const char *op, const void *key,
                       size_t len) {
  /* A miss is an answer (cache-aside reads miss all the time): its
   * sentence is composed only if asked for, as a registry miss's is. */
  if (rc == ROSTER_ENOENT && key)
    return roster__err_lazy(rc, compose_not_found, (void *)op, 0, c->name,
                            c->name_len, key, len);
  char q[96];
  const char *qk = key ? roster__cache_qkey(q, sizeof q, key, len) : NULL;
  switch (rc) {
  case ROSTER_ENOENT:
    return roster__err(rc, "cache '%s': %s: key '%s' not found", c->name, op,
                       qk ? qk : "");
  case ROSTER_EBUSY:
    return roster__err(rc,
                       "cache '%s': %s: lock '%s' is held by another "
                       "holder",
                       c->name, op, qk ? qk : "");
  case ROSTER_ESTATE:
    return roster__err(rc,
                       "cache '%s': %s: lock '%s' is no longer held by "
                       "this holder (its TTL passed; another may hold it)",
                       c->name, op, qk ? qk : "");
  default:
    break;
  }
  char detail[768];
  snprintf(detail, sizeof detail, "%s",
           roster_last_code() == rc ? roster_last_error()
                                    : roster_strerror(rc));
  if (qk)
    return roster__err(rc, "cache '%s': %s of key '%s': %s", c->name, op, qk,
                       detail);
  return roster__err(rc, "cache '%s': %s: %s", c->name, op, detail);
}

int roster__cache_kind_error(roster_cache *c, const void *key, size_t klen,
                             roster_cache_kind have, roster_cache_kind want) {
  static const char *const readers[] = {"", "roster_cache_get_bytes",
                                        "roster_cache_get_json",
                                        "roster_cache_get_int"};
  char q[96];
  return roster__err(ROSTER_ETYPE, "cache '%s': key '%s' holds %s, not %s%s%s",
                     c->name, roster__cache_qkey(q, sizeof q, key, klen),
                     have == ROSTER_CACHE_INT    ? "an int counter"
                     : have == ROSTER_CACHE_JSON ? "JSON"
                                                 : "bytes",
                     want == ROSTER_CACHE_INT    ? "an int counter"
                     : want == ROSTER_CACHE_JSON ? "JSON"
                                                 : "bytes",
                     have > 0 && have <= 3 ? "; read it with " : "",
                     have > 0 && have <= 3 ? readers[have] : "");
}

/* ---- buffers -------------------------------------------------------- */

void roster_cache_buf_close(roster_cache_buf *b) {
  if (!b)
    return;
  roster__free(b->data);
  *b = (roster_cache_buf){0};
}

void roster__cache_buf_clear(roster_cache_buf *b) {
  b->kind = ROSTER_CACHE_NONE;
  b->len = 0;
  b->num = 0;
  if (b->data)
    b->data[0] = '\0';
}

static int buf_reserve(roster_cache_buf *b, size_t len) {
  if (len < b->cap)
    return ROSTER_OK;
  size_t cap = b->cap ? b->cap : 64;
  while (cap <= len)
    cap = cap > SIZE_MAX / 2 ? len + 1 : cap * 2;
  unsigned char *p = roster__realloc(b->data, cap);
  if (!p)
    return roster__err(ROSTER_ENOMEM, "out of memory for a %zu-byte value",
                       len);
  b->data = p;
  b->cap = cap;
  return ROSTER_OK;
}

static bool parse_i64(const unsigned char *s, size_t n, int64_t *out) {
  if (n == 0 || n > 20)
    return false;
  size_t i = 0;
  bool neg = s[0] == '-';
  if (neg && n == 1)
    return false;
  i = neg;
  if (s[i] == '0' && n > i + 1)
    return false; /* Redis's canonical form: no leading zeros */
  uint64_t v = 0;
  for (; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    unsigned d = s[i] - '0';
    if (v > (UINT64_MAX - d) / 10)
      return false;
    v = v * 10 + d;
  }
  if (neg) {
    if (v > (uint64_t)INT64_MAX + 1 || v == 0)
      return false; /* "-0" is not canonical */
    *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
  } else {
    if (v > (uint64_t)INT64_MAX)
      return false;
    *out = (int64_t)v;
  }
  return true;
}

int roster_cache_buf_set(roster_cache_buf *b, roster_cache_kind kind,
                         const void *data, size_t len) {
  if (!b || (!data && len) || kind < ROSTER_CACHE_BYTES ||
      kind > ROSTER_CACHE_INT)
    return roster__err(ROSTER_EINVAL, "roster_cache_buf_set: %s",
                       !b               ? "buffer is NULL"
                       : (!data && len) ? "data is NULL"
                                        : "kind is not bytes, json or int");
  int64_t num = 0;
  if (kind == ROSTER_CACHE_INT && !parse_i64(data, len, &num))
    return roster__err(ROSTER_EPARSE,
                       "roster_cache_buf_set: '%.*s' is not a "
                       "64-bit integer",
                       len > 32 ? 32 : (int)len, (const char *)data);
  int rc = buf_reserve(b, len);
  if (rc)
    return rc;
  if (len)
    memcpy(b->data, data, len);
  b->data[len] = '\0';
  b->len = len;
  b->kind = kind;
  b->num = num;
  return ROSTER_OK;
}

int roster_cache_buf_set_int(roster_cache_buf *b, int64_t num) {
  if (!b)
    return roster__err(ROSTER_EINVAL, "roster_cache_buf_set_int: buffer is "
                                      "NULL");
  int rc = buf_reserve(b, 24);
  if (rc)
    return rc;
  b->len = (size_t)snprintf((char *)b->data, b->cap, "%" PRId64, num);
  b->kind = ROSTER_CACHE_INT;
  b->num = num;
  return ROSTER_OK;
}

int roster__cache_buf_copy(roster_cache_buf *dst, const roster_cache_buf *src) {
  if (src->kind == ROSTER_CACHE_NONE) {
    roster__cache_buf_clear(dst);
    return ROSTER_OK;
  }
  int rc = buf_reserve(dst, src->len);
  if (rc)
    return rc;
  memcpy(dst->data, src->data, src->len);
  dst->data[src->len] = '\0';
  dst->len = src->len;
  dst->kind = src->kind;
  dst->num = src->num;
  return ROSTER_OK;
}

/* ---- JSON ----------------------------------------------------------- */

typedef struct jtext {
  char *p;
  size_t n, cap;
  bool oom;
} jtext;

static int jtext_add(const char *s, size_t n, void *arg) {
  jtext *t = arg;
  if (t->n + n + 1 > t->cap) {
    size_t cap = t->cap ? t->cap : 128;
    while (cap < t->n + n + 1)
      cap *= 2;
    char *p = roster__realloc(t->p, cap);
    if (!p) {
      t->oom = true;
      return -1;
    }
    t->p = p;
    t->cap = cap;
  }
  memcpy(t->p + t->n, s, n);
  t->n += n;
  t->p[t->n] = '\0';
  return 0;
}

int roster__cache_json_text(const struct json_t *v, char **text, size_t *len) {
  jtext t = {0};
  /* json_dump_callback builds the text straight into roster memory: one
   * pass, no jansson-allocated copy. */
  int r = json_dump_callback((const json_t *)v, jtext_add, &t,
                             JSON_COMPACT | JSON_ENCODE_ANY);
  if (r != 0 || !t.p) {
    roster__free(t.p);
    if (t.oom)
      return roster__err(ROSTER_ENOMEM, "out of memory serializing JSON");
    return roster__err(ROSTER_EINVAL, "the JSON value cannot be serialized "
                                      "(a loop in the tree?)");
  }
  *text = t.p;
  *len = t.n;
  return ROSTER_OK;
}

int roster__cache_json_parse(roster_cache *c, const void *key, size_t klen,
                             const roster_cache_buf *b, struct json_t **out) {
  json_error_t err;
  json_t *j = json_loadb((const char *)b->data, b->len, JSON_DECODE_ANY, &err);
  if (!j) {
    char q[96];
    return roster__err(ROSTER_EPARSE,
                       "cache '%s': key '%s' holds JSON that "
                       "does not parse: %s (line %d, column %d)",
                       c->name, roster__cache_qkey(q, sizeof q, key, klen),
                       err.text, err.line, err.column);
  }
  *out = j;
  return ROSTER_OK;
}

/* ---- caches --------------------------------------------------------- */

/* make: a cache over impl of the checked backend be, opened by scheme. */
static int make(const roster_cache_backend *be, const char *scheme, void *impl,
                const roster_cache_options *o, roster_cache **out) {
  roster_cache_options opt = o ? *o : (roster_cache_options){0};
  const char *name = opt.name && *opt.name ? opt.name : scheme;
  if (opt.load_lock_ttl_ms < 0 || opt.load_lock_ttl_ms > ROSTER_CACHE_TTL_MAX ||
      opt.load_wait_ms < 0 || opt.load_wait_ms > ROSTER_CACHE_TTL_MAX)
    return roster__err(ROSTER_EINVAL,
                       "cache '%.63s': load_lock_ttl_ms and "
                       "load_wait_ms must be 0 (the default) to %" PRId64,
                       name, ROSTER_CACHE_TTL_MAX);
  roster_cache *c = roster__calloc(1, sizeof *c);
  if (!c)
    return roster__err(ROSTER_ENOMEM, "roster_cache_new: out of memory");
  c->be = be;
  c->impl = impl;
  snprintf(c->name, sizeof c->name, "%s", name);
  c->name_len = strlen(c->name);
  snprintf(c->scheme, sizeof c->scheme, "%s", scheme);
  c->load_lock_ttl_ms = opt.load_lock_ttl_ms ? opt.load_lock_ttl_ms : 10000;
  c->load_wait_ms =
      opt.load_wait_ms ? opt.load_wait_ms : 2 * c->load_lock_ttl_ms;
  pthread_mutex_init(&c->flight_lock, NULL);
  *out = c;
  return ROSTER_OK;
}

int roster_cache_new(const roster_driver *d, void *impl,
                     const roster_cache_options *o, roster_cache **out) {
  roster__thread_ensure();
  if (!out)
    return roster__err(ROSTER_EINVAL, "roster_cache_new: out is NULL");
  *out = NULL;
  if (!d)
    return roster__err(ROSTER_EINVAL, "roster_cache_new: driver is NULL");
  const roster_cache_backend *be = NULL;
  for (size_t i = 0; i < ROSTER_DRIVER_FACES && !be; i++)
    if (d->faces[i].kind == &roster_cache_face)
      be = d->faces[i].ops;
  char qn[80], who[96];
  snprintf(who, sizeof who, "driver '%s'",
           d->name ? roster__quote(qn, sizeof qn, d->name, strlen(d->name))
                   : "?");
  if (!be)
    return roster__err(ROSTER_EINVAL, "roster_cache_new: %s has no cache face",
                       who);
  int rc = roster__face_check(&roster_cache_face, be, who, "open");
  if (rc)
    return rc;
  const char *scheme = d->schemes && d->schemes[0] ? d->schemes[0]
                       : d->name                   ? d->name
                                                   : "";
  return make(be, scheme, impl, o, out);
}

int roster__cache_open_with(const roster_cache_backend *be, const roster_url *u,
                            const char *text, const char *const *opts,
                            const roster_cache_options *o, roster_cache **out) {
  roster_cache_options opt = o ? *o : (roster_cache_options){0};
  if (!opt.name || !*opt.name)
    opt.name = u->host && *u->host ? u->host : u->scheme;
  void *impl = NULL;
  int rc = be->open(u, text, opts, &impl);
  if (rc) {
    char shown[512];
    return roster__err_wrap(rc, "cache %s",
                            roster__url_shown(text, shown, sizeof shown));
  }
  rc = make(be, u->scheme, impl, &opt, out);
  if (rc)
    be->close(impl);
  return rc;
}

int roster_cache_open(const char *url, const char *const *opts,
                      const roster_cache_options *o, roster_cache **out) {
  roster__thread_ensure();
  if (!out)
    return roster__err(ROSTER_EINVAL, "roster_cache_open: out is NULL");
  *out = NULL;
  roster_url *u = NULL;
  int rc = roster_url_parse(url, &u);
  if (rc)
    return rc; /* the parser's detail is already redacted */
  char shown[512];
  roster__url_shown(url, shown, sizeof shown);
  roster__face_ref f;
  rc = roster__driver_pick(u->scheme, &roster_cache_face, NULL, shown, &f);
  if (!rc)
    rc = roster__cache_open_with(f.ops, u, url, opts, o, out);
  roster_url_free(u);
  return rc;
}

int roster_cache_memory_new(const roster_cache_memory_options *mo,
                            const roster_cache_options *o, roster_cache **out) {
  roster__thread_ensure();
  if (!out)
    return roster__err(ROSTER_EINVAL, "roster_cache_memory_new: out is NULL");
  *out = NULL;
  roster_cache_memory_options m = mo ? *mo : (roster_cache_memory_options){0};
  void *impl = NULL;
  int rc = roster__memory_open_with(&m, &impl);
  if (rc)
    return rc;
  rc = make(&roster__memory_backend, "memory", impl, o, out);
  if (rc)
    roster__memory_backend.close(impl);
  return rc;
}

void roster_cache_free(roster_cache *c) {
  if (!c)
    return;
  roster__thread_ensure();
  c->be->close(c->impl);
  roster__cache_flights_free(c);
  pthread_mutex_destroy(&c->flight_lock);
  roster__free(c);
}

const char *roster_cache_name(const roster_cache *c) {
  return c ? c->name : "";
}

const char *roster_cache_scheme(const roster_cache *c) {
  return c ? c->scheme : "";
}

int roster_cache_health(roster_cache *c) {
  int rc = roster__cache_enter(c, "health");
  if (rc)
    return rc;
  if (!c->be->health)
    return ROSTER_OK;
  rc = c->be->health(c->impl);
  return rc ? roster__cache_fail(c, rc, "health", NULL, 0) : rc;
}
