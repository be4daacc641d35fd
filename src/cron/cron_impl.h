/*
 * cron_impl.h: what the cron sources (src/cron) share: the parsed
 * expression, the zone structure and its spans, and the calendar helpers.
 * A built-in service: it uses only the public API (roster.h), never the
 * core's private header. Never installed.
 */
#ifndef ROSTER_CRON_IMPL_H
#define ROSTER_CRON_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h" /* roster__quote */
#include "roster.h"
#include "roster/cron.h"

/* ---- calendar (cron_next.c) ---- */

/* Supported instants: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z. A fire
 * time's local time lies in the same range (as local seconds). */
#define RC_T_MIN (-62135596800LL)
#define RC_T_MAX (253402300799LL)
#define RC_DAY 86400LL
/* RC_OFF_MAX bounds a zone offset (RFC 8536 allows -89999..93599). */
#define RC_OFF_MAX (26 * 3600)

/* roster__cron_days_from_civil: days since 1970-01-01 of y-m-d (proleptic
 * Gregorian; m 1..12, d 1..31). */
int64_t roster__cron_days_from_civil(int64_t y, unsigned m, unsigned d);
/* roster__cron_civil_from_days: the inverse. */
void roster__cron_civil_from_days(int64_t z, int64_t *y, unsigned *m,
                                  unsigned *d);
/* roster__cron_weekday: 0 = Sunday for a day number. */
unsigned roster__cron_weekday(int64_t days);
bool roster__cron_leap(int64_t y);
unsigned roster__cron_mdays(int64_t y, unsigned m);

/* ---- expressions (cron_parse.c) ---- */

enum {
  RC_MIN_STAR = 1, /* the minute field starts with '*' */
  RC_HR_STAR = 2,  /* the hour field starts with '*' */
  RC_DOM_STAR = 4, /* the day-of-month field starts with '*' */
  RC_DOW_STAR = 8, /* the day-of-week field starts with '*' */
  RC_SECONDS = 16, /* a seconds field was given */
};

struct roster_cron {
  uint64_t sec;   /* bits 0..59 */
  uint64_t min;   /* bits 0..59 */
  uint32_t hour;  /* bits 0..23 */
  uint32_t dom;   /* bits 1..31 */
  uint16_t month; /* bits 1..12 */
  uint8_t dow;    /* bits 0..6, Sunday 0 (7 folded in) */
  uint8_t flags;  /* RC_* */
  bool never;     /* no day can ever match */
  /* days[w]: the day-of-month mask (bits 1..31) of the days a month that
   * starts on weekday w allows, with the day rule applied, before
   * clipping to the month's length. */
  uint32_t days[7];
  char text[]; /* as given, trimmed */
};

/* rc_wildcard: Vixie's "wildcard job" (minute or hour starts with '*'),
 * which DST and clock jumps treat differently from fixed-time jobs. */
static inline bool rc_wildcard(const roster_cron *c) {
  return (c->flags & (RC_MIN_STAR | RC_HR_STAR)) != 0;
}

/* ---- zones (tz.c, tz_rule.c) ---- */

/* rc_rule: one end of a POSIX TZ daylight-saving rule. */
typedef struct rc_rule {
  char kind;      /* 'J' (Jn, 1..365, no Feb 29), 'D' (n, 0..365), 'M' */
  int16_t n;      /* J and D */
  int8_t m, w, d; /* M: month 1..12, week 1..5 (5 = last), weekday 0..6 */
  int32_t time;   /* seconds after local midnight; -167h..167h */
} rc_rule;

/* rc_posix: a parsed POSIX TZ string (a TZif footer or $TZ). */
typedef struct rc_posix {
  int32_t std_off; /* seconds east of UTC */
  int32_t dst_off;
  bool has_dst; /* a rule with an offset change */
  rc_rule start, end;
} rc_posix;

struct roster_tz {
  struct roster_tz *next; /* the cache's list */
  char *name;
  size_t n;      /* transitions that change the offset */
  int64_t *at;   /* their instants, ascending */
  int32_t *off;  /* the offset from at[i] on */
  int32_t off0;  /* the offset before at[0] */
  bool has_tail; /* a POSIX rule applies after the last transition */
  rc_posix tail;
};

/* rc_span: a maximal-or-smaller stretch [start, end) of instants with one
 * offset; start is INT64_MIN and end INT64_MAX at the ends of time. */
typedef struct rc_span {
  int64_t start, end;
  int32_t off;
} rc_span;

/* roster__cron_tz_span: the span holding instant t (z may be NULL: UTC). */
void roster__cron_tz_span(const roster_tz *z, int64_t t, rc_span *s);

/* roster__cron_posix_parse parses a POSIX TZ string; false with a reason in
 * err. */
bool roster__cron_posix_parse(const char *s, rc_posix *p, char *err,
                              size_t errcap);
/* roster__cron_posix_span: the span of the rule-based offsets holding t. */
void roster__cron_posix_span(const rc_posix *p, int64_t t, rc_span *s);

/* roster__cron_tzif_parse builds z (name not set) from a TZif file's bytes;
 * false with a reason in err. */
bool roster__cron_tzif_parse(const unsigned char *buf, size_t len, roster_tz *z,
                             char *err, size_t errcap);
void roster__cron_tz_release(
    roster_tz *z); /* frees z's arrays and name, and z */

/* Local time <-> instants. roster__cron_local_map finds the instants whose
 * local time (t + offset) is L. */
typedef enum rc_map_kind {
  RC_UNIQUE,  /* one instant: t1 */
  RC_OVERLAP, /* two (a repeated hour): t1 < t2, shift = t2 - t1 */
  RC_GAP,     /* none (a skipped time): t1 = the jump's instant, shift =
                 how far the clock jumped */
} rc_map_kind;
typedef struct rc_map {
  rc_map_kind kind;
  int64_t t1, t2;
  int64_t shift;
  int64_t lbeg, lend; /* GAP: the skipped local times [lbeg, lend);
                         OVERLAP: the repeated ones */
} rc_map;
void roster__cron_local_map(const roster_tz *z, int64_t L, rc_map *m);

/* ---- scheduler helpers shared by its files ---- */

/* roster__cron_fire_after: roster_cron_next without the argument checks and
 * error details (for the scheduler's hot path); false if none. */
bool roster__cron_fire_after(const roster_cron *c, int64_t after,
                             const roster_tz *tz, int64_t *out);
bool roster__cron_fire_before(const roster_cron *c, int64_t before,
                              const roster_tz *tz, int64_t *out);

#endif /* ROSTER_CRON_IMPL_H */
