/*
 * eio_http.h: the Engine.IO server's HTTP answers (modules/socketio only):
 * every answer on the polling path goes through roster__eio_respond, so
 * an allowed cross-origin request always gets its CORS headers.
 * Any thread while the request is kept (not answered yet).
 */
#ifndef ROSTER_EIO_HTTP_H
#define ROSTER_EIO_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <roster/httpd.h>

#define ROSTER__EIO_TEXT_PLAIN "text/plain; charset=UTF-8"

/* The protocol's errors, as engine.io 6 answers them: 400, but 403 for
 * ROSTER__EIO_E_FORBIDDEN (its abortRequest). */
enum {
  ROSTER__EIO_E_TRANSPORT = 0,
  ROSTER__EIO_E_SID = 1,
  ROSTER__EIO_E_METHOD = 2,
  ROSTER__EIO_E_BAD = 3,
  ROSTER__EIO_E_FORBIDDEN = 4,
  ROSTER__EIO_E_PROTOCOL = 5
};

/* roster__eio_respond answers req with a body of type ctype (NULL: none)
 * and, when the request has an Origin (checked before: allowed), the CORS
 * headers engine.io's cors option {origin, credentials: true} gives; an
 * OPTIONS request (a preflight) also gets the allow headers. */
void roster__eio_respond(roster_httpd_request *req, int status,
                         const char *ctype, const void *body, size_t len);

/* roster__eio_respond_error answers {"code":code,"message":...} as
 * engine.io 6: 400, or 403 without CORS headers for
 * ROSTER__EIO_E_FORBIDDEN. */
void roster__eio_respond_error(roster_httpd_request *req, int code);

/* roster__eio_query_get copies the value of name in query into buf (""
 * when empty); false when absent or too long. */
bool roster__eio_query_get(const char *query, const char *name, char *buf,
                           size_t cap);

#endif /* ROSTER_EIO_HTTP_H */
