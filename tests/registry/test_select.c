/*
 * test_select.c: queries over the registry. roster_query's byte-wise globs
 * ('*', '?', classes, negated classes, backslash escapes) over names and
 * namespaces (NULL = the default namespace, "*" = every namespace), its type
 * and owner filters; roster_select's sorted snapshot whose strings and
 * metadata are copies that outlive the entries; roster_list_free;
 * roster_foreach with its early stop and visited count; roster_count_match.
 */
#include "testutil.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static int inst[64];
static roster_owner *owner_a;
static roster_owner *owner_b;

/* The fixture: names chosen to tell globs apart. */
typedef struct fx_entry {
  const char *ns;
  const char *name;
  const roster_type *type;
  int owner; /* 0 none, 1 owner_a, 2 owner_b */
} fx_entry;

static const fx_entry fixture[] = {
    {NULL, "alpha", &roster__tu_counter_type, 1},
    {NULL, "beta", &roster__tu_counter_type, 0},
    {NULL, "gamma", &roster__tu_other_type, 2},
    {NULL, "a*b", &roster__tu_counter_type, 0},
    {NULL, "aXb", &roster__tu_other_type, 0},
    {NULL, "abc", &roster__tu_counter_type, 1},
    {NULL, "abd", &roster__tu_counter_type, 0},
    {NULL, "axe", &roster__tu_other_type, 0},
    {NULL, "b1", &roster__tu_counter_type, 0},
    {NULL, "b2", &roster__tu_counter_type, 1},
    {"prod", "alpha", &roster__tu_counter_type, 1},
    {"prod", "db", &roster__tu_other_type, 0},
    {"prod-eu", "db", &roster__tu_other_type, 2},
    {"test", "alpha", &roster__tu_counter_type, 0},
    {"te?t", "q", &roster__tu_counter_type, 0},
};
#define NFIX (sizeof fixture / sizeof fixture[0])
#define NDEFAULT 10

static roster *make_fixture(void) {
  roster *r = tu_registry(NULL);
  owner_a = tu_owner();
  owner_b = tu_owner();
  for (size_t i = 0; i < NFIX; i++) {
    roster_entry_options eo = {0};
    eo.owner = fixture[i].owner == 1   ? owner_a
               : fixture[i].owner == 2 ? owner_b
                                       : NULL;
    assert_ok(roster_register_ex(r, fixture[i].ns, fixture[i].name,
                                 fixture[i].type, &inst[i], &eo));
  }
  return r;
}

static void free_fixture(roster *r) {
  roster_free(r);
  roster_owner_free(owner_a);
  roster_owner_free(owner_b);
  owner_a = owner_b = NULL;
}

/* names_of selects q and returns the names joined by ',' (ns/name when
 * with_ns), in the list's order. */
static char *names_of(roster *r, const roster_query *q, bool with_ns) {
  roster_list l = {0};
  assert_ok(roster_select(r, q, &l));
  static char buf[4096];
  buf[0] = '\0';
  for (size_t i = 0; i < l.count; i++) {
    if (i)
      strcat(buf, ",");
    if (with_ns) {
      strcat(buf, l.items[i].ns);
      strcat(buf, "/");
    }
    strcat(buf, l.items[i].name);
  }
  /* roster_count_match agrees with the snapshot. */
  assert_int_equal(roster_count_match(r, q), l.count);
  roster_list_free(&l);
  return buf;
}

static const char *sel(roster *r, const char *ns, const char *pattern) {
  roster_query q = {.ns = ns, .pattern = pattern};
  return names_of(r, &q, false);
}

static void test_name_globs(void **state) {
  (void)state;
  roster *r = make_fixture();
  /* {0}: every entry of the default namespace, sorted by name (bytes). */
  roster_query all = {0};
  assert_string_equal(names_of(r, &all, false),
                      "a*b,aXb,abc,abd,alpha,axe,b1,b2,beta,gamma");
  assert_int_equal(roster_count_match(r, &all), NDEFAULT);
  assert_int_equal(roster_count_match(r, NULL), NDEFAULT);
  assert_string_equal(sel(r, NULL, "*"),
                      "a*b,aXb,abc,abd,alpha,axe,b1,b2,beta,gamma");
  assert_string_equal(sel(r, NULL, "a*"), "a*b,aXb,abc,abd,alpha,axe");
  assert_string_equal(sel(r, NULL, "*a"), "alpha,beta,gamma");
  assert_string_equal(sel(r, NULL, "*b*"), "a*b,aXb,abc,abd,b1,b2,beta");
  /* Anchored: a pattern must match the whole name. */
  assert_string_equal(sel(r, NULL, "alph"), "");
  assert_string_equal(sel(r, NULL, "alpha"), "alpha");
  /* '?' is exactly one byte. */
  assert_string_equal(sel(r, NULL, "b?"), "b1,b2");
  assert_string_equal(sel(r, NULL, "a?b"), "a*b,aXb");
  assert_string_equal(sel(r, NULL, "ab?"), "abc,abd");
  assert_string_equal(sel(r, NULL, "????"), "beta");
  /* Classes, ranges, negation. */
  assert_string_equal(sel(r, NULL, "ab[c]"), "abc");
  assert_string_equal(sel(r, NULL, "ab[cd]"), "abc,abd");
  assert_string_equal(sel(r, NULL, "ab[c-d]"), "abc,abd");
  assert_string_equal(sel(r, NULL, "ab[!c]"), "abd");
  assert_string_equal(sel(r, NULL, "b[1-9]"), "b1,b2");
  assert_string_equal(sel(r, NULL, "b[!1]"), "b2");
  assert_string_equal(sel(r, NULL, "[a-b]?"), "b1,b2");
  assert_string_equal(sel(r, NULL, "[!a]*"), "b1,b2,beta,gamma");
  /* '^' negates as '!' does (the cache's Redis syntax). */
  assert_string_equal(sel(r, NULL, "ab[^c]"), "abd");
  assert_string_equal(sel(r, NULL, "[^a]*"), "b1,b2,beta,gamma");
  assert_string_equal(sel(r, NULL, "a[A-Z]b"), "aXb");
  /* A backslash escapes the next byte: '\*' is a literal star. */
  assert_string_equal(sel(r, NULL, "a*b"), "a*b,aXb");
  assert_string_equal(sel(r, NULL, "a\\*b"), "a*b");
  assert_string_equal(sel(r, NULL, "a\\*"), "");
  assert_string_equal(sel(r, NULL, "\\a\\l\\p\\h\\a"), "alpha");
  assert_string_equal(sel(r, NULL, "a\\?b"), "");
  assert_string_equal(sel(r, NULL, "nothing*"), "");
  free_fixture(r);
}

static void test_namespace_globs(void **state) {
  (void)state;
  roster *r = make_fixture();
  /* NULL = default; "*" = every namespace; a glob over namespaces. */
  assert_string_equal(names_of(r, &(roster_query){.pattern = "alpha"}, true),
                      "default/alpha");
  assert_string_equal(
      names_of(r, &(roster_query){.ns = "*", .pattern = "alpha"}, true),
      "default/alpha,prod/alpha,test/alpha");
  assert_int_equal(roster_count_match(r, &(roster_query){.ns = "*"}), NFIX);
  assert_string_equal(names_of(r, &(roster_query){.ns = "prod*"}, true),
                      "prod/alpha,prod/db,prod-eu/db");
  assert_string_equal(names_of(r, &(roster_query){.ns = "prod"}, true),
                      "prod/alpha,prod/db");
  assert_string_equal(names_of(r, &(roster_query){.ns = "te?t"}, true),
                      "te?t/q,test/alpha");
  assert_string_equal(names_of(r, &(roster_query){.ns = "te\\?t"}, true),
                      "te?t/q");
  assert_string_equal(names_of(r, &(roster_query){.ns = "[dp]*"}, true),
                      "default/a*b,default/aXb,default/abc,default/abd,"
                      "default/alpha,default/axe,default/b1,default/b2,"
                      "default/beta,default/gamma,prod/alpha,prod/db,"
                      "prod-eu/db");
  assert_string_equal(
      names_of(r, &(roster_query){.ns = "*", .pattern = "db"}, true),
      "prod/db,prod-eu/db");
  assert_string_equal(names_of(r, &(roster_query){.ns = "nope*"}, true), "");

  /* The whole snapshot over every namespace is sorted by ns then name. */
  roster_list l = {0};
  assert_ok(roster_select(r, &(roster_query){.ns = "*"}, &l));
  assert_int_equal(l.count, NFIX);
  for (size_t i = 1; i < l.count; i++) {
    int c = strcmp(l.items[i - 1].ns, l.items[i].ns);
    assert_true(c < 0 ||
                (c == 0 && strcmp(l.items[i - 1].name, l.items[i].name) < 0));
  }
  roster_list_free(&l);

  /* roster_list_entries is select of one namespace. */
  assert_ok(roster_list_entries(r, "prod", &l));
  assert_int_equal(l.count, 2);
  assert_string_equal(l.items[0].name, "alpha");
  assert_string_equal(l.items[1].name, "db");
  roster_list_free(&l);
  assert_ok(roster_list_entries(r, NULL, &l));
  assert_int_equal(l.count, NDEFAULT);
  roster_list_free(&l);
  free_fixture(r);
}

static void test_type_and_owner_filters(void **state) {
  (void)state;
  roster *r = make_fixture();
  roster_query q = {.type = &roster__tu_other_type};
  assert_string_equal(names_of(r, &q, false), "aXb,axe,gamma");
  q.ns = "*";
  assert_string_equal(names_of(r, &q, true),
                      "default/aXb,default/axe,default/gamma,prod/db,"
                      "prod-eu/db");
  q = (roster_query){.ns = "*", .owner = owner_a};
  assert_string_equal(names_of(r, &q, true),
                      "default/abc,default/alpha,default/b2,prod/alpha");
  q = (roster_query){
      .ns = "*", .owner = owner_b, .type = &roster__tu_other_type};
  assert_string_equal(names_of(r, &q, true), "default/gamma,prod-eu/db");
  q = (roster_query){.owner = owner_b, .type = &roster__tu_counter_type};
  assert_string_equal(names_of(r, &q, true), "");
  q = (roster_query){
      .pattern = "a*", .type = &roster__tu_counter_type, .owner = owner_a};
  assert_string_equal(names_of(r, &q, false), "abc,alpha");

  /* The info carries type, instance and owner. */
  roster_list l = {0};
  q = (roster_query){.ns = "prod-eu", .pattern = "db"};
  assert_ok(roster_select(r, &q, &l));
  assert_int_equal(l.count, 1);
  assert_ptr_equal(l.items[0].type, &roster__tu_other_type);
  assert_ptr_equal(l.items[0].instance, &inst[12]);
  assert_ptr_equal(l.items[0].owner, owner_b);
  assert_null(l.items[0].meta);
  assert_int_equal(l.items[0].meta_len, 0);
  roster_list_free(&l);
  free_fixture(r);
}

static void test_select_copies(void **state) {
  (void)state;
  roster__tu_reset_destroyed();
  roster *r = tu_registry(NULL);
  char meta[16] = "hello, meta";
  roster_entry_options eo = {.meta = meta, .meta_len = 11};
  char ns[32], name[32];
  strcpy(ns, "copyns");
  strcpy(name, "svc-b");
  assert_ok(
      roster_register_ex(r, ns, name, &roster__tu_counter_type, &inst[1], &eo));
  strcpy(name, "svc-a");
  assert_ok(roster_register(r, ns, name, &roster__tu_counter_type, &inst[0]));
  /* Our buffers change; the registry copied them. */
  strcpy(ns, "XXXXXX");
  strcpy(name, "XXXXX");
  memset(meta, 'Z', sizeof meta);

  roster_list l = {0};
  assert_ok(roster_select(r, &(roster_query){.ns = "copyns"}, &l));
  assert_int_equal(l.count, 2);
  assert_string_equal(l.items[0].name, "svc-a");
  assert_string_equal(l.items[1].name, "svc-b");
  assert_int_equal(l.items[1].meta_len, 11);
  assert_non_null(l.items[1].meta);
  assert_ptr_not_equal(l.items[1].meta, meta);
  assert_memory_equal(l.items[1].meta, "hello, meta", 11);

  /* Metadata changed after the snapshot: the snapshot keeps the old value. */
  assert_ok(roster_meta_set(r, "copyns", "svc-b", NULL, "new", 3));
  /* Unregister everything and let it be reclaimed: the list's strings and
   * metadata are the list's own. */
  size_t removed = 0;
  assert_ok(roster_clear(r, &removed));
  assert_int_equal(removed, 2);
  roster_reclaim_wait();
  assert_int_equal(roster__tu_destroyed(), 2);
  assert_string_equal(l.items[0].ns, "copyns");
  assert_string_equal(l.items[0].name, "svc-a");
  assert_string_equal(l.items[1].ns, "copyns");
  assert_string_equal(l.items[1].name, "svc-b");
  assert_int_equal(l.items[1].meta_len, 11);
  assert_memory_equal(l.items[1].meta, "hello, meta", 11);
  assert_ptr_equal(l.items[0].instance, &inst[0]);
  assert_ptr_equal(l.items[1].type, &roster__tu_counter_type);
  roster_list_free(&l);

  /* An empty result is a valid, freeable list; NULL is a no-op. */
  assert_ok(roster_select(r, &(roster_query){.ns = "*"}, &l));
  assert_int_equal(l.count, 0);
  roster_list_free(&l);
  roster_list_free(NULL);
  roster_free(r);
}

typedef struct visit_ctx {
  roster *r;
  size_t calls;
  size_t stop_after; /* 0 = never stop */
  size_t bad;        /* info inconsistent with the fixture */
  size_t get_failed; /* roster_get from inside the visitor failed */
} visit_ctx;

static int visit(const roster_info *info, void *arg) {
  visit_ctx *c = arg;
  c->calls++;
  bool found = false;
  for (size_t i = 0; i < NFIX; i++) {
    const char *fns = fixture[i].ns ? fixture[i].ns : ROSTER_DEFAULT_NS;
    if (strcmp(fns, info->ns) == 0 && strcmp(fixture[i].name, info->name) == 0)
      found = info->instance == &inst[i] && info->type == fixture[i].type;
  }
  if (!found)
    c->bad++;
  /* A visitor may call roster functions. */
  void *p = NULL;
  if (roster_get(c->r, info->ns, info->name, NULL, &p) != ROSTER_OK ||
      p != info->instance)
    c->get_failed++;
  return c->stop_after && c->calls >= c->stop_after;
}

static void test_foreach(void **state) {
  (void)state;
  roster *r = make_fixture();
  visit_ctx c = {.r = r};
  size_t visited = 0;
  assert_ok(roster_foreach(r, NULL, visit, &c, &visited));
  assert_int_equal(visited, NDEFAULT);
  assert_int_equal(c.calls, NDEFAULT);
  assert_int_equal(c.bad, 0);
  assert_int_equal(c.get_failed, 0);

  c = (visit_ctx){.r = r};
  assert_ok(roster_foreach(r, &(roster_query){.ns = "*"}, visit, &c, &visited));
  assert_int_equal(visited, NFIX);
  assert_int_equal(c.calls, NFIX);
  assert_int_equal(c.bad, 0);

  c = (visit_ctx){.r = r};
  assert_ok(roster_foreach(r, &(roster_query){.ns = "*", .pattern = "?b*"},
                           visit, &c, &visited));
  assert_int_equal(visited, 4); /* abc, abd, prod/db, prod-eu/db */
  assert_int_equal(c.calls, 4);

  /* Early stop: a non-zero return ends the walk. */
  c = (visit_ctx){.r = r, .stop_after = 3};
  visited = 0;
  assert_ok(roster_foreach(r, &(roster_query){.ns = "*"}, visit, &c, &visited));
  assert_int_equal(c.calls, 3);
  assert_int_equal(visited, 3);
  c = (visit_ctx){.r = r, .stop_after = 1};
  assert_ok(roster_foreach(r, NULL, visit, &c, NULL));
  assert_int_equal(c.calls, 1);

  /* Nothing matches: no call, not an error. */
  c = (visit_ctx){.r = r};
  visited = 7;
  assert_ok(roster_foreach(r, &(roster_query){.pattern = "zzz"}, visit, &c,
                           &visited));
  assert_int_equal(visited, 0);
  assert_int_equal(c.calls, 0);

  /* Bad calls. */
  assert_rc(roster_foreach(r, NULL, NULL, NULL, &visited), ROSTER_EINVAL);
  char longpat[ROSTER_NAME_MAX + 2];
  memset(longpat, 'a', sizeof longpat - 1);
  longpat[sizeof longpat - 1] = '\0';
  c = (visit_ctx){.r = r};
  assert_rc(
      roster_foreach(r, &(roster_query){.pattern = longpat}, visit, &c, NULL),
      ROSTER_EINVAL);
  assert_int_equal(c.calls, 0);
  assert_int_equal(roster_count_match(r, &(roster_query){.pattern = longpat}),
                   0);
  free_fixture(r);
}

static void test_count_match(void **state) {
  (void)state;
  roster *r = make_fixture();
  assert_int_equal(roster_count_match(r, NULL), NDEFAULT);
  assert_int_equal(roster_count_match(r, &(roster_query){.ns = "*"}), NFIX);
  assert_int_equal(
      roster_count_match(r, &(roster_query){.ns = "*", .pattern = "db"}), 2);
  assert_int_equal(
      roster_count_match(
          r, &(roster_query){.ns = "*", .type = &roster__tu_counter_type}),
      10);
  assert_int_equal(
      roster_count_match(r, &(roster_query){.ns = "*", .owner = owner_a}), 4);
  assert_int_equal(roster_count_match(r, &(roster_query){.ns = "empty"}), 0);
  /* Counts follow changes. */
  assert_ok(roster_unregister(r, NULL, "b1"));
  assert_int_equal(roster_count_match(r, &(roster_query){.pattern = "b?"}), 1);
  assert_ok(roster_ns_drop(r, "prod", NULL));
  assert_int_equal(
      roster_count_match(r, &(roster_query){.ns = "prod*", .pattern = "*"}), 1);
  free_fixture(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_name_globs),
      cmocka_unit_test(test_namespace_globs),
      cmocka_unit_test(test_type_and_owner_filters),
      cmocka_unit_test(test_select_copies),
      cmocka_unit_test(test_foreach),
      cmocka_unit_test(test_count_match),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
