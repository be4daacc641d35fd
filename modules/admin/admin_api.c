/*
 * admin_api.c: the admin endpoint's JSON documents (/readyz, /healthz and
 * /api/...; shapes in docs/admin.md). Each is built from a snapshot of
 * the registry's calls; instances are read inside read sections only.
 */
#include "admin_impl.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static json_t *err_or_null(int code) {
  return code == ROSTER_OK ? json_null() : json_string(roster_err_name(code));
}

/* ---- health ------------------------------------------------------------ */

static json_t *health_item(const roster_service_health *h, int64_t now) {
  json_t *o = json_pack(
      "{s:s,s:s,s:s,s:s,s:b,s:b,s:I,s:I,s:i,s:i,s:o,s:s}", "ns", h->ns, "name",
      h->name, "type", h->type, "state", roster_state_name(h->state), "lazy",
      h->lazy, "live", h->live, "since_unix_ms", (json_int_t)h->since_unix_ms,
      "check_latency_us", (json_int_t)h->last_latency_us,
      "consecutive_failures", (int)h->consecutive_failures, "restarts",
      (int)h->restarts, "error", err_or_null(h->last_error), "detail",
      h->last_detail ? h->last_detail : "");
  if (o)
    json_object_set_new(o, "last_check_ms_ago",
                        h->last_check_ns
                            ? json_integer((now - h->last_check_ns) / 1000000)
                            : json_null());
  return o;
}

json_t *roster__admin_health_json(roster_admin *a, bool *ready,
                                  bool only_not_ready) {
  roster_health_report rep = {0};
  *ready = false;
  if (roster_health(a->r, &rep) != ROSTER_OK)
    return json_pack("{s:b,s:s}", "ready", 0, "error", roster_last_error());
  *ready = rep.ready;
  json_t *list = json_array(), *doc = json_object();
  int64_t now = mono_ns();
  for (size_t i = 0; list && i < rep.count; i++) {
    const roster_service_health *h = &rep.items[i];
    if (only_not_ready && (h->lazy || h->state == ROSTER_STATE_READY))
      continue;
    json_array_append_new(
        list, only_not_ready
                  ? json_pack("{s:s,s:s,s:s,s:o,s:s}", "ns", h->ns, "name",
                              h->name, "state", roster_state_name(h->state),
                              "error", err_or_null(h->last_error), "detail",
                              h->last_detail ? h->last_detail : "")
                  : health_item(h, now));
  }
  roster_health_report_free(&rep);
  if (doc) {
    json_object_set_new(doc, "ready", json_boolean(*ready));
    json_object_set_new(doc, only_not_ready ? "not_ready" : "services",
                        list ? list : json_array());
  } else {
    json_decref(list);
  }
  return doc;
}

/* ---- services ---------------------------------------------------------- */

json_t *roster__admin_services_json(roster_admin *a) {
  char *text = NULL;
  if (roster_graph_json(a->r, &text) != ROSTER_OK)
    return json_pack("{s:s}", "error", roster_last_error());
  json_t *doc = json_loads(text, 0, NULL);
  roster_mem_free(text);
  bool ready;
  json_t *health = roster__admin_health_json(a, &ready, false);
  json_t *hs = json_object_get(health, "services"), *s;
  size_t i;
  json_array_foreach(json_object_get(doc, "services"), i, s) {
    size_t k;
    json_t *h;
    json_array_foreach(hs, k, h) {
      if (json_equal(json_object_get(h, "ns"), json_object_get(s, "ns")) &&
          json_equal(json_object_get(h, "name"), json_object_get(s, "name"))) {
        json_object_update_missing(s, h);
        break;
      }
    }
  }
  if (doc)
    json_object_set_new(doc, "ready", json_boolean(ready));
  json_decref(health);
  return doc;
}

/* ---- the registry ------------------------------------------------------ */

json_t *roster__admin_registry_json(roster_admin *a) {
  roster_ns_list nl = {0};
  if (roster_ns_list_get(a->r, &nl) != ROSTER_OK)
    return json_pack("{s:s}", "error", roster_last_error());
  json_t *nss = json_array();
  for (size_t i = 0; nss && i < nl.count; i++) {
    roster_list l = {0};
    if (roster_list_entries(a->r, nl.items[i].name, &l) != ROSTER_OK)
      continue;
    json_t *es = json_array();
    for (size_t k = 0; es && k < l.count; k++)
      json_array_append_new(es, json_pack("{s:s,s:s}", "name", l.items[k].name,
                                          "type", l.items[k].type->name));
    roster_list_free(&l);
    json_array_append_new(nss, json_pack("{s:s,s:o}", "name", nl.items[i].name,
                                         "entries", es ? es : json_array()));
  }
  roster_ns_list_free(&nl);
  return json_pack("{s:o}", "namespaces", nss ? nss : json_array());
}

/* ---- config ------------------------------------------------------------ */

static void config_visit(const roster_info *info, void *arg) {
  char *text = NULL;
  json_t *doc = NULL;
  /* redacted: ROSTER_CONFIG_DUMP_SECRETS is never passed */
  if (roster_config_dump(info->instance,
                         ROSTER_CONFIG_DUMP_PROVENANCE |
                             ROSTER_CONFIG_DUMP_COMPACT,
                         &text) == ROSTER_OK)
    doc = json_loads(text, 0, NULL);
  roster_mem_free(text);
  if (!json_is_object(doc)) {
    json_decref(doc);
    return;
  }
  json_object_set_new(doc, "ns", json_string(info->ns));
  json_object_set_new(doc, "name", json_string(info->name));
  json_array_append_new(arg, doc);
}

json_t *roster__admin_config_json(roster_admin *a) {
  json_t *list = json_array();
  if (list)
    roster__admin_each(a, &roster_config_type, config_visit, list);
  return json_pack("{s:o}", "configs", list ? list : json_array());
}

/* ---- cron -------------------------------------------------------------- */

static void cron_visit(const roster_info *info, void *arg) {
  roster_job_list jl = {0};
  if (roster_sched_list(info->instance, &jl) != ROSTER_OK)
    return;
  json_t *jobs = json_array();
  for (size_t i = 0; jobs && i < jl.count; i++) {
    const roster_job_info *j = &jl.items[i];
    const roster_job_stats *st = &j->stats;
    json_array_append_new(
        jobs,
        json_pack("{s:s,s:s,s:s,s:b,s:i,s:i,s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:I,"
                  "s:I,s:o}",
                  "name", j->name, "expr", j->expr, "tz", j->tz ? j->tz : "",
                  "enabled", st->enabled, "running", (int)st->running,
                  "waiting", (int)st->waiting, "runs", (json_int_t)st->runs,
                  "failures", (json_int_t)st->failures, "skipped",
                  (json_int_t)st->skipped, "elsewhere",
                  (json_int_t)st->elsewhere, "next_run",
                  st->next_run ? json_integer(st->next_run) : json_null(),
                  "last_start_unix_ms",
                  st->last_start_unix_ms ? json_integer(st->last_start_unix_ms)
                                         : json_null(),
                  "last_end_unix_ms",
                  st->last_end_unix_ms ? json_integer(st->last_end_unix_ms)
                                       : json_null(),
                  "last_duration_us", (json_int_t)(st->last_duration_ns / 1000),
                  "last_lateness_us", (json_int_t)(st->last_lateness_ns / 1000),
                  "last_error", err_or_null(st->last_error)));
  }
  roster_job_list_free(&jl);
  json_array_append_new(arg, json_pack("{s:s,s:s,s:o}", "ns", info->ns, "name",
                                       info->name, "jobs",
                                       jobs ? jobs : json_array()));
}

json_t *roster__admin_cron_json(roster_admin *a) {
  json_t *list = json_array();
  if (list)
    roster__admin_each(a, &roster_sched_type, cron_visit, list);
  return json_pack("{s:o}", "schedulers", list ? list : json_array());
}

/* ---- pools and caches -------------------------------------------------- */

static void pool_visit(const roster_info *info, void *arg) {
  roster_pool *p = roster_db_pool(info->instance);
  roster_pool_stats st;
  if (!p || roster_pool_stats_get(p, &st) != ROSTER_OK)
    return;
  json_t *hist = json_array();
  for (int i = 0; hist && i < ROSTER_POOL_WAIT_BUCKETS; i++)
    json_array_append_new(hist, json_integer((json_int_t)st.wait_hist[i]));
  json_array_append_new(
      arg,
      json_pack("{s:s,s:s,s:i,s:i,s:i,s:i,s:i,s:I,s:I,s:I,s:o}", "ns", info->ns,
                "name", info->name, "max_size", (int)st.max_size, "size",
                (int)st.size, "idle", (int)st.idle, "in_use", (int)st.in_use,
                "waiters", (int)st.waiters, "acquires", (json_int_t)st.acquires,
                "timeouts", (json_int_t)st.timeouts, "connect_failures",
                (json_int_t)st.connect_failures, "wait_hist",
                hist ? hist : json_array()));
}

static void cache_visit(const roster_info *info, void *arg) {
  roster_cache_stats st;
  if (roster_cache_stats_get(info->instance, &st) != ROSTER_OK)
    return;
  json_array_append_new(
      arg,
      json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I}", "ns", info->ns, "name",
                info->name, "scheme", roster_cache_scheme(info->instance),
                "entries", (json_int_t)st.entries, "bytes",
                (json_int_t)st.bytes, "hits", (json_int_t)st.hits, "misses",
                (json_int_t)st.misses, "expired", (json_int_t)st.expired,
                "evicted", (json_int_t)st.evicted));
}

static json_t *sio_json(const char *ns, const char *name, roster_socketio *io) {
  roster_socketio_stats st;
  if (roster_socketio_stats_get(io, &st) != ROSTER_OK)
    return NULL;
  return json_pack(
      "{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "ns", ns, "name", name,
      "connections", (json_int_t)st.connections, "sockets",
      (json_int_t)st.sockets, "rooms", (json_int_t)st.rooms, "packets_in",
      (json_int_t)st.packets_in, "packets_out", (json_int_t)st.packets_out,
      "bytes_out", (json_int_t)st.bytes_out, "dropped", (json_int_t)st.dropped,
      "slow_consumers", (json_int_t)st.slow_consumers);
}

static void sio_visit(const roster_info *info, void *arg) {
  json_t *j = sio_json(info->ns, info->name, info->instance);
  if (j)
    json_array_append_new(arg, j);
}

/* sockets_json: every Socket.IO server of the registry and
 * the endpoint's own (ns ""), for the live stats. */
static json_t *sockets_json(roster_admin *a) {
  json_t *list = json_array();
  if (!list)
    return NULL;
  roster__admin_each(a, &roster_socketio_type, sio_visit, list);
  /* a->io lives from roster_admin_new to roster_admin_free, which joins
   * the thread this runs on first */
  json_t *j = a->io ? sio_json("", "admin", a->io) : NULL;
  if (j)
    json_array_append_new(list, j);
  return list;
}

json_t *roster__admin_pools_json(roster_admin *a) {
  json_t *pools = json_array(), *caches = json_array();
  if (pools)
    roster__admin_each(a, &roster_db_type, pool_visit, pools);
  if (caches)
    roster__admin_each(a, &roster_cache_type, cache_visit, caches);
  return json_pack("{s:o,s:o}", "pools", pools ? pools : json_array(), "caches",
                   caches ? caches : json_array());
}

/* ---- logs -------------------------------------------------------------- */

json_t *roster__admin_logs_json(roster_admin *a) {
  json_t *lines = json_array(), *counts = json_object();
  pthread_mutex_lock(&a->ring_mu);
  for (size_t i = 0; lines && i < a->ring_len; i++)
    json_array_append(lines, a->ring[(a->ring_head + i) % a->ring_cap]);
  pthread_mutex_unlock(&a->ring_mu);
  for (int i = 0; counts && i < ROSTER__ADMIN_LEVELS; i++)
    json_object_set_new(
        counts, roster_log_level_name((i + 1) * 10),
        json_integer((json_int_t)atomic_load(&a->level_lines[i])));
  return json_pack("{s:b,s:o,s:o}", "tapped", a->log != NULL, "lines",
                   lines ? lines : json_array(), "counts",
                   counts ? counts : json_object());
}

/* ---- the live stats event ---------------------------------------------- */

json_t *roster__admin_panels_json(roster_admin *a) {
  json_t *doc = json_object();
  pthread_mutex_lock(&a->panels_mu);
  for (size_t i = 0; doc && i < a->npanels; i++) {
    json_t *p = a->panels[i].fn(a->panels[i].arg);
    if (json_is_object(p))
      json_object_set(doc, a->panels[i].title, p);
    json_decref(p);
  }
  pthread_mutex_unlock(&a->panels_mu);
  return doc;
}

json_t *roster__admin_stats_json(roster_admin *a) {
  roster_stats rs = {0};
  roster_stats_get(a->r, &rs);
  json_t *states = json_object();
  roster_health_report rep = {0};
  bool ready = false;
  if (states && roster_health(a->r, &rep) == ROSTER_OK) {
    ready = rep.ready;
    for (size_t i = 0; i < rep.count; i++) {
      const char *n = roster_state_name(rep.items[i].state);
      json_object_set_new(
          states, n,
          json_integer(json_integer_value(json_object_get(states, n)) + 1));
    }
    roster_health_report_free(&rep);
  }
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  json_t *doc =
      json_pack("{s:I,s:{s:I,s:I,s:I,s:I,s:I},s:o}", "at_unix_ms",
                (json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, "registry",
                "entries", (json_int_t)rs.entries, "namespaces",
                (json_int_t)rs.namespaces, "lookups", (json_int_t)rs.lookups,
                "hits", (json_int_t)rs.hits, "misses", (json_int_t)rs.misses,
                "states", states ? states : json_object());
  if (doc)
    json_object_set_new(doc, "ready", json_boolean(ready));
  json_t *pc = roster__admin_pools_json(a);
  json_t *cr = roster__admin_cron_json(a); /* "schedulers": next runs move */
  json_t *so = sockets_json(a);
  json_t *pn = roster__admin_panels_json(a);
  if (doc && pn)
    json_object_set_new(doc, "panels", pn);
  else
    json_decref(pn);
  if (doc && so)
    json_object_set_new(doc, "sockets", so);
  else
    json_decref(so);
  if (doc && pc)
    json_object_update(doc, pc);
  if (doc && cr)
    json_object_update(doc, cr);
  json_decref(pc);
  json_decref(cr);
  return doc;
}
