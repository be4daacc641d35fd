/*
 * drive.c: the loop that drives a thread's calls (request.c) on one multi
 * handle: roster_http_request (one call), roster_http_request_all (many)
 * and the module's own requests (roster__http_request_ex).
 */
#include "http_impl.h"

#include "base/helpers.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

static void sleep_ms(int64_t ms) {
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

/* ---- the driver: the calls of one thread, on one multi handle ---- */

/* Why a multi handle on the caller's thread for one call as for many: it
 * is what curl_easy_perform does inside, less one poll(2) per transfer
 * (easy_perform waits before it first sends); and a fan-out of n calls
 * then costs one thread. Nothing crosses threads but the share's locks
 * and the client's slots (docs/DESIGN.md, "HTTP clients"). */

/* A call waiting for a slot held by another thread looks again this often
 * while its own thread has transfers to drive (it cannot sleep on the
 * slots' condition variable then). */
#define SLOT_LOOK_MS 5

typedef struct drive {
  roster_http *c;
  call *k;
  size_t n;
  size_t left, running;
  size_t first;   /* no call below it is ready (waiting to start) */
  CURLM *m;       /* taken when the first transfer starts */
  size_t fail_at; /* the first call (lowest index) that failed; n: none */
  roster__err_saved *err; /* its detail (NULL: no one needs it) */
} drive;

/* ended: call i just ended; a failure's detail is kept when it is the
 * first one. */
static void ended(drive *d, size_t i) {
  d->left--;
  if (d->k[i].rc && i < d->fail_at) {
    d->fail_at = i;
    if (d->err)
      roster__err_save(d->err, d->k[i].rc);
  }
}

static void fail(drive *d, size_t i, int rc) {
  roster__http_call_end(&d->k[i], rc);
  ended(d, i);
}

/* launch starts the attempts that are due; returns the wait in ms before
 * one that is not (or a look for a slot) is due: -1 for none. */
static int64_t launch(drive *d) {
  roster_http *c = d->c;
  uint64_t now = 0; /* read once, when a call needs it */
  int64_t nap = -1;
  while (d->first < d->n && d->k[d->first].st != C_READY)
    d->first++;
  for (size_t i = d->first; i < d->n; i++) {
    call *k = &d->k[i];
    if (k->st != C_READY)
      continue;
    if ((k->due || k->slot_by) && !now)
      now = roster__http_now_ns();
    if (k->due > now) {
      int64_t ms = (int64_t)((k->due - now + 999999) / 1000000);
      nap = nap < 0 || ms < nap ? ms : nap;
      continue;
    }
    if (d->running >= c->max_connections)
      break; /* this thread holds every slot: one of its own transfers
                ending wakes the poll; the wait does not count against the
                call's timeout */
    bool no_slot;
    int rc = roster__http_call_start(k, d->running == 0, &no_slot);
    if (no_slot) {
      if (!now)
        now = roster__http_now_ns();
      if (!k->slot_by)
        k->slot_by =
            k->timeout > 0 ? now + (uint64_t)k->timeout * 1000000u : UINT64_MAX;
      if (now < k->slot_by) { /* nor will the later ones get one now */
        nap = nap < 0 || SLOT_LOOK_MS < nap ? SLOT_LOOK_MS : nap;
        break;
      }
      rc = roster__http_busy(c, k->timeout);
    }
    if (!rc && !d->m && !(d->m = roster__http_multi_get(c))) {
      roster__http_handle_put(c, k->h, k->set);
      k->h = NULL;
      roster__http_breaker_cancel(c, k->trial);
      rc = roster_error_set(ROSTER_ENOMEM, "HTTP client '%s': curl_multi_init",
                            c->name);
    }
    if (rc) {
      fail(d, i, rc);
      continue;
    }
    if (curl_multi_add_handle(d->m, k->h) != CURLM_OK) {
      roster__http_call_judge(k, CURLE_OUT_OF_MEMORY);
      if (k->st == C_DONE)
        ended(d, i);
      continue;
    }
    k->st = C_RUNNING;
    d->running++;
  }
  return nap;
}

/* reap judges the transfers that have ended. */
static void reap(drive *d) {
  int q = 0;
  CURLMsg *msg;
  while ((msg = curl_multi_info_read(d->m, &q))) {
    if (msg->msg != CURLMSG_DONE)
      continue;
    CURL *h = msg->easy_handle;
    CURLcode cc = msg->data.result;
    call *k = NULL;
    curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&k);
    curl_multi_remove_handle(d->m, h); /* msg is invalid from here */
    d->running--;
    roster__http_call_judge(k, cc);
    size_t i = (size_t)(k - d->k);
    if (k->st == C_DONE)
      ended(d, i);
    else if (i < d->first) /* a retry, waiting */
      d->first = i;
  }
}

/* run drives the calls until every one has ended. */
static void run(drive *d) {
  while (d->left) {
    int64_t nap = launch(d);
    if (d->running) {
      int still = 0;
      curl_multi_perform(d->m, &still);
      reap(d);
      if (!d->left)
        break;
      nap = launch(d); /* retries due at once, slots given back */
      if (d->running) {
        /* curl shortens the wait to its own timers */
        curl_multi_poll(d->m, NULL, 0, nap < 0 ? 1000 : (int)nap, NULL);
        continue;
      }
    }
    if (nap > 0)
      sleep_ms(nap);
  }
  if (d->m)
    roster__http_multi_put(d->c, d->m);
}

int roster__http_request_ex(roster_http *c, const roster_http_req *req,
                            const char *const *extra,
                            roster_http_response **out) {
  if (out)
    *out = NULL;
  if (!c || !req)
    return roster_error_set(ROSTER_EINVAL, "roster_http_request: %s is NULL",
                            c ? "req" : "client");
  call k;
  roster__http_call_clear(&k);
  int rc = roster__http_call_begin(&k, c, req, extra);
  if (rc)
    return rc;
  drive d = {.c = c, .k = &k, .n = 1, .left = 1, .fail_at = 1};
  run(&d); /* the one call's detail is the thread's already */
  if (out)
    *out = k.out;
  else
    roster_http_response_free(k.out);
  return k.rc;
}

int roster_http_request(roster_http *c, const roster_http_req *req,
                        roster_http_response **out) {
  return roster__http_request_ex(c, req, NULL, out);
}

int roster_http_request_all(roster_http *c, const roster_http_req *reqs,
                            size_t n, roster_http_response **outs, int *rcs) {
  for (size_t i = 0; outs && i < n; i++)
    outs[i] = NULL;
  for (size_t i = 0; rcs && i < n; i++)
    rcs[i] = ROSTER_EINVAL;
  if (!c || (!reqs && n))
    return roster_error_set(ROSTER_EINVAL,
                            "roster_http_request_all: %s is NULL",
                            c ? "reqs" : "client");
  if (!n)
    return ROSTER_OK;
  call *k = n <= SIZE_MAX / sizeof *k ? roster_mem_alloc(n * sizeof *k) : NULL;
  roster__err_saved *err = roster_mem_alloc(sizeof *err);
  if (!k || !err) {
    roster_mem_free(k);
    roster_mem_free(err);
    return roster_error_set(ROSTER_ENOMEM,
                            "roster_http_request_all: out of memory");
  }
  drive d = {.c = c, .k = k, .n = n, .left = n, .fail_at = n, .err = err};
  for (size_t i = 0; i < n; i++) {
    roster__http_call_clear(&k[i]);
    int rc = roster__http_call_begin(&k[i], c, &reqs[i], NULL);
    if (rc) {
      k[i].rc = rc;
      k[i].st = C_DONE;
      ended(&d, i);
    }
  }
  run(&d);
  for (size_t i = 0; i < n; i++) {
    if (rcs)
      rcs[i] = k[i].rc;
    if (outs)
      outs[i] = k[i].out;
    else
      roster_http_response_free(k[i].out);
  }
  int rc = ROSTER_OK;
  if (d.fail_at < n)
    rc = roster_error_set(err->code, "request %zu of %zu: %s", d.fail_at + 1, n,
                          err->detail);
  roster_mem_free(k);
  roster_mem_free(err);
  return rc;
}
