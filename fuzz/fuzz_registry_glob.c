/*
 * fuzz_registry_glob.c: the registry's glob (src/base/glob.c in its names
 * mode, used by roster_select, roster_foreach and roster_count_match)
 * against the reference of the syntax registry.h documents (glob_ref.h:
 * '[!x]' and '[^x]' negate, a ']' first in a class is a member, unsigned
 * ranges, an unclosed '[' is literal).
 *
 * Input: a pattern line, a namespace-pattern line, then up to 8 subject
 * lines.
 *
 * Properties:
 *  - roster__glob, in both modes, agrees with its reference (glob_ref.h)
 *    on the pattern against each subject, the namespace pattern and the
 *    rest of the input (any bytes, NUL included), on the rest against the
 *    pattern, and on the namespace pattern against each subject;
 *  - roster_select and roster_count_match over a registry of fixed,
 *    awkward names, with the two patterns (as C strings: a NUL ends them)
 *    and with the pattern alone, return exactly the entries the reference
 *    picks, each once;
 *  - an empty pattern or one longer than ROSTER_NAME_MAX is refused
 *    (ROSTER_EINVAL, an error detail of clean text: not empty, valid
 *    UTF-8, no control character; a count of 0).
 *
 * Inputs up to 1024 bytes: patterns past ROSTER_NAME_MAX (255) too.
 * fuzz-max-len: 1024
 */
#include "fuzz_util.h"
#include "glob_ref.h"

/* ---- the registry --------------------------------------------------- */

static const roster_type thing_type = {.name = "thing"};

static const char *const names[] = {
    "db",   "db.main", "db.replica", "cache",    "cache:users",
    "log",  "a",       "aa",         "ab",       "[x]",
    "x",    "*",       "?",          "\\",       "a\\b",
    "-",    "]",       "!",          "^",        "caf\xc3\xa9",
    "\xff", "a b",     "a\tb",       "UPPER",    "with-dash_1",
    "[",    "[!]",     "a[b",        "\x7f\x01", "cache:*",
};
static const char *const spaces[] = {"default", "svc", "svc.db", "[ns]"};
#define NNAMES (sizeof names / sizeof names[0])
#define NSPACES (sizeof spaces / sizeof spaces[0])

static roster *reg;

/* free_reg: the registry goes at exit, so a leak checker sees its entries
 * freed (its table keeps tagged pointers, which LeakSanitizer's scan does
 * not take for references). */
static void free_reg(void) { roster_free(reg); }

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  if (roster_new(NULL, &reg) != ROSTER_OK)
    abort();
  atexit(free_reg);
  /* every name in the default namespace, every third one elsewhere */
  for (size_t s = 0; s < NSPACES; s++)
    for (size_t i = s; i < NNAMES; i += s ? 3 : 1)
      if (roster_register(reg, spaces[s], names[i], &thing_type, NULL) !=
          ROSTER_OK) {
        fprintf(stderr, "fuzz_registry_glob: %s\n", roster_last_error());
        abort();
      }
  return 0;
}

static bool registered(size_t s, size_t i) {
  return s == 0 || (i >= s && (i - s) % 3 == 0);
}

/* check_select: p and nsp are C strings here (the API's view: a NUL in
 * the input ends them). */
static void check_select(const uint8_t *p, size_t pl, const uint8_t *nsp,
                         size_t nl, bool use_ns) {
  char *pat = fuzz_strndup(p, pl), *ns = use_ns ? fuzz_strndup(nsp, nl) : NULL;
  pl = strlen(pat);
  nl = ns ? strlen(ns) : 0;
  roster_query q = {.ns = ns, .pattern = pat};
  roster_list list = {0};
  int rc = roster_select(reg, &q, &list);
  size_t counted = roster_count_match(reg, &q);
  bool valid = pl >= 1 && pl <= ROSTER_NAME_MAX &&
               (!use_ns || (nl >= 1 && nl <= ROSTER_NAME_MAX));
  if (!valid) {
    FUZZ_CHECK(rc == ROSTER_EINVAL, "select of a bad pattern: %d", rc);
    fuzz_error_ok("roster_select", rc, NULL);
    FUZZ_CHECK(counted == 0, "count_match of a bad pattern: %zu", counted);
    free(pat);
    free(ns);
    return;
  }
  FUZZ_CHECK(rc == ROSTER_OK, "select: %s", roster_last_error());
  bool want[NSPACES][NNAMES];
  size_t nwant = 0;
  for (size_t s = 0; s < NSPACES; s++) {
    bool ns_ok = use_ns ? names_ref_match(nsp, nl, spaces[s], strlen(spaces[s]))
                        : s == 0;
    for (size_t i = 0; i < NNAMES; i++) {
      want[s][i] = ns_ok && registered(s, i) &&
                   names_ref_match(p, pl, names[i], strlen(names[i]));
      nwant += want[s][i];
    }
  }
  FUZZ_CHECK(list.count == nwant, "select found %zu entries, expected %zu",
             list.count, nwant);
  FUZZ_CHECK(counted == nwant, "count_match says %zu, expected %zu", counted,
             nwant);
  for (size_t k = 0; k < list.count; k++) {
    size_t s = 0, i = 0;
    while (s < NSPACES && strcmp(spaces[s], list.items[k].ns) != 0)
      s++;
    FUZZ_CHECK(s < NSPACES, "select returned namespace '%s'", list.items[k].ns);
    while (i < NNAMES && strcmp(names[i], list.items[k].name) != 0)
      i++;
    FUZZ_CHECK(i < NNAMES && want[s][i], "select returned '%s' in '%s'",
               list.items[k].name, list.items[k].ns);
    want[s][i] = false; /* a second copy would fail here */
  }
  roster_list_free(&list);
  free(pat);
  free(ns);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_begin(data, size);
  fuzz_reader r = {data, size};
  size_t pl, nl;
  const uint8_t *pat = fuzz_field(&r, '\n', &pl);
  const uint8_t *rest = r.p;
  size_t restlen = r.n;
  const uint8_t *nsp = fuzz_field(&r, '\n', &nl);
  bool use_ns = restlen > 0;

  glob_check_pair(pat, pl, rest, restlen);
  glob_check_pair(rest, restlen, pat, pl);
  glob_check_pair(pat, pl, nsp, nl);
  for (int k = 0; k < 8 && r.n; k++) {
    size_t sl;
    const uint8_t *s = fuzz_field(&r, '\n', &sl);
    glob_check_pair(pat, pl, s, sl);
    glob_check_pair(nsp, nl, s, sl);
  }
  /* the registered names are matched by check_select, through the API */
  check_select(pat, pl, nsp, nl, use_ns);
  if (use_ns)
    check_select(pat, pl, NULL, 0, false);
  return 0;
}
