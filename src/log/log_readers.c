/*
 * log_readers.c: the reader slots behind rl_sinks_enter/exit (see
 * log_impl.h): claiming one per thread, recycling it when the thread
 * exits, and roster__log_sinks_wait, which a change of a sink set runs before
 * it frees the old set or closes a removed sink.
 *
 * Slots live in one process-wide list that only grows (a slot is reused
 * by the next thread after its owner exits), so a changer can walk it
 * without a lock and a slot is never freed under a reader. This is a
 * small hand-written grace period, not liburcu: an RCU read section must
 * not block, and a sink write may block for as long as its reader (a
 * pipe, a terminal) wants; here a blocked writer delays only changes to
 * its own logger's sinks.
 */
#include "log_impl.h"

#include <time.h>

_Thread_local ROSTER__TLS rl_rslot *roster__log_my_slot;

static pthread_mutex_t slots_mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(rl_rslot *) slots_head;
static unsigned nslots; /* under slots_mu */
static pthread_once_t slots_once = PTHREAD_ONCE_INIT;
static pthread_key_t slot_key;
static bool key_ok;

/* slot_release runs when the owner thread exits: the slot (even: no use
 * can be in progress) goes back for the next thread. */
static void slot_release(void *p) {
  rl_rslot *s = p;
  if (roster__log_my_slot == s)
    roster__log_my_slot = NULL; /* a later line on this thread claims again */
  atomic_store_explicit(&s->used, false, memory_order_release);
}

/* after_fork: in the child only the forking thread exists; the others'
 * slots are released (one caught inside a use is closed). */
static void after_fork(void) {
  for (rl_rslot *s = atomic_load(&slots_head); s; s = s->next)
    if (s != roster__log_my_slot) {
      uint64_t q = atomic_load(&s->seq);
      if (q & 1)
        atomic_store(&s->seq, q + 1);
      atomic_store(&s->used, false);
    }
}

static void slots_init(void) {
  key_ok = pthread_key_create(&slot_key, slot_release) == 0;
  pthread_atfork(NULL, NULL, after_fork);
}

rl_rslot *roster__log_slot_claim(void) {
  pthread_once(&slots_once, slots_init);
  if (!key_ok)
    return NULL;
  pthread_mutex_lock(&slots_mu);
  rl_rslot *s = atomic_load(&slots_head);
  for (; s; s = s->next) {
    bool free_ = false;
    if (atomic_compare_exchange_strong(&s->used, &free_, true))
      break;
  }
  if (!s) {
    s = roster_mem_calloc(1, sizeof *s); /* lives as long as the process */
    if (s) {
      s->shard = nslots < RL_SHARDS ? nslots : RL_SHARDS;
      nslots++;
      atomic_init(&s->used, true);
      s->next = atomic_load(&slots_head);
      atomic_store(&slots_head, s);
    }
  }
  pthread_mutex_unlock(&slots_mu);
  if (s && pthread_setspecific(slot_key, s) != 0) {
    atomic_store(&s->used, false); /* no destructor: do not keep it */
    s = NULL;
  }
  roster__log_my_slot = s;
  return s;
}

static void pause_briefly(void) {
  struct timespec ts = {0, 50000};
  nanosleep(&ts, NULL);
}

void roster__log_sinks_wait(rl_core *c) {
  /* The set was swapped with a seq_cst exchange before this: a use that
   * loaded the old set made its slot odd before that, so it is seen. */
  for (rl_rslot *s = atomic_load(&slots_head); s; s = s->next) {
    uint64_t q = atomic_load(&s->seq);
    if (!(q & 1))
      continue;
    /* acquire: if the slot has moved on to another core since, this
     * load also orders the end of the use q before what follows */
    if (atomic_load_explicit(&s->core, memory_order_acquire) != c)
      continue;
    while (atomic_load(&s->seq) == q)
      pause_briefly();
  }
  /* nested uses: two flips, so a use that read the epoch before the
   * first flip but counted itself after it is caught by the second. An
   * epoch is drained when its exits equal its enters: exits is read
   * first and never exceeds enters, so equal values mean that every use
   * begun by then had ended. */
  for (int phase = 0; phase < 2; phase++) {
    unsigned old = atomic_fetch_add(&c->epoch, 1) & 1u;
    for (;;) {
      uint64_t x = atomic_load(&c->exits[old]);
      if (x == atomic_load(&c->enters[old]))
        break;
      pause_briefly();
    }
  }
}
