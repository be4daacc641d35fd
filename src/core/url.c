/*
 * url.c: service URLs (roster/url.h). Parsing is liburiparser's (RFC 3986);
 * this file only splits user info, decodes the parts into roster-owned
 * strings and checks the port. Redaction works on the text itself, so that
 * it also covers a URL too broken to parse (the one an error message is
 * most likely to quote).
 */
#include "roster_impl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <uriparser/Uri.h>

/* dup_range copies [first, after) into a new string, percent-decoded when
 * decode is set. NULL on allocation failure. */
static char *dup_range(const char *first, const char *after, bool decode) {
  size_t n = first && after > first ? (size_t)(after - first) : 0;
  char *s = roster__strndup(n ? first : "", n);
  if (s && decode)
    uriUnescapeInPlaceExA(s, URI_FALSE, URI_BR_DONT_TOUCH);
  return s;
}

static bool range_set(const UriTextRangeA *t) { return t->first != NULL; }

void roster_url_free(roster_url *u) {
  if (!u)
    return;
  roster__free(u->scheme);
  roster__free(u->user);
  roster__free(u->password);
  roster__free(u->host);
  roster__free(u->path);
  for (size_t i = 0; i < u->nquery; i++) {
    roster__free(u->query_keys[i]);
    roster__free(u->query_values[i]);
  }
  roster__free(u->query_keys);
  roster__free(u->query_values);
  roster__free(u->fragment);
  roster__free(u);
}

/* fill copies the parsed parts into u. false on allocation failure. */
static bool fill(roster_url *u, const UriUriA *p) {
  u->scheme = dup_range(p->scheme.first, p->scheme.afterLast, false);
  if (!u->scheme)
    return false;
  for (char *c = u->scheme; *c; c++)
    *c = (char)tolower((unsigned char)*c);
  if (range_set(&p->userInfo)) {
    const char *f = p->userInfo.first, *a = p->userInfo.afterLast;
    const char *colon = memchr(f, ':', (size_t)(a - f));
    u->user = dup_range(f, colon ? colon : a, true);
    if (!u->user)
      return false;
    if (colon && !(u->password = dup_range(colon + 1, a, true)))
      return false;
  }
  if (range_set(&p->hostText) && p->hostText.afterLast > p->hostText.first &&
      !(u->host = dup_range(p->hostText.first, p->hostText.afterLast, true)))
    return false;
  /* the path: segments joined by '/', rooted when absolute or when an
   * authority ("//host") precedes it */
  size_t cap = 1;
  for (const UriPathSegmentA *s = p->pathHead; s; s = s->next)
    cap += (size_t)(s->text.afterLast - s->text.first) + 1;
  u->path = roster__malloc(cap);
  if (!u->path)
    return false;
  size_t o = 0;
  bool rooted = p->absolutePath || range_set(&p->hostText);
  for (const UriPathSegmentA *s = p->pathHead; s; s = s->next) {
    if (rooted || s != p->pathHead)
      u->path[o++] = '/';
    size_t n = (size_t)(s->text.afterLast - s->text.first);
    memcpy(u->path + o, s->text.first, n);
    o += n;
  }
  u->path[o] = '\0';
  uriUnescapeInPlaceExA(u->path, URI_FALSE, URI_BR_DONT_TOUCH);
  if (range_set(&p->fragment) &&
      !(u->fragment = dup_range(p->fragment.first, p->fragment.afterLast,
                                true)))
    return false;
  if (range_set(&p->query) && p->query.afterLast > p->query.first) {
    UriQueryListA *list = NULL;
    int count = 0;
    if (uriDissectQueryMallocExA(&list, &count, p->query.first,
                                 p->query.afterLast, URI_FALSE,
                                 URI_BR_DONT_TOUCH) != URI_SUCCESS)
      return false;
    u->query_keys = roster__calloc((size_t)count + 1, sizeof(char *));
    u->query_values = roster__calloc((size_t)count + 1, sizeof(char *));
    bool ok = u->query_keys && u->query_values;
    for (UriQueryListA *q = list; ok && q; q = q->next) {
      u->query_keys[u->nquery] = roster__strndup(q->key, strlen(q->key));
      u->query_values[u->nquery] =
          roster__strndup(q->value ? q->value : "",
                          q->value ? strlen(q->value) : 0);
      ok = u->query_keys[u->nquery] && u->query_values[u->nquery];
      u->nquery++;
    }
    uriFreeQueryListA(list);
    if (!ok)
      return false;
  }
  return true;
}

int roster_url_parse(const char *text, roster_url **out) {
  if (out)
    *out = NULL;
  if (!out)
    return roster__err(ROSTER_EINVAL, "roster_url_parse: out is NULL");
  if (!text || !*text)
    return roster__err(ROSTER_EINVAL, "URL is %s", text ? "empty" : "NULL");
  size_t len = strnlen(text, ROSTER_URL_MAX + 1);
  if (len > ROSTER_URL_MAX)
    return roster__err(ROSTER_EINVAL, "URL is longer than %d bytes",
                       ROSTER_URL_MAX);
  char shown[256];
  roster_url_redact(text, shown, sizeof shown);
  UriUriA p;
  const char *err = NULL;
  if (uriParseSingleUriExA(&p, text, text + len, &err) != URI_SUCCESS) {
    size_t col = err && err >= text ? (size_t)(err - text) + 1 : 1;
    return roster__err(ROSTER_EPARSE, "malformed URL '%s': syntax error at "
                       "column %zu", shown, col);
  }
  int rc = ROSTER_OK;
  if (!range_set(&p.scheme)) {
    rc = roster__err(ROSTER_EPARSE, "malformed URL '%s': no scheme (want "
                     "e.g. postgresql://host/db)", shown);
  } else if (range_set(&p.portText) &&
             p.portText.afterLast > p.portText.first) {
    long port = 0;
    for (const char *c = p.portText.first; c < p.portText.afterLast; c++)
      port = port > 65535 ? port : port * 10 + (*c - '0');
    if (port < 1 || port > 65535)
      rc = roster__err(ROSTER_EPARSE, "malformed URL '%s': port %.*s is "
                       "outside 1..65535", shown,
                       (int)(p.portText.afterLast - p.portText.first),
                       p.portText.first);
  }
  roster_url *u = NULL;
  if (rc == ROSTER_OK) {
    u = roster__calloc(1, sizeof *u);
    if (!u || !fill(u, &p)) {
      roster_url_free(u);
      u = NULL;
      rc = roster__err(ROSTER_ENOMEM, "out of memory");
    }
  }
  if (u && range_set(&p.portText))
    for (const char *c = p.portText.first; c < p.portText.afterLast; c++)
      u->port = u->port * 10 + (*c - '0');
  uriFreeUriMembersA(&p);
  *out = u;
  return rc;
}

const char *roster_url_query(const roster_url *u, const char *key) {
  const char *v = NULL;
  if (u && key)
    for (size_t i = 0; i < u->nquery; i++)
      if (strcmp(u->query_keys[i], key) == 0)
        v = u->query_values[i];
  return v;
}

static bool contains_ci(const char *s, size_t n, const char *needle) {
  size_t m = strlen(needle);
  for (size_t i = 0; i + m <= n; i++)
    if (strncasecmp(s + i, needle, m) == 0)
      return true;
  return false;
}

static bool secret_n(const char *k, size_t n) {
  static const char *const words[] = {"password", "passwd", "pwd", "secret",
                                      "token", "apikey", "api_key",
                                      "credential"};
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
    if (contains_ci(k, n, words[i]))
      return true;
  if (n == 3 && strncasecmp(k, "key", 3) == 0)
    return true;
  return n > 4 && strncasecmp(k + n - 3, "key", 3) == 0 &&
         (k[n - 4] == '_' || k[n - 4] == '.' || k[n - 4] == '-');
}

bool roster_url_secret_key(const char *key) {
  return key && secret_n(key, strlen(key));
}

/* out appends n bytes of s to buf (cap), keeping it NUL-terminated. */
static void out(char *buf, size_t cap, size_t *o, const char *s, size_t n) {
  if (*o + 1 >= cap)
    return;
  if (n > cap - 1 - *o)
    n = cap - 1 - *o;
  memcpy(buf + *o, s, n);
  *o += n;
  buf[*o] = '\0';
}

char *roster_url_redact(const char *text, char *buf, size_t cap) {
  if (!buf || !cap)
    return buf;
  buf[0] = '\0';
  if (!text)
    return buf;
  size_t len = strnlen(text, ROSTER_URL_MAX * 4);
  size_t qpos = strcspn(text, "?#");
  size_t o = 0, i = 0;
  const char *auth = strstr(text, "://");
  if (auth && (size_t)(auth - text) < qpos) {
    size_t start = (size_t)(auth - text) + 3;
    size_t at = 0;
    for (size_t k = start; k < qpos; k++)
      if (text[k] == '@')
        at = k;
    if (at) {
      const char *colon = memchr(text + start, ':', at - start);
      if (colon) {
        size_t c = (size_t)(colon - text);
        out(buf, cap, &o, text, c + 1);
        out(buf, cap, &o, "***", 3);
        i = at;
      }
    }
  }
  out(buf, cap, &o, text + i, qpos - i);
  i = qpos;
  if (i < len && text[i] == '?') {
    /* the query: key=value pairs split on '&' (or ';') */
    out(buf, cap, &o, "?", 1);
    i++;
    while (i < len && text[i] != '#') {
      size_t end = i + strcspn(text + i, "&;#");
      const char *eq = memchr(text + i, '=', end - i);
      if (eq && secret_n(text + i, (size_t)(eq - (text + i)))) {
        out(buf, cap, &o, text + i, (size_t)(eq - (text + i)) + 1);
        out(buf, cap, &o, "***", 3);
      } else {
        out(buf, cap, &o, text + i, end - i);
      }
      i = end;
      if (i < len && text[i] != '#') {
        out(buf, cap, &o, text + i, 1);
        i++;
      }
    }
  }
  if (i < len)
    out(buf, cap, &o, text + i, len - i);
  return buf;
}
