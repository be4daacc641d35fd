/*
 * client.c: the etcd client: endpoints, the one call that posts a JSON
 * body with failover, keys, transactions and leases.
 *
 * A request goes to the endpoint that answered last; a connection that
 * cannot be made, a timeout, or an "unavailable" answer (gRPC 14, HTTP
 * 503: that member has no quorum) moves it to the next endpoint, each
 * tried at most once per request. CURL easy handles are pooled (each
 * keeps its connections alive).
 */
#include "etcd_impl.h"

#include "base/helpers.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t roster__etcd_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

bool roster__etcd_nap(pthread_mutex_t *mu, pthread_cond_t *cv,
                      atomic_bool *stop, int64_t ms) {
  struct timespec ts = roster__mono_after(ms);
  pthread_mutex_lock(mu);
  while (!atomic_load(stop) && pthread_cond_timedwait(cv, mu, &ts) == 0)
    ;
  pthread_mutex_unlock(mu);
  return atomic_load(stop);
}

void roster__etcd_contact(roster_etcd *c, int64_t rev) {
  atomic_store(&c->last_contact_ns, roster__etcd_now_ns());
  int64_t old = atomic_load(&c->last_revision);
  while (rev > old &&
         !atomic_compare_exchange_weak(&c->last_revision, &old, rev))
    ;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

/* pct_dup: n bytes of s, percent-decoded, in a new string (NULL: no
 * memory). */
static char *pct_dup(const char *s, size_t n) {
  char *d = roster_mem_alloc(n + 1);
  size_t j = 0;
  for (size_t i = 0; d && i < n; i++) {
    unsigned v;
    if (s[i] == '%' && i + 2 < n && sscanf(s + i + 1, "%2x", &v) == 1 && v) {
      d[j++] = (char)v;
      i += 2;
    } else {
      d[j++] = s[i];
    }
  }
  if (d)
    d[j] = '\0';
  return d;
}

/* endpoint reads one endpoint of the list (n bytes at s) into a new
 * "http://host:port" string; user info ("user:password@") goes to the
 * client's credentials, never into the endpoint or a message. */
static int endpoint(roster_etcd *c, const char *s, size_t n, char **out) {
  const char *who = c->name;
  while (n && (*s == ' ' || *s == '\t'))
    s++, n--;
  while (n && (s[n - 1] == ' ' || s[n - 1] == '/'))
    n--;
  const char *body = s;
  size_t bn = n, sn = 0;
  if (n > 7 && !strncmp(s, "http://", 7))
    sn = 7;
  else if (n > 8 && !strncmp(s, "https://", 8))
    sn = 8;
  body += sn;
  bn -= sn;
  const char *at = NULL;
  for (size_t i = 0; i < bn; i++)
    if (body[i] == '@')
      at = body + i;
  if (at) {
    const char *colon = memchr(body, ':', (size_t)(at - body));
    if (!colon || colon == body)
      return roster_error_set(ROSTER_EINVAL,
                              "%s: an endpoint's user info is not "
                              "user:password (not shown)",
                              who);
    if (!c->user) {
      c->user = pct_dup(body, (size_t)(colon - body));
      c->password = pct_dup(colon + 1, (size_t)(at - colon - 1));
      if (!c->user || !c->password)
        return roster_error_set(ROSTER_ENOMEM, "%s: out of memory", who);
    }
    bn -= (size_t)(at + 1 - body);
    body = at + 1;
  }
  const char *colon = NULL;
  for (size_t i = 0; i < bn; i++)
    if (body[i] == ':')
      colon = body + i;
  if (!bn || memchr(body, '/', bn) || !colon || colon == body ||
      colon == body + bn - 1)
    return roster_error_set(ROSTER_EINVAL,
                            "%s: endpoint %zu bytes long is not "
                            "http://host:port",
                            who, n);
  for (const char *p = colon + 1; p < body + bn; p++)
    if (*p < '0' || *p > '9')
      return roster_error_set(ROSTER_EINVAL,
                              "%s: an endpoint's port is not a number", who);
  char *e = roster_mem_alloc(bn + 9);
  if (!e)
    return roster_error_set(ROSTER_ENOMEM, "%s: out of memory", who);
  snprintf(e, bn + 9, "%s%.*s", sn == 8 ? "https://" : "http://", (int)bn,
           body);
  *out = e;
  return ROSTER_OK;
}

int roster_etcd_new(const roster_etcd_options *o, roster_etcd **out) {
  if (!out)
    return roster_error_set(ROSTER_EINVAL, "roster_etcd_new: out is NULL");
  *out = NULL;
  if (!o || !o->endpoints || !*o->endpoints)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_etcd_new: no endpoints (\"http://host:"
                            "port,...\")");
  pthread_once(&curl_once, curl_init_once);
  roster_etcd *c = roster_mem_calloc(1, sizeof *c);
  if (!c)
    return roster_error_set(ROSTER_ENOMEM, "etcd: out of memory");
  c->name = roster_mem_strdup(o->name ? o->name : "etcd");
  c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 5000;
  c->connect_timeout_ms =
      o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 1000;
  pthread_mutex_init(&c->mu, NULL);
  atomic_init(&c->last_contact_ns, 0);
  int rc = c->name ? ROSTER_OK
                   : roster_error_set(ROSTER_ENOMEM, "etcd: out of memory");
  for (const char *p = o->endpoints; !rc && *p;) {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    if (c->n_ep == ETCD_MAX_ENDPOINTS)
      rc = roster_error_set(ROSTER_EINVAL, "%s: more than %d endpoints",
                            c->name, ETCD_MAX_ENDPOINTS);
    else
      rc = endpoint(c, p, n, &c->ep[c->n_ep]);
    if (!rc)
      c->n_ep++;
    p += n + (comma != NULL);
  }
  if (!rc && o->user) { /* the options' credentials win */
    roster_mem_free(c->user);
    roster_mem_free(c->password);
    c->user = roster_mem_strdup(o->user);
    c->password = roster_mem_strdup(o->password ? o->password : "");
    if (!c->user || !c->password)
      rc = roster_error_set(ROSTER_ENOMEM, "etcd: out of memory");
  }
  if (!rc) {
    c->headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (!c->headers)
      rc = roster_error_set(ROSTER_ENOMEM, "etcd: out of memory");
  }
  if (rc) {
    roster_etcd_free(c);
    return rc;
  }
  *out = c;
  return ROSTER_OK;
}

void roster_etcd_free(roster_etcd *c) {
  if (!c)
    return;
  for (size_t i = 0; i < c->n_pool; i++)
    curl_easy_cleanup(c->pool[i]);
  for (size_t i = 0; i < c->n_ep; i++)
    roster_mem_free(c->ep[i]);
  curl_slist_free_all(c->headers);
  if (c->password)
    memset(c->password, 0, strlen(c->password));
  if (c->token)
    memset(c->token, 0, strlen(c->token));
  roster_mem_free(c->user);
  roster_mem_free(c->password);
  roster_mem_free(c->token);
  pthread_mutex_destroy(&c->mu);
  roster_mem_free(c->name);
  roster_mem_free(c);
}

void *roster__etcd_easy(roster_etcd *c) {
  CURL *h = NULL;
  pthread_mutex_lock(&c->mu);
  if (c->n_pool)
    h = c->pool[--c->n_pool];
  pthread_mutex_unlock(&c->mu);
  if (h)
    curl_easy_reset(h);
  else
    h = curl_easy_init();
  if (!h)
    return NULL;
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->connect_timeout_ms);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  return h;
}

void roster__etcd_easy_put(roster_etcd *c, void *easy) {
  pthread_mutex_lock(&c->mu);
  if (c->n_pool < ETCD_POOL) {
    c->pool[c->n_pool++] = easy;
    easy = NULL;
  }
  pthread_mutex_unlock(&c->mu);
  if (easy)
    curl_easy_cleanup(easy);
}

typedef struct buf {
  char *p;
  size_t n, cap;
} buf;

static size_t on_body(char *d, size_t sz, size_t nm, void *arg) {
  buf *b = arg;
  size_t n = sz * nm;
  if (b->n + n + 1 > b->cap) {
    if (b->n + n + 1 > ((size_t)64 << 20))
      return 0; /* 64 MiB: far beyond any answer roster asks for */
    size_t cap = b->cap ? b->cap * 2 : 1024;
    while (cap < b->n + n + 1)
      cap *= 2;
    char *q = roster_mem_realloc(b->p, cap);
    if (!q)
      return 0;
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->n, d, n);
  b->n += n;
  b->p[b->n] = '\0';
  return n;
}

/* one posts text to endpoint i: ROSTER_OK with *reply, or a code;
 * *next tells whether another endpoint may do better. */
static int one(roster_etcd *c, size_t i, const char *path, const char *text,
               struct curl_slist *headers, json_t **reply, bool *next,
               int *grpc) {
  *next = false;
  *grpc = 0;
  CURL *h = roster__etcd_easy(c);
  if (!h)
    return roster_error_set(ROSTER_ENOMEM, "%s: out of memory", c->name);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  char url[512];
  snprintf(url, sizeof url, "%s%s", c->ep[i], path);
  buf b = {0};
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
  atomic_fetch_add(&c->requests, 1);
  CURLcode cc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  roster__etcd_easy_put(c, h);
  int rc = ROSTER_OK;
  if (cc != CURLE_OK) {
    *next = true;
    rc = roster_error_set(
        cc == CURLE_OPERATION_TIMEDOUT ? ROSTER_ETIMEDOUT : ROSTER_ECONN,
        "%s: %s %s: %s", c->name, c->ep[i], path, curl_easy_strerror(cc));
    goto out;
  }
  json_error_t je;
  json_t *j = b.p ? json_loadb(b.p, b.n, JSON_DISABLE_EOF_CHECK, &je) : NULL;
  if (!json_is_object(j)) {
    json_decref(j);
    *next = status == 503;
    rc = roster_error_set(ROSTER_EPROTO,
                          "%s: %s %s: HTTP %ld with an answer that is not "
                          "etcd's JSON",
                          c->name, c->ep[i], path, status);
    goto out;
  }
  char who[600];
  snprintf(who, sizeof who, "%s: %s %s", c->name, c->ep[i], path);
  rc = roster__etcd_error(who, j, (int)status, grpc);
  if (rc) {
    *next = *grpc == 14 || status == 503;
    json_decref(j);
    goto out;
  }
  json_t *r = json_object_get(j, "result"); /* streamed calls */
  roster__etcd_contact(c, roster__etcd_i64(json_object_get(r ? r : j, "header"),
                                           "revision", NULL));
  *reply = j;
out:
  roster_mem_free(b.p);
  return rc;
}

/* authenticate gets a token for the client's credentials from the first
 * endpoint that answers; mu not held. */
static int authenticate(roster_etcd *c) {
  json_t *b = json_pack("{s:s,s:s}", "name", c->user, "password", c->password);
  char *text = b ? json_dumps(b, JSON_COMPACT) : NULL;
  json_decref(b);
  if (!text)
    return roster_error_set(ROSTER_ENOMEM, "%s: out of memory", c->name);
  int rc = ROSTER_ECONN, grpc;
  json_t *r = NULL;
  for (size_t k = 0; k < c->n_ep; k++) {
    bool next;
    rc = one(c, (atomic_load(&c->cur) + k) % c->n_ep, "/v3/auth/authenticate",
             text, c->headers, &r, &next, &grpc);
    if (!rc || !next)
      break;
  }
  memset(text, 0, strlen(text)); /* it held the password */
  free(text);
  if (rc)
    return roster__err_wrap(rc, "%s: authentication as user '%s' failed",
                            c->name, c->user);
  const char *t = json_string_value(json_object_get(r, "token"));
  char *tok = t ? roster_mem_strdup(t) : NULL;
  json_decref(r);
  if (!tok)
    return roster_error_set(
        ROSTER_EPROTO, "%s: authentication answered without a token", c->name);
  pthread_mutex_lock(&c->mu);
  roster_mem_free(c->token);
  c->token = tok;
  pthread_mutex_unlock(&c->mu);
  return ROSTER_OK;
}

struct curl_slist *roster__etcd_headers(roster_etcd *c) {
  pthread_mutex_lock(&c->mu);
  bool need = c->user && !c->token;
  pthread_mutex_unlock(&c->mu);
  if (need && authenticate(c))
    return NULL;
  struct curl_slist *l =
      curl_slist_append(NULL, "Content-Type: application/json");
  pthread_mutex_lock(&c->mu);
  if (l && c->token) {
    size_t n = strlen(c->token) + 16;
    char *hdr = roster_mem_alloc(n);
    struct curl_slist *l2 = NULL;
    if (hdr) {
      snprintf(hdr, n, "Authorization: %s", c->token);
      l2 = curl_slist_append(l, hdr);
      roster_mem_free(hdr);
    }
    if (!l2) {
      curl_slist_free_all(l);
      l = NULL;
    }
  }
  pthread_mutex_unlock(&c->mu);
  if (!l)
    roster_error_set(ROSTER_ENOMEM, "%s: out of memory", c->name);
  return l;
}

void roster__etcd_token_drop(roster_etcd *c) {
  pthread_mutex_lock(&c->mu);
  roster_mem_free(c->token);
  c->token = NULL;
  pthread_mutex_unlock(&c->mu);
}

int roster__etcd_call(roster_etcd *c, const char *path, json_t *body,
                      json_t **reply) {
  *reply = NULL;
  char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  json_decref(body);
  if (!text) {
    atomic_fetch_add(&c->errors, 1);
    return roster_error_set(ROSTER_ENOMEM, "%s: out of memory", c->name);
  }
  unsigned start = atomic_load(&c->cur);
  int rc = ROSTER_ECONN;
  char first[1024] = "";
  bool reauth = c->user != NULL; /* one new token per call at most */
  for (size_t k = 0; k < c->n_ep; k++) {
    size_t i = (start + k) % c->n_ep;
    bool next;
    int grpc = 0;
    struct curl_slist *h = roster__etcd_headers(c);
    rc = h ? one(c, i, path, text, h, reply, &next, &grpc) : roster_last_code();
    curl_slist_free_all(h);
    if (!h)
      break;
    if (rc == ROSTER_EREMOTE && grpc == 16 && reauth) {
      /* the token expired (or the member restarted): a new one, again */
      reauth = false;
      roster__etcd_token_drop(c);
      k--;
      continue;
    }
    if (!rc) {
      if (k)
        atomic_store(&c->cur, (unsigned)i);
      break;
    }
    if (!next)
      break;
    if (!first[0])
      snprintf(first, sizeof first, "%s", roster_last_error());
    if (k + 1 < c->n_ep)
      atomic_fetch_add(&c->failovers, 1);
  }
  free(text);
  if (rc) {
    atomic_fetch_add(&c->errors, 1);
    if (first[0] && c->n_ep > 1 && rc != ROSTER_EREMOTE)
      rc = roster_error_set(rc, "%s (and every other endpoint; first: %s)",
                            roster_last_error(), first);
  }
  return rc;
}

/* ---- keys ---- */

static json_t *jb64(const void *p, size_t n) {
  char *s = roster__etcd_b64(p, n);
  json_t *j = s ? json_string(s) : NULL;
  roster_mem_free(s);
  return j;
}

static json_t *ji64(int64_t v) {
  char s[32];
  snprintf(s, sizeof s, "%lld", (long long)v);
  return json_string(s);
}

static json_t *key_body(const char *key, bool prefix) {
  json_t *b = json_object();
  json_object_set_new(b, "key", jb64(key, strlen(key)));
  if (prefix) {
    size_t n;
    char *end = roster__etcd_prefix_end(key, &n);
    if (end)
      json_object_set_new(b, "range_end", jb64(end, n));
    roster_mem_free(end);
  }
  return b;
}

static int check_key(roster_etcd *c, const char *key, const char *fn) {
  if (!c || !key)
    return roster_error_set(ROSTER_EINVAL, "%s: client or key is NULL", fn);
  return ROSTER_OK;
}

static int read_keys(roster_etcd *c, const char *key, bool prefix,
                     roster_etcd_kvs *out) {
  int rc = check_key(c, key, "roster_etcd_get");
  if (rc || !out)
    return rc ? rc : roster_error_set(ROSTER_EINVAL, "etcd read: out is NULL");
  memset(out, 0, sizeof *out);
  json_t *r;
  rc = roster__etcd_call(c, "/v3/kv/range", key_body(key, prefix), &r);
  if (rc)
    return rc;
  rc = roster__etcd_kvs_read(r, out);
  json_decref(r);
  return rc;
}

int roster_etcd_get(roster_etcd *c, const char *key, roster_etcd_kvs *out) {
  return read_keys(c, key, false, out);
}

int roster_etcd_range(roster_etcd *c, const char *prefix,
                      roster_etcd_kvs *out) {
  return read_keys(c, prefix, true, out);
}

static json_t *put_body(const char *key, const void *value, size_t len,
                        int64_t lease) {
  json_t *b = key_body(key, false);
  json_object_set_new(b, "value", jb64(value ? value : "", value ? len : 0));
  if (lease)
    json_object_set_new(b, "lease", ji64(lease));
  return b;
}

int roster_etcd_put(roster_etcd *c, const char *key, const void *value,
                    size_t len, int64_t lease, int64_t *revision) {
  int rc = check_key(c, key, "roster_etcd_put");
  if (rc)
    return rc;
  json_t *r;
  rc = roster__etcd_call(c, "/v3/kv/put", put_body(key, value, len, lease), &r);
  if (!rc && revision)
    *revision =
        roster__etcd_i64(json_object_get(r, "header"), "revision", NULL);
  json_decref(r);
  return rc;
}

int roster_etcd_delete(roster_etcd *c, const char *key, bool prefix,
                       int64_t *deleted) {
  int rc = check_key(c, key, "roster_etcd_delete");
  if (rc)
    return rc;
  json_t *r;
  rc = roster__etcd_call(c, "/v3/kv/deleterange", key_body(key, prefix), &r);
  if (!rc && deleted)
    *deleted = roster__etcd_i64(r, "deleted", NULL);
  json_decref(r);
  return rc;
}

/* txn: compare one revision field of key, then ops; *ok = succeeded and
 * *reply the answer. */
static int txn(roster_etcd *c, const char *key, const char *target,
               const char *field, int64_t rev, json_t *success, json_t *failure,
               bool *ok, json_t **reply) {
  json_t *cmp = json_object();
  json_object_set_new(cmp, "target", json_string(target));
  json_object_set_new(cmp, "result", json_string("EQUAL"));
  json_object_set_new(cmp, "key", jb64(key, strlen(key)));
  json_object_set_new(cmp, field, ji64(rev));
  json_t *b = json_object();
  json_object_set_new(b, "compare", json_pack("[o]", cmp));
  json_object_set_new(b, "success", success);
  if (failure)
    json_object_set_new(b, "failure", failure);
  int rc = roster__etcd_call(c, "/v3/kv/txn", b, reply);
  if (!rc)
    *ok = json_is_true(json_object_get(*reply, "succeeded"));
  return rc;
}

int roster_etcd_create(roster_etcd *c, const char *key, const void *value,
                       size_t len, int64_t lease, bool *created,
                       int64_t *revision) {
  int rc = check_key(c, key, "roster_etcd_create");
  if (rc || !created)
    return rc ? rc
              : roster_error_set(ROSTER_EINVAL,
                                 "roster_etcd_create: created is NULL");
  json_t *r = NULL;
  bool ok = false;
  rc =
      txn(c, key, "CREATE", "create_revision", 0,
          json_pack("[{s:o}]", "request_put", put_body(key, value, len, lease)),
          json_pack("[{s:o}]", "request_range", key_body(key, false)), &ok, &r);
  if (rc)
    return rc;
  int64_t head =
      roster__etcd_i64(json_object_get(r, "header"), "revision", NULL);
  *created = ok;
  if (revision)
    *revision = head;
  if (!ok) {
    /* The holder. When it is this very write (an answer lost, the
     * request sent again on another endpoint), its lease is ours: that
     * is a creation too. */
    json_t *rr = json_object_get(
        json_object_get(json_array_get(json_object_get(r, "responses"), 0),
                        "response_range"),
        "kvs");
    roster_etcd_kv kv;
    if (json_array_size(rr) &&
        !roster__etcd_kv_read(json_array_get(rr, 0), &kv)) {
      if (revision)
        *revision = kv.create_revision;
      *created = lease && kv.lease == lease && kv.value_len == len &&
                 (!len || !memcmp(kv.value, value, len));
      roster__etcd_kv_clear(&kv);
    }
  }
  json_decref(r);
  return ROSTER_OK;
}

int roster_etcd_delete_if(roster_etcd *c, const char *key,
                          int64_t create_revision, bool *deleted) {
  int rc = check_key(c, key, "roster_etcd_delete_if");
  if (rc)
    return rc;
  json_t *r = NULL;
  bool ok = false;
  rc = txn(c, key, "CREATE", "create_revision", create_revision,
           json_pack("[{s:o}]", "request_delete_range", key_body(key, false)),
           NULL, &ok, &r);
  json_decref(r);
  if (!rc && deleted)
    *deleted = ok;
  return rc;
}

/* ---- leases ---- */

int roster_etcd_lease_grant(roster_etcd *c, int64_t ttl_s, int64_t *id) {
  if (!c || !id || ttl_s <= 0)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_etcd_lease_grant: a client, an id and a "
                            "TTL of 1 s or more are needed");
  json_t *r;
  int rc = roster__etcd_call(c, "/v3/lease/grant",
                             json_pack("{s:I}", "TTL", (json_int_t)ttl_s), &r);
  if (rc)
    return rc;
  *id = roster__etcd_i64(r, "ID", NULL);
  json_decref(r);
  if (!*id)
    return roster_error_set(ROSTER_EPROTO, "%s: a lease grant without an ID",
                            c->name);
  return ROSTER_OK;
}

int roster_etcd_lease_keepalive(roster_etcd *c, int64_t id, int64_t *ttl_s) {
  if (!c || !id)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_etcd_lease_keepalive: no client or lease");
  json_t *r;
  int rc = roster__etcd_call(c, "/v3/lease/keepalive",
                             json_pack("{s:o}", "ID", ji64(id)), &r);
  if (rc)
    return rc;
  int64_t ttl = roster__etcd_i64(json_object_get(r, "result"), "TTL", NULL);
  json_decref(r);
  if (ttl_s)
    *ttl_s = ttl;
  if (ttl <= 0)
    return roster_error_set(ROSTER_ENOENT,
                            "%s: lease %llx is gone (a keepalive answered "
                            "without a TTL)",
                            c->name, (unsigned long long)id);
  return ROSTER_OK;
}

int roster_etcd_lease_revoke(roster_etcd *c, int64_t id) {
  if (!c || !id)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_etcd_lease_revoke: no client or lease");
  json_t *r;
  int rc = roster__etcd_call(c, "/v3/lease/revoke",
                             json_pack("{s:o}", "ID", ji64(id)), &r);
  json_decref(r);
  return rc;
}

int roster_etcd_stats_get(roster_etcd *c, roster_etcd_stats *out) {
  if (!c || !out)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_etcd_stats_get: NULL argument");
  out->requests = atomic_load(&c->requests);
  out->failovers = atomic_load(&c->failovers);
  out->errors = atomic_load(&c->errors);
  out->watch_restarts = atomic_load(&c->watch_restarts);
  out->resyncs = atomic_load(&c->resyncs);
  out->lease_regrants = atomic_load(&c->regrants);
  out->last_revision = atomic_load(&c->last_revision);
  int64_t t = atomic_load(&c->last_contact_ns);
  out->last_contact_ms = t ? (roster__etcd_now_ns() - t) / 1000000 : -1;
  out->endpoint = atomic_load(&c->cur);
  return ROSTER_OK;
}
