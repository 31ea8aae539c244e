/* test_keras.c: the Keras HDF5 importer. Keras-layout HDF5 files are written at test time by
 * tests/python/keras_fixtures.py (h5py + numpy: Keras 1/2/3 Sequential, Functional, nested
 * models, and hostile variants); each is converted in-process, the good ones predicted and
 * compared with the numpy forward pass the script computed, the hostile ones must be refused
 * with the reason in the message. Also: the extract stream decoder under every truncation and
 * bit flips, OOM torture without leaks, a crashing reader process, the real-world files of
 * /work/shared/wild (converted or refused cleanly; skipped visibly when absent). */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codecs/keras_h5.h"
#include "testlib.h"
#include "keras_cases.h"

#define FIXTURES "tests/python/keras_fixtures.py"

static const char *fixture_dir(void)
{
    return keras_fixture_dir(FIXTURES, "keras");
}

static void test_keras__fixtures(void)
{
    keras_run_manifest(fixture_dir(), "h5", "HDF5 (Keras)", 15, 33);
}

/* The stream of a fixture, as the reader process sends it. */
static uint8_t *stream_of(const char *file, size_t *n)
{
    const char *dir = fixture_dir();
    if (!dir)
        return NULL;
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    size_t len = 0;
    unsigned char *buf = test_read_file(p, &len);
    uint8_t *s = NULL;
    trove_error err;
    if (buf && trove__kh5_extract(NULL, buf, len, UINT64_C(1) << 30, &s, n, &err) != 0)
        fprintf(stderr, "  extract %s: %s\n", file, err.message);
    free(buf);
    return s;
}

static int map_stream(const trove_allocator *alloc, const uint8_t *s, size_t n,
                      trove_error *err)
{
    pk_arena *a = pk_arena_new(alloc, 0);
    if (!a)
        return TROVE_E_NOMEM;
    trove__model_out *models = NULL;
    size_t nm = 0;
    int rc = trove__kh5_map_stream(a, alloc, s, n, NULL, &models, &nm, err);
    if (!rc && (nm != 1 || !models[0].meta || !models[0].n_tensors))
        rc = -1000;
    trove__models_free(alloc, models, nm);
    pk_arena_free(a);
    return rc;
}

static void test_keras__stream_every_truncation_and_flips(void)
{
    const char *files[] = {"k3_nested.h5", "k2_functional.h5"};
    for (size_t fi = 0; fi < 2; fi++) {
        size_t n = 0;
        uint8_t *s = stream_of(files[fi], &n);
        CHECK(s != NULL);
        trove_error err;
        CHECK_OK(map_stream(NULL, s, n, &err));
        for (size_t cut = 0; cut < n; cut++) {
            int rc = map_stream(NULL, s, cut, &err);
            CHECK(rc != TROVE_OK);
        }
        uint8_t *t = malloc(n);
        CHECK(t != NULL);
        unsigned seed = 7;
        for (int round = 0; round < 3000; round++) {
            memcpy(t, s, n);
            for (int k = 0; k < 1 + round % 4; k++) {
                seed = seed * 1103515245u + 12345u;
                t[(seed >> 8) % n] ^= (uint8_t)(1u << ((seed >> 4) & 7));
            }
            (void)map_stream(NULL, t, n, &err); /* any outcome but a crash or a leak */
        }
        free(t);
        free(s);
    }
}

static void test_keras__oom_torture_no_leak(void)
{
    size_t n = 0;
    uint8_t *s = stream_of("k3_nested.h5", &n);
    CHECK(s != NULL);
    int done = 0;
    for (long k = 1; k < 100000 && !done; k++) {
        test_alloc ta;
        test_alloc_init(&ta, k);
        trove_error err;
        int rc = map_stream(&ta.a, s, n, &err);
        CHECK(ta.live == 0);
        if (!ta.failed) {
            CHECK_OK(rc);
            done = 1;
        } else {
            if (rc != TROVE_E_NOMEM && rc != TROVE_E_LIMIT)
                fprintf(stderr, "  fail_at %ld: rc %d: %s\n", k, rc, err.message);
            CHECK(rc == TROVE_E_NOMEM || rc == TROVE_E_LIMIT);
        }
    }
    free(s);
    CHECK(done);
}

static void test_keras__reader_crash_is_contained(void)
{
    const char *dir = fixture_dir();
    CHECK(dir != NULL);
    char in[1024];
    snprintf(in, sizeof in, "%s/k2_seq.h5", dir);
    trove_error err;
    setenv("TROVE_KERAS_TEST_FAULT", "segv", 1);
    int rc = trove_convert(in, test_path("crash.trove"), NULL, NULL, &err);
    setenv("TROVE_KERAS_TEST_FAULT", "partial", 1);
    trove_error err2;
    int rc2 = trove_convert(in, test_path("crash.trove"), NULL, NULL, &err2);
    unsetenv("TROVE_KERAS_TEST_FAULT");
    printf("  (under ASan the sanitizer report above, if any, is this deliberate crash of the\n"
           "  reader process)\n  crash: %s\n  partial: %s\n", err.message, err2.message);
    CHECK(rc == TROVE_E_CORRUPT);
    CHECK(strstr(err.message, "HDF5 import") != NULL);
    CHECK(rc2 == TROVE_E_CORRUPT && strstr(err2.message, "truncated"));
    CHECK(!exists(test_path("crash.trove")));
    /* and the next conversion works */
    CHECK_OK(trove_convert(in, test_path("after.trove"), NULL, NULL, &err));
}

/* libhdf5 itself crashes on some of these (a few percent of random byte mutations): the reader
 * process contains it; the caller sees an error, never a crash, and keeps working. */
static void test_keras__mutated_files_never_crash_the_caller(void)
{
    const char *dir = fixture_dir();
    CHECK(dir != NULL);
    const char *names[] = {"k2_seq", "k3_nested", "k3_functional", "k2_batchnorm"};
    printf("  (under ASan, sanitizer reports of libhdf5 in the reader process may follow: each is\n"
           "  a contained failure of the child, counted below)\n");
    fflush(stdout);
    unsigned seed = 11;
    int counts[5] = {0, 0, 0, 0, 0}; /* converted, refused, crash contained, limit, other */
    for (int round = 0; round < 160; round++) {
        char in[1024];
        snprintf(in, sizeof in, "%s/%s.h5", dir, names[round % 4]);
        size_t len = 0;
        unsigned char *buf = test_read_file(in, &len);
        CHECK(buf != NULL && len > 64);
        seed = seed * 1103515245u + 12345u;
        int flips = 1 + (int)((seed >> 16) % 20);
        for (int k = 0; k < flips; k++) {
            seed = seed * 1103515245u + 12345u;
            buf[(seed >> 8) % len] = (unsigned char)(seed >> 3);
        }
        if (round % 5 == 4)
            len = 8 + (seed >> 4) % (len - 8);
        const char *mp = test_path("mutated.h5");
        CHECK(test_write_file(mp, buf, len) == 0);
        free(buf);
        trove_error err;
        int rc = trove_convert(mp, test_path("mutated.trove"), NULL, NULL, &err);
        unlink(test_path("mutated.trove"));
        if (rc == TROVE_OK)
            counts[0]++;
        else if (strstr(err.message, "crashed"))
            counts[2]++;
        else if (rc == TROVE_E_LIMIT)
            counts[3]++;
        else if (rc == TROVE_E_UNSUPPORTED || rc == TROVE_E_CORRUPT || rc == TROVE_E_MODEL)
            counts[1]++;
        else {
            counts[4]++;
            fprintf(stderr, "  round %d: rc %d: %s\n", round, rc, err.message);
        }
    }
    printf("  160 mutated files: %d converted, %d refused, %d libhdf5 crashes contained, %d "
           "limits, %d other\n", counts[0], counts[1], counts[2], counts[3], counts[4]);
    CHECK(counts[4] == 0);
}

static void test_keras__probe(void)
{
    uint8_t buf[4096];
    memset(buf, 0, sizeof buf);
    CHECK(!trove__h5_probe(buf, sizeof buf));
    memcpy(buf + 1024, "\x89HDF\r\n\x1a\n", 8);
    CHECK(trove__h5_probe(buf, sizeof buf));
    CHECK(!trove__h5_probe(buf, 1030)); /* cut inside the signature */
    memset(buf, 0, sizeof buf);
    memcpy(buf + 100, "\x89HDF\r\n\x1a\n", 8); /* not at a user-block boundary */
    CHECK(!trove__h5_probe(buf, sizeof buf));
    memcpy(buf, "\x89HDF\r\n\x1a\n", 8);
    CHECK(trove__h5_probe(buf, 8));
}

/* Real-world files: every .h5 either converts (and binds) or is refused with a reason. The
 * numeric comparison with the .npz references is tests/python/test_convert_keras.py. */
static void test_keras__wild_files_clean(void)
{
    const char *wild = getenv("TROVE_WILD") ? getenv("TROVE_WILD") : "/work/shared/wild";
    DIR *d = opendir(wild);
    if (!d) {
        printf("  SKIPPED: no wild model files at %s\n", wild);
        return;
    }
    struct dirent *e;
    int conv = 0, refused = 0;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 4 || strcmp(e->d_name + l - 3, ".h5"))
            continue;
        char in[1024];
        snprintf(in, sizeof in, "%s/%s", wild, e->d_name);
        trove_error err;
        int rc = trove_convert(in, test_path("wild.trove"), NULL, NULL, &err);
        if (rc == TROVE_OK) {
            conv++;
        } else {
            refused++;
            printf("  refused %s: %s\n", e->d_name, err.message);
            CHECK(rc != TROVE_E_NOMEM && rc != TROVE_E_IO);
            CHECK(strlen(err.message) > 20);
        }
        unlink(test_path("wild.trove"));
    }
    closedir(d);
    printf("  wild .h5: %d converted, %d refused\n", conv, refused);
}

TEST_MAIN(T(test_keras__probe), T(test_keras__fixtures),
          T(test_keras__stream_every_truncation_and_flips), T(test_keras__oom_torture_no_leak),
          T(test_keras__reader_crash_is_contained),
          T(test_keras__mutated_files_never_crash_the_caller), T(test_keras__wild_files_clean))
