/* test_envelope.c: what fuzzing the encrypted envelope (fuzz/fuzz_envelope.c) ran into: memory
 * must be sized by the file, not by the 8 MiB batch (a 500-byte file allocated 25 MB and wiped
 * 16 MiB per call: 5 fuzz executions per second); and encryption from a descriptor positioned
 * inside a file, which the sizing reads; streams (pipes) of every size around the first read and
 * the batch, a small one with small buffers. */
#include <fcntl.h>
#include <pthread.h>
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

/* The plain, encrypted and decrypted paths of a test: STEM.EXT, STEM.enc, STEM.dec. */
typedef struct paths3 {
    char plain[512], enc[512], dec[512];
} paths3;
static void paths_of(paths3 *p, const char *stem, const char *ext)
{
    char name[128];
    snprintf(name, sizeof name, "%s.%s", stem, ext);
    snprintf(p->plain, sizeof p->plain, "%s", test_path(name));
    snprintf(name, sizeof name, "%s.enc", stem);
    snprintf(p->enc, sizeof p->enc, "%s", test_path(name));
    snprintf(name, sizeof name, "%s.dec", stem);
    snprintf(p->dec, sizeof p->dec, "%s", test_path(name));
}

/* True when files a and b hold the same bytes. */
static int same_files(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    unsigned char *x = test_read_file(a, &na), *y = test_read_file(b, &nb);
    int same = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
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
    paths3 p;
    paths_of(&p, "small", "trove");
    const char *plain = p.plain, *enc = p.enc, *dec = p.dec;
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
        CHECK(same_files(plain, dec));
    }
    trove_secret_free(k);
}

/* trove_encrypt_fd encrypts from the descriptor's position to the end of the file. */
/* A model of n float32 values (a deterministic pattern) at path. */
static int sized_model(const char *path, uint64_t n, trove_error *err)
{
    trove_write_options wo = TROVE_WRITE_OPTIONS_INIT;
    wo.flags = TROVE_WRITE_NO_SYNC;
    trove_writer *w = NULL;
    int rc = trove_writer_open(&w, path, &wo, err);
    if (rc)
        return rc;
    float *x = malloc(n * sizeof *x);
    uint32_t st = 7;
    for (uint64_t i = 0; x && i < n; i++) {
        st = st * 1664525u + 1013904223u;
        x[i] = (float)(st >> 8);
    }
    trove_tensor_spec s = {"w", TROVE_FLOAT32, 1, &n, 0, 0};
    rc = x ? trove_writer_add(w, &s, x, err) : TROVE_E_NOMEM;
    if (rc == 0)
        rc = trove_writer_commit(w, err);
    trove_writer_free(w);
    free(x);
    return rc;
}

/* Files large enough for several groups of chunks on every thread of the whole-file path, with
 * chunk sizes that put chunks at unaligned offsets: decrypt(encrypt(f)) == f byte for byte,
 * durable or not, on 1 to 3 threads; and the encrypted file opens into memory. */
static void test_envelope__large_files_every_path(void)
{
    trove_error err = {0};
    paths3 p;
    paths_of(&p, "large", "trove");
    const char *plain = p.plain, *enc = p.enc, *dec = p.dec;
    CHECK_OK(sized_model(plain, (5u << 20) / 4 + 1001, &err)); /* 5 MiB + a few KiB */
    trove_secret *k = NULL;
    CHECK_OK(trove_secret_generate(&k, &err));
    const uint32_t chunks[3] = {0, 4096 + 5, 65536 - 3};
    for (int c = 0; c < 3; c++)
        for (int mode = 0; mode < 2; mode++) { /* durable, then without fsync */
            trove_crypt_options co = TROVE_CRYPT_OPTIONS_INIT;
            co.chunk_bytes = chunks[c];
            co.threads = (unsigned)(1 + (c + mode) % 3);
            co.write_flags = mode == 1 ? TROVE_WRITE_NO_SYNC : 0;
            unlink(enc);
            unlink(dec);
            int rc1 = trove_encrypt_file(plain, enc, k, &co, &err);
            int rc2 = rc1 ? rc1 : trove_decrypt_file(enc, dec, k, &co, &err);
            CHECK_OK(rc1);
            CHECK_OK(rc2);
            int same = same_files(plain, dec);
            if (!same)
                fprintf(stderr, "  chunk %u mode %d: the decrypted file differs\n", chunks[c], mode);
            CHECK(same);
            /* and the encrypted file opens into memory too */
            trove_file *f = NULL;
            CHECK_OK(trove_open_encrypted(&f, enc, k, NULL, &co, &err));
            trove_close(f);
        }
    trove_secret_free(k);
}

/* Out of memory at every allocation of a durable encrypt and decrypt of a large file (the
 * whole-file path): an error, no leak, no output. One thread, so that the n-th allocation is
 * the same in every run. */
static void test_envelope__large_file_oom(void)
{
    trove_error err = {0};
    paths3 p;
    paths_of(&p, "oom-large", "trove");
    const char *plain = p.plain, *enc = p.enc, *dec = p.dec;
    CHECK_OK(sized_model(plain, (5u << 20) / 4 + 77, &err));
    trove_secret *k = NULL;
    CHECK_OK(trove_secret_generate(&k, &err));
    for (int op = 0; op < 2; op++) {
        int done = 0;
        for (long n = 1; !done && n < 400; n++) {
            test_alloc ta;
            test_alloc_init(&ta, n);
            trove_crypt_options co = TROVE_CRYPT_OPTIONS_INIT;
            co.chunk_bytes = 65536 + 5;
            co.threads = 1;
            co.alloc = &ta.a;
            const char *out = op == 0 ? enc : dec;
            unlink(out);
            trove_error e2 = {0};
            int rc = op == 0 ? trove_encrypt_file(plain, enc, k, &co, &e2)
                             : trove_decrypt_file(enc, dec, k, &co, &e2);
            CHECK(ta.live == 0);
            if (!ta.failed) {
                CHECK_OK(rc);
                done = 1;
            } else {
                if (rc != TROVE_E_NOMEM)
                    fprintf(stderr, "  op %d, allocation %ld: %d %s\n", op, n, rc, e2.message);
                CHECK(rc == TROVE_E_NOMEM && access(out, F_OK) != 0);
            }
        }
        CHECK(done);
    }
    CHECK(same_files(plain, dec));
    trove_secret_free(k);
}

static void test_envelope__fd_at_offset(void)
{
    trove_error err = {0};
    paths3 p;
    paths_of(&p, "offset", "bin");
    const char *in = p.plain, *enc = p.enc, *dec = p.dec;
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

/* A writer thread feeding a pipe. */
typedef struct feed {
    int fd;
    const unsigned char *p;
    size_t n;
} feed;

static void *feed_run(void *arg)
{
    feed *f = arg;
    size_t done = 0;
    while (done < f->n) {
        ssize_t w = write(f->fd, f->p + done, f->n - done);
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    close(f->fd);
    return NULL;
}

/* Streams (pipes) of every size around the first read (two chunks) and the batch: the bytes
 * come back, and a small stream costs small buffers (it allocated 3 x 9 MiB and took 140-250 ms
 * for 11 bytes). */
static void test_envelope__stream_sizes(void)
{
    trove_error err = {0};
    char enc[512], dec[512];
    snprintf(enc, sizeof enc, "%s", test_path("stream.enc"));
    snprintf(dec, sizeof dec, "%s", test_path("stream.dec"));
    const size_t C = 4096, B = (size_t)8 << 20; /* chunk; batch of plaintext */
    const size_t sizes[] = {0,         1,         C - 1, C,         C + 1,     2 * C - 1, 2 * C,
                            2 * C + 1, 3 * C + 5, B,     B + C - 1, B + C + 1, 2 * B + 3 * C};
    size_t max = 2 * B + 3 * C;
    unsigned char *buf = malloc(max);
    CHECK(buf);
    for (size_t i = 0; i < max; i++)
        buf[i] = (unsigned char)(i * 2654435761u >> 9);
    trove_secret *k = NULL;
    CHECK_OK(trove_secret_generate(&k, &err));
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        int pp[2];
        CHECK(pipe(pp) == 0);
        feed f = {pp[1], buf, sizes[t]};
        pthread_t th;
        CHECK(pthread_create(&th, NULL, feed_run, &f) == 0);
        peak_alloc pa;
        peak_init(&pa);
        trove_crypt_options co = TROVE_CRYPT_OPTIONS_INIT;
        co.write_flags = TROVE_WRITE_NO_SYNC;
        co.chunk_bytes = (uint32_t)C;
        co.alloc = &pa.a;
        unlink(enc);
        int rc = trove_encrypt_fd(pp[0], enc, k, &co, &err);
        pthread_join(th, NULL);
        close(pp[0]);
        if (rc)
            fprintf(stderr, "  size %zu: %s\n", sizes[t], err.message);
        CHECK_OK(rc);
        if (sizes[t] < 2 * C && pa.peak > (64u << 10)) {
            fprintf(stderr, "  size %zu: peak %zu bytes\n", sizes[t], pa.peak);
            CHECK(pa.peak <= (64u << 10));
        }
        CHECK(pa.live == 0);
        co.alloc = NULL;
        unlink(dec);
        CHECK_OK(trove_decrypt_file(enc, dec, k, &co, &err));
        size_t len = 0;
        unsigned char *back = test_read_file(dec, &len);
        int same = back && len == sizes[t] && (len == 0 || memcmp(back, buf, len) == 0);
        if (!same)
            fprintf(stderr, "  size %zu: decrypted %zu bytes, not the input\n", sizes[t], len);
        CHECK(same);
        free(back);
        trove_encrypted_info info;
        CHECK_OK(trove_encrypted_probe(enc, &info, &err));
        CHECK(info.chunks == (sizes[t] ? (sizes[t] + C - 1) / C : 1));
    }
    free(buf);
    trove_secret_free(k);
}

/* Every allocation of a stream encryption fails in turn (a small stream, and one that grows to
 * the batch buffers): TROVE_E_NOMEM, no leak, no output. */
static void test_envelope__stream_oom(void)
{
    trove_error err = {0};
    char enc[512];
    snprintf(enc, sizeof enc, "%s", test_path("oom-stream.enc"));
    trove_secret *k = NULL;
    CHECK_OK(trove_secret_generate(&k, &err));
    static unsigned char data[3 * 4096 + 7];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 31u);
    const size_t sizes[2] = {10, sizeof data}; /* fits the pipe's buffer: no writer thread */
    for (int t = 0; t < 2; t++) {
        int done = 0;
        for (long n = 1; !done && n < 1000; n++) {
            int pp[2];
            CHECK(pipe(pp) == 0);
            CHECK(write(pp[1], data, sizes[t]) == (ssize_t)sizes[t]);
            close(pp[1]);
            test_alloc ta;
            test_alloc_init(&ta, n);
            trove_crypt_options co = TROVE_CRYPT_OPTIONS_INIT;
            co.write_flags = TROVE_WRITE_NO_SYNC;
            co.chunk_bytes = 4096;
            co.alloc = &ta.a;
            unlink(enc);
            trove_error e2 = {0};
            int rc = trove_encrypt_fd(pp[0], enc, k, &co, &e2);
            close(pp[0]);
            CHECK(ta.live == 0);
            if (!ta.failed) {
                CHECK_OK(rc);
                done = 1;
            } else {
                if (rc != TROVE_E_NOMEM)
                    fprintf(stderr, "  size %zu, allocation %ld: %d %s\n", sizes[t], n, rc,
                            e2.message);
                CHECK(rc == TROVE_E_NOMEM && access(enc, F_OK) != 0);
            }
        }
        CHECK(done);
    }
    trove_secret_free(k);
}

TEST_MAIN(T(test_envelope__small_file_small_buffers), T(test_envelope__large_files_every_path),
          T(test_envelope__large_file_oom), T(test_envelope__fd_at_offset),
          T(test_envelope__stream_sizes), T(test_envelope__stream_oom))
