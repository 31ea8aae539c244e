/* main.c: `trove`: dispatch to the subcommands listed in one table. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const cli_command commands[] = {
    {"inspect", "show a file's version, features, metadata, tensors and digest", cli_cmd_inspect},
    {"ls", "list the tensors of a file", cli_cmd_ls},
    {"verify", "check every checksum of a file (exit 0 only when all hold)", cli_cmd_verify},
    {"cat", "print a tensor, or export it as .npy", cli_cmd_cat},
    {"diff", "compare the metadata and tensors of two files", cli_cmd_diff_refs},
    {"predict", "run a model on a CSV or .npy batch (labels, --proba, --decision)", cli_cmd_predict},
    {"fit", "fit linear, ridge or logistic regression on a CSV file, in C", cli_cmd_fit},
    {"convert", "import a scikit-learn pickle/joblib or Keras .h5 model (nothing is executed)", cli_cmd_convert},
    REGISTRY_COMMANDS
    {"keygen", "make a signing key pair (NAME.key, NAME.pub) or an encryption key",
     cli_cmd_keygen},
    {"sign", "sign a file's model digest (embedded, or --detached FILE.sig)", cli_cmd_sign},
    {"encrypt", "encrypt a file (key file, variable or passphrase)", cli_cmd_encrypt},
    {"decrypt", "decrypt an encrypted file", cli_cmd_decrypt},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: trove COMMAND [ARGS...]\n\n"
                 "trove saves trained models in one safe, fast, verifiable file format.\n\n"
                 "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'trove COMMAND --help' describes one command. 'trove --version' prints the "
                 "version.\nExit codes: 0 ok, 1 failed, 2 usage, 3 i/o, 4 checksum, 5 signature, "
                 "6 key, 7 diff: malformed file, 8 unsigned, 9 unknown signer.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (cli_is_help(argv[1])) {
        usage(stdout);
        return CLI_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("trove %s (format %d.%d)\n", trove_version_string(), TROVE_FORMAT_MAJOR,
               TROVE_FORMAT_MINOR);
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "trove: unknown command '%s' (try 'trove --help')\n", argv[1]);
    return CLI_USAGE;
}
