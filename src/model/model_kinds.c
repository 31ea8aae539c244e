/* model_kinds.c: schema validation and raw evaluation of each model kind (docs/MODELS.md 2). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "model/model_internal.h"

#define ANY SIZE_MAX

/* ---- linear ------------------------------------------------------------------------------ */

int trove__bind_linear(bindctx *c, const trove_value *cfg, mnode *n)
{
    (void)cfg;
    size_t cs[2] = {ANY, n->n_in};
    int rc = trove__tensor_f64(c, "coef", 1, 2, cs, 1, &n->u.lin.coef);
    if (rc)
        return rc;
    n->n_raw = cs[0];
    if (n->n_raw == 0 || n->n_raw > TROVE_MODEL_MAX_WIDTH)
        return trove__model_fail(c, "tensor 'coef' has %zu rows: need 1..%u outputs", n->n_raw,
                                 TROVE_MODEL_MAX_WIDTH);
    size_t is[1] = {n->n_raw};
    rc = trove__tensor_f64(c, "intercept", 1, 1, is, 1, &n->u.lin.intercept);
    if (rc)
        return rc;
    if (n->task == TASK_CLASSIFICATION) {
        if (n->link == LINK_PROBA || n->link == LINK_IDENTITY)
            return trove__model_fail(c, "model.link: a linear classifier takes logistic, "
                                        "softmax, ovr or none");
        if (n->n_raw == 1 && n->n_classes != 2)
            return trove__model_fail(c, "one output column needs 2 classes, not %zu",
                                     n->n_classes);
        if (n->n_raw > 1 && n->n_raw != n->n_classes)
            return trove__model_fail(c, "%zu output columns for %zu classes (must be equal)",
                                     n->n_raw, n->n_classes);
        if (n->n_raw == 1 && n->link == LINK_OVR)
            return trove__model_fail(c, "model.link: ovr needs one column per class");
        if (n->n_raw > 1 && n->link == LINK_LOGISTIC)
            return trove__model_fail(c, "model.link: logistic needs one output column");
    } else if (n->link != LINK_IDENTITY) {
        return trove__model_fail(c, "model.link: a linear regressor takes identity");
    }
    return TROVE_OK;
}

static void run_linear(const mnode *n, const double *in, size_t R, double *out)
{
    const size_t d = n->n_in, k = n->n_raw;
    for (size_t r = 0; r < R; r++) {
        const double *x = in + r * d;
        for (size_t j = 0; j < k; j++) {
            const double *w = n->u.lin.coef + j * d;
            /* summed in input order, then the intercept: the order of the reference BLAS
             * numpy uses here, so results are bit-identical to sklearn's (docs/MODELS.md 4);
             * rows are independent, so the core still overlaps them */
            double s = 0;
            for (size_t i = 0; i < d; i++)
                s += x[i] * w[i];
            out[r * k + j] = s + n->u.lin.intercept[j];
        }
    }
}

/* ---- scaler ------------------------------------------------------------------------------ */

int trove__bind_scaler(bindctx *c, const trove_value *cfg, mnode *n)
{
    const char *op;
    int rc = trove__meta_string(c, cfg, "op", NULL, &op);
    if (rc)
        return rc;
    size_t s[1] = {n->n_in};
    n->n_raw = n->n_in;
    if (!strcmp(op, "standardize")) {
        n->u.sc.op = SC_STANDARDIZE;
        if ((rc = trove__tensor_f64(c, "center", 1, 1, s, 1, &n->u.sc.a)) ||
            (rc = trove__tensor_f64(c, "scale", 1, 1, s, 1, &n->u.sc.b)))
            return rc;
        for (size_t i = 0; i < n->n_in; i++)
            if (n->u.sc.b[i] == 0)
                return trove__model_fail(c, "tensor 'scale'[%zu] is 0 (division by zero)", i);
    } else if (!strcmp(op, "minmax")) {
        n->u.sc.op = SC_MINMAX;
        if ((rc = trove__tensor_f64(c, "scale", 1, 1, s, 1, &n->u.sc.a)) ||
            (rc = trove__tensor_f64(c, "offset", 1, 1, s, 1, &n->u.sc.b)))
            return rc;
        const trove_value *clip = trove_value_get(cfg, "clip");
        if (clip && trove_value_type_of(clip) != TROVE_VALUE_NULL) {
            if (trove_value_count(clip) != 2 ||
                trove_value_get_float(trove_value_at(clip, 0), &n->u.sc.lo) ||
                trove_value_get_float(trove_value_at(clip, 1), &n->u.sc.hi) ||
                !(n->u.sc.lo <= n->u.sc.hi))
                return trove__model_fail(c, "model.clip must be [lo, hi] numbers with lo <= hi");
            n->u.sc.clip = 1;
        }
    } else if (!strcmp(op, "normalize")) {
        const char *norm;
        if ((rc = trove__meta_string(c, cfg, "norm", "l2", &norm)))
            return rc;
        n->u.sc.op = SC_NORMALIZE;
        if (!strcmp(norm, "l1"))
            n->u.sc.norm = NORM_L1;
        else if (!strcmp(norm, "l2"))
            n->u.sc.norm = NORM_L2;
        else if (!strcmp(norm, "max"))
            n->u.sc.norm = NORM_MAX;
        else
            return trove__model_fail(c, "model.norm '%s' unknown (l1, l2 or max)", norm);
    } else if (!strcmp(op, "binarize")) {
        n->u.sc.op = SC_BINARIZE;
        if ((rc = trove__meta_float(c, cfg, "threshold", 0, 0.0, &n->u.sc.thr)))
            return rc;
        if (isnan(n->u.sc.thr))
            return trove__model_fail(c, "model.threshold is NaN");
    } else {
        return trove__model_fail(c, "model.op '%s' unknown (standardize, minmax, normalize or "
                                    "binarize)", op);
    }
    return TROVE_OK;
}

/* sklearn.preprocessing.normalize of one row: l1 sum |x| (numpy's pairwise sum), l2
 * sqrt(sum x^2), max max |x|; a zero norm divides by 1. */
static void normalize_row(int norm, const double *x, size_t d, double *y)
{
    double s = 0;
    if (norm == NORM_MAX) {
        for (size_t i = 0; i < d; i++)
            s = fabs(x[i]) > s || isnan(x[i]) ? fabs(x[i]) : s;
    } else {
        for (size_t i = 0; i < d; i++)
            y[i] = norm == NORM_L1 ? fabs(x[i]) : x[i] * x[i];
        s = trove__np_sum(y, d);
        if (norm == NORM_L2)
            s = sqrt(s);
    }
    if (s == 0)
        s = 1;
    for (size_t i = 0; i < d; i++)
        y[i] = x[i] / s;
}

static void run_scaler(const mnode *n, const double *in, size_t R, double *out)
{
    const size_t d = n->n_in;
    const double *a = n->u.sc.a, *b = n->u.sc.b;
    for (size_t r = 0; r < R; r++) {
        const double *x = in + r * d;
        double *y = out + r * d;
        switch (n->u.sc.op) {
        case SC_MINMAX:
            for (size_t i = 0; i < d; i++)
                y[i] = x[i] * a[i] + b[i]; /* sklearn: X *= scale_; X += min_ */
            if (n->u.sc.clip)
                for (size_t i = 0; i < d; i++)
                    y[i] = y[i] < n->u.sc.lo ? n->u.sc.lo : y[i] > n->u.sc.hi ? n->u.sc.hi : y[i];
            break;
        case SC_NORMALIZE:
            normalize_row(n->u.sc.norm, x, d, y);
            break;
        case SC_BINARIZE: /* sklearn: X > threshold -> 1, else 0 (NaN: 0) */
            for (size_t i = 0; i < d; i++)
                y[i] = x[i] > n->u.sc.thr ? 1.0 : 0.0;
            break;
        default:
            for (size_t i = 0; i < d; i++)
                y[i] = (x[i] - a[i]) / b[i];
        }
    }
}

/* ---- imputer ----------------------------------------------------------------------------- */

int trove__bind_imputer(bindctx *c, const trove_value *cfg, mnode *n)
{
    size_t s[1] = {n->n_in};
    int rc = trove__tensor_f64(c, "statistics", 1, 1, s, 0, &n->u.imp.stats);
    if (rc)
        return rc;
    const trove_value *mv = trove_value_get(cfg, "missing_value");
    const char *str;
    if (trove_value_get_string(mv, &str, NULL) == TROVE_OK && !strcmp(str, "nan")) {
        n->u.imp.miss_nan = 1;
    } else if (trove_value_get_float(mv, &n->u.imp.missing) == TROVE_OK) {
        n->u.imp.miss_nan = 0;
    } else {
        return trove__model_fail(c, "model.missing_value must be a number or \"nan\"");
    }
    n->u.imp.keep = trove__calloc(c->a, n->n_in ? n->n_in : 1, sizeof(size_t));
    if (!n->u.imp.keep)
        return trove__fail(c->err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n->n_in; i++) {
        if (isinf(n->u.imp.stats[i]))
            return trove__model_fail(c, "tensor 'statistics'[%zu] is infinite", i);
        if (!isnan(n->u.imp.stats[i]))
            n->u.imp.keep[k++] = i;
    }
    n->n_raw = k;
    return TROVE_OK;
}

static void run_imputer(const mnode *n, const double *in, size_t R, double *out)
{
    for (size_t r = 0; r < R; r++) {
        const double *x = in + r * n->n_in;
        double *y = out + r * n->n_raw;
        for (size_t j = 0; j < n->n_raw; j++) {
            size_t i = n->u.imp.keep[j];
            double v = x[i];
            int miss = n->u.imp.miss_nan ? isnan(v) : v == n->u.imp.missing;
            y[j] = miss ? n->u.imp.stats[i] : v;
        }
    }
}

/* ---- onehot ------------------------------------------------------------------------------ */

int trove__bind_onehot(bindctx *c, const trove_value *cfg, mnode *n)
{
    const char *hu;
    int rc = trove__meta_string(c, cfg, "handle_unknown", "error", &hu);
    if (rc)
        return rc;
    if (!strcmp(hu, "ignore"))
        n->u.oh.ignore = 1;
    else if (strcmp(hu, "error"))
        return trove__model_fail(c, "model.handle_unknown '%s' unknown (error or ignore)", hu);
    size_t cs[1] = {ANY};
    if ((rc = trove__tensor_f64(c, "categories", 1, 1, cs, 1, &n->u.oh.cats)))
        return rc;
    size_t os[1] = {n->n_in + 1};
    int64_t *offs = NULL;
    if ((rc = trove__tensor_i64(c, "offsets", 1, 1, os, 0, &offs)))
        return rc;
    n->u.oh.offs = (size_t *)offs; /* same size on LP64; checked below */
    _Static_assert(sizeof(size_t) == sizeof(int64_t), "size_t is 64-bit");
    if (offs[0] != 0 || (uint64_t)offs[n->n_in] != cs[0])
        return trove__model_fail(c, "tensor 'offsets' must run from 0 to %zu categories", cs[0]);
    for (size_t j = 0; j < n->n_in; j++) {
        if (offs[j + 1] <= offs[j])
            return trove__model_fail(c, "tensor 'offsets': feature %zu has no category", j);
        for (int64_t k = offs[j] + 1; k < offs[j + 1]; k++)
            if (!(n->u.oh.cats[k - 1] < n->u.oh.cats[k]))
                return trove__model_fail(c, "tensor 'categories': feature %zu is not strictly "
                                            "increasing at %lld", j, (long long)k);
    }
    n->n_raw = cs[0];
    if (n->n_raw > TROVE_MODEL_MAX_WIDTH)
        return trove__model_fail(c, "%zu categories: more than %u", n->n_raw,
                                 TROVE_MODEL_MAX_WIDTH);
    /* optional 'drop' [n_features]: -1, or the feature's category (local index) that has no
     * column (OneHotEncoder(drop=...)): that value encodes as all zeros */
    int64_t *drop = NULL;
    size_t ds[1] = {n->n_in};
    if ((rc = trove__tensor_i64(c, "drop", 0, 1, ds, 0, &drop)) || !drop)
        return rc;
    n->u.oh.outpos = trove__malloc(c->a, (n->n_raw ? n->n_raw : 1) * sizeof(size_t));
    if (!n->u.oh.outpos) {
        trove__free(c->a, drop);
        return trove__fail(c->err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    }
    size_t col = 0;
    for (size_t j = 0; j < n->n_in; j++) {
        size_t k = (size_t)(offs[j + 1] - offs[j]);
        if (drop[j] < -1 || (drop[j] >= 0 && (uint64_t)drop[j] >= k)) {
            long long bad = (long long)drop[j];
            trove__free(c->a, drop);
            return trove__model_fail(c, "tensor 'drop'[%zu] = %lld: need -1 or a category "
                                        "index below %zu", j, bad, k);
        }
        for (size_t i = 0; i < k; i++)
            n->u.oh.outpos[(size_t)offs[j] + i] =
                drop[j] >= 0 && (size_t)drop[j] == i ? SIZE_MAX : col++;
    }
    trove__free(c->a, drop);
    if (col == 0)
        return trove__model_fail(c, "tensor 'drop' leaves no output column");
    n->n_raw = col;
    return TROVE_OK;
}

static int run_onehot(const mnode *n, const double *in, size_t R, double *out, size_t row0,
                      trove_error *err)
{
    memset(out, 0, R * n->n_raw * sizeof(double));
    for (size_t r = 0; r < R; r++) {
        for (size_t j = 0; j < n->n_in; j++) {
            double v = in[r * n->n_in + j];
            size_t lo = n->u.oh.offs[j], hi = n->u.oh.offs[j + 1];
            while (lo < hi) { /* binary search in the sorted categories */
                size_t mid = lo + (hi - lo) / 2;
                if (n->u.oh.cats[mid] < v)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo < n->u.oh.offs[j + 1] && n->u.oh.cats[lo] == v)
            {
                size_t o = n->u.oh.outpos ? n->u.oh.outpos[lo] : lo;
                if (o != SIZE_MAX)
                    out[r * n->n_raw + o] = 1.0;
            }
            else if (!n->u.oh.ignore && n->u.oh.text && n->u.oh.text[j])
                return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                                   "row %zu, column %zu: unknown category (text code %.17g: not "
                                   "in the vocabulary; handle_unknown is \"error\")", row0 + r,
                                   j, v);
            else if (!n->u.oh.ignore)
                return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                                   "row %zu, column %zu: unknown category %.17g "
                                   "(handle_unknown is \"error\")", row0 + r, j, v);
        }
    }
    return TROVE_OK;
}

/* ---- tree_ensemble ----------------------------------------------------------------------- */

/* Large arrays (tree nodes, leaf values) are 2 MiB-aligned and offered to transparent huge
 * pages: on a VM where every page fault is expensive, a 3 MiB forest faults in 2 pages, not 800
 * (trove predict's first prediction is mostly page faults). Free with trove__free_aligned. */
#define HUGE_BYTES ((size_t)2 << 20)
static void *big_alloc(const trove_allocator *a, size_t n)
{
    if (n < HUGE_BYTES / 2)
        return trove__malloc_aligned(a, n ? n : 1, 64);
    size_t r = (n + HUGE_BYTES - 1) & ~(HUGE_BYTES - 1);
    void *p = trove__malloc_aligned(a, r, HUGE_BYTES);
#ifdef MADV_HUGEPAGE
    if (p)
        (void)madvise(p, r, MADV_HUGEPAGE); /* advice only: failure changes nothing */
#endif
    return p;
}

int trove__bind_trees(bindctx *c, const trove_value *cfg, mnode *n)
{
    int rc;
    const char *agg, *cmp;
    if ((rc = trove__meta_size(c, cfg, "n_outputs", 1, 0, &n->n_raw)) ||
        (rc = trove__meta_string(c, cfg, "aggregate", "sum", &agg)) ||
        (rc = trove__meta_string(c, cfg, "compare", "float64", &cmp)) ||
        (rc = trove__meta_float(c, cfg, "scale", 0, 1.0, &n->u.tr.scale)) ||
        (rc = trove__meta_float(c, cfg, "temperature", 0, 1.0, &n->temperature)))
        return rc;
    if (!(n->temperature > 0) || !isfinite(n->temperature))
        return trove__model_fail(c, "model.temperature must be a positive finite number");
    if (n->temperature != 1.0 && n->link != LINK_SOFTMAX && n->link != LINK_LOGISTIC)
        return trove__model_fail(c, "model.temperature applies to the softmax and logistic "
                                    "links only");
    if (n->n_raw == 0 || n->n_raw > TROVE_MODEL_MAX_WIDTH)
        return trove__model_fail(c, "model.n_outputs %zu out of range", n->n_raw);
    if (!strcmp(agg, "mean"))
        n->u.tr.mean = 1;
    else if (strcmp(agg, "sum"))
        return trove__model_fail(c, "model.aggregate '%s' unknown (sum or mean)", agg);
    if (!strcmp(cmp, "float32"))
        n->u.tr.cmp32 = 1;
    else if (strcmp(cmp, "float64"))
        return trove__model_fail(c, "model.compare '%s' unknown (float32 or float64)", cmp);
    if (!isfinite(n->u.tr.scale))
        return trove__model_fail(c, "model.scale is not finite");
    if (n->task == TASK_CLASSIFICATION) {
        int ok = (n->link == LINK_PROBA && n->n_raw == n->n_classes) ||
                 (n->link == LINK_LOGISTIC && n->n_raw == 1 && n->n_classes == 2) ||
                 (n->link == LINK_SOFTMAX && n->n_raw == n->n_classes);
        if (!ok)
            return trove__model_fail(c, "model.link with %zu outputs and %zu classes: need "
                                        "none/softmax with one output per class or logistic "
                                        "with 1 output and 2 classes", n->n_raw, n->n_classes);
    } else if (n->link != LINK_IDENTITY && n->link != LINK_EXP && n->link != LINK_LOGISTIC) {
        return trove__model_fail(c, "model.link: a tree regressor takes identity, exp or "
                                    "logistic");
    }

    /* Views of the file's arrays: nothing is copied but the packed nodes and leaf values. */
    static const trove_dtype IDX[] = {TROVE_INT32, TROVE_INT64, TROVE_INT16};
    static const trove_dtype FLT[] = {TROVE_FLOAT64, TROVE_FLOAT32};
    static const trove_dtype BYTE[] = {TROVE_UINT8, TROVE_BOOL};
    tview offs, feat, left, right, dl, thr, val, outc;
    size_t os[1] = {ANY};
    if ((rc = trove__tensor_view(c, "trees/offsets", 1, 1, os, IDX, 2, &offs))) /* 32/64 */
        return rc;
    if (os[0] < 2)
        return trove__model_fail(c, "tensor 'trees/offsets' needs at least 2 entries (1 tree)");
    const size_t T = os[0] - 1;
    const int64_t total = tview_i(&offs, T);
    if (tview_i(&offs, 0) != 0 || total < 0 || total > INT32_MAX)
        return trove__model_fail(c, "tensor 'trees/offsets' must start at 0 and end at the node "
                                    "count (at most %d)", INT32_MAX);
    size_t maxsz = 0;
    for (size_t t = 0; t < T; t++) {
        int64_t a = tview_i(&offs, t), b = tview_i(&offs, t + 1);
        if (b <= a)
            return trove__model_fail(c, "tensor 'trees/offsets': tree %zu is empty or offsets "
                                        "decrease", t);
        if ((size_t)(b - a) > maxsz)
            maxsz = (size_t)(b - a);
    }
    const size_t N = (size_t)total;
    size_t ns[1] = {N}, vs[2] = {N, ANY}, ts[1] = {T};
    if ((rc = trove__tensor_view(c, "trees/feature", 1, 1, ns, IDX, 3, &feat)) ||
        (rc = trove__tensor_view(c, "trees/left", 1, 1, ns, IDX, 3, &left)) ||
        (rc = trove__tensor_view(c, "trees/right", 1, 1, ns, IDX, 3, &right)) ||
        (rc = trove__tensor_view(c, "trees/default_left", 0, 1, ns, BYTE, 2, &dl)) ||
        (rc = trove__tensor_view(c, "trees/threshold", 1, 1, ns, FLT, 2, &thr)) ||
        (rc = trove__tensor_view(c, "trees/value", 1, 2, vs, FLT, 2, &val)))
        return rc;
    const size_t W = vs[1];
    if (W != n->n_raw && W != 1)
        return trove__model_fail(c, "tensor 'trees/value' has %zu columns: need 1 or n_outputs "
                                    "(%zu)", W, n->n_raw);
    if ((rc = trove__tensor_view(c, "trees/output", W == 1 && n->n_raw > 1, 1, ts, IDX, 2,
                                 &outc)))
        return rc;
    size_t bs[1] = {n->n_raw};
    if ((rc = trove__tensor_f64(c, "base_score", 0, 1, bs, 1, &n->u.tr.base)))
        return rc;
    if (W && N > SIZE_MAX / sizeof(double) / W)
        return trove__model_fail(c, "tensor 'trees/value' is too large");
    n->u.tr.n_trees = T;
    n->u.tr.n_nodes = N;
    n->u.tr.width = W;
    /* without default directions, NaN goes right (NaN <= t is false) and the walk needs no
     * NaN test: leaves then split on an extra constant-0 column (0 <= +inf: stay) */
    n->u.tr.nan_right = dl.p == NULL;
    n->scratch = (n->u.tr.cmp32 || n->u.tr.nan_right) ? n->n_in + 1 : 0;
    n->u.tr.nodes = big_alloc(c->a, N * sizeof(tnode));
    n->u.tr.value = big_alloc(c->a, N * W * sizeof(double));
    n->u.tr.roots = trove__calloc(c->a, T, sizeof(size_t));
    n->u.tr.depth = trove__calloc(c->a, T, sizeof(uint32_t));
    uint16_t *depth = trove__calloc(c->a, maxsz, sizeof(uint16_t)); /* 0 = no parent yet */
    int32_t *newidx = trove__malloc(c->a, maxsz * sizeof(int32_t));
    int32_t *queue = trove__malloc(c->a, maxsz * sizeof(int32_t));
    if (!n->u.tr.nodes || !n->u.tr.value || !n->u.tr.roots || !n->u.tr.depth || !depth ||
        !newidx || !queue) {
        rc = trove__fail(c->err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory for %zu nodes",
                         N);
        goto done;
    }
    if (outc.p) {
        n->u.tr.out_col = trove__calloc(c->a, T, sizeof(size_t));
        if (!n->u.tr.out_col) {
            rc = trove__fail(c->err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
            goto done;
        }
    }
    for (size_t t = 0; t < T && rc == 0; t++) {
        const size_t lo = (size_t)tview_i(&offs, t), sz = (size_t)tview_i(&offs, t + 1) - lo;
        n->u.tr.roots[t] = lo;
        if (outc.p) {
            int64_t o = tview_i(&outc, t);
            if (o < 0 || (uint64_t)o >= n->n_raw) {
                rc = trove__model_fail(c, "tensor 'trees/output'[%zu] = %lld: not an output "
                                          "column (0..%zu)", t, (long long)o, n->n_raw - 1);
                break;
            }
            n->u.tr.out_col[t] = (size_t)o;
        }
        /* 1. validate: children after their parent (no cycle), one parent each, in range */
        memset(depth, 0, sz * sizeof(uint16_t));
        depth[0] = 1;
        uint32_t maxd = 1;
        for (size_t li = 0; li < sz; li++) {
            const size_t i = lo + li;
            if (depth[li] == 0) {
                rc = trove__model_fail(c, "tree %zu: node %zu is unreachable (no parent)", t, li);
                break;
            }
            maxd = depth[li] > maxd ? depth[li] : maxd;
            int64_t l = tview_i(&left, i), r = tview_i(&right, i);
            if (l == -1 && r == -1) {
                for (size_t k = 0; k < W; k++)
                    if (!isfinite(tview_f(&val, i * W + k))) {
                        rc = trove__model_fail(c, "tree %zu: leaf %zu has a non-finite value",
                                               t, li);
                        break;
                    }
                if (rc)
                    break;
                continue;
            }
            int64_t ch[2] = {l, r};
            for (int k = 0; k < 2 && rc == 0; k++) {
                if (ch[k] == -1) {
                    rc = trove__model_fail(c, "tree %zu: node %zu has one child (need 0 or 2)",
                                           t, li);
                } else if (ch[k] <= (int64_t)li || (uint64_t)ch[k] >= sz) {
                    rc = trove__model_fail(c, "tree %zu: node %zu has child %lld: must be after "
                                              "its parent and below %zu (cycle or out of range)",
                                           t, li, (long long)ch[k], sz);
                } else if (depth[ch[k]] != 0) {
                    rc = trove__model_fail(c, "tree %zu: node %lld has two parents", t,
                                           (long long)ch[k]);
                } else if (depth[li] >= TROVE_MODEL_MAX_DEPTH) {
                    rc = trove__model_fail(c, "tree %zu: deeper than %u levels", t,
                                           TROVE_MODEL_MAX_DEPTH);
                } else {
                    depth[ch[k]] = (uint16_t)(depth[li] + 1);
                }
            }
            if (rc)
                break;
            int64_t f = tview_i(&feat, i);
            if (f < 0 || (uint64_t)f >= n->n_in) {
                rc = trove__model_fail(c, "tree %zu: node %zu splits on feature %lld of %zu", t,
                                       li, (long long)f, n->n_in);
                break;
            }
            if (isnan(tview_f(&thr, i))) {
                rc = trove__model_fail(c, "tree %zu: node %zu has a NaN threshold", t, li);
                break;
            }
        }
        if (rc)
            break;
        n->u.tr.depth[t] = maxd - 1; /* steps from the root to the deepest leaf */
        /* 2. breadth-first relayout: the children of a node become adjacent (right = left + 1)
         * and a leaf loops onto itself (threshold +inf, NaN goes left), so a walk can take a
         * fixed number of branch-free steps. */
        size_t qh = 0, qt = 0;
        queue[qt++] = 0;
        newidx[0] = 0;
        int32_t next = 1;
        while (qh < qt) {
            int32_t li = queue[qh++];
            const size_t i = lo + (size_t)li;
            int64_t l = tview_i(&left, i), r = tview_i(&right, i);
            tnode *nd = &n->u.tr.nodes[lo + (size_t)newidx[li]];
            double *vd = n->u.tr.value + (lo + (size_t)newidx[li]) * W;
            for (size_t k = 0; k < W; k++)
                vd[k] = tview_f(&val, i * W + k);
            if (l == -1) {
                nd->v = INFINITY;
                nd->f = n->u.tr.nan_right ? TN_LEAF | (uint32_t)n->n_in : TN_LEAF | TN_DL;
                nd->left = (int32_t)(lo + (size_t)newidx[li]);
                continue;
            }
            newidx[l] = next;
            newidx[r] = next + 1;
            queue[qt++] = (int32_t)l;
            queue[qt++] = (int32_t)r;
            nd->v = tview_f(&thr, i);
            nd->f = (uint32_t)tview_i(&feat, i) | (dl.p && tview_i(&dl, i) ? TN_DL : 0);
            nd->left = (int32_t)(lo + (size_t)next);
            next += 2;
        }
    }
done:
    trove__free(c->a, depth);
    trove__free(c->a, newidx);
    trove__free(c->a, queue);
    return rc;
}

/* One step of a walk: leaves loop onto themselves, so steps past a leaf change nothing. */
static inline int32_t tstep(const tnode *nodes, int32_t i, const double *row)
{
    const tnode *nd = &nodes[i];
    double x = row[nd->f & TN_FEAT];
    /* bitwise, not ||: a data-dependent branch here mispredicts half the time */
    uint32_t le = (uint32_t)(x <= nd->v), nan_left = (uint32_t)(x != x) & (nd->f >> 31);
    return nd->left + (int32_t)(1u ^ (le | nan_left));
}

/* The step when NaN always goes right: one comparison. */
static inline int32_t tstep_nr(const tnode *nodes, int32_t i, const double *row)
{
    const tnode *nd = &nodes[i];
    return nd->left + (int32_t)!(row[nd->f & TN_FEAT] <= nd->v);
}

/* Trees walked tree-outer, row-inner over the block, so one tree's nodes stay in cache; eight
 * rows advance in lockstep for a fixed number of branch-free steps (the tree's depth), so
 * their cache misses overlap. */
#if defined(__GNUC__) && !defined(__clang__)
/* GCC turns the eight walks into SSE code with emulated gathers and spills: slower than eight
 * scalar chains, which the out-of-order core overlaps by itself. */
__attribute__((optimize("tree-vectorize")))
#endif
static void run_trees(const mnode *n, const double *in, size_t R, double *out, double *xin)
{
    const size_t d = n->n_in, K = n->n_raw, W = n->u.tr.width;
    const tnode *nodes = n->u.tr.nodes;
    const double *x = in;
    const int nr = n->u.tr.nan_right;
    const size_t dx = nr ? d + 1 : d; /* row stride of x */
    if (n->u.tr.cmp32 || nr) { /* round through float32 once per block, as sklearn casts X */
        for (size_t r = 0; r < R; r++) {
            for (size_t i = 0; i < d; i++)
                xin[r * dx + i] = n->u.tr.cmp32 ? (double)(float)in[r * d + i] : in[r * d + i];
            if (nr)
                xin[r * dx + d] = 0.0;
        }
        x = xin;
    }
    for (size_t r = 0; r < R; r++)
        for (size_t k = 0; k < K; k++)
            out[r * K + k] = n->u.tr.mean ? 0.0 : (n->u.tr.base ? n->u.tr.base[k] : 0.0);
    const double scale = n->u.tr.scale;
    /* chunks of TCHUNK rows keep their features in L1 while every tree walks them */
    enum { TCHUNK = 64 };
    for (size_t c0 = 0; c0 < R; c0 += TCHUNK) {
    const size_t c1 = R - c0 < TCHUNK ? R : c0 + TCHUNK;
    for (size_t t = 0; t < n->u.tr.n_trees; t++) {
        const int32_t root = (int32_t)n->u.tr.roots[t];
        const uint32_t D = n->u.tr.depth[t];
        const size_t col = n->u.tr.out_col ? n->u.tr.out_col[t] : 0;
        size_t r = c0;
        for (; r + 8 <= c1; r += 8) {
            const double *xr = x + r * dx;
            int32_t i0 = root, i1 = root, i2 = root, i3 = root, i4 = root, i5 = root,
                    i6 = root, i7 = root;
            if (nr) {
                for (uint32_t s = 0; s < D; s++) {
                    i0 = tstep_nr(nodes, i0, xr);
                    i1 = tstep_nr(nodes, i1, xr + dx);
                    i2 = tstep_nr(nodes, i2, xr + 2 * dx);
                    i3 = tstep_nr(nodes, i3, xr + 3 * dx);
                    i4 = tstep_nr(nodes, i4, xr + 4 * dx);
                    i5 = tstep_nr(nodes, i5, xr + 5 * dx);
                    i6 = tstep_nr(nodes, i6, xr + 6 * dx);
                    i7 = tstep_nr(nodes, i7, xr + 7 * dx);
                }
            } else {
                for (uint32_t s = 0; s < D; s++) {
                    i0 = tstep(nodes, i0, xr);
                    i1 = tstep(nodes, i1, xr + dx);
                    i2 = tstep(nodes, i2, xr + 2 * dx);
                    i3 = tstep(nodes, i3, xr + 3 * dx);
                    i4 = tstep(nodes, i4, xr + 4 * dx);
                    i5 = tstep(nodes, i5, xr + 5 * dx);
                    i6 = tstep(nodes, i6, xr + 6 * dx);
                    i7 = tstep(nodes, i7, xr + 7 * dx);
                }
            }
            const int32_t id[8] = {i0, i1, i2, i3, i4, i5, i6, i7};
            for (int q = 0; q < 8; q++) {
                const double *v = n->u.tr.value + (size_t)id[q] * W;
                double *o = out + (r + (size_t)q) * K;
                if (W == K)
                    for (size_t k = 0; k < K; k++)
                        o[k] += scale * v[k];
                else
                    o[col] += scale * v[0];
            }
        }
        for (; r < c1; r++) {
            const double *xr = x + r * dx;
            int32_t i = root;
            while (!(nodes[i].f & TN_LEAF))
                i = nr ? tstep_nr(nodes, i, xr) : tstep(nodes, i, xr);
            const double *v = n->u.tr.value + (size_t)i * W;
            double *o = out + r * K;
            if (W == K)
                for (size_t k = 0; k < K; k++)
                    o[k] += scale * v[k];
            else
                o[col] += scale * v[0];
        }
    }
    }
    if (n->u.tr.mean) {
        const double nt = (double)n->u.tr.n_trees;
        for (size_t i = 0; i < R * K; i++)
            out[i] /= nt;
        if (n->u.tr.base)
            for (size_t r = 0; r < R; r++)
                for (size_t k = 0; k < K; k++)
                    out[r * K + k] += n->u.tr.base[k];
    }
}

/* ---- mlp --------------------------------------------------------------------------------- */

static int parse_act(const char *s, mact *out)
{
    static const char *names[] = {"identity", "relu",     "tanh",     "logistic",
                                  "softmax",  "elu",      "selu",     "softplus",
                                  "softsign", "swish",    "gelu",     "exponential"};
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (!strcmp(s, names[i])) {
            *out = (mact)i;
            return 1;
        }
    return 0;
}

int trove__bind_mlp(bindctx *c, const trove_value *cfg, mnode *n)
{
    const trove_value *acts = trove_value_get(cfg, "activations");
    if (trove_value_type_of(acts) != TROVE_VALUE_ARRAY)
        return trove__model_fail(c, "model.activations must be an array of names");
    size_t L = trove_value_count(acts) + 1;
    if (L > TROVE_MODEL_MAX_LAYERS)
        return trove__model_fail(c, "%zu layers: more than %u", L, TROVE_MODEL_MAX_LAYERS);
    n->u.mlp.n_layers = L;
    n->u.mlp.dims = trove__calloc(c->a, L + 1, sizeof(size_t));
    n->u.mlp.w = trove__calloc(c->a, L, sizeof(double *));
    n->u.mlp.b = trove__calloc(c->a, L, sizeof(double *));
    n->u.mlp.act = trove__calloc(c->a, L, sizeof(mact));
    if (!n->u.mlp.dims || !n->u.mlp.w || !n->u.mlp.b || !n->u.mlp.act)
        return trove__fail(c->err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    for (size_t i = 0; i + 1 < L; i++) {
        const char *s = NULL;
        if (trove_value_get_string(trove_value_at(acts, i), &s, NULL) ||
            !parse_act(s, &n->u.mlp.act[i]))
            return trove__model_fail(c, "model.activations[%zu]: unknown activation (see "
                                        "docs/MODELS.md)", i);
    }
    const char *oa;
    int rc = trove__meta_string(c, cfg, "output_activation", NULL, &oa);
    if (rc)
        return rc;
    if (!parse_act(oa, &n->u.mlp.act[L - 1]))
        return trove__model_fail(c, "model.output_activation '%s': unknown activation", oa);
    n->u.mlp.dims[0] = n->n_in;
    size_t maxw = n->n_in;
    for (size_t i = 0; i < L; i++) {
        char name[64];
        snprintf(name, sizeof name, "layers/%zu/weight", i);
        size_t ws[2] = {ANY, n->u.mlp.dims[i]};
        static const trove_dtype FLT[] = {TROVE_FLOAT64, TROVE_FLOAT32};
        tview wv;
        if ((rc = trove__tensor_view(c, name, 1, 2, ws, FLT, 2, &wv)))
            return rc;
        if (ws[0] == 0 || ws[0] > TROVE_MODEL_MAX_WIDTH)
            return trove__model_fail(c, "tensor '%s': %zu units out of range", name, ws[0]);
        n->u.mlp.dims[i + 1] = ws[0];
        double *wt = trove__malloc(c->a, ws[0] * ws[1] * sizeof(double) + 1);
        if (!wt)
            return trove__fail(c->err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
        n->u.mlp.w[i] = wt;
        /* [out, in] on disk -> [in, out] for the kernel, straight from the file's bytes */
        for (size_t o = 0; o < ws[0]; o++)
            for (size_t q = 0; q < ws[1]; q++) {
                double v = tview_f(&wv, o * ws[1] + q);
                if (!isfinite(v))
                    return trove__model_fail(c, "tensor '%s%s'[%zu] is not finite", c->prefix,
                                             name, o * ws[1] + q);
                wt[q * ws[0] + o] = v;
            }
        if (ws[0] > maxw)
            maxw = ws[0];
        snprintf(name, sizeof name, "layers/%zu/bias", i);
        size_t bs[1] = {ws[0]};
        if ((rc = trove__tensor_f64(c, name, 1, 1, bs, 1, &n->u.mlp.b[i])))
            return rc;
    }
    n->n_raw = n->u.mlp.dims[L];
    mact out = n->u.mlp.act[L - 1];
    if (n->task == TASK_CLASSIFICATION) {
        if (!((out == ACT_LOGISTIC && n->n_raw == 1 && n->n_classes == 2) ||
              (out == ACT_SOFTMAX && n->n_raw == n->n_classes && n->n_classes > 2)))
            return trove__model_fail(c, "classifier output: need logistic with 1 unit and 2 "
                                        "classes or softmax with one unit per class (%zu units, "
                                        "%zu classes, %s)", n->n_raw, n->n_classes, oa);
        n->link = out == ACT_LOGISTIC ? LINK_LOGISTIC : LINK_SOFTMAX;
    }
    n->scratch = 2 * maxw;
    return TROVE_OK;
}

static void activate(mact a, double *y, size_t R, size_t k)
{
    size_t m = R * k;
    switch (a) {
    case ACT_IDENTITY: break;
    case ACT_RELU:
        for (size_t i = 0; i < m; i++)
            y[i] = y[i] > 0 ? y[i] : 0.0; /* sklearn: np.maximum(X, 0) */
        break;
    case ACT_TANH:
        for (size_t i = 0; i < m; i++)
            y[i] = tanh(y[i]);
        break;
    case ACT_LOGISTIC:
        for (size_t i = 0; i < m; i++)
            y[i] = 1.0 / (1.0 + exp(-y[i]));
        break;
    case ACT_ELU: /* Keras: alpha 1 */
        for (size_t i = 0; i < m; i++)
            y[i] = y[i] > 0 ? y[i] : expm1(y[i]);
        break;
    case ACT_SELU: /* Keras's constants */
        for (size_t i = 0; i < m; i++)
            y[i] = 1.0507009873554804934193349852946 *
                   (y[i] > 0 ? y[i] : 1.6732632423543772848170429916717 * expm1(y[i]));
        break;
    case ACT_SOFTPLUS: /* log(1 + exp(x)) without overflow */
        for (size_t i = 0; i < m; i++)
            y[i] = y[i] > 0 ? y[i] + log1p(exp(-y[i])) : log1p(exp(y[i]));
        break;
    case ACT_SOFTSIGN:
        for (size_t i = 0; i < m; i++)
            y[i] = y[i] / (1.0 + fabs(y[i]));
        break;
    case ACT_SWISH: /* x * sigmoid(x), also called silu */
        for (size_t i = 0; i < m; i++)
            y[i] = y[i] / (1.0 + exp(-y[i]));
        break;
    case ACT_GELU: /* exact (erf) form, Keras's default (approximate=False) */
        for (size_t i = 0; i < m; i++)
            y[i] = 0.5 * y[i] * (1.0 + erf(y[i] * 0.70710678118654752440084436210485));
        break;
    case ACT_EXP:
        for (size_t i = 0; i < m; i++)
            y[i] = exp(y[i]);
        break;
    case ACT_SOFTMAX:
        for (size_t r = 0; r < R; r++) {
            double *v = y + r * k, mx = v[0], s = 0;
            for (size_t j = 1; j < k; j++)
                mx = v[j] > mx ? v[j] : mx;
            for (size_t j = 0; j < k; j++)
                s += (v[j] = exp(v[j] - mx));
            for (size_t j = 0; j < k; j++)
                v[j] /= s;
        }
        break;
    }
}

/* Dense layers: y[R, m] = x[R, k] WT + b with WT [k, m] (weights transposed at bind). Four rows x
 * eight outputs per micro-kernel step on 4-wide double vectors (GNU vector extension), compiled
 * twice: for x86-64-v3 (AVX2) and for the baseline, picked at load time (ifunc). Each output is
 * summed over the inputs in order, then the bias is added: the order of the reference BLAS. */
typedef double v4d __attribute__((vector_size(32)));
/* memcpy, not casts: rows need not be 32-byte aligned; macros, not functions: passing a vector
 * by value to a function built for the baseline changes the ABI. */
#define V4_LOAD(dst, p) memcpy(&(dst), (p), sizeof(v4d))
#define V4_STORE(p, v)                                                                             \
    do {                                                                                           \
        v4d t_ = (v);                                                                              \
        memcpy((p), &t_, sizeof(v4d));                                                             \
    } while (0)

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define TROVE_MULTIVERSION __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define TROVE_MULTIVERSION
#endif

TROVE_MULTIVERSION
static void dense(const double *x, size_t R, size_t k, const double *WT, const double *b,
                  size_t m, double *y)
{
    size_t r = 0;
    for (; r + 4 <= R; r += 4) {
        const double *x0 = x + r * k, *x1 = x0 + k, *x2 = x1 + k, *x3 = x2 + k;
        double *y0 = y + r * m, *y1 = y0 + m, *y2 = y1 + m, *y3 = y2 + m;
        size_t j = 0;
        for (; j + 8 <= m; j += 8) {
            v4d a0 = {0, 0, 0, 0}, a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0;
            for (size_t i = 0; i < k; i++) {
                const double *w = WT + i * m + j;
                v4d wl, wh;
                V4_LOAD(wl, w);
                V4_LOAD(wh, w + 4);
                a0 += x0[i] * wl;
                a1 += x0[i] * wh;
                b0 += x1[i] * wl;
                b1 += x1[i] * wh;
                c0 += x2[i] * wl;
                c1 += x2[i] * wh;
                d0 += x3[i] * wl;
                d1 += x3[i] * wh;
            }
            v4d bl, bh;
            V4_LOAD(bl, b + j);
            V4_LOAD(bh, b + j + 4);
            V4_STORE(y0 + j, a0 + bl);
            V4_STORE(y0 + j + 4, a1 + bh);
            V4_STORE(y1 + j, b0 + bl);
            V4_STORE(y1 + j + 4, b1 + bh);
            V4_STORE(y2 + j, c0 + bl);
            V4_STORE(y2 + j + 4, c1 + bh);
            V4_STORE(y3 + j, d0 + bl);
            V4_STORE(y3 + j + 4, d1 + bh);
        }
        for (; j < m; j++) {
            double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            for (size_t i = 0; i < k; i++) {
                double w = WT[i * m + j];
                s0 += x0[i] * w;
                s1 += x1[i] * w;
                s2 += x2[i] * w;
                s3 += x3[i] * w;
            }
            y0[j] = s0 + b[j];
            y1[j] = s1 + b[j];
            y2[j] = s2 + b[j];
            y3[j] = s3 + b[j];
        }
    }
    for (; r < R; r++) { /* up to 3 rows: y = x WT as a sum of scaled rows of WT */
        const double *xr = x + r * k;
        double *yr = y + r * m;
        for (size_t j = 0; j < m; j++)
            yr[j] = 0;
        for (size_t i = 0; i < k; i++) {
            const double xi = xr[i], *w = WT + i * m;
            for (size_t j = 0; j < m; j++)
                yr[j] += xi * w[j];
        }
        for (size_t j = 0; j < m; j++)
            yr[j] += b[j];
    }
}

static void run_mlp(const mnode *n, const double *in, size_t R, double *out, double *tmp)
{
    const size_t L = n->u.mlp.n_layers;
    size_t maxw = n->scratch / 2;
    double *bufs[2] = {tmp, tmp + R * maxw};
    const double *x = in;
    for (size_t i = 0; i < L; i++) {
        double *y = i + 1 == L ? out : bufs[i & 1];
        dense(x, R, n->u.mlp.dims[i], n->u.mlp.w[i], n->u.mlp.b[i], n->u.mlp.dims[i + 1], y);
        /* the output activation is applied by the caller (it is the link) */
        if (i + 1 < L)
            activate(n->u.mlp.act[i], y, R, n->u.mlp.dims[i + 1]);
        x = y;
    }
    if (n->task != TASK_CLASSIFICATION)
        activate(n->u.mlp.act[L - 1], out, R, n->n_raw);
}

/* ---- dispatch ---------------------------------------------------------------------------- */

int trove__run_raw(const mnode *n, const double *in, size_t R, double *out, double *tmp,
                   size_t row0, trove_error *err)
{
    switch (n->kind) {
    case K_LINEAR: run_linear(n, in, R, out); return TROVE_OK;
    case K_SCALER: run_scaler(n, in, R, out); return TROVE_OK;
    case K_IMPUTER: run_imputer(n, in, R, out); return TROVE_OK;
    case K_ONEHOT: return run_onehot(n, in, R, out, row0, err);
    case K_TREES: run_trees(n, in, R, out, tmp); return TROVE_OK;
    case K_MLP: run_mlp(n, in, R, out, tmp); return TROVE_OK;
    case K_PIPELINE: break;
    case K_SVM: case K_NB: case K_KNN: case K_LABEL:
        return trove__run_raw_more(n, in, R, out, tmp, row0, err);
    case K_COLUMNS: break;
    case K_KMEANS: case K_DECOMP: case K_POLY: return trove__run_raw_cluster(n, in, R, out);
    }
    return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "internal: pipeline in run_raw");
}

void trove__node_free_kind(const trove_allocator *a, mnode *n)
{
    switch (n->kind) {
    case K_LINEAR:
        trove__free(a, n->u.lin.coef);
        trove__free(a, n->u.lin.intercept);
        break;
    case K_SCALER:
        trove__free(a, n->u.sc.a);
        trove__free(a, n->u.sc.b);
        break;
    case K_IMPUTER:
        trove__free(a, n->u.imp.stats);
        trove__free(a, n->u.imp.keep);
        break;
    case K_ONEHOT:
        trove__free(a, n->u.oh.cats);
        trove__free(a, n->u.oh.offs);
        trove__free(a, n->u.oh.text);
        trove__free(a, n->u.oh.outpos);
        break;
    case K_TREES:
        trove__free_aligned(a, n->u.tr.nodes);
        trove__free(a, n->u.tr.roots);
        trove__free(a, n->u.tr.depth);
        trove__free(a, n->u.tr.out_col);
        trove__free_aligned(a, n->u.tr.value);
        trove__free(a, n->u.tr.base);
        break;
    case K_MLP:
        for (size_t i = 0; n->u.mlp.w && i < n->u.mlp.n_layers; i++)
            trove__free(a, n->u.mlp.w[i]);
        for (size_t i = 0; n->u.mlp.b && i < n->u.mlp.n_layers; i++)
            trove__free(a, n->u.mlp.b[i]);
        trove__free(a, n->u.mlp.w);
        trove__free(a, n->u.mlp.b);
        trove__free(a, n->u.mlp.dims);
        trove__free(a, n->u.mlp.act);
        break;
    case K_PIPELINE: break;
    case K_SVM: case K_NB: case K_KNN: case K_LABEL: trove__node_free_more(a, n); break;
    case K_COLUMNS: break;
    case K_KMEANS: case K_DECOMP: case K_POLY: trove__node_free_cluster(a, n); break;
    }
}
