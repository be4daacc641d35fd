/*
 * memory_maint.c: the memory backend's store as a whole: options (from a
 * URL or the options struct), open and close, the maintenance thread (the
 * periodic sweep of expired keys), clear, stats and info.
 *
 * Each shard's table grows on its writer's thread (memory.c: a rebuild
 * under the shard lock, the old table freed after a grace period), so no
 * write waits for a grace period and no resize runs in the background.
 * The maintenance thread walks every shard's list each sweep_ms and frees
 * the expired entries, a chunk of 256 at a time so writers are never held
 * off for long, and at least once a second frees the retired batches of
 * shards that are no longer written (see mc_retire).
 */
#include "memory_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#define SWEEP_CHUNK 256

/* ---- options -------------------------------------------------------- */

/* parse_num reads a non-negative decimal (with a k/m/g suffix, powers of
 * 1024, optionally followed by "b" or "ib", when bytes is set). */
static int parse_num(const char *key, const char *v, bool bytes, uint64_t max,
                     uint64_t *out) {
  const char *p = v;
  uint64_t n = 0;
  if (!v || *v < '0' || *v > '9')
    goto bad;
  for (; *p >= '0' && *p <= '9'; p++) {
    if (n > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
      goto bad;
    n = n * 10 + (uint64_t)(*p - '0');
  }
  if (*p && bytes) {
    unsigned shift = 0;
    switch (*p | 0x20) {
    case 'k':
      shift = 10;
      break;
    case 'm':
      shift = 20;
      break;
    case 'g':
      shift = 30;
      break;
    default:
      goto bad;
    }
    p++;
    if ((*p | 0x20) == 'i')
      p++;
    if ((*p | 0x20) == 'b')
      p++;
    if (n > (UINT64_MAX >> shift))
      goto bad;
    n <<= shift;
  }
  if (*p || n > max)
    goto bad;
  *out = n;
  return ROSTER_OK;
bad:
  return roster__err(ROSTER_EINVAL,
                     "memory cache: option %s='%.40s' is not "
                     "a number from 0 to %" PRIu64 "%s",
                     key, v ? v : "", max,
                     bytes ? " (k, m and g suffixes allowed)" : "");
}

static int set_option(roster_cache_memory_options *mo, const char *key,
                      const char *v) {
  uint64_t n;
  int rc;
  if (strcmp(key, "max_entries") == 0) {
    rc = parse_num(key, v, false, SIZE_MAX, &n);
    mo->max_entries = (size_t)n;
  } else if (strcmp(key, "max_bytes") == 0) {
    rc = parse_num(key, v, true, SIZE_MAX, &n);
    mo->max_bytes = (size_t)n;
  } else if (strcmp(key, "sweep_ms") == 0) {
    bool neg = v && v[0] == '-';
    rc = parse_num(key, neg ? v + 1 : v, false, (uint64_t)ROSTER_CACHE_TTL_MAX,
                   &n);
    mo->sweep_ms = neg ? -(int64_t)n : (int64_t)n;
    if (!rc && neg && n == 0)
      rc = roster__err(ROSTER_EINVAL,
                       "memory cache: sweep_ms='-0' is not a "
                       "setting; 0 is the default, -1 turns the sweep off");
  } else if (strcmp(key, "shards") == 0) {
    rc = parse_num(key, v, false, MC_SHARDS_MAX, &n);
    mo->shards = (unsigned)n;
  } else if (strcmp(key, "buckets") == 0) {
    rc = parse_num(key, v, false, 1u << 30, &n);
    mo->initial_buckets = (size_t)n;
  } else {
    return roster__err(ROSTER_EINVAL,
                       "memory cache: unknown option '%.40s' "
                       "(known: max_entries, max_bytes, sweep_ms, shards, "
                       "buckets)",
                       key);
  }
  return rc;
}

int roster__memory_options(const roster_url *url, const char *const *opts,
                           roster_cache_memory_options *mo) {
  *mo = (roster_cache_memory_options){0};
  if (url) {
    if (url->user || url->password || url->port)
      return roster__err(ROSTER_EINVAL,
                         "memory cache: a memory:// URL takes "
                         "no user, password or port (memory://NAME?options)");
    if (url->path && *url->path && strcmp(url->path, "/") != 0)
      return roster__err(ROSTER_EINVAL,
                         "memory cache: a memory:// URL takes "
                         "no path ('%.40s'); options go in the query",
                         url->path);
    for (size_t i = 0; i < url->nquery; i++) {
      int rc = set_option(mo, url->query_keys[i], url->query_values[i]);
      if (rc)
        return rc;
    }
  }
  for (size_t i = 0; opts && opts[i]; i += 2) {
    if (!opts[i + 1])
      return roster__err(ROSTER_EINVAL,
                         "memory cache: option '%.40s' has no "
                         "value",
                         opts[i]);
    int rc = set_option(mo, opts[i], opts[i + 1]);
    if (rc)
      return rc;
  }
  return ROSTER_OK;
}

/* ---- the sweep ----------------------------------------------------- */

static void mc_sweep(mc *m) {
  unsigned ns = 1u << m->shard_bits;
  for (unsigned i = 0; i < ns; i++) {
    mc_shard *s = &m->shards[i];
    if (!atomic_load_explicit(&s->timed, memory_order_relaxed))
      continue; /* nothing in it ever expired: nothing to walk */
    pthread_mutex_lock(&s->lock);
    size_t todo = s->count;
    while (todo && s->hand) {
      size_t chunk = todo < SWEEP_CHUNK ? todo : SWEEP_CHUNK;
      int64_t now = INT64_MIN;
      for (size_t j = 0; j < chunk && s->hand; j++) {
        mc_entry *e = s->cursor ? s->cursor : s->hand;
        s->cursor = e->u.l.next;
        if (mc_dead(m, e, &now))
          roster__memory_remove_locked(m, s, e, MC_WHY_EXPIRED);
      }
      todo -= chunk;
      if (todo) { /* let writers in between chunks */
        pthread_mutex_unlock(&s->lock);
        pthread_mutex_lock(&s->lock);
      }
    }
    pthread_mutex_unlock(&s->lock);
  }
}

static void *mc_main(void *arg) {
  mc *m = arg; /* started with every signal blocked (roster__thread_start) */
  /* Known to roster without taking one of the 64 counter shards (it counts
   * nothing; they are better left to the program's threads), the way the
   * reclaim thread is; liburcu-bp registers it on its first read section
   * and forgets it at exit. */
  roster__tls_state.registered = 1;
  roster__tls_state.shard = ROSTER__SHARDS;
  /* It wakes every tick to free retired batches nobody else frees (of
   * shards no longer written), and sweeps when a sweep is due. */
  int64_t tick = m->sweep_ms > 0 && m->sweep_ms < 1000 ? m->sweep_ms : 1000;
  int64_t next_sweep =
      m->sweep_ms > 0 ? roster__cache_now_ms() + m->sweep_ms : INT64_MAX;
  unsigned ns = 1u << m->shard_bits;
  struct timespec next;
  next = roster__mono_after(tick);
  pthread_mutex_lock(&m->mlock);
  while (!m->stop) {
    int w = pthread_cond_timedwait(&m->mcond, &m->mlock, &next);
    if (w == ETIMEDOUT && !m->stop) {
      pthread_mutex_unlock(&m->mlock);
      for (unsigned i = 0; i < ns; i++)
        roster__memory_reap_shard(&m->shards[i]);
      if (roster__cache_now_ms() >= next_sweep) {
        mc_sweep(m);
        next_sweep = roster__cache_now_ms() + m->sweep_ms;
      }
      next = roster__mono_after(tick);
      pthread_mutex_lock(&m->mlock);
    }
  }
  pthread_mutex_unlock(&m->mlock);
  return NULL;
}

/* ---- open and close ------------------------------------------------- */

int roster__memory_open_with(const roster_cache_memory_options *mo,
                             void **impl) {
  unsigned shards = mo->shards;
  if (shards > MC_SHARDS_MAX || (shards & (shards - 1)))
    return roster__err(ROSTER_EINVAL,
                       "memory cache: shards=%u must be a "
                       "power of two from 1 to %d (0 picks)",
                       shards, MC_SHARDS_MAX);
  if (mo->initial_buckets > (1u << 30))
    return roster__err(ROSTER_EINVAL,
                       "memory cache: initial_buckets=%zu is "
                       "more than 2^30",
                       mo->initial_buckets);
  if (mo->sweep_ms > ROSTER_CACHE_TTL_MAX)
    return roster__err(ROSTER_EINVAL,
                       "memory cache: sweep_ms=%" PRId64
                       " is more than %" PRId64,
                       mo->sweep_ms, ROSTER_CACHE_TTL_MAX);
  if (!shards) {
    /* Each shard evicts on its own: keep at least ~64 entries in each. */
    shards = MC_SHARDS_MAX;
    if (mo->max_entries && mo->max_entries < (size_t)MC_SHARDS_MAX * 64) {
      shards = 1;
      while (shards * 2 <= mo->max_entries / 64)
        shards *= 2;
    }
  }
  /* The shards and counters want 64-byte alignment, which the allocator
   * hooks do not promise: over-allocate and align by hand. */
  void *raw = roster__calloc(1, sizeof(mc) + 63);
  if (!raw)
    return roster__err(ROSTER_ENOMEM, "memory cache: out of memory");
  mc *m = (mc *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
  m->raw = raw;
  m->shard_bits = (unsigned)__builtin_ctz(shards);
  m->max_entries = mo->max_entries;
  m->max_bytes = mo->max_bytes;
  m->sweep_ms = mo->sweep_ms == 0 ? 1000 : mo->sweep_ms;
  m->clock_ms = mo->clock_ms;
  m->clock_arg = mo->clock_arg;
  roster__cache_random(&m->seed, sizeof m->seed);
  /* initial_buckets (rounded up to a power of two) is shared out among
   * the shards' tables. */
  size_t init = 1024;
  if (mo->initial_buckets) {
    init = 1;
    while (init < mo->initial_buckets)
      init <<= 1;
  }
  size_t per = init >> m->shard_bits ? init >> m->shard_bits : 1;
  for (unsigned i = 0; i < MC_SHARDS_MAX; i++)
    pthread_mutex_init(&m->shards[i].lock, NULL);

  pthread_mutex_init(&m->mlock, NULL);
  roster__cond_init_mono(&m->mcond);
  for (unsigned i = 0; i < shards; i++) {
    roster__tab *t = roster__tab_new(per);
    if (!t) {
      roster__memory_close(m);
      return roster__err(ROSTER_ENOMEM, "memory cache: out of memory");
    }
    atomic_init(&m->tabs[i], t);
  }
  atomic_init(&m->buckets, per << m->shard_bits);
  int rc =
      roster__thread_start(&m->thread, "roster-memcache", false, mc_main, m);
  if (rc) {
    rc = roster__err_wrap(rc,
                          "memory cache: cannot start its maintenance thread");
    roster__memory_close(m);
    return rc;
  }
  m->thread_started = true;
  *impl = m;
  return ROSTER_OK;
}

int roster__memory_check(const roster_url *url, const char *text,
                         const char *const *opts) {
  (void)text;
  roster_cache_memory_options mo;
  return roster__memory_options(url, opts, &mo);
}

int roster__memory_open(const roster_url *url, const char *text,
                        const char *const *opts, void **impl) {
  (void)text;
  roster_cache_memory_options mo;
  int rc = roster__memory_options(url, opts, &mo);
  return rc ? rc : roster__memory_open_with(&mo, impl);
}

void roster__memory_close(void *impl) {
  mc *m = impl;
  if (m->thread_started) {
    pthread_mutex_lock(&m->mlock);
    m->stop = true;
    pthread_cond_signal(&m->mcond);
    pthread_mutex_unlock(&m->mlock);
    pthread_join(m->thread, NULL);
  }
  /* Nothing else uses the store now (roster_cache_free's rule), so the
   * entries are freed at once, without a grace period. Entries replaced
   * earlier are freed by their own reclaim callbacks, which do not touch
   * the store, and so are tables replaced by a rebuild. */
  for (unsigned i = 0; i < MC_SHARDS_MAX; i++) {
    mc_shard *s = &m->shards[i];
    while (s->hand) {
      mc_entry *e = s->hand;
      mc_entry *next = e->u.l.next, *prev = e->u.l.prev;
      s->hand = next == e ? NULL : next;
      prev->u.l.next = next;
      next->u.l.prev = prev;
      roster__free(e);
    }
    roster__memory_free_retired(s);
    pthread_mutex_destroy(&s->lock);
    roster__tab *t = atomic_load_explicit(&m->tabs[i], memory_order_relaxed);
    if (t)
      roster__tab_free(t);
  }
  pthread_cond_destroy(&m->mcond);
  pthread_mutex_destroy(&m->mlock);
  roster__free(m->raw);
}

/* ---- clear, stats, info --------------------------------------------- */

int roster__memory_clear(void *impl, const void *pattern, size_t plen,
                         size_t *removed) {
  mc *m = impl;
  size_t got = 0;
  unsigned ns = 1u << m->shard_bits;
  for (unsigned i = 0; i < ns; i++) {
    mc_shard *s = &m->shards[i];
    pthread_mutex_lock(&s->lock);
    size_t n = s->count;
    mc_entry *e = s->hand;
    int64_t now = INT64_MIN;
    for (size_t j = 0; j < n && e; j++) {
      mc_entry *next = e->u.l.next; /* still linked after e goes */
      if (!pattern ||
          roster__glob(pattern, plen, e->data, e->klen, ROSTER__GLOB_REDIS)) {
        bool dead = mc_dead(m, e, &now);
        roster__memory_remove_locked(m, s, e,
                                     dead ? MC_WHY_EXPIRED : MC_WHY_DEL);
        got += !dead;
      }
      e = next;
    }
    pthread_mutex_unlock(&s->lock);
  }
  *removed = got;
  return ROSTER_OK;
}

static void sum_ctr(mc *m, uint64_t *hits, uint64_t *misses) {
  uint64_t h = 0, mi = 0;
  for (int i = 0; i <= ROSTER__SHARDS; i++) {
    h += atomic_load_explicit(&m->ctr[i].hits, memory_order_relaxed);
    mi += atomic_load_explicit(&m->ctr[i].misses, memory_order_relaxed);
  }
  *hits = h;
  *misses = mi;
}

int roster__memory_stats(void *impl, roster_cache_stats *out) {
  mc *m = impl;
  out->entries = atomic_load(&m->entries);
  out->bytes = atomic_load(&m->bytes);
  sum_ctr(m, &out->hits, &out->misses);
  out->expired = atomic_load(&m->expired);
  out->evicted = atomic_load(&m->evicted);
  out->max_entries = m->max_entries;
  out->max_bytes = m->max_bytes;
  return ROSTER_OK;
}

int roster__memory_info(void *impl, struct json_t **out) {
  mc *m = impl;
  roster_cache_stats s;
  roster__memory_stats(m, &s);
  json_t *o =
      json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
                "s:I, s:I, s:s}",
                "backend", "memory", "entries", (json_int_t)s.entries, "bytes",
                (json_int_t)s.bytes, "hits", (json_int_t)s.hits, "misses",
                (json_int_t)s.misses, "expired", (json_int_t)s.expired,
                "evicted", (json_int_t)s.evicted, "max_entries",
                (json_int_t)s.max_entries, "max_bytes", (json_int_t)s.max_bytes,
                "shards", (json_int_t)(1u << m->shard_bits), "buckets",
                (json_int_t)atomic_load(&m->buckets), "sweep_ms",
                (json_int_t)m->sweep_ms, "eviction", "clock");
  if (!o)
    return roster__err(ROSTER_ENOMEM, "out of memory");
  *out = o;
  return ROSTER_OK;
}
