/* fuzz_cbor.c: fuzz target for the canonical CBOR decoder: whatever decodes must re-encode to
 * exactly the input bytes (the canonical property: one value, one encoding), must survive a
 * clone, an equality check and JSON output; whatever is refused must be refused cleanly. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "trove.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    trove_value *v = NULL;
    trove_error err;
    memset(&err, 0, sizeof err);
    /* A lowered depth limit on odd sizes exercises the option as well. */
    uint32_t depth = (size & 1) ? 5 : 0;
    int rc = trove_value_decode(size ? data : (const void *)"", size, NULL, depth, &v, &err);
    if (rc != TROVE_OK) {
        check(v == NULL && (rc == TROVE_E_CORRUPT || rc == TROVE_E_LIMIT) && err.code == rc &&
              err.message[0] != '\0');
        return 0;
    }
    uint8_t *enc = NULL;
    size_t elen = 0;
    check(trove_value_encode(v, NULL, &enc, &elen, &err) == TROVE_OK);
    check(elen == size && memcmp(enc, data, size) == 0); /* canonical: identical bytes */
    trove_free(NULL, enc);
    trove_value *c = trove_value_clone(v);
    check(c != NULL && trove_value_equal(v, c));
    trove_value_free(c);
    char *json = NULL;
    size_t jlen = 0;
    check(trove_value_to_json(v, NULL, 1, &json, &jlen, &err) == TROVE_OK);
    check(strlen(json) == jlen);
    trove_free(NULL, json);
    trove_value_free(v);
    return 0;
}
