/*
 * fuzz_http.c: the httpd module's input path (HTTP requests through
 * libhttp-parser, the WebSocket upgrade, client frames through libwslay's
 * frame reader and roster's checks) on a connection without a socket,
 * whose output is kept.
 *
 * Input: the first byte: bit 0 puts a valid upgrade to /ws in front of
 * the rest (so the rest is client frames); bits 1-7 give the size of the
 * pieces the rest is fed in (1 to 128 bytes). The rest: what the client
 * sends. Routes: "/" answers with the body it got, "/hold" keeps the
 * request (answered after the connection ends), "/ws" echoes messages.
 *
 * Properties:
 *  - the output is a run of HTTP responses, each "HTTP/1.1 " with a known
 *    status, a Content-Length and that many bytes; after a 101 only
 *    server frames follow: unmasked, no reserved bits, a known opcode,
 *    control frames of at most 125 bytes, nothing after a close frame,
 *    whose code (if any) may be sent;
 *  - every text message echoed is valid UTF-8 (the check let it in);
 *  - on_close comes exactly once for each on_open;
 *  - nothing leaks (the replay runs under ASan) and a held request
 *    answered after its connection ended says ROSTER_ESTATE.
 *
 * Inputs up to 8192 bytes.
 * fuzz-max-len: 8192
 * fuzz-link: roster_httpd_static
 */
#include "fuzz_util.h"

#include "../modules/httpd/httpd_impl.h"

static roster_httpd *srv;
static int opens, closes;
static roster_httpd_request *held;

static void h_echo(roster_httpd_request *req, void *arg) {
  (void)arg;
  size_t n;
  const void *b = roster_httpd_request_body(req, &n);
  const char *hv[] = {"X-Path", roster_httpd_request_path(req), NULL};
  roster_httpd_respond(req, 200, hv, b, n);
}

static void h_hold(roster_httpd_request *req, void *arg) {
  (void)arg;
  held = req;
}

static int on_open(roster_httpd_ws *ws, const roster_httpd_request *req,
                   void *arg) {
  (void)ws, (void)req, (void)arg;
  opens++;
  return 0;
}

static void on_message(roster_httpd_ws *ws, roster_httpd_ws_kind kind,
                       const void *data, size_t len, void *arg) {
  (void)arg;
  FUZZ_CHECK(kind != ROSTER_HTTPD_WS_TEXT ||
                 roster__httpd_utf8(0, data, len) == 0,
             "a text message that is not UTF-8 got through");
  roster_httpd_ws_send(ws, kind, data, len);
}

static void on_close(roster_httpd_ws *ws, int code, const char *reason,
                     void *arg) {
  (void)ws, (void)code, (void)reason, (void)arg;
  closes++;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  roster_httpd_options o = {
      .max_head = 1024, .max_body = 4096, .max_message = 8192};
  if (roster_httpd_new(&o, &srv) != ROSTER_OK)
    abort();
  roster_httpd_route(
      srv, &(roster_httpd_route_options){.prefix = "/", .handler = h_echo});
  roster_httpd_route(
      srv, &(roster_httpd_route_options){.prefix = "/hold", .handler = h_hold});
  roster_httpd_ws_route(
      srv, &(roster_httpd_ws_route_options){.path = "/ws",
                                            .on_open = on_open,
                                            .on_message = on_message,
                                            .on_close = on_close});
  return 0;
}

static bool status_known(int st) {
  static const int known[] = {100, 101, 200, 400, 403, 404, 413, 426, 431, 500};
  for (size_t i = 0; i < sizeof known / sizeof *known; i++)
    if (st == known[i])
      return true;
  return false;
}

/* check_frames: server frames from p to the end. */
static void check_frames(const uint8_t *p, size_t n) {
  size_t i = 0;
  while (i < n) {
    FUZZ_CHECK(n - i >= 2, "a cut frame header");
    uint8_t op = p[i] & 15;
    FUZZ_CHECK((p[i] & 0xf0) == 0x80, "a frame with fin off or rsv bits");
    FUZZ_CHECK(!(p[i + 1] & 0x80), "a masked server frame");
    FUZZ_CHECK(op == 1 || op == 2 || op == 8 || op == 9 || op == 10,
               "opcode %d", op);
    uint64_t len = p[i + 1] & 0x7f;
    size_t h = 2;
    if (len == 126) {
      FUZZ_CHECK(n - i >= 4, "a cut length");
      len = (uint64_t)p[i + 2] << 8 | p[i + 3];
      h = 4;
    } else if (len == 127) {
      FUZZ_CHECK(n - i >= 10, "a cut length");
      len = 0;
      for (int k = 0; k < 8; k++)
        len = len << 8 | p[i + 2 + k];
      h = 10;
    }
    FUZZ_CHECK(len <= n - i - h, "a frame longer than the output");
    FUZZ_CHECK(op < 8 || len <= 125, "a control frame of %llu bytes",
               (unsigned long long)len);
    if (op == 1)
      FUZZ_CHECK(roster__httpd_utf8(0, p + i + h, len) == 0,
                 "a text frame that is not UTF-8");
    if (op == 8) {
      FUZZ_CHECK(i + h + len == n, "bytes after a close frame");
      FUZZ_CHECK(len != 1, "a close frame of one byte");
      if (len >= 2) {
        int code = p[i + h] << 8 | p[i + h + 1];
        FUZZ_CHECK((code >= 1000 && code <= 1003) ||
                       (code >= 1007 && code <= 1014) ||
                       (code >= 3000 && code <= 4999),
                   "close code %d", code);
      }
    }
    i += h + len;
  }
}

/* check_output: the bytes written are whole responses. A response to
 * HEAD has its Content-Length and no body; which responses answer a HEAD
 * is not tracked here, so when the input holds a HEAD, a response whose
 * body would not be followed by the next response (or the end) is taken
 * as one with no body. */
static void check_output(const uint8_t *p, size_t n, bool saw_head) {
  size_t i = 0;
  while (i < n) {
    FUZZ_CHECK(n - i > 12 && memcmp(p + i, "HTTP/1.1 ", 9) == 0,
               "output that is not a response");
    int st = atoi((const char *)p + i + 9);
    FUZZ_CHECK(status_known(st), "status %d", st);
    const uint8_t *e = memmem(p + i, n - i, "\r\n\r\n", 4);
    FUZZ_CHECK(e != NULL, "a cut response head");
    size_t head = (size_t)(e + 4 - (p + i));
    if (st == 101) {
      check_frames(e + 4, n - i - head);
      return;
    }
    size_t len = 0;
    if (st != 100) {
      const uint8_t *cl = memmem(p + i, head, "Content-Length: ", 16);
      FUZZ_CHECK(cl != NULL, "a response without Content-Length");
      len = strtoul((const char *)cl + 16, NULL, 10);
    }
    size_t next = head + len;
    if (saw_head && (len > n - i - head ||
                     (next < n - i && (n - i - next < 9 ||
                                       memcmp(p + i + next, "HTTP/1.1 ", 9)))))
      next = head; /* a HEAD's answer: the head only */
    FUZZ_CHECK(next <= n - i, "a body longer than the output");
    i += next;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_begin(data, size);
  if (size < 1)
    return 0;
  static const char upgrade[] =
      "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\n\r\n";
  size_t piece = 1 + (data[0] >> 1);
  roster__httpd_buf out = {0};
  opens = closes = 0;
  held = NULL;
  roster_httpd_ws *c = roster__httpd_fake_conn(srv, &out);
  FUZZ_CHECK(c != NULL, "no connection");
  roster__httpd_conn_ref(c);
  if (data[0] & 1)
    roster__httpd_input(c, (const uint8_t *)upgrade, sizeof upgrade - 1);
  for (size_t i = 1; i < size && c->state != CS_DEAD; i += piece) {
    size_t n = size - i < piece ? size - i : piece;
    uint8_t *copy = (uint8_t *)fuzz_copy_exact(data + i, n);
    roster__httpd_input(c, copy, n);
    free(copy);
    roster__httpd_fake_drain(srv);
  }
  check_output((const uint8_t *)out.p, out.len,
               memmem(data, size, "HEAD", 4) != NULL);
  roster__httpd_destroy(c);
  roster__httpd_fake_drain(srv);
  FUZZ_CHECK(opens == closes, "%d on_open, %d on_close", opens, closes);
  if (held)
    FUZZ_CHECK(roster_httpd_respond(held, 200, NULL, NULL, 0) == ROSTER_ESTATE,
               "a held request answered after its connection ended");
  roster__httpd_conn_release(c);
  roster__httpd_buf_free(&out);
  return 0;
}
