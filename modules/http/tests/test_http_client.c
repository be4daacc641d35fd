/*
 * test_http_client.c: the HTTP client (roster/http.h) against a test
 * server on roster's httpd module (http_server.c), started by the test.
 *
 * - Options: every bad one is ROSTER_EINVAL/EPARSE naming the problem,
 *   *out NULL, never a secret in the detail.
 * - Requests: methods, paths, the query percent-encoded, default headers
 *   and a request's own winning over them, the answer's headers.
 * - Bodies: empty, binary with NULs, 1 MiB up, 8 MiB down, max_body.
 * - Streaming to a callback, and a callback that stops it.
 * - JSON in and out; a status outside 2xx; an answer that is not JSON.
 * - Auth: bearer and basic (options or the URL's user info) reach the
 *   server, and no secret shows in an error detail or the service's URL.
 * - Redirects followed (or not, with no_redirects).
 * - The driver: http:// declares a client service found by
 *   roster_http_find; same name and URL is the same service; health; a
 *   `services:` config entry with headers and a token, whose dump hides
 *   the token and the Authorization header.
 */
#include "testutil.h"

#include "http_server.h"

#include <jansson.h>
#include <roster/driver.h>
#include <roster/http.h>
#include <stdlib.h>
#include <unistd.h>

static roster_http_response *call(roster_http *c, roster_http_req req) {
  roster_http_response *r = NULL;
  assert_ok(roster_http_request(c, &req, &r));
  assert_non_null(r);
  return r;
}

#define SECRETS "tok-S3CRET", "pw-S3CRET", "key-S3CRET"

static void assert_no_secret(const char *text) {
  const char *s[] = {SECRETS};
  for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
    if (text && strstr(text, s[i])) {
      print_error("a secret shows in: %s\n", text);
      fail();
    }
}

/* ---- options ---- */

static void bad_new(roster_http_options o, int want, const char *says) {
  roster_http *c = (roster_http *)1;
  int rc = roster_http_new(&o, &c);
  if (rc != want) {
    print_error("%s: got %s, want %s (%s)\n", o.base_url ? o.base_url : "-",
                roster_err_name(rc), roster_err_name(want),
                roster_last_error());
    fail();
  }
  assert_null(c);
  assert_contains(roster_last_error(), says);
  assert_no_secret(roster_last_error());
}

static void t_new_errors(void **state) {
  (void)state;
  roster_http *c = (roster_http *)1;
  assert_rc(roster_http_new(NULL, &c), ROSTER_EINVAL);
  assert_null(c);
  assert_rc(roster_http_new(&(roster_http_options){0}, NULL), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "roster_http_new: out is NULL");
  bad_new((roster_http_options){0}, ROSTER_EINVAL, "base_url is required");
  bad_new((roster_http_options){.base_url = "ftp://h/x"}, ROSTER_EINVAL,
          "must be http or https");
  bad_new((roster_http_options){.base_url = "http://u:pw-S3CRET@h/x?a=1"},
          ROSTER_EINVAL, "query or fragment");
  bad_new((roster_http_options){.base_url = "http://h/x#f"}, ROSTER_EINVAL,
          "query or fragment");
  bad_new((roster_http_options){.base_url = "http://u:pw-S3CRET@h:99999/"},
          ROSTER_EPARSE, "base URL");
  bad_new((roster_http_options){.base_url = "http:///nohost"}, ROSTER_EINVAL,
          "no host");
  const char *h1[] = {"X-Bad Name", "v", NULL};
  bad_new((roster_http_options){.base_url = "http://h", .headers = h1},
          ROSTER_EINVAL, "default header 1");
  const char *h2[] = {"X-Ok", "key-S3CRET\r\nX-Evil: 1", NULL};
  bad_new((roster_http_options){.base_url = "http://h", .headers = h2},
          ROSTER_EINVAL, "default header 1");
  const char *h3[] = {"X-Ok", "v", "X-Alone", NULL};
  bad_new((roster_http_options){.base_url = "http://h", .headers = h3},
          ROSTER_EINVAL, "default header 2 has no value");
  bad_new((roster_http_options){.base_url = "http://h", .probe = "health"},
          ROSTER_EINVAL, "probe path");
  roster_http_free(NULL);
  assert_string_equal(roster_http_name(NULL), "");
}

static void t_bad_requests(void **state) {
  (void)state;
  roster_http *c = hs_client((roster_http_options){.name = "bad"});
  roster_http_response *r = (roster_http_response *)1;
  struct {
    roster_http_req req;
    const char *says;
  } cases[] = {
      {{.method = "get"}, "upper-case"},
      {{.method = "GET /x"}, "upper-case"},
      {{.path = "http://elsewhere/"}, "start with '/'"},
      {{.path = "/a b"}, "without spaces"},
      {{.path = "/a?b=1"}, "req.query"},
      {{.query = (const char *[]){"a", NULL}}, "has no value"},
      {{.headers = (const char *[]){"X", "a\nb", NULL}}, "request header 1"},
      {{.body_len = 3}, "body is NULL"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_rc(roster_http_request(c, &cases[i].req, &r), ROSTER_EINVAL);
    assert_null(r);
    assert_contains(roster_last_error(), cases[i].says);
  }
  assert_rc(roster_http_request(NULL, &cases[0].req, &r), ROSTER_EINVAL);
  assert_rc(roster_http_request(c, NULL, &r), ROSTER_EINVAL);
  roster_http_stats st;
  assert_ok(roster_http_stats_get(c, &st));
  assert_int_equal(st.requests, 0); /* refused before any I/O */
  roster_http_free(c);
}

/* ---- requests ---- */

static void t_echo(void **state) {
  (void)state;
  const char *defaults[] = {"X-Tenant", "acme", "X-Api-Key", "k1", NULL};
  roster_http *c = hs_client((roster_http_options){
      .name = "echo", .base_url = NULL, .headers = defaults});
  /* a base URL with a path and a trailing slash */
  char base[96];
  snprintf(base, sizeof base, "%s/api/", hs_srv.base);
  roster_http *c2 = hs_client((roster_http_options){.base_url = base});

  roster_http_response *r =
      call(c, (roster_http_req){
                  .path = "/things/1",
                  .query = (const char *[]){"q", "a b&c=d", "flag", "", NULL},
                  .headers = (const char *[]){"x-api-key", "k2", NULL}});
  assert_int_equal(r->status, 200);
  assert_int_equal(r->attempts, 1);
  assert_string_equal(roster_http_response_header(r, "x-method"), "GET");
  assert_string_equal(roster_http_response_header(r, "X-Path"), "/things/1");
  assert_string_equal(roster_http_response_header(r, "X-Query"),
                      "q=a%20b%26c%3Dd&flag");
  assert_string_equal(roster_http_response_header(r, "X-Tenant"), "acme");
  assert_string_equal(roster_http_response_header(r, "X-Api-Key"), "k2");
  assert_null(roster_http_response_header(r, "X-Nothing"));
  assert_null(roster_http_response_header(r, "X-Accept-Encoding"));
  assert_true(r->nheaders >= 5);
  assert_int_equal(r->body_len, 0);
  assert_string_equal(r->body, "");
  roster_http_response_free(r);

  const char *methods[] = {"POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
  for (size_t i = 0; i < 5; i++) {
    r = call(c2, (roster_http_req){.method = methods[i],
                                   .path = "/m",
                                   .body = "x",
                                   .body_len = i < 3 ? 1 : 0});
    assert_string_equal(roster_http_response_header(r, "X-Method"), methods[i]);
    assert_string_equal(roster_http_response_header(r, "X-Path"), "/api/m");
    assert_int_equal(r->body_len, i < 3 ? 1 : 0);
    roster_http_response_free(r);
  }
  r = call(c, (roster_http_req){.method = "HEAD", .path = "/h"});
  assert_int_equal(r->status, 200);
  assert_int_equal(r->body_len, 0);
  roster_http_response_free(r);
  /* out NULL: the answer is dropped */
  assert_ok(roster_http_request(c, &(roster_http_req){.path = "/"}, NULL));
  roster_http_stats st;
  assert_ok(roster_http_stats_get(c, &st));
  assert_int_equal(st.requests, 3);
  assert_int_equal(st.ok, 3);
  assert_int_equal(st.retries, 0);
  uint64_t n = 0;
  for (size_t i = 0; i < ROSTER_HTTP_LATENCY_BUCKETS; i++)
    n += st.latency[i];
  assert_int_equal(n, 3);
  assert_int_equal(st.connections_total, 1); /* kept alive, reused */
  roster_http_free(c);
  roster_http_free(c2);
}

/* t_reuse: one handle (max_connections 1) serves every call in turn;
 * nothing of one call (method, body, headers, HEAD) leaks into the next. */
static void t_reuse(void **state) {
  (void)state;
  roster_http *c = hs_client((roster_http_options){.max_connections = 1});
  roster_http_response *r =
      call(c, (roster_http_req){
                  .method = "POST",
                  .body = "abc",
                  .body_len = 3,
                  .headers = (const char *[]){"X-Api-Key", "k9", "Content-Type",
                                              "text/plain", NULL}});
  assert_string_equal(roster_http_response_header(r, "X-Method"), "POST");
  assert_string_equal(roster_http_response_header(r, "X-Api-Key"), "k9");
  assert_int_equal(r->body_len, 3);
  roster_http_response_free(r);
  const char *after[] = {"POST", "PUT", "DELETE", "HEAD", "PATCH"};
  for (size_t i = 0; i < 5; i++) {
    r = call(c, (roster_http_req){.method = after[i],
                                  .body = "xy",
                                  .body_len = i == 3 ? 0 : 2});
    assert_int_equal(r->body_len, i == 3 ? 0 : 2);
    roster_http_response_free(r);
    r = call(c, (roster_http_req){.path = "/g"});
    assert_string_equal(roster_http_response_header(r, "X-Method"), "GET");
    assert_string_equal(roster_http_response_header(r, "X-Path"), "/g");
    assert_null(roster_http_response_header(r, "X-Api-Key"));
    assert_null(roster_http_response_header(r, "X-Type"));
    assert_int_equal(r->body_len, 0);
    roster_http_response_free(r);
    r = call(c, (roster_http_req){.path = "/big",
                                  .query = (const char *[]){"n", "10", NULL}});
    assert_int_equal(r->body_len, 10); /* a HEAD before leaves no NOBODY */
    roster_http_response_free(r);
  }
  /* an answer with more headers than take_answer reads in one walk */
  r = call(c, (roster_http_req){.path = "/many"});
  assert_true(r->nheaders >= 40);
  assert_string_equal(roster_http_response_header(r, "x-h0"), "v0");
  assert_string_equal(roster_http_response_header(r, "X-H39"), "v39");
  assert_string_equal(r->body, "m");
  roster_http_response_free(r);
  roster_http_stats st;
  assert_ok(roster_http_stats_get(c, &st));
  assert_int_equal(st.requests, 17);
  assert_int_equal(st.connections_total, 1);
  roster_http_free(c);
  /* compressed: libcurl asks for the encodings it decodes */
  c = hs_client((roster_http_options){.compressed = true});
  r = call(c, (roster_http_req){.path = "/z"});
  assert_contains(roster_http_response_header(r, "X-Accept-Encoding"), "gzip");
  roster_http_response_free(r);
  roster_http_free(c);
}

static void t_bodies(void **state) {
  (void)state;
  roster_http *c = hs_client((roster_http_options){.max_body = 8u << 20});
  roster_http_response *r =
      call(c, (roster_http_req){.method = "POST", .path = "/e"});
  assert_int_equal(r->body_len, 0);
  roster_http_response_free(r);
  const char bin[] = {'a', 0, (char)0xff, 0, 'z'};
  r = call(c, (roster_http_req){
                  .method = "POST", .body = bin, .body_len = sizeof bin});
  assert_int_equal(r->body_len, sizeof bin);
  assert_memory_equal(r->body, bin, sizeof bin);
  roster_http_response_free(r);
  size_t up = 1u << 20;
  char *big = malloc(up);
  for (size_t i = 0; i < up; i++)
    big[i] = (char)hs_byte(i);
  r = call(c, (roster_http_req){.method = "PUT", .body = big, .body_len = up});
  assert_int_equal(r->body_len, up);
  assert_memory_equal(r->body, big, up);
  roster_http_response_free(r);
  free(big);
  size_t down = 8u << 20;
  r = call(c,
           (roster_http_req){.path = "/big",
                             .query = (const char *[]){"n", "8388608", NULL}});
  assert_int_equal(r->body_len, down);
  for (size_t i = 0; i < down; i += 4099)
    assert_int_equal((unsigned char)r->body[i], hs_byte(i));
  roster_http_response_free(r);
  assert_rc(
      roster_http_request(
          c,
          &(roster_http_req){.path = "/big",
                             .query = (const char *[]){"n", "8388609", NULL}},
          &r),
      ROSTER_ERANGE);
  assert_null(r);
  assert_contains(roster_last_error(), "over max_body");
  roster_http_stats st;
  assert_ok(roster_http_stats_get(c, &st));
  assert_int_equal(st.errors_other, 1);
  roster_http_free(c);
}

typedef struct sink {
  size_t len, calls, stop_after;
  bool bad;
} sink;

static int on_data(const void *data, size_t len, void *arg) {
  sink *s = arg;
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++)
    if (p[i] != hs_byte(s->len + i))
      s->bad = true;
  s->len += len;
  s->calls++;
  return s->stop_after && s->len >= s->stop_after;
}

static void t_streaming(void **state) {
  (void)state;
  roster_http *c = hs_client((roster_http_options){.max_body = 1024});
  sink s = {0};
  roster_http_response *r =
      call(c, (roster_http_req){.path = "/big",
                                .query = (const char *[]){"n", "5000000", NULL},
                                .on_data = on_data,
                                .arg = &s});
  assert_int_equal(r->status, 200);
  assert_int_equal(r->body_len, 0); /* max_body does not bound a stream */
  assert_int_equal(s.len, 5000000);
  assert_true(s.calls > 1);
  assert_false(s.bad);
  roster_http_response_free(r);
  /* a body that is not 2xx is kept, not streamed */
  atomic_store(&hs_srv.status, 404);
  s = (sink){0};
  r = call(c,
           (roster_http_req){.path = "/status", .on_data = on_data, .arg = &s});
  assert_int_equal(r->status, 404);
  assert_string_equal(r->body, "status");
  assert_int_equal(s.calls, 0);
  roster_http_response_free(r);
  atomic_store(&hs_srv.status, 200);
  s = (sink){.stop_after = 100000};
  assert_rc(
      roster_http_request(
          c,
          &(roster_http_req){.path = "/big",
                             .query = (const char *[]){"n", "5000000", NULL},
                             .on_data = on_data,
                             .arg = &s},
          &r),
      ROSTER_ECANCELED);
  assert_null(r);
  assert_contains(roster_last_error(), "stopped by the on_data callback");
  assert_true(s.len < 5000000);
  roster_http_free(c);
}

static void t_json(void **state) {
  (void)state;
  roster_http *c = hs_client((roster_http_options){.name = "js"});
  json_t *in = json_pack("{s:i, s:s, s:[i,i]}", "a", 1, "b", "x\"y", "c", 2, 3);
  json_t *out = NULL;
  int status = 0;
  assert_ok(roster_http_json(c, "POST", "/j", in, &out, &status));
  assert_int_equal(status, 200);
  assert_true(json_equal(in, out));
  json_decref(out);
  /* no body: GET, the empty answer is NULL */
  out = (json_t *)1;
  assert_ok(roster_http_json(c, NULL, "/j", NULL, &out, &status));
  assert_null(out);
  roster_http_response *r =
      call(c, (roster_http_req){.method = "POST", .body = "{}", .body_len = 2});
  assert_null(roster_http_response_header(r, "X-Type"));
  roster_http_response_free(r);
  /* a status outside 2xx */
  atomic_store(&hs_srv.status, 422);
  assert_rc(roster_http_json(c, "POST", "/status", in, &out, &status),
            ROSTER_EREMOTE);
  assert_int_equal(status, 422);
  assert_null(out);
  assert_contains(roster_last_error(), "POST /status answered 422: status");
  atomic_store(&hs_srv.status, 200);
  /* not JSON */
  assert_rc(roster_http_json(c, "GET", "/status", NULL, &out, NULL),
            ROSTER_EPARSE);
  assert_contains(roster_last_error(), "not JSON");
  json_decref(in);
  roster_http_free(c);
}

/* ---- secrets ---- */

static void t_auth(void **state) {
  (void)state;
  roster_http *c = hs_client((roster_http_options){
      .name = "bearer",
      .bearer_token = "tok-S3CRET",
      .headers = (const char *[]){"X-Api-Key", "key-S3CRET", NULL}});
  roster_http_response *r = call(c, (roster_http_req){.path = "/a"});
  assert_string_equal(roster_http_response_header(r, "X-Auth"),
                      "Bearer tok-S3CRET");
  assert_string_equal(roster_http_response_header(r, "X-Api-Key"),
                      "key-S3CRET");
  roster_http_response_free(r);
  roster_http_free(c);

  /* basic, from the URL's user info: "user:pw-S3CRET" */
  char url[128];
  snprintf(url, sizeof url, "http://user:pw-S3CRET@127.0.0.1:%u/", hs_srv.port);
  c = hs_client((roster_http_options){.name = "basic", .base_url = url});
  r = call(c, (roster_http_req){.path = "/a"});
  assert_string_equal(roster_http_response_header(r, "X-Auth"),
                      "Basic dXNlcjpwdy1TM0NSRVQ=");
  roster_http_response_free(r);
  roster_http_free(c);

  /* failures of every kind name the client, never a secret */
  int port = roster__tu_free_port();
  snprintf(url, sizeof url, "http://user:pw-S3CRET@127.0.0.1:%d/", port);
  c = hs_client((roster_http_options){
      .name = "down",
      .base_url = url,
      .retries = -1,
      .breaker_failures = 1,
      .bearer_token = "tok-S3CRET",
      .headers = (const char *[]){"X-Api-Key", "key-S3CRET", NULL}});
  roster_http_req req = {
      .path = "/p", .query = (const char *[]){"api_key", "key-S3CRET", NULL}};
  assert_rc(roster_http_request(c, &req, &r), ROSTER_ECONN);
  assert_contains(roster_last_error(), "HTTP client 'down': GET /p:");
  assert_no_secret(roster_last_error());
  assert_rc(roster_http_request(c, &req, &r), ROSTER_EBUSY);
  assert_no_secret(roster_last_error());
  assert_rc(roster_http_health(c), ROSTER_EBUSY);
  assert_no_secret(roster_last_error());
  assert_no_secret(roster_http_name(c));
  roster_http_free(c);

  /* a declared service: its URL as roster shows it is redacted */
  assert_ok(roster_http_init());
  roster *reg = tu_registry(NULL);
  const char *opts[] = {"token", "tok-S3CRET", "timeout", "x", NULL};
  assert_rc(roster_provide_url(reg, NULL, "pay", url, opts), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "option 'timeout' must be");
  assert_no_secret(roster_last_error());
  const char *ok[] = {"token", "tok-S3CRET", NULL};
  assert_ok(roster_provide_url(reg, NULL, "pay", url, ok));
  char shown[256];
  assert_ok(roster_service_url(reg, NULL, "pay", shown, sizeof shown));
  assert_no_secret(shown);
  assert_contains(shown, "user:***@");
  roster_free(reg);
}

/* ---- the driver ---- */

static void t_driver(void **state) {
  (void)state;
  assert_ok(roster_http_init());
  assert_ok(roster_http_init()); /* again: a no-op */
  roster *reg = tu_registry(NULL);
  char url[96], other[96];
  snprintf(url, sizeof url, "%s/api", hs_srv.base);
  snprintf(other, sizeof other, "%s/v2", hs_srv.base);
  const char *opts[] = {"headers.X-Tenant", "t1",   "retries", "0",
                        "timeout",          "5000", "probe",   "/status",
                        "compressed",       "true", NULL};
  assert_ok(roster_provide_url(reg, NULL, "payments", url, opts));
  assert_ok(roster_provide_url(reg, NULL, "payments", url, opts));
  assert_rc(roster_provide_url(reg, NULL, "payments", other, opts),
            ROSTER_EEXIST);
  const char *bad[] = {"retrys", "1", NULL};
  assert_rc(roster_provide_url(reg, NULL, "x", url, bad), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "unknown option 'retrys'");
  const char *bad2[] = {"max_connections", "0", NULL};
  assert_rc(roster_provide_url(reg, NULL, "x", url, bad2), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "'max_connections' must be 1 or more");
  assert_rc(roster_provide_url(reg, NULL, "x", "http://h/a?q=1", NULL),
            ROSTER_EINVAL);

  roster_http *c = NULL, *c2 = NULL;
  assert_ok(roster_http_find(reg, NULL, "payments", &c));
  assert_ok(roster_http_find(reg, NULL, "payments", &c2));
  assert_ptr_equal(c, c2);
  assert_string_equal(roster_http_name(c), "payments");
  roster_http_response *r = call(c, (roster_http_req){.path = "/echo"});
  assert_string_equal(roster_http_response_header(r, "X-Path"), "/api/echo");
  assert_string_equal(roster_http_response_header(r, "X-Tenant"), "t1");
  assert_non_null(roster_http_response_header(r, "X-Accept-Encoding"));
  roster_http_response_free(r);
  /* health: the probe /api/status */
  assert_ok(roster_http_health(c));
  atomic_store(&hs_srv.status, 503);
  assert_rc(roster_http_health(c), ROSTER_EREMOTE);
  assert_contains(roster_last_error(), "probe /status answered 503");
  atomic_store(&hs_srv.status, 200);
  assert_rc(roster_http_find(reg, NULL, "nope", &c), ROSTER_ENOENT);
  /* another type's entry: ETYPE, *out NULL; a NULL out names the call */
  static const roster_type other_type = {.name = "other"};
  static int thing;
  assert_ok(roster_register(reg, NULL, "thing", &other_type, &thing));
  assert_rc(roster_http_find(reg, NULL, "thing", &c), ROSTER_ETYPE);
  assert_null(c);
  assert_rc(roster_http_find(reg, NULL, "payments", NULL), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "roster_http_find: out is NULL");
  roster_free(reg);
}

static void t_redirect(void **state) {
  (void)state;
  roster_http *c = hs_client((roster_http_options){0});
  roster_http_response *r = call(c, (roster_http_req){.path = "/redir"});
  assert_int_equal(r->status, 200);
  assert_string_equal(roster_http_response_header(r, "X-Path"), "/landed");
  roster_http_response_free(r);
  roster_http_free(c);
  c = hs_client((roster_http_options){.no_redirects = true});
  r = call(c, (roster_http_req){.path = "/redir"});
  assert_int_equal(r->status, 302);
  assert_string_equal(roster_http_response_header(r, "Location"), "/landed");
  assert_string_equal(r->body, "moved");
  roster_http_response_free(r);
  roster_http_free(c);
}

static void t_config(void **state) {
  (void)state;
  assert_ok(roster_http_init());
  char path[] = "/tmp/roster-http-XXXXXX.json";
  int fd = mkstemps(path, 5);
  assert_true(fd >= 0);
  char text[512];
  int n = snprintf(text, sizeof text,
                   "{\"services\": {\"users\": {\"url\": \"%s/api\", "
                   "\"retries\": 1, \"token\": \"tok-S3CRET\", "
                   "\"headers\": {\"X-Tenant\": \"acme\", "
                   "\"Authorization\": \"Bearer tok-S3CRET\"}}}}",
                   hs_srv.base);
  assert_int_equal(write(fd, text, (size_t)n), n);
  close(fd);
  const char *files[] = {path, NULL};
  roster_config *cfg = NULL;
  assert_ok(roster_config_new(
      &(roster_config_options){.files = files,
                               .env = (const char *const[]){NULL}},
      &cfg));
  assert_ok(roster_config_load(cfg));
  char *dump = NULL;
  assert_ok(roster_config_dump(cfg, ROSTER_CONFIG_DUMP_COMPACT, &dump));
  assert_no_secret(dump);
  assert_contains(dump, "acme");
  roster_mem_free(dump);
  roster *reg = tu_registry(NULL);
  assert_ok(roster_config_provide_services(reg, cfg));
  roster_http *c = NULL;
  assert_ok(roster_http_find(reg, NULL, "users", &c));
  roster_http_response *r = call(c, (roster_http_req){.path = "/me"});
  assert_string_equal(roster_http_response_header(r, "X-Path"), "/api/me");
  assert_string_equal(roster_http_response_header(r, "X-Tenant"), "acme");
  assert_string_equal(roster_http_response_header(r, "X-Auth"),
                      "Bearer tok-S3CRET");
  roster_http_response_free(r);
  roster_free(reg);
  roster_config_free(cfg);
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_new_errors), cmocka_unit_test(t_bad_requests),
      cmocka_unit_test(t_echo),       cmocka_unit_test(t_reuse),
      cmocka_unit_test(t_bodies),     cmocka_unit_test(t_streaming),
      cmocka_unit_test(t_json),       cmocka_unit_test(t_auth),
      cmocka_unit_test(t_driver),     cmocka_unit_test(t_redirect),
      cmocka_unit_test(t_config),
  };
  return cmocka_run_group_tests(tests, hs_setup, hs_teardown);
}
