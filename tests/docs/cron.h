/* What the examples of docs/cron.md take as given: a registry r, a
 * scheduler s, and the reader's own application, jobs and event log. */
roster *r;
roster_sched *s;
struct app;
struct app *app;
int send_report(struct app *app);
int beat(void *app);
int purge(void *db);
int job(void *arg);
void log_job_event(const roster_job_event *ev, void *arg);
void record(const roster_job_event *ev, void *arg);
