/* cli.h: the `trove` command-line tool: the command table and helpers shared by cli/cmd_*.c.
 * The CLI uses only the public API (include/trove.h). */
#ifndef TROVE_CLI_H
#define TROVE_CLI_H

#include <stdio.h>

#include "trove.h"

/* Exit codes (docs/CLI.md). */
enum {
    CLI_OK = 0,
    CLI_FAIL = 1,        /* the operation failed: corrupt file, checksum mismatch, ... */
    CLI_USAGE = 2,       /* bad command line */
    CLI_IO = 3,          /* cannot open, read or write a file */
    CLI_CHECKSUM = 4,    /* verification found damaged bytes */
    CLI_SIGNATURE = 5,   /* unsigned, unknown signer or bad signature */
    CLI_KEY = 6,         /* wrong key or passphrase */
};

typedef struct cli_command {
    const char *name;
    const char *summary;         /* one line for `trove --help` */
    int (*run)(int argc, char **argv);   /* argv[0] is the command name */
} cli_command;

/* Map a TROVE_E_* status to an exit code. */
int cli_exit_code(int status);
/* Print "trove CMD: FILE: message" to stderr; returns cli_exit_code(err->code). */
int cli_report(const char *cmd, const char *file, const trove_error *err);
/* "12.3 MiB" style size into buf. */
const char *cli_human_size(unsigned long long bytes, char *buf, size_t cap);
/* Lower-case hex of n bytes into buf (2n+1 bytes). */
const char *cli_hex(const unsigned char *p, size_t n, char *buf);
/* 1 when argv[i] is -h or --help. */
int cli_is_help(const char *arg);

/* Every command: defined in its cmd_*.c file and listed in main.c. */
#define CLI_COMMAND(fn) int fn(int argc, char **argv)
CLI_COMMAND(cli_cmd_inspect);
CLI_COMMAND(cli_cmd_ls);
CLI_COMMAND(cli_cmd_verify);
CLI_COMMAND(cli_cmd_cat);
CLI_COMMAND(cli_cmd_diff);
CLI_COMMAND(cli_cmd_predict);
CLI_COMMAND(cli_cmd_fit);

#endif
