/* cross.c: cross-endian check. `cross write PATH` writes a sample file; `cross check PATH` reads
 * a sample written on a host of the other byte order and checks that it is byte-identical to the
 * one this host writes, that every value reads back as written, and that the digests agree.
 * Run by tests/bigendian/run.sh on x86-64 and, under qemu, on s390x (big-endian). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trove.h"

#define N 1000

static int write_sample(const char *path)
{
    static int16_t i16[N];
    static uint32_t u32[N];
    static int64_t i64[N];
    static float f32[N];
    static double f64[N];
    static uint16_t f16[N];
    for (int i = 0; i < N; i++) {
        i16[i] = (int16_t)(i * 37 - 18000);
        u32[i] = (uint32_t)i * 2654435761u;
        i64[i] = (int64_t)i * -1234567890123LL;
        f32[i] = (float)i / 7.0f;
        f64[i] = (double)i / 3.0 - 100.0;
        f16[i] = (uint16_t)(0x3c00 + i); /* raw binary16 bit patterns */
    }
    trove_error err;
    trove_writer *w;
    trove_write_options wo = TROVE_WRITE_OPTIONS_INIT;
    wo.flags = TROVE_WRITE_NO_SYNC | TROVE_WRITE_DIGESTS;
    if (trove_writer_open(&w, path, &wo, &err))
        goto fail;
    trove_value *m = trove_value_map(NULL);
    if (trove_value_map_set(m, "answer", trove_value_int(NULL, -42)) ||
        trove_value_map_set(m, "pi", trove_value_float(NULL, 3.14159)) ||
        trove_writer_set_metadata(w, m, &err))
        goto fail_w;
    struct { const char *name; trove_dtype dt; const void *p; uint32_t flags; } t[] = {
        {"i16", TROVE_INT16, i16, 0},       {"u32", TROVE_UINT32, u32, 0},
        {"i64", TROVE_INT64, i64, 0},       {"f32", TROVE_FLOAT32, f32, 0},
        {"f64", TROVE_FLOAT64, f64, 0},     {"f16", TROVE_FLOAT16, f16, 0},
        {"f64z", TROVE_FLOAT64, f64, TROVE_TENSOR_ZSTD},
    };
    uint64_t shape[2] = {10, N / 10};
    for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
        trove_tensor_spec s = {t[k].name, t[k].dt, 2, shape, t[k].flags, 0};
        if (trove_writer_add(w, &s, t[k].p, &err))
            goto fail_w;
    }
    if (trove_writer_commit(w, &err))
        goto fail_w;
    trove_writer_free(w);
    return 0;
fail_w:
    trove_writer_free(w);
fail:
    fprintf(stderr, "cross: write %s: %s\n", path, err.message);
    return 1;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *p = malloc((size_t)n + 1);
    if (p && fread(p, 1, (size_t)n, fp) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(fp);
    *len = (size_t)n;
    return p;
}

static int check(const char *foreign)
{
    char local[4096];
    snprintf(local, sizeof local, "%s.local", foreign);
    if (write_sample(local))
        return 1;
    size_t la, lb;
    unsigned char *a = slurp(foreign, &la), *b = slurp(local, &lb);
    int same = a && b && la == lb && memcmp(a, b, la) == 0;
    free(a);
    free(b);
    if (!same) {
        fprintf(stderr, "cross: %s differs from the file this host writes\n", foreign);
        return 1;
    }
    trove_error err;
    trove_file *f, *g;
    if (trove_open(&f, foreign, NULL, &err) || trove_file_verify(f, &err)) {
        fprintf(stderr, "cross: %s: %s\n", foreign, err.message);
        return 1;
    }
    if (trove_open(&g, local, NULL, &err)) {
        fprintf(stderr, "cross: %s: %s\n", local, err.message);
        return 1;
    }
    int bad = 0;
    for (size_t i = 0; i < trove_file_tensor_count(f); i++) {
        trove_tensor_info ti;
        const void *p, *q;
        if (trove_file_tensor_info(f, i, &ti) || trove_file_tensor_data(f, i, &p, &err) ||
            trove_file_tensor_data(g, i, &q, &err) || memcmp(p, q, (size_t)ti.nbytes) != 0) {
            fprintf(stderr, "cross: tensor %zu reads differently\n", i);
            bad = 1;
        }
    }
    /* Values as numbers, not only bytes: the host order view must hold what was written. */
    size_t k;
    const void *p;
    if (!trove_file_find(f, "f64", &k) && !trove_file_tensor_data(f, k, &p, &err)) {
        const double *d = p;
        for (int i = 0; i < N; i++)
            bad |= d[i] != (double)i / 3.0 - 100.0;
    } else {
        bad = 1;
    }
    if (!trove_file_find(f, "i64", &k) && !trove_file_tensor_data(f, k, &p, &err)) {
        const int64_t *d = p;
        for (int i = 0; i < N; i++)
            bad |= d[i] != (int64_t)i * -1234567890123LL;
    } else {
        bad = 1;
    }
    uint8_t d1[32], d2[32], d3[32];
    if (trove_file_digest(f, 0, 1, d1, &err) || trove_file_digest(g, 0, 1, d2, &err) ||
        trove_file_digest(f, TROVE_DIGEST_TRUST_STORED, 1, d3, &err) || memcmp(d1, d2, 32) ||
        memcmp(d1, d3, 32)) {
        fprintf(stderr, "cross: digests differ\n");
        bad = 1;
    }
    trove_close(f);
    trove_close(g);
    remove(local);
    printf("cross: %s: %s\n", foreign, bad ? "MISMATCH" : "identical bytes, values and digest");
    return bad;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "write"))
        return write_sample(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "check"))
        return check(argv[2]);
    fprintf(stderr, "usage: cross write|check PATH\n");
    return 2;
}
