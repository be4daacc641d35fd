/*
 * log_format.c: the JSON encoder of a log line.
 *
 * Written by hand because it is the hot path: jansson would build a tree
 * and allocate for every line. What is written here is exactly JSON
 * (RFC 8259): strings are escaped byte by byte with UTF-8 validated per
 * Unicode's table 3-7 (invalid sequences become \ufffd, one per maximal
 * subpart); integers are printed from a digit-pair table; doubles take the
 * shortest k-decimal form that converts back to the same double, else the
 * shortest of %.15g/%.16g/%.17g that does. JSON-tree fields are written by
 * jansson's own encoder into the same buffer.
 */
#include "log_impl.h"

#include <jansson.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- buffers ------------------------------------------------------- */

void roster__log_buf_init(rl_buf *b, char *stack, size_t cap) {
  b->p = stack;
  b->len = 0;
  b->cap = cap;
  b->heap = false;
  b->oom = false;
}

void roster__log_buf_fini(rl_buf *b) {
  if (b->heap)
    roster_mem_free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
  b->heap = false;
}

bool roster__log_buf_grow(rl_buf *b, size_t need) {
  if (b->oom)
    return false;
  size_t want = b->len + need;
  if (want < b->len) { /* overflow */
    b->oom = true;
    return false;
  }
  size_t cap = b->cap ? b->cap : 256;
  while (cap < want) {
    if (cap > SIZE_MAX / 2) {
      cap = want;
      break;
    }
    cap *= 2;
  }
  char *p;
  if (b->heap) {
    p = roster_mem_realloc(b->p, cap);
  } else {
    p = roster_mem_alloc(cap);
    if (p && b->len)
      memcpy(p, b->p, b->len);
  }
  if (!p) {
    b->oom = true;
    return false;
  }
  b->p = p;
  b->cap = cap;
  b->heap = true;
  return true;
}

/* ---- strings ------------------------------------------------------- */

/* roster__log_cls: 0 = copy as is; 1 = escape; 2 = the lead of a multi-byte
 * sequence (or an invalid byte), validated by put_utf8. */
/* clang-format off */
const unsigned char roster__log_cls[256] = {
    /* 0x00-0x1f: control characters */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    /* 0x20-0x7f: '"' (0x22) and '\\' (0x5c) */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x80-0xff */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};
/* clang-format on */

static const char hexd[] = "0123456789abcdef";

static void put_escape(rl_buf *b, unsigned char c) {
  char e[6];
  switch (c) {
  case '"':
    RL_PUTS(b, "\\\"");
    return;
  case '\\':
    RL_PUTS(b, "\\\\");
    return;
  case '\n':
    RL_PUTS(b, "\\n");
    return;
  case '\r':
    RL_PUTS(b, "\\r");
    return;
  case '\t':
    RL_PUTS(b, "\\t");
    return;
  case '\b':
    RL_PUTS(b, "\\b");
    return;
  case '\f':
    RL_PUTS(b, "\\f");
    return;
  default:
    e[0] = '\\';
    e[1] = 'u';
    e[2] = '0';
    e[3] = '0';
    e[4] = hexd[c >> 4];
    e[5] = hexd[c & 15];
    rl_put(b, e, 6);
  }
}

/* utf8_len returns how many bytes at s (n available, s[0] >= 0x80) form
 * one well-formed UTF-8 sequence, or, negated, the length of the maximal
 * subpart to replace (at least 1). Unicode 15, table 3-7. */
static int utf8_len(const unsigned char *s, size_t n) {
  unsigned char c = s[0];
  int len;
  unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    if (c == 0xe0)
      lo = 0xa0; /* no overlong forms */
    else if (c == 0xed)
      hi = 0x9f; /* no surrogates */
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    if (c == 0xf0)
      lo = 0x90; /* no overlong forms */
    else if (c == 0xf4)
      hi = 0x8f; /* nothing past U+10FFFF */
  } else {
    return -1; /* 0x80-0xc1 (continuation, overlong lead), 0xf5-0xff */
  }
  if (n < 2 || s[1] < lo || s[1] > hi)
    return -1;
  for (int i = 2; i < len; i++)
    if ((size_t)i >= n || s[i] < 0x80 || s[i] > 0xbf)
      return -i;
  return len;
}

void roster__log_put_str_slow(rl_buf *b, const char *str, size_t n) {
  const unsigned char *s = (const unsigned char *)str;
  /* worst case is 6 output bytes per input byte plus the quotes; reserve
   * the common case up front and let the appends grow past it */
  if (!rl_buf_reserve(b, n + 2))
    return;
  b->p[b->len++] = '"';
  size_t i = 0;
  while (i < n) {
    size_t run = i;
    while (run < n && roster__log_cls[s[run]] == 0)
      run++;
    if (run > i) {
      rl_put(b, s + i, run - i);
      i = run;
      if (i == n)
        break;
    }
    unsigned char c = s[i];
    if (roster__log_cls[c] == 1) {
      put_escape(b, c);
      i++;
      continue;
    }
    int l = utf8_len(s + i, n - i);
    if (l > 0) {
      rl_put(b, s + i, (size_t)l);
      i += (size_t)l;
    } else {
      RL_PUTS(b, "\\ufffd");
      i += (size_t)-l;
    }
  }
  rl_putc(b, '"');
}

/* ---- numbers ------------------------------------------------------- */

static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536"
    "37383940414243444546474849505152535455565758596061626364656667686970717273"
    "7475767778798081828384858687888990919293949596979899";

/* u64_digits writes v's decimal digits ending at end (exclusive) and
 * returns the first. */
static char *u64_digits(char *end, uint64_t v) {
  char *p = end;
  while (v >= 100) {
    unsigned d = (unsigned)(v % 100) * 2;
    v /= 100;
    *--p = digit_pairs[d + 1];
    *--p = digit_pairs[d];
  }
  if (v >= 10) {
    unsigned d = (unsigned)v * 2;
    *--p = digit_pairs[d + 1];
    *--p = digit_pairs[d];
  } else {
    *--p = (char)('0' + v);
  }
  return p;
}

void roster__log_put_uint(rl_buf *b, uint64_t v) {
  char tmp[24];
  char *p = u64_digits(tmp + sizeof tmp, v);
  rl_put(b, p, (size_t)(tmp + sizeof tmp - p));
}

void roster__log_put_int(rl_buf *b, int64_t v) {
  char tmp[24];
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  char *p = u64_digits(tmp + sizeof tmp, u);
  if (v < 0)
    *--p = '-';
  rl_put(b, p, (size_t)(tmp + sizeof tmp - p));
}

static const double pow10s[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,
                                1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                1e12, 1e13, 1e14, 1e15, 1e16, 1e17};

void roster__log_put_double(rl_buf *b, double d) {
  if (!isfinite(d)) {
    RL_PUTS(b, "null"); /* as JSON.stringify does */
    return;
  }
  if (d == 0) {
    rl_putc(b, '0'); /* -0 too, as JSON.stringify does */
    return;
  }
  double a = fabs(d);
  /* Fast path: the fewest decimals k such that m = a*10^k is an integer
   * below 2^53 with m/10^k == a. m and 10^k (k <= 17 < 23) are exact, so
   * the division is the correctly rounded value of the decimal string m
   * with k decimals: strtod of that string gives back a exactly. */
  if (a >= 1e-7 && a < 9007199254740992.0 && rl_buf_reserve(b, 48)) {
    for (int k = 0; k < (int)(sizeof pow10s / sizeof pow10s[0]); k++) {
      double m = a * pow10s[k];
      if (m >= 9007199254740992.0)
        break;
      /* m < 2^53: the cast is exact for an integer, and cheaper than floor */
      if ((double)(int64_t)m != m || m / pow10s[k] != a)
        continue;
      char digits[24];
      char *end = digits + sizeof digits;
      char *p = u64_digits(end, (uint64_t)m);
      size_t nd = (size_t)(end - p), kk = (size_t)k;
      char *o = b->p + b->len;
      if (d < 0)
        *o++ = '-';
      if (kk == 0) {
        rl_copy(o, p, nd);
        o += nd;
      } else {
        while (end[-1] == '0' && kk > 0) { /* same value, fewer digits */
          end--;
          nd--;
          kk--;
        }
        if (nd <= kk) {
          *o++ = '0';
          *o++ = '.';
          for (size_t z = nd; z < kk; z++)
            *o++ = '0';
          rl_copy(o, p, nd);
          o += nd;
        } else {
          rl_copy(o, p, nd - kk);
          o += nd - kk;
          if (kk) {
            *o++ = '.';
            rl_copy(o, p + nd - kk, kk);
            o += kk;
          }
        }
      }
      b->len = (size_t)(o - b->p);
      return;
    }
  }
  /* %g and strtod follow LC_NUMERIC: use the C locale on this thread for
   * the call, so a program's setlocale cannot put a ',' into a number */
  static _Atomic(locale_t) c_numeric;
  locale_t cl = atomic_load(&c_numeric);
  if (!cl) {
    locale_t mine = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    locale_t expect = (locale_t)0;
    if (mine && !atomic_compare_exchange_strong(&c_numeric, &expect, mine))
      freelocale(mine); /* another thread won; keep its object */
    cl = atomic_load(&c_numeric);
  }
  locale_t old = cl ? uselocale(cl) : (locale_t)0;
  char tmp[40];
  int w = 0;
  for (int prec = 15; prec <= 17; prec++) {
    w = snprintf(tmp, sizeof tmp, "%.*g", prec, d);
    if (prec == 17 || strtod(tmp, NULL) == d)
      break;
  }
  if (cl)
    uselocale(old);
  if (w > 0)
    rl_put(b, tmp, (size_t)w);
}

/* ---- fields -------------------------------------------------------- */

static int json_cb(const char *buffer, size_t size, void *data) {
  rl_buf *b = data;
  rl_put(b, buffer, size);
  return b->oom ? -1 : 0;
}

/* put_key appends ,"key": (one reservation for a plain key). */
static inline void put_key(rl_buf *b, const char *key) {
  size_t kl = key ? strlen(key) : 0;
  if (kl <= 64 && rl_plain(key, kl) && rl_buf_reserve(b, kl + 4)) {
    char *o = b->p + b->len;
    o[0] = ',';
    o[1] = '"';
    rl_copy(o + 2, key, kl);
    o[kl + 2] = '"';
    o[kl + 3] = ':';
    b->len += kl + 4;
    return;
  }
  rl_putc(b, ',');
  roster__log_put_str_slow(b, key, kl);
  rl_putc(b, ':');
}

void roster__log_put_fields(rl_buf *b, const roster_log_field *f, size_t n) {
  for (size_t i = 0; i < n; i++) {
    put_key(b, f[i].key);
    switch (f[i].type) {
    case ROSTER_LOG_T_STR:
      if (f[i].v.s)
        rl_put_str(b, f[i].v.s, strlen(f[i].v.s));
      else
        RL_PUTS(b, "null");
      break;
    case ROSTER_LOG_T_STRN:
      if (f[i].v.s)
        rl_put_str(b, f[i].v.s, f[i].len);
      else
        RL_PUTS(b, "null");
      break;
    case ROSTER_LOG_T_INT:
      roster__log_put_int(b, f[i].v.i);
      break;
    case ROSTER_LOG_T_DOUBLE:
      roster__log_put_double(b, f[i].v.d);
      break;
    case ROSTER_LOG_T_BOOL:
      if (f[i].v.b)
        RL_PUTS(b, "true");
      else
        RL_PUTS(b, "false");
      break;
    case ROSTER_LOG_T_JSON: {
      size_t before = b->len;
      if (!f[i].v.j ||
          json_dump_callback(f[i].v.j, json_cb, b,
                             JSON_COMPACT | JSON_ENCODE_ANY) != 0) {
        if (!b->oom) {
          b->len = before;
          RL_PUTS(b, "null");
        }
      }
      break;
    }
    default:
      RL_PUTS(b, "null"); /* an unknown type: still valid JSON */
    }
  }
}

/* ---- time and pid -------------------------------------------------- */

int64_t roster__log_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static atomic_int cached_pid;
static pthread_once_t pid_once = PTHREAD_ONCE_INIT;

static void pid_after_fork(void) { atomic_store(&cached_pid, (int)getpid()); }

static void pid_init(void) {
  atomic_store(&cached_pid, (int)getpid());
  pthread_atfork(NULL, NULL, pid_after_fork);
}

int roster__log_pid(void) {
  int p = atomic_load_explicit(&cached_pid, memory_order_relaxed);
  if (RL_UNLIKELY(p == 0)) {
    pthread_once(&pid_once, pid_init);
    p = atomic_load(&cached_pid);
  }
  return p;
}
