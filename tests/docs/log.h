/* What the examples of docs/log.md take as given: a registry r, a logger
 * log, and the reader's own request and state. */
roster *r;
roster_log *log;
const char *name;
int n;
struct request {
  const char *path;
};
struct request *req;
double elapsed;
bool hit;
void *state;
char *describe(void *state);
