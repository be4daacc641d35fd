/* What the examples of docs/config.md take as given: a registry r, a
 * loaded config cfg, and the reader's own logger and web server. */
roster *r;
roster_config *cfg;
void *logger;
void set_log_level(void *logger, const char *level);
static const roster_type web_type;
int web_listen(int64_t port, void **out);
