/*
 * test_log_async.c: async mode. Lines reach the sinks on the writer
 * thread, in each producer's order, all of them after a flush or a free;
 * a full queue in drop mode drops exactly the lines it refuses, counts
 * them, and reports them in one "dropped N lines" record (at once for a
 * flush, by itself after drop_report_ms); in block mode the producer waits
 * and nothing is lost; a fatal line is written before the call returns;
 * a forked child writes its lines itself, with its own pid.
 */
#include "log_testutil.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

/* gated: a callback sink that blocks while its gate is closed (bounded
 * by LC_LONG_MS, so a broken build cannot hang), then records the line. */
typedef struct gated {
  lt_lines lines;
  pthread_mutex_t mu;
  bool open;
  atomic_int entered;
} gated;

static void gate_set(gated *g, bool open) {
  pthread_mutex_lock(&g->mu);
  g->open = open;
  pthread_mutex_unlock(&g->mu);
}

static void gate_cb(int level, const char *line, size_t len, void *arg) {
  gated *g = arg;
  atomic_fetch_add(&g->entered, 1);
  uint64_t end = roster__tu_now_ns() + (uint64_t)LC_LONG_MS * 1000000u;
  pthread_mutex_lock(&g->mu);
  while (!g->open && roster__tu_now_ns() < end) {
    pthread_mutex_unlock(&g->mu);
    roster__tu_sleep_ms(1);
    pthread_mutex_lock(&g->mu);
  }
  pthread_mutex_unlock(&g->mu);
  lt_cb(level, line, len, &g->lines);
}

static void gated_fini(gated *g) {
  lt_fini(&g->lines);
  pthread_mutex_destroy(&g->mu);
}

static roster_log *gated_logger(gated *g, size_t cap, bool block,
                                int64_t report_ms) {
  lt_init(&g->lines);
  pthread_mutex_init(&g->mu, NULL);
  g->open = false;
  atomic_store(&g->entered, 0);
  roster_log_sink s = {
      .kind = ROSTER_LOG_SINK_CALLBACK, .fn = gate_cb, .arg = g};
  roster_log_options o = {.sinks = &s,
                          .nsinks = 1,
                          .async = true,
                          .queue_lines = cap,
                          .block = block,
                          .drop_report_ms = report_ms};
  return lt_new(&o);
}

static void test_writer_thread_and_order(void **state) {
  (void)state;
  lt_lines l;
  lt_init(&l);
  roster_log *log = lt_async_logger(&l, true, 64);
  for (int i = 0; i < 1000; i++)
    assert_ok(roster_log_write(log, ROSTER_LOG_INFO, RL_FIELDS(RL_INT("i", i)),
                               "n%d", i));
  assert_ok(roster_log_flush(log));
  assert_int_equal(lt_count(&l), 1000);
  for (size_t i = 0; i < 1000; i++) {
    json_t *j = lt_parse(&l, i);
    assert_int_equal(lt_int(j, "i"), (long long)i);
    json_decref(j);
    /* the callback ran on the writer thread, not on this one */
    assert_false(pthread_equal(l.threads[i], pthread_self()));
  }
  roster_log_stats st;
  assert_ok(roster_log_stats_get(log, &st));
  assert_int_equal(st.written, 1000);
  assert_int_equal(st.dropped, 0);
  assert_int_equal(st.queued, 0);
  roster_log_free(log);
  lt_fini(&l);
}

static void test_drop_accounting(void **state) {
  (void)state;
  gated g;
  /* a report interval no test reaches: only the flush writes the record */
  roster_log *log = gated_logger(&g, 16, false, 3600 * 1000);
  int accepted = 0, busy = 0;
  for (int i = 0; i < 100; i++) {
    int rc = roster_log_write(log, ROSTER_LOG_INFO, RL_FIELDS(RL_INT("i", i)),
                              "line");
    if (rc == ROSTER_OK)
      accepted++;
    else if (rc == ROSTER_EBUSY)
      busy++;
    if (i == 0) /* the writer holds line 0 inside the blocked sink */
      tu_wait_until(atomic_load(&g.entered) == 1, LC_LONG_MS);
  }
  /* the writer gives slots back only after its round: 16 accepted */
  assert_int_equal(accepted, 16);
  assert_int_equal(busy, 84);
  assert_contains(roster_last_error(), "queue is full");
  roster_log_stats st;
  assert_ok(roster_log_stats_get(log, &st));
  assert_int_equal(st.dropped, 84);
  assert_int_equal(st.queued, 16);
  gate_set(&g, true);
  assert_ok(roster_log_flush(log));
  /* 16 lines in order, then one record of the 84 drops */
  assert_int_equal(lt_count(&g.lines), 17);
  for (size_t i = 0; i < 16; i++) {
    json_t *j = lt_parse(&g.lines, i);
    assert_int_equal(lt_int(j, "i"), (long long)i);
    json_decref(j);
  }
  json_t *j = lt_parse(&g.lines, 16);
  assert_string_equal(lt_str(j, "msg"), "dropped 84 lines");
  assert_int_equal(lt_int(j, "dropped"), 84);
  assert_int_equal(lt_int(j, "level"), 40);
  json_decref(j);
  /* nothing more to report: a second flush adds no record */
  assert_ok(roster_log_flush(log));
  assert_int_equal(lt_count(&g.lines), 17);
  assert_ok(roster_log_stats_get(log, &st));
  assert_int_equal(st.written, 16);
  assert_int_equal(st.dropped, 84);
  roster_log_free(log);
  gated_fini(&g);
}

static void test_drop_record_is_periodic(void **state) {
  (void)state;
  gated g;
  roster_log *log = gated_logger(&g, 4, false, 20);
  RL_INFO(log, "first");
  tu_wait_until(atomic_load(&g.entered) == 1, LC_LONG_MS);
  for (int i = 0; i < 10; i++)
    RL_INFO(log, "more");
  gate_set(&g, true);
  /* no flush: the writer writes the record by itself */
  assert_eventually_equal(lt_count(&g.lines), 5, LC_LONG_MS);
  json_t *j = lt_parse(&g.lines, 4);
  assert_string_equal(lt_str(j, "msg"), "dropped 7 lines");
  json_decref(j);
  /* a second burst, after the interval, gets a record of its own */
  gate_set(&g, false);
  atomic_store(&g.entered, 0);
  RL_INFO(log, "again");
  tu_wait_until(atomic_load(&g.entered) == 1, LC_LONG_MS);
  for (int i = 0; i < 5; i++)
    RL_INFO(log, "more");
  gate_set(&g, true);
  assert_eventually_equal(lt_count(&g.lines), 10, LC_LONG_MS);
  j = lt_parse(&g.lines, 9);
  assert_string_equal(lt_str(j, "msg"), "dropped 2 lines");
  json_decref(j);
  roster_log_stats st;
  assert_ok(roster_log_stats_get(log, &st));
  assert_int_equal(st.dropped, 9);
  roster_log_free(log);
  gated_fini(&g);
}

typedef struct bp_arg {
  roster_log *log;
  int lines;
  atomic_int done;
  atomic_int errors;
} bp_arg;

static void *block_producer(void *p) {
  bp_arg *a = p;
  for (int i = 0; i < a->lines; i++) {
    if (roster_log_write(a->log, ROSTER_LOG_INFO, RL_FIELDS(RL_INT("i", i)),
                         "b") != ROSTER_OK)
      atomic_fetch_add(&a->errors, 1);
    atomic_fetch_add(&a->done, 1);
  }
  return NULL;
}

static void test_block_mode(void **state) {
  (void)state;
  gated g;
  roster_log *log = gated_logger(&g, 4, true, 0);
  bp_arg a = {.log = log, .lines = 20};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, block_producer, &a), 0);
  roster_log_stats st = {0};
  tu_wait_until(roster_log_stats_get(log, &st) == ROSTER_OK && st.queued == 4,
                LC_LONG_MS);
  assert_int_equal(st.queued, 4);
  roster__tu_sleep_ms(20);
  /* the queue is full and the sink blocked: the producer cannot be past
   * its fifth line, however long it had */
  assert_true(atomic_load(&a.done) <= 4);
  gate_set(&g, true);
  pthread_join(th, NULL);
  assert_ok(roster_log_flush(log));
  assert_int_equal(atomic_load(&a.errors), 0);
  assert_int_equal(lt_count(&g.lines), 20);
  assert_ok(roster_log_stats_get(log, &st));
  assert_int_equal(st.dropped, 0);
  for (size_t i = 0; i < 20; i++) {
    json_t *j = lt_parse(&g.lines, i);
    assert_int_equal(lt_int(j, "i"), (long long)i);
    json_decref(j);
  }
  roster_log_free(log);
  gated_fini(&g);
}

#define MT 4
#define MT_LINES 20000

typedef struct mt_arg {
  roster_log *log;
  int id;
  atomic_int errors;
} mt_arg;

static void *mt_producer(void *p) {
  mt_arg *a = p;
  roster_log *c = NULL;
  assert_ok(roster_log_child(a->log, RL_FIELDS(RL_INT("t", a->id)), &c));
  for (int i = 0; i < MT_LINES; i++)
    if (roster_log_write(c, ROSTER_LOG_INFO, RL_FIELDS(RL_INT("i", i)), "mt") !=
        ROSTER_OK)
      atomic_fetch_add(&a->errors, 1);
  roster_log_free(c);
  return NULL;
}

static void test_many_producers(void **state) {
  (void)state;
  lt_lines l;
  lt_init(&l);
  roster_log *log = lt_async_logger(&l, true, 128);
  pthread_t th[MT];
  mt_arg args[MT];
  for (int t = 0; t < MT; t++) {
    args[t] = (mt_arg){.log = log, .id = t};
    assert_int_equal(pthread_create(&th[t], NULL, mt_producer, &args[t]), 0);
  }
  for (int t = 0; t < MT; t++) {
    pthread_join(th[t], NULL);
    assert_int_equal(atomic_load(&args[t].errors), 0);
  }
  roster_log_free(log); /* the last handle: drains before it returns */
  assert_int_equal(lt_count(&l), MT * MT_LINES);
  long long next[MT] = {0};
  for (size_t i = 0; i < lt_count(&l); i++) {
    json_t *j = lt_parse(&l, i);
    long long t = lt_int(j, "t");
    assert_true(t >= 0 && t < MT);
    assert_int_equal(lt_int(j, "i"), next[t]);
    next[t]++;
    json_decref(j);
  }
  lt_fini(&l);
}

static void test_fatal_and_free_flush(void **state) {
  (void)state;
  lt_lines l;
  lt_init(&l);
  roster_log *log = lt_async_logger(&l, false, 0);
  for (int i = 0; i < 50; i++)
    RL_INFO(log, "before");
  RL_FATAL(log, "the end");
  /* no flush call: the fatal line is out when the call returns */
  assert_int_equal(lt_count(&l), 51);
  json_t *j = lt_parse(&l, 50);
  assert_int_equal(lt_int(j, "level"), 60);
  json_decref(j);
  /* a line longer than a slot travels on the heap */
  char big[3000];
  memset(big, 'q', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  RL_INFO(log, "%s", big);
  roster_log_free(log);
  assert_int_equal(lt_count(&l), 52);
  j = lt_parse(&l, 51);
  assert_string_equal(lt_str(j, "msg"), big);
  json_decref(j);
  lt_fini(&l);

  /* flush on a sync logger is a no-op */
  lt_init(&l);
  roster_log *sync = lt_logger(&l, 0);
  assert_ok(roster_log_flush(sync));
  assert_rc(roster_log_flush(NULL), ROSTER_EINVAL);
  roster_log_free(sync);
  lt_fini(&l);
}

static void test_fork_child_writes_itself(void **state) {
  (void)state;
  int p[2];
  assert_int_equal(pipe(p), 0);
  roster_log_sink s = {.kind = ROSTER_LOG_SINK_FD, .fd = p[1]};
  roster_log *log =
      lt_new(&(roster_log_options){.sinks = &s, .nsinks = 1, .async = true});
  RL_INFO(log, "parent");
  assert_ok(roster_log_flush(log));
  pid_t child = fork();
  assert_true(child >= 0);
  if (child == 0) {
    /* no writer thread here: the line is written by this thread */
    int rc = roster_log_write(log, ROSTER_LOG_INFO, RL_NONE, "child");
    roster_log_free(log);
    _exit(rc == ROSTER_OK ? 0 : 1);
  }
  int status = 0;
  assert_int_equal(waitpid(child, &status, 0), child);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  roster_log_free(log);
  close(p[1]);
  char buf[4096] = {0};
  size_t got = 0;
  ssize_t n;
  while ((n = read(p[0], buf + got, sizeof buf - 1 - got)) > 0)
    got += (size_t)n;
  close(p[0]);
  char *second = strchr(buf, '\n');
  assert_non_null(second);
  second++;
  json_t *a = json_loadb(buf, (size_t)(second - buf), 0, NULL);
  json_t *b = json_loads(second, JSON_DISABLE_EOF_CHECK, NULL);
  assert_non_null(a);
  assert_non_null(b);
  assert_string_equal(lt_str(a, "msg"), "parent");
  assert_int_equal(lt_int(a, "pid"), getpid());
  assert_string_equal(lt_str(b, "msg"), "child");
  assert_int_equal(lt_int(b, "pid"), child);
  json_decref(a);
  json_decref(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_writer_thread_and_order),
      cmocka_unit_test(test_drop_accounting),
      cmocka_unit_test(test_drop_record_is_periodic),
      cmocka_unit_test(test_block_mode),
      cmocka_unit_test(test_many_producers),
      cmocka_unit_test(test_fatal_and_free_flush),
      cmocka_unit_test(test_fork_child_writes_itself),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
