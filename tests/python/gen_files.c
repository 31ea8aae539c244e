/* gen_files.c: writes trove files with the C library and dumps what the C library reads back,
 * so that tests/python/test_reader_agrees.py can compare tools/trove_reader.py against it.
 *
 *   gen_files write DIR     writes DIR/<case>.trove for every case, prints one name a line
 *   gen_files check FILE    prints open/verify/tensor-data status codes and messages only
 *   gen_files dump FILE     prints one JSON object: open/verify codes and messages, version,
 *                           features, canonical CBOR of the metadata (hex), model digest (hex,
 *                           computed and trusted), every tensor (name, dtype, shape, data hex,
 *                           content digest hex)
 *
 * Tensor bytes follow a formula the Python test repeats: byte j of a tensor with seed s is
 * (j * 131 + s * 17 + 3) & 0xff; for bool, ((j * 7 + s) % 3 == 0). Compressible tensors (flag
 * "Z" below) use (j / 64 + s) & 0xff instead. Built at test time with
 * cc -Iinclude gen_files.c build/libtrove.a $(pkg-config --libs ...). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <trove.h>

static void fill(uint8_t *p, size_t n, trove_dtype dt, unsigned seed, int compressible)
{
    for (size_t j = 0; j < n; j++) {
        if (dt == TROVE_BOOL)
            p[j] = (uint8_t)((j * 7 + seed) % 3 == 0);
        else if (compressible)
            p[j] = (uint8_t)((j / 64 + seed) & 0xff);
        else
            p[j] = (uint8_t)((j * 131 + seed * 17 + 3) & 0xff);
    }
}

static int fail_rc(const char *what, int rc, const trove_error *err)
{
    fprintf(stderr, "gen_files: %s: %s (%d): %s\n", what, trove_strerror(rc), rc,
            err->message);
    return rc;
}

/* Adds tensor name with a formula payload; seed distinguishes tensors. */
static int add(trove_writer *w, const char *name, trove_dtype dt, uint32_t rank,
               const uint64_t *shape, uint32_t flags, uint32_t align, unsigned seed,
               int compressible)
{
    uint64_t count = 1;
    for (uint32_t i = 0; i < rank; i++)
        count *= shape[i];
    size_t n = (size_t)(count * trove_dtype_size(dt));
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return TROVE_E_NOMEM;
    fill(buf, n, dt, seed, compressible);
    trove_tensor_spec s = {name, dt, rank, shape, flags, align};
    trove_error err = {0};
    int rc = trove_writer_add(w, &s, buf, &err);
    free(buf);
    if (rc)
        return fail_rc(name, rc, &err);
    return 0;
}

#define SET(m, k, v) rc |= trove_value_map_set((m), (k), (v))

/* Metadata with every value type, nesting, Unicode, reserved keys. */
static trove_value *rich_meta(void)
{
    int rc = 0;
    trove_value *m = trove_value_map(NULL);
    trove_value *producer = trove_value_map(NULL);
    SET(producer, "name", trove_value_cstring(NULL, "gen_files"));
    SET(producer, "version", trove_value_cstring(NULL, "1.0"));
    SET(m, "producer", producer);
    SET(m, "created", trove_value_cstring(NULL, "2026-11-28T19:00:00Z"));
    SET(m, "description", trove_value_cstring(NULL, "every value type \xe2\x80\x94 caf\xc3\xa9"));
    trove_value *u = trove_value_map(NULL);
    SET(u, "null", trove_value_null(NULL));
    SET(u, "true", trove_value_bool(NULL, 1));
    SET(u, "false", trove_value_bool(NULL, 0));
    SET(u, "zero", trove_value_int(NULL, 0));
    SET(u, "i23", trove_value_int(NULL, 23));
    SET(u, "i24", trove_value_int(NULL, 24));
    SET(u, "i255", trove_value_int(NULL, 255));
    SET(u, "i256", trove_value_int(NULL, 256));
    SET(u, "i65536", trove_value_int(NULL, 65536));
    SET(u, "i2p32", trove_value_int(NULL, INT64_C(4294967296)));
    SET(u, "neg1", trove_value_int(NULL, -1));
    SET(u, "neg25", trove_value_int(NULL, -25));
    SET(u, "int64min", trove_value_int(NULL, INT64_MIN));
    SET(u, "int64max", trove_value_int(NULL, INT64_MAX));
    SET(u, "uint64max", trove_value_uint(NULL, UINT64_MAX));
    SET(u, "uint_small", trove_value_uint(NULL, 7)); /* reads back as int 7 */
    SET(u, "f_half", trove_value_float(NULL, 0.5));
    SET(u, "f_tenth", trove_value_float(NULL, 0.1));
    SET(u, "f_negzero", trove_value_float(NULL, -0.0));
    SET(u, "f_big", trove_value_float(NULL, 1e300));
    SET(u, "f_tiny", trove_value_float(NULL, 5e-324));
    SET(u, "f_int", trove_value_float(NULL, 3.0));
    SET(u, "s_empty", trove_value_cstring(NULL, ""));
    SET(u, "s_unicode", trove_value_cstring(NULL, "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x99\x82"));
    trove_value *long_s = NULL;
    {
        char s[300];
        memset(s, 'x', sizeof s);
        long_s = trove_value_string(NULL, s, sizeof s);
    }
    SET(u, "s_long", long_s);
    SET(u, "b_empty", trove_value_bytes(NULL, "", 0));
    SET(u, "b_bin", trove_value_bytes(NULL, "\x00\xff\x80\x01", 4));
    trove_value *arr = trove_value_array(NULL);
    rc |= trove_value_array_take(arr, trove_value_int(NULL, 1));
    rc |= trove_value_array_take(arr, trove_value_cstring(NULL, "two"));
    rc |= trove_value_array_take(arr, trove_value_null(NULL));
    trove_value *inner = trove_value_array(NULL);
    rc |= trove_value_array_take(inner, trove_value_float(NULL, 2.5));
    rc |= trove_value_array_take(arr, inner);
    trove_value *inmap = trove_value_map(NULL);
    SET(inmap, "k", trove_value_bytes(NULL, "v", 1));
    rc |= trove_value_array_take(arr, inmap);
    SET(u, "array", arr);
    SET(u, "a_empty", trove_value_array(NULL));
    SET(u, "m_empty", trove_value_map(NULL));
    /* keys of different lengths and bytes: the canonical order is length first */
    trove_value *order = trove_value_map(NULL);
    SET(order, "bb", trove_value_int(NULL, 1));
    SET(order, "a", trove_value_int(NULL, 2));
    SET(order, "\xc3\xa9", trove_value_int(NULL, 3));
    SET(order, "z", trove_value_int(NULL, 4));
    SET(order, "aaa", trove_value_int(NULL, 5));
    SET(u, "order", order);
    /* deep nesting: header map (1) > meta (2) > user (3) > deep (4) > 30 more levels */
    trove_value *deep = trove_value_int(NULL, 99);
    for (int i = 0; i < 30; i++) {
        trove_value *a = trove_value_array(NULL);
        rc |= trove_value_array_take(a, deep);
        deep = a;
    }
    SET(u, "deep", deep);
    SET(m, "user", u);
    trove_value *metrics = trove_value_map(NULL);
    SET(metrics, "accuracy", trove_value_float(NULL, 0.975));
    SET(m, "metrics", metrics);
    SET(m, "x-\xe2\x82\xac", trove_value_cstring(NULL, "extension"));
    if (rc) {
        trove_value_free(m);
        return NULL;
    }
    return m;
}

static int write_case(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.trove", dir, name);
    trove_write_options wo = TROVE_WRITE_OPTIONS_INIT;
    wo.flags = TROVE_WRITE_NO_SYNC;
    if (!strcmp(name, "align4096"))
        wo.alignment = 4096;
    if (!strcmp(name, "chunks"))
        wo.chunk_bytes = 4096;
    if (!strcmp(name, "digests"))
        wo.flags |= TROVE_WRITE_DIGESTS;
    if (!strcmp(name, "compressed"))
        wo.zstd_level = 1;
    trove_writer *w = NULL;
    trove_error err = {0};
    int rc = trove_writer_open(&w, path, &wo, &err);
    if (rc)
        return fail_rc(path, rc, &err);

    trove_value *meta = NULL;
    if (!strcmp(name, "meta")) {
        meta = rich_meta();
    } else {
        meta = trove_value_map(NULL);
        if (meta)
            rc = trove_value_map_set(meta, "description", trove_value_cstring(NULL, name));
    }
    if (!meta || rc) {
        trove_writer_free(w);
        return TROVE_E_NOMEM;
    }
    rc = trove_writer_set_metadata(w, meta, &err);
    if (rc) {
        trove_writer_free(w);
        return fail_rc("metadata", rc, &err);
    }

    uint64_t s35[2] = {3, 5}, s2[8] = {2, 2, 2, 2, 2, 2, 2, 2};
    if (!strcmp(name, "dtypes")) {
        for (int d = 1; rc == 0 && d < TROVE_DTYPE_COUNT_; d++) {
            char tn[64];
            snprintf(tn, sizeof tn, "dtype/%s", trove_dtype_name((trove_dtype)d));
            rc = add(w, tn, (trove_dtype)d, 2, s35, 0, 0, (unsigned)d, 0);
            snprintf(tn, sizeof tn, "scalar/%s", trove_dtype_name((trove_dtype)d));
            if (!rc)
                rc = add(w, tn, (trove_dtype)d, 0, NULL, 0, 0, (unsigned)d + 40, 0);
        }
    } else if (!strcmp(name, "ranks")) {
        for (uint32_t r = 0; rc == 0 && r <= TROVE_MAX_RANK; r++) {
            char tn[32];
            snprintf(tn, sizeof tn, "rank%u", r);
            uint64_t shape[8] = {3, 2, 1, 2, 3, 1, 2, 2};
            rc = add(w, tn, r % 2 ? TROVE_FLOAT64 : TROVE_INT16, r, shape, 0, 0, r, 0);
        }
    } else if (!strcmp(name, "empty")) {
        uint64_t z1[1] = {0}, z3[3] = {3, 0, 2}, z8[8] = {1, 1, 1, 1, 1, 1, 1, 0};
        rc = add(w, "e1", TROVE_FLOAT32, 1, z1, 0, 0, 1, 0);
        if (!rc)
            rc = add(w, "e3", TROVE_BOOL, 3, z3, 0, 0, 2, 0);
        if (!rc)
            rc = add(w, "e8", TROVE_BFLOAT16, 8, z8, 0, 0, 3, 0);
        if (!rc)
            rc = add(w, "ez", TROVE_INT64, 1, z1, TROVE_TENSOR_ZSTD, 0, 4, 0);
        if (!rc)
            rc = add(w, "after", TROVE_UINT8, 1, s35, 0, 0, 5, 0);
    } else if (!strcmp(name, "notensors")) {
        /* metadata only: the header starts at 64 */
    } else if (!strcmp(name, "unicode")) {
        char longname[1025];
        memset(longname, 'n', 1024);
        memcpy(longname, "\xe6\x9d\x83", 3); /* 3-byte UTF-8 start, 1024 bytes total */
        longname[1024] = 0;
        const char *names[] = {"\xc3\xa9t\xc3\xa9",
                               "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e/\xe5\xb1\xa4.weight",
                               "\xf0\x9f\x99\x82", "a", "A", "aa", "b", "Z", "with space",
                               longname};
        for (unsigned i = 0; rc == 0 && i < sizeof names / sizeof *names; i++)
            rc = add(w, names[i], TROVE_FLOAT32, 1, s35, 0, 0, i, 0);
    } else if (!strcmp(name, "compressed")) {
        uint64_t big[1] = {100000}, mid[2] = {257, 33};
        rc = add(w, "z/compressible", TROVE_FLOAT32, 1, big, TROVE_TENSOR_ZSTD, 0, 1, 1);
        if (!rc)
            rc = add(w, "z/random", TROVE_UINT16, 2, mid, TROVE_TENSOR_ZSTD, 0, 2, 0);
        if (!rc)
            rc = add(w, "plain", TROVE_FLOAT64, 2, s35, 0, 0, 3, 0);
        if (!rc)
            rc = add(w, "z/bf16", TROVE_BFLOAT16, 2, mid, TROVE_TENSOR_ZSTD, 0, 4, 1);
        if (!rc)
            rc = add(w, "z/scalar", TROVE_INT32, 0, NULL, TROVE_TENSOR_ZSTD, 0, 5, 0);
    } else if (!strcmp(name, "align4096")) {
        uint64_t n1[1] = {1000}, n2[1] = {3};
        rc = add(w, "a", TROVE_UINT8, 1, n2, 0, 0, 1, 0);
        if (!rc)
            rc = add(w, "b", TROVE_FLOAT32, 1, n1, 0, 0, 2, 0);
        if (!rc)
            rc = add(w, "c64k", TROVE_INT8, 1, n2, 0, 65536, 3, 0);
        if (!rc)
            rc = add(w, "d64", TROVE_INT8, 1, n2, 0, 64, 4, 0);
    } else if (!strcmp(name, "chunks")) {
        uint64_t n1[1] = {4096}, n2[1] = {1024}, n3[1] = {3000}, n4[1] = {5000};
        rc = add(w, "exact1", TROVE_UINT8, 1, n1, 0, 0, 1, 0);      /* exactly one chunk */
        if (!rc)
            rc = add(w, "four", TROVE_FLOAT32, 1, n2, 0, 0, 2, 0);  /* 4096 bytes */
        if (!rc)
            rc = add(w, "partial", TROVE_FLOAT64, 1, n3, 0, 0, 3, 0); /* 24000: 6 chunks */
        if (!rc)
            rc = add(w, "zpart", TROVE_INT32, 1, n4, TROVE_TENSOR_ZSTD, 0, 4, 0);
    } else if (!strcmp(name, "digests")) {
        uint64_t big[1] = {(9u << 20) / 4 + 5}, leaf[1] = {(4u << 20) / 8};
        rc = add(w, "three_leaves", TROVE_FLOAT32, 1, big, 0, 0, 1, 0);
        if (!rc)
            rc = add(w, "one_leaf_exact", TROVE_FLOAT64, 1, leaf, 0, 0, 2, 0);
        if (!rc)
            rc = add(w, "small", TROVE_INT8, 2, s35, 0, 0, 3, 0);
        if (!rc)
            rc = add(w, "zsmall", TROVE_INT16, 2, s35, TROVE_TENSOR_ZSTD, 0, 4, 0);
        uint64_t z1[1] = {0};
        if (!rc)
            rc = add(w, "empty", TROVE_FLOAT16, 1, z1, 0, 0, 5, 0);
    } else if (!strcmp(name, "meta")) {
        rc = add(w, "w", TROVE_FLOAT32, 8, s2, 0, 0, 1, 0);
    } else {
        fprintf(stderr, "gen_files: unknown case %s\n", name);
        rc = TROVE_E_INVALID;
    }
    if (rc == 0) {
        rc = trove_writer_commit(w, &err);
        if (rc)
            fail_rc("commit", rc, &err);
    }
    trove_writer_free(w);
    if (rc == 0)
        printf("%s\n", path);
    return rc;
}

static void json_str(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void hex(const void *p, size_t n)
{
    const uint8_t *b = p;
    putchar('"');
    for (size_t i = 0; i < n; i++)
        printf("%02x", b[i]);
    putchar('"');
}

static void result(const char *key, int rc, const trove_error *err)
{
    printf("\"%s\": %d, \"%s_msg\": ", key, rc, key);
    const char *m = rc ? err->message : "";
    json_str(m, strlen(m));
    printf(", ");
}

static int dump(const char *path, int with_data)
{
    trove_file *f = NULL;
    trove_error err = {0};
    int rc = trove_open(&f, path, NULL, &err);
    printf("{");
    result("open", rc, &err);
    if (rc) {
        printf("\"file\": ");
        json_str(path, strlen(path));
        printf("}\n");
        return 0;
    }
    trove_error verr = {0};
    int vrc = trove_file_verify(f, &verr);
    result("verify", vrc, &verr);
    uint32_t major, minor;
    trove_file_version(f, &major, &minor);
    uint64_t c, r, in;
    trove_file_features(f, &c, &r, &in);
    printf("\"version\": [%u, %u], \"features\": [%llu, %llu, %llu], ", major, minor,
           (unsigned long long)c, (unsigned long long)r, (unsigned long long)in);
    if (!with_data) {
        size_t n = trove_file_tensor_count(f);
        printf("\"tensors\": [");
        for (size_t i = 0; i < n; i++) {
            const void *data = NULL;
            trove_error terr = {0};
            int trc = trove_file_tensor_data(f, i, &data, &terr);
            printf("%s{", i ? ", " : "");
            result("data_rc", trc, &terr);
            printf("\"i\": %zu}", i);
        }
        printf("]}\n");
        trove_close(f);
        return 0;
    }
    uint8_t *cbor = NULL;
    size_t clen = 0;
    if (trove_value_encode(trove_file_metadata(f), NULL, &cbor, &clen, &err) == 0) {
        printf("\"meta_cbor\": ");
        hex(cbor, clen);
        printf(", ");
        trove_free(NULL, cbor);
    }
    uint8_t d[TROVE_DIGEST_BYTES];
    trove_error derr = {0};
    int drc = trove_file_digest(f, 0, 0, d, &derr);
    result("digest_rc", drc, &derr);
    printf("\"digest\": ");
    if (drc == 0)
        hex(d, sizeof d);
    else
        printf("null");
    drc = trove_file_digest(f, TROVE_DIGEST_TRUST_STORED, 1, d, &derr);
    printf(", \"digest_trusted\": ");
    if (drc == 0)
        hex(d, sizeof d);
    else
        printf("null");
    printf(", \"tensors\": [");
    size_t n = trove_file_tensor_count(f);
    for (size_t i = 0; i < n; i++) {
        trove_tensor_info ti;
        if (trove_file_tensor_info(f, i, &ti))
            continue;
        printf("%s{\"name\": ", i ? ", " : "");
        json_str(ti.name, ti.name_len);
        printf(", \"dtype\": \"%s\", \"shape\": [", trove_dtype_name(ti.dtype));
        for (uint32_t k = 0; k < ti.rank; k++)
            printf("%s%llu", k ? ", " : "", (unsigned long long)ti.shape[k]);
        printf("], \"offset\": %llu, \"stored\": %llu, \"compressed\": %u, ",
               (unsigned long long)ti.offset, (unsigned long long)ti.stored_bytes,
               ti.compressed);
        const void *data = NULL;
        trove_error terr = {0};
        int trc = trove_file_tensor_data(f, i, &data, &terr);
        result("data_rc", trc, &terr);
        printf("\"data\": ");
        if (trc == 0)
            hex(data, (size_t)ti.nbytes);
        else
            printf("null");
        trc = trove_file_tensor_digest(f, i, d, &terr);
        printf(", \"digest\": ");
        if (trc == 0)
            hex(d, sizeof d);
        else
            printf("null");
        printf("}");
    }
    printf("]}\n");
    trove_close(f);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "write")) {
        const char *cases[] = {"dtypes", "ranks", "empty", "notensors", "unicode", "compressed",
                               "align4096", "chunks", "digests", "meta"};
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
            if (write_case(argv[2], cases[i]))
                return 1;
        return 0;
    }
    if (argc == 3 && !strcmp(argv[1], "dump"))
        return dump(argv[2], 1);
    if (argc == 3 && !strcmp(argv[1], "check"))
        return dump(argv[2], 0);
    fprintf(stderr, "usage: gen_files write DIR | gen_files dump|check FILE\n");
    return 2;
}
