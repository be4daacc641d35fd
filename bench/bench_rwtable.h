/*
 * bench_rwtable.h: the registry benchmark's baseline, the textbook table: a
 * chained hash table behind one pthread_rwlock_t, XXH3 hashes computed
 * outside the lock, power-of-two buckets doubling at load factor 1, the
 * name inline in the node. Included by bench_registry.c only.
 */
#ifndef ROSTER_BENCH_RWTABLE_H
#define ROSTER_BENCH_RWTABLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <roster/registry.h>

#include "bench.h"

static const roster_type bench_type = {
    .name = "bench", .destroy = NULL, .health = NULL};

typedef struct rw_node {
  struct rw_node *next;
  uint64_t hash;
  void *instance;
  size_t len;
  char name[];
} rw_node;

typedef struct rwtable {
  pthread_rwlock_t lock;
  rw_node **buckets;
  size_t mask; /* nbuckets - 1 */
  size_t count;
  bool unique;
} rwtable;

static rwtable *rw_new(bool unique) {
  rwtable *t = roster__bench_xmalloc(sizeof *t);
  if (pthread_rwlock_init(&t->lock, NULL) != 0)
    roster__bench_die("pthread_rwlock_init failed");
  t->mask = 1023; /* the same 1024 buckets roster starts with */
  t->buckets = calloc(t->mask + 1, sizeof *t->buckets);
  if (!t->buckets)
    roster__bench_die("out of memory");
  t->count = 0;
  t->unique = unique;
  return t;
}

static void rw_free(rwtable *t) {
  for (size_t b = 0; b <= t->mask; b++) {
    rw_node *n = t->buckets[b];
    while (n) {
      rw_node *next = n->next;
      free(n);
      n = next;
    }
  }
  free(t->buckets);
  pthread_rwlock_destroy(&t->lock);
  free(t);
}

/* Called with the write lock held. */
static void rw_grow(rwtable *t) {
  size_t nmask = (t->mask + 1) * 2 - 1;
  rw_node **nb = calloc(nmask + 1, sizeof *nb);
  if (!nb)
    return; /* keep the longer chains */
  for (size_t b = 0; b <= t->mask; b++) {
    rw_node *n = t->buckets[b];
    while (n) {
      rw_node *next = n->next;
      rw_node **slot = &nb[n->hash & nmask];
      n->next = *slot;
      *slot = n;
      n = next;
    }
  }
  free(t->buckets);
  t->buckets = nb;
  t->mask = nmask;
}

static int rw_insert(rwtable *t, const char *name, void *instance) {
  size_t len = strlen(name);
  uint64_t h = XXH3_64bits(name, len);
  rw_node *node = malloc(sizeof *node + len + 1);
  if (!node)
    return -1;
  node->hash = h;
  node->instance = instance;
  node->len = len;
  memcpy(node->name, name, len + 1);
  pthread_rwlock_wrlock(&t->lock);
  rw_node **slot = &t->buckets[h & t->mask];
  if (t->unique) {
    for (rw_node *n = *slot; n; n = n->next) {
      if (n->hash == h && n->len == len && memcmp(n->name, name, len) == 0) {
        pthread_rwlock_unlock(&t->lock);
        free(node);
        return -1;
      }
    }
  }
  node->next = *slot;
  *slot = node;
  if (++t->count > t->mask + 1)
    rw_grow(t);
  pthread_rwlock_unlock(&t->lock);
  return 0;
}

/* Removes the first node of name (unique tables hold at most one). */
static int rw_delete(rwtable *t, const char *name) {
  size_t len = strlen(name);
  uint64_t h = XXH3_64bits(name, len);
  rw_node *found = NULL;
  pthread_rwlock_wrlock(&t->lock);
  for (rw_node **pp = &t->buckets[h & t->mask]; *pp; pp = &(*pp)->next) {
    rw_node *n = *pp;
    if (n->hash == h && n->len == len && memcmp(n->name, name, len) == 0) {
      *pp = n->next;
      t->count--;
      found = n;
      break;
    }
  }
  pthread_rwlock_unlock(&t->lock);
  free(found);
  return found ? 0 : -1;
}

static int rw_get(rwtable *t, const char *name, void **out) {
  size_t len = strlen(name);
  uint64_t h = XXH3_64bits(name, len);
  int rc = -1;
  void *inst = NULL;
  pthread_rwlock_rdlock(&t->lock);
  for (rw_node *n = t->buckets[h & t->mask]; n; n = n->next) {
    if (n->hash == h && n->len == len && memcmp(n->name, name, len) == 0) {
      inst = n->instance;
      rc = 0;
      break;
    }
  }
  pthread_rwlock_unlock(&t->lock);
  *out = inst;
  return rc;
}

/* Deletes the node of name holding instance (the first one found). */
static int rw_delete_inst(rwtable *t, const char *name, void *instance) {
  size_t len = strlen(name);
  uint64_t h = XXH3_64bits(name, len);
  rw_node *found = NULL;
  pthread_rwlock_wrlock(&t->lock);
  for (rw_node **pp = &t->buckets[h & t->mask]; *pp; pp = &(*pp)->next) {
    rw_node *n = *pp;
    if (n->instance == instance && n->hash == h && n->len == len &&
        memcmp(n->name, name, len) == 0) {
      *pp = n->next;
      t->count--;
      found = n;
      break;
    }
  }
  pthread_rwlock_unlock(&t->lock);
  free(found);
  return found ? 0 : -1;
}

/* Calls fn for every node of name, read-locked, with the same roster_info a
 * roster callback gets. Returns the number of calls. */
static size_t rw_dispatch(rwtable *t, const char *name, roster_visit_fn fn,
                          void *arg) {
  size_t len = strlen(name);
  uint64_t h = XXH3_64bits(name, len);
  size_t called = 0;
  pthread_rwlock_rdlock(&t->lock);
  for (rw_node *n = t->buckets[h & t->mask]; n; n = n->next) {
    if (n->hash == h && n->len == len && memcmp(n->name, name, len) == 0) {
      roster_info info = {.ns = ROSTER_DEFAULT_NS,
                          .name = n->name,
                          .type = &bench_type,
                          .instance = n->instance,
                          .owner = NULL,
                          .meta = NULL,
                          .meta_len = 0};
      fn(&info, arg);
      called++;
    }
  }
  pthread_rwlock_unlock(&t->lock);
  return called;
}

#endif /* ROSTER_BENCH_RWTABLE_H */
