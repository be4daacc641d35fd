/*
 * log_pretty.c: interop with pino's tools. roster's lines are piped
 * through pino-pretty (npm, tests/interop/node_modules) and the test checks
 * what it prints: the level label, the UTC time of the line, name and pid,
 * the message with its escapes decoded (quotes, tabs, newlines, non-ASCII,
 * the U+FFFD of an invalid byte), bound and call fields with their types,
 * and that no line came back raw (pino-pretty echoes a line it cannot
 * parse unchanged).
 *
 * Usage: log_pretty <path to pino-pretty>. Exits 77 (skipped) when
 * pino-pretty or node is missing, unless ROSTER_TEST_REQUIRE_SERVERS=1
 * (make test, CI), where a missing peer is a failure.
 */
#include "testutil.h"

#include <jansson.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *pretty_path;

/* capture: the raw lines, to know each line's time */
typedef struct raw {
  size_t n;
  char *v[32];
} raw;

static void raw_cb(int level, const char *line, size_t len, void *arg) {
  (void)level;
  raw *r = arg;
  if (r->n < 32)
    r->v[r->n++] = strndup(line, len);
}

/* utc_of writes "[yyyy-mm-dd HH:MM:ss.lll]" for line's time. */
static void utc_of(const char *line, char *out, size_t cap) {
  json_t *j = json_loads(line, 0, NULL);
  assert_non_null(j);
  json_int_t ms = json_integer_value(json_object_get(j, "time"));
  json_decref(j);
  time_t s = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&s, &tm);
  char d[32];
  strftime(d, sizeof d, "%Y-%m-%d %H:%M:%S", &tm);
  snprintf(out, cap, "[%s.%03d]", d, (int)(ms % 1000));
}

/* has_line: does text hold a line equal to want? */
static bool has_line(const char *text, const char *want) {
  size_t wl = strlen(want);
  for (const char *p = text; p && *p;) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    if (len == wl && !memcmp(p, want, wl))
      return true;
    p = nl ? nl + 1 : NULL;
  }
  return false;
}

#define assert_has_line(text, want)                                            \
  do {                                                                         \
    if (!has_line((text), (want))) {                                           \
      print_error("pino-pretty printed no line\n  %s\nin:\n%s\n", (want),      \
                  (text));                                                     \
      fail();                                                                  \
    }                                                                          \
  } while (0)

static void test_pino_pretty_reads_roster(void **state) {
  (void)state;
  int in[2], out[2];
  assert_int_equal(pipe(in), 0);
  assert_int_equal(pipe(out), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(in[0], STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    close(in[0]);
    close(in[1]);
    close(out[0]);
    close(out[1]);
    execl(pretty_path, pretty_path, "--translateTime",
          "UTC:yyyy-mm-dd HH:MM:ss.l", (char *)NULL);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);

  raw r = {0};
  roster_log_sink sinks[] = {
      {.kind = ROSTER_LOG_SINK_FD, .fd = in[1]},
      {.kind = ROSTER_LOG_SINK_CALLBACK, .fn = raw_cb, .arg = &r}};
  roster_log *log = NULL;
  assert_ok(roster_log_new(&(roster_log_options){.name = "interop",
                                                 .level = ROSTER_LOG_TRACE,
                                                 .sinks = sinks,
                                                 .nsinks = 2},
                           &log));
  assert_non_null(log);
  roster_log *cache = NULL;
  assert_ok(
      roster_log_child(log, RL_FIELDS(RL_STR("service", "cache")), &cache));
  json_t *tree = json_pack("{s:[i,i]}", "ids", 1, 2);
  RL_INFO_F(cache,
            RL_FIELDS(RL_STR("user", "alice"), RL_INT("status", 200),
                      RL_DBL("latency", 12.5), RL_BOOL("cached", true),
                      RL_JSON("tree", tree)),
            "request %d handled", 7);
  json_decref(tree);
  RL_WARN(log,
          "quote \" back\\slash\ttab caf\xc3\xa9 \xf0\x9f\x98\x80 bad \xff.");
  RL_TRACE(log, "at trace");
  RL_DEBUG(log, "at debug");
  RL_ERROR(log, "first line\nsecond line");
  RL_FATAL(log, "at fatal");
  roster_log_free(cache);
  roster_log_free(log);
  close(in[1]); /* EOF for pino-pretty */

  size_t cap = 65536, got = 0;
  char *text = calloc(1, cap);
  ssize_t n;
  while (got < cap - 1 && (n = read(out[0], text + got, cap - 1 - got)) > 0)
    got += (size_t)n;
  close(out[0]);
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    print_error("pino-pretty exited with status %d; it printed:\n%s\n", status,
                text);
    fail();
  }
  assert_int_equal(r.n, 6);

  char t[40], want[512];
  int me = (int)getpid();
  utc_of(r.v[0], t, sizeof t);
  snprintf(want, sizeof want, "%s INFO (interop/%d): request 7 handled", t, me);
  assert_has_line(text, want);
  assert_has_line(text, "    service: \"cache\"");
  assert_has_line(text, "    user: \"alice\"");
  assert_has_line(text, "    status: 200");
  assert_has_line(text, "    latency: 12.5");
  assert_has_line(text, "    cached: true");
  assert_has_line(text, "    tree: {");
  assert_has_line(text, "      \"ids\": [");

  utc_of(r.v[1], t, sizeof t);
  snprintf(want, sizeof want,
           "%s WARN (interop/%d): quote \" back\\slash\ttab caf\xc3\xa9 "
           "\xf0\x9f\x98\x80 bad \xef\xbf\xbd.",
           t, me);
  assert_has_line(text, want);

  const char *labels[] = {"TRACE", "DEBUG", "ERROR", "FATAL"};
  const char *msgs[] = {"at trace", "at debug", "first line", "at fatal"};
  for (int i = 0; i < 4; i++) {
    utc_of(r.v[2 + i], t, sizeof t);
    snprintf(want, sizeof want, "%s %s (interop/%d): %s", t, labels[i], me,
             msgs[i]);
    assert_has_line(text, want);
  }
  assert_has_line(text, "second line");

  /* every line was understood: none came back as raw JSON */
  assert_null(strstr(text, "{\"level\""));
  for (size_t i = 0; i < r.n; i++)
    free(r.v[i]);
  free(text);
}

int main(int argc, char **argv) {
  pretty_path = argc > 1 ? argv[1] : "";
  bool required = getenv("ROSTER_TEST_REQUIRE_SERVERS") &&
                  !strcmp(getenv("ROSTER_TEST_REQUIRE_SERVERS"), "1");
  if (access(pretty_path, X_OK) != 0 ||
      system("command -v node >/dev/null 2>&1") != 0) {
    fprintf(stderr,
            "log_pretty: pino-pretty ('%s') or node is missing; "
            "run scripts/npm.sh\n",
            pretty_path);
    return required ? 1 : 77;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pino_pretty_reads_roster),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
