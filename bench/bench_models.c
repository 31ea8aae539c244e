/* bench_models.c: warm load time and single-thread predict throughput of a trove model, for
 * bench/bench_models.py. Usage: bench_models MODEL.trove X.f64 ROWS COLS */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "trove.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* CPU time: robust on a shared VM */
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: bench_models MODEL X.f64 ROWS COLS\n");
        return 2;
    }
    size_t rows = strtoull(argv[3], NULL, 10), cols = strtoull(argv[4], NULL, 10);
    double *X = malloc(rows * cols * sizeof(double));
    FILE *fp = fopen(argv[2], "rb");
    if (!X || !fp || fread(X, sizeof(double), rows * cols, fp) != rows * cols) {
        fprintf(stderr, "cannot read %s\n", argv[2]);
        return 1;
    }
    fclose(fp);
    trove_error err;
    double t[41];
    trove_model *m = NULL;
    for (int i = 0; i < 41; i++) { /* warm load: open + validate + bind */
        trove_file *f = NULL;
        double t0 = now();
        if (trove_open(&f, argv[1], NULL, &err) || trove_model_open(&m, f, NULL, &err)) {
            fprintf(stderr, "%s\n", err.message);
            return 1;
        }
        trove_close(f);
        t[i] = now() - t0;
        if (i < 40)
            trove_model_free(m);
    }
    qsort(t, 41, sizeof(double), cmp);
    double load = t[20];
    size_t k = trove_model_n_outputs(m, TROVE_MODEL_PREDICT);
    double *out = malloc(rows * k * sizeof(double));
    double one_t[21];
    for (int i = 0; i < 21; i++) {
        double t0 = now();
        if (trove_model_predict(m, TROVE_FLOAT64, X, 1, cols, out, k, &err))
            return 1;
        one_t[i] = now() - t0;
    }
    qsort(one_t, 21, sizeof(double), cmp);
    double pt[5];
    for (int i = 0; i < 5; i++) {
        double t0 = now();
        if (trove_model_predict(m, TROVE_FLOAT64, X, rows, cols, out, rows * k, &err)) {
            fprintf(stderr, "%s\n", err.message);
            return 1;
        }
        pt[i] = now() - t0;
    }
    qsort(pt, 5, sizeof(double), cmp);
    printf("{\"load_s\": %.9g, \"predict1_s\": %.9g, \"rows_per_s\": %.6g}\n", load, one_t[10],
           (double)rows / pt[2]);
    trove_model_free(m);
    free(out);
    free(X);
    return 0;
}
