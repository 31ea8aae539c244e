/* model.c: bind a model kind to a trove file (schema walk, pipelines) and run predictions. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"

#define BLOCK_ROWS 256

/* The vocabulary of a text input column, sorted for lookup (strings copied into buf). */
typedef struct ventry {
    const char *s;
    size_t len, code;
} ventry;
typedef struct vocab {
    size_t n;
    char *buf;
    ventry *e;
} vocab;

struct trove_model {
    const trove_allocator *a;
    mnode *root;
    char kind[32];
    char **names;          /* n_names entries, or NULL */
    size_t n_names;
    trove_value *classes;  /* clone of the final classifier's classes, or NULL */
    double *class_num;     /* numeric labels when every class is a number */
    int classes_numeric;
    size_t need;           /* scratch doubles per row of the root */
    vocab *vocabs;         /* n_in entries (n = 0: a numeric column), or NULL */
};

/* ---- errors and metadata helpers --------------------------------------------------------- */

int trove__model_fail(bindctx *c, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->prefix[0])
        return trove__fail(c->err, TROVE_E_MODEL, TROVE_NO_OFFSET, "model step '%s': %s",
                           c->prefix, msg);
    return trove__fail(c->err, TROVE_E_MODEL, TROVE_NO_OFFSET, "model: %s", msg);
}

int trove__meta_size(bindctx *c, const trove_value *cfg, const char *key, int required,
                     size_t dflt, size_t *out)
{
    const trove_value *v = trove_value_get(cfg, key);
    if (!v) {
        if (required)
            return trove__model_fail(c, "model.%s is missing", key);
        *out = dflt;
        return TROVE_OK;
    }
    int64_t i;
    if (trove_value_get_int(v, &i) || i < 0 || (uint64_t)i > TROVE_MODEL_MAX_WIDTH)
        return trove__model_fail(c, "model.%s must be an integer in 0..%u", key,
                                 TROVE_MODEL_MAX_WIDTH);
    *out = (size_t)i;
    return TROVE_OK;
}

int trove__meta_float(bindctx *c, const trove_value *cfg, const char *key, int required,
                      double dflt, double *out)
{
    const trove_value *v = trove_value_get(cfg, key);
    if (!v) {
        if (required)
            return trove__model_fail(c, "model.%s is missing", key);
        *out = dflt;
        return TROVE_OK;
    }
    if (trove_value_get_float(v, out))
        return trove__model_fail(c, "model.%s must be a number", key);
    return TROVE_OK;
}

int trove__meta_string(bindctx *c, const trove_value *cfg, const char *key, const char *dflt,
                       const char **out)
{
    const trove_value *v = trove_value_get(cfg, key);
    if (!v) {
        if (!dflt)
            return trove__model_fail(c, "model.%s is missing", key);
        *out = dflt;
        return TROVE_OK;
    }
    if (trove_value_get_string(v, out, NULL))
        return trove__model_fail(c, "model.%s must be a string", key);
    return TROVE_OK;
}

/* Find <prefix><name>, check dtype class, rank and shape; returns its index via *idx, or
 * TROVE_E_NOT_FOUND (not an error for optional tensors). */
static int find_tensor(bindctx *c, const char *name, int required, uint32_t rank, size_t *shape,
                       const trove_dtype *ok, size_t nok, trove_tensor_info *ti, size_t *idx)
{
    char full[640];
    snprintf(full, sizeof full, "%s%s", c->prefix, name);
    if (trove_file_find(c->f, full, idx) != TROVE_OK) {
        if (required)
            return trove__model_fail(c, "tensor '%s' is missing", full);
        return TROVE_E_NOT_FOUND;
    }
    if (trove_file_tensor_info(c->f, *idx, ti) != TROVE_OK)
        return trove__model_fail(c, "tensor '%s' unreadable", full);
    size_t k = 0;
    while (k < nok && ti->dtype != ok[k])
        k++;
    if (k == nok)
        return trove__model_fail(c, "tensor '%s' has dtype %s, not one this kind accepts", full,
                                 trove_dtype_name(ti->dtype) ? trove_dtype_name(ti->dtype) : "?");
    if (ti->rank != rank)
        return trove__model_fail(c, "tensor '%s' has rank %u, expected %u", full, ti->rank, rank);
    for (uint32_t d = 0; d < rank; d++) {
        if (shape[d] != SIZE_MAX && ti->shape[d] != shape[d])
            return trove__model_fail(c, "tensor '%s' has shape[%u] = %llu, expected %zu", full, d,
                                     (unsigned long long)ti->shape[d], shape[d]);
        if (ti->shape[d] > SIZE_MAX / 16)
            return trove__model_fail(c, "tensor '%s' is too large", full);
        shape[d] = (size_t)ti->shape[d];
    }
    if (ti->count > SIZE_MAX / 16)
        return trove__model_fail(c, "tensor '%s' is too large", full);
    return TROVE_OK;
}

int trove__tensor_view(bindctx *c, const char *name, int required, uint32_t rank, size_t *shape,
                       const trove_dtype *ok, size_t nok, tview *out)
{
    trove_tensor_info ti;
    size_t idx;
    out->p = NULL;
    out->dt = TROVE_DTYPE_INVALID;
    int rc = find_tensor(c, name, required, rank, shape, ok, nok, &ti, &idx);
    if (rc == TROVE_E_NOT_FOUND)
        return TROVE_OK;
    if (rc)
        return rc;
    const void *data;
    if ((rc = trove_file_tensor_data(c->f, idx, &data, c->err)))
        return rc;
    out->p = data;
    out->dt = ti.dtype;
    return TROVE_OK;
}

int trove__tensor_f64(bindctx *c, const char *name, int required, uint32_t rank, size_t *shape,
                      int finite, double **out)
{
    static const trove_dtype ok[] = {TROVE_FLOAT64, TROVE_FLOAT32};
    trove_tensor_info ti;
    size_t idx;
    *out = NULL;
    int rc = find_tensor(c, name, required, rank, shape, ok, 2, &ti, &idx);
    if (rc == TROVE_E_NOT_FOUND)
        return TROVE_OK;
    if (rc)
        return rc;
    const void *data;
    if ((rc = trove_file_tensor_data(c->f, idx, &data, c->err)))
        return rc;
    size_t n = (size_t)ti.count;
    double *d = trove__malloc(c->a, (n ? n : 1) * sizeof(double));
    if (!d)
        return trove__fail(c->err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory for '%s%s'",
                           c->prefix, name);
    if (ti.dtype == TROVE_FLOAT64) {
        memcpy(d, data, n * sizeof(double)); /* the view may be unaligned (open_memory) */
    } else {
        for (size_t i = 0; i < n; i++) {
            float f;
            memcpy(&f, (const char *)data + 4 * i, 4);
            d[i] = (double)f;
        }
    }
    for (size_t i = 0; finite && i < n; i++)
        if (!isfinite(d[i])) {
            trove__free(c->a, d);
            return trove__model_fail(c, "tensor '%s%s'[%zu] is not finite", c->prefix, name, i);
        }
    *out = d;
    return TROVE_OK;
}

int trove__tensor_i64(bindctx *c, const char *name, int required, uint32_t rank, size_t *shape,
                      int allow_bytes, int64_t **out)
{
    static const trove_dtype ok[] = {TROVE_INT64, TROVE_INT32, TROVE_UINT8, TROVE_BOOL};
    trove_tensor_info ti;
    size_t idx;
    *out = NULL;
    int rc = find_tensor(c, name, required, rank, shape, ok, allow_bytes ? 4 : 2, &ti, &idx);
    if (rc == TROVE_E_NOT_FOUND)
        return TROVE_OK;
    if (rc)
        return rc;
    const void *data;
    if ((rc = trove_file_tensor_data(c->f, idx, &data, c->err)))
        return rc;
    size_t n = (size_t)ti.count;
    int64_t *d = trove__malloc(c->a, (n ? n : 1) * sizeof(int64_t));
    if (!d)
        return trove__fail(c->err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory for '%s%s'",
                           c->prefix, name);
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        if (ti.dtype == TROVE_INT64) {
            memcpy(&d[i], p + 8 * i, 8);
        } else if (ti.dtype == TROVE_INT32) {
            int32_t v;
            memcpy(&v, p + 4 * i, 4);
            d[i] = v;
        } else {
            d[i] = p[i];
        }
    }
    *out = d;
    return TROVE_OK;
}

/* ---- binding ----------------------------------------------------------------------------- */

static void node_free(const trove_allocator *a, mnode *n)
{
    if (!n)
        return;
    if (n->kind == K_PIPELINE) {
        for (size_t i = 0; n->u.pipe.steps && i < n->u.pipe.n; i++)
            node_free(a, n->u.pipe.steps[i]);
        trove__free(a, n->u.pipe.steps);
    } else if (n->kind == K_COLUMNS) {
        for (size_t i = 0; i < n->u.ct.n; i++) {
            if (n->u.ct.parts)
                node_free(a, n->u.ct.parts[i]);
            if (n->u.ct.cols)
                trove__free(a, n->u.ct.cols[i]);
        }
        trove__free(a, n->u.ct.parts);
        trove__free(a, n->u.ct.cols);
        trove__free(a, n->u.ct.ncols);
        trove__free(a, n->u.ct.off);
    } else {
        trove__node_free_kind(a, n);
    }
    trove__free(a, n);
}

static int is_predictor(const mnode *n)
{
    return n->task != TASK_TRANSFORM;
}

static int bind_node(bindctx *c, const trove_value *meta, mnode **out,
                     const trove_value **classes_out);
static const trove_value *col_vocab(const mnode *n, size_t j);

/* column_transformer: model.transformers = model nodes with "name" and "columns" (input column
 * indices); {"name", "columns", "passthrough": true} copies columns. Tensors of part i live
 * under <prefix>transformers/<i>/. Output: the parts' outputs side by side, in order. */
static int bind_columns(bindctx *c, const trove_value *cfg, mnode *n)
{
    const trove_value *parts = trove_value_get(cfg, "transformers");
    size_t np = trove_value_count(parts);
    if (trove_value_type_of(parts) != TROVE_VALUE_ARRAY || np == 0 || np > 4096)
        return trove__model_fail(c, "model.transformers must be an array of 1..4096 parts");
    if (c->nesting >= TROVE_MODEL_MAX_NESTING)
        return trove__model_fail(c, "nodes nested deeper than %u", TROVE_MODEL_MAX_NESTING);
    n->u.ct.parts = trove__calloc(c->a, np, sizeof(mnode *));
    n->u.ct.cols = trove__calloc(c->a, np, sizeof(size_t *));
    n->u.ct.ncols = trove__calloc(c->a, np, sizeof(size_t));
    n->u.ct.off = trove__calloc(c->a, np, sizeof(size_t));
    if (!n->u.ct.parts || !n->u.ct.cols || !n->u.ct.ncols || !n->u.ct.off)
        return trove__fail(c->err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    n->u.ct.n = np;
    char saved[sizeof c->prefix];
    memcpy(saved, c->prefix, sizeof saved);
    int rc = TROVE_OK;
    size_t width = 0, need = 0;
    c->nesting++;
    for (size_t i = 0; i < np && rc == 0; i++) {
        const trove_value *p = trove_value_at(parts, i), *cols = trove_value_get(p, "columns");
        size_t nc = trove_value_count(cols);
        if (trove_value_type_of(p) != TROVE_VALUE_MAP ||
            trove_value_type_of(cols) != TROVE_VALUE_ARRAY || nc == 0 || nc > n->n_in) {
            rc = trove__model_fail(c, "model.transformers[%zu] needs \"columns\": 1..%zu input "
                                      "column indices", i, n->n_in);
            break;
        }
        if (!(n->u.ct.cols[i] = trove__calloc(c->a, nc, sizeof(size_t)))) {
            rc = trove__fail(c->err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
            break;
        }
        n->u.ct.ncols[i] = nc;
        for (size_t k = 0; k < nc && rc == 0; k++) {
            int64_t v;
            if (trove_value_get_int(trove_value_at(cols, k), &v) || v < 0 ||
                (uint64_t)v >= n->n_in)
                rc = trove__model_fail(c, "model.transformers[%zu].columns[%zu]: not an input "
                                          "column (0..%zu)", i, k, n->n_in - 1);
            else
                n->u.ct.cols[i][k] = (size_t)v;
        }
        if (rc)
            break;
        int pass = 0;
        const trove_value *pv = trove_value_get(p, "passthrough");
        if (pv && trove_value_get_bool(pv, &pass)) {
            rc = trove__model_fail(c, "model.transformers[%zu].passthrough must be a boolean", i);
            break;
        }
        size_t w = nc, sneed = 0;
        if (!pass) {
            int wr = snprintf(c->prefix, sizeof c->prefix, "%stransformers/%zu/", saved, i);
            if (wr < 0 || (size_t)wr >= sizeof c->prefix) {
                memcpy(c->prefix, saved, sizeof saved);
                rc = trove__model_fail(c, "part prefix too long");
                break;
            }
            const trove_value *cls = NULL;
            rc = bind_node(c, p, &n->u.ct.parts[i], &cls);
            memcpy(c->prefix, saved, sizeof saved);
            if (rc)
                break;
            mnode *s = n->u.ct.parts[i];
            if (is_predictor(s)) {
                rc = trove__model_fail(c, "model.transformers[%zu] predicts: parts must be "
                                          "transforms", i);
                break;
            }
            if (s->n_in != nc) {
                rc = trove__model_fail(c, "model.transformers[%zu] takes %zu features but lists "
                                          "%zu columns", i, s->n_in, nc);
                break;
            }
            w = s->n_raw;
            sneed = s->scratch > s->maxw ? s->scratch : s->maxw;
            sneed += s->maxw; /* a pipeline part's own two buffers are inside its scratch */
        }
        n->u.ct.off[i] = width;
        if (w > TROVE_MODEL_MAX_WIDTH - width) {
            rc = trove__model_fail(c, "more than %u output columns", TROVE_MODEL_MAX_WIDTH);
            break;
        }
        width += w;
        sneed += nc + w;
        need = sneed > need ? sneed : need;
    }
    c->nesting--;
    if (rc)
        return rc;
    if (width == 0)
        return trove__model_fail(c, "model.transformers give no output column");
    /* a text column feeds one part only (its codes mean nothing to another) */
    for (size_t i = 0; i < np; i++)
        for (size_t k = 0; n->u.ct.parts[i] && k < n->u.ct.ncols[i]; k++) {
            if (!col_vocab(n->u.ct.parts[i], k))
                continue;
            size_t col = n->u.ct.cols[i][k], uses = 0;
            for (size_t q = 0; q < np; q++)
                for (size_t r = 0; r < n->u.ct.ncols[q]; r++)
                    uses += n->u.ct.cols[q][r] == col;
            if (uses > 1)
                return trove__model_fail(c, "input column %zu is text for model.transformers[%zu] "
                                            "and is used elsewhere too", col, i);
        }
    n->n_raw = width;
    n->scratch = need;
    return TROVE_OK;
}

static int bind_pipeline(bindctx *c, const trove_value *cfg, mnode *n,
                         const trove_value **classes_out)
{
    const trove_value *steps = trove_value_get(cfg, "steps");
    size_t ns = trove_value_count(steps);
    if (trove_value_type_of(steps) != TROVE_VALUE_ARRAY || ns == 0)
        return trove__model_fail(c, "model.steps must be a non-empty array of model nodes");
    if (c->nesting >= TROVE_MODEL_MAX_NESTING)
        return trove__model_fail(c, "pipelines nested deeper than %u", TROVE_MODEL_MAX_NESTING);
    n->u.pipe.steps = trove__calloc(c->a, ns, sizeof(mnode *));
    if (!n->u.pipe.steps)
        return trove__fail(c->err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    n->u.pipe.n = ns;
    char saved[sizeof c->prefix];
    memcpy(saved, c->prefix, sizeof saved);
    int rc = TROVE_OK;
    c->nesting++;
    size_t maxw = 0, need_steps = 0;
    for (size_t i = 0; i < ns && rc == 0; i++) {
        int w = snprintf(c->prefix, sizeof c->prefix, "%ssteps/%zu/", saved, i);
        if (w < 0 || (size_t)w >= sizeof c->prefix) {
            memcpy(c->prefix, saved, sizeof saved);
            rc = trove__model_fail(c, "step prefix too long");
            break;
        }
        const trove_value *step = trove_value_at(steps, i);
        const trove_value *cls = NULL;
        rc = bind_node(c, step, &n->u.pipe.steps[i], &cls);
        if (rc)
            break;
        mnode *s = n->u.pipe.steps[i];
        if (i + 1 < ns && is_predictor(s)) {
            rc = trove__model_fail(c, "step %zu predicts: only the last step may", i);
            break;
        }
        if (i > 0 && s->n_in != n->u.pipe.steps[i - 1]->n_raw) {
            rc = trove__model_fail(c, "step %zu takes %zu features but step %zu gives %zu", i,
                                   s->n_in, i - 1, n->u.pipe.steps[i - 1]->n_raw);
            break;
        }
        if (i + 1 == ns)
            *classes_out = cls;
        maxw = s->n_in > maxw ? s->n_in : maxw;
        maxw = s->n_raw > maxw ? s->n_raw : maxw;
        need_steps = s->scratch > need_steps ? s->scratch : need_steps;
    }
    c->nesting--;
    memcpy(c->prefix, saved, sizeof saved);
    if (rc)
        return rc;
    mnode *first = n->u.pipe.steps[0], *last = n->u.pipe.steps[ns - 1];
    if (first->n_in != n->n_in)
        return trove__model_fail(c, "model.n_features %zu but the first step takes %zu", n->n_in,
                                 first->n_in);
    n->task = last->task;
    n->link = last->link;
    n->temperature = last->temperature;
    n->n_raw = last->n_raw;
    n->n_classes = last->n_classes;
    n->maxw = maxw;
    n->scratch = 2 * maxw + need_steps;
    return TROVE_OK;
}

static int bind_node(bindctx *c, const trove_value *meta, mnode **out,
                     const trove_value **classes_out)
{
    *out = NULL;
    *classes_out = NULL;
    if (trove_value_type_of(meta) != TROVE_VALUE_MAP)
        return trove__model_fail(c, "model node is not a map");
    const char *kind;
    if (trove_value_get_string(trove_value_get(meta, "kind"), &kind, NULL))
        return trove__model_fail(c, "no \"kind\" (a file of plain tensors is not a model)");
    int64_t kv = 1;
    const trove_value *kvv = trove_value_get(meta, "kind_version");
    if (kvv && trove_value_get_int(kvv, &kv))
        return trove__model_fail(c, "kind_version must be an integer");
    if (kv > 1)
        return trove__fail(c->err, TROVE_E_VERSION, TROVE_NO_OFFSET,
                           "model kind '%s' version %lld: this library reads version 1", kind,
                           (long long)kv);
    if (kv < 1)
        return trove__model_fail(c, "kind_version %lld is not valid", (long long)kv);
    static const struct { const char *name; mkind k; mtask t; } kinds[] = {
        {"linear", K_LINEAR, TASK_REGRESSION},   {"scaler", K_SCALER, TASK_TRANSFORM},
        {"imputer", K_IMPUTER, TASK_TRANSFORM},  {"onehot", K_ONEHOT, TASK_TRANSFORM},
        {"tree_ensemble", K_TREES, TASK_REGRESSION}, {"mlp", K_MLP, TASK_REGRESSION},
        {"pipeline", K_PIPELINE, TASK_TRANSFORM},   {"svm", K_SVM, TASK_REGRESSION},
        {"naive_bayes", K_NB, TASK_REGRESSION}, {"knn", K_KNN, TASK_REGRESSION},
        {"label_encoder", K_LABEL, TASK_TRANSFORM}, {"column_transformer", K_COLUMNS, TASK_TRANSFORM},
        {"kmeans", K_KMEANS, TASK_TRANSFORM}, {"decomposition", K_DECOMP, TASK_TRANSFORM},
        {"polynomial", K_POLY, TASK_TRANSFORM},
    };
    size_t ki = 0;
    while (ki < sizeof kinds / sizeof kinds[0] && strcmp(kinds[ki].name, kind))
        ki++;
    if (ki == sizeof kinds / sizeof kinds[0])
        return trove__model_fail(c, "unknown kind '%s'", kind);
    const trove_value *cfg = trove_value_get(meta, "model");
    if (trove_value_type_of(cfg) != TROVE_VALUE_MAP)
        return trove__model_fail(c, "kind '%s' needs a \"model\" map", kind);
    mnode *n = trove__calloc(c->a, 1, sizeof *n);
    if (!n)
        return trove__fail(c->err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    n->kind = kinds[ki].k;
    n->task = kinds[ki].t;
    n->link = LINK_IDENTITY;
    int rc = trove__meta_size(c, cfg, "n_features", 1, 0, &n->n_in);
    if (rc)
        goto fail;
    if (n->n_in == 0) {
        rc = trove__model_fail(c, "model.n_features is 0");
        goto fail;
    }
    if (n->kind == K_LINEAR || n->kind == K_TREES || n->kind == K_MLP || n->kind == K_SVM ||
        n->kind == K_NB || n->kind == K_KNN) {
        const char *task, *link;
        if ((rc = trove__meta_string(c, cfg, "task", NULL, &task)))
            goto fail;
        if (!strcmp(task, "classification")) {
            n->task = TASK_CLASSIFICATION;
        } else if (strcmp(task, "regression")) {
            rc = trove__model_fail(c, "model.task '%s': need regression or classification", task);
            goto fail;
        }
        if ((rc = trove__meta_string(c, cfg, "link", "identity", &link)))
            goto fail;
        static const char *links[] = {"identity", "logistic", "softmax", "ovr", "none", "exp"};
        int li = 0;
        while (li < 6 && strcmp(links[li], link))
            li++;
        if (li == 6) {
            rc = trove__model_fail(c, "model.link '%s' unknown", link);
            goto fail;
        }
        n->link = (mlink)li;
        if (n->kind >= K_SVM && n->link != LINK_IDENTITY) {
            rc = trove__model_fail(c, "model.link: kind '%s' has no link (leave it out)", kind);
            goto fail;
        }
        if (n->kind == K_TREES && n->link == LINK_NONE)
            n->link = LINK_PROBA; /* forests: the raw values are class probabilities */
        if (n->task == TASK_CLASSIFICATION) {
            const trove_value *cls = trove_value_get(cfg, "classes");
            n->n_classes = trove_value_count(cls);
            if (trove_value_type_of(cls) != TROVE_VALUE_ARRAY || n->n_classes < 2 ||
                n->n_classes > TROVE_MODEL_MAX_WIDTH) {
                rc = trove__model_fail(c, "model.classes must be an array of at least 2 labels");
                goto fail;
            }
            for (size_t i = 0; i < n->n_classes; i++) {
                trove_value_type t = trove_value_type_of(trove_value_at(cls, i));
                if (t != TROVE_VALUE_INT && t != TROVE_VALUE_UINT && t != TROVE_VALUE_FLOAT &&
                    t != TROVE_VALUE_STRING && t != TROVE_VALUE_BOOL) {
                    rc = trove__model_fail(c, "model.classes[%zu] is not a number or string", i);
                    goto fail;
                }
            }
            *classes_out = cls;
        }
    }
    switch (n->kind) {
    case K_LINEAR: rc = trove__bind_linear(c, cfg, n); break;
    case K_SCALER: rc = trove__bind_scaler(c, cfg, n); break;
    case K_IMPUTER: rc = trove__bind_imputer(c, cfg, n); break;
    case K_ONEHOT: rc = trove__bind_onehot(c, cfg, n); break;
    case K_TREES: rc = trove__bind_trees(c, cfg, n); break;
    case K_MLP: rc = trove__bind_mlp(c, cfg, n); break;
    case K_PIPELINE: rc = bind_pipeline(c, cfg, n, classes_out); break;
    case K_SVM: rc = trove__bind_svm(c, cfg, n); break;
    case K_NB: rc = trove__bind_nb(c, cfg, n); break;
    case K_KNN: rc = trove__bind_knn(c, cfg, n); break;
    case K_LABEL: rc = trove__bind_label(c, cfg, n); break;
    case K_COLUMNS: rc = bind_columns(c, cfg, n); break;
    case K_KMEANS: rc = trove__bind_kmeans(c, cfg, n); break;
    case K_DECOMP: rc = trove__bind_decomp(c, cfg, n); break;
    case K_POLY: rc = trove__bind_poly(c, cfg, n); break;
    }
    if (rc == 0 && n->kind == K_ONEHOT)
        rc = trove__bind_vocab(c, cfg, n);
    if (rc)
        goto fail;
    if (n->kind != K_PIPELINE) {
        n->maxw = n->n_in > n->n_raw ? n->n_in : n->n_raw;
        /* predictors keep raw and probabilities beside the kind's own scratch */
        if (is_predictor(n))
            n->scratch += n->n_raw + n->n_classes;
    }
    *out = n;
    return TROVE_OK;
fail:
    node_free(c->a, n);
    *classes_out = NULL;
    return rc;
}

/* The vocabulary of root input column j, or NULL: the first step of pipelines consumes the
 * input. */
static const trove_value *col_vocab(const mnode *n, size_t j)
{
    for (;;) {
        if (n->kind == K_PIPELINE) {
            n = n->u.pipe.steps[0];
            continue;
        }
        if (n->kind != K_COLUMNS)
            break;
        const mnode *next = NULL; /* the part that reads column j */
        for (size_t i = 0; !next && i < n->u.ct.n; i++)
            for (size_t k = 0; n->u.ct.parts[i] && k < n->u.ct.ncols[i]; k++)
                if (n->u.ct.cols[i][k] == j) {
                    next = n->u.ct.parts[i];
                    j = k;
                    break;
                }
        if (!next)
            return NULL;
        n = next;
    }
    if (!n->vocab)
        return NULL;
    if (n->kind == K_LABEL)
        return j == 0 ? n->vocab : NULL;
    const trove_value *v = trove_value_at(n->vocab, j);
    return trove_value_type_of(v) == TROVE_VALUE_ARRAY ? v : NULL;
}

static int ventry_cmp(const void *a, const void *b)
{
    const ventry *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, n);
    if (c)
        return c;
    return x->len < y->len ? -1 : x->len > y->len ? 1 : (x->code < y->code ? -1 : 1);
}

/* Copy the text vocabularies of the input columns (sorted, with their codes). */
static int copy_vocabs(trove_model *m, trove_error *err)
{
    const size_t nf = m->root->n_in;
    int any = 0;
    for (size_t j = 0; j < nf && !any; j++)
        any = col_vocab(m->root, j) != NULL;
    if (!any)
        return TROVE_OK;
    if (!(m->vocabs = trove__calloc(m->a, nf, sizeof(vocab))))
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    for (size_t j = 0; j < nf; j++) {
        const trove_value *v = col_vocab(m->root, j);
        size_t k = trove_value_count(v), bytes = 1;
        if (!v)
            continue;
        for (size_t i = 0; i < k; i++) {
            const char *str;
            size_t len = 0;
            (void)trove_value_get_string(trove_value_at(v, i), &str, &len);
            bytes += len + 1;
        }
        vocab *vc = &m->vocabs[j];
        vc->buf = trove__malloc(m->a, bytes);
        vc->e = trove__calloc(m->a, k ? k : 1, sizeof(ventry));
        if (!vc->buf || !vc->e)
            return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
        size_t at = 0;
        for (size_t i = 0; i < k; i++) {
            const char *str = "";
            size_t len = 0;
            (void)trove_value_get_string(trove_value_at(v, i), &str, &len);
            memcpy(vc->buf + at, str, len);
            vc->buf[at + len] = 0;
            vc->e[i] = (ventry){vc->buf + at, len, i};
            at += len + 1;
        }
        vc->n = k;
        qsort(vc->e, k, sizeof(ventry), ventry_cmp);
        for (size_t i = 1; i < k; i++)
            if (vc->e[i - 1].len == vc->e[i].len &&
                !memcmp(vc->e[i - 1].s, vc->e[i].s, vc->e[i].len))
                return trove__fail(err, TROVE_E_MODEL, TROVE_NO_OFFSET,
                                   "model: the text vocabulary of input column %zu lists '%.40s' "
                                   "twice", j, vc->e[i].s);
    }
    return TROVE_OK;
}

/* Copy of an array of class labels (int, uint, float, string, bool) made with allocator a. */
static trove_value *copy_classes(const trove_allocator *a, const trove_value *cls)
{
    trove_value *arr = trove_value_array(a);
    for (size_t i = 0; arr && i < trove_value_count(cls); i++) {
        const trove_value *v = trove_value_at(cls, i);
        trove_value *c = NULL;
        int64_t iv;
        uint64_t uv;
        double dv;
        const char *sv;
        size_t sl;
        int bv;
        switch (trove_value_type_of(v)) {
        case TROVE_VALUE_INT:
            if (trove_value_get_int(v, &iv) == TROVE_OK)
                c = trove_value_int(a, iv);
            break;
        case TROVE_VALUE_UINT:
            if (trove_value_get_uint(v, &uv) == TROVE_OK)
                c = trove_value_uint(a, uv);
            break;
        case TROVE_VALUE_FLOAT:
            if (trove_value_get_float(v, &dv) == TROVE_OK)
                c = trove_value_float(a, dv);
            break;
        case TROVE_VALUE_STRING:
            if (trove_value_get_string(v, &sv, &sl) == TROVE_OK)
                c = trove_value_string(a, sv, sl);
            break;
        case TROVE_VALUE_BOOL:
            if (trove_value_get_bool(v, &bv) == TROVE_OK)
                c = trove_value_bool(a, bv);
            break;
        default: break;
        }
        if (!c || trove_value_array_take(arr, c) != TROVE_OK) {
            trove_value_free(arr);
            return NULL;
        }
    }
    return arr;
}

TROVE_API int trove_model_open(trove_model **out, const trove_file *f,
                               const trove_allocator *alloc, trove_error *err)
{
    if (!out || !f)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_model_open: NULL");
    *out = NULL;
    const trove_allocator *a = trove__alloc_or_default(alloc);
    trove_model *m = trove__calloc(a, 1, sizeof *m);
    if (!m)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    m->a = a;
    bindctx c = {f, a, err, "", 0};
    const trove_value *meta = trove_file_metadata(f), *cls = NULL;
    int rc = bind_node(&c, meta, &m->root, &cls);
    if (rc)
        goto fail;
    const char *k = NULL;
    (void)trove_value_get_string(trove_value_get(meta, "kind"), &k, NULL);
    snprintf(m->kind, sizeof m->kind, "%s", k);
    m->need = m->root->scratch;
    if ((rc = copy_vocabs(m, err)))
        goto fail;
    if (cls) {
        m->classes = copy_classes(a, cls); /* with the model's allocator, not the file's */
        m->class_num = trove__calloc(a, m->root->n_classes, sizeof(double));
        if (!m->classes || !m->class_num) {
            rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
            goto fail;
        }
        m->classes_numeric = 1;
        for (size_t i = 0; i < m->root->n_classes; i++) {
            const trove_value *v = trove_value_at(cls, i);
            int b;
            if (trove_value_get_bool(v, &b) == TROVE_OK)
                m->class_num[i] = b;
            else if (trove_value_get_float(v, &m->class_num[i]) != TROVE_OK)
                m->classes_numeric = 0;
        }
    }
    /* feature names from the signature, when present they must match n_features */
    const trove_value *names = trove_value_path(meta, "signature.inputs.names");
    if (names && trove_value_type_of(names) != TROVE_VALUE_NULL) {
        size_t nn = trove_value_count(names);
        if (trove_value_type_of(names) != TROVE_VALUE_ARRAY || nn != m->root->n_in) {
            rc = trove__model_fail(&c, "signature.inputs.names must list %zu feature names",
                                   m->root->n_in);
            goto fail;
        }
        m->names = trove__calloc(a, nn, sizeof(char *));
        m->n_names = nn;
        if (!m->names) {
            rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
            goto fail;
        }
        for (size_t i = 0; i < nn; i++) {
            const char *s;
            size_t len;
            if (trove_value_get_string(trove_value_at(names, i), &s, &len)) {
                rc = trove__model_fail(&c, "signature.inputs.names[%zu] is not a string", i);
                goto fail;
            }
            if (!(m->names[i] = trove__strndup(a, s, len))) {
                rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
                goto fail;
            }
        }
    }
    *out = m;
    return TROVE_OK;
fail:
    trove_model_free(m);
    return rc;
}

TROVE_API void trove_model_free(trove_model *m)
{
    if (!m)
        return;
    const trove_allocator *a = m->a;
    for (size_t i = 0; m->names && i < m->n_names; i++)
        trove__free(a, m->names[i]);
    trove__free(a, m->names);
    trove_value_free(m->classes);
    trove__free(a, m->class_num);
    for (size_t j = 0; m->vocabs && m->root && j < m->root->n_in; j++) {
        trove__free(a, m->vocabs[j].buf);
        trove__free(a, m->vocabs[j].e);
    }
    trove__free(a, m->vocabs);
    node_free(a, m->root);
    trove__free(a, m);
}

/* ---- getters ----------------------------------------------------------------------------- */

TROVE_API const char *trove_model_kind(const trove_model *m)
{
    return m ? m->kind : NULL;
}

TROVE_API size_t trove_model_n_features(const trove_model *m)
{
    return m ? m->root->n_in : 0;
}

TROVE_API const char *trove_model_feature_name(const trove_model *m, size_t i)
{
    if (!m || !m->names || i >= m->root->n_in)
        return NULL;
    return m->names[i];
}

static size_t node_outputs(const mnode *n, trove_model_op op)
{
    if (n->kind == K_PIPELINE)
        return node_outputs(n->u.pipe.steps[n->u.pipe.n - 1], op);
    if (n->kind == K_COLUMNS)
        return op == TROVE_MODEL_TRANSFORM ? n->n_raw : 0;
    if (n->kind >= K_SVM)
        return trove__outputs_more(n, (int)op);
    switch (n->task) {
    case TASK_TRANSFORM: return op == TROVE_MODEL_TRANSFORM ? n->n_raw : 0;
    case TASK_REGRESSION: return op == TROVE_MODEL_PREDICT ? n->n_raw : 0;
    case TASK_CLASSIFICATION:
        if (op == TROVE_MODEL_PREDICT)
            return 1;
        if (op == TROVE_MODEL_PROBA)
            return n->link == LINK_NONE ? 0 : n->n_classes;
        if (op == TROVE_MODEL_DECISION)
            return (n->kind == K_MLP || n->link == LINK_PROBA) ? 0 : n->n_raw;
        return 0;
    }
    return 0;
}

TROVE_API size_t trove_model_n_outputs(const trove_model *m, trove_model_op op)
{
    return m ? node_outputs(m->root, op) : 0;
}

TROVE_API int trove_model_is_classifier(const trove_model *m)
{
    return m && m->root->task == TASK_CLASSIFICATION;
}

TROVE_API size_t trove_model_n_classes(const trove_model *m)
{
    return m ? m->root->n_classes : 0;
}

TROVE_API const trove_value *trove_model_class(const trove_model *m, size_t i)
{
    if (!m || !m->classes)
        return NULL;
    return trove_value_at(m->classes, i);
}

/* 0 when no part of n reads input column j (a column transformer drops it). */
static int col_used(const mnode *n, size_t j)
{
    for (;;) {
        if (n->kind == K_PIPELINE) {
            n = n->u.pipe.steps[0];
            continue;
        }
        if (n->kind != K_COLUMNS)
            return 1;
        const mnode *next = NULL;
        int found = 0;
        for (size_t i = 0; !found && i < n->u.ct.n; i++)
            for (size_t k = 0; k < n->u.ct.ncols[i]; k++)
                if (n->u.ct.cols[i][k] == j) {
                    found = 1;
                    next = n->u.ct.parts[i];
                    j = k;
                    break;
                }
        if (!found)
            return 0;
        if (!next)
            return 1; /* passthrough */
        n = next;
    }
}

TROVE_API int trove_model_input_is_used(const trove_model *m, size_t col)
{
    return m && col < m->root->n_in && col_used(m->root, col);
}

TROVE_API int trove_model_input_is_text(const trove_model *m, size_t col)
{
    return m && m->vocabs && col < m->root->n_in && m->vocabs[col].e;
}

TROVE_API int trove_model_text_code(double *code, const trove_model *m, size_t col,
                                    const char *s, size_t len, trove_error *err)
{
    if (!code || !m || (!s && len))
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "text_code: NULL argument");
    if (!trove_model_input_is_text(m, col))
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                           "input column %zu does not take text", col);
    const vocab *vc = &m->vocabs[col];
    size_t lo = 0, hi = vc->n;
    ventry key = {s ? s : "", len, 0};
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        ventry e = vc->e[mid];
        e.code = 0; /* compare text only */
        size_t n = e.len < len ? e.len : len;
        int c = memcmp(e.s, key.s, n);
        if (!c)
            c = e.len < len ? -1 : e.len > len ? 1 : 0;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *code = lo < vc->n && vc->e[lo].len == len && !memcmp(vc->e[lo].s, key.s, len)
                ? (double)vc->e[lo].code : -1.0;
    return TROVE_OK;
}

/* ---- running ----------------------------------------------------------------------------- */

static double expit(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

/* raw [R, n_raw] -> probabilities [R, n_classes] (may alias when widths agree). */
static void to_proba(const mnode *n, const double *raw, size_t R, double *p)
{
    const size_t K = n->n_classes, w = n->n_raw;
    /* dividing by 1 is exact: models without a temperature compute what they always did */
    const double T = n->temperature > 0 ? n->temperature : 1.0;
    switch (n->link) {
    case LINK_LOGISTIC:
        for (size_t r = R; r-- > 0;) { /* backwards: p may alias raw (width 1 -> 2) */
            double s = expit(raw[r] / T);
            p[2 * r] = 1.0 - s;
            p[2 * r + 1] = s;
        }
        break;
    case LINK_SOFTMAX:
        for (size_t r = R; w == 1 && r-- > 0;) { /* binary multinomial: softmax([-d, d]) */
            double d = raw[r] / T, mx = d > -d ? d : -d;
            double e0 = exp(-d - mx), e1 = exp(d - mx), s = e0 + e1;
            p[2 * r] = e0 / s;
            p[2 * r + 1] = e1 / s;
        }
        for (size_t r = 0; w > 1 && r < R; r++) {
            const double *v = raw + r * w;
            double *o = p + r * K, mx = v[0] / T, s = 0;
            for (size_t j = 1; j < K; j++)
                mx = v[j] / T > mx ? v[j] / T : mx;
            for (size_t j = 0; j < K; j++)
                s += (o[j] = exp(v[j] / T - mx));
            for (size_t j = 0; j < K; j++)
                o[j] /= s;
        }
        break;
    case LINK_OVR:
        for (size_t r = 0; r < R; r++) {
            const double *v = raw + r * w;
            double *o = p + r * K, s = 0;
            for (size_t j = 0; j < K; j++)
                s += (o[j] = expit(v[j]));
            for (size_t j = 0; j < K; j++)
                o[j] /= s;
        }
        break;
    default:
        if (p != raw)
            memcpy(p, raw, R * K * sizeof(double));
        break;
    }
}

static size_t argmax(const double *v, size_t k)
{
    size_t best = 0;
    for (size_t j = 1; j < k; j++)
        if (v[j] > v[best])
            best = j;
    return best;
}

static int run_node(const trove_model *m, const mnode *n, trove_model_op op, const double *in,
                    size_t R, double *out, double *tmp, size_t row0, trove_error *err)
{
    if (n->kind == K_PIPELINE) {
        double *bufs[2] = {tmp, tmp + R * n->maxw};
        double *rest = tmp + 2 * R * n->maxw;
        const double *x = in;
        for (size_t i = 0; i + 1 < n->u.pipe.n; i++) {
            const mnode *s = n->u.pipe.steps[i];
            int rc = s->kind == K_PIPELINE || s->kind == K_COLUMNS /* nodes of nodes */
                         ? run_node(m, s, TROVE_MODEL_TRANSFORM, x, R, bufs[i & 1], rest, row0, err)
                         : trove__run_raw(s, x, R, bufs[i & 1], rest, row0, err);
            if (rc)
                return rc;
            x = bufs[i & 1];
        }
        return run_node(m, n->u.pipe.steps[n->u.pipe.n - 1], op, x, R, out, rest, row0, err);
    }
    if (n->kind == K_COLUMNS) { /* gather each part's columns, run it, place its output */
        const size_t W = n->n_raw;
        for (size_t i = 0; i < n->u.ct.n; i++) {
            const size_t nc = n->u.ct.ncols[i], *cols = n->u.ct.cols[i];
            const mnode *s = n->u.ct.parts[i];
            double *xin = tmp, *y = tmp + R * nc, *rest = y + R * (s ? s->n_raw : 0);
            for (size_t r = 0; r < R; r++)
                for (size_t k = 0; k < nc; k++)
                    xin[r * nc + k] = in[r * n->n_in + cols[k]];
            size_t w = nc;
            if (s) {
                int rc = run_node(m, s, TROVE_MODEL_TRANSFORM, xin, R, y, rest, row0, err);
                if (rc)
                    return rc;
                w = s->n_raw;
            } else {
                y = xin;
            }
            for (size_t r = 0; r < R; r++)
                memcpy(out + r * W + n->u.ct.off[i], y + r * w, w * sizeof(double));
        }
        return TROVE_OK;
    }
    if (n->kind == K_KMEANS && op == TROVE_MODEL_PREDICT) { /* a transform that predicts */
        trove__kmeans_labels(n, in, R, out, tmp);
        return TROVE_OK;
    }
    if (!is_predictor(n))
        return trove__run_raw(n, in, R, out, tmp, row0, err);
    double *raw = tmp, *prob = tmp + R * n->n_raw, *kt = prob + R * n->n_classes;
    int rc = trove__run_raw(n, in, R, raw, kt, row0, err);
    if (rc)
        return rc;
    if (n->task == TASK_REGRESSION || (op == TROVE_MODEL_DECISION && n->kind < K_SVM)) {
        memcpy(out, raw, R * n->n_raw * sizeof(double));
        if (n->task == TASK_REGRESSION && n->link == LINK_EXP)
            for (size_t i = 0; i < R * n->n_raw; i++)
                out[i] = exp(out[i]);
        if (n->task == TASK_REGRESSION && n->link == LINK_LOGISTIC) { /* XGBoost reg:logistic */
            const double T = n->temperature > 0 ? n->temperature : 1.0; /* as for classifiers */
            for (size_t i = 0; i < R * n->n_raw; i++)
                out[i] = expit(out[i] / T);
        }
        return TROVE_OK;
    }
    if (n->kind >= K_SVM && n->task == TASK_CLASSIFICATION) {
        if ((rc = trove__finish_more(m->a, n, (int)op, raw, R, out, err)))
            return rc;
        for (size_t r = 0; op == TROVE_MODEL_PREDICT && r < R; r++)
            out[r] = m->classes_numeric ? m->class_num[(size_t)out[r]] : out[r];
        return TROVE_OK;
    }
    if (op == TROVE_MODEL_PROBA) {
        to_proba(n, raw, R, out);
        return TROVE_OK;
    }
    /* PREDICT on a classifier: the class index as sklearn picks it, then its label */
    const int from_raw = n->kind == K_LINEAR; /* linear models decide on the decision function */
    const int mlp_bin = n->kind == K_MLP && n->link == LINK_LOGISTIC; /* LabelBinarizer: > 0.5 */
    if (!from_raw && !mlp_bin)
        to_proba(n, raw, R, prob);
    for (size_t r = 0; r < R; r++) {
        size_t c;
        if (from_raw)
            c = n->n_raw == 1 ? (raw[r] > 0) : argmax(raw + r * n->n_raw, n->n_raw);
        else if (mlp_bin)
            c = expit(raw[r]) > 0.5;
        else
            c = argmax(prob + r * n->n_classes, n->n_classes);
        out[r] = m->classes_numeric ? m->class_num[c] : (double)c;
    }
    return TROVE_OK;
}

TROVE_API int trove_model_run(const trove_model *m, trove_model_op op, trove_dtype dtype,
                              const void *X, size_t rows, size_t cols, double *out,
                              size_t out_len, trove_error *err)
{
    if (!m || (rows && (!X || !out)))
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "predict: NULL argument");
    if (dtype != TROVE_FLOAT64 && dtype != TROVE_FLOAT32)
        return trove__fail(err, TROVE_E_SHAPE, TROVE_NO_OFFSET,
                           "predict: input dtype must be float32 or float64");
    const mnode *root = m->root;
    if (cols != root->n_in)
        return trove__fail(err, TROVE_E_SHAPE, TROVE_NO_OFFSET,
                           "predict: input has %zu columns, the model takes %zu features", cols,
                           root->n_in);
    size_t k = node_outputs(root, op);
    static const char *opn[] = {"predict", "predict_proba", "decision_function", "transform"};
    if ((unsigned)op > 3)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "predict: unknown op %d",
                           (int)op);
    if (k == 0)
        return trove__fail(err, TROVE_E_UNSUPPORTED, TROVE_NO_OFFSET,
                           "%s is not available for this model (kind '%s', %s)", opn[op],
                           m->kind, root->task == TASK_CLASSIFICATION ? "classifier"
                                    : root->task == TASK_REGRESSION ? "regressor"
                                                                    : "transformer");
    uint64_t need_out;
    if (!trove__mul_ok(rows, k, &need_out) || need_out > out_len)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                           "predict: output holds %zu values, %zu rows x %zu needed", out_len,
                           rows, k);
    if (rows == 0)
        return TROVE_OK;
    size_t R = rows < BLOCK_ROWS ? rows : BLOCK_ROWS;
    size_t per_row = cols + (m->need > root->maxw ? m->need : root->maxw) + root->maxw;
    double *buf = trove__malloc_aligned(m->a, R * per_row * sizeof(double), 64);
    if (!buf)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory for scratch");
    double *in = buf, *tmp = buf + R * cols;
    int rc = TROVE_OK;
    for (size_t r0 = 0; r0 < rows && rc == 0; r0 += R) {
        size_t nr = rows - r0 < R ? rows - r0 : R;
        if (dtype == TROVE_FLOAT64) {
            memcpy(in, (const double *)X + r0 * cols, nr * cols * sizeof(double));
        } else {
            const float *xf = (const float *)X + r0 * cols;
            for (size_t i = 0; i < nr * cols; i++)
                in[i] = (double)xf[i];
        }
        rc = run_node(m, root, op, in, nr, out + r0 * k, tmp, r0, err);
    }
    trove__free_aligned(m->a, buf);
    return rc;
}

TROVE_API int trove_model_predict(const trove_model *m, trove_dtype dtype, const void *X,
                                  size_t rows, size_t cols, double *out, size_t out_len,
                                  trove_error *err)
{
    return trove_model_run(m, TROVE_MODEL_PREDICT, dtype, X, rows, cols, out, out_len, err);
}

TROVE_API int trove_model_predict_proba(const trove_model *m, trove_dtype dtype, const void *X,
                                        size_t rows, size_t cols, double *out, size_t out_len,
                                        trove_error *err)
{
    return trove_model_run(m, TROVE_MODEL_PROBA, dtype, X, rows, cols, out, out_len, err);
}

TROVE_API int trove_model_decision_function(const trove_model *m, trove_dtype dtype,
                                            const void *X, size_t rows, size_t cols, double *out,
                                            size_t out_len, trove_error *err)
{
    return trove_model_run(m, TROVE_MODEL_DECISION, dtype, X, rows, cols, out, out_len, err);
}

TROVE_API int trove_model_transform(const trove_model *m, trove_dtype dtype, const void *X,
                                    size_t rows, size_t cols, double *out, size_t out_len,
                                    trove_error *err)
{
    return trove_model_run(m, TROVE_MODEL_TRANSFORM, dtype, X, rows, cols, out, out_len, err);
}
