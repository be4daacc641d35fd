/*
 * roster/etcd.h: the etcd module (modules/etcd, library roster_etcd, on
 * libcurl and jansson): a client of etcd v3 through its JSON gateway,
 * service discovery on it (publish local services, mirror remote ones
 * into a registry namespace), leader election, and the claim hook that
 * makes the cron scheduler run each tick of a job on one node only.
 *
 * The client speaks to a list of endpoints (the members of one cluster).
 * A request goes to the member that answered last; when it cannot be
 * reached, or answers "unavailable" (no quorum on that member), the next
 * one is tried, each at most once per request. Keys and values are bytes
 * (C strings in this API: keys are text); etcd's base64 and its int64
 * strings stay inside the module.
 *
 * Errors: a roster code with a sentence (roster_last_error()): ROSTER_ECONN
 * when no endpoint could be reached (the sentence names each endpoint
 * without its credentials and curl's reason), ROSTER_ETIMEDOUT when the
 * answer did not come in time, ROSTER_EREMOTE when etcd answered with an
 * error (its gRPC code and message are kept in the sentence: "etcd
 * error 5 (NotFound): requested lease not found"), ROSTER_EPROTO for an
 * answer that is not etcd's JSON. User info in an endpoint
 * (http://user:pass@host:port) is used to authenticate and never shown.
 *
 * Threads: every call is thread-safe; a client serves any number of
 * threads. Callbacks (watch events, lease loss) run on the module's own
 * threads, named "etcd-watch" and "etcd-lease", with no lock held.
 */
#ifndef ROSTER_ETCD_H
#define ROSTER_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "registry.h"

#ifdef __cplusplus
extern "C" {
#endif

/* roster_etcd: a client of one etcd cluster. Opaque. */
typedef struct roster_etcd roster_etcd;

/* roster_etcd_options: {0} plus endpoints is valid. */
typedef struct roster_etcd_options {
  const char *endpoints;      /* required: "http://h1:p1,http://h2:p2" (the
                                 scheme may be left out: "h1:p1,h2:p2") */
  const char *name;           /* for messages; NULL: "etcd" */
  int64_t timeout_ms;         /* one request on one endpoint; 0: 5000 */
  int64_t connect_timeout_ms; /* 0: 1000 */
} roster_etcd_options;

/* roster_etcd_new makes a client in *out; no I/O. ROSTER_EINVAL for no
 * endpoint, more than 16, or one that is not http(s)://host:port;
 * ROSTER_ENOMEM. *out is NULL on failure. */
ROSTER_EXTERN int roster_etcd_new(const roster_etcd_options *o,
                                  roster_etcd **out);

/* roster_etcd_free frees c (NULL is a no-op). Watches, sessions,
 * publications, mirrors and elections made on it must be freed first. */
ROSTER_EXTERN void roster_etcd_free(roster_etcd *c);

/* ---- keys and values ---- */

/* roster_etcd_kv: one key. key and value are NUL-terminated copies
 * (value may hold NUL bytes: value_len says how many). */
typedef struct roster_etcd_kv {
  char *key;
  char *value;
  size_t value_len;
  int64_t create_revision, mod_revision, version, lease;
} roster_etcd_kv;

/* roster_etcd_kvs: the answer of a read; free with roster_etcd_kvs_free. */
typedef struct roster_etcd_kvs {
  size_t count;
  roster_etcd_kv *items; /* sorted by key */
  int64_t revision;      /* the store's revision the read saw */
} roster_etcd_kvs;
ROSTER_EXTERN void roster_etcd_kvs_free(roster_etcd_kvs *kvs);

/* roster_etcd_get reads one key (count 0 when it does not exist: not an
 * error); roster_etcd_range reads every key starting with prefix. */
ROSTER_EXTERN int roster_etcd_get(roster_etcd *c, const char *key,
                                  roster_etcd_kvs *out);
ROSTER_EXTERN int roster_etcd_range(roster_etcd *c, const char *prefix,
                                    roster_etcd_kvs *out);

/* roster_etcd_put writes key = value (len bytes), bound to lease (0:
 * none); *revision (may be NULL) gets the revision of the write. */
ROSTER_EXTERN int roster_etcd_put(roster_etcd *c, const char *key,
                                  const void *value, size_t len, int64_t lease,
                                  int64_t *revision);

/* roster_etcd_delete deletes key, or every key starting with it when
 * prefix is set; *deleted (may be NULL) gets the count. */
ROSTER_EXTERN int roster_etcd_delete(roster_etcd *c, const char *key,
                                     bool prefix, int64_t *deleted);

/* roster_etcd_create writes key = value bound to lease only if key does
 * not exist (one transaction: compare create_revision = 0). *created gets
 * whether it was written; *revision (may be NULL) the key's
 * create_revision (ours, or the holder's when not created). */
ROSTER_EXTERN int roster_etcd_create(roster_etcd *c, const char *key,
                                     const void *value, size_t len,
                                     int64_t lease, bool *created,
                                     int64_t *revision);

/* roster_etcd_delete_if deletes key only if its create_revision is
 * create_revision (one transaction); *deleted (may be NULL) gets
 * whether it was. */
ROSTER_EXTERN int roster_etcd_delete_if(roster_etcd *c, const char *key,
                                        int64_t create_revision, bool *deleted);

/* ---- leases ---- */

/* roster_etcd_lease_grant grants a lease of ttl_s seconds (etcd's least
 * is 2) into *id. roster_etcd_lease_keepalive renews it once and stores
 * the new TTL in *ttl_s: ROSTER_ENOENT when the lease is gone (etcd
 * answers a keepalive of an unknown lease without a TTL).
 * roster_etcd_lease_revoke ends it, deleting its keys. */
ROSTER_EXTERN int roster_etcd_lease_grant(roster_etcd *c, int64_t ttl_s,
                                          int64_t *id);
ROSTER_EXTERN int roster_etcd_lease_keepalive(roster_etcd *c, int64_t id,
                                              int64_t *ttl_s);
ROSTER_EXTERN int roster_etcd_lease_revoke(roster_etcd *c, int64_t id);

/* roster_etcd_session: a lease kept alive by a thread (a keepalive every
 * ttl/3). When the lease is found gone (expired while etcd was out of
 * reach, or revoked), the session grants a new one and calls on_lease
 * with it, so the owner writes its keys again. Opaque. */
typedef struct roster_etcd_session roster_etcd_session;

/* roster_etcd_lease_fn runs on the session's thread after a new lease
 * was granted (not for the first one); return ROSTER_OK, or a code to be
 * called again at the next keepalive. */
typedef int (*roster_etcd_lease_fn)(roster_etcd_session *s, int64_t lease,
                                    void *arg);

/* roster_etcd_session_new grants a lease of ttl_s seconds and starts its
 * thread. Errors as roster_etcd_lease_grant; ROSTER_ESYS (no thread). */
ROSTER_EXTERN int roster_etcd_session_new(roster_etcd *c, int64_t ttl_s,
                                          roster_etcd_lease_fn on_lease,
                                          void *arg, roster_etcd_session **out);

/* roster_etcd_session_lease returns the session's current lease id. */
ROSTER_EXTERN int64_t roster_etcd_session_lease(roster_etcd_session *s);

/* roster_etcd_session_pause stops (true) or resumes (false) the
 * keepalives, as if the process had stopped: for tests of expiry. */
ROSTER_EXTERN void roster_etcd_session_pause(roster_etcd_session *s,
                                             bool paused);

/* roster_etcd_session_free stops the thread and revokes the lease (its
 * keys are deleted) unless keep_lease is set (then it expires by itself,
 * as when a process dies). NULL is a no-op. */
ROSTER_EXTERN void roster_etcd_session_free(roster_etcd_session *s,
                                            bool keep_lease);

/* ---- watches ---- */

/* roster_etcd_event: one change. kind 0 = put, 1 = delete (then kv has
 * the key and mod_revision only). */
typedef struct roster_etcd_event {
  int kind;
  const roster_etcd_kv *kv;
} roster_etcd_event;

/* roster_etcd_watch_fn gets the events of one revision (n >= 1), in
 * order; roster_etcd_sync_fn gets every key under the prefix when the
 * watch starts and again after etcd compacted the revisions the watch
 * needed (the receiver replaces what it knew). Both run on the watch's
 * thread, never concurrently. */
typedef void (*roster_etcd_watch_fn)(const roster_etcd_event *ev, size_t n,
                                     int64_t revision, void *arg);
typedef void (*roster_etcd_sync_fn)(const roster_etcd_kvs *all, void *arg);

typedef struct roster_etcd_watch roster_etcd_watch;

/* roster_etcd_watch_new reads every key under prefix (sync), then watches
 * it from the revision after that read, on a thread of its own. When the
 * stream breaks (the member stops, the connection drops) the watch goes
 * on from the last revision it delivered + 1 on the next endpoint, so no
 * event is lost or delivered twice. Errors: ROSTER_EINVAL, ROSTER_ESYS;
 * the first read's errors are retried on the thread, not returned. */
ROSTER_EXTERN int roster_etcd_watch_new(roster_etcd *c, const char *prefix,
                                        roster_etcd_watch_fn on_events,
                                        roster_etcd_sync_fn on_sync, void *arg,
                                        roster_etcd_watch **out);

/* roster_etcd_watch_free stops the watch (no callback runs once it
 * returns). Must not be called from its callbacks. NULL is a no-op. */
ROSTER_EXTERN void roster_etcd_watch_free(roster_etcd_watch *w);

/* ---- stats ---- */

/* roster_etcd_stats: counters of a client since roster_etcd_new. */
typedef struct roster_etcd_stats {
  uint64_t requests;       /* HTTP requests sent (every attempt) */
  uint64_t failovers;      /* times a request moved to another endpoint */
  uint64_t errors;         /* calls that returned an error */
  uint64_t watch_restarts; /* watch streams opened again after a break */
  uint64_t resyncs;        /* full reads after a compaction */
  uint64_t lease_regrants; /* leases found gone and granted again */
  int64_t last_revision;   /* the newest revision seen in any answer */
  int64_t last_contact_ms; /* ms since the last answer from etcd (-1:
                              never) */
  unsigned endpoint;       /* index of the endpoint in use */
} roster_etcd_stats;
ROSTER_EXTERN int roster_etcd_stats_get(roster_etcd *c, roster_etcd_stats *out);

/* ---- discovery ---- */

/* Keys: <prefix>/<cluster>/<ns>/<name>/<instance>, prefix "/roster" by
 * default. The value is a JSON object: {"address":..., "port":...,
 * "state":"ready", "meta":{...}, "instance":...}. */

/* roster_etcd_publish_options: one published service. */
typedef struct roster_etcd_publish_options {
  const char *cluster;  /* NULL: "default" */
  const char *prefix;   /* NULL: "/roster" */
  const char *ns;       /* the service's namespace in r; NULL: "default" */
  const char *name;     /* required: the service's name */
  const char *instance; /* NULL: "<hostname>-<pid>-<n>" */
  const char *address;  /* NULL: the host name */
  int port;             /* 0: none */
  const char *meta;     /* a JSON object, or NULL */
  int64_t ttl_s;        /* the lease: 0: 10 */
} roster_etcd_publish_options;

typedef struct roster_etcd_publication roster_etcd_publication;

/* roster_etcd_publish writes the service's key, bound to a session's
 * lease, and keeps it true: when r is not NULL and holds a service
 * (ns, name) in its lifecycle, a state change rewrites the key's state,
 * and the key is deleted while the service is not up (stopped, failed)
 * and written again when it is. A lost lease writes it again. When the
 * process dies the lease expires and the key goes within the TTL.
 * Errors: ROSTER_EINVAL, the client's errors for the first write. */
ROSTER_EXTERN int roster_etcd_publish(roster_etcd *c, roster *r,
                                      const roster_etcd_publish_options *o,
                                      roster_etcd_publication **out);

/* roster_etcd_publication_set_state rewrites the key with state (a
 * roster state name, or any word); "stopped" and "failed" delete it. */
ROSTER_EXTERN int roster_etcd_publication_set_state(roster_etcd_publication *p,
                                                    const char *state);

/* roster_etcd_unpublish deletes the key and revokes the lease, unless
 * keep_lease (then the key stays until the lease expires, as when the
 * process dies). NULL is a no-op. */
ROSTER_EXTERN void roster_etcd_unpublish(roster_etcd_publication *p,
                                         bool keep_lease);

/* roster_etcd_remote: a remote service instance as mirrored into a
 * registry (the entry's instance, of type roster_etcd_remote_type; the
 * entry's metadata is the JSON value from etcd). Read-only, and replaced
 * on every change of the instance: read it inside roster_read_lock, or
 * hold it with roster_acquire. */
typedef struct roster_etcd_remote {
  const char *cluster, *ns, *name, *instance, *address, *state;
  int port;
  int64_t mod_revision;
} roster_etcd_remote;
ROSTER_EXTERN extern const roster_type roster_etcd_remote_type;

/* roster_etcd_mirror_options: what to mirror where. */
typedef struct roster_etcd_mirror_options {
  const char *cluster; /* NULL: "default" */
  const char *prefix;  /* NULL: "/roster" */
  const char *ns;      /* the namespace of r that receives the entries;
                          NULL: "cluster" */
  bool qualify;        /* name entries "<ns>/<name>" (the remote namespace
                          kept); default: "<name>" alone */
} roster_etcd_mirror_options;

typedef struct roster_etcd_mirror roster_etcd_mirror;

/* roster_etcd_mirror_new watches the cluster's services and mirrors each
 * instance into r (which must have duplicate keys: ROSTER_EINVAL
 * otherwise) as one entry of the service's name, with the instance's
 * JSON as metadata: roster_lookup, roster_select, roster_wait_for and
 * listeners work on remote names. Entries are added and removed on the
 * watch's thread. While etcd is out of reach the entries stay as last
 * seen; roster_etcd_mirror_stats tells how stale they are. */
ROSTER_EXTERN int roster_etcd_mirror_new(roster_etcd *c, roster *r,
                                         const roster_etcd_mirror_options *o,
                                         roster_etcd_mirror **out);

/* roster_etcd_mirror_stats: the mirror's view. */
typedef struct roster_etcd_mirror_stats {
  uint64_t instances;  /* entries mirrored now */
  uint64_t arrivals;   /* entries added */
  uint64_t departures; /* entries removed */
  int64_t revision;    /* the last revision applied */
  int64_t stale_ms;    /* ms since the watch last heard from etcd
                          (-1: never) */
  bool connected;      /* a watch stream is open */
} roster_etcd_mirror_stats;
ROSTER_EXTERN int roster_etcd_mirror_stats_get(roster_etcd_mirror *m,
                                               roster_etcd_mirror_stats *out);

/* roster_etcd_mirror_free stops the watch and removes its entries. */
ROSTER_EXTERN void roster_etcd_mirror_free(roster_etcd_mirror *m);

/* ---- election ---- */

typedef struct roster_etcd_election roster_etcd_election;

/* roster_etcd_election_new joins the election `name` of cluster (NULL:
 * "default") as candidate id (its value, e.g. a host name), with a lease
 * of ttl_s (0: 10). Nothing is sent before campaign. */
ROSTER_EXTERN int roster_etcd_election_new(roster_etcd *c, const char *cluster,
                                           const char *name, const char *id,
                                           int64_t ttl_s,
                                           roster_etcd_election **out);

/* roster_etcd_campaign blocks until this candidate leads or timeout_ms
 * passes (<0: no limit): ROSTER_OK (leader), ROSTER_ETIMEDOUT, or the
 * client's error. A leader whose lease is lost stops leading (seen by
 * roster_etcd_is_leader) and must campaign again. */
ROSTER_EXTERN int roster_etcd_campaign(roster_etcd_election *e,
                                       int64_t timeout_ms);

/* roster_etcd_is_leader: whether this candidate holds the leader key. */
ROSTER_EXTERN bool roster_etcd_is_leader(roster_etcd_election *e);

/* roster_etcd_observe stores the current leader's id in buf (cap bytes):
 * ROSTER_ENOENT when there is none. */
ROSTER_EXTERN int roster_etcd_observe(roster_etcd_election *e, char *buf,
                                      size_t cap);

/* roster_etcd_resign gives up leading (deletes the leader key if it is
 * ours); a no-op when not leading. */
ROSTER_EXTERN int roster_etcd_resign(roster_etcd_election *e);

/* roster_etcd_election_free resigns (revoking the lease) unless
 * keep_lease (then the leader key expires, as when the process dies). */
ROSTER_EXTERN void roster_etcd_election_free(roster_etcd_election *e,
                                             bool keep_lease);

/* ---- clustered cron ---- */

/* roster_etcd_cron: the state of roster_etcd_cron_claim (arg). */
typedef struct roster_etcd_cron roster_etcd_cron;

/* roster_etcd_cron_new: claims under /roster/<cluster>/cron/<job>/
 * <scheduled>, each bound to a lease of ttl_s (0: 300) that this object
 * keeps alive (granted by the first claim: no I/O here); node is written
 * as the claim's value. roster_etcd_cron_free leaves the claims to expire
 * with the lease, so that a tick once claimed cannot be claimed again by
 * a node whose clock runs behind. */
ROSTER_EXTERN int roster_etcd_cron_new(roster_etcd *c, const char *cluster,
                                       const char *node, int64_t ttl_s,
                                       roster_etcd_cron **out);
ROSTER_EXTERN void roster_etcd_cron_free(roster_etcd_cron *cc);

/* roster_etcd_cron_claim is roster_sched_options.claim with claim_arg a
 * roster_etcd_cron: 1 when this node created the tick's key (it runs the
 * tick), 0 when another node had, <0 (a roster code, detail set) when
 * etcd could not be asked. Runs on the scheduler's thread. */
ROSTER_EXTERN int roster_etcd_cron_claim(const char *job, int64_t scheduled,
                                         void *arg);

/* ---- driver ---- */

/* roster_etcd_init registers the etcd:// driver: etcd://h1:p1,h2:p2/prefix
 * ?cluster=..&ttl=..&timeout=.. declares a client service (type
 * roster_etcd_type, an instance roster_etcd_find gives). Idempotent. */
ROSTER_EXTERN int roster_etcd_init(void);
ROSTER_EXTERN extern const roster_type roster_etcd_type;
ROSTER_EXTERN int roster_etcd_find(roster *r, const char *ns, const char *name,
                                   roster_etcd **out);

#ifdef __cplusplus
}
#endif

#endif
