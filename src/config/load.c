/*
 * load.c: reading the sources and building one tree.
 *
 * A load collects every problem it finds (a missing file, a syntax error
 * in each file, an unset ${VAR}, a bad variable name, each schema failure)
 * instead of stopping at the first, then either publishes the new snapshot
 * or keeps the old one and reports them all. Loads of one config are
 * serialized by load_lock; readers never take it.
 */
#include "config_impl.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

/* ---- files ---- */

int roster__config_read_file(const char *path, char **out, size_t *len,
                             char *msg, size_t cap) {
  *out = NULL;
  *len = 0;
  char eb[128];
  /* O_NONBLOCK: opening a FIFO for reading would wait for a writer (and
   * reading it, for data), so the open must not block before fstat can
   * tell what the path is; it changes nothing for a regular file */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    int e = errno;
    snprintf(msg, cap, "cannot open config file '%s': %s", path,
             strerror_r(e, eb, sizeof eb));
    return e == ENOENT ? ROSTER_ENOENT : ROSTER_EIO;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    snprintf(msg, cap, "cannot read config file '%s': %s", path,
             strerror_r(errno, eb, sizeof eb));
    close(fd);
    return ROSTER_EIO;
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    snprintf(msg, cap, "config file '%s' is %s", path,
             S_ISDIR(st.st_mode)    ? "a directory"
             : S_ISFIFO(st.st_mode) ? "not a regular file (a FIFO)"
             : S_ISCHR(st.st_mode)  ? "not a regular file (a device)"
             : S_ISSOCK(st.st_mode) ? "not a regular file (a socket)"
                                    : "not a regular file");
    return ROSTER_EIO;
  }
  if (st.st_size > ROSTER_CONFIG_FILE_MAX) {
    close(fd);
    snprintf(msg, cap, "config file '%s' is larger than %d bytes", path,
             ROSTER_CONFIG_FILE_MAX);
    return ROSTER_EIO;
  }
  /* room for the whole file and one byte more, to see it grow */
  size_t n = 0, bcap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
  char *buf = roster__malloc(bcap + 1);
  int rc = buf ? ROSTER_OK : ROSTER_ENOMEM;
  while (rc == ROSTER_OK) {
    if (n == bcap) {
      if (bcap > ROSTER_CONFIG_FILE_MAX) {
        snprintf(msg, cap, "config file '%s' is larger than %d bytes", path,
                 ROSTER_CONFIG_FILE_MAX);
        rc = ROSTER_EIO;
        break;
      }
      char *nb = roster__realloc(buf, bcap * 2 + 1);
      if (!nb) {
        rc = ROSTER_ENOMEM;
        break;
      }
      buf = nb;
      bcap *= 2;
    }
    ssize_t r = read(fd, buf + n, bcap - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      snprintf(msg, cap, "cannot read config file '%s': %s", path,
               strerror_r(errno, eb, sizeof eb));
      rc = ROSTER_EIO;
    } else if (r == 0) {
      break;
    } else {
      n += (size_t)r;
      if (n > ROSTER_CONFIG_FILE_MAX) {
        snprintf(msg, cap, "config file '%s' is larger than %d bytes", path,
                 ROSTER_CONFIG_FILE_MAX);
        rc = ROSTER_EIO;
      }
    }
  }
  close(fd);
  if (rc == ROSTER_ENOMEM)
    snprintf(msg, cap, "out of memory reading '%s'", path);
  if (rc) {
    roster__free(buf);
    return rc;
  }
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return ROSTER_OK;
}

const char *roster__config_format_of(const char *name) {
  const char *slash = strrchr(name, '/');
  const char *base = slash ? slash + 1 : name;
  const char *dot = strrchr(base, '.');
  if (!strcmp(base, ".env") || (dot && !strcasecmp(dot, ".env")))
    return "env";
  if (!dot)
    return NULL;
  if (!strcasecmp(dot, ".json"))
    return "json";
  if (!strcasecmp(dot, ".yaml") || !strcasecmp(dot, ".yml"))
    return "yaml";
  if (!strcasecmp(dot, ".toml"))
    return "toml";
  return NULL;
}

int roster__config_parse_any(cfg_doc *d, const char *format, cfg_lookup_fn fn,
                             void *arg) {
  /* a UTF-8 byte order mark is not part of the document */
  if (d->len >= 3 && !memcmp(d->text, "\xEF\xBB\xBF", 3)) {
    d->text += 3;
    d->len -= 3;
  }
  if (memchr(d->text, '\0', d->len) && strcmp(format, "env"))
    return roster__config_doc_fail(d, ROSTER_EPARSE, 1, 1,
                                   "the file holds a NUL byte "
                                   "(binary data?)");
  if (!strcmp(format, "json"))
    return roster__config_parse_json(d);
  if (!strcmp(format, "yaml"))
    return roster__config_parse_yaml(d);
  if (!strcmp(format, "toml"))
    return roster__config_parse_toml(d);
  if (strcmp(format, "env"))
    return roster__config_doc_fail(d, ROSTER_EINVAL, 0, 0,
                                   "unknown format '%s' (want "
                                   "json, yaml, toml or env)",
                                   format);
  cfg_dotenv e = {0};
  int rc = roster__config_parse_dotenv(d, fn, arg, &e);
  if (rc)
    return rc;
  d->root = roster__config_node_new(d->arena, CFG_OBJ, d->src, 1, 1);
  if (!d->root)
    return roster__config_doc_fail(d, ROSTER_ENOMEM, 0, 0, "out of memory");
  for (size_t i = 0; i < e.n; i++) {
    cfg_node *v = roster__config_str_new(d->arena, CFG_TEXT, e.v[i].value,
                                         strlen(e.v[i].value), d->src,
                                         e.v[i].line, e.v[i].col);
    size_t kl = strlen(e.v[i].name);
    cfg_member *m = roster__config_obj_find(d->root, e.v[i].name, kl);
    if (!v ||
        (m ? (m->val = v, false)
           : !roster__config_obj_add(d->arena, d->root, e.v[i].name, kl, v)))
      return roster__config_doc_fail(d, ROSTER_ENOMEM, 0, 0, "out of memory");
  }
  return ROSTER_OK;
}

/* ---- variables ---- */

typedef struct vars {
  char *const *env; /* "NAME=value" entries */
  const cfg_dotenv *dot;
} vars;

static const char *env_lookup(char *const *env, const char *name, size_t len) {
  for (size_t i = 0; env && env[i]; i++)
    if (!strncmp(env[i], name, len) && env[i][len] == '=')
      return env[i] + len + 1;
  return NULL;
}

static const char *lookup_env(void *arg, const char *name, size_t len) {
  return env_lookup(((vars *)arg)->env, name, len);
}

static const char *lookup_all(void *arg, const char *name, size_t len) {
  vars *v = arg;
  const char *s = env_lookup(v->env, name, len);
  return s ? s : v->dot ? roster__config_dotenv_get(v->dot, name, len) : NULL;
}

/* env_key maps the variable name (len bytes) to a config key in buf:
 * 0 when it is not under the prefix, 1 when mapped, -1 when it is under
 * the prefix but malformed (why, wcap bytes, says how). The key must have
 * no empty part and at most ROSTER_CONFIG_DEPTH_MAX parts, as a document
 * must nest no deeper ('.' in a name splits a key too). */
static int env_key(const char *prefix, const char *name, size_t len, char *buf,
                   size_t cap, char *why, size_t wcap) {
  size_t pl = strlen(prefix);
  if (len <= pl + 1 || strncmp(name, prefix, pl) || name[pl] != '_')
    return 0;
  const char *r = name + pl + 1;
  size_t rl = len - pl - 1;
  size_t o = 0;
  if (rl > 12 && !strncmp(r, "SERVICE_", 8) &&
      !strncmp(r + rl - 4, "_URL", 4)) {
    /* <PREFIX>_SERVICE_<NAME>_URL -> services.<name>.url */
    int w = snprintf(buf, cap, "services.%.*s.url", (int)(rl - 12), r + 8);
    if (w < 0 || (size_t)w >= cap) {
      snprintf(why, wcap, "the key is too long");
      return -1;
    }
    for (size_t i = 9; i < (size_t)w - 4; i++)
      buf[i] = (char)tolower((unsigned char)buf[i]);
    o = (size_t)w;
  } else {
    for (size_t i = 0; i < rl; i++) {
      if (o + 2 >= cap) {
        snprintf(why, wcap, "the key is too long");
        return -1;
      }
      if (r[i] == '_' && i + 1 < rl && r[i + 1] == '_') {
        if (o == 0 || buf[o - 1] == '.' || i + 2 >= rl) {
          snprintf(why, wcap, "'__' must sit between two parts of a key");
          return -1;
        }
        buf[o++] = '.';
        i++;
        continue;
      }
      buf[o++] = (char)tolower((unsigned char)r[i]);
    }
    buf[o] = '\0';
  }
  bool empty;
  size_t parts = roster__config_key_parts(buf, o, &empty);
  if (o == 0 || empty) {
    snprintf(why, wcap, "%s", o ? "a part of the key is empty" : "empty key");
    return -1;
  }
  if (parts > ROSTER_CONFIG_DEPTH_MAX) {
    snprintf(why, wcap,
             "the key has %zu parts, more than %d "
             "(ROSTER_CONFIG_DEPTH_MAX)",
             parts, ROSTER_CONFIG_DEPTH_MAX);
    return -1;
  }
  return 1;
}

/* ---- one load ---- */

typedef struct build {
  roster_config *cfg;
  cfg_arena *a;
  cfg_problems *p;
  cfg_node *root;
  vars v;
  cfg_dotenv dot;
  const char *dot_name;
} build;

static void add_text(build *b, const char *key, const char *val,
                     const cfg_src *src, uint32_t line, uint32_t col) {
  cfg_node *n =
      roster__config_str_new(b->a, CFG_TEXT, val, strlen(val), src, line, col);
  if (!n || !roster__config_set_path(b->a, b->root, key, n))
    roster__config_problem_add(b->p, ROSTER_ENOMEM, "out of memory");
}

static void load_defaults(build *b) {
  roster_config *cfg = b->cfg;
  cfg_src *src = roster__config_src_new(b->a, CFG_SRC_DEFAULT, NULL);
  if (!src) {
    roster__config_problem_add(b->p, ROSTER_ENOMEM, "out of memory");
    return;
  }
  if (!roster__config_schema_defaults(b->a, cfg->live->schema,
                                      cfg->live->nschema, src, b->root))
    roster__config_problem_add(b->p, ROSTER_ENOMEM, "out of memory");
  if (!cfg->live->defaults_json)
    return;
  cfg_doc d = {.arena = b->a,
               .src = src,
               .text = cfg->live->defaults_json,
               .len = strlen(cfg->live->defaults_json)};
  int rc = roster__config_parse_json(&d);
  if (rc) {
    roster__config_problem_add(b->p, rc, "defaults_json:%u:%u: %s", d.line,
                               d.col, d.msg);
    return;
  }
  roster__config_expand_tree(b->a, d.root, lookup_all, &b->v, b->p);
  if (!roster__config_merge(b->a, b->root, d.root))
    roster__config_problem_add(b->p, ROSTER_ENOMEM, "out of memory");
}

/* read_doc reads path; false if it is to be skipped (missing, missing_ok)
 * or failed (a problem is recorded). */
static bool read_doc(build *b, const char *path, char **text, size_t *len) {
  char msg[600];
  int rc = roster__config_read_file(path, text, len, msg, sizeof msg);
  if (rc == ROSTER_ENOENT && b->cfg->live->missing_ok)
    return false;
  if (rc) {
    roster__config_problem_add(b->p, rc == ROSTER_ENOMEM ? rc : ROSTER_EIO,
                               "%s", msg);
    return false;
  }
  return true;
}

static void load_dotenv(build *b) {
  const char *path = b->cfg->live->env_file;
  char *text;
  size_t len;
  if (!path || !read_doc(b, path, &text, &len))
    return;
  cfg_src *src = roster__config_src_new(b->a, CFG_SRC_DOTENV, path);
  cfg_doc d = {.arena = b->a, .src = src, .text = text, .len = len};
  if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) {
    d.text += 3;
    d.len -= 3;
  }
  int rc = src ? roster__config_parse_dotenv(&d, lookup_env, &b->v, &b->dot)
               : ROSTER_ENOMEM;
  if (rc)
    roster__config_problem_add(b->p, rc, "%s:%u:%u: %s", path, d.line, d.col,
                               d.msg);
  else
    b->dot_name = src->name;
  roster__free(text);
}

static void load_file(build *b, const char *path) {
  char *text;
  size_t len;
  if (!read_doc(b, path, &text, &len))
    return;
  cfg_src *src = roster__config_src_new(b->a, CFG_SRC_FILE, path);
  cfg_doc d = {.arena = b->a, .src = src, .text = text, .len = len};
  int rc = src ? roster__config_parse_any(&d, roster__config_format_of(path),
                                          NULL, NULL)
               : ROSTER_ENOMEM;
  if (rc) {
    if (d.line)
      roster__config_problem_add(b->p, rc, "%s:%u:%u: %s", path, d.line, d.col,
                                 d.msg);
    else
      roster__config_problem_add(b->p, rc, "%s: %s", path, d.msg);
  } else {
    roster__config_expand_tree(b->a, d.root, lookup_all, &b->v, b->p);
    if (!roster__config_merge(b->a, b->root, d.root))
      roster__config_problem_add(b->p, ROSTER_ENOMEM, "out of memory");
  }
  roster__free(text);
}

static void load_env(build *b) {
  const char *prefix = b->cfg->live->env_prefix;
  if (!prefix)
    return;
  char key[ROSTER_CONFIG_KEY_MAX + 1];
  char why[128];
  /* the .env file's variables first: the environment wins over them */
  for (size_t i = 0; i < b->dot.n; i++) {
    const cfg_envvar *e = &b->dot.v[i];
    size_t nl = strlen(e->name);
    int k = env_key(prefix, e->name, nl, key, sizeof key, why, sizeof why);
    if (k < 0) {
      roster__config_problem_add(b->p, ROSTER_EINVAL,
                                 "%s:%u: variable %.*s%s: %s", b->dot_name,
                                 e->line, (int)(nl > 200 ? 200 : nl), e->name,
                                 nl > 200 ? "..." : "", why);
    } else if (k > 0) {
      cfg_src *src = roster__config_src_new(b->a, CFG_SRC_DOTENV, b->dot_name);
      if (src)
        add_text(b, key, e->value, src, e->line, e->col);
    }
  }
  for (size_t i = 0; b->v.env && b->v.env[i]; i++) {
    const char *ent = b->v.env[i];
    const char *eq = strchr(ent, '=');
    if (!eq)
      continue;
    size_t nl = (size_t)(eq - ent);
    int k = env_key(prefix, ent, nl, key, sizeof key, why, sizeof why);
    if (k < 0) {
      roster__config_problem_add(
          b->p, ROSTER_EINVAL, "environment variable %.*s%s: %s",
          (int)(nl > 200 ? 200 : nl), ent, nl > 200 ? "..." : "", why);
    } else if (k > 0) {
      char name[256];
      snprintf(name, sizeof name, "%.*s", (int)nl, ent);
      cfg_src *src = roster__config_src_new(b->a, CFG_SRC_ENV, name);
      if (src)
        add_text(b, key, eq + 1, src, 0, 0);
      else
        roster__config_problem_add(b->p, ROSTER_ENOMEM, "out of memory");
    }
  }
}

static void load_overrides(build *b) {
  if (!b->cfg->live->overrides)
    return;
  cfg_src *src = roster__config_src_new(b->a, CFG_SRC_OVERRIDE, NULL);
  if (!src) {
    roster__config_problem_add(b->p, ROSTER_ENOMEM, "out of memory");
    return;
  }
  for (char **o = b->cfg->live->overrides; *o; o++) {
    const char *eq = strchr(*o, '=');
    char key[ROSTER_CONFIG_KEY_MAX + 1];
    snprintf(key, sizeof key, "%.*s", (int)(eq - *o), *o);
    add_text(b, key, eq + 1, src, 0, 0);
  }
}

/* build_tree fills s from cfg's sources; problems go to p. */
static void build_tree(roster_config *cfg, cfg_snap *s, cfg_problems *p) {
  build b = {.cfg = cfg, .a = &s->arena, .p = p};
  b.v.env = cfg->live->env ? cfg->live->env : environ;
  b.v.dot = &b.dot;
  b.root = roster__config_node_new(b.a, CFG_OBJ, NULL, 0, 0);
  if (!b.root) {
    roster__config_problem_add(p, ROSTER_ENOMEM, "out of memory");
    return;
  }
  load_dotenv(&b); /* first: files may use its variables in ${} */
  load_defaults(&b);
  for (size_t i = 0; i < cfg->live->nfiles; i++)
    load_file(&b, cfg->live->files[i]);
  load_env(&b);
  load_overrides(&b);
  if (b.a->oom)
    roster__config_problem_add(p, ROSTER_ENOMEM, "out of memory (config tree)");
  if (p->n == 0)
    roster__config_validate(cfg->live->schema, cfg->live->nschema,
                            cfg->live->strict, b.root, p);
  s->root = b.root;
}

static bool on_loader(const roster_config *cfg) {
  return atomic_load(&cfg->live->loading) &&
         pthread_equal(atomic_load(&cfg->live->loader), pthread_self());
}

static void snap_retire(struct rcu_head *h) {
  roster__reclaim_enter();
  ROSTER__TSAN_ACQUIRE(h);
  ROSTER__TSAN_ACQUIRE(&roster__grace_token);
  roster__config_snap_put(caa_container_of(h, cfg_snap, rcu));
  roster__reclaim_exit();
}

int roster__config_load(roster_config *cfg, bool reload) {
  const char *fn = reload ? "roster_config_reload" : "roster_config_load";
  if (!cfg)
    return roster__err(ROSTER_EINVAL, "%s: config is NULL", fn);
  if (cfg->is_view)
    return roster__err(ROSTER_EINVAL,
                       "%s: a view cannot be loaded (load "
                       "the config it came from)",
                       fn);
  if (on_loader(cfg))
    return roster__err(ROSTER_EBUSY,
                       "%s: called from one of the config's "
                       "own callbacks",
                       fn);
  roster__thread_ensure();
  pthread_mutex_lock(&cfg->live->load_lock);
  atomic_store(&cfg->live->loader, pthread_self());
  atomic_store(&cfg->live->loading, true);
  int rc = ROSTER_OK;
  if (reload && !atomic_load(&cfg->cur)) {
    rc = roster__err(ROSTER_ESTATE, "roster_config_reload: the config was "
                                    "never loaded (call roster_config_load)");
    goto out;
  }
  cfg_snap *s = roster__config_snap_new();
  if (!s) {
    rc = roster__err(ROSTER_ENOMEM, "out of memory");
    goto out;
  }
  cfg_problems p = {0};
  build_tree(cfg, s, &p);
  if (p.n || p.oom) {
    char *joined = roster__config_problems_join(&p);
    pthread_mutex_lock(&cfg->live->err_lock);
    roster__free(cfg->live->errors);
    cfg->live->errors = joined;
    pthread_mutex_unlock(&cfg->live->err_lock);
    rc = roster__config_problems_report(&p);
    roster__config_problems_free(&p);
    roster__config_snap_put(s);
    goto out;
  }
  roster__config_problems_free(&p);
  pthread_mutex_lock(&cfg->live->err_lock);
  roster__free(cfg->live->errors);
  cfg->live->errors = NULL;
  pthread_mutex_unlock(&cfg->live->err_lock);
  s->gen = ++cfg->live->gen;
  ROSTER__TSAN_RELEASE(s);
  cfg_snap *old = atomic_exchange(&cfg->cur, s);
  if (old) {
    ROSTER__TSAN_ACQUIRE(old);
    roster__config_notify(cfg, old, s);
    /* readers inside a read section may still see old: its published
     * reference goes after a grace period */
    roster__defer(&old->rcu, snap_retire);
  }
out:
  atomic_store(&cfg->live->loading, false);
  pthread_mutex_unlock(&cfg->live->load_lock);
  return rc;
}

int roster_config_load(roster_config *cfg) {
  return roster__config_load(cfg, false);
}
int roster_config_reload(roster_config *cfg) {
  return roster__config_load(cfg, true);
}

/* ---- SIGHUP ---- */

static void on_sighup(int signo, void *arg) {
  (void)signo;
  roster_config *cfg = arg;
  int rc = roster_config_reload(cfg);
  if (cfg->live->sig_fn)
    cfg->live->sig_fn(cfg, rc, cfg->live->sig_arg);
}

int roster_config_reload_on_sighup(roster_config *cfg,
                                   roster_config_reload_fn fn, void *arg) {
  if (!cfg || cfg->is_view)
    return roster__err(ROSTER_EINVAL, "roster_config_reload_on_sighup: %s",
                       cfg ? "a view cannot reload" : "cfg is NULL");
  pthread_mutex_lock(&cfg->live->sig_lock);
  int rc = ROSTER_OK;
  if (cfg->live->sig_id) {
    rc = roster__err(ROSTER_EEXIST, "the config already reloads on SIGHUP");
  } else {
    cfg->live->sig_fn = fn;
    cfg->live->sig_arg = arg;
    rc = roster_signal_watch(SIGHUP, on_sighup, cfg, &cfg->live->sig_id);
  }
  pthread_mutex_unlock(&cfg->live->sig_lock);
  return rc;
}

/* ---- one document ---- */

int roster_config_parse(const char *text, size_t len, const char *format,
                        const char *name, roster_config **out) {
  if (out)
    *out = NULL;
  if (!out || (!text && len))
    return roster__err(ROSTER_EINVAL, "roster_config_parse: %s is NULL",
                       out ? "text" : "out");
  if (len > ROSTER_CONFIG_FILE_MAX)
    return roster__err(ROSTER_EINVAL,
                       "roster_config_parse: the text is "
                       "larger than %d bytes",
                       ROSTER_CONFIG_FILE_MAX);
  const char *nm = name ? name : "<memory>";
  const char *fmt = format ? format : roster__config_format_of(nm);
  if (!fmt)
    return roster__err(ROSTER_EINVAL,
                       "roster_config_parse: cannot tell the "
                       "format of '%s' from its name; pass format",
                       nm);
  if (strcmp(fmt, "json") && strcmp(fmt, "yaml") && strcmp(fmt, "toml") &&
      strcmp(fmt, "env"))
    return roster__err(ROSTER_EINVAL,
                       "roster_config_parse: unknown format "
                       "'%s' (want json, yaml, toml or env)",
                       fmt);
  roster__thread_ensure();
  cfg_snap *s = roster__config_snap_new();
  cfg_src *src = s ? roster__config_src_new(&s->arena, CFG_SRC_FILE, nm) : NULL;
  if (!src) {
    roster__config_snap_put(s);
    return roster__err(ROSTER_ENOMEM, "out of memory");
  }
  vars v = {.env = environ};
  cfg_doc d = {
      .arena = &s->arena, .src = src, .text = text ? text : "", .len = len};
  int rc = roster__config_parse_any(&d, fmt, lookup_env, &v);
  if (rc) {
    roster__config_snap_put(s);
    if (d.line)
      return roster__err(rc, "%s:%u:%u: %s", nm, d.line, d.col, d.msg);
    return roster__err(rc, "%s: %s", nm, d.msg);
  }
  cfg_problems p = {0};
  if (strcmp(fmt, "env"))
    roster__config_expand_tree(&s->arena, d.root, lookup_env, &v, &p);
  if (p.n || p.oom || s->arena.oom) {
    rc = p.n || p.oom ? roster__config_problems_report(&p)
                      : roster__err(ROSTER_ENOMEM, "out of memory");
    roster__config_problems_free(&p);
    roster__config_snap_put(s);
    return rc;
  }
  s->root = d.root;
  s->gen = 1;
  *out = roster__config_view_new(s, s->root, "");
  roster__config_snap_put(s); /* the view holds it now */
  return *out ? ROSTER_OK : roster__err(ROSTER_ENOMEM, "out of memory");
}
