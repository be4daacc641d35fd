/*
 * test_vocabulary.c: the shapes docs/conventions.md promises, checked on
 * every area at once:
 * - every constructor returns a code and sets *out; a NULL out is
 *   ROSTER_EINVAL whose detail names the call;
 * - every area's _find returns the registered instance itself, refuses an
 *   entry of another type with ROSTER_ETYPE and *out NULL, and refuses a
 *   NULL out with ROSTER_EINVAL naming the call.
 */
#include "testutil.h"

#include <roster.h>

#include <string.h>

/* A NULL out: ROSTER_EINVAL, and the detail names the call. */
#define assert_null_out(call, name)                                            \
  do {                                                                         \
    assert_rc((call), ROSTER_EINVAL);                                          \
    assert_contains(roster_last_error(), name);                                \
    assert_contains(roster_last_error(), "out is NULL");                       \
  } while (0)

static void test_constructors_refuse_null_out(void **state) {
  (void)state;
  assert_null_out(roster_new(NULL, NULL), "roster_new");
  assert_null_out(roster_owner_new(NULL), "roster_owner_new");
  assert_null_out(roster_log_new(NULL, NULL), "roster_log_new");
  assert_null_out(roster_config_new(NULL, NULL), "roster_config_new");

  roster *r = tu_registry(NULL);
  assert_null_out(roster_scope_new(r, NULL), "roster_scope_new");
  roster_log *log = NULL;
  assert_ok(
      roster_log_new(&(roster_log_options){.level = ROSTER_LOG_SILENT}, &log));
  assert_null_out(roster_log_child(log, RL_NONE, NULL), "roster_log_child");
  roster_log_free(log);
  roster_free(r);
}

/* The failure of a constructor leaves *out NULL, whatever it held. */
static void test_constructors_clear_out_on_failure(void **state) {
  (void)state;
  roster *r = (roster *)&r;
  assert_rc(roster_new(&(roster_options){.keys = (roster_keys)7}, &r),
            ROSTER_EINVAL);
  assert_null(r);
  roster *s = (roster *)&s;
  assert_rc(roster_scope_new(NULL, &s), ROSTER_EINVAL);
  assert_null(s);
  roster_log *log = (roster_log *)&log;
  assert_rc(roster_log_new(&(roster_log_options){.file = ""}, &log),
            ROSTER_EINVAL);
  assert_null(log);
  roster_log *child = (roster_log *)&child;
  assert_rc(roster_log_child(NULL, RL_NONE, &child), ROSTER_EINVAL);
  assert_null(child);
  roster_config *cfg = (roster_config *)&cfg;
  assert_rc(roster_config_new(&(roster_config_options){.strict = true}, &cfg),
            ROSTER_EINVAL);
  assert_null(cfg);
}

/* Every area's _find: the instance itself, ETYPE for another type (out
 * NULL), EINVAL for a NULL out. */
static void test_find_in_every_area(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  roster_log *log = NULL;
  assert_ok(
      roster_log_new(&(roster_log_options){.level = ROSTER_LOG_SILENT}, &log));
  assert_ok(roster_log_register(r, NULL, "log", log));
  roster_config *cfg = NULL;
  assert_ok(roster_config_new(NULL, &cfg));
  assert_ok(roster_config_register(r, NULL, "config", cfg));
  roster_sched *sched = NULL;
  assert_ok(roster_sched_new(NULL, &sched));
  assert_ok(roster_register(r, NULL, "cron", &roster_sched_type, sched));
  roster_cache *cache = NULL;
  assert_ok(roster_cache_open("memory://c", NULL, NULL, &cache));
  assert_ok(roster_register(r, NULL, "cache", &roster_cache_type, cache));

  roster_log *got_log = NULL;
  assert_ok(roster_log_find(r, NULL, "log", &got_log));
  assert_ptr_equal(got_log, log);
  roster_config *got_cfg = NULL;
  assert_ok(roster_config_find(r, NULL, "config", &got_cfg));
  assert_ptr_equal(got_cfg, cfg);
  roster_sched *got_sched = NULL;
  assert_ok(roster_sched_find(r, NULL, "cron", &got_sched));
  assert_ptr_equal(got_sched, sched);
  roster_cache *got_cache = NULL;
  assert_ok(roster_cache_find(r, NULL, "cache", &got_cache));
  assert_ptr_equal(got_cache, cache);

  /* another area's entry: ETYPE, out cleared */
  got_log = (roster_log *)&got_log;
  assert_rc(roster_log_find(r, NULL, "cache", &got_log), ROSTER_ETYPE);
  assert_null(got_log);
  got_cfg = (roster_config *)&got_cfg;
  assert_rc(roster_config_find(r, NULL, "log", &got_cfg), ROSTER_ETYPE);
  assert_null(got_cfg);
  got_sched = (roster_sched *)&got_sched;
  assert_rc(roster_sched_find(r, NULL, "config", &got_sched), ROSTER_ETYPE);
  assert_null(got_sched);
  got_cache = (roster_cache *)&got_cache;
  assert_rc(roster_cache_find(r, NULL, "cron", &got_cache), ROSTER_ETYPE);
  assert_null(got_cache);

  assert_null_out(roster_log_find(r, NULL, "log", NULL), "roster_log_find");
  assert_null_out(roster_config_find(r, NULL, "config", NULL),
                  "roster_config_find");
  assert_null_out(roster_sched_find(r, NULL, "cron", NULL),
                  "roster_sched_find");
  assert_null_out(roster_cache_find(r, NULL, "cache", NULL),
                  "roster_cache_find");

  roster_log_free(log); /* the registry holds its own handle */
  roster_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_constructors_refuse_null_out),
      cmocka_unit_test(test_constructors_clear_out_on_failure),
      cmocka_unit_test(test_find_in_every_area),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
