/* pickle_numpy.c: numpy arrays, dtypes and scalars read from an inert pickle graph.
 *
 * numpy pickles an array as numpy.core.multiarray._reconstruct(ndarray, (0,), b'b') + BUILD
 * (version, shape, dtype, is_fortran, rawdata) (numpy 2: numpy._core...), protocol 5 as
 * numpy.core.numeric._frombuffer(buffer, dtype, shape, order), a dtype as numpy.dtype(descr,
 * align, copy) + BUILD (version, byteorder, subarray, names, fields, elsize, alignment, flags), a
 * scalar as numpy.core.multiarray.scalar(dtype, bytes). joblib arrays come as PK_RAWARRAY. */
#include <math.h>
#include <string.h>

#include "codecs/pickle.h"

static bool is_np(const pk_obj *g, const char *sub, const char *name)
{
    if (!g || g->kind != PK_GLOBAL || strcmp(g->u.g.name, name))
        return false;
    const char *m = g->u.g.module;
    if (!strncmp(m, "numpy._core.", 12))
        return !strcmp(m + 12, sub);
    if (!strncmp(m, "numpy.core.", 11))
        return !strcmp(m + 11, sub);
    return false;
}

static int dtype_depth(const pk_obj *o, pk_dtype *out, int depth, trove_error *err);

static int scalar_kind(char c, uint32_t bytes, bool *ok)
{
    *ok = true;
    switch (c) {
    case 'b': *ok = bytes == 1; break;
    case 'i': case 'u': *ok = bytes == 1 || bytes == 2 || bytes == 4 || bytes == 8; break;
    case 'f': *ok = bytes == 2 || bytes == 4 || bytes == 8; break;
    case 'O': *ok = bytes == 8 || bytes == 4; break;
    case 'U': case 'S': case 'V': break;
    default: *ok = false;
    }
    return 0;
}

static int dtype_depth(const pk_obj *o, pk_dtype *out, int depth, trove_error *err)
{
    memset(out, 0, sizeof *out);
    if (!o || o->kind != PK_OBJECT || !pk_is_global(o->u.o.callable, "numpy", "dtype"))
        return trove__fail(err, TROVE_E_TYPE, o ? o->offset : TROVE_NO_OFFSET,
                           "numpy: expected a numpy.dtype object, found a %s",
                           o ? pk_kind_name(o->kind) : "nothing");
    const uint8_t *d;
    size_t dn;
    if (!pk_text(pk_item(o->u.o.args, 0), &d, &dn) || dn == 0 || dn > 16)
        return trove__fail(err, TROVE_E_CORRUPT, o->offset,
                           "numpy: dtype without a type string");
    char kind = (char)d[0];
    uint32_t num = 0;
    for (size_t i = 1; i < dn; i++) {
        if (d[i] < '0' || d[i] > '9' || num > 100000000)
            return trove__fail(err, TROVE_E_UNSUPPORTED, o->offset,
                               "numpy: dtype '%.*s' not supported", (int)dn, d);
        num = num * 10 + (uint32_t)(d[i] - '0');
    }
    if (kind == '?')
        kind = 'b', num = 1;
    uint32_t itemsize = kind == 'U' ? num * 4 : num;
    const pk_obj *st = o->u.o.state;
    bool big = false;
    if (st && st->kind == PK_TUPLE && st->u.seq.n >= 6) {
        if (pk_text_eq(st->u.seq.v[1], ">"))
            big = true;
        int64_t el;
        if (pk_as_int(st->u.seq.v[5], &el) && el > 0 && el < (1 << 30) &&
            (kind == 'V' || kind == 'U' || kind == 'S'))
            itemsize = (uint32_t)el;
        const pk_obj *names = st->u.seq.v[3], *fields = st->u.seq.v[4];
        if (!pk_is_none(names)) {
            if (depth > 0)
                return trove__fail(err, TROVE_E_UNSUPPORTED, o->offset,
                                   "numpy: nested structured dtypes are not supported");
            size_t nf = pk_len(names);
            if (nf > PK_MAX_FIELDS)
                return trove__fail(err, TROVE_E_UNSUPPORTED, o->offset,
                                   "numpy: structured dtype with %zu fields (at most %d)", nf,
                                   PK_MAX_FIELDS);
            for (size_t i = 0; i < nf; i++) {
                const uint8_t *fnp;
                size_t fnn;
                const pk_obj *nm = pk_item(names, i);
                if (!pk_text(nm, &fnp, &fnn) || fnn > 200)
                    return trove__fail(err, TROVE_E_CORRUPT, o->offset,
                                       "numpy: structured dtype field name is not a str");
                char name[201];
                memcpy(name, fnp, fnn);
                name[fnn] = 0;
                const pk_obj *f = pk_dict_get(fields, name);
                int64_t off;
                if (pk_len(f) < 2 || !pk_as_int(pk_item(f, 1), &off) || off < 0 ||
                    off > (1 << 30))
                    return trove__fail(err, TROVE_E_CORRUPT, o->offset,
                                       "numpy: structured dtype field '%s' without an offset",
                                       name);
                pk_dtype sub;
                int rc = dtype_depth(pk_item(f, 0), &sub, depth + 1, err);
                if (rc)
                    return rc;
                if (sub.kind == 'V' || sub.kind == 'O' || (uint64_t)off + sub.itemsize > itemsize)
                    return trove__fail(err, TROVE_E_CORRUPT, o->offset,
                                       "numpy: structured dtype field '%s' (%c%u at %lld) does not "
                                       "fit in %u bytes or is not a number", name, sub.kind,
                                       sub.itemsize, (long long)off, itemsize);
                size_t cp = fnn < sizeof out->fields[i].name - 1 ? fnn
                                                                 : sizeof out->fields[i].name - 1;
                memcpy(out->fields[i].name, fnp, cp);
                out->fields[i].name[cp] = 0;
                out->fields[i].offset = (uint32_t)off;
                out->fields[i].kind = sub.kind;
                out->fields[i].big = sub.big;
                out->fields[i].itemsize = sub.itemsize;
            }
            out->nfields = (uint32_t)nf;
        }
    }
    bool ok;
    scalar_kind(kind, itemsize, &ok);
    if (!ok)
        return trove__fail(err, TROVE_E_UNSUPPORTED, o->offset,
                           "numpy: dtype '%.*s' (%u bytes) not supported", (int)dn, d, itemsize);
    if (kind == 'V' && out->nfields == 0)
        return trove__fail(err, TROVE_E_UNSUPPORTED, o->offset,
                           "numpy: raw void dtype without fields not supported");
    out->kind = kind;
    out->big = big && itemsize > 1 && kind != 'V' && kind != 'S';
    out->itemsize = itemsize;
    return TROVE_OK;
}

int pk_dtype_of(const pk_obj *o, pk_dtype *out, trove_error *err)
{
    return dtype_depth(o, out, 0, err);
}

int pk_field_index(const pk_dtype *dt, const char *name)
{
    for (uint32_t i = 0; i < dt->nfields; i++)
        if (!strcmp(dt->fields[i].name, name))
            return (int)i;
    return -1;
}

static uint64_t load_u(const uint8_t *p, uint32_t size, bool big)
{
    uint64_t u = 0;
    if (big)
        for (uint32_t i = 0; i < size; i++)
            u = u << 8 | p[i];
    else
        for (uint32_t i = size; i-- > 0;)
            u = u << 8 | p[i];
    return u;
}

static double half_to_double(uint16_t h)
{
    int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m + 1024, e - 25);
    return (h & 0x8000) ? -v : v;
}

static double elem_f64(const uint8_t *p, char kind, uint32_t size, bool big)
{
    uint64_t u = load_u(p, size, big);
    switch (kind) {
    case 'b': return u ? 1.0 : 0.0;
    case 'u': return (double)u;
    case 'i': {
        if (size < 8 && (u >> (8 * size - 1)) & 1)
            u |= ~(uint64_t)0 << (8 * size);
        return (double)(int64_t)u;
    }
    case 'f':
        if (size == 8) {
            double d;
            memcpy(&d, &u, 8);
            return d;
        } else if (size == 4) {
            uint32_t w = (uint32_t)u;
            float f;
            memcpy(&f, &w, 4);
            return f;
        }
        return half_to_double((uint16_t)u);
    default: return NAN;
    }
}

static int64_t elem_i64(const uint8_t *p, char kind, uint32_t size, bool big)
{
    if (kind == 'f') {
        double d = elem_f64(p, kind, size, big);
        return d >= -9.2e18 && d <= 9.2e18 ? (int64_t)d : 0;
    }
    uint64_t u = load_u(p, size, big);
    if (kind == 'i' && size < 8 && (u >> (8 * size - 1)) & 1)
        u |= ~(uint64_t)0 << (8 * size);
    return (int64_t)u;
}

double pk_array_f64(const pk_array *x, uint64_t i)
{
    return elem_f64(x->data + i * x->dt.itemsize, x->dt.kind, x->dt.itemsize, x->dt.big);
}

int64_t pk_array_i64(const pk_array *x, uint64_t i)
{
    return elem_i64(x->data + i * x->dt.itemsize, x->dt.kind, x->dt.itemsize, x->dt.big);
}

double pk_field_f64(const pk_array *x, uint32_t f, uint64_t i)
{
    const uint8_t *p = x->data + i * x->dt.itemsize + x->dt.fields[f].offset;
    return elem_f64(p, x->dt.fields[f].kind, x->dt.fields[f].itemsize, x->dt.fields[f].big);
}

int64_t pk_field_i64(const pk_array *x, uint32_t f, uint64_t i)
{
    const uint8_t *p = x->data + i * x->dt.itemsize + x->dt.fields[f].offset;
    return elem_i64(p, x->dt.fields[f].kind, x->dt.fields[f].itemsize, x->dt.fields[f].big);
}

bool pk_scalar_f64(const pk_obj *o, double *v)
{
    if (!o || o->kind != PK_OBJECT || !is_np(o->u.o.callable, "multiarray", "scalar"))
        return false;
    pk_dtype dt;
    if (pk_dtype_of(pk_item(o->u.o.args, 0), &dt, NULL))
        return false;
    const pk_obj *b = pk_item(o->u.o.args, 1);
    if (dt.kind == 'O')
        return pk_as_float(b, v);
    if (!b || (b->kind != PK_BYTES && b->kind != PK_BYTEARRAY) || b->u.s.n != dt.itemsize ||
        !(dt.kind == 'b' || dt.kind == 'i' || dt.kind == 'u' || dt.kind == 'f'))
        return false;
    *v = elem_f64(b->u.s.p, dt.kind, dt.itemsize, dt.big);
    return true;
}

/* shape tuple -> out; count = product (checked) */
static int read_shape(const pk_obj *s, pk_array *out, uint64_t off, trove_error *err)
{
    if (!s || (s->kind != PK_TUPLE && s->kind != PK_LIST) || s->u.seq.n > TROVE_MAX_RANK)
        return trove__fail(err, TROVE_E_UNSUPPORTED, off,
                           "numpy: array shape is not a tuple of at most %d ints",
                           TROVE_MAX_RANK);
    out->rank = (uint32_t)s->u.seq.n;
    out->count = 1;
    for (uint32_t i = 0; i < out->rank; i++) {
        int64_t d;
        if (!pk_as_int(s->u.seq.v[i], &d) || d < 0)
            return trove__fail(err, TROVE_E_CORRUPT, off, "numpy: bad array dimension");
        out->shape[i] = (uint64_t)d;
        if (!trove__mul_ok(out->count, (uint64_t)d, &out->count))
            return trove__fail(err, TROVE_E_CORRUPT, off, "numpy: array size overflows");
    }
    return TROVE_OK;
}

/* rawdata (bytes or list of objects) + fortran flag -> out (C order). */
static int attach_data(pk_arena *a, const pk_obj *raw, bool fortran, pk_array *out, uint64_t off,
                       trove_error *err)
{
    if (out->dt.kind == 'O') {
        if (!raw || (raw->kind != PK_LIST && raw->kind != PK_TUPLE) ||
            raw->u.seq.n != out->count)
            return trove__fail(err, TROVE_E_CORRUPT, off,
                               "numpy: object array data is not a list of %llu items",
                               (unsigned long long)out->count);
        out->objs = raw->u.seq.v;
    } else {
        uint64_t nbytes;
        if (!raw || (raw->kind != PK_BYTES && raw->kind != PK_BYTEARRAY))
            return trove__fail(err, TROVE_E_CORRUPT, off, "numpy: array data is a %s, not bytes",
                               raw ? pk_kind_name(raw->kind) : "nothing");
        if (!trove__mul_ok(out->count, out->dt.itemsize, &nbytes) || nbytes != raw->u.s.n)
            return trove__fail(err, TROVE_E_CORRUPT, off,
                               "numpy: array data has %zu bytes, its shape and dtype need %llu",
                               raw->u.s.n, (unsigned long long)nbytes);
        out->data = raw->u.s.p;
    }
    if (!fortran || out->rank < 2 || out->count < 2)
        return TROVE_OK;
    /* Fortran order: element (i0..ik) is at sum(i_j * prod(shape[<j])); copy into C order. */
    size_t es = out->dt.kind == 'O' ? sizeof(pk_obj *) : out->dt.itemsize;
    const uint8_t *src = out->dt.kind == 'O' ? (const uint8_t *)out->objs : out->data;
    uint8_t *dst = pk_alloc(a, (size_t)out->count * es);
    if (!dst)
        return trove__fail(err, pk_arena_over_budget(a) ? TROVE_E_LIMIT : TROVE_E_NOMEM, off,
                           "numpy: out of memory reordering a Fortran-order array");
    uint64_t idx[TROVE_MAX_RANK] = {0};
    for (uint64_t c = 0; c < out->count; c++) {
        uint64_t f = 0, stride = 1;
        for (uint32_t j = 0; j < out->rank; j++) {
            f += idx[j] * stride;
            stride *= out->shape[j];
        }
        memcpy(dst + c * es, src + f * es, es);
        for (uint32_t j = out->rank; j-- > 0;) {
            if (++idx[j] < out->shape[j])
                break;
            idx[j] = 0;
        }
    }
    if (out->dt.kind == 'O')
        out->objs = (pk_obj *const *)(void *)dst;
    else
        out->data = dst;
    return TROVE_OK;
}

static int array_depth(pk_arena *a, const pk_obj *o, pk_array *out, int depth, trove_error *err)
{
    memset(out, 0, sizeof *out);
    if (!o)
        return trove__fail(err, TROVE_E_TYPE, TROVE_NO_OFFSET, "numpy: expected an array");
    if (depth > 4)
        return trove__fail(err, TROVE_E_LIMIT, o->offset, "numpy: arrays nested too deep");
    if (o->kind == PK_RAWARRAY) {
        if (o->u.raw.nested)
            return array_depth(a, o->u.raw.nested, out, depth + 1, err);
        const pk_obj *w = o->u.raw.wrapper;
        int rc = pk_dtype_of(pk_attr(w, "dtype"), &out->dt, err);
        if (rc || (rc = read_shape(pk_attr(w, "shape"), out, o->offset, err)))
            return rc;
        const pk_obj raw = {.kind = PK_BYTES, .u.s = {o->u.raw.data, o->u.raw.n}};
        return attach_data(a, &raw, pk_text_eq(pk_attr(w, "order"), "F"), out, o->offset, err);
    }
    if (o->kind != PK_OBJECT)
        return trove__fail(err, TROVE_E_TYPE, o->offset, "numpy: expected an array, found a %s",
                           pk_kind_name(o->kind));
    const pk_obj *fn = o->u.o.callable;
    if (is_np(fn, "multiarray", "_reconstruct")) {
        const pk_obj *sub = pk_item(o->u.o.args, 0);
        if (!pk_is_global(sub, "numpy", "ndarray")) {
            char nm[160];
            return trove__fail(err, TROVE_E_UNSUPPORTED, o->offset,
                               "numpy: array subclass %s not supported",
                               pk_global_name(sub, nm, sizeof nm));
        }
        const pk_obj *st = o->u.o.state;
        size_t n = pk_len(st);
        if (!st || st->kind != PK_TUPLE || (n != 5 && n != 4))
            return trove__fail(err, TROVE_E_CORRUPT, o->offset,
                               "numpy: array without a (version, shape, dtype, fortran, data) "
                               "state");
        size_t b = n == 5 ? 1 : 0;
        int rc = pk_dtype_of(pk_item(st, b + 1), &out->dt, err);
        if (rc || (rc = read_shape(pk_item(st, b), out, o->offset, err)))
            return rc;
        int64_t fortran = 0;
        pk_as_int(pk_item(st, b + 2), &fortran);
        return attach_data(a, pk_item(st, b + 3), fortran != 0, out, o->offset, err);
    }
    if (is_np(fn, "numeric", "_frombuffer")) {
        const pk_obj *args = o->u.o.args;
        int rc = pk_dtype_of(pk_item(args, 1), &out->dt, err);
        if (rc || (rc = read_shape(pk_item(args, 2), out, o->offset, err)))
            return rc;
        if (out->dt.kind == 'O')
            return trove__fail(err, TROVE_E_CORRUPT, o->offset,
                               "numpy: _frombuffer of an object dtype");
        const pk_obj *buf = pk_item(args, 0);
        if (buf && buf->kind == PK_OBJECT && pk_is_global(buf->u.o.callable, "pickle",
                                                          "PickleBuffer"))
            buf = pk_item(buf->u.o.args, 0);
        return attach_data(a, buf, pk_text_eq(pk_item(args, 3), "F"), out, o->offset, err);
    }
    char nm[160];
    return trove__fail(err, TROVE_E_TYPE, o->offset,
                       "numpy: expected an array, found an object made by %s",
                       pk_global_name(fn, nm, sizeof nm));
}

int pk_array_of(pk_arena *a, const pk_obj *o, pk_array *out, trove_error *err)
{
    return array_depth(a, o, out, 0, err);
}
