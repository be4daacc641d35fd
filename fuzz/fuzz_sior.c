/*
 * fuzz_sior.c: the msgpack decoder of the Socket.IO Redis adapter's
 * broadcasts (modules/sio_redis/sior_codec.h), what other nodes and
 * Node's @socket.io/redis-emitter publish.
 *
 * Input: one message, in a buffer of exactly its size (ASan catches a
 * read past the length).
 *
 * Properties:
 *  - it never crashes; a message is decoded or refused with ROSTER_EPARSE
 *    (or ROSTER_ENOMEM) and an error detail that is not empty and is
 *    clean text;
 *  - what decodes is valid to deliver: the uid, event and namespace are
 *    text without NUL, the namespace starts with '/', every room and
 *    exception is a registry name (1 to ROSTER_NAME_MAX bytes, no NUL),
 *    the lists are NULL-terminated at their counts, the args are an
 *    array in which a placeholder names each bin, and every bin lies
 *    inside the input;
 *  - a decoded message encodes (or is refused with ROSTER_EINVAL: a map
 *    that looks like a placeholder naming no bin), its encoding decodes,
 *    and that encodes to the same bytes (a fixed point).
 *
 * Inputs up to 4096 bytes.
 * fuzz-max-len: 4096
 * fuzz-link: roster_sio_redis_static
 */
#include "fuzz_util.h"

#include "../modules/sio_redis/sior_codec.h"

static void names_ok(char *const *v, size_t n, const char *what) {
  for (size_t i = 0; i < n; i++) {
    FUZZ_CHECK(v && v[i], "%s %zu of %zu is NULL", what, i, n);
    FUZZ_CHECK(roster__sior_room_ok(v[i], strlen(v[i])),
               "%s \"%s\" is not a registry name", what, v[i]);
  }
  FUZZ_CHECK(!v || !v[n], "%s are not NULL-terminated at their count", what);
}

/* named: marks the bins the placeholders of v name. */
static void named(const json_t *v, bool *seen) {
  if (json_is_object(v)) {
    json_t *num = json_object_get(v, "num");
    if (json_is_true(json_object_get(v, "_placeholder")) &&
        json_is_integer(num) && json_integer_value(num) >= 0 &&
        json_integer_value(num) < ROSTER__SIOR_MAX_BINS)
      seen[json_integer_value(num)] = true;
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x) named(x, seen);
  } else if (json_is_array(v)) {
    for (size_t i = 0; i < json_array_size(v); i++)
      named(json_array_get(v, i), seen);
  }
}

static void decoded_ok(const roster__sior_msg *m, const uint8_t *buf,
                       size_t len) {
  FUZZ_CHECK(m->uid && m->event && *m->event && m->nsp && m->nsp[0] == '/',
             "a decoded message lacks its uid, event or namespace");
  names_ok(m->rooms, m->nrooms, "rooms");
  names_ok(m->except, m->nexcept, "exceptions");
  FUZZ_CHECK(json_is_array(m->args), "the args are not an array");
  FUZZ_CHECK(m->nbin <= ROSTER__SIOR_MAX_BINS, "%zu bins", m->nbin);
  for (size_t i = 0; i < m->nbin; i++) {
    const uint8_t *p = m->bins[i].data;
    FUZZ_CHECK(m->bins[i].len == 0 ||
                   (p >= buf && p + m->bins[i].len <= buf + len),
               "bin %zu lies outside the input", i);
  }
  bool seen[ROSTER__SIOR_MAX_BINS] = {false};
  named(m->args, seen);
  for (size_t i = 0; i < m->nbin; i++)
    FUZZ_CHECK(seen[i], "bin %zu has no placeholder in the args", i);
}

/* encode: m's broadcast; NULL when encode refuses it (checked). */
static msgpack_sbuffer *encode(const roster__sior_msg *m) {
  msgpack_sbuffer *sb = msgpack_sbuffer_new();
  roster_socketio_target to = {.nsp = m->nsp,
                               .rooms = (const char *const *)m->rooms,
                               .except = (const char *const *)m->except,
                               .is_volatile = m->is_volatile};
  int rc =
      roster__sior_encode(sb, m->uid, &to, m->event, m->args, m->bins, m->nbin);
  if (rc != ROSTER_OK) {
    FUZZ_CHECK(rc == ROSTER_EINVAL, "encode failed with %d", rc);
    fuzz_error_ok("roster__sior_encode", rc, NULL);
    msgpack_sbuffer_free(sb);
    return NULL;
  }
  return sb;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_begin(data, size);
  char *buf = fuzz_copy_exact(data, size);
  roster__sior_msg m;
  int rc = roster__sior_decode(buf, size, &m);
  if (rc != ROSTER_OK) {
    FUZZ_CHECK(rc == ROSTER_EPARSE || rc == ROSTER_ENOMEM,
               "decode failed with %d", rc);
    fuzz_error_ok("roster__sior_decode", rc, NULL);
    free(buf);
    return 0;
  }
  decoded_ok(&m, (const uint8_t *)buf, size);
  msgpack_sbuffer *e = encode(&m);
  if (e) {
    roster__sior_msg m2;
    rc = roster__sior_decode(e->data, e->size, &m2);
    FUZZ_CHECK(rc == ROSTER_OK, "an encoding does not decode: %s",
               roster_last_error());
    decoded_ok(&m2, (const uint8_t *)e->data, e->size);
    FUZZ_CHECK(strcmp(m2.event, m.event) == 0 && strcmp(m2.nsp, m.nsp) == 0 &&
                   m2.nrooms == m.nrooms && m2.nexcept == m.nexcept &&
                   m2.is_volatile == m.is_volatile,
               "the message changed in a round trip");
    msgpack_sbuffer *e2 = encode(&m2);
    FUZZ_CHECK(e2 && e2->size == e->size &&
                   memcmp(e2->data, e->data, e->size) == 0,
               "a second encoding differs from the first");
    msgpack_sbuffer_free(e2);
    roster__sior_msg_free(&m2);
    msgpack_sbuffer_free(e);
  }
  roster__sior_msg_free(&m);
  free(buf);
  return 0;
}
