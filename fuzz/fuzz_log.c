/*
 * fuzz_log.c: the JSON logger (src/log) with hostile bytes everywhere a
 * caller can put them: the message (as a "%s" argument, as the format
 * itself when it holds no '%', with '%' doubled, or none), the logger's
 * name, field keys and values of every type (strings with any bytes,
 * counted strings with NULs, integers, doubles from any 8 bytes, booleans,
 * nested jansson trees), and chains of child loggers with bound fields
 * and levels of their own, written sync or through the async queue.
 *
 * Input: read from the front in turn: flags (bit 0 async, bit 1 a new
 * root whose name follows, bits 2-3 how the message is passed), the name,
 * the message (2-byte length), the line's level, the children (count,
 * then each: level, field count, fields), the call's field count and
 * fields, and a text for roster_log_level_parse.
 *
 * Properties:
 *  - every line a callback sink receives is one line of valid JSON (no
 *    newline, no raw control byte, valid UTF-8) holding exactly the
 *    expected object: the level, time, pid and hostname, the name, the
 *    message and the fields, every string as given where it was valid
 *    UTF-8 and with each maximal invalid subpart replaced by U+FFFD
 *    (Unicode's rule, as roster/log.h promises), numbers that read back to
 *    the same value; keys may repeat (a field called "msg"): the last one
 *    wins, for the logger's reader as for the expectation;
 *  - a line is written exactly when its level reaches the logger's
 *    effective level, which roster_log_level_get and roster_log_enabled
 *    report;
 *  - roster_log_level_parse of any text is a level (10 to 60 by tens, or
 *    100) or a refusal whose error detail is clean text (not empty, valid
 *    UTF-8, no control character).
 *
 * Inputs up to 8192 bytes: a message up to its 4999 bytes and fields.
 * fuzz-max-len: 8192
 */
#include "fuzz_util.h"

#include <roster/log.h>

#include <math.h>
#include <pthread.h>

/* ---- the expected text of a string ---------------------------------- */

/* sanitize appends s[0..n) with each maximal ill-formed subpart replaced
 * by U+FFFD, written from Unicode's table 3-7 of well-formed sequences. */
static size_t sanitize(const unsigned char *s, size_t n, char *out) {
  static const struct {
    unsigned char lo, hi; /* the lead byte range */
    unsigned char len;
    unsigned char lo2, hi2; /* the second byte range */
  } rows[] = {
      {0xc2, 0xdf, 2, 0x80, 0xbf}, {0xe0, 0xe0, 3, 0xa0, 0xbf},
      {0xe1, 0xec, 3, 0x80, 0xbf}, {0xed, 0xed, 3, 0x80, 0x9f},
      {0xee, 0xef, 3, 0x80, 0xbf}, {0xf0, 0xf0, 4, 0x90, 0xbf},
      {0xf1, 0xf3, 4, 0x80, 0xbf}, {0xf4, 0xf4, 4, 0x80, 0x8f},
  };
  size_t o = 0, i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      out[o++] = (char)c;
      i++;
      continue;
    }
    size_t r = 0, nr = sizeof rows / sizeof rows[0];
    while (r < nr && !(c >= rows[r].lo && c <= rows[r].hi))
      r++;
    size_t good = 1; /* bytes of the sequence that fit so far */
    if (r < nr) {
      while (good < rows[r].len && i + good < n) {
        unsigned char b = s[i + good];
        unsigned char lo = good == 1 ? rows[r].lo2 : 0x80;
        unsigned char hi = good == 1 ? rows[r].hi2 : 0xbf;
        if (b < lo || b > hi)
          break;
        good++;
      }
    }
    if (r < nr && good == rows[r].len) {
      memcpy(out + o, s + i, good);
      o += good;
    } else {
      memcpy(out + o, "\xef\xbf\xbd", 3);
      o += 3;
    }
    i += good;
  }
  return o;
}

/* expect_str: the JSON string the logger should write for s[0..n). */
static json_t *expect_str(const void *s, size_t n) {
  char *buf = malloc(3 * n + 1);
  if (!buf)
    abort();
  size_t len = sanitize(s, n, buf);
  json_t *j = json_stringn(buf, len);
  free(buf);
  if (!j)
    abort();
  return j;
}

/* ---- captured lines ------------------------------------------------- */

typedef struct capture {
  pthread_mutex_t mu;
  size_t lines;
  char *last; /* the last line */
  size_t last_len;
  int last_level;
} capture;

static void on_line(int level, const char *line, size_t len, void *arg) {
  capture *c = arg;
  pthread_mutex_lock(&c->mu);
  c->lines++;
  free(c->last);
  /* exactly len bytes: no terminator to lean on */
  c->last = fuzz_copy_exact(line, len);
  c->last_len = len;
  c->last_level = level;
  pthread_mutex_unlock(&c->mu);
}

static void capture_reset(capture *c) {
  pthread_mutex_lock(&c->mu);
  c->lines = 0;
  free(c->last);
  c->last = NULL;
  c->last_len = 0;
  pthread_mutex_unlock(&c->mu);
}

static roster_log *new_root(const char *name, bool async, capture *c) {
  roster_log_sink sink = {
      .kind = ROSTER_LOG_SINK_CALLBACK, .fn = on_line, .arg = c};
  roster_log_options o = {.level = ROSTER_LOG_TRACE,
                          .name = name,
                          .sinks = &sink,
                          .nsinks = 1,
                          .async = async,
                          .block = true};
  roster_log *log = NULL;
  FUZZ_CHECK(roster_log_new(&o, &log) == ROSTER_OK, "roster_log_new: %s",
             roster_last_error());
  return log;
}

static capture cap_sync = {.mu = PTHREAD_MUTEX_INITIALIZER};
static capture cap_async = {.mu = PTHREAD_MUTEX_INITIALIZER};
static capture cap_named = {.mu = PTHREAD_MUTEX_INITIALIZER};
static roster_log *root_sync, *root_async;
static json_t *any; /* "any value of the right type" in an expectation */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  root_sync = new_root("fuzz", false, &cap_sync);
  root_async = new_root(NULL, true, &cap_async);
  any = json_string("(any)");
  return 0;
}

/* ---- fields from the input ------------------------------------------ */

#define MAX_FIELDS 8

/* A field and the storage behind it. */
typedef struct ffield {
  roster_log_field f;
  char *key, *val; /* owned copies */
  json_t *tree;    /* JSON fields */
} ffield;

/* take_cstr reads a length byte (up to max) and that many bytes, as the C
 * string they make (cut at a NUL); caller frees. */
static char *take_cstr(fuzz_reader *r, size_t max) {
  size_t n;
  const uint8_t *p = fuzz_bytes(r, fuzz_u8(r) % (max + 1), &n);
  return fuzz_strndup(p, n);
}

/* take_tree builds a jansson value (valid UTF-8 strings only: jansson's
 * own rule) of depth at most depth. */
static json_t *take_tree(fuzz_reader *r, int depth) {
  uint8_t k = fuzz_u8(r);
  switch (k % 8) {
  case 0:
    return json_null();
  case 1:
    return json_boolean(k & 8);
  case 2:
    return json_integer((json_int_t)fuzz_u64(r));
  case 3: {
    uint64_t u = fuzz_u64(r);
    double d;
    memcpy(&d, &u, sizeof d);
    return json_real(isfinite(d) ? d : 0.25);
  }
  case 4:
  case 5: {
    size_t n;
    const uint8_t *p = fuzz_bytes(r, fuzz_u8(r) % 33, &n);
    return expect_str(p, n);
  }
  case 6: {
    json_t *a = json_array();
    for (int i = 0; depth > 0 && i < (k >> 4) % 4; i++)
      json_array_append_new(a, take_tree(r, depth - 1));
    return a;
  }
  default: {
    json_t *o = json_object();
    for (int i = 0; depth > 0 && i < (k >> 4) % 4; i++) {
      size_t n;
      const uint8_t *p = fuzz_bytes(r, fuzz_u8(r) % 9, &n);
      const uint8_t *z = memchr(p, 0, n); /* jansson reads no NUL in keys */
      json_t *key = expect_str(p, z ? (size_t)(z - p) : n);
      json_object_setn_new(o, json_string_value(key), json_string_length(key),
                           take_tree(r, depth - 1));
      json_decref(key);
    }
    return o;
  }
  }
}

static void take_field(fuzz_reader *r, ffield *x) {
  memset(x, 0, sizeof *x);
  uint8_t t = fuzz_u8(r);
  if (t & 0x80) /* a NULL key, written as "" */
    x->key = NULL;
  else
    x->key = take_cstr(r, 40);
  x->f.key = x->key;
  switch (t % 6) {
  case 0:
    x->f.type = ROSTER_LOG_T_STR;
    x->val = (t & 0x40) ? NULL : take_cstr(r, 255);
    x->f.v.s = x->val;
    break;
  case 1: {
    size_t n;
    const uint8_t *p = fuzz_bytes(r, fuzz_u16(r) % 3000, &n);
    x->f.type = ROSTER_LOG_T_STRN;
    x->val = fuzz_copy_exact(p, n);
    x->f.len = n;
    x->f.v.s = x->val;
    break;
  }
  case 2:
    x->f.type = ROSTER_LOG_T_INT;
    x->f.v.i = (int64_t)fuzz_u64(r);
    break;
  case 3: {
    uint64_t u = fuzz_u64(r);
    x->f.type = ROSTER_LOG_T_DOUBLE;
    memcpy(&x->f.v.d, &u, sizeof u);
    break;
  }
  case 4:
    x->f.type = ROSTER_LOG_T_BOOL;
    x->f.v.b = t & 0x40;
    break;
  default:
    x->f.type = ROSTER_LOG_T_JSON;
    x->tree = (t & 0x40) ? NULL : take_tree(r, 3);
    x->f.v.j = x->tree;
  }
}

static void free_field(ffield *x) {
  free(x->key);
  free(x->val);
  json_decref(x->tree);
}

/* expect_field sets the field's expected value in e (last key wins). */
static void expect_field(json_t *e, const ffield *x) {
  const roster_log_field *f = &x->f;
  json_t *v;
  switch (f->type) {
  case ROSTER_LOG_T_STR:
    v = f->v.s ? expect_str(f->v.s, strlen(f->v.s)) : json_null();
    break;
  case ROSTER_LOG_T_STRN:
    v = expect_str(f->v.s, f->len);
    break;
  case ROSTER_LOG_T_INT:
    v = json_integer(f->v.i);
    break;
  case ROSTER_LOG_T_DOUBLE:
    v = isfinite(f->v.d) ? json_real(f->v.d) : json_null();
    break;
  case ROSTER_LOG_T_BOOL:
    v = json_boolean(f->v.b);
    break;
  default:
    v = f->v.j ? json_incref(f->v.j) : json_null();
  }
  json_t *k = f->key ? expect_str(f->key, strlen(f->key)) : json_string("");
  json_object_setn_new(e, json_string_value(k), json_string_length(k), v);
  json_decref(k);
}

/* ---- checking a line ------------------------------------------------ */

static bool same(const json_t *want, const json_t *got) {
  if (want == any)
    return true;          /* type checked by the caller */
  if (json_is_real(want)) /* a double: the same value back, in any form */
    return json_is_number(got) &&
           json_number_value(got) == json_real_value(want);
  return json_equal(want, got);
}

static void check_line(const capture *c, const json_t *want, int level) {
  FUZZ_CHECK(c->last_level == level, "the sink got level %d, not %d",
             c->last_level, level);
  const char *line = c->last;
  size_t len = c->last_len;
  for (size_t i = 0; i < len; i++)
    FUZZ_CHECK((unsigned char)line[i] >= 0x20,
               "a raw control byte 0x%02x at %zu in the line", line[i], i);
  json_error_t err;
  json_t *got = json_loadb(line, len, JSON_ALLOW_NUL, &err);
  if (!got) {
    fuzz_show("line", line, len);
    FUZZ_CHECK(false, "the line is not JSON: %s at %d", err.text, err.position);
  }
  FUZZ_CHECK(json_is_object(got), "the line is not a JSON object");
  const char *k;
  size_t klen;
  json_t *v;
  bool ok = json_object_size(got) == json_object_size(want);
  json_object_keylen_foreach((json_t *)want, k, klen, v) {
    json_t *g = json_object_getn(got, k, klen);
    if (!g || !same(v, g)) {
      ok = false;
      fuzz_show("differs at key", k, klen);
    }
  }
  json_t *t = json_object_get(got, "time"), *p = json_object_get(got, "pid"),
         *h = json_object_get(got, "hostname");
  if (json_object_get(want, "time") == any && !json_is_integer(t))
    ok = false;
  if (json_object_get(want, "pid") == any && !json_is_integer(p))
    ok = false;
  if (json_object_get(want, "hostname") == any && !json_is_string(h))
    ok = false;
  if (!ok) {
    char *w = json_dumps(want, JSON_ENCODE_ANY | JSON_COMPACT);
    fuzz_show("line", line, len);
    fprintf(stderr, "expected: %s\n", w ? w : "?");
    free(w);
    FUZZ_CHECK(false, "the line is not the expected object");
  }
  json_decref(got);
}

/* write_fmt passes a format that is not a literal (that is the point). */
static int write_fmt(roster_log *log, int level, const roster_log_field *f,
                     size_t n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = roster_log_writev(log, level, f, n, fmt, ap);
  va_end(ap);
  return rc;
}

static const int levels[] = {ROSTER_LOG_TRACE, ROSTER_LOG_DEBUG,
                             ROSTER_LOG_INFO,  ROSTER_LOG_WARN,
                             ROSTER_LOG_ERROR, ROSTER_LOG_FATAL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_begin(data, size);
  fuzz_reader r = {data, size};
  uint8_t flags = fuzz_u8(&r);
  capture *cap = (flags & 1) ? &cap_async : &cap_sync;
  roster_log *root = (flags & 1) ? root_async : root_sync;
  char *name = NULL;
  roster_log *own = NULL;
  if (flags & 2) {
    name = take_cstr(&r, 200);
    cap = &cap_named;
    own = root = new_root(name, false, cap);
  }
  size_t ml;
  const uint8_t *mp = fuzz_bytes(&r, fuzz_u16(&r) % 5000, &ml);
  char *msg = fuzz_strndup(mp, ml);
  unsigned mode = (flags >> 2) & 3;
  int level = levels[fuzz_u8(&r) % 6];

  json_t *want = json_object();
  json_object_set_new(want, "level", json_integer(level));
  json_object_set(want, "time", any);
  json_object_set(want, "pid", any);
  json_object_set(want, "hostname", any);
  if (name)
    json_object_set_new(want, "name", expect_str(name, strlen(name)));
  else if (root == root_sync)
    json_object_set_new(want, "name", json_string("fuzz"));
  if (mode != 3)
    json_object_set_new(want, "msg", expect_str(msg, strlen(msg)));

  /* children, each with bound fields and maybe a level of its own */
  roster_log *chain[4] = {root};
  int own_level[4] = {ROSTER_LOG_TRACE};
  size_t depth = fuzz_u8(&r) % 4;
  for (size_t d = 1; d <= depth; d++) {
    uint8_t lv = fuzz_u8(&r);
    size_t nf = fuzz_u8(&r) % 4;
    ffield xs[4];
    roster_log_field fs[4];
    for (size_t i = 0; i < nf; i++) {
      take_field(&r, &xs[i]);
      fs[i] = xs[i].f;
      expect_field(want, &xs[i]);
    }
    FUZZ_CHECK(roster_log_child(chain[d - 1], nf ? fs : NULL, nf, &chain[d]) ==
                   ROSTER_OK,
               "roster_log_child: %s", roster_last_error());
    for (size_t i = 0; i < nf; i++)
      free_field(&xs[i]);
    own_level[d] = 0;
    if (lv & 1) {
      static const int settable[] = {0, 10, 20, 30, 40, 50, 60, 100};
      own_level[d] = settable[(lv >> 1) % 8];
      FUZZ_CHECK(roster_log_level_set(chain[d], own_level[d]) == ROSTER_OK,
                 "set_level %d: %s", own_level[d], roster_last_error());
    }
  }
  roster_log *log = chain[depth];
  int eff = ROSTER_LOG_TRACE;
  for (size_t d = 0; d <= depth; d++)
    if (own_level[d])
      eff = own_level[d];
  FUZZ_CHECK(roster_log_level_get(log) == eff, "level %d, expected %d",
             roster_log_level_get(log), eff);

  size_t nf = fuzz_u8(&r) % (MAX_FIELDS + 1);
  ffield xs[MAX_FIELDS];
  roster_log_field fs[MAX_FIELDS];
  for (size_t i = 0; i < nf; i++) {
    take_field(&r, &xs[i]);
    fs[i] = xs[i].f;
    expect_field(want, &xs[i]);
  }
  bool enabled = level >= eff;
  FUZZ_CHECK(roster_log_enabled(log, level) == enabled,
             "enabled(%d) is wrong at level %d", level, eff);

  capture_reset(cap);
  const roster_log_field *fp = nf ? fs : NULL;
  int rc;
  if (mode == 0 || (mode == 1 && strchr(msg, '%'))) {
    rc = roster_log_write(log, level, fp, nf, "%s", msg);
  } else if (mode == 1) {
    rc = write_fmt(log, level, fp, nf, msg);
  } else if (mode == 2) {
    char *fmt = malloc(2 * strlen(msg) + 1), *o = fmt;
    if (!fmt)
      abort();
    for (const char *s = msg; *s; s++) {
      if (*s == '%')
        *o++ = '%';
      *o++ = *s;
    }
    *o = '\0';
    rc = write_fmt(log, level, fp, nf, fmt);
    free(fmt);
  } else {
    rc = roster_log_write(log, level, fp, nf, NULL);
  }
  FUZZ_CHECK(rc == ROSTER_OK, "roster_log_write: %s", roster_last_error());
  FUZZ_CHECK(roster_log_flush(log) == ROSTER_OK, "flush: %s",
             roster_last_error());
  pthread_mutex_lock(&cap->mu);
  FUZZ_CHECK(cap->lines == (enabled ? 1u : 0u), "%zu lines for one %s write",
             cap->lines, enabled ? "enabled" : "disabled");
  if (enabled)
    check_line(cap, want, level);
  pthread_mutex_unlock(&cap->mu);

  /* the level names: any text is a level or a clean refusal */
  char *lt = take_cstr(&r, 12);
  int lvl = -1;
  rc = roster_log_level_parse(lt, &lvl);
  if (rc == ROSTER_OK) {
    FUZZ_CHECK(lvl == 100 || (lvl >= 10 && lvl <= 60 && lvl % 10 == 0),
               "level_parse gave %d", lvl);
  } else {
    FUZZ_CHECK(lvl == -1, "level_parse refused, but set the level to %d", lvl);
    fuzz_error_ok("roster_log_level_parse", rc, NULL);
  }

  free(lt);
  for (size_t i = 0; i < nf; i++)
    free_field(&xs[i]);
  for (size_t d = depth; d >= 1; d--)
    roster_log_free(chain[d]);
  roster_log_free(own);
  json_decref(want);
  free(msg);
  free(name);
  return 0;
}
