/* sklearn.c: map unpickled scikit-learn estimators (a symbolic graph, never executed) to the
 * model kinds of docs/MODELS.md: linear, scaler, imputer, onehot, tree_ensemble, mlp, pipeline,
 * svm, naive_bayes, knn, label_encoder, column_transformer, kmeans, decomposition.
 *
 * Tolerant of versions: classes are matched by name under any sklearn.* module (old public
 * modules such as sklearn.linear_model.base and the private _base ones alike); old attribute
 * names (StandardScaler.std_); tree node records with or without missing_go_to_left; tree values
 * as counts or fractions (normalised the way predict_proba does); gradient boosting with the
 * old _gb_losses or the new _loss objects. Anything else is refused naming the class. */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codecs/codecs_internal.h"

#define MAX_PIPE_DEPTH 16

typedef struct sk {
    pk_arena *a;
    const trove_allocator *alloc;
    trove_error *err;
    trove__model_out *m;   /* the model being built (tensors) */
    int rc;                /* sticky: first metadata-building failure */
    bool want_transform;   /* mapping a pipeline step before the last, or a column part */
} sk;

/* ---- errors ------------------------------------------------------------------------------ */
TROVE_PRINTF(4, 5)
static int fail(sk *s, int code, const pk_obj *at, const char *fmt, ...)
{
    char why[240];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return trove__fail(s->err, code, at ? at->offset : TROVE_NO_OFFSET, "%s", why);
}

static int nomem(sk *s)
{
    return trove__fail(s->err, pk_arena_over_budget(s->a) ? TROVE_E_LIMIT : TROVE_E_NOMEM,
                       TROVE_NO_OFFSET, "scikit-learn import: out of memory");
}

/* ---- metadata helpers (sticky errors) --------------------------------------------------- */
static void mset(sk *s, trove_value *map, const char *key, trove_value *v)
{
    trove__out_set(&s->rc, map, key, v);
}

static void apush(sk *s, trove_value *arr, trove_value *v)
{
    trove__out_push(&s->rc, arr, v);
}

static trove_value *vstr(sk *s, const char *str)
{
    return trove_value_cstring(s->alloc, str);
}

/* ---- names -------------------------------------------------------------------------------- */
static const char *cls_name(const pk_obj *est)
{
    const pk_obj *c = pk_class_of(est);
    return c ? c->u.g.name : NULL;
}

/* imbalanced-learn: its Pipeline is sklearn's plus samplers, which act only while fitting */
static bool is_imblearn(const pk_obj *est, bool pipeline)
{
    const pk_obj *c = pk_class_of(est);
    if (!c || strncmp(c->u.g.module, "imblearn.", 9))
        return false;
    return pipeline == (!strcmp(c->u.g.name, "Pipeline"));
}

static bool is_sklearn(const pk_obj *est)
{
    const pk_obj *c = pk_class_of(est);
    return (c && (!strncmp(c->u.g.module, "sklearn.", 8) || !strcmp(c->u.g.module, "sklearn"))) ||
           is_imblearn(est, true);
}

/* "sklearn.<subpackage>.<Class>": stable across the private-module moves. */
static void public_name(const pk_obj *est, char *buf, size_t cap)
{
    const pk_obj *c = pk_class_of(est);
    if (is_imblearn(est, true)) {
        snprintf(buf, cap, "imblearn.pipeline.Pipeline");
        return;
    }
    const char *m = c->u.g.module + 8;
    size_t n = strcspn(m, ".");
    snprintf(buf, cap, "sklearn.%.*s.%s", (int)n, m, c->u.g.name);
}

static bool name_in(const char *name, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(name, *list))
            return true;
    return false;
}

/* ---- arrays ------------------------------------------------------------------------------- */
static int get_array(sk *s, const pk_obj *est, const char *cname, const char *attr,
                     pk_array *out)
{
    const pk_obj *o = pk_attr(est, attr);
    if (pk_is_none(o))
        return fail(s, TROVE_E_MODEL, est, "%s: attribute %s is missing (is the estimator "
                    "fitted?)", cname, attr);
    trove_error e2;
    int rc = pk_array_of(s->a, o, out, &e2);
    if (rc)
        return fail(s, rc, o, "%s.%s: %s", cname, attr, e2.message);
    if (out->dt.kind == 'O' || out->dt.kind == 'V' || out->dt.kind == 'U' || out->dt.kind == 'S')
        return fail(s, TROVE_E_UNSUPPORTED, o, "%s.%s: numeric array expected, dtype kind '%c'",
                    cname, attr, out->dt.kind);
    return TROVE_OK;
}

static void *tensor(sk *s, const char *prefix, const char *name, trove_dtype dt, uint32_t rank,
                    uint64_t d0, uint64_t d1)
{
    return trove__out_tensor(s->a, s->m, prefix, name, dt, rank, d0, d1);
}

/* ---- common attributes ------------------------------------------------------------------ */
static trove_value *params_of(sk *s, const pk_obj *est)
{
    trove_value *p = trove_value_map(s->alloc);
    const pk_obj *d = pk_state_dict(est);
    for (size_t i = 0; d && i + 1 < d->u.seq.n; i += 2) {
        const uint8_t *k;
        size_t kn;
        if (!pk_text(d->u.seq.v[i], &k, &kn) || kn == 0 || kn > 64 || k[0] == '_' ||
            k[kn - 1] == '_' || !trove__utf8_valid((const char *)k, kn))
            continue;
        const pk_obj *v = d->u.seq.v[i + 1];
        trove_value *tv = NULL;
        double f;
        int64_t iv;
        const uint8_t *sp;
        size_t sn;
        if (v->kind == PK_NONE)
            tv = trove_value_null(s->alloc);
        else if (v->kind == PK_BOOL)
            tv = trove_value_bool(s->alloc, (int)v->u.i);
        else if (v->kind == PK_INT && pk_as_int(v, &iv))
            tv = trove_value_int(s->alloc, iv);
        else if (v->kind == PK_FLOAT && isfinite(v->u.f))
            tv = trove_value_float(s->alloc, v->u.f);
        else if (pk_text(v, &sp, &sn) && trove__utf8_valid((const char *)sp, sn))
            tv = trove_value_string(s->alloc, (const char *)sp, sn);
        else if (v->kind == PK_OBJECT && pk_scalar_f64(v, &f) && isfinite(f))
            tv = trove_value_float(s->alloc, f);
        else
            continue;
        if (!tv || trove_value_map_take(p, (const char *)k, kn, tv)) {
            if (!s->rc)
                s->rc = TROVE_E_NOMEM;
        }
    }
    return p;
}

static bool attr_int(const pk_obj *est, const char *a, int64_t *v)
{
    return pk_as_int(pk_attr(est, a), v);
}

static bool attr_str_eq(const pk_obj *est, const char *a, const char *val)
{
    return pk_text_eq(pk_attr(est, a), val);
}

static bool attr_bool(const pk_obj *est, const char *a, bool dflt)
{
    int64_t v;
    const pk_obj *o = pk_attr(est, a);
    if (pk_is_none(o) || !pk_as_int(o, &v))
        return dflt;
    return v != 0;
}

/* UCS-4 code points (numpy 'U') -> UTF-8 value; trailing NULs dropped. */
static trove_value *ucs4_string(sk *s, const uint8_t *p, uint32_t bytes, bool big)
{
    char out[1024];
    size_t k = 0;
    for (uint32_t i = 0; i + 4 <= bytes && k + 4 < sizeof out; i += 4) {
        uint32_t cp = big ? (uint32_t)p[i] << 24 | (uint32_t)p[i + 1] << 16 |
                                (uint32_t)p[i + 2] << 8 | p[i + 3]
                          : trove__load_le32(p + i);
        if (cp == 0)
            break;
        if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))
            return NULL;
        if (cp < 0x80) {
            out[k++] = (char)cp;
        } else if (cp < 0x800) {
            out[k++] = (char)(0xc0 | cp >> 6);
            out[k++] = (char)(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out[k++] = (char)(0xe0 | cp >> 12);
            out[k++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            out[k++] = (char)(0x80 | (cp & 0x3f));
        } else {
            out[k++] = (char)(0xf0 | cp >> 18);
            out[k++] = (char)(0x80 | ((cp >> 12) & 0x3f));
            out[k++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            out[k++] = (char)(0x80 | (cp & 0x3f));
        }
    }
    return trove_value_string(s->alloc, out, k);
}

/* A 1-D array of labels or names (numbers, 'U' strings, or objects that are str/int/float) as a
 * metadata array. */
static int labels_of(sk *s, const pk_obj *o, const char *cname, const char *attr,
                     trove_value **out, size_t *count);
static int labels_value(sk *s, const pk_obj *est, const char *cname, const char *attr,
                        trove_value **out, size_t *count)
{
    const pk_obj *o = pk_attr(est, attr);
    if (pk_is_none(o)) {
        *out = NULL;
        return fail(s, TROVE_E_MODEL, est, "%s: attribute %s is missing", cname, attr);
    }
    return labels_of(s, o, cname, attr, out, count);
}

/* o (a 1-D array) as a metadata array of labels; attr names it in messages. */
static int labels_of(sk *s, const pk_obj *o, const char *cname, const char *attr,
                     trove_value **out, size_t *count)
{
    pk_array x;
    trove_error e2;
    *out = NULL;
    int rc = pk_array_of(s->a, o, &x, &e2);
    if (rc)
        return fail(s, rc, o, "%s.%s: %s", cname, attr, e2.message);
    if (x.rank != 1)
        return fail(s, TROVE_E_UNSUPPORTED, o, "%s.%s: %u-D (multi-output) not supported by "
                    "trove's model kinds yet", cname, attr, x.rank);
    trove_value *arr = trove_value_array(s->alloc);
    if (!arr)
        return nomem(s);
    for (uint64_t i = 0; i < x.count; i++) {
        trove_value *v = NULL;
        switch (x.dt.kind) {
        case 'b': case 'i': case 'u':
            v = trove_value_int(s->alloc, pk_array_i64(&x, i));
            break;
        case 'f': {
            double d = pk_array_f64(&x, i);
            if (!isfinite(d))
                goto bad;
            v = trove_value_float(s->alloc, d);
            break;
        }
        case 'U':
            v = ucs4_string(s, x.data + i * x.dt.itemsize, x.dt.itemsize, x.dt.big);
            if (!v)
                goto bad;
            break;
        case 'S': {
            const char *p = (const char *)x.data + i * x.dt.itemsize;
            size_t n = strnlen(p, x.dt.itemsize);
            if (!trove__utf8_valid(p, n))
                goto bad;
            v = trove_value_string(s->alloc, p, n);
            break;
        }
        case 'O': {
            const pk_obj *e = x.objs[i];
            const uint8_t *p;
            size_t n;
            int64_t iv;
            double d;
            if (pk_text(e, &p, &n)) {
                if (!trove__utf8_valid((const char *)p, n))
                    goto bad;
                v = trove_value_string(s->alloc, (const char *)p, n);
            } else if (e->kind != PK_FLOAT && pk_as_int(e, &iv)) {
                v = trove_value_int(s->alloc, iv);
            } else if (pk_as_float(e, &d) && isfinite(d)) {
                v = trove_value_float(s->alloc, d);
            } else {
                goto bad;
            }
            break;
        }
        default:
            goto bad;
        }
        if (!v || trove_value_array_take(arr, v)) {
            trove_value_free(arr);
            return nomem(s);
        }
    }
    *out = arr;
    *count = (size_t)x.count;
    return TROVE_OK;
bad:
    trove_value_free(arr);
    return fail(s, TROVE_E_UNSUPPORTED, o, "%s.%s: labels must be numbers or text (dtype kind "
                "'%c' with an element that is neither)", cname, attr, x.dt.kind);
}

static int n_features_of(sk *s, const pk_obj *est, const char *cname, int64_t fallback,
                         int64_t *nf)
{
    int64_t v;
    if (attr_int(est, "n_features_in_", &v) || attr_int(est, "n_features_", &v))
        *nf = v;
    else
        *nf = fallback;
    if (*nf <= 0 || *nf > (int64_t)TROVE_MODEL_MAX_WIDTH)
        return fail(s, TROVE_E_MODEL, est, "%s: number of input features unknown or out of "
                    "range (%lld)", cname, (long long)*nf);
    return TROVE_OK;
}

/* ---- the estimators ----------------------------------------------------------------------- */
static int map_estimator(sk *s, const pk_obj *est, const char *prefix, int depth,
                         trove_value **node_out);

static const char *const LINEAR_REG[] = {
    "LinearRegression", "Ridge", "RidgeCV", "Lasso", "LassoCV", "ElasticNet", "ElasticNetCV",
    "SGDRegressor", "Lars", "LarsCV", "LassoLars", "LassoLarsCV", "LassoLarsIC", "BayesianRidge",
    "ARDRegression", "HuberRegressor", "TheilSenRegressor", "OrthogonalMatchingPursuit",
    "OrthogonalMatchingPursuitCV", "PassiveAggressiveRegressor", "LinearSVR", NULL};
static const char *const LINEAR_CLS[] = {
    "LogisticRegression", "LogisticRegressionCV", "LinearSVC", "SGDClassifier",
    "RidgeClassifier", "RidgeClassifierCV", "Perceptron", "PassiveAggressiveClassifier",
    "LinearDiscriminantAnalysis", NULL};
static const char *const TREES[] = {
    "DecisionTreeClassifier", "DecisionTreeRegressor", "ExtraTreeClassifier",
    "ExtraTreeRegressor", "RandomForestClassifier", "RandomForestRegressor",
    "ExtraTreesClassifier", "ExtraTreesRegressor", NULL};

/* coef_ -> [n_out, nf] and intercept_ -> [n_out] tensors. */
static int linear_tensors(sk *s, const pk_obj *est, const char *cname, const char *prefix,
                          int64_t *nf_out, uint64_t *nout_out)
{
    pk_array coef;
    int rc;
    bool raw = pk_is_none(pk_attr(est, "coef_")) && !pk_is_none(pk_attr(est, "raw_coef_"));
    /* sklearn <= 0.13 liblinear models kept raw_coef_ = [coef | intercept / scaling] */
    if ((rc = get_array(s, est, cname, raw ? "raw_coef_" : "coef_", &coef)))
        return rc;
    double raw_scale = 1.0;
    bool raw_icpt = false;
    if (raw) {
        raw_icpt = attr_bool(est, "fit_intercept", true);
        if (!pk_as_float(pk_attr(est, "intercept_scaling"), &raw_scale))
            raw_scale = 1.0;
        if (coef.rank != 2 || (raw_icpt && coef.shape[1] < 2))
            return fail(s, TROVE_E_MODEL, est, "%s: raw_coef_ is not 2-D", cname);
    }
    if (coef.rank != 1 && coef.rank != 2)
        return fail(s, TROVE_E_UNSUPPORTED, est, "%s.coef_ is %u-D", cname, coef.rank);
    uint64_t nout = coef.rank == 2 ? coef.shape[0] : 1;
    uint64_t cols = coef.rank == 2 ? coef.shape[1] : coef.shape[0];
    uint64_t nfc = cols - (raw_icpt ? 1 : 0);
    int64_t nf;
    if ((rc = n_features_of(s, est, cname, (int64_t)nfc, &nf)))
        return rc;
    if ((uint64_t)nf != nfc || nout == 0 || nout > TROVE_MODEL_MAX_WIDTH)
        return fail(s, TROVE_E_MODEL, est, "%s: coef_ shape does not match %lld features",
                    cname, (long long)nf);
    double *c = tensor(s, prefix, "coef", TROVE_FLOAT64, 2, nout, (uint64_t)nf);
    double *b = tensor(s, prefix, "intercept", TROVE_FLOAT64, 1, nout, 0);
    if (!c || !b)
        return nomem(s);
    for (uint64_t r = 0; r < nout; r++)
        for (uint64_t j = 0; j < nfc; j++)
            c[r * nfc + j] = pk_array_f64(&coef, r * cols + j);
    const pk_obj *io = pk_attr(est, "intercept_");
    double iv;
    if (raw) {
        for (uint64_t i = 0; i < nout; i++)
            b[i] = raw_icpt ? raw_scale * pk_array_f64(&coef, i * cols + nfc) : 0.0;
    } else if (pk_is_none(io)) {
        for (uint64_t i = 0; i < nout; i++)
            b[i] = 0.0;
    } else if (pk_as_float(io, &iv)) {
        for (uint64_t i = 0; i < nout; i++)
            b[i] = iv;
    } else {
        pk_array ia;
        if ((rc = get_array(s, est, cname, "intercept_", &ia)))
            return rc;
        if (ia.count != nout && ia.count != 1)
            return fail(s, TROVE_E_MODEL, est, "%s: intercept_ has %llu values for %llu outputs",
                        cname, (unsigned long long)ia.count, (unsigned long long)nout);
        for (uint64_t i = 0; i < nout; i++)
            b[i] = pk_array_f64(&ia, ia.count == 1 ? 0 : i);
    }
    *nf_out = nf;
    *nout_out = nout;
    return TROVE_OK;
}

/* Whether the estimator was pickled by scikit-learn older than major.minor (no
 * _sklearn_version at all: before 0.18). An unreadable version counts as recent. */
static bool sklearn_before(const pk_obj *est, int major, int minor)
{
    const uint8_t *vp;
    size_t vn;
    const pk_obj *v = pk_attr(est, "_sklearn_version");
    if (pk_is_none(v))
        return major > 0 || minor > 17;
    if (!pk_text(v, &vp, &vn))
        return false;
    long part[2] = {0, 0};
    size_t i = 0;
    for (int k = 0; k < 2; k++) {
        if (i >= vn || vp[i] < '0' || vp[i] > '9')
            return false;
        while (i < vn && vp[i] >= '0' && vp[i] <= '9' && part[k] < 100000)
            part[k] = part[k] * 10 + (vp[i++] - '0');
        if (k == 0 && (i >= vn || vp[i++] != '.'))
            return false;
    }
    return part[0] < major || (part[0] == major && part[1] < minor);
}

static int map_linear(sk *s, const pk_obj *est, const char *cname, const char *prefix,
                      trove_value *node, trove_value *m, bool classifier)
{
    int64_t nf;
    uint64_t nout;
    int rc = linear_tensors(s, est, cname, prefix, &nf, &nout);
    if (rc)
        return rc;
    mset(s, node, "kind", vstr(s, "linear"));
    mset(s, m, "n_features", trove_value_int(s->alloc, nf));
    if (!classifier) {
        mset(s, m, "task", vstr(s, "regression"));
        mset(s, m, "link", vstr(s, "identity"));
        mset(s, m, "n_outputs", trove_value_int(s->alloc, (int64_t)nout));
        return TROVE_OK;
    }
    trove_value *classes;
    size_t k;
    /* RidgeClassifier(CV): classes_ is a property of its _label_binarizer */
    const pk_obj *holder = pk_is_none(pk_attr(est, "classes_")) &&
                                   !pk_is_none(pk_attr(pk_attr(est, "_label_binarizer"),
                                                       "classes_"))
                               ? pk_attr(est, "_label_binarizer") : est;
    if ((rc = labels_value(s, holder, cname, "classes_", &classes, &k)))
        return rc;
    mset(s, m, "classes", classes);
    if (k < 2 || (k == 2 ? nout != 1 : nout != k))
        return fail(s, TROVE_E_MODEL, est, "%s: %zu classes with %llu coefficient rows", cname,
                    k, (unsigned long long)nout);
    const char *link = "none";
    if (!strcmp(cname, "LogisticRegression") || !strcmp(cname, "LogisticRegressionCV")) {
        const pk_obj *mc = pk_attr(est, "multi_class");
        bool ovr;
        if (pk_text_eq(mc, "ovr") || pk_text_eq(mc, "warn"))
            ovr = true;
        else if (pk_text_eq(mc, "multinomial"))
            ovr = false;
        else if (pk_is_none(mc) && pk_is_none(pk_attr(est, "_sklearn_version")))
            ovr = true; /* sklearn < 0.18: one-vs-rest was the only scheme */
        else /* "auto", "deprecated", absent (sklearn >= 1.8) */
            ovr = k <= 2 || attr_str_eq(est, "solver", "liblinear");
        link = ovr ? (k == 2 ? "logistic" : "ovr") : "softmax";
    } else if (!strcmp(cname, "SGDClassifier")) {
        if (attr_str_eq(est, "loss", "log_loss") || attr_str_eq(est, "loss", "log"))
            link = k == 2 ? "logistic" : "ovr";
    } else if (!strcmp(cname, "LinearDiscriminantAnalysis")) {
        /* decision = X coef^T + intercept for every solver; probabilities: the logistic of it
         * for two classes, a softmax from sklearn 0.21 on (scikit-learn PR 11796), the
         * one-vs-rest normalisation before. */
        link = k == 2 ? "logistic" : sklearn_before(est, 0, 21) ? "ovr" : "softmax";
    }
    mset(s, m, "task", vstr(s, "classification"));
    mset(s, m, "link", vstr(s, link));
    return TROVE_OK;
}

static int map_scaler(sk *s, const pk_obj *est, const char *cname, const char *prefix,
                      trove_value *node, trove_value *m)
{
    int rc;
    pk_array a1, a2;
    mset(s, node, "kind", vstr(s, "scaler"));
    mset(s, m, "task", vstr(s, "transform"));
    if (!strcmp(cname, "StandardScaler")) {
        const pk_obj *mo = pk_attr(est, "mean_");
        const char *sname = pk_attr(est, "scale_") ? "scale_" : "std_"; /* std_: sklearn < 0.17 */
        const pk_obj *so = pk_attr(est, sname);
        bool with_mean = attr_bool(est, "with_mean", true) && !pk_is_none(mo);
        bool with_std = attr_bool(est, "with_std", true) && !pk_is_none(so);
        int64_t fb = 0;
        if (!pk_is_none(mo)) {
            if ((rc = get_array(s, est, cname, "mean_", &a1)))
                return rc;
            fb = (int64_t)a1.count;
        }
        if (!pk_is_none(so)) {
            if ((rc = get_array(s, est, cname, sname, &a2)))
                return rc;
            if (fb && (uint64_t)fb != a2.count)
                return fail(s, TROVE_E_MODEL, est, "%s: mean_ and %s differ in length", cname,
                            sname);
            fb = (int64_t)a2.count;
        }
        int64_t nf;
        if ((rc = n_features_of(s, est, cname, fb, &nf)))
            return rc;
        if ((with_mean && a1.count != (uint64_t)nf) || (with_std && a2.count != (uint64_t)nf))
            return fail(s, TROVE_E_MODEL, est, "%s: statistics do not have %lld entries", cname,
                        (long long)nf);
        double *c = tensor(s, prefix, "center", TROVE_FLOAT64, 1, (uint64_t)nf, 0);
        double *sc = tensor(s, prefix, "scale", TROVE_FLOAT64, 1, (uint64_t)nf, 0);
        if (!c || !sc)
            return nomem(s);
        for (int64_t i = 0; i < nf; i++) {
            c[i] = with_mean ? pk_array_f64(&a1, (uint64_t)i) : 0.0;
            sc[i] = with_std ? pk_array_f64(&a2, (uint64_t)i) : 1.0;
        }
        mset(s, m, "op", vstr(s, "standardize"));
        mset(s, m, "n_features", trove_value_int(s->alloc, nf));
        return TROVE_OK;
    }
    if (!strcmp(cname, "RobustScaler") || !strcmp(cname, "MaxAbsScaler")) {
        /* RobustScaler: X -= center_ (with_centering); X /= scale_ (with_scaling).
         * MaxAbsScaler: X /= scale_. Both are standardize with exact no-ops for what is off. */
        bool robust = !strcmp(cname, "RobustScaler");
        const pk_obj *co = robust ? pk_attr(est, "center_") : NULL;
        const pk_obj *so = pk_attr(est, "scale_");
        bool with_c = robust && attr_bool(est, "with_centering", true) && !pk_is_none(co);
        bool with_s = (!robust || attr_bool(est, "with_scaling", true)) && !pk_is_none(so);
        int64_t fb = 0;
        if (with_c) {
            if ((rc = get_array(s, est, cname, "center_", &a1)))
                return rc;
            fb = (int64_t)a1.count;
        }
        if (with_s) {
            if ((rc = get_array(s, est, cname, "scale_", &a2)))
                return rc;
            fb = (int64_t)a2.count;
        }
        int64_t nf;
        if ((rc = n_features_of(s, est, cname, fb, &nf)))
            return rc;
        if ((with_c && a1.count != (uint64_t)nf) || (with_s && a2.count != (uint64_t)nf))
            return fail(s, TROVE_E_MODEL, est, "%s: statistics do not have %lld entries", cname,
                        (long long)nf);
        double *c = tensor(s, prefix, "center", TROVE_FLOAT64, 1, (uint64_t)nf, 0);
        double *sc = tensor(s, prefix, "scale", TROVE_FLOAT64, 1, (uint64_t)nf, 0);
        if (!c || !sc)
            return nomem(s);
        for (int64_t i = 0; i < nf; i++) {
            c[i] = with_c ? pk_array_f64(&a1, (uint64_t)i) : 0.0;
            sc[i] = with_s ? pk_array_f64(&a2, (uint64_t)i) : 1.0;
        }
        mset(s, m, "op", vstr(s, "standardize"));
        mset(s, m, "n_features", trove_value_int(s->alloc, nf));
        return TROVE_OK;
    }
    /* MinMaxScaler */
    if ((rc = get_array(s, est, cname, "scale_", &a1)) ||
        (rc = get_array(s, est, cname, "min_", &a2)))
        return rc;
    int64_t nf;
    if ((rc = n_features_of(s, est, cname, (int64_t)a1.count, &nf)))
        return rc;
    if (a1.count != (uint64_t)nf || a2.count != (uint64_t)nf)
        return fail(s, TROVE_E_MODEL, est, "%s: scale_/min_ do not have %lld entries", cname,
                    (long long)nf);
    double *sc = tensor(s, prefix, "scale", TROVE_FLOAT64, 1, (uint64_t)nf, 0);
    double *off = tensor(s, prefix, "offset", TROVE_FLOAT64, 1, (uint64_t)nf, 0);
    if (!sc || !off)
        return nomem(s);
    for (int64_t i = 0; i < nf; i++) {
        sc[i] = pk_array_f64(&a1, (uint64_t)i);
        off[i] = pk_array_f64(&a2, (uint64_t)i);
    }
    mset(s, m, "op", vstr(s, "minmax"));
    mset(s, m, "n_features", trove_value_int(s->alloc, nf));
    if (attr_bool(est, "clip", false)) {
        const pk_obj *fr = pk_attr(est, "feature_range");
        double lo, hi;
        if (!pk_as_float(pk_item(fr, 0), &lo) || !pk_as_float(pk_item(fr, 1), &hi))
            return fail(s, TROVE_E_MODEL, est, "%s: clip=True without a feature_range", cname);
        trove_value *clip = trove_value_array(s->alloc);
        apush(s, clip, trove_value_float(s->alloc, lo));
        apush(s, clip, trove_value_float(s->alloc, hi));
        mset(s, m, "clip", clip);
    }
    return TROVE_OK;
}

static int map_imputer(sk *s, const pk_obj *est, const char *cname, const char *prefix,
                       trove_value *node, trove_value *m)
{
    if (attr_bool(est, "add_indicator", false))
        return fail(s, TROVE_E_UNSUPPORTED, est, "%s(add_indicator=True): not supported by "
                    "trove's model kinds yet", cname);
    if (attr_bool(est, "keep_empty_features", false))
        return fail(s, TROVE_E_UNSUPPORTED, est, "%s(keep_empty_features=True): not supported "
                    "by trove's model kinds yet", cname);
    const pk_obj *mv = pk_attr(est, "missing_values");
    double mvf;
    trove_value *mvv;
    if (!pk_as_float(mv, &mvf))
        return fail(s, TROVE_E_UNSUPPORTED, est, "%s: missing_values that is not a number: not "
                    "supported by trove's model kinds yet", cname);
    mvv = isnan(mvf) ? vstr(s, "nan") : trove_value_float(s->alloc, mvf);
    pk_array st;
    int rc = get_array(s, est, cname, "statistics_", &st);
    if (rc) {
        trove_value_free(mvv);
        return rc;
    }
    int64_t nf;
    if ((rc = n_features_of(s, est, cname, (int64_t)st.count, &nf)) || st.count != (uint64_t)nf) {
        trove_value_free(mvv);
        return rc ? rc : fail(s, TROVE_E_MODEL, est, "%s: statistics_ length", cname);
    }
    double *t = tensor(s, prefix, "statistics", TROVE_FLOAT64, 1, (uint64_t)nf, 0);
    if (!t) {
        trove_value_free(mvv);
        return nomem(s);
    }
    for (int64_t i = 0; i < nf; i++)
        t[i] = pk_array_f64(&st, (uint64_t)i);
    mset(s, node, "kind", vstr(s, "imputer"));
    mset(s, m, "task", vstr(s, "transform"));
    mset(s, m, "n_features", trove_value_int(s->alloc, nf));
    mset(s, m, "missing_value", mvv);
    return TROVE_OK;
}

static int map_onehot(sk *s, const pk_obj *est, const char *cname, const char *prefix,
                      trove_value *node, trove_value *m)
{
    const pk_obj *dio = pk_attr(est, "drop_idx_");
    if (pk_is_none(dio) && !pk_is_none(pk_attr(est, "drop")) &&
        !pk_is_none(pk_attr(est, "_drop_idx_after_grouping")))
        dio = pk_attr(est, "_drop_idx_after_grouping");
    if (pk_is_none(dio) && !pk_is_none(pk_attr(est, "drop")) &&
        !pk_text_eq(pk_attr(est, "drop"), "if_binary"))
        return fail(s, TROVE_E_MODEL, est, "%s(drop=...) without drop_idx_", cname);
    if (attr_bool(est, "_infrequent_enabled", false))
        return fail(s, TROVE_E_UNSUPPORTED, est, "%s with infrequent categories: not supported "
                    "by trove's model kinds yet", cname);
    /* without infrequent categories (refused above), 'infrequent_if_exist' and 'warn' encode an
     * unknown value as all zeros, like 'ignore' */
    bool zeros = attr_str_eq(est, "handle_unknown", "ignore") ||
                 attr_str_eq(est, "handle_unknown", "infrequent_if_exist") ||
                 attr_str_eq(est, "handle_unknown", "warn");
    const char *hu = zeros ? "ignore" : "error";
    if (!zeros && !attr_str_eq(est, "handle_unknown", "error"))
        return fail(s, TROVE_E_UNSUPPORTED, est, "%s: this handle_unknown is not supported by "
                    "trove's model kinds yet", cname);
    const pk_obj *cats = pk_attr(est, "categories_");
    size_t nf = pk_len(cats);
    if (nf == 0 || nf > TROVE_MODEL_MAX_WIDTH)
        return fail(s, TROVE_E_MODEL, est, "%s: categories_ missing", cname);
    pk_array *arr = pk_alloc(s->a, nf * sizeof *arr);
    bool *text = pk_alloc(s->a, nf * sizeof *text);
    if (!arr || !text)
        return nomem(s);
    uint64_t total = 0;
    trove_value *vocab = NULL; /* text features: their categories (docs/MODELS.md, onehot) */
    for (size_t j = 0; j < nf; j++) {
        trove_error e2;
        int rc = pk_array_of(s->a, pk_item(cats, j), &arr[j], &e2);
        if (rc) {
            trove_value_free(vocab);
            return fail(s, rc, est, "%s.categories_[%zu]: %s", cname, j, e2.message);
        }
        char k = arr[j].dt.kind;
        text[j] = k == 'U' || k == 'S' || k == 'O';
        if (k == 'O') { /* object arrays (e.g. from a DataFrame): all text, or all numbers */
            trove_value *words = NULL;
            size_t cnt = 0, ntext = 0;
            if ((rc = labels_of(s, pk_item(cats, j), cname, "categories_", &words, &cnt))) {
                trove_value_free(vocab);
                return rc;
            }
            for (size_t q = 0; q < cnt; q++)
                ntext += trove_value_type_of(trove_value_at(words, q)) == TROVE_VALUE_STRING;
            if (ntext == 0) {
                double *nums = pk_alloc(s->a, (cnt + 1) * sizeof(double));
                for (size_t q = 0; nums && q < cnt; q++)
                    (void)trove_value_get_float(trove_value_at(words, q), &nums[q]);
                trove_value_free(words);
                if (!nums) {
                    trove_value_free(vocab);
                    return nomem(s);
                }
                /* a float64 view of the numbers: the loop below reads it like any array */
                arr[j].dt.kind = 'f';
                arr[j].dt.itemsize = 8;
                arr[j].dt.big = false;
                arr[j].data = (const uint8_t *)nums;
                arr[j].objs = NULL;
                text[j] = false;
                k = 'f';
            } else {
                trove_value_free(words);
            }
        }
        if (text[j]) {
            trove_value *words = NULL;
            size_t cnt = 0;
            if (!vocab) {
                vocab = trove_value_array(s->alloc);
                for (size_t q = 0; q < j; q++)
                    apush(s, vocab, trove_value_null(s->alloc));
            }
            if ((rc = labels_of(s, pk_item(cats, j), cname, "categories_", &words, &cnt))) {
                trove_value_free(vocab);
                return rc;
            }
            for (size_t q = 0; q < cnt; q++)
                if (trove_value_type_of(trove_value_at(words, q)) != TROVE_VALUE_STRING) {
                    trove_value_free(words);
                    trove_value_free(vocab);
                    return fail(s, TROVE_E_UNSUPPORTED, est, "%s.categories_[%zu] mixes text "
                                "and numbers (or holds None): not supported by trove's model "
                                "kinds yet", cname, j);
                }
            apush(s, vocab, words);
        } else if (vocab) {
            apush(s, vocab, trove_value_null(s->alloc));
        }
        if (arr[j].rank != 1 || k == 'V') {
            trove_value_free(vocab);
            return fail(s, TROVE_E_MODEL, est, "%s.categories_[%zu]: not a 1-D array",
                        cname, j);
        }
        total += arr[j].count;
    }
    if (vocab)
        mset(s, m, "vocabulary", vocab);
    if (!pk_is_none(dio)) { /* drop_idx_: an int per feature, or None (object arrays) */
        pk_array da;
        trove_error e2;
        int rc = pk_array_of(s->a, dio, &da, &e2);
        if (rc)
            return fail(s, rc, est, "%s.drop_idx_: %s", cname, e2.message);
        if (da.count != nf || !(da.dt.kind == 'O' || da.dt.kind == 'i' || da.dt.kind == 'u'))
            return fail(s, TROVE_E_MODEL, est, "%s.drop_idx_ is not one index per feature",
                        cname);
        int64_t *dt = tensor(s, prefix, "drop", TROVE_INT64, 1, nf, 0);
        if (!dt)
            return nomem(s);
        for (size_t j = 0; j < nf; j++) {
            int64_t v = -1;
            if (da.dt.kind != 'O')
                v = pk_array_i64(&da, j);
            else if (!pk_is_none(da.objs[j]) && !pk_as_int(da.objs[j], &v))
                return fail(s, TROVE_E_MODEL, est, "%s.drop_idx_[%zu] is not an index", cname,
                            j);
            dt[j] = v;
        }
    }
    double *c = tensor(s, prefix, "categories", TROVE_FLOAT64, 1, total, 0);
    int64_t *o = tensor(s, prefix, "offsets", TROVE_INT64, 1, nf + 1, 0);
    if (!c || !o)
        return nomem(s);
    uint64_t at = 0;
    o[0] = 0;
    for (size_t j = 0; j < nf; j++) {
        for (uint64_t i = 0; i < arr[j].count; i++) {
            c[at++] = text[j] ? (double)i : pk_array_f64(&arr[j], i);
            if (isnan(c[at - 1]))
                return fail(s, TROVE_E_UNSUPPORTED, est, "%s with NaN as a category: not "
                            "supported by trove's model kinds yet", cname);
        }
        o[j + 1] = (int64_t)at;
    }
    mset(s, node, "kind", vstr(s, "onehot"));
    mset(s, m, "task", vstr(s, "transform"));
    mset(s, m, "n_features", trove_value_int(s->alloc, (int64_t)nf));
    mset(s, m, "handle_unknown", vstr(s, hu));
    return TROVE_OK;
}

/* Normalizer (rows scaled to unit l1/l2/max norm) and Binarizer (x > threshold): stateless
 * scaler ops; their width is n_features_in_ (recorded by fit from sklearn 0.24/1.0 on). */
static int map_row_scaler(sk *s, const pk_obj *est, const char *cname, trove_value *node,
                          trove_value *m)
{
    int64_t nf;
    int rc = n_features_of(s, est, cname, 0, &nf);
    if (rc)
        return rc;
    mset(s, node, "kind", vstr(s, "scaler"));
    mset(s, m, "task", vstr(s, "transform"));
    mset(s, m, "n_features", trove_value_int(s->alloc, nf));
    if (!strcmp(cname, "Normalizer")) {
        const pk_obj *no = pk_attr(est, "norm");
        const char *norm = pk_is_none(no) || pk_text_eq(no, "l2") ? "l2"
                           : pk_text_eq(no, "l1")                ? "l1"
                           : pk_text_eq(no, "max")               ? "max"
                                                                 : NULL;
        if (!norm)
            return fail(s, TROVE_E_MODEL, est, "%s: norm is not 'l1', 'l2' or 'max'", cname);
        mset(s, m, "op", vstr(s, "normalize"));
        mset(s, m, "norm", vstr(s, norm));
        return TROVE_OK;
    }
    double thr = 0.0;
    const pk_obj *to = pk_attr(est, "threshold");
    if (!pk_is_none(to) && (!pk_as_float(to, &thr) || isnan(thr)))
        return fail(s, TROVE_E_MODEL, est, "%s: threshold is not a number", cname);
    mset(s, m, "op", vstr(s, "binarize"));
    mset(s, m, "threshold", trove_value_float(s->alloc, thr));
    return TROVE_OK;
}

/* LabelBinarizer (0/1 labels): the onehot of its one input over classes_; two classes keep only
 * the column of classes_[1] (drop index 0), as sklearn returns one column; an unknown label
 * encodes as zeros, as label_binarize does. Multilabel and other neg/pos labels refused. */
static int map_label_binarizer(sk *s, const pk_obj *est, const char *cname, const char *prefix,
                               trove_value *node, trove_value *m)
{
    int64_t neg = 0, pos = 1;
    attr_int(est, "neg_label", &neg);
    attr_int(est, "pos_label", &pos);
    if (neg != 0 || pos != 1 || attr_bool(est, "sparse_output", false))
        return fail(s, TROVE_E_UNSUPPORTED, est, "%s(neg_label=%lld, pos_label=%lld, sparse "
                    "output): only 0/1 dense labels are supported by trove's model kinds yet",
                    cname, (long long)neg, (long long)pos);
    const pk_obj *yt = pk_attr(est, "y_type_");
    if (!pk_is_none(yt) && !pk_text_eq(yt, "binary") && !pk_text_eq(yt, "multiclass"))
        return fail(s, TROVE_E_UNSUPPORTED, est, "%s of multilabel or continuous targets: not "
                    "supported by trove's model kinds yet", cname);
    trove_value *classes;
    size_t k;
    int rc = labels_value(s, est, cname, "classes_", &classes, &k);
    if (rc)
        return rc;
    size_t ntext = 0;
    for (size_t q = 0; q < k; q++)
        ntext += trove_value_type_of(trove_value_at(classes, q)) == TROVE_VALUE_STRING;
    if (k < 2 || (ntext && ntext != k)) {
        trove_value_free(classes);
        return fail(s, k < 2 ? TROVE_E_MODEL : TROVE_E_UNSUPPORTED, est, "%s: %zu classes%s",
                    cname, k, k < 2 ? " (at least 2 needed)" : " mixing text and numbers");
    }
    double *c = tensor(s, prefix, "categories", TROVE_FLOAT64, 1, k, 0);
    int64_t *o = tensor(s, prefix, "offsets", TROVE_INT64, 1, 2, 0);
    if (!c || !o) {
        trove_value_free(classes);
        return nomem(s);
    }
    for (size_t q = 0; q < k; q++) {
        if (ntext)
            c[q] = (double)q;
        else
            (void)trove_value_get_float(trove_value_at(classes, q), &c[q]);
        if (q && !(c[q - 1] < c[q])) {
            trove_value_free(classes);
            return fail(s, TROVE_E_MODEL, est, "%s.classes_ is not sorted", cname);
        }
    }
    o[0] = 0;
    o[1] = (int64_t)k;
    if (k == 2) {
        int64_t *d = tensor(s, prefix, "drop", TROVE_INT64, 1, 1, 0);
        if (!d) {
            trove_value_free(classes);
            return nomem(s);
        }
        d[0] = 0;
    }
    if (ntext) {
        trove_value *vocab = trove_value_array(s->alloc);
        apush(s, vocab, classes);
        mset(s, m, "vocabulary", vocab);
    } else {
        trove_value_free(classes);
    }
    mset(s, node, "kind", vstr(s, "onehot"));
    mset(s, m, "task", vstr(s, "transform"));
    mset(s, m, "n_features", trove_value_int(s->alloc, 1));
    mset(s, m, "handle_unknown", vstr(s, "ignore"));
    return TROVE_OK;
}

/* ---- trees -------------------------------------------------------------------------------- */
typedef struct tree_view {
    pk_array nodes, values;
    int f_left, f_right, f_feat, f_thr, f_miss;
    uint64_t n;
} tree_view;

static int tree_of(sk *s, const pk_obj *dt_est, const char *cname, tree_view *tv)
{
    const pk_obj *t = pk_attr(dt_est, "tree_");
    const pk_obj *tc = pk_class_of(t);
    if (!tc || strcmp(tc->u.g.name, "Tree"))
        return fail(s, TROVE_E_MODEL, dt_est, "%s: tree_ is missing or not a sklearn Tree",
                    cname);
    const pk_obj *nodes = pk_attr(t, "nodes"), *values = pk_attr(t, "values");
    trove_error e2;
    int rc = pk_array_of(s->a, nodes, &tv->nodes, &e2);
    if (rc)
        return fail(s, rc, t, "%s: tree nodes: %s", cname, e2.message);
    if ((rc = pk_array_of(s->a, values, &tv->values, &e2)))
        return fail(s, rc, t, "%s: tree values: %s", cname, e2.message);
    pk_dtype *d = &tv->nodes.dt;
    tv->f_left = pk_field_index(d, "left_child");
    tv->f_right = pk_field_index(d, "right_child");
    tv->f_feat = pk_field_index(d, "feature");
    tv->f_thr = pk_field_index(d, "threshold");
    tv->f_miss = pk_field_index(d, "missing_go_to_left");
    if (d->kind != 'V' || tv->nodes.rank != 1 || tv->f_left < 0 || tv->f_right < 0 ||
        tv->f_feat < 0 || tv->f_thr < 0)
        return fail(s, TROVE_E_MODEL, t, "%s: tree nodes are not records with left_child, "
                    "right_child, feature, threshold", cname);
    if (tv->values.rank != 3 || tv->values.dt.kind != 'f' ||
        tv->values.shape[0] != tv->nodes.count || tv->values.shape[1] == 0 ||
        tv->values.shape[2] == 0)
        return fail(s, TROVE_E_MODEL, t, "%s: tree values are not [node_count, n_outputs, "
                    "n_classes] floats", cname);
    int64_t nc;
    if (attr_int(t, "node_count", &nc) && (uint64_t)nc != tv->nodes.count)
        return fail(s, TROVE_E_MODEL, t, "%s: node_count %lld but %llu node records", cname,
                    (long long)nc, (unsigned long long)tv->nodes.count);
    tv->n = tv->nodes.count;
    if (tv->n == 0)
        return fail(s, TROVE_E_MODEL, t, "%s: empty tree", cname);
    return TROVE_OK;
}

typedef struct flat_trees {
    int64_t *offsets;
    int32_t *feature, *left, *right;
    double *threshold, *value;
    uint8_t *default_left;
    uint64_t at;
    uint64_t width;
    double leaf_w;            /* LEAF_SAMME*: this tree's estimator weight */
    const pk_array *feat_map; /* bagging: the tree's feature i is input column feat_map[i] */
    const pk_array *cls_map;  /* bagging: the tree's class column c is class cls_map[c] */
} flat_trees;

static int flat_alloc(sk *s, const char *prefix, tree_view *tvs, size_t nt, uint64_t width,
                      bool with_dl, flat_trees *f)
{
    uint64_t total = 0;
    for (size_t i = 0; i < nt; i++)
        if (!trove__add_ok(total, tvs[i].n, &total) || total > INT32_MAX)
            return fail(s, TROVE_E_LIMIT, NULL, "trees: more than 2^31 nodes in all");
    memset(f, 0, sizeof *f);
    f->width = width;
    f->offsets = tensor(s, prefix, "trees/offsets", TROVE_INT64, 1, nt + 1, 0);
    f->feature = tensor(s, prefix, "trees/feature", TROVE_INT32, 1, total, 0);
    f->threshold = tensor(s, prefix, "trees/threshold", TROVE_FLOAT64, 1, total, 0);
    f->left = tensor(s, prefix, "trees/left", TROVE_INT32, 1, total, 0);
    f->right = tensor(s, prefix, "trees/right", TROVE_INT32, 1, total, 0);
    f->value = tensor(s, prefix, "trees/value", TROVE_FLOAT64, 2, total, width);
    if (with_dl)
        f->default_left = tensor(s, prefix, "trees/default_left", TROVE_UINT8, 1, total, 0);
    if (!f->offsets || !f->feature || !f->threshold || !f->left || !f->right || !f->value ||
        (with_dl && !f->default_left))
        return nomem(s);
    f->offsets[0] = 0;
    return TROVE_OK;
}

/* LEAF_SAMME_R, LEAF_SAMME, LEAF_SAMME_OLD: AdaBoostClassifier's per-tree contribution to
 * its decision function (see adaboost_leaf), k classes, folded to one column for two. */
enum leaf_mode { LEAF_PROBA, LEAF_REGRESSION, LEAF_GB, LEAF_SAMME_R, LEAF_SAMME, LEAF_SAMME_OLD };

/* What one AdaBoost tree adds to the decision function at a leaf whose class counts are
 * row[0..k), as sklearn's AdaBoostClassifier.decision_function computes it:
 *  SAMME.R: (k-1) (log p - mean(log p)), p = the tree's predict_proba clipped below at the
 *           float64 epsilon (_samme_proba);
 *  SAMME (sklearn >= 1.3): w for the tree's predicted class, -w/(k-1) for the others;
 *  SAMME before 1.3: w for the predicted class, 0 for the others.
 * Two classes fold into one column, as sklearn returns -pred[:, 0] + pred[:, 1]. */
static void adaboost_leaf(enum leaf_mode mode, const double *row, uint64_t k, double w,
                          double *out, uint64_t width)
{
    double h[4096];
    if (mode == LEAF_SAMME_R) {
        double sum = trove__np_sum(row, (size_t)k);
        if (sum == 0.0)
            sum = 1.0;
        for (uint64_t c = 0; c < k; c++) {
            double p = row[c] / sum;
            h[c] = log(p < 2.220446049250313e-16 ? 2.220446049250313e-16 : p);
        }
        double mean = (1.0 / (double)k) * trove__np_sum(h, (size_t)k);
        for (uint64_t c = 0; c < k; c++)
            h[c] = (double)(k - 1) * (h[c] - mean);
    } else {
        uint64_t best = 0; /* DecisionTreeClassifier.predict: the first largest count */
        for (uint64_t c = 1; c < k; c++)
            if (row[c] > row[best])
                best = c;
        double other = mode == LEAF_SAMME ? -1.0 / (double)(k - 1) * w : 0.0;
        for (uint64_t c = 0; c < k; c++)
            h[c] = c == best ? w : other;
    }
    if (width == 1)
        out[0] = -h[0] + h[1];
    else
        memcpy(out, h, (size_t)k * sizeof *h);
}

/* Append one tree. LEAF_PROBA: v[:,0,:k] normalised like predict_proba; LEAF_REGRESSION:
 * v[:,:,0]; LEAF_GB: v[:,0,0]. Indices are checked by trove_model_open when the file is bound. */
static int flat_add(sk *s, flat_trees *f, size_t t, const tree_view *tv, enum leaf_mode mode,
                    uint64_t k)
{
    uint64_t base = f->at;
    uint64_t no = tv->values.shape[1], nc = tv->values.shape[2];
    bool ada = mode == LEAF_SAMME_R || mode == LEAF_SAMME || mode == LEAF_SAMME_OLD;
    const pk_array *cm = f->cls_map;
    if (cm && (mode != LEAF_PROBA || no != 1 || cm->count != nc || nc > k))
        return fail(s, TROVE_E_MODEL, NULL, "tree %zu: %llu class columns for %llu classes", t,
                    (unsigned long long)nc, (unsigned long long)(cm ? cm->count : 0));
    for (uint64_t c = 0; cm && c < nc; c++)
        if (pk_array_i64(cm, c) < 0 || (uint64_t)pk_array_i64(cm, c) >= k)
            return fail(s, TROVE_E_MODEL, NULL, "tree %zu: class index %lld out of range", t,
                        (long long)pk_array_i64(cm, c));
    if (((mode == LEAF_PROBA || ada) && !cm && (no != 1 || nc < k)) ||
        (mode == LEAF_REGRESSION && (nc != 1 || no != f->width)) ||
        (mode == LEAF_GB && (no != 1 || nc != 1)))
        return fail(s, TROVE_E_MODEL, NULL, "tree %zu: values of shape [%llu, %llu, %llu] do not "
                    "fit the model", t, (unsigned long long)tv->n, (unsigned long long)no,
                    (unsigned long long)nc);
    double row[4096];
    if ((mode == LEAF_PROBA || ada) && k > 4096)
        return fail(s, TROVE_E_LIMIT, NULL, "trees: more than 4096 classes");
    for (uint64_t i = 0; i < tv->n; i++) {
        int64_t l = pk_field_i64(&tv->nodes, (uint32_t)tv->f_left, i);
        int64_t r = pk_field_i64(&tv->nodes, (uint32_t)tv->f_right, i);
        int64_t ft = pk_field_i64(&tv->nodes, (uint32_t)tv->f_feat, i);
        bool leaf = l == -1;
        if (l < -1 || l > INT32_MAX || r < -1 || r > INT32_MAX || ft < -2 || ft > INT32_MAX)
            return fail(s, TROVE_E_MODEL, NULL, "tree %zu node %llu: child or feature out of "
                        "range", t, (unsigned long long)i);
        f->left[base + i] = (int32_t)l;
        f->right[base + i] = (int32_t)r;
        if (!leaf && f->feat_map) {
            if (ft < 0 || (uint64_t)ft >= f->feat_map->count ||
                pk_array_i64(f->feat_map, (uint64_t)ft) < 0 ||
                pk_array_i64(f->feat_map, (uint64_t)ft) > INT32_MAX)
                return fail(s, TROVE_E_MODEL, NULL, "tree %zu node %llu: feature %lld is not one "
                            "of the tree's %llu features", t, (unsigned long long)i,
                            (long long)ft, (unsigned long long)f->feat_map->count);
            ft = pk_array_i64(f->feat_map, (uint64_t)ft);
        }
        f->feature[base + i] = leaf ? 0 : (int32_t)ft;
        f->threshold[base + i] = pk_field_f64(&tv->nodes, (uint32_t)tv->f_thr, i);
        if (f->default_left)
            f->default_left[base + i] =
                tv->f_miss >= 0 && pk_field_i64(&tv->nodes, (uint32_t)tv->f_miss, i) ? 1 : 0;
        double *out = f->value + (base + i) * f->width;
        if (mode == LEAF_PROBA) {
            const uint64_t kt = cm ? nc : k; /* the tree's own classes */
            for (uint64_t c = 0; c < kt; c++)
                row[c] = pk_array_f64(&tv->values, i * nc + c);
            double sum = trove__np_sum(row, (size_t)kt);
            if (sum == 0.0)
                sum = 1.0;
            if (cm)
                memset(out, 0, (size_t)k * sizeof *out);
            for (uint64_t c = 0; c < kt; c++)
                out[cm ? (uint64_t)pk_array_i64(cm, c) : c] = row[c] / sum;
        } else if (ada) {
            for (uint64_t c = 0; c < k; c++)
                row[c] = pk_array_f64(&tv->values, i * nc + c);
            adaboost_leaf(mode, row, k, f->leaf_w, out, f->width);
        } else if (mode == LEAF_REGRESSION) {
            for (uint64_t o = 0; o < no; o++)
                out[o] = pk_array_f64(&tv->values, i * no + o);
        } else {
            out[0] = pk_array_f64(&tv->values, i);
        }
        if (!leaf)
            f->threshold[base + i] = pk_field_f64(&tv->nodes, (uint32_t)tv->f_thr, i);
    }
    f->at += tv->n;
    f->offsets[t + 1] = (int64_t)f->at;
    return TROVE_OK;
}

/* classes_ into model.classes; at least two of them. */
static int class_labels(sk *s, const pk_obj *est, const char *cname, trove_value *m, size_t *k)
{
    trove_value *classes;
    int rc = labels_value(s, est, cname, "classes_", &classes, k);
    if (rc)
        return rc;
    mset(s, m, "classes", classes);
    if (*k < 2)
        return fail(s, TROVE_E_MODEL, est, "%s: fewer than 2 classes", cname);
    return TROVE_OK;
}

/* The model entries of a tree_ensemble of sklearn trees (float32 comparisons). */
static void tree_meta(sk *s, trove_value *node, trove_value *m, int64_t nf, uint64_t width,
                      const char *aggregate, double scale, const char *link)
{
    mset(s, node, "kind", vstr(s, "tree_ensemble"));
    mset(s, m, "n_features", trove_value_int(s->alloc, nf));
    mset(s, m, "n_outputs", trove_value_int(s->alloc, (int64_t)width));
    mset(s, m, "aggregate", vstr(s, aggregate));
    mset(s, m, "compare", vstr(s, "float32"));
    mset(s, m, "scale", trove_value_float(s->alloc, scale));
    mset(s, m, "link", vstr(s, link));
}

static int map_trees(sk *s, const pk_obj *est, const char *cname, const char *prefix,
                     trove_value *node, trove_value *m)
{
    bool single = strstr(cname, "Forest") == NULL && strstr(cname, "Trees") == NULL;
    bool clf = strstr(cname, "Classifier") != NULL;
    const pk_obj *list = NULL;
    pk_array objarr;
    size_t nt = 1;
    pk_obj *const *members = NULL;
    if (!single) {
        list = pk_attr(est, "estimators_");
        if (list && (list->kind == PK_LIST || list->kind == PK_TUPLE)) {
            nt = list->u.seq.n;
            members = list->u.seq.v;
        } else {
            trove_error e2;
            int rc = pk_array_of(s->a, list, &objarr, &e2);
            if (rc || objarr.dt.kind != 'O')
                return fail(s, TROVE_E_MODEL, est, "%s: estimators_ is not a list of trees",
                            cname);
            nt = (size_t)objarr.count;
            members = objarr.objs;
        }
        if (nt == 0)
            return fail(s, TROVE_E_MODEL, est, "%s: no trees", cname);
    }
    tree_view *tvs = pk_alloc(s->a, nt * sizeof *tvs);
    if (!tvs)
        return nomem(s);
    bool has_miss = false;
    for (size_t i = 0; i < nt; i++) {
        int rc = tree_of(s, single ? est : members[i], cname, &tvs[i]);
        if (rc)
            return rc;
        has_miss |= tvs[i].f_miss >= 0;
    }
    int64_t nf;
    int rc;
    int64_t nf_tree = 0;
    const pk_obj *t0 = pk_attr(single ? est : members[0], "tree_");
    pk_as_int(pk_item(t0 ? t0->u.o.args : NULL, 0), &nf_tree);
    if ((rc = n_features_of(s, est, cname, nf_tree, &nf)))
        return rc;
    int64_t n_outputs = 1;
    attr_int(est, "n_outputs_", &n_outputs);
    uint64_t width;
    size_t k = 0;
    if (clf) {
        if (n_outputs != 1)
            return fail(s, TROVE_E_UNSUPPORTED, est, "multi-output %s: not supported by trove's "
                        "model kinds yet", cname);
        if ((rc = class_labels(s, est, cname, m, &k)))
            return rc;
        width = k;
    } else {
        if (n_outputs < 1 || n_outputs > (int64_t)TROVE_MODEL_MAX_WIDTH)
            return fail(s, TROVE_E_MODEL, est, "%s: n_outputs_ out of range", cname);
        width = (uint64_t)n_outputs;
    }
    flat_trees f;
    if ((rc = flat_alloc(s, prefix, tvs, nt, width, has_miss, &f)))
        return rc;
    for (size_t i = 0; i < nt; i++)
        if ((rc = flat_add(s, &f, i, &tvs[i], clf ? LEAF_PROBA : LEAF_REGRESSION, k)))
            return rc;
    tree_meta(s, node, m, nf, width, "mean", 1.0, clf ? "none" : "identity");
    mset(s, m, "task", vstr(s, clf ? "classification" : "regression"));
    return TROVE_OK;
}

/* AdaBoostClassifier over decision trees: each tree's contribution to the decision function is
 * constant on each of its leaves, so the ensemble is a tree_ensemble summing per-leaf vectors
 * (adaboost_leaf), scaled by 1 / sum(estimator_weights_); probabilities are
 * softmax(decision / (k - 1)) (the logistic of the decision for two classes), sklearn >= 0.22. */
static int map_adaboost(sk *s, const pk_obj *est, const char *cname, const char *prefix,
                        trove_value *node, trove_value *m)
{
    const pk_obj *list = pk_attr(est, "estimators_");
    if (!list || (list->kind != PK_LIST && list->kind != PK_TUPLE) || list->u.seq.n == 0)
        return fail(s, TROVE_E_MODEL, est, "%s: estimators_ is not a non-empty list", cname);
    const size_t nt = list->u.seq.n;
    enum leaf_mode mode;
    const pk_obj *alg = pk_attr(est, "algorithm");
    if (pk_text_eq(alg, "SAMME.R"))
        mode = LEAF_SAMME_R;
    else if (pk_is_none(alg) || pk_text_eq(alg, "SAMME") || pk_text_eq(alg, "deprecated"))
        mode = sklearn_before(est, 1, 3) ? LEAF_SAMME_OLD : LEAF_SAMME;
    else
        return fail(s, TROVE_E_MODEL, est, "%s: algorithm is neither 'SAMME' nor 'SAMME.R'",
                    cname);
    if (mode == LEAF_SAMME_OLD && sklearn_before(est, 0, 22))
        return fail(s, TROVE_E_UNSUPPORTED, est, "%s(algorithm='SAMME') pickled by scikit-learn "
                    "< 0.22: its predict_proba averages the trees' probabilities instead of "
                    "following the decision function; not supported by trove's model kinds",
                    cname);
    pk_array wa;
    int rc;
    if ((rc = get_array(s, est, cname, "estimator_weights_", &wa)))
        return rc;
    if (wa.rank != 1 || wa.count < nt || wa.count > ((uint64_t)1 << 20))
        return fail(s, TROVE_E_MODEL, est, "%s: estimator_weights_ has %llu entries for %zu "
                    "trees", cname, (unsigned long long)wa.count, nt);
    double *wts = pk_alloc(s->a, (size_t)wa.count * sizeof *wts);
    tree_view *tvs = pk_alloc(s->a, nt * sizeof *tvs);
    if (!wts || !tvs)
        return nomem(s);
    for (uint64_t i = 0; i < wa.count; i++)
        if (!isfinite(wts[i] = pk_array_f64(&wa, i)))
            return fail(s, TROVE_E_MODEL, est, "%s: estimator_weights_[%llu] is not finite",
                        cname, (unsigned long long)i);
    const double wsum = trove__np_sum(wts, (size_t)wa.count);
    if (!(wsum != 0.0) || !isfinite(1.0 / wsum))
        return fail(s, TROVE_E_MODEL, est, "%s: the estimator weights sum to %g", cname, wsum);
    bool has_miss = false;
    for (size_t i = 0; i < nt; i++) {
        const char *tn = cls_name(list->u.seq.v[i]);
        if (!tn || (strcmp(tn, "DecisionTreeClassifier") && strcmp(tn, "ExtraTreeClassifier")))
            return fail(s, TROVE_E_UNSUPPORTED, est, "%s over %s: only decision trees as base "
                        "estimators are supported by trove's model kinds", cname,
                        tn ? tn : "a non-estimator");
        if ((rc = tree_of(s, list->u.seq.v[i], cname, &tvs[i])))
            return rc;
        has_miss |= tvs[i].f_miss >= 0;
    }
    int64_t nf, nf_tree = 0;
    const pk_obj *t0 = pk_attr(list->u.seq.v[0], "tree_");
    pk_as_int(pk_item(t0 ? t0->u.o.args : NULL, 0), &nf_tree);
    if ((rc = n_features_of(s, est, cname, nf_tree, &nf)))
        return rc;
    size_t k;
    if ((rc = class_labels(s, est, cname, m, &k)))
        return rc;
    const uint64_t width = k == 2 ? 1 : k;
    flat_trees f;
    if ((rc = flat_alloc(s, prefix, tvs, nt, width, has_miss, &f)))
        return rc;
    for (size_t i = 0; i < nt; i++) {
        f.leaf_w = wts[i];
        if ((rc = flat_add(s, &f, i, &tvs[i], mode, k)))
            return rc;
    }
    tree_meta(s, node, m, nf, width, "sum", 1.0 / wsum, k == 2 ? "logistic" : "softmax");
    if (k > 2)
        mset(s, m, "temperature", trove_value_float(s->alloc, (double)(k - 1)));
    mset(s, m, "task", vstr(s, "classification"));
    return TROVE_OK;
}

/* BaggingClassifier / BaggingRegressor over decision trees: a forest (mean of the trees'
 * probabilities or predictions, divided by n_estimators as sklearn does) whose trees read the
 * input columns estimators_features_[t]; a bagged classifier tree that saw fewer classes adds
 * its probabilities to the classes it knows (its classes_ are indices into the bag's). */
static int map_bagging(sk *s, const pk_obj *est, const char *cname, const char *prefix,
                       trove_value *node, trove_value *m)
{
    const bool clf = !strcmp(cname, "BaggingClassifier");
    const pk_obj *list = pk_attr(est, "estimators_"), *feats = pk_attr(est, "estimators_features_");
    if (!list || (list->kind != PK_LIST && list->kind != PK_TUPLE) || list->u.seq.n == 0)
        return fail(s, TROVE_E_MODEL, est, "%s: estimators_ is not a non-empty list", cname);
    const size_t nt = list->u.seq.n;
    int64_t ne;
    if (pk_len(feats) != nt || (attr_int(est, "n_estimators", &ne) && ne != (int64_t)nt))
        return fail(s, TROVE_E_MODEL, est, "%s: %zu trees, %zu feature lists, n_estimators "
                    "disagrees or is missing", cname, nt, pk_len(feats));
    int64_t nf;
    int rc;
    if ((rc = n_features_of(s, est, cname, 0, &nf)))
        return rc;
    tree_view *tvs = pk_alloc(s->a, nt * sizeof *tvs);
    pk_array *fa = pk_alloc(s->a, nt * sizeof *fa), *ca = pk_alloc(s->a, nt * sizeof *ca);
    if (!tvs || !fa || !ca)
        return nomem(s);
    bool has_miss = false;
    trove_error e2;
    for (size_t i = 0; i < nt; i++) {
        const pk_obj *mem = list->u.seq.v[i];
        const char *tn = cls_name(mem);
        if (!tn || (clf ? strcmp(tn, "DecisionTreeClassifier") && strcmp(tn, "ExtraTreeClassifier")
                        : strcmp(tn, "DecisionTreeRegressor") && strcmp(tn, "ExtraTreeRegressor")))
            return fail(s, TROVE_E_UNSUPPORTED, est, "%s over %s: only decision trees as base "
                        "estimators are supported by trove's model kinds", cname,
                        tn ? tn : "a non-estimator");
        if ((rc = tree_of(s, mem, cname, &tvs[i])))
            return rc;
        has_miss |= tvs[i].f_miss >= 0;
        if ((rc = pk_array_of(s->a, pk_item(feats, i), &fa[i], &e2)) || fa[i].rank != 1 ||
            fa[i].count == 0)
            return fail(s, TROVE_E_MODEL, est, "%s: estimators_features_[%zu] is not a list of "
                        "columns%s%s", cname, i, rc ? ": " : "", rc ? e2.message : "");
        for (uint64_t j = 0; j < fa[i].count; j++)
            if (pk_array_i64(&fa[i], j) < 0 || pk_array_i64(&fa[i], j) >= nf)
                return fail(s, TROVE_E_MODEL, est, "%s: estimators_features_[%zu] names column "
                            "%lld of %lld", cname, i, (long long)pk_array_i64(&fa[i], j),
                            (long long)nf);
        if (clf && (rc = get_array(s, mem, tn, "classes_", &ca[i])))
            return rc;
    }
    uint64_t width;
    size_t k = 0;
    if (clf) {
        if ((rc = class_labels(s, est, cname, m, &k)))
            return rc;
        width = k;
    } else {
        width = tvs[0].values.shape[1];
        if (width == 0 || width > TROVE_MODEL_MAX_WIDTH)
            return fail(s, TROVE_E_MODEL, est, "%s: trees with %llu outputs", cname,
                        (unsigned long long)width);
    }
    flat_trees f;
    if ((rc = flat_alloc(s, prefix, tvs, nt, width, has_miss, &f)))
        return rc;
    for (size_t i = 0; i < nt; i++) {
        f.feat_map = &fa[i];
        f.cls_map = clf ? &ca[i] : NULL;
        if ((rc = flat_add(s, &f, i, &tvs[i], clf ? LEAF_PROBA : LEAF_REGRESSION, k)))
            return rc;
    }
    tree_meta(s, node, m, nf, width, "mean", 1.0, clf ? "none" : "identity");
    mset(s, m, "task", vstr(s, clf ? "classification" : "regression"));
    return TROVE_OK;
}

static int map_gb(sk *s, const pk_obj *est, const char *cname, const char *prefix,
                  trove_value *node, trove_value *m)
{
    bool clf = !strcmp(cname, "GradientBoostingClassifier");
    pk_array ea;
    trove_error e2;
    int rc = pk_array_of(s->a, pk_attr(est, "estimators_"), &ea, &e2);
    if (rc || ea.dt.kind != 'O' || ea.rank != 2 || ea.shape[0] == 0 || ea.shape[1] == 0)
        return fail(s, TROVE_E_MODEL, est, "%s: estimators_ is not a 2-D array of trees%s%s",
                    cname, rc ? ": " : "", rc ? e2.message : "");
    uint64_t stages = ea.shape[0], K = ea.shape[1];
    int64_t ne;
    if (attr_int(est, "n_estimators_", &ne) && ne > 0 && (uint64_t)ne < stages)
        stages = (uint64_t)ne;
    double lr;
    if (!pk_as_float(pk_attr(est, "learning_rate"), &lr))
        return fail(s, TROVE_E_MODEL, est, "%s: learning_rate missing", cname);
    size_t nt = (size_t)(stages * K);
    tree_view *tvs = pk_alloc(s->a, nt * sizeof *tvs);
    if (!tvs)
        return nomem(s);
    bool has_miss = false;
    for (size_t i = 0; i < nt; i++) {
        if ((rc = tree_of(s, ea.objs[i], cname, &tvs[i])))
            return rc;
        has_miss |= tvs[i].f_miss >= 0;
    }
    int64_t nf;
    int64_t nf_tree = 0;
    const pk_obj *t0 = pk_attr(ea.objs[0], "tree_");
    pk_as_int(pk_item(t0 ? t0->u.o.args : NULL, 0), &nf_tree);
    if ((rc = n_features_of(s, est, cname, nf_tree, &nf)))
        return rc;
    /* the initial raw prediction */
    double *base = tensor(s, prefix, "base_score", TROVE_FLOAT64, 1, K, 0);
    if (!base)
        return nomem(s);
    const pk_obj *init = pk_attr(est, "init_");
    if (!init && pk_attr(est, "init") && pk_attr(est, "init")->kind == PK_OBJECT)
        init = pk_attr(est, "init"); /* very old versions kept the fitted init here */
    const char *iname = cls_name(init);
    size_t k = 0;
    if (clf) {
        const pk_obj *loss = pk_attr(est, "loss");
        if (!(pk_text_eq(loss, "deviance") || pk_text_eq(loss, "log_loss")))
            return fail(s, TROVE_E_UNSUPPORTED, est, "%s(loss='exponential' or other): only the "
                        "log-loss is supported by trove's model kinds yet", cname);
        trove_value *classes;
        if ((rc = labels_value(s, est, cname, "classes_", &classes, &k)))
            return rc;
        mset(s, m, "classes", classes);
        if (k < 2 || (k == 2 ? K != 1 : K != k))
            return fail(s, TROVE_E_MODEL, est, "%s: %zu classes with %llu trees per stage", cname,
                        k, (unsigned long long)K);
    } else if (K != 1) {
        return fail(s, TROVE_E_MODEL, est, "%s: %llu trees per stage", cname,
                    (unsigned long long)K);
    }
    if (pk_text_eq(init, "zero")) {
        for (uint64_t i = 0; i < K; i++)
            base[i] = 0.0;
    } else if (clf && iname && !strcmp(iname, "DummyClassifier")) {
        pk_array pr;
        if (!(attr_str_eq(init, "strategy", "prior") || attr_str_eq(init, "_strategy", "prior")))
            return fail(s, TROVE_E_UNSUPPORTED, est, "%s: init DummyClassifier with a strategy "
                        "other than 'prior': not supported", cname);
        if ((rc = get_array(s, init, "DummyClassifier", "class_prior_", &pr)))
            return rc;
        if (pr.count != k)
            return fail(s, TROVE_E_MODEL, est, "%s: init prior has %llu classes", cname,
                        (unsigned long long)pr.count);
        const double eps = 1.1920928955078125e-07; /* np.finfo(np.float32).eps */
        if (k == 2) {
            double p = pk_array_f64(&pr, 1);
            p = p < eps ? eps : p > 1 - eps ? 1 - eps : p;
            base[0] = log(p / (1 - p));
        } else {
            for (uint64_t c = 0; c < k; c++) {
                double p = pk_array_f64(&pr, c);
                p = p < eps ? eps : p > 1 - eps ? 1 - eps : p;
                base[c] = log(p);
            }
            /* sklearn >= 1.3 (_loss.HalfMultinomialLoss): symmetric link, centred logits */
            const char *ln = cls_name(pk_attr(est, "_loss"));
            if (ln && !strcmp(ln, "HalfMultinomialLoss")) {
                double mean = trove__np_sum(base, (size_t)k) / (double)k;
                for (uint64_t c = 0; c < k; c++)
                    base[c] -= mean;
            }
        }
    } else if (iname && (!strcmp(iname, "LogOddsEstimator") ||
                         !strcmp(iname, "ScaledLogOddsEstimator") ||
                         !strcmp(iname, "MeanEstimator") || !strcmp(iname, "QuantileEstimator") ||
                         !strcmp(iname, "ZeroEstimator") ||
                         !strcmp(iname, "PriorProbabilityEstimator"))) {
        /* sklearn <= 0.20: init_.predict(X) is the raw score itself (a log-odds, the class
         * priors, a mean or a quantile), used as is by _init_decision_function */
        if (!strcmp(iname, "PriorProbabilityEstimator")) {
            pk_array pr;
            if ((rc = get_array(s, init, iname, "priors", &pr)))
                return rc;
            if (pr.count != K)
                return fail(s, TROVE_E_MODEL, est, "%s: init priors for %llu outputs", cname,
                            (unsigned long long)K);
            for (uint64_t c = 0; c < K; c++)
                base[c] = pk_array_f64(&pr, c);
        } else {
            const char *an = !strcmp(iname, "MeanEstimator") ? "mean"
                             : !strcmp(iname, "QuantileEstimator") ? "quantile"
                             : !strcmp(iname, "ZeroEstimator") ? NULL : "prior";
            double v = 0.0;
            if (an && !pk_as_float(pk_attr(init, an), &v))
                return fail(s, TROVE_E_MODEL, est, "%s: init %s without its %s", cname, iname,
                            an);
            if (K != 1 && an)
                return fail(s, TROVE_E_MODEL, est, "%s: init %s with %llu outputs", cname,
                            iname, (unsigned long long)K);
            for (uint64_t c = 0; c < K; c++)
                base[c] = v;
        }
    } else if (!clf && iname && !strcmp(iname, "DummyRegressor")) {
        pk_array cst;
        if ((rc = get_array(s, init, "DummyRegressor", "constant_", &cst)))
            return rc;
        if (cst.count != 1)
            return fail(s, TROVE_E_UNSUPPORTED, est, "%s: multi-output init", cname);
        base[0] = pk_array_f64(&cst, 0);
    } else {
        char nm[160];
        return fail(s, TROVE_E_UNSUPPORTED, est, "%s: init estimator %s: not supported by "
                    "trove's model kinds yet (only 'zero' and the default Dummy priors)", cname,
                    init ? pk_global_name(pk_class_of(init), nm, sizeof nm) : "?");
    }
    flat_trees f;
    if ((rc = flat_alloc(s, prefix, tvs, nt, 1, has_miss, &f)))
        return rc;
    for (size_t i = 0; i < nt; i++)
        if ((rc = flat_add(s, &f, i, &tvs[i], LEAF_GB, 1)))
            return rc;
    if (K > 1) {
        int32_t *out = tensor(s, prefix, "trees/output", TROVE_INT32, 1, nt, 0);
        if (!out)
            return nomem(s);
        for (size_t i = 0; i < nt; i++)
            out[i] = (int32_t)(i % K);
    }
    mset(s, node, "kind", vstr(s, "tree_ensemble"));
    mset(s, m, "n_features", trove_value_int(s->alloc, nf));
    mset(s, m, "n_outputs", trove_value_int(s->alloc, (int64_t)K));
    mset(s, m, "aggregate", vstr(s, "sum"));
    mset(s, m, "compare", vstr(s, "float32"));
    mset(s, m, "scale", trove_value_float(s->alloc, lr));
    mset(s, m, "link", vstr(s, clf ? (K == 1 ? "logistic" : "softmax") : "identity"));
    mset(s, m, "task", vstr(s, clf ? "classification" : "regression"));
    return TROVE_OK;
}

/* HistGradientBoosting: _predictors[iteration][k] are TreePredictor objects whose `nodes` are
 * records (value, feature_idx, num_threshold (threshold before 0.24), missing_go_to_left
 * (0.22+), left, right, is_leaf, is_categorical (0.24+), ...). Leaf values already include the
 * learning rate; raw = baseline + sum of trees, comparisons in float64. */
static int map_hgb(sk *s, const pk_obj *est, const char *cname, const char *prefix,
                   trove_value *node, trove_value *m)
{
    bool clf = strstr(cname, "Classifier") != NULL;
    const pk_obj *preds = pk_attr(est, "_predictors");
    size_t iters = pk_len(preds);
    int64_t K;
    if (!attr_int(est, "n_trees_per_iteration_", &K) || K < 1 || K > 65536 || iters == 0)
        return fail(s, TROVE_E_MODEL, est, "%s: no fitted trees (_predictors, "
                    "n_trees_per_iteration_)", cname);
    if (!pk_is_none(pk_attr(est, "_preprocessor")))
        return fail(s, TROVE_E_UNSUPPORTED, est, "%s with categorical features (a column "
                    "preprocessor): not supported by trove's model kinds yet", cname);
    const pk_obj *cat = pk_attr(est, "is_categorical_");
    if (!pk_is_none(cat)) {
        pk_array ca;
        trove_error e2;
        if (pk_array_of(s->a, cat, &ca, &e2) == TROVE_OK)
            for (uint64_t i = 0; i < ca.count; i++)
                if (ca.dt.kind != 'O' && pk_array_i64(&ca, i))
                    return fail(s, TROVE_E_UNSUPPORTED, est, "%s with categorical features: not "
                                "supported by trove's model kinds yet", cname);
    }
    const pk_obj *loss = pk_attr(est, "loss");
    if (clf) {
        if (!(pk_text_eq(loss, "log_loss") || pk_text_eq(loss, "auto") ||
              pk_text_eq(loss, "binary_crossentropy") ||
              pk_text_eq(loss, "categorical_crossentropy")))
            return fail(s, TROVE_E_UNSUPPORTED, est, "%s: this loss is not supported", cname);
    } else if (!(pk_text_eq(loss, "squared_error") || pk_text_eq(loss, "least_squares") ||
                 pk_text_eq(loss, "absolute_error") ||
                 pk_text_eq(loss, "least_absolute_deviation") || pk_text_eq(loss, "quantile"))) {
        return fail(s, TROVE_E_UNSUPPORTED, est, "%s: a loss whose link is not the identity "
                    "(poisson, gamma): not supported by trove's model kinds yet", cname);
    }
    size_t nt = 0;
    for (size_t i = 0; i < iters; i++) {
        if (pk_len(pk_item(preds, i)) != (size_t)K)
            return fail(s, TROVE_E_MODEL, est, "%s: iteration %zu has %zu trees, expected %lld",
                        cname, i, pk_len(pk_item(preds, i)), (long long)K);
        nt += (size_t)K;
    }
    pk_array *na = pk_alloc(s->a, nt * sizeof *na);
    if (!na)
        return nomem(s);
    uint64_t total = 0;
    int fv = -1, ff = -1, ft = -1, fm = -1, fl = -1, fr = -1, fleaf = -1, fcat = -1;
    for (size_t t = 0; t < nt; t++) {
        const pk_obj *p = pk_item(pk_item(preds, t / (size_t)K), t % (size_t)K);
        trove_error e2;
        int rc = pk_array_of(s->a, pk_attr(p, "nodes"), &na[t], &e2);
        if (rc)
            return fail(s, rc, est, "%s: tree %zu: %s", cname, t, e2.message);
        const pk_dtype *d = &na[t].dt;
        fv = pk_field_index(d, "value");
        ff = pk_field_index(d, "feature_idx");
        ft = pk_field_index(d, "num_threshold");
        if (ft < 0)
            ft = pk_field_index(d, "threshold");
        fm = pk_field_index(d, "missing_go_to_left");
        fl = pk_field_index(d, "left");
        fr = pk_field_index(d, "right");
        fleaf = pk_field_index(d, "is_leaf");
        fcat = pk_field_index(d, "is_categorical");
        if (d->kind != 'V' || na[t].rank != 1 || na[t].count == 0 || fv < 0 || ff < 0 ||
            ft < 0 || fl < 0 || fr < 0 || fleaf < 0)
            return fail(s, TROVE_E_MODEL, est, "%s: tree %zu: node records without value, "
                        "feature_idx, threshold, left, right, is_leaf", cname, t);
        total += na[t].count;
    }
    int64_t nf = 0;
    int rc;
    if (!attr_int(est, "_n_features", &nf))
        attr_int(est, "n_features_", &nf);
    if ((rc = n_features_of(s, est, cname, nf, &nf)))
        return rc;
    double *base = tensor(s, prefix, "base_score", TROVE_FLOAT64, 1, (uint64_t)K, 0);
    if (!base)
        return nomem(s);
    const pk_obj *bo = pk_attr(est, "_baseline_prediction");
    double bv;
    if (pk_as_float(bo, &bv)) {
        for (int64_t k = 0; k < K; k++)
            base[k] = bv;
    } else {
        pk_array ba;
        if ((rc = get_array(s, est, cname, "_baseline_prediction", &ba)))
            return rc;
        if (ba.count != (uint64_t)K)
            return fail(s, TROVE_E_MODEL, est, "%s: baseline of %llu values for %lld outputs",
                        cname, (unsigned long long)ba.count, (long long)K);
        for (int64_t k = 0; k < K; k++)
            base[k] = pk_array_f64(&ba, (uint64_t)k);
    }
    if (clf) {
        trove_value *classes;
        size_t k;
        if ((rc = labels_value(s, est, cname, "classes_", &classes, &k)))
            return rc;
        mset(s, m, "classes", classes);
        if (k < 2 || (k == 2 ? K != 1 : (int64_t)k != K))
            return fail(s, TROVE_E_MODEL, est, "%s: %zu classes with %lld trees per iteration",
                        cname, k, (long long)K);
    } else if (K != 1) {
        return fail(s, TROVE_E_MODEL, est, "%s: %lld trees per iteration", cname, (long long)K);
    }
    if (total > INT32_MAX)
        return fail(s, TROVE_E_LIMIT, est, "%s: too many nodes", cname);
    int64_t *offs = tensor(s, prefix, "trees/offsets", TROVE_INT64, 1, nt + 1, 0);
    int32_t *feat = tensor(s, prefix, "trees/feature", TROVE_INT32, 1, total, 0);
    double *thr = tensor(s, prefix, "trees/threshold", TROVE_FLOAT64, 1, total, 0);
    int32_t *left = tensor(s, prefix, "trees/left", TROVE_INT32, 1, total, 0);
    int32_t *right = tensor(s, prefix, "trees/right", TROVE_INT32, 1, total, 0);
    double *val = tensor(s, prefix, "trees/value", TROVE_FLOAT64, 2, total, 1);
    uint8_t *dl = fm >= 0 ? tensor(s, prefix, "trees/default_left", TROVE_UINT8, 1, total, 0)
                          : NULL;
    int32_t *outc = K > 1 ? tensor(s, prefix, "trees/output", TROVE_INT32, 1, nt, 0) : NULL;
    if (!offs || !feat || !thr || !left || !right || !val || (fm >= 0 && !dl) || (K > 1 && !outc))
        return nomem(s);
    uint64_t at = 0;
    offs[0] = 0;
    for (size_t t = 0; t < nt; t++) {
        const pk_array *x = &na[t];
        for (uint64_t i = 0; i < x->count; i++, at++) {
            bool leaf = pk_field_i64(x, (uint32_t)fleaf, i) != 0;
            if (!leaf && fcat >= 0 && pk_field_i64(x, (uint32_t)fcat, i))
                return fail(s, TROVE_E_UNSUPPORTED, est, "%s: categorical split: not "
                            "supported by trove's model kinds yet", cname);
            int64_t l = pk_field_i64(x, (uint32_t)fl, i), r = pk_field_i64(x, (uint32_t)fr, i);
            int64_t f = pk_field_i64(x, (uint32_t)ff, i);
            if (!leaf && (l < 0 || l > INT32_MAX || r < 0 || r > INT32_MAX || f < 0 ||
                          f > INT32_MAX))
                return fail(s, TROVE_E_MODEL, est, "%s: tree %zu node %llu out of range", cname,
                            t, (unsigned long long)i);
            left[at] = leaf ? -1 : (int32_t)l;
            right[at] = leaf ? -1 : (int32_t)r;
            feat[at] = leaf ? 0 : (int32_t)f;
            thr[at] = pk_field_f64(x, (uint32_t)ft, i);
            val[at] = pk_field_f64(x, (uint32_t)fv, i);
            if (dl)
                dl[at] = pk_field_i64(x, (uint32_t)fm, i) ? 1 : 0;
        }
        offs[t + 1] = (int64_t)at;
        if (outc)
            outc[t] = (int32_t)(t % (size_t)K);
    }
    mset(s, node, "kind", vstr(s, "tree_ensemble"));
    mset(s, m, "n_features", trove_value_int(s->alloc, nf));
    mset(s, m, "n_outputs", trove_value_int(s->alloc, K));
    mset(s, m, "aggregate", vstr(s, "sum"));
    mset(s, m, "compare", vstr(s, "float64"));
    mset(s, m, "scale", trove_value_float(s->alloc, 1.0));
    mset(s, m, "link", vstr(s, clf ? (K == 1 ? "logistic" : "softmax") : "identity"));
    mset(s, m, "task", vstr(s, clf ? "classification" : "regression"));
    return TROVE_OK;
}

static int map_mlp(sk *s, const pk_obj *est, const char *cname, const char *prefix,
                   trove_value *node, trove_value *m)
{
    bool clf = !strcmp(cname, "MLPClassifier");
    const pk_obj *coefs = pk_attr(est, "coefs_"), *icpts = pk_attr(est, "intercepts_");
    size_t L = pk_len(coefs);
    if (L == 0 || L != pk_len(icpts) || L > TROVE_MODEL_MAX_LAYERS)
        return fail(s, TROVE_E_MODEL, est, "%s: coefs_/intercepts_ missing or of different "
                    "lengths", cname);
    const pk_obj *act = pk_attr(est, "activation"), *oact = pk_attr(est, "out_activation_");
    static const char *const acts[] = {"identity", "relu", "tanh", "logistic", "softmax", NULL};
    const char *a = NULL, *oa = NULL;
    for (int i = 0; acts[i]; i++) {
        if (pk_text_eq(act, acts[i]) && i < 4)
            a = acts[i];
        if (pk_text_eq(oact, acts[i]) && i != 1 && i != 2)
            oa = acts[i];
    }
    if (!a || !oa)
        return fail(s, TROVE_E_UNSUPPORTED, est, "%s: activation or output activation not "
                    "supported by trove's model kinds", cname);
    uint64_t prev = 0;
    int64_t nf = 0;
    char name[64];
    for (size_t i = 0; i < L; i++) {
        pk_array w, b;
        trove_error e2;
        int rc = pk_array_of(s->a, pk_item(coefs, i), &w, &e2);
        if (!rc)
            rc = pk_array_of(s->a, pk_item(icpts, i), &b, &e2);
        if (rc)
            return fail(s, rc, est, "%s: layer %zu: %s", cname, i, e2.message);
        if (w.rank != 2 || b.rank != 1 || w.shape[1] != b.count || (i && w.shape[0] != prev) ||
            w.dt.kind != 'f' || b.dt.kind != 'f' || w.shape[1] == 0 ||
            w.shape[1] > TROVE_MODEL_MAX_WIDTH)
            return fail(s, TROVE_E_MODEL, est, "%s: layer %zu has inconsistent shapes", cname,
                        i);
        if (i == 0)
            nf = (int64_t)w.shape[0];
        uint64_t in = w.shape[0], out = w.shape[1];
        snprintf(name, sizeof name, "layers/%zu/weight", i);
        double *wt = tensor(s, prefix, name, TROVE_FLOAT64, 2, out, in);
        snprintf(name, sizeof name, "layers/%zu/bias", i);
        double *bt = tensor(s, prefix, name, TROVE_FLOAT64, 1, out, 0);
        if (!wt || !bt)
            return nomem(s);
        for (uint64_t r = 0; r < in; r++)
            for (uint64_t c = 0; c < out; c++)
                wt[c * in + r] = pk_array_f64(&w, r * out + c);
        for (uint64_t c = 0; c < out; c++)
            bt[c] = pk_array_f64(&b, c);
        prev = out;
    }
    int rc;
    int64_t nfa;
    if ((rc = n_features_of(s, est, cname, nf, &nfa)))
        return rc;
    if (nfa != nf)
        return fail(s, TROVE_E_MODEL, est, "%s: n_features_in_ %lld but the first layer takes "
                    "%lld", cname, (long long)nfa, (long long)nf);
    if (clf) {
        const pk_obj *lb = pk_attr(est, "_label_binarizer");
        if (attr_str_eq(lb, "y_type_", "multilabel-indicator"))
            return fail(s, TROVE_E_UNSUPPORTED, est, "multilabel %s: not supported by trove's "
                        "model kinds yet", cname);
        trove_value *classes;
        size_t k;
        if ((rc = labels_value(s, est, cname, "classes_", &classes, &k)))
            return rc;
        mset(s, m, "classes", classes);
        mset(s, m, "task", vstr(s, "classification"));
    } else {
        mset(s, m, "task", vstr(s, "regression"));
    }
    trove_value *acts_v = trove_value_array(s->alloc);
    for (size_t i = 0; i + 1 < L; i++)
        apush(s, acts_v, vstr(s, a));
    mset(s, node, "kind", vstr(s, "mlp"));
    mset(s, m, "activations", acts_v);
    mset(s, m, "output_activation", vstr(s, oa));
    mset(s, m, "n_features", trove_value_int(s->alloc, nf));
    mset(s, m, "n_outputs", trove_value_int(s->alloc, (int64_t)prev));
    return TROVE_OK;
}

/* OneVsRestClassifier of linear binary classifiers: one coefficient row per class; decision
 * = each estimator's decision; probabilities (LogisticRegression members only) = each
 * member's sigmoid, normalised: the linear kind's "ovr" link (logistic for 2 classes). */
static int map_ovr(sk *s, const pk_obj *est, const char *cname, const char *prefix,
                   trove_value *node, trove_value *m)
{
    const pk_obj *lb = pk_attr(est, "label_binarizer_");
    if (attr_str_eq(lb, "y_type_", "multilabel-indicator"))
        return fail(s, TROVE_E_UNSUPPORTED, est, "multilabel %s: not supported by trove's model "
                    "kinds yet", cname);
    const pk_obj *ests = pk_attr(est, "estimators_");
    size_t n = pk_len(ests);
    trove_value *classes;
    size_t k;
    int rc = labels_value(s, lb, cname, "classes_", &classes, &k);
    if (rc)
        return rc;
    mset(s, m, "classes", classes);
    if (k < 2 || n != (k == 2 ? 1 : k))
        return fail(s, TROVE_E_MODEL, est, "%s: %zu estimators for %zu classes", cname, n, k);
    bool proba = true;
    int64_t nf = 0;
    double *c = NULL, *b = NULL;
    for (size_t i = 0; i < n; i++) {
        const pk_obj *e = pk_item(ests, i);
        const char *en = cls_name(e);
        if (!en || !is_sklearn(e) || !name_in(en, LINEAR_CLS))
            return fail(s, TROVE_E_UNSUPPORTED, est, "%s of %s: only linear classifiers are "
                        "supported by trove's model kinds yet", cname, en ? en : "?");
        const pk_obj *mc = pk_attr(e, "multi_class");
        if (!(!strcmp(en, "LogisticRegression") && !pk_text_eq(mc, "multinomial")))
            proba = false;
        pk_array co, io;
        if ((rc = get_array(s, e, en, "coef_", &co)))
            return rc;
        if (co.rank != 2 || co.shape[0] != 1)
            return fail(s, TROVE_E_MODEL, est, "%s: estimator %zu is not binary", cname, i);
        if (i == 0) {
            nf = (int64_t)co.shape[1];
            c = tensor(s, prefix, "coef", TROVE_FLOAT64, 2, n, (uint64_t)nf);
            b = tensor(s, prefix, "intercept", TROVE_FLOAT64, 1, n, 0);
            if (!c || !b)
                return nomem(s);
        } else if (co.shape[1] != (uint64_t)nf) {
            return fail(s, TROVE_E_MODEL, est, "%s: estimators disagree on features", cname);
        }
        for (int64_t j = 0; j < nf; j++)
            c[i * (size_t)nf + (size_t)j] = pk_array_f64(&co, (uint64_t)j);
        double iv;
        if (pk_as_float(pk_attr(e, "intercept_"), &iv)) {
            b[i] = iv;
        } else {
            if ((rc = get_array(s, e, en, "intercept_", &io)))
                return rc;
            if (io.count != 1)
                return fail(s, TROVE_E_MODEL, est, "%s: estimator %zu intercept", cname, i);
            b[i] = pk_array_f64(&io, 0);
        }
    }
    int64_t nfa;
    if ((rc = n_features_of(s, est, cname, nf, &nfa)))
        return rc;
    if (nfa != nf)
        return fail(s, TROVE_E_MODEL, est, "%s: n_features_in_ differs from the estimators'",
                    cname);
    mset(s, node, "kind", vstr(s, "linear"));
    mset(s, m, "n_features", trove_value_int(s->alloc, nf));
    mset(s, m, "task", vstr(s, "classification"));
    mset(s, m, "link", vstr(s, proba ? (k == 2 ? "logistic" : "ovr") : "none"));
    return TROVE_OK;
}

static int map_pipeline(sk *s, const pk_obj *est, const char *prefix, int depth,
                        trove_value *node, trove_value *m)
{
    const pk_obj *steps = pk_attr(est, "steps");
    size_t n = pk_len(steps);
    if (n == 0)
        return fail(s, TROVE_E_MODEL, est, "Pipeline without steps");
    trove_value *arr = trove_value_array(s->alloc);
    if (!arr)
        return nomem(s);
    int64_t nf = 0;
    size_t k = 0; /* steps kept */
    for (size_t i = 0; i < n; i++) {
        const pk_obj *st = pk_item(steps, i);
        const uint8_t *np_;
        size_t nn;
        if (pk_len(st) != 2 || !pk_text(pk_item(st, 0), &np_, &nn) ||
            !trove__utf8_valid((const char *)np_, nn)) {
            trove_value_free(arr);
            return fail(s, TROVE_E_MODEL, est, "Pipeline step %zu is not a (name, estimator) "
                        "pair", i);
        }
        const pk_obj *se = pk_item(st, 1);
        if (pk_is_none(se) || pk_text_eq(se, "passthrough") || pk_text_eq(se, "drop")) {
            trove_value_free(arr);
            return fail(s, TROVE_E_UNSUPPORTED, est, "Pipeline step '%.*s' is passthrough: not "
                        "supported by trove's model kinds yet", (int)(nn > 60 ? 60 : nn), np_);
        }
        if (is_imblearn(se, false))
            continue; /* an imbalanced-learn sampler: only resamples the training data */
        char sub[512];
        snprintf(sub, sizeof sub, "%ssteps/%zu/", prefix, k);
        trove_value *child = NULL;
        bool saved = s->want_transform;
        s->want_transform = i + 1 < n;
        int rc = map_estimator(s, se, sub, depth + 1, &child);
        s->want_transform = saved;
        if (rc) {
            trove_value_free(arr);
            char msg[256];
            snprintf(msg, sizeof msg, "%s", s->err->message);
            return trove__fail(s->err, rc, s->err->offset, "Pipeline step '%.*s': %s",
                               (int)(nn > 40 ? 40 : nn), np_, msg);
        }
        if (k++ == 0 && trove_value_get_int(trove_value_path(child, "model.n_features"), &nf)) {
            trove_value_free(child);
            trove_value_free(arr);
            return fail(s, TROVE_E_MODEL, est, "Pipeline: first step without n_features");
        }
        mset(s, child, "name", trove_value_string(s->alloc, (const char *)np_, nn));
        apush(s, arr, child);
    }
    if (k == 0) {
        trove_value_free(arr);
        return fail(s, TROVE_E_MODEL, est, "Pipeline without a step that predicts");
    }
    mset(s, node, "kind", vstr(s, "pipeline"));
    mset(s, m, "n_features", trove_value_int(s->alloc, nf));
    mset(s, m, "steps", arr);
    return TROVE_OK;
}

/* ---- ColumnTransformer ------------------------------------------------------------------ */

static const pk_obj *dict_get(const pk_obj *d, const uint8_t *key, size_t kn)
{
    for (size_t i = 0; d && d->kind == PK_DICT && i + 1 < d->u.seq.n; i += 2) {
        const uint8_t *p;
        size_t n;
        if (pk_text(d->u.seq.v[i], &p, &n) && n == kn && !memcmp(p, key, n))
            return d->u.seq.v[i + 1];
    }
    return NULL;
}

/* One column selection of a fitted ColumnTransformer -> input column indices (arena array).
 * Forms: an int, a name, a list/tuple/array of ints, names or booleans (a mask). names: the
 * fitted feature names (metadata array) or NULL. */
static int ct_columns(sk *s, const pk_obj *est, const pk_obj *spec, const trove_value *names,
                      int64_t nf, int64_t **out, size_t *count)
{
    size_t n = 1;
    pk_array arr;
    bool is_arr = false;
    int64_t iv;
    const uint8_t *tp;
    size_t tn;
    if (!pk_as_int(spec, &iv) && !pk_text(spec, &tp, &tn)) {
        trove_error e2;
        if (spec && (spec->kind == PK_LIST || spec->kind == PK_TUPLE)) {
            n = pk_len(spec);
        } else if (pk_array_of(s->a, spec, &arr, &e2) == TROVE_OK && arr.rank == 1) {
            is_arr = true;
            n = (size_t)arr.count;
        } else {
            return fail(s, TROVE_E_UNSUPPORTED, est, "ColumnTransformer: a column selection "
                        "that is not an index, a name, a list or a mask (a slice or a callable): "
                        "not supported by trove's model kinds yet");
        }
    }
    int64_t *cols = pk_alloc(s->a, (n + 1) * sizeof(int64_t));
    if (!cols)
        return nomem(s);
    bool mask = is_arr && arr.dt.kind == 'b';
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const pk_obj *e = NULL;
        int64_t v = -1;
        bool have = false, text = false;
        if (is_arr && arr.dt.kind != 'U' && arr.dt.kind != 'O' && arr.dt.kind != 'S') {
            v = pk_array_i64(&arr, i);
            have = true;
        } else if (is_arr && arr.dt.kind == 'O') {
            e = arr.objs[i];
        } else if (is_arr) {
            return fail(s, TROVE_E_UNSUPPORTED, est, "ColumnTransformer: column names as a "
                        "numpy text array: not supported by trove's model kinds yet");
        } else if (n == 1 && (spec->kind != PK_LIST && spec->kind != PK_TUPLE)) {
            e = spec;
        } else {
            e = pk_item(spec, i);
        }
        if (!have && e && e->kind == PK_BOOL) {
            mask = true;
            v = e->u.i;
            have = true;
        } else if (!have && pk_as_int(e, &v)) {
            have = true;
        } else if (!have && pk_text(e, &tp, &tn)) {
            text = true;
        }
        if (text) {
            size_t j = 0, cnt = trove_value_count(names);
            for (; j < cnt; j++) {
                const char *nm;
                size_t nl;
                if (trove_value_get_string(trove_value_at(names, j), &nm, &nl) == TROVE_OK &&
                    nl == tn && !memcmp(nm, tp, tn))
                    break;
            }
            if (!names || j == cnt)
                return fail(s, TROVE_E_MODEL, est, "ColumnTransformer: column '%.*s' is not "
                            "among the fitted feature names", (int)(tn > 60 ? 60 : tn), tp);
            v = (int64_t)j;
            have = true;
        }
        if (!have)
            return fail(s, TROVE_E_UNSUPPORTED, est, "ColumnTransformer: column selection item "
                        "%zu is neither an index, a name nor a boolean", i);
        if (mask) {
            if ((int64_t)n != nf)
                return fail(s, TROVE_E_MODEL, est, "ColumnTransformer: a boolean mask of %zu "
                            "for %lld features", n, (long long)nf);
            if (v)
                cols[k++] = (int64_t)i;
            continue;
        }
        if (v < 0)
            v += nf; /* numpy-style negative index */
        if (v < 0 || v >= nf)
            return fail(s, TROVE_E_MODEL, est, "ColumnTransformer: column %lld out of range "
                        "(%lld features)", (long long)v, (long long)nf);
        cols[k++] = v;
    }
    *out = cols;
    *count = k;
    return TROVE_OK;
}

/* The model entries of a column_transformer over nf inputs with the given parts (taken). */
static void ct_meta(sk *s, trove_value *node, trove_value *m, int64_t nf, trove_value *parts)
{
    mset(s, node, "kind", vstr(s, "column_transformer"));
    mset(s, m, "task", vstr(s, "transform"));
    mset(s, m, "n_features", trove_value_int(s->alloc, nf));
    mset(s, m, "transformers", parts);
}

static int map_columns(sk *s, const pk_obj *est, const char *prefix, int depth,
                       trove_value *node, trove_value *m)
{
    const pk_obj *tr = pk_attr(est, "transformers_");
    size_t n = pk_len(tr);
    if (!pk_is_none(pk_attr(est, "transformer_weights")))
        return fail(s, TROVE_E_UNSUPPORTED, est, "ColumnTransformer(transformer_weights=...): "
                    "not supported by trove's model kinds yet");
    if (n == 0)
        return fail(s, TROVE_E_MODEL, est, "ColumnTransformer without transformers_ (is it "
                    "fitted?)");
    int64_t nf;
    int rc = n_features_of(s, est, "ColumnTransformer",
                           attr_int(est, "_n_features", &nf) ? nf : 0, &nf);
    if (rc)
        return rc;
    trove_value *names = NULL;
    size_t nn = 0;
    const char *nattr = !pk_is_none(pk_attr(est, "feature_names_in_")) ? "feature_names_in_"
                        : !pk_is_none(pk_attr(est, "_feature_names_in")) ? "_feature_names_in"
                        : NULL;
    if (nattr) {
        trove_error keep = *s->err;
        if (labels_value(s, est, "ColumnTransformer", nattr, &names, &nn) || (int64_t)nn != nf) {
            trove_value_free(names);
            names = NULL;
        }
        *s->err = keep;
    }
    const pk_obj *t2i = pk_attr(est, "_transformer_to_input_indices");
    trove_value *arr = trove_value_array(s->alloc);
    if (!arr) {
        trove_value_free(names);
        return nomem(s);
    }
    size_t k = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const pk_obj *t = pk_item(tr, i), *te = pk_item(t, 1);
        const uint8_t *np_;
        size_t nl;
        if (pk_len(t) != 3 || !pk_text(pk_item(t, 0), &np_, &nl) ||
            !trove__utf8_valid((const char *)np_, nl)) {
            rc = fail(s, TROVE_E_MODEL, est, "ColumnTransformer: transformers_[%zu] is not a "
                      "(name, transformer, columns) triple", i);
            break;
        }
        if (pk_text_eq(te, "drop"))
            continue;
        const pk_obj *spec = dict_get(t2i, np_, nl);
        int64_t *cols = NULL;
        size_t nc = 0;
        if ((rc = ct_columns(s, est, spec ? spec : pk_item(t, 2), names, nf, &cols, &nc)))
            break;
        if (nc == 0)
            continue; /* sklearn skips a part that selects no column */
        trove_value *child = NULL;
        if (pk_text_eq(te, "passthrough")) {
            child = trove_value_map(s->alloc);
            mset(s, child, "passthrough", trove_value_bool(s->alloc, 1));
        } else {
            char sub[512];
            snprintf(sub, sizeof sub, "%stransformers/%zu/", prefix, k);
            bool saved = s->want_transform;
            s->want_transform = true;
            rc = map_estimator(s, te, sub, depth + 1, &child);
            s->want_transform = saved;
            if (rc) {
                char msg[256];
                snprintf(msg, sizeof msg, "%s", s->err->message);
                rc = trove__fail(s->err, rc, s->err->offset, "ColumnTransformer part '%.*s': %s",
                                 (int)(nl > 40 ? 40 : nl), np_, msg);
                break;
            }
        }
        trove_value *cv = trove_value_array(s->alloc);
        for (size_t q = 0; q < nc; q++)
            apush(s, cv, trove_value_int(s->alloc, cols[q]));
        mset(s, child, "columns", cv);
        mset(s, child, "name", trove_value_string(s->alloc, (const char *)np_, nl));
        apush(s, arr, child);
        k++;
    }
    trove_value_free(names);
    if (rc == 0 && k == 0)
        rc = fail(s, TROVE_E_MODEL, est, "ColumnTransformer: every part is dropped");
    if (rc) {
        trove_value_free(arr);
        return rc;
    }
    ct_meta(s, node, m, nf, arr);
    return TROVE_OK;
}

/* ---- PolynomialFeatures ------------------------------------------------------------------- */

/* Next index tuple of length d over 0..n-1 in itertools order: nondecreasing
 * (combinations_with_replacement) or, interaction_only, increasing (combinations). */
static bool next_comb(int64_t *c, int64_t d, int64_t n, bool strict)
{
    for (int64_t i = d - 1; i >= 0; i--) {
        int64_t top = strict ? n - (d - i) : n - 1;
        if (c[i] < top) {
            c[i]++;
            for (int64_t q = i + 1; q < d; q++)
                c[q] = strict ? c[q - 1] + 1 : c[i];
            return true;
        }
    }
    return false;
}

/* The powers_ matrix sklearn computes (it is a property, never pickled) from n_features_in_,
 * the degree range, interaction_only and include_bias: the bias, then every degree from the
 * lowest kept to the highest, each in itertools order. */
static int map_poly(sk *s, const pk_obj *est, const char *cname, const char *prefix,
                    trove_value *node, trove_value *m)
{
    int64_t nf, lo, hi, nin = 0;
    int rc;
    attr_int(est, "n_input_features_", &nin); /* sklearn < 1.0 */
    if ((rc = n_features_of(s, est, cname, nin, &nf)))
        return rc;
    if (!attr_int(est, "_max_degree", &hi)) { /* sklearn < 1.0: degree is an int */
        if (!attr_int(est, "degree", &hi))
            return fail(s, TROVE_E_MODEL, est, "%s: degree is not an integer", cname);
        lo = 0;
    } else if (!attr_int(est, "_min_degree", &lo)) {
        return fail(s, TROVE_E_MODEL, est, "%s: _min_degree missing", cname);
    }
    const bool strict = attr_bool(est, "interaction_only", false);
    const bool bias = attr_bool(est, "include_bias", true);
    if (lo < 0 || hi < lo || hi > 64)
        return fail(s, TROVE_E_MODEL, est, "%s: degrees %lld..%lld out of range (0..64)", cname,
                    (long long)lo, (long long)hi);
    /* count the outputs first: refuse before allocating an absurd table */
    uint64_t count = bias ? 1 : 0;
    int64_t *c = pk_alloc(s->a, (size_t)(hi + 1) * sizeof *c);
    if (!c)
        return nomem(s);
    for (int pass = 0; pass < 2; pass++) {
        int16_t *pw = NULL;
        uint64_t row = 0;
        if (pass == 1) {
            if (!(pw = tensor(s, prefix, "powers", TROVE_INT16, 2, count, (uint64_t)nf)))
                return nomem(s);
            memset(pw, 0, (size_t)(count * (uint64_t)nf) * sizeof *pw);
            row = bias ? 1 : 0;
        }
        for (int64_t d = lo > 1 ? lo : 1; d <= hi; d++) {
            if (strict && d > nf)
                break;
            for (int64_t i = 0; i < d; i++)
                c[i] = strict ? i : 0;
            do {
                if (pass == 0 && ++count > TROVE_MODEL_MAX_WIDTH)
                    return fail(s, TROVE_E_LIMIT, est, "%s: more than %u output columns", cname,
                                TROVE_MODEL_MAX_WIDTH);
                if (pass == 1) {
                    for (int64_t i = 0; i < d; i++)
                        pw[row * (uint64_t)nf + (uint64_t)c[i]]++;
                    row++;
                }
            } while (next_comb(c, d, nf, strict));
        }
    }
    if (count == 0)
        return fail(s, TROVE_E_MODEL, est, "%s: no output column", cname);
    int64_t nout;
    if (attr_int(est, "n_output_features_", &nout) && (uint64_t)nout != count)
        return fail(s, TROVE_E_MODEL, est, "%s: n_output_features_ is %lld, its parameters give "
                    "%llu", cname, (long long)nout, (unsigned long long)count);
    mset(s, node, "kind", vstr(s, "polynomial"));
    mset(s, m, "task", vstr(s, "transform"));
    mset(s, m, "n_features", trove_value_int(s->alloc, nf));
    return TROVE_OK;
}

/* ---- feature selection --------------------------------------------------------------------- */

typedef struct scored {
    double score;
    size_t index;
} scored;

/* Ascending by score, ties by index: numpy's stable argsort (kind="mergesort"). */
static int scored_cmp(const void *a, const void *b)
{
    const scored *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* get_array, and the array must hold exactly n values. */
static int get_array_n(sk *s, const pk_obj *est, const char *cname, const char *attr, uint64_t n,
                       pk_array *a)
{
    int rc = get_array(s, est, cname, attr, a);
    if (!rc && a->count != n)
        rc = fail(s, TROVE_E_MODEL, est, "%s.%s has %llu entries for %llu features", cname, attr,
                  (unsigned long long)a->count, (unsigned long long)n);
    return rc;
}

/* The columns a fitted selector keeps, as its _get_support_mask computes them:
 * VarianceThreshold variances_ > threshold; SelectKBest the k best scores_ (NaN scores count as
 * the lowest, ties to the later column: numpy's stable argsort, last k); RFE/RFECV support_. */
static int selector_mask(sk *s, const pk_obj *est, const char *cname, int64_t nf, bool *keep)
{
    pk_array a;
    int rc;
    if (!strcmp(cname, "VarianceThreshold")) {
        double thr;
        if (!pk_as_float(pk_attr(est, "threshold"), &thr))
            return fail(s, TROVE_E_MODEL, est, "%s: threshold is not a number", cname);
        if ((rc = get_array_n(s, est, cname, "variances_", (uint64_t)nf, &a)))
            return rc;
        for (int64_t j = 0; j < nf; j++)
            keep[j] = pk_array_f64(&a, (uint64_t)j) > thr;
        return TROVE_OK;
    }
    if (!strcmp(cname, "SelectKBest")) {
        const pk_obj *ko = pk_attr(est, "k");
        int64_t k;
        if (pk_text_eq(ko, "all"))
            k = nf;
        else if (!pk_as_int(ko, &k) || k < 0)
            return fail(s, TROVE_E_MODEL, est, "%s: k is neither 'all' nor a count", cname);
        if ((rc = get_array_n(s, est, cname, "scores_", (uint64_t)nf, &a)))
            return rc;
        scored *v = pk_alloc(s->a, (size_t)nf * sizeof *v);
        if (!v)
            return nomem(s);
        for (int64_t j = 0; j < nf; j++) {
            double x = pk_array_f64(&a, (uint64_t)j);
            v[j] = (scored){isnan(x) ? -DBL_MAX : x, (size_t)j};
        }
        qsort(v, (size_t)nf, sizeof *v, scored_cmp);
        for (int64_t j = 0; j < nf; j++)
            keep[v[j].index] = j >= nf - (k < nf ? k : nf);
        return TROVE_OK;
    }
    /* RFE, RFECV */
    if ((rc = get_array_n(s, est, cname, "support_", (uint64_t)nf, &a)))
        return rc;
    for (int64_t j = 0; j < nf; j++)
        keep[j] = pk_array_i64(&a, (uint64_t)j) != 0;
    return TROVE_OK;
}

/* A feature selector is a column_transformer with one passthrough part (the kept columns, in
 * order). RFE/RFECV outside a transform position also predict: a pipeline of that selection
 * and their fitted estimator_. */
static int map_selector(sk *s, const pk_obj *est, const char *cname, const char *prefix,
                        int depth, trove_value *node, trove_value *m)
{
    int64_t nf;
    int rc;
    pk_array probe;
    const char *arr_attr = !strcmp(cname, "VarianceThreshold") ? "variances_"
                           : !strcmp(cname, "SelectKBest")      ? "scores_"
                                                                : "support_";
    if ((rc = get_array(s, est, cname, arr_attr, &probe)) ||
        (rc = n_features_of(s, est, cname, (int64_t)probe.count, &nf)))
        return rc;
    bool *keep = pk_alloc(s->a, (size_t)nf * sizeof *keep);
    if (!keep)
        return nomem(s);
    if ((rc = selector_mask(s, est, cname, nf, keep)))
        return rc;
    trove_value *cols = trove_value_array(s->alloc), *part = trove_value_map(s->alloc),
                *parts = trove_value_array(s->alloc);
    size_t kept = 0;
    for (int64_t j = 0; j < nf; j++)
        if (keep[j]) {
            apush(s, cols, trove_value_int(s->alloc, j));
            kept++;
        }
    mset(s, part, "name", vstr(s, "selected"));
    mset(s, part, "passthrough", trove_value_bool(s->alloc, 1));
    mset(s, part, "columns", cols);
    apush(s, parts, part);
    if (kept == 0) {
        trove_value_free(parts);
        return fail(s, TROVE_E_MODEL, est, "%s selects no feature: nothing to pass on", cname);
    }
    bool predicts = (!strcmp(cname, "RFE") || !strcmp(cname, "RFECV")) && !s->want_transform;
    trove_value *ct = predicts ? trove_value_map(s->alloc) : node;
    trove_value *ctm = predicts ? trove_value_map(s->alloc) : m;
    ct_meta(s, ct, ctm, nf, parts);
    if (!predicts)
        return TROVE_OK;
    mset(s, ct, "kind_version", trove_value_int(s->alloc, 1));
    mset(s, ct, "name", vstr(s, "support"));
    mset(s, ct, "model", ctm);
    char sub[512];
    snprintf(sub, sizeof sub, "%ssteps/1/", prefix);
    trove_value *inner = NULL;
    if ((rc = map_estimator(s, pk_attr(est, "estimator_"), sub, depth + 1, &inner))) {
        trove_value_free(ct);
        char msg[256];
        snprintf(msg, sizeof msg, "%s", s->err->message);
        return trove__fail(s->err, rc, s->err->offset, "%s.estimator_: %s", cname, msg);
    }
    int64_t inner_nf = -1;
    if (trove_value_get_int(trove_value_path(inner, "model.n_features"), &inner_nf) ||
        inner_nf != (int64_t)kept) {
        trove_value_free(ct);
        trove_value_free(inner);
        return fail(s, TROVE_E_MODEL, est, "%s: estimator_ takes %lld features, the support "
                    "keeps %zu", cname, (long long)inner_nf, kept);
    }
    mset(s, inner, "name", vstr(s, "estimator"));
    trove_value *steps = trove_value_array(s->alloc);
    apush(s, steps, ct);
    apush(s, steps, inner);
    mset(s, node, "kind", vstr(s, "pipeline"));
    mset(s, m, "n_features", trove_value_int(s->alloc, nf));
    mset(s, m, "steps", steps);
    return TROVE_OK;
}

/* ---- svm, naive Bayes, nearest neighbours, label encoder ---------------------------------- */

/* Copy a float array attribute into a new tensor of the expected shape (d0 x d1, d1 = 0: 1-D);
 * flip = -1 negates (sklearn's public binary dual_coef_/intercept_ are libsvm's negated). */
static int copy_f64(sk *s, const pk_obj *est, const char *cname, const char *attr,
                    const char *prefix, const char *name, uint64_t d0, uint64_t d1, double flip)
{
    pk_array a;
    int rc = get_array(s, est, cname, attr, &a);
    if (rc)
        return rc;
    uint64_t n = d1 ? d0 * d1 : d0;
    if (a.count != n)
        return fail(s, TROVE_E_MODEL, est, "%s.%s has %llu values, expected %llu", cname, attr,
                    (unsigned long long)a.count, (unsigned long long)n);
    double *t = tensor(s, prefix, name, TROVE_FLOAT64, d1 ? 2 : 1, d0, d1);
    if (!t)
        return nomem(s);
    for (uint64_t i = 0; i < n; i++)
        t[i] = flip * pk_array_f64(&a, i);
    return TROVE_OK;
}

static int map_svm(sk *s, const pk_obj *est, const char *cname, const char *prefix,
                   trove_value *node, trove_value *m)
{
    bool clf = !strcmp(cname, "SVC") || !strcmp(cname, "NuSVC");
    static const char *const kers[] = {"linear", "poly", "rbf", "sigmoid", NULL};
    const pk_obj *ko = pk_attr(est, "kernel");
    const char *ker = NULL;
    for (int i = 0; kers[i]; i++)
        if (pk_text_eq(ko, kers[i]))
            ker = kers[i];
    if (!ker)
        return fail(s, TROVE_E_UNSUPPORTED, est, "%s: this kernel (precomputed or a callable) is "
                    "not supported by trove's model kinds yet", cname);
    if (attr_bool(est, "_sparse", false))
        return fail(s, TROVE_E_UNSUPPORTED, est, "%s fitted on sparse data: not supported by "
                    "trove's model kinds yet", cname);
    pk_array sv;
    int rc = get_array(s, est, cname, "support_vectors_", &sv);
    if (rc)
        return rc;
    if (sv.rank != 2 || sv.shape[0] == 0)
        return fail(s, TROVE_E_MODEL, est, "%s.support_vectors_ is not a non-empty 2-D array",
                    cname);
    const uint64_t nsv = sv.shape[0];
    int64_t nf;
    if ((rc = n_features_of(s, est, cname, (int64_t)sv.shape[1], &nf)))
        return rc;
    if ((uint64_t)nf != sv.shape[1])
        return fail(s, TROVE_E_MODEL, est, "%s: support vectors have %llu columns for %lld "
                    "features", cname, (unsigned long long)sv.shape[1], (long long)nf);
    double *svt = tensor(s, prefix, "support_vectors", TROVE_FLOAT64, 2, nsv, (uint64_t)nf);
    if (!svt)
        return nomem(s);
    for (uint64_t i = 0; i < sv.count; i++)
        svt[i] = pk_array_f64(&sv, i);
    double gamma = 0, coef0 = 0, degree = 3;
    if (!pk_as_float(pk_attr(est, "_gamma"), &gamma) && !pk_as_float(pk_attr(est, "gamma"),
                                                                     &gamma))
        return fail(s, TROVE_E_MODEL, est, "%s: no numeric _gamma", cname);
    (void)pk_as_float(pk_attr(est, "coef0"), &coef0);
    (void)pk_as_float(pk_attr(est, "degree"), &degree);
    if (!(degree >= 0 && degree <= 1e6) || !isfinite(gamma) || !isfinite(coef0))
        return fail(s, TROVE_E_MODEL, est, "%s: degree, gamma or coef0 out of range", cname);
    uint64_t K = 1, pairs = 1;
    /* libsvm's own coefficients; sklearn's public ones are negated for two classes */
    bool internal = !pk_is_none(pk_attr(est, "_dual_coef_"));
    if (clf) {
        trove_value *classes;
        size_t k;
        if ((rc = labels_value(s, est, cname, "classes_", &classes, &k)))
            return rc;
        mset(s, m, "classes", classes);
        K = k;
        if (K < 2 || K > 1024)
            return fail(s, TROVE_E_MODEL, est, "%s: %llu classes (need 2..1024)", cname,
                        (unsigned long long)K);
        pairs = K * (K - 1) / 2;
        pk_array ns;
        if ((rc = get_array(s, est, cname, pk_is_none(pk_attr(est, "_n_support")) ?
                            "n_support_" : "_n_support", &ns)))
            return rc;
        if (ns.count != K)
            return fail(s, TROVE_E_MODEL, est, "%s: n_support has %llu entries for %llu "
                        "classes", cname, (unsigned long long)ns.count, (unsigned long long)K);
        int64_t *nst = tensor(s, prefix, "n_support", TROVE_INT64, 1, K, 0);
        if (!nst)
            return nomem(s);
        for (uint64_t i = 0; i < K; i++)
            nst[i] = pk_array_i64(&ns, i);
        const char *pa = pk_is_none(pk_attr(est, "_probA")) ? "probA_" : "_probA";
        const char *pb = pk_is_none(pk_attr(est, "_probB")) ? "probB_" : "_probB";
        pk_array pav;
        if (attr_bool(est, "probability", false) && !pk_is_none(pk_attr(est, pa)) &&
            get_array(s, est, cname, pa, &pav) == TROVE_OK && pav.count > 0) {
            if ((rc = copy_f64(s, est, cname, pa, prefix, "prob_a", pairs, 0, 1.0)) ||
                (rc = copy_f64(s, est, cname, pb, prefix, "prob_b", pairs, 0, 1.0)))
                return rc;
        }
        const pk_obj *shape = pk_attr(est, "decision_function_shape");
        mset(s, m, "decision_shape", vstr(s, pk_text_eq(shape, "ovr") ? "ovr" : "ovo"));
        mset(s, m, "break_ties", trove_value_bool(s->alloc, attr_bool(est, "break_ties",
                                                                      false)));
        mset(s, m, "task", vstr(s, "classification"));
    } else {
        mset(s, m, "task", vstr(s, "regression"));
        mset(s, m, "n_outputs", trove_value_int(s->alloc, 1));
    }
    double flip = !internal && clf && K == 2 ? -1.0 : 1.0;
    if ((rc = copy_f64(s, est, cname, internal ? "_dual_coef_" : "dual_coef_", prefix,
                       "dual_coef", clf ? K - 1 : 1, nsv, flip)) ||
        (rc = copy_f64(s, est, cname, pk_is_none(pk_attr(est, "_intercept_")) ? "intercept_" :
                       "_intercept_", prefix, "intercept", pairs, 0,
                       pk_is_none(pk_attr(est, "_intercept_")) ? flip : 1.0)))
        return rc;
    mset(s, node, "kind", vstr(s, "svm"));
    mset(s, m, "n_features", trove_value_int(s->alloc, nf));
    mset(s, m, "kernel", vstr(s, ker));
    mset(s, m, "gamma", trove_value_float(s->alloc, gamma));
    mset(s, m, "coef0", trove_value_float(s->alloc, coef0));
    mset(s, m, "degree", trove_value_int(s->alloc, (int64_t)degree));
    return TROVE_OK;
}

static int map_gnb(sk *s, const pk_obj *est, const char *cname, const char *prefix,
                   trove_value *node, trove_value *m)
{
    trove_value *classes;
    size_t k;
    int rc = labels_value(s, est, cname, "classes_", &classes, &k);
    if (rc)
        return rc;
    mset(s, m, "classes", classes);
    pk_array th;
    if ((rc = get_array(s, est, cname, "theta_", &th)))
        return rc;
    if (th.rank != 2 || th.shape[0] != k || k < 2)
        return fail(s, TROVE_E_MODEL, est, "%s.theta_ is not [%zu classes, features]", cname, k);
    int64_t nf;
    if ((rc = n_features_of(s, est, cname, (int64_t)th.shape[1], &nf)))
        return rc;
    const char *var = pk_is_none(pk_attr(est, "var_")) ? "sigma_" : "var_"; /* < 1.0: sigma_ */
    if ((rc = copy_f64(s, est, cname, "theta_", prefix, "theta", k, (uint64_t)nf, 1.0)) ||
        (rc = copy_f64(s, est, cname, var, prefix, "var", k, (uint64_t)nf, 1.0)) ||
        (rc = copy_f64(s, est, cname, "class_prior_", prefix, "class_prior", k, 0, 1.0)))
        return rc;
    mset(s, node, "kind", vstr(s, "naive_bayes"));
    mset(s, m, "distribution", vstr(s, "gaussian"));
    mset(s, m, "task", vstr(s, "classification"));
    mset(s, m, "n_features", trove_value_int(s->alloc, nf));
    return TROVE_OK;
}

/* MultinomialNB, ComplementNB, BernoulliNB: predicted from feature_log_prob_ [K, d] and
 * class_log_prior_ [K], which every version keeps (feature_count_/class_count_ only feed them;
 * the coef_/intercept_ of sklearn < 1.2 are properties over the same arrays, never pickled). */
static int map_nb_discrete(sk *s, const pk_obj *est, const char *cname, const char *prefix,
                           trove_value *node, trove_value *m)
{
    const bool complement = !strcmp(cname, "ComplementNB");
    const bool bernoulli = !strcmp(cname, "BernoulliNB");
    trove_value *classes;
    size_t k;
    int rc = labels_value(s, est, cname, "classes_", &classes, &k);
    if (rc)
        return rc;
    mset(s, m, "classes", classes);
    if (k < 2)
        return fail(s, TROVE_E_UNSUPPORTED, est, "%s fitted on %zu class: trove's classifiers "
                    "need at least 2", cname, k);
    pk_array fl;
    if ((rc = get_array(s, est, cname, "feature_log_prob_", &fl)))
        return rc;
    if (fl.rank != 2 || fl.shape[0] != k || fl.shape[1] == 0)
        return fail(s, TROVE_E_MODEL, est, "%s.feature_log_prob_ is not a [%zu classes, "
                    "features] array", cname, k);
    int64_t nf;
    if ((rc = n_features_of(s, est, cname, (int64_t)fl.shape[1], &nf)))
        return rc;
    if ((uint64_t)nf != fl.shape[1])
        return fail(s, TROVE_E_MODEL, est, "%s.feature_log_prob_ has %llu columns for %lld "
                    "features", cname, (unsigned long long)fl.shape[1], (long long)nf);
    for (uint64_t i = 0; i < fl.count; i++) {
        double v = pk_array_f64(&fl, i);
        /* a log probability: finite (alpha > 0 smoothing), and < 0 for Bernoulli, whose
         * log(1 - p) must exist; ComplementNB's weights are any finite numbers */
        if (!isfinite(v) || (!complement && v > 0) || (bernoulli && v == 0))
            return fail(s, TROVE_E_MODEL, est, "%s.feature_log_prob_[%llu][%llu] = %g: %s",
                        cname, (unsigned long long)(i / (uint64_t)nf),
                        (unsigned long long)(i % (uint64_t)nf), v,
                        bernoulli ? "a Bernoulli log probability must be finite and < 0"
                        : complement ? "complement weights must be finite"
                                     : "a log probability must be finite and <= 0");
    }
    if ((rc = copy_f64(s, est, cname, "feature_log_prob_", prefix, "feature_log_prob", k,
                       (uint64_t)nf, 1.0)))
        return rc;
    if (!complement) {
        pk_array cp;
        if ((rc = get_array(s, est, cname, "class_log_prior_", &cp)))
            return rc;
        if (cp.rank != 1 || cp.count != k)
            return fail(s, TROVE_E_MODEL, est, "%s.class_log_prior_ has %llu values for %zu "
                        "classes", cname, (unsigned long long)cp.count, k);
        for (uint64_t i = 0; i < k; i++) {
            double v = pk_array_f64(&cp, i);
            if (!(v <= 0) || !isfinite(v))
                return fail(s, TROVE_E_MODEL, est, "%s.class_log_prior_[%llu] = %g: not a "
                            "finite log probability (a class with no sample and no prior?)",
                            cname, (unsigned long long)i, v);
        }
        if ((rc = copy_f64(s, est, cname, "class_log_prior_", prefix, "class_log_prior", k, 0,
                           1.0)))
            return rc;
    }
    if (bernoulli) {
        const pk_obj *b = pk_attr(est, "binarize");
        double thr;
        if (!b)
            return fail(s, TROVE_E_MODEL, est, "%s: attribute binarize is missing", cname);
        if (pk_is_none(b)) {
            mset(s, m, "binarize", trove_value_null(s->alloc));
        } else if (b->kind != PK_BOOL && pk_as_float(b, &thr) && !isnan(thr)) {
            mset(s, m, "binarize", trove_value_float(s->alloc, thr));
        } else {
            return fail(s, TROVE_E_MODEL, b, "%s.binarize is neither None nor a number", cname);
        }
    }
    mset(s, node, "kind", vstr(s, "naive_bayes"));
    mset(s, m, "distribution", vstr(s, complement ? "complement" : bernoulli ? "bernoulli"
                                                                           : "multinomial"));
    mset(s, m, "task", vstr(s, "classification"));
    mset(s, m, "n_features", trove_value_int(s->alloc, nf));
    return TROVE_OK;
}

/* CategoricalNB: feature_log_prob_ is a list of one [K, n_categories_j] array per feature (every
 * version); concatenated along the columns with offsets. */
static int map_nb_categorical(sk *s, const pk_obj *est, const char *cname, const char *prefix,
                              trove_value *node, trove_value *m)
{
    trove_value *classes;
    size_t k;
    int rc = labels_value(s, est, cname, "classes_", &classes, &k);
    if (rc)
        return rc;
    mset(s, m, "classes", classes);
    if (k < 2)
        return fail(s, TROVE_E_UNSUPPORTED, est, "%s fitted on %zu class: trove's classifiers "
                    "need at least 2", cname, k);
    const pk_obj *fl = pk_attr(est, "feature_log_prob_");
    if (pk_is_none(fl))
        return fail(s, TROVE_E_MODEL, est, "%s: attribute feature_log_prob_ is missing (is the "
                    "estimator fitted?)", cname);
    size_t d = pk_len(fl);
    if ((fl->kind != PK_LIST && fl->kind != PK_TUPLE) || d == 0)
        return fail(s, TROVE_E_MODEL, fl, "%s.feature_log_prob_ is not a list of per-feature "
                    "arrays", cname);
    int64_t nf;
    if ((rc = n_features_of(s, est, cname, (int64_t)d, &nf)))
        return rc;
    if ((uint64_t)nf != d)
        return fail(s, TROVE_E_MODEL, fl, "%s.feature_log_prob_ has %zu tables for %lld "
                    "features", cname, d, (long long)nf);
    pk_array *tabs = pk_alloc(s->a, d * sizeof *tabs);
    int64_t *off = tensor(s, prefix, "offsets", TROVE_INT64, 1, d + 1, 0);
    if (!tabs || !off)
        return nomem(s);
    pk_array ncat;
    bool have_ncat = !pk_is_none(pk_attr(est, "n_categories_"));
    if (have_ncat && ((rc = get_array(s, est, cname, "n_categories_", &ncat))))
        return rc;
    if (have_ncat && ncat.count != d)
        return fail(s, TROVE_E_MODEL, est, "%s.n_categories_ has %llu entries for %zu features",
                    cname, (unsigned long long)ncat.count, d);
    off[0] = 0;
    for (size_t j = 0; j < d; j++) {
        trove_error e2;
        const pk_obj *o = pk_item(fl, j);
        if ((rc = pk_array_of(s->a, o, &tabs[j], &e2)))
            return fail(s, rc, o, "%s.feature_log_prob_[%zu]: %s", cname, j, e2.message);
        const pk_array *t = &tabs[j];
        if (t->dt.kind != 'f' || t->rank != 2 || t->shape[0] != k || t->shape[1] == 0 ||
            t->shape[1] > TROVE_MODEL_MAX_WIDTH - (uint64_t)off[j])
            return fail(s, TROVE_E_MODEL, o, "%s.feature_log_prob_[%zu] is not a float [%zu "
                        "classes, categories] array (or the tables are too wide)", cname, j, k);
        if (have_ncat && (uint64_t)pk_array_i64(&ncat, j) != t->shape[1])
            return fail(s, TROVE_E_MODEL, o, "%s: n_categories_[%zu] = %lld but "
                        "feature_log_prob_[%zu] has %llu columns", cname, j,
                        (long long)pk_array_i64(&ncat, j), j, (unsigned long long)t->shape[1]);
        for (uint64_t i = 0; i < t->count; i++) {
            double v = pk_array_f64(t, i);
            if (!isfinite(v) || v > 0)
                return fail(s, TROVE_E_MODEL, o, "%s.feature_log_prob_[%zu][%llu][%llu] = %g: "
                            "a log probability must be finite and <= 0", cname, j,
                            (unsigned long long)(i / t->shape[1]),
                            (unsigned long long)(i % t->shape[1]), v);
        }
        off[j + 1] = off[j] + (int64_t)t->shape[1];
    }
    const uint64_t T = (uint64_t)off[d];
    double *w = tensor(s, prefix, "category_log_prob", TROVE_FLOAT64, 2, k, T);
    if (!w)
        return nomem(s);
    for (size_t j = 0; j < d; j++)
        for (uint64_t r = 0; r < k; r++)
            for (uint64_t q = 0; q < tabs[j].shape[1]; q++)
                w[r * T + (uint64_t)off[j] + q] = pk_array_f64(&tabs[j], r * tabs[j].shape[1] + q);
    pk_array cp;
    if ((rc = get_array(s, est, cname, "class_log_prior_", &cp)))
        return rc;
    if (cp.rank != 1 || cp.count != k)
        return fail(s, TROVE_E_MODEL, est, "%s.class_log_prior_ has %llu values for %zu classes",
                    cname, (unsigned long long)cp.count, k);
    for (uint64_t i = 0; i < k; i++) {
        double v = pk_array_f64(&cp, i);
        if (!(v <= 0) || !isfinite(v))
            return fail(s, TROVE_E_MODEL, est, "%s.class_log_prior_[%llu] = %g: not a finite log "
                        "probability", cname, (unsigned long long)i, v);
    }
    if ((rc = copy_f64(s, est, cname, "class_log_prior_", prefix, "class_log_prior", k, 0, 1.0)))
        return rc;
    mset(s, node, "kind", vstr(s, "naive_bayes"));
    mset(s, m, "distribution", vstr(s, "categorical"));
    mset(s, m, "task", vstr(s, "classification"));
    mset(s, m, "n_features", trove_value_int(s->alloc, nf));
    return TROVE_OK;
}

/* KMeans, MiniBatchKMeans (and BisectingKMeans, whose predict differs: refused): the centres. */
static int map_kmeans(sk *s, const pk_obj *est, const char *cname, const char *prefix,
                      trove_value *node, trove_value *m)
{
    pk_array cc;
    int rc = get_array(s, est, cname, "cluster_centers_", &cc);
    if (rc)
        return rc;
    if (cc.rank != 2 || cc.shape[0] == 0 || cc.shape[1] == 0 ||
        cc.shape[0] > TROVE_MODEL_MAX_WIDTH)
        return fail(s, TROVE_E_MODEL, est, "%s.cluster_centers_ is not a non-empty [clusters, "
                    "features] array", cname);
    int64_t nf, nc;
    if ((rc = n_features_of(s, est, cname, (int64_t)cc.shape[1], &nf)))
        return rc;
    if ((uint64_t)nf != cc.shape[1])
        return fail(s, TROVE_E_MODEL, est, "%s.cluster_centers_ has %llu columns for %lld "
                    "features", cname, (unsigned long long)cc.shape[1], (long long)nf);
    if (attr_int(est, "n_clusters", &nc) && (uint64_t)nc != cc.shape[0])
        return fail(s, TROVE_E_MODEL, est, "%s: n_clusters = %lld but cluster_centers_ has %llu "
                    "rows", cname, (long long)nc, (unsigned long long)cc.shape[0]);
    for (uint64_t i = 0; i < cc.count; i++)
        if (!isfinite(pk_array_f64(&cc, i)))
            return fail(s, TROVE_E_MODEL, est, "%s.cluster_centers_[%llu][%llu] is not finite",
                        cname, (unsigned long long)(i / (uint64_t)nf),
                        (unsigned long long)(i % (uint64_t)nf));
    if ((rc = copy_f64(s, est, cname, "cluster_centers_", prefix, "centers", cc.shape[0],
                       (uint64_t)nf, 1.0)))
        return rc;
    mset(s, node, "kind", vstr(s, "kmeans"));
    mset(s, m, "task", vstr(s, "transform"));
    mset(s, m, "n_features", trove_value_int(s->alloc, nf));
    mset(s, m, "n_clusters", trove_value_int(s->alloc, (int64_t)cc.shape[0]));
    return TROVE_OK;
}

/* How a whitening PCA without _sklearn_version (sklearn < 0.18) transforms: up to 0.15 its
 * components_ were stored already divided by sqrt(explained_variance_) and transform did not
 * divide; 0.16 and 0.17 store unit rows and divide. 1: divide, 0: do not, -1: cannot tell. */
static int old_pca_divides(const pk_array *co, const pk_array *ev)
{
    const uint64_t k = co->shape[0], d = co->shape[1];
    bool unit = true, prewhite = true;
    for (uint64_t j = 0; j < k; j++) {
        double ss = 0;
        for (uint64_t i = 0; i < d; i++) {
            double v = pk_array_f64(co, j * d + i);
            ss += v * v;
        }
        double nrm = sqrt(ss), e = pk_array_f64(ev, j);
        unit = unit && fabs(nrm - 1) <= 1e-6;
        prewhite = prewhite && e > 0 && fabs(nrm * sqrt(e) - 1) <= 1e-6;
    }
    return unit ? 1 : prewhite ? 0 : -1;
}

/* PCA, IncrementalPCA, TruncatedSVD: (X - mean_) components_^T, / sqrt(explained_variance_)
 * when whiten; RandomizedPCA (sklearn < 0.20) and whitening PCA before 0.16 store whitened
 * components and do not divide. */
static int map_decomp(sk *s, const pk_obj *est, const char *cname, const char *prefix,
                      trove_value *node, trove_value *m)
{
    const bool svd = !strcmp(cname, "TruncatedSVD");
    const bool randomized = !strcmp(cname, "RandomizedPCA");
    pk_array co;
    int rc = get_array(s, est, cname, "components_", &co);
    if (rc)
        return rc;
    if (co.rank != 2 || co.shape[0] == 0 || co.shape[1] == 0 ||
        co.shape[0] > TROVE_MODEL_MAX_WIDTH)
        return fail(s, TROVE_E_MODEL, est, "%s.components_ is not a non-empty [components, "
                    "features] array", cname);
    int64_t nf;
    if ((rc = n_features_of(s, est, cname, (int64_t)co.shape[1], &nf)))
        return rc;
    if ((uint64_t)nf != co.shape[1])
        return fail(s, TROVE_E_MODEL, est, "%s.components_ has %llu columns for %lld features",
                    cname, (unsigned long long)co.shape[1], (long long)nf);
    const uint64_t k = co.shape[0];
    for (uint64_t i = 0; i < co.count; i++)
        if (!isfinite(pk_array_f64(&co, i)))
            return fail(s, TROVE_E_MODEL, est, "%s.components_[%llu][%llu] is not finite", cname,
                        (unsigned long long)(i / (uint64_t)nf),
                        (unsigned long long)(i % (uint64_t)nf));
    if ((rc = copy_f64(s, est, cname, "components_", prefix, "components", k, (uint64_t)nf,
                       1.0)))
        return rc;
    if (!svd && !pk_is_none(pk_attr(est, "mean_"))) {
        pk_array mean;
        if ((rc = get_array(s, est, cname, "mean_", &mean)))
            return rc;
        if (mean.rank != 1 || mean.count != (uint64_t)nf)
            return fail(s, TROVE_E_MODEL, est, "%s.mean_ has %llu values for %lld features",
                        cname, (unsigned long long)mean.count, (long long)nf);
        for (uint64_t i = 0; i < mean.count; i++)
            if (!isfinite(pk_array_f64(&mean, i)))
                return fail(s, TROVE_E_MODEL, est, "%s.mean_[%llu] is not finite", cname,
                            (unsigned long long)i);
        if ((rc = copy_f64(s, est, cname, "mean_", prefix, "mean", (uint64_t)nf, 0, 1.0)))
            return rc;
    }
    const pk_obj *wo = pk_attr(est, "whiten");
    int64_t wv = 0;
    if (!svd && wo && !pk_is_none(wo) && !pk_as_int(wo, &wv))
        return fail(s, TROVE_E_MODEL, wo, "%s.whiten is not a boolean", cname);
    if (!svd && !randomized && wv) {
        pk_array ev;
        if ((rc = get_array(s, est, cname, "explained_variance_", &ev)))
            return rc;
        if (ev.rank != 1 || ev.count != k)
            return fail(s, TROVE_E_MODEL, est, "%s.explained_variance_ has %llu values for %llu "
                        "components", cname, (unsigned long long)ev.count,
                        (unsigned long long)k);
        int divides = pk_is_none(pk_attr(est, "_sklearn_version")) && !strcmp(cname, "PCA")
                          ? old_pca_divides(&co, &ev) : 1;
        if (divides < 0)
            return fail(s, TROVE_E_UNSUPPORTED, est, "%s(whiten=True) from sklearn < 0.18: "
                        "components_ are neither unit rows (0.16, 0.17) nor whitened ones (up "
                        "to 0.15), so how transform scales them is unknown", cname);
        if (!divides)
            goto done; /* the whitening is inside components_ */
        for (uint64_t i = 0; i < k; i++) {
            double v = pk_array_f64(&ev, i);
            if (!(v > 0) || !isfinite(v))
                return fail(s, TROVE_E_MODEL, est, "%s(whiten=True).explained_variance_[%llu] = "
                            "%g: whitening divides by its square root, it must be > 0 and "
                            "finite", cname, (unsigned long long)i, v);
        }
        if ((rc = copy_f64(s, est, cname, "explained_variance_", prefix, "explained_variance",
                           k, 0, 1.0)))
            return rc;
        mset(s, m, "whiten", trove_value_bool(s->alloc, 1));
    }
done:
    mset(s, node, "kind", vstr(s, "decomposition"));
    mset(s, m, "task", vstr(s, "transform"));
    mset(s, m, "n_features", trove_value_int(s->alloc, nf));
    return TROVE_OK;
}

static int map_knn(sk *s, const pk_obj *est, const char *cname, const char *prefix,
                   trove_value *node, trove_value *m)
{
    bool clf = !strcmp(cname, "KNeighborsClassifier");
    const pk_obj *em = pk_attr(est, "effective_metric_");
    const char *metric = NULL;
    double p = 2;
    if (pk_is_none(em))
        em = pk_attr(est, "metric");
    const pk_obj *emp = pk_attr(est, "effective_metric_params_");
    if (pk_text_eq(em, "minkowski") && !pk_as_float(pk_attr(emp, "p"), &p) &&
        !pk_as_float(pk_attr(est, "p"), &p))
        p = 2;
    if (pk_text_eq(em, "euclidean") || pk_text_eq(em, "l2") ||
        (pk_text_eq(em, "minkowski") && p == 2))
        metric = "euclidean";
    else if (pk_text_eq(em, "manhattan") || pk_text_eq(em, "cityblock") || pk_text_eq(em, "l1") ||
             (pk_text_eq(em, "minkowski") && p == 1))
        metric = "manhattan";
    if (!metric)
        return fail(s, TROVE_E_UNSUPPORTED, est, "%s: this metric is not supported by trove's "
                    "model kinds yet (euclidean, manhattan, minkowski with p = 1 or 2)", cname);
    const char *w = pk_text_eq(pk_attr(est, "weights"), "distance") ? "distance" : "uniform";
    if (!pk_text_eq(pk_attr(est, "weights"), "distance") &&
        !pk_text_eq(pk_attr(est, "weights"), "uniform") && !pk_is_none(pk_attr(est, "weights")))
        return fail(s, TROVE_E_UNSUPPORTED, est, "%s: callable weights are not supported by "
                    "trove's model kinds", cname);
    pk_array X, y;
    int rc;
    if ((rc = get_array(s, est, cname, "_fit_X", &X)) || (rc = get_array(s, est, cname, "_y", &y)))
        return rc;
    if (X.rank != 2 || X.shape[0] == 0)
        return fail(s, TROVE_E_MODEL, est, "%s._fit_X is not a non-empty 2-D array", cname);
    const uint64_t N = X.shape[0];
    int64_t nf, k;
    if ((rc = n_features_of(s, est, cname, (int64_t)X.shape[1], &nf)))
        return rc;
    if ((uint64_t)nf != X.shape[1] || !attr_int(est, "n_neighbors", &k) || k < 1 ||
        (uint64_t)k > N)
        return fail(s, TROVE_E_MODEL, est, "%s: _fit_X or n_neighbors do not agree with the "
                    "data", cname);
    if ((rc = copy_f64(s, est, cname, "_fit_X", prefix, "fit_X", N, (uint64_t)nf, 1.0)))
        return rc;
    if (clf) {
        if (attr_bool(est, "outputs_2d_", false) || y.rank != 1)
            return fail(s, TROVE_E_UNSUPPORTED, est, "multi-output %s: not supported by trove's "
                        "model kinds yet", cname);
        trove_value *classes;
        size_t nc;
        if ((rc = labels_value(s, est, cname, "classes_", &classes, &nc)))
            return rc;
        mset(s, m, "classes", classes);
        if (y.count != N)
            return fail(s, TROVE_E_MODEL, est, "%s._y has %llu labels for %llu rows", cname,
                        (unsigned long long)y.count, (unsigned long long)N);
        int64_t *yt = tensor(s, prefix, "y", TROVE_INT64, 1, N, 0);
        if (!yt)
            return nomem(s);
        for (uint64_t i = 0; i < N; i++)
            yt[i] = pk_array_i64(&y, i);
        mset(s, m, "task", vstr(s, "classification"));
    } else {
        uint64_t no = y.rank == 2 ? y.shape[1] : 1;
        if ((y.rank != 1 && y.rank != 2) || y.shape[0] != N || no == 0)
            return fail(s, TROVE_E_MODEL, est, "%s._y does not have one row per sample", cname);
        if ((rc = copy_f64(s, est, cname, "_y", prefix, "y", N, no, 1.0)))
            return rc;
        mset(s, m, "task", vstr(s, "regression"));
        mset(s, m, "n_outputs", trove_value_int(s->alloc, (int64_t)no));
    }
    mset(s, node, "kind", vstr(s, "knn"));
    mset(s, m, "n_features", trove_value_int(s->alloc, nf));
    mset(s, m, "n_neighbors", trove_value_int(s->alloc, k));
    mset(s, m, "weights", vstr(s, w));
    mset(s, m, "metric", vstr(s, metric));
    return TROVE_OK;
}

/* OrdinalEncoder: one label_encoder per column in a column_transformer (the code of each value
 * among categories_[j], an unknown value an error as in sklearn). Categories must be in the
 * sorted order sklearn finds (numbers) or distinct (text); handle_unknown='use_encoded_value',
 * NaN categories and infrequent categories are refused. */
static int map_ordinal(sk *s, const pk_obj *est, const char *cname, trove_value *node,
                       trove_value *m)
{
    const pk_obj *hu = pk_attr(est, "handle_unknown");
    if (!pk_is_none(hu) && !pk_text_eq(hu, "error"))
        return fail(s, TROVE_E_UNSUPPORTED, est, "%s(handle_unknown='use_encoded_value'): not "
                    "supported by trove's model kinds yet (unknown values are errors)", cname);
    if (attr_bool(est, "_infrequent_enabled", false))
        return fail(s, TROVE_E_UNSUPPORTED, est, "%s with infrequent categories: not supported "
                    "by trove's model kinds yet", cname);
    const pk_obj *cats = pk_attr(est, "categories_");
    const size_t n = pk_len(cats);
    int64_t nf;
    int rc;
    if ((rc = n_features_of(s, est, cname, (int64_t)n, &nf)))
        return rc;
    if (n != (size_t)nf)
        return fail(s, TROVE_E_MODEL, est, "%s: %zu category lists for %lld features", cname, n,
                    (long long)nf);
    trove_value *parts = trove_value_array(s->alloc);
    if (!parts)
        return nomem(s);
    for (size_t j = 0; j < n; j++) {
        char what[48];
        snprintf(what, sizeof what, "categories_[%zu]", j);
        trove_value *cls;
        size_t k;
        if ((rc = labels_of(s, pk_item(cats, j), cname, what, &cls, &k)))
            break;
        for (size_t q = 1; q < k; q++) {
            double a, b;
            if (!trove_value_get_float(trove_value_at(cls, q - 1), &a) &&
                !trove_value_get_float(trove_value_at(cls, q), &b) && !(a < b)) {
                rc = fail(s, TROVE_E_UNSUPPORTED, est, "%s.%s is not in increasing order (given "
                          "categories): not supported by trove's model kinds yet", cname, what);
                break;
            }
        }
        if (rc || k == 0) {
            trove_value_free(cls);
            if (!rc)
                rc = fail(s, TROVE_E_MODEL, est, "%s.%s is empty", cname, what);
            break;
        }
        trove_value *part = trove_value_map(s->alloc), *pm = trove_value_map(s->alloc),
                    *cols = trove_value_array(s->alloc);
        mset(s, pm, "classes", cls);
        mset(s, pm, "task", vstr(s, "transform"));
        mset(s, pm, "n_features", trove_value_int(s->alloc, 1));
        apush(s, cols, trove_value_int(s->alloc, (int64_t)j));
        mset(s, part, "kind", vstr(s, "label_encoder"));
        mset(s, part, "kind_version", trove_value_int(s->alloc, 1));
        mset(s, part, "model", pm);
        mset(s, part, "columns", cols);
        mset(s, part, "name", vstr(s, what));
        apush(s, parts, part);
    }
    if (rc) {
        trove_value_free(parts);
        return rc;
    }
    ct_meta(s, node, m, nf, parts);
    return TROVE_OK;
}

static int map_label_encoder(sk *s, const pk_obj *est, const char *cname, trove_value *node,
                             trove_value *m)
{
    trove_value *classes;
    size_t k;
    int rc = labels_value(s, est, cname, "classes_", &classes, &k);
    if (rc)
        return rc;
    mset(s, m, "classes", classes);
    if (k == 0)
        return fail(s, TROVE_E_MODEL, est, "%s.classes_ is empty", cname);
    mset(s, node, "kind", vstr(s, "label_encoder"));
    mset(s, m, "task", vstr(s, "transform"));
    mset(s, m, "n_features", trove_value_int(s->alloc, 1));
    return TROVE_OK;
}

static const char *refusal_reason(const char *cname)
{
    static const struct { const char *name, *why; } known[] = {
        {"OneClassSVM", "one-class SVM (outlier detection)"},
        {"BisectingKMeans", "bisecting k-means predicts by walking its tree of clusters"},
        {"KernelPCA", "kernel PCA (needs the training data and the kernel)"},
        {"CountVectorizer", "a text vectorizer: it tokenises raw text"},
        {"TfidfVectorizer", "a text vectorizer: it tokenises raw text"},
        {"HashingVectorizer", "a text vectorizer: it tokenises raw text"},
        {"TfidfTransformer", "tf-idf weighting"},
        {"RadiusNeighborsClassifier", "radius neighbours"},
        {"RadiusNeighborsRegressor", "radius neighbours"},
        {"AdaBoostRegressor", "it predicts the weighted median of its trees, not a sum"},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(cname, known[i].name))
            return known[i].why;
    return "no mapping to a model kind";
}

static int map_estimator(sk *s, const pk_obj *est, const char *prefix, int depth,
                         trove_value **node_out)
{
    *node_out = NULL;
    if (depth > MAX_PIPE_DEPTH)
        return fail(s, TROVE_E_LIMIT, est, "pipelines nested deeper than %d", MAX_PIPE_DEPTH);
    if (!est || est->kind != PK_OBJECT) {
        return fail(s, TROVE_E_UNSUPPORTED, est, "the pickle holds a %s, not an estimator",
                    est ? pk_kind_name(est->kind) : "nothing");
    }
    const pk_obj *cls = pk_class_of(est);
    char full[200];
    pk_global_name(cls ? cls : est->u.o.callable, full, sizeof full);
    if (!cls || !is_sklearn(est)) {
        const char *why = "not a scikit-learn estimator";
        if (cls && !strcmp(cls->u.g.module, "__main__"))
            why = "a custom class defined in the producer's own script";
        else if (cls && !strncmp(cls->u.g.module, "xgboost", 7))
            /* the pickle holds XGBoost's own binary buffer, only rebuilt by running xgboost */
            return fail(s, TROVE_E_UNSUPPORTED, est, "%s: a pickled XGBoost model is not read "
                        "(only xgboost can rebuild it): save it with model.save_model(\"model."
                        "json\") (or \"model.ubj\") and convert that file", full);
        else if (cls && (!strncmp(cls->u.g.module, "keras", 5) ||
                         !strncmp(cls->u.g.module, "tensorflow", 10)))
            why = "a Keras model pickled whole: rebuilt by running Keras code";
        else if (est->how == PK_REDUCE)
            why = "rebuilt by calling a function";
        return fail(s, TROVE_E_UNSUPPORTED, est, "%s: not supported by trove's model kinds yet "
                    "(%s)", full, why);
    }
    const char *cname = cls->u.g.name;
    if (!strcmp(cname, "GridSearchCV") || !strcmp(cname, "RandomizedSearchCV") ||
        !strcmp(cname, "HalvingGridSearchCV") || !strcmp(cname, "HalvingRandomSearchCV")) {
        /* a fitted search predicts with its refitted best estimator */
        const pk_obj *best = pk_attr(est, "best_estimator_");
        if (pk_is_none(best))
            return fail(s, TROVE_E_UNSUPPORTED, est, "%s without best_estimator_ (refit=False): "
                        "nothing to predict with", full);
        return map_estimator(s, best, prefix, depth + 1, node_out);
    }
    char pub[200];
    public_name(est, pub, sizeof pub);
    trove_value *node = trove_value_map(s->alloc), *m = trove_value_map(s->alloc);
    if (!node || !m) {
        trove_value_free(node);
        trove_value_free(m);
        return nomem(s);
    }
    int rc;
    if (name_in(cname, LINEAR_REG))
        rc = map_linear(s, est, cname, prefix, node, m, false);
    else if (name_in(cname, LINEAR_CLS))
        rc = map_linear(s, est, cname, prefix, node, m, true);
    else if (!strcmp(cname, "StandardScaler") || !strcmp(cname, "MinMaxScaler") ||
             !strcmp(cname, "RobustScaler") || !strcmp(cname, "MaxAbsScaler"))
        rc = map_scaler(s, est, cname, prefix, node, m);
    else if (!strcmp(cname, "SimpleImputer"))
        rc = map_imputer(s, est, cname, prefix, node, m);
    else if (!strcmp(cname, "OneHotEncoder"))
        rc = map_onehot(s, est, cname, prefix, node, m);
    else if (name_in(cname, TREES))
        rc = map_trees(s, est, cname, prefix, node, m);
    else if (!strcmp(cname, "GradientBoostingClassifier") ||
             !strcmp(cname, "GradientBoostingRegressor"))
        rc = map_gb(s, est, cname, prefix, node, m);
    else if (!strcmp(cname, "AdaBoostClassifier"))
        rc = map_adaboost(s, est, cname, prefix, node, m);
    else if (!strcmp(cname, "BaggingClassifier") || !strcmp(cname, "BaggingRegressor"))
        rc = map_bagging(s, est, cname, prefix, node, m);
    else if (!strcmp(cname, "HistGradientBoostingClassifier") ||
             !strcmp(cname, "HistGradientBoostingRegressor"))
        rc = map_hgb(s, est, cname, prefix, node, m);
    else if (!strcmp(cname, "MLPClassifier") || !strcmp(cname, "MLPRegressor"))
        rc = map_mlp(s, est, cname, prefix, node, m);
    else if (!strcmp(cname, "Pipeline"))
        rc = map_pipeline(s, est, prefix, depth, node, m);
    else if (!strcmp(cname, "ColumnTransformer"))
        rc = map_columns(s, est, prefix, depth, node, m);
    else if (!strcmp(cname, "OneVsRestClassifier"))
        rc = map_ovr(s, est, cname, prefix, node, m);
    else if (!strcmp(cname, "SVC") || !strcmp(cname, "NuSVC") || !strcmp(cname, "SVR") ||
             !strcmp(cname, "NuSVR"))
        rc = map_svm(s, est, cname, prefix, node, m);
    else if (!strcmp(cname, "GaussianNB"))
        rc = map_gnb(s, est, cname, prefix, node, m);
    else if (!strcmp(cname, "MultinomialNB") || !strcmp(cname, "ComplementNB") ||
             !strcmp(cname, "BernoulliNB"))
        rc = map_nb_discrete(s, est, cname, prefix, node, m);
    else if (!strcmp(cname, "CategoricalNB"))
        rc = map_nb_categorical(s, est, cname, prefix, node, m);
    else if (!strcmp(cname, "KMeans") || !strcmp(cname, "MiniBatchKMeans"))
        rc = map_kmeans(s, est, cname, prefix, node, m);
    else if (!strcmp(cname, "PCA") || !strcmp(cname, "IncrementalPCA") ||
             !strcmp(cname, "TruncatedSVD") || !strcmp(cname, "RandomizedPCA"))
        rc = map_decomp(s, est, cname, prefix, node, m);
    else if (!strcmp(cname, "KNeighborsClassifier") || !strcmp(cname, "KNeighborsRegressor"))
        rc = map_knn(s, est, cname, prefix, node, m);
    else if (!strcmp(cname, "LabelEncoder"))
        rc = map_label_encoder(s, est, cname, node, m);
    else if (!strcmp(cname, "OrdinalEncoder"))
        rc = map_ordinal(s, est, cname, node, m);
    else if (!strcmp(cname, "Normalizer") || !strcmp(cname, "Binarizer"))
        rc = map_row_scaler(s, est, cname, node, m);
    else if (!strcmp(cname, "LabelBinarizer"))
        rc = map_label_binarizer(s, est, cname, prefix, node, m);
    else if (!strcmp(cname, "PolynomialFeatures"))
        rc = map_poly(s, est, cname, prefix, node, m);
    else if (!strcmp(cname, "VarianceThreshold") || !strcmp(cname, "SelectKBest") ||
             !strcmp(cname, "RFE") || !strcmp(cname, "RFECV"))
        rc = map_selector(s, est, cname, prefix, depth, node, m);
    else
        rc = fail(s, TROVE_E_UNSUPPORTED, est, "%s: not supported by trove's model kinds yet "
                  "(%s)", full, refusal_reason(cname));
    if (rc) {
        trove_value_free(node);
        trove_value_free(m);
        return rc;
    }
    mset(s, node, "kind_version", trove_value_int(s->alloc, 1));
    mset(s, node, "estimator", vstr(s, pub));
    mset(s, node, "params", params_of(s, est));
    mset(s, node, "model", m);
    if (s->rc) {
        trove_value_free(node);
        return nomem(s);
    }
    *node_out = node;
    return TROVE_OK;
}

/* ---- top level --------------------------------------------------------------------------- */
static int top_level(sk *s, const pk_obj *est, const trove__source_info *src,
                     trove__model_out *out)
{
    trove_value *node = NULL;
    s->m = out;
    int rc = map_estimator(s, est, "", 0, &node);
    if (rc)
        return rc;
    out->meta = node;
    const char *e = NULL;
    size_t en = 0;
    trove_value_get_string(trove_value_get(node, "estimator"), &e, &en);
    snprintf(out->estimator, sizeof out->estimator, "%s", e ? e : "?");
    /* producer */
    trove_value *prod = trove_value_map(s->alloc);
    mset(s, prod, "name", vstr(s, "scikit-learn"));
    const uint8_t *vp;
    size_t vn;
    if (pk_text(pk_attr(est, "_sklearn_version"), &vp, &vn) &&
        trove__utf8_valid((const char *)vp, vn) && vn < 64)
        mset(s, prod, "version", trove_value_string(s->alloc, (const char *)vp, vn));
    mset(s, node, "producer", prod);
    /* created */
    char ts[32];
    time_t now = time(NULL);
    struct tm tmv;
    gmtime_r(&now, &tmv);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tmv);
    mset(s, node, "created", vstr(s, ts));
    /* signature: from the first step (inputs) and the last (outputs, classes) */
    const pk_obj *first = est;
    const trove_value *last = node;
    for (int d = 0; d < MAX_PIPE_DEPTH && cls_name(first) && !strcmp(cls_name(first), "Pipeline");
         d++) {
        const pk_obj *steps = pk_attr(first, "steps");
        size_t j = 0;
        while (j + 1 < pk_len(steps) && is_imblearn(pk_item(pk_item(steps, j), 1), false))
            j++;
        first = pk_item(pk_item(steps, j), 1);
    }
    for (int d = 0; d < MAX_PIPE_DEPTH; d++) {
        const trove_value *steps = trove_value_path(last, "model.steps");
        size_t n = trove_value_count(steps);
        if (!n)
            break;
        last = trove_value_at(steps, n - 1);
    }
    trove_value *sig = trove_value_map(s->alloc), *in = trove_value_map(s->alloc);
    int64_t nf = 0;
    (void)trove_value_get_int(trove_value_path(node, "model.n_features"), &nf);
    mset(s, in, "n_features", trove_value_int(s->alloc, nf));
    mset(s, in, "dtype", vstr(s, "float64"));
    const pk_obj *names = pk_attr(first, "feature_names_in_");
    if (!pk_is_none(names) && !pk_is_none(pk_attr(est, "feature_names_in_")))
        names = pk_attr(est, "feature_names_in_");
    if (!pk_is_none(names)) {
        trove_value *nv = NULL;
        size_t cnt = 0;
        trove_error keep = *s->err;
        if (labels_value(s, pk_is_none(pk_attr(est, "feature_names_in_")) ? first : est,
                         "signature", "feature_names_in_", &nv, &cnt) == TROVE_OK &&
            (int64_t)cnt == nf)
            mset(s, in, "names", nv);
        else
            trove_value_free(nv);
        *s->err = keep; /* feature names are optional: a bad list is just left out */
    }
    mset(s, sig, "inputs", in);
    const char *task = NULL;
    trove_value_get_string(trove_value_path(last, "model.task"), &task, NULL);
    trove_value *outs = trove_value_map(s->alloc);
    if (task && !strcmp(task, "classification")) {
        mset(s, outs, "n_outputs", trove_value_int(s->alloc, 1));
        const trove_value *cl = trove_value_path(last, "model.classes");
        mset(s, sig, "classes", cl ? trove_value_clone(cl) : NULL);
    } else if (task && !strcmp(task, "regression")) {
        int64_t no = 1;
        (void)trove_value_get_int(trove_value_path(last, "model.n_outputs"), &no);
        mset(s, outs, "n_outputs", trove_value_int(s->alloc, no));
    }
    mset(s, sig, "outputs", outs);
    mset(s, node, "signature", sig);
    /* lineage: where this model came from */
    trove_value *lin = trove_value_map(s->alloc), *so = trove_value_map(s->alloc);
    if (src && src->name && trove__utf8_valid(src->name, strlen(src->name)))
        mset(s, so, "file", vstr(s, src->name));
    if (src && src->sha256_hex)
        mset(s, so, "sha256", vstr(s, src->sha256_hex));
    if (src && src->format)
        mset(s, so, "format", vstr(s, src->format));
    if (src)
        mset(s, so, "bytes", trove_value_uint(s->alloc, src->size));
    mset(s, lin, "source", so);
    mset(s, lin, "converter", vstr(s, "trove convert (scikit-learn pickle importer)"));
    mset(s, node, "lineage", lin);
    return s->rc ? nomem(s) : TROVE_OK;
}

void trove__models_free(const trove_allocator *alloc, trove__model_out *models, size_t n)
{
    if (!models)
        return;
    for (size_t i = 0; i < n; i++)
        trove_value_free(models[i].meta);
    trove__free(alloc, models);
}

int trove__sklearn_map(pk_arena *a, const trove_allocator *alloc, const pk_obj *root,
                       const trove__source_info *src, trove__model_out **models, size_t *n_models,
                       trove_error *err)
{
    sk s = {.a = a, .alloc = alloc, .err = err};
    trove_error local;
    if (!err)
        s.err = &local;
    *models = NULL;
    *n_models = 0;
    size_t n = 1;
    bool container = root && (root->kind == PK_TUPLE || root->kind == PK_LIST ||
                              root->kind == PK_DICT);
    if (container) {
        n = pk_len(root);
        if (n == 0 || n > 64)
            return trove__fail(err, TROVE_E_UNSUPPORTED, root->offset,
                               "the pickle holds a %s of %zu items, not an estimator",
                               pk_kind_name(root->kind), n);
    }
    trove__model_out *out = trove__calloc(alloc, n, sizeof *out);
    if (!out)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    int rc = TROVE_OK;
    size_t w = 0; /* models written into out */
    for (size_t i = 0; i < n; i++) {
        const pk_obj *e = root;
        char *key = out[w].key;
        if (container && root->kind == PK_DICT) {
            const uint8_t *kp;
            size_t kn;
            int64_t ki;
            e = root->u.seq.v[2 * i + 1];
            const pk_obj *k = root->u.seq.v[2 * i];
            key[0] = 0;
            if (pk_text(k, &kp, &kn)) {
                size_t j = 0;
                for (size_t c = 0; c < kn && j + 1 < sizeof out[w].key; c++)
                    key[j++] = (char)((kp[c] >= '0' && kp[c] <= '9') ||
                                              (kp[c] >= 'a' && kp[c] <= 'z') ||
                                              (kp[c] >= 'A' && kp[c] <= 'Z') || kp[c] == '-' ||
                                              kp[c] == '_'
                                          ? kp[c] : '_');
                key[j] = 0;
            } else if (pk_as_int(k, &ki)) {
                snprintf(key, sizeof out[w].key, "%lld", (long long)ki);
            }
            for (size_t j = 0; key[0] && j < w; j++) /* keys equal after sanitising */
                if (!strcmp(out[j].key, key))
                    key[0] = 0;
            if (!key[0])
                snprintf(key, sizeof out[w].key, "%zu", i);
        } else if (container) {
            e = root->u.seq.v[i];
            snprintf(key, sizeof out[w].key, "%zu", i);
        }
        /* plain data next to the estimators (feature lists, names, arrays): not a model */
        const pk_obj *ec = pk_class_of(e);
        if (container && (!e || e->kind != PK_OBJECT ||
                          (ec && !strncmp(ec->u.g.module, "numpy", 5))))
            continue;
        rc = top_level(&s, e, src, &out[w]);
        if (rc) {
            if (container) {
                char msg[256];
                snprintf(msg, sizeof msg, "%s", s.err->message);
                trove__fail(err, rc, s.err->offset, "top-level %s item %s: %s",
                            pk_kind_name(root->kind), key, msg);
            }
            w++;
            break;
        }
        w++;
    }
    if (!rc && w == 0)
        rc = trove__fail(err, TROVE_E_UNSUPPORTED, root->offset,
                         "the pickle holds a %s of %zu items and none is an estimator",
                         pk_kind_name(root->kind), n);
    if (rc) {
        trove__models_free(alloc, out, w);
        return rc;
    }
    *models = out;
    *n_models = w;
    return TROVE_OK;
}
