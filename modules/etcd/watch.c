/*
 * watch.c: a watch of a prefix on a thread of its own.
 *
 * The thread reads every key under the prefix (the sync), then opens a
 * watch stream (POST /v3/watch, a chunked answer of one JSON message per
 * line) from the revision after it. Events are delivered one revision at
 * a time and the next revision wanted is remembered, so when the stream
 * breaks (its member stopped, the connection dropped, an error message)
 * the next stream, on the next endpoint, starts exactly after the last
 * revision delivered: nothing is lost or repeated. A revision compacted
 * away means events are gone: the thread syncs again by a full read.
 * The stream runs in a curl multi handle so that roster_etcd_watch_free
 * wakes it at once (curl_multi_wakeup).
 */
#include "etcd_impl.h"

#include "base/helpers.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

struct roster_etcd_watch {
  roster_etcd *c;
  char *prefix;
  roster_etcd_watch_fn on_events;
  roster_etcd_sync_fn on_sync;
  void *arg;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  atomic_bool stop;
  CURLM *multi; /* under mu while the thread streams */
  int64_t next_rev;
  bool need_sync;
  bool abort_stream;
  roster__etcd_lines lines;
  atomic_bool connected;       /* a stream is set up (created) */
  atomic_int_fast64_t lost_ns; /* when the last stream ended (0: never up) */
};

void roster__etcd_watch_state(roster_etcd_watch *w, bool *connected,
                              int64_t *stale_ms) {
  *connected = atomic_load(&w->connected);
  int64_t t = atomic_load(&w->lost_ns);
  *stale_ms = *connected ? 0 : t ? (roster__etcd_now_ns() - t) / 1000000 : -1;
}

static void deliver(roster_etcd_watch *w, roster__etcd_wmsg *m) {
  size_t i = 0;
  while (i < m->n) {
    int64_t rev = m->ev[i].kv->mod_revision;
    size_t j = i;
    while (j < m->n && m->ev[j].kv->mod_revision == rev)
      j++;
    if (rev >= w->next_rev) {
      w->on_events(&m->ev[i], j - i, rev, w->arg);
      w->next_rev = rev + 1;
    }
    i = j;
  }
}

static int on_line(const char *line, size_t n, void *arg) {
  roster_etcd_watch *w = arg;
  roster__etcd_wmsg m;
  if (roster__etcd_wparse(line, n, &m)) {
    w->abort_stream = true;
    return 1;
  }
  roster__etcd_contact(w->c, m.revision);
  switch (m.kind) {
  case ETCD_W_CREATED:
    atomic_store(&w->connected, true);
    break;
  case ETCD_W_EVENTS:
    deliver(w, &m);
    break;
  case ETCD_W_COMPACTED:
    atomic_fetch_add(&w->c->resyncs, 1);
    w->need_sync = true;
    w->abort_stream = true;
    break;
  case ETCD_W_CANCELED:
  case ETCD_W_ERROR:
    if (m.grpc == 16 || (m.message && strstr(m.message, "auth token")))
      roster__etcd_token_drop(w->c); /* a new one for the next stream */
    w->abort_stream = true;
    break;
  default:
    break;
  }
  roster__etcd_wmsg_clear(&m);
  return w->abort_stream;
}

static size_t on_body(char *d, size_t sz, size_t nm, void *arg) {
  roster_etcd_watch *w = arg;
  if (roster__etcd_lines_feed(&w->lines, d, sz * nm, on_line, w))
    return 0;
  return sz * nm;
}

static int sync_all(roster_etcd_watch *w) {
  roster_etcd_kvs all;
  int rc = roster_etcd_range(w->c, w->prefix, &all);
  if (rc)
    return rc;
  w->on_sync(&all, w->arg);
  w->next_rev = all.revision + 1;
  w->need_sync = false;
  roster_etcd_kvs_free(&all);
  return ROSTER_OK;
}

/* stream runs one watch stream on endpoint i until it ends or stop. */
static void stream(roster_etcd_watch *w, size_t i) {
  roster_etcd *c = w->c;
  struct curl_slist *hdrs = roster__etcd_headers(c);
  CURL *h = hdrs ? roster__etcd_easy(c) : NULL;
  if (!h) {
    curl_slist_free_all(hdrs);
    return;
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  size_t en;
  char *end = roster__etcd_prefix_end(w->prefix, &en);
  char *k = roster__etcd_b64(w->prefix, strlen(w->prefix));
  char *e = end ? roster__etcd_b64(end, en) : NULL;
  json_t *req =
      json_pack("{s:{s:s?,s:s?,s:I}}", "create_request", "key", k, "range_end",
                e, "start_revision", (json_int_t)w->next_rev);
  char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
  json_decref(req);
  roster_mem_free(end);
  roster_mem_free(k);
  roster_mem_free(e);
  char url[512];
  snprintf(url, sizeof url, "%s/v3/watch", c->ep[i]);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, text ? text : "{}");
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, w);
  /* An idle stream is normal; a dead peer shows as a closed connection
   * (TCP keepalive for one that vanished without closing). */
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 5L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 2L);
  w->abort_stream = false;
  w->lines.len = 0;
  atomic_fetch_add(&c->requests, 1);
  pthread_mutex_lock(&w->mu);
  curl_multi_add_handle(w->multi, h);
  pthread_mutex_unlock(&w->mu);
  int running = 1;
  while (running && !atomic_load(&w->stop) && !w->abort_stream) {
    if (curl_multi_perform(w->multi, &running) != CURLM_OK)
      break;
    if (running)
      curl_multi_poll(w->multi, NULL, 0, 1000, NULL);
  }
  if (atomic_exchange(&w->connected, false) || !atomic_load(&w->lost_ns))
    atomic_store(&w->lost_ns, roster__etcd_now_ns());
  pthread_mutex_lock(&w->mu);
  curl_multi_remove_handle(w->multi, h);
  pthread_mutex_unlock(&w->mu);
  roster__etcd_easy_put(c, h);
  curl_slist_free_all(hdrs);
  free(text);
}

static void *run(void *arg) {
  roster_etcd_watch *w = arg;
  roster_etcd *c = w->c;
  size_t i = atomic_load(&c->cur) % c->n_ep;
  bool first = true;
  while (!atomic_load(&w->stop)) {
    if (w->need_sync && sync_all(w)) {
      if (roster__etcd_nap(&w->mu, &w->cv, &w->stop, 200))
        break;
      continue;
    }
    if (!first)
      atomic_fetch_add(&c->watch_restarts, 1);
    first = false;
    int64_t t0 = roster__etcd_now_ns();
    stream(w, i);
    if (atomic_load(&w->stop))
      break;
    if (!w->need_sync)
      i = (i + 1) % c->n_ep; /* broke: the next member */
    /* A stream that failed at once (member down): pause a little so that
     * a cluster out of reach is not asked in a tight loop. */
    if (roster__etcd_now_ns() - t0 < 200000000 &&
        roster__etcd_nap(&w->mu, &w->cv, &w->stop, 100))
      break;
  }
  return NULL;
}

int roster_etcd_watch_new(roster_etcd *c, const char *prefix,
                          roster_etcd_watch_fn on_events,
                          roster_etcd_sync_fn on_sync, void *arg,
                          roster_etcd_watch **out) {
  if (!out)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_etcd_watch_new: out is NULL");
  *out = NULL;
  if (!c || !prefix || !on_events || !on_sync)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_etcd_watch_new: a client, a prefix and "
                            "both callbacks are needed");
  roster_etcd_watch *w = roster_mem_calloc(1, sizeof *w);
  if (!w || !(w->prefix = roster_mem_strdup(prefix)) ||
      !(w->multi = curl_multi_init())) {
    if (w)
      roster_mem_free(w->prefix);
    roster_mem_free(w);
    return roster_error_set(ROSTER_ENOMEM, "etcd watch: out of memory");
  }
  w->c = c;
  w->on_events = on_events;
  w->on_sync = on_sync;
  w->arg = arg;
  w->need_sync = true;
  w->lines.max = (size_t)16 << 20;
  pthread_mutex_init(&w->mu, NULL);
  roster__cond_init_mono(&w->cv);
  int rc = roster__thread_start(&w->thread, "etcd-watch", false, run, w);
  if (rc) {
    curl_multi_cleanup(w->multi);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    roster_mem_free(w->prefix);
    roster_mem_free(w);
    return roster__err_wrap(rc, "etcd watch: no thread");
  }
  *out = w;
  return ROSTER_OK;
}

void roster_etcd_watch_free(roster_etcd_watch *w) {
  if (!w)
    return;
  pthread_mutex_lock(&w->mu);
  atomic_store(&w->stop, true);
  pthread_cond_broadcast(&w->cv);
  curl_multi_wakeup(w->multi);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->thread, NULL);
  curl_multi_cleanup(w->multi);
  roster__etcd_lines_free(&w->lines);
  pthread_cond_destroy(&w->cv);
  pthread_mutex_destroy(&w->mu);
  roster_mem_free(w->prefix);
  roster_mem_free(w);
}
