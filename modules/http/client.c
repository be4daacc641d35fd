/*
 * client.c: one HTTP client: its settings (checked and copied by
 * roster_http_new), the libcurl share of connections, DNS answers and TLS
 * sessions, the stacks of easy handles (with the slots that bound
 * connections) and of multi handles, the circuit breaker and the counters.
 *
 * Why handles lent to the caller's thread over a share, not the multi
 * interface on a worker thread: a request then runs on the caller's
 * thread (request.c drives it), so nothing crosses threads but the
 * share's locks (one mutex per kind of shared data, held for a lookup,
 * never for I/O) and the slots; a multi worker would add two hand-offs
 * (queue in, wake the caller) per request and a thread per client. The
 * share gives the same reuse of connections across threads
 * (docs/DESIGN.md, "HTTP clients").
 */
#include "http_impl.h"

#include "base/helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

uint64_t roster__http_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;
static void global_init(void) { global_rc = curl_global_init(CURL_GLOBAL_ALL); }

/* ---- the share's locks: one mutex per kind of data ---- */

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access a,
                       void *arg) {
  (void)h, (void)a;
  roster_http *c = arg;
  pthread_mutex_lock(&c->share_mu[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *arg) {
  (void)h;
  roster_http *c = arg;
  pthread_mutex_unlock(&c->share_mu[data]);
}

/* ---- sockets, counted for the stats ---- */

static curl_socket_t open_socket(void *arg, curlsocktype purpose,
                                 struct curl_sockaddr *a) {
  (void)purpose;
  roster_http *c = arg;
  curl_socket_t s = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
  if (s != CURL_SOCKET_BAD) {
    atomic_fetch_add(&c->conns_open, 1);
    atomic_fetch_add(&c->conns_total, 1);
  }
  return s;
}

static int close_socket(void *arg, curl_socket_t s) {
  roster_http *c = arg;
  atomic_fetch_sub(&c->conns_open, 1);
  return close(s);
}

/* ---- settings ---- */

bool roster__http_header_ok(const char *name, const char *value) {
  if (!name || !*name || !value)
    return false;
  for (const char *p = name; *p; p++)
    if ((unsigned char)*p <= ' ' || *p == ':' || *p == 0x7f)
      return false;
  for (const char *p = value; *p; p++)
    if (*p == '\r' || *p == '\n')
      return false;
  return true;
}

static char *dup_or_null(const char *s) {
  return s ? roster_mem_strdup(s) : NULL;
}

/* base_set checks the base URL and keeps it without its user info (taken
 * as basic-auth credentials when the options give none) or trailing '/'. */
static int base_set(roster_http *c, const char *text) {
  roster_url *u = NULL;
  int rc = roster_url_parse(text, &u);
  if (rc)
    return roster__err_wrap(rc, "HTTP client '%s': base URL", c->name);
  char red[512];
  roster_url_redact(text, red, sizeof red);
  if (strcmp(u->scheme, "http") != 0 && strcmp(u->scheme, "https") != 0)
    rc = roster_error_set(ROSTER_EINVAL,
                          "HTTP client '%s': base URL %s: the scheme must be "
                          "http or https",
                          c->name, red);
  else if (!u->host || !*u->host)
    rc = roster_error_set(ROSTER_EINVAL,
                          "HTTP client '%s': base URL %s has no host", c->name,
                          red);
  else if (u->nquery || u->fragment || strpbrk(text, "?#"))
    rc = roster_error_set(ROSTER_EINVAL,
                          "HTTP client '%s': base URL %s: a query or fragment "
                          "is not allowed (give a request's query instead)",
                          c->name, red);
  if (!rc && u->user && !c->user) {
    c->user = roster_mem_strdup(u->user);
    c->password = roster_mem_strdup(u->password ? u->password : "");
    if (!c->user || !c->password)
      rc = roster_error_set(ROSTER_ENOMEM, "HTTP client: out of memory");
  }
  roster_url_free(u);
  if (rc)
    return rc;
  const char *auth = strstr(text, "://") + 3;
  size_t alen = strcspn(auth, "/");
  const char *at = NULL;
  for (const char *p = auth; p < auth + alen; p++)
    if (*p == '@')
      at = p;
  const char *host = at ? at + 1 : auth;
  size_t slen = (size_t)(auth - text), rest = strlen(host);
  while (rest && host[rest - 1] == '/')
    rest--;
  c->base = roster_mem_alloc(slen + rest + 1);
  if (!c->base)
    return roster_error_set(ROSTER_ENOMEM, "HTTP client: out of memory");
  memcpy(c->base, text, slen);
  memcpy(c->base + slen, host, rest);
  c->base[slen + rest] = '\0';
  return ROSTER_OK;
}

static int headers_set(roster_http *c, const char *const *h) {
  size_t n = 0;
  while (h && h[2 * n] && h[2 * n + 1])
    n++;
  if (h && h[2 * n])
    return roster_error_set(ROSTER_EINVAL,
                            "HTTP client '%s': default header %zu has no "
                            "value",
                            c->name, n + 1);
  c->headers = roster_mem_calloc(2 * n + 1, sizeof *c->headers);
  if (!c->headers)
    return roster_error_set(ROSTER_ENOMEM, "HTTP client: out of memory");
  for (size_t i = 0; i < n; i++) {
    if (!roster__http_header_ok(h[2 * i], h[2 * i + 1]))
      return roster_error_set(ROSTER_EINVAL,
                              "HTTP client '%s': default header %zu: a name "
                              "must be a token and a value one line",
                              c->name, i + 1);
    c->headers[2 * i] = roster_mem_strdup(h[2 * i]);
    c->headers[2 * i + 1] = roster_mem_strdup(h[2 * i + 1]);
    c->nheaders = i + 1;
    if (!c->headers[2 * i] || !c->headers[2 * i + 1])
      return roster_error_set(ROSTER_ENOMEM, "HTTP client: out of memory");
  }
  return ROSTER_OK;
}

/* no_proxy_env: whether the environment names no proxy for libcurl
 * (the variables it reads: lower case for http, either case for the
 * others). Then a handle is told so, and libcurl does not read the five
 * of them again for each request (about 1,500 instructions of a 64,000
 * one: bench/README.md); a proxy set later in the process is not seen
 * by a client made before. */
static bool no_proxy_env(void) {
  static const char *const vars[] = {"http_proxy", "https_proxy", "HTTPS_PROXY",
                                     "all_proxy",  "ALL_PROXY",   "no_proxy",
                                     "NO_PROXY"};
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
    if (getenv(vars[i]))
      return false;
  return true;
}

#define DEF(v, d) ((v) ? (v) : (d))

static int setup(roster_http *c, const roster_http_options *o) {
  c->name = roster_mem_strdup(o->name ? o->name : "http");
  c->bearer = dup_or_null(o->bearer_token);
  c->user = dup_or_null(o->user);
  c->password = dup_or_null(o->user ? DEF(o->password, "") : NULL);
  c->probe = dup_or_null(o->probe);
  c->ca_file = dup_or_null(o->ca_file);
  if (!c->name || (o->bearer_token && !c->bearer) ||
      (o->user && !c->password) || (o->probe && !c->probe) ||
      (o->ca_file && !c->ca_file))
    return roster_error_set(ROSTER_ENOMEM, "HTTP client: out of memory");
  if (!o->base_url || !*o->base_url)
    return roster_error_set(ROSTER_EINVAL,
                            "HTTP client '%s': options.base_url is required",
                            c->name);
  if (o->probe && o->probe[0] != '/')
    return roster_error_set(ROSTER_EINVAL,
                            "HTTP client '%s': the probe path must start "
                            "with '/'",
                            c->name);
  int rc = base_set(c, o->base_url);
  if (!rc)
    rc = headers_set(c, o->headers);
  if (rc)
    return rc;
  c->connect_timeout_ms = DEF(o->connect_timeout_ms, 5000);
  c->timeout_ms = DEF(o->timeout_ms, 30000);
  c->retries = o->retries < 0 ? 0 : DEF(o->retries, 2);
  c->retry_base_ms = DEF(o->retry_base_ms, 100);
  c->retry_max_ms = DEF(o->retry_max_ms, 5000);
  c->retry_after_max_ms = DEF(o->retry_after_max_ms, 30000);
  c->breaker_failures =
      o->breaker_failures < 0 ? 0 : DEF(o->breaker_failures, 5);
  c->breaker_cooldown_ms = DEF(o->breaker_cooldown_ms, 30000);
  c->max_connections = DEF(o->max_connections, 8u);
  c->max_body = DEF(o->max_body, (size_t)64 << 20);
  c->tls_no_verify = o->tls_no_verify;
  c->no_redirects = o->no_redirects;
  c->compressed = o->compressed;
  c->no_proxy_env = no_proxy_env();
  if (c->connect_timeout_ms < 0 || c->retry_base_ms < 0 ||
      c->retry_max_ms < 0 || c->retry_after_max_ms < 0 ||
      c->breaker_cooldown_ms < 0)
    return roster_error_set(
        ROSTER_EINVAL, "HTTP client '%s': a duration is negative", c->name);
  c->idle = roster_mem_calloc(c->max_connections, sizeof *c->idle);
  c->multis = roster_mem_calloc(c->max_connections, sizeof *c->multis);
  if (!c->idle || !c->multis)
    return roster_error_set(ROSTER_ENOMEM, "HTTP client: out of memory");
  c->share = curl_share_init();
  if (!c->share)
    return roster_error_set(ROSTER_ENOMEM, "HTTP client: curl_share_init");
  curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
  curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
  curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
  curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  return ROSTER_OK;
}

int roster_http_new(const roster_http_options *opts, roster_http **out) {
  if (out)
    *out = NULL;
  if (!opts || !out)
    return roster_error_set(ROSTER_EINVAL, "roster_http_new: %s is NULL",
                            opts ? "out" : "opts");
  pthread_once(&global_once, global_init);
  if (global_rc != CURLE_OK)
    return roster_error_set(ROSTER_ESYS,
                            "roster_http_new: curl_global_init: %s",
                            curl_easy_strerror(global_rc));
  roster_http *c = roster_mem_calloc(1, sizeof *c);
  if (!c)
    return roster_error_set(ROSTER_ENOMEM, "roster_http_new: out of memory");
  for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
    pthread_mutex_init(&c->share_mu[i], NULL);
  pthread_mutex_init(&c->mu, NULL);
  roster__cond_init_mono(&c->slot_cv);
  int rc = setup(c, opts);
  if (rc) {
    roster__err_saved e;
    roster__err_save(&e, rc);
    roster_http_free(c);
    return roster__err_restore(&e);
  }
  *out = c;
  return ROSTER_OK;
}

static void free_secret(char *s) {
  if (s) {
    memset(s, 0, strlen(s));
    roster_mem_free(s);
  }
}

void roster_http_free(roster_http *c) {
  if (!c)
    return;
  for (unsigned i = 0; i < c->nidle; i++)
    curl_easy_cleanup(c->idle[i]);
  for (unsigned i = 0; i < c->nmultis; i++)
    curl_multi_cleanup(c->multis[i]);
  roster_mem_free(c->multis);
  if (c->share)
    curl_share_cleanup(c->share); /* closes the pooled connections */
  roster_mem_free(c->idle);
  for (size_t i = 0; c->headers && c->headers[i]; i++)
    free_secret(c->headers[i]);
  roster_mem_free(c->headers);
  free_secret(c->bearer);
  free_secret(c->password);
  roster_mem_free(c->user);
  roster_mem_free(c->probe);
  roster_mem_free(c->ca_file);
  roster_mem_free(c->base);
  roster_mem_free(c->name);
  for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
    pthread_mutex_destroy(&c->share_mu[i]);
  pthread_mutex_destroy(&c->mu);
  pthread_cond_destroy(&c->slot_cv);
  roster_mem_free(c);
}

const char *roster_http_name(const roster_http *c) { return c ? c->name : ""; }

/* ---- handles and slots ---- */

static void handle_defaults(roster_http *c, CURL *h) {
  curl_easy_setopt(h, CURLOPT_SHARE, c->share);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, roster__http_on_write);
  if (c->no_proxy_env) {
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_NOPROXY, "");
  }
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->connect_timeout_ms);
  curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
  curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, c);
  curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, close_socket);
  curl_easy_setopt(h, CURLOPT_CLOSESOCKETDATA, c);
  curl_easy_setopt(h, CURLOPT_MAXCONNECTS, (long)c->max_connections);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, c->no_redirects ? 0L : 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
  if (c->compressed)
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
  if (c->bearer) {
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
    curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, c->bearer);
  } else if (c->user) {
    curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(h, CURLOPT_USERNAME, c->user);
    curl_easy_setopt(h, CURLOPT_PASSWORD, c->password);
  }
  if (c->ca_file)
    curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
  if (c->tls_no_verify) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
}

int roster__http_busy(const roster_http *c, int64_t waited_ms) {
  return roster_error_set(ROSTER_ETIMEDOUT,
                          "HTTP client '%s': all %u connections stayed busy "
                          "for %lld ms",
                          c->name, c->max_connections, (long long)waited_ms);
}

int roster__http_handle_get(roster_http *c, int64_t timeout_ms, CURL **out) {
  *out = NULL;
  struct timespec dl = roster__mono_after(timeout_ms >= 0 ? timeout_ms : 0);
  pthread_mutex_lock(&c->mu);
  if (timeout_ms == 0 && c->in_flight >= c->max_connections) {
    pthread_mutex_unlock(&c->mu);
    return ROSTER_EBUSY; /* no detail: the caller looks again */
  }
  while (c->in_flight >= c->max_connections) {
    int e = timeout_ms < 0 ? pthread_cond_wait(&c->slot_cv, &c->mu)
                           : pthread_cond_timedwait(&c->slot_cv, &c->mu, &dl);
    if (e && c->in_flight >= c->max_connections) {
      pthread_mutex_unlock(&c->mu);
      return roster__http_busy(c, timeout_ms);
    }
  }
  c->in_flight++;
  CURL *h = c->nidle ? c->idle[--c->nidle] : NULL;
  pthread_mutex_unlock(&c->mu);
  if (!h) { /* a new handle gets the client's settings, once */
    if (!(h = curl_easy_init())) {
      roster__http_handle_put(c, NULL, 0);
      return roster_error_set(ROSTER_ENOMEM, "HTTP client '%s': curl_easy_init",
                              c->name);
    }
    handle_defaults(c, h);
  }
  *out = h;
  return ROSTER_OK;
}

/* handle_clear takes a call's settings off a handle going back to the
 * stack: no pointer into the call (its URL, header list, buffers, body)
 * stays behind, and the method is GET again; what the call did not set
 * (set: ROSTER__HTTP_SET_) is left alone. The client's settings
 * (handle_defaults) stay: curl_easy_reset and setting them all again cost
 * a few us per call (docs/DESIGN.md, "HTTP clients"). */
static void handle_clear(CURL *h, unsigned set) {
  curl_easy_setopt(h, CURLOPT_URL, NULL);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, NULL);
  curl_easy_setopt(h, CURLOPT_PRIVATE, NULL);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
  if (set & ROSTER__HTTP_SET_HEADERS)
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
  if (set & ROSTER__HTTP_SET_BODY) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
  }
  if (set & ROSTER__HTTP_SET_METHOD)
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
  if (set & (ROSTER__HTTP_SET_BODY | ROSTER__HTTP_SET_METHOD))
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L); /* also NOBODY off */
}

void roster__http_handle_put(roster_http *c, CURL *h, unsigned set) {
  if (h)
    handle_clear(h, set);
  pthread_mutex_lock(&c->mu);
  if (h && c->nidle < c->max_connections) {
    c->idle[c->nidle++] = h;
    h = NULL;
  }
  c->in_flight--;
  pthread_cond_signal(&c->slot_cv);
  pthread_mutex_unlock(&c->mu);
  if (h)
    curl_easy_cleanup(h);
}

CURLM *roster__http_multi_get(roster_http *c) {
  pthread_mutex_lock(&c->mu);
  CURLM *m = c->nmultis ? c->multis[--c->nmultis] : NULL;
  pthread_mutex_unlock(&c->mu);
  return m ? m : curl_multi_init();
}

void roster__http_multi_put(roster_http *c, CURLM *m) {
  pthread_mutex_lock(&c->mu);
  if (c->nmultis < c->max_connections) {
    c->multis[c->nmultis++] = m;
    m = NULL;
  }
  pthread_mutex_unlock(&c->mu);
  if (m)
    curl_multi_cleanup(m);
}

/* ---- the breaker ---- */

int roster__http_breaker_admit(roster_http *c, bool *trial) {
  *trial = false;
  if (!c->breaker_failures)
    return ROSTER_OK;
  int rc = ROSTER_OK;
  pthread_mutex_lock(&c->mu);
  uint64_t now =
      c->breaker == ROSTER_HTTP_BREAKER_OPEN ? roster__http_now_ns() : 0;
  if (c->breaker == ROSTER_HTTP_BREAKER_OPEN && now >= c->open_until)
    c->breaker = ROSTER_HTTP_BREAKER_HALF_OPEN;
  if (c->breaker == ROSTER_HTTP_BREAKER_OPEN)
    rc =
        roster_error_set(ROSTER_EBUSY,
                         "HTTP client '%s': the circuit breaker is open "
                         "after %d failures in a row; next trial in %llu ms",
                         c->name, c->failures,
                         (unsigned long long)((c->open_until - now) / 1000000));
  else if (c->breaker == ROSTER_HTTP_BREAKER_HALF_OPEN && c->probing)
    rc = roster_error_set(ROSTER_EBUSY,
                          "HTTP client '%s': the circuit breaker is half-open "
                          "and its trial request is under way",
                          c->name);
  else if (c->breaker == ROSTER_HTTP_BREAKER_HALF_OPEN)
    *trial = c->probing = true;
  pthread_mutex_unlock(&c->mu);
  return rc;
}

static void breaker_open(roster_http *c) {
  c->breaker = ROSTER_HTTP_BREAKER_OPEN;
  c->open_until =
      roster__http_now_ns() + (uint64_t)c->breaker_cooldown_ms * 1000000u;
  atomic_fetch_add(&c->breaker_opened, 1);
}

void roster__http_breaker_report(roster_http *c, bool trial, bool failed) {
  if (!c->breaker_failures)
    return;
  pthread_mutex_lock(&c->mu);
  if (trial) {
    c->probing = false;
    if (failed) {
      c->failures++;
      breaker_open(c);
    } else {
      c->breaker = ROSTER_HTTP_BREAKER_CLOSED;
      c->failures = 0;
    }
  } else if (c->breaker == ROSTER_HTTP_BREAKER_CLOSED) {
    c->failures = failed ? c->failures + 1 : 0;
    if (c->failures >= c->breaker_failures)
      breaker_open(c);
  }
  pthread_mutex_unlock(&c->mu);
}

void roster__http_breaker_cancel(roster_http *c, bool trial) {
  if (!trial)
    return;
  pthread_mutex_lock(&c->mu);
  c->probing = false;
  pthread_mutex_unlock(&c->mu);
}

/* ---- counters ---- */

static const uint64_t bucket_ms[ROSTER_HTTP_LATENCY_BUCKETS - 1] = {
    1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};

void roster__http_count(roster_http *c, int rc, int status, uint64_t ns) {
  atomic_fetch_add(&c->requests, 1);
  _Atomic uint64_t *k = &c->e_other;
  if (rc == ROSTER_OK)
    k = status >= 500 ? &c->s5xx : status >= 400 ? &c->s4xx : &c->ok;
  else if (rc == ROSTER_ECONN)
    k = &c->e_connect;
  else if (rc == ROSTER_ETIMEDOUT)
    k = &c->e_timeout;
  else if (rc == ROSTER_EPROTO)
    k = &c->e_proto;
  else if (rc == ROSTER_EBUSY)
    k = &c->e_breaker;
  atomic_fetch_add(k, 1);
  size_t b = 0;
  while (b < ROSTER_HTTP_LATENCY_BUCKETS - 1 && ns > bucket_ms[b] * 1000000u)
    b++;
  atomic_fetch_add(&c->latency[b], 1);
  atomic_fetch_add(&c->latency_us, ns / 1000);
}

int roster_http_stats_get(roster_http *c, roster_http_stats *out) {
  if (!c || !out)
    return roster_error_set(ROSTER_EINVAL, "roster_http_stats_get: %s is NULL",
                            c ? "out" : "client");
  memset(out, 0, sizeof *out);
  out->requests = atomic_load(&c->requests);
  out->retries = atomic_load(&c->retried);
  out->ok = atomic_load(&c->ok);
  out->status_4xx = atomic_load(&c->s4xx);
  out->status_5xx = atomic_load(&c->s5xx);
  out->errors_connect = atomic_load(&c->e_connect);
  out->errors_timeout = atomic_load(&c->e_timeout);
  out->errors_protocol = atomic_load(&c->e_proto);
  out->errors_breaker = atomic_load(&c->e_breaker);
  out->errors_other = atomic_load(&c->e_other);
  out->breaker_opened = atomic_load(&c->breaker_opened);
  out->connections_open = atomic_load(&c->conns_open);
  out->connections_total = atomic_load(&c->conns_total);
  for (size_t i = 0; i < ROSTER_HTTP_LATENCY_BUCKETS; i++)
    out->latency[i] = atomic_load(&c->latency[i]);
  out->latency_total_us = atomic_load(&c->latency_us);
  pthread_mutex_lock(&c->mu);
  out->breaker = c->breaker;
  if (out->breaker == ROSTER_HTTP_BREAKER_OPEN &&
      roster__http_now_ns() >= c->open_until)
    out->breaker = ROSTER_HTTP_BREAKER_HALF_OPEN;
  pthread_mutex_unlock(&c->mu);
  return ROSTER_OK;
}
