/*
 * test_signal.c: roster_signal_watch runs every watch of a real signal, in
 * order, on roster's signal thread; unwatch stops it (also from inside its
 * own callback); the previous handler comes back with the last watch;
 * signals roster_run owns, and bad arguments, are refused. The signal
 * thread is named, as every thread roster starts is.
 */
#include "testutil.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

static tu_log log_;
static atomic_int hup_a, hup_b, usr1, self_calls;
static atomic_bool off_main_thread = true;
static pthread_t main_thread;
static uint64_t self_id;

static void on_hup_a(int signo, void *arg) {
  (void)arg;
  if (pthread_equal(pthread_self(), main_thread))
    atomic_store(&off_main_thread, false);
  roster__tu_log_add(&log_, "a:%d", signo);
  atomic_fetch_add(&hup_a, 1);
}

static void on_hup_b(int signo, void *arg) {
  roster__tu_log_add(&log_, "b:%d:%s", signo, (const char *)arg);
  atomic_fetch_add(&hup_b, 1);
}

static void on_usr1(int signo, void *arg) {
  (void)signo;
  (void)arg;
  atomic_fetch_add(&usr1, 1);
}

static void on_self(int signo, void *arg) {
  (void)signo;
  (void)arg;
  atomic_fetch_add(&self_calls, 1);
  roster_signal_unwatch(self_id); /* from inside: must not wait for itself */
}

static void test_watch_runs_in_order(void **state) {
  (void)state;
  main_thread = pthread_self();
  roster__tu_log_init(&log_);
  uint64_t a = 0, b = 0, u = 0;
  assert_ok(roster_signal_watch(SIGHUP, on_hup_a, NULL, &a));
  assert_ok(roster_signal_watch(SIGHUP, on_hup_b, "arg", &b));
  assert_ok(roster_signal_watch(SIGUSR1, on_usr1, NULL, &u));
  assert_true(a != 0 && b != 0 && a != b);

  assert_int_equal(kill(getpid(), SIGHUP), 0);
  tu_wait_until(atomic_load(&hup_b) == 1, LC_LONG_MS);
  assert_int_equal(atomic_load(&hup_a), 1);
  assert_int_equal(atomic_load(&hup_b), 1);
  assert_int_equal(atomic_load(&usr1), 0);
  assert_true(atomic_load(&off_main_thread));
  assert_int_equal(roster__tu_log_find(&log_, "a:1", 0), 0); /* SIGHUP is 1 */
  char want[32];
  snprintf(want, sizeof want, "b:%d:arg", SIGHUP);
  assert_int_equal(roster__tu_log_find(&log_, want, 0), 1);

  assert_int_equal(kill(getpid(), SIGUSR1), 0);
  assert_eventually_equal(atomic_load(&usr1), 1, LC_LONG_MS);
  assert_int_equal(atomic_load(&hup_a), 1);

  /* after unwatch, a no longer runs; b still does */
  assert_ok(roster_signal_unwatch(a));
  assert_rc(roster_signal_unwatch(a), ROSTER_ENOENT);
  assert_int_equal(kill(getpid(), SIGHUP), 0);
  assert_eventually_equal(atomic_load(&hup_b), 2, LC_LONG_MS);
  assert_int_equal(atomic_load(&hup_a), 1);
  assert_ok(roster_signal_unwatch(b));
  assert_ok(roster_signal_unwatch(u));
  roster__tu_log_fini(&log_);
}

/* thread_named: a thread of this process has the name want
 * (/proc/self/task/<tid>/comm). */
static bool thread_named(const char *want) {
  DIR *d = opendir("/proc/self/task");
  assert_non_null(d);
  bool found = false;
  struct dirent *e;
  while (!found && (e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    char path[300], name[32] = "";
    snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
    FILE *f = fopen(path, "r");
    if (!f)
      continue; /* the thread has just gone */
    if (fgets(name, sizeof name, f))
      name[strcspn(name, "\n")] = '\0';
    fclose(f);
    found = strcmp(name, want) == 0;
  }
  closedir(d);
  return found;
}

static void test_thread_named(void **state) {
  (void)state;
  uint64_t id = 0;
  assert_ok(roster_signal_watch(SIGUSR1, on_usr1, NULL, &id));
  assert_true(thread_named("roster-signal"));
  assert_ok(roster_signal_unwatch(id));
}

static void test_unwatch_from_callback(void **state) {
  (void)state;
  assert_ok(roster_signal_watch(SIGUSR2, on_self, NULL, &self_id));
  /* a second watch keeps the handler installed after on_self leaves */
  uint64_t keep = 0;
  assert_ok(roster_signal_watch(SIGUSR2, on_usr1, NULL, &keep));
  int before = atomic_load(&usr1);
  assert_int_equal(kill(getpid(), SIGUSR2), 0);
  tu_wait_until(atomic_load(&usr1) == before + 1, LC_LONG_MS);
  assert_int_equal(atomic_load(&self_calls), 1);
  assert_int_equal(kill(getpid(), SIGUSR2), 0);
  assert_eventually_equal(atomic_load(&usr1), before + 2, LC_LONG_MS);
  assert_int_equal(atomic_load(&self_calls), 1); /* gone after its unwatch */
  assert_rc(roster_signal_unwatch(self_id), ROSTER_ENOENT);
  assert_ok(roster_signal_unwatch(keep));
}

static volatile sig_atomic_t own_handler_hits;
static void own_handler(int signo) {
  (void)signo;
  own_handler_hits++;
}

static void test_previous_handler_restored(void **state) {
  (void)state;
  struct sigaction sa, cur;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = own_handler;
  sigemptyset(&sa.sa_mask);
  assert_int_equal(sigaction(SIGUSR2, &sa, NULL), 0);
  uint64_t id = 0;
  assert_ok(roster_signal_watch(SIGUSR2, on_usr1, NULL, &id));
  assert_int_equal(sigaction(SIGUSR2, NULL, &cur), 0);
  assert_true(cur.sa_handler != own_handler);
  assert_ok(roster_signal_unwatch(id));
  assert_int_equal(sigaction(SIGUSR2, NULL, &cur), 0);
  assert_true(cur.sa_handler == own_handler);
  /* the program's own handler takes the signal again */
  sigset_t one, old;
  sigemptyset(&one);
  sigaddset(&one, SIGUSR2);
  pthread_sigmask(SIG_UNBLOCK, &one, &old);
  raise(SIGUSR2);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  assert_int_equal(own_handler_hits, 1);
  signal(SIGUSR2, SIG_DFL);
}

static void nop(int signo, void *arg) {
  (void)signo;
  (void)arg;
}

static void test_refused(void **state) {
  (void)state;
  uint64_t id = 0;
  assert_rc(roster_signal_watch(SIGTERM, nop, NULL, &id), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "roster_run");
  assert_rc(roster_signal_watch(SIGINT, nop, NULL, &id), ROSTER_EINVAL);
  assert_rc(roster_signal_watch(SIGKILL, nop, NULL, &id), ROSTER_EINVAL);
  assert_rc(roster_signal_watch(0, nop, NULL, &id), ROSTER_EINVAL);
  assert_rc(roster_signal_watch(SIGHUP, NULL, NULL, &id), ROSTER_EINVAL);
  assert_rc(roster_signal_watch(SIGHUP, nop, NULL, NULL), ROSTER_EINVAL);
  assert_int_equal(id, 0);
  assert_rc(roster_signal_unwatch(0), ROSTER_ENOENT);
  assert_rc(roster_signal_unwatch(987654), ROSTER_ENOENT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_watch_runs_in_order),
      cmocka_unit_test(test_unwatch_from_callback),
      cmocka_unit_test(test_previous_handler_restored),
      cmocka_unit_test(test_refused),
      cmocka_unit_test(test_thread_named),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
