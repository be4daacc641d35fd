/*
 * test_http_resilience.c: the HTTP client's behaviour when the server
 * misbehaves, against the test servers of http_server.c (started here).
 *
 * - Retry-After on 503 and 429, in seconds and as an HTTP date, waited
 *   for; one past retry_after_max returned at once; backoff without it;
 *   retries exhausted.
 * - The circuit breaker: opens after N failures in a row, fails fast
 *   without I/O, half-open after the cool-down lets one trial through,
 *   which closes it (or opens it again).
 * - Timeouts: a server that never answers; a slot that stays busy.
 * - A server that is down: a clear ECONN after every retry.
 * - A server that drops connections: GET is retried, POST never.
 * - https:// to a plain HTTP server: EPROTO, not retried.
 * - Many threads on one client: every answer right, connections bounded
 *   by max_connections and reused.
 */
#include "testutil.h"

#include "http_server.h"

#include <pthread.h>
#include <roster/http.h>

static int reset(void **state) {
  (void)state;
  atomic_store(&hs_srv.hits, 0);
  atomic_store(&hs_srv.status, 200);
  atomic_store(&hs_srv.fail_first, 0);
  atomic_store(&hs_srv.fail_status, 503);
  atomic_store(&hs_srv.retry_after, -1);
  atomic_store(&hs_srv.retry_date, false);
  return 0;
}

static roster_http_response *get(roster_http *c, const char *path) {
  roster_http_response *r = NULL;
  assert_ok(roster_http_request(c, &(roster_http_req){.path = path}, &r));
  return r;
}

static uint64_t ms_since(uint64_t t0) {
  return (roster__tu_now_ns() - t0) / 1000000;
}

/* ---- retries ---- */

static void t_retry_after(void **state) {
  (void)state;
  roster_http *c = hs_client((roster_http_options){.retries = 3});
  atomic_store(&hs_srv.fail_first, 2);
  atomic_store(&hs_srv.retry_after, 1);
  uint64_t t0 = roster__tu_now_ns();
  roster_http_response *r = get(c, "/flaky");
  uint64_t took = ms_since(t0);
  assert_int_equal(r->status, 200);
  assert_int_equal(r->attempts, 3);
  assert_int_equal(atomic_load(&hs_srv.hits), 3);
  assert_true(took >= 1900); /* two waits of 1 s, as asked */
  assert_true(took < 10000);
  roster_http_response_free(r);
  roster_http_stats st;
  assert_ok(roster_http_stats_get(c, &st));
  assert_int_equal(st.retries, 2);
  assert_int_equal(st.ok, 1);
  assert_int_equal(st.requests, 1);
  roster_http_free(c);
}

static void t_retry_after_date(void **state) {
  (void)state;
  roster_http *c = hs_client((roster_http_options){.retries = 1});
  atomic_store(&hs_srv.fail_first, 1);
  atomic_store(&hs_srv.fail_status, 429);
  atomic_store(&hs_srv.retry_after, 1);
  atomic_store(&hs_srv.retry_date, true);
  uint64_t t0 = roster__tu_now_ns();
  roster_http_response *r = get(c, "/flaky");
  assert_int_equal(r->status, 200);
  assert_int_equal(r->attempts, 2);
  assert_true(ms_since(t0) < 5000);
  roster_http_response_free(r);
  roster_http_free(c);
}

static void t_retry_after_too_long(void **state) {
  (void)state;
  roster_http *c = hs_client(
      (roster_http_options){.retries = 3, .retry_after_max_ms = 2000});
  atomic_store(&hs_srv.fail_first, 1);
  atomic_store(&hs_srv.retry_after, 3600);
  uint64_t t0 = roster__tu_now_ns();
  roster_http_response *r = get(c, "/flaky");
  assert_true(ms_since(t0) < 1000);
  assert_int_equal(r->status, 503); /* returned, not waited for */
  assert_int_equal(r->attempts, 1);
  assert_string_equal(roster_http_response_header(r, "Retry-After"), "3600");
  roster_http_response_free(r);
  roster_http_stats st;
  assert_ok(roster_http_stats_get(c, &st));
  assert_int_equal(st.status_5xx, 1);
  roster_http_free(c);
}

static void t_backoff(void **state) {
  (void)state;
  /* 429 without Retry-After: backoff 20 ms, 40 ms (each in [d/2, d]) */
  roster_http *c = hs_client((roster_http_options){
      .retries = 2, .retry_base_ms = 20, .retry_max_ms = 40});
  atomic_store(&hs_srv.fail_first, 2);
  atomic_store(&hs_srv.fail_status, 429);
  uint64_t t0 = roster__tu_now_ns();
  roster_http_response *r = get(c, "/flaky");
  uint64_t took = ms_since(t0);
  assert_int_equal(r->status, 200);
  assert_int_equal(r->attempts, 3);
  assert_true(took >= 30);
  roster_http_response_free(r);
  /* exhausted: the last answer is returned */
  reset(NULL);
  atomic_store(&hs_srv.status, 503);
  r = get(c, "/status");
  assert_int_equal(r->status, 503);
  assert_int_equal(r->attempts, 3);
  assert_int_equal(atomic_load(&hs_srv.hits), 3);
  roster_http_response_free(r);
  /* other statuses are never retried */
  reset(NULL);
  atomic_store(&hs_srv.status, 500);
  r = get(c, "/status");
  assert_int_equal(r->attempts, 1);
  roster_http_response_free(r);
  roster_http_free(c);
}

/* ---- the breaker ---- */

static void t_breaker(void **state) {
  (void)state;
  roster_http *c = hs_client((roster_http_options){
      .retries = -1, .breaker_failures = 3, .breaker_cooldown_ms = 1000});
  atomic_store(&hs_srv.status, 500);
  roster_http_response *r;
  for (int i = 0; i < 3; i++) {
    r = get(c, "/status");
    assert_int_equal(r->status, 500);
    roster_http_response_free(r);
  }
  roster_http_stats st;
  assert_ok(roster_http_stats_get(c, &st));
  assert_int_equal(st.breaker, ROSTER_HTTP_BREAKER_OPEN);
  assert_int_equal(st.breaker_opened, 1);
  assert_rc(roster_http_health(c), ROSTER_EBUSY);
  /* open: fails at once, nothing sent */
  assert_rc(roster_http_request(c, &(roster_http_req){.path = "/status"}, &r),
            ROSTER_EBUSY);
  assert_null(r);
  assert_contains(roster_last_error(), "circuit breaker is open after 3");
  assert_int_equal(atomic_load(&hs_srv.hits), 3);
  /* half-open: the trial fails, open again */
  roster__tu_sleep_ms(1100);
  assert_ok(roster_http_stats_get(c, &st));
  assert_int_equal(st.breaker, ROSTER_HTTP_BREAKER_HALF_OPEN);
  r = get(c, "/status");
  assert_int_equal(r->status, 500);
  roster_http_response_free(r);
  assert_rc(roster_http_request(c, &(roster_http_req){.path = "/status"}, NULL),
            ROSTER_EBUSY);
  assert_int_equal(atomic_load(&hs_srv.hits), 4);
  /* half-open again: the trial succeeds, closed */
  roster__tu_sleep_ms(1100);
  atomic_store(&hs_srv.status, 200);
  r = get(c, "/status");
  assert_int_equal(r->status, 200);
  roster_http_response_free(r);
  assert_ok(roster_http_stats_get(c, &st));
  assert_int_equal(st.breaker, ROSTER_HTTP_BREAKER_CLOSED);
  assert_int_equal(st.breaker_opened, 2);
  assert_int_equal(st.errors_breaker, 2);
  assert_int_equal(st.status_5xx, 4);
  assert_ok(roster_http_health(c));
  /* 4xx is no failure: it never opens */
  atomic_store(&hs_srv.status, 404);
  for (int i = 0; i < 5; i++)
    roster_http_response_free(get(c, "/status"));
  assert_ok(roster_http_stats_get(c, &st));
  assert_int_equal(st.breaker, ROSTER_HTTP_BREAKER_CLOSED);
  roster_http_free(c);
}

/* ---- timeouts ---- */

typedef struct held_call {
  roster_http *c;
  int rc;
} held_call;

static void *hold_thread(void *arg) {
  held_call *h = arg;
  h->rc = roster_http_request(
      h->c, &(roster_http_req){.path = "/hold", .timeout_ms = 800}, NULL);
  return NULL;
}

static void t_timeouts(void **state) {
  (void)state;
  roster_http *c =
      hs_client((roster_http_options){.timeout_ms = 300, .max_connections = 1});
  uint64_t t0 = roster__tu_now_ns();
  roster_http_response *r = NULL;
  assert_rc(roster_http_request(c, &(roster_http_req){.path = "/hold"}, &r),
            ROSTER_ETIMEDOUT);
  assert_null(r);
  uint64_t took = ms_since(t0);
  assert_true(took >= 250 && took < 3000);
  assert_contains(roster_last_error(), "GET /hold:");
  assert_int_equal(atomic_load(&hs_srv.hits), 1); /* a timeout is not retried */
  /* the one slot stays busy: a second request waits its timeout */
  held_call h = {.c = c};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, hold_thread, &h), 0);
  tu_wait_until(atomic_load(&hs_srv.hits) == 2, 2000);
  assert_rc(roster_http_request(
                c, &(roster_http_req){.path = "/", .timeout_ms = 100}, &r),
            ROSTER_ETIMEDOUT);
  assert_contains(roster_last_error(), "all 1 connections stayed busy");
  pthread_join(t, NULL);
  assert_rc(h.rc, ROSTER_ETIMEDOUT);
  roster_http_stats st;
  assert_ok(roster_http_stats_get(c, &st));
  assert_int_equal(st.errors_timeout, 3);
  roster_http_free(c);
}

/* ---- a server down, a server dropping connections ---- */

static void t_down(void **state) {
  (void)state;
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", roster__tu_free_port());
  roster_http *c = hs_client((roster_http_options){
      .name = "gone", .base_url = url, .retries = 2, .retry_base_ms = 10});
  roster_http_response *r = (roster_http_response *)1;
  assert_rc(roster_http_request(c, &(roster_http_req){.path = "/x"}, &r),
            ROSTER_ECONN);
  assert_null(r);
  assert_contains(roster_last_error(), "HTTP client 'gone': GET /x: ");
  assert_contains(roster_last_error(), "onnect");
  assert_contains(roster_last_error(), "(3 attempts)");
  roster_http_stats st;
  assert_ok(roster_http_stats_get(c, &st));
  assert_int_equal(st.retries, 2);
  assert_int_equal(st.errors_connect, 1);
  assert_int_equal(st.connections_open, 0);
  roster_http_free(c);
  /* a name that does not resolve: not retried */
  c = hs_client((roster_http_options){.base_url = "http://no-such-host.invalid",
                                      .retry_base_ms = 10});
  assert_rc(roster_http_request(c, &(roster_http_req){0}, NULL), ROSTER_ECONN);
  assert_contains(roster_last_error(), "(1 attempt)");
  roster_http_free(c);
}

static void t_drop(void **state) {
  (void)state;
  drop d;
  drop_start(&d);
  roster_http *c = hs_client((roster_http_options){
      .base_url = d.base, .retries = 2, .retry_base_ms = 5});
  assert_rc(roster_http_request(c, &(roster_http_req){.path = "/g"}, NULL),
            ROSTER_ECONN);
  assert_contains(roster_last_error(), "(3 attempts)");
  tu_wait_until(atomic_load(&d.accepted) == 3, 2000);
  assert_int_equal(atomic_load(&d.accepted), 3);
  /* POST may have run: never sent twice */
  assert_rc(
      roster_http_request(
          c, &(roster_http_req){.method = "POST", .body = "pay", .body_len = 3},
          NULL),
      ROSTER_ECONN);
  assert_contains(roster_last_error(), "(1 attempt)");
  roster__tu_sleep_ms(50);
  assert_int_equal(atomic_load(&d.accepted), 4);
  roster_http_free(c);
  drop_stop(&d);
}

/* https:// to a server that speaks plain HTTP: a TLS failure, EPROTO,
 * not retried. */
static void t_tls_mismatch(void **state) {
  (void)state;
  char url[64];
  snprintf(url, sizeof url, "https://127.0.0.1:%u", hs_srv.port);
  roster_http *c = hs_client((roster_http_options){
      .name = "tls", .base_url = url, .retry_base_ms = 5});
  assert_rc(roster_http_request(c, &(roster_http_req){.path = "/t"}, NULL),
            ROSTER_EPROTO);
  assert_contains(roster_last_error(), "HTTP client 'tls': GET /t: ");
  assert_contains(roster_last_error(), "(1 attempt)");
  roster_http_stats st;
  assert_ok(roster_http_stats_get(c, &st));
  assert_int_equal(st.errors_protocol, 1);
  assert_int_equal(st.retries, 0);
  roster_http_free(c);
}

/* ---- threads ---- */

#define THREADS 8
#define CALLS 40

typedef struct worker {
  roster_http *c;
  int id, ok;
} worker;

static void *work(void *arg) {
  worker *w = arg;
  for (int i = 0; i < CALLS; i++) {
    char body[32], q[16];
    int n = snprintf(body, sizeof body, "w%d-%d", w->id, i);
    snprintf(q, sizeof q, "%d", i);
    roster_http_response *r = NULL;
    if (roster_http_request(
            w->c,
            &(roster_http_req){.method = "POST",
                               .path = "/t",
                               .query = (const char *[]){"i", q, NULL},
                               .body = body,
                               .body_len = (size_t)n},
            &r) == ROSTER_OK &&
        r->status == 200 && r->body_len == (size_t)n &&
        memcmp(r->body, body, (size_t)n) == 0)
      w->ok++;
    roster_http_response_free(r);
  }
  return NULL;
}

static uint64_t server_open(void) {
  roster_httpd_stats s;
  roster_httpd_stats_get(hs_srv.srv, &s);
  return s.connections_open;
}

static void t_threads(void **state) {
  (void)state;
  roster_httpd_stats before;
  assert_ok(roster_httpd_stats_get(hs_srv.srv, &before));
  roster_http *c = hs_client((roster_http_options){.max_connections = 4});
  pthread_t t[THREADS];
  worker w[THREADS];
  for (int i = 0; i < THREADS; i++) {
    w[i] = (worker){.c = c, .id = i};
    assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
  }
  for (int i = 0; i < THREADS; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(w[i].ok, CALLS);
  }
  roster_http_stats st;
  assert_ok(roster_http_stats_get(c, &st));
  assert_int_equal(st.requests, THREADS * CALLS);
  assert_int_equal(st.ok, THREADS * CALLS);
  assert_true(st.connections_total >= 1);
  assert_true(st.connections_total <= 4);
  assert_true(st.connections_open <= 4);
  roster_httpd_stats after;
  assert_ok(roster_httpd_stats_get(hs_srv.srv, &after));
  assert_true(after.connections_total - before.connections_total <= 4);
  roster_http_free(c);
  assert_eventually_equal(server_open(), 0, 2000); /* closed by free */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(t_retry_after, reset),
      cmocka_unit_test_setup(t_retry_after_date, reset),
      cmocka_unit_test_setup(t_retry_after_too_long, reset),
      cmocka_unit_test_setup(t_backoff, reset),
      cmocka_unit_test_setup(t_breaker, reset),
      cmocka_unit_test_setup(t_timeouts, reset),
      cmocka_unit_test_setup(t_down, reset),
      cmocka_unit_test_setup(t_drop, reset),
      cmocka_unit_test_setup(t_tls_mismatch, reset),
      cmocka_unit_test_setup(t_threads, reset),
  };
  return cmocka_run_group_tests(tests, hs_setup, hs_teardown);
}
