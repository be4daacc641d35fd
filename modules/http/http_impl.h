/*
 * http_impl.h: the HTTP client module's private structures, shared by
 * client.c (the client: handles, share, slots, breaker, stats), request.c
 * (a call: what it sends, its attempts judged, retries, the answer),
 * drive.c (the loop that drives a thread's calls on a multi handle),
 * json.c (the JSON convenience and health), retry_after.c (the
 * Retry-After parser) and service.c (the driver).
 */
#ifndef ROSTER_HTTP_IMPL_H
#define ROSTER_HTTP_IMPL_H

#include <roster.h>
#include <roster/driver.h>
#include <roster/http.h>

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* One client. Settings are fixed after roster_http_new; mu guards the
 * handle stack, the slot count and the breaker; counters are atomic. */
struct roster_http {
  char *name;
  char *base;     /* without user info or a trailing '/' */
  char **headers; /* default headers: name, value, ..., NULL */
  size_t nheaders;
  char *bearer, *user, *password; /* secrets: never in a detail */
  char *probe, *ca_file;
  int64_t connect_timeout_ms, timeout_ms;
  int retries;
  int64_t retry_base_ms, retry_max_ms, retry_after_max_ms;
  int breaker_failures;
  int64_t breaker_cooldown_ms;
  unsigned max_connections;
  size_t max_body;
  bool tls_no_verify, no_redirects, compressed;
  bool no_proxy_env; /* the environment named no proxy at roster_http_new */

  CURLSH *share;
  pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];

  pthread_mutex_t mu;
  pthread_cond_t slot_cv; /* a slot was given back */
  unsigned in_flight;     /* requests holding a slot */
  CURL **idle;            /* easy handles not in use; up to max_connections */
  unsigned nidle;
  CURLM **multis; /* multi handles not in use (one per driving thread) */
  unsigned nmultis;
  /* the breaker */
  roster_http_breaker_kind breaker;
  int failures;        /* in a row */
  uint64_t open_until; /* monotonic ns, when open */
  bool probing;        /* half-open: the one trial is under way */

  _Atomic uint64_t requests, retried, ok, s4xx, s5xx, e_connect, e_timeout,
      e_proto, e_breaker, e_other, breaker_opened, conns_open, conns_total,
      latency_us;
  _Atomic uint64_t latency[ROSTER_HTTP_LATENCY_BUCKETS];
};

/* Monotonic now in ns. */
uint64_t roster__http_now_ns(void);

/* A slot (one of max_connections) and an easy handle for one attempt, set
 * to the client's defaults (share, timeouts, auth, TLS, redirects);
 * waits up to timeout_ms (< 0: no limit) for a slot: ROSTER_ETIMEDOUT;
 * timeout_ms 0 does not wait: ROSTER_EBUSY, without a detail. */
int roster__http_handle_get(roster_http *c, int64_t timeout_ms, CURL **out);
/* roster__http_busy: ROSTER_ETIMEDOUT, no slot came free in waited_ms. */
int roster__http_busy(const roster_http *c, int64_t waited_ms);
/* What an attempt set on its handle beyond the URL and its own pointers
 * (write target, error buffer, private), for roster__http_handle_put to
 * undo. */
enum {
  ROSTER__HTTP_SET_HEADERS = 1, /* CURLOPT_HTTPHEADER */
  ROSTER__HTTP_SET_BODY = 2,    /* CURLOPT_POSTFIELDS(IZE_LARGE) */
  ROSTER__HTTP_SET_METHOD = 4   /* CURLOPT_CUSTOMREQUEST or NOBODY */
};
/* Gives the handle (cleared of what set says and of the request's
 * pointers: it keeps none) and its slot back. */
void roster__http_handle_put(roster_http *c, CURL *h, unsigned set);

/* The write callback of every handle (request.c): the body into the
 * call's buffer, or to its on_data; its arg (CURLOPT_WRITEDATA) is the
 * call, set per attempt. */
size_t roster__http_on_write(char *p, size_t size, size_t n, void *arg);

/* A multi handle to drive a thread's transfers on (NULL: out of memory),
 * and back. Kept on a stack, as the easy handles are. */
CURLM *roster__http_multi_get(roster_http *c);
void roster__http_multi_put(roster_http *c, CURLM *m);

/* The breaker: admit returns ROSTER_OK (with *trial set when this is the
 * half-open trial) or ROSTER_EBUSY with a detail; report says how the
 * admitted attempt ended. */
int roster__http_breaker_admit(roster_http *c, bool *trial);
void roster__http_breaker_report(roster_http *c, bool trial, bool failed);
/* Gives back an admitted half-open trial that sent nothing. */
void roster__http_breaker_cancel(roster_http *c, bool trial);

/* Counts one finished call: rc, the status when rc is ROSTER_OK, and its
 * duration. */
void roster__http_count(roster_http *c, int rc, int status, uint64_t ns);

/* roster__http_retry_after_ms reads a Retry-After value (RFC 9110 10.2.3:
 * delta seconds, or an HTTP date read by curl_getdate) at wall-clock time
 * now: the wait in ms (0 for a date in the past; at most 2^40 ms), or -1
 * when it is neither. Pure; any thread. */
int64_t roster__http_retry_after_ms(const char *value, time_t now);

/* roster__http_request_ex is roster_http_req with extra headers
 * (name, value pairs) between the defaults and the request's own. */
int roster__http_request_ex(roster_http *c, const roster_http_req *req,
                            const char *const *extra,
                            roster_http_response **out);

/* roster__http_header_ok: name and value may be sent as a header. */
bool roster__http_header_ok(const char *name, const char *value);

/* ---- calls (request.c), driven by drive.c ---- */

/* A growing byte buffer; oom set when an allocation failed. */
typedef struct sbuf {
  char *p;
  size_t len, cap;
  bool oom;
} sbuf;

/* call: one request of roster_http_request or roster_http_request_all,
 * from its checks to its end, across its attempts. */
typedef struct call {
  roster_http *c;
  const roster_http_req *req;
  const char *m, *path;
  char *url;
  struct curl_slist *hl;
  int64_t timeout; /* each attempt's, ms; < 0: none */
  CURL *h;         /* while an attempt runs */
  sbuf body;
  bool too_big, stopped, delivered, trial, idem;
  enum { C_READY, C_RUNNING, C_DONE } st;
  unsigned n;       /* attempts started */
  uint64_t t0, due; /* due: the next attempt starts then, not before (ns) */
  uint64_t slot_by; /* waiting for a slot: gives up then (ns; 0: not) */
  int rc, status;
  roster_http_response *out;
  unsigned set;             /* options this call set on its handles (SET_) */
  char eb[CURL_ERROR_SIZE]; /* last: call_clear leaves it */
} call;

/* roster__http_call_clear: k as {0}, but for its error buffer (set per
 * attempt), so a batch's array is not zeroed whole. */
void roster__http_call_clear(call *k);
/* roster__http_call_begin checks req and builds what each attempt of it
 * sends; the call is then ready (or the error is returned, detail set). */
int roster__http_call_begin(call *k, roster_http *c, const roster_http_req *req,
                            const char *const *extra);
/* roster__http_call_start begins the call's next attempt: admission by
 * the breaker, a slot and an easy handle, the attempt's settings. With
 * wait, a slot is waited for up to the call's timeout; without, *no_slot
 * is set (and nothing else done) when none is free. Another failure is
 * returned with its detail; the caller ends the call with it. */
int roster__http_call_start(call *k, bool wait, bool *no_slot);
/* roster__http_call_judge ends an attempt whose transfer ended with cc:
 * the call ends (C_DONE: k->rc, k->out) or is ready again for a retry at
 * k->due. */
void roster__http_call_judge(call *k, CURLcode cc);
/* roster__http_call_end: the call's outcome is rc (detail already set);
 * it is counted once, and what its attempts shared is freed. */
void roster__http_call_end(call *k, int rc);

/* The driver (service.c). */
extern const roster_driver roster__http_driver;

#endif /* ROSTER_HTTP_IMPL_H */
