/*
 * services.c: declarative services. Each entry of the "services" object
 * names a service; its url picks a driver by scheme (roster/driver.h), its
 * kind (if any) one of the driver's faces (redis: kind: cache), and its
 * other leaves become the face's options. Everything that can be
 * checked without a driver (the entry's shape, the URL's syntax, whether a
 * module serves the scheme) is checked for every entry before the first is
 * declared, so a config with a typo in one URL declares nothing.
 */
#include "config_impl.h"

#include "core/driver_impl.h"

/* entry_url finds the url of one entry: services.<name>.url, or the entry
 * itself when it is a string (services: {db: "sqlite::memory:"}). */
static const cfg_node *entry_url(const cfg_node *e) {
  if (roster__config_is_string(e))
    return e;
  if (e->kind != CFG_OBJ)
    return NULL;
  cfg_member *m = roster__config_obj_find(e, "url", 3);
  return m && roster__config_is_string(m->val) ? m->val : NULL;
}

/* precheck records what is wrong with one entry. */
static void precheck(const char *name, size_t nlen, const cfg_node *e,
                     cfg_problems *p) {
  char where[512], what[160];
  roster__config_where(e, where, sizeof where);
  if (nlen == 0 || nlen > ROSTER_NAME_MAX) {
    roster__config_problem_add(p, ROSTER_EINVAL,
                               "%s: services: a service name must be "
                               "1 to %d bytes",
                               where, ROSTER_NAME_MAX);
    return;
  }
  const cfg_node *u = entry_url(e);
  if (!u) {
    cfg_member *m =
        e->kind == CFG_OBJ ? roster__config_obj_find(e, "url", 3) : NULL;
    if (m)
      roster__config_problem_add(
          p, ROSTER_EINVAL,
          "%s: services.%.*s.url is %s; want a "
          "URL string",
          roster__config_where(m->val, where, sizeof where), (int)nlen, name,
          roster__config_describe(m->val, roster__config_key_secret(name, nlen),
                                  what, sizeof what));
    else
      roster__config_problem_add(p, ROSTER_EINVAL,
                                 "%s: services.%.*s has no url (want "
                                 "services.%.*s.url: scheme://...)",
                                 where, (int)nlen, name, (int)nlen, name);
    return;
  }
  roster__config_where(u, where, sizeof where);
  roster_url *url = NULL;
  if (roster_url_parse(u->u.s.p, &url) != ROSTER_OK) {
    roster__config_problem_add(p, roster_last_code(),
                               "%s: services.%.*s.url: %s", where, (int)nlen,
                               name, roster_last_error());
    return;
  }
  /* the one lookup: the scheme's driver and the face kind= picks */
  const char *kind = roster_url_query(url, "kind");
  cfg_member *km =
      e->kind == CFG_OBJ ? roster__config_obj_find(e, "kind", 4) : NULL;
  if (km && roster__config_is_string(km->val))
    kind = km->val->u.s.p;
  char shown[512];
  roster__face_ref f;
  roster__url_shown(u->u.s.p, shown, sizeof shown);
  if (roster__driver_pick(url->scheme, NULL, kind, shown, &f))
    roster__config_problem_add(p, roster_last_code(), "%s: services.%.*s: %s",
                               where, (int)nlen, name, roster_last_error());
  roster_url_free(url);
}

typedef struct opts {
  char **v; /* key, value, ..., NULL */
  size_t n, cap;
  bool oom;
} opts;

static int add_opt(const char *key, size_t klen, const cfg_node *n, void *arg) {
  opts *o = arg;
  if (klen == 3 && !memcmp(key, "url", 3))
    return 0;
  if (o->n + 3 > o->cap) {
    size_t cap = o->cap ? o->cap * 2 : 16;
    char **v = roster__realloc(o->v, cap * sizeof *v);
    if (!v) {
      o->oom = true;
      return 1;
    }
    o->v = v;
    o->cap = cap;
  }
  cfg_buf t = {0};
  roster__config_text(n, &t);
  char *k = roster__strndup(key, klen);
  char *val = t.oom ? NULL : roster__strndup(roster__config_buf_str(&t), t.n);
  roster__config_buf_free(&t);
  if (!k || !val) {
    roster__free(k);
    roster__free(val);
    o->oom = true;
    return 1;
  }
  o->v[o->n++] = k;
  o->v[o->n++] = val;
  o->v[o->n] = NULL;
  return 0;
}

static void opts_free(opts *o) {
  for (size_t i = 0; i < o->n; i++)
    roster__free(o->v[i]);
  roster__free(o->v);
}

/* declare one entry through its driver. */
static int declare(roster *r, const char *name, size_t nlen,
                   const cfg_node *e) {
  char nm[ROSTER_NAME_MAX + 1];
  snprintf(nm, sizeof nm, "%.*s", (int)nlen, name);
  opts o = {0};
  if (e->kind == CFG_OBJ && e->u.obj.n) {
    cfg_buf key = {0};
    if (roster__config_walk(e, &key, add_opt, &o) < 0)
      o.oom = true;
    roster__config_buf_free(&key);
  }
  int rc = o.oom ? roster__err(ROSTER_ENOMEM, "out of memory")
                 : roster_provide_url(r, NULL, nm, entry_url(e)->u.s.p,
                                      (const char *const *)o.v);
  opts_free(&o);
  return rc;
}

int roster_config_provide_services(roster *r, const roster_config *cfg) {
  if (!r)
    return roster__err(ROSTER_EINVAL, "roster_config_provide_services: "
                                      "registry is NULL");
  cfg_pin p;
  int rc = roster__config_pin_take(cfg, &p);
  if (rc)
    return rc;
  /* drivers may take a while: hold the tree by reference instead */
  cfg_snap *held = p.snap;
  roster__config_snap_get(held);
  const cfg_node *s = roster__config_lookup(p.root, "services");
  char full[ROSTER_CONFIG_KEY_MAX + 16];
  roster__config_key_join(full, sizeof full, p.prefix, "services");
  bool secret = roster__config_path_secret(p.prefix, "services", 8);
  roster__config_pin_drop(&p);
  if (!s || s->kind == CFG_NULL) {
    roster__config_snap_put(held);
    return ROSTER_OK;
  }
  if (s->kind != CFG_OBJ) {
    char what[160], where[512];
    rc =
        roster__err(ROSTER_ETYPE,
                    "config key '%s' is %s from %s; want an "
                    "object of services (name: {url: ...})",
                    full, roster__config_describe(s, secret, what, sizeof what),
                    roster__config_where(s, where, sizeof where));
    roster__config_snap_put(held);
    return rc;
  }
  cfg_problems probs = {0};
  for (size_t i = 0; i < s->u.obj.n; i++)
    precheck(s->u.obj.v[i].key, s->u.obj.v[i].klen, s->u.obj.v[i].val, &probs);
  if (probs.n || probs.oom) {
    rc = roster__config_problems_report(&probs);
    roster__config_problems_free(&probs);
    roster__config_snap_put(held);
    return rc;
  }
  for (size_t i = 0; i < s->u.obj.n && rc == ROSTER_OK; i++)
    rc = declare(r, s->u.obj.v[i].key, s->u.obj.v[i].klen, s->u.obj.v[i].val);
  roster__config_snap_put(held);
  return rc;
}
