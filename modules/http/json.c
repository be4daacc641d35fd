/*
 * json.c: the JSON convenience (a request whose body and answer are
 * jansson values) and the health check.
 */
#include "http_impl.h"

#include <jansson.h>
#include <string.h>

int roster_http_json(roster_http *c, const char *method, const char *path,
                     const json_t *body, json_t **out, int *status) {
  if (out)
    *out = NULL;
  if (status)
    *status = 0;
  if (!c)
    return roster_error_set(ROSTER_EINVAL, "roster_http_json: client is NULL");
  char *text = NULL;
  if (body && !(text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY)))
    return roster_error_set(ROSTER_EINVAL,
                            "HTTP client '%s': the body cannot be written as "
                            "JSON",
                            c->name);
  static const char *const with_body[] = {"Content-Type", "application/json",
                                          "Accept", "application/json", NULL};
  roster_http_req req = {.method = method,
                         .path = path,
                         .body = text,
                         .body_len = text ? strlen(text) : 0};
  roster_http_response *resp = NULL;
  int rc =
      roster__http_request_ex(c, &req, text ? with_body : with_body + 2, &resp);
  free(text);
  if (rc)
    return rc;
  if (status)
    *status = resp->status;
  const char *m = method ? method : "GET";
  if (resp->status < 200 || resp->status > 299) {
    rc = roster_error_set(
        ROSTER_EREMOTE, "HTTP client '%s': %s %s answered %d: %.200s", c->name,
        m, path && *path ? path : "/", resp->status, resp->body);
  } else if (resp->body_len) {
    json_error_t err;
    json_t *v = json_loadb(resp->body, resp->body_len,
                           JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (!v)
      rc = roster_error_set(ROSTER_EPARSE,
                            "HTTP client '%s': %s %s: the answer is not JSON "
                            "(at byte %d: %s)",
                            c->name, m, path && *path ? path : "/",
                            err.position, err.text);
    else if (out)
      *out = v;
    else
      json_decref(v);
  }
  roster_http_response_free(resp);
  return rc;
}

int roster_http_health(roster_http *c) {
  if (!c)
    return roster_error_set(ROSTER_EINVAL,
                            "roster_http_health: client is NULL");
  if (!c->probe) {
    roster_http_stats st;
    roster_http_stats_get(c, &st);
    if (st.breaker == ROSTER_HTTP_BREAKER_OPEN)
      return roster_error_set(ROSTER_EBUSY,
                              "HTTP client '%s': the circuit breaker is open",
                              c->name);
    return ROSTER_OK;
  }
  roster_http_req req = {.path = c->probe};
  roster_http_response *resp = NULL;
  int rc = roster_http_request(c, &req, &resp);
  if (rc)
    return rc;
  if (resp->status < 200 || resp->status > 299)
    rc = roster_error_set(ROSTER_EREMOTE,
                          "HTTP client '%s': probe %s answered %d", c->name,
                          c->probe, resp->status);
  roster_http_response_free(resp);
  return rc;
}
