/*
 * demo_tour.c: the registry tour. A database pool, a cache and a logger
 * (plain structs here) are registered under names, looked up with their C
 * types from any thread, grouped in namespaces, and destroyed in order at
 * shutdown. A second registry with duplicate keys is a pub/sub hub for
 * chat rooms, where a connection (an owner) leaves all its rooms at once.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <string.h>

#include "demo.h"

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
 * instance any more. (demo_alloc and demo_free are calloc and free that
 * also count, so the demo can tell at exit that nothing leaked.) */
static void db_pool_free(void *p) {
  struct db_pool *db = p;
  printf("  [destroy] db_pool %s (closed %d connections, served %ld "
         "queries)\n",
         db->dsn, db->size, atomic_load(&db->queries));
  demo_free(db);
}

static void cache_free(void *p) {
  struct cache *c = p;
  printf("  [destroy] cache %s (hits: %ld)\n", c->name, atomic_load(&c->hits));
  demo_free(c);
}

static void logger_free(void *p) {
  struct logger *l = p;
  printf("  [destroy] logger %s\n", l->name);
  demo_free(l);
}

static void session_free(void *p) {
  struct session *s = p;
  printf("  [destroy] session of %s\n", s->user);
  demo_free(s);
}

static void mailer_free(void *p) {
  struct mailer *m = p;
  printf("  [destroy] mailer on port %d\n", m->port);
  demo_free(m);
}

static void subscriber_free(void *p) {
  struct subscriber *s = p;
  printf("  [destroy] subscriber %s in %s (messages received: %d)\n", s->user,
         s->room, s->received);
  demo_free(s);
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
  struct db_pool *db = demo_alloc(sizeof *db);
  snprintf(db->dsn, sizeof db->dsn, "%s", dsn);
  db->size = size;
  return db;
}

static struct cache *cache_make(const char *name) {
  struct cache *c = demo_alloc(sizeof *c);
  snprintf(c->name, sizeof c->name, "%s", name);
  return c;
}

static struct logger *logger_make(const char *name) {
  struct logger *l = demo_alloc(sizeof *l);
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
  m = demo_alloc(sizeof *m);
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
  CHECK(db_pool_find(r, NULL, "db", &db));
  printf("  db_pool_find(\"db\")   -> %s, %d connections\n", db->dsn, db->size);
  CHECK(cache_find(r, NULL, "cache", &c));
  printf("  cache_find(\"cache\")  -> cache %s\n", c->name);

  printf("  asking for \"db\" as a cache is refused at run time:\n");
  rc = cache_find(r, NULL, "db", &c);
  show_error("cache_find(\"db\")", rc);
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
  CHECK(db_pool_find(r, "production", "db", &prod));
  CHECK(db_pool_find(r, NULL, "db", &dflt));
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
    if (roster_owner_new(&conns[i]) != ROSTER_OK) {
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
      struct subscriber *s = demo_alloc(sizeof *s);
      roster_entry_options eo = {.owner = conns[i]};
      snprintf(s->user, sizeof s->user, "%s", users[i]);
      snprintf(s->room, sizeof s->room, "%s", rooms[j]);
      CHECK(roster_register_ex(hub, NULL, rooms[j], &subscriber_type, s, &eo));
    }
  }
  /* alice also has a session in the main registry, owned by her
   * connection too. */
  {
    struct session *s = demo_alloc(sizeof *s);
    roster_entry_options eo = {.owner = conns[0]};
    snprintf(s->user, sizeof s->user, "alice");
    CHECK(roster_register_ex(r, NULL, "session:alice", &session_type, s, &eo));
  }
  CHECK(roster_lookup(hub, NULL, "room:lobby", NULL, 0, &count));
  printf("  room:lobby holds %zu subscribers\n", count);
  CHECK(roster_dispatch(hub, NULL, "room:lobby", deliver, hello, &called));
  printf("  dispatched to %zu subscribers\n", called);

  heading("6. Owners: one connection leaves everything at once");
  CHECK(roster_owner_drop(conns[0], &removed));
  roster_reclaim_wait();
  printf("  roster_owner_drop(alice) removed %zu entries in 2 registries\n",
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

/* tour_tick is one round of "work": lookups as request handlers do them. */
void tour_tick(tour *t, int tick) {
  roster *r = t->app;
  long ok = 0;
  long failed = 0;
  for (int i = 0; i < 1000; i++) {
    struct db_pool *db = NULL;
    struct cache *c = NULL;
    roster_ref *ref = NULL;
    if (db_pool_find(r, "production", "db", &db) == ROSTER_OK) {
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

void tour_start(tour *t) {
  heading("1. A registry and a listener");
  if (roster_new(&(roster_options){.name = "app"}, &t->app) != ROSTER_OK ||
      roster_new(
          &(roster_options){.name = "hub", .keys = ROSTER_KEYS_DUPLICATE},
          &t->hub) != ROSTER_OK) {
    fprintf(stderr, "demo: roster_new: %s\n", roster_last_error());
    exit(1);
  }
  roster *r = t->app;
  CHECK(roster_listen(r, ROSTER_EV_REGISTER | ROSTER_EV_UNREGISTER, on_event,
                      "app", NULL, &t->listener));
  CHECK(roster_listen(t->hub, ROSTER_EV_ALL, on_event, "hub", NULL, NULL));
  printf("  registries \"app\" (unique keys) and \"hub\" (duplicate keys); "
         "listeners print [app]/[hub] lines\n");

  heading("2. Register services");
  CHECK(db_pool_register(r, NULL, "db",
                         db_pool_make("postgresql://localhost/app", 4)));
  CHECK(cache_register(r, NULL, "cache", cache_make("main")));
  {
    const char meta[] = "level=info";
    roster_entry_options eo = {.meta = meta, .meta_len = strlen(meta)};
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
  section_pubsub(t->hub, r);
  section_wait_for(r);
  section_metadata(r);
  section_stats(r);
}

void tour_end(tour *t) {
  CHECK(roster_unlisten(t->app, t->listener));
  roster_free(t->hub);
  roster_free(t->app); /* destroys every instance left, then returns */
  t->hub = t->app = NULL;
}
