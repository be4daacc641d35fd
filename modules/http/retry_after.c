/*
 * retry_after.c: the Retry-After header (RFC 9110, 10.2.3): delta seconds
 * or an HTTP date. The date is read by libcurl's curl_getdate (which
 * knows the three date forms HTTP allows); this file only trims, tells
 * the forms apart and bounds the result. fuzz/fuzz_retry_after.c checks
 * it.
 */
#include "http_impl.h"

#include <string.h>

#define MAX_MS ((int64_t)1 << 40) /* about 35 years */

int64_t roster__http_retry_after_ms(const char *v, time_t now) {
  if (!v)
    return -1;
  while (*v == ' ' || *v == '\t')
    v++;
  size_t n = strlen(v);
  while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
    n--;
  if (n == 0)
    return -1;
  if (v[0] >= '0' && v[0] <= '9') {
    int64_t ms = 0;
    for (size_t i = 0; i < n; i++) {
      if (v[i] < '0' || v[i] > '9')
        return -1;
      if (ms < MAX_MS)
        ms = ms * 10 + (v[i] - '0') * 1000;
    }
    return ms < MAX_MS ? ms : MAX_MS;
  }
  /* An HTTP date starts with the day's name: "Sun, 06 Nov 1994 08:49:37
   * GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994". */
  char buf[64];
  if (n >= sizeof buf ||
      !((v[0] >= 'A' && v[0] <= 'Z') || (v[0] >= 'a' && v[0] <= 'z')))
    return -1;
  memcpy(buf, v, n);
  buf[n] = '\0';
  time_t t = curl_getdate(buf, NULL);
  if (t == (time_t)-1)
    return -1;
  if (t <= now)
    return 0;
  int64_t d = (int64_t)t - (int64_t)now;
  return d < MAX_MS / 1000 ? d * 1000 : MAX_MS;
}
