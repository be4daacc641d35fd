/* What the examples of docs/redis.md take as given: a registry r, a Redis
 * client cli, and the reader's own keys and values. */
roster *r;
roster_redis *cli;
const char *key, *value;
size_t key_len, value_len;
int n;
const char *pages[8];
