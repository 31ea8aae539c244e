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
    CLI_DIFF_ERROR = 7,  /* trove diff only: a file is malformed (1 means "different" there) */
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

/* ---- Shared by the container commands (util.c) ---- */
#include <stdint.h>

/* Open path read-only (flags: TROVE_OPEN_*); on failure report it and return the exit code. */
int cli_open(const char *cmd, const char *path, uint32_t flags, trove_file **out);
/* Report a usage error ("trove CMD: msg", then "try 'trove CMD --help'"); returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "[3, 5]" ("[]" for rank 0) into buf. */
const char *cli_shape(uint32_t rank, const uint64_t *shape, char *buf, size_t cap);
/* Names of the set bits of one feature word ("digests, zstd", unknown bits as "bitN",
 * "none" when 0) into buf; kind is "compat", "ro_compat" or "incompat". */
const char *cli_feature_names(const char *kind, uint64_t bits, char *buf, size_t cap);
/* Write s (n bytes of UTF-8) for a terminal: control, C1 and bidi-override characters as
 * escapes (\n, \x1b, \u202e). */
void cli_put_escaped(FILE *out, const char *s, size_t n);
/* Same into a malloc'd string (caller frees); NULL on allocation failure. */
char *cli_escaped(const char *s, size_t n);
/* Write s (n bytes of UTF-8) as a JSON string literal. */
void cli_put_json_string(FILE *out, const char *s, size_t n);
/* Display width of UTF-8 text: its number of code points. */
size_t cli_width(const char *s);
/* Shortest decimal text that reads back to the same value at the dtype's precision
 * (float16/bfloat16/float32/float64), numpy-like: "1.0", "nan", "-inf", "1e-08". */
const char *cli_format_float(double v, trove_dtype dtype, char *buf, size_t cap);
/* Element i of a little-endian tensor as a double (ints may round) / exactly. */
double cli_element_double(trove_dtype dtype, const void *data, uint64_t i);
float cli_half_to_float(uint16_t h);
float cli_bfloat16_to_float(uint16_t b);
/* Monotonic clock in seconds. */
double cli_now(void);

/* A text table whose columns are aligned on print. align: one char per column, 'l' or 'r'. */
typedef struct cli_table cli_table;
cli_table *cli_table_new(size_t ncols, const char *align);
/* Append a row of ncols cells (copied). Returns 0, or -1 on allocation failure. */
int cli_table_add(cli_table *t, const char *const *cells);
/* Print with `indent` spaces before each row and two spaces between columns; trailing blanks
 * are not printed. */
void cli_table_print(const cli_table *t, FILE *out, int indent);
void cli_table_free(cli_table *t);

/* Every command: defined in its cmd_*.c file and listed in main.c. */
#define CLI_COMMAND(fn) int fn(int argc, char **argv)
CLI_COMMAND(cli_cmd_inspect);
CLI_COMMAND(cli_cmd_ls);
CLI_COMMAND(cli_cmd_verify);
CLI_COMMAND(cli_cmd_cat);
CLI_COMMAND(cli_cmd_diff);
CLI_COMMAND(cli_cmd_predict);
CLI_COMMAND(cli_cmd_fit);
CLI_COMMAND(cli_cmd_convert);
#include "cli_registry.h" /* registry commands (cmd_registry.c) */

#include "cli_trust.h" /* keygen, sign, verify --pubkey, encrypt, decrypt */

#endif
