/*
 * bench_db.h: what roster-bench-db's two files share: bench_db.c (the
 * connection pool rows, options, main) and bench_db_sql.c (the SELECT 1
 * rows against real servers).
 */
#ifndef ROSTER_BENCH_DB_H
#define ROSTER_BENCH_DB_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define PROG "roster-bench-db"

typedef struct bench_db_opts {
  bool json;  /* JSON lines on stdout, the rest on stderr */
  bool quick; /* short runs, one of each (the smoke test) */
} bench_db_opts;

extern FILE *g_bench_out;       /* human text: stdout, or stderr with --json */
extern uint64_t g_bench_errors; /* runs that went wrong: exit 1 */

/* bench_sleep sleeps s seconds (restarting after signals). */
void bench_sleep(double s);

/* bench_db_select1 measures SELECT 1 through roster beside pgbench and
 * mariadb-slap, for the servers the environment names. */
void bench_db_select1(const bench_db_opts *o);

#endif
