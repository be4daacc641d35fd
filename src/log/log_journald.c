/*
 * log_journald.c: the journald sink, speaking systemd-journald's native
 * protocol by hand (no libsystemd): one datagram per line on the unix
 * socket /run/systemd/journal/socket, made of KEY=VALUE lines, or for a
 * value holding a newline (or a NUL) KEY, '\n', its length as 64-bit little
 * endian, the bytes, '\n'.
 *
 * The line's JSON is parsed back (jansson; we wrote it, so it parses) and
 * each top-level key becomes a journal field: msg -> MESSAGE, level ->
 * PRIORITY (syslog's numbers), name -> SYSLOG_IDENTIFIER; time, pid and
 * hostname are left out (journald records its own, trusted ones); any
 * other key is upper-cased with every byte outside [A-Z0-9_] made '_' and
 * "F_" put in front of one that would start with a digit or '_'. Strings
 * are written as they are, other values as compact JSON. A datagram the
 * socket refuses as too large is sent again with PRIORITY and MESSAGE only.
 */
#include "log_impl.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define JOURNALD_SOCKET "/run/systemd/journal/socket"
#define KEY_MAX 64

static int connect_to(int fd, const char *path) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  memcpy(sa.sun_path, path, strlen(path) + 1);
  return connect(fd, (struct sockaddr *)&sa, sizeof sa);
}

int roster__log_journald_open(rl_sink *s, const char *path) {
  if (!path)
    path = JOURNALD_SOCKET;
  struct sockaddr_un sa;
  if (!path[0] || strlen(path) >= sizeof sa.sun_path)
    return roster_error_set(ROSTER_EINVAL,
                            "log sink: journald socket path '%s' is empty or "
                            "longer than %zu bytes",
                            path, sizeof sa.sun_path - 1);
  s->path = roster_mem_strdup(path);
  if (!s->path)
    return roster_error_set(ROSTER_ENOMEM, "log sink: out of memory");
  s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s->fd < 0 || connect_to(s->fd, path) < 0) {
    int e = errno;
    if (s->fd >= 0)
      close(s->fd);
    roster_mem_free(s->path);
    s->path = NULL;
    return roster_error_set(ROSTER_ESYS,
                            "log sink: cannot reach journald at '%s': %s", path,
                            strerror(e));
  }
  return ROSTER_OK;
}

static int priority(int level) {
  if (level >= ROSTER_LOG_FATAL)
    return 2; /* crit */
  if (level >= ROSTER_LOG_ERROR)
    return 3; /* err */
  if (level >= ROSTER_LOG_WARN)
    return 4; /* warning */
  if (level >= ROSTER_LOG_INFO)
    return 6; /* info */
  return 7;   /* debug */
}

static void put_field(rl_buf *b, const char *key, const char *val, size_t n) {
  size_t kl = strlen(key);
  if (memchr(val, '\n', n) || memchr(val, '\0', n)) {
    rl_put(b, key, kl);
    rl_putc(b, '\n');
    unsigned char le[8];
    uint64_t v = n;
    for (int i = 0; i < 8; i++)
      le[i] = (unsigned char)(v >> (8 * i));
    rl_put(b, le, 8);
  } else {
    rl_put(b, key, kl);
    rl_putc(b, '=');
  }
  rl_put(b, val, n);
  rl_putc(b, '\n');
}

/* journal_key turns a JSON key into a journal field name. */
static void journal_key(char out[KEY_MAX + 1], const char *k) {
  size_t o = 0;
  unsigned char c0 = (unsigned char)k[0];
  if (!c0 || c0 == '_' || (c0 >= '0' && c0 <= '9')) {
    out[o++] = 'F';
    out[o++] = '_';
  }
  for (const unsigned char *p = (const unsigned char *)k; *p && o < KEY_MAX;
       p++) {
    unsigned char c = *p;
    if (c >= 'a' && c <= 'z')
      c = (unsigned char)(c - 'a' + 'A');
    else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
      c = '_';
    out[o++] = (char)c;
  }
  out[o] = '\0';
}

static int dump_cb(const char *buf, size_t size, void *data) {
  rl_buf *b = data;
  rl_put(b, buf, size);
  return b->oom ? -1 : 0;
}

static ssize_t send_dgram(rl_sink *s, const char *p, size_t n) {
  ssize_t w = send(s->fd, p, n, MSG_NOSIGNAL);
  if (w < 0 &&
      (errno == ECONNREFUSED || errno == ENOTCONN || errno == ENOENT)) {
    /* journald restarted: its socket is a new one */
    if (connect_to(s->fd, s->path) == 0)
      w = send(s->fd, p, n, MSG_NOSIGNAL);
  }
  return w;
}

int roster__log_journald_send(rl_sink *s, int level, const char *line,
                              size_t len) {
  json_t *root = json_loadb(line, len, JSON_ALLOW_NUL, NULL);
  if (!root || !json_is_object(root)) {
    json_decref(root);
    errno = EINVAL;
    return -1;
  }
  char stack[2048];
  rl_buf b;
  roster__log_buf_init(&b, stack, sizeof stack);
  char pr[2] = {(char)('0' + priority(level)), 0};
  put_field(&b, "PRIORITY", pr, 1);
  const char *msg = "";
  size_t msg_len = 0;
  json_t *m = json_object_get(root, "msg");
  if (json_is_string(m)) {
    msg = json_string_value(m);
    msg_len = json_string_length(m);
  }
  put_field(&b, "MESSAGE", msg, msg_len);
  size_t short_len = b.len; /* PRIORITY and MESSAGE */
  const char *key;
  json_t *v;
  json_object_foreach(root, key, v) {
    if (!strcmp(key, "msg") || !strcmp(key, "level") || !strcmp(key, "time") ||
        !strcmp(key, "pid") || !strcmp(key, "hostname"))
      continue;
    char jk[KEY_MAX + 1];
    if (!strcmp(key, "name") && json_is_string(v))
      snprintf(jk, sizeof jk, "SYSLOG_IDENTIFIER");
    else
      journal_key(jk, key);
    if (json_is_string(v)) {
      put_field(&b, jk, json_string_value(v), json_string_length(v));
    } else {
      char vs[512];
      rl_buf vb;
      roster__log_buf_init(&vb, vs, sizeof vs);
      json_dump_callback(v, dump_cb, &vb, JSON_COMPACT | JSON_ENCODE_ANY);
      put_field(&b, jk, vb.p, vb.len);
      roster__log_buf_fini(&vb);
    }
  }
  json_decref(root);
  int rc = 0;
  if (b.oom) {
    errno = ENOMEM;
    rc = -1;
  } else {
    ssize_t w = send_dgram(s, b.p, b.len);
    if (w < 0 && errno == EMSGSIZE)
      w = send_dgram(s, b.p, short_len);
    rc = w < 0 ? -1 : 0;
  }
  roster__log_buf_fini(&b);
  return rc;
}
