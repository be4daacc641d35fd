/*
 * fuzz_config_layers.c: a layered config with a schema, loaded and
 * validated (roster_config_new, roster_config_load).
 *
 * Input: choices read from the front: flags (the file's format, strict,
 * a missing file), a schema of up to six fields (keys from a vocabulary
 * that includes secrets, a long key ending in _password and keys spelt by
 * the input; every type; required; defaults, ranges and allowed values),
 * then up to sixteen values, each put in one layer: defaults_json, a
 * config file (JSON, YAML or TOML, written from the values), the .env
 * file, environment variables (APP_...) or overrides. Values are strings
 * spelt by the input, numbers, booleans, null, lists, objects, durations,
 * sizes, and the marker "Zs3cr3tQ": only ever as the value of a secret key
 * or as the password of a URL. With flag 0x10 the file is instead the
 * input's last part, raw.
 *
 * Properties:
 *  - a load that succeeds passes config_check.h (dumps are JSON, read back
 *    the same, never show the marker), every required field is set, every
 *    field's typed getter accepts what validation accepted, within the
 *    field's range, and roster_config_errors is NULL;
 *  - a failure leaves an error detail and roster_config_errors that are
 *    clean text (valid UTF-8, no control character) without the marker
 *    (when the input spelt no marker of its own); a failed validation
 *    gives one line per problem, each with a location (default, override,
 *    env NAME, file:line) or "required, but not set".
 *
 * Inputs up to 2048 bytes.
 * fuzz-max-len: 2048
 */
#include "config_check.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];
static char path_json[300], path_yaml[300], path_toml[300], path_env[300],
    path_missing[300];

static void cleanup(void) {
  unlink(path_json);
  unlink(path_yaml);
  unlink(path_toml);
  unlink(path_env);
  rmdir(dir);
}

/* remove_stale removes the directories of runs that died without cleaning
 * up (a failed check aborts): those whose process is gone. */
static void remove_stale(const char *base) {
  DIR *d = opendir(base);
  if (!d)
    return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    long pid;
    char rest;
    if (sscanf(e->d_name, "roster-fuzz-layers-%ld%c", &pid, &rest) != 1 ||
        pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
      continue;
    static const char *const names[] = {"app.json", "app.yaml", "app.toml",
                                        "app.env"};
    char p[512];
    for (size_t i = 0; i < 4; i++) {
      snprintf(p, sizeof p, "%s/%s/%s", base, e->d_name, names[i]);
      unlink(p);
    }
    snprintf(p, sizeof p, "%s/%s", base, e->d_name);
    rmdir(p);
  }
  closedir(d);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  remove_stale(base);
  snprintf(dir, sizeof dir, "%s/roster-fuzz-layers-%ld", base, (long)getpid());
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    perror(dir);
    abort();
  }
  snprintf(path_json, sizeof path_json, "%s/app.json", dir);
  snprintf(path_yaml, sizeof path_yaml, "%s/app.yaml", dir);
  snprintf(path_toml, sizeof path_toml, "%s/app.toml", dir);
  snprintf(path_env, sizeof path_env, "%s/app.env", dir);
  snprintf(path_missing, sizeof path_missing, "%s/missing.toml", dir);
  atexit(cleanup);
  return 0;
}

/* ---- reading choices from the input ---- */

/* take_str reads a length byte and that many bytes into a C string (NUL
 * bytes dropped, and newlines when line is set); caller frees. */
static char *take_str(fuzz_reader *r, size_t max, bool line) {
  size_t n;
  const uint8_t *p = fuzz_bytes(r, fuzz_u8(r) % (max + 1), &n);
  char *s = fuzz_cstr(p, n), *o = s;
  for (const char *c = s; *c; c++)
    if (!(line && (*c == '\n' || *c == '\r')))
      *o++ = *c;
  *o = '\0';
  return s;
}

static const char *const vocab[] = {"http.port",
                                    "http.host",
                                    "db_password",
                                    "database.url",
                                    "database.password",
                                    "database.pool.max",
                                    "log.level",
                                    "timeout",
                                    "max_size",
                                    "hosts",
                                    "api_key",
                                    "services.db.url",
                                    "auth.tokens",
                                    "name",
                                    "a.b.c",
                                    "servers.0.host",
                                    "auth.client_secret",
                                    "ratio",
                                    "debug",
                                    "database"};
#define NVOCAB (sizeof vocab / sizeof vocab[0])

static char long_key[400];

/* take_key: a key from the vocabulary, the long secret key, or spelt by
 * the input (lower-case letters, digits, '_' and '.'); caller frees. */
static char *take_key(fuzz_reader *r) {
  uint8_t k = fuzz_u8(r);
  if (k < 0xE0)
    return strdup(vocab[k % NVOCAB]);
  if (k < 0xF0)
    return strdup(long_key);
  char *s = take_str(r, 24, true);
  for (char *c = s; *c; c++) {
    unsigned char u = (unsigned char)*c;
    if (!((u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '.'))
      *c = (char)('a' + u % 26);
  }
  if (!*s) {
    free(s);
    s = strdup("k");
  }
  return s;
}

static bool key_secret(const char *key) {
  /* as the dump decides: any segment */
  char *k = strdup(key);
  bool secret = false;
  for (char *save, *seg = strtok_r(k, ".", &save); seg && !secret;
       seg = strtok_r(NULL, ".", &save))
    secret = roster_url_secret_key(seg);
  free(k);
  return secret;
}

/* ---- values ---- */

typedef struct gen {
  bool spelt_marker; /* the input spelt the marker itself somewhere */
} gen;

static const char *const durations[] = {
    "250ms", "1.5s", "1h30m", "0", "2d", "5x", "-1s", "1us", "99999999d"};
static const char *const sizes[] = {"64MB", "1GiB", "512k", "1.5KiB",
                                    "0",    "-1",   "8PiB", "9EB"};
static const char *const texts[] = {"8080", "abc",   "0x10", "1e3",  "true",
                                    "off",  "a, b",  "",     "-0",   " 7 ",
                                    "nan",  "1e999", "info", "debug"};

/* take_value makes a JSON value for key. */
static json_t *take_value(fuzz_reader *r, const char *key, gen *g, int depth) {
  uint8_t kind = fuzz_u8(r) % 12;
  switch (kind) {
  case 0: {
    char *s = take_str(r, 40, false);
    if (fuzz_contains(s, FUZZ_MARKER))
      g->spelt_marker = true;
    json_t *j = json_string(s); /* NULL if not UTF-8 */
    free(s);
    return j ? j : json_string("?");
  }
  case 1: {
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
      u = (u << 8) | fuzz_u8(r);
    int64_t v = (int64_t)u;
    if (fuzz_u8(r) & 1)
      v %= 100000;
    return json_integer(v);
  }
  case 2: {
    uint8_t b = fuzz_u8(r);
    double d = b == 0 ? INFINITY : b == 1 ? NAN : (b - 128) / 4.0;
    return json_real(isfinite(d) ? d : 0.5); /* jansson refuses others */
  }
  case 3:
    return json_boolean(fuzz_u8(r) & 1);
  case 4:
    return json_null();
  case 5: {
    json_t *a = json_array();
    size_t n = fuzz_u8(r) % 4;
    for (size_t i = 0; i < n; i++)
      json_array_append_new(a, depth < 2 ? take_value(r, key, g, depth + 1)
                                         : json_integer((json_int_t)i));
    return a;
  }
  case 6: {
    json_t *o = json_object();
    if (depth < 2) {
      char *k = take_key(r);
      json_object_set_new(o, k, take_value(r, k, g, depth + 1));
      free(k);
    }
    return o;
  }
  case 7:
  case 8: {
    /* the marker: a secret key's value, elsewhere a URL's password */
    static const char *const urls[] = {
        "postgresql://app:" FUZZ_MARKER "@db.local:5432/app",
        "redis://:" FUZZ_MARKER "@127.0.0.1:6379/0",
        "mysql://u:p@h/db?password=" FUZZ_MARKER,
        "memory://sessions?token=" FUZZ_MARKER};
    uint8_t c = fuzz_u8(r);
    if (kind == 7 && key_secret(key))
      return json_string(FUZZ_MARKER);
    return json_string(urls[c % 4]);
  }
  case 9:
    return json_string(durations[fuzz_u8(r) % 9]);
  case 10:
    return json_string(sizes[fuzz_u8(r) % 8]);
  default:
    return json_string(texts[fuzz_u8(r) % 14]);
  }
}

/* value_text: the text an untyped layer (env, .env, override) gets for v,
 * or NULL when it has none (objects). Caller frees. */
static char *value_text(json_t *v) {
  if (json_is_string(v))
    return strdup(json_string_value(v));
  if (json_is_object(v))
    return NULL;
  if (json_is_array(v)) {
    /* a list as text: "a, b" */
    size_t cap = 8, n = 0;
    char *s = calloc(1, cap);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
      char *t = value_text(e);
      if (!t)
        continue;
      size_t need = n + strlen(t) + 3;
      if (need > cap) {
        s = realloc(s, need * 2);
        cap = need * 2;
      }
      n += (size_t)sprintf(s + n, "%s%s", i ? ", " : "", t);
      free(t);
    }
    return s;
  }
  return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
}

/* ---- writing the layers ---- */

static void write_file(const char *path, const char *text, size_t len) {
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0) {
    perror(path);
    abort();
  }
}

static void tquote(fuzz_buf *b, const char *s) {
  fuzz_buf_adds(b, "\"");
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    char esc[12];
    if (c == '"' || c == '\\') {
      snprintf(esc, sizeof esc, "\\%c", c);
      fuzz_buf_adds(b, esc);
    } else if (c < 0x20 || c == 0x7f) {
      snprintf(esc, sizeof esc, "\\u%04X", c);
      fuzz_buf_adds(b, esc);
    } else {
      fuzz_buf_add(b, &c, 1);
    }
  }
  fuzz_buf_adds(b, "\"");
}

/* toml_value writes v as a TOML value (null has none: an empty table). */
static void toml_value(fuzz_buf *b, json_t *v) {
  if (json_is_string(v)) {
    tquote(b, json_string_value(v));
  } else if (json_is_integer(v) || json_is_real(v) || json_is_boolean(v)) {
    char *t = json_dumps(v, JSON_ENCODE_ANY);
    fuzz_buf_adds(b, t);
    free(t);
  } else if (json_is_array(v)) {
    fuzz_buf_adds(b, "[");
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
      if (i)
        fuzz_buf_adds(b, ", ");
      toml_value(b, e);
    }
    fuzz_buf_adds(b, "]");
  } else if (json_is_object(v)) {
    fuzz_buf_adds(b, "{");
    const char *k;
    json_t *e;
    bool first = true;
    json_object_foreach(v, k, e) {
      if (!first)
        fuzz_buf_adds(b, ", ");
      first = false;
      tquote(b, k);
      fuzz_buf_adds(b, " = ");
      toml_value(b, e);
    }
    fuzz_buf_adds(b, "}");
  } else {
    fuzz_buf_adds(b, "{}");
  }
}

/* toml_leaves writes the leaves below v as lines "path" = value, each
 * segment of the path quoted. */
static void toml_leaves(fuzz_buf *b, fuzz_buf *path, json_t *v) {
  if (json_is_object(v) && json_object_size(v) > 0) {
    size_t base = path->n;
    const char *k;
    json_t *e;
    json_object_foreach(v, k, e) {
      if (base)
        fuzz_buf_adds(path, ".");
      tquote(path, k);
      toml_leaves(b, path, e);
      path->n = base;
      path->p[base] = '\0';
    }
    return;
  }
  fuzz_buf_add(b, path->p, path->n);
  fuzz_buf_adds(b, " = ");
  toml_value(b, v);
  fuzz_buf_adds(b, "\n");
}

/* toml_of writes the file layer (nested objects) as TOML. */
static char *toml_of(json_t *obj) {
  fuzz_buf b = {0}, path = {0};
  fuzz_buf_adds(&b, "# generated\n");
  fuzz_buf_reset(&path);
  if (json_object_size(obj))
    toml_leaves(&b, &path, obj);
  free(path.p);
  return b.p;
}

/* set_dotted puts v at the dotted key below obj, making objects on the way
 * (and replacing what is not one). */
static void set_dotted(json_t *obj, const char *key, json_t *v) {
  char *k = strdup(key);
  json_t *at = obj;
  char *save, *seg = strtok_r(k, ".", &save);
  while (seg) {
    char *next = strtok_r(NULL, ".", &save);
    if (!next) {
      json_object_set(at, seg, v);
      break;
    }
    json_t *child = json_object_get(at, seg);
    if (!json_is_object(child)) {
      child = json_object();
      json_object_set_new(at, seg, child);
    }
    at = child;
    seg = next;
  }
  free(k);
}

/* env_name: APP_ and the key upper-cased with '.' as "__". */
static char *env_name(const char *key) {
  size_t n = strlen(key);
  char *s = malloc(4 + 2 * n + 1), *o = s;
  memcpy(o, "APP_", 4);
  o += 4;
  for (const char *c = key; *c; c++) {
    if (*c == '.') {
      *o++ = '_';
      *o++ = '_';
    } else {
      *o++ = (*c >= 'a' && *c <= 'z') ? (char)(*c - 'a' + 'A') : *c;
    }
  }
  *o = '\0';
  return s;
}

/* ---- checks ---- */

static const char *const type_names[] = {"any",    "string", "int",
                                         "double", "bool",   "duration",
                                         "size",   "list",   "object"};

static void check_field(const roster_config *cfg,
                        const roster_config_field *f) {
  bool has = roster_config_has(cfg, f->key);
  if (f->required)
    FUZZ_CHECK(has, "required field %s is not set after a load", f->key);
  if (!has)
    return;
  int rc = ROSTER_OK;
  double num = NAN;
  switch (f->type) {
  case ROSTER_CONFIG_STRING: {
    char *s = NULL;
    rc = roster_config_string(cfg, f->key, NULL, &s);
    if (rc == ROSTER_OK && s)
      num = (double)strlen(s);
    roster_mem_free(s);
    break;
  }
  case ROSTER_CONFIG_INT: {
    int64_t v;
    rc = roster_config_int(cfg, f->key, 0, &v);
    num = (double)v;
    break;
  }
  case ROSTER_CONFIG_DOUBLE:
    rc = roster_config_double(cfg, f->key, 0, &num);
    break;
  case ROSTER_CONFIG_BOOL: {
    bool b;
    rc = roster_config_bool(cfg, f->key, false, &b);
    break;
  }
  case ROSTER_CONFIG_DURATION: {
    int64_t v;
    rc = roster_config_duration(cfg, f->key, 0, &v);
    num = (double)v;
    break;
  }
  case ROSTER_CONFIG_SIZE: {
    int64_t v;
    rc = roster_config_size(cfg, f->key, 0, &v);
    num = (double)v;
    break;
  }
  case ROSTER_CONFIG_LIST: {
    char **l = NULL;
    size_t n = 0;
    rc = roster_config_list(cfg, f->key, &l, &n);
    num = (double)n;
    roster_config_list_free(l);
    break;
  }
  default:
    return;
  }
  FUZZ_CHECK(rc == ROSTER_OK,
             "field %s (%s) passed validation but its getter fails: %d %s",
             f->key, type_names[f->type], rc, roster_last_error());
  if (f->min < f->max && !isnan(num) && f->type != ROSTER_CONFIG_BOOL)
    FUZZ_CHECK(num >= f->min && num <= f->max,
               "field %s: %g passed validation outside [%g, %g]", f->key, num,
               f->min, f->max);
}

/* has_location: a validation problem says where its value came from. */
static bool has_location(const char *line) {
  if (strstr(line, ": required, but not set"))
    return true;
  const char *const starts[] = {"default: ", "override: ", "env APP_",
                                path_json,   path_yaml,    path_toml,
                                path_env};
  for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++)
    if (strncmp(line, starts[i], strlen(starts[i])) == 0)
      return true;
  return false;
}

static void check_failure(roster_config *cfg, int rc, bool marker_check) {
  fuzz_error_ok("roster_config_load", rc, marker_check ? FUZZ_MARKER : NULL);
  char *all = roster_config_errors(cfg);
  FUZZ_CHECK(all && all[0], "a failed load without roster_config_errors");
  const char *bad = fuzz_text_bad(all, true);
  FUZZ_CHECK(!bad, "roster_config_errors holds %s: %s", bad, all);
  if (marker_check)
    FUZZ_CHECK(!fuzz_contains(all, FUZZ_MARKER),
               "roster_config_errors shows the secret: %s", all);
  if (rc == ROSTER_ECONSTRAINT) {
    for (char *save, *line = strtok_r(all, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save))
      FUZZ_CHECK(has_location(line),
                 "validation problem without a location: %s", line);
  }
  roster_mem_free(all);
}

#define NFIELDS 6
#define NVALUES 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_begin(data, size);
  if (!long_key[0]) {
    memset(long_key, 'k', 300);
    strcpy(long_key + 300, "_password");
  }
  fuzz_reader r = {data, size};
  uint8_t flags = fuzz_u8(&r);
  unsigned format = flags & 3; /* 0 json, 1 yaml, 2 toml, 3 no file */
  gen g = {0};

  /* the schema */
  roster_config_field fields[NFIELDS + 1];
  memset(fields, 0, sizeof fields);
  char *owned[NFIELDS * 6];
  size_t nowned = 0;
  const char *allowed_sets[][4] = {{"debug", "info", "warn", NULL},
                                   {"8080", "80", NULL, NULL},
                                   {"on", "off", NULL, NULL}};
  size_t nf = fuzz_u8(&r) % (NFIELDS + 1);
  for (size_t i = 0; i < nf; i++) {
    roster_config_field *f = &fields[i];
    char *key = take_key(&r);
    owned[nowned++] = key;
    f->key = key;
    uint8_t t = fuzz_u8(&r);
    f->type = (roster_config_kind)((t & 0x0f) % 9);
    f->required = (t & 0x10) != 0;
    if (t & 0x20) {
      uint8_t d = fuzz_u8(&r);
      const char *def = d < 64    ? texts[d % 14]
                        : d < 128 ? durations[d % 9]
                        : d < 160 ? sizes[d % 8]
                        : d < 176 ? FUZZ_MARKER
                                  : NULL;
      char *own = def ? strdup(def) : take_str(&r, 16, false);
      if (fuzz_contains(own, FUZZ_MARKER) && (def == NULL || !key_secret(key)))
        g.spelt_marker = true;
      owned[nowned++] = own;
      f->def = own;
    }
    if (t & 0x40) {
      f->min = (double)(int8_t)fuzz_u8(&r);
      f->max = f->min + fuzz_u8(&r);
    }
    if (t & 0x80)
      f->allowed = allowed_sets[fuzz_u8(&r) % 3];
  }

  /* the values, by layer */
  json_t *defaults = json_object(), *file = json_object();
  fuzz_buf dotenv = {0};
  char *env[NVALUES + 1] = {0}, *overrides[NVALUES + 1] = {0};
  size_t nenv = 0, nover = 0;
  size_t nv = fuzz_u8(&r) % (NVALUES + 1);
  for (size_t i = 0; i < nv; i++) {
    uint8_t layer = fuzz_u8(&r) % 5;
    char *key = take_key(&r);
    json_t *v = take_value(&r, key, &g, 0);
    if (layer == 0) {
      set_dotted(defaults, key, v);
    } else if (layer == 1) {
      set_dotted(file, key, v);
    } else {
      char *text = value_text(v);
      if (text && !strpbrk(text, "\n\r")) {
        char *name = env_name(key);
        if (layer == 2 && !strchr(text, '\'')) {
          /* single quotes: taken as written, no ${} */
          fuzz_buf_adds(&dotenv, name);
          fuzz_buf_adds(&dotenv, "='");
          fuzz_buf_adds(&dotenv, text);
          fuzz_buf_adds(&dotenv, "'\n");
        } else {
          size_t need = strlen(name) + strlen(text) + strlen(key) + 2;
          char *kv = malloc(need);
          snprintf(kv, need, "%s=%s", layer != 4 ? name : key, text);
          if (layer != 4)
            env[nenv++] = kv;
          else
            overrides[nover++] = kv;
        }
        free(name);
      }
      free(text);
    }
    json_decref(v);
    free(key);
  }

  /* the file: written from the values, or the rest of the input raw */
  const char *files[3] = {NULL, NULL, NULL};
  size_t nfiles = 0;
  if (flags & 0x10) {
    const char *paths[] = {path_json, path_yaml, path_toml, path_toml};
    write_file(paths[format], (const char *)r.p, r.n);
    files[nfiles++] = paths[format];
    if (fuzz_mem_contains(r.p, r.n, FUZZ_MARKER))
      g.spelt_marker = true;
  } else if (format != 3) {
    char *text = format == 2 ? toml_of(file) : json_dumps(file, JSON_INDENT(1));
    const char *path = format == 0   ? path_json
                       : format == 1 ? path_yaml
                                     : path_toml;
    write_file(path, text, strlen(text));
    free(text);
    files[nfiles++] = path;
  }
  if (flags & 0x20)
    files[nfiles++] = path_missing;
  if (dotenv.p)
    write_file(path_env, dotenv.p, dotenv.n);
  char *defaults_text =
      json_object_size(defaults) ? json_dumps(defaults, JSON_COMPACT) : NULL;

  roster_config_options o = {
      .files = nfiles ? files : NULL,
      .env_file = dotenv.p ? path_env : NULL,
      .missing_ok = (flags & 0x20) != 0,
      .env_prefix = "APP",
      .env = (const char *const *)env,
      .overrides = nover ? (const char *const *)overrides : NULL,
      .defaults_json = defaults_text,
      .schema = nf ? fields : NULL,
      .strict = (flags & 0x04) != 0 && (flags & 0x08) != 0,
  };
  bool marker_check = !g.spelt_marker;
  roster_config *cfg = NULL;
  if (roster_config_new(&o, &cfg) != ROSTER_OK) {
    fuzz_error_ok("roster_config_new", roster_last_code(),
                  marker_check ? FUZZ_MARKER : NULL);
  } else {
    int rc = roster_config_load(cfg);
    if (rc == ROSTER_OK) {
      fuzz_config_check(cfg, marker_check ? FUZZ_MARKER : NULL);
      for (size_t i = 0; i < nf; i++)
        check_field(cfg, &fields[i]);
      FUZZ_CHECK(roster_config_errors(cfg) == NULL,
                 "roster_config_errors after a successful load");
    } else {
      check_failure(cfg, rc, marker_check);
    }
    roster_config_free(cfg);
  }

  free(defaults_text);
  free(dotenv.p);
  json_decref(defaults);
  json_decref(file);
  for (size_t i = 0; i < nenv; i++)
    free(env[i]);
  for (size_t i = 0; i < nover; i++)
    free(overrides[i]);
  for (size_t i = 0; i < nowned; i++)
    free(owned[i]);
  return 0;
}
