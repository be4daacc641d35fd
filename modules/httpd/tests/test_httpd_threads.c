/*
 * test_httpd_threads.c: the httpd module from many threads (run under
 * TSan too): broadcasts from several threads at once (one framed message
 * shared by every connection, each thread's messages in order, nothing
 * lost), held requests answered from several threads, the slow consumer
 * (sends refused past max_queue with ROSTER_EBUSY, the connection closed
 * with 1008 when it stays over), and sends to a connection that is gone.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <roster/httpd.h>

#include "httpd_client.h"

#define CLIENTS 16
#define THREADS 4
#define PER_THREAD 300

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static roster_httpd_ws *g_ws[64];
static int g_nws;
static atomic_int g_closes, g_last_code;

static int on_open(roster_httpd_ws *ws, const roster_httpd_request *req,
                   void *arg) {
  (void)req;
  (void)arg;
  pthread_mutex_lock(&g_mu);
  g_ws[g_nws++] = roster_httpd_ws_acquire(ws);
  pthread_mutex_unlock(&g_mu);
  return 0;
}

static void on_close(roster_httpd_ws *ws, int code, const char *reason,
                     void *arg) {
  (void)ws;
  (void)reason;
  (void)arg;
  atomic_store(&g_last_code, code);
  atomic_fetch_add(&g_closes, 1);
}

static roster_httpd *start(roster_httpd_options *o) {
  roster_httpd *s;
  assert_ok(roster_httpd_new(o, &s));
  assert_ok(roster_httpd_ws_route(
      s, &(roster_httpd_ws_route_options){
             .path = "/ws", .on_open = on_open, .on_close = on_close}));
  assert_ok(roster_httpd_start(s));
  g_nws = 0;
  atomic_store(&g_closes, 0);
  return s;
}

static void release_all(void) {
  for (int i = 0; i < g_nws; i++)
    roster_httpd_ws_release(g_ws[i]);
  g_nws = 0;
}

static void *broadcaster(void *p) {
  int id = (int)(intptr_t)p;
  for (int seq = 0; seq < PER_THREAD; seq++) {
    char text[32];
    int n = snprintf(text, sizeof text, "%d:%d", id, seq);
    roster_httpd_msg *m;
    if (roster_httpd_msg_new(ROSTER_HTTPD_WS_TEXT, text, (size_t)n, &m))
      return (void *)1;
    for (int c = 0; c < CLIENTS; c++)
      if (roster_httpd_ws_send_msg(g_ws[c], m) != ROSTER_OK)
        return (void *)1;
    roster_httpd_msg_release(m); /* the connections hold their own */
  }
  return NULL;
}

static void t_broadcast(void **state) {
  (void)state;
  roster_httpd *s = start(NULL);
  int fds[CLIENTS];
  for (int i = 0; i < CLIENTS; i++) {
    fds[i] = hc_ws_open(roster_httpd_port(s), "/ws", NULL, NULL);
    assert_true(fds[i] >= 0);
  }
  tu_wait_until(g_nws == CLIENTS, 3000);
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(
        pthread_create(&t[i], NULL, broadcaster, (void *)(intptr_t)i), 0);
  for (int c = 0; c < CLIENTS; c++) {
    int next[THREADS] = {0};
    for (int k = 0; k < THREADS * PER_THREAD; k++) {
      hc_frame f;
      assert_int_equal(hc_ws_read(fds[c], &f), 0);
      assert_int_equal(f.op, 1);
      int id, seq;
      f.p[f.len] = '\0';
      assert_int_equal(sscanf((char *)f.p, "%d:%d", &id, &seq), 2);
      assert_true(id >= 0 && id < THREADS);
      assert_int_equal(seq, next[id]); /* in order, none lost */
      next[id]++;
      hc_frame_free(&f);
    }
  }
  for (int i = 0; i < THREADS; i++) {
    void *rv;
    pthread_join(t[i], &rv);
    assert_null(rv);
  }
  roster_httpd_stats st;
  assert_ok(roster_httpd_stats_get(s, &st));
  assert_int_equal(st.ws_messages_out, CLIENTS * THREADS * PER_THREAD);
  assert_int_equal(st.dropped_sends, 0);
  for (int i = 0; i < CLIENTS; i++)
    close(fds[i]);
  assert_eventually_equal(atomic_load(&g_closes), CLIENTS, 3000);
  /* Gone: sends say so, the handles stay valid until released. */
  assert_rc(roster_httpd_ws_send(g_ws[0], ROSTER_HTTPD_WS_TEXT, "x", 1),
            ROSTER_ESTATE);
  roster_httpd_free(s);
  /* After the server is freed, too. */
  assert_rc(roster_httpd_ws_send(g_ws[1], ROSTER_HTTPD_WS_TEXT, "x", 1),
            ROSTER_ESTATE);
  release_all();
}

static void t_slow_consumer(void **state) {
  (void)state;
  roster_httpd_options o = {.max_queue = 64 * 1024, .slow_timeout_ms = 300};
  roster_httpd *s = start(&o);
  /* The slow one never reads. */
  int slow = hc_ws_open(roster_httpd_port(s), "/ws", NULL, NULL);
  int fast = hc_ws_open(roster_httpd_port(s), "/ws", NULL, NULL);
  assert_eventually_equal(g_nws, 2, 3000);
  static uint8_t chunk[16 * 1024];
  roster_httpd_msg *m;
  assert_ok(
      roster_httpd_msg_new(ROSTER_HTTPD_WS_BINARY, chunk, sizeof chunk, &m));
  /* A broadcaster that goes on: once the kernel's buffers are full, the
   * queue stays over its bound and sends are refused (the caller may drop
   * them) until the connection is closed. */
  int sent = 0, busy = 0, rc = ROSTER_OK;
  for (int i = 0; i < 100000 && atomic_load(&g_closes) == 0; i++) {
    rc = roster_httpd_ws_send_msg(g_ws[0], m);
    if (rc == ROSTER_OK)
      sent++;
    else if (rc == ROSTER_EBUSY)
      busy++, roster__tu_sleep_ms(1);
    else
      break;
  }
  assert_true(rc == ROSTER_EBUSY || rc == ROSTER_ESTATE);
  assert_true(busy >= 1);
  assert_true(sent >= 4);
  /* The other connection is served meanwhile. */
  assert_ok(roster_httpd_ws_send_msg(g_ws[1], m));
  hc_frame f;
  assert_int_equal(hc_ws_read(fast, &f), 0);
  assert_int_equal(f.len, sizeof chunk);
  hc_frame_free(&f);
  /* Still over its bound after slow_timeout_ms: closed. */
  assert_eventually_equal(atomic_load(&g_closes), 1, 3000);
  assert_int_equal(atomic_load(&g_last_code), 1008);
  assert_rc(roster_httpd_ws_send_msg(g_ws[0], m), ROSTER_ESTATE);
  roster_httpd_stats st;
  assert_ok(roster_httpd_stats_get(s, &st));
  assert_int_equal(st.slow_consumers, 1);
  assert_true(st.dropped_sends >= 1);
  assert_true(hc_closed(slow, 3000));
  roster_httpd_msg_release(m);
  close(slow);
  close(fast);
  roster_httpd_free(s);
  release_all();
}

/* ---- held requests answered from several threads ---- */

#define HELD 40
static roster_httpd_request *_Atomic g_reqs[HELD];
static atomic_int g_nreqs;

static void h_hold(roster_httpd_request *req, void *arg) {
  (void)arg;
  atomic_store(&g_reqs[atomic_fetch_add(&g_nreqs, 1)], req);
}

static void *answerer(void *p) {
  int id = (int)(intptr_t)p;
  for (int i = id; i < HELD; i += THREADS) {
    roster_httpd_request *req;
    while (!(req = atomic_load(&g_reqs[i])))
      roster__tu_sleep_ms(1);
    const char *q = roster_httpd_request_query(req);
    if (roster_httpd_respond(req, 200, NULL, q, strlen(q)) != ROSTER_OK)
      return (void *)1;
  }
  return NULL;
}

static void t_held_many_threads(void **state) {
  (void)state;
  roster_httpd *s;
  assert_ok(roster_httpd_new(NULL, &s));
  assert_ok(roster_httpd_route(
      s, &(roster_httpd_route_options){.prefix = "/", .handler = h_hold}));
  assert_ok(roster_httpd_start(s));
  atomic_store(&g_nreqs, 0);
  for (int i = 0; i < HELD; i++)
    atomic_store(&g_reqs[i], NULL);
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(pthread_create(&t[i], NULL, answerer, (void *)(intptr_t)i),
                     0);
  int fds[HELD];
  for (int i = 0; i < HELD; i++) {
    fds[i] = hc_connect(roster_httpd_port(s));
    char raw[64];
    snprintf(raw, sizeof raw, "GET /poll?n=%d HTTP/1.1\r\n\r\n", i);
    assert_true(hc_sends(fds[i], raw));
  }
  int seen[HELD] = {0};
  for (int i = 0; i < HELD; i++) {
    hc_resp r;
    assert_int_equal(hc_read_response(fds[i], &r), 0);
    assert_int_equal(r.status, 200);
    int n = -1;
    assert_int_equal(sscanf(r.body, "n=%d", &n), 1);
    assert_true(n >= 0 && n < HELD);
    seen[n]++;
    hc_resp_free(&r);
    close(fds[i]);
  }
  for (int i = 0; i < HELD; i++)
    assert_int_equal(seen[i], 1);
  for (int i = 0; i < THREADS; i++) {
    void *rv;
    pthread_join(t[i], &rv);
    assert_null(rv);
  }
  roster_httpd_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_broadcast),
      cmocka_unit_test(t_slow_consumer),
      cmocka_unit_test(t_held_many_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
