/*
 * sior_codec.h: the messages of @socket.io/redis-adapter 8 and
 * @socket.io/redis-emitter 5, in msgpack (msgpack-c), without I/O.
 *
 * A broadcast is the msgpack array [uid, packet, opts]: uid the sending
 * node's ("emitter" for the emitter), packet the map {type: 2 (EVENT; 5,
 * BINARY_EVENT, is taken too), data: [event, args...], nsp: "/chat"}
 * where a binary argument is a msgpack bin, opts the map {rooms: [...],
 * except: [...], flags: {volatile: true, ...}}. It is published on
 * "<key>#<nsp>#", or "<key>#<nsp>#<room>#" when it names exactly one
 * room.
 *
 * Decoding turns the arguments into jansson (integers as integers, floats
 * as reals, NaN and the infinities as null, a bin as the placeholder
 * {"_placeholder":true,"num":i} with its bytes in bins[i], notepack's
 * undefined as null, a msgpack timestamp as the ISO 8601 text
 * JSON.stringify gives a Date); whatever else does not fit is refused.
 */
#ifndef ROSTER_SIOR_CODEC_H
#define ROSTER_SIOR_CODEC_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <msgpack.h>

#include <roster/socketio.h>

/* At most this many bins in one decoded broadcast (the server's own
 * decoders take 10 attachments). */
#define ROSTER__SIOR_MAX_BINS 10
/* At most this many rooms (and as many exceptions) in one broadcast. */
#define ROSTER__SIOR_MAX_ROOMS 1024
/* Nesting of arguments at most. */
#define ROSTER__SIOR_MAX_DEPTH 32

/* roster__sior_msg: a decoded broadcast. Its bins point into the buffer
 * given to roster__sior_decode: valid while it is. */
typedef struct roster__sior_msg {
  char *uid;
  char *nsp;
  char *event;
  json_t *args; /* an array */
  roster_socketio_bin bins[ROSTER__SIOR_MAX_BINS];
  size_t nbin;
  char **rooms; /* NULL-terminated, each a valid room name */
  size_t nrooms;
  char **except; /* NULL-terminated */
  size_t nexcept;
  bool is_volatile;
  msgpack_unpacked up;
} roster__sior_msg;

/* roster__sior_decode decodes one broadcast. ROSTER_EPARSE (with why) for
 * anything malformed: not msgpack, trailing bytes, a container longer
 * than the bytes left, not [uid, packet,
 * opts], a packet that is not an EVENT with an event name, a room that is
 * not a registry name (1 to ROSTER_NAME_MAX bytes, no NUL), text that is
 * not UTF-8, too deep, too many bins or rooms; ROSTER_ENOMEM. *m needs
 * roster__sior_msg_free after ROSTER_OK only. */
int roster__sior_decode(const void *buf, size_t len, roster__sior_msg *m);
void roster__sior_msg_free(roster__sior_msg *m);

/* roster__sior_encode writes the broadcast of event, args (an array or
 * NULL; placeholders name bins) to `to` (nsp set) from uid into sb
 * (initialised by the caller; appended to). ROSTER_EINVAL (a placeholder
 * naming no bin), ROSTER_ENOMEM. */
int roster__sior_encode(msgpack_sbuffer *sb, const char *uid,
                        const roster_socketio_target *to, const char *event,
                        const json_t *args, const roster_socketio_bin *bins,
                        size_t nbin);

/* roster__sior_unpack unpacks buf, exactly one msgpack value, into up
 * (initialised by the caller), after checking that no container announces
 * more items than there are bytes left (msgpack-c would allocate for them
 * first). 0, or -1 when it is not such a value. */
int roster__sior_unpack(const void *buf, size_t len, msgpack_unpacked *up);

/* roster__sior_room_ok: name is a room the registry can hold. */
bool roster__sior_room_ok(const char *name, size_t len);

/* roster__sior_json: a msgpack value as jansson (as decoding does, bins
 * refused), for requests and responses; NULL when it does not fit. */
json_t *roster__sior_json(const msgpack_object *o);

#endif
