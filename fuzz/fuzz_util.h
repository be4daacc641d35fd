/*
 * fuzz_util.h: what every harness in fuzz/ shares. A harness is one C file
 * defining LLVMFuzzerTestOneInput; it is built as a libFuzzer binary
 * (scripts/fuzz.sh) and as a replay program that runs its corpus under
 * CTest (fuzz/replay_main.c). Everything here is static inline, so a
 * harness uses what it needs and nothing else is emitted.
 *
 * Include it before anything else. A harness calls fuzz_begin(data, size)
 * first; a failed FUZZ_CHECK then prints its message, the check and the
 * input, and aborts, which libFuzzer records as a crash and the replay as
 * a failure. The rest: exactly sized copies of the input (so that ASan
 * sees a read past the end), clean-text and JSON checks, roster_tz_local
 * under a given $TZ, a reader that takes an input apart from the front,
 * and a growing byte string.
 */
#ifndef ROSTER_FUZZ_UTIL_H
#define ROSTER_FUZZ_UTIL_H

/* strdup, strtok_r, memmem and the private headers want it before any
 * system header: include this file first. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <roster.h>

/* The libFuzzer entry points. LLVMFuzzerInitialize is optional. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* ---- checks ---------------------------------------------------------- */

/* The input being run, for FUZZ_CHECK's report (one per harness). */
static const uint8_t *fuzz__data;
static size_t fuzz__size;

/* fuzz_begin records the input for FUZZ_CHECK and clears roster's error
 * detail, so that a check of roster_last_error sees this input's text. */
static inline void fuzz_begin(const uint8_t *data, size_t size) {
  fuzz__data = data;
  fuzz__size = size;
  roster_error_clear();
}

/* fuzz_print_bytes writes n bytes of p to f as a C string literal, quotes
 * included: printable ASCII as is, \\ \" \n \r \t, everything else \xHH
 * (closed by "" when a hex digit follows). At most limit bytes; a longer
 * run ends with its length. */
static inline void fuzz_print_bytes(FILE *f, const void *p, size_t n,
                                    size_t limit) {
  const unsigned char *s = p;
  bool hex = false; /* the last thing written was \xHH */
  fputc('"', f);
  for (size_t i = 0; i < n && i < limit; i++) {
    unsigned char c = s[i];
    bool xdigit = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                  (c >= 'A' && c <= 'F');
    if (hex && xdigit)
      fputs("\"\"", f);
    hex = false;
    if (c == '\\' || c == '"')
      fprintf(f, "\\%c", c);
    else if (c == '\n')
      fputs("\\n", f);
    else if (c == '\r')
      fputs("\\r", f);
    else if (c == '\t')
      fputs("\\t", f);
    else if (c >= 0x20 && c < 0x7f)
      fputc(c, f);
    else {
      fprintf(f, "\\x%02x", c);
      hex = true;
    }
  }
  fputc('"', f);
  if (n > limit)
    fprintf(f, "... (%zu bytes)", n);
}

/* fuzz_show prints "label: " and n bytes of p (fuzz_print_bytes) on a line
 * of stderr: the pieces a failure is about, before its FUZZ_CHECK. */
static inline void fuzz_show(const char *label, const void *p, size_t n) {
  fprintf(stderr, "%s: ", label);
  fuzz_print_bytes(stderr, p, n, 4096);
  fputc('\n', stderr);
}

/* fuzz_fail prints "property failed: " and the message (printf), where
 * and which check failed, and the input (escaped, and as hex when short),
 * then aborts. FUZZ_CHECK calls it. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((noreturn, format(printf, 4, 5)))
#endif
static inline void
fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "\nproperty failed: ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n%s:%d: FUZZ_CHECK(%s) failed\n", file, line, cond);
  if (!fuzz__data && fuzz__size == 0) {
    fprintf(stderr, "input: (not recorded: call fuzz_begin)\n");
  } else {
    fprintf(stderr, "input (%zu bytes): ", fuzz__size);
    fuzz_print_bytes(stderr, fuzz__data, fuzz__size, 4096);
    fputc('\n', stderr);
    if (fuzz__size <= 256) {
      fprintf(stderr, "hex:");
      for (size_t i = 0; i < fuzz__size; i++)
        fprintf(stderr, " %02x", fuzz__data[i]);
      fputc('\n', stderr);
    }
  }
  fflush(stderr);
  abort();
}

/* FUZZ_CHECK(cond, fmt, ...): when cond is false, fail with the message
 * fmt (printf, without a newline at the end). */
#define FUZZ_CHECK(cond, ...)                                                  \
  do {                                                                         \
    if (!(cond))                                                               \
      fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                       \
  } while (0)

/* ---- copies of the input --------------------------------------------- */

/* fuzz_copy_exact copies n bytes of p into a heap block of exactly n bytes
 * (one when n is 0: malloc(0) may answer NULL), with no terminator: a
 * parser that reads past its length trips ASan. Free with free(). Aborts
 * on allocation failure. */
static inline char *fuzz_copy_exact(const void *p, size_t n) {
  char *d = malloc(n ? n : 1);
  if (!d)
    abort();
  if (n)
    memcpy(d, p, n);
  return d;
}

/* fuzz_strndup: the C string an API sees in n bytes of p: the bytes before
 * the first NUL (all n when there is none) and a terminator, in a heap
 * block of exactly that size. Free with free(). Aborts on allocation
 * failure. */
static inline char *fuzz_strndup(const void *p, size_t n) {
  const char *z = n ? memchr(p, '\0', n) : NULL;
  size_t len = z ? (size_t)(z - (const char *)p) : n;
  char *d = malloc(len + 1);
  if (!d)
    abort();
  if (len)
    memcpy(d, p, len);
  d[len] = '\0';
  return d;
}

/* fuzz_cstr copies n bytes of p into a NUL-terminated heap string, dropping
 * NUL bytes (so the string holds every other byte of the input). Free with
 * free(). Aborts on allocation failure. */
static inline char *fuzz_cstr(const void *p, size_t n) {
  const unsigned char *s = p;
  char *out = malloc(n + 1), *o = out;
  if (!out)
    abort();
  for (size_t i = 0; i < n; i++)
    if (s[i])
      *o++ = (char)s[i];
  *o = '\0';
  return out;
}

/* ---- text ------------------------------------------------------------ */

/* fuzz_mem_contains: needle (a C string, not empty) occurs in hay[0, len). */
static inline bool fuzz_mem_contains(const void *hay, size_t len,
                                     const char *needle) {
  size_t n = strlen(needle);
  const unsigned char *h = hay;
  if (!hay || n == 0 || len < n)
    return false;
  for (size_t i = 0; i + n <= len; i++)
    if (h[i] == (unsigned char)needle[0] && memcmp(h + i, needle, n) == 0)
      return true;
  return false;
}

/* fuzz_contains: needle occurs in the C string s (NULL: false). */
static inline bool fuzz_contains(const char *s, const char *needle) {
  return s && fuzz_mem_contains(s, strlen(s), needle);
}

/* fuzz_text_bad: s is not text that can be logged or shown as it is: it
 * is not valid UTF-8 (overlong forms, surrogates and code points past
 * U+10FFFF included), or it holds a control character (C0 but, when
 * allow_nl, '\n'; DEL; C1), a line or paragraph separator (U+2028/9) or a
 * bidi control (U+202A-E, U+2066-9). Returns a short reason, or NULL. */
static inline const char *fuzz_text_bad(const char *s, bool allow_nl) {
  const unsigned char *p = (const unsigned char *)s;
  while (p && *p) {
    unsigned c = *p;
    if (c < 0x80) {
      if ((c < 0x20 && !(allow_nl && c == '\n')) || c == 0x7f)
        return "a control byte";
      p++;
      continue;
    }
    size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    if (n == 0 || c > 0xF4)
      return "a byte that is not UTF-8";
    unsigned cp = c & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
      if ((p[i] & 0xC0) != 0x80)
        return "a byte that is not UTF-8";
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    static const unsigned least[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < least[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return "a byte that is not UTF-8";
    if (cp <= 0x9F)
      return "a C1 control";
    if (cp == 0x2028 || cp == 0x2029)
      return "a line separator";
    if ((cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069))
      return "a bidi control";
    p += n;
  }
  return NULL;
}

/* fuzz_json_parse parses text (NUL-terminated) with jansson: any value at
 * the top, \u0000 allowed in strings. NULL when it is not valid JSON. The
 * caller json_decref's the result. */
static inline json_t *fuzz_json_parse(const char *text) {
  json_error_t err;
  return json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
}

/* fuzz_json_valid: text is one valid JSON document. */
static inline bool fuzz_json_valid(const char *text) {
  json_t *j = fuzz_json_parse(text);
  if (!j)
    return false;
  json_decref(j);
  return true;
}

/* fuzz_error_ok checks roster's error detail after a failed call: not empty,
 * clean text (fuzz_text_bad: valid UTF-8, no control character), and
 * (marker not NULL) without marker. what names the call in the failure
 * message. */
static inline void fuzz_error_ok(const char *what, int rc, const char *marker) {
  const char *e = roster_last_error();
  FUZZ_CHECK(e && e[0], "%s failed (%d) with an empty error detail", what, rc);
  const char *bad = fuzz_text_bad(e, false);
  FUZZ_CHECK(!bad, "%s: error detail holds %s: %s", what, bad, e);
  if (marker)
    FUZZ_CHECK(!fuzz_contains(e, marker),
               "%s: error detail shows the secret %s: %s", what, marker, e);
}

/* fuzz_tz_local: roster_tz_local with $TZ set to tz for the call, then put
 * back as it was (the zone harnesses). Not thread-safe, as setenv. */
static inline int fuzz_tz_local(const char *tz, const roster_tz **out) {
  const char *old = getenv("TZ");
  char *keep = old ? strdup(old) : NULL;
  setenv("TZ", tz, 1);
  int rc = roster_tz_local(out);
  if (keep) {
    setenv("TZ", keep, 1);
    free(keep);
  } else {
    unsetenv("TZ");
  }
  return rc;
}

/* ---- reading an input from the front --------------------------------- */

/* fuzz_reader consumes an input from the front: harnesses that draw their
 * choices from the bytes in turn. Past the end, numbers read as 0 and byte
 * runs as empty. */
typedef struct fuzz_reader {
  const uint8_t *p;
  size_t n; /* bytes left */
} fuzz_reader;

/* fuzz_u8, fuzz_u16, fuzz_u64: the next 1, 2 or 8 bytes, little-endian. */
static inline uint8_t fuzz_u8(fuzz_reader *r) {
  if (!r->n)
    return 0;
  r->n--;
  return *r->p++;
}

static inline uint16_t fuzz_u16(fuzz_reader *r) {
  uint16_t a = fuzz_u8(r);
  return (uint16_t)(a | (uint16_t)fuzz_u8(r) << 8);
}

static inline uint64_t fuzz_u64(fuzz_reader *r) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v |= (uint64_t)fuzz_u8(r) << (8 * i);
  return v;
}

/* fuzz_bytes takes up to want bytes; *got says how many. */
static inline const uint8_t *fuzz_bytes(fuzz_reader *r, size_t want,
                                        size_t *got) {
  const uint8_t *p = r->p;
  *got = want < r->n ? want : r->n;
  r->p += *got;
  r->n -= *got;
  return p;
}

/* fuzz_field takes the bytes up to the next sep (or the end), and the
 * sep; *len is the field's length, without the sep. */
static inline const uint8_t *fuzz_field(fuzz_reader *r, uint8_t sep,
                                        size_t *len) {
  const uint8_t *p = r->p;
  const uint8_t *e = r->n ? memchr(p, sep, r->n) : NULL;
  *len = e ? (size_t)(e - p) : r->n;
  size_t used = e ? *len + 1 : *len;
  r->p += used;
  r->n -= used;
  return p;
}

/* fuzz_split cuts data[0, size) at each sep byte into at most max fields
 * (the last field takes the rest, separators included). fields[i] points
 * into data, lens[i] is its length. Returns the number of fields: an empty
 * input is one empty field, "a<sep>" two; 0 only when max is 0. */
static inline size_t fuzz_split(const uint8_t *data, size_t size, uint8_t sep,
                                const uint8_t **fields, size_t *lens,
                                size_t max) {
  fuzz_reader r = {data, size};
  size_t n = 0;
  if (max == 0)
    return 0;
  while (n + 1 < max && r.n && memchr(r.p, sep, r.n)) {
    fields[n] = fuzz_field(&r, sep, &lens[n]);
    n++;
  }
  fields[n] = r.p;
  lens[n] = r.n;
  return n + 1;
}

/* ---- a growing byte string ------------------------------------------- */

/* fuzz_buf: bytes that grow as they are added, with a NUL after them once
 * anything was added (p is NULL before: fuzz_buf_reset makes it ""). Free
 * p with free(). Aborts on allocation failure. */
typedef struct fuzz_buf {
  char *p;
  size_t n, cap;
} fuzz_buf;

static inline void fuzz_buf_add(fuzz_buf *b, const void *p, size_t n) {
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (b->n + n + 1 > cap)
      cap *= 2;
    char *np = realloc(b->p, cap);
    if (!np)
      abort();
    b->p = np;
    b->cap = cap;
  }
  if (n)
    memcpy(b->p + b->n, p, n);
  b->n += n;
  b->p[b->n] = '\0';
}

static inline void fuzz_buf_adds(fuzz_buf *b, const char *s) {
  fuzz_buf_add(b, s, strlen(s));
}

static inline void fuzz_buf_addc(fuzz_buf *b, char c) {
  fuzz_buf_add(b, &c, 1);
}

/* fuzz_buf_reset empties b, keeping its memory: p is "" after. */
static inline void fuzz_buf_reset(fuzz_buf *b) {
  b->n = 0;
  fuzz_buf_add(b, "", 0);
}

#endif /* ROSTER_FUZZ_UTIL_H */
