/*
 * memory_patterns.c: the memory backend's locks and rate limiters. Each
 * is one step under the key's shard lock, which is what makes it atomic:
 * a lock's set-if-absent and compare-and-delete, a fixed window's
 * increment with its expiry, a sliding window's trim, count and append.
 */
#include "memory_impl.h"

#include <inttypes.h>

#define TOKEN_LEN 32

/* ---- locks ---------------------------------------------------------- */

int roster__memory_lock_acquire(void *impl, const void *key, size_t klen,
                                const char *token, int64_t ttl_ms) {
  mc *m = impl;
  mc_key k = {key, klen};
  uint64_t h = mc_hash(m, key, klen);
  mc_shard *s = mc_shard_of(m, h);
  int64_t now = mc_clock(m);
  pthread_mutex_lock(&s->lock);
  mc_entry *e = roster__memory_find_locked(m, h, &k);
  if (e && !mc_dead(m, e, &now)) {
    pthread_mutex_unlock(&s->lock);
    return ROSTER_EBUSY;
  }
  /* The lock reads as a bytes value holding the token, as on Redis. */
  mc_entry *ne = roster__memory_alloc(key, klen, MC_BYTES, TOKEN_LEN);
  if (!ne) {
    pthread_mutex_unlock(&s->lock);
    return roster__err(ROSTER_ENOMEM, "out of memory");
  }
  memcpy(mc_val(ne), token, TOKEN_LEN);
  ne->flags = MC_F_LOCK;
  atomic_init(&ne->expire, now + ttl_ms);
  /* It replaces an expired holder, if any. */
  int rc = roster__memory_put_locked(m, s, ne, h, &k);
  pthread_mutex_unlock(&s->lock);
  if (rc) {
    roster__free(ne);
    return rc;
  }
  roster__memory_after_write(m, s, ne);
  return ROSTER_OK;
}

/* holder: the live entry of k if it holds token (s locked). An expired
 * one is removed on the way. */
static mc_entry *holder(mc *m, mc_shard *s, const mc_key *k, uint64_t h,
                        const char *token, int64_t *now) {
  mc_entry *e = roster__memory_find_locked(m, h, k);
  if (!e)
    return NULL;
  if (mc_dead(m, e, now)) {
    roster__memory_remove_locked(m, s, e, MC_WHY_EXPIRED);
    return NULL;
  }
  if (e->kind != MC_BYTES || e->vlen != TOKEN_LEN ||
      memcmp(mc_val(e), token, TOKEN_LEN) != 0)
    return NULL;
  return e;
}

int roster__memory_lock_release(void *impl, const void *key, size_t klen,
                                const char *token) {
  mc *m = impl;
  mc_key k = {key, klen};
  uint64_t h = mc_hash(m, key, klen);
  mc_shard *s = mc_shard_of(m, h);
  int64_t now = INT64_MIN;
  pthread_mutex_lock(&s->lock);
  mc_entry *e = holder(m, s, &k, h, token, &now);
  if (e)
    roster__memory_remove_locked(m, s, e, MC_WHY_DEL);
  pthread_mutex_unlock(&s->lock);
  return e ? ROSTER_OK : ROSTER_ESTATE;
}

int roster__memory_lock_extend(void *impl, const void *key, size_t klen,
                               const char *token, int64_t ttl_ms) {
  mc *m = impl;
  mc_key k = {key, klen};
  uint64_t h = mc_hash(m, key, klen);
  mc_shard *s = mc_shard_of(m, h);
  int64_t now = mc_clock(m);
  pthread_mutex_lock(&s->lock);
  mc_entry *e = holder(m, s, &k, h, token, &now);
  if (e)
    mc_expire_at(s, e, now + ttl_ms);
  pthread_mutex_unlock(&s->lock);
  return e ? ROSTER_OK : ROSTER_ESTATE;
}

/* ---- rate limiters -------------------------------------------------- */

static void fill(roster_cache_rate *out, bool allowed, int64_t count,
                 int64_t limit, int64_t reset_ms) {
  out->allowed = allowed;
  out->count = count;
  out->remaining = limit > count ? limit - count : 0;
  out->reset_ms = reset_ms;
  out->retry_ms = allowed ? 0 : reset_ms;
}

int roster__memory_rate_fixed(void *impl, const void *key, size_t klen,
                              int64_t limit, int64_t window_ms,
                              roster_cache_rate *out) {
  mc *m = impl;
  mc_key k = {key, klen};
  uint64_t h = mc_hash(m, key, klen);
  mc_shard *s = mc_shard_of(m, h);
  int64_t now = mc_clock(m);
  mc_entry *made = NULL;
  int rc = ROSTER_OK;
  pthread_mutex_lock(&s->lock);
  mc_entry *e = roster__memory_find_locked(m, h, &k);
  if (e && !mc_dead(m, e, &now)) {
    /* Within the window: count it. A counter with no expiry (made by
     * incr) gets the window's, as the Redis script does. */
    if (e->kind != MC_INT) {
      rc = roster__err(ROSTER_ETYPE, "%s, not a fixed window's counter",
                       mc_kind_phrase(e->kind));
    } else {
      int64_t n = atomic_load_explicit(mc_num(e), memory_order_relaxed);
      if (n == INT64_MAX) {
        rc = roster__err(ROSTER_ERANGE, "the window's counter is at its "
                                        "largest value");
      } else {
        atomic_store_explicit(mc_num(e), ++n, memory_order_relaxed);
        int64_t exp = atomic_load_explicit(&e->expire, memory_order_relaxed);
        if (!exp) {
          exp = now + window_ms;
          mc_expire_at(s, e, exp);
        }
        fill(out, n <= limit, n, limit, exp - now);
      }
    }
  } else {
    /* A new window (replacing an expired one). */
    made = roster__memory_alloc(key, klen, MC_INT, 0);
    if (!made) {
      rc = roster__err(ROSTER_ENOMEM, "out of memory");
    } else {
      atomic_init(mc_num(made), 1);
      atomic_init(&made->expire, now + window_ms);
      rc = roster__memory_put_locked(m, s, made, h, &k);
      if (rc) {
        roster__free(made);
        made = NULL;
      } else {
        fill(out, 1 <= limit, 1, limit, window_ms);
      }
    }
  }
  pthread_mutex_unlock(&s->lock);
  if (made)
    roster__memory_after_write(m, s, made);
  return rc;
}

/* new_log makes a log entry of capacity cap holding the times of old (if
 * any) that are still in the window, newest first kept. */
static mc_entry *new_log(const mc_key *k, uint32_t cap, mc_entry *old,
                         int64_t floor) {
  mc_entry *e = roster__memory_alloc(
      k->p, k->n, MC_SLIDE, sizeof(mc_slide) + (size_t)cap * sizeof(int64_t));
  if (!e)
    return NULL;
  mc_slide *sl = mc_slide_of(e);
  sl->cap = cap;
  sl->head = 0;
  sl->n = 0;
  sl->pad = 0;
  if (old) {
    mc_slide *o = mc_slide_of(old);
    uint32_t keep = o->n < cap ? o->n : cap;
    for (uint32_t i = o->n - keep; i < o->n; i++) {
      int64_t t = o->ts[(o->head + i) % o->cap];
      if (t > floor)
        sl->ts[sl->n++] = t;
    }
  }
  return e;
}

int roster__memory_rate_sliding(void *impl, const void *key, size_t klen,
                                int64_t limit, int64_t window_ms,
                                roster_cache_rate *out) {
  mc *m = impl;
  mc_key k = {key, klen};
  uint64_t h = mc_hash(m, key, klen);
  mc_shard *s = mc_shard_of(m, h);
  int64_t now = mc_clock(m);
  int64_t floor = now - window_ms; /* times at or before it have left */
  uint32_t cap = (uint32_t)limit;
  mc_entry *made = NULL;
  pthread_mutex_lock(&s->lock);
  mc_entry *e = roster__memory_find_locked(m, h, &k);
  if (e && mc_dead(m, e, &now)) {
    roster__memory_remove_locked(m, s, e, MC_WHY_EXPIRED);
    e = NULL;
  }
  if (e && e->kind != MC_SLIDE) {
    pthread_mutex_unlock(&s->lock);
    return roster__err(ROSTER_ETYPE, "%s, not a sliding window's log",
                       mc_kind_phrase(e->kind));
  }
  if (!e || mc_slide_of(e)->cap != cap) {
    /* First request, or the limit changed: a log of the new size. */
    made = new_log(&k, cap, e, floor);
    if (!made) {
      pthread_mutex_unlock(&s->lock);
      return roster__err(ROSTER_ENOMEM,
                         "out of memory for a window of %" PRId64 " requests",
                         limit);
    }
    if (e) /* the old log's expiry, until an allowed request moves it */
      atomic_init(&made->expire,
                  atomic_load_explicit(&e->expire, memory_order_relaxed));
    int rc = roster__memory_put_locked(m, s, made, h, &k);
    if (rc) {
      pthread_mutex_unlock(&s->lock);
      roster__free(made);
      return rc;
    }
    e = made;
  }
  mc_slide *sl = mc_slide_of(e);
  while (sl->n && sl->ts[sl->head] <= floor) {
    sl->head = (sl->head + 1) % sl->cap;
    sl->n--;
  }
  bool allowed = sl->n < cap;
  if (allowed) {
    sl->ts[(sl->head + sl->n) % sl->cap] = now;
    sl->n++;
    mc_expire_at(s, e, now + window_ms);
  }
  int64_t oldest = sl->n ? sl->ts[sl->head] : now;
  fill(out, allowed, sl->n, limit, oldest + window_ms - now);
  pthread_mutex_unlock(&s->lock);
  if (made)
    roster__memory_after_write(m, s, made);
  return ROSTER_OK;
}
