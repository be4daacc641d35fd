/*
 * httpd_impl.h: the internals of the httpd module, shared by server.c
 * (the public calls), loop.c (the I/O thread, connections, the queue of
 * operations, writing), http.c
 * (requests and responses) and ws.c (the upgrade and RFC 6455 frames).
 *
 * Ownership and threads:
 *  - The I/O thread alone touches a connection's sockets, buffers, lists
 *    and parser state. Other threads see a connection only through its
 *    atomics (refs, queued, over_since, closing, data) and by pushing
 *    operations (struct roster__httpd_op) on the server's lock-free stack,
 *    which the I/O thread drains when the eventfd wakes it.
 *  - Memory of a connection lives while refs > 0: the loop holds one
 *    while the socket is open, a held request one, each queued operation
 *    one, each roster_httpd_ws_acquire one. A connection holds a
 *    reference on its server, so the server's memory outlives them all.
 *  - A request is freed by the I/O thread when its answer is applied, or
 *    by roster_httpd_respond itself once the loop has ended (the stack is
 *    then closed: pushes fail and the caller cleans up inline).
 */
#ifndef ROSTER_HTTPD_IMPL_H
#define ROSTER_HTTPD_IMPL_H

#include <http_parser.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <wslay/wslay.h>

#include "roster/httpd.h"

/* A growable byte buffer (roster's allocator). */
typedef struct roster__httpd_buf {
  char *p;
  size_t len, cap;
} roster__httpd_buf;
int roster__httpd_buf_add(roster__httpd_buf *b, const void *p, size_t n);
void roster__httpd_buf_free(roster__httpd_buf *b);

/* A framed message or a response: bytes shared by reference count. */
struct roster_httpd_msg {
  _Atomic size_t refs;
  size_t len;     /* bytes in data */
  size_t payload; /* WebSocket payload bytes (stats) */
  uint8_t data[];
};
roster_httpd_msg *roster__httpd_msg_alloc(size_t len);

typedef struct roster__httpd_route {
  char *prefix;
  size_t plen;
  roster_httpd_route_options o;
} roster__httpd_route;

typedef struct roster__httpd_ws_route {
  char *path;
  roster_httpd_ws_route_options o;
} roster__httpd_ws_route;

/* One queued piece of output. */
typedef struct roster__httpd_out {
  struct roster__httpd_out *next;
  roster_httpd_msg *m;
  size_t off;
} roster__httpd_out;

enum {
  ROSTER__HTTPD_OP_SEND,    /* m on a WebSocket */
  ROSTER__HTTPD_OP_RESPOND, /* m answers req */
  ROSTER__HTTPD_OP_CLOSE,   /* start the closing handshake */
  ROSTER__HTTPD_OP_WAKE     /* nothing: a stop request */
};

typedef struct roster__httpd_op {
  struct roster__httpd_op *next;
  int kind;
  roster_httpd_ws *c;        /* a reference */
  roster_httpd_msg *m;       /* a reference */
  roster_httpd_request *req; /* RESPOND */
  bool close;                /* RESPOND: Connection: close */
  int code;                  /* CLOSE */
  char reason[124];          /* CLOSE */
} roster__httpd_op;

enum { CS_HTTP, CS_WS, CS_LINGER, CS_DEAD };

/* A connection: HTTP at first, maybe a WebSocket after an upgrade. The
 * public roster_httpd_ws is this struct. */
struct roster_httpd_ws {
  roster_httpd *srv;
  _Atomic int refs;
  _Atomic bool closing;       /* no more sends */
  _Atomic size_t queued;      /* bytes queued or on the way, not written */
  _Atomic int64_t over_since; /* monotonic ms when a send was refused */
  _Atomic(void *) data;
  /* I/O thread only from here. */
  int fd;
  int state;
  uint32_t events;
  struct roster_httpd_ws *prev, *next;
  struct roster_httpd_ws *dead_next;  /* in srv->graveyard */
  struct roster_httpd_ws *dirty_next; /* in srv->dirty (a reference) */
  bool dirty;                         /* in srv->dirty */
  roster__httpd_out *out_head, *out_tail;
  int64_t last_active, linger_until;
  bool close_after_flush; /* then linger and close */
  bool in_dispatch;       /* inside process_input: no re-entry */
  bool eof;               /* the peer shut down its side */
  /* HTTP */
  http_parser parser;
  roster_httpd_request *req;  /* being read */
  roster_httpd_request *held; /* given to a handler, not answered */
  bool aborted;               /* on_abort called for held */
  roster__httpd_buf pending;  /* input not yet parsed */
  size_t pending_off;
  int http_error; /* status to answer when the parser stops */
  /* WebSocket */
  const roster__httpd_ws_route *route;
  struct wslay_frame_context *wf;
  size_t wf_held; /* bytes wf took in and holds (a partial frame): at 0
                     between frames, wf is freed (its 4 KiB buffer is most
                     of an idle connection) and made again on input */
  const uint8_t *in;
  size_t in_len;
  uint64_t frame_left; /* payload bytes still to come in this frame */
  uint8_t frame_op;    /* opcode of the frame under way */
  bool frame_fin;
  uint8_t msg_op; /* 1 text, 2 binary, 0 no message under way */
  uint32_t utf8;  /* validator state of the message */
  roster__httpd_buf msg;
  uint8_t ctl[125];
  size_t ctl_len;
  bool open_notified, close_notified;
  roster__httpd_buf *capture; /* a fake connection's output */
};

struct roster_httpd_request {
  roster_httpd_ws *c; /* a reference while the request is alive */
  const roster__httpd_route *route;
  roster__httpd_buf head; /* url \0 name \0 value \0 ... */
  roster__httpd_buf offs; /* size_t offsets of names and values */
  roster__httpd_buf body;
  const char *method, *path, *query;
  bool in_value; /* the last header callback was a value */
  bool keep_alive;
  bool complete; /* on_message_complete was seen */
};

struct roster_httpd {
  _Atomic int refs; /* the owner and each connection */
  roster_httpd_options o;
  char *name;
  char **origins; /* NULL: same origin */
  int lfd, epfd, evfd;
  pthread_t thread;
  bool started, stopped;
  pthread_mutex_t stop_mu;
  _Atomic(roster__httpd_op *) ops; /* ROSTER__HTTPD_OPS_CLOSED at the end */
  _Atomic bool stop_requested;
  _Atomic int64_t stop_deadline;
  _Atomic int64_t tick; /* ms: the loop's last turn (0: not running) */
  _Atomic bool serving; /* the loop runs and has not begun to stop */
  roster__httpd_route *routes;
  size_t nroutes;
  roster__httpd_ws_route *ws_routes;
  size_t nws_routes;
  roster_httpd_ws *conns; /* I/O thread only */
  /* destroyed connections whose loop reference is dropped after the
   * current batch of events, which may still name them (I/O thread) */
  roster_httpd_ws *graveyard;
  /* while drain applies a batch of sends: the connections they queued on,
   * each written once after the batch (one writev for many messages) */
  bool draining;
  roster_httpd_ws *dirty;
  uint16_t port;
  struct {
    _Atomic uint64_t open, total, refused, requests, bad, ws_open, min, mout,
        bin, bout, dropped, slow;
  } st;
};

#define ROSTER__HTTPD_OPS_CLOSED ((roster__httpd_op *)(uintptr_t)1)
#define ROSTER__HTTPD_STAT(s, f, n)                                            \
  atomic_fetch_add_explicit(&(s)->st.f, (n), memory_order_relaxed)

/* ---- loop.c ---- */
void *roster__httpd_loop_main(void *arg); /* the I/O thread */
void roster__httpd_srv_destroy(roster_httpd *s);
int64_t roster__httpd_now(void);
bool roster__httpd_on_loop(const roster_httpd *s);
void roster__httpd_srv_release(roster_httpd *s);
roster_httpd_ws *roster__httpd_conn_ref(roster_httpd_ws *c);
void roster__httpd_conn_release(roster_httpd_ws *c);
/* push: false when the loop has ended (the caller cleans up op). */
bool roster__httpd_push(roster_httpd *s, roster__httpd_op *op);
void roster__httpd_op_free(roster__httpd_op *op);
/* queue: appends m (a reference taken over) to c's output, counted in
 * queued unless counted already. */
void roster__httpd_queue(roster_httpd_ws *c, roster_httpd_msg *m, bool counted);
void roster__httpd_set_events(roster_httpd_ws *c, uint32_t ev);
/* destroy: closes the socket now; on_close / on_abort as due. */
void roster__httpd_destroy(roster_httpd_ws *c);
/* process_input: feeds data to the connection's parser (HTTP or WS). */
void roster__httpd_input(roster_httpd_ws *c, const uint8_t *data, size_t n);
/* fake_conn: a connection with no socket (fd -1) for the fuzz harness,
 * its output appended to capture; the calling thread acts as the I/O
 * thread of s (which is never started). fake_drain applies what was
 * pushed; roster__httpd_destroy ends the connection. */
roster_httpd_ws *roster__httpd_fake_conn(roster_httpd *s,
                                         roster__httpd_buf *capture);
void roster__httpd_fake_drain(roster_httpd *s);

/* ---- http.c ---- */
extern const http_parser_settings roster__httpd_parser_settings;
void roster__httpd_http_init(roster_httpd_ws *c);
void roster__httpd_http_input(roster_httpd_ws *c);
/* error: answers status with a short body and closes after it. */
void roster__httpd_http_error(roster_httpd_ws *c, int status,
                              const char *extra_header);
/* apply a RESPOND operation on the I/O thread. */
void roster__httpd_apply_respond(roster_httpd_ws *c, roster_httpd_request *req,
                                 roster_httpd_msg *m, bool close);
void roster__httpd_request_free(roster_httpd_request *req);
const char *roster__httpd_status_text(int status);

/* ---- ws.c ---- */
/* upgrade: req asked for a WebSocket on route r: handshake or refuse. */
void roster__httpd_ws_upgrade(roster_httpd_ws *c, roster_httpd_request *req,
                              const roster__httpd_ws_route *r);
void roster__httpd_ws_input(roster_httpd_ws *c, const uint8_t *data, size_t n);
/* closing: the connection ends with code; send_frame: a close frame goes
 * out first. on_close is called (once). */
void roster__httpd_ws_closing(roster_httpd_ws *c, int code, const char *reason,
                              bool send_frame);
/* utf8: incremental validation; state 0 is "complete", UINT32_MAX is
 * "invalid". */
uint32_t roster__httpd_utf8(uint32_t state, const uint8_t *p, size_t n);
const roster__httpd_ws_route *roster__httpd_ws_find(const roster_httpd *s,
                                                    const char *path);

#endif /* ROSTER_HTTPD_IMPL_H */
