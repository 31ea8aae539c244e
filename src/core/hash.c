/* hash.c: XXH3-64 chunk checksums (libxxhash) and the BLAKE2b-256 tensor tree hash
 * (blake2b.c) defined in docs/FORMAT.md sections 6 and 7. */
#include <string.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "core/internal.h"

void trove__hex(const uint8_t *p, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[p[i] >> 4];
        out[2 * i + 1] = hx[p[i] & 15];
    }
    out[2 * n] = '\0';
}

uint64_t trove__xxh3(const void *p, size_t n)
{
    return XXH3_64bits(p, n);
}

struct trove__chunk_hasher {
    XXH3_state_t state;          /* first: needs 64-byte alignment */
    const trove_allocator *alloc;
    uint64_t chunk;              /* bytes per chunk */
    uint64_t filled;             /* bytes fed into the open chunk */
    uint8_t *digests;            /* 8 bytes per closed chunk */
    size_t count, cap;
};

trove__chunk_hasher *trove__chunk_hasher_new(const trove_allocator *a, uint64_t chunk)
{
    trove__chunk_hasher *h = trove__malloc_aligned(a, sizeof *h, 64);
    if (!h)
        return NULL;
    memset(h, 0, sizeof *h);
    h->alloc = a;
    h->chunk = chunk;
    XXH3_64bits_reset(&h->state);
    return h;
}

void trove__chunk_hasher_free(trove__chunk_hasher *h)
{
    if (!h)
        return;
    trove__free(h->alloc, h->digests);
    trove__free_aligned(h->alloc, h);
}

void trove__chunk_hasher_reset(trove__chunk_hasher *h)
{
    h->filled = 0;
    h->count = 0;
    XXH3_64bits_reset(&h->state);
}

static int push_digest(trove__chunk_hasher *h, uint64_t d)
{
    if (h->count == h->cap) {
        size_t ncap = h->cap ? h->cap * 2 : 16;
        uint8_t *nd = trove__realloc(h->alloc, h->digests, ncap * 8);
        if (!nd)
            return TROVE_E_NOMEM;
        h->digests = nd;
        h->cap = ncap;
    }
    trove__store_le64(h->digests + 8 * h->count++, d);
    return TROVE_OK;
}

int trove__chunk_hasher_update(trove__chunk_hasher *h, const void *p, size_t n)
{
    const unsigned char *b = p;
    while (n > 0) {
        uint64_t room = h->chunk - h->filled;
        size_t take = n < room ? n : (size_t)room;
        if (h->filled == 0 && take == h->chunk) {
            /* A whole chunk in one piece: the one-shot function is faster. */
            int rc = push_digest(h, XXH3_64bits(b, take));
            if (rc)
                return rc;
        } else {
            XXH3_64bits_update(&h->state, b, take);
            h->filled += take;
            if (h->filled == h->chunk) {
                int rc = push_digest(h, XXH3_64bits_digest(&h->state));
                if (rc)
                    return rc;
                XXH3_64bits_reset(&h->state);
                h->filled = 0;
            }
        }
        b += take;
        n -= take;
    }
    return TROVE_OK;
}

int trove__chunk_hasher_final(trove__chunk_hasher *h, const uint8_t **digests, size_t *count)
{
    if (h->filled > 0) {
        int rc = push_digest(h, XXH3_64bits_digest(&h->state));
        if (rc)
            return rc;
        XXH3_64bits_reset(&h->state);
        h->filled = 0;
    }
    *digests = h->digests;
    *count = h->count;
    return TROVE_OK;
}

/* ---- BLAKE2b tree hash ---------------------------------------------------------------- */
static const char tensor_prefix[] = "trove-tensor-v1";

void trove__blake2b_256(const void *p, size_t n, const void *prefix, size_t prefix_len,
                        uint8_t out[32])
{
    trove__blake2b st;
    trove__blake2b_init(&st, 32);
    if (prefix_len)
        trove__blake2b_update(&st, prefix, prefix_len);
    trove__blake2b_update(&st, p, n);
    trove__blake2b_final(&st, out);
}

void trove__leaf_digest(const void *p, size_t n, uint8_t out[32])
{
    trove__blake2b_256(p, n, NULL, 0, out);
}

void trove__tensor_digest_from_leaves(uint64_t nbytes, const uint8_t *leaves, size_t nleaves,
                                      uint8_t out[32])
{
    trove__blake2b st;
    uint8_t len[8];
    trove__store_le64(len, nbytes);
    trove__blake2b_init(&st, 32);
    trove__blake2b_update(&st, tensor_prefix, sizeof tensor_prefix - 1);
    trove__blake2b_update(&st, len, 8);
    if (nleaves)
        trove__blake2b_update(&st, leaves, nleaves * 32);
    trove__blake2b_final(&st, out);
}

struct trove__tree_hasher {
    trove__blake2b leaf;
    const trove_allocator *alloc;
    uint64_t total, filled;
    uint8_t *leaves;
    size_t count, cap;
};

trove__tree_hasher *trove__tree_hasher_new(const trove_allocator *a)
{
    trove__tree_hasher *h = trove__malloc_aligned(a, sizeof *h, 64);
    if (!h)
        return NULL;
    memset(h, 0, sizeof *h);
    h->alloc = a;
    trove__blake2b_init(&h->leaf, 32);
    return h;
}

void trove__tree_hasher_free(trove__tree_hasher *h)
{
    if (!h)
        return;
    trove__free(h->alloc, h->leaves);
    trove__free_aligned(h->alloc, h);
}

/* Room for one more leaf digest, reserved before a leaf is opened so closing never fails. */
static int reserve_leaf(trove__tree_hasher *h)
{
    if (h->count < h->cap)
        return TROVE_OK;
    size_t ncap = h->cap ? h->cap * 2 : 8;
    uint8_t *nl = trove__realloc(h->alloc, h->leaves, ncap * 32);
    if (!nl)
        return TROVE_E_NOMEM;
    h->leaves = nl;
    h->cap = ncap;
    return TROVE_OK;
}

static void close_leaf(trove__tree_hasher *h)
{
    trove__blake2b_final(&h->leaf, h->leaves + 32 * h->count++);
    trove__blake2b_init(&h->leaf, 32);
    h->filled = 0;
}

int trove__tree_hasher_update(trove__tree_hasher *h, const void *p, size_t n)
{
    const unsigned char *b = p;
    while (n > 0) {
        if (h->filled == 0) {
            int rc = reserve_leaf(h);
            if (rc)
                return rc;
        }
        uint64_t room = TROVE__LEAF_BYTES - h->filled;
        size_t take = n < room ? n : (size_t)room;
        trove__blake2b_update(&h->leaf, b, take);
        h->filled += take;
        h->total += take;
        if (h->filled == TROVE__LEAF_BYTES)
            close_leaf(h);
        b += take;
        n -= take;
    }
    return TROVE_OK;
}

void trove__tree_hasher_final(trove__tree_hasher *h, uint8_t out[32])
{
    if (h->filled > 0)
        close_leaf(h);
    trove__tensor_digest_from_leaves(h->total, h->leaves, h->count, out);
}
