/* cmd_ls.c: `trove ls FILE [--json]`: one aligned line per tensor (name, dtype, shape, size). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_trust.h"

static const char *usage_text =
    "usage: trove ls FILE [--json] [--bytes]\n"
    "\n"
    "List the tensors of FILE in file order, one per line: name, dtype, shape and size.\n"
    "Names are printed with control characters escaped (\\n, \\x1b, ...).\n"
    "\n"
    "options:\n"
    "  --json    a JSON array of {\"dtype\", \"name\", \"nbytes\", \"shape\"} objects\n"
    "  --bytes   sizes in bytes instead of KiB/MiB/...\n"
    CLI_KEYED_USAGE
    "\n"
    "exit codes: 0 ok, 1 malformed file, 2 usage, 3 cannot read the file.\n";

int cli_cmd_ls(int argc, char **argv)
{
    cli_secret_args sa = {0};
    int so;
    const char *path = NULL;
    int json = 0, bytes = 0, opts_done = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!opts_done && cli_is_help(a)) {
            fputs(usage_text, stdout);
            return CLI_OK;
        } else if (!opts_done && !strcmp(a, "--json")) {
            json = 1;
        } else if (!opts_done && !strcmp(a, "--bytes")) {
            bytes = 1;
        } else if (!opts_done && !strcmp(a, "--")) {
            opts_done = 1;
        } else if (!opts_done && (so = cli_secret_option(argc, argv, &i, &sa)) != 0) {
            if (so < 0)
                return CLI_USAGE;
        } else if (!opts_done && a[0] == '-' && a[1]) {
            return cli_usage_error("ls", "unknown option '%s'", a);
        } else if (path) {
            return cli_usage_error("ls", "one FILE only ('%s' is extra)", a);
        } else {
            path = a;
        }
    }
    if (!path)
        return cli_usage_error("ls", "missing FILE");
    trove_file *f;
    int code = cli_open_keyed("ls", path, 0, &sa, &f);
    if (code != CLI_OK)
        return code;

    size_t n = trove_file_tensor_count(f);
    if (json) {
        fputs("[", stdout);
        for (size_t i = 0; i < n; i++) {
            trove_tensor_info ti;
            if (trove_file_tensor_info(f, i, &ti) != TROVE_OK)
                continue;
            printf("%s\n  {\"dtype\": \"%s\", \"name\": ", i ? "," : "",
                   trove_dtype_name(ti.dtype));
            cli_put_json_string(stdout, ti.name, ti.name_len);
            printf(", \"nbytes\": %" PRIu64 ", \"shape\": [", ti.nbytes);
            for (uint32_t r = 0; r < ti.rank; r++)
                printf("%s%" PRIu64, r ? ", " : "", ti.shape[r]);
            fputs("]}", stdout);
        }
        fputs(n ? "\n]\n" : "]\n", stdout);
    } else {
        cli_table *t = cli_table_new(4, "lllr");
        int oom = !t;
        for (size_t i = 0; i < n && !oom; i++) {
            trove_tensor_info ti;
            if (trove_file_tensor_info(f, i, &ti) != TROVE_OK)
                continue;
            char shape[256], sz[32];
            char *name = cli_escaped(ti.name, ti.name_len);
            if (!name) {
                oom = 1;
                break;
            }
            cli_shape(ti.rank, ti.shape, shape, sizeof shape);
            if (bytes)
                snprintf(sz, sizeof sz, "%" PRIu64, ti.nbytes);
            else
                cli_human_size(ti.nbytes, sz, sizeof sz);
            const char *row[4] = {name, trove_dtype_name(ti.dtype), shape, sz};
            oom = cli_table_add(t, row);
            free(name);
        }
        if (oom) {
            fprintf(stderr, "trove ls: out of memory\n");
            code = CLI_FAIL;
        } else {
            cli_table_print(t, stdout, 0);
        }
        cli_table_free(t);
    }
    trove_close(f);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "trove ls: cannot write the output\n");
        return CLI_IO;
    }
    return code;
}
