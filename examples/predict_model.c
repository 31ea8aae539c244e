/* predict_model.c: the C API of model kinds in 60 lines: open a trove file, bind its model,
 * predict one row given on the command line. Usage: predict_model MODEL.trove X1 X2 ... */
#include <stdio.h>
#include <stdlib.h>

#include "trove.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: predict_model MODEL.trove X1 X2 ...\n");
        return 2;
    }
    trove_error err;
    trove_file *f = NULL;
    trove_model *m = NULL;
    if (trove_open(&f, argv[1], NULL, &err) != TROVE_OK ||
        trove_model_open(&m, f, NULL, &err) != TROVE_OK) {
        fprintf(stderr, "predict_model: %s: %s\n", argv[1], err.message);
        trove_close(f);
        return 1;
    }
    trove_close(f); /* the model keeps what it needs */
    size_t nf = (size_t)(argc - 2);
    double *x = malloc(nf * sizeof(double)), out[256];
    for (size_t i = 0; x && i < nf; i++)
        x[i] = strtod(argv[2 + i], NULL);
    int rc = 1;
    if (x && trove_model_predict(m, TROVE_FLOAT64, x, 1, nf, out, 256, &err) == TROVE_OK) {
        printf("kind %s, %zu features: prediction", trove_model_kind(m), nf);
        size_t k = trove_model_n_outputs(m, TROVE_MODEL_PREDICT);
        for (size_t j = 0; j < k; j++)
            printf(" %.17g", out[j]);
        if (trove_model_is_classifier(m)) {
            const char *label;
            if (trove_value_get_string(trove_model_class(m, (size_t)out[0]), &label, NULL) ==
                TROVE_OK)
                printf(" (%s)", label);
            size_t nc = trove_model_n_outputs(m, TROVE_MODEL_PROBA);
            if (nc && nc <= 256 &&
                trove_model_predict_proba(m, TROVE_FLOAT64, x, 1, nf, out, 256, &err) == 0) {
                printf(", probabilities");
                for (size_t j = 0; j < nc; j++)
                    printf(" %.6f", out[j]);
            }
        }
        printf("\n");
        rc = 0;
    } else if (x) {
        fprintf(stderr, "predict_model: %s\n", err.message);
    }
    free(x);
    trove_model_free(m);
    return rc;
}
