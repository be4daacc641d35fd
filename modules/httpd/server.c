/*
 * server.c: the httpd module's public calls: making a server (options,
 * the listening socket, epoll and the eventfd), routes, starting the I/O
 * thread (loop.c), the graceful stop, freeing, and the stats.
 */
#include "httpd_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/helpers.h"
#include "roster/alloc.h"
#include "roster/error.h"

static int bind_listen(roster_httpd *s, const char *host) {
  struct sockaddr_storage ss = {0};
  socklen_t sl;
  struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(s->o.port);
    sl = sizeof *a4;
  } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(s->o.port);
    sl = sizeof *a6;
  } else {
    return roster_error_set(ROSTER_EINVAL,
                            "httpd '%s': host '%s' is not a numeric IPv4 or "
                            "IPv6 address",
                            s->name, host);
  }
  s->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (s->lfd < 0 ||
      setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(s->lfd, (struct sockaddr *)&ss, sl) != 0 ||
      listen(s->lfd, 1024) != 0 ||
      getsockname(s->lfd, (struct sockaddr *)&ss, &sl) != 0)
    return roster_error_set(ROSTER_ESYS, "httpd '%s': listening on %s:%u: %s",
                            s->name, host, (unsigned)s->o.port,
                            strerror(errno));
  s->port = ntohs(ss.ss_family == AF_INET ? a4->sin_port : a6->sin6_port);
  return ROSTER_OK;
}

static void close_fds(roster_httpd *s) {
  if (s->lfd >= 0)
    close(s->lfd);
  if (s->epfd >= 0)
    close(s->epfd);
  if (s->evfd >= 0)
    close(s->evfd);
  s->lfd = s->epfd = s->evfd = -1;
}

int roster_httpd_new(const roster_httpd_options *o, roster_httpd **out) {
  if (!out)
    return roster_error_set(ROSTER_EINVAL, "roster_httpd_new: out is NULL");
  *out = NULL;
  roster_httpd *s = roster_mem_calloc(1, sizeof *s);
  if (!s)
    return roster_error_set(ROSTER_ENOMEM, "httpd: out of memory");
  if (o)
    s->o = *o;
  atomic_init(&s->refs, 1);
  pthread_mutex_init(&s->stop_mu, NULL);
  s->lfd = s->epfd = s->evfd = -1;
  s->o.max_connections = s->o.max_connections ? s->o.max_connections : 1024;
  s->o.max_head = s->o.max_head ? s->o.max_head : 8192;
  s->o.max_body = s->o.max_body ? s->o.max_body : 1u << 20;
  s->o.max_message = s->o.max_message ? s->o.max_message : 1u << 20;
  s->o.max_queue = s->o.max_queue ? s->o.max_queue : 1u << 20;
  s->o.idle_timeout_ms = s->o.idle_timeout_ms ? s->o.idle_timeout_ms : 60000;
  s->o.slow_timeout_ms = s->o.slow_timeout_ms ? s->o.slow_timeout_ms : 5000;
  s->name = roster_mem_strdup(s->o.name ? s->o.name : "httpd");
  int rc = s->name ? ROSTER_OK : ROSTER_ENOMEM;
  if (rc == ROSTER_OK && s->o.origins)
    rc = (s->origins = roster_mem_strv_dup(s->o.origins)) ? ROSTER_OK
                                                          : ROSTER_ENOMEM;
  s->o.name = s->name;
  s->o.origins = NULL;
  if (rc != ROSTER_OK) {
    roster_error_set(rc, "httpd: out of memory");
  } else if ((rc = bind_listen(s, o && o->host ? o->host : "127.0.0.1")) ==
             ROSTER_OK) {
    s->o.host = NULL;
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    s->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event el = {.events = EPOLLIN, .data.ptr = &s->lfd};
    struct epoll_event ee = {.events = EPOLLIN, .data.ptr = &s->evfd};
    if (s->epfd < 0 || s->evfd < 0 ||
        epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->lfd, &el) != 0 ||
        epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->evfd, &ee) != 0)
      rc = roster_error_set(ROSTER_ESYS, "httpd '%s': epoll: %s", s->name,
                            strerror(errno));
  }
  if (rc != ROSTER_OK) {
    close_fds(s);
    roster__httpd_srv_destroy(s);
    return rc;
  }
  *out = s;
  return ROSTER_OK;
}

uint16_t roster_httpd_port(const roster_httpd *s) { return s ? s->port : 0; }

static int route_check(roster_httpd *s, const char *what, const char *path,
                       bool ok) {
  if (!s || !path || !*path || !ok)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_httpd_%s: NULL server, empty path or no "
                            "handler",
                            what);
  if (s->started)
    return roster_error_set(ROSTER_ESTATE,
                            "httpd '%s': routes are added before "
                            "roster_httpd_start",
                            s->name);
  return ROSTER_OK;
}

int roster_httpd_route(roster_httpd *s, const roster_httpd_route_options *r) {
  int rc = route_check(s, "route", r ? r->prefix : NULL, r && r->handler);
  if (rc != ROSTER_OK)
    return rc;
  for (size_t i = 0; i < s->nroutes; i++)
    if (strcmp(s->routes[i].prefix, r->prefix) == 0)
      return roster_error_set(ROSTER_EEXIST, "httpd '%s': route '%s' exists",
                              s->name, r->prefix);
  roster__httpd_route *v =
      roster_mem_realloc(s->routes, (s->nroutes + 1) * sizeof *v);
  if (!v)
    return roster_error_set(ROSTER_ENOMEM, "httpd: out of memory");
  s->routes = v;
  roster__httpd_route *n = &v[s->nroutes];
  n->o = *r;
  if (!(n->prefix = roster_mem_strdup(r->prefix)))
    return roster_error_set(ROSTER_ENOMEM, "httpd: out of memory");
  n->plen = strlen(n->prefix);
  n->o.prefix = n->prefix;
  s->nroutes++;
  return ROSTER_OK;
}

int roster_httpd_ws_route(roster_httpd *s,
                          const roster_httpd_ws_route_options *r) {
  int rc = route_check(s, "ws_route", r ? r->path : NULL, r != NULL);
  if (rc != ROSTER_OK)
    return rc;
  if (roster__httpd_ws_find(s, r->path))
    return roster_error_set(ROSTER_EEXIST,
                            "httpd '%s': WebSocket route '%s' exists", s->name,
                            r->path);
  roster__httpd_ws_route *v =
      roster_mem_realloc(s->ws_routes, (s->nws_routes + 1) * sizeof *v);
  if (!v)
    return roster_error_set(ROSTER_ENOMEM, "httpd: out of memory");
  s->ws_routes = v;
  roster__httpd_ws_route *n = &v[s->nws_routes];
  n->o = *r;
  if (!(n->path = roster_mem_strdup(r->path)))
    return roster_error_set(ROSTER_ENOMEM, "httpd: out of memory");
  n->o.path = n->path;
  s->nws_routes++;
  return ROSTER_OK;
}

int roster_httpd_start(roster_httpd *s) {
  if (!s)
    return roster_error_set(ROSTER_EINVAL, "roster_httpd_start: s is NULL");
  pthread_mutex_lock(&s->stop_mu);
  if (s->started) {
    pthread_mutex_unlock(&s->stop_mu);
    return roster_error_set(ROSTER_ESTATE, "httpd '%s': started before",
                            s->name);
  }
  atomic_store(&s->tick, roster__httpd_now());
  atomic_store(&s->serving, true);
  int rc = roster__thread_start(&s->thread, "roster-httpd", false,
                                roster__httpd_loop_main, s);
  if (rc != ROSTER_OK) {
    atomic_store(&s->serving, false);
    pthread_mutex_unlock(&s->stop_mu);
    return roster__err_wrap(rc, "httpd '%s': cannot start its thread", s->name);
  }
  s->started = true;
  pthread_mutex_unlock(&s->stop_mu);
  return ROSTER_OK;
}

int roster_httpd_stop(roster_httpd *s, int64_t deadline_ms) {
  if (!s)
    return roster_error_set(ROSTER_EINVAL, "roster_httpd_stop: s is NULL");
  if (roster__httpd_on_loop(s))
    return roster_error_set(ROSTER_ESTATE,
                            "httpd '%s': roster_httpd_stop from its own "
                            "thread",
                            s->name);
  pthread_mutex_lock(&s->stop_mu);
  if (s->started && !s->stopped) {
    atomic_store(&s->stop_deadline, deadline_ms > 0 ? deadline_ms : 5000);
    atomic_store(&s->stop_requested, true);
    uint64_t one = 1;
    ssize_t w = write(s->evfd, &one, sizeof one);
    (void)w;
    pthread_join(s->thread, NULL);
  } else if (!s->stopped) {
    atomic_store(&s->ops, ROSTER__HTTPD_OPS_CLOSED);
  }
  if (!s->stopped) {
    s->stopped = true;
    close_fds(s);
  }
  pthread_mutex_unlock(&s->stop_mu);
  return ROSTER_OK;
}

void roster_httpd_free(roster_httpd *s) {
  if (!s)
    return;
  roster_httpd_stop(s, 0);
  roster__httpd_srv_release(s);
}

int roster_httpd_stats_get(const roster_httpd *s, roster_httpd_stats *out) {
  if (!s || !out)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_httpd_stats_get: NULL argument");
  roster_httpd *w = (roster_httpd *)s;
#define LD(f) atomic_load_explicit(&w->st.f, memory_order_relaxed)
  *out = (roster_httpd_stats){.connections_open = LD(open),
                              .connections_total = LD(total),
                              .connections_refused = LD(refused),
                              .requests = LD(requests),
                              .bad_requests = LD(bad),
                              .ws_open = LD(ws_open),
                              .ws_messages_in = LD(min),
                              .ws_messages_out = LD(mout),
                              .ws_bytes_in = LD(bin),
                              .ws_bytes_out = LD(bout),
                              .dropped_sends = LD(dropped),
                              .slow_consumers = LD(slow)};
#undef LD
  return ROSTER_OK;
}

int roster_httpd_health(const roster_httpd *s) {
  if (!s)
    return roster_error_set(ROSTER_EINVAL, "roster_httpd_health: NULL");
  roster_httpd *w = (roster_httpd *)s;
  if (!atomic_load(&w->serving))
    return roster_error_set(ROSTER_ESTATE, "httpd '%s': not serving", w->name);
  int64_t late = roster__httpd_now() - atomic_load(&w->tick);
  if (late > ROSTER_HTTPD_STALL_MS)
    return roster_error_set(ROSTER_ESTATE,
                            "httpd '%s': the I/O thread has not turned for "
                            "%lld ms (a handler blocks?)",
                            w->name, (long long)late);
  return ROSTER_OK;
}
