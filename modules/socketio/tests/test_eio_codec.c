/*
 * test_eio_codec.c: Engine.IO 4 packets and payloads against the protocol
 * document (socketio/engine.io-protocol, README): every example packet
 * and payload decodes to what the document says and encodes back to the
 * same bytes; each invalid shape is refused with ROSTER_EPROTO (or
 * ROSTER_ERANGE past a limit) and a sentence that names the problem; the
 * open packet; base64 and UTF-8 edges; allocation bounded by the input.
 */
#include "testutil.h"

#include <jansson.h>
#include <string.h>

#include "eio_codec.h"

#define S(lit) (const uint8_t *)(lit), sizeof(lit) - 1

static void assert_text(const roster__eio_packet *p, roster__eio_kind kind,
                        const char *data) {
  assert_int_equal(p->kind, kind);
  assert_false(p->binary);
  assert_int_equal(p->len, strlen(data));
  assert_memory_equal(p->data, data, p->len);
}

/* WebSocket frames from the document: each text frame is one packet. */
static void test_ws_examples(void **state) {
  (void)state;
  static const struct {
    const char *frame;
    roster__eio_kind kind;
    const char *data;
  } cases[] = {
      {"4hello", ROSTER__EIO_MESSAGE, "hello"},
      {"2probe", ROSTER__EIO_PING, "probe"},
      {"3probe", ROSTER__EIO_PONG, "probe"},
      {"5", ROSTER__EIO_UPGRADE, ""},
      {"2", ROSTER__EIO_PING, ""},
      {"3", ROSTER__EIO_PONG, ""},
      {"1", ROSTER__EIO_CLOSE, ""},
      {"6", ROSTER__EIO_NOOP, ""},
      {"4", ROSTER__EIO_MESSAGE, ""},
      {"4\xc3\xa9t\xc3\xa9 \xf0\x9f\x8e\x89", ROSTER__EIO_MESSAGE,
       "\xc3\xa9t\xc3\xa9 \xf0\x9f\x8e\x89"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    roster__eio_packet p;
    size_t n = strlen(cases[i].frame);
    assert_ok(roster__eio_decode_text((const uint8_t *)cases[i].frame, n, &p));
    assert_text(&p, cases[i].kind, cases[i].data);
    roster__eio_buf b = {0};
    assert_ok(roster__eio_encode(&b, &p));
    assert_int_equal(b.len, n);
    assert_memory_equal(b.p, cases[i].frame, n);
    roster__eio_buf_free(&b);
  }
  /* a binary frame is a binary message, sent as its raw bytes */
  static const uint8_t raw[] = {1, 2, 3, 4};
  roster__eio_packet p;
  roster__eio_decode_binary(raw, 4, &p);
  assert_int_equal(p.kind, ROSTER__EIO_MESSAGE);
  assert_true(p.binary);
  roster__eio_buf b = {0};
  assert_ok(roster__eio_encode(&b, &p));
  assert_int_equal(b.len, 4);
  assert_memory_equal(b.p, raw, 4);
  roster__eio_buf_free(&b);
}

static void payload_roundtrip(const uint8_t *body, size_t len,
                              roster__eio_payload *out) {
  assert_ok(roster__eio_payload_decode(body, len, 0, out));
  roster__eio_buf b = {0};
  for (size_t i = 0; i < out->n; i++)
    assert_ok(roster__eio_payload_add(&b, &out->pkts[i]));
  assert_int_equal(b.len, len);
  assert_memory_equal(b.p, body, len);
  roster__eio_buf_free(&b);
}

/* Polling payloads from the document. */
static void test_payload_examples(void **state) {
  (void)state;
  roster__eio_payload pl;
  payload_roundtrip(S("4hello\x1e"
                      "2\x1e"
                      "4world"),
                    &pl);
  assert_int_equal(pl.n, 3);
  assert_text(&pl.pkts[0], ROSTER__EIO_MESSAGE, "hello");
  assert_text(&pl.pkts[1], ROSTER__EIO_PING, "");
  assert_text(&pl.pkts[2], ROSTER__EIO_MESSAGE, "world");
  roster__eio_payload_free(&pl);

  payload_roundtrip(S("4hello\x1e"
                      "bAQIDBA=="),
                    &pl);
  assert_int_equal(pl.n, 2);
  assert_text(&pl.pkts[0], ROSTER__EIO_MESSAGE, "hello");
  assert_true(pl.pkts[1].binary);
  assert_int_equal(pl.pkts[1].len, 4);
  assert_memory_equal(pl.pkts[1].data, "\x01\x02\x03\x04", 4);
  roster__eio_payload_free(&pl);

  /* the sample session of the Socket.IO document */
  payload_roundtrip(S("42[\"hello\"]\x1e"
                      "42[\"world\"]"),
                    &pl);
  assert_int_equal(pl.n, 2);
  assert_text(&pl.pkts[1], ROSTER__EIO_MESSAGE, "2[\"world\"]");
  roster__eio_payload_free(&pl);

  /* one packet, an empty binary message, and base64 of each length */
  static const char *const b64[] = {"b",     "bAA==", "bAAA=", "bAAAA",
                                    "b/+8=", "bYWJj", "bYQ==", "bYWJjZA=="};
  for (size_t i = 0; i < sizeof b64 / sizeof *b64; i++) {
    payload_roundtrip((const uint8_t *)b64[i], strlen(b64[i]), &pl);
    assert_int_equal(pl.n, 1);
    assert_true(pl.pkts[0].binary);
    roster__eio_payload_free(&pl);
  }
}

static void expect_payload_error(const char *body, size_t len, int code,
                                 const char *words) {
  roster__eio_payload pl;
  assert_rc(roster__eio_payload_decode((const uint8_t *)body, len, 0, &pl),
            code);
  assert_null(pl.pkts);
  assert_int_equal(pl.n, 0);
  assert_contains(roster_last_error(), words);
}

/* Every invalid shape is refused, the whole payload with it. */
static void test_payload_invalid(void **state) {
  (void)state;
  expect_payload_error("", 0, ROSTER_EPROTO, "empty payload");
  expect_payload_error("\x1e", 1, ROSTER_EPROTO, "empty packet");
  expect_payload_error("4a\x1e", 3, ROSTER_EPROTO, "empty packet");
  expect_payload_error("4a\x1e\x1e"
                       "4b",
                       6, ROSTER_EPROTO, "empty packet");
  expect_payload_error("4hello\x1e"
                       "7x",
                       8, ROSTER_EPROTO, "packet 1 (offset 7)");
  expect_payload_error("x", 1, ROSTER_EPROTO, "unknown packet type 'x'");
  expect_payload_error("4\xff", 2, ROSTER_EPROTO, "not UTF-8");
  expect_payload_error("4\xc0\xaf", 3, ROSTER_EPROTO, "not UTF-8");
  expect_payload_error("4\xed\xa0\x80", 4, ROSTER_EPROTO, "not UTF-8");
  expect_payload_error("4\xf4\x90\x80\x80", 5, ROSTER_EPROTO, "not UTF-8");
  expect_payload_error("4\xe2\x82", 3, ROSTER_EPROTO, "not UTF-8");
  expect_payload_error("bAQ*D", 5, ROSTER_EPROTO, "not in the alphabet");
  expect_payload_error("bA", 2, ROSTER_EPROTO, "cut short");
  expect_payload_error("bAQIDB", 6, ROSTER_EPROTO, "cut short");
  expect_payload_error("bAR==", 5, ROSTER_EPROTO, "bits past the data");
  expect_payload_error("b====", 5, ROSTER_EPROTO, "not in the alphabet");
  expect_payload_error("bAQ=", 4, ROSTER_EPROTO, "not in the alphabet");
  expect_payload_error("bAQ D", 5, ROSTER_EPROTO, "not in the alphabet");
  expect_payload_error("bAQ-_", 5, ROSTER_EPROTO, "not in the alphabet");
}

/* A NUL byte is text like any other; the kind digits outside 0-6 are not. */
static void test_text_edges(void **state) {
  (void)state;
  roster__eio_packet p;
  assert_ok(roster__eio_decode_text(S("4a\0b"), &p));
  assert_int_equal(p.len, 3);
  for (int c = 0; c < 256; c++) {
    uint8_t one = (uint8_t)c;
    int rc = roster__eio_decode_text(&one, 1, &p);
    if (c >= '0' && c <= '6')
      assert_ok(rc);
    else
      assert_rc(rc, ROSTER_EPROTO);
  }
  assert_rc(roster__eio_decode_text((const uint8_t *)"", 0, &p), ROSTER_EPROTO);
  assert_contains(roster_last_error(), "empty packet");
}

static void test_payload_limits(void **state) {
  (void)state;
  roster__eio_payload pl;
  char body[64];
  memset(body, 'x', sizeof body);
  body[0] = '4';
  assert_ok(roster__eio_payload_decode((const uint8_t *)body, 64, 64, &pl));
  roster__eio_payload_free(&pl);
  assert_rc(roster__eio_payload_decode((const uint8_t *)body, 64, 63, &pl),
            ROSTER_ERANGE);
  assert_contains(roster_last_error(), "past maxPayload (63)");
  /* the most packets a payload can hold: one byte each */
  char many[2001];
  for (size_t i = 0; i < sizeof many; i++)
    many[i] = i % 2 ? '\x1e' : '6';
  assert_ok(
      roster__eio_payload_decode((const uint8_t *)many, sizeof many, 0, &pl));
  assert_int_equal(pl.n, 1001);
  roster__eio_payload_free(&pl);
  roster__eio_payload_free(NULL);
}

static void test_encode_refuses(void **state) {
  (void)state;
  roster__eio_buf b = {0};
  roster__eio_packet p = {ROSTER__EIO_PING, true, (const uint8_t *)"x", 1};
  assert_rc(roster__eio_encode(&b, &p), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "only a message may be binary");
  p = (roster__eio_packet){7, false, NULL, 0};
  assert_rc(roster__eio_payload_add(&b, &p), ROSTER_EINVAL);
  p = (roster__eio_packet){ROSTER__EIO_MESSAGE, false, (const uint8_t *)"\xff",
                           1};
  assert_rc(roster__eio_encode(&b, &p), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "not UTF-8");
  assert_int_equal(b.len, 0);
  roster__eio_buf_free(&b);
}

/* The open packet of the document's sample session. */
static void test_open_packet(void **state) {
  (void)state;
  static const char *const ws[] = {"websocket"};
  roster__eio_handshake h = {
      "lv_VI97HAXpY6yYWAAAC", ws, 1, 25000, 5000, 1000000};
  roster__eio_buf b = {0};
  assert_ok(roster__eio_open_encode(&b, &h));
  static const char want[] =
      "0{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"upgrades\":[\"websocket\"],"
      "\"pingInterval\":25000,\"pingTimeout\":5000,\"maxPayload\":1000000}";
  assert_int_equal(b.len, sizeof want - 1);
  assert_memory_equal(b.p, want, b.len);
  /* it decodes as an open packet whose data is that JSON */
  roster__eio_packet p;
  assert_ok(roster__eio_decode_text(b.p, b.len, &p));
  assert_int_equal(p.kind, ROSTER__EIO_OPEN);
  json_error_t err;
  json_t *j = json_loadb((const char *)p.data, p.len, 0, &err);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "sid")),
                      "lv_VI97HAXpY6yYWAAAC");
  json_decref(j);
  b.len = 0;
  h.n_upgrades = 0; /* a WebSocket connection cannot upgrade */
  assert_ok(roster__eio_open_encode(&b, &h));
  assert_non_null(memmem(b.p, b.len, "\"upgrades\":[],", 14));
  b.len = 0;
  h.sid = "a\"b";
  assert_rc(roster__eio_open_encode(&b, &h), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "sid");
  h.sid = "ok";
  static const char *const bad[] = {"web socket"};
  h.upgrades = bad;
  h.n_upgrades = 1;
  assert_rc(roster__eio_open_encode(&b, &h), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "upgrade 0");
  roster__eio_buf_free(&b);
}

/* base64 of every length 0..300 round-trips; UTF-8 boundaries. */
static void test_base64_utf8(void **state) {
  (void)state;
  uint8_t raw[300], out[300];
  for (size_t i = 0; i < sizeof raw; i++)
    raw[i] = (uint8_t)(i * 37 + 11);
  for (size_t n = 0; n <= sizeof raw; n++) {
    roster__eio_buf b = {0};
    assert_ok(roster__eio_base64_encode(&b, raw, n));
    assert_int_equal(b.len, (n + 2) / 3 * 4);
    size_t got = 0;
    assert_ok(roster__eio_base64_decode((const char *)b.p, b.len, out, &got));
    assert_int_equal(got, n);
    if (n)
      assert_memory_equal(out, raw, n);
    roster__eio_buf_free(&b);
  }
  size_t bad = 99;
  assert_true(roster__eio_utf8_valid(S("\xf4\x8f\xbf\xbf"), NULL));
  assert_true(roster__eio_utf8_valid(S("\xef\xbf\xbf"), NULL));
  assert_false(roster__eio_utf8_valid(S("ab\xe0\x80\x80"), &bad));
  assert_int_equal(bad, 2);
  assert_false(roster__eio_utf8_valid(S("\xc1\xbf"), NULL));
  assert_false(roster__eio_utf8_valid(S("\x80"), NULL));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ws_examples),
      cmocka_unit_test(test_payload_examples),
      cmocka_unit_test(test_payload_invalid),
      cmocka_unit_test(test_text_edges),
      cmocka_unit_test(test_payload_limits),
      cmocka_unit_test(test_encode_refuses),
      cmocka_unit_test(test_open_packet),
      cmocka_unit_test(test_base64_utf8),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
