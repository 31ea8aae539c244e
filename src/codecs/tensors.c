/* tensors.c: parse plain-tensor files (safetensors, numpy .npy and .npz) as hostile input into a
 * list of tensors that point into the file image (inflated npz members excepted). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "codecs/codecs_internal.h"
#include "codecs/tensors.h"

#define ST_MAX_HEADER (UINT64_C(100) << 20) /* as the safetensors reference implementation */

void trove__tset_free(trove__tset *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        trove__free(s->alloc, s->t[i].name);
    trove__free(s->alloc, s->t);
    for (size_t i = 0; i < s->n_owned; i++)
        trove__free(s->alloc, s->owned[i]);
    trove__free(s->alloc, s->owned);
    trove_value_free(s->extra);
    trove_value_free(s->user);
    memset(s, 0, sizeof *s);
}

int trove__tensors_probe(const uint8_t *buf, size_t len)
{
    if (len >= 6 && !memcmp(buf, "\x93NUMPY", 6))
        return TROVE__TF_NPY;
    /* a zip whose first member is a .npy (numpy.savez); any other zip: torch.save (torch.c
     * says what it is when it is not one) */
    if (len >= 30 && !memcmp(buf, "PK\x03\x04", 4)) {
        if (trove__keras_zip_probe(buf, len)) /* a Keras .keras archive: a model (keras_zip.c) */
            return TROVE__TF_NONE;
        size_t nl = trove__load_le16(buf + 26);
        if (nl >= 4 && 30 + nl <= len && !memcmp(buf + 30 + nl - 4, ".npy", 4))
            return TROVE__TF_NPZ;
        return TROVE__TF_TORCH;
    }
    if (trove__torch_legacy_probe(buf, len))
        return TROVE__TF_TORCH_LEGACY;
    /* 8-byte LE header length below 4 GiB, then a JSON object */
    if (len >= 10 && buf[8] == '{' && !buf[4] && !buf[5] && !buf[6] && !buf[7])
        return TROVE__TF_SAFETENSORS;
    return TROVE__TF_NONE;
}

static trove__tin *add_tensor(trove__tset *s, const char *name, size_t nlen, trove_error *err)
{
    if (s->n >= TROVE_LIMIT_TENSORS) {
        trove__fail(err, TROVE_E_LIMIT, TROVE_NO_OFFSET, "more than %u tensors",
                    TROVE_LIMIT_TENSORS);
        return NULL;
    }
    if (s->n == s->cap) {
        size_t nc = s->cap ? 2 * s->cap : 16;
        trove__tin *t = trove__realloc(s->alloc, s->t, nc * sizeof *t);
        if (!t) {
            trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
            return NULL;
        }
        s->t = t;
        s->cap = nc;
    }
    trove__tin *t = &s->t[s->n];
    memset(t, 0, sizeof *t);
    t->name = trove__strndup(s->alloc, name, nlen);
    if (!t->name) {
        trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
        return NULL;
    }
    s->n++;
    return t;
}

/* count * esize of a shape, checked. */
static bool shape_bytes(const uint64_t *shape, uint32_t rank, size_t esize, uint64_t *out)
{
    uint64_t n = esize;
    for (uint32_t i = 0; i < rank; i++)
        if (!trove__mul_ok(n, shape[i], &n))
            return false;
    *out = n;
    return true;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(((const trove__tin *)a)->name, ((const trove__tin *)b)->name);
}

/* ---- safetensors -------------------------------------------------------------------------- */

static trove_dtype st_dtype(const char *s, bool *known)
{
    static const struct { const char *n; trove_dtype d; } map[] = {
        {"F64", TROVE_FLOAT64}, {"F32", TROVE_FLOAT32}, {"F16", TROVE_FLOAT16},
        {"BF16", TROVE_BFLOAT16}, {"I64", TROVE_INT64}, {"I32", TROVE_INT32},
        {"I16", TROVE_INT16}, {"I8", TROVE_INT8}, {"U64", TROVE_UINT64},
        {"U32", TROVE_UINT32}, {"U16", TROVE_UINT16}, {"U8", TROVE_UINT8},
        {"BOOL", TROVE_BOOL}};
    static const char *const other[] = {"F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2",
                                        "F4", "C64", "C128"};
    *known = false;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(s, map[i].n)) {
            *known = true;
            return map[i].d;
        }
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        if (!strcmp(s, other[i]))
            *known = true;
    return TROVE_DTYPE_INVALID;
}

typedef struct st_range {
    uint64_t begin, end;
    size_t idx;
} st_range;

static int cmp_ranges(const void *a, const void *b)
{
    const st_range *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return 0;
}

static int st_parse(trove__tset *s, const uint8_t *buf, size_t len, trove_error *err)
{
    if (len < 8)
        return trove__fail(err, TROVE_E_CORRUPT, 0, "safetensors: %zu bytes, shorter than the "
                           "8-byte header length", len);
    uint64_t hlen = trove__load_le64(buf);
    if (hlen > ST_MAX_HEADER)
        return trove__fail(err, TROVE_E_LIMIT, 0, "safetensors: header of %llu bytes exceeds "
                           "the limit of %llu", (unsigned long long)hlen,
                           (unsigned long long)ST_MAX_HEADER);
    if (hlen > len - 8)
        return trove__fail(err, TROVE_E_CORRUPT, 0, "safetensors: header of %llu bytes runs "
                           "past the end of the %zu-byte file", (unsigned long long)hlen, len);
    if (hlen < 2 || buf[8] != '{')
        return trove__fail(err, TROVE_E_CORRUPT, 8, "safetensors: header is not a JSON object");
    uint64_t data_len = len - 8 - hlen;
    const uint8_t *data = buf + 8 + hlen;
    json_error_t je;
    json_t *root = json_loadb((const char *)buf + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return trove__fail(err, TROVE_E_CORRUPT, 8 + (uint64_t)(je.position > 0 ? je.position : 0),
                           "safetensors: header JSON: %s (line %d, column %d)", je.text, je.line,
                           je.column);
    int rc = TROVE_OK;
    st_range *ranges = NULL;
    if (!json_is_object(root)) {
        rc = trove__fail(err, TROVE_E_CORRUPT, 8, "safetensors: header is not a JSON object");
        goto done;
    }
    size_t nt = json_object_size(root);
    ranges = trove__calloc(s->alloc, nt ? nt : 1, sizeof *ranges);
    if (!ranges) {
        rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
        goto done;
    }
    size_t nr = 0;
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (!strcmp(key, "__metadata__")) {
            if (!json_is_object(val)) {
                rc = trove__fail(err, TROVE_E_CORRUPT, 8, "safetensors: __metadata__ is not an "
                                 "object");
                goto done;
            }
            s->extra = trove_value_map(s->alloc);
            if (!s->extra) {
                rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
                goto done;
            }
            const char *mk;
            json_t *mv;
            json_object_foreach(val, mk, mv) {
                if (!json_is_string(mv)) {
                    rc = trove__fail(err, TROVE_E_CORRUPT, 8, "safetensors: __metadata__['%.64s']"
                                     " is not a string", mk);
                    goto done;
                }
                trove_value *sv = trove_value_string(s->alloc, json_string_value(mv),
                                                     json_string_length(mv));
                if (!sv || trove_value_map_set(s->extra, mk, sv)) {
                    rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
                    goto done;
                }
            }
            continue;
        }
        size_t klen = strlen(key);
        if (!klen || klen > TROVE_LIMIT_NAME_BYTES) {
            rc = trove__fail(err, TROVE_E_UNSUPPORTED, 8, "safetensors: tensor name of %zu bytes"
                             " (1..%u accepted)", klen, TROVE_LIMIT_NAME_BYTES);
            goto done;
        }
        if (!json_is_object(val)) {
            rc = trove__fail(err, TROVE_E_CORRUPT, 8, "safetensors: entry '%.200s' is not an "
                             "object", key);
            goto done;
        }
        const char *dts = json_string_value(json_object_get(val, "dtype"));
        json_t *shp = json_object_get(val, "shape"), *off = json_object_get(val, "data_offsets");
        if (!dts || !json_is_array(shp) || !json_is_array(off) || json_array_size(off) != 2) {
            rc = trove__fail(err, TROVE_E_CORRUPT, 8, "safetensors: tensor '%.200s' needs "
                             "\"dtype\" (string), \"shape\" (array) and \"data_offsets\" "
                             "([begin, end])", key);
            goto done;
        }
        bool known;
        trove_dtype dt = st_dtype(dts, &known);
        if (dt == TROVE_DTYPE_INVALID) {
            rc = trove__fail(err, known ? TROVE_E_UNSUPPORTED : TROVE_E_CORRUPT, 8,
                             "safetensors: tensor '%.200s' has dtype %.32s, %s", key, dts,
                             known ? "which trove does not store" : "not a safetensors dtype");
            goto done;
        }
        size_t rank = json_array_size(shp);
        if (rank > TROVE_MAX_RANK) {
            rc = trove__fail(err, TROVE_E_UNSUPPORTED, 8, "safetensors: tensor '%.200s' has "
                             "rank %zu (at most %d)", key, rank, TROVE_MAX_RANK);
            goto done;
        }
        trove__tin *t = add_tensor(s, key, klen, err);
        if (!t) {
            rc = err ? err->code : TROVE_E_NOMEM;
            goto done;
        }
        t->dtype = dt;
        t->rank = (uint32_t)rank;
        for (size_t d = 0; d < rank; d++) {
            json_t *e = json_array_get(shp, d);
            if (!json_is_integer(e) || json_integer_value(e) < 0) {
                rc = trove__fail(err, TROVE_E_CORRUPT, 8, "safetensors: tensor '%.200s': shape"
                                 "[%zu] is not a non-negative integer", key, d);
                goto done;
            }
            t->shape[d] = (uint64_t)json_integer_value(e);
        }
        json_t *b = json_array_get(off, 0), *e = json_array_get(off, 1);
        if (!json_is_integer(b) || !json_is_integer(e) || json_integer_value(b) < 0 ||
            json_integer_value(e) < 0) {
            rc = trove__fail(err, TROVE_E_CORRUPT, 8, "safetensors: tensor '%.200s': "
                             "data_offsets are not non-negative integers", key);
            goto done;
        }
        uint64_t bo = (uint64_t)json_integer_value(b), eo = (uint64_t)json_integer_value(e);
        if (bo > eo || eo > data_len) {
            rc = trove__fail(err, TROVE_E_CORRUPT, 8, "safetensors: tensor '%.200s': "
                             "data_offsets [%llu, %llu] not within the %llu data bytes", key,
                             (unsigned long long)bo, (unsigned long long)eo,
                             (unsigned long long)data_len);
            goto done;
        }
        if (!shape_bytes(t->shape, t->rank, trove_dtype_size(dt), &t->nbytes)) {
            rc = trove__fail(err, TROVE_E_CORRUPT, 8, "safetensors: tensor '%.200s': the shape's"
                             " byte size overflows 64 bits", key);
            goto done;
        }
        if (t->nbytes != eo - bo) {
            rc = trove__fail(err, TROVE_E_CORRUPT, 8, "safetensors: tensor '%.200s': shape and "
                             "dtype give %llu bytes, data_offsets %llu", key,
                             (unsigned long long)t->nbytes, (unsigned long long)(eo - bo));
            goto done;
        }
        t->data = data + bo;
        t->swap = !trove__host_is_le() && trove_dtype_size(dt) > 1;
        ranges[nr++] = (st_range){bo, eo, s->n - 1};
    }
    /* the spec: the byte buffer is entirely indexed, without holes or overlaps */
    qsort(ranges, nr, sizeof *ranges, cmp_ranges);
    uint64_t at = 0;
    for (size_t i = 0; i < nr; i++) {
        if (ranges[i].begin != at) {
            rc = trove__fail(err, TROVE_E_CORRUPT, 8 + hlen + ranges[i].begin,
                             "safetensors: tensor '%.200s' starts at data byte %llu where %llu "
                             "was expected (%s)", s->t[ranges[i].idx].name,
                             (unsigned long long)ranges[i].begin, (unsigned long long)at,
                             ranges[i].begin < at ? "overlaps another tensor" : "a hole");
            goto done;
        }
        at = ranges[i].end;
    }
    if (at != data_len) {
        rc = trove__fail(err, TROVE_E_CORRUPT, 8 + hlen + at, "safetensors: %llu data bytes "
                         "after the last tensor are not indexed by the header",
                         (unsigned long long)(data_len - at));
        goto done;
    }
    /* keep the file's order (JSON objects are unordered in jansson): by data offset */
    trove__tin *ordered = trove__malloc(s->alloc, (nr ? nr : 1) * sizeof *ordered);
    if (!ordered) {
        rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nr; i++)
        ordered[i] = s->t[ranges[i].idx];
    if (nr)
        memcpy(s->t, ordered, nr * sizeof *ordered);
    trove__free(s->alloc, ordered);
done:
    trove__free(s->alloc, ranges);
    json_decref(root);
    return rc;
}

/* ---- npy ---------------------------------------------------------------------------------- */

typedef struct npy_lex {
    const char *p, *end;
} npy_lex;

static void npy_ws(npy_lex *l)
{
    while (l->p < l->end && (*l->p == ' ' || *l->p == '\t' || *l->p == '\n' || *l->p == '\r'))
        l->p++;
}

static bool npy_ch(npy_lex *l, char c)
{
    npy_ws(l);
    if (l->p < l->end && *l->p == c) {
        l->p++;
        return true;
    }
    return false;
}

/* A Python string literal in single or double quotes, without escapes. */
static bool npy_str(npy_lex *l, const char **s, size_t *n)
{
    npy_ws(l);
    if (l->p >= l->end || (*l->p != '\'' && *l->p != '"'))
        return false;
    char q = *l->p++;
    const char *st = l->p;
    while (l->p < l->end && *l->p != q) {
        if (*l->p == '\\')
            return false;
        l->p++;
    }
    if (l->p >= l->end)
        return false;
    *s = st;
    *n = (size_t)(l->p - st);
    l->p++;
    return true;
}

static bool npy_word(npy_lex *l, const char *w)
{
    npy_ws(l);
    size_t n = strlen(w);
    if ((size_t)(l->end - l->p) >= n && !memcmp(l->p, w, n)) {
        l->p += n;
        return true;
    }
    return false;
}

static bool npy_uint(npy_lex *l, uint64_t *v)
{
    npy_ws(l);
    if (l->p >= l->end || *l->p < '0' || *l->p > '9')
        return false;
    uint64_t x = 0;
    while (l->p < l->end && *l->p >= '0' && *l->p <= '9') {
        if (!trove__mul_ok(x, 10, &x) || !trove__add_ok(x, (uint64_t)(*l->p - '0'), &x))
            return false;
        l->p++;
    }
    if (l->p < l->end && *l->p == 'L') /* Python 2 longs */
        l->p++;
    *v = x;
    return true;
}

static int npy_dtype(const char *d, size_t n, trove_dtype *dt, bool *big, trove_error *err,
                     const char *what)
{
    if (n >= 2 && (d[1] == 'O' || (n == 1 && d[0] == 'O')))
        return trove__fail(err, TROVE_E_UNSUPPORTED, 0, "%s: object arrays ('%.*s') hold "
                           "pickled Python objects: refused, nothing is unpickled", what,
                           (int)n, d);
    static const struct { const char *c; trove_dtype d; } map[] = {
        {"b1", TROVE_BOOL}, {"i1", TROVE_INT8}, {"u1", TROVE_UINT8}, {"i2", TROVE_INT16},
        {"u2", TROVE_UINT16}, {"i4", TROVE_INT32}, {"u4", TROVE_UINT32}, {"i8", TROVE_INT64},
        {"u8", TROVE_UINT64}, {"f2", TROVE_FLOAT16}, {"f4", TROVE_FLOAT32},
        {"f8", TROVE_FLOAT64}};
    if (n == 3 && (d[0] == '<' || d[0] == '>' || d[0] == '|'))
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
            if (!memcmp(d + 1, map[i].c, 2)) {
                *dt = map[i].d;
                *big = d[0] == '>';
                return TROVE_OK;
            }
    return trove__fail(err, TROVE_E_UNSUPPORTED, 0, "%s: numpy dtype '%.*s' is not one trove "
                       "stores (bool, int8-64, uint8-64, float16/32/64)", what,
                       (int)(n > 32 ? 32 : n), d);
}

/* Parse one .npy image into a new tensor called name[0..nlen). */
static int npy_parse(trove__tset *s, const uint8_t *buf, size_t len, const char *name,
                     size_t nlen, trove_error *err)
{
    char what[96];
    snprintf(what, sizeof what, "npy '%.*s'", (int)(nlen > 64 ? 64 : nlen), name);
    if (len < 10 || memcmp(buf, "\x93NUMPY", 6))
        return trove__fail(err, TROVE_E_CORRUPT, 0, "%s: no \\x93NUMPY magic", what);
    unsigned major = buf[6];
    uint64_t hlen, hoff;
    if (major == 1) {
        hlen = trove__load_le16(buf + 8);
        hoff = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12)
            return trove__fail(err, TROVE_E_CORRUPT, 0, "%s: truncated preamble", what);
        hlen = trove__load_le32(buf + 8);
        hoff = 12;
    } else {
        return trove__fail(err, TROVE_E_UNSUPPORTED, 6, "%s: format version %u.%u (1.0-3.0 "
                           "read)", what, major, buf[7]);
    }
    if (hlen > len - hoff)
        return trove__fail(err, TROVE_E_CORRUPT, 8, "%s: header of %llu bytes runs past the end"
                           " of the %zu bytes", what, (unsigned long long)hlen, len);
    npy_lex l = {(const char *)buf + hoff, (const char *)buf + hoff + hlen};
    const char *descr = NULL;
    size_t dlen = 0;
    int fortran = -1;
    bool have_shape = false;
    uint64_t shape[TROVE_MAX_RANK];
    uint32_t rank = 0;
    if (!npy_ch(&l, '{'))
        goto bad;
    while (!npy_ch(&l, '}')) {
        const char *k;
        size_t kl;
        if (!npy_str(&l, &k, &kl) || !npy_ch(&l, ':'))
            goto bad;
        if (kl == 5 && !memcmp(k, "descr", 5) && !descr) {
            if (!npy_str(&l, &descr, &dlen)) {
                npy_ws(&l);
                if (l.p < l.end && *l.p == '[')
                    return trove__fail(err, TROVE_E_UNSUPPORTED, hoff, "%s: structured dtype "
                                       "(a record array): refused", what);
                goto bad;
            }
        } else if (kl == 13 && !memcmp(k, "fortran_order", 13) && fortran < 0) {
            if (npy_word(&l, "True"))
                fortran = 1;
            else if (npy_word(&l, "False"))
                fortran = 0;
            else
                goto bad;
        } else if (kl == 5 && !memcmp(k, "shape", 5) && !have_shape) {
            have_shape = true;
            if (!npy_ch(&l, '('))
                goto bad;
            while (!npy_ch(&l, ')')) {
                uint64_t v;
                if (!npy_uint(&l, &v))
                    goto bad;
                if (rank == TROVE_MAX_RANK)
                    return trove__fail(err, TROVE_E_UNSUPPORTED, hoff, "%s: more than %d "
                                       "dimensions", what, TROVE_MAX_RANK);
                shape[rank++] = v;
                if (!npy_ch(&l, ',')) {
                    if (!npy_ch(&l, ')'))
                        goto bad;
                    break;
                }
            }
        } else {
            goto bad;
        }
        if (!npy_ch(&l, ',')) {
            if (!npy_ch(&l, '}'))
                goto bad;
            break;
        }
    }
    npy_ws(&l);
    if (l.p != l.end || !descr || fortran < 0 || !have_shape)
        goto bad;
    trove_dtype dt = TROVE_DTYPE_INVALID;
    bool big = false;
    int rc = npy_dtype(descr, dlen, &dt, &big, err, what);
    if (rc)
        return rc;
    uint64_t nbytes;
    if (!shape_bytes(shape, rank, trove_dtype_size(dt), &nbytes))
        return trove__fail(err, TROVE_E_CORRUPT, hoff, "%s: the shape's byte size overflows 64 "
                           "bits", what);
    uint64_t avail = len - hoff - hlen;
    if (nbytes != avail)
        return trove__fail(err, TROVE_E_CORRUPT, hoff + hlen, "%s: shape and dtype give %llu "
                           "data bytes, the file holds %llu", what, (unsigned long long)nbytes,
                           (unsigned long long)avail);
    trove__tin *t = add_tensor(s, name, nlen, err);
    if (!t)
        return err ? err->code : TROVE_E_NOMEM;
    t->dtype = dt;
    t->rank = rank;
    memcpy(t->shape, shape, rank * sizeof shape[0]);
    t->data = buf + hoff + hlen;
    t->nbytes = nbytes;
    t->swap = trove_dtype_size(dt) > 1 && big == trove__host_is_le();
    t->fortran = fortran == 1 && rank > 1;
    return TROVE_OK;
bad:
    return trove__fail(err, TROVE_E_CORRUPT, (uint64_t)((const uint8_t *)l.p - buf),
                       "%s: header is not the dict {'descr', 'fortran_order', 'shape'} that "
                       "numpy writes (at header byte %llu)", what,
                       (unsigned long long)((const uint8_t *)l.p - buf - hoff));
}

/* ---- npz (zip) ---------------------------------------------------------------------------- */

static int zip_fail(trove_error *err, uint64_t off, const char *why)
{
    return trove__fail(err, TROVE_E_CORRUPT, off, "npz: %s", why);
}

static int npz_parse(trove__tset *s, const uint8_t *buf, size_t len, uint64_t max_bytes,
                     trove_error *err)
{
    if (len < 22)
        return zip_fail(err, 0, "shorter than a zip end record");
    size_t eo = len - 22, stop = len > 22 + 65535 ? len - 22 - 65535 : 0;
    for (;;) {
        if (!memcmp(buf + eo, "PK\x05\x06", 4) && eo + 22 + trove__load_le16(buf + eo + 20) == len)
            break;
        if (eo == stop)
            return zip_fail(err, 0, "no zip end-of-central-directory record");
        eo--;
    }
    uint64_t count = trove__load_le16(buf + eo + 10), cdsize = trove__load_le32(buf + eo + 12),
             cdoff = trove__load_le32(buf + eo + 16);
    if (trove__load_le16(buf + eo + 4) || trove__load_le16(buf + eo + 6))
        return trove__fail(err, TROVE_E_UNSUPPORTED, eo, "npz: multi-disk zip archive");
    if (count == 0xFFFF || cdsize == 0xFFFFFFFF || cdoff == 0xFFFFFFFF) { /* zip64 */
        if (eo < 20 || memcmp(buf + eo - 20, "PK\x06\x07", 4))
            return zip_fail(err, eo, "zip64 end record locator missing");
        uint64_t z = trove__load_le64(buf + eo - 20 + 8);
        if (z > len - 56 || len < 56 || memcmp(buf + z, "PK\x06\x06", 4))
            return zip_fail(err, eo - 20, "zip64 end record out of bounds");
        count = trove__load_le64(buf + z + 32);
        cdsize = trove__load_le64(buf + z + 40);
        cdoff = trove__load_le64(buf + z + 48);
    }
    if (cdoff > len || cdsize > len - cdoff)
        return zip_fail(err, eo, "central directory out of bounds");
    if (count > TROVE_LIMIT_TENSORS || count > cdsize / 46)
        return zip_fail(err, eo, "member count does not fit the central directory");
    uint64_t at = cdoff, end = cdoff + cdsize, inflated = 0;
    for (uint64_t i = 0; i < count; i++) {
        if (end - at < 46 || memcmp(buf + at, "PK\x01\x02", 4))
            return zip_fail(err, at, "bad central directory entry");
        const uint8_t *c = buf + at;
        unsigned flags = trove__load_le16(c + 8), method = trove__load_le16(c + 10);
        uint32_t crc = trove__load_le32(c + 16);
        uint64_t csize = trove__load_le32(c + 20), usize = trove__load_le32(c + 24);
        size_t nl = trove__load_le16(c + 28), xl = trove__load_le16(c + 30),
               cl = trove__load_le16(c + 32);
        uint64_t loff = trove__load_le32(c + 42);
        if (end - at - 46 < (uint64_t)nl + xl + cl)
            return zip_fail(err, at, "central directory entry runs past the directory");
        const char *name = (const char *)c + 46;
        const uint8_t *x = c + 46 + nl, *xe = x + xl;
        while (xe - x >= 4) { /* zip64 extra field */
            unsigned id = trove__load_le16(x), sz = trove__load_le16(x + 2);
            if ((size_t)(xe - x - 4) < sz)
                return zip_fail(err, at, "extra field runs past its entry");
            if (id == 1) {
                const uint8_t *q = x + 4, *qe = q + sz;
                uint64_t *fld[3] = {&usize, &csize, &loff};
                for (int k = 0; k < 3; k++)
                    if (*fld[k] == 0xFFFFFFFF) {
                        if (qe - q < 8)
                            return zip_fail(err, at, "short zip64 extra field");
                        *fld[k] = trove__load_le64(q);
                        q += 8;
                    }
            }
            x += 4 + sz;
        }
        char what[80];
        snprintf(what, sizeof what, "%.*s", (int)(nl > 64 ? 64 : nl), name);
        if (flags & 1)
            return trove__fail(err, TROVE_E_UNSUPPORTED, at, "npz: member '%s' is encrypted",
                               what);
        if (method != 0 && method != 8)
            return trove__fail(err, TROVE_E_UNSUPPORTED, at, "npz: member '%s' uses zip "
                               "compression method %u (stored and deflate are read)", what,
                               method);
        if (nl < 5 || memcmp(name + nl - 4, ".npy", 4) || memchr(name, 0, nl))
            return trove__fail(err, TROVE_E_UNSUPPORTED, at, "npz: member '%s' is not a .npy "
                               "array", what);
        if (loff > len || len - loff < 30 || memcmp(buf + loff, "PK\x03\x04", 4))
            return zip_fail(err, at, "local header of a member out of bounds");
        uint64_t doff = loff + 30 + trove__load_le16(buf + loff + 26) +
                        trove__load_le16(buf + loff + 28);
        if (doff > len || csize > len - doff)
            return trove__fail(err, TROVE_E_CORRUPT, loff, "npz: member '%s': data out of "
                               "bounds", what);
        const uint8_t *mem = buf + doff;
        if (method == 0) {
            if (usize != csize)
                return trove__fail(err, TROVE_E_CORRUPT, at, "npz: stored member '%s' has "
                                   "different sizes", what);
        } else {
            if (!trove__add_ok(inflated, usize, &inflated) || inflated > max_bytes ||
                usize > SIZE_MAX - 1)
                return trove__fail(err, TROVE_E_LIMIT, at, "npz: inflated members exceed the "
                                   "limit of %llu bytes", (unsigned long long)max_bytes);
            uint8_t **ow = trove__realloc(s->alloc, s->owned, (s->n_owned + 1) * sizeof *ow);
            if (!ow)
                return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
            s->owned = ow;
            uint8_t *out = trove__malloc(s->alloc, (size_t)usize + 1);
            if (!out)
                return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory "
                                   "inflating '%s'", what);
            s->owned[s->n_owned++] = out;
            z_stream zs;
            memset(&zs, 0, sizeof zs);
            if (inflateInit2(&zs, -15) != Z_OK)
                return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "zlib init failed");
            int zr = Z_OK;
            uint64_t in_left = csize, out_left = usize + 1; /* +1 to see an overlong stream */
            const uint8_t *ip = mem;
            uint8_t *op = out;
            while (zr == Z_OK) {
                uInt ia = in_left > 0x40000000 ? 0x40000000 : (uInt)in_left;
                uInt oa = out_left > 0x40000000 ? 0x40000000 : (uInt)out_left;
                zs.next_in = (Bytef *)(uintptr_t)ip;
                zs.avail_in = ia;
                zs.next_out = op;
                zs.avail_out = oa;
                zr = inflate(&zs, Z_NO_FLUSH);
                ip += ia - zs.avail_in;
                in_left -= ia - zs.avail_in;
                op += oa - zs.avail_out;
                out_left -= oa - zs.avail_out;
                if (zr == Z_OK && ia == zs.avail_in && oa == zs.avail_out)
                    zr = Z_BUF_ERROR; /* no progress */
            }
            inflateEnd(&zs);
            if (zr != Z_STREAM_END || out_left != 1)
                return trove__fail(err, TROVE_E_CORRUPT, doff, "npz: member '%s': deflate "
                                   "stream is corrupt or does not inflate to %llu bytes", what,
                                   (unsigned long long)usize);
            mem = out;
        }
        uLong cr = crc32(0L, Z_NULL, 0);
        for (uint64_t o = 0; o < usize;) {
            uInt n = usize - o > 0x40000000 ? 0x40000000 : (uInt)(usize - o);
            cr = crc32(cr, mem + o, n);
            o += n;
        }
        if ((uint32_t)cr != crc)
            return trove__fail(err, TROVE_E_CORRUPT, doff, "npz: member '%s': CRC-32 mismatch",
                               what);
        int rc = npy_parse(s, mem, (size_t)usize, name, nl - 4, err);
        if (rc)
            return rc;
        at += 46 + nl + xl + cl;
    }
    if (!count)
        return zip_fail(err, eo, "the archive holds no arrays");
    return TROVE_OK;
}

/* ---- driver ------------------------------------------------------------------------------- */

int trove__tensors_parse(const trove_allocator *alloc, const uint8_t *buf, size_t len,
                         int kind, const char *npy_name, uint64_t max_bytes, trove__tset *out,
                         trove_error *err)
{
    memset(out, 0, sizeof *out);
    out->alloc = alloc;
    int rc;
    switch (kind ? kind : trove__tensors_probe(buf, len)) {
    case TROVE__TF_SAFETENSORS:
        out->format = "safetensors";
        rc = st_parse(out, buf, len, err);
        break;
    case TROVE__TF_NPY: {
        out->format = "npy";
        const char *n = npy_name ? npy_name : "array";
        rc = npy_parse(out, buf, len, n, strlen(n), err);
        break;
    }
    case TROVE__TF_NPZ:
        out->format = "npz";
        rc = npz_parse(out, buf, len, max_bytes, err);
        break;
    case TROVE__TF_TORCH:
    case TROVE__TF_TORCH_LEGACY: {
        bool legacy = (kind ? kind : trove__tensors_probe(buf, len)) == TROVE__TF_TORCH_LEGACY;
        out->format = legacy ? "torch (legacy)" : "torch";
        rc = trove__torch_parse(out, buf, len, legacy, npy_name ? npy_name : "tensor", max_bytes,
                                err);
        break;
    }
    default:
        return trove__fail(err, TROVE_E_UNSUPPORTED, 0, "not a safetensors, npy, npz or torch "
                           "file");
    }
    if (!rc && out->n > 1) { /* duplicate names (npz members; safetensors keys are unique) */
        trove__tin *sorted = trove__malloc(alloc, out->n * sizeof *sorted);
        if (!sorted)
            return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
        memcpy(sorted, out->t, out->n * sizeof *sorted);
        qsort(sorted, out->n, sizeof *sorted, cmp_names);
        for (size_t i = 1; i < out->n && !rc; i++)
            if (!strcmp(sorted[i - 1].name, sorted[i].name))
                rc = trove__fail(err, TROVE_E_CORRUPT, TROVE_NO_OFFSET, "%s: tensor name "
                                 "'%.200s' appears twice", out->format, sorted[i].name);
        trove__free(alloc, sorted);
    }
    for (size_t i = 0; !rc && i < out->n; i++)
        if (!trove__utf8_valid(out->t[i].name, strlen(out->t[i].name)))
            rc = trove__fail(err, TROVE_E_UNSUPPORTED, TROVE_NO_OFFSET, "%s: a tensor name is "
                             "not valid UTF-8", out->format);
    return rc;
}

size_t trove__tin_read(const trove__tin *t, uint64_t *pos, uint8_t *buf, size_t cap)
{
    size_t es = trove_dtype_size(t->dtype);
    uint64_t left = t->nbytes - *pos;
    size_t n = (size_t)(left < cap ? left : cap);
    n -= n % es;
    if (!n)
        return 0;
    if (t->strided) {
        /* odometer over the C-order multi-index; offsets were bounded by the parser */
        uint64_t e = *pos / es, idx[TROVE_MAX_RANK], src = 0;
        for (uint32_t k = t->rank; k-- > 0;) {
            idx[k] = e % t->shape[k];
            e /= t->shape[k];
            src += idx[k] * t->stride[k];
        }
        for (size_t j = 0; j < n / es; j++) {
            memcpy(buf + j * es, t->data + src * es, es);
            for (uint32_t k = t->rank; k-- > 0;) {
                if (++idx[k] < t->shape[k]) {
                    src += t->stride[k];
                    break;
                }
                src -= (idx[k] - 1) * t->stride[k];
                idx[k] = 0;
            }
        }
    } else if (!t->fortran) {
        memcpy(buf, t->data + *pos, n);
    } else {
        /* element e in C order at multi-index idx lives at Fortran offset sum idx[k]*fs[k] */
        uint64_t e = *pos / es;
        for (size_t j = 0; j < n / es; j++, e++) {
            uint64_t rem = e, src = 0, stride = 1;
            uint64_t idx[TROVE_MAX_RANK];
            for (uint32_t k = t->rank; k-- > 0;) {
                idx[k] = rem % t->shape[k];
                rem /= t->shape[k];
            }
            for (uint32_t k = 0; k < t->rank; k++) {
                src += idx[k] * stride;
                stride *= t->shape[k];
            }
            memcpy(buf + j * es, t->data + src * es, es);
        }
    }
    if (t->swap)
        trove__byteswap(buf, n, es);
    *pos += n;
    return n;
}
