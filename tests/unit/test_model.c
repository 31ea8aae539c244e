/* test_model.c: model kinds from C: predictions of hand-built models against their definition,
 * hostile models refused with TROVE_E_MODEL (cycles, out-of-range nodes, shapes that disagree,
 * DAGs, deep chains, ...), input checks, concurrent predicts, OOM torture of bind. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "testlib.h"

/* ---- building model files ----------------------------------------------------------------- */

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

/* meta: a map (taken); writes path with the tensors. */
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

/* A model node {kind, kind_version: 1, model: cfg}; cfg is taken. */
static trove_value *node(const char *kind, trove_value *cfg)
{
    trove_value *m = trove_value_map(NULL);
    put(m, "kind", trove_value_cstring(NULL, kind));
    put(m, "kind_version", trove_value_int(NULL, 1));
    put(m, "model", cfg);
    return m;
}

static trove_value *cfg_new(int64_t n_features, const char *task)
{
    trove_value *c = trove_value_map(NULL);
    put(c, "n_features", trove_value_int(NULL, n_features));
    if (task)
        put(c, "task", trove_value_cstring(NULL, task));
    return c;
}

static trove_value *int_array(const int64_t *v, size_t n)
{
    trove_value *a = trove_value_array(NULL);
    for (size_t i = 0; i < n; i++)
        if (trove_value_array_take(a, trove_value_int(NULL, v[i])))
            return a;
    return a;
}

/* Open path and bind; returns the bind status; *out gets the model on success. */
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

/* ---- a linear model: y = 2 x0 - x1 + 0.5, second output y2 = x1 + 1 -------------------- */

static const double LCOEF[4] = {2.0, -1.0, 0.0, 1.0};
static const double LICPT[2] = {0.5, 1.0};

static int write_linear(const char *path, uint64_t coef_rows, uint64_t coef_cols,
                        uint64_t icpt_len)
{
    trove_value *c = cfg_new(2, "regression");
    put(c, "link", trove_value_cstring(NULL, "identity"));
    tensor_def t[] = {{"coef", TROVE_FLOAT64, 2, {coef_rows, coef_cols}, LCOEF},
                      {"intercept", TROVE_FLOAT64, 1, {icpt_len, 0}, LICPT}};
    return write_model(path, node("linear", c), t, 2);
}

static void test_model__linear_predicts_its_definition(void)
{
    trove_error err;
    const char *p = test_path("lin.trove");
    CHECK(write_linear(p, 2, 2, 2) == 0);
    trove_model *m = NULL;
    CHECK_OK(bind_path(p, &m, &err));
    CHECK(trove_model_n_features(m) == 2);
    CHECK(trove_model_n_outputs(m, TROVE_MODEL_PREDICT) == 2);
    CHECK(trove_model_n_outputs(m, TROVE_MODEL_PROBA) == 0);
    CHECK(!trove_model_is_classifier(m));
    double X[600 * 2], out[600 * 2];
    for (int i = 0; i < 600; i++) {
        X[2 * i] = i * 0.25 - 3;
        X[2 * i + 1] = 7 - i * 0.5;
    }
    CHECK_OK(trove_model_predict(m, TROVE_FLOAT64, X, 600, 2, out, 1200, &err));
    for (int i = 0; i < 600; i++) {
        CHECK(out[2 * i] == 2 * X[2 * i] - X[2 * i + 1] + 0.5);
        CHECK(out[2 * i + 1] == X[2 * i + 1] + 1.0);
    }
    float Xf[4] = {1.5f, -2.0f, 0.25f, 4.0f};
    CHECK_OK(trove_model_predict(m, TROVE_FLOAT32, Xf, 2, 2, out, 4, &err));
    CHECK(out[0] == 2 * 1.5 + 2.0 + 0.5 && out[3] == 5.0);
    /* input checks */
    CHECK_RC(trove_model_predict(m, TROVE_FLOAT64, X, 2, 3, out, 4, &err), TROVE_E_SHAPE);
    CHECK(strstr(err.message, "3 columns") != NULL);
    CHECK_RC(trove_model_predict(m, TROVE_INT32, X, 2, 2, out, 4, &err), TROVE_E_SHAPE);
    CHECK_RC(trove_model_predict(m, TROVE_FLOAT64, X, 2, 2, out, 3, &err), TROVE_E_INVALID);
    CHECK_RC(trove_model_predict_proba(m, TROVE_FLOAT64, X, 2, 2, out, 4, &err),
             TROVE_E_UNSUPPORTED);
    CHECK_OK(trove_model_predict(m, TROVE_FLOAT64, NULL, 0, 2, NULL, 0, &err));
    trove_model_free(m);
}

static void test_model__linear_shapes_disagree(void)
{
    trove_error err;
    trove_model *m = NULL;
    const char *p = test_path("lin_bad.trove");
    CHECK(write_linear(p, 1, 4, 1) == 0); /* 4 coefficient columns, 2 features */
    CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL);
    CHECK(strstr(err.message, "coef") != NULL);
    CHECK(write_linear(p, 2, 2, 1) == 0); /* 2 outputs, 1 intercept */
    CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL);
    CHECK(strstr(err.message, "intercept") != NULL);
    CHECK(m == NULL);
}

static void test_model__plain_file_and_versions(void)
{
    trove_error err;
    trove_model *m = NULL;
    const char *p = test_path("plain.trove");
    tensor_def t[] = {{"w", TROVE_FLOAT64, 1, {2, 0}, LICPT}};
    CHECK(write_model(p, trove_value_map(NULL), t, 1) == 0);
    CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL);
    CHECK(strstr(err.message, "kind") != NULL);
    trove_value *n = node("linear", cfg_new(2, "regression"));
    put(n, "kind_version", trove_value_int(NULL, 2));
    CHECK(write_model(p, n, t, 1) == 0);
    CHECK_RC(bind_path(p, &m, &err), TROVE_E_VERSION);
    CHECK(write_model(p, node("quantum", cfg_new(2, NULL)), t, 1) == 0);
    CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL);
    CHECK(strstr(err.message, "quantum") != NULL);
    CHECK(write_model(p, node("linear", cfg_new(2, "regression")), t, 1) == 0);
    CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL); /* no coef */
    CHECK(strstr(err.message, "'coef' is missing") != NULL);
}

/* ---- trees --------------------------------------------------------------------------------- */

typedef struct tree_spec {
    int64_t offsets[4];
    size_t n_trees, n_nodes;
    int32_t feature[1300], left[1300], right[1300];
    double thr[1300], value[1300];
    uint8_t dl[1300];
    int with_dl;
    int64_t n_features;
} tree_spec;

/* The tree of s under model config c (taken). */
static int write_tree_as(const char *path, const tree_spec *s, trove_value *c)
{
    tensor_def t[7] = {
        {"trees/offsets", TROVE_INT64, 1, {s->n_trees + 1, 0}, s->offsets},
        {"trees/feature", TROVE_INT32, 1, {s->n_nodes, 0}, s->feature},
        {"trees/left", TROVE_INT32, 1, {s->n_nodes, 0}, s->left},
        {"trees/right", TROVE_INT32, 1, {s->n_nodes, 0}, s->right},
        {"trees/threshold", TROVE_FLOAT64, 1, {s->n_nodes, 0}, s->thr},
        {"trees/value", TROVE_FLOAT64, 2, {s->n_nodes, 1}, s->value},
        {"trees/default_left", TROVE_UINT8, 1, {s->n_nodes, 0}, s->dl},
    };
    return write_model(path, node("tree_ensemble", c), t, s->with_dl ? 7 : 6);
}

static int write_tree(const char *path, const tree_spec *s)
{
    trove_value *c = cfg_new(s->n_features, "regression");
    put(c, "n_outputs", trove_value_int(NULL, 1));
    put(c, "aggregate", trove_value_cstring(NULL, "sum"));
    return write_tree_as(path, s, c);
}

/* x0 <= 0.5 ? (x1 <= -1 ? 10 : 20) : 30 */
static void small_tree(tree_spec *s)
{
    memset(s, 0, sizeof *s);
    s->n_trees = 1;
    s->n_nodes = 5;
    s->n_features = 2;
    s->offsets[1] = 5;
    int32_t f[] = {0, 1, 0, 0, 0}, l[] = {1, 3, -1, -1, -1}, r[] = {2, 4, -1, -1, -1};
    double th[] = {0.5, -1, 0, 0, 0}, v[] = {0, 0, 30, 10, 20};
    memcpy(s->feature, f, sizeof f);
    memcpy(s->left, l, sizeof l);
    memcpy(s->right, r, sizeof r);
    memcpy(s->thr, th, sizeof th);
    memcpy(s->value, v, sizeof v);
}

static void test_model__tree_predicts_and_missing_values(void)
{
    trove_error err;
    tree_spec s;
    small_tree(&s);
    const char *p = test_path("tree.trove");
    CHECK(write_tree(p, &s) == 0);
    trove_model *m = NULL;
    CHECK_OK(bind_path(p, &m, &err));
    double X[] = {0.5, -1, 0.5, -0.5, 0.75, -9, NAN, -2, 0.0, NAN}, out[5];
    CHECK_OK(trove_model_predict(m, TROVE_FLOAT64, X, 5, 2, out, 5, &err));
    CHECK(out[0] == 10 && out[1] == 20 && out[2] == 30);
    CHECK(out[3] == 30); /* NaN <= t is false: right, without default_left */
    CHECK(out[4] == 20);
    trove_model_free(m);
    s.with_dl = 1;
    s.dl[0] = 1; /* missing x0 goes left at the root */
    s.dl[1] = 1;
    CHECK(write_tree(p, &s) == 0);
    CHECK_OK(bind_path(p, &m, &err));
    CHECK_OK(trove_model_predict(m, TROVE_FLOAT64, X, 5, 2, out, 5, &err));
    CHECK(out[3] == 10 && out[4] == 10);
    trove_model_free(m);
}

/* The small tree as a binary classifier (logistic link) with a temperature: proba =
 * expit(raw / temperature); temperatures that are not positive and finite, or on a link
 * other than softmax/logistic, are refused. */
static int write_tree_cls(const char *path, const tree_spec *s, const char *link, double temp)
{
    trove_value *c = cfg_new(s->n_features, "classification");
    int64_t cls[] = {0, 1};
    put(c, "classes", int_array(cls, 2));
    put(c, "n_outputs", trove_value_int(NULL, 1));
    put(c, "link", trove_value_cstring(NULL, link));
    put(c, "temperature", trove_value_float(NULL, temp));
    return write_tree_as(path, s, c);
}

static void test_model__tree_temperature(void)
{
    trove_error err;
    tree_spec s;
    small_tree(&s);
    s.value[2] = 3.0; /* leaves: 3, -1.5, 0.25 */
    s.value[3] = -1.5;
    s.value[4] = 0.25;
    const char *p = test_path("tree_temp.trove");
    const double temps[] = {1.0, 2.0, 0.5, 7.25};
    double X[] = {0.75, 0, 0.0, -2, 0.0, 0};
    const double raw[] = {3.0, -1.5, 0.25};
    for (size_t i = 0; i < sizeof temps / sizeof temps[0]; i++) {
        CHECK(write_tree_cls(p, &s, "logistic", temps[i]) == 0);
        trove_model *m = NULL;
        CHECK_OK(bind_path(p, &m, &err));
        double pr[6], dec[3];
        CHECK_OK(trove_model_predict_proba(m, TROVE_FLOAT64, X, 3, 2, pr, 6, &err));
        CHECK_OK(trove_model_decision_function(m, TROVE_FLOAT64, X, 3, 2, dec, 3, &err));
        for (int r = 0; r < 3; r++) {
            double want = 1.0 / (1.0 + exp(-(raw[r] / temps[i])));
            CHECK(dec[r] == raw[r]); /* the decision is the raw sum, whatever the temperature */
            CHECK(fabs(pr[2 * r + 1] - want) <= 1e-15 && fabs(pr[2 * r] - (1 - want)) <= 1e-15);
        }
        trove_model_free(m);
    }
    const struct { const char *link; double t; const char *why; } bad[] = {
        {"logistic", 0.0, "positive"}, {"logistic", -2.0, "positive"},
        {"logistic", NAN, "positive"}, {"logistic", INFINITY, "positive"},
        {"none", 2.0, "softmax and logistic"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        trove_model *m = NULL;
        CHECK(write_tree_cls(p, &s, bad[i].link, bad[i].t) == 0);
        CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL);
        CHECK(m == NULL && strstr(err.message, bad[i].why) != NULL);
    }
}

/* polynomial: out_j = prod x_i^powers[j][i], multiplied from the highest column down (as
 * sklearn's PolynomialFeatures builds its terms); bad powers are refused. */
static void test_model__polynomial(void)
{
    trove_error err;
    const char *p = test_path("poly.trove");
    /* columns: 1, x0, x1, x0^2, x0 x1, x1^2, x0^2 x1 */
    int16_t pw[] = {0, 0, 1, 0, 0, 1, 2, 0, 1, 1, 0, 2, 2, 1};
    tensor_def t[] = {{"powers", TROVE_INT16, 2, {7, 2}, pw}};
    CHECK(write_model(p, node("polynomial", cfg_new(2, "transform")), t, 1) == 0);
    trove_model *m = NULL;
    CHECK_OK(bind_path(p, &m, &err));
    double X[] = {3, -2, 0.1, 0.7, 1e200, 1e200}, out[21];
    CHECK_OK(trove_model_transform(m, TROVE_FLOAT64, X, 3, 2, out, 21, &err));
    for (int r = 0; r < 3; r++) {
        const double a = X[2 * r], b = X[2 * r + 1], *o = out + 7 * r;
        CHECK(o[0] == 1 && o[1] == a && o[2] == b && o[3] == a * a && o[4] == a * b &&
              o[5] == b * b && o[6] == a * (a * b));
    }
    CHECK(isinf(out[14 + 3])); /* overflow is IEEE's, as in numpy */
    trove_model_free(m);
    const struct { int16_t v; size_t at; const char *why; } bad[] = {
        {-1, 3, "powers must be >= 0"}, {65, 0, "at most 64"}, {63, 13, "at most 64"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int16_t b2[14];
        memcpy(b2, pw, sizeof pw);
        b2[bad[i].at] = bad[i].v;
        tensor_def tb[] = {{"powers", TROVE_INT16, 2, {7, 2}, b2}};
        CHECK(write_model(p, node("polynomial", cfg_new(2, "transform")), tb, 1) == 0);
        CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL);
        CHECK(m == NULL && strstr(err.message, bad[i].why) != NULL);
    }
    tensor_def tw[] = {{"powers", TROVE_INT16, 2, {7, 2}, pw}};
    CHECK(write_model(p, node("polynomial", cfg_new(3, "transform")), tw, 1) == 0);
    CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL); /* 2 columns of powers for 3 features */
}

/* scaler normalize / binarize: values against their definitions, bad parameters refused */
static void test_model__scaler_row_ops(void)
{
    trove_error err;
    const char *p = test_path("rowops.trove");
    double X[] = {3, -4, 0, 0, 0, 0, 0.5, 2, -2}, out[9];
    const struct { const char *op, *key, *sval; double fval; double want[9]; } ok[] = {
        {"normalize", "norm", "l2", 0, {0.6, -0.8, 0, 0, 0, 0, 0.5 / sqrt(8.25), 2 / sqrt(8.25),
                                        -2 / sqrt(8.25)}},
        {"normalize", "norm", "l1", 0, {3.0 / 7, -4.0 / 7, 0, 0, 0, 0, 0.5 / 4.5, 2 / 4.5,
                                        -2 / 4.5}},
        {"normalize", "norm", "max", 0, {0.75, -1, 0, 0, 0, 0, 0.25, 1, -1}},
        {"binarize", "threshold", NULL, 0.5, {1, 0, 0, 0, 0, 0, 0, 1, 0}},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        trove_value *c = cfg_new(3, "transform");
        put(c, "op", trove_value_cstring(NULL, ok[i].op));
        put(c, ok[i].key, ok[i].sval ? trove_value_cstring(NULL, ok[i].sval)
                                     : trove_value_float(NULL, ok[i].fval));
        CHECK(write_model(p, node("scaler", c), NULL, 0) == 0);
        trove_model *m = NULL;
        CHECK_OK(bind_path(p, &m, &err));
        CHECK_OK(trove_model_transform(m, TROVE_FLOAT64, X, 3, 3, out, 9, &err));
        for (int k = 0; k < 9; k++)
            CHECK(fabs(out[k] - ok[i].want[k]) <= 1e-15);
        trove_model_free(m);
    }
    trove_value *c = cfg_new(3, "transform");
    put(c, "op", trove_value_cstring(NULL, "normalize"));
    put(c, "norm", trove_value_cstring(NULL, "l3"));
    CHECK(write_model(p, node("scaler", c), NULL, 0) == 0);
    trove_model *m = NULL;
    CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL);
    CHECK(m == NULL && strstr(err.message, "l3") != NULL);
    c = cfg_new(3, "transform");
    put(c, "op", trove_value_cstring(NULL, "binarize"));
    put(c, "threshold", trove_value_float(NULL, NAN));
    CHECK(write_model(p, node("scaler", c), NULL, 0) == 0);
    CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL);
    CHECK(m == NULL && strstr(err.message, "NaN") != NULL);
}

static void expect_refused(const tree_spec *s, const char *needle)
{
    trove_error err;
    trove_model *m = NULL;
    const char *p = test_path("bad_tree.trove");
    CHECK(write_tree(p, s) == 0);
    CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL);
    CHECK(m == NULL);
    if (!strstr(err.message, needle)) {
        fprintf(stderr, "  message '%s' lacks '%s'\n", err.message, needle);
        test_fail(__FILE__, __LINE__, needle);
    }
}

static void test_model__hostile_trees_refused(void)
{
    tree_spec s;
    small_tree(&s);
    s.left[1] = 0; /* child points back to its parent */
    expect_refused(&s, "cycle");
    small_tree(&s);
    s.right[1] = 1; /* child is itself */
    expect_refused(&s, "cycle");
    small_tree(&s);
    s.right[0] = 5; /* node index out of range */
    expect_refused(&s, "out of range");
    small_tree(&s);
    s.left[0] = -7;
    expect_refused(&s, "out of range");
    small_tree(&s);
    s.right[1] = 2; /* node 2 has two parents: a DAG */
    expect_refused(&s, "two parents");
    small_tree(&s);
    s.feature[1] = 2; /* feature out of range */
    expect_refused(&s, "feature 2");
    small_tree(&s);
    s.thr[0] = NAN;
    expect_refused(&s, "NaN threshold");
    small_tree(&s);
    s.value[3] = INFINITY;
    expect_refused(&s, "non-finite");
    small_tree(&s);
    s.left[1] = -1; /* one child */
    expect_refused(&s, "one child");
    small_tree(&s);
    s.left[0] = 2; /* node 1 then has no parent */
    s.right[0] = 3;
    expect_refused(&s, "no parent");
    small_tree(&s);
    s.offsets[1] = 9; /* offsets past the node arrays: the tensors disagree */
    expect_refused(&s, "shape");
    /* a chain deeper than the limit: node 2k splits into 2k+1 (a leaf) and 2k+2 */
    memset(&s, 0, sizeof s);
    s.n_trees = 1;
    s.n_features = 1;
    s.n_nodes = 1201;
    s.offsets[1] = 1201;
    for (int i = 0; i < 1201; i++)
        s.left[i] = s.right[i] = -1;
    for (int i = 0; i + 2 < 1201; i += 2) {
        s.left[i] = i + 1;
        s.right[i] = i + 2;
    }
    expect_refused(&s, "deeper than");
}

static void test_model__hostile_shapes_and_classes(void)
{
    trove_error err;
    trove_model *m = NULL;
    const char *p = test_path("cls.trove");
    /* a classifier with 3 classes but 2 coefficient rows */
    trove_value *c = cfg_new(2, "classification");
    put(c, "link", trove_value_cstring(NULL, "softmax"));
    int64_t cls[] = {0, 1, 2};
    put(c, "classes", int_array(cls, 3));
    tensor_def t[] = {{"coef", TROVE_FLOAT64, 2, {2, 2}, LCOEF},
                      {"intercept", TROVE_FLOAT64, 1, {2, 0}, LICPT}};
    CHECK(write_model(p, node("linear", c), t, 2) == 0);
    CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL);
    CHECK(strstr(err.message, "3 classes") != NULL);
    /* wrong dtype */
    int32_t ic[4] = {1, 2, 3, 4};
    tensor_def t2[] = {{"coef", TROVE_INT32, 2, {2, 2}, ic},
                       {"intercept", TROVE_FLOAT64, 1, {2, 0}, LICPT}};
    c = cfg_new(2, "regression");
    CHECK(write_model(p, node("linear", c), t2, 2) == 0);
    CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL);
    CHECK(strstr(err.message, "dtype int32") != NULL);
    /* non-finite weights */
    double nanw[4] = {1, NAN, 0, 0};
    tensor_def t3[] = {{"coef", TROVE_FLOAT64, 2, {2, 2}, nanw},
                       {"intercept", TROVE_FLOAT64, 1, {2, 0}, LICPT}};
    CHECK(write_model(p, node("linear", cfg_new(2, "regression")), t3, 2) == 0);
    CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL);
    CHECK(strstr(err.message, "not finite") != NULL);
    /* an mlp whose second layer does not take the first one's width */
    double w[12] = {0};
    trove_value *mc = cfg_new(2, "regression");
    trove_value *acts = trove_value_array(NULL);
    CHECK(trove_value_array_take(acts, trove_value_cstring(NULL, "relu")) == 0);
    put(mc, "activations", acts);
    put(mc, "output_activation", trove_value_cstring(NULL, "identity"));
    tensor_def t4[] = {{"layers/0/weight", TROVE_FLOAT64, 2, {3, 2}, w},
                       {"layers/0/bias", TROVE_FLOAT64, 1, {3, 0}, w},
                       {"layers/1/weight", TROVE_FLOAT64, 2, {1, 4}, w},
                       {"layers/1/bias", TROVE_FLOAT64, 1, {1, 0}, w}};
    CHECK(write_model(p, node("mlp", mc), t4, 4) == 0);
    CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL);
    CHECK(strstr(err.message, "layers/1/weight") != NULL);
}

/* pipeline: scaler (x - 1) / 2 on 2 features, then the linear model under steps/1/ */
static int write_pipeline(const char *path, int64_t scaler_features)
{
    trove_value *sc = cfg_new(scaler_features, NULL);
    put(sc, "op", trove_value_cstring(NULL, "standardize"));
    trove_value *s0 = node("scaler", sc);
    put(s0, "name", trove_value_cstring(NULL, "scale"));
    trove_value *lc = cfg_new(2, "regression");
    trove_value *s1 = node("linear", lc);
    put(s1, "name", trove_value_cstring(NULL, "lin"));
    trove_value *steps = trove_value_array(NULL);
    if (trove_value_array_take(steps, s0) || trove_value_array_take(steps, s1))
        return -1;
    trove_value *pc = cfg_new(scaler_features, NULL);
    put(pc, "steps", steps);
    static const double center[3] = {1, 1, 1}, scale[3] = {2, 2, 2};
    tensor_def t[] = {{"steps/0/center", TROVE_FLOAT64, 1, {(uint64_t)scaler_features, 0}, center},
                      {"steps/0/scale", TROVE_FLOAT64, 1, {(uint64_t)scaler_features, 0}, scale},
                      {"steps/1/coef", TROVE_FLOAT64, 2, {2, 2}, LCOEF},
                      {"steps/1/intercept", TROVE_FLOAT64, 1, {2, 0}, LICPT}};
    return write_model(path, node("pipeline", pc), t, 4);
}

static void test_model__pipeline(void)
{
    trove_error err;
    trove_model *m = NULL;
    const char *p = test_path("pipe.trove");
    CHECK(write_pipeline(p, 2) == 0);
    CHECK_OK(bind_path(p, &m, &err));
    CHECK(!strcmp(trove_model_kind(m), "pipeline"));
    double X[4] = {3, 5, -1, 1}, out[4];
    CHECK_OK(trove_model_predict(m, TROVE_FLOAT64, X, 2, 2, out, 4, &err));
    /* scaled (1, 2) and (-1, 0) */
    CHECK(out[0] == 2 * 1.0 - 2.0 + 0.5 && out[1] == 3.0);
    CHECK(out[2] == -2.0 + 0.5 && out[3] == 1.0);
    trove_model_free(m);
    CHECK(write_pipeline(p, 3) == 0); /* scaler gives 3 columns, linear takes 2 */
    CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL);
    CHECK(strstr(err.message, "step 1 takes 2 features but step 0 gives 3") != NULL);
}

typedef struct job {
    const trove_model *m;
    const double *X;
    double *out;
    size_t rows;
    int rc;
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    for (int rep = 0; rep < 20 && j->rc == 0; rep++)
        j->rc = trove_model_predict(j->m, TROVE_FLOAT64, j->X, j->rows, 2, j->out, j->rows,
                                    NULL);
    return NULL;
}

static void test_model__concurrent_predicts(void)
{
    trove_error err;
    tree_spec s;
    small_tree(&s);
    const char *p = test_path("tree_mt.trove");
    CHECK(write_tree(p, &s) == 0);
    trove_model *m = NULL;
    CHECK_OK(bind_path(p, &m, &err));
    enum { N = 5000 };
    double *X = malloc(N * 2 * sizeof(double)), *o1 = malloc(N * sizeof(double)),
           *o2 = malloc(N * sizeof(double)), *ref = malloc(N * sizeof(double));
    CHECK(X && o1 && o2 && ref);
    for (int i = 0; i < N; i++) {
        X[2 * i] = (i % 17) / 16.0;
        X[2 * i + 1] = -2 + (i % 13) / 4.0;
        ref[i] = X[2 * i] <= 0.5 ? (X[2 * i + 1] <= -1 ? 10 : 20) : 30;
    }
    job a = {m, X, o1, N, 0}, b = {m, X, o2, N, 0};
    pthread_t ta, tb;
    CHECK(pthread_create(&ta, NULL, run_job, &a) == 0);
    CHECK(pthread_create(&tb, NULL, run_job, &b) == 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK(a.rc == 0 && b.rc == 0);
    CHECK(memcmp(o1, ref, N * sizeof(double)) == 0);
    CHECK(memcmp(o2, ref, N * sizeof(double)) == 0);
    free(X);
    free(o1);
    free(o2);
    free(ref);
    trove_model_free(m);
}

static int write_classifier(const char *path)
{
    trove_value *c = cfg_new(2, "classification");
    put(c, "link", trove_value_cstring(NULL, "softmax"));
    trove_value *cls = trove_value_array(NULL);
    if (trove_value_array_take(cls, trove_value_cstring(NULL, "cat")) ||
        trove_value_array_take(cls, trove_value_int(NULL, -3)) ||
        trove_value_array_take(cls, trove_value_float(NULL, 2.5)))
        return -1;
    put(c, "classes", cls);
    static const double coef[6] = {1, 0, 0, 1, -1, -1}, icpt[3] = {0, 0, 0.5};
    tensor_def t[] = {{"coef", TROVE_FLOAT64, 2, {3, 2}, coef},
                      {"intercept", TROVE_FLOAT64, 1, {3, 0}, icpt}};
    return write_model(path, node("linear", c), t, 2);
}

static void test_model__classifier_labels(void)
{
    trove_error err;
    const char *p = test_path("clf.trove");
    CHECK(write_classifier(p) == 0);
    trove_model *m = NULL;
    CHECK_OK(bind_path(p, &m, &err));
    CHECK(trove_model_is_classifier(m) && trove_model_n_classes(m) == 3);
    const char *s = NULL;
    CHECK(trove_value_get_string(trove_model_class(m, 0), &s, NULL) == TROVE_OK);
    CHECK(!strcmp(s, "cat"));
    CHECK(trove_model_class(m, 3) == NULL);
    /* rows: argmax of (x0, x1, 0.5 - x0 - x1) */
    double X[6] = {3, 1, 0, 2, -4, -4}, out[9], sum;
    CHECK_OK(trove_model_predict(m, TROVE_FLOAT64, X, 3, 2, out, 3, &err));
    CHECK(out[0] == 0 && out[1] == 1 && out[2] == 2); /* a string among the labels: indices */
    CHECK_OK(trove_model_predict_proba(m, TROVE_FLOAT64, X, 3, 2, out, 9, &err));
    for (int r = 0; r < 3; r++) {
        sum = out[3 * r] + out[3 * r + 1] + out[3 * r + 2];
        CHECK(fabs(sum - 1.0) < 1e-15);
    }
    double e0 = exp(3 - 3), e1 = exp(1 - 3), e2 = exp(0.5 - 4 - 3);
    CHECK(fabs(out[0] - e0 / (e0 + e1 + e2)) < 1e-15);
    CHECK_OK(trove_model_decision_function(m, TROVE_FLOAT64, X, 3, 2, out, 9, &err));
    CHECK(out[0] == 3 && out[1] == 1 && out[2] == 0.5 - 4);
    CHECK_RC(trove_model_transform(m, TROVE_FLOAT64, X, 3, 2, out, 9, &err), TROVE_E_UNSUPPORTED);
    trove_model_free(m);
}

static void test_model__oom_torture(void)
{
    trove_error err;
    const char *paths[2] = {test_path("pipe_oom.trove"), test_path("clf_oom.trove")};
    CHECK(write_pipeline(paths[0], 2) == 0);
    CHECK(write_classifier(paths[1]) == 0);
    for (int which = 0; which < 2; which++) {
        trove_file *f = NULL;
        CHECK_OK(trove_open(&f, paths[which], NULL, &err));
        int ok = 0;
        for (long n = 1; n < 500 && !ok; n++) {
            test_alloc ta;
            test_alloc_init(&ta, n);
            trove_model *m = NULL;
            int rc = trove_model_open(&m, f, &ta.a, &err);
            if (rc == TROVE_OK) {
                double X[2] = {3, 5}, out[3];
                int prc = trove_model_predict(m, TROVE_FLOAT64, X, 1, 2, out, 3, &err);
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

/* Mutation fuzzing of tensor bytes (indices, thresholds, values, offsets) of a tree model and a
 * pipeline: every bind either refuses with TROVE_E_MODEL or yields a model whose predictions
 * on ordinary and hostile inputs (NaN, inf) run clean (ASan/UBSan build). */
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

static void test_model__mutated_tensors(void)
{
    tree_spec s;
    small_tree(&s);
    s.with_dl = 1;
    const char *p = test_path("fuzz_tree.trove");
    CHECK(write_tree(p, &s) == 0);
    mutate_and_bind(p, 1, 3000);
    const char *q = test_path("fuzz_pipe.trove");
    CHECK(write_pipeline(q, 2) == 0);
    mutate_and_bind(q, 2, 1000);
}

/* Pipelines nested `depth` deep around one scaler (steps/0/steps/0/.../center). */
static int write_nested(const char *path, int depth)
{
    trove_value *sc = cfg_new(1, NULL);
    put(sc, "op", trove_value_cstring(NULL, "standardize"));
    trove_value *n = node("scaler", sc);
    char name[1024] = "";
    for (int i = 0; i < depth; i++) {
        put(n, "name", trove_value_cstring(NULL, "s"));
        trove_value *steps = trove_value_array(NULL);
        if (trove_value_array_take(steps, n))
            return -1;
        trove_value *pc = cfg_new(1, NULL);
        put(pc, "steps", steps);
        n = node("pipeline", pc);
        strcat(name, "steps/0/");
    }
    static const double one[1] = {1}, two[1] = {2};
    char cn[1100], sn[1100];
    snprintf(cn, sizeof cn, "%scenter", name);
    snprintf(sn, sizeof sn, "%sscale", name);
    tensor_def t[] = {{cn, TROVE_FLOAT64, 1, {1, 0}, one}, {sn, TROVE_FLOAT64, 1, {1, 0}, two}};
    return write_model(path, n, t, 2);
}

static void test_model__nesting_limit(void)
{
    trove_error err;
    trove_model *m = NULL;
    const char *p = test_path("nested.trove");
    CHECK(write_nested(p, (int)TROVE_MODEL_MAX_NESTING) == 0);
    CHECK_OK(bind_path(p, &m, &err));
    double x = 5, y = 0;
    CHECK(trove_model_n_outputs(m, TROVE_MODEL_TRANSFORM) == 1);
    CHECK_OK(trove_model_transform(m, TROVE_FLOAT64, &x, 1, 1, &y, 1, &err));
    CHECK(y == 2.0);
    trove_model_free(m);
    CHECK(write_nested(p, (int)TROVE_MODEL_MAX_NESTING + 1) == 0);
    CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL);
    CHECK(strstr(err.message, "nested deeper") != NULL);
}

TEST_MAIN(T(test_model__linear_predicts_its_definition), T(test_model__linear_shapes_disagree),
          T(test_model__plain_file_and_versions), T(test_model__tree_predicts_and_missing_values),
          T(test_model__tree_temperature), T(test_model__polynomial),
          T(test_model__scaler_row_ops),
          T(test_model__hostile_trees_refused), T(test_model__hostile_shapes_and_classes),
          T(test_model__pipeline), T(test_model__concurrent_predicts),
          T(test_model__oom_torture), T(test_model__mutated_tensors),
          T(test_model__classifier_labels), T(test_model__nesting_limit))
