/* model_more.c: the svm, naive_bayes, knn and label_encoder kinds (docs/MODELS.md 2): schema
 * validation of hostile models and evaluation in scikit-learn's (libsvm's) arithmetic order. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/model_internal.h"

#define ANY SIZE_MAX
/* Classes of an svm: the pairwise decisions grow as K^2 (docs/MODELS.md). */
#define SVM_MAX_CLASSES 1024u
#define SVM_MAX_DEGREE 1000000
enum { KER_LINEAR, KER_POLY, KER_RBF, KER_SIGMOID };
enum { OP_PREDICT = 0, OP_PROBA = 1, OP_DECISION = 2 };

static int nomem(bindctx *c)
{
    return trove__fail(c->err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
}

/* ---- svm ---------------------------------------------------------------------------------- */

int trove__bind_svm(bindctx *c, const trove_value *cfg, mnode *n)
{
    const char *ker, *shape;
    int rc;
    double deg;
    if ((rc = trove__meta_string(c, cfg, "kernel", NULL, &ker)) ||
        (rc = trove__meta_float(c, cfg, "gamma", 0, 1.0, &n->u.svm.gamma)) ||
        (rc = trove__meta_float(c, cfg, "coef0", 0, 0.0, &n->u.svm.coef0)) ||
        (rc = trove__meta_float(c, cfg, "degree", 0, 3.0, &deg)) ||
        (rc = trove__meta_string(c, cfg, "decision_shape", "ovr", &shape)))
        return rc;
    static const char *kers[] = {"linear", "poly", "rbf", "sigmoid"};
    int k = 0;
    while (k < 4 && strcmp(kers[k], ker))
        k++;
    if (k == 4)
        return trove__model_fail(c, "model.kernel '%s' unknown (linear, poly, rbf or sigmoid)",
                                 ker);
    n->u.svm.kernel = k;
    if (!isfinite(n->u.svm.gamma) || !isfinite(n->u.svm.coef0))
        return trove__model_fail(c, "model.gamma and model.coef0 must be finite");
    if (!(deg >= 0 && deg <= SVM_MAX_DEGREE) || deg != floor(deg))
        return trove__model_fail(c, "model.degree must be an integer in 0..%d", SVM_MAX_DEGREE);
    n->u.svm.degree = (int)deg;
    if (!strcmp(shape, "ovr"))
        n->u.svm.ovr = 1;
    else if (strcmp(shape, "ovo"))
        return trove__model_fail(c, "model.decision_shape '%s' unknown (ovr or ovo)", shape);
    const trove_value *bt = trove_value_get(cfg, "break_ties");
    if (bt && trove_value_get_bool(bt, &n->u.svm.break_ties))
        return trove__model_fail(c, "model.break_ties must be a boolean");

    size_t ss[2] = {ANY, n->n_in};
    if ((rc = trove__tensor_f64(c, "support_vectors", 1, 2, ss, 1, &n->u.svm.sv)))
        return rc;
    const size_t nsv = ss[0];
    if (nsv == 0)
        return trove__model_fail(c, "tensor 'support_vectors' has no rows");
    n->u.svm.n_sv = nsv;
    const int clf = n->task == TASK_CLASSIFICATION;
    const size_t K = clf ? n->n_classes : 1;
    if (clf && K > SVM_MAX_CLASSES)
        return trove__model_fail(c, "%zu classes: an svm takes at most %u", K, SVM_MAX_CLASSES);
    const size_t pairs = clf ? K * (K - 1) / 2 : 1;
    n->u.svm.n_pairs = pairs;
    size_t cs[2] = {clf ? K - 1 : 1, nsv};
    if ((rc = trove__tensor_f64(c, "dual_coef", 1, 2, cs, 1, &n->u.svm.coef)))
        return rc;
    size_t is[1] = {pairs};
    if ((rc = trove__tensor_f64(c, "intercept", 1, 1, is, 1, &n->u.svm.icpt)))
        return rc;
    if (!clf) {
        if (trove_value_get(cfg, "decision_shape"))
            return trove__model_fail(c, "model.decision_shape is for classifiers");
        n->n_raw = 1;
        n->u.svm.a = c->a;
        return TROVE_OK;
    }
    size_t ps[1] = {pairs};
    if ((rc = trove__tensor_f64(c, "prob_a", 0, 1, ps, 1, &n->u.svm.pa)))
        return rc;
    ps[0] = pairs;
    if ((rc = trove__tensor_f64(c, "prob_b", 0, 1, ps, 1, &n->u.svm.pb)))
        return rc;
    if (!n->u.svm.pa != !n->u.svm.pb)
        return trove__model_fail(c, "tensors 'prob_a' and 'prob_b' come together");
    int64_t *ns = NULL;
    size_t nss[1] = {K};
    if ((rc = trove__tensor_i64(c, "n_support", 1, 1, nss, 0, &ns)))
        return rc;
    n->u.svm.start = trove__calloc(c->a, K, sizeof(size_t));
    n->u.svm.count = trove__calloc(c->a, K, sizeof(size_t));
    if (!n->u.svm.start || !n->u.svm.count) {
        trove__free(c->a, ns);
        return nomem(c);
    }
    size_t at = 0;
    for (size_t i = 0; i < K; i++) {
        if (ns[i] < 0 || (uint64_t)ns[i] > nsv - at) {
            long long bad = (long long)ns[i];
            trove__free(c->a, ns);
            return trove__model_fail(c, "tensor 'n_support'[%zu] = %lld: counts must be >= 0 "
                                        "and sum to the %zu support vectors", i, bad, nsv);
        }
        n->u.svm.start[i] = at;
        n->u.svm.count[i] = (size_t)ns[i];
        at += (size_t)ns[i];
    }
    trove__free(c->a, ns);
    if (at != nsv)
        return trove__model_fail(c, "tensor 'n_support' sums to %zu, not the %zu support vectors",
                                 at, nsv);
    if (n->u.svm.break_ties && !n->u.svm.ovr)
        return trove__model_fail(c, "model.break_ties needs decision_shape \"ovr\"");
    n->n_raw = pairs; /* raw: libsvm's pairwise decision values */
    n->u.svm.a = c->a;
    return TROVE_OK;
}

/* libsvm's powi: exponentiation by squaring, in its order. */
static double powi(double base, int times)
{
    double tmp = base, ret = 1.0;
    for (int t = times; t > 0; t /= 2) {
        if (t % 2 == 1)
            ret *= tmp;
        tmp = tmp * tmp;
    }
    return ret;
}

static int run_svm(const mnode *n, const double *in, size_t R, double *out, trove_error *err)
{
    const size_t d = n->n_in, nsv = n->u.svm.n_sv;
    double *kv = trove__malloc(n->u.svm.a, nsv * sizeof(double));
    if (!kv)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    const double g = n->u.svm.gamma, c0 = n->u.svm.coef0;
    for (size_t r = 0; r < R; r++) {
        const double *x = in + r * d;
        /* kernel values, as libsvm's k_function (sums in input order) */
        for (size_t s = 0; s < nsv; s++) {
            const double *v = n->u.svm.sv + s * d;
            double sum = 0;
            if (n->u.svm.kernel == KER_RBF) {
                for (size_t i = 0; i < d; i++) {
                    double t = x[i] - v[i];
                    sum += t * t;
                }
                kv[s] = exp(-g * sum);
                continue;
            }
            for (size_t i = 0; i < d; i++)
                sum += x[i] * v[i];
            switch (n->u.svm.kernel) {
            case KER_POLY: kv[s] = powi(g * sum + c0, n->u.svm.degree); break;
            case KER_SIGMOID: kv[s] = tanh(g * sum + c0); break;
            default: kv[s] = sum; break;
            }
        }
        if (n->task != TASK_CLASSIFICATION) {
            double sum = 0;
            for (size_t s = 0; s < nsv; s++)
                sum += n->u.svm.coef[s] * kv[s];
            out[r] = sum - -n->u.svm.icpt[0]; /* libsvm: sum -= rho, rho = -intercept */
            continue;
        }
        const size_t K = n->n_classes, P = n->u.svm.n_pairs;
        size_t p = 0;
        for (size_t i = 0; i < K; i++)
            for (size_t j = i + 1; j < K; j++, p++) {
                const size_t si = n->u.svm.start[i], sj = n->u.svm.start[j];
                const double *c1 = n->u.svm.coef + (j - 1) * nsv, *c2 = n->u.svm.coef + i * nsv;
                double sum = 0;
                for (size_t k = 0; k < n->u.svm.count[i]; k++)
                    sum += c1[si + k] * kv[si + k];
                for (size_t k = 0; k < n->u.svm.count[j]; k++)
                    sum += c2[sj + k] * kv[sj + k];
                out[r * P + p] = sum - -n->u.svm.icpt[p];
            }
    }
    trove__free(n->u.svm.a, kv);
    return TROVE_OK;
}

/* libsvm's sigmoid_predict and multiclass_probability (pairwise coupling), in its order. */
static double sigmoid_predict(double dec, double A, double B)
{
    double fApB = dec * A + B;
    if (fApB >= 0)
        return exp(-fApB) / (1.0 + exp(-fApB));
    return 1.0 / (1 + exp(fApB));
}

static void multiclass_probability(size_t k, const double *r, double *p, double *Q, double *Qp)
{
    /* r[i * k + j]: pairwise probabilities; Q [k, k], Qp [k] scratch */
    size_t max_iter = k > 100 ? k : 100;
    double eps = 0.005 / (double)k;
    for (size_t t = 0; t < k; t++) {
        p[t] = 1.0 / (double)k;
        Q[t * k + t] = 0;
        for (size_t j = 0; j < t; j++) {
            Q[t * k + t] += r[j * k + t] * r[j * k + t];
            Q[t * k + j] = Q[j * k + t];
        }
        for (size_t j = t + 1; j < k; j++) {
            Q[t * k + t] += r[j * k + t] * r[j * k + t];
            Q[t * k + j] = -r[j * k + t] * r[t * k + j];
        }
    }
    for (size_t iter = 0; iter < max_iter; iter++) {
        double pQp = 0;
        for (size_t t = 0; t < k; t++) {
            Qp[t] = 0;
            for (size_t j = 0; j < k; j++)
                Qp[t] += Q[t * k + j] * p[j];
            pQp += p[t] * Qp[t];
        }
        double max_error = 0;
        for (size_t t = 0; t < k; t++) {
            double error = fabs(Qp[t] - pQp);
            if (error > max_error)
                max_error = error;
        }
        if (max_error < eps)
            break;
        for (size_t t = 0; t < k; t++) {
            double diff = (-Qp[t] + pQp) / Q[t * k + t];
            p[t] += diff;
            pQp = (pQp + diff * (diff * Q[t * k + t] + 2 * Qp[t])) / (1 + diff) / (1 + diff);
            for (size_t j = 0; j < k; j++) {
                Qp[j] = (Qp[j] + diff * Q[t * k + j]) / (1 + diff);
                p[j] /= (1 + diff);
            }
        }
    }
}

/* sklearn's _ovr_decision_function(dec < 0, -dec, K) for one row: votes plus the summed
 * confidences mapped monotonically into (-1/3, 1/3). */
static void svm_ovr_row(size_t K, const double *d, double *v, double *s)
{
    for (size_t i = 0; i < K; i++)
        v[i] = s[i] = 0;
    size_t p = 0;
    for (size_t i = 0; i < K; i++)
        for (size_t j = i + 1; j < K; j++, p++) {
            double conf = -d[p];
            s[i] -= conf;
            s[j] += conf;
            if (d[p] < 0)
                v[j] += 1;
            else
                v[i] += 1;
        }
    for (size_t i = 0; i < K; i++)
        v[i] = v[i] + s[i] / (3 * (fabs(s[i]) + 1));
}

static int finish_svm(const trove_allocator *a, const mnode *n, int op, const double *raw,
                      size_t R, double *out, trove_error *err)
{
    const size_t K = n->n_classes, P = n->u.svm.n_pairs;
    /* per call: the pairwise probabilities and coupling matrices, or votes and confidences */
    double *w = trove__malloc(a, (3 * K * K + 2 * K + 1) * sizeof(double));
    if (!w)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    if (op == OP_PROBA) {
        double *pr = w, *Q = w + K * K, *Qp = Q + K * K;
        const double min_prob = 1e-7;
        for (size_t r = 0; r < R; r++) {
            const double *d = raw + r * P;
            size_t p = 0;
            for (size_t i = 0; i < K; i++)
                for (size_t j = i + 1; j < K; j++, p++) {
                    double s = sigmoid_predict(d[p], n->u.svm.pa[p], n->u.svm.pb[p]);
                    s = s > min_prob ? s : min_prob;
                    s = s < 1 - min_prob ? s : 1 - min_prob;
                    pr[i * K + j] = s;
                    pr[j * K + i] = 1 - s;
                }
            /* sklearn's libsvm couples two classes too (upstream libsvm >= 3.0 does not) */
            multiclass_probability(K, pr, out + r * K, Q, Qp);
        }
    } else if (op == OP_DECISION) {
        for (size_t r = 0; r < R; r++) {
            if (K == 2) /* sklearn flips libsvm's sign for two classes */
                out[r] = -raw[r];
            else if (!n->u.svm.ovr)
                memcpy(out + r * P, raw + r * P, P * sizeof(double));
            else
                svm_ovr_row(K, raw + r * P, out + r * K, w);
        }
    } else {
        /* PREDICT: libsvm's vote (d > 0: the first class of the pair; a tie in votes goes to
         * the first class); break_ties: sklearn's argmax of the ovr decision */
        double *v = w, *s = w + K;
        for (size_t r = 0; r < R; r++) {
            const double *d = raw + r * P;
            size_t best = 0;
            if (K == 2) {
                best = d[0] > 0 ? 0 : 1;
            } else if (n->u.svm.break_ties) {
                svm_ovr_row(K, d, v, s);
                for (size_t c = 1; c < K; c++)
                    best = v[c] > v[best] ? c : best;
            } else {
                for (size_t i = 0; i < K; i++)
                    v[i] = 0;
                size_t p = 0;
                for (size_t i = 0; i < K; i++)
                    for (size_t j = i + 1; j < K; j++, p++)
                        v[d[p] > 0 ? i : j] += 1;
                for (size_t c = 1; c < K; c++)
                    best = v[c] > v[best] ? c : best;
            }
            out[r] = (double)best;
        }
    }
    trove__free(a, w);
    return TROVE_OK;
}

/* ---- naive_bayes ------------------------------------------------------------------------- */

/* The discrete distributions (MultinomialNB, ComplementNB, BernoulliNB): the joint log
 * likelihood is an affine function of the (binarized) input, jll_k = x . w_k + bias_k, with w and
 * bias derived at bind from sklearn's own attributes in sklearn's operation order. */
static int bind_nb_discrete(bindctx *c, const trove_value *cfg, mnode *n)
{
    const size_t K = n->n_classes, d = n->n_in;
    const int dist = n->u.nb.dist;
    size_t fs[2] = {K, d}, ps[1] = {K};
    int rc;
    if ((rc = trove__tensor_f64(c, "feature_log_prob", 1, 2, fs, 1, &n->u.nb.w)))
        return rc;
    if (dist != NB_COMPLEMENT) {
        if ((rc = trove__tensor_f64(c, "class_log_prior", 1, 1, ps, 1, &n->u.nb.bias)))
            return rc;
        for (size_t k = 0; k < K; k++)
            if (!(n->u.nb.bias[k] <= 0))
                return trove__model_fail(c, "tensor 'class_log_prior'[%zu] = %g: a log "
                                            "probability must be <= 0", k, n->u.nb.bias[k]);
    }
    if (dist == NB_BERNOULLI) {
        const trove_value *b = trove_value_get(cfg, "binarize");
        if (b && trove_value_type_of(b) != TROVE_VALUE_NULL) {
            if (trove_value_get_float(b, &n->u.nb.thr) || isnan(n->u.nb.thr))
                return trove__model_fail(c, "model.binarize must be a number or null");
            n->u.nb.bin = 1;
        }
        /* sklearn: neg = log(1 - exp(flp)); jll = X (flp - neg)^T + (class_log_prior +
         * neg.sum(axis=1)), the row sums pairwise (numpy) */
        double *neg = trove__malloc(c->a, d * sizeof(double));
        if (!neg)
            return nomem(c);
        for (size_t k = 0; k < K; k++) {
            double *w = n->u.nb.w + k * d;
            for (size_t i = 0; i < d; i++) {
                if (!(w[i] < 0)) {
                    trove__free(c->a, neg);
                    return trove__model_fail(c, "tensor 'feature_log_prob'[%zu][%zu] = %g: a "
                                                "Bernoulli log probability must be < 0", k, i,
                                             w[i]);
                }
                neg[i] = log(1 - exp(w[i]));
                w[i] = w[i] - neg[i];
            }
            n->u.nb.bias[k] = n->u.nb.bias[k] + trove__np_sum(neg, d);
            if (!isfinite(n->u.nb.bias[k])) {
                trove__free(c->a, neg);
                return trove__model_fail(c, "tensor 'feature_log_prob' row %zu: log(1 - p) "
                                            "is not finite", k);
            }
        }
        trove__free(c->a, neg);
    }
    n->n_raw = K; /* raw: the joint log likelihood */
    return TROVE_OK;
}

/* CategoricalNB: per feature j a table of log probabilities [K, n_categories_j], concatenated
 * along the columns (category_log_prob [K, total]) with offsets [n_features + 1]. */
static int bind_nb_categorical(bindctx *c, mnode *n)
{
    const size_t K = n->n_classes, d = n->n_in;
    size_t os[1] = {d + 1}, ps[1] = {K};
    int64_t *off = NULL;
    int rc = trove__tensor_i64(c, "offsets", 1, 1, os, 0, &off);
    if (rc)
        return rc;
    n->u.nb.offs = trove__malloc(c->a, (d + 1) * sizeof(size_t));
    if (!n->u.nb.offs) {
        trove__free(c->a, off);
        return nomem(c);
    }
    for (size_t j = 0; j <= d; j++) {
        /* from 0, each feature owning at least one category, within the width limit */
        int64_t lo = j ? off[j - 1] : -1;
        if ((j == 0 && off[0] != 0) || (j > 0 && !(off[j] > lo)) ||
            off[j] > (int64_t)TROVE_MODEL_MAX_WIDTH) {
            long long bad = (long long)off[j];
            trove__free(c->a, off);
            return trove__model_fail(c, "tensor 'offsets'[%zu] = %lld: need 0 first, then "
                                        "strictly increasing (each feature has a category) up "
                                        "to at most %u", j, bad, TROVE_MODEL_MAX_WIDTH);
        }
        n->u.nb.offs[j] = (size_t)off[j];
    }
    trove__free(c->a, off);
    size_t fs[2] = {K, n->u.nb.offs[d]};
    if ((rc = trove__tensor_f64(c, "category_log_prob", 1, 2, fs, 1, &n->u.nb.w)) ||
        (rc = trove__tensor_f64(c, "class_log_prior", 1, 1, ps, 1, &n->u.nb.bias)))
        return rc;
    for (size_t i = 0; i < K * fs[1]; i++)
        if (!(n->u.nb.w[i] <= 0))
            return trove__model_fail(c, "tensor 'category_log_prob'[%zu][%zu] = %g: a log "
                                        "probability must be <= 0", i / fs[1], i % fs[1],
                                     n->u.nb.w[i]);
    for (size_t k = 0; k < K; k++)
        if (!(n->u.nb.bias[k] <= 0))
            return trove__model_fail(c, "tensor 'class_log_prior'[%zu] = %g: a log "
                                        "probability must be <= 0", k, n->u.nb.bias[k]);
    n->n_raw = K;
    return TROVE_OK;
}

int trove__bind_nb(bindctx *c, const trove_value *cfg, mnode *n)
{
    const char *dist;
    int rc = trove__meta_string(c, cfg, "distribution", NULL, &dist);
    if (rc)
        return rc;
    static const char *dists[] = {"gaussian", "multinomial", "complement", "bernoulli",
                                  "categorical"};
    int di = 0;
    while (di < 5 && strcmp(dists[di], dist))
        di++;
    if (di == 5)
        return trove__model_fail(c, "model.distribution '%s' unknown (gaussian, multinomial, "
                                    "complement, bernoulli or categorical)", dist);
    n->u.nb.dist = di;
    if (n->task != TASK_CLASSIFICATION)
        return trove__model_fail(c, "naive_bayes is a classifier (model.task)");
    if (di != NB_BERNOULLI && trove_value_get(cfg, "binarize"))
        return trove__model_fail(c, "model.binarize is for distribution \"bernoulli\"");
    if (di == NB_CATEGORICAL)
        return bind_nb_categorical(c, n);
    if (di != NB_GAUSSIAN)
        return bind_nb_discrete(c, cfg, n);
    const size_t K = n->n_classes, d = n->n_in;
    size_t ts[2] = {K, d}, vs[2] = {K, d}, ps[1] = {K};
    if ((rc = trove__tensor_f64(c, "theta", 1, 2, ts, 1, &n->u.nb.theta)) ||
        (rc = trove__tensor_f64(c, "var", 1, 2, vs, 1, &n->u.nb.var)) ||
        (rc = trove__tensor_f64(c, "class_prior", 1, 1, ps, 1, &n->u.nb.logprior)))
        return rc;
    double total = 0;
    for (size_t k = 0; k < K; k++) {
        double p = n->u.nb.logprior[k];
        if (!(p >= 0 && p <= 1))
            return trove__model_fail(c, "tensor 'class_prior'[%zu] = %g is not in [0, 1]", k, p);
        total += p;
    }
    if (!(total > 0))
        return trove__model_fail(c, "tensor 'class_prior' sums to 0");
    for (size_t i = 0; i < K * d; i++)
        if (!(n->u.nb.var[i] > 0))
            return trove__model_fail(c, "tensor 'var'[%zu] = %g: variances must be > 0", i,
                                     n->u.nb.var[i]);
    n->u.nb.cst = trove__malloc(c->a, (K * (d + 1) + 1) * sizeof(double));
    if (!n->u.nb.cst)
        return nomem(c);
    double *tmp = n->u.nb.cst + K;
    /* sklearn: jointi = log(prior); n_ij = -0.5 * sum(log(2 pi var)); the second is a
     * constant per class, summed in numpy's order */
    for (size_t k = 0; k < K; k++) {
        for (size_t i = 0; i < d; i++)
            tmp[i] = log(2.0 * M_PI * n->u.nb.var[k * d + i]);
        n->u.nb.cst[k] = -0.5 * trove__np_sum(tmp, d);
        n->u.nb.logprior[k] = log(n->u.nb.logprior[k]);
    }
    n->n_raw = K; /* raw: the joint log likelihood */
    n->scratch = d;
    return TROVE_OK;
}

static int run_nb(const mnode *n, const double *in, size_t R, double *out, double *tmp,
                  size_t row0, trove_error *err)
{
    const size_t K = n->n_classes, d = n->n_in;
    if (n->u.nb.dist == NB_CATEGORICAL) {
        /* sklearn: X as int (truncated toward zero; NaN/inf and negatives refused, a code past
         * the table raises IndexError); jll = 0, += flp_j[:, x_j] in feature order, then the
         * prior */
        const size_t T = n->u.nb.offs[d];
        for (size_t r = 0; r < R; r++) {
            const double *x = in + r * d;
            double *o = out + r * K;
            for (size_t k = 0; k < K; k++)
                o[k] = 0.0;
            for (size_t j = 0; j < d; j++) {
                const size_t lo = n->u.nb.offs[j], nc = n->u.nb.offs[j + 1] - lo;
                const double v = trunc(x[j]);
                if (!(v >= 0 && v < (double)nc))
                    return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                                       "row %zu, column %zu: %.17g is not a category code of "
                                       "this feature (0..%zu)", row0 + r, j, x[j], nc - 1);
                const size_t col = lo + (size_t)v;
                for (size_t k = 0; k < K; k++)
                    o[k] += n->u.nb.w[k * T + col];
            }
            for (size_t k = 0; k < K; k++)
                o[k] = o[k] + n->u.nb.bias[k];
        }
        return TROVE_OK;
    }
    if (n->u.nb.dist != NB_GAUSSIAN) {
        /* safe_sparse_dot(X, W^T) (the reference BLAS sums in input order), then the bias */
        const int bin = n->u.nb.bin;
        const double thr = n->u.nb.thr;
        for (size_t r = 0; r < R; r++) {
            const double *x = in + r * d;
            for (size_t k = 0; k < K; k++) {
                const double *w = n->u.nb.w + k * d;
                double s = 0;
                if (bin)
                    for (size_t i = 0; i < d; i++)
                        s += (x[i] > thr ? 1.0 : 0.0) * w[i];
                else
                    for (size_t i = 0; i < d; i++)
                        s += x[i] * w[i];
                out[r * K + k] = n->u.nb.bias ? s + n->u.nb.bias[k] : s;
            }
        }
        return TROVE_OK;
    }
    for (size_t r = 0; r < R; r++) {
        const double *x = in + r * d;
        for (size_t k = 0; k < K; k++) {
            const double *th = n->u.nb.theta + k * d, *v = n->u.nb.var + k * d;
            for (size_t i = 0; i < d; i++) {
                double t = x[i] - th[i];
                tmp[i] = t * t / v[i];
            }
            double nij = n->u.nb.cst[k];
            nij -= 0.5 * trove__np_sum(tmp, d);
            out[r * K + k] = n->u.nb.logprior[k] + nij;
        }
    }
    return TROVE_OK;
}

/* ---- knn ------------------------------------------------------------------------------------ */

int trove__bind_knn(bindctx *c, const trove_value *cfg, mnode *n)
{
    const char *w, *metric;
    int rc;
    if ((rc = trove__meta_size(c, cfg, "n_neighbors", 1, 0, &n->u.knn.k)) ||
        (rc = trove__meta_string(c, cfg, "weights", "uniform", &w)) ||
        (rc = trove__meta_string(c, cfg, "metric", "euclidean", &metric)))
        return rc;
    if (!strcmp(w, "distance"))
        n->u.knn.distance = 1;
    else if (strcmp(w, "uniform"))
        return trove__model_fail(c, "model.weights '%s' unknown (uniform or distance)", w);
    if (!strcmp(metric, "manhattan"))
        n->u.knn.manhattan = 1;
    else if (strcmp(metric, "euclidean"))
        return trove__model_fail(c, "model.metric '%s' unknown (euclidean or manhattan)", metric);
    size_t xs[2] = {ANY, n->n_in};
    if ((rc = trove__tensor_f64(c, "fit_X", 1, 2, xs, 1, &n->u.knn.X)))
        return rc;
    const size_t N = xs[0];
    n->u.knn.n = N;
    if (n->u.knn.k == 0 || n->u.knn.k > N)
        return trove__model_fail(c, "model.n_neighbors %zu: need 1..%zu (the rows of 'fit_X')",
                                 n->u.knn.k, N);
    if (n->task == TASK_CLASSIFICATION) {
        int64_t *yi = NULL;
        size_t ys[1] = {N};
        if ((rc = trove__tensor_i64(c, "y", 1, 1, ys, 0, &yi)))
            return rc;
        n->u.knn.y = trove__malloc(c->a, N * sizeof(double));
        if (!n->u.knn.y) {
            trove__free(c->a, yi);
            return nomem(c);
        }
        for (size_t i = 0; i < N; i++) {
            if (yi[i] < 0 || (uint64_t)yi[i] >= n->n_classes) {
                long long bad = (long long)yi[i];
                trove__free(c->a, yi);
                return trove__model_fail(c, "tensor 'y'[%zu] = %lld is not a class index "
                                            "(0..%zu)", i, bad, n->n_classes - 1);
            }
            n->u.knn.y[i] = (double)yi[i];
        }
        trove__free(c->a, yi);
        n->n_raw = n->n_classes; /* raw: the class probabilities */
    } else {
        size_t no;
        if ((rc = trove__meta_size(c, cfg, "n_outputs", 0, 1, &no)))
            return rc;
        if (no == 0)
            return trove__model_fail(c, "model.n_outputs is 0");
        size_t ys[2] = {N, no};
        if ((rc = trove__tensor_f64(c, "y", 1, 2, ys, 1, &n->u.knn.y)))
            return rc;
        n->n_raw = no;
    }
    n->u.knn.a = c->a;
    return TROVE_OK;
}

/* (distance, index) order: ties go to the lower training index */
static int knn_less(double da, double ia, double db, double ib)
{
    return da < db || (da == db && ia < ib);
}

static int run_knn(const mnode *n, const double *in, size_t R, double *out, trove_error *err)
{
    const size_t d = n->n_in, N = n->u.knn.n, k = n->u.knn.k, K = n->n_raw;
    double *tmp = trove__malloc(n->u.knn.a, 3 * k * sizeof(double));
    if (!tmp)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    double *hd = tmp, *hi = tmp + k, *wt = tmp + 2 * k; /* a max-heap of the k nearest */
    for (size_t r = 0; r < R; r++) {
        const double *x = in + r * d;
        size_t h = 0;
        for (size_t s = 0; s < N; s++) {
            const double *v = n->u.knn.X + s * d;
            double dist = 0;
            if (n->u.knn.manhattan)
                for (size_t i = 0; i < d; i++)
                    dist += fabs(x[i] - v[i]);
            else
                for (size_t i = 0; i < d; i++) {
                    double t = x[i] - v[i];
                    dist += t * t;
                }
            if (isnan(dist))
                dist = INFINITY; /* a NaN input is as far as can be, never a crash */
            const double si = (double)s;
            size_t at;
            if (h < k) {
                at = h++;
                while (at > 0 && knn_less(hd[(at - 1) / 2], hi[(at - 1) / 2], dist, si)) {
                    hd[at] = hd[(at - 1) / 2];
                    hi[at] = hi[(at - 1) / 2];
                    at = (at - 1) / 2;
                }
            } else {
                if (!knn_less(dist, si, hd[0], hi[0]))
                    continue;
                at = 0;
                for (;;) {
                    size_t l = 2 * at + 1, big = at;
                    double bd = dist, bi = si;
                    if (l < k && knn_less(bd, bi, hd[l], hi[l])) {
                        big = l;
                        bd = hd[l];
                        bi = hi[l];
                    }
                    if (l + 1 < k && knn_less(bd, bi, hd[l + 1], hi[l + 1]))
                        big = l + 1;
                    if (big == at)
                        break;
                    hd[at] = hd[big];
                    hi[at] = hi[big];
                    at = big;
                }
            }
            hd[at] = dist;
            hi[at] = si;
        }
        /* heap -> ascending (distance, index): insertion sort, k is small */
        for (size_t i = 1; i < k; i++) {
            double a = hd[i], b = hi[i];
            size_t j = i;
            for (; j > 0 && knn_less(a, b, hd[j - 1], hi[j - 1]); j--) {
                hd[j] = hd[j - 1];
                hi[j] = hi[j - 1];
            }
            hd[j] = a;
            hi[j] = b;
        }
        /* weights: sklearn's _get_weights (1/dist; rows with an exact match weigh only those) */
        int zero = 0;
        for (size_t i = 0; i < k; i++) {
            if (!n->u.knn.manhattan)
                hd[i] = sqrt(hd[i]);
            zero |= hd[i] == 0;
        }
        for (size_t i = 0; i < k; i++)
            wt[i] = !n->u.knn.distance ? 1.0 : zero ? (hd[i] == 0 ? 1.0 : 0.0) : 1.0 / hd[i];
        double *o = out + r * K;
        if (n->task == TASK_CLASSIFICATION) {
            for (size_t j = 0; j < K; j++)
                o[j] = 0;
            for (size_t i = 0; i < k; i++)
                o[(size_t)n->u.knn.y[(size_t)hi[i]]] += wt[i];
            double norm = trove__np_sum(o, K);
            if (norm == 0.0)
                norm = 1.0;
            for (size_t j = 0; j < K; j++)
                o[j] /= norm;
            continue;
        }
        /* regression: np.mean over the neighbours (or sum(y * w) / sum(w)); numpy sums a
         * [rows, k, n_outputs] gather along k in order when n_outputs > 1, pairwise otherwise */
        double den = n->u.knn.distance ? trove__np_sum(wt, k) : (double)k;
        for (size_t j = 0; j < K; j++) {
            for (size_t i = 0; i < k; i++)
                hd[i] = n->u.knn.y[(size_t)hi[i] * K + j] * (n->u.knn.distance ? wt[i] : 1.0);
            double sum = 0;
            if (K > 1 && !n->u.knn.distance)
                for (size_t i = 0; i < k; i++)
                    sum += hd[i];
            else
                sum = trove__np_sum(hd, k);
            o[j] = sum / den;
        }
    }
    trove__free(n->u.knn.a, tmp);
    return TROVE_OK;
}

/* ---- label_encoder -------------------------------------------------------------------------- */

int trove__bind_label(bindctx *c, const trove_value *cfg, mnode *n)
{
    const trove_value *cls = trove_value_get(cfg, "classes");
    size_t K = trove_value_count(cls);
    if (trove_value_type_of(cls) != TROVE_VALUE_ARRAY || K == 0 || K > TROVE_MODEL_MAX_WIDTH)
        return trove__model_fail(c, "model.classes must be a non-empty array of labels");
    if (n->n_in != 1)
        return trove__model_fail(c, "a label_encoder takes 1 feature, not %zu", n->n_in);
    n->u.lab.n = K;
    const char *s0;
    if (trove_value_get_string(trove_value_at(cls, 0), &s0, NULL) == TROVE_OK) {
        n->u.lab.text = 1; /* text labels: the input is the code (trove_model_text_code) */
        for (size_t i = 0; i < K; i++)
            if (trove_value_get_string(trove_value_at(cls, i), &s0, NULL))
                return trove__model_fail(c, "model.classes[%zu]: all text or all numbers", i);
        n->vocab = cls;
    } else {
        n->u.lab.vals = trove__malloc(c->a, K * sizeof(double));
        if (!n->u.lab.vals)
            return nomem(c);
        for (size_t i = 0; i < K; i++) {
            const trove_value *v = trove_value_at(cls, i);
            int b;
            if (trove_value_get_bool(v, &b) == TROVE_OK)
                n->u.lab.vals[i] = b;
            else if (trove_value_get_float(v, &n->u.lab.vals[i]) ||
                     !isfinite(n->u.lab.vals[i]))
                return trove__model_fail(c, "model.classes[%zu]: all text or all finite "
                                            "numbers", i);
            if (i && !(n->u.lab.vals[i - 1] < n->u.lab.vals[i]))
                return trove__model_fail(c, "model.classes must be strictly increasing (at "
                                            "%zu)", i);
        }
    }
    n->n_raw = 1;
    return TROVE_OK;
}

static int run_label(const mnode *n, const double *in, size_t R, double *out, size_t row0,
                     trove_error *err)
{
    for (size_t r = 0; r < R; r++) {
        double v = in[r];
        if (n->u.lab.text) {
            if (!(v >= 0 && v < (double)n->u.lab.n) || v != floor(v))
                return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                                   "row %zu: unknown label (text code %.17g; the encoder has "
                                   "%zu labels)", row0 + r, v, n->u.lab.n);
            out[r] = v;
            continue;
        }
        size_t lo = 0, hi = n->u.lab.n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (n->u.lab.vals[mid] < v)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == n->u.lab.n || n->u.lab.vals[lo] != v)
            return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                               "row %zu: label %.17g is not one of the encoder's classes",
                               row0 + r, v);
        out[r] = (double)lo;
    }
    return TROVE_OK;
}

/* ---- text inputs ---------------------------------------------------------------------------- */

/* onehot's model.vocabulary: per feature null (numbers) or the text categories, whose codes
 * 0..k-1 must then be that feature's categories. */
int trove__bind_vocab(bindctx *c, const trove_value *cfg, mnode *n)
{
    const trove_value *voc = trove_value_get(cfg, "vocabulary");
    if (!voc || trove_value_type_of(voc) == TROVE_VALUE_NULL)
        return TROVE_OK;
    if (trove_value_type_of(voc) != TROVE_VALUE_ARRAY || trove_value_count(voc) != n->n_in)
        return trove__model_fail(c, "model.vocabulary must be an array of %zu entries (null or "
                                    "an array of strings per feature)", n->n_in);
    if (!(n->u.oh.text = trove__calloc(c->a, n->n_in, 1)))
        return nomem(c);
    for (size_t j = 0; j < n->n_in; j++) {
        const trove_value *v = trove_value_at(voc, j);
        if (trove_value_type_of(v) == TROVE_VALUE_NULL)
            continue;
        n->u.oh.text[j] = 1;
        size_t k = trove_value_count(v), lo = n->u.oh.offs[j], hi = n->u.oh.offs[j + 1];
        if (trove_value_type_of(v) != TROVE_VALUE_ARRAY || k != hi - lo)
            return trove__model_fail(c, "model.vocabulary[%zu]: need %zu strings (the feature's "
                                        "categories)", j, hi - lo);
        for (size_t i = 0; i < k; i++) {
            const char *str;
            if (trove_value_get_string(trove_value_at(v, i), &str, NULL))
                return trove__model_fail(c, "model.vocabulary[%zu][%zu] is not a string", j, i);
            if (n->u.oh.cats[lo + i] != (double)i)
                return trove__model_fail(c, "tensor 'categories': text feature %zu must hold its "
                                            "codes 0..%zu", j, k - 1);
        }
    }
    n->vocab = voc;
    return TROVE_OK;
}

/* ---- dispatch -------------------------------------------------------------------------------- */

int trove__run_raw_more(const mnode *n, const double *in, size_t R, double *out, double *tmp,
                        size_t row0, trove_error *err)
{
    switch (n->kind) {
    case K_SVM: return run_svm(n, in, R, out, err);
    case K_NB: return run_nb(n, in, R, out, tmp, row0, err);
    case K_KNN: return run_knn(n, in, R, out, err);
    case K_LABEL: return run_label(n, in, R, out, row0, err);
    default: break;
    }
    return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "internal: kind in run_raw_more");
}

static size_t argmax_first(const double *v, size_t k)
{
    size_t best = 0;
    for (size_t j = 1; j < k; j++)
        if (v[j] > v[best])
            best = j;
    return best;
}

int trove__finish_more(const trove_allocator *a, const mnode *n, int op, const double *raw,
                       size_t R, double *out, trove_error *err)
{
    const size_t K = n->n_classes;
    if (n->kind == K_SVM)
        return finish_svm(a, n, op, raw, R, out, err);
    if (op == OP_PREDICT) { /* nb: argmax of the joint log likelihood; knn: of the votes */
        for (size_t r = 0; r < R; r++)
            out[r] = (double)argmax_first(raw + r * K, K);
        return TROVE_OK;
    }
    if (n->kind == K_KNN) {
        memcpy(out, raw, R * K * sizeof(double));
        return TROVE_OK;
    }
    /* nb: exp(jll - logsumexp(jll)), scipy's logsumexp */
    for (size_t r = 0; r < R; r++) {
        const double *j = raw + r * K;
        double *o = out + r * K;
        double mx = j[argmax_first(j, K)];
        if (!isfinite(mx))
            mx = 0;
        for (size_t k = 0; k < K; k++)
            o[k] = exp(j[k] - mx);
        double lse = log(trove__np_sum(o, K)) + mx;
        for (size_t k = 0; k < K; k++)
            o[k] = exp(j[k] - lse);
    }
    return TROVE_OK;
}

size_t trove__outputs_more(const mnode *n, int op)
{
    if (n->kind == K_LABEL || n->kind == K_COLUMNS)
        return op == 3 ? 1 : 0;
    if (n->kind == K_KMEANS) /* the nearest centre, or the distances to every centre */
        return op == OP_PREDICT ? 1 : op == 3 ? n->n_raw : 0;
    if (n->kind == K_DECOMP || n->kind == K_POLY)
        return op == 3 ? n->n_raw : 0;
    if (n->task == TASK_REGRESSION)
        return op == OP_PREDICT ? n->n_raw : 0;
    const size_t K = n->n_classes;
    switch (op) {
    case OP_PREDICT: return 1;
    case OP_PROBA: return n->kind != K_SVM || n->u.svm.pa ? K : 0;
    case OP_DECISION:
        if (n->kind != K_SVM)
            return 0;
        return K == 2 ? 1 : n->u.svm.ovr ? K : n->u.svm.n_pairs;
    default: return 0;
    }
}

void trove__node_free_more(const trove_allocator *a, mnode *n)
{
    switch (n->kind) {
    case K_SVM:
        trove__free(a, n->u.svm.sv);
        trove__free(a, n->u.svm.coef);
        trove__free(a, n->u.svm.icpt);
        trove__free(a, n->u.svm.pa);
        trove__free(a, n->u.svm.pb);
        trove__free(a, n->u.svm.start);
        trove__free(a, n->u.svm.count);
        break;
    case K_NB:
        trove__free(a, n->u.nb.theta);
        trove__free(a, n->u.nb.var);
        trove__free(a, n->u.nb.logprior);
        trove__free(a, n->u.nb.cst);
        trove__free(a, n->u.nb.w);
        trove__free(a, n->u.nb.bias);
        trove__free(a, n->u.nb.offs);
        break;
    case K_KNN:
        trove__free(a, n->u.knn.X);
        trove__free(a, n->u.knn.y);
        break;
    case K_LABEL: trove__free(a, n->u.lab.vals); break;
    default: break;
    }
}
