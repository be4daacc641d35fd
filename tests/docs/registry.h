/* What the examples of docs/registry.md take as given: a registry r, a
 * second registry hub with duplicate keys (a chat server's rooms), and the
 * reader's own types, objects and functions. */
roster *r;
roster *hub;
roster_owner *conn; /* one client connection of the chat server */
int rc;
void *p;
void *log; /* a logger */
const char *test_ns;
const char *key;
uint64_t id;
void *members[16];
size_t n;

struct pool {
  const char *name;
  int idle;
};
static const roster_type pool_type;
struct pool *pool;
void pool_free(void *pool);
int pool_query(struct pool *pool, const char *sql);
void run_slow_query(void *pool);

static const roster_type logger_type;
static const roster_type cache_type;
void cache_peek(void *cache, const char *key);
void use_no_cache(void);
static const roster_type clock_type;
void *fake_clock;

static const roster_type member_type;
void *member;
void member_send(void *member, void *msg);
void *msg;

/* The placeholders of the ROSTER_TYPED synopsis. */
typedef struct ctype ctype;
static const roster_type desc;
