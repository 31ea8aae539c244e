/* fuzz_tensors.c: fuzz target for the plain-tensor importers (src/codecs/tensors.c): the
 * safetensors header (length, JSON, dtypes, shapes, offsets, holes/overlaps), the .npy header
 * dict and the .npz zip reader (central directory, zip64 fields, stored/deflate members, CRC),
 * parsed as probed and once more forced to one format (by input size, as an extension would),
 * then every tensor's bytes are produced in C order (byte swaps, Fortran transposition).
 * Replayed over fuzz/corpus/tensors/ (seeds from tools/make_tensors_corpus.py) by
 * `make check-fuzz`. */
#include <stdlib.h>
#include <string.h>

#include "codecs/tensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(const uint8_t *data, size_t size, int kind)
{
    trove__tset s;
    trove_error err;
    if (trove__tensors_parse(NULL, data, size, kind, NULL, UINT64_C(16) << 20, &s, &err) ==
        TROVE_OK) {
        uint8_t buf[1000]; /* not a multiple of 8: partial elements at the end of a buffer */
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < s.n; i++) {
            uint64_t pos = 0;
            size_t n;
            while ((n = trove__tin_read(&s.t[i], &pos, buf, sizeof buf)) > 0)
                sink ^= buf[n - 1];
            if (pos != s.t[i].nbytes)
                abort(); /* every byte must be produced */
        }
        (void)sink;
    }
    trove__tset_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one(data, size, TROVE__TF_NONE); /* probed by content, as trove convert does first */
    /* and forced, as when the extension names the format: each parser sees anything */
    one(data, size, (int)(size % 3) + TROVE__TF_SAFETENSORS);
    return 0;
}
