/*
 * bench_http.c: requests per second through a roster HTTP client
 * (roster/http.h) against a local server on roster's httpd module (one
 * I/O thread, a 64-byte answer), beside libcurl driven directly in the
 * same run, on the same server:
 *
 *   - roster        roster_http_request from T threads sharing one client
 *                   (a pool of easy handles over a curl share; keep-alive)
 *   - curl-easy     one curl_easy handle per thread, reused (keep-alive):
 *                   libcurl with nothing of roster's around it
 *   - curl-multi    one thread driving a curl multi handle with T
 *                   transfers in flight, each re-added when done
 *                   (keep-alive, the same T connections): the shape of
 *                   the other design, a multi on a worker thread
 *   - curl-new-conn curl_easy_init/perform/cleanup per request: a new TCP
 *                   connection each time (the keep-alive vs new-connection
 *                   row)
 *
 * Every answer is checked (status 200 and the 64 bytes): a wrong one is a
 * failure and the exit code is 1. The target printed: roster >= 0.9x
 * curl-multi at the same T. Machines here are shared and small (2 cores,
 * with the server in the same process), so only ratios within one run
 * mean anything. See bench/README.md.
 */
#include "bench.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <roster.h>
#include <roster/http.h>
#include <roster/httpd.h>
#include <stdlib.h>
#include <string.h>

#define BODY 64
#define REPEATS 3

static char url[96], base[64];
static roster_http *client;

static void h_answer(roster_httpd_request *req, void *arg) {
  (void)arg;
  static const char body[BODY + 1] =
      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  roster_httpd_respond(req, 200, NULL, body, BODY);
}

static size_t count_write(char *p, size_t s, size_t n, void *arg) {
  (void)p;
  *(size_t *)arg += s * n;
  return s * n;
}

static bool easy_get(CURL *h) {
  size_t got = 0;
  long st = 0;
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &got);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  if (curl_easy_perform(h) != CURLE_OK)
    return false;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
  return st == 200 && got == BODY;
}

/* ---- the bodies ---- */

static void roster_body(bench_thread *t) {
  roster_http_req req = {.path = "/x"};
  roster__bench_start(t);
  for (uint64_t i = 0; i < t->ops; i++) {
    roster_http_response *r = NULL;
    if (roster_http_request(client, &req, &r) || r->status != 200 ||
        r->body_len != BODY)
      t->errors++;
    roster_http_response_free(r);
  }
}

static void easy_body(bench_thread *t) {
  CURL *h = curl_easy_init();
  if (!easy_get(h)) /* untimed: the connection is made */
    t->errors++;
  roster__bench_start(t);
  for (uint64_t i = 0; i < t->ops; i++)
    if (!easy_get(h))
      t->errors++;
  bench_stop(t);
  curl_easy_cleanup(h);
}

static void new_conn_body(bench_thread *t) {
  roster__bench_start(t);
  for (uint64_t i = 0; i < t->ops; i++) {
    CURL *h = curl_easy_init();
    if (!easy_get(h))
      t->errors++;
    curl_easy_cleanup(h);
  }
}

typedef struct mcase {
  bench_body body;
  unsigned threads;
} mcase;

static bench_sample threads_rate(void *arg, uint64_t ops) {
  const mcase *c = arg;
  bench_sample s =
      roster__bench_threads(c->body, NULL, c->threads, ops / c->threads);
  roster__bench_check(&s, "http", "get");
  return s;
}

/* multi_rate: one thread, one multi handle, T transfers in flight. */
static bench_sample multi_rate(void *arg, uint64_t ops) {
  const mcase *c = arg;
  unsigned T = c->threads;
  CURLM *m = curl_multi_init();
  CURL **h = roster__bench_xcalloc(T, sizeof *h);
  size_t *got = roster__bench_xcalloc(T, sizeof *got);
  for (unsigned i = 0; i < T; i++) {
    h[i] = curl_easy_init();
    curl_easy_setopt(h[i], CURLOPT_URL, url);
    curl_easy_setopt(h[i], CURLOPT_WRITEFUNCTION, count_write);
    curl_easy_setopt(h[i], CURLOPT_WRITEDATA, &got[i]);
    curl_easy_setopt(h[i], CURLOPT_PRIVATE, &got[i]);
    curl_easy_setopt(h[i], CURLOPT_NOSIGNAL, 1L);
    if (!easy_get(h[i])) /* untimed: its connection is made */
      roster__bench_fail(1, "curl-multi: warm-up failed");
    got[i] = 0;
    curl_easy_setopt(h[i], CURLOPT_WRITEDATA, &got[i]);
  }
  curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)T);
  uint64_t started = 0, done = 0, errors = 0;
  double t0 = bench_now();
  for (unsigned i = 0; i < T && started < ops; i++, started++)
    curl_multi_add_handle(m, h[i]);
  while (done < ops) {
    int running = 0, q = 0;
    curl_multi_perform(m, &running);
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(m, &q))) {
      if (msg->msg != CURLMSG_DONE)
        continue;
      CURL *e = msg->easy_handle;
      size_t *g = NULL;
      long st = 0;
      curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&g);
      curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &st);
      if (msg->data.result != CURLE_OK || st != 200 || *g != BODY)
        errors++;
      *g = 0;
      done++;
      curl_multi_remove_handle(m, e);
      if (started < ops) {
        started++;
        curl_multi_add_handle(m, e);
      }
    }
    if (done < ops)
      curl_multi_poll(m, NULL, 0, 100, NULL);
  }
  double wall = bench_now() - t0;
  for (unsigned i = 0; i < T; i++)
    curl_easy_cleanup(h[i]);
  curl_multi_cleanup(m);
  free(h);
  free(got);
  bench_sample s = {.wall = wall > 1e-9 ? wall : 1e-9,
                    .ops = ops,
                    .least = ops,
                    .errors = errors,
                    .threads = T};
  roster__bench_check(&s, "curl-multi", "get");
  return s;
}

static void print_row(const bench_case *c, unsigned threads) {
  double best = bench_rate(&c->best);
  if (roster__bench.json)
    printf("{\"impl\":\"%s\",\"op\":\"get\",\"threads\":%u,"
           "\"req_per_sec\":%.0f,\"us_per_req\":%.1f,\"ops\":%" PRIu64
           ",\"best_of\":%d}\n",
           c->impl, threads, best, bench_ns_per_op(&c->best) / 1000.0, c->ops,
           REPEATS);
  else
    printf("%-14s %7u %12.0f %10.1f %10" PRIu64 " %6.0f%%\n", c->impl, threads,
           best, bench_ns_per_op(&c->best) / 1000.0, c->ops,
           100.0 * roster__bench_spread(c));
  fflush(stdout);
}

static void measure(unsigned threads, double target_s) {
  mcase r = {roster_body, threads}, e = {easy_body, threads},
        n = {new_conn_body, threads}, m = {NULL, threads};
  bench_case cs[4] = {
      {.impl = "roster", .op = "get", .fn = threads_rate, .arg = &r},
      {.impl = "curl-easy", .op = "get", .fn = threads_rate, .arg = &e},
      {.impl = "curl-multi", .op = "get", .fn = multi_rate, .arg = &m},
      {.impl = "curl-new-conn", .op = "get", .fn = threads_rate, .arg = &n},
  };
  roster__bench_calibrate(&cs[0], target_s, 2);
  uint64_t ops = cs[0].ops - cs[0].ops % threads;
  for (size_t i = 0; i < 4; i++)
    cs[i].ops = ops < threads ? threads : ops;
  roster__bench_compare(cs, 4, 0, REPEATS);
  for (size_t i = 0; i < 4; i++)
    if (cs[i].runs)
      print_row(&cs[i], threads);
}

static const bench_spec spec = {
    .prog = "roster-bench-http",
    .about = "  HTTP GET through a roster client beside libcurl driven\n"
             "  directly (easy, multi, a new connection per request).\n",
    .quick = "short runs",
};

int main(int argc, char **argv) {
  roster__bench_init(&spec, argc, argv);
  curl_global_init(CURL_GLOBAL_ALL);
  roster_httpd *srv = NULL;
  if (roster_httpd_new(&(roster_httpd_options){.name = "bench"}, &srv) ||
      roster_httpd_route(
          srv,
          &(roster_httpd_route_options){.prefix = "/", .handler = h_answer}) ||
      roster_httpd_start(srv))
    roster__bench_die("server: %s", roster_last_error());
  snprintf(base, sizeof base, "http://127.0.0.1:%u", roster_httpd_port(srv));
  snprintf(url, sizeof url, "%s/x", base);
  if (roster_http_new(&(roster_http_options){.name = "bench",
                                             .base_url = base,
                                             .max_connections = 16},
                      &client))
    roster__bench_die("client: %s", roster_last_error());
  double target = roster__bench.quick ? 0.05 : 1.0;
  if (!roster__bench.json)
    printf("%-14s %7s %12s %10s %10s %7s\n", "impl", "threads", "req/s",
           "us/req", "ops", "spread");
  unsigned ts[] = {1, 4};
  for (size_t i = 0; i < 2; i++)
    measure(ts[i], target);
  roster__bench_targets();
  for (size_t i = 0; i < 2; i++) {
    double r = roster__bench_ratio("roster", "curl-multi", "get", ts[i], 0);
    char what[64];
    snprintf(what, sizeof what, "roster / curl-multi, %u thread%s", ts[i],
             ts[i] == 1 ? "" : "s");
    roster__bench_target(what, r, "x", ">= 0.9", r >= 0.9);
  }
  double k = roster__bench_ratio("curl-easy", "curl-new-conn", "get", 1, 0);
  roster__bench_context("keep-alive / new connection, 1 thread", k, 2, "x");
  roster_http_free(client);
  roster_httpd_free(srv);
  return roster__bench_finish();
}
