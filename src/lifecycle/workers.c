/*
 * workers.c: the lifecycle's bounded worker pool.
 *
 * N detached worker threads take jobs from a queue ordered by priority
 * (FIFO among equals). A timer thread
 * watches the running jobs' deadlines: a job that overruns is abandoned (its
 * worker is forgotten by the pool and replaced, so the pool keeps N usable
 * workers), the job's on_timeout runs on the timer thread, and when the user
 * function finally returns, the abandoned worker runs the job's late hook
 * and exits without touching the pool again. No user code runs with the pool
 * lock held. Workers block every signal (signals belong to the program's own
 * threads and to roster_run).
 */
#include "lc_impl.h"

#include <errno.h>
#include <signal.h>
#include <time.h>

typedef struct worker {
  roster__workers *pool; /* NULL once abandoned */
  roster__job *job;      /* running job, under the pool lock */
} worker;

struct roster__workers {
  pthread_mutex_t lock;
  pthread_cond_t work;  /* queue not empty or stopping */
  pthread_cond_t timer; /* running set changed or stopping */
  pthread_cond_t idle;  /* a worker left */
  roster__job *qhead, *qtail;
  roster__job *running; /* list of running jobs with a deadline */
  unsigned want;        /* workers to keep */
  unsigned live;        /* workers not abandoned */
  bool stopping;
  pthread_t timer_thread;
  bool timer_started;
};

static _Thread_local bool in_worker;

bool roster__in_worker(void) { return in_worker; }

void roster__job_put(roster__job *j) {
  if (atomic_fetch_sub_explicit(&j->refs, 1, memory_order_acq_rel) == 1)
    j->drop(j);
}

static void *worker_main(void *arg);

/* spawn starts one detached worker, with every signal blocked. Called with
 * the pool lock held. */
static bool spawn(roster__workers *p) {
  worker *w = roster__calloc(1, sizeof *w);
  if (!w)
    return false;
  w->pool = p;
  if (roster__thread_start(NULL, "roster-worker", true, worker_main, w)) {
    roster__free(w);
    return false;
  }
  p->live++;
  return true;
}

static void unlink_running(roster__workers *p, roster__job *j) {
  for (roster__job **pp = &p->running; *pp; pp = &(*pp)->next)
    if (*pp == j) {
      *pp = j->next;
      j->next = NULL;
      return;
    }
}

static void *worker_main(void *arg) {
  worker *w = arg;
  roster__workers *p = w->pool;
  in_worker = true;
  pthread_mutex_lock(&p->lock);
  for (;;) {
    while (!p->qhead && !p->stopping)
      pthread_cond_wait(&p->work, &p->lock);
    if (!p->qhead)
      break; /* stopping and nothing left */
    roster__job *j = p->qhead;
    p->qhead = j->next;
    if (!p->qhead)
      p->qtail = NULL;
    j->next = NULL;
    j->status = ROSTER__JOB_RUNNING;
    j->worker = w;
    w->job = j;
    if (j->timeout_ns > 0) {
      j->deadline_ns = roster__mono_ns() + j->timeout_ns;
      j->next = p->running;
      p->running = j;
      pthread_cond_signal(&p->timer);
    }
    pthread_mutex_unlock(&p->lock);

    j->run(j);

    pthread_mutex_lock(&p->lock);
    if (j->status == ROSTER__JOB_ABANDONED) {
      /* The timer gave up on us and replaced us: finish alone. */
      pthread_mutex_unlock(&p->lock);
      if (j->late)
        j->late(j);
      roster__job_put(j);
      roster__free(w);
      return NULL;
    }
    j->status = ROSTER__JOB_DONE;
    if (j->timeout_ns > 0)
      unlink_running(p, j);
    w->job = NULL;
    pthread_mutex_unlock(&p->lock);
    if (j->done)
      j->done(j);
    roster__job_put(j);
    pthread_mutex_lock(&p->lock);
  }
  p->live--;
  pthread_cond_broadcast(&p->idle);
  pthread_mutex_unlock(&p->lock);
  roster__free(w);
  return NULL;
}

static void *timer_main(void *arg) {
  roster__workers *p = arg;
  roster__thread_ensure();
  pthread_mutex_lock(&p->lock);
  while (!p->stopping || p->running) {
    int64_t now = roster__mono_ns(), next = 0;
    roster__job *late = NULL;
    for (roster__job **pp = &p->running; *pp;) {
      roster__job *j = *pp;
      if (j->deadline_ns <= now) {
        *pp = j->next;
        j->status = ROSTER__JOB_ABANDONED;
        ((worker *)j->worker)->pool = NULL;
        p->live--;
        if (!p->stopping)
          spawn(p); /* keep the pool at strength */
        atomic_fetch_add(&j->refs, 1);
        j->next = late;
        late = j;
        continue;
      }
      if (!next || j->deadline_ns < next)
        next = j->deadline_ns;
      pp = &j->next;
    }
    if (late) {
      pthread_cond_broadcast(&p->idle);
      pthread_mutex_unlock(&p->lock);
      while (late) {
        roster__job *j = late;
        late = j->next;
        j->next = NULL;
        if (j->on_timeout)
          j->on_timeout(j);
        roster__job_put(j);
      }
      pthread_mutex_lock(&p->lock);
      continue;
    }
    if (next) {
      struct timespec ts;
      roster__deadline(&ts, next);
      pthread_cond_timedwait(&p->timer, &p->lock, &ts);
    } else {
      pthread_cond_wait(&p->timer, &p->lock);
    }
  }
  pthread_mutex_unlock(&p->lock);
  return NULL;
}

roster__workers *roster__workers_new(unsigned workers) {
  roster__workers *p = roster__calloc(1, sizeof *p);
  if (!p)
    return NULL;
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->work, NULL);
  roster__cond_init_mono(&p->timer);
  pthread_cond_init(&p->idle, NULL);
  p->want = workers;
  pthread_mutex_lock(&p->lock);
  for (unsigned i = 0; i < workers; i++)
    if (!spawn(p))
      break;
  bool ok = p->live > 0;
  pthread_mutex_unlock(&p->lock);
  if (ok && roster__thread_start(&p->timer_thread, "roster-lc-timer", false,
                                 timer_main, p) == ROSTER_OK)
    p->timer_started = true;
  if (!p->timer_started) {
    roster__workers_free(p);
    return NULL;
  }
  return p;
}

void roster__workers_submit(roster__workers *p, roster__job *j) {
  j->status = ROSTER__JOB_QUEUED;
  j->next = NULL;
  pthread_mutex_lock(&p->lock);
  if (!p->qtail || p->qtail->prio >= j->prio) { /* the common case */
    if (p->qtail)
      p->qtail->next = j;
    else
      p->qhead = j;
    p->qtail = j;
  } else { /* after every queued job of the same or a higher priority */
    roster__job **pp = &p->qhead;
    while ((*pp)->prio >= j->prio)
      pp = &(*pp)->next;
    j->next = *pp;
    *pp = j;
  }
  pthread_cond_signal(&p->work);
  pthread_mutex_unlock(&p->lock);
}

void roster__workers_free(roster__workers *p) {
  if (!p)
    return;
  pthread_mutex_lock(&p->lock);
  /* Queued jobs never run. */
  roster__job *q = p->qhead;
  p->qhead = p->qtail = NULL;
  p->stopping = true;
  pthread_cond_broadcast(&p->work);
  pthread_cond_broadcast(&p->timer);
  /* Running jobs with a deadline are abandoned by the timer at the latest
   * then; workers without one are waited for. */
  while (p->live)
    pthread_cond_wait(&p->idle, &p->lock);
  pthread_mutex_unlock(&p->lock);
  if (p->timer_started)
    pthread_join(p->timer_thread, NULL);
  while (q) {
    roster__job *j = q;
    q = j->next;
    roster__job_put(j);
  }
  pthread_cond_destroy(&p->work);
  pthread_cond_destroy(&p->timer);
  pthread_cond_destroy(&p->idle);
  pthread_mutex_destroy(&p->lock);
  roster__free(p);
}
