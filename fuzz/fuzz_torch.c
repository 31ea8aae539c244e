/* fuzz_torch.c: fuzz target for the torch.save importer (src/codecs/torch.c): the zip reader
 * (end records, zip64 fields, central directory against local headers, CRC), the legacy stream
 * (magic, pickles, counted storages), the inert pickle VM with persistent ids, the object walk
 * (dicts, Parameters, views, metadata leaves) and the strided reads of every view in C order.
 * Parsed as probed and once more forced to the other torch format. Replayed over
 * fuzz/corpus/torch/ (seeds from tools/make_torch_corpus.py) by `make check-fuzz`. */
#include <stdlib.h>
#include <string.h>

#include "codecs/tensors.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(const uint8_t *data, size_t size, int kind)
{
    trove__tset s;
    trove_error err;
    int rc = trove__tensors_parse(NULL, data, size, kind, NULL, UINT64_C(16) << 20, &s, &err);
    clean(rc, &err);
    if (rc == TROVE_OK) {
        uint8_t buf[1000]; /* not a multiple of 8: partial elements at the end of a buffer */
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < s.n; i++) {
            uint64_t pos = 0;
            size_t n;
            while ((n = trove__tin_read(&s.t[i], &pos, buf, sizeof buf)) > 0)
                sink ^= buf[n - 1];
            check(pos == s.t[i].nbytes); /* every byte is produced */
        }
        (void)sink;
        if (s.user) { /* the metadata leaves encode as canonical CBOR */
            uint8_t *cbor = NULL;
            size_t clen = 0;
            trove_error e2;
            check(trove_value_encode(s.user, NULL, &cbor, &clen, &e2) == TROVE_OK);
            trove_free(NULL, cbor);
        }
    }
    trove__tset_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int probed = trove__tensors_probe(data, size);
    one(data, size, TROVE__TF_NONE);
    if (probed != TROVE__TF_TORCH)
        one(data, size, TROVE__TF_TORCH);
    if (probed != TROVE__TF_TORCH_LEGACY)
        one(data, size, TROVE__TF_TORCH_LEGACY);
    return 0;
}
