/* testutil.c: shared test helpers (see testutil.h). */
#include "testutil.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static atomic_int destroyed;

static void counter_destroy(void *p) {
  (void)p;
  atomic_fetch_add(&destroyed, 1);
}

const roster_type roster__tu_counter_type = {.name = "counter",
                                             .destroy = counter_destroy};
const roster_type roster__tu_other_type = {.name = "other",
                                           .destroy = counter_destroy};

int roster__tu_destroyed(void) { return atomic_load(&destroyed); }
void roster__tu_reset_destroyed(void) { atomic_store(&destroyed, 0); }

roster *roster__tu_registry_at(const roster_options *options, const char *file,
                               int line) {
  roster *r = NULL;
  int rc = roster_new(options, &r);
  if (rc != ROSTER_OK || !r) {
    print_error("%s:%d: roster_new returned %s (%d) and %s; detail: %s\n", file,
                line, roster_err_name(rc), rc, r ? "a registry" : "no registry",
                roster_last_error());
    _fail(file, line);
  }
  return r;
}

void roster__tu_reglog_init(tu_reglog *l) {
  memset(l, 0, sizeof *l);
  pthread_mutex_init(&l->mu, NULL);
}

void roster__tu_reglog_fini(tu_reglog *l) { pthread_mutex_destroy(&l->mu); }

size_t roster__tu_reglog_count(tu_reglog *l) {
  pthread_mutex_lock(&l->mu);
  size_t n = l->n;
  pthread_mutex_unlock(&l->mu);
  return n;
}

void roster__tu_reglog_listener(roster *r, const roster_event *ev, void *arg) {
  tu_reglog *l = arg;
  const roster_info *en = ev->entry;
  bool vis = en && en->ns && en->name && roster_has(r, en->ns, en->name);
  int destroyed_then = roster__tu_destroyed();
  pthread_mutex_lock(&l->mu);
  if (l->n < TU_REGLOG_MAX) {
    tu_regev *e = &l->ev[l->n];
    e->r = r;
    e->kind = (int)ev->kind;
    e->reason = (int)ev->reason;
    snprintf(e->ns, sizeof e->ns, "%s", en && en->ns ? en->ns : "(null)");
    snprintf(e->name, sizeof e->name, "%s",
             en && en->name ? en->name : "(null)");
    e->type = en ? en->type : NULL;
    e->instance = en ? en->instance : NULL;
    e->owner = en ? en->owner : NULL;
    e->meta_len = en ? en->meta_len : 0;
    if (en && en->meta && en->meta_len <= sizeof e->meta)
      memcpy(e->meta, en->meta, en->meta_len);
    e->visible = vis;
    e->destroyed_then = destroyed_then;
    e->thread = pthread_self();
  }
  l->n++;
  pthread_mutex_unlock(&l->mu);
}

roster_owner *roster__tu_owner_at(const char *file, int line) {
  roster_owner *o = NULL;
  int rc = roster_owner_new(&o);
  if (rc != ROSTER_OK || !o) {
    print_error("%s:%d: roster_owner_new returned %s (%d) and %s; detail: %s\n",
                file, line, roster_err_name(rc), rc,
                o ? "an owner" : "no owner", roster_last_error());
    _fail(file, line);
  }
  return o;
}

uint64_t roster__tu_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void roster__tu_obj_init(tu_obj *o, int id) {
  atomic_store(&o->destroyed, 0);
  o->id = id;
}

void roster__tu_obj_destroy(void *p) {
  tu_obj *o = p;
  atomic_fetch_add(&o->destroyed, 1);
}

int roster__tu_obj_destroyed(tu_obj *o) { return atomic_load(&o->destroyed); }

int roster__tu_wait_destroyed(int n) {
  uint64_t end = roster__tu_now_ns() + 10ull * 1000000000u;
  while (atomic_load(&destroyed) < n && roster__tu_now_ns() < end) {
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  return atomic_load(&destroyed);
}

/* ---- lifecycle helpers ---------------------------------------------- */

#include <stdlib.h>
#include <string.h>

void roster__tu_sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

int roster__tu_state(roster *r, const char *ns, const char *name) {
  roster_state st;
  if (roster_service_state(r, ns, name, &st) != ROSTER_OK)
    return -1;
  return (int)st;
}

int roster__tu_wait_state(roster *r, const char *ns, const char *name,
                          roster_state want, long ms) {
  int st = roster__tu_state(r, ns, name);
  uint64_t end = roster__tu_now_ns() + (uint64_t)ms * 1000000u;
  while (st != (int)want && roster__tu_now_ns() < end) {
    roster__tu_sleep_ms(1);
    st = roster__tu_state(r, ns, name);
  }
  return st;
}

/* tu_log */

void roster__tu_log_init(tu_log *l) {
  memset(l, 0, sizeof *l);
  pthread_mutex_init(&l->mu, NULL);
}

void roster__tu_log_fini(tu_log *l) { pthread_mutex_destroy(&l->mu); }

void roster__tu_log_add(tu_log *l, const char *fmt, ...) {
  char buf[64];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  pthread_mutex_lock(&l->mu);
  if (l->n < TU_LOG_MAX)
    memcpy(l->items[l->n++], buf, sizeof buf);
  pthread_mutex_unlock(&l->mu);
}

size_t roster__tu_log_len(tu_log *l) {
  pthread_mutex_lock(&l->mu);
  size_t n = l->n;
  pthread_mutex_unlock(&l->mu);
  return n;
}

int roster__tu_log_find(tu_log *l, const char *s, size_t from) {
  int at = -1;
  pthread_mutex_lock(&l->mu);
  for (size_t i = from; i < l->n; i++)
    if (strcmp(l->items[i], s) == 0) {
      at = (int)i;
      break;
    }
  pthread_mutex_unlock(&l->mu);
  return at;
}

int roster__tu_log_rfind(tu_log *l, const char *s) {
  int at = -1;
  pthread_mutex_lock(&l->mu);
  for (size_t i = 0; i < l->n; i++)
    if (strcmp(l->items[i], s) == 0)
      at = (int)i;
  pthread_mutex_unlock(&l->mu);
  return at;
}

int roster__tu_log_count(tu_log *l, const char *s) {
  int c = 0;
  pthread_mutex_lock(&l->mu);
  for (size_t i = 0; i < l->n; i++)
    c += strcmp(l->items[i], s) == 0;
  pthread_mutex_unlock(&l->mu);
  return c;
}

void roster__tu_log_dump(tu_log *l) {
  pthread_mutex_lock(&l->mu);
  for (size_t i = 0; i < l->n; i++)
    print_message("  log[%zu] %s\n", i, l->items[i]);
  pthread_mutex_unlock(&l->mu);
}

/* tu_events */

tu_events *roster__tu_events_new(void) {
  tu_events *e = calloc(1, sizeof *e);
  if (e)
    pthread_mutex_init(&e->mu, NULL);
  return e;
}

void roster__tu_events_free(tu_events *e) {
  if (!e)
    return;
  pthread_mutex_destroy(&e->mu);
  free(e);
}

void roster__tu_events_listener(roster *r, const roster_event *ev, void *arg) {
  tu_events *e = arg;
  if (ev->kind != ROSTER_EV_STATE)
    return;
  tu_ev x;
  memset(&x, 0, sizeof x);
  x.kind_ok = ev->state != NULL && ev->entry != NULL;
  if (ev->entry) {
    snprintf(x.ns, sizeof x.ns, "%s", ev->entry->ns ? ev->entry->ns : "");
    snprintf(x.name, sizeof x.name, "%s",
             ev->entry->name ? ev->entry->name : "");
  }
  if (ev->state) {
    x.from = ev->state->from;
    x.to = ev->state->to;
    x.at_ns = ev->state->at_ns;
    x.at_unix_ms = ev->state->at_unix_ms;
    x.error = ev->state->error;
    snprintf(x.detail, sizeof x.detail, "%s",
             ev->state->detail ? ev->state->detail : "(null)");
    x.final = ev->state->final;
  }
  x.seen_state =
      ev->entry ? roster__tu_state(r, ev->entry->ns, ev->entry->name) : -1;
  pthread_mutex_lock(&e->mu);
  if (e->n < TU_EV_MAX)
    e->v[e->n++] = x;
  else
    e->dropped++;
  pthread_mutex_unlock(&e->mu);
}

size_t roster__tu_events_count(tu_events *e, const char *name, int to) {
  size_t c = 0;
  pthread_mutex_lock(&e->mu);
  for (size_t i = 0; i < e->n; i++)
    if (strcmp(e->v[i].name, name) == 0 && (to < 0 || (int)e->v[i].to == to))
      c++;
  pthread_mutex_unlock(&e->mu);
  return c;
}

size_t roster__tu_events_get(tu_events *e, const char *name, tu_ev *out,
                             size_t cap) {
  size_t c = 0;
  pthread_mutex_lock(&e->mu);
  for (size_t i = 0; i < e->n && c < cap; i++)
    if (!name || strcmp(e->v[i].name, name) == 0)
      out[c++] = e->v[i];
  pthread_mutex_unlock(&e->mu);
  return c;
}

void roster__tu_events_dump(tu_events *e, const char *name) {
  pthread_mutex_lock(&e->mu);
  for (size_t i = 0; i < e->n; i++)
    if (!name || strcmp(e->v[i].name, name) == 0)
      print_message("  ev %s: %s -> %s at %lld err %d final %d %s\n",
                    e->v[i].name, roster_state_name(e->v[i].from),
                    roster_state_name(e->v[i].to), (long long)e->v[i].at_ns,
                    e->v[i].error, (int)e->v[i].final, e->v[i].detail);
  pthread_mutex_unlock(&e->mu);
}

/* tu_svc */

const roster_type roster__tu_svc_type = {.name = "tu_svc"};

void roster__tu_svc_init(tu_svc *s, const char *name, tu_log *log,
                         const char *const *deps) {
  memset(s, 0, sizeof *s);
  s->name = name;
  s->log = log;
  size_t n = 0;
  for (; deps && deps[n] && n < TU_SVC_DEPS; n++)
    s->deps[n] = deps[n];
  s->deps[n] = NULL;
  atomic_init(&s->creates, 0);
  atomic_init(&s->destroys, 0);
  atomic_init(&s->deps_bad, false);
  atomic_init(&s->start_ns, 0);
  atomic_init(&s->end_ns, 0);
  atomic_init(&s->live_instances, 0);
}

roster_provider roster__tu_svc_provider(tu_svc *s) {
  roster_provider p = {0};
  p.type = &roster__tu_svc_type;
  p.create = roster__tu_svc_create;
  p.destroy = roster__tu_svc_destroy;
  p.arg = s;
  p.deps = s->deps[0] ? s->deps : NULL;
  return p;
}

void roster__tu_provide_at(roster *r, const char *ns, const char *name,
                           tu_svc *s, bool lazy, const char *file, int line) {
  roster_provider p = roster__tu_svc_provider(s);
  p.lazy = lazy;
  int rc = roster_provide(r, ns, name, &p);
  if (rc != ROSTER_OK) {
    print_error("%s:%d: roster_provide(%s, %s) returned %s (%d); detail: %s\n",
                file, line, ns ? ns : "NULL", name, roster_err_name(rc), rc,
                roster_last_error());
    _fail(file, line);
  }
}

int roster__tu_svc_create(void *arg, const roster_deps *deps, void **out) {
  tu_svc *s = arg;
  int gen = atomic_fetch_add(&s->creates, 1) + 1;
  atomic_store(&s->start_ns, (long long)roster__tu_now_ns());
  if (s->log)
    roster__tu_log_add(s->log, "create:%s", s->name);
  if (s->sleep_ms)
    roster__tu_sleep_ms(s->sleep_ms);
  /* What create is given must be exactly the named dependencies, ready. */
  size_t n = 0;
  while (s->deps[n])
    n++;
  bool bad = !deps || deps->count != n;
  for (size_t i = 0; !bad && i < n; i++) {
    bad |= deps->names == NULL || deps->instances == NULL;
    if (bad)
      break;
    bad |= strcmp(deps->names[i], s->deps[i]) != 0;
    bad |= roster_deps_get(deps, s->deps[i]) != deps->instances[i];
  }
  if (deps && roster_deps_get(deps, "tu-no-such-dependency") != NULL)
    bad = true;
  if (bad)
    atomic_store(&s->deps_bad, true);
  atomic_store(&s->end_ns, (long long)roster__tu_now_ns());
  if (s->fail_code) {
    if (s->log)
      roster__tu_log_add(s->log, "failed:%s", s->name);
    /* The detail does not name the service: roster must add that. */
    return roster_error_set(s->fail_code, "create went wrong on purpose");
  }
  tu_inst *in = calloc(1, sizeof *in);
  if (!in)
    return roster_error_set(ROSTER_ENOMEM, "out of memory");
  in->svc = s;
  in->gen = gen;
  in->ndeps = n;
  for (size_t i = 0; i < n && deps; i++)
    in->deps[i] = roster_deps_get(deps, s->deps[i]);
  atomic_fetch_add(&s->live_instances, 1);
  if (s->log)
    roster__tu_log_add(s->log, "created:%s", s->name);
  *out = in;
  return ROSTER_OK;
}

void roster__tu_svc_destroy(void *arg, void *instance) {
  tu_svc *s = arg;
  tu_inst *in = instance;
  if (s->log)
    roster__tu_log_add(s->log, "destroy:%s", s->name);
  if (!in || in->svc != s)
    atomic_store(&s->deps_bad, true); /* destroy given a foreign instance */
  free(in);
  atomic_fetch_sub(&s->live_instances, 1);
  if (s->log)
    roster__tu_log_add(s->log, "destroyed:%s", s->name);
  atomic_fetch_add(&s->destroys, 1);
}

/* tu_gate */

void roster__tu_gate_init(tu_gate *g) {
  memset(g, 0, sizeof *g);
  pthread_mutex_init(&g->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&g->cv, &ca);
  pthread_condattr_destroy(&ca);
  atomic_init(&g->waiting, 0);
  atomic_init(&g->passed, 0);
}

void roster__tu_gate_open(tu_gate *g) {
  pthread_mutex_lock(&g->mu);
  g->open = true;
  pthread_cond_broadcast(&g->cv);
  pthread_mutex_unlock(&g->mu);
}

bool roster__tu_gate_wait(tu_gate *g, long max_ms) {
  atomic_fetch_add(&g->waiting, 1);
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += max_ms / 1000;
  ts.tv_nsec += (max_ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&g->mu);
  while (!g->open)
    if (pthread_cond_timedwait(&g->cv, &g->mu, &ts) != 0)
      break;
  bool open = g->open;
  pthread_mutex_unlock(&g->mu);
  atomic_fetch_sub(&g->waiting, 1);
  atomic_fetch_add(&g->passed, 1);
  return open;
}

const char *roster__tu_server_url(const char *which) {
  char var[64];
  snprintf(var, sizeof var, "ROSTER_TEST_%s_URL", which);
  const char *url = getenv(var);
  if (url && *url)
    return url;
  const char *req = getenv("ROSTER_TEST_REQUIRE_SERVERS");
  if (req && strcmp(req, "1") == 0) {
    print_error("%s is not set, and ROSTER_TEST_REQUIRE_SERVERS=1: the "
                "%s server is required (scripts/test.sh starts it)\n",
                var, which);
    fail();
  }
  print_message("skipping: %s is not set (run the tests through "
                "scripts/test.sh to start the servers)\n",
                var);
  skip();
  return NULL;
}

static bool tool_found(const char *tool) {
  if (strchr(tool, '/'))
    return access(tool, X_OK) == 0;
  const char *path = getenv("PATH");
  for (const char *p = path ? path : ""; *p;) {
    const char *e = strchr(p, ':');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    char f[1024];
    if (n &&
        (size_t)snprintf(f, sizeof f, "%.*s/%s", (int)n, p, tool) < sizeof f &&
        access(f, X_OK) == 0)
      return true;
    p += n + (e != NULL);
  }
  return false;
}

bool roster__tu_peers_ok(const char *dir, const char *const *packages,
                         const char *const *tools) {
  char missing[512] = "";
  size_t len = 0;
  for (size_t i = 0; packages && packages[i]; i++) {
    char f[1200];
    snprintf(f, sizeof f, "%s/node_modules/%s/package.json", dir, packages[i]);
    if (access(f, R_OK) != 0)
      len += (size_t)snprintf(missing + len, sizeof missing - len,
                              "%s%s (scripts/npm.sh)", len ? ", " : "",
                              packages[i]);
    if (len >= sizeof missing)
      len = sizeof missing - 1;
  }
  for (size_t i = 0; tools && tools[i]; i++) {
    if (!tool_found(tools[i]))
      len += (size_t)snprintf(missing + len, sizeof missing - len,
                              "%s%s (not found; scripts/deps.sh and "
                              "scripts/npm.sh install the tools)",
                              len ? ", " : "", tools[i]);
    if (len >= sizeof missing)
      len = sizeof missing - 1;
  }
  if (!len)
    return true;
  const char *req = getenv("ROSTER_TEST_REQUIRE_SERVERS");
  if (req && strcmp(req, "1") == 0) {
    print_error("missing: %s, and ROSTER_TEST_REQUIRE_SERVERS=1\n", missing);
    fail();
  }
  print_message("skipping: missing %s\n", missing);
  return false;
}

char *roster__tu_unique_name(char *buf, size_t cap, const char *prefix) {
  static atomic_uint counter;
  snprintf(buf, cap, "%s_%ld_%u", prefix, (long)getpid(),
           atomic_fetch_add(&counter, 1));
  return buf;
}

char **roster__tu_env_with(const char *drop, const char *const *add) {
  extern char **environ;
  size_t n = 0, m = 0, k = 0;
  while (environ[n])
    n++;
  while (add && add[m])
    m++;
  char **env = calloc(n + m + 1, sizeof *env);
  assert_non_null(env);
  for (size_t i = 0; i < n; i++)
    if (!drop || strncmp(environ[i], drop, strlen(drop)) != 0)
      env[k++] = environ[i];
  for (size_t i = 0; i < m; i++)
    env[k++] = (char *)add[i];
  return env;
}

int roster__tu_health_item(roster *r, const char *name,
                           roster_service_health *out, char *detail, size_t cap,
                           bool *ready) {
  roster_health_report rep;
  int rc = roster_health(r, &rep);
  if (rc)
    return rc;
  rc = ROSTER_ENOENT;
  for (size_t i = 0; i < rep.count; i++)
    if (strcmp(rep.items[i].name, name) == 0) {
      *out = rep.items[i];
      snprintf(detail, cap, "%s", rep.items[i].last_detail);
      out->ns = out->name = out->type = out->last_detail = NULL;
      rc = ROSTER_OK;
    }
  if (ready)
    *ready = rep.ready;
  roster_health_report_free(&rep);
  return rc;
}

tu_events *roster__tu_events_listen(roster *r) {
  tu_events *e = roster__tu_events_new();
  assert_non_null(e);
  assert_ok(roster_listen(r, ROSTER_EV_STATE, roster__tu_events_listener, e,
                          NULL, NULL));
  return e;
}

static int flaky_create(void *arg, const roster_deps *deps, void **out) {
  tu_flaky *f = arg;
  f->svc.fail_code =
      atomic_load(&f->svc.creates) < f->fail_first ? ROSTER_EIO : 0;
  return roster__tu_svc_create(&f->svc, deps, out);
}

void roster__tu_flaky_init(tu_flaky *f, const char *name, tu_log *log,
                           const char *const *deps, int fail_first) {
  memset(f, 0, sizeof *f);
  roster__tu_svc_init(&f->svc, name, log, deps);
  f->fail_first = fail_first;
}

roster_provider roster__tu_flaky_provider(tu_flaky *f) {
  roster_provider p = roster__tu_svc_provider(&f->svc);
  p.arg = f;
  p.create = flaky_create;
  return p;
}

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

int roster__tu_wait_child(int pid, int timeout_s, const char *what,
                          void (*tick)(void *arg), void *arg) {
  uint64_t end = roster__tu_now_ns() + (uint64_t)timeout_s * 1000000000u;
  int st = 0;
  for (;;) {
    pid_t w = waitpid(pid, &st, WNOHANG);
    if (w == pid)
      return st;
    assert_true(w == 0 || errno == EINTR);
    if (roster__tu_now_ns() > end) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      print_error("%s did not end in %d s\n", what, timeout_s);
      fail();
    }
    if (tick)
      tick(arg);
    roster__tu_sleep_ms(5);
  }
}
