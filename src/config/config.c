/*
 * config.c: configs, snapshots and views.
 *
 * A config publishes its current tree (a cfg_snap) through an RCU pointer.
 * A getter pins it for the length of one call inside a read section; a view
 * (roster_config_acquire, roster_config_sub) takes a reference instead, so
 * it may be kept across blocking work and reloads. A reload swaps the
 * pointer; the published reference of the old snapshot is dropped after a
 * grace period (call_rcu), and the snapshot is freed when its last view is
 * released. Readers therefore never lock and never see a tree change under
 * them.
 */
#include "config_impl.h"

#include <stdlib.h>

/* ---- snapshots ---- */

cfg_snap *roster__config_snap_new(void) {
  cfg_snap *s = roster__calloc(1, sizeof *s);
  if (s)
    atomic_init(&s->refs, 1);
  return s;
}

void roster__config_snap_get(cfg_snap *s) {
  atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

void roster__config_snap_put(cfg_snap *s) {
  if (!s)
    return;
  if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
    return;
  roster__config_arena_free(&s->arena);
  roster__free(s);
}

/* ---- pins ---- */

int roster__config_pin_take(const roster_config *cfg, cfg_pin *p) {
  *p = (cfg_pin){0};
  if (!cfg)
    return roster__err(ROSTER_EINVAL, "config is NULL");
  if (cfg->is_view) {
    p->root = cfg->root;
    p->prefix = cfg->prefix;
    p->snap = cfg->snap;
    return ROSTER_OK;
  }
  roster__thread_ensure();
  roster__rlock();
  cfg_snap *s = atomic_load_explicit(&cfg->cur, memory_order_acquire);
  if (!s) {
    roster__runlock();
    return roster__err(ROSTER_ESTATE, "the config is not loaded yet (call "
                                      "roster_config_load first)");
  }
  ROSTER__TSAN_ACQUIRE(s);
  p->root = s->root;
  p->prefix = "";
  p->snap = s;
  p->locked = true;
  return ROSTER_OK;
}

void roster__config_pin_drop(cfg_pin *p) {
  if (p->locked)
    roster__runlock();
  p->locked = false;
}

roster_config *roster__config_view_new(cfg_snap *snap, const cfg_node *root,
                                       const char *prefix) {
  roster_config *v = roster__calloc(1, sizeof *v);
  if (!v)
    return NULL;
  if (*prefix) {
    char *pre = roster__strndup(prefix, strlen(prefix));
    if (!pre) {
      roster__free(v);
      return NULL;
    }
    v->prefix = pre;
    v->own_prefix = true;
  } else {
    v->prefix = ""; /* the whole tree: nothing to copy */
  }
  roster__config_snap_get(snap);
  v->is_view = true;
  v->snap = snap;
  v->root = root;
  return v;
}

int roster_config_acquire(const roster_config *cfg, roster_config **view) {
  if (view)
    *view = NULL;
  if (!view)
    return roster__err(ROSTER_EINVAL, "roster_config_acquire: view is NULL");
  cfg_pin p;
  int rc = roster__config_pin_take(cfg, &p);
  if (rc)
    return rc;
  *view = roster__config_view_new(p.snap, p.root, p.prefix);
  roster__config_pin_drop(&p);
  return *view ? ROSTER_OK : roster__err(ROSTER_ENOMEM, "out of memory");
}

int roster_config_sub(const roster_config *cfg, const char *key,
                      roster_config **view) {
  if (view)
    *view = NULL;
  if (!view)
    return roster__err(ROSTER_EINVAL, "roster_config_sub: view is NULL");
  int rc = roster__config_key_check("key", key, false);
  if (rc)
    return rc;
  cfg_pin p;
  if ((rc = roster__config_pin_take(cfg, &p)))
    return rc;
  /* the view's prefix is the whole key, however deep the views go: it
   * decides what a dump of the view redacts */
  char *full = roster__config_key_join_new(p.prefix, key);
  const cfg_node *n = roster__config_lookup(p.root, key);
  if (!full) {
    rc = roster__err(ROSTER_ENOMEM, "out of memory");
  } else if (!n || n->kind == CFG_NULL) {
    rc = roster__err(ROSTER_ENOENT, "config key '%s' is not set", full);
  } else if (n->kind != CFG_OBJ && n->kind != CFG_ARR) {
    char what[128], where[512];
    rc = roster__err(ROSTER_ETYPE,
                     "config key '%s' is %s from %s; want an "
                     "object or a list",
                     full,
                     roster__config_describe(
                         n, roster__config_key_secret(full, strlen(full)), what,
                         sizeof what),
                     roster__config_where(n, where, sizeof where));
  } else if (!(*view = roster__config_view_new(p.snap, n, full))) {
    rc = roster__err(ROSTER_ENOMEM, "out of memory");
  }
  roster__config_pin_drop(&p);
  roster__free(full);
  return rc;
}

void roster_config_release(roster_config *view) {
  if (!view || !view->is_view)
    return;
  roster__config_snap_put(view->snap);
  if (view->own_prefix)
    roster__free((char *)view->prefix);
  roster__free(view);
}

uint64_t roster_config_generation(const roster_config *cfg) {
  if (!cfg)
    return 0;
  if (cfg->is_view)
    return cfg->snap->gen;
  roster__thread_ensure();
  roster__rlock();
  cfg_snap *s = atomic_load_explicit(&cfg->cur, memory_order_acquire);
  uint64_t g = s ? s->gen : 0;
  roster__runlock();
  return g;
}

/* ---- making and freeing ---- */

static char **copy_strv(const char *const *v, size_t *count, bool *oom) {
  size_t n = 0;
  while (v && v[n])
    n++;
  if (count)
    *count = n;
  if (!v)
    return NULL;
  char **c = roster__calloc(n + 1, sizeof *c);
  if (!c) {
    *oom = true;
    return NULL;
  }
  for (size_t i = 0; i < n; i++)
    if (!(c[i] = roster_mem_strdup(v[i])))
      *oom = true;
  return c;
}

static void free_strv(char **v) {
  for (size_t i = 0; v && v[i]; i++)
    roster__free(v[i]);
  roster__free(v);
}

static void free_schema(roster_config_field *f, size_t n) {
  for (size_t i = 0; i < n; i++) {
    roster__free((char *)f[i].key);
    roster__free((char *)f[i].def);
    free_strv((char **)f[i].allowed);
  }
  roster__free(f);
}

static void config_destroy(roster_config *cfg) {
  free_strv(cfg->live->files);
  roster__free(cfg->live->env_file);
  roster__free(cfg->live->env_prefix);
  free_strv(cfg->live->env);
  free_strv(cfg->live->overrides);
  roster__free(cfg->live->defaults_json);
  free_schema(cfg->live->schema, cfg->live->nschema);
  roster__free(cfg->live->errors);
  pthread_mutex_destroy(&cfg->live->load_lock);
  pthread_mutex_destroy(&cfg->live->err_lock);
  pthread_mutex_destroy(&cfg->live->watch_lock);
  pthread_cond_destroy(&cfg->live->watch_idle);
  pthread_mutex_destroy(&cfg->live->sig_lock);
  roster__free(cfg);
}

/* check_opts validates opts before anything is copied. */
static int check_opts(const roster_config_options *o) {
  for (size_t i = 0; o->files && o->files[i]; i++) {
    const char *f = o->files[i];
    if (!*f)
      return roster__err(ROSTER_EINVAL, "config file %zu has an empty path",
                         i + 1);
    const char *fmt = roster__config_format_of(f);
    if (!fmt || !strcmp(fmt, "env"))
      return roster__err(ROSTER_EINVAL,
                         "cannot tell the format of config "
                         "file '%s' from its name: use .json, .yaml, .yml or "
                         ".toml (a .env file goes in env_file)",
                         f);
  }
  if (o->env_file && !*o->env_file)
    return roster__err(ROSTER_EINVAL, "env_file is an empty path");
  if (o->env_prefix) {
    size_t n = strlen(o->env_prefix);
    while (n && o->env_prefix[n - 1] == '_')
      n--;
    if (n == 0 || n > 64)
      return roster__err(ROSTER_EINVAL,
                         "env_prefix '%.70s' must be 1 to 64 "
                         "letters, digits or '_'",
                         o->env_prefix);
    for (size_t i = 0; i < n; i++) {
      char c = o->env_prefix[i];
      if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9') || c == '_'))
        return roster__err(ROSTER_EINVAL,
                           "env_prefix '%s' must be letters, "
                           "digits or '_'",
                           o->env_prefix);
    }
  }
  for (size_t i = 0; o->env && o->env[i]; i++)
    if (!strchr(o->env[i], '='))
      return roster__err(ROSTER_EINVAL,
                         "env entry '%.60s' has no '=' (want "
                         "NAME=value)",
                         o->env[i]);
  for (size_t i = 0; o->overrides && o->overrides[i]; i++) {
    const char *ov = o->overrides[i];
    const char *eq = strchr(ov, '=');
    if (!eq)
      return roster__err(ROSTER_EINVAL,
                         "override '%.60s' has no '=' (want "
                         "key=value)",
                         ov);
    char key[ROSTER_CONFIG_KEY_MAX + 2];
    size_t kl = (size_t)(eq - ov);
    if (kl > ROSTER_CONFIG_KEY_MAX)
      kl = ROSTER_CONFIG_KEY_MAX + 1;
    memcpy(key, ov, kl);
    key[kl] = '\0';
    int rc = roster__config_key_check("override key", key, false);
    if (rc == ROSTER_OK)
      rc = roster__config_key_depth_check("override key", key);
    if (rc)
      return rc;
  }
  if (o->defaults_json) {
    cfg_arena a = {0};
    cfg_doc d = {
        .arena = &a, .text = o->defaults_json, .len = strlen(o->defaults_json)};
    int rc = roster__config_parse_json(&d);
    roster__config_arena_free(&a);
    if (rc)
      return roster__err(ROSTER_EINVAL, "defaults_json:%u:%u: %s", d.line,
                         d.col, d.msg);
  }
  for (size_t i = 0; o->schema && o->schema[i].key; i++) {
    int rc = roster__config_field_check(&o->schema[i]);
    if (rc)
      return rc;
  }
  if (o->strict && !o->schema)
    return roster__err(ROSTER_EINVAL, "strict needs a schema");
  return ROSTER_OK;
}

static roster_config_field *copy_schema(const roster_config_field *f,
                                        size_t *count, bool *oom) {
  size_t n = 0;
  while (f && f[n].key)
    n++;
  *count = n;
  if (!f)
    return NULL;
  roster_config_field *c = roster__calloc(n + 1, sizeof *c);
  if (!c) {
    *oom = true;
    return NULL;
  }
  for (size_t i = 0; i < n; i++) {
    c[i] = f[i];
    c[i].key = roster_mem_strdup(f[i].key);
    c[i].def = roster_mem_strdup(f[i].def);
    c[i].allowed = (const char *const *)copy_strv(f[i].allowed, NULL, oom);
    if (!c[i].key || (f[i].def && !c[i].def))
      *oom = true;
  }
  return c;
}

static roster_config *config_make(const roster_config_options *opts) {
  static const roster_config_options none = {0};
  const roster_config_options *o = opts ? opts : &none;
  if (check_opts(o))
    return NULL;
  /* the config and its live part in one block; a view has no live part */
  struct whole {
    roster_config c;
    cfg_live l;
  } *w = roster__calloc(1, sizeof *w);
  if (!w) {
    roster__err(ROSTER_ENOMEM, "out of memory");
    return NULL;
  }
  roster_config *cfg = &w->c;
  cfg->live = &w->l;
  pthread_mutex_init(&cfg->live->load_lock, NULL);
  pthread_mutex_init(&cfg->live->err_lock, NULL);
  pthread_mutex_init(&cfg->live->watch_lock, NULL);
  pthread_cond_init(&cfg->live->watch_idle, NULL);
  pthread_mutex_init(&cfg->live->sig_lock, NULL);
  bool oom = false;
  cfg->live->files = copy_strv(o->files, &cfg->live->nfiles, &oom);
  cfg->live->env_file = roster_mem_strdup(o->env_file);
  cfg->live->missing_ok = o->missing_ok;
  if (o->env_prefix) {
    size_t n = strlen(o->env_prefix);
    while (n && o->env_prefix[n - 1] == '_')
      n--;
    cfg->live->env_prefix = roster__strndup(o->env_prefix, n);
    oom |= !cfg->live->env_prefix;
  }
  cfg->live->env = copy_strv(o->env, NULL, &oom);
  cfg->live->overrides = copy_strv(o->overrides, NULL, &oom);
  cfg->live->defaults_json = roster_mem_strdup(o->defaults_json);
  cfg->live->schema = copy_schema(o->schema, &cfg->live->nschema, &oom);
  cfg->live->strict = o->strict;
  oom |= (o->env_file && !cfg->live->env_file) ||
         (o->defaults_json && !cfg->live->defaults_json);
  if (oom) {
    config_destroy(cfg);
    roster__err(ROSTER_ENOMEM, "out of memory");
    return NULL;
  }
  return cfg;
}

int roster_config_new(const roster_config_options *opts, roster_config **out) {
  if (!out)
    return roster__err(ROSTER_EINVAL, "roster_config_new: out is NULL");
  *out = config_make(opts);
  return *out ? ROSTER_OK : roster_last_code();
}

void roster_config_free(roster_config *cfg) {
  if (!cfg)
    return;
  if (cfg->is_view) {
    roster_config_release(cfg);
    return;
  }
  pthread_mutex_lock(&cfg->live->sig_lock);
  uint64_t sig = cfg->live->sig_id;
  cfg->live->sig_id = 0;
  pthread_mutex_unlock(&cfg->live->sig_lock);
  if (sig)
    roster_signal_unwatch(sig);
  roster__config_watches_free(cfg);
  /* No reader may use cfg any more (the caller's promise), so no grace
   * period is needed before dropping the published reference. */
  cfg_snap *s = atomic_exchange(&cfg->cur, NULL);
  ROSTER__TSAN_ACQUIRE(s);
  roster__config_snap_put(s);
  config_destroy(cfg);
}

char *roster_config_errors(roster_config *cfg) {
  if (!cfg || cfg->is_view)
    return NULL;
  pthread_mutex_lock(&cfg->live->err_lock);
  char *e = roster_mem_strdup(cfg->live->errors);
  pthread_mutex_unlock(&cfg->live->err_lock);
  return e;
}

/* ---- the config as a service ---- */

static void config_service_destroy(void *p) { roster_config_free(p); }

const roster_type roster_config_type = {.name = "roster_config",
                                        .destroy = config_service_destroy};

ROSTER_DEFINE_FIND(roster_config_find, roster_config, roster_config_type)

int roster_config_register(roster *r, const char *ns, const char *name,
                           roster_config *cfg) {
  if (!cfg || cfg->is_view)
    return roster__err(ROSTER_EINVAL, "roster_config_register: %s",
                       cfg ? "a view cannot be registered (register the "
                             "config itself)"
                           : "cfg is NULL");
  return roster_register(r, ns, name ? name : ROSTER_CONFIG_NAME,
                         &roster_config_type, cfg);
}

/* The config as a provider: arg is the config, made at declaration; the
 * instance is that same config, loaded by create. Stopping keeps it (it is
 * the provider's), freeing the provider frees it. */
static int provider_create(void *arg, const roster_deps *deps, void **out) {
  (void)deps;
  int rc = roster_config_load(arg);
  *out = rc == ROSTER_OK ? arg : NULL;
  return rc;
}

static void provider_destroy(void *arg, void *instance) {
  (void)arg;
  (void)instance;
}

static void provider_free(void *arg) { roster_config_free(arg); }

int roster_config_provide(roster *r, const char *ns, const char *name,
                          const roster_config_options *opts) {
  if (!r)
    return roster__err(ROSTER_EINVAL, "roster_config_provide: registry is "
                                      "NULL");
  roster_config *cfg = NULL;
  int rc0 = roster_config_new(opts, &cfg);
  if (rc0 != ROSTER_OK)
    return rc0;
  int rc = roster_provide(r, ns, name ? name : ROSTER_CONFIG_NAME,
                          &(roster_provider){.type = &roster_config_type,
                                             .create = provider_create,
                                             .destroy = provider_destroy,
                                             .arg = cfg,
                                             .free_arg = provider_free});
  if (rc)
    roster_config_free(cfg); /* roster_provide kept nothing */
  return rc;
}
