/* test_model_more.c: the svm, naive_bayes, knn and label_encoder kinds and text inputs from C:
 * hand-built models against their definition (libsvm's pairwise vote, Gaussian likelihoods,
 * nearest neighbours with sklearn's tie and zero-distance rules), hostile models refused with
 * TROVE_E_MODEL naming the key or tensor, text codes, OOM torture of bind and predict. */
#include <math.h>
#include <stdlib.h>

#include "testlib.h"

typedef struct tensor_def {
    const char *name;
    trove_dtype dtype;
    uint32_t rank;
    uint64_t shape[2];
    const void *data;
} tensor_def;

static int put(trove_value *m, const char *k, trove_value *v)
{
    return trove_value_map_set(m, k, v);
}

static int write_model(const char *path, trove_value *meta, const tensor_def *t, size_t n)
{
    trove_error err;
    trove_writer *w = NULL;
    trove_write_options wo = TROVE_WRITE_OPTIONS_INIT;
    wo.flags = TROVE_WRITE_NO_SYNC;
    int rc = trove_writer_open(&w, path, &wo, &err);
    if (rc) {
        trove_value_free(meta);
        return rc;
    }
    rc = trove_writer_set_metadata(w, meta, &err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        trove_tensor_spec s = {t[i].name, t[i].dtype, t[i].rank, t[i].shape, 0, 0};
        rc = trove_writer_add(w, &s, t[i].data, &err);
    }
    if (rc == 0)
        rc = trove_writer_commit(w, &err);
    if (rc)
        fprintf(stderr, "  write_model: %s\n", err.message);
    trove_writer_free(w);
    return rc;
}

static trove_value *node(const char *kind, trove_value *cfg)
{
    trove_value *m = trove_value_map(NULL);
    put(m, "kind", trove_value_cstring(NULL, kind));
    put(m, "kind_version", trove_value_int(NULL, 1));
    put(m, "model", cfg);
    return m;
}

static trove_value *cfg_new(int64_t n_features, const char *task, int64_t n_classes)
{
    trove_value *c = trove_value_map(NULL);
    put(c, "n_features", trove_value_int(NULL, n_features));
    if (task)
        put(c, "task", trove_value_cstring(NULL, task));
    if (n_classes) {
        trove_value *a = trove_value_array(NULL);
        for (int64_t i = 0; i < n_classes; i++)
            if (trove_value_array_take(a, trove_value_int(NULL, 10 * i)))
                break;
        put(c, "classes", a);
    }
    return c;
}

static int bind_path(const char *path, trove_model **out, trove_error *err)
{
    trove_file *f = NULL;
    int rc = trove_open(&f, path, NULL, err);
    if (rc)
        return rc;
    rc = trove_model_open(out, f, NULL, err);
    trove_close(f);
    return rc;
}

/* ---- svm: 3 classes, linear kernel, one support vector per class ----------------------- */

typedef struct svm_spec {
    double sv[6];          /* [3, 2] */
    double coef[6];        /* [2, 3] */
    double icpt[3];
    int64_t nsup[3];
    double pa[3], pb[3];
    int proba;
    const char *kernel, *shape;
    uint64_t icpt_len, coef_rows;
    double gamma;
} svm_spec;

static void svm_default(svm_spec *s)
{
    static const svm_spec d = {{1, 0, 0, 1, -1, -1}, {1, 0.5, -1, 2, -0.5, 1}, {0.1, -0.2, 0.3},
                               {1, 1, 1}, {-1, -2, -0.5}, {0.1, 0, -0.1}, 0, "linear", "ovo",
                               3, 2, 0.5};
    *s = d;
}

static int write_svm(const char *path, const svm_spec *s)
{
    trove_value *c = cfg_new(2, "classification", 3);
    put(c, "kernel", trove_value_cstring(NULL, s->kernel));
    put(c, "gamma", trove_value_float(NULL, s->gamma));
    put(c, "decision_shape", trove_value_cstring(NULL, s->shape));
    tensor_def t[] = {{"support_vectors", TROVE_FLOAT64, 2, {3, 2}, s->sv},
                      {"dual_coef", TROVE_FLOAT64, 2, {s->coef_rows, 3}, s->coef},
                      {"intercept", TROVE_FLOAT64, 1, {s->icpt_len, 0}, s->icpt},
                      {"n_support", TROVE_INT64, 1, {3, 0}, s->nsup},
                      {"prob_a", TROVE_FLOAT64, 1, {3, 0}, s->pa},
                      {"prob_b", TROVE_FLOAT64, 1, {3, 0}, s->pb}};
    return write_model(path, node("svm", c), t, s->proba ? 6 : 4);
}

/* libsvm's decision values of the spec at x, by its definition. */
static void svm_reference(const svm_spec *s, const double *x, double *d)
{
    double k[3];
    for (int i = 0; i < 3; i++)
        k[i] = x[0] * s->sv[2 * i] + x[1] * s->sv[2 * i + 1];
    /* pair (i, j): coef[j-1][sv of i] k_i + coef[i][sv of j] k_j + intercept */
    d[0] = s->coef[0 * 3 + 0] * k[0] + s->coef[0 * 3 + 1] * k[1] + s->icpt[0]; /* (0,1) */
    d[1] = s->coef[1 * 3 + 0] * k[0] + s->coef[0 * 3 + 2] * k[2] + s->icpt[1]; /* (0,2) */
    d[2] = s->coef[1 * 3 + 1] * k[1] + s->coef[1 * 3 + 2] * k[2] + s->icpt[2]; /* (1,2) */
}

static void test_model_more__svm_predicts_its_definition(void)
{
    trove_error err;
    svm_spec s;
    svm_default(&s);
    s.proba = 1;
    const char *p = test_path("svm.trove");
    CHECK(write_svm(p, &s) == 0);
    trove_model *m = NULL;
    CHECK_OK(bind_path(p, &m, &err));
    CHECK(trove_model_is_classifier(m) && trove_model_n_classes(m) == 3);
    CHECK(trove_model_n_outputs(m, TROVE_MODEL_DECISION) == 3);
    CHECK(trove_model_n_outputs(m, TROVE_MODEL_PROBA) == 3);
    enum { N = 300 };
    double X[N * 2], lab[N], dec[N * 3], pr[N * 3];
    for (int i = 0; i < N; i++) {
        X[2 * i] = sin(i * 0.37) * 3;
        X[2 * i + 1] = cos(i * 0.11) * 2;
    }
    CHECK_OK(trove_model_predict(m, TROVE_FLOAT64, X, N, 2, lab, N, &err));
    CHECK_OK(trove_model_decision_function(m, TROVE_FLOAT64, X, N, 2, dec, 3 * N, &err));
    CHECK_OK(trove_model_predict_proba(m, TROVE_FLOAT64, X, N, 2, pr, 3 * N, &err));
    for (int i = 0; i < N; i++) {
        double d[3];
        svm_reference(&s, X + 2 * i, d);
        CHECK(d[0] == dec[3 * i] && d[1] == dec[3 * i + 1] && d[2] == dec[3 * i + 2]);
        int v[3] = {0, 0, 0};
        v[d[0] > 0 ? 0 : 1]++;
        v[d[1] > 0 ? 0 : 2]++;
        v[d[2] > 0 ? 1 : 2]++;
        int best = 0;
        for (int c = 1; c < 3; c++)
            best = v[c] > v[best] ? c : best;
        CHECK(lab[i] == 10.0 * best);
        double sum = pr[3 * i] + pr[3 * i + 1] + pr[3 * i + 2];
        CHECK(fabs(sum - 1) < 1e-12 && pr[3 * i] >= 0 && pr[3 * i + 1] >= 0);
    }
    trove_model_free(m);
    /* ovr shape: votes + confidence / (3 (|confidence| + 1)), per row */
    s.shape = "ovr";
    CHECK(write_svm(p, &s) == 0);
    CHECK_OK(bind_path(p, &m, &err));
    CHECK_OK(trove_model_decision_function(m, TROVE_FLOAT64, X, N, 2, dec, 3 * N, &err));
    for (int i = 0; i < N; i++) {
        double d[3], c[3] = {0, 0, 0}, v[3] = {0, 0, 0};
        svm_reference(&s, X + 2 * i, d);
        c[0] = d[0] + d[1];
        c[1] = -d[0] + d[2];
        c[2] = -d[1] - d[2];
        v[d[0] < 0 ? 1 : 0]++;
        v[d[1] < 0 ? 2 : 0]++;
        v[d[2] < 0 ? 2 : 1]++;
        for (int k = 0; k < 3; k++)
            CHECK(fabs(dec[3 * i + k] - (v[k] + c[k] / (3 * (fabs(c[k]) + 1)))) < 1e-15);
    }
    /* NaN input: no crash, NaN decisions */
    double xn[2] = {NAN, 1};
    CHECK_OK(trove_model_decision_function(m, TROVE_FLOAT64, xn, 1, 2, dec, 3, &err));
    CHECK_OK(trove_model_predict(m, TROVE_FLOAT64, xn, 1, 2, lab, 1, &err));
    trove_model_free(m);
}

static void expect_svm_refused(const svm_spec *s, const char *needle)
{
    trove_error err;
    trove_model *m = NULL;
    const char *p = test_path("svm_bad.trove");
    CHECK(write_svm(p, s) == 0);
    CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL);
    CHECK(m == NULL);
    if (!strstr(err.message, needle))
        fprintf(stderr, "  message '%s' lacks '%s'\n", err.message, needle);
    CHECK(strstr(err.message, needle) != NULL);
}

static void test_model_more__hostile_svm_refused(void)
{
    svm_spec s;
    svm_default(&s);
    s.nsup[2] = 2; /* sums to 4 of 3 support vectors */
    expect_svm_refused(&s, "n_support");
    svm_default(&s);
    s.nsup[0] = -1;
    s.nsup[1] = 2;
    s.nsup[2] = 2;
    expect_svm_refused(&s, "n_support");
    svm_default(&s);
    s.nsup[0] = INT64_MAX; /* overflow of the running sum */
    expect_svm_refused(&s, "n_support");
    svm_default(&s);
    s.icpt_len = 2;
    expect_svm_refused(&s, "intercept");
    svm_default(&s);
    s.coef_rows = 1;
    expect_svm_refused(&s, "dual_coef");
    svm_default(&s);
    s.sv[3] = INFINITY;
    expect_svm_refused(&s, "not finite");
    svm_default(&s);
    s.kernel = "precomputed";
    expect_svm_refused(&s, "kernel");
    svm_default(&s);
    s.gamma = NAN;
    expect_svm_refused(&s, "gamma");
    svm_default(&s);
    s.shape = "ovx";
    expect_svm_refused(&s, "decision_shape");
    svm_default(&s);
    s.proba = 1;
    s.pb[1] = NAN;
    expect_svm_refused(&s, "prob_b");
}

/* ---- naive_bayes ------------------------------------------------------------------------- */

static int write_nb(const char *path, const double *theta, const double *var, const double *prior)
{
    trove_value *c = cfg_new(2, "classification", 2);
    put(c, "distribution", trove_value_cstring(NULL, "gaussian"));
    tensor_def t[] = {{"theta", TROVE_FLOAT64, 2, {2, 2}, theta},
                      {"var", TROVE_FLOAT64, 2, {2, 2}, var},
                      {"class_prior", TROVE_FLOAT64, 1, {2, 0}, prior}};
    return write_model(path, node("naive_bayes", c), t, 3);
}

static void test_model_more__naive_bayes(void)
{
    trove_error err;
    const double th[4] = {0, 0, 2, 1}, var[4] = {1, 2, 0.5, 1}, pri[2] = {0.25, 0.75};
    const char *p = test_path("nb.trove");
    CHECK(write_nb(p, th, var, pri) == 0);
    trove_model *m = NULL;
    CHECK_OK(bind_path(p, &m, &err));
    CHECK(trove_model_n_outputs(m, TROVE_MODEL_DECISION) == 0);
    double X[8] = {0, 0, 2, 1, 1, 0.5, -40, 60}, pr[8], lab[4];
    CHECK_OK(trove_model_predict_proba(m, TROVE_FLOAT64, X, 4, 2, pr, 8, &err));
    CHECK_OK(trove_model_predict(m, TROVE_FLOAT64, X, 4, 2, lab, 4, &err));
    for (int i = 0; i < 4; i++) {
        double j[2];
        for (int k = 0; k < 2; k++) {
            j[k] = log(pri[k]);
            for (int f = 0; f < 2; f++) {
                double v = var[2 * k + f], d = X[2 * i + f] - th[2 * k + f];
                j[k] += -0.5 * log(2 * M_PI * v) - 0.5 * d * d / v;
            }
        }
        double mx = j[0] > j[1] ? j[0] : j[1];
        double lse = mx + log(exp(j[0] - mx) + exp(j[1] - mx));
        CHECK(fabs(pr[2 * i] - exp(j[0] - lse)) < 1e-12);
        CHECK(fabs(pr[2 * i + 1] - exp(j[1] - lse)) < 1e-12);
        CHECK(lab[i] == (j[1] > j[0] ? 10.0 : 0.0));
    }
    trove_model_free(m);
    const double bad_var[4] = {1, 0, 1, 1}, bad_pri[2] = {0.5, NAN};
    CHECK(write_nb(p, th, bad_var, pri) == 0);
    CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL);
    CHECK(strstr(err.message, "'var'") != NULL);
    CHECK(write_nb(p, th, var, bad_pri) == 0);
    CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL);
    CHECK(strstr(err.message, "class_prior") != NULL);
}

/* ---- knn ----------------------------------------------------------------------------------- */

static int write_knn(const char *path, int clf, int64_t k, const char *weights, const char *metric,
                     const int64_t *yi)
{
    static const double fx[10] = {0, 0, 1, 0, 0, 1, 1, 1, 3, 3};
    static const double yr[5] = {1, 2, 3, 4, 10};
    trove_value *c = cfg_new(2, clf ? "classification" : "regression", clf ? 2 : 0);
    put(c, "n_neighbors", trove_value_int(NULL, k));
    put(c, "weights", trove_value_cstring(NULL, weights));
    put(c, "metric", trove_value_cstring(NULL, metric));
    tensor_def t[] = {{"fit_X", TROVE_FLOAT64, 2, {5, 2}, fx},
                      clf ? (tensor_def){"y", TROVE_INT64, 1, {5, 0}, yi}
                          : (tensor_def){"y", TROVE_FLOAT64, 2, {5, 1}, yr}};
    return write_model(path, node("knn", c), t, 2);
}

static void test_model_more__knn(void)
{
    trove_error err;
    trove_model *m = NULL;
    const char *p = test_path("knn.trove");
    const int64_t y[5] = {0, 1, 1, 0, 1};
    /* uniform, k = 2: the query (0.5, 0) is at distance 0.5 from rows 0 and 1, and sqrt(1.25)
     * from 2 and 3: the tie between 0 and 1 keeps both; tie in votes -> the first class */
    CHECK(write_knn(p, 1, 2, "uniform", "euclidean", y) == 0);
    CHECK_OK(bind_path(p, &m, &err));
    double q[4] = {0.5, 0, 0.9, 0.9}, pr[4], lab[2];
    CHECK_OK(trove_model_predict_proba(m, TROVE_FLOAT64, q, 2, 2, pr, 4, &err));
    CHECK_OK(trove_model_predict(m, TROVE_FLOAT64, q, 2, 2, lab, 2, &err));
    CHECK(pr[0] == 0.5 && pr[1] == 0.5 && lab[0] == 0.0);
    /* (0.9, 0.9): nearest row 3 (class 0) then rows 1, 2 tied (class 1): index order -> row 1 */
    CHECK(pr[2] == 0.5 && pr[3] == 0.5);
    trove_model_free(m);
    /* distance weights with an exact match: only the matching row counts */
    CHECK(write_knn(p, 1, 3, "distance", "manhattan", y) == 0);
    CHECK_OK(bind_path(p, &m, &err));
    double q2[2] = {1, 0};
    CHECK_OK(trove_model_predict_proba(m, TROVE_FLOAT64, q2, 1, 2, pr, 2, &err));
    CHECK(pr[0] == 0.0 && pr[1] == 1.0);
    trove_model_free(m);
    /* regression, distance weights, manhattan: (2, 2) -> rows 3 (d 2) and 4 (d 2), then 1/2 */
    CHECK(write_knn(p, 0, 2, "distance", "manhattan", NULL) == 0);
    CHECK_OK(bind_path(p, &m, &err));
    double q3[2] = {2, 2}, out = 0;
    CHECK_OK(trove_model_predict(m, TROVE_FLOAT64, q3, 1, 2, &out, 1, &err));
    CHECK(out == (4 * 0.5 + 10 * 0.5) / (0.5 + 0.5));
    double qn[2] = {NAN, 0};
    CHECK_OK(trove_model_predict(m, TROVE_FLOAT64, qn, 1, 2, &out, 1, &err));
    trove_model_free(m);
    /* hostile */
    const int64_t ybad[5] = {0, 1, 2, 0, 1};
    CHECK(write_knn(p, 1, 2, "uniform", "euclidean", ybad) == 0);
    CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL);
    CHECK(strstr(err.message, "'y'[2]") != NULL);
    CHECK(write_knn(p, 1, 6, "uniform", "euclidean", y) == 0);
    CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL);
    CHECK(strstr(err.message, "n_neighbors") != NULL);
    CHECK(write_knn(p, 1, 0, "uniform", "euclidean", y) == 0);
    CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL);
    CHECK(write_knn(p, 1, 2, "gaussian", "euclidean", y) == 0);
    CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL);
    CHECK(strstr(err.message, "weights") != NULL);
    CHECK(write_knn(p, 1, 2, "uniform", "cosine", y) == 0);
    CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL);
    CHECK(strstr(err.message, "metric") != NULL);
}

/* ---- label_encoder and text inputs ---------------------------------------------------------- */

static trove_value *strings(const char *const *s, size_t n)
{
    trove_value *a = trove_value_array(NULL);
    for (size_t i = 0; i < n; i++)
        if (trove_value_array_take(a, trove_value_cstring(NULL, s[i])))
            break;
    return a;
}

static void test_model_more__label_encoder_and_text(void)
{
    trove_error err;
    trove_model *m = NULL;
    const char *p = test_path("le.trove");
    static const char *const words[] = {"Male", "Female", "other"};
    trove_value *c = cfg_new(1, NULL, 0);
    put(c, "classes", strings(words, 3));
    const double dummy = 0;
    tensor_def none[] = {{"unused", TROVE_FLOAT64, 1, {1, 0}, &dummy}};
    CHECK(write_model(p, node("label_encoder", c), none, 1) == 0);
    CHECK_OK(bind_path(p, &m, &err));
    CHECK(trove_model_input_is_text(m, 0) && !trove_model_input_is_text(m, 1));
    double code = 0;
    CHECK_OK(trove_model_text_code(&code, m, 0, "Female", 6, &err));
    CHECK(code == 1.0);
    CHECK_OK(trove_model_text_code(&code, m, 0, "other", 5, &err));
    CHECK(code == 2.0);
    CHECK_OK(trove_model_text_code(&code, m, 0, "Fem", 3, &err));
    CHECK(code == -1.0);
    CHECK_RC(trove_model_text_code(&code, m, 1, "x", 1, &err), TROVE_E_INVALID);
    double in[3] = {2, 0, 1}, out[3];
    CHECK_OK(trove_model_transform(m, TROVE_FLOAT64, in, 3, 1, out, 3, &err));
    CHECK(out[0] == 2 && out[1] == 0 && out[2] == 1);
    double unk[2] = {0, -1};
    CHECK_RC(trove_model_transform(m, TROVE_FLOAT64, unk, 2, 1, out, 2, &err), TROVE_E_INVALID);
    CHECK(strstr(err.message, "row 1") != NULL);
    trove_model_free(m);
    /* numeric labels: binary search, unknown refused */
    c = cfg_new(1, NULL, 0);
    const int64_t labs[3] = {-5, 2, 7};
    trove_value *a = trove_value_array(NULL);
    for (int i = 0; i < 3; i++)
        CHECK(trove_value_array_take(a, trove_value_int(NULL, labs[i])) == TROVE_OK);
    put(c, "classes", a);
    CHECK(write_model(p, node("label_encoder", c), none, 1) == 0);
    CHECK_OK(bind_path(p, &m, &err));
    CHECK(!trove_model_input_is_text(m, 0));
    double nin[3] = {7, -5, 2};
    CHECK_OK(trove_model_transform(m, TROVE_FLOAT64, nin, 3, 1, out, 3, &err));
    CHECK(out[0] == 2 && out[1] == 0 && out[2] == 1);
    nin[1] = 3;
    CHECK_RC(trove_model_transform(m, TROVE_FLOAT64, nin, 3, 1, out, 3, &err), TROVE_E_INVALID);
    trove_model_free(m);
    /* onehot with a text feature and a numeric one */
    c = cfg_new(2, NULL, 0);
    trove_value *voc = trove_value_array(NULL);
    CHECK(trove_value_array_take(voc, strings(words, 3)) == TROVE_OK);
    CHECK(trove_value_array_take(voc, trove_value_null(NULL)) == TROVE_OK);
    put(c, "vocabulary", voc);
    const double cats[5] = {0, 1, 2, 1.5, 9};
    const int64_t offs[3] = {0, 3, 5};
    tensor_def oh[] = {{"categories", TROVE_FLOAT64, 1, {5, 0}, cats},
                       {"offsets", TROVE_INT64, 1, {3, 0}, offs}};
    CHECK(write_model(p, node("onehot", c), oh, 2) == 0);
    CHECK_OK(bind_path(p, &m, &err));
    CHECK(trove_model_input_is_text(m, 0) && !trove_model_input_is_text(m, 1));
    CHECK_OK(trove_model_text_code(&code, m, 0, "other", 5, &err));
    double ohin[2] = {code, 9}, ohout[5];
    CHECK_OK(trove_model_transform(m, TROVE_FLOAT64, ohin, 1, 2, ohout, 5, &err));
    CHECK(ohout[0] == 0 && ohout[1] == 0 && ohout[2] == 1 && ohout[3] == 0 && ohout[4] == 1);
    ohin[0] = -1;
    CHECK_RC(trove_model_transform(m, TROVE_FLOAT64, ohin, 1, 2, ohout, 5, &err),
             TROVE_E_INVALID);
    CHECK(strstr(err.message, "vocabulary") != NULL);
    trove_model_free(m);
    /* drop: feature 1 loses its category 9 (index 1): width 4, a 9 encodes as zeros there */
    c = cfg_new(2, NULL, 0);
    put(c, "handle_unknown", trove_value_cstring(NULL, "ignore"));
    const int64_t drop[2] = {-1, 1};
    tensor_def ohd[] = {{"categories", TROVE_FLOAT64, 1, {5, 0}, cats},
                        {"offsets", TROVE_INT64, 1, {3, 0}, offs},
                        {"drop", TROVE_INT64, 1, {2, 0}, drop}};
    CHECK(write_model(p, node("onehot", c), ohd, 3) == 0);
    CHECK_OK(bind_path(p, &m, &err));
    CHECK(trove_model_n_outputs(m, TROVE_MODEL_TRANSFORM) == 4);
    double din[4] = {1, 9, 2, 1.5}, dout[8];
    CHECK_OK(trove_model_transform(m, TROVE_FLOAT64, din, 2, 2, dout, 8, &err));
    const double dwant[8] = {0, 1, 0, 0, 0, 0, 1, 1};
    for (int i = 0; i < 8; i++)
        CHECK(dout[i] == dwant[i]);
    trove_model_free(m);
}

/* ---- column_transformer -------------------------------------------------------------------- */

/* 4 inputs: part 0 scales columns 2 and 0, part 1 one-hot encodes text column 1, part 2 passes
 * column 2 through again; column 3 is dropped. */
static int write_columns(const char *path, int64_t bad_col)
{
    static const char *const words[] = {"x", "y", "z"};
    trove_value *c = cfg_new(4, "transform", 0), *parts = trove_value_array(NULL);
    trove_value *sc = cfg_new(2, NULL, 0), *oh = cfg_new(1, NULL, 0), *voc = trove_value_array(NULL);
    put(sc, "op", trove_value_cstring(NULL, "standardize"));
    trove_value *p0 = node("scaler", sc), *p1 = node("onehot", oh), *p2 = trove_value_map(NULL);
    const int64_t c0[2] = {2, 0}, c1[1] = {1}, c2[1] = {bad_col};
    trove_value *a0 = trove_value_array(NULL), *a1 = trove_value_array(NULL),
                *a2 = trove_value_array(NULL);
    int ok = trove_value_array_take(a0, trove_value_int(NULL, c0[0])) == TROVE_OK &&
             trove_value_array_take(a0, trove_value_int(NULL, c0[1])) == TROVE_OK &&
             trove_value_array_take(a1, trove_value_int(NULL, c1[0])) == TROVE_OK &&
             trove_value_array_take(a2, trove_value_int(NULL, c2[0])) == TROVE_OK &&
             trove_value_array_take(voc, strings(words, 3)) == TROVE_OK;
    put(oh, "vocabulary", voc);
    put(p0, "columns", a0);
    put(p1, "columns", a1);
    put(p2, "columns", a2);
    put(p2, "passthrough", trove_value_bool(NULL, 1));
    ok = ok && trove_value_array_take(parts, p0) == TROVE_OK &&
         trove_value_array_take(parts, p1) == TROVE_OK &&
         trove_value_array_take(parts, p2) == TROVE_OK;
    put(c, "transformers", parts);
    if (!ok)
        return -1;
    const double center[2] = {10, 1}, scale[2] = {2, 4}, cats[3] = {0, 1, 2};
    const int64_t offs[2] = {0, 3};
    tensor_def t[] = {{"transformers/0/center", TROVE_FLOAT64, 1, {2, 0}, center},
                      {"transformers/0/scale", TROVE_FLOAT64, 1, {2, 0}, scale},
                      {"transformers/1/categories", TROVE_FLOAT64, 1, {3, 0}, cats},
                      {"transformers/1/offsets", TROVE_INT64, 1, {2, 0}, offs}};
    return write_model(path, node("column_transformer", c), t, 4);
}

static void test_model_more__column_transformer(void)
{
    trove_error err;
    trove_model *m = NULL;
    const char *p = test_path("ct.trove");
    CHECK(write_columns(p, 2) == 0);
    CHECK_OK(bind_path(p, &m, &err));
    CHECK(trove_model_n_outputs(m, TROVE_MODEL_TRANSFORM) == 6);
    CHECK(trove_model_input_is_text(m, 1) && !trove_model_input_is_text(m, 0));
    CHECK(trove_model_input_is_used(m, 2) && !trove_model_input_is_used(m, 3));
    double code = 0;
    CHECK_OK(trove_model_text_code(&code, m, 1, "z", 1, &err));
    CHECK(code == 2.0);
    double X[8] = {3, 2, 14, NAN, 1, 0, 10, 5}, out[12];
    CHECK_OK(trove_model_transform(m, TROVE_FLOAT64, X, 2, 4, out, 12, &err));
    const double want[12] = {(14 - 10) / 2.0, (3 - 1) / 4.0, 0, 0, 1, 14,
                             (10 - 10) / 2.0, (1 - 1) / 4.0, 1, 0, 0, 10};
    for (int i = 0; i < 12; i++)
        CHECK(out[i] == want[i]);
    trove_model_free(m);
    CHECK(write_columns(p, 4) == 0);
    CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL);
    CHECK(strstr(err.message, "transformers[2].columns[0]") != NULL);
    CHECK(write_columns(p, 1) == 0); /* the text column read twice */
    CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL);
    CHECK(strstr(err.message, "text") != NULL);
}

/* ---- OOM torture: bind and run every new kind with the Nth allocation failing --------------- */

static void test_model_more__oom_torture(void)
{
    trove_error err;
    svm_spec s;
    svm_default(&s);
    s.proba = 1;
    const double th[4] = {0, 0, 2, 1}, var[4] = {1, 2, 0.5, 1}, pri[2] = {0.25, 0.75};
    const int64_t y[5] = {0, 1, 1, 0, 1};
    const char *paths[4] = {test_path("svm_oom.trove"), test_path("nb_oom.trove"),
                            test_path("knn_oom.trove"), test_path("text_oom.trove")};
    CHECK(write_svm(paths[0], &s) == 0);
    CHECK(write_nb(paths[1], th, var, pri) == 0);
    CHECK(write_knn(paths[2], 1, 3, "distance", "euclidean", y) == 0);
    /* a text onehot (vocabularies copied at open) */
    static const char *const words[] = {"b", "a"};
    trove_value *c = cfg_new(2, NULL, 0), *voc = trove_value_array(NULL);
    CHECK(trove_value_array_take(voc, strings(words, 2)) == TROVE_OK);
    CHECK(trove_value_array_take(voc, strings(words, 2)) == TROVE_OK);
    put(c, "vocabulary", voc);
    const double cats[4] = {0, 1, 0, 1};
    const int64_t offs[3] = {0, 2, 4};
    tensor_def oh[] = {{"categories", TROVE_FLOAT64, 1, {4, 0}, cats},
                       {"offsets", TROVE_INT64, 1, {3, 0}, offs}};
    CHECK(write_model(paths[3], node("onehot", c), oh, 2) == 0);
    char ctp[512]; /* test_path keeps 4 names: this is the fifth */
    snprintf(ctp, sizeof ctp, "%s", paths[0]);
    {
        char *slash = strrchr(ctp, '/');
        if (slash)
            snprintf(slash + 1, sizeof ctp - (size_t)(slash + 1 - ctp), "ct_oom.trove");
    }
    CHECK(write_columns(ctp, 2) == 0);
    for (int which = 0; which < 5; which++) {
        trove_file *f = NULL;
        CHECK_OK(trove_open(&f, which == 4 ? ctp : paths[which], NULL, &err));
        int ok = 0;
        for (long n = 1; n < 500 && !ok; n++) {
            test_alloc ta;
            test_alloc_init(&ta, n);
            trove_model *m = NULL;
            int rc = trove_model_open(&m, f, &ta.a, &err);
            if (rc == TROVE_OK && which >= 3) {
                double code = 0, X[4] = {0, 1, 0, 0}, out[6];
                CHECK_OK(trove_model_text_code(&code, m, 1, which == 3 ? "b" : "x", 1, &err));
                CHECK(code == 0.0);
                int prc = trove_model_transform(m, TROVE_FLOAT64, X, 1, which == 3 ? 2 : 4, out,
                                                6, &err);
                trove_model_free(m);
                CHECK(ta.live == 0);
                if (prc == TROVE_OK)
                    ok = 1;
                else
                    CHECK(prc == TROVE_E_NOMEM);
            } else if (rc == TROVE_OK) {
                double X[2] = {0.3, -0.2}, out[3];
                int prc = trove_model_predict_proba(m, TROVE_FLOAT64, X, 1, 2, out, 3, &err);
                if (prc == TROVE_OK)
                    prc = trove_model_predict(m, TROVE_FLOAT64, X, 1, 2, out, 3, &err);
                trove_model_free(m);
                CHECK(ta.live == 0);
                if (prc == TROVE_OK)
                    ok = 1;
                else
                    CHECK(prc == TROVE_E_NOMEM);
            } else {
                CHECK(rc == TROVE_E_NOMEM);
                CHECK(m == NULL);
                CHECK(ta.live == 0);
            }
        }
        CHECK(ok);
        trove_close(f);
    }
}

/* ---- mutation fuzzing of the tensor bytes (as in test_model.c) ------------------------------ */

static void mutate_and_bind(const char *path, unsigned seed, int rounds)
{
    trove_error err;
    size_t len = 0;
    unsigned char *orig = test_read_file(path, &len);
    CHECK(orig != NULL);
    trove_file *f = NULL;
    CHECK_OK(trove_open_memory(&f, orig, len, NULL, &err));
    size_t nt = trove_file_tensor_count(f);
    uint64_t lo[16], hi[16];
    CHECK(nt <= 16);
    for (size_t i = 0; i < nt; i++) {
        trove_tensor_info ti;
        CHECK_OK(trove_file_tensor_info(f, i, &ti));
        lo[i] = ti.offset;
        hi[i] = ti.offset + ti.stored_bytes;
    }
    trove_close(f);
    unsigned char *buf = malloc(len);
    CHECK(buf != NULL);
    unsigned x = seed;
    int bound = 0, refused = 0;
    for (int round = 0; round < rounds; round++) {
        memcpy(buf, orig, len);
        int flips = 1 + (int)((x = x * 1103515245u + 12345u) >> 16) % 4;
        for (int k = 0; k < flips; k++) {
            x = x * 1103515245u + 12345u;
            size_t t = (x >> 16) % nt;
            if (hi[t] == lo[t])
                continue;
            x = x * 1103515245u + 12345u;
            size_t off = lo[t] + (x >> 8) % (hi[t] - lo[t]);
            x = x * 1103515245u + 12345u;
            buf[off] = (unsigned char)(x >> 16);
        }
        f = NULL;
        if (trove_open_memory(&f, buf, len, NULL, &err) != TROVE_OK)
            continue;
        trove_model *m = NULL;
        int rc = trove_model_open(&m, f, NULL, &err);
        trove_close(f);
        if (rc) {
            CHECK(rc == TROVE_E_MODEL);
            refused++;
            continue;
        }
        bound++;
        size_t nf = trove_model_n_features(m);
        double X[16 * 4], out[64];
        CHECK(nf <= 4);
        for (int i = 0; i < 16 * 4; i++)
            X[i] = i % 7 == 0 ? NAN : i % 11 == 0 ? INFINITY : (double)(i % 5) - 2.5;
        for (int op = 0; op < 4; op++) {
            size_t k = trove_model_n_outputs(m, (trove_model_op)op);
            if (k == 0 || 16 * k > 64)
                continue;
            rc = trove_model_run(m, (trove_model_op)op, TROVE_FLOAT64, X, 16, nf, out, 64, &err);
            CHECK(rc == TROVE_OK || rc == TROVE_E_INVALID);
        }
        trove_model_free(m);
    }
    fprintf(stderr, "  %d mutants: %d bound, %d refused\n", rounds, bound, refused);
    CHECK(refused > 0 && bound > 0);
    free(buf);
    free(orig);
}

static void test_model_more__mutated_tensors(void)
{
    svm_spec s;
    svm_default(&s);
    s.proba = 1;
    const double th[4] = {0, 0, 2, 1}, var[4] = {1, 2, 0.5, 1}, pri[2] = {0.25, 0.75};
    const int64_t y[5] = {0, 1, 1, 0, 1};
    const char *p = test_path("fuzz_svm.trove");
    CHECK(write_svm(p, &s) == 0);
    mutate_and_bind(p, 3, 1500);
    s.shape = "ovr";
    s.kernel = "poly";
    CHECK(write_svm(p, &s) == 0);
    mutate_and_bind(p, 4, 1000);
    p = test_path("fuzz_nb.trove");
    CHECK(write_nb(p, th, var, pri) == 0);
    mutate_and_bind(p, 5, 1000);
    p = test_path("fuzz_knn.trove");
    CHECK(write_knn(p, 1, 3, "distance", "euclidean", y) == 0);
    mutate_and_bind(p, 6, 1000);
    CHECK(write_knn(p, 0, 2, "uniform", "manhattan", NULL) == 0);
    mutate_and_bind(p, 7, 1000);
    p = test_path("fuzz_ct.trove");
    CHECK(write_columns(p, 2) == 0);
    mutate_and_bind(p, 8, 1000);
}

TEST_MAIN(T(test_model_more__svm_predicts_its_definition), T(test_model_more__hostile_svm_refused),
          T(test_model_more__naive_bayes), T(test_model_more__knn),
          T(test_model_more__label_encoder_and_text), T(test_model_more__oom_torture),
          T(test_model_more__mutated_tensors), T(test_model_more__column_transformer))
