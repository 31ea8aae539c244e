/* test_keras3.c: the Keras 3 .keras archive importer. Archives in Keras 3's exact layout are
 * written at test time by tests/python/keras3_fixtures.py (h5py + zipfile + numpy: Sequential,
 * Functional, nested models, BatchNormalization, PReLU/LeakyReLU, tf.keras 2.13's container
 * name, and hostile variants); each is converted in-process, the good ones predicted and
 * compared with the numpy forward pass, the hostile ones must be refused with the reason in the
 * message. Also: the zip reader under every truncation and random mutations, a zip member that
 * inflates past its declared size, the OOM torture of a whole conversion without leaks. */
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codecs/keras_h5.h"
#include "convert_torture.h"
#include "testlib.h"
#include "keras_cases.h"

#define FIXTURES "tests/python/keras3_fixtures.py"

static const char *fixture_dir(void)
{
    return keras_fixture_dir(FIXTURES, "keras3");
}

static void test_keras3__fixtures(void)
{
    keras_run_manifest(fixture_dir(), "keras", "Keras archive (.keras)", 10, 29);
}

static unsigned char *fixture(const char *name, size_t *len)
{
    const char *dir = fixture_dir();
    if (!dir)
        return NULL;
    char p[1024];
    snprintf(p, sizeof p, "%s/%s.keras", dir, name);
    return test_read_file(p, len);
}

/* The zip reader alone (no reader process): every prefix of an archive and random byte
 * mutations are read or refused, never crash, never leak. */
static void test_keras3__zip_reader_truncations_and_mutations(void)
{
    const char *names[] = {"k3_seq", "k3_seq_deflate"};
    for (size_t fi = 0; fi < 2; fi++) {
        size_t len = 0;
        unsigned char *buf = fixture(names[fi], &len);
        CHECK(buf != NULL);
        trove__kzip z;
        trove_error err;
        CHECK_OK(trove__kzip_read(NULL, buf, len, UINT64_C(1) << 30, &z, &err));
        CHECK(z.config && z.weights && z.metadata && z.weights_len > 8);
        CHECK(!memcmp(z.weights, "\x89HDF", 4));
        trove__kzip_free(NULL, &z);
        int refused = 0;
        for (size_t cut = 0; cut < len; cut++) {
            int rc = trove__kzip_read(NULL, buf, cut, UINT64_C(1) << 30, &z, &err);
            refused += rc != TROVE_OK;
            CHECK(rc == TROVE_OK || strstr(err.message, "Keras archive (.keras): "));
            trove__kzip_free(NULL, &z);
        }
        CHECK(refused == (int)len); /* the central directory is at the end */
        unsigned char *t = malloc(len);
        CHECK(t != NULL);
        unsigned seed = 5;
        int counts[2] = {0, 0};
        for (int round = 0; round < 2000; round++) {
            memcpy(t, buf, len);
            for (int k = 0; k < 1 + round % 3; k++) {
                seed = seed * 1103515245u + 12345u;
                t[(seed >> 8) % len] ^= (uint8_t)(1u << ((seed >> 4) & 7));
            }
            int rc = trove__kzip_read(NULL, t, len, UINT64_C(1) << 30, &z, &err);
            counts[rc != TROVE_OK]++;
            trove__kzip_free(NULL, &z);
        }
        printf("  %s: %zu truncations refused; 2000 mutations: %d read, %d refused\n",
               names[fi], len, counts[0], counts[1]);
        CHECK(counts[1] > 0);
        free(t);
        free(buf);
    }
}

/* A deflated member whose headers declare fewer bytes than it inflates to (CRC of the declared
 * prefix): read exactly the declared size, then refused. */
static void test_keras3__member_larger_than_declared(void)
{
    size_t len = 0;
    unsigned char *buf = fixture("k3_lying_size", &len);
    CHECK(buf != NULL);
    trove__kzip z;
    trove_error err;
    int rc = trove__kzip_read(NULL, buf, len, UINT64_C(1) << 30, &z, &err);
    printf("  lying size: %s\n", rc ? err.message : "(read)");
    CHECK(rc == TROVE_E_CORRUPT);
    CHECK(strstr(err.message, "config.json") != NULL);
    trove__kzip_free(NULL, &z);
    free(buf);
}

static int map_k3(const trove__kzip *z, const uint8_t *s, size_t n, trove_error *err)
{
    pk_arena *a = pk_arena_new(NULL, 0);
    if (!a)
        return TROVE_E_NOMEM;
    trove__model_out *models = NULL;
    size_t nm = 0;
    int rc = trove__kh5_map_keras3(a, NULL, (const char *)z->config, z->config_len, "3.0", s, n,
                                   NULL, &models, &nm, err);
    if (!rc && (nm != 1 || !models[0].meta || !models[0].n_tensors))
        rc = -1000;
    trove__models_free(NULL, models, nm);
    pk_arena_free(a);
    return rc;
}

/* The mapping side of an archive: the reader's stream for model.weights.h5 cut at every byte
 * and bit-flipped: refused or mapped, never a crash or a leak. */
static void test_keras3__stream_every_truncation_and_flips(void)
{
    const char *names[] = {"k3_nested", "k3_functional"};
    for (size_t fi = 0; fi < 2; fi++) {
        size_t len = 0, n = 0;
        unsigned char *buf = fixture(names[fi], &len);
        CHECK(buf != NULL);
        trove__kzip z;
        trove_error err;
        uint8_t *s = NULL;
        CHECK_OK(trove__kzip_read(NULL, buf, len, UINT64_C(1) << 30, &z, &err));
        CHECK_OK(trove__kh5_extract(NULL, z.weights, z.weights_len, UINT64_C(1) << 30, &s, &n,
                                    &err));
        CHECK_OK(map_k3(&z, s, n, &err));
        for (size_t cut = 0; cut < n; cut++)
            CHECK(map_k3(&z, s, cut, &err) != TROVE_OK);
        uint8_t *t = malloc(n);
        CHECK(t != NULL);
        unsigned seed = 3;
        for (int round = 0; round < 3000; round++) {
            memcpy(t, s, n);
            for (int k = 0; k < 1 + round % 4; k++) {
                seed = seed * 1103515245u + 12345u;
                t[(seed >> 8) % n] ^= (uint8_t)(1u << ((seed >> 4) & 7));
            }
            (void)map_k3(&z, t, n, &err);
        }
        free(t);
        free(s);
        trove__kzip_free(NULL, &z);
        free(buf);
    }
}

static void test_keras3__oom_torture_no_leak(void)
{
    const char *dir = fixture_dir();
    CHECK(dir != NULL);
    char in[1024];
    snprintf(in, sizeof in, "%s/k3_nested.keras", dir);
    CHECK(test_convert_oom_torture(in, test_path("oom.trove"), 20000));
}

static void test_keras3__probe(void)
{
    uint8_t b[64];
    memset(b, 0, sizeof b);
    memcpy(b, "PK\x03\x04", 4);
    b[26] = 13;
    memcpy(b + 30, "metadata.json", 13);
    CHECK(trove__keras_zip_probe(b, sizeof b));
    CHECK(!trove__keras_zip_probe(b, 40)); /* the name is cut */
    memcpy(b + 30, "archive/data.", 13);    /* a torch.save zip */
    CHECK(!trove__keras_zip_probe(b, sizeof b));
    memcpy(b + 40, "model.weights.h5", 16);
    CHECK(trove__keras_zip_probe(b, sizeof b));
    CHECK(!trove__keras_zip_probe(b, 55));
}

TEST_MAIN(T(test_keras3__probe), T(test_keras3__fixtures),
          T(test_keras3__zip_reader_truncations_and_mutations),
          T(test_keras3__member_larger_than_declared),
          T(test_keras3__stream_every_truncation_and_flips), T(test_keras3__oom_torture_no_leak))
