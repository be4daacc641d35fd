/*
 * tzif_testutil.h: writes TZif files (RFC 8536) for the cron tests, so a
 * test can make zones the tz database does not have: broken files, and
 * transitions closer together than their offset changes. Version 1 files
 * carry 32-bit times and no footer; version 2 and 3 files an empty 32-bit
 * block, 64-bit times and a footer. Every time type is named "ABC".
 */
#ifndef ROSTER_TZIF_TESTUTIL_H
#define ROSTER_TZIF_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct tzw {
  unsigned char b[8192];
  size_t n;
} tzw;

static inline void tzw8(tzw *w, unsigned v) { w->b[w->n++] = (unsigned char)v; }
static inline void tzw32(tzw *w, uint32_t v) {
  for (int i = 3; i >= 0; i--)
    tzw8(w, (v >> (8 * i)) & 0xff);
}
static inline void tzw64(tzw *w, uint64_t v) {
  tzw32(w, (uint32_t)(v >> 32));
  tzw32(w, (uint32_t)v);
}

typedef struct tzspec {
  int version; /* 1, 2 or 3 */
  size_t nt;   /* transitions */
  const int64_t *times;
  const uint8_t *idx;
  size_t ntypes;
  const int32_t *offs;
  int leaps;          /* leap second records */
  const char *footer; /* v2+: the TZ string ("" allowed) */
} tzspec;

static inline void tzw_header(tzw *w, char ver, uint32_t nt, uint32_t ntypes,
                              uint32_t leaps, uint32_t nchars) {
  memcpy(w->b + w->n, "TZif", 4);
  w->n += 4;
  tzw8(w, (unsigned)ver);
  for (int i = 0; i < 15; i++)
    tzw8(w, 0);
  tzw32(w, 0);      /* isutcnt */
  tzw32(w, 0);      /* isstdcnt */
  tzw32(w, leaps);  /* leapcnt */
  tzw32(w, nt);     /* timecnt */
  tzw32(w, ntypes); /* typecnt */
  tzw32(w, nchars); /* charcnt: "ABC\0" */
}

static inline void tzw_body(tzw *w, const tzspec *s, int tsize) {
  for (size_t i = 0; i < s->nt; i++)
    if (tsize == 8)
      tzw64(w, (uint64_t)s->times[i]);
    else
      tzw32(w, (uint32_t)(int32_t)s->times[i]);
  for (size_t i = 0; i < s->nt; i++)
    tzw8(w, s->idx[i]);
  for (size_t i = 0; i < s->ntypes; i++) {
    tzw32(w, (uint32_t)s->offs[i]);
    tzw8(w, 0);
    tzw8(w, 0);
  }
  memcpy(w->b + w->n, "ABC", 4);
  w->n += 4;
  for (int i = 0; i < s->leaps; i++) {
    if (tsize == 8)
      tzw64(w, 78796800);
    else
      tzw32(w, 78796800);
    tzw32(w, 1);
  }
}

/* make_tzif writes the file s describes into w. */
static inline void make_tzif(tzw *w, const tzspec *s) {
  w->n = 0;
  if (s->version == 1) {
    tzw_header(w, 0, (uint32_t)s->nt, (uint32_t)s->ntypes, (uint32_t)s->leaps,
               4);
    tzw_body(w, s, 4);
    return;
  }
  char v = (char)('0' + s->version);
  tzw_header(w, v, 0, 0, 0, 0); /* an empty v1 block: readers skip it */
  tzw_header(w, v, (uint32_t)s->nt, (uint32_t)s->ntypes, (uint32_t)s->leaps, 4);
  tzw_body(w, s, 8);
  tzw8(w, '\n');
  for (const char *p = s->footer; *p; p++)
    tzw8(w, (unsigned char)*p);
  tzw8(w, '\n');
}

#endif /* ROSTER_TZIF_TESTUTIL_H */
