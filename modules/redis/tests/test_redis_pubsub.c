/*
 * test_redis_pubsub.c: subscribers (roster/redis.h) against the shared
 * test server.
 *
 * - Channels: messages arrive at the callback on the subscriber's thread,
 *   binary-safe, in the order published, with no pattern.
 * - Patterns: the callback sees the pattern and the channel; a channel
 *   that matches nothing is not delivered.
 * - Unsubscribing: no message after it (proved with a later message on
 *   another channel, which the one connection delivers in order); an
 *   unsubscribe from another thread waits for a running callback.
 * - A callback that subscribes (it does not wait for itself).
 * - Errors: a channel subscribed twice, a missing one, bad arguments.
 * - State: on_state tells the connection is up; stats count.
 *
 * The callbacks only record (under a mutex); the test's thread waits for
 * what it expects (a bounded wait, a hang guard) and then asserts.
 */
#include "testutil.h"

#include <stdlib.h>

#include <roster/redis.h>

typedef struct rec {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int n;
  char channel[16][64];
  char pattern[16][64];
  bool had_pattern[16];
  unsigned char data[16][64];
  size_t len[16];
  bool wrong_thread;
  pthread_t expect_not; /* the test's thread: callbacks run elsewhere */
  /* for the from-callback case */
  roster_redis_subscriber *sub;
  struct rec *other;
  char sub_ch[64]; /* what the callback subscribes to */
  int sub_rc;
  /* for the waiting-unsubscribe case */
  tu_gate *gate;
  atomic_bool entered, returned;
} rec;

static void rec_init(rec *r) {
  memset(r, 0, sizeof *r);
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cv, NULL);
  r->expect_not = pthread_self();
  r->sub_rc = 1;
}

static void rec_fini(rec *r) {
  pthread_mutex_destroy(&r->mu);
  pthread_cond_destroy(&r->cv);
}

static void on_msg(void *arg, const roster_redis_message *m) {
  rec *r = arg;
  if (r->gate) {
    atomic_store(&r->entered, true);
    roster__tu_gate_wait(r->gate, LC_LONG_MS);
  }
  pthread_mutex_lock(&r->mu);
  if (pthread_equal(pthread_self(), r->expect_not))
    r->wrong_thread = true;
  if (r->n < 16) {
    int i = r->n;
    snprintf(r->channel[i], 64, "%.*s", (int)m->channel_len, m->channel);
    r->had_pattern[i] = m->pattern != NULL;
    if (m->pattern)
      snprintf(r->pattern[i], 64, "%.*s", (int)m->pattern_len, m->pattern);
    r->len[i] = m->len < 64 ? m->len : 64;
    memcpy(r->data[i], m->data, r->len[i]);
  }
  r->n++;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
  if (r->sub && r->sub_rc == 1) /* subscribe from a callback, once */
    r->sub_rc = roster_redis_subscribe(r->sub, r->sub_ch, strlen(r->sub_ch),
                                       on_msg, r->other);
  if (r->gate)
    atomic_store(&r->returned, true);
}

/* rec_wait waits (bounded: a hang guard) until r has n messages; returns
 * how many it has. */
static int rec_wait(rec *r, int n) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += 10;
  pthread_mutex_lock(&r->mu);
  while (r->n < n)
    if (pthread_cond_timedwait(&r->cv, &r->mu, &ts) != 0)
      break;
  int got = r->n;
  pthread_mutex_unlock(&r->mu);
  return got;
}

static int rec_count(rec *r) {
  pthread_mutex_lock(&r->mu);
  int n = r->n;
  pthread_mutex_unlock(&r->mu);
  return n;
}

static roster_redis *client(void) {
  roster_redis *cli = NULL;
  assert_ok(
      roster_redis_open(roster__tu_server_url("REDIS"), NULL, NULL, &cli));
  return cli;
}

static void publish(roster_redis *cli, const char *ch, const void *msg,
                    size_t len, int64_t want_receivers) {
  int64_t n = -1;
  assert_ok(roster_redis_publish(cli, ch, strlen(ch), msg, len, &n));
  if (want_receivers >= 0)
    assert_int_equal(n, want_receivers);
}

typedef struct state_rec {
  atomic_int ups, downs;
} state_rec;

static void on_state(void *arg, bool up, const char *detail) {
  (void)detail;
  state_rec *s = arg;
  atomic_fetch_add(up ? &s->ups : &s->downs, 1);
}

static void t_channels(void **state) {
  (void)state;
  roster_redis *cli = client();
  state_rec st = {0};
  roster_redis_subscriber_options o = {.on_state = on_state, .state_arg = &st};
  roster_redis_subscriber *sub = NULL;
  assert_ok(roster_redis_subscriber_new(cli, &o, &sub));
  char ch[64];
  roster__tu_unique_name(ch, sizeof ch, "ch");
  rec r;
  rec_init(&r);
  assert_ok(roster_redis_subscribe(sub, ch, strlen(ch), on_msg, &r));
  /* the subscription is confirmed: the server counts one receiver */
  static const unsigned char bin[] = {0, 1, 0xff, 0, '\n'};
  publish(cli, ch, "first", 5, 1);
  publish(cli, ch, bin, sizeof bin, 1);
  publish(cli, ch, "", 0, 1);
  assert_int_equal(rec_wait(&r, 3), 3);
  assert_false(r.wrong_thread);
  assert_string_equal(r.channel[0], ch);
  assert_false(r.had_pattern[0]);
  assert_int_equal(r.len[0], 5);
  assert_memory_equal(r.data[0], "first", 5);
  assert_int_equal(r.len[1], sizeof bin);
  assert_memory_equal(r.data[1], bin, sizeof bin);
  assert_int_equal(r.len[2], 0);
  roster_redis_subscriber_stats s;
  assert_ok(roster_redis_subscriber_stats_get(sub, &s));
  assert_true(s.connected);
  assert_int_equal(s.connects, 1);
  assert_int_equal(s.messages, 3);
  assert_int_equal(s.channels, 1);
  assert_int_equal(s.patterns, 0);
  assert_true(atomic_load(&st.ups) >= 1);
  assert_int_equal(atomic_load(&st.downs), 0);
  /* the client may go: the subscriber has its own connection */
  roster_redis_free(cli);
  cli = client();
  publish(cli, ch, "after", 5, 1);
  assert_int_equal(rec_wait(&r, 4), 4);
  roster_redis_subscriber_free(sub);
  roster_redis_free(cli);
  rec_fini(&r);
}

static void t_patterns(void **state) {
  (void)state;
  roster_redis *cli = client();
  roster_redis_subscriber *sub = NULL;
  assert_ok(roster_redis_subscriber_new(cli, NULL, &sub));
  char base[64], pat[80], ch[96], other[96];
  roster__tu_unique_name(base, sizeof base, "news");
  snprintf(pat, sizeof pat, "%s.*", base);
  snprintf(ch, sizeof ch, "%s.tech", base);
  snprintf(other, sizeof other, "%s-sports", base);
  rec r, sentinel;
  rec_init(&r);
  rec_init(&sentinel);
  assert_ok(roster_redis_psubscribe(sub, pat, strlen(pat), on_msg, &r));
  /* a channel and a pattern of the same name are two subscriptions */
  assert_ok(roster_redis_subscribe(sub, pat, strlen(pat), on_msg, &sentinel));
  publish(cli, other, "no", 2, 0); /* matches nothing */
  publish(cli, ch, "yes", 3, 1);
  assert_int_equal(rec_wait(&r, 1), 1);
  assert_true(r.had_pattern[0]);
  assert_string_equal(r.pattern[0], pat);
  assert_string_equal(r.channel[0], ch);
  assert_memory_equal(r.data[0], "yes", 3);
  /* the channel named like the pattern gets a message published to it,
   * and the pattern matches it too ("news.*" matches "news.*") */
  publish(cli, pat, "lit", 3, 2);
  assert_int_equal(rec_wait(&sentinel, 1), 1);
  assert_false(sentinel.had_pattern[0]);
  assert_int_equal(rec_wait(&r, 2), 2);
  roster_redis_subscriber_stats s;
  assert_ok(roster_redis_subscriber_stats_get(sub, &s));
  assert_int_equal(s.patterns, 1);
  assert_int_equal(s.channels, 1);
  assert_ok(roster_redis_punsubscribe(sub, pat, strlen(pat)));
  assert_rc(roster_redis_punsubscribe(sub, pat, strlen(pat)), ROSTER_ENOENT);
  assert_ok(roster_redis_unsubscribe(sub, pat, strlen(pat)));
  roster_redis_subscriber_free(sub);
  roster_redis_free(cli);
  rec_fini(&r);
  rec_fini(&sentinel);
}

static void t_unsubscribe(void **state) {
  (void)state;
  roster_redis *cli = client();
  roster_redis_subscriber *sub = NULL;
  assert_ok(roster_redis_subscriber_new(cli, NULL, &sub));
  char a[64], b[64];
  roster__tu_unique_name(a, sizeof a, "ua");
  roster__tu_unique_name(b, sizeof b, "ub");
  rec ra, rb;
  rec_init(&ra);
  rec_init(&rb);
  assert_ok(roster_redis_subscribe(sub, a, strlen(a), on_msg, &ra));
  assert_ok(roster_redis_subscribe(sub, b, strlen(b), on_msg, &rb));
  publish(cli, a, "1", 1, 1);
  assert_int_equal(rec_wait(&ra, 1), 1);
  assert_ok(roster_redis_unsubscribe(sub, a, strlen(a)));
  /* Published after the unsubscribe: whether or not the server has seen
   * the UNSUBSCRIBE yet, a's callback is not called. b's message, sent
   * later on the same connection, comes after anything for a. */
  publish(cli, a, "2", 1, -1);
  publish(cli, b, "x", 1, 1);
  assert_int_equal(rec_wait(&rb, 1), 1);
  assert_int_equal(rec_count(&ra), 1);
  roster_redis_subscriber_stats s;
  assert_ok(roster_redis_subscriber_stats_get(sub, &s));
  assert_int_equal(s.channels, 1);
  /* errors change nothing */
  assert_rc(roster_redis_unsubscribe(sub, a, strlen(a)), ROSTER_ENOENT);
  assert_rc(roster_redis_subscribe(sub, b, strlen(b), on_msg, &ra),
            ROSTER_EEXIST);
  assert_rc(roster_redis_subscribe(sub, NULL, 1, on_msg, &ra), ROSTER_EINVAL);
  assert_rc(roster_redis_subscribe(sub, "x", 0, on_msg, &ra), ROSTER_EINVAL);
  assert_rc(roster_redis_subscribe(sub, "x", 1, NULL, &ra), ROSTER_EINVAL);
  static char huge[65537];
  assert_rc(roster_redis_subscribe(sub, huge, sizeof huge, on_msg, &ra),
            ROSTER_EINVAL);
  assert_rc(roster_redis_subscribe(NULL, "x", 1, on_msg, &ra), ROSTER_EINVAL);
  assert_rc(roster_redis_unsubscribe(NULL, "x", 1), ROSTER_EINVAL);
  assert_rc(roster_redis_psubscribe(sub, NULL, 0, on_msg, &ra), ROSTER_EINVAL);
  assert_rc(roster_redis_subscriber_stats_get(sub, NULL), ROSTER_EINVAL);
  roster_redis_subscriber *none = (roster_redis_subscriber *)1;
  assert_rc(roster_redis_subscriber_new(NULL, NULL, &none), ROSTER_EINVAL);
  assert_null(none);
  assert_rc(
      roster_redis_subscriber_new(
          cli, &(roster_redis_subscriber_options){.backoff_min_ms = -1}, &none),
      ROSTER_EINVAL);
  assert_null(none);
  assert_ok(roster_redis_subscriber_stats_get(sub, &s));
  assert_int_equal(s.channels, 1);
  roster_redis_subscriber_free(sub);
  roster_redis_subscriber_free(NULL);
  roster_redis_free(cli);
  rec_fini(&ra);
  rec_fini(&rb);
}

typedef struct unsub_arg {
  roster_redis_subscriber *sub;
  const char *ch;
  rec *r;
  atomic_bool started, done;
  int rc;
  bool callback_returned; /* what the unsubscriber saw when it returned */
} unsub_arg;

static void *unsub_main(void *p) {
  unsub_arg *u = p;
  atomic_store(&u->started, true);
  u->rc = roster_redis_unsubscribe(u->sub, u->ch, strlen(u->ch));
  u->callback_returned = atomic_load(&u->r->returned);
  atomic_store(&u->done, true);
  return NULL;
}

static void t_unsubscribe_waits(void **state) {
  (void)state;
  roster_redis *cli = client();
  roster_redis_subscriber *sub = NULL;
  assert_ok(roster_redis_subscriber_new(cli, NULL, &sub));
  char ch[64];
  roster__tu_unique_name(ch, sizeof ch, "uw");
  tu_gate gate;
  roster__tu_gate_init(&gate);
  rec r;
  rec_init(&r);
  r.gate = &gate;
  assert_ok(roster_redis_subscribe(sub, ch, strlen(ch), on_msg, &r));
  publish(cli, ch, "hold", 4, 1);
  tu_wait_until(atomic_load(&r.entered), LC_LONG_MS);
  assert_true(atomic_load(&r.entered)); /* the callback is running */
  unsub_arg u = {.sub = sub, .ch = ch, .r = &r};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, unsub_main, &u), 0);
  tu_wait_until(atomic_load(&u.started), LC_LONG_MS);
  /* Give a broken unsubscribe the chance to return early (no timing is
   * asserted: a correct one cannot return before the gate opens). */
  roster__tu_sleep_ms(50);
  roster__tu_gate_open(&gate);
  pthread_join(th, NULL);
  assert_ok(u.rc);
  assert_true(u.callback_returned);
  roster_redis_subscriber_free(sub);
  roster_redis_free(cli);
  rec_fini(&r);
}

static void t_from_callback(void **state) {
  (void)state;
  roster_redis *cli = client();
  roster_redis_subscriber *sub = NULL;
  assert_ok(roster_redis_subscriber_new(cli, NULL, &sub));
  rec r, r2;
  rec_init(&r);
  rec_init(&r2);
  r.sub = sub;
  r.other = &r2;
  r2.sub_rc = 0; /* r2's callback subscribes nothing */
  char ch[64];
  roster__tu_unique_name(ch, sizeof ch, "cb");
  roster__tu_unique_name(r.sub_ch, sizeof r.sub_ch, "cb2");
  const char *ch2 = r.sub_ch;
  assert_ok(roster_redis_subscribe(sub, ch, strlen(ch), on_msg, &r));
  publish(cli, ch, "go", 2, 1);
  assert_int_equal(rec_wait(&r, 1), 1);
  /* the callback subscribed to ch2 without waiting; it is
   * confirmed soon after: publish until it has a receiver (bounded) */
  int64_t n = 0;
  for (int i = 0; i < 1000 && n == 0; i++) {
    assert_ok(roster_redis_publish(cli, ch2, strlen(ch2), "hi", 2, &n));
    if (n == 0)
      roster__tu_sleep_ms(5);
  }
  assert_true(n >= 1);
  assert_true(rec_wait(&r2, 1) >= 1);
  assert_ok(r.sub_rc);
  assert_memory_equal(r2.data[0], "hi", 2);
  roster_redis_subscriber_free(sub); /* no callback runs after this */
  int seen = rec_count(&r2);
  assert_ok(roster_redis_publish(cli, ch2, strlen(ch2), "late", 4, &n));
  assert_int_equal(rec_count(&r2), seen);
  roster_redis_free(cli);
  rec_fini(&r);
  rec_fini(&r2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(t_channels),      cmocka_unit_test(t_patterns),
      cmocka_unit_test(t_unsubscribe),   cmocka_unit_test(t_unsubscribe_waits),
      cmocka_unit_test(t_from_callback),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
