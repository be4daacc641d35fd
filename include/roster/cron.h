/*
 * roster/cron.h: cron expressions, time zones and the job scheduler.
 *
 * Expressions follow Vixie cron (the crontab(5) every administrator knows):
 * five fields "minute hour day-of-month month day-of-week", or six with a
 * leading seconds field; `*`, lists, ranges, steps (`*` `/n`, `a-b/n`,
 * `a/n`), month and weekday names in any case, Sunday as 0 or 7, and the
 * macros @yearly @annually @monthly @weekly @daily @midnight @hourly. When
 * both day fields are restricted a day matching either fires; a day field
 * that starts with `*` counts as unrestricted, so a day-of-month of "*" "/2"
 * with a day-of-week of 1 fires only on odd days that are Mondays.
 *
 * Fire times are computed in a time zone from the system's tz database
 * (TZif files under /usr/share/zoneinfo, or $TZDIR), read by roster itself:
 * glibc has no thread-safe per-zone localtime, and setenv("TZ") is
 * process-global. Daylight saving time is handled the way Vixie cron
 * handles it (docs/cron.md, "DST"): in a forward jump, jobs with a fixed
 * minute and hour whose time was skipped run once at the jump, and jobs
 * with `*` in the minute or hour field just miss the skipped times; in a
 * repeated hour, fixed-time jobs run only the first time through, wildcard
 * jobs both times.
 *
 * The scheduler runs named jobs (a schedule, a function and its argument)
 * on a bounded pool of worker threads, never on its timer thread. It is a
 * service in the registry (roster_sched_provide) that roster_start starts
 * and roster_shutdown stops, or a plain object (roster_sched_new).
 *
 * Threads: every function here may be called from any thread. Parsed
 * expressions and zones are immutable and may be shared by any number of
 * threads without locking.
 *
 * Errors: a negative roster_err and a sentence in roster_last_error().
 * Times are Unix seconds (int64_t) unless a name says _ms or _ns. Supported
 * dates are the years 1 to 9999; others give ROSTER_ERANGE.
 */
#ifndef ROSTER_CRON_H
#define ROSTER_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lifecycle.h"
#include "registry.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Expressions                                                         */

/* ROSTER_CRON_MAX is the longest expression accepted, in bytes. */
#define ROSTER_CRON_MAX 1024

/* roster_cron: a parsed expression. Immutable; free with roster_cron_free. */
typedef struct roster_cron roster_cron;

/* roster_tz: a time zone, loaded once and cached for the life of the
 * process (never freed by the caller). */
typedef struct roster_tz roster_tz;

/* roster_cron_error: where and why an expression is invalid. */
typedef struct roster_cron_error {
  size_t column;     /* 1-based byte column of the first wrong character */
  char message[192]; /* what is wrong there, without the column */
} roster_cron_error;

/* roster_cron_parse parses text into *out (the caller owns it). Leading and
 * trailing blanks are ignored; fields are separated by blanks. Errors:
 * ROSTER_EINVAL for NULL arguments or an invalid expression (out-of-range
 * value, reversed range, zero step, unknown name or macro, wrong field
 * count, trailing junk, more than ROSTER_CRON_MAX bytes), with *err (may be
 * NULL) filled in and roster_last_error() reading "cron expression '...':
 * column N: <message>"; ROSTER_ENOMEM. *out is NULL on error. An expression
 * that can never fire (`0 0 30 2 *`) parses; next and prev report it. */
ROSTER_EXTERN int roster_cron_parse(const char *text, roster_cron **out,
                                    roster_cron_error *err);

/* roster_cron_free frees c. NULL is a no-op. */
ROSTER_EXTERN void roster_cron_free(roster_cron *c);

/* roster_cron_text returns the expression as it was given (trimmed), owned
 * by c. */
ROSTER_EXTERN const char *roster_cron_text(const roster_cron *c);

/* roster_cron_next stores in *out the first fire time strictly after
 * `after`, in zone tz (NULL: UTC). ROSTER_ENOENT when there is none: the
 * expression never fires (the detail says why), or does not fire in tz
 * before the year 10000. ROSTER_ERANGE for `after` outside the years 1 to
 * 9999; ROSTER_EINVAL for NULL c or out. Allocation-free; it searches field
 * by field, not minute by minute (docs/cron.md gives its cost). */
ROSTER_EXTERN int roster_cron_next(const roster_cron *c, int64_t after,
                                   const roster_tz *tz, int64_t *out);

/* roster_cron_prev stores in *out the last fire time strictly before
 * `before`; errors as roster_cron_next (no fire time after the year 1). For
 * every fire time f, prev(next(f)) == f. */
ROSTER_EXTERN int roster_cron_prev(const roster_cron *c, int64_t before,
                                   const roster_tz *tz, int64_t *out);

/* ------------------------------------------------------------------ */
/* Time zones                                                          */

/* ROSTER_TIME_STR_MAX is the buffer size roster_tz_format needs. */
#define ROSTER_TIME_STR_MAX 32

/* roster_tz_get finds zone `name` ("Europe/London", "UTC"): the TZif file
 * $TZDIR/name (default /usr/share/zoneinfo), read once and cached; later
 * calls return the same pointer. "UTC" always exists, even without the
 * database. Errors: ROSTER_EINVAL for a NULL, empty, over-long or unsafe
 * name (an absolute path, "..", a character outside [A-Za-z0-9._+-/]) or a
 * file that is not valid TZif (the detail says what is wrong, and a file
 * with leap seconds, from right/, is refused); ROSTER_ENOENT when no such
 * zone exists; ROSTER_EIO if it cannot be read; ROSTER_ENOMEM. */
ROSTER_EXTERN int roster_tz_get(const char *name, const roster_tz **out);

/* roster_tz_local finds the system's zone: $TZ if it is set (a zone name,
 * ":name", an absolute path to a TZif file, or a POSIX TZ string such as
 * "EST5EDT,M3.2.0,M11.1.0"), else /etc/localtime, else UTC. Errors as
 * roster_tz_get, for a $TZ that is none of those. */
ROSTER_EXTERN int roster_tz_local(const roster_tz **out);

/* roster_tz_utc returns the built-in UTC zone. Never NULL. */
ROSTER_EXTERN const roster_tz *roster_tz_utc(void);

/* roster_tz_name returns the zone's name as it was asked for ("UTC" for
 * NULL). */
ROSTER_EXTERN const char *roster_tz_name(const roster_tz *tz);

/* roster_tz_offset returns the offset from UTC, in seconds east, in effect
 * at instant t in tz (NULL: UTC). */
ROSTER_EXTERN int32_t roster_tz_offset(const roster_tz *tz, int64_t t);

/* roster_tz_format writes instant t as local time in tz with its offset,
 * ISO 8601: "2026-03-08T03:00:00-04:00" ("+00:00" for UTC; an offset with
 * seconds, as in old local mean time, is written "+hh:mm:ss"). buf needs
 * ROSTER_TIME_STR_MAX bytes. ROSTER_ERANGE for a year outside 1..9999 or a
 * short buffer; ROSTER_EINVAL for a NULL buf. */
ROSTER_EXTERN int roster_tz_format(const roster_tz *tz, int64_t t, char *buf,
                                   size_t cap);

/* roster_time_parse reads an ISO 8601 time, "YYYY-MM-DDTHH:MM:SS" (a space
 * may replace the T; ":SS" may be left out) followed by "Z", "+hh:mm",
 * "-hh:mm" or nothing. Without an offset the time is local time in tz
 * (NULL: UTC): in a repeated hour the first one is meant, and a time that
 * a forward jump skipped is ROSTER_EINVAL. Errors: ROSTER_EINVAL for text
 * that is not such a time (the detail names the column), ROSTER_ERANGE for
 * a year outside 1..9999. */
ROSTER_EXTERN int roster_time_parse(const char *text, const roster_tz *tz,
                                    int64_t *out);

#ifdef __cplusplus
}
#endif

#endif /* ROSTER_CRON_H */
