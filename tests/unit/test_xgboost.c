/* test_xgboost.c: the XGBoost importer (src/codecs/xgboost.c): one small model written here as
 * XGBoost JSON and as UBJSON (typed arrays, big-endian, a deleted node, children out of order)
 * maps to the same tensors; predictions at, just below and beyond the thresholds and on NaN
 * follow XGBoost's rules (x < t goes left, NaN follows default_left); truncated, bit-flipped and
 * hostile inputs are refused cleanly; every allocation failure is survived without a leak. The
 * comparisons with xgboost itself are in tests/python/test_convert_xgboost.py. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/codecs_internal.h"
#include "convert_torture.h"
#include "testlib.h"

/* ---- a tiny UBJSON writer ------------------------------------------------------------------ */
typedef struct wb {
    uint8_t b[8192];
    size_t n;
} wb;

static void put(wb *w, const void *p, size_t n)
{
    if (w->n + n <= sizeof w->b) {
        memcpy(w->b + w->n, p, n);
        w->n += n;
    }
}

static void put8(wb *w, uint8_t c)
{
    put(w, &c, 1);
}

static void putbe(wb *w, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--)
        put8(w, (uint8_t)(v >> (8 * i)));
}

static void ukey(wb *w, const char *k)
{
    put8(w, 'L');
    putbe(w, strlen(k), 8);
    put(w, k, strlen(k));
}

static void ustr(wb *w, const char *k, const char *s)
{
    ukey(w, k);
    put8(w, 'S');
    put8(w, 'L');
    putbe(w, strlen(s), 8);
    put(w, s, strlen(s));
}

static void uf32s(wb *w, const char *k, const float *v, size_t n)
{
    ukey(w, k);
    put(w, "[$d#L", 5);
    putbe(w, n, 8);
    for (size_t i = 0; i < n; i++) {
        uint32_t b;
        memcpy(&b, &v[i], 4);
        putbe(w, b, 4);
    }
}

static void ui32s(wb *w, const char *k, const int32_t *v, size_t n)
{
    ukey(w, k);
    put(w, "[$l#L", 5);
    putbe(w, n, 8);
    for (size_t i = 0; i < n; i++)
        putbe(w, (uint32_t)v[i], 4);
}

static void uu8s(wb *w, const char *k, const uint8_t *v, size_t n)
{
    ukey(w, k);
    put(w, "[$U#L", 5);
    putbe(w, n, 8);
    put(w, v, n);
}

/* ---- the model ------------------------------------------------------------------------------ */
/* tree 0: x0 < 0.5 ? -0.4 : 0.6, NaN left.  tree 1 (children out of order, node 3 deleted):
 * x1 < -1.25 ? 0.25 : -0.125, NaN right.  base_score 0.3 (binary:logistic: logit in margin). */
static const int32_t L0[] = {1, -1, -1}, R0[] = {2, -1, -1}, F0[] = {0, 0, 0};
static const float C0[] = {0.5f, -0.4f, 0.6f};
static const uint8_t D0[] = {1, 0, 0};
static const int32_t L1[] = {2, -1, -1, -1}, R1[] = {1, -1, -1, -1}, F1[] = {1, 0, 0, 0};
static const float C1[] = {-1.25f, -0.125f, 0.25f, 7.0f};
static const uint8_t D1[] = {0, 0, 0, 0};

static void utree(wb *w, int id, const int32_t *l, const int32_t *r, const int32_t *f,
                  const float *c, const uint8_t *d, size_t n)
{
    put8(w, '{');
    uf32s(w, "base_weights", c, n);
    uu8s(w, "default_left", d, n);
    ukey(w, "id");
    put8(w, 'L');
    putbe(w, (uint64_t)id, 8);
    ui32s(w, "left_children", l, n);
    ui32s(w, "right_children", r, n);
    uf32s(w, "split_conditions", c, n);
    ui32s(w, "split_indices", f, n);
    uu8s(w, "split_type", (const uint8_t[4]){0, 0, 0, 0}, n);
    ukey(w, "tree_param");
    put8(w, '{');
    char nn[16];
    snprintf(nn, sizeof nn, "%zu", n);
    ustr(w, "num_deleted", n == 4 ? "1" : "0");
    ustr(w, "num_feature", "2");
    ustr(w, "num_nodes", nn);
    ustr(w, "size_leaf_vector", "0");
    put8(w, '}');
    put8(w, '}');
}

static void model_ubj(wb *w)
{
    w->n = 0;
    put8(w, '{');
    ukey(w, "learner");
    put8(w, '{');
    ukey(w, "attributes");
    put(w, "{}", 2);
    ukey(w, "feature_names");
    put(w, "[]", 2);
    ukey(w, "gradient_booster");
    put8(w, '{');
    ukey(w, "model");
    put8(w, '{');
    ukey(w, "gbtree_model_param");
    put8(w, '{');
    ustr(w, "num_parallel_tree", "1");
    ustr(w, "num_trees", "2");
    put8(w, '}');
    ui32s(w, "tree_info", (const int32_t[2]){0, 0}, 2);
    ukey(w, "trees");
    put8(w, '[');
    utree(w, 0, L0, R0, F0, C0, D0, 3);
    utree(w, 1, L1, R1, F1, C1, D1, 4);
    put8(w, ']');
    put8(w, '}');
    ustr(w, "name", "gbtree");
    put8(w, '}');
    ukey(w, "learner_model_param");
    put8(w, '{');
    ustr(w, "base_score", "3E-1");
    ustr(w, "num_class", "0");
    ustr(w, "num_feature", "2");
    put8(w, '}');
    ukey(w, "objective");
    put8(w, '{');
    ustr(w, "name", "binary:logistic");
    put8(w, '}');
    put8(w, '}');
    ukey(w, "version");
    put(w, "[#L", 3);
    putbe(w, 3, 8);
    put(w, "U\x01U\x07U\x04", 6); /* a counted array without a type */
    put8(w, '}');
}

/* The same model as JSON; tree 1's default_left as bools, base_score as "[3E-1]" (3.1 style). */
static const char *MODEL_JSON =
    "{\"learner\": {\"attributes\": {}, \"feature_names\": [], \"feature_types\": [],\n"
    " \"gradient_booster\": {\"model\": {\"gbtree_model_param\": {\"num_parallel_tree\": \"1\",\n"
    "  \"num_trees\": \"2\"}, \"tree_info\": [0, 0], \"trees\": [\n"
    "  {\"base_weights\": [0.5, -0.4, 0.6], \"default_left\": [1, 0, 0], \"id\": 0,\n"
    "   \"left_children\": [1, -1, -1], \"right_children\": [2, -1, -1],\n"
    "   \"split_conditions\": [0.5, -0.4, 0.6], \"split_indices\": [0, 0, 0],\n"
    "   \"split_type\": [0, 0, 0], \"categories\": [], \"categories_nodes\": [],\n"
    "   \"tree_param\": {\"num_deleted\": \"0\", \"num_feature\": \"2\", \"num_nodes\": \"3\",\n"
    "   \"size_leaf_vector\": \"0\"}},\n"
    "  {\"base_weights\": [0, 0, 0, 0], \"default_left\": [false, false, false, false],\n"
    "   \"id\": 1, \"left_children\": [2, -1, -1, -1], \"right_children\": [1, -1, -1, -1],\n"
    "   \"split_conditions\": [-1.25, -0.125, 0.25, 7.0], \"split_indices\": [1, 0, 0, 0],\n"
    "   \"tree_param\": {\"num_feature\": \"2\", \"num_nodes\": \"4\", \"size_leaf_vector\": \"0\"}}\n"
    " ]}, \"name\": \"gbtree\"},\n"
    " \"learner_model_param\": {\"base_score\": \"[3E-1]\", \"num_class\": \"0\",\n"
    "  \"num_feature\": \"2\", \"num_target\": \"1\"},\n"
    " \"objective\": {\"name\": \"binary:logistic\", \"reg_loss_param\": {\"scale_pos_weight\": \"1\"}}},\n"
    " \"version\": [3, 1, 0]}\n";

static const trove__tensor_out *find(const trove__model_out *m, const char *name)
{
    for (size_t i = 0; i < m->n_tensors; i++)
        if (!strcmp(m->tensors[i].name, name))
            return &m->tensors[i];
    return NULL;
}

static void same_tensors(void)
{
    wb w;
    model_ubj(&w);
    CHECK(trove__xgb_probe(w.b, w.n) == TROVE__XGB_UBJSON);
    CHECK(trove__xgb_probe((const uint8_t *)MODEL_JSON, strlen(MODEL_JSON)) == TROVE__XGB_JSON);
    CHECK(trove__xgb_probe((const uint8_t *)"{\"a\": 1}", 8) == 0);
    CHECK(trove__xgb_probe((const uint8_t *)"\x80\x04", 2) == 0);
    trove__conversion a, b;
    trove_error err;
    CHECK_OK(trove__convert_buffer(NULL, w.b, w.n, "m.ubj", 0, &a, &err));
    int rc = trove__convert_buffer(NULL, (const uint8_t *)MODEL_JSON, strlen(MODEL_JSON),
                                   "m.json", 0, &b, &err);
    if (rc) {
        trove__conversion_free(&a);
        CHECK_OK(rc);
    }
    int ok = a.n_models == 1 && b.n_models == 1 && !strcmp(a.format, "XGBoost UBJSON") &&
             !strcmp(b.format, "XGBoost JSON") &&
             a.models[0].n_tensors == b.models[0].n_tensors;
    for (size_t i = 0; ok && i < a.models[0].n_tensors; i++) {
        const trove__tensor_out *x = &a.models[0].tensors[i];
        const trove__tensor_out *y = find(&b.models[0], x->name);
        ok = y && y->dtype == x->dtype && y->rank == x->rank && y->shape[0] == x->shape[0] &&
             (x->rank < 2 || y->shape[1] == x->shape[1]) &&
             !memcmp(x->data, y->data, (size_t)(x->shape[0] * (x->rank == 2 ? x->shape[1] : 1) *
                                                trove_dtype_size(x->dtype)));
        if (!ok)
            fprintf(stderr, "  tensor %s differs\n", x->name);
    }
    /* the deleted node is gone: 3 + 3 nodes; thresholds are the float32 just below */
    const trove__tensor_out *off = find(&a.models[0], "trees/offsets");
    const trove__tensor_out *thr = find(&a.models[0], "trees/threshold");
    ok = ok && off && off->shape[0] == 3 && ((const int64_t *)off->data)[2] == 6 && thr &&
         ((const double *)thr->data)[0] == (double)nextafterf(0.5f, -INFINITY) &&
         ((const double *)thr->data)[3] == (double)nextafterf(-1.25f, -INFINITY);
    trove__conversion_free(&a);
    trove__conversion_free(&b);
    CHECK(ok);
}

static void predictions_follow_xgboost(void)
{
    const char *files[2] = {test_path("m.ubj"), test_path("m.json")};
    wb w;
    model_ubj(&w);
    trove_error err;
    CHECK_OK(test_write_file(files[0], w.b, w.n));
    CHECK_OK(test_write_file(files[1], MODEL_JSON, strlen(MODEL_JSON)));
    const float h = 0.5f, t = -1.25f;
    const double X[][2] = {
        {0.5, -1.25},                                                   /* at: right, right */
        {nextafterf(h, 0), nextafterf(t, -INFINITY)},                   /* below: left, left */
        {nextafterf(h, 1), nextafterf(t, 0)},                           /* above */
        {0.5 - 1e-12, -1.25 - 1e-12},       /* rounds to the thresholds in float32: right */
        {NAN, NAN},                                                     /* left, right */
        {-INFINITY, INFINITY},
    };
    const double lf = -0.4f, rg = 0.6f, l1 = 0.25f, r1 = -0.125f;
    const double base = (double)-logf(1.0f / 0.3f - 1.0f);
    const double want[] = {rg + r1, lf + l1, rg + r1, rg + r1, lf + r1, lf + r1};
    for (int k = 0; k < 2; k++) {
        const char *out = test_path("m.trove");
        trove_convert_report rep;
        CHECK_OK(trove_convert(files[k], out, NULL, &rep, &err));
        CHECK(!strcmp(rep.format, k ? "XGBoost JSON" : "XGBoost UBJSON"));
        trove_file *f = NULL;
        trove_model *m = NULL;
        CHECK_OK(trove_open(&f, out, NULL, &err));
        int rc = trove_model_open(&m, f, NULL, &err);
        trove_close(f);
        CHECK_OK(rc);
        double dec[6], pr[12], lab[6];
        rc = trove_model_decision_function(m, TROVE_FLOAT64, X, 6, 2, dec, 6, &err);
        if (!rc)
            rc = trove_model_predict_proba(m, TROVE_FLOAT64, X, 6, 2, pr, 12, &err);
        if (!rc)
            rc = trove_model_predict(m, TROVE_FLOAT64, X, 6, 2, lab, 6, &err);
        size_t nc = trove_model_n_classes(m);
        trove_model_free(m);
        CHECK_OK(rc);
        CHECK(nc == 2);
        for (int i = 0; i < 6; i++) {
            double d = base + want[i];
            if (fabs(dec[i] - d) > 1e-12) {
                fprintf(stderr, "  %s row %d: decision %.17g, want %.17g\n", files[k], i, dec[i],
                        d);
                CHECK(0);
            }
            double s = 1.0 / (1.0 + exp(-d));
            CHECK(fabs(pr[2 * i + 1] - s) < 1e-12 && fabs(pr[2 * i] - (1 - s)) < 1e-12);
            CHECK(lab[i] == (d > 0 ? 1.0 : 0.0));
        }
    }
}

/* Convert a buffer expecting a failure with code and a message containing needle. */
static int refused(const void *p, size_t n, int code, const char *needle)
{
    trove__conversion c;
    trove_error err;
    int rc = trove__convert_buffer(NULL, p, n, "x", 0, &c, &err);
    if (rc == TROVE_OK)
        trove__conversion_free(&c);
    if (rc != code || (needle && !strstr(err.message, needle))) {
        fprintf(stderr, "  got %d '%s', want %d '%s'\n", rc, rc ? err.message : "",
                code, needle ? needle : "");
        return 0;
    }
    return 1;
}

static void ubj_truncated_and_flipped(void)
{
    wb w;
    model_ubj(&w);
    CHECK(refused(w.b, 1, TROVE_E_UNSUPPORTED, "not a pickle")); /* '{' alone: not probed */
    for (size_t n = 2; n < w.n; n++) /* every prefix: corrupt, never a crash or a read past */
        CHECK(refused(w.b, n, TROVE_E_CORRUPT, "XGBoost UBJSON"));
    size_t accepted = 0;
    for (size_t i = 1; i < w.n; i++) {
        for (int bit = 0; bit < 8; bit++) {
            uint8_t *b = malloc(w.n); /* exact size: ASan sees any read past the end */
            CHECK(b != NULL);
            memcpy(b, w.b, w.n);
            b[i] ^= (uint8_t)(1u << bit);
            trove__conversion c;
            trove_error err;
            int rc = trove__convert_buffer(NULL, b, w.n, "x", 0, &c, &err);
            free(b);
            if (rc == TROVE_OK) {
                accepted++;
                trove__conversion_free(&c);
                continue;
            }
            CHECK(rc == TROVE_E_CORRUPT || rc == TROVE_E_MODEL || rc == TROVE_E_UNSUPPORTED ||
                  rc == TROVE_E_LIMIT);
            CHECK(err.message[0] != 0);
        }
    }
    CHECK(accepted > 0 && accepted < (w.n - 1) * 8); /* flips in floats still make a model */
}

static void ubj_hostile(void)
{
    static const uint8_t head[] = "{L\x00\x00\x00\x00\x00\x00\x00\x07learner";
    uint8_t b[512];
    size_t h = sizeof head - 1;
    memcpy(b, head, h);
    /* a typed array claiming 2^62 floats */
    memcpy(b + h, "[$d#L\x40\x00\x00\x00\x00\x00\x00\x00}", 14);
    CHECK(refused(b, h + 14, TROVE_E_CORRUPT, "exceeds"));
    /* a negative count */
    memcpy(b + h, "[#i\xff}", 5);
    CHECK(refused(b, h + 5, TROVE_E_CORRUPT, "negative"));
    /* a key longer than the file */
    memcpy(b, "{L\x00\x00\x00\x00\x00\x01\x00\x00learner", 17);
    CHECK(refused(b, 17, TROVE_E_CORRUPT, "key length"));
    memcpy(b, head, h);
    /* a typed array of booleans (no payload: a memory bomb) */
    memcpy(b + h, "[$T#L\x00\x00\x00\x00\xff\xff\xff\xff}", 14);
    CHECK(refused(b, h + 14, TROVE_E_CORRUPT, "exceeds"));
    memcpy(b + h, "[$T#i\x03}}}}", 10);
    CHECK(refused(b, h + 10, TROVE_E_CORRUPT, "typed array of type 'T'"));
    /* an unknown marker, a float cut short, trailing bytes */
    memcpy(b + h, "Q}", 2);
    CHECK(refused(b, h + 2, TROVE_E_CORRUPT, "unknown marker 0x51"));
    memcpy(b + h, "d\x3f\x80", 3);
    CHECK(refused(b, h + 3, TROVE_E_CORRUPT, "float"));
    memcpy(b + h, "Z}XYZ", 5);
    CHECK(refused(b, h + 5, TROVE_E_CORRUPT, "3 bytes after"));
    /* deep nesting */
    size_t n = h;
    for (int i = 0; i < 200; i++)
        b[n++] = '[';
    for (int i = 0; i < 200; i++)
        b[n++] = ']';
    b[n++] = '}';
    CHECK(refused(b, n, TROVE_E_LIMIT, "nested deeper"));
    /* well-formed but not a model */
    memcpy(b + h, "Z}", 2);
    CHECK(refused(b, h + 2, TROVE_E_MODEL, "learner"));
}

/* MODEL_JSON with one substring replaced. */
static char *json_with(const char *from, const char *to)
{
    const char *at = strstr(MODEL_JSON, from);
    if (!at)
        return NULL;
    size_t n = strlen(MODEL_JSON) + strlen(to) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%.*s%s%s", (int)(at - MODEL_JSON), MODEL_JSON, to, at + strlen(from));
    return s;
}

static void json_hostile(void)
{
    static const struct {
        const char *from, *to;
        int code;
        const char *needle;
    } cases[] = {
        {"\"left_children\": [1, -1, -1]", "\"left_children\": [0, -1, -1]", TROVE_E_MODEL,
         "reached twice"},
        {"\"left_children\": [2, -1, -1, -1]", "\"left_children\": [2, -1, 1, -1]",
         TROVE_E_MODEL, "out of range"}, /* node 2 with one child */
        {"\"right_children\": [2, -1, -1]", "\"right_children\": [9, -1, -1]", TROVE_E_MODEL,
         "out of range"},
        {"\"split_indices\": [0, 0, 0]", "\"split_indices\": [2, 0, 0]", TROVE_E_MODEL,
         "splits on feature 2"},
        {"\"split_indices\": [0, 0, 0]", "\"split_indices\": [-1, 0, 0]", TROVE_E_MODEL,
         "splits on feature -1"},
        {"\"num_nodes\": \"3\"", "\"num_nodes\": \"4\"", TROVE_E_MODEL, "entries for 4 nodes"},
        {"\"num_nodes\": \"3\"", "\"num_nodes\": \"1e30\"", TROVE_E_MODEL, "num_nodes"},
        {"\"split_type\": [0, 0, 0]", "\"split_type\": [1, 0, 0]", TROVE_E_UNSUPPORTED,
         "categorical"},
        {"\"categories_nodes\": []", "\"categories_nodes\": [0]", TROVE_E_UNSUPPORTED,
         "categorical"},
        {"\"size_leaf_vector\": \"0\"}},", "\"size_leaf_vector\": \"2\"}},", TROVE_E_UNSUPPORTED,
         "vector leaves"},
        {"binary:logistic", "binary:hinge", TROVE_E_UNSUPPORTED, "binary:hinge"},
        {"\"name\": \"gbtree\"", "\"name\": \"gbfoo\"", TROVE_E_UNSUPPORTED, "gbfoo"},
        {"\"[3E-1]\"", "\"[3E-1,\"", TROVE_E_MODEL, "base_score"},
        {"\"[3E-1]\"", "\"1.5\"", TROVE_E_MODEL, "not a probability"},
        {"\"num_trees\": \"2\"", "\"num_trees\": \"3\"", TROVE_E_MODEL, "num_trees is 3"},
        {"\"tree_info\": [0, 0]", "\"tree_info\": [0]", TROVE_E_MODEL, "tree_info has 1"},
        {"\"tree_info\": [0, 0]", "\"tree_info\": [0, 1]", TROVE_E_MODEL, "output group"},
        {"[0.5, -0.4, 0.6], \"split_indices\"", "[0.5, -0.4, 1e999], \"split_indices\"",
         TROVE_E_CORRUPT, "XGBoost JSON"}, /* jansson: real overflow */
        {"\"num_feature\": \"2\", \"num_target\"", "\"num_feature\": \"0\", \"num_target\"",
         TROVE_E_MODEL, "num_feature"},
        {"\"learner\": {", "\"learnr\": {", 0, NULL}, /* no longer probed as XGBoost */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s = json_with(cases[i].from, cases[i].to);
        CHECK(s != NULL);
        int ok = cases[i].code ? refused(s, strlen(s), cases[i].code, cases[i].needle)
                               : trove__xgb_probe((const uint8_t *)s, strlen(s)) == 0;
        if (!ok)
            fprintf(stderr, "  case %zu (%s)\n", i, cases[i].to);
        free(s);
        CHECK(ok);
    }
    size_t n = strlen(MODEL_JSON);
    for (size_t k = 1; k < n; k += 3) /* truncated JSON (short prefixes lack "learner") */
        CHECK(trove__xgb_probe((const uint8_t *)MODEL_JSON, k) == 0 ||
              refused(MODEL_JSON, k, TROVE_E_CORRUPT, "XGBoost JSON"));
    char deep[4200];
    size_t d = (size_t)snprintf(deep, sizeof deep, "{\"learner\": ");
    for (int i = 0; i < 2000; i++)
        deep[d++] = '[';
    for (int i = 0; i < 2000; i++)
        deep[d++] = ']';
    deep[d++] = '}';
    CHECK(refused(deep, d, TROVE_E_LIMIT, "XGBoost JSON: nested deeper than 64"));
}

/* XGBoost writes non-finite floats as NaN / Infinity / -Infinity, which strict JSON has not. */
static void json_nonfinite(void)
{
    /* in an array trove does not read: converted */
    char *s = json_with("\"categories\": []", "\"loss_changes\": [NaN, Infinity,-Infinity],"
                        "\"sum_hessian\":[inf, -inf, nan], \"categories\": [], \"x\": \"NaN, inf\"");
    CHECK(s != NULL);
    trove__conversion c;
    trove_error err;
    int rc = trove__convert_buffer(NULL, (const uint8_t *)s, strlen(s), "x", 0, &c, &err);
    free(s);
    CHECK_OK(rc);
    trove__conversion_free(&c);
    /* strings keep their escapes while tokens are rewritten (and a NaN inside one is text) */
    s = json_with("\"feature_names\": []", "\"feature_names\": [\"a\\\"NaN\", \"b\\\\\"], "
                  "\"loss\": [NaN]");
    CHECK(s != NULL);
    rc = trove__convert_buffer(NULL, (const uint8_t *)s, strlen(s), "x", 0, &c, &err);
    free(s);
    CHECK_OK(rc);
    const char *n0 = NULL, *n1 = NULL;
    const trove_value *names = trove_value_path(c.models[0].meta, "signature.inputs.names");
    (void)trove_value_get_string(trove_value_at(names, 0), &n0, NULL);
    (void)trove_value_get_string(trove_value_at(names, 1), &n1, NULL);
    int same = n0 && n1 && !strcmp(n0, "a\"NaN") && !strcmp(n1, "b\\");
    trove__conversion_free(&c);
    CHECK(same);
    /* a degenerate intercept (every label 0: XGBoost >= 3 keeps base_score 0, margin -inf) */
    s = json_with("\"[3E-1]\"", "\"0E0\"");
    CHECK(s != NULL);
    rc = trove__convert_buffer(NULL, (const uint8_t *)s, strlen(s), "x", 0, &c, &err);
    free(s);
    CHECK_OK(rc);
    const trove__tensor_out *bs = find(&c.models[0], "base_score");
    same = bs && ((const double *)bs->data)[0] == -(double)FLT_MAX;
    trove__conversion_free(&c);
    CHECK(same);
    /* a NaN leaf is refused as such */
    s = json_with("[0.5, -0.4, 0.6], \"split_indices\"", "[0.5, NaN, 0.6], \"split_indices\"");
    CHECK(s != NULL);
    int ok = refused(s, strlen(s), TROVE_E_MODEL, "leaf 1 has a non-finite value");
    free(s);
    CHECK(ok);
    /* an infinite threshold: every finite float32 goes left (x < inf) */
    s = json_with("[0.5, -0.4, 0.6], \"split_indices\"",
                  "[Infinity, -0.4, 0.6], \"split_indices\"");
    CHECK(s != NULL);
    rc = trove__convert_buffer(NULL, (const uint8_t *)s, strlen(s), "x", 0, &c, &err);
    free(s);
    CHECK_OK(rc);
    const trove__tensor_out *thr = find(&c.models[0], "trees/threshold");
    ok = thr && ((const double *)thr->data)[0] == (double)FLT_MAX;
    trove__conversion_free(&c);
    CHECK(ok);
}

static void oom_torture(void)
{
    wb w;
    model_ubj(&w);
    const void *imgs[2] = {w.b, MODEL_JSON};
    size_t lens[2] = {w.n, strlen(MODEL_JSON)};
    for (int k = 0; k < 2; k++) {
        int ok_seen = 0;
        for (long n = 1; n < 2000 && !ok_seen; n++) {
            test_alloc ta;
            test_alloc_init(&ta, n);
            trove__conversion c;
            trove_error err;
            int rc = trove__convert_buffer(&ta.a, imgs[k], lens[k], "x", 0, &c, &err);
            CHECK(rc == TROVE_OK || rc == TROVE_E_NOMEM);
            ok_seen = rc == TROVE_OK;
            if (ok_seen)
                trove__conversion_free(&c);
            CHECK(ta.live == 0);
        }
        CHECK(ok_seen);
        const char *in = test_path(k ? "t.json" : "t.ubj"), *out = test_path("t.trove");
        trove_error err;
        CHECK_OK(test_write_file(in, imgs[k], lens[k]));
        CHECK(test_convert_oom_torture(in, out, 2000));
    }
}

static void budget(void)
{
    wb w;
    model_ubj(&w);
    trove__conversion c;
    trove_error err;
    /* an arena budget smaller than the model's tree: TROVE_E_LIMIT, not a crash */
    int rc = trove__convert_buffer(NULL, w.b, w.n, "x", 2048, &c, &err);
    if (rc == TROVE_OK)
        trove__conversion_free(&c);
    CHECK(rc == TROVE_E_LIMIT || rc == TROVE_E_NOMEM);
    /* JSON: jansson's memory is bounded before it runs, from the count of values */
    CHECK(refused(MODEL_JSON, strlen(MODEL_JSON), TROVE_OK, NULL)); /* accepted by default */
    rc = trove__convert_buffer(NULL, (const uint8_t *)MODEL_JSON, strlen(MODEL_JSON), "x", 4096,
                               &c, &err);
    if (rc == TROVE_OK)
        trove__conversion_free(&c);
    CHECK(rc == TROVE_E_LIMIT && strstr(err.message, "save the model as UBJSON"));
}

TEST_MAIN(T(same_tensors), T(predictions_follow_xgboost), T(ubj_truncated_and_flipped),
          T(ubj_hostile), T(json_hostile), T(json_nonfinite), T(oom_torture), T(budget))
