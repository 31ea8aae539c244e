/* tensors_io.c: `trove convert` for plain tensors: safetensors/npy/npz -> trove (tensor bytes
 * streamed from the mapped input), and trove -> safetensors/npz/npy (export). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "codecs/convert_out.h"
#include "codecs/tensors.h"

#define TROVE_MAGIC "\xffTRV\r\n\x1a\n"

static bool ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcmp(s + n - m, suf);
}

/* ---- import ------------------------------------------------------------------------------- */

typedef struct tin_stream {
    const trove__tin *t;
    uint64_t pos;
} tin_stream;

static long long tin_stream_read(void *ctx, void *buf, size_t cap)
{
    tin_stream *s = ctx;
    if (cap < trove_dtype_size(s->t->dtype))
        return TROVE_E_INVALID;
    return (long long)trove__tin_read(s->t, &s->pos, buf, cap);
}

static int set_str(const trove_allocator *a, trove_value *m, const char *k, const char *v)
{
    trove_value *s = trove_value_cstring(a, v);
    return s ? trove_value_map_set(m, k, s) : TROVE_E_NOMEM;
}

static trove_value *import_meta(const trove__tset *s, const char *file, const char *hex,
                                uint64_t size)
{
    trove_value *meta = trove_value_map(s->alloc), *lin = trove_value_map(s->alloc),
                *src = trove_value_map(s->alloc);
    int rc = !meta || !lin || !src;
    if (!rc && trove__utf8_valid(file, strlen(file)))
        rc = set_str(s->alloc, src, "file", file);
    if (!rc)
        rc = set_str(s->alloc, src, "sha256", hex);
    if (!rc)
        rc = set_str(s->alloc, src, "format", s->format);
    if (!rc)
        rc = trove_value_map_set(src, "bytes", trove_value_uint(s->alloc, size));
    if (!rc) {
        rc = trove_value_map_set(lin, "source", src);
        src = NULL;
    }
    if (!rc)
        rc = set_str(s->alloc, lin, "converter", "trove convert (plain-tensor importer)");
    if (!rc) {
        rc = trove_value_map_set(meta, "lineage", lin);
        lin = NULL;
    }
    if (!rc && s->user) {
        trove_value *x = trove_value_clone(s->user);
        rc = x ? trove_value_map_set(meta, "user", x) : TROVE_E_NOMEM;
    }
    if (!rc && s->extra) {
        trove_value *x = trove_value_clone(s->extra);
        rc = x ? trove_value_map_set(meta, "x-safetensors-metadata", x) : TROVE_E_NOMEM;
    }
    trove_value_free(src);
    trove_value_free(lin);
    if (rc) {
        trove_value_free(meta);
        return NULL;
    }
    return meta;
}

/* trove__out_check_fn: every checksum holds and the n tensors are all there. */
static int check_written(const trove_file *f, void *ctx, trove_error *err)
{
    size_t n = *(const size_t *)ctx;
    trove_error e2;
    int rc = trove_file_verify(f, &e2);
    if (!rc && trove_file_tensor_count(f) != n) {
        rc = TROVE_E_CORRUPT;
        snprintf(e2.message, sizeof e2.message, "%zu tensors instead of %zu",
                 trove_file_tensor_count(f), n);
    }
    if (rc)
        return trove__fail(err, rc, TROVE_NO_OFFSET, "the converted file does not verify: %s",
                           e2.message);
    return TROVE_OK;
}

/* What an import writes: the parsed tensors and the lineage of the input. */
typedef struct import_src {
    const trove__tset *s;
    const char *file, *hex;
    uint64_t size;
} import_src;

/* trove_fill_fn: metadata and tensors (from the input's mapping, or streamed when they need
 * swapping or transposing); may run twice (an encrypted output's check, then its file). */
static int fill_import(trove_writer *w, void *ctx, trove_error *err)
{
    const import_src *in = ctx;
    trove_value *meta = import_meta(in->s, in->file, in->hex, in->size);
    if (!meta)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    int rc = trove_writer_set_metadata(w, meta, err);
    for (size_t i = 0; i < in->s->n && !rc; i++) {
        const trove__tin *t = &in->s->t[i];
        trove_tensor_spec spec = {t->name, t->dtype, t->rank, t->shape, 0, 0};
        if (!t->swap && !t->fortran && !t->strided) {
            rc = trove_writer_add(w, &spec, t->data, err); /* straight from the mapping */
        } else {
            tin_stream st = {t, 0};
            rc = trove_writer_add_stream(w, &spec, tin_stream_read, &st, err);
        }
    }
    return rc;
}

static int import_file(int kind, const uint8_t *buf, size_t len, const char *in_path, const char *out_path,
                       const trove_convert_options *o, trove_convert_report *report,
                       trove_error *err)
{
    trove__tset s;
    uint64_t max_bytes = o->max_bytes ? o->max_bytes : (UINT64_C(2) << 30);
    int rc = trove__tensors_parse(o->alloc, buf, len, kind, o->tensor_name, max_bytes, &s, err);
    if (report)
        snprintf(report->format, sizeof report->format, "%s", s.format ? s.format : "?");
    if (rc)
        goto done;
    unsigned char digest[crypto_hash_sha256_BYTES];
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    if (sodium_init() < 0) {
        rc = trove__fail(err, TROVE_E_UNSUPPORTED, TROVE_NO_OFFSET, "libsodium failed to start");
        goto done;
    }
    crypto_hash_sha256(digest, buf, len);
    trove__hex(digest, sizeof digest, hex);
    const char *base = strrchr(in_path, '/');
    base = o->source_name ? o->source_name : base ? base + 1 : in_path;
    import_src in = {&s, base, hex, len};
    size_t n = s.n;
    uint64_t bytes = 0;
    for (size_t i = 0; i < s.n && bytes < UINT64_MAX / 2; i++)
        bytes += s.t[i].nbytes < UINT64_MAX / 4 ? s.t[i].nbytes + 64 : UINT64_MAX / 4;
    rc = trove__convert_write(out_path, o, fill_import, &in, bytes,
                              (o->flags & TROVE_CONVERT_NO_VALIDATE) ? NULL : check_written, &n,
                              err);
    if (!rc && report) {
        snprintf(report->estimator, sizeof report->estimator, "%zu tensor%s", s.n,
                 s.n == 1 ? "" : "s");
        report->n_written = 1;
    }
    if (!rc && o->on_written)
        o->on_written(o->ctx, out_path, report ? report->estimator : "tensors");
done:
    trove__tset_free(&s);
    return rc;
}

/* ---- export ------------------------------------------------------------------------------- */

static const char *st_name(trove_dtype d)
{
    switch (d) {
    case TROVE_BOOL: return "BOOL";
    case TROVE_INT8: return "I8";
    case TROVE_INT16: return "I16";
    case TROVE_INT32: return "I32";
    case TROVE_INT64: return "I64";
    case TROVE_UINT8: return "U8";
    case TROVE_UINT16: return "U16";
    case TROVE_UINT32: return "U32";
    case TROVE_UINT64: return "U64";
    case TROVE_FLOAT16: return "F16";
    case TROVE_BFLOAT16: return "BF16";
    case TROVE_FLOAT32: return "F32";
    case TROVE_FLOAT64: return "F64";
    default: return NULL;
    }
}

static const char *npy_descr(trove_dtype d)
{
    switch (d) {
    case TROVE_BOOL: return "|b1";
    case TROVE_INT8: return "|i1";
    case TROVE_INT16: return "<i2";
    case TROVE_INT32: return "<i4";
    case TROVE_INT64: return "<i8";
    case TROVE_UINT8: return "|u1";
    case TROVE_UINT16: return "<u2";
    case TROVE_UINT32: return "<u4";
    case TROVE_UINT64: return "<u8";
    case TROVE_FLOAT16: return "<f2";
    case TROVE_FLOAT32: return "<f4";
    case TROVE_FLOAT64: return "<f8";
    default: return NULL;
    }
}

/* Write tensor bytes little-endian (swapped in chunks on a big-endian host); *crc updated when
 * crc is not NULL. */
static int write_le(int fd, const void *p, uint64_t n, size_t es, uLong *crc, trove_error *err)
{
    const uint8_t *b = p;
    uint8_t tmp[65536];
    while (n) {
        size_t k = n > sizeof tmp ? sizeof tmp : (size_t)n;
        const uint8_t *src = b;
        if (!trove__host_is_le() && es > 1) {
            memcpy(tmp, b, k);
            trove__byteswap(tmp, k, es);
            src = tmp;
        }
        if (crc)
            *crc = crc32(*crc, src, (uInt)k);
        int rc = trove__write_all(fd, src, k, err, "output file");
        if (rc)
            return rc;
        b += k;
        n -= k;
    }
    return TROVE_OK;
}

static int export_safetensors(const trove_file *f, int fd, trove_error *err)
{
    json_t *root = json_object();
    int rc = TROVE_OK;
    char *text = NULL;
    if (!root)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    size_t n = trove_file_tensor_count(f);
    uint64_t off = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        trove_tensor_info ti;
        if ((rc = trove_file_tensor_info(f, i, &ti)))
            break;
        json_t *e = json_object(), *shp = json_array(), *offs = json_array();
        int bad = !e || !shp || !offs;
        for (uint32_t d = 0; !bad && d < ti.rank; d++)
            bad = json_array_append_new(shp, json_integer((json_int_t)ti.shape[d]));
        bad = bad || json_array_append_new(offs, json_integer((json_int_t)off)) ||
              json_array_append_new(offs, json_integer((json_int_t)(off + ti.nbytes)));
        bad = bad || json_object_set_new(e, "dtype", json_string(st_name(ti.dtype)));
        bad = bad || json_object_set(e, "shape", shp) || json_object_set(e, "data_offsets", offs);
        bad = bad || json_object_set(root, ti.name, e);
        json_decref(e);
        json_decref(shp);
        json_decref(offs);
        if (bad)
            rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
        off += ti.nbytes;
    }
    const trove_value *sm = trove_value_get(trove_file_metadata(f), "x-safetensors-metadata");
    if (!rc && trove_value_type_of(sm) == TROVE_VALUE_MAP) {
        json_t *m = json_object();
        for (size_t i = 0; m && i < trove_value_count(sm); i++) {
            const char *k, *v;
            size_t vl;
            const trove_value *item;
            if (trove_value_map_entry(sm, i, &k, NULL, &item) == TROVE_OK &&
                trove_value_get_string(item, &v, &vl) == TROVE_OK)
                json_object_set_new(m, k, json_stringn(v, vl));
        }
        if (!m || json_object_set_new(root, "__metadata__", m))
            rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    }
    if (!rc && !(text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS)))
        rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    if (!rc) {
        size_t tl = strlen(text), hl = (tl + 7) & ~(size_t)7; /* pad with spaces to 8 */
        uint8_t pre[8];
        trove__store_le64(pre, hl);
        rc = trove__write_all(fd, pre, 8, err, "output file");
        if (!rc)
            rc = trove__write_all(fd, text, tl, err, "output file");
        if (!rc && hl > tl)
            rc = trove__write_all(fd, "       ", hl - tl, err, "output file");
    }
    for (size_t i = 0; i < n && !rc; i++) {
        trove_tensor_info ti;
        const void *p;
        if (!(rc = trove_file_tensor_info(f, i, &ti)) &&
            !(rc = trove_file_tensor_data(f, i, &p, err)))
            rc = write_le(fd, p, ti.nbytes, trove_dtype_size(ti.dtype), NULL, err);
    }
    free(text);
    json_decref(root);
    return rc;
}

/* The .npy header for tensor ti (v1, padded so the data starts 64-aligned); length in *hl. */
static int npy_header(const trove_tensor_info *ti, char *h, size_t cap, size_t *hl,
                      trove_error *err)
{
    const char *d = npy_descr(ti->dtype);
    if (!d)
        return trove__fail(err, TROVE_E_UNSUPPORTED, TROVE_NO_OFFSET, "tensor '%.200s' is %s, "
                           "which numpy has no dtype for (export it to .safetensors)", ti->name,
                           trove_dtype_name(ti->dtype));
    char shp[TROVE_MAX_RANK * 22 + 4];
    size_t k = 0;
    shp[k++] = '(';
    for (uint32_t i = 0; i < ti->rank; i++)
        k += (size_t)snprintf(shp + k, sizeof shp - k, "%llu%s",
                              (unsigned long long)ti->shape[i],
                              ti->rank == 1 ? "," : i + 1 < ti->rank ? ", " : "");
    shp[k++] = ')';
    shp[k] = 0;
    int n = snprintf(h + 10, cap - 10, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                     d, shp);
    size_t total = 10 + (size_t)n + 1;
    size_t padded = (total + 63) & ~(size_t)63;
    if (padded > cap)
        return trove__fail(err, TROVE_E_LIMIT, TROVE_NO_OFFSET, "npy header too long");
    memset(h + 10 + n, ' ', padded - total);
    h[padded - 1] = '\n';
    memcpy(h, "\x93NUMPY\x01\x00", 8);
    trove__store_le16((uint8_t *)h + 8, (uint16_t)(padded - 10));
    *hl = padded;
    return TROVE_OK;
}

static int export_npz(const trove_allocator *a, const trove_file *f, int fd, trove_error *err)
{
    size_t n = trove_file_tensor_count(f);
    uint8_t *cd = NULL;
    size_t cdlen = 0, cdcap = 0;
    uint64_t at = 0;
    int rc = TROVE_OK;
    if (n > 0xFFFF)
        return trove__fail(err, TROVE_E_LIMIT, TROVE_NO_OFFSET, "npz export: more than 65535 "
                           "tensors (zip64 is not written)");
    for (size_t i = 0; i < n && !rc; i++) {
        trove_tensor_info ti;
        const void *p;
        char h[512];
        size_t hl;
        if ((rc = trove_file_tensor_info(f, i, &ti)) || (rc = npy_header(&ti, h, sizeof h, &hl, err)) ||
            (rc = trove_file_tensor_data(f, i, &p, err)))
            break;
        size_t nl = ti.name_len + 4;
        uint64_t usize = hl + ti.nbytes;
        if (usize > 0xFFFFFFFEu || at > 0xFFFFFFFEu || nl > 0xFFFF) {
            rc = trove__fail(err, TROVE_E_LIMIT, TROVE_NO_OFFSET, "npz export: '%.200s' does "
                             "not fit a zip without zip64 (4 GiB)", ti.name);
            break;
        }
        /* CRC first (a second pass over the tensor: the local header precedes the data) */
        uLong crc = crc32(0L, Z_NULL, 0);
        crc = crc32(crc, (const Bytef *)h, (uInt)hl);
        {
            const uint8_t *b = p;
            uint8_t tmp[65536];
            size_t es = trove_dtype_size(ti.dtype);
            for (uint64_t o = 0; o < ti.nbytes;) {
                size_t k = ti.nbytes - o > sizeof tmp ? sizeof tmp : (size_t)(ti.nbytes - o);
                const uint8_t *src = b + o;
                if (!trove__host_is_le() && es > 1) {
                    memcpy(tmp, src, k);
                    trove__byteswap(tmp, k, es);
                    src = tmp;
                }
                crc = crc32(crc, src, (uInt)k);
                o += k;
            }
        }
        uint8_t lh[30];
        memset(lh, 0, sizeof lh);
        memcpy(lh, "PK\x03\x04", 4);
        trove__store_le16(lh + 4, 20);
        trove__store_le16(lh + 8, 0);                /* stored */
        trove__store_le16(lh + 12, 0x21);            /* 1980-01-01 */
        trove__store_le32(lh + 14, (uint32_t)crc);
        trove__store_le32(lh + 18, (uint32_t)usize);
        trove__store_le32(lh + 22, (uint32_t)usize);
        trove__store_le16(lh + 26, (uint16_t)nl);
        if (cdlen + 46 + nl > cdcap) {
            size_t nc = (cdcap + 46 + nl) * 2;
            uint8_t *c = trove__realloc(a, cd, nc);
            if (!c) {
                rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
                break;
            }
            cd = c;
            cdcap = nc;
        }
        uint8_t *c = cd + cdlen;
        memset(c, 0, 46);
        memcpy(c, "PK\x01\x02", 4);
        trove__store_le16(c + 4, 20);
        memcpy(c + 6, lh + 4, 26); /* version needed .. name length */
        trove__store_le32(c + 42, (uint32_t)at);
        memcpy(c + 46, ti.name, ti.name_len);
        memcpy(c + 46 + ti.name_len, ".npy", 4);
        cdlen += 46 + nl;
        if ((rc = trove__write_all(fd, lh, 30, err, "output file")) ||
            (rc = trove__write_all(fd, c + 46, nl, err, "output file")) ||
            (rc = trove__write_all(fd, h, hl, err, "output file")) ||
            (rc = write_le(fd, p, ti.nbytes, trove_dtype_size(ti.dtype), NULL, err)))
            break;
        at += 30 + nl + usize;
    }
    if (!rc && at > 0xFFFFFFFEu)
        rc = trove__fail(err, TROVE_E_LIMIT, TROVE_NO_OFFSET, "npz export: archive over 4 GiB "
                         "(zip64 is not written)");
    if (!rc) {
        uint8_t e[22];
        memset(e, 0, sizeof e);
        memcpy(e, "PK\x05\x06", 4);
        trove__store_le16(e + 8, (uint16_t)n);
        trove__store_le16(e + 10, (uint16_t)n);
        trove__store_le32(e + 12, (uint32_t)cdlen);
        trove__store_le32(e + 16, (uint32_t)at);
        if (!(rc = trove__write_all(fd, cd ? cd : e, cdlen, err, "output file")))
            rc = trove__write_all(fd, e, 22, err, "output file");
    }
    trove__free(a, cd);
    return rc;
}

static int export_npy(const trove_file *f, int fd, trove_error *err)
{
    if (trove_file_tensor_count(f) != 1)
        return trove__fail(err, TROVE_E_UNSUPPORTED, TROVE_NO_OFFSET, "a .npy holds one array; "
                           "the file has %zu tensors (export to .npz)",
                           trove_file_tensor_count(f));
    trove_tensor_info ti;
    const void *p;
    char h[512];
    size_t hl;
    int rc = trove_file_tensor_info(f, 0, &ti);
    if (!rc)
        rc = npy_header(&ti, h, sizeof h, &hl, err);
    if (!rc)
        rc = trove_file_tensor_data(f, 0, &p, err);
    if (!rc)
        rc = trove__write_all(fd, h, hl, err, "output file");
    if (!rc)
        rc = write_le(fd, p, ti.nbytes, trove_dtype_size(ti.dtype), NULL, err);
    return rc;
}

static int export_file(const char *in_path, const char *out_path, const trove_convert_options *o,
                       trove_convert_report *report, trove_error *err)
{
    trove_file *f = NULL;
    int rc = trove_open(&f, in_path, NULL, err);
    if (rc)
        return rc;
    const char *fmt = ends_with(out_path, ".safetensors") ? "safetensors"
                      : ends_with(out_path, ".npz") ? "npz" : "npy";
    if (report)
        snprintf(report->format, sizeof report->format, "trove -> %s", fmt);
    int fd = -1;
    char *tmp = NULL;
    if ((rc = trove__tmpfile_near(o->alloc, out_path, 0644, &fd, &tmp, err)))
        goto done;
    if (fmt[0] == 's')
        rc = export_safetensors(f, fd, err);
    else if (fmt[2] == 'z')
        rc = export_npz(o->alloc, f, fd, err);
    else
        rc = export_npy(f, fd, err);
    if (!rc) {
        bool sync = !(o->write && (o->write->flags & TROVE_WRITE_NO_SYNC));
        rc = trove__commit_tmpfile(fd, tmp, out_path, sync, err);
    }
    if (rc)
        unlink(tmp);
    close(fd);
    if (!rc && report) {
        snprintf(report->estimator, sizeof report->estimator, "%zu tensor%s",
                 trove_file_tensor_count(f), trove_file_tensor_count(f) == 1 ? "" : "s");
        report->n_written = 1;
    }
    if (!rc && o->on_written)
        o->on_written(o->ctx, out_path, report ? report->estimator : "tensors");
done:
    trove__free(o->alloc, tmp);
    trove_close(f);
    return rc;
}

int trove__tensors_convert(const char *in_path, const char *out_path,
                           const trove_convert_options *o, trove_convert_report *report,
                           trove_error *err)
{
    int fd = open(in_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 1; /* convert.c reports it */
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return 1;
    }
    uint8_t head[4096];
    size_t hn = (size_t)st.st_size < sizeof head ? (size_t)st.st_size : sizeof head;
    trove_error e2;
    if (trove__pread_all(fd, head, hn, 0, &e2, "input")) {
        close(fd);
        return 1;
    }
    bool is_trove = hn >= 8 && !memcmp(head, TROVE_MAGIC, 8);
    if (is_trove && (ends_with(out_path, ".safetensors") || ends_with(out_path, ".npz") ||
                     ends_with(out_path, ".npy"))) {
        close(fd);
        if (o->secret) {
            const char *fmt = strrchr(out_path, '.') + 1;
            if (report)
                snprintf(report->format, sizeof report->format, "trove -> %s", fmt);
            return trove__fail(err, TROVE_E_UNSUPPORTED, TROVE_NO_OFFSET,
                               "an export to %s cannot be encrypted: the encrypted envelope holds "
                               "trove files only (write a .trove output, or export without "
                               "encryption)", fmt);
        }
        return export_file(in_path, out_path, o, report, err);
    }
    int kind = trove__tensors_probe(head, hn);
    if (kind == TROVE__TF_NONE && !is_trove) /* by name when the content does not say */
        kind = ends_with(in_path, ".safetensors") ? TROVE__TF_SAFETENSORS
               : ends_with(in_path, ".npy")       ? TROVE__TF_NPY
               : ends_with(in_path, ".npz")       ? TROVE__TF_NPZ
                                                  : TROVE__TF_NONE;
    if (kind == TROVE__TF_NONE) {
        close(fd);
        return 1;
    }
    if ((uint64_t)st.st_size > SIZE_MAX) {
        close(fd);
        return trove__fail(err, TROVE_E_LIMIT, TROVE_NO_OFFSET, "'%s' is too large to map",
                           in_path);
    }
    size_t len = (size_t)st.st_size;
    if (!len) {
        close(fd);
        return import_file(kind, (const uint8_t *)"", 0, in_path, out_path, o, report, err);
    }
    void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return trove__fail_errno(err, TROVE_E_IO, errno, "cannot map '%s'", in_path);
    int rc = import_file(kind, map, len, in_path, out_path, o, report, err);
    munmap(map, len);
    return rc;
}
