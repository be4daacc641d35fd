/*
 * roster/http.h: the HTTP client module (modules/http, library
 * roster_http, on libcurl): named clients of HTTP APIs ("payments",
 * "users"), each with its own base URL, default headers, credentials,
 * timeouts, retry policy, circuit breaker and connection bound, shared by
 * any number of threads.
 *
 * A roster_http is a client of one base URL ("https://api.example.com/v1").
 * A request names a path under it ("/charges"), a query, headers and a
 * body; the answer is the status, the headers and the body of the last
 * response (redirects are followed, at most 5). Connections, DNS answers
 * and TLS sessions are kept in a libcurl share and reused by every thread
 * of the client; HTTP/2 is used where a TLS server offers it.
 *
 * Retries: an attempt is tried again, after a wait, when
 *  - the connection could not be made (any method: nothing was sent), or
 *    it failed after the request was sent (reset, closed, nothing
 *    received) and the method is idempotent (GET, HEAD, PUT, DELETE,
 *    OPTIONS, TRACE): a POST or PATCH is never sent twice;
 *  - the answer is 429 or 503: the wait is the Retry-After header's (delta
 *    seconds or an HTTP date) when there is one. One longer than
 *    retry_after_max_ms is not waited for: that answer is returned.
 * Otherwise the wait is exponential with jitter: attempt n (from 1) waits
 * a random time in [d/2, d], d = min(retry_max_ms, retry_base_ms * 2^(n-1)).
 * A timeout is not retried, nor is a streamed download that delivered a
 * byte.
 *
 * Circuit breaker: every attempt that ends in a transport error (refused,
 * reset, timeout, TLS) or a 5xx or 429 status is a failure; any other
 * answer closes the breaker again. After breaker_failures failures in a
 * row the breaker opens: requests fail at once with ROSTER_EBUSY, without
 * I/O, for breaker_cooldown_ms. Then it is half-open: one request goes
 * through (the others still fail at once); its success closes the breaker,
 * its failure opens it for another cool-down.
 *
 * Connections: at most max_connections requests of a client are under way
 * at once (one base URL is one host, so this bounds the connections to
 * it); a request waits for its turn up to its timeout (ROSTER_ETIMEDOUT),
 * except in roster_http_request_all while the slots are held by its own
 * batch. libcurl's proxy variables (http_proxy, all_proxy, no_proxy...)
 * are read when the client is made: set later, they are not seen.
 *
 * Secrets: the bearer token, the basic-auth password (also taken from a
 * base URL's user info), and the values of default and request headers
 * never appear in an error detail, in the stats or in the client's name:
 * details name the client, the method, and the path without its query.
 *
 * Errors: an HTTP answer of any status is ROSTER_OK (read resp->status);
 * roster_http_json turns a status outside 2xx into ROSTER_EREMOTE.
 * ROSTER_ECONN (refused, reset, DNS, nothing received: libcurl's message
 * kept in the detail, with the number of attempts), ROSTER_ETIMEDOUT
 * (connect or total timeout, or no connection free in time), ROSTER_EPROTO
 * (TLS or HTTP protocol failures), ROSTER_EBUSY (breaker open),
 * ROSTER_ERANGE (a body over max_body), ROSTER_ECANCELED (a streaming
 * callback stopped the download), ROSTER_EINVAL (bad arguments, named),
 * ROSTER_ENOMEM.
 *
 * Threads: every call is thread-safe except roster_http_free, which no
 * request may race with. Requests block (bounded by the timeouts and the
 * retry waits), each on its caller's thread: roster_http_request_all
 * drives many from one thread. A streaming callback runs on the calling
 * thread, with no lock of roster's held.
 *
 * Memory: roster's structures come from roster's allocator hooks; libcurl
 * allocates its own with the C library's malloc.
 */
#ifndef ROSTER_HTTP_H
#define ROSTER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "registry.h"

#ifdef __cplusplus
extern "C" {
#endif

/* jansson's value, for roster_http_json; include <jansson.h> to use it. */
struct json_t;

/* roster_http_init registers the http:// and https:// drivers
 * (roster/driver.h): such a URL declares a client service
 * (roster_http_type; roster_http_find). Options of a declared service
 * (a config entry's other keys, or opts of roster_provide_url): the
 * fields of roster_http_options without their unit, durations in
 * milliseconds: connect_timeout, timeout, retries, retry_base, retry_max,
 * retry_after_max, breaker_failures, breaker_cooldown, max_connections,
 * max_body, probe, ca_file, tls_verify (true/false), follow_redirects
 * (true/false), compressed (true/false), token (the bearer token), user and
 * password (basic auth; or user info in the URL), and headers.<Name> (a default
 * header: config `headers: {X-Tenant: acme}`). The URL is the base URL: no
 * query, no fragment. An unknown key or a bad value is ROSTER_EINVAL naming the
 * key. The service is made on first use, without I/O; its health is
 * roster_http_health. Calling again is a no-op. Thread-safe. */
ROSTER_EXTERN int roster_http_init(void);

/* roster_http: a client of one base URL. Opaque. */
typedef struct roster_http roster_http;

/* roster_http_options: {0} gives the defaults shown. Strings are copied. */
typedef struct roster_http_options {
  const char *name;            /* in details; NULL: "http" */
  const char *base_url;        /* required: http:// or https://, no query or
                                  fragment; user info is basic auth */
  const char *const *headers;  /* default headers: NULL-terminated name,
                                  value pairs; a request's own header of
                                  the same name (any case) wins */
  const char *bearer_token;    /* Authorization: Bearer; secret */
  const char *user;            /* basic auth */
  const char *password;        /* basic auth; secret */
  int64_t connect_timeout_ms;  /* 0: 5000 */
  int64_t timeout_ms;          /* each attempt, whole; 0: 30000; < 0: none */
  int retries;                 /* attempts after the first; 0: 2; < 0: 0 */
  int64_t retry_base_ms;       /* 0: 100 */
  int64_t retry_max_ms;        /* longest backoff wait; 0: 5000 */
  int64_t retry_after_max_ms;  /* longest Retry-After waited for; 0: 30000 */
  int breaker_failures;        /* failures in a row that open it; 0: 5;
                                  < 0: no breaker */
  int64_t breaker_cooldown_ms; /* 0: 30000 */
  unsigned max_connections;    /* requests under way at once; 0: 8 */
  size_t max_body;             /* response body kept; 0: 64 MiB */
  const char *probe;           /* health: GET this path, 2xx is healthy;
                                  NULL: healthy unless the breaker is open */
  const char *ca_file;         /* TLS: CA bundle; NULL: the system's */
  bool tls_no_verify;          /* TLS: accept any certificate (tests) */
  bool no_redirects;           /* do not follow redirects */
  bool compressed; /* ask for compressed answers (Accept-Encoding: what
                      libcurl decodes, gzip, deflate...) and decode them;
                      off: the header and its handling cost every call
                      (bench/README.md, roster-bench-http) */
} roster_http_options;

/* roster_http_new makes a client into *out; no I/O. Errors (*out NULL):
 * ROSTER_EINVAL (NULL opts or out, no base_url, a scheme other than http
 * or https, a query or fragment in it, a header name or value with CR,
 * LF or NUL, a name with ':' or space), ROSTER_EPARSE (a malformed base
 * URL, shown redacted), ROSTER_ENOMEM. */
ROSTER_EXTERN int roster_http_new(const roster_http_options *opts,
                                  roster_http **out);

/* roster_http_free frees c and closes its connections. No request may be
 * under way. NULL is a no-op. */
ROSTER_EXTERN void roster_http_free(roster_http *c);

/* roster_http_name: the client's name ("" for NULL). */
ROSTER_EXTERN const char *roster_http_name(const roster_http *c);

/* roster_http_on_data: a streaming request's sink: the body of a 2xx
 * answer in pieces, on the calling thread. Return 0 to go on, anything
 * else to stop (the request ends with ROSTER_ECANCELED). */
typedef int (*roster_http_on_data)(const void *data, size_t len, void *arg);

/* roster_http_req: one request (roster_http_request is the call). {0} is a GET
 * of the base URL. */
typedef struct roster_http_req {
  const char *method;         /* "GET" (NULL), "POST", ...: upper case */
  const char *path;           /* under the base URL: "" or starting with
                                 '/', sent as given (no space, control,
                                 '?' or '#'); NULL: "" */
  const char *const *query;   /* NULL-terminated name, value pairs;
                                 percent-encoded here */
  const char *const *headers; /* NULL-terminated name, value pairs */
  const void *body;           /* sent as is; NULL with body_len 0: none */
  size_t body_len;
  roster_http_on_data on_data; /* NULL: the body goes to resp->body; else
                                  a 2xx body goes here (resp->body "") */
  void *arg;                   /* on_data's */
  int64_t timeout_ms;          /* 0: the client's */
} roster_http_req;

/* roster_http_response: the last answer (after redirects). */
typedef struct roster_http_response {
  int status;      /* 200 */
  char **headers;  /* name, value, ..., NULL: as received */
  size_t nheaders; /* pairs */
  char *body;      /* NUL-terminated; may hold NULs: use body_len */
  size_t body_len;
  unsigned attempts;  /* 1 + retries made */
  int64_t elapsed_ms; /* the whole call, waits included */
  int http_version;   /* the protocol that answered: 10, 11 (HTTP/1.x),
                         20 (HTTP/2, negotiated by TLS ALPN), 30 */
} roster_http_response;

/* roster_http_request sends req through c (retrying as the file comment
 * says) and puts the answer into *out (free with roster_http_response_free;
 * out may be NULL: the answer is dropped). Returns ROSTER_OK for any HTTP
 * status; the errors of the file comment otherwise, *out NULL. */
ROSTER_EXTERN int roster_http_request(roster_http *c,
                                      const roster_http_req *req,
                                      roster_http_response **out);

/* roster_http_request_all sends the n requests reqs[0..n-1] at once and
 * returns when every one has ended. Each is made as roster_http_request
 * makes one (its own retries and waits, timeout, breaker admission, and a
 * count in the stats); together they take up to max_connections slots, the
 * others waiting their turn, and the calling thread drives all their
 * transfers: a fan-out to n endpoints costs one thread, not n. outs[i]
 * (outs may be NULL: the answers are dropped) gets reqs[i]'s answer or
 * NULL; rcs[i] (rcs may be NULL) its code. Returns ROSTER_OK when every
 * request got an answer (of any status); otherwise the code of the first
 * (lowest i) that did not, its detail beginning "request i of n: " (i from
 * 1). ROSTER_EINVAL for a NULL c, or NULL reqs with n > 0; n 0 is
 * ROSTER_OK. Streaming callbacks run on the calling thread. */
ROSTER_EXTERN int roster_http_request_all(roster_http *c,
                                          const roster_http_req *reqs, size_t n,
                                          roster_http_response **outs,
                                          int *rcs);

/* roster_http_response_header: the value of the first header called name
 * (any case), or NULL. */
ROSTER_EXTERN const char *
roster_http_response_header(const roster_http_response *resp, const char *name);

/* roster_http_response_free frees resp. NULL is a no-op. */
ROSTER_EXTERN void roster_http_response_free(roster_http_response *resp);

/* roster_http_json sends body (NULL: none) as JSON (Content-Type and
 * Accept: application/json) with method to path, and parses the answer
 * into *out (a new reference; NULL for an empty body; out may be NULL).
 * *status (may be NULL) gets the status whenever there was an answer.
 * ROSTER_EREMOTE when the status is not 2xx (the detail has the status
 * and the start of the body, escaped), ROSTER_EPARSE when the body is not
 * JSON; else as roster_http_request. */
ROSTER_EXTERN int roster_http_json(roster_http *c, const char *method,
                                   const char *path, const struct json_t *body,
                                   struct json_t **out, int *status);

/* roster_http_health: with a probe path, GET it: ROSTER_OK on 2xx,
 * ROSTER_EREMOTE naming the status otherwise, or the request's error;
 * without one, ROSTER_EBUSY while the breaker is open, else ROSTER_OK.
 * The health check of declared services. */
ROSTER_EXTERN int roster_http_health(roster_http *c);

/* roster_http_breaker_kind: the circuit breaker's state. */
typedef enum roster_http_breaker_kind {
  ROSTER_HTTP_BREAKER_CLOSED = 0,
  ROSTER_HTTP_BREAKER_OPEN = 1,
  ROSTER_HTTP_BREAKER_HALF_OPEN = 2
} roster_http_breaker_kind;

/* ROSTER_HTTP_LATENCY_BUCKETS: the histogram's buckets; bucket i counts
 * calls that took at most 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500,
 * 5000, 10000 ms, the last one longer. */
#define ROSTER_HTTP_LATENCY_BUCKETS 14

/* roster_http_stats: counters since roster_http_new. A request is one
 * call (all its attempts); its outcome is counted once. */
typedef struct roster_http_stats {
  uint64_t requests;        /* calls of roster_http_request */
  uint64_t retries;         /* attempts after the first */
  uint64_t ok;              /* answered 1xx to 3xx */
  uint64_t status_4xx;      /* answered 4xx */
  uint64_t status_5xx;      /* answered 5xx */
  uint64_t errors_connect;  /* ROSTER_ECONN */
  uint64_t errors_timeout;  /* ROSTER_ETIMEDOUT */
  uint64_t errors_protocol; /* ROSTER_EPROTO (TLS, HTTP) */
  uint64_t errors_breaker;  /* refused by the open breaker */
  uint64_t errors_other;    /* too big, canceled, out of memory */
  uint64_t breaker_opened;  /* times it opened */
  roster_http_breaker_kind breaker;
  uint64_t connections_open;  /* TCP connections now */
  uint64_t connections_total; /* opened */
  uint64_t latency[ROSTER_HTTP_LATENCY_BUCKETS];
  uint64_t latency_total_us; /* sum over calls */
} roster_http_stats;

/* roster_http_stats_get fills *out. ROSTER_EINVAL for NULL. Any thread. */
ROSTER_EXTERN int roster_http_stats_get(roster_http *c, roster_http_stats *out);

/* roster_http_type: the type of declared client services. */
ROSTER_EXTERN extern const roster_type roster_http_type;

/* roster_http_find: the client service (ns, name): ROSTER_DEFINE_FIND
 * (registry.h); ROSTER_ETYPE for a service of another type. */
ROSTER_EXTERN int roster_http_find(roster *r, const char *ns, const char *name,
                                   roster_http **out);

#ifdef __cplusplus
}
#endif

#endif /* ROSTER_HTTP_H */
