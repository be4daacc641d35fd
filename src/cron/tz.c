/*
 * tz.c: time zones from the system's tz database (roster_tz_*), and
 * ISO 8601 formatting and parsing of instants.
 *
 * Zones are read from TZif files (RFC 8536) by roster itself rather than
 * through localtime_r: glibc has no per-zone conversion, only the one
 * process-wide zone that setenv("TZ") + tzset() select, which is neither
 * thread-safe nor something a library may change under its program. A
 * TZif file is small and documented: transitions, their offsets, and a
 * POSIX TZ string for the times after the last one (tz_posix.c). Only the
 * offsets matter here (abbreviations and isdst are not kept). A zone, once
 * loaded, is immutable and cached for the life of the process, so lookups
 * need no lock and a pointer stays valid forever.
 */
#include "cron_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TZIF_MAX (1 << 20) /* a real zone file is a few kilobytes */

static struct roster_tz utc_zone = {.name = (char *)"UTC"};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static roster_tz *cache; /* loaded zones, never freed */

/* ---- spans -------------------------------------------------------- */

void roster__cron_tz_span(const roster_tz *z, int64_t t, rc_span *s) {
  if (!z || z->n == 0) {
    if (z && z->has_tail) {
      roster__cron_posix_span(&z->tail, t, s);
      return;
    }
    *s = (rc_span){INT64_MIN, INT64_MAX, z ? z->off0 : 0};
    return;
  }
  if (t < z->at[0]) {
    *s = (rc_span){INT64_MIN, z->at[0], z->off0};
    return;
  }
  size_t lo = 0, hi = z->n; /* the last i with at[i] <= t */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (z->at[mid] <= t)
      lo = mid;
    else
      hi = mid;
  }
  if (lo + 1 < z->n) {
    *s = (rc_span){z->at[lo], z->at[lo + 1], z->off[lo]};
    return;
  }
  if (z->has_tail && z->tail.has_dst) {
    roster__cron_posix_span(&z->tail, t, s);
    if (s->start <= z->at[lo]) { /* the last transition rules until the
                                    rule's next change */
      s->start = z->at[lo];
      s->off = z->off[lo];
    }
    return;
  }
  *s = (rc_span){z->at[lo], INT64_MAX, z->off[lo]};
}

/* ---- TZif --------------------------------------------------------- */

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}
static int64_t be64(const unsigned char *p) {
  return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static bool tzerr(char *err, size_t cap, const char *msg) {
  snprintf(err, cap, "%s", msg);
  return false;
}

bool roster__cron_tzif_parse(const unsigned char *buf, size_t len, roster_tz *z,
                             char *err, size_t errcap) {
  if (len < 44 || memcmp(buf, "TZif", 4) != 0)
    return tzerr(err, errcap, "not a TZif file (no 'TZif' magic)");
  int version = buf[4];
  size_t pos = 0, tsize = 4;
  uint32_t cnt[6]; /* isut, isstd, leap, time, type, char */
  for (int pass = 0; pass < 2; pass++) {
    if (len - pos < 44 || memcmp(buf + pos, "TZif", 4) != 0)
      return tzerr(err, errcap, "a truncated TZif header");
    for (int i = 0; i < 6; i++) {
      cnt[i] = be32(buf + pos + 20 + 4 * i);
      if (cnt[i] > TZIF_MAX)
        return tzerr(err, errcap, "a TZif count out of range");
    }
    pos += 44;
    size_t body = (size_t)cnt[3] * (tsize + 1) + (size_t)cnt[4] * 6 + cnt[5] +
                  (size_t)cnt[2] * (tsize + 4) + cnt[1] + cnt[0];
    if (len - pos < body)
      return tzerr(err, errcap, "a truncated TZif file");
    if (pass == 1 || version < '2')
      break;
    pos += body; /* skip the 32-bit block: v2+ repeats it with 64 bits */
    tsize = 8;
  }
  uint32_t leapcnt = cnt[2], timecnt = cnt[3], typecnt = cnt[4],
           charcnt = cnt[5];
  if (leapcnt)
    return tzerr(err, errcap,
                 "a zone with leap seconds (from right/) is not supported");
  if (typecnt == 0)
    return tzerr(err, errcap, "a TZif file with no time types");
  const unsigned char *times = buf + pos, *idx = times + timecnt * tsize,
                      *types = idx + timecnt;
  int32_t *utoff = roster_mem_calloc(typecnt, sizeof *utoff);
  if (!utoff)
    return tzerr(err, errcap, "out of memory");
  for (uint32_t i = 0; i < typecnt; i++) {
    utoff[i] = (int32_t)be32(types + 6 * i);
    if (utoff[i] <= -RC_OFF_MAX || utoff[i] >= RC_OFF_MAX ||
        types[6 * i + 5] >= (charcnt ? charcnt : 1)) {
      roster_mem_free(utoff);
      return tzerr(err, errcap, "a TZif time type out of range");
    }
  }
  z->at = timecnt ? roster_mem_calloc(timecnt, sizeof *z->at) : NULL;
  z->off = timecnt ? roster_mem_calloc(timecnt, sizeof *z->off) : NULL;
  if (timecnt && (!z->at || !z->off)) {
    roster_mem_free(utoff);
    return tzerr(err, errcap, "out of memory");
  }
  z->off0 = utoff[0];
  z->n = 0;
  int32_t prev = z->off0;
  int64_t last = INT64_MIN;
  for (uint32_t i = 0; i < timecnt; i++) {
    int64_t t = tsize == 8 ? be64(times + 8 * i)
                           : (int64_t)(int32_t)be32(times + 4 * i);
    if (idx[i] >= typecnt || (i > 0 && t <= last)) {
      roster_mem_free(utoff);
      return tzerr(err, errcap,
                   idx[i] >= typecnt ? "a TZif transition with a bad type"
                                     : "TZif transitions out of order");
    }
    last = t;
    int32_t o = utoff[idx[i]];
    if (o != prev) { /* keep only changes of offset */
      z->at[z->n] = t;
      z->off[z->n++] = o;
      prev = o;
    }
  }
  roster_mem_free(utoff);
  z->has_tail = false;
  if (version >= '2') {
    const unsigned char *f =
        types + typecnt * 6 + charcnt + leapcnt * (tsize + 4) + cnt[1] + cnt[0];
    const unsigned char *end = buf + len;
    if (f >= end || *f != '\n')
      return tzerr(err, errcap, "a TZif file without its footer");
    const unsigned char *nl = memchr(f + 1, '\n', (size_t)(end - f - 1));
    if (!nl || nl - f - 1 > 255)
      return tzerr(err, errcap, "a TZif footer without its end");
    char tzs[256];
    memcpy(tzs, f + 1, (size_t)(nl - f - 1));
    tzs[nl - f - 1] = '\0';
    if (tzs[0]) {
      char why[128];
      if (!roster__cron_posix_parse(tzs, &z->tail, why, sizeof why)) {
        snprintf(err, errcap, "a bad TZ string in the TZif footer: %s", why);
        return false;
      }
      z->has_tail = true;
    }
  }
  return true;
}

void roster__cron_tz_release(roster_tz *z) {
  if (!z || z == &utc_zone)
    return;
  roster_mem_free(z->at);
  roster_mem_free(z->off);
  roster_mem_free(z->name);
  roster_mem_free(z);
}

/* ---- loading and the cache ---------------------------------------- */

/* find: the cached zone named name, under cache_lock. */
static roster_tz *find(const char *name) {
  for (roster_tz *z = cache; z; z = z->next)
    if (strcmp(z->name, name) == 0)
      return z;
  return NULL;
}

/* publish caches z (or frees it, if another thread cached the name first)
 * and returns the cached zone. */
static const roster_tz *publish(roster_tz *z) {
  pthread_mutex_lock(&cache_lock);
  roster_tz *old = find(z->name);
  if (!old) {
    z->next = cache;
    cache = z;
  }
  pthread_mutex_unlock(&cache_lock);
  if (old) {
    roster__cron_tz_release(z);
    return old;
  }
  return z;
}

static const roster_tz *cached(const char *name) {
  pthread_mutex_lock(&cache_lock);
  roster_tz *z = find(name);
  pthread_mutex_unlock(&cache_lock);
  return z;
}

/* load_file reads the TZif file into a new zone called zone. */
static int load_file(const char *file, const char *zone, roster_tz **out) {
  /* the two as messages show them: $TZ may hold any byte */
  char qn[80], qp[320];
  const char *name = roster__quote(qn, sizeof qn, zone, strlen(zone));
  const char *path = roster__quote(qp, sizeof qp, file, strlen(file));
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT || e == ENOTDIR)
      return roster_error_set(
          ROSTER_ENOENT, "unknown time zone '%s' (no file %s)", name, path);
    return roster_error_set(ROSTER_EIO, "time zone '%s': cannot open %s: %s",
                            name, path, strerror(e));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return roster_error_set(ROSTER_EIO, "time zone '%s': cannot stat %s: %s",
                            name, path, strerror(e));
  }
  if (!S_ISREG(st.st_mode) || st.st_size > TZIF_MAX) {
    close(fd);
    return roster_error_set(S_ISDIR(st.st_mode) ? ROSTER_ENOENT : ROSTER_EINVAL,
                            "time zone '%s': %s is %s", name, path,
                            S_ISDIR(st.st_mode)    ? "a directory, not a zone"
                            : !S_ISREG(st.st_mode) ? "not a regular file"
                                                   : "too large for a zone");
  }
  size_t len = (size_t)st.st_size, got = 0;
  unsigned char *buf = roster_mem_alloc(len ? len : 1);
  if (!buf) {
    close(fd);
    return roster_error_set(ROSTER_ENOMEM, "time zone '%s': out of memory",
                            name);
  }
  while (got < len) {
    ssize_t r = read(fd, buf + got, len - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0) {
      int e = r < 0 ? errno : EIO;
      close(fd);
      roster_mem_free(buf);
      return roster_error_set(ROSTER_EIO, "time zone '%s': reading %s: %s",
                              name, path, strerror(e));
    }
    got += (size_t)r;
  }
  close(fd);
  roster_tz *z = roster_mem_calloc(1, sizeof *z);
  char why[160];
  int rc = ROSTER_OK;
  if (!z || !(z->name = roster_mem_strdup(zone)))
    rc = roster_error_set(ROSTER_ENOMEM, "time zone '%s': out of memory", name);
  else if (!roster__cron_tzif_parse(buf, len, z, why, sizeof why))
    rc = roster_error_set(ROSTER_EINVAL, "time zone '%s': %s: %s", name, path,
                          why);
  roster_mem_free(buf);
  if (rc != ROSTER_OK) {
    if (z) {
      roster_mem_free(z->at);
      roster_mem_free(z->off);
      roster_mem_free(z->name);
      roster_mem_free(z);
    }
    return rc;
  }
  *out = z;
  return ROSTER_OK;
}

static bool name_ok(const char *name, size_t len) {
  if (len == 0 || len > ROSTER_NAME_MAX || name[0] == '/' || name[0] == '-')
    return false;
  for (size_t i = 0; i < len; i++) {
    char ch = name[i];
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '+' ||
              ch == '-' || ch == '/';
    if (!ok)
      return false;
    /* no "." or ".." path component */
    if (ch == '.' && (i == 0 || name[i - 1] == '/')) {
      size_t j = i + 1;
      if (j < len && name[j] == '.')
        j++;
      if (j == len || name[j] == '/')
        return false;
    }
  }
  return name[len - 1] != '/';
}

int roster_tz_get(const char *name, const roster_tz **out) {
  if (out)
    *out = NULL;
  if (!name || !out)
    return roster_error_set(ROSTER_EINVAL, "roster_tz_get: %s is NULL",
                            name ? "out" : "the zone name");
  size_t len = strnlen(name, ROSTER_NAME_MAX + 1);
  char q[80];
  if (!name_ok(name, len))
    return roster_error_set(
        ROSTER_EINVAL,
        "bad time zone name '%s': want a name like 'Europe/London' (at most "
        "%d bytes of letters, digits and . _ + - /, no '..' and no leading "
        "'/')",
        roster__quote(q, sizeof q, name, len > 64 ? 64 : len), ROSTER_NAME_MAX);
  if (strcmp(name, "UTC") == 0) {
    *out = &utc_zone;
    return ROSTER_OK;
  }
  const roster_tz *z = cached(name);
  if (z) {
    *out = z;
    return ROSTER_OK;
  }
  const char *dir = getenv("TZDIR");
  if (!dir || !*dir)
    dir = "/usr/share/zoneinfo";
  char path[PATH_MAX];
  if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
    return roster_error_set(ROSTER_EINVAL, "time zone '%s': path too long",
                            name);
  roster_tz *nz;
  int rc = load_file(path, name, &nz);
  if (rc != ROSTER_OK)
    return rc;
  *out = publish(nz);
  return ROSTER_OK;
}

/* posix_zone makes a zone from a POSIX TZ string (for $TZ). */
static int posix_zone(const char *tzs, const roster_tz **out) {
  const roster_tz *z = cached(tzs);
  if (z) {
    *out = z;
    return ROSTER_OK;
  }
  rc_posix p;
  char why[128];
  char q[80];
  if (!roster__cron_posix_parse(tzs, &p, why, sizeof why))
    return roster_error_set(ROSTER_EINVAL,
                            "TZ='%s' is neither a zone in the tz database "
                            "nor a POSIX TZ string (%s)",
                            roster__quote(q, sizeof q, tzs, strnlen(tzs, 64)),
                            why);
  roster_tz *nz = roster_mem_calloc(1, sizeof *nz);
  if (!nz || !(nz->name = roster_mem_strdup(tzs))) {
    roster_mem_free(nz);
    return roster_error_set(ROSTER_ENOMEM, "time zone: out of memory");
  }
  nz->has_tail = true;
  nz->tail = p;
  nz->off0 = p.std_off;
  *out = publish(nz);
  return ROSTER_OK;
}

/* path_zone loads an absolute path, named after the part following
 * "zoneinfo/" in its (resolved) path when there is one. */
static int path_zone(const char *path, const roster_tz **out) {
  char resolved[PATH_MAX];
  const char *name = path;
  if (realpath(path, resolved)) {
    const char *zi = strstr(resolved, "/zoneinfo/");
    if (zi && name_ok(zi + 10, strlen(zi + 10)))
      name = zi + 10;
  }
  const roster_tz *z = cached(name);
  if (z) {
    *out = z;
    return ROSTER_OK;
  }
  roster_tz *nz;
  int rc = load_file(path, name, &nz);
  if (rc != ROSTER_OK)
    return rc;
  *out = publish(nz);
  return ROSTER_OK;
}

int roster_tz_local(const roster_tz **out) {
  if (!out)
    return roster_error_set(ROSTER_EINVAL, "roster_tz_local: out is NULL");
  *out = NULL;
  const char *tz = getenv("TZ");
  if (tz && *tz) {
    const char *s = tz[0] == ':' ? tz + 1 : tz;
    if (s[0] == '/')
      return path_zone(s, out);
    if (name_ok(s, strnlen(s, ROSTER_NAME_MAX + 1)) &&
        roster_tz_get(s, out) == ROSTER_OK)
      return ROSTER_OK;
    return posix_zone(s, out);
  }
  if (tz || access("/etc/localtime", F_OK) != 0) {
    *out = &utc_zone; /* TZ="" means UTC, as in glibc */
    return ROSTER_OK;
  }
  return path_zone("/etc/localtime", out);
}

const roster_tz *roster_tz_utc(void) { return &utc_zone; }

const char *roster_tz_name(const roster_tz *tz) {
  return tz ? tz->name : "UTC";
}

int32_t roster_tz_offset(const roster_tz *tz, int64_t t) {
  rc_span s;
  roster__cron_tz_span(tz, t, &s);
  return s.off;
}

/* ---- ISO 8601 ----------------------------------------------------- */

int roster_tz_format(const roster_tz *tz, int64_t t, char *buf, size_t cap) {
  if (!buf)
    return roster_error_set(ROSTER_EINVAL, "roster_tz_format: buf is NULL");
  buf[0] = cap ? '\0' : buf[0];
  /* far outside the years 1 to 9999 whatever the offset (and t + offset
   * could overflow) */
  if (t < RC_T_MIN - RC_OFF_MAX || t > RC_T_MAX + RC_OFF_MAX)
    return roster_error_set(ROSTER_ERANGE,
                            "roster_tz_format: %lld is outside the years 1 to "
                            "9999",
                            (long long)t);
  int32_t off = roster_tz_offset(tz, t);
  int64_t L = t + off, days = L / RC_DAY - (L % RC_DAY < 0), y;
  int64_t sod = L - days * RC_DAY;
  unsigned m, d;
  roster__cron_civil_from_days(days, &y, &m, &d);
  if (y < 1 || y > 9999)
    return roster_error_set(ROSTER_ERANGE,
                            "roster_tz_format: %lld is outside the years 1 to "
                            "9999",
                            (long long)t);
  char sign = off < 0 ? '-' : '+';
  int32_t a = off < 0 ? -off : off;
  int n;
  if (a % 60)
    n = snprintf(buf, cap, "%04d-%02u-%02uT%02d:%02d:%02d%c%02d:%02d:%02d",
                 (int)y, m, d, (int)(sod / 3600), (int)(sod / 60 % 60),
                 (int)(sod % 60), sign, a / 3600, a / 60 % 60, a % 60);
  else
    n = snprintf(buf, cap, "%04d-%02u-%02uT%02d:%02d:%02d%c%02d:%02d", (int)y,
                 m, d, (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60),
                 sign, a / 3600, a / 60 % 60);
  if (n < 0 || (size_t)n >= cap)
    return roster_error_set(ROSTER_ERANGE,
                            "roster_tz_format: the buffer needs %d bytes",
                            ROSTER_TIME_STR_MAX);
  return ROSTER_OK;
}

/* digits reads exactly n digits at *p. */
static bool digits(const char **p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    char ch = (*p)[i];
    if (ch < '0' || ch > '9')
      return false;
    v = v * 10 + (ch - '0');
  }
  *p += n;
  *out = v;
  return true;
}

/* upto reads exactly two digits at *p, a number at most max; *p moves
 * only if it does. */
static bool upto(const char **p, int max, int *out) {
  const char *q = *p;
  if (!digits(&q, 2, out) || *out > max)
    return false;
  *p = q;
  return true;
}

int roster_time_parse(const char *text, const roster_tz *tz, int64_t *out) {
  if (!text || !out)
    return roster_error_set(ROSTER_EINVAL, "roster_time_parse: %s is NULL",
                            text ? "out" : "the text");
  const char *p = text, *at = p;
  int y, mo, d, h = 0, mi = 0, s = 0, off = 0;
  bool has_off = false;
  const char *what = NULL;
#define EXPECT(cond, w)                                                        \
  do {                                                                         \
    if (!what && !(cond)) {                                                    \
      what = (w);                                                              \
      at = p;                                                                  \
    }                                                                          \
  } while (0)
  EXPECT(digits(&p, 4, &y), "a four-digit year");
  EXPECT(*p == '-' && (++p, digits(&p, 2, &mo)), "'-' and a two-digit month");
  EXPECT(*p == '-' && (++p, digits(&p, 2, &d)), "'-' and a two-digit day");
  if (!what && (*p == 'T' || *p == 't' || *p == ' ')) {
    p++;
    EXPECT(digits(&p, 2, &h), "a two-digit hour");
    EXPECT(*p == ':' && (++p, digits(&p, 2, &mi)), "':' and two-digit minutes");
    if (!what && *p == ':') {
      p++;
      EXPECT(digits(&p, 2, &s), "two-digit seconds");
    }
  }
  if (!what && (*p == 'Z' || *p == 'z')) {
    has_off = true;
    p++;
  } else if (!what && (*p == '+' || *p == '-')) {
    /* +hh:mm, +hhmm, and with seconds +hh:mm:ss or +hhmmss, as
     * roster_tz_format writes local mean time; up to 25:59:59, the
     * largest offset a zone may have (RFC 8536) */
    int sign = *p++ == '-' ? -1 : 1, oh = 0, om = 0, os = 0;
    EXPECT(upto(&p, 25, &oh), "an offset hour 00-25");
    bool colon = !what && *p == ':';
    if (colon)
      p++;
    EXPECT(upto(&p, 59, &om), "offset minutes 00-59");
    if (!what && (colon ? *p == ':' : *p >= '0' && *p <= '9')) {
      p += colon;
      EXPECT(upto(&p, 59, &os), "offset seconds 00-59");
    }
    off = sign * (oh * 3600 + om * 60 + os);
    has_off = true;
  }
  EXPECT(*p == '\0', "the end (or 'Z' or an offset +hh:mm)");
#undef EXPECT
  char q[64];
  if (what)
    return roster_error_set(ROSTER_EINVAL,
                            "time '%s': column %d: expected %s (ISO 8601, "
                            "e.g. 2026-01-01T00:00:00Z)",
                            roster__quote(q, sizeof q, text, strnlen(text, 40)),
                            (int)(at - text) + 1, what);
  if (y < 1)
    return roster_error_set(
        ROSTER_ERANGE, "time '%s': the year must be 1 to 9999",
        roster__quote(q, sizeof q, text, strnlen(text, 40)));
  if (mo < 1 || mo > 12 || d < 1 ||
      d > (int)roster__cron_mdays(y, (unsigned)mo) || h > 23 || mi > 59 ||
      s > 59)
    return roster_error_set(
        ROSTER_EINVAL, "time '%s': no such date or time of day",
        roster__quote(q, sizeof q, text, strnlen(text, 40)));
  int64_t L =
      roster__cron_days_from_civil(y, (unsigned)mo, (unsigned)d) * RC_DAY +
      h * 3600 + mi * 60 + s;
  if (has_off) {
    *out = L - off;
    return ROSTER_OK;
  }
  rc_map m;
  roster__cron_local_map(tz, L, &m);
  if (m.kind == RC_GAP)
    return roster_error_set(ROSTER_EINVAL,
                            "time '%s' does not exist in %s: the clocks "
                            "jumped over it",
                            roster__quote(q, sizeof q, text, strnlen(text, 40)),
                            roster_tz_name(tz));
  *out = m.t1;
  return ROSTER_OK;
}
