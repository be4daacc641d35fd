/*
 * test_log_levels.c: levels. Each level writes pino's number; a logger
 * writes its level and above; a disabled call evaluates none of its
 * arguments and allocates nothing, and a typical sync line allocates
 * nothing either (counted through roster's allocator hooks); each sink
 * has its own level; SILENT writes nothing; levels parse from names and
 * numbers, and bad levels are refused with a sentence.
 */
#include "log_testutil.h"

#include <fcntl.h>
#include <unistd.h>

static atomic_long allocs;

static void *count_malloc(size_t n) {
  atomic_fetch_add(&allocs, 1);
  return malloc(n);
}
static void *count_calloc(size_t c, size_t n) {
  atomic_fetch_add(&allocs, 1);
  return calloc(c, n);
}
static void *count_realloc(void *p, size_t n) {
  atomic_fetch_add(&allocs, 1);
  return realloc(p, n);
}

static int evaluated;
static int side_effect(void) {
  evaluated++;
  return 7;
}

static void test_levels_and_numbers(void **state) {
  (void)state;
  lt_lines l;
  lt_init(&l);
  roster_log *log = lt_logger(&l, 0); /* 0: the default, info */
  assert_int_equal(roster_log_level_get(log), ROSTER_LOG_INFO);
  RL_TRACE(log, "t");
  RL_DEBUG(log, "d");
  RL_INFO(log, "i");
  RL_WARN(log, "w");
  RL_ERROR(log, "e");
  RL_FATAL(log, "f");
  assert_int_equal(lt_count(&l), 4);
  const char *msgs[] = {"i", "w", "e", "f"};
  for (size_t i = 0; i < 4; i++) {
    json_t *j = lt_parse(&l, i);
    assert_int_equal(lt_int(j, "level"), 30 + 10 * (int)i);
    assert_int_equal(l.levels[i], 30 + 10 * (int)i);
    assert_string_equal(lt_str(j, "msg"), msgs[i]);
    json_decref(j);
  }

  lt_clear(&l);
  assert_ok(roster_log_level_set(log, ROSTER_LOG_TRACE));
  RL_TRACE_F(log, RL_FIELDS(RL_INT("x", 1)), "t%d", 1);
  RL_DEBUG_F(log, RL_FIELDS(RL_INT("x", 2)), "d%d", 2);
  assert_int_equal(lt_count(&l), 2);
  json_t *j = lt_parse(&l, 0);
  assert_int_equal(lt_int(j, "level"), 10);
  assert_string_equal(lt_str(j, "msg"), "t1");
  json_decref(j);
  j = lt_parse(&l, 1);
  assert_int_equal(lt_int(j, "level"), 20);
  assert_int_equal(lt_int(j, "x"), 2);
  json_decref(j);

  /* silent: nothing, fatal included */
  lt_clear(&l);
  assert_ok(roster_log_level_set(log, ROSTER_LOG_SILENT));
  RL_FATAL(log, "no");
  assert_ok(roster_log_write(log, ROSTER_LOG_FATAL, RL_NONE, "no"));
  assert_int_equal(lt_count(&l), 0);
  assert_false(roster_log_enabled(log, ROSTER_LOG_FATAL));

  /* 0 on a root goes back to info */
  assert_ok(roster_log_level_set(log, 0));
  assert_int_equal(roster_log_level_get(log), ROSTER_LOG_INFO);
  assert_true(roster_log_enabled(log, ROSTER_LOG_INFO));
  assert_false(roster_log_enabled(log, ROSTER_LOG_DEBUG));
  assert_false(roster_log_enabled(NULL, ROSTER_LOG_FATAL));
  roster_log_free(log);
  lt_fini(&l);
}

static void test_disabled_costs_nothing(void **state) {
  (void)state;
  lt_lines l;
  lt_init(&l);
  roster_log *log = lt_logger(&l, ROSTER_LOG_WARN);
  evaluated = 0;
  long before = atomic_load(&allocs);
  for (int i = 0; i < 1000; i++) {
    RL_INFO_F(log, RL_FIELDS(RL_INT("v", side_effect())), "%d", side_effect());
    RL_DEBUG(log, "%d", side_effect());
  }
  assert_int_equal(evaluated, 0);
  assert_int_equal(atomic_load(&allocs), before);
  assert_int_equal(lt_count(&l), 0);
  RL_WARN_F(log, RL_FIELDS(RL_INT("v", side_effect())), "%d", side_effect());
  assert_int_equal(evaluated, 2);
  assert_int_equal(lt_count(&l), 1);
  roster_log_free(log);
  lt_fini(&l);
}

static void test_typical_line_allocates_nothing(void **state) {
  (void)state;
  int fd = open("/dev/null", O_WRONLY);
  assert_true(fd >= 0);
  roster_log_sink s = {.kind = ROSTER_LOG_SINK_FD, .fd = fd};
  roster_log_options o = {.sinks = &s, .nsinks = 1, .name = "bench"};
  roster_log *log = lt_new(&o);
  roster_log *child = NULL;
  assert_ok(roster_log_child(log, RL_FIELDS(RL_STR("svc", "api")), &child));
  assert_non_null(child);
  RL_INFO(child, "warm up");
  long before = atomic_load(&allocs);
  for (int i = 0; i < 1000; i++)
    RL_INFO_F(child,
              RL_FIELDS(RL_STR("user", "alice"), RL_INT("status", 200),
                        RL_DBL("latency", 12.5), RL_BOOL("cached", true)),
              "request %d handled", i);
  assert_int_equal(atomic_load(&allocs), before);
  roster_log_stats st;
  assert_ok(roster_log_stats_get(log, &st));
  assert_int_equal(st.written, 1001);
  assert_int_equal(st.errors, 0);
  roster_log_free(child);
  roster_log_free(log);
  close(fd);
}

static void test_sink_levels(void **state) {
  (void)state;
  lt_lines all, warn, none;
  lt_init(&all);
  lt_init(&warn);
  lt_init(&none);
  roster_log_sink sinks[] = {lt_sink(&all, 0), lt_sink(&warn, ROSTER_LOG_WARN),
                             lt_sink(&none, ROSTER_LOG_SILENT)};
  roster_log_options o = {
      .level = ROSTER_LOG_DEBUG, .sinks = sinks, .nsinks = 3};
  roster_log *log = lt_new(&o);
  RL_TRACE(log, "trace"); /* below the logger: nowhere */
  RL_DEBUG(log, "debug"); /* all */
  RL_INFO(log, "info");   /* all */
  RL_WARN(log, "warn");   /* all, warn */
  RL_ERROR(log, "error"); /* all, warn */
  assert_int_equal(lt_count(&all), 4);
  assert_int_equal(lt_count(&warn), 2);
  assert_int_equal(lt_count(&none), 0);
  json_t *j = lt_parse(&warn, 0);
  assert_string_equal(lt_str(j, "msg"), "warn");
  json_decref(j);
  /* a sink added later, with its own level */
  lt_lines late;
  lt_init(&late);
  roster_log_sink ls = lt_sink(&late, ROSTER_LOG_ERROR);
  uint64_t id = 0;
  assert_ok(roster_log_sink_add(log, &ls, &id));
  assert_true(id != 0);
  RL_WARN(log, "w2");
  RL_ERROR(log, "e2");
  assert_int_equal(lt_count(&late), 1);
  assert_int_equal(lt_count(&all), 6);
  roster_log_free(log);
  assert_int_equal(atomic_load(&all.frees), 1);
  assert_int_equal(atomic_load(&warn.frees), 1);
  assert_int_equal(atomic_load(&late.frees), 1);
  lt_fini(&all);
  lt_fini(&warn);
  lt_fini(&none);
  lt_fini(&late);
}

static void test_parse_and_names(void **state) {
  (void)state;
  struct {
    const char *text;
    int want;
  } ok[] = {{"trace", 10},   {"DEBUG", 20}, {"Info", 30},  {"warn", 40},
            {"warning", 40}, {"error", 50}, {"fatal", 60}, {"silent", 100},
            {"off", 100},    {"30", 30},    {"60", 60},    {"100", 100}};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    int v = -1;
    assert_ok(roster_log_level_parse(ok[i].text, &v));
    assert_int_equal(v, ok[i].want);
  }
  const char *bad[] = {"",    "verbose", "35",   "0",  "070",
                       "30x", "info ",   "1000", "-10"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int v = 1234;
    assert_rc(roster_log_level_parse(bad[i], &v), ROSTER_EINVAL);
    assert_int_equal(v, 1234); /* untouched */
  }
  assert_rc(roster_log_level_parse("verbose", &(int){0}), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "'verbose'");
  assert_contains(roster_last_error(), "trace, debug, info");
  assert_rc(roster_log_level_parse(NULL, &(int){0}), ROSTER_EINVAL);
  assert_rc(roster_log_level_parse("info", NULL), ROSTER_EINVAL);

  assert_string_equal(roster_log_level_name(ROSTER_LOG_TRACE), "trace");
  assert_string_equal(roster_log_level_name(ROSTER_LOG_WARN), "warn");
  assert_string_equal(roster_log_level_name(ROSTER_LOG_FATAL), "fatal");
  assert_string_equal(roster_log_level_name(ROSTER_LOG_SILENT), "silent");
  assert_string_equal(roster_log_level_name(35), "?");
}

static void test_bad_levels_refused(void **state) {
  (void)state;
  lt_lines l;
  lt_init(&l);
  roster_log *log = lt_logger(&l, 0);
  int bad[] = {0, 5, 35, 70, 100, -10};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_rc(roster_log_write(log, bad[i], RL_NONE, "x"), ROSTER_EINVAL);
  }
  assert_contains(roster_last_error(), "level -10 is not a level");
  assert_int_equal(lt_count(&l), 0);
  assert_rc(roster_log_write(NULL, ROSTER_LOG_INFO, RL_NONE, "x"),
            ROSTER_EINVAL);
  assert_rc(roster_log_write(log, ROSTER_LOG_INFO, NULL, 2, "x"),
            ROSTER_EINVAL);
  assert_int_equal(lt_count(&l), 0);
  RL_INFO((roster_log *)NULL, "nothing happens");

  assert_rc(roster_log_level_set(log, 35), ROSTER_EINVAL);
  assert_rc(roster_log_level_set(log, -1), ROSTER_EINVAL);
  assert_rc(roster_log_level_set(NULL, 30), ROSTER_EINVAL);
  assert_int_equal(roster_log_level_get(log), ROSTER_LOG_INFO);
  assert_int_equal(roster_log_level_get(NULL), ROSTER_LOG_SILENT);

  roster_log_options o = {.level = 45};
  assert_new_fails(roster_log, roster_log_new(&o, &bad_));
  assert_int_equal(roster_last_code(), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "level 45");
  roster_log_sink s = {.kind = ROSTER_LOG_SINK_STDOUT, .level = 31};
  assert_rc(roster_log_sink_add(log, &s, NULL), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "level 31");
  roster_log_free(log);
  lt_fini(&l);
}

int main(void) {
  /* before any roster object exists, so every allocation is counted */
  roster_allocator a = {count_malloc, count_calloc, count_realloc, free};
  if (roster_set_allocator(&a) != ROSTER_OK) {
    fprintf(stderr, "roster_set_allocator: %s\n", roster_last_error());
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_levels_and_numbers),
      cmocka_unit_test(test_disabled_costs_nothing),
      cmocka_unit_test(test_typical_line_allocates_nothing),
      cmocka_unit_test(test_sink_levels),
      cmocka_unit_test(test_parse_and_names),
      cmocka_unit_test(test_bad_levels_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
