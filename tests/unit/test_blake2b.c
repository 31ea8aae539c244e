/* test_blake2b.c: the library's own BLAKE2b (src/core/blake2b.c) against libsodium's
 * crypto_generichash (the same function, RFC 7693): every length from 0 to 4 KiB in one call and
 * split at several points, every output size from 1 to 64, a 9 MiB buffer fed in uneven pieces,
 * the RFC's "abc" vector, and the tree hash of a tensor against its definition (FORMAT.md 7). */
#include <sodium.h>
#include <stdlib.h>

#include "core/internal.h"
#include "testlib.h"

static void ours(const uint8_t *p, size_t n, size_t split, size_t outlen, uint8_t *out)
{
    trove__blake2b s;
    trove__blake2b_init(&s, outlen);
    trove__blake2b_update(&s, p, split);
    trove__blake2b_update(&s, p + split, n - split);
    trove__blake2b_final(&s, out);
}

static void test_blake2b__every_length_and_split(void)
{
    CHECK(sodium_init() >= 0);
    enum { N = 4096 };
    uint8_t *p = malloc(N);
    CHECK(p != NULL);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < N; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
    size_t bad = 0;
    for (size_t n = 0; n <= N; n++) {
        uint8_t a[32], b[32];
        crypto_generichash(a, 32, p, n, NULL, 0);
        size_t splits[] = {0, n / 2, n > 0 ? n - 1 : 0, n % 128, n < 129 ? n : 128, n};
        for (size_t k = 0; k < sizeof splits / sizeof splits[0]; k++) {
            ours(p, n, splits[k], 32, b);
            bad += memcmp(a, b, 32) != 0;
        }
    }
    CHECK(bad == 0);
    for (size_t outlen = 1; outlen <= 64; outlen++) { /* the parameter block's digest length */
        uint8_t a[64], b[64];
        for (size_t n = 0; n <= 300; n += 43) {
            crypto_generichash(a, outlen, p, n, NULL, 0);
            ours(p, n, n / 3, outlen, b);
            bad += memcmp(a, b, outlen) != 0;
        }
    }
    CHECK(bad == 0);
    free(p);
}

static void test_blake2b__large_uneven_pieces(void)
{
    size_t n = (size_t)9 << 20;
    uint8_t *p = malloc(n);
    CHECK(p != NULL);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 131u + (i >> 11));
    uint8_t a[32], b[32];
    crypto_generichash(a, 32, p, n, NULL, 0);
    trove__blake2b s;
    trove__blake2b_init(&s, 32);
    size_t off = 0, step = 1;
    while (off < n) { /* 1, 2, 4, ... then wrapping: pieces straddle every block boundary */
        size_t take = step < n - off ? step : n - off;
        trove__blake2b_update(&s, p + off, take);
        off += take;
        step = step >= (1u << 20) ? 1 : step * 2 + 1;
    }
    trove__blake2b_final(&s, b);
    CHECK(memcmp(a, b, 32) == 0);
    trove__blake2b_256(p, n, NULL, 0, b);
    CHECK(memcmp(a, b, 32) == 0);
    free(p);
}

/* RFC 7693 appendix A: BLAKE2b-512("abc"). */
static void test_blake2b__rfc_vector(void)
{
    static const uint8_t want[64] = {
        0xBA, 0x80, 0xA5, 0x3F, 0x98, 0x1C, 0x4D, 0x0D, 0x6A, 0x27, 0x97, 0xB6, 0x9F, 0x12, 0xF6,
        0xE9, 0x4C, 0x21, 0x2F, 0x14, 0x68, 0x5A, 0xC4, 0xB7, 0x4B, 0x12, 0xBB, 0x6F, 0xDB, 0xFF,
        0xA2, 0xD1, 0x7D, 0x87, 0xC5, 0x39, 0x2A, 0xAB, 0x79, 0x2D, 0xC2, 0x52, 0xD5, 0xDE, 0x45,
        0x33, 0xCC, 0x95, 0x18, 0xD3, 0x8A, 0xA8, 0xDB, 0xF1, 0x92, 0x5A, 0xB9, 0x23, 0x86, 0xED,
        0xD4, 0x00, 0x99, 0x23};
    uint8_t out[64];
    ours((const uint8_t *)"abc", 3, 1, 64, out);
    CHECK(memcmp(out, want, 64) == 0);
}

/* The tensor digest: BLAKE2b-256 of "trove-tensor-v1" || le64(nbytes) || the leaves' digests,
 * each leaf the BLAKE2b-256 of a 4 MiB piece (FORMAT.md 7), computed here with libsodium. */
static void test_blake2b__tree_hash_definition(void)
{
    size_t n = (size_t)(TROVE__LEAF_BYTES * 2 + 12345);
    uint8_t *p = malloc(n);
    CHECK(p != NULL);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i ^ (i >> 9));
    uint8_t leaves[3 * 32], want[32], got[32];
    for (size_t k = 0; k < 3; k++) {
        size_t off = k * (size_t)TROVE__LEAF_BYTES;
        size_t len = n - off < TROVE__LEAF_BYTES ? n - off : (size_t)TROVE__LEAF_BYTES;
        crypto_generichash(leaves + 32 * k, 32, p + off, len, NULL, 0);
    }
    crypto_generichash_state st;
    uint8_t le[8];
    trove__store_le64(le, n);
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, (const unsigned char *)"trove-tensor-v1", 15);
    crypto_generichash_update(&st, le, 8);
    crypto_generichash_update(&st, leaves, sizeof leaves);
    crypto_generichash_final(&st, want, 32);
    trove__tree_hasher *h = trove__tree_hasher_new(NULL);
    CHECK(h != NULL);
    CHECK(trove__tree_hasher_update(h, p, 1000) == 0);
    CHECK(trove__tree_hasher_update(h, p + 1000, n - 1000) == 0);
    trove__tree_hasher_final(h, got);
    trove__tree_hasher_free(h);
    CHECK(memcmp(want, got, 32) == 0);
    free(p);
}

TEST_MAIN(T(test_blake2b__every_length_and_split), T(test_blake2b__large_uneven_pieces),
          T(test_blake2b__rfc_vector), T(test_blake2b__tree_hash_definition))
