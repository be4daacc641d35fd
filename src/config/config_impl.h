/*
 * config_impl.h: the config service's private header.
 *
 * A loaded configuration is an immutable tree of cfg_node values allocated
 * in one arena (cfg_snap), published through an RCU pointer: readers pin it
 * inside a read section (or with a reference, for views), a reload builds a
 * whole new snapshot and swaps the pointer, and the old one is freed after
 * a grace period once no view holds it. Every node carries its provenance
 * (a source record plus line and column). The parsers (json.c, yaml.c,
 * toml.c, dotenv.c) build nodes into the arena of the load under way.
 * Never installed.
 */
#ifndef ROSTER_CONFIG_IMPL_H
#define ROSTER_CONFIG_IMPL_H

#include "base/base.h"
#include "core/service_impl.h"

#include <stdarg.h>
#include <stdio.h>

/* ---- arena (tree.c) ---------------------------------------------------
 * Every node and string of one tree lives in one arena and is freed with
 * it; nothing in a tree is freed on its own. */
typedef struct cfg_chunk cfg_chunk;
typedef struct cfg_arena {
  cfg_chunk *head;
  size_t total; /* bytes allocated, for the node/size caps */
  bool oom;     /* an allocation failed: the tree is incomplete */
} cfg_arena;

void *roster__config_alloc(cfg_arena *a, size_t n);
char *roster__config_strndup(cfg_arena *a, const char *s, size_t n);
void roster__config_arena_free(cfg_arena *a);

/* ---- growable text (tree.c), allocated with roster__malloc ---- */
typedef struct cfg_buf {
  char *p;
  size_t n, cap;
  bool oom;
} cfg_buf;
void roster__config_buf_add(cfg_buf *b, const char *s, size_t n);
void roster__config_buf_adds(cfg_buf *b, const char *s);
void roster__config_buf_addc(cfg_buf *b, char c);
void roster__config_buf_addf(cfg_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const char *roster__config_buf_str(cfg_buf *b); /* "" when empty; never NULL */
void roster__config_buf_free(cfg_buf *b);

/* ---- sources and nodes (tree.c) ---- */
typedef enum cfg_src_kind {
  CFG_SRC_DEFAULT,  /* schema defaults, defaults_json */
  CFG_SRC_FILE,     /* a config file or a parsed document: name:line:col */
  CFG_SRC_DOTENV,   /* the .env file: name:line */
  CFG_SRC_ENV,      /* an environment variable: "env NAME" */
  CFG_SRC_OVERRIDE, /* an override */
} cfg_src_kind;

typedef struct cfg_src {
  cfg_src_kind kind;
  const char *name; /* path, variable name; in the arena */
} cfg_src;

typedef enum cfg_kind {
  CFG_NULL,
  CFG_BOOL,
  CFG_INT,
  CFG_REAL,
  CFG_STR,  /* a typed string (quoted, or a string in a typed format) */
  CFG_TEXT, /* untyped text (environment, overrides, expanded strings) */
  CFG_OBJ,
  CFG_ARR,
} cfg_kind;

typedef struct cfg_node cfg_node;
typedef struct cfg_member {
  const char *key;
  size_t klen;
  cfg_node *val;
} cfg_member;

struct cfg_node {
  uint8_t kind;       /* cfg_kind */
  uint8_t flags;      /* parser scratch (TOML table states) */
  uint32_t line, col; /* 1-based; 0 when the source has no position */
  const cfg_src *src;
  union {
    bool b;
    int64_t i;
    double d;
    struct {
      const char *p; /* NUL-terminated, no NUL inside */
      size_t len;
    } s;
    struct {
      cfg_member *v;
      size_t n, cap;
      uint32_t *idx; /* past 8 members: a hash of keys -> member + 1 */
      size_t icap;   /* slots in idx, a power of two */
    } obj;
    struct {
      cfg_node **v;
      size_t n, cap;
    } arr;
  } u;
};

cfg_src *roster__config_src_new(cfg_arena *a, cfg_src_kind kind,
                                const char *name);
cfg_node *roster__config_node_new(cfg_arena *a, cfg_kind kind,
                                  const cfg_src *src, uint32_t line,
                                  uint32_t col);
cfg_node *roster__config_str_new(cfg_arena *a, cfg_kind kind, const char *s,
                                 size_t len, const cfg_src *src, uint32_t line,
                                 uint32_t col);
/* roster__config_obj_add appends key -> val (no duplicate check); false on OOM.
 */
bool roster__config_obj_add(cfg_arena *a, cfg_node *obj, const char *key,
                            size_t klen, cfg_node *val);
cfg_member *roster__config_obj_find(const cfg_node *obj, const char *key,
                                    size_t klen);
bool roster__config_arr_push(cfg_arena *a, cfg_node *arr, cfg_node *val);
/* roster__config_lookup follows a dotted key from root; digits index arrays.
 * NULL if absent. key "" is root itself. */
const cfg_node *roster__config_lookup(const cfg_node *root, const char *key);
/* roster__config_find_key is roster__config_lookup for a key from a caller: it
 * checks the key as it walks it, in one pass (-1: empty, an empty segment or
 * too long; the caller runs roster__config_key_check for the detail), else 0
 * and *out (NULL when missing). */
int roster__config_find_key(const cfg_node *root, const char *key,
                            const cfg_node **out);
/* roster__config_set_path puts val at the dotted key below root (an object),
 * making objects on the way and replacing what is not one; an existing array is
 * indexed by a digit segment in range. false on OOM. */
bool roster__config_set_path(cfg_arena *a, cfg_node *root, const char *key,
                             cfg_node *val);
/* roster__config_merge merges src (an object) into dst (an object): objects
 * merge, anything else replaces. src's nodes are moved into dst. */
bool roster__config_merge(cfg_arena *a, cfg_node *dst, cfg_node *src);
/* roster__config_copy deep-copies n into a; *budget is the nodes left,
 * decremented for each copy; NULL on OOM or when the budget runs out (*budget
 * 0). */
cfg_node *roster__config_copy(cfg_arena *a, const cfg_node *n, size_t *budget);
/* roster__config_depth: nesting depth of n (a scalar is 0). */
size_t roster__config_depth(const cfg_node *n);

/* roster__config_text appends n's value as text: a string as is, numbers and
 * bools as written in JSON, null as "null", a container as compact JSON. */
void roster__config_text(const cfg_node *n, cfg_buf *out);
/* roster__config_where writes n's provenance into buf. */
const char *roster__config_where(const cfg_node *n, char *buf, size_t cap);
/* roster__config_describe writes "a string (\"abc\")", "an integer (8080)" ...
 * into buf; secret hides the value, and a URL's secrets are always hidden. */
const char *roster__config_describe(const cfg_node *n, bool secret, char *buf,
                                    size_t cap);
/* roster__config_redact appends s (len bytes, NUL-terminated after them) to out
 * with the secrets of any URL in it replaced by "***" (roster_url_redact); text
 * the redactor cannot take whole (longer than ROSTER_URL_MAX, or holding a NUL)
 * that has an '@' or a '?' becomes "***". */
void roster__config_redact(const char *s, size_t len, cfg_buf *out);
/* roster__config_equal: same kind class and same text. */
bool roster__config_equal(const cfg_node *a, const cfg_node *b);

/* ---- keys (tree.c) ---- */
/* roster__config_key_check validates a dotted key: not NULL, at most
 * ROSTER_CONFIG_KEY_MAX bytes, no empty segment; "" only if allow_empty.
 * Sets the detail naming what (e.g. "key"). */
int roster__config_key_check(const char *what, const char *key,
                             bool allow_empty);
/* roster__config_key_parts: the number of dotted segments of key (len bytes);
 * *empty says whether one of them is empty. */
size_t roster__config_key_parts(const char *key, size_t len, bool *empty);
/* roster__config_key_depth_check refuses (ROSTER_EINVAL, naming what and the
 * key) a key a source sets with more than ROSTER_CONFIG_DEPTH_MAX segments: no
 * document may nest deeper, and no other source either. */
int roster__config_key_depth_check(const char *what, const char *key);
/* roster__config_key_secret: key (len bytes, any length), or some segment of
 * it, looks like a secret (roster_url_secret_key). True on OOM. */
bool roster__config_key_secret(const char *key, size_t len);
/* roster__config_path_secret: roster__config_key_secret of prefix.key (prefix
 * may be NULL or empty; key is klen bytes), however long the two are. */
bool roster__config_path_secret(const char *prefix, const char *key,
                                size_t klen);
/* roster__config_key_join_new: prefix.key (either may be empty or NULL),
 * allocated with roster__malloc; NULL on OOM. */
char *roster__config_key_join_new(const char *prefix, const char *key);
/* roster__config_key_join writes prefix.key (either may be empty) into buf, cut
 * to fit: for messages only. */
const char *roster__config_key_join(char *buf, size_t cap, const char *prefix,
                                    const char *key);

/* ---- problems (tree.c): every error of one load ---- */
typedef struct cfg_problem {
  int code;
  char *msg;
} cfg_problem;
typedef struct cfg_problems {
  cfg_problem *v;
  size_t n, cap;
  bool oom;
} cfg_problems;
void roster__config_problem_add(cfg_problems *p, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void roster__config_problems_free(cfg_problems *p);
/* roster__config_problems_report sets the thread's detail (the problems joined
 * by
 * "; ", shortened to fit) and returns the first code. */
int roster__config_problems_report(const cfg_problems *p);
/* roster__config_problems_join: every problem, one per line (roster__malloc).
 */
char *roster__config_problems_join(const cfg_problems *p);

/* ---- parsers ---- */
/* cfg_doc: one document to parse into doc->root (an object). On failure
 * the parser returns a code (ROSTER_EPARSE...) and fills line, col (1-based,
 * column in characters) and msg. */
typedef struct cfg_doc {
  cfg_arena *arena;
  const cfg_src *src;
  const char *text;
  size_t len;
  cfg_node *root;
  uint32_t line, col;
  char msg[512];
} cfg_doc;

int roster__config_doc_fail(cfg_doc *d, int code, uint32_t line, uint32_t col,
                            const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* roster__config_column counts the characters of text[line_start, pos) + 1. */
uint32_t roster__config_column(const char *text, size_t line_start, size_t pos);
/* cfg_colcur: roster__config_column for positions that only move forward on a
 * line, counting each byte once (a long line of many values stays linear). */
typedef struct cfg_colcur {
  size_t ls, pos;
  uint32_t col;
} cfg_colcur;
uint32_t roster__config_col_at(cfg_colcur *c, const char *text,
                               size_t line_start, size_t pos);
/* roster__config_utf8_check: the first invalid byte offset, or len if valid. */
size_t roster__config_utf8_check(const char *s, size_t len);

int roster__config_parse_json(cfg_doc *d);
int roster__config_parse_yaml(cfg_doc *d);
int roster__config_parse_toml(cfg_doc *d);

/* ${} lookups: the value of name, or NULL if unset. */
typedef const char *(*cfg_lookup_fn)(void *arg, const char *name, size_t len);

/* dotenv: the variables of a .env file, expanded. */
typedef struct cfg_envvar {
  const char *name, *value;
  uint32_t line, col;
} cfg_envvar;
typedef struct cfg_dotenv {
  cfg_envvar *v;
  size_t n, cap;
} cfg_dotenv;
/* roster__config_parse_dotenv parses d->text into out; ${} in unquoted and
 * double-quoted values is expanded with lookup, then with the variables
 * the file defined before. d->root is not used. */
int roster__config_parse_dotenv(cfg_doc *d, cfg_lookup_fn lookup, void *arg,
                                cfg_dotenv *out);
/* roster__config_dotenv_get: the value of the last definition of name, or NULL.
 */
const char *roster__config_dotenv_get(const cfg_dotenv *e, const char *name,
                                      size_t len);

/* ---- ${} expansion (expand.c) ---- */
/* roster__config_expand expands s into *out (arena); *changed says whether
 * there was anything to expand. On failure returns ROSTER_EPARSE (syntax) or
 * ROSTER_ENOENT (unset, no default) with a message in err, and *at is the
 * byte offset of the bad ${. secret: s is a secret's value, so err quotes
 * no text of it but variable names. */
int roster__config_expand(cfg_arena *a, const char *s, size_t len,
                          cfg_lookup_fn fn, void *arg, bool secret,
                          const char **out, size_t *out_len, bool *changed,
                          size_t *at, char *err, size_t errcap);
/* roster__config_expand_tree expands every string below root (turning expanded
 * ones into text); problems name the key and the value's source. */
void roster__config_expand_tree(cfg_arena *a, cfg_node *root, cfg_lookup_fn fn,
                                void *arg, cfg_problems *p);

/* ---- conversions (convert.c), shared by getters and the schema ---- */
/* Each returns ROSTER_OK, ROSTER_ETYPE (does not convert) or ROSTER_ERANGE
 * and sets no detail; why (may be NULL) gets a short reason for ETYPE. */
int roster__config_to_int(const cfg_node *n, int64_t *out);
int roster__config_to_double(const cfg_node *n, double *out);
int roster__config_to_bool(const cfg_node *n, bool *out);
int roster__config_to_duration(const cfg_node *n, int64_t *ms,
                               const char **why);
int roster__config_to_size(const cfg_node *n, int64_t *out, const char **why);
bool roster__config_is_string(const cfg_node *n);
/* roster__config_list_count: items of a list value (array of scalars, or comma
 * text); -1 if it is not one. */
long roster__config_list_count(const cfg_node *n);
const char *
roster__config_type_want(roster_config_kind t); /* "an integer" ... */

/* ---- snapshots and configs (config.c) ---- */
typedef struct cfg_snap {
  atomic_uint refs; /* 1 while published + 1 per view */
  struct rcu_head rcu;
  cfg_arena arena;
  cfg_node *root; /* an object */
  uint64_t gen;
} cfg_snap;

cfg_snap *roster__config_snap_new(void);
void roster__config_snap_get(cfg_snap *s);
void roster__config_snap_put(cfg_snap *s);

typedef struct cfg_watch cfg_watch;

/* cfg_live: what only a loadable config has (a view has none of it). */
typedef struct cfg_live {
  char **files;
  size_t nfiles;
  char *env_file;
  bool missing_ok;
  char *env_prefix; /* without the trailing '_' */
  char **env;       /* NULL: environ */
  char **overrides;
  char *defaults_json;
  roster_config_field *schema;
  size_t nschema;
  bool strict;
  pthread_mutex_t load_lock; /* serializes loads; held during callbacks */
  _Atomic(pthread_t) loader; /* the thread holding load_lock */
  atomic_bool loading;       /* loader is valid */
  uint64_t gen;              /* guarded by load_lock */
  pthread_mutex_t err_lock;
  char *errors; /* last failure's problems, or NULL */
  pthread_mutex_t watch_lock;
  pthread_cond_t watch_idle;
  cfg_watch *watches;
  uint64_t next_watch;
  uint64_t running_watch; /* the watch whose fn runs now, or 0 */
  pthread_mutex_t sig_lock;
  uint64_t sig_id;
  roster_config_reload_fn sig_fn;
  void *sig_arg;
} cfg_live;

/* roster_config: a view (small: one is made per acquire) or a config,
 * whose tree is published in cur and whose sources and locks are in live
 * (allocated with it). */
struct roster_config {
  bool is_view;
  bool own_prefix; /* a view: prefix was allocated for it */
  /* a view: a pinned tree and the key of its root */
  cfg_snap *snap;
  const cfg_node *root;
  const char *prefix; /* "" (static) for the whole tree */
  /* a config */
  cfg_snap *_Atomic cur;
  cfg_live *live;
};

/* A pinned tree for one getter call. */
typedef struct cfg_pin {
  const cfg_node *root;
  const char *prefix;
  cfg_snap *snap;
  bool locked; /* inside a read section */
} cfg_pin;
int roster__config_pin_take(const roster_config *cfg, cfg_pin *p);
void roster__config_pin_drop(cfg_pin *p);
/* roster__config_view_new makes a view of root in snap (taking a reference). */
roster_config *roster__config_view_new(cfg_snap *snap, const cfg_node *root,
                                       const char *prefix);

/* cfg_build_defaults and the rest of a load live in load.c. */
int roster__config_load(roster_config *cfg, bool reload);
/* roster__config_notify runs the watches for the changes from old to nw;
 * load_lock held. */
void roster__config_notify(roster_config *cfg, cfg_snap *old, cfg_snap *nw);
void roster__config_watches_free(roster_config *cfg);

/* ---- schema (schema.c) ---- */
/* roster__config_schema_defaults adds the fields' defaults below root. */
bool roster__config_schema_defaults(cfg_arena *a, const roster_config_field *f,
                                    size_t n, const cfg_src *src,
                                    cfg_node *root);
void roster__config_validate(const roster_config_field *f, size_t n,
                             bool strict, const cfg_node *root,
                             cfg_problems *p);
/* roster__config_field_check validates one field at roster_config_new. */
int roster__config_field_check(const roster_config_field *f);

/* ---- dump (dump.c) ---- */
int roster__config_dump(const cfg_node *root, const char *prefix,
                        unsigned flags, char **out);

/* ---- walking leaves (tree.c) ---- */
/* cfg_leaf_fn sees one leaf with its full key; return non-zero to stop. */
typedef int (*cfg_leaf_fn)(const char *key, size_t klen, const cfg_node *n,
                           void *arg);
/* roster__config_walk visits the leaves below n (whose key is key, may be "");
 * returns the first non-zero callback result, or -1 if a key grew too long. */
int roster__config_walk(const cfg_node *n, cfg_buf *key, cfg_leaf_fn fn,
                        void *arg);

/* ---- file reading (load.c) ---- */
/* roster__config_read_file reads path into a roster__malloc'd buffer
 * (NUL-terminated). Only a regular file (or a symbolic link to one) of at most
 * ROSTER_CONFIG_FILE_MAX bytes is read: a FIFO, a device, a socket or a
 * directory is refused without blocking. ROSTER_ENOENT if missing,
 * ROSTER_EIO otherwise, with msg filled. */
int roster__config_read_file(const char *path, char **out, size_t *len,
                             char *msg, size_t cap);
/* roster__config_format_of: "json", "yaml", "toml", "env" from a name's
 * extension, or NULL. */
const char *roster__config_format_of(const char *name);
/* roster__config_parse_any parses text by format into d (d->root). For "env"
 * every variable becomes a text key. */
int roster__config_parse_any(cfg_doc *d, const char *format, cfg_lookup_fn fn,
                             void *arg);

#endif /* ROSTER_CONFIG_IMPL_H */
