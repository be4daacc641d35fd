/*
 * httpd_client.h: a raw-socket client for the httpd tests: blocking
 * sockets with a receive timeout, HTTP responses read byte by byte (so
 * nothing of the next one is taken), and WebSocket frames built and read
 * by hand, so the tests can send what no real client would.
 */
#ifndef HTTPD_CLIENT_H
#define HTTPD_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* hc_connect: a TCP connection to 127.0.0.1:port with a 5 s receive
 * timeout; -1 on failure. */
int hc_connect(uint16_t port);
bool hc_send(int fd, const void *p, size_t n);
bool hc_sends(int fd, const char *s);

typedef struct hc_resp {
  int status;
  char head[8192]; /* the status line and headers */
  char *body;      /* malloc'd, NUL-terminated */
  size_t body_len;
} hc_resp;
/* hc_read_response reads one response (its body by Content-Length);
 * 0, or -1 at EOF or a timeout. */
int hc_read_response(int fd, hc_resp *r);
void hc_resp_free(hc_resp *r);
/* hc_header: the value of a response header (any case), copied into buf;
 * NULL when absent. */
const char *hc_header(const hc_resp *r, const char *name, char *buf,
                      size_t cap);
/* hc_request: connect, send raw, read one response, close; the status or
 * -1. */
int hc_request(uint16_t port, const char *raw, hc_resp *r);
/* hc_closed: the peer closes within ms (EOF or a reset), skipping any
 * bytes that come first. */
bool hc_closed(int fd, int ms);

/* hc_ws_open: connect and upgrade on path with a valid key; extra: more
 * header lines ("Name: v\r\n") or NULL. The socket, or -1 when the
 * answer is not 101 (its status in *status when not NULL). */
int hc_ws_open(uint16_t port, const char *path, const char *extra, int *status);
/* hc_ws_frame sends one frame: fin, rsv (3 bits), opcode, masked or not
 * (a fixed non-zero mask key). */
bool hc_ws_frame(int fd, bool fin, int rsv, int op, bool mask, const void *p,
                 size_t n);

typedef struct hc_frame {
  bool fin;
  int rsv, op;
  uint8_t *p; /* malloc'd */
  size_t len;
} hc_frame;
/* hc_ws_read reads one frame; 0, or -1 at EOF, a timeout or a masked
 * server frame. */
int hc_ws_read(int fd, hc_frame *f);
void hc_frame_free(hc_frame *f);
/* hc_ws_close_code reads frames until a close frame: its code (1005 when
 * it has none), or -1 when the connection ends first. */
int hc_ws_close_code(int fd);
/* hc_eio_read: for the Socket.IO tests (Engine.IO over a WebSocket): the
 * next text frame, answering the server's pings ("2" -> "3"), malloc'd and
 * NUL-terminated; NULL at a close, EOF or a timeout, or a binary frame
 * when bin is NULL. With bin, a binary frame goes there (the caller frees
 * it) and "<binary>" is returned. */
char *hc_eio_read(int fd, hc_frame *bin);

#endif /* HTTPD_CLIENT_H */
