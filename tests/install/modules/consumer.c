/*
 * consumer.c: a program outside the tree that uses an installed database
 * module (SQLite, in memory): the module's library, its .pc file and its
 * CMake target must be enough to build and run it. Exits 0 when
 * SELECT 40 + $1 with 2 comes back as 42.
 */
#include <roster.h>
#include <roster/sqlite.h>

#include <stdio.h>

int main(void) {
  roster_db *db;
  roster_db_result *res;
  int64_t v = 0;
  if (roster_sqlite_init() != ROSTER_OK ||
      roster_db_open("sqlite::memory:", NULL, &db) != ROSTER_OK) {
    fprintf(stderr, "consumer: %s\n", roster_last_error());
    return 1;
  }
  if (roster_db_query(db, "SELECT 40 + $1", ROSTER_DB_PARAMS(roster_db_int(2)),
                      &res) != ROSTER_OK ||
      roster_db_next(res) != 1 || roster_db_get_int(res, 0, &v) != ROSTER_OK) {
    fprintf(stderr, "consumer: %s\n", roster_last_error());
    return 1;
  }
  roster_db_result_free(res);
  roster_db_free(db);
  printf("consumer: SELECT 40 + 2 = %lld\n", (long long)v);
  return v == 42 ? 0 : 1;
}
