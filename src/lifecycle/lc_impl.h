/*
 * lc_impl.h: the lifecycle's private structures, shared by lifecycle.c,
 * lc_start.c, lc_supervise.c, workers.c and graph.c. Never installed.
 *
 * One mutex per registry (lc->lock) guards every service's state; no user
 * function (create, destroy, check, listener) ever runs with it held. Work
 * runs on a bounded worker pool whose timer abandons jobs that overrun.
 */
#ifndef ROSTER_LC_IMPL_H
#define ROSTER_LC_IMPL_H

#include "core/roster_impl.h"

/* lc_copy copies src into dst (cap bytes), cut short if it must be. */
static inline void lc_copy(char *dst, size_t cap, const char *src) {
  size_t n = src ? strnlen(src, cap - 1) : 0;
  memcpy(dst, src ? src : "", n);
  dst[n] = '\0';
}

/* ---- worker pool (workers.c) ------------------------------------------ */

typedef struct roster__workers roster__workers;
typedef struct roster__job roster__job;

enum {
  ROSTER__JOB_QUEUED,
  ROSTER__JOB_RUNNING,
  ROSTER__JOB_DONE,
  ROSTER__JOB_ABANDONED
};

/* A job: run on a worker; then done (on that worker) if it finished in
 * time, or on_timeout (on the pool's timer thread) once it overran
 * timeout_ns, and late (on the abandoned worker) when it finally returns.
 * drop frees it when the last reference goes. */
struct roster__job {
  void (*run)(roster__job *j);
  void (*done)(roster__job *j);
  void (*on_timeout)(roster__job *j);
  void (*late)(roster__job *j);
  void (*drop)(roster__job *j);
  int64_t timeout_ns; /* 0: none */
  unsigned prio;      /* higher runs first; FIFO among equals */
  /* pool-owned */
  atomic_uint refs;
  int status; /* ROSTER__JOB_*, under the pool lock */
  int64_t deadline_ns;
  roster__job *next; /* queue or running list */
  void *worker;
};

roster__workers *roster__workers_new(unsigned workers);
/* roster__workers_submit queues j (taking the caller's reference). */
void roster__workers_submit(roster__workers *p, roster__job *j);
void roster__job_put(roster__job *j);
/* roster__workers_free waits for every worker that is not abandoned; jobs
 * still queued are dropped without running. */
void roster__workers_free(roster__workers *p);
/* roster__in_worker: the calling thread is a pool worker. */
bool roster__in_worker(void);

/* ---- services ------------------------------------------------------ */

typedef struct roster__lc roster__lc;
typedef struct roster__svc roster__svc;

/* roster__inst: one created instance. Referenced by the service while up
 * or stopping and by its registry entry until reclaim. */
enum { ROSTER__INST_LIVE, ROSTER__INST_RELEASED, ROSTER__INST_ORPHANED };
typedef struct roster__inst roster__inst;
struct roster__inst {
  atomic_uint refs;
  atomic_int state;     /* ROSTER__INST_* */
  roster__entry *entry; /* once RELEASED: to free after a grace period */
  roster__lc *lc;       /* held */
  void *instance;
  const roster_type *type;
  roster_destroy_fn destroy;
  void *arg;
};

enum roster__after {
  ROSTER__AFTER_STAY,
  ROSTER__AFTER_RESTART,
  ROSTER__AFTER_WAIT_DEP,
  ROSTER__AFTER_FAIL
};

struct roster__svc {
  roster__svc *next;  /* declaration order */
  roster__svc *hnext; /* hash chain */
  uint64_t hash;
  char *ns, *name;   /* owned */
  roster_provider p; /* copy, defaults applied; p.deps unused */
  size_t ndeps;
  char **deps;           /* owned names */
  roster__svc **dep_svc; /* provider per dep in this lc, or NULL */
  roster__svc **users;   /* reverse edges (services depending on it) */
  size_t nusers, cap_users;
  /* state */
  roster_state state;
  int64_t since_ns, since_unix_ms;
  int err;
  char detail[512];
  roster__inst *inst; /* while up or stopping */
  uint64_t attempt;   /* creations begun */
  uint64_t up_seq;
  bool want_up;             /* should be running (start, restart) */
  bool stop_req;            /* asked to stop; only while up, starting or
                               stopping */
  enum roster__after after; /* what a finished stop leads to */
  unsigned start_gen;       /* roster_start call that wants it */
  /* health */
  bool unhealthy, live_ok;
  unsigned ready_fails, ready_passes, live_fails;
  bool checking;
  int64_t next_check_ns, last_check_ns, last_latency_us;
  /* restart */
  unsigned restarts;
  int64_t *hist; /* last p.max_restarts restart times */
  size_t hist_n;
  int64_t restart_at_ns; /* 0: none scheduled */
  bool final;
  /* cycle search */
  int mark;
  /* scheduling: the longest chain of services above (users) and below
   * (dependencies) this one, itself included; the pool runs the longest
   * first, so a start (or a stop) works down its critical path first */
  unsigned rank_up, rank_down;
  int rmark_up, rmark_down;
};

/* A queued state event, delivered outside the lock in order. */
typedef struct roster__sev {
  struct roster__sev *next;
  roster__svc *svc;
  void *instance;
  roster_state_change ch;
  char detail[512];
} roster__sev;

enum {
  ROSTER__LC_IDLE,
  ROSTER__LC_RUNNING,
  ROSTER__LC_STOPPING,
  ROSTER__LC_DOWN,
  ROSTER__LC_CLOSED
};

struct roster__lc {
  roster *r;
  atomic_uint refs; /* 1 for r + 1 per live instance record */
  pthread_mutex_t lock;
  pthread_cond_t cond; /* any state change */
  roster__svc *head, *tail;
  size_t n;
  roster__svc **buckets;
  size_t nbuckets;
  bool dirty; /* edges need resolving */
  int phase;  /* ROSTER__LC_* */
  unsigned start_gen;
  bool start_active;         /* a roster_start is counting */
  size_t start_pending;      /* its services not up yet */
  roster__svc *start_failed; /* its first failure */
  uint64_t seq;
  uint64_t rng;
  roster__workers *workers;
  /* supervisor (lc_supervise.c) */
  pthread_t sup;
  bool sup_started, sup_stop;
  pthread_cond_t sup_cond;
  /* events */
  roster__sev *ev_head, *ev_tail;
  bool draining;
  pthread_t drainer;
  uint64_t ev_queued, ev_done;
};

/* lifecycle.c */
int64_t roster__mono_ns(void);
/* roster__fn_failed: a provider's function (what: "create", "readiness
 * check"...) of service name returned rc, not ROSTER_OK, on this thread.
 * Writes the reason into buf: the function's own detail (roster_error_set),
 * else the code's message; for a value that is not a roster error code
 * (positive, or an unknown negative one) it says what was returned, and the
 * result is ROSTER_EFAILED instead of rc. */
int roster__fn_failed(const char *name, const char *what, int rc, char *buf,
                      size_t cap);
roster__svc *roster__svc_find(roster__lc *lc, const char *ns, size_t ns_len,
                              const char *name, size_t name_len);
bool roster__svc_up(const roster__svc *s);
bool roster__deps_ready(const roster__svc *s);
bool roster__deps_up(const roster__svc *s);
roster_state roster__up_state(const roster__svc *s);
void roster__inst_put(roster__inst *in);
void roster__set_state(roster__lc *lc, roster__svc *s, roster_state to, int err,
                       const char *detail);
void roster__drain(roster__lc *lc, bool wait);
int roster__resolve(roster__lc *lc, roster__svc *only);
void roster__kick_start(roster__lc *lc, roster__svc *s);
void roster__kick_stop(roster__lc *lc, roster__svc *s);
void roster__kick_all(roster__lc *lc);
void roster__request_stop(roster__lc *lc, roster__svc *s,
                          enum roster__after after);
void roster__svc_fail(roster__lc *lc, roster__svc *s, int code,
                      const char *detail, bool normal_exit);
void roster__lc_put(roster__lc *lc);
int roster__create_inline(roster__lc *lc, roster__svc *s);
roster__lc *roster__lc_get(roster *r, bool create);
bool roster__lc_workers(roster__lc *lc);
void roster__deadline(struct timespec *ts, int64_t abs_ns);
/* lc_supervise.c */
void roster__sup_ensure(roster__lc *lc);
void roster__sup_stop(roster__lc *lc);
void roster__check_schedule(roster__lc *lc, roster__svc *s);

#endif /* ROSTER_LC_IMPL_H */
