/*
 * sio_encode.c: encoding a Socket.IO packet once (sio_codec.h): the
 * Engine.IO message text "4<socket.io text>" and its attachments, in a
 * reference-counted block that every client of a broadcast shares.
 */
#include "sio_codec.h"

#include <roster.h>

#include <stdio.h>
#include <string.h>

/* check_packet: what socket.io-parser's isPacketValid checks, and what
 * the text form needs to read back the same. */
static int check_packet(const roster__sio_packet *p,
                        const roster__sio_limits *lim, size_t *nsp_len) {
  static const char *const why_kind =
      "socket.io: encode: kind must be CONNECT..CONNECT_ERROR (binary "
      "packets are EVENT or ACK with bins)";
  if ((unsigned)p->kind > ROSTER__SIO_CONNECT_ERROR)
    return roster_error_set(ROSTER_EINVAL, "%s", why_kind);
  const char *nsp = p->nsp ? p->nsp : "/";
  *nsp_len = p->nsp ? p->nsp_len : 1;
  const char *why = roster__sio_nsp_invalid(nsp, *nsp_len);
  if (why)
    return roster_error_set(ROSTER_EINVAL, "socket.io: encode: %s", why);
  if (*nsp_len > lim->max_nsp)
    return roster_error_set(ROSTER_EINVAL,
                            "socket.io: encode: namespace of %zu bytes (at "
                            "most %zu)",
                            *nsp_len, lim->max_nsp);
  if (p->id < -1 || p->id > ROSTER__SIO_MAX_ACK_ID)
    return roster_error_set(ROSTER_EINVAL, "socket.io: encode: ack id must "
                                           "be -1 (none) or 0..2^53 - 1");
  if (p->nbin && (!p->bins ||
                  (p->kind != ROSTER__SIO_EVENT && p->kind != ROSTER__SIO_ACK)))
    return roster_error_set(ROSTER_EINVAL, "socket.io: encode: only an EVENT "
                                           "or an ACK has bins");
  for (size_t i = 0; i < p->nbin; i++)
    if (p->bins[i].len && !p->bins[i].p)
      return roster_error_set(ROSTER_EINVAL,
                              "socket.io: encode: bin %zu is "
                              "NULL",
                              i);
  return ROSTER_OK;
}

static void encoded_free(roster__sio_encoded *e) {
  for (size_t i = 0; e->bins && i < e->nbin; i++)
    roster_mem_free(e->bins[i].p);
  roster_mem_free(e->bins);
  roster_mem_free(e->text);
  roster_mem_free(e);
}

roster__sio_encoded *roster__sio_encoded_acquire(roster__sio_encoded *e) {
  if (e)
    atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
  return e;
}

void roster__sio_encoded_release(roster__sio_encoded *e) {
  if (e && atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) == 1)
    encoded_free(e);
}

/* copy_bins gives e the bins named by the placeholders, in order. */
static int copy_bins(roster__sio_encoded *e, const roster__sio_packet *p,
                     const roster__sio_phs *ph) {
  if (ph->n == 0)
    return ROSTER_OK;
  e->bins = roster_mem_calloc(ph->n, sizeof *e->bins);
  if (!e->bins)
    return roster_error_set(ROSTER_ENOMEM, "socket.io: out of memory");
  e->nbin = ph->n;
  for (size_t k = 0; k < ph->n; k++) {
    const roster__sio_bin *b = &p->bins[ph->src[k]];
    e->bins[k].p = roster_mem_alloc(b->len ? b->len : 1);
    if (!e->bins[k].p)
      return roster_error_set(ROSTER_ENOMEM, "socket.io: out of memory");
    if (b->len)
      memcpy(e->bins[k].p, b->p, b->len);
    e->bins[k].len = b->len;
  }
  return ROSTER_OK;
}

int roster__sio_encode(const roster__sio_packet *pkt,
                       const roster__sio_limits *lim_in,
                       roster__sio_encoded **out) {
  if (!out || !pkt)
    return roster_error_set(ROSTER_EINVAL, "socket.io: encode: NULL "
                                           "argument");
  *out = NULL;
  roster__sio_limits lim = roster__sio_limits_of(lim_in);
  size_t nsp_len = 1;
  int rc = check_packet(pkt, &lim, &nsp_len);
  if (rc)
    return rc;
  const char *why = roster__sio_data_valid(pkt->kind, pkt->data);
  if (why)
    return roster_error_set(ROSTER_EINVAL, "socket.io: encode: %s", why);

  /* first pass: depth, and the bins the placeholders name */
  roster__sio_phs ph = {NULL,     0,     0,     pkt->nbin,
                        SIZE_MAX, false, false, ROSTER_EINVAL};
  roster__sio_walk w = {lim.max_depth, pkt->nbin > 0,
                        roster__sio_on_placeholder, &ph, NULL};
  if (pkt->data && (rc = roster__sio_json_walk(&w, pkt->data)))
    goto done;
  if (ph.n > lim.max_attachments) {
    rc = roster_error_set(ROSTER_ERANGE,
                          "socket.io: encode: %zu attachments (at most %zu)",
                          ph.n, lim.max_attachments);
    goto done;
  }

  roster__sio_encoded *e = roster_mem_calloc(1, sizeof *e);
  if (!e) {
    rc = roster_error_set(ROSTER_ENOMEM, "socket.io: out of memory");
    goto done;
  }
  atomic_init(&e->refs, 1);
  roster__eio_buf b = {0};
  char head[48];
  int m = ph.n
              ? snprintf(head, sizeof head, "4%d%zu-", (int)pkt->kind + 3, ph.n)
              : snprintf(head, sizeof head, "4%d", (int)pkt->kind);
  rc = roster__eio_buf_add(&b, head, (size_t)m);
  if (!rc && nsp_len > 1) {
    rc = roster__eio_buf_add(&b, pkt->nsp, nsp_len);
    rc = rc ? rc : roster__eio_buf_addc(&b, ',');
  }
  if (!rc && pkt->id >= 0) {
    m = snprintf(head, sizeof head, "%lld", (long long)pkt->id);
    rc = roster__eio_buf_add(&b, head, (size_t)m);
  }
  if (!rc && pkt->data) {
    ph.counting = true;
    size_t found = ph.n;
    ph.n = 0;
    w.out = &b;
    rc = roster__sio_json_walk(&w, pkt->data);
    ph.n = found;
  }
  rc = rc ? rc : roster__eio_buf_addc(&b, '\0');
  rc = rc ? rc : copy_bins(e, pkt, &ph);
  e->text = b.p;
  e->text_len = b.len ? b.len - 1 : 0;
  if (rc)
    encoded_free(e);
  else
    *out = e;
done:
  roster_mem_free(ph.src);
  return rc;
}
