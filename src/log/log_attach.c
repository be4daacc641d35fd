/*
 * log_attach.c: a registry's events logged through a logger
 * (roster_log_attach). The logger sits above the core: the core knows
 * nothing of it, and this file only listens (roster_listen) for state
 * changes and registrations and writes one line for each.
 *
 * A state change carries when the service entered the state it leaves
 * (prev_at_ns), which gives each line's duration_ms: how long a start, a
 * stop or a degraded spell took. To tell "restarted" from "started" and to
 * give an uptime, each attachment remembers, per service, whether it has
 * been up and since when (a small hash table under the attachment's lock).
 */
#include "log_impl.h"

#include <stdio.h>
#include <string.h>

typedef struct svc_rec {
  struct svc_rec *next;
  uint64_t hash;
  bool was_up;
  int64_t up_at_ns; /* 0: not up */
  char key[];       /* ns '\0' name '\0' */
} svc_rec;

struct rl_attach {
  rl_attach *next; /* in the core's list, under core->mu */
  roster *r;
  uint64_t id;     /* the listener */
  bool detached;   /* roster_log_detach was called */
  roster_log *log; /* a handle, dropped when the listener goes */
  pthread_mutex_t mu;
  svc_rec **buckets;
  size_t nbuckets, count;
};

static uint64_t fnv(const char *ns, const char *name) {
  uint64_t h = 1469598103934665603ull;
  for (const unsigned char *p = (const unsigned char *)ns; *p; p++)
    h = (h ^ *p) * 1099511628211ull;
  h = (h ^ 0xff) * 1099511628211ull; /* separator: no byte of a name */
  for (const unsigned char *p = (const unsigned char *)name; *p; p++)
    h = (h ^ *p) * 1099511628211ull;
  return h;
}

/* rec_get finds or adds the record of (ns, name); a->mu held. NULL only
 * when out of memory (the line is then written without the history). */
static svc_rec *rec_get(rl_attach *a, const char *ns, const char *name) {
  uint64_t h = fnv(ns, name);
  size_t nl = strlen(ns), ml = strlen(name);
  if (a->nbuckets) {
    for (svc_rec *s = a->buckets[h & (a->nbuckets - 1)]; s; s = s->next)
      if (s->hash == h && !strcmp(s->key, ns) && !strcmp(s->key + nl + 1, name))
        return s;
  }
  if (a->count >= a->nbuckets * 2) {
    size_t nb = a->nbuckets ? a->nbuckets * 2 : 64;
    svc_rec **b = roster_mem_calloc(nb, sizeof *b);
    if (!b)
      return NULL;
    for (size_t i = 0; i < a->nbuckets; i++)
      for (svc_rec *s = a->buckets[i], *nx; s; s = nx) {
        nx = s->next;
        s->next = b[s->hash & (nb - 1)];
        b[s->hash & (nb - 1)] = s;
      }
    roster_mem_free(a->buckets);
    a->buckets = b;
    a->nbuckets = nb;
  }
  svc_rec *s = roster_mem_calloc(1, sizeof *s + nl + ml + 2);
  if (!s)
    return NULL;
  s->hash = h;
  memcpy(s->key, ns, nl + 1);
  memcpy(s->key + nl + 1, name, ml + 1);
  s->next = a->buckets[h & (a->nbuckets - 1)];
  a->buckets[h & (a->nbuckets - 1)] = s;
  a->count++;
  return s;
}

static void attach_free(void *arg) {
  rl_attach *a = arg;
  rl_core *c = a->log->core;
  pthread_mutex_lock(&c->mu);
  for (rl_attach **pp = &c->attached; *pp; pp = &(*pp)->next)
    if (*pp == a) {
      *pp = a->next;
      break;
    }
  pthread_mutex_unlock(&c->mu);
  for (size_t i = 0; i < a->nbuckets; i++)
    for (svc_rec *s = a->buckets[i], *nx; s; s = nx) {
      nx = s->next;
      roster_mem_free(s);
    }
  roster_mem_free(a->buckets);
  pthread_mutex_destroy(&a->mu);
  roster_log *log = a->log;
  roster_mem_free(a);
  roster_log_free(log);
}

static void on_state(rl_attach *a, const roster_info *e,
                     const roster_state_change *ch) {
  int64_t dur_ms = (ch->at_ns - ch->prev_at_ns) / 1000000;
  int64_t uptime_ms = -1;
  const char *what = "changed";
  int level = ROSTER_LOG_DEBUG;
  bool up = ch->to == ROSTER_STATE_READY || ch->to == ROSTER_STATE_DEGRADED ||
            ch->to == ROSTER_STATE_UNHEALTHY;
  pthread_mutex_lock(&a->mu);
  svc_rec *s = rec_get(a, e->ns, e->name);
  if (up && ch->from == ROSTER_STATE_STARTING) {
    what = s && s->was_up ? "restarted" : "started";
    level = ROSTER_LOG_INFO;
    if (s) {
      s->was_up = true;
      s->up_at_ns = ch->at_ns;
    }
  } else if (up) {
    if (ch->to == ROSTER_STATE_READY) {
      what = "recovered";
      level = ROSTER_LOG_INFO;
    } else {
      what = ch->to == ROSTER_STATE_DEGRADED ? "degraded" : "unhealthy";
      level = ROSTER_LOG_WARN;
    }
  } else {
    switch (ch->to) {
    case ROSTER_STATE_STARTING:
      what = "starting";
      break;
    case ROSTER_STATE_STOPPING:
      what = "stopping";
      break;
    case ROSTER_STATE_STOPPED:
      what = "stopped";
      level = ROSTER_LOG_INFO;
      break;
    case ROSTER_STATE_FAILED:
      what = "failed";
      level = ROSTER_LOG_ERROR;
      break;
    case ROSTER_STATE_DECLARED:
      what = "declared";
      break;
    default:
      break;
    }
    if (s && s->up_at_ns) {
      uptime_ms = (ch->at_ns - s->up_at_ns) / 1000000;
      if (ch->to != ROSTER_STATE_STOPPING)
        s->up_at_ns = 0; /* down now */
    }
  }
  pthread_mutex_unlock(&a->mu);

  roster_log_field f[9];
  size_t n = 0;
  f[n++] = ROSTER_LOG_STR("service", e->name);
  f[n++] = ROSTER_LOG_STR("ns", e->ns);
  f[n++] = ROSTER_LOG_STR("state", roster_state_name(ch->to));
  f[n++] = ROSTER_LOG_STR("from", roster_state_name(ch->from));
  f[n++] = ROSTER_LOG_INT("duration_ms", dur_ms);
  if (uptime_ms >= 0)
    f[n++] = ROSTER_LOG_INT("uptime_ms", uptime_ms);
  bool has_err = ch->error != ROSTER_OK;
  if (has_err) {
    f[n++] = ROSTER_LOG_STR("error", roster_err_name(ch->error));
    f[n++] = ROSTER_LOG_STR("detail", ch->detail && ch->detail[0]
                                          ? ch->detail
                                          : roster_strerror(ch->error));
  }
  if (ch->to == ROSTER_STATE_FAILED)
    f[n++] = ROSTER_LOG_BOOL("final", ch->final);
  roster_log_write(a->log, level, f, n, "%s %s", e->name, what);
}

static const char *reason_name(roster_reason r) {
  switch (r) {
  case ROSTER_REASON_CALL:
    return "call";
  case ROSTER_REASON_REPLACED:
    return "replaced";
  case ROSTER_REASON_OWNER:
    return "owner";
  case ROSTER_REASON_NS_DROP:
    return "ns_drop";
  case ROSTER_REASON_CLEAR:
    return "clear";
  }
  return "?";
}

static void on_event(roster *r, const roster_event *ev, void *arg) {
  (void)r;
  rl_attach *a = arg;
  const roster_info *e = ev->entry;
  if (!e)
    return;
  if (ev->kind == ROSTER_EV_STATE && ev->state) {
    on_state(a, e, ev->state);
    return;
  }
  if (!roster_log_enabled(a->log, ROSTER_LOG_DEBUG))
    return;
  bool reg = ev->kind == ROSTER_EV_REGISTER;
  roster_log_field f[] = {ROSTER_LOG_STR("service", e->name),
                          ROSTER_LOG_STR("ns", e->ns),
                          ROSTER_LOG_STR("type", e->type ? e->type->name : "?"),
                          ROSTER_LOG_STR("reason", reason_name(ev->reason))};
  roster_log_write(a->log, ROSTER_LOG_DEBUG, f, reg ? 3 : 4, "%s %s", e->name,
                   reg ? "registered" : "unregistered");
}

int roster_log_attach(roster *r, roster_log *log) {
  if (!r || !log)
    return roster_error_set(ROSTER_EINVAL, "roster_log_attach: %s is NULL",
                            r ? "the logger" : "the registry");
  rl_core *c = log->core;
  rl_attach *a = roster_mem_calloc(1, sizeof *a);
  if (!a)
    return roster_error_set(ROSTER_ENOMEM, "roster_log_attach: out of "
                                           "memory");
  a->r = r;
  a->log = log;
  pthread_mutex_init(&a->mu, NULL);
  pthread_mutex_lock(&c->mu);
  for (rl_attach *x = c->attached; x; x = x->next)
    if (x->r == r && x->log == log && !x->detached) {
      pthread_mutex_unlock(&c->mu);
      pthread_mutex_destroy(&a->mu);
      roster_mem_free(a);
      return roster_error_set(ROSTER_EEXIST, "roster_log_attach: the logger "
                                             "is already attached to this "
                                             "registry");
    }
  /* listed before listening, so attach_free always finds it */
  a->next = c->attached;
  c->attached = a;
  roster__log_log_ref(log);
  pthread_mutex_unlock(&c->mu);
  uint64_t id = 0;
  int rc = roster_listen(
      r, ROSTER_EV_STATE | ROSTER_EV_REGISTER | ROSTER_EV_UNREGISTER, on_event,
      a, attach_free, &id);
  if (rc != ROSTER_OK) {
    roster__err_saved e;
    roster__err_save(&e, rc);
    attach_free(a); /* unlists it and drops the handle */
    return roster__err_restore(&e);
  }
  pthread_mutex_lock(&c->mu);
  a->id = id;
  pthread_mutex_unlock(&c->mu);
  return ROSTER_OK;
}

int roster_log_detach(roster *r, roster_log *log) {
  if (!r || !log)
    return roster_error_set(ROSTER_EINVAL, "roster_log_detach: %s is NULL",
                            r ? "the logger" : "the registry");
  rl_core *c = log->core;
  uint64_t id = 0;
  pthread_mutex_lock(&c->mu);
  for (rl_attach *x = c->attached; x; x = x->next)
    if (x->r == r && x->log == log && !x->detached && x->id) {
      x->detached = true;
      id = x->id;
      break;
    }
  pthread_mutex_unlock(&c->mu);
  if (!id)
    return roster_error_set(ROSTER_ENOENT, "roster_log_detach: the logger "
                                           "is not attached to this "
                                           "registry");
  return roster_unlisten(r, id);
}
