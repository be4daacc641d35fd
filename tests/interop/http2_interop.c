/*
 * http2_interop.c: the HTTP client module over HTTP/2. A Node HTTPS server
 * (http2_server.mjs, node's own http2 module) with a certificate made
 * here by openssl offers h2 by ALPN; the client, trusting that
 * certificate (ca_file), must speak HTTP/2 to it, from one thread and from
 * several at once over its shared connections, and HTTP/1.1 where told
 * to. Skipped when node or openssl is missing, unless
 * ROSTER_TEST_REQUIRE_SERVERS=1, which makes it fail instead.
 * Usage: http2_interop <tests/interop dir> <scratch dir>
 */
#include "testutil.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <roster/http.h>

extern char **environ;

static const char *interop_dir, *work;

static bool tools_available(void) {
  static const char *const tools[] = {"node", "openssl", NULL};
  return roster__tu_peers_ok(interop_dir, NULL, tools);
}

typedef struct {
  roster_http *c;
  int ok;
} worker;

static void *many(void *arg) {
  worker *w = arg;
  for (int i = 0; i < 20; i++) {
    roster_http_response *r = NULL;
    if (roster_http_request(w->c, &(roster_http_req){.path = "/hello"}, &r) ==
            ROSTER_OK &&
        r->status == 200 && r->http_version == 20 &&
        strcmp(r->body, "hello over HTTP/2.0") == 0)
      w->ok++;
    roster_http_response_free(r);
  }
  return NULL;
}

static void t_http2(void **state) {
  (void)state;
  if (!tools_available()) {
    skip();
    return;
  }
  mkdir(work, 0755);
  char key[1200], cert[1200], cmd[4000];
  snprintf(key, sizeof key, "%s/key.pem", work);
  snprintf(cert, sizeof cert, "%s/cert.pem", work);
  snprintf(cmd, sizeof cmd,
           "openssl req -x509 -newkey rsa:2048 -nodes -keyout '%s' -out '%s' "
           "-days 1 -subj /CN=127.0.0.1 -addext "
           "subjectAltName=IP:127.0.0.1 >/dev/null 2>&1",
           key, cert);
  assert_int_equal(system(cmd), 0);
  char script[1200];
  snprintf(script, sizeof script, "%s/http2_server.mjs", interop_dir);
  int out[2];
  assert_int_equal(pipe(out), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addclose(&fa, out[0]);
  char *argv[] = {"node", script, key, cert, NULL};
  pid_t pid;
  assert_int_equal(posix_spawnp(&pid, "node", &fa, NULL, argv, environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  close(out[1]);
  FILE *in = fdopen(out[0], "r");
  char line[128] = "";
  unsigned port = 0;
  if (!fgets(line, sizeof line, in) ||
      sscanf(line, "listening %u", &port) != 1) {
    kill(pid, SIGKILL);
    print_error("the server said \"%s\"\n", line);
    fail();
  }
  char base[64];
  snprintf(base, sizeof base, "https://127.0.0.1:%u", port);

  /* HTTP/2 by ALPN, trusting the test's certificate */
  roster_http *c = NULL;
  assert_ok(roster_http_new(
      &(roster_http_options){.name = "h2", .base_url = base, .ca_file = cert},
      &c));
  roster_http_response *r = NULL;
  assert_ok(roster_http_request(c, &(roster_http_req){.path = "/hello"}, &r));
  assert_int_equal(r->status, 200);
  assert_int_equal(r->http_version, 20);
  assert_string_equal(r->body, "hello over HTTP/2.0");
  roster_http_response_free(r);
  json_t *doc = NULL;
  int status = 0;
  assert_ok(roster_http_json(c, "GET", "/json", NULL, &doc, &status));
  assert_int_equal(status, 200);
  assert_string_equal(json_string_value(json_object_get(doc, "version")),
                      "2.0");
  json_decref(doc);
  /* several threads at once over the client's shared connections */
  worker w[4];
  pthread_t t[4];
  for (int i = 0; i < 4; i++) {
    w[i] = (worker){.c = c};
    assert_int_equal(pthread_create(&t[i], NULL, many, &w[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(w[i].ok, 20);
  }
  roster_http_free(c);

  /* the certificate is checked: without trusting it, refused */
  assert_ok(roster_http_new(
      &(roster_http_options){.name = "untrusted", .base_url = base}, &c));
  int rc = roster_http_request(c, &(roster_http_req){.path = "/hello"}, &r);
  assert_true(rc != ROSTER_OK);
  assert_null(r);
  roster_http_free(c);

  kill(pid, SIGTERM);
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  fclose(in);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: http2_interop <tests/interop dir> <scratch>\n");
    return 2;
  }
  interop_dir = argv[1];
  work = argv[2];
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {cmocka_unit_test(t_http2)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
