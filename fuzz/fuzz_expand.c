/*
 * fuzz_expand.c: ${} expansion in config strings (src/config/expand.c):
 * roster__config_expand itself, and the same string through a config load.
 *
 * Input: the first byte holds flags (bit 0: the string is the default of
 * the secret key "db_password" rather than of "name"; bit 1:
 * roster__config_expand is told it expands a secret's value); the rest is cut
 * at NUL bytes into the string to expand and up to eight variables "NAME=value"
 * (values may themselves hold ${...}: cycles, references to unset names, long
 * chains).
 *
 * Properties:
 *  - roster__config_expand agrees with a reference written from the
 *    documented rules
 *    (${NAME}, ${NAME:-default}, ${NAME-default}, $${ for a literal "${",
 *    defaults nested up to 8 levels, inserted values never expanded again,
 *    names [A-Za-z_][A-Za-z0-9_]* of at most 255 bytes, a NUL in the result
 *    refused) on the code and, on success, on the exact result (a string
 *    without "${" is kept as it is);
 *  - a failure has a message and, but for a NUL in the result, names the
 *    offset of a "${" in the string;
 *  - through the public API (the string as a default, the variables as
 *    the environment): a load that succeeds passes config_check.h, one
 *    that fails leaves roster_config_errors and a clean error detail, and
 *    for a secret key the marker "Zs3cr3tQ" never shows in either unless
 *    it is (part of) a variable name ("${XZs3cr3tQ}").
 *
 * Inputs up to 1024 bytes: names past the 255-byte limit, long chains.
 * fuzz-max-len: 1024
 */
#include "config_check.h"

#include "config/config_impl.h"

#define NVARS 8

typedef struct env {
  char *v[NVARS + 1]; /* "NAME=value", NULL-terminated */
} env;

static const char *lookup(void *arg, const char *name, size_t len) {
  env *e = arg;
  for (size_t i = 0; e->v[i]; i++)
    if (strncmp(e->v[i], name, len) == 0 && e->v[i][len] == '=')
      return e->v[i] + len + 1;
  return NULL;
}

/* ---- the reference, from expand.c's documented rules ---- */

static bool name_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool name_char(char c) {
  return name_start(c) || (c >= '0' && c <= '9');
}

/* ref_close: the '}' closing a ${ whose body starts at s, nested ${...}
 * counted; len if none. */
static size_t ref_close(const char *s, size_t len) {
  size_t depth = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '$' && i + 1 < len && s[i + 1] == '{') {
      depth++;
      i++;
    } else if (s[i] == '}') {
      if (depth == 0)
        return i;
      depth--;
    }
  }
  return len;
}

static int ref_expand(env *e, fuzz_buf *out, const char *s, size_t len,
                      int depth) {
  size_t i = 0;
  while (i < len) {
    if (s[i] != '$') {
      fuzz_buf_add(out, s + i++, 1);
    } else if (i + 2 < len && s[i + 1] == '$' && s[i + 2] == '{') {
      fuzz_buf_add(out, "${", 2);
      i += 3;
    } else if (i + 1 >= len || s[i + 1] != '{') {
      fuzz_buf_add(out, s + i++, 1);
    } else {
      const char *body = s + i + 2;
      size_t close = ref_close(body, len - i - 2);
      if (close == len - i - 2)
        return ROSTER_EPARSE; /* unterminated */
      size_t n = 0;
      if (close > 0 && name_start(body[0]))
        while (n < close && name_char(body[n]))
          n++;
      if (n == 0)
        return ROSTER_EPARSE; /* not a name */
      const char *def = NULL;
      bool empty_too = false;
      if (n < close) {
        if (body[n] == ':' && n + 1 < close && body[n + 1] == '-') {
          empty_too = true;
          def = body + n + 2;
        } else if (body[n] == '-') {
          def = body + n + 1;
        } else {
          return ROSTER_EPARSE; /* junk after the name */
        }
      }
      if (n > 255)
        return ROSTER_EPARSE;
      const char *v = lookup(e, body, n);
      if (def && (!v || (empty_too && !*v))) {
        if (depth >= 8)
          return ROSTER_EPARSE;
        int rc =
            ref_expand(e, out, def, (size_t)(body + close - def), depth + 1);
        if (rc)
          return rc;
      } else if (!v) {
        return ROSTER_ENOENT;
      } else {
        fuzz_buf_adds(out, v);
      }
      i += 2 + close + 1;
    }
  }
  return ROSTER_OK;
}

/* ---- the public path ---- */

/* marker_in_name: some copy of the marker in s is part of a variable name
 * (the name after a "${"), which messages may quote. */
static bool marker_in_name(const char *s, size_t len) {
  size_t m = strlen(FUZZ_MARKER);
  for (size_t i = 0; i + m <= len; i++) {
    if (memcmp(s + i, FUZZ_MARKER, m) != 0)
      continue;
    size_t j = i;
    while (j > 0 && name_char(s[j - 1]))
      j--;
    if (j >= 2 && s[j - 2] == '$' && s[j - 1] == '{')
      return true;
  }
  return false;
}

static void check_public(const char *s, size_t len, env *e, bool secret) {
  if (memchr(s, '\0', len))
    return; /* not a C string: the private check covers it */
  json_t *j = json_object();
  json_t *v = json_stringn(s, len);
  if (!v) { /* not UTF-8 */
    json_decref(j);
    return;
  }
  const char *key = secret ? "db_password" : "name";
  json_object_set_new(j, key, v);
  char *defaults = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  roster_config_options o = {.defaults_json = defaults,
                             .env = (const char *const *)e->v};
  roster_config *cfg = NULL;
  FUZZ_CHECK(roster_config_new(&o, &cfg) == ROSTER_OK, "roster_config_new: %s",
             roster_last_error());
  int rc = roster_config_load(cfg);
  if (rc == ROSTER_OK) {
    fuzz_config_check(cfg, FUZZ_MARKER);
  } else {
    char *all = roster_config_errors(cfg);
    FUZZ_CHECK(all && all[0], "failed load without roster_config_errors");
    fuzz_error_ok("roster_config_load", rc, NULL);
    if (secret && !marker_in_name(s, len)) {
      FUZZ_CHECK(!fuzz_contains(roster_last_error(), FUZZ_MARKER),
                 "the error shows the secret: %s", roster_last_error());
      FUZZ_CHECK(!fuzz_contains(all, FUZZ_MARKER),
                 "roster_config_errors shows the secret: %s", all);
    }
    roster_mem_free(all);
  }
  roster_config_free(cfg);
  free(defaults);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_begin(data, size);
  if (size == 0)
    return 0;
  uint8_t flags = data[0];
  const uint8_t *f[NVARS + 1];
  size_t fl[NVARS + 1];
  size_t n = fuzz_split(data + 1, size - 1, 0, f, fl, NVARS + 1);
  env e = {{0}};
  size_t nv = 0;
  for (size_t i = 1; i < n; i++)
    if (memchr(f[i], '=', fl[i])) /* "NAME=value" */
      e.v[nv++] = fuzz_cstr(f[i], fl[i]);
  char *s = fuzz_copy_exact(f[0], fl[0]);
  size_t len = fl[0];

  cfg_arena a = {0};
  const char *out = NULL;
  size_t out_len = 0, at = 0;
  bool changed = false;
  char err[512] = "";
  int rc = roster__config_expand(&a, s, len, lookup, &e, (flags & 2) != 0, &out,
                                 &out_len, &changed, &at, err, sizeof err);
  fuzz_buf ref = {0};
  fuzz_buf_reset(&ref);
  bool any = false;
  for (size_t i = 0; i + 1 < len && !any; i++)
    any = s[i] == '$' && s[i + 1] == '{';
  int want = any ? ref_expand(&e, &ref, s, len, 0) : ROSTER_OK;
  if (want == ROSTER_OK && any && memchr(ref.p, '\0', ref.n))
    want = ROSTER_EINVAL;
  FUZZ_CHECK(rc == want,
             "roster__config_expand gives %d, the reference %d (%s)", rc, want,
             err);
  if (rc == ROSTER_OK) {
    FUZZ_CHECK(changed == any, "changed is %d with%s a ${", changed,
               any ? "" : "out");
    if (any)
      FUZZ_CHECK(out_len == ref.n && memcmp(out, ref.p, ref.n) == 0,
                 "expanded to '%.*s', the reference to '%s'", (int)out_len, out,
                 ref.p);
    else
      FUZZ_CHECK(out == s && out_len == len, "unchanged text not kept");
  } else {
    FUZZ_CHECK(err[0] != '\0', "failure %d without a message", rc);
    if (rc != ROSTER_EINVAL)
      FUZZ_CHECK(at + 1 < len && s[at] == '$' && s[at + 1] == '{',
                 "error offset %zu is not at a ${ (%s)", at, err);
  }
  free(ref.p);
  roster__config_arena_free(&a);

  check_public(s, len, &e, (flags & 1) != 0);
  free(s);
  for (size_t i = 0; i < nv; i++)
    free(e.v[i]);
  return 0;
}
