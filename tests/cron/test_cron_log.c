/*
 * test_cron_log.c: a scheduler given a logger logs its job events: a
 * failed run at error with the job, its error code, detail and duration;
 * a skipped run at warn with the reason; starts and ends only at debug.
 * Lines are caught by a callback sink and parsed with jansson; the
 * scheduler runs on a fake clock moved by the test.
 */
#include "testutil.h"

#include <jansson.h>
#include <stdlib.h>

#define S 1000000000LL
#define WAIT 10000

static _Atomic int64_t wall = 1767225630LL * S; /* 2026-01-01T00:00:30Z */
static _Atomic int64_t mono = 1000 * S;
static int64_t f_wall(void *a) {
  (void)a;
  return atomic_load(&wall);
}
static int64_t f_mono(void *a) {
  (void)a;
  return atomic_load(&mono);
}
static roster_sched_clock vclock = {f_wall, f_mono, NULL};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static json_t *lines; /* every line, parsed */

static void on_line(int level, const char *line, size_t len, void *arg) {
  (void)level;
  (void)arg;
  json_error_t err;
  json_t *j = json_loadb(line, len, 0, &err);
  pthread_mutex_lock(&mu);
  json_array_append_new(lines, j ? j : json_string("UNPARSED"));
  pthread_mutex_unlock(&mu);
}

/* find returns the first line whose msg is msg (a new reference), or
 * NULL. */
static json_t *find(const char *msg) {
  json_t *hit = NULL;
  pthread_mutex_lock(&mu);
  size_t i;
  json_t *l;
  json_array_foreach(lines, i, l) {
    const char *m = json_string_value(json_object_get(l, "msg"));
    if (m && strcmp(m, msg) == 0) {
      hit = json_incref(l);
      break;
    }
  }
  pthread_mutex_unlock(&mu);
  return hit;
}

/* has: a line with that msg has come (no reference kept). */
static bool has(const char *msg) {
  json_t *l = find(msg);
  json_decref(l);
  return l != NULL;
}

static tu_gate slow_gate;
static int fails(void *arg) {
  (void)arg;
  return roster_error_set(ROSTER_EIO, "disk on fire");
}
static int ok(void *arg) {
  (void)arg;
  return ROSTER_OK;
}
static int held(void *arg) {
  (void)arg;
  roster__tu_gate_wait(&slow_gate, WAIT);
  return ROSTER_OK;
}

static void step(roster_sched *s, int64_t secs) {
  atomic_fetch_add(&wall, secs * S);
  atomic_fetch_add(&mono, secs * S);
  assert_ok(roster_sched_tick(s, WAIT));
}

static void test_job_events_logged(void **state) {
  (void)state;
  lines = json_array();
  roster__tu_gate_init(&slow_gate);
  roster_log_sink sink = {.kind = ROSTER_LOG_SINK_CALLBACK, .fn = on_line};
  roster_log *log = NULL;
  assert_ok(roster_log_new(
      &(roster_log_options){.sinks = &sink, .nsinks = 1, .name = "app"}, &log));
  assert_non_null(log);
  roster_sched *s = NULL;
  assert_ok(roster_sched_new(
      &(roster_sched_options){
          .tz = "UTC", .clock = &vclock, .workers = 2, .log = log},
      &s));
  roster_log_free(log); /* the scheduler keeps its own handle */
  assert_ok(roster_sched_add(s, "breaks", "* * * * *", fails, NULL, NULL));
  assert_ok(roster_sched_add(s, "fine", "* * * * *", ok, NULL, NULL));
  assert_ok(roster_sched_add(s, "stuck", "* * * * *", held, NULL, NULL));
  assert_ok(roster_sched_start(s));
  step(s, 30); /* 00:01:00: all three run; stuck stays in its run */
  tu_wait_until(has("job breaks failed"), WAIT);
  step(s, 60); /* 00:02:00: stuck is still running: skipped */
  tu_wait_until(has("job stuck skipped"), WAIT);
  roster__tu_gate_open(&slow_gate);
  assert_ok(roster_sched_wait_idle(s, WAIT));

  json_t *f = find("job breaks failed");
  assert_non_null(f);
  assert_int_equal(json_integer_value(json_object_get(f, "level")), 50);
  assert_string_equal(json_string_value(json_object_get(f, "job")), "breaks");
  assert_string_equal(json_string_value(json_object_get(f, "component")),
                      "cron");
  assert_string_equal(json_string_value(json_object_get(f, "error")), "EIO");
  assert_string_equal(json_string_value(json_object_get(f, "detail")),
                      "disk on fire");
  assert_string_equal(json_string_value(json_object_get(f, "trigger")),
                      "schedule");
  assert_int_equal(json_integer_value(json_object_get(f, "scheduled")),
                   1767225660); /* 00:01:00 */
  assert_true(json_is_number(json_object_get(f, "duration_ms")));
  json_decref(f);

  json_t *sk = find("job stuck skipped");
  assert_non_null(sk);
  assert_int_equal(json_integer_value(json_object_get(sk, "level")), 40);
  assert_true(strlen(json_string_value(json_object_get(sk, "detail"))) > 0);
  json_decref(sk);

  /* info is the default level: starts and successful ends are debug */
  assert_false(has("job fine started"));
  assert_false(has("job fine finished"));
  /* every line parsed */
  pthread_mutex_lock(&mu);
  size_t i;
  json_t *l;
  json_array_foreach(lines, i, l) assert_true(json_is_object(l));
  pthread_mutex_unlock(&mu);
  roster_sched_free(s);
  json_decref(lines);
}

static void test_debug_level_logs_starts(void **state) {
  (void)state;
  lines = json_array();
  roster_log_sink sink = {.kind = ROSTER_LOG_SINK_CALLBACK, .fn = on_line};
  roster_log *log = NULL;
  assert_ok(roster_log_new(&(roster_log_options){.sinks = &sink,
                                                 .nsinks = 1,
                                                 .level = ROSTER_LOG_DEBUG},
                           &log));
  assert_non_null(log);
  roster_sched *s = NULL;
  assert_ok(roster_sched_new(
      &(roster_sched_options){.tz = "UTC", .clock = &vclock, .log = log}, &s));
  assert_ok(roster_sched_add(s, "fine", "* * * * *", ok, NULL, NULL));
  assert_ok(roster_sched_start(s));
  step(s, 60);
  assert_ok(roster_sched_wait_idle(s, WAIT));
  json_t *st = find("job fine started");
  json_t *fin = find("job fine finished");
  assert_non_null(st);
  assert_non_null(fin);
  assert_int_equal(json_integer_value(json_object_get(st, "level")), 20);
  assert_null(json_object_get(st, "duration_ms"));
  assert_true(json_is_number(json_object_get(fin, "duration_ms")));
  json_decref(st);
  json_decref(fin);
  roster_sched_free(s);
  roster_log_free(log);
  json_decref(lines);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_job_events_logged),
      cmocka_unit_test(test_debug_level_logs_starts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
