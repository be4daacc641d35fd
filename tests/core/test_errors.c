/*
 * test_errors.c: the error contract of roster/error.h and roster/version.h.
 * Every code in ROSTER_ERRNO_MAP has its name and message, unknown values
 * answer "UNKNOWN" / "unknown error", a failing call leaves its code and a
 * detail for the calling thread only (not cleared by reading or by later
 * successful calls), roster_error_set formats and truncates the detail,
 * roster_error_clear resets it, and the runtime version matches the macros.
 * A thread's detail lives in a page of its own, returned when the thread
 * exits; a thread that cannot get one still keeps its code, and its detail
 * is the code's message. Worker threads only record what they saw; the
 * main thread asserts.
 */
#include "testutil.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(ROSTER_TSAN) || defined(__SANITIZE_THREAD__) ||                    \
    defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1 /* their runtimes map memory of their own */
#else
#define SANITIZED 0
#endif

/* One row per code, straight from the X-macro. */
typedef struct code_row {
  const char *name;
  int value;
  const char *msg;
} code_row;

#define ROW(name, value, msg) {#name, value, msg},
static const code_row codes[] = {ROSTER_ERRNO_MAP(ROW)};
#undef ROW
#define NCODES (sizeof codes / sizeof codes[0])

static void test_strerror_every_code(void **state) {
  (void)state;
  assert_true(NCODES >= 15);
  for (size_t i = 0; i < NCODES; i++) {
    const char *m = roster_strerror(codes[i].value);
    const char *n = roster_err_name(codes[i].value);
    assert_non_null(m);
    assert_non_null(n);
    assert_string_equal(m, codes[i].msg);
    assert_string_equal(n, codes[i].name);
    /* The strings are static: a second call gives the same text. */
    assert_string_equal(roster_strerror(codes[i].value), m);
  }
}

static void test_codes_are_stable(void **state) {
  (void)state;
  /* Append-only numbering: the values the header promises today. */
  assert_int_equal(ROSTER_OK, 0);
  assert_int_equal(ROSTER_EINVAL, -1);
  assert_int_equal(ROSTER_ENOMEM, -2);
  assert_int_equal(ROSTER_ENOENT, -3);
  assert_int_equal(ROSTER_EEXIST, -4);
  assert_int_equal(ROSTER_ETYPE, -5);
  assert_int_equal(ROSTER_ETIMEDOUT, -6);
  assert_int_equal(ROSTER_ENOTSUP, -7);
  assert_int_equal(ROSTER_EBUSY, -8);
  assert_int_equal(ROSTER_EAMBIGUOUS, -9);
  assert_int_equal(ROSTER_ESTATE, -10);
  assert_int_equal(ROSTER_ECANCELED, -11);
  assert_int_equal(ROSTER_EIO, -12);
  assert_int_equal(ROSTER_ERANGE, -13);
  assert_int_equal(ROSTER_ESYS, -14);
  /* Values are unique. */
  for (size_t i = 0; i < NCODES; i++)
    for (size_t j = i + 1; j < NCODES; j++)
      assert_int_not_equal(codes[i].value, codes[j].value);
}

static void test_unknown_codes(void **state) {
  (void)state;
  int lowest = 0;
  for (size_t i = 0; i < NCODES; i++)
    if (codes[i].value < lowest)
      lowest = codes[i].value;
  const int unknown[] = {1, 2, 42, lowest - 1, lowest - 100, INT_MIN, INT_MAX};
  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
    assert_string_equal(roster_strerror(unknown[i]), "unknown error");
    assert_string_equal(roster_err_name(unknown[i]), "UNKNOWN");
  }
}

static void test_last_error_after_failing_call(void **state) {
  (void)state;
  roster_error_clear();
  assert_int_equal(roster_last_code(), ROSTER_OK);
  assert_string_equal(roster_last_error(), "");

  roster *r = tu_registry(NULL);
  void *out = (void *)&out;
  assert_rc(roster_get(r, "errs-ns", "no-such-service", NULL, &out),
            ROSTER_ENOENT);
  assert_null(out);
  assert_int_equal(roster_last_code(), ROSTER_ENOENT);
  const char *d = roster_last_error();
  assert_non_null(d);
  assert_true(strlen(d) > 0);
  assert_non_null(strstr(d, "no-such-service"));

  /* Reading does not clear it. */
  char copy[1100];
  snprintf(copy, sizeof copy, "%s", roster_last_error());
  assert_string_equal(roster_last_error(), copy);
  assert_int_equal(roster_last_code(), ROSTER_ENOENT);

  /* Successful calls do not clear it either (like errno). */
  assert_ok(
      roster_register(r, NULL, "present", &roster__tu_counter_type, NULL));
  assert_ok(roster_get(r, NULL, "present", NULL, &out));
  assert_true(roster_has(r, NULL, "present"));
  assert_int_equal(roster_last_code(), ROSTER_ENOENT);
  assert_string_equal(roster_last_error(), copy);

  /* A different failure replaces the code and the detail. */
  assert_rc(roster_register(r, NULL, "", &roster__tu_counter_type, NULL),
            ROSTER_EINVAL);
  assert_int_equal(roster_last_code(), ROSTER_EINVAL);
  assert_true(strlen(roster_last_error()) > 0);
  assert_string_not_equal(roster_last_error(), copy);

  /* A NULL registry is a failure with a detail too. */
  roster_error_clear();
  assert_rc(roster_register(NULL, NULL, "x", &roster__tu_counter_type, NULL),
            ROSTER_EINVAL);
  assert_int_equal(roster_last_code(), ROSTER_EINVAL);
  assert_true(strlen(roster_last_error()) > 0);

  roster_free(r);
}

static void test_error_set_and_clear(void **state) {
  (void)state;
  int rc = roster_error_set(ROSTER_EIO, "pg said: %s (port %d)",
                            "connection refused", 5432);
  assert_int_equal(rc, ROSTER_EIO);
  assert_int_equal(roster_last_code(), ROSTER_EIO);
  assert_string_equal(roster_last_error(),
                      "pg said: connection refused (port 5432)");

  rc = roster_error_set(ROSTER_ETIMEDOUT, "plain text, no args");
  assert_int_equal(rc, ROSTER_ETIMEDOUT);
  assert_int_equal(roster_last_code(), ROSTER_ETIMEDOUT);
  assert_string_equal(roster_last_error(), "plain text, no args");

  roster_error_clear();
  assert_int_equal(roster_last_code(), ROSTER_OK);
  assert_string_equal(roster_last_error(), "");

  /* Clearing twice is harmless. */
  roster_error_clear();
  assert_int_equal(roster_last_code(), ROSTER_OK);
  assert_string_equal(roster_last_error(), "");
}

static void test_error_set_truncates(void **state) {
  (void)state;
  char big[3000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  big[0] = 'A';

  /* Exactly 1023 bytes fit. */
  char fit[1024];
  memcpy(fit, big, 1023);
  fit[1023] = '\0';
  assert_int_equal(roster_error_set(ROSTER_EIO, "%s", fit), ROSTER_EIO);
  assert_int_equal(strlen(roster_last_error()), 1023);
  assert_string_equal(roster_last_error(), fit);

  /* Longer details are cut to 1023 bytes, keeping the start. */
  assert_int_equal(roster_error_set(ROSTER_ESYS, "%s", big), ROSTER_ESYS);
  assert_int_equal(roster_last_code(), ROSTER_ESYS);
  const char *d = roster_last_error();
  assert_int_equal(strlen(d), 1023);
  assert_memory_equal(d, big, 1000);

  /* An empty format gives an empty detail but keeps the code. */
  assert_int_equal(roster_error_set(ROSTER_EBUSY, "%s", ""), ROSTER_EBUSY);
  assert_int_equal(roster_last_code(), ROSTER_EBUSY);
  assert_string_equal(roster_last_error(), "");
  roster_error_clear();
}

/* A detail never holds a control byte or a byte that is not UTF-8: each
 * is written \xNN, wherever it came from (a foreign library's message, a
 * name, a URL). Valid UTF-8 is kept. */
static void test_detail_escapes_control_bytes(void **state) {
  (void)state;
  roster_error_set(ROSTER_EIO, "server said: %s",
                   "line1\nline2\r\x1b[31mred\x7f");
  assert_string_equal(roster_last_error(),
                      "server said: line1\\x0aline2\\x0d\\x1b[31mred\\x7f");
  /* UTF-8 stays readable; C1 controls, stray and overlong bytes do not */
  roster_error_set(ROSTER_EIO, "%s",
                   "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  assert_string_equal(roster_last_error(),
                      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  roster_error_set(ROSTER_EIO, "%s",
                   "a\xc2\x9b"
                   "b\xff\xc3(\xc0\xaf\xed\xa0\x80");
  assert_string_equal(roster_last_error(),
                      "a\\xc2\\x9bb\\xff\\xc3(\\xc0\\xaf\\xed\\xa0\\x80");
  /* a backslash is kept as it is (only quoted names escape it) */
  roster_error_set(ROSTER_EIO, "%s", "C:\\dir");
  assert_string_equal(roster_last_error(), "C:\\dir");
  /* escaping never overflows: the detail is cut before an escape that
   * does not fit, never inside one */
  char big[1100];
  memset(big, '\n', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  roster_error_set(ROSTER_EIO, "%s", big);
  const char *d = roster_last_error();
  assert_true(strlen(d) <= 1023);
  assert_int_equal(strlen(d) % 4, 0);
  for (size_t i = 0; d[i]; i += 4)
    assert_memory_equal(d + i, "\\x0a", 4);
  roster_error_clear();
}

/* roster_config_errors lists the problems of a load: escaped the same way
 * (a key with an ESC in it, quoted by the YAML loader). */
static void test_config_errors_escaped(void **state) {
  (void)state;
  char path[] = "/tmp/roster-errors-XXXXXX.yaml";
  int fd = mkstemps(path, 5);
  assert_true(fd >= 0);
  static const char doc[] = "\"a\\eb\": 1\n\"a\\eb\": 2\n";
  assert_int_equal(write(fd, doc, sizeof doc - 1), (ssize_t)(sizeof doc - 1));
  close(fd);
  const char *files[] = {path, NULL};
  roster_config *c = NULL;
  assert_ok(roster_config_new(&(roster_config_options){.files = files}, &c));
  assert_non_null(c);
  assert_int_not_equal(roster_config_load(c), ROSTER_OK);
  assert_contains(roster_last_error(), "'a\\x1bb'");
  char *e = roster_config_errors(c);
  assert_non_null(e);
  assert_contains(e, "'a\\x1bb'");
  for (const char *p = e; *p; p++)
    if (*p != '\n' && ((unsigned char)*p < 0x20 || *p == 0x7f))
      fail_msg("byte 0x%02x in '%s'", (unsigned char)*p, e);
  roster_mem_free(e);
  roster_config_free(c);
  unlink(path);
}

/* ---- per-thread detail ---- */

typedef struct thr_rec {
  roster *r;
  int initial_code;
  char initial_detail[64];
  int fail_rc;
  int fail_code;
  char fail_detail[1100];
  int set_rc;
  int set_code;
  char set_detail[128];
} thr_rec;

static void *failing_thread(void *arg) {
  thr_rec *t = arg;
  t->initial_code = roster_last_code();
  snprintf(t->initial_detail, sizeof t->initial_detail, "%s",
           roster_last_error());
  void *out = NULL;
  t->fail_rc = roster_get(t->r, NULL, "missing-in-thread", NULL, &out);
  t->fail_code = roster_last_code();
  snprintf(t->fail_detail, sizeof t->fail_detail, "%s", roster_last_error());
  t->set_rc = roster_error_set(ROSTER_EBUSY, "thread detail %d", 7);
  t->set_code = roster_last_code();
  snprintf(t->set_detail, sizeof t->set_detail, "%s", roster_last_error());
  return NULL;
}

static void test_detail_is_per_thread(void **state) {
  (void)state;
  roster *r = tu_registry(NULL);
  assert_int_equal(roster_error_set(ROSTER_EIO, "main-thread detail"),
                   ROSTER_EIO);

  thr_rec t;
  memset(&t, 0, sizeof t);
  t.r = r;
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, failing_thread, &t), 0);
  assert_int_equal(pthread_join(th, NULL), 0);

  /* The main thread's detail is untouched by the other thread's failure. */
  assert_int_equal(roster_last_code(), ROSTER_EIO);
  assert_string_equal(roster_last_error(), "main-thread detail");

  /* The new thread started clean and saw its own failures. */
  assert_int_equal(t.initial_code, ROSTER_OK);
  assert_string_equal(t.initial_detail, "");
  assert_int_equal(t.fail_rc, ROSTER_ENOENT);
  assert_int_equal(t.fail_code, ROSTER_ENOENT);
  assert_non_null(strstr(t.fail_detail, "missing-in-thread"));
  assert_int_equal(t.set_rc, ROSTER_EBUSY);
  assert_int_equal(t.set_code, ROSTER_EBUSY);
  assert_string_equal(t.set_detail, "thread detail 7");

  /* And the main thread's failure does not reach a thread's detail. */
  roster_free(r);
  roster_error_clear();
}

#define STRESS_THREADS 4
#define STRESS_ITERS 2000

typedef struct stress_rec {
  int id;
  pthread_barrier_t *start;
  int mismatches;
} stress_rec;

static void *stress_thread(void *arg) {
  stress_rec *s = arg;
  static const int thread_codes[STRESS_THREADS] = {ROSTER_EIO, ROSTER_EBUSY,
                                                   ROSTER_ERANGE, ROSTER_ESYS};
  pthread_barrier_wait(s->start);
  for (int k = 0; k < STRESS_ITERS; k++) {
    char want[64];
    snprintf(want, sizeof want, "thread %d iteration %d", s->id, k);
    int code = thread_codes[s->id];
    if (roster_error_set(code, "thread %d iteration %d", s->id, k) != code)
      s->mismatches++;
    if (roster_last_code() != code)
      s->mismatches++;
    if (strcmp(roster_last_error(), want) != 0)
      s->mismatches++;
  }
  return NULL;
}

static void test_detail_per_thread_concurrent(void **state) {
  (void)state;
  pthread_barrier_t start;
  assert_int_equal(pthread_barrier_init(&start, NULL, STRESS_THREADS), 0);
  pthread_t th[STRESS_THREADS];
  stress_rec rec[STRESS_THREADS];
  for (int i = 0; i < STRESS_THREADS; i++) {
    rec[i] = (stress_rec){.id = i, .start = &start, .mismatches = 0};
    assert_int_equal(pthread_create(&th[i], NULL, stress_thread, &rec[i]), 0);
  }
  for (int i = 0; i < STRESS_THREADS; i++)
    assert_int_equal(pthread_join(th[i], NULL), 0);
  pthread_barrier_destroy(&start);
  for (int i = 0; i < STRESS_THREADS; i++)
    assert_int_equal(rec[i].mismatches, 0);
}

static void test_version(void **state) {
  (void)state;
  char want[32];
  snprintf(want, sizeof want, "%d.%d.%d", ROSTER_VERSION_MAJOR,
           ROSTER_VERSION_MINOR, ROSTER_VERSION_PATCH);
  assert_non_null(roster_version());
  assert_string_equal(roster_version(), want);
  assert_int_equal(roster_version_hex(), (unsigned)ROSTER_VERSION_HEX);
  assert_int_equal(roster_version_hex(),
                   ((unsigned)ROSTER_VERSION_MAJOR << 16) |
                       ((unsigned)ROSTER_VERSION_MINOR << 8) |
                       (unsigned)ROSTER_VERSION_PATCH);
}

/* vm_kb: the process's virtual size (VmSize), in KiB. */
static long vm_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  assert_non_null(f);
  char line[256];
  long kb = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmSize: %ld kB", &kb) == 1)
      break;
  fclose(f);
  assert_true(kb > 0);
  return kb;
}

static void *fail_once(void *arg) {
  int i = (int)(intptr_t)arg;
  roster_error_set(ROSTER_EIO, "thread %d failed", i);
  char want[32];
  snprintf(want, sizeof want, "thread %d failed", i);
  return (void *)(intptr_t)(roster_last_code() == ROSTER_EIO &&
                            strcmp(roster_last_error(), want) == 0);
}

/* Every thread that fails gets a page for its detail; the page goes when
 * the thread exits. 256 threads, one after the other, each failing once:
 * the process grows by less than a quarter of their pages. (The first
 * thread, not counted, gives glibc its thread stack and arena to reuse.) */
static void test_detail_page_returned(void **state) {
  (void)state;
  if (SANITIZED)
    skip();
  enum { N = 256 };
  pthread_t t;
  void *ok = NULL;
  assert_int_equal(pthread_create(&t, NULL, fail_once, (void *)-1), 0);
  assert_int_equal(pthread_join(t, &ok), 0);
  assert_true(ok);
  long before = vm_kb();
  for (int i = 0; i < N; i++) {
    assert_int_equal(pthread_create(&t, NULL, fail_once, (void *)(intptr_t)i),
                     0);
    assert_int_equal(pthread_join(t, &ok), 0);
    assert_true(ok);
  }
  long grown = vm_kb() - before;
  assert_true(grown < N * 4 / 4);
}

typedef struct nopage {
  int fd; /* read: the go signal */
  int ok;
} nopage;

static void *fail_without_page(void *arg) {
  nopage *np = arg;
  char c;
  if (read(np->fd, &c, 1) != 1)
    return NULL;
  int rc = roster_error_set(ROSTER_ETIMEDOUT, "waited %d ms", 5);
  np->ok = rc == ROSTER_ETIMEDOUT && roster_last_code() == ROSTER_ETIMEDOUT &&
           strcmp(roster_last_error(), roster_strerror(ROSTER_ETIMEDOUT)) == 0;
  roster_error_clear();
  np->ok &= roster_last_code() == ROSTER_OK && roster_last_error()[0] == '\0';
  return NULL;
}

/* A thread that cannot map its page (the address space is full: a child
 * process limits it, after its thread exists) keeps the code, and its
 * detail is the code's message; clearing works too. */
static void test_no_page_keeps_code(void **state) {
  (void)state;
  if (SANITIZED)
    skip();
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int p[2];
    nopage np = {0};
    pthread_t t;
    if (pipe(p) ||
        (np.fd = p[0], pthread_create(&t, NULL, fail_without_page, &np) != 0))
      _exit(3);
    struct rlimit rl = {(rlim_t)vm_kb() * 1024, RLIM_INFINITY};
    if (setrlimit(RLIMIT_AS, &rl) || write(p[1], "g", 1) != 1 ||
        pthread_join(t, NULL))
      _exit(4);
    _exit(np.ok ? 0 : 1);
  }
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_strerror_every_code),
      cmocka_unit_test(test_codes_are_stable),
      cmocka_unit_test(test_unknown_codes),
      cmocka_unit_test(test_last_error_after_failing_call),
      cmocka_unit_test(test_error_set_and_clear),
      cmocka_unit_test(test_error_set_truncates),
      cmocka_unit_test(test_detail_escapes_control_bytes),
      cmocka_unit_test(test_config_errors_escaped),
      cmocka_unit_test(test_detail_is_per_thread),
      cmocka_unit_test(test_detail_per_thread_concurrent),
      cmocka_unit_test(test_detail_page_returned),
      cmocka_unit_test(test_no_page_keeps_code),
      cmocka_unit_test(test_version),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
