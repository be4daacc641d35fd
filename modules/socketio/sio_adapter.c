/*
 * sio_adapter.c: the adapter seam (roster/socketio.h): a server hands its
 * broadcasts to an adapter, which carries them to other nodes; the kinds
 * of adapter a socketio:// service can name in its options.
 *
 * A call into the adapter is bracketed by adapter_users: the caller
 * counts itself in, then loads the pointer (both sequentially
 * consistent); set_adapter swaps the pointer, then waits for the count to
 * be zero. So a caller that saw the former adapter is counted, and its
 * close runs after the call returned. Without an adapter a caller only
 * loads the pointer once, relaxed: the single-node path stays as it was.
 */
#include "sio_impl.h"

#include <sched.h>
#include <string.h>

roster_socketio_adapter *roster__sio_adapter_enter(roster_socketio *io) {
  if (!atomic_load_explicit(&io->adapter, memory_order_relaxed))
    return NULL;
  atomic_fetch_add(&io->adapter_users, 1);
  roster_socketio_adapter *a = atomic_load(&io->adapter);
  if (!a)
    atomic_fetch_sub(&io->adapter_users, 1);
  return a;
}

void roster__sio_adapter_leave(roster_socketio *io) {
  atomic_fetch_sub_explicit(&io->adapter_users, 1, memory_order_release);
}

void roster__sio_adapter_nsp(roster_socketio *io, const char *name) {
  roster_socketio_adapter *a = roster__sio_adapter_enter(io);
  if (!a)
    return;
  if (a->nsp_added)
    a->nsp_added(a->arg, name);
  roster__sio_adapter_leave(io);
}

int roster_socketio_set_adapter(roster_socketio *io,
                                const roster_socketio_adapter *a) {
  if (!io || (a && !a->broadcast))
    return roster_error_set(ROSTER_EINVAL,
                            "roster_socketio_set_adapter: a server, and an "
                            "adapter with a broadcast function or NULL");
  roster_socketio_adapter *na = NULL;
  if (a) {
    if (!(na = roster_mem_calloc(1, sizeof *na)))
      return roster_error_set(ROSTER_ENOMEM, "socketio: out of memory");
    *na = *a;
  }
  roster_socketio_adapter *old = atomic_exchange(&io->adapter, na);
  while (atomic_load_explicit(&io->adapter_users, memory_order_acquire))
    sched_yield();
  if (old) {
    if (old->close)
      old->close(old->arg);
    roster_mem_free(old);
  }
  if (na && na->nsp_added)
    for (roster_socketio_nsp *n =
             atomic_load_explicit(&io->nsps, memory_order_acquire);
         n; n = atomic_load_explicit(&n->next, memory_order_acquire))
      roster__sio_adapter_nsp(io, n->name);
  return ROSTER_OK;
}

/* ---- kinds, for socketio:// options ------------------------------------ */

#define KINDS_MAX 8
static pthread_mutex_t kinds_lock = PTHREAD_MUTEX_INITIALIZER;
static const roster_socketio_adapter_kind *kinds[KINDS_MAX];

int roster_socketio_adapter_kind_register(
    const roster_socketio_adapter_kind *k) {
  if (!k || !k->option || !*k->option || !k->open)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_socketio_adapter_kind_register: a kind "
                            "with an option and an open function");
  int rc = ROSTER_OK;
  pthread_mutex_lock(&kinds_lock);
  size_t i = 0;
  while (i < KINDS_MAX && kinds[i] && kinds[i] != k &&
         strcmp(kinds[i]->option, k->option) != 0)
    i++;
  if (i == KINDS_MAX)
    rc = roster_error_set(ROSTER_ENOMEM, "socketio: %d adapter kinds at most",
                          KINDS_MAX);
  else if (kinds[i] && kinds[i] != k)
    rc = roster_error_set(ROSTER_EEXIST,
                          "socketio: an adapter kind has the option '%s'",
                          k->option);
  else
    kinds[i] = k;
  pthread_mutex_unlock(&kinds_lock);
  return rc;
}

const roster_socketio_adapter_kind *
roster__sio_adapter_kind_find(const char *key) {
  const roster_socketio_adapter_kind *k = NULL;
  pthread_mutex_lock(&kinds_lock);
  for (size_t i = 0; !k && i < KINDS_MAX && kinds[i]; i++) {
    size_t n = strlen(kinds[i]->option);
    if (strncmp(kinds[i]->option, key, n) == 0 &&
        (key[n] == 0 || (key[n] == '_' && key[n + 1])))
      k = kinds[i];
  }
  pthread_mutex_unlock(&kinds_lock);
  return k;
}
