/*
 * test_etcd_election.c: three candidates, each with its own client,
 * campaign at once on their own threads: exactly one leads, the others
 * wait; observe names the leader from any candidate. The leader resigns:
 * exactly one of the two others takes over. That leader dies (freed with
 * its lease kept, as a process killed): the last candidate takes over
 * within the TTL. A campaign that cannot win times out.
 */
#include "etcd_testutil.h"

#include <pthread.h>

enum { N = 3 };

typedef struct cand {
  roster_etcd *c;
  roster_etcd_election *e;
  char id[16];
  pthread_t t;
  atomic_int rc;   /* the campaign's result, 1 while running */
  atomic_bool won; /* campaign returned ROSTER_OK */
  char err[256];   /* its detail, when it failed (written before rc) */
} cand;

static cand C[N];

static void *campaign(void *arg) {
  cand *k = arg;
  int rc = roster_etcd_campaign(k->e, 20000);
  if (rc != ROSTER_OK)
    snprintf(k->err, sizeof k->err, "%s", roster_last_error());
  atomic_store(&k->won, rc == ROSTER_OK);
  atomic_store(&k->rc, rc);
  return NULL;
}

static int leaders(void) {
  int n = 0;
  for (int i = 0; i < N; i++)
    n += C[i].e && roster_etcd_is_leader(C[i].e);
  return n;
}

static int leader(void) {
  for (int i = 0; i < N; i++)
    if (C[i].e && roster_etcd_is_leader(C[i].e))
      return i;
  return -1;
}

static bool one_won(void *arg) {
  int *want = arg; /* how many campaigns must have returned */
  int done = 0;
  for (int i = 0; i < N; i++)
    done += atomic_load(&C[i].rc) != 1;
  return done >= *want;
}

/* others_wait: no campaign but the winner's has returned; when one has,
 * says how each ended, so a failure shows why (an error, or a second
 * winner). */
static bool others_wait(void) {
  int two = 2;
  if (!one_won(&two))
    return true;
  for (int i = 0; i < N; i++) {
    int rc = atomic_load(&C[i].rc);
    print_message("candidate %s: %s%s%s\n", C[i].id,
                  rc == 1           ? "still campaigning"
                  : rc == ROSTER_OK ? "won"
                                    : roster_err_name(rc),
                  rc < 0 ? ": " : "", rc < 0 ? C[i].err : "");
  }
  return false;
}

static void test_election(void **state) {
  (void)state;
  char cl[64];
  et_cluster(cl, sizeof cl);
  for (int i = 0; i < N; i++) {
    C[i].c = et_client(NULL);
    snprintf(C[i].id, sizeof C[i].id, "c%d", i);
    assert_ok(
        roster_etcd_election_new(C[i].c, cl, "boss", C[i].id, 2, &C[i].e));
    atomic_store(&C[i].rc, 1);
  }
  char who[32];
  assert_rc(roster_etcd_observe(C[0].e, who, sizeof who), ROSTER_ENOENT);
  for (int i = 0; i < N; i++)
    assert_int_equal(pthread_create(&C[i].t, NULL, campaign, &C[i]), 0);
  int want = 1;
  assert_true(et_until(one_won, &want, 10000));
  usleep(300000); /* the others keep waiting */
  assert_true(others_wait());
  want = 2;
  assert_int_equal(leaders(), 1);
  int l1 = leader();
  assert_true(atomic_load(&C[l1].won));
  for (int i = 0; i < N; i++) {
    assert_ok(roster_etcd_observe(C[i].e, who, sizeof who));
    assert_string_equal(who, C[l1].id);
  }

  /* the leader resigns: one other takes over */
  assert_ok(roster_etcd_resign(C[l1].e));
  assert_false(roster_etcd_is_leader(C[l1].e));
  assert_true(et_until(one_won, &want, 10000));
  usleep(300000);
  assert_int_equal(leaders(), 1);
  int l2 = leader();
  assert_int_not_equal(l2, l1);
  pthread_join(C[l1].t, NULL);
  pthread_join(C[l2].t, NULL);

  /* the new leader dies: the last one takes over within the TTL */
  int64_t t0 = et_now_ms();
  roster_etcd_election_free(C[l2].e, true);
  C[l2].e = NULL;
  want = 3;
  assert_true(et_until(one_won, &want, 10000));
  int l3 = leader();
  assert_true(l3 != l1 && l3 != l2);
  print_message("new leader %lld ms after the old one died\n",
                (long long)(et_now_ms() - t0));
  assert_true(et_now_ms() - t0 < 4000);
  for (int i = 0; i < N; i++)
    if (i != l1 && i != l2)
      pthread_join(C[i].t, NULL);
  assert_ok(roster_etcd_observe(C[l1].e, who, sizeof who));
  assert_string_equal(who, C[l3].id);

  /* a campaign that cannot win times out */
  assert_rc(roster_etcd_campaign(C[l1].e, 300), ROSTER_ETIMEDOUT);
  assert_false(roster_etcd_is_leader(C[l1].e));

  for (int i = 0; i < N; i++) {
    roster_etcd_election_free(C[i].e, false);
    roster_etcd_free(C[i].c);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_election),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
