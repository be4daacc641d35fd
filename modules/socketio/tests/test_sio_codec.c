/*
 * test_sio_codec.c: Socket.IO 5 packets against the protocol document
 * (socketio/socket.io-protocol, README) and socket.io-parser's rules:
 * every example packet of the document decodes and encodes back to the
 * same text and attachments; every invalid shape is refused with a
 * sentence naming the rule; the binary decoder's state machine;
 * placeholders renumbered in document order; numbers, strings and key
 * order written as JSON.stringify writes them; the limits; one encoding
 * shared by reference.
 */
#include "testutil.h"

#include <string.h>

#include "sio_codec.h"

typedef struct frame {
  const char *p;
  size_t len;
} frame;

#define F(lit)                                                                 \
  (frame) { lit, sizeof(lit) - 1 }

/* decode text and its frames with a fresh decoder; asserts success */
static roster__sio_packet *decode(const char *text, const frame *f, size_t nf) {
  roster__sio_decoder d;
  roster__sio_decoder_init(&d, NULL);
  roster__sio_packet *p = NULL;
  assert_ok(
      roster__sio_decoder_text(&d, (const uint8_t *)text, strlen(text), &p));
  for (size_t i = 0; i < nf; i++) {
    assert_null(p);
    assert_ok(
        roster__sio_decoder_binary(&d, (const uint8_t *)f[i].p, f[i].len, &p));
  }
  assert_non_null(p);
  assert_null(d.pending);
  roster__sio_decoder_reset(&d);
  return p;
}

/* encode p; the text (without the Engine.IO "4") must be want, the
 * attachments wf */
static void expect_encoding(const roster__sio_packet *p, const char *want,
                            const frame *wf, size_t nwf) {
  roster__sio_encoded *e = NULL;
  assert_ok(roster__sio_encode(p, NULL, &e));
  assert_int_equal(e->text[0], '4');
  if (e->text_len - 1 != strlen(want) ||
      memcmp(e->text + 1, want, strlen(want)) != 0)
    fail_msg("encoded %s, want %s", (const char *)e->text + 1, want);
  assert_int_equal(e->text[e->text_len], '\0');
  assert_int_equal(e->nbin, nwf);
  for (size_t i = 0; i < nwf; i++) {
    assert_int_equal(e->bins[i].len, wf[i].len);
    assert_memory_equal(e->bins[i].p, wf[i].p, wf[i].len);
  }
  roster__sio_encoded_release(e);
}

/* decode, then encode to the same bytes, and decode that to an equal
 * packet */
static void roundtrip(const char *text, const frame *f, size_t nf) {
  roster__sio_packet *p = decode(text, f, nf);
  expect_encoding(p, text, f, nf);
  roster__sio_packet *q = decode(text, f, nf);
  assert_true(roster__sio_packet_equal(p, q));
  roster__sio_packet_free(q);
  roster__sio_packet_free(p);
}

#define PH(n) "{\"_placeholder\":true,\"num\":" #n "}"

/* Every example of the document's "Packet encoding" tables. */
static void test_document_examples(void **state) {
  (void)state;
  frame b4[] = {F("\x01\x02\x03\x04")}, b22[] = {F("\x01\x02"), F("\x03\x04")};
  roundtrip("0", NULL, 0);
  roundtrip("0{\"sid\":\"wZX3oN0bSVIhsaknAAAI\"}", NULL, 0);
  roundtrip("0/admin,", NULL, 0);
  roundtrip("0/admin,{\"sid\":\"oSO0OpakMV_3jnilAAAA\"}", NULL, 0);
  roundtrip("0/admin,{\"token\":\"123\"}", NULL, 0);
  roundtrip("4{\"message\":\"Not authorized\"}", NULL, 0);
  roundtrip("2[\"foo\"]", NULL, 0);
  roundtrip("2/admin,[\"bar\"]", NULL, 0);
  roundtrip("51-[\"baz\"," PH(0) "]", b4, 1);
  roundtrip("52-/admin,[\"baz\"," PH(0) "," PH(1) "]", b22, 2);
  roundtrip("212[\"foo\"]", NULL, 0);
  roundtrip("312[]", NULL, 0);
  roundtrip("2/admin,13[\"foo\"]", NULL, 0);
  roundtrip("3/admin,13[\"bar\"]", NULL, 0);
  roundtrip("51-14[\"foo\"," PH(0) "]", b4, 1);
  roundtrip("314[\"bar\"]", NULL, 0);
  roundtrip("215[\"foo\"]", NULL, 0);
  roundtrip("61-15[\"bar\"," PH(0) "]", b4, 1);
  roundtrip("1", NULL, 0);
  roundtrip("1/admin,", NULL, 0);
  roundtrip("2[\"hey\",\"Jude\"]", NULL, 0);

  /* what the fields hold */
  roster__sio_packet *p =
      decode("52-/admin,7[\"baz\"," PH(0) "," PH(1) "]", b22, 2);
  assert_int_equal(p->kind, ROSTER__SIO_EVENT);
  assert_string_equal(p->nsp, "/admin");
  assert_int_equal(p->nsp_len, 6);
  assert_int_equal(p->id, 7);
  assert_int_equal(p->nbin, 2);
  assert_memory_equal(p->bins[1].p, "\x03\x04", 2);
  assert_true(roster__sio_is_placeholder(json_array_get(p->data, 2)));
  roster__sio_packet_free(p);
  p = decode("0", NULL, 0);
  assert_int_equal(p->kind, ROSTER__SIO_CONNECT);
  assert_string_equal(p->nsp, "/");
  assert_int_equal(p->id, -1);
  assert_null(p->data);
  roster__sio_packet_free(p);
  p = decode("61-15[\"bar\"," PH(0) "]", b4, 1);
  assert_int_equal(p->kind, ROSTER__SIO_ACK);
  assert_int_equal(p->id, 15);
  roster__sio_packet_free(p);
}

static void expect_invalid(const char *text, int code, const char *words) {
  roster__sio_decoder d;
  roster__sio_decoder_init(&d, NULL);
  roster__sio_packet *p = (roster__sio_packet *)&d; /* must become NULL */
  int rc =
      roster__sio_decoder_text(&d, (const uint8_t *)text, strlen(text), &p);
  if (rc != code)
    fail_msg("%s: got %d, want %d (%s)", text, rc, code, roster_last_error());
  assert_null(p);
  assert_null(d.pending);
  assert_contains(roster_last_error(), words);
}

/* Each shape socket.io-parser refuses (and the few it lets through that
 * no peer writes), with the rule in the error. */
static void test_invalid_shapes(void **state) {
  (void)state;
  expect_invalid("", ROSTER_EPROTO, "empty packet");
  expect_invalid("7", ROSTER_EPROTO, "unknown packet type");
  expect_invalid(" 2[\"a\"]", ROSTER_EPROTO, "unknown packet type");
  expect_invalid("0[]", ROSTER_EPROTO, "CONNECT payload must be an object");
  expect_invalid("0\"x\"", ROSTER_EPROTO, "must be an object");
  expect_invalid("0/admin,null", ROSTER_EPROTO, "must be an object");
  expect_invalid("1{}", ROSTER_EPROTO, "DISCONNECT has no payload");
  expect_invalid("2", ROSTER_EPROTO, "EVENT payload must be an array");
  expect_invalid("212", ROSTER_EPROTO, "EVENT payload must be an array");
  expect_invalid("2[]", ROSTER_EPROTO, "first element is");
  expect_invalid("2[{}]", ROSTER_EPROTO, "first element is");
  expect_invalid("2[null]", ROSTER_EPROTO, "first element is");
  expect_invalid("2{\"a\":1}", ROSTER_EPROTO, "must be an array");
  expect_invalid("2\"foo\"", ROSTER_EPROTO, "must be an array");
  static const char *const reserved[] = {"connect",     "connect_error",
                                         "disconnect",  "disconnecting",
                                         "newListener", "removeListener"};
  for (size_t i = 0; i < 6; i++) {
    char t[64];
    snprintf(t, sizeof t, "2[\"%s\",1]", reserved[i]);
    expect_invalid(t, ROSTER_EPROTO, "reserved");
  }
  expect_invalid("3", ROSTER_EPROTO, "ACK payload must be an array");
  expect_invalid("312{}", ROSTER_EPROTO, "ACK payload must be an array");
  expect_invalid("4", ROSTER_EPROTO, "string or an object");
  expect_invalid("4[]", ROSTER_EPROTO, "string or an object");
  expect_invalid("41", ROSTER_EPROTO, "string or an object");
  expect_invalid("5-[\"a\"]", ROSTER_EPROTO, "illegal attachments");
  expect_invalid("50-[\"a\"]", ROSTER_EPROTO, "illegal attachments");
  expect_invalid("5x-[\"a\"]", ROSTER_EPROTO, "illegal attachments");
  expect_invalid("51[\"a\"]", ROSTER_EPROTO, "illegal attachments");
  expect_invalid("51", ROSTER_EPROTO, "illegal attachments");
  expect_invalid("5", ROSTER_EPROTO, "illegal attachments");
  expect_invalid("5 1-[\"a\"]", ROSTER_EPROTO, "illegal attachments");
  expect_invalid("511-[\"a\"]", ROSTER_ERANGE, "too many attachments (11");
  expect_invalid("599999999999999999999-[\"a\"]", ROSTER_ERANGE,
                 "too many attachments");
  expect_invalid("51-[\"a\"," PH(1) "]", ROSTER_EPROTO, "illegal attachments");
  expect_invalid("51-[\"a\",{\"_placeholder\":true,\"num\":-1}]", ROSTER_EPROTO,
                 "illegal attachments");
  expect_invalid("51-[\"a\",{\"_placeholder\":true,\"num\":0.5}]",
                 ROSTER_EPROTO, "illegal attachments");
  expect_invalid("51-[\"a\",{\"_placeholder\":true,\"num\":\"0\"}]",
                 ROSTER_EPROTO, "illegal attachments");
  expect_invalid("51-[\"a\",{\"_placeholder\":true}]", ROSTER_EPROTO,
                 "illegal attachments");
  expect_invalid("51-[" PH(0) "]", ROSTER_EPROTO, "first element is");
  expect_invalid("61-{}", ROSTER_EPROTO, "ACK payload must be an array");
  expect_invalid("2[\"a\"", ROSTER_EPROTO, "not JSON");
  expect_invalid("2[\"a\"]x", ROSTER_EPROTO, "not JSON");
  expect_invalid("2[\"a\"]\x1e", ROSTER_EPROTO, "not JSON");
  expect_invalid("2abc", ROSTER_EPROTO, "not JSON");
  expect_invalid("2[\"\xff\"]", ROSTER_EPROTO, "not JSON");
  expect_invalid("0/a\xff,", ROSTER_EPROTO, "namespace is not UTF-8");
  {
    static const char nul[] = "0/a\0b,";
    roster__sio_decoder d;
    roster__sio_decoder_init(&d, NULL);
    roster__sio_packet *p = NULL;
    assert_rc(
        roster__sio_decoder_text(&d, (const uint8_t *)nul, sizeof nul - 1, &p),
        ROSTER_EPROTO);
    assert_null(p);
    assert_contains(roster_last_error(), "no NUL byte");
  }
  /* socket.io-parser would read the space as an ack id 0 */
  expect_invalid("2 [\"a\"]", ROSTER_EPROTO, "white space");
  expect_invalid("2/x,\n[\"a\"]", ROSTER_EPROTO, "white space");
}

/* decode text, encode it, and compare with the text socket.io-parser's
 * encoder writes for the same packet (checked with node 20) */
static void expect_reencoded(const char *text, const char *want) {
  roster__sio_packet *p = decode(text, NULL, 0);
  expect_encoding(p, want, NULL, 0);
  roster__sio_packet_free(p);
}

/* What the decoder accepts as socket.io-parser does, and what the encoder
 * writes as JSON.stringify does. */
static void test_semantics(void **state) {
  (void)state;
  /* a number as the event name */
  roundtrip("2[1,\"x\"]", NULL, 0);
  /* the last duplicate wins, in the first one's place */
  expect_reencoded("2[\"a\",{\"k\":1,\"b\":2,\"k\":3}]",
                   "2[\"a\",{\"k\":3,\"b\":2}]");
  /* a namespace without a comma ends the packet; "/," is "/" */
  expect_reencoded("0/admin", "0/admin,");
  expect_reencoded("2/,[\"a\"]", "2[\"a\"]");
  /* leading zeros in an ack id; the largest id */
  expect_reencoded("2007[\"a\"]", "27[\"a\"]");
  roundtrip("29007199254740991[\"a\"]", NULL, 0);
  expect_invalid("29007199254740992[\"a\"]", ROSTER_ERANGE, "2^53");
  expect_invalid("2123456789012345678901234567890[\"a\"]", ROSTER_ERANGE,
                 "2^53");
  /* numbers are doubles, written as Number#toString writes them */
  expect_reencoded("2[\"a\",1e21,1E-7,0.1,-0,100.0,1.5e300,"
                   "123456789012345678901,5e-324,1.7976931348623157e308,"
                   "0.000001,123.456,-2.50]",
                   "2[\"a\",1e+21,1e-7,0.1,0,100,1.5e+300,"
                   "123456789012345680000,5e-324,1.7976931348623157e+308,"
                   "0.000001,123.456,-2.5]");
  roster__sio_packet *p = decode("2[\"a\",9007199254740993]", NULL, 0);
  assert_true(json_is_real(json_array_get(p->data, 1)));
  roster__sio_packet_free(p);
  /* strings: only what JSON.stringify escapes, lower-case hex */
  expect_reencoded("2[\"a\",\"\\u0001\\u001F\\b\\f\\n\\r\\t\\\"\\\\\\/"
                   "\\u2028\\u007f\\u00e9\\ud83c\\udf89\"]",
                   "2[\"a\",\"\\u0001\\u001f\\b\\f\\n\\r\\t\\\"\\\\/"
                   "\xe2\x80\xa8\x7f\xc3\xa9\xf0\x9f\x8e\x89\"]");
  roundtrip("2[\"a\",\"\\u0000\"]", NULL, 0);
  /* index-like keys first, ascending; then insertion order */
  expect_reencoded("2[\"a\",{\"b\":1,\"2\":2,\"1\":3,\"01\":4,"
                   "\"4294967295\":5,\"4294967294\":6}]",
                   "2[\"a\",{\"1\":3,\"2\":2,\"4294967294\":6,\"b\":1,"
                   "\"01\":4,\"4294967295\":5}]");
  /* white space around values goes */
  expect_reencoded("2[ \"a\" , { \"b\" : [ 1 , true , null ] } ]\n",
                   "2[\"a\",{\"b\":[1,true,null]}]");
  /* a placeholder-shaped object in a plain EVENT is data */
  roundtrip("2[\"a\"," PH(5) "]", NULL, 0);
  /* CONNECT_ERROR: a string (protocol 4's form) or an object */
  roundtrip("4\"Not authorized\"", NULL, 0);
  roundtrip("4/admin,{\"message\":\"no\",\"data\":{\"code\":1}}", NULL, 0);
}

/* Placeholders come back numbered in document order, each bin once. */
static void test_placeholders(void **state) {
  (void)state;
  frame xy[] = {F("X"), F("YY")}, yx[] = {F("YY"), F("X")};
  frame x[] = {F("X")}, xx[] = {F("X"), F("X")}, y[] = {F("YY")};
  roster__sio_packet *p = decode("52-[\"a\"," PH(1) "," PH(0) "]", xy, 2);
  expect_encoding(p, "52-[\"a\"," PH(0) "," PH(1) "]", yx, 2);
  roster__sio_packet_free(p);
  /* one frame named twice: two bins; no more names than frames */
  p = decode("52-[\"a\"," PH(0) ",{\"k\":[" PH(0) "]}]", xy, 2);
  assert_int_equal(p->nbin, 2);
  expect_encoding(p, "52-[\"a\"," PH(0) ",{\"k\":[" PH(1) "]}]", xx, 2);
  roster__sio_packet_free(p);
  expect_invalid("51-[\"a\"," PH(0) "," PH(0) "]", ROSTER_EPROTO,
                 "more placeholders than the 1 attachments");
  /* a frame nobody names is dropped */
  p = decode("52-[\"a\"," PH(1) "]", xy, 2);
  expect_encoding(p, "51-[\"a\"," PH(0) "]", y, 1);
  roster__sio_packet_free(p);
  /* no placeholder at all: a plain EVENT */
  p = decode("51-7[\"a\"]", x, 1);
  assert_int_equal(p->nbin, 0);
  expect_encoding(p, "27[\"a\"]", NULL, 0);
  roster__sio_packet_free(p);
  /* extra members of a placeholder go; document order follows key order */
  p = decode("62-1[{\"b\":" PH(0) ",\"0\":{\"_placeholder\":true,\"x\":1,"
                                  "\"num\":1}}]",
             xy, 2);
  expect_encoding(p, "62-1[{\"0\":" PH(0) ",\"b\":" PH(1) "}]", yx, 2);
  roster__sio_packet_free(p);
  /* empty frames are bins too */
  frame e2[] = {F(""), F("")};
  roundtrip("52-[\"a\"," PH(0) "," PH(1) "]", e2, 2);
}

/* The decoder's states: frames only after a packet that announced them,
 * no text while they are awaited; an error resets it. */
static void test_decoder_states(void **state) {
  (void)state;
  roster__sio_decoder d;
  roster__sio_decoder_init(&d, NULL);
  roster__sio_packet *p;
  assert_rc(roster__sio_decoder_binary(&d, (const uint8_t *)"x", 1, &p),
            ROSTER_EPROTO);
  assert_null(p);
  assert_contains(roster_last_error(), "no packet announced");
  static const char t[] = "52-[\"a\"," PH(0) "," PH(1) "]";
  assert_ok(roster__sio_decoder_text(&d, (const uint8_t *)t, strlen(t), &p));
  assert_null(p);
  assert_ok(roster__sio_decoder_binary(&d, (const uint8_t *)"x", 1, &p));
  assert_null(p);
  assert_rc(roster__sio_decoder_text(&d, (const uint8_t *)"2[\"b\"]", 6, &p),
            ROSTER_EPROTO);
  assert_contains(roster_last_error(), "1 of 2 attachments were missing");
  assert_null(d.pending);
  /* after the error it starts again */
  assert_ok(roster__sio_decoder_text(&d, (const uint8_t *)"2[\"b\"]", 6, &p));
  assert_non_null(p);
  roster__sio_packet_free(p);
  /* a reset drops a half-received packet (ASan: nothing leaks) */
  assert_ok(roster__sio_decoder_text(&d, (const uint8_t *)t, strlen(t), &p));
  assert_ok(roster__sio_decoder_binary(&d, (const uint8_t *)"x", 1, &p));
  roster__sio_decoder_reset(&d);
  roster__sio_decoder_reset(&d);
}

/* The limits: attachments, namespace length, depth. */
static void test_limits(void **state) {
  (void)state;
  char t[600];
  /* "0/nnn...," with a namespace of 256 bytes, then of 257 */
  memset(t, 0, sizeof t);
  t[0] = '0';
  t[1] = '/';
  memset(t + 2, 'n', 255);
  strcat(t, ",");
  roster__sio_packet *p = decode(t, NULL, 0);
  assert_int_equal(p->nsp_len, 256);
  roster__sio_packet_free(p);
  t[257] = 'n'; /* was the comma */
  strcat(t, ",");
  expect_invalid(t, ROSTER_ERANGE, "namespace of 257 bytes");

  /* 32 levels pass, 33 do not: "2[1," [^(k-1) ]^(k-1) "]" */
  for (size_t k = 32; k <= 33; k++) {
    size_t o = 0;
    memcpy(t, "2[1,", 4), o = 4;
    for (size_t i = 1; i < k; i++)
      t[o++] = '[';
    for (size_t i = 1; i < k; i++)
      t[o++] = ']';
    t[o++] = ']';
    t[o] = '\0';
    if (k == 32) {
      p = decode(t, NULL, 0);
      roster__sio_packet_free(p);
    } else {
      expect_invalid(t, ROSTER_ERANGE, "deeper than 32");
    }
  }

  roster__sio_limits lim = {2, 4, 3};
  roster__sio_decoder d;
  roster__sio_decoder_init(&d, &lim);
  assert_rc(roster__sio_decoder_text(&d, (const uint8_t *)"53-[\"a\"]", 8, &p),
            ROSTER_ERANGE);
  assert_rc(roster__sio_decoder_text(&d, (const uint8_t *)"0/abcd,", 7, &p),
            ROSTER_ERANGE);
  assert_rc(
      roster__sio_decoder_text(&d, (const uint8_t *)"2[\"a\",[[[1]]]]", 14, &p),
      ROSTER_ERANGE);
  assert_ok(
      roster__sio_decoder_text(&d, (const uint8_t *)"2[\"a\",[1]]", 10, &p));
  roster__sio_packet_free(p);
}

/* Building packets to send: integers, binary values, refusals. */
static void test_encoder(void **state) {
  (void)state;
  roster__sio_packet p = {ROSTER__SIO_EVENT, "/chat", 5, 7, NULL, NULL, 0};
  p.data = json_pack("[s,i,f,{s:b}]", "msg", 1, 2.5, "ok", 1);
  expect_encoding(&p, "2/chat,7[\"msg\",1,2.5,{\"ok\":true}]", NULL, 0);
  json_decref(p.data);

  /* binary values: any numbering, a bin twice */
  roster__sio_bin bins[] = {{(uint8_t *)"AA", 2}, {(uint8_t *)"B", 1}};
  p = (roster__sio_packet){ROSTER__SIO_ACK, NULL, 0, 3, NULL, bins, 2};
  p.data = json_pack("[{s:b,s:i},[{s:b,s:i}]]", "_placeholder", 1, "num", 1,
                     "_placeholder", 1, "num", 1);
  frame bb[] = {F("B"), F("B")};
  expect_encoding(&p, "62-3[" PH(0) ",[" PH(1) "]]", bb, 2);
  json_decref(p.data);

  /* what it refuses */
  roster__sio_encoded *e = (roster__sio_encoded *)&p;
  roster__sio_packet q = {ROSTER__SIO_BINARY_EVENT, NULL, 0, -1, NULL, NULL, 0};
  q.data = json_pack("[s]", "a");
  assert_rc(roster__sio_encode(&q, NULL, &e), ROSTER_EINVAL);
  assert_null(e);
  assert_contains(roster_last_error(), "kind must be");
  q.kind = ROSTER__SIO_EVENT;
  q.nsp = "chat";
  q.nsp_len = 4;
  assert_rc(roster__sio_encode(&q, NULL, &e), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "starts with '/'");
  q.nsp = "/a\0b";
  q.nsp_len = 4;
  assert_rc(roster__sio_encode(&q, NULL, &e), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "no NUL byte");
  q.nsp = "/a,b";
  assert_rc(roster__sio_encode(&q, NULL, &e), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "no ','");
  q.nsp = "/a\xff";
  q.nsp_len = 3;
  assert_rc(roster__sio_encode(&q, NULL, &e), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "UTF-8");
  q.nsp = NULL;
  q.id = ROSTER__SIO_MAX_ACK_ID + 1;
  assert_rc(roster__sio_encode(&q, NULL, &e), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "ack id");
  q.id = -1;
  json_array_set_new(q.data, 0, json_string("disconnect"));
  assert_rc(roster__sio_encode(&q, NULL, &e), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "reserved");
  json_array_set_new(q.data, 0, json_string("a"));
  json_array_append_new(q.data,
                        json_pack("{s:b,s:i}", "_placeholder", 1, "num", 2));
  q.bins = bins;
  q.nbin = 2;
  assert_rc(roster__sio_encode(&q, NULL, &e), ROSTER_EINVAL);
  assert_contains(roster_last_error(),
                  "encode: a placeholder's num must be an integer below 2");
  q.kind = ROSTER__SIO_CONNECT_ERROR;
  assert_rc(roster__sio_encode(&q, NULL, &e), ROSTER_EINVAL);
  q.kind = ROSTER__SIO_EVENT;
  json_decref(q.data);
  q.data = json_pack("[s]", "a");
  for (int i = 0; i < 11; i++)
    json_array_append_new(q.data,
                          json_pack("{s:b,s:i}", "_placeholder", 1, "num", 0));
  assert_rc(roster__sio_encode(&q, NULL, &e), ROSTER_ERANGE);
  assert_contains(roster_last_error(), "11 attachments");
  json_decref(q.data);
  q = (roster__sio_packet){ROSTER__SIO_DISCONNECT, NULL, 0, -1, NULL, NULL, 0};
  q.data = json_object();
  assert_rc(roster__sio_encode(&q, NULL, &e), ROSTER_EINVAL);
  json_decref(q.data);
  q.data = NULL;
  assert_ok(roster__sio_encode(&q, NULL, &e));
  assert_string_equal((const char *)e->text, "41");
  /* one encoding, many holders */
  assert_ptr_equal(roster__sio_encoded_acquire(e), e);
  roster__sio_encoded_release(e);
  roster__sio_encoded_release(e);
  roster__sio_encoded_release(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_document_examples),
      cmocka_unit_test(test_invalid_shapes),
      cmocka_unit_test(test_semantics),
      cmocka_unit_test(test_placeholders),
      cmocka_unit_test(test_decoder_states),
      cmocka_unit_test(test_limits),
      cmocka_unit_test(test_encoder),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
