/* manifest.c: parse a version's layout, and compute the model digest from tensor digests
 * (the same bytes as trove_file_digest hashes, without re-reading the tensors). */
#include <stdlib.h>
#include <string.h>

#include "format/value.h"
#include "registry/manifest.h"

#define MAGIC "TRVMAN01"
#define MFAIL(...) trove__fail(err, TROVE_E_CORRUPT, TROVE_NO_OFFSET, __VA_ARGS__)

void trove__manifest_free(const trove_allocator *a, trove__manifest *m)
{
    if (m) {
        trove__free(a, m->segs);
        m->segs = NULL;
    }
}

int trove__manifest_parse(const trove_allocator *a, const uint8_t *p, size_t n,
                          trove__manifest *m, trove_error *err)
{
    memset(m, 0, sizeof *m);
    if (n < 48 || memcmp(p, MAGIC, 8) != 0)
        return MFAIL("version layout: bad magic or too short (%zu bytes)", n);
    m->file_bytes = trove__load_le64(p + 8);
    m->frame_bytes = trove__load_le64(p + 16);
    m->chunk = trove__load_le32(p + 24);
    uint32_t nframe = trove__load_le32(p + 28), nseg = trove__load_le32(p + 32);
    if (m->chunk != TROVE__CHUNK_BYTES)
        return MFAIL("version layout: chunk size %u is not %llu", m->chunk,
                     (unsigned long long)TROVE__CHUNK_BYTES);
    if (nseg > TROVE_LIMIT_TENSORS)
        return MFAIL("version layout: %u tensors exceed the limit", nseg);
    if (nframe != trove__nchunks(m->frame_bytes, m->chunk))
        return MFAIL("version layout: %u framing chunks for %llu bytes", nframe,
                     (unsigned long long)m->frame_bytes);
    size_t pos = 40;
    if ((n - pos) / 32 < nframe)
        return MFAIL("version layout: framing ids past the end");
    m->frame_ids = p + pos;
    m->nframe = nframe;
    pos += (size_t)nframe * 32;
    m->segs = trove__calloc(a, nseg ? nseg : 1, sizeof *m->segs);
    if (!m->segs)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    m->nseg = nseg;
    uint64_t total = 0, gaps = 0;
    for (uint32_t i = 0; i < nseg; i++) {
        trove__mseg *s = &m->segs[i];
        if (n - pos < 24)
            goto trunc;
        s->gap = trove__load_le64(p + pos);
        s->stored = trove__load_le64(p + pos + 8);
        s->flags = trove__load_le32(p + pos + 16);
        pos += 24;
        s->nchunks = trove__nchunks(s->stored, m->chunk);
        if ((n - pos) / 32 < s->nchunks)
            goto trunc;
        s->ids = p + pos;
        pos += s->nchunks * 32;
        if (!trove__add_ok(total, s->gap, &total) || !trove__add_ok(total, s->stored, &total) ||
            !trove__add_ok(gaps, s->gap, &gaps))
            goto overflow;
    }
    if (n - pos != 8) {
        trove__manifest_free(a, m);
        return MFAIL("version layout: %zu bytes where the tail gap should end it", n - pos);
    }
    m->tail_gap = trove__load_le64(p + pos);
    if (!trove__add_ok(total, m->tail_gap, &total) || !trove__add_ok(gaps, m->tail_gap, &gaps))
        goto overflow;
    if (total != m->file_bytes || gaps != m->frame_bytes) {
        trove__manifest_free(a, m);
        return MFAIL("version layout: pieces add up to %llu bytes (%llu framing), the row says "
                     "%llu (%llu)", (unsigned long long)total, (unsigned long long)gaps,
                     (unsigned long long)m->file_bytes, (unsigned long long)m->frame_bytes);
    }
    return TROVE_OK;
trunc:
    trove__manifest_free(a, m);
    return MFAIL("version layout: truncated");
overflow:
    trove__manifest_free(a, m);
    return MFAIL("version layout: sizes overflow");
}

/* ---- model digest --------------------------------------------------------------------------- */
typedef struct name_ref {
    const char *name;
    size_t len;
    size_t index;
} name_ref;

static int name_ref_cmp(const void *a, const void *b)
{
    const name_ref *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->name, y->name, n);
    if (c)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

/* Same entry as digest.c builds: {name, dtype, shape, blake2b}. */
static trove_value *entry_of(const trove_allocator *a, const trove_tensor_info *ti,
                             const uint8_t *dig)
{
    trove_value *m = trove_value_map(a), *shape = trove_value_array(a);
    if (!m || !shape)
        goto fail;
    for (uint32_t k = 0; k < ti->rank; k++)
        if (trove_value_array_take(shape, trove_value_uint(a, ti->shape[k])) != TROVE_OK)
            goto fail;
    int rc = trove_value_map_set(m, "shape", shape);
    shape = NULL;
    rc |= trove_value_map_set(m, "name", trove_value_string(a, ti->name, ti->name_len));
    rc |= trove_value_map_set(m, "dtype", trove_value_cstring(a, trove_dtype_name(ti->dtype)));
    rc |= trove_value_map_set(m, "blake2b", trove_value_bytes(a, dig, 32));
    if (rc == TROVE_OK)
        return m;
fail:
    trove_value_free(shape);
    trove_value_free(m);
    return NULL;
}

int trove__model_digest_from_tensors(const trove_allocator *a, const trove_file *f,
                                     const uint8_t *digs, uint8_t out[32], trove_error *err)
{
    size_t n = trove_file_tensor_count(f);
    name_ref *refs = trove__malloc(a, (n ? n : 1) * sizeof *refs);
    trove_value *top = trove_value_map(a), *arr = trove_value_array(a);
    uint8_t *enc = NULL;
    size_t enclen = 0;
    int rc = TROVE_E_NOMEM;
    if (!refs || !top || !arr)
        goto out;
    for (size_t i = 0; i < n; i++) {
        trove_tensor_info ti;
        if (trove_file_tensor_info(f, i, &ti) != TROVE_OK)
            goto out;
        refs[i] = (name_ref){ti.name, ti.name_len, i};
    }
    qsort(refs, n, sizeof *refs, name_ref_cmp);
    for (size_t k = 0; k < n; k++) {
        trove_tensor_info ti;
        if (trove_file_tensor_info(f, refs[k].index, &ti) != TROVE_OK ||
            trove_value_array_take(arr, entry_of(a, &ti, digs + 32 * refs[k].index)) != TROVE_OK)
            goto out;
    }
    trove_value *meta = trove__reg_clone(a, trove_file_metadata(f));
    if (!meta || trove_value_map_set(top, "meta", meta) != TROVE_OK)
        goto out;
    rc = trove_value_map_set(top, "tensors", arr);
    arr = NULL;
    if (rc || trove_value_encode(top, a, &enc, &enclen, err) != TROVE_OK) {
        rc = TROVE_E_NOMEM;
        goto out;
    }
    static const char prefix[] = "trove-model-v1";
    trove__blake2b_256(enc, enclen, prefix, sizeof prefix - 1, out);
    rc = TROVE_OK;
out:
    if (rc)
        rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory computing the digest");
    trove_free(a, enc);
    trove_value_free(arr);
    trove_value_free(top);
    trove__free(a, refs);
    return rc;
}

/* ---- value helpers ------------------------------------------------------------------------ */
const trove_allocator *trove__reg_value_alloc(const trove_value *v)
{
    return v ? v->alloc : NULL;
}

trove_value *trove__reg_clone(const trove_allocator *a, const trove_value *v)
{
    switch (trove_value_type_of(v)) {
    case TROVE_VALUE_NULL: return trove_value_null(a);
    case TROVE_VALUE_BOOL: return trove_value_bool(a, v->as.b);
    case TROVE_VALUE_INT: return trove_value_int(a, v->as.i);
    case TROVE_VALUE_UINT: return trove_value_uint(a, v->as.u);
    case TROVE_VALUE_FLOAT: return trove_value_float(a, v->as.d);
    case TROVE_VALUE_STRING: return trove_value_string(a, v->as.s.p, v->as.s.len);
    case TROVE_VALUE_BYTES: return trove_value_bytes(a, v->as.s.p, v->as.s.len);
    case TROVE_VALUE_ARRAY: {
        trove_value *arr = trove_value_array(a);
        for (size_t i = 0; arr && i < v->as.a.n; i++)
            if (trove_value_array_take(arr, trove__reg_clone(a, v->as.a.items[i])) != TROVE_OK) {
                trove_value_free(arr);
                return NULL;
            }
        return arr;
    }
    case TROVE_VALUE_MAP: {
        trove_value *m = trove_value_map(a);
        for (size_t i = 0; m && i < v->as.m.n; i++) {
            const trove__map_entry *e = &v->as.m.e[i];
            if (trove_value_map_take(m, e->key, e->keylen, trove__reg_clone(a, e->value)) !=
                TROVE_OK) {
                trove_value_free(m);
                return NULL;
            }
        }
        return m;
    }
    }
    return NULL;
}
