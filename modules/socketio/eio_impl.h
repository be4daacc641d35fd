/*
 * eio_impl.h: the Engine.IO server's private structures, shared by
 * eio_server.c (sessions, sending, closing, the heartbeat, the server) and
 * eio_transport.c (the HTTP and WebSocket routes: the handshake, polling,
 * the upgrade). Locks as eio_server.c describes.
 */
#ifndef ROSTER_EIO_IMPL_H
#define ROSTER_EIO_IMPL_H

#include "eio_codec.h"
#include "eio_http.h"
#include "eio_server.h"

#include <pthread.h>
#include <stdatomic.h>

#define NBUCKETS 256

typedef struct qpkt {
  struct qpkt *next;
  roster__eio_kind kind;
  bool binary;
  size_t len;
  uint8_t data[];
} qpkt;

enum { ST_POLLING, ST_WS, ST_CLOSED };

struct roster__eio_session {
  roster__eio_server *e;
  atomic_int refs;
  char sid[24];
  _Atomic(void *) data;
  pthread_mutex_t cb_lock;        /* recursive: callbacks may call back in */
  bool open_called, close_called; /* under cb_lock */
  /* under e->lock */
  int state;
  bool upgrading; /* the probe was answered */
  bool on_ws;     /* the transport is (or was) a WebSocket */
  roster__eio_session *hnext, *tnext;
  qpkt *qhead, **qtail;
  size_t qbytes;
  roster_httpd_request *held;       /* the long-poll GET */
  roster_httpd_ws *ws;              /* the WebSocket transport (acquired) */
  roster_httpd_ws *probe_ws;        /* the upgrade under way (acquired) */
  int64_t next_ping, pong_deadline; /* ms; pong_deadline 0: none */
  int64_t probe_deadline;           /* ms: probe_ws must upgrade by then */
  const char *closing; /* closed by the layer above, once the next GET
                          has taken what waits (reason; NULL: no) */
};

struct roster__eio_server {
  roster_httpd *h;
  roster__eio_options o;
  char *path;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  pthread_t thread;
  bool stop;
  int64_t wake_at; /* ms: when the heartbeat wakes next; INT64_MAX while
                      it is awake (under lock) */
  bool rescan;     /* a deadline came while it was awake: look again */
  size_t n;
  _Atomic uint64_t st_total, st_pin, st_pout, st_bin, st_bout, st_upgrades,
      st_refused, st_closes[ROSTER__EIO_NREASONS];
  roster__eio_session *buckets[NBUCKETS];
};

int64_t roster__eio_now_ms(void);
/* roster__eio_wake_for: a deadline at (ms) was set (e->lock held); the
 * heartbeat is woken only when it would sleep past it, so a pong or a new
 * session (whose deadlines come later) costs no wake-up. */
void roster__eio_wake_for(roster__eio_server *e, int64_t at);

/* Sessions (eio_server.c). */
roster__eio_session *roster__eio_session_new(roster__eio_server *e);
void roster__eio_table_add(roster__eio_server *e, roster__eio_session *s);
/* roster__eio_lookup: the open session called sid, with a reference, or
 * NULL. */
roster__eio_session *roster__eio_lookup(roster__eio_server *e, const char *sid);
void roster__eio_queue_free(roster__eio_session *s);
/* roster__eio_close_session ends s once with reason (any thread). */
void roster__eio_close_session(roster__eio_session *s, const char *reason);
int roster__eio_ws_send_pkt(roster_httpd_ws *ws, roster__eio_kind kind,
                            bool binary, const uint8_t *data, size_t len);
/* Under e->lock: answer a GET with what is queued; send or queue one
 * packet by the session's transport. */
void roster__eio_answer_poll_locked(roster__eio_session *s,
                                    roster_httpd_request *req);
int roster__eio_queue_locked(roster__eio_session *s, roster__eio_kind kind,
                             bool binary, const void *data, size_t len);
/* roster__eio_on_packet handles one packet of the session's transport. */
void roster__eio_on_packet(roster__eio_session *s, const roster__eio_packet *p);

/* The routes (eio_transport.c). I/O thread. */
void roster__eio_http_handler(roster_httpd_request *req, void *arg);
void roster__eio_http_abort(roster_httpd_request *req, void *arg);
int roster__eio_ws_open(roster_httpd_ws *ws, const roster_httpd_request *req,
                        void *arg);
void roster__eio_ws_message(roster_httpd_ws *ws, roster_httpd_ws_kind kind,
                            const void *data, size_t len, void *arg);
void roster__eio_ws_closed(roster_httpd_ws *ws, int code, const char *reason,
                           void *arg);

#endif /* ROSTER_EIO_IMPL_H */
