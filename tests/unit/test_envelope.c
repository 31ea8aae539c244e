/* test_envelope.c: what fuzzing the encrypted envelope (fuzz/fuzz_envelope.c) ran into: memory
 * must be sized by the file, not by the 8 MiB batch (a 500-byte file allocated 25 MB and wiped
 * 16 MiB per call: 5 fuzz executions per second); and encryption from a descriptor positioned
 * inside a file, which the sizing reads. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"

/* An allocator that records the largest block and the peak of live bytes. */
typedef struct peak_alloc {
    trove_allocator a;
    size_t live, peak, largest;
} peak_alloc;

static void *pa_malloc(void *ctx, size_t n)
{
    peak_alloc *p = ctx;
    size_t *b = malloc(n + 16);
    if (!b)
        return NULL;
    b[0] = n;
    p->live += n;
    p->peak = p->live > p->peak ? p->live : p->peak;
    p->largest = n > p->largest ? n : p->largest;
    return (unsigned char *)b + 16;
}

static void pa_free(void *ctx, void *q)
{
    peak_alloc *p = ctx;
    if (!q)
        return;
    size_t *b = (size_t *)(void *)((unsigned char *)q - 16);
    p->live -= b[0];
    free(b);
}

static void *pa_realloc(void *ctx, void *q, size_t n)
{
    if (!q)
        return pa_malloc(ctx, n);
    void *r = pa_malloc(ctx, n);
    if (!r)
        return NULL;
    size_t old = ((size_t *)(void *)((unsigned char *)q - 16))[0];
    memcpy(r, q, old < n ? old : n);
    pa_free(ctx, q);
    return r;
}

static void peak_init(peak_alloc *p)
{
    memset(p, 0, sizeof *p);
    p->a.malloc = pa_malloc;
    p->a.realloc = pa_realloc;
    p->a.free = pa_free;
    p->a.ctx = p;
}

static int small_model(const char *path, trove_error *err)
{
    trove_write_options wo = TROVE_WRITE_OPTIONS_INIT;
    wo.flags = TROVE_WRITE_NO_SYNC;
    trove_writer *w = NULL;
    int rc = trove_writer_open(&w, path, &wo, err);
    if (rc)
        return rc;
    trove_value *m = trove_value_map(NULL);
    if (!m || trove_value_map_set(m, "kind", trove_value_cstring(NULL, "linear"))) {
        trove_value_free(m);
        trove_writer_free(w);
        return TROVE_E_NOMEM;
    }
    double coef[3] = {1.5, -2.0, 0.25};
    uint64_t shape[1] = {3};
    trove_tensor_spec s = {"coef", TROVE_FLOAT64, 1, shape, 0, 0};
    rc = trove_writer_set_metadata(w, m, err);
    if (rc == 0)
        rc = trove_writer_add(w, &s, coef, err);
    if (rc == 0)
        rc = trove_writer_commit(w, err);
    trove_writer_free(w);
    return rc;
}

/* A small file costs small buffers, with 4 KiB chunks and with the default 1 MiB ones. */
static void test_envelope__small_file_small_buffers(void)
{
    trove_error err = {0};
    char plain[512], enc[512], dec[512];
    snprintf(plain, sizeof plain, "%s", test_path("small.trove"));
    snprintf(enc, sizeof enc, "%s", test_path("small.enc"));
    snprintf(dec, sizeof dec, "%s", test_path("small.dec"));
    CHECK_OK(small_model(plain, &err));
    struct stat st;
    CHECK(stat(plain, &st) == 0 && st.st_size < 4096);
    trove_secret *k = NULL;
    CHECK_OK(trove_secret_generate(&k, &err));
    const uint32_t chunks[2] = {4096, 0};
    /* a few chunks per thread (2 threads, an input and an output buffer each): the code the
     * fuzzer met held 8 MiB batches whatever the file (25 MB for a 500-byte one) */
    const size_t limit[2] = {96u << 10, 6u << 20};
    for (int c = 0; c < 2; c++) {
        peak_alloc pa;
        peak_init(&pa);
        trove_crypt_options co = TROVE_CRYPT_OPTIONS_INIT;
        co.write_flags = TROVE_WRITE_NO_SYNC;
        co.chunk_bytes = chunks[c];
        co.alloc = &pa.a;
        unlink(enc);
        CHECK_OK(trove_encrypt_file(plain, enc, k, &co, &err));
        if (pa.peak > limit[c])
            fprintf(stderr, "  encrypt, chunk %u: peak %zu bytes\n", chunks[c], pa.peak);
        CHECK(pa.peak <= limit[c] && pa.live == 0);
        peak_init(&pa);
        unlink(dec);
        CHECK_OK(trove_decrypt_file(enc, dec, k, &co, &err));
        if (pa.peak > limit[c])
            fprintf(stderr, "  decrypt, chunk %u: peak %zu bytes\n", chunks[c], pa.peak);
        CHECK(pa.peak <= limit[c] && pa.live == 0);
        peak_init(&pa);
        trove_open_options oo = TROVE_OPEN_OPTIONS_INIT;
        oo.alloc = &pa.a;
        trove_file *f = NULL;
        CHECK_OK(trove_open_encrypted(&f, enc, k, &oo, NULL, &err));
        CHECK_OK(trove_file_verify(f, &err));
        trove_close(f);
        if (pa.peak > limit[c])
            fprintf(stderr, "  open_encrypted, chunk %u: peak %zu bytes\n", chunks[c], pa.peak);
        CHECK(pa.peak <= limit[c] && pa.live == 0);
        size_t a = 0, b = 0;
        unsigned char *x = test_read_file(plain, &a), *y = test_read_file(dec, &b);
        CHECK(x && y && a == b && memcmp(x, y, a) == 0);
        free(x);
        free(y);
    }
    trove_secret_free(k);
}

/* trove_encrypt_fd encrypts from the descriptor's position to the end of the file. */
static void test_envelope__fd_at_offset(void)
{
    trove_error err = {0};
    char in[512], enc[512], dec[512];
    snprintf(in, sizeof in, "%s", test_path("offset.bin"));
    snprintf(enc, sizeof enc, "%s", test_path("offset.enc"));
    snprintf(dec, sizeof dec, "%s", test_path("offset.dec"));
    const size_t n = 3 * 4096 + 100, skip = 5000;
    unsigned char *buf = malloc(n);
    CHECK(buf);
    for (size_t i = 0; i < n; i++)
        buf[i] = (unsigned char)(i * 2654435761u >> 11);
    CHECK(test_write_file(in, buf, n) == 0);
    trove_secret *k = NULL;
    CHECK_OK(trove_secret_generate(&k, &err));
    trove_crypt_options co = TROVE_CRYPT_OPTIONS_INIT;
    co.write_flags = TROVE_WRITE_NO_SYNC;
    co.chunk_bytes = 4096;
    int fd = open(in, O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0 && lseek(fd, (off_t)skip, SEEK_SET) == (off_t)skip);
    CHECK_OK(trove_encrypt_fd(fd, enc, k, &co, &err));
    close(fd);
    trove_encrypted_info info;
    CHECK_OK(trove_encrypted_probe(enc, &info, &err));
    CHECK(info.plaintext_bytes == n - skip && info.chunks == (n - skip + 4095) / 4096);
    CHECK_OK(trove_decrypt_file(enc, dec, k, &co, &err));
    size_t len = 0;
    unsigned char *back = test_read_file(dec, &len);
    CHECK(back && len == n - skip && memcmp(back, buf + skip, len) == 0);
    free(back);
    free(buf);
    trove_secret_free(k);
}

TEST_MAIN(T(test_envelope__small_file_small_buffers), T(test_envelope__fd_at_offset))
