/* digest.c: whole-file verification and the model digest (docs/FORMAT.md sections 6 and 7),
 * spread over threads: jobs are (tensor, chunk) pairs taken from an atomic counter. */
#include <sodium.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "format/cbor.h"
#include "format/layout.h"
#include "format/reader_internal.h"
#include "format/value.h"

#define PARALLEL_MIN_BYTES (UINT64_C(64) << 20) /* below this one thread is faster */
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* Linux 5.14; older kernels answer EINVAL, which is harmless */
#endif

/* Fault a range of a mapping in with one call instead of one page fault per 4 KiB page: about
 * 3x faster verification of a file that is mapped but not yet touched. Best effort. */
static void prefault(const trove_file *f, uint64_t off, uint64_t n)
{
    if (f->kind != SRC_MMAP || n < (UINT64_C(1) << 20))
        return;
    uintptr_t start = (uintptr_t)(f->base + off) & ~(uintptr_t)4095;
    uintptr_t end = (uintptr_t)(f->base + off + n);
    (void)madvise((void *)start, end - start, MADV_POPULATE_READ);
}

/* ---- verify ------------------------------------------------------------------------------- */
typedef struct vctx {
    const trove_file *f;
    uint8_t *scratch[TROVE__MAX_THREADS]; /* per-thread read buffers (pread mode) */
    size_t *first_job;       /* first job index of each tensor, plus a sentinel */
} vctx;

static size_t njobs_of(const tensor *t)
{
    return t->nchunks ? t->nchunks : 1;
}

#define VERIFY_PIECE ((size_t)4 << 20)

/* XXH3 of the file bytes [off, off + n): read with pread through the worker's buffer when the
 * file has a descriptor (memory speed, no page faults), else from the mapping. */
static int hash_range(const trove_file *f, uint64_t off, uint64_t n, uint8_t *scratch,
                      uint64_t *out)
{
    if (f->data_fd < 0 || !scratch) {
        prefault(f, off, n);
        *out = trove__xxh3(f->base + off, (size_t)n);
        return TROVE_OK;
    }
    XXH3_state_t st;
    XXH3_64bits_reset(&st);
    while (n > 0) {
        size_t step = n < VERIFY_PIECE ? (size_t)n : VERIFY_PIECE;
        if (trove__pread_all(f->data_fd, scratch, step, off, NULL, "tensor data") != TROVE_OK) {
            *out = trove__xxh3(f->base + off, step); /* unreadable: hash the mapping instead */
            return TROVE_E_IO;
        }
        XXH3_64bits_update(&st, scratch, step);
        off += step;
        n -= step;
    }
    *out = XXH3_64bits_digest(&st);
    return TROVE_OK;
}

static int verify_job(void *ctx, size_t job, unsigned slot, trove_error *err)
{
    vctx *v = ctx;
    uint8_t *scratch = v->scratch[slot];
    const trove_file *f = v->f;
    size_t lo = 0, hi = f->n; /* tensor whose job range holds `job` */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (v->first_job[mid] <= job)
            lo = mid;
        else
            hi = mid;
    }
    const tensor *t = &f->t[lo];
    size_t c = job - v->first_job[lo];
    if (c == 0) {
        uint64_t prev_end = lo ? f->t[lo - 1].offset + f->t[lo - 1].stored : TROVE__PREAMBLE_BYTES;
        for (uint64_t o = prev_end; o < t->offset; o++)
            if (f->base[o] != 0)
                return trove__fail(err, TROVE_E_CHECKSUM, o,
                                   "padding byte before tensor '%s' at offset %llu is not zero",
                                   t->name, (unsigned long long)o);
    }
    if (t->nchunks == 0)
        return TROVE_OK;
    uint64_t off = (uint64_t)c * t->chunk;
    uint64_t n = t->stored - off < t->chunk ? t->stored - off : t->chunk;
    uint64_t h;
    if (hash_range(f, t->offset + off, n, scratch, &h) != TROVE_OK)
        return trove__fail(err, TROVE_E_IO, t->offset + off,
                           "tensor '%s': cannot read chunk %zu of the file", t->name, c);
    if (h != trove__load_le64(t->xxh3 + 8 * c))
        return trove__fail(err, TROVE_E_CHECKSUM, t->offset + off,
                           "tensor '%s': checksum mismatch in chunk %zu (bytes %llu..%llu of the "
                           "file)", t->name, c, (unsigned long long)(t->offset + off),
                           (unsigned long long)(t->offset + off + n));
    return TROVE_OK;
}

int trove__verify_all(const trove_file *f, trove_error *err)
{
    if (f->n == 0)
        return TROVE_OK;
    size_t *first = trove__malloc(f->alloc, (f->n + 1) * sizeof *first);
    if (!first)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    size_t total = 0;
    for (size_t i = 0; i < f->n; i++) {
        first[i] = total;
        total += njobs_of(&f->t[i]);
    }
    first[f->n] = total;
    uint64_t data = f->header_offset - TROVE__PREAMBLE_BYTES;
    unsigned threads = data >= PARALLEL_MIN_BYTES ? 2 : 1;
    vctx v = {f, {NULL}, first};
    int rc = TROVE_OK;
    for (unsigned i = 0; f->data_fd >= 0 && i < threads; i++)
        if (!(v.scratch[i] = trove__malloc_aligned(f->alloc, VERIFY_PIECE, 4096)))
            rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET,
                             "out of memory for a %zu-byte read buffer", VERIFY_PIECE);
    if (rc == TROVE_OK)
        rc = trove__run_jobs(threads, total, verify_job, &v, err);
    for (unsigned i = 0; i < threads; i++)
        trove__free_aligned(f->alloc, v.scratch[i]);
    trove__free(f->alloc, first);
    return rc;
}

/* ---- digest ------------------------------------------------------------------------------- */
int trove__tensor_le_bytes(const trove_file *f, size_t i, const uint8_t **p, void **owned,
                           trove_error *err)
{
    const tensor *t = &f->t[i];
    *owned = NULL;
    if (!t->zstd) {
        *p = f->base + t->offset; /* stored bytes are the logical little-endian bytes */
        return TROVE_OK;
    }
    if (trove__host_is_le() || trove_dtype_size(t->dtype) == 1) {
        const void *d;
        int rc = trove_file_tensor_data(f, i, &d, err); /* cached, not swapped */
        *p = d;
        return rc;
    }
    uint8_t *buf = trove__malloc_aligned(f->alloc, (size_t)t->nbytes, 64);
    if (!buf)
        return trove__fail(err, TROVE_E_NOMEM, t->offset, "out of memory");
    int rc = trove__decompress(f, t, buf, err);
    if (rc) {
        trove__free_aligned(f->alloc, buf);
        return rc;
    }
    *p = buf;
    *owned = buf;
    return TROVE_OK;
}

typedef struct dctx {
    const trove_file *f;
    const uint8_t **data;    /* logical bytes per tensor (NULL when trusted from the file) */
    void **owned;            /* copies to free (big-endian hosts only) */
    uint8_t *leaves;         /* 32 bytes per leaf, all tensors */
    size_t *first_leaf;      /* per tensor, plus a sentinel */
} dctx;

static size_t nleaves_of(uint64_t nbytes)
{
    return (size_t)(nbytes / TROVE__LEAF_BYTES + (nbytes % TROVE__LEAF_BYTES != 0));
}

static int leaf_job(void *ctx, size_t job, unsigned slot, trove_error *err)
{
    (void)err;
    (void)slot;
    dctx *d = ctx;
    size_t lo = 0, hi = d->f->n;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (d->first_leaf[mid] <= job)
            lo = mid;
        else
            hi = mid;
    }
    /* Skip empty ranges: tensors with no leaves share their first index with the next one. */
    while (lo + 1 < d->f->n && d->first_leaf[lo + 1] <= job)
        lo++;
    const tensor *t = &d->f->t[lo];
    uint64_t off = (uint64_t)(job - d->first_leaf[lo]) * TROVE__LEAF_BYTES;
    uint64_t n = t->nbytes - off < TROVE__LEAF_BYTES ? t->nbytes - off : TROVE__LEAF_BYTES;
    trove__leaf_digest(d->data[lo] + off, (size_t)n, d->leaves + 32 * job);
    return TROVE_OK;
}

static int tensor_digests(const trove_file *f, unsigned flags, unsigned threads, uint8_t *out,
                          trove_error *err)
{
    if (sodium_init() < 0)
        return trove__fail(err, TROVE_E_UNSUPPORTED, TROVE_NO_OFFSET, "libsodium failed to start");
    dctx d = {f, NULL, NULL, NULL, NULL};
    int rc = TROVE_OK;
    d.data = trove__calloc(f->alloc, f->n ? f->n : 1, sizeof *d.data);
    d.owned = trove__calloc(f->alloc, f->n ? f->n : 1, sizeof *d.owned);
    d.first_leaf = trove__malloc(f->alloc, (f->n + 1) * sizeof *d.first_leaf);
    if (!d.data || !d.owned || !d.first_leaf) {
        rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
        goto out;
    }
    size_t total = 0;
    uint64_t bytes = 0;
    for (size_t i = 0; i < f->n; i++) {
        d.first_leaf[i] = total;
        if ((flags & TROVE_DIGEST_TRUST_STORED) && f->t[i].blake)
            continue;
        if ((rc = trove__tensor_le_bytes(f, i, &d.data[i], &d.owned[i], err)) != TROVE_OK)
            goto out;
        total += nleaves_of(f->t[i].nbytes);
        bytes += f->t[i].nbytes;
    }
    d.first_leaf[f->n] = total;
    d.leaves = trove__malloc(f->alloc, total ? total * 32 : 1);
    if (!d.leaves) {
        rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
        goto out;
    }
    if (!threads)
        threads = 2;
    rc = trove__run_jobs(bytes >= PARALLEL_MIN_BYTES / 4 ? threads : 1, total, leaf_job, &d, err);
    if (rc)
        goto out;
    for (size_t i = 0; i < f->n; i++) {
        if (!d.data[i] && f->t[i].blake)
            memcpy(out + 32 * i, f->t[i].blake, 32);
        else
            trove__tensor_digest_from_leaves(f->t[i].nbytes, d.leaves + 32 * d.first_leaf[i],
                                             d.first_leaf[i + 1] - d.first_leaf[i], out + 32 * i);
    }
out:
    for (size_t i = 0; d.owned && i < f->n; i++)
        trove__free_aligned(f->alloc, d.owned[i]);
    trove__free(f->alloc, d.owned);
    trove__free(f->alloc, d.data);
    trove__free(f->alloc, d.first_leaf);
    trove__free(f->alloc, d.leaves);
    return rc;
}

TROVE_API int trove_file_tensor_digest(const trove_file *f, size_t i,
                                       uint8_t out[TROVE_DIGEST_BYTES], trove_error *err)
{
    if (!f || !out || i >= f->n)
        return trove__fail(err, TROVE_E_NOT_FOUND, TROVE_NO_OFFSET, "no tensor %zu", i);
    const uint8_t *p;
    void *owned;
    int rc = trove__tensor_le_bytes(f, i, &p, &owned, err);
    if (rc)
        return rc;
    trove__tree_hasher *h = trove__tree_hasher_new(f->alloc);
    if (!h || trove__tree_hasher_update(h, p, (size_t)f->t[i].nbytes) != TROVE_OK)
        rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    else
        trove__tree_hasher_final(h, out);
    trove__tree_hasher_free(h);
    trove__free_aligned(f->alloc, owned);
    return rc;
}

static trove_value *digest_entry(const trove_allocator *a, const tensor *t, const uint8_t *dig)
{
    trove_value *m = trove_value_map(a), *shape = trove_value_array(a);
    if (!m || !shape)
        goto fail;
    for (uint32_t k = 0; k < t->rank; k++)
        if (trove_value_array_take(shape, trove_value_uint(a, t->shape[k])) != TROVE_OK)
            goto fail;
    const char *dn = trove_dtype_name(t->dtype);
    int rc = trove_value_map_set(m, "shape", shape);
    shape = NULL;
    rc |= trove_value_map_set(m, "name", trove_value_string(a, t->name, t->name_len));
    rc |= trove_value_map_set(m, "dtype", trove_value_cstring(a, dn));
    rc |= trove_value_map_set(m, "blake2b", trove_value_bytes(a, dig, 32));
    if (rc == TROVE_OK)
        return m;
fail:
    trove_value_free(shape);
    trove_value_free(m);
    return NULL;
}

TROVE_API int trove_file_digest(const trove_file *f, unsigned flags, unsigned threads,
                                uint8_t out[TROVE_DIGEST_BYTES], trove_error *err)
{
    if (!f || !out)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_file_digest: NULL");
    const trove_allocator *a = f->alloc;
    uint8_t *digs = trove__malloc(a, f->n ? f->n * 32 : 1);
    if (!digs)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    int rc = tensor_digests(f, flags, threads, digs, err);
    trove_value *top = NULL, *arr = NULL;
    uint8_t *enc = NULL;
    size_t enclen = 0;
    if (rc)
        goto out;
    rc = TROVE_E_NOMEM;
    top = trove_value_map(a);
    arr = trove_value_array(a);
    if (!top || !arr)
        goto out_nomem;
    for (size_t k = 0; k < f->n; k++) { /* by name: the digest ignores file order */
        uint32_t i = f->by_name[k];
        if (trove_value_array_take(arr, digest_entry(a, &f->t[i], digs + 32 * i)) != TROVE_OK)
            goto out_nomem;
    }
    trove_value *meta = trove_value_clone(f->meta);
    if (!meta || trove_value_map_set(top, "meta", meta) != TROVE_OK)
        goto out_nomem;
    rc = trove_value_map_set(top, "tensors", arr);
    arr = NULL;
    if (rc || trove__cbor_encode(top, a, &enc, &enclen) != TROVE_OK)
        goto out_nomem;
    static const char prefix[] = "trove-model-v1";
    trove__blake2b_256(enc, enclen, prefix, sizeof prefix - 1, out);
    rc = TROVE_OK;
    goto out;
out_nomem:
    rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory computing the digest");
out:
    trove__free(a, enc);
    trove_value_free(arr);
    trove_value_free(top);
    trove__free(a, digs);
    return rc;
}
