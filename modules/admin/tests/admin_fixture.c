/*
 * admin_fixture.c: the admin tests' registry and HTTP requests
 * (admin_fixture.h).
 */
#include "testutil.h"

#include "admin_fixture.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <roster/socketio.h>
#include <roster/sqlite.h>

static atomic_bool g_failing;
static tu_svc g_ok, g_flappy, g_broken;

void fx_set_failing(bool fail) { atomic_store(&g_failing, fail); }

int fx_ok_creates(void) { return atomic_load(&g_ok.creates); }

static int flappy_ready(void *arg, void *instance) {
  (void)arg;
  (void)instance;
  return atomic_load(&g_failing)
             ? roster_error_set(ROSTER_EIO, "flappy: the check says no")
             : ROSTER_OK;
}

static int count_run(void *arg) {
  atomic_fetch_add((atomic_int *)arg, 1);
  return ROSTER_OK;
}

void fx_setup(fx *f, const roster_admin_options *o) {
  memset(f, 0, sizeof *f);
  fx_set_failing(false);
  f->r = tu_registry(NULL);
  assert_ok(roster_sqlite_init());
  assert_ok(roster_provide_url(f->r, NULL, "db", "sqlite::memory:", NULL));

  /* services: one ready, one whose readiness check the test controls
   * (in a namespace that needs escaping), one that fails to start
   * (lazy, so roster_start succeeds) */
  roster__tu_svc_init(&g_ok, "ok", NULL, NULL);
  tu_provide(f->r, NULL, "ok", &g_ok, false);
  roster__tu_svc_init(&g_flappy, "flappy", NULL, NULL);
  roster_provider p = roster__tu_svc_provider(&g_flappy);
  p.ready = flappy_ready;
  p.check_interval_ms = 30;
  p.fail_threshold = 1;
  p.pass_threshold = 1;
  assert_ok(roster_provide(f->r, "we\"ird\\ns", "flappy", &p));
  roster__tu_svc_init(&g_broken, "broken", NULL, NULL);
  g_broken.fail_code = ROSTER_EIO;
  tu_provide(f->r, NULL, "broken", &g_broken, true);

  /* a config with secrets */
  roster_config *cfg = NULL;
  assert_ok(roster_config_new(
      &(roster_config_options){
          .defaults_json =
              "{\"app\":{\"name\":\"demo\"},\"db\":{\"password\":\"" FX_PASSWORD
              "\",\"url\":\"postgresql://app:" FX_URL_PASSWORD
              "@db.example/app\"}}"},
      &cfg));
  assert_ok(roster_config_load(cfg));
  assert_ok(roster_register(f->r, NULL, "config", &roster_config_type, cfg));

  /* a memory cache, a scheduler, a logger, a Socket.IO server */
  roster_cache *c = NULL;
  assert_ok(roster_cache_memory_new(NULL, NULL, &c));
  assert_ok(roster_register(f->r, NULL, "cache\nnl", &roster_cache_type, c));
  assert_ok(roster_cache_set_int(c, "k", 1, 7, 0));
  int64_t v;
  assert_ok(roster_cache_get_int(c, "k", 1, &v));
  assert_ok(roster_sched_new(&(roster_sched_options){.workers = 1}, &f->sched));
  assert_ok(roster_sched_add(f->sched, "tick", "0 0 1 1 *", count_run,
                             &f->job_runs, NULL));
  assert_ok(roster_sched_start(f->sched));
  assert_ok(roster_register(f->r, NULL, "cron", &roster_sched_type, f->sched));
  f->null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  assert_true(f->null_fd >= 0);
  roster_log_sink sink = {.kind = ROSTER_LOG_SINK_FD, .fd = f->null_fd};
  assert_ok(roster_log_new(
      &(roster_log_options){.name = "app", .sinks = &sink, .nsinks = 1},
      &f->log));
  assert_ok(roster_log_register(f->r, NULL, "log", f->log));
  roster_socketio *io = NULL;
  assert_ok(roster_socketio_new(NULL, &io));
  assert_ok(roster_register(f->r, NULL, "rt", &roster_socketio_type, io));

  assert_ok(roster_start(f->r, 10000));
  roster_admin_options ao = o ? *o : (roster_admin_options){0};
  ao.log = f->log;
  assert_ok(roster_admin_new(f->r, &ao, &f->admin));
  assert_ok(roster_admin_start(f->admin));
  f->port = roster_admin_port(f->admin);
}

void fx_teardown(fx *f) {
  roster_admin_free(f->admin);
  roster_free(f->r);
  roster_log_free(f->log);
  close(f->null_fd);
}

static int request(uint16_t port, const char *raw, hc_resp *r) {
  memset(r, 0, sizeof *r);
  return hc_request(port, raw, r);
}

int fx_get(uint16_t port, const char *path, const char *accept, hc_resp *r) {
  char raw[1024];
  snprintf(raw, sizeof raw,
           "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%sConnection: "
           "close\r\n\r\n",
           path, accept ? "Accept: " : "", accept ? accept : "",
           accept ? "\r\n" : "");
  return request(port, raw, r);
}

int fx_post(uint16_t port, const char *path, const char *auth, const char *body,
            hc_resp *r) {
  char raw[2048];
  snprintf(raw, sizeof raw,
           "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%sContent-Type: "
           "application/json\r\nContent-Length: %zu\r\nConnection: "
           "close\r\n\r\n%s",
           path, auth ? "Authorization: " : "", auth ? auth : "",
           auth ? "\r\n" : "", strlen(body), body);
  return request(port, raw, r);
}
