/*
 * roster/alloc.h: allocator hooks.
 *
 * Every allocation roster makes goes through these four functions. They may
 * be replaced once, before the first registry is created; the replacement
 * must be thread-safe, since roster allocates from every thread that
 * registers and from its reclaim thread. One exception: a thread's first
 * failed call maps one page (mmap) for the thread's error detail, given
 * back when the thread exits, so that a failure can be recorded when the
 * allocator has just failed, or before roster_set_allocator.
 */
#ifndef ROSTER_ALLOC_H
#define ROSTER_ALLOC_H

#include <stddef.h>

#include "version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* roster_allocator: the four hooks; all must be set. */
typedef struct roster_allocator {
  void *(*malloc_fn)(size_t size);
  void *(*calloc_fn)(size_t count, size_t size);
  void *(*realloc_fn)(void *ptr, size_t size);
  void (*free_fn)(void *ptr);
} roster_allocator;

/* roster_set_allocator installs a, copied, or restores the C library's
 * allocator when a is NULL. Returns ROSTER_EINVAL if a hook is missing, and
 * ROSTER_EBUSY once any roster object has been allocated (memory from one
 * allocator must never be freed by another). Call it from main before any
 * other roster call; it is not meant to race with other roster calls. */
ROSTER_EXTERN int roster_set_allocator(const roster_allocator *a);

/* roster_mem_free frees memory a roster call handed to the caller (such as
 * the strings from roster_graph_json). NULL is ignored. */
ROSTER_EXTERN void roster_mem_free(void *p);

/* roster_mem_alloc, roster_mem_calloc, roster_mem_realloc and
 * roster_mem_strdup allocate through the installed hooks, for modules and
 * built-in services whose memory roster_mem_free (or a roster call) frees.
 * NULL on failure (roster_mem_strdup(NULL) is NULL too). Thread-safe. */
ROSTER_EXTERN void *roster_mem_alloc(size_t size);
ROSTER_EXTERN void *roster_mem_calloc(size_t count, size_t size);
ROSTER_EXTERN void *roster_mem_realloc(void *ptr, size_t size);
ROSTER_EXTERN char *roster_mem_strdup(const char *s);

/* roster_mem_strv_dup copies a NULL-terminated array of strings (a NULL v
 * is copied as an empty array), every string and the array through the
 * hooks; free it with roster_mem_strv_free. NULL when out of memory (with
 * nothing left allocated). roster_mem_strv_free(NULL) is a no-op. */
ROSTER_EXTERN char **roster_mem_strv_dup(const char *const *v);
ROSTER_EXTERN void roster_mem_strv_free(char **v);

#ifdef __cplusplus
}
#endif

#endif /* ROSTER_ALLOC_H */
