/*
 * graph.c: the service graph as JSON (jansson) and as Graphviz DOT.
 */
#include "lc_impl.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>

/* ---- JSON ---- */

static int json_graph(roster *r, roster__lc *lc, char **out) {
  json_t *root = json_object();
  json_t *arr = json_array();
  int bad = !root || !arr;
  bad |= json_object_set_new(root, "registry", json_string(r->name));
  bad |= json_object_set(root, "services", arr);
  for (roster__svc *s = lc ? lc->head : NULL; s && !bad; s = s->next) {
    json_t *o = json_object();
    json_t *deps = json_array();
    bad |= !o || !deps;
    for (size_t i = 0; i < s->ndeps && !bad; i++)
      bad |= json_array_append_new(deps, json_string(s->deps[i]));
    bad |= json_object_set_new(o, "ns", json_string(s->ns));
    bad |= json_object_set_new(o, "name", json_string(s->name));
    bad |= json_object_set_new(o, "type", json_string(s->p.type->name));
    bad |= json_object_set_new(o, "state",
                               json_string(roster_state_name(s->state)));
    bad |= json_object_set_new(o, "lazy", json_boolean(s->p.lazy));
    bad |= json_object_set_new(o, "deps", deps);
    bad |= json_object_set_new(o, "restarts", json_integer(s->restarts));
    bad |= json_object_set_new(
        o, "error",
        s->err || s->detail[0]
            ? json_string(s->detail[0] ? s->detail : roster_strerror(s->err))
            : json_null());
    bad |= json_array_append_new(arr, o);
  }
  json_decref(arr);
  char *txt = bad ? NULL : json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII);
  json_decref(root);
  if (!txt)
    return roster__err(ROSTER_ENOMEM, "out of memory (graph JSON)");
  /* hand back roster-allocated memory, freed with roster_mem_free */
  *out = roster__strndup(txt, strlen(txt));
  free(txt);
  return *out ? ROSTER_OK : roster__err(ROSTER_ENOMEM, "out of memory");
}

/* ---- DOT ---- */

typedef struct sbuf {
  char *p;
  size_t n, cap;
  bool oom;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    size_t room = b->cap - b->n;
    int w = b->p ? vsnprintf(b->p + b->n, room, fmt, ap) : -1;
    va_end(ap);
    if (b->p && w >= 0 && (size_t)w < room) {
      b->n += (size_t)w;
      return;
    }
    size_t nc = b->cap ? b->cap * 2 : 1024;
    while (w > 0 && nc < b->n + (size_t)w + 1)
      nc *= 2;
    char *np = roster__realloc(b->p, nc);
    if (!np) {
      b->oom = true;
      return;
    }
    b->p = np;
    b->cap = nc;
  }
}

/* sb_id writes a DOT double-quoted id: quotes and backslashes escaped,
 * control bytes as spaces. */
static void sb_id(sbuf *b, const char *s) {
  sb_add(b, "\"");
  for (; *s && !b->oom; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      sb_add(b, "\\%c", c);
    else
      sb_add(b, "%c", c < 0x20 ? ' ' : c);
  }
  sb_add(b, "\"");
}

static const char *colour(roster_state s) {
  switch (s) {
  case ROSTER_STATE_READY:
    return "palegreen";
  case ROSTER_STATE_DEGRADED:
    return "khaki";
  case ROSTER_STATE_UNHEALTHY:
    return "orange";
  case ROSTER_STATE_FAILED:
    return "tomato";
  case ROSTER_STATE_STARTING:
  case ROSTER_STATE_STOPPING:
    return "lightblue";
  default:
    return "white";
  }
}

static int dot_graph(roster *r, roster__lc *lc, char **out) {
  sbuf b = {0};
  sb_add(&b, "digraph ");
  sb_id(&b, r->name);
  sb_add(&b, " {\n  rankdir=LR;\n  node [shape=box, style=filled];\n");
  for (roster__svc *s = lc ? lc->head : NULL; s; s = s->next) {
    sb_add(&b, "  ");
    sb_id(&b, s->name);
    sb_add(&b, " [label=\"");
    for (const char *p = s->name; *p; p++)
      sb_add(&b, (*p == '"' || *p == '\\') ? "\\%c" : "%c",
             (unsigned char)*p < 0x20 ? ' ' : *p);
    sb_add(&b, "\\n%s\", fillcolor=%s];\n", roster_state_name(s->state),
           colour(s->state));
  }
  for (roster__svc *s = lc ? lc->head : NULL; s; s = s->next)
    for (size_t i = 0; i < s->ndeps; i++) {
      sb_add(&b, "  ");
      sb_id(&b, s->name);
      sb_add(&b, " -> ");
      sb_id(&b, s->deps[i]);
      sb_add(&b, ";\n");
    }
  sb_add(&b, "}\n");
  if (b.oom) {
    roster__free(b.p);
    return roster__err(ROSTER_ENOMEM, "out of memory (graph DOT)");
  }
  *out = b.p;
  return ROSTER_OK;
}

static int graph(roster *r, char **out, bool dot) {
  if (out)
    *out = NULL;
  if (!r || !out)
    return roster__err(ROSTER_EINVAL, "%s is NULL", r ? "out" : "registry");
  roster__thread_ensure();
  roster__lc *lc = roster__lc_get(r, false);
  if (lc)
    pthread_mutex_lock(&lc->lock);
  int rc = dot ? dot_graph(r, lc, out) : json_graph(r, lc, out);
  if (lc)
    pthread_mutex_unlock(&lc->lock);
  return rc;
}

int roster_graph_json(roster *r, char **out) { return graph(r, out, false); }
int roster_graph_dot(roster *r, char **out) { return graph(r, out, true); }
