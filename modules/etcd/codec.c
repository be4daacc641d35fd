/*
 * codec.c: what the etcd module reads and writes besides HTTP: base64,
 * the int64 fields etcd writes as strings, kv objects, error objects, and
 * the messages of a watch stream with the splitting of the stream into
 * lines (chunk boundaries need not fall between messages). Pure
 * functions; fuzzed by fuzz/fuzz_etcd.c.
 */
#include "etcd_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char b64c[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *roster__etcd_b64(const void *p, size_t n) {
  const unsigned char *s = p;
  char *o = roster_mem_alloc(4 * ((n + 2) / 3) + 1), *d = o;
  if (!o)
    return NULL;
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)s[i] << 16;
    if (i + 1 < n)
      v |= (unsigned)s[i + 1] << 8;
    if (i + 2 < n)
      v |= s[i + 2];
    *d++ = b64c[(v >> 18) & 63];
    *d++ = b64c[(v >> 12) & 63];
    *d++ = i + 1 < n ? b64c[(v >> 6) & 63] : '=';
    *d++ = i + 2 < n ? b64c[v & 63] : '=';
  }
  *d = '\0';
  return o;
}

static int b64v(unsigned char ch) {
  if (ch >= 'A' && ch <= 'Z')
    return ch - 'A';
  if (ch >= 'a' && ch <= 'z')
    return ch - 'a' + 26;
  if (ch >= '0' && ch <= '9')
    return ch - '0' + 52;
  if (ch == '+' || ch == '-')
    return 62;
  if (ch == '/' || ch == '_')
    return 63;
  return -1;
}

char *roster__etcd_unb64(const char *s, size_t *n) {
  size_t len = strlen(s);
  while (len && s[len - 1] == '=')
    len--;
  if (len % 4 == 1)
    return NULL;
  char *o = roster_mem_alloc(len / 4 * 3 + 3);
  if (!o)
    return NULL;
  size_t j = 0;
  unsigned acc = 0;
  int bits = 0;
  for (size_t i = 0; i < len; i++) {
    int v = b64v((unsigned char)s[i]);
    if (v < 0) {
      roster_mem_free(o);
      return NULL;
    }
    acc = (acc << 6) | (unsigned)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      o[j++] = (char)((acc >> bits) & 0xff);
    }
  }
  o[j] = '\0';
  *n = j;
  return o;
}

int64_t roster__etcd_i64(json_t *obj, const char *key, bool *ok) {
  json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
  if (ok)
    *ok = true;
  if (json_is_integer(v))
    return (int64_t)json_integer_value(v);
  if (json_is_string(v)) {
    const char *s = json_string_value(v);
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (*s && !*end && !errno)
      return x;
  }
  if (ok)
    *ok = v == NULL;
  return 0;
}

void roster__etcd_kv_clear(roster_etcd_kv *kv) {
  roster_mem_free(kv->key);
  roster_mem_free(kv->value);
  memset(kv, 0, sizeof *kv);
}

static char *b64_field(json_t *o, const char *key, size_t *n, bool *ok) {
  json_t *v = json_object_get(o, key);
  if (!v) { /* etcd leaves out empty values */
    *n = 0;
    char *e = roster_mem_calloc(1, 1);
    *ok = e != NULL;
    return e;
  }
  char *d =
      json_is_string(v) ? roster__etcd_unb64(json_string_value(v), n) : NULL;
  *ok = d != NULL;
  return d;
}

int roster__etcd_kv_read(json_t *o, roster_etcd_kv *kv) {
  memset(kv, 0, sizeof *kv);
  if (!json_is_object(o))
    return roster_error_set(ROSTER_EPROTO, "etcd: a kv that is not an object");
  bool ok1, ok2, ok3 = true, t;
  size_t kn;
  kv->key = b64_field(o, "key", &kn, &ok1);
  kv->value = b64_field(o, "value", &kv->value_len, &ok2);
  kv->create_revision = roster__etcd_i64(o, "create_revision", &t);
  ok3 &= t;
  kv->mod_revision = roster__etcd_i64(o, "mod_revision", &t);
  ok3 &= t;
  kv->version = roster__etcd_i64(o, "version", &t);
  ok3 &= t;
  kv->lease = roster__etcd_i64(o, "lease", &t);
  ok3 &= t;
  if (!ok1 || !ok2 || !ok3 || strlen(kv->key) != kn) {
    roster__etcd_kv_clear(kv);
    return roster_error_set(ROSTER_EPROTO,
                            "etcd: a kv with a malformed key, value or "
                            "revision");
  }
  return ROSTER_OK;
}

void roster_etcd_kvs_free(roster_etcd_kvs *kvs) {
  if (!kvs)
    return;
  for (size_t i = 0; i < kvs->count; i++)
    roster__etcd_kv_clear(&kvs->items[i]);
  roster_mem_free(kvs->items);
  memset(kvs, 0, sizeof *kvs);
}

int roster__etcd_kvs_read(json_t *reply, roster_etcd_kvs *out) {
  memset(out, 0, sizeof *out);
  out->revision =
      roster__etcd_i64(json_object_get(reply, "header"), "revision", NULL);
  json_t *a = json_object_get(reply, "kvs");
  if (!a)
    return ROSTER_OK;
  if (!json_is_array(a))
    return roster_error_set(ROSTER_EPROTO, "etcd: kvs is not an array");
  size_t n = json_array_size(a);
  out->items = roster_mem_calloc(n ? n : 1, sizeof *out->items);
  if (!out->items)
    return roster_error_set(ROSTER_ENOMEM, "etcd: out of memory");
  for (size_t i = 0; i < n; i++) {
    int rc = roster__etcd_kv_read(json_array_get(a, i), &out->items[i]);
    if (rc) {
      roster_etcd_kvs_free(out);
      return rc;
    }
    out->count++;
  }
  return ROSTER_OK;
}

static const char *const grpc_names[] = {"OK",
                                         "Canceled",
                                         "Unknown",
                                         "InvalidArgument",
                                         "DeadlineExceeded",
                                         "NotFound",
                                         "AlreadyExists",
                                         "PermissionDenied",
                                         "ResourceExhausted",
                                         "FailedPrecondition",
                                         "Aborted",
                                         "OutOfRange",
                                         "Unimplemented",
                                         "Internal",
                                         "Unavailable",
                                         "DataLoss",
                                         "Unauthenticated"};

const char *roster__etcd_grpc_name(int code) {
  return code >= 0 && code <= 16 ? grpc_names[code] : "?";
}

int roster__etcd_error(const char *who, json_t *reply, int http_status,
                       int *grpc) {
  json_t *e = json_object_get(reply, "error");
  *grpc = 0;
  if (!e && http_status == 200)
    return ROSTER_OK;
  const char *msg = NULL;
  if (json_is_object(e)) { /* a stream's error */
    *grpc = (int)roster__etcd_i64(e, "grpc_code", NULL);
    msg = json_string_value(json_object_get(e, "message"));
  } else {
    *grpc = (int)roster__etcd_i64(reply, "code", NULL);
    msg = json_string_value(json_object_get(reply, "message"));
    if (!msg)
      msg = json_string_value(e);
  }
  if (!msg)
    msg = "(no message)";
  return roster_error_set(*grpc == 4 ? ROSTER_ETIMEDOUT : ROSTER_EREMOTE,
                          "%s: etcd error %d (%s), HTTP %d: %s", who, *grpc,
                          roster__etcd_grpc_name(*grpc), http_status, msg);
}

void roster__etcd_wmsg_clear(roster__etcd_wmsg *m) {
  for (size_t i = 0; i < m->n; i++)
    roster__etcd_kv_clear(&m->kvs[i]);
  roster_mem_free(m->kvs);
  roster_mem_free(m->ev);
  roster_mem_free(m->message);
  memset(m, 0, sizeof *m);
}

static int wparse_events(json_t *a, roster__etcd_wmsg *m) {
  size_t n = json_array_size(a);
  m->kvs = roster_mem_calloc(n ? n : 1, sizeof *m->kvs);
  m->ev = roster_mem_calloc(n ? n : 1, sizeof *m->ev);
  if (!m->kvs || !m->ev)
    return roster_error_set(ROSTER_ENOMEM, "etcd: out of memory");
  for (size_t i = 0; i < n; i++) {
    json_t *e = json_array_get(a, i);
    json_t *t = json_object_get(e, "type");
    int kind = 0;
    if (t && (!json_is_string(t) || (strcmp(json_string_value(t), "PUT") &&
                                     strcmp(json_string_value(t), "DELETE"))))
      return roster_error_set(ROSTER_EPROTO, "etcd: an event of unknown type");
    if (t && !strcmp(json_string_value(t), "DELETE"))
      kind = 1;
    int rc = roster__etcd_kv_read(json_object_get(e, "kv"), &m->kvs[i]);
    if (rc)
      return rc;
    m->ev[i].kind = kind;
    m->ev[i].kv = &m->kvs[i];
    m->n++;
  }
  return ROSTER_OK;
}

int roster__etcd_wparse(const char *line, size_t n, roster__etcd_wmsg *m) {
  memset(m, 0, sizeof *m);
  json_error_t je;
  json_t *j = json_loadb(line, n, 0, &je);
  if (!j || !json_is_object(j)) {
    json_decref(j);
    return roster_error_set(ROSTER_EPROTO,
                            "etcd: a watch message that is not a JSON object");
  }
  int rc = ROSTER_OK, grpc;
  json_t *r = json_object_get(j, "result");
  if (json_object_get(j, "error")) {
    m->kind = ETCD_W_ERROR;
    rc = roster__etcd_error("etcd watch", j, 200, &grpc);
    m->grpc = grpc;
    m->message = roster_mem_strdup(roster_last_error());
    rc = m->message ? ROSTER_OK : ROSTER_ENOMEM;
    goto out;
  }
  if (!json_is_object(r)) {
    rc = roster_error_set(ROSTER_EPROTO,
                          "etcd: a watch message without a result");
    goto out;
  }
  bool ok;
  m->revision = roster__etcd_i64(json_object_get(r, "header"), "revision", &ok);
  m->compact_revision = roster__etcd_i64(r, "compact_revision", NULL);
  json_t *ev = json_object_get(r, "events");
  if (!ok || (ev && !json_is_array(ev))) {
    rc = roster_error_set(ROSTER_EPROTO, "etcd: a malformed watch message");
    goto out;
  }
  if (json_is_true(json_object_get(r, "canceled"))) {
    m->kind = m->compact_revision > 0 ? ETCD_W_COMPACTED : ETCD_W_CANCELED;
    const char *why = json_string_value(json_object_get(r, "cancel_reason"));
    m->message = roster_mem_strdup(why ? why : "");
    rc = m->message ? ROSTER_OK : ROSTER_ENOMEM;
  } else if (json_is_true(json_object_get(r, "created"))) {
    m->kind = ETCD_W_CREATED;
  } else if (ev && json_array_size(ev)) {
    m->kind = ETCD_W_EVENTS;
    rc = wparse_events(ev, m);
  } else {
    m->kind = ETCD_W_PROGRESS;
  }
out:
  json_decref(j);
  if (rc)
    roster__etcd_wmsg_clear(m);
  return rc;
}

int roster__etcd_lines_feed(roster__etcd_lines *l, const char *p, size_t n,
                            int (*fn)(const char *line, size_t n, void *arg),
                            void *arg) {
  while (n) {
    const char *nl = memchr(p, '\n', n);
    size_t take = nl ? (size_t)(nl - p) : n;
    if (l->len + take > l->max)
      return roster_error_set(
          ROSTER_ERANGE, "etcd: a watch message longer than %zu bytes", l->max);
    if (l->len + take + 1 > l->cap) {
      size_t cap = l->cap ? l->cap : 4096;
      while (cap < l->len + take + 1)
        cap *= 2;
      char *b = roster_mem_realloc(l->buf, cap);
      if (!b)
        return roster_error_set(ROSTER_ENOMEM, "etcd: out of memory");
      l->buf = b;
      l->cap = cap;
    }
    memcpy(l->buf + l->len, p, take);
    l->len += take;
    p += take;
    n -= take;
    if (!nl)
      break;
    p++;
    n--;
    size_t len = l->len;
    l->len = 0;
    if (len) {
      int rc = fn(l->buf, len, arg);
      if (rc)
        return rc;
    }
  }
  return ROSTER_OK;
}

void roster__etcd_lines_free(roster__etcd_lines *l) {
  roster_mem_free(l->buf);
  l->buf = NULL;
  l->len = l->cap = 0;
}

char *roster__etcd_prefix_end(const char *prefix, size_t *n) {
  size_t len = strlen(prefix);
  char *e = roster_mem_alloc(len + 2);
  if (!e)
    return NULL;
  memcpy(e, prefix, len + 1);
  while (len && (unsigned char)e[len - 1] == 0xff)
    len--;
  if (!len) { /* every key: range_end "\0" */
    e[0] = '\0';
    *n = 1;
    return e;
  }
  e[len - 1] = (char)((unsigned char)e[len - 1] + 1);
  e[len] = '\0';
  *n = len;
  return e;
}

void roster__etcd_host_id(char *buf, size_t cap) {
  char host[256] = "host";
  gethostname(host, sizeof host - 1);
  host[sizeof host - 1] = '\0';
  snprintf(buf, cap, "%s-%ld", host, (long)getpid());
}
