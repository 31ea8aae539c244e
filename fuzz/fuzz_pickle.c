/* fuzz_pickle.c: fuzz target for the scikit-learn importer: container detection and
 * decompression (joblib), the inert pickle VM, numpy views and the mapping to model kinds, all in
 * memory (nothing is written). Replayed over fuzz/corpus/pickle/ by `make check-fuzz`. */
#include <stddef.h>
#include <stdint.h>

#include "codecs/codecs_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    trove__conversion c;
    trove_error err;
    /* a small budget keeps decompression bombs and huge arrays cheap */
    if (trove__convert_buffer(NULL, data, size, "fuzz", UINT64_C(64) << 20, &c, &err) ==
        TROVE_OK) {
        volatile double sink = 0;
        for (size_t m = 0; m < c.n_models; m++)
            for (size_t t = 0; t < c.models[m].n_tensors; t++) {
                const trove__tensor_out *x = &c.models[m].tensors[t];
                if (x->dtype == TROVE_FLOAT64 && x->shape[0])
                    sink += ((const double *)x->data)[0];
            }
        (void)sink;
        trove__conversion_free(&c);
    }
    return 0;
}
