/*
 * test_log_child.c: child loggers. Bound fields are written on every line
 * of the child, after the parent's and before the call's; a child follows
 * its parent's level (also later changes) until it has its own; a child
 * keeps its parent alive; children are made and freed by many threads at
 * once while the parent logs, and every line still parses with the right
 * fields.
 */
#include "log_testutil.h"

static void test_bound_fields(void **state) {
  (void)state;
  lt_lines l;
  lt_init(&l);
  roster_log *root = lt_logger(&l, 0);
  roster_log *svc = NULL;
  assert_ok(roster_log_child(
      root, RL_FIELDS(RL_STR("service", "cache"), RL_INT("shard", 3)), &svc));
  assert_non_null(svc);
  roster_log *req = NULL;
  assert_ok(roster_log_child(
      svc, RL_FIELDS(RL_STR("req", "r-1"), RL_BOOL("retry", false)), &req));
  assert_non_null(req);
  roster_log *plain = NULL;
  assert_ok(roster_log_child(root, RL_NONE, &plain));
  assert_non_null(plain);

  RL_INFO(root, "root");
  RL_INFO(svc, "svc");
  RL_INFO_F(req, RL_FIELDS(RL_INT("n", 9)), "request");
  RL_INFO(plain, "plain");
  assert_int_equal(lt_count(&l), 4);

  json_t *j = lt_parse(&l, 0);
  assert_null(json_object_get(j, "service"));
  json_decref(j);
  j = lt_parse(&l, 1);
  assert_string_equal(lt_str(j, "service"), "cache");
  assert_int_equal(lt_int(j, "shard"), 3);
  json_decref(j);
  j = lt_parse(&l, 2);
  assert_string_equal(lt_str(j, "service"), "cache");
  assert_string_equal(lt_str(j, "req"), "r-1");
  assert_true(json_is_false(json_object_get(j, "retry")));
  assert_int_equal(lt_int(j, "n"), 9);
  json_decref(j);
  /* order: msg, the parent's bound fields, the child's, the call's */
  const char *line = lt_line(&l, 2);
  const char *m = strstr(line, "\"msg\""), *s = strstr(line, "\"service\""),
             *r = strstr(line, "\"req\""), *n = strstr(line, "\"n\"");
  assert_true(m && s && r && n && m < s && s < r && r < n);
  j = lt_parse(&l, 3);
  assert_int_equal(json_object_size(j), 5); /* level time pid host msg */
  json_decref(j);

  roster_log_free(plain);
  roster_log_free(req);
  roster_log_free(svc);
  roster_log_free(root);
  assert_int_equal(atomic_load(&l.frees), 1);
  lt_fini(&l);

  assert_new_fails(roster_log, roster_log_child(NULL, RL_NONE, &bad_));
  assert_int_equal(roster_last_code(), ROSTER_EINVAL);
}

static void test_levels_follow_parent(void **state) {
  (void)state;
  lt_lines l;
  lt_init(&l);
  roster_log *root = lt_logger(&l, ROSTER_LOG_INFO);
  roster_log *a = NULL;
  assert_ok(roster_log_child(root, RL_FIELDS(RL_STR("c", "a")), &a));
  roster_log *a1 = NULL;
  assert_ok(roster_log_child(a, RL_FIELDS(RL_STR("c1", "a1")), &a1));
  roster_log *b = NULL;
  assert_ok(roster_log_child(root, RL_FIELDS(RL_STR("c", "b")), &b));
  assert_int_equal(roster_log_level_get(a1), ROSTER_LOG_INFO);

  /* the root's change reaches every follower, grandchildren too */
  assert_ok(roster_log_level_set(root, ROSTER_LOG_DEBUG));
  assert_int_equal(roster_log_level_get(a), ROSTER_LOG_DEBUG);
  assert_int_equal(roster_log_level_get(a1), ROSTER_LOG_DEBUG);
  assert_int_equal(roster_log_level_get(b), ROSTER_LOG_DEBUG);

  /* a's own level shields a and a1, not b */
  assert_ok(roster_log_level_set(a, ROSTER_LOG_ERROR));
  assert_ok(roster_log_level_set(root, ROSTER_LOG_TRACE));
  assert_int_equal(roster_log_level_get(a), ROSTER_LOG_ERROR);
  assert_int_equal(roster_log_level_get(a1), ROSTER_LOG_ERROR);
  assert_int_equal(roster_log_level_get(b), ROSTER_LOG_TRACE);
  RL_WARN(a1, "hidden");
  RL_ERROR(a1, "shown");
  RL_TRACE(b, "b trace");
  assert_int_equal(lt_count(&l), 2);
  json_t *j = lt_parse(&l, 0);
  assert_string_equal(lt_str(j, "msg"), "shown");
  assert_string_equal(lt_str(j, "c"), "a");
  assert_string_equal(lt_str(j, "c1"), "a1");
  json_decref(j);

  /* back to following: a and a1 take the root's level again */
  assert_ok(roster_log_level_set(a, 0));
  assert_int_equal(roster_log_level_get(a), ROSTER_LOG_TRACE);
  assert_int_equal(roster_log_level_get(a1), ROSTER_LOG_TRACE);

  /* a child made now starts at its parent's effective level */
  assert_ok(roster_log_level_set(b, ROSTER_LOG_WARN));
  roster_log *b1 = NULL;
  assert_ok(roster_log_child(b, RL_NONE, &b1));
  assert_int_equal(roster_log_level_get(b1), ROSTER_LOG_WARN);
  roster_log_free(b1);
  roster_log_free(a1);
  roster_log_free(a);
  roster_log_free(b);
  roster_log_free(root);
  lt_fini(&l);
}

static void test_child_keeps_parent_alive(void **state) {
  (void)state;
  lt_lines l;
  lt_init(&l);
  roster_log *root = lt_logger(&l, 0);
  roster_log *mid = NULL;
  assert_ok(roster_log_child(root, RL_FIELDS(RL_STR("m", "1")), &mid));
  roster_log *leaf = NULL;
  assert_ok(roster_log_child(mid, RL_FIELDS(RL_STR("l", "2")), &leaf));
  roster_log_free(mid);
  roster_log_free(root);
  assert_int_equal(atomic_load(&l.frees), 0); /* the sinks are still open */
  RL_INFO(leaf, "still here");
  assert_int_equal(lt_count(&l), 1);
  json_t *j = lt_parse(&l, 0);
  assert_string_equal(lt_str(j, "m"), "1");
  assert_string_equal(lt_str(j, "l"), "2");
  json_decref(j);
  /* the level still follows the (released) parents */
  assert_int_equal(roster_log_level_get(leaf), ROSTER_LOG_INFO);
  roster_log_free(leaf);
  assert_int_equal(atomic_load(&l.frees), 1); /* the last handle closed it */
  lt_fini(&l);
}

#define CT_THREADS 4
#define CT_ROUNDS 2000

typedef struct ct_arg {
  roster_log *root;
  int id;
  atomic_int failures;
} ct_arg;

static void *child_churn(void *p) {
  ct_arg *a = p;
  for (int i = 0; i < CT_ROUNDS; i++) {
    char req[32];
    snprintf(req, sizeof req, "t%d-%d", a->id, i);
    roster_log *c = NULL;
    assert_ok(roster_log_child(
        a->root, RL_FIELDS(RL_STR("req", req), RL_INT("t", a->id)), &c));
    if (!c) {
      atomic_fetch_add(&a->failures, 1);
      continue;
    }
    if (roster_log_write(c, ROSTER_LOG_INFO, RL_FIELDS(RL_INT("i", i)),
                         "handled") != ROSTER_OK)
      atomic_fetch_add(&a->failures, 1);
    if (i % 100 == 0 &&
        roster_log_level_set(c, i % 200 ? ROSTER_LOG_WARN : 0) != ROSTER_OK)
      atomic_fetch_add(&a->failures, 1);
    roster_log_free(c);
  }
  return NULL;
}

static void test_children_from_many_threads(void **state) {
  (void)state;
  lt_lines l;
  lt_init(&l);
  roster_log *root = lt_logger(&l, 0);
  pthread_t th[CT_THREADS];
  ct_arg args[CT_THREADS];
  for (int t = 0; t < CT_THREADS; t++) {
    args[t] = (ct_arg){.root = root, .id = t};
    assert_int_equal(pthread_create(&th[t], NULL, child_churn, &args[t]), 0);
  }
  /* the root's level changes meanwhile (propagation under the lock) */
  for (int i = 0; i < 200; i++)
    assert_ok(
        roster_log_level_set(root, i % 2 ? ROSTER_LOG_INFO : ROSTER_LOG_DEBUG));
  assert_ok(roster_log_level_set(root, ROSTER_LOG_INFO));
  for (int t = 0; t < CT_THREADS; t++) {
    pthread_join(th[t], NULL);
    assert_int_equal(atomic_load(&args[t].failures), 0);
  }
  assert_int_equal(lt_count(&l), CT_THREADS * CT_ROUNDS);
  int seen[CT_THREADS] = {0};
  for (size_t i = 0; i < lt_count(&l); i++) {
    json_t *j = lt_parse(&l, i);
    long long t = lt_int(j, "t"), n = lt_int(j, "i");
    assert_true(t >= 0 && t < CT_THREADS);
    char want[32];
    snprintf(want, sizeof want, "t%lld-%lld", t, n);
    assert_string_equal(lt_str(j, "req"), want);
    /* each thread's lines arrive in its order */
    assert_int_equal(n, seen[t]);
    seen[t]++;
    json_decref(j);
  }
  roster_log_free(root);
  lt_fini(&l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bound_fields),
      cmocka_unit_test(test_levels_follow_parent),
      cmocka_unit_test(test_child_keeps_parent_alive),
      cmocka_unit_test(test_children_from_many_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
