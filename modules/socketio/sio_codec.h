/*
 * sio_codec.h: Socket.IO protocol 5 packets (modules/socketio only; never
 * installed). Pure data: no I/O, no global state. A decoder belongs to one
 * connection and is used by one thread at a time; an encoded packet is
 * immutable and reference-counted, so one encoding serves every client of
 * a broadcast, from any thread.
 *
 * Text form, as socket.io-parser 4.2 writes it:
 *   <kind digit>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]
 * the namespace left out when it is "/". BINARY_EVENT and BINARY_ACK are
 * followed by <attachments> binary frames (Engine.IO binary messages).
 *
 * Payloads (the representation chosen here):
 *  - data is a jansson tree (NULL: no payload). Numbers decode as reals
 *    (JSON_DECODE_INT_AS_REAL), because JavaScript has only doubles: a
 *    peer's 2^53 + 1 reads as the JavaScript client would read it. The
 *    encoder writes integers and reals alike the way JSON.stringify
 *    writes numbers (integral values without a fraction, the shortest
 *    text that reads back the same double otherwise).
 *  - A binary value is a placeholder object {"_placeholder":true,"num":i}
 *    in the tree, where i indexes bins. In a decoded packet placeholders
 *    are numbered 0, 1, ... in document order (the order socket.io-parser
 *    walks: array elements in order, object members with index-like keys
 *    first, ascending, then the others in order) and each bin is used
 *    once, whatever numbering the peer sent. A packet being encoded may
 *    number them in any order and use a bin twice: the encoder renumbers
 *    them in document order and sends the attachments in that order (what
 *    socket.io-parser's deconstructPacket does to nested buffers).
 *  - A decoded EVENT or ACK with bins arrived as BINARY_EVENT or
 *    BINARY_ACK; the encoder writes EVENT or ACK with bins in that form.
 *    With no bins, placeholder-shaped objects are plain data, as in
 *    socket.io-parser.
 *
 * Validity, as socket.io-parser's isPacketValid: CONNECT payload absent
 * or an object; DISCONNECT none; EVENT an array whose first element is a
 * number or a string that is not a reserved event name ("connect",
 * "connect_error", "disconnect", "disconnecting", "newListener",
 * "removeListener"); ACK an array; CONNECT_ERROR a string or an object.
 * Where the parser is looser than any peer writes, this codec refuses:
 * the kind, attachment count and ack id must be ASCII digits (the parser
 * converts with Number(), so " 1" passes there), an EVENT or ACK must
 * have its payload, an ack id must be at most 2^53 - 1, a placeholder's
 * num an integer, a namespace UTF-8 without a NUL byte (a C string
 * comparison would stop there), and a binary packet may hold no more
 * placeholders than it announced attachments (the parser lets many name
 * one frame; here each would be a copy, so a small frame named a million
 * times would cost a million copies). Duplicate object keys are accepted
 * (the last wins, as in JSON.parse). jansson refuses what JSON.parse
 * would take: a lone surrogate escape, a number past the double range,
 * "\u0000" in a key.
 *
 * Errors: roster codes (ROSTER_EPROTO for a packet that breaks the
 * protocol, ROSTER_ERANGE past a limit, ROSTER_EINVAL for a bad argument
 * or a packet the encoder cannot write, ROSTER_ENOMEM) with a sentence in
 * roster_last_error().
 */
#ifndef ROSTER_SIO_CODEC_H
#define ROSTER_SIO_CODEC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "eio_codec.h"

typedef enum roster__sio_kind {
  ROSTER__SIO_CONNECT = 0,
  ROSTER__SIO_DISCONNECT = 1,
  ROSTER__SIO_EVENT = 2,
  ROSTER__SIO_ACK = 3,
  ROSTER__SIO_CONNECT_ERROR = 4,
  ROSTER__SIO_BINARY_EVENT = 5,
  ROSTER__SIO_BINARY_ACK = 6,
} roster__sio_kind;

/* The largest ack id: Number.MAX_SAFE_INTEGER. */
#define ROSTER__SIO_MAX_ACK_ID 9007199254740991LL

/* roster__sio_limits: bounds on what a decoder accepts and an encoder
 * writes. A zero member takes its default: 10 attachments (the parser's
 * maxAttachments), a namespace of 256 bytes, JSON 32 levels deep. */
typedef struct roster__sio_limits {
  size_t max_attachments;
  size_t max_nsp;
  size_t max_depth;
} roster__sio_limits;

/* roster__sio_bin: bytes owned by the packet (or the encoding). */
typedef struct roster__sio_bin {
  uint8_t *p;
  size_t len;
} roster__sio_bin;

/* roster__sio_packet: one packet. Decoded packets own everything: nsp
 * (NUL-terminated, nsp_len bytes, "/" by default), a reference to data and
 * bins. kind is CONNECT..CONNECT_ERROR (binary forms come back as EVENT
 * or ACK with bins). id is -1 when the packet has none. */
typedef struct roster__sio_packet {
  roster__sio_kind kind;
  char *nsp;
  size_t nsp_len;
  int64_t id;
  json_t *data;
  roster__sio_bin *bins;
  size_t nbin;
} roster__sio_packet;

/* roster__sio_packet_free frees a decoded packet (members and struct);
 * NULL is fine. */
void roster__sio_packet_free(roster__sio_packet *p);

/* roster__sio_packet_equal: two decoded packets have the same kind,
 * namespace, id, payload (json_equal: placeholders compared by number)
 * and bins (bytes). */
bool roster__sio_packet_equal(const roster__sio_packet *a,
                              const roster__sio_packet *b);

/* ---- decoding ------------------------------------------------------------ */

/* roster__sio_decoder: the state of one connection's incoming packets: a
 * text packet, then as many binary frames as it announced. */
typedef struct roster__sio_decoder {
  roster__sio_limits lim;
  roster__sio_packet *pending; /* a binary packet waiting for frames */
  size_t want;                 /* frames it announced */
  roster__sio_bin *got;        /* frames received so far (copies) */
  size_t ngot;
  size_t *src; /* the frame each placeholder names, in document order */
  size_t nsrc;
} roster__sio_decoder;

/* roster__sio_decoder_init readies d (lim NULL: the defaults). */
void roster__sio_decoder_init(roster__sio_decoder *d,
                              const roster__sio_limits *lim);
/* roster__sio_decoder_reset drops a packet waiting for its frames. */
void roster__sio_decoder_reset(roster__sio_decoder *d);

/* roster__sio_decoder_text takes the text of an Engine.IO message
 * (without the "4"), s[0, n). *out is the decoded packet (the caller frees
 * it) or NULL when it announced attachments: feed them to
 * roster__sio_decoder_binary. Text while frames are awaited is an error.
 * After any error the decoder is reset. */
int roster__sio_decoder_text(roster__sio_decoder *d, const uint8_t *s, size_t n,
                             roster__sio_packet **out);
/* roster__sio_decoder_binary takes one binary frame (copied). *out is the
 * packet after its last frame, NULL before. A frame nobody announced is
 * an error. */
int roster__sio_decoder_binary(roster__sio_decoder *d, const uint8_t *p,
                               size_t n, roster__sio_packet **out);

/* ---- encoding ------------------------------------------------------------ */

/* roster__sio_encoded: a packet encoded once. text (text_len bytes, with a
 * NUL after them) is the Engine.IO message "4<socket.io text>": a
 * WebSocket text frame as it is, or one packet of a polling payload. Then
 * nbin attachments, each an Engine.IO binary message. Immutable; shared
 * by reference count (atomic). */
typedef struct roster__sio_encoded {
  atomic_size_t refs;
  uint8_t *text;
  size_t text_len;
  roster__sio_bin *bins;
  size_t nbin;
} roster__sio_encoded;

/* roster__sio_encode encodes pkt (kind CONNECT..CONNECT_ERROR; binary
 * values as placeholders into pkt->bins, see above; bins copied) under
 * lim (NULL: defaults). *out holds one reference. The packet must be
 * valid as the decoder would accept it (ROSTER_EINVAL says why not):
 * nsp starting with '/' and without ',' (NULL: "/"). */
int roster__sio_encode(const roster__sio_packet *pkt,
                       const roster__sio_limits *lim,
                       roster__sio_encoded **out);
roster__sio_encoded *roster__sio_encoded_acquire(roster__sio_encoded *e);
void roster__sio_encoded_release(roster__sio_encoded *e);

/* ---- shared by the two halves (sio_json.c) ------------------------------- */

/* roster__sio_limits_of: lim (NULL: all defaults) with its zero members
 * given their defaults. */
roster__sio_limits roster__sio_limits_of(const roster__sio_limits *lim);

/* roster__sio_data_valid: socket.io-parser's isDataValid for data under
 * kind (the binary kinds as EVENT and ACK, a missing payload NULL): NULL
 * when valid, else the rule it breaks (a static sentence). */
const char *roster__sio_data_valid(roster__sio_kind kind, const json_t *d);

/* roster__sio_nsp_invalid: NULL when nsp[0, len) can be a namespace
 * (starts with '/', no ',' that would end it, no NUL byte that a C string
 * comparison would stop at, UTF-8), else the rule it breaks. */
const char *roster__sio_nsp_invalid(const char *nsp, size_t len);

/* roster__sio_is_placeholder: v is an object whose "_placeholder" is true. */
bool roster__sio_is_placeholder(const json_t *v);

/* roster__sio_json_walk: a visit of a tree in socket.io-parser's order. */
typedef struct roster__sio_walk {
  size_t max_depth;
  bool binary; /* placeholders are binary values */
  /* on_placeholder (binary only) gets each placeholder in order and sets
   * *num, the number it has in the output; returns a roster code. ctx is
   * its own. */
  int (*on_placeholder)(void *ctx, json_t *ph, size_t *num);
  void *ctx;
  roster__eio_buf *out; /* not NULL: write the tree as JSON.stringify */
} roster__sio_walk;

/* roster__sio_phs: the placeholders a walk meets, in order: src[k] is the
 * bin the k-th one names. roster__sio_on_placeholder (a walk's callback,
 * ctx a roster__sio_phs) checks each names a bin below limit, that there
 * are at most max, records it and numbers it k; with rewrite it makes the
 * object exactly {"_placeholder":true,"num":k} (the decoder owns its
 * tree); counting (a second, writing walk) only numbers. A bad one is the
 * code bad (ROSTER_EPROTO decoding, ROSTER_EINVAL encoding). Free src with
 * roster_mem_free. */
typedef struct roster__sio_phs {
  size_t *src;
  size_t n, cap;
  size_t limit, max;
  bool rewrite, counting;
  int bad;
} roster__sio_phs;

int roster__sio_on_placeholder(void *ctx, json_t *ph, size_t *num);

/* roster__sio_json_walk visits v (and writes it when w->out is set);
 * ROSTER_ERANGE past max_depth, the callback's code or ROSTER_ENOMEM. */
int roster__sio_json_walk(roster__sio_walk *w, json_t *v);

#endif /* ROSTER_SIO_CODEC_H */
