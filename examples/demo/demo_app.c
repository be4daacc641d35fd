/*
 * demo_app.c: the service container. The demo's services come from its
 * configuration (examples/demo/demo.yaml, with DEMO_* environment
 * overrides): a database (SQLite by default; PostgreSQL or MariaDB when
 * DEMO_SERVICE_DB_URL names one) and a cache (in memory by default; Redis
 * when DEMO_SERVICE_CACHE_URL names one). Code adds providers on top:
 *
 *   store  <- db, cache, log   the visits table; reads are cache-aside
 *   clock                      a plain service, shadowed in a scope below
 *   jobs   <- store, clock     a cron scheduler: the "visit" job writes a
 *                              row (and, when DEMO_SERVICE_EVENTS_URL names
 *                              a MongoDB server, an event document through
 *                              the service "events": demo_events.c), reads
 *                              the count through the cache and sends a
 *                              rate-limited report
 *   audit  <- store (lazy)     made by the first roster_get, on its thread
 *
 * roster_start creates them in dependency order on its worker pool (the
 * logger, attached to the registry, writes each transition as a JSON line
 * in pino's format), the demo prints their health and the dependency
 * graph, and roster_run serves until SIGINT or SIGTERM (or DEMO_SECONDS),
 * then stops them in reverse dependency order.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "demo.h"
#include "roster/db.h"
#include "roster/sqlite.h"
#ifdef DEMO_HAVE_PG
#include "roster/pg.h"
#endif
#ifdef DEMO_HAVE_MARIADB
#include "roster/mariadb.h"
#endif
#ifdef DEMO_HAVE_REDIS
#include "roster/redis.h"
#endif
#ifdef DEMO_HAVE_SOCKETIO
#include "demo_chat.h"
#endif
#ifdef DEMO_HAVE_ADMIN
#include "roster/admin.h"
#endif
#if defined(DEMO_HAVE_ADMIN) && defined(DEMO_HAVE_HTTP)
#include "roster/http.h"

/* self_check: a cron job that reads the demo's own admin JSON through the
 * named HTTP client "self", as a service would call another's API. */
static int self_check(void *arg) {
  roster *svc = arg;
  roster_http *self = NULL;
  int rc = roster_http_find(svc, NULL, "self", &self);
  json_t *st = NULL;
  if (rc == ROSTER_OK)
    rc = roster_http_json(self, "GET", "/api/stats", NULL, &st, NULL);
  if (rc != ROSTER_OK)
    return rc; /* the scheduler logs it with its detail */
  printf("  self-check: GET /api/stats through the client \"self\": %lld "
         "entries, ready: %s\n",
         (long long)json_integer_value(
             json_object_get(json_object_get(st, "registry"), "entries")),
         json_is_true(json_object_get(st, "ready")) ? "yes" : "no");
  json_decref(st);
  return ROSTER_OK;
}
#endif

#ifndef DEMO_CONFIG
#define DEMO_CONFIG "demo.yaml"
#endif

/* ------------------------------------------------------------------ */
/* The services made in code                                           */

/* store: the visits table over the database, with cache-aside reads. */
struct store {
  roster_db *db;
  roster_cache *cache;
  roster_log *log;
  char driver[32];
  atomic_long writes;
};

/* clock: what time the jobs see (a test could shadow it with a fake). */
struct svc_clock {
  int64_t started_ms;
  const char *kind;
};

/* audit: a lazy service, made on first use. */
struct audit {
  struct store *store;
  atomic_long records;
};

/* The instances are freed by the providers' destroy functions. */
static const roster_type store_type = {.name = "store"};
static const roster_type svc_clock_type = {.name = "clock"};
static const roster_type audit_type = {.name = "audit"};

static const char CREATE_SQL[] =
    "CREATE TABLE IF NOT EXISTS demo_visits ("
    "at_ms BIGINT NOT NULL, note VARCHAR(200) NOT NULL)";

static int store_create(void *arg, const roster_deps *deps, void **out) {
  (void)arg;
  struct store *st = calloc(1, sizeof *st);
  if (!st)
    return roster_error_set(ROSTER_ENOMEM, "store: out of memory");
  st->db = roster_deps_get(deps, "db");
  st->cache = roster_deps_get(deps, "cache");
  st->log = roster_deps_get(deps, "log");
  snprintf(st->driver, sizeof st->driver, "%s", roster_db_driver_name(st->db));
  int rc = roster_db_exec(st->db, CREATE_SQL, NULL, 0, NULL);
  if (rc != ROSTER_OK) {
    free(st);
    return rc; /* the detail names the database and the server's message */
  }
  printf("  start store (demo_visits on %s, cache %s://)\n", st->driver,
         roster_cache_scheme(st->cache));
  *out = st;
  return ROSTER_OK;
}

static void store_destroy(void *arg, void *instance) {
  struct store *st = instance;
  (void)arg;
  printf("  stop store (%ld visits written)\n", atomic_load(&st->writes));
  free(st);
}

/* load_count is the cache-aside loader: on a miss, count the rows. */
static int load_count(void *arg, const void *key, size_t key_len,
                      roster_cache_buf *out) {
  struct store *st = arg;
  roster_db_result *res = NULL;
  (void)key;
  (void)key_len;
  int rc = roster_db_query(st->db, "SELECT COUNT(*) FROM demo_visits", NULL, 0,
                           &res);
  if (rc != ROSTER_OK)
    return rc;
  int64_t n = 0;
  if (roster_db_next(res) > 0)
    rc = roster_db_get_int(res, 0, &n);
  roster_db_result_free(res);
  if (rc != ROSTER_OK)
    return rc;
  char text[32];
  int len = snprintf(text, sizeof text, "%" PRId64, n);
  return roster_cache_buf_set(out, ROSTER_CACHE_BYTES, text, (size_t)len);
}

static int svc_clock_create(void *arg, const roster_deps *deps, void **out) {
  (void)arg;
  (void)deps;
  struct svc_clock *c = calloc(1, sizeof *c);
  if (!c)
    return roster_error_set(ROSTER_ENOMEM, "clock: out of memory");
  c->started_ms = now_ms();
  c->kind = "the real clock";
  printf("  start clock (monotonic, ms)\n");
  *out = c;
  return ROSTER_OK;
}

static void svc_clock_destroy(void *arg, void *instance) {
  struct svc_clock *c = instance;
  (void)arg;
  printf("  stop clock (up %" PRId64 " ms)\n", now_ms() - c->started_ms);
  free(c);
}

static int audit_create(void *arg, const roster_deps *deps, void **out) {
  (void)arg;
  struct audit *a = calloc(1, sizeof *a);
  if (!a)
    return roster_error_set(ROSTER_ENOMEM, "audit: out of memory");
  a->store = roster_deps_get(deps, "store");
  printf("  start audit (lazy: made by the first roster_get, on its "
         "thread)\n");
  *out = a;
  return ROSTER_OK;
}

static void audit_destroy(void *arg, void *instance) {
  struct audit *a = instance;
  (void)arg;
  printf("  stop audit (%ld records)\n", atomic_load(&a->records));
  free(a);
}

/* ------------------------------------------------------------------ */
/* The cron job                                                        */

/* visit is what the "visit" job does on each run, on a scheduler worker:
 * a row written, the count read through the cache (cache-aside: the
 * database is asked only when the cached count has expired), a report
 * sent unless the rate limiter says no, and a round of registry lookups. */
typedef struct visit_ctx {
  roster *svc;
  tour *tour;
  struct store *store;
  struct svc_clock *clock;
  int64_t report_limit;
  int64_t report_window_ms;
  bool events; /* services.events.url is set: events go to MongoDB too */
  atomic_int runs;
} visit_ctx;

static int visit(void *arg) {
  visit_ctx *v = arg;
  struct store *st = v->store;
  int n = atomic_fetch_add(&v->runs, 1) + 1;
  char note[64];
  snprintf(note, sizeof note, "visit %d", n);
  int rc = roster_db_exec(
      st->db, "INSERT INTO demo_visits (at_ms, note) VALUES ($1, $2)",
      ROSTER_DB_PARAMS(roster_db_int(now_ms() - v->clock->started_ms),
                       roster_db_text(note)),
      NULL);
  if (rc != ROSTER_OK)
    return rc; /* the scheduler logs the failure with its detail */
  atomic_fetch_add(&st->writes, 1);
#ifdef DEMO_HAVE_MONGODB
  if (v->events &&
      (rc = events_record(v->svc, "visit", n, note,
                          now_ms() - v->clock->started_ms)) != ROSTER_OK)
    return rc;
#endif

  roster_cache_stats before, after;
  roster_cache_stats_get(st->cache, &before);
  roster_cache_buf count = {0};
  rc = roster_cache_get_or_set(st->cache, "visits:count", 12, 1500, load_count,
                               st, &count);
  if (rc != ROSTER_OK)
    return rc;
  roster_cache_stats_get(st->cache, &after);
  bool loaded = after.loads > before.loads;
  printf("  visit %d: demo_visits holds %s rows on %s (count %s)\n", n,
         (const char *)count.data, st->driver,
         loaded ? "loaded from the database, cached for 1.5 s"
                : "from the cache");
  roster_cache_buf_close(&count);

  roster_cache_rate rate;
  rc = roster_cache_rate_fixed(st->cache, "reports", 7, v->report_limit,
                               v->report_window_ms, &rate);
  if (rc != ROSTER_OK)
    return rc;
  if (rate.allowed)
    printf("  visit %d: report sent (%" PRId64 " of %" PRId64 " allowed in "
           "%" PRId64 " s)\n",
           n, rate.count, v->report_limit, v->report_window_ms / 1000);
  else
    printf("  visit %d: report rate-limited (%" PRId64 " per %" PRId64
           " s; next in %" PRId64 " ms)\n",
           n, v->report_limit, v->report_window_ms / 1000, rate.retry_ms);

  /* The lazy audit service: the first roster_get creates it here. */
  struct audit *a = NULL;
  rc = roster_get(v->svc, NULL, "audit", &audit_type, (void **)&a);
  if (rc != ROSTER_OK)
    return rc;
  atomic_fetch_add(&a->records, 1);

  tour_tick(v->tour, n);
  return ROSTER_OK;
}

/* jobs_setup adds the jobs once the scheduler's dependencies are ready. */
static int jobs_setup(roster_sched *s, const roster_deps *deps, void *arg) {
  visit_ctx *v = arg;
  v->store = roster_deps_get(deps, "store");
  v->clock = roster_deps_get(deps, "clock");
  roster_config *cfg = NULL;
  int rc =
      roster_get(v->svc, NULL, "config", &roster_config_type, (void **)&cfg);
  if (rc != ROSTER_OK)
    return rc;
  char *expr = NULL;
  rc = roster_config_string(cfg, "jobs.visit.schedule", "*/2 * * * * *", &expr);
  if (rc != ROSTER_OK)
    return rc;
  /* Added disabled: serve enables it (and runs it once) after the start
   * report, so its first run, which makes the lazy audit service, cannot
   * come before the report shows audit still declared. */
  rc = roster_sched_add(
      s, "visit", expr, visit, v,
      &(roster_job_options){.disabled = true, .timeout_ms = 1000});
  printf("  start jobs (job \"visit\" on \"%s\", from when serving "
         "begins)\n",
         expr);
  roster_mem_free(expr);
  return rc;
}

/* ------------------------------------------------------------------ */
/* Setup                                                               */

static void provide(roster *svc, const char *name, const roster_provider *p) {
  int rc = roster_provide(svc, NULL, name, p);
  if (rc != ROSTER_OK) {
    fprintf(stderr, "demo: roster_provide(\"%s\"): %s: %s\n", name,
            roster_err_name(rc), roster_last_error());
    exit(1);
  }
}

/* load_config reads demo.yaml (DEMO_CONFIG overrides its path) with
 * DEMO_* environment variables on top. */
static roster_config *load_config(void) {
  const char *path = getenv("DEMO_CONFIG");
  if (!path || !*path)
    path = DEMO_CONFIG;
  const char *files[] = {path, NULL};
  roster_config *cfg = NULL;
  if (roster_config_new(
          &(roster_config_options){.files = files, .env_prefix = "DEMO"},
          &cfg) != ROSTER_OK) {
    fprintf(stderr, "demo: roster_config_new: %s\n", roster_last_error());
    exit(1);
  }
  int rc = roster_config_load(cfg);
  if (rc != ROSTER_OK) {
    char *all = roster_config_errors(cfg);
    fprintf(stderr, "demo: config %s: %s\n%s\n", path, roster_err_name(rc),
            all ? all : roster_last_error());
    roster_mem_free(all);
    exit(1);
  }
  char *name = NULL, *db = NULL, *cache = NULL, *level = NULL;
  CHECK(roster_config_string(cfg, "app.name", "demo", &name));
  CHECK(roster_config_string(cfg, "services.db.url", "", &db));
  CHECK(roster_config_string(cfg, "services.cache.url", "", &cache));
  CHECK(roster_config_string(cfg, "log.level", "info", &level));
  char shown[256], src[128];
  printf("  config: %s (app.name=%s, log.level=%s)\n", path, name, level);
  roster_config_source(cfg, "services.db.url", src, sizeof src);
  printf("  services.db.url    = %s  (from %s)\n",
         roster_url_redact(db, shown, sizeof shown), src);
  roster_config_source(cfg, "services.cache.url", src, sizeof src);
  printf("  services.cache.url = %s  (from %s)\n",
         roster_url_redact(cache, shown, sizeof shown), src);
  roster_mem_free(name);
  roster_mem_free(db);
  roster_mem_free(cache);
  roster_mem_free(level);
  return cfg;
}

/* make_log makes the JSON logger (stdout, level from log.level). */
static roster_log *make_log(const roster_config *cfg) {
  char *level_text = NULL;
  int level = ROSTER_LOG_INFO;
  CHECK(roster_config_string(cfg, "log.level", "info", &level_text));
  if (roster_log_level_parse(level_text, &level) != ROSTER_OK) {
    fprintf(stderr, "demo: log.level: %s\n", roster_last_error());
    exit(1);
  }
  roster_mem_free(level_text);
  roster_log *log = NULL;
  if (roster_log_new(&(roster_log_options){.name = "demo", .level = level},
                     &log) != ROSTER_OK) {
    fprintf(stderr, "demo: roster_log_new: %s\n", roster_last_error());
    exit(1);
  }
  return log;
}

static void declare_services(roster *svc, roster_config *cfg, roster_log *log,
                             visit_ctx *v) {
  static const char *const on_store_deps[] = {"db", "cache", "log", NULL};
  static const char *const on_store[] = {"store", NULL};
  static const char *const jobs_deps[] = {"store", "clock", NULL};

  CHECK(roster_config_register(svc, NULL, "config", cfg));
  CHECK(roster_log_register(svc, NULL, "log", log));
  /* db and cache: one service per `services:` entry, by URL scheme */
  CHECK(roster_config_provide_services(svc, cfg));
  provide(svc, "store",
          &(roster_provider){.type = &store_type,
                             .create = store_create,
                             .destroy = store_destroy,
                             .deps = on_store_deps});
  provide(svc, "clock",
          &(roster_provider){.type = &svc_clock_type,
                             .create = svc_clock_create,
                             .destroy = svc_clock_destroy});
  provide(svc, "audit",
          &(roster_provider){.type = &audit_type,
                             .create = audit_create,
                             .destroy = audit_destroy,
                             .deps = on_store,
                             .lazy = true});
  CHECK(roster_sched_provide(svc, NULL, "jobs",
                             &(roster_sched_options){.workers = 2,
                                                     .log = log,
                                                     .setup = jobs_setup,
                                                     .setup_arg = v,
                                                     .deps = jobs_deps}));
#ifdef DEMO_HAVE_SOCKETIO
  /* chat <- db, cache, log, jobs: the realtime page (demo_chat.c) */
  CHECK(chat_provide(svc, cfg));
#endif
}

/* print_health prints one line per service from roster_health. Returns how
 * many services are up (ready, degraded or unhealthy). */
static size_t print_health(roster *svc) {
  roster_health_report rep;
  size_t up = 0;
  CHECK(roster_health(svc, &rep));
  printf("  %-7s %-12s %-10s %-5s %-8s %s\n", "service", "type", "state",
         "lazy", "restarts", "last error");
  for (size_t i = 0; i < rep.count; i++) {
    const roster_service_health *h = &rep.items[i];
    printf("  %-7s %-12s %-10s %-5s %-8u %s\n", h->name, h->type,
           roster_state_name(h->state), h->lazy ? "yes" : "no", h->restarts,
           h->last_error == ROSTER_OK ? "-" : h->last_detail);
    if (h->state == ROSTER_STATE_READY || h->state == ROSTER_STATE_DEGRADED ||
        h->state == ROSTER_STATE_UNHEALTHY)
      up++;
  }
  printf("  all eager services ready: %s\n", rep.ready ? "yes" : "no");
  roster_health_report_free(&rep);
  return up;
}

static size_t count_state(roster *svc, roster_state st) {
  roster_health_report rep;
  size_t n = 0;
  CHECK(roster_health(svc, &rep));
  for (size_t i = 0; i < rep.count; i++)
    n += rep.items[i].state == st;
  roster_health_report_free(&rep);
  return n;
}

/* section_scope: a child scope shadows "clock" without touching the
 * parent, the way a test replaces one service. */
static void section_scope(roster *svc) {
  static struct svc_clock fake = {.started_ms = 0, .kind = "the fake clock"};
  struct svc_clock *c = NULL;
  struct store *st = NULL;
  printf("  a scope shadows \"clock\" for a test, without touching the "
         "parent:\n");
  roster *scope = NULL;
  if (roster_scope_new(svc, &scope) != ROSTER_OK) {
    fprintf(stderr, "demo: roster_scope_new: %s\n", roster_last_error());
    exit(1);
  }
  CHECK(roster_register(scope, NULL, "clock", &svc_clock_type, &fake));
  CHECK(roster_get(scope, NULL, "clock", &svc_clock_type, (void **)&c));
  printf("  in the scope:  clock -> %s\n", c->kind);
  CHECK(roster_get(scope, NULL, "store", &store_type, (void **)&st));
  printf("  in the scope:  store -> the parent's store (%s)\n", st->driver);
  CHECK(roster_get(svc, NULL, "clock", &svc_clock_type, (void **)&c));
  printf("  in the parent: clock -> %s\n", c->kind);
  roster_free(scope);
}

/* on_alarm runs when DEMO_SECONDS have passed: it asks for a shutdown the
 * way an operator would, with SIGTERM to the whole process. */
static void on_alarm(int sig) {
  (void)sig;
  kill(getpid(), SIGTERM);
}

/* serve runs the services with roster_run until SIGINT/SIGTERM (or the
 * DEMO_SECONDS alarm); roster_run then stops them in reverse order. */
static int serve(roster *svc, const sigset_t *sigs, long seconds) {
  struct timespec zero = {0, 0};
  int rc;
  heading("11. Serving");
  if (seconds > 0)
    printf("  serving for %ld s (DEMO_SECONDS), or until Ctrl-C\n", seconds);
  else
    printf("  serving until Ctrl-C or SIGTERM "
           "(DEMO_SECONDS=N stops after N seconds)\n");
  printf("  (a second Ctrl-C during the shutdown forces the exit)\n");
  /* The visit job starts now (see jobs_setup), with one run at once. */
  roster_sched *jobs = NULL;
  CHECK(roster_sched_find(svc, NULL, "jobs", &jobs));
  CHECK(roster_sched_enable(jobs, "visit"));
  CHECK(roster_sched_run_now(jobs, "visit"));
#if defined(DEMO_HAVE_ADMIN) && defined(DEMO_HAVE_HTTP)
  CHECK(
      roster_sched_run_now(jobs, "self-check")); /* once now, then every 5 s */
#endif
  /* A signal that came during the sections above is still pending (every
   * thread blocks them): take it here, or it would kill the process the
   * moment main unblocks it, before roster_run's handler is in place. */
  int sig = sigtimedwait(sigs, NULL, &zero);
  if (sig > 0) {
    printf("  got %s before serving\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    rc = roster_shutdown(svc, 30000);
  } else {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    if (seconds > 0)
      alarm((unsigned)seconds);
    /* Only main takes the signals from here on; roster_run catches SIGINT
     * and SIGTERM with a handler that writes to a pipe. */
    pthread_sigmask(SIG_UNBLOCK, sigs, NULL);
    rc = roster_run(svc, &(roster_run_options){.status = "demo serving",
                                               .shutdown_deadline_ms = 10000});
    pthread_sigmask(SIG_BLOCK, sigs, NULL);
    alarm(0);
  }
  if (rc != ROSTER_OK) {
    show_error("roster_run", rc);
    return 1;
  }
  printf("lifecycle: stopped %zu services\n",
         count_state(svc, ROSTER_STATE_STOPPED));
  return 0;
}

int app_run(tour *t, const sigset_t *sigs, long seconds) {
  heading("10. Services: config, log, database, cache, cron");
  /* The modules register their URL schemes (sqlite, postgresql, mysql,
   * redis) in the driver table; memory:// is built in. */
  CHECK(roster_sqlite_init());
#ifdef DEMO_HAVE_PG
  CHECK(roster_pg_init());
#endif
#ifdef DEMO_HAVE_MARIADB
  CHECK(roster_mariadb_init());
#endif
#ifdef DEMO_HAVE_REDIS
  CHECK(roster_redis_init());
#endif
#ifdef DEMO_HAVE_MONGODB
  CHECK(events_init());
#endif
  roster_config *cfg = load_config();
  roster_log *log = make_log(cfg);

  roster *svc = NULL;
  if (roster_new(&(roster_options){.name = "services"}, &svc) != ROSTER_OK) {
    fprintf(stderr, "demo: roster_new: %s\n", roster_last_error());
    exit(1);
  }
  /* Every service transition becomes a JSON line (pino's format). */
  CHECK(roster_log_attach(svc, log));
  static visit_ctx v;
  v.svc = svc;
  v.tour = t;
#ifdef DEMO_HAVE_MONGODB
  v.events = events_enabled(cfg);
#endif
  CHECK(roster_config_int(cfg, "jobs.report.limit", 2, &v.report_limit));
  CHECK(roster_config_duration(cfg, "jobs.report.window", 10000,
                               &v.report_window_ms));
  declare_services(svc, cfg, log, &v);
  printf("  registry \"services\": db, cache%s (from the config) <- store; "
         "clock; jobs <- store, clock; audit <- store (lazy)%s\n",
         v.events ? ", events" : "",
#ifdef DEMO_HAVE_SOCKETIO
         "; chat <- db, cache, log, jobs"
#else
         ""
#endif
  );

  int64_t t0 = now_ms();
  int rc = roster_start(svc, 10000);
  if (rc != ROSTER_OK) {
    show_error("roster_start", rc);
    exit(1);
  }
  size_t up = print_health(svc);
  printf("lifecycle: started %zu services in %" PRId64 " ms\n", up,
         now_ms() - t0);
  RL_INFO_F(log, RL_FIELDS(RL_INT("services", (int64_t)up)),
            "demo services up");

  char *dot = NULL;
  printf("  the dependency graph (Graphviz DOT, roster_graph_dot):\n");
  CHECK(roster_graph_dot(svc, &dot));
  printf("%s%s", dot, dot[0] && dot[strlen(dot) - 1] != '\n' ? "\n" : "");
  roster_mem_free(dot);

  roster_state st;
  CHECK(roster_service_state(svc, NULL, "audit", &st));
  printf("  audit before its first use: %s\n", roster_state_name(st));
  section_scope(svc);

#ifdef DEMO_HAVE_ADMIN
  /* The admin endpoint and its dashboard, on a port of its own (admin.port;
   * actions need the token in DEMO_ADMIN_TOKEN, else it is read-only). */
  int64_t admin_port = 0;
  char *admin_host = NULL;
  CHECK(roster_config_int(cfg, "admin.port", 9100, &admin_port));
  CHECK(roster_config_string(cfg, "admin.host", "127.0.0.1", &admin_host));
  roster_admin *admin = NULL;
  CHECK(
      roster_admin_new(svc,
                       &(roster_admin_options){.host = admin_host,
                                               .port = (uint16_t)admin_port,
                                               .token_env = "DEMO_ADMIN_TOKEN",
                                               .log = log},
                       &admin));
  CHECK(roster_admin_start(admin));
  printf("  admin: open http://%s:%u/ (the dashboard; /metrics, /healthz, "
         "/api/)\n",
         admin_host, roster_admin_port(admin));
#ifdef DEMO_HAVE_HTTP
  /* "self": a named HTTP client of the demo's own admin API, used by the
   * cron job self-check (every 5 s) */
  char base[96];
  snprintf(base, sizeof base, "http://%s:%u", admin_host,
           roster_admin_port(admin));
  roster_http *self = NULL;
  CHECK(roster_http_new(&(roster_http_options){.name = "self",
                                               .base_url = base,
                                               .timeout_ms = 2000},
                        &self));
  CHECK(roster_register(svc, NULL, "self", &roster_http_type, self));
  roster_sched *jobs_for_self = NULL;
  CHECK(roster_sched_find(svc, NULL, "jobs", &jobs_for_self));
  CHECK(roster_sched_add(jobs_for_self, "self-check", "*/5 * * * * *",
                         self_check, svc,
                         &(roster_job_options){.timeout_ms = 3000}));
  printf("  http client \"self\" -> %s (job \"self-check\" every 5 s)\n", base);
#endif
  roster_mem_free(admin_host);
#endif
  int code = serve(svc, sigs, seconds);
#ifdef DEMO_HAVE_ADMIN
  roster_admin_free(admin);
#endif
  CHECK(roster_service_state(svc, NULL, "audit", &st));
  printf("  audit after serving: %s (made by the visit job)\n",
         roster_state_name(st));
  roster_free(svc); /* the services are stopped; this drops the providers
                       and the config the registry owns */
  roster_log_free(log);
  return code;
}
