/*
 * testutil.h: helpers shared by the cmocka tests.
 *
 * assert_ok/assert_rc print roster's error name and detail on failure, so a
 * failing test says why. cmocka asserts only on the test's own thread: worker
 * threads record what they saw and the main thread asserts after joining.
 */
#ifndef ROSTER_TESTUTIL_H
#define ROSTER_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "roster.h"

/* assert_rc fails the test unless expr returns want, printing the detail. */
#define assert_rc(expr, want)                                                  \
  do {                                                                         \
    int rc_ = (expr);                                                          \
    int want_ = (want);                                                        \
    if (rc_ != want_) {                                                        \
      print_error("%s:%d: %s returned %s (%d), want %s; detail: %s\n",         \
                  __FILE__, __LINE__, #expr, roster_err_name(rc_), rc_,        \
                  roster_err_name(want_), roster_last_error());                \
      fail();                                                                  \
    }                                                                          \
  } while (0)

#define assert_ok(expr) assert_rc((expr), ROSTER_OK)

/* tu_registry makes a registry with roster_new(options, &r) and fails the
 * test (naming the caller's line and roster's detail) unless it returns
 * ROSTER_OK and a registry. For the tests that need a registry; the tests
 * of roster_new itself call it directly. Test thread only. */
#define tu_registry(options)                                                   \
  roster__tu_registry_at((options), __FILE__, __LINE__)
roster *roster__tu_registry_at(const roster_options *options, const char *file,
                               int line);

/* tu_owner makes an owner with roster_owner_new and fails the test (naming
 * the caller's line) unless it returns ROSTER_OK and an owner. */
#define tu_owner() roster__tu_owner_at(__FILE__, __LINE__)
roster_owner *roster__tu_owner_at(const char *file, int line);

/* assert_new_fails(T, call): call, a constructor given &bad_ (a T *, set
 * to a non-NULL value first) as its out-parameter, must fail and set bad_
 * to NULL. For the tests of a constructor's errors. */
#define assert_new_fails(T, call)                                              \
  do {                                                                         \
    T *bad_ = (T *)&bad_;                                                      \
    assert_int_not_equal((call), ROSTER_OK);                                   \
    assert_null(bad_);                                                         \
  } while (0)

/* roster__tu_counter_type: a type whose destroy counts calls in
 * roster__tu_destroyed. */
extern const roster_type roster__tu_counter_type;
extern const roster_type roster__tu_other_type;
int roster__tu_destroyed(void); /* destroys so far (atomic) */
void roster__tu_reset_destroyed(void);

/* tu_obj: an instance that counts its own destroys, for the types whose
 * destroy is roster__tu_obj_destroy; id tells instances apart. */
typedef struct tu_obj {
  atomic_int destroyed;
  int id;
} tu_obj;
void roster__tu_obj_init(tu_obj *o, int id); /* no destroys yet */
void roster__tu_obj_destroy(void *p);        /* a roster_type's destroy */
int roster__tu_obj_destroyed(tu_obj *o);     /* destroys so far (atomic) */

/* roster__tu_wait_destroyed waits (bounded, ~10 s) until at least n destroys
 * have happened; returns the count seen. Destroy runs on the reclaim thread. */
int roster__tu_wait_destroyed(int n);

/* roster__tu_now_ns: CLOCK_MONOTONIC in nanoseconds. */
uint64_t roster__tu_now_ns(void);

#include <pthread.h>
#include <stdbool.h>

/* tu_reglog: a recorder of registry events. Pass roster__tu_reglog_listener
 * with the recorder as arg to roster_listen. It counts every event in n and
 * keeps the first TU_REGLOG_MAX, each with what the listener could see
 * then: whether roster_has finds the entry, and roster__tu_destroyed(). Fields
 * of an event without an entry are "(null)" / NULL. */
#define TU_REGLOG_MAX 64
typedef struct tu_regev {
  roster *r;
  int kind;   /* roster_event_kind */
  int reason; /* roster_reason */
  char ns[ROSTER_NAME_MAX + 1];
  char name[ROSTER_NAME_MAX + 1];
  const roster_type *type;
  void *instance;
  roster_owner *owner;
  char meta[32]; /* the first meta_len bytes, when they fit */
  size_t meta_len;
  bool visible;       /* roster_has(ns, name) inside the listener */
  int destroyed_then; /* roster__tu_destroyed() inside the listener */
  pthread_t thread;   /* the thread the listener ran on */
} tu_regev;
typedef struct tu_reglog {
  pthread_mutex_t mu;
  size_t n; /* events seen (ev holds the first TU_REGLOG_MAX) */
  tu_regev ev[TU_REGLOG_MAX];
} tu_reglog;
void roster__tu_reglog_init(tu_reglog *l);
void roster__tu_reglog_fini(tu_reglog *l);
size_t roster__tu_reglog_count(tu_reglog *l); /* n, read under the lock */
void roster__tu_reglog_listener(roster *r, const roster_event *ev, void *arg);

/* ------------------------------------------------------------------ */
/* Lifecycle helpers (tests/lifecycle) */

/* roster__tu_sleep_ms sleeps ms milliseconds. */
void roster__tu_sleep_ms(long ms);

/* tu_wait_until polls cond every millisecond until it holds or ms pass.
 * A bound on how long a broken build can hang, never a timing assertion:
 * assert the condition afterwards. */
#define tu_wait_until(cond, ms)                                                \
  do {                                                                         \
    uint64_t tu_end_ = roster__tu_now_ns() + (uint64_t)(ms)*1000000u;          \
    while (!(cond) && roster__tu_now_ns() < tu_end_)                           \
      roster__tu_sleep_ms(1);                                                  \
  } while (0)

/* assert_eventually_equal waits (polling, bounded by ms) until a == b, then
 * asserts a == b: the wait bounds how long a broken build can hang, the
 * assertion is what the test claims. a and b are read again each time. */
#define assert_eventually_equal(a, b, ms)                                      \
  do {                                                                         \
    tu_wait_until((a) == (b), (ms));                                           \
    assert_int_equal((a), (b));                                                \
  } while (0)

/* roster__tu_state returns the state of (ns, name), or -1 if
 * roster_service_state fails. */
int roster__tu_state(roster *r, const char *ns, const char *name);

/* roster__tu_wait_state polls until (ns, name) is in state want (bounded by
 * ms); returns the last state seen (-1 if roster_service_state failed). */
int roster__tu_wait_state(roster *r, const char *ns, const char *name,
                          roster_state want, long ms);

/* assert_state fails unless (ns, name) reaches want within ms, printing the
 * state it is in. */
#define assert_state(r, ns, name, want, ms)                                    \
  do {                                                                         \
    int st_ = roster__tu_wait_state((r), (ns), (name), (want), (ms));          \
    if (st_ != (int)(want)) {                                                  \
      print_error(                                                             \
          "%s:%d: service '%s' is %s, want %s\n", __FILE__, __LINE__, (name),  \
          st_ < 0 ? "(no provider)" : roster_state_name((roster_state)st_),    \
          roster_state_name(want));                                            \
      fail();                                                                  \
    }                                                                          \
  } while (0)

/* assert_contains fails unless needle occurs in haystack. */
#define assert_contains(haystack, needle)                                      \
  do {                                                                         \
    const char *h_ = (haystack);                                               \
    const char *n_ = (needle);                                                 \
    if (!h_ || !strstr(h_, n_)) {                                              \
      print_error("%s:%d: \"%s\" does not contain \"%s\"\n", __FILE__,         \
                  __LINE__, h_ ? h_ : "(null)", n_);                           \
      fail();                                                                  \
    }                                                                          \
  } while (0)

/* tu_log: an ordered record of what happened (e.g. "create:db"), appended
 * by any thread under a mutex, read by the test thread. */
#define TU_LOG_MAX 512
typedef struct tu_log {
  pthread_mutex_t mu;
  size_t n;
  char items[TU_LOG_MAX][64];
} tu_log;
void roster__tu_log_init(tu_log *l);
void roster__tu_log_fini(tu_log *l);
void roster__tu_log_add(tu_log *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
size_t roster__tu_log_len(tu_log *l);
/* roster__tu_log_find: index of the first item equal to s at or after from, or
 * -1. */
int roster__tu_log_find(tu_log *l, const char *s, size_t from);
/* roster__tu_log_rfind: index of the last item equal to s, or -1. */
int roster__tu_log_rfind(tu_log *l, const char *s);
/* roster__tu_log_count: how many items equal s. */
int roster__tu_log_count(tu_log *l, const char *s);
/* roster__tu_log_dump prints the log (for failure messages). */
void roster__tu_log_dump(tu_log *l);

/* roster__tu_health_item finds name in roster_health's report: copies its item
 * to out (its strings set to NULL, as the report is freed), its last detail to
 * detail[cap], and the report's ready flag to *ready (when not NULL). Returns
 * roster_health's error, ROSTER_ENOENT when name is not in the report, or
 * ROSTER_OK. */
int roster__tu_health_item(roster *r, const char *name,
                           roster_service_health *out, char *detail, size_t cap,
                           bool *ready);

/* tu_events: a ROSTER_EV_STATE recorder. Pass roster__tu_events_listener with
 * the recorder as arg to roster_listen. */
#define TU_EV_MAX 1024
typedef struct tu_ev {
  char ns[64];
  char name[64];
  roster_state from, to;
  int64_t at_ns, at_unix_ms;
  int error;
  char detail[256];
  bool final;
  bool kind_ok;   /* ev->kind == ROSTER_EV_STATE, state != NULL */
  int seen_state; /* roster_service_state from inside the listener */
} tu_ev;
typedef struct tu_events {
  pthread_mutex_t mu;
  size_t n;
  size_t dropped;
  tu_ev v[TU_EV_MAX];
} tu_events;
tu_events *
roster__tu_events_new(void); /* calloc'd; free with roster__tu_events_free */
void roster__tu_events_free(tu_events *e);
/* roster__tu_events_listen makes a recorder and listens with it to r's
 * ROSTER_EV_STATE events, failing the test if either fails. */
tu_events *roster__tu_events_listen(roster *r);
void roster__tu_events_listener(roster *r, const roster_event *ev, void *arg);
/* roster__tu_events_count: transitions of name into to (to < 0: any). */
size_t roster__tu_events_count(tu_events *e, const char *name, int to);
/* roster__tu_events_get copies name's transitions (in arrival order) into out.
 */
size_t roster__tu_events_get(tu_events *e, const char *name, tu_ev *out,
                             size_t cap);
void roster__tu_events_dump(tu_events *e, const char *name);

/* tu_svc: a configurable provider. create logs "create:<name>" (and
 * "created:<name>" when it returns), checks what it is given in deps and
 * makes a malloc'd tu_inst; destroy logs "destroy:<name>" and
 * "destroyed:<name>" and frees it. */
#define TU_SVC_DEPS 8
typedef struct tu_svc {
  const char *name;
  tu_log *log;                       /* may be NULL */
  const char *deps[TU_SVC_DEPS + 1]; /* NULL-terminated */
  int fail_code;        /* create returns this (with a detail) if != 0 */
  long sleep_ms;        /* create sleeps this long first */
  atomic_int creates;   /* create calls begun */
  atomic_int destroys;  /* destroy calls finished */
  atomic_bool deps_bad; /* what create got in deps was wrong */
  atomic_llong start_ns, end_ns; /* the last create's span */
  atomic_int live_instances;
} tu_svc;
typedef struct tu_inst {
  tu_svc *svc;
  int gen; /* which create made it (1, 2, ...) */
  size_t ndeps;
  void *deps[TU_SVC_DEPS]; /* what roster_deps_get returned */
} tu_inst;
extern const roster_type roster__tu_svc_type;
/* roster__tu_svc_init sets up s; deps is a NULL-terminated list (NULL: none).
 */
void roster__tu_svc_init(tu_svc *s, const char *name, tu_log *log,
                         const char *const *deps);
/* roster__tu_svc_provider: an eager provider for s (type roster__tu_svc_type).
 */
roster_provider roster__tu_svc_provider(tu_svc *s);
/* tu_provide declares s as (ns, name) with roster__tu_svc_provider, lazy or
 * eager, and fails the test (naming the caller's line) unless roster_provide
 * returns ROSTER_OK. */
#define tu_provide(r, ns, name, s, lazy)                                       \
  roster__tu_provide_at((r), (ns), (name), (s), (lazy), __FILE__, __LINE__)
void roster__tu_provide_at(roster *r, const char *ns, const char *name,
                           tu_svc *s, bool lazy, const char *file, int line);
int roster__tu_svc_create(void *arg, const roster_deps *deps, void **out);
void roster__tu_svc_destroy(void *arg, void *instance);

/* tu_flaky: a tu_svc whose first fail_first creates fail with ROSTER_EIO.
 * One create of a service runs at a time, so fail_code needs no lock. */
typedef struct tu_flaky {
  tu_svc svc; /* first: roster__tu_svc_destroy takes the same arg */
  int fail_first;
} tu_flaky;
/* roster__tu_flaky_init clears f and sets it up as roster__tu_svc_init does. */
void roster__tu_flaky_init(tu_flaky *f, const char *name, tu_log *log,
                           const char *const *deps, int fail_first);
/* roster__tu_flaky_provider: an eager provider for f (type
 * roster__tu_svc_type). */
roster_provider roster__tu_flaky_provider(tu_flaky *f);

/* tu_gate: a one-shot gate a callback blocks on until the test opens it.
 * roster__tu_gate_wait gives up after max_ms (so a failed test cannot hang the
 * process forever) and returns whether the gate was opened. */
typedef struct tu_gate {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool open;
  atomic_int waiting; /* callers inside roster__tu_gate_wait */
  atomic_int passed;  /* callers that left it */
} tu_gate;
void roster__tu_gate_init(tu_gate *g);
void roster__tu_gate_open(tu_gate *g);
bool roster__tu_gate_wait(tu_gate *g, long max_ms);

/* roster__tu_server_url returns the URL of a real test server ("PG", "MARIADB",
 * "REDIS": $ROSTER_TEST_<WHICH>_URL, set by scripts/test.sh, which starts
 * the servers). When it is unset the test is skipped, or fails when
 * ROSTER_TEST_REQUIRE_SERVERS=1 (as in `make test` and CI): a missing
 * server is never a silent pass. Call it from the test's own thread. */
const char *roster__tu_server_url(const char *which);

/* roster__tu_peers_ok tells whether the peers an interop test drives are
 * here: each npm package of packages (NULL-terminated, may be NULL) under
 * dir/node_modules (scripts/npm.sh installs them), and each program of
 * tools (NULL-terminated, may be NULL): a name found on PATH, or a path
 * that is executable. When one is missing the test fails (print_error,
 * fail) if ROSTER_TEST_REQUIRE_SERVERS=1 (as in `make test` and CI), else
 * it says it skips and returns false: the caller skips. Call it from the
 * test's own thread. */
bool roster__tu_peers_ok(const char *dir, const char *const *packages,
                         const char *const *tools);

/* roster__tu_unique_name writes prefix + "_" + pid + "_" + a process-wide
 * counter into buf: a table, database or key prefix no other test process (the
 * sanitizer variants and parallel CTest jobs share the servers) can be
 * using at the same time. Returns buf. */
char *roster__tu_unique_name(char *buf, size_t cap, const char *prefix);

/* roster__tu_env_with returns a new environment for a child process: this
 * process's, without the variables whose names start with drop (NULL:
 * none dropped), then the "NAME=value" strings of add (NULL-terminated).
 * The array is the caller's to free (free); its strings are environ's and
 * add's. Asserts on memory. */
char **roster__tu_env_with(const char *drop, const char *const *add);

/* roster__tu_wait_child waits for the child pid to end and returns its
 * wait status. Between looks it calls tick(arg) when tick is not NULL
 * (the test's work while the child runs, e.g. a restart it asks for) and
 * sleeps 5 ms. Past timeout_s it kills the child and fails the test,
 * naming what. Test thread only. */
int roster__tu_wait_child(int pid, int timeout_s, const char *what,
                          void (*tick)(void *arg), void *arg);

/* ------------------------------------------------------------------ */
/* Private servers (tests/lib/private_server.c): a PostgreSQL, MariaDB or
 * Redis of the test's own, for the tests that stop and restart a server;
 * the shared servers of scripts/services.sh stay up for the other tests. */

/* roster__tu_free_port binds port 0 on loopback and reads the port back,
 * skipping 47000-49999, where the shared servers of make test and of other runs
 * listen. Returns -1 when it finds none. */
int roster__tu_free_port(void);

typedef struct tu_private_server {
  const char *kind; /* "pg", "mariadb" or "redis" */
  char top[128];    /* the directory the guardian removes */
  char dir[160];    /* the server's own, under top */
  int port;
  char url[512]; /* the URL start-one printed */
  bool up;       /* started and not stopped since */
} tu_private_server;

/* roster__tu_private_open starts a server of kind for this process: it makes a
 * fresh directory /tmp/<prefix>-XXXXXX (open to PostgreSQL's user), forks
 * a guardian that stops the server and removes the directory when this
 * process ends, however it ends (even killed), picks a free port and runs
 * scripts/services.sh start-one. Returns 0, or -1 with the reason printed.
 * The guardian lives until the process exits, so call it a few times per
 * process, not per case. */
int roster__tu_private_open(tu_private_server *s, const char *kind,
                            const char *prefix);
/* roster__tu_private_start starts the server again (start-one) on the same
 * directory and port. Returns 0, or -1 with start-one's last line
 * printed. */
int roster__tu_private_start(tu_private_server *s);
/* roster__tu_private_stop stops the server (stop-one); returns system()'s
 * status (0: stopped). */
int roster__tu_private_stop(tu_private_server *s);
/* roster__tu_private_close stops the server and removes its directory. Returns
 * 0, or -1 when the directory could not be removed. */
int roster__tu_private_close(tu_private_server *s);

/* LC_LONG_MS: a bound no correct build reaches. */
#define LC_LONG_MS 30000

#endif
