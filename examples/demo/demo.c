/*
 * demo.c: a small service that uses roster.
 *
 * It plays a tiny API server. A database pool, a cache and a logger are
 * registered under names, looked up with their C types from any thread,
 * grouped in namespaces, and destroyed in order at shutdown. A second
 * registry with duplicate keys is a pub/sub hub for chat rooms, where a
 * connection (an owner) leaves all its rooms at once.
 *
 * Then a third registry, "services", holds providers instead of instances:
 * config <- store <- cache, a clock, jobs (store + clock) and a lazy audit
 * log (store). roster_start creates them in dependency order on its worker
 * pool, the demo prints their health and the dependency graph, and
 * roster_run serves (the jobs service does lookups every second on its own
 * thread) until SIGINT or SIGTERM, or until DEMO_SECONDS have passed (an
 * alarm() whose handler sends SIGTERM to the process), then stops the
 * services in reverse dependency order: each destroy prints a "stop ..."
 * line. The program exits 0 after the line "demo: clean shutdown".
 *
 * Signals are blocked in every thread from the start, so no roster thread
 * ever takes one; main unblocks them for itself only while roster_run's
 * handler (which only writes to a pipe) is the one that catches them.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "roster.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

/* Instances made and destroyed, to prove at exit that nothing leaked. */
static atomic_int made;
static atomic_int destroyed;

/* CHECK stops the demo if a call that should work does not. */
#define CHECK(expr)                                                            \
  do {                                                                         \
    int rc_ = (expr);                                                          \
    if (rc_ != ROSTER_OK) {                                                    \
      fprintf(stderr, "demo: %s:%d: %s failed: %s: %s\n", __FILE__, __LINE__,  \
              #expr, roster_err_name(rc_), roster_last_error());               \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

static void heading(const char *title) { printf("\n== %s ==\n", title); }

/* show_error prints a failed call with its code and the per-thread detail. */
static void show_error(const char *what, int rc) {
  printf("  %s\n    -> %s: %s\n", what, roster_err_name(rc),
         roster_last_error());
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static void *xcalloc(size_t size) {
  void *p = calloc(1, size);
  if (p == NULL) {
    fprintf(stderr, "demo: out of memory\n");
    exit(1);
  }
  atomic_fetch_add(&made, 1);
  return p;
}

/* ------------------------------------------------------------------ */
/* The services: plain structs, each with a type descriptor            */

/* A database pool (fake: it only counts queries). */
struct db_pool {
  char dsn[64];
  int size;
  atomic_long queries;
};

/* An in-memory cache (fake: it only counts hits). */
struct cache {
  char name[32];
  atomic_long hits;
};

/* A logger. */
struct logger {
  char name[32];
};

/* A user's session, owned by the user's connection. */
struct session {
  char user[32];
};

/* A mailer that starts late, on another thread. */
struct mailer {
  int port;
};

/* One connection's membership of one chat room. */
struct subscriber {
  char user[32];
  char room[32];
  int received;
};

/* Destroy functions run on roster's reclaim thread once nothing can see the
 * instance any more. */
static void db_pool_free(void *p) {
  struct db_pool *db = p;
  printf("  [destroy] db_pool %s (closed %d connections, served %ld "
         "queries)\n",
         db->dsn, db->size, atomic_load(&db->queries));
  free(db);
  atomic_fetch_add(&destroyed, 1);
}

static void cache_free(void *p) {
  struct cache *c = p;
  printf("  [destroy] cache %s (hits: %ld)\n", c->name, atomic_load(&c->hits));
  free(c);
  atomic_fetch_add(&destroyed, 1);
}

static void logger_free(void *p) {
  struct logger *l = p;
  printf("  [destroy] logger %s\n", l->name);
  free(l);
  atomic_fetch_add(&destroyed, 1);
}

static void session_free(void *p) {
  struct session *s = p;
  printf("  [destroy] session of %s\n", s->user);
  free(s);
  atomic_fetch_add(&destroyed, 1);
}

static void mailer_free(void *p) {
  struct mailer *m = p;
  printf("  [destroy] mailer on port %d\n", m->port);
  free(m);
  atomic_fetch_add(&destroyed, 1);
}

static void subscriber_free(void *p) {
  struct subscriber *s = p;
  printf("  [destroy] subscriber %s in %s (messages received: %d)\n", s->user,
         s->room, s->received);
  free(s);
  atomic_fetch_add(&destroyed, 1);
}

/* One static descriptor per C type: roster compares them by address. */
static const roster_type db_pool_type = {.name = "db_pool",
                                         .destroy = db_pool_free};
static const roster_type cache_type = {.name = "cache", .destroy = cache_free};
static const roster_type logger_type = {.name = "logger",
                                        .destroy = logger_free};
static const roster_type session_type = {.name = "session",
                                         .destroy = session_free};
static const roster_type mailer_type = {.name = "mailer",
                                        .destroy = mailer_free};
static const roster_type subscriber_type = {.name = "subscriber",
                                            .destroy = subscriber_free};

/* Typed wrappers: db_pool_register/get/acquire take a struct db_pool, so the
 * compiler checks the C type and roster checks the descriptor. */
ROSTER_TYPED(db_pool, struct db_pool, db_pool_type)
ROSTER_TYPED(cache, struct cache, cache_type)
ROSTER_TYPED(logger, struct logger, logger_type)
ROSTER_TYPED(mailer, struct mailer, mailer_type)

static struct db_pool *db_pool_make(const char *dsn, int size) {
  struct db_pool *db = xcalloc(sizeof *db);
  snprintf(db->dsn, sizeof db->dsn, "%s", dsn);
  db->size = size;
  return db;
}

static struct cache *cache_make(const char *name) {
  struct cache *c = xcalloc(sizeof *c);
  snprintf(c->name, sizeof c->name, "%s", name);
  return c;
}

static struct logger *logger_make(const char *name) {
  struct logger *l = xcalloc(sizeof *l);
  snprintf(l->name, sizeof l->name, "%s", name);
  return l;
}

/* ------------------------------------------------------------------ */
/* Callbacks                                                           */

static const char *reason_name(roster_reason reason) {
  switch (reason) {
  case ROSTER_REASON_CALL:
    return "call";
  case ROSTER_REASON_REPLACED:
    return "replaced";
  case ROSTER_REASON_OWNER:
    return "owner released";
  case ROSTER_REASON_NS_DROP:
    return "namespace dropped";
  case ROSTER_REASON_CLEAR:
    return "clear";
  }
  return "?";
}

/* on_event is a listener: it runs on the thread that made the change. */
static void on_event(roster *r, const roster_event *ev, void *arg) {
  const char *tag = arg;
  const roster_info *e = ev->entry;
  (void)r;
  if (ev->kind == ROSTER_EV_REGISTER) {
    printf("  [%s] register   %s/%s (%s)\n", tag, e->ns, e->name,
           e->type->name);
  } else {
    printf("  [%s] unregister %s/%s (%s, reason: %s)\n", tag, e->ns, e->name,
           e->type->name, reason_name(ev->reason));
  }
}

/* deliver is a dispatch callback: one call per subscriber of a room. */
static int deliver(const roster_info *info, void *arg) {
  struct subscriber *s = info->instance;
  const char *msg = arg;
  s->received++;
  printf("    -> %s got \"%s\"\n", s->user, msg);
  return 0;
}

/* bump_requests is a metadata update: "requests=N" becomes
 * "requests=N+1". It depends only on its arguments, so roster may call it
 * again if another thread changed the value meanwhile. */
static int bump_requests(const void *old, size_t old_len, void *out,
                         size_t *out_len, void *arg) {
  char text[64] = "";
  long n = 0;
  (void)arg;
  if (old != NULL && old_len < sizeof text) {
    memcpy(text, old, old_len);
    text[old_len] = '\0';
    if (sscanf(text, "requests=%ld", &n) != 1) {
      n = 0;
    }
  }
  int len = snprintf(out, ROSTER_META_MAX, "requests=%ld", n + 1);
  *out_len = (size_t)len;
  return ROSTER_OK;
}

/* late_mailer registers the mailer from another thread after a while. */
static void *late_mailer(void *arg) {
  roster *r = arg;
  struct mailer *m;
  int rc;

  sleep_ms(150);
  m = xcalloc(sizeof *m);
  m->port = 2525;
  rc = mailer_register(r, NULL, "mailer", m);
  if (rc != ROSTER_OK) {
    fprintf(stderr, "demo: mailer_register: %s: %s\n", roster_err_name(rc),
            roster_last_error());
    mailer_free(m);
  }
  return NULL;
}

/* ------------------------------------------------------------------ */
/* Sections                                                            */

static void print_meta(roster *r, const char *ns, const char *name) {
  char buf[ROSTER_META_MAX + 1];
  size_t len = 0;
  CHECK(roster_meta_get(r, ns, name, NULL, buf, ROSTER_META_MAX, &len));
  buf[len] = '\0';
  printf("  metadata of %s/%s: \"%s\"\n", ns ? ns : ROSTER_DEFAULT_NS, name,
         buf);
}

static void print_namespaces(roster *r) {
  roster_ns_list nsl;
  CHECK(roster_ns_list_get(r, &nsl));
  printf("  namespaces:");
  for (size_t i = 0; i < nsl.count; i++) {
    printf(" %s(%zu)", nsl.items[i].name, nsl.items[i].entries);
  }
  printf("\n");
  roster_ns_list_free(&nsl);
}

static void section_lookups(roster *r) {
  struct db_pool *db = NULL;
  struct cache *c = NULL;
  void *p = NULL;
  int rc;

  heading("3. Typed lookups");
  CHECK(db_pool_get(r, NULL, "db", &db));
  printf("  db_pool_get(\"db\")   -> %s, %d connections\n", db->dsn, db->size);
  CHECK(cache_get(r, NULL, "cache", &c));
  printf("  cache_get(\"cache\")  -> cache %s\n", c->name);

  printf("  asking for \"db\" as a cache is refused at run time:\n");
  rc = cache_get(r, NULL, "db", &c);
  show_error("cache_get(\"db\")", rc);
  printf("  (and c was set to %s)\n", c == NULL ? "NULL" : "something!");

  printf("  a typo gets a helpful detail:\n");
  rc = roster_get(r, NULL, "dbb", NULL, &p);
  show_error("roster_get(\"dbb\")", rc);
}

static void section_namespaces(roster *r) {
  struct db_pool *prod = NULL;
  struct db_pool *dflt = NULL;
  size_t removed = 0;
  const char *test_ns = "test-7f3a";

  heading("4. Namespaces");
  printf("  the same name in another namespace is another entry:\n");
  CHECK(db_pool_register(r, "production", "db",
                         db_pool_make("postgresql://db.prod/app", 16)));
  CHECK(db_pool_get(r, "production", "db", &prod));
  CHECK(db_pool_get(r, NULL, "db", &dflt));
  printf("  default/db    -> %s\n", dflt->dsn);
  printf("  production/db -> %s\n", prod->dsn);

  printf("  a test gets its own namespace, dropped as a whole:\n");
  CHECK(
      db_pool_register(r, test_ns, "db", db_pool_make("sqlite://:memory:", 1)));
  CHECK(cache_register(r, test_ns, "cache", cache_make("test")));
  CHECK(logger_register(r, test_ns, "log", logger_make("test")));
  printf("  roster_count(\"%s\") = %zu\n", test_ns, roster_count(r, test_ns));
  print_namespaces(r);
  CHECK(roster_ns_drop(r, test_ns, &removed));
  roster_reclaim_wait(); /* let the destroys print here */
  printf("  roster_ns_drop(\"%s\") removed %zu entries\n", test_ns, removed);
  print_namespaces(r);
}

static void section_pubsub(roster *hub, roster *r) {
  const char *users[] = {"alice", "bob", "carol"};
  roster_owner *conns[3];
  char hello[] = "hello, lobby";
  char again[] = "alice has left";
  size_t called = 0;
  size_t count = 0;
  size_t removed = 0;

  heading("5. Duplicate keys: chat rooms and dispatch");
  printf("  registry \"hub\" allows many entries per key; each connection is "
         "an owner\n");
  for (int i = 0; i < 3; i++) {
    conns[i] = roster_owner_new();
    if (conns[i] == NULL) {
      fprintf(stderr, "demo: roster_owner_new: %s\n", roster_last_error());
      exit(1);
    }
  }
  for (int i = 0; i < 3; i++) {
    const char *rooms[] = {"room:lobby", "room:games"};
    for (int j = 0; j < 2; j++) {
      if (i == 1 && j == 1) {
        continue; /* bob only joins the lobby */
      }
      struct subscriber *s = xcalloc(sizeof *s);
      roster_entry_opts eo = {.owner = conns[i]};
      snprintf(s->user, sizeof s->user, "%s", users[i]);
      snprintf(s->room, sizeof s->room, "%s", rooms[j]);
      CHECK(roster_register_ex(hub, NULL, rooms[j], &subscriber_type, s, &eo));
    }
  }
  /* alice also has a session in the main registry, owned by her
   * connection too. */
  {
    struct session *s = xcalloc(sizeof *s);
    roster_entry_opts eo = {.owner = conns[0]};
    snprintf(s->user, sizeof s->user, "alice");
    CHECK(roster_register_ex(r, NULL, "session:alice", &session_type, s, &eo));
  }
  CHECK(roster_lookup(hub, NULL, "room:lobby", NULL, 0, &count));
  printf("  room:lobby holds %zu subscribers\n", count);
  CHECK(roster_dispatch(hub, NULL, "room:lobby", deliver, hello, &called));
  printf("  dispatched to %zu subscribers\n", called);

  heading("6. Owners: one connection leaves everything at once");
  CHECK(roster_owner_release(conns[0], &removed));
  roster_reclaim_wait();
  printf("  roster_owner_release(alice) removed %zu entries in 2 registries\n",
         removed);
  CHECK(roster_dispatch(hub, NULL, "room:lobby", deliver, again, &called));
  printf("  dispatched to %zu subscribers\n", called);

  printf("  the other connections close; their entries go with them:\n");
  for (int i = 0; i < 3; i++) {
    roster_owner_free(conns[i]);
  }
  roster_reclaim_wait();
  printf("  rooms now hold %zu entries\n",
         roster_count_match(hub, &(roster_query){.pattern = "room:*"}));
}

static void section_wait_for(roster *r) {
  pthread_t t;
  int64_t t0;
  int rc;

  heading("7. wait_for: block until a service appears");
  printf(
      "  another thread registers \"mailer\" in 150 ms; main waits for it\n");
  if (pthread_create(&t, NULL, late_mailer, r) != 0) {
    fprintf(stderr, "demo: pthread_create failed\n");
    exit(1);
  }
  t0 = now_ms();
  rc = roster_wait_for(r, NULL, "mailer", 5000);
  if (rc != ROSTER_OK) {
    show_error("roster_wait_for(\"mailer\")", rc);
    exit(1);
  }
  printf("  wait_for(\"mailer\") woke after %" PRId64 " ms\n", now_ms() - t0);
  pthread_join(t, NULL);
  rc = roster_wait_for(r, NULL, "smtp-relay", 50);
  printf("  wait_for(\"smtp-relay\", 50 ms) -> %s\n", roster_err_name(rc));
}

static void section_metadata(roster *r) {
  heading("8. Metadata");
  print_meta(r, NULL, "log");
  CHECK(roster_meta_set(r, NULL, "db", NULL, "role=primary", 12));
  print_meta(r, NULL, "db");
  for (int i = 0; i < 3; i++) {
    CHECK(roster_meta_update(r, NULL, "cache", NULL, bump_requests, NULL));
  }
  printf("  after 3 roster_meta_update calls:\n");
  print_meta(r, NULL, "cache");
}

static void section_stats(roster *r) {
  roster_stats st;
  roster_list all;
  roster_query q = {.ns = "*", .pattern = "*"};

  heading("9. Listing and stats");
  CHECK(roster_select(r, &q, &all));
  for (size_t i = 0; i < all.count; i++) {
    printf("  %-12s %-14s %s\n", all.items[i].ns, all.items[i].name,
           all.items[i].type->name);
  }
  roster_list_free(&all);
  CHECK(roster_stats_get(r, &st));
  printf("  entries=%" PRIu64 " namespaces=%" PRIu64 " lookups=%" PRIu64
         " hits=%" PRIu64 " misses=%" PRIu64 "\n",
         st.entries, st.namespaces, st.lookups, st.hits, st.misses);
  printf("  registers=%" PRIu64 " unregisters=%" PRIu64 " listeners=%" PRIu64
         " memory=%" PRIu64 " bytes\n",
         st.registers, st.unregisters, st.listeners, st.memory_bytes);
}

/* serve_tick is one second of "work": lookups as request handlers do them. */
static void serve_tick(roster *r, int tick) {
  long ok = 0;
  long failed = 0;
  for (int i = 0; i < 1000; i++) {
    struct db_pool *db = NULL;
    struct cache *c = NULL;
    roster_ref *ref = NULL;
    if (db_pool_get(r, "production", "db", &db) == ROSTER_OK) {
      atomic_fetch_add(&db->queries, 1);
      ok++;
    } else {
      failed++;
    }
    /* acquire/release: the way to hold an instance across blocking work */
    if (cache_acquire(r, NULL, "cache", &c, &ref) == ROSTER_OK) {
      atomic_fetch_add(&c->hits, 1);
      roster_release(ref);
      ok++;
    } else {
      failed++;
    }
  }
  printf("  tick %d: %ld lookups ok, %ld failed\n", tick, ok, failed);
}

/* ------------------------------------------------------------------ */
/* Lifecycle: services made by providers                               */

/* Each provided service is a plain struct made by a create function from
 * its dependencies and stopped by a destroy function. roster registers the
 * instance under the provider's name once it is ready, so roster_get finds
 * it like any entry. The destroys print "stop <name>" lines: their order
 * shows the reverse dependency order. */

struct config {
  char env[16];
  int cache_capacity;
};

struct store {
  const struct config *cfg;
  atomic_long writes;
};

struct svc_cache {
  struct store *store;
  int capacity;
};

struct svc_clock {
  int64_t started_ms;
};

struct audit {
  struct store *store;
  atomic_long records;
};

struct jobs {
  roster *app; /* the "app" registry its ticks look things up in */
  struct store *store;
  struct svc_clock *clock;
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool go, stop;
  int ticks;
};

/* The instances are freed by the providers' destroy functions, so these
 * descriptors have none (a provider's destroy replaces the type's). */
static const roster_type config_type = {.name = "config"};
static const roster_type store_type = {.name = "store"};
static const roster_type svc_cache_type = {.name = "lru_cache"};
static const roster_type svc_clock_type = {.name = "clock"};
static const roster_type audit_type = {.name = "audit"};
static const roster_type jobs_type = {.name = "jobs"};

static int config_create(void *arg, const roster_deps *deps, void **out) {
  struct config *c = xcalloc(sizeof *c);
  (void)arg;
  (void)deps;
  snprintf(c->env, sizeof c->env, "demo");
  c->cache_capacity = 128;
  printf("  start config (env=%s)\n", c->env);
  *out = c;
  return ROSTER_OK;
}

static int store_create(void *arg, const roster_deps *deps, void **out) {
  struct store *st = xcalloc(sizeof *st);
  (void)arg;
  st->cfg = roster_deps_get(deps, "config");
  printf("  start store (config env=%s)\n", st->cfg->env);
  *out = st;
  return ROSTER_OK;
}

static int svc_cache_create(void *arg, const roster_deps *deps, void **out) {
  struct svc_cache *c = xcalloc(sizeof *c);
  (void)arg;
  c->store = roster_deps_get(deps, "store");
  c->capacity = c->store->cfg->cache_capacity;
  printf("  start cache (capacity %d, over store)\n", c->capacity);
  *out = c;
  return ROSTER_OK;
}

/* svc_cache_ready is the cache's readiness check, run on the worker pool
 * every check_interval_ms. */
static int svc_cache_ready(void *arg, void *instance) {
  struct svc_cache *c = instance;
  (void)arg;
  if (c->capacity <= 0) {
    return roster_error_set(ROSTER_ERANGE, "cache has no capacity");
  }
  return ROSTER_OK;
}

static int svc_clock_create(void *arg, const roster_deps *deps, void **out) {
  struct svc_clock *c = xcalloc(sizeof *c);
  (void)arg;
  (void)deps;
  c->started_ms = now_ms();
  printf("  start clock (monotonic, ms)\n");
  *out = c;
  return ROSTER_OK;
}

static int audit_create(void *arg, const roster_deps *deps, void **out) {
  struct audit *a = xcalloc(sizeof *a);
  (void)arg;
  a->store = roster_deps_get(deps, "store");
  printf("  start audit (lazy: made by the first roster_get, on its "
         "thread)\n");
  *out = a;
  return ROSTER_OK;
}

/* jobs_main is the jobs service's own thread: once told to go, it does one
 * tick of lookups right away and then one a second, until stopped. */
static void *jobs_main(void *arg) {
  struct jobs *j = arg;
  pthread_mutex_lock(&j->lock);
  while (!j->go && !j->stop) {
    pthread_cond_wait(&j->cond, &j->lock);
  }
  while (!j->stop) {
    int tick = ++j->ticks;
    pthread_mutex_unlock(&j->lock);
    serve_tick(j->app, tick);
    atomic_fetch_add(&j->store->writes, 1);
    pthread_mutex_lock(&j->lock);
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += 1;
    while (!j->stop &&
           pthread_cond_timedwait(&j->cond, &j->lock, &until) != ETIMEDOUT) {
    }
  }
  pthread_mutex_unlock(&j->lock);
  return NULL;
}

static int jobs_create(void *arg, const roster_deps *deps, void **out) {
  struct jobs *j = xcalloc(sizeof *j);
  pthread_condattr_t ca;
  sigset_t all;
  sigset_t old;
  int rc;

  j->app = arg;
  j->store = roster_deps_get(deps, "store");
  j->clock = roster_deps_get(deps, "clock");
  pthread_mutex_init(&j->lock, NULL);
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&j->cond, &ca);
  pthread_condattr_destroy(&ca);
  /* The thread must never take a signal: block them all while it is made,
   * so it inherits the mask whichever thread runs this create. */
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  rc = pthread_create(&j->thread, NULL, jobs_main, j);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    pthread_cond_destroy(&j->cond);
    pthread_mutex_destroy(&j->lock);
    free(j);
    atomic_fetch_add(&destroyed, 1);
    return roster_error_set(ROSTER_ESYS, "jobs: pthread_create: %s",
                            strerror(rc));
  }
  printf("  start jobs (uses store and clock)\n");
  *out = j;
  return ROSTER_OK;
}

/* jobs_go lets the jobs thread start ticking. */
static void jobs_go(struct jobs *j) {
  pthread_mutex_lock(&j->lock);
  j->go = true;
  pthread_cond_signal(&j->cond);
  pthread_mutex_unlock(&j->lock);
}

/* The destroys run on roster's worker pool, each only after every service
 * that uses it has stopped; independent ones may run in parallel. */
static void jobs_destroy(void *arg, void *instance) {
  struct jobs *j = instance;
  (void)arg;
  pthread_mutex_lock(&j->lock);
  j->stop = true;
  pthread_cond_signal(&j->cond);
  pthread_mutex_unlock(&j->lock);
  pthread_join(j->thread, NULL);
  printf("  stop jobs (ran %d ticks)\n", j->ticks);
  pthread_cond_destroy(&j->cond);
  pthread_mutex_destroy(&j->lock);
  free(j);
  atomic_fetch_add(&destroyed, 1);
}

static void svc_cache_destroy(void *arg, void *instance) {
  struct svc_cache *c = instance;
  (void)arg;
  printf("  stop cache (capacity %d)\n", c->capacity);
  free(c);
  atomic_fetch_add(&destroyed, 1);
}

static void audit_destroy(void *arg, void *instance) {
  struct audit *a = instance;
  (void)arg;
  printf("  stop audit (%ld records)\n", atomic_load(&a->records));
  free(a);
  atomic_fetch_add(&destroyed, 1);
}

static void store_destroy(void *arg, void *instance) {
  struct store *st = instance;
  (void)arg;
  printf("  stop store (%ld writes)\n", atomic_load(&st->writes));
  free(st);
  atomic_fetch_add(&destroyed, 1);
}

static void svc_clock_destroy(void *arg, void *instance) {
  struct svc_clock *c = instance;
  (void)arg;
  printf("  stop clock (up %" PRId64 " ms)\n", now_ms() - c->started_ms);
  free(c);
  atomic_fetch_add(&destroyed, 1);
}

static void config_destroy(void *arg, void *instance) {
  struct config *c = instance;
  (void)arg;
  printf("  stop config (env=%s)\n", c->env);
  free(c);
  atomic_fetch_add(&destroyed, 1);
}

/* on_state is a ROSTER_EV_STATE listener: every service state change. It
 * runs on the thread that made the change (a pool worker, or main). */
static void on_state(roster *r, const roster_event *ev, void *arg) {
  const roster_state_change *ch = ev->state;
  (void)r;
  (void)arg;
  if (ch == NULL) {
    return;
  }
  printf("  [state] %-6s %s -> %s%s%s\n", ev->entry->name,
         roster_state_name(ch->from), roster_state_name(ch->to),
         ch->error != ROSTER_OK ? ": " : "",
         ch->error != ROSTER_OK ? ch->detail : "");
}

static void provide(roster *svc, const char *name, const roster_provider *p) {
  int rc = roster_provide(svc, NULL, name, p);
  if (rc != ROSTER_OK) {
    fprintf(stderr, "demo: roster_provide(\"%s\"): %s: %s\n", name,
            roster_err_name(rc), roster_last_error());
    exit(1);
  }
}

static void declare_services(roster *svc, roster *app) {
  static const char *const on_config[] = {"config", NULL};
  static const char *const on_store[] = {"store", NULL};
  static const char *const on_store_clock[] = {"store", "clock", NULL};

  provide(svc, "config",
          &(roster_provider){.type = &config_type,
                             .create = config_create,
                             .destroy = config_destroy});
  provide(svc, "store",
          &(roster_provider){.type = &store_type,
                             .create = store_create,
                             .destroy = store_destroy,
                             .deps = on_config});
  provide(svc, "cache",
          &(roster_provider){.type = &svc_cache_type,
                             .create = svc_cache_create,
                             .destroy = svc_cache_destroy,
                             .ready = svc_cache_ready,
                             .check_interval_ms = 250,
                             .deps = on_store});
  provide(svc, "clock",
          &(roster_provider){.type = &svc_clock_type,
                             .create = svc_clock_create,
                             .destroy = svc_clock_destroy});
  provide(svc, "jobs",
          &(roster_provider){.type = &jobs_type,
                             .create = jobs_create,
                             .destroy = jobs_destroy,
                             .arg = app,
                             .deps = on_store_clock,
                             .restart = ROSTER_RESTART_ON_FAILURE});
  provide(svc, "audit",
          &(roster_provider){.type = &audit_type,
                             .create = audit_create,
                             .destroy = audit_destroy,
                             .deps = on_store,
                             .lazy = true});
}

/* print_health prints one line per service from roster_health. Returns how
 * many services are up (ready, degraded or unhealthy). */
static size_t print_health(roster *svc) {
  roster_health_report rep;
  size_t up = 0;
  CHECK(roster_health(svc, &rep));
  printf("  %-7s %-10s %-10s %-5s %-8s %s\n", "service", "type", "state",
         "lazy", "restarts", "last error");
  for (size_t i = 0; i < rep.count; i++) {
    const roster_service_health *h = &rep.items[i];
    printf("  %-7s %-10s %-10s %-5s %-8u %s\n", h->name, h->type,
           roster_state_name(h->state), h->lazy ? "yes" : "no", h->restarts,
           h->last_error == ROSTER_OK ? "-" : h->last_detail);
    if (h->state == ROSTER_STATE_READY || h->state == ROSTER_STATE_DEGRADED ||
        h->state == ROSTER_STATE_UNHEALTHY) {
      up++;
    }
  }
  printf("  all eager services ready: %s\n", rep.ready ? "yes" : "no");
  roster_health_report_free(&rep);
  return up;
}

/* count_state counts the services in state st. */
static size_t count_state(roster *svc, roster_state st) {
  roster_health_report rep;
  size_t n = 0;
  CHECK(roster_health(svc, &rep));
  for (size_t i = 0; i < rep.count; i++) {
    n += rep.items[i].state == st;
  }
  roster_health_report_free(&rep);
  return n;
}

static void section_lifecycle(roster *svc, roster *app) {
  int64_t t0;
  size_t up;
  char *dot = NULL;
  void *p = NULL;
  roster_state st;
  roster *scope;
  static struct svc_clock fake_clock = {.started_ms = 0};

  heading("10. Lifecycle: providers, dependencies, health");
  printf("  registry \"services\": config <- store <- cache; clock; "
         "jobs <- store, clock; audit <- store (lazy)\n");
  declare_services(svc, app);
  CHECK(roster_listen(svc, ROSTER_EV_STATE, on_state, NULL, NULL, NULL));

  t0 = now_ms();
  CHECK(roster_start(svc, 5000));
  up = print_health(svc);
  printf("lifecycle: started %zu services in %" PRId64 " ms\n", up,
         now_ms() - t0);

  printf("  the dependency graph (Graphviz DOT, roster_graph_dot):\n");
  CHECK(roster_graph_dot(svc, &dot));
  printf("%s", dot);
  if (dot[0] != '\0' && dot[strlen(dot) - 1] != '\n') {
    printf("\n");
  }
  roster_mem_free(dot);

  printf("  provided services are found like any entry:\n");
  CHECK(roster_get(svc, NULL, "store", &store_type, &p));
  printf("  roster_get(\"store\") -> a store over config env=%s\n",
         ((struct store *)p)->cfg->env);

  CHECK(roster_service_state(svc, NULL, "audit", &st));
  printf("  audit before its first use: %s\n", roster_state_name(st));
  CHECK(roster_get(svc, NULL, "audit", &audit_type, &p));
  atomic_fetch_add(&((struct audit *)p)->records, 1);
  CHECK(roster_service_state(svc, NULL, "audit", &st));
  printf("  audit after roster_get: %s\n", roster_state_name(st));

  printf("  a scope shadows \"clock\" for a test, without touching the "
         "parent:\n");
  scope = roster_scope_new(svc);
  if (scope == NULL) {
    fprintf(stderr, "demo: roster_scope_new: %s\n", roster_last_error());
    exit(1);
  }
  CHECK(roster_register(scope, NULL, "clock", &svc_clock_type, &fake_clock));
  CHECK(roster_get(scope, NULL, "clock", &svc_clock_type, &p));
  printf("  in the scope:  clock -> %s\n",
         p == &fake_clock ? "the fake clock" : "the real clock?!");
  CHECK(roster_get(scope, NULL, "store", &store_type, &p));
  printf("  in the scope:  store -> the parent's store\n");
  CHECK(roster_get(svc, NULL, "clock", &svc_clock_type, &p));
  printf("  in the parent: clock -> %s\n",
         p == &fake_clock ? "the fake clock?!" : "the real clock");
  roster_free(scope);
}

/* on_alarm runs when DEMO_SECONDS have passed: it asks for a shutdown the
 * way an operator would, with SIGTERM to the whole process. */
static void on_alarm(int sig) {
  (void)sig;
  kill(getpid(), SIGTERM);
}

/* serve runs the services with roster_run until SIGINT/SIGTERM (or the
 * DEMO_SECONDS alarm), then roster_run stops them in reverse order. */
static void serve(roster *svc, const sigset_t *sigs, long seconds) {
  struct timespec zero = {0, 0};
  void *p = NULL;
  int sig;
  int rc;

  heading("11. Serving");
  if (seconds > 0) {
    printf("  serving for %ld s (DEMO_SECONDS), or until Ctrl-C\n", seconds);
  } else {
    printf("  serving until Ctrl-C or SIGTERM "
           "(DEMO_SECONDS=N stops after N seconds)\n");
  }
  printf("  (a second Ctrl-C during the shutdown forces the exit)\n");
  CHECK(roster_get(svc, NULL, "jobs", &jobs_type, &p));
  jobs_go(p);

  /* A signal that came during the sections above is still pending (every
   * thread blocks them): take it here, or it would kill the process the
   * moment main unblocks it, before roster_run's handler is in place. */
  sig = sigtimedwait(sigs, NULL, &zero);
  if (sig > 0) {
    printf("  got %s before serving\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    printf("  roster_shutdown stops the services in reverse dependency "
           "order:\n");
    rc = roster_shutdown(svc, 30000);
  } else {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    if (seconds > 0) {
      alarm((unsigned)seconds);
    }
    /* Only main takes the signals from here on; roster_run catches SIGINT
     * and SIGTERM with a handler that writes to a pipe, and on the first
     * one shuts the services down (a second one forces the exit). */
    pthread_sigmask(SIG_UNBLOCK, sigs, NULL);
    rc = roster_run(svc, &(roster_run_options){.status = "demo serving",
                                               .shutdown_deadline_ms = 10000});
    pthread_sigmask(SIG_BLOCK, sigs, NULL);
    alarm(0);
  }
  if (rc != ROSTER_OK) {
    show_error("roster_run", rc);
    exit(1);
  }
  printf("lifecycle: stopped %zu services\n",
         count_state(svc, ROSTER_STATE_STOPPED));
}

/* ------------------------------------------------------------------ */

int main(void) {
  sigset_t sigs;
  roster *r;
  roster *hub;
  roster *svc;
  uint64_t listener = 0;
  long seconds = 0;
  const char *env = getenv("DEMO_SECONDS");

  setvbuf(stdout, NULL, _IOLBF, 0);
  if (env != NULL && *env != '\0') {
    seconds = strtol(env, NULL, 10);
  }

  /* Block the shutdown signals (and the DEMO_SECONDS alarm) before any
   * thread exists (roster's reclaim thread included), so every thread
   * inherits the mask and only main, while it runs roster_run, ever takes
   * them. */
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGALRM);
  if (pthread_sigmask(SIG_BLOCK, &sigs, NULL) != 0) {
    fprintf(stderr, "demo: pthread_sigmask failed\n");
    return 1;
  }

  printf("roster %s demo (built against %d.%d.%d)\n", roster_version(),
         ROSTER_VERSION_MAJOR, ROSTER_VERSION_MINOR, ROSTER_VERSION_PATCH);

  heading("1. A registry and a listener");
  r = roster_new(&(roster_options){.name = "app"});
  hub = roster_new(
      &(roster_options){.name = "hub", .keys = ROSTER_KEYS_DUPLICATE});
  if (r == NULL || hub == NULL) {
    fprintf(stderr, "demo: roster_new: %s\n", roster_last_error());
    return 1;
  }
  CHECK(roster_listen(r, ROSTER_EV_REGISTER | ROSTER_EV_UNREGISTER, on_event,
                      "app", NULL, &listener));
  CHECK(roster_listen(hub, ROSTER_EV_ALL, on_event, "hub", NULL, NULL));
  printf("  registries \"app\" (unique keys) and \"hub\" (duplicate keys); "
         "listeners print [app]/[hub] lines\n");

  heading("2. Register services");
  CHECK(db_pool_register(r, NULL, "db",
                         db_pool_make("postgresql://localhost/app", 4)));
  CHECK(cache_register(r, NULL, "cache", cache_make("main")));
  {
    const char meta[] = "level=info";
    roster_entry_opts eo = {.meta = meta, .meta_len = strlen(meta)};
    CHECK(roster_register_ex(r, NULL, "log", &logger_type, logger_make("main"),
                             &eo));
  }
  {
    struct cache *second = cache_make("second");
    int rc = cache_register(r, NULL, "cache", second);
    show_error("cache_register(\"cache\") again", rc);
    cache_free(second); /* a failed register leaves the instance to us */
  }

  section_lookups(r);
  section_namespaces(r);
  section_pubsub(hub, r);
  section_wait_for(r);
  section_metadata(r);
  section_stats(r);

  svc = roster_new(&(roster_options){.name = "services"});
  if (svc == NULL) {
    fprintf(stderr, "demo: roster_new: %s\n", roster_last_error());
    return 1;
  }
  section_lifecycle(svc, r);
  serve(svc, &sigs, seconds);

  heading("12. Shutdown");
  CHECK(roster_unlisten(r, listener));
  roster_free(svc); /* the services are stopped; this drops the providers */
  roster_free(hub);
  roster_free(r); /* destroys every instance left, then returns */
  printf("  %d instances made, %d destroyed\n", atomic_load(&made),
         atomic_load(&destroyed));
  if (atomic_load(&made) != atomic_load(&destroyed)) {
    fprintf(stderr, "demo: some instances were not destroyed\n");
    return 1;
  }
  printf("demo: clean shutdown\n");
  return 0;
}
