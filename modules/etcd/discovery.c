/*
 * discovery.c: publishing local services to etcd and mirroring the
 * cluster's services into a registry.
 *
 * A publication is one key, <prefix>/<cluster>/<ns>/<name>/<instance>,
 * whose value is the instance's JSON, bound to the lease of a session of
 * its own: the key is rewritten when the lease is found gone, follows the
 * service's lifecycle state (a listener of ROSTER_EV_STATE on the
 * registry), and vanishes with the lease when the process dies.
 *
 * A mirror watches <prefix>/<cluster>/ and keeps one registry entry per
 * instance (duplicate keys: one key per service name), each with an owner
 * of its own so that exactly that instance can be removed. An update
 * registers the new entry before the old one is removed, so a lookup of
 * the name never finds it missing meanwhile.
 */
#include "etcd_impl.h"

#include "base/helpers.h"

#include <roster/lifecycle.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- publish ---- */

struct roster_etcd_publication {
  roster_etcd *c;
  roster *r;
  char *key, *ns, *name, *instance, *address, *cluster;
  json_t *meta;
  int port;
  roster_etcd_session *s;
  pthread_mutex_t mu;
  char state[32];
  uint64_t listen_id;
  bool listening;
  bool closed; /* unpublished: a listener call still in flight does nothing */
  atomic_int refs; /* the owner's, and the listener's while it is in */
};

static atomic_uint instance_counter;

static bool gone_state(const char *state) {
  return !strcmp(state, "stopped") || !strcmp(state, "failed") ||
         !strcmp(state, "stopping");
}

/* write puts (or deletes) the key for p->state; mu held. */
static int write_locked(roster_etcd_publication *p, int64_t lease) {
  if (gone_state(p->state))
    return roster_etcd_delete(p->c, p->key, false, NULL);
  json_t *v = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:O?}", "cluster",
                        p->cluster, "ns", p->ns, "name", p->name, "instance",
                        p->instance, "address", p->address, "port", p->port,
                        "state", p->state, "meta", p->meta);
  char *text = v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref(v);
  if (!text)
    return roster_error_set(ROSTER_ENOMEM, "etcd publish: out of memory");
  int rc = roster_etcd_put(p->c, p->key, text, strlen(text), lease, NULL);
  free(text);
  return rc;
}

static int on_lease(roster_etcd_session *s, int64_t lease, void *arg) {
  (void)s;
  roster_etcd_publication *p = arg;
  pthread_mutex_lock(&p->mu);
  int rc = p->closed ? ROSTER_OK : write_locked(p, lease);
  pthread_mutex_unlock(&p->mu);
  return rc;
}

int roster_etcd_publication_set_state(roster_etcd_publication *p,
                                      const char *state) {
  if (!p || !state || strlen(state) >= sizeof p->state)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_etcd_publication_set_state: no "
                            "publication or a bad state");
  pthread_mutex_lock(&p->mu);
  int rc = ROSTER_OK;
  if (!p->closed && strcmp(p->state, state)) {
    snprintf(p->state, sizeof p->state, "%s", state);
    rc = write_locked(p, roster_etcd_session_lease(p->s));
  }
  pthread_mutex_unlock(&p->mu);
  return rc;
}

static void on_state(roster *r, const roster_event *ev, void *arg) {
  (void)r;
  roster_etcd_publication *p = arg;
  if (ev->kind != ROSTER_EV_STATE || !ev->state ||
      strcmp(ev->entry->ns, p->ns) || strcmp(ev->entry->name, p->name))
    return;
  /* A failure here is retried by the next state change or lease renewal;
   * the listener has no caller to tell. */
  roster_etcd_publication_set_state(p, roster_state_name(ev->state->to));
}

static void pub_free(void *arg) {
  roster_etcd_publication *p = arg;
  if (atomic_fetch_sub(&p->refs, 1) != 1)
    return;
  pthread_mutex_destroy(&p->mu);
  json_decref(p->meta);
  roster_mem_free(p->key);
  roster_mem_free(p->ns);
  roster_mem_free(p->name);
  roster_mem_free(p->instance);
  roster_mem_free(p->address);
  roster_mem_free(p->cluster);
  roster_mem_free(p);
}

int roster_etcd_publish(roster_etcd *c, roster *r,
                        const roster_etcd_publish_options *o,
                        roster_etcd_publication **out) {
  if (!out)
    return roster_error_set(ROSTER_EINVAL, "roster_etcd_publish: out is NULL");
  *out = NULL;
  if (!c || !o || !o->name || !*o->name || strchr(o->name, '/') ||
      (o->ns && strchr(o->ns, '/')) ||
      (o->instance && strchr(o->instance, '/')))
    return roster_error_set(ROSTER_EINVAL,
                            "roster_etcd_publish: a client and a service "
                            "name are needed; names hold no '/'");
  json_error_t je;
  json_t *meta = o->meta ? json_loads(o->meta, 0, &je) : NULL;
  if (o->meta && !json_is_object(meta)) {
    json_decref(meta);
    return roster_error_set(ROSTER_EINVAL,
                            "etcd publish of '%s': meta is not a JSON object",
                            o->name);
  }
  roster_etcd_publication *p = roster_mem_calloc(1, sizeof *p);
  if (!p) {
    json_decref(meta);
    return roster_error_set(ROSTER_ENOMEM, "etcd publish: out of memory");
  }
  pthread_mutex_init(&p->mu, NULL);
  atomic_init(&p->refs, 1);
  p->c = c;
  p->r = r;
  p->meta = meta;
  p->port = o->port;
  char host[300], inst[340];
  roster__etcd_host_id(host, sizeof host);
  snprintf(inst, sizeof inst, "%s-%u", host,
           atomic_fetch_add(&instance_counter, 1));
  char hn[256] = "localhost";
  gethostname(hn, sizeof hn - 1);
  hn[sizeof hn - 1] = '\0';
  p->ns = roster_mem_strdup(o->ns ? o->ns : ROSTER_DEFAULT_NS);
  p->name = roster_mem_strdup(o->name);
  p->instance = roster_mem_strdup(o->instance ? o->instance : inst);
  p->address = roster_mem_strdup(o->address ? o->address : hn);
  p->cluster = roster_mem_strdup(o->cluster ? o->cluster : "default");
  size_t kn = strlen(o->prefix ? o->prefix : "/roster") + 600;
  p->key = roster_mem_alloc(kn);
  if (!p->ns || !p->name || !p->instance || !p->address || !p->cluster ||
      !p->key) {
    pub_free(p);
    return roster_error_set(ROSTER_ENOMEM, "etcd publish: out of memory");
  }
  snprintf(p->key, kn, "%s/%s/%s/%s/%s", o->prefix ? o->prefix : "/roster",
           p->cluster, p->ns, p->name, p->instance);
  roster_state st = ROSTER_STATE_READY;
  if (r && roster_service_state(r, p->ns, p->name, &st) != ROSTER_OK)
    st = ROSTER_STATE_READY; /* a plain entry, or none: published as ready */
  snprintf(p->state, sizeof p->state, "%s", roster_state_name(st));
  int rc = roster_etcd_session_new(c, o->ttl_s > 0 ? o->ttl_s : 10, on_lease, p,
                                   &p->s);
  if (!rc) {
    pthread_mutex_lock(&p->mu);
    rc = write_locked(p, roster_etcd_session_lease(p->s));
    pthread_mutex_unlock(&p->mu);
  }
  if (!rc && r) {
    atomic_fetch_add(&p->refs, 1); /* the listener's, dropped by free_arg */
    rc =
        roster_listen(r, ROSTER_EV_STATE, on_state, p, pub_free, &p->listen_id);
    p->listening = rc == ROSTER_OK;
    if (rc)
      atomic_fetch_sub(&p->refs, 1); /* free_arg is not called */
    /* A transition between the first read and the listener: read again
     * (a failed write is made good by the next change or lease renewal). */
    if (!rc && roster_service_state(r, p->ns, p->name, &st) == ROSTER_OK)
      roster_etcd_publication_set_state(p, roster_state_name(st));
  }
  if (rc) {
    rc = roster__err_wrap(rc, "etcd publish of '%s'", p->name);
    roster_etcd_session_free(p->s, false);
    pub_free(p);
    return rc;
  }
  *out = p;
  return ROSTER_OK;
}

void roster_etcd_unpublish(roster_etcd_publication *p, bool keep_lease) {
  if (!p)
    return;
  if (p->listening)
    roster_unlisten(p->r, p->listen_id);
  /* A listener call still in flight finds closed set; p is freed when both
   * this and the listener (free_arg, once no call is in flight) let go. */
  pthread_mutex_lock(&p->mu);
  p->closed = true;
  if (!keep_lease)
    roster_etcd_delete(p->c, p->key, false, NULL);
  pthread_mutex_unlock(&p->mu);
  roster_etcd_session_free(p->s, keep_lease);
  p->s = NULL;
  pub_free(p); /* the owner's reference; the listener's goes by free_arg */
}
