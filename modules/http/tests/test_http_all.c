/*
 * test_http_all.c: roster_http_request_all, many requests at once from one
 * thread, against the test server on roster's httpd module
 * (http_server.c), started by the test.
 *
 * - Each answer lands at its request's index; no more connections than
 *   max_connections however many requests; the stats count each one.
 * - Arguments: NULL client or requests, n 0; a bad request among good ones
 *   fails alone, and the first failure's detail names its index.
 * - Retries inside a batch (Retry-After 0 and backoff), a request that
 *   times out beside fast ones (which do not wait for it), streaming to a
 *   callback per request, the open breaker refusing a whole batch.
 * - Slots held by another thread: the batch waits up to its timeout.
 * - Four threads, each sending batches on one client at once.
 */
#include "testutil.h"

#include "http_server.h"

#include <pthread.h>
#include <roster/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static roster_http_stats stats(roster_http *c) {
  roster_http_stats st;
  assert_ok(roster_http_stats_get(c, &st));
  return st;
}

/* ---- answers in order, the connection bound ---- */

static void t_order(void **state) {
  (void)state;
  roster_http *c = hs_client((roster_http_options){.max_connections = 2});
  enum { N = 12 };
  char paths[N][24], bodies[N][24];
  roster_http_req reqs[N];
  for (int i = 0; i < N; i++) {
    snprintf(paths[i], sizeof paths[i], "/item/%d", i);
    snprintf(bodies[i], sizeof bodies[i], "body %d", i);
    reqs[i] = (roster_http_req){.path = paths[i]};
    if (i % 3 == 1) { /* some POSTs with a body, some PUTs */
      reqs[i].method = "POST";
      reqs[i].body = bodies[i];
      reqs[i].body_len = strlen(bodies[i]);
    } else if (i % 3 == 2) {
      reqs[i].method = "PUT";
    }
  }
  roster_http_response *outs[N];
  int rcs[N];
  assert_ok(roster_http_request_all(c, reqs, N, outs, rcs));
  for (int i = 0; i < N; i++) {
    assert_int_equal(rcs[i], ROSTER_OK);
    assert_non_null(outs[i]);
    assert_int_equal(outs[i]->status, 200);
    assert_int_equal(outs[i]->attempts, 1);
    assert_string_equal(roster_http_response_header(outs[i], "X-Path"),
                        paths[i]);
    assert_string_equal(roster_http_response_header(outs[i], "X-Method"),
                        i % 3 == 1   ? "POST"
                        : i % 3 == 2 ? "PUT"
                                     : "GET");
    if (i % 3 == 1) {
      assert_int_equal(outs[i]->body_len, strlen(bodies[i]));
      assert_memory_equal(outs[i]->body, bodies[i], strlen(bodies[i]));
    }
    roster_http_response_free(outs[i]);
  }
  roster_http_stats st = stats(c);
  assert_int_equal(st.requests, N);
  assert_int_equal(st.ok, N);
  assert_true(st.connections_total >= 1 && st.connections_total <= 2);
  /* again: the connections are reused; outs NULL drops the answers */
  assert_ok(roster_http_request_all(c, reqs, N, NULL, NULL));
  st = stats(c);
  assert_int_equal(st.requests, 2 * N);
  assert_true(st.connections_total <= 2);
  roster_http_free(c);
}

/* ---- arguments, and failures one by one ---- */

static void t_args(void **state) {
  (void)state;
  roster_http *c = hs_client((roster_http_options){0});
  roster_http_req req = {.path = "/a"};
  roster_http_response *out = (roster_http_response *)&req;
  int rc = 12345;
  assert_rc(roster_http_request_all(NULL, &req, 1, &out, &rc), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "client");
  assert_null(out);
  assert_int_equal(rc, ROSTER_EINVAL);
  assert_rc(roster_http_request_all(c, NULL, 1, NULL, NULL), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "reqs");
  assert_ok(roster_http_request_all(c, NULL, 0, NULL, NULL));
  assert_int_equal(stats(c).requests, 0);

  /* a bad path at 3 and a bad method at 5: they fail alone */
  roster_http_req reqs[5] = {{.path = "/one"},
                             {.path = "/two"},
                             {.path = "/has space"},
                             {.path = "/four"},
                             {.path = "/five", .method = "get"}};
  roster_http_response *outs[5];
  int rcs[5];
  assert_rc(roster_http_request_all(c, reqs, 5, outs, rcs), ROSTER_EINVAL);
  assert_true(strncmp(roster_last_error(), "request 3 of 5: ", 16) == 0);
  assert_contains(roster_last_error(), "path");
  int want[5] = {ROSTER_OK, ROSTER_OK, ROSTER_EINVAL, ROSTER_OK, ROSTER_EINVAL};
  for (int i = 0; i < 5; i++) {
    assert_int_equal(rcs[i], want[i]);
    if (want[i] == ROSTER_OK) {
      assert_non_null(outs[i]);
      assert_string_equal(roster_http_response_header(outs[i], "X-Path"),
                          reqs[i].path);
    } else {
      assert_null(outs[i]);
    }
    roster_http_response_free(outs[i]);
  }
  /* requests refused before they were sent are not counted */
  assert_int_equal(stats(c).requests, 3);
  roster_http_free(c);
}

/* ---- retries, a timeout beside fast answers, streaming ---- */

static void t_retries(void **state) {
  (void)state;
  roster_http *c = hs_client((roster_http_options){
      .retry_base_ms = 5, .retry_max_ms = 20, .breaker_failures = -1});
  atomic_store(&hs_srv.hits, 0);
  atomic_store(&hs_srv.fail_first, 3);
  atomic_store(&hs_srv.fail_status, 503);
  roster_http_req reqs[4] = {{.path = "/flaky"},
                             {.path = "/flaky"},
                             {.path = "/flaky"},
                             {.path = "/x"}};
  roster_http_response *outs[4];
  assert_ok(roster_http_request_all(c, reqs, 4, outs, NULL));
  unsigned attempts = 0;
  for (int i = 0; i < 4; i++) {
    assert_int_equal(outs[i]->status, 200);
    attempts += outs[i]->attempts;
    roster_http_response_free(outs[i]);
  }
  assert_int_equal(attempts, 4 + 3); /* three 503s, each tried again */
  assert_int_equal(stats(c).retries, 3);
  atomic_store(&hs_srv.fail_first, 0);
  roster_http_free(c);
}

static void t_timeout_beside(void **state) {
  (void)state;
  roster_http *c = hs_client((roster_http_options){.retries = -1});
  roster_http_req reqs[4] = {{.path = "/a"},
                             {.path = "/hold", .timeout_ms = 400},
                             {.path = "/b"},
                             {.path = "/c"}};
  roster_http_response *outs[4];
  int rcs[4];
  assert_rc(roster_http_request_all(c, reqs, 4, outs, rcs), ROSTER_ETIMEDOUT);
  assert_true(strncmp(roster_last_error(), "request 2 of 4: ", 16) == 0);
  assert_contains(roster_last_error(), "GET /hold:");
  assert_null(outs[1]);
  assert_int_equal(rcs[1], ROSTER_ETIMEDOUT);
  for (int i = 0; i < 4; i++) {
    if (i == 1)
      continue;
    assert_int_equal(rcs[i], ROSTER_OK);
    assert_int_equal(outs[i]->status, 200);
    /* answered while /hold was still waiting */
    assert_true(outs[i]->elapsed_ms < 350);
    roster_http_response_free(outs[i]);
  }
  roster_http_stats st = stats(c);
  assert_int_equal(st.ok, 3);
  assert_int_equal(st.errors_timeout, 1);
  roster_http_free(c);
}

typedef struct sink {
  size_t bytes;
  bool ok; /* every byte as hs_byte says */
} sink;

static int on_data(const void *data, size_t len, void *arg) {
  sink *s = arg;
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++)
    s->ok = s->ok && p[i] == hs_byte(s->bytes + i);
  s->bytes += len;
  return 0;
}

static void t_streaming(void **state) {
  (void)state;
  roster_http *c = hs_client((roster_http_options){0});
  sink s[3] = {{.ok = true}, {.ok = true}, {.ok = true}};
  const char *const q0[] = {"n", "100000", NULL};
  const char *const q1[] = {"n", "7", NULL};
  const char *const q2[] = {"n", "300000", NULL};
  roster_http_req reqs[3] = {
      {.path = "/big", .query = q0, .on_data = on_data, .arg = &s[0]},
      {.path = "/big", .query = q1, .on_data = on_data, .arg = &s[1]},
      {.path = "/big", .query = q2, .on_data = on_data, .arg = &s[2]}};
  roster_http_response *outs[3];
  assert_ok(roster_http_request_all(c, reqs, 3, outs, NULL));
  size_t want[3] = {100000, 7, 300000};
  for (int i = 0; i < 3; i++) {
    assert_int_equal(s[i].bytes, want[i]);
    assert_true(s[i].ok);
    assert_int_equal(outs[i]->body_len, 0); /* it went to the callback */
    roster_http_response_free(outs[i]);
  }
  roster_http_free(c);
}

static void t_breaker(void **state) {
  (void)state;
  roster_http *c = hs_client((roster_http_options){
      .retries = -1, .breaker_failures = 2, .breaker_cooldown_ms = 60000});
  atomic_store(&hs_srv.status, 500);
  roster_http_req two[2] = {{.path = "/status"}, {.path = "/status"}};
  roster_http_response *outs[3];
  assert_ok(roster_http_request_all(c, two, 2, outs, NULL)); /* answers */
  for (int i = 0; i < 2; i++) {
    assert_int_equal(outs[i]->status, 500);
    roster_http_response_free(outs[i]);
  }
  atomic_store(&hs_srv.status, 200);
  int hits = atomic_load(&hs_srv.hits);
  roster_http_req three[3] = {{.path = "/a"}, {.path = "/b"}, {.path = "/c"}};
  int rcs[3];
  assert_rc(roster_http_request_all(c, three, 3, outs, rcs), ROSTER_EBUSY);
  assert_true(strncmp(roster_last_error(), "request 1 of 3: ", 16) == 0);
  assert_contains(roster_last_error(), "breaker is open");
  for (int i = 0; i < 3; i++) {
    assert_int_equal(rcs[i], ROSTER_EBUSY);
    assert_null(outs[i]);
  }
  assert_int_equal(atomic_load(&hs_srv.hits), hits); /* nothing was sent */
  assert_int_equal(stats(c).errors_breaker, 3);
  roster_http_free(c);
}

/* ---- slots held by another thread ---- */

static void *hold_thread(void *arg) {
  roster_http *c = arg;
  roster_http_response *r = NULL;
  int rc = roster_http_request(
      c, &(roster_http_req){.path = "/hold", .timeout_ms = 1500}, &r);
  roster_http_response_free(r);
  return (void *)(intptr_t)rc;
}

static void t_slots_elsewhere(void **state) {
  (void)state;
  roster_http *c =
      hs_client((roster_http_options){.max_connections = 1, .retries = -1});
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, hold_thread, c), 0);
  for (int i = 0; i < 200 && stats(c).connections_open == 0; i++)
    usleep(10000);
  assert_int_equal(stats(c).connections_open, 1);
  roster_http_req reqs[2] = {{.path = "/a", .timeout_ms = 200},
                             {.path = "/b", .timeout_ms = 200}};
  int rcs[2];
  assert_rc(roster_http_request_all(c, reqs, 2, NULL, rcs), ROSTER_ETIMEDOUT);
  assert_contains(roster_last_error(), "request 1 of 2: ");
  assert_contains(roster_last_error(), "connections stayed busy");
  assert_int_equal(rcs[0], ROSTER_ETIMEDOUT);
  assert_int_equal(rcs[1], ROSTER_ETIMEDOUT);
  void *res;
  assert_int_equal(pthread_join(t, &res), 0);
  assert_int_equal((int)(intptr_t)res, ROSTER_ETIMEDOUT);
  /* the slot is free again: the same batch goes through */
  roster_http_response *outs[2];
  assert_ok(roster_http_request_all(c, reqs, 2, outs, rcs));
  for (int i = 0; i < 2; i++)
    roster_http_response_free(outs[i]);
  roster_http_free(c);
}

/* ---- threads ---- */

enum { THREADS = 4, BATCHES = 40, PER = 5 };

static void *batch_thread(void *arg) {
  roster_http *c = arg;
  long bad = 0;
  for (int b = 0; b < BATCHES; b++) {
    char paths[PER][40];
    roster_http_req reqs[PER];
    for (int i = 0; i < PER; i++) {
      snprintf(paths[i], sizeof paths[i], "/t/%d/%d", b, i);
      reqs[i] = (roster_http_req){.path = paths[i]};
    }
    roster_http_response *outs[PER];
    if (roster_http_request_all(c, reqs, PER, outs, NULL) != ROSTER_OK)
      bad++;
    for (int i = 0; i < PER; i++) {
      const char *p = roster_http_response_header(outs[i], "X-Path");
      if (!p || strcmp(p, paths[i]) != 0)
        bad++;
      roster_http_response_free(outs[i]);
    }
  }
  return (void *)bad;
}

static void t_threads(void **state) {
  (void)state;
  roster_http *c = hs_client((roster_http_options){.max_connections = 3});
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(pthread_create(&t[i], NULL, batch_thread, c), 0);
  for (int i = 0; i < THREADS; i++) {
    void *bad;
    assert_int_equal(pthread_join(t[i], &bad), 0);
    assert_int_equal((long)bad, 0);
  }
  roster_http_stats st = stats(c);
  assert_int_equal(st.requests, THREADS * BATCHES * PER);
  assert_int_equal(st.ok, THREADS * BATCHES * PER);
  assert_true(st.connections_open <= 3);
  roster_http_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_order),           cmocka_unit_test(t_args),
      cmocka_unit_test(t_retries),         cmocka_unit_test(t_timeout_beside),
      cmocka_unit_test(t_streaming),       cmocka_unit_test(t_breaker),
      cmocka_unit_test(t_slots_elsewhere), cmocka_unit_test(t_threads),
  };
  return cmocka_run_group_tests(tests, hs_setup, hs_teardown);
}
