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
  roster__free(u->hosts);
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
      !(u->fragment =
            dup_range(p->fragment.first, p->fragment.afterLast, true)))
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
      u->query_values[u->nquery] = roster__strndup(
          q->value ? q->value : "", q->value ? strlen(q->value) : 0);
      ok = u->query_keys[u->nquery] && u->query_values[u->nquery];
      u->nquery++;
    }
    uriFreeQueryListA(list);
    if (!ok)
      return false;
  }
  return true;
}

/* at_outside finds the last '@' of text (len bytes) when it is not the
 * end of the parsed user info (an '@' in the path, query or fragment);
 * NULL if there is none. */
static const char *at_outside(const char *text, size_t len, const UriUriA *p) {
  const char *at = NULL;
  for (size_t i = len; i-- > 0;)
    if (text[i] == '@') {
      at = text + i;
      break;
    }
  if (at && range_set(&p->userInfo) && p->userInfo.afterLast == at)
    return NULL;
  return at;
}

/* part_of names the part of a parsed URL that holds position c. */
static const char *part_of(const UriUriA *p, const char *c) {
  const struct {
    const UriTextRangeA *r;
    const char *name;
  } parts[] = {{&p->userInfo, "user info"},
               {&p->hostText, "host"},
               {&p->query, "query"},
               {&p->fragment, "fragment"}};
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
    if (range_set(parts[i].r) && c >= parts[i].r->first &&
        c < parts[i].r->afterLast)
      return parts[i].name;
  return "path";
}

/* nul_escape finds "%00" in text: it always decodes to a NUL (a '%' is
 * never part of an earlier escape), which would cut the decoded part. */
static const char *nul_escape(const char *text, size_t len) {
  for (size_t i = 0; i + 2 < len; i++)
    if (text[i] == '%' && text[i + 1] == '0' && text[i + 2] == '0')
      return text + i;
  return NULL;
}

/* authority_start: the redactor's view of where an authority starts, and
 * after what (*kind): nothing, a leading "//", or "scheme://". Below. */
enum { AUTH_NONE, AUTH_SLASHES, AUTH_SCHEME };
static size_t authority_start(const char *t, size_t len, int *kind);

/* multi_host finds a host list in text's authority ("h1:p1,h2:p2", after
 * any user info): its span in *first, *end; false when the authority
 * names one host. The authority is the one right after "scheme://", as
 * the redactor sees it: a "://" later in the text (in a query value) is
 * not one. */
static bool multi_host(const char *text, size_t len, size_t *first,
                       size_t *end) {
  int kind;
  size_t a = authority_start(text, len, &kind), e = a;
  if (kind != AUTH_SCHEME)
    return false;
  while (e < len && text[e] != '/' && text[e] != '?' && text[e] != '#')
    e++;
  size_t h = a;
  for (size_t i = a; i < e; i++)
    if (text[i] == '@')
      h = i + 1;
  if (!memchr(text + h, ',', e - h))
    return false;
  *first = h;
  *end = e;
  return true;
}

static int parse_one(const char *text, roster_url **out);

int roster_url_parse(const char *text, roster_url **out) {
  if (out)
    *out = NULL;
  if (!out || !text || !*text ||
      strnlen(text, ROSTER_URL_MAX + 1) > ROSTER_URL_MAX)
    return parse_one(text, out);
  size_t len = strlen(text), h, e;
  if (!multi_host(text, len, &h, &e))
    return parse_one(text, out);
  /* A host list (etcd://h1:p1,h2:p2/..., as libpq and MongoDB write
   * them): the URL is parsed once per host, each checked as a URL of
   * its own would be (syntax, port, %00), and the result is the first
   * host's, with the list kept whole in hosts for the driver. */
  char shown[256];
  for (const char *c = text + h; c < text + e; c++)
    if (*c == ',' && (c == text + h || c + 1 == text + e || c[1] == ','))
      return roster__err(ROSTER_EPARSE,
                         "malformed URL '%s': an empty host in its host list",
                         roster__url_shown(text, shown, sizeof shown));
  char *one = roster__malloc(len + 1);
  char *hosts = roster__strndup(text + h, e - h);
  if (!one || !hosts) {
    roster__free(one);
    roster__free(hosts);
    return roster__err(ROSTER_ENOMEM, "out of memory");
  }
  int rc = ROSTER_OK;
  for (size_t b = h; rc == ROSTER_OK && b < e;) {
    const char *c = memchr(text + b, ',', e - b);
    size_t n = (c ? (size_t)(c - text) : e) - b;
    memcpy(one, text, h); /* scheme, "//", user info */
    memcpy(one + h, text + b, n);
    memcpy(one + h + n, text + e, len - e + 1);
    roster_url *u = NULL;
    rc = parse_one(one, b == h ? out : &u);
    roster_url_free(u);
    b += n + 1;
  }
  roster__free(one);
  if (rc == ROSTER_OK) {
    (*out)->hosts = hosts;
  } else {
    roster_url_free(*out);
    *out = NULL;
    roster__free(hosts);
  }
  return rc;
}

static int parse_one(const char *text, roster_url **out) {
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
  /* every error below quotes the text redacted for an error (no password,
   * no query value) and escaped */
  char shown[256];
  UriUriA p;
  const char *err = NULL;
  if (uriParseSingleUriExA(&p, text, text + len, &err) != URI_SUCCESS) {
    size_t col = err && err >= text ? (size_t)(err - text) + 1 : 1;
    return roster__err(ROSTER_EPARSE,
                       "malformed URL '%s': syntax error at column %zu",
                       roster__url_shown(text, shown, sizeof shown), col);
  }
  int rc = ROSTER_OK;
  const char *at = at_outside(text, len, &p);
  const char *nul = nul_escape(text, len);
  if (!range_set(&p.scheme)) {
    rc = roster__err(ROSTER_EPARSE,
                     "malformed URL '%s': no scheme (want e.g. "
                     "postgresql://host/db)",
                     roster__url_shown(text, shown, sizeof shown));
  } else if (at) {
    /* Most likely a password holding '/', '?' or '#' unencoded (the rest
     * of it went to the path, query or fragment), or a forgotten "//". */
    rc = roster__err(ROSTER_EPARSE,
                     "malformed URL '%s': an '@' that does not end the user "
                     "info (write scheme://user:password@host/..., with "
                     "'/', '?', '#' and '@' in a password or path "
                     "percent-encoded: %%2F, %%3F, %%23, %%40)",
                     roster__url_shown(text, shown, sizeof shown));
  } else if (nul) {
    rc = roster__err(ROSTER_EPARSE,
                     "malformed URL '%s': an encoded NUL (%%00) in its %s "
                     "at column %zu",
                     roster__url_shown(text, shown, sizeof shown),
                     part_of(&p, nul), (size_t)(nul - text) + 1);
  } else if (range_set(&p.portText) &&
             p.portText.afterLast > p.portText.first) {
    long port = 0;
    for (const char *c = p.portText.first; c < p.portText.afterLast; c++)
      port = port > 65535 ? port : port * 10 + (*c - '0');
    if (port < 1 || port > 65535)
      rc = roster__err(
          ROSTER_EPARSE, "malformed URL '%s': port %.*s is outside 1..65535",
          roster__url_shown(text, shown, sizeof shown),
          (int)(p.portText.afterLast - p.portText.first), p.portText.first);
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
  static const char *const words[] = {
      "password", "passwd",  "pwd",        "secret",       "token",
      "apikey",   "api_key", "credential", "authorization"};
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

/* ---- redaction ---- */

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* secret_raw: the query name raw[0..n), percent-decoded as the parser
 * decodes it, looks like a secret. When in doubt (a name too long to
 * decode here, or one holding an encoded NUL) it does. */
static bool secret_raw(const char *raw, size_t n) {
  char k[512];
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (m == sizeof k)
      return true;
    int h, l;
    if (raw[i] == '%' && i + 2 < n && (h = hexval(raw[i + 1])) >= 0 &&
        (l = hexval(raw[i + 2])) >= 0) {
      k[m] = (char)(h << 4 | l);
      if (!k[m])
        return true;
      m++;
      i += 2;
    } else {
      k[m++] = raw[i];
    }
  }
  return secret_n(k, m);
}

static bool scheme_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

/* The redactor's view of where an authority starts (declared above). */
static size_t authority_start(const char *t, size_t len, int *kind) {
  *kind = AUTH_NONE;
  if (len >= 2 && t[0] == '/' && t[1] == '/') {
    *kind = AUTH_SLASHES;
    return 2;
  }
  size_t i = 0;
  if (len && ((t[0] >= 'a' && t[0] <= 'z') || (t[0] >= 'A' && t[0] <= 'Z')))
    while (i < len && scheme_char(t[i]))
      i++;
  if (i && i + 3 <= len && memcmp(t + i, "://", 3) == 0) {
    *kind = AUTH_SCHEME;
    return i + 3;
  }
  return 0;
}

/* parsed_userinfo: text parses as a URL whose user info is exactly
 * [a, at): only then is its user name shown. */
static bool parsed_userinfo(const char *text, size_t len, size_t a, size_t at) {
  UriUriA p;
  if (uriParseSingleUriExA(&p, text, text + len, NULL) != URI_SUCCESS)
    return false;
  bool ok = range_set(&p.userInfo) && p.userInfo.first == text + a &&
            p.userInfo.afterLast == text + at;
  uriFreeUriMembersA(&p);
  return ok;
}

/* stars appends "***" to buf (as much of it as fits). */
static void stars_out(char *buf, size_t cap, size_t *o) {
  size_t n = cap - 1 - *o < 3 ? cap - 1 - *o : 3;
  memcpy(buf + *o, "***", n);
  *o += n;
  buf[*o] = '\0';
}

/* redact is roster_url_redact; with all_values, every query value is
 * hidden, not only a secret one (the form errors quote). */
static char *redact(const char *text, char *buf, size_t cap, bool all_values) {
  if (!buf || !cap)
    return buf;
  buf[0] = '\0';
  if (!text)
    return buf;
  size_t len = strlen(text);
  int kind;
  size_t a = authority_start(text, len, &kind);
  /* The user info: from the authority's start to the last '@' of the
   * text (a password may hold '/', '?', '#' or '@' unencoded). */
  size_t hs = 0, he = 0; /* hidden [hs, he) */
  bool stars = false;    /* "***" even if [hs, he) is empty */
  size_t at = len;
  for (size_t i = len; i-- > a;)
    if (text[i] == '@') {
      at = i;
      break;
    }
  if (at < len) {
    const char *colon = memchr(text + a, ':', at - a);
    if (kind == AUTH_SCHEME && parsed_userinfo(text, len, a, at)) {
      /* a well-formed URL: the user stays, the password goes */
      if (colon) {
        hs = (size_t)(colon - text) + 1;
        he = at;
        stars = true;
      }
    } else {
      /* anything else: the user info goes whole */
      hs = a;
      he = at;
    }
  } else if (kind != AUTH_NONE) {
    /* No '@': "host:port" whose port is not a number (or is empty with
     * more text after it) may be "user:password" with the host
     * forgotten; hide from there on. */
    size_t e = a + strcspn(text + a, "/?#");
    size_t i = a;
    if (i < e && text[i] == '[')
      while (i < e && text[i] != ']')
        i++;
    const char *colon = memchr(text + i, ':', e - i);
    if (colon) {
      size_t c = (size_t)(colon - text) + 1;
      bool digits = c < e || e == len;
      for (size_t j = c; j < e; j++)
        digits = digits && text[j] >= '0' && text[j] <= '9';
      if (!digits) {
        hs = c;
        he = len;
      }
    }
  }
  /* The query (and fragment). Each name is percent-decoded before it is
   * judged, twice: as the parser splits the query (a pair runs from '&'
   * to '&', its name to the first '='), and from the last '?', '#' or ';'
   * (which some clients take as separators). A hidden value runs to the
   * next '&', through '?', '#' and ';' (a password may hold them). */
  size_t q = a + strcspn(text + a, "?#");
  size_t o = 0, run = 0, pname = 0, ename = 0;
  bool in_query = false, hid = false;
  bool pval = false, phide = false; /* the parser's pair */
  bool eval = false, ehide = false; /* the pair from the last separator */
  for (size_t i = 0; i <= len; i++) {
    bool hide = false;
    if (i < len && in_query) {
      char c = text[i];
      if (c == '&') {
        pval = eval = false;
        pname = ename = i + 1;
      } else {
        hide = (pval && phide) || (eval && ehide);
        if (c == '=' && !pval) {
          pval = true;
          phide = all_values || secret_raw(text + pname, i - pname);
        }
        if (c == '=' && !eval) {
          eval = true;
          ehide = all_values || secret_raw(text + ename, i - ename);
        } else if ((c == '?' || c == '#' || c == ';') && !(eval && ehide)) {
          eval = false;
          ename = i + 1;
        }
      }
    } else if (i == q && i < len) {
      in_query = true;
      pname = ename = i + 1;
    }
    if (i < len && i >= hs && i < he)
      hide = true;
    if (stars && i == hs && hs == he) {
      /* an empty password: "***" all the same */
      if (roster__escape(buf, cap, &o, text + run, i - run, false) < i - run)
        return buf;
      run = i;
      stars_out(buf, cap, &o);
    }
    if (hide || i == len) {
      if (roster__escape(buf, cap, &o, text + run, i - run, false) < i - run)
        return buf;
      run = i + 1;
      if (hide && !hid)
        stars_out(buf, cap, &o);
    }
    hid = hide;
  }
  return buf;
}

char *roster_url_redact(const char *text, char *buf, size_t cap) {
  return redact(text, buf, cap, false);
}

char *roster__url_shown(const char *text, char *buf, size_t cap) {
  return redact(text, buf, cap, true);
}
