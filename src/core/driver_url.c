/*
 * driver_url.c: services declared from a URL (roster_provide_url), the
 * service face (roster_service_face) and the one helper that declares a
 * service through any face.
 *
 * Each registry keeps the URL text of every service declared from a URL,
 * so that declaring the same name again with the same URL finds the same
 * service and another URL is refused. A declared service keeps a copy of
 * the URL and options; its create opens the instance through the face.
 */
#include "roster_impl.h"

#include "driver_impl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct roster__urlrec {
  struct roster__urlrec *next;
  char *ns, *name, *url;
} roster__urlrec;

/* ---- the service face -------------------------------------------------- */

static const roster__face_op service_required[] = {
    ROSTER__FACE_OP(roster_service_ops, type),
    ROSTER__FACE_OP(roster_service_ops, open),
};

static const roster_type *service_type(const void *ops) {
  return ((const roster_service_ops *)ops)->type;
}

static bool service_lazy(const void *ops) {
  return !((const roster_service_ops *)ops)->eager;
}

static int service_check(const roster_driver *d, const void *ops,
                         const roster_url *u, const char *text,
                         const char *const *opts, const char *name) {
  (void)d;
  const roster_service_ops *s = ops;
  return s->check ? s->check(u, text, opts, name) : ROSTER_OK;
}

static int service_open(const roster_driver *d, const void *ops,
                        const char *text, const char *const *opts,
                        const char *name, void **out) {
  (void)d;
  return ((const roster_service_ops *)ops)->open(text, opts, name, out);
}

const roster_face_kind roster_service_face = {
    .name = "service",
    .what = "a service",
    .version = ROSTER_DRIVER_VERSION,
    .required = service_required,
    .nrequired = sizeof service_required / sizeof service_required[0],
    .type = service_type,
    .lazy = service_lazy,
    .check = service_check,
    .open = service_open,
};

/* ---- declaring a service through a face -------------------------------- */

typedef struct decl {
  roster *r; /* the registry the service is declared in */
  roster__face_ref face;
  char *url;   /* the URL as the face sees it */
  char **opts; /* a copy of the options, NULL-terminated */
  char *name;  /* the service's name */
} decl;

static void decl_free(void *arg) {
  decl *d = arg;
  if (!d)
    return;
  roster_mem_strv_free(d->opts);
  roster__free(d->url);
  roster__free(d->name);
  roster__free(d);
}

/* creating_in: the registry of the service whose open runs on this
 * thread (roster_driver_registry). */
static _Thread_local roster *creating_in;

roster *roster_driver_registry(void) { return creating_in; }

static int decl_create(void *arg, const roster_deps *deps, void **out) {
  (void)deps;
  decl *d = arg;
  *out = NULL;
  roster *outer = creating_in;
  creating_in = d->r;
  int rc = d->face.kind->open(d->face.driver, d->face.ops, d->url,
                              (const char *const *)d->opts, d->name, out);
  creating_in = outer;
  return rc;
}

/* prefixed puts "service 'qn': " before the detail the last call set. */
static int prefixed(int rc, const char *qn) {
  return roster__err_wrap(rc, "service '%s'", qn);
}

/* declare is the one way a URL becomes a service: the face checks the URL
 * and options, then a provider of the face's type opens the instance when
 * the service is created. */
static int declare(roster *r, const char *ns, const char *name, const char *qn,
                   const roster__face_ref *f, const roster_url *u,
                   const char *text, const char *const *opts) {
  int rc = f->kind->check
               ? f->kind->check(f->driver, f->ops, u, text, opts, name)
               : ROSTER_OK;
  if (rc)
    return prefixed(rc, qn);
  decl *d = roster__calloc(1, sizeof *d);
  if (d) {
    d->r = r;
    d->face = *f;
    d->url = roster_mem_strdup(text);
    d->name = roster_mem_strdup(name);
    d->opts = roster_mem_strv_dup(opts);
  }
  if (!d || !d->url || !d->name || !d->opts) {
    decl_free(d);
    return roster__err(ROSTER_ENOMEM, "out of memory");
  }
  roster_provider p = {
      .type = f->kind->type(f->ops),
      .create = decl_create,
      .arg = d,
      .free_arg = decl_free,
      .lazy = f->kind->lazy(f->ops),
  };
  rc = roster_provide(r, ns, name, &p);
  if (rc)
    decl_free(d);
  return rc;
}

/* ---- kind= -------------------------------------------------------------- */

/* The option `kind` picks a face; it is taken out of the options and the
 * URL's query before the face sees them. */
typedef struct kindsel {
  const char *kind;  /* the value, or NULL */
  const char **opts; /* opts without kind (NULL-terminated), or NULL */
  char *text;        /* the URL without kind in its query, or NULL */
  roster_url *u;     /* text parsed, or NULL */
} kindsel;

static void kindsel_free(kindsel *k) {
  roster__free(k->opts);
  roster__free(k->text);
  roster_url_free(k->u);
}

/* key_is_kind: whether the query parameter p[0..n) is kind or kind=...,
 * its name judged percent-decoded (k%69nd is kind, as the parsed URL's
 * keys say). */
static bool key_is_kind(const char *p, size_t n) {
  static const char want[] = "kind";
  size_t w = 0, i = 0;
  while (i < n && p[i] != '=') {
    int c = (unsigned char)p[i];
    if (c == '%' && i + 2 < n && isxdigit((unsigned char)p[i + 1]) &&
        isxdigit((unsigned char)p[i + 2])) {
      char hex[3] = {p[i + 1], p[i + 2], 0};
      c = (int)strtol(hex, NULL, 16);
      i += 3;
    } else {
      i++;
    }
    if (w >= 4 || c != want[w])
      return false;
    w++;
  }
  return w == 4;
}

/* strip_query_kind copies text without its query's kind=... parameters. */
static char *strip_query_kind(const char *text) {
  size_t len = strlen(text);
  char *out = roster__calloc(len + 1, 1);
  if (!out)
    return NULL;
  const char *q = strchr(text, '?');
  size_t o = (size_t)(q - text);
  memcpy(out, text, o);
  const char *end = strchr(q, '#');
  if (!end)
    end = text + len;
  bool first = true;
  for (const char *p = q + 1; p <= end;) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *e = amp ? amp : end;
    size_t n = (size_t)(e - p);
    bool is_kind = key_is_kind(p, n);
    if (n && !is_kind) {
      out[o++] = first ? '?' : '&';
      memcpy(out + o, p, n);
      o += n;
      first = false;
    }
    p = e + 1;
  }
  memcpy(out + o, end, strlen(end) + 1);
  return out;
}

static int kind_select(const roster_url *u, const char *text,
                       const char *const *opts, const char *qn, kindsel *k) {
  *k = (kindsel){0};
  const char *in_query = NULL;
  for (size_t i = 0; i < u->nquery; i++)
    if (strcmp(u->query_keys[i], "kind") == 0)
      in_query = u->query_values[i] ? u->query_values[i] : "";
  size_t n = 0, nkind = 0;
  for (; opts && opts[n]; n += 2) {
    if (!opts[n + 1])
      return roster__err(ROSTER_EINVAL,
                         "service '%s': option '%s' has no value (options "
                         "come in key, value pairs)",
                         qn, opts[n]);
    if (strcmp(opts[n], "kind") == 0) {
      k->kind = opts[n + 1];
      nkind++;
    }
  }
  if (in_query && k->kind && strcmp(in_query, k->kind) != 0)
    return roster__err(ROSTER_EINVAL,
                       "service '%s': kind is given twice (in the URL and "
                       "in the options) and the two differ",
                       qn);
  if (!k->kind)
    k->kind = in_query;
  if (nkind) {
    k->opts = roster__calloc(n + 1, sizeof *k->opts);
    if (!k->opts)
      return roster__err(ROSTER_ENOMEM, "out of memory");
    size_t o = 0;
    for (size_t i = 0; i < n; i += 2)
      if (strcmp(opts[i], "kind") != 0) {
        k->opts[o++] = opts[i];
        k->opts[o++] = opts[i + 1];
      }
  }
  if (in_query) {
    k->text = strip_query_kind(text);
    if (!k->text)
      return roster__err(ROSTER_ENOMEM, "out of memory");
    int rc = roster_url_parse(k->text, &k->u);
    if (rc)
      return rc;
  }
  return ROSTER_OK;
}

/* ---- roster_provide_url ------------------------------------------------- */

static roster__urlrec *find_rec(roster *r, const char *ns, const char *name) {
  for (roster__urlrec *u = r->urls; u; u = u->next)
    if (strcmp(u->ns, ns) == 0 && strcmp(u->name, name) == 0)
      return u;
  return NULL;
}

void roster__urls_free(roster *r) {
  pthread_mutex_lock(&r->url_lock);
  roster__urlrec *u = r->urls;
  r->urls = NULL;
  pthread_mutex_unlock(&r->url_lock);
  while (u) {
    roster__urlrec *nx = u->next;
    roster__free(u->ns);
    roster__free(u->name);
    roster__free(u->url);
    roster__free(u);
    u = nx;
  }
}

/* record remembers that (ns, name) was declared from url. */
static int record(roster *r, char **ns, char **name, const char *url) {
  roster__urlrec *rec = roster__calloc(1, sizeof *rec);
  if (!rec || !(rec->url = roster__strndup(url, strlen(url)))) {
    roster__free(rec);
    return roster__err(ROSTER_ENOMEM, "out of memory");
  }
  rec->ns = *ns;
  rec->name = *name;
  *ns = *name = NULL;
  rec->next = r->urls;
  r->urls = rec;
  return ROSTER_OK;
}

int roster_provide_url(roster *r, const char *ns, const char *name,
                       const char *url, const char *const *opts) {
  roster__key k;
  int rc = roster__key_enter(r, &k, ns, name);
  if (rc)
    return rc;
  char qn[96];
  roster__quote(qn, sizeof qn, name, k.name_len);
  roster_url *u = NULL;
  rc = roster_url_parse(url, &u);
  if (rc)
    return prefixed(rc, qn);
  char shown[512];
  roster__url_shown(url, shown, sizeof shown);
  kindsel ks;
  roster__face_ref f;
  rc = kind_select(u, url, opts, qn, &ks);
  if (!rc && (rc = roster__driver_pick(u->scheme, NULL, ks.kind, shown, &f)))
    rc = prefixed(rc, qn);
  char *kns = rc ? NULL : roster__strndup(k.ns, k.ns_len);
  char *kname = rc ? NULL : roster__strndup(name, k.name_len);
  if (!rc && (!kns || !kname))
    rc = roster__err(ROSTER_ENOMEM, "out of memory");
  if (rc) {
    roster__free(kns);
    roster__free(kname);
    kindsel_free(&ks);
    roster_url_free(u);
    return rc;
  }
  pthread_mutex_lock(&r->url_lock);
  roster__urlrec *rec = find_rec(r, kns, kname);
  if (rec) {
    if (strcmp(rec->url, url) == 0) {
      rc = ROSTER_OK; /* the same service */
    } else {
      char was[512], qs[96];
      roster__url_shown(rec->url, was, sizeof was);
      rc = roster__err(ROSTER_EEXIST,
                       "service '%s' in namespace '%s' is already declared "
                       "with URL %s; refusing %s",
                       qn, roster__quote(qs, sizeof qs, kns, strlen(kns)), was,
                       shown);
    }
  } else {
    rc = declare(r, kns, kname, qn, &f, ks.u ? ks.u : u,
                 ks.text ? ks.text : url, ks.opts ? ks.opts : opts);
    if (rc == ROSTER_OK)
      rc = record(r, &kns, &kname, url);
  }
  pthread_mutex_unlock(&r->url_lock);
  roster__free(kns);
  roster__free(kname);
  kindsel_free(&ks);
  roster_url_free(u);
  return rc;
}

int roster_service_url(roster *r, const char *ns, const char *name, char *buf,
                       size_t cap) {
  if (!r || !buf || !cap)
    return roster__err(ROSTER_EINVAL, "roster_service_url: %s is NULL",
                       !r ? "registry" : "buf");
  roster__key k;
  int rc = roster__key_init(r, &k, ns, name);
  if (rc)
    return rc;
  char kns[ROSTER_NAME_MAX + 1], kname[ROSTER_NAME_MAX + 1];
  snprintf(kns, sizeof kns, "%.*s", (int)k.ns_len, k.ns);
  snprintf(kname, sizeof kname, "%.*s", (int)k.name_len, name);
  rc = ROSTER_ENOENT;
  pthread_mutex_lock(&r->url_lock);
  roster__urlrec *rec = find_rec(r, kns, kname);
  if (rec) {
    roster_url_redact(rec->url, buf, cap);
    rc = ROSTER_OK;
  }
  pthread_mutex_unlock(&r->url_lock);
  if (rc) {
    char qn[96], qs[96];
    return roster__err(rc,
                       "service '%s' in namespace '%s' was not declared from "
                       "a URL",
                       roster__quote(qn, sizeof qn, kname, strlen(kname)),
                       roster__quote(qs, sizeof qs, kns, strlen(kns)));
  }
  return rc;
}
