/*
 * httpd_client.c: the raw-socket client of the httpd tests (see
 * httpd_client.h).
 */
#include "httpd_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int hc_connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct timeval tv = {.tv_sec = 5};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool hc_send(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n) {
    ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return false;
    c += w;
    n -= (size_t)w;
  }
  return true;
}

bool hc_sends(int fd, const char *s) { return hc_send(fd, s, strlen(s)); }

/* read_exact: n bytes, or false. */
static bool read_exact(int fd, void *p, size_t n) {
  char *c = p;
  while (n) {
    ssize_t r = recv(fd, c, n, 0);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return false;
    c += r;
    n -= (size_t)r;
  }
  return true;
}

const char *hc_header(const hc_resp *r, const char *name, char *buf,
                      size_t cap) {
  size_t nl = strlen(name);
  for (const char *l = strstr(r->head, "\r\n"); l; l = strstr(l, "\r\n")) {
    l += 2;
    if (strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
      const char *v = l + nl + 1;
      while (*v == ' ')
        v++;
      const char *e = strstr(v, "\r\n");
      size_t vl = e ? (size_t)(e - v) : strlen(v);
      if (vl >= cap)
        vl = cap - 1;
      memcpy(buf, v, vl);
      buf[vl] = '\0';
      return buf;
    }
  }
  return NULL;
}

int hc_read_response(int fd, hc_resp *r) {
  memset(r, 0, sizeof *r);
  size_t n = 0;
  while (n + 1 < sizeof r->head) {
    if (!read_exact(fd, r->head + n, 1))
      return -1;
    n++;
    r->head[n] = '\0';
    if (n >= 4 && memcmp(r->head + n - 4, "\r\n\r\n", 4) == 0)
      break;
  }
  if (sscanf(r->head, "HTTP/1.1 %d", &r->status) != 1)
    return -1;
  char v[32];
  r->body_len =
      hc_header(r, "Content-Length", v, sizeof v) ? strtoul(v, NULL, 10) : 0;
  r->body = malloc(r->body_len + 1);
  if (!r->body || !read_exact(fd, r->body, r->body_len))
    return -1;
  r->body[r->body_len] = '\0';
  return 0;
}

void hc_resp_free(hc_resp *r) {
  free(r->body);
  r->body = NULL;
}

int hc_request(uint16_t port, const char *raw, hc_resp *r) {
  int fd = hc_connect(port);
  if (fd < 0)
    return -1;
  int st = hc_sends(fd, raw) && hc_read_response(fd, r) == 0 ? r->status : -1;
  close(fd);
  return st;
}

bool hc_closed(int fd, int ms) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  char buf[4096];
  for (;;) {
    int n = poll(&p, 1, ms);
    if (n <= 0)
      return false;
    ssize_t r = recv(fd, buf, sizeof buf, 0);
    if (r == 0 || (r < 0 && errno == ECONNRESET))
      return true;
    if (r < 0)
      return false;
  }
}

int hc_ws_open(uint16_t port, const char *path, const char *extra,
               int *status) {
  int fd = hc_connect(port);
  if (fd < 0)
    return -1;
  char req[2048];
  snprintf(
      req, sizeof req,
      "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\n%s\r\n",
      path, (unsigned)port, extra ? extra : "");
  hc_resp r;
  if (!hc_sends(fd, req) || hc_read_response(fd, &r) != 0) {
    close(fd);
    return -1;
  }
  hc_resp_free(&r);
  if (status)
    *status = r.status;
  char v[64];
  /* The accept value of RFC 6455's own example key. */
  if (r.status != 101 || !hc_header(&r, "Sec-WebSocket-Accept", v, sizeof v) ||
      strcmp(v, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool hc_ws_frame(int fd, bool fin, int rsv, int op, bool mask, const void *p,
                 size_t n) {
  uint8_t h[14];
  size_t hl = 2;
  h[0] = (uint8_t)((fin ? 0x80 : 0) | (rsv & 7) << 4 | (op & 15));
  uint8_t m = mask ? 0x80 : 0;
  if (n < 126) {
    h[1] = m | (uint8_t)n;
  } else if (n < 65536) {
    h[1] = m | 126;
    h[2] = (uint8_t)(n >> 8);
    h[3] = (uint8_t)n;
    hl = 4;
  } else {
    h[1] = m | 127;
    for (int i = 0; i < 8; i++)
      h[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
    hl = 10;
  }
  static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
  if (mask) {
    memcpy(h + hl, key, 4);
    hl += 4;
  }
  uint8_t *buf = malloc(hl + n + 1);
  if (!buf)
    return false;
  memcpy(buf, h, hl);
  for (size_t i = 0; i < n; i++)
    buf[hl + i] = ((const uint8_t *)p)[i] ^ (mask ? key[i % 4] : 0);
  bool ok = hc_send(fd, buf, hl + n);
  free(buf);
  return ok;
}

int hc_ws_read(int fd, hc_frame *f) {
  memset(f, 0, sizeof *f);
  uint8_t h[8];
  if (!read_exact(fd, h, 2))
    return -1;
  f->fin = h[0] >> 7;
  f->rsv = (h[0] >> 4) & 7;
  f->op = h[0] & 15;
  if (h[1] & 0x80)
    return -1;
  uint64_t n = h[1] & 0x7f;
  if (n == 126) {
    if (!read_exact(fd, h, 2))
      return -1;
    n = (uint64_t)h[0] << 8 | h[1];
  } else if (n == 127) {
    if (!read_exact(fd, h, 8))
      return -1;
    n = 0;
    for (int i = 0; i < 8; i++)
      n = n << 8 | h[i];
  }
  f->p = malloc(n + 1);
  if (!f->p || !read_exact(fd, f->p, n))
    return -1;
  f->len = n;
  return 0;
}

void hc_frame_free(hc_frame *f) {
  free(f->p);
  f->p = NULL;
}

int hc_ws_close_code(int fd) {
  for (;;) {
    hc_frame f;
    if (hc_ws_read(fd, &f) != 0) {
      hc_frame_free(&f);
      return -1;
    }
    if (f.op == 8) {
      int code = f.len >= 2 ? f.p[0] << 8 | f.p[1] : 1005;
      hc_frame_free(&f);
      return code;
    }
    hc_frame_free(&f);
  }
}

char *hc_eio_read(int fd, hc_frame *bin) {
  for (;;) {
    hc_frame fr;
    if (hc_ws_read(fd, &fr) != 0)
      return NULL;
    if (fr.op == 1 && fr.len == 1 && fr.p[0] == '2') {
      hc_frame_free(&fr);
      hc_ws_frame(fd, true, 0, 1, true, "3", 1);
      continue;
    }
    if (fr.op == 2 && bin) {
      *bin = fr;
      return strdup("<binary>");
    }
    if (fr.op != 1) {
      hc_frame_free(&fr);
      return NULL;
    }
    char *s = malloc(fr.len + 1);
    if (s) {
      memcpy(s, fr.p, fr.len);
      s[fr.len] = '\0';
    }
    hc_frame_free(&fr);
    return s;
  }
}
