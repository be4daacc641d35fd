/*
 * bench_http.c: requests per second through a roster HTTP client
 * (roster/http.h) against a local server on roster's httpd module (one
 * I/O thread, a 64-byte answer), beside libcurl driven directly in the
 * same run, on the same server, over the same number T of keep-alive
 * connections:
 *
 *   - roster        roster_http_request from T threads sharing one client
 *                   (a pool of easy handles over a curl share)
 *   - roster-all    one thread calling roster_http_request_all, 64
 *                   requests a call, on a client of max_connections T
 *   - curl-multi    one thread driving a curl multi handle with T
 *                   transfers in flight, each re-added when done
 *   - roster-all-8  roster-all with 8 requests a call
 *   - curl-multi-8  curl-multi in batches of 8 requests: T in flight,
 *                   each re-added while the batch has requests left, the
 *                   batch driven until all 8 end: roster-all-8's shape,
 *                   where connections idle as a batch drains
 *   - curl-easy     one curl_easy handle per thread, reused: libcurl with
 *                   nothing of roster's around it
 *   - curl-new-conn curl_easy_init/perform/cleanup per request: a new TCP
 *                   connection each time (the keep-alive vs new-connection
 *                   row)
 *
 * Each case runs on threads of its own and makes its connections before
 * its clock starts. A warm-up round, then ROUNDS interleaved rounds; each
 * row is the median of the rounds, and the targets, roster (1 connection)
 * and roster-all (4) >= 0.9x curl-multi and roster-all-8 >= 0.9x
 * curl-multi-8, are medians of the ratios round by round. The process's CPU
 * time per request is shown beside the rate. Everything runs on all the
 * process's CPUs, then again with every thread pinned to one (on a VM, wake-ups
 * across cores set the first; the second shows what the client costs). Every
 * answer is checked (status 200 and the 64 bytes): a wrong one is a failure and
 * the exit code is 1. --only IMPL and --requests N run one case at a fixed
 * size, for perf or callgrind. See bench/README.md.
 */
#include "bench.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <roster.h>
#include <roster/http.h>
#include <roster/httpd.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sched.h>
#include <sys/resource.h>

#define BODY 64
#define ROUNDS 9 /* counted, after one warm-up round */

static char url[96], base[64];
static roster_http *client;

static void h_answer(roster_httpd_request *req, void *arg) {
  (void)arg;
  static const char body[BODY + 1] =
      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  roster_httpd_respond(req, 200, NULL, body, BODY);
}

static size_t count_write(char *p, size_t s, size_t n, void *arg) {
  (void)p;
  *(size_t *)arg += s * n;
  return s * n;
}

static bool easy_get(CURL *h) {
  size_t got = 0;
  long st = 0;
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &got);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  if (curl_easy_perform(h) != CURLE_OK)
    return false;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
  return st == 200 && got == BODY;
}

/* multi_setup: a transfer of the multi case (its count of bytes at got,
 * also its CURLOPT_PRIVATE). */
static void multi_setup(CURL *h, size_t *got) {
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, got);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
}

/* multi_drive runs m until done transfers have ended, re-adding each
 * finished one while more (the count still to start) remain; a wrong
 * answer counts in *errors. */
static void multi_drive(CURLM *m, uint64_t done, uint64_t more,
                        uint64_t *errors) {
  while (done) {
    int running = 0, q = 0;
    curl_multi_perform(m, &running);
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(m, &q))) {
      if (msg->msg != CURLMSG_DONE)
        continue;
      CURL *e = msg->easy_handle;
      size_t *g = NULL;
      long st = 0;
      curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&g);
      curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &st);
      if (msg->data.result != CURLE_OK || st != 200 || *g != BODY)
        (*errors)++;
      *g = 0;
      done--;
      curl_multi_remove_handle(m, e);
      if (more) {
        more--;
        curl_multi_add_handle(m, e);
      }
    }
    if (done)
      curl_multi_poll(m, NULL, 0, 100, NULL);
  }
}

/* ---- the bodies ---- */

static bool client_get(void) {
  roster_http_req req = {.path = "/x"};
  roster_http_response *r = NULL;
  bool ok = roster_http_request(client, &req, &r) == ROSTER_OK &&
            r->status == 200 && r->body_len == BODY;
  roster_http_response_free(r);
  return ok;
}

static void roster_body(bench_thread *t) {
  if (!client_get()) /* untimed: a connection is made or taken */
    t->errors++;
  roster__bench_start(t);
  for (uint64_t i = 0; i < t->ops; i++)
    if (!client_get())
      t->errors++;
}

/* all_body: one thread, roster_http_request_all over the case's client
 * (max_connections T), `batch` requests a call: T in flight, each slot
 * taken again as an answer comes, as curl-multi re-adds its transfers;
 * the connections idle only while a call's last answers come, which 64
 * requests a call makes rare and 8 do not (see curl-multi-8). */
static roster_http *all_client; /* max_connections = the case's T */
#define BATCH_MAX 64
#define BATCH_SMALL 8 /* roster-all-8 and curl-multi-8: the same shape */

static bool all_get(unsigned k) {
  roster_http_req reqs[BATCH_MAX] = {0};
  roster_http_response *outs[BATCH_MAX] = {0};
  for (unsigned i = 0; i < k; i++)
    reqs[i] = (roster_http_req){.path = "/x"};
  bool ok =
      roster_http_request_all(all_client, reqs, k, outs, NULL) == ROSTER_OK;
  for (unsigned i = 0; i < k; i++) {
    ok = ok && outs[i]->status == 200 && outs[i]->body_len == BODY;
    roster_http_response_free(outs[i]);
  }
  return ok;
}

static void all_run(bench_thread *t, unsigned batch) {
  if (!all_get(batch)) /* untimed: the connections are made */
    t->errors++;
  roster__bench_start(t);
  for (uint64_t i = 0; i < t->ops;) {
    unsigned k = t->ops - i < batch ? (unsigned)(t->ops - i) : batch;
    if (!all_get(k))
      t->errors += k;
    i += k;
  }
}

static void all_body(bench_thread *t) { all_run(t, BATCH_MAX); }
static void all8_body(bench_thread *t) { all_run(t, BATCH_SMALL); }

static void easy_body(bench_thread *t) {
  CURL *h = curl_easy_init();
  if (!easy_get(h)) /* untimed: the connection is made */
    t->errors++;
  roster__bench_start(t);
  for (uint64_t i = 0; i < t->ops; i++)
    if (!easy_get(h))
      t->errors++;
  bench_stop(t);
  curl_easy_cleanup(h);
}

static void new_conn_body(bench_thread *t) {
  roster__bench_start(t);
  for (uint64_t i = 0; i < t->ops; i++) {
    CURL *h = curl_easy_init();
    if (!easy_get(h))
      t->errors++;
    curl_easy_cleanup(h);
  }
}

typedef struct mcase {
  bench_body body;
  unsigned threads;
  /* the rate of each round (0: the run failed), for the medians */
  double rate[ROUNDS + 1];
  double cpu[ROUNDS + 1]; /* the process's CPU time per request, in us */
  int rounds;
} mcase;

/* cpu_now: the process's CPU time (user + system, every thread: the
 * server's too, the same for every case), in seconds. */
static double cpu_now(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* keep: the rate and the CPU time of a run (which began at cpu0) into its
 * case's rounds. */
static bench_sample keep(mcase *c, bench_sample s, double cpu0) {
  double cpu = cpu_now() - cpu0;
  if (c->rounds <= ROUNDS) {
    c->cpu[c->rounds] = s.ops ? 1e6 * cpu / (double)s.ops : 0;
    c->rate[c->rounds++] = s.ops ? bench_rate(&s) : 0;
  }
  return s;
}

static bench_sample threads_rate(void *arg, uint64_t ops) {
  mcase *c = arg;
  double cpu0 = cpu_now();
  bench_sample s =
      roster__bench_threads(c->body, NULL, c->threads, ops / c->threads);
  roster__bench_check(&s, "http", "get");
  return keep(c, s, cpu0);
}

/* multi_run: one thread, one multi handle, T (t->arg) transfers in
 * flight, the requests in batches of `batch`: each transfer re-added while
 * its batch has requests left, and a batch driven until all of it ends
 * before the next starts. On a thread of its own, as every other case:
 * where the scheduler puts a client thread beside the server's I/O thread
 * (one core or two) moves these rates by a quarter on this machine. */
static void multi_run(bench_thread *t, uint64_t batch) {
  unsigned T = *(unsigned *)t->arg;
  CURLM *m = curl_multi_init();
  CURL **h = roster__bench_xcalloc(T, sizeof *h);
  size_t *got = roster__bench_xcalloc(T, sizeof *got);
  /* untimed: the T connections are made, all at once (one after the other
   * would leave one connection for all T) */
  for (unsigned i = 0; i < T; i++) {
    h[i] = curl_easy_init();
    curl_easy_setopt(h[i], CURLOPT_PRIVATE, &got[i]);
    multi_setup(h[i], &got[i]);
    curl_multi_add_handle(m, h[i]);
  }
  multi_drive(m, T, 0, &t->errors);
  roster__bench_start(t);
  for (uint64_t i = 0; i < t->ops;) {
    uint64_t k = t->ops - i < batch ? t->ops - i : batch;
    unsigned started = k < T ? (unsigned)k : T;
    for (unsigned j = 0; j < started; j++)
      curl_multi_add_handle(m, h[j]);
    multi_drive(m, k, k - started, &t->errors);
    i += k;
  }
  bench_stop(t);
  for (unsigned i = 0; i < T; i++)
    curl_easy_cleanup(h[i]);
  curl_multi_cleanup(m);
  free(h);
  free(got);
}

/* multi_body: curl-multi, one batch of every request: T always in flight */
static void multi_body(bench_thread *t) { multi_run(t, UINT64_MAX); }
/* multi8_body: curl-multi-8, what roster-all-8 does, with libcurl alone */
static void multi8_body(bench_thread *t) { multi_run(t, BATCH_SMALL); }

/* one_thread_rate: a case of one thread driving T transfers (roster-all,
 * curl-multi), counted as T connections as the other rows. */
static bench_sample one_thread_rate(void *arg, uint64_t ops) {
  mcase *c = arg;
  double cpu0 = cpu_now();
  bench_sample s = roster__bench_threads(c->body, &c->threads, 1, ops);
  s.threads = c->threads;
  roster__bench_check(&s, "http", "get");
  return keep(c, s, cpu0);
}

static double median(double *v, int n) {
  roster__bench_sort(v, (size_t)n);
  return roster__bench_percentile(v, (size_t)n, 0.5);
}

/* rounds_median: the median of x (a case's rate or cpu) over its counted
 * rounds (the first is the warm-up); 0 when a round failed. */
static double rounds_median(const mcase *c, const double *x) {
  double v[ROUNDS];
  int n = 0;
  for (int i = 1; i < c->rounds; i++) {
    if (x[i] <= 0)
      return 0;
    v[n++] = x[i];
  }
  return n ? median(v, n) : 0;
}

/* ratio_median: the median over the counted rounds of a's rate over b's
 * in the same round (a busy moment of the machine falls on both). */
static double ratio_median(const mcase *a, const mcase *b) {
  double v[ROUNDS];
  int n = 0;
  for (int i = 1; i < a->rounds && i < b->rounds; i++)
    if (a->rate[i] > 0 && b->rate[i] > 0)
      v[n++] = a->rate[i] / b->rate[i];
  return n ? median(v, n) : 0;
}

/* ---- one CPU, or all ---- */

static cpu_set_t all_cpus; /* the process's mask at the start */
static unsigned pinned;    /* 1: every thread runs on one CPU; 0: as given */

/* pin_all puts every thread of the process (the server's I/O thread too;
 * the ones made later inherit it) on the first CPU of all_cpus (one), or
 * back on all_cpus (!one). */
static void pin_all(bool one) {
  cpu_set_t set = all_cpus;
  if (one) {
    CPU_ZERO(&set);
    for (int i = 0; i < CPU_SETSIZE; i++)
      if (CPU_ISSET(i, &all_cpus)) {
        CPU_SET(i, &set);
        break;
      }
  }
  DIR *d = opendir("/proc/self/task");
  if (!d)
    roster__bench_die("opendir /proc/self/task");
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.' &&
        sched_setaffinity((pid_t)atoi(e->d_name), sizeof set, &set) != 0)
      roster__bench_die("sched_setaffinity");
  closedir(d);
  pinned = one;
}

static void print_row(const bench_case *c, const mcase *m) {
  double rate = rounds_median(m, m->rate), cpu = rounds_median(m, m->cpu);
  unsigned threads = m->threads;
  unsigned cpus = pinned ? 1 : (unsigned)CPU_COUNT(&all_cpus);
  roster__bench_add(
      &(bench_result){.impl = c->impl,
                      .op = "get",
                      .threads = threads,
                      .size = pinned, /* 1: the one-CPU rows */
                      .rate = rate,
                      .ns_per_op = rate > 0 ? 1e9 * threads / rate : 0});
  if (roster__bench.json)
    printf("{\"impl\":\"%s\",\"op\":\"get\",\"threads\":%u,\"cpus\":%u,"
           "\"req_per_sec\":%.0f,\"us_per_req\":%.1f,\"cpu_us_per_req\":"
           "%.1f,\"ops\":%" PRIu64 ",\"median_of\":%d}\n",
           c->impl, threads, cpus, rate, rate > 0 ? 1e6 * threads / rate : 0,
           cpu, c->ops, m->rounds - 1);
  else
    printf("%-14s %5u %7u %12.0f %10.1f %8.1f %10" PRIu64 " %6.0f%%\n", c->impl,
           cpus, threads, rate, rate > 0 ? 1e6 * threads / rate : 0, cpu,
           c->ops, 100.0 * roster__bench_spread(c));
  fflush(stdout);
}

static const char *only; /* --only IMPL: that case alone (for a profiler) */
static uint64_t fixed;   /* --requests N: per run, without calibration */

/* the targets of one measure: the median, round by round, of the rate of
 * roster's row of curl-multi's shape (one thread driving T transfers:
 * roster at 1 connection, roster-all at more) over curl-multi's; of
 * roster-all-8's over curl-multi-8's; of roster's (T blocking threads)
 * over curl-multi's. */
typedef struct ratios {
  double same, batch8, blocking;
} ratios;

/* measure: the cases at T connections, calibrated on roster, run in
 * interleaved rounds (a warm-up round, then ROUNDS counted). */
static ratios measure(unsigned threads, double target_s) {
  enum { N = 7 };
  /* roster's rows and curl-multi next to each other in every round; the
   * new-connection case last (its runs are shorter) */
  mcase ms[N] = {{.body = roster_body, .threads = threads},
                 {.body = all_body, .threads = threads},
                 {.body = multi_body, .threads = threads},
                 {.body = all8_body, .threads = threads},
                 {.body = multi8_body, .threads = threads},
                 {.body = easy_body, .threads = threads},
                 {.body = new_conn_body, .threads = threads}};
  bench_case cs[N] = {
      {.impl = "roster", .op = "get", .fn = threads_rate, .arg = &ms[0]},
      {.impl = "roster-all", .op = "get", .fn = one_thread_rate, .arg = &ms[1]},
      {.impl = "curl-multi", .op = "get", .fn = one_thread_rate, .arg = &ms[2]},
      {.impl = "roster-all-8",
       .op = "get",
       .fn = one_thread_rate,
       .arg = &ms[3]},
      {.impl = "curl-multi-8",
       .op = "get",
       .fn = one_thread_rate,
       .arg = &ms[4]},
      {.impl = "curl-easy", .op = "get", .fn = threads_rate, .arg = &ms[5]},
      {.impl = "curl-new-conn", .op = "get", .fn = threads_rate, .arg = &ms[6]},
  };
  if (roster_http_new(&(roster_http_options){.name = "bench-all",
                                             .base_url = base,
                                             .max_connections = threads},
                      &all_client))
    roster__bench_die("client: %s", roster_last_error());
  size_t first = 0, n = N;
  for (size_t i = 0; only && i < N; i++)
    if (strcmp(only, cs[i].impl) == 0)
      first = i, n = 1;
  if (!fixed)
    roster__bench_calibrate(&cs[first], target_s, 2);
  uint64_t ops = fixed ? fixed : cs[first].ops;
  for (size_t i = 0; i < N; i++) {
    /* a new connection per request is about 4x slower: a quarter of the
     * requests keeps its rounds as long as the others' */
    uint64_t k = i == N - 1 && n > 1 ? ops / 4 : ops;
    k -= k % threads;
    cs[i].ops = k < threads ? threads : k;
    ms[i].rounds = 0;
  }
  roster__bench_measure(&cs[first], n, ROUNDS + 1);
  for (size_t i = first; i < first + n; i++)
    print_row(&cs[i], &ms[i]);
  roster_http_free(all_client);
  all_client = NULL;
  return (ratios){.same = ratio_median(&ms[threads == 1 ? 0 : 1], &ms[2]),
                  .batch8 = ratio_median(&ms[3], &ms[4]),
                  .blocking = ratio_median(&ms[0], &ms[2])};
}

static int more(int argc, char **argv, int i) {
  bool o = strcmp(argv[i], "--only") == 0;
  if (!o && strcmp(argv[i], "--requests") != 0)
    return 0;
  if (i + 1 >= argc)
    return -1;
  if (o)
    only = argv[i + 1];
  else if ((fixed = strtoull(argv[i + 1], NULL, 10)) == 0)
    return -1;
  return 2;
}

static const bench_spec spec = {
    .prog = "roster-bench-http",
    .about = "  HTTP GET through a roster client beside libcurl driven\n"
             "  directly (easy, multi, a new connection per request).\n",
    .quick = "short runs",
    .more_usage = " [--only IMPL] [--requests N]",
    .more_help = "  --only IMPL    run that case alone (roster, roster-all,\n"
                 "                 curl-multi, roster-all-8, curl-multi-8,\n"
                 "                 curl-easy, curl-new-conn): for a profiler\n"
                 "  --requests N   N requests a run, not calibrated (with\n"
                 "                 perf stat: instructions per request)\n",
    .more = more,
};

int main(int argc, char **argv) {
  roster__bench_init(&spec, argc, argv);
  curl_global_init(CURL_GLOBAL_ALL);
  roster_httpd *srv = NULL;
  if (roster_httpd_new(&(roster_httpd_options){.name = "bench"}, &srv) ||
      roster_httpd_route(
          srv,
          &(roster_httpd_route_options){.prefix = "/", .handler = h_answer}) ||
      roster_httpd_start(srv))
    roster__bench_die("server: %s", roster_last_error());
  snprintf(base, sizeof base, "http://127.0.0.1:%u", roster_httpd_port(srv));
  snprintf(url, sizeof url, "%s/x", base);
  if (roster_http_new(&(roster_http_options){.name = "bench",
                                             .base_url = base,
                                             .max_connections = 16},
                      &client))
    roster__bench_die("client: %s", roster_last_error());
  double target = roster__bench.quick ? 0.05 : 0.4;
  if (!roster__bench.json)
    printf("%-14s %5s %7s %12s %10s %8s %10s %7s\n", "impl", "cpus", "conns",
           "req/s", "us/req", "cpu us", "ops", "spread");
  if (sched_getaffinity(0, sizeof all_cpus, &all_cpus) != 0)
    roster__bench_die("sched_getaffinity");
  /* [all CPUs, one CPU] x [1, 4 connections] */
  unsigned ts[] = {1, 4};
  ratios r[2][2];
  for (int one = 0; one < 2; one++) {
    pin_all(one);
    for (size_t i = 0; i < 2; i++)
      r[one][i] = measure(ts[i], target);
  }
  pin_all(false);
  if (only) {
    roster_http_free(client);
    roster_httpd_free(srv);
    return roster__bench_finish();
  }
  roster__bench_targets();
  for (int one = 0; one < 2; one++)
    for (size_t i = 0; i < 2; i++) {
      const char *cpus = one ? "one CPU" : "all CPUs";
      char what[80];
      snprintf(what, sizeof what, "%s / curl-multi, %u conn%s, %s",
               ts[i] == 1 ? "roster" : "roster-all", ts[i],
               ts[i] == 1 ? "" : "s", cpus);
      roster__bench_target(what, r[one][i].same, "x", ">= 0.9",
                           r[one][i].same >= 0.9);
      if (ts[i] == 1)
        continue;
      snprintf(what, sizeof what, "roster-all-8 / curl-multi-8, %u conns, %s",
               ts[i], cpus);
      roster__bench_target(what, r[one][i].batch8, "x", ">= 0.9",
                           r[one][i].batch8 >= 0.9);
    }
  for (int one = 0; one < 2; one++)
    roster__bench_context(one ? "roster (4 threads) / curl-multi, one CPU"
                              : "roster (4 threads) / curl-multi, all CPUs",
                          r[one][1].blocking, 2, "x");
  double k = roster__bench_ratio("curl-easy", "curl-new-conn", "get", 1, 0);
  roster__bench_context("keep-alive / new connection, 1 thread", k, 2, "x");
  roster_http_free(client);
  roster_httpd_free(srv);
  return roster__bench_finish();
}
