/* model_internal.h: the bound form of model kinds (nodes), shared by model.c and the kind files. */
#ifndef TROVE_MODEL_INTERNAL_H
#define TROVE_MODEL_INTERNAL_H

#include <string.h>

#include "core/internal.h"

typedef enum {
    K_LINEAR, K_SCALER, K_IMPUTER, K_ONEHOT, K_TREES, K_MLP, K_PIPELINE, K_SVM, K_NB, K_KNN,
    K_LABEL, K_COLUMNS, K_KMEANS, K_DECOMP, K_POLY
} mkind;
typedef enum { TASK_REGRESSION, TASK_CLASSIFICATION, TASK_TRANSFORM } mtask;
/* scaler ops (docs/MODELS.md "scaler"); normalize's norms */
enum { SC_STANDARDIZE, SC_MINMAX, SC_NORMALIZE, SC_BINARIZE };
enum { NORM_L1, NORM_L2, NORM_MAX };
/* LINK_PROBA: the raw values already are class probabilities (forests). */
/* LINK_EXP: regression on a log scale (HistGradientBoosting poisson/gamma, XGBoost count:poisson). */
typedef enum {
    LINK_IDENTITY, LINK_LOGISTIC, LINK_SOFTMAX, LINK_OVR, LINK_NONE, LINK_EXP, LINK_PROBA
} mlink;
typedef enum {
    ACT_IDENTITY, ACT_RELU, ACT_TANH, ACT_LOGISTIC, ACT_SOFTMAX, /* sklearn and Keras */
    ACT_ELU, ACT_SELU, ACT_SOFTPLUS, ACT_SOFTSIGN, ACT_SWISH, ACT_GELU, ACT_EXP /* Keras */
} mact;

/* A tree node packed for traversal: 16 bytes; children adjacent (right = left + 1), global
 * indices. A leaf has v = +inf, left = itself and TN_DL (NaN goes left: stays), or, when the
 * ensemble has no default directions, the feature n_in: a constant-0 column appended to x. */
typedef struct tnode {
    double v;          /* threshold: go left when x <= v (or x is NaN and TN_DL) */
    uint32_t f;        /* feature | TN_DL | TN_LEAF */
    int32_t left;
} tnode;
#define TN_DL 0x80000000u
#define TN_LEAF 0x40000000u
#define TN_FEAT 0x3fffffffu

typedef struct mnode mnode;
struct mnode {
    mkind kind;
    mtask task;
    mlink link;
    double temperature; /* classification: the link is applied to raw / temperature (0 = 1) */
    size_t n_in;       /* input columns */
    size_t n_raw;      /* raw output width (transform: output width) */
    size_t n_classes;  /* classification only */
    size_t scratch;    /* doubles of scratch needed per row to run this node */
    size_t maxw;       /* widest intermediate row of this node (for pipelines) */
    union {
        struct { double *coef, *intercept; } lin;
        struct { int op, clip, norm; double *a, *b, lo, hi, thr; } sc; /* op: SC_* */
        struct { double *stats, missing; int miss_nan; size_t *keep; } imp;
        struct {
            double *cats;
            size_t *offs, *outpos; /* outpos: output column of each category (drop), or NULL */
            int ignore;
            unsigned char *text;
        } oh;
        struct {
            tnode *nodes;
            size_t n_trees, n_nodes, width; /* width W of leaf values */
            size_t *roots;                  /* global index of each tree's root */
            uint32_t *depth;                /* steps from each root to its deepest leaf */
            size_t *out_col;                /* per tree, when width == 1 < n_raw; else NULL */
            double *value;                  /* [n_nodes * width] */
            double *base;                   /* [n_raw] */
            double scale;
            int mean, cmp32, nan_right;
        } tr;
        struct {
            size_t n_layers;
            size_t *dims;                   /* n_layers + 1 */
            double **w, **b;                /* w[i]: [dims[i], dims[i+1]] (transposed) */
            mact *act;                      /* n_layers: hidden activations then output */
        } mlp;
        struct { mnode **steps; size_t n; } pipe;
        struct {
            double *sv, *coef, *icpt, *pa, *pb; /* [n_sv, n_in], [max(K-1,1), n_sv], ... */
            size_t n_sv, n_pairs, *start, *count; /* start/count: per class, into sv */
            int kernel, degree, ovr, break_ties;
            double gamma, coef0;
            const trove_allocator *a;       /* kernel values: n_sv doubles per call, not per row */
        } svm;
        struct {
            double *theta, *var, *logprior, *cst; /* gaussian: [K, n_in] x2, [K] x2 */
            double *w, *bias;   /* discrete: jll = x . w[k] + bias[k] ([K, n_in], [K] or NULL);
                                 * categorical: w = [K, total] log probabilities */
            size_t *offs;       /* categorical: feature j owns columns offs[j] .. offs[j+1]-1 */
            double thr;         /* bernoulli: x > thr ? 1 : 0 before the dot (when bin) */
            int dist, bin;      /* NB_GAUSSIAN, ...; bin: binarize the input */
        } nb;
        struct {
            double *c, *cn;     /* centres [k, n_in]; their squared norms [k] */
        } km;
        struct {
            double *comp, *mean, *sd; /* [n_out, n_in]; [n_in] or NULL; sqrt(variance) or NULL */
        } dec;
        struct {
            uint32_t *fac;      /* output j multiplies x[fac[off[j]]] .. x[fac[off[j+1]-1]] */
            size_t *off;        /* n_out + 1 */
        } poly;
        struct {
            double *X, *y;                  /* [n, n_in]; [n] class index or [n, n_raw] */
            size_t n, k;
            int manhattan, distance;
            const trove_allocator *a;       /* the k-nearest heap: 3k doubles per call */
        } knn;
        struct { double *vals; size_t n; int text; } lab; /* numeric labels, sorted */
        struct {
            mnode **parts;                  /* n entries; NULL: passthrough */
            size_t n, **cols, *ncols, *off; /* input columns and output offset of each part */
        } ct;
    } u;
    /* text inputs: per input column, NULL or its vocabulary (model.vocabulary / text labels);
     * borrowed from the file's metadata only during bind, copied by trove_model_open */
    const trove_value *vocab;
};

/* Context of a bind: the file, the allocator, the error, and the current tensor prefix. */
typedef struct bindctx {
    const trove_file *f;
    const trove_allocator *a;
    trove_error *err;
    char prefix[512];
    unsigned nesting;
} bindctx;

/* Schema error: TROVE_E_MODEL with "model 'prefix': " before the message. */
int trove__model_fail(bindctx *c, const char *fmt, ...) TROVE_PRINTF(2, 3);

/* Metadata helpers: missing or ill-typed keys fail with TROVE_E_MODEL naming "model.<key>". */
int trove__meta_size(bindctx *c, const trove_value *cfg, const char *key, int required,
                     size_t dflt, size_t *out);
int trove__meta_float(bindctx *c, const trove_value *cfg, const char *key, int required,
                      double dflt, double *out);
int trove__meta_string(bindctx *c, const trove_value *cfg, const char *key, const char *dflt,
                       const char **out);

/* Load tensor <prefix><name> as doubles (float32/float64 accepted) into memory owned by the
 * model (free with trove__free). shape[] of rank entries: each entry must match (SIZE_MAX =
 * any; the actual size is written back). required=0: *out = NULL when absent. finite=1: refuse
 * NaN/inf. */
int trove__tensor_f64(bindctx *c, const char *name, int required, uint32_t rank, size_t *shape,
                      int finite, double **out);
/* Same, for index tensors (int32/int64; uint8/bool accepted when allow_bytes) into int64. */
int trove__tensor_i64(bindctx *c, const char *name, int required, uint32_t rank, size_t *shape,
                      int allow_bytes, int64_t **out);

/* A borrowed view of a tensor's bytes during bind (may be unaligned): read with tview_*. */
typedef struct tview {
    const unsigned char *p; /* NULL when an optional tensor is absent */
    trove_dtype dt;
} tview;
int trove__tensor_view(bindctx *c, const char *name, int required, uint32_t rank, size_t *shape,
                       const trove_dtype *ok, size_t nok, tview *out);
static inline __attribute__((always_inline)) int64_t tview_i(const tview *v, size_t i)
{
    switch (v->dt) {
    case TROVE_INT64: { int64_t x; memcpy(&x, v->p + 8 * i, 8); return x; }
    case TROVE_INT32: { int32_t x; memcpy(&x, v->p + 4 * i, 4); return x; }
    case TROVE_INT16: { int16_t x; memcpy(&x, v->p + 2 * i, 2); return x; }
    default: return v->p[i];
    }
}
static inline __attribute__((always_inline)) double tview_f(const tview *v, size_t i)
{
    if (v->dt == TROVE_FLOAT32) {
        float x;
        memcpy(&x, v->p + 4 * i, 4);
        return x;
    }
    double x;
    memcpy(&x, v->p + 8 * i, 8);
    return x;
}

/* Kind binders (model_kinds.c): fill n fields from cfg (the node's "model" map). */
int trove__bind_linear(bindctx *c, const trove_value *cfg, mnode *n);
int trove__bind_scaler(bindctx *c, const trove_value *cfg, mnode *n);
int trove__bind_imputer(bindctx *c, const trove_value *cfg, mnode *n);
int trove__bind_onehot(bindctx *c, const trove_value *cfg, mnode *n);
int trove__bind_trees(bindctx *c, const trove_value *cfg, mnode *n);
int trove__bind_mlp(bindctx *c, const trove_value *cfg, mnode *n);
int trove__bind_svm(bindctx *c, const trove_value *cfg, mnode *n);
int trove__bind_nb(bindctx *c, const trove_value *cfg, mnode *n);
int trove__bind_knn(bindctx *c, const trove_value *cfg, mnode *n);
int trove__bind_label(bindctx *c, const trove_value *cfg, mnode *n);
int trove__bind_vocab(bindctx *c, const trove_value *cfg, mnode *n);
void trove__node_free_kind(const trove_allocator *a, mnode *n);
void trove__node_free_more(const trove_allocator *a, mnode *n);
enum { NB_GAUSSIAN, NB_MULTINOMIAL, NB_COMPLEMENT, NB_BERNOULLI, NB_CATEGORICAL };

/* kmeans and decomposition (model_cluster.c). */
int trove__bind_kmeans(bindctx *c, const trove_value *cfg, mnode *n);
int trove__bind_decomp(bindctx *c, const trove_value *cfg, mnode *n);
int trove__bind_poly(bindctx *c, const trove_value *cfg, mnode *n);
int trove__run_raw_cluster(const mnode *n, const double *in, size_t R, double *out);
/* kmeans PREDICT: the index of the nearest centre of each row (tmp: n_raw doubles per row). */
void trove__kmeans_labels(const mnode *n, const double *in, size_t R, double *out, double *tmp);
void trove__node_free_cluster(const trove_allocator *a, mnode *n);
int trove__run_raw_more(const mnode *n, const double *in, size_t R, double *out, double *tmp,
                        size_t row0, trove_error *err);

/* Classifiers of model_more.c (svm, naive_bayes, knn): raw [R, n_raw] -> out [R, n_outputs(op)];
 * PREDICT writes class indices. */
int trove__finish_more(const trove_allocator *a, const mnode *n, int op, const double *raw,
                       size_t R, double *out, trove_error *err);
/* Output width of op for the kinds of model_more.c (0: not supported). */
size_t trove__outputs_more(const mnode *n, int op);

/* Run the raw part of a kind on R rows: in [R, n_in] -> out [R, n_raw]. tmp has
 * n->scratch * R doubles. Returns TROVE_OK or an error (unknown category). */
int trove__run_raw(const mnode *n, const double *in, size_t R, double *out, double *tmp,
                   size_t row0, trove_error *err);

#endif
