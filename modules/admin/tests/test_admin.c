/*
 * test_admin.c: the admin endpoint (roster/admin.h) over raw HTTP and
 * WebSocket: the loopback rule and the token, the probes, the JSON API
 * with its secrets redacted in every answer, the actions and each of their
 * refusals, live updates in namespace /admin, and the admin:// driver.
 * /metrics against promtool is test_admin_metrics.c.
 */
#include "testutil.h"

#include "admin_fixture.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void no_secret(const hc_resp *r) {
  assert_null(strstr(r->body, FX_PASSWORD));
  assert_null(strstr(r->body, FX_URL_PASSWORD));
  assert_null(strstr(r->head, FX_PASSWORD));
}

/* ---- making ------------------------------------------------------------ */

static void t_bind_and_token(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  roster_admin *a = (roster_admin *)1;
  assert_rc(roster_admin_new(r, &(roster_admin_options){.host = "0.0.0.0"}, &a),
            ROSTER_EINVAL);
  assert_null(a);
  assert_contains(roster_last_error(), "not a loopback address");
  assert_rc(roster_admin_new(NULL, NULL, &a), ROSTER_EINVAL);
  assert_rc(roster_admin_new(r, NULL, NULL), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "roster_admin_new");
  assert_rc(roster_admin_new(r, &(roster_admin_options){.token = ""}, &a),
            ROSTER_EINVAL);
  setenv("ADMIN_TEST_EMPTY", "", 1);
  assert_rc(
      roster_admin_new(
          r, &(roster_admin_options){.token_env = "ADMIN_TEST_EMPTY"}, &a),
      ROSTER_EINVAL);
  /* any address with a token, from the options or the environment */
  assert_ok(roster_admin_new(
      r, &(roster_admin_options){.host = "0.0.0.0", .token = "t"}, &a));
  roster_admin_free(a);
  setenv("ADMIN_TEST_TOKEN", "from-env", 1);
  assert_ok(
      roster_admin_new(r,
                       &(roster_admin_options){.host = "0.0.0.0",
                                               .token_env = "ADMIN_TEST_TOKEN"},
                       &a));
  assert_ok(roster_admin_start(a));
  assert_rc(roster_admin_start(a), ROSTER_ESTATE);
  assert_ok(roster_admin_health(a));
  hc_resp resp;
  assert_int_equal(fx_post(roster_admin_port(a), "/api/actions/log-level",
                           "Bearer from-env", "{\"level\":\"warn\"}", &resp),
                   404); /* authorized; no logger to set */
  hc_resp_free(&resp);
  assert_ok(roster_admin_stop(a, 0));
  assert_ok(roster_admin_stop(a, 0));
  assert_rc(roster_admin_health(a), ROSTER_ESTATE);
  roster_admin_free(a);
  roster_admin_free(NULL);
  /* ::1 is loopback too */
  assert_ok(roster_admin_new(r, &(roster_admin_options){.host = "::1"}, &a));
  roster_admin_free(a);
  roster_free(r);
}

/* ---- probes ------------------------------------------------------------ */

static void t_probes(void **state) {
  (void)state;
  fx f;
  fx_setup(&f, NULL);
  hc_resp r;
  assert_int_equal(fx_get(f.port, "/livez", NULL, &r), 200);
  assert_string_equal(r.body, "ok\n");
  hc_resp_free(&r);
  assert_int_equal(fx_get(f.port, "/readyz", NULL, &r), 200);
  assert_contains(r.body, "\"ready\":true");
  assert_contains(r.body, "\"not_ready\":[]");
  hc_resp_free(&r);
  fx_set_failing(true);
  int st = 0;
  for (int i = 0; i < 300 && st != 503; i++) {
    st = fx_get(f.port, "/readyz", NULL, &r);
    if (st != 503) {
      hc_resp_free(&r);
      roster__tu_sleep_ms(10);
    }
  }
  assert_int_equal(st, 503);
  assert_contains(r.body, "\"ready\":false");
  assert_contains(r.body, "\"name\":\"flappy\"");
  assert_contains(r.body, "\"state\":\"unhealthy\"");
  assert_contains(r.body, "the check says no");
  assert_null(strstr(r.body, "\"name\":\"ok\"")); /* only those not ready */
  char ct[128];
  assert_non_null(hc_header(&r, "Content-Type", ct, sizeof ct));
  assert_string_equal(ct, "application/json");
  hc_resp_free(&r);
  /* healthz: every service, each with its checks */
  assert_int_equal(fx_get(f.port, "/healthz", NULL, &r), 200);
  assert_contains(r.body, "\"name\":\"ok\"");
  assert_contains(r.body, "\"name\":\"broken\"");
  assert_contains(r.body, "\"consecutive_failures\":");
  assert_contains(r.body, "\"check_latency_us\":");
  assert_contains(r.body, "\"last_check_ms_ago\":");
  hc_resp_free(&r);
  fx_set_failing(false);
  /* the page, unknown paths, methods */
  assert_int_equal(fx_get(f.port, "/", NULL, &r), 200);
  assert_contains(r.body, "<title>roster admin</title>");
  assert_contains(r.body, "/api/services");
  assert_contains(r.body, "40/admin,"); /* its own Socket.IO client */
  hc_resp_free(&r);
  assert_int_equal(fx_get(f.port, "/nope", NULL, &r), 404);
  hc_resp_free(&r);
  assert_int_equal(fx_post(f.port, "/healthz", NULL, "{}", &r), 405);
  hc_resp_free(&r);
  assert_int_equal(fx_get(f.port, "/api/actions/run", NULL, &r), 405);
  hc_resp_free(&r);
  fx_teardown(&f);
}

/* ---- the JSON API ------------------------------------------------------ */

static void t_api_redacts_secrets(void **state) {
  (void)state;
  fx f;
  fx_setup(&f, NULL);
  /* a line naming the secret's key (the logger is the program's: the
   * endpoint shows what it was given) */
  assert_ok(roster_log_write(f.log, ROSTER_LOG_WARN, NULL, 0, "hello ring"));
  static const struct {
    const char *path, *want[3];
  } pages[] = {
      {"/api/services", {"\"name\":\"db\"", "\"deps\":", "\"restarts\":"}},
      {"/api/registry", {"\"namespaces\":", "\"type\":\"cache\"", "we\\\"ird"}},
      {"/api/config", {"\"***\"", "\"provenance\":", "\"demo\""}},
      {"/api/cron", {"\"name\":\"tick\"", "\"next_run\":", "0 0 1 1 *"}},
      {"/api/pools", {"\"pools\":[{", "\"caches\":[{", "\"hits\":1"}},
      {"/api/logs", {"hello ring", "\"level\":\"warn\"", "\"warn\":1"}},
      {"/api/stats", {"\"registry\":", "\"ready\":", "\"schedulers\":"}},
      {"/healthz", {"\"services\":", NULL, NULL}},
      {"/readyz", {"\"ready\":", NULL, NULL}},
      {"/metrics", {"roster_registry_entries", NULL, NULL}},
      {"/", {"admin", NULL, NULL}},
  };
  for (size_t i = 0; i < sizeof pages / sizeof *pages; i++) {
    hc_resp r;
    int st = fx_get(f.port, pages[i].path, NULL, &r);
    if (st != 200)
      print_error("%s: %d %s\n", pages[i].path, st, r.body ? r.body : "");
    assert_int_equal(st, 200);
    for (int k = 0; k < 3 && pages[i].want[k]; k++)
      assert_contains(r.body, pages[i].want[k]);
    no_secret(&r);
    hc_resp_free(&r);
  }
  /* the config shows the URL with its password hidden */
  hc_resp r;
  assert_int_equal(fx_get(f.port, "/api/config", NULL, &r), 200);
  assert_contains(r.body, "db.example");
  hc_resp_free(&r);
  fx_teardown(&f);
}

/* ---- actions ----------------------------------------------------------- */

static void t_actions_refused_without_token(void **state) {
  (void)state;
  fx f;
  fx_setup(&f, NULL);
  hc_resp r;
  assert_int_equal(fx_post(f.port, "/api/actions/run", "Bearer anything",
                           "{\"job\":\"tick\"}", &r),
                   403);
  assert_contains(r.body, "no token");
  hc_resp_free(&r);
  roster__tu_sleep_ms(50);
  assert_int_equal(atomic_load(&f.job_runs), 0);
  fx_teardown(&f);
}

static void job_stats(fx *f, roster_job_stats *st) {
  assert_ok(roster_sched_stats_get(f->sched, "tick", st));
}

static void t_actions(void **state) {
  (void)state;
  fx f;
  fx_setup(&f, &(roster_admin_options){.token = "sesame"});
  hc_resp r;
  /* refusals: no header, another scheme, a wrong token, a longer one */
  assert_int_equal(
      fx_post(f.port, "/api/actions/run", NULL, "{\"job\":\"tick\"}", &r), 401);
  char h[64];
  assert_non_null(hc_header(&r, "WWW-Authenticate", h, sizeof h));
  hc_resp_free(&r);
  assert_int_equal(fx_post(f.port, "/api/actions/run", "Basic c2VzYW1l",
                           "{\"job\":\"tick\"}", &r),
                   401);
  hc_resp_free(&r);
  static const char *const wrong[] = {"Bearer sesamE", "Bearer sesame2",
                                      "Bearer sesam", "Bearer "};
  for (size_t i = 0; i < 4; i++) {
    assert_int_equal(
        fx_post(f.port, "/api/actions/run", wrong[i], "{\"job\":\"tick\"}", &r),
        403);
    hc_resp_free(&r);
  }
  roster__tu_sleep_ms(50);
  assert_int_equal(atomic_load(&f.job_runs), 0);
  const char *auth = "Bearer sesame";
  /* bad requests */
  assert_int_equal(fx_post(f.port, "/api/actions/run", auth, "[1]", &r), 400);
  hc_resp_free(&r);
  assert_int_equal(fx_post(f.port, "/api/actions/fly", auth, "{}", &r), 404);
  hc_resp_free(&r);
  assert_int_equal(
      fx_post(f.port, "/api/actions/run", auth, "{\"job\":\"nope\"}", &r), 404);
  hc_resp_free(&r);
  /* run now */
  assert_int_equal(
      fx_post(f.port, "/api/actions/run", auth, "{\"job\":\"tick\"}", &r), 200);
  hc_resp_free(&r);
  tu_wait_until(atomic_load(&f.job_runs) == 1, 5000);
  assert_int_equal(atomic_load(&f.job_runs), 1);
  /* disable, enable (naming the scheduler) */
  roster_job_stats st;
  assert_int_equal(fx_post(f.port, "/api/actions/disable", auth,
                           "{\"scheduler\":\"cron\",\"job\":\"tick\"}", &r),
                   200);
  hc_resp_free(&r);
  job_stats(&f, &st);
  assert_false(st.enabled);
  assert_int_equal(
      fx_post(f.port, "/api/actions/enable", auth, "{\"job\":\"tick\"}", &r),
      200);
  hc_resp_free(&r);
  job_stats(&f, &st);
  assert_true(st.enabled);
  assert_int_equal(fx_post(f.port, "/api/actions/enable", auth,
                           "{\"scheduler\":\"other\",\"job\":\"tick\"}", &r),
                   404);
  hc_resp_free(&r);
  /* the log level: the tapped logger, or one named */
  assert_int_equal(fx_post(f.port, "/api/actions/log-level", auth,
                           "{\"level\":\"debug\"}", &r),
                   200);
  hc_resp_free(&r);
  assert_int_equal(roster_log_level_get(f.log), ROSTER_LOG_DEBUG);
  assert_int_equal(fx_post(f.port, "/api/actions/log-level", auth,
                           "{\"level\":\"error\",\"logger\":\"log\"}", &r),
                   200);
  hc_resp_free(&r);
  assert_int_equal(roster_log_level_get(f.log), ROSTER_LOG_ERROR);
  assert_int_equal(fx_post(f.port, "/api/actions/log-level", auth,
                           "{\"level\":\"loud\"}", &r),
                   400);
  hc_resp_free(&r);
  assert_int_equal(fx_post(f.port, "/api/actions/log-level", auth,
                           "{\"level\":\"info\",\"logger\":\"cache\\nnl\"}",
                           &r),
                   400); /* not a logger */
  hc_resp_free(&r);
  /* restart: the service is made again */
  int creates = fx_ok_creates();
  assert_int_equal(
      fx_post(f.port, "/api/actions/restart", auth, "{\"name\":\"ok\"}", &r),
      200);
  assert_contains(r.body, "\"state\":\"ready\"");
  hc_resp_free(&r);
  assert_state(f.r, NULL, "ok", ROSTER_STATE_READY, 5000);
  assert_int_equal(fx_ok_creates(), creates + 1);
  assert_int_equal(fx_post(f.port, "/api/actions/restart", auth,
                           "{\"name\":\"nobody\"}", &r),
                   404);
  hc_resp_free(&r);
  fx_teardown(&f);
}

/* ---- live updates ------------------------------------------------------ */

/* next_event: reads frames until an event called name whose frame holds
 * needle; answers pings. */
static bool next_event(int fd, const char *name, const char *needle) {
  char want[64];
  snprintf(want, sizeof want, "42/admin,[\"%s\",", name);
  for (int i = 0; i < 200; i++) {
    char *s = hc_eio_read(fd, NULL);
    if (!s)
      return false;
    bool hit = strncmp(s, want, strlen(want)) == 0 && strstr(s, needle);
    if (hit)
      assert_null(strstr(s, FX_PASSWORD));
    free(s);
    if (hit)
      return true;
  }
  return false;
}

static void t_live(void **state) {
  (void)state;
  fx f;
  fx_setup(&f, &(roster_admin_options){.stats_interval_ms = 50});
  int fd =
      hc_ws_open(f.port, "/socket.io/?EIO=4&transport=websocket", NULL, NULL);
  assert_true(fd >= 0);
  hc_frame fr;
  assert_int_equal(hc_ws_read(fd, &fr), 0);
  assert_int_equal(fr.p[0], '0');
  hc_frame_free(&fr);
  assert_true(hc_ws_frame(fd, true, 0, 1, true, "40/admin,", 9));
  assert_int_equal(hc_ws_read(fd, &fr), 0);
  assert_memory_equal(fr.p, "40/admin,{\"sid\":", 16);
  hc_frame_free(&fr);
  /* stats every interval */
  assert_true(next_event(fd, "stats", "\"registry\":{"));
  /* log lines */
  assert_ok(roster_log_write(f.log, ROSTER_LOG_ERROR, NULL, 0, "live line"));
  assert_true(next_event(fd, "log", "live line"));
  /* a service's transitions */
  tu_svc lazy;
  roster__tu_svc_init(&lazy, "lazy1", NULL, NULL);
  tu_provide(f.r, NULL, "lazy1", &lazy, true);
  void *inst = NULL;
  assert_ok(roster_get(f.r, NULL, "lazy1", &roster__tu_svc_type, &inst));
  assert_true(next_event(fd, "state", "\"to\":\"ready\""));
  /* a failure carries its error and detail */
  assert_rc(roster_get(f.r, NULL, "broken", &roster__tu_svc_type, &inst),
            ROSTER_EIO);
  assert_true(next_event(fd, "state", "\"error\":\"EIO\""));
  close(fd);
  fx_teardown(&f);
}

/* ---- the application's panels ----------------------------------------- */

static atomic_int panel_calls;
static json_t *panel_fn(void *arg) {
  atomic_fetch_add(&panel_calls, 1);
  return json_pack("{s:s,s:I,s:b}", "label", (const char *)arg, "stale_ms",
                   (json_int_t)1234, "connected", 0);
}
static json_t *panel_none(void *arg) {
  (void)arg;
  return NULL;
}

static void t_panels(void **state) {
  (void)state;
  fx f;
  fx_setup(&f, &(roster_admin_options){.stats_interval_ms = 50});
  hc_resp r;
  assert_int_equal(fx_get(f.port, "/api/panels", NULL, &r), 200);
  assert_string_equal(r.body, "{}");
  hc_resp_free(&r);
  assert_ok(roster_admin_panel(f.admin, "discovery", panel_fn, "first"));
  assert_ok(roster_admin_panel(f.admin, "quiet", panel_none, NULL));
  assert_int_equal(fx_get(f.port, "/api/panels", NULL, &r), 200);
  assert_non_null(strstr(r.body, "\"discovery\":{\"label\":\"first\","
                                 "\"stale_ms\":1234,\"connected\":false}"));
  assert_null(strstr(r.body, "quiet")); /* NULL: nothing shown */
  hc_resp_free(&r);
  /* the same title again replaces the function */
  assert_ok(roster_admin_panel(f.admin, "discovery", panel_fn, "second"));
  assert_int_equal(fx_get(f.port, "/api/panels", NULL, &r), 200);
  assert_non_null(strstr(r.body, "\"label\":\"second\""));
  assert_null(strstr(r.body, "first"));
  hc_resp_free(&r);
  /* the live stats carry them */
  int fd =
      hc_ws_open(f.port, "/socket.io/?EIO=4&transport=websocket", NULL, NULL);
  assert_true(fd >= 0);
  hc_frame fr;
  assert_int_equal(hc_ws_read(fd, &fr), 0);
  hc_frame_free(&fr);
  assert_true(hc_ws_frame(fd, true, 0, 1, true, "40/admin,", 9));
  assert_int_equal(hc_ws_read(fd, &fr), 0);
  hc_frame_free(&fr);
  assert_true(next_event(fd, "stats", "\"panels\":{\"discovery\":{"));
  close(fd);
  /* errors */
  assert_rc(roster_admin_panel(f.admin, "", panel_fn, NULL), ROSTER_EINVAL);
  assert_rc(roster_admin_panel(f.admin, "bad \xff title", panel_fn, NULL),
            ROSTER_EINVAL);
  char longt[80];
  memset(longt, 'x', 65);
  longt[65] = '\0';
  assert_rc(roster_admin_panel(f.admin, longt, panel_fn, NULL), ROSTER_EINVAL);
  assert_rc(roster_admin_panel(f.admin, "absent", NULL, NULL), ROSTER_ENOENT);
  assert_rc(roster_admin_panel(NULL, "x", panel_fn, NULL), ROSTER_EINVAL);
  for (int i = 0; i < 30; i++) { /* 2 + 30 = 32, the most */
    char t[16];
    snprintf(t, sizeof t, "p%d", i);
    assert_ok(roster_admin_panel(f.admin, t, panel_none, NULL));
  }
  assert_rc(roster_admin_panel(f.admin, "one too many", panel_none, NULL),
            ROSTER_ERANGE);
  /* removed: never called again */
  assert_ok(roster_admin_panel(f.admin, "discovery", NULL, NULL));
  int before = atomic_load(&panel_calls);
  assert_int_equal(fx_get(f.port, "/api/panels", NULL, &r), 200);
  assert_null(strstr(r.body, "discovery"));
  hc_resp_free(&r);
  usleep(200 * 1000); /* four stats ticks */
  assert_int_equal(atomic_load(&panel_calls), before);
  fx_teardown(&f);
}

/* ---- the driver -------------------------------------------------------- */

static void t_driver(void **state) {
  (void)state;
  assert_ok(roster_admin_init());
  assert_ok(roster_admin_init()); /* again: a no-op */
  roster *r = tu_registry(NULL);
  int port = roster__tu_free_port();
  assert_true(port > 0);
  char url[128];
  snprintf(url, sizeof url, "admin://127.0.0.1:%d?stats_interval=200", port);
  assert_ok(roster_provide_url(r, NULL, "admin", url, NULL));
  assert_ok(roster_provide_url(r, NULL, "admin", url, NULL)); /* same */
  assert_rc(roster_provide_url(r, NULL, "bad", "admin://127.0.0.1", NULL),
            ROSTER_EINVAL);
  assert_rc(
      roster_provide_url(r, NULL, "bad", "admin://127.0.0.1:1?token=abc", NULL),
      ROSTER_EINVAL);
  assert_null(strstr(roster_last_error(), "abc"));
  assert_rc(
      roster_provide_url(r, NULL, "bad", "admin://127.0.0.1:1?color=red", NULL),
      ROSTER_EINVAL);
  assert_rc(roster_provide_url(r, NULL, "bad", "admin://u:p@127.0.0.1:1", NULL),
            ROSTER_EINVAL);
  assert_ok(roster_start(r, 10000));
  roster_admin *a = NULL;
  assert_ok(roster_admin_find(r, NULL, "admin", &a));
  assert_int_equal(roster_admin_port(a), port);
  hc_resp resp;
  assert_int_equal(fx_get((uint16_t)port, "/api/registry", NULL, &resp), 200);
  assert_contains(resp.body, "\"type\":\"admin\"");
  hc_resp_free(&resp);
  roster_socketio *io = NULL;
  assert_rc(roster_socketio_find(r, NULL, "admin", &io), ROSTER_ETYPE);
  roster_free(r);
  /* not loopback, no token: the start fails and says why */
  r = tu_registry(NULL);
  snprintf(url, sizeof url, "admin://0.0.0.0:%d", port);
  assert_ok(roster_provide_url(r, NULL, "open", url, NULL));
  assert_rc(roster_start(r, 10000), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "not a loopback address");
  roster_free(r);
  assert_null(roster_driver_registry()); /* only during an open */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_bind_and_token),
      cmocka_unit_test(t_probes),
      cmocka_unit_test(t_api_redacts_secrets),
      cmocka_unit_test(t_actions_refused_without_token),
      cmocka_unit_test(t_actions),
      cmocka_unit_test(t_live),
      cmocka_unit_test(t_panels),
      cmocka_unit_test(t_driver),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
