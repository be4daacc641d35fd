/*
 * bench_sio.c: roster's Socket.IO server (modules/socketio) beside Node's
 * socket.io 4.8, driven by one client written in C (bench_sio_client.c:
 * epoll, raw WebSocket, Engine.IO 4 / Socket.IO 5 by hand) so that both
 * servers face the same load and the client is not the bottleneck.
 *
 * Each server runs as a process of its own, so its resident set is its
 * own: roster's is this program (--serve-roster, bench_sio_server.c),
 * Node's bench/sio_server.js under node with socket.io from
 * tests/interop/node_modules. Both: on 'go' broadcast 'msg' with one
 * 100-byte string to every socket; on 'echo' answer the ack. The program
 * raises RLIMIT_NOFILE to its hard limit first; the servers inherit it.
 *
 * Rows, per server:
 *   - fanout, 200 and 1,000 clients: a fresh set of WebSocket clients;
 *     client 0 emits 'go' keeping W = 16 broadcasts in flight (sent minus
 *     its own 'msg' received) for 5 s (--quick: 0.3 s), then every client
 *     must get every broadcast (a 10 s drain). delivered_per_sec = 'msg'
 *     events received by all clients / (first 'go' to the last 'msg').
 *     Best of 3 runs, roster and Node in turn. A lost or wrong message is
 *     printed and makes the exit code 1; the row says how many were lost.
 *   - idle_rss, 1,000 and 10,000 connections: a fresh server process;
 *     VmRSS (/proc/PID/status) after it settles, then with N idle
 *     connected clients (1 s later): (after - before) / N KiB. When the
 *     file descriptors do not allow N, the row has the largest count that
 *     connected, and a line says so.
 *   - echo: one client emits 'echo' with the 100-byte string and an ack,
 *     waits for the answer; p50 and p99 of the round trips (2,000 of
 *     them, 3 rounds in turn with the other server; --quick: 100).
 *   - fanout through Redis (impl roster+redis), 200 and 1,000 clients:
 *     as fanout, against two roster nodes with the Redis adapter in one
 *     process (--serve-roster-redis): the clients are on one, whose 'go'
 *     makes the other broadcast, so every message crosses Redis (the
 *     Redis of ROSTER_TEST_REDIS_URL; without it the rows are left out
 *     with a line saying so).
 * Targets (informational): roster >= 3x Node's delivered messages/s,
 * roster's memory per connection <= 1/5 of Node's. Without node or
 * socket.io the Node rows are left out with a line saying so; without
 * roster's server in the build, the roster rows. See bench/sio.md.
 */
#include "bench.h"
#include "bench_sio.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef ROSTER_BENCH_DIR
#define ROSTER_BENCH_DIR "bench"
#endif

enum { WINDOW = 16, PENDING = 128, MAX_SERVERS = 3 };

/* server: one server process. */
typedef struct server {
  const char *impl; /* "roster" or "node" */
  pid_t pid;
  int rfd; /* its stdout */
  uint16_t port;
} server;

typedef struct impl {
  const char *name;
  char *const *argv; /* the server's command */
  bool on;           /* installed */
  bool fanout_only;  /* no idle or echo rows (the cross-node server) */
} impl;

static impl impls[MAX_SERVERS];
static size_t nimpl;

static bool server_start(const impl *m, server *s) {
  *s = (server){.impl = m->name, .pid = -1, .rfd = -1};
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0)
    roster__bench_die("pipe: %s", strerror(errno));
  pid_t pid = fork();
  if (pid < 0)
    roster__bench_die("fork: %s", strerror(errno));
  if (pid == 0) {
    dup2(p[1], 1);
    execvp(m->argv[0], m->argv);
    _exit(127);
  }
  close(p[1]);
  s->pid = pid;
  s->rfd = p[0];
  char line[256];
  size_t len = 0;
  double end = bench_now() + 20;
  while (len < sizeof line - 1 && bench_now() < end) {
    struct pollfd pf = {.fd = s->rfd, .events = POLLIN};
    if (poll(&pf, 1, 100) <= 0)
      continue;
    ssize_t r = read(s->rfd, line + len, sizeof line - 1 - len);
    if (r <= 0)
      break;
    len += (size_t)r;
    line[len] = 0;
    unsigned port = 0;
    const char *at = strstr(line, "listening ");
    if (at && strchr(at, '\n') && sscanf(at, "listening %u", &port) == 1 &&
        port > 0 && port < 65536) {
      s->port = (uint16_t)port;
      return true;
    }
  }
  return false;
}

static void server_stop(server *s) {
  if (s->pid > 0) {
    kill(s->pid, SIGTERM);
    int st;
    double end = bench_now() + 5;
    while (waitpid(s->pid, &st, WNOHANG) == 0) {
      if (bench_now() > end) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, &st, 0);
        break;
      }
      roster__bench_sleep(0.01);
    }
  }
  if (s->rfd >= 0)
    close(s->rfd);
  s->pid = -1;
  s->rfd = -1;
}

/* rss_kib: VmRSS of pid, KiB; 0 when it cannot be read. */
static double rss_kib(pid_t pid) {
  char path[64], buf[4096];
  snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
  FILE *f = fopen(path, "r");
  double kib = 0;
  if (!f)
    return 0;
  while (fgets(buf, sizeof buf, f))
    if (sscanf(buf, "VmRSS: %lf", &kib) == 1)
      break;
  fclose(f);
  return kib;
}

/* cpu_s: user + system CPU seconds pid has used (0: the calling process
 * itself). */
static double cpu_s(pid_t pid) {
  if (!pid) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
  }
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
  FILE *f = fopen(path, "r");
  if (!f)
    return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  const char *p = strrchr(buf, ')'); /* the name may hold spaces */
  unsigned long long ut = 0, st = 0;
  if (!p ||
      sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
             &ut, &st) != 2)
    return 0;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* ---- fan-out ---- */

typedef struct fanout_arg {
  server *srv;
  unsigned clients;
  double seconds;
  uint64_t lost;  /* the worst run's */
  double cpu_srv; /* CPU seconds per million delivered: the lowest run's */
  double cpu_cli;
} fanout_arg;

static bench_sample fanout_run(void *arg, uint64_t ops) {
  (void)ops;
  fanout_arg *a = arg;
  bench_sample r = {.threads = a->clients};
  sio_clients *c = bench_sio_clients_new(a->srv->port, a->clients);
  if (bench_sio_connect(c, PENDING, 60) < a->clients) {
    roster__bench_fail(1, "%s fanout %u clients: %s", a->srv->impl, a->clients,
                       bench_sio_error(c));
    bench_sio_clients_free(c);
    return r;
  }
  sio_fanout f;
  double s0 = cpu_s(a->srv->pid), c0 = cpu_s(0);
  bench_sio_fanout(c, WINDOW, a->seconds, &f);
  double s1 = cpu_s(a->srv->pid), c1 = cpu_s(0);
  if (f.delivered) {
    double ms = (s1 - s0) * 1e6 / (double)f.delivered;
    double mc = (c1 - c0) * 1e6 / (double)f.delivered;
    if (!a->cpu_srv || ms < a->cpu_srv)
      a->cpu_srv = ms;
    if (!a->cpu_cli || mc < a->cpu_cli)
      a->cpu_cli = mc;
  }
  uint64_t lost = f.expected - f.delivered;
  if (lost || f.bad || bench_sio_errors(c))
    roster__bench_fail(1,
                       "%s fanout %u clients: %llu of %llu messages lost, "
                       "%llu wrong; %s",
                       a->srv->impl, a->clients, (unsigned long long)lost,
                       (unsigned long long)f.expected,
                       (unsigned long long)f.bad, bench_sio_error(c));
  if (lost > a->lost)
    a->lost = lost;
  r.wall = f.seconds > 1e-9 ? f.seconds : 1e-9;
  r.ops = f.delivered;
  r.aux = f.gos;
  bench_sio_clients_free(c);
  roster__bench_sleep(0.2); /* the server lets the closed ones go */
  return r;
}

static void fanout_rows(server *srv, size_t n, unsigned clients) {
  fanout_arg args[MAX_SERVERS];
  bench_case cases[MAX_SERVERS];
  for (size_t i = 0; i < n; i++) {
    args[i] = (fanout_arg){.srv = &srv[i],
                           .clients = clients,
                           .seconds = roster__bench.quick ? 0.3 : 5};
    cases[i] = (bench_case){.impl = srv[i].impl,
                            .op = "fanout",
                            .size = clients,
                            .fn = fanout_run,
                            .arg = &args[i],
                            .ops = 1};
  }
  roster__bench_measure(cases, n, roster__bench.quick ? 1 : 3);
  for (size_t i = 0; i < n; i++) {
    const bench_case *k = &cases[i];
    if (!k->runs)
      continue;
    roster__bench_add_case(k);
    roster__bench_add(&(bench_result){.impl = k->impl,
                                      .op = "server_cpu",
                                      .size = clients,
                                      .value = args[i].cpu_srv});
    double rate = bench_rate(&k->best);
    double bps = (double)k->best.aux / k->best.wall;
    if (roster__bench.json)
      printf("{\"impl\":\"%s\",\"op\":\"fanout\",\"clients\":%u,"
             "\"window\":%d,\"delivered_per_sec\":%.0f,"
             "\"broadcasts_per_sec\":%.0f,\"lost\":%llu,"
             "\"server_cpu_us_per_msg\":%.3f,\"client_cpu_us_per_msg\":%.3f,"
             "\"best_of\":%d}\n",
             k->impl, clients, WINDOW, rate, bps,
             (unsigned long long)args[i].lost, args[i].cpu_srv, args[i].cpu_cli,
             k->runs);
    else
      printf("%-7s %-9s %7u %12.0f msg/s %9.0f bc/s  lost %llu  spread "
             "%5.1f%%  cpu us/msg: server %.3f client %.3f\n",
             k->impl, "fanout", clients, rate, bps,
             (unsigned long long)args[i].lost, roster__bench_spread(k) * 100,
             args[i].cpu_srv, args[i].cpu_cli);
    fflush(stdout);
  }
}

/* ---- idle memory ---- */

static void idle_row(const impl *m, unsigned want) {
  server s;
  if (!server_start(m, &s)) {
    roster__bench_fail(1, "%s: the server did not start", m->name);
    server_stop(&s);
    return;
  }
  roster__bench_sleep(0.5);
  double before = rss_kib(s.pid);
  sio_clients *c = bench_sio_clients_new(s.port, want);
  unsigned got = bench_sio_connect(c, PENDING, 120);
  if (got < want)
    roster__bench_warn("%s: %u of %u idle connections (%s); measured with %u",
                       m->name, got, want, bench_sio_error(c), got);
  roster__bench_sleep(1);
  double after = rss_kib(s.pid);
  bench_sio_clients_free(c);
  server_stop(&s);
  if (!got || before <= 0 || after <= 0) {
    roster__bench_fail(1, "%s idle %u: no connection or no RSS", m->name, want);
    return;
  }
  double per = (after - before) / got;
  roster__bench_add(&(bench_result){
      .impl = m->name, .op = "idle_rss", .size = want, .value = per});
  if (roster__bench.json)
    printf("{\"impl\":\"%s\",\"op\":\"idle_rss\",\"connections\":%u,"
           "\"kib_per_conn\":%.2f,\"rss_before_kib\":%.0f,"
           "\"rss_kib\":%.0f}\n",
           m->name, got, per, before, after);
  else
    printf("%-7s %-9s %7u %12.2f KiB/conn (RSS %.0f -> %.0f KiB)\n", m->name,
           "idle_rss", got, per, before, after);
  fflush(stdout);
}

/* ---- echo ---- */

static void echo_rows(server *srv, size_t n) {
  size_t per = roster__bench.quick ? 100 : 2000, rounds = 3;
  double *us[MAX_SERVERS];
  size_t got[MAX_SERVERS] = {0};
  sio_clients *c[MAX_SERVERS];
  for (size_t i = 0; i < n; i++) {
    us[i] = roster__bench_xcalloc(per * rounds, sizeof(double));
    c[i] = bench_sio_clients_new(srv[i].port, 1);
    if (bench_sio_connect(c[i], 1, 20) == 1)
      bench_sio_echo(c[i], 100, us[i]); /* warm-up */
  }
  for (size_t r = 0; r < rounds; r++)
    for (size_t i = 0; i < n; i++)
      if (!bench_sio_errors(c[i]))
        got[i] += bench_sio_echo(c[i], per, us[i] + got[i]);
  for (size_t i = 0; i < n; i++) {
    if (bench_sio_errors(c[i]))
      roster__bench_fail(1, "%s echo: %s", srv[i].impl, bench_sio_error(c[i]));
    if (got[i]) {
      roster__bench_sort(us[i], got[i]);
      double p50 = roster__bench_percentile(us[i], got[i], 0.5);
      double p99 = roster__bench_percentile(us[i], got[i], 0.99);
      roster__bench_add(&(bench_result){
          .impl = srv[i].impl, .op = "echo", .value = p50, .rate = 1e6 / p50});
      if (roster__bench.json)
        printf("{\"impl\":\"%s\",\"op\":\"echo\",\"samples\":%zu,"
               "\"p50_us\":%.1f,\"p99_us\":%.1f}\n",
               srv[i].impl, got[i], p50, p99);
      else
        printf("%-7s %-9s %7u %12.1f us p50  %.1f us p99  (%zu round trips)\n",
               srv[i].impl, "echo", 1u, p50, p99, got[i]);
      fflush(stdout);
    }
    bench_sio_clients_free(c[i]);
    free(us[i]);
  }
}

/* ---- targets ---- */

static void targets(const unsigned *fan, size_t nfan, const unsigned *idle,
                    size_t nidle) {
  roster__bench_targets();
  char what[96];
  for (size_t i = 0; i < nfan; i++) {
    double r = roster__bench_ratio("roster", "node", "fanout", fan[i], fan[i]);
    snprintf(what, sizeof what, "roster / node delivered msgs/s, %u clients",
             fan[i]);
    roster__bench_target(what, r > 0 ? r : NAN, "x", ">= 3x", r >= 3);
    const bench_result *a =
        roster__bench_find("roster", "server_cpu", 0, fan[i]);
    const bench_result *b = roster__bench_find("node", "server_cpu", 0, fan[i]);
    if (a && b && a->value > 0) {
      snprintf(what, sizeof what,
               "(context) node / roster server CPU per msg, %u", fan[i]);
      roster__bench_context(what, b->value / a->value, 2, "x");
    }
  }
  for (size_t i = 0; i < nidle; i++) {
    const bench_result *a =
        roster__bench_find("roster", "idle_rss", 0, idle[i]);
    const bench_result *b = roster__bench_find("node", "idle_rss", 0, idle[i]);
    double r = a && b && a->value > 0 ? b->value / a->value : NAN;
    snprintf(what, sizeof what, "node / roster KiB per connection, %u idle",
             idle[i]);
    roster__bench_target(what, r, "x", ">= 5x", !isnan(r) && r >= 5);
  }
  for (size_t i = 0; i < nfan; i++) {
    double r =
        roster__bench_ratio("roster+redis", "roster", "fanout", fan[i], fan[i]);
    snprintf(what, sizeof what,
             "(context) through Redis / one node msgs/s, %u clients", fan[i]);
    if (r > 0)
      roster__bench_context(what, r, 2, "x");
  }
  const bench_result *a = roster__bench_find("roster", "echo", 0, 0);
  const bench_result *b = roster__bench_find("node", "echo", 0, 0);
  if (a && b)
    roster__bench_context("(context) node / roster echo p50",
                          b->value / a->value, 2, "x");
}

/* ---- the program ---- */

static void raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  getrlimit(RLIMIT_NOFILE, &rl);
  fprintf(roster__bench.out,
          "# open files: %llu per process (the client "
          "and each server)\n",
          (unsigned long long)rl.rlim_cur);
}

static char self_exe[4096];
static char *roster_argv[] = {self_exe, "--serve-roster", NULL};
static char *node_argv[] = {"node", ROSTER_BENCH_DIR "/sio_server.js", "0",
                            NULL};
static char *redis_argv[] = {self_exe, "--serve-roster-redis", NULL, NULL};

static void find_impls(void) {
  ssize_t l = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
  self_exe[l > 0 ? l : 0] = 0;
  impls[nimpl++] = (impl){"roster", roster_argv, bench_sio_have_roster, false};
  if (!bench_sio_have_roster)
    roster__bench_warn("the socketio module is not in this build: no roster "
                       "rows");
  bool node = roster__bench_have_tool("node");
  bool sio = access(ROSTER_BENCH_DIR
                    "/../tests/interop/node_modules/socket.io/package.json",
                    R_OK) == 0;
  impls[nimpl++] = (impl){"node", node_argv, node && sio, false};
  redis_argv[2] = getenv("ROSTER_TEST_REDIS_URL");
  impls[nimpl++] = (impl){"roster+redis", redis_argv,
                          bench_sio_have_redis && redis_argv[2], true};
  if (!bench_sio_have_redis)
    roster__bench_warn("the sio_redis module is not in this build: no "
                       "roster+redis rows");
  else if (!redis_argv[2])
    roster__bench_warn("ROSTER_TEST_REDIS_URL is not set: no roster+redis "
                       "rows (scripts/services.sh starts a Redis)");
  if (!node)
    roster__bench_warn("node not installed: no node rows (install nodejs, "
                       "then run scripts/npm.sh)");
  else if (!sio)
    roster__bench_warn("socket.io not installed: no node rows (run "
                       "scripts/npm.sh)");
}

static const bench_spec spec = {
    .prog = "roster-bench-sio",
    .about = "  Measures roster's Socket.IO server beside Node's socket.io "
             "4.8, both driven\n  by one C client: delivered messages/s of "
             "a broadcast at 200 and 1,000\n  clients, memory per idle "
             "connection at 1,000 and 10,000, echo round trips.\n",
    .quick = "50 clients, 200 idle, 0.3 s runs",
};

int main(int argc, char **argv) {
  if (argc == 2 && !strcmp(argv[1], "--serve-roster"))
    return bench_sio_serve();
  if (argc == 3 && !strcmp(argv[1], "--serve-roster-redis"))
    return bench_sio_serve_redis(argv[2]);
  signal(SIGPIPE, SIG_IGN);
  roster__bench_init(&spec, argc, argv);
  raise_nofile();
  find_impls();
  static const unsigned fan_full[] = {200, 1000}, idle_full[] = {1000, 10000};
  static const unsigned fan_quick[] = {50}, idle_quick[] = {200};
  bool q = roster__bench.quick;
  const unsigned *fan = q ? fan_quick : fan_full;
  const unsigned *idle = q ? idle_quick : idle_full;
  size_t nfan = q ? 1 : 2, nidle = q ? 1 : 2;
  fprintf(roster__bench.out,
          "# roster-bench-sio, window %d, 100-byte broadcasts, servers on "
          "127.0.0.1 in their own processes\n",
          WINDOW);

  for (size_t j = 0; j < nidle; j++)
    for (size_t i = 0; i < nimpl; i++)
      if (impls[i].on && !impls[i].fanout_only)
        idle_row(&impls[i], idle[j]);

  server srv[MAX_SERVERS];
  size_t n = 0, nlocal = 0; /* the fanout_only ones last */
  for (int only = 0; only < 2; only++)
    for (size_t i = 0; i < nimpl; i++) {
      if (!impls[i].on || impls[i].fanout_only != only)
        continue;
      if (server_start(&impls[i], &srv[n]))
        n++;
      else {
        roster__bench_fail(1, "%s: the server did not start", impls[i].name);
        server_stop(&srv[n]);
      }
      if (!only)
        nlocal = n;
    }
  for (size_t j = 0; j < nfan && n; j++)
    fanout_rows(srv, n, fan[j]);
  if (nlocal)
    echo_rows(srv, nlocal);
  for (size_t i = 0; i < n; i++)
    server_stop(&srv[i]);
  targets(fan, nfan, idle, nidle);
  return roster__bench_finish();
}
