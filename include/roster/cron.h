/*
 * roster/cron.h: cron expressions, time zones and the job scheduler.
 *
 * Expressions follow Vixie cron (the crontab(5) every administrator knows):
 * five fields "minute hour day-of-month month day-of-week", or six with a
 * leading seconds field; `*`, lists, ranges, steps (`a-b/n`, `a/n`, and
 * `*` followed by `/n`), month and weekday names in any case, Sunday as 0
 * or 7, and the macros @yearly @annually @monthly @weekly @daily @midnight
 * @hourly. When both day fields are restricted a day matching either
 * fires; a day field that starts with `*` counts as unrestricted, so a
 * day-of-month of "*" "/2" with a day-of-week of 1 fires only on odd days
 * that are Mondays.
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
 * dates are the years 1 to 9999; others give ROSTER_ERANGE. A fire time
 * lies in those years both as an instant (UTC) and as local time in its
 * zone, so roster_tz_format always writes it.
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
 * expression never fires (the detail says why), or has no fire time in tz
 * whose instant and local time are both before the year 10000.
 * ROSTER_ERANGE for `after` outside the years 1 to 9999; ROSTER_EINVAL for
 * NULL c or out. Allocation-free; it searches field by field, not minute
 * by minute (docs/cron.md gives its cost). */
ROSTER_EXTERN int roster_cron_next(const roster_cron *c, int64_t after,
                                   const roster_tz *tz, int64_t *out);

/* roster_cron_prev stores in *out the last fire time strictly before
 * `before` (at most 10000-01-01T00:00:00Z); errors as roster_cron_next
 * (ROSTER_ENOENT: no fire time whose instant and local time are both in
 * the year 1 or later). The two agree on one set of fire times: for every
 * fire time f, prev(next(f)) == f and next(prev(f)) == f where those
 * exist, and for any t, prev(next(t)) <= t and next(prev(t)) >= t. */
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

/* roster_tz_name returns the zone's name: as asked for, the database name
 * of a path (/etc/localtime -> "Europe/Berlin"), or the TZ string ("UTC"
 * for NULL). Static for the life of the process. */
ROSTER_EXTERN const char *roster_tz_name(const roster_tz *tz);

/* roster_tz_offset returns the offset from UTC, in seconds east, in effect
 * at instant t in tz (NULL: UTC). */
ROSTER_EXTERN int32_t roster_tz_offset(const roster_tz *tz, int64_t t);

/* roster_tz_format writes instant t as local time in tz with its offset,
 * ISO 8601: "2026-03-08T03:00:00-04:00" ("+00:00" for UTC; an offset with
 * seconds, as in old local mean time, is written "-04:56:02"; one of 24
 * hours or more, which zone data allows up to 25:59:59, as it is: "-24:00").
 * roster_time_parse reads every text it writes back to the same instant.
 * buf needs ROSTER_TIME_STR_MAX bytes. ROSTER_ERANGE for a local year
 * outside 1..9999 or a short buffer; ROSTER_EINVAL for a NULL buf. */
ROSTER_EXTERN int roster_tz_format(const roster_tz *tz, int64_t t, char *buf,
                                   size_t cap);

/* roster_time_parse reads an ISO 8601 time, "YYYY-MM-DDTHH:MM:SS" (a space
 * may replace the T; ":SS" may be left out) followed by "Z", an offset
 * "+hh:mm" or "-hh:mm" (also "+hhmm", and with seconds "+hh:mm:ss" or
 * "+hhmmss"; hours 00 to 25, as zones have) or nothing. Without an offset
 * the time is local time in tz (NULL: UTC): in a repeated hour the first
 * one is meant, and a time that a forward jump skipped is ROSTER_EINVAL.
 * Errors: ROSTER_EINVAL for text that is not such a time (the detail names
 * the column), ROSTER_ERANGE for a year outside 1..9999. */
ROSTER_EXTERN int roster_time_parse(const char *text, const roster_tz *tz,
                                    int64_t *out);

/* ------------------------------------------------------------------ */
/* The scheduler                                                       */

/* roster_sched: a job scheduler. Opaque. */
typedef struct roster_sched roster_sched;

/* roster_sched_clock: where a scheduler reads the time. Tests pass their
 * own to drive time explicitly. With a custom clock the timer thread never
 * sleeps on time: it looks at the clock when roster_sched_tick (or any
 * change to the jobs) wakes it. Both functions must be thread-safe. */
typedef struct roster_sched_clock {
  int64_t (*now_wall_ns)(void *arg); /* wall clock, ns since the epoch */
  int64_t (*now_mono_ns)(void *arg); /* monotonic, ns (durations, timeouts) */
  void *arg;
} roster_sched_clock;

/* roster_job_fn is a job's task. It runs on a worker thread with no roster
 * lock held, and returns ROSTER_OK or a failure code (with a sentence via
 * roster_error_set), which is counted and reported as ROSTER_JOB_FAILED. */
typedef int (*roster_job_fn)(void *arg);

/* roster_job_enabled_fn tells, before each scheduled run, whether the job
 * should run this time (a feature flag, a leader election). It runs on the
 * worker that would run the job. A false answer skips the run. */
typedef bool (*roster_job_enabled_fn)(void *arg);

/* roster_sched_claim_fn: cluster mode. With several nodes running the same
 * jobs, it decides which node runs one tick: it is asked on the worker, for
 * each scheduled or catch-up run of a job that is not local, before the
 * run starts (after the enabled predicate), with the job's name and the
 * fire time the run stands for (Unix seconds). It returns 1 when this node
 * takes the tick (the run goes on), 0 when another node has it (no event;
 * counted in roster_job_stats.elsewhere), or a negative roster error code
 * when it could not decide (a SKIPPED event whose detail carries the
 * sentence it set with roster_error_set; counted in skipped): a tick
 * nobody could claim is not run, so no tick runs twice. Runs started by
 * hand (roster_sched_run_now) and at start are never claimed. It may
 * block (a network round trip); it must be thread-safe. */
typedef int (*roster_sched_claim_fn)(const char *job, int64_t scheduled,
                                     void *arg);

/* roster_overlap: what a fire time does while the job's last run is still
 * going. */
typedef enum roster_overlap {
  ROSTER_OVERLAP_SKIP = 0, /* skip it (reported as ROSTER_JOB_SKIPPED) */
  ROSTER_OVERLAP_QUEUE,    /* run it after the running one, in order, at
                              most queue_max waiting */
  ROSTER_OVERLAP_ALLOW,    /* run it alongside, at most queue_max waiting
                              for a worker */
} roster_overlap;

/* roster_job_options: a job's options. {0} means the defaults. */
typedef struct roster_job_options {
  /* asked with the job's arg before each scheduled run; NULL: always run */
  roster_job_enabled_fn enabled;
  /* also run once when the scheduler starts (at once, if added to a
   * running one) */
  bool run_on_start;
  bool disabled;          /* add it disabled (see roster_sched_enable) */
  roster_overlap overlap; /* ROSTER_OVERLAP_SKIP */
  unsigned queue_max;     /* QUEUE and ALLOW: most runs waiting; 0 = 16 */
  /* report ROSTER_JOB_SLOW once a run takes longer (the run goes on);
   * 0: never */
  int64_t timeout_ms;
  const char *tz; /* the schedule's zone; NULL: the scheduler's */
  /* start each scheduled run a random 0..jitter_ms late (spreads load),
   * at most a day; 0: none */
  int64_t jitter_ms;
  /* cluster mode: run every tick on this node, never asking the
   * scheduler's claim function (a local cleanup, say) */
  bool local;
  /* called once the job is removed and its last run has returned; not
   * when roster_sched_add fails */
  void (*free_arg)(void *arg);
} roster_job_options;

/* roster_job_event_kind: what happened to a job. */
typedef enum roster_job_event_kind {
  ROSTER_JOB_STARTED = 0, /* a run began */
  ROSTER_JOB_FINISHED,    /* a run returned ROSTER_OK */
  ROSTER_JOB_FAILED,      /* a run returned an error */
  ROSTER_JOB_SLOW,        /* a run is still going past timeout_ms */
  ROSTER_JOB_SKIPPED,     /* a due run did not start (detail says why) */
} roster_job_event_kind;

/* roster_job_trigger: why a run happens. */
typedef enum roster_job_trigger {
  ROSTER_TRIGGER_SCHEDULE = 0, /* its fire time came */
  ROSTER_TRIGGER_CATCH_UP,     /* a fire time the clock jumped over */
  ROSTER_TRIGGER_START,        /* run_on_start */
  ROSTER_TRIGGER_NOW,          /* roster_sched_run_now */
} roster_job_trigger;

/* roster_job_event: one event, valid while the callback runs. */
typedef struct roster_job_event {
  roster_job_event_kind kind;
  const char *job; /* the job's name */
  roster_job_trigger trigger;
  int64_t scheduled;   /* the fire time the run stands for (Unix
                          seconds); 0 for START and NOW */
  int64_t at_unix_ms;  /* when it happened, by the scheduler's clock */
  int64_t duration_ns; /* FINISHED, FAILED: the run's; SLOW: so far */
  int error;           /* FAILED: the job's code; else ROSTER_OK */
  const char *detail;  /* FAILED: the job's sentence; SKIPPED: why;
                          else "" */
} roster_job_event;

/* roster_job_event_fn receives job events: STARTED, FINISHED and FAILED on
 * the worker that runs the job, SKIPPED and SLOW on that worker or on the
 * timer thread. No roster lock is held; it must be thread-safe and should
 * not block (the timer waits for it). */
typedef void (*roster_job_event_fn)(const roster_job_event *ev, void *arg);

/* roster_sched_options: how to make a scheduler. {0} means the defaults. The
 * strings, the clock and the arrays are copied. */
typedef struct roster_sched_options {
  unsigned workers; /* worker threads; 0 = 4, at most 64 */
  const char *tz;   /* jobs' default zone; NULL: roster_tz_local */
  const roster_sched_clock *clock; /* NULL: the real clocks */
  roster_job_event_fn on_event;    /* job events, or NULL */
  void *event_arg;
  /* job events are also logged here, NULL: not logged. Failed runs at
   * error, slow runs and skipped ones at warn, starts and ends at debug,
   * with fields job, trigger, scheduled, duration_ms, error. The
   * scheduler writes through a child of it (component=cron), so log may
   * be released by the caller at once. */
  struct roster_log *log;
  /* what roster_sched_free and a service's stop give running jobs;
   * 0 = 10000 */
  int64_t stop_timeout_ms;
  uint64_t seed; /* the jitter's random seed; 0: from the clock */
  /* Only for roster_sched_provide: setup adds the jobs before the
   * scheduler starts (an error fails the service's start); deps are the
   * NULL-terminated names of services the jobs use, so the scheduler
   * starts after them and stops before them. */
  int (*setup)(roster_sched *s, const roster_deps *deps, void *arg);
  void *setup_arg;
  const char *const *deps;
  /* cluster mode: asked which node runs each tick (see
   * roster_sched_claim_fn); NULL: every tick runs here. */
  roster_sched_claim_fn claim;
  void *claim_arg;
} roster_sched_options;

/* roster_job_stats: one job's counters and times. */
typedef struct roster_job_stats {
  bool enabled;
  unsigned running;           /* runs in progress */
  unsigned waiting;           /* runs queued, not started yet */
  uint64_t runs;              /* runs that returned, ok or not */
  uint64_t failures;          /* runs that returned an error */
  uint64_t skipped;           /* runs skipped (overlap, full queue, the
                                 enabled predicate, a failed claim) */
  uint64_t elsewhere;         /* cluster mode: ticks another node took */
  int64_t next_run;           /* next fire time, 0 if none (disabled, not
                                 started, stopped) */
  int64_t last_start_unix_ms; /* 0: never ran */
  int64_t last_end_unix_ms;   /* 0: no run has returned */
  int64_t last_duration_ns;
  int last_error;           /* the last returned run's code */
  int64_t last_lateness_ns; /* how late the last scheduled run started
                               after its fire time (jitter included); 0
                               for runs started by hand or at start */
} roster_job_stats;

/* roster_job_info: one job in a roster_job_list. */
typedef struct roster_job_info {
  const char *name; /* owned by the list */
  const char *expr; /* the schedule, as given */
  const char *tz;   /* its zone's name */
  roster_job_stats stats;
} roster_job_info;

/* roster_job_list: from roster_sched_list, sorted by name, freed with
 * roster_job_list_free. */
typedef struct roster_job_list {
  size_t count;
  roster_job_info *items;
} roster_job_list;

/* roster_sched_new makes a scheduler into *out (not started; the caller
 * owns it). Errors: ROSTER_EINVAL (NULL out, more than 64 workers, a clock
 * missing a function, a negative timeout), the errors of roster_tz_get or
 * roster_tz_local for opts->tz, ROSTER_ENOMEM. */
ROSTER_EXTERN int roster_sched_new(const roster_sched_options *opts,
                                   roster_sched **out);

/* roster_sched_start starts the timer thread and the workers, schedules
 * every enabled job from now and runs the run_on_start ones. ROSTER_ESTATE
 * if already started or stopped (a scheduler starts once); ROSTER_ESYS if
 * a thread cannot be made. */
ROSTER_EXTERN int roster_sched_start(roster_sched *s);

/* roster_sched_stop stops s: no new run starts (queued runs are dropped),
 * and the call waits until the running ones return or deadline_ms passes
 * (<0: no limit). ROSTER_ETIMEDOUT naming the jobs still running: they keep
 * their threads until they return, and then report no events. Later calls
 * return ROSTER_OK at once. Jobs may still be listed. ROSTER_ESTATE when
 * called from one of s's jobs or event callbacks (it would wait for
 * itself). */
ROSTER_EXTERN int roster_sched_stop(roster_sched *s, int64_t deadline_ms);

/* roster_sched_free stops s (with stop_timeout_ms) if needed and frees it;
 * each job's free_arg runs (for a job still running past the deadline,
 * when it returns). NULL is a no-op. No other call may use s during or
 * after it; not from s's own jobs or event callbacks. */
ROSTER_EXTERN void roster_sched_free(roster_sched *s);

/* roster_sched_add adds job `name`: fn(arg) runs at each fire time of expr
 * in the job's zone. opts may be NULL. Allowed before and after start.
 * Errors: ROSTER_EINVAL (NULL s or fn; a name that is empty or longer than
 * ROSTER_NAME_MAX; an invalid expression, with its column; one that never
 * fires; a bad option), ROSTER_EEXIST (the name is taken), ROSTER_ENOENT
 * (unknown zone), ROSTER_ESTATE (stopped), ROSTER_ENOMEM. On error nothing
 * is added and free_arg is not called. */
ROSTER_EXTERN int roster_sched_add(roster_sched *s, const char *name,
                                   const char *expr, roster_job_fn fn,
                                   void *arg, const roster_job_options *opts);

/* roster_sched_remove removes job `name` at once: the name is free again,
 * waiting runs are dropped, a running one goes on to its end (then
 * free_arg runs, on its worker). ROSTER_ENOENT if there is no such job. */
ROSTER_EXTERN int roster_sched_remove(roster_sched *s, const char *name);

/* roster_sched_enable / roster_sched_disable switch a job's schedule on
 * and off. A disabled job starts no scheduled run (a running one goes on);
 * enabled again, it resumes at its next fire time from now: the times it
 * missed are not run. Enabling an enabled job changes nothing.
 * ROSTER_ENOENT if there is no such job. */
ROSTER_EXTERN int roster_sched_enable(roster_sched *s, const char *name);
ROSTER_EXTERN int roster_sched_disable(roster_sched *s, const char *name);

/* roster_sched_run_now starts a run of `name` now, enabled or not and
 * without asking its enabled predicate, under its overlap policy:
 * ROSTER_EBUSY if the policy is skip and a run is going (or the queue is
 * full); that refusal is the caller's answer, not a SKIPPED event or a
 * skipped count. ROSTER_ENOENT for no such job; ROSTER_ESTATE unless
 * started. */
ROSTER_EXTERN int roster_sched_run_now(roster_sched *s, const char *name);

/* roster_sched_stats_get copies job `name`'s counters into *out.
 * ROSTER_ENOENT if there is no such job. */
ROSTER_EXTERN int roster_sched_stats_get(roster_sched *s, const char *name,
                                         roster_job_stats *out);

/* roster_sched_list fills *out with every job (a copy the caller frees
 * with roster_job_list_free). */
ROSTER_EXTERN int roster_sched_list(roster_sched *s, roster_job_list *out);
ROSTER_EXTERN void roster_job_list_free(roster_job_list *list);

/* roster_sched_tick makes the timer thread look at the clock now and waits
 * until it has finished that pass: every run due by then has been handed
 * to the workers (or skipped) and the pass's events delivered. The way
 * time moves with a custom clock; harmless with the real one.
 * ROSTER_ESTATE unless started, or from s's own jobs and callbacks;
 * ROSTER_ETIMEDOUT after timeout_ms (<0: no limit). */
ROSTER_EXTERN int roster_sched_tick(roster_sched *s, int64_t timeout_ms);

/* roster_sched_wait_idle waits until no run is waiting or running (their
 * events delivered, the free_arg of a job removed meanwhile called).
 * ROSTER_ETIMEDOUT after timeout_ms (<0: no limit); ROSTER_ESTATE from
 * s's own jobs and callbacks. */
ROSTER_EXTERN int roster_sched_wait_idle(roster_sched *s, int64_t timeout_ms);

/* roster_sched_type: the type of a scheduler in a registry. Its destroy
 * frees it (roster_sched_free). */
ROSTER_EXTERN extern const roster_type roster_sched_type;

/* roster_sched_provide declares a scheduler service at (ns, name), eager:
 * roster_start makes it (roster_sched_new with opts), calls opts->setup,
 * and starts it after opts->deps are ready; roster_shutdown stops it before
 * them, giving running jobs stop_timeout_ms (the provider's stop timeout is
 * a second longer). Get it with roster_sched_find to add jobs at run time; a
 * restart makes a new scheduler, with only the jobs setup adds. Errors as
 * roster_provide, and ROSTER_EINVAL for bad opts (checked now, as
 * roster_sched_new would). */
ROSTER_EXTERN int roster_sched_provide(roster *r, const char *ns,
                                       const char *name,
                                       const roster_sched_options *opts);

/* roster_sched_find stores in *out the scheduler service (ns, name) (ns
 * NULL: the default namespace), borrowed while the service is up: the
 * typed lookup of every area (ROSTER_DEFINE_FIND). Errors as roster_get
 * (ROSTER_ETYPE if the entry is not a scheduler). */
ROSTER_EXTERN int roster_sched_find(roster *r, const char *ns, const char *name,
                                    roster_sched **out);

/* roster_job_scheduled: inside a job (on the worker running it), the fire
 * time the run stands for, in Unix seconds, the `scheduled` of its
 * events: a job that records its ticks in a shared store (as clustered
 * jobs do) keys them by it. 0 for runs started by hand or at start, and
 * outside a job. */
ROSTER_EXTERN int64_t roster_job_scheduled(void);

/* roster_job_event_name: "started", "finished", "failed", "slow",
 * "skipped" ("?" otherwise). roster_job_trigger_name: "schedule",
 * "catch-up", "start", "now". */
ROSTER_EXTERN const char *roster_job_event_name(roster_job_event_kind k);
ROSTER_EXTERN const char *roster_job_trigger_name(roster_job_trigger t);

#ifdef __cplusplus
}
#endif

#endif /* ROSTER_CRON_H */
