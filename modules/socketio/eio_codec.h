/*
 * eio_codec.h: Engine.IO protocol 4 packets (modules/socketio only; never
 * installed). Pure data: no I/O, no threads, no global state; every call
 * may run on any thread.
 *
 * A packet is a kind (0 open .. 6 noop) and data. Over WebSocket a text
 * frame is "<kind digit><data>" and a binary frame is a binary message
 * (raw bytes). Over HTTP long-polling a payload joins packets with the
 * record separator 0x1e, a binary message written "b<base64>".
 *
 * The decoders are stricter than engine.io-parser where that parser
 * accepts what no Engine.IO peer writes: text must be UTF-8 (the parser
 * would replace bad bytes with U+FFFD), base64 must use the standard
 * alphabet with correct or no padding (Node's decoder skips stray
 * characters), and an empty packet is refused (the parser calls it an
 * error packet too). A WebSocket text frame "b<base64>" (what a client
 * with engine.io-client's forceBase64 option sends instead of a binary
 * frame) is not taken: roster__eio_decode_text refuses it as an unknown
 * kind. A payload with one bad packet is refused whole: the server then
 * closes that session, as the protocol says.
 *
 * Errors: every call returns a roster code (ROSTER_OK, ROSTER_EPROTO for
 * input that breaks the protocol, ROSTER_ERANGE for input past a limit,
 * ROSTER_EINVAL for a bad argument, ROSTER_ENOMEM) and leaves a sentence
 * in roster_last_error() that says what was wrong and where.
 */
#ifndef ROSTER_EIO_CODEC_H
#define ROSTER_EIO_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The packet kinds; the wire writes each as its digit. */
typedef enum roster__eio_kind {
  ROSTER__EIO_OPEN = 0,
  ROSTER__EIO_CLOSE = 1,
  ROSTER__EIO_PING = 2,
  ROSTER__EIO_PONG = 3,
  ROSTER__EIO_MESSAGE = 4,
  ROSTER__EIO_UPGRADE = 5,
  ROSTER__EIO_NOOP = 6,
} roster__eio_kind;

/* Engine.IO's default maxPayload (the server's maxHttpBufferSize): 1e6. */
#define ROSTER__EIO_MAX_PAYLOAD_DEFAULT 1000000u

/* roster__eio_packet: one packet. data points to len bytes that the packet
 * does not own (the input, or a payload's arena); for a text packet they
 * are UTF-8 text without the kind digit, for a binary message (binary
 * true, kind MESSAGE) raw bytes. A packet without data has len 0. */
typedef struct roster__eio_packet {
  roster__eio_kind kind;
  bool binary;
  const uint8_t *data;
  size_t len;
} roster__eio_packet;

/* ---- growing byte buffer (shared by both codecs) ------------------------- */

/* roster__eio_buf: bytes that grow as they are added. p is NULL until
 * something is added; free p with roster_mem_free (or take it). Adding
 * fails only for lack of memory (ROSTER_ENOMEM, detail set). */
typedef struct roster__eio_buf {
  uint8_t *p;
  size_t len, cap;
} roster__eio_buf;

int roster__eio_buf_add(roster__eio_buf *b, const void *p, size_t n);
/* roster__eio_buf_reserve makes room for n more bytes (len unchanged). */
int roster__eio_buf_reserve(roster__eio_buf *b, size_t n);
int roster__eio_buf_addc(roster__eio_buf *b, char c);
void roster__eio_buf_free(roster__eio_buf *b);

/* ---- text helpers (shared by both codecs) -------------------------------- */

/* roster__eio_utf8_valid: s[0, n) is UTF-8 (no overlong form, no
 * surrogate, nothing past U+10FFFF). On false, *bad (if not NULL) is the
 * offset of the first byte that is not. */
bool roster__eio_utf8_valid(const uint8_t *s, size_t n, size_t *bad);

/* roster__eio_base64_encode appends the standard base64 of p[0, n), padded
 * with '=', to b. */
int roster__eio_base64_encode(roster__eio_buf *b, const uint8_t *p, size_t n);
/* roster__eio_base64_decode decodes s[0, n) (standard alphabet, '='
 * padding present and right, or absent) into out, which has room for
 * n / 4 * 3 + 2 bytes; *out_len is the decoded length. ROSTER_EPROTO on
 * anything else. */
int roster__eio_base64_decode(const char *s, size_t n, uint8_t *out,
                              size_t *out_len);

/* ---- packets ------------------------------------------------------------- */

/* roster__eio_decode_text decodes one text packet (a WebSocket text frame,
 * or one packet of a payload that is not "b..."): s[0, n), n >= 1, UTF-8,
 * first byte a kind digit. out->data points into s. Allocates nothing. */
int roster__eio_decode_text(const uint8_t *s, size_t n,
                            roster__eio_packet *out);

/* roster__eio_decode_binary: a WebSocket binary frame is a binary message
 * whose data are the frame's bytes (out->data points into p). */
void roster__eio_decode_binary(const uint8_t *p, size_t n,
                               roster__eio_packet *out);

/* roster__eio_encode appends one packet as a WebSocket frame would carry
 * it: a text packet "<digit><data>", a binary message its raw bytes
 * (the caller sends those as a binary frame). Text data must be UTF-8 and
 * binary only for a message (ROSTER_EINVAL otherwise). */
int roster__eio_encode(roster__eio_buf *b, const roster__eio_packet *pkt);

/* ---- polling payloads ---------------------------------------------------- */

/* roster__eio_payload: the packets of a decoded payload; their data point
 * into the body or into arena (the decoded base64). Free with
 * roster__eio_payload_free. */
typedef struct roster__eio_payload {
  roster__eio_packet *pkts;
  size_t n;
  uint8_t *arena;
} roster__eio_payload;

/* roster__eio_payload_decode splits body[0, len) at each 0x1e and decodes
 * every packet ("b<base64>" a binary message, anything else a text
 * packet). len must be 1..max_payload (0: the default); an empty packet
 * or any invalid one refuses the whole payload, naming the packet's index
 * and offset. Allocates at most (len / 2 + 1) packets and len bytes of
 * arena, whatever the input. On failure *out is empty. */
int roster__eio_payload_decode(const uint8_t *body, size_t len,
                               size_t max_payload, roster__eio_payload *out);
void roster__eio_payload_free(roster__eio_payload *p);

/* roster__eio_payload_add appends one packet to a payload being built in
 * b: a separator first when b is not empty, then the packet as text
 * ("b<base64>" for a binary message). */
int roster__eio_payload_add(roster__eio_buf *b, const roster__eio_packet *pkt);

/* ---- the handshake ------------------------------------------------------- */

/* roster__eio_handshake: what the open packet tells the client. sid is
 * 1..64 characters of [A-Za-z0-9_-] (what the server generates: base64url
 * of random bytes); upgrades lists transport names of [a-z] ("websocket"),
 * n_upgrades of them (0 for a WebSocket connection, which cannot upgrade);
 * intervals in milliseconds; max_payload in bytes. */
typedef struct roster__eio_handshake {
  const char *sid;
  const char *const *upgrades;
  size_t n_upgrades;
  uint32_t ping_interval_ms, ping_timeout_ms;
  uint64_t max_payload;
} roster__eio_handshake;

/* roster__eio_open_encode appends the open packet, "0" and its JSON
 * object: {"sid":..,"upgrades":[..],"pingInterval":..,"pingTimeout":..,
 * "maxPayload":..}, members in that order (engine.io's). */
int roster__eio_open_encode(roster__eio_buf *b, const roster__eio_handshake *h);

#endif /* ROSTER_EIO_CODEC_H */
