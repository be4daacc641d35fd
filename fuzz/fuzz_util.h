/*
 * fuzz_util.h: what every harness in fuzz/ shares. A harness is one C file
 * defining LLVMFuzzerTestOneInput; it is built as a libFuzzer binary
 * (scripts/fuzz.sh) and as a replay program that runs its corpus under
 * CTest (fuzz/replay_main.c). Everything here is static inline, so a
 * harness uses what it needs and nothing else is emitted.
 *
 * Include it before anything else. A harness calls fuzz_begin(data, size)
 * first; a failed FUZZ_CHECK then prints the input (escaped, and as hex
 * when short) with its message and aborts, which libFuzzer records as a
 * crash and the replay as a failure.
 */
#ifndef ROSTER_FUZZ_UTIL_H
#define ROSTER_FUZZ_UTIL_H

/* strdup, strtok_r and the private headers want it before any system
 * header: include this file first. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <jansson.h>
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

/* fuzz_print_escaped writes n bytes of p to f as a C string literal body:
 * printable ASCII as is, \\ \" \n \r \t, everything else \xHH. */
static inline void fuzz_print_escaped(FILE *f, const void *p, size_t n) {
  const unsigned char *s = p;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = s[i];
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
    else
      fprintf(f, "\\x%02x", c);
  }
}

/* fuzz_report prints the failed check and the input, then aborts. */
static inline void fuzz_report(const char *file, int line, const char *cond) {
  fprintf(stderr, "\n%s:%d: FUZZ_CHECK(%s) failed\n", file, line, cond);
  if (!fuzz__data && fuzz__size == 0) {
    fprintf(stderr, "input: (not recorded: call fuzz_begin)\n");
  } else {
    size_t n = fuzz__size > 4096 ? 4096 : fuzz__size;
    fprintf(stderr, "input (%zu bytes): \"", fuzz__size);
    fuzz_print_escaped(stderr, fuzz__data, n);
    fprintf(stderr, "\"%s\n", n < fuzz__size ? " (cut)" : "");
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

/* FUZZ_CHECK(cond, fmt, ...): when cond is false, print fmt (printf) with
 * the input and abort. */
#define FUZZ_CHECK(cond, ...)                                                  \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "\nproperty failed: ");                                  \
      fprintf(stderr, __VA_ARGS__);                                            \
      fuzz_report(__FILE__, __LINE__, #cond);                                  \
    }                                                                          \
  } while (0)

/* fuzz_copy_exact copies the input into a heap buffer of exactly size bytes,
 * with no terminator: a parser that reads past its length trips ASan. Free
 * with free(). Aborts on allocation failure. */
static inline char *fuzz_copy_exact(const uint8_t *data, size_t size) {
  char *p = malloc(size);
  if (!p && size == 0)
    p = malloc(1); /* a malloc(0) that answers NULL */
  if (!p)
    abort();
  if (size)
    memcpy(p, data, size);
  return p;
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

/* fuzz_has_ctl: s holds a control byte (below 0x20, or 0x7f). Tabs count
 * unless allow_ws, which permits \t, \n and \r. */
static inline bool fuzz_has_ctl(const char *s, bool allow_ws) {
  for (; s && *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (allow_ws && (c == '\t' || c == '\n' || c == '\r'))
      continue;
    if (c < 0x20 || c == 0x7f)
      return true;
  }
  return false;
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
  FUZZ_CHECK(e && e[0], "%s failed (%d) with an empty error detail\n", what,
             rc);
  const char *bad = fuzz_text_bad(e, false);
  FUZZ_CHECK(!bad, "%s: error detail holds %s: %s\n", what, bad, e);
  if (marker)
    FUZZ_CHECK(!fuzz_contains(e, marker),
               "%s: error detail shows the secret %s: %s\n", what, marker, e);
}

/* fuzz_split cuts data[0, size) at each sep byte into at most max fields
 * (the last field takes the rest, separators included). fields[i] points
 * into data, lens[i] is its length. Returns the number of fields (at least
 * 1: an empty input is one empty field). */
static inline size_t fuzz_split(const uint8_t *data, size_t size, uint8_t sep,
                                const uint8_t **fields, size_t *lens,
                                size_t max) {
  size_t n = 0, start = 0;
  if (max == 0)
    return 0;
  for (size_t i = 0; i < size && n + 1 < max; i++) {
    if (data[i] == sep) {
      fields[n] = data + start;
      lens[n] = i - start;
      n++;
      start = i + 1;
    }
  }
  fields[n] = data + start;
  lens[n] = size - start;
  return n + 1;
}

/* fuzz_take reads one byte from a cursor, 0 when exhausted: for harnesses
 * that draw choices from the front of the input. */
static inline uint8_t fuzz_take(const uint8_t **data, size_t *size) {
  if (*size == 0)
    return 0;
  uint8_t c = **data;
  (*data)++;
  (*size)--;
  return c;
}

#endif /* ROSTER_FUZZ_UTIL_H */
