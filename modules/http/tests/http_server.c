/*
 * http_server.c: the test servers of http_server.h.
 */
#include "http_server.h"

#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

unsigned char hs_byte(size_t i) {
  return (unsigned char)((i * 7 + i / 251) & 0xff);
}

static void answer(roster_httpd_request *req, hs *s, int status,
                   const char *body) {
  char ra[64] = "";
  int secs = atomic_load(&s->retry_after);
  if (secs >= 0 && atomic_load(&s->retry_date)) {
    time_t t = time(NULL) + secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(ra, sizeof ra, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  } else if (secs >= 0) {
    snprintf(ra, sizeof ra, "%d", secs);
  }
  const char *h[] = {"Retry-After", ra, NULL};
  roster_httpd_respond(req, status, ra[0] ? h : NULL, body, strlen(body));
}

static void h_status(roster_httpd_request *req, void *arg) {
  hs *s = arg;
  atomic_fetch_add(&s->hits, 1);
  answer(req, s, atomic_load(&s->status), "status");
}

static void h_flaky(roster_httpd_request *req, void *arg) {
  hs *s = arg;
  if (atomic_fetch_add(&s->hits, 1) < atomic_load(&s->fail_first))
    answer(req, s, atomic_load(&s->fail_status), "busy");
  else
    roster_httpd_respond(req, 200, NULL, "ok", 2);
}

static void h_big(roster_httpd_request *req, void *arg) {
  hs *s = arg;
  atomic_fetch_add(&s->hits, 1);
  const char *q = roster_httpd_request_query(req);
  size_t n = strncmp(q, "n=", 2) == 0 ? strtoul(q + 2, NULL, 10) : 0;
  unsigned char *b = malloc(n ? n : 1);
  for (size_t i = 0; i < n; i++)
    b[i] = hs_byte(i);
  roster_httpd_respond(req, 200, NULL, b, n);
  free(b);
}

static void h_hold(roster_httpd_request *req, void *arg) {
  hs *s = arg;
  atomic_fetch_add(&s->hits, 1);
}

static void h_hold_abort(roster_httpd_request *req, void *arg) {
  (void)arg;
  roster_httpd_respond(req, 200, NULL, "late", 4);
}

static void h_redir(roster_httpd_request *req, void *arg) {
  hs *s = arg;
  atomic_fetch_add(&s->hits, 1);
  const char *h[] = {"Location", "/landed", NULL};
  roster_httpd_respond(req, 302, h, "moved", 5);
}

static void h_echo(roster_httpd_request *req, void *arg) {
  hs *s = arg;
  atomic_fetch_add(&s->hits, 1);
  size_t n;
  const void *b = roster_httpd_request_body(req, &n);
  const char *names[] = {"Authorization", "X-Tenant", "X-Api-Key",
                         "Content-Type", "Accept-Encoding"};
  const char *out[] = {"X-Auth", "X-Tenant", "X-Api-Key", "X-Type",
                       "X-Accept-Encoding"};
  const char *h[2 * 8 + 1];
  size_t k = 0;
  h[k++] = "X-Method";
  h[k++] = roster_httpd_request_method(req);
  h[k++] = "X-Path";
  h[k++] = roster_httpd_request_path(req);
  h[k++] = "X-Query";
  h[k++] = roster_httpd_request_query(req);
  for (size_t i = 0; i < 5; i++) {
    const char *v = roster_httpd_request_header(req, names[i]);
    if (v) {
      h[k++] = out[i];
      h[k++] = v;
    }
  }
  h[k] = NULL;
  roster_httpd_respond(req, 200, h, b, n);
}

/* h_many: 40 headers X-H0: v0 ... X-H39: v39 */
static void h_many(roster_httpd_request *req, void *arg) {
  hs *s = arg;
  atomic_fetch_add(&s->hits, 1);
  static char text[40][2][16];
  static const char *h[2 * 40 + 1];
  for (int i = 0; i < 40; i++) {
    snprintf(text[i][0], sizeof text[i][0], "X-H%d", i);
    snprintf(text[i][1], sizeof text[i][1], "v%d", i);
    h[2 * i] = text[i][0];
    h[2 * i + 1] = text[i][1];
  }
  roster_httpd_respond(req, 200, h, "m", 1);
}

hs hs_srv;

int hs_setup(void **state) {
  (void)state;
  hs_start(&hs_srv);
  return 0;
}

int hs_teardown(void **state) {
  (void)state;
  hs_stop(&hs_srv);
  return 0;
}

roster_http *hs_client(roster_http_options o) {
  if (!o.base_url)
    o.base_url = hs_srv.base;
  roster_http *c = NULL;
  assert_ok(roster_http_new(&o, &c));
  return c;
}

void hs_start(hs *s) {
  memset(s, 0, sizeof *s);
  atomic_store(&s->status, 200);
  atomic_store(&s->fail_status, 503);
  atomic_store(&s->retry_after, -1);
  roster_httpd_options o = {.name = "test-http", .max_body = 32u << 20};
  assert_ok(roster_httpd_new(&o, &s->srv));
  struct {
    const char *prefix;
    roster_httpd_handler h;
  } routes[] = {{"/status", h_status}, {"/api/status", h_status},
                {"/flaky", h_flaky},   {"/big", h_big},
                {"/hold", h_hold},     {"/redir", h_redir},
                {"/many", h_many},     {"/", h_echo}};
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    roster_httpd_route_options r = {
        .prefix = routes[i].prefix,
        .handler = routes[i].h,
        .on_abort = routes[i].h == h_hold ? h_hold_abort : NULL,
        .arg = s};
    assert_ok(roster_httpd_route(s->srv, &r));
  }
  assert_ok(roster_httpd_start(s->srv));
  s->port = roster_httpd_port(s->srv);
  snprintf(s->base, sizeof s->base, "http://127.0.0.1:%u", s->port);
}

void hs_stop(hs *s) {
  roster_httpd_free(s->srv);
  s->srv = NULL;
}

static void *drop_main(void *arg) {
  drop *d = arg;
  while (!atomic_load(&d->stop)) {
    struct pollfd p = {.fd = d->fd, .events = POLLIN};
    if (poll(&p, 1, 20) <= 0)
      continue;
    int c = accept(d->fd, NULL, NULL);
    if (c < 0)
      continue;
    atomic_fetch_add(&d->accepted, 1);
    char buf[512];
    struct pollfd q = {.fd = c, .events = POLLIN};
    if (poll(&q, 1, 1000) > 0)
      (void)!read(c, buf, sizeof buf);
    close(c);
  }
  return NULL;
}

void drop_start(drop *d) {
  memset(d, 0, sizeof *d);
  d->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(d->fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(d->fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(d->fd, 64), 0);
  socklen_t len = sizeof a;
  getsockname(d->fd, (struct sockaddr *)&a, &len);
  d->port = ntohs(a.sin_port);
  snprintf(d->base, sizeof d->base, "http://127.0.0.1:%u", d->port);
  assert_int_equal(pthread_create(&d->thread, NULL, drop_main, d), 0);
}

void drop_stop(drop *d) {
  atomic_store(&d->stop, true);
  pthread_join(d->thread, NULL);
  close(d->fd);
}
