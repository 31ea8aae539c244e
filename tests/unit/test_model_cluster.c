/* test_model_cluster.c: the discrete naive_bayes distributions (multinomial, complement,
 * bernoulli), kmeans and decomposition kinds from C: hand-built models against their definition
 * (docs/MODELS.md 2), hostile models refused with TROVE_E_MODEL naming the key or tensor, OOM
 * torture of bind and predict, and mutated tensor bytes (never a crash, a leak or a wrong code). */
#include <math.h>
#include <stdlib.h>

#include "codecs/codecs_internal.h"
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

static char *own_path(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s", test_path(name));
    return buf;
}

/* ---- naive_bayes: 3 classes, 4 features ---------------------------------------------------- */

typedef struct nb_spec {
    const char *dist;
    double flp[12];  /* [3, 4] */
    double clp[3];
    uint64_t flp_rows, clp_len;
    int with_prior, binarize_kind; /* binarize: 0 absent, 1 number, 2 null, 3 a string */
    double thr;
} nb_spec;

static void nb_default(nb_spec *s, const char *dist)
{
    static const nb_spec d = {"multinomial",
                              {-1.2, -2.0, -0.7, -3.1, -0.4, -1.9, -2.2, -1.1, -2.5, -0.3, -1.6,
                               -0.9},
                              {-1.0, -1.5, -0.9}, 3, 3, 1, 0, 0.0};
    *s = d;
    s->dist = dist;
    s->with_prior = strcmp(dist, "complement") != 0;
    if (!strcmp(dist, "bernoulli"))
        s->binarize_kind = 1, s->thr = 0.5;
}

static int write_nb(const char *path, const nb_spec *s)
{
    trove_value *c = trove_value_map(NULL), *cls = trove_value_array(NULL);
    put(c, "n_features", trove_value_int(NULL, 4));
    put(c, "task", trove_value_cstring(NULL, "classification"));
    for (int i = 0; i < 3; i++)
        if (trove_value_array_take(cls, trove_value_int(NULL, 7 + i)))
            break;
    put(c, "classes", cls);
    put(c, "distribution", trove_value_cstring(NULL, s->dist));
    if (s->binarize_kind == 1)
        put(c, "binarize", trove_value_float(NULL, s->thr));
    else if (s->binarize_kind == 2)
        put(c, "binarize", trove_value_null(NULL));
    else if (s->binarize_kind == 3)
        put(c, "binarize", trove_value_cstring(NULL, "half"));
    tensor_def t[] = {{"feature_log_prob", TROVE_FLOAT64, 2, {s->flp_rows, 4}, s->flp},
                      {"class_log_prior", TROVE_FLOAT64, 1, {s->clp_len, 0}, s->clp}};
    return write_model(path, node("naive_bayes", c), t, s->with_prior ? 2 : 1);
}

/* The joint log likelihood of the spec at x, by sklearn's definitions. */
static void nb_reference(const nb_spec *s, const double *x, double *jll)
{
    for (int k = 0; k < 3; k++) {
        double sum = 0, negsum = 0;
        for (int i = 0; i < 4; i++) {
            double w = s->flp[4 * k + i], xi = x[i];
            if (!strcmp(s->dist, "bernoulli")) {
                double neg = log(1 - exp(w));
                if (s->binarize_kind == 1)
                    xi = xi > s->thr ? 1 : 0;
                sum += xi * (w - neg);
                negsum += neg;
            } else {
                sum += xi * w;
            }
        }
        jll[k] = sum + (s->with_prior ? s->clp[k] + negsum : 0);
    }
}

static void test_model_cluster__naive_bayes_discrete(void)
{
    trove_error err;
    char p[512];
    own_path(p, sizeof p, "nbd.trove");
    const char *dists[] = {"multinomial", "complement", "bernoulli", "bernoulli"};
    const double X[20] = {0, 1, 3, 0, 2, 2, 0, 1, 0.4, 0.6, 0.5, 5, 0, 0, 0, 0, 9, 0, 0, 40};
    for (int v = 0; v < 4; v++) {
        nb_spec s;
        nb_default(&s, dists[v]);
        if (v == 3)
            s.binarize_kind = 2; /* binarize=None: the input is used as given */
        CHECK(write_nb(p, &s) == 0);
        trove_model *m = NULL;
        CHECK_OK(bind_path(p, &m, &err));
        CHECK(trove_model_is_classifier(m) && trove_model_n_classes(m) == 3);
        CHECK(trove_model_n_outputs(m, TROVE_MODEL_PROBA) == 3);
        CHECK(trove_model_n_outputs(m, TROVE_MODEL_DECISION) == 0);
        double pr[15], lab[5];
        CHECK_OK(trove_model_predict_proba(m, TROVE_FLOAT64, X, 5, 4, pr, 15, &err));
        CHECK_OK(trove_model_predict(m, TROVE_FLOAT64, X, 5, 4, lab, 5, &err));
        for (int r = 0; r < 5; r++) {
            double j[3];
            nb_reference(&s, X + 4 * r, j);
            int best = 0;
            for (int k = 1; k < 3; k++)
                best = j[k] > j[best] ? k : best;
            CHECK(lab[r] == 7.0 + best);
            double mx = j[best], se = 0;
            for (int k = 0; k < 3; k++)
                se += exp(j[k] - mx);
            for (int k = 0; k < 3; k++)
                CHECK(fabs(pr[3 * r + k] - exp(j[k] - mx - log(se))) < 1e-12);
        }
        trove_model_free(m);
    }
}

static void expect_nb_refused(const nb_spec *s, const char *needle)
{
    trove_error err;
    char p[512];
    own_path(p, sizeof p, "nbd_bad.trove");
    CHECK(write_nb(p, s) == 0);
    trove_model *m = NULL;
    int rc = bind_path(p, &m, &err);
    if (rc != TROVE_E_MODEL || !strstr(err.message, needle))
        fprintf(stderr, "  expected TROVE_E_MODEL with '%s', got %d: %s\n", needle, rc,
                err.message);
    CHECK(rc == TROVE_E_MODEL);
    CHECK(strstr(err.message, needle) != NULL);
    CHECK(m == NULL);
}

static void test_model_cluster__hostile_naive_bayes(void)
{
    nb_spec s;
    nb_default(&s, "poisson");
    expect_nb_refused(&s, "distribution");
    nb_default(&s, "multinomial");
    s.flp_rows = 2;
    expect_nb_refused(&s, "feature_log_prob");
    nb_default(&s, "multinomial");
    s.flp[5] = NAN;
    expect_nb_refused(&s, "not finite");
    nb_default(&s, "multinomial");
    s.clp_len = 2;
    expect_nb_refused(&s, "class_log_prior");
    nb_default(&s, "multinomial");
    s.clp[1] = 0.25;
    expect_nb_refused(&s, "'class_log_prior'[1]");
    nb_default(&s, "multinomial");
    s.with_prior = 0;
    expect_nb_refused(&s, "class_log_prior");
    nb_default(&s, "multinomial");
    s.binarize_kind = 1;
    expect_nb_refused(&s, "binarize");
    nb_default(&s, "bernoulli");
    s.flp[7] = 0.0;
    expect_nb_refused(&s, "< 0");
    nb_default(&s, "bernoulli");
    s.flp[3] = -1e-300; /* log(1 - exp(w)) = -inf */
    expect_nb_refused(&s, "log(1 - p)");
    nb_default(&s, "bernoulli");
    s.binarize_kind = 3;
    expect_nb_refused(&s, "binarize");
    nb_default(&s, "bernoulli");
    s.thr = NAN;
    expect_nb_refused(&s, "binarize");
}

/* ---- naive_bayes categorical: 2 classes, features of 2 and 3 categories --------------------- */

static int write_cat(const char *path, const int64_t *offs, uint64_t total, const double *flp)
{
    static const double clp[2] = {-0.5, -0.9};
    trove_value *c = trove_value_map(NULL), *cls = trove_value_array(NULL);
    put(c, "n_features", trove_value_int(NULL, 2));
    put(c, "task", trove_value_cstring(NULL, "classification"));
    if (trove_value_array_take(cls, trove_value_cstring(NULL, "a")) ||
        trove_value_array_take(cls, trove_value_cstring(NULL, "b")))
        return -1;
    put(c, "classes", cls);
    put(c, "distribution", trove_value_cstring(NULL, "categorical"));
    tensor_def t[] = {{"category_log_prob", TROVE_FLOAT64, 2, {2, total}, flp},
                      {"offsets", TROVE_INT64, 1, {3, 0}, offs},
                      {"class_log_prior", TROVE_FLOAT64, 1, {2, 0}, clp}};
    return write_model(path, node("naive_bayes", c), t, 3);
}

static void test_model_cluster__naive_bayes_categorical(void)
{
    trove_error err;
    char p[512];
    own_path(p, sizeof p, "cat.trove");
    const int64_t offs[3] = {0, 2, 5};
    const double flp[10] = {-0.2, -1.7, -1.0, -0.6, -2.0, /* class a */
                            -1.3, -0.3, -0.4, -2.5, -1.1}; /* class b */
    const double clp[2] = {-0.5, -0.9};
    CHECK(write_cat(p, offs, 5, flp) == 0);
    trove_model *m = NULL;
    CHECK_OK(bind_path(p, &m, &err));
    /* codes, fractional ones truncated toward zero as numpy's astype(int) does */
    const double X[10] = {0, 0, 1, 2, 1.9, 1.2, -0.7, 2.99, 0, 1};
    double pr[10], lab[5];
    CHECK_OK(trove_model_predict_proba(m, TROVE_FLOAT64, X, 5, 2, pr, 10, &err));
    CHECK_OK(trove_model_predict(m, TROVE_FLOAT64, X, 5, 2, lab, 5, &err));
    for (int r = 0; r < 5; r++) {
        int c0 = (int)X[2 * r], c1 = (int)X[2 * r + 1];
        double j[2];
        for (int k = 0; k < 2; k++)
            j[k] = (0.0 + flp[5 * k + c0] + flp[5 * k + 2 + c1]) + clp[k];
        CHECK(lab[r] == (j[1] > j[0] ? 1.0 : 0.0)); /* text classes: the index */
        double mx = j[0] > j[1] ? j[0] : j[1];
        double lse = mx + log(exp(j[0] - mx) + exp(j[1] - mx));
        CHECK(fabs(pr[2 * r] - exp(j[0] - lse)) < 1e-12);
        CHECK(fabs(pr[2 * r + 1] - exp(j[1] - lse)) < 1e-12);
    }
    /* a code past the table, a negative one, NaN: refused naming row and column */
    const double bad[3][2] = {{0, 3}, {-1, 0}, {NAN, 0}};
    const char *where[3] = {"row 0, column 1", "row 0, column 0", "row 0, column 0"};
    for (int i = 0; i < 3; i++) {
        CHECK_RC(trove_model_predict(m, TROVE_FLOAT64, bad[i], 1, 2, lab, 1, &err),
                 TROVE_E_INVALID);
        CHECK(strstr(err.message, where[i]) != NULL);
    }
    trove_model_free(m);
    /* hostile tables */
    const int64_t empty[3] = {0, 2, 2}, late[3] = {1, 2, 5}, wide[3] = {0, 2, 6};
    const char *needle[3] = {"'offsets'[2]", "'offsets'[0]", "category_log_prob"};
    const int64_t *bo[3] = {empty, late, wide};
    for (int i = 0; i < 3; i++) {
        CHECK(write_cat(p, bo[i], 5, flp) == 0);
        CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL);
        CHECK(strstr(err.message, needle[i]) != NULL);
    }
    double pos[10];
    memcpy(pos, flp, sizeof pos);
    pos[7] = 0.1;
    CHECK(write_cat(p, offs, 5, pos) == 0);
    CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL);
    CHECK(strstr(err.message, "'category_log_prob'[1][2]") != NULL);
}

/* ---- kmeans ------------------------------------------------------------------------------- */

static int write_kmeans(const char *path, const double *c, uint64_t k, uint64_t d, int64_t nc)
{
    trove_value *cfg = trove_value_map(NULL);
    put(cfg, "n_features", trove_value_int(NULL, 2));
    if (nc >= 0)
        put(cfg, "n_clusters", trove_value_int(NULL, nc));
    tensor_def t[] = {{"centers", TROVE_FLOAT64, 2, {k, d}, c}};
    return write_model(path, node("kmeans", cfg), t, 1);
}

static void test_model_cluster__kmeans(void)
{
    trove_error err;
    char p[512];
    own_path(p, sizeof p, "km.trove");
    const double c[6] = {0, 0, 3, 4, -3, 4};
    CHECK(write_kmeans(p, c, 3, 2, 3) == 0);
    trove_model *m = NULL;
    CHECK_OK(bind_path(p, &m, &err));
    CHECK(!trove_model_is_classifier(m));
    CHECK(trove_model_n_outputs(m, TROVE_MODEL_PREDICT) == 1);
    CHECK(trove_model_n_outputs(m, TROVE_MODEL_TRANSFORM) == 3);
    CHECK(trove_model_n_outputs(m, TROVE_MODEL_PROBA) == 0);
    /* [0, 4]: at distance 3 from centres 1 and 2 (exactly, in sklearn's |c|^2 - 2 x.c too):
     * the first wins; [1.5, 2]: at 2.5 from centres 0 and 1: centre 0 */
    const double X[10] = {0, 0, 3, 4, 0, 4, 1.5, 2, -2.9, 4.2};
    const double want[5] = {0, 1, 1, 0, 2};
    double lab[5], d[15];
    CHECK_OK(trove_model_predict(m, TROVE_FLOAT64, X, 5, 2, lab, 5, &err));
    for (int r = 0; r < 5; r++)
        CHECK(lab[r] == want[r]);
    CHECK_OK(trove_model_transform(m, TROVE_FLOAT64, X, 5, 2, d, 15, &err));
    for (int r = 0; r < 5; r++)
        for (int j = 0; j < 3; j++) {
            double dx = X[2 * r] - c[2 * j], dy = X[2 * r + 1] - c[2 * j + 1];
            CHECK(fabs(d[3 * r + j] - sqrt(dx * dx + dy * dy)) < 1e-12);
        }
    CHECK(d[0] == 0 && d[1] == 5 && d[4] == 0); /* exact at the centres of small integers */
    float Xf[2] = {2.9f, 3.9f};
    CHECK_OK(trove_model_predict(m, TROVE_FLOAT32, Xf, 1, 2, lab, 1, &err));
    CHECK(lab[0] == 1);
    double Xn[2] = {NAN, 1}; /* NaN: every comparison false, the first centre (documented) */
    CHECK_OK(trove_model_predict(m, TROVE_FLOAT64, Xn, 1, 2, lab, 1, &err));
    CHECK(lab[0] == 0);
    CHECK_OK(trove_model_transform(m, TROVE_FLOAT64, Xn, 1, 2, d, 3, &err));
    CHECK(isnan(d[0]));
    trove_model_free(m);
    /* hostile */
    CHECK(write_kmeans(p, c, 3, 2, 4) == 0);
    CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL);
    CHECK(strstr(err.message, "n_clusters") != NULL);
    CHECK(write_kmeans(p, c, 2, 3, -1) == 0);
    CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL);
    CHECK(strstr(err.message, "'centers'") != NULL);
    const double big[2] = {1e200, -1e200}, bad[2] = {0, INFINITY};
    CHECK(write_kmeans(p, big, 1, 2, -1) == 0);
    CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL);
    CHECK(strstr(err.message, "overflows") != NULL);
    CHECK(write_kmeans(p, bad, 1, 2, -1) == 0);
    CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL);
    CHECK(strstr(err.message, "not finite") != NULL);
}

/* ---- decomposition ------------------------------------------------------------------------ */

static int write_decomp(const char *path, int mean, int whiten, const double *ev, uint64_t evn)
{
    static const double comp[6] = {0.6, 0.8, 0, -0.8, 0.6, 0.5}, mu[3] = {1, -2, 0.5};
    trove_value *cfg = trove_value_map(NULL);
    put(cfg, "n_features", trove_value_int(NULL, 3));
    if (whiten)
        put(cfg, "whiten", trove_value_bool(NULL, whiten > 0));
    tensor_def t[3] = {{"components", TROVE_FLOAT64, 2, {2, 3}, comp}};
    size_t n = 1;
    if (mean)
        t[n++] = (tensor_def){"mean", TROVE_FLOAT64, 1, {3, 0}, mu};
    if (ev)
        t[n++] = (tensor_def){"explained_variance", TROVE_FLOAT64, 1, {evn, 0}, ev};
    return write_model(path, node("decomposition", cfg), t, n);
}

static void test_model_cluster__decomposition(void)
{
    trove_error err;
    char p[512];
    own_path(p, sizeof p, "dec.trove");
    static const double comp[6] = {0.6, 0.8, 0, -0.8, 0.6, 0.5}, mu[3] = {1, -2, 0.5};
    const double ev[2] = {4.0, 0.25};
    const double X[6] = {1, 2, 3, -0.5, 0, 10};
    for (int v = 0; v < 3; v++) { /* no mean (TruncatedSVD), mean, mean + whiten */
        CHECK(write_decomp(p, v > 0, v == 2, v == 2 ? ev : NULL, 2) == 0);
        trove_model *m = NULL;
        CHECK_OK(bind_path(p, &m, &err));
        CHECK(trove_model_n_outputs(m, TROVE_MODEL_TRANSFORM) == 2);
        CHECK(trove_model_n_outputs(m, TROVE_MODEL_PREDICT) == 0);
        double y[4];
        CHECK_OK(trove_model_transform(m, TROVE_FLOAT64, X, 2, 3, y, 4, &err));
        for (int r = 0; r < 2; r++)
            for (int j = 0; j < 2; j++) {
                double s = 0;
                for (int i = 0; i < 3; i++)
                    s += (X[3 * r + i] - (v ? mu[i] : 0)) * comp[3 * j + i];
                if (v == 2)
                    s /= sqrt(ev[j]);
                CHECK(y[2 * r + j] == s); /* same operations, same order: bit-identical */
            }
        double lab[2];
        CHECK_RC(trove_model_predict(m, TROVE_FLOAT64, X, 2, 3, lab, 2, &err),
                 TROVE_E_UNSUPPORTED);
        trove_model_free(m);
    }
    trove_model *m = NULL;
    CHECK(write_decomp(p, 1, 1, NULL, 0) == 0);
    CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL);
    CHECK(strstr(err.message, "explained_variance") != NULL);
    const double ev0[2] = {1.0, 0.0};
    CHECK(write_decomp(p, 1, 1, ev0, 2) == 0);
    CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL);
    CHECK(strstr(err.message, "'explained_variance'[1]") != NULL);
    CHECK(write_decomp(p, 1, 1, ev, 1) == 0);
    CHECK_RC(bind_path(p, &m, &err), TROVE_E_MODEL);
    CHECK(strstr(err.message, "explained_variance") != NULL);
    CHECK(write_decomp(p, 0, -1, NULL, 0) == 0); /* whiten: false is fine without variances */
    CHECK_OK(bind_path(p, &m, &err));
    trove_model_free(m);
}

/* ---- a pipeline: decomposition -> kmeans (a transform that also predicts) ----------------- */

static void test_model_cluster__pipeline(void)
{
    trove_error err;
    char p[512];
    own_path(p, sizeof p, "pipe.trove");
    static const double comp[6] = {1, 0, 0, 0, 1, 0}, cen[4] = {0, 0, 10, 10};
    trove_value *d = trove_value_map(NULL), *k = trove_value_map(NULL);
    put(d, "n_features", trove_value_int(NULL, 3));
    put(k, "n_features", trove_value_int(NULL, 2));
    trove_value *s0 = node("decomposition", d), *s1 = node("kmeans", k);
    put(s0, "name", trove_value_cstring(NULL, "pca"));
    put(s1, "name", trove_value_cstring(NULL, "km"));
    trove_value *steps = trove_value_array(NULL), *cfg = trove_value_map(NULL);
    if (trove_value_array_take(steps, s0) || trove_value_array_take(steps, s1))
        return;
    put(cfg, "n_features", trove_value_int(NULL, 3));
    put(cfg, "steps", steps);
    tensor_def t[] = {{"steps/0/components", TROVE_FLOAT64, 2, {2, 3}, comp},
                      {"steps/1/centers", TROVE_FLOAT64, 2, {2, 2}, cen}};
    CHECK(write_model(p, node("pipeline", cfg), t, 2) == 0);
    trove_model *m = NULL;
    CHECK_OK(bind_path(p, &m, &err));
    CHECK(trove_model_n_outputs(m, TROVE_MODEL_PREDICT) == 1);
    CHECK(trove_model_n_outputs(m, TROVE_MODEL_TRANSFORM) == 2);
    const double X[6] = {1, 1, 100, 9, 8, -100};
    double lab[2], dist[4];
    CHECK_OK(trove_model_predict(m, TROVE_FLOAT64, X, 2, 3, lab, 2, &err));
    CHECK(lab[0] == 0 && lab[1] == 1);
    CHECK_OK(trove_model_transform(m, TROVE_FLOAT64, X, 2, 3, dist, 4, &err));
    CHECK(fabs(dist[0] - sqrt(2.0)) < 1e-12 && fabs(dist[3] - sqrt(5.0)) < 1e-12);
    trove_model_free(m);
}

/* ---- OOM torture: bind and run each kind with the Nth allocation failing ------------------ */

static void test_model_cluster__oom_torture(void)
{
    trove_error err;
    char paths[4][512];
    nb_spec s;
    nb_default(&s, "bernoulli");
    const double c[6] = {0, 0, 3, 4, -3, 4}, ev[2] = {4.0, 0.25};
    CHECK(write_nb(own_path(paths[0], sizeof paths[0], "nb_oom.trove"), &s) == 0);
    CHECK(write_kmeans(own_path(paths[1], sizeof paths[1], "km_oom.trove"), c, 3, 2, 3) == 0);
    CHECK(write_decomp(own_path(paths[2], sizeof paths[2], "dec_oom.trove"), 1, 1, ev, 2) == 0);
    const int64_t offs[3] = {0, 2, 4};
    const double flp[8] = {-1, -2, -1, -2, -2, -1, -2, -1};
    CHECK(write_cat(own_path(paths[3], sizeof paths[3], "cat_oom.trove"), offs, 4, flp) == 0);
    for (int which = 0; which < 4; which++) {
        trove_file *f = NULL;
        CHECK_OK(trove_open(&f, paths[which], NULL, &err));
        const size_t nf = which == 0 ? 4 : which == 2 ? 3 : 2;
        int ok = 0;
        for (long n = 1; n < 300 && !ok; n++) {
            test_alloc ta;
            test_alloc_init(&ta, n);
            trove_model *m = NULL;
            int rc = trove_model_open(&m, f, &ta.a, &err);
            if (rc != TROVE_OK) {
                CHECK(rc == TROVE_E_NOMEM);
                CHECK(m == NULL);
                CHECK(ta.live == 0);
                continue;
            }
            const double X[4] = {0.3, -0.2, 1, 2};
            double out[3];
            const double Xc[2] = {1, 0};
            const int nb = which == 0 || which == 3;
            trove_model_op op = nb ? TROVE_MODEL_PROBA : TROVE_MODEL_TRANSFORM;
            int prc = trove_model_run(m, op, TROVE_FLOAT64, which == 3 ? Xc : X, 1, nf, out, 3,
                                      &err);
            if (prc == TROVE_OK && which != 2)
                prc = trove_model_predict(m, TROVE_FLOAT64, X, 1, nf, out, 3, &err);
            trove_model_free(m);
            CHECK(ta.live == 0);
            if (prc == TROVE_OK)
                ok = 1;
            else
                CHECK(prc == TROVE_E_NOMEM);
        }
        CHECK(ok);
        trove_close(f);
    }
}

/* ---- mutation fuzzing of the tensor bytes (as in test_model_more.c) ------------------------ */

static void mutate_and_bind(const char *path, unsigned seed, int rounds, int want_refused)
{
    trove_error err;
    size_t len = 0;
    unsigned char *orig = test_read_file(path, &len);
    CHECK(orig != NULL);
    trove_file *f = NULL;
    CHECK_OK(trove_open_memory(&f, orig, len, NULL, &err));
    size_t nt = trove_file_tensor_count(f);
    uint64_t lo[8], hi[8];
    CHECK(nt <= 8);
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
            CHECK(rc == TROVE_OK || rc == TROVE_E_INVALID); /* categorical: codes out of range */
        }
        trove_model_free(m);
    }
    fprintf(stderr, "  %d mutants: %d bound, %d refused\n", rounds, bound, refused);
    CHECK(bound > 0 && (!want_refused || refused > 0));
    free(buf);
    free(orig);
}

static void test_model_cluster__mutated_tensors(void)
{
    char p[512];
    nb_spec s;
    nb_default(&s, "bernoulli");
    CHECK(write_nb(own_path(p, sizeof p, "fuzz_nb.trove"), &s) == 0);
    mutate_and_bind(p, 11, 1000, 1);
    nb_default(&s, "multinomial");
    CHECK(write_nb(p, &s) == 0);
    mutate_and_bind(p, 12, 1000, 1);
    const double c[6] = {0, 0, 3, 4, -3, 4}, ev[2] = {4.0, 0.25};
    CHECK(write_kmeans(own_path(p, sizeof p, "fuzz_km.trove"), c, 3, 2, 3) == 0);
    mutate_and_bind(p, 13, 1000, 1);
    CHECK(write_decomp(own_path(p, sizeof p, "fuzz_dec.trove"), 1, 1, ev, 2) == 0);
    mutate_and_bind(p, 14, 1000, 1);
    const int64_t offs[3] = {0, 2, 4};
    const double flp[8] = {-1, -2, -1, -2, -2, -1, -2, -1};
    CHECK(write_cat(own_path(p, sizeof p, "fuzz_cat.trove"), offs, 4, flp) == 0);
    mutate_and_bind(p, 15, 1000, 1);
}

/* ---- conversion of sklearn pickles (fuzz/corpus/pickle/sk-*, sklearn 1.2.1) under OOM --- */

static const struct { const char *file, *estimator, *kind; } SEEDS[] = {
    {"sk-multinomialnb.pkl", "sklearn.naive_bayes.MultinomialNB", "naive_bayes"},
    {"sk-bernoullinb-threshold.pkl", "sklearn.naive_bayes.BernoulliNB", "naive_bayes"},
    {"sk-complementnb-norm.pkl", "sklearn.naive_bayes.ComplementNB", "naive_bayes"},
    {"sk-categoricalnb.joblib", "sklearn.naive_bayes.CategoricalNB", "naive_bayes"},
    {"sk-kmeans.pkl", "sklearn.cluster.KMeans", "kmeans"},
    {"sk-pca-whiten.pkl", "sklearn.decomposition.PCA", "decomposition"},
    {"sk-pipeline-pca-kmeans.joblib", "sklearn.pipeline.Pipeline", "pipeline"},
};

/* The seed's bytes: fuzz/corpus/pickle/ next to this source (tests run from the tree root). */
static unsigned char *read_seed(const char *name, size_t *len)
{
    char path[1024];
    const char *src = __FILE__, *cut = strstr(src, "tests/unit/");
    snprintf(path, sizeof path, "%.*sfuzz/corpus/pickle/%s", cut ? (int)(cut - src) : 0, src,
             name);
    unsigned char *d = test_read_file(path, len);
    if (!d)
        fprintf(stderr, "  cannot read %s\n", path);
    return d;
}

static void test_model_cluster__convert_oom_torture(void)
{
    trove_error err;
    for (size_t i = 0; i < sizeof SEEDS / sizeof SEEDS[0]; i++) {
        size_t len;
        unsigned char *d = read_seed(SEEDS[i].file, &len);
        CHECK(d != NULL);
        /* without failures: the estimator, the kind, a model that binds */
        trove__conversion c;
        CHECK_OK(trove__convert_buffer(NULL, d, len, "seed.pkl", 0, &c, &err));
        CHECK(c.n_models == 1);
        const char *e = NULL, *k = NULL;
        CHECK(trove_value_get_string(trove_value_get(c.models[0].meta, "estimator"), &e,
                                     NULL) == 0 && !strcmp(e, SEEDS[i].estimator));
        CHECK(trove_value_get_string(trove_value_get(c.models[0].meta, "kind"), &k, NULL) == 0 &&
              !strcmp(k, SEEDS[i].kind));
        trove__conversion_free(&c);
        int ok_seen = 0;
        for (long n = 1; n < 2000 && !ok_seen; n++) {
            test_alloc ta;
            test_alloc_init(&ta, n);
            int rc = trove__convert_buffer(&ta.a, d, len, "seed.pkl", 0, &c, &err);
            CHECK(rc == TROVE_OK || rc == TROVE_E_NOMEM);
            if (rc == TROVE_OK) {
                ok_seen = 1;
                trove__conversion_free(&c);
            }
            CHECK(ta.live == 0);
        }
        CHECK(ok_seen);
        free(d);
    }
}

TEST_MAIN(T(test_model_cluster__convert_oom_torture), T(test_model_cluster__naive_bayes_discrete),
          T(test_model_cluster__naive_bayes_categorical),
          T(test_model_cluster__hostile_naive_bayes),
          T(test_model_cluster__kmeans), T(test_model_cluster__decomposition),
          T(test_model_cluster__pipeline), T(test_model_cluster__oom_torture),
          T(test_model_cluster__mutated_tensors))
