/*
 * eio_codec.c: Engine.IO 4 packets and polling payloads (eio_codec.h),
 * written from the protocol's README and engine.io-parser 5.2 (encodePacket,
 * decodePacket, encodePayload, decodePayload).
 */
#include "eio_codec.h"

#include <roster.h>

#include <stdio.h>
#include <string.h>

/* ---- buffer -------------------------------------------------------------- */

int roster__eio_buf_reserve(roster__eio_buf *b, size_t n) {
  if (n > SIZE_MAX / 2 - b->len)
    return roster_error_set(ROSTER_ENOMEM, "socket.io: buffer too large");
  if (b->len + n <= b->cap)
    return ROSTER_OK;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < b->len + n)
    cap *= 2;
  uint8_t *np = roster_mem_realloc(b->p, cap);
  if (!np)
    return roster_error_set(ROSTER_ENOMEM,
                            "socket.io: out of memory (%zu bytes)", cap);
  b->p = np;
  b->cap = cap;
  return ROSTER_OK;
}

int roster__eio_buf_add(roster__eio_buf *b, const void *p, size_t n) {
  int rc = roster__eio_buf_reserve(b, n);
  if (rc)
    return rc;
  if (n)
    memcpy(b->p + b->len, p, n);
  b->len += n;
  return ROSTER_OK;
}

int roster__eio_buf_addc(roster__eio_buf *b, char c) {
  return roster__eio_buf_add(b, &c, 1);
}

void roster__eio_buf_free(roster__eio_buf *b) {
  roster_mem_free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

/* ---- UTF-8 --------------------------------------------------------------- */

bool roster__eio_utf8_valid(const uint8_t *s, size_t n, size_t *bad) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t k = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (k == 0 || c > 0xF4 || n - i < k)
      goto fail;
    uint32_t cp = c & (0x7Fu >> k);
    for (size_t j = 1; j < k; j++) {
      if ((s[i + j] & 0xC0) != 0x80)
        goto fail;
      cp = cp << 6 | (s[i + j] & 0x3Fu);
    }
    if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      goto fail;
    i += k;
  }
  return true;
fail:
  if (bad)
    *bad = i;
  return false;
}

/* ---- base64 -------------------------------------------------------------- */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int roster__eio_base64_encode(roster__eio_buf *b, const uint8_t *p, size_t n) {
  int rc = roster__eio_buf_reserve(b, (n + 2) / 3 * 4);
  if (rc)
    return rc;
  char q[4];
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16;
    if (i + 1 < n)
      v |= (uint32_t)p[i + 1] << 8;
    if (i + 2 < n)
      v |= p[i + 2];
    q[0] = b64_alphabet[v >> 18 & 63];
    q[1] = b64_alphabet[v >> 12 & 63];
    q[2] = i + 1 < n ? b64_alphabet[v >> 6 & 63] : '=';
    q[3] = i + 2 < n ? b64_alphabet[v & 63] : '=';
    memcpy(b->p + b->len, q, 4);
    b->len += 4;
  }
  return ROSTER_OK;
}

static int b64_value(uint8_t c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

int roster__eio_base64_decode(const char *s, size_t n, uint8_t *out,
                              size_t *out_len) {
  const uint8_t *u = (const uint8_t *)s;
  size_t pad = 0;
  if (n % 4 == 0 && n >= 1 && u[n - 1] == '=')
    pad = n >= 2 && u[n - 2] == '=' ? 2 : 1;
  size_t m = n - pad; /* characters that carry bits */
  if (m % 4 == 1)
    return roster_error_set(ROSTER_EPROTO,
                            "base64 of %zu characters is cut short", n);
  size_t o = 0;
  uint32_t acc = 0;
  for (size_t i = 0; i < m; i++) {
    int v = b64_value(u[i]);
    if (v < 0)
      return roster_error_set(ROSTER_EPROTO,
                              "base64: byte 0x%02x at offset %zu is not "
                              "in the alphabet",
                              u[i], i);
    acc = acc << 6 | (uint32_t)v;
    if (i % 4 == 3) {
      out[o++] = (uint8_t)(acc >> 16);
      out[o++] = (uint8_t)(acc >> 8);
      out[o++] = (uint8_t)acc;
      acc = 0;
    }
  }
  /* a last group of 2 or 3 characters: its spare bits must be zero, so
   * that one byte string has one encoding */
  if (m % 4 == 2) {
    if (acc & 0xF)
      return roster_error_set(ROSTER_EPROTO, "base64: the last character "
                                             "has bits past the data");
    out[o++] = (uint8_t)(acc >> 4);
  } else if (m % 4 == 3) {
    if (acc & 0x3)
      return roster_error_set(ROSTER_EPROTO, "base64: the last character "
                                             "has bits past the data");
    out[o++] = (uint8_t)(acc >> 10);
    out[o++] = (uint8_t)(acc >> 2);
  }
  *out_len = o;
  return ROSTER_OK;
}

/* ---- packets ------------------------------------------------------------- */

int roster__eio_decode_text(const uint8_t *s, size_t n,
                            roster__eio_packet *out) {
  size_t bad;
  if (n == 0)
    return roster_error_set(ROSTER_EPROTO, "engine.io: empty packet");
  if (s[0] < '0' || s[0] > '6')
    return roster_error_set(ROSTER_EPROTO,
                            "engine.io: unknown packet type '%c' (0x%02x): "
                            "expected 0-6",
                            s[0] >= 0x20 && s[0] < 0x7f ? s[0] : '?', s[0]);
  if (!roster__eio_utf8_valid(s, n, &bad))
    return roster_error_set(ROSTER_EPROTO,
                            "engine.io: text packet is not UTF-8 (byte "
                            "0x%02x at offset %zu)",
                            s[bad], bad);
  out->kind = (roster__eio_kind)(s[0] - '0');
  out->binary = false;
  out->data = s + 1;
  out->len = n - 1;
  return ROSTER_OK;
}

void roster__eio_decode_binary(const uint8_t *p, size_t n,
                               roster__eio_packet *out) {
  out->kind = ROSTER__EIO_MESSAGE;
  out->binary = true;
  out->data = p;
  out->len = n;
}

static int check_packet(const roster__eio_packet *pkt) {
  if (!pkt || (unsigned)pkt->kind > ROSTER__EIO_NOOP ||
      (pkt->len && !pkt->data))
    return roster_error_set(ROSTER_EINVAL, "engine.io: encode: no packet, "
                                           "an unknown kind or data NULL");
  if (pkt->binary && pkt->kind != ROSTER__EIO_MESSAGE)
    return roster_error_set(ROSTER_EINVAL, "engine.io: encode: only a "
                                           "message may be binary");
  size_t bad;
  if (!pkt->binary && !roster__eio_utf8_valid(pkt->data, pkt->len, &bad))
    return roster_error_set(ROSTER_EINVAL,
                            "engine.io: encode: text data is not UTF-8 "
                            "(offset %zu)",
                            bad);
  return ROSTER_OK;
}

int roster__eio_encode(roster__eio_buf *b, const roster__eio_packet *pkt) {
  int rc = check_packet(pkt);
  if (rc)
    return rc;
  if (!pkt->binary && (rc = roster__eio_buf_addc(b, (char)('0' + pkt->kind))))
    return rc;
  return roster__eio_buf_add(b, pkt->data, pkt->len);
}

/* ---- payloads ------------------------------------------------------------ */

#define EIO_SEP 0x1e

int roster__eio_payload_add(roster__eio_buf *b, const roster__eio_packet *pkt) {
  int rc = check_packet(pkt);
  if (rc)
    return rc;
  if (b->len && (rc = roster__eio_buf_addc(b, EIO_SEP)))
    return rc;
  if (!pkt->binary)
    return roster__eio_encode(b, pkt);
  if ((rc = roster__eio_buf_addc(b, 'b')))
    return rc;
  return roster__eio_base64_encode(b, pkt->data, pkt->len);
}

void roster__eio_payload_free(roster__eio_payload *p) {
  if (!p)
    return;
  roster_mem_free(p->pkts);
  roster_mem_free(p->arena);
  memset(p, 0, sizeof *p);
}

/* decode_one decodes the packet s[0, n) of a payload; base64 goes to the
 * arena at *used. */
static int decode_one(const uint8_t *s, size_t n, roster__eio_payload *out,
                      size_t *used, roster__eio_packet *pkt) {
  if (n >= 1 && s[0] == 'b') {
    size_t got;
    int rc = roster__eio_base64_decode((const char *)s + 1, n - 1,
                                       out->arena + *used, &got);
    if (rc)
      return rc;
    roster__eio_decode_binary(out->arena + *used, got, pkt);
    *used += got;
    return ROSTER_OK;
  }
  return roster__eio_decode_text(s, n, pkt);
}

int roster__eio_payload_decode(const uint8_t *body, size_t len,
                               size_t max_payload, roster__eio_payload *out) {
  if (!out)
    return roster_error_set(ROSTER_EINVAL, "engine.io: payload: out is NULL");
  memset(out, 0, sizeof *out);
  if (!max_payload)
    max_payload = ROSTER__EIO_MAX_PAYLOAD_DEFAULT;
  if (len == 0 || !body)
    return roster_error_set(ROSTER_EPROTO, "engine.io: empty payload");
  if (len > max_payload)
    return roster_error_set(ROSTER_ERANGE,
                            "engine.io: payload of %zu bytes is past "
                            "maxPayload (%zu)",
                            len, max_payload);
  size_t count = 1;
  for (size_t i = 0; i < len; i++)
    count += body[i] == EIO_SEP;
  /* every packet has at least one byte, so count <= len / 2 + 1 */
  if (count > len / 2 + 1)
    return roster_error_set(ROSTER_EPROTO,
                            "engine.io: payload holds an empty packet");
  out->pkts = roster_mem_calloc(count, sizeof *out->pkts);
  out->arena = roster_mem_alloc(len);
  if (!out->pkts || !out->arena) {
    roster__eio_payload_free(out);
    return roster_error_set(ROSTER_ENOMEM, "engine.io: out of memory");
  }
  size_t start = 0, used = 0;
  for (size_t k = 0; k < count; k++) {
    const uint8_t *sep = memchr(body + start, EIO_SEP, len - start);
    size_t end = sep ? (size_t)(sep - body) : len;
    int rc = decode_one(body + start, end - start, out, &used, &out->pkts[k]);
    if (rc) {
      char why[256];
      snprintf(why, sizeof why, "%s", roster_last_error());
      roster__eio_payload_free(out);
      return roster_error_set(rc,
                              "engine.io: payload packet %zu (offset %zu): "
                              "%s",
                              k, start, why);
    }
    start = end + 1;
  }
  out->n = count;
  return ROSTER_OK;
}

/* ---- the open packet ----------------------------------------------------- */

static bool all_of(const char *s, size_t max, bool (*ok)(char)) {
  size_t n = 0;
  for (; s && s[n]; n++)
    if (!ok(s[n]))
      return false;
  return n >= 1 && n <= max;
}

static bool sid_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static bool transport_char(char c) { return c >= 'a' && c <= 'z'; }

int roster__eio_open_encode(roster__eio_buf *b,
                            const roster__eio_handshake *h) {
  if (!h || !all_of(h->sid, 64, sid_char))
    return roster_error_set(ROSTER_EINVAL, "engine.io: open: the sid must "
                                           "be 1-64 of [A-Za-z0-9_-]");
  char num[160];
  int rc = roster__eio_buf_add(b, "0{\"sid\":\"", 9);
  rc = rc ? rc : roster__eio_buf_add(b, h->sid, strlen(h->sid));
  rc = rc ? rc : roster__eio_buf_add(b, "\",\"upgrades\":[", 14);
  for (size_t i = 0; !rc && i < h->n_upgrades; i++) {
    const char *u = h->upgrades ? h->upgrades[i] : NULL;
    if (!all_of(u, 32, transport_char))
      return roster_error_set(ROSTER_EINVAL,
                              "engine.io: open: upgrade %zu is not a "
                              "transport name ([a-z], 1-32)",
                              i);
    rc = roster__eio_buf_add(b, i ? ",\"" : "\"", i ? 2 : 1);
    rc = rc ? rc : roster__eio_buf_add(b, u, strlen(u));
    rc = rc ? rc : roster__eio_buf_addc(b, '"');
  }
  int n = snprintf(num, sizeof num,
                   "],\"pingInterval\":%u,\"pingTimeout\":%u,"
                   "\"maxPayload\":%llu}",
                   (unsigned)h->ping_interval_ms, (unsigned)h->ping_timeout_ms,
                   (unsigned long long)h->max_payload);
  return rc ? rc : roster__eio_buf_add(b, num, (size_t)n);
}
