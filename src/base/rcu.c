/*
 * rcu.c: per-thread plumbing over liburcu (bp flavour: the one meant for
 * libraries, which cannot control their callers' threads or fork()).
 *
 * A thread is registered with RCU lazily, on its first roster call, and
 * unregistered by a pthread key destructor when it exits. The same first call
 * hands the thread a counter shard of its own (see roster__count), returned
 * to the pool at exit. fork() is wrapped with liburcu's call_rcu hooks so the
 * reclaim thread survives in the child.
 */
#include "base/base.h"

#include <sched.h>

_Thread_local ROSTER__TLS roster__tls roster__tls_state;
int roster__grace_token;
int roster__barrier_token;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t thread_key;
static pthread_mutex_t shard_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t shard_used; /* bit i: shard i is owned by a live thread */

static void thread_exit(void *p) {
  (void)p;
  int s = roster__tls_state.shard;
  if (s < ROSTER__SHARDS) {
    pthread_mutex_lock(&shard_lock);
    shard_used &= ~(UINT64_C(1) << s);
    pthread_mutex_unlock(&shard_lock);
  }
  roster__tls_state.shard = ROSTER__SHARDS;
  if (roster__tls_state.registered) {
    urcu_bp_unregister_thread();
    roster__tls_state.registered = 0;
  }
}

/* bp's fork hooks drop the registrations of threads that do not exist in the
 * child (the memb flavour has no such hook, and its child crashed walking
 * dead threads' state);
 * the call_rcu hooks restart the reclaim thread. */
static void fork_prepare(void) {
  urcu_bp_call_rcu_before_fork();
  urcu_bp_before_fork();
}
static void fork_parent(void) {
  urcu_bp_after_fork_parent();
  urcu_bp_call_rcu_after_fork_parent();
}
static void fork_child(void) {
  urcu_bp_after_fork_child();
  urcu_bp_call_rcu_after_fork_child();
}

static void init_once(void) {
  pthread_key_create(&thread_key, thread_exit);
  pthread_atfork(fork_prepare, fork_parent, fork_child);
}

void roster__thread_slow(void) {
  pthread_once(&once, init_once);
  urcu_bp_register_thread();
  roster__tls_state.registered = 1;
  int s = ROSTER__SHARDS;
  pthread_mutex_lock(&shard_lock);
  if (~shard_used) {
    s = __builtin_ctzll(~shard_used);
    shard_used |= UINT64_C(1) << s;
  }
  pthread_mutex_unlock(&shard_lock);
  roster__tls_state.shard = s;
  /* Any non-NULL value makes the destructor run at thread exit. */
  pthread_setspecific(thread_key, (void *)1);
}

void roster__defer(struct rcu_head *head, void (*fn)(struct rcu_head *)) {
  ROSTER__TSAN_RELEASE(head);
  urcu_bp_call_rcu(head, fn);
}

/* ---- batched deferral (roster__defer_batched) ----
 * The waiting heads form a stack linked through their own rcu_head (the
 * queue node's next pointer, unused until call_rcu), so adding one is a
 * compare-and-swap; handing the stack over takes it whole (an exchange),
 * which is free of ABA. A hand-over wraps the taken list in a batch whose
 * one callback, a grace period later, runs each head's fn in turn. Every
 * head on a taken list was retired before the exchange, hence before the
 * batch's call_rcu: the grace period covers it. roster__barrier hands the
 * stack over itself and waits for hand-overs under way (defer_handing),
 * so what was retired before it is queued before its rcu_barrier. */
typedef struct defer_batch {
  struct rcu_head rcu;
  struct rcu_head *first;
} defer_batch;

static struct rcu_head *_Atomic defer_top;
static atomic_uint defer_handing; /* hand-overs between take and queue */
static atomic_bool defer_armed;   /* defer_timer is queued */
static struct rcu_head defer_timer;

static struct rcu_head *defer_next(const struct rcu_head *h) {
  return (struct rcu_head *)(void *)h->next.next;
}

static void defer_run(struct rcu_head *h) {
  ROSTER__TSAN_ACQUIRE(h);
  defer_batch *b = caa_container_of(h, defer_batch, rcu);
  for (struct rcu_head *x = b->first, *next; x; x = next) {
    next = defer_next(x);
    x->func(x);
  }
  roster__free(b);
}

/* defer_hand_over queues the waiting stack, if any. */
static void defer_hand_over(void) {
  atomic_fetch_add(&defer_handing, 1);
  struct rcu_head *list = atomic_exchange(&defer_top, NULL);
  if (list) {
    defer_batch *b = roster__malloc(sizeof *b);
    if (b) {
      b->first = list;
      roster__defer(&b->rcu, defer_run);
    } else { /* no memory for a batch: one call_rcu each */
      for (struct rcu_head *next; list; list = next) {
        next = defer_next(list);
        roster__defer(list, list->func);
      }
    }
  }
  atomic_fetch_sub(&defer_handing, 1);
}

static void defer_tick(struct rcu_head *h) {
  (void)h;
  roster__reclaim_enter();
  atomic_store(&defer_armed, false);
  defer_hand_over();
  roster__reclaim_exit();
}

/* The push is acquire as well: when it lands on the empty stack a timer's
 * exchange left, it sees that timer's disarm, so it arms the next one. */
void roster__defer_batched(struct rcu_head *head,
                           void (*fn)(struct rcu_head *)) {
  ROSTER__TSAN_RELEASE(head);
  head->func = fn;
  struct rcu_head *top = atomic_load_explicit(&defer_top, memory_order_relaxed);
  do
    head->next.next = (struct cds_wfcq_node *)(void *)top;
  while (!atomic_compare_exchange_weak_explicit(
      &defer_top, &top, head, memory_order_acq_rel, memory_order_acquire));
  if (++roster__tls_state.deferred >= ROSTER__DEFER_BATCH) {
    roster__tls_state.deferred = 0;
    defer_hand_over();
  } else if (!top &&
             !atomic_load_explicit(&defer_armed, memory_order_relaxed) &&
             !atomic_exchange(&defer_armed, true)) {
    roster__defer(&defer_timer, defer_tick);
  }
}

void roster__barrier(void) {
  defer_hand_over();
  while (atomic_load(&defer_handing))
    sched_yield();
  urcu_bp_barrier();
  ROSTER__TSAN_ACQUIRE(&roster__barrier_token);
}

/* ---- RCU hash tables (roster__tab) ---- */

roster__tab *roster__tab_new(size_t slots) {
  roster__tab *t =
      roster__calloc(1, sizeof *t + slots * sizeof(_Atomic uintptr_t));
  if (t)
    t->mask = slots - 1;
  return t;
}

void roster__tab_free(roster__tab *t) { roster__free(t); }

static void reclaim_tab(struct rcu_head *h) {
  roster__reclaim_enter();
  ROSTER__TSAN_ACQUIRE(h);
  ROSTER__TSAN_ACQUIRE(&roster__grace_token);
  roster__free(caa_container_of(h, roster__tab, rcu));
  roster__reclaim_exit();
}

void roster__tab_retire(roster__tab *t) { roster__defer(&t->rcu, reclaim_tab); }

roster__tab *roster__tab_rebuilt(const roster__tab *t,
                                 uint64_t (*hash)(const void *item,
                                                  const void *ctx),
                                 const void *ctx) {
  size_t slots = t->mask + 1;
  if ((t->live + 1) * 4 > slots)
    slots *= 2;
  roster__tab *nt = roster__tab_new(slots);
  if (!nt)
    return NULL;
  for (size_t i = 0; i <= t->mask; i++) {
    uintptr_t s = atomic_load_explicit(&t->slot[i], memory_order_relaxed);
    if (s <= ROSTER__TOMB)
      continue;
    size_t j =
        (size_t)hash((const void *)(s & ROSTER__PTR_MASK), ctx) & nt->mask;
    while (atomic_load_explicit(&nt->slot[j], memory_order_relaxed))
      j = (j + 1) & nt->mask;
    atomic_store_explicit(&nt->slot[j], s, memory_order_relaxed);
    nt->used++;
    nt->live++;
  }
  return nt;
}
