/*
 * cron_compare.c: roster's next and prev fire times against two npm cron
 * libraries, cron-parser 5.4 and croner 9.1 (tests/interop/node_modules,
 * from scripts/npm.sh), through cron_compare.js.
 *
 * Thousands of random expressions (fixed seed: every run is the same) in
 * UTC, fixed-offset zones and DST zones, from random dates between 2001
 * and 2035: the next five fire times (and with cron-parser the previous
 * five) must be the same, and random invalid expressions must be refused
 * by all three. Excluded are the cases where those libraries depart from
 * Vixie cron, listed in docs/cron.md ("Other cron libraries"); a table of
 * examples checks each departure is real, so the list stays honest:
 *
 *  1. a day field that starts with '*' but is not just '*' (such as
 *     "*" "/2") while the other day field is restricted: Vixie cron
 *     matches days that satisfy both, the libraries days that satisfy
 *     either;
 *  2. DST: a fixed-time job in a skipped hour runs at the jump in Vixie
 *     cron, shifted by the jump's length (or, in cron-parser for a
 *     half-hour shift, not at all) in the libraries; wildcard jobs run
 *     again in a repeated hour in Vixie cron, not in the libraries. So
 *     a comparison in a DST zone counts only when no transition falls
 *     between the earliest and the latest time compared;
 *  3. @midnight (Vixie's alias of @daily) is refused by both;
 *  4. croner only: "a/n" in the day-of-week field stops at 6, so it never
 *     reaches Sunday as 7; and a step larger than the field's range
 *     (every 100 minutes) is refused;
 *  5. cron-parser only: a list whose elements share a value ("3-22,3") is
 *     refused; a stepped day-of-week range that ends at 7 ("2/3",
 *     "5-7/7") always includes Sunday, wherever the steps land.
 *
 * The node run is skipped when node or the packages are missing, unless
 * ROSTER_TEST_REQUIRE_SERVERS=1 (as in scripts/test.sh), which makes it
 * fail instead.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cron/cron_impl.h"

extern char **environ;

static char interop_dir[1024];

#define NEXT 5
#define RANDOM_EXPRS 2000
#define INVALID_EXPRS 300

/* ---- running node --------------------------------------------------- */

static bool peers_available(void) {
  static const char *const packages[] = {"cron-parser", "croner", NULL};
  return roster__tu_peers_ok(interop_dir, packages, NULL);
}

/* node runs cron_compare.js with input on stdin; returns its output
 * (malloc'd) or NULL. */
static char *node(const char *input) {
  char in[] = "/tmp/roster-cron-in-XXXXXX",
       out[] = "/tmp/roster-cron-out-XXXXXX";
  int ifd = mkstemp(in), ofd = mkstemp(out);
  assert_true(ifd >= 0 && ofd >= 0);
  size_t len = strlen(input);
  assert_int_equal(write(ifd, input, len), (ssize_t)len);
  lseek(ifd, 0, SEEK_SET);
  char script[1200];
  snprintf(script, sizeof script, "%s/cron_compare.js", interop_dir);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, ifd, 0);
  posix_spawn_file_actions_adddup2(&fa, ofd, 1);
  char *argv[] = {"node", script, NULL};
  pid_t pid;
  int e = posix_spawnp(&pid, "node", &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(ifd);
  unlink(in);
  char *res = NULL;
  if (e == 0) {
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
      ;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
      off_t n = lseek(ofd, 0, SEEK_END);
      res = malloc((size_t)n + 1);
      assert_non_null(res);
      assert_int_equal(pread(ofd, res, (size_t)n, 0), n);
      res[n] = '\0';
    } else {
      print_error("node exited with status %d\n", st);
    }
  } else {
    print_error("cannot run node: %s\n", strerror(e));
  }
  close(ofd);
  unlink(out);
  return res;
}

/* ---- random expressions --------------------------------------------- */

static uint64_t rng = 0x243f6a8885a308d3ull;
static unsigned rnd(unsigned n) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (unsigned)(rng % n);
}

typedef struct fspec {
  int lo, hi;
  const char *const *names; /* for months (from 1) and weekdays (from 0) */
} fspec;
static const char *const mon_n[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                    "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const dow_n[] = {"sun", "mon", "tue", "wed",
                                    "thu", "fri", "sat"};
static const fspec F_SEC = {0, 59, NULL}, F_MIN = {0, 59, NULL},
                   F_HOUR = {0, 23, NULL}, F_DOM = {1, 31, NULL},
                   F_MON = {1, 12, mon_n}, F_DOW = {0, 7, dow_n};

typedef struct gen {
  bool a_step;   /* the field has an "a/n" element */
  bool big_step; /* a step larger than the field's number of values */
  bool dup;      /* two list elements share a value */
  bool to7;      /* day-of-week: a stepped range ending at 7 misses 7 */
  uint64_t seen; /* the values so far */
} gen;

/* value writes v, as a name in random case sometimes. */
static int value(char *o, size_t cap, const fspec *f, int v) {
  const char *nm = NULL;
  if (f->names && rnd(3) == 0) {
    if (f == &F_MON)
      nm = mon_n[v - 1];
    else if (v < 7)
      nm = dow_n[v];
  }
  if (!nm)
    return snprintf(o, cap, "%d", v);
  char b[4];
  for (int i = 0; i < 3; i++)
    b[i] = rnd(2) ? (char)(nm[i] - 'a' + 'A') : nm[i];
  b[3] = '\0';
  return snprintf(o, cap, "%s", b);
}

static int rstep(const fspec *f, gen *g) {
  int span = f->hi - f->lo + 1;
  int st = 1 + (int)rnd((unsigned)span);
  if (rnd(25) == 0)
    st = span + 1 + (int)rnd(40);
  if (st > span - (f == &F_DOW ? 1 : 0))
    g->big_step = true;
  return st;
}

static void element(char *o, size_t cap, const fspec *f, gen *g) {
  int span = f->hi - f->lo + 1;
  int a = f->lo + (int)rnd((unsigned)span);
  int b = a + (int)rnd((unsigned)(f->hi - a + 1));
  int n = 0, st = 1, z = a;
  switch (rnd(6)) {
  case 1:
    n = value(o, cap, f, a);
    n += snprintf(o + n, cap - (size_t)n, "-");
    value(o + n, cap - (size_t)n, f, b);
    z = b;
    break;
  case 2:
    n = value(o, cap, f, a);
    n += snprintf(o + n, cap - (size_t)n, "-");
    n += value(o + n, cap - (size_t)n, f, b);
    st = rstep(f, g);
    snprintf(o + n, cap - (size_t)n, "/%d", st);
    z = b;
    break;
  case 3:
    n = snprintf(o, cap, "%d", a);
    st = rstep(f, g);
    snprintf(o + n, cap - (size_t)n, "/%d", st);
    g->a_step = true;
    z = f->hi;
    break;
  default:
    value(o, cap, f, a);
  }
  uint64_t m = 0;
  for (int v = a; v <= z; v += st)
    m |= (uint64_t)1 << v;
  if (m & g->seen)
    g->dup = true;
  g->seen |= m;
  if (f == &F_DOW && st > 1 && z == 7 && !(m & (1u << 7)))
    g->to7 = true;
}

/* field writes one field: '*', '*' '/n', or a list of 1-3 elements. */
static void field(char *o, size_t cap, const fspec *f, gen *g, int star_odds) {
  unsigned k = rnd(10);
  if ((int)k < star_odds) {
    snprintf(o, cap, "*");
    return;
  }
  if ((int)k < star_odds + 2) {
    snprintf(o, cap, "*/%d", rstep(f, g));
    return;
  }
  size_t n = 0;
  unsigned items = 1 + rnd(3);
  for (unsigned i = 0; i < items && n < cap - 16; i++) {
    if (i)
      o[n++] = ',';
    gen before = *g; /* mostly lists without shared values (departure 5) */
    for (int tries = 0; tries < 4; tries++) {
      *g = before;
      element(o + n, cap - n, f, g);
      if (!g->dup)
        break;
    }
    n += strlen(o + n);
  }
}

typedef struct ecase {
  char expr[260];
  bool day_mix;    /* departure 1 */
  bool croner_out; /* departure 4 */
  bool cp_out;     /* departure 5 */
  const char *tz;
  int64_t from;
} ecase;

static const char *const zones[] = {"UTC",           "Asia/Kolkata",
                                    "Asia/Tokyo",    "America/New_York",
                                    "Europe/London", "Australia/Lord_Howe"};

static void make_case(ecase *c) {
  static const char *const macros[] = {"@yearly", "@annually", "@monthly",
                                       "@weekly", "@daily",    "@hourly"};
  memset(c, 0, sizeof *c);
  c->tz = zones[rnd(6)];
  c->from = 978307200LL + (int64_t)rnd(1104537600u); /* 2001 .. 2035 */
  if (rnd(20) == 0) {
    snprintf(c->expr, sizeof c->expr, "%s", macros[rnd(6)]);
    return;
  }
  char f[6][40];
  gen g[6] = {{0}};
  field(f[0], 40, &F_SEC, &g[0], 3);
  field(f[1], 40, &F_MIN, &g[1], 2);
  field(f[2], 40, &F_HOUR, &g[2], 3);
  field(f[3], 40, &F_DOM, &g[3], 6);
  field(f[4], 40, &F_MON, &g[4], 6);
  field(f[5], 40, &F_DOW, &g[5], 6);
  if (rnd(4) == 0)
    snprintf(c->expr, sizeof c->expr, "%s %s %s %s %s %s", f[0], f[1], f[2],
             f[3], f[4], f[5]);
  else
    snprintf(c->expr, sizeof c->expr, "%s %s %s %s %s", f[1], f[2], f[3], f[4],
             f[5]);
  bool dom_star = f[3][0] == '*', dow_star = f[5][0] == '*';
  bool dom_plain = strcmp(f[3], "*") == 0, dow_plain = strcmp(f[5], "*") == 0;
  c->day_mix = !dom_plain && !dow_plain && (dom_star || dow_star);
  for (int i = 0; i < 6; i++)
    if (g[i].big_step)
      c->croner_out = true;
  if (g[5].a_step)
    c->croner_out = true;
  for (int i = 0; i < 6; i++)
    if (g[i].dup || g[i].to7)
      c->cp_out = true;
}

/* ---- comparing ------------------------------------------------------ */

/* no_transition: tz keeps one offset over [lo, hi]. */
static bool no_transition(const roster_tz *z, int64_t lo, int64_t hi) {
  rc_span s;
  roster__cron_tz_span(z, lo, &s);
  return s.end > hi;
}

typedef struct expect {
  bool never;
  int64_t next[NEXT], prev[NEXT];
  size_t nprev;
} expect;

static void roster_times(const ecase *c, expect *e) {
  roster_cron *cr;
  if (roster_cron_parse(c->expr, &cr, NULL) != ROSTER_OK) {
    print_error("roster refused a valid expression '%s': %s\n", c->expr,
                roster_last_error());
    fail();
  }
  const roster_tz *z;
  assert_ok(roster_tz_get(c->tz, &z));
  memset(e, 0, sizeof *e);
  int64_t t = c->from;
  for (int i = 0; i < NEXT; i++) {
    if (roster_cron_next(cr, t, z, &e->next[i]) != ROSTER_OK) {
      e->never = true;
      break;
    }
    t = e->next[i];
  }
  t = c->from;
  for (int i = 0; i < NEXT && !e->never; i++) {
    if (roster_cron_prev(cr, t, z, &e->prev[i]) != ROSTER_OK)
      break;
    t = e->prev[i];
    e->nprev++;
  }
  roster_cron_free(cr);
}

/* parse_times reads up to NEXT numbers; returns the count. */
static size_t parse_times(const char *s, int64_t *out) {
  size_t n = 0;
  while (n < NEXT && *s && *s != '\t') {
    char *end;
    double v = strtod(s, &end);
    if (end == s)
      break;
    out[n++] = (int64_t)v;
    s = end;
    while (*s == ' ')
      s++;
  }
  return n;
}

/* result_of finds line id in out: "OK" (*res after the tab) or "ERR". */
static const char *result_of(const char *out, int id, bool *ok) {
  char key[32];
  int kl = snprintf(key, sizeof key, "%d\t", id);
  for (const char *p = out; p && *p;) {
    if (strncmp(p, key, (size_t)kl) == 0) {
      *ok = strncmp(p + kl, "OK\t", 3) == 0;
      return p + kl + 3 + (*ok ? 0 : 1);
    }
    p = strchr(p, '\n');
    if (p)
      p++;
  }
  print_error("node gave no answer for case %d\n", id);
  fail();
  return NULL;
}

static void test_random_agree(void **state) {
  (void)state;
  if (!peers_available()) {
    skip();
    return;
  }
  static ecase cases[RANDOM_EXPRS];
  static expect want[RANDOM_EXPRS];
  size_t cap = (size_t)RANDOM_EXPRS * 2 * 360, len = 0;
  char *in = malloc(cap);
  assert_non_null(in);
  size_t day_mix = 0, croner_out = 0, cp_out = 0;
  for (int i = 0; i < RANDOM_EXPRS; i++) {
    make_case(&cases[i]);
    roster_times(&cases[i], &want[i]);
    if (cases[i].day_mix) {
      day_mix++;
      continue;
    }
    if (cases[i].cp_out)
      cp_out++;
    else
      len += (size_t)snprintf(
          in + len, cap - len, "%d\tcron-parser\t%s\t%s\t%lld\t%d\n", 2 * i,
          cases[i].expr, cases[i].tz, (long long)cases[i].from, NEXT);
    if (cases[i].croner_out) {
      croner_out++;
      continue;
    }
    len += (size_t)snprintf(
        in + len, cap - len, "%d\tcroner\t%s\t%s\t%lld\t%d\n", 2 * i + 1,
        cases[i].expr, cases[i].tz, (long long)cases[i].from, NEXT);
  }
  char *out = node(in);
  free(in);
  assert_non_null(out);

  size_t compared[2] = {0, 0}, dst_skipped = 0, never_agree = 0, bad = 0;
  for (int i = 0; i < RANDOM_EXPRS; i++) {
    if (cases[i].day_mix)
      continue;
    const ecase *c = &cases[i];
    const expect *w = &want[i];
    const roster_tz *z;
    assert_ok(roster_tz_get(c->tz, &z));
    for (int lib = 0; lib < 2; lib++) {
      if ((lib == 1 && c->croner_out) || (lib == 0 && c->cp_out))
        continue;
      bool ok;
      const char *r = result_of(out, 2 * i + lib, &ok);
      int64_t next[NEXT], prev[NEXT];
      size_t nn = ok ? parse_times(r, next) : 0, np = 0;
      if (ok && lib == 0) {
        const char *tab = strchr(r, '\t');
        np = tab ? parse_times(tab + 1, prev) : 0;
      }
      if (w->never) { /* roster: no fire time; they must find none too */
        if (!ok || nn == 0)
          never_agree++;
        else {
          print_error("[%s] '%s' in %s: roster says never, the library "
                      "gives %lld\n",
                      lib ? "croner" : "cron-parser", c->expr, c->tz,
                      (long long)next[0]);
          bad++;
        }
        continue;
      }
      int64_t lo = w->nprev ? w->prev[w->nprev - 1] : c->from;
      int64_t hi = w->next[NEXT - 1];
      if (ok && nn == NEXT && next[NEXT - 1] > hi)
        hi = next[NEXT - 1];
      if (ok && np && prev[np - 1] < lo)
        lo = prev[np - 1];
      if (!no_transition(z, lo, hi)) {
        dst_skipped++;
        continue;
      }
      bool same = ok && nn == NEXT;
      for (size_t k = 0; same && k < NEXT; k++)
        same = next[k] == w->next[k];
      if (lib == 0 && same) {
        same = np == w->nprev;
        for (size_t k = 0; same && k < np; k++)
          same = prev[k] == w->prev[k];
      }
      if (!same) {
        if (bad < 20) {
          char a[40], b[40], f[40];
          roster_tz_format(z, c->from, f, sizeof f);
          roster_tz_format(z, w->next[0], a, sizeof a);
          if (ok && nn)
            roster_tz_format(z, next[0], b, sizeof b);
          int rl = (int)strcspn(r, "\n");
          print_error("[%s] '%s' in %s from %s: roster %s..., library %s%.*s\n",
                      lib ? "croner" : "cron-parser", c->expr, c->tz, f, a,
                      ok ? (nn ? b : "(none)") : "", ok ? 0 : rl, r);
        }
        bad++;
        continue;
      }
      compared[lib]++;
    }
  }
  free(out);
  print_message("cron compare: %zu expressions; agreed with cron-parser on "
                "%zu (next and prev) and croner on %zu (next); %zu never "
                "fire in all; excluded: %zu for the day rule, %zu for "
                "cron-parser's lists, %zu for croner's steps, %zu across a "
                "DST transition\n",
                (size_t)RANDOM_EXPRS, compared[0], compared[1], never_agree,
                day_mix, cp_out, croner_out, dst_skipped);
  assert_int_equal(bad, 0);
  /* the exclusions must leave most of the sample compared */
  assert_true(compared[0] > RANDOM_EXPRS / 2);
  assert_true(compared[1] > RANDOM_EXPRS / 2);
}

/* corrupt makes one field of a valid expression invalid in a way every
 * library refuses: a value past the end, a reversed range, a zero step. */
static void test_invalid_agree(void **state) {
  (void)state;
  if (!peers_available()) {
    skip();
    return;
  }
  static const fspec *const f5[5] = {&F_MIN, &F_HOUR, &F_DOM, &F_MON, &F_DOW};
  static char exprs[INVALID_EXPRS][220];
  char *in = malloc((size_t)INVALID_EXPRS * 2 * 300);
  assert_non_null(in);
  size_t len = 0;
  for (int i = 0; i < INVALID_EXPRS; i++) {
    char fld[5][40];
    for (int k = 0; k < 5; k++)
      snprintf(fld[k], 40, "%d", f5[k]->lo + (int)rnd(3));
    int k = (int)rnd(5);
    const fspec *f = f5[k];
    switch (rnd(3)) {
    case 0:
      snprintf(fld[k], 40, "%d", f->hi + 1 + (int)rnd(30));
      break;
    case 1: {
      int a = f->lo + 1 + (int)rnd((unsigned)(f->hi - f->lo));
      snprintf(fld[k], 40, "%d-%d", a, f->lo + (int)rnd((unsigned)(a - f->lo)));
      break;
    }
    default:
      if (rnd(2))
        snprintf(fld[k], 40, "*/0");
      else
        snprintf(fld[k], 40, "%d-%d/0", f->lo, f->hi);
    }
    snprintf(exprs[i], sizeof exprs[i], "%s %s %s %s %s", fld[0], fld[1],
             fld[2], fld[3], fld[4]);
    roster_cron *c = NULL;
    if (roster_cron_parse(exprs[i], &c, NULL) != ROSTER_EINVAL) {
      print_error("roster accepted '%s'\n", exprs[i]);
      fail();
    }
    for (int lib = 0; lib < 2; lib++)
      len += (size_t)sprintf(in + len, "%d\t%s\t%s\tUTC\t1767225600\t1\n",
                             2 * i + lib, lib ? "croner" : "cron-parser",
                             exprs[i]);
  }
  char *out = node(in);
  free(in);
  assert_non_null(out);
  size_t accepted = 0;
  for (int i = 0; i < INVALID_EXPRS; i++)
    for (int lib = 0; lib < 2; lib++) {
      bool ok;
      result_of(out, 2 * i + lib, &ok);
      if (ok) {
        print_error("[%s] accepted '%s', which Vixie cron refuses\n",
                    lib ? "croner" : "cron-parser", exprs[i]);
        accepted++;
      }
    }
  free(out);
  assert_int_equal(accepted, 0);
}

/* The departures, one example each: roster (Vixie) and the library must
 * differ as docs/cron.md says. */
typedef struct departure {
  const char *lib, *expr, *tz, *from;
  const char *roster_first; /* roster's first next time */
  const char *lib_first;    /* the library's, or "ERR" */
} departure;

static const departure departures[] = {
    /* 1: '*' "/2" with a weekday: Vixie ANDs (odd Mondays), they OR */
    {"cron-parser", "0 0 */2 * 1", "UTC", "2026-01-01T00:00:00Z",
     "2026-01-05T00:00:00Z", "2026-01-03T00:00:00Z"},
    {"croner", "0 0 */2 * 1", "UTC", "2026-01-01T00:00:00Z",
     "2026-01-05T00:00:00Z", "2026-01-03T00:00:00Z"},
    /* 2: a fixed time in a skipped hour: at the jump, not 30 min after */
    {"cron-parser", "30 2 * * *", "America/New_York", "2026-03-08T06:00:00Z",
     "2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z"},
    {"croner", "30 2 * * *", "America/New_York", "2026-03-08T06:00:00Z",
     "2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z"},
    /* 2: a wildcard job's second time through a repeated hour */
    {"cron-parser", "*/30 1 * * *", "America/New_York", "2026-11-01T05:45:00Z",
     "2026-11-01T06:00:00Z", "2026-11-02T06:00:00Z"},
    {"croner", "*/30 1 * * *", "America/New_York", "2026-11-01T05:45:00Z",
     "2026-11-01T06:00:00Z", "2026-11-02T06:00:00Z"},
    /* 3: @midnight */
    {"cron-parser", "@midnight", "UTC", "2026-01-01T00:00:00Z",
     "2026-01-02T00:00:00Z", "ERR"},
    {"croner", "@midnight", "UTC", "2026-01-01T00:00:00Z",
     "2026-01-02T00:00:00Z", "ERR"},
    /* 4: croner's a/n in day-of-week stops at 6 (no Sunday as 7) */
    {"croner", "0 12 * * 6/1", "UTC", "2026-01-03T13:00:00Z",
     "2026-01-04T12:00:00Z", "2026-01-10T12:00:00Z"},
    /* 4: croner refuses a step larger than the field */
    {"croner", "*/100 * * * *", "UTC", "2026-01-01T00:30:00Z",
     "2026-01-01T01:00:00Z", "ERR"},
    /* 5: cron-parser refuses lists whose elements overlap */
    {"cron-parser", "0 3-22,3 * * *", "UTC", "2026-01-01T00:00:00Z",
     "2026-01-01T03:00:00Z", "ERR"},
    /* 5: cron-parser adds Sunday to a stepped day-of-week range ending at
     * 7 (2/3 is 2,5: Tuesdays and Fridays) */
    {"cron-parser", "0 0 * * 2/3", "UTC", "2031-03-01T14:00:00Z",
     "2031-03-04T00:00:00Z", "2031-03-02T00:00:00Z"},
};

static void test_departures(void **state) {
  (void)state;
  if (!peers_available()) {
    skip();
    return;
  }
  size_t n = sizeof departures / sizeof departures[0];
  char in[4096];
  size_t len = 0;
  for (size_t i = 0; i < n; i++) {
    int64_t from;
    assert_ok(roster_time_parse(departures[i].from, NULL, &from));
    len +=
        (size_t)snprintf(in + len, sizeof in - len,
                         "%zu\t%s\t%s\t%s\t%lld\t1\n", i, departures[i].lib,
                         departures[i].expr, departures[i].tz, (long long)from);
  }
  char *out = node(in);
  assert_non_null(out);
  for (size_t i = 0; i < n; i++) {
    const departure *d = &departures[i];
    roster_cron *c;
    const roster_tz *z;
    int64_t from, got, want;
    assert_ok(roster_cron_parse(d->expr, &c, NULL));
    assert_ok(roster_tz_get(d->tz, &z));
    assert_ok(roster_time_parse(d->from, NULL, &from));
    assert_ok(roster_cron_next(c, from, z, &got));
    assert_ok(roster_time_parse(d->roster_first, NULL, &want));
    roster_cron_free(c);
    if (got != want) {
      print_error("roster: '%s' gave %lld, want %s\n", d->expr, (long long)got,
                  d->roster_first);
      fail();
    }
    bool ok;
    const char *r = result_of(out, (int)i, &ok);
    if (strcmp(d->lib_first, "ERR") == 0) {
      if (ok) {
        print_error("[%s] '%s' is no longer refused: update the list\n", d->lib,
                    d->expr);
        fail();
      }
      continue;
    }
    int64_t t[NEXT], lw;
    assert_true(ok && parse_times(r, t) >= 1);
    assert_ok(roster_time_parse(d->lib_first, NULL, &lw));
    if (t[0] != lw) {
      print_error("[%s] '%s' gave %lld, the list says %s\n", d->lib, d->expr,
                  (long long)t[0], d->lib_first);
      fail();
    }
  }
  free(out);
}

int main(int argc, char **argv) {
  if (argc > 1) {
    snprintf(interop_dir, sizeof interop_dir, "%s", argv[1]);
  } else { /* next to this source file */
    snprintf(interop_dir, sizeof interop_dir, "%s", __FILE__);
    char *slash = strrchr(interop_dir, '/');
    if (slash)
      *slash = '\0';
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_departures),
      cmocka_unit_test(test_random_agree),
      cmocka_unit_test(test_invalid_agree),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
