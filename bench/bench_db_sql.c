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
#include "bench.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* ---- roster ---- */

typedef struct sel_ctx {
  roster_db *db;
  bool held;              /* each client holds one connection for the run */
  char err[CLIENTS][256]; /* each client's first error */
} sel_ctx;

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

static void sel_main(bench_thread *me) {
  sel_ctx *c = me->arg;
  char *err = c->err[me->id];
  roster_db_conn *conn = NULL;
  uint64_t n = 0, e = 0;
  if (c->held && roster_db_acquire(c->db, &conn) != ROSTER_OK) {
    e++;
    snprintf(err, sizeof c->err[0], "%s", roster_last_error());
  }
  for (int i = 0; i < 200; i++) /* warm: prepare on every connection */
    select1(c->db, conn);
  roster__bench_start(me);
  while (!e && bench_running(me)) {
    int rc = select1(c->db, conn);
    if (rc == ROSTER_OK) {
      n++;
    } else if (!e++) {
      snprintf(err, sizeof c->err[0], "%s", roster_last_error());
    }
  }
  if (conn)
    roster_db_release(conn);
  me->ops = n;
  me->errors = e;
}

typedef struct roster_arg {
  roster_db *db;
  bool held;
  double secs;
  long *calibrate_n; /* set from the first run's rate, when not NULL */
} roster_arg;

/* sel_run (a bench_fn): CLIENTS threads for secs. */
static bench_sample sel_run(void *arg, uint64_t ops) {
  roster_arg *a = arg;
  (void)ops;
  sel_ctx c = {.db = a->db, .held = a->held};
  bench_sample s = roster__bench_threads_for(sel_main, &c, CLIENTS, a->secs);
  if (s.errors) {
    for (int i = 0; i < CLIENTS; i++)
      if (c.err[i][0]) {
        roster__bench_fail(1, "select1 through roster failed: %s", c.err[i]);
        break;
      }
    s.ops = 0;
    return s;
  }
  if (a->calibrate_n && s.ops) { /* the tool runs about as long */
    long n = (long)(bench_rate(&s) * a->secs);
    *a->calibrate_n = n > 2000 ? n : 2000;
    a->calibrate_n = NULL;
  }
  return s;
}

/* ---- the tools ---- */

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
 * output (its last one; -1 if absent or the command failed). */
static double run_tool(const char *cmd, const char *key) {
  static char out[16384];
  int st = roster__bench_tool(cmd, out, sizeof out);
  double v = -1;
  for (const char *p = strstr(out, key); p; p = strstr(p + 1, key))
    v = strtod(p + strlen(key), NULL);
  if (st != 0 || v < 0) {
    size_t len = strlen(out); /* the last non-empty line, for the message */
    while (len && out[len - 1] == '\n')
      out[--len] = '\0';
    char *last = strrchr(out, '\n');
    roster__bench_fail(1, "'%.60s...' failed: %s", cmd, last ? last + 1 : out);
    return -1;
  }
  return v;
}

/* pgbench_rate: pgbench's tps (without the initial connection time). */
static double pgbench_rate(const roster_url *u, const char *script,
                           const char *passfile, double secs) {
  char cmd[1400];
  snprintf(cmd, sizeof cmd,
           "%s%s%s pgbench -n -c %d -j %d -M prepared %s%d -f '%s' "
           "'postgresql://%s@%s:%d%s' 2>&1",
           passfile ? "PGPASSFILE='" : "", passfile ? passfile : "",
           passfile ? "'" : "", CLIENTS, CLIENTS,
           roster__bench.quick ? "-t " : "-T ",
           roster__bench.quick ? 2000 : (int)(secs + 0.5), script,
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

/* rate_sample: a tool's rate as a run (ops 0 when it failed). */
static bench_sample rate_sample(double rate) {
  if (rate <= 0)
    return (bench_sample){.wall = 1};
  return (bench_sample){.wall = 1e6 / rate, .ops = 1000000, .threads = 1};
}

typedef struct pg_tool {
  const roster_url *u;
  const char *script, *passfile;
  double secs;
} pg_tool;

static bench_sample pg_tool_run(void *arg, uint64_t ops) {
  pg_tool *t = arg;
  (void)ops;
  return rate_sample(pgbench_rate(t->u, t->script, t->passfile, t->secs));
}

typedef struct slap_tool {
  const roster_url *u;
  const char *defaults;
  long n;
} slap_tool;

static bench_sample slap_tool_run(void *arg, uint64_t ops) {
  slap_tool *t = arg;
  (void)ops;
  return rate_sample(slap_rate(t->u, t->defaults, t->n));
}

/* ---- rows ---- */

static void print_row(const bench_case *c, const char *impl, const char *driver,
                      const char *mode, const char *protocol) {
  if (c->runs == 0)
    return;
  double rate = bench_rate(&c->best);
  if (roster__bench.json)
    printf("{\"impl\":\"%s\",\"driver\":\"%s\",\"op\":\"select1\","
           "\"clients\":%d,\"ops_per_sec\":%.0f,\"mode\":\"%s\","
           "\"protocol\":\"%s\",\"best_of\":%d}\n",
           impl, driver, CLIENTS, rate, mode, protocol,
           roster__bench.quick ? 1 : 3);
  else
    printf("%-13s %-11s %-8s %7d %12.0f  %-17s %s\n", impl, driver, "select1",
           CLIENTS, rate, mode, protocol);
  fflush(stdout);
}

/* duel runs roster (each client holding a connection, as the tools'
 * clients do; then borrowing one per query) and the tool (fn, when not
 * NULL) in turn, best of each. */
static void duel(const char *driver, roster_db *db, const char *tool,
                 bench_fn fn, void *arg, double secs, long *calibrate_n,
                 const char *tool_protocol) {
  roster_arg held = {db, true, secs, calibrate_n};
  roster_arg per_query = {db, false, secs, NULL};
  bench_case c[3] = {
      {.impl = "roster", .op = "held", .fn = sel_run, .arg = &held},
      {.impl = "roster", .op = "borrowed", .fn = sel_run, .arg = &per_query},
      {.impl = tool, .op = "select1", .fn = fn, .arg = arg},
  };
  roster__bench_measure(c, fn ? 3 : 2, roster__bench.quick ? 1 : 3);
  print_row(&c[0], "roster", driver, "conn_per_client", "prepared");
  print_row(&c[1], "roster", driver, "acquire_per_query", "prepared");
  if (fn)
    print_row(&c[2], tool, driver, "conn_per_client", tool_protocol);
  if (c[0].runs && fn && c[2].runs) {
    double r_held = bench_rate(&c[0].best), r_tool = bench_rate(&c[2].best);
    double r_query = c[1].runs ? bench_rate(&c[1].best) : -1;
    fprintf(roster__bench.out,
            "  %s select1, %d clients: roster / %s = %.2fx "
            "(%.0f vs %.0f per second), a connection per client; %.2fx "
            "borrowing one per query (%.0f)\n",
            driver, CLIENTS, tool, r_held / r_tool, r_held, r_tool,
            r_query / r_tool, r_query);
  }
}

/* ---- the servers ---- */

/* open_server opens a pool of CLIENTS connections to the server whose URL
 * the environment variable var holds (init registers its driver) and
 * parses the URL into *u (for the tool). false, with a line, when the
 * module is not built (init NULL), var is unset or the server cannot be
 * used. */
static bool open_server(int (*init)(void), const char *var, const char *driver,
                        roster_url **u, roster_db **db) {
  const char *url = getenv(var);
  if (!init) {
    fprintf(roster__bench.out,
            "select1 %s: skipped, this build has no %s module\n", driver,
            driver);
    return false;
  }
  if (!url || !*url) {
    fprintf(roster__bench.out,
            "select1 %s: skipped, %s is not set (make bench "
            "starts the servers; or scripts/services.sh start DIR "
            "and source DIR/env)\n",
            driver, var);
    return false;
  }
  (void)init();
  if (roster_url_parse(url, u)) {
    roster__bench_fail(1, "%s: %s", var, roster_last_error());
    return false;
  }
  char full[4200];
  snprintf(full, sizeof full, "%s%spool_max=%d&pool_min=%d", url,
           strchr(url, '?') ? "&" : "?", CLIENTS, CLIENTS);
  if (roster_db_open(full, &(roster_db_options){.name = "bench"}, db)) {
    roster__bench_fail(1, "cannot open the database: %s", roster_last_error());
    roster_url_free(*u);
    return false;
  }
  return true;
}

/* close_server frees what open_server made, and the tool's files. */
static void close_server(roster_url *u, roster_db *db, char (*files)[64],
                         size_t nfiles) {
  for (size_t i = 0; i < nfiles; i++)
    if (files[i][0])
      unlink(files[i]);
  roster_db_free(db);
  roster_url_free(u);
}

/* have_tool: whether the server's tool is there (else a line says that
 * only roster's rows are printed). */
static bool have_tool(const char *driver, const char *tool) {
  if (roster__bench_have_tool(tool))
    return true;
  fprintf(roster__bench.out,
          "select1 %s: %s is not installed; roster's row only\n", driver, tool);
  return false;
}

#if defined(ROSTER_BENCH_HAVE_PG)
#define PG_INIT roster_pg_init
#else
#define PG_INIT NULL
#endif
#if defined(ROSTER_BENCH_HAVE_MARIADB)
#define MARIADB_INIT roster_mariadb_init
#else
#define MARIADB_INIT NULL
#endif

static void bench_pg(double secs) {
  roster_url *u;
  roster_db *db;
  if (!open_server(PG_INIT, "ROSTER_TEST_PG_URL", "postgresql", &u, &db))
    return;
  char files[2][64] = {"", ""}, pass[1024]; /* the script, the passfile */
  bool tool = have_tool("postgresql", "pgbench");
  if (tool && !secret_file(files[0], sizeof files[0], "SELECT 1;\n"))
    tool = false;
  if (tool && u->password) {
    snprintf(pass, sizeof pass, "*:*:*:*:%s\n", u->password);
    if (!secret_file(files[1], sizeof files[1], pass))
      tool = false;
  }
  pg_tool pt = {u, files[0], files[1][0] ? files[1] : NULL, secs};
  duel("postgresql", db, "pgbench", tool ? pg_tool_run : NULL, &pt, secs, NULL,
       "prepared");
  close_server(u, db, files, 2);
}

static void bench_mariadb(double secs) {
  roster_url *u;
  roster_db *db;
  if (!open_server(MARIADB_INIT, "ROSTER_TEST_MARIADB_URL", "mariadb", &u, &db))
    return;
  char files[1][64] = {""}, text[2048]; /* the defaults file */
  bool tool = have_tool("mariadb", "mariadb-slap");
  snprintf(text, sizeof text,
           "[client]\nuser=%s\npassword=%s\nhost=%s\n"
           "port=%d\n",
           u->user ? u->user : "root", u->password ? u->password : "",
           u->host ? u->host : "127.0.0.1", u->port ? u->port : 3306);
  if (tool && !secret_file(files[0], sizeof files[0], text))
    tool = false;
  slap_tool st = {u, files[0], 2000};
  duel("mariadb", db, "mariadb-slap", tool ? slap_tool_run : NULL, &st, secs,
       &st.n, "text");
  close_server(u, db, files, 1);
}

void bench_db_select1(void) {
  double secs = roster__bench.quick ? 0.3 : 3.0;
  if (!roster__bench.json)
    printf("\nselect1: SELECT 1 round trips per second, %d clients, "
           "best of %d runs of %.1f s, interleaved with the server's tool\n"
           "%-13s %-11s %-8s %7s %12s  %-17s %s\n",
           CLIENTS, roster__bench.quick ? 1 : 3, secs, "impl", "driver", "op",
           "clients", "ops/s", "mode", "protocol");
  if (roster__bench.json)
    fprintf(roster__bench.out, "\nroster / the server's own tool, SELECT 1 per "
                               "second:\n");
  bench_pg(secs);
  bench_mariadb(secs);
}
