/*
 * cli.h: what the roster tool's subcommands share. Each subcommand is a
 * function taking the arguments after its name (argv[0] is the subcommand)
 * and returning the process's exit code: 0 on success, 1 on a failure, 2 on
 * bad usage or invalid input.
 */
#ifndef ROSTER_CLI_H
#define ROSTER_CLI_H

typedef int (*roster_cli_fn)(int argc, char **argv);

typedef struct roster_cli_cmd {
  const char *name;    /* "config" */
  const char *summary; /* one line for `roster help` */
  roster_cli_fn run;
} roster_cli_cmd;

/* The subcommands, one per cmd_<name>.c. */
int roster_cli_config(int argc, char **argv); /* cmd_config.c */
int roster_cli_cron(int argc, char **argv);   /* cmd_cron.c */

#endif
