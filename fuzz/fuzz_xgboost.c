/* fuzz_xgboost.c: fuzz target for the XGBoost importer (src/codecs/xgboost.c): the UBJSON reader
 * (markers, typed and counted containers, lengths, nesting), the JSON path (jansson into the same
 * value tree), and the mapping (learner, objective, base_score forms, trees walked from the root,
 * dart weights, gblinear), in memory. Every input is parsed as probed, then forced as UBJSON and
 * as JSON. Replayed over fuzz/corpus/xgboost/ (small models written once by xgboost 1.7.4) by
 * `make check-fuzz`. */
#include <stddef.h>
#include <stdint.h>

#include "codecs/codecs_internal.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(const uint8_t *data, size_t size, int kind)
{
    pk_arena *a = pk_arena_new(NULL, UINT64_C(64) << 20);
    if (!a)
        return;
    trove__model_out *models = NULL;
    size_t n = 0;
    trove_error err;
    int rc = trove__xgb_map(a, NULL, data, size, kind, UINT64_C(64) << 20, NULL, &models, &n,
                            &err);
    clean(rc, &err);
    if (rc == TROVE_OK) {
        check(n == 1 && models[0].meta != NULL);
        volatile double sink = 0;
        for (size_t t = 0; t < models[0].n_tensors; t++) {
            const trove__tensor_out *x = &models[0].tensors[t];
            if (x->dtype == TROVE_FLOAT64 && x->shape[0])
                sink += ((const double *)x->data)[x->shape[0] * (x->rank == 2 ? x->shape[1] : 1)
                                                  - 1];
        }
        (void)sink;
    }
    trove__models_free(NULL, models, n);
    pk_arena_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int probed = trove__xgb_probe(data, size);
    if (probed)
        one(data, size, probed);
    if (probed != TROVE__XGB_UBJSON)
        one(data, size, TROVE__XGB_UBJSON);
    if (probed != TROVE__XGB_JSON)
        one(data, size, TROVE__XGB_JSON);
    return 0;
}
