/*
 * fuzz_eio.c: the Engine.IO 4 decoders of the Socket.IO module
 * (modules/socketio/eio_codec.h): polling payloads and WebSocket text
 * frames.
 *
 * Input: the first byte picks the decoder (even: a polling payload, odd:
 * one text frame); the rest is the body or the frame, in a buffer of
 * exactly its size (ASan catches a read past the length).
 *
 * Properties:
 *  - a payload that decodes has 1..len / 2 + 1 packets, each pointing
 *    inside the body or the arena; encoded again it decodes to the same
 *    packets (kind, binary or not, bytes), and that encoding encodes to
 *    itself; with padded base64 it is the input itself;
 *  - a text frame that decodes encodes back to exactly the frame;
 *  - a refused input leaves an error detail that is not empty and is
 *    clean text (valid UTF-8, no control character).
 *
 * Inputs up to 4096 bytes.
 * fuzz-max-len: 4096
 * fuzz-link: roster_socketio_static
 */
#include "fuzz_util.h"

#include "../modules/socketio/eio_codec.h"

static void same_packets(const roster__eio_payload *a,
                         const roster__eio_payload *b) {
  FUZZ_CHECK(a->n == b->n, "re-encoded payload has %zu packets, not %zu", b->n,
             a->n);
  for (size_t i = 0; i < a->n; i++) {
    const roster__eio_packet *p = &a->pkts[i], *q = &b->pkts[i];
    FUZZ_CHECK(p->kind == q->kind && p->binary == q->binary &&
                   p->len == q->len &&
                   (p->len == 0 || memcmp(p->data, q->data, p->len) == 0),
               "packet %zu differs after a round trip", i);
  }
}

static void fuzz_payload(const uint8_t *data, size_t size) {
  uint8_t *body = (uint8_t *)fuzz_copy_exact(data, size);
  roster__eio_payload pl;
  int rc = roster__eio_payload_decode(body, size, 0, &pl);
  if (rc != ROSTER_OK) {
    FUZZ_CHECK(pl.n == 0 && !pl.pkts, "a refused payload left packets");
    fuzz_error_ok("roster__eio_payload_decode", rc, NULL);
    free(body);
    return;
  }
  FUZZ_CHECK(pl.n >= 1 && pl.n <= size / 2 + 1, "%zu packets from %zu bytes",
             pl.n, size);
  bool padded = true;
  roster__eio_buf b = {0}, b2 = {0};
  for (size_t i = 0; i < pl.n; i++) {
    const roster__eio_packet *p = &pl.pkts[i];
    bool in_body = p->data >= body && p->data + p->len <= body + size;
    bool in_arena = p->data >= pl.arena && p->data + p->len <= pl.arena + size;
    FUZZ_CHECK(p->len == 0 || in_body || in_arena,
               "packet %zu points outside the body and the arena", i);
    if (p->binary && p->len % 3 != 0)
      padded = false; /* the input may have left the padding out */
    FUZZ_CHECK(roster__eio_payload_add(&b, p) == ROSTER_OK,
               "packet %zu does not encode: %s", i, roster_last_error());
  }
  roster__eio_payload pl2;
  FUZZ_CHECK(roster__eio_payload_decode(b.p, b.len, b.len, &pl2) == ROSTER_OK,
             "the re-encoded payload does not decode: %s", roster_last_error());
  same_packets(&pl, &pl2);
  for (size_t i = 0; i < pl2.n; i++)
    roster__eio_payload_add(&b2, &pl2.pkts[i]);
  FUZZ_CHECK(b2.len == b.len && memcmp(b2.p, b.p, b.len) == 0,
             "a second encoding differs from the first");
  if (padded)
    FUZZ_CHECK(b.len == size && memcmp(b.p, body, size) == 0,
               "the payload encodes to other bytes than it came in");
  roster__eio_payload_free(&pl2);
  roster__eio_payload_free(&pl);
  roster__eio_buf_free(&b);
  roster__eio_buf_free(&b2);
  free(body);
}

static void fuzz_frame(const uint8_t *data, size_t size) {
  uint8_t *frame = (uint8_t *)fuzz_copy_exact(data, size);
  roster__eio_packet p;
  int rc = roster__eio_decode_text(frame, size, &p);
  if (rc != ROSTER_OK) {
    fuzz_error_ok("roster__eio_decode_text", rc, NULL);
  } else {
    roster__eio_buf b = {0};
    FUZZ_CHECK(roster__eio_encode(&b, &p) == ROSTER_OK,
               "a decoded frame does not encode: %s", roster_last_error());
    FUZZ_CHECK(b.len == size && memcmp(b.p, frame, size) == 0,
               "the frame encodes to other bytes");
    roster__eio_buf_free(&b);
  }
  free(frame);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_begin(data, size);
  if (size == 0)
    return 0;
  if (data[0] & 1)
    fuzz_frame(data + 1, size - 1);
  else
    fuzz_payload(data + 1, size - 1);
  return 0;
}
