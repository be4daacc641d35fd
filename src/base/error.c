/*
 * error.c: error names and messages (from ROSTER_ERRNO_MAP), the per-thread
 * detail behind roster_last_error() (composed lazily when the failure asked
 * for it: roster__err_lazy), and the escaping every detail goes through.
 */
#include "base/base.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/mman.h>

#define DETAIL_MAX 1024
#define LAZY_NAME_MAX                                                          \
  255 /* ROSTER_NAME_MAX: the longest name a registry keeps */

/* A thread's error state. Not a thread-local itself: 1.6 KB of
 * thread-locals would keep libroster.so from loading with dlopen() once
 * its hot thread-locals are initial-exec (see ROSTER__TLS in base.h). Each
 * thread maps a page for it on its first failure and unmaps it when it
 * exits: not from the allocator hooks, because an error must be recordable
 * when the allocator has just failed, and before roster_set_allocator
 * (which a hook allocation would then refuse). A thread that cannot map
 * the page keeps the code alone, and roster_last_error() gives the code's
 * roster_strerror() sentence. */
typedef struct err_state {
  roster__err_compose_fn lazy; /* set: the sentence is not composed yet */
  void *obj;                   /* ... what compose is told */
  uint64_t serial;
  size_t name_len;
  char ns[LAZY_NAME_MAX + 1];
  char name[LAZY_NAME_MAX + 1];
  char detail[DETAIL_MAX];
} err_state;

#define ERR_PAGE ((sizeof(err_state) + 4095) & ~(size_t)4095)

static _Thread_local ROSTER__TLS int tls_code;
static _Thread_local ROSTER__TLS err_state *tls_err; /* NULL: none yet */

static pthread_key_t err_key;
static pthread_once_t err_once = PTHREAD_ONCE_INIT;
static bool err_key_ok;

/* err_unmap runs at the thread's exit (a pthread key destructor). A later
 * destructor that fails maps a page again, and sets the key again, so
 * this runs again (pthread's destructor rounds). */
static void err_unmap(void *page) {
  tls_err = NULL;
  munmap(page, ERR_PAGE);
}

static void err_key_make(void) {
  err_key_ok = pthread_key_create(&err_key, err_unmap) == 0;
}

/* err_map gives the thread its page, or NULL (then only the code is kept). */
__attribute__((noinline)) static err_state *err_map(void) {
  pthread_once(&err_once, err_key_make);
  if (!err_key_ok)
    return NULL;
  void *p = mmap(NULL, ERR_PAGE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return NULL;
  if (pthread_setspecific(err_key, p) != 0) {
    munmap(p, ERR_PAGE);
    return NULL;
  }
  tls_err = p; /* zeroed: no lazy sentence, detail "" */
  return p;
}

static inline err_state *err_get(void) {
  err_state *e = tls_err;
  return ROSTER__LIKELY(e) ? e : err_map();
}

/* ---- escaping ---- */

/* shown_len: the length (2 to 4) of the UTF-8 sequence at s (n bytes left)
 * if it is well formed and encodes a character that may be shown as is;
 * 0 for anything else: a stray or overlong byte, a surrogate, a C1
 * control (U+0080..U+009F), a line or paragraph separator or a bidi
 * override (U+2028..U+202E, U+2066..U+2069). */
static size_t shown_len(const unsigned char *s, size_t n) {
  unsigned c = s[0], cp, min;
  size_t k;
  if (c >= 0xc2 && c <= 0xdf) {
    k = 2, cp = c & 0x1f, min = 0xa0;
  } else if (c >= 0xe0 && c <= 0xef) {
    k = 3, cp = c & 0x0f, min = 0x800;
  } else if (c >= 0xf0 && c <= 0xf4) {
    k = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (n < k)
    return 0;
  for (size_t i = 1; i < k; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = cp << 6 | (s[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
      (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
    return 0;
  return k;
}

size_t roster__escape(char *buf, size_t cap, size_t *o, const char *s, size_t n,
                      bool backslash) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0;
  if (!cap)
    return 0;
  while (i < n) {
    unsigned char c = u[i];
    size_t k = c >= 0x80 ? shown_len(u + i, n - i) : 0;
    bool plain = (c >= 0x20 && c < 0x7f && (c != '\\' || !backslash)) || k;
    size_t w = plain ? (k ? k : 1) : 4;
    if (*o + w + 1 > cap)
      break;
    if (plain) {
      memcpy(buf + *o, s + i, w);
      i += w;
    } else {
      buf[*o] = '\\';
      buf[*o + 1] = 'x';
      buf[*o + 2] = hex[c >> 4];
      buf[*o + 3] = hex[c & 15];
      i++;
    }
    *o += w;
  }
  buf[*o] = '\0';
  return i;
}

const char *roster__quote(char *buf, size_t cap, const char *name, size_t len) {
  size_t o = 0;
  if (cap < 8) {
    if (cap)
      buf[0] = '\0';
    return buf;
  }
  /* room for "..." after the escaped text */
  if (roster__escape(buf, cap - 3, &o, name, len, true) < len)
    memcpy(buf + o, "...", 4);
  return buf;
}

void roster__clean(char *d, size_t cap) {
  size_t n = strlen(d), i = 0;
  while (i < n) {
    unsigned char c = (unsigned char)d[i];
    size_t k = c >= 0x80 ? shown_len((const unsigned char *)d + i, n - i) : 0;
    if (!(c >= 0x20 && c < 0x7f) && !k)
      break;
    i += k ? k : 1;
  }
  if (i == n)
    return;
  char rest[DETAIL_MAX];
  size_t m = n - i < sizeof rest ? n - i : sizeof rest - 1;
  memcpy(rest, d + i, m);
  roster__escape(d, cap, &i, rest, m, false);
}

const char *roster_strerror(int code) {
  switch (code) {
#define X(name, value, msg)                                                    \
  case value:                                                                  \
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
#define X(name, value, msg)                                                    \
  case value:                                                                  \
    return #name;
    ROSTER_ERRNO_MAP(X)
#undef X
  }
  return "UNKNOWN";
}

static int vset(int code, const char *fmt, va_list ap) {
  tls_code = code;
  err_state *e = err_get();
  if (!e)
    return code;
  e->lazy = NULL;
  if (fmt)
    vsnprintf(e->detail, sizeof e->detail, fmt, ap);
  else
    snprintf(e->detail, sizeof e->detail, "%s", roster_strerror(code));
  roster__clean(e->detail, sizeof e->detail);
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
  tls_code = ROSTER_OK;
  err_state *e = tls_err;
  if (e) {
    e->lazy = NULL;
    e->detail[0] = '\0';
  }
}

int roster_last_code(void) { return tls_code; }

int roster__err_lazy(int code, roster__err_compose_fn compose, void *obj,
                     uint64_t serial, const char *ns, size_t ns_len,
                     const char *name, size_t name_len) {
  tls_code = code;
  err_state *e = err_get();
  if (ROSTER__UNLIKELY(!e))
    return code;
  e->lazy = compose;
  e->obj = obj;
  e->serial = serial;
  ns_len = ns_len > LAZY_NAME_MAX ? LAZY_NAME_MAX : ns_len;
  name_len = name_len > LAZY_NAME_MAX ? LAZY_NAME_MAX : name_len;
  roster__copy(e->ns, ns, ns_len); /* inline: a miss records its key */
  e->ns[ns_len] = '\0';
  roster__copy(e->name, name, name_len);
  e->name[name_len] = '\0';
  e->name_len = name_len;
  return code;
}

__attribute__((noinline)) void roster__copy_big(char *d, const char *s,
                                                size_t n) {
  memcpy(d, s, n);
}

const char *roster_last_error(void) {
  err_state *e = tls_err;
  if (!e) /* no failure yet, or no page for its sentence */
    return tls_code == ROSTER_OK ? "" : roster_strerror(tls_code);
  if (e->lazy) {
    roster__err_compose_fn compose = e->lazy;
    e->lazy = NULL;
    compose(e->obj, e->serial, e->ns, e->name, e->name_len, e->detail,
            sizeof e->detail);
  }
  return e->detail;
}

const char *roster_version(void) {
#define S_(x) #x
#define S(x) S_(x)
  return S(ROSTER_VERSION_MAJOR) "." S(ROSTER_VERSION_MINOR) "." S(
      ROSTER_VERSION_PATCH);
#undef S
#undef S_
}

unsigned roster_version_hex(void) { return ROSTER_VERSION_HEX; }
