/* cmd_fit.c: `trove fit linear|ridge|logistic DATA.csv --target COLUMN -o MODEL`: fit in C
 * (least squares and ridge by Cholesky; L2 logistic regression by Newton's method) and save the
 * model as a trove file of kind "linear" (docs/MODELS.md section 5). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "io_table.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: trove fit linear|ridge|logistic DATA.csv --target COLUMN -o MODEL\n"
            "                 [--alpha A] [--C C] [--encrypt KEY-OPTIONS]\n"
            "\n"
            "Fit a model in C on DATA (CSV with a header row, or .npy with --target INDEX) and\n"
            "save it as a trove model that `trove predict` and trove.sklearn.load can use.\n"
            "  linear    ordinary least squares with intercept (sklearn LinearRegression)\n"
            "  ridge     L2-penalised least squares, --alpha (default 1.0) (sklearn Ridge)\n"
            "  logistic  L2-penalised logistic regression, --C (default 1.0), binary or\n"
            "            multinomial (sklearn LogisticRegression defaults), solved by Newton\n"
            "COLUMN is a header name or a 0-based column index; every other column is a\n"
            "feature.\n"
            CLI_ENCRYPT_USAGE
            "The encrypted model is written in one pass, its plaintext never on disk; trove\n"
            "predict, decrypt and verify open it with the same key options.\n"
            "\nexit codes: 0 ok, 1 cannot fit (singular, no convergence, bad data), 2 usage,\n"
            "3 i/o, 6 bad key file.\n");
}

/* In-place Cholesky of the n x n SPD matrix A (lower triangle); 0 on success. */
static int cholesky(double *A, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        double s = A[j * n + j];
        for (size_t k = 0; k < j; k++)
            s -= A[j * n + k] * A[j * n + k];
        if (!(s > 0))
            return -1;
        double d = sqrt(s);
        A[j * n + j] = d;
        for (size_t i = j + 1; i < n; i++) {
            double t = A[i * n + j];
            for (size_t k = 0; k < j; k++)
                t -= A[i * n + k] * A[j * n + k];
            A[i * n + j] = t / d;
        }
    }
    return 0;
}

/* Solve L L^T x = b in place (b becomes x). */
static void chol_solve(const double *L, size_t n, double *b)
{
    for (size_t i = 0; i < n; i++) {
        double s = b[i];
        for (size_t k = 0; k < i; k++)
            s -= L[i * n + k] * b[k];
        b[i] = s / L[i * n + i];
    }
    for (size_t i = n; i-- > 0;) {
        double s = b[i];
        for (size_t k = i + 1; k < n; k++)
            s -= L[k * n + i] * b[k];
        b[i] = s / L[i * n + i];
    }
}

/* Least squares / ridge with an unpenalised intercept: centre, solve the normal equations. */
static int fit_ls(const double *X, const double *y, size_t n, size_t d, double alpha, double *w,
                  double *b)
{
    double *xm = calloc(d, sizeof(double)), *G = calloc(d * d, sizeof(double));
    if (!xm || !G) {
        free(xm);
        free(G);
        return -2;
    }
    double ym = 0;
    for (size_t i = 0; i < n; i++) {
        ym += y[i];
        for (size_t j = 0; j < d; j++)
            xm[j] += X[i * d + j];
    }
    ym /= (double)n;
    for (size_t j = 0; j < d; j++)
        xm[j] /= (double)n;
    memset(w, 0, d * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        const double *x = X + i * d;
        double yc = y[i] - ym;
        for (size_t j = 0; j < d; j++) {
            double xj = x[j] - xm[j];
            w[j] += xj * yc;
            for (size_t k = 0; k <= j; k++)
                G[j * d + k] += xj * (x[k] - xm[k]);
        }
    }
    for (size_t j = 0; j < d; j++) {
        G[j * d + j] += alpha;
        for (size_t k = 0; k < j; k++)
            G[k * d + j] = G[j * d + k];
    }
    int rc = cholesky(G, d);
    if (rc == 0) {
        chol_solve(G, d, w);
        double s = ym;
        for (size_t j = 0; j < d; j++)
            s -= xm[j] * w[j];
        *b = s;
    }
    free(xm);
    free(G);
    return rc;
}

/* Multinomial (K > 2) or binary (K == 2, one score) L2 logistic regression by damped Newton.
 * Parameters: P = (d + 1) per score, scores S = (K == 2 ? 1 : K); theta[s * P + j], j = d is
 * the intercept (unpenalised). Objective: C * sum_i logloss_i + 0.5 * ||W||^2. */
static double lr_objective(const double *X, const int *yi, size_t n, size_t d, size_t S,
                           double C, const double *th, double *z)
{
    const size_t P = d + 1;
    double f = 0;
    for (size_t s = 0; s < S; s++)
        for (size_t j = 0; j < d; j++)
            f += 0.5 * th[s * P + j] * th[s * P + j];
    double loss = 0;
    for (size_t i = 0; i < n; i++) {
        const double *x = X + i * d;
        for (size_t s = 0; s < S; s++) {
            double t = th[s * P + d];
            for (size_t j = 0; j < d; j++)
                t += th[s * P + j] * x[j];
            z[s] = t;
        }
        if (S == 1) { /* log(1 + exp(-m)) with m = +-z, computed stably */
            double m = yi[i] ? z[0] : -z[0];
            loss += m > 0 ? log1p(exp(-m)) : -m + log1p(exp(m));
        } else {
            double mx = z[0];
            for (size_t s = 1; s < S; s++)
                mx = z[s] > mx ? z[s] : mx;
            double se = 0;
            for (size_t s = 0; s < S; s++)
                se += exp(z[s] - mx);
            loss += mx + log(se) - z[yi[i]];
        }
    }
    return f + C * loss;
}

static int fit_logistic(const double *X, const int *yi, size_t n, size_t d, size_t K, double C,
                        double *th, int *iters)
{
    const size_t S = K == 2 ? 1 : K, P = d + 1, M = S * P;
    double *g = calloc(M, sizeof(double)), *H = calloc(M * M, sizeof(double));
    double *z = calloc(S, sizeof(double)), *p = calloc(S, sizeof(double));
    double *trial = calloc(M, sizeof(double)), *xa = calloc(P, sizeof(double));
    int rc = -2;
    if (!g || !H || !z || !p || !trial || !xa)
        goto out;
    memset(th, 0, M * sizeof(double));
    double f = lr_objective(X, yi, n, d, S, C, th, z);
    rc = -1;
    for (int it = 1; it <= 100; it++) {
        memset(g, 0, M * sizeof(double));
        memset(H, 0, M * M * sizeof(double));
        for (size_t s = 0; s < S; s++)
            for (size_t j = 0; j < d; j++) {
                g[s * P + j] = th[s * P + j];
                H[(s * P + j) * M + s * P + j] = 1.0;
            }
        for (size_t i = 0; i < n; i++) {
            const double *x = X + i * d;
            memcpy(xa, x, d * sizeof(double));
            xa[d] = 1.0;
            for (size_t s = 0; s < S; s++) {
                double t = 0;
                for (size_t j = 0; j < P; j++)
                    t += th[s * P + j] * xa[j];
                z[s] = t;
            }
            if (S == 1) {
                p[0] = 1.0 / (1.0 + exp(-z[0]));
            } else {
                double mx = z[0], se = 0;
                for (size_t s = 1; s < S; s++)
                    mx = z[s] > mx ? z[s] : mx;
                for (size_t s = 0; s < S; s++)
                    se += (p[s] = exp(z[s] - mx));
                for (size_t s = 0; s < S; s++)
                    p[s] /= se;
            }
            for (size_t s = 0; s < S; s++) {
                double r = p[s] - (S == 1 ? (double)(yi[i] == 1) : (double)(yi[i] == (int)s));
                for (size_t j = 0; j < P; j++)
                    g[s * P + j] += C * r * xa[j];
                for (size_t t2 = 0; t2 <= s; t2++) {
                    double w = C * (S == 1 ? p[0] * (1 - p[0])
                                           : (s == t2 ? p[s] * (1 - p[s]) : -p[s] * p[t2]));
                    for (size_t j = 0; j < P; j++) {
                        double wj = w * xa[j];
                        double *row = H + (s * P + j) * M + t2 * P;
                        for (size_t k = 0; k < P; k++)
                            row[k] += wj * xa[k];
                    }
                }
            }
        }
        double gmax = 0;
        for (size_t q = 0; q < M; q++)
            gmax = fabs(g[q]) > gmax ? fabs(g[q]) : gmax;
        *iters = it;
        if (gmax < 1e-10 * (1.0 + C * (double)n)) {
            rc = 0;
            break;
        }
        /* symmetrise from the lower blocks; a tiny ridge on the intercepts makes the
         * multinomial Hessian definite (the objective is flat along b_k += c) */
        for (size_t a = 0; a < M; a++)
            for (size_t b = a + 1; b < M; b++)
                H[a * M + b] = H[b * M + a];
        for (size_t s = 0; s < S; s++)
            H[(s * P + d) * M + s * P + d] += 1e-10 * (1.0 + C * (double)n);
        if (cholesky(H, M))
            goto out;
        chol_solve(H, M, g); /* g = Newton step */
        double step = 1.0, fn = f;
        for (int ls = 0; ls < 40; ls++) {
            for (size_t q = 0; q < M; q++)
                trial[q] = th[q] - step * g[q];
            fn = lr_objective(X, yi, n, d, S, C, trial, z);
            if (fn <= f)
                break;
            step *= 0.5;
        }
        memcpy(th, trial, M * sizeof(double));
        if (fabs(f - fn) <= 1e-15 * fabs(f) && step < 1.0) {
            f = fn;
            rc = 0;
            break;
        }
        f = fn;
    }
    if (rc == 0 && S > 1) { /* centre the intercepts, as lbfgs started from 0 leaves them */
        double mean = 0;
        for (size_t s = 0; s < S; s++)
            mean += th[s * P + d];
        mean /= (double)S;
        for (size_t s = 0; s < S; s++)
            th[s * P + d] -= mean;
    }
out:
    free(g);
    free(H);
    free(z);
    free(p);
    free(trial);
    free(xa);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int mset(trove_value *m, const char *k, trove_value *v)
{
    return v ? trove_value_map_set(m, k, v) : TROVE_E_NOMEM;
}

/* What the encrypted write's fill callback gives the writer. */
typedef struct fit_out {
    trove_value *meta; /* taken by the writer */
    const trove_tensor_spec *cs, *is;
    const double *w, *b;
} fit_out;

static int fill_model(trove_writer *wr, void *ctx, trove_error *err)
{
    fit_out *o = ctx;
    trove_value *m = o->meta;
    o->meta = NULL; /* set_metadata takes it on every path */
    int rc = trove_writer_set_metadata(wr, m, err);
    if (rc == TROVE_OK)
        rc = trove_writer_add(wr, o->cs, o->w, err);
    if (rc == TROVE_OK)
        rc = trove_writer_add(wr, o->is, o->b, err);
    return rc;
}

int cli_cmd_fit(int argc, char **argv)
{
    const char *what = NULL, *data = NULL, *target = NULL, *out_path = NULL;
    double alpha = 1.0, C = 1.0;
    cli_encrypt_args enc = CLI_ENCRYPT_ARGS_INIT;
    trove_secret *secret = NULL;
    for (int i = 1; i < argc; i++) {
        int r;
        if (cli_is_help(argv[i])) {
            usage(stdout);
            return CLI_OK;
        }
        if ((!strcmp(argv[i], "--target") || !strcmp(argv[i], "-o") ||
             !strcmp(argv[i], "--alpha") || !strcmp(argv[i], "--C")) && i + 1 >= argc) {
            fprintf(stderr, "trove fit: %s needs a value\n", argv[i]);
            return CLI_USAGE;
        }
        if (!strcmp(argv[i], "--target"))
            target = argv[++i];
        else if (!strcmp(argv[i], "-o"))
            out_path = argv[++i];
        else if (!strcmp(argv[i], "--alpha") || !strcmp(argv[i], "--C")) {
            char *end;
            double v = strtod(argv[i + 1], &end);
            if (*end || !(v > 0) || !isfinite(v)) {
                fprintf(stderr, "trove fit: %s must be a positive number\n", argv[i]);
                return CLI_USAGE;
            }
            if (argv[i][2] == 'a')
                alpha = v;
            else
                C = v;
            i++;
        } else if ((r = cli_encrypt_option(argc, argv, &i, "fit", &enc)) != 0) {
            if (r < 0)
                return CLI_USAGE;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "trove fit: unknown option '%s'\n", argv[i]);
            return CLI_USAGE;
        } else if (!what)
            what = argv[i];
        else if (!data)
            data = argv[i];
        else {
            fprintf(stderr, "trove fit: too many arguments\n");
            return CLI_USAGE;
        }
    }
    if (!what || !data || !target || !out_path) {
        usage(stderr);
        return CLI_USAGE;
    }
    int kind = !strcmp(what, "linear") ? 0 : !strcmp(what, "ridge") ? 1
               : !strcmp(what, "logistic") ? 2 : -1;
    if (kind < 0) {
        fprintf(stderr, "trove fit: unknown model '%s' (linear, ridge or logistic)\n", what);
        return CLI_USAGE;
    }
    /* the secret first: a bad key option fails before any work */
    int ex = cli_encrypt_secret(&enc, "fit", &secret);
    if (ex)
        return ex;
    char msg[512];
    cli_data t;
    ex = cli_data_read(data, &t, msg, sizeof msg);
    if (ex) {
        fprintf(stderr, "trove fit: %s: %s\n", data, msg);
        trove_secret_free(secret);
        return ex;
    }
    size_t tc = SIZE_MAX;
    for (size_t j = 0; t.names && j < t.cols; j++)
        if (!strcmp(t.names[j], target))
            tc = j;
    if (tc == SIZE_MAX) {
        char *end;
        unsigned long v = strtoul(target, &end, 10);
        if (!*end && *target && v < t.cols)
            tc = v;
    }
    double *X = NULL, *y = NULL, *w = NULL, *classes = NULL;
    const char **sclasses = NULL;
    int *yi = NULL;
    trove_value *meta = NULL;
    trove_writer *wr = NULL;
    size_t n = t.rows, d = t.cols - 1, K = 0, S = 1;
    if (tc == SIZE_MAX) {
        fprintf(stderr, "trove fit: %s: no column '%s'\n", data, target);
        ex = CLI_USAGE;
        goto done;
    }
    if (d == 0 || n < 2) {
        fprintf(stderr, "trove fit: %s: need at least one feature column and two rows\n", data);
        ex = CLI_FAIL;
        goto done;
    }
    const char *const *lab = t.text ? (const char *const *)t.text[tc] : NULL;
    for (size_t j = 0; t.text && j < t.cols; j++)
        if (j != tc && t.text[j]) {
            fprintf(stderr, "trove fit: %s: feature column '%s' holds text\n", data,
                    t.names ? t.names[j] : "?");
            ex = CLI_FAIL;
            goto done;
        }
    if (lab && kind < 2) {
        fprintf(stderr, "trove fit: %s: target '%s' holds text: regression needs numbers (use "
                        "logistic for labels)\n", data, target);
        ex = CLI_FAIL;
        goto done;
    }
    X = malloc(n * d * sizeof(double));
    y = malloc(n * sizeof(double));
    sclasses = malloc(n * sizeof(char *));
    yi = malloc(n * sizeof(int));
    classes = malloc(n * sizeof(double));
    if (!X || !y || !yi || !classes || !sclasses) {
        fprintf(stderr, "trove fit: out of memory\n");
        ex = CLI_FAIL;
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0, k = 0; j < t.cols; j++) {
            double v = t.data[i * t.cols + j];
            if (isnan(v) && !(j == tc && lab)) {
                fprintf(stderr, "trove fit: %s: row %zu, column %zu is missing (NaN)\n", data,
                        i + 1, j);
                ex = CLI_FAIL;
                goto done;
            }
            if (j == tc)
                y[i] = v;
            else
                X[i * d + k++] = v;
        }
    }
    double b[1024];
    int iters = 0;
    if (kind < 2) {
        w = malloc(d * sizeof(double));
        if (!w || fit_ls(X, y, n, d, kind ? alpha : 0.0, w, &b[0])) {
            fprintf(stderr, "trove fit: %s: X^T X is singular (collinear or constant "
                            "features): use ridge\n", data);
            ex = CLI_FAIL;
            goto done;
        }
    } else {
        /* classes: sorted distinct target values (numbers, or strings for a text column) */
        if (lab) {
            memcpy(sclasses, lab, n * sizeof(char *));
            qsort(sclasses, n, sizeof(char *), cmp_str);
            for (size_t i = 0; i < n; i++)
                if (i == 0 || strcmp(sclasses[i], sclasses[K - 1]))
                    sclasses[K++] = sclasses[i];
        } else {
            memcpy(classes, y, n * sizeof(double));
            qsort(classes, n, sizeof(double), cmp_double);
            for (size_t i = 0; i < n; i++)
                if (i == 0 || classes[i] != classes[K - 1])
                    classes[K++] = classes[i];
        }
        if (K < 2 || K > 1000) {
            fprintf(stderr, "trove fit: %s: logistic needs 2..1000 classes in '%s', found %zu\n",
                    data, target, K);
            ex = CLI_FAIL;
            goto done;
        }
        for (size_t i = 0; i < n; i++) {
            size_t lo = 0, hi = K;
            while (lo + 1 < hi) {
                size_t mid = (lo + hi) / 2;
                if (lab ? strcmp(sclasses[mid], lab[i]) <= 0 : classes[mid] <= y[i])
                    lo = mid;
                else
                    hi = mid;
            }
            yi[i] = (int)lo;
        }
        S = K == 2 ? 1 : K;
        w = malloc(S * (d + 1) * sizeof(double));
        if (!w) {
            fprintf(stderr, "trove fit: out of memory\n");
            ex = CLI_FAIL;
            goto done;
        }
        if (S * (d + 1) > 4096) {
            fprintf(stderr, "trove fit: %zu parameters: too many for Newton's method here\n",
                    S * (d + 1));
            ex = CLI_FAIL;
            goto done;
        }
        if (fit_logistic(X, yi, n, d, K, C, w, &iters)) {
            fprintf(stderr, "trove fit: %s: Newton's method did not converge\n", data);
            ex = CLI_FAIL;
            goto done;
        }
        /* split theta into coef rows and intercepts */
        for (size_t s = 0; s < S; s++)
            b[s] = w[s * (d + 1) + d];
        for (size_t s = 0; s < S; s++)
            memmove(w + s * d, w + s * (d + 1), d * sizeof(double));
    }
    /* metadata */
    meta = trove_value_map(NULL);
    trove_value *cfg = trove_value_map(NULL), *params = trove_value_map(NULL),
                *prod = trove_value_map(NULL), *sig = trove_value_map(NULL),
                *inputs = trove_value_map(NULL);
    int rc = (meta && cfg && params && prod && sig && inputs) ? 0 : TROVE_E_NOMEM;
    static const char *est[] = {"trove.fit.linear", "trove.fit.ridge", "trove.fit.logistic"};
    rc |= mset(cfg, "n_features", trove_value_int(NULL, (int64_t)d));
    rc |= mset(cfg, "task", trove_value_cstring(NULL, kind < 2 ? "regression" : "classification"));
    rc |= mset(cfg, "link", trove_value_cstring(NULL, kind < 2 ? "identity"
                                                      : K == 2 ? "logistic" : "softmax"));
    if (kind == 2) {
        trove_value *cl = trove_value_array(NULL), *cl2 = trove_value_array(NULL);
        for (size_t k = 0; cl && cl2 && lab && k < K; k++) {
            rc |= trove_value_array_take(cl, trove_value_cstring(NULL, sclasses[k]));
            rc |= trove_value_array_take(cl2, trove_value_cstring(NULL, sclasses[k]));
        }
        for (size_t k = 0; cl && cl2 && !lab && k < K; k++) {
            int integral = classes[k] == floor(classes[k]) && fabs(classes[k]) < 9e15;
            rc |= trove_value_array_take(cl, integral ? trove_value_int(NULL, (int64_t)classes[k])
                                                      : trove_value_float(NULL, classes[k]));
            rc |= trove_value_array_take(cl2, integral
                                                  ? trove_value_int(NULL, (int64_t)classes[k])
                                                  : trove_value_float(NULL, classes[k]));
        }
        rc |= mset(cfg, "classes", cl);
        rc |= mset(sig, "classes", cl2);
        rc |= mset(params, "C", trove_value_float(NULL, C));
        rc |= mset(params, "penalty", trove_value_cstring(NULL, "l2"));
        rc |= mset(params, "solver", trove_value_cstring(NULL, "newton"));
        rc |= mset(params, "newton_iterations", trove_value_int(NULL, iters));
    } else if (kind == 1) {
        rc |= mset(params, "alpha", trove_value_float(NULL, alpha));
    }
    rc |= mset(params, "fit_intercept", trove_value_bool(NULL, 1));
    rc |= mset(prod, "name", trove_value_cstring(NULL, "trove"));
    rc |= mset(prod, "version", trove_value_cstring(NULL, trove_version_string()));
    rc |= mset(inputs, "n_features", trove_value_int(NULL, (int64_t)d));
    rc |= mset(inputs, "dtype", trove_value_cstring(NULL, "float64"));
    if (t.names) {
        trove_value *names = trove_value_array(NULL);
        for (size_t j = 0; names && j < t.cols; j++)
            if (j != tc)
                rc |= trove_value_array_take(names, trove_value_cstring(NULL, t.names[j]));
        rc |= mset(inputs, "names", names);
    }
    rc |= mset(sig, "inputs", inputs);
    inputs = NULL;
    char when[32];
    time_t now = time(NULL);
    struct tm tmv;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tmv));
    rc |= mset(meta, "kind", trove_value_cstring(NULL, "linear"));
    rc |= mset(meta, "kind_version", trove_value_int(NULL, 1));
    rc |= mset(meta, "estimator", trove_value_cstring(NULL, est[kind]));
    rc |= mset(meta, "created", trove_value_cstring(NULL, when));
    rc |= mset(meta, "model", cfg);
    rc |= mset(meta, "params", params);
    rc |= mset(meta, "producer", prod);
    rc |= mset(meta, "signature", sig);
    if (rc) {
        fprintf(stderr, "trove fit: out of memory building metadata\n");
        ex = CLI_FAIL;
        goto done;
    }
    trove_error err = {0};
    uint64_t cshape[2] = {S, d}, ishape[1] = {S};
    trove_tensor_spec cs = {"coef", TROVE_FLOAT64, 2, cshape, 0, 0};
    trove_tensor_spec is = {"intercept", TROVE_FLOAT64, 1, ishape, 0, 0};
    if (secret) { /* one pass through the encryption: no plaintext file at any time */
        enc.co.write_flags = 0;
        fit_out fo = {meta, &cs, &is, w, b};
        meta = NULL;
        rc = trove_write_encrypted(out_path, NULL, fill_model, &fo, secret, &enc.co, &err);
        trove_value_free(fo.meta); /* not taken when the write failed before filling */
        if (rc) {
            ex = cli_report("fit", out_path, &err);
            goto done;
        }
        goto written;
    }
    if ((rc = trove_writer_open(&wr, out_path, NULL, &err))) {
        ex = cli_report("fit", out_path, &err);
        goto done;
    }
    trove_value *m2 = meta;
    meta = NULL; /* set_metadata takes it on every path */
    if ((rc = trove_writer_set_metadata(wr, m2, &err)) ||
        (rc = trove_writer_add(wr, &cs, w, &err)) || (rc = trove_writer_add(wr, &is, b, &err)) ||
        (rc = trove_writer_commit(wr, &err))) {
        ex = cli_report("fit", out_path, &err);
        goto done;
    }
written:
    fprintf(stderr, "trove fit: %s on %zu rows x %zu features%s -> %s%s\n", what, n, d,
            kind == 2 ? (K == 2 ? " (binary)" : " (multinomial)") : "", out_path,
            secret ? " (encrypted)" : "");
done:
    trove_secret_free(secret);
    trove_writer_free(wr);
    trove_value_free(meta);
    free(X);
    free(y);
    free(yi);
    free(w);
    free(classes);
    free(sclasses);
    cli_data_free(&t);
    return ex;
}
