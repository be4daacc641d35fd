/*
 * etcd_impl.h: the etcd module's private pieces: the client's layout, the
 * one call that posts a JSON body to the gateway with failover, and the
 * codec (base64, int64 strings, kvs, watch stream messages) that the fuzz
 * harness drives.
 */
#ifndef ROSTER_ETCD_IMPL_H
#define ROSTER_ETCD_IMPL_H

#include <roster.h>
#include <roster/etcd.h>

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define ETCD_MAX_ENDPOINTS 16
#define ETCD_POOL 8

struct roster_etcd {
  char *name;
  size_t n_ep;
  char *ep[ETCD_MAX_ENDPOINTS]; /* "http://host:port", no user info */
  int64_t timeout_ms, connect_timeout_ms;
  atomic_uint cur; /* the endpoint that answered last */
  pthread_mutex_t mu;
  void *pool[ETCD_POOL]; /* idle CURL easy handles */
  size_t n_pool;
  struct curl_slist *headers;
  char *user, *password; /* etcd authentication, from an endpoint's user
                            info; NULL: none */
  char *token;           /* under mu; NULL: not authenticated yet */
  atomic_uint_fast64_t requests, failovers, errors, watch_restarts, resyncs,
      regrants;
  atomic_int_fast64_t last_revision, last_contact_ns;
};

/* roster__etcd_now_ns: CLOCK_MONOTONIC in ns. */
int64_t roster__etcd_now_ns(void);
/* roster__etcd_nap waits ms on cv (a roster__cond_init_mono condition,
 * with mu) or until *stop is set and cv signalled; returns *stop. The
 * session's and the watch's threads sleep through it. */
bool roster__etcd_nap(pthread_mutex_t *mu, pthread_cond_t *cv,
                      atomic_bool *stop, int64_t ms);

/* roster__etcd_contact notes an answer from etcd carrying revision rev
 * (0: none). */
void roster__etcd_contact(roster_etcd *c, int64_t rev);

/* roster__etcd_call posts body (taken: freed here) to path ("/v3/kv/put")
 * on the endpoints in turn, and stores the answer's JSON (the first line
 * of it) in *reply. ROSTER_OK, or a roster code with the sentence. */
int roster__etcd_call(roster_etcd *c, const char *path, json_t *body,
                      json_t **reply);

/* roster__etcd_headers: the request headers (Content-Type, and the
 * Authorization token once authenticated, getting one first when the
 * client has credentials), a new list the caller frees with
 * curl_slist_free_all; NULL with the detail set when authentication
 * failed or memory ran out. roster__etcd_token_drop forgets the token (an
 * answer said it is no longer valid). */
struct curl_slist *roster__etcd_headers(roster_etcd *c);
void roster__etcd_token_drop(roster_etcd *c);

/* roster__etcd_easy / roster__etcd_easy_put: a CURL easy handle set for
 * endpoint i's path, from the pool, and back. */
void *roster__etcd_easy(roster_etcd *c);
void roster__etcd_easy_put(roster_etcd *c, void *easy);

/* ---- codec (codec.c) ---- */

/* roster__etcd_b64 returns a new base64 string of n bytes (NULL: no
 * memory); roster__etcd_unb64 decodes s into a new buffer (NUL-terminated,
 * *n its length), NULL when s is not base64 or no memory. */
char *roster__etcd_b64(const void *p, size_t n);
char *roster__etcd_unb64(const char *s, size_t *n);

/* roster__etcd_i64 reads an int64 field that etcd writes as a string (or
 * a number); missing or malformed: 0, *ok false when ok is not NULL. */
int64_t roster__etcd_i64(json_t *obj, const char *key, bool *ok);

/* roster__etcd_kv_read fills kv from a JSON kv object: ROSTER_OK or
 * ROSTER_EPROTO. roster__etcd_kv_clear frees its strings. */
int roster__etcd_kv_read(json_t *o, roster_etcd_kv *kv);
void roster__etcd_kv_clear(roster_etcd_kv *kv);

/* roster__etcd_kvs_read fills out from a range answer ("kvs", header). */
int roster__etcd_kvs_read(json_t *reply, roster_etcd_kvs *out);

/* roster__etcd_error: the sentence and code of an etcd error object
 * ({"error":"...","code":N} or {"error":{"grpc_code":N,"message":...}});
 * ROSTER_OK when reply holds no error. */
int roster__etcd_error(const char *who, json_t *reply, int http_status,
                       int *grpc);
const char *roster__etcd_grpc_name(int code);

/* roster__etcd_wmsg: one message of a watch stream. */
typedef enum etcd_wkind {
  ETCD_W_CREATED,   /* the watch is set up */
  ETCD_W_EVENTS,    /* events of one or more revisions */
  ETCD_W_PROGRESS,  /* a header only */
  ETCD_W_COMPACTED, /* canceled: the revision wanted was compacted */
  ETCD_W_CANCELED,  /* canceled for another reason */
  ETCD_W_ERROR,     /* {"error":...}: the stream is ending */
} etcd_wkind;

typedef struct roster__etcd_wmsg {
  etcd_wkind kind;
  int64_t revision;         /* the header's */
  int64_t compact_revision; /* ETCD_W_COMPACTED */
  size_t n;                 /* events */
  roster_etcd_event *ev;    /* n events, kv in kvs */
  roster_etcd_kv *kvs;
  int grpc;      /* ETCD_W_ERROR */
  char *message; /* ETCD_W_ERROR, ETCD_W_CANCELED */
} roster__etcd_wmsg;

/* roster__etcd_wparse reads one line of a watch stream (n bytes, no
 * newline) into m: ROSTER_OK, or ROSTER_EPROTO (detail set) for a line
 * that is not a watch message. roster__etcd_wmsg_clear frees it. */
int roster__etcd_wparse(const char *line, size_t n, roster__etcd_wmsg *m);
void roster__etcd_wmsg_clear(roster__etcd_wmsg *m);

/* roster__etcd_lines: a byte stream split on '\n'. */
typedef struct roster__etcd_lines {
  char *buf;
  size_t len, cap, max; /* max: the longest line kept (longer: error) */
} roster__etcd_lines;

/* roster__etcd_lines_feed appends n bytes and calls fn for each complete
 * line (without its '\n'; empty lines skipped); a non-zero return of fn
 * stops and is returned. ROSTER_ERANGE when a line outgrows max,
 * ROSTER_ENOMEM. */
int roster__etcd_lines_feed(roster__etcd_lines *l, const char *p, size_t n,
                            int (*fn)(const char *line, size_t n, void *arg),
                            void *arg);
void roster__etcd_lines_free(roster__etcd_lines *l);

/* roster__etcd_prefix_end: the range_end of a prefix (last byte + 1, with
 * trailing 0xff bytes dropped; "\0" for every key), into a new string of
 * *n bytes. */
char *roster__etcd_prefix_end(const char *prefix, size_t *n);

/* roster__etcd_watch_state: whether w has a stream set up, and ms since
 * its last stream ended (0 while connected, -1: never connected). */
void roster__etcd_watch_state(roster_etcd_watch *w, bool *connected,
                              int64_t *stale_ms);

/* roster__etcd_host_id writes "<hostname>-<pid>" into buf. */
void roster__etcd_host_id(char *buf, size_t cap);

#endif
