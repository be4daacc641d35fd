/*
 * http_server.h: the HTTP client tests' servers. hs is an HTTP server on
 * roster's httpd module, started on a free port:
 *   /status  (and /api/status) answers `status` (with Retry-After `retry_after`
 * seconds when it is >= 0, or an HTTP date that far ahead when retry_date)
 *   /flaky   answers `fail_status` (and Retry-After as /status) to the
 *            first `fail_first` requests, then 200 "ok"
 *   /big     answers ?n=<bytes> bytes of hs_byte(i)
 *   /redir   answers 302 to /landed
 *   /many    answers 40 headers, X-H0: v0 to X-H39: v39
 *   /hold    never answers (the client times out; answered on abort)
 *   /        echoes: the body back, and X-Method, X-Path, X-Query, X-Auth
 *            (the Authorization received), X-Tenant, X-Api-Key, X-Type
 *            (Content-Type), X-Accept-Encoding headers
 * Each route counts its requests in `hits`. drop is a raw TCP listener
 * that reads a little of each connection and closes it (a server that
 * drops connections), counting accepted connections.
 */
#ifndef HTTP_SERVER_H
#define HTTP_SERVER_H

#include <roster/http.h>
#include <roster/httpd.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct hs {
  roster_httpd *srv;
  uint16_t port;
  char base[64]; /* "http://127.0.0.1:<port>" */
  _Atomic int hits, status, fail_first, fail_status, retry_after;
  _Atomic bool retry_date;
} hs;

/* hs_start starts s (asserting); hs_stop stops and frees it. */
void hs_start(hs *s);
void hs_stop(hs *s);

/* The test files' server: hs_setup and hs_teardown start and stop it
 * (cmocka group fixtures); hs_client makes a client of it (o.base_url
 * NULL: its base), asserting. */
extern hs hs_srv;
int hs_setup(void **state);
int hs_teardown(void **state);
roster_http *hs_client(roster_http_options o);
/* hs_byte: byte i of /big's body. */
unsigned char hs_byte(size_t i);

typedef struct drop {
  int fd;
  uint16_t port;
  char base[64];
  _Atomic int accepted;
  _Atomic bool stop;
  pthread_t thread;
} drop;

void drop_start(drop *d);
void drop_stop(drop *d);

#endif
