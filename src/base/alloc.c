/*
 * alloc.c: the allocator hooks. Internal code allocates only through the
 * roster__ wrappers here, so a program can route roster's memory to its own
 * allocator (roster_set_allocator) before the first roster object exists.
 */
#include "base/base.h"

#include <stdlib.h>

static roster_allocator hooks = {malloc, calloc, realloc, free};
static atomic_bool used; /* set by the first allocation */

int roster_set_allocator(const roster_allocator *a) {
  if (a && (!a->malloc_fn || !a->calloc_fn || !a->realloc_fn || !a->free_fn))
    return roster__err(ROSTER_EINVAL,
                       "roster_set_allocator: every hook must be set");
  if (atomic_load(&used))
    return roster__err(
        ROSTER_EBUSY, "roster_set_allocator: roster has already allocated "
                      "memory; set the allocator before any other roster call");
  if (a)
    hooks = *a;
  else
    hooks = (roster_allocator){malloc, calloc, realloc, free};
  return ROSTER_OK;
}

static inline void mark_used(void) {
  if (ROSTER__UNLIKELY(!atomic_load_explicit(&used, memory_order_relaxed)))
    atomic_store(&used, true);
}

void *roster__malloc(size_t n) {
  mark_used();
  return hooks.malloc_fn(n);
}

void *roster__calloc(size_t c, size_t n) {
  mark_used();
  return hooks.calloc_fn(c, n);
}

void *roster__realloc(void *p, size_t n) {
  mark_used();
  return hooks.realloc_fn(p, n);
}

void roster__free(void *p) {
  if (p)
    hooks.free_fn(p);
}

void roster_mem_free(void *p) { roster__free(p); }
void *roster_mem_alloc(size_t n) { return roster__malloc(n); }
void *roster_mem_calloc(size_t c, size_t n) { return roster__calloc(c, n); }
void *roster_mem_realloc(void *p, size_t n) { return roster__realloc(p, n); }
char *roster_mem_strdup(const char *s) {
  return s ? roster__strndup(s, strlen(s)) : NULL;
}

char *roster__strndup(const char *s, size_t n) {
  char *d = roster__malloc(n + 1);
  if (d) {
    memcpy(d, s, n);
    d[n] = '\0';
  }
  return d;
}

void roster_mem_strv_free(char **v) {
  for (size_t i = 0; v && v[i]; i++)
    roster__free(v[i]);
  roster__free(v);
}

char **roster_mem_strv_dup(const char *const *v) {
  size_t n = 0;
  while (v && v[n])
    n++;
  char **d = roster__calloc(n + 1, sizeof *d);
  for (size_t i = 0; d && i < n; i++)
    if (!(d[i] = roster__strndup(v[i], strlen(v[i])))) {
      roster_mem_strv_free(d);
      return NULL;
    }
  return d;
}
