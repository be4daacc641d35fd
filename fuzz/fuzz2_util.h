/*
 * fuzz2_util.h: what the cron, zone, glob, log and SQL harnesses share: a
 * property check that prints the failing input before it aborts, copies
 * of the input sized exactly (so that ASan sees a read past the end), and
 * a reader that takes an input apart field by field. Header-only: every
 * function is static inline, so a harness that uses a few of them still
 * compiles warning-free.
 */
#ifndef ROSTER_FUZZ2_UTIL_H
#define ROSTER_FUZZ2_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libFuzzer's entry points, which every harness defines (the second one
 * is optional). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The input being run, for the failure report. */
static const uint8_t *f2_input;
static size_t f2_input_len;

static inline void f2_begin(const uint8_t *data, size_t size) {
  f2_input = data;
  f2_input_len = size;
}

/* f2_print_bytes writes bytes as a C string literal, at most limit bytes. */
static inline void f2_print_bytes(FILE *f, const void *p, size_t n,
                                  size_t limit) {
  const unsigned char *s = p;
  fputc('"', f);
  for (size_t i = 0; i < n && i < limit; i++) {
    unsigned char c = s[i];
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c == '\n')
      fputs("\\n", f);
    else if (c >= 0x20 && c < 0x7f)
      fputc(c, f);
    else
      fprintf(f, "\\x%02x\"\"", c); /* "" ends a hex escape */
  }
  fputc('"', f);
  if (n > limit)
    fprintf(f, "... (%zu bytes)", n);
}

#if defined(__GNUC__) || defined(__clang__)
__attribute__((noreturn, format(printf, 3, 4)))
#endif
static inline void
f2_fail(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "\n%s:%d: property failed: ", file, line);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\ninput (%zu bytes): ", f2_input_len);
  f2_print_bytes(stderr, f2_input, f2_input_len, 4096);
  fputc('\n', stderr);
  fflush(stderr);
  abort();
}

/* F2_CHECK(cond, fmt, ...) aborts with the message and the input when cond
 * is false. */
#define F2_CHECK(cond, ...)                                                    \
  do {                                                                         \
    if (!(cond))                                                               \
      f2_fail(__FILE__, __LINE__, __VA_ARGS__);                                \
  } while (0)

/* f2_dup copies n bytes into a heap block of exactly n bytes (at least 1:
 * malloc(0) may return NULL). No NUL is added. */
static inline char *f2_dup(const void *p, size_t n) {
  char *d = malloc(n ? n : 1);
  if (!d)
    abort();
  if (n)
    memcpy(d, p, n);
  return d;
}

/* f2_cstr copies n bytes and a NUL into a block of exactly n + 1 bytes. */
static inline char *f2_cstr(const void *p, size_t n) {
  char *d = malloc(n + 1);
  if (!d)
    abort();
  if (n)
    memcpy(d, p, n);
  d[n] = '\0';
  return d;
}

/* f2_reader: consumes an input from the front. Past the end, numbers read
 * as 0 and byte runs as empty. */
typedef struct f2_reader {
  const uint8_t *p;
  size_t n;
} f2_reader;

static inline uint8_t f2_u8(f2_reader *r) {
  if (!r->n)
    return 0;
  r->n--;
  return *r->p++;
}

static inline uint16_t f2_u16(f2_reader *r) {
  uint16_t a = f2_u8(r);
  return (uint16_t)(a | (uint16_t)f2_u8(r) << 8);
}

static inline uint64_t f2_u64(f2_reader *r) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v |= (uint64_t)f2_u8(r) << (8 * i);
  return v;
}

/* f2_take takes up to want bytes; *got says how many. */
static inline const uint8_t *f2_take(f2_reader *r, size_t want, size_t *got) {
  const uint8_t *p = r->p;
  *got = want < r->n ? want : r->n;
  r->p += *got;
  r->n -= *got;
  return p;
}

/* f2_field takes the bytes up to the next sep (or the end), and the sep. */
static inline const uint8_t *f2_field(f2_reader *r, uint8_t sep, size_t *len) {
  const uint8_t *p = r->p;
  const uint8_t *e = r->n ? memchr(p, sep, r->n) : NULL;
  *len = e ? (size_t)(e - p) : r->n;
  size_t used = e ? *len + 1 : *len;
  r->p += used;
  r->n -= used;
  return p;
}

/* f2_has_ctl tells whether s holds a control byte (< 0x20 or 0x7f). */
static inline bool f2_has_ctl(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
      return true;
  return false;
}

#endif /* ROSTER_FUZZ2_UTIL_H */
