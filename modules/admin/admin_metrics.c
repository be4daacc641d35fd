/*
 * admin_metrics.c: /metrics, in the Prometheus text format 0.0.4 or in
 * OpenMetrics 1.0. The registry's entries are collected first (names and
 * stats copied inside read sections), then written one family at a time,
 * as both formats want every sample of a family together.
 */
#include "admin_impl.h"

#include <dirent.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- collecting -------------------------------------------------------- */

/* item: one entry (or one cron job): its labels, written and escaped, and
 * a copy of its stats. */
typedef struct item {
  char *labels; /* ns="a",name="b" */
  union {
    roster_pool_stats pool;
    roster_cache_stats cache;
    roster_log_stats log;
    roster_socketio_stats sio;
    roster_job_stats job;
  } u;
} item;

typedef struct items {
  item *v;
  size_t n, cap;
} items;

static void esc(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '\\')
      fputs("\\\\", f);
    else if (*s == '"')
      fputs("\\\"", f);
    else if (*s == '\n')
      fputs("\\n", f);
    else
      fputc(*s, f);
  }
}

/* labels_of: k1="v1",k2="v2"... for the n pairs given (malloc'd). */
static char *labels_of(size_t n, const char *const *kv) {
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  if (!f)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    fprintf(f, "%s%s=\"", i ? "," : "", kv[2 * i]);
    esc(f, kv[2 * i + 1]);
    fputc('"', f);
  }
  fclose(f);
  return out;
}

/* push adds an item with labels (taken); its stats are zeroed. */
static item *push(items *it, char *labels) {
  if (!labels)
    return NULL;
  if (it->n == it->cap) {
    size_t cap = it->cap ? 2 * it->cap : 8;
    item *v = realloc(it->v, cap * sizeof *v);
    if (!v) {
      free(labels);
      return NULL;
    }
    it->v = v;
    it->cap = cap;
  }
  item *x = &it->v[it->n++];
  memset(x, 0, sizeof *x);
  x->labels = labels;
  return x;
}

static char *entry_labels(const roster_info *info) {
  const char *kv[] = {"ns", info->ns, "name", info->name};
  return labels_of(2, kv);
}

static void collect_pool(const roster_info *info, void *arg) {
  roster_pool_stats st;
  roster_pool *p = roster_db_pool(info->instance);
  item *x;
  if (p && roster_pool_stats_get(p, &st) == ROSTER_OK &&
      (x = push(arg, entry_labels(info))))
    x->u.pool = st;
}

static void collect_cache(const roster_info *info, void *arg) {
  roster_cache_stats st;
  item *x;
  if (roster_cache_stats_get(info->instance, &st) == ROSTER_OK &&
      (x = push(arg, entry_labels(info))))
    x->u.cache = st;
}

static void collect_log(const roster_info *info, void *arg) {
  roster_log_stats st;
  item *x;
  if (roster_log_stats_get(info->instance, &st) == ROSTER_OK &&
      (x = push(arg, entry_labels(info))))
    x->u.log = st;
}

static void collect_sio(const roster_info *info, void *arg) {
  roster_socketio_stats st;
  item *x;
  if (roster_socketio_stats_get(info->instance, &st) == ROSTER_OK &&
      (x = push(arg, entry_labels(info))))
    x->u.sio = st;
}

static void collect_jobs(const roster_info *info, void *arg) {
  roster_job_list jl = {0};
  if (roster_sched_list(info->instance, &jl) != ROSTER_OK)
    return;
  for (size_t i = 0; i < jl.count; i++) {
    const char *kv[] = {"ns",       info->ns, "scheduler",
                        info->name, "job",    jl.items[i].name};
    item *x = push(arg, labels_of(3, kv));
    if (x)
      x->u.job = jl.items[i].stats;
  }
  roster_job_list_free(&jl);
}

static void items_free(items *it) {
  for (size_t i = 0; i < it->n; i++)
    free(it->v[i].labels);
  free(it->v);
}

/* ---- writing ----------------------------------------------------------- */

typedef struct mw {
  FILE *f;
  bool om;
} mw;

/* family writes HELP and TYPE; an OpenMetrics counter's family name has
 * no _total (its samples keep it). */
static void family(mw *w, const char *name, const char *type,
                   const char *help) {
  size_t n = strlen(name);
  if (w->om && strcmp(type, "counter") == 0 && n > 6 &&
      strcmp(name + n - 6, "_total") == 0)
    n -= 6;
  fprintf(w->f, "# HELP %.*s %s\n# TYPE %.*s %s\n", (int)n, name, help, (int)n,
          name, type);
}

static void sample(mw *w, const char *name, const char *labels, double v) {
  if (labels && *labels)
    fprintf(w->f, "%s{%s} ", name, labels);
  else
    fprintf(w->f, "%s ", name);
  if (v == floor(v) && fabs(v) < 9e15)
    fprintf(w->f, "%.0f\n", v);
  else
    fprintf(w->f, "%.9g\n", v);
}

/* field: one family over a list of items, each value at offset off in the
 * item's stats (an unsigned or a uint64_t; a bool for enabled). */
typedef enum { U32, U64, I64 } ftype;
typedef struct field {
  const char *name, *type, *help;
  size_t off;
  ftype t;
  double scale;
} field;

static double value_at(const item *x, const field *fd) {
  const char *p = (const char *)&x->u + fd->off;
  double v = fd->t == U32   ? *(const unsigned *)(const void *)p
             : fd->t == U64 ? (double)*(const uint64_t *)(const void *)p
                            : (double)*(const int64_t *)(const void *)p;
  return fd->scale ? v * fd->scale : v;
}

static void fields(mw *w, const items *it, const field *fs, size_t n) {
  if (!it->n)
    return;
  for (size_t k = 0; k < n; k++) {
    family(w, fs[k].name, fs[k].type, fs[k].help);
    for (size_t i = 0; i < it->n; i++)
      sample(w, fs[k].name, it->v[i].labels, value_at(&it->v[i], &fs[k]));
  }
}

#define F(name, type, help, st, member, t, scale)                              \
  { name, type, help, offsetof(st, member), t, scale }

static const field pool_fields[] = {
    F("roster_pool_max_size", "gauge", "Connections a pool may open.",
      roster_pool_stats, max_size, U32, 0),
    F("roster_pool_size", "gauge", "Connections open, idle or in use.",
      roster_pool_stats, size, U32, 0),
    F("roster_pool_idle", "gauge", "Connections open and idle.",
      roster_pool_stats, idle, U32, 0),
    F("roster_pool_in_use", "gauge", "Connections held by callers.",
      roster_pool_stats, in_use, U32, 0),
    F("roster_pool_waiters", "gauge", "Acquires queued now.", roster_pool_stats,
      waiters, U32, 0),
    F("roster_pool_acquires_total", "counter",
      "Acquires that returned a connection.", roster_pool_stats, acquires, U64,
      0),
    F("roster_pool_timeouts_total", "counter", "Acquires that timed out.",
      roster_pool_stats, timeouts, U64, 0),
    F("roster_pool_connect_failures_total", "counter", "Connects that failed.",
      roster_pool_stats, connect_failures, U64, 0),
};

static const field cache_fields[] = {
    F("roster_cache_entries", "gauge", "Keys held.", roster_cache_stats,
      entries, U64, 0),
    F("roster_cache_bytes", "gauge", "Bytes held (memory caches).",
      roster_cache_stats, bytes, U64, 0),
    F("roster_cache_hits_total", "counter", "Reads that found a value.",
      roster_cache_stats, hits, U64, 0),
    F("roster_cache_misses_total", "counter", "Reads that found none.",
      roster_cache_stats, misses, U64, 0),
    F("roster_cache_evictions_total", "counter",
      "Keys removed to stay within the limits.", roster_cache_stats, evicted,
      U64, 0),
    F("roster_cache_expirations_total", "counter",
      "Keys removed because their TTL passed.", roster_cache_stats, expired,
      U64, 0),
};

static const field job_fields[] = {
    F("roster_cron_runs_total", "counter", "Runs that returned.",
      roster_job_stats, runs, U64, 0),
    F("roster_cron_failures_total", "counter", "Runs that returned an error.",
      roster_job_stats, failures, U64, 0),
    F("roster_cron_skipped_total", "counter",
      "Runs skipped (overlap, full queue, disabled by its predicate).",
      roster_job_stats, skipped, U64, 0),
    F("roster_cron_elsewhere_total", "counter",
      "Cluster mode: ticks another node claimed and ran.", roster_job_stats,
      elsewhere, U64, 0),
    F("roster_cron_running", "gauge", "Runs in progress.", roster_job_stats,
      running, U32, 0),
    F("roster_cron_waiting", "gauge", "Runs queued, not started.",
      roster_job_stats, waiting, U32, 0),
    F("roster_cron_next_run_timestamp_seconds", "gauge",
      "Next fire time (Unix seconds; 0: none).", roster_job_stats, next_run,
      I64, 0),
    F("roster_cron_last_duration_seconds", "gauge",
      "How long the last run took.", roster_job_stats, last_duration_ns, I64,
      1e-9),
    F("roster_cron_last_lateness_seconds", "gauge",
      "How late the last scheduled run started after its fire time.",
      roster_job_stats, last_lateness_ns, I64, 1e-9),
};

static const field log_fields[] = {
    F("roster_log_lines_total", "counter", "Lines handed to the sinks.",
      roster_log_stats, written, U64, 0),
    F("roster_log_dropped_total", "counter",
      "Lines dropped because the async queue was full.", roster_log_stats,
      dropped, U64, 0),
    F("roster_log_errors_total", "counter", "Failed sink writes.",
      roster_log_stats, errors, U64, 0),
    F("roster_log_queued", "gauge", "Lines in the async queue now.",
      roster_log_stats, queued, U64, 0),
};

static const field sio_fields[] = {
    F("roster_socketio_connections", "gauge", "Engine.IO sessions open.",
      roster_socketio_stats, connections, U64, 0),
    F("roster_socketio_sockets", "gauge", "Namespace connections open.",
      roster_socketio_stats, sockets, U64, 0),
    F("roster_socketio_rooms", "gauge", "Rooms holding a socket.",
      roster_socketio_stats, rooms, U64, 0),
    F("roster_socketio_connections_total", "counter",
      "Engine.IO sessions opened.", roster_socketio_stats, connections_total,
      U64, 0),
    F("roster_socketio_refused_total", "counter", "CONNECTs refused.",
      roster_socketio_stats, refused, U64, 0),
    F("roster_socketio_packets_received_total", "counter",
      "Socket.IO packets received.", roster_socketio_stats, packets_in, U64, 0),
    F("roster_socketio_packets_sent_total", "counter",
      "Socket.IO packets sent.", roster_socketio_stats, packets_out, U64, 0),
    F("roster_socketio_received_bytes_total", "counter",
      "Engine.IO message bytes received.", roster_socketio_stats, bytes_in, U64,
      0),
    F("roster_socketio_sent_bytes_total", "counter",
      "Engine.IO message bytes sent.", roster_socketio_stats, bytes_out, U64,
      0),
    F("roster_socketio_dropped_total", "counter", "Volatile packets not sent.",
      roster_socketio_stats, dropped, U64, 0),
    F("roster_socketio_slow_consumers_total", "counter",
      "Connections closed over their queue bound.", roster_socketio_stats,
      slow_consumers, U64, 0),
};

#define NF(a) (sizeof(a) / sizeof *(a))

/* pool_waits: the wait-time histogram; bucket i of the pool's counts
 * queued waits under 2^i us (bucket 0: no wait), so le is 2^i us. The
 * pool keeps no sum of waits, so there is no _sum sample. */
static void pool_waits(mw *w, const items *it) {
  if (!it->n)
    return;
  family(w, "roster_pool_wait_seconds", "histogram",
         "Time acquires spent queued.");
  for (size_t i = 0; i < it->n; i++) {
    const roster_pool_stats *st = &it->v[i].u.pool;
    uint64_t cum = 0;
    for (int b = 0; b < ROSTER_POOL_WAIT_BUCKETS; b++) {
      cum += st->wait_hist[b];
      if (b == ROSTER_POOL_WAIT_BUCKETS - 1)
        fprintf(w->f, "roster_pool_wait_seconds_bucket{%s,le=\"+Inf\"} %llu\n",
                it->v[i].labels, (unsigned long long)cum);
      else
        fprintf(w->f, "roster_pool_wait_seconds_bucket{%s,le=\"%.9g\"} %llu\n",
                it->v[i].labels, ldexp(1.0, b) * 1e-6, (unsigned long long)cum);
    }
    fprintf(w->f, "roster_pool_wait_seconds_count{%s} %llu\n", it->v[i].labels,
            (unsigned long long)cum);
  }
}

static void services(mw *w, roster_admin *a) {
  roster_health_report rep = {0};
  if (roster_health(a->r, &rep) != ROSTER_OK)
    return;
  items it = {0};
  for (size_t i = 0; i < rep.count; i++) {
    const char *kv[] = {"ns", rep.items[i].ns, "name", rep.items[i].name};
    push(&it, labels_of(2, kv));
  }
  if (it.n == rep.count && it.n) {
    family(w, "roster_service_state", "gauge",
           "1 for the state a service is in, 0 for the others.");
    for (size_t i = 0; i < it.n; i++)
      for (int s = ROSTER_STATE_DECLARED; s <= ROSTER_STATE_FAILED; s++)
        fprintf(w->f, "roster_service_state{%s,state=\"%s\"} %d\n",
                it.v[i].labels, roster_state_name(s),
                (int)rep.items[i].state == s);
    static const char *const names[] = {
        "roster_service_restarts_total", "roster_service_live",
        "roster_service_check_failures", "roster_service_check_latency_seconds",
        "roster_service_ready"};
    static const char *const helps[] = {
        "Restarts so far.", "0 once the liveness check failed, until restart.",
        "Consecutive failed checks.", "How long the last check took.",
        "1 when the service is ready."};
    for (int k = 0; k < 5; k++) {
      family(w, names[k], k ? "gauge" : "counter", helps[k]);
      for (size_t i = 0; i < it.n; i++) {
        const roster_service_health *h = &rep.items[i];
        double v = k == 0   ? h->restarts
                   : k == 1 ? h->live
                   : k == 2 ? h->consecutive_failures
                   : k == 3 ? (double)h->last_latency_us * 1e-6
                            : h->state == ROSTER_STATE_READY;
        sample(w, names[k], it.v[i].labels, v);
      }
    }
  }
  items_free(&it);
  roster_health_report_free(&rep);
}

static void process(mw *w) {
  long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
  FILE *f = fopen("/proc/self/stat", "r");
  char buf[1024];
  size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  if (f)
    fclose(f);
  buf[n] = '\0';
  const char *p = strrchr(buf, ')'); /* the command may hold spaces */
  unsigned long long ut = 0, st = 0;
  long long rss = 0;
  /* after ')': state (3), ..., utime (14), stime (15), ..., rss (24) */
  if (p && sscanf(p + 2,
                  "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu "
                  "%*d %*d %*d %*d %*d %*d %*u %*u %lld",
                  &ut, &st, &rss) == 3) {
    family(w, "process_cpu_seconds_total", "counter",
           "User and system CPU time spent.");
    sample(w, "process_cpu_seconds_total", NULL, (double)(ut + st) / tick);
    family(w, "process_resident_memory_bytes", "gauge",
           "Resident memory size.");
    sample(w, "process_resident_memory_bytes", NULL, (double)rss * page);
  }
  DIR *d = opendir("/proc/self/fd");
  if (d) {
    long fds = -1; /* not the directory's own descriptor */
    for (struct dirent *e; (e = readdir(d));)
      fds += e->d_name[0] != '.';
    closedir(d);
    family(w, "process_open_fds", "gauge", "Open file descriptors.");
    sample(w, "process_open_fds", NULL, (double)fds);
  }
}

int roster__admin_metrics(roster_admin *a, bool openmetrics, char **out,
                          size_t *len) {
  *out = NULL;
  mw w = {open_memstream(out, len), openmetrics};
  if (!w.f)
    return roster_error_set(ROSTER_ENOMEM, "admin: out of memory");
  roster_stats rs = {0};
  roster_stats_get(a->r, &rs);
  static const char *const rn[] = {
      "roster_registry_entries", "roster_registry_namespaces",
      "roster_registry_lookups_total", "roster_registry_lookup_hits_total",
      "roster_registry_lookup_misses_total"};
  static const char *const rh[] = {
      "Entries registered now.", "Namespaces holding entries now.",
      "Lookups (get, acquire, has, lookup).", "Lookups that found the key.",
      "Lookups that did not."};
  double rv[] = {(double)rs.entries, (double)rs.namespaces, (double)rs.lookups,
                 (double)rs.hits, (double)rs.misses};
  for (int k = 0; k < 5; k++) {
    family(&w, rn[k], k < 2 ? "gauge" : "counter", rh[k]);
    sample(&w, rn[k], NULL, rv[k]);
  }
  services(&w, a);

  items pools = {0}, caches = {0}, jobs = {0}, logs = {0}, sios = {0};
  roster__admin_each(a, &roster_db_type, collect_pool, &pools);
  roster__admin_each(a, &roster_cache_type, collect_cache, &caches);
  roster__admin_each(a, &roster_sched_type, collect_jobs, &jobs);
  roster__admin_each(a, &roster_log_type, collect_log, &logs);
  roster__admin_each(a, &roster_socketio_type, collect_sio, &sios);
  /* the admin's own server, as ns="" */
  const char *own[] = {"ns", "", "name", a->name};
  item *x = push(&sios, labels_of(2, own));
  if (x)
    roster_socketio_stats_get(a->io, &x->u.sio);
  fields(&w, &pools, pool_fields, NF(pool_fields));
  pool_waits(&w, &pools);
  fields(&w, &caches, cache_fields, NF(cache_fields));
  fields(&w, &jobs, job_fields, NF(job_fields));
  fields(&w, &logs, log_fields, NF(log_fields));
  fields(&w, &sios, sio_fields, NF(sio_fields));
  items_free(&pools);
  items_free(&caches);
  items_free(&jobs);
  items_free(&logs);
  items_free(&sios);

  if (a->log) {
    family(&w, "roster_admin_log_lines_total", "counter",
           "Lines of the tapped logger, by level.");
    for (int i = 0; i < ROSTER__ADMIN_LEVELS; i++) {
      char lab[32];
      snprintf(lab, sizeof lab, "level=\"%s\"",
               roster_log_level_name((i + 1) * 10));
      sample(&w, "roster_admin_log_lines_total", lab,
             (double)atomic_load(&a->level_lines[i]));
    }
  }
  process(&w);
  if (openmetrics)
    fputs("# EOF\n", w.f);
  if (fclose(w.f) != 0 || !*out) {
    free(*out);
    *out = NULL;
    return roster_error_set(ROSTER_ENOMEM, "admin: out of memory");
  }
  return ROSTER_OK;
}
