/*
 * names.c: the name rule (roster__check_name), the registry's not-found
 * detail, composed lazily (roster__err_lazy) so that a lookup miss stays
 * cheap, and the live-registry set that lets it be composed safely: the
 * detail is asked for later, maybe after the registry is gone.
 */
#include "roster_impl.h"

#include <stdio.h>

_Static_assert(ROSTER_NAME_MAX == 255, "base/error.c keeps names this long");

int roster__check_name(const char *what, const char *name, size_t *len,
                       bool allow_null) {
  if (!name) {
    if (allow_null) {
      *len = 0;
      return ROSTER_OK;
    }
    return roster__err(ROSTER_EINVAL, "%s is NULL", what);
  }
  size_t n = strnlen(name, ROSTER_NAME_MAX + 1);
  if (n == 0)
    return roster__err(ROSTER_EINVAL, "%s is empty", what);
  if (n > ROSTER_NAME_MAX) {
    char q[40];
    return roster__err(ROSTER_EINVAL, "%s '%s' is longer than %d bytes", what,
                       roster__quote(q, sizeof q, name, 24), ROSTER_NAME_MAX);
  }
  *len = n;
  return ROSTER_OK;
}

/* ---- live registries ---- */

static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static roster *live_head;

void roster__live_add(roster *r) {
  pthread_mutex_lock(&live_lock);
  r->live_next = live_head;
  live_head = r;
  pthread_mutex_unlock(&live_lock);
}

void roster__live_remove(roster *r) {
  pthread_mutex_lock(&live_lock);
  for (roster **p = &live_head; *p; p = &(*p)->live_next) {
    if (*p == r) {
      *p = r->live_next;
      break;
    }
  }
  pthread_mutex_unlock(&live_lock);
}

/* live_check_lock: r is still the registry with serial; if so, returns
 * with live_lock held (the caller unlocks). */
static bool live_check_lock(roster *r, uint64_t serial) {
  pthread_mutex_lock(&live_lock);
  for (roster *p = live_head; p; p = p->live_next)
    if (p == r && p->serial == serial)
      return true;
  pthread_mutex_unlock(&live_lock);
  return false;
}

/* compose_missing: the not-found sentence, with the names the namespace
 * holds while the registry lives, else the bare sentence. */
static void compose_missing(void *obj, uint64_t serial, const char *ns,
                            const char *name, size_t name_len, char *buf,
                            size_t cap) {
  roster *r = obj;
  if (live_check_lock(r, serial)) {
    roster__describe_missing(r, ns, name, buf, cap);
    pthread_mutex_unlock(&live_lock);
    return;
  }
  char qn[96], qs[96];
  snprintf(buf, cap, "service '%s' not found in namespace '%s'",
           roster__quote(qn, sizeof qn, name, name_len),
           roster__quote(qs, sizeof qs, ns, strlen(ns)));
}

int roster__err_notfound(roster *r, const char *ns, size_t ns_len,
                         const char *name, size_t name_len) {
  return roster__err_lazy(ROSTER_ENOENT, compose_missing, r, r->serial, ns,
                          ns_len, name, name_len);
}
