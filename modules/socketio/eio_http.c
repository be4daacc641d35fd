/*
 * eio_http.c: the Engine.IO server's HTTP answers (eio_http.h): CORS
 * headers, the protocol's error bodies, the query.
 */
#include "eio_http.h"

#include <stdio.h>
#include <string.h>

void roster__eio_respond(roster_httpd_request *req, int status,
                         const char *ctype, const void *body, size_t len) {
  const char *h[16];
  size_t n = 0;
  if (ctype) {
    h[n++] = "Content-Type";
    h[n++] = ctype;
  }
  const char *origin = roster_httpd_request_header(req, "Origin");
  if (origin) {
    h[n++] = "Access-Control-Allow-Origin";
    h[n++] = origin;
    h[n++] = "Access-Control-Allow-Credentials";
    h[n++] = "true";
    h[n++] = "Vary";
    h[n++] = "Origin";
  }
  if (strcmp(roster_httpd_request_method(req), "OPTIONS") == 0) {
    const char *rh =
        roster_httpd_request_header(req, "Access-Control-Request-Headers");
    h[n++] = "Access-Control-Allow-Methods";
    h[n++] = "GET,POST";
    if (rh) {
      h[n++] = "Access-Control-Allow-Headers";
      h[n++] = rh;
    }
  }
  h[n] = NULL;
  roster_httpd_respond(req, status, h, body, len);
}

bool roster__eio_query_get(const char *query, const char *name, char *buf,
                           size_t cap) {
  size_t nl = strlen(name);
  for (const char *p = query; p && *p;) {
    const char *end = strchr(p, '&');
    size_t l = end ? (size_t)(end - p) : strlen(p);
    if (l > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
      size_t vl = l - nl - 1;
      if (vl >= cap)
        return false;
      memcpy(buf, p + nl + 1, vl);
      buf[vl] = 0;
      return true;
    }
    p = end ? end + 1 : NULL;
  }
  return false;
}

void roster__eio_respond_error(roster_httpd_request *req, int code) {
  static const char *const msg[] = {"Transport unknown",
                                    "Session ID unknown",
                                    "Bad handshake method",
                                    "Bad request",
                                    "Forbidden",
                                    "Unsupported protocol version"};
  char body[96];
  int n = snprintf(body, sizeof body, "{\"code\":%d,\"message\":\"%s\"}", code,
                   msg[code]);
  static const char *const json[] = {"Content-Type", "application/json", NULL};
  if (code ==
      ROSTER__EIO_E_FORBIDDEN) /* no CORS headers for a refused origin */
    roster_httpd_respond(req, 403, json, body, (size_t)n);
  else
    roster__eio_respond(req, 400, "application/json", body, (size_t)n);
}
