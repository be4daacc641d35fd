/*
 * cmd_config.c: `roster config dump|check`. Both load a configuration the
 * way a program would (files, a .env file, the environment under a prefix,
 * --set overrides); dump prints the merged tree as JSON, redacted, and with
 * --provenance where each value came from; check validates it (with
 * --schema, against fields described in a config file) and prints every
 * problem. Exit codes: 0 fine, 1 the configuration is invalid, 2 bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "roster.h"

#define MAX_ARGS 64

static void usage(FILE *f) {
  fprintf(f,
          "usage: roster config dump  [options]\n"
          "       roster config check [options] [--schema F] [--strict]\n"
          "\n"
          "options:\n"
          "  --file F        a config file (.json, .yaml, .yml, .toml); "
          "repeat,\n"
          "                  later files win\n"
          "  --env-file F    a .env file\n"
          "  --prefix P      read environment variables P_* (P_A__B is a.b)\n"
          "  --set K=V       an override; repeat\n"
          "  --missing-ok    skip files that do not exist\n"
          "  --provenance    dump: add where each value came from\n"
          "  --show-secrets  dump: do not redact secrets\n"
          "  --compact       dump: one line\n"
          "  --schema F      check: the fields to check, from a config file:\n"
          "                  fields: [{key: http.port, type: int, required: "
          "true,\n"
          "                  min: 1, max: 65535, default: \"8080\", allowed: "
          "[..]}]\n"
          "  --strict        check: keys the schema does not declare are "
          "errors\n"
          "\n"
          "exit status: 0 valid, 1 invalid (the problems go to stderr), 2 "
          "bad usage\n");
}

typedef struct args {
  const char *files[MAX_ARGS + 1];
  size_t nfiles;
  const char *sets[MAX_ARGS + 1];
  size_t nsets;
  const char *env_file, *prefix, *schema;
  bool missing_ok, provenance, secrets, compact, strict;
} args;

/* parse_args fills a from argv (after the subcommand); 2 on bad usage. */
static int parse_args(int argc, char **argv, bool check, args *a) {
  for (int i = 0; i < argc; i++) {
    const char *o = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    bool takes = !strcmp(o, "--file") || !strcmp(o, "--env-file") ||
                 !strcmp(o, "--prefix") || !strcmp(o, "--set") ||
                 (check && !strcmp(o, "--schema"));
    if (takes && !v) {
      fprintf(stderr, "roster config: %s needs a value\n", o);
      return 2;
    }
    if (!strcmp(o, "--file") || !strcmp(o, "--set")) {
      bool file = o[2] == 'f';
      if ((file ? a->nfiles : a->nsets) == MAX_ARGS) {
        fprintf(stderr, "roster config: more than %d %s\n", MAX_ARGS, o);
        return 2;
      }
      if (file)
        a->files[a->nfiles++] = v;
      else
        a->sets[a->nsets++] = v;
      i++;
    } else if (!strcmp(o, "--env-file")) {
      a->env_file = v;
      i++;
    } else if (!strcmp(o, "--prefix")) {
      a->prefix = v;
      i++;
    } else if (check && !strcmp(o, "--schema")) {
      a->schema = v;
      i++;
    } else if (!strcmp(o, "--missing-ok")) {
      a->missing_ok = true;
    } else if (!check && !strcmp(o, "--provenance")) {
      a->provenance = true;
    } else if (!check && !strcmp(o, "--show-secrets")) {
      a->secrets = true;
    } else if (!check && !strcmp(o, "--compact")) {
      a->compact = true;
    } else if (check && !strcmp(o, "--strict")) {
      a->strict = true;
    } else if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
      usage(stdout);
      return 3;
    } else {
      fprintf(stderr, "roster config %s: unknown option '%s'\n",
              check ? "check" : "dump", o);
      return 2;
    }
  }
  if (a->strict && !a->schema) {
    fprintf(stderr, "roster config check: --strict needs --schema\n");
    return 2;
  }
  return 0;
}

/* print_errors writes every problem of cfg's last load to stderr. */
static void print_errors(roster_config *cfg, const char *what) {
  char *e = cfg ? roster_config_errors(cfg) : NULL;
  fprintf(stderr, "roster config: %s failed:\n", what);
  if (e) {
    for (char *line = strtok(e, "\n"); line; line = strtok(NULL, "\n"))
      fprintf(stderr, "  %s\n", line);
  } else {
    fprintf(stderr, "  %s\n", roster_last_error());
  }
  roster_mem_free(e);
}

/* ---- the schema file ---- */

typedef struct schema {
  roster_config_field *f;
  size_t n;
  char **strings; /* everything the fields point to, freed at the end */
  size_t ns, cap;
  char ***lists;
  size_t nl;
} schema;

static char *keep(schema *s, char *p) {
  if (!p)
    return NULL;
  if (s->ns == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 32;
    char **v = realloc(s->strings, cap * sizeof *v);
    if (!v) {
      roster_mem_free(p);
      return NULL;
    }
    s->strings = v;
    s->cap = cap;
  }
  return s->strings[s->ns++] = p;
}

static void schema_free(schema *s) {
  for (size_t i = 0; i < s->ns; i++)
    roster_mem_free(s->strings[i]);
  for (size_t i = 0; i < s->nl; i++)
    roster_config_list_free(s->lists[i]);
  free(s->strings);
  free(s->lists);
  free(s->f);
}

/* value_text returns a copy of the text of the scalar at key (any type),
 * whole (free with roster_mem_free), or NULL if it is not set. */
static int take_text(const roster_config_item *it, void *arg) {
  char **out = arg;
  *out = roster_mem_strdup(it->value);
  return 1;
}

static char *value_text(const roster_config *v, const char *key) {
  char *out = NULL;
  if (!roster_config_has(v, key) ||
      roster_config_foreach(v, key, take_text, &out) != ROSTER_OK) {
    roster_mem_free(out);
    return NULL;
  }
  return out;
}

static const struct {
  const char *name;
  roster_config_kind type;
} type_names[] = {
    {"any", ROSTER_CONFIG_ANY},           {"string", ROSTER_CONFIG_STRING},
    {"int", ROSTER_CONFIG_INT},           {"integer", ROSTER_CONFIG_INT},
    {"double", ROSTER_CONFIG_DOUBLE},     {"number", ROSTER_CONFIG_DOUBLE},
    {"bool", ROSTER_CONFIG_BOOL},         {"boolean", ROSTER_CONFIG_BOOL},
    {"duration", ROSTER_CONFIG_DURATION}, {"size", ROSTER_CONFIG_SIZE},
    {"list", ROSTER_CONFIG_LIST},         {"object", ROSTER_CONFIG_OBJECT},
};

/* field reads fields.<i> into f; a message in err on failure. */
static int field(schema *s, roster_config *v, roster_config_field *f, char *err,
                 size_t cap) {
  char *key = NULL, *type = NULL;
  if (roster_config_string(v, "key", NULL, &key) || !key) {
    snprintf(err, cap, "needs a key (a string)");
    roster_mem_free(key);
    return 1;
  }
  f->key = keep(s, key);
  if (roster_config_string(v, "type", "any", &type)) {
    snprintf(err, cap, "%s", roster_last_error());
    return 1;
  }
  bool known = false;
  for (size_t i = 0; i < sizeof type_names / sizeof *type_names; i++)
    if (!strcmp(type, type_names[i].name)) {
      f->type = type_names[i].type;
      known = true;
    }
  if (!known) {
    snprintf(err, cap,
             "%s: unknown type '%s' (any, string, int, double, "
             "bool, duration, size, list, object)",
             f->key, type);
    roster_mem_free(type);
    return 1;
  }
  roster_mem_free(type);
  if (roster_config_has(v, "default") &&
      !(f->def = keep(s, value_text(v, "default")))) {
    snprintf(err, cap, "%s: cannot read its default", f->key);
    return 1;
  }
  if (roster_config_bool(v, "required", false, &f->required) ||
      roster_config_double(v, "min", 0, &f->min) ||
      roster_config_double(v, "max", 0, &f->max)) {
    snprintf(err, cap, "%s", roster_last_error());
    return 1;
  }
  if (roster_config_has(v, "allowed")) {
    char **l = NULL;
    size_t n = 0;
    char ***nl = realloc(s->lists, (s->nl + 1) * sizeof *nl);
    if (!nl || roster_config_list(v, "allowed", &l, &n)) {
      if (nl)
        s->lists = nl;
      snprintf(err, cap, "%s", roster_last_error());
      return 1;
    }
    s->lists = nl;
    s->lists[s->nl++] = l;
    f->allowed = (const char *const *)l;
  }
  return 0;
}

/* load_schema reads the fields of a schema file. */
static int load_schema(const char *path, schema *s) {
  const char *files[] = {path, NULL};
  roster_config *sc = NULL;
  if (roster_config_new(&(roster_config_options){.files = files}, &sc) !=
          ROSTER_OK ||
      roster_config_load(sc)) {
    print_errors(sc, "reading the schema");
    roster_config_free(sc);
    return 1;
  }
  size_t n = 0;
  char key[64];
  for (;; n++) {
    snprintf(key, sizeof key, "fields.%zu", n);
    if (!roster_config_has(sc, key))
      break;
  }
  s->f = calloc(n + 1, sizeof *s->f);
  int rc = s->f ? 0 : 1;
  for (size_t i = 0; i < n && rc == 0; i++) {
    roster_config *v = NULL;
    char err[1200];
    snprintf(key, sizeof key, "fields.%zu", i);
    if (roster_config_sub(sc, key, &v)) {
      fprintf(stderr, "roster config: schema %s: %s\n", path,
              roster_last_error());
      rc = 1;
    } else if (field(s, v, &s->f[i], err, sizeof err)) {
      fprintf(stderr, "roster config: schema %s: fields.%zu: %s\n", path, i,
              err);
      rc = 1;
    }
    roster_config_release(v);
  }
  s->n = n;
  if (rc == 0 && n == 0) {
    fprintf(stderr,
            "roster config: schema %s has no fields (want fields: "
            "[{key: ..., type: ...}, ...])\n",
            path);
    rc = 1;
  }
  roster_config_free(sc);
  return rc;
}

/* ---- the commands ---- */

static int run(int argc, char **argv, bool check) {
  args a = {0};
  int rc = parse_args(argc, argv, check, &a);
  if (rc)
    return rc == 3 ? 0 : rc;
  schema s = {0};
  if (a.schema && load_schema(a.schema, &s)) {
    schema_free(&s);
    return 1;
  }
  roster_config *cfg = NULL;
  if (roster_config_new(
          &(roster_config_options){.files = a.nfiles ? a.files : NULL,
                                   .env_file = a.env_file,
                                   .missing_ok = a.missing_ok,
                                   .env_prefix = a.prefix,
                                   .overrides = a.nsets ? a.sets : NULL,
                                   .schema = s.f,
                                   .strict = a.strict},
          &cfg) != ROSTER_OK) {
    fprintf(stderr, "roster config: %s\n", roster_last_error());
    schema_free(&s);
    return 2;
  }
  rc = 0;
  if (roster_config_load(cfg)) {
    print_errors(cfg, check ? "check" : "loading the configuration");
    rc = 1;
  } else if (check) {
    printf("ok: the configuration is valid\n");
  } else {
    char *out = NULL;
    unsigned flags = (a.provenance ? ROSTER_CONFIG_DUMP_PROVENANCE : 0) |
                     (a.secrets ? ROSTER_CONFIG_DUMP_SECRETS : 0) |
                     (a.compact ? ROSTER_CONFIG_DUMP_COMPACT : 0);
    if (roster_config_dump(cfg, flags, &out)) {
      fprintf(stderr, "roster config: %s\n", roster_last_error());
      rc = 1;
    } else {
      printf("%s\n", out);
    }
    roster_mem_free(out);
  }
  roster_config_free(cfg);
  schema_free(&s);
  return rc;
}

int roster_cli_config(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
      !strcmp(argv[1], "help")) {
    usage(stdout);
    return 0;
  }
  if (!strcmp(argv[1], "dump"))
    return run(argc - 2, argv + 2, false);
  if (!strcmp(argv[1], "check"))
    return run(argc - 2, argv + 2, true);
  fprintf(stderr, "roster config: unknown subcommand '%s' (dump or check)\n\n",
          argv[1]);
  usage(stderr);
  return 2;
}
