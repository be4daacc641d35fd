/*
 * test_config_reload.c: reloads. Views keep the tree they pinned; reader
 * threads hammer getters, views and dumps while the main thread reloads
 * between two files whose values are tied together (a.x == a.y == b in
 * each) and no reader ever sees them differ; a reader is not blocked by a
 * reload stuck half-way (held in the allocator hooks); change callbacks
 * per prefix with old and new values, on the reloading thread; unwatch,
 * also from inside a callback and while one runs; reloading from a
 * callback is refused; SIGHUP reloads and reports.
 */
#include "config_testutil.h"

#include "config/config_impl.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *tree(int v) {
  static char buf[2][256];
  snprintf(buf[v & 1], sizeof buf[0],
           "a:\n  x: %d\n  y: %d\n  z: [%d, %d]\nb: %d\n"
           "pad: {k1: %d, k2: %d, k3: %d}\n",
           v, v, v, v, v, v, v, v);
  return buf[v & 1];
}

static void test_views_pin(void **state) {
  (void)state;
  char p[512];
  assert_non_null(ct_write(p, sizeof p, "pin.yaml", tree(1)));
  const char *files[] = {p, NULL};
  roster_config *c = ct_load(&(roster_config_options){.files = files});
  assert_non_null(c);
  roster_config *old = NULL, *olda = NULL;
  assert_ok(roster_config_acquire(c, &old));
  assert_ok(roster_config_sub(c, "a", &olda));
  assert_int_equal(roster_config_generation(c), 1);
  assert_non_null(ct_write(p, sizeof p, "pin.yaml", tree(2)));
  assert_ok(roster_config_reload(c));
  assert_int_equal(roster_config_generation(c), 2);
  int64_t v = 0;
  assert_ok(roster_config_int(c, "a.x", 0, &v));
  assert_int_equal(v, 2);
  /* the views still see generation 1, whole */
  assert_ok(roster_config_int(old, "a.x", 0, &v));
  assert_int_equal(v, 1);
  assert_ok(roster_config_int(olda, "z.1", 0, &v));
  assert_int_equal(v, 1);
  assert_int_equal(roster_config_generation(old), 1);
  roster_config_release(old);
  roster_config_release(olda);
  roster_config_free(c);
  roster_reclaim_wait(); /* old trees are freed after a grace period */
}

/* ---- readers against reloads ---- */

#define READERS 3

typedef struct reader {
  pthread_t t;
  roster_config *cfg;
  int mode;
  atomic_bool *stop;
  atomic_long iters;
  long mixed;   /* a tree with values of two generations */
  long errors;  /* a call that failed */
  long seen[3]; /* iterations that saw generation value 1 or 2 */
  char what[256];
} reader;

static void note(reader *r, const char *fmt, long a, long b) {
  if (!r->what[0])
    snprintf(r->what, sizeof r->what, fmt, a, b);
}

static void *read_loop(void *arg) {
  reader *r = arg;
  char *want1 = NULL, *want2 = NULL;
  while (!atomic_load(r->stop)) {
    int64_t x = -1, y = -2, z0 = -3, z1 = -4, b = -5;
    int rc = ROSTER_OK;
    if (r->mode == 0) {
      /* one view: every value from the same tree */
      roster_config *v = NULL;
      rc = roster_config_acquire(r->cfg, &v);
      if (rc == ROSTER_OK) {
        rc |= roster_config_int(v, "a.x", 0, &x);
        rc |= roster_config_int(v, "a.y", 0, &y);
        rc |= roster_config_int(v, "a.z.0", 0, &z0);
        rc |= roster_config_int(v, "a.z.1", 0, &z1);
        rc |= roster_config_int(v, "b", 0, &b);
      }
      roster_config_release(v);
    } else if (r->mode == 1) {
      /* a sub-tree: x, y and z together */
      roster_config *v = NULL;
      rc = roster_config_sub(r->cfg, "a", &v);
      if (rc == ROSTER_OK) {
        rc |= roster_config_int(v, "x", 0, &x);
        rc |= roster_config_int(v, "y", 0, &y);
        rc |= roster_config_int(v, "z.0", 0, &z0);
        rc |= roster_config_int(v, "z.1", 0, &z1);
        b = x;
      }
      roster_config_release(v);
    } else {
      /* a whole dump is one of the two trees, byte for byte */
      char *d = NULL;
      rc = roster_config_dump(r->cfg, ROSTER_CONFIG_DUMP_COMPACT, &d);
      if (rc == ROSTER_OK) {
        if (!want1) {
          /* the dumps the two generations give */
          want1 = roster_mem_strdup("{\"a\":{\"x\":1,\"y\":1,\"z\":[1,1]},"
                                    "\"b\":1,\"pad\":{\"k1\":1,\"k2\":1,"
                                    "\"k3\":1}}");
          want2 = roster_mem_strdup("{\"a\":{\"x\":2,\"y\":2,\"z\":[2,2]},"
                                    "\"b\":2,\"pad\":{\"k1\":2,\"k2\":2,"
                                    "\"k3\":2}}");
        }
        x = y = z0 = z1 = b = !strcmp(d, want1)   ? 1
                              : !strcmp(d, want2) ? 2
                                                  : -9;
        if (x < 0)
          note(r, "dump %ld: unexpected tree", 0, 0);
      }
      roster_mem_free(d);
    }
    if (rc) {
      r->errors++;
      note(r, "call failed: %ld %ld", rc, 0);
    } else if (x != y || y != z0 || z0 != z1 || z1 != b || x < 1 || x > 2) {
      r->mixed++;
      note(r, "mixed tree: a.x=%ld a.y=%ld", (long)x, (long)y);
    } else {
      r->seen[x]++;
    }
    atomic_fetch_add(&r->iters, 1);
  }
  roster_mem_free(want1);
  roster_mem_free(want2);
  return NULL;
}

static void test_atomic_under_readers(void **state) {
  (void)state;
  char p[512];
  assert_non_null(ct_write(p, sizeof p, "race.yaml", tree(1)));
  const char *files[] = {p, NULL};
  roster_config *c = ct_load(&(roster_config_options){.files = files});
  assert_non_null(c);
  atomic_bool stop = false;
  reader rs[READERS];
  memset(rs, 0, sizeof rs);
  for (int i = 0; i < READERS; i++) {
    rs[i].cfg = c;
    rs[i].mode = i % 3;
    rs[i].stop = &stop;
    assert_int_equal(pthread_create(&rs[i].t, NULL, read_loop, &rs[i]), 0);
  }
  const int reloads = 200;
  int failed = 0;
  for (int k = 0; k < reloads; k++) {
    if (!ct_write(p, sizeof p, "race.yaml", tree(k % 2 ? 1 : 2)) ||
        roster_config_reload(c) != ROSTER_OK)
      failed++;
    /* let every reader finish two whole reads of the new tree (a bound on
     * a hang, not a timing assertion) */
    long base[READERS];
    for (int i = 0; i < READERS; i++)
      base[i] = atomic_load(&rs[i].iters);
    for (int i = 0; i < READERS; i++)
      tu_wait_until(atomic_load(&rs[i].iters) >= base[i] + 2, LC_LONG_MS);
  }
  atomic_store(&stop, true);
  for (int i = 0; i < READERS; i++)
    pthread_join(rs[i].t, NULL);
  assert_int_equal(failed, 0);
  assert_int_equal(roster_config_generation(c), 1 + reloads);
  for (int i = 0; i < READERS; i++) {
    if (rs[i].mixed || rs[i].errors)
      print_error("reader %d (mode %d): %ld mixed, %ld errors: %s\n", i,
                  rs[i].mode, rs[i].mixed, rs[i].errors, rs[i].what);
    assert_int_equal(rs[i].mixed, 0);
    assert_int_equal(rs[i].errors, 0);
    /* each reader read both generations many times */
    assert_true(rs[i].seen[1] >= reloads / 2);
    assert_true(rs[i].seen[2] >= reloads / 2);
  }
  roster_config_free(c);
  roster_reclaim_wait();
}

/* ---- a reader during a reload that is stuck ---- */

/* The allocator hooks (installed by main) hold the thread that loads
 * hold_cfg at its first allocation made with the load lock held, until
 * hold_gate opens: a reload stuck in the middle, as one reading a slow
 * disk would be. */
static roster_config *_Atomic hold_cfg;
static atomic_bool hold_stuck, hold_gate;

static void hold_point(void) {
  roster_config *c = atomic_load(&hold_cfg);
  if (!c || !atomic_load(&c->live->loading) ||
      !pthread_equal(atomic_load(&c->live->loader), pthread_self()) ||
      atomic_exchange(&hold_stuck, true))
    return;
  while (!atomic_load(&hold_gate))
    usleep(1000);
}

static void *hold_malloc(size_t n) {
  hold_point();
  return malloc(n);
}
static void *hold_calloc(size_t k, size_t n) {
  hold_point();
  return calloc(k, n);
}
static void *hold_realloc(void *p, size_t n) {
  hold_point();
  return realloc(p, n);
}

typedef struct job {
  roster_config *cfg;
  int rc;
  atomic_bool done;
  int64_t value;
} job;

static void *do_reload(void *arg) {
  job *j = arg;
  j->rc = roster_config_reload(j->cfg);
  atomic_store(&j->done, true);
  return NULL;
}

static void *do_get(void *arg) {
  job *j = arg;
  j->rc = roster_config_int(j->cfg, "v", -1, &j->value);
  atomic_store(&j->done, true);
  return NULL;
}

/* in_syscall: thread tid of this process is blocked in syscall nr. */
static bool in_syscall(long tid, long nr) {
  char path[64], buf[64];
  snprintf(path, sizeof path, "/proc/self/task/%ld/syscall", tid);
  FILE *f = fopen(path, "r");
  if (!f)
    return false;
  bool yes = fgets(buf, sizeof buf, f) && atol(buf) == nr;
  fclose(f);
  return yes;
}

static void test_reader_not_blocked(void **state) {
  (void)state;
  char p[512];
  assert_non_null(ct_write(p, sizeof p, "slow.yaml", "v: 1\n"));
  const char *files[] = {p, NULL};
  roster_config *c = ct_load(&(roster_config_options){.files = files});
  assert_non_null(c);

  /* a reload stops with the load lock held */
  assert_non_null(ct_write(p, sizeof p, "slow.yaml", "v: 2\n"));
  atomic_store(&hold_stuck, false);
  atomic_store(&hold_gate, false);
  atomic_store(&hold_cfg, c);
  job r = {.cfg = c};
  pthread_t tr;
  assert_int_equal(pthread_create(&tr, NULL, do_reload, &r), 0);
  tu_wait_until(atomic_load(&hold_stuck), LC_LONG_MS);
  assert_true(atomic_load(&hold_stuck));
  assert_false(atomic_load(&r.done));

  /* meanwhile a getter on another thread returns, with the old value */
  job g = {.cfg = c};
  pthread_t tg;
  assert_int_equal(pthread_create(&tg, NULL, do_get, &g), 0);
  tu_wait_until(atomic_load(&g.done), LC_LONG_MS);
  assert_true(atomic_load(&g.done));
  assert_false(atomic_load(&r.done));
  pthread_join(tg, NULL);
  assert_ok(g.rc);
  assert_int_equal(g.value, 1);

  /* the reload goes on once let go */
  atomic_store(&hold_gate, true);
  pthread_join(tr, NULL);
  atomic_store(&hold_cfg, NULL);
  assert_ok(r.rc);
  int64_t v = 0;
  assert_ok(roster_config_int(c, "v", 0, &v));
  assert_int_equal(v, 2);
  roster_config_free(c);
}

/* ---- change callbacks ---- */

typedef struct rec {
  tu_log log;
  pthread_t thread;
  bool other_thread;
  int reload_rc;
  roster_config *cfg;
  uint64_t self_id;
  int calls;
  char new_via_view[64];
} rec;

static void on_change(const roster_config_change *ch, void *arg) {
  rec *r = arg;
  r->calls++;
  if (!pthread_equal(pthread_self(), r->thread))
    r->other_thread = true;
  roster__tu_log_add(&r->log, "%s:%s->%s", ch->key,
                     ch->old_value ? ch->old_value : "-",
                     ch->new_value ? ch->new_value : "-");
  if (ch->new_value && !strcmp(ch->key, "db.url")) {
    char *s = NULL;
    roster_config_string(ch->config, "db.url", NULL, &s);
    snprintf(r->new_via_view, sizeof r->new_via_view, "%s", s ? s : "");
    roster_mem_free(s);
    roster__tu_log_add(&r->log, "src:%s|%s", ch->old_source ? "old" : "-",
                       ch->new_source ? ch->new_source : "-");
  }
}

static void on_change_reload(const roster_config_change *ch, void *arg) {
  (void)ch;
  rec *r = arg;
  r->reload_rc = roster_config_reload(r->cfg);
}

static void on_change_once(const roster_config_change *ch, void *arg) {
  (void)ch;
  rec *r = arg;
  r->calls++;
  roster_config_unwatch(r->cfg, r->self_id);
}

static void test_callbacks(void **state) {
  (void)state;
  char p[512];
  assert_non_null(ct_write(p, sizeof p, "w.yaml",
                           "db: {url: one, old: x, same: 1}\n"
                           "dbx: {a: 1}\nlog: {level: info}\n"));
  const char *files[] = {p, NULL};
  roster_config *c = ct_load(&(roster_config_options){.files = files});
  rec rdb = {.thread = pthread_self()}, rall = {.thread = pthread_self()};
  rec rnone = {.thread = pthread_self()};
  roster__tu_log_init(&rdb.log);
  roster__tu_log_init(&rall.log);
  roster__tu_log_init(&rnone.log);
  uint64_t idb = 0, iall = 0, inone = 0;
  assert_ok(roster_config_watch(c, "db", on_change, &rdb, &idb));
  assert_ok(roster_config_watch(c, NULL, on_change, &rall, &iall));
  assert_ok(roster_config_watch(c, "nothing.here", on_change, &rnone, &inone));
  assert_true(idb && iall && inone && idb != iall);

  /* a reload that changes nothing calls nobody */
  assert_ok(roster_config_reload(c));
  assert_int_equal(rall.calls, 0);

  assert_non_null(ct_write(p, sizeof p, "w.yaml",
                           "db: {url: two, same: 1, pool: 8}\n"
                           "dbx: {a: 2}\nlog: {level: debug}\n"));
  assert_ok(roster_config_reload(c));
  /* "db" sees db.* only (not dbx), in key order: changed, removed, added */
  assert_int_equal(roster__tu_log_len(&rdb.log), 4);
  assert_int_equal(roster__tu_log_find(&rdb.log, "db.old:x->-", 0), 0);
  assert_int_equal(roster__tu_log_find(&rdb.log, "db.pool:-->8", 0), 1);
  assert_int_equal(roster__tu_log_find(&rdb.log, "db.url:one->two", 0), 2);
  char want[700];
  snprintf(want, sizeof want, "src:old|%s:1:11", p);
  assert_int_equal(roster__tu_log_find(&rdb.log, want, 0), 3);
  assert_string_equal(rdb.new_via_view, "two");
  assert_false(rdb.other_thread); /* on the reloading thread */
  assert_int_equal(roster__tu_log_len(&rall.log), 6);
  assert_true(roster__tu_log_find(&rall.log, "dbx.a:1->2", 0) >= 0);
  assert_true(roster__tu_log_find(&rall.log, "log.level:info->debug", 0) >= 0);
  assert_int_equal(rnone.calls, 0);

  /* unwatched, a callback is not called again */
  assert_ok(roster_config_unwatch(c, idb));
  assert_rc(roster_config_unwatch(c, idb), ROSTER_ENOENT);
  assert_non_null(ct_write(p, sizeof p, "w.yaml", "db: {url: three}\n"));
  assert_ok(roster_config_reload(c));
  assert_int_equal(rdb.calls, 3);
  assert_true(rall.calls > 6);

  /* reloading from a callback is refused; unwatching itself works */
  rec rr = {.cfg = c, .reload_rc = 1};
  uint64_t irr = 0;
  assert_ok(roster_config_watch(c, NULL, on_change_reload, &rr, &irr));
  rec ro = {.cfg = c};
  assert_ok(roster_config_watch(c, NULL, on_change_once, &ro, &ro.self_id));
  assert_non_null(
      ct_write(p, sizeof p, "w.yaml", "db: {url: four}\nmore: 1\nand: 2\n"));
  assert_ok(roster_config_reload(c));
  assert_int_equal(rr.reload_rc, ROSTER_EBUSY);
  assert_int_equal(ro.calls, 1);
  assert_rc(roster_config_unwatch(c, ro.self_id), ROSTER_ENOENT);

  assert_rc(roster_config_watch(c, "a..b", on_change, &rall, &iall),
            ROSTER_EINVAL);
  assert_rc(roster_config_watch(c, NULL, NULL, &rall, &iall), ROSTER_EINVAL);
  assert_rc(roster_config_watch(c, NULL, on_change, &rall, NULL),
            ROSTER_EINVAL);
  roster_config_free(c); /* drops the remaining watches */
  roster__tu_log_fini(&rdb.log);
  roster__tu_log_fini(&rall.log);
  roster__tu_log_fini(&rnone.log);
}

/* unwatch from another thread waits for a callback that is running */
typedef struct slow {
  tu_gate gate;
  tu_log log;
  atomic_bool in_cb;
  atomic_long tid;
  roster_config *cfg;
  uint64_t id;
} slow;

static void on_change_slow(const roster_config_change *ch, void *arg) {
  (void)ch;
  slow *s = arg;
  if (atomic_exchange(&s->in_cb, true))
    return; /* once */
  roster__tu_log_add(&s->log, "cb-start");
  roster__tu_gate_wait(&s->gate, LC_LONG_MS);
  roster__tu_log_add(&s->log, "cb-end");
}

static void *unwatcher(void *arg) {
  slow *s = arg;
  atomic_store(&s->tid, (long)syscall(SYS_gettid));
  int rc = roster_config_unwatch(s->cfg, s->id);
  roster__tu_log_add(&s->log, "unwatched:%d", rc);
  return NULL;
}

static void *reloader(void *arg) {
  roster_config_reload(arg);
  return NULL;
}

static void test_unwatch_waits(void **state) {
  (void)state;
  char p[512];
  assert_non_null(ct_write(p, sizeof p, "u.yaml", "k: 1\n"));
  const char *files[] = {p, NULL};
  roster_config *c = ct_load(&(roster_config_options){.files = files});
  slow s = {.cfg = c};
  roster__tu_gate_init(&s.gate);
  roster__tu_log_init(&s.log);
  assert_ok(roster_config_watch(c, NULL, on_change_slow, &s, &s.id));
  assert_non_null(ct_write(p, sizeof p, "u.yaml", "k: 2\n"));
  pthread_t tr, tu;
  assert_int_equal(pthread_create(&tr, NULL, reloader, c), 0);
  assert_eventually_equal(roster__tu_log_len(&s.log), 1, LC_LONG_MS);
  assert_int_equal(pthread_create(&tu, NULL, unwatcher, &s), 0);
  /* the unwatcher sleeps on the condition variable until cb ends */
  tu_wait_until(atomic_load(&s.tid) &&
                    in_syscall(atomic_load(&s.tid), SYS_futex),
                LC_LONG_MS);
  roster__tu_gate_open(&s.gate);
  pthread_join(tu, NULL);
  pthread_join(tr, NULL);
  assert_int_equal(roster__tu_log_find(&s.log, "cb-start", 0), 0);
  assert_int_equal(roster__tu_log_find(&s.log, "cb-end", 0), 1);
  assert_int_equal(roster__tu_log_find(&s.log, "unwatched:0", 0), 2);
  roster_config_free(c);
  roster__tu_log_fini(&s.log);
}

/* ---- SIGHUP ---- */

typedef struct hup {
  atomic_int reports;
  atomic_int last_rc;
  atomic_bool off_main;
  pthread_t main;
} hup;

static void on_reload(roster_config *cfg, int rc, void *arg) {
  (void)cfg;
  hup *h = arg;
  if (!pthread_equal(pthread_self(), h->main))
    atomic_store(&h->off_main, true);
  atomic_store(&h->last_rc, rc);
  atomic_fetch_add(&h->reports, 1);
}

static void test_sighup(void **state) {
  (void)state;
  char p[512];
  assert_non_null(ct_write(p, sizeof p, "hup.toml", "v = 1\n"));
  const char *files[] = {p, NULL};
  roster_config *c = ct_load(&(roster_config_options){.files = files});
  hup h = {.main = pthread_self(), .last_rc = 99};
  assert_ok(roster_config_reload_on_sighup(c, on_reload, &h));
  assert_rc(roster_config_reload_on_sighup(c, on_reload, &h), ROSTER_EEXIST);

  assert_non_null(ct_write(p, sizeof p, "hup.toml", "v = 2\n"));
  assert_int_equal(kill(getpid(), SIGHUP), 0);
  assert_eventually_equal(atomic_load(&h.reports), 1, LC_LONG_MS);
  assert_int_equal(atomic_load(&h.last_rc), ROSTER_OK);
  assert_true(atomic_load(&h.off_main));
  int64_t v = 0;
  assert_ok(roster_config_int(c, "v", 0, &v));
  assert_int_equal(v, 2);

  /* a broken file: reported, and the old tree stays */
  assert_non_null(ct_write(p, sizeof p, "hup.toml", "v = \n"));
  assert_int_equal(kill(getpid(), SIGHUP), 0);
  tu_wait_until(atomic_load(&h.reports) == 2, LC_LONG_MS);
  assert_int_equal(atomic_load(&h.last_rc), ROSTER_EPARSE);
  assert_ok(roster_config_int(c, "v", 0, &v));
  assert_int_equal(v, 2);
  char *e = roster_config_errors(c);
  assert_contains(e, "hup.toml:1:5: expected a value after '='");
  roster_mem_free(e);
  roster_config_free(c); /* stops watching SIGHUP */

  /* a view cannot reload */
  roster_config *v1;
  assert_ok(roster_config_parse("a = 1", 5, "toml", NULL, &v1));
  assert_rc(roster_config_reload_on_sighup(v1, NULL, NULL), ROSTER_EINVAL);
  roster_config_release(v1);
}

int main(void) {
  /* before any roster object: see test_reader_not_blocked */
  if (roster_set_allocator(
          &(roster_allocator){hold_malloc, hold_calloc, hold_realloc, free}))
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_views_pin),
      cmocka_unit_test(test_atomic_under_readers),
      cmocka_unit_test(test_reader_not_blocked),
      cmocka_unit_test(test_callbacks),
      cmocka_unit_test(test_unwatch_waits),
      cmocka_unit_test(test_sighup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
