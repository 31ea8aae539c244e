/* cmd_convert.c: `trove convert IN -o OUT.trove`: import a scikit-learn model saved with pickle or
 * joblib, without running anything from it. */
#include <string.h>

#include "cli.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: trove convert INPUT -o OUTPUT.trove [--no-split] [--no-validate] [--name NAME]\n"
            "                     [--encrypt KEY-OPTIONS]\n"
            "\n"
            "Convert a scikit-learn model saved with pickle (protocols 0-5) or joblib (raw, zlib,\n"
            "gzip, or the pre-0.10 'ZF' format) into a trove model file. Nothing in INPUT is\n"
            "executed: the pickle is read by an inert interpreter and only known scikit-learn\n"
            "classes are mapped (docs/CODECS.md lists them). A tuple, list or dict of estimators\n"
            "becomes OUTPUT.<key>.trove per element (--no-split refuses it instead). Each file is\n"
            "checked by binding its model kind (--no-validate skips that).\n"
            "A Keras model saved as HDF5 (.h5: Dense/Dropout/Activation/BatchNormalization chains,\n"
            "Keras 1-3) becomes an mlp; libhdf5 reads it in a sandboxed child process.\n"
            "An XGBoost model saved with save_model (.json or .ubj; gbtree, dart, gblinear)\n"
            "becomes a tree_ensemble (or linear) model; a pickled XGBoost object is refused.\n"
            "safetensors, .npy and .npz files become trove files of plain tensors (--name NAME\n"
            "names a .npy's tensor, default \"array\"), so do torch.save files (.pt/.pth, zip or\n"
            "legacy: state_dicts and checkpoints, nested keys joined with '.', other values under\n"
            "the metadata's \"user\"; a pickled nn.Module or TorchScript is refused); a trove\n"
            "file converts back to\n"
            "OUTPUT.safetensors, OUTPUT.npz or OUTPUT.npy (one tensor).\n"
            CLI_ENCRYPT_USAGE
            "With --encrypt every output file is encrypted (all or none are written) and no\n"
            "plaintext byte of the model is written to any file: each output is checked on a\n"
            "copy in memory (wiped after), then streams through the encryption into place\n"
            "(docs/SECURITY.md). An export (.safetensors/.npz/.npy) cannot be encrypted.\n"
            "\nexit codes: 0 ok, 1 unsupported or malformed input, 2 usage, 3 i/o, 6 bad key\n"
            "file.\n");
}

static void written(void *ctx, const char *path, const char *estimator)
{
    (void)ctx;
    printf("%s: %s\n", path, estimator);
}

static void written_encrypted(void *ctx, const char *path, const char *estimator)
{
    (void)ctx;
    printf("%s: %s (encrypted)\n", path, estimator);
}

int cli_cmd_convert(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    trove_convert_options o = TROVE_CONVERT_OPTIONS_INIT;
    cli_encrypt_args enc = CLI_ENCRYPT_ARGS_INIT;
    for (int i = 1; i < argc; i++) {
        int r;
        if (cli_is_help(argv[i])) {
            usage(stdout);
            return CLI_OK;
        } else if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) {
            if (++i >= argc) {
                fprintf(stderr, "trove convert: -o needs a file name\n");
                return CLI_USAGE;
            }
            out = argv[i];
        } else if (!strcmp(argv[i], "--name")) {
            if (++i >= argc) {
                fprintf(stderr, "trove convert: --name needs a tensor name\n");
                return CLI_USAGE;
            }
            o.tensor_name = argv[i];
        } else if (!strcmp(argv[i], "--no-split")) {
            o.flags |= TROVE_CONVERT_NO_SPLIT;
        } else if (!strcmp(argv[i], "--no-validate")) {
            o.flags |= TROVE_CONVERT_NO_VALIDATE;
        } else if ((r = cli_encrypt_option(argc, argv, &i, "convert", &enc)) != 0) {
            if (r < 0)
                return CLI_USAGE;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "trove convert: unknown option '%s'\n", argv[i]);
            return CLI_USAGE;
        } else if (!in) {
            in = argv[i];
        } else {
            fprintf(stderr, "trove convert: unexpected argument '%s'\n", argv[i]);
            return CLI_USAGE;
        }
    }
    if (!in || !out) {
        usage(stderr);
        return CLI_USAGE;
    }
    trove_secret *secret = NULL;
    int ex = cli_encrypt_secret(&enc, "convert", &secret);
    if (ex)
        return ex;
    o.on_written = written;
    if (secret) { /* every output streams through the encryption: no plaintext file at all */
        enc.co.write_flags = 0;
        o.secret = secret;
        o.crypt = &enc.co;
        o.on_written = written_encrypted;
    }
    trove_convert_report rep;
    trove_error err;
    int rc = trove_convert(in, out, &o, &rep, &err);
    trove_secret_free(secret);
    if (rc) {
        if (rep.format[0])
            fprintf(stderr, "trove convert: %s (%s): %s\n", in, rep.format, err.message);
        else
            fprintf(stderr, "trove convert: %s: %s\n", in, err.message);
        return cli_exit_code(rc);
    }
    return CLI_OK;
}
