/*
 * fuzz_url.c: roster_url_parse, roster_url_query and roster_url_redact.
 *
 * Input: the first byte picks how the rest becomes a URL:
 *  - raw (top bit set): the rest is the URL (NUL bytes dropped);
 *  - built: the rest is cut at NUL bytes into scheme, user, the text before
 *    and after the secret marker in the password, host, the tail (port,
 *    path, query, fragment as given) and the spelling of a secret query
 *    name; the low bits choose "scheme://", "//", no scheme at all
 *    ("user:PW@host", a forgotten scheme) or "scheme:"; whether the
 *    password holds the marker "Zs3cr3tQ" (with hostile neighbours such as
 *    unencoded # ? @ / from the input, and maybe one of its bytes
 *    percent-encoded); whether a query parameter with a secret name
 *    (password, token, api_key..., in any case and with any of its bytes
 *    percent-encoded: pass%77ord) holds it.
 *
 * Properties:
 *  - when the marker sits only in the password or in a secret parameter's
 *    value, it never appears in roster_url_redact's output (at any buffer
 *    size) nor in roster_last_error after the parse (a "password" of the
 *    form without a scheme that starts with "//" is a user name:
 *    "user://pw@host");
 *  - redaction always ends in NUL, is valid UTF-8 without control
 *    characters (fuzz_text_bad), and a smaller buffer gets a prefix of what
 *    the largest one gets;
 *  - a failed parse leaves an error detail that is not empty and is clean
 *    text in the same way; a successful one has a lower-case scheme, a
 *    port in 0..65535, a password only with a user, no "%00" in the text
 *    (a NUL would cut a part short), and roster_url_query answers each
 *    key's last value;
 *  - the decoded password of a raw URL shows in the redaction only where
 *    the text has it outside the user info too.
 *
 * Inputs up to 2048 bytes.
 * fuzz-max-len: 2048
 */
#include "config_check.h"

#include <uriparser/Uri.h>

#define MAX_TEXT (ROSTER_URL_MAX + 512)

/* put_clean appends n bytes of s without NUL bytes and, when drop is not
 * NULL, without the bytes it lists. */
static void put_clean(fuzz_buf *b, const uint8_t *s, size_t n,
                      const char *drop) {
  for (size_t i = 0; i < n; i++)
    if (s[i] && !(drop && strchr(drop, s[i])))
      fuzz_buf_add(b, s + i, 1);
}

static const char *const secret_names[] = {
    "password",    "passwd",     "pwd",           "secret", "token",
    "apikey",      "api_key",    "api-key",       "key",    "credential",
    "db_password", "auth_token", "client_secret", "x.key"};

/* put_secret_name appends a secret name in the spelling the bits of sel
 * choose: each byte may change case and may be percent-encoded. */
static void put_secret_name(fuzz_buf *b, const uint8_t *sel, size_t n) {
  const char *name = secret_names[(n ? sel[0] : 0) %
                                  (sizeof secret_names / sizeof *secret_names)];
  for (size_t i = 0; name[i]; i++) {
    uint8_t bits = i + 1 < n ? sel[i + 1] : 0;
    char c = name[i];
    if ((bits & 1) && c >= 'a' && c <= 'z')
      c = (char)(c - 'a' + 'A');
    if (bits & 2) {
      char enc[4];
      snprintf(enc, sizeof enc, (bits & 4) ? "%%%02X" : "%%%02x",
               (unsigned char)c);
      fuzz_buf_adds(b, enc);
    } else {
      fuzz_buf_add(b, &c, 1);
    }
  }
}

/* only_inside: every occurrence of needle in text lies inside one of the
 * ranges [lo[i], hi[i]). */
static bool only_inside(const char *text, const char *needle, const size_t *lo,
                        const size_t *hi, size_t nr) {
  size_t m = strlen(needle);
  for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle)) {
    size_t at = (size_t)(p - text);
    bool in = false;
    for (size_t i = 0; i < nr && !in; i++)
      in = at >= lo[i] && at + m <= hi[i];
    if (!in)
      return false;
  }
  return true;
}

/* check_redact checks the redaction of text at several buffer sizes; each
 * string in hidden (NULL-terminated) must not appear in any of them. */
static void check_redact(const char *text, const char *const *hidden) {
  static char full[MAX_TEXT * 4 + 64];
  roster_url_redact(text, full, sizeof full);
  size_t flen = strlen(full);
  FUZZ_CHECK(flen < sizeof full - 1, "redaction filled its whole buffer");
  const char *bad = fuzz_text_bad(full, false);
  FUZZ_CHECK(!bad, "redaction holds %s: %s", bad, full);
  for (size_t i = 0; hidden && hidden[i]; i++)
    FUZZ_CHECK(!fuzz_contains(full, hidden[i]),
               "redaction shows the secret '%s': %s", hidden[i], full);
  static const size_t caps[] = {1, 2, 9, 32, 64, 128, 256, 512};
  for (size_t k = 0; k < sizeof caps / sizeof caps[0]; k++) {
    char small[512 + 8];
    memset(small, 'x', sizeof small);
    char *r = roster_url_redact(text, small, caps[k]);
    FUZZ_CHECK(r == small, "roster_url_redact does not return buf");
    size_t n = strnlen(small, caps[k]);
    FUZZ_CHECK(n < caps[k], "redaction (cap %zu) is not NUL-terminated",
               caps[k]);
    FUZZ_CHECK(small[caps[k]] == 'x', "redaction wrote past cap %zu", caps[k]);
    /* a cut keeps whole escapes and whole "***": a prefix, maybe short */
    FUZZ_CHECK(n <= flen && memcmp(small, full, n) == 0,
               "redaction with cap %zu is not a prefix of the full one:\n"
               "  %s\n  %s",
               caps[k], small, full);
  }
  FUZZ_CHECK(roster_url_redact(text, NULL, 0) == NULL,
             "roster_url_redact(NULL buffer) returns something");
}

static bool eq(const char *a, const char *b) {
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* check_parse parses text and checks the result; hidden as above. Returns
 * the decoded password (caller frees) when it parsed with one. */
static char *check_parse(const char *text, const char *const *hidden) {
  roster_error_clear();
  roster_url *u = (roster_url *)1;
  int rc = roster_url_parse(text, &u);
  const char *err = roster_last_error();
  for (size_t i = 0; hidden && hidden[i]; i++)
    FUZZ_CHECK(!fuzz_contains(err, hidden[i]),
               "roster_url_parse's error detail shows the secret '%s': %s",
               hidden[i], err);
  if (rc != ROSTER_OK) {
    FUZZ_CHECK(u == NULL, "failed parse leaves *out set");
    FUZZ_CHECK(rc == ROSTER_EPARSE || rc == ROSTER_EINVAL,
               "unexpected code %d: %s", rc, err);
    fuzz_error_ok("roster_url_parse", rc, NULL);
    return NULL;
  }
  FUZZ_CHECK(u != NULL, "successful parse without a URL");
  FUZZ_CHECK(!fuzz_ci_contains(text, "%00"),
             "a URL holding %%00 parsed (a NUL cuts the part short)");
  FUZZ_CHECK(u->scheme && u->scheme[0], "no scheme after a parse");
  for (const char *c = u->scheme; *c; c++)
    FUZZ_CHECK(!(*c >= 'A' && *c <= 'Z'), "scheme not lower-case: %s",
               u->scheme);
  FUZZ_CHECK(u->port >= 0 && u->port <= 65535, "port %d", u->port);
  FUZZ_CHECK(u->path != NULL, "path is NULL");
  FUZZ_CHECK(!u->password || u->user, "a password without a user");
  FUZZ_CHECK(u->nquery == 0 || (u->query_keys && u->query_values),
             "query arrays missing");
  for (size_t i = 0; i < u->nquery; i++) {
    FUZZ_CHECK(u->query_keys[i] && u->query_values[i],
               "query %zu has a NULL key or value", i);
    const char *last = NULL;
    for (size_t j = 0; j < u->nquery; j++)
      if (strcmp(u->query_keys[j], u->query_keys[i]) == 0)
        last = u->query_values[j];
    FUZZ_CHECK(eq(roster_url_query(u, u->query_keys[i]), last),
               "roster_url_query(%s) is not the last value", u->query_keys[i]);
  }
  FUZZ_CHECK(roster_url_query(u, NULL) == NULL, "query(NULL) not NULL");
  char *pw = u->password && u->password[0] ? strdup(u->password) : NULL;
  roster_url_free(u);
  return pw;
}

/* userinfo_range finds the raw user info of text with uriparser: false if
 * it does not parse or has none. */
static bool userinfo_range(const char *text, size_t *lo, size_t *hi) {
  UriUriA p;
  const char *err = NULL;
  if (uriParseSingleUriA(&p, text, &err) != URI_SUCCESS)
    return false;
  bool ok = p.userInfo.first != NULL;
  if (ok) {
    *lo = (size_t)(p.userInfo.first - text);
    *hi = (size_t)(p.userInfo.afterLast - text);
  }
  uriFreeUriMembersA(&p);
  return ok;
}

static void run_raw(const uint8_t *data, size_t size) {
  char *text = fuzz_cstr(data, size);
  check_redact(text, NULL);
  char *pw = check_parse(text, NULL);
  size_t lo, hi;
  /* The password may show only where the text has it outside the
   * password (in the user or the path too). A password with ':' or '*'
   * could be made up by "user:***" itself: not checked. */
  if (pw && strlen(pw) >= 3 && !strpbrk(pw, ":*") &&
      userinfo_range(text, &lo, &hi)) {
    static char out[MAX_TEXT * 4 + 64];
    roster_url_redact(text, out, sizeof out);
    const char *colon = memchr(text + lo, ':', hi - lo);
    if (colon && fuzz_contains(out, pw)) {
      char *rest = strdup(text);
      size_t c = (size_t)(colon - text);
      memmove(rest + c, rest + hi, strlen(rest + hi) + 1);
      FUZZ_CHECK(fuzz_contains(rest, pw),
                 "redaction shows the password '%s': %s", pw, out);
      free(rest);
    }
  }
  free(pw);
  free(text);
}

enum { F_SCHEME, F_USER, F_PRE, F_POST, F_HOST, F_TAIL, F_NAME, F_COUNT };

static void run_built(uint8_t flags, const uint8_t *data, size_t size) {
  const uint8_t *f[F_COUNT];
  size_t fl[F_COUNT];
  size_t n = fuzz_split(data, size, 0, f, fl, F_COUNT);
  for (size_t i = n; i < F_COUNT; i++) {
    f[i] = data;
    fl[i] = 0;
  }
  unsigned form = flags & 3;
  bool pw = (flags & 4) != 0;
  bool query = (flags & 8) != 0;
  bool encode = (flags & 16) != 0;
  if (!pw && !query)
    pw = true;

  /* The marker as written, maybe with one byte percent-encoded. */
  char written[64];
  snprintf(written, sizeof written, "%s", FUZZ_MARKER);
  if (encode) {
    size_t k = fl[F_NAME] ? f[F_NAME][fl[F_NAME] - 1] % 8 : 3;
    snprintf(written, sizeof written, "%.*s%%%02X%s", (int)k, FUZZ_MARKER,
             (unsigned char)FUZZ_MARKER[k], &FUZZ_MARKER[k + 1]);
  }

  static fuzz_buf b; /* kept from one input to the next */
  fuzz_buf_reset(&b);
  size_t lo[2], hi[2], nr = 0;
  if (form == 0 || form == 3) {
    if (fl[F_SCHEME])
      put_clean(&b, f[F_SCHEME], fl[F_SCHEME], ":/?#@");
    else
      fuzz_buf_adds(&b, "postgresql");
    fuzz_buf_adds(&b, form == 0 ? "://" : ":");
  } else if (form == 1) {
    fuzz_buf_adds(&b, "//");
  }
  /* the user: no byte that would end the user info early */
  put_clean(&b, f[F_USER], fl[F_USER], ":/?#@");
  if (form == 2 && fl[F_USER] == 0)
    fuzz_buf_adds(&b, "user");
  if (pw) {
    fuzz_buf_adds(&b, ":");
    lo[nr] = b.n;
    put_clean(&b, f[F_PRE], fl[F_PRE], NULL);
    fuzz_buf_adds(&b, written);
    put_clean(&b, f[F_POST], fl[F_POST], NULL);
    /* without a scheme, a password that starts with "//" makes "user:" the
     * scheme and the password a user name ("user://pw@host"), which the
     * redaction keeps as it should: not a place for the marker then */
    bool user_name =
        form == 2 && b.n - lo[nr] >= 2 && memcmp(b.p + lo[nr], "//", 2) == 0;
    if (!user_name)
      hi[nr++] = b.n;
  }
  fuzz_buf_adds(&b, "@");
  size_t host_at = b.n;
  if (fl[F_HOST])
    put_clean(&b, f[F_HOST], fl[F_HOST], query ? "@#" : "@");
  else
    fuzz_buf_adds(&b, "db.local");
  /* with a secret parameter, no '#' that would make it a fragment */
  put_clean(&b, f[F_TAIL], fl[F_TAIL], query ? "#" : NULL);
  if (query) {
    /* after the host's and the tail's own query, if they have one */
    fuzz_buf_adds(&b, strchr(b.p + host_at, '?') ? "&" : "?");
    put_secret_name(&b, f[F_NAME], fl[F_NAME]);
    fuzz_buf_adds(&b, "=");
    lo[nr] = b.n;
    fuzz_buf_adds(&b, written);
    hi[nr++] = b.n;
    if (flags & 32)
      fuzz_buf_adds(&b, "&sslmode=disable");
  }
  if (b.n > ROSTER_URL_MAX)
    return; /* refused for its length before anything else */

  bool secret_only = only_inside(b.p, FUZZ_MARKER, lo, hi, nr) &&
                     only_inside(b.p, written, lo, hi, nr);
  const char *const hidden[] = {FUZZ_MARKER, written, NULL};
  check_redact(b.p, secret_only ? hidden : NULL);
  free(check_parse(b.p, secret_only ? hidden : NULL));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_begin(data, size);
  if (size == 0)
    return 0;
  if (data[0] & 0x80)
    run_raw(data + 1, size - 1);
  else
    run_built(data[0], data + 1, size - 1);
  return 0;
}
