/*
 * consumer.c: a program built against an installed roster, to prove that
 * the installed headers, libraries, roster.pc and CMake package work.
 *
 * It registers an entry, gets it back with its type, checks that the
 * linked library's version equals the installed header's, and stores and
 * reads back a JSON value in a memory cache: roster's JSON calls take
 * jansson trees the program builds and frees with jansson itself, so
 * jansson's flags must come with roster's (roster.pc's Requires, the CMake
 * package's targets). Exits non-zero, saying why, on any mismatch.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <roster.h>

struct greeter {
  const char *text;
};

static const roster_type greeter_type = {.name = "greeter"};

ROSTER_TYPED(greeter, struct greeter, greeter_type)

/* cache_json stores {"id": 7} under "user:7" and reads it back. */
static int cache_json(void) {
  roster_cache *c = NULL;
  json_t *in = json_pack("{s:i}", "id", 7);
  json_t *out = NULL;
  int rc = in ? roster_cache_open("memory://consumer", NULL, NULL, &c)
              : ROSTER_ENOMEM;
  if (rc == ROSTER_OK)
    rc = roster_cache_set_json(c, "user:7", 6, in, 0);
  if (rc == ROSTER_OK)
    rc = roster_cache_get_json(c, "user:7", 6, &out);
  if (rc != ROSTER_OK)
    fprintf(stderr, "consumer: cache: %s: %s\n", roster_err_name(rc),
            roster_last_error());
  else if (!json_equal(in, out)) {
    fprintf(stderr, "consumer: the cache gave back another JSON value\n");
    rc = ROSTER_EINVAL;
  }
  json_decref(in);
  json_decref(out);
  roster_cache_free(c);
  return rc;
}

int main(void) {
  static struct greeter hello = {"hello from an installed roster"};
  struct greeter *g = NULL;
  char want[32];
  roster *r;
  int rc;

  snprintf(want, sizeof want, "%d.%d.%d", ROSTER_VERSION_MAJOR,
           ROSTER_VERSION_MINOR, ROSTER_VERSION_PATCH);
  if (strcmp(roster_version(), want) != 0) {
    fprintf(stderr, "consumer: roster_version() is %s, header says %s\n",
            roster_version(), want);
    return 1;
  }
  if (roster_version_hex() != (unsigned)ROSTER_VERSION_HEX) {
    fprintf(stderr, "consumer: roster_version_hex() is %#x, header says %#x\n",
            roster_version_hex(), (unsigned)ROSTER_VERSION_HEX);
    return 1;
  }

  if (roster_new(NULL, &r) != ROSTER_OK) {
    fprintf(stderr, "consumer: roster_new: %s\n", roster_last_error());
    return 1;
  }
  rc = greeter_register(r, NULL, "greeter", &hello);
  if (rc == ROSTER_OK) {
    rc = greeter_find(r, NULL, "greeter", &g);
  }
  if (rc != ROSTER_OK) {
    fprintf(stderr, "consumer: %s: %s\n", roster_err_name(rc),
            roster_last_error());
    roster_free(r);
    return 1;
  }
  if (g != &hello) {
    fprintf(stderr, "consumer: got %p, registered %p\n", (void *)g,
            (void *)&hello);
    roster_free(r);
    return 1;
  }
  printf("consumer: roster %s: %s\n", roster_version(), g->text);
  roster_free(r);
  if (cache_json() != ROSTER_OK)
    return 1;
  printf("consumer: a JSON value went through a memory cache\n");
  return 0;
}
