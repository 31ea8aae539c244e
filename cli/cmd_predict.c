/* cmd_predict.c: `trove predict MODEL INPUT [-o OUTPUT] [--proba|--decision|--transform]`:
 * run a model on a CSV or .npy batch (the .npy reader treats its input as hostile). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "io_table.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: trove predict MODEL INPUT [-o OUTPUT] [--proba | --decision | --transform]\n"
            "                     [--key NAME.key | --key-env VAR | --passphrase |\n"
            "                      --passphrase-fd N | --passphrase-env VAR]\n"
            "\n"
            "Run MODEL (a trove file with a model kind) on INPUT and write one row per input row.\n"
            "INPUT: .npy (float64/float32/int, 2-D C or Fortran order) or CSV (comma-separated,\n"
            "an optional header row whose names are matched against the model's feature names;\n"
            "empty fields and 'nan' are missing values; a text column is read where the model\n"
            "takes text, e.g. an encoder's categories). INPUT '-' reads CSV from stdin.\n"
            "OUTPUT: .npy (float64) or CSV (default: CSV on stdout). Classifiers print labels;\n"
            "--proba prints class probabilities, --decision the decision function, --transform\n"
            "the output of a transformer (scaler, imputer, encoder, pipeline of those).\n"
            "An encrypted MODEL (trove encrypt, convert --encrypt, fit --encrypt) is decrypted\n"
            "into private memory with the key or passphrase given as for trove decrypt; its\n"
            "plaintext never touches the disk.\n"
            "\nexit codes: 0 ok, 1 bad model or input, 2 usage, 3 i/o, 4 encrypted content\n"
            "altered, 6 wrong key or passphrase (or none given for an encrypted model).\n");
}

int cli_cmd_predict(int argc, char **argv)
{
    const char *model_path = NULL, *in_path = NULL, *out_path = NULL;
    trove_model_op op = TROVE_MODEL_PREDICT;
    int op_set = 0;
    cli_secret_args sa = {0};
    for (int i = 1; i < argc; i++) {
        int r;
        if (cli_is_help(argv[i])) {
            usage(stdout);
            return CLI_OK;
        } else if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) {
            if (++i >= argc) {
                fprintf(stderr, "trove predict: -o needs a file name\n");
                return CLI_USAGE;
            }
            out_path = argv[i];
        } else if (!strcmp(argv[i], "--proba")) {
            op = TROVE_MODEL_PROBA;
            op_set++;
        } else if (!strcmp(argv[i], "--decision")) {
            op = TROVE_MODEL_DECISION;
            op_set++;
        } else if (!strcmp(argv[i], "--transform")) {
            op = TROVE_MODEL_TRANSFORM;
            op_set++;
        } else if ((r = cli_secret_option(argc, argv, &i, &sa)) != 0) {
            if (r < 0)
                return CLI_USAGE;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "trove predict: unknown option '%s'\n", argv[i]);
            return CLI_USAGE;
        } else if (!model_path) {
            model_path = argv[i];
        } else if (!in_path) {
            in_path = argv[i];
        } else {
            fprintf(stderr, "trove predict: too many arguments\n");
            return CLI_USAGE;
        }
    }
    if (!model_path || !in_path || op_set > 1) {
        usage(stderr);
        return CLI_USAGE;
    }
    trove_error err = {0};
    trove_file *f = NULL;
    trove_model *m = NULL;
    cli_data in = {0};
    char msg[512];
    double *out = NULL;
    /* the whole model is read at bind: map it populated (one fault pass, not one per page) */
    trove_open_options oo = TROVE_OPEN_OPTIONS_INIT;
    oo.flags = TROVE_OPEN_POPULATE;
    trove_secret *secret = NULL;
    if (sa.key_file || sa.key_env || cli_secret_has_passphrase(&sa)) {
        int code = cli_secret_load(&sa, 0, "predict", &secret);
        if (code)
            return code;
    }
    /* plain or encrypted (decrypted into wiped memory: trove_open_encrypted) */
    trove_trust_options trust = TROVE_TRUST_OPTIONS_INIT;
    trust.secret = secret;
    int rc = trove_open_trusted(&f, model_path, &oo, &trust, NULL, &err);
    trove_secret_free(secret);
    if (rc) {
        cli_report("predict", model_path, &err);
        return rc == TROVE_E_DECRYPT ? CLI_CHECKSUM : cli_exit_code(rc);
    }
    rc = trove_model_open(&m, f, NULL, &err);
    trove_close(f); /* the model copied what it needs */
    if (rc)
        return cli_report("predict", model_path, &err);
    int ex = CLI_OK;
    if (!op_set && !trove_model_n_outputs(m, TROVE_MODEL_PREDICT) &&
        trove_model_n_outputs(m, TROVE_MODEL_TRANSFORM))
        op = TROVE_MODEL_TRANSFORM; /* a transformer: predict means transform */
    size_t k = trove_model_n_outputs(m, op);
    if (k == 0) {
        fprintf(stderr, "trove predict: %s: this model (kind '%s') does not support %s\n",
                model_path, trove_model_kind(m),
                op == TROVE_MODEL_PROBA ? "--proba" : op == TROVE_MODEL_DECISION ? "--decision"
                : op == TROVE_MODEL_TRANSFORM ? "--transform" : "predict");
        ex = CLI_USAGE;
        goto done;
    }
    size_t nf = trove_model_n_features(m);
    const char **names = calloc(nf ? nf : 1, sizeof(char *));
    int have_names = trove_model_feature_name(m, 0) != NULL;
    for (size_t i = 0; names && i < nf; i++)
        names[i] = trove_model_feature_name(m, i);
    rc = cli_data_read(in_path, &in, msg, sizeof msg);
    if (rc == 0)
        rc = cli_data_select_model(&in, nf, have_names ? names : NULL, m, msg, sizeof msg);
    free(names);
    if (rc) {
        fprintf(stderr, "trove predict: %s: %s\n", in_path, msg);
        ex = rc;
        goto done;
    }
    if (in.rows && k > SIZE_MAX / sizeof(double) / in.rows) {
        fprintf(stderr, "trove predict: %s: output too large\n", in_path);
        ex = CLI_FAIL;
        goto done;
    }
    out = malloc((in.rows * k + 1) * sizeof(double));
    if (!out) {
        fprintf(stderr, "trove predict: out of memory\n");
        ex = CLI_FAIL;
        goto done;
    }
    rc = trove_model_run(m, op, TROVE_FLOAT64, in.data, in.rows, in.cols, out, in.rows * k, &err);
    if (rc) {
        ex = cli_report("predict", in_path, &err);
        goto done;
    }
    /* label output: class labels for classifiers' predict */
    int labels = op == TROVE_MODEL_PREDICT && trove_model_is_classifier(m);
    ex = cli_data_write(out_path, m, out, in.rows, k, op, labels, msg, sizeof msg);
    if (ex)
        fprintf(stderr, "trove predict: %s: %s\n", out_path ? out_path : "stdout", msg);
done:
    free(out);
    cli_data_free(&in);
    trove_model_free(m);
    return ex;
}
