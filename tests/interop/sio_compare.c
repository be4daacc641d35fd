/*
 * sio_compare.c: the Socket.IO module's codecs against the JavaScript
 * parsers the real client uses, socket.io-parser 4.2 and engine.io-parser
 * 5.2 (from socket.io-client 4.8.1 in tests/interop/node_modules, installed
 * by scripts/npm.sh), through sio_compare.js.
 *
 * Both ways, with fixed seeds (every run is the same):
 *  1. node encodes random packets (every kind, namespaces, ack ids, nested
 *     payloads with unicode, control characters, index-like keys, doubles
 *     of every size, nested buffers) and polling payloads (text and binary
 *     packets); roster decodes each and encodes it again, and the bytes
 *     must be the JavaScript encoder's bytes, attachments included;
 *  2. roster encodes random packets and payloads of its own; node decodes
 *     each and encodes it again, and must write roster's bytes.
 * Then a table of malformed packets both must refuse, and a table of the
 * ones socket.io-parser lets through and roster refuses (the departures
 * listed in modules/socketio/sio_codec.h), each checked to be real.
 *
 * Skipped when node or the packages are missing, unless
 * ROSTER_TEST_REQUIRE_SERVERS=1 (as in scripts/test.sh): then it fails.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sio_codec.h"

extern char **environ;

static char interop_dir[1024];

#define RANDOM_PACKETS 1500

/* ---- running node -------------------------------------------------------- */

static bool peers_available(void) {
  static const char *const packages[] = {"socket.io-parser", "engine.io-parser",
                                         NULL};
  return roster__tu_peers_ok(interop_dir, packages, NULL);
}

/* node runs sio_compare.js with args and input on stdin; returns its
 * output (malloc'd); fails the test when node fails. */
static char *node(const char *a1, const char *a2, const char *a3,
                  const char *input, size_t len) {
  char in[] = "/tmp/roster-sio-in-XXXXXX", out[] = "/tmp/roster-sio-out-XXXXXX";
  int ifd = mkstemp(in), ofd = mkstemp(out);
  assert_true(ifd >= 0 && ofd >= 0);
  assert_int_equal(write(ifd, input, len), (ssize_t)len);
  lseek(ifd, 0, SEEK_SET);
  char script[1200];
  snprintf(script, sizeof script, "%s/sio_compare.js", interop_dir);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, ifd, 0);
  posix_spawn_file_actions_adddup2(&fa, ofd, 1);
  char *argv[] = {"node", script, (char *)a1, (char *)a2, (char *)a3, NULL};
  pid_t pid;
  int e = posix_spawnp(&pid, "node", &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(ifd);
  unlink(in);
  if (e != 0)
    fail_msg("cannot run node: %s", strerror(e));
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    fail_msg("node exited with status %d", st);
  off_t n = lseek(ofd, 0, SEEK_END);
  char *res = malloc((size_t)n + 1);
  assert_non_null(res);
  assert_int_equal(pread(ofd, res, (size_t)n, 0), n);
  res[n] = '\0';
  close(ofd);
  unlink(out);
  return res;
}

/* ---- hex fields ---------------------------------------------------------- */

static void put_hex(roster__eio_buf *b, const uint8_t *p, size_t n) {
  static const char d[] = "0123456789abcdef";
  assert_ok(roster__eio_buf_addc(b, ' '));
  if (n == 0)
    assert_ok(roster__eio_buf_addc(b, '-'));
  for (size_t i = 0; i < n; i++) {
    char two[2] = {d[p[i] >> 4], d[p[i] & 15]};
    assert_ok(roster__eio_buf_add(b, two, 2));
  }
}

/* un_hex decodes the field at s (ending at a space, newline or NUL) into a
 * new block; *n is its length; returns the end of the field */
static const char *un_hex(const char *s, uint8_t **out, size_t *n) {
  size_t len = strcspn(s, " \n");
  *out = malloc(len / 2 + 1);
  assert_non_null(*out);
  *n = 0;
  if (len == 1 && s[0] == '-')
    return s + 1;
  for (size_t i = 0; i + 1 < len; i += 2) {
    unsigned v;
    assert_int_equal(sscanf(s + i, "%2x", &v), 1);
    (*out)[(*n)++] = (uint8_t)v;
  }
  return s + len;
}

/* ---- one line: decode, encode again, compare ----------------------------- */

/* roundtrip_line decodes a line of node's (S or E, fields in hex) and
 * checks roster encodes it to the same bytes. */
static void roundtrip_line(const char *line) {
  uint8_t *f[16] = {NULL};
  size_t fl[16] = {0}, nf = 0;
  const char *s = line + 1;
  while (*s == ' ' && nf < 16) {
    s = un_hex(s + 1, &f[nf], &fl[nf]);
    nf++;
  }
  assert_true(nf >= 1);
  roster__eio_buf b = {0};
  if (line[0] == 'E') {
    roster__eio_payload pl;
    if (roster__eio_payload_decode(f[0], fl[0], 0, &pl) != ROSTER_OK)
      fail_msg("%s: %s", line, roster_last_error());
    for (size_t i = 0; i < pl.n; i++)
      assert_ok(roster__eio_payload_add(&b, &pl.pkts[i]));
    if (b.len != fl[0] || memcmp(b.p, f[0], b.len) != 0)
      fail_msg("payload %s encodes to other bytes", line);
    roster__eio_payload_free(&pl);
  } else {
    roster__sio_decoder d;
    roster__sio_decoder_init(&d, NULL);
    roster__sio_packet *p = NULL;
    int rc = roster__sio_decoder_text(&d, f[0], fl[0], &p);
    for (size_t i = 1; rc == ROSTER_OK && i < nf; i++)
      rc = roster__sio_decoder_binary(&d, f[i], fl[i], &p);
    if (rc != ROSTER_OK || !p)
      fail_msg("%s (%.*s): %s", line, (int)fl[0], (const char *)f[0],
               rc ? roster_last_error() : "frames missing");
    roster__sio_encoded *e;
    assert_ok(roster__sio_encode(p, NULL, &e));
    if (e->text_len - 1 != fl[0] || memcmp(e->text + 1, f[0], fl[0]) != 0)
      fail_msg("node wrote %.*s, roster %s", (int)fl[0], (const char *)f[0],
               (const char *)e->text + 1);
    assert_int_equal(e->nbin, nf - 1);
    for (size_t i = 0; i < e->nbin; i++) {
      assert_int_equal(e->bins[i].len, fl[i + 1]);
      assert_memory_equal(e->bins[i].p, f[i + 1], fl[i + 1]);
    }
    roster__sio_encoded_release(e);
    roster__sio_packet_free(p);
  }
  roster__eio_buf_free(&b);
  for (size_t i = 0; i < nf; i++)
    free(f[i]);
}

static void test_node_to_roster(void **state) {
  (void)state;
  if (!peers_available())
    skip();
  char n[32];
  snprintf(n, sizeof n, "%d", RANDOM_PACKETS);
  char *out = node("gen", "20261206", n, "", 0);
  size_t lines = 0;
  for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
    roundtrip_line(line);
    lines++;
  }
  assert_int_equal(lines, 2 * RANDOM_PACKETS);
  free(out);
}

/* ---- roster's own random packets ----------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static unsigned rnd(unsigned n) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (unsigned)(rng % n);
}

static json_t *rand_string(void) {
  static const char *const pools[] = {"a",
                                      "Z",
                                      "_",
                                      " ",
                                      "\"",
                                      "\\",
                                      "/",
                                      "\n",
                                      "\t",
                                      "\x01",
                                      "\x1f",
                                      "\x7f",
                                      "\xc3\xa9",
                                      "\xe2\x82\xac",
                                      "\xe2\x80\xa8",
                                      "\xf0\x9f\x8e\x89",
                                      "0",
                                      "9"};
  char s[64] = "";
  for (unsigned i = rnd(8); i > 0; i--)
    strcat(s, pools[rnd(sizeof pools / sizeof *pools)]);
  return json_string(s);
}

static json_t *rand_number(void) {
  switch (rnd(4)) {
  case 0:
    return json_integer((json_int_t)rnd(100000) - 50000);
  case 1:
    return json_real((double)rnd(1u << 30) / (1 + rnd(1000)) *
                     (rnd(2) ? -1 : 1));
  case 2: {
    uint64_t bits = rng;
    rnd(2);
    double d;
    memcpy(&d, &bits, sizeof d);
    return json_real(isfinite(d) ? d : 0.25);
  }
  default: {
    static const double v[] = {0,      1e21, 1e-7, 123e-20, 9007199254740992.0,
                               5e-324, -1.5};
    return json_real(v[rnd(7)]);
  }
  }
}

/* rand_value: a random tree; binary values become placeholders naming
 * one of nbin bins in any order */
static json_t *rand_value(int depth, size_t nbin) {
  static const char *const keys[] = {"a",  "b",  "name", "1",        "2",
                                     "10", "01", "_x",   "\xc3\xa9", ""};
  unsigned r = rnd(depth > 3 ? 6 : 9);
  if (r == 0)
    return json_null();
  if (r == 1)
    return json_boolean(rnd(2));
  if (r == 2 || r == 3)
    return rand_number();
  if (r == 4 || r == 5)
    return rand_string();
  if (r == 6 && nbin)
    return json_pack("{s:b,s:i}", "_placeholder", 1, "num", (int)rnd(nbin));
  if (r == 7 || r == 6) {
    json_t *a = json_array();
    for (unsigned i = rnd(4); i > 0; i--)
      json_array_append_new(a, rand_value(depth + 1, nbin));
    return a;
  }
  json_t *o = json_object();
  for (unsigned i = rnd(4); i > 0; i--)
    json_object_set_new(o, keys[rnd(10)], rand_value(depth + 1, nbin));
  return o;
}

static void add_random_sio(roster__eio_buf *b) {
  static const char *const nsps[] = {"/", "/admin", "/chat/room", "/a-b"};
  static const roster__sio_kind kinds[] = {
      ROSTER__SIO_CONNECT, ROSTER__SIO_DISCONNECT, ROSTER__SIO_EVENT,
      ROSTER__SIO_EVENT,   ROSTER__SIO_ACK,        ROSTER__SIO_CONNECT_ERROR};
  uint8_t raw[3][6];
  roster__sio_bin bins[3];
  for (size_t i = 0; i < 3; i++) {
    bins[i] = (roster__sio_bin){raw[i], rnd(6)};
    for (size_t j = 0; j < bins[i].len; j++)
      raw[i][j] = (uint8_t)rnd(256);
  }
  const char *nsp = nsps[rnd(4)];
  roster__sio_packet p = {
      kinds[rnd(6)], (char *)nsp, strlen(nsp), -1, NULL, NULL, 0};
  bool args = p.kind == ROSTER__SIO_EVENT || p.kind == ROSTER__SIO_ACK;
  if (args && rnd(2)) {
    p.bins = bins;
    p.nbin = 1 + rnd(3);
  }
  if (args && rnd(2))
    p.id = rnd(2) ? (int64_t)rnd(1000) : ROSTER__SIO_MAX_ACK_ID;
  if (args) {
    p.data = json_array();
    if (p.kind == ROSTER__SIO_EVENT)
      json_array_append_new(p.data,
                            rnd(5) ? json_string("ev") : json_integer(rnd(9)));
    for (unsigned i = rnd(4); i > 0; i--)
      json_array_append_new(p.data, rand_value(1, p.nbin));
  } else if (p.kind == ROSTER__SIO_CONNECT && rnd(2)) {
    p.data = json_pack("{s:o,s:o}", "token", rand_string(), "n", rand_number());
  } else if (p.kind == ROSTER__SIO_CONNECT_ERROR) {
    p.data =
        rnd(2) ? rand_string() : json_pack("{s:o}", "message", rand_string());
  }
  roster__sio_encoded *e;
  if (roster__sio_encode(&p, NULL, &e) != ROSTER_OK)
    fail_msg("roster cannot encode its own packet: %s", roster_last_error());
  assert_ok(roster__eio_buf_addc(b, 'S'));
  put_hex(b, e->text + 1, e->text_len - 1);
  for (size_t i = 0; i < e->nbin; i++)
    put_hex(b, e->bins[i].p, e->bins[i].len);
  assert_ok(roster__eio_buf_addc(b, '\n'));
  roster__sio_encoded_release(e);
  json_decref(p.data);
}

static void add_random_eio(roster__eio_buf *b) {
  roster__eio_buf pl = {0};
  for (unsigned n = 1 + rnd(4); n > 0; n--) {
    uint8_t raw[12];
    roster__eio_packet p = {(roster__eio_kind)rnd(7), false, raw, 0};
    if (p.kind == ROSTER__EIO_MESSAGE && rnd(2)) {
      p.binary = true;
      p.len = rnd(12);
      for (size_t i = 0; i < p.len; i++)
        raw[i] = (uint8_t)rnd(256);
    } else if (rnd(2)) {
      json_t *s = rand_string();
      p.data = (const uint8_t *)json_string_value(s);
      p.len = json_string_length(s);
      assert_ok(roster__eio_payload_add(&pl, &p));
      json_decref(s);
      continue;
    }
    assert_ok(roster__eio_payload_add(&pl, &p));
  }
  assert_ok(roster__eio_buf_addc(b, 'E'));
  put_hex(b, pl.p, pl.len);
  assert_ok(roster__eio_buf_addc(b, '\n'));
  roster__eio_buf_free(&pl);
}

static void test_roster_to_node(void **state) {
  (void)state;
  if (!peers_available())
    skip();
  roster__eio_buf in = {0};
  for (int i = 0; i < RANDOM_PACKETS; i++)
    add_random_sio(&in);
  for (int i = 0; i < RANDOM_PACKETS; i++)
    add_random_eio(&in);
  assert_ok(roster__eio_buf_addc(&in, '\0'));
  char *out = node("check", NULL, NULL, (const char *)in.p, in.len - 1);
  char *save_in, *save_out;
  char *a = strtok_r((char *)in.p, "\n", &save_in);
  char *r = strtok_r(out, "\n", &save_out);
  size_t lines = 0;
  for (; a; a = strtok_r(NULL, "\n", &save_in),
            r = strtok_r(NULL, "\n", &save_out)) {
    if (!r || strncmp(r, "OK ", 3) != 0 || strcmp(r + 3, a + 2) != 0)
      fail_msg("roster wrote %s\nnode read it back as %s", a, r ? r : "?");
    lines++;
  }
  assert_int_equal(lines, 2 * RANDOM_PACKETS);
  free(out);
  roster__eio_buf_free(&in);
}

/* ---- malformed packets --------------------------------------------------- */

/* node_verdicts asks node about each text packet: "OK ..." or "ERR ..." */
static char *node_verdicts(const char *const *texts, size_t n) {
  roster__eio_buf in = {0};
  for (size_t i = 0; i < n; i++) {
    assert_ok(roster__eio_buf_addc(&in, 'S'));
    put_hex(&in, (const uint8_t *)texts[i], strlen(texts[i]));
    assert_ok(roster__eio_buf_addc(&in, '\n'));
  }
  char *out = node("check", NULL, NULL, (const char *)in.p, in.len);
  roster__eio_buf_free(&in);
  return out;
}

static bool roster_refuses(const char *text) {
  roster__sio_decoder d;
  roster__sio_decoder_init(&d, NULL);
  roster__sio_packet *p = NULL;
  int rc =
      roster__sio_decoder_text(&d, (const uint8_t *)text, strlen(text), &p);
  bool refused = rc != ROSTER_OK || (!p && d.pending == NULL);
  roster__sio_packet_free(p);
  roster__sio_decoder_reset(&d);
  return rc != ROSTER_OK && refused;
}

#define PH0 "{\"_placeholder\":true,\"num\":0}"

static void test_malformed(void **state) {
  (void)state;
  if (!peers_available())
    skip();
  /* both refuse */
  static const char *const both[] = {"7",
                                     "0[]",
                                     "0\"x\"",
                                     "1{}",
                                     "2[]",
                                     "2[{}]",
                                     "2{}",
                                     "2[\"connect\"]",
                                     "2[null]",
                                     "2[\"disconnecting\"]",
                                     "2[\"newListener\",1]",
                                     "3{}",
                                     "312\"a\"",
                                     "4[]",
                                     "4true",
                                     "5-[\"a\"]",
                                     "50-[\"a\"]",
                                     "511-[\"a\"]",
                                     "2[\"a\"",
                                     "2[\"a\"]x",
                                     "2abc",
                                     "0/admin,[]",
                                     "51-[" PH0 "]",
                                     "61-{}"};
  size_t n = sizeof both / sizeof *both;
  char *out = node_verdicts(both, n);
  char *save;
  char *r = strtok_r(out, "\n", &save);
  for (size_t i = 0; i < n; i++, r = strtok_r(NULL, "\n", &save)) {
    if (!roster_refuses(both[i]))
      fail_msg("roster accepts %s", both[i]);
    if (!r || strncmp(r, "ERR ", 4) != 0)
      fail_msg("socket.io-parser accepts %s: %s", both[i], r ? r : "?");
  }
  free(out);

  /* socket.io-parser lets these through, roster refuses them
   * (sio_codec.h): an EVENT, ACK or CONNECT_ERROR without payload, white
   * space read as an ack id, an ack id past 2^53 - 1, and what jansson
   * refuses (a lone surrogate, a number past the double range, NUL in a
   * key) */
  static const char *const departures[] = {"2",
                                           "3",
                                           "4",
                                           "2 [\"a\"]",
                                           "29007199254740993[\"a\"]",
                                           "2[\"a\",\"\\ud800\"]",
                                           "2[\"a\",1e400]",
                                           "2[\"a\",{\"\\u0000\":1}]"};
  n = sizeof departures / sizeof *departures;
  out = node_verdicts(departures, n);
  r = strtok_r(out, "\n", &save);
  for (size_t i = 0; i < n; i++, r = strtok_r(NULL, "\n", &save)) {
    if (!roster_refuses(departures[i]))
      fail_msg("roster accepts %s", departures[i]);
    if (!r || strncmp(r, "OK ", 3) != 0)
      fail_msg("no longer a departure: socket.io-parser refuses %s: %s",
               departures[i], r ? r : "?");
  }
  free(out);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s TESTS_INTEROP_DIR\n", argv[0]);
    return 2;
  }
  snprintf(interop_dir, sizeof interop_dir, "%s", argv[1]);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_node_to_roster),
      cmocka_unit_test(test_roster_to_node),
      cmocka_unit_test(test_malformed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
