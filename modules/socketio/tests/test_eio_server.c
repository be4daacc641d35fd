/*
 * test_eio_server.c: the Engine.IO transport server over raw sockets
 * (the httpd tests' client): the handshake, each 400 answer, long-polling
 * both ways, a second GET, WebSocket direct and by upgrade, the heartbeat
 * and its timeout. Callbacks are recorded in a tu_log as "open",
 * "t:<text>", "b:<hex>", "close:<reason>".
 */
#include "testutil.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "eio_server.h"
#include "httpd_client.h"

static tu_log g_log;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static roster__eio_session *g_last; /* the last session opened (acquired) */

static void on_open(roster__eio_session *s, void *arg) {
  (void)arg;
  pthread_mutex_lock(&g_mu);
  if (g_last)
    roster__eio_session_release(g_last);
  g_last = roster__eio_session_acquire(s);
  pthread_mutex_unlock(&g_mu);
  roster__tu_log_add(&g_log, "open");
}

static void on_message(roster__eio_session *s, const void *data, size_t len,
                       bool binary, void *arg) {
  (void)s;
  (void)arg;
  char buf[60];
  if (binary) {
    size_t o = 0;
    for (size_t i = 0; i < len && o + 3 < sizeof buf; i++)
      o += (size_t)snprintf(buf + o, sizeof buf - o, "%02x",
                            ((const uint8_t *)data)[i]);
    buf[o] = 0;
    roster__tu_log_add(&g_log, "b:%s", buf);
  } else {
    roster__tu_log_add(&g_log, "t:%.*s", (int)len, (const char *)data);
  }
  if (len == 4 && memcmp(data, "echo", 4) == 0)
    assert_ok(roster__eio_send(s, "echoed", 6, false));
}

static void on_close(roster__eio_session *s, const char *reason, void *arg) {
  (void)s;
  (void)arg;
  roster__tu_log_add(&g_log, "close:%s", reason);
}

typedef struct fixture {
  roster_httpd *h;
  roster__eio_server *e;
  uint16_t port;
} fixture;

/* setup_with: a server with o's limits and the recording callbacks. */
static void setup_with(fixture *f, const roster_httpd_options *ho,
                       roster__eio_options o) {
  roster__tu_log_init(&g_log);
  assert_ok(roster_httpd_new(ho, &f->h));
  o.on_open = on_open;
  o.on_message = on_message;
  o.on_close = on_close;
  assert_ok(roster__eio_server_new(f->h, &o, &f->e));
  assert_ok(roster_httpd_start(f->h));
  f->port = roster_httpd_port(f->h);
}

static void setup(fixture *f, uint32_t interval, uint32_t timeout) {
  setup_with(f, NULL,
             (roster__eio_options){.ping_interval_ms = interval,
                                   .ping_timeout_ms = timeout});
}

static void stop_servers(fixture *f) {
  assert_ok(roster_httpd_stop(f->h, 1000));
  roster__eio_server_free(f->e);
  roster_httpd_free(f->h);
  f->h = NULL;
  f->e = NULL;
}

static void teardown(fixture *f) {
  if (f->h)
    stop_servers(f);
  pthread_mutex_lock(&g_mu);
  roster__eio_session_release(g_last);
  g_last = NULL;
  pthread_mutex_unlock(&g_mu);
  roster__tu_log_fini(&g_log);
}

static roster__eio_session *last(void) {
  pthread_mutex_lock(&g_mu);
  roster__eio_session *s = g_last;
  pthread_mutex_unlock(&g_mu);
  return s;
}

static roster__eio_stats stats(fixture *f) {
  roster__eio_stats st;
  roster__eio_stats_get(f->e, &st);
  return st;
}

/* get: one request on a new connection; the status, the body in buf. */
static int get(uint16_t port, const char *method, const char *query,
               const char *body, char *buf, size_t cap) {
  char raw[1024];
  snprintf(raw, sizeof raw,
           "%s /engine.io/?%s HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n"
           "\r\n%s",
           method, query, body ? strlen(body) : 0, body ? body : "");
  hc_resp r;
  int st = hc_request(port, raw, &r);
  if (st > 0) {
    snprintf(buf, cap, "%s", r.body);
    hc_resp_free(&r);
  }
  return st;
}

/* handshake: a polling handshake; the sid in sid (21 bytes). */
static void handshake(uint16_t port, char *sid) {
  char body[512];
  assert_int_equal(
      get(port, "GET", "EIO=4&transport=polling&t=x", NULL, body, sizeof body),
      200);
  assert_true(strncmp(body, "0{\"sid\":\"", 9) == 0);
  memcpy(sid, body + 9, 20);
  sid[20] = 0;
  assert_int_equal(body[29], '"');
}

/* poll_send: a GET with the sid on fd (not waiting for the answer). */
static void poll_send(int fd, const char *sid) {
  char raw[256];
  snprintf(raw, sizeof raw,
           "GET /engine.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\n"
           "Host: x\r\n\r\n",
           sid);
  assert_true(hc_sends(fd, raw));
}

static uint64_t stat_requests(fixture *f) {
  roster_httpd_stats st;
  assert_ok(roster_httpd_stats_get(f->h, &st));
  return st.requests;
}

static uint64_t stat_ws_open(fixture *f) {
  roster_httpd_stats st;
  assert_ok(roster_httpd_stats_get(f->h, &st));
  return st.ws_open;
}

/* poll_held: a GET on fd that the server has taken (and holds, with
 * nothing queued); the I/O thread handles what comes next after it. */
static void poll_held(fixture *f, int fd, const char *sid) {
  uint64_t before = stat_requests(f);
  poll_send(fd, sid);
  assert_eventually_equal(stat_requests(f), before + 1, 3000);
}

static void poll_read(int fd, const char *want) {
  hc_resp r;
  assert_int_equal(hc_read_response(fd, &r), 0);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, want);
  hc_resp_free(&r);
}

static void post(uint16_t port, const char *sid, const char *payload,
                 int want_status) {
  char q[128], body[256];
  snprintf(q, sizeof q, "EIO=4&transport=polling&sid=%s", sid);
  assert_int_equal(get(port, "POST", q, payload, body, sizeof body),
                   want_status);
  if (want_status == 200)
    assert_string_equal(body, "ok");
}

static void t_handshake(void **state) {
  (void)state;
  fixture f;
  setup(&f, 0, 0);
  char body[512], sid[21];
  assert_int_equal(
      get(f.port, "GET", "EIO=4&transport=polling", NULL, body, sizeof body),
      200);
  memcpy(sid, body + 9, 20);
  sid[20] = 0;
  char want[512];
  snprintf(want, sizeof want,
           "0{\"sid\":\"%s\",\"upgrades\":[\"websocket\"],\"pingInterval\":"
           "25000,\"pingTimeout\":20000,\"maxPayload\":1000000}",
           sid);
  assert_string_equal(body, want);
  for (int i = 0; i < 20; i++)
    assert_non_null(
        strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
               "0123456789-_",
               sid[i]));
  assert_int_equal(roster__tu_log_count(&g_log, "open"), 1);
  assert_string_equal(roster__eio_session_sid(last()), sid);
  assert_string_equal(roster__eio_session_transport(last()), "polling");
  assert_int_equal(roster__eio_sessions(f.e), 1);
  char sid2[21];
  handshake(f.port, sid2);
  assert_string_not_equal(sid, sid2);
  teardown(&f);
}

static void t_bad_requests(void **state) {
  (void)state;
  fixture f;
  setup(&f, 0, 0);
  static const struct {
    const char *method, *query, *body;
  } cases[] = {
      {"GET", "EIO=4&transport=carrier-pigeon",
       "{\"code\":0,\"message\":\"Transport unknown\"}"},
      {"GET", "EIO=4", "{\"code\":0,\"message\":\"Transport unknown\"}"},
      {"GET", "EIO=4&transport=polling&sid=nope",
       "{\"code\":1,\"message\":\"Session ID unknown\"}"},
      {"POST", "EIO=4&transport=polling",
       "{\"code\":2,\"message\":\"Bad handshake method\"}"},
      {"GET", "EIO=4&transport=websocket",
       "{\"code\":3,\"message\":\"Bad request\"}"},
      {"GET", "EIO=3&transport=polling",
       "{\"code\":5,\"message\":\"Unsupported protocol version\"}"},
      {"GET", "transport=polling",
       "{\"code\":5,\"message\":\"Unsupported protocol version\"}"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char raw[512];
    snprintf(raw, sizeof raw,
             "%s /engine.io/?%s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
             "\r\n",
             cases[i].method, cases[i].query);
    hc_resp r;
    assert_int_equal(hc_request(f.port, raw, &r), 400);
    assert_string_equal(r.body, cases[i].body);
    char ct[64];
    assert_string_equal(hc_header(&r, "Content-Type", ct, sizeof ct),
                        "application/json");
    hc_resp_free(&r);
  }
  /* a polling request for a WebSocket session */
  int fd =
      hc_ws_open(f.port, "/engine.io/?EIO=4&transport=websocket", NULL, NULL);
  assert_true(fd >= 0);
  hc_frame fr;
  assert_int_equal(hc_ws_read(fd, &fr), 0);
  char q[128], body[256];
  snprintf(q, sizeof q, "EIO=4&transport=polling&sid=%.20s", fr.p + 9);
  hc_frame_free(&fr);
  assert_int_equal(get(f.port, "GET", q, NULL, body, sizeof body), 400);
  assert_string_equal(body, "{\"code\":3,\"message\":\"Bad request\"}");
  close(fd);
  /* upgrades with a bad query or an unknown sid are refused */
  int st = 0;
  assert_int_equal(
      hc_ws_open(f.port, "/engine.io/?EIO=3&transport=websocket", NULL, &st),
      -1);
  assert_int_equal(st, 400);
  assert_int_equal(hc_ws_open(f.port,
                              "/engine.io/?EIO=4&transport=websocket&sid=nope",
                              NULL, &st),
                   -1);
  assert_int_equal(st, 400);
  teardown(&f);
}

static void t_long_poll(void **state) {
  (void)state;
  fixture f;
  setup(&f, 0, 0);
  char sid[21];
  handshake(f.port, sid);
  int fd = hc_connect(f.port);
  assert_true(fd >= 0);
  /* queued before the GET: both go out, joined */
  assert_ok(roster__eio_send(last(), "a", 1, false));
  assert_ok(roster__eio_send(last(), "\x01\x02\x03", 3, true));
  poll_send(fd, sid);
  poll_read(fd, "4a\x1e"
                "bAQID");
  /* a held GET answered when a message comes */
  poll_held(&f, fd, sid);
  assert_ok(roster__eio_send(last(), "h\xc3\xa9llo", 6, false));
  poll_read(fd, "4h\xc3\xa9llo");
  assert_rc(roster__eio_send(last(), "\xff", 1, false), ROSTER_EINVAL);
  /* the polling queue holds at most maxPayload bytes of messages */
  char *big = calloc(1, 1000001);
  assert_non_null(big);
  assert_rc(roster__eio_send(last(), big, 1000001, true), ROSTER_ERANGE);
  assert_ok(roster__eio_send(last(), big, 1000000, true));
  assert_rc(roster__eio_send(last(), big, 1, true), ROSTER_ERANGE);
  free(big);
  hc_resp r;
  poll_send(fd, sid);
  assert_int_equal(hc_read_response(fd, &r), 0);
  assert_int_equal(r.body_len, 1 + 1333336); /* "b" and the base64 */
  hc_resp_free(&r);
  /* the client's packets */
  post(f.port, sid,
       "4hi\x1e"
       "bAQI=\x1e"
       "4echo",
       200);
  assert_int_equal(roster__tu_log_find(&g_log, "t:hi", 0), 1);
  assert_int_equal(roster__tu_log_find(&g_log, "b:0102", 0), 2);
  assert_int_equal(roster__tu_log_find(&g_log, "t:echo", 0), 3);
  poll_send(fd, sid);
  poll_read(fd, "4echoed");
  /* the client's close packet ends the session */
  post(f.port, sid, "1", 200);
  assert_int_equal(roster__tu_log_count(&g_log, "close:transport close"), 1);
  assert_rc(roster__eio_send(last(), "x", 1, false), ROSTER_ESTATE);
  char q[128], body[256];
  snprintf(q, sizeof q, "EIO=4&transport=polling&sid=%s", sid);
  assert_int_equal(get(f.port, "GET", q, NULL, body, sizeof body), 400);
  assert_string_equal(body, "{\"code\":1,\"message\":\"Session ID unknown\"}");
  assert_int_equal(roster__eio_sessions(f.e), 0);
  close(fd);
  teardown(&f);
}

static void t_second_get_and_bad_payload(void **state) {
  (void)state;
  fixture f;
  setup(&f, 0, 0);
  char sid[21];
  handshake(f.port, sid);
  int fd = hc_connect(f.port);
  poll_held(&f, fd, sid);
  char q[128], body[256];
  snprintf(q, sizeof q, "EIO=4&transport=polling&sid=%s", sid);
  assert_int_equal(get(f.port, "GET", q, NULL, body, sizeof body), 400);
  assert_string_equal(body, "{\"code\":3,\"message\":\"Bad request\"}");
  poll_read(fd, "1"); /* the held GET gets the close packet */
  assert_int_equal(roster__tu_log_count(&g_log, "close:transport error"), 1);
  close(fd);
  /* an invalid payload closes the session */
  handshake(f.port, sid);
  post(f.port, sid,
       "4ok\x1e\x1e"
       "4x",
       400);
  assert_int_equal(roster__tu_log_count(&g_log, "close:parse error"), 1);
  assert_int_equal(roster__tu_log_count(&g_log, "t:ok"), 0); /* refused whole */
  /* a held GET whose client leaves ends the session */
  handshake(f.port, sid);
  fd = hc_connect(f.port);
  poll_held(&f, fd, sid);
  close(fd);
  tu_wait_until(roster__tu_log_count(&g_log, "close:transport error") == 2,
                3000);
  assert_int_equal(roster__tu_log_count(&g_log, "close:transport error"), 2);
  teardown(&f);
}

/* ws_expect reads one frame: op 1 with text want, or op 2 with bytes. */
static void ws_expect(int fd, int op, const char *want, size_t len) {
  hc_frame fr;
  assert_int_equal(hc_ws_read(fd, &fr), 0);
  assert_int_equal(fr.op, op);
  assert_int_equal(fr.len, len);
  assert_memory_equal(fr.p, want, len);
  hc_frame_free(&fr);
}

static void t_websocket_direct(void **state) {
  (void)state;
  fixture f;
  setup(&f, 0, 0);
  int fd =
      hc_ws_open(f.port, "/engine.io/?EIO=4&transport=websocket", NULL, NULL);
  assert_true(fd >= 0);
  hc_frame fr;
  assert_int_equal(hc_ws_read(fd, &fr), 0);
  assert_int_equal(fr.op, 1);
  char want[256];
  snprintf(want, sizeof want,
           "0{\"sid\":\"%.20s\",\"upgrades\":[],\"pingInterval\":25000,"
           "\"pingTimeout\":20000,\"maxPayload\":1000000}",
           fr.p + 9);
  assert_int_equal(fr.len, strlen(want));
  assert_memory_equal(fr.p, want, fr.len);
  hc_frame_free(&fr);
  assert_int_equal(roster__tu_log_count(&g_log, "open"), 1);
  assert_string_equal(roster__eio_session_transport(last()), "websocket");
  assert_true(hc_ws_frame(fd, true, 0, 1, true, "4hey", 4));
  assert_true(hc_ws_frame(fd, true, 0, 2, true, "\x05\x06", 2));
  assert_true(hc_ws_frame(fd, true, 0, 1, true, "4echo", 5));
  ws_expect(fd, 1, "4echoed", 7);
  assert_int_equal(roster__tu_log_find(&g_log, "t:hey", 0), 1);
  assert_int_equal(roster__tu_log_find(&g_log, "b:0506", 0), 2);
  assert_ok(roster__eio_send(last(), "\x00\xff", 2, true));
  ws_expect(fd, 2, "\x00\xff", 2);
  /* a frame that is no packet closes the session */
  assert_true(hc_ws_frame(fd, true, 0, 1, true, "9", 1));
  tu_wait_until(roster__tu_log_count(&g_log, "close:parse error") == 1, 3000);
  assert_int_equal(roster__tu_log_count(&g_log, "close:parse error"), 1);
  close(fd);
  /* the client closing the WebSocket ends its session */
  fd = hc_ws_open(f.port, "/engine.io/?EIO=4&transport=websocket", NULL, NULL);
  assert_int_equal(hc_ws_read(fd, &fr), 0);
  hc_frame_free(&fr);
  close(fd);
  tu_wait_until(roster__tu_log_count(&g_log, "close:transport close") == 1,
                3000);
  assert_int_equal(roster__tu_log_count(&g_log, "close:transport close"), 1);
  teardown(&f);
}

static void t_upgrade(void **state) {
  (void)state;
  fixture f;
  setup(&f, 0, 0);
  char sid[21], path[128];
  handshake(f.port, sid);
  int pfd = hc_connect(f.port);
  poll_held(&f, pfd, sid);
  snprintf(path, sizeof path, "/engine.io/?EIO=4&transport=websocket&sid=%s",
           sid);
  int fd = hc_ws_open(f.port, path, NULL, NULL);
  assert_true(fd >= 0);
  assert_true(hc_ws_frame(fd, true, 0, 1, true, "2probe", 6));
  ws_expect(fd, 1, "3probe", 6);
  poll_read(pfd, "6"); /* the pending poll ends with a noop */
  /* sent during the upgrade: waits, then goes over the WebSocket */
  assert_ok(roster__eio_send(last(), "early", 5, false));
  assert_string_equal(roster__eio_session_transport(last()), "polling");
  assert_true(hc_ws_frame(fd, true, 0, 1, true, "5", 1));
  ws_expect(fd, 1, "4early", 6);
  assert_string_equal(roster__eio_session_transport(last()), "websocket");
  assert_int_equal(stats(&f).upgrades, 1);
  assert_ok(roster__eio_send(last(), "late", 4, false));
  ws_expect(fd, 1, "4late", 5);
  assert_true(hc_ws_frame(fd, true, 0, 1, true, "4up", 3));
  tu_wait_until(roster__tu_log_count(&g_log, "t:up") == 1, 3000);
  assert_int_equal(roster__tu_log_count(&g_log, "t:up"), 1);
  /* polling is over for this session */
  char q[128], body[256];
  snprintf(q, sizeof q, "EIO=4&transport=polling&sid=%s", sid);
  assert_int_equal(get(f.port, "GET", q, NULL, body, sizeof body), 400);
  assert_string_equal(body, "{\"code\":3,\"message\":\"Bad request\"}");
  /* a failed probe leaves the session polling */
  char sid2[21];
  handshake(f.port, sid2);
  snprintf(path, sizeof path, "/engine.io/?EIO=4&transport=websocket&sid=%s",
           sid2);
  int fd2 = hc_ws_open(f.port, path, NULL, NULL);
  assert_true(fd2 >= 0);
  close(fd2);
  assert_eventually_equal(stat_ws_open(&f), 1, 3000); /* fd only */
  assert_ok(roster__eio_send(last(), "still", 5, false));
  poll_send(pfd, sid2);
  poll_read(pfd, "4still");
  assert_int_equal(roster__tu_log_count(&g_log, "close:transport close"), 0);
  close(pfd);
  close(fd);
  teardown(&f);
}

static void t_heartbeat(void **state) {
  (void)state;
  fixture f;
  setup(&f, 100, 150);
  char sid[21];
  uint64_t t0 = roster__tu_now_ns(); /* the ping timer starts at the open */
  handshake(f.port, sid);
  int fd = hc_connect(f.port);
  poll_send(fd, sid);
  poll_read(fd, "2"); /* the ping answers the held GET */
  assert_true(roster__tu_now_ns() - t0 >= 90u * 1000000u);
  post(f.port, sid, "3", 200);
  poll_send(fd, sid);
  poll_read(fd, "2"); /* the pong was taken: a second ping */
  assert_int_equal(roster__tu_log_count(&g_log, "close:ping timeout"), 0);
  /* no pong: closed after ping_timeout_ms */
  tu_wait_until(roster__tu_log_count(&g_log, "close:ping timeout") == 1, 3000);
  assert_int_equal(roster__tu_log_count(&g_log, "close:ping timeout"), 1);
  close(fd);
  /* the same over WebSocket */
  fd = hc_ws_open(f.port, "/engine.io/?EIO=4&transport=websocket", NULL, NULL);
  hc_frame fr;
  assert_int_equal(hc_ws_read(fd, &fr), 0);
  hc_frame_free(&fr);
  ws_expect(fd, 1, "2", 1);
  assert_true(hc_ws_frame(fd, true, 0, 1, true, "3", 1));
  ws_expect(fd, 1, "2", 1);
  assert_int_equal(hc_ws_close_code(fd), 1000);
  tu_wait_until(roster__tu_log_count(&g_log, "close:ping timeout") == 2, 3000);
  assert_int_equal(roster__tu_log_count(&g_log, "close:ping timeout"), 2);
  close(fd);
  teardown(&f);
}

static void t_shutdown(void **state) {
  (void)state;
  fixture f;
  setup(&f, 0, 0);
  char sid[21];
  handshake(f.port, sid);
  int fd =
      hc_ws_open(f.port, "/engine.io/?EIO=4&transport=websocket", NULL, NULL);
  assert_true(fd >= 0);
  tu_wait_until(roster__tu_log_count(&g_log, "open") == 2, 3000);
  roster__eio_close(last());
  assert_int_equal(hc_ws_close_code(fd), 1000);
  tu_wait_until(roster__tu_log_count(&g_log, "close:forced close") == 1, 3000);
  assert_int_equal(roster__tu_log_count(&g_log, "close:forced close"), 1);
  roster__eio_close(last()); /* a second close: nothing */
  assert_int_equal(roster__tu_log_count(&g_log, "close:forced close"), 1);
  close(fd);
  assert_int_equal(roster__eio_sessions(f.e), 1);
  stop_servers(&f); /* the polling session ends with the server */
  assert_int_equal(roster__tu_log_count(&g_log, "close:server shutting down"),
                   1);
  teardown(&f);
}

/* A probe that never sends the upgrade packet is closed after
 * upgrade_timeout_ms; the session keeps polling. */
static void t_upgrade_timeout(void **state) {
  (void)state;
  fixture f;
  setup_with(&f, NULL, (roster__eio_options){.upgrade_timeout_ms = 200});
  char sid[21], path[128];
  handshake(f.port, sid);
  snprintf(path, sizeof path, "/engine.io/?EIO=4&transport=websocket&sid=%s",
           sid);
  int fd = hc_ws_open(f.port, path, NULL, NULL);
  assert_true(fd >= 0);
  assert_true(hc_ws_frame(fd, true, 0, 1, true, "2probe", 6));
  ws_expect(fd, 1, "3probe", 6);
  uint64_t t0 = roster__tu_now_ns();
  assert_int_equal(hc_ws_close_code(fd), 1000); /* no "5": cut off */
  assert_true(roster__tu_now_ns() - t0 >= 100000000u);
  close(fd);
  assert_string_equal(roster__eio_session_transport(last()), "polling");
  assert_ok(roster__eio_send(last(), "still", 5, false));
  int pfd = hc_connect(f.port);
  poll_send(pfd, sid);
  poll_read(pfd, "4still");
  close(pfd);
  post(f.port, sid, "4after", 200);
  assert_int_equal(roster__tu_log_count(&g_log, "t:after"), 1);
  assert_int_equal(roster__eio_sessions(f.e), 1);
  assert_int_equal(roster__tu_log_count(&g_log, "close:transport close"), 0);
  teardown(&f);
}

/* A POST over max_payload is answered 413 and ends the session. */
static void t_post_too_large(void **state) {
  (void)state;
  fixture f;
  setup_with(&f, NULL, (roster__eio_options){.max_payload = 16});
  char sid[21];
  handshake(f.port, sid);
  post(f.port, sid, "4exactly-16-byte", 200); /* 16 bytes: at the bound */
  assert_int_equal(roster__tu_log_count(&g_log, "t:exactly-16-byte"), 1);
  post(f.port, sid, "4seventeen-bytes!", 413);
  assert_int_equal(roster__tu_log_count(&g_log, "close:transport error"), 1);
  assert_int_equal(roster__tu_log_count(&g_log, "t:seventeen-bytes!"), 0);
  assert_int_equal(roster__eio_sessions(f.e), 0);
  post(f.port, sid, "4late", 400); /* the session is gone */
  teardown(&f);
}

/* cors: a request on a new connection with an Origin header (and extra
 * header lines); the status, the response in r. */
static int cors(uint16_t port, const char *method, const char *origin,
                const char *extra, hc_resp *r) {
  char raw[1024];
  snprintf(raw, sizeof raw,
           "%s /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n"
           "Origin: %s\r\n%sContent-Length: 0\r\n\r\n",
           method, origin, extra ? extra : "");
  return hc_request(port, raw, r);
}

/* cors_expect: the status, and the CORS headers when allowed. */
static void cors_expect(uint16_t port, const char *method, const char *origin,
                        int want) {
  hc_resp r;
  char v[128];
  assert_int_equal(cors(port, method, origin, NULL, &r), want);
  if (want == 403) {
    assert_string_equal(r.body, "{\"code\":4,\"message\":\"Forbidden\"}");
    assert_null(hc_header(&r, "Access-Control-Allow-Origin", v, sizeof v));
  } else {
    assert_string_equal(
        hc_header(&r, "Access-Control-Allow-Origin", v, sizeof v), origin);
    assert_string_equal(
        hc_header(&r, "Access-Control-Allow-Credentials", v, sizeof v), "true");
  }
  hc_resp_free(&r);
}

/* By default only the same origin: another gets 403 (polling and
 * WebSocket alike); the allowed one gets the CORS headers, a preflight
 * 204 with the allow headers. */
static void t_origins_default(void **state) {
  (void)state;
  fixture f;
  setup(&f, 0, 0);
  cors_expect(f.port, "GET", "http://x", 200);
  cors_expect(f.port, "GET", "http://evil.example", 403);
  cors_expect(f.port, "POST", "http://evil.example", 403);
  cors_expect(f.port, "OPTIONS", "http://evil.example", 403);
  assert_int_equal(roster__tu_log_count(&g_log, "open"),
                   1); /* the first only */
  hc_resp r;
  char v[128];
  assert_int_equal(cors(f.port, "OPTIONS", "http://x",
                        "Access-Control-Request-Headers: content-type\r\n", &r),
                   204);
  assert_string_equal(hc_header(&r, "Access-Control-Allow-Origin", v, sizeof v),
                      "http://x");
  assert_string_equal(
      hc_header(&r, "Access-Control-Allow-Methods", v, sizeof v), "GET,POST");
  assert_string_equal(
      hc_header(&r, "Access-Control-Allow-Headers", v, sizeof v),
      "content-type");
  hc_resp_free(&r);
  int st = 0;
  assert_int_equal(hc_ws_open(f.port, "/engine.io/?EIO=4&transport=websocket",
                              "Origin: http://evil.example\r\n", &st),
                   -1);
  assert_int_equal(st, 403);
  assert_int_equal(roster__tu_log_count(&g_log, "open"), 1);
  teardown(&f);
}

/* A list of origins (the httpd's, so polling and WebSocket agree): only
 * those are allowed, the same origin no more. */
static void t_origins_list(void **state) {
  (void)state;
  fixture f;
  static const char *const origins[] = {"https://app.example", NULL};
  setup_with(&f, &(roster_httpd_options){.origins = origins},
             (roster__eio_options){0});
  cors_expect(f.port, "GET", "https://app.example", 200);
  cors_expect(f.port, "GET", "http://x", 403);
  int fd = hc_ws_open(f.port, "/engine.io/?EIO=4&transport=websocket",
                      "Origin: https://app.example\r\n", NULL);
  assert_true(fd >= 0);
  hc_frame fr;
  assert_int_equal(hc_ws_read(fd, &fr), 0);
  assert_int_equal(fr.p[0], '0'); /* the open packet */
  hc_frame_free(&fr);
  close(fd);
  int st = 0;
  assert_int_equal(hc_ws_open(f.port, "/engine.io/?EIO=4&transport=websocket",
                              "Origin: http://x\r\n", &st),
                   -1);
  assert_int_equal(st, 403);
  assert_int_equal(roster__tu_log_count(&g_log, "open"), 2);
  teardown(&f);
}

/* Past max_sessions a handshake gets 503, polling or WebSocket; the
 * stats count sessions, packets, bytes, closes by reason, refusals. */
static void t_max_sessions_and_stats(void **state) {
  (void)state;
  fixture f;
  setup_with(&f, NULL, (roster__eio_options){.max_sessions = 2});
  char sid1[21], sid2[21], body[256];
  handshake(f.port, sid1);
  handshake(f.port, sid2);
  assert_int_equal(
      get(f.port, "GET", "EIO=4&transport=polling", NULL, body, sizeof body),
      503);
  int st = 0;
  assert_int_equal(
      hc_ws_open(f.port, "/engine.io/?EIO=4&transport=websocket", NULL, &st),
      -1);
  assert_int_equal(st, 503);
  assert_int_equal(roster__tu_log_count(&g_log, "open"), 2);
  roster__eio_stats s = stats(&f);
  assert_int_equal(s.refused_handshakes, 2);
  assert_int_equal(s.sessions_open, 2);
  assert_int_equal(s.sessions_total, 2);
  assert_int_equal(s.packets_in, 0);
  post(f.port, sid1,
       "4hey\x1e"
       "4you",
       200);
  assert_ok(roster__eio_send(last(), "abc", 3, false));
  s = stats(&f);
  assert_int_equal(s.packets_in, 2);
  assert_int_equal(s.bytes_in, 6);
  assert_int_equal(s.packets_out, 1);
  assert_int_equal(s.bytes_out, 3);
  roster__eio_close(last()); /* sid2: "abc" waits for its GET */
  char q[96];
  snprintf(q, sizeof q, "EIO=4&transport=polling&sid=%s", sid2);
  assert_int_equal(get(f.port, "GET", q, NULL, body, sizeof body), 200);
  assert_string_equal(body, "4abc");
  assert_int_equal(get(f.port, "GET", q, NULL, body, sizeof body), 200);
  assert_string_equal(body, "1");
  post(f.port, sid1, "1", 200);
  s = stats(&f);
  assert_int_equal(s.sessions_open, 0);
  assert_int_equal(s.packets_in, 3);
  assert_string_equal(roster__eio_reasons[4], "forced close");
  assert_int_equal(s.closes[4], 1);
  assert_string_equal(roster__eio_reasons[0], "transport close");
  assert_int_equal(s.closes[0], 1);
  assert_int_equal(s.closes[1] + s.closes[2] + s.closes[3] + s.closes[5], 0);
  handshake(f.port, sid1); /* room again */
  assert_int_equal(stats(&f).sessions_total, 3);
  assert_int_equal(stats(&f).upgrades, 0);
  teardown(&f);
}

/* roster__eio_close over polling with packets waiting: the next GET takes
 * them, the one after gets the close packet (engine.io drains before it
 * closes); a client that never comes back is closed after pingTimeout. A
 * session with nothing waiting, or on a WebSocket, closes at once. */
static void t_close_drains(void **state) {
  (void)state;
  fixture f;
  setup(&f, 60000, 300);
  char sid[21], q[96], body[256];
  handshake(f.port, sid);
  snprintf(q, sizeof q, "EIO=4&transport=polling&sid=%s", sid);
  assert_ok(roster__eio_send(last(), "bye", 3, false));
  assert_ok(roster__eio_send(last(), "\x01", 1, true));
  roster__eio_close(last());
  roster__eio_close(last()); /* closing already: nothing */
  assert_int_equal(roster__eio_sessions(f.e), 1);
  assert_int_equal(roster__tu_log_count(&g_log, "close:forced close"), 0);
  assert_ok(roster__eio_send(last(), "more", 4, false)); /* still open */
  assert_int_equal(get(f.port, "GET", q, NULL, body, sizeof body), 200);
  assert_string_equal(body, "4bye\x1e"
                            "bAQ==\x1e"
                            "4more");
  assert_int_equal(get(f.port, "GET", q, NULL, body, sizeof body), 200);
  assert_string_equal(body, "1");
  assert_int_equal(roster__tu_log_count(&g_log, "close:forced close"), 1);
  assert_int_equal(roster__eio_sessions(f.e), 0);
  assert_int_equal(get(f.port, "GET", q, NULL, body, sizeof body), 400);

  /* nobody comes for what waits: closed after pingTimeout */
  handshake(f.port, sid);
  assert_ok(roster__eio_send(last(), "lost", 4, false));
  uint64_t t0 = roster__tu_now_ns();
  roster__eio_close(last());
  tu_wait_until(roster__eio_sessions(f.e) == 0, 3000);
  assert_int_equal(roster__eio_sessions(f.e), 0);
  assert_true(roster__tu_now_ns() - t0 >= 250u * 1000000u);
  assert_int_equal(roster__tu_log_count(&g_log, "close:forced close"), 2);

  /* nothing waiting: at once */
  handshake(f.port, sid);
  roster__eio_close(last());
  assert_int_equal(roster__eio_sessions(f.e), 0);
  assert_int_equal(roster__tu_log_count(&g_log, "close:forced close"), 3);
  teardown(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_handshake),
      cmocka_unit_test(t_bad_requests),
      cmocka_unit_test(t_long_poll),
      cmocka_unit_test(t_second_get_and_bad_payload),
      cmocka_unit_test(t_websocket_direct),
      cmocka_unit_test(t_upgrade),
      cmocka_unit_test(t_heartbeat),
      cmocka_unit_test(t_shutdown),
      cmocka_unit_test(t_close_drains),
      cmocka_unit_test(t_upgrade_timeout),
      cmocka_unit_test(t_post_too_large),
      cmocka_unit_test(t_origins_default),
      cmocka_unit_test(t_origins_list),
      cmocka_unit_test(t_max_sessions_and_stats),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
