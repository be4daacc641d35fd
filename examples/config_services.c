/*
 * config_services.c: services declared in a config file
 * (config_services.yaml: a SQLite database and a memory cache), started,
 * found by name with their types checked, used, and shut down.
 *
 *   config_services [FILE]    FILE: config_services.yaml by default
 */
#include <stdio.h>

#include <roster.h>
#include <roster/sqlite.h>

/* README.md shows from here */
static int run(roster *r, roster_config *cfg) {
  int rc = roster_config_load(cfg); /* the file, then APP_* variables */
  if (rc == ROSTER_OK)
    rc = roster_config_provide_services(r, cfg); /* one per entry */
  if (rc == ROSTER_OK)
    rc = roster_start(r, 10000); /* dependency order; 10 s at most */
  if (rc != ROSTER_OK)
    return rc;

  roster_db *db;
  roster_cache *cache;
  if ((rc = roster_db_find(r, NULL, "db", &db)) != ROSTER_OK ||
      (rc = roster_cache_find(r, NULL, "cache", &cache)) != ROSTER_OK)
    return rc;

  int64_t visits;
  if ((rc = roster_db_ping(db)) != ROSTER_OK ||
      (rc = roster_cache_incr(cache, "visits", 6, &visits)) != ROSTER_OK)
    return rc;
  printf("db on %s, cache on %s, visits: %lld\n", roster_db_driver_name(db),
         roster_cache_scheme(cache), (long long)visits);
  return roster_shutdown(r, 10000); /* reverse order */
}
/* README.md shows up to here */

int main(int argc, char **argv) {
  const char *files[] = {argc > 1 ? argv[1] : "config_services.yaml", NULL};
  roster *r;
  roster_config *cfg;

  roster_sqlite_init(); /* the sqlite:// scheme */
  if (roster_new(NULL, &r) != ROSTER_OK)
    return 1;
  int rc = roster_config_new(
      &(roster_config_options){.files = files, .env_prefix = "APP"}, &cfg);
  if (rc == ROSTER_OK) {
    rc = run(r, cfg);
    roster_config_free(cfg);
  }
  if (rc != ROSTER_OK)
    fprintf(stderr, "config_services: %s\n", roster_last_error());
  roster_free(r);
  return rc == ROSTER_OK ? 0 : 1;
}
