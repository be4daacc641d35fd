/*
 * fuzz_sio.c: the Socket.IO 5 decoder and encoder of the Socket.IO module
 * (modules/socketio/sio_codec.h).
 *
 * Input: cut at each 0x1e byte (as a polling payload is): the first part
 * is a text packet (an Engine.IO message without its "4"), each later
 * part a binary frame, all fed to one decoder in turn, each in a buffer of
 * exactly its size (ASan catches a read past the length).
 *
 * Properties:
 *  - every call either succeeds or leaves an error detail that is not
 *    empty and is clean text; after an error the decoder waits for
 *    nothing;
 *  - a packet that decodes encodes (whatever decodes is valid to send);
 *    its encoding, fed to a new decoder (text, then each attachment),
 *    gives an equal packet (roster__sio_packet_equal: kind, namespace, ack
 *    id, payload, attachments), which encodes to the same bytes;
 *  - the encoded text starts with "4", is UTF-8, and is NUL-terminated at
 *    its length.
 *
 * Inputs up to 4096 bytes.
 * fuzz-max-len: 4096
 * fuzz-link: roster_socketio_static
 */
#include "fuzz_util.h"

#include "../modules/socketio/sio_codec.h"

#define MAX_PARTS 16

/* feed decodes text then frames with d; returns the last packet, NULL on
 * an error or while frames are awaited */
static roster__sio_packet *feed(roster__sio_decoder *d, const uint8_t *text,
                                size_t n, const roster__sio_bin *frames,
                                size_t nf, bool must) {
  roster__sio_packet *p = NULL;
  char *t = fuzz_copy_exact(text, n);
  int rc = roster__sio_decoder_text(d, (const uint8_t *)t, n, &p);
  free(t);
  if (rc) {
    FUZZ_CHECK(!must, "a re-encoded packet does not decode: %s",
               roster_last_error());
    FUZZ_CHECK(!d->pending && !p, "the decoder waits after an error");
    fuzz_error_ok("roster__sio_decoder_text", rc, NULL);
    return NULL;
  }
  for (size_t i = 0; i < nf; i++) {
    FUZZ_CHECK(!p || !must, "a re-encoded packet takes fewer frames");
    char *f = fuzz_copy_exact(frames[i].p, frames[i].len);
    roster__sio_packet *q = NULL;
    rc = roster__sio_decoder_binary(d, (const uint8_t *)f, frames[i].len, &q);
    free(f);
    if (rc) {
      FUZZ_CHECK(!must, "a re-encoded frame is refused: %s",
                 roster_last_error());
      FUZZ_CHECK(!d->pending && !q, "the decoder waits after an error");
      fuzz_error_ok("roster__sio_decoder_binary", rc, NULL);
      roster__sio_packet_free(p);
      return NULL;
    }
    if (q) {
      roster__sio_packet_free(p);
      p = q;
    }
  }
  return p;
}

static roster__sio_encoded *encode(const roster__sio_packet *p) {
  roster__sio_encoded *e = NULL;
  int rc = roster__sio_encode(p, NULL, &e);
  FUZZ_CHECK(rc == ROSTER_OK, "a decoded packet does not encode: %s",
             roster_last_error());
  FUZZ_CHECK(e->text_len >= 2 && e->text[0] == '4' &&
                 e->text[e->text_len] == '\0',
             "encoded text is not \"4\" + a packet, NUL-terminated");
  FUZZ_CHECK(roster__eio_utf8_valid(e->text, e->text_len, NULL),
             "encoded text is not UTF-8");
  return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_begin(data, size);
  const uint8_t *parts[MAX_PARTS];
  size_t lens[MAX_PARTS];
  size_t n = fuzz_split(data, size, 0x1e, parts, lens, MAX_PARTS);
  roster__sio_bin frames[MAX_PARTS];
  for (size_t i = 1; i < n; i++)
    frames[i - 1] = (roster__sio_bin){(uint8_t *)parts[i], lens[i]};

  roster__sio_decoder d;
  roster__sio_decoder_init(&d, NULL);
  roster__sio_packet *p = feed(&d, parts[0], lens[0], frames, n - 1, false);
  if (!p) {
    roster__sio_decoder_reset(&d);
    return 0;
  }
  roster__sio_decoder_reset(&d);

  roster__sio_encoded *e = encode(p);
  roster__sio_decoder d2;
  roster__sio_decoder_init(&d2, NULL);
  roster__sio_packet *q =
      feed(&d2, e->text + 1, e->text_len - 1, e->bins, e->nbin, true);
  FUZZ_CHECK(q && !d2.pending, "the encoding does not decode to a packet");
  if (!roster__sio_packet_equal(p, q)) {
    fuzz_show("encoded", e->text, e->text_len);
    FUZZ_CHECK(false, "the packet changed in a round trip");
  }
  roster__sio_encoded *e2 = encode(q);
  FUZZ_CHECK(e2->text_len == e->text_len &&
                 memcmp(e2->text, e->text, e->text_len) == 0 &&
                 e2->nbin == e->nbin,
             "a second encoding differs from the first");
  for (size_t i = 0; i < e->nbin; i++)
    FUZZ_CHECK(e2->bins[i].len == e->bins[i].len &&
                   (e->bins[i].len == 0 ||
                    memcmp(e2->bins[i].p, e->bins[i].p, e->bins[i].len) == 0),
               "attachment %zu differs in a second encoding", i);
  roster__sio_encoded_release(e2);
  roster__sio_encoded_release(e);
  roster__sio_packet_free(q);
  roster__sio_packet_free(p);
  roster__sio_decoder_reset(&d2);
  return 0;
}
