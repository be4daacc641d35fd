/*
 * bench_db_sql.c: roster-bench-db's database rows. SELECT 1 round trips
 * per second with 4 client threads through roster (a pool of 4, each
 * query roster_db_query + next + get_int + free, its statement prepared
 * once per connection) beside the servers' own load tools in the same
 * run, the two interleaved, best of 3:
 *   - pgbench -n -c 4 -j 4 -M prepared -f <a file holding "SELECT 1;">,
 *     the same protocol (a prepared statement, one round trip each);
 *   - mariadb-slap --concurrency=4 --query="SELECT 1", which speaks the
 *     text protocol (COM_QUERY) where roster uses prepared statements
 *     (COM_STMT_EXECUTE): one round trip each both ways.
 * The servers come from ROSTER_TEST_PG_URL and ROSTER_TEST_MARIADB_URL
 * (what make bench and scripts/services.sh set); a missing one, or a
 * missing tool, is said in one line and its rows are left out. Passwords
 * go to the tools in a 0600 file (a passfile, a defaults file), never on a
 * command line.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <roster.h>
#if defined(ROSTER_BENCH_HAVE_PG)
#include <roster/pg.h>
#endif
#if defined(ROSTER_BENCH_HAVE_MARIADB)
#include <roster/mariadb.h>
#endif

#include "bench_db.h"

enum { CLIENTS = 4 };

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- roster ---- */

typedef struct sel_ctx {
  roster_db *db;
  bool held; /* each client holds one connection for the run */
  pthread_barrier_t go;
  atomic_bool stop;
} sel_ctx;

typedef struct sel_thr {
  sel_ctx *c;
  uint64_t ops, errors;
  char err[256];
  pthread_t t;
} sel_thr;

/* select1 runs SELECT 1 and reads its value: on conn if given, else on
 * a connection borrowed for the query (roster_db_query). */
static int select1(roster_db *db, roster_db_conn *conn) {
  roster_db_result *res;
  int rc = conn ? roster_db_conn_query(conn, "SELECT 1", NULL, 0, &res)
                : roster_db_query(db, "SELECT 1", NULL, 0, &res);
  if (rc)
    return rc;
  int64_t v = 0;
  if (roster_db_next(res) != 1 || roster_db_get_int(res, 0, &v) != ROSTER_OK ||
      v != 1)
    rc = ROSTER_EPROTO;
  roster_db_result_free(res);
  return rc;
}

static void *sel_main(void *arg) {
  sel_thr *me = arg;
  sel_ctx *c = me->c;
  roster_db_conn *conn = NULL;
  uint64_t n = 0, e = 0;
  if (c->held && roster_db_acquire(c->db, &conn) != ROSTER_OK) {
    e++;
    snprintf(me->err, sizeof me->err, "%s", roster_last_error());
  }
  for (int i = 0; i < 200; i++) /* warm: prepare on every connection */
    select1(c->db, conn);
  pthread_barrier_wait(&c->go);
  while (!e && !atomic_load_explicit(&c->stop, memory_order_relaxed)) {
    int rc = select1(c->db, conn);
    if (rc == ROSTER_OK) {
      n++;
    } else if (!e++) {
      snprintf(me->err, sizeof me->err, "%s", roster_last_error());
    }
  }
  if (conn)
    roster_db_release(conn);
  me->ops = n;
  me->errors = e;
  return NULL;
}

/* roster_rate runs CLIENTS threads for secs; ops per second, or < 0. */
static double roster_rate(roster_db *db, bool held, double secs) {
  sel_ctx c = {.db = db, .held = held};
  sel_thr t[CLIENTS];
  pthread_barrier_init(&c.go, NULL, CLIENTS + 1);
  for (int i = 0; i < CLIENTS; i++) {
    t[i] = (sel_thr){.c = &c};
    if (pthread_create(&t[i].t, NULL, sel_main, &t[i]) != 0) {
      fprintf(stderr, PROG ": pthread_create failed\n");
      exit(1);
    }
  }
  pthread_barrier_wait(&c.go);
  double t0 = now_s();
  bench_sleep(secs);
  atomic_store(&c.stop, true);
  uint64_t ops = 0, errs = 0;
  for (int i = 0; i < CLIENTS; i++) {
    pthread_join(t[i].t, NULL);
    ops += t[i].ops;
    if (t[i].errors && !errs)
      fprintf(stderr, PROG ": select1 through roster failed: %s\n", t[i].err);
    errs += t[i].errors;
  }
  double wall = now_s() - t0;
  pthread_barrier_destroy(&c.go);
  if (errs) {
    g_bench_errors++;
    return -1;
  }
  return (double)ops / wall;
}

/* ---- the tools ---- */

static bool have_tool(const char *name) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
  return system(cmd) == 0;
}

/* secret_file writes text to a fresh 0600 file; its path into path. */
static bool secret_file(char *path, size_t cap, const char *text) {
  snprintf(path, cap, "/tmp/roster-bench-XXXXXX");
  int fd = mkstemp(path);
  if (fd < 0)
    return false;
  fchmod(fd, 0600);
  size_t n = strlen(text);
  bool ok = write(fd, text, n) == (ssize_t)n;
  close(fd);
  if (!ok)
    unlink(path);
  return ok;
}

/* run_tool runs cmd and returns the number that follows key in its
 * output (-1 if absent or the command failed). */
static double run_tool(const char *cmd, const char *key) {
  FILE *f = popen(cmd, "r");
  if (!f)
    return -1;
  char line[512];
  double v = -1;
  char last[512] = "";
  while (fgets(line, sizeof line, f)) {
    char *p = strstr(line, key);
    if (p)
      v = strtod(p + strlen(key), NULL);
    if (line[0] != '\n')
      snprintf(last, sizeof last, "%s", line);
  }
  int st = pclose(f);
  if (st != 0 || v < 0) {
    last[strcspn(last, "\n")] = '\0';
    fprintf(stderr, PROG ": '%.60s...' failed: %s\n", cmd, last);
    g_bench_errors++;
    return -1;
  }
  return v;
}

/* pgbench_rate: pgbench's tps (without the initial connection time). */
static double pgbench_rate(const roster_url *u, const char *script,
                           const char *passfile, double secs, int quick) {
  char cmd[1400];
  snprintf(cmd, sizeof cmd,
           "%s%s%s pgbench -n -c %d -j %d -M prepared %s%d -f '%s' "
           "'postgresql://%s@%s:%d%s' 2>&1",
           passfile ? "PGPASSFILE='" : "", passfile ? passfile : "",
           passfile ? "'" : "", CLIENTS, CLIENTS, quick ? "-t " : "-T ",
           quick ? 2000 : (int)(secs + 0.5), script,
           u->user ? u->user : "postgres", u->host ? u->host : "127.0.0.1",
           u->port ? u->port : 5432, u->path ? u->path : "");
  return run_tool(cmd, "tps = ");
}

/* slap_rate: mariadb-slap's queries per second (its average time for n
 * queries over CLIENTS connections). */
static double slap_rate(const roster_url *u, const char *defaults, long n) {
  char cmd[1400];
  const char *db = u->path && u->path[0] == '/' ? u->path + 1 : "";
  snprintf(cmd, sizeof cmd,
           "mariadb-slap --defaults-file='%s' --create-schema='%s' "
           "--concurrency=%d --iterations=1 --number-of-queries=%ld "
           "--query='SELECT 1' 2>&1",
           defaults, db, CLIENTS, n);
  double secs = run_tool(cmd, "Average number of seconds to run all queries:");
  return secs > 0 ? (double)n / secs : -1;
}

/* ---- rows ---- */

static void print_row(const bench_db_opts *o, const char *impl,
                      const char *driver, const char *mode, double rate,
                      const char *protocol) {
  if (rate < 0)
    return;
  if (o->json)
    printf("{\"impl\":\"%s\",\"driver\":\"%s\",\"op\":\"select1\","
           "\"clients\":%d,\"ops_per_sec\":%.0f,\"mode\":\"%s\","
           "\"protocol\":\"%s\",\"best_of\":%d}\n",
           impl, driver, CLIENTS, rate, mode, protocol, o->quick ? 1 : 3);
  else
    printf("%-13s %-11s %-8s %7d %12.0f  %-17s %s\n", impl, driver, "select1",
           CLIENTS, rate, mode, protocol);
  fflush(stdout);
}

typedef double (*tool_fn)(void *arg);

typedef struct pg_tool {
  const roster_url *u;
  const char *script, *passfile;
  double secs;
  int quick;
} pg_tool;

static double pg_tool_run(void *arg) {
  pg_tool *t = arg;
  return pgbench_rate(t->u, t->script, t->passfile, t->secs, t->quick);
}

typedef struct slap_tool {
  const roster_url *u;
  const char *defaults;
  long n;
} slap_tool;

static double slap_tool_run(void *arg) {
  slap_tool *t = arg;
  return slap_rate(t->u, t->defaults, t->n);
}

/* duel runs roster (each client holding a connection, as the tools'
 * clients do; then borrowing one per query) and the tool in turn, best of
 * each. */
static void duel(const bench_db_opts *o, const char *driver, roster_db *db,
                 const char *tool, tool_fn fn, void *arg, double secs,
                 long *calibrate_n, const char *tool_protocol) {
  int reps = o->quick ? 1 : 3;
  double held = -1, per_query = -1, best_t = -1;
  for (int rep = 0; rep < reps; rep++) {
    double r = roster_rate(db, true, secs);
    if (r > held)
      held = r;
    if (calibrate_n && rep == 0 && r > 0) /* the tool runs about as long */
      *calibrate_n = (long)(r * secs) > 2000 ? (long)(r * secs) : 2000;
    r = roster_rate(db, false, secs);
    if (r > per_query)
      per_query = r;
    if (fn) {
      double t = fn(arg);
      if (t > best_t)
        best_t = t;
    }
  }
  print_row(o, "roster", driver, "conn_per_client", held, "prepared");
  print_row(o, "roster", driver, "acquire_per_query", per_query, "prepared");
  if (fn)
    print_row(o, tool, driver, "conn_per_client", best_t, tool_protocol);
  if (held > 0 && best_t > 0)
    fprintf(g_bench_out,
            "  %s select1, %d clients: roster / %s = %.2fx "
            "(%.0f vs %.0f per second), a connection per client; %.2fx "
            "borrowing one per query (%.0f)\n",
            driver, CLIENTS, tool, held / best_t, held, best_t,
            per_query / best_t, per_query);
}

static roster_db *open_db(const char *url) {
  char full[4200];
  snprintf(full, sizeof full, "%s%spool_max=%d&pool_min=%d", url,
           strchr(url, '?') ? "&" : "?", CLIENTS, CLIENTS);
  roster_db *db;
  if (roster_db_new(full, &(roster_db_options){.name = "bench"}, &db)) {
    fprintf(stderr, PROG ": cannot open the database: %s\n",
            roster_last_error());
    g_bench_errors++;
    return NULL;
  }
  return db;
}

static void bench_pg(const bench_db_opts *o, double secs) {
  const char *url = getenv("ROSTER_TEST_PG_URL");
#if !defined(ROSTER_BENCH_HAVE_PG)
  (void)secs;
  (void)url;
  fprintf(g_bench_out, "select1 postgresql: skipped, this build has no "
                       "PostgreSQL module\n");
  return;
#else
  if (!url || !*url) {
    fprintf(g_bench_out, "select1 postgresql: skipped, ROSTER_TEST_PG_URL "
                         "is not set (make bench starts the servers; or "
                         "scripts/services.sh start DIR and source DIR/env)\n");
    return;
  }
  roster_pg_init();
  roster_url *u;
  if (roster_url_parse(url, &u)) {
    fprintf(stderr, PROG ": ROSTER_TEST_PG_URL: %s\n", roster_last_error());
    g_bench_errors++;
    return;
  }
  roster_db *db = open_db(url);
  char script[64] = "", passfile[64] = "", pass[1024];
  bool tool = have_tool("pgbench");
  if (!tool)
    fprintf(g_bench_out, "select1 postgresql: pgbench is not installed; "
                         "roster's row only\n");
  if (tool && !secret_file(script, sizeof script, "SELECT 1;\n"))
    tool = false;
  if (tool && u->password) {
    snprintf(pass, sizeof pass, "*:*:*:*:%s\n", u->password);
    if (!secret_file(passfile, sizeof passfile, pass))
      tool = false;
  }
  pg_tool pt = {u, script, passfile[0] ? passfile : NULL, secs, o->quick};
  if (db)
    duel(o, "postgresql", db, "pgbench", tool ? pg_tool_run : NULL, &pt, secs,
         NULL, "prepared");
  if (script[0])
    unlink(script);
  if (passfile[0])
    unlink(passfile);
  roster_db_free(db);
  roster_url_free(u);
#endif
}

static void bench_mariadb(const bench_db_opts *o, double secs) {
  const char *url = getenv("ROSTER_TEST_MARIADB_URL");
#if !defined(ROSTER_BENCH_HAVE_MARIADB)
  (void)secs;
  (void)url;
  fprintf(g_bench_out, "select1 mariadb: skipped, this build has no "
                       "MariaDB module\n");
  return;
#else
  if (!url || !*url) {
    fprintf(g_bench_out, "select1 mariadb: skipped, ROSTER_TEST_MARIADB_URL "
                         "is not set (make bench starts the servers; or "
                         "scripts/services.sh start DIR and source DIR/env)\n");
    return;
  }
  roster_mariadb_init();
  roster_url *u;
  if (roster_url_parse(url, &u)) {
    fprintf(stderr, PROG ": ROSTER_TEST_MARIADB_URL: %s\n",
            roster_last_error());
    g_bench_errors++;
    return;
  }
  roster_db *db = open_db(url);
  char defaults[64] = "", text[2048];
  bool tool = have_tool("mariadb-slap");
  if (!tool)
    fprintf(g_bench_out, "select1 mariadb: mariadb-slap is not installed; "
                         "roster's row only\n");
  snprintf(text, sizeof text,
           "[client]\nuser=%s\npassword=%s\nhost=%s\n"
           "port=%d\n",
           u->user ? u->user : "root", u->password ? u->password : "",
           u->host ? u->host : "127.0.0.1", u->port ? u->port : 3306);
  if (tool && !secret_file(defaults, sizeof defaults, text))
    tool = false;
  slap_tool st = {u, defaults, 2000};
  if (db)
    duel(o, "mariadb", db, "mariadb-slap", tool ? slap_tool_run : NULL, &st,
         secs, &st.n, "text");
  if (defaults[0])
    unlink(defaults);
  roster_db_free(db);
  roster_url_free(u);
#endif
}

void bench_db_select1(const bench_db_opts *o) {
  double secs = o->quick ? 0.3 : 3.0;
  if (!o->json)
    printf("\nselect1: SELECT 1 round trips per second, %d clients, "
           "best of %d runs of %.1f s, interleaved with the server's tool\n"
           "%-13s %-11s %-8s %7s %12s  %-17s %s\n",
           CLIENTS, o->quick ? 1 : 3, secs, "impl", "driver", "op", "clients",
           "ops/s", "mode", "protocol");
  if (o->json)
    fprintf(g_bench_out, "\nroster / the server's own tool, SELECT 1 per "
                         "second:\n");
  bench_pg(o, secs);
  bench_mariadb(o, secs);
}
