/* test_format.c: round trips through the writer and the reader, determinism, digests, every
 * truncation and every header byte flip of a small file, OOM torture of open and write. */
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

static trove_value *sample_meta(const trove_allocator *a)
{
    trove_value *m = trove_value_map(a);
    trove_value *nested = trove_value_map(a);
    trove_value *arr = trove_value_array(a);
    if (!m || !nested || !arr)
        goto fail;
    int rc = trove_value_map_set(m, "kind", trove_value_cstring(a, "linear"));
    rc |= trove_value_map_set(m, "int", trove_value_int(a, -42));
    rc |= trove_value_map_set(m, "big", trove_value_uint(a, UINT64_MAX));
    rc |= trove_value_map_set(m, "pi", trove_value_float(a, 3.141592653589793));
    rc |= trove_value_map_set(m, "yes", trove_value_bool(a, 1));
    rc |= trove_value_map_set(m, "nothing", trove_value_null(a));
    rc |= trove_value_map_set(m, "blob", trove_value_bytes(a, "\0\1\2", 3));
    rc |= trove_value_map_set(m, "unicode \xc3\xa9\xe2\x82\xac", trove_value_cstring(a, "\xf0\x9f\x8c\xb3"));
    rc |= trove_value_array_take(arr, trove_value_int(a, 1));
    rc |= trove_value_array_take(arr, trove_value_cstring(a, "two"));
    rc |= trove_value_map_set(nested, "list", arr);
    arr = NULL;
    rc |= trove_value_map_set(m, "nested", nested);
    nested = NULL;
    if (rc == 0)
        return m;
fail:
    trove_value_free(arr);
    trove_value_free(nested);
    trove_value_free(m);
    return NULL;
}

/* Writes a file with one tensor per dtype, ranks 0..8, an empty tensor, a compressed one and a
 * Unicode name. Returns 0 on success. */
static int write_sample(const char *path, const trove_write_options *wo, trove_error *err)
{
    trove_writer *w = NULL;
    int rc = trove_writer_open(&w, path, wo, err);
    if (rc)
        return rc;
    const trove_allocator *a = wo ? wo->alloc : NULL;
    trove_value *meta = sample_meta(a);
    if (!meta) {
        trove_writer_free(w);
        return TROVE_E_NOMEM;
    }
    rc = trove_writer_set_metadata(w, meta, err);
    static double data[4096];
    for (int i = 0; i < 4096; i++)
        data[i] = (double)i * 0.5 - 7.0;
    for (int d = 1; rc == 0 && d < TROVE_DTYPE_COUNT_; d++) {
        char name[32];
        snprintf(name, sizeof name, "dtype/%s", trove_dtype_name((trove_dtype)d));
        uint64_t shape[2] = {3, 5};
        trove_tensor_spec s = {name, (trove_dtype)d, 2, shape, 0, 0};
        rc = trove_writer_add(w, &s, data, err);
    }
    for (uint32_t r = 0; rc == 0 && r <= TROVE_MAX_RANK; r++) {
        char name[32];
        snprintf(name, sizeof name, "rank%u", r);
        uint64_t shape[TROVE_MAX_RANK] = {2, 1, 2, 1, 2, 1, 2, 1};
        trove_tensor_spec s = {name, TROVE_FLOAT32, r, shape, 0, 0};
        rc = trove_writer_add(w, &s, data, err);
    }
    uint64_t zero[2] = {0, 7};
    trove_tensor_spec empty = {"empty", TROVE_INT64, 2, zero, 0, 0};
    if (rc == 0)
        rc = trove_writer_add(w, &empty, NULL, err);
    uint64_t big[1] = {4096};
    trove_tensor_spec z = {"compressed \xe6\x9d\x83\xe9\x87\x8d", TROVE_FLOAT64, 1, big,
                           TROVE_TENSOR_ZSTD, 0};
    if (rc == 0)
        rc = trove_writer_add(w, &z, data, err);
    trove_tensor_spec page = {"page_aligned", TROVE_FLOAT64, 1, big, 0, 4096};
    if (rc == 0)
        rc = trove_writer_add(w, &page, data, err);
    if (rc == 0)
        rc = trove_writer_commit(w, err);
    trove_writer_free(w);
    return rc;
}

static void test_format__roundtrip(void)
{
    trove_error err = {0};
    const char *path = test_path("rt.trove");
    trove_write_options wo = TROVE_WRITE_OPTIONS_INIT;
    wo.flags = TROVE_WRITE_NO_SYNC;
    CHECK_OK(write_sample(path, &wo, &err));
    trove_file *f = NULL;
    CHECK_OK(trove_open(&f, path, NULL, &err));
    CHECK_OK(trove_file_verify(f, &err));
    size_t n = trove_file_tensor_count(f);
    CHECK(n == (TROVE_DTYPE_COUNT_ - 1) + (TROVE_MAX_RANK + 1) + 3);
    static double data[4096];
    for (int i = 0; i < 4096; i++)
        data[i] = (double)i * 0.5 - 7.0;
    for (size_t i = 0; i < n; i++) {
        trove_tensor_info ti;
        CHECK_OK(trove_file_tensor_info(f, i, &ti));
        CHECK(ti.offset % ti.alignment == 0);
        const void *p;
        CHECK_OK(trove_file_tensor_data(f, i, &p, &err));
        CHECK(ti.nbytes == 0 || memcmp(p, data, (size_t)ti.nbytes) == 0);
        size_t j;
        CHECK_OK(trove_file_find(f, ti.name, &j));
        CHECK(j == i);
    }
    size_t i;
    CHECK_OK(trove_file_find(f, "rank8", &i));
    trove_tensor_info ti;
    CHECK_OK(trove_file_tensor_info(f, i, &ti));
    CHECK(ti.rank == 8 && ti.count == 16 && ti.dtype == TROVE_FLOAT32);
    CHECK_OK(trove_file_find(f, "rank0", &i));
    CHECK_OK(trove_file_tensor_info(f, i, &ti));
    CHECK(ti.rank == 0 && ti.count == 1 && ti.nbytes == 4);
    CHECK_OK(trove_file_find(f, "page_aligned", &i));
    CHECK_OK(trove_file_tensor_info(f, i, &ti));
    CHECK(ti.offset % 4096 == 0);
    CHECK_OK(trove_file_find(f, "empty", &i));
    CHECK_OK(trove_file_tensor_info(f, i, &ti));
    CHECK(ti.count == 0 && ti.nbytes == 0);
    CHECK_RC(trove_file_find(f, "absent", &i), TROVE_E_NOT_FOUND);
    trove_value *expect = sample_meta(NULL);
    CHECK(trove_value_equal(trove_file_metadata(f), expect));
    trove_value_free(expect);
    uint64_t u;
    CHECK(trove_value_get_uint(trove_value_get(trove_file_metadata(f), "big"), &u) == 0 &&
          u == UINT64_MAX);
    const char *s;
    CHECK(trove_value_get_string(trove_value_path(trove_file_metadata(f), "kind"), &s, NULL) == 0);
    CHECK(strcmp(s, "linear") == 0);
    trove_close(f);
}

static void test_format__deterministic(void)
{
    trove_error err = {0};
    trove_write_options wo = TROVE_WRITE_OPTIONS_INIT;
    wo.flags = TROVE_WRITE_NO_SYNC;
    CHECK_OK(write_sample(test_path("a.trove"), &wo, &err));
    CHECK_OK(write_sample(test_path("b.trove"), &wo, &err));
    size_t la, lb;
    unsigned char *a = test_read_file(test_path("a.trove"), &la);
    unsigned char *b = test_read_file(test_path("b.trove"), &lb);
    CHECK(a && b);
    int same = la == lb && memcmp(a, b, la) == 0;
    free(a);
    free(b);
    CHECK(same);
}

/* The digest ignores layout: alignment, chunking, compression and stored digests. */
static void test_format__digest_layout_independent(void)
{
    trove_error err = {0};
    uint8_t d1[32], d2[32], d3[32];
    trove_write_options wo = TROVE_WRITE_OPTIONS_INIT;
    wo.flags = TROVE_WRITE_NO_SYNC;
    CHECK_OK(write_sample(test_path("d1.trove"), &wo, &err));
    wo.alignment = 4096;
    wo.chunk_bytes = 4096;
    wo.flags |= TROVE_WRITE_DIGESTS;
    CHECK_OK(write_sample(test_path("d2.trove"), &wo, &err));
    trove_file *f1, *f2;
    CHECK_OK(trove_open(&f1, test_path("d1.trove"), NULL, &err));
    CHECK_OK(trove_open(&f2, test_path("d2.trove"), NULL, &err));
    CHECK_OK(trove_file_digest(f1, 0, 1, d1, &err));
    CHECK_OK(trove_file_digest(f2, 0, 2, d2, &err));
    CHECK_OK(trove_file_digest(f2, TROVE_DIGEST_TRUST_STORED, 2, d3, &err));
    uint64_t compat;
    trove_file_features(f2, &compat, NULL, NULL);
    CHECK(compat & TROVE_COMPAT_DIGESTS);
    CHECK(trove_file_size(f1) != trove_file_size(f2));
    trove_close(f1);
    trove_close(f2);
    CHECK(memcmp(d1, d2, 32) == 0);
    CHECK(memcmp(d2, d3, 32) == 0);
}

static long long counting_read(void *ctx, void *buf, size_t cap)
{
    uint64_t *left = ctx;
    size_t n = cap < *left ? cap : (size_t)*left;
    if (n > 1000)
        n = 1000; /* short reads on purpose */
    for (size_t i = 0; i < n; i++)
        ((unsigned char *)buf)[i] = (unsigned char)((*left - i) * 7);
    *left -= n;
    return (long long)n;
}

static void test_format__stream_and_fd(void)
{
    trove_error err = {0};
    int fds[2];
    CHECK(pipe(fds) == 0);
    /* Write to a pipe (no seeking) from a callback, read it back from the pipe. */
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        trove_writer *w;
        uint64_t left = 1 << 20, shape[1] = {1 << 20};
        trove_tensor_spec s = {"streamed", TROVE_UINT8, 1, shape, TROVE_TENSOR_ZSTD, 0};
        int rc = trove_writer_open_fd(&w, fds[1], NULL, &err);
        if (!rc)
            rc = trove_writer_add_stream(w, &s, counting_read, &left, &err);
        if (!rc)
            rc = trove_writer_commit(w, &err);
        trove_writer_free(w);
        _exit(rc ? 1 : 0);
    }
    close(fds[1]);
    trove_file *f = NULL;
    int rc = trove_open_fd(&f, fds[0], NULL, &err);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_OK(rc);
    CHECK_OK(trove_file_verify(f, &err));
    const unsigned char *p;
    CHECK_OK(trove_file_tensor_data(f, 0, (const void **)&p, &err));
    int ok = 1;
    for (uint64_t i = 0; i < (1u << 20); i++)
        ok &= p[i] == (unsigned char)(((1u << 20) - i % 1000 - (i / 1000) * 1000) * 7);
    trove_close(f);
    CHECK(ok);
}

static void test_format__open_modes(void)
{
    trove_error err = {0};
    const char *path = test_path("modes.trove");
    trove_write_options wo = TROVE_WRITE_OPTIONS_INIT;
    wo.flags = TROVE_WRITE_NO_SYNC;
    CHECK_OK(write_sample(path, &wo, &err));
    uint32_t modes[] = {0, TROVE_OPEN_NO_MMAP, TROVE_OPEN_POPULATE | TROVE_OPEN_VERIFY};
    for (size_t m = 0; m < 3; m++) {
        trove_open_options oo = TROVE_OPEN_OPTIONS_INIT;
        oo.flags = modes[m];
        trove_file *f;
        CHECK_OK(trove_open(&f, path, &oo, &err));
        CHECK_OK(trove_file_verify(f, &err));
        trove_close(f);
    }
    size_t len;
    unsigned char *buf = test_read_file(path, &len);
    trove_file *f;
    CHECK_OK(trove_open_memory(&f, buf, len, NULL, &err));
    CHECK_OK(trove_file_verify(f, &err));
    trove_close(f);
    free(buf);
    trove_open_options oo = TROVE_OPEN_OPTIONS_INIT;
    oo.flags = TROVE_OPEN_DIRECT;
    int rc = trove_open(&f, path, &oo, &err);
    CHECK(rc == TROVE_OK || rc == TROVE_E_UNSUPPORTED);
    if (rc == TROVE_OK) {
        CHECK_OK(trove_file_verify(f, &err));
        trove_close(f);
    }
}

/* Every truncation is refused; every single-byte change outside tensor data is refused or
 * caught by a checksum; changes inside tensor data are caught by verify. */
static void test_format__truncation_and_flips(void)
{
    trove_error err = {0};
    const char *path = test_path("small.trove");
    trove_write_options wo = TROVE_WRITE_OPTIONS_INIT;
    wo.flags = TROVE_WRITE_NO_SYNC;
    trove_writer *w;
    CHECK_OK(trove_writer_open(&w, path, &wo, &err));
    CHECK_OK(trove_writer_set_metadata(w, sample_meta(NULL), &err));
    float x[6] = {1, 2, 3, 4, 5, 6};
    uint64_t shape[2] = {2, 3};
    trove_tensor_spec s = {"w", TROVE_FLOAT32, 2, shape, 0, 0};
    CHECK_OK(trove_writer_add(w, &s, x, &err));
    trove_tensor_spec z = {"z", TROVE_FLOAT32, 2, shape, TROVE_TENSOR_ZSTD, 0};
    CHECK_OK(trove_writer_add(w, &z, x, &err));
    CHECK_OK(trove_writer_commit(w, &err));
    trove_writer_free(w);
    size_t len;
    unsigned char *buf = test_read_file(path, &len);
    CHECK(buf);
    for (size_t cut = 0; cut < len; cut++) {
        trove_file *f = NULL;
        int rc = trove_open_memory(&f, buf, cut, NULL, &err);
        if (rc == TROVE_OK) {
            trove_close(f);
            free(buf);
            CHECK(!"a truncated file opened");
        }
    }
    int undetected = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char *copy = malloc(len);
        memcpy(copy, buf, len);
        copy[i] ^= 0x5a;
        trove_file *f = NULL;
        int rc = trove_open_memory(&f, copy, len, NULL, &err);
        if (rc == TROVE_OK) {
            rc = trove_file_verify(f, &err);
            trove_close(f);
        }
        if (rc == TROVE_OK) {
            undetected++;
            fprintf(stderr, "  flip at %zu undetected\n", i);
        }
        free(copy);
    }
    free(buf);
    CHECK(undetected == 0);
}

static void test_format__oom_torture(void)
{
    trove_error err = {0};
    const char *path = test_path("oom.trove");
    trove_write_options wo = TROVE_WRITE_OPTIONS_INIT;
    wo.flags = TROVE_WRITE_NO_SYNC | TROVE_WRITE_DIGESTS;
    CHECK_OK(write_sample(path, &wo, &err));
    /* open + verify + read every tensor + digest, failing allocation N for every N */
    for (long n = 1;; n++) {
        test_alloc ta;
        test_alloc_init(&ta, n);
        trove_open_options oo = TROVE_OPEN_OPTIONS_INIT;
        oo.alloc = &ta.a;
        trove_file *f = NULL;
        int rc = trove_open(&f, path, &oo, &err);
        for (size_t i = 0; rc == 0 && i < trove_file_tensor_count(f); i++) {
            const void *p;
            rc = trove_file_tensor_data(f, i, &p, &err);
        }
        uint8_t d[32];
        if (rc == 0)
            rc = trove_file_digest(f, 0, 1, d, &err);
        trove_close(f);
        CHECK(ta.live == 0);
        if (!ta.failed) {
            CHECK(rc == TROVE_OK);
            break;
        }
        CHECK(rc == TROVE_E_NOMEM);
    }
    for (long n = 1;; n++) {
        test_alloc ta;
        test_alloc_init(&ta, n);
        trove_write_options o = wo;
        o.alloc = &ta.a;
        int rc = write_sample(test_path("oom-w.trove"), &o, &err);
        CHECK(ta.live == 0);
        if (!ta.failed) {
            CHECK(rc == TROVE_OK);
            break;
        }
        CHECK(rc == TROVE_E_NOMEM);
    }
}

static void test_format__rewrite_keeps_digest(void)
{
    trove_error err = {0};
    const char *path = test_path("rw.trove");
    trove_write_options wo = TROVE_WRITE_OPTIONS_INIT;
    wo.flags = TROVE_WRITE_NO_SYNC;
    CHECK_OK(write_sample(path, &wo, &err));
    trove_file *f;
    CHECK_OK(trove_open(&f, path, NULL, &err));
    uint8_t d1[32], d2[32];
    CHECK_OK(trove_file_digest(f, 0, 1, d1, &err));
    trove_value *sig = trove_value_array(NULL);
    CHECK(trove_value_array_take(sig, trove_value_cstring(NULL, "x")) == 0);
    CHECK_OK(trove_file_rewrite(f, path, "signatures", sig, &wo, &err));
    trove_value_free(sig);
    trove_close(f);
    CHECK_OK(trove_open(&f, path, NULL, &err));
    CHECK_OK(trove_file_verify(f, &err));
    CHECK_OK(trove_file_digest(f, 0, 1, d2, &err));
    uint64_t compat;
    trove_file_features(f, &compat, NULL, NULL);
    CHECK(compat & TROVE_COMPAT_SIGNED);
    CHECK(trove_value_get(trove_file_header(f), "signatures") != NULL);
    trove_close(f);
    CHECK(memcmp(d1, d2, 32) == 0);
}

static void test_format__writer_refuses_bad_specs(void)
{
    trove_error err = {0};
    trove_writer *w;
    trove_write_options wo = TROVE_WRITE_OPTIONS_INIT;
    wo.flags = TROVE_WRITE_NO_SYNC;
    CHECK_OK(trove_writer_open(&w, test_path("bad.trove"), &wo, &err));
    float x = 1;
    trove_tensor_spec s = {"a", TROVE_FLOAT32, 0, NULL, 0, 0};
    CHECK_OK(trove_writer_add(w, &s, &x, &err));
    CHECK_RC(trove_writer_add(w, &s, &x, &err), TROVE_E_EXISTS);
    trove_tensor_spec bad_utf8 = {"\xff", TROVE_FLOAT32, 0, NULL, 0, 0};
    CHECK_RC(trove_writer_add(w, &bad_utf8, &x, &err), TROVE_E_INVALID);
    uint64_t huge[2] = {UINT64_MAX / 2, 3};
    trove_tensor_spec ovf = {"ovf", TROVE_FLOAT32, 2, huge, 0, 0};
    CHECK_RC(trove_writer_add(w, &ovf, &x, &err), TROVE_E_INVALID);
    trove_tensor_spec dt = {"dt", (trove_dtype)99, 0, NULL, 0, 0};
    CHECK_RC(trove_writer_add(w, &dt, &x, &err), TROVE_E_INVALID);
    trove_tensor_spec al = {"al", TROVE_FLOAT32, 0, NULL, 0, 100};
    CHECK_RC(trove_writer_add(w, &al, &x, &err), TROVE_E_INVALID);
    CHECK_RC(trove_writer_set_metadata(w, trove_value_int(NULL, 1), &err), TROVE_E_INVALID);
    CHECK_OK(trove_writer_commit(w, &err));
    CHECK_RC(trove_writer_add(w, &s, &x, &err), TROVE_E_STATE);
    trove_writer_free(w);
    /* An abandoned writer leaves nothing behind. */
    CHECK_OK(trove_writer_open(&w, test_path("abandoned.trove"), &wo, &err));
    CHECK_OK(trove_writer_add(w, &s, &x, &err));
    trove_writer_free(w);
    CHECK(access(test_path("abandoned.trove"), F_OK) != 0);
}

/* Tensors of 32 MiB and more are hashed on a second thread while written: same bytes, same
 * checksums and digest as the serial path (a stream of the same bytes). */
static void test_format__large_tensor_pipelined(void)
{
    trove_error err = {0};
    size_t n = (40u << 20) / 4;
    float *x = malloc(n * sizeof *x);
    CHECK(x);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)i * 0.25f;
    uint64_t shape[1] = {n};
    trove_write_options wo = TROVE_WRITE_OPTIONS_INIT;
    wo.flags = TROVE_WRITE_NO_SYNC | TROVE_WRITE_DIGESTS;
    trove_writer *w;
    trove_tensor_spec s = {"big", TROVE_FLOAT32, 1, shape, 0, 0};
    CHECK_OK(trove_writer_open(&w, test_path("big.trove"), &wo, &err));
    CHECK_OK(trove_writer_add(w, &s, x, &err));
    CHECK_OK(trove_writer_commit(w, &err));
    trove_writer_free(w);
    trove_file *f;
    CHECK_OK(trove_open(&f, test_path("big.trove"), NULL, &err));
    CHECK_OK(trove_file_verify(f, &err));
    const void *p;
    CHECK_OK(trove_file_tensor_data(f, 0, &p, &err));
    CHECK(memcmp(p, x, n * sizeof *x) == 0);
    uint8_t stored[32], computed[32];
    CHECK_OK(trove_file_digest(f, TROVE_DIGEST_TRUST_STORED, 2, stored, &err));
    CHECK_OK(trove_file_digest(f, 0, 2, computed, &err));
    CHECK(memcmp(stored, computed, 32) == 0);
    trove_close(f);
    free(x);
}

static long long pattern_read(void *ctx, void *buf, size_t cap)
{
    uint64_t *left = ctx;
    size_t n = cap < *left ? cap : (size_t)*left;
    memset(buf, (int)(*left & 0xff), n);
    *left -= n;
    return (long long)n;
}

/* A tensor streamed from a callback costs O(1) memory: 512 MiB through a child process whose
 * peak RSS must grow by less than 48 MiB (the writer's buffers are 4 + 1 MiB). */
static void test_format__stream_constant_memory(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s", test_path("stream-big.trove"));
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        trove_error err;
        struct rusage r0, r1;
        getrusage(RUSAGE_SELF, &r0);
        trove_write_options wo = TROVE_WRITE_OPTIONS_INIT;
        wo.flags = TROVE_WRITE_NO_SYNC;
        trove_writer *w;
        uint64_t left = (uint64_t)512 << 20, shape[1] = {left / 8};
        trove_tensor_spec s = {"huge", TROVE_FLOAT64, 1, shape, 0, 0};
        int rc = trove_writer_open(&w, path, &wo, &err);
        if (!rc)
            rc = trove_writer_add_stream(w, &s, pattern_read, &left, &err);
        if (!rc)
            rc = trove_writer_commit(w, &err);
        trove_writer_free(w);
        getrusage(RUSAGE_SELF, &r1);
        long grew_kib = r1.ru_maxrss - r0.ru_maxrss;
        if (rc || grew_kib > 48 * 1024) {
            fprintf(stderr, "  rc=%d peak RSS grew by %ld KiB\n", rc, grew_kib);
            _exit(1);
        }
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    trove_error err = {0};
    trove_file *f;
    CHECK_OK(trove_open(&f, path, NULL, &err));
    CHECK_OK(trove_file_verify(f, &err));
    trove_close(f);
    unlink(path);
}

/* The writer never writes a tensor readers refuse as a decompression bomb: from memory to a
 * path it falls back to storing it uncompressed; through a pipe it refuses. */
static void test_format__extreme_ratio(void)
{
    trove_error err = {0};
    size_t zn = (size_t)4 << 20;
    unsigned char *zeros = calloc(1, zn);
    CHECK(zeros);
    uint64_t shape[1] = {zn};
    trove_tensor_spec s = {"zeros", TROVE_UINT8, 1, shape, TROVE_TENSOR_ZSTD, 0};
    trove_tensor_spec ok = {"fine", TROVE_UINT8, 1, shape, TROVE_TENSOR_ZSTD, 0};
    uint64_t small[1] = {4096};
    ok.shape = small;
    trove_write_options wo = TROVE_WRITE_OPTIONS_INIT;
    wo.flags = TROVE_WRITE_NO_SYNC;
    trove_writer *w;
    CHECK_OK(trove_writer_open(&w, test_path("ratio.trove"), &wo, &err));
    CHECK_OK(trove_writer_add(w, &s, zeros, &err));
    CHECK_OK(trove_writer_add(w, &ok, zeros, &err)); /* 4 KiB of zeros: within the slack */
    CHECK_OK(trove_writer_commit(w, &err));
    trove_writer_free(w);
    trove_file *f;
    CHECK_OK(trove_open(&f, test_path("ratio.trove"), NULL, &err));
    CHECK_OK(trove_file_verify(f, &err));
    trove_tensor_info a, b;
    CHECK_OK(trove_file_tensor_info(f, 0, &a));
    CHECK_OK(trove_file_tensor_info(f, 1, &b));
    const void *p;
    CHECK_OK(trove_file_tensor_data(f, 0, &p, &err));
    int same = memcmp(p, zeros, zn) == 0;
    trove_close(f);
    CHECK(a.compressed == 0 && a.stored_bytes == zn && b.compressed == 1 && same);
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) { /* drain the pipe */
        close(fds[1]);
        char buf[65536];
        while (read(fds[0], buf, sizeof buf) > 0) {
        }
        _exit(0);
    }
    close(fds[0]);
    CHECK_OK(trove_writer_open_fd(&w, fds[1], &wo, &err));
    int rc = trove_writer_add(w, &s, zeros, &err);
    trove_writer_free(w);
    close(fds[1]);
    waitpid(pid, NULL, 0);
    free(zeros);
    CHECK(rc == TROVE_E_LIMIT && strstr(err.message, "without TROVE_TENSOR_ZSTD"));
}

TEST_MAIN(T(test_format__extreme_ratio), T(test_format__stream_constant_memory), T(test_format__large_tensor_pipelined), T(test_format__roundtrip), T(test_format__deterministic),
          T(test_format__digest_layout_independent), T(test_format__stream_and_fd),
          T(test_format__open_modes), T(test_format__truncation_and_flips),
          T(test_format__oom_torture), T(test_format__rewrite_keeps_digest),
          T(test_format__writer_refuses_bad_specs))
