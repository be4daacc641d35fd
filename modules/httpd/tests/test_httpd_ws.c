/*
 * test_httpd_ws.c: RFC 6455 over raw sockets: the handshake (accept key,
 * version, key, Origin, on_open's refusal), echo at lengths 0..65536,
 * ping/pong, fragments with an interleaved ping, and every frame a server
 * must refuse, each with its close code: unmasked client frames, reserved
 * bits and opcodes, oversized or fragmented control frames, bad
 * continuations (1002), invalid UTF-8 (1007), close codes, messages over
 * the bound (1009); on_close's code for each ending (peer, protocol
 * error, server close, stop 1001, a vanished client 1006).
 */
#include "testutil.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include <roster/httpd.h>

#include "httpd_client.h"

#define MAX_MESSAGE 70000

static atomic_int g_opens, g_closes, g_last_code;
static char g_last_reason[128];

static int on_open(roster_httpd_ws *ws, const roster_httpd_request *req,
                   void *arg) {
  (void)ws;
  (void)arg;
  atomic_fetch_add(&g_opens, 1);
  const char *q = roster_httpd_request_query(req);
  return strcmp(q, "refuse") == 0 ? 403 : 0;
}

static void on_message(roster_httpd_ws *ws, roster_httpd_ws_kind kind,
                       const void *data, size_t len, void *arg) {
  (void)arg;
  if (kind == ROSTER_HTTPD_WS_TEXT && len == 3 && memcmp(data, "bye", 3) == 0) {
    assert_ok(roster_httpd_ws_close(ws, 4000, "done"));
    assert_rc(roster_httpd_ws_close(ws, 4000, "again"), ROSTER_ESTATE);
    assert_rc(roster_httpd_ws_send(ws, kind, "x", 1), ROSTER_ESTATE);
    return;
  }
  assert_ok(roster_httpd_ws_send(ws, kind, data, len));
}

static void on_close(roster_httpd_ws *ws, int code, const char *reason,
                     void *arg) {
  (void)ws;
  (void)arg;
  snprintf(g_last_reason, sizeof g_last_reason, "%s", reason);
  atomic_store(&g_last_code, code);
  atomic_fetch_add(&g_closes, 1);
}

static roster_httpd *start(const char *const *origins) {
  roster_httpd *s;
  roster_httpd_options o = {.max_message = MAX_MESSAGE, .origins = origins};
  assert_ok(roster_httpd_new(&o, &s));
  roster_httpd_ws_route_options r = {.path = "/ws",
                                     .on_open = on_open,
                                     .on_message = on_message,
                                     .on_close = on_close};
  assert_ok(roster_httpd_ws_route(s, &r));
  assert_rc(roster_httpd_ws_route(s, &r), ROSTER_EEXIST);
  assert_ok(roster_httpd_start(s));
  atomic_store(&g_opens, 0);
  atomic_store(&g_closes, 0);
  atomic_store(&g_last_code, 0);
  return s;
}

/* wait_close: the n-th on_close has come; its code. */
static int wait_close(int n) {
  tu_wait_until(atomic_load(&g_closes) >= n, 3000);
  assert_int_equal(atomic_load(&g_closes), n);
  return atomic_load(&g_last_code);
}

static int upgrade_status(uint16_t port, const char *raw) {
  hc_resp r;
  int st = hc_request(port, raw, &r);
  hc_resp_free(&r);
  return st;
}

static void t_handshake(void **state) {
  (void)state;
  roster_httpd *s = start(NULL);
  uint16_t port = roster_httpd_port(s);
  int st;
  int fd = hc_ws_open(port, "/ws", NULL, &st);
  assert_true(fd >= 0);
  close(fd);
  char raw[1024];
  const char *key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
  const char *up = "Upgrade: websocket\r\nConnection: Upgrade\r\n";
  snprintf(raw, sizeof raw,
           "GET /ws HTTP/1.1\r\n%s%sSec-WebSocket-Version: 8"
           "\r\n\r\n",
           up, key);
  hc_resp r;
  assert_int_equal(hc_request(port, raw, &r), 426);
  char v[32];
  assert_string_equal(hc_header(&r, "Sec-WebSocket-Version", v, sizeof v),
                      "13");
  hc_resp_free(&r);
  snprintf(raw, sizeof raw,
           "GET /ws HTTP/1.1\r\n%sSec-WebSocket-Version: 13"
           "\r\n\r\n",
           up);
  assert_int_equal(upgrade_status(port, raw), 400); /* no key */
  snprintf(raw, sizeof raw,
           "GET /ws HTTP/1.1\r\n%sSec-WebSocket-Key: abc\r\n"
           "Sec-WebSocket-Version: 13\r\n\r\n",
           up);
  assert_int_equal(upgrade_status(port, raw), 400); /* a bad key */
  snprintf(raw, sizeof raw,
           "GET /nows HTTP/1.1\r\n%s%s"
           "Sec-WebSocket-Version: 13\r\n\r\n",
           up, key);
  assert_int_equal(upgrade_status(port, raw), 404);
  snprintf(raw, sizeof raw,
           "GET /ws HTTP/1.0\r\n%s%s"
           "Sec-WebSocket-Version: 13\r\n\r\n",
           up, key);
  assert_int_equal(upgrade_status(port, raw), 400);
  assert_int_equal(hc_ws_open(port, "/ws?refuse", NULL, &st), -1);
  assert_int_equal(st, 403);
  /* Origin: the same origin only, by default. */
  assert_int_equal(
      hc_ws_open(port, "/ws", "Origin: http://evil.example\r\n", &st), -1);
  assert_int_equal(st, 403);
  char same[64];
  snprintf(same, sizeof same, "Origin: http://127.0.0.1:%u\r\n",
           (unsigned)port);
  fd = hc_ws_open(port, "/ws", same, &st);
  assert_true(fd >= 0);
  close(fd);
  roster_httpd_stats stats;
  assert_ok(roster_httpd_stats_get(s, &stats));
  assert_int_equal(stats.bad_requests, 7);
  roster_httpd_free(s);

  const char *allowed[] = {"https://app.example", NULL};
  s = start(allowed);
  port = roster_httpd_port(s);
  fd = hc_ws_open(port, "/ws", "Origin: https://app.example\r\n", &st);
  assert_true(fd >= 0);
  close(fd);
  snprintf(same, sizeof same, "Origin: http://127.0.0.1:%u\r\n",
           (unsigned)port);
  assert_int_equal(hc_ws_open(port, "/ws", same, &st), -1);
  assert_int_equal(st, 403);
  roster_httpd_free(s);
}

/* echo: one message out, the same back. */
static void echo(int fd, int op, const uint8_t *p, size_t n) {
  assert_true(hc_ws_frame(fd, true, 0, op, true, p, n));
  hc_frame f;
  assert_int_equal(hc_ws_read(fd, &f), 0);
  assert_int_equal(f.op, op);
  assert_true(f.fin);
  assert_int_equal(f.len, n);
  assert_memory_equal(f.p, p, n);
  hc_frame_free(&f);
}

static void t_echo_lengths(void **state) {
  (void)state;
  roster_httpd *s = start(NULL);
  int fd = hc_ws_open(roster_httpd_port(s), "/ws", NULL, NULL);
  assert_true(fd >= 0);
  uint8_t *buf = malloc(65536);
  for (size_t i = 0; i < 65536; i++)
    buf[i] = (uint8_t)('a' + i % 26);
  size_t n = 0;
  while (n <= 65536) {
    echo(fd, 1, buf, n);
    echo(fd, 2, buf, n);
    /* every length up to 300 and around each frame-size boundary */
    if (n < 300 || (n >= 65530 && n < 65536))
      n++;
    else if (n == 300)
      n = 1000;
    else if (n < 65530)
      n = n * 3 / 2 > 65530 ? 65530 : n * 3 / 2;
    else
      break;
  }
  echo(fd, 2, buf, 65536);
  free(buf);
  roster_httpd_stats st;
  assert_ok(roster_httpd_stats_get(s, &st));
  assert_true(st.ws_messages_in >= 600);
  assert_int_equal(st.ws_messages_in, st.ws_messages_out);
  assert_int_equal(st.ws_bytes_in, st.ws_bytes_out);
  assert_int_equal(st.ws_open, 1);
  close(fd);
  assert_int_equal(wait_close(1), 1006); /* gone without a close frame */
  assert_ok(roster_httpd_stats_get(s, &st));
  assert_int_equal(st.ws_open, 0);
  roster_httpd_free(s);
}

static void t_ping_and_fragments(void **state) {
  (void)state;
  roster_httpd *s = start(NULL);
  int fd = hc_ws_open(roster_httpd_port(s), "/ws", NULL, NULL);
  uint8_t p125[125];
  memset(p125, 'p', sizeof p125);
  assert_true(hc_ws_frame(fd, true, 0, 9, true, p125, 125));
  hc_frame f;
  assert_int_equal(hc_ws_read(fd, &f), 0);
  assert_int_equal(f.op, 10);
  assert_int_equal(f.len, 125);
  assert_memory_equal(f.p, p125, 125);
  hc_frame_free(&f);
  /* A pong nobody asked for is ignored. */
  assert_true(hc_ws_frame(fd, true, 0, 10, true, "u", 1));
  /* "κόσμε" cut inside a code point, with a ping between fragments. */
  const char *kosme = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";
  assert_true(hc_ws_frame(fd, false, 0, 1, true, kosme, 3));
  assert_true(hc_ws_frame(fd, true, 0, 9, true, "mid", 3));
  assert_true(hc_ws_frame(fd, false, 0, 0, true, kosme + 3, 0));
  assert_true(hc_ws_frame(fd, true, 0, 0, true, kosme + 3, 8));
  assert_int_equal(hc_ws_read(fd, &f), 0);
  assert_int_equal(f.op, 10);
  assert_memory_equal(f.p, "mid", 3);
  hc_frame_free(&f);
  assert_int_equal(hc_ws_read(fd, &f), 0);
  assert_int_equal(f.op, 1);
  assert_int_equal(f.len, 11);
  assert_memory_equal(f.p, kosme, 11);
  hc_frame_free(&f);
  /* A binary message in 100 fragments. */
  uint8_t big[10000];
  for (size_t i = 0; i < sizeof big; i++)
    big[i] = (uint8_t)i;
  for (int i = 0; i < 100; i++)
    assert_true(
        hc_ws_frame(fd, i == 99, 0, i ? 0 : 2, true, big + i * 100, 100));
  assert_int_equal(hc_ws_read(fd, &f), 0);
  assert_int_equal(f.op, 2);
  assert_int_equal(f.len, sizeof big);
  assert_memory_equal(f.p, big, sizeof big);
  hc_frame_free(&f);
  /* The client closes: the code is echoed, on_close has it. */
  assert_true(hc_ws_frame(fd, true, 0, 8, true, "\x0f\xa0see you", 9));
  assert_int_equal(hc_ws_close_code(fd), 4000);
  assert_true(hc_closed(fd, 3000));
  close(fd);
  assert_int_equal(wait_close(1), 4000);
  assert_string_equal(g_last_reason, "see you");
  roster_httpd_free(s);
}

/* refused: the frames (sent as given) end the connection with code; the
 * server goes on serving another connection. */
typedef struct fr {
  bool fin;
  int rsv, op;
  bool mask;
  const char *p;
  size_t n;
} fr;

static void refused(roster_httpd *s, int code, const fr *frames, size_t nf) {
  static int closes;
  if (atomic_load(&g_closes) == 0)
    closes = 0;
  uint16_t port = roster_httpd_port(s);
  int fd = hc_ws_open(port, "/ws", NULL, NULL);
  assert_true(fd >= 0);
  for (size_t i = 0; i < nf; i++)
    hc_ws_frame(fd, frames[i].fin, frames[i].rsv, frames[i].op, frames[i].mask,
                frames[i].p, frames[i].n);
  int got = hc_ws_close_code(fd);
  if (got != code)
    print_error("frame %d/%d: close %d, want %d\n", frames[0].op, frames[0].rsv,
                got, code);
  assert_int_equal(got, code);
  assert_true(hc_closed(fd, 3000));
  close(fd);
  assert_int_equal(wait_close(++closes), code);
  fd = hc_ws_open(port, "/ws", NULL, NULL);
  echo(fd, 1, (const uint8_t *)"still here", 10);
  close(fd);
  wait_close(++closes);
}

#define REFUSED(s, code, ...)                                                  \
  do {                                                                         \
    const fr f_[] = {__VA_ARGS__};                                             \
    refused(s, code, f_, sizeof f_ / sizeof *f_);                              \
  } while (0)

static void t_protocol_errors(void **state) {
  (void)state;
  roster_httpd *s = start(NULL);
  char p126[126];
  memset(p126, 'x', sizeof p126);
  REFUSED(s, 1002, {true, 0, 9, true, p126, 126});      /* control > 125 */
  REFUSED(s, 1002, {false, 0, 9, true, "p", 1});        /* fragmented ping */
  REFUSED(s, 1002, {true, 0, 1, false, "unmasked", 8}); /* unmasked */
  for (int rsv = 1; rsv < 8; rsv++)
    REFUSED(s, 1002, {true, rsv, 1, true, "r", 1});
  for (int op = 3; op < 16; op++)
    if (op < 8 || op > 10)
      REFUSED(s, 1002, {true, 0, op, true, "o", 1});
  REFUSED(s, 1002, {true, 0, 0, true, "cont", 4}); /* continuation of none */
  REFUSED(s, 1002, {false, 0, 1, true, "a", 1},
          {true, 0, 1, true, "b", 1}); /* a new message inside one */
  /* UTF-8: a bad byte, an overlong form, a surrogate, a code point past
   * U+10FFFF, a bad byte in a later fragment, a message cut short. */
  REFUSED(s, 1007, {true, 0, 1, true, "ok\xff", 3});
  REFUSED(s, 1007, {true, 0, 1, true, "\xc0\xaf", 2});
  REFUSED(s, 1007, {true, 0, 1, true, "\xed\xa0\x80", 3});
  REFUSED(s, 1007, {true, 0, 1, true, "\xf4\x90\x80\x80", 4});
  REFUSED(s, 1007, {false, 0, 1, true, "fine", 4},
          {true, 0, 0, true, "\xce\xba\x80", 3});
  REFUSED(s, 1007, {false, 0, 1, true, "\xce", 1}, {true, 0, 0, true, "", 0});
  /* Close frames: valid codes are echoed, others refused. */
  int echoed[] = {1000, 1001, 1003, 1007, 1011, 3000, 4999};
  for (size_t i = 0; i < sizeof echoed / sizeof *echoed; i++) {
    char c[2] = {(char)(echoed[i] >> 8), (char)echoed[i]};
    REFUSED(s, echoed[i], {true, 0, 8, true, c, 2});
  }
  int bad[] = {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char c[2] = {(char)(bad[i] >> 8), (char)bad[i]};
    REFUSED(s, 1002, {true, 0, 8, true, c, 2});
  }
  REFUSED(s, 1005, {true, 0, 8, true, "", 0}); /* no code: none back */
  REFUSED(s, 1002, {true, 0, 8, true, "\x03", 1});
  REFUSED(s, 1007, {true, 0, 8, true, "\x03\xe8\xff", 3});
  /* Over max_message, in one frame or across fragments. */
  char *big = calloc(1, MAX_MESSAGE + 1);
  REFUSED(s, 1009, {true, 0, 2, true, big, MAX_MESSAGE + 1});
  REFUSED(s, 1009, {false, 0, 2, true, big, MAX_MESSAGE / 2},
          {false, 0, 0, true, big, MAX_MESSAGE / 2},
          {true, 0, 0, true, big, 2});
  free(big);
  roster_httpd_free(s);
}

static void t_server_side_close(void **state) {
  (void)state;
  roster_httpd *s = start(NULL);
  int fd = hc_ws_open(roster_httpd_port(s), "/ws", NULL, NULL);
  echo(fd, 1, (const uint8_t *)"first", 5);
  assert_true(hc_ws_frame(fd, true, 0, 1, true, "bye", 3));
  hc_frame f;
  assert_int_equal(hc_ws_read(fd, &f), 0);
  assert_int_equal(f.op, 8);
  assert_int_equal(f.len, 6);
  assert_memory_equal(f.p,
                      "\x0f\xa0"
                      "done",
                      6);
  hc_frame_free(&f);
  assert_int_equal(wait_close(1), 4000);
  assert_true(hc_ws_frame(fd, true, 0, 8, true, "\x0f\xa0", 2));
  assert_true(hc_closed(fd, 3000));
  close(fd);

  /* A graceful stop: 1001 to every WebSocket. */
  int a = hc_ws_open(roster_httpd_port(s), "/ws", NULL, NULL);
  int b = hc_ws_open(roster_httpd_port(s), "/ws", NULL, NULL);
  echo(a, 1, (const uint8_t *)"x", 1);
  echo(b, 1, (const uint8_t *)"y", 1);
  assert_ok(roster_httpd_stop(s, 2000));
  assert_int_equal(hc_ws_close_code(a), 1001);
  assert_int_equal(hc_ws_close_code(b), 1001);
  assert_int_equal(atomic_load(&g_closes), 3);
  assert_int_equal(atomic_load(&g_last_code), 1001);
  close(a);
  close(b);
  roster_httpd_free(s);
}

static void t_messages(void **state) {
  (void)state;
  roster_httpd_msg *m;
  assert_rc(roster_httpd_msg_new(ROSTER_HTTPD_WS_TEXT, "\xff", 1, &m),
            ROSTER_EINVAL);
  assert_null(m);
  assert_rc(roster_httpd_msg_new(3, "x", 1, &m), ROSTER_EINVAL);
  assert_rc(roster_httpd_msg_new(ROSTER_HTTPD_WS_BINARY, NULL, 1, &m),
            ROSTER_EINVAL);
  assert_ok(roster_httpd_msg_new(ROSTER_HTTPD_WS_BINARY, NULL, 0, &m));
  roster_httpd_msg_release(m);
  roster_httpd_msg_release(NULL);
  assert_rc(roster_httpd_ws_send_msg(NULL, NULL), ROSTER_EINVAL);
  assert_rc(roster_httpd_ws_close(NULL, 1000, NULL), ROSTER_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_handshake),
      cmocka_unit_test(t_echo_lengths),
      cmocka_unit_test(t_ping_and_fragments),
      cmocka_unit_test(t_protocol_errors),
      cmocka_unit_test(t_server_side_close),
      cmocka_unit_test(t_messages),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
