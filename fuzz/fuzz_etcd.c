/*
 * fuzz_etcd.c: the etcd module's reader of watch streams and answers
 * (modules/etcd/codec.c): the stream split into lines at any chunk
 * boundary (roster__etcd_lines_feed), each line read as a watch message
 * (roster__etcd_wparse), and base64 both ways.
 *
 * Input: the first byte picks a chunk size (1..64) for the second feed;
 * the rest is the stream.
 *
 * Properties:
 *  - the lines are the same whether the stream comes in one piece or in
 *    chunks of any size, and are the stream's non-empty lines exactly;
 *  - a line either reads as a message (ROSTER_OK) or is ROSTER_EPROTO
 *    with a detail; a message of events has n >= 1 events, each with a
 *    kv whose key is a C string of its own, kind 0 or 1; a compacted one
 *    has a compact revision > 0;
 *  - base64 of the line decodes back to it, and the decoding of the line
 *    itself, when it succeeds, encodes to something that decodes the same.
 *
 * Inputs up to 4096 bytes.
 * fuzz-max-len: 4096
 * fuzz-link: roster_etcd_static
 */
#include "fuzz_util.h"

#include "../modules/etcd/etcd_impl.h"

typedef struct acc {
  fuzz_buf all; /* the lines, each followed by '\n' */
  int n;
} acc;

static int keep(const char *line, size_t n, void *arg) {
  acc *a = arg;
  fuzz_buf_add(&a->all, line, n);
  fuzz_buf_add(&a->all, "\n", 1);
  a->n++;
  return 0;
}

static void check_line(const char *line, size_t n) {
  roster__etcd_wmsg m;
  int rc = roster__etcd_wparse(line, n, &m);
  FUZZ_CHECK(rc == ROSTER_OK || rc == ROSTER_EPROTO || rc == ROSTER_ENOMEM,
             "wparse returned %d", rc);
  if (rc) {
    FUZZ_CHECK(*roster_last_error(), "an error without a detail");
    return;
  }
  if (m.kind == ETCD_W_EVENTS) {
    FUZZ_CHECK(m.n >= 1, "events without events");
    for (size_t i = 0; i < m.n; i++) {
      FUZZ_CHECK(m.ev[i].kind == 0 || m.ev[i].kind == 1, "event kind %d",
                 m.ev[i].kind);
      FUZZ_CHECK(m.ev[i].kv && m.ev[i].kv->key && m.ev[i].kv->value,
                 "an event without its kv");
      (void)strlen(m.ev[i].kv->key);
    }
  }
  if (m.kind == ETCD_W_COMPACTED)
    FUZZ_CHECK(m.compact_revision > 0, "compacted at %lld",
               (long long)m.compact_revision);
  if (m.kind == ETCD_W_ERROR)
    FUZZ_CHECK(m.message != NULL, "an error without its message");
  roster__etcd_wmsg_clear(&m);

  char *e = roster__etcd_b64(line, n);
  FUZZ_CHECK(e != NULL, "b64 failed");
  size_t dn = 0;
  char *d = roster__etcd_unb64(e, &dn);
  FUZZ_CHECK(d && dn == n && !memcmp(d, line, n), "b64 does not round-trip");
  roster_mem_free(d);
  roster_mem_free(e);
  char *z = fuzz_strndup((const uint8_t *)line, n);
  d = roster__etcd_unb64(z, &dn);
  if (d) {
    e = roster__etcd_b64(d, dn);
    size_t dn2 = 0;
    char *d2 = roster__etcd_unb64(e, &dn2);
    FUZZ_CHECK(d2 && dn2 == dn && !memcmp(d2, d, dn),
               "a decoding does not survive re-encoding");
    roster_mem_free(d2);
    roster_mem_free(e);
    roster_mem_free(d);
  }
  free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_begin(data, size);
  if (!size)
    return 0;
  size_t chunk = (size_t)(data[0] % 64) + 1;
  const char *s = (const char *)data + 1;
  size_t n = size - 1;

  roster__etcd_lines l1 = {.max = 1 << 20}, l2 = {.max = 1 << 20};
  acc a1 = {0}, a2 = {0};
  FUZZ_CHECK(roster__etcd_lines_feed(&l1, s, n, keep, &a1) == ROSTER_OK,
             "feed failed");
  for (size_t o = 0; o < n; o += chunk)
    FUZZ_CHECK(roster__etcd_lines_feed(&l2, s + o,
                                       o + chunk > n ? n - o : chunk, keep,
                                       &a2) == ROSTER_OK,
               "chunked feed failed");
  FUZZ_CHECK(a1.n == a2.n && a1.all.n == a2.all.n &&
                 !memcmp(a1.all.p, a2.all.p, a1.all.n),
             "chunking changed the lines (%d against %d)", a1.n, a2.n);
  /* the reference: every complete non-empty line of the stream */
  fuzz_buf want = {0};
  int wn = 0;
  size_t start = 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] == '\n') {
      if (i > start) {
        fuzz_buf_add(&want, s + start, i - start);
        fuzz_buf_add(&want, "\n", 1);
        wn++;
      }
      start = i + 1;
    }
  FUZZ_CHECK(wn == a1.n && want.n == a1.all.n &&
                 !memcmp(want.p, a1.all.p, want.n),
             "the lines differ from the stream's");
  for (size_t o = 0; o < a1.all.n;) {
    const char *nl = memchr(a1.all.p + o, '\n', a1.all.n - o);
    check_line(a1.all.p + o, (size_t)(nl - (a1.all.p + o)));
    o = (size_t)(nl - a1.all.p) + 1;
  }
  free(want.p);
  free(a1.all.p);
  free(a2.all.p);
  roster__etcd_lines_free(&l1);
  roster__etcd_lines_free(&l2);
  return 0;
}
