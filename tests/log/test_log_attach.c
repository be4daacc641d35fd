/*
 * test_log_attach.c: the registry and lifecycle log through the logger.
 * roster_log_attach writes a line per state change (starting, started,
 * stopping, stopped, failed, restarted) with service, ns, state, from,
 * error and duration_ms, and per registration at debug; state changes
 * carry prev_at_ns, so durations are exact differences of the event
 * times; the logger is a registry service that code gets by name and
 * providers depend on; attach and detach refuse what does not fit.
 */
#include "log_testutil.h"

/* find returns the index of the first line at or after from whose msg is
 * msg, or -1. */
static long find(lt_lines *l, const char *msg, size_t from) {
  for (size_t i = from; i < lt_count(l); i++) {
    json_t *j = lt_parse(l, i);
    bool hit = lt_str(j, "msg") && !strcmp(lt_str(j, "msg"), msg);
    json_decref(j);
    if (hit)
      return (long)i;
  }
  return -1;
}

static void dump(lt_lines *l) {
  for (size_t i = 0; i < lt_count(l); i++)
    print_error("  %s\n", lt_line(l, i));
}

/* assert_line returns the index of the first line with msg, or fails the
 * test printing every line. */
static long assert_line(lt_lines *l, const char *msg) {
  long at = find(l, msg, 0);
  if (at < 0) {
    print_error("no line \"%s\" in:\n", msg);
    dump(l);
    fail();
  }
  return at;
}

/* prev_at_ns: a raw listener recording one service's transitions */
typedef struct trans {
  pthread_mutex_t mu;
  size_t n;
  roster_state from[64], to[64];
  int64_t at[64], prev[64];
} trans;

static void trans_listener(roster *r, const roster_event *ev, void *arg) {
  (void)r;
  trans *t = arg;
  if (ev->kind != ROSTER_EV_STATE || strcmp(ev->entry->name, "db"))
    return;
  pthread_mutex_lock(&t->mu);
  if (t->n < 64) {
    t->from[t->n] = ev->state->from;
    t->to[t->n] = ev->state->to;
    t->at[t->n] = ev->state->at_ns;
    t->prev[t->n] = ev->state->prev_at_ns;
    t->n++;
  }
  pthread_mutex_unlock(&t->mu);
}

static void test_lifecycle_lines(void **state) {
  (void)state;
  lt_lines l;
  lt_init(&l);
  roster_log *log = lt_logger(&l, ROSTER_LOG_DEBUG);
  roster *r = tu_registry(NULL);
  trans t = {.n = 0};
  pthread_mutex_init(&t.mu, NULL);
  assert_ok(roster_listen(r, ROSTER_EV_STATE, trans_listener, &t, NULL, NULL));
  int64_t declared = (int64_t)roster__tu_now_ns();
  tu_svc db, api;
  roster__tu_svc_init(&db, "db", NULL, NULL);
  db.sleep_ms = 30;
  const char *api_deps[] = {"db", NULL};
  roster__tu_svc_init(&api, "api", NULL, api_deps);
  roster_provider pdb = roster__tu_svc_provider(&db),
                  papi = roster__tu_svc_provider(&api);
  assert_ok(roster_provide(r, NULL, "db", &pdb));
  assert_ok(roster_provide(r, NULL, "api", &papi));
  assert_ok(roster_log_attach(r, log));

  assert_ok(roster_start(r, LC_LONG_MS));
  long i = assert_line(&l, "db starting");
  json_t *j = lt_parse(&l, (size_t)i);
  assert_int_equal(lt_int(j, "level"), 20);
  assert_string_equal(lt_str(j, "service"), "db");
  assert_string_equal(lt_str(j, "ns"), "default");
  assert_string_equal(lt_str(j, "state"), "starting");
  assert_string_equal(lt_str(j, "from"), "declared");
  json_decref(j);
  i = assert_line(&l, "db started");
  j = lt_parse(&l, (size_t)i);
  assert_int_equal(lt_int(j, "level"), 30);
  assert_string_equal(lt_str(j, "state"), "ready");
  assert_string_equal(lt_str(j, "from"), "starting");
  assert_true(lt_int(j, "duration_ms") >= 30); /* create slept 30 ms */
  assert_null(json_object_get(j, "error"));
  json_decref(j);
  assert_true(find(&l, "api started", (size_t)i) > i); /* after db */
  i = assert_line(&l, "db registered");
  j = lt_parse(&l, (size_t)i);
  assert_int_equal(lt_int(j, "level"), 20);
  assert_string_equal(lt_str(j, "type"), roster__tu_svc_type.name);
  json_decref(j);

  assert_ok(roster_shutdown(r, LC_LONG_MS));
  i = assert_line(&l, "db stopped");
  j = lt_parse(&l, (size_t)i);
  assert_int_equal(lt_int(j, "level"), 30);
  assert_string_equal(lt_str(j, "from"), "stopping");
  assert_true(lt_int(j, "duration_ms") >= 0);
  assert_true(lt_int(j, "uptime_ms") >= 0);
  json_decref(j);
  assert_true(find(&l, "api stopped", 0) < i); /* api stops first */
  assert_line(&l, "db stopping");
  assert_line(&l, "db unregistered");

  /* prev_at_ns is when the service entered the state it leaves */
  pthread_mutex_lock(&t.mu);
  assert_true(t.n >= 4);
  assert_int_equal(t.from[0], ROSTER_STATE_DECLARED);
  assert_true(t.prev[0] <= declared + 1000000000 && t.prev[0] > 0);
  for (size_t k = 0; k < t.n; k++) {
    assert_true(t.prev[k] <= t.at[k]);
    if (k > 0) {
      assert_int_equal(t.from[k], t.to[k - 1]);
      assert_true(t.prev[k] == t.at[k - 1]);
    }
  }
  /* the start took the create's 30 ms sleep */
  assert_int_equal(t.to[1], ROSTER_STATE_READY);
  assert_true(t.at[1] - t.prev[1] >= 30 * 1000000LL);
  pthread_mutex_unlock(&t.mu);
  pthread_mutex_destroy(&t.mu);

  roster_free(r);
  roster_log_free(log);
  assert_int_equal(atomic_load(&l.frees), 1); /* roster_free let go */
  lt_fini(&l);
}

static void test_failed_and_restarted(void **state) {
  (void)state;
  lt_lines l;
  lt_init(&l);
  roster_log *log = lt_logger(&l, ROSTER_LOG_INFO);
  roster *r = tu_registry(NULL);
  assert_ok(roster_log_attach(r, log));

  tu_svc w;
  roster__tu_svc_init(&w, "worker", NULL, NULL);
  roster_provider p = roster__tu_svc_provider(&w);
  p.restart = ROSTER_RESTART_ON_FAILURE;
  p.backoff_min_ms = 5;
  assert_ok(roster_provide(r, NULL, "worker", &p));
  assert_ok(roster_start(r, LC_LONG_MS));
  assert_line(&l, "worker started");
  assert_int_equal(find(&l, "worker starting", 0), -1); /* debug: off */
  assert_int_equal(find(&l, "worker registered", 0), -1);

  assert_ok(roster_service_exit(r, NULL, "worker", ROSTER_EIO, "disk gone"));
  tu_wait_until(find(&l, "worker restarted", 0) >= 0, LC_LONG_MS);
  long f = assert_line(&l, "worker failed");
  long rs = assert_line(&l, "worker restarted");
  assert_true(f < rs);
  json_t *j = lt_parse(&l, (size_t)f);
  assert_int_equal(lt_int(j, "level"), 50);
  assert_string_equal(lt_str(j, "error"), "EIO");
  assert_contains(lt_str(j, "detail"), "disk gone");
  assert_true(json_is_false(json_object_get(j, "final")));
  assert_string_equal(lt_str(j, "state"), "failed");
  json_decref(j);
  j = lt_parse(&l, (size_t)rs);
  assert_int_equal(lt_int(j, "level"), 30);
  assert_string_equal(lt_str(j, "state"), "ready");
  json_decref(j);
  assert_ok(roster_shutdown(r, LC_LONG_MS));

  /* a create that fails: a final failure at error level */
  tu_svc bad;
  roster__tu_svc_init(&bad, "bad", NULL, NULL);
  bad.fail_code = ROSTER_ECONN;
  tu_provide(r, NULL, "bad", &bad, false);
  assert_rc(roster_start(r, LC_LONG_MS), ROSTER_ECONN);
  long b = -1;
  for (size_t k = 0; k < lt_count(&l) && b < 0; k++) {
    json_t *x = lt_parse(&l, k);
    if (lt_str(x, "service") && !strcmp(lt_str(x, "service"), "bad") &&
        !strcmp(lt_str(x, "state"), "failed"))
      b = (long)k;
    json_decref(x);
  }
  assert_true(b >= 0);
  j = lt_parse(&l, (size_t)b);
  assert_int_equal(lt_int(j, "level"), 50);
  assert_string_equal(lt_str(j, "error"), "ECONN");
  assert_string_equal(lt_str(j, "from"), "starting");
  assert_true(json_is_true(json_object_get(j, "final")));
  assert_string_equal(lt_str(j, "msg"), "bad failed");
  assert_true(strlen(lt_str(j, "detail")) > 0);
  json_decref(j);
  roster_free(r);
  roster_log_free(log);
  lt_fini(&l);
}

static int uses_log_create(void *arg, const roster_deps *deps, void **out) {
  roster_log **seen = arg;
  *seen = roster_deps_get(deps, "log");
  RL_INFO(*seen, "made with the log");
  *out = seen;
  return ROSTER_OK;
}

static const roster_type user_type = {.name = "user"};

static void test_logger_as_service(void **state) {
  (void)state;
  lt_lines l;
  lt_init(&l);
  roster_log *log = lt_logger(&l, 0);
  roster *r = tu_registry(NULL);
  assert_ok(roster_log_register(r, NULL, "log", log));
  void *got = NULL;
  assert_ok(roster_get(r, NULL, "log", &roster_log_type, &got));
  assert_ptr_equal(got, log);
  assert_rc(roster_get(r, NULL, "log", &roster__tu_counter_type, &got),
            ROSTER_ETYPE);
  assert_contains(roster_last_error(), "roster_log");
  /* the key is taken: no handle is taken either */
  assert_rc(roster_log_register(r, NULL, "log", log), ROSTER_EEXIST);
  assert_rc(roster_log_register(r, NULL, "log2", NULL), ROSTER_EINVAL);

  /* a provider that depends on it by name */
  roster_log *seen = NULL;
  const char *deps[] = {"log", NULL};
  roster_provider p = {.type = &user_type,
                       .create = uses_log_create,
                       .arg = &seen,
                       .deps = deps};
  assert_ok(roster_provide(r, NULL, "user", &p));
  assert_ok(roster_start(r, LC_LONG_MS));
  assert_ptr_equal(seen, log);
  assert_line(&l, "made with the log");

  /* the caller's handle goes; the registry's keeps the logger alive */
  roster_log_free(log);
  assert_int_equal(atomic_load(&l.frees), 0);
  assert_ok(roster_get(r, NULL, "log", &roster_log_type, &got));
  RL_INFO((roster_log *)got, "through the registry");
  assert_line(&l, "through the registry");
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  assert_ok(roster_unregister(r, NULL, "log"));
  roster_reclaim_wait();
  assert_int_equal(atomic_load(&l.frees), 1); /* the last handle closed it */
  roster_free(r);
  lt_fini(&l);
}

static void test_attach_errors(void **state) {
  (void)state;
  lt_lines l;
  lt_init(&l);
  roster_log *log = lt_logger(&l, ROSTER_LOG_DEBUG);
  roster *r = tu_registry(NULL);
  assert_ok(roster_log_attach(r, log));
  assert_rc(roster_log_attach(r, log), ROSTER_EEXIST);
  assert_rc(roster_log_attach(NULL, log), ROSTER_EINVAL);
  assert_rc(roster_log_attach(r, NULL), ROSTER_EINVAL);
  assert_ok(roster_register(r, NULL, "a", &roster__tu_counter_type, NULL));
  assert_line(&l, "a registered");
  assert_ok(roster_log_detach(r, log));
  assert_rc(roster_log_detach(r, log), ROSTER_ENOENT);
  assert_rc(roster_log_detach(NULL, log), ROSTER_EINVAL);
  size_t before = lt_count(&l);
  assert_ok(roster_register(r, NULL, "b", &roster__tu_counter_type, NULL));
  assert_int_equal(lt_count(&l), before); /* detached: nothing more */
  /* attach again after detach, and a child logger separately */
  assert_ok(roster_log_attach(r, log));
  roster_log *child = NULL;
  assert_ok(roster_log_child(log, RL_FIELDS(RL_STR("c", "1")), &child));
  assert_ok(roster_log_attach(r, child));
  roster_log_free(child);
  assert_ok(roster_register(r, NULL, "c", &roster__tu_counter_type, NULL));
  assert_int_equal(lt_count(&l), before + 2);
  roster_log_free(log);
  assert_int_equal(atomic_load(&l.frees), 0); /* attachments hold it */
  roster_free(r);
  roster_reclaim_wait();
  assert_int_equal(atomic_load(&l.frees), 1);
  lt_fini(&l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lifecycle_lines),
      cmocka_unit_test(test_failed_and_restarted),
      cmocka_unit_test(test_logger_as_service),
      cmocka_unit_test(test_attach_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
