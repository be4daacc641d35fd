/*
 * test_etcd_codec.c: the module's codec without a server: base64 both
 * ways, int64 strings, prefix ends, the watch stream split into lines at
 * any chunk boundary, and each kind of watch message (created, events with
 * a DELETE, progress, compacted, canceled, a stream's error).
 */
#include "etcd_testutil.h"

#include "etcd_impl.h"

static void test_base64(void **state) {
  (void)state;
  const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  const char *out[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                       "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  for (size_t i = 0; i < 7; i++) {
    char *e = roster__etcd_b64(in[i], strlen(in[i]));
    assert_string_equal(e, out[i]);
    size_t n;
    char *d = roster__etcd_unb64(e, &n);
    assert_int_equal(n, strlen(in[i]));
    assert_string_equal(d, in[i]);
    roster_mem_free(e);
    roster_mem_free(d);
  }
  size_t n;
  assert_null(roster__etcd_unb64("Zm9v!", &n));
  assert_null(roster__etcd_unb64("Z", &n));
}

static void test_prefix_end(void **state) {
  (void)state;
  size_t n;
  char *e = roster__etcd_prefix_end("/roster/a/", &n);
  assert_string_equal(e, "/roster/a0");
  assert_int_equal(n, 10);
  roster_mem_free(e);
  e = roster__etcd_prefix_end("a\xff\xff", &n);
  assert_int_equal(n, 1);
  assert_int_equal(e[0], 'b');
  roster_mem_free(e);
  e = roster__etcd_prefix_end("", &n);
  assert_int_equal(n, 1);
  assert_int_equal(e[0], 0);
  roster_mem_free(e);
}

typedef struct seen {
  int n;
  roster__etcd_wmsg m[8];
} seen;

static int take(const char *line, size_t n, void *arg) {
  seen *s = arg;
  assert_ok(roster__etcd_wparse(line, n, &s->m[s->n++]));
  return 0;
}

static const char STREAM[] =
    "{\"result\":{\"header\":{\"revision\":\"7\"},\"created\":true}}\n"
    "{\"result\":{\"header\":{\"revision\":\"9\"},\"events\":["
    "{\"kv\":{\"key\":\"L2Ev\",\"value\":\"eA==\",\"create_revision\":\"8\","
    "\"mod_revision\":\"8\",\"version\":\"1\",\"lease\":\"123\"}},"
    "{\"type\":\"DELETE\",\"kv\":{\"key\":\"L2Iv\",\"mod_revision\":\"9\"}}"
    "]}}\n\n"
    "{\"result\":{\"header\":{\"revision\":\"9\"}}}\n"
    "{\"result\":{\"header\":{\"revision\":\"20\"},\"canceled\":true,"
    "\"compact_revision\":\"15\"}}\n"
    "{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"transport "
    "is closing\",\"http_status\":\"Service Unavailable\"}}\n";

static void check(seen *s) {
  assert_int_equal(s->n, 5);
  assert_int_equal(s->m[0].kind, ETCD_W_CREATED);
  assert_int_equal(s->m[0].revision, 7);
  assert_int_equal(s->m[1].kind, ETCD_W_EVENTS);
  assert_int_equal(s->m[1].n, 2);
  assert_int_equal(s->m[1].ev[0].kind, 0);
  assert_string_equal(s->m[1].ev[0].kv->key, "/a/");
  assert_string_equal(s->m[1].ev[0].kv->value, "x");
  assert_int_equal(s->m[1].ev[0].kv->lease, 123);
  assert_int_equal(s->m[1].ev[1].kind, 1);
  assert_string_equal(s->m[1].ev[1].kv->key, "/b/");
  assert_int_equal(s->m[1].ev[1].kv->mod_revision, 9);
  assert_int_equal(s->m[2].kind, ETCD_W_PROGRESS);
  assert_int_equal(s->m[3].kind, ETCD_W_COMPACTED);
  assert_int_equal(s->m[3].compact_revision, 15);
  assert_int_equal(s->m[4].kind, ETCD_W_ERROR);
  assert_int_equal(s->m[4].grpc, 14);
  assert_non_null(strstr(s->m[4].message, "Unavailable"));
  for (int i = 0; i < s->n; i++)
    roster__etcd_wmsg_clear(&s->m[i]);
}

static void test_stream_any_chunks(void **state) {
  (void)state;
  size_t len = strlen(STREAM);
  /* every chunk size from 1 byte to the whole stream */
  for (size_t chunk = 1; chunk <= len; chunk += chunk < 16 ? 1 : 37) {
    roster__etcd_lines l = {.max = 1 << 20};
    seen s = {0};
    for (size_t o = 0; o < len; o += chunk)
      assert_ok(roster__etcd_lines_feed(
          &l, STREAM + o, o + chunk > len ? len - o : chunk, take, &s));
    check(&s);
    roster__etcd_lines_free(&l);
  }
}

static void test_bad_messages(void **state) {
  (void)state;
  const char *bad[] = {
      "nope",
      "[]",
      "{}",
      "{\"result\":1}",
      "{\"result\":{\"header\":{\"revision\":\"x\"}}}",
      "{\"result\":{\"header\":{},\"events\":[{\"kv\":{\"key\":\"!!\"}}]}}",
      "{\"result\":{\"header\":{},\"events\":[{\"type\":\"X\",\"kv\":{}}]}}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    roster__etcd_wmsg m;
    assert_rc(roster__etcd_wparse(bad[i], strlen(bad[i]), &m), ROSTER_EPROTO);
  }
  roster__etcd_lines l = {.max = 8};
  seen s = {0};
  assert_rc(roster__etcd_lines_feed(&l, "0123456789", 10, take, &s),
            ROSTER_ERANGE);
  roster__etcd_lines_free(&l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_base64),
      cmocka_unit_test(test_prefix_end),
      cmocka_unit_test(test_stream_any_chunks),
      cmocka_unit_test(test_bad_messages),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
