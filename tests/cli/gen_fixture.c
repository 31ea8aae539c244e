/* gen_fixture.c: writes the deterministic trove file that tests/cli/test_cli.sh runs every
 * command against: one tensor per dtype with values chosen to be exact in every dtype, float16
 * edge cases, rank 0, an empty tensor, a 3-d tensor, a tensor large enough to be summarized, a
 * zstd-compressed one, a non-ASCII name and a metadata tree with every value type.
 *
 * usage: gen_fixture OUT [--variant] [--digests] [--no-zstd]
 *   --variant  change some metadata and tensors (what `trove diff` must find)
 *   --digests  store tensor digests (TROVE_WRITE_DIGESTS)
 *   --no-zstd  store the compressed tensor uncompressed (same model, same digest)
 * The values are also written out in test_cli.sh (python checks of `cat -o`): keep in step. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "trove.h"

static int set(trove_value *m, const char *k, trove_value *v, int *rc)
{
    if (*rc == 0)
        *rc = trove_value_map_set(m, k, v);
    else
        trove_value_free(v);
    return *rc;
}

static trove_value *metadata(int variant)
{
    int rc = 0;
    trove_value *m = trove_value_map(NULL);
    trove_value *producer = trove_value_map(NULL);
    trove_value *names = trove_value_array(NULL);
    trove_value *labels = trove_value_array(NULL);
    if (!m || !producer || !names || !labels)
        rc = TROVE_E_NOMEM;
    set(producer, "name", trove_value_cstring(NULL, "tests/cli/gen_fixture"), &rc);
    set(producer, "version", trove_value_cstring(NULL, variant ? "1.1" : "1.0"), &rc);
    static const char *feat[] = {"sepal_length", "sepal_width", "petal_length", "petal_width"};
    for (int i = 0; i < 4 && rc == 0; i++)
        rc = trove_value_array_take(
            names, trove_value_cstring(NULL, variant && i == 3 ? "petal_w" : feat[i]));
    for (int i = 0; i < 25 && rc == 0; i++)
        rc = trove_value_array_take(labels, trove_value_int(NULL, i * i));
    set(m, "producer", producer, &rc);
    set(m, "feature_names", names, &rc);
    set(m, "squares", labels, &rc);
    set(m, "description",
        trove_value_cstring(NULL, "CLI test fixture: every dtype \xe2\x80\x94 caf\xc3\xa9\n"
                                  "second line"),
        &rc);
    set(m, "license", trove_value_cstring(NULL, "CC0-1.0"), &rc);
    set(m, "negative", trove_value_int(NULL, -42), &rc);
    set(m, "huge", trove_value_uint(NULL, UINT64_MAX), &rc);
    set(m, "ratio", trove_value_float(NULL, variant ? 0.25 : 0.1), &rc);
    set(m, "enabled", trove_value_bool(NULL, 1), &rc);
    set(m, "nothing", trove_value_null(NULL), &rc);
    set(m, "blob", trove_value_bytes(NULL, "\x00\x01\xfe\xff", 4), &rc);
    set(m, "dotted.key", trove_value_cstring(NULL, variant ? "changed" : "kept apart"), &rc);
    /* an array of maps and an array of arrays (nested rendering) */
    trove_value *layers = trove_value_array(NULL), *matrix = trove_value_array(NULL);
    if (!layers || !matrix)
        rc = TROVE_E_NOMEM;
    for (int i = 0; i < 2 && rc == 0; i++) {
        trove_value *layer = trove_value_map(NULL), *row = trove_value_array(NULL);
        set(layer, "units", trove_value_int(NULL, i ? 1 + variant : 4), &rc);
        set(layer, "activation", trove_value_cstring(NULL, i ? "identity" : "relu"), &rc);
        if (rc == 0)
            rc = trove_value_array_take(layers, layer);
        else
            trove_value_free(layer);
        for (int j = 0; j < 2 && rc == 0; j++)
            rc = trove_value_array_take(row, trove_value_float(NULL, i * 2 + j + 0.5));
        if (rc == 0)
            rc = trove_value_array_take(matrix, row);
        else
            trove_value_free(row);
    }
    set(m, "layers", layers, &rc);
    set(m, "matrix", matrix, &rc);
    /* terminal escapes in a key and a value: printed escaped, never raw */
    set(m, "evil\tkey", trove_value_cstring(NULL, "\x1b]0;pwned\x07\xe2\x80\xae"), &rc);
    if (variant)
        set(m, "added_in_variant", trove_value_int(NULL, 7), &rc);
    else
        set(m, "removed_in_variant", trove_value_cstring(NULL, "bye"), &rc);
    if (rc) {
        trove_value_free(m);
        return NULL;
    }
    return m;
}

static uint16_t f2h(double d) /* exact conversions only: the values below are representable */
{
    if (isnan(d))
        return 0x7e00;
    if (isinf(d))
        return d > 0 ? 0x7c00 : 0xfc00;
    uint16_t sign = signbit(d) ? 0x8000 : 0;
    d = fabs(d);
    if (d == 0)
        return sign;
    int e;
    double m = frexp(d, &e); /* d = m * 2^e, m in [0.5, 1) */
    if (e - 1 < -14)         /* subnormal: multiple of 2^-24 */
        return (uint16_t)(sign | (uint16_t)ldexp(d, 24));
    return (uint16_t)(sign | (uint16_t)((e - 1 + 15) << 10) | (uint16_t)((m * 2 - 1) * 1024));
}

static uint16_t f2bf(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return (uint16_t)(b >> 16); /* values below are exact in bfloat16 */
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: gen_fixture OUT [--variant] [--digests] [--no-zstd]\n");
        return 2;
    }
    int variant = 0, zstd = 1;
    trove_write_options wo = TROVE_WRITE_OPTIONS_INIT;
    wo.flags = TROVE_WRITE_NO_SYNC;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--variant"))
            variant = 1;
        else if (!strcmp(argv[i], "--digests"))
            wo.flags |= TROVE_WRITE_DIGESTS;
        else if (!strcmp(argv[i], "--no-zstd"))
            zstd = 0;
        else {
            fprintf(stderr, "gen_fixture: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    trove_error err = {0};
    trove_writer *w = NULL;
    int rc = trove_writer_open(&w, argv[1], &wo, &err);
    if (rc == 0) {
        trove_value *m = metadata(variant);
        rc = m ? trove_writer_set_metadata(w, m, &err) : TROVE_E_NOMEM;
    }

    /* One tensor per dtype, shape [2, 3], values (i - 2) / 2 for floats: -1 .. 1.5 */
    uint64_t s23[2] = {2, 3};
    uint8_t b[6] = {1, 0, 1, 1, 0, 0};
    int8_t i8[6] = {-128, -1, 0, 1, 2, 127};
    int16_t i16[6] = {-32768, -1, 0, 1, 2, 32767};
    int32_t i32[6] = {INT32_MIN, -1, 0, 1, 2, INT32_MAX};
    int64_t i64[6] = {INT64_MIN, -1, 0, 1, 2, INT64_MAX};
    uint8_t u8[6] = {0, 1, 2, 3, 254, 255};
    uint16_t u16[6] = {0, 1, 2, 3, 65534, 65535};
    uint32_t u32[6] = {0, 1, 2, 3, 4294967294u, 4294967295u};
    uint64_t u64[6] = {0, 1, 2, 3, UINT64_MAX - 1, UINT64_MAX};
    uint16_t f16[6], bf16[6];
    float f32[6];
    double f64[6];
    for (int i = 0; i < 6; i++) {
        f64[i] = (i - 2) / 2.0;
        f32[i] = (float)f64[i];
        f16[i] = f2h(f64[i]);
        bf16[i] = f2bf(f32[i]);
    }
    if (variant) {
        f32[5] = 2.5f;   /* one element differs by 1 */
        i32[0] = 0;      /* INT32_MIN -> 0: an exact integer difference of 2^31 */
    }
    struct {
        const char *name;
        trove_dtype dtype;
        const void *data;
    } per_dtype[] = {
        {"dtype/bool", TROVE_BOOL, b},         {"dtype/int8", TROVE_INT8, i8},
        {"dtype/int16", TROVE_INT16, i16},     {"dtype/int32", TROVE_INT32, i32},
        {"dtype/int64", TROVE_INT64, i64},     {"dtype/uint8", TROVE_UINT8, u8},
        {"dtype/uint16", TROVE_UINT16, u16},   {"dtype/uint32", TROVE_UINT32, u32},
        {"dtype/uint64", TROVE_UINT64, u64},   {"dtype/float16", TROVE_FLOAT16, f16},
        {"dtype/bfloat16", TROVE_BFLOAT16, bf16}, {"dtype/float32", TROVE_FLOAT32, f32},
        {"dtype/float64", TROVE_FLOAT64, f64},
    };
    for (size_t i = 0; rc == 0 && i < sizeof per_dtype / sizeof per_dtype[0]; i++) {
        trove_tensor_spec s = {per_dtype[i].name, per_dtype[i].dtype, 2, s23, 0, 0};
        rc = trove_writer_add(w, &s, per_dtype[i].data, &err);
    }

    /* float16 edge cases: 0.1 (rounded), max, smallest subnormal, inf, nan, -0 */
    uint16_t edge[6] = {0x2e66, 0x7bff, 0x0001, 0x7c00, 0x7e00, 0x8000};
    uint64_t s6[1] = {6};
    trove_tensor_spec se = {"float16_edges", TROVE_FLOAT16, 1, s6, 0, 0};
    if (rc == 0)
        rc = trove_writer_add(w, &se, edge, &err);

    double scalar = variant ? 3.5 : 2.5;
    trove_tensor_spec s0 = {"scalar", TROVE_FLOAT64, 0, NULL, 0, 0};
    if (rc == 0)
        rc = trove_writer_add(w, &s0, &scalar, &err);

    uint64_t s04[2] = {0, 4};
    trove_tensor_spec sempty = {"empty", TROVE_INT32, 2, s04, 0, 0};
    if (rc == 0)
        rc = trove_writer_add(w, &sempty, NULL, &err);

    float cube[12];
    for (int i = 0; i < 12; i++)
        cube[i] = (float)i * 0.25f;
    uint64_t s223[3] = {2, 2, 3};
    if (variant)
        s223[0] = 3, s223[2] = 2; /* [3, 2, 2]: same elements, another shape */
    trove_tensor_spec scube = {"cube", TROVE_FLOAT32, 3, s223, 0, 0};
    if (rc == 0)
        rc = trove_writer_add(w, &scube, cube, &err);

    static int32_t big[40 * 30];
    for (int i = 0; i < 40 * 30; i++)
        big[i] = i;
    uint64_t s4030[2] = {40, 30};
    trove_tensor_spec sbig = {"big", TROVE_INT32, 2, s4030, 0, 0};
    if (rc == 0)
        rc = trove_writer_add(w, &sbig, big, &err);

    static double ramp[1000];
    for (int i = 0; i < 1000; i++)
        ramp[i] = i % 10;
    uint64_t s1000[1] = {1000};
    trove_tensor_spec sz = {"compressed", TROVE_FLOAT64, 1, s1000, zstd ? TROVE_TENSOR_ZSTD : 0, 0};
    if (rc == 0)
        rc = trove_writer_add(w, &sz, ramp, &err);

    float weights[3] = {1.5f, -2.0f, 0.125f};
    double weights64[3] = {1.5, -2.0, 0.125}; /* variant: same values as float64 */
    uint64_t s3[1] = {3};
    trove_tensor_spec su = {"poids/\xc3\xa9t\xc3\xa9", variant ? TROVE_FLOAT64 : TROVE_FLOAT32,
                            1, s3, 0, 0};
    if (rc == 0)
        rc = trove_writer_add(w, &su, variant ? (const void *)weights64 : weights, &err);

    trove_tensor_spec sevil = {"evil\x1b[2J\nname\xe2\x80\xae", TROVE_UINT8, 1, s3, 0, 0};
    if (rc == 0)
        rc = trove_writer_add(w, &sevil, u8, &err);
    if (variant) {
        trove_tensor_spec sv = {"only_in_variant", TROVE_UINT8, 1, s3, 0, 0};
        if (rc == 0)
            rc = trove_writer_add(w, &sv, u8, &err);
    } else {
        trove_tensor_spec sv = {"only_in_base", TROVE_UINT8, 1, s3, 0, 0};
        if (rc == 0)
            rc = trove_writer_add(w, &sv, u8, &err);
    }
    if (rc == 0)
        rc = trove_writer_commit(w, &err);
    trove_writer_free(w);
    if (rc) {
        fprintf(stderr, "gen_fixture: %s: %s\n", argv[1], err.message);
        return 1;
    }
    return 0;
}
