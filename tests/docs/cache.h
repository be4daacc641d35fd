/* What the examples of docs/cache.md take as given: a registry r, an open
 * cache c, a Redis client cli, and the reader's own data and functions. */
roster *r;
roster_cache *c;
struct roster_redis *cli;
int n;
const char *keys[8];
size_t lens[8];
void use(const void *data, size_t len);
const char *ip; /* a client's address, the rate limiter's key */
size_t ip_len;
int http_429(int64_t retry_ms);
void build_report(void);
void log_warn(const char *msg);
typedef struct db db;
db *d;
struct json_t *db_user_json(db *d, const void *key, size_t len);

/* The conformance suite's example (tests/lib/cache_suite.h). */
struct cache_suite_env;
roster_cache *open_fresh_prefix(const struct cache_suite_env *env);
roster_cache *open_same_prefix(const struct cache_suite_env *env,
                               roster_cache *c);
void sleep_ms(const struct cache_suite_env *env, roster_cache *c, int64_t ms);
