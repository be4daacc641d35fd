/*
 * test_log_sinks.c: the sinks. A file is appended to; reopen (by call and
 * by SIGHUP) moves writing to a new file at the same path without losing
 * or splitting a line, also while threads write; a failed reopen keeps the
 * old file; stdout, stderr and fd sinks get whole lines; callback sinks get
 * the line without its newline and may not recurse; sinks come and go
 * while threads log, and a removed sink is never called again; write
 * errors are counted and reported while other sinks still get the line;
 * journald gets its native datagrams; bad sinks are refused.
 */
#include "log_testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static char tmpdir[256];

static int setup(void **state) {
  (void)state;
  umask(022);
  snprintf(tmpdir, sizeof tmpdir, "/tmp/roster_log_sinks_XXXXXX");
  return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  return system(cmd) == 0 ? 0 : -1;
}

static void path_of(char *buf, size_t cap, const char *name) {
  snprintf(buf, cap, "%s/%s", tmpdir, name);
}

/* read_file returns the file's bytes (malloc'd, NUL-terminated). */
static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  size_t got = fread(s, 1, (size_t)n, f);
  s[got] = '\0';
  fclose(f);
  return s;
}

/* count_lines checks that every line of text is a JSON object ending in
 * '\n' and returns how many there are; *msg_with counts those whose msg
 * equals want (if want is not NULL). */
static size_t count_lines(const char *text, const char *want,
                          size_t *msg_with) {
  size_t n = 0;
  if (msg_with)
    *msg_with = 0;
  const char *p = text;
  while (*p) {
    const char *nl = strchr(p, '\n');
    if (!nl) {
      print_error("unterminated line: %s\n", p);
      fail();
    }
    json_error_t err;
    json_t *j = json_loadb(p, (size_t)(nl - p), 0, &err);
    if (!j) {
      print_error("not JSON (%s): %.*s\n", err.text, (int)(nl - p), p);
      fail();
    }
    if (want && msg_with && lt_str(j, "msg") && !strcmp(lt_str(j, "msg"), want))
      (*msg_with)++;
    json_decref(j);
    n++;
    p = nl + 1;
  }
  return n;
}

static void test_file_append_and_reopen(void **state) {
  (void)state;
  char path[300], moved[300];
  path_of(path, sizeof path, "app.log");
  path_of(moved, sizeof moved, "app.log.1");
  FILE *f = fopen(path, "w");
  fputs("{\"old\":true}\n", f);
  fclose(f);
  roster_log_options o = {.file = path};
  roster_log *log = lt_new(&o);
  RL_INFO(log, "one");
  RL_INFO(log, "two");
  assert_int_equal(rename(path, moved), 0);
  RL_INFO(log, "three"); /* still the old file: not reopened yet */
  assert_ok(roster_log_reopen(log));
  RL_INFO(log, "four");
  roster_log_free(log);

  char *old = read_file(moved), *cur = read_file(path);
  assert_non_null(old);
  assert_non_null(cur);
  assert_true(strncmp(old, "{\"old\":true}\n", 13) == 0);
  assert_int_equal(count_lines(old, NULL, NULL), 4);
  assert_contains(old, "\"msg\":\"one\"");
  assert_contains(old, "\"msg\":\"three\"");
  assert_int_equal(count_lines(cur, NULL, NULL), 1);
  assert_contains(cur, "\"msg\":\"four\"");
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0644); /* umask 022, from setup */
  free(old);
  free(cur);
}

#define RW_THREADS 3
#define RW_LINES 4000

typedef struct rw_arg {
  roster_log *log;
  atomic_int errors;
} rw_arg;

static void *rw_writer(void *p) {
  rw_arg *a = p;
  for (int i = 0; i < RW_LINES; i++)
    if (roster_log_write(a->log, ROSTER_LOG_INFO,
                         RL_FIELDS(RL_INT("i", i),
                                   RL_STR("pad", "xxxxxxxxxxxxxxxxxxxxxxxx"
                                                 "xxxxxxxxxxxxxxxxxxxxxxxx")),
                         "rw") != ROSTER_OK)
      atomic_fetch_add(&a->errors, 1);
  return NULL;
}

static void reopen_while_writing(bool async) {
  char path[300];
  path_of(path, sizeof path, async ? "rw_async.log" : "rw_sync.log");
  roster_log_options o = {
      .file = path, .async = async, .block = true, .queue_lines = 256};
  roster_log *log = lt_new(&o);
  rw_arg a = {.log = log};
  pthread_t th[RW_THREADS];
  for (int t = 0; t < RW_THREADS; t++)
    assert_int_equal(pthread_create(&th[t], NULL, rw_writer, &a), 0);
  int rotations = 0;
  for (int r = 0; r < 20; r++) {
    char moved[320];
    snprintf(moved, sizeof moved, "%s.%d", path, r);
    if (rename(path, moved) != 0)
      break;
    rotations++;
    assert_ok(roster_log_reopen(log));
    roster__tu_sleep_ms(1);
  }
  for (int t = 0; t < RW_THREADS; t++)
    pthread_join(th[t], NULL);
  assert_int_equal(atomic_load(&a.errors), 0);
  roster_log_free(log);
  /* every line is in exactly one of the files, whole */
  size_t total = 0;
  for (int r = 0; r <= rotations; r++) {
    char name[320];
    if (r == rotations)
      snprintf(name, sizeof name, "%s", path);
    else
      snprintf(name, sizeof name, "%s.%d", path, r);
    char *text = read_file(name);
    assert_non_null(text);
    size_t with;
    size_t n = count_lines(text, "rw", &with);
    assert_int_equal(n, with);
    total += n;
    free(text);
  }
  assert_int_equal(rotations, 20);
  assert_int_equal(total, RW_THREADS * RW_LINES);
}

static void test_reopen_while_writing(void **state) {
  (void)state;
  reopen_while_writing(false);
  reopen_while_writing(true);
}

/* probe_landed logs a "probe" line and says whether path holds one: the
 * logger writes to path's file now. */
static bool probe_landed(roster_log *log, const char *path) {
  RL_INFO(log, "probe");
  char *text = read_file(path);
  bool in = text && strstr(text, "\"msg\":\"probe\"");
  free(text);
  return in;
}

static void test_reopen_on_sighup(void **state) {
  (void)state;
  char path[300], moved[300];
  path_of(path, sizeof path, "hup.log");
  path_of(moved, sizeof moved, "hup.log.1");
  roster_log_options o = {.file = path, .reopen_on_sighup = true};
  roster_log *log = lt_new(&o);
  assert_ok(roster_log_reopen_on_sighup(log)); /* again: a no-op */
  RL_INFO(log, "before");
  assert_int_equal(rename(path, moved), 0);
  assert_int_equal(kill(getpid(), SIGHUP), 0);
  /* The signal thread reopens, asynchronously: the path comes back when it
   * opens the file, and lines go there once it has swapped the sink's
   * descriptor; lines logged in between go to the old file, whole. Until a
   * probe line lands in the new file, the switch may not have happened. */
  tu_wait_until(probe_landed(log, path), LC_LONG_MS);
  RL_INFO(log, "after");
  roster_log_free(log); /* removes the watch */
  char *old = read_file(moved), *cur = read_file(path);
  assert_non_null(old);
  assert_non_null(cur);
  size_t before, after, probes_old, probes_cur;
  size_t n_old = count_lines(old, "before", &before);
  count_lines(old, "after", &after);
  assert_int_equal(before, 1);
  assert_int_equal(after, 0);
  count_lines(old, "probe", &probes_old);
  assert_int_equal(n_old, 1 + probes_old); /* before, and probes only */
  size_t n_cur = count_lines(cur, "after", &after);
  assert_int_equal(after, 1);
  count_lines(cur, "probe", &probes_cur);
  assert_int_equal(probes_cur, 1); /* the wait stops at the first */
  assert_int_equal(n_cur, 2);
  /* the last line is "after" */
  assert_true(strstr(cur, "\"msg\":\"after\"") > strstr(cur, "\"probe\""));
  free(old);
  free(cur);
}

static void test_reopen_failure_keeps_file(void **state) {
  (void)state;
  char dir[300], path[320], moved[300], mpath[340];
  path_of(dir, sizeof dir, "sub");
  path_of(moved, sizeof moved, "sub.gone");
  assert_int_equal(mkdir(dir, 0755), 0);
  snprintf(path, sizeof path, "%s/x.log", dir);
  roster_log *log = lt_new(&(roster_log_options){.file = path});
  assert_int_equal(rename(dir, moved), 0);
  assert_rc(roster_log_reopen(log), ROSTER_ESYS);
  assert_contains(roster_last_error(), path);
  assert_contains(roster_last_error(), "No such file or directory");
  RL_INFO(log, "kept");
  roster_log_free(log);
  snprintf(mpath, sizeof mpath, "%s/x.log", moved);
  char *text = read_file(mpath);
  assert_contains(text, "\"msg\":\"kept\"");
  free(text);

  /* a file that cannot be opened at all */
  roster_log_options o = {.file = "/nonexistent-dir/roster/x.log"};
  assert_new_fails(roster_log, roster_log_new(&o, &bad_));
  assert_int_equal(roster_last_code(), ROSTER_ESYS);
  assert_contains(roster_last_error(), "/nonexistent-dir/roster/x.log");
}

/* capture runs a write to the stdout or stderr sink with that
 * descriptor pointed at a pipe, and returns what arrived. */
static char *capture(int target, roster_log_sink_kind kind) {
  int p[2];
  assert_int_equal(pipe(p), 0);
  fflush(NULL);
  int saved = dup(target);
  assert_int_equal(dup2(p[1], target), target);
  roster_log_sink s = {.kind = kind};
  roster_log *log = lt_new(&(roster_log_options){.sinks = &s, .nsinks = 1});
  RL_INFO_F(log, RL_FIELDS(RL_INT("fd", target)), "to %d", target);
  roster_log_free(log);
  dup2(saved, target);
  close(saved);
  close(p[1]);
  char *buf = calloc(1, 4096);
  size_t got = 0;
  ssize_t n;
  while ((n = read(p[0], buf + got, 4095 - got)) > 0)
    got += (size_t)n;
  close(p[0]);
  return buf;
}

static void test_std_and_fd_sinks(void **state) {
  (void)state;
  char *out = capture(STDOUT_FILENO, ROSTER_LOG_SINK_STDOUT);
  assert_int_equal(count_lines(out, NULL, NULL), 1);
  assert_contains(out, "\"msg\":\"to 1\",\"fd\":1}\n");
  free(out);
  char *err = capture(STDERR_FILENO, ROSTER_LOG_SINK_STDERR);
  assert_int_equal(count_lines(err, NULL, NULL), 1);
  assert_contains(err, "\"msg\":\"to 2\",\"fd\":2}\n");
  free(err);
  /* the default logger writes to stdout */
  int p[2];
  assert_int_equal(pipe(p), 0);
  fflush(NULL);
  int saved = dup(STDOUT_FILENO);
  dup2(p[1], STDOUT_FILENO);
  roster_log *log = lt_new(NULL);
  RL_INFO(log, "default");
  roster_log_free(log);
  dup2(saved, STDOUT_FILENO);
  close(saved);
  close(p[1]);
  char buf[1024] = {0};
  assert_true(read(p[0], buf, sizeof buf - 1) > 0);
  close(p[0]);
  assert_contains(buf, "\"msg\":\"default\"}\n");
}

static void test_write_errors_counted(void **state) {
  (void)state;
  lt_lines l;
  lt_init(&l);
  int ro = open("/dev/null", O_RDONLY); /* write(2) fails: EBADF */
  assert_true(ro >= 0);
  roster_log_sink sinks[] = {{.kind = ROSTER_LOG_SINK_FD, .fd = ro},
                             lt_sink(&l, 0)};
  roster_log *log = lt_new(&(roster_log_options){.sinks = sinks, .nsinks = 2});
  assert_rc(roster_log_write(log, ROSTER_LOG_INFO, RL_NONE, "x"), ROSTER_EIO);
  assert_contains(roster_last_error(), "fd sink");
  assert_contains(roster_last_error(), "Bad file descriptor");
  assert_int_equal(lt_count(&l), 1); /* the other sink still got it */
  roster_log_stats st;
  assert_ok(roster_log_stats_get(log, &st));
  assert_int_equal(st.errors, 1);
  assert_int_equal(st.written, 1);
  assert_rc(roster_log_stats_get(log, NULL), ROSTER_EINVAL);
  roster_log_free(log);
  close(ro);
  lt_fini(&l);
}

static roster_log *recursing_log;
static uint64_t recursing_sink;
static atomic_int recursive_rc;

static void recursing_cb(int level, const char *line, size_t len, void *arg) {
  lt_cb(level, line, len, arg);
  /* logging to the same tree from a sink is ignored, not recursed */
  roster_log *child = NULL;
  assert_ok(roster_log_child(recursing_log, RL_NONE, &child));
  RL_ERROR(child, "from inside the sink");
  roster_log_free(child);
  atomic_store(&recursive_rc,
               roster_log_sink_remove(recursing_log, recursing_sink));
}

static void test_callback_no_recursion(void **state) {
  (void)state;
  lt_lines l;
  lt_init(&l);
  roster_log_sink s = {
      .kind = ROSTER_LOG_SINK_CALLBACK, .fn = recursing_cb, .arg = &l};
  recursing_log = lt_new(&(roster_log_options){.sinks = &s, .nsinks = 1});
  roster_log_sink s2 = lt_sink(&l, 0);
  assert_ok(roster_log_sink_add(recursing_log, &s2, &recursing_sink));
  RL_INFO(recursing_log, "outer");
  /* two sinks got "outer"; the inner line went nowhere */
  assert_int_equal(lt_count(&l), 2);
  assert_contains(lt_line(&l, 0), "\"outer\"");
  assert_contains(lt_line(&l, 1), "\"outer\"");
  assert_int_equal(atomic_load(&recursive_rc), ROSTER_ESTATE);
  roster_log_free(recursing_log);
  lt_fini(&l);
}

#define SR_THREADS 3

typedef struct sr_arg {
  roster_log *log;
  atomic_bool stop;
  atomic_int errors;
} sr_arg;

static void *sr_writer(void *p) {
  sr_arg *a = p;
  while (!atomic_load(&a->stop))
    if (roster_log_write(a->log, ROSTER_LOG_INFO, RL_NONE, "tick") != ROSTER_OK)
      atomic_fetch_add(&a->errors, 1);
  return NULL;
}

typedef struct counted {
  atomic_long calls;
  atomic_int freed;
  atomic_long calls_after_free;
} counted;

static void counted_cb(int level, const char *line, size_t len, void *arg) {
  (void)level;
  counted *c = arg;
  if (atomic_load(&c->freed))
    atomic_fetch_add(&c->calls_after_free, 1);
  if (len == 0 || line[len] != '\0' || line[len - 1] != '}')
    atomic_fetch_add(&c->calls_after_free, 1000000); /* malformed */
  atomic_fetch_add(&c->calls, 1);
}

static void counted_free(void *arg) {
  counted *c = arg;
  atomic_store(&c->freed, 1);
}

static void sinks_come_and_go(bool async) {
  int null = open("/dev/null", O_WRONLY);
  roster_log_sink base = {.kind = ROSTER_LOG_SINK_FD, .fd = null};
  roster_log *log = lt_new(&(roster_log_options){
      .sinks = &base, .nsinks = 1, .async = async, .block = true});
  sr_arg a = {.log = log};
  pthread_t th[SR_THREADS];
  for (int t = 0; t < SR_THREADS; t++)
    assert_int_equal(pthread_create(&th[t], NULL, sr_writer, &a), 0);
  for (int round = 0; round < 50; round++) {
    counted c = {0};
    roster_log_sink s = {.kind = ROSTER_LOG_SINK_CALLBACK,
                         .fn = counted_cb,
                         .arg = &c,
                         .free_arg = counted_free};
    uint64_t id;
    assert_ok(roster_log_sink_add(log, &s, &id));
    tu_wait_until(atomic_load(&c.calls) > 0, LC_LONG_MS);
    assert_true(atomic_load(&c.calls) > 0);
    assert_ok(roster_log_sink_remove(log, id));
    /* removed: free_arg has run, and the callback never runs again */
    assert_int_equal(atomic_load(&c.freed), 1);
    long calls = atomic_load(&c.calls);
    roster__tu_sleep_ms(1);
    assert_int_equal(atomic_load(&c.calls), calls);
    assert_int_equal(atomic_load(&c.calls_after_free), 0);
    assert_rc(roster_log_sink_remove(log, id), ROSTER_ENOENT);
  }
  atomic_store(&a.stop, true);
  for (int t = 0; t < SR_THREADS; t++)
    pthread_join(th[t], NULL);
  assert_int_equal(atomic_load(&a.errors), 0);
  roster_log_free(log);
  close(null);
}

static void test_sinks_come_and_go(void **state) {
  (void)state;
  sinks_come_and_go(false);
  sinks_come_and_go(true);
}

static void test_bad_sinks(void **state) {
  (void)state;
  lt_lines l;
  lt_init(&l);
  roster_log *log = lt_logger(&l, 0);
  roster_log_sink bad[] = {
      {.kind = (roster_log_sink_kind)99},
      {.kind = ROSTER_LOG_SINK_FILE},
      {.kind = ROSTER_LOG_SINK_FILE, .path = ""},
      {.kind = ROSTER_LOG_SINK_CALLBACK},
      {.kind = ROSTER_LOG_SINK_FD, .fd = -1},
      {.kind = ROSTER_LOG_SINK_CALLBACK,
       .fn = lt_cb,
       .arg = &l,
       .free_arg = lt_free_arg,
       .level = 12},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    uint64_t id = 77;
    assert_rc(roster_log_sink_add(log, &bad[i], &id), ROSTER_EINVAL);
    assert_int_equal(id, 77);
    assert_new_fails(
        roster_log,
        roster_log_new(&(roster_log_options){.sinks = &bad[i], .nsinks = 1},
                       &bad_));
    assert_int_equal(roster_last_code(), ROSTER_EINVAL);
  }
  assert_int_equal(atomic_load(&l.frees), 0); /* a failed call never frees */
  assert_rc(roster_log_sink_add(log, NULL, NULL), ROSTER_EINVAL);
  assert_rc(roster_log_sink_add(NULL, &bad[0], NULL), ROSTER_EINVAL);
  assert_rc(roster_log_sink_remove(log, 12345), ROSTER_ENOENT);
  /* a failing sink in the middle of a list: nothing is kept, no free_arg */
  lt_lines l2;
  lt_init(&l2);
  roster_log_sink list[] = {
      lt_sink(&l2, 0),
      {.kind = ROSTER_LOG_SINK_FILE, .path = "/nonexistent-dir/x.log"}};
  assert_new_fails(
      roster_log,
      roster_log_new(&(roster_log_options){.sinks = list, .nsinks = 2}, &bad_));
  assert_int_equal(roster_last_code(), ROSTER_ESYS);
  assert_int_equal(atomic_load(&l2.frees), 0);
  assert_new_fails(roster_log,
                   roster_log_new(&(roster_log_options){.nsinks = 1}, &bad_));
  assert_new_fails(roster_log,
                   roster_log_new(&(roster_log_options){.file = ""}, &bad_));
  assert_new_fails(
      roster_log,
      roster_log_new(&(roster_log_options){.queue_lines = 1u << 25}, &bad_));
  assert_new_fails(
      roster_log,
      roster_log_new(&(roster_log_options){.drop_report_ms = -1}, &bad_));
  roster_log_free(log);
  assert_int_equal(atomic_load(&l.frees), 1);
  lt_fini(&l);
  lt_fini(&l2);
}

static void test_many_threads_one_file(void **state) {
  (void)state;
  char path[300];
  path_of(path, sizeof path, "mt.log");
  roster_log *log = lt_new(&(roster_log_options){.file = path});
  rw_arg a = {.log = log};
  pthread_t th[RW_THREADS];
  for (int t = 0; t < RW_THREADS; t++)
    assert_int_equal(pthread_create(&th[t], NULL, rw_writer, &a), 0);
  for (int t = 0; t < RW_THREADS; t++)
    pthread_join(th[t], NULL);
  roster_log_free(log);
  char *text = read_file(path);
  size_t with;
  assert_int_equal(count_lines(text, "rw", &with), RW_THREADS * RW_LINES);
  assert_int_equal(with, RW_THREADS * RW_LINES);
  free(text);
}

/* journald: a datagram socket standing in for /run/systemd/journal/socket */
static void test_journald(void **state) {
  (void)state;
  char sock[300];
  path_of(sock, sizeof sock, "journal.sock");
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  assert_true(strlen(sock) < sizeof sa.sun_path);
  memcpy(sa.sun_path, sock, strlen(sock) + 1);
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  roster_log_sink s = {.kind = ROSTER_LOG_SINK_JOURNALD, .path = sock};
  roster_log *log =
      lt_new(&(roster_log_options){.sinks = &s, .nsinks = 1, .name = "demo"});
  RL_ERROR_F(log,
             RL_FIELDS(RL_STR("user", "alice"), RL_INT("status", 500),
                       RL_STR("multi", "a\nb"), RL_STR("9lives", "x"),
                       RL_STR("req.id", "r1")),
             "request failed");
  char buf[4096];
  ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
  assert_true(n > 0);
  buf[n] = '\0';
  assert_true(strncmp(buf, "PRIORITY=3\nMESSAGE=request failed\n", 34) == 0);
  assert_non_null(memmem(buf, (size_t)n, "\nSYSLOG_IDENTIFIER=demo\n", 24));
  assert_non_null(memmem(buf, (size_t)n, "\nUSER=alice\n", 12));
  assert_non_null(memmem(buf, (size_t)n, "\nSTATUS=500\n", 12));
  assert_non_null(memmem(buf, (size_t)n, "\nF_9LIVES=x\n", 12));
  assert_non_null(memmem(buf, (size_t)n, "\nREQ_ID=r1\n", 11));
  /* a value with a newline: name, newline, 64-bit LE length, bytes */
  assert_non_null(
      memmem(buf, (size_t)n, "\nMULTI\n\x03\0\0\0\0\0\0\0a\nb\n", 19));
  assert_null(memmem(buf, (size_t)n, "HOSTNAME", 8));
  assert_null(memmem(buf, (size_t)n, "\nTIME=", 6));
  roster_log_free(log);
  close(fd);

  /* no journald listening: a clear error */
  roster_log_sink none = {.kind = ROSTER_LOG_SINK_JOURNALD,
                          .path = "/nonexistent-dir/journal.sock"};
  assert_new_fails(
      roster_log,
      roster_log_new(&(roster_log_options){.sinks = &none, .nsinks = 1},
                     &bad_));
  assert_int_equal(roster_last_code(), ROSTER_ESYS);
  assert_contains(roster_last_error(), "journald");
  assert_contains(roster_last_error(), "/nonexistent-dir/journal.sock");
}

/* remove waits for a write in progress: the sink's callback is blocked
 * on another thread; remove must not return (nor free_arg run) until the
 * callback has returned. */
typedef struct slow_sink {
  tu_gate gate;
  atomic_int inside, done, freed;
  atomic_int freed_before_done;
} slow_sink;

static void slow_cb(int level, const char *line, size_t len, void *arg) {
  (void)level;
  (void)line;
  (void)len;
  slow_sink *s = arg;
  atomic_store(&s->inside, 1);
  roster__tu_gate_wait(&s->gate, LC_LONG_MS);
  atomic_store(&s->done, 1);
}

static void slow_free(void *arg) {
  slow_sink *s = arg;
  if (!atomic_load(&s->done))
    atomic_store(&s->freed_before_done, 1);
  atomic_store(&s->freed, 1);
}

typedef struct remover {
  roster_log *log;
  uint64_t id;
  atomic_int returned;
  int rc;
} remover;

static void *remove_thread(void *p) {
  remover *r = p;
  r->rc = roster_log_sink_remove(r->log, r->id);
  atomic_store(&r->returned, 1);
  return NULL;
}

static void *log_one(void *p) {
  RL_INFO((roster_log *)p, "slow");
  return NULL;
}

static void test_remove_waits_for_writer(void **state) {
  (void)state;
  slow_sink ss = {0};
  roster__tu_gate_init(&ss.gate);
  roster_log_sink s = {.kind = ROSTER_LOG_SINK_CALLBACK,
                       .fn = slow_cb,
                       .arg = &ss,
                       .free_arg = slow_free};
  int null = open("/dev/null", O_WRONLY);
  roster_log_sink base = {.kind = ROSTER_LOG_SINK_FD, .fd = null};
  roster_log *log = lt_new(&(roster_log_options){.sinks = &base, .nsinks = 1});
  uint64_t id;
  assert_ok(roster_log_sink_add(log, &s, &id));
  pthread_t writer, rem;
  assert_int_equal(pthread_create(&writer, NULL, log_one, log), 0);
  tu_wait_until(atomic_load(&ss.inside), LC_LONG_MS);
  assert_int_equal(atomic_load(&ss.inside), 1);
  remover r = {.log = log, .id = id};
  assert_int_equal(pthread_create(&rem, NULL, remove_thread, &r), 0);
  roster__tu_sleep_ms(30);
  /* the write is still in the callback: remove cannot have finished */
  assert_int_equal(atomic_load(&r.returned), 0);
  assert_int_equal(atomic_load(&ss.freed), 0);
  roster__tu_gate_open(&ss.gate);
  pthread_join(rem, NULL);
  pthread_join(writer, NULL);
  assert_ok(r.rc);
  assert_int_equal(atomic_load(&ss.freed), 1);
  assert_int_equal(atomic_load(&ss.freed_before_done), 0);
  roster_log_free(log);
  close(null);
}

/* a sink callback of one logger writes to another whose sinks change
 * meanwhile (a nested use of a sink set), and many short-lived threads
 * log (reader slots are recycled); every line is counted once. */
static roster_log *inner_log;

static void forward_cb(int level, const char *line, size_t len, void *arg) {
  (void)line;
  (void)len;
  (void)arg;
  roster_log_write(inner_log, level, RL_NONE, "forwarded");
}

#define SHORT_THREADS 150

static void *short_lived(void *p) {
  roster_log *outer = p;
  RL_INFO(outer, "from a short thread");
  return NULL;
}

static void test_nested_and_short_threads(void **state) {
  (void)state;
  lt_lines l;
  lt_init(&l);
  inner_log = lt_logger(&l, 0);
  roster_log_sink fwd = {.kind = ROSTER_LOG_SINK_CALLBACK, .fn = forward_cb};
  roster_log *outer = lt_new(&(roster_log_options){.sinks = &fwd, .nsinks = 1});
  pthread_t th[SHORT_THREADS];
  for (int round = 0; round < 3; round++) {
    /* the threads overlap: more live slots than counter shards */
    for (int t = 0; t < SHORT_THREADS; t++)
      assert_int_equal(pthread_create(&th[t], NULL, short_lived, outer), 0);
    /* meanwhile the inner logger's sinks change (nested users wait) */
    lt_lines extra;
    lt_init(&extra);
    roster_log_sink es = lt_sink(&extra, 0);
    uint64_t id;
    assert_ok(roster_log_sink_add(inner_log, &es, &id));
    assert_ok(roster_log_sink_remove(inner_log, id));
    assert_int_equal(atomic_load(&extra.frees), 1);
    for (int t = 0; t < SHORT_THREADS; t++)
      pthread_join(th[t], NULL);
    lt_fini(&extra);
  }
  assert_int_equal(lt_count(&l), 3 * SHORT_THREADS);
  roster_log_stats st;
  assert_ok(roster_log_stats_get(outer, &st));
  assert_int_equal(st.written, 3 * SHORT_THREADS);
  assert_ok(roster_log_stats_get(inner_log, &st));
  assert_int_equal(st.written, 3 * SHORT_THREADS);
  roster_log_free(outer);
  roster_log_free(inner_log);
  lt_fini(&l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_file_append_and_reopen),
      cmocka_unit_test(test_reopen_while_writing),
      cmocka_unit_test(test_reopen_on_sighup),
      cmocka_unit_test(test_reopen_failure_keeps_file),
      cmocka_unit_test(test_std_and_fd_sinks),
      cmocka_unit_test(test_write_errors_counted),
      cmocka_unit_test(test_callback_no_recursion),
      cmocka_unit_test(test_sinks_come_and_go),
      cmocka_unit_test(test_bad_sinks),
      cmocka_unit_test(test_many_threads_one_file),
      cmocka_unit_test(test_journald),
      cmocka_unit_test(test_remove_waits_for_writer),
      cmocka_unit_test(test_nested_and_short_threads),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
