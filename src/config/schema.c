/*
 * schema.c: the schema declared in C (roster_config_field), checked against
 * the merged tree at every load. Every field is checked and every failure
 * recorded, each with the source of the value it is about, so one failed
 * load shows the whole list. Secret values are never quoted.
 */
#include "config_impl.h"

#include <math.h>

int roster__config_field_check(const roster_config_field *f) {
  int rc = roster__config_key_check("schema key", f->key, false);
  if (rc == ROSTER_OK)
    rc = roster__config_key_depth_check("schema key", f->key);
  if (rc)
    return rc;
  if ((unsigned)f->type > ROSTER_CONFIG_OBJECT)
    return roster__err(ROSTER_EINVAL,
                       "schema key '%s' has an unknown type "
                       "%d",
                       f->key, (int)f->type);
  if (f->min > f->max || isnan(f->min) || isnan(f->max))
    return roster__err(ROSTER_EINVAL,
                       "schema key '%s': min %g is above max "
                       "%g",
                       f->key, f->min, f->max);
  if (f->allowed &&
      (f->type == ROSTER_CONFIG_OBJECT || f->type == ROSTER_CONFIG_LIST))
    return roster__err(ROSTER_EINVAL,
                       "schema key '%s': allowed values need "
                       "a scalar type, not %s",
                       f->key, roster_config_kind_name(f->type));
  if (f->def) {
    if (f->type == ROSTER_CONFIG_OBJECT)
      return roster__err(ROSTER_EINVAL,
                         "schema key '%s': an object cannot "
                         "have a default",
                         f->key);
    /* the default must pass the field's own checks */
    cfg_arena a = {0};
    cfg_node *n = roster__config_str_new(&a, CFG_TEXT, f->def, strlen(f->def),
                                         NULL, 0, 0);
    cfg_node *root = roster__config_node_new(&a, CFG_OBJ, NULL, 0, 0);
    cfg_problems p = {0};
    if (!n || !root || !roster__config_set_path(&a, root, f->key, n)) {
      rc = roster__err(ROSTER_ENOMEM, "out of memory");
    } else {
      roster__config_validate(f, 1, false, root, &p);
      if (p.n && roster__config_key_secret(f->key, strlen(f->key))) {
        rc = roster__err(ROSTER_EINVAL,
                         "schema key '%s': the default (secret) "
                         "does not pass: %s",
                         f->key, p.v[0].msg);
      } else if (p.n) {
        cfg_buf d = {0};
        roster__config_redact(f->def, strlen(f->def), &d);
        rc = roster__err(ROSTER_EINVAL,
                         "schema key '%s': the default '%s' "
                         "does not pass: %s",
                         f->key, roster__config_buf_str(&d), p.v[0].msg);
        roster__config_buf_free(&d);
      }
    }
    roster__config_problems_free(&p);
    roster__config_arena_free(&a);
  }
  return rc;
}

bool roster__config_schema_defaults(cfg_arena *a, const roster_config_field *f,
                                    size_t n, const cfg_src *src,
                                    cfg_node *root) {
  for (size_t i = 0; i < n; i++) {
    if (!f[i].def)
      continue;
    cfg_node *v = roster__config_str_new(a, CFG_TEXT, f[i].def,
                                         strlen(f[i].def), src, 0, 0);
    if (!v || !roster__config_set_path(a, root, f[i].key, v))
      return false;
  }
  return true;
}

/* measure converts n for field f into *v (the number that min/max bound);
 * returns a code and a reason for a value that does not convert. */
static int measure(const roster_config_field *f, const cfg_node *n, double *v,
                   const char **why) {
  int64_t i = 0;
  *why = NULL;
  int rc;
  switch (f->type) {
  case ROSTER_CONFIG_ANY:
    *v = 0;
    return ROSTER_OK;
  case ROSTER_CONFIG_STRING:
    if (!roster__config_is_string(n))
      return ROSTER_ETYPE;
    *v = (double)n->u.s.len;
    return ROSTER_OK;
  case ROSTER_CONFIG_INT:
    rc = roster__config_to_int(n, &i);
    *v = (double)i;
    return rc;
  case ROSTER_CONFIG_DOUBLE:
    return roster__config_to_double(n, v);
  case ROSTER_CONFIG_BOOL: {
    bool b = false;
    rc = roster__config_to_bool(n, &b);
    *v = b;
    return rc;
  }
  case ROSTER_CONFIG_DURATION:
    rc = roster__config_to_duration(n, &i, why);
    *v = (double)i;
    return rc;
  case ROSTER_CONFIG_SIZE:
    rc = roster__config_to_size(n, &i, why);
    *v = (double)i;
    return rc;
  case ROSTER_CONFIG_LIST: {
    long c = roster__config_list_count(n);
    *v = (double)c;
    return c < 0 ? ROSTER_ETYPE : ROSTER_OK;
  }
  case ROSTER_CONFIG_OBJECT:
    *v = 0;
    return n->kind == CFG_OBJ ? ROSTER_OK : ROSTER_ETYPE;
  default:
    return ROSTER_ETYPE;
  }
}

static const char *unit_of(roster_config_kind t) {
  switch (t) {
  case ROSTER_CONFIG_DURATION:
    return " ms";
  case ROSTER_CONFIG_SIZE:
    return " bytes";
  case ROSTER_CONFIG_STRING:
    return " bytes long";
  case ROSTER_CONFIG_LIST:
    return " items";
  default:
    return "";
  }
}

/* num writes v as an integer when it is one, so that sizes and durations
 * read "2000000000 bytes", not "2e+09 bytes". */
static const char *num(char *buf, size_t cap, double v) {
  if (v == floor(v) && fabs(v) < 1e18)
    snprintf(buf, cap, "%lld", (long long)v);
  else
    snprintf(buf, cap, "%g", v);
  return buf;
}

static void check_field(const roster_config_field *f, const cfg_node *root,
                        cfg_problems *p) {
  const cfg_node *n = roster__config_lookup(root, f->key);
  if (!n || n->kind == CFG_NULL) {
    if (f->required)
      roster__config_problem_add(p, ROSTER_ECONSTRAINT,
                                 "%s: required, but not set", f->key);
    return;
  }
  char where[512], what[160];
  bool secret = roster__config_key_secret(f->key, strlen(f->key));
  roster__config_where(n, where, sizeof where);
  double v;
  const char *why;
  int rc = measure(f, n, &v, &why);
  if (rc) {
    roster__config_problem_add(
        p, ROSTER_ECONSTRAINT, "%s: %s: is %s; want %s%s%s", where, f->key,
        roster__config_describe(n, secret, what, sizeof what),
        roster__config_type_want(f->type), why ? ": " : "", why ? why : "");
    return;
  }
  if (f->min < f->max && (v < f->min || v > f->max)) {
    const char *u = unit_of(f->type);
    bool len = f->type == ROSTER_CONFIG_STRING || f->type == ROSTER_CONFIG_LIST;
    char a[40], lo[40], hi[40];
    num(lo, sizeof lo, f->min);
    num(hi, sizeof hi, f->max);
    if (secret && !len)
      roster__config_problem_add(p, ROSTER_ECONSTRAINT,
                                 "%s: %s: the value (secret) is "
                                 "out of range [%s, %s]%s",
                                 where, f->key, lo, hi, u);
    else
      roster__config_problem_add(p, ROSTER_ECONSTRAINT,
                                 "%s: %s: %s%s%s is out of range "
                                 "[%s, %s]",
                                 where, f->key, len ? "length " : "",
                                 num(a, sizeof a, v), len ? "" : u, lo, hi);
    return;
  }
  if (f->allowed) {
    cfg_buf t = {0};
    roster__config_text(n, &t);
    bool ok = false;
    for (size_t i = 0; f->allowed[i] && !ok; i++)
      ok = !strcmp(roster__config_buf_str(&t), f->allowed[i]);
    if (!ok && !secret) {
      /* the value is quoted: a URL in it shows without its password */
      cfg_buf r = {0};
      roster__config_redact(roster__config_buf_str(&t), t.n, &r);
      roster__config_buf_free(&t);
      t = r;
    }
    if (!ok) {
      cfg_buf list = {0};
      for (size_t i = 0; f->allowed[i]; i++) {
        if (i)
          roster__config_buf_adds(&list, ", ");
        roster__config_buf_adds(&list, f->allowed[i]);
      }
      if (n->kind == CFG_OBJ || n->kind == CFG_ARR)
        /* a container's text would show what is below it, secrets too */
        roster__config_problem_add(
            p, ROSTER_ECONSTRAINT, "%s: %s: %s is not one of: %s", where,
            f->key, roster__config_describe(n, secret, what, sizeof what),
            roster__config_buf_str(&list));
      else
        roster__config_problem_add(
            p, ROSTER_ECONSTRAINT,
            "%s: %s: %s%s%s is not one of: "
            "%s",
            where, f->key, secret ? "" : "\"",
            secret ? "the value (secret)" : roster__config_buf_str(&t),
            secret ? "" : "\"", roster__config_buf_str(&list));
      roster__config_buf_free(&list);
    }
    roster__config_buf_free(&t);
  }
}

/* declared: leaf key is covered by a field (the field itself, a field of
 * type any/object/list above it, or a field below it: the leaf is then an
 * empty container on the way). */
static bool declared(const roster_config_field *f, size_t n, const char *key,
                     size_t klen) {
  for (size_t i = 0; i < n; i++) {
    size_t fl = strlen(f[i].key);
    if (fl == klen && !memcmp(f[i].key, key, klen))
      return true;
    if (fl < klen && !memcmp(f[i].key, key, fl) && key[fl] == '.' &&
        (f[i].type == ROSTER_CONFIG_ANY || f[i].type == ROSTER_CONFIG_OBJECT ||
         f[i].type == ROSTER_CONFIG_LIST))
      return true;
    if (klen < fl && !memcmp(f[i].key, key, klen) && f[i].key[klen] == '.')
      return true;
  }
  return false;
}

typedef struct strict_ctx {
  const roster_config_field *f;
  size_t n;
  cfg_problems *p;
} strict_ctx;

static int strict_leaf(const char *key, size_t klen, const cfg_node *n,
                       void *arg) {
  strict_ctx *c = arg;
  if (klen == 0 || declared(c->f, c->n, key, klen))
    return 0;
  char where[512];
  roster__config_problem_add(c->p, ROSTER_ECONSTRAINT,
                             "%s: %s: unknown key (the schema "
                             "does not declare it)",
                             roster__config_where(n, where, sizeof where), key);
  return 0;
}

void roster__config_validate(const roster_config_field *f, size_t n,
                             bool strict, const cfg_node *root,
                             cfg_problems *p) {
  for (size_t i = 0; i < n; i++)
    check_field(&f[i], root, p);
  if (strict && f) {
    strict_ctx c = {f, n, p};
    cfg_buf key = {0};
    if (roster__config_walk(root, &key, strict_leaf, &c) < 0)
      roster__config_problem_add(p, ROSTER_ENOMEM, "out of memory");
    roster__config_buf_free(&key);
  }
}
