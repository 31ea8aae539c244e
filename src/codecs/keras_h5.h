/* keras_h5.h: internal interface of the Keras HDF5 importer: the extract stream that the
 * libhdf5 reader process (keras_h5_child.c) sends to the mapping (keras_h5.c).
 *
 * Stream: "KH5\1", then records, each a tag byte:
 *   'A' u16 name_len, name, u32 len, bytes   text attribute (model_config, keras_version, ...)
 *   'L' u16 name_len, name, u32 n_weights    a layer group of layer_names; its n_weights 'W' follow
 *   'W' u16 name_len, name, u8 dtype code, u8 HDF5 class, u8 size, u8 rank, rank x u64 dims,
 *       then prod(dims) float32 (F16/F32) or float64 (F64) values in host order (none for OTHER)
 *   'E' u32 len, message                     the reader refused or failed: the reason
 *   'Z'                                      end
 * Integers are little-endian. The parent treats the stream as untrusted too: every length is
 * checked against what remains. */
#ifndef TROVE_KERAS_H5_H
#define TROVE_KERAS_H5_H

#include "codecs/codecs_internal.h"

#define KH5_MAGIC "KH5\1"
#define KH5_MAX_NAME 1024                 /* bytes of a layer or weight name */
#define KH5_MAX_CONFIG (64u << 20)        /* bytes of model_config and of any text attribute */
#define KH5_MAX_LAYERS 4096               /* entries of layer_names / layers of a config */
#define KH5_MAX_WEIGHTS 4096              /* entries of one weight_names */
#define KH5_MAX_RANK 4
#define KH5_MAX_DIM (UINT64_C(1) << 31)
#define KH5_MAX_DEPTH 16                  /* nested models */
#define KH5_MAX_DIAG 2048                 /* width of an inserted identity or BatchNormalization */
#define KH5_CPU_SECONDS 30
#define KH5_WALL_SECONDS 120

enum { KH5_DT_OTHER = 0, KH5_DT_F32 = 1, KH5_DT_F64 = 2, KH5_DT_F16 = 3 };

/* Run libhdf5 over the file image buf[0..len) in a forked child (resource limits, no file
 * descriptors, no plugins) and collect its stream: *out (caller frees with trove__free). A crash
 * or a limit hit in the child is an error here (TROVE_E_CORRUPT / TROVE_E_LIMIT). */
int trove__kh5_extract(const trove_allocator *alloc, const uint8_t *buf, size_t len,
                       uint64_t budget, uint8_t **out, size_t *out_len, trove_error *err);

/* Decode an extract stream and map the Keras model to the mlp kind (no libhdf5 here: this is
 * what fuzz/fuzz_keras.c exercises). Same contract as trove__sklearn_map; arrays live in a. */
int trove__kh5_map_stream(pk_arena *a, const trove_allocator *alloc, const uint8_t *s, size_t n,
                          const trove__source_info *src, trove__model_out **models,
                          size_t *n_models, trove_error *err);

/* The same for a .keras archive: config.json (config[0..config_len)) is the model, the stream
 * comes from its model.weights.h5 (Keras 3 layout: weights found by saving_lib path). version:
 * metadata.json's keras_version or NULL. */
int trove__kh5_map_keras3(pk_arena *a, const trove_allocator *alloc, const char *config,
                          size_t config_len, const char *version, const uint8_t *s, size_t n,
                          const trove__source_info *src, trove__model_out **models,
                          size_t *n_models, trove_error *err);

/* ---- keras_zip.c: the .keras archive ------------------------------------------------------ */
#define KZ_MAX_MEMBERS 10000           /* entries of the archive's central directory */
#define KZ_MAX_METADATA (1u << 20)     /* bytes of metadata.json */

typedef struct trove__kzip {
    uint8_t *config, *metadata, *weights; /* NUL-terminated copies (trove__free); metadata may
                                             be NULL (absent) */
    size_t config_len, metadata_len, weights_len;
} trove__kzip;

/* Read config.json, metadata.json and model.weights.h5 from the zip archive buf[0..len) with
 * libzip, from memory: member count, sizes (config <= KH5_MAX_CONFIG, weights <= max_bytes),
 * compression (stored, deflate), CRC and exact lengths checked, duplicates refused. *z: caller
 * frees with trove__kzip_free, also after a failure. */
int trove__kzip_read(const trove_allocator *alloc, const uint8_t *buf, size_t len,
                     uint64_t max_bytes, trove__kzip *z, trove_error *err);
void trove__kzip_free(const trove_allocator *alloc, trove__kzip *z);
/* metadata.json's keras_version (arena copy) or NULL; TROVE_E_CORRUPT if it is not JSON. */
int trove__kzip_version(pk_arena *a, const trove__kzip *z, const char **version,
                        trove_error *err);

#endif /* TROVE_KERAS_H5_H */
