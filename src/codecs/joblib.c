/* joblib.c: joblib containers: zlib/gzip-compressed files, the pre-0.10 'ZF' format, and the
 * NumpyArrayWrapper blocks whose array bytes follow the wrapper inside the pickle stream.
 *
 * Layout (joblib/numpy_pickle.py): after the BUILD of a NumpyArrayWrapper, joblib >= 1.2 writes
 * one byte p then p padding bytes (so the data is aligned; only when the wrapper's state has
 * numpy_array_alignment_bytes), then the array's count * itemsize bytes in the wrapper's order
 * ('C' or 'F'); object arrays are a nested protocol-2 pickle instead. */
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "codecs/codecs_internal.h"

static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
    return trove__calloc(opaque, items, size);
}

static void z_free(voidpf opaque, voidpf p)
{
    trove__free(opaque, p);
}

/* Inflate src into a new buffer (caller owns, trove__free). windowBits: 15 zlib, 31 gzip.
 * expect: the size announced by the container, 0 when unknown. */
static int inflate_all(const trove_allocator *alloc, const uint8_t *src, size_t n, int window,
                       uint64_t expect, uint64_t max_bytes, uint8_t **out, size_t *out_len,
                       const char *what, trove_error *err)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    z.zalloc = z_alloc;
    z.zfree = z_free;
    z.opaque = (voidpf)alloc;
    if (inflateInit2(&z, window) != Z_OK)
        return trove__fail(err, TROVE_E_NOMEM, 0, "%s: zlib could not start", what);
    if (expect > max_bytes)
        expect = 0;
    size_t cap = expect ? (size_t)expect : (n < (1u << 20) ? (size_t)4 * n + 1024 : 2 * n);
    if (cap > max_bytes)
        cap = (size_t)max_bytes;
    uint8_t *buf = trove__malloc(alloc, cap ? cap : 1);
    int rc = TROVE_OK;
    if (!buf) {
        rc = trove__fail(err, TROVE_E_NOMEM, 0, "%s: out of memory", what);
        goto done;
    }
    z.next_in = (Bytef *)(uintptr_t)src;
    size_t in_left = n;
    size_t used = 0;
    for (;;) {
        if (used == cap) {
            if (cap >= max_bytes) {
                rc = trove__fail(err, TROVE_E_LIMIT, z.total_in,
                                 "%s: decompresses to more than %llu bytes (the importer's limit)",
                                 what, (unsigned long long)max_bytes);
                goto done;
            }
            size_t ncap = cap * 2 > max_bytes ? (size_t)max_bytes : cap * 2;
            uint8_t *nb = trove__realloc(alloc, buf, ncap);
            if (!nb) {
                rc = trove__fail(err, TROVE_E_NOMEM, 0, "%s: out of memory", what);
                goto done;
            }
            buf = nb;
            cap = ncap;
        }
        uInt chunk_in = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
        z.avail_in = chunk_in;
        size_t room = cap - used;
        z.avail_out = room > (1u << 30) ? (1u << 30) : (uInt)room;
        z.next_out = buf + used;
        uInt before_out = z.avail_out;
        int zr = inflate(&z, Z_NO_FLUSH);
        in_left -= chunk_in - z.avail_in;
        used += before_out - z.avail_out;
        if (zr == Z_STREAM_END)
            break;
        if (zr == Z_BUF_ERROR && in_left == 0 && z.avail_in == 0) {
            rc = trove__fail(err, TROVE_E_CORRUPT, z.total_in,
                             "%s: compressed stream is truncated", what);
            goto done;
        }
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            rc = trove__fail(err, zr == Z_MEM_ERROR ? TROVE_E_NOMEM : TROVE_E_CORRUPT, z.total_in,
                             "%s: corrupt compressed data near input byte %lu (%s)", what,
                             z.total_in, z.msg ? z.msg : "zlib error");
            goto done;
        }
    }
    if (expect && used != expect) {
        rc = trove__fail(err, TROVE_E_CORRUPT, 0, "%s: decompressed %zu bytes, header says %llu",
                         what, used, (unsigned long long)expect);
        goto done;
    }
    *out = buf;
    *out_len = used;
    buf = NULL;
done:
    inflateEnd(&z);
    trove__free(alloc, buf);
    return rc;
}

int trove__joblib_unwrap(const trove_allocator *alloc, const uint8_t *buf, size_t len,
                         uint64_t max_bytes, uint8_t **owned, const uint8_t **data,
                         size_t *dlen, const char **format, trove_error *err)
{
    *owned = NULL;
    *data = buf;
    *dlen = len;
    *format = "pickle";
    if (len >= 2 && buf[0] == 'Z' && buf[1] == 'F') {
        /* joblib < 0.10: 'ZF' + '0x<hex length>' padded with spaces to 19 chars + zlib */
        const size_t hdr = 2 + 19;
        if (len < hdr)
            return trove__fail(err, TROVE_E_CORRUPT, 0, "joblib ZF file shorter than its header");
        uint64_t n = 0;
        size_t i = 2;
        if (buf[i] == '0' && (buf[i + 1] == 'x' || buf[i + 1] == 'X'))
            i += 2;
        size_t digits = 0;
        for (; i < hdr && buf[i] != ' '; i++, digits++) {
            int h = (buf[i] >= '0' && buf[i] <= '9') ? buf[i] - '0'
                    : (buf[i] >= 'a' && buf[i] <= 'f') ? buf[i] - 'a' + 10
                    : (buf[i] >= 'A' && buf[i] <= 'F') ? buf[i] - 'A' + 10 : -1;
            if (h < 0 || digits >= 16)
                return trove__fail(err, TROVE_E_CORRUPT, i, "joblib ZF header: bad length");
            n = n << 4 | (uint64_t)h;
        }
        if (!digits)
            return trove__fail(err, TROVE_E_CORRUPT, 2, "joblib ZF header: no length");
        size_t start = hdr < len && buf[hdr] == ' ' ? hdr + 1 : hdr;
        if (n > max_bytes)
            return trove__fail(err, TROVE_E_LIMIT, 2, "joblib ZF file announces %llu bytes "
                               "(the importer's limit is %llu)", (unsigned long long)n,
                               (unsigned long long)max_bytes);
        *format = "joblib zfile (joblib < 0.10, zlib)";
        int rc = inflate_all(alloc, buf + start, len - start, 15, n, max_bytes, owned,
                             dlen, "joblib ZF file", err);
        if (rc == TROVE_OK)
            *data = *owned;
        return rc;
    }
    if (len >= 2 && buf[0] == 0x78 && ((buf[0] << 8) | buf[1]) % 31 == 0) {
        *format = "joblib (zlib-compressed)";
        int rc = inflate_all(alloc, buf, len, 15, 0, max_bytes, owned, dlen, "zlib stream", err);
        if (rc == TROVE_OK)
            *data = *owned;
        return rc;
    }
    if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b) {
        *format = "joblib (gzip-compressed)";
        int rc = inflate_all(alloc, buf, len, 31, 0, max_bytes, owned, dlen, "gzip stream", err);
        if (rc == TROVE_OK)
            *data = *owned;
        return rc;
    }
    static const struct { const char *magic; size_t n; const char *name; } other[] = {
        {"BZh", 3, "bz2"}, {"\xfd" "7zXZ", 5, "xz"}, {"\x5d\x00", 2, "lzma"},
        {"\x04\x22\x4d\x18", 4, "lz4"}};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        if (len >= other[i].n && !memcmp(buf, other[i].magic, other[i].n))
            return trove__fail(err, TROVE_E_UNSUPPORTED, 0,
                               "joblib file compressed with %s: not supported (joblib.dump with "
                               "compress=('zlib', N), 'gzip' or none can be read)", other[i].name);
    return TROVE_OK;
}

static bool is_joblib_mod(const char *m)
{
    return !strcmp(m, "joblib.numpy_pickle") || !strcmp(m, "sklearn.externals.joblib.numpy_pickle") ||
           !strcmp(m, "joblib.numpy_pickle_compat") ||
           !strcmp(m, "sklearn.externals.joblib.numpy_pickle_compat");
}

int trove__joblib_hook(void *ctx, pk_vm *vm, pk_obj **top, trove_error *err)
{
    (void)ctx;
    const pk_obj *cls = pk_class_of(*top);
    if (!cls || !is_joblib_mod(cls->u.g.module))
        return TROVE_OK;
    const char *name = cls->u.g.name;
    if (!strcmp(name, "NDArrayWrapper") || !strcmp(name, "ZNDArrayWrapper")) {
        const uint8_t *fp = NULL;
        size_t fn = 0;
        pk_text(pk_attr(*top, "filename"), &fp, &fn);
        return trove__fail(err, TROVE_E_UNSUPPORTED, (*top)->offset,
                           "joblib: array stored in a separate file '%.*s' (joblib < 0.10 "
                           "sidecar .npy/.z files): not supported; re-save with a current joblib",
                           (int)(fn > 80 ? 80 : fn), fp ? (const char *)fp : "?");
    }
    if (strcmp(name, "NumpyArrayWrapper"))
        return TROVE_OK;
    pk_obj *w = *top;
    pk_dtype dt;
    int rc = pk_dtype_of(pk_attr(w, "dtype"), &dt, err);
    if (rc)
        return rc;
    pk_obj *raw = pk_alloc(pk_vm_arena(vm), sizeof *raw);
    if (!raw)
        return trove__fail(err, TROVE_E_NOMEM, pk_vm_pos(vm), "joblib: out of memory");
    raw->kind = PK_RAWARRAY;
    raw->offset = pk_vm_pos(vm);
    raw->u.raw.wrapper = w;
    if (dt.kind == 'O') {
        rc = pk_vm_load_nested(vm, &raw->u.raw.nested, err);
        if (rc)
            return rc;
    } else {
        const uint8_t *p;
        if (!pk_is_none(pk_attr(w, "numpy_array_alignment_bytes"))) {
            if ((rc = pk_vm_read(vm, 1, &p, err, "joblib array padding length")))
                return rc;
            size_t pad = p[0];
            if (pad && (rc = pk_vm_read(vm, pad, &p, err, "joblib array padding")))
                return rc;
        }
        const pk_obj *shape = pk_attr(w, "shape");
        uint64_t count = 1, nbytes;
        if (!shape || shape->kind != PK_TUPLE || pk_len(shape) > TROVE_MAX_RANK)
            return trove__fail(err, TROVE_E_CORRUPT, w->offset,
                               "joblib: array wrapper without a shape tuple");
        for (size_t i = 0; i < pk_len(shape); i++) {
            int64_t d;
            if (!pk_as_int(pk_item(shape, i), &d) || d < 0 ||
                !trove__mul_ok(count, (uint64_t)d, &count))
                return trove__fail(err, TROVE_E_CORRUPT, w->offset,
                                   "joblib: array wrapper with a bad dimension");
        }
        if (!trove__mul_ok(count, dt.itemsize, &nbytes) || nbytes > SIZE_MAX)
            return trove__fail(err, TROVE_E_CORRUPT, w->offset, "joblib: array size overflows");
        if ((rc = pk_vm_read(vm, (size_t)nbytes, &p, err, "joblib array data")))
            return rc;
        raw->u.raw.data = p;
        raw->u.raw.n = (size_t)nbytes;
    }
    *top = raw;
    return TROVE_OK;
}
