/*
 * demo_events.c: the demo's optional MongoDB store of events. When
 * DEMO_SERVICE_EVENTS_URL (services.events.url) names a mongodb:// server,
 * the config declares the service "events" like the database and the
 * cache (roster_config_provide_services, the mongodb:// driver of
 * roster/mongodb.h), and each run of the "visit" job also writes its
 * event, a document, to the collection demo_events of the URL's database.
 * Unset, nothing of this runs: SQLite stays the only store.
 */
#define _POSIX_C_SOURCE 200809L

#include <jansson.h>
#include <string.h>

#include "demo.h"
#include "roster/mongodb.h"

int events_init(void) { return roster_mongodb_init(); }

bool events_enabled(const roster_config *cfg) {
  char *url = NULL;
  if (roster_config_string(cfg, "services.events.url", "", &url) != ROSTER_OK)
    return false;
  char shown[256], src[128];
  bool on = url[0] != '\0';
  if (on) {
    roster_config_source(cfg, "services.events.url", src, sizeof src);
    printf("  services.events.url = %s  (from %s)\n",
           roster_url_redact(url, shown, sizeof shown), src);
  }
  roster_mem_free(url);
  return on;
}

int events_record(roster *svc, const char *kind, int n, const char *note,
                  int64_t at_ms) {
  roster_mongodb *m = NULL;
  int rc = roster_mongodb_find(svc, NULL, "events", &m);
  if (rc != ROSTER_OK)
    return rc;
  json_t *doc = json_pack("{s:s,s:i,s:s,s:I}", "kind", kind, "n", n, "note",
                          note, "at_ms", (json_int_t)at_ms);
  if (!doc)
    return roster_error_set(ROSTER_ENOMEM, "events: out of memory");
  rc = roster_mongodb_insert_one(m, "demo_events", doc, NULL);
  json_decref(doc);
  if (rc == ROSTER_OK)
    printf("  %s %d: event written to MongoDB (%s.demo_events)\n", kind, n,
           roster_mongodb_database_name(m));
  return rc;
}
