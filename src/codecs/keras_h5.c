/* keras_h5.c: Keras HDF5 (.h5) importer, mapping side: decodes the extract stream of the
 * libhdf5 reader process (keras_h5_child.c), parses model_config (JSON, jansson) into a plan of
 * layers (Sequential or Functional linear chains of InputLayer, Dense, Activation, Dropout,
 * Flatten, BatchNormalization, nested models) and writes the mlp kind of docs/MODELS.md.
 * Everything else is refused naming the layer class and the reason. Keras 1, 2 and 3 layouts
 * alike: weights are assigned to layers the way Keras's own legacy HDF5 loader does it (by
 * order, then checked by shape). */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "codecs/keras_h5.h"

/* ---- decoded stream ------------------------------------------------------------------------ */
typedef struct kw {
    const char *name;
    int dt;                 /* KH5_DT_* */
    int h5class, h5size;
    uint32_t rank;
    uint64_t dims[KH5_MAX_RANK];
    uint64_t count;
    const void *data;       /* float (F16/F32) or double (F64), arena */
} kw;

typedef struct kl {
    const char *name;
    kw *w;
    size_t nw;
} kl;

typedef struct kfile {
    const char *config, *version, *backend;
    size_t config_len;
    bool model_weights, layer_names, keras3_weights;
    const char *top_weights; /* count of model-level weights, when any */
    kl *layers;
    size_t nl;
} kfile;

/* ---- the plan ------------------------------------------------------------------------------ */
/* the mlp kind's activations (docs/MODELS.md), in its order */
enum { A_ID, A_RELU, A_TANH, A_LOGISTIC, A_SOFTMAX, A_ELU, A_SELU, A_SOFTPLUS, A_SOFTSIGN,
       A_SWISH, A_GELU, A_EXP };
static const char *const ACT_NAME[] = {"identity", "relu",     "tanh",     "logistic",
                                       "softmax",  "elu",      "selu",     "softplus",
                                       "softsign", "swish",    "gelu",     "exponential"};

typedef enum { OP_DENSE, OP_ACT, OP_BN, OP_LEAKY } opkind;
typedef struct op {
    opkind k;
    int act;
    bool bias, frozen, center, scale;
    double eps;             /* BatchNormalization epsilon; LeakyReLU negative slope */
    int64_t units;
    long owner;             /* index among the top-level layers that hold weights */
    int nslot;              /* weights: Dense kernel[, bias]; BN [gamma][, beta], mean, var */
    bool train[4];          /* slot is a trainable weight (Keras stores those first) */
    size_t off[4];          /* index of each slot within its owner's weights */
    size_t seq;             /* config order (a Functional's ops are then put in chain order) */
    const char *name, *cls; /* borrowed from the JSON */
    const char *path;       /* Keras 3 archives: where the layer's variables are stored */
} op;

typedef struct kctx {
    pk_arena *a;
    const trove_allocator *alloc;
    trove_error *err;
    const kfile *f;
    op *ops;
    size_t n_ops, cap_ops;
    long n_owners;
    int64_t n_in;           /* from an input shape; 0 = unknown */
    int n_layers_seen;
    trove__model_out *m;
    int rc;                 /* sticky metadata failure */
    char pending[200];      /* a deferred refusal (input rank) */
    int64_t flat_w;         /* width of that input once flattened (0: unknown) */
    const json_t *in_shape; /* that input's batch shape, for the signature */
    bool oom;               /* an arena allocation failed while decoding */
    bool k3;                /* a .keras archive: weights by saving_lib path, not by order */
    const char *path;       /* k3: path of the layer being walked (NULL: the root model) */
    const char *prefix;     /* of every message: "Keras HDF5" or "Keras archive (.keras)" */
} kctx;

TROVE_PRINTF(3, 4)
static int kfail(kctx *k, int code, const char *fmt, ...)
{
    char why[240];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    for (char *p = why; *p; p++) /* names come from the file: no control characters */
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    return trove__fail(k->err, code, TROVE_NO_OFFSET, "%s: %s",
                       k->prefix ? k->prefix : "Keras HDF5", why);
}

/* ---- stream decoding ----------------------------------------------------------------------- */
typedef struct rd {
    const uint8_t *p;
    size_t n, at;
} rd;

static bool get_u(rd *r, int bytes, uint64_t *v)
{
    if (r->n - r->at < (size_t)bytes)
        return false;
    *v = 0;
    for (int i = 0; i < bytes; i++)
        *v |= (uint64_t)r->p[r->at + (size_t)i] << (8 * i);
    r->at += (size_t)bytes;
    return true;
}

static const char *get_str(kctx *k, rd *r, int lenbytes, size_t *len_out)
{
    uint64_t len;
    if (!get_u(r, lenbytes, &len) || len > r->n - r->at)
        return NULL;
    char *s = pk_alloc(k->a, (size_t)len + 1);
    if (!s) {
        k->oom = true;
        return NULL;
    }
    memcpy(s, r->p + r->at, (size_t)len);
    s[len] = 0;
    r->at += (size_t)len;
    if (len_out)
        *len_out = (size_t)len;
    return s;
}

/* A decoding failure: out of memory when an allocation failed, else a malformed stream. */
#define BAD(...)                                                                                   \
    (k->oom ? kfail(k, TROVE_E_NOMEM, "out of memory") : kfail(k, TROVE_E_CORRUPT, __VA_ARGS__))

static int decode(kctx *k, const uint8_t *s, size_t n, kfile *f)
{
    memset(f, 0, sizeof *f);
    rd r = {s, n, 0};
    if (n < 4 || memcmp(s, KH5_MAGIC, 4))
        return BAD("the HDF5 reader sent no result");
    r.at = 4;
    size_t cap = 0;
    for (;;) {
        if (r.at >= n)
            return BAD("the HDF5 reader stopped early (truncated result)");
        uint8_t tag = s[r.at++];
        if (tag == 'Z')
            return r.at == n ? TROVE_OK
                             : kfail(k, TROVE_E_CORRUPT, "trailing bytes after the reader's end");
        if (tag == 'E') {
            size_t len;
            const char *msg = get_str(k, &r, 4, &len);
            if (!msg)
                return BAD("truncated reader error");
            if (!trove__utf8_valid(msg, len))
                return BAD("HDF5 reader error (not UTF-8)");
            return kfail(k, TROVE_E_UNSUPPORTED, "%s", msg);
        }
        if (tag == 'A') {
            const char *name = get_str(k, &r, 2, NULL);
            size_t len = 0;
            const char *val = name ? get_str(k, &r, 4, &len) : NULL;
            if (!val)
                return BAD("truncated attribute record");
            if (!strcmp(name, "model_config")) {
                f->config = val;
                f->config_len = len;
            } else if (!strcmp(name, "keras_version") ||
                       (!f->version && !strcmp(name, "weights_keras_version"))) {
                f->version = val;
            } else if (!strcmp(name, "backend") ||
                       (!f->backend && !strcmp(name, "weights_backend"))) {
                f->backend = val;
            } else if (!strcmp(name, "model_weights")) {
                f->model_weights = true;
            } else if (!strcmp(name, "layer_names")) {
                f->layer_names = true;
            } else if (!strcmp(name, "keras3_weights")) {
                f->keras3_weights = true;
            } else if (!strcmp(name, "top_level_weights")) {
                f->top_weights = val;
            }
            continue;
        }
        if (tag != 'L')
            return BAD("unknown reader record 0x%02x", tag);
        uint64_t nw;
        const char *lname = get_str(k, &r, 2, NULL);
        if (!lname || !get_u(&r, 4, &nw))
            return BAD("truncated layer record");
        if (nw > KH5_MAX_WEIGHTS || f->nl >= KH5_MAX_LAYERS)
            return kfail(k, TROVE_E_LIMIT, "too many layers or weights (limit %d)",
                         KH5_MAX_LAYERS);
        if (f->nl == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            kl *nl = pk_alloc(k->a, ncap * sizeof *nl);
            if (!nl)
                return kfail(k, TROVE_E_NOMEM, "out of memory");
            if (f->nl)
                memcpy(nl, f->layers, f->nl * sizeof *nl);
            f->layers = nl;
            cap = ncap;
        }
        kl *L = &f->layers[f->nl++];
        L->name = lname;
        L->nw = (size_t)nw;
        L->w = pk_alloc(k->a, (nw ? (size_t)nw : 1) * sizeof *L->w);
        if (!L->w)
            return kfail(k, TROVE_E_NOMEM, "out of memory");
        memset(L->w, 0, (nw ? (size_t)nw : 1) * sizeof *L->w);
        for (size_t j = 0; j < L->nw; j++) {
            if (r.at < n && s[r.at] == 'E')
                break; /* the reader failed on this weight: its reason follows */
            kw *w = &L->w[j];
            uint64_t dt, cls, sz, rank;
            if (r.at >= n || s[r.at++] != 'W' || !(w->name = get_str(k, &r, 2, NULL)) ||
                !get_u(&r, 1, &dt) || !get_u(&r, 1, &cls) || !get_u(&r, 1, &sz) ||
                !get_u(&r, 1, &rank) || rank > KH5_MAX_RANK || dt > KH5_DT_F16)
                return BAD("bad weight record in layer '%s'", lname);
            w->dt = (int)dt;
            w->h5class = (int)cls;
            w->h5size = (int)sz;
            w->rank = (uint32_t)rank;
            w->count = 1;
            for (uint32_t d = 0; d < w->rank; d++)
                if (!get_u(&r, 8, &w->dims[d]) || w->dims[d] > KH5_MAX_DIM ||
                    !trove__mul_ok(w->count, w->dims[d], &w->count))
                    return BAD("bad weight shape in layer '%s'", lname);
            if (w->dt != KH5_DT_OTHER) {
                size_t isz = w->dt == KH5_DT_F64 ? 8 : 4;
                if (w->count > (n - r.at) / isz)
                    return BAD("truncated weight data in layer '%s'", lname);
                size_t bytes = (size_t)w->count * isz;
                void *d = pk_alloc(k->a, bytes ? bytes : 1);
                if (!d)
                    return kfail(k, TROVE_E_NOMEM, "out of memory");
                memcpy(d, s + r.at, bytes);
                r.at += bytes;
                w->data = d;
            }
        }
    }
}

/* ---- JSON helpers -------------------------------------------------------------------------- */
static const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* The name a Functional graph refers to a layer by: the entry's own "name" (Keras 2), else the
 * config's. */
static const char *node_name(const json_t *layer)
{
    const char *n = jstr(layer, "name");
    if (!n)
        n = jstr(json_object_get(layer, "config"), "name");
    return n ? n : "?";
}

static const char *layer_name(const json_t *layer)
{
    const char *n = jstr(json_object_get(layer, "config"), "name");
    if (!n)
        n = jstr(layer, "name");
    return n ? n : "?";
}

/* Keras activation name -> mlp activation; -1 unsupported. */
static int act_of(kctx *k, const json_t *v, const char *lname, int *out)
{
    const char *s = NULL;
    if (!v || json_is_null(v)) {
        *out = A_ID;
        return TROVE_OK;
    }
    if (json_is_string(v)) {
        s = json_string_value(v);
    } else if (json_is_object(v)) {
        /* Keras 3 may serialise a built-in as {"module": "keras.activations", "class_name":
         * "function", "config": "relu"} */
        const char *mod = jstr(v, "module");
        if (mod && (!strcmp(mod, "keras.activations") || !strcmp(mod, "keras.src.activations")))
            s = jstr(v, "config");
        if (!s)
            return kfail(k, TROVE_E_UNSUPPORTED, "layer '%s': a custom activation object "
                         "(Python code): not supported", lname);
    } else {
        return kfail(k, TROVE_E_MODEL, "layer '%s': activation is not a name", lname);
    }
    static const struct { const char *k; int a; } T[] = {
        {"linear", A_ID},         {"relu", A_RELU},         {"tanh", A_TANH},
        {"sigmoid", A_LOGISTIC},  {"softmax", A_SOFTMAX},   {"elu", A_ELU},
        {"selu", A_SELU},         {"softplus", A_SOFTPLUS}, {"softsign", A_SOFTSIGN},
        {"swish", A_SWISH},       {"silu", A_SWISH},        {"gelu", A_GELU},
        {"exponential", A_EXP}};
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++)
        if (!strcmp(s, T[i].k)) {
            *out = T[i].a;
            return TROVE_OK;
        }
    return kfail(k, TROVE_E_UNSUPPORTED, "layer '%s': activation '%.60s' is not supported by "
                 "trove's mlp kind (linear, relu, tanh, sigmoid, softmax, elu, selu, softplus, "
                 "softsign, swish, gelu, exponential)%s", lname, s,
                 strchr(s, '>') ? ": a custom activation" : "");
}

/* float32/float64 compute dtype (or none); anything else refused. */
static int check_dtype(kctx *k, const json_t *cfg, const char *lname)
{
    const json_t *d = json_object_get(cfg, "dtype");
    const char *s = NULL;
    if (!d || json_is_null(d))
        return TROVE_OK;
    if (json_is_string(d))
        s = json_string_value(d);
    else if (json_is_object(d))
        s = jstr(json_object_get(d, "config"), "name");
    if (s && (!strcmp(s, "float32") || !strcmp(s, "float64")))
        return TROVE_OK;
    return kfail(k, TROVE_E_UNSUPPORTED, "layer '%s': dtype policy '%.40s': only float32 and "
                 "float64 layers are supported", lname, s ? s : "?");
}

/* Width of a [batch, n] shape; 0 = absent. Higher ranks refused. */
static int shape_width(kctx *k, const json_t *shape, const char *lname, int64_t *w)
{
    *w = 0;
    if (!shape || json_is_null(shape))
        return TROVE_OK;
    if (!json_is_array(shape))
        return kfail(k, TROVE_E_MODEL, "layer '%s': input shape is not a list", lname);
    size_t r = json_array_size(shape);
    const json_t *last = json_array_get(shape, r - 1);
    if (r != 2) {
        /* reported after the walk, unless a layer class explains it better (LSTM, Conv2D) or a
         * Flatten comes first (then the model takes the input flattened in C order) */
        if (!k->pending[0] && k->n_ops == 0) {
            snprintf(k->pending, sizeof k->pending, "layer '%.60s': input of rank %zu: only "
                     "flat [batch, features] inputs (or a Flatten first) are supported (no "
                     "convolution or sequence input)", lname, r);
            uint64_t prod = r > 1 ? 1 : 0;
            for (size_t i = 1; i < r && prod; i++) {
                const json_t *d = json_array_get(shape, i);
                if (!json_is_integer(d) || json_integer_value(d) <= 0 ||
                    !trove__mul_ok(prod, (uint64_t)json_integer_value(d), &prod) ||
                    prod > TROVE_MODEL_MAX_WIDTH)
                    prod = 0;
            }
            k->flat_w = (int64_t)prod;
            k->in_shape = shape;
        }
        return TROVE_OK;
    }
    if (!json_is_integer(last) || json_integer_value(last) <= 0 ||
        json_integer_value(last) > (json_int_t)TROVE_MODEL_MAX_WIDTH)
        return kfail(k, TROVE_E_MODEL, "layer '%s': input width is not a positive integer",
                     lname);
    *w = (int64_t)json_integer_value(last);
    return TROVE_OK;
}

static int set_input(kctx *k, int64_t w, const char *lname)
{
    if (!w)
        return TROVE_OK;
    if (k->n_in && k->n_in != w && k->n_ops == 0)
        return kfail(k, TROVE_E_MODEL, "layer '%s': input width %lld differs from %lld",
                     lname, (long long)w, (long long)k->n_in);
    if (k->n_ops == 0)
        k->n_in = w;
    return TROVE_OK;
}

static int push_op(kctx *k, op o)
{
    if (k->n_ops == k->cap_ops) {
        size_t nc = k->cap_ops ? k->cap_ops * 2 : 32;
        if (nc > 4 * KH5_MAX_LAYERS)
            return kfail(k, TROVE_E_LIMIT, "more than %d layers", KH5_MAX_LAYERS);
        op *n = pk_alloc(k->a, nc * sizeof *n);
        if (!n)
            return kfail(k, TROVE_E_NOMEM, "out of memory");
        if (k->n_ops)
            memcpy(n, k->ops, k->n_ops * sizeof *n);
        k->ops = n;
        k->cap_ops = nc;
    }
    o.seq = k->n_ops;
    o.path = k->path;
    k->ops[k->n_ops++] = o;
    return TROVE_OK;
}

#define MERGE "a merge layer (the model branches)"
static const char *refusal(const char *c)
{
    static const struct { const char *pfx; const char *why; } R[] = {
        {"Conv", "a convolution layer"}, {"SeparableConv", "a convolution layer"},
        {"DepthwiseConv", "a convolution layer"}, {"MaxPool", "a pooling layer"},
        {"AveragePool", "a pooling layer"}, {"GlobalMaxPool", "a pooling layer"},
        {"GlobalAveragePool", "a pooling layer"}, {"LSTM", "a recurrent layer"},
        {"GRU", "a recurrent layer"}, {"SimpleRNN", "a recurrent layer"},
        {"RNN", "a recurrent layer"}, {"Bidirectional", "a recurrent layer"},
        {"ConvLSTM", "a recurrent layer"}, {"Embedding", "an embedding layer"},
        {"LayerNormalization", "a normalization layer"}, {"Normalization", "a preprocessing layer"},
        {"Attention", "an attention layer"}, {"MultiHeadAttention", "an attention layer"},
        {"Add", MERGE}, {"Concatenate", MERGE}, {"Multiply", MERGE}, {"Average", MERGE},
        {"Subtract", MERGE}, {"Maximum", MERGE}, {"Minimum", MERGE}, {"Dot", MERGE},
        {"Merge", MERGE},
        {"Lambda", "a Lambda layer (Python code, never executed)"},
        {"TFOpLambda", "a TensorFlow op layer (Python code, never executed)"},
        {"Reshape", "a reshaping layer"}, {"Permute", "a reshaping layer"},
        {"RepeatVector", "a reshaping layer"}, {"TimeDistributed", "a sequence wrapper"},
            {"ELU", "an activation layer with a parameter trove's mlp kind has no function for"},
    };
    for (size_t i = 0; i < sizeof R / sizeof R[0]; i++)
        if (!strncmp(c, R[i].pfx, strlen(R[i].pfx)))
            return R[i].why;
    return NULL;
}

static int walk_model(kctx *k, const json_t *model, int depth, long owner, bool frozen);

/* Keras's naming.to_snake_case of a class name: drop non-word characters, then
 * re.sub("(.)([A-Z][a-z]+)", r"\1_\2"), re.sub("([a-z])([A-Z])", r"\1_\2"), lower(). */
static char *snake(kctx *k, const char *cls)
{
    size_t n = strlen(cls);
    char *a = pk_alloc(k->a, 2 * n + 1), *b = pk_alloc(k->a, 4 * n + 1);
    if (!a || !b)
        return NULL;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)cls[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '_')
            a[m++] = (char)ch;
    }
    a[m] = 0;
#define UP(c) ((c) >= 'A' && (c) <= 'Z')
#define LO(c) ((c) >= 'a' && (c) <= 'z')
    size_t o = 0;
    for (size_t i = 0; i < m;) {
        if (i + 2 < m && UP(a[i + 1]) && LO(a[i + 2])) {
            size_t j = i + 2;
            while (j < m && LO(a[j]))
                j++;
            b[o++] = a[i];
            b[o++] = '_';
            for (size_t q = i + 1; q < j; q++)
                b[o++] = a[q];
            i = j;
        } else {
            b[o++] = a[i++];
        }
    }
    b[o] = 0;
    o = 0;
    for (size_t i = 0; b[i];) {
        if (LO(b[i]) && UP(b[i + 1])) {
            a[o++] = b[i];
            a[o++] = '_';
            a[o++] = b[i + 1];
            i += 2;
        } else {
            a[o++] = b[i++];
        }
    }
    a[o] = 0;
    for (size_t i = 0; i < o; i++)
        if (UP(a[i]))
            a[i] = (char)(a[i] - 'A' + 'a');
#undef UP
#undef LO
    return a;
}

/* A .keras archive: the weights path of each of a container's layers, as saving_lib's
 * _save_container_state names them: <model path>/layers/<snake_case class>, then _1, _2, ...
 * for the next layers of the same class. *out = NULL when not an archive. */
static int k3_paths(kctx *k, const json_t *layers, size_t n, const char ***out)
{
    *out = NULL;
    if (!k->k3)
        return TROVE_OK;
    const char **sn = pk_alloc(k->a, n * sizeof *sn), **paths = pk_alloc(k->a, n * sizeof *paths);
    if (!sn || !paths)
        return kfail(k, TROVE_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *cls = jstr(json_array_get(layers, i), "class_name");
        if (!(sn[i] = snake(k, cls ? cls : "")))
            return kfail(k, TROVE_E_NOMEM, "out of memory");
        size_t same = 0;
        for (size_t j = 0; j < i; j++)
            same += !strcmp(sn[j], sn[i]);
        size_t len = (k->path ? strlen(k->path) + 1 : 0) + strlen(sn[i]) + 32;
        char *p = pk_alloc(k->a, len);
        if (!p)
            return kfail(k, TROVE_E_NOMEM, "out of memory");
        int w = same ? snprintf(p, len, "%s%slayers/%s_%zu", k->path ? k->path : "",
                                k->path ? "/" : "", sn[i], same)
                     : snprintf(p, len, "%s%slayers/%s", k->path ? k->path : "",
                                k->path ? "/" : "", sn[i]);
        if (w < 0 || (size_t)w >= len || (size_t)w > KH5_MAX_NAME - 24)
            return kfail(k, TROVE_E_LIMIT, "layer paths longer than %d bytes", KH5_MAX_NAME - 24);
        paths[i] = p;
    }
    *out = paths;
    return TROVE_OK;
}

/* A Sequential's layer list, or NULL. */
static const json_t *seq_layers(const json_t *cfg)
{
    return json_is_array(cfg) ? cfg : json_object_get(cfg, "layers");
}

static bool is_model_class(const char *c)
{
    return !strcmp(c, "Sequential") || !strcmp(c, "Functional") || !strcmp(c, "Model");
}

/* LeakyReLU (slope from the config; Keras's default 0.3) or PReLU (slopes: its one weight). */
static int leaky_op(kctx *k, const char *name, const char *cls, const json_t *slope, bool frozen,
                    long owner)
{
    op o = {.k = OP_LEAKY, .name = name, .cls = cls, .owner = owner, .act = A_ID, .eps = 0.3,
            .frozen = frozen};
    if (!strcmp(cls, "PReLU")) {
        o.nslot = 1;
        o.train[0] = !frozen;
    } else if (slope && !json_is_null(slope)) {
        if (!json_is_number(slope) || !isfinite(json_number_value(slope)))
            return kfail(k, TROVE_E_MODEL, "%s '%s': the negative slope is not a number", cls,
                         name);
        o.eps = json_number_value(slope);
    }
    return push_op(k, o);
}

static int walk_layer(kctx *k, const json_t *layer, int depth, long owner, bool frozen)
{
    if (!json_is_object(layer))
        return kfail(k, TROVE_E_MODEL, "a layer entry is not an object");
    if (++k->n_layers_seen > KH5_MAX_LAYERS)
        return kfail(k, TROVE_E_LIMIT, "more than %d layers", KH5_MAX_LAYERS);
    const char *cls = jstr(layer, "class_name");
    const json_t *cfg = json_object_get(layer, "config");
    const char *name = layer_name(layer);
    if (!cls)
        return kfail(k, TROVE_E_MODEL, "layer '%s' has no class_name", name);
    const char *mod = jstr(layer, "module"), *reg = jstr(layer, "registered_name");
    bool custom = strchr(cls, '>') != NULL || (reg && strchr(reg, '>')) ||
                  (mod && strncmp(mod, "keras", 5) && strncmp(mod, "tf_keras", 8) &&
                   strncmp(mod, "tensorflow", 10));
    if (custom)
        return kfail(k, TROVE_E_UNSUPPORTED, "layer '%s' of class %.60s: a custom layer (Python "
                     "code): not supported", name, cls);
    if (!json_is_object(cfg) && !is_model_class(cls))
        return kfail(k, TROVE_E_MODEL, "layer '%s' (%s) has no config", name, cls);
    bool lfrozen = frozen || json_is_false(json_object_get(cfg, "trainable"));
    if (is_model_class(cls))
        return walk_model(k, layer, depth + 1, owner, lfrozen);
    int rc = check_dtype(k, cfg, name);
    if (rc)
        return rc;
    int64_t w = 0;
    if (!strcmp(cls, "InputLayer")) {
        const json_t *shp = json_object_get(cfg, "batch_shape");
        if (!shp)
            shp = json_object_get(cfg, "batch_input_shape");
        if (json_is_true(json_object_get(cfg, "sparse")) ||
            json_is_true(json_object_get(cfg, "ragged")))
            return kfail(k, TROVE_E_UNSUPPORTED, "InputLayer '%s': sparse or ragged input: not "
                         "supported", name);
        if ((rc = shape_width(k, shp, name, &w)))
            return rc;
        return set_input(k, w, name);
    }
    if ((rc = shape_width(k, json_object_get(cfg, "batch_input_shape"), name, &w)) ||
        (rc = set_input(k, w, name)))
        return rc;
    if (!strcmp(cls, "Dense")) {
        const json_t *u = json_object_get(cfg, "units");
        if (!u)
            u = json_object_get(cfg, "output_dim"); /* Keras 1 */
        if (!json_is_integer(u) || json_integer_value(u) <= 0 ||
            json_integer_value(u) > (json_int_t)TROVE_MODEL_MAX_WIDTH)
            return kfail(k, TROVE_E_MODEL, "Dense '%s': units is not a positive integer", name);
        const json_t *lora = json_object_get(cfg, "lora_rank");
        if (lora && !json_is_null(lora) && !(json_is_integer(lora) && !json_integer_value(lora)))
            return kfail(k, TROVE_E_UNSUPPORTED, "Dense '%s': LoRA weights: not supported", name);
        const json_t *q = json_object_get(cfg, "quantization_config");
        if (q && !json_is_null(q))
            return kfail(k, TROVE_E_UNSUPPORTED, "Dense '%s': a quantized layer: not supported",
                         name);
        const json_t *ub = json_object_get(cfg, "use_bias");
        if (!ub)
            ub = json_object_get(cfg, "bias"); /* Keras 1 */
        if (ub && !json_is_boolean(ub))
            return kfail(k, TROVE_E_MODEL, "Dense '%s': use_bias is not a boolean", name);
        op o = {.k = OP_DENSE, .bias = !ub || json_is_true(ub), .frozen = lfrozen,
                .units = (int64_t)json_integer_value(u), .owner = owner, .name = name,
                .cls = cls};
        o.nslot = o.bias ? 2 : 1;
        o.train[0] = o.train[1] = !lfrozen;
        if ((rc = act_of(k, json_object_get(cfg, "activation"), name, &o.act)))
            return rc;
        return push_op(k, o);
    }
    if (!strcmp(cls, "BatchNormalization")) {
        const json_t *ax = json_object_get(cfg, "axis");
        if (json_is_array(ax) && json_array_size(ax) == 1)
            ax = json_array_get(ax, 0);
        if (ax && !(json_is_integer(ax) && (json_integer_value(ax) == -1 ||
                                            json_integer_value(ax) == 1)))
            return kfail(k, TROVE_E_UNSUPPORTED, "BatchNormalization '%s': only the feature axis "
                         "(-1) of a flat input is supported", name);
        const json_t *rn = json_object_get(cfg, "renorm"), *vb =
            json_object_get(cfg, "virtual_batch_size");
        if (json_is_true(rn) || (vb && !json_is_null(vb)))
            return kfail(k, TROVE_E_UNSUPPORTED, "BatchNormalization '%s': renorm or "
                         "virtual_batch_size: not supported", name);
        const json_t *ep = json_object_get(cfg, "epsilon");
        op o = {.k = OP_BN, .frozen = lfrozen, .owner = owner, .name = name, .cls = cls,
                .act = A_ID, .eps = ep ? json_number_value(ep) : 1e-3,
                .center = !json_is_false(json_object_get(cfg, "center")),
                .scale = !json_is_false(json_object_get(cfg, "scale"))};
        if (ep && !json_is_number(ep))
            return kfail(k, TROVE_E_MODEL, "BatchNormalization '%s': epsilon is not a number",
                         name);
        if (!(o.eps >= 0 && o.eps < 1e3))
            return kfail(k, TROVE_E_MODEL, "BatchNormalization '%s': epsilon out of range", name);
        if (o.scale)
            o.train[o.nslot++] = !lfrozen;
        if (o.center)
            o.train[o.nslot++] = !lfrozen;
        o.train[o.nslot++] = false; /* moving_mean */
        o.train[o.nslot++] = false; /* moving_variance */
        return push_op(k, o);
    }
    if (!strcmp(cls, "Activation") || !strcmp(cls, "ReLU") || !strcmp(cls, "Softmax")) {
        op o = {.k = OP_ACT, .name = name, .cls = cls, .owner = -1};
        if (!strcmp(cls, "Activation")) {
            if ((rc = act_of(k, json_object_get(cfg, "activation"), name, &o.act)))
                return rc;
        } else if (!strcmp(cls, "ReLU")) {
            const json_t *mv = json_object_get(cfg, "max_value"),
                         *ns = json_object_get(cfg, "negative_slope"),
                         *th = json_object_get(cfg, "threshold");
            if ((mv && !json_is_null(mv)) || (th && json_number_value(th) != 0.0))
                return kfail(k, TROVE_E_UNSUPPORTED, "ReLU '%s' with max_value or threshold: "
                             "not supported by trove's mlp kind", name);
            if (ns && json_number_value(ns) != 0.0)
                return leaky_op(k, name, cls, ns, lfrozen, owner);
            o.act = A_RELU;
        } else {
            const json_t *ax = json_object_get(cfg, "axis");
            if (ax && !(json_is_integer(ax) && (json_integer_value(ax) == -1 ||
                                                json_integer_value(ax) == 1)))
                return kfail(k, TROVE_E_UNSUPPORTED, "Softmax '%s': only the last axis", name);
            o.act = A_SOFTMAX;
        }
        return push_op(k, o);
    }
    if (!strcmp(cls, "LeakyReLU")) {
        const json_t *al = json_object_get(cfg, "negative_slope"); /* Keras 3 */
        if (!al)
            al = json_object_get(cfg, "alpha"); /* Keras 1-2 */
        return leaky_op(k, name, cls, al, lfrozen, owner);
    }
    if (!strcmp(cls, "PReLU")) {
        const json_t *sa = json_object_get(cfg, "shared_axes");
        if (sa && !json_is_null(sa))
            return kfail(k, TROVE_E_UNSUPPORTED, "PReLU '%s' with shared_axes: not supported",
                         name);
        return leaky_op(k, name, cls, NULL, lfrozen, owner);
    }
    if (!strcmp(cls, "Flatten")) {
        if (k->pending[0] && k->n_ops == 0 && k->flat_w) { /* an N-d input, flattened first */
            k->pending[0] = 0;
            k->n_in = k->flat_w;
            return TROVE_OK;
        }
        if (k->pending[0])
            return kfail(k, TROVE_E_UNSUPPORTED, "Flatten '%s' of an input of rank > 2 after "
                         "other layers, or with unknown dimensions: not supported", name);
        return TROVE_OK; /* the input is already flat */
    }
    if (!strcmp(cls, "Dropout") || !strcmp(cls, "AlphaDropout") ||
        !strcmp(cls, "GaussianDropout") || !strcmp(cls, "GaussianNoise") ||
        !strcmp(cls, "ActivityRegularization"))
        return TROVE_OK; /* identity at inference */
    const char *why = refusal(cls);
    if (why)
        return kfail(k, TROVE_E_UNSUPPORTED, "layer '%s' of class %.60s: %s: not supported by "
                     "trove's model kinds", name, cls, why);
    return kfail(k, TROVE_E_UNSUPPORTED, "layer '%s' of class %.60s: unknown layer class (a "
                 "custom layer?): not supported", name, cls);
}

/* Functional: inbound layer of a layer (NULL: none). Keras 2: [[["name", 0, 0, {}]]];
 * Keras 3: [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history":
 * ["name", 0, 0]}}], "kwargs": {}}]. */
static int inbound_of(kctx *k, const json_t *layer, const char *lname, const char **src)
{
    *src = NULL;
    const json_t *nodes = json_object_get(layer, "inbound_nodes");
    if (!nodes || (json_is_array(nodes) && json_array_size(nodes) == 0))
        return TROVE_OK;
    if (!json_is_array(nodes))
        return kfail(k, TROVE_E_MODEL, "layer '%s': inbound_nodes is not a list", lname);
    if (json_array_size(nodes) != 1)
        return kfail(k, TROVE_E_UNSUPPORTED, "layer '%s' is called %zu times (a shared layer): "
                     "only linear chains are supported", lname, json_array_size(nodes));
    const json_t *node = json_array_get(nodes, 0), *hist = NULL, *kwargs = NULL;
    if (json_is_array(node)) {
        if (json_array_size(node) != 1)
            return kfail(k, TROVE_E_UNSUPPORTED, "layer '%s' takes %zu inputs (the model "
                         "branches): only linear chains are supported", lname,
                         json_array_size(node));
        hist = json_array_get(node, 0);
        kwargs = json_array_get(hist, 3);
    } else if (json_is_object(node)) {
        const json_t *args = json_object_get(node, "args");
        if (!json_is_array(args) || json_array_size(args) != 1 ||
            !json_is_object(json_array_get(args, 0)))
            return kfail(k, TROVE_E_UNSUPPORTED, "layer '%s' takes %zu inputs (the model "
                         "branches): only linear chains are supported", lname,
                         json_is_array(args) ? json_array_size(args) : 0);
        hist = json_object_get(json_object_get(json_array_get(args, 0), "config"),
                               "keras_history");
        kwargs = json_object_get(node, "kwargs");
    }
    if (!json_is_array(hist) || json_array_size(hist) < 3 ||
        !json_is_string(json_array_get(hist, 0)))
        return kfail(k, TROVE_E_MODEL, "layer '%s': unreadable inbound node", lname);
    if (json_integer_value(json_array_get(hist, 1)) != 0 ||
        json_integer_value(json_array_get(hist, 2)) != 0)
        return kfail(k, TROVE_E_UNSUPPORTED, "layer '%s': input from a second call or output of "
                     "'%s': only linear chains are supported", lname,
                     json_string_value(json_array_get(hist, 0)));
    if (kwargs && json_is_object(kwargs)) {
        const char *key;
        const json_t *v;
        json_object_foreach((json_t *)kwargs, key, v) {
            if (strcmp(key, "training") && strcmp(key, "mask"))
                return kfail(k, TROVE_E_UNSUPPORTED, "layer '%s' is called with argument '%.40s'"
                             ": not supported", lname, key);
            if (!strcmp(key, "mask") && !json_is_null(v))
                return kfail(k, TROVE_E_UNSUPPORTED, "layer '%s' is called with a mask", lname);
        }
    }
    *src = json_string_value(json_array_get(hist, 0));
    return TROVE_OK;
}

/* ["name", 0, 0] or [["name", 0, 0]] -> the one name; NULL if not exactly one. */
static const char *single_io(const json_t *v, size_t *count)
{
    *count = 0;
    if (!json_is_array(v) || !json_array_size(v))
        return NULL;
    if (json_is_string(json_array_get(v, 0))) {
        *count = 1;
        return json_string_value(json_array_get(v, 0));
    }
    *count = json_array_size(v);
    if (*count != 1)
        return NULL;
    return json_string_value(json_array_get(json_array_get(v, 0), 0));
}

static int assign_offsets(kctx *k, size_t from, long owner);

/* One layer of a model; at the top level (owner < 0) a layer whose plan holds Dense layers is
 * the next weight owner (Keras matches layer_names to such layers by order). */
static int walk_owned(kctx *k, const json_t *layer, int depth, long owner, bool frozen)
{
    size_t from = k->n_ops;
    bool top = owner < 0;
    int rc = walk_layer(k, layer, depth, top ? k->n_owners : owner, frozen);
    if (rc || !top)
        return rc;
    for (size_t j = from; j < k->n_ops; j++)
        if (k->ops[j].nslot > 0)
            return assign_offsets(k, from, k->n_owners++);
    return TROVE_OK;
}

static int walk_functional(kctx *k, const json_t *cfg, const char *mname, int depth, long owner,
                           bool frozen)
{
    const json_t *layers = json_object_get(cfg, "layers");
    size_t n = json_array_size(layers), cnt;
    if (!json_is_array(layers) || n == 0)
        return kfail(k, TROVE_E_MODEL, "model '%s' has no layers", mname);
    if (n > KH5_MAX_LAYERS)
        return kfail(k, TROVE_E_LIMIT, "model '%s': more than %d layers", mname, KH5_MAX_LAYERS);
    const char *in = single_io(json_object_get(cfg, "input_layers"), &cnt);
    if (!in)
        return kfail(k, TROVE_E_UNSUPPORTED, "model '%s' has %zu inputs: only one is supported",
                     mname, cnt);
    const char *out = single_io(json_object_get(cfg, "output_layers"), &cnt);
    if (!out)
        return kfail(k, TROVE_E_UNSUPPORTED, "model '%s' has %zu outputs: only one is supported",
                     mname, cnt);
    /* walk back from the output to the input */
    size_t *chain = pk_alloc(k->a, n * sizeof *chain), len = 0;
    bool *seen = pk_alloc(k->a, n);
    size_t *seg = pk_alloc(k->a, (n + 1) * sizeof *seg);
    if (!chain || !seen || !seg)
        return kfail(k, TROVE_E_NOMEM, "out of memory");
    memset(seen, 0, n);
    const char *cur = out;
    int rc;
    while (cur) {
        size_t i = 0;
        for (; i < n; i++)
            if (!strcmp(node_name(json_array_get(layers, i)), cur))
                break;
        if (i == n)
            return kfail(k, TROVE_E_MODEL, "model '%s': no layer named '%.60s'", mname, cur);
        if (seen[i])
            return kfail(k, TROVE_E_MODEL, "model '%s': a cycle through '%.60s'", mname, cur);
        seen[i] = true;
        chain[len++] = i;
        if ((rc = inbound_of(k, json_array_get(layers, i), cur, &cur)))
            return rc;
        if (!cur && strcmp(node_name(json_array_get(layers, i)), in))
            return kfail(k, TROVE_E_MODEL, "model '%s': the chain from the output ends at '%.60s'"
                         ", not at the input '%.60s'", mname,
                         layer_name(json_array_get(layers, i)), in);
    }
    for (size_t i = 0; i < n; i++)
        if (!seen[i])
            return kfail(k, TROVE_E_UNSUPPORTED, "model '%s': layer '%.60s' is not on the path "
                         "from the input to the output (the model branches): only linear chains "
                         "are supported", mname, layer_name(json_array_get(layers, i)));
    /* ops of each layer in config order (the order Keras assigns weights in), then reordered
     * into the chain's order */
    size_t base = k->n_ops;
    const char **paths, *saved = k->path;
    if ((rc = k3_paths(k, layers, n, &paths)))
        return rc;
    for (size_t i = 0; i < n; i++) {
        seg[i] = k->n_ops;
        k->path = paths ? paths[i] : saved;
        rc = walk_owned(k, json_array_get(layers, i), depth, owner, frozen);
        k->path = saved;
        if (rc)
            return rc;
    }
    seg[n] = k->n_ops;
    size_t nops = k->n_ops - base;
    if (nops) {
        op *tmp = pk_alloc(k->a, nops * sizeof *tmp);
        if (!tmp)
            return kfail(k, TROVE_E_NOMEM, "out of memory");
        size_t t = 0;
        for (size_t c = len; c-- > 0;) {
            size_t i = chain[c];
            for (size_t j = seg[i]; j < seg[i + 1]; j++)
                tmp[t++] = k->ops[j];
        }
        memcpy(k->ops + base, tmp, nops * sizeof *tmp);
    }
    return TROVE_OK;
}

/* Assign weight offsets within one top-level owner as Keras orders them: trainable weights of
 * the sublayers first, then the non-trainable ones (layer.trainable_weights +
 * layer.non_trainable_weights). */
static int by_seq(const void *a, const void *b)
{
    const op *x = *(const op *const *)a, *y = *(const op *const *)b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int assign_offsets(kctx *k, size_t from, long owner)
{
    size_t n = k->n_ops - from, off = 0;
    op **v = pk_alloc(k->a, (n ? n : 1) * sizeof *v);
    if (!v)
        return kfail(k, TROVE_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        v[i] = &k->ops[from + i];
    qsort(v, n, sizeof *v, by_seq); /* the layers' config order, as Keras lists weights */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++) {
            op *o = v[i];
            o->owner = o->nslot ? owner : -1;
            for (int j = 0; j < o->nslot; j++)
                if (o->train[j] == (pass == 0))
                    o->off[j] = off++;
        }
    return TROVE_OK;
}

static int walk_model(kctx *k, const json_t *model, int depth, long owner, bool frozen)
{
    const char *cls = jstr(model, "class_name");
    const json_t *cfg = json_object_get(model, "config");
    const char *mname = json_is_object(cfg) && jstr(cfg, "name") ? jstr(cfg, "name") : "?";
    if (depth > KH5_MAX_DEPTH)
        return kfail(k, TROVE_E_LIMIT, "models nested deeper than %d", KH5_MAX_DEPTH);
    if (!cls || !is_model_class(cls))
        return kfail(k, TROVE_E_UNSUPPORTED, "%s: class %.60s is not a Sequential or "
                     "Functional model", k->k3 ? "config.json" : "model_config",
                     cls ? cls : "(none)");
    if (json_is_object(cfg)) {
        int rc = check_dtype(k, cfg, mname);
        if (rc)
            return rc;
    }
    if (!strcmp(cls, "Sequential")) {
        const json_t *layers = seq_layers(cfg);
        size_t n = json_array_size(layers);
        if (!json_is_array(layers) || n == 0)
            return kfail(k, TROVE_E_MODEL, "Sequential '%s' has no layers", mname);
        if (n > KH5_MAX_LAYERS)
            return kfail(k, TROVE_E_LIMIT, "Sequential '%s': more than %d layers", mname,
                         KH5_MAX_LAYERS);
        int64_t w = 0;
        int rc;
        if (json_is_object(cfg) && k->n_ops == 0 &&
            ((rc = shape_width(k, json_object_get(cfg, "build_input_shape"), mname, &w)) ||
             (rc = set_input(k, w, mname))))
            return rc;
        const char **paths, *saved = k->path;
        if ((rc = k3_paths(k, layers, n, &paths)))
            return rc;
        for (size_t i = 0; i < n; i++) {
            k->path = paths ? paths[i] : saved;
            rc = walk_owned(k, json_array_get(layers, i), depth, owner, frozen);
            k->path = saved;
            if (rc)
                return rc;
        }
        return TROVE_OK;
    }
    if (!json_is_object(cfg))
        return kfail(k, TROVE_E_MODEL, "model '%s' has no config", mname);
    return walk_functional(k, cfg, mname, depth, owner, frozen);
}

/* ---- the mlp ------------------------------------------------------------------------------- */
typedef struct lay {
    const op *dense;        /* NULL: an identity layer carrying an activation */
    int act;
    int part;               /* LeakyReLU/PReLU: 1 = [x; -x] through relu, 2 = recombination */
} lay;

static void mset(kctx *k, trove_value *map, const char *key, trove_value *v)
{
    trove__out_set(&k->rc, map, key, v);
}

static void apush(kctx *k, trove_value *arr, trove_value *v)
{
    trove__out_push(&k->rc, arr, v);
}

static trove_value *vstr(kctx *k, const char *s)
{
    return trove_value_cstring(k->alloc, s);
}

static void *tensor(kctx *k, const char *name, trove_dtype dt, uint32_t rank, uint64_t d0,
                    uint64_t d1)
{
    return trove__out_tensor(k->a, k->m, "", name, dt, rank, d0, d1);
}

static double wval(const kw *w, uint64_t i)
{
    return w->dt == KH5_DT_F64 ? ((const double *)w->data)[i] : (double)((const float *)w->data)[i];
}

static int check_weight(kctx *k, const op *o, const kl *L, const kw *w, const char *what,
                        uint32_t rank, uint64_t d0, uint64_t d1)
{
    if (w->dt == KH5_DT_OTHER)
        return kfail(k, TROVE_E_UNSUPPORTED, "%s '%s': %s '%.80s' in group '%.60s' has HDF5 "
                     "type class %d of %d bytes: only float16/32/64 weights are supported",
                     o->cls, o->name, what, w->name, L->name, w->h5class, w->h5size);
    if (w->rank != rank || w->dims[0] != d0 || (rank == 2 && w->dims[1] != d1)) {
        char got[96] = "", exp[64];
        size_t p = 0;
        for (uint32_t i = 0; i < w->rank && p < sizeof got - 24; i++)
            p += (size_t)snprintf(got + p, sizeof got - p, "%s%llu", i ? ", " : "",
                                  (unsigned long long)w->dims[i]);
        if (rank == 2)
            snprintf(exp, sizeof exp, "[%llu, %llu]", (unsigned long long)d0,
                     (unsigned long long)d1);
        else
            snprintf(exp, sizeof exp, "[%llu]", (unsigned long long)d0);
        return kfail(k, TROVE_E_MODEL, "%s '%s': %s '%.80s' has shape [%s], the config needs "
                     "%s", o->cls, o->name, what, w->name, got, exp);
    }
    for (uint64_t i = 0; i < w->count; i++)
        if (!isfinite(wval(w, i)))
            return kfail(k, TROVE_E_MODEL, "%s '%s': %s '%.80s' holds a non-finite value at "
                         "%llu", o->cls, o->name, what, w->name, (unsigned long long)i);
    return TROVE_OK;
}

/* BatchNormalization at inference, as a dense layer with a diagonal kernel:
 * y = (x - mean) / sqrt(var + eps) * gamma + beta = x * s + t, s = gamma / sqrt(var + eps),
 * t = beta - mean * s (float64; the kernel's off-diagonal zeros add exactly nothing). */
static int bn_layer(kctx *k, const op *o, const kl *G, uint64_t width, size_t i)
{
    if (width > KH5_MAX_DIAG)
        return kfail(k, TROVE_E_LIMIT, "BatchNormalization '%s' on %llu features: more than %d",
                     o->name, (unsigned long long)width, KH5_MAX_DIAG);
    static const char *const what[] = {"gamma", "beta", "moving_mean", "moving_variance"};
    const kw *v[4] = {NULL, NULL, NULL, NULL}; /* gamma, beta, mean, var */
    int j = 0;
    if (o->scale)
        v[0] = &G->w[o->off[j++]];
    if (o->center)
        v[1] = &G->w[o->off[j++]];
    v[2] = &G->w[o->off[j++]];
    v[3] = &G->w[o->off[j]];
    for (int q = 0; q < 4; q++) {
        int rc = v[q] ? check_weight(k, o, G, v[q], what[q], 1, width, 0) : TROVE_OK;
        if (rc)
            return rc;
    }
    char name[64];
    snprintf(name, sizeof name, "layers/%zu/weight", i);
    double *w = tensor(k, name, TROVE_FLOAT64, 2, width, width);
    snprintf(name, sizeof name, "layers/%zu/bias", i);
    double *b = tensor(k, name, TROVE_FLOAT64, 1, width, 0);
    if (!w || !b)
        return kfail(k, TROVE_E_NOMEM, "out of memory");
    memset(w, 0, (size_t)(width * width) * sizeof *w);
    for (uint64_t c = 0; c < width; c++) {
        double var = wval(v[3], c) + o->eps;
        if (!(var > 0))
            return kfail(k, TROVE_E_MODEL, "BatchNormalization '%s': moving_variance + epsilon "
                         "is not positive at %llu", o->name, (unsigned long long)c);
        double sc = (v[0] ? wval(v[0], c) : 1.0) / sqrt(var);
        w[c * width + c] = sc;
        b[c] = (v[1] ? wval(v[1], c) : 0.0) - wval(v[2], c) * sc;
        if (!isfinite(sc) || !isfinite(b[c]))
            return kfail(k, TROVE_E_MODEL, "BatchNormalization '%s': non-finite scale at %llu",
                         o->name, (unsigned long long)c);
    }
    return TROVE_OK;
}

/* Part 1 of a LeakyReLU/PReLU: [width] -> [2 width] = relu([x; -x]); part 2: back to [width]
 * as relu(x) - slope * relu(-x). */
static int leaky_layer(kctx *k, const op *o, const kl *G, int part, uint64_t *width, size_t i)
{
    uint64_t w = part == 1 ? *width : *width / 2;
    if (w > KH5_MAX_DIAG)
        return kfail(k, TROVE_E_LIMIT, "%s '%s' on %llu features: more than %d", o->cls,
                     o->name, (unsigned long long)w, KH5_MAX_DIAG);
    const kw *alpha = NULL;
    if (G) {
        alpha = &G->w[o->off[0]];
        int rc = check_weight(k, o, G, alpha, "alpha", 1, w, 0);
        if (rc)
            return rc;
    }
    char name[64];
    snprintf(name, sizeof name, "layers/%zu/weight", i);
    double *wt = part == 1 ? tensor(k, name, TROVE_FLOAT64, 2, 2 * w, w)
                           : tensor(k, name, TROVE_FLOAT64, 2, w, 2 * w);
    snprintf(name, sizeof name, "layers/%zu/bias", i);
    double *b = tensor(k, name, TROVE_FLOAT64, 1, part == 1 ? 2 * w : w, 0);
    if (!wt || !b)
        return kfail(k, TROVE_E_NOMEM, "out of memory");
    memset(wt, 0, (size_t)(2 * w * w) * sizeof *wt);
    memset(b, 0, (size_t)(part == 1 ? 2 * w : w) * sizeof *b);
    for (uint64_t c = 0; c < w; c++) {
        if (part == 1) { /* rows: out; columns: in */
            wt[c * w + c] = 1.0;
            wt[(w + c) * w + c] = -1.0;
        } else {
            wt[c * 2 * w + c] = 1.0;
            wt[c * 2 * w + w + c] = -(alpha ? wval(alpha, c) : o->eps);
        }
    }
    *width = part == 1 ? 2 * w : w;
    return TROVE_OK;
}

static trove_value *layer_params(kctx *k, const lay *ls, size_t L)
{
    trove_value *arr = trove_value_array(k->alloc);
    for (size_t i = 0; i < L; i++) {
        if (ls[i].part == 2)
            continue; /* the second dense layer of a LeakyReLU/PReLU */
        trove_value *e = trove_value_map(k->alloc);
        mset(k, e, "class", vstr(k, ls[i].dense ? ls[i].dense->cls : "Activation"));
        if (ls[i].part == 1) {
            mset(k, e, "name", vstr(k, ls[i].dense->name));
            if (!ls[i].dense->nslot)
                mset(k, e, "negative_slope", trove_value_float(k->alloc, ls[i].dense->eps));
            apush(k, arr, e);
            continue;
        }
        if (ls[i].dense && ls[i].dense->k == OP_BN) {
            mset(k, e, "name", vstr(k, ls[i].dense->name));
            mset(k, e, "epsilon", trove_value_float(k->alloc, ls[i].dense->eps));
        } else if (ls[i].dense) {
            mset(k, e, "name", vstr(k, ls[i].dense->name));
            mset(k, e, "units", trove_value_int(k->alloc, ls[i].dense->units));
            mset(k, e, "use_bias", trove_value_bool(k->alloc, ls[i].dense->bias));
        }
        mset(k, e, "activation", vstr(k, ACT_NAME[ls[i].act]));
        apush(k, arr, e);
    }
    return arr;
}

static int build(kctx *k, const char *estimator, const char *mname,
                 const trove__source_info *src)
{
    const kfile *f = k->f;
    /* weight owners of the file: layers of layer_names with weights, in order */
    size_t n_own = 0;
    for (size_t i = 0; i < f->nl; i++)
        n_own += f->layers[i].nw > 0;
    if ((long)n_own != k->n_owners)
        return kfail(k, TROVE_E_MODEL, "model_config has %ld layers with weights but the file "
                     "holds weights for %zu (missing or extra weights)", k->n_owners, n_own);
    const kl **own = pk_alloc(k->a, (n_own ? n_own : 1) * sizeof *own);
    size_t *need = pk_alloc(k->a, (n_own ? n_own : 1) * sizeof *need);
    lay *ls = pk_alloc(k->a, (k->n_ops ? 2 * k->n_ops : 1) * sizeof *ls);
    if (!own || !need || !ls)
        return kfail(k, TROVE_E_NOMEM, "out of memory");
    for (size_t i = 0, j = 0; i < f->nl; i++)
        if (f->layers[i].nw > 0) {
            need[j] = 0;
            own[j++] = &f->layers[i];
        }
    size_t L = 0;
    bool any_dense = false;
    for (size_t i = 0; i < k->n_ops; i++) {
        const op *o = &k->ops[i];
        if (o->k == OP_DENSE || o->k == OP_BN) {
            if (o->owner < 0 || (size_t)o->owner >= n_own)
                return kfail(k, TROVE_E_MODEL, "%s '%s' has no weights in the file", o->cls,
                             o->name);
            need[o->owner] += (size_t)o->nslot;
            ls[L++] = (lay){o, o->act, 0};
            any_dense |= o->k == OP_DENSE;
        } else if (o->k == OP_LEAKY) {
            /* leaky(x) = relu(x) - slope * relu(-x): [I; -I] through relu, then [I, -slope I]
             * (exact: each output adds one product to zeros) */
            if (o->nslot && (o->owner < 0 || (size_t)o->owner >= n_own))
                return kfail(k, TROVE_E_MODEL, "%s '%s' has no weights in the file", o->cls,
                             o->name);
            if (o->nslot)
                need[o->owner] += (size_t)o->nslot;
            ls[L++] = (lay){o, A_RELU, 1};
            ls[L++] = (lay){o, A_ID, 2};
        } else if (o->act == A_ID) {
            continue; /* a linear activation: nothing to do */
        } else if (L && ls[L - 1].act == A_ID) {
            ls[L - 1].act = o->act;
        } else {
            ls[L++] = (lay){NULL, o->act, 0};
        }
    }
    if (!any_dense)
        return kfail(k, TROVE_E_UNSUPPORTED, "the model has no Dense layer: nothing to convert");
    for (size_t j = 0; j < n_own; j++)
        if (need[j] != own[j]->nw)
            return kfail(k, TROVE_E_MODEL, "layer group '%.60s' holds %zu weight arrays, the "
                         "config's layer needs %zu", own[j]->name, own[j]->nw, need[j]);
    if (L > TROVE_MODEL_MAX_LAYERS)
        return kfail(k, TROVE_E_LIMIT, "%zu dense layers: more than %u", L,
                     TROVE_MODEL_MAX_LAYERS);
    uint64_t width = (uint64_t)k->n_in;
    const op *first = ls[0].dense;
    if (!width && (!first || !first->nslot))
        return kfail(k, TROVE_E_MODEL, "the input width is unknown (no input shape)");
    if (!width) { /* from the first weight: a kernel's rows, BN's moving_mean, PReLU's alpha */
        const kw *w0 = &own[first->owner]->w[first->off[first->k == OP_BN ? first->nslot - 2 : 0]];
        width = w0->rank ? w0->dims[0] : 0;
    }
    if (width == 0 || width > TROVE_MODEL_MAX_WIDTH)
        return kfail(k, TROVE_E_MODEL, "input width %llu out of range",
                     (unsigned long long)width);
    const uint64_t n_features = width;
    char name[64];
    for (size_t i = 0; i < L; i++) {
        const op *o = ls[i].dense;
        snprintf(name, sizeof name, "layers/%zu/weight", i);
        if (!o) { /* identity: exact (x * 1 + sums of x * 0) */
            if (width > KH5_MAX_DIAG)
                return kfail(k, TROVE_E_LIMIT, "an activation layer on %llu units after another "
                             "activation: too wide to insert an identity layer",
                             (unsigned long long)width);
            float *w = tensor(k, name, TROVE_FLOAT32, 2, width, width);
            snprintf(name, sizeof name, "layers/%zu/bias", i);
            float *b = tensor(k, name, TROVE_FLOAT32, 1, width, 0);
            if (!w || !b)
                return kfail(k, TROVE_E_NOMEM, "out of memory");
            memset(w, 0, (size_t)(width * width) * sizeof *w);
            memset(b, 0, (size_t)width * sizeof *b);
            for (uint64_t r = 0; r < width; r++)
                w[r * width + r] = 1.0f;
            continue;
        }
        if (o->k == OP_LEAKY) {
            int rc = leaky_layer(k, o, o->nslot ? own[o->owner] : NULL, ls[i].part, &width, i);
            if (rc)
                return rc;
            continue;
        }
        const kl *G = own[o->owner];
        if (o->k == OP_BN) {
            int rc = bn_layer(k, o, G, width, i);
            if (rc)
                return rc;
            continue;
        }
        const kw *kern = &G->w[o->off[0]], *bias = o->bias ? &G->w[o->off[1]] : NULL;
        uint64_t units = (uint64_t)o->units;
        int rc = check_weight(k, o, G, kern, "kernel", 2, width, units);
        if (!rc && bias)
            rc = check_weight(k, o, G, bias, "bias", 1, units, 0);
        if (rc)
            return rc;
        bool f64 = kern->dt == KH5_DT_F64;
        void *wt = tensor(k, name, f64 ? TROVE_FLOAT64 : TROVE_FLOAT32, 2, units, width);
        if (!wt)
            return kfail(k, TROVE_E_NOMEM, "out of memory");
        for (uint64_t r = 0; r < width; r++) /* Keras [in, out] -> trove [out, in] */
            for (uint64_t c = 0; c < units; c++) {
                if (f64)
                    ((double *)wt)[c * width + r] = ((const double *)kern->data)[r * units + c];
                else
                    ((float *)wt)[c * width + r] = ((const float *)kern->data)[r * units + c];
            }
        snprintf(name, sizeof name, "layers/%zu/bias", i);
        bool b64 = bias ? bias->dt == KH5_DT_F64 : f64;
        void *bt = tensor(k, name, b64 ? TROVE_FLOAT64 : TROVE_FLOAT32, 1, units, 0);
        if (!bt)
            return kfail(k, TROVE_E_NOMEM, "out of memory");
        memset(bt, 0, (size_t)units * (b64 ? 8 : 4));
        if (bias)
            memcpy(bt, bias->data, (size_t)units * (b64 ? 8 : 4));
        width = units;
    }
    /* metadata */
    trove_value *node = trove_value_map(k->alloc), *m = trove_value_map(k->alloc);
    k->m->meta = node;
    mset(k, node, "kind", vstr(k, "mlp"));
    mset(k, node, "kind_version", trove_value_int(k->alloc, 1));
    mset(k, node, "estimator", vstr(k, estimator));
    trove_value *params = trove_value_map(k->alloc);
    if (mname && trove__utf8_valid(mname, strlen(mname)))
        mset(k, params, "name", vstr(k, mname));
    mset(k, params, "layers", layer_params(k, ls, L));
    mset(k, node, "params", params);
    trove_value *acts = trove_value_array(k->alloc);
    for (size_t i = 0; i + 1 < L; i++)
        apush(k, acts, vstr(k, ACT_NAME[ls[i].act]));
    mset(k, m, "n_features", trove_value_int(k->alloc, (int64_t)n_features));
    mset(k, m, "n_outputs", trove_value_int(k->alloc, (int64_t)width));
    mset(k, m, "task", vstr(k, "regression"));
    mset(k, m, "activations", acts);
    mset(k, m, "output_activation", vstr(k, ACT_NAME[ls[L - 1].act]));
    mset(k, node, "model", m);
    trove_value *prod = trove_value_map(k->alloc);
    mset(k, prod, "name", vstr(k, "keras"));
    if (f->version && strlen(f->version) < 64 && trove__utf8_valid(f->version, strlen(f->version)))
        mset(k, prod, "version", vstr(k, f->version));
    if (f->backend && strlen(f->backend) < 64 && trove__utf8_valid(f->backend, strlen(f->backend)))
        mset(k, prod, "backend", vstr(k, f->backend));
    mset(k, node, "producer", prod);
    char ts[32];
    time_t now = time(NULL);
    struct tm tmv;
    gmtime_r(&now, &tmv);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tmv);
    mset(k, node, "created", vstr(k, ts));
    trove_value *sig = trove_value_map(k->alloc), *in = trove_value_map(k->alloc),
                *outs = trove_value_map(k->alloc);
    mset(k, in, "n_features", trove_value_int(k->alloc, (int64_t)n_features));
    mset(k, in, "dtype", vstr(k, "float32"));
    if (k->in_shape && !k->pending[0]) { /* an N-d input the model flattens (C order) */
        trove_value *shp = trove_value_array(k->alloc);
        for (size_t d = 1; d < json_array_size(k->in_shape); d++)
            apush(k, shp, trove_value_int(k->alloc, (int64_t)json_integer_value(
                                                        json_array_get(k->in_shape, d))));
        mset(k, in, "shape", shp);
    }
    mset(k, sig, "inputs", in);
    mset(k, outs, "n_outputs", trove_value_int(k->alloc, (int64_t)width));
    mset(k, sig, "outputs", outs);
    mset(k, node, "signature", sig);
    trove_value *lin = trove_value_map(k->alloc), *so = trove_value_map(k->alloc);
    if (src && src->name && trove__utf8_valid(src->name, strlen(src->name)))
        mset(k, so, "file", vstr(k, src->name));
    if (src && src->sha256_hex)
        mset(k, so, "sha256", vstr(k, src->sha256_hex));
    mset(k, so, "format", vstr(k, k->k3 ? "Keras archive (.keras)" : "HDF5 (Keras)"));
    if (src)
        mset(k, so, "bytes", trove_value_uint(k->alloc, src->size));
    mset(k, lin, "source", so);
    mset(k, lin, "converter", vstr(k, k->k3 ? "trove convert (Keras archive importer)"
                                          : "trove convert (Keras HDF5 importer)"));
    mset(k, node, "lineage", lin);
    snprintf(k->m->estimator, sizeof k->m->estimator, "%s", estimator);
    return k->rc ? kfail(k, TROVE_E_NOMEM, "out of memory") : TROVE_OK;
}

/* ---- Keras 3 archives: weights by path ------------------------------------------------------ */
/* Gather, for each top-level weight owner, the arrays of its layers from their saving_lib paths
 * (the stream's 'L' records are named by path) into the order the plan expects (op->off), so
 * that build() sees what a legacy HDF5 file would have held. Unclaimed arrays are refused,
 * except a SeedGenerator's state (dropout and noise layers: random state, unused at
 * inference). */
static int k3_assemble(kctx *k, kfile *f)
{
    size_t n_own = (size_t)k->n_owners;
    kl *own = pk_alloc(k->a, (n_own ? n_own : 1) * sizeof *own);
    bool *used = pk_alloc(k->a, f->nl ? f->nl : 1);
    if (!own || !used)
        return kfail(k, TROVE_E_NOMEM, "out of memory");
    memset(own, 0, (n_own ? n_own : 1) * sizeof *own);
    memset(used, 0, f->nl ? f->nl : 1);
    for (size_t i = 0; i < k->n_ops; i++) {
        const op *o = &k->ops[i];
        if (o->nslot <= 0)
            continue;
        if (o->owner < 0 || (size_t)o->owner >= n_own)
            return kfail(k, TROVE_E_MODEL, "%s '%s' has no weights in the file", o->cls, o->name);
        own[o->owner].nw += (size_t)o->nslot;
        if (!own[o->owner].name)
            own[o->owner].name = o->path ? o->path : o->name;
    }
    for (size_t j = 0; j < n_own; j++) {
        own[j].w = pk_alloc(k->a, (own[j].nw ? own[j].nw : 1) * sizeof *own[j].w);
        if (!own[j].w)
            return kfail(k, TROVE_E_NOMEM, "out of memory");
        memset(own[j].w, 0, (own[j].nw ? own[j].nw : 1) * sizeof *own[j].w);
    }
    for (size_t i = 0; i < k->n_ops; i++) {
        const op *o = &k->ops[i];
        if (o->nslot <= 0)
            continue;
        size_t g = 0;
        while (g < f->nl && (!o->path || strcmp(f->layers[g].name, o->path)))
            g++;
        if (g == f->nl)
            return kfail(k, TROVE_E_MODEL, "%s '%s' has no weights in the file (no variables "
                         "at '%.200s/vars')", o->cls, o->name, o->path ? o->path : "?");
        if (used[g])
            return kfail(k, TROVE_E_MODEL, "the variables at '%.200s' belong to two layers",
                         o->path);
        used[g] = true;
        const kl *L = &f->layers[g];
        if (L->nw != (size_t)o->nslot)
            return kfail(k, TROVE_E_MODEL, "layer group '%.200s' holds %zu weight arrays, the "
                         "config's layer needs %d", L->name, L->nw, o->nslot);
        for (int q = 0; q < o->nslot; q++)
            own[o->owner].w[o->off[q]] = L->w[q];
    }
    for (size_t g = 0; g < f->nl; g++) {
        if (used[g] || !f->layers[g].nw)
            continue;
        const char *last = strrchr(f->layers[g].name, '/');
        last = last ? last + 1 : f->layers[g].name;
        if (!strncmp(last, "seed_generator", 14))
            continue;
        return kfail(k, TROVE_E_MODEL, "the weights file holds %zu arrays at '%.200s', which "
                     "no layer of config.json has (extra weights, or the config does not match "
                     "the weights)", f->layers[g].nw, f->layers[g].name);
    }
    f->layers = own;
    f->nl = n_own;
    return TROVE_OK;
}

/* ---- entry points -------------------------------------------------------------------------- */
static int map_impl(pk_arena *a, const trove_allocator *alloc, const uint8_t *s, size_t n,
                    const char *k3cfg, size_t k3len, const char *k3version,
                    const trove__source_info *src, trove__model_out **models, size_t *n_models,
                    trove_error *err)
{
    trove_error local;
    kctx k = {.a = a, .alloc = alloc, .err = err ? err : &local, .k3 = k3cfg != NULL,
              .prefix = k3cfg ? "Keras archive (.keras)" : "Keras HDF5"};
    kfile f;
    *models = NULL;
    *n_models = 0;
    int rc = decode(&k, s, n, &f);
    if (rc)
        return rc;
    k.f = &f;
    bool bad_layout = false; /* reported after the config, which may explain it better */
    if (k3cfg) {
        bad_layout = f.config || !f.keras3_weights;
        f.config = k3cfg;
        f.config_len = k3len;
        if (k3version)
            f.version = k3version;
    }
    if (!f.config) {
        if (f.keras3_weights)
            return kfail(&k, TROVE_E_UNSUPPORTED, "a Keras 3 weights file (layers/<name>/vars/<i>, "
                         "as model.save_weights writes it, or model.weights.h5 of a .keras "
                         "archive): no model_config, the architecture is unknown");
        if (f.model_weights || f.layer_names)
            return kfail(&k, TROVE_E_UNSUPPORTED, "a weights-only file (no model_config "
                         "attribute): the architecture is unknown, nothing to convert");
        return kfail(&k, TROVE_E_UNSUPPORTED, "an HDF5 file without a model_config attribute: "
                     "not a Keras model file");
    }
    if (f.top_weights)
        return kfail(&k, TROVE_E_UNSUPPORTED, "the model object itself holds %.20s weights "
                     "(%s: a subclassed model?): not supported", f.top_weights,
                     k3cfg ? "vars at the root of model.weights.h5" : "top_level_model_weights");
    json_error_t je;
    json_t *root = json_loadb(f.config, f.config_len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return kfail(&k, TROVE_E_CORRUPT, "%s is not valid JSON (line %d column %d: %.80s)",
                     k3cfg ? "config.json" : "model_config", je.line, je.column, je.text);
    trove__model_out *out = trove__calloc(alloc, 1, sizeof *out);
    if (!out) {
        json_decref(root);
        return kfail(&k, TROVE_E_NOMEM, "out of memory");
    }
    k.m = out;
    const char *cls = json_is_object(root) ? jstr(root, "class_name") : NULL;
    if (!json_is_object(root))
        rc = kfail(&k, TROVE_E_MODEL, "%s is not a JSON object",
                   k3cfg ? "config.json" : "model_config");
    else
        rc = walk_model(&k, root, 0, -1, false);
    if (!rc && k.pending[0])
        rc = kfail(&k, TROVE_E_UNSUPPORTED, "%s", k.pending);
    if (!rc && bad_layout)
        rc = kfail(&k, TROVE_E_UNSUPPORTED, "model.weights.h5 is not in Keras 3's layout (no "
                   "layers/<name>/vars groups)");
    if (!rc && k.k3)
        rc = k3_assemble(&k, &f);
    if (!rc) {
        const json_t *cfg = json_object_get(root, "config");
        const char *mname = json_is_object(cfg) ? jstr(cfg, "name") : NULL;
        rc = build(&k, !strcmp(cls, "Sequential") ? "keras.Sequential" : "keras.Functional",
                   mname, src);
    }
    json_decref(root);
    if (rc) {
        trove__models_free(alloc, out, 1);
        return rc;
    }
    *models = out;
    *n_models = 1;
    return TROVE_OK;
}

int trove__kh5_map_stream(pk_arena *a, const trove_allocator *alloc, const uint8_t *s, size_t n,
                          const trove__source_info *src, trove__model_out **models,
                          size_t *n_models, trove_error *err)
{
    return map_impl(a, alloc, s, n, NULL, 0, NULL, src, models, n_models, err);
}

int trove__kh5_map_keras3(pk_arena *a, const trove_allocator *alloc, const char *config,
                          size_t config_len, const char *version, const uint8_t *s, size_t n,
                          const trove__source_info *src, trove__model_out **models,
                          size_t *n_models, trove_error *err)
{
    return map_impl(a, alloc, s, n, config, config_len, version, src, models, n_models, err);
}

bool trove__h5_probe(const uint8_t *buf, size_t len)
{
    for (size_t off = 0; off < len && len - off >= 8; off = off ? off * 2 : 512)
        if (!memcmp(buf + off, "\x89HDF\r\n\x1a\n", 8))
            return true;
    return false;
}

int trove__keras_h5_map(pk_arena *a, const trove_allocator *alloc, const uint8_t *buf,
                        size_t len, uint64_t max_bytes, const trove__source_info *src,
                        trove__model_out **models, size_t *n_models, trove_error *err)
{
    uint8_t *s = NULL;
    size_t n = 0;
    *models = NULL;
    *n_models = 0;
    int rc = trove__kh5_extract(alloc, buf, len, max_bytes, &s, &n, err);
    if (rc)
        return rc;
    rc = trove__kh5_map_stream(a, alloc, s, n, src, models, n_models, err);
    trove__free(alloc, s);
    return rc;
}
