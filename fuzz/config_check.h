/*
 * config_check.h: the properties every config harness checks on a parsed
 * or loaded configuration (fuzz_toml, fuzz_yaml, fuzz_json, fuzz_dotenv,
 * fuzz_config_layers):
 *  - every dump (indented, compact, with provenance, with secrets) is one
 *    valid JSON document, an object;
 *  - the dump with secrets, parsed again as JSON and dumped again, is the
 *    same document (unless a string holds "${", which the second parse
 *    would expand);
 *  - the redacted dump never shows the marker when every value holding it
 *    is a secret (its key looks like one: roster_url_secret_key on any
 *    segment) or the password or a secret query value of a well-formed URL,
 *    and no key holds it; a secret leaf's value is always "***".
 */
#ifndef ROSTER_FUZZ_CONFIG_CHECK_H
#define ROSTER_FUZZ_CONFIG_CHECK_H

#include "fuzz_util.h"

#include <strings.h>

/* The secret every seed uses: db_password = "Zs3cr3tQ". */
#define FUZZ_MARKER "Zs3cr3tQ"

/* fuzz_ci_contains: needle occurs in s, any case. */
static inline bool fuzz_ci_contains(const char *s, const char *needle) {
  size_t n = strlen(needle);
  for (; s && *s; s++)
    if (strncasecmp(s, needle, n) == 0)
      return true;
  return false;
}

/* fuzz_url_hides: text is a URL that roster_url_redact must strip of every
 * copy of marker: it parses, and marker appears (decoded) only in its
 * password or in values of query parameters whose name is a secret. */
static inline bool fuzz_url_hides(const char *text, const char *marker) {
  if (!strstr(text, "://") || strlen(text) > ROSTER_URL_MAX)
    return false;
  roster_url *u = NULL;
  if (roster_url_parse(text, &u) != ROSTER_OK)
    return false;
  bool hides = fuzz_contains(u->password, marker);
  bool shown =
      fuzz_ci_contains(u->scheme, marker) || fuzz_contains(u->user, marker) ||
      fuzz_contains(u->host, marker) || fuzz_contains(u->hosts, marker) ||
      fuzz_contains(u->path, marker) || fuzz_contains(u->fragment, marker);
  for (size_t i = 0; i < u->nquery; i++) {
    if (fuzz_contains(u->query_keys[i], marker))
      shown = true;
    if (fuzz_contains(u->query_values[i], marker)) {
      if (roster_url_secret_key(u->query_keys[i]))
        hides = true;
      else
        shown = true;
    }
  }
  roster_url_free(u);
  return hides && !shown;
}

typedef struct fuzz_secret_ctx {
  const char *marker;
  bool shown; /* some key or non-secret value shows the marker */
  size_t secrets;
} fuzz_secret_ctx;

static inline int fuzz_secret_visit(const roster_config_item *it, void *arg) {
  fuzz_secret_ctx *c = arg;
  FUZZ_CHECK(it->key && it->value && it->source,
             "foreach item with a NULL field");
  if (fuzz_contains(it->key, c->marker))
    c->shown = true;
  if (it->secret && it->type != ROSTER_CONFIG_NULL &&
      it->type != ROSTER_CONFIG_LIST && it->type != ROSTER_CONFIG_OBJECT)
    c->secrets++;
  if (!it->secret && fuzz_contains(it->value, c->marker) &&
      !fuzz_url_hides(it->value, c->marker))
    c->shown = true;
  return 0;
}

/* fuzz_count_stars counts "***" string leaves in j. */
static inline size_t fuzz_count_stars(json_t *j) {
  size_t n = 0;
  if (json_is_string(j))
    return strcmp(json_string_value(j), "***") == 0;
  if (json_is_object(j)) {
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v) n += fuzz_count_stars(v);
  } else if (json_is_array(j)) {
    size_t i;
    json_t *v;
    json_array_foreach(j, i, v) n += fuzz_count_stars(v);
  }
  return n;
}

/* fuzz_dump_json dumps cfg with flags and returns the parsed document (the
 * text in *text if text is not NULL, else freed). */
static inline json_t *fuzz_dump_json(const roster_config *cfg, unsigned flags,
                                     char **text) {
  char *out = NULL;
  int rc = roster_config_dump(cfg, flags, &out);
  FUZZ_CHECK(rc == ROSTER_OK && out, "roster_config_dump(flags %u): %d %s",
             flags, rc, roster_last_error());
  json_t *j = fuzz_json_parse(out);
  FUZZ_CHECK(j != NULL, "dump (flags %u) is not valid JSON: %s", flags, out);
  FUZZ_CHECK(json_is_object(j), "dump (flags %u) is not an object: %s", flags,
             out);
  if (text)
    *text = out;
  else
    roster_mem_free(out);
  return j;
}

/* fuzz_config_check checks the properties above on cfg (a loaded config or
 * a view). marker may be NULL (no secret check). */
static inline void fuzz_config_check(const roster_config *cfg,
                                     const char *marker) {
  char *red = NULL, *all = NULL;
  json_t *jr = fuzz_dump_json(cfg, 0, &red);
  json_t *jc = fuzz_dump_json(cfg, ROSTER_CONFIG_DUMP_COMPACT, NULL);
  FUZZ_CHECK(json_equal(jr, jc), "compact and indented dumps differ: %s", red);
  json_decref(jc);
  json_t *jp = fuzz_dump_json(
      cfg, ROSTER_CONFIG_DUMP_PROVENANCE | ROSTER_CONFIG_DUMP_COMPACT, NULL);
  FUZZ_CHECK(json_equal(json_object_get(jp, "config"), jr),
             "the provenance dump's config differs from the dump: %s", red);
  FUZZ_CHECK(json_is_object(json_object_get(jp, "provenance")),
             "the provenance dump has no provenance object");
  json_decref(jp);
  json_t *ja = fuzz_dump_json(
      cfg, ROSTER_CONFIG_DUMP_SECRETS | ROSTER_CONFIG_DUMP_COMPACT, &all);

  /* Secrets: every secret leaf is "***", and the marker is hidden. */
  fuzz_secret_ctx sc = {.marker = marker ? marker : FUZZ_MARKER};
  int rc = roster_config_foreach(cfg, NULL, fuzz_secret_visit, &sc);
  FUZZ_CHECK(rc == ROSTER_OK, "roster_config_foreach: %d %s", rc,
             roster_last_error());
  FUZZ_CHECK(fuzz_count_stars(jr) >= sc.secrets,
             "%zu secret leaves but fewer \"***\" in the dump: %s", sc.secrets,
             red);
  if (marker && !sc.shown)
    FUZZ_CHECK(!fuzz_contains(red, marker), "the dump shows the secret %s: %s",
               marker, red);

  /* Round trip through the JSON parser. */
  if (!strstr(all, "${")) {
    roster_config *again = NULL;
    rc = roster_config_parse(all, strlen(all), "json", "dump.json", &again);
    FUZZ_CHECK(rc == ROSTER_OK, "the dump does not parse as JSON: %d %s\n%s",
               rc, roster_last_error(), all);
    json_t *j2 = fuzz_dump_json(
        again, ROSTER_CONFIG_DUMP_SECRETS | ROSTER_CONFIG_DUMP_COMPACT, NULL);
    FUZZ_CHECK(json_equal(ja, j2),
               "parse(dump) differs from the tree; dump: %s", all);
    json_decref(j2);
    roster_config_release(again);
  }
  json_decref(ja);
  json_decref(jr);
  roster_mem_free(red);
  roster_mem_free(all);
}

/* fuzz_config_doc parses data as one document of format and checks it: on
 * success the properties above, on failure a clean error detail. */
static inline void fuzz_config_doc(const uint8_t *data, size_t size,
                                   const char *format, const char *name) {
  char *text = fuzz_copy_exact(data, size);
  roster_config *cfg = NULL;
  int rc = roster_config_parse(text, size, format, name, &cfg);
  if (rc == ROSTER_OK) {
    FUZZ_CHECK(cfg != NULL, "success without a config");
    fuzz_config_check(cfg, FUZZ_MARKER);
    roster_config_release(cfg);
  } else {
    FUZZ_CHECK(cfg == NULL, "failure (%d) with a config", rc);
    FUZZ_CHECK(rc == ROSTER_EPARSE || rc == ROSTER_ENOENT ||
                   rc == ROSTER_EINVAL,
               "unexpected code %d: %s", rc, roster_last_error());
    fuzz_error_ok("roster_config_parse", rc, NULL);
  }
  free(text);
}

#endif /* ROSTER_FUZZ_CONFIG_CHECK_H */
