/* codecs_internal.h: internal interfaces between the codecs (joblib containers, the pickle VM,
 * the scikit-learn mapping) and the conversion driver (convert.c). */
#ifndef TROVE_CODECS_INTERNAL_H
#define TROVE_CODECS_INTERNAL_H

#include "codecs/pickle.h"

/* ---- joblib.c ---------------------------------------------------------------------------- */
/* Undo a joblib container: 'ZF' zfile, zlib or gzip stream; anything else is passed through
 * (*data = buf). *owned (caller frees with trove__free) holds decompressed bytes, or NULL.
 * *format names the container ("pickle", "joblib (zlib-compressed)", ...), static.
 * TROVE_E_UNSUPPORTED for bz2/xz/lzma/lz4, TROVE_E_LIMIT past max_bytes. */
int trove__joblib_unwrap(const trove_allocator *alloc, const uint8_t *buf, size_t len,
                         uint64_t max_bytes, uint8_t **owned, const uint8_t **data, size_t *dlen,
                         const char **format, trove_error *err);
/* pk_build_hook: replaces a NumpyArrayWrapper by a PK_RAWARRAY holding the bytes that follow it
 * in the stream; refuses NDArrayWrapper/ZNDArrayWrapper (sidecar files). */
int trove__joblib_hook(void *ctx, pk_vm *vm, pk_obj **top, trove_error *err);

/* ---- sklearn.c ----------------------------------------------------------------------------- */
typedef struct trove__tensor_out {
    const char *name;        /* arena */
    trove_dtype dtype;
    uint32_t rank;
    uint64_t shape[2];
    const void *data;        /* arena, host byte order */
} trove__tensor_out;

typedef struct trove__model_out {
    char key[64];            /* "" for a single estimator; element key for containers */
    trove_value *meta;       /* owned */
    trove__tensor_out *tensors; /* arena */
    size_t n_tensors, cap_tensors;
    char estimator[128];
} trove__model_out;

typedef struct trove__source_info {
    const char *name;        /* file name recorded in lineage */
    const char *sha256_hex;  /* 64 hex chars */
    const char *format;      /* container format */
    uint64_t size;
} trove__source_info;

/* Map the unpickled object to model kinds: one model, or one per element of a top-level
 * tuple/list/dict of estimators. *models (caller frees with trove__models_free) is allocated
 * with alloc; tensor data lives in the arena (valid until pk_arena_free). Unsupported classes
 * are refused (TROVE_E_UNSUPPORTED) with a message naming the class and the reason. */
int trove__sklearn_map(pk_arena *a, const trove_allocator *alloc, const pk_obj *root,
                       const trove__source_info *src, trove__model_out **models, size_t *n_models,
                       trove_error *err);
void trove__models_free(const trove_allocator *alloc, trove__model_out *models, size_t n);

/* ---- model_out.c: building a trove__model_out (shared by the importers) --------------------- */
/* Append a tensor named prefix + name with room for its data (uninitialised; arena memory) to
 * m; NULL when out of memory or larger than the address space. */
void *trove__out_tensor(pk_arena *a, trove__model_out *m, const char *prefix, const char *name,
                        trove_dtype dt, uint32_t rank, uint64_t d0, uint64_t d1);
/* Metadata with a sticky error: set map[key] = v / append v to arr, taking v; a NULL v or map,
 * or a failure, sets *rc to TROVE_E_NOMEM (if still 0) and frees what was not taken. */
void trove__out_set(int *rc, trove_value *map, const char *key, trove_value *v);
void trove__out_push(int *rc, trove_value *arr, trove_value *v);

/* ---- keras_h5.c ---------------------------------------------------------------------------- */
/* An HDF5 superblock signature at offset 0, 512, 1024, 2048, ... (a user block before it). */
bool trove__h5_probe(const uint8_t *buf, size_t len);
/* Map a Keras HDF5 model (the file image buf[0..len)) to the mlp kind: libhdf5 runs in a forked,
 * resource-limited child; same contract as trove__sklearn_map. */
int trove__keras_h5_map(pk_arena *a, const trove_allocator *alloc, const uint8_t *buf,
                        size_t len, uint64_t max_bytes, const trove__source_info *src,
                        trove__model_out **models, size_t *n_models, trove_error *err);
/* keras_zip.c: a Keras 3 .keras zip archive (its first member is metadata.json, config.json or
 * model.weights.*, or it names model.weights.h5); same contract as trove__keras_h5_map. */
bool trove__keras_zip_probe(const uint8_t *buf, size_t len);
int trove__keras_zip_map(pk_arena *a, const trove_allocator *alloc, const uint8_t *buf,
                         size_t len, uint64_t max_bytes, const trove__source_info *src,
                         trove__model_out **models, size_t *n_models, trove_error *err);

/* ---- xgboost.c ----------------------------------------------------------------------------- */
#define TROVE__XGB_JSON 1
#define TROVE__XGB_UBJSON 2
/* XGBoost's native model files: TROVE__XGB_JSON ('{' then a '"' key, and "learner" somewhere),
 * TROVE__XGB_UBJSON ('{' then a UBJSON length marker or container header), or 0. */
int trove__xgb_probe(const uint8_t *buf, size_t len);
/* Map an XGBoost model (kind from trove__xgb_probe) to tree_ensemble (gbtree, dart) or linear
 * (gblinear): same contract as trove__sklearn_map (one model; tensors in the arena). max_bytes
 * (0 = PK_DEFAULT_MAX_BYTES) also bounds jansson's memory for JSON (TROVE_E_LIMIT). */
int trove__xgb_map(pk_arena *a, const trove_allocator *alloc, const uint8_t *buf, size_t len,
                   int kind, uint64_t max_bytes, const trove__source_info *src,
                   trove__model_out **models, size_t *n_models, trove_error *err);

/* ---- convert.c ----------------------------------------------------------------------------- */
/* Everything up to (not including) writing: container, VM, mapping. For tests and fuzzing. */
typedef struct trove__conversion {
    pk_arena *arena;
    uint8_t *owned;          /* decompressed bytes, or NULL */
    trove__model_out *models;
    size_t n_models;
    const char *format;
    const trove_allocator *alloc;
} trove__conversion;
int trove__convert_buffer(const trove_allocator *alloc, const uint8_t *buf, size_t len,
                          const char *source_name, uint64_t max_bytes, trove__conversion *out,
                          trove_error *err);
void trove__conversion_free(trove__conversion *c);

#endif /* TROVE_CODECS_INTERNAL_H */
