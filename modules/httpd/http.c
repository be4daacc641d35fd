/*
 * http.c: HTTP/1.1 requests on libhttp-parser: the head and body gathered
 * within their limits, routing by prefix, the handler's call, answers
 * (now or from another thread) and the error answers that close a
 * connection (400, 404, 413, 431).
 *
 * The parser is paused at the end of each request: the connection reads
 * nothing more until the request is answered, so pipelined requests wait
 * in c->pending and are answered in order.
 */
#include "httpd_impl.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "roster/alloc.h"
#include "roster/error.h"

const char *roster__httpd_status_text(int status) {
  switch (status) {
  case 100:
    return "Continue";
  case 101:
    return "Switching Protocols";
  case 200:
    return "OK";
  case 201:
    return "Created";
  case 204:
    return "No Content";
  case 301:
    return "Moved Permanently";
  case 302:
    return "Found";
  case 304:
    return "Not Modified";
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 408:
    return "Request Timeout";
  case 413:
    return "Content Too Large";
  case 426:
    return "Upgrade Required";
  case 429:
    return "Too Many Requests";
  case 431:
    return "Request Header Fields Too Large";
  case 500:
    return "Internal Server Error";
  case 501:
    return "Not Implemented";
  case 503:
    return "Service Unavailable";
  default:
    return "Status";
  }
}

void roster__httpd_request_free(roster_httpd_request *req) {
  if (!req)
    return;
  roster__httpd_buf_free(&req->head);
  roster__httpd_buf_free(&req->offs);
  roster__httpd_buf_free(&req->body);
  roster_httpd_ws *c = req->c;
  roster_mem_free(req);
  if (c)
    roster__httpd_conn_release(c);
}

/* ---- the parser's callbacks ------------------------------------------- */

static roster_httpd_ws *conn_of(http_parser *p) { return p->data; }

/* head_add appends to the head within max_head (431 past it). */
static int head_add(http_parser *p, const char *at, size_t n) {
  roster_httpd_ws *c = conn_of(p);
  roster_httpd_request *req = c->req;
  if (req->head.len + n > c->srv->o.max_head) {
    c->http_error = 431;
    return -1;
  }
  if (roster__httpd_buf_add(&req->head, at, n) != ROSTER_OK) {
    c->http_error = 500;
    return -1;
  }
  return 0;
}

/* mark ends the current string and records where the next begins. */
static int mark(http_parser *p) {
  roster_httpd_request *req = conn_of(p)->req;
  if (head_add(p, "", 1))
    return -1;
  size_t off = req->head.len;
  return roster__httpd_buf_add(&req->offs, &off, sizeof off) == ROSTER_OK ? 0
                                                                          : -1;
}

static int on_begin(http_parser *p) {
  roster_httpd_ws *c = conn_of(p);
  roster__httpd_request_free(c->req);
  c->req = roster_mem_calloc(1, sizeof *c->req);
  if (!c->req) {
    c->http_error = 500;
    return -1;
  }
  c->req->c = roster__httpd_conn_ref(c);
  return 0;
}

static int on_url(http_parser *p, const char *at, size_t n) {
  return head_add(p, at, n);
}

static int on_field(http_parser *p, const char *at, size_t n) {
  roster_httpd_request *req = conn_of(p)->req;
  if ((req->in_value || req->offs.len == 0) && mark(p))
    return -1;
  req->in_value = false;
  return head_add(p, at, n);
}

static int on_value(http_parser *p, const char *at, size_t n) {
  roster_httpd_request *req = conn_of(p)->req;
  if (!req->in_value && mark(p))
    return -1;
  req->in_value = true;
  return head_add(p, at, n);
}

static int on_headers(http_parser *p) {
  roster_httpd_ws *c = conn_of(p);
  roster_httpd_request *req = c->req;
  if (req->offs.len % (2 * sizeof(size_t)) != 0 && mark(p))
    return -1; /* a last header with no value */
  if (head_add(p, "", 1))
    return -1;
  req->method = http_method_str((enum http_method)p->method);
  char *url = req->head.p;
  if (url[0] != '/') {
    c->http_error = 400; /* only origin-form targets */
    return -1;
  }
  char *q = strchr(url, '?');
  char *hash = strchr(url, '#');
  if (hash)
    *hash = '\0';
  req->path = url;
  req->query = "";
  if (q) {
    *q = '\0';
    req->query = q + 1;
  }
  if ((p->flags & F_CONTENTLENGTH) && p->content_length > c->srv->o.max_body) {
    c->http_error = 413;
    return -1;
  }
  const char *expect = roster_httpd_request_header(req, "Expect");
  if (expect && strcasecmp(expect, "100-continue") == 0 && !p->upgrade) {
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    roster_httpd_msg *m = roster__httpd_msg_alloc(sizeof cont - 1);
    if (m) {
      memcpy(m->data, cont, m->len);
      roster__httpd_queue(c, m, false);
    }
  }
  return 0;
}

static int on_body(http_parser *p, const char *at, size_t n) {
  roster_httpd_ws *c = conn_of(p);
  if (c->req->body.len + n > c->srv->o.max_body) {
    c->http_error = 413;
    return -1;
  }
  if (roster__httpd_buf_add(&c->req->body, at, n) != ROSTER_OK) {
    c->http_error = 500;
    return -1;
  }
  return 0;
}

static int on_complete(http_parser *p) {
  roster_httpd_ws *c = conn_of(p);
  c->req->complete = true;
  c->req->keep_alive = http_should_keep_alive(p) != 0;
  http_parser_pause(p, 1);
  return 0;
}

const http_parser_settings roster__httpd_parser_settings = {
    .on_message_begin = on_begin,
    .on_url = on_url,
    .on_header_field = on_field,
    .on_header_value = on_value,
    .on_headers_complete = on_headers,
    .on_body = on_body,
    .on_message_complete = on_complete};

void roster__httpd_http_init(roster_httpd_ws *c) {
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
}

/* ---- answers ------------------------------------------------------------- */

/* build_response makes the bytes of an answer. */
static roster_httpd_msg *build_response(int status, const char *const *headers,
                                        const void *body, size_t len,
                                        bool head_only, bool close) {
  size_t hl = 0;
  for (size_t i = 0; headers && headers[i] && headers[i + 1]; i += 2)
    hl += strlen(headers[i]) + strlen(headers[i + 1]) + 4;
  const char *text = roster__httpd_status_text(status);
  size_t cap = 96 + strlen(text) + hl + (head_only ? 0 : len);
  roster_httpd_msg *m = roster__httpd_msg_alloc(cap);
  if (!m)
    return NULL;
  char *w = (char *)m->data;
  size_t n = (size_t)snprintf(w, cap, "HTTP/1.1 %d %s\r\n", status, text);
  for (size_t i = 0; headers && headers[i] && headers[i + 1]; i += 2)
    n += (size_t)snprintf(w + n, cap - n, "%s: %s\r\n", headers[i],
                          headers[i + 1]);
  n += (size_t)snprintf(w + n, cap - n,
                        "Content-Length: %zu\r\nConnection: %s\r\n\r\n", len,
                        close ? "close" : "keep-alive");
  if (!head_only && len) {
    memcpy(w + n, body, len);
    n += len;
  }
  m->len = n;
  return m;
}

void roster__httpd_http_error(roster_httpd_ws *c, int status,
                              const char *extra_header) {
  ROSTER__HTTPD_STAT(c->srv, bad, 1);
  char body[64];
  int bl = snprintf(body, sizeof body, "%d %s\n", status,
                    roster__httpd_status_text(status));
  const char *hv[] = {"Content-Type", "text/plain; charset=utf-8", NULL, NULL,
                      NULL};
  if (extra_header) { /* "Name: value" */
    static _Thread_local char name[64];
    const char *colon = strchr(extra_header, ':');
    size_t nl = colon ? (size_t)(colon - extra_header) : 0;
    if (colon && nl < sizeof name) {
      memcpy(name, extra_header, nl);
      name[nl] = '\0';
      hv[2] = name;
      hv[3] = colon + 2;
    }
  }
  roster_httpd_msg *m =
      build_response(status, hv, body, (size_t)bl, false, true);
  c->close_after_flush = true;
  if (m)
    roster__httpd_queue(c, m, false);
}

static bool header_ok(const char *s) { return s && !strpbrk(s, "\r\n") && *s; }

int roster_httpd_respond(roster_httpd_request *req, int status,
                         const char *const *headers, const void *body,
                         size_t len) {
  if (!req)
    return roster_error_set(ROSTER_EINVAL, "roster_httpd_respond: req is NULL");
  roster_httpd_ws *c = req->c;
  roster_httpd *s = c->srv;
  int rc = ROSTER_OK;
  bool bad = status < 100 || status > 599 || (!body && len);
  for (size_t i = 0; !bad && headers && headers[i]; i += 2)
    bad = !header_ok(headers[i]) || !headers[i + 1] ||
          strpbrk(headers[i + 1], "\r\n") ||
          strcasecmp(headers[i], "Content-Length") == 0 ||
          strcasecmp(headers[i], "Connection") == 0;
  if (bad) {
    rc = roster_error_set(ROSTER_EINVAL,
                          "httpd '%s': respond: bad status %d, body or "
                          "header (a 500 goes out instead)",
                          s->name, status);
    status = 500;
    headers = NULL;
    body = NULL;
    len = 0;
  }
  bool close = !req->keep_alive || atomic_load(&s->stop_requested);
  roster_httpd_msg *m = build_response(status, headers, body, len,
                                       strcmp(req->method, "HEAD") == 0, close);
  if (!m) {
    status = 500; /* still answer: the connection must not hang */
    rc = roster_error_set(ROSTER_ENOMEM, "httpd: out of memory");
  }
  if (atomic_load(&c->closing) && rc == ROSTER_OK)
    rc = roster_error_set(
        ROSTER_ESTATE, "httpd '%s': respond: the connection is gone", s->name);
  if (roster__httpd_on_loop(s)) {
    roster__httpd_apply_respond(c, req, m, close);
    return rc;
  }
  roster__httpd_op *op = roster_mem_calloc(1, sizeof *op);
  if (!op) {
    /* No way to reach the loop: the connection would hang, so it is
     * left to the idle timeout. */
    roster_httpd_msg_release(m);
    roster__httpd_request_free(req);
    return roster_error_set(ROSTER_ENOMEM, "httpd: out of memory");
  }
  op->kind = ROSTER__HTTPD_OP_RESPOND;
  op->c = roster__httpd_conn_ref(c);
  op->req = req;
  op->m = m;
  op->close = close;
  if (!roster__httpd_push(s, op)) {
    roster__httpd_op_free(op);
    if (rc == ROSTER_OK)
      rc = roster_error_set(ROSTER_ESTATE,
                            "httpd '%s': respond: the server has stopped",
                            s->name);
  }
  return rc;
}

/* resume parses what waited while a request was held. */
static void resume(roster_httpd_ws *c) {
  if (c->in_dispatch || c->fd < 0)
    return;
  roster__httpd_input(c, (const uint8_t *)"", 0);
}

void roster__httpd_apply_respond(roster_httpd_ws *c, roster_httpd_request *req,
                                 roster_httpd_msg *m, bool close) {
  if (c->state != CS_HTTP || c->held != req || !m) {
    roster_httpd_msg_release(m);
    if (c->held == req && c->state == CS_HTTP) {
      c->held = NULL;
      roster__httpd_http_error(c, 500, NULL);
    }
    roster__httpd_request_free(req);
    return;
  }
  c->held = NULL;
  c->aborted = false;
  if (close)
    c->close_after_flush = true;
  roster__httpd_queue(c, m, false);
  roster__httpd_request_free(req);
  resume(c);
}

/* ---- requests ------------------------------------------------------------ */

static const roster__httpd_route *find_route(const roster_httpd *s,
                                             const char *path) {
  const roster__httpd_route *best = NULL;
  for (size_t i = 0; i < s->nroutes; i++) {
    const roster__httpd_route *r = &s->routes[i];
    if (strncmp(path, r->prefix, r->plen) == 0 &&
        (!best || r->plen > best->plen))
      best = r;
  }
  return best;
}

static void dispatch(roster_httpd_ws *c) {
  roster_httpd_request *req = c->req;
  c->req = NULL;
  if (c->parser.upgrade) {
    const roster__httpd_ws_route *w = roster__httpd_ws_find(c->srv, req->path);
    if (!w) {
      roster__httpd_request_free(req);
      roster__httpd_http_error(c, 404, NULL);
      return;
    }
    roster__httpd_ws_upgrade(c, req, w);
    return;
  }
  const roster__httpd_route *r = find_route(c->srv, req->path);
  if (!r) {
    roster__httpd_request_free(req);
    roster__httpd_http_error(c, 404, NULL);
    return;
  }
  ROSTER__HTTPD_STAT(c->srv, requests, 1);
  req->route = r;
  c->held = req;
  c->aborted = false;
  r->o.handler(req, r->o.arg);
}

void roster__httpd_http_input(roster_httpd_ws *c) {
  while (c->state == CS_HTTP && !c->held && !c->close_after_flush &&
         c->pending.len > c->pending_off) {
    size_t avail = c->pending.len - c->pending_off;
    size_t n = http_parser_execute(&c->parser, &roster__httpd_parser_settings,
                                   c->pending.p + c->pending_off, avail);
    c->pending_off += n;
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
    if (e == HPE_PAUSED) {
      http_parser_pause(&c->parser, 0);
      dispatch(c);
    } else if (e != HPE_OK) {
      roster__httpd_http_error(c, c->http_error ? c->http_error : 400, NULL);
    } else if (n < avail || c->parser.upgrade) {
      roster__httpd_http_error(c, 400, NULL); /* e.g. an upgrade with a body */
    }
  }
  if (c->state != CS_HTTP || c->pending.cap > 4096) {
    if (c->pending_off == c->pending.len || c->state != CS_HTTP) {
      roster__httpd_buf_free(&c->pending); /* a WebSocket needs none */
      c->pending_off = 0;
    }
  } else if (c->pending_off == c->pending.len) {
    c->pending.len = c->pending_off = 0; /* kept for the next request */
  }
}

/* ---- reading a request --------------------------------------------------- */

const char *roster_httpd_request_method(const roster_httpd_request *req) {
  return req ? req->method : NULL;
}

const char *roster_httpd_request_path(const roster_httpd_request *req) {
  return req ? req->path : NULL;
}

const char *roster_httpd_request_query(const roster_httpd_request *req) {
  return req ? req->query : NULL;
}

const char *roster_httpd_request_header(const roster_httpd_request *req,
                                        const char *name) {
  if (!req || !name || !req->head.p)
    return NULL;
  const size_t *o = (const size_t *)req->offs.p;
  size_t n = req->offs.len / sizeof(size_t);
  for (size_t i = 0; i + 1 < n; i += 2)
    if (strcasecmp(req->head.p + o[i], name) == 0)
      return req->head.p + o[i + 1];
  return NULL;
}

const void *roster_httpd_request_body(const roster_httpd_request *req,
                                      size_t *len) {
  if (len)
    *len = req ? req->body.len : 0;
  return req && req->body.p ? req->body.p : "";
}
