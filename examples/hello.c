/*
 * hello.c: the registry in one page. The program registers an object of
 * its own under a name, finds it again with its C type checked, and frees
 * the registry, which destroys what is still registered.
 */
#include <stdio.h>
#include <stdlib.h>

#include <roster.h>

struct greeter {
  const char *greeting;
};

static void greeter_free(void *p) { free(p); }

/* One descriptor per C type: roster compares them by address and calls
 * destroy when the entry goes. */
static const roster_type greeter_type = {.name = "greeter",
                                         .destroy = greeter_free};

/* greeter_find (and greeter_register, greeter_acquire) take a struct
 * greeter, so the compiler checks the C type as well. */
ROSTER_TYPED(greeter, struct greeter, greeter_type)

int main(void) {
  roster *r;
  if (roster_new(NULL, &r) != ROSTER_OK) {
    fprintf(stderr, "roster_new: %s\n", roster_last_error());
    return 1;
  }

  struct greeter *g = malloc(sizeof *g);
  if (g == NULL)
    return 1;
  g->greeting = "hello, world";
  if (roster_register(r, NULL, "greeter", &greeter_type, g) != ROSTER_OK) {
    fprintf(stderr, "roster_register: %s\n", roster_last_error());
    free(g); /* a failed register leaves g to the caller */
    return 1;
  } /* from here the registry owns g */

  /* Any thread may look it up: no lock, no allocation. */
  struct greeter *found;
  if (greeter_find(r, NULL, "greeter", &found) != ROSTER_OK)
    return 1;
  printf("%s\n", found->greeting);

  /* A failed lookup returns a code; roster_last_error() says why. */
  int rc = greeter_find(r, NULL, "greter", &found);
  printf("greeter_find(\"greter\") -> %s: %s\n", roster_err_name(rc),
         roster_last_error());

  roster_free(r); /* destroys g */
  return 0;
}
