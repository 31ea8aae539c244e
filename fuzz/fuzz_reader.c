/* fuzz_reader.c: fuzz target for the container reader: open an arbitrary buffer with and
 * without TROVE_OPEN_VERIFY, then touch everything a user can reach (every tensor's bytes,
 * verification, digests, metadata as JSON). Every outcome must be a clean status: a crash,
 * a sanitizer report or a leak is a bug. Each input is tried as is and, when it looks like a
 * trove file, once more with its framing and header checksums recomputed, so that mutations of
 * the header reach the validation behind the checksums. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/layout.h"
#include "trove.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Per tensor: bounded so a 100-byte input cannot ask for gigabytes (the documented knob). */
#define FUZZ_MAX_DECOMPRESSED (UINT64_C(8) << 20)

static void touch(trove_file *f)
{
    trove_error err;
    size_t n = trove_file_tensor_count(f);
    uint64_t fsize = trove_file_size(f);
    for (size_t i = 0; i < n; i++) {
        trove_tensor_info ti;
        check(trove_file_tensor_info(f, i, &ti) == TROVE_OK);
        /* Invariants the reader promises after a successful open. */
        check(ti.name && ti.name_len > 0 && strlen(ti.name) == ti.name_len);
        check(ti.rank <= TROVE_MAX_RANK && ti.alignment >= 64 && ti.offset % ti.alignment == 0);
        check(ti.offset + ti.stored_bytes <= fsize);
        check(ti.nbytes == ti.count * trove_dtype_size(ti.dtype));
        size_t j = SIZE_MAX;
        check(trove_file_find(f, ti.name, &j) == TROVE_OK && j == i);
        const void *p = NULL;
        int rc = trove_file_tensor_data(f, i, &p, &err);
        clean(rc, &err);
        if (rc == TROVE_OK) {
            /* Read every byte: ASan flags any view that leaves the buffer. */
            const volatile uint8_t *b = p;
            uint8_t acc = 0;
            for (uint64_t k = 0; k < ti.nbytes; k++)
                acc ^= b[k];
            (void)acc;
            const void *again = NULL;
            check(trove_file_tensor_data(f, i, &again, &err) == TROVE_OK && again == p);
        }
        clean(trove_file_verify_tensor(f, i, &err), &err);
        uint8_t dig[TROVE_DIGEST_BYTES];
        clean(trove_file_tensor_digest(f, i, dig, &err), &err);
    }
    check(trove_file_tensor_info(f, n, &(trove_tensor_info){0}) == TROVE_E_NOT_FOUND);
    clean(trove_file_verify(f, &err), &err);
    uint8_t dig[TROVE_DIGEST_BYTES];
    clean(trove_file_digest(f, 0, 1, dig, &err), &err);
    clean(trove_file_digest(f, TROVE_DIGEST_TRUST_STORED, 1, dig, &err), &err);
    char *json = NULL;
    size_t jlen = 0;
    check(trove_file_metadata(f) != NULL);
    if (trove_value_to_json(trove_file_metadata(f), NULL, 2, &json, &jlen, &err) == TROVE_OK)
        check(strlen(json) == jlen);
    trove_free(NULL, json);
    json = NULL;
    if (trove_value_to_json(trove_file_header(f), NULL, 0, &json, &jlen, &err) == TROVE_OK)
        check(strlen(json) == jlen);
    trove_free(NULL, json);
    /* The stored header is canonical: re-encoding the decoded tree gives the same bytes. */
    const void *hp;
    size_t hlen;
    trove_file_header_bytes(f, &hp, &hlen);
    uint8_t *enc = NULL;
    size_t elen = 0;
    if (trove_value_encode(trove_file_header(f), NULL, &enc, &elen, &err) == TROVE_OK)
        check(elen == hlen && memcmp(enc, hp, hlen) == 0);
    trove_free(NULL, enc);
}

static void try_open(const uint8_t *data, size_t size, uint32_t flags)
{
    trove_open_options o = TROVE_OPEN_OPTIONS_INIT;
    o.flags = flags;
    o.max_decompressed_bytes = FUZZ_MAX_DECOMPRESSED;
    trove_file *f = NULL;
    trove_error err;
    memset(&err, 0, sizeof err);
    int rc = trove_open_memory(&f, data, size, &o, &err);
    if (rc == TROVE_OK) {
        check(f != NULL);
        touch(f);
        trove_close(f);
    } else {
        /* Errors are clean: no handle, a known code, a message. */
        check(f == NULL);
        clean(rc, &err);
    }
}

/* Recompute the header checksum and the preamble/trailer check when the trailer points at a
 * plausible header. Returns a malloc'd copy, or NULL when nothing applies or changes. */
static uint8_t *fix_checksums(const uint8_t *data, size_t size)
{
    if (size < TROVE__PREAMBLE_BYTES + TROVE__TRAILER_BYTES || memcmp(data, TROVE__MAGIC, 8) != 0)
        return NULL;
    uint8_t *c = malloc(size);
    if (!c)
        return NULL;
    memcpy(c, data, size);
    uint8_t *tr = c + size - TROVE__TRAILER_BYTES;
    uint64_t troff = size - TROVE__TRAILER_BYTES;
    uint64_t hoff = trove__load_le64(tr + TR_HEADER_OFFSET);
    uint64_t hlen = trove__load_le64(tr + TR_HEADER_LENGTH);
    if (hoff >= TROVE__PREAMBLE_BYTES && hoff <= troff && hlen == troff - hoff)
        trove__store_le64(tr + TR_HEADER_XXH3, trove__xxh3(c + hoff, (size_t)hlen));
    trove__store_le64(tr + TR_CHECK, trove__trailer_check(c, tr));
    if (memcmp(c, data, size) == 0) {
        free(c);
        return NULL;
    }
    return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    try_open(data, size, 0);
    try_open(data, size, TROVE_OPEN_VERIFY);
    uint8_t *fixed = fix_checksums(data, size);
    if (fixed) {
        try_open(fixed, size, 0);
        try_open(fixed, size, TROVE_OPEN_VERIFY);
        free(fixed);
    }
    return 0;
}
