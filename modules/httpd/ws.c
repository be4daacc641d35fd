/*
 * ws.c: WebSocket connections (RFC 6455): the upgrade (version, key,
 * Origin, the route's on_open, the 101 with Sec-WebSocket-Accept from
 * libcrypto's SHA-1 and base64), incoming frames read with libwslay's
 * frame API and checked here (masking, reserved bits and opcodes,
 * fragmentation, control frames, UTF-8, close codes, the size bound),
 * and outgoing frames, which roster builds itself: a server frame is a
 * header of at most 10 bytes before the payload, so one buffer serves
 * every connection a message goes to.
 */
#include "httpd_impl.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <string.h>
#include <strings.h>

#include "roster/alloc.h"
#include "roster/error.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* ---- UTF-8 ------------------------------------------------------------- */

/* The state packs the continuation bytes still needed (bits 0-7) and the
 * range allowed for the next one (lo in bits 8-15, hi in bits 16-23). */
uint32_t roster__httpd_utf8(uint32_t st, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n && st != UINT32_MAX; i++) {
    uint8_t b = p[i];
    uint32_t need = st & 0xff, lo = (st >> 8) & 0xff, hi = (st >> 16) & 0xff;
    if (need) {
      if (b < lo || b > hi)
        return UINT32_MAX;
      st = need - 1 ? (need - 1) | 0x80u << 8 | 0xbfu << 16 : 0;
      continue;
    }
    if (b < 0x80)
      continue;
    if (b >= 0xc2 && b <= 0xdf)
      st = 1 | 0x80u << 8 | 0xbfu << 16;
    else if (b == 0xe0)
      st = 2 | 0xa0u << 8 | 0xbfu << 16;
    else if (b == 0xed)
      st = 2 | 0x80u << 8 | 0x9fu << 16;
    else if (b >= 0xe1 && b <= 0xef)
      st = 2 | 0x80u << 8 | 0xbfu << 16;
    else if (b == 0xf0)
      st = 3 | 0x90u << 8 | 0xbfu << 16;
    else if (b >= 0xf1 && b <= 0xf3)
      st = 3 | 0x80u << 8 | 0xbfu << 16;
    else if (b == 0xf4)
      st = 3 | 0x80u << 8 | 0x8fu << 16;
    else
      return UINT32_MAX;
  }
  return st;
}

/* ---- frames out ---------------------------------------------------------- */

static roster_httpd_msg *frame(int opcode, const void *p, size_t n) {
  size_t h = n < 126 ? 2 : n < 65536 ? 4 : 10;
  roster_httpd_msg *m = roster__httpd_msg_alloc(h + n);
  if (!m)
    return NULL;
  uint8_t *d = m->data;
  d[0] = (uint8_t)(0x80 | opcode);
  if (n < 126) {
    d[1] = (uint8_t)n;
  } else if (n < 65536) {
    d[1] = 126;
    d[2] = (uint8_t)(n >> 8);
    d[3] = (uint8_t)n;
  } else {
    d[1] = 127;
    for (int i = 0; i < 8; i++)
      d[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
  }
  if (n)
    memcpy(d + h, p, n);
  m->payload = n;
  return m;
}

int roster_httpd_msg_new(roster_httpd_ws_kind kind, const void *data,
                         size_t len, roster_httpd_msg **out) {
  if (out)
    *out = NULL;
  if (!out ||
      (kind != ROSTER_HTTPD_WS_TEXT && kind != ROSTER_HTTPD_WS_BINARY) ||
      (!data && len))
    return roster_error_set(ROSTER_EINVAL,
                            "roster_httpd_msg_new: NULL out, bad kind or "
                            "NULL data");
  if (kind == ROSTER_HTTPD_WS_TEXT && roster__httpd_utf8(0, data, len) != 0)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_httpd_msg_new: text is not UTF-8");
  if (!(*out = frame((int)kind, data, len)))
    return roster_error_set(ROSTER_ENOMEM, "httpd: out of memory");
  return ROSTER_OK;
}

int roster_httpd_ws_send_msg(roster_httpd_ws *ws, roster_httpd_msg *m) {
  if (!ws || !m)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_httpd_ws_send_msg: NULL argument");
  roster_httpd *s = ws->srv;
  if (atomic_load(&ws->closing))
    return roster_error_set(ROSTER_ESTATE,
                            "httpd '%s': the WebSocket is closing", s->name);
  size_t prev = atomic_fetch_add(&ws->queued, m->len);
  if (prev > 0 && prev + m->len > s->o.max_queue) {
    atomic_fetch_sub(&ws->queued, m->len);
    int64_t zero = 0;
    atomic_compare_exchange_strong(&ws->over_since, &zero, roster__httpd_now());
    ROSTER__HTTPD_STAT(s, dropped, 1);
    return roster_error_set(ROSTER_EBUSY,
                            "httpd '%s': the WebSocket's queue is full (%zu "
                            "bytes, bound %zu)",
                            s->name, prev, s->o.max_queue);
  }
  roster__httpd_op *op = roster_mem_calloc(1, sizeof *op);
  if (!op) {
    atomic_fetch_sub(&ws->queued, m->len);
    return roster_error_set(ROSTER_ENOMEM, "httpd: out of memory");
  }
  op->kind = ROSTER__HTTPD_OP_SEND;
  op->c = roster__httpd_conn_ref(ws);
  atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
  op->m = m;
  if (!roster__httpd_push(s, op)) {
    atomic_fetch_sub(&ws->queued, m->len);
    roster__httpd_op_free(op);
    return roster_error_set(ROSTER_ESTATE, "httpd '%s': the server stopped",
                            s->name);
  }
  return ROSTER_OK;
}

int roster_httpd_ws_send(roster_httpd_ws *ws, roster_httpd_ws_kind kind,
                         const void *data, size_t len) {
  roster_httpd_msg *m;
  int rc = roster_httpd_msg_new(kind, data, len, &m);
  if (rc != ROSTER_OK)
    return rc;
  rc = roster_httpd_ws_send_msg(ws, m);
  roster_httpd_msg_release(m);
  return rc;
}

static bool code_ok(int code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

int roster_httpd_ws_close(roster_httpd_ws *ws, int code, const char *reason) {
  size_t rl = reason ? strlen(reason) : 0;
  if (!ws || !(code == 1000 || (code >= 3000 && code <= 4999)) || rl > 123 ||
      roster__httpd_utf8(0, (const uint8_t *)(reason ? reason : ""), rl) != 0)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_httpd_ws_close: NULL ws, code %d not "
                            "1000 or 3000..4999, or a reason over 123 bytes "
                            "or not UTF-8",
                            code);
  roster_httpd *s = ws->srv;
  roster__httpd_op *op = roster_mem_calloc(1, sizeof *op);
  if (!op)
    return roster_error_set(ROSTER_ENOMEM, "httpd: out of memory");
  if (atomic_exchange(&ws->closing, true)) {
    roster_mem_free(op);
    return roster_error_set(ROSTER_ESTATE,
                            "httpd '%s': the WebSocket is closing", s->name);
  }
  op->kind = ROSTER__HTTPD_OP_CLOSE;
  op->c = roster__httpd_conn_ref(ws);
  op->code = code;
  memcpy(op->reason, reason ? reason : "", rl + 1);
  if (!roster__httpd_push(s, op))
    roster__httpd_op_free(op); /* the loop ended: the socket is closed */
  return ROSTER_OK;
}

void roster__httpd_ws_closing(roster_httpd_ws *c, int code, const char *reason,
                              bool send_frame) {
  if (c->close_notified)
    return;
  c->close_notified = true;
  atomic_store(&c->closing, true);
  if (c->open_notified)
    atomic_fetch_sub_explicit(&c->srv->st.ws_open, 1, memory_order_relaxed);
  if (send_frame && (c->fd >= 0 || c->capture)) {
    uint8_t p[125];
    size_t n = 0;
    if (code != 1005 && code != 1006) {
      size_t rl = strlen(reason);
      rl = rl > 123 ? 123 : rl;
      p[0] = (uint8_t)(code >> 8);
      p[1] = (uint8_t)code;
      memcpy(p + 2, reason, rl);
      n = 2 + rl;
    }
    roster_httpd_msg *m = frame(8, p, n);
    c->close_after_flush = true;
    if (m)
      roster__httpd_queue(c, m, false);
  }
  if (c->open_notified && c->route && c->route->o.on_close)
    c->route->o.on_close(c, code, reason, c->route->o.arg);
}

/* fail: a protocol error ends the connection with code. */
static bool fail(roster_httpd_ws *c, int code) {
  roster__httpd_ws_closing(c, code, "", true);
  return false;
}

/* ---- frames in ----------------------------------------------------------- */

static ssize_t recv_cb(uint8_t *buf, size_t len, int flags, void *user) {
  roster_httpd_ws *c = user;
  (void)flags;
  size_t n = c->in_len < len ? c->in_len : len;
  if (!n)
    return WSLAY_ERR_WANT_READ;
  memcpy(buf, c->in, n);
  c->in += n;
  c->in_len -= n;
  c->wf_held += n;
  return (ssize_t)n;
}

static ssize_t send_cb(const uint8_t *d, size_t len, int flags, void *user) {
  (void)d, (void)len, (void)flags, (void)user;
  return WSLAY_ERR_INVALID_CALLBACK; /* frames out are roster's */
}

static int genmask_cb(uint8_t *buf, size_t len, void *user) {
  (void)user;
  memset(buf, 0, len);
  return 0;
}

static const struct wslay_frame_callbacks frame_cbs = {send_cb, recv_cb,
                                                       genmask_cb};

static bool frame_end(roster_httpd_ws *c) {
  roster_httpd *s = c->srv;
  switch (c->frame_op) {
  case 9: { /* ping: pong with its payload */
    roster_httpd_msg *m = frame(10, c->ctl, c->ctl_len);
    if (m)
      roster__httpd_queue(c, m, false);
    return true;
  }
  case 10:
    return true;
  case 8: {
    if (c->ctl_len == 1)
      return fail(c, 1002);
    int code = c->ctl_len ? c->ctl[0] << 8 | c->ctl[1] : 1005;
    if (c->ctl_len && !code_ok(code))
      return fail(c, 1002);
    size_t rl = c->ctl_len ? c->ctl_len - 2 : 0;
    if (roster__httpd_utf8(0, c->ctl + 2, rl) != 0)
      return fail(c, 1007);
    char reason[124];
    memcpy(reason, c->ctl + 2, rl);
    reason[rl] = '\0';
    roster__httpd_ws_closing(c, code, reason, true); /* the echo */
    return false;
  }
  default:
    break;
  }
  if (!c->frame_fin)
    return true;
  if (c->msg_op == 1 && c->utf8 != 0)
    return fail(c, 1007);
  ROSTER__HTTPD_STAT(s, min, 1);
  int kind = c->msg_op;
  c->msg_op = 0;
  if (c->route->o.on_message)
    c->route->o.on_message(c, (roster_httpd_ws_kind)kind,
                           c->msg.p ? c->msg.p : "", c->msg.len,
                           c->route->o.arg);
  roster__httpd_buf_free(&c->msg); /* an idle connection holds none */
  return !c->close_notified;
}

static bool frame_chunk(roster_httpd_ws *c, const struct wslay_frame_iocb *io) {
  if (c->frame_left == 0) { /* a new frame: its header left wslay's buffer
                               (lengths are in their shortest form) */
    c->wf_held -= 2 + (io->mask ? 4 : 0) +
                  (io->payload_length >= 65536 ? 8
                   : io->payload_length >= 126 ? 2
                                               : 0);
    uint8_t op = io->opcode;
    if (!io->mask || io->rsv)
      return fail(c, 1002);
    if (op == 0 && !c->msg_op)
      return fail(c, 1002); /* a continuation of nothing */
    if ((op == 1 || op == 2) && c->msg_op)
      return fail(c, 1002); /* a new message inside a fragmented one */
    if (op > 2 && op != 8 && op != 9 && op != 10)
      return fail(c, 1002);
    if (op <= 2 && c->msg.len + io->payload_length > c->srv->o.max_message)
      return fail(c, 1009);
    if (op == 1 || op == 2) {
      c->msg_op = op;
      c->utf8 = 0;
    }
    c->ctl_len = 0;
    c->frame_op = op;
    c->frame_fin = io->fin;
    c->frame_left = io->payload_length;
  }
  if (c->frame_op >= 8) {
    memcpy(c->ctl + c->ctl_len, io->data, io->data_length);
    c->ctl_len += io->data_length;
  } else if (io->data_length) {
    if (roster__httpd_buf_add(&c->msg, io->data, io->data_length) != ROSTER_OK)
      return fail(c, 1011);
    ROSTER__HTTPD_STAT(c->srv, bin, io->data_length);
    if (c->msg_op == 1 &&
        (c->utf8 = roster__httpd_utf8(c->utf8, io->data, io->data_length)) ==
            UINT32_MAX)
      return fail(c, 1007);
  }
  c->wf_held -= io->data_length;
  c->frame_left -= io->data_length;
  return c->frame_left ? true : frame_end(c);
}

void roster__httpd_ws_input(roster_httpd_ws *c, const uint8_t *data, size_t n) {
  if (!c->wf && wslay_frame_context_init(&c->wf, &frame_cbs, c) != 0) {
    fail(c, 1011);
    return;
  }
  c->in = data;
  c->in_len = n;
  while (c->state == CS_WS && !c->close_notified) {
    struct wslay_frame_iocb io;
    memset(&io, 0, sizeof io);
    ssize_t r = wslay_frame_recv(c->wf, &io);
    if (r == WSLAY_ERR_WANT_READ)
      break;
    if (r < 0) { /* WSLAY_ERR_PROTO: a control frame over 125 bytes or
                    fragmented, a length not in its shortest form */
      fail(c, 1002);
      break;
    }
    if (!frame_chunk(c, &io))
      break;
  }
  c->in = NULL;
  c->in_len = 0;
  if (c->wf && c->wf_held == 0 && c->frame_left == 0) {
    /* between frames wslay holds nothing: an idle connection keeps no
     * frame context (4 KiB of read buffer) */
    wslay_frame_context_free(c->wf);
    c->wf = NULL;
  }
}

/* ---- the upgrade --------------------------------------------------------- */

const roster__httpd_ws_route *roster__httpd_ws_find(const roster_httpd *s,
                                                    const char *path) {
  for (size_t i = 0; i < s->nws_routes; i++)
    if (strcmp(s->ws_routes[i].path, path) == 0)
      return &s->ws_routes[i];
  return NULL;
}

/* has_token: a comma-separated header value holds tok (any case). */
static bool has_token(const char *v, const char *tok) {
  size_t tl = strlen(tok);
  while (v && *v) {
    while (*v == ' ' || *v == '\t' || *v == ',')
      v++;
    const char *e = v;
    while (*e && *e != ',')
      e++;
    const char *t = e;
    while (t > v && (t[-1] == ' ' || t[-1] == '\t'))
      t--;
    if ((size_t)(t - v) == tl && strncasecmp(v, tok, tl) == 0)
      return true;
    v = e;
  }
  return false;
}

bool roster_httpd_request_origin_ok(const roster_httpd_request *req) {
  const roster_httpd *s = req->c->srv;
  const char *origin = roster_httpd_request_header(req, "Origin");
  if (!origin)
    return true; /* not a browser */
  if (s->origins) {
    for (char **o = s->origins; *o; o++)
      if (strcmp(*o, "*") == 0 || strcasecmp(*o, origin) == 0)
        return true;
    return false;
  }
  const char *host = roster_httpd_request_header(req, "Host");
  const char *p = strstr(origin, "://");
  return host && p && strcasecmp(p + 3, host) == 0;
}

static bool key_ok(const char *key) {
  if (!key || strlen(key) != 24 || strcmp(key + 22, "==") != 0)
    return false;
  for (int i = 0; i < 22; i++) {
    char ch = key[i];
    if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
          (ch >= '0' && ch <= '9') || ch == '+' || ch == '/'))
      return false;
  }
  return true;
}

void roster__httpd_ws_upgrade(roster_httpd_ws *c, roster_httpd_request *req,
                              const roster__httpd_ws_route *r) {
  roster_httpd *s = c->srv;
  const char *key = roster_httpd_request_header(req, "Sec-WebSocket-Key");
  const char *ver = roster_httpd_request_header(req, "Sec-WebSocket-Version");
  int status = 0;
  const char *extra = NULL;
  if (strcmp(req->method, "GET") != 0 || c->parser.http_major != 1 ||
      c->parser.http_minor < 1 ||
      !has_token(roster_httpd_request_header(req, "Upgrade"), "websocket") ||
      !key_ok(key))
    status = 400;
  else if (!ver || strcmp(ver, "13") != 0)
    status = 426, extra = "Sec-WebSocket-Version: 13";
  else if (!roster_httpd_request_origin_ok(req))
    status = 403;
  if (!status) {
    c->route = r;
    if (r->o.on_open)
      status = r->o.on_open(c, req, r->o.arg);
    if (status && (status < 400 || status > 599))
      status = 500;
  }
  if (status) {
    roster__httpd_request_free(req);
    roster__httpd_http_error(c, status, extra);
    return;
  }
  uint8_t sha[SHA_DIGEST_LENGTH];
  char cat[24 + sizeof WS_GUID], accept[32];
  memcpy(cat, key, 24);
  memcpy(cat + 24, WS_GUID, sizeof WS_GUID);
  SHA1((const unsigned char *)cat, 24 + sizeof WS_GUID - 1, sha);
  EVP_EncodeBlock((unsigned char *)accept, sha, sizeof sha);
  roster__httpd_request_free(req);
  char head[160];
  int hl = snprintf(head, sizeof head,
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                    accept);
  roster_httpd_msg *m = roster__httpd_msg_alloc((size_t)hl);
  if (!m) { /* the frame context comes with the first frame's bytes */
    roster_httpd_msg_release(m);
    roster__httpd_http_error(c, 500, NULL);
    return;
  }
  memcpy(m->data, head, (size_t)hl);
  roster__httpd_queue(c, m, false);
  c->state = CS_WS;
  c->open_notified = true;
  ROSTER__HTTPD_STAT(s, ws_open, 1);
  /* Bytes after the head are the first frames. */
  size_t left = c->pending.len - c->pending_off;
  if (left) {
    c->pending_off = c->pending.len;
    roster__httpd_ws_input(
        c, (const uint8_t *)c->pending.p + c->pending.len - left, left);
  }
}
