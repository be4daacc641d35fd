/*
 * test_concurrency.c: the registry under real threads. Writers register and
 * unregister while readers look up stable names; owners are released while
 * others register into and dispatch over the same duplicate key; dispatch
 * and foreach run during bulk removals; a namespace is filled and dropped
 * while readers acquire from it; keys are replaced while readers must always
 * find them; wait_for is woken from other threads. Instances carry a magic
 * word that destroy poisons, so a reader that sees a destroyed instance (or
 * a destroy that runs twice) is counted. Worker threads only count failures;
 * the main thread asserts after joining. Iteration counts are fixed and
 * small so the whole file takes seconds, even under ThreadSanitizer.
 */
#include "testutil.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LIVE 0x1eaf1eafu
#define DEAD 0xdeadbeefu

/* An instance with a magic word; destroy poisons it and counts. */
typedef struct cobj {
  atomic_uint magic;
  atomic_int destroyed;
} cobj;

static atomic_long bad_destroys; /* destroy on a non-live instance */

static void cobj_destroy(void *p) {
  cobj *o = p;
  if (atomic_exchange(&o->magic, DEAD) != LIVE)
    atomic_fetch_add(&bad_destroys, 1);
  atomic_fetch_add(&o->destroyed, 1);
}

static const roster_type cobj_type = {.name = "cobj", .destroy = cobj_destroy};

static cobj *pool_new(size_t n) {
  cobj *p = calloc(n, sizeof *p);
  assert_non_null(p);
  for (size_t i = 0; i < n; i++) {
    atomic_init(&p[i].magic, LIVE);
    atomic_init(&p[i].destroyed, 0);
  }
  return p;
}

static bool live(const void *p) {
  return p && atomic_load(&((const cobj *)p)->magic) == LIVE;
}

/* A crew: n threads running one worker function; thread i is given a
 * crew_arg {state, i}. Started and joined on the test's thread, which
 * asserts that each pthread call succeeded. */
enum { CREW_MAX = 8 };
typedef struct crew_arg {
  void *s; /* the scenario's state */
  int id;  /* 0 .. n-1 */
} crew_arg;
typedef struct crew {
  int n;
  pthread_t t[CREW_MAX];
  crew_arg a[CREW_MAX];
} crew;

static void crew_start(crew *c, int n, void *(*fn)(void *), void *s) {
  assert_in_range(n, 1, CREW_MAX);
  c->n = n;
  for (int i = 0; i < n; i++) {
    c->a[i] = (crew_arg){s, i};
    assert_int_equal(pthread_create(&c->t[i], NULL, fn, &c->a[i]), 0);
  }
}

static void crew_join(crew *c) {
  for (int i = 0; i < c->n; i++)
    assert_int_equal(pthread_join(c->t[i], NULL), 0);
}

/* crew_stop tells a crew that runs until told (readers, dispatchers) to
 * stop, through its scenario's stop flag, and joins it. */
static void crew_stop(crew *c, atomic_bool *stop) {
  atomic_store(stop, true);
  crew_join(c);
}

/* Failure counters shared by the workers of one scenario. */
typedef struct fails {
  atomic_long miss;   /* a name that must be present was not found */
  atomic_long dead;   /* a reader saw a destroyed instance */
  atomic_long bad_rc; /* a call returned an unexpected code */
  atomic_long wrong;  /* a result had the wrong value */
  /* The source line of the first failure of each kind, for the report. */
  atomic_int miss_line, dead_line, bad_rc_line, wrong_line;
} fails;

/* FAIL counts one failure of a kind and remembers where the first was. */
#define FAIL(fp, kind)                                                         \
  do {                                                                         \
    if (atomic_fetch_add(&(fp)->kind, 1) == 0)                                 \
      atomic_store(&(fp)->kind##_line, __LINE__);                              \
  } while (0)

static void fails_reset(fails *f) {
  memset(f, 0, sizeof *f);
  atomic_store(&f->miss, 0);
  atomic_store(&f->dead, 0);
  atomic_store(&f->bad_rc, 0);
  atomic_store(&f->wrong, 0);
  atomic_store(&bad_destroys, 0);
}

static void assert_no_fails(fails *f) {
  print_message("miss %ld (first at line %d) dead %ld (line %d) bad_rc %ld "
                "(line %d) wrong %ld (line %d) bad_destroys %ld\n",
                atomic_load(&f->miss), atomic_load(&f->miss_line),
                atomic_load(&f->dead), atomic_load(&f->dead_line),
                atomic_load(&f->bad_rc), atomic_load(&f->bad_rc_line),
                atomic_load(&f->wrong), atomic_load(&f->wrong_line),
                atomic_load(&bad_destroys));
  assert_int_equal(atomic_load(&f->miss), 0);
  assert_int_equal(atomic_load(&f->dead), 0);
  assert_int_equal(atomic_load(&f->bad_rc), 0);
  assert_int_equal(atomic_load(&f->wrong), 0);
  assert_int_equal(atomic_load(&bad_destroys), 0);
}

/* Readers loop until the writers are done, but never more than this. */
#define READER_MAX_ITERS 200000

/* ======================================================================
 * (1) Writers on disjoint names, readers on stable names.
 */
enum { S1_STABLE = 16, S1_WRITERS = 2, S1_WITER = 1500, S1_READERS = 2 };

typedef struct s1 {
  roster *r;
  fails f;
  cobj *stable;
  cobj *wpool;
  atomic_bool stop;
  atomic_long lookups, hits, misses; /* lookups made, as the workers saw */
  atomic_long registers, unregisters;
} s1;

static void *s1_writer(void *arg) {
  crew_arg *a = arg;
  s1 *s = a->s;
  long regs = 0, unregs = 0, lookups = 0;
  for (int i = 0; i < S1_WITER; i++) {
    char name[32];
    snprintf(name, sizeof name, "w%d-%d", a->id, i % 8);
    cobj *o = &s->wpool[a->id * S1_WITER + i];
    if (roster_register(s->r, NULL, name, &cobj_type, o) != ROSTER_OK) {
      FAIL(&s->f, bad_rc);
      continue;
    }
    regs++;
    void *p = NULL;
    lookups++;
    if (roster_get(s->r, NULL, name, &cobj_type, &p) != ROSTER_OK)
      FAIL(&s->f, miss);
    else if (p != o)
      FAIL(&s->f, wrong);
    if (roster_unregister(s->r, NULL, name) != ROSTER_OK)
      FAIL(&s->f, bad_rc);
    else
      unregs++;
  }
  atomic_fetch_add(&s->registers, regs);
  atomic_fetch_add(&s->unregisters, unregs);
  atomic_fetch_add(&s->lookups, lookups);
  atomic_fetch_add(&s->hits, lookups);
  return NULL;
}

static void *s1_reader(void *arg) {
  crew_arg *a = arg;
  s1 *s = a->s;
  long lookups = 0, hits = 0, misses = 0;
  unsigned seed = (unsigned)a->id * 7919u + 1;
  for (int it = 0; it < READER_MAX_ITERS && !atomic_load(&s->stop); it++) {
    for (int k = 0; k < S1_STABLE; k++) {
      char name[32];
      snprintf(name, sizeof name, "stable-%d", k);
      void *p = NULL;
      roster_read_lock();
      lookups++;
      if (roster_get(s->r, NULL, name, &cobj_type, &p) != ROSTER_OK) {
        FAIL(&s->f, miss);
        misses++;
      } else {
        hits++;
        if (!live(p))
          FAIL(&s->f, dead);
        if (p != &s->stable[k])
          FAIL(&s->f, wrong);
      }
      roster_read_unlock();
    }
    /* The writers' names: present or not, never dead when present. */
    for (int k = 0; k < 4; k++) {
      char name[32];
      seed = seed * 1103515245u + 12345u;
      snprintf(name, sizeof name, "w%u-%u", (seed >> 8) % S1_WRITERS,
               (seed >> 16) % 8);
      void *p = NULL;
      roster_read_lock();
      lookups++;
      int rc = roster_get(s->r, NULL, name, &cobj_type, &p);
      if (rc == ROSTER_OK) {
        hits++;
        if (!live(p))
          FAIL(&s->f, dead);
      } else if (rc == ROSTER_ENOENT) {
        misses++;
      } else {
        FAIL(&s->f, bad_rc);
      }
      roster_read_unlock();
    }
    /* Hold one across a yield with a reference. */
    {
      char name[32];
      seed = seed * 1103515245u + 12345u;
      snprintf(name, sizeof name, "w%u-%u", (seed >> 8) % S1_WRITERS,
               (seed >> 16) % 8);
      void *p = NULL;
      roster_ref *ref = NULL;
      lookups++;
      int rc = roster_acquire(s->r, NULL, name, &cobj_type, &p, &ref);
      if (rc == ROSTER_OK) {
        hits++;
        if (!live(p))
          FAIL(&s->f, dead);
        sched_yield();
        if (!live(p))
          FAIL(&s->f, dead);
        roster_release(ref);
      } else if (rc == ROSTER_ENOENT) {
        misses++;
        if (ref != NULL)
          FAIL(&s->f, wrong);
      } else {
        FAIL(&s->f, bad_rc);
      }
    }
  }
  atomic_fetch_add(&s->lookups, lookups);
  atomic_fetch_add(&s->hits, hits);
  atomic_fetch_add(&s->misses, misses);
  return NULL;
}

static void test_writers_and_readers(void **state) {
  (void)state;
  s1 s;
  memset(&s, 0, sizeof s);
  fails_reset(&s.f);
  s.r = tu_registry(NULL);
  s.stable = pool_new(S1_STABLE);
  s.wpool = pool_new(S1_WRITERS * S1_WITER);
  for (int k = 0; k < S1_STABLE; k++) {
    char name[32];
    snprintf(name, sizeof name, "stable-%d", k);
    assert_ok(roster_register(s.r, NULL, name, &cobj_type, &s.stable[k]));
  }
  crew writers, readers;
  crew_start(&readers, S1_READERS, s1_reader, &s);
  crew_start(&writers, S1_WRITERS, s1_writer, &s);
  crew_join(&writers);
  crew_stop(&readers, &s.stop);

  roster_reclaim_wait();
  assert_no_fails(&s.f);
  assert_int_equal(atomic_load(&s.registers), S1_WRITERS * S1_WITER);
  assert_int_equal(atomic_load(&s.unregisters), S1_WRITERS * S1_WITER);
  roster_stats st;
  assert_ok(roster_stats_get(s.r, &st));
  for (int i = 0; i < S1_WRITERS * S1_WITER; i++)
    assert_int_equal(atomic_load(&s.wpool[i].destroyed), 1);
  for (int k = 0; k < S1_STABLE; k++)
    assert_int_equal(atomic_load(&s.stable[k].destroyed), 0);
  roster_free(s.r);
  for (int k = 0; k < S1_STABLE; k++)
    assert_int_equal(atomic_load(&s.stable[k].destroyed), 1);
  assert_int_equal(atomic_load(&bad_destroys), 0);
  free(s.stable);
  free(s.wpool);
  /* The registry was quiet: every counter is exact. */
  print_message("stats: lookups %llu/%ld hits %llu/%ld misses %llu/%ld\n",
                (unsigned long long)st.lookups, atomic_load(&s.lookups),
                (unsigned long long)st.hits, atomic_load(&s.hits),
                (unsigned long long)st.misses, atomic_load(&s.misses));
  assert_int_equal(st.entries, S1_STABLE);
  assert_int_equal(st.namespaces, 1);
  assert_int_equal(st.registers, S1_STABLE + atomic_load(&s.registers));
  assert_int_equal(st.unregisters, atomic_load(&s.unregisters));
  assert_int_equal(st.lookups, atomic_load(&s.lookups));
  assert_int_equal(st.hits, atomic_load(&s.hits));
  assert_int_equal(st.misses, atomic_load(&s.misses));
}

/* ======================================================================
 * (2) Owners released mid-flight over a duplicate key.
 */
enum {
  S2_OWNERS = 2,
  S2_OITER = 300,
  S2_PER = 4,
  S2_REGITER = 600,
  S2_DISPATCHERS = 2
};

typedef struct s2 {
  roster *r;
  fails f;
  cobj stable[1];
  cobj *opool;   /* S2_OWNERS * S2_OITER * S2_PER */
  cobj *regpool; /* S2_REGITER */
  atomic_bool stop;
  atomic_long dispatches;
} s2;

static void *s2_owner(void *arg) {
  crew_arg *a = arg;
  s2 *s = a->s;
  for (int i = 0; i < S2_OITER; i++) {
    roster_owner *o = NULL;
    assert_ok(roster_owner_new(&o));
    if (!o) {
      FAIL(&s->f, bad_rc);
      continue;
    }
    cobj *objs = &s->opool[(a->id * S2_OITER + i) * S2_PER];
    roster_entry_options eo = {.owner = o};
    if (roster_register_ex(s->r, NULL, "room", &cobj_type, &objs[0], &eo) ||
        roster_register_ex(s->r, NULL, "room", &cobj_type, &objs[1], &eo) ||
        roster_register_ex(s->r, "side", "lobby", &cobj_type, &objs[2], &eo))
      FAIL(&s->f, bad_rc);
    if (i % 2 == 0) {
      size_t removed = 0;
      if (roster_owner_drop(o, &removed) != ROSTER_OK)
        FAIL(&s->f, bad_rc);
      else if (removed != S2_PER - 1)
        FAIL(&s->f, wrong);
    }
    /* Released or not, the owner still takes entries; free removes them. */
    if (roster_register_ex(s->r, NULL, "room", &cobj_type, &objs[3], &eo))
      FAIL(&s->f, bad_rc);
    roster_owner_free(o);
  }
  return NULL;
}

static void *s2_registrar(void *arg) {
  crew_arg *a = arg;
  s2 *s = a->s;
  roster_owner *me = NULL;
  assert_ok(roster_owner_new(&me));
  if (!me) {
    FAIL(&s->f, bad_rc);
    return NULL;
  }
  roster_entry_options eo = {.owner = me};
  for (int i = 0; i < S2_REGITER; i++) {
    if (roster_register_ex(s->r, NULL, "room", &cobj_type, &s->regpool[i],
                           &eo) != ROSTER_OK) {
      FAIL(&s->f, bad_rc);
      continue;
    }
    if (roster_unregister_owned(s->r, NULL, "room", me) != ROSTER_OK)
      FAIL(&s->f, bad_rc);
  }
  roster_owner_free(me);
  return NULL;
}

typedef struct visit_ctx {
  s2 *s;
  const void *stable;
  long calls, stable_seen;
} visit_ctx;

static int s2_visit(const roster_info *info, void *arg) {
  visit_ctx *c = arg;
  c->calls++;
  if (!live(info->instance))
    FAIL(&c->s->f, dead);
  if (info->instance == c->stable)
    c->stable_seen++;
  return 0;
}

static void *s2_dispatcher(void *arg) {
  crew_arg *a = arg;
  s2 *s = a->s;
  long n = 0;
  for (int it = 0; it < READER_MAX_ITERS && !atomic_load(&s->stop); it++) {
    visit_ctx c = {.s = s, .stable = &s->stable[0]};
    size_t called = 0;
    if (roster_dispatch(s->r, NULL, "room", s2_visit, &c, &called) != ROSTER_OK)
      FAIL(&s->f, bad_rc);
    if ((long)called != c.calls)
      FAIL(&s->f, wrong);
    if (c.stable_seen != 1) /* present for the whole call: exactly once */
      FAIL(&s->f, miss);
    /* lookup under a read section: every instance returned is live. */
    void *out[8];
    size_t count = 0;
    roster_read_lock();
    int rc = roster_lookup(s->r, NULL, "room", out, 8, &count);
    size_t got = count < 8 ? count : 8;
    bool stable_found = false;
    for (size_t i = 0; rc == ROSTER_OK && i < got; i++) {
      if (!live(out[i]))
        FAIL(&s->f, dead);
      if (out[i] == &s->stable[0])
        stable_found = true;
    }
    roster_read_unlock();
    if (rc != ROSTER_OK)
      FAIL(&s->f, bad_rc);
    else if (count == 0 || (count <= 8 && !stable_found))
      FAIL(&s->f, miss);
    n++;
  }
  atomic_fetch_add(&s->dispatches, n);
  return NULL;
}

static void test_owner_release_mid_flight(void **state) {
  (void)state;
  s2 s;
  memset(&s, 0, sizeof s);
  fails_reset(&s.f);
  roster_options opt = {.keys = ROSTER_KEYS_DUPLICATE};
  s.r = tu_registry(&opt);
  atomic_init(&s.stable[0].magic, LIVE);
  atomic_init(&s.stable[0].destroyed, 0);
  s.opool = pool_new(S2_OWNERS * S2_OITER * S2_PER);
  s.regpool = pool_new(S2_REGITER);
  assert_ok(roster_register(s.r, NULL, "room", &cobj_type, &s.stable[0]));

  crew owners, dispatchers, registrar;
  crew_start(&dispatchers, S2_DISPATCHERS, s2_dispatcher, &s);
  crew_start(&owners, S2_OWNERS, s2_owner, &s);
  crew_start(&registrar, 1, s2_registrar, &s);
  crew_join(&owners);
  crew_join(&registrar);
  crew_stop(&dispatchers, &s.stop);

  roster_reclaim_wait();
  assert_no_fails(&s.f);
  assert_true(atomic_load(&s.dispatches) > 0);
  size_t count = 0;
  void *only = NULL;
  assert_ok(roster_lookup(s.r, NULL, "room", &only, 1, &count));
  assert_int_equal(count, 1);
  assert_ptr_equal(only, &s.stable[0]);
  assert_int_equal(roster_count(s.r, "side"), 0);
  roster_stats st;
  assert_ok(roster_stats_get(s.r, &st));
  assert_int_equal(st.entries, 1);
  assert_int_equal(st.registers,
                   1 + S2_OWNERS * S2_OITER * S2_PER + S2_REGITER);
  assert_int_equal(st.unregisters, S2_OWNERS * S2_OITER * S2_PER + S2_REGITER);
  for (int i = 0; i < S2_OWNERS * S2_OITER * S2_PER; i++)
    assert_int_equal(atomic_load(&s.opool[i].destroyed), 1);
  for (int i = 0; i < S2_REGITER; i++)
    assert_int_equal(atomic_load(&s.regpool[i].destroyed), 1);
  assert_int_equal(atomic_load(&s.stable[0].destroyed), 0);
  roster_free(s.r);
  assert_int_equal(atomic_load(&s.stable[0].destroyed), 1);
  free(s.opool);
  free(s.regpool);
}

/* ======================================================================
 * (3) Dispatch and foreach during bulk writes on duplicate keys.
 */
enum { S3_KEYS = 4, S3_WRITERS = 2, S3_WITER = 1200, S3_READERS = 2 };

typedef struct s3 {
  roster *r;
  fails f;
  cobj *pool;
  atomic_bool stop;
  atomic_long registered;
} s3;

static void *s3_writer(void *arg) {
  crew_arg *a = arg;
  s3 *s = a->s;
  long regs = 0;
  for (int i = 0; i < S3_WITER; i++) {
    char key[32];
    snprintf(key, sizeof key, "ch-%d", (i * 7 + a->id) % S3_KEYS);
    cobj *o = &s->pool[a->id * S3_WITER + i];
    if (roster_register(s->r, NULL, key, &cobj_type, o) != ROSTER_OK)
      FAIL(&s->f, bad_rc);
    else
      regs++;
    if (i % 5 == 4) {
      /* Remove every entry of a key, whoever registered them. */
      snprintf(key, sizeof key, "ch-%d", (i / 5 + a->id) % S3_KEYS);
      int rc = roster_unregister(s->r, NULL, key);
      if (rc != ROSTER_OK && rc != ROSTER_ENOENT)
        FAIL(&s->f, bad_rc);
    }
  }
  atomic_fetch_add(&s->registered, regs);
  return NULL;
}

typedef struct s3_visit {
  s3 *s;
  long calls;
} s3_visit;

static int s3_fn(const roster_info *info, void *arg) {
  s3_visit *v = arg;
  v->calls++;
  if (!live(info->instance))
    FAIL(&v->s->f, dead);
  if (info->type != &cobj_type)
    FAIL(&v->s->f, wrong);
  return 0;
}

static void *s3_reader(void *arg) {
  crew_arg *a = arg;
  s3 *s = a->s;
  for (int it = 0; it < READER_MAX_ITERS && !atomic_load(&s->stop); it++) {
    char key[32];
    snprintf(key, sizeof key, "ch-%d", (it + a->id) % S3_KEYS);
    s3_visit v = {.s = s};
    size_t called = 0;
    if (roster_dispatch(s->r, NULL, key, s3_fn, &v, &called) != ROSTER_OK)
      FAIL(&s->f, bad_rc);
    if ((long)called != v.calls)
      FAIL(&s->f, wrong);
    if (it % 8 == 0) {
      s3_visit w = {.s = s};
      size_t visited = 0;
      roster_query q = {.pattern = "ch-*"};
      if (roster_foreach(s->r, &q, s3_fn, &w, &visited) != ROSTER_OK)
        FAIL(&s->f, bad_rc);
      if ((long)visited != w.calls)
        FAIL(&s->f, wrong);
    }
    if (it % 16 == 0) {
      roster_list l = {0};
      roster_query q = {.pattern = "ch-?"};
      if (roster_select(s->r, &q, &l) != ROSTER_OK) {
        FAIL(&s->f, bad_rc);
      } else {
        for (size_t i = 0; i < l.count; i++)
          if (strncmp(l.items[i].name, "ch-", 3) != 0 ||
              strcmp(l.items[i].ns, ROSTER_DEFAULT_NS) != 0)
            FAIL(&s->f, wrong);
        roster_list_free(&l);
      }
    }
  }
  return NULL;
}

static void test_dispatch_during_writes(void **state) {
  (void)state;
  s3 s;
  memset(&s, 0, sizeof s);
  fails_reset(&s.f);
  roster_options opt = {.keys = ROSTER_KEYS_DUPLICATE};
  s.r = tu_registry(&opt);
  s.pool = pool_new(S3_WRITERS * S3_WITER);
  crew writers, readers;
  crew_start(&readers, S3_READERS, s3_reader, &s);
  crew_start(&writers, S3_WRITERS, s3_writer, &s);
  crew_join(&writers);
  crew_stop(&readers, &s.stop);

  assert_int_equal(atomic_load(&s.registered), S3_WRITERS * S3_WITER);
  roster_stats st;
  assert_ok(roster_stats_get(s.r, &st));
  assert_int_equal(st.registers, S3_WRITERS * S3_WITER);
  assert_int_equal(st.entries + st.unregisters, S3_WRITERS * S3_WITER);
  size_t removed = 0;
  assert_ok(roster_clear(s.r, &removed));
  assert_int_equal(removed, st.entries);
  roster_reclaim_wait();
  assert_no_fails(&s.f);
  assert_ok(roster_stats_get(s.r, &st));
  assert_int_equal(st.entries, 0);
  assert_int_equal(st.unregisters, S3_WRITERS * S3_WITER);
  for (int i = 0; i < S3_WRITERS * S3_WITER; i++)
    assert_int_equal(atomic_load(&s.pool[i].destroyed), 1);
  roster_free(s.r);
  free(s.pool);
}

/* ======================================================================
 * (4) Namespace drops during lookups.
 */
enum { S4_DROPS = 300, S4_PER = 8, S4_READERS = 2 };

typedef struct s4 {
  roster *r;
  fails f;
  cobj *pool;
  atomic_bool stop;
  atomic_long acquired;
} s4;

static void *s4_dropper(void *arg) {
  crew_arg *a = arg;
  s4 *s = a->s;
  for (int d = 0; d < S4_DROPS; d++) {
    for (int k = 0; k < S4_PER; k++) {
      char name[32];
      snprintf(name, sizeof name, "e%d", k);
      if (roster_register(s->r, "tmp", name, &cobj_type,
                          &s->pool[d * S4_PER + k]) != ROSTER_OK)
        FAIL(&s->f, bad_rc);
    }
    size_t removed = 0;
    if (roster_ns_drop(s->r, "tmp", &removed) != ROSTER_OK)
      FAIL(&s->f, bad_rc);
    else if (removed != S4_PER)
      FAIL(&s->f, wrong);
  }
  return NULL;
}

static void *s4_reader(void *arg) {
  crew_arg *a = arg;
  s4 *s = a->s;
  long acquired = 0;
  for (int it = 0; it < READER_MAX_ITERS && !atomic_load(&s->stop); it++) {
    char name[32];
    snprintf(name, sizeof name, "e%d", (it + a->id * 3) % S4_PER);
    void *p = NULL;
    roster_ref *ref = NULL;
    int rc = roster_acquire(s->r, "tmp", name, &cobj_type, &p, &ref);
    if (rc == ROSTER_OK) {
      acquired++;
      if (!live(p))
        FAIL(&s->f, dead);
      if (it % 4 == 0)
        sched_yield();
      if (!live(p))
        FAIL(&s->f, dead);
      roster_release(ref);
    } else if (rc != ROSTER_ENOENT) {
      FAIL(&s->f, bad_rc);
    } else if (ref != NULL || p != NULL) {
      FAIL(&s->f, wrong);
    }
    if (roster_count(s->r, "tmp") > S4_PER)
      FAIL(&s->f, wrong);
    if (it % 32 == 0) {
      roster_list l = {0};
      if (roster_list_entries(s->r, "tmp", &l) != ROSTER_OK) {
        FAIL(&s->f, bad_rc);
      } else {
        if (l.count > S4_PER)
          FAIL(&s->f, wrong);
        for (size_t i = 0; i < l.count; i++)
          if (strcmp(l.items[i].ns, "tmp") != 0 || l.items[i].name[0] != 'e')
            FAIL(&s->f, wrong);
        roster_list_free(&l);
      }
      roster_ns_list nl = {0};
      if (roster_ns_list_get(s->r, &nl) != ROSTER_OK) {
        FAIL(&s->f, bad_rc);
      } else {
        for (size_t i = 0; i < nl.count; i++)
          if (strcmp(nl.items[i].name, "tmp") != 0 ||
              nl.items[i].entries == 0 || nl.items[i].entries > S4_PER)
            FAIL(&s->f, wrong);
        roster_ns_list_free(&nl);
      }
    }
  }
  atomic_fetch_add(&s->acquired, acquired);
  return NULL;
}

static void test_ns_drop_during_lookups(void **state) {
  (void)state;
  s4 s;
  memset(&s, 0, sizeof s);
  fails_reset(&s.f);
  s.r = tu_registry(NULL);
  s.pool = pool_new(S4_DROPS * S4_PER);
  crew dropper, readers;
  crew_start(&readers, S4_READERS, s4_reader, &s);
  crew_start(&dropper, 1, s4_dropper, &s);
  crew_join(&dropper);
  crew_stop(&readers, &s.stop);

  roster_reclaim_wait();
  assert_no_fails(&s.f);
  print_message("acquired %ld times\n", atomic_load(&s.acquired));
  assert_int_equal(roster_count(s.r, "tmp"), 0);
  roster_ns_list nl = {0};
  assert_ok(roster_ns_list_get(s.r, &nl));
  assert_int_equal(nl.count, 0);
  roster_ns_list_free(&nl);
  roster_stats st;
  assert_ok(roster_stats_get(s.r, &st));
  assert_int_equal(st.entries, 0);
  assert_int_equal(st.namespaces, 0);
  assert_int_equal(st.unregisters, S4_DROPS * S4_PER);
  for (int i = 0; i < S4_DROPS * S4_PER; i++)
    assert_int_equal(atomic_load(&s.pool[i].destroyed), 1);
  roster_free(s.r);
  free(s.pool);
}

/* ======================================================================
 * (5) Concurrent replace under unique keys.
 */
enum { S5_KEYS = 4, S5_REPLACERS = 2, S5_RITER = 3000, S5_READERS = 2 };

typedef struct s5 {
  roster *r;
  fails f;
  cobj initial[S5_KEYS];
  cobj *pool;
  atomic_bool stop;
} s5;

static void *s5_replacer(void *arg) {
  crew_arg *a = arg;
  s5 *s = a->s;
  for (int i = 0; i < S5_RITER; i++) {
    char key[32];
    snprintf(key, sizeof key, "k%d", i % S5_KEYS);
    if (roster_replace(s->r, NULL, key, &cobj_type,
                       &s->pool[a->id * S5_RITER + i]) != ROSTER_OK)
      FAIL(&s->f, bad_rc);
  }
  return NULL;
}

static void *s5_reader(void *arg) {
  crew_arg *a = arg;
  s5 *s = a->s;
  for (int it = 0; it < READER_MAX_ITERS && !atomic_load(&s->stop); it++) {
    char key[32];
    snprintf(key, sizeof key, "k%d", (it + a->id) % S5_KEYS);
    void *p = NULL;
    roster_read_lock();
    int rc = roster_get(s->r, NULL, key, &cobj_type, &p);
    if (rc == ROSTER_OK && !live(p))
      FAIL(&s->f, dead);
    roster_read_unlock();
    if (rc == ROSTER_ENOENT)
      FAIL(&s->f, miss);
    else if (rc != ROSTER_OK)
      FAIL(&s->f, bad_rc); /* EAMBIGUOUS would be a bug too */
    if (!roster_has(s->r, NULL, key))
      FAIL(&s->f, miss);
    size_t count = 0;
    if (roster_lookup(s->r, NULL, key, NULL, 0, &count) != ROSTER_OK)
      FAIL(&s->f, bad_rc);
    else if (count != 1)
      FAIL(&s->f, miss);
    {
      roster_ref *ref = NULL;
      rc = roster_acquire(s->r, NULL, key, &cobj_type, &p, &ref);
      if (rc == ROSTER_OK) {
        if (!live(p))
          FAIL(&s->f, dead);
        if (it % 4 == 0)
          sched_yield();
        if (!live(p))
          FAIL(&s->f, dead);
        roster_release(ref);
      } else if (rc == ROSTER_ENOENT) {
        FAIL(&s->f, miss); /* never neither old nor new */
      } else {
        FAIL(&s->f, bad_rc);
      }
    }
  }
  return NULL;
}

static void test_concurrent_replace(void **state) {
  (void)state;
  s5 s;
  memset(&s, 0, sizeof s);
  fails_reset(&s.f);
  s.r = tu_registry(NULL);
  s.pool = pool_new(S5_REPLACERS * S5_RITER);
  for (int k = 0; k < S5_KEYS; k++) {
    char key[32];
    snprintf(key, sizeof key, "k%d", k);
    atomic_init(&s.initial[k].magic, LIVE);
    atomic_init(&s.initial[k].destroyed, 0);
    assert_ok(roster_register(s.r, NULL, key, &cobj_type, &s.initial[k]));
  }
  crew replacers, readers;
  crew_start(&readers, S5_READERS, s5_reader, &s);
  crew_start(&replacers, S5_REPLACERS, s5_replacer, &s);
  crew_join(&replacers);
  crew_stop(&readers, &s.stop);

  roster_reclaim_wait();
  assert_no_fails(&s.f);
  /* Exactly one entry per key; it is live; everything else destroyed once. */
  void *current[S5_KEYS];
  for (int k = 0; k < S5_KEYS; k++) {
    char key[32];
    snprintf(key, sizeof key, "k%d", k);
    size_t count = 0;
    assert_ok(roster_lookup(s.r, NULL, key, &current[k], 1, &count));
    assert_int_equal(count, 1);
    assert_true(live(current[k]));
  }
  roster_stats st;
  assert_ok(roster_stats_get(s.r, &st));
  assert_int_equal(st.entries, S5_KEYS);
  assert_int_equal(st.registers, S5_KEYS + S5_REPLACERS * S5_RITER);
  assert_int_equal(st.unregisters, S5_REPLACERS * S5_RITER);
  for (int i = 0; i < S5_REPLACERS * S5_RITER; i++) {
    bool cur = false;
    for (int k = 0; k < S5_KEYS; k++)
      cur = cur || current[k] == &s.pool[i];
    assert_int_equal(atomic_load(&s.pool[i].destroyed), cur ? 0 : 1);
  }
  for (int k = 0; k < S5_KEYS; k++)
    assert_int_equal(atomic_load(&s.initial[k].destroyed), 1);
  roster_free(s.r);
  for (int i = 0; i < S5_REPLACERS * S5_RITER; i++)
    assert_int_equal(atomic_load(&s.pool[i].destroyed), 1);
  assert_int_equal(atomic_load(&bad_destroys), 0);
  free(s.pool);
}

/* ======================================================================
 * (6) wait_for woken across threads.
 */
enum { S6_WAITERS = 6, S6_REGISTRARS = 2 };

typedef struct s6 {
  roster *r;
  cobj pool[S6_WAITERS];
  int wait_rc[S6_WAITERS];
  int get_rc[S6_WAITERS];
  void *got[S6_WAITERS];
  int reg_rc[S6_WAITERS];
  int stray_rc;
} s6;

static void *s6_waiter(void *arg) {
  crew_arg *a = arg;
  s6 *s = a->s;
  char name[32];
  snprintf(name, sizeof name, "late-%d", a->id);
  s->wait_rc[a->id] = roster_wait_for(s->r, "svc", name, 30000);
  s->get_rc[a->id] = roster_get(s->r, "svc", name, &cobj_type, &s->got[a->id]);
  return NULL;
}

static void *s6_stray(void *arg) {
  s6 *s = ((crew_arg *)arg)->s;
  /* Same names, other namespace: never registered. */
  s->stray_rc = roster_wait_for(s->r, "elsewhere", "late-0", 300);
  return NULL;
}

static void *s6_registrar(void *arg) {
  crew_arg *a = arg;
  s6 *s = a->s;
  struct timespec ts = {0, 30 * 1000000L};
  nanosleep(&ts, NULL);
  for (int i = a->id; i < S6_WAITERS; i += S6_REGISTRARS) {
    char name[32];
    snprintf(name, sizeof name, "late-%d", i);
    s->reg_rc[i] = roster_register(s->r, "svc", name, &cobj_type, &s->pool[i]);
    /* Some noise that wakes nobody. */
    snprintf(name, sizeof name, "noise-%d", i);
    roster_register(s->r, "svc", name, &roster__tu_counter_type, NULL);
  }
  return NULL;
}

static void test_wait_for_across_threads(void **state) {
  (void)state;
  s6 s;
  memset(&s, 0, sizeof s);
  s.r = tu_registry(NULL);
  for (int i = 0; i < S6_WAITERS; i++) {
    atomic_init(&s.pool[i].magic, LIVE);
    atomic_init(&s.pool[i].destroyed, 0);
    s.wait_rc[i] = s.get_rc[i] = s.reg_rc[i] = -99;
  }
  crew waiters, stray, registrars;
  crew_start(&waiters, S6_WAITERS, s6_waiter, &s);
  crew_start(&stray, 1, s6_stray, &s);
  crew_start(&registrars, S6_REGISTRARS, s6_registrar, &s);
  crew_join(&registrars);
  crew_join(&waiters);
  crew_join(&stray);
  for (int i = 0; i < S6_WAITERS; i++) {
    assert_ok(s.reg_rc[i]);
    assert_ok(s.wait_rc[i]);
    assert_ok(s.get_rc[i]);
    assert_ptr_equal(s.got[i], &s.pool[i]);
  }
  assert_rc(s.stray_rc, ROSTER_ETIMEDOUT);
  roster_free(s.r);
  for (int i = 0; i < S6_WAITERS; i++)
    assert_int_equal(atomic_load(&s.pool[i].destroyed), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_writers_and_readers),
      cmocka_unit_test(test_owner_release_mid_flight),
      cmocka_unit_test(test_dispatch_during_writes),
      cmocka_unit_test(test_ns_drop_during_lookups),
      cmocka_unit_test(test_concurrent_replace),
      cmocka_unit_test(test_wait_for_across_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
