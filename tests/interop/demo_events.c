/*
 * demo_events.c: roster-demo's optional MongoDB store. The demo runs for
 * a few seconds with DEMO_SERVICE_EVENTS_URL naming a database of its own
 * on the shared test server ($ROSTER_TEST_MONGODB_URL: CongoDB, started
 * by scripts/services.sh); then the visit job's events are read back from
 * the collection demo_events through roster's MongoDB API, and the
 * database is dropped.
 *
 * Skipped when ROSTER_TEST_MONGODB_URL is unset, unless
 * ROSTER_TEST_REQUIRE_SERVERS=1, which makes it fail instead.
 * Usage: demo_events <roster-demo> <scratch dir>
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <roster/mongodb.h>

static const char *demo, *work;

/* events_url: the server's URL with the database db instead of its own
 * (and its query kept). */
static void events_url(const char *server, const char *db, char *out,
                       size_t cap) {
  const char *host = strstr(server, "://");
  assert_non_null(host);
  host += 3;
  size_t hl = strcspn(host, "/?");
  const char *q = strchr(host + hl, '?');
  snprintf(out, cap, "%.*s/%s%s", (int)(host + hl - server), server, db,
           q ? q : "");
}

/* run_demo runs the demo with the events URL for 4 s, its output into
 * out_path; returns its wait status. */
static int run_demo(const char *url, const char *out_path) {
  char url_env[1300], data_env[1300];
  snprintf(url_env, sizeof url_env, "DEMO_SERVICE_EVENTS_URL=%s", url);
  snprintf(data_env, sizeof data_env, "DEMO_DATA_DIR=%s", work);
  /* no other DEMO_ setting of ours */
  const char *add[] = {url_env,
                       data_env,
                       "DEMO_SECONDS=4",
                       "DEMO_CHAT__PORT=0",
                       "DEMO_ADMIN__PORT=0",
                       NULL};
  char **env = roster__tu_env_with("DEMO_", add);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out_path,
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  char *argv[] = {(char *)demo, NULL};
  pid_t pid;
  assert_int_equal(posix_spawn(&pid, demo, &fa, NULL, argv, env), 0);
  posix_spawn_file_actions_destroy(&fa);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  free(env);
  return st;
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  static char buf[1 << 20];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static void t_events(void **state) {
  (void)state;
  const char *server = roster__tu_server_url("MONGODB");
  if (!server)
    return;
  mkdir(work, 0755);
  char db[64], url[1200], out_path[1200];
  roster__tu_unique_name(db, sizeof db, "demo_events");
  events_url(server, db, url, sizeof url);
  snprintf(out_path, sizeof out_path, "%s/demo.out", work);
  int st = run_demo(url, out_path);
  const char *out = slurp(out_path);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
      !strstr(out, "demo: clean shutdown"))
    print_error("the demo printed:\n%s\n", out);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  assert_contains(out, "services.events.url = mongodb://");
  char said[160];
  snprintf(said, sizeof said,
           "visit 1: event written to MongoDB (%s.demo_events)", db);
  assert_contains(out, said);

  /* the events, read back from MongoDB */
  roster_mongodb *m = NULL;
  assert_ok(roster_mongodb_new(&(roster_mongodb_options){.url = url}, &m));
  json_t *filter = json_pack("{s:s}", "kind", "visit");
  json_t *sort = json_pack("{s:i}", "n", 1);
  json_t *docs = NULL;
  assert_ok(roster_mongodb_query_all(
      m, "demo_events",
      &(roster_mongodb_query_opts){.filter = filter, .sort = sort}, &docs));
  assert_true(json_array_size(docs) >= 1);
  json_t *first = json_array_get(docs, 0);
  assert_int_equal(json_integer_value(json_object_get(first, "n")), 1);
  assert_string_equal(json_string_value(json_object_get(first, "note")),
                      "visit 1");
  assert_true(json_is_integer(json_object_get(first, "at_ms")));
  /* one event per visit the demo reported */
  int visits = 0;
  for (const char *p = out; (p = strstr(p, "event written to MongoDB")); p++)
    visits++;
  assert_int_equal((int)json_array_size(docs), visits);
  json_decref(docs);
  json_decref(filter);
  json_decref(sort);
  json_t *drop = json_pack("{s:i}", "dropDatabase", 1);
  assert_ok(roster_mongodb_command(m, drop, NULL));
  json_decref(drop);
  roster_mongodb_free(m);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: demo_events <roster-demo> <scratch dir>\n");
    return 2;
  }
  demo = argv[1];
  work = argv[2];
  const struct CMUnitTest tests[] = {cmocka_unit_test(t_events)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
