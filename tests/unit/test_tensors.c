/* test_tensors.c: the plain-tensor importers (safetensors, .npy, .npz) and exporters: crafted
 * files through trove_convert and back, hostile headers refused with the right status, the
 * Fortran/byte-swap reader, allocation failure at every step without a leak. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "codecs/tensors.h"
#include "convert_torture.h"
#include "testlib.h"

/* A safetensors image: header text (padded with spaces to 8) then data. Caller frees. */
static uint8_t *st_image(const char *hdr, const void *data, size_t dlen, size_t *len)
{
    size_t hl = strlen(hdr), pl = (hl + 7) & ~(size_t)7;
    *len = 8 + pl + dlen;
    uint8_t *b = malloc(*len);
    trove__store_le64(b, pl);
    memcpy(b + 8, hdr, hl);
    memset(b + 8 + hl, ' ', pl - hl);
    if (dlen)
        memcpy(b + 8 + pl, data, dlen);
    return b;
}

static const float F6[6] = {1, 2, 3, 4, 5, 6};

static void safetensors_roundtrip(void)
{
    uint8_t data[24 + 8 + 4];
    memcpy(data, F6, 24);
    int64_t i1 = -7;
    memcpy(data + 24, &i1, 8);
    memcpy(data + 32, "\x80\x3f\x00\x40", 4); /* two bfloat16: 1.0, 2.0 */
    size_t len;
    uint8_t *img = st_image("{\"__metadata__\":{\"format\":\"pt\"},"
                            "\"b\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[24,32]},"
                            "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                            "\"c\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[32,36]}}",
                            data, sizeof data, &len);
    const char *in = test_path("m.safetensors"), *out = test_path("m.trove");
    trove_error err;
    CHECK_OK(test_write_file(in, img, len));
    trove_convert_report rep;
    CHECK_OK(trove_convert(in, out, NULL, &rep, &err));
    CHECK(!strcmp(rep.format, "safetensors"));
    trove_file *f = NULL;
    CHECK_OK(trove_open(&f, out, NULL, &err));
    CHECK(trove_file_tensor_count(f) == 3);
    size_t i;
    const void *p;
    trove_tensor_info ti;
    CHECK_OK(trove_file_find(f, "a", &i));
    CHECK_OK(trove_file_tensor_info(f, i, &ti));
    CHECK(ti.dtype == TROVE_FLOAT32 && ti.rank == 2 && ti.shape[0] == 2 && ti.shape[1] == 3);
    CHECK_OK(trove_file_tensor_data(f, i, &p, &err));
    CHECK(!memcmp(p, F6, 24));
    CHECK_OK(trove_file_find(f, "b", &i));
    CHECK_OK(trove_file_tensor_info(f, i, &ti));
    CHECK(ti.dtype == TROVE_INT64 && ti.rank == 0);
    CHECK_OK(trove_file_tensor_data(f, i, &p, &err));
    CHECK(!memcmp(p, &i1, 8));
    CHECK_OK(trove_file_find(f, "c", &i));
    CHECK_OK(trove_file_tensor_info(f, i, &ti));
    CHECK(ti.dtype == TROVE_BFLOAT16);
    const char *s;
    CHECK_OK(trove_value_get_string(trove_value_path(trove_file_metadata(f),
                                                     "x-safetensors-metadata.format"), &s, NULL));
    CHECK(!strcmp(s, "pt"));
    trove_close(f);
    /* back to safetensors: same data bytes in name order (a, b, c: the file order) */
    const char *back = test_path("back.safetensors");
    CHECK_OK(trove_convert(out, back, NULL, &rep, &err));
    size_t blen;
    uint8_t *b = test_read_file(back, &blen);
    CHECK(b && blen > 8);
    if (b) {
        uint64_t hl = trove__load_le64(b);
        CHECK(hl % 8 == 0 && 8 + hl + sizeof data == blen);
        CHECK(8 + hl + sizeof data == blen && !memcmp(b + 8 + hl, data, sizeof data));
        CHECK(memmem(b, blen, "\"__metadata__\":{\"format\":\"pt\"}", 30) != NULL);
    }
    free(b);
    /* and the exported file converts again to the same tensors */
    CHECK_OK(trove_convert(back, test_path("again.trove"), NULL, NULL, &err));
    /* bfloat16 has no numpy dtype: npz export refused by name */
    CHECK_RC(trove_convert(out, test_path("m.npz"), NULL, NULL, &err), TROVE_E_UNSUPPORTED);
    CHECK(strstr(err.message, "bfloat16") != NULL);
    free(img);
}

typedef struct hostile {
    const char *hdr;
    size_t dlen;
    int code;
    const char *why;
} hostile;

static void safetensors_hostile(void)
{
    static const hostile cases[] = {
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, TROVE_E_CORRUPT,
         "overlaps"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12, TROVE_E_CORRUPT,
         "a hole"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, TROVE_E_CORRUPT,
         "not indexed"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8, TROVE_E_CORRUPT,
         "not within"},
        {"{\"a\":{\"dtype\":\"F64\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,0]}}", 0,
         TROVE_E_CORRUPT, "overflows"},
        {"{\"a\":{\"dtype\":\"F8_E5M2\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
         TROVE_E_UNSUPPORTED, "F8_E5M2"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, TROVE_E_CORRUPT,
         "duplicate"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", 4, TROVE_E_CORRUPT,
         "JSON"},
        {"{\"__metadata__\":[1]}", 0, TROVE_E_CORRUPT, "__metadata__"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[18446744073709551616],\"data_offsets\":[0,1]}}", 1,
         TROVE_E_CORRUPT, "JSON"},
    };
    uint8_t zeros[16] = {0};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t len;
        uint8_t *img = st_image(cases[k].hdr, zeros, cases[k].dlen, &len);
        trove__tset s;
        trove_error err;
        int rc = trove__tensors_parse(NULL, img, len, 0, NULL, 1 << 20, &s, &err);
        trove__tset_free(&s);
        CHECK(rc == cases[k].code);
        CHECK(rc && strstr(err.message, cases[k].why) != NULL);
        if (rc != cases[k].code || !strstr(err.message, cases[k].why))
            fprintf(stderr, "case %zu: %d %s\n", k, rc, err.message);
        /* every truncation is refused cleanly */
        for (size_t cut = 0; cut < len; cut += 3) {
            rc = trove__tensors_parse(NULL, img, cut, TROVE__TF_SAFETENSORS, NULL, 1 << 20, &s,
                                      &err);
            trove__tset_free(&s);
            CHECK(rc != TROVE_OK);
        }
        free(img);
    }
    /* header length past the file and over the limit */
    uint8_t b[16] = {0};
    trove__store_le64(b, 9);
    b[8] = '{';
    trove__tset s;
    trove_error err;
    CHECK_RC(trove__tensors_parse(NULL, b, 16, 0, NULL, 1 << 20, &s, &err), TROVE_E_CORRUPT);
    trove__tset_free(&s);
    trove__store_le64(b, UINT64_C(1) << 31);
    b[8] = '{';
    CHECK_RC(trove__tensors_parse(NULL, b, 16, 0, NULL, 1 << 20, &s, &err), TROVE_E_LIMIT);
    trove__tset_free(&s);
}

/* An .npy image of a (2,3,4) int16 array stored big-endian in Fortran order. */
static uint8_t *npy_fortran_be(size_t *len)
{
    const char *h = "{'descr': '>i2', 'fortran_order': True, 'shape': (2, 3, 4), }";
    size_t hl = strlen(h), total = (10 + hl + 1 + 63) & ~(size_t)63;
    *len = total + 48;
    uint8_t *b = calloc(1, *len);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    trove__store_le16(b + 8, (uint16_t)(total - 10));
    memcpy(b + 10, h, hl);
    memset(b + 10 + hl, ' ', total - 10 - hl - 1);
    b[total - 1] = '\n';
    /* element (i,j,k) has value 100i + 10j + k, at Fortran index i + 2j + 6k */
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++) {
                int v = 100 * i + 10 * j + k;
                size_t at = total + 2 * (size_t)(i + 2 * j + 6 * k);
                b[at] = (uint8_t)(v >> 8);
                b[at + 1] = (uint8_t)v;
            }
    return b;
}

static void npy_fortran_bigendian(void)
{
    size_t len;
    uint8_t *img = npy_fortran_be(&len);
    trove__tset s;
    trove_error err;
    CHECK_OK(trove__tensors_parse(NULL, img, len, 0, "t", 1 << 20, &s, &err));
    CHECK(s.n == 1 && s.t[0].fortran && s.t[0].dtype == TROVE_INT16);
    if (s.n == 1) {
        int16_t out[24];
        uint64_t pos = 0;
        size_t got = 0, n;
        while ((n = trove__tin_read(&s.t[0], &pos, (uint8_t *)out + got, 5)) > 0) /* odd cap */
            got += n;
        CHECK(got == 48);
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                for (int k = 0; k < 4; k++)
                    CHECK(out[i * 12 + j * 4 + k] == 100 * i + 10 * j + k);
    }
    trove__tset_free(&s);
    /* through trove_convert, and back out as .npy (C order, little-endian) */
    const char *in = test_path("f.npy"), *out = test_path("f.trove");
    CHECK_OK(test_write_file(in, img, len));
    trove_convert_options o = TROVE_CONVERT_OPTIONS_INIT;
    o.tensor_name = "w";
    CHECK_OK(trove_convert(in, out, &o, NULL, &err));
    trove_file *f = NULL;
    CHECK_OK(trove_open(&f, out, NULL, &err));
    size_t i;
    CHECK_OK(trove_file_find(f, "w", &i));
    const void *p;
    CHECK_OK(trove_file_tensor_data(f, i, &p, &err));
    CHECK(((const int16_t *)p)[23] == 123 && ((const int16_t *)p)[4] == 10);
    trove_close(f);
    free(img);
}

static void npy_hostile(void)
{
    static const char *const hdrs[] = {
        "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }",
        "{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (2,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,2,3,4,5,6,7,8,9), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }",
        "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }",
        "{'descr': '<f4', 'shape': (2,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}",
        "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
        "{'descr': '<f4\\x', 'fortran_order': False, 'shape': (2,), }",
    };
    for (size_t k = 0; k < sizeof hdrs / sizeof hdrs[0]; k++) {
        uint8_t b[256] = {0};
        size_t hl = strlen(hdrs[k]);
        memcpy(b, "\x93NUMPY\x01\x00", 8);
        trove__store_le16(b + 8, (uint16_t)hl);
        memcpy(b + 10, hdrs[k], hl);
        trove__tset s;
        trove_error err;
        int rc = trove__tensors_parse(NULL, b, 10 + hl + 8, 0, NULL, 1 << 20, &s, &err);
        trove__tset_free(&s);
        CHECK(rc == TROVE_E_CORRUPT || rc == TROVE_E_UNSUPPORTED);
        if (k == 0)
            CHECK(strstr(err.message, "object arrays") != NULL);
    }
}

/* A zip with one stored member "x.npy" holding a float64 [3]. */
static uint8_t *tiny_npz(size_t *len, int corrupt_crc)
{
    const char *h = "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }";
    uint8_t npy[128 + 24];
    size_t hl = strlen(h), total = 128;
    memcpy(npy, "\x93NUMPY\x01\x00", 8);
    trove__store_le16(npy + 8, (uint16_t)(total - 10));
    memset(npy + 10, ' ', total - 10);
    memcpy(npy + 10, h, hl);
    npy[total - 1] = '\n';
    double d[3] = {1.5, -2, 3};
    memcpy(npy + total, d, 24);
    uint32_t crc = (uint32_t)crc32(0, npy, sizeof npy) ^ (corrupt_crc ? 1u : 0u);
    size_t n = 30 + 5 + sizeof npy + 46 + 5 + 22;
    uint8_t *z = calloc(1, n), *p = z;
    memcpy(p, "PK\x03\x04", 4);
    trove__store_le32(p + 14, crc);
    trove__store_le32(p + 18, sizeof npy);
    trove__store_le32(p + 22, sizeof npy);
    trove__store_le16(p + 26, 5);
    memcpy(p + 30, "x.npy", 5);
    memcpy(p + 35, npy, sizeof npy);
    p += 35 + sizeof npy;
    memcpy(p, "PK\x01\x02", 4);
    trove__store_le32(p + 16, crc);
    trove__store_le32(p + 20, sizeof npy);
    trove__store_le32(p + 24, sizeof npy);
    trove__store_le16(p + 28, 5);
    memcpy(p + 46, "x.npy", 5);
    p += 51;
    memcpy(p, "PK\x05\x06", 4);
    trove__store_le16(p + 8, 1);
    trove__store_le16(p + 10, 1);
    trove__store_le32(p + 12, 51);
    trove__store_le32(p + 16, (uint32_t)(35 + sizeof npy));
    *len = n;
    return z;
}

static void npz_stored_and_crc(void)
{
    size_t len;
    uint8_t *z = tiny_npz(&len, 0);
    trove__tset s;
    trove_error err;
    CHECK_OK(trove__tensors_parse(NULL, z, len, 0, NULL, 1 << 20, &s, &err));
    CHECK(s.n == 1 && !strcmp(s.t[0].name, "x") && s.t[0].nbytes == 24);
    trove__tset_free(&s);
    for (size_t cut = 0; cut < len; cut++) { /* every truncation */
        CHECK(trove__tensors_parse(NULL, z, cut, TROVE__TF_NPZ, NULL, 1 << 20, &s, &err) != 0);
        trove__tset_free(&s);
    }
    free(z);
    z = tiny_npz(&len, 1);
    CHECK_RC(trove__tensors_parse(NULL, z, len, 0, NULL, 1 << 20, &s, &err), TROVE_E_CORRUPT);
    CHECK(strstr(err.message, "CRC-32") != NULL);
    trove__tset_free(&s);
    free(z);
}

static void oom_torture(void)
{
    size_t len;
    uint8_t *imgs[3];
    size_t lens[3];
    imgs[0] = st_image("{\"__metadata__\":{\"k\":\"v\"},"
                       "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", F6,
                       24, &len);
    lens[0] = len;
    imgs[1] = npy_fortran_be(&lens[1]);
    imgs[2] = tiny_npz(&lens[2], 0);
    for (int k = 0; k < 3; k++) {
        int ok_seen = 0;
        for (long n = 1; n < 100 && !ok_seen; n++) {
            test_alloc ta;
            test_alloc_init(&ta, n);
            trove__tset s;
            trove_error err;
            int rc = trove__tensors_parse(&ta.a, imgs[k], lens[k], 0, NULL, 1 << 20, &s, &err);
            CHECK(rc == TROVE_OK || rc == TROVE_E_NOMEM);
            ok_seen = rc == TROVE_OK;
            trove__tset_free(&s);
            CHECK(ta.live == 0);
        }
        CHECK(ok_seen);
        /* the whole conversion with the failing allocator: NOMEM or done, no leak, and no
         * output file unless it succeeded */
        const char *in = test_path(k == 0 ? "o.safetensors" : k == 1 ? "o.npy" : "o.npz");
        const char *out = test_path("o.trove");
        trove_error err;
        CHECK_OK(test_write_file(in, imgs[k], lens[k]));
        CHECK(test_convert_oom_torture(in, out, 200));
        free(imgs[k]);
    }
}

TEST_MAIN(T(safetensors_roundtrip), T(safetensors_hostile), T(npy_fortran_bigendian),
          T(npy_hostile), T(npz_stored_and_crc), T(oom_torture))
