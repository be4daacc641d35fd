/*
 * test_graph.c: roster_graph_json and roster_graph_dot. The JSON parses
 * (jansson) and lists every service with its namespace, type, state, lazy
 * flag, dependencies in order, restarts and error; the DOT is a digraph
 * whose edge set is exactly service -> dependency, with names quoted and
 * escaped. Both are freed with roster_mem_free.
 */
#include "testutil.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

typedef struct want_svc {
  const char *name;
  const char *state;
  bool lazy;
  const char *deps[4];
} want_svc;

static json_t *parse(const char *txt) {
  json_error_t err;
  json_t *root = json_loads(txt, 0, &err);
  if (!root)
    fail_msg("graph JSON does not parse (line %d: %s):\n%s", err.line, err.text,
             txt);
  return root;
}

static json_t *find_service(json_t *services, const char *name) {
  size_t i;
  json_t *s;
  json_t *found = NULL;
  int n = 0;
  json_array_foreach(services, i, s) {
    json_t *nm = json_object_get(s, "name");
    if (json_is_string(nm) && strcmp(json_string_value(nm), name) == 0) {
      found = s;
      n++;
    }
  }
  if (n != 1)
    fail_msg("service '%s' appears %d times in the graph", name, n);
  return found;
}

static void check_json(roster *r, const char *regname, const want_svc *w,
                       size_t nw) {
  char *txt = NULL;
  assert_ok(roster_graph_json(r, &txt));
  assert_non_null(txt);
  json_t *root = parse(txt);
  assert_true(json_is_object(root));
  json_t *reg = json_object_get(root, "registry");
  assert_true(json_is_string(reg));
  assert_string_equal(json_string_value(reg), regname);
  json_t *services = json_object_get(root, "services");
  assert_true(json_is_array(services));
  for (size_t k = 0; k < nw; k++) {
    json_t *s = find_service(services, w[k].name);
    json_t *ns = json_object_get(s, "ns");
    assert_true(json_is_string(ns));
    assert_string_equal(json_string_value(ns), ROSTER_DEFAULT_NS);
    json_t *type = json_object_get(s, "type");
    assert_true(json_is_string(type));
    assert_string_equal(json_string_value(type), roster__tu_svc_type.name);
    json_t *st = json_object_get(s, "state");
    assert_true(json_is_string(st));
    if (strcmp(json_string_value(st), w[k].state) != 0)
      fail_msg("%s: state %s, want %s", w[k].name, json_string_value(st),
               w[k].state);
    json_t *lazy = json_object_get(s, "lazy");
    assert_true(json_is_boolean(lazy));
    assert_int_equal(json_is_true(lazy), w[k].lazy);
    json_t *deps = json_object_get(s, "deps");
    assert_true(json_is_array(deps));
    size_t nd = 0;
    while (w[k].deps[nd])
      nd++;
    assert_int_equal(json_array_size(deps), nd);
    for (size_t d = 0; d < nd; d++) {
      json_t *dn = json_array_get(deps, d);
      assert_true(json_is_string(dn));
      assert_string_equal(json_string_value(dn), w[k].deps[d]);
    }
    json_t *restarts = json_object_get(s, "restarts");
    assert_true(json_is_integer(restarts));
    assert_int_equal(json_integer_value(restarts), 0);
    json_t *err = json_object_get(s, "error");
    assert_non_null(err);
    assert_true(json_is_null(err));
  }
  /* Only services: every item is one we provided (or, at most, a plain
   * dependency). */
  size_t i;
  json_t *s;
  json_array_foreach(services, i, s) {
    const char *nm = json_string_value(json_object_get(s, "name"));
    assert_non_null(nm);
    bool known = strcmp(nm, "cfg") == 0;
    for (size_t k = 0; k < nw; k++)
      known |= strcmp(nm, w[k].name) == 0;
    if (!known)
      fail_msg("unexpected service '%s' in the graph", nm);
  }
  json_decref(root);
  roster_mem_free(txt);
}

/* The edges of a DOT text: every `"x" -> "y"`, unescaped. */
typedef struct edge {
  char from[64], to[64];
} edge;

static const char *read_id(const char *p, char *out, size_t cap) {
  /* p points at an opening quote. */
  size_t n = 0;
  p++;
  while (*p && *p != '"') {
    if (*p == '\\' && p[1])
      p++;
    if (n + 1 < cap)
      out[n++] = *p;
    p++;
  }
  out[n] = '\0';
  return *p == '"' ? p + 1 : p;
}

static size_t dot_edges(const char *dot, edge *e, size_t cap) {
  size_t n = 0;
  const char *line = dot;
  while (line && *line) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    char buf[512];
    snprintf(buf, sizeof buf, "%.*s", (int)len, line);
    const char *arrow = strstr(buf, " -> ");
    if (arrow) {
      const char *q = strchr(buf, '"');
      if (q && q < arrow && n < cap) {
        const char *after = read_id(q, e[n].from, sizeof e[n].from);
        const char *q2 = strchr(after, '"');
        if (q2) {
          read_id(q2, e[n].to, sizeof e[n].to);
          n++;
        }
      }
    }
    line = end ? end + 1 : NULL;
  }
  return n;
}

static bool has_edge(const edge *e, size_t n, const char *from,
                     const char *to) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(e[i].from, from) == 0 && strcmp(e[i].to, to) == 0)
      return true;
  return false;
}

static void test_graph_json_and_dot(void **state) {
  (void)state;
  roster_options o = {.name = "graphreg"};
  roster *r = tu_registry(&o);
  static int cfg;
  assert_ok(roster_register(r, NULL, "cfg", &roster__tu_other_type, &cfg));
  static const char *const d_a[] = {"b", "c", NULL};
  static const char *const d_b[] = {"c", "cfg", NULL};
  static tu_svc a, b, c, d;
  roster__tu_svc_init(&a, "a", NULL, d_a);
  roster__tu_svc_init(&b, "b", NULL, d_b);
  roster__tu_svc_init(&c, "c", NULL, NULL);
  roster__tu_svc_init(&d, "d", NULL, NULL);
  tu_provide(r, NULL, "a", &a, false);
  tu_provide(r, NULL, "b", &b, false);
  tu_provide(r, NULL, "c", &c, false);
  tu_provide(r, NULL, "d", &d, true);

  want_svc w[] = {
      {"a", "declared", false, {"b", "c", NULL}},
      {"b", "declared", false, {"c", "cfg", NULL}},
      {"c", "declared", false, {NULL}},
      {"d", "declared", true, {NULL}},
  };
  check_json(r, "graphreg", w, 4);
  assert_ok(roster_start(r, LC_LONG_MS));
  w[0].state = w[1].state = w[2].state = "ready";
  check_json(r, "graphreg", w, 4);

  char *dot = NULL;
  assert_ok(roster_graph_dot(r, &dot));
  assert_non_null(dot);
  assert_true(strncmp(dot, "digraph", 7) == 0);
  assert_non_null(strchr(dot, '{'));
  assert_non_null(strrchr(dot, '}'));
  assert_contains(dot, "\"a\" -> \"b\"");
  for (int i = 0; i < 4; i++) {
    static const char *const names[] = {"\"a\"", "\"b\"", "\"c\"", "\"d\""};
    assert_contains(dot, names[i]);
  }
  edge e[32];
  size_t n = dot_edges(dot, e, 32);
  if (n != 4 || !has_edge(e, n, "a", "b") || !has_edge(e, n, "a", "c") ||
      !has_edge(e, n, "b", "c") || !has_edge(e, n, "b", "cfg"))
    fail_msg("DOT edges wrong (%zu found):\n%s", n, dot);
  roster_mem_free(dot);

  assert_ok(roster_shutdown(r, LC_LONG_MS));
  w[0].state = w[1].state = w[2].state = "stopped";
  check_json(r, "graphreg", w, 4);
  roster_free(r);
}

static void test_graph_error_and_quoting(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  /* Empty: no services, no edges. */
  char *txt = NULL;
  assert_ok(roster_graph_json(r, &txt));
  json_t *root = parse(txt);
  assert_true(json_is_array(json_object_get(root, "services")));
  assert_int_equal(json_array_size(json_object_get(root, "services")), 0);
  json_decref(root);
  roster_mem_free(txt);
  assert_ok(roster_graph_dot(r, &txt));
  assert_true(strncmp(txt, "digraph", 7) == 0);
  assert_null(strstr(txt, " -> "));
  roster_mem_free(txt);

  /* Names that need escaping, and a failed service with its error. */
  static const char *const d_q[] = {"back\\slash", NULL};
  static tu_svc q, bs, bad;
  roster__tu_svc_init(&q, "q\"uote", NULL, d_q);
  roster__tu_svc_init(&bs, "back\\slash", NULL, NULL);
  roster__tu_svc_init(&bad, "bad", NULL, NULL);
  bad.fail_code = ROSTER_EIO;
  tu_provide(r, NULL, "q\"uote", &q, false);
  tu_provide(r, NULL, "back\\slash", &bs, false);
  tu_provide(r, NULL, "bad", &bad, false);
  assert_rc(roster_start(r, LC_LONG_MS), ROSTER_EIO);

  assert_ok(roster_graph_json(r, &txt));
  root = parse(txt);
  json_t *services = json_object_get(root, "services");
  json_t *sq = find_service(services, "q\"uote");
  json_t *deps = json_object_get(sq, "deps");
  assert_int_equal(json_array_size(deps), 1);
  assert_string_equal(json_string_value(json_array_get(deps, 0)),
                      "back\\slash");
  json_t *sb = find_service(services, "bad");
  assert_string_equal(json_string_value(json_object_get(sb, "state")),
                      "failed");
  json_t *err = json_object_get(sb, "error");
  assert_true(json_is_string(err));
  assert_contains(json_string_value(err), "went wrong on purpose");
  json_decref(root);
  roster_mem_free(txt);

  assert_ok(roster_graph_dot(r, &txt));
  assert_contains(txt, "\"q\\\"uote\" -> \"back\\\\slash\"");
  edge e[8];
  size_t n = dot_edges(txt, e, 8);
  assert_int_equal(n, 1);
  assert_string_equal(e[0].from, "q\"uote");
  assert_string_equal(e[0].to, "back\\slash");
  roster_mem_free(txt);

  /* Bad arguments. */
  txt = (char *)1;
  assert_rc(roster_graph_json(NULL, &txt), ROSTER_EINVAL);
  assert_rc(roster_graph_dot(NULL, &txt), ROSTER_EINVAL);
  assert_rc(roster_graph_json(r, NULL), ROSTER_EINVAL);
  assert_rc(roster_graph_dot(r, NULL), ROSTER_EINVAL);
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  roster_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_graph_json_and_dot),
      cmocka_unit_test(test_graph_error_and_quoting),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
