/* trove/model.h: model kinds over the container: bind a kind to an open file, then predict.
 *
 * Part of the public API; include <trove.h> rather than this file. The kinds (linear, scaler,
 * imputer, onehot, tree_ensemble, mlp, pipeline, svm, naive_bayes, knn, label_encoder,
 * column_transformer, kmeans, decomposition) and their schemas are specified in
 * docs/MODELS.md. Inputs are row-major batches of float32 or float64 (text inputs as codes, see
 * trove_model_text_code); outputs are float64.
 * Thread-safety: a trove_model is immutable once opened; any number of threads may call the
 * predict functions on one model at the same time (each call allocates its own scratch memory
 * with the allocator given to trove_model_open, which must then be thread-safe). */
#ifndef TROVE_MODEL_H
#define TROVE_MODEL_H

#include "core.h"
#include "format.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits enforced by trove_model_open (docs/MODELS.md). */
#define TROVE_MODEL_MAX_DEPTH 512u          /* depth of a tree */
#define TROVE_MODEL_MAX_LAYERS 256u         /* dense layers of an mlp */
#define TROVE_MODEL_MAX_NESTING 16u         /* pipelines inside pipelines */
#define TROVE_MODEL_MAX_WIDTH (1u << 24)    /* features, outputs, classes, layer widths */

typedef struct trove_model trove_model;

/* What to compute. */
typedef enum trove_model_op {
    TROVE_MODEL_PREDICT = 0,  /* regressor: values; classifier: class label (see below);
                               * kmeans: the index of the nearest centre */
    TROVE_MODEL_PROBA = 1,    /* classifier: probability of each class, in class order */
    TROVE_MODEL_DECISION = 2, /* classifier: raw scores (1 column for binary models) */
    TROVE_MODEL_TRANSFORM = 3 /* transformer (scaler, imputer, onehot, decomposition, kmeans
                               * distances, pipeline of those, ...) */
} trove_model_op;

/* Bind the model described by f's metadata: validates the whole schema of its kind (required
 * keys and tensors, dtypes, shapes that agree, tree indices in range and acyclic, bounded
 * depth, class counts) and copies the weights into memory owned by the model.
 * Caller owns *out; free with trove_model_free(). f is only read during this call: the model
 * does not borrow from it and may outlive it. alloc may be NULL (libc).
 * Errors: TROVE_E_MODEL (no kind, unknown kind, or a schema violation: the message names the
 * key or tensor and what is wrong), TROVE_E_VERSION (kind_version too new), TROVE_E_NOMEM,
 * TROVE_E_CORRUPT (tensor bytes unreadable). Thread-safe on a shared f. */
TROVE_NODISCARD int trove_model_open(trove_model **out, const trove_file *f,
                                     const trove_allocator *alloc, trove_error *err);
/* Accepts NULL. */
void trove_model_free(trove_model *m);

/* The kind of the top-level node ("linear", "pipeline", ...). Borrowed; valid until free. */
const char *trove_model_kind(const trove_model *m);
/* Number of input columns the model expects. */
size_t trove_model_n_features(const trove_model *m);
/* Name of input column i from the signature, or NULL when the model has no feature names.
 * Borrowed; valid until trove_model_free(m). */
const char *trove_model_feature_name(const trove_model *m, size_t i);
/* Number of output columns `op` produces, 0 when the model does not support op (e.g. PROBA on a
 * regressor or on LinearSVC, TRANSFORM on a predictor). PREDICT on a classifier: 1. */
size_t trove_model_n_outputs(const trove_model *m, trove_model_op op);
/* 1 for classifiers (linear/tree/mlp/svm/knn with task "classification", naive_bayes, or a
 * pipeline ending in one). */
int trove_model_is_classifier(const trove_model *m);
/* Number of classes (0 for a non-classifier) and class i as a metadata value (int, float or
 * string). The value is borrowed; valid until trove_model_free(m). NULL when out of range. */
size_t trove_model_n_classes(const trove_model *m);
const trove_value *trove_model_class(const trove_model *m, size_t i);

/* Text inputs (docs/MODELS.md 2, "text inputs"): 1 when input column col takes text (an
 * encoder's text categories or labels), else 0. Text travels through trove_model_run as codes. */
int trove_model_input_is_text(const trove_model *m, size_t col);
/* 1 when the model reads input column col, 0 when it ignores it (a column transformer that drops
 * the column: any value, text included, may be passed there). */
int trove_model_input_is_used(const trove_model *m, size_t col);
/* *code = the number to pass in input column col for the text s (len bytes, any bytes): its index
 * in the column's vocabulary, or -1 when s is not in it (predict then treats it as an unknown
 * category or label). Copied. Errors: TROVE_E_INVALID (NULL pointers, a column that does not
 * take text). Thread-safe. */
TROVE_NODISCARD int trove_model_text_code(double *code, const trove_model *m, size_t col,
                                          const char *s, size_t len, trove_error *err);

/* Run op on rows x cols inputs X (row-major, dtype TROVE_FLOAT32 or TROVE_FLOAT64), writing
 * rows x n_outputs(op) float64 values, row-major, to out (out_len elements available).
 * PREDICT on a classifier writes the class label when every class is a number, else the class
 * index (0-based; use trove_model_class to get the label).
 * Errors: TROVE_E_SHAPE (cols != n_features, wrong dtype), TROVE_E_INVALID (NULL pointers,
 * out_len too small, an unknown category with handle_unknown "error"), TROVE_E_UNSUPPORTED (op
 * not supported by this model), TROVE_E_NOMEM. Nothing is retained; out is caller-owned.
 * Thread-safe: many threads may run on one model at once. */
TROVE_NODISCARD int trove_model_run(const trove_model *m, trove_model_op op, trove_dtype dtype,
                                    const void *X, size_t rows, size_t cols, double *out,
                                    size_t out_len, trove_error *err);
/* Shorthands for trove_model_run with TROVE_MODEL_PREDICT, _PROBA, _DECISION, _TRANSFORM. */
TROVE_NODISCARD int trove_model_predict(const trove_model *m, trove_dtype dtype, const void *X,
                                        size_t rows, size_t cols, double *out, size_t out_len,
                                        trove_error *err);
TROVE_NODISCARD int trove_model_predict_proba(const trove_model *m, trove_dtype dtype,
                                              const void *X, size_t rows, size_t cols, double *out,
                                              size_t out_len, trove_error *err);
TROVE_NODISCARD int trove_model_decision_function(const trove_model *m, trove_dtype dtype,
                                                  const void *X, size_t rows, size_t cols,
                                                  double *out, size_t out_len, trove_error *err);
TROVE_NODISCARD int trove_model_transform(const trove_model *m, trove_dtype dtype, const void *X,
                                          size_t rows, size_t cols, double *out, size_t out_len,
                                          trove_error *err);

#ifdef __cplusplus
}
#endif
#endif /* TROVE_MODEL_H */
