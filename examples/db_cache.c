/*
 * db_cache.c: a database and a cache without a registry. An in-memory
 * SQLite database gets a table and a query; a memory cache keeps the
 * query's answer, made once by a loader on the first miss (get-or-set).
 */
#include <stdio.h>

#include <roster.h>
#include <roster/sqlite.h>

/* count_users is the cache's loader: it runs on a miss, on the calling
 * thread, and fills out with the bytes to store. */
static int count_users(void *arg, const void *key, size_t key_len,
                       roster_cache_buf *out) {
  roster_db_result *res;
  int64_t n = 0;
  char text[24];
  (void)key, (void)key_len;
  printf("loading from the database\n");
  int rc = roster_db_query(arg, "SELECT count(*) FROM users", NULL, 0, &res);
  if (rc != ROSTER_OK)
    return rc;
  if ((rc = roster_db_next(res)) == 1) /* 1: a row, 0: the end */
    rc = roster_db_get_int(res, 0, &n);
  roster_db_result_free(res);
  if (rc != ROSTER_OK)
    return rc;
  int len = snprintf(text, sizeof text, "%lld", (long long)n);
  return roster_cache_buf_set(out, ROSTER_CACHE_BYTES, text, (size_t)len);
}

/* README.md shows from here */
static int run(roster_db *db, roster_cache *cache) {
  int rc = roster_db_exec(db, "CREATE TABLE users(name TEXT)", NULL, 0, NULL);
  for (int i = 0; rc == ROSTER_OK && i < 2; i++)
    rc = roster_db_exec(db, "INSERT INTO users(name) VALUES ($1)",
                        ROSTER_DB_PARAMS(roster_db_text(i ? "bob" : "ada")),
                        NULL);
  roster_cache_buf users = {0};
  for (int i = 0; rc == ROSTER_OK && i < 2; i++) { /* a miss, then a hit */
    rc = roster_cache_get_or_set(cache, "users", 5, 60000, count_users, db,
                                 &users);
    if (rc == ROSTER_OK)
      printf("users: %s\n", (const char *)users.data);
  }
  roster_cache_buf_close(&users);
  return rc;
}
/* README.md shows up to here */

int main(void) {
  roster_db *db = NULL;
  roster_cache *cache = NULL;

  roster_sqlite_init(); /* the sqlite:// scheme */
  int rc = roster_db_open("sqlite::memory:", NULL, &db);
  if (rc == ROSTER_OK)
    rc =
        roster_cache_open("memory://users?max_entries=100", NULL, NULL, &cache);
  if (rc == ROSTER_OK)
    rc = run(db, cache);
  if (rc != ROSTER_OK)
    fprintf(stderr, "db_cache: %s\n", roster_last_error());
  roster_cache_free(cache);
  roster_db_free(db);
  return rc == ROSTER_OK ? 0 : 1;
}
