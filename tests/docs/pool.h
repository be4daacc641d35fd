/* What the examples of docs/pool.md take as given: a module's connection
 * source and operations, a pool, and the reader's own types and
 * functions. */
typedef struct pg_src {
  const char *conninfo;
} pg_src;
pg_src *src;
static const roster_pool_ops pg_ops;
roster_pool *pool;
struct pg_conn; /* libpq's PGconn */
int run_query(struct pg_conn *conn);
typedef struct orders_db {
  roster_pool *pool;
} orders_db;
void my_log_warn(void *logger, const char *fmt, ...);
typedef struct app_pg {
  roster_pool *pool;
} app_pg;
