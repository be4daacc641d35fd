/*
 * main.c: the roster command-line tool. `roster <command> [args...]`; each
 * command lives in its own cmd_<name>.c and is listed in the table below.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "roster.h"

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

static const roster_cli_cmd commands[] = {
    {"help", "this list", cmd_help},
    {"version", "print roster's version", cmd_version},
    {"config", "dump or check a configuration", roster_cli_config},
    {"cron", "next fire times of a cron expression", roster_cli_cron},
};

static int usage(FILE *f) {
  fprintf(f, "usage: roster <command> [arguments]\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(f, "\n`roster <command> --help` describes a command.\n");
  return f == stdout ? 0 : 2;
}

static int cmd_help(int argc, char **argv) {
  (void)argc;
  (void)argv;
  return usage(stdout);
}

static int cmd_version(int argc, char **argv) {
  (void)argc;
  (void)argv;
  printf("roster %s\n", roster_version());
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2)
    return usage(stderr);
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
    return usage(stdout);
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp(argv[1], commands[i].name) == 0)
      return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "roster: unknown command '%s'\n\n", argv[1]);
  return usage(stderr);
}
