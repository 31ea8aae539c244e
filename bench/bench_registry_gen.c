/* bench_registry_gen.c: writes synthetic models for the registry benchmark and CLI tests:
 *   bench_registry_gen OUT NTENSORS ELEMS VERSION CHANGED [zstd]
 * NTENSORS float32 tensors "layer.NNN" of ELEMS elements. Version v (1, 2, ...) differs from
 * version v-1 in CHANGED tensors (chosen round-robin), so versions share the rest byte for byte.
 * Metadata carries metrics {"loss": 1/v} and {"step": v}. "zstd" compresses tensor 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trove.h"

/* How many times tensor i has changed by version v (changes: tensors (v-2)*c .. (v-2)*c+c-1
 * mod n at version v >= 2). */
static unsigned generation(unsigned i, unsigned v, unsigned n, unsigned c)
{
    unsigned g = 0;
    for (unsigned k = 2; k <= v; k++)
        for (unsigned j = 0; j < c; j++)
            if (((k - 2) * c + j) % n == i)
                g++;
    return g;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: %s OUT NTENSORS ELEMS VERSION CHANGED [zstd]\n", argv[0]);
        return 2;
    }
    unsigned n = (unsigned)strtoul(argv[2], NULL, 10);
    unsigned long long elems = strtoull(argv[3], NULL, 10);
    unsigned v = (unsigned)strtoul(argv[4], NULL, 10), c = (unsigned)strtoul(argv[5], NULL, 10);
    int zstd = argc > 6 && !strcmp(argv[6], "zstd");
    float *buf = malloc(elems * sizeof *buf + 1);
    if (!buf)
        return 1;
    trove_error err = {0};
    trove_writer *w = NULL;
    trove_write_options wo = TROVE_WRITE_OPTIONS_INIT;
    wo.flags = TROVE_WRITE_NO_SYNC;
    if (trove_writer_open(&w, argv[1], &wo, &err) != TROVE_OK)
        goto fail;
    trove_value *meta = trove_value_map(NULL), *metrics = trove_value_map(NULL);
    int rc = trove_value_map_set(metrics, "loss", trove_value_float(NULL, 1.0 / (v ? v : 1)));
    rc |= trove_value_map_set(meta, "metrics", metrics);
    rc |= trove_value_map_set(meta, "kind", trove_value_cstring(NULL, "tensors"));
    trove_value *params = trove_value_map(NULL);
    rc |= trove_value_map_set(params, "step", trove_value_int(NULL, (int64_t)v));
    rc |= trove_value_map_set(meta, "params", params);
    if (rc || trove_writer_set_metadata(w, meta, &err) != TROVE_OK)
        goto fail;
    for (unsigned i = 0; i < n; i++) {
        unsigned g = generation(i, v, n, c);
        unsigned long long s = (unsigned long long)i * 1000003ULL + g * 7919ULL + 1;
        for (unsigned long long k = 0; k < elems; k++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            buf[k] = (float)((double)(s >> 40) / (double)(1ULL << 24)) - 0.5f;
        }
        char name[32];
        snprintf(name, sizeof name, "layer.%03u", i);
        uint64_t shape[1] = {elems};
        unsigned fl = (zstd && i == 0) ? TROVE_TENSOR_ZSTD : 0;
        trove_tensor_spec sp = {name, TROVE_FLOAT32, 1, shape, fl, 0};
        if (trove_writer_add(w, &sp, buf, &err) != TROVE_OK)
            goto fail;
    }
    if (trove_writer_commit(w, &err) != TROVE_OK)
        goto fail;
    trove_writer_free(w);
    free(buf);
    return 0;
fail:
    fprintf(stderr, "bench_registry_gen: %s\n", err.message);
    trove_writer_free(w);
    free(buf);
    return 1;
}
