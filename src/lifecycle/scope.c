/*
 * scope.c: child scopes.
 *
 * A scope is an ordinary registry with a parent pointer. Lookups that miss
 * in the scope continue in the parent (registry.c, roster__get_slow), so a
 * name registered or provided in the scope shadows the parent's. The scope
 * holds its parent's memory (holds), never its contents: freeing a parent
 * while scopes live empties it at once and leaves the empty shell for the
 * scopes' lookups until the last of them is freed.
 */
#include "core/roster_impl.h"

#include <stdio.h>

void roster__struct_release(roster *r) {
  if (atomic_fetch_sub_explicit(&r->holds, 1, memory_order_acq_rel) == 1)
    roster__struct_destroy(r);
}

static roster *scope_make(roster *parent) {
  if (!parent) {
    roster__err(ROSTER_EINVAL, "roster_scope_new: parent is NULL");
    return NULL;
  }
  roster__thread_ensure();
  char name[96];
  snprintf(name, sizeof name, "%.48s/scope", parent->name);
  roster_options o = {
      .keys = parent->keys, .name = name, .workers = parent->workers};
  /* Hold the parent before the scope can be seen, so the parent's memory
   * outlives every lookup that falls through to it. */
  atomic_fetch_add(&parent->holds, 1);
  roster *s = NULL;
  if (roster_new(&o, &s) != ROSTER_OK) {
    roster__struct_release(parent);
    return NULL;
  }
  s->parent = parent;
  return s;
}

int roster_scope_new(roster *parent, roster **out) {
  if (!out)
    return roster__err(ROSTER_EINVAL, "roster_scope_new: out is NULL");
  *out = scope_make(parent);
  return *out ? ROSTER_OK : roster_last_code();
}

roster *roster_parent(const roster *r) { return r ? r->parent : NULL; }
