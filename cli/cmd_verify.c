/* cmd_verify.c: `trove verify FILE...`: check every checksum; exit 0 only when all hold. */
#include <inttypes.h>
#include <string.h>

#include "cli.h"

static const char *usage_text =
    "usage: trove verify [--quiet] FILE...\n"
    "\n"
    "Validate the structure of each FILE and every checksum of its header and tensors (every\n"
    "byte is read), and that padding bytes are zero. Prints one line per file with the time\n"
    "taken and the rate; errors go to stderr and name the file, the part and the offset.\n"
    "\n"
    "options:\n"
    "  -q, --quiet   print nothing on success (errors are still reported)\n"
    "\n"
    "exit codes: 0 every file verified, 4 a checksum does not match, 1 a file is malformed\n"
    "(the code of the first failing file is returned), 2 usage, 3 cannot read a file.\n"
    "\n"
    "With --pubkey NAME.pub (repeatable) the signature is checked too: see 'trove sign --help'\n"
    "and docs/SECURITY.md (exit 5 bad signature, 8 unsigned, 9 unknown signer).\n";

int cli_cmd_verify(int argc, char **argv)
{
    int quiet = 0, nfiles = 0, opts_done = 0;
    for (int i = 1; i < argc; i++) /* signatures: cmd_sign.c */
        if (!strcmp(argv[i], "--pubkey"))
            return cli_verify_signed(argc, argv);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (opts_done || a[0] != '-' || !a[1]) {
            nfiles++;
        } else if (cli_is_help(a)) {
            fputs(usage_text, stdout);
            return CLI_OK;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (!strcmp(a, "--")) {
            opts_done = 1;
        } else {
            return cli_usage_error("verify", "unknown option '%s'", a);
        }
    }
    if (nfiles == 0)
        return cli_usage_error("verify", "missing FILE");

    int worst = CLI_OK;
    opts_done = 0;
    for (int i = 1; i < argc; i++) {
        const char *path = argv[i];
        if (!opts_done && path[0] == '-' && path[1]) {
            opts_done = !strcmp(path, "--");
            continue;
        }
        double t0 = cli_now();
        trove_file *f;
        int code = cli_open("verify", path, TROVE_OPEN_VERIFY, &f);
        double dt = cli_now() - t0;
        if (code != CLI_OK) {
            if (worst == CLI_OK)
                worst = code;
            continue;
        }
        if (!quiet) {
            char h[32], rate[48] = "";
            uint64_t size = trove_file_size(f);
            if (dt > 0)
                snprintf(rate, sizeof rate, ", %.2f GB/s", (double)size / dt / 1e9);
            cli_put_escaped(stdout, path, strlen(path));
            printf(": ok (%zu tensors, %s, verified in %.3f ms%s)\n", trove_file_tensor_count(f),
                   cli_human_size(size, h, sizeof h), dt * 1e3, rate);
        }
        trove_close(f);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "trove verify: cannot write the output\n");
        if (worst == CLI_OK)
            worst = CLI_IO;
    }
    return worst;
}
