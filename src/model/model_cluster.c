/* model_cluster.c: the kmeans, decomposition and polynomial kinds (docs/MODELS.md 2): schema
 * validation and evaluation in scikit-learn's operation order (KMeans/MiniBatchKMeans,
 * PCA/TruncatedSVD, PolynomialFeatures). */
#include <math.h>
#include <string.h>

#include "model/model_internal.h"

#define ANY SIZE_MAX

static int nomem(bindctx *c)
{
    return trove__fail(c->err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
}

/* ---- kmeans ------------------------------------------------------------------------------- */

int trove__bind_kmeans(bindctx *c, const trove_value *cfg, mnode *n)
{
    size_t cs[2] = {ANY, n->n_in};
    int rc = trove__tensor_f64(c, "centers", 1, 2, cs, 1, &n->u.km.c);
    if (rc)
        return rc;
    const size_t k = cs[0], d = n->n_in;
    if (k == 0 || k > TROVE_MODEL_MAX_WIDTH)
        return trove__model_fail(c, "tensor 'centers' has %zu rows: need 1..%u clusters", k,
                                 TROVE_MODEL_MAX_WIDTH);
    size_t nc;
    if ((rc = trove__meta_size(c, cfg, "n_clusters", 0, k, &nc)))
        return rc;
    if (nc != k)
        return trove__model_fail(c, "model.n_clusters %zu but tensor 'centers' has %zu rows", nc,
                                 k);
    n->u.km.cn = trove__malloc(c->a, k * sizeof(double));
    if (!n->u.km.cn)
        return nomem(c);
    for (size_t j = 0; j < k; j++) { /* squared norms, summed in input order */
        const double *v = n->u.km.c + j * d;
        double s = 0;
        for (size_t i = 0; i < d; i++)
            s += v[i] * v[i];
        if (!isfinite(s))
            return trove__model_fail(c, "tensor 'centers' row %zu: squared norm overflows", j);
        n->u.km.cn[j] = s;
    }
    n->n_raw = k;   /* transform: the distance to each centre */
    n->scratch = k; /* predict: the k partial distances of a row */
    return TROVE_OK;
}

/* x . c_j for every centre, summed in input order (the reference BLAS's order). */
static void km_dots(const mnode *n, const double *x, double *dot)
{
    const size_t k = n->n_raw, d = n->n_in;
    for (size_t j = 0; j < k; j++) {
        const double *v = n->u.km.c + j * d;
        double s = 0;
        for (size_t i = 0; i < d; i++)
            s += x[i] * v[i];
        dot[j] = s;
    }
}

void trove__kmeans_labels(const mnode *n, const double *in, size_t R, double *out, double *tmp)
{
    /* sklearn's _labels_inertia (Lloyd's chunk): |c_j|^2 - 2 x.c_j (|x|^2 left out: it does not
     * change the argmin), the first minimum wins (strict <) */
    const size_t k = n->n_raw, d = n->n_in;
    for (size_t r = 0; r < R; r++) {
        km_dots(n, in + r * d, tmp);
        size_t best = 0;
        double bd = -2.0 * tmp[0] + n->u.km.cn[0];
        for (size_t j = 1; j < k; j++) {
            double v = -2.0 * tmp[j] + n->u.km.cn[j];
            if (v < bd) {
                bd = v;
                best = j;
            }
        }
        out[r] = (double)best;
    }
}

static void run_kmeans(const mnode *n, const double *in, size_t R, double *out)
{
    /* sklearn's euclidean_distances(X, centers): d = -2 X.C^T; d += |x|^2; d += |c|^2;
     * max(d, 0); sqrt */
    const size_t k = n->n_raw, d = n->n_in;
    for (size_t r = 0; r < R; r++) {
        const double *x = in + r * d;
        double *o = out + r * k, xx = 0;
        for (size_t i = 0; i < d; i++)
            xx += x[i] * x[i];
        km_dots(n, x, o);
        for (size_t j = 0; j < k; j++) {
            double t = -2.0 * o[j];
            t += xx;
            t += n->u.km.cn[j];
            o[j] = sqrt(t < 0 ? 0.0 : t); /* NaN stays NaN, as np.maximum keeps it */
        }
    }
}

/* ---- decomposition ------------------------------------------------------------------------ */

int trove__bind_decomp(bindctx *c, const trove_value *cfg, mnode *n)
{
    size_t cs[2] = {ANY, n->n_in};
    int rc = trove__tensor_f64(c, "components", 1, 2, cs, 1, &n->u.dec.comp);
    if (rc)
        return rc;
    const size_t k = cs[0];
    if (k == 0 || k > TROVE_MODEL_MAX_WIDTH)
        return trove__model_fail(c, "tensor 'components' has %zu rows: need 1..%u components", k,
                                 TROVE_MODEL_MAX_WIDTH);
    size_t ms[1] = {n->n_in};
    if ((rc = trove__tensor_f64(c, "mean", 0, 1, ms, 1, &n->u.dec.mean)))
        return rc;
    int whiten = 0;
    const trove_value *wv = trove_value_get(cfg, "whiten");
    if (wv && trove_value_get_bool(wv, &whiten))
        return trove__model_fail(c, "model.whiten must be a boolean");
    if (whiten) {
        size_t es[1] = {k};
        if ((rc = trove__tensor_f64(c, "explained_variance", 1, 1, es, 1, &n->u.dec.sd)))
            return rc;
        for (size_t j = 0; j < k; j++) {
            if (!(n->u.dec.sd[j] > 0))
                return trove__model_fail(c, "tensor 'explained_variance'[%zu] = %g: whitening "
                                            "divides by its square root, it must be > 0", j,
                                         n->u.dec.sd[j]);
            n->u.dec.sd[j] = sqrt(n->u.dec.sd[j]);
        }
    }
    n->n_raw = k;
    return TROVE_OK;
}

static void run_decomp(const mnode *n, const double *in, size_t R, double *out)
{
    /* sklearn's _BasePCA.transform: X - mean_, then X . components_^T (summed in input order),
     * then / sqrt(explained_variance_) when whitening; TruncatedSVD: the product only */
    const size_t k = n->n_raw, d = n->n_in;
    const double *m = n->u.dec.mean;
    for (size_t r = 0; r < R; r++) {
        const double *x = in + r * d;
        for (size_t j = 0; j < k; j++) {
            const double *w = n->u.dec.comp + j * d;
            double s = 0;
            if (m)
                for (size_t i = 0; i < d; i++)
                    s += (x[i] - m[i]) * w[i];
            else
                for (size_t i = 0; i < d; i++)
                    s += x[i] * w[i];
            out[r * k + j] = n->u.dec.sd ? s / n->u.dec.sd[j] : s;
        }
    }
}

/* ---- dispatch ------------------------------------------------------------------------------ */

/* ---- polynomial ---------------------------------------------------------------------------- */

/* Products of at most this many factors (degree): sklearn's PolynomialFeatures goes as high as
 * memory allows; a model past this is refused rather than evaluated slowly. */
#define POLY_MAX_DEGREE 64

int trove__bind_poly(bindctx *c, const trove_value *cfg, mnode *n)
{
    (void)cfg;
    static const trove_dtype INT[] = {TROVE_INT64, TROVE_INT32, TROVE_INT16, TROVE_UINT8};
    size_t ps[2] = {ANY, n->n_in};
    tview pw;
    int rc = trove__tensor_view(c, "powers", 1, 2, ps, INT, 4, &pw);
    if (rc)
        return rc;
    const size_t k = ps[0], d = n->n_in;
    if (k == 0 || k > TROVE_MODEL_MAX_WIDTH)
        return trove__model_fail(c, "tensor 'powers' has %zu rows: need 1..%u output columns", k,
                                 TROVE_MODEL_MAX_WIDTH);
    size_t total = 0;
    for (size_t j = 0; j < k; j++) {
        int64_t deg = 0;
        for (size_t i = 0; i < d; i++) {
            int64_t p = tview_i(&pw, j * d + i);
            if (p < 0 || p > POLY_MAX_DEGREE || (deg += p) > POLY_MAX_DEGREE)
                return trove__model_fail(c, "tensor 'powers' row %zu: powers must be >= 0 and "
                                            "sum to at most %d", j, POLY_MAX_DEGREE);
        }
        total += (size_t)deg;
    }
    n->u.poly.off = trove__malloc(c->a, (k + 1) * sizeof(size_t));
    n->u.poly.fac = trove__malloc(c->a, (total ? total : 1) * sizeof(uint32_t));
    if (!n->u.poly.off || !n->u.poly.fac)
        return nomem(c);
    /* the factors from the highest column down: sklearn builds a degree-d term as
     * x[i0] * (term of degree d-1 over columns >= i0), so the lowest column multiplies last */
    size_t at = 0;
    for (size_t j = 0; j < k; j++) {
        n->u.poly.off[j] = at;
        for (size_t i = d; i-- > 0;)
            for (int64_t p = tview_i(&pw, j * d + i); p > 0; p--)
                n->u.poly.fac[at++] = (uint32_t)i;
    }
    n->u.poly.off[k] = at;
    n->n_raw = k;
    return TROVE_OK;
}

static void run_poly(const mnode *n, const double *in, size_t R, double *out)
{
    const size_t k = n->n_raw, d = n->n_in;
    const uint32_t *fac = n->u.poly.fac;
    const size_t *off = n->u.poly.off;
    for (size_t r = 0; r < R; r++) {
        const double *x = in + r * d;
        double *o = out + r * k;
        for (size_t j = 0; j < k; j++) {
            double v = 1.0; /* the bias column; 1 * x is exact */
            for (size_t q = off[j]; q < off[j + 1]; q++)
                v *= x[fac[q]];
            o[j] = v;
        }
    }
}

int trove__run_raw_cluster(const mnode *n, const double *in, size_t R, double *out)
{
    if (n->kind == K_KMEANS)
        run_kmeans(n, in, R, out);
    else if (n->kind == K_POLY)
        run_poly(n, in, R, out);
    else
        run_decomp(n, in, R, out);
    return TROVE_OK;
}

void trove__node_free_cluster(const trove_allocator *a, mnode *n)
{
    if (n->kind == K_KMEANS) {
        trove__free(a, n->u.km.c);
        trove__free(a, n->u.km.cn);
    } else if (n->kind == K_DECOMP) {
        trove__free(a, n->u.dec.comp);
        trove__free(a, n->u.dec.mean);
        trove__free(a, n->u.dec.sd);
    } else if (n->kind == K_POLY) {
        trove__free(a, n->u.poly.fac);
        trove__free(a, n->u.poly.off);
    }
}
