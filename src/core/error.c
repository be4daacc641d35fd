/*
 * error.c: error names and messages (from ROSTER_ERRNO_MAP), the per-thread
 * detail behind roster_last_error(), and the live-registry set that lets a
 * "not found" detail be composed lazily and safely.
 */
#include "roster_impl.h"

#include <stdarg.h>
#include <stdio.h>

#define DETAIL_MAX 1024

typedef struct err_state {
  int code;
  bool lazy;             /* a miss whose sentence is not composed yet */
  roster *r;             /* ... in this registry */
  uint64_t serial;       /* ... if it still is the same one */
  char ns[ROSTER_NAME_MAX + 1];
  char name[ROSTER_NAME_MAX + 1];
  char detail[DETAIL_MAX];
} err_state;

static _Thread_local err_state tls_err;

const char *roster_strerror(int code) {
  switch (code) {
#define X(name, value, msg)                                                      \
  case value:                                                                    \
    return msg;
    ROSTER_ERRNO_MAP(X)
#undef X
  }
  return "unknown error";
}

bool roster__err_known(int code) {
  switch (code) {
#define X(name, value, msg)                                                    \
  case value:                                                                  \
    return true;
    ROSTER_ERRNO_MAP(X)
#undef X
  }
  return false;
}

const char *roster_err_name(int code) {
  switch (code) {
#define X(name, value, msg)                                                      \
  case value:                                                                    \
    return #name;
    ROSTER_ERRNO_MAP(X)
#undef X
  }
  return "UNKNOWN";
}

static int vset(int code, const char *fmt, va_list ap) {
  err_state *e = &tls_err;
  e->code = code;
  e->lazy = false;
  if (fmt)
    vsnprintf(e->detail, sizeof e->detail, fmt, ap);
  else
    snprintf(e->detail, sizeof e->detail, "%s", roster_strerror(code));
  return code;
}

int roster__err(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vset(code, fmt, ap);
  va_end(ap);
  return code;
}

int roster_error_set(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vset(code, fmt, ap);
  va_end(ap);
  return code;
}

void roster_error_clear(void) {
  tls_err.code = ROSTER_OK;
  tls_err.lazy = false;
  tls_err.detail[0] = '\0';
}

int roster_last_code(void) { return tls_err.code; }

int roster__err_notfound(roster *r, const char *ns, size_t ns_len,
                         const char *name, size_t name_len) {
  err_state *e = &tls_err;
  e->code = ROSTER_ENOENT;
  e->lazy = true;
  e->r = r;
  e->serial = r->serial;
  memcpy(e->ns, ns, ns_len);
  e->ns[ns_len] = '\0';
  memcpy(e->name, name, name_len);
  e->name[name_len] = '\0';
  return ROSTER_ENOENT;
}

const char *roster_last_error(void) {
  err_state *e = &tls_err;
  if (e->lazy) {
    e->lazy = false;
    if (roster__live_check_lock(e->r, e->serial)) {
      roster__describe_missing(e->r, e->ns, e->name, e->detail,
                               sizeof e->detail);
      roster__live_unlock();
    } else {
      char qn[96], qs[96];
      snprintf(e->detail, sizeof e->detail,
               "service '%s' not found in namespace '%s'",
               roster__quote(qn, sizeof qn, e->name, strlen(e->name)),
               roster__quote(qs, sizeof qs, e->ns, strlen(e->ns)));
    }
  }
  return e->detail;
}

const char *roster__quote(char *buf, size_t cap, const char *name,
                          size_t len) {
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)name[i];
    if (o + 8 >= cap) { /* room for "..." and NUL */
      memcpy(buf + o, "...", 3);
      o += 3;
      break;
    }
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      buf[o++] = (char)c;
    } else if (c >= 0x80) {
      buf[o++] = (char)c; /* keep UTF-8 readable */
    } else {
      o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
    }
  }
  buf[o] = '\0';
  return buf;
}

/* ---- names ---- */

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
    return roster__err(ROSTER_EINVAL,
                       "%s '%s' is longer than %d bytes", what,
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

bool roster__live_check_lock(roster *r, uint64_t serial) {
  pthread_mutex_lock(&live_lock);
  for (roster *p = live_head; p; p = p->live_next)
    if (p == r && p->serial == serial)
      return true; /* caller unlocks */
  pthread_mutex_unlock(&live_lock);
  return false;
}

void roster__live_unlock(void) { pthread_mutex_unlock(&live_lock); }

const char *roster_version(void) {
#define S_(x) #x
#define S(x) S_(x)
  return S(ROSTER_VERSION_MAJOR) "." S(ROSTER_VERSION_MINOR) "." S(
      ROSTER_VERSION_PATCH);
#undef S
#undef S_
}

unsigned roster_version_hex(void) { return ROSTER_VERSION_HEX; }
