/*
 * cmd_cron.c: `roster cron next "<expr>" [-n N] [--tz Zone] [--from T]`
 * prints the next N fire times of a cron expression, one ISO 8601 time
 * with its offset per line, in the zone (default: the system's), from T
 * (default: now). An invalid expression prints the error with its column
 * and a caret under it, and exits 2; so do bad options. An expression that
 * never fires exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "roster.h"

static int usage(FILE *f) {
  fprintf(f, "usage: roster cron next \"<expr>\" [-n N] [--tz Zone] "
             "[--from 2026-01-01T00:00:00Z]\n\n"
             "Prints the next N (default 5) fire times of a cron expression, "
             "in Zone\n"
             "(default: the system's zone), after --from (default: now).\n"
             "Expressions: 5 fields (minute hour day-of-month month "
             "day-of-week),\n"
             "6 with seconds first, or @yearly @monthly @weekly @daily "
             "@hourly.\n"
             "Exit status: 0, 1 if it never fires, 2 for bad input.\n");
  return f == stdout ? 0 : 2;
}

/* opt_value: the value of --name=value or --name value at argv[*i]. */
static const char *opt_value(int argc, char **argv, int *i, const char *name) {
  size_t n = strlen(name);
  if (strncmp(argv[*i], name, n) != 0)
    return NULL;
  if (argv[*i][n] == '=')
    return argv[*i] + n + 1;
  if (argv[*i][n] != '\0')
    return NULL;
  if (*i + 1 >= argc) {
    fprintf(stderr, "roster cron: %s needs a value\n", name);
    return "";
  }
  return argv[++*i];
}

static void caret(const char *expr, size_t column) {
  fprintf(stderr, "  %s\n  ", expr);
  for (size_t i = 0; i + 1 < column && expr[i]; i++)
    fputc(expr[i] == '\t' ? '\t' : ' ', stderr);
  fprintf(stderr, "^\n");
}

static int cron_next(int argc, char **argv) {
  const char *expr = NULL, *tzname = NULL, *from = NULL;
  long count = 5;
  for (int i = 1; i < argc; i++) {
    const char *v;
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
      return usage(stdout);
    if ((v = opt_value(argc, argv, &i, "--tz"))) {
      if (!*v)
        return 2;
      tzname = v;
    } else if ((v = opt_value(argc, argv, &i, "--from"))) {
      if (!*v)
        return 2;
      from = v;
    } else if ((v = opt_value(argc, argv, &i, "-n")) ||
               (v = opt_value(argc, argv, &i, "--count"))) {
      char *end;
      count = *v ? strtol(v, &end, 10) : 0;
      if (!*v || *end || count < 1 || count > 100000) {
        fprintf(stderr,
                "roster cron: -n wants a number from 1 to 100000, "
                "not '%s'\n",
                v);
        return 2;
      }
    } else if (argv[i][0] == '-' && argv[i][1] != '\0' && !expr) {
      fprintf(stderr, "roster cron: unknown option '%s'\n\n", argv[i]);
      return usage(stderr);
    } else if (!expr) {
      expr = argv[i];
    } else {
      fprintf(stderr, "roster cron: one expression only (quote it: "
                      "roster cron next \"*/5 * * * *\")\n");
      return 2;
    }
  }
  if (!expr) {
    fprintf(stderr, "roster cron: no expression\n\n");
    return usage(stderr);
  }
  roster_cron *c;
  roster_cron_error err;
  if (roster_cron_parse(expr, &c, &err) != ROSTER_OK) {
    if (err.column)
      fprintf(stderr,
              "roster cron: invalid cron expression: column %zu: "
              "%s\n",
              err.column, err.message);
    else
      fprintf(stderr, "roster cron: %s\n", roster_last_error());
    if (err.column)
      caret(expr, err.column);
    return 2;
  }
  const roster_tz *tz;
  int rc = tzname ? roster_tz_get(tzname, &tz) : roster_tz_local(&tz);
  if (rc != ROSTER_OK) {
    fprintf(stderr, "roster cron: %s\n", roster_last_error());
    roster_cron_free(c);
    return 2;
  }
  int64_t t = (int64_t)time(NULL);
  if (from && roster_time_parse(from, tz, &t) != ROSTER_OK) {
    fprintf(stderr, "roster cron: --from: %s\n", roster_last_error());
    roster_cron_free(c);
    return 2;
  }
  int status = 0;
  for (long i = 0; i < count; i++) {
    int64_t nx;
    char buf[ROSTER_TIME_STR_MAX];
    if (roster_cron_next(c, t, tz, &nx) != ROSTER_OK ||
        roster_tz_format(tz, nx, buf, sizeof buf) != ROSTER_OK) {
      fprintf(stderr, "roster cron: %s\n", roster_last_error());
      status = 1;
      break;
    }
    printf("%s\n", buf);
    t = nx;
  }
  roster_cron_free(c);
  return status;
}

int roster_cli_cron(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
    return usage(argc < 2 ? stderr : stdout);
  if (strcmp(argv[1], "next") == 0)
    return cron_next(argc - 1, argv + 1);
  fprintf(stderr, "roster cron: unknown subcommand '%s'\n\n", argv[1]);
  return usage(stderr);
}
