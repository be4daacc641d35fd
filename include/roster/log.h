/*
 * roster/log.h: the structured JSON logger.
 *
 * Each line is one JSON object in pino's format, so pino's tools
 * (pino-pretty) read roster's logs:
 *   {"level":30,"time":1718000000000,"pid":42,"hostname":"box",
 *    "msg":"request handled","service":"api","status":200}
 * level is pino's number (10 trace ... 60 fatal), time is milliseconds since
 * the epoch; then "name" if the logger has one, "msg" if the call has a
 * message, the fields bound to the logger (child loggers), and the call's
 * own fields, in that order. Every string is escaped so the line always
 * parses as JSON: control bytes as \u00XX (\n, \t... as their short forms),
 * '"' and '\' escaped, and each invalid UTF-8 sequence (a stray byte, an
 * overlong form, a surrogate, a code point past U+10FFFF, a truncated
 * sequence) replaced by \ufffd, one per maximal invalid subpart as Unicode
 * recommends. Valid UTF-8 is written unchanged.
 *
 * A call at a disabled level costs a load and a compare: the macros test
 * roster_log_enabled before evaluating any argument, so nothing is
 * formatted or allocated. Fields are a compound-literal array made with the
 * RL_* macros, so a typical call allocates nothing in sync mode:
 *   RL_INFO_F(log, RL_FIELDS(RL_STR("user", u), RL_INT("status", 200)),
 *             "request handled in %d ms", ms);
 *
 * A logger writes to one or more sinks (stdout, stderr, a file, a file
 * descriptor, a callback, journald), each with its own minimum level. In
 * sync mode the calling thread writes each line with one write(2) per sink.
 * In async mode the line is formatted on the calling thread and handed to a
 * bounded wait-free queue; one writer thread per logger writes batches to
 * the sinks, normally within a millisecond. When the queue is full the line
 * is dropped and counted (a "dropped N lines" record follows), or the
 * caller waits, by option. A write to a closed pipe raises SIGPIPE, as any
 * write(2) does: a program that logs to a pipe should ignore SIGPIPE.
 *
 * Child loggers share their root's sinks and queue and add bound fields.
 * Loggers are reference-counted: a child keeps its parent alive, and
 * roster_log_free releases one handle.
 *
 * Threads: every function may be called from any thread on the same logger.
 * Lines written by one thread appear in the order it wrote them; lines from
 * different threads are never interleaved within a line.
 */
#ifndef ROSTER_LOG_H
#define ROSTER_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "registry.h"

#ifdef __cplusplus
extern "C" {
#endif

struct json_t; /* jansson's tree, for RL_JSON fields */

/* roster_log_level: pino's numbers. */
typedef enum roster_log_level {
  ROSTER_LOG_TRACE = 10,
  ROSTER_LOG_DEBUG = 20,
  ROSTER_LOG_INFO = 30,
  ROSTER_LOG_WARN = 40,
  ROSTER_LOG_ERROR = 50,
  ROSTER_LOG_FATAL = 60,
  ROSTER_LOG_SILENT = 100, /* as a logger's or sink's level: write nothing */
} roster_log_level;

/* roster_log: a logger or a child logger. Opaque; made by roster_log_new
 * or roster_log_child, released by roster_log_free. */
typedef struct roster_log roster_log;

/* ------------------------------------------------------------------ */
/* Fields                                                              */

/* roster_log_field_kind: the type of a field's value. */
typedef enum roster_log_field_kind {
  ROSTER_LOG_T_STR = 0, /* v.s, a C string (NULL is written as null) */
  ROSTER_LOG_T_STRN,    /* v.s with len bytes, may hold NUL (\u0000) */
  ROSTER_LOG_T_INT,     /* v.i */
  ROSTER_LOG_T_DOUBLE,  /* v.d; NaN and infinities are written as null */
  ROSTER_LOG_T_BOOL,    /* v.b */
  ROSTER_LOG_T_JSON,    /* v.j, a jansson tree (NULL is null); not taken */
} roster_log_field_kind;

/* roster_log_field: one key and typed value. The key and the value are
 * only read during the call. Make them with the RL_* macros. */
typedef struct roster_log_field {
  const char *key; /* NULL is written as "" */
  roster_log_field_kind type;
  size_t len; /* ROSTER_LOG_T_STRN only */
  union {
    const char *s;
    int64_t i;
    double d;
    bool b;
    struct json_t *j;
  } v;
} roster_log_field;

#define ROSTER_LOG_STR(k, val)                                                 \
  ((roster_log_field){.key = (k), .type = ROSTER_LOG_T_STR, .v = {.s = (val)}})
#define ROSTER_LOG_STRN(k, val, n)                                             \
  ((roster_log_field){                                                         \
      .key = (k), .type = ROSTER_LOG_T_STRN, .len = (n), .v = {.s = (val)}})
#define ROSTER_LOG_INT(k, val)                                                 \
  ((roster_log_field){                                                         \
      .key = (k), .type = ROSTER_LOG_T_INT, .v = {.i = (int64_t)(val)}})
#define ROSTER_LOG_DOUBLE(k, val)                                              \
  ((roster_log_field){                                                         \
      .key = (k), .type = ROSTER_LOG_T_DOUBLE, .v = {.d = (double)(val)}})
#define ROSTER_LOG_BOOL(k, val)                                                \
  ((roster_log_field){.key = (k),                                              \
                      .type = ROSTER_LOG_T_BOOL,                               \
                      .v = {.b = (val) ? true : false}})
#define ROSTER_LOG_JSON(k, val)                                                \
  ((roster_log_field){.key = (k), .type = ROSTER_LOG_T_JSON, .v = {.j = (val)}})

/* ROSTER_LOG_FIELDS(f1, f2, ...) expands to two arguments, an array
 * compound literal and its length, for the fields/n parameter pairs below;
 * ROSTER_LOG_NOFIELDS is the empty pair. */
#define ROSTER_LOG_FIELDS(...)                                                 \
  ((const roster_log_field[]){__VA_ARGS__}),                                   \
      (sizeof((const roster_log_field[]){__VA_ARGS__}) /                       \
       sizeof(roster_log_field))
#define ROSTER_LOG_NOFIELDS ((const roster_log_field *)0), ((size_t)0)

/* ------------------------------------------------------------------ */
/* Writing                                                             */

/* roster_log_level_get returns log's effective minimum level
 * (ROSTER_LOG_SILENT for NULL). */
ROSTER_EXTERN int roster_log_level_get(const roster_log *log);

/* Every roster_log starts with this; roster_log_enabled reads it. */
typedef struct roster__log_head {
  int level; /* the effective minimum level, read and written atomically */
} roster__log_head;

/* roster_log_enabled tells whether a line at level would be written by log
 * (false for a NULL log). A relaxed atomic load and a compare. */
static inline bool roster_log_enabled(const roster_log *log, int level) {
#if defined(__GNUC__) || defined(__clang__)
  return log &&
         level >= __atomic_load_n(
                      &((const roster__log_head *)(const void *)log)->level,
                      __ATOMIC_RELAXED);
#else
  return log && level >= roster_log_level_get(log);
#endif
}

/* roster_log_write writes one line at level with fields[0..n) and a
 * message made from the printf format fmt (NULL: no "msg" key). Returns
 * ROSTER_OK, also when the level is disabled (nothing is done). Errors:
 * ROSTER_EINVAL (NULL log, a level that is not one of the six, n > 0 with
 * NULL fields), ROSTER_ENOMEM (a line longer than the stack buffer could
 * not be allocated), ROSTER_EIO (sync: a sink's write failed; the other
 * sinks still got the line), ROSTER_EBUSY (async, drop mode: the queue was
 * full, the line is dropped and counted). A fatal line, in async mode, is
 * written before the call returns (the queue is flushed). Sink callbacks
 * that log to the same logger tree are ignored (no recursion). */
ROSTER_EXTERN int roster_log_write(roster_log *log, int level,
                                   const roster_log_field *fields, size_t n,
                                   const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* roster_log_writev is roster_log_write with a va_list. */
ROSTER_EXTERN int roster_log_writev(roster_log *log, int level,
                                    const roster_log_field *fields, size_t n,
                                    const char *fmt, va_list ap)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 5, 0)))
#endif
    ;

/* ROSTER_LOG_AT(log, level, fields, fmt, ...) writes a line if the level
 * is enabled; log, level and fields are evaluated once, fields and the
 * format arguments only when enabled. fields is ROSTER_LOG_FIELDS(...) or
 * ROSTER_LOG_NOFIELDS. */
#define ROSTER_LOG_AT(log, lvl, fields, ...)                                   \
  do {                                                                         \
    roster_log *roster_log_l_ = (log);                                         \
    int roster_log_v_ = (lvl);                                                 \
    if (roster_log_enabled(roster_log_l_, roster_log_v_))                      \
      (void)roster_log_write(roster_log_l_, roster_log_v_, fields,             \
                             __VA_ARGS__);                                     \
  } while (0)

/* Short names for call sites (define ROSTER_LOG_NO_SHORT_NAMES to leave
 * them out):
 *   RL_STR RL_STRN RL_INT RL_DBL RL_BOOL RL_JSON   fields
 *   RL_FIELDS(...) RL_NONE                          field lists
 *   RL_TRACE(log, fmt, ...) ... RL_FATAL             a message
 *   RL_TRACE_F(log, fields, fmt, ...) ... RL_FATAL_F a message and fields */
#ifndef ROSTER_LOG_NO_SHORT_NAMES
#define RL_STR ROSTER_LOG_STR
#define RL_STRN ROSTER_LOG_STRN
#define RL_INT ROSTER_LOG_INT
#define RL_DBL ROSTER_LOG_DOUBLE
#define RL_BOOL ROSTER_LOG_BOOL
#define RL_JSON ROSTER_LOG_JSON
#define RL_FIELDS ROSTER_LOG_FIELDS
#define RL_NONE ROSTER_LOG_NOFIELDS
#define RL_TRACE(log, ...)                                                     \
  ROSTER_LOG_AT(log, ROSTER_LOG_TRACE, RL_NONE, __VA_ARGS__)
#define RL_DEBUG(log, ...)                                                     \
  ROSTER_LOG_AT(log, ROSTER_LOG_DEBUG, RL_NONE, __VA_ARGS__)
#define RL_INFO(log, ...)                                                      \
  ROSTER_LOG_AT(log, ROSTER_LOG_INFO, RL_NONE, __VA_ARGS__)
#define RL_WARN(log, ...)                                                      \
  ROSTER_LOG_AT(log, ROSTER_LOG_WARN, RL_NONE, __VA_ARGS__)
#define RL_ERROR(log, ...)                                                     \
  ROSTER_LOG_AT(log, ROSTER_LOG_ERROR, RL_NONE, __VA_ARGS__)
#define RL_FATAL(log, ...)                                                     \
  ROSTER_LOG_AT(log, ROSTER_LOG_FATAL, RL_NONE, __VA_ARGS__)
#define RL_TRACE_F(log, f, ...)                                                \
  ROSTER_LOG_AT(log, ROSTER_LOG_TRACE, f, __VA_ARGS__)
#define RL_DEBUG_F(log, f, ...)                                                \
  ROSTER_LOG_AT(log, ROSTER_LOG_DEBUG, f, __VA_ARGS__)
#define RL_INFO_F(log, f, ...)                                                 \
  ROSTER_LOG_AT(log, ROSTER_LOG_INFO, f, __VA_ARGS__)
#define RL_WARN_F(log, f, ...)                                                 \
  ROSTER_LOG_AT(log, ROSTER_LOG_WARN, f, __VA_ARGS__)
#define RL_ERROR_F(log, f, ...)                                                \
  ROSTER_LOG_AT(log, ROSTER_LOG_ERROR, f, __VA_ARGS__)
#define RL_FATAL_F(log, f, ...)                                                \
  ROSTER_LOG_AT(log, ROSTER_LOG_FATAL, f, __VA_ARGS__)
#endif

/* ------------------------------------------------------------------ */
/* Sinks                                                               */

/* roster_log_sink_kind: where lines go. */
typedef enum roster_log_sink_kind {
  ROSTER_LOG_SINK_STDOUT = 0, /* file descriptor 1 */
  ROSTER_LOG_SINK_STDERR,     /* file descriptor 2 */
  ROSTER_LOG_SINK_FILE,       /* path, opened O_APPEND|O_CREAT (0644) */
  ROSTER_LOG_SINK_FD,         /* fd, a descriptor the caller owns */
  ROSTER_LOG_SINK_CALLBACK,   /* fn(level, line, len, arg) */
  ROSTER_LOG_SINK_JOURNALD,   /* systemd-journald's native protocol */
} roster_log_sink_kind;

/* roster_log_line_fn receives one formatted line: len bytes, without the
 * newline, NUL-terminated, valid only during the call. In sync mode it runs
 * on the logging thread (so possibly on many threads at once); in async
 * mode on the logger's writer thread, one line at a time. No roster lock is
 * held. Lines it logs to the same logger tree are ignored. */
typedef void (*roster_log_line_fn)(int level, const char *line, size_t len,
                                   void *arg);

/* roster_log_sink: one destination. {0} is stdout at the logger's level. */
typedef struct roster_log_sink {
  roster_log_sink_kind kind;
  int level;                   /* this sink's minimum level; 0: every line the
                                  logger writes (a logger's level gates first) */
  const char *path;            /* FILE: the file (copied); JOURNALD: the socket,
                                  NULL = /run/systemd/journal/socket */
  int fd;                      /* FD: written to, never closed by roster */
  roster_log_line_fn fn;       /* CALLBACK */
  void *arg;                   /* CALLBACK: passed to fn */
  void (*free_arg)(void *arg); /* CALLBACK: called once the sink is gone;
                                  may be NULL */
} roster_log_sink;

/* roster_log_sink_add adds a sink to log's tree (children share their
 * root's sinks) and puts its id (never 0) in *id (may be NULL). Errors:
 * ROSTER_EINVAL (bad kind or level, FILE without a path, CALLBACK without
 * fn, FD < 0), ROSTER_ESYS (the file cannot be opened: the detail names it
 * with the system's reason; the journald socket cannot be made),
 * ROSTER_ENOMEM. If this fails, free_arg is not called. */
ROSTER_EXTERN int
roster_log_sink_add(roster_log *log, const roster_log_sink *sink, uint64_t *id);

/* roster_log_sink_remove removes sink id. When it returns, no line is being
 * written to it and none will be; a file sink's file is closed and a
 * callback's free_arg has run. ROSTER_ENOENT for an unknown id. Must not be
 * called from a sink callback. */
ROSTER_EXTERN int roster_log_sink_remove(roster_log *log, uint64_t id);

/* ------------------------------------------------------------------ */
/* Loggers                                                             */

/* roster_log_options: how to make a logger. {0} means the defaults: level
 * info, one stdout sink, sync. The names match the config keys log.level,
 * log.name, log.file, log.async, log.queue_lines, log.block,
 * log.drop_report_ms and log.reopen_on_sighup (see docs/log.md). */
typedef struct roster_log_options {
  int level;        /* minimum level; 0 = ROSTER_LOG_INFO */
  const char *name; /* written as "name" on every line; NULL = none */
  const char *file; /* append to this file instead of stdout */
  const roster_log_sink *sinks; /* if nsinks > 0: these sinks instead of
                                   the default (stdout, or file) */
  size_t nsinks;
  bool async;             /* queue lines to a writer thread */
  size_t queue_lines;     /* async queue capacity, rounded up to a power of
                             two; 0 = 4096 */
  bool block;             /* async, queue full: the caller waits (true) or
                             the line is dropped and counted (false) */
  int64_t drop_report_ms; /* at most one "dropped N lines" record per this
                             many ms; 0 = 1000 */
  bool reopen_on_sighup;  /* roster_log_reopen_on_sighup at creation */
} roster_log_options;

/* roster_log_new makes a root logger in *out. opts may be NULL for the
 * defaults. Strings are copied. Returns ROSTER_OK, or ROSTER_EINVAL for a
 * bad level, queue size above 2^24, sink or a NULL out; ROSTER_ESYS if a
 * file cannot be opened or the writer thread cannot start; ROSTER_ENOMEM;
 * the detail is in roster_last_error() and *out is NULL on failure. The
 * caller owns the handle (roster_log_free). The hostname and pid are read
 * once here (the pid again in a forked child). */
ROSTER_EXTERN int roster_log_new(const roster_log_options *opts,
                                 roster_log **out);

/* roster_log_child makes a logger that writes through log's sinks with
 * fields[0..n) bound: they are encoded once, now, and written on each of
 * its lines after the parent's bound fields. The child follows its
 * parent's level until roster_log_level_set gives it its own. One
 * allocation; it holds a reference to log. Stores it in *out (NULL on
 * failure): ROSTER_OK, ROSTER_EINVAL for a NULL log or out or NULL fields
 * with n > 0, ROSTER_ENOMEM. The caller owns the child (roster_log_free). */
ROSTER_EXTERN int roster_log_child(roster_log *log,
                                   const roster_log_field *fields, size_t n,
                                   roster_log **out);

/* roster_log_free releases the caller's handle on log. NULL is a no-op.
 * A logger lives while its children or a registry entry (roster_log_register)
 * hold it; when the last handle of a root goes, its queue is flushed, the
 * writer thread stops, the SIGHUP watch is removed and the sinks are closed.
 * Must not be called from a sink callback of the same tree. */
ROSTER_EXTERN void roster_log_free(roster_log *log);

/* roster_log_level_set sets log's minimum level (ROSTER_LOG_TRACE ...
 * ROSTER_LOG_FATAL, ROSTER_LOG_SILENT; 0 = follow the parent again, or info
 * for a root). Children that follow log follow the change at once.
 * ROSTER_EINVAL for another value. */
ROSTER_EXTERN int roster_log_level_set(roster_log *log, int level);

/* roster_log_level_parse reads a level name into *out: "trace", "debug",
 * "info", "warn" (or "warning"), "error", "fatal", "silent" (or "off"), in
 * any case, or pino's number ("30"). ROSTER_EINVAL naming the text
 * otherwise; *out is untouched then. */
ROSTER_EXTERN int roster_log_level_parse(const char *text, int *out);

/* roster_log_level_name returns "trace" ... "fatal", "silent", or "?". */
ROSTER_EXTERN const char *roster_log_level_name(int level);

/* roster_log_flush waits until every line log's tree accepted before the
 * call has been written to the sinks (async mode), including a pending
 * "dropped N lines" record. Written means handed to the kernel (no fsync).
 * ROSTER_OK at once in sync mode. Must not be called from a sink callback. */
ROSTER_EXTERN int roster_log_flush(roster_log *log);

/* roster_log_reopen reopens every file sink of log's tree by path (after
 * logrotate moved the file). Each new file replaces the old descriptor
 * atomically (dup2), so no line is lost or split between the two files.
 * ROSTER_ESYS naming the first file that could not be opened (that sink
 * keeps its old file; the others are still reopened). */
ROSTER_EXTERN int roster_log_reopen(roster_log *log);

/* roster_log_reopen_on_sighup makes SIGHUP call roster_log_reopen (through
 * roster_signal_watch, so other SIGHUP watchers still run) until the root
 * is freed. Calling it again is a no-op. ROSTER_ESYS if the watch cannot be
 * set up. */
ROSTER_EXTERN int roster_log_reopen_on_sighup(roster_log *log);

/* roster_log_stats: counters of a logger tree since roster_log_new. */
typedef struct roster_log_stats {
  uint64_t written; /* lines handed to the sinks (a line counts once) */
  uint64_t dropped; /* lines dropped because the async queue was full */
  uint64_t errors;  /* failed sink writes */
  uint64_t queued;  /* async: lines in the queue now */
} roster_log_stats;

/* roster_log_stats_get fills *out. ROSTER_EINVAL for NULL arguments. */
ROSTER_EXTERN int roster_log_stats_get(roster_log *log, roster_log_stats *out);

/* ------------------------------------------------------------------ */
/* In a registry                                                       */

/* roster_log_type: the type descriptor of loggers in a registry; its
 * destroy releases the registry's handle (roster_log_free). */
ROSTER_EXTERN extern const roster_type roster_log_type;

/* roster_log_register registers log under (ns, name) (e.g. "log") with
 * roster_log_type, taking a handle of its own, so the caller keeps (and
 * must still free) theirs. Code finds it with roster_log_find, and
 * providers may depend on it by name. Errors as roster_register; on error
 * no handle is taken. */
ROSTER_EXTERN int roster_log_register(roster *r, const char *ns,
                                      const char *name, roster_log *log);

/* roster_log_find stores in *out the logger service (ns, name) (ns NULL:
 * the default namespace), borrowed while the service is up (the
 * registry's handle; take one of your own with roster_log_child if you
 * keep it longer): the typed lookup of every area (ROSTER_DEFINE_FIND).
 * Errors as roster_get (ROSTER_ETYPE if the entry is not a logger). */
ROSTER_EXTERN int roster_log_find(roster *r, const char *ns, const char *name,
                                  roster_log **out);

/* roster_log_attach logs r's events through log: each service state change
 * (starting, started, restarted, degraded, unhealthy, recovered, stopping,
 * stopped, failed) with the fields service, ns, state, from, error and
 * duration_ms, and registrations at debug level (see docs/log.md for the
 * levels). It takes a handle on log until roster_log_detach or roster_free.
 * ROSTER_EEXIST if log is already attached to r. */
ROSTER_EXTERN int roster_log_attach(roster *r, roster_log *log);

/* roster_log_detach stops logging r's events to log. ROSTER_ENOENT if it
 * was not attached. */
ROSTER_EXTERN int roster_log_detach(roster *r, roster_log *log);

#ifdef __cplusplus
}
#endif

#endif /* ROSTER_LOG_H */
