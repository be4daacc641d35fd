/*
 * test_config_services.c: declarative services and the config as a
 * service. A fake driver ("kv://") records the URL and options each
 * service was declared with; the tests declare services from a YAML
 * services: section and from <PREFIX>_SERVICE_<NAME>_URL variables, check
 * the options flattening, the precedence of the environment, that an
 * unknown scheme, a malformed URL or a missing url declares nothing and
 * names the compiled-in schemes, driver errors, redaction, and registering
 * the config itself in a registry.
 */
#include "config_testutil.h"

#include "cache/cache_impl.h"

#include <stdlib.h>

typedef struct kv {
  char host[64];
  char path[64];
  char opts[256];
} kv;

static atomic_int provides;

static int kv_check(const roster_url *url, const char *text,
                    const char *const *opts, const char *name) {
  (void)url, (void)text, (void)name;
  atomic_fetch_add(&provides, 1);
  for (size_t i = 0; opts && opts[i]; i += 2)
    if (!strcmp(opts[i], "reject"))
      return roster_error_set(ROSTER_EINVAL, "kv: unknown option '%s'",
                              opts[i]);
  return ROSTER_OK;
}

static int kv_open(const char *text, const char *const *opts, const char *name,
                   void **out) {
  (void)name;
  roster_url *url = NULL;
  int rc = roster_url_parse(text, &url);
  if (rc)
    return rc;
  kv *k = calloc(1, sizeof *k);
  if (!k) {
    roster_url_free(url);
    return roster_error_set(ROSTER_ENOMEM, "out of memory");
  }
  snprintf(k->host, sizeof k->host, "%s", url->host ? url->host : "");
  snprintf(k->path, sizeof k->path, "%s", url->path);
  roster_url_free(url);
  for (size_t i = 0; opts && opts[i]; i += 2) {
    size_t o = strlen(k->opts);
    snprintf(k->opts + o, sizeof k->opts - o, "%s=%s;", opts[i], opts[i + 1]);
  }
  *out = k;
  return ROSTER_OK;
}

static void kv_free(void *instance) { free(instance); }

static const roster_type kv_type = {.name = "kv", .destroy = kv_free};

static const roster_service_ops kv_ops = {.version = ROSTER_DRIVER_VERSION,
                                          .type = &kv_type,
                                          .check = kv_check,
                                          .open = kv_open};

static const char *const kv_schemes[] = {"kv", NULL};

/* kv:// is a service of its own, or with kind: cache a memory cache */
static const roster_driver kv_driver = {
    .version = ROSTER_DRIVER_VERSION,
    .name = "kv",
    .module = "test",
    .schemes = kv_schemes,
    .faces = {{&roster_service_face, &kv_ops},
              {&roster_cache_face, &roster__memory_backend}},
};

static int setup(void **state) {
  (void)state;
  return roster_driver_register(&kv_driver) == ROSTER_OK ? 0 : -1;
}

static roster_config *load(const char *yaml, const char *const *env) {
  char p[512];
  if (!ct_write(p, sizeof p, "svc.yaml", yaml))
    return NULL;
  const char *files[] = {p, NULL};
  return ct_load(
      &(roster_config_options){.files = files,
                               .env_prefix = "APP",
                               .env = env ? env : (const char *const[]){NULL}});
}

static kv *get_kv(roster *r, const char *name) {
  void *p = NULL;
  return roster_get(r, NULL, name, &kv_type, &p) == ROSTER_OK ? p : NULL;
}

static void test_declare(void **state) {
  (void)state;
  const char *env[] = {"APP_SERVICE_CACHE_URL=kv://from-env/c",
                       "APP_SERVICE_EXTRA_URL=kv://extra/e",
                       "APP_SERVICES__MAIN__POOL__MAX=16", NULL};
  roster_config *c = load("services:\n"
                          "  main:\n"
                          "    url: kv://u:hunter2@db:5/app\n"
                          "    pool: {max: 8, idle: 30s}\n"
                          "    mode: rw\n"
                          "    tags: [a, b]\n"
                          "  cache:\n"
                          "    url: kv://from-file/c\n"
                          "  short: kv://short/s\n",
                          env);
  assert_non_null(c);
  roster *r = tu_registry(NULL);
  int p0 = atomic_load(&provides);
  assert_ok(roster_config_provide_services(r, c));
  assert_int_equal(atomic_load(&provides), p0 + 4);
  kv *m = get_kv(r, "main");
  assert_non_null(m);
  assert_string_equal(m->host, "db");
  assert_string_equal(m->path, "/app");
  /* other leaves are options, flattened, the environment on top */
  assert_string_equal(m->opts, "pool.max=16;pool.idle=30s;mode=rw;tags.0=a;"
                               "tags.1=b;");
  /* <PREFIX>_SERVICE_<NAME>_URL wins over the file, and adds services */
  kv *k = get_kv(r, "cache");
  assert_non_null(k);
  assert_string_equal(k->host, "from-env");
  assert_non_null(get_kv(r, "extra"));
  assert_string_equal(get_kv(r, "short")->host, "short");
  char buf[128];
  assert_ok(roster_service_url(r, NULL, "main", buf, sizeof buf));
  assert_string_equal(buf, "kv://u:***@db:5/app");
  /* again with the same URLs: nothing new */
  assert_ok(roster_config_provide_services(r, c));
  assert_int_equal(atomic_load(&provides), p0 + 4);
  roster_free(r);
  roster_config_free(c);

  /* no services section: nothing to do */
  c = load("other: 1\n", NULL);
  r = tu_registry(NULL);
  assert_ok(roster_config_provide_services(r, c));
  assert_int_equal(roster_count(r, NULL), 0);
  roster_free(r);
  roster_config_free(c);
}

/* kind picks one of a scheme's faces: kv:// is a service of its own, or a
 * memory cache with kind: cache; a kind the scheme does not offer is a
 * problem found before anything is declared. */
static void test_kind(void **state) {
  (void)state;
  roster_config *c = load("services:\n"
                          "  plain: kv://h/p\n"
                          "  sessions:\n"
                          "    url: kv://sessions\n"
                          "    kind: cache\n"
                          "    max_entries: 7\n",
                          NULL);
  assert_non_null(c);
  roster *r = tu_registry(NULL);
  assert_ok(roster_config_provide_services(r, c));
  assert_non_null(get_kv(r, "plain"));
  roster_cache *cache = NULL;
  assert_ok(roster_cache_find(r, NULL, "sessions", &cache));
  roster_cache_stats st;
  assert_ok(roster_cache_stats_get(cache, &st));
  assert_int_equal(st.max_entries, 7);
  assert_rc(roster_cache_find(r, NULL, "plain", &cache), ROSTER_ETYPE);
  roster_free(r);
  roster_config_free(c);

  c = load("services:\n"
           "  good: kv://h/ok\n"
           "  odd: {url: \"kv://h/o\", kind: queue}\n",
           NULL);
  r = tu_registry(NULL);
  int p0 = atomic_load(&provides);
  assert_rc(roster_config_provide_services(r, c), ROSTER_ENOTSUP);
  assert_contains(roster_last_error(), "services.odd: URL kv://h/o: scheme "
                                       "'kv' (module 'test') has no kind "
                                       "'queue'; kind may be: service, "
                                       "cache");
  assert_int_equal(atomic_load(&provides), p0);
  roster_free(r);
  roster_config_free(c);
}

static void test_nothing_declared_on_error(void **state) {
  (void)state;
  roster_config *c = load("services:\n"
                          "  good:\n"
                          "    url: kv://h/ok\n"
                          "  mongo:\n"
                          "    url: mongodb://u:pw@m:27017/db\n"
                          "  broken:\n"
                          "    url: \"kv://u:pw@h:99999/\"\n"
                          "  nourl:\n"
                          "    pool: 1\n"
                          "  badurl:\n"
                          "    url: 5\n",
                          NULL);
  assert_non_null(c);
  roster *r = tu_registry(NULL);
  int p0 = atomic_load(&provides);
  assert_rc(roster_config_provide_services(r, c), ROSTER_ENOTSUP);
  const char *e = roster_last_error();
  char p[600];
  snprintf(p, sizeof p, "%s/svc.yaml", ct_dir());
  char w[900];
  snprintf(w, sizeof w,
           "%s:5:10: services.mongo: no module for URL scheme "
           "'mongodb' (mongodb://u:***@m:27017/db) is registered; schemes "
           "registered: kv (module test), memory (module cache)",
           p);
  assert_contains(e, w);
  assert_contains(e,
                  "services.broken.url: malformed URL 'kv://u:***@h:99999/'");
  assert_contains(e, "port 99999 is outside 1..65535");
  assert_contains(e, "services.nourl has no url");
  assert_contains(e, "services.badurl.url is an integer (5); want a URL "
                     "string");
  assert_null(strstr(e, ":pw@"));
  /* the good one was not declared either */
  assert_int_equal(atomic_load(&provides), p0);
  assert_rc(roster_service_url(r, NULL, "good", p, sizeof p), ROSTER_ENOENT);
  roster_free(r);
  roster_config_free(c);

  /* a driver's own refusal stops there */
  c = load("services:\n  a: {url: \"kv://h/a\"}\n"
           "  b: {url: \"kv://h/b\", reject: 1}\n  c: kv://h/c\n",
           NULL);
  r = tu_registry(NULL);
  assert_rc(roster_config_provide_services(r, c), ROSTER_EINVAL);
  assert_contains(roster_last_error(), "kv: unknown option 'reject'");
  assert_non_null(get_kv(r, "a"));
  assert_false(roster_has(r, NULL, "c"));
  roster_free(r);
  roster_config_free(c);

  /* services must be an object */
  c = load("services: [1]\n", NULL);
  r = tu_registry(NULL);
  assert_rc(roster_config_provide_services(r, c), ROSTER_ETYPE);
  assert_contains(roster_last_error(), "config key 'services' is a list");
  assert_rc(roster_config_provide_services(NULL, c), ROSTER_EINVAL);
  assert_rc(roster_config_provide_services(r, NULL), ROSTER_EINVAL);
  roster_free(r);
  roster_config_free(c);
}

static void test_config_as_service(void **state) {
  (void)state;
  roster_config *c = load("name: svc\n", NULL);
  roster *r = tu_registry(NULL);
  assert_ok(roster_config_register(r, NULL, NULL, c));
  void *p = NULL;
  assert_ok(roster_get(r, NULL, ROSTER_CONFIG_NAME, &roster_config_type, &p));
  assert_ptr_equal(p, c);
  assert_string_equal(ct_str(p, "name"), "svc");
  /* the type is checked like any other */
  assert_rc(roster_get(r, NULL, "config", &kv_type, &p), ROSTER_ETYPE);
  assert_contains(roster_last_error(), "roster_config");
  /* another name; a view cannot be registered */
  roster_config *v;
  assert_ok(roster_config_acquire(c, &v));
  assert_rc(roster_config_register(r, NULL, "view", v), ROSTER_EINVAL);
  roster_config_release(v);
  assert_rc(roster_config_register(r, NULL, "none", NULL), ROSTER_EINVAL);
  assert_rc(roster_config_register(r, NULL, NULL, c), ROSTER_EEXIST);
  /* the registry frees it when the entry goes */
  assert_ok(roster_unregister(r, NULL, "config"));
  roster_reclaim_wait();
  roster_free(r);
}

/* a service that depends on the config reads its port at create */
static int web_create(void *arg, const roster_deps *deps, void **out) {
  int64_t *port = arg;
  roster_config *cfg = roster_deps_get(deps, "config");
  if (!cfg)
    return roster_error_set(ROSTER_ENOENT, "web: no config in deps");
  int rc = roster_config_int(cfg, "http.port", 0, port);
  *out = port;
  return rc;
}

static void test_config_provider(void **state) {
  (void)state;
  char p[512];
  assert_non_null(ct_write(p, sizeof p, "prov.yaml", "http: {port: 8443}\n"));
  const char *files[] = {p, NULL};
  roster *r = tu_registry(NULL);
  assert_ok(roster_config_provide(r, NULL, NULL,
                                  &(roster_config_options){.files = files}));
  int64_t port = 0;
  static const char *const deps[] = {"config", NULL};
  static const roster_type web_type = {.name = "web"};
  assert_ok(roster_provide(r, NULL, "web",
                           &(roster_provider){.type = &web_type,
                                              .create = web_create,
                                              .arg = &port,
                                              .deps = deps}));
  assert_ok(roster_start(r, LC_LONG_MS));
  assert_int_equal(port, 8443);
  void *c = NULL;
  assert_ok(roster_get(r, NULL, "config", &roster_config_type, &c));
  assert_int_equal(roster_config_generation(c), 1);
  assert_ok(roster_shutdown(r, LC_LONG_MS));
  /* the key is taken now; bad options declare nothing */
  assert_rc(roster_config_provide(r, NULL, "config", NULL), ROSTER_EEXIST);
  assert_rc(roster_config_provide(
                r, NULL, "other",
                &(roster_config_options){.env_prefix = "bad-prefix"}),
            ROSTER_EINVAL);
  assert_rc(roster_service_state(r, NULL, "other", &(roster_state){0}),
            ROSTER_ENOENT);
  assert_rc(roster_config_provide(NULL, NULL, NULL, NULL), ROSTER_EINVAL);
  roster_free(r);

  /* a config that does not load fails the start, with the load's detail */
  ct_path(p, sizeof p, "absent.yaml");
  r = tu_registry(NULL);
  assert_ok(roster_config_provide(r, NULL, NULL,
                                  &(roster_config_options){.files = files}));
  assert_rc(roster_start(r, LC_LONG_MS), ROSTER_EIO);
  assert_contains(roster_last_error(), "absent.yaml");
  roster_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_declare),
      cmocka_unit_test(test_nothing_declared_on_error),
      cmocka_unit_test(test_kind),
      cmocka_unit_test(test_config_as_service),
      cmocka_unit_test(test_config_provider),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
