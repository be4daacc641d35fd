/*
 * sio_codec.c: Socket.IO 5 packets (sio_codec.h), written from the
 * protocol's README and socket.io-parser 4.2 (Encoder, Decoder,
 * isPayloadValid/isPacketValid, deconstructPacket/reconstructPacket).
 */
#include "sio_codec.h"

#include <roster.h>

#include <stdio.h>
#include <string.h>

static const char *const kind_name[] = {
    "CONNECT",       "DISCONNECT",   "EVENT",     "ACK",
    "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK"};

static const char *const reserved_events[] = {"connect",     "connect_error",
                                              "disconnect",  "disconnecting",
                                              "newListener", "removeListener"};

roster__sio_limits roster__sio_limits_of(const roster__sio_limits *lim) {
  roster__sio_limits l = lim ? *lim : (roster__sio_limits){0, 0, 0};
  if (!l.max_attachments)
    l.max_attachments = 10;
  if (!l.max_nsp)
    l.max_nsp = 256;
  if (!l.max_depth)
    l.max_depth = 32;
  return l;
}

/* ---- packets ------------------------------------------------------------- */

static void bins_free(roster__sio_bin *b, size_t n) {
  for (size_t i = 0; b && i < n; i++)
    roster_mem_free(b[i].p);
  roster_mem_free(b);
}

void roster__sio_packet_free(roster__sio_packet *p) {
  if (!p)
    return;
  roster_mem_free(p->nsp);
  json_decref(p->data);
  bins_free(p->bins, p->nbin);
  roster_mem_free(p);
}

bool roster__sio_packet_equal(const roster__sio_packet *a,
                              const roster__sio_packet *b) {
  if (a->kind != b->kind || a->id != b->id || a->nbin != b->nbin ||
      a->nsp_len != b->nsp_len || memcmp(a->nsp, b->nsp, a->nsp_len) != 0)
    return false;
  if ((a->data == NULL) != (b->data == NULL) ||
      (a->data && !json_equal(a->data, b->data)))
    return false;
  for (size_t i = 0; i < a->nbin; i++)
    if (a->bins[i].len != b->bins[i].len ||
        (a->bins[i].len &&
         memcmp(a->bins[i].p, b->bins[i].p, a->bins[i].len) != 0))
      return false;
  return true;
}

const char *roster__sio_data_valid(roster__sio_kind kind, const json_t *d) {
  switch (kind) {
  case ROSTER__SIO_CONNECT:
    return !d || json_is_object(d) ? NULL
                                   : "a CONNECT payload must be an object";
  case ROSTER__SIO_DISCONNECT:
    return !d ? NULL : "a DISCONNECT has no payload";
  case ROSTER__SIO_CONNECT_ERROR:
    return json_is_string(d) || json_is_object(d)
               ? NULL
               : "a CONNECT_ERROR payload must be a string or an object";
  case ROSTER__SIO_EVENT:
  case ROSTER__SIO_BINARY_EVENT: {
    const json_t *name = json_array_get(d, 0);
    if (!json_is_array(d) || !(json_is_string(name) || json_is_number(name)))
      return "an EVENT payload must be an array whose first element is "
             "the event name (a string or a number)";
    for (size_t i = 0; json_is_string(name) &&
                       i < sizeof reserved_events / sizeof *reserved_events;
         i++)
      if (strcmp(json_string_value(name), reserved_events[i]) == 0 &&
          strlen(reserved_events[i]) == json_string_length(name))
        return "the event name is reserved (connect, connect_error, "
               "disconnect, disconnecting, newListener, removeListener)";
    return NULL;
  }
  case ROSTER__SIO_ACK:
  case ROSTER__SIO_BINARY_ACK:
    return json_is_array(d) ? NULL : "an ACK payload must be an array";
  }
  return "unknown packet type";
}

const char *roster__sio_nsp_invalid(const char *nsp, size_t len) {
  if (len == 0 || nsp[0] != '/')
    return "a namespace starts with '/'";
  if (memchr(nsp, ',', len))
    return "a namespace holds no ','";
  if (memchr(nsp, '\0', len))
    return "a namespace holds no NUL byte";
  if (!roster__eio_utf8_valid((const uint8_t *)nsp, len, NULL))
    return "the namespace is not UTF-8";
  return NULL;
}

/* ---- placeholders -------------------------------------------------------- */

int roster__sio_on_placeholder(void *ctx, json_t *ph, size_t *num) {
  roster__sio_phs *s = ctx;
  if (s->counting) {
    *num = s->n++;
    return ROSTER_OK;
  }
  json_t *jn = json_object_get(ph, "num");
  double d = json_is_number(jn) ? json_number_value(jn) : -1;
  if (!(d >= 0 && d < (double)s->limit && (double)(size_t)d == d))
    return roster_error_set(
        s->bad,
        "socket.io: %s: a placeholder's num must be an "
        "integer below %zu",
        s->bad == ROSTER_EPROTO ? "illegal attachments" : "encode", s->limit);
  if (s->n == s->max)
    return roster_error_set(s->bad,
                            "socket.io: more placeholders than the %zu "
                            "attachments announced",
                            s->max);
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 8;
    size_t *np = roster_mem_realloc(s->src, cap * sizeof *np);
    if (!np)
      return roster_error_set(ROSTER_ENOMEM, "socket.io: out of memory");
    s->src = np;
    s->cap = cap;
  }
  s->src[s->n] = (size_t)d;
  *num = s->n++;
  if (s->rewrite) {
    json_object_clear(ph);
    if (json_object_set_new(ph, "_placeholder", json_true()) ||
        json_object_set_new(ph, "num", json_integer((json_int_t)*num)))
      return roster_error_set(ROSTER_ENOMEM, "socket.io: out of memory");
  }
  return ROSTER_OK;
}

/* ---- decoding ------------------------------------------------------------ */

/* digits reads ASCII digits at s[*i, n) into *v (saturating past max);
 * returns how many. */
static size_t digits(const uint8_t *s, size_t n, size_t *i, uint64_t max,
                     uint64_t *v) {
  size_t start = *i;
  *v = 0;
  for (; *i < n && s[*i] >= '0' && s[*i] <= '9'; (*i)++)
    *v = *v > max ? *v : *v * 10 + (uint64_t)(s[*i] - '0');
  return *i - start;
}

/* decode_text parses one text packet; *attachments is what a binary kind
 * announced (0 otherwise); src lists its placeholders. */
static int decode_text(const roster__sio_limits *lim, const uint8_t *s,
                       size_t n, roster__sio_packet **out, size_t *attachments,
                       roster__sio_phs *src) {
  roster__sio_packet *p = NULL;
  size_t i = 1;
  uint64_t v;
  int rc;
  *out = NULL;
  *attachments = 0;
  if (n == 0)
    return roster_error_set(ROSTER_EPROTO, "socket.io: empty packet");
  if (s[0] < '0' || s[0] > '6')
    return roster_error_set(ROSTER_EPROTO,
                            "socket.io: unknown packet type (byte 0x%02x): "
                            "expected 0-6",
                            s[0]);
  roster__sio_kind kind = (roster__sio_kind)(s[0] - '0');
  bool binary = kind >= ROSTER__SIO_BINARY_EVENT;
  if (binary) {
    if (digits(s, n, &i, UINT32_MAX, &v) == 0 || i == n || s[i] != '-' || v < 1)
      return roster_error_set(ROSTER_EPROTO,
                              "socket.io: %s: illegal attachments: expected "
                              "a count of 1 or more, then '-'",
                              kind_name[kind]);
    if (v > lim->max_attachments)
      return roster_error_set(ROSTER_ERANGE,
                              "socket.io: %s: too many attachments (%llu, "
                              "at most %zu)",
                              kind_name[kind], (unsigned long long)v,
                              lim->max_attachments);
    *attachments = (size_t)v;
    i++;
  }
  const uint8_t *nsp = (const uint8_t *)"/";
  size_t nsp_len = 1;
  if (i < n && s[i] == '/') {
    const uint8_t *comma = memchr(s + i, ',', n - i);
    nsp = s + i;
    nsp_len = comma ? (size_t)(comma - nsp) : n - i;
    i += nsp_len + (comma != NULL);
    if (nsp_len > lim->max_nsp)
      return roster_error_set(ROSTER_ERANGE,
                              "socket.io: namespace of %zu bytes (at most "
                              "%zu)",
                              nsp_len, lim->max_nsp);
    const char *why = roster__sio_nsp_invalid((const char *)nsp, nsp_len);
    if (why)
      return roster_error_set(ROSTER_EPROTO, "socket.io: %s", why);
  }
  int64_t id = -1;
  if (i < n && s[i] >= '0' && s[i] <= '9') {
    digits(s, n, &i, ROSTER__SIO_MAX_ACK_ID, &v);
    if (v > ROSTER__SIO_MAX_ACK_ID)
      return roster_error_set(ROSTER_ERANGE, "socket.io: ack id past 2^53 - "
                                             "1");
    id = (int64_t)v;
  }
  json_t *data = NULL;
  if (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
    return roster_error_set(ROSTER_EPROTO,
                            "socket.io: %s: the payload starts with white "
                            "space (offset %zu)",
                            kind_name[kind], i);
  if (i < n) {
    json_error_t err;
    data = json_loadb(
        (const char *)s + i, n - i,
        JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &err);
    if (!data)
      return roster_error_set(ROSTER_EPROTO,
                              "socket.io: %s: payload at offset %zu is not "
                              "JSON: %s (at byte %d)",
                              kind_name[kind], i, err.text, err.position);
  }
  const char *why = roster__sio_data_valid(kind, data);
  if (why) {
    json_decref(data);
    return roster_error_set(ROSTER_EPROTO, "socket.io: invalid %s: %s",
                            kind_name[kind], why);
  }
  /* each placeholder would be a copy of a frame: no more than frames */
  roster__sio_walk w = {lim->max_depth, binary, roster__sio_on_placeholder, src,
                        NULL};
  *src = (roster__sio_phs){NULL,         0,    0,     *attachments,
                           *attachments, true, false, ROSTER_EPROTO};
  if (data && (rc = roster__sio_json_walk(&w, data)))
    goto fail;
  p = roster_mem_calloc(1, sizeof *p);
  if (!p || !(p->nsp = roster_mem_alloc(nsp_len + 1))) {
    rc = roster_error_set(ROSTER_ENOMEM, "socket.io: out of memory");
    goto fail;
  }
  memcpy(p->nsp, nsp, nsp_len);
  p->nsp[nsp_len] = '\0';
  p->nsp_len = nsp_len;
  p->kind = binary ? kind - 3 : kind; /* BINARY_EVENT -> EVENT, ... */
  p->id = id;
  p->data = data;
  *out = p;
  return ROSTER_OK;
fail:
  roster_mem_free(p);
  roster_mem_free(src->src);
  src->src = NULL;
  json_decref(data);
  return rc;
}

void roster__sio_decoder_init(roster__sio_decoder *d,
                              const roster__sio_limits *lim) {
  memset(d, 0, sizeof *d);
  d->lim = roster__sio_limits_of(lim);
}

void roster__sio_decoder_reset(roster__sio_decoder *d) {
  roster__sio_packet_free(d->pending);
  bins_free(d->got, d->want);
  roster_mem_free(d->src);
  d->pending = NULL;
  d->got = NULL;
  d->src = NULL;
  d->ngot = d->want = d->nsrc = 0;
}

/* finish gives the pending packet its bins: the k-th placeholder's frame,
 * moved the first time a frame is named, copied after. */
static int finish(roster__sio_decoder *d, roster__sio_packet **out) {
  roster__sio_packet *p = d->pending;
  size_t *src = d->src, n = d->nsrc;
  roster__sio_bin *bins = n ? roster_mem_calloc(n, sizeof *bins) : NULL;
  int rc = n && !bins ? roster_error_set(ROSTER_ENOMEM, "socket.io: out of "
                                                        "memory")
                      : ROSTER_OK;
  for (size_t k = 0; !rc && k < n; k++) {
    roster__sio_bin *g = &d->got[src[k]];
    if (g->p || g->len == 0) {
      bins[k] = *g;
      g->p = NULL;
      g->len = SIZE_MAX; /* taken */
      continue;
    }
    /* taken before: copy the earlier one */
    size_t j = 0;
    while (src[j] != src[k])
      j++;
    bins[k].len = bins[j].len;
    bins[k].p = roster_mem_alloc(bins[j].len ? bins[j].len : 1);
    if (!bins[k].p)
      rc = roster_error_set(ROSTER_ENOMEM, "socket.io: out of memory");
    else if (bins[j].len)
      memcpy(bins[k].p, bins[j].p, bins[j].len);
  }
  if (rc) {
    bins_free(bins, n);
    roster__sio_decoder_reset(d);
    return rc;
  }
  p->bins = bins;
  p->nbin = n;
  d->pending = NULL;
  roster__sio_decoder_reset(d);
  *out = p;
  return ROSTER_OK;
}

int roster__sio_decoder_text(roster__sio_decoder *d, const uint8_t *s, size_t n,
                             roster__sio_packet **out) {
  size_t att;
  roster__sio_phs src;
  *out = NULL;
  if (d->pending) {
    size_t have = d->ngot, want = d->want;
    roster__sio_decoder_reset(d);
    return roster_error_set(ROSTER_EPROTO,
                            "socket.io: a text packet came while %zu of %zu "
                            "attachments were missing",
                            want - have, want);
  }
  roster__sio_packet *p;
  int rc = decode_text(&d->lim, s, n, &p, &att, &src);
  if (rc)
    return rc;
  if (att == 0) {
    *out = p;
    return ROSTER_OK;
  }
  d->pending = p;
  d->want = att;
  d->src = src.src;
  d->nsrc = src.n;
  d->got = roster_mem_calloc(att, sizeof *d->got);
  if (!d->got) {
    roster__sio_decoder_reset(d);
    return roster_error_set(ROSTER_ENOMEM, "socket.io: out of memory");
  }
  return ROSTER_OK;
}

int roster__sio_decoder_binary(roster__sio_decoder *d, const uint8_t *b,
                               size_t n, roster__sio_packet **out) {
  *out = NULL;
  if (!d->pending)
    return roster_error_set(ROSTER_EPROTO, "socket.io: a binary frame came "
                                           "when no packet announced one");
  roster__sio_bin *g = &d->got[d->ngot];
  g->p = n ? roster_mem_alloc(n) : NULL;
  if (n && !g->p) {
    roster__sio_decoder_reset(d);
    return roster_error_set(ROSTER_ENOMEM, "socket.io: out of memory");
  }
  if (n)
    memcpy(g->p, b, n);
  g->len = n;
  if (++d->ngot < d->want)
    return ROSTER_OK;
  return finish(d, out);
}
