/* What the examples of README.md take as given: the registry r of the
 * first example, and the reader's own types and functions. */
roster *r;
void cache_free(void *cache);
void *cache; /* the reader's cache object */
void *c;
static const roster_type config_type;
int config_load(void *arg, const roster_deps *deps, void **out);
static const roster_type db_type;
void db_close(void *arg, void *db);
int db_ping(void *arg, void *db);
