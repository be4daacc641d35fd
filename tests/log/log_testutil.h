/*
 * log_testutil.h: helpers for the logger's tests (test_log_*.c).
 *
 * lt_lines records every line a callback sink receives (from any thread,
 * under a mutex); the test thread reads them back and parses them with
 * jansson. Static functions, so each test program gets its own copy.
 */
#ifndef ROSTER_LOG_TESTUTIL_H
#define ROSTER_LOG_TESTUTIL_H

#include "testutil.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>

typedef struct lt_lines {
  pthread_mutex_t mu;
  size_t n, cap;
  char **v;     /* copies, NUL-terminated */
  size_t *lens; /* as the sink reported them */
  int *levels;
  pthread_t *threads; /* the thread that ran the callback */
  atomic_int frees;   /* free_arg calls */
} lt_lines;

static inline void lt_init(lt_lines *l) {
  memset(l, 0, sizeof *l);
  pthread_mutex_init(&l->mu, NULL);
}

static inline void lt_clear(lt_lines *l) {
  pthread_mutex_lock(&l->mu);
  for (size_t i = 0; i < l->n; i++)
    free(l->v[i]);
  l->n = 0;
  pthread_mutex_unlock(&l->mu);
}

static inline void lt_fini(lt_lines *l) {
  lt_clear(l);
  free(l->v);
  free(l->lens);
  free(l->levels);
  free(l->threads);
  pthread_mutex_destroy(&l->mu);
}

/* lt_cb: a roster_log_line_fn recording into the lt_lines in arg. */
static inline void lt_cb(int level, const char *line, size_t len, void *arg) {
  lt_lines *l = arg;
  char *copy = malloc(len + 1);
  if (!copy)
    abort();
  memcpy(copy, line, len + 1); /* the sink promises line[len] == '\0' */
  pthread_mutex_lock(&l->mu);
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 64;
    l->v = realloc(l->v, l->cap * sizeof *l->v);
    l->lens = realloc(l->lens, l->cap * sizeof *l->lens);
    l->levels = realloc(l->levels, l->cap * sizeof *l->levels);
    l->threads = realloc(l->threads, l->cap * sizeof *l->threads);
    if (!l->v || !l->lens || !l->levels || !l->threads)
      abort();
  }
  l->v[l->n] = copy;
  l->lens[l->n] = len;
  l->levels[l->n] = level;
  l->threads[l->n] = pthread_self();
  l->n++;
  pthread_mutex_unlock(&l->mu);
}

static inline void lt_free_arg(void *arg) {
  lt_lines *l = arg;
  atomic_fetch_add(&l->frees, 1);
}

static inline size_t lt_count(lt_lines *l) {
  pthread_mutex_lock(&l->mu);
  size_t n = l->n;
  pthread_mutex_unlock(&l->mu);
  return n;
}

/* lt_line returns line i (owned by l; valid until lt_clear). */
static inline const char *lt_line(lt_lines *l, size_t i) {
  pthread_mutex_lock(&l->mu);
  const char *s = i < l->n ? l->v[i] : NULL;
  pthread_mutex_unlock(&l->mu);
  return s;
}

/* lt_parse parses line i as a JSON object (fails the test otherwise);
 * the caller json_decref()s it. */
static inline json_t *lt_parse(lt_lines *l, size_t i) {
  const char *s = lt_line(l, i);
  if (!s) {
    print_error("line %zu does not exist (%zu lines)\n", i, lt_count(l));
    fail();
  }
  json_error_t err;
  json_t *j = json_loads(s, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &err);
  if (!j || !json_is_object(j)) {
    print_error("line %zu is not a JSON object (%s): %s\n", i, err.text, s);
    fail();
  }
  return j;
}

/* lt_sink: a callback sink description recording into l. */
static inline roster_log_sink lt_sink(lt_lines *l, int level) {
  roster_log_sink s = {.kind = ROSTER_LOG_SINK_CALLBACK,
                       .level = level,
                       .fn = lt_cb,
                       .arg = l,
                       .free_arg = lt_free_arg};
  return s;
}

/* lt_new makes a logger with o and fails the test unless roster_log_new
 * returns ROSTER_OK and a logger. */
static inline roster_log *lt_new(const roster_log_options *o) {
  roster_log *log = NULL;
  assert_ok(roster_log_new(o, &log));
  assert_non_null(log);
  return log;
}

/* lt_logger: a sync logger at level whose only sink records into l. */
static inline roster_log *lt_logger(lt_lines *l, int level) {
  roster_log_sink s = lt_sink(l, 0);
  return lt_new(
      &(roster_log_options){.level = level, .sinks = &s, .nsinks = 1});
}

/* lt_async_logger: an async logger (queue_lines, 0: the default; block:
 * writers wait for room instead of dropping) whose only sink records into
 * l. */
static inline roster_log *lt_async_logger(lt_lines *l, bool block,
                                          size_t queue_lines) {
  roster_log_sink s = lt_sink(l, 0);
  return lt_new(&(roster_log_options){.sinks = &s,
                                      .nsinks = 1,
                                      .async = true,
                                      .block = block,
                                      .queue_lines = queue_lines});
}

/* lt_str returns the string member key of j, or NULL. */
static inline const char *lt_str(json_t *j, const char *key) {
  return json_string_value(json_object_get(j, key));
}

/* lt_int returns the integer member key of j, or -999999. */
static inline long long lt_int(json_t *j, const char *key) {
  json_t *v = json_object_get(j, key);
  return json_is_integer(v) ? (long long)json_integer_value(v) : -999999;
}

#endif
