/*
 * test_httpd_http.c: the HTTP side of the httpd module over raw sockets:
 * routes by prefix, keep-alive and pipelining, Content-Length and chunked
 * bodies, Expect: 100-continue, HTTP/1.0, the error answers that close
 * only their own connection (400, 404, 413, 431), the idle timeout, the
 * connection bound, held requests answered from another thread, on_abort
 * when the client leaves or the server stops, and the stats.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include <roster/httpd.h>

#include "httpd_client.h"

static roster_httpd_request *_Atomic g_held;
static atomic_int g_aborts;

static void h_hello(roster_httpd_request *req, void *arg) {
  (void)arg;
  const char *hv[] = {"Content-Type", "text/plain", NULL};
  assert_ok(roster_httpd_respond(req, 200, hv, "hello", 5));
}

static void h_echo(roster_httpd_request *req, void *arg) {
  (void)arg;
  size_t n;
  const void *body = roster_httpd_request_body(req, &n);
  const char *xt = roster_httpd_request_header(req, "x-test");
  const char *hv[] = {"X-Method", roster_httpd_request_method(req),
                      "X-Path",   roster_httpd_request_path(req),
                      "X-Query",  roster_httpd_request_query(req),
                      "X-Test",   xt ? xt : "(none)",
                      NULL};
  assert_ok(roster_httpd_respond(req, 200, hv, body, n));
}

static void h_hold(roster_httpd_request *req, void *arg) {
  (void)arg;
  atomic_store(&g_held, req); /* answered by the test's thread */
}

static void h_abort(roster_httpd_request *req, void *arg) {
  (void)arg;
  (void)req;
  atomic_fetch_add(&g_aborts, 1);
}

static void h_badheader(roster_httpd_request *req, void *arg) {
  (void)arg;
  const char *hv[] = {"X-Evil", "a\r\nInjected: yes", NULL};
  assert_rc(roster_httpd_respond(req, 200, hv, "x", 1), ROSTER_EINVAL);
}

static roster_httpd *start(const roster_httpd_options *o) {
  roster_httpd *s;
  assert_ok(roster_httpd_new(o, &s));
  roster_httpd_route_options r[] = {
      {.prefix = "/hello", .handler = h_hello},
      {.prefix = "/", .handler = h_echo},
      {.prefix = "/hold", .handler = h_hold, .on_abort = h_abort},
      {.prefix = "/badheader", .handler = h_badheader}};
  for (size_t i = 0; i < sizeof r / sizeof *r; i++)
    assert_ok(roster_httpd_route(s, &r[i]));
  assert_rc(roster_httpd_route(s, &r[0]), ROSTER_EEXIST);
  assert_ok(roster_httpd_start(s));
  assert_rc(
      roster_httpd_route(s, &(roster_httpd_route_options){.prefix = "/late",
                                                          .handler = h_hello}),
      ROSTER_ESTATE);
  atomic_store(&g_held, NULL);
  atomic_store(&g_aborts, 0);
  return s;
}

static roster_httpd_request *wait_held(void) {
  roster_httpd_request *req = NULL;
  for (int i = 0; i < 500 && !(req = atomic_load(&g_held)); i++)
    roster__tu_sleep_ms(10);
  assert_non_null(req);
  atomic_store(&g_held, NULL);
  return req;
}

static void t_keep_alive(void **state) {
  (void)state;
  roster_httpd *s = start(NULL);
  int fd = hc_connect(roster_httpd_port(s));
  assert_true(fd >= 0);
  hc_resp r;
  char v[64];
  for (int i = 0; i < 3; i++) {
    assert_true(hc_sends(fd, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert_int_equal(hc_read_response(fd, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "hello");
    assert_string_equal(hc_header(&r, "Connection", v, sizeof v), "keep-alive");
    hc_resp_free(&r);
  }
  /* Prefixes: the longest wins; "/" takes the rest. */
  assert_true(hc_sends(fd, "GET /other/x?a=1&b=2 HTTP/1.1\r\nX-Test: t1\r\n"
                           "Host: x\r\n\r\n"));
  assert_int_equal(hc_read_response(fd, &r), 0);
  assert_string_equal(hc_header(&r, "X-Path", v, sizeof v), "/other/x");
  assert_string_equal(hc_header(&r, "X-Query", v, sizeof v), "a=1&b=2");
  assert_string_equal(hc_header(&r, "X-Test", v, sizeof v), "t1");
  hc_resp_free(&r);
  close(fd);
  roster_httpd_stats st;
  assert_ok(roster_httpd_stats_get(s, &st));
  assert_int_equal(st.requests, 4);
  assert_int_equal(st.connections_total, 1);
  roster_httpd_free(s);
}

static void t_bodies(void **state) {
  (void)state;
  roster_httpd *s = start(NULL);
  uint16_t port = roster_httpd_port(s);
  hc_resp r;
  char v[64];
  assert_int_equal(hc_request(port,
                              "POST /e HTTP/1.1\r\nHost: x\r\n"
                              "Content-Length: 11\r\n\r\nhello world",
                              &r),
                   200);
  assert_string_equal(r.body, "hello world");
  assert_string_equal(hc_header(&r, "X-Method", v, sizeof v), "POST");
  hc_resp_free(&r);
  /* Chunked bodies are decoded. */
  assert_int_equal(hc_request(port,
                              "POST /e HTTP/1.1\r\nHost: x\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n"
                              "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
                              &r),
                   200);
  assert_string_equal(r.body, "hello world");
  hc_resp_free(&r);
  /* Expect: 100-continue gets its interim answer. */
  int fd = hc_connect(port);
  assert_true(hc_sends(fd, "PUT /e HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                           "Expect: 100-continue\r\n\r\n"));
  assert_int_equal(hc_read_response(fd, &r), 0);
  assert_int_equal(r.status, 100);
  hc_resp_free(&r);
  assert_true(hc_sends(fd, "abc"));
  assert_int_equal(hc_read_response(fd, &r), 0);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "abc");
  hc_resp_free(&r);
  close(fd);
  /* HEAD: the length, no body. */
  fd = hc_connect(port);
  assert_true(hc_sends(fd, "HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n"
                           "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  char head[512];
  ssize_t got = 0, n;
  while (got < 120 && (n = read(fd, head + got, sizeof head - 1 - got)) > 0)
    got += n;
  head[got] = '\0';
  assert_contains(head, "Content-Length: 5\r\nConnection: keep-alive\r\n\r\n"
                        "HTTP/1.1 200 OK");
  close(fd);
  roster_httpd_free(s);
}

static void t_pipelined(void **state) {
  (void)state;
  roster_httpd *s = start(NULL);
  int fd = hc_connect(roster_httpd_port(s));
  assert_true(hc_sends(fd, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                           "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2"
                           "\r\n\r\nhiGET /c HTTP/1.1\r\nHost: x\r\n\r\n"));
  const char *want[] = {"/a", "/b", "/c"};
  for (int i = 0; i < 3; i++) {
    hc_resp r;
    char v[64];
    assert_int_equal(hc_read_response(fd, &r), 0);
    assert_string_equal(hc_header(&r, "X-Path", v, sizeof v), want[i]);
    hc_resp_free(&r);
  }
  close(fd);
  roster_httpd_free(s);
}

/* bad: raw gets status, then the connection closes; the server still
 * answers a good request on a new one. */
static void bad(roster_httpd *s, const char *raw, int status) {
  int fd = hc_connect(roster_httpd_port(s));
  hc_resp r;
  assert_true(hc_sends(fd, raw));
  assert_int_equal(hc_read_response(fd, &r), 0);
  assert_int_equal(r.status, status);
  char v[32];
  assert_string_equal(hc_header(&r, "Connection", v, sizeof v), "close");
  hc_resp_free(&r);
  assert_true(hc_closed(fd, 3000));
  close(fd);
  assert_int_equal(
      hc_request(roster_httpd_port(s), "GET /hello HTTP/1.1\r\n\r\n", &r), 200);
  hc_resp_free(&r);
}

static void t_bad_requests(void **state) {
  (void)state;
  roster_httpd_options o = {.max_head = 1024, .max_body = 100};
  roster_httpd *s = start(&o);
  bad(s, "GARBAGE\r\n\r\n", 400);
  bad(s, "GET /x HTTP/1.1\r\nBad Header\r\n\r\n", 400);
  bad(s, "GET http://example.com/ HTTP/1.1\r\n\r\n", 400);
  bad(s, "GET /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
      400);
  bad(s, "POST /x HTTP/1.1\r\nContent-Length: 101\r\n\r\n", 413);
  char big[512];
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  char raw[2048];
  snprintf(raw, sizeof raw,
           "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
           "1ff\r\n%s\r\n0\r\n\r\n",
           big);
  bad(s, raw, 413); /* the decoded size counts */
  snprintf(raw, sizeof raw, "GET /x HTTP/1.1\r\nX-A: %s\r\nX-B: %s\r\n\r\n",
           big, big);
  bad(s, raw, 431);
  snprintf(raw, sizeof raw, "GET /%s%s%s HTTP/1.1\r\n\r\n", big, big, big);
  bad(s, raw, 431);
  /* A route's answer with a header that would inject another: 500. */
  hc_resp r;
  assert_int_equal(
      hc_request(roster_httpd_port(s), "GET /badheader HTTP/1.1\r\n\r\n", &r),
      500);
  assert_null(strstr(r.head, "Injected"));
  hc_resp_free(&r);
  roster_httpd_stats st;
  assert_ok(roster_httpd_stats_get(s, &st));
  assert_int_equal(st.bad_requests, 8);
  roster_httpd_free(s);
}

static void t_not_found_and_http10(void **state) {
  (void)state;
  roster_httpd_options o = {0};
  roster_httpd *s;
  assert_ok(roster_httpd_new(&o, &s));
  assert_ok(roster_httpd_route(s, &(roster_httpd_route_options){
                                      .prefix = "/hello", .handler = h_hello}));
  assert_ok(roster_httpd_start(s));
  bad(s, "GET /nothing HTTP/1.1\r\n\r\n", 404);
  int fd = hc_connect(roster_httpd_port(s));
  hc_resp r;
  assert_true(hc_sends(fd, "GET /hello HTTP/1.0\r\n\r\n"));
  assert_int_equal(hc_read_response(fd, &r), 0);
  assert_int_equal(r.status, 200);
  hc_resp_free(&r);
  assert_true(hc_closed(fd, 3000)); /* 1.0 without keep-alive */
  close(fd);
  roster_httpd_free(s);
}

typedef struct answer_arg {
  roster_httpd_request *req;
  int rc;
} answer_arg;

static void *answer_later(void *p) {
  answer_arg *a = p;
  roster__tu_sleep_ms(100);
  a->rc = roster_httpd_respond(a->req, 202, NULL, "later", 5);
  return NULL;
}

static void t_held_from_another_thread(void **state) {
  (void)state;
  roster_httpd_options o = {.idle_timeout_ms = 100};
  roster_httpd *s = start(&o);
  int fd = hc_connect(roster_httpd_port(s));
  assert_true(hc_sends(fd, "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n"
                           "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  answer_arg a = {.req = wait_held()};
  roster__tu_sleep_ms(
      300); /* longer than the idle timeout: held requests stay */
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, answer_later, &a), 0);
  hc_resp r;
  assert_int_equal(hc_read_response(fd, &r), 0);
  assert_int_equal(r.status, 202);
  assert_string_equal(r.body, "later");
  hc_resp_free(&r);
  pthread_join(t, NULL);
  assert_ok(a.rc);
  /* The pipelined request waited its turn. */
  assert_int_equal(hc_read_response(fd, &r), 0);
  assert_string_equal(r.body, "hello");
  hc_resp_free(&r);
  /* Idle now: the timeout closes it. */
  assert_true(hc_closed(fd, 3000));
  close(fd);
  assert_int_equal(atomic_load(&g_aborts), 0);
  roster_httpd_free(s);
}

static void t_abort(void **state) {
  (void)state;
  roster_httpd *s = start(NULL);
  int fd = hc_connect(roster_httpd_port(s));
  assert_true(hc_sends(fd, "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n"));
  roster_httpd_request *req = wait_held();
  close(fd); /* the client leaves */
  assert_eventually_equal(atomic_load(&g_aborts), 1, 3000);
  assert_string_equal(roster_httpd_request_path(req), "/hold");
  assert_rc(roster_httpd_respond(req, 200, NULL, NULL, 0), ROSTER_ESTATE);

  /* Stopping with a held request: on_abort, then the answer is
   * discarded after the stop. */
  fd = hc_connect(roster_httpd_port(s));
  assert_true(hc_sends(fd, "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n"));
  req = wait_held();
  assert_ok(roster_httpd_stop(s, 200));
  assert_int_equal(atomic_load(&g_aborts), 2);
  assert_true(hc_closed(fd, 3000));
  close(fd);
  assert_rc(roster_httpd_respond(req, 200, NULL, NULL, 0), ROSTER_ESTATE);
  assert_ok(roster_httpd_stop(s, 0)); /* a second stop */
  roster_httpd_free(s);
}

static void t_stop_answers_held(void **state) {
  (void)state;
  roster_httpd *s = start(NULL);
  int fd = hc_connect(roster_httpd_port(s));
  assert_true(hc_sends(fd, "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n"));
  answer_arg a = {.req = wait_held()};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, answer_later, &a), 0);
  /* The stop waits (up to its deadline) for the held answer. */
  assert_ok(roster_httpd_stop(s, 5000));
  pthread_join(t, NULL);
  assert_ok(a.rc);
  hc_resp r;
  assert_int_equal(hc_read_response(fd, &r), 0);
  assert_int_equal(r.status, 202);
  char v[32];
  assert_string_equal(hc_header(&r, "Connection", v, sizeof v), "close");
  hc_resp_free(&r);
  close(fd);
  int c2 = hc_connect(roster_httpd_port(s));
  assert_int_equal(c2, -1); /* no longer listening */
  roster_httpd_free(s);
}

static void t_limits(void **state) {
  (void)state;
  roster_httpd_options o = {.max_connections = 2, .idle_timeout_ms = 200};
  roster_httpd *s = start(&o);
  uint16_t port = roster_httpd_port(s);
  int a = hc_connect(port), b = hc_connect(port);
  hc_resp r;
  assert_true(hc_sends(a, "GET /hello HTTP/1.1\r\n\r\n"));
  assert_int_equal(hc_read_response(a, &r), 0);
  hc_resp_free(&r);
  assert_true(hc_sends(b, "GET /hello HTTP/1.1\r\n\r\n"));
  assert_int_equal(hc_read_response(b, &r), 0);
  hc_resp_free(&r);
  int c = hc_connect(port);
  assert_true(hc_closed(c, 3000)); /* over max_connections */
  close(c);
  /* Idle connections close after the timeout, partial requests too. */
  assert_true(hc_sends(b, "GET /hello HT"));
  assert_true(hc_closed(a, 3000));
  assert_true(hc_closed(b, 3000));
  close(a);
  close(b);
  roster_httpd_stats st;
  assert_ok(roster_httpd_stats_get(s, &st));
  assert_int_equal(st.connections_refused, 1);
  tu_wait_until((roster_httpd_stats_get(s, &st), st.connections_open == 0),
                3000);
  assert_int_equal(st.connections_open, 0);
  roster_httpd_free(s);
}

static void t_errors(void **state) {
  (void)state;
  roster_httpd *s;
  assert_rc(roster_httpd_new(NULL, NULL), ROSTER_EINVAL);
  assert_rc(roster_httpd_new(&(roster_httpd_options){.host = "localhost"}, &s),
            ROSTER_EINVAL);
  assert_null(s);
  assert_ok(roster_httpd_new(&(roster_httpd_options){.host = "::1"}, &s));
  assert_true(roster_httpd_port(s) > 0);
  uint16_t taken = roster_httpd_port(s);
  roster_httpd *s2;
  assert_rc(roster_httpd_new(
                &(roster_httpd_options){.host = "::1", .port = taken}, &s2),
            ROSTER_ESYS);
  assert_rc(roster_httpd_route(s, &(roster_httpd_route_options){.prefix = ""}),
            ROSTER_EINVAL);
  roster_httpd_free(s); /* never started */
  roster_httpd_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_keep_alive),
      cmocka_unit_test(t_bodies),
      cmocka_unit_test(t_pipelined),
      cmocka_unit_test(t_bad_requests),
      cmocka_unit_test(t_not_found_and_http10),
      cmocka_unit_test(t_held_from_another_thread),
      cmocka_unit_test(t_abort),
      cmocka_unit_test(t_stop_answers_held),
      cmocka_unit_test(t_limits),
      cmocka_unit_test(t_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
