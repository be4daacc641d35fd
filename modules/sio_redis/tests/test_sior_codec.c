/*
 * test_sior_codec.c: the adapter's msgpack messages (sior_codec.h) without
 * I/O: what roster encodes decodes back; bytes as notepack.io writes them
 * (Node's emitter and adapter) decode; malformed messages are refused
 * with a reason; the fuzz corpus (fuzz/corpus/sior) is replayed by
 * fuzz_replay_sior.
 */
#include "testutil.h"

#include "sior_codec.h"

static void t_round_trip(void **state) {
  (void)state;
  unsigned char bytes[] = {1, 2, 3};
  roster_socketio_bin bin = {bytes, sizeof bytes};
  json_t *args = json_pack("[{sbsi}{sisfsn}[sb]f]", "_placeholder", 1, "num", 0,
                           "n", 5, "r", 2.5, "z", "é", 1, 3.0);
  const char *rooms[] = {"a", "b", NULL}, *except[] = {"c", NULL};
  roster_socketio_target to = {
      .nsp = "/chat", .rooms = rooms, .except = except, .is_volatile = true};
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  assert_ok(roster__sior_encode(&sb, "uid123", &to, "ev", args, &bin, 1));
  roster__sior_msg m;
  assert_ok(roster__sior_decode(sb.data, sb.size, &m));
  assert_string_equal(m.uid, "uid123");
  assert_string_equal(m.nsp, "/chat");
  assert_string_equal(m.event, "ev");
  assert_int_equal(m.nrooms, 2);
  assert_string_equal(m.rooms[0], "a");
  assert_string_equal(m.rooms[1], "b");
  assert_null(m.rooms[2]);
  assert_int_equal(m.nexcept, 1);
  assert_string_equal(m.except[0], "c");
  assert_true(m.is_volatile);
  assert_int_equal(m.nbin, 1);
  assert_int_equal(m.bins[0].len, 3);
  assert_memory_equal(m.bins[0].data, bytes, 3);
  char *text = json_dumps(m.args, JSON_COMPACT);
  /* 3.0 went as the integer 3, as notepack writes a JavaScript number */
  assert_string_equal(text, "[{\"_placeholder\":true,\"num\":0},{\"n\":5,"
                            "\"r\":2.5,\"z\":null},[\"é\",true],3]");
  free(text);
  roster__sior_msg_free(&m);
  /* a placeholder naming no bin is refused */
  msgpack_sbuffer_clear(&sb);
  assert_rc(roster__sior_encode(&sb, "u", &to, "ev", args, NULL, 0),
            ROSTER_EINVAL);
  msgpack_sbuffer_destroy(&sb);
  json_decref(args);
}

/* What @socket.io/redis-emitter 5 publishes for
 * emitter.to("room1").except("x").emit("hello", 1, "w", Buffer([9]),
 * undefined-in-an-object, new Date(0)) (notepack.io 3 bytes; nsp "/"). */
static void t_notepack_bytes(void **state) {
  (void)state;
  static const unsigned char msg[] = {
      0x93, 0xa7, 'e',  'm',  'i',  't',  't',  'e',  'r', /* "emitter" */
      0x83, 0xa4, 't',  'y',  'p',  'e',  0x02,            /* type: 2 */
      0xa4, 'd',  'a',  't',  'a',  0x96,                  /* data: [6] */
      0xa5, 'h',  'e',  'l',  'l',  'o',  0x01, 0xa1, 'w',  0xc4, 0x01,
      0x09, 0xd4, 0x00, 0x00,             /* undefined */
      0xd6, 0xff, 0x00, 0x00, 0x00, 0x00, /* Date(0) */
      0xa3, 'n',  's',  'p',  0xa1, '/',  /* nsp: "/" */
      0x83, 0xa5, 'r',  'o',  'o',  'm',  's',  0x91, 0xa5, 'r',  'o',
      'o',  'm',  '1',  0xa5, 'f',  'l',  'a',  'g',  's',  0x80, /* flags: {}
                                                                   */
      0xa6, 'e',  'x',  'c',  'e',  'p',  't',  0x91, 0xa1, 'x'};
  roster__sior_msg m;
  assert_ok(roster__sior_decode(msg, sizeof msg, &m));
  assert_string_equal(m.uid, "emitter");
  assert_string_equal(m.nsp, "/");
  assert_string_equal(m.event, "hello");
  assert_int_equal(m.nrooms, 1);
  assert_string_equal(m.rooms[0], "room1");
  assert_string_equal(m.except[0], "x");
  assert_false(m.is_volatile);
  assert_int_equal(m.nbin, 1);
  assert_int_equal(((const unsigned char *)m.bins[0].data)[0], 9);
  char *text = json_dumps(m.args, JSON_COMPACT);
  assert_string_equal(text, "[1,\"w\",{\"_placeholder\":true,\"num\":0},null,"
                            "\"1970-01-01T00:00:00.000Z\"]");
  free(text);
  roster__sior_msg_free(&m);
}

static void refused(const void *p, size_t n, const char *why) {
  roster__sior_msg m;
  assert_rc(roster__sior_decode(p, n, &m), ROSTER_EPARSE);
  assert_contains(roster_last_error(), why);
}

/* lit: a string literal of the message's bytes (its NUL not counted) */
#define REFUSED(lit, why) refused((lit), sizeof(lit) - 1, (why))

static void t_malformed(void **state) {
  (void)state;
  REFUSED("", "not one msgpack value");
  REFUSED("\x93\xa1u", "not one msgpack value"); /* cut short */
  REFUSED("\x92\xa1u\x80", "[uid, packet, opts]");
  REFUSED("\x93\xa1u\x80\x80\xc0", "not one msgpack value");
  /* a map announcing 2^32-1 entries in a few bytes: refused before
   * msgpack-c would allocate for them */
  REFUSED("\x93\xa1u\xdf\xff\xff\xff\xff\x80", "more items than");
  REFUSED("\x93\x01\x80\x80", "uid");
  /* type 3 (ACK) */
  REFUSED("\x93\xa1u\x81\xa4type\x03\x80", "not an EVENT");
  /* data without an event name */
  REFUSED("\x93\xa1u\x82\xa4type\x02\xa4"
          "data\x90\x80",
          "[event, args...]");
  /* a room with a NUL, an empty room, a room that is a map */
  REFUSED("\x93\xa1u\x82\xa4type\x02\xa4"
          "data\x91\xa1"
          "e\x81\xa5rooms\x91\xa2x\x00",
          "a room");
  REFUSED("\x93\xa1u\x82\xa4type\x02\xa4"
          "data\x91\xa1"
          "e\x81\xa5rooms\x91\xa0",
          "a room");
  REFUSED("\x93\xa1u\x82\xa4type\x02\xa4"
          "data\x91\xa1"
          "e\x81\xa6"
          "except\x91\x80",
          "a room");
  /* an argument that is not UTF-8, a map key that is a number */
  REFUSED("\x93\xa1u\x82\xa4type\x02\xa4"
          "data\x92\xa1"
          "e\xa1\xff\x80",
          "argument");
  REFUSED("\x93\xa1u\x82\xa4type\x02\xa4"
          "data\x92\xa1"
          "e\x81\x01\x01\x80",
          "argument");
  /* a map key given twice (the second would hide the first and any
   * attachment in it), a key holding a NUL, a map shaped like a binary
   * placeholder (binaries come as msgpack bin) */
  REFUSED("\x93\xa1u\x82\xa4type\x02\xa4"
          "data\x92\xa1"
          "e\x82\xa1"
          "a\x01\xa1"
          "a\x02\x80",
          "given twice");
  REFUSED("\x93\xa1u\x82\xa4type\x02\xa4"
          "data\x92\xa1"
          "e\x81\xa2"
          "a\x00\x01\x80",
          "NUL");
  REFUSED("\x93\xa1u\x82\xa4type\x02\xa4"
          "data\x92\xa1"
          "e\x82\xac_placeholder\xc3\xa3num\x00\x80",
          "placeholder");
  /* an empty uid is a uid (and its empty string is never read) */
  {
    static const char empty_uid[] = "\x93\xa0\x82\xa4type\x02\xa4"
                                    "data\x91\xa1"
                                    "e\x80";
    roster__sior_msg m;
    assert_ok(roster__sior_decode(empty_uid, sizeof empty_uid - 1, &m));
    assert_string_equal(m.uid, "");
    roster__sior_msg_free(&m);
  }
  /* a namespace that does not start with '/' */
  REFUSED("\x93\xa1u\x83\xa4type\x02\xa4"
          "data\x91\xa1"
          "e\xa3nsp\xa1x\x80",
          "nsp");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_round_trip),
      cmocka_unit_test(t_notepack_bytes),
      cmocka_unit_test(t_malformed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
