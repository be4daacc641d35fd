/*
 * roster/error.h: the one error enum, its names and messages, and the
 * per-thread error detail.
 *
 * Every roster call that can fail returns an int: ROSTER_OK (0) or one of the
 * negative codes below. The codes are generated from ROSTER_ERRNO_MAP; new
 * codes are only ever appended, never renumbered or removed. A failing call
 * also leaves a sentence for a person in a per-thread buffer, read back with
 * roster_last_error() (like dlerror, but it is not cleared by reading).
 */
#ifndef ROSTER_ERROR_H
#define ROSTER_ERROR_H

#include "version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, value, message). Append only. */
#define ROSTER_ERRNO_MAP(X)                                                    \
  X(OK, 0, "success")                                                          \
  X(EINVAL, -1, "invalid argument")                                            \
  X(ENOMEM, -2, "out of memory")                                               \
  X(ENOENT, -3, "not found")                                                   \
  X(EEXIST, -4, "already exists")                                              \
  X(ETYPE, -5, "wrong type")                                                   \
  X(ETIMEDOUT, -6, "timed out")                                                \
  X(ENOTSUP, -7, "not supported in this build")                                \
  X(EBUSY, -8, "resource busy")                                                \
  X(EAMBIGUOUS, -9, "more than one match")                                     \
  X(ESTATE, -10, "invalid state for this call")                                \
  X(ECANCELED, -11, "canceled")                                                \
  X(EIO, -12, "input/output error")                                            \
  X(ERANGE, -13, "value out of range")                                         \
  X(ESYS, -14, "system call failed")                                           \
  X(ECYCLE, -15, "dependency cycle")                                           \
  X(EFAILED, -16, "service failed")                                            \
  X(EPARSE, -17, "parse error")                                                \
  X(ECONN, -18, "connection failed")                                           \
  X(EREMOTE, -19, "the server reported an error")                              \
  X(EREADONLY, -20, "read-only")                                               \
  X(ECONSTRAINT, -21, "constraint violated")                                   \
  X(EPROTO, -22, "protocol error")

/* roster_err: every code the library returns. */
typedef enum roster_err {
#define ROSTER__ERR_ENUM(name, value, msg) ROSTER_##name = (value),
  ROSTER_ERRNO_MAP(ROSTER__ERR_ENUM)
#undef ROSTER__ERR_ENUM
} roster_err;

/* roster_strerror returns a static, human-readable message for code, or
 * "unknown error" for a value that is not a roster code. Thread-safe. */
ROSTER_EXTERN const char *roster_strerror(int code);

/* roster_err_name returns the code's name without the prefix ("ENOENT"), or
 * "UNKNOWN". The string is static. Thread-safe. */
ROSTER_EXTERN const char *roster_err_name(int code);

/* roster_last_error returns the detail of the most recent failed roster call
 * on the calling thread: a sentence naming what was wrong ("service 'mian'
 * not found in namespace 'production' (did you mean 'main'?); registered:
 * cache, main"). A foreign library's message is kept verbatim inside it.
 * It is valid UTF-8 and holds no control character: a control byte (C0,
 * DEL, C1), a byte that is not UTF-8, a line separator or a bidi override
 * is written \xNN, so the detail can be logged or shown as it is.
 * Returns "" if no call has failed on this thread. The pointer is owned by
 * the thread and valid until its next roster call. Successful calls do not
 * clear it (like errno). A thread keeps its detail in a page it maps on its
 * first failure; if that page cannot be had (the address space is full),
 * the detail is roster_strerror(roster_last_code()). */
ROSTER_EXTERN const char *roster_last_error(void);

/* roster_last_code returns the code of the most recent failed roster call on
 * the calling thread, or ROSTER_OK if none has failed. */
ROSTER_EXTERN int roster_last_code(void);

/* roster_error_set lets code that runs inside roster callbacks (a destroy or
 * health function, a module) report a failure the same way the library does:
 * it sets the calling thread's detail from a printf format and returns code,
 * so `return roster_error_set(ROSTER_EIO, "...", ...);` reads naturally. A
 * detail longer than 1023 bytes is truncated; control bytes are escaped
 * as roster_last_error says (which may shorten it further). */
ROSTER_EXTERN int roster_error_set(int code, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* roster_error_clear resets the calling thread's detail to "" and its code
 * to ROSTER_OK. */
ROSTER_EXTERN void roster_error_clear(void);

#ifdef __cplusplus
}
#endif

#endif /* ROSTER_ERROR_H */
