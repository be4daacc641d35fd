/* What the examples of docs/lifecycle.md take as given: a registry r (app
 * in the scope examples), the provider p of the roster_provider example,
 * and the reader's own services and functions. */
roster *r;
roster *app;
roster *scope;
int depth;
roster_provider p;
const roster_deps *deps;
struct config {
  const char *db_path;
};
struct server {
  roster *r;
};
int accept_loop(struct server *s);
void serve_without_cache(void);
void page_someone(const char *service, const char *detail);
static const roster_type clock_type;
int fake_clock;
void run_test(roster *t);
void *req; /* an HTTP request */
void http_reply(void *req, int status, const char *type, const char *body);
