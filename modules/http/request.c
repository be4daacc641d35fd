/*
 * request.c: one call of roster_http_request or roster_http_request_all.
 * A call's URL and header list are built once; each attempt takes a slot
 * and an easy handle, runs on a multi handle driven by the calling thread
 * (drive.c: one call, or many at once), and is judged: an answer, a
 * failure for the breaker, a retry after a wait (Retry-After or backoff
 * with jitter), or the end. The answer's headers are read with libcurl's
 * header API (curl_easy_nextheader), so no header line is parsed here.
 */
#include "http_impl.h"

#include "base/helpers.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- what a call sends ---- */

static bool method_ok(const char *m) {
  size_t n = strlen(m);
  if (n == 0 || n > 16)
    return false;
  for (size_t i = 0; i < n; i++)
    if (m[i] < 'A' || m[i] > 'Z')
      return false;
  return true;
}

static bool path_ok(const char *p) {
  if (*p && *p != '/')
    return false;
  for (; *p; p++)
    if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '?' || *p == '#')
      return false;
  return true;
}

static bool idempotent(const char *m) {
  static const char *const ms[] = {"GET",    "HEAD",    "PUT",
                                   "DELETE", "OPTIONS", "TRACE"};
  for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
    if (strcmp(m, ms[i]) == 0)
      return true;
  return false;
}

static void sb_add(sbuf *b, const char *s, size_t n) {
  if (b->oom)
    return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 128;
    while (cap < b->len + n + 1)
      cap *= 2;
    char *p = roster_mem_realloc(b->p, cap);
    if (!p) {
      b->oom = true;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static void sb_escaped(sbuf *b, const char *s) {
  char *e = curl_easy_escape(NULL, s, 0);
  if (!e) {
    b->oom = true;
    return;
  }
  sb_str(b, e);
  curl_free(e);
}

static char *build_url(roster_http *c, const char *path,
                       const char *const *query) {
  sbuf b = {0};
  sb_str(&b, c->base);
  sb_str(&b, path);
  for (size_t i = 0; query && query[i]; i += 2) {
    sb_str(&b, i ? "&" : "?");
    sb_escaped(&b, query[i]);
    if (*query[i + 1]) {
      sb_str(&b, "=");
      sb_escaped(&b, query[i + 1]);
    }
  }
  if (b.oom) {
    roster_mem_free(b.p);
    return NULL;
  }
  return b.p;
}

static bool header_named(const char *const *h, const char *name) {
  for (size_t i = 0; h && h[i]; i += 2)
    if (strcasecmp(h[i], name) == 0)
      return true;
  return false;
}

/* add_header appends "name: value" ("name;" for an empty value, which is
 * how libcurl sends one). */
static bool add_header(struct curl_slist **l, const char *name,
                       const char *value) {
  sbuf b = {0};
  sb_str(&b, name);
  sb_str(&b, *value ? ": " : ";");
  sb_str(&b, value);
  struct curl_slist *n = b.oom ? NULL : curl_slist_append(*l, b.p);
  if (b.p)
    memset(b.p, 0, b.len); /* may be a secret */
  roster_mem_free(b.p);
  if (!n)
    return false;
  *l = n;
  return true;
}

/* has_body: whether a request with method m sends a body. */
static bool has_body(const char *m, const roster_http_req *req) {
  return req->body_len > 0 || strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 ||
         strcmp(m, "PATCH") == 0;
}

/* build_headers: the list sent (NULL when empty): the client's defaults,
 * extra and the request's own, the later winning by name. */
static bool build_headers(roster_http *c, const char *const *h,
                          const char *const *extra, bool body,
                          struct curl_slist **out) {
  struct curl_slist *l = NULL;
  bool ok = true;
  for (size_t i = 0; ok && c->headers[i]; i += 2)
    if (!header_named(h, c->headers[i]) && !header_named(extra, c->headers[i]))
      ok = add_header(&l, c->headers[i], c->headers[i + 1]);
  for (size_t i = 0; ok && extra && extra[i]; i += 2)
    if (!header_named(h, extra[i]))
      ok = add_header(&l, extra[i], extra[i + 1]);
  for (size_t i = 0; ok && h && h[i]; i += 2)
    ok = add_header(&l, h[i], h[i + 1]);
  /* no 100-continue round trip; no form Content-Type on a body of bytes */
  if (ok && body && !header_named(h, "Expect"))
    ok = !!(l = curl_slist_append(l, "Expect:"));
  if (ok && body && !header_named(h, "Content-Type") &&
      !header_named(extra, "Content-Type") &&
      !header_named((const char *const *)c->headers, "Content-Type"))
    ok = !!(l = curl_slist_append(l, "Content-Type:"));
  if (!ok) {
    curl_slist_free_all(l);
    return false;
  }
  *out = l;
  return true;
}

/* ---- one call ---- */

void roster__http_call_clear(call *k) { memset(k, 0, offsetof(call, eb)); }

size_t roster__http_on_write(char *p, size_t size, size_t n, void *arg) {
  call *a = arg;
  size_t len = size * n;
  if (a->req->on_data) {
    long st = 0;
    curl_easy_getinfo(a->h, CURLINFO_RESPONSE_CODE, &st);
    if (st >= 200 && st < 300) {
      a->delivered = true;
      if (a->req->on_data(p, len, a->req->arg)) {
        a->stopped = true;
        return 0;
      }
      return len;
    }
  }
  if (len > a->c->max_body - a->body.len) {
    a->too_big = true;
    return 0;
  }
  sb_add(&a->body, p, len);
  return a->body.oom ? 0 : len;
}

/* set_method sets the method and body; returns what it set
 * (ROSTER__HTTP_SET_). */
static unsigned set_method(CURL *h, const char *m, const roster_http_req *req) {
  bool body = has_body(m, req);
  if (strcmp(m, "HEAD") == 0) {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    return ROSTER__HTTP_SET_METHOD;
  }
  unsigned set = 0;
  if (body) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body_len ? req->body : "");
    set |= ROSTER__HTTP_SET_BODY;
  }
  if (strcmp(m, body ? "POST" : "GET") != 0) {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
    set |= ROSTER__HTTP_SET_METHOD;
  }
  return set;
}

/* The roster code of a failed transfer, and whether it may be retried. */
static int map_code(CURLcode cc, const call *a, bool idem, bool *retry) {
  *retry = false;
  switch (cc) {
  case CURLE_COULDNT_CONNECT:
    *retry = true;
    return ROSTER_ECONN;
  case CURLE_GOT_NOTHING:
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_PARTIAL_FILE:
    *retry = idem;
    return ROSTER_ECONN;
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
    return ROSTER_ECONN;
  case CURLE_OPERATION_TIMEDOUT:
    return ROSTER_ETIMEDOUT;
  case CURLE_WRITE_ERROR:
    return a->too_big   ? ROSTER_ERANGE
           : a->stopped ? ROSTER_ECANCELED
                        : ROSTER_ENOMEM;
  case CURLE_OUT_OF_MEMORY:
    return ROSTER_ENOMEM;
  case CURLE_URL_MALFORMAT:
    return ROSTER_EINVAL;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
  case CURLE_WEIRD_SERVER_REPLY:
  case CURLE_TOO_MANY_REDIRECTS:
  case CURLE_UNSUPPORTED_PROTOCOL:
    return ROSTER_EPROTO;
  default:
    return ROSTER_EIO;
  }
}

/* ---- waits ---- */

static _Thread_local uint64_t rng;

static uint64_t rand64(void) {
  if (!rng)
    rng = roster__http_now_ns() ^ ((uint64_t)(uintptr_t)&rng << 16) ^ 1;
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* backoff_ms: a random wait in [d/2, d], d = min(max, base * 2^(n-1)). */
static int64_t backoff_ms(const roster_http *c, unsigned n) {
  int64_t d = c->retry_base_ms;
  for (unsigned i = 1; i < n && d < c->retry_max_ms; i++)
    d *= 2;
  if (d > c->retry_max_ms)
    d = c->retry_max_ms;
  return d / 2 + (d > 0 ? (int64_t)(rand64() % (uint64_t)(d - d / 2 + 1)) : 0);
}

/* ---- the answer ---- */

/* take_answer makes the response: its headers, as received, go into one
 * block (the pointer array, then the strings), freed with it. Each
 * curl_easy_nextheader walks the list (it counts the name's copies), so
 * the pairs of a usual answer are read once, into kv; more take a
 * second walk. */
static int take_answer(call *a, long status, roster_http_response **out) {
  enum { KV = 32 };
  const char *kv[2 * KV];
  size_t n = 0, bytes = 0;
  struct curl_header *hh = NULL;
  while ((hh = curl_easy_nextheader(a->h, CURLH_HEADER, -1, hh))) {
    if (n < KV) {
      kv[2 * n] = hh->name;
      kv[2 * n + 1] = hh->value;
    }
    n++;
    bytes += strlen(hh->name) + strlen(hh->value) + 2;
  }
  roster_http_response *r = roster_mem_calloc(1, sizeof *r);
  char **hv = roster_mem_alloc((2 * n + 1) * sizeof *hv + bytes);
  if (!r || !hv) {
    roster_mem_free(r);
    roster_mem_free(hv);
    return ROSTER_ENOMEM;
  }
  r->headers = hv;
  long ver = 0;
  curl_easy_getinfo(a->h, CURLINFO_HTTP_VERSION, &ver);
  r->http_version = ver == CURL_HTTP_VERSION_1_0   ? 10
                    : ver == CURL_HTTP_VERSION_1_1 ? 11
                    : ver == CURL_HTTP_VERSION_2_0 ? 20
                    : ver == CURL_HTTP_VERSION_3   ? 30
                                                   : 0;
  char *p = (char *)(hv + 2 * n + 1);
  size_t i = 0;
  while (i < 2 * n) {
    if (n > KV && !(hh = curl_easy_nextheader(a->h, CURLH_HEADER, -1, hh)))
      break;
    for (int k = 0; k < 2; k++) {
      const char *v = n > KV ? (k ? hh->value : hh->name) : kv[i];
      size_t len = strlen(v) + 1;
      memcpy(p, v, len);
      hv[i++] = p;
      p += len;
    }
  }
  hv[i] = NULL;
  r->nheaders = i / 2;
  if (!a->body.p)
    sb_add(&a->body, "", 0);
  if (a->body.oom) {
    roster_http_response_free(r);
    return ROSTER_ENOMEM;
  }
  r->body = a->body.p;
  r->body_len = a->body.len;
  a->body = (sbuf){0};
  r->status = (int)status;
  *out = r;
  return ROSTER_OK;
}

/* retry_wait: for a 429 or 503 answer, the wait it asks for: its
 * Retry-After, or the backoff; -1 when Retry-After asks for more than the
 * client waits. */
static int64_t retry_wait(call *a, unsigned n) {
  struct curl_header *hh = NULL;
  if (curl_easy_header(a->h, "Retry-After", 0, CURLH_HEADER, -1, &hh) ==
      CURLHE_OK) {
    int64_t ms = roster__http_retry_after_ms(hh->value, time(NULL));
    if (ms >= 0)
      return ms > a->c->retry_after_max_ms ? -1 : ms;
  }
  return backoff_ms(a->c, n);
}

static int check_request(const roster_http *c, const roster_http_req *req,
                         const char *m, const char *path) {
  if (!method_ok(m))
    return roster_error_set(ROSTER_EINVAL,
                            "HTTP client '%s': the method must be 1 to 16 "
                            "upper-case letters",
                            c->name);
  if (!path_ok(path))
    return roster_error_set(ROSTER_EINVAL,
                            "HTTP client '%s': the path must be empty or "
                            "start with '/', without spaces, controls, '?' "
                            "or '#' (put the query in req.query)",
                            c->name);
  for (size_t i = 0; req->headers && req->headers[i]; i += 2)
    if (!roster__http_header_ok(req->headers[i], req->headers[i + 1]))
      return roster_error_set(ROSTER_EINVAL,
                              "HTTP client '%s': request header %zu: a name "
                              "must be a token and a value one line",
                              c->name, i / 2 + 1);
  for (size_t i = 0; req->query && req->query[i]; i += 2)
    if (!req->query[i + 1])
      return roster_error_set(ROSTER_EINVAL,
                              "HTTP client '%s': query parameter %zu has no "
                              "value (\"\" for none)",
                              c->name, i / 2 + 1);
  if (!req->body && req->body_len)
    return roster_error_set(ROSTER_EINVAL,
                            "HTTP client '%s': body is NULL, body_len is not",
                            c->name);
  return ROSTER_OK;
}

/* call_begin checks req and builds what each attempt of it sends; the
 * call is then ready. */
int roster__http_call_begin(call *k, roster_http *c, const roster_http_req *req,
                            const char *const *extra) {
  k->c = c;
  k->req = req;
  k->m = req->method ? req->method : "GET";
  k->path = req->path ? req->path : "";
  int rc = check_request(c, req, k->m, k->path);
  if (rc)
    return rc;
  k->url = build_url(c, k->path, req->query);
  if (!k->url ||
      !build_headers(c, req->headers, extra, has_body(k->m, req), &k->hl)) {
    roster_mem_free(k->url);
    k->url = NULL;
    return roster_error_set(ROSTER_ENOMEM, "HTTP client '%s': out of memory",
                            c->name);
  }
  k->timeout = req->timeout_ms ? req->timeout_ms : c->timeout_ms;
  k->idem = idempotent(k->m);
  k->t0 = roster__http_now_ns();
  k->st = C_READY;
  return ROSTER_OK;
}

/* call_end: the call's outcome is rc (its detail already set); it is
 * counted once, and what its attempts shared is freed. */
void roster__http_call_end(call *k, int rc) {
  uint64_t ns = roster__http_now_ns() - k->t0;
  roster__http_count(k->c, rc, k->status, ns);
  if (!rc && k->out)
    k->out->elapsed_ms = (int64_t)(ns / 1000000);
  curl_slist_free_all(k->hl);
  roster_mem_free(k->url);
  roster_mem_free(k->body.p);
  k->hl = NULL;
  k->url = NULL;
  k->body = (sbuf){0};
  k->rc = rc;
  k->st = C_DONE;
}

/* call_start begins the call's next attempt: admission by the breaker, a
 * slot and an easy handle, the attempt's settings. With wait, a slot is
 * waited for up to the call's timeout; without, *no_slot is set (and
 * nothing else done) when none is free. Another failure is returned with
 * its detail, and ends the call. */
int roster__http_call_start(call *k, bool wait, bool *no_slot) {
  roster_http *c = k->c;
  *no_slot = false;
  int rc = roster__http_breaker_admit(c, &k->trial);
  if (rc)
    return rc;
  if ((rc = roster__http_handle_get(c, wait ? k->timeout : 0, &k->h))) {
    roster__http_breaker_cancel(c, k->trial);
    *no_slot = !wait && rc == ROSTER_EBUSY;
    return rc;
  }
  k->n++;
  roster_mem_free(k->body.p);
  k->body = (sbuf){0};
  k->too_big = k->stopped = false;
  k->slot_by = 0;
  k->eb[0] = '\0';
  CURL *h = k->h;
  curl_easy_setopt(h, CURLOPT_URL, k->url);
  k->set = 0;
  if (k->hl) {
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, k->hl);
    k->set |= ROSTER__HTTP_SET_HEADERS;
  }
  curl_easy_setopt(h, CURLOPT_WRITEDATA, k);
  curl_easy_setopt(h, CURLOPT_PRIVATE, k);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, k->eb);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                   k->timeout > 0 ? (long)k->timeout : 0L);
  k->set |= set_method(h, k->m, k->req);
  return ROSTER_OK;
}

/* call_judge ends an attempt whose transfer ended with cc: the handle and
 * its slot go back, the breaker hears how it went, and the call either
 * ends (an answer, or a failure with its detail) or is ready again for a
 * retry at k->due. */
void roster__http_call_judge(call *k, CURLcode cc) {
  roster_http *c = k->c;
  unsigned n = k->n;
  long status = 0;
  curl_easy_getinfo(k->h, CURLINFO_RESPONSE_CODE, &status);
  bool retry = false, failed;
  int64_t wait = 0;
  int rc = ROSTER_OK;
  if (cc == CURLE_OK) {
    failed = status >= 500 || status == 429;
    if ((status == 429 || status == 503) && n <= (unsigned)c->retries &&
        !k->delivered) {
      wait = retry_wait(k, n);
      retry = wait >= 0;
    }
    if (!retry && (rc = take_answer(k, status, &k->out)))
      rc = roster_error_set(rc, "HTTP client '%s': out of memory", c->name);
    else if (!retry)
      k->out->attempts = n;
    k->status = (int)status;
  } else {
    rc = map_code(cc, k, k->idem, &retry);
    failed =
        rc == ROSTER_ECONN || rc == ROSTER_ETIMEDOUT || rc == ROSTER_EPROTO;
    retry = retry && !k->delivered && n <= (unsigned)c->retries;
    if (retry)
      wait = backoff_ms(c, n);
    else
      rc = roster_error_set(rc, "HTTP client '%s': %s %s: %s (%u attempt%s)",
                            c->name, k->m, *k->path ? k->path : "/",
                            k->too_big   ? "the body is over max_body"
                            : k->stopped ? "stopped by the on_data callback"
                            : k->eb[0]   ? k->eb
                                         : curl_easy_strerror(cc),
                            n, n == 1 ? "" : "s");
  }
  roster__http_handle_put(c, k->h, k->set);
  k->h = NULL;
  roster__http_breaker_report(c, k->trial, failed);
  if (!retry) {
    roster__http_call_end(k, rc);
    return;
  }
  atomic_fetch_add(&c->retried, 1);
  k->due = roster__http_now_ns() + (uint64_t)wait * 1000000u;
  k->st = C_READY;
}

const char *roster_http_response_header(const roster_http_response *resp,
                                        const char *name) {
  for (size_t i = 0; resp && name && i < resp->nheaders; i++)
    if (strcasecmp(resp->headers[2 * i], name) == 0)
      return resp->headers[2 * i + 1];
  return NULL;
}

void roster_http_response_free(roster_http_response *resp) {
  if (!resp)
    return;
  roster_mem_free(resp->headers); /* the strings are in its block */
  roster_mem_free(resp->body);
  roster_mem_free(resp);
}
