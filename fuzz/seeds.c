/* seeds.c: writes the seed corpora of the fuzz targets with the library itself: small valid
 * trove files (empty, metadata-heavy, compressed, many tensors, chunked with digests, with a
 * header entry) into DIR/reader/, their header bytes plus RFC 8949 Appendix A items into
 * DIR/cbor/. Usage: seeds DIR (run by fuzz/run.sh when a corpus is empty; checked in). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trove.h"

static const char *dir;
static int failures;

static void save(const char *sub, const char *name, const void *p, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(p, 1, n, fp) != n || fclose(fp) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        failures++;
    }
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *p = malloc(len > 0 ? (size_t)len : 1);
    if (p && len > 0 && fread(p, 1, (size_t)len, fp) != (size_t)len) {
        free(p);
        p = NULL;
    }
    fclose(fp);
    *n = (size_t)len;
    return p;
}

static trove_value *rich_meta(void)
{
    trove_value *m = trove_value_map(NULL), *sig = trove_value_map(NULL);
    trove_value *labels = trove_value_array(NULL), *deep = trove_value_array(NULL);
    int rc = 0;
    rc |= trove_value_map_set(m, "kind", trove_value_cstring(NULL, "linear_regression"));
    rc |= trove_value_map_set(m, "schema", trove_value_int(NULL, 1));
    rc |= trove_value_map_set(m, "neg", trove_value_int(NULL, INT64_MIN));
    rc |= trove_value_map_set(m, "big", trove_value_uint(NULL, UINT64_MAX));
    rc |= trove_value_map_set(m, "f", trove_value_float(NULL, -0.0));
    rc |= trove_value_map_set(m, "pi", trove_value_float(NULL, 3.141592653589793));
    rc |= trove_value_map_set(m, "t", trove_value_bool(NULL, 1));
    rc |= trove_value_map_set(m, "nil", trove_value_null(NULL));
    rc |= trove_value_map_set(m, "raw", trove_value_bytes(NULL, "\x00\xff\x10", 3));
    rc |= trove_value_map_set(m, "\xc3\xa9t\xc3\xa9", trove_value_cstring(NULL, "\xf0\x9f\x8c\xb3"));
    for (int i = 0; i < 5; i++) {
        char s[16];
        snprintf(s, sizeof s, "class_%d", i);
        rc |= trove_value_array_take(labels, trove_value_cstring(NULL, s));
    }
    rc |= trove_value_map_set(sig, "labels", labels);
    rc |= trove_value_map_set(sig, "n_features", trove_value_int(NULL, 300));
    rc |= trove_value_map_set(m, "signature", sig);
    trove_value *cur = deep;
    for (int i = 0; i < 10; i++) {
        trove_value *next = trove_value_array(NULL);
        rc |= trove_value_array_take(cur, trove_value_int(NULL, i));
        rc |= trove_value_array_take(cur, next);
        cur = next;
    }
    rc |= trove_value_map_set(m, "deep", deep);
    if (rc) {
        fprintf(stderr, "cannot build metadata\n");
        exit(1);
    }
    return m;
}

/* kind: 0 empty, 1 metadata-heavy, 2 compressed, 3 many tensors, 4 chunked + digests,
 * 5 header entry + page alignment. */
static void write_file(int kind, const char *name)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s/.seed.trove", dir);
    trove_write_options wo = TROVE_WRITE_OPTIONS_INIT;
    wo.flags = TROVE_WRITE_NO_SYNC;
    if (kind == 4) {
        wo.flags |= TROVE_WRITE_DIGESTS;
        wo.chunk_bytes = 4096;
    }
    trove_writer *w = NULL;
    trove_error err = {0};
    int rc = trove_writer_open(&w, tmp, &wo, &err);
    static float data[4096];
    for (int i = 0; i < 4096; i++)
        data[i] = (float)(i % 97) * 0.25f;
    if (!rc && kind == 1)
        rc = trove_writer_set_metadata(w, rich_meta(), &err);
    if (!rc && kind == 2) {
        uint64_t s1[2] = {32, 32}, s0[1] = {0};
        trove_tensor_spec a = {"weights", TROVE_FLOAT32, 2, s1, TROVE_TENSOR_ZSTD, 0};
        trove_tensor_spec b = {"empty", TROVE_INT16, 1, s0, TROVE_TENSOR_ZSTD, 0};
        trove_tensor_spec c = {"plain", TROVE_UINT8, 1, (uint64_t[]){24}, 0, 0};
        rc = trove_writer_add(w, &a, data, &err);
        if (!rc)
            rc = trove_writer_add(w, &b, NULL, &err);
        if (!rc)
            rc = trove_writer_add(w, &c, data, &err);
    }
    if (!rc && kind == 3) {
        for (int i = 0; !rc && i < 24; i++) {
            char nm[32];
            snprintf(nm, sizeof nm, "layer%02d/%s", i, i % 2 ? "bias" : "kernel");
            uint64_t shape[3] = {(uint64_t)(i % 3), 2, 1};
            trove_dtype dt = (trove_dtype)(1 + i % (TROVE_DTYPE_COUNT_ - 1));
            trove_tensor_spec s = {nm, dt, (uint32_t)(i % 4), shape, 0, 0};
            rc = trove_writer_add(w, &s, data, &err);
        }
    }
    if (!rc && kind == 4) {
        trove_tensor_spec s = {"chunked", TROVE_FLOAT32, 1, (uint64_t[]){2500}, 0, 0};
        rc = trove_writer_add(w, &s, data, &err);
        trove_tensor_spec z = {"z", TROVE_BFLOAT16, 1, (uint64_t[]){3000}, TROVE_TENSOR_ZSTD, 0};
        if (!rc)
            rc = trove_writer_add(w, &z, data, &err);
    }
    if (!rc && kind == 5) {
        trove_value *sigs = trove_value_array(NULL);
        if (trove_value_array_take(sigs, trove_value_bytes(NULL, "sig", 3)) != TROVE_OK)
            rc = TROVE_E_NOMEM;
        if (!rc)
            rc = trove_writer_set_header_entry(w, "signatures", sigs, &err);
        trove_tensor_spec s = {"paged", TROVE_FLOAT64, 0, NULL, 0, 4096};
        if (!rc)
            rc = trove_writer_add(w, &s, data, &err);
    }
    if (!rc)
        rc = trove_writer_commit(w, &err);
    trove_writer_free(w);
    if (rc) {
        fprintf(stderr, "seed %s: %s\n", name, err.message);
        exit(1);
    }
    size_t n;
    unsigned char *p = slurp(tmp, &n);
    remove(tmp);
    if (!p)
        exit(1);
    char fname[256];
    snprintf(fname, sizeof fname, "%s.trove", name);
    save("reader", fname, p, n);
    /* The header alone is a seed for the CBOR decoder. */
    trove_file *f = NULL;
    if (trove_open_memory(&f, p, n, NULL, &err) == TROVE_OK) {
        const void *h;
        size_t hl;
        trove_file_header_bytes(f, &h, &hl);
        snprintf(fname, sizeof fname, "header-%s.cbor", name);
        save("cbor", fname, h, hl);
        trove_close(f);
    }
    /* A few damaged variants of the many-tensor file. */
    if (kind == 3) {
        save("reader", "bad-truncated.trove", p, n / 2);
        unsigned char *q = malloc(n);
        memcpy(q, p, n);
        q[8] = 2; /* major version 2 */
        save("reader", "bad-major2.trove", q, n);
        memcpy(q, p, n);
        q[n - 64 - 10] ^= 0x40; /* a header byte: checksum mismatch */
        save("reader", "bad-header-flip.trove", q, n);
        memcpy(q, p, n);
        q[n - 64 + 32] = 0x80; /* unknown incompat bit */
        save("reader", "bad-incompat.trove", q, n);
        free(q);
    }
    free(p);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: seeds DIR\n");
        return 2;
    }
    dir = argv[1];
    write_file(0, "empty");
    write_file(1, "meta");
    write_file(2, "compressed");
    write_file(3, "many");
    write_file(4, "chunked");
    write_file(5, "entry");
    /* RFC 8949 Appendix A examples inside the canonical subset, and some outside it. */
    static const struct { const char *name; const char *hex; } items[] = {
        {"rfc-0", "00"}, {"rfc-23", "17"}, {"rfc-24", "1818"}, {"rfc-1000", "1903e8"},
        {"rfc-1000000", "1a000f4240"}, {"rfc-1e12", "1b000000e8d4a51000"},
        {"rfc-u64max", "1bffffffffffffffff"}, {"rfc-neg1000", "3903e7"},
        {"rfc-1.1", "fb3ff199999999999a"}, {"rfc-false", "f4"}, {"rfc-null", "f6"},
        {"rfc-text", "6449455446"}, {"rfc-bytes", "4401020304"}, {"rfc-utf8", "62c3bc"},
        {"rfc-array", "8301820203820405"}, {"rfc-map", "a26161016162820203"},
        {"bad-half", "f93c00"}, {"bad-undefined", "f7"}, {"bad-tag", "c074323031332d30332d3231"},
        {"bad-indef", "9f018202039f0405ffff"}, {"bad-nonshortest", "1817"},
        {"bad-unsorted", "a2616201616101"}, {"bad-huge-array", "9b0fffffffffffffff00"},
    };
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
        unsigned char b[64];
        size_t n = strlen(items[i].hex) / 2;
        for (size_t k = 0; k < n; k++) {
            unsigned v;
            sscanf(items[i].hex + 2 * k, "%2x", &v);
            b[k] = (unsigned char)v;
        }
        char fname[64];
        snprintf(fname, sizeof fname, "%s.cbor", items[i].name);
        save("cbor", fname, b, n);
    }
    return failures ? 1 : 0;
}
