/*
 * eio_transport.c: the Engine.IO server's routes (eio_server.h): the
 * handshake, long-polling GET and POST, a held GET whose client leaves,
 * and the WebSocket route: direct sessions, the upgrade's probe and the
 * switch from polling. Everything here runs on the httpd I/O thread.
 */
#include "eio_impl.h"

#include <string.h>

#include <roster.h>

/* ---- HTTP: handshake and polling ----------------------------------------- */

/* handshake opens a session on req (polling) or ws; 0, or the status
 * refusing it (answered on req). I/O thread (so the bound holds). */
static int handshake(roster__eio_server *e, roster_httpd_request *req,
                     roster_httpd_ws *ws) {
  if (e->o.max_sessions && roster__eio_sessions(e) >= e->o.max_sessions) {
    atomic_fetch_add(&e->st_refused, 1);
    if (req)
      roster__eio_respond(req, 503, NULL, NULL, 0);
    return 503;
  }
  roster__eio_session *s = roster__eio_session_new(e);
  roster__eio_buf b = {0};
  static const char *const up[] = {"websocket"};
  int rc = s ? ROSTER_OK : ROSTER_ENOMEM;
  if (rc == ROSTER_OK) {
    roster__eio_handshake hs = {.sid = s->sid,
                                .upgrades = up,
                                .n_upgrades = ws ? 0 : 1,
                                .ping_interval_ms = e->o.ping_interval_ms,
                                .ping_timeout_ms = e->o.ping_timeout_ms,
                                .max_payload = e->o.max_payload};
    rc = roster__eio_open_encode(&b, &hs);
  }
  if (rc != ROSTER_OK) {
    if (req)
      roster__eio_respond(req, 500, NULL, NULL, 0);
    roster__eio_buf_free(&b);
    roster__eio_session_release(s);
    return 500;
  }
  pthread_mutex_lock(&e->lock);
  if (ws) {
    s->state = ST_WS;
    s->on_ws = true;
    s->ws = roster_httpd_ws_acquire(ws);
    roster_httpd_ws_set_data(ws, roster__eio_session_acquire(s));
    roster_httpd_ws_send(ws, ROSTER_HTTPD_WS_TEXT, b.p, b.len);
  } else {
    roster__eio_respond(req, 200, ROSTER__EIO_TEXT_PLAIN, b.p, b.len);
  }
  roster__eio_table_add(e, s);
  pthread_mutex_unlock(&e->lock);
  roster__eio_buf_free(&b);
  pthread_mutex_lock(&s->cb_lock);
  if (!s->close_called) { /* not closed by another thread meanwhile */
    s->open_called = true;
    if (e->o.on_open)
      e->o.on_open(s, e->o.arg);
  }
  pthread_mutex_unlock(&s->cb_lock);
  return 0;
}

static void poll_get(roster__eio_session *s, roster_httpd_request *req) {
  pthread_mutex_lock(&s->e->lock);
  if (s->held) {
    pthread_mutex_unlock(&s->e->lock);
    roster__eio_respond_error(req, ROSTER__EIO_E_BAD);
    roster__eio_close_session(s, "transport error");
    return;
  }
  if (s->qhead || s->upgrading)
    roster__eio_answer_poll_locked(s, req);
  else
    s->held = req;
  /* closing, and what waited has gone: this GET gets the close packet */
  const char *closing = s->held ? s->closing : NULL;
  pthread_mutex_unlock(&s->e->lock);
  if (closing)
    roster__eio_close_session(s, closing);
}

static void poll_post(roster__eio_session *s, roster_httpd_request *req) {
  size_t len;
  const uint8_t *body = roster_httpd_request_body(req, &len);
  if (len > s->e->o.max_payload) { /* engine.io: 413, "payload too large" */
    roster__eio_respond(req, 413, NULL, NULL, 0);
    roster__eio_close_session(s, "transport error");
    return;
  }
  roster__eio_payload pl;
  if (roster__eio_payload_decode(body, len, s->e->o.max_payload, &pl) !=
      ROSTER_OK) {
    roster__eio_respond_error(req, ROSTER__EIO_E_BAD);
    roster__eio_close_session(s, "parse error");
    return;
  }
  for (size_t i = 0; i < pl.n; i++) /* the packets point into the body */
    roster__eio_on_packet(s, &pl.pkts[i]);
  roster__eio_payload_free(&pl);
  roster__eio_respond(req, 200, "text/html", "ok", 2);
}

/* http_handler: every non-upgrade request on the path. I/O thread. */
void roster__eio_http_handler(roster_httpd_request *req, void *arg) {
  roster__eio_server *e = arg;
  const char *q = roster_httpd_request_query(req);
  const char *method = roster_httpd_request_method(req);
  char transport[16], sid[32], eio[8];
  if (strcmp(roster_httpd_request_path(req), e->path) != 0) {
    roster_httpd_respond(req, 404, NULL, NULL, 0);
    return;
  }
  if (!roster_httpd_request_origin_ok(req)) { /* the httpd's origins */
    roster__eio_respond_error(req, ROSTER__EIO_E_FORBIDDEN);
    return;
  }
  if (strcmp(method, "OPTIONS") == 0) { /* a CORS preflight */
    roster__eio_respond(req, 204, NULL, NULL, 0);
    return;
  }
  if (!roster__eio_query_get(q, "transport", transport, sizeof transport) ||
      (strcmp(transport, "polling") != 0 &&
       strcmp(transport, "websocket") != 0)) {
    roster__eio_respond_error(req, ROSTER__EIO_E_TRANSPORT);
    return;
  }
  if (roster__eio_query_get(q, "sid", sid, sizeof sid)) {
    roster__eio_session *s = roster__eio_lookup(e, sid);
    if (!s) {
      roster__eio_respond_error(req, ROSTER__EIO_E_SID);
      return;
    }
    pthread_mutex_lock(&e->lock);
    bool polling = s->state == ST_POLLING;
    pthread_mutex_unlock(&e->lock);
    if (!polling || strcmp(transport, "polling") != 0)
      roster__eio_respond_error(req, ROSTER__EIO_E_BAD);
    else if (strcmp(method, "GET") == 0)
      poll_get(s, req);
    else if (strcmp(method, "POST") == 0)
      poll_post(s, req);
    else
      roster__eio_respond_error(req, ROSTER__EIO_E_BAD);
    roster__eio_session_release(s);
    return;
  }
  if (strcmp(method, "GET") != 0)
    roster__eio_respond_error(req, ROSTER__EIO_E_METHOD);
  else if (strcmp(transport, "polling") != 0)
    roster__eio_respond_error(
        req, ROSTER__EIO_E_BAD); /* websocket without the upgrade */
  else if (!roster__eio_query_get(q, "EIO", eio, sizeof eio) ||
           strcmp(eio, "4") != 0)
    roster__eio_respond_error(req, ROSTER__EIO_E_PROTOCOL);
  else
    handshake(e, req, NULL);
}

/* http_abort: a held GET's connection closed: the session ends, as
 * engine.io's does ("poll connection closed prematurely"). I/O thread. */
void roster__eio_http_abort(roster_httpd_request *req, void *arg) {
  roster__eio_server *e = arg;
  char sid[32];
  roster__eio_session *s = NULL;
  if (roster__eio_query_get(roster_httpd_request_query(req), "sid", sid,
                            sizeof sid))
    s = roster__eio_lookup(e, sid);
  bool mine = false;
  if (s) {
    pthread_mutex_lock(&e->lock);
    mine = s->held == req;
    if (mine)
      s->held = NULL;
    pthread_mutex_unlock(&e->lock);
  }
  if (mine) {
    roster__eio_respond(req, 200, ROSTER__EIO_TEXT_PLAIN, "6",
                        1); /* discarded */
    roster__eio_close_session(s, "transport error");
  }
  roster__eio_session_release(s);
}

/* ---- WebSocket ----------------------------------------------------------- */

/* ws_open: a direct WebSocket (no sid) opens a session; one with a sid
 * is a probe for that polling session. I/O thread. */
int roster__eio_ws_open(roster_httpd_ws *ws, const roster_httpd_request *req,
                        void *arg) {
  roster__eio_server *e = arg;
  const char *q = roster_httpd_request_query(req);
  char transport[16], sid[32], eio[8];
  if (!roster__eio_query_get(q, "transport", transport, sizeof transport) ||
      strcmp(transport, "websocket") != 0 ||
      !roster__eio_query_get(q, "EIO", eio, sizeof eio) ||
      strcmp(eio, "4") != 0)
    return 400;
  if (!roster__eio_query_get(q, "sid", sid, sizeof sid)) {
    return handshake(e, NULL, ws);
  }
  roster__eio_session *s = roster__eio_lookup(e, sid);
  if (!s)
    return 400;
  pthread_mutex_lock(&e->lock);
  bool ok = s->state == ST_POLLING && !s->probe_ws;
  if (ok) {
    s->probe_ws = roster_httpd_ws_acquire(ws);
    s->probe_deadline = roster__eio_now_ms() + e->o.upgrade_timeout_ms;
    roster_httpd_ws_set_data(ws, s); /* the lookup's reference */
    roster__eio_wake_for(e, s->probe_deadline);
  }
  pthread_mutex_unlock(&e->lock);
  if (!ok) {
    roster__eio_session_release(s);
    return 400;
  }
  return 0;
}

/* probe_packet: a packet on the upgrade's WebSocket (e->lock held). */
static void probe_packet_locked(roster__eio_session *s,
                                const roster__eio_packet *p) {
  if (p->kind == ROSTER__EIO_PING && p->len == 5 &&
      memcmp(p->data, "probe", 5) == 0) {
    roster__eio_ws_send_pkt(s->probe_ws, ROSTER__EIO_PONG, false, p->data,
                            p->len);
    s->upgrading = true;
    if (s->held) { /* the client pauses polling: let the poll end */
      roster_httpd_request *req = s->held;
      s->held = NULL;
      roster__eio_respond(req, 200, ROSTER__EIO_TEXT_PLAIN, "6", 1);
    }
  } else if (p->kind == ROSTER__EIO_UPGRADE && s->upgrading) {
    atomic_fetch_add(&s->e->st_upgrades, 1);
    s->state = ST_WS;
    s->on_ws = true;
    s->ws = s->probe_ws;
    s->probe_ws = NULL;
    s->upgrading = false;
    for (qpkt *q = s->qhead; q; q = q->next)
      roster__eio_ws_send_pkt(s->ws, q->kind, q->binary, q->data, q->len);
    roster__eio_queue_free(s);
    if (s->held) {
      roster__eio_respond(s->held, 200, ROSTER__EIO_TEXT_PLAIN, "6", 1);
      s->held = NULL;
    }
  }
}

void roster__eio_ws_message(roster_httpd_ws *ws, roster_httpd_ws_kind kind,
                            const void *data, size_t len, void *arg) {
  (void)arg;
  roster__eio_session *s = roster_httpd_ws_data(ws);
  if (!s)
    return;
  roster__eio_packet p;
  bool ok = true;
  if (kind == ROSTER_HTTPD_WS_BINARY)
    roster__eio_decode_binary(data, len, &p);
  else
    ok = len > 0 && roster__eio_decode_text(data, len, &p) == ROSTER_OK;
  pthread_mutex_lock(&s->e->lock);
  bool is_main = s->ws == ws, probe = s->probe_ws == ws;
  if (probe && ok)
    probe_packet_locked(s, &p);
  pthread_mutex_unlock(&s->e->lock);
  if (probe && !ok)
    roster_httpd_ws_close(ws, 1000, NULL); /* the session keeps polling */
  else if (is_main && !ok)
    roster__eio_close_session(s, "parse error");
  else if (is_main)
    roster__eio_on_packet(s, &p);
}

void roster__eio_ws_closed(roster_httpd_ws *ws, int code, const char *reason,
                           void *arg) {
  (void)code;
  (void)reason;
  (void)arg;
  roster__eio_session *s = roster_httpd_ws_data(ws);
  if (!s)
    return;
  roster_httpd_ws_set_data(ws, NULL);
  pthread_mutex_lock(&s->e->lock);
  bool is_main = s->ws == ws, probe = s->probe_ws == ws;
  if (probe) {
    s->probe_ws = NULL;
    s->upgrading = false;
  }
  pthread_mutex_unlock(&s->e->lock);
  if (probe)
    roster_httpd_ws_release(ws);
  if (is_main)
    roster__eio_close_session(s, "transport close");
  roster__eio_session_release(s); /* the WebSocket's reference */
}
