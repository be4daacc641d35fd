/*
 * test_alloc.c: the allocator hooks of roster/alloc.h. Before any roster
 * object exists, main() checks that a hook set with a NULL member is refused
 * (ROSTER_EINVAL), that NULL (the C library) is accepted, and installs
 * counting hooks. The hooks tag every block they hand out, so the tests can
 * tell that roster really allocates through them, that every block they
 * gave is given back once the registries are freed and reclaimed, and that
 * roster never passes them a pointer they did not allocate. Once roster
 * objects exist, roster_set_allocator answers ROSTER_EBUSY. The hooks can
 * fail one chosen allocation of the test's thread: a register into a full
 * duplicate key then answers ROSTER_ENOMEM and loses nothing.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- counting hooks ---- */

#define TAG_LIVE 0x726f737465724c56ull /* "rosterLV" */
#define TAG_DEAD 0x726f73746572444full /* "rosterDO" */

/* Header in front of each block; keeps max_align_t alignment. */
typedef union hdr {
  struct {
    uint64_t tag;
    size_t size;
  } h;
  max_align_t align;
} hdr;

static atomic_long n_malloc, n_calloc, n_realloc, n_free;
static atomic_long live_blocks; /* handed out and not yet freed */
static atomic_long foreign;     /* pointers the hooks did not allocate */

static void *tag_block(hdr *h, size_t size) {
  h->h.tag = TAG_LIVE;
  h->h.size = size;
  atomic_fetch_add(&live_blocks, 1);
  return h + 1;
}

static hdr *block_of(void *p) {
  hdr *h = (hdr *)p - 1;
  if (h->h.tag != TAG_LIVE) {
    atomic_fetch_add(&foreign, 1);
    return NULL;
  }
  return h;
}

/* fail_in: on this thread only, the allocation that brings it from 1 to 0
 * fails (0: none fails). Other threads (the reclaim thread) never fail. */
static _Thread_local long fail_in;

static bool failing(void) { return fail_in > 0 && --fail_in == 0; }

static void *count_malloc(size_t size) {
  if (failing())
    return NULL;
  atomic_fetch_add(&n_malloc, 1);
  hdr *h = malloc(sizeof(hdr) + size);
  return h ? tag_block(h, size) : NULL;
}

static void *count_calloc(size_t count, size_t size) {
  if (failing())
    return NULL;
  atomic_fetch_add(&n_calloc, 1);
  if (size != 0 && count > (SIZE_MAX - sizeof(hdr)) / size)
    return NULL;
  hdr *h = calloc(1, sizeof(hdr) + count * size);
  return h ? tag_block(h, count * size) : NULL;
}

static void *count_realloc(void *p, size_t size) {
  if (size != 0 && failing())
    return NULL; /* p stays the caller's */
  atomic_fetch_add(&n_realloc, 1);
  if (p == NULL) {
    hdr *h = malloc(sizeof(hdr) + size);
    return h ? tag_block(h, size) : NULL;
  }
  hdr *h = block_of(p);
  if (h == NULL)
    return NULL;   /* not ours: refuse rather than corrupt */
  if (size == 0) { /* glibc semantics: frees, returns NULL */
    h->h.tag = TAG_DEAD;
    atomic_fetch_sub(&live_blocks, 1);
    free(h);
    return NULL;
  }
  hdr *nh = realloc(h, sizeof(hdr) + size);
  if (nh == NULL)
    return NULL;
  nh->h.size = size;
  return nh + 1;
}

static void count_free(void *p) {
  atomic_fetch_add(&n_free, 1);
  if (p == NULL)
    return;
  hdr *h = block_of(p);
  if (h == NULL)
    return; /* leak it rather than free a foreign block */
  h->h.tag = TAG_DEAD;
  atomic_fetch_sub(&live_blocks, 1);
  free(h);
}

static const roster_allocator counting = {
    .malloc_fn = count_malloc,
    .calloc_fn = count_calloc,
    .realloc_fn = count_realloc,
    .free_fn = count_free,
};

static long allocs_made(void) {
  return atomic_load(&n_malloc) + atomic_load(&n_calloc) +
         atomic_load(&n_realloc);
}

/* Results of the calls main() makes before any roster object exists. */
static int early_missing_rc[4];
static int early_null_rc;
static int early_install_rc;
static long early_allocs;

/* ---------------------------------------------------------------- */

static void test_early_calls(void **state) {
  (void)state;
  for (int i = 0; i < 4; i++)
    assert_int_equal(early_missing_rc[i], ROSTER_EINVAL);
  assert_int_equal(early_null_rc, ROSTER_OK);
  assert_int_equal(early_install_rc, ROSTER_OK);
  /* Installing allocated nothing. */
  assert_int_equal(early_allocs, 0);
}

typedef struct worker {
  roster *r;
  int rc;
} worker;

static void *register_thread(void *arg) {
  worker *w = arg;
  char name[32];
  w->rc = ROSTER_OK;
  for (int i = 0; i < 50 && w->rc == ROSTER_OK; i++) {
    snprintf(name, sizeof name, "w-%d", i);
    w->rc =
        roster_register(w->r, "worker", name, &roster__tu_counter_type, NULL);
  }
  if (w->rc == ROSTER_OK)
    w->rc = roster_unregister(w->r, "worker", "w-0");
  return NULL;
}

static void test_hooks_used_and_balanced(void **state) {
  (void)state;
  /* Warm up once: lazily made per-process and per-thread state (the
   * reclaim thread, this thread's slot) may live on after roster_free. */
  roster *w = NULL;
  assert_ok(roster_new(NULL, &w));
  assert_non_null(w);
  assert_true(allocs_made() > 0); /* the registry came from the hooks */
  assert_ok(roster_register(w, NULL, "warm", &roster__tu_counter_type, NULL));
  assert_ok(roster_unregister(w, NULL, "warm"));
  roster_free(w);
  roster_reclaim_wait();

  long base_live = atomic_load(&live_blocks);
  long base_allocs = allocs_made();
  long base_frees = atomic_load(&n_free);

  /* A real workload over both key modes. */
  roster *r = tu_registry(NULL);
  roster_options dopt = {.keys = ROSTER_KEYS_DUPLICATE, .name = "dups"};
  roster *d = tu_registry(&dopt);
  roster_owner *own = NULL;
  assert_ok(roster_owner_new(&own));
  assert_non_null(own);

  char name[64], meta[128];
  for (int i = 0; i < 200; i++) {
    snprintf(name, sizeof name, "svc-%d", i);
    snprintf(meta, sizeof meta, "{\"port\":%d}", 8000 + i);
    char ns[16];
    snprintf(ns, sizeof ns, "ns%d", i % 5);
    roster_entry_options eo = {.owner = (i % 3 == 0) ? own : NULL,
                               .meta = meta,
                               .meta_len = strlen(meta)};
    assert_ok(
        roster_register_ex(r, ns, name, &roster__tu_counter_type, NULL, &eo));
    assert_ok(roster_register_ex(d, "room", "members", &roster__tu_counter_type,
                                 NULL, &eo));
  }
  assert_true(allocs_made() > base_allocs);
  assert_true(atomic_load(&live_blocks) > base_live);

  assert_ok(roster_meta_set(r, "ns1", "svc-1", NULL, "changed", 7));
  assert_ok(roster_replace(r, "ns2", "svc-2", &roster__tu_other_type, NULL));
  assert_ok(roster_unregister(r, "ns0", "svc-0"));
  roster_list list = {0};
  assert_ok(roster_list_entries(r, "ns3", &list));
  assert_int_equal(list.count, 40);
  roster_list_free(&list);
  roster_ns_list nl = {0};
  assert_ok(roster_ns_list_get(r, &nl));
  assert_int_equal(nl.count, 5);
  roster_ns_list_free(&nl);
  void *out = NULL;
  roster_ref *ref = NULL;
  assert_ok(roster_acquire(r, "ns4", "svc-4", NULL, &out, &ref));
  roster_release(ref);
  size_t removed = 0;
  assert_ok(roster_ns_drop(r, "ns4", &removed));
  assert_int_equal(removed, 40);
  assert_rc(roster_get(r, "ns4", "svc-4", NULL, &out),
            ROSTER_ENOENT); /* detail */

  /* Another thread registers and exits. */
  worker wk = {.r = r};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, register_thread, &wk), 0);
  assert_int_equal(pthread_join(th, NULL), 0);
  assert_int_equal(wk.rc, ROSTER_OK);

  roster_owner_free(own);
  roster_free(r);
  roster_free(d);
  roster_reclaim_wait();

  /* Every block the hooks handed out since the baseline came back, through
   * the hooks, and nothing foreign was passed to them. */
  assert_true(atomic_load(&n_free) > base_frees);
  assert_int_equal(atomic_load(&live_blocks), base_live);
  assert_int_equal(atomic_load(&foreign), 0);
}

static void test_ebusy_after_use(void **state) {
  (void)state;
  roster_error_clear();
  assert_rc(roster_set_allocator(&counting), ROSTER_EBUSY);
  assert_int_equal(roster_last_code(), ROSTER_EBUSY);
  assert_rc(roster_set_allocator(NULL), ROSTER_EBUSY);

  /* The installed hooks stay in use. */
  long before = allocs_made();
  long live = atomic_load(&live_blocks);
  roster *r = tu_registry(NULL);
  assert_ok(roster_register(r, NULL, "x", &roster__tu_counter_type, NULL));
  assert_true(allocs_made() > before);
  roster_free(r);
  roster_reclaim_wait();
  assert_int_equal(atomic_load(&live_blocks), live);
  assert_int_equal(atomic_load(&foreign), 0);
}

static int count_members(const roster_info *info, void *arg) {
  uintptr_t *seen = arg;
  seen[seen[0]++ + 1] = (uintptr_t)info->instance;
  return 0;
}

/* A duplicate key whose member array is full: the next register must grow
 * it. When any allocation of that register fails, the call answers
 * ROSTER_ENOMEM naming the key and the room keeps exactly its members, in
 * order; the first register whose allocations all succeed joins last. */
static void test_room_growth_out_of_memory(void **state) {
  (void)state;
  long base_live = atomic_load(&live_blocks);
  roster_options dopt = {.keys = ROSTER_KEYS_DUPLICATE, .name = "oom"};
  roster *d = tu_registry(&dopt);
  for (uintptr_t i = 1; i <= 4; i++) /* a new key's array holds 4 */
    assert_ok(roster_register(d, NULL, "members", &roster__tu_counter_type,
                              (void *)i));
  int failed = 0, failed_late = 0;
  int rc = ROSTER_ENOMEM;
  for (long k = 1; k <= 16 && rc != ROSTER_OK; k++) {
    fail_in = k;
    rc = roster_register(d, NULL, "members", &roster__tu_counter_type,
                         (void *)(uintptr_t)5);
    bool hit = fail_in == 0; /* the k-th allocation was reached and failed */
    fail_in = 0;
    if (rc == ROSTER_OK) {
      assert_false(hit);
      break;
    }
    assert_int_equal(rc, ROSTER_ENOMEM);
    assert_true(hit);
    assert_non_null(strstr(roster_last_error(), "out of memory"));
    assert_non_null(strstr(roster_last_error(), "members"));
    failed++;
    failed_late += k > 1;
    uintptr_t seen[8] = {0};
    size_t called = 0;
    assert_ok(
        roster_dispatch(d, NULL, "members", count_members, seen, &called));
    assert_int_equal(called, 4);
    for (uintptr_t i = 1; i <= 4; i++)
      assert_int_equal(seen[i], i);
  }
  assert_int_equal(rc, ROSTER_OK);
  assert_true(failed >= 2); /* the entry's allocation, then the array's */
  assert_true(failed_late >= 1);
  uintptr_t seen[8] = {0};
  size_t called = 0;
  assert_ok(roster_dispatch(d, NULL, "members", count_members, seen, &called));
  assert_int_equal(called, 5);
  for (uintptr_t i = 1; i <= 5; i++)
    assert_int_equal(seen[i], i);
  roster_free(d);
  roster_reclaim_wait();
  assert_int_equal(atomic_load(&live_blocks), base_live);
  assert_int_equal(atomic_load(&foreign), 0);
}

/* roster_mem_strv_dup copies every string through the hooks, and
 * roster_mem_strv_free gives every block back. */
static void test_strv(void **state) {
  (void)state;
  long base = atomic_load(&live_blocks);
  static const char *const v[] = {"pool.max", "8", "", "mode", NULL};
  char **d = roster_mem_strv_dup(v);
  assert_non_null(d);
  assert_int_equal(atomic_load(&live_blocks), base + 5); /* 4 + the array */
  for (int i = 0; v[i]; i++) {
    assert_string_equal(d[i], v[i]);
    assert_ptr_not_equal(d[i], v[i]);
  }
  assert_null(d[4]);
  roster_mem_strv_free(d);
  assert_int_equal(atomic_load(&live_blocks), base);
  char **e = roster_mem_strv_dup(NULL); /* NULL: an empty array */
  assert_non_null(e);
  assert_null(e[0]);
  roster_mem_strv_free(e);
  roster_mem_strv_free(NULL);
  assert_int_equal(atomic_load(&live_blocks), base);
}

int main(void) {
  /* First thing: nothing roster-made may exist yet. */
  roster_allocator partial[4] = {counting, counting, counting, counting};
  partial[0].malloc_fn = NULL;
  partial[1].calloc_fn = NULL;
  partial[2].realloc_fn = NULL;
  partial[3].free_fn = NULL;
  for (int i = 0; i < 4; i++)
    early_missing_rc[i] = roster_set_allocator(&partial[i]);
  early_null_rc = roster_set_allocator(NULL);
  early_install_rc = roster_set_allocator(&counting);
  early_allocs = allocs_made();

  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_early_calls),
      cmocka_unit_test(test_hooks_used_and_balanced),
      cmocka_unit_test(test_ebusy_after_use),
      cmocka_unit_test(test_room_growth_out_of_memory),
      cmocka_unit_test(test_strv),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
