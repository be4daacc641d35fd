/*
 * fuzz_retry_after.c: the HTTP client's reader of Retry-After values
 * (roster__http_retry_after_ms, modules/http/retry_after.c): delta
 * seconds or an HTTP date (read by curl_getdate).
 *
 * Input: the header value (the C string before the first NUL, in a block
 * of exactly its size).
 *
 * Properties:
 *  - the result is -1 or a wait in [0, 2^40] ms, the same on a second
 *    call;
 *  - spaces and tabs around the value change nothing;
 *  - a value of digits alone is that many seconds (saturating at 2^40
 *    ms), computed here independently; one starting with a digit and
 *    holding anything else is -1, as is one starting with neither a digit
 *    nor a letter;
 *  - a date is absolute: ten seconds later the wait is ten seconds
 *    shorter (or 0 for a date already past; the same when saturated).
 *
 * Inputs up to 128 bytes.
 * fuzz-max-len: 128
 * fuzz-link: roster_http_static
 */
#include "fuzz_util.h"

#include "../modules/http/http_impl.h"

#define CAP ((int64_t)1 << 40)
#define NOW ((time_t)1767225600) /* 2026-01-01 00:00:00 UTC */

static int64_t reference_digits(const char *s, size_t n, bool *digits) {
  *digits = n > 0;
  int64_t ms = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') {
      *digits = false;
      return -1;
    }
    ms = ms >= CAP ? CAP : ms * 10 + (s[i] - '0') * 1000;
  }
  return ms >= CAP ? CAP : ms;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_begin(data, size);
  char *v = fuzz_strndup(data, size);
  int64_t r = roster__http_retry_after_ms(v, NOW);
  FUZZ_CHECK(r == -1 || (r >= 0 && r <= CAP), "result %lld out of range",
             (long long)r);
  FUZZ_CHECK(roster__http_retry_after_ms(v, NOW) == r, "not deterministic");

  size_t len = strlen(v);
  char *padded = malloc(len + 5);
  if (!padded)
    abort();
  snprintf(padded, len + 5, " \t%s\t ", v);
  FUZZ_CHECK(roster__http_retry_after_ms(padded, NOW) == r,
             "padding changed the result");
  free(padded);

  const char *s = v;
  while (*s == ' ' || *s == '\t')
    s++;
  size_t n = strlen(s);
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    n--;
  bool digits;
  int64_t want = reference_digits(s, n, &digits);
  if (n && s[0] >= '0' && s[0] <= '9')
    FUZZ_CHECK(r == want, "delta seconds: got %lld, want %lld", (long long)r,
               (long long)want);
  else if (!n ||
           !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
    FUZZ_CHECK(r == -1, "neither digits nor a date, yet %lld", (long long)r);
  else if (r >= 0) {
    int64_t later = roster__http_retry_after_ms(v, NOW + 10);
    int64_t expect = r == CAP ? later : r > 10000 ? r - 10000 : 0;
    FUZZ_CHECK(later == expect, "a date is not absolute: %lld then %lld",
               (long long)r, (long long)later);
  }
  (void)digits;
  free(v);
  return 0;
}
