/* fuzz_keras3.c: fuzz target for the Keras 3 .keras importer's own code (libhdf5 runs in the
 * reader process and is not fuzzed here): the zip reader (libzip from memory: member limits,
 * sizes, CRC, duplicates), metadata.json, and the mapping of config.json onto weights found by
 * saving_lib path. Input: a .keras archive whose model.weights.h5 member holds an extract
 * stream (src/codecs/keras_h5.h) in place of the HDF5 file; or, when it does not start with
 * "PK", config.json, a NUL byte, then the extract stream (mutations of a zip mostly break its
 * CRC: this form reaches the mapping). Replayed over fuzz/corpus/keras3/ (seeds from
 * tools/make_keras3_corpus.py, both forms) by `make check-fuzz`. */
#include <stdlib.h>
#include <string.h>

#include "codecs/keras_h5.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void map(const uint8_t *config, size_t config_len, const char *version,
                const uint8_t *s, size_t n)
{
    pk_arena *a = pk_arena_new(NULL, UINT64_C(64) << 20);
    if (!a)
        return;
    trove__model_out *models = NULL;
    size_t nm = 0;
    trove_error err;
    if (trove__kh5_map_keras3(a, NULL, (const char *)config, config_len, version, s, n, NULL,
                              &models, &nm, &err) == TROVE_OK) {
        volatile double sink = 0;
        for (size_t t = 0; t < models[0].n_tensors; t++)
            if (models[0].tensors[t].dtype == TROVE_FLOAT32)
                sink += ((const float *)models[0].tensors[t].data)[0];
        (void)sink;
    }
    trove__models_free(NULL, models, nm);
    pk_arena_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || memcmp(data, "PK", 2)) {
        const uint8_t *nul = memchr(data, 0, size);
        if (nul)
            map(data, (size_t)(nul - data), "3.0.0", nul + 1, size - (size_t)(nul - data) - 1);
        return 0;
    }
    trove__kzip z;
    trove_error err;
    if (trove__kzip_read(NULL, data, size, UINT64_C(16) << 20, &z, &err) == TROVE_OK) {
        pk_arena *a = pk_arena_new(NULL, UINT64_C(1) << 20);
        const char *version = NULL;
        if (a && trove__kzip_version(a, &z, &version, &err) == TROVE_OK)
            map(z.config, z.config_len, version, z.weights, z.weights_len);
        pk_arena_free(a);
    }
    trove__kzip_free(NULL, &z);
    return 0;
}
