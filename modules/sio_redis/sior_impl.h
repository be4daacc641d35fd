/*
 * sior_impl.h: the Redis adapter's private structures (roster/sio_redis.h),
 * shared by sior_adapter.c (the adapter, its publishing thread, received
 * broadcasts), sior_request.c (requests across nodes and answers) and
 * sior_service.c (the socketio:// option).
 *
 * Locks: a->lock (the queue, the namespaces), a->rlock (pending
 * requests); never both. None is held across a call into Redis or the
 * server.
 */
#ifndef ROSTER_SIOR_IMPL_H
#define ROSTER_SIOR_IMPL_H

#include <pthread.h>
#include <stdatomic.h>

#include <roster.h>
#include <roster/sio_redis.h>

#include "sior_codec.h"

/* A message to publish, or a namespace to subscribe (channel NULL). */
typedef struct sior_job {
  struct sior_job *next;
  char *channel; /* NULL: subscribe nsp */
  size_t channel_len;
  char *data; /* the payload, or the namespace's name */
  size_t len;
} sior_job;

/* A namespace subscribed: the callbacks' argument. */
typedef struct sior_nsp {
  struct sior_nsp *next;
  roster_sio_redis *a;
  char *name;
  char *bchan; /* "<key>#<nsp>#" */
  size_t bchan_len;
} sior_nsp;

/* A request of this node waiting for answers. */
typedef struct sior_req {
  struct sior_req *next;
  char id[16];
  int type;
  int64_t want, got; /* answers */
  json_t *set;       /* the union: an object used as a set */
} sior_req;

struct roster_sio_redis {
  roster_socketio *io;
  roster_redis *cli;
  roster_ref *ref; /* the client service held (config), or NULL */
  roster_redis_subscriber *sub;
  char *key;
  char uid[13];
  int64_t timeout_ms;
  size_t max_queue;
  roster_sio_redis_server_event_fn on_server_event;
  void *server_event_arg;
  pthread_mutex_t lock; /* the queue, nsps */
  pthread_cond_t cond;
  pthread_t thread;
  bool thread_on, stop;
  sior_job *head, *tail;
  size_t queued;
  sior_nsp *nsps;
  pthread_mutex_t rlock; /* reqs */
  pthread_cond_t rcond;
  sior_req *reqs;
  struct {
    _Atomic uint64_t published, publish_errors, dropped, received, ignored,
        malformed, requests, timed_out, answered;
  } st;
};

#define SIOR_STAT(a, f, n)                                                     \
  atomic_fetch_add_explicit(&(a)->st.f, (n), memory_order_relaxed)

/* sior_adapter.c */
/* roster__sior_queue: a message for the publishing thread (copied).
 * false when it was dropped (over max_queue, out of memory; counted). */
bool roster__sior_queue(roster_sio_redis *a, const char *channel,
                        size_t channel_len, const void *data, size_t len);
/* roster__sior_nsp_find: the subscribed namespace called name, or NULL. */
sior_nsp *roster__sior_nsp_find(roster_sio_redis *a, const char *name);

/* roster__sior_uid writes n (at most 32) random letters and digits and a
 * NUL into out. */
void roster__sior_uid(char *out, size_t n);
/* roster__sior_attach: roster_sio_redis_attach that takes ref (may be
 * NULL) on success, releasing it when the adapter goes; on failure the
 * caller keeps it. */
int roster__sior_attach(roster_socketio *io, roster_redis *cli, roster_ref *ref,
                        const roster_sio_redis_options *o,
                        roster_sio_redis **out);

/* sior_request.c */
/* roster__sior_on_request / _on_response: the request and response
 * channels' callbacks (arg: a sior_nsp). */
void roster__sior_on_request(void *arg, const roster_redis_message *msg);
void roster__sior_on_response(void *arg, const roster_redis_message *msg);
/* roster__sior_chan writes "<key><kind>#<nsp>#" into buf (cap bytes);
 * returns its length, 0 when it does not fit. */
size_t roster__sior_chan(const roster_sio_redis *a, const char *kind,
                         const char *nsp, char *buf, size_t cap);
/* roster__sior_glob_escape writes s[0, n) with the glob's special bytes
 * escaped ('\\'), NUL-terminated, into buf; its length, 0 when it does
 * not fit. */
size_t roster__sior_glob_escape(const char *s, size_t n, char *buf, size_t cap);

#endif
