/*
 * pool_fake.h: a fake connection type for the pool tests (test_pool_*.c).
 *
 * A fake_srv stands for a server: it counts connects, closes, validates and
 * resets, can fail any of them on demand (with a detail, as a module
 * would), can make connect block on a gate, and serves a settable clock.
 * Connections are never freed before fake_srv_fini, so addresses are not
 * reused within a test and a stale pointer stays recognisable; touching a
 * closed connection, closing one twice, or two holders at once are counted
 * in `misuse`, which every test asserts is 0.
 */
#ifndef ROSTER_TEST_POOL_FAKE_H
#define ROSTER_TEST_POOL_FAKE_H

#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "connpool/connpool_impl.h" /* roster__pool_wakeups, _passes */

#define FAKE_MAGIC 0x66616b65u
#define FAKE_MAX_CONNS 65536

typedef struct fake_srv fake_srv;

typedef struct fake_conn {
  uint32_t magic;
  int id; /* 1, 2, ... in connect order */
  fake_srv *srv;
  atomic_int holders; /* test threads holding it now */
  atomic_bool closed;
  atomic_bool bad; /* validate fails on this one */
} fake_conn;

struct fake_srv {
  atomic_int connects; /* connects that succeeded */
  atomic_int connect_calls;
  atomic_int closes;
  atomic_int validates;
  atomic_int resets;
  atomic_int misuse;
  atomic_int fail_connects; /* the next n connects fail */
  atomic_int fail_from;     /* > 0: the connect call with this number (1,
                               2, ...) and every later one fail */
  atomic_bool refuse;       /* every connect fails while set */
  atomic_bool validate_fails;
  atomic_bool reset_fails;
  atomic_bool null_conn;     /* connect returns ROSTER_OK and no connection */
  atomic_llong now_ns;       /* the fake clock */
  atomic_int freed_args;     /* free_arg calls */
  atomic_int closes_at_free; /* closes seen when free_arg ran */
  tu_gate *connect_gate;     /* when set, connect waits on it (bounded) */
  atomic_int in_connect;     /* connects waiting at the gate */
  pthread_mutex_t mu;        /* guards conns */
  fake_conn **conns;
  size_t nconns;
};

static inline void fake_srv_init(fake_srv *s) {
  memset(s, 0, sizeof *s);
  pthread_mutex_init(&s->mu, NULL);
  s->conns = calloc(FAKE_MAX_CONNS, sizeof *s->conns);
  atomic_store(&s->now_ns, 1000000000LL); /* 1 s: not 0 */
}

static inline void fake_srv_fini(fake_srv *s) {
  for (size_t i = 0; i < s->nconns; i++)
    free(s->conns[i]);
  free(s->conns);
  pthread_mutex_destroy(&s->mu);
}

/* fake_live: connections connected and not closed. */
static inline int fake_live(fake_srv *s) {
  return atomic_load(&s->connects) - atomic_load(&s->closes);
}

static inline void fake_advance_ms(fake_srv *s, long long ms) {
  atomic_fetch_add(&s->now_ns, ms * 1000000LL);
}

static inline int64_t fake_clock(void *arg) {
  return atomic_load(&((fake_srv *)arg)->now_ns);
}

static inline bool fake_ok(fake_srv *s, void *c) {
  fake_conn *fc = c;
  if (!fc || fc->magic != FAKE_MAGIC || fc->srv != s ||
      atomic_load(&fc->closed)) {
    atomic_fetch_add(&s->misuse, 1);
    return false;
  }
  return true;
}

static inline int fake_connect(void *arg, void **out) {
  fake_srv *s = arg;
  int call = atomic_fetch_add(&s->connect_calls, 1) + 1;
  if (s->connect_gate) {
    atomic_fetch_add(&s->in_connect, 1);
    roster__tu_gate_wait(s->connect_gate, LC_LONG_MS);
    atomic_fetch_sub(&s->in_connect, 1);
  }
  if (atomic_load(&s->refuse))
    return roster_error_set(ROSTER_ECONN,
                            "fake: could not connect to 127.0.0.1:1: "
                            "Connection refused");
  int from = atomic_load(&s->fail_from);
  if (from > 0 && call >= from)
    return roster_error_set(ROSTER_ECONN, "fake: connect failed on demand");
  int n = atomic_load(&s->fail_connects);
  while (n > 0 && !atomic_compare_exchange_weak(&s->fail_connects, &n, n - 1))
    ;
  if (n > 0)
    return roster_error_set(ROSTER_ECONN, "fake: connect failed on demand");
  if (atomic_load(&s->null_conn))
    return ROSTER_OK;
  fake_conn *c = calloc(1, sizeof *c);
  c->magic = FAKE_MAGIC;
  c->srv = s;
  pthread_mutex_lock(&s->mu);
  if (s->nconns < FAKE_MAX_CONNS)
    s->conns[s->nconns++] = c;
  else
    atomic_fetch_add(&s->misuse, 1); /* the test made too many */
  c->id = (int)s->nconns;
  pthread_mutex_unlock(&s->mu);
  atomic_fetch_add(&s->connects, 1);
  *out = c;
  return ROSTER_OK;
}

static inline void fake_close(void *arg, void *c) {
  fake_srv *s = arg;
  if (fake_ok(s, c)) {
    if (atomic_load(&((fake_conn *)c)->holders) != 0)
      atomic_fetch_add(&s->misuse, 1); /* closed while a test holds it */
    atomic_store(&((fake_conn *)c)->closed, true);
  }
  atomic_fetch_add(&s->closes, 1);
}

static inline int fake_validate(void *arg, void *c) {
  fake_srv *s = arg;
  atomic_fetch_add(&s->validates, 1);
  if (!fake_ok(s, c))
    return ROSTER_EIO;
  if (atomic_load(&s->validate_fails) || atomic_load(&((fake_conn *)c)->bad))
    return roster_error_set(ROSTER_EIO, "fake: server closed the connection");
  return ROSTER_OK;
}

static inline int fake_reset(void *arg, void *c) {
  fake_srv *s = arg;
  atomic_fetch_add(&s->resets, 1);
  if (!fake_ok(s, c))
    return ROSTER_EIO;
  if (atomic_load(&s->reset_fails))
    return roster_error_set(ROSTER_EIO, "fake: rollback failed");
  return ROSTER_OK;
}

static inline void fake_free_arg(void *arg) {
  fake_srv *s = arg;
  atomic_store(&s->closes_at_free, atomic_load(&s->closes));
  atomic_fetch_add(&s->freed_args, 1);
}

/* Every operation, and connect + close only. */
static const roster_pool_ops fake_ops = {ROSTER_POOL_OPS_VERSION, fake_connect,
                                         fake_close, fake_validate, fake_reset};
static const roster_pool_ops fake_ops_min = {
    ROSTER_POOL_OPS_VERSION, fake_connect, fake_close, NULL, NULL};
/* Validate but no reset, as the db and Redis pools: with no leak threshold
 * either, the pool's fast path (a thread's last connection parked and
 * taken back without the lock) is on. */
static const roster_pool_ops fake_ops_fast = {
    ROSTER_POOL_OPS_VERSION, fake_connect, fake_close, fake_validate, NULL};

/* fake_opts: a pool named "test" over s, every operation, defaults. */
static inline roster_pool_options fake_opts(fake_srv *s) {
  roster_pool_options o = {0};
  o.name = "test";
  o.ops = &fake_ops;
  o.arg = s;
  return o;
}

/* fake_pool makes a pool with o and fails the test unless
 * roster_pool_new returns ROSTER_OK and a pool. */
static inline roster_pool *fake_pool(const roster_pool_options *o) {
  roster_pool *p = NULL;
  assert_ok(roster_pool_new(o, &p));
  assert_non_null(p);
  return p;
}

/* fake_srv_done asserts that the test touched no connection wrongly (the
 * misuse count of every test is 0), then frees s. */
static inline void fake_srv_done(fake_srv *s) {
  assert_int_equal(atomic_load(&s->misuse), 0);
  fake_srv_fini(s);
}

/* fake_pool_free frees p, asserts that s saw `closes` closes by then
 * (FAKE_ALL_CLOSED: as many as connects, every connection made was
 * closed), then fake_srv_done(s). */
#define FAKE_ALL_CLOSED (-1)
static inline void fake_pool_free(roster_pool *p, fake_srv *s, int closes) {
  roster_pool_free(p);
  if (closes == FAKE_ALL_CLOSED)
    assert_int_equal(atomic_load(&s->closes), atomic_load(&s->connects));
  else
    assert_int_equal(atomic_load(&s->closes), closes);
  fake_srv_done(s);
}

/* fake_hold marks c held by a test thread; false if someone else holds it
 * (and counts the misuse). fake_unhold undoes it. */
static inline bool fake_hold(fake_srv *s, void *c) {
  if (!fake_ok(s, c))
    return false;
  if (atomic_fetch_add(&((fake_conn *)c)->holders, 1) != 0) {
    atomic_fetch_add(&s->misuse, 1);
    return false;
  }
  return true;
}
static inline void fake_unhold(void *c) {
  atomic_fetch_sub(&((fake_conn *)c)->holders, 1);
}

static inline int fake_id(void *c) { return c ? ((fake_conn *)c)->id : 0; }

static inline roster_pool_stats fake_stats(roster_pool *p) {
  roster_pool_stats st;
  memset(&st, 0xff, sizeof st);
  if (roster_pool_stats_get(p, &st) != ROSTER_OK)
    memset(&st, 0xff, sizeof st);
  return st;
}

/* fake_churn: a thread (fake_churn_main) that acquires and releases iters
 * times, holding each connection a moment (fake_hold: two holders at once
 * count as misuse), with timeout_ms, or i % 3 ms when vary is set; it
 * counts what came back. */
typedef struct fake_churn {
  roster_pool *p;
  fake_srv *srv;
  int iters;
  int64_t timeout_ms;
  bool vary;
  int ok, timedout, other;
} fake_churn;

static inline void *fake_churn_main(void *arg) {
  fake_churn *c = arg;
  for (int i = 0; i < c->iters; i++) {
    void *conn = NULL;
    int rc = roster_pool_acquire_timeout(c->p, c->vary ? i % 3 : c->timeout_ms,
                                         &conn);
    if (rc == ROSTER_ETIMEDOUT) {
      c->timedout++;
      continue;
    }
    if (rc != ROSTER_OK || !conn) {
      c->other++;
      continue;
    }
    c->ok++;
    if (fake_hold(c->srv, conn)) {
      if (i % 5 == 0)
        sched_yield();
      fake_unhold(conn);
    }
    if (roster_pool_release(c->p, conn, false) != ROSTER_OK)
      c->other++;
  }
  return NULL;
}

/* fake_nparked: connections parked by the fast path now. */
static inline unsigned fake_nparked(roster_pool *p) {
  return roster__cp_count_parked(p);
}

/* fake_wait_passes waits (bounded) for two more maintenance passes: one
 * that began after the call, whatever the clock said before. */
static inline void fake_wait_passes(roster_pool *p) {
  uint64_t want = roster__pool_passes(p) + 2;
  tu_wait_until(roster__pool_passes(p) >= want, LC_LONG_MS);
}

/* fake_hist_total sums the wait-time histogram. */
static inline uint64_t fake_hist_total(const roster_pool_stats *st) {
  uint64_t n = 0;
  for (int i = 0; i < ROSTER_POOL_WAIT_BUCKETS; i++)
    n += st->wait_hist[i];
  return n;
}

#endif /* ROSTER_TEST_POOL_FAKE_H */
