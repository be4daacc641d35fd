/*
 * config_testutil.h: helpers for the tests of the config service
 * (tests/config/test_config_*.c): a private temporary directory for the
 * files a test writes (removed at exit), dumps for comparing trees, and
 * assertions on parse results and error positions. Header-only so that
 * each test program carries its own copy; include after testutil.h.
 */
#ifndef ROSTER_CONFIG_TESTUTIL_H
#define ROSTER_CONFIG_TESTUTIL_H

#include <ftw.h>
#include <stdlib.h>
#include <unistd.h>

#include "testutil.h"

static char ct_dir_path[256];

static int ct_rm(const char *path, const struct stat *st, int flag,
                 struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void ct_cleanup(void) {
  if (ct_dir_path[0])
    nftw(ct_dir_path, ct_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* ct_dir: this process's temporary directory, made on first use. */
static inline const char *ct_dir(void) {
  if (!ct_dir_path[0]) {
    const char *t = getenv("TMPDIR");
    snprintf(ct_dir_path, sizeof ct_dir_path, "%s/roster-cfg-XXXXXX",
             t && *t ? t : "/tmp");
    if (!mkdtemp(ct_dir_path)) {
      ct_dir_path[0] = '\0';
      return NULL;
    }
    atexit(ct_cleanup);
  }
  return ct_dir_path;
}

/* ct_path writes the path of name inside ct_dir() into buf; returns buf. */
static inline char *ct_path(char *buf, size_t cap, const char *name) {
  snprintf(buf, cap, "%s/%s", ct_dir(), name);
  return buf;
}

/* ct_write writes content to name inside ct_dir() (replacing it
 * atomically, by rename) and returns the path in buf. */
static inline char *ct_write(char *buf, size_t cap, const char *name,
                             const char *content) {
  ct_path(buf, cap, name);
  char tmp[1100];
  snprintf(tmp, sizeof tmp, "%.1000s.tmp", buf);
  FILE *f = fopen(tmp, "w");
  if (!f)
    return NULL;
  fputs(content, f);
  fclose(f);
  if (rename(tmp, buf) != 0)
    return NULL;
  return buf;
}

/* ct_dump returns c's compact, unredacted dump (malloc'd by roster; free
 * with roster_mem_free), or NULL. */
static inline char *ct_dump_flags(const roster_config *c, unsigned flags) {
  char *out = NULL;
  if (roster_config_dump(c, flags | ROSTER_CONFIG_DUMP_COMPACT, &out))
    return NULL;
  return out;
}
#define ct_dump(c) ct_dump_flags((c), ROSTER_CONFIG_DUMP_SECRETS)

/* assert_dump fails unless c's compact unredacted dump is want. */
#define assert_dump(c, want)                                                   \
  do {                                                                         \
    char *d_ = ct_dump(c);                                                     \
    if (!d_ || strcmp(d_, (want)) != 0) {                                      \
      print_error("%s:%d: dump is\n  %s\nwant\n  %s\n(detail: %s)\n",          \
                  __FILE__, __LINE__, d_ ? d_ : "(null)", (want),              \
                  roster_last_error());                                        \
      roster_mem_free(d_);                                                     \
      fail();                                                                  \
    }                                                                          \
    roster_mem_free(d_);                                                       \
  } while (0)

/* ct_case: one parser input and what it must give: either a compact dump
 * (want) or an error at line:col whose message contains err. */
typedef struct ct_case {
  const char *text;
  const char *want; /* the dump, for a valid input */
  unsigned line, col;
  const char *err; /* a substring of the message, for an invalid one */
} ct_case;

/* ct_run_cases parses each case as format and checks it; returns the
 * number of failures (each printed). */
static inline int ct_run_cases(const char *format, const ct_case *cases,
                               size_t n) {
  int bad = 0;
  for (size_t i = 0; i < n; i++) {
    const ct_case *c = &cases[i];
    roster_config *v = NULL;
    int rc = roster_config_parse(c->text, strlen(c->text), format, "t", &v);
    if (c->want) {
      char *d = rc == ROSTER_OK ? ct_dump(v) : NULL;
      if (rc != ROSTER_OK || !d || strcmp(d, c->want) != 0) {
        print_error("%s case %zu:\n%s\n-> %s %s\n   want %s\n", format, i,
                    c->text, rc ? roster_err_name(rc) : "dump",
                    rc  ? roster_last_error()
                    : d ? d
                        : "(null)",
                    c->want);
        bad++;
      }
      roster_mem_free(d);
      roster_config_release(v);
      continue;
    }
    char where[64];
    snprintf(where, sizeof where, "t:%u:%u: ", c->line, c->col);
    const char *e = roster_last_error();
    if (rc == ROSTER_OK || v != NULL || strncmp(e, where, strlen(where)) ||
        !strstr(e, c->err)) {
      print_error("%s case %zu:\n%s\n-> %s: %s\n   want an error starting "
                  "'%s' containing '%s'\n",
                  format, i, c->text, roster_err_name(rc), rc ? e : "(parsed)",
                  where, c->err);
      bad++;
    }
    roster_config_release(v);
  }
  return bad;
}

/* ct_load makes and loads a config from opts; NULL (printing why) if
 * either fails. */
static inline roster_config *ct_load(const roster_config_options *opts) {
  roster_config *c = NULL;
  assert_ok(roster_config_new(opts, &c));
  if (!c) {
    print_error("roster_config_new: %s\n", roster_last_error());
    return NULL;
  }
  int rc = roster_config_load(c);
  if (rc) {
    print_error("roster_config_load: %s: %s\n", roster_err_name(rc),
                roster_last_error());
    roster_config_free(c);
    return NULL;
  }
  return c;
}

/* ct_str returns key's string (static buffer; "(null)" when unset, or
 * "(error)"). */
static inline const char *ct_str(const roster_config *c, const char *key) {
  static char buf[4][512];
  static int slot;
  char *b = buf[slot++ & 3];
  char *s = NULL;
  int rc = roster_config_string(c, key, NULL, &s);
  snprintf(b, 512, "%s", rc ? "(error)" : s ? s : "(null)");
  roster_mem_free(s);
  return b;
}

/* ct_src returns key's provenance (static buffer, "(none)" if missing). */
static inline const char *ct_src(const roster_config *c, const char *key) {
  static char buf[4][512];
  static int slot;
  char *b = buf[slot++ & 3];
  if (roster_config_source(c, key, b, 512))
    snprintf(b, 512, "(none)");
  return b;
}

#endif
