/* save_model.c: example: fit two small models on the iris measurements in plain C and save them,
 * with their training data and metadata, in one trove file.
 *
 *   regression/coef, regression/intercept   least squares (optionally ridge):
 *                                           petal_width ~ sepal_length + sepal_width + petal_length
 *   centroid/means                          nearest-centroid classifier: per-species feature means
 *   data/features, data/species             the training data (stored zstd-compressed)
 *
 * usage: save_model [--ridge LAMBDA] DATA.csv OUT.trove
 * DATA.csv: a header line, then rows "sepal_length,sepal_width,petal_length,petal_width,species"
 * (examples/data/iris.csv). The output is deterministic: no timestamps. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trove.h"

#define MAX_ROWS 100000
#define NFEAT 4     /* columns of the csv */
#define NX 3        /* regression inputs: the first three columns */
#define NCLASS 3

static const char *feature_names[NFEAT] = {"sepal_length", "sepal_width", "petal_length",
                                           "petal_width"};
static const char *class_names[NCLASS] = {"setosa", "versicolor", "virginica"};

typedef struct dataset {
    size_t n;
    float *x;        /* n * NFEAT */
    uint8_t *y;      /* n species indices */
} dataset;

/* Read the csv; returns 0 or prints a message naming the file and line and returns -1. */
static int load_csv(const char *path, dataset *d)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "save_model: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[512];
    size_t lineno = 0, cap = 0;
    int rc = 0;
    memset(d, 0, sizeof *d);
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (lineno == 1 || line[0] == '\n')
            continue; /* header, blank line */
        if (d->n == MAX_ROWS) {
            fprintf(stderr, "save_model: %s: more than %d rows\n", path, MAX_ROWS);
            rc = -1;
            break;
        }
        if (d->n == cap) {
            cap = cap ? 2 * cap : 256;
            float *nx = realloc(d->x, cap * NFEAT * sizeof *nx);
            if (nx)
                d->x = nx;
            uint8_t *ny = realloc(d->y, cap);
            if (ny)
                d->y = ny;
            if (!nx || !ny) {
                fprintf(stderr, "save_model: out of memory\n");
                rc = -1;
                break;
            }
        }
        char *p = line, *end;
        for (int j = 0; j < NFEAT; j++) {
            errno = 0;
            double v = strtod(p, &end);
            if (end == p || *end != ',' || errno || !isfinite(v)) {
                fprintf(stderr, "save_model: %s:%zu: column %d is not a number\n", path, lineno,
                        j + 1);
                rc = -1;
                goto done;
            }
            d->x[d->n * NFEAT + j] = (float)v;
            p = end + 1;
        }
        p[strcspn(p, "\r\n")] = '\0';
        int cls = -1;
        for (int c = 0; c < NCLASS; c++)
            if (!strcmp(p, class_names[c]))
                cls = c;
        if (cls < 0) {
            fprintf(stderr, "save_model: %s:%zu: unknown species '%s'\n", path, lineno, p);
            rc = -1;
            goto done;
        }
        d->y[d->n++] = (uint8_t)cls;
    }
    if (rc == 0 && d->n < NX + 1) {
        fprintf(stderr, "save_model: %s: %zu rows: too few to fit %d coefficients\n", path, d->n,
                NX + 1);
        rc = -1;
    }
done:
    fclose(f);
    return rc;
}

/* Ridge regression of column NX on columns 0..NX-1, on centered data so that the intercept is
 * not penalized: (Xc'Xc + lambda I) b = Xc'yc, solved by Gaussian elimination with partial
 * pivoting. Returns 0, or -1 when the system is singular. */
static int fit_linear(const dataset *d, double lambda, double coef[NX], double *intercept,
                      double *r2, double *rmse)
{
    double mx[NX] = {0}, my = 0;
    for (size_t i = 0; i < d->n; i++) {
        for (int j = 0; j < NX; j++)
            mx[j] += d->x[i * NFEAT + j];
        my += d->x[i * NFEAT + NX];
    }
    for (int j = 0; j < NX; j++)
        mx[j] /= (double)d->n;
    my /= (double)d->n;

    double a[NX][NX + 1] = {{0}};
    for (size_t i = 0; i < d->n; i++) {
        double xc[NX], yc = d->x[i * NFEAT + NX] - my;
        for (int j = 0; j < NX; j++)
            xc[j] = d->x[i * NFEAT + j] - mx[j];
        for (int j = 0; j < NX; j++) {
            for (int k = 0; k < NX; k++)
                a[j][k] += xc[j] * xc[k];
            a[j][NX] += xc[j] * yc;
        }
    }
    for (int j = 0; j < NX; j++)
        a[j][j] += lambda;
    for (int col = 0; col < NX; col++) {
        int piv = col;
        for (int r = col + 1; r < NX; r++)
            if (fabs(a[r][col]) > fabs(a[piv][col]))
                piv = r;
        if (fabs(a[piv][col]) < 1e-12)
            return -1;
        for (int k = 0; k <= NX; k++) {
            double t = a[col][k];
            a[col][k] = a[piv][k];
            a[piv][k] = t;
        }
        for (int r = 0; r < NX; r++) {
            if (r == col)
                continue;
            double f = a[r][col] / a[col][col];
            for (int k = col; k <= NX; k++)
                a[r][k] -= f * a[col][k];
        }
    }
    *intercept = my;
    for (int j = 0; j < NX; j++) {
        coef[j] = a[j][NX] / a[j][j];
        *intercept -= coef[j] * mx[j];
    }
    double ss_res = 0, ss_tot = 0;
    for (size_t i = 0; i < d->n; i++) {
        double pred = *intercept, y = d->x[i * NFEAT + NX];
        for (int j = 0; j < NX; j++)
            pred += coef[j] * d->x[i * NFEAT + j];
        ss_res += (y - pred) * (y - pred);
        ss_tot += (y - my) * (y - my);
    }
    *r2 = 1 - ss_res / ss_tot;
    *rmse = sqrt(ss_res / (double)d->n);
    return 0;
}

/* Per-class means of the four features; returns the training accuracy of "nearest mean". */
static double fit_centroids(const dataset *d, float means[NCLASS][NFEAT])
{
    double sum[NCLASS][NFEAT] = {{0}};
    size_t cnt[NCLASS] = {0};
    for (size_t i = 0; i < d->n; i++) {
        cnt[d->y[i]]++;
        for (int j = 0; j < NFEAT; j++)
            sum[d->y[i]][j] += d->x[i * NFEAT + j];
    }
    for (int c = 0; c < NCLASS; c++)
        for (int j = 0; j < NFEAT; j++)
            means[c][j] = cnt[c] ? (float)(sum[c][j] / (double)cnt[c]) : 0.0f;
    size_t right = 0;
    for (size_t i = 0; i < d->n; i++) {
        int best = 0;
        double bestd = INFINITY;
        for (int c = 0; c < NCLASS; c++) {
            double dist = 0;
            for (int j = 0; j < NFEAT; j++) {
                double t = d->x[i * NFEAT + j] - means[c][j];
                dist += t * t;
            }
            if (dist < bestd)
                bestd = dist, best = c;
        }
        right += best == d->y[i];
    }
    return (double)right / (double)d->n;
}

/* Build the metadata tree; NULL on allocation failure. */
static trove_value *make_metadata(size_t rows, double lambda, double r2, double rmse, double acc)
{
    trove_value *m = trove_value_map(NULL), *producer = trove_value_map(NULL);
    trove_value *inputs = trove_value_array(NULL), *classes = trove_value_array(NULL);
    trove_value *metrics = trove_value_map(NULL), *training = trove_value_map(NULL);
    int rc = m && producer && inputs && classes && metrics && training ? 0 : TROVE_E_NOMEM;
    for (int j = 0; j < NFEAT && rc == 0; j++)
        rc = trove_value_array_take(inputs, trove_value_cstring(NULL, feature_names[j]));
    for (int c = 0; c < NCLASS && rc == 0; c++)
        rc = trove_value_array_take(classes, trove_value_cstring(NULL, class_names[c]));
#define SET(map, key, val)                                                                     \
    do {                                                                                       \
        trove_value *v_ = (val);                                                               \
        if (rc == 0)                                                                           \
            rc = trove_value_map_set(map, key, v_);                                            \
        else                                                                                   \
            trove_value_free(v_);                                                              \
    } while (0)
    SET(producer, "name", trove_value_cstring(NULL, "trove examples/save_model"));
    SET(producer, "version", trove_value_cstring(NULL, trove_version_string()));
    SET(metrics, "regression_r2", trove_value_float(NULL, r2));
    SET(metrics, "regression_rmse_cm", trove_value_float(NULL, rmse));
    SET(metrics, "centroid_accuracy", trove_value_float(NULL, acc));
    SET(training, "data", trove_value_cstring(NULL, "iris measurements (Anderson; Fisher 1936)"));
    SET(training, "rows", trove_value_uint(NULL, rows));
    SET(training, "ridge_lambda", trove_value_float(NULL, lambda));
    SET(m, "producer", producer);
    producer = NULL;
    SET(m, "description",
        trove_value_cstring(NULL, "Iris: least-squares regression of petal width on the other "
                                  "three measurements, and a nearest-centroid species "
                                  "classifier over all four."));
    SET(m, "license", trove_value_cstring(NULL, "CC0-1.0"));
    SET(m, "feature_names", inputs);
    inputs = NULL;
    SET(m, "classes", classes);
    classes = NULL;
    SET(m, "target", trove_value_cstring(NULL, feature_names[NX]));
    SET(m, "metrics", metrics);
    metrics = NULL;
    SET(m, "training", training);
    training = NULL;
#undef SET
    trove_value_free(producer);
    trove_value_free(inputs);
    trove_value_free(classes);
    trove_value_free(metrics);
    trove_value_free(training);
    if (rc) {
        trove_value_free(m);
        return NULL;
    }
    return m;
}

int main(int argc, char **argv)
{
    double lambda = 0;
    int argi = 1;
    if (argc > 2 && !strcmp(argv[1], "--ridge")) {
        char *end;
        lambda = strtod(argv[2], &end);
        if (*end || !(lambda >= 0) || !isfinite(lambda)) {
            fprintf(stderr, "save_model: --ridge: '%s' is not a non-negative number\n", argv[2]);
            return 2;
        }
        argi = 3;
    }
    if (argc - argi != 2) {
        fprintf(stderr, "usage: save_model [--ridge LAMBDA] DATA.csv OUT.trove\n");
        return 2;
    }
    const char *csv = argv[argi], *out = argv[argi + 1];
    dataset d;
    if (load_csv(csv, &d) != 0) {
        free(d.x);
        free(d.y);
        return 1;
    }
    double coef[NX], intercept, r2, rmse;
    float means[NCLASS][NFEAT];
    if (fit_linear(&d, lambda, coef, &intercept, &r2, &rmse) != 0) {
        fprintf(stderr, "save_model: %s: the features are collinear: cannot fit\n", csv);
        free(d.x);
        free(d.y);
        return 1;
    }
    double acc = fit_centroids(&d, means);

    trove_error err = {0};
    trove_write_options wo = TROVE_WRITE_OPTIONS_INIT;
    wo.flags = TROVE_WRITE_DIGESTS; /* lets `trove inspect` show the digest without hashing */
    trove_writer *w = NULL;
    int rc = trove_writer_open(&w, out, &wo, &err);
    if (rc == 0) {
        trove_value *meta = make_metadata(d.n, lambda, r2, rmse, acc);
        rc = meta ? trove_writer_set_metadata(w, meta, &err) : TROVE_E_NOMEM;
    }
    uint64_t s_coef[1] = {NX}, s_means[2] = {NCLASS, NFEAT}, s_x[2] = {d.n, NFEAT}, s_y[1] = {d.n};
    trove_tensor_spec specs[] = {
        {"regression/coef", TROVE_FLOAT64, 1, s_coef, 0, 0},
        {"regression/intercept", TROVE_FLOAT64, 0, NULL, 0, 0},
        {"centroid/means", TROVE_FLOAT32, 2, s_means, 0, 0},
        {"data/features", TROVE_FLOAT32, 2, s_x, TROVE_TENSOR_ZSTD, 0},
        {"data/species", TROVE_UINT8, 1, s_y, TROVE_TENSOR_ZSTD, 0},
    };
    const void *data[] = {coef, &intercept, means, d.x, d.y};
    for (size_t i = 0; rc == 0 && i < sizeof specs / sizeof specs[0]; i++)
        rc = trove_writer_add(w, &specs[i], data[i], &err);
    if (rc == 0)
        rc = trove_writer_commit(w, &err);
    trove_writer_free(w);
    free(d.x);
    free(d.y);
    if (rc) {
        fprintf(stderr, "save_model: %s: %s\n", out, err.code ? err.message : trove_strerror(rc));
        return 1;
    }
    printf("wrote %s: petal_width = %.4f + %.4f*sepal_length + %.4f*sepal_width + "
           "%.4f*petal_length (R^2 %.4f); nearest-centroid accuracy %.1f%%\n",
           out, intercept, coef[0], coef[1], coef[2], r2, 100 * acc);
    return 0;
}
