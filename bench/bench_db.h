/*
 * bench_db.h: what roster-bench-db's two files share: bench_db.c (the
 * connection pool rows, main) calls bench_db_sql.c's SELECT 1 rows against
 * real servers. Both use the harness (bench.h).
 */
#ifndef ROSTER_BENCH_DB_H
#define ROSTER_BENCH_DB_H

/* bench_db_select1 measures SELECT 1 through roster beside pgbench and
 * mariadb-slap, for the servers the environment names. */
void bench_db_select1(void);

#endif
