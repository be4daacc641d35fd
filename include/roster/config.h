/*
 * roster/config.h: layered configuration with provenance, validation and
 * atomic reload.
 *
 * A config merges its sources into one tree; a later source wins:
 *
 *   defaults (schema defaults, then defaults_json)
 *     < config files (JSON, YAML 1.2, TOML 1.0; in the order given)
 *     < the .env file (variables under the prefix)
 *     < environment variables (APP_DATABASE__PRIMARY__URL ->
 *       database.primary.url; APP_SERVICE_DB_URL -> services.db.url)
 *     < overrides ("key=value", e.g. from --set)
 *
 * Objects merge key by key; any other value (arrays too) is replaced whole.
 * Every value remembers where it came from: "config.yaml:3:9" (file, line,
 * column), ".env:4" (the .env file's path and line), "env APP_X" (an
 * environment variable), "default" or "override". Strings in files, in the
 * .env file and in defaults may use ${VAR} and ${VAR:-fallback}.
 *
 * Keys are dotted paths: "database.primary.url"; a segment of digits
 * indexes an array ("servers.0.host"). Values from the environment, the
 * .env file, overrides and expanded strings are untyped text: the typed
 * getters convert them ("8080" is an integer to roster_config_int).
 *
 * A config is loaded by roster_config_load and may be reloaded at any time
 * (roster_config_reload, or on SIGHUP): the sources are read and validated
 * into a new immutable tree, which replaces the old one atomically. Readers
 * never block and never see a half-old, half-new tree; a reload that fails
 * changes nothing. To read several values from one tree, pin it with
 * roster_config_acquire (or roster_config_sub): a view never changes.
 *
 * Threads: every call is thread-safe, except roster_config_free (nothing
 * else may use that config during or after it). Getters take no lock and
 * allocate only what they hand back. Loads and reloads of one config are
 * serialized. Change callbacks and reload reports run on the thread that
 * reloaded (roster's signal thread for SIGHUP), with no roster lock held.
 *
 * Errors: a negative roster_err with a sentence in roster_last_error() that
 * names the key, the cause and the source ("config key 'http.port' is a
 * string ("abc") from config.yaml:3:9; want an integer"). A failed load
 * lists every problem at once (see roster_config_errors).
 */
#ifndef ROSTER_CONFIG_H
#define ROSTER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "registry.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ROSTER_CONFIG_KEY_MAX is the longest dotted key, in bytes. */
#define ROSTER_CONFIG_KEY_MAX 1024
/* ROSTER_CONFIG_FILE_MAX is the largest config (or .env) file read, in
 * bytes, and the largest text roster_config_parse takes. Only regular
 * files are read: a FIFO or a device is refused, since it may never end. */
#define ROSTER_CONFIG_FILE_MAX (16 * 1024 * 1024)
/* ROSTER_CONFIG_DEPTH_MAX is the deepest nesting any document may have,
 * and the most parts a key from any other source may have (an environment
 * or .env variable, an override, a schema field). */
#define ROSTER_CONFIG_DEPTH_MAX 64
/* ROSTER_CONFIG_NODES_MAX is the most values one document may hold,
 * counting each copy a YAML alias makes (alias bombs stop here). */
#define ROSTER_CONFIG_NODES_MAX 100000

/* roster_config: a configuration (from roster_config_new) or a view of one
 * tree (from roster_config_acquire, roster_config_sub or
 * roster_config_parse). Opaque. Every getter works on both. */
typedef struct roster_config roster_config;

/* roster_config_kind: what a value must be (schema) or is (foreach). */
typedef enum roster_config_kind {
  ROSTER_CONFIG_ANY = 0,  /* schema: anything, including sub-keys */
  ROSTER_CONFIG_STRING,   /* text */
  ROSTER_CONFIG_INT,      /* 64-bit integer */
  ROSTER_CONFIG_DOUBLE,   /* number (an integer is accepted) */
  ROSTER_CONFIG_BOOL,     /* true/false (text also yes/no, on/off, 1/0) */
  ROSTER_CONFIG_DURATION, /* "250ms", "30s", "5m", "1h30m", "2d"; or 0 */
  ROSTER_CONFIG_SIZE,     /* "64MB" (SI, x1000), "1GiB" (IEC, x1024), 512 */
  ROSTER_CONFIG_LIST,     /* an array of scalars (text: "a, b, c") */
  ROSTER_CONFIG_OBJECT,   /* a table/mapping; anything below is allowed */
  ROSTER_CONFIG_NULL,     /* foreach only: an explicit null */
} roster_config_kind;

/* roster_config_kind_name: "string", "integer", ... ("?" otherwise). */
ROSTER_EXTERN const char *roster_config_kind_name(roster_config_kind t);

/* roster_config_field: one schema entry. {0} plus a key accepts anything.
 * Checked at every load; a failing load lists every field that failed. */
typedef struct roster_config_field {
  const char *key;            /* dotted key; NULL ends the array */
  roster_config_kind type;    /* what the value must convert to */
  bool required;              /* missing (or null) is an error */
  const char *def;            /* default as text ("8080", "30s"), or NULL;
                                 lives in the defaults layer */
  double min, max;            /* when min < max: the value must lie in
                                 [min, max]: the number (a duration in ms, a
                                 size in bytes) or a string's/list's length */
  const char *const *allowed; /* NULL-terminated; the value's text must be
                                 one of these, or NULL for any */
} roster_config_field;

/* roster_config_options: the sources of a config. {0} is an empty config.
 * Everything is copied by roster_config_new. */
typedef struct roster_config_options {
  /* NULL-terminated paths, later wins; the format is chosen by the
   * extension: .json, .yaml or .yml, .toml */
  const char *const *files;
  /* a .env file, or NULL */
  const char *env_file;
  /* skip files (and env_file) that do not exist instead of failing */
  bool missing_ok;
  /* "APP": APP_A__B -> a.b; NULL: no environment layer (the .env file
   * then serves ${VAR} only) */
  const char *env_prefix;
  /* NULL-terminated "NAME=value" strings in place of the process
   * environment, or NULL to read environ at each load */
  const char *const *env;
  /* NULL-terminated "key=value" strings */
  const char *const *overrides;
  /* a JSON object of defaults, or NULL */
  const char *defaults_json;
  /* fields, ended by key NULL, or NULL */
  const roster_config_field *schema;
  /* with a schema: keys it does not declare are errors (typos) */
  bool strict;
} roster_config_options;

/* ------------------------------------------------------------------ */
/* Making and loading                                                  */

/* roster_config_new makes a config from opts (NULL: empty), copied, in
 * *out (NULL on failure). It reads nothing yet: call roster_config_load.
 * Returns ROSTER_OK, or ROSTER_EINVAL for a NULL out or a bad option (an empty
 * path, a file of unknown format, a prefix that is not letters, digits and '_',
 * an override without '=', an override or schema key of more than
 * ROSTER_CONFIG_DEPTH_MAX parts, a schema field without a valid key or with a
 * bad default), or ROSTER_ENOMEM; the detail says which. The caller owns the
 * config (roster_config_free). */
ROSTER_EXTERN int roster_config_new(const roster_config_options *opts,
                                    roster_config **out);

/* roster_config_free frees cfg, stopping any SIGHUP reload and change
 * callbacks. Views taken from it stay valid until released. NULL is a
 * no-op; a view is released. Nothing else may use cfg during or after this
 * call, and it must not be called from cfg's own callbacks. */
ROSTER_EXTERN void roster_config_free(roster_config *cfg);

/* roster_config_load reads every source, expands ${}, merges, validates
 * and publishes the new tree atomically. On failure nothing changes (the
 * tree in use, if any, stays) and the result is the first problem's code:
 * ROSTER_EIO (a file cannot be read, is not a regular file, or is larger
 * than ROSTER_CONFIG_FILE_MAX), ROSTER_EPARSE (a syntax error,
 * "file:line:column: message"), ROSTER_ENOENT (${VAR} unset, no default),
 * ROSTER_ECONSTRAINT (the schema), ROSTER_EINVAL (an environment or .env
 * variable name that makes a bad key: an empty part, or more than
 * ROSTER_CONFIG_DEPTH_MAX parts). The detail holds every problem, one per
 * "; " (shortened past ~1000 bytes; roster_config_errors has them all).
 * After a successful swap, change callbacks run on this thread. ROSTER_EBUSY
 * when called from one of cfg's own callbacks. Must not be called inside
 * roster_read_lock. */
ROSTER_EXTERN int roster_config_load(roster_config *cfg);

/* roster_config_reload is roster_config_load for a config that has been
 * loaded: ROSTER_ESTATE if it never was, so a failed reload always leaves
 * a working tree in place. */
ROSTER_EXTERN int roster_config_reload(roster_config *cfg);

/* roster_config_errors returns every problem of cfg's most recent failed
 * load or reload, one per line, as a string the caller frees with
 * roster_mem_free; NULL if the most recent one succeeded (or none ran). */
ROSTER_EXTERN char *roster_config_errors(roster_config *cfg);

/* roster_config_generation counts cfg's successful loads (0: never
 * loaded). A view answers the generation of its tree. */
ROSTER_EXTERN uint64_t roster_config_generation(const roster_config *cfg);

/* roster_config_reload_fn reports the outcome of a reload that cfg did by
 * itself (on SIGHUP): rc is its result; on failure the detail is in
 * roster_last_error() on this thread and in roster_config_errors(cfg). */
typedef void (*roster_config_reload_fn)(roster_config *cfg, int rc, void *arg);

/* roster_config_reload_on_sighup makes cfg reload each time the process
 * gets SIGHUP (through roster_signal_watch, so other watches of SIGHUP,
 * such as a log reopening its files, run too). fn (may be NULL) is told
 * each outcome. Runs on roster's signal thread. ROSTER_EEXIST if cfg
 * already does; ROSTER_EINVAL for a view; ROSTER_ESYS as for
 * roster_signal_watch. Stopped by roster_config_free. */
ROSTER_EXTERN int roster_config_reload_on_sighup(roster_config *cfg,
                                                 roster_config_reload_fn fn,
                                                 void *arg);

/* roster_config_parse parses one document (no layers, no environment
 * variables; ${} is expanded from the process environment) into a view,
 * *out, released with roster_config_release. format is "json", "yaml",
 * "toml", "env" (dotenv: each variable a key), or NULL to choose by name's
 * extension. name is used in provenance and errors ("<memory>" if NULL).
 * ROSTER_EPARSE ("name:line:column: message"), ROSTER_EINVAL, ROSTER_ENOENT
 * (${VAR} unset); *out is NULL on failure. */
ROSTER_EXTERN int roster_config_parse(const char *text, size_t len,
                                      const char *format, const char *name,
                                      roster_config **out);

/* ------------------------------------------------------------------ */
/* Views                                                               */

/* roster_config_acquire pins cfg's current tree in *view: it never changes,
 * even across reloads, until roster_config_release(*view). ROSTER_ESTATE
 * if cfg was never loaded. Lock-free. */
ROSTER_EXTERN int roster_config_acquire(const roster_config *cfg,
                                        roster_config **view);

/* roster_config_sub pins the object at key (relative to cfg) as a view
 * whose keys are relative to it: sub(cfg, "database") then int(view,
 * "pool.max"). ROSTER_ENOENT if key is missing, ROSTER_ETYPE if it is not
 * an object or array. Release with roster_config_release. */
ROSTER_EXTERN int roster_config_sub(const roster_config *cfg, const char *key,
                                    roster_config **view);

/* roster_config_release releases a view. NULL is a no-op. */
ROSTER_EXTERN void roster_config_release(roster_config *view);

/* ------------------------------------------------------------------ */
/* Typed getters                                                       */

/* Each getter reads key (a dotted path, relative to a view's root) and
 * converts it. A missing key, or an explicit null, gives def and
 * ROSTER_OK. A value that does not convert is ROSTER_ETYPE (*out = def)
 * with a detail naming the key, what it is, where it came from and what
 * was wanted; ROSTER_ERANGE if it converts but does not fit. ROSTER_EINVAL
 * for a NULL, empty or over-long key or a NULL out; ROSTER_ESTATE if cfg
 * was never loaded. Lock-free. */

/* roster_config_string puts a copy of a string (or text) value in *out,
 * freed with roster_mem_free; a missing key copies def (NULL stays NULL). A
 * number or boolean is ROSTER_ETYPE: quote it in the file. */
ROSTER_EXTERN int roster_config_string(const roster_config *cfg,
                                       const char *key, const char *def,
                                       char **out);

/* roster_config_int: an integer (text: decimal, 0x, 0o, 0b, with sign). */
ROSTER_EXTERN int roster_config_int(const roster_config *cfg, const char *key,
                                    int64_t def, int64_t *out);

/* roster_config_double: a number; integers convert. */
ROSTER_EXTERN int roster_config_double(const roster_config *cfg,
                                       const char *key, double def,
                                       double *out);

/* roster_config_bool: a boolean; text may also be yes/no, on/off, 1/0 (any
 * case). A YAML "yes" is a string (YAML 1.2) and is ROSTER_ETYPE. */
ROSTER_EXTERN int roster_config_bool(const roster_config *cfg, const char *key,
                                     bool def, bool *out);

/* roster_config_duration: a duration in milliseconds. The value is a
 * string of number+unit parts, units ms, s, m, h, d ("250ms", "1.5s",
 * "1h30m"), or the integer 0. A bare number other than 0 is ROSTER_ETYPE
 * (say which unit), and so is a part finer than a millisecond. */
ROSTER_EXTERN int roster_config_duration(const roster_config *cfg,
                                         const char *key, int64_t def_ms,
                                         int64_t *out_ms);

/* roster_config_size: a size in bytes. An integer is bytes; a string is a
 * number and an optional unit, any case: B; k/kB, M/MB, G/GB, T/TB, P/PB
 * are decimal (1000^n); Ki/KiB, Mi/MiB, Gi/GiB, Ti/TiB, Pi/PiB binary
 * (1024^n). "64MB" = 64000000, "1GiB" = 1073741824, "512k" = 512000,
 * "1.5KiB" = 1536. */
ROSTER_EXTERN int roster_config_size(const roster_config *cfg, const char *key,
                                     int64_t def, int64_t *out);

/* roster_config_list puts a list's items, as strings, in *out (an array of
 * *count strings plus a NULL; free with roster_config_list_free). Items
 * must be scalars (numbers and booleans are written as text); text is split
 * on commas and trimmed ("a, b" -> "a", "b"; "" -> no items). A missing key
 * gives an empty list (*out has just the NULL). */
ROSTER_EXTERN int roster_config_list(const roster_config *cfg, const char *key,
                                     char ***out, size_t *count);

/* roster_config_list_free frees a list from roster_config_list. */
ROSTER_EXTERN void roster_config_list_free(char **list);

/* roster_config_has: key holds a value that is not null. False on a bad
 * key or an unloaded config. Sets no error. */
ROSTER_EXTERN bool roster_config_has(const roster_config *cfg, const char *key);

/* roster_config_source writes where key's value came from into buf (cap
 * bytes): "config.yaml:3:9", ".env:4" (the .env path and line),
 * "env APP_HTTP__PORT", "default", "override". ROSTER_ENOENT if missing. */
ROSTER_EXTERN int roster_config_source(const roster_config *cfg,
                                       const char *key, char *buf, size_t cap);

/* roster_config_item: one value, as roster_config_foreach sees it. The
 * strings are valid until the callback returns. */
typedef struct roster_config_item {
  const char *key;         /* full dotted key, relative to cfg */
  roster_config_kind type; /* STRING (also text), INT, DOUBLE, BOOL, NULL,
                              LIST or OBJECT (only when empty) */
  const char *value;       /* the value as text ("8080", "true", "[]") */
  const char *source;      /* where it came from */
  bool secret;             /* the key looks like it holds a secret */
} roster_config_item;

/* roster_config_visit_fn: return 0 to go on, non-zero to stop. */
typedef int (*roster_config_visit_fn)(const roster_config_item *item,
                                      void *arg);

/* roster_config_foreach calls fn for each leaf value under prefix (NULL or
 * "": all), in document order, from one tree: array items are
 * "list.0", "list.1"; an empty object or array is one leaf. Values are
 * not redacted. Runs fn on the calling thread with the tree pinned (no
 * lock held). ROSTER_ENOENT if prefix is missing. */
ROSTER_EXTERN int roster_config_foreach(const roster_config *cfg,
                                        const char *prefix,
                                        roster_config_visit_fn fn, void *arg);

/* ------------------------------------------------------------------ */
/* Dump                                                                */

/* Flags for roster_config_dump. */
enum {
  ROSTER_CONFIG_DUMP_PROVENANCE = 1u << 0, /* add where each value came from */
  ROSTER_CONFIG_DUMP_SECRETS = 1u << 1,    /* do not redact (careful) */
  ROSTER_CONFIG_DUMP_COMPACT = 1u << 2,    /* one line, not indented */
};

/* roster_config_dump puts the merged tree (of a view: its subtree) as JSON
 * in *out, freed with roster_mem_free. Secrets are redacted: every value
 * under a key that looks like a secret, whole or in any segment
 * (roster_url_secret_key: password, secret, token, key, ...), becomes
 * "***", and so does the password in any URL (roster_url_redact); a value
 * longer than ROSTER_URL_MAX holding an '@' or a '?' becomes "***" whole.
 * The text is valid JSON whatever the keys hold (bytes that are not UTF-8
 * become U+FFFD). With ROSTER_CONFIG_DUMP_PROVENANCE the document is
 * {"config": tree, "provenance": {"a.b": "file:1:2", ...}} with one entry
 * per leaf. Non-finite numbers are written as the strings "inf", "-inf",
 * "nan". */
ROSTER_EXTERN int roster_config_dump(const roster_config *cfg, unsigned flags,
                                     char **out);

/* ------------------------------------------------------------------ */
/* Change callbacks                                                    */

/* roster_config_change: one leaf whose value a reload changed. Values are
 * text as in roster_config_item, not redacted. Valid during the call. */
typedef struct roster_config_change {
  const char *key;             /* "log.level" */
  const char *old_value;       /* NULL: the key is new */
  const char *new_value;       /* NULL: the key is gone */
  const char *old_source;      /* NULL with old_value */
  const char *new_source;      /* NULL with new_value */
  const roster_config *config; /* a view of the new tree */
} roster_config_change;

/* roster_config_change_fn runs once per changed leaf under the watch's
 * prefix, after the new tree is in place, on the reloading thread, with
 * no roster lock held. It may read cfg and the view, and watch or unwatch;
 * it must not load or reload cfg (ROSTER_EBUSY) or free it. */
typedef void (*roster_config_change_fn)(const roster_config_change *change,
                                        void *arg);

/* roster_config_watch calls fn for changes under prefix (NULL or "": every
 * key; "database" matches database and database.*, not databases) made by
 * later reloads, and puts a watch id (never 0) in *id. Watches run in the
 * order they were added. ROSTER_EINVAL for a view, a NULL fn or id, or a
 * bad prefix. */
ROSTER_EXTERN int roster_config_watch(roster_config *cfg, const char *prefix,
                                      roster_config_change_fn fn, void *arg,
                                      uint64_t *id);

/* roster_config_unwatch removes watch id. Once it returns, fn is not
 * running and will not run again (unless called from fn itself, which may
 * finish). ROSTER_ENOENT for an unknown id. */
ROSTER_EXTERN int roster_config_unwatch(roster_config *cfg, uint64_t id);

/* ------------------------------------------------------------------ */
/* The config as a service; declarative services                       */

/* roster_config_type: the type of a config registered in a
 * registry; its destroy is roster_config_free. */
ROSTER_EXTERN extern const roster_type roster_config_type;

/* ROSTER_CONFIG_NAME: the name roster_config_register uses by default. */
#define ROSTER_CONFIG_NAME "config"

/* roster_config_register registers cfg in r under (ns, name) (name NULL:
 * ROSTER_CONFIG_NAME) with roster_config_type; on success the
 * registry owns cfg and frees it when the entry goes. Errors as
 * roster_register (cfg is untouched on failure); ROSTER_EINVAL for a NULL
 * cfg or a view. Fetch it with roster_config_find. */
ROSTER_EXTERN int roster_config_register(roster *r, const char *ns,
                                         const char *name, roster_config *cfg);

/* roster_config_find stores in *out the config service (ns, name) (ns
 * NULL: the default namespace; name as given, ROSTER_CONFIG_NAME by
 * convention), borrowed while the service is up: the typed lookup of every
 * area (ROSTER_DEFINE_FIND). Errors as roster_get (ROSTER_ETYPE if the
 * entry is not a config). */
ROSTER_EXTERN int roster_config_find(roster *r, const char *ns,
                                     const char *name, roster_config **out);

/* roster_config_provide declares the service (ns, name) (name NULL:
 * ROSTER_CONFIG_NAME) whose instance is a config made from opts (copied
 * now, as by roster_config_new): eager, loaded when the service starts (a
 * failed load fails the start with the load's detail), so services that
 * name it as a dependency get the loaded roster_config in their deps. The
 * config lives until the provider goes (roster_free); a restart loads it
 * again. Errors: those of roster_config_new (nothing is declared) and of
 * roster_provide. */
ROSTER_EXTERN int roster_config_provide(roster *r, const char *ns,
                                        const char *name,
                                        const roster_config_options *opts);

/* roster_config_provide_services declares one service per entry of the
 * "services" object of cfg, in the default namespace, through
 * roster_provide_url: services.<name>.url picks the driver by its scheme,
 * and the entry's other leaves become the driver's options, flattened
 * ({"pool.max", "8", ...}). Environment variables <PREFIX>_SERVICE_<NAME>_URL
 * are services.<name>.url (name lower-cased), so they win over files.
 * Every URL is parsed and every scheme's driver found before anything is
 * declared: a malformed URL (ROSTER_EPARSE), a missing url (ROSTER_EINVAL)
 * or a scheme no compiled-in module serves (ROSTER_ENOTSUP, naming the
 * schemes and modules that are) declares nothing; all such problems are
 * listed. A driver's own error stops at that entry (earlier ones stay
 * declared). A string entry is the url itself (services: {db: "..."}).
 * Declaring again with the same URLs is a no-op (see roster_provide_url);
 * no "services" key declares nothing. URLs are redacted in every detail. */
ROSTER_EXTERN int roster_config_provide_services(roster *r,
                                                 const roster_config *cfg);

#ifdef __cplusplus
}
#endif

#endif /* ROSTER_CONFIG_H */
