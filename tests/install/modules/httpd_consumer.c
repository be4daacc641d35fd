/*
 * httpd_consumer.c: a program outside the tree that uses the installed
 * httpd module (whose libraries, libhttp-parser and libwslay, come without
 * .pc files: roster_httpd.pc names them in Libs.private). Exits 0 when a
 * server binds a port, starts and stops.
 */
#include <roster.h>
#include <roster/httpd.h>

#include <stdio.h>

int main(void) {
  roster_httpd *s;
  if (roster_httpd_new(NULL, &s) != ROSTER_OK ||
      roster_httpd_start(s) != ROSTER_OK ||
      roster_httpd_stop(s, 100) != ROSTER_OK) {
    fprintf(stderr, "httpd_consumer: %s\n", roster_last_error());
    return 1;
  }
  unsigned port = roster_httpd_port(s);
  roster_httpd_free(s);
  printf("httpd_consumer: served on port %u\n", port);
  return port > 0 ? 0 : 1;
}
