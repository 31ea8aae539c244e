/* blake2b.c: unkeyed BLAKE2b (RFC 7693), the hash of every digest in the format (docs/FORMAT.md
 * 7: 4 MiB leaves, tensor and model digests) and of the registry's blob names.
 *
 * Why not libsodium's crypto_generichash, which computes the same function (and is still used
 * for the keyed derivations of src/security): its speed depends on the process. Before
 * sodium_init() it runs portable C; sodium_init() (which every trust operation calls, and any
 * application may) switches it to its SIMD code, which on the development machine (AMD EPYC
 * Zen 3 VM, Debian 12's libsodium 1.0.18) is half as fast: 1 GiB in 1.73 s against 0.92 s
 * before the call. This plain C version with its twelve rounds unrolled takes 0.86 s whatever
 * the process did, and hashing is the floor of verify, sign and registry push. Its output is
 * checked against libsodium's for every length from 0 to 4 KiB, split points, output sizes and
 * large inputs (tests/unit/test_blake2b.c). */
#include <string.h>

#include "core/internal.h"

static const uint64_t IV[8] = {
    UINT64_C(0x6a09e667f3bcc908), UINT64_C(0xbb67ae8584caa73b), UINT64_C(0x3c6ef372fe94f82b),
    UINT64_C(0xa54ff53a5f1d36f1), UINT64_C(0x510e527fade682d1), UINT64_C(0x9b05688c2b3e6c1f),
    UINT64_C(0x1f83d9abfb41bd6b), UINT64_C(0x5be0cd19137e2179)};

static const uint8_t SIGMA[12][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3}};

/* A little-endian word: one load where the host is little-endian (trove__load_le64's byte loop
 * is not turned into one here, and cost a third of the speed). */
static inline uint64_t load64(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
#else
    return trove__load_le64(p);
#endif
}

static inline uint64_t rotr64(uint64_t x, unsigned n)
{
    return (x >> n) | (x << (64 - n));
}

#define G(a, b, c, d, x, y)                                                                    \
    do {                                                                                       \
        a = a + b + (x);                                                                       \
        d = rotr64(d ^ a, 32);                                                                 \
        c = c + d;                                                                             \
        b = rotr64(b ^ c, 24);                                                                 \
        a = a + b + (y);                                                                       \
        d = rotr64(d ^ a, 16);                                                                 \
        c = c + d;                                                                             \
        b = rotr64(b ^ c, 63);                                                                 \
    } while (0)

/* One round with constant message indices (the rounds are unrolled below: table lookups with a
 * loop counter cost a third of the speed). */
#define ROUND(r)                                                                               \
    do {                                                                                       \
        G(v0, v4, v8, v12, m[SIGMA[r][0]], m[SIGMA[r][1]]);                                     \
        G(v1, v5, v9, v13, m[SIGMA[r][2]], m[SIGMA[r][3]]);                                     \
        G(v2, v6, v10, v14, m[SIGMA[r][4]], m[SIGMA[r][5]]);                                    \
        G(v3, v7, v11, v15, m[SIGMA[r][6]], m[SIGMA[r][7]]);                                    \
        G(v0, v5, v10, v15, m[SIGMA[r][8]], m[SIGMA[r][9]]);                                    \
        G(v1, v6, v11, v12, m[SIGMA[r][10]], m[SIGMA[r][11]]);                                  \
        G(v2, v7, v8, v13, m[SIGMA[r][12]], m[SIGMA[r][13]]);                                   \
        G(v3, v4, v9, v14, m[SIGMA[r][14]], m[SIGMA[r][15]]);                                   \
    } while (0)

static void compress(trove__blake2b *s, const uint8_t block[128], uint64_t last)
{
    uint64_t m[16];
    for (int i = 0; i < 16; i++)
        m[i] = load64(block + 8 * i);
    uint64_t v0 = s->h[0], v1 = s->h[1], v2 = s->h[2], v3 = s->h[3];
    uint64_t v4 = s->h[4], v5 = s->h[5], v6 = s->h[6], v7 = s->h[7];
    uint64_t v8 = IV[0], v9 = IV[1], v10 = IV[2], v11 = IV[3];
    uint64_t v12 = IV[4] ^ s->t[0], v13 = IV[5] ^ s->t[1], v14 = IV[6] ^ last, v15 = IV[7];
    ROUND(0);
    ROUND(1);
    ROUND(2);
    ROUND(3);
    ROUND(4);
    ROUND(5);
    ROUND(6);
    ROUND(7);
    ROUND(8);
    ROUND(9);
    ROUND(10);
    ROUND(11);
    s->h[0] ^= v0 ^ v8;
    s->h[1] ^= v1 ^ v9;
    s->h[2] ^= v2 ^ v10;
    s->h[3] ^= v3 ^ v11;
    s->h[4] ^= v4 ^ v12;
    s->h[5] ^= v5 ^ v13;
    s->h[6] ^= v6 ^ v14;
    s->h[7] ^= v7 ^ v15;
}

static void count(trove__blake2b *s, uint64_t n)
{
    s->t[0] += n;
    if (s->t[0] < n)
        s->t[1]++;
}

void trove__blake2b_init(trove__blake2b *s, size_t outlen)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < 8; i++)
        s->h[i] = IV[i];
    s->h[0] ^= UINT64_C(0x01010000) ^ (uint64_t)outlen; /* no key, fanout 1, depth 1 */
    s->outlen = outlen;
}

void trove__blake2b_update(trove__blake2b *s, const void *in, size_t n)
{
    const uint8_t *p = in;
    if (n == 0)
        return;
    /* The last block is compressed by final (with the last-block flag): keep it buffered. */
    if (s->buflen && s->buflen + n > 128) {
        size_t take = 128 - s->buflen;
        memcpy(s->buf + s->buflen, p, take);
        count(s, 128);
        compress(s, s->buf, 0);
        s->buflen = 0;
        p += take;
        n -= take;
    }
    while (n > 128) {
        count(s, 128);
        compress(s, p, 0);
        p += 128;
        n -= 128;
    }
    memcpy(s->buf + s->buflen, p, n);
    s->buflen += n;
}

void trove__blake2b_final(trove__blake2b *s, uint8_t *out)
{
    count(s, s->buflen);
    memset(s->buf + s->buflen, 0, 128 - s->buflen);
    compress(s, s->buf, ~UINT64_C(0));
    uint8_t full[64];
    for (int i = 0; i < 8; i++)
        trove__store_le64(full + 8 * i, s->h[i]);
    memcpy(out, full, s->outlen);
}
