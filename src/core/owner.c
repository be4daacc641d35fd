/*
 * owner.c: owner tokens. Each owned entry has a link (roster__olink) in its
 * owner's list, guarded by the owner's mutex; roster_owner_drop walks the
 * list and removes every entry from whichever registry holds it.
 *
 * Races with a plain unregister are settled by cds_lfht_del: exactly one
 * side wins the removal. The list is kept consistent by two rules under the
 * owner's mutex: the registering thread links an entry only if it is not
 * already removed, and the removing thread unlinks it only if linked. The
 * token's memory is reference-counted (one for the user, one per entry) so
 * a removal finishing late never touches a freed owner.
 */
#include "roster_impl.h"

struct roster_owner {
  pthread_mutex_t lock;
  roster__olink *head;
  atomic_uint refs;
};

static roster_owner *owner_make(void) {
  roster_owner *o = roster__calloc(1, sizeof *o);
  if (!o) {
    roster__err(ROSTER_ENOMEM, "out of memory making an owner");
    return NULL;
  }
  pthread_mutex_init(&o->lock, NULL);
  atomic_init(&o->refs, 1);
  return o;
}

int roster_owner_new(roster_owner **out) {
  if (!out)
    return roster__err(ROSTER_EINVAL, "roster_owner_new: out is NULL");
  *out = owner_make();
  return *out ? ROSTER_OK : roster_last_code();
}

void roster__owner_get(roster_owner *o) { atomic_fetch_add(&o->refs, 1); }

void roster__owner_put(roster_owner *o) {
  if (atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) == 1) {
    pthread_mutex_destroy(&o->lock);
    roster__free(o);
  }
}

void roster__owner_link(roster_owner *o, roster__entry *e) {
  roster__olink *l = roster__olink_of(e);
  pthread_mutex_lock(&o->lock);
  if (!atomic_load(&e->removed)) {
    l->prev = NULL;
    l->next = o->head;
    if (o->head)
      o->head->prev = l;
    o->head = l;
    l->linked = true;
  }
  pthread_mutex_unlock(&o->lock);
}

static void unlink_locked(roster_owner *o, roster__olink *l) {
  if (!l->linked)
    return;
  if (l->prev)
    l->prev->next = l->next;
  else
    o->head = l->next;
  if (l->next)
    l->next->prev = l->prev;
  l->prev = l->next = NULL;
  l->linked = false;
}

void roster__owner_unlink(roster__entry *e) {
  roster__olink *l = roster__olink_of(e);
  roster_owner *o = l->owner;
  pthread_mutex_lock(&o->lock);
  unlink_locked(o, l);
  pthread_mutex_unlock(&o->lock);
}

size_t roster__owner_take_key(roster_owner *o, roster *r, const roster__key *k,
                              roster__vec *vec, bool *more) {
  size_t n = vec->n;
  *more = false;
  pthread_mutex_lock(&o->lock);
  for (roster__olink *l = o->head; l; l = l->next) {
    roster__entry *e = l->entry;
    if (e->ns->r != r || !roster__key_is(k, e->ns, e->name_len, e->name))
      continue;
    if (!roster__vec_room(vec)) {
      *more = true;
      break;
    }
    if (roster__take(r, e))
      roster__vec_push(vec, e);
  }
  pthread_mutex_unlock(&o->lock);
  return vec->n - n;
}

int roster_owner_drop(roster_owner *o, size_t *removed) {
  if (removed)
    *removed = 0;
  if (!o)
    return roster__err(ROSTER_EINVAL, "owner is NULL");
  roster__thread_ensure();
  size_t n = 0;
  for (;;) {
    /* Take one entry at a time: the read section must cover the moment the
     * link is dropped until the table delete, so the entry stays valid. */
    roster__rlock();
    pthread_mutex_lock(&o->lock);
    roster__olink *l = o->head;
    if (l)
      unlink_locked(o, l);
    pthread_mutex_unlock(&o->lock);
    if (!l) {
      roster__runlock();
      break;
    }
    roster__entry *e = l->entry;
    roster *r = e->ns->r;
    bool won = roster__take(r, e);
    roster__runlock();
    if (won) {
      roster__finish_removal(r, e, ROSTER_REASON_OWNER, true);
      n++;
    }
  }
  if (removed)
    *removed = n;
  return ROSTER_OK;
}

void roster_owner_free(roster_owner *o) {
  if (!o)
    return;
  roster_owner_drop(o, NULL);
  roster__owner_put(o);
}
