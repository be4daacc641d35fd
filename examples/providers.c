/*
 * providers.c: services declared as providers. "greeting" depends on
 * "names"; roster_run starts names, then greeting, waits for SIGTERM or
 * SIGINT, and stops them in reverse order. Here greeting sends the
 * SIGTERM itself once it has greeted, as a service manager would.
 */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <roster.h>

struct names {
  const char *who;
};

/* The destroy of both providers; arg is the provider's (its name here). */
static void stop(void *arg, void *instance) {
  printf("stop %s\n", (const char *)arg);
  free(instance);
}

static const roster_type names_type = {.name = "names"};
static const roster_type greeting_type = {.name = "greeting"};

/* A create function makes the instance; it runs on roster's worker pool. */
static int names_create(void *arg, const roster_deps *deps, void **out) {
  struct names *n = malloc(sizeof *n);
  (void)arg, (void)deps;
  if (n == NULL)
    return roster_error_set(ROSTER_ENOMEM, "names: out of memory");
  n->who = "world";
  printf("start names\n");
  *out = n;
  return ROSTER_OK;
}

/* README.md shows from here */
/* deps holds every dependency the provider names, already up. */
static int greeting_create(void *arg, const roster_deps *deps, void **out) {
  struct names *n = roster_deps_get(deps, "names");
  char *text = malloc(64);
  (void)arg;
  if (text == NULL)
    return roster_error_set(ROSTER_ENOMEM, "greeting: out of memory");
  snprintf(text, 64, "hello, %s", n->who);
  printf("start greeting: %s\n", text);
  *out = text;
  kill(getpid(), SIGTERM); /* the work is done: ask roster_run to stop */
  return ROSTER_OK;
}

int main(void) {
  static const char *const greeting_deps[] = {"names", NULL};
  roster *r;
  if (roster_new(NULL, &r) != ROSTER_OK)
    return 1;
  int rc = roster_provide(r, NULL, "names",
                          &(roster_provider){.type = &names_type,
                                             .create = names_create,
                                             .destroy = stop,
                                             .arg = "names"});
  if (rc == ROSTER_OK)
    rc = roster_provide(r, NULL, "greeting",
                        &(roster_provider){.type = &greeting_type,
                                           .create = greeting_create,
                                           .destroy = stop,
                                           .arg = "greeting",
                                           .deps = greeting_deps});
  if (rc == ROSTER_OK)
    rc = roster_run(r, NULL); /* start, wait for a signal, shut down */
  if (rc != ROSTER_OK)
    fprintf(stderr, "providers: %s\n", roster_last_error());
  roster_free(r);
  return rc == ROSTER_OK ? 0 : 1;
}
/* README.md shows up to here */
