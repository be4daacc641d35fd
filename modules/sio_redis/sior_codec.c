/*
 * sior_codec.c: broadcasts of @socket.io/redis-adapter in msgpack, both
 * ways (sior_codec.h). No I/O: the fuzz harness drives the decoder.
 */
#include "sior_codec.h"

#include <roster.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

bool roster__sior_room_ok(const char *name, size_t len) {
  return len >= 1 && len <= ROSTER_NAME_MAX && !memchr(name, 0, len);
}

/* ---- decoding ------------------------------------------------------------ */

static uint64_t be(const uint8_t *p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++)
    v = v << 8 | p[i];
  return v;
}

/* scan: buf holds exactly one msgpack value whose containers announce no
 * more items than there are bytes left. msgpack-c allocates a container's
 * items from its header before it reads them: a few bytes announcing
 * 2^32 items would ask for 64 GiB. */
static bool scan(const uint8_t *p, size_t len) {
  size_t pos = 0;
  uint64_t pending = 1; /* items still to read, each 1 byte at least */
  while (pending) {
    if (pos >= len || pending > len - pos)
      return false;
    pending--;
    uint8_t c = p[pos++];
    uint64_t skip = 0, items = 0;
    size_t lenb = 0; /* bytes of a length that follows */
    if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
      continue;
    if (c >= 0x80 && c <= 0x8f)
      items = 2u * (c & 0x0f);
    else if (c >= 0x90 && c <= 0x9f)
      items = c & 0x0f;
    else if (c >= 0xa0 && c <= 0xbf)
      skip = c & 0x1f;
    else if (c == 0xc4 || c == 0xd9)
      lenb = 1;
    else if (c == 0xc5 || c == 0xda)
      lenb = 2;
    else if (c == 0xc6 || c == 0xdb)
      lenb = 4;
    else if (c >= 0xc7 && c <= 0xc9)
      lenb = (size_t)1 << (c - 0xc7); /* ext: a length, then a type */
    else if (c == 0xca || c == 0xce || c == 0xd2)
      skip = 4;
    else if (c == 0xcb || c == 0xcf || c == 0xd3)
      skip = 8;
    else if (c == 0xcc || c == 0xd0)
      skip = 1;
    else if (c == 0xcd || c == 0xd1)
      skip = 2;
    else if (c >= 0xd4 && c <= 0xd8)
      skip = 1 + ((uint64_t)1 << (c - 0xd4));
    else if (c == 0xdc || c == 0xde)
      lenb = 2;
    else if (c == 0xdd || c == 0xdf)
      lenb = 4;
    else
      return false; /* 0xc1 */
    if (lenb) {
      if (len - pos < lenb)
        return false;
      uint64_t n = be(p + pos, lenb);
      pos += lenb;
      if (c >= 0xdc)
        items = c == 0xde || c == 0xdf ? 2 * n : n;
      else
        skip = n + (c >= 0xc7 && c <= 0xc9); /* ext's type byte */
    }
    if (skip > len - pos)
      return false;
    pos += (size_t)skip;
    pending += items; /* checked against the bytes left at the loop's top */
  }
  return pos == len;
}

int roster__sior_unpack(const void *buf, size_t len, msgpack_unpacked *up) {
  size_t off = 0;
  return buf && scan(buf, len) &&
                 msgpack_unpack_next(up, buf, len, &off) ==
                     MSGPACK_UNPACK_SUCCESS &&
                 off == len
             ? 0
             : -1;
}

typedef struct dec {
  roster_socketio_bin *bins;
  size_t nbin;
  bool bins_ok; /* a bin becomes a placeholder (else refused) */
} dec;

static const msgpack_object *map_get(const msgpack_object *o, const char *k) {
  if (o->type != MSGPACK_OBJECT_MAP)
    return NULL;
  size_t kl = strlen(k);
  for (uint32_t i = 0; i < o->via.map.size; i++) {
    const msgpack_object *key = &o->via.map.ptr[i].key;
    if (key->type == MSGPACK_OBJECT_STR && key->via.str.size == kl &&
        memcmp(key->via.str.ptr, k, kl) == 0)
      return &o->via.map.ptr[i].val;
  }
  return NULL;
}

/* timestamp: msgpack's timestamp extension (notepack's Date) as the text
 * of Date.prototype.toJSON. */
static json_t *timestamp(const msgpack_object_ext *e) {
  const uint8_t *p = (const uint8_t *)e->ptr;
  int64_t sec;
  uint32_t ns = 0;
  if (e->size == 4) {
    sec = (int64_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
                    (uint32_t)p[2] << 8 | p[3]);
  } else if (e->size == 8) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
      v = v << 8 | p[i];
    ns = (uint32_t)(v >> 34);
    sec = (int64_t)(v & 0x3ffffffffULL);
  } else if (e->size == 12) {
    for (int i = 0; i < 4; i++)
      ns = ns << 8 | p[i];
    uint64_t v = 0;
    for (int i = 4; i < 12; i++)
      v = v << 8 | p[i];
    sec = (int64_t)v;
  } else {
    return NULL;
  }
  /* years 0 to 9999, as JavaScript writes them without a sign */
  if (ns > 999999999 || sec < -62167219200LL || sec > 253402300799LL)
    return NULL;
  time_t t = (time_t)sec;
  struct tm tm;
  if (!gmtime_r(&t, &tm))
    return NULL;
  char buf[64];
  snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
           tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
           tm.tm_sec, ns / 1000000u);
  return json_string(buf);
}

static json_t *to_json(dec *d, const msgpack_object *o, int depth) {
  if (depth > ROSTER__SIOR_MAX_DEPTH)
    return NULL;
  switch (o->type) {
  case MSGPACK_OBJECT_NIL:
    return json_null();
  case MSGPACK_OBJECT_BOOLEAN:
    return json_boolean(o->via.boolean);
  case MSGPACK_OBJECT_POSITIVE_INTEGER:
    return o->via.u64 <= INT64_MAX ? json_integer((json_int_t)o->via.u64)
                                   : json_real((double)o->via.u64);
  case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    return json_integer((json_int_t)o->via.i64);
  case MSGPACK_OBJECT_FLOAT32:
  case MSGPACK_OBJECT_FLOAT64:
    return isfinite(o->via.f64) ? json_real(o->via.f64) : json_null();
  case MSGPACK_OBJECT_STR:
    return json_stringn(o->via.str.ptr, o->via.str.size); /* UTF-8 checked */
  case MSGPACK_OBJECT_BIN:
    if (!d->bins_ok || d->nbin == ROSTER__SIOR_MAX_BINS)
      return NULL;
    d->bins[d->nbin] =
        (roster_socketio_bin){o->via.bin.ptr, (size_t)o->via.bin.size};
    return json_pack("{sbsI}", "_placeholder", 1, "num", (json_int_t)d->nbin++);
  case MSGPACK_OBJECT_EXT:
    if (o->via.ext.type == 0 && o->via.ext.size == 1 && !o->via.ext.ptr[0])
      return json_null(); /* notepack's undefined */
    return o->via.ext.type == -1 ? timestamp(&o->via.ext) : NULL;
  case MSGPACK_OBJECT_ARRAY: {
    json_t *a = json_array();
    for (uint32_t i = 0; a && i < o->via.array.size; i++) {
      json_t *v = to_json(d, &o->via.array.ptr[i], depth + 1);
      if (!v || json_array_append_new(a, v)) {
        json_decref(a);
        a = NULL;
      }
    }
    return a;
  }
  case MSGPACK_OBJECT_MAP: {
    json_t *m = json_object();
    for (uint32_t i = 0; m && i < o->via.map.size; i++) {
      const msgpack_object *k = &o->via.map.ptr[i].key;
      /* a key twice is refused: the second value would hide the first,
       * and with it any attachment the first one held; so is a key with
       * a NUL, which the encoder (C strings) could not give back */
      const char *ks = k->type == MSGPACK_OBJECT_STR && k->via.str.size
                           ? k->via.str.ptr
                           : "";
      json_t *v = k->type == MSGPACK_OBJECT_STR &&
                          !memchr(ks, 0, k->via.str.size) &&
                          !json_object_getn(m, ks, k->via.str.size)
                      ? to_json(d, &o->via.map.ptr[i].val, depth + 1)
                      : NULL;
      if (!v || json_object_setn_new(m, ks, k->via.str.size, v)) {
        json_decref(m);
        m = NULL;
      }
    }
    /* a map shaped like a placeholder is refused: a binary value arrives
     * as msgpack bin, and such a map would be read as one downstream */
    if (m && json_is_true(json_object_get(m, "_placeholder")) &&
        json_is_number(json_object_get(m, "num"))) {
      json_decref(m);
      m = NULL;
    }
    return m;
  }
  default:
    return NULL;
  }
}

json_t *roster__sior_json(const msgpack_object *o) {
  dec d = {0};
  return to_json(&d, o, 0);
}

static char *str_dup(const msgpack_object *o) {
  if (o->type != MSGPACK_OBJECT_STR)
    return NULL;
  char *s = roster_mem_alloc(o->via.str.size + 1);
  if (s) {
    if (o->via.str.size) /* an empty string's ptr may be NULL */
      memcpy(s, o->via.str.ptr, o->via.str.size);
    s[o->via.str.size] = 0;
  }
  return s;
}

static void names_free(char **v) {
  for (size_t i = 0; v && v[i]; i++)
    roster_mem_free(v[i]);
  roster_mem_free(v);
}

/* rooms_in: an array of room names (strings, or numbers as socket.io
 * allows, written as JavaScript does for integers). NULL o: none. */
static int rooms_in(const msgpack_object *o, char ***out, size_t *n,
                    const char **why) {
  *out = NULL;
  *n = 0;
  if (!o || o->type == MSGPACK_OBJECT_NIL)
    return ROSTER_OK;
  if (o->type != MSGPACK_OBJECT_ARRAY ||
      o->via.array.size > ROSTER__SIOR_MAX_ROOMS) {
    *why = "rooms or except is not an array of at most 1024 rooms";
    return ROSTER_EPARSE;
  }
  char **v = roster_mem_calloc(o->via.array.size + 1, sizeof *v);
  if (!v)
    return ROSTER_ENOMEM;
  for (uint32_t i = 0; i < o->via.array.size; i++) {
    const msgpack_object *r = &o->via.array.ptr[i];
    char num[32];
    const char *p = num;
    size_t len;
    if (r->type == MSGPACK_OBJECT_STR) {
      p = r->via.str.ptr;
      len = r->via.str.size;
    } else if (r->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
      len = (size_t)snprintf(num, sizeof num, "%llu",
                             (unsigned long long)r->via.u64);
    } else if (r->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
      len = (size_t)snprintf(num, sizeof num, "%lld", (long long)r->via.i64);
    } else {
      len = 0;
    }
    if (!roster__sior_room_ok(p, len)) {
      names_free(v);
      *why = "a room is not a string or integer of 1 to ROSTER_NAME_MAX "
             "bytes without NUL";
      return ROSTER_EPARSE;
    }
    if (!(v[i] = roster_mem_alloc(len + 1))) {
      names_free(v);
      return ROSTER_ENOMEM;
    }
    memcpy(v[i], p, len);
    v[i][len] = 0;
  }
  *out = v;
  *n = o->via.array.size;
  return ROSTER_OK;
}

void roster__sior_msg_free(roster__sior_msg *m) {
  roster_mem_free(m->uid);
  roster_mem_free(m->nsp);
  roster_mem_free(m->event);
  json_decref(m->args);
  names_free(m->rooms);
  names_free(m->except);
  msgpack_unpacked_destroy(&m->up);
  memset(m, 0, sizeof *m);
}

static int bad(roster__sior_msg *m, const char *why) {
  roster__sior_msg_free(m);
  return roster_error_set(ROSTER_EPARSE, "socket.io redis broadcast: %s", why);
}

int roster__sior_decode(const void *buf, size_t len, roster__sior_msg *m) {
  memset(m, 0, sizeof *m);
  msgpack_unpacked_init(&m->up);
  if (roster__sior_unpack(buf, len, &m->up) != 0)
    return bad(m, "not one msgpack value (or a container announcing more "
                  "items than there are bytes)");
  const msgpack_object *top = &m->up.data;
  if (top->type != MSGPACK_OBJECT_ARRAY || top->via.array.size != 3)
    return bad(m, "not the array [uid, packet, opts]");
  const msgpack_object *uid = &top->via.array.ptr[0];
  const msgpack_object *pk = &top->via.array.ptr[1];
  const msgpack_object *opts = &top->via.array.ptr[2];
  if (uid->type != MSGPACK_OBJECT_STR || uid->via.str.size > 64 ||
      (uid->via.str.size && memchr(uid->via.str.ptr, 0, uid->via.str.size)))
    return bad(m, "the uid is not a string of at most 64 bytes");
  if (pk->type != MSGPACK_OBJECT_MAP || opts->type != MSGPACK_OBJECT_MAP)
    return bad(m, "the packet or the options are not maps");
  const msgpack_object *type = map_get(pk, "type");
  const msgpack_object *data = map_get(pk, "data");
  const msgpack_object *nsp = map_get(pk, "nsp");
  if (!type || type->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
      (type->via.u64 != 2 && type->via.u64 != 5))
    return bad(m, "the packet is not an EVENT");
  if (!data || data->type != MSGPACK_OBJECT_ARRAY || !data->via.array.size ||
      data->via.array.ptr[0].type != MSGPACK_OBJECT_STR ||
      !data->via.array.ptr[0].via.str.size)
    return bad(m, "the packet's data is not [event, args...]");
  if (nsp && nsp->type != MSGPACK_OBJECT_NIL &&
      (nsp->type != MSGPACK_OBJECT_STR || !nsp->via.str.size ||
       nsp->via.str.ptr[0] != '/' ||
       !roster__sior_room_ok(nsp->via.str.ptr, nsp->via.str.size)))
    return bad(m, "the packet's nsp is not a namespace name");
  const char *why = NULL;
  int rc = rooms_in(map_get(opts, "rooms"), &m->rooms, &m->nrooms, &why);
  if (rc == ROSTER_OK)
    rc = rooms_in(map_get(opts, "except"), &m->except, &m->nexcept, &why);
  if (rc == ROSTER_EPARSE)
    return bad(m, why);
  const msgpack_object *flags = map_get(opts, "flags");
  const msgpack_object *vol = flags ? map_get(flags, "volatile") : NULL;
  m->is_volatile =
      vol && vol->type == MSGPACK_OBJECT_BOOLEAN && vol->via.boolean;
  if (rc == ROSTER_OK) {
    m->uid = str_dup(uid);
    m->event = str_dup(&data->via.array.ptr[0]);
    m->nsp = nsp && nsp->type == MSGPACK_OBJECT_STR ? str_dup(nsp)
                                                    : roster_mem_strdup("/");
    if (!m->uid || !m->event || !m->nsp)
      rc = ROSTER_ENOMEM;
  }
  if (rc == ROSTER_OK) {
    const msgpack_object *ev = &data->via.array.ptr[0];
    json_t *t = json_stringn(ev->via.str.ptr, ev->via.str.size);
    json_decref(t);
    if (!t ||
        (ev->via.str.size && memchr(ev->via.str.ptr, 0, ev->via.str.size)))
      return bad(m, "the event name is not UTF-8 without NUL");
  }
  if (rc == ROSTER_ENOMEM) {
    roster__sior_msg_free(m);
    return roster_error_set(ROSTER_ENOMEM, "sio_redis: out of memory");
  }
  dec d = {.bins = m->bins, .bins_ok = true};
  if (!(m->args = json_array()))
    return bad(m, "out of memory");
  for (uint32_t i = 1; i < data->via.array.size; i++) {
    json_t *v = to_json(&d, &data->via.array.ptr[i], 1);
    if (!v || json_array_append_new(m->args, v))
      return bad(m, "an argument is not JSON-like (bad UTF-8, a map key "
                    "that is not a string, given twice or holding a NUL, a "
                    "map shaped like a binary placeholder, an unknown "
                    "extension, too deep, or more than 10 binary values)");
  }
  m->nbin = d.nbin;
  return ROSTER_OK;
}

/* ---- encoding ------------------------------------------------------------ */

static void pack_str(msgpack_packer *pk, const char *s, size_t n) {
  msgpack_pack_str(pk, n);
  msgpack_pack_str_body(pk, s, n);
}

static void pack_cstr(msgpack_packer *pk, const char *s) {
  pack_str(pk, s, strlen(s));
}

static int pack_json(msgpack_packer *pk, const json_t *v,
                     const roster_socketio_bin *bins, size_t nbin) {
  switch (json_typeof(v)) {
  case JSON_OBJECT: {
    json_t *ph = json_object_get(v, "_placeholder");
    json_t *num = json_object_get(v, "num");
    if (json_is_true(ph) && json_is_number(num)) {
      double i = json_number_value(num);
      if (i < 0 || i >= (double)nbin || i != (double)(size_t)i)
        return roster_error_set(ROSTER_EINVAL,
                                "sio_redis: a placeholder names no bin");
      const roster_socketio_bin *b = &bins[(size_t)i];
      msgpack_pack_bin(pk, b->len);
      msgpack_pack_bin_body(pk, b->data, b->len);
      return ROSTER_OK;
    }
    msgpack_pack_map(pk, json_object_size(v));
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x) {
      pack_cstr(pk, k);
      int rc = pack_json(pk, x, bins, nbin);
      if (rc != ROSTER_OK)
        return rc;
    }
    return ROSTER_OK;
  }
  case JSON_ARRAY:
    msgpack_pack_array(pk, json_array_size(v));
    for (size_t i = 0; i < json_array_size(v); i++) {
      int rc = pack_json(pk, json_array_get(v, i), bins, nbin);
      if (rc != ROSTER_OK)
        return rc;
    }
    return ROSTER_OK;
  case JSON_STRING:
    pack_str(pk, json_string_value(v), json_string_length(v));
    return ROSTER_OK;
  case JSON_INTEGER:
    msgpack_pack_int64(pk, json_integer_value(v));
    return ROSTER_OK;
  case JSON_REAL: {
    /* JavaScript has one number type: an integral value goes as an
     * integer, as notepack writes it */
    double d = json_real_value(v);
    if (d == floor(d) && fabs(d) < 9007199254740992.0)
      msgpack_pack_int64(pk, (int64_t)d);
    else
      msgpack_pack_double(pk, d);
    return ROSTER_OK;
  }
  case JSON_TRUE:
    msgpack_pack_true(pk);
    return ROSTER_OK;
  case JSON_FALSE:
    msgpack_pack_false(pk);
    return ROSTER_OK;
  default:
    msgpack_pack_nil(pk);
    return ROSTER_OK;
  }
}

static size_t count(const char *const *v) {
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
}

static void pack_names(msgpack_packer *pk, const char *const *v) {
  size_t n = count(v);
  msgpack_pack_array(pk, n);
  for (size_t i = 0; i < n; i++)
    pack_cstr(pk, v[i]);
}

int roster__sior_encode(msgpack_sbuffer *sb, const char *uid,
                        const roster_socketio_target *to, const char *event,
                        const json_t *args, const roster_socketio_bin *bins,
                        size_t nbin) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 3);
  pack_cstr(&pk, uid);
  msgpack_pack_map(&pk, 3);
  pack_cstr(&pk, "type");
  msgpack_pack_int(&pk, 2);
  pack_cstr(&pk, "data");
  msgpack_pack_array(&pk, 1 + json_array_size(args));
  pack_cstr(&pk, event);
  for (size_t i = 0; i < json_array_size(args); i++) {
    int rc = pack_json(&pk, json_array_get(args, i), bins, nbin);
    if (rc != ROSTER_OK)
      return rc;
  }
  pack_cstr(&pk, "nsp");
  pack_cstr(&pk, to->nsp ? to->nsp : "/");
  msgpack_pack_map(&pk, 3);
  pack_cstr(&pk, "rooms");
  pack_names(&pk, to->rooms);
  pack_cstr(&pk, "except");
  pack_names(&pk, to->except);
  pack_cstr(&pk, "flags");
  msgpack_pack_map(&pk, to->is_volatile ? 1 : 0);
  if (to->is_volatile) {
    pack_cstr(&pk, "volatile");
    msgpack_pack_true(&pk);
  }
  return sb->data || !sb->size
             ? ROSTER_OK
             : roster_error_set(ROSTER_ENOMEM, "sio_redis: out of memory");
}
