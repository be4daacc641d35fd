/*
 * test_listeners.c: roster_listen / roster_unlisten. Listeners see register
 * and unregister events with the entry's namespace, name, type, instance,
 * owner, metadata and the reason; masks select kinds; an event runs after the
 * change is visible and before the instance is destroyed; roster_unlisten
 * stops delivery and answers ROSTER_ENOENT for an unknown id; free_arg runs
 * exactly once after unlisten or roster_free, and never when roster_listen
 * fails; a listener may re-enter the registry (register, unregister, get,
 * listen, unlisten, even unlisten itself) without deadlock.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- recording listener: tu_reglog (testutil.h) ---------------------- */

static void check_ev(const tu_regev *e, roster_event_kind kind,
                     roster_reason reason, const char *ns, const char *name,
                     const roster_type *type, void *instance) {
  assert_int_equal(e->kind, kind);
  assert_int_equal(e->reason, reason);
  assert_string_equal(e->ns, ns);
  assert_string_equal(e->name, name);
  assert_ptr_equal(e->type, type);
  assert_ptr_equal(e->instance, instance);
}

/* ---- free_arg counting ------------------------------------------------- */

static atomic_int freed_a, freed_b, freed_c;
static void free_a(void *arg) {
  (void)arg;
  atomic_fetch_add(&freed_a, 1);
}
static void free_b(void *arg) {
  (void)arg;
  atomic_fetch_add(&freed_b, 1);
}
static void free_c(void *arg) {
  (void)arg;
  atomic_fetch_add(&freed_c, 1);
}

/* wait_count waits (bounded) until *c reaches want, then a little longer so
 * that an extra call would show; returns the value seen. free_arg may run on
 * roster's reclaim thread, so it is not synchronous with unlisten. */
static int wait_count(atomic_int *c, int want) {
  for (int i = 0; i < 10000 && atomic_load(c) < want; i++) {
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  roster_reclaim_wait();
  struct timespec ts = {0, 20000000};
  nanosleep(&ts, NULL);
  return atomic_load(c);
}

static int inst[32];

/* ---- tests ------------------------------------------------------------- */

static void test_events_and_reasons(void **state) {
  (void)state;
  roster__tu_reset_destroyed();
  roster *r = tu_registry(NULL);
  tu_reglog rec;
  roster__tu_reglog_init(&rec);
  uint64_t id = 0;
  assert_ok(roster_listen(r, ROSTER_EV_ALL, roster__tu_reglog_listener, &rec,
                          NULL, &id));

  assert_ok(roster_register(r, "a", "x", &roster__tu_counter_type, &inst[0]));
  assert_int_equal(rec.n, 1); /* runs on this thread before register returns */
  check_ev(&rec.ev[0], ROSTER_EV_REGISTER, ROSTER_REASON_CALL, "a", "x",
           &roster__tu_counter_type, &inst[0]);
  assert_true(rec.ev[0].visible);
  assert_null(rec.ev[0].owner);

  assert_ok(roster_unregister(r, "a", "x"));
  assert_int_equal(rec.n, 2);
  check_ev(&rec.ev[1], ROSTER_EV_UNREGISTER, ROSTER_REASON_CALL, "a", "x",
           &roster__tu_counter_type, &inst[0]);
  assert_false(rec.ev[1].visible); /* after the change is visible */
  assert_int_equal(rec.ev[1].destroyed_then, 0);

  /* NULL namespace is reported as the default one; owner and meta shown. */
  roster_owner *o = tu_owner();
  roster_entry_options eo = {.owner = o, .meta = "m3ta", .meta_len = 4};
  assert_ok(
      roster_register_ex(r, NULL, "d", &roster__tu_other_type, &inst[1], &eo));
  assert_int_equal(rec.n, 3);
  check_ev(&rec.ev[2], ROSTER_EV_REGISTER, ROSTER_REASON_CALL,
           ROSTER_DEFAULT_NS, "d", &roster__tu_other_type, &inst[1]);
  assert_ptr_equal(rec.ev[2].owner, o);
  assert_int_equal(rec.ev[2].meta_len, 4);
  assert_memory_equal(rec.ev[2].meta, "m3ta", 4);

  /* Replace: the new register, then the old one's unregister. Earlier
   * removals are reclaimed first, so the count is this replace's alone. */
  roster_reclaim_wait();
  int before = roster__tu_destroyed();
  assert_int_equal(before, 1);
  assert_ok(roster_replace(r, NULL, "d", &roster__tu_counter_type, &inst[2]));
  assert_int_equal(rec.n, 5);
  /* (The header names no reason for the register half of a replace.) */
  assert_int_equal(rec.ev[3].kind, ROSTER_EV_REGISTER);
  assert_string_equal(rec.ev[3].name, "d");
  assert_ptr_equal(rec.ev[3].type, &roster__tu_counter_type);
  assert_ptr_equal(rec.ev[3].instance, &inst[2]);
  check_ev(&rec.ev[4], ROSTER_EV_UNREGISTER, ROSTER_REASON_REPLACED,
           ROSTER_DEFAULT_NS, "d", &roster__tu_other_type, &inst[1]);
  assert_ptr_equal(rec.ev[4].owner, o);
  assert_true(rec.ev[4].visible); /* the new entry holds the key */
  assert_int_equal(rec.ev[4].destroyed_then, before);

  /* Owner release, namespace drop, clear. */
  assert_ok(roster_register_ex(r, "o", "owned", &roster__tu_counter_type,
                               &inst[3], &eo));
  assert_ok(roster_owner_drop(o, NULL));
  assert_int_equal(rec.n, 7);
  check_ev(&rec.ev[6], ROSTER_EV_UNREGISTER, ROSTER_REASON_OWNER, "o", "owned",
           &roster__tu_counter_type, &inst[3]);
  assert_false(rec.ev[6].visible);

  assert_ok(roster_register(r, "t", "t1", &roster__tu_counter_type, &inst[4]));
  assert_ok(roster_ns_drop(r, "t", NULL));
  assert_int_equal(rec.n, 9);
  check_ev(&rec.ev[8], ROSTER_EV_UNREGISTER, ROSTER_REASON_NS_DROP, "t", "t1",
           &roster__tu_counter_type, &inst[4]);
  assert_false(rec.ev[8].visible);

  size_t removed = 0;
  assert_ok(roster_clear(r, &removed));
  assert_int_equal(removed, 1); /* default/d */
  assert_int_equal(rec.n, 10);
  check_ev(&rec.ev[9], ROSTER_EV_UNREGISTER, ROSTER_REASON_CLEAR,
           ROSTER_DEFAULT_NS, "d", &roster__tu_counter_type, &inst[2]);
  assert_false(rec.ev[9].visible);
  for (size_t i = 0; i < rec.n; i++)
    assert_ptr_equal(rec.ev[i].r, r);

  /* Failed calls send nothing. */
  assert_ok(roster_register(r, NULL, "u", &roster__tu_counter_type, &inst[5]));
  assert_rc(roster_register(r, NULL, "u", &roster__tu_counter_type, &inst[6]),
            ROSTER_EEXIST);
  assert_rc(roster_unregister(r, NULL, "nope"), ROSTER_ENOENT);
  assert_int_equal(rec.n, 11);

  /* roster_free does not tell listeners. */
  roster_free(r);
  assert_int_equal(rec.n, 11);
  roster_owner_free(o);
  roster__tu_reglog_fini(&rec);
}

static void test_masks(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  tu_reglog reg, unreg, both;
  roster__tu_reglog_init(&reg);
  roster__tu_reglog_init(&unreg);
  roster__tu_reglog_init(&both);
  assert_ok(roster_listen(r, ROSTER_EV_REGISTER, roster__tu_reglog_listener,
                          &reg, NULL, NULL));
  assert_ok(roster_listen(r, ROSTER_EV_UNREGISTER, roster__tu_reglog_listener,
                          &unreg, NULL, NULL));
  assert_ok(roster_listen(r, ROSTER_EV_REGISTER | ROSTER_EV_UNREGISTER,
                          roster__tu_reglog_listener, &both, NULL, NULL));
  assert_ok(roster_register(r, NULL, "a", &roster__tu_counter_type, &inst[0]));
  assert_ok(roster_register(r, NULL, "b", &roster__tu_counter_type, &inst[1]));
  assert_ok(roster_unregister(r, NULL, "a"));
  assert_int_equal(reg.n, 2);
  assert_int_equal(unreg.n, 1);
  assert_int_equal(both.n, 3);
  for (size_t i = 0; i < reg.n; i++)
    assert_int_equal(reg.ev[i].kind, ROSTER_EV_REGISTER);
  assert_int_equal(unreg.ev[0].kind, ROSTER_EV_UNREGISTER);
  assert_string_equal(unreg.ev[0].name, "a");
  roster_free(r);
  roster__tu_reglog_fini(&reg);
  roster__tu_reglog_fini(&unreg);
  roster__tu_reglog_fini(&both);
}

static void test_unlisten_and_free_arg(void **state) {
  (void)state;
  atomic_store(&freed_a, 0);
  atomic_store(&freed_b, 0);
  roster *r = tu_registry(NULL);
  roster *r2 = tu_registry(NULL);
  assert_non_null(r);
  assert_non_null(r2);
  tu_reglog ra, rb;
  roster__tu_reglog_init(&ra);
  roster__tu_reglog_init(&rb);
  uint64_t ida = 0, idb = 0;
  assert_ok(roster_listen(r, ROSTER_EV_ALL, roster__tu_reglog_listener, &ra,
                          free_a, &ida));
  assert_ok(roster_listen(r, ROSTER_EV_ALL, roster__tu_reglog_listener, &rb,
                          free_b, &idb));
  assert_true(ida != idb);
  assert_ok(roster_register(r, NULL, "x", &roster__tu_counter_type, &inst[0]));
  assert_int_equal(ra.n, 1);
  assert_int_equal(rb.n, 1);
  assert_int_equal(atomic_load(&freed_a), 0);

  /* An id of r is not a listener of r2. */
  assert_rc(roster_unlisten(r2, ida), ROSTER_ENOENT);
  assert_rc(roster_unlisten(r, ida + idb + 1000), ROSTER_ENOENT);
  assert_int_equal(wait_count(&freed_a, 0), 0);

  assert_ok(roster_unlisten(r, ida));
  assert_int_equal(wait_count(&freed_a, 1), 1);
  assert_int_equal(atomic_load(&freed_b), 0);
  assert_rc(roster_unlisten(r, ida), ROSTER_ENOENT);
  assert_int_equal(wait_count(&freed_a, 1), 1); /* still exactly once */

  assert_ok(roster_unregister(r, NULL, "x"));
  assert_int_equal(ra.n, 1); /* no longer called */
  assert_int_equal(rb.n, 2);

  /* roster_free frees the remaining listener's arg, once. */
  roster_free(r);
  assert_int_equal(wait_count(&freed_b, 1), 1);
  assert_int_equal(atomic_load(&freed_a), 1);
  assert_int_equal(rb.n, 2);
  roster_free(r2);
  roster__tu_reglog_fini(&ra);
  roster__tu_reglog_fini(&rb);
}

static void test_listen_failure_does_not_call_free_arg(void **state) {
  (void)state;
  atomic_store(&freed_c, 0);
  roster *r = tu_registry(NULL);
  uint64_t id = 12345;
  assert_rc(roster_listen(r, ROSTER_EV_ALL, NULL, &id, free_c, &id),
            ROSTER_EINVAL);
  assert_rc(roster_listen(NULL, ROSTER_EV_ALL, roster__tu_reglog_listener, &id,
                          free_c, &id),
            ROSTER_EINVAL);
  roster_stats st;
  assert_ok(roster_stats_get(r, &st));
  assert_int_equal(st.listeners, 0);
  assert_int_equal(wait_count(&freed_c, 0), 0);
  roster_free(r);
  assert_int_equal(wait_count(&freed_c, 0), 0);
}

/* ---- re-entrant listener ----------------------------------------------- */

typedef struct reent {
  uint64_t self_id;
  int calls;       /* calls to this listener */
  int calls_after; /* calls after it unlistened itself */
  bool unlistened;
  int rc_register, rc_get, rc_get_side, rc_listen, rc_unlisten_tmp;
  int rc_unregister, rc_unlisten_self, rc_has_side;
  void *got;
  tu_reglog tmp; /* the temporary listener's record */
} reent;

static void reent_fn(roster *r, const roster_event *ev, void *arg) {
  reent *c = arg;
  c->calls++;
  if (c->unlistened)
    c->calls_after++;
  if (ev->kind == ROSTER_EV_REGISTER &&
      strcmp(ev->entry->name, "trigger") == 0) {
    /* Register another name (this listener runs again for it, nested). */
    c->rc_register =
        roster_register(r, NULL, "side", &roster__tu_counter_type, &inst[10]);
    c->rc_get =
        roster_get(r, NULL, "trigger", &roster__tu_counter_type, &c->got);
    void *p = NULL;
    c->rc_get_side = roster_get(r, NULL, "side", NULL, &p);
    /* Add a listener, let it see one event, remove it. */
    uint64_t tid = 0;
    c->rc_listen = roster_listen(r, ROSTER_EV_ALL, roster__tu_reglog_listener,
                                 &c->tmp, free_c, &tid);
    roster_register(r, NULL, "seen-by-tmp", &roster__tu_counter_type,
                    &inst[11]);
    c->rc_unlisten_tmp = roster_unlisten(r, tid);
  } else if (ev->kind == ROSTER_EV_UNREGISTER &&
             strcmp(ev->entry->name, "trigger") == 0) {
    c->rc_unregister = roster_unregister(r, NULL, "side");
    c->rc_has_side = roster_has(r, NULL, "side");
    c->rc_unlisten_self = roster_unlisten(r, c->self_id);
    c->unlistened = true;
  }
}

static void test_reentrant_listener(void **state) {
  (void)state;
  atomic_store(&freed_a, 0);
  atomic_store(&freed_c, 0);
  roster *r = tu_registry(NULL);
  reent c;
  memset(&c, 0, sizeof c);
  roster__tu_reglog_init(&c.tmp);
  c.rc_register = c.rc_get = c.rc_get_side = c.rc_listen = -99;
  c.rc_unlisten_tmp = c.rc_unregister = c.rc_unlisten_self = -99;
  assert_ok(roster_listen(r, ROSTER_EV_ALL, reent_fn, &c, free_a, &c.self_id));

  assert_ok(
      roster_register(r, NULL, "trigger", &roster__tu_counter_type, &inst[0]));
  assert_ok(c.rc_register);
  assert_ok(c.rc_get);
  assert_ptr_equal(c.got, &inst[0]);
  assert_ok(c.rc_get_side);
  assert_ok(c.rc_listen);
  assert_ok(c.rc_unlisten_tmp);
  /* The effects are visible. */
  assert_true(roster_has(r, NULL, "side"));
  assert_true(roster_has(r, NULL, "seen-by-tmp"));
  /* trigger, side, seen-by-tmp. */
  assert_int_equal(c.calls, 3);
  /* The temporary listener saw its one event, then was removed. */
  assert_int_equal(c.tmp.n, 1);
  assert_string_equal(c.tmp.ev[0].name, "seen-by-tmp");
  assert_int_equal(wait_count(&freed_c, 1), 1);

  assert_ok(roster_unregister(r, NULL, "trigger"));
  assert_ok(c.rc_unregister);
  assert_false(c.rc_has_side);
  assert_ok(c.rc_unlisten_self);
  assert_false(roster_has(r, NULL, "side"));
  /* trigger's unregister and, nested, side's. */
  assert_int_equal(c.calls, 5);
  assert_int_equal(c.calls_after, 0);
  assert_int_equal(wait_count(&freed_a, 1), 1);

  /* Removed: no further calls. */
  assert_ok(
      roster_register(r, NULL, "later", &roster__tu_counter_type, &inst[1]));
  assert_int_equal(c.calls, 5);
  assert_int_equal(c.tmp.n, 1);
  roster_stats st;
  assert_ok(roster_stats_get(r, &st));
  assert_int_equal(st.listeners, 0);
  roster_free(r);
  assert_int_equal(wait_count(&freed_a, 1), 1);
  assert_int_equal(wait_count(&freed_c, 1), 1);
  roster__tu_reglog_fini(&c.tmp);
}

/* ---- instance alive during unregister ---------------------------------- */

#define LIVE 0x11ee11eeu
#define DEAD 0xdeaddeadu
typedef struct obj {
  unsigned magic;
  atomic_int destroyed;
} obj;

static void obj_destroy(void *p) {
  obj *o = p;
  o->magic = DEAD;
  atomic_fetch_add(&o->destroyed, 1);
}
static const roster_type obj_type = {.name = "obj", .destroy = obj_destroy};

typedef struct alive_ctx {
  int calls;
  int dead_seen;
} alive_ctx;

static void alive_fn(roster *r, const roster_event *ev, void *arg) {
  (void)r;
  alive_ctx *c = arg;
  obj *o = ev->entry->instance;
  c->calls++;
  if (o->magic != LIVE || atomic_load(&o->destroyed) != 0)
    c->dead_seen++;
}

static void test_instance_alive_in_unregister_listener(void **state) {
  (void)state;
  roster_options opt = {.keys = ROSTER_KEYS_DUPLICATE};
  roster *r = tu_registry(&opt);
  alive_ctx c = {0};
  assert_ok(roster_listen(r, ROSTER_EV_UNREGISTER, alive_fn, &c, NULL, NULL));
  obj objs[8];
  for (int i = 0; i < 8; i++) {
    objs[i].magic = LIVE;
    atomic_init(&objs[i].destroyed, 0);
  }
  roster_owner *ow = tu_owner();
  roster_entry_options eo = {.owner = ow};
  assert_ok(roster_register(r, NULL, "k", &obj_type, &objs[0]));
  assert_ok(roster_register(r, NULL, "k", &obj_type, &objs[1]));
  assert_ok(roster_register_ex(r, NULL, "o", &obj_type, &objs[2], &eo));
  assert_ok(roster_register(r, "n", "x", &obj_type, &objs[3]));
  assert_ok(roster_register(r, NULL, "c", &obj_type, &objs[4]));
  assert_ok(roster_register(r, NULL, "rp", &obj_type, &objs[5]));

  assert_ok(roster_unregister(r, NULL, "k"));                    /* 2 */
  assert_ok(roster_owner_drop(ow, NULL));                        /* 1 */
  assert_ok(roster_ns_drop(r, "n", NULL));                       /* 1 */
  assert_ok(roster_replace(r, NULL, "rp", &obj_type, &objs[6])); /* 1 */
  assert_ok(roster_clear(r, NULL)); /* c and rp(6): 2 */
  assert_int_equal(c.calls, 7);
  assert_int_equal(c.dead_seen, 0);
  roster_reclaim_wait();
  for (int i = 0; i < 7; i++) {
    assert_int_equal(atomic_load(&objs[i].destroyed), 1);
    assert_int_equal(objs[i].magic, DEAD);
  }
  roster_owner_free(ow);
  roster_free(r);
}

/* ---- events from other threads ----------------------------------------- */

typedef struct thr_ctx {
  pthread_mutex_t mu;
  int calls;
  int on_main;
  pthread_t main_thread;
} thr_ctx;

static void thr_fn(roster *r, const roster_event *ev, void *arg) {
  (void)r;
  (void)ev;
  thr_ctx *c = arg;
  pthread_mutex_lock(&c->mu);
  c->calls++;
  if (pthread_equal(pthread_self(), c->main_thread))
    c->on_main++;
  pthread_mutex_unlock(&c->mu);
}

typedef struct worker {
  roster *r;
  int id;
  int failures;
} worker;

static void *worker_main(void *arg) {
  worker *w = arg;
  for (int i = 0; i < 50; i++) {
    char name[32];
    snprintf(name, sizeof name, "w%d-%d", w->id, i);
    if (roster_register(w->r, NULL, name, &roster__tu_counter_type, &inst[0]) !=
        0)
      w->failures++;
    if (roster_unregister(w->r, NULL, name) != 0)
      w->failures++;
  }
  return NULL;
}

static void test_events_on_changing_thread(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  thr_ctx c = {.main_thread = pthread_self()};
  pthread_mutex_init(&c.mu, NULL);
  assert_ok(roster_listen(r, ROSTER_EV_ALL, thr_fn, &c, NULL, NULL));
  worker w[3];
  pthread_t th[3];
  for (int i = 0; i < 3; i++) {
    w[i] = (worker){.r = r, .id = i};
    assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
  }
  for (int i = 0; i < 3; i++) {
    assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(w[i].failures, 0);
  }
  assert_int_equal(c.calls, 3 * 50 * 2);
  assert_int_equal(c.on_main, 0); /* run on the thread that made the change */
  roster_free(r);
  pthread_mutex_destroy(&c.mu);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_events_and_reasons),
      cmocka_unit_test(test_masks),
      cmocka_unit_test(test_unlisten_and_free_arg),
      cmocka_unit_test(test_listen_failure_does_not_call_free_arg),
      cmocka_unit_test(test_reentrant_listener),
      cmocka_unit_test(test_instance_alive_in_unregister_listener),
      cmocka_unit_test(test_events_on_changing_thread),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
