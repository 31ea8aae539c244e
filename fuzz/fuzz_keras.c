/* fuzz_keras.c: fuzz target for the Keras HDF5 importer's own code (libhdf5 runs in the reader
 * process and is not fuzzed here): the extract stream decoder, the model_config JSON -> layer
 * plan mapping (Sequential/Functional/nested models, weight assignment, shape checks) and the
 * metadata, all in memory. Input: the model_config JSON, a NUL byte, then the rest of an extract
 * stream (records after model_config: 'A' attributes, 'L' layers with their 'W' weights, 'Z'),
 * so that mutations of the JSON keep the framing. Replayed over fuzz/corpus/keras/ (seeds from
 * tools/make_keras_corpus.py) by `make check-fuzz`. */
#include <stdlib.h>
#include <string.h>

#include "codecs/keras_h5.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t clen = nul ? (size_t)(nul - data) : size;
    const uint8_t *rest = nul ? nul + 1 : (const uint8_t *)"Z";
    size_t rlen = nul ? size - clen - 1 : 1;
    size_t n = 4 + 1 + 2 + 12 + 4 + clen + rlen;
    uint8_t *s = malloc(n);
    if (!s)
        return 0;
    uint8_t *p = s;
    memcpy(p, KH5_MAGIC "A\x0c\x00model_config", 19);
    p += 19;
    for (int i = 0; i < 4; i++)
        *p++ = (uint8_t)(clen >> (8 * i));
    memcpy(p, data, clen);
    memcpy(p + clen, rest, rlen);
    pk_arena *a = pk_arena_new(NULL, UINT64_C(64) << 20);
    if (a) {
        trove__model_out *models = NULL;
        size_t nm = 0;
        trove_error err;
        if (trove__kh5_map_stream(a, NULL, s, n, NULL, &models, &nm, &err) == TROVE_OK) {
            volatile double sink = 0;
            for (size_t t = 0; t < models[0].n_tensors; t++)
                if (models[0].tensors[t].dtype == TROVE_FLOAT32)
                    sink += ((const float *)models[0].tensors[t].data)[0];
            (void)sink;
        }
        trove__models_free(NULL, models, nm);
        pk_arena_free(a);
    }
    free(s);
    return 0;
}
