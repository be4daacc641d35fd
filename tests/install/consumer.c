/*
 * consumer.c: a program built against an installed roster, to prove that
 * the installed headers, libraries, roster.pc and CMake package work.
 *
 * It registers an entry, gets it back with its type, and checks that the
 * linked library's version equals the installed header's. Exits non-zero,
 * saying why, on any mismatch.
 */
#include <stdio.h>
#include <string.h>

#include <roster.h>

struct greeter {
  const char *text;
};

static const roster_type greeter_type = {.name = "greeter"};

ROSTER_TYPED(greeter, struct greeter, greeter_type)

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

  r = roster_new(NULL);
  if (r == NULL) {
    fprintf(stderr, "consumer: roster_new: %s\n", roster_last_error());
    return 1;
  }
  rc = greeter_register(r, NULL, "greeter", &hello);
  if (rc == ROSTER_OK) {
    rc = greeter_get(r, NULL, "greeter", &g);
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
  return 0;
}
