/*
 * sio_impl.h: the Socket.IO server's private structures (roster/socketio.h),
 * shared by sio_server.c (servers, namespaces, connections, the packets
 * from clients), sio_socket.c (sockets: rooms, disconnects, acks and the
 * timer) and sio_emit.c (encoding and sending).
 *
 * Lifetimes, by reference count:
 *  - a connection (sio_conn) is one Engine.IO session: one reference for
 *    the session (dropped by on_close) and one per socket on it;
 *  - a socket has one for its connection's list while connected, one per
 *    registry entry (dropped by the entry's destroy, after a grace
 *    period), one per timer entry, and any roster_socketio_socket_acquire.
 * Locks, in the order they may be taken: io->room_lock, s->lock,
 * conn->lock; io->setup_lock and io->tlock alone. None is held across a
 * handler or a registry read section's callback that sends.
 */
#ifndef ROSTER_SIO_IMPL_H
#define ROSTER_SIO_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <roster.h>
#include <roster/socketio.h>

#include "eio_server.h"
#include "sio_codec.h"

enum { HOOK_USE, HOOK_ON, HOOK_ANY, HOOK_CONNECT, HOOK_DISCONNECT };

/* A handler; appended under io->setup_lock, read lock-free (published
 * with a release store, never removed before the server is freed). */
typedef struct sio_hook {
  _Atomic(struct sio_hook *) next;
  int kind;
  char *event; /* HOOK_ON */
  void (*fn)(void);
  void *arg;
} sio_hook;

struct roster_socketio_nsp {
  roster_socketio *io;
  _Atomic(struct roster_socketio_nsp *) next;
  char *name;
  _Atomic(sio_hook *) hooks;
  sio_hook *hooks_tail; /* under io->setup_lock */
};

typedef struct sio_conn {
  atomic_int refs;
  roster_socketio *io;
  roster__eio_session *session; /* acquired */
  roster__sio_decoder dec;      /* the I/O thread's */
  pthread_mutex_t lock;         /* socks */
  roster_socketio_socket **socks;
  size_t nsocks, cap;
} sio_conn;

/* A server -> client ack waiting for its answer (under s->lock). */
typedef struct sio_pending {
  struct sio_pending *next;
  int64_t id;
  roster_socketio_ack_fn fn;
  void *arg;
} sio_pending;

struct roster_socketio_socket {
  atomic_int refs;
  roster_socketio *io;
  roster_socketio_nsp *nsp;
  sio_conn *conn; /* a reference */
  char id[ROSTER__EIO_ID_LEN + 1];
  json_t *auth;
  roster_owner *owner;
  atomic_bool connected;
  pthread_mutex_t lock; /* what follows */
  char **rooms;         /* named rooms joined (not id) */
  size_t nrooms, rcap;
  sio_pending *acks;
  int64_t next_ack;
  void *data;
  void (*data_free)(void *);
};

/* The timer's heap entry: a pending ack's deadline. */
typedef struct sio_timer {
  int64_t at;
  roster_socketio_socket *s; /* a reference: the ack id's deadline; or */
  sio_conn *c;               /* a reference: the connect deadline */
  int64_t id;
} sio_timer;

struct roster_socketio {
  roster_socketio_options o;
  char *name, *path;
  roster_httpd *h;
  roster__eio_server *e; /* NULL after stop (io->e_lock) */
  pthread_mutex_t e_lock;
  roster__eio_stats e_last; /* its counters when it went */
  roster *rooms;
  roster_socketio_nsp *root; /* "/" */
  pthread_mutex_t setup_lock;
  _Atomic(roster_socketio_nsp *) nsps;
  pthread_mutex_t room_lock; /* membership changes, st_rooms */
  pthread_mutex_t stop_lock;
  atomic_bool started, stopping, stopped;
  /* the ack timer ("roster-sio") */
  pthread_mutex_t tlock;
  pthread_cond_t tcond;
  pthread_t timer;
  bool timer_on, tstop;
  sio_timer *heap;
  size_t nheap, heapcap;
  roster__sio_limits lim;
  /* the adapter (sio_adapter.c): NULL, or one set_adapter allocated;
   * adapter_users counts the calls into it under way */
  _Atomic(roster_socketio_adapter *) adapter;
  atomic_int adapter_users;
  struct {
    _Atomic uint64_t sockets, sockets_total, refused, rooms, pin, pout, bin,
        bout, dropped, slow, acks_timed_out;
  } st;
};

#define SIO_STAT(io, f, n)                                                     \
  atomic_fetch_add_explicit(&(io)->st.f, (n), memory_order_relaxed)

/* sio_server.c */
roster_socketio_nsp *roster__sio_nsp_find(roster_socketio *io,
                                          const char *name);
void roster__sio_conn_release(sio_conn *c);

/* sio_socket.c */
int roster__sio_socket_new(sio_conn *c, roster_socketio_nsp *nsp, json_t *auth,
                           roster_socketio_socket **out);
/* roster__sio_socket_enter registers s in the room registry and its
 * connection; ROSTER_OK or the registry's error (s is not in). */
int roster__sio_socket_enter(roster_socketio_socket *s);
/* roster__sio_socket_end disconnects s once: the DISCONNECT packet when
 * send_packet, its rooms, its connection's list, on_disconnect hooks,
 * pending acks (ROSTER_ESTATE). Any thread, no lock held. */
void roster__sio_socket_end(roster_socketio_socket *s, const char *reason,
                            bool send_packet);
/* roster__sio_conn_end_all ends every socket of c as
 * roster__sio_socket_end does, each with reason. */
void roster__sio_conn_end_all(sio_conn *c, const char *reason,
                              bool send_packet);
/* roster__sio_ack_answer: the client's ACK for id (I/O thread). */
void roster__sio_ack_answer(roster_socketio_socket *s,
                            const roster__sio_packet *p);
int roster__sio_timer_start(roster_socketio *io);
/* roster__sio_conn_deadline: c is closed if it has no socket after
 * connect_timeout_ms (socket.io's connectTimeout). */
void roster__sio_conn_deadline(roster_socketio *io, sio_conn *c);
void roster__sio_timer_stop(roster_socketio *io);

/* sio_emit.c */
/* roster__sio_send_packet encodes p and sends it to one socket's
 * connection. volatile: ROSTER_EBUSY is a drop (counted); otherwise a
 * full queue ends the connection as a slow consumer. */
int roster__sio_send_packet(roster_socketio_socket *s,
                            const roster__sio_packet *p, bool is_volatile);
/* roster__sio_args_check: args is NULL or an array; the event name is not
 * reserved (ROSTER_EINVAL with why). */
int roster__sio_args_check(const char *fn, const char *event,
                           const json_t *args);
/* roster__sio_bins_in: an encoder's bins from the public ones (up to
 * ROSTER__SIO_BINS_STACK on the stack of the caller: out has that
 * many slots, or is allocated: *heap set, free it). */
#define ROSTER__SIO_BINS_STACK 16
roster__sio_bin *roster__sio_bins_in(const roster_socketio_bin *bins,
                                     size_t nbin, roster__sio_bin *stack,
                                     roster__sio_bin **heap);

/* roster__sio_bins_out puts a decoded packet's attachments into out, as
 * the public type. out has ROSTER__SIO_BINS_STACK slots: a server's
 * decoders take at most io->lim.max_attachments (10) attachments, which
 * roster_socketio_new keeps within it. */
static inline void roster__sio_bins_out(const roster__sio_packet *p,
                                        roster_socketio_bin *out) {
  for (size_t i = 0; i < p->nbin; i++)
    out[i] = (roster_socketio_bin){p->bins[i].p, p->bins[i].len};
}

int64_t roster__sio_now_ms(void);

/* sio_adapter.c */
/* roster__sio_adapter_enter: the adapter, to call, then
 * roster__sio_adapter_leave; NULL (nothing to leave) when there is none.
 * Without an adapter it is one relaxed load. */
roster_socketio_adapter *roster__sio_adapter_enter(roster_socketio *io);
void roster__sio_adapter_leave(roster_socketio *io);
/* roster__sio_adapter_nsp tells the adapter (if any) of namespace name. */
void roster__sio_adapter_nsp(roster_socketio *io, const char *name);
/* roster__sio_adapter_kind_find: the registered kind whose option is key
 * or starts it (followed by '_'), or NULL. */
const roster_socketio_adapter_kind *
roster__sio_adapter_kind_find(const char *key);

#endif /* ROSTER_SIO_IMPL_H */
