/* cbor.c: the canonical CBOR encoding of metadata trees (docs/FORMAT.md section 4): a strict
 * subset of RFC 8949 deterministic encoding. The decoder treats its input as hostile: every
 * length is checked against the bytes that remain, depth is bounded, and anything that is not
 * the one canonical encoding of its value is refused with the offset of the offending byte. */
#include <math.h>
#include <string.h>

#include "format/cbor.h"
#include "format/value.h"

/* ---- encoder -------------------------------------------------------------------------- */
typedef struct buf {
    const trove_allocator *alloc;
    uint8_t *p;
    size_t len, cap;
    bool oom;
} buf;

static bool buf_reserve(buf *b, size_t extra)
{
    if (b->oom)
        return false;
    if (b->cap - b->len >= extra)
        return true;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap - b->len < extra) {
        if (ncap > SIZE_MAX / 2) {
            b->oom = true;
            return false;
        }
        ncap *= 2;
    }
    uint8_t *np = trove__realloc(b->alloc, b->p, ncap);
    if (!np) {
        b->oom = true;
        return false;
    }
    b->p = np;
    b->cap = ncap;
    return true;
}

static void put(buf *b, const void *p, size_t n)
{
    if (n && buf_reserve(b, n)) {
        memcpy(b->p + b->len, p, n);
        b->len += n;
    }
}

static void put_head(buf *b, unsigned major, uint64_t arg)
{
    uint8_t h[9];
    size_t n;
    uint8_t m = (uint8_t)(major << 5);
    if (arg < 24) {
        h[0] = (uint8_t)(m | arg);
        n = 1;
    } else if (arg <= 0xFF) {
        h[0] = m | 24;
        h[1] = (uint8_t)arg;
        n = 2;
    } else if (arg <= 0xFFFF) {
        h[0] = m | 25;
        h[1] = (uint8_t)(arg >> 8);
        h[2] = (uint8_t)arg;
        n = 3;
    } else if (arg <= 0xFFFFFFFFu) {
        h[0] = m | 26;
        for (int i = 0; i < 4; i++)
            h[1 + i] = (uint8_t)(arg >> (24 - 8 * i));
        n = 5;
    } else {
        h[0] = m | 27;
        for (int i = 0; i < 8; i++)
            h[1 + i] = (uint8_t)(arg >> (56 - 8 * i));
        n = 9;
    }
    put(b, h, n);
}

static void encode(buf *b, const trove_value *v)
{
    switch (v->type) {
    case TROVE_VALUE_NULL: put(b, "\xf6", 1); break;
    case TROVE_VALUE_BOOL: put(b, v->as.b ? "\xf5" : "\xf4", 1); break;
    case TROVE_VALUE_INT:
        if (v->as.i >= 0)
            put_head(b, 0, (uint64_t)v->as.i);
        else
            put_head(b, 1, (uint64_t)(-(v->as.i + 1)));
        break;
    case TROVE_VALUE_UINT: put_head(b, 0, v->as.u); break;
    case TROVE_VALUE_FLOAT: {
        uint64_t bits;
        double d = isnan(v->as.d) ? NAN : v->as.d;
        memcpy(&bits, &d, 8);
        if (isnan(d))
            bits = UINT64_C(0x7ff8000000000000);
        uint8_t h[9] = {0xfb};
        for (int i = 0; i < 8; i++)
            h[1 + i] = (uint8_t)(bits >> (56 - 8 * i));
        put(b, h, 9);
        break;
    }
    case TROVE_VALUE_BYTES:
    case TROVE_VALUE_STRING:
        put_head(b, v->type == TROVE_VALUE_BYTES ? 2 : 3, v->as.s.len);
        put(b, v->as.s.p, v->as.s.len);
        break;
    case TROVE_VALUE_ARRAY:
        put_head(b, 4, v->as.a.n);
        for (size_t i = 0; i < v->as.a.n; i++)
            encode(b, v->as.a.items[i]);
        break;
    case TROVE_VALUE_MAP:
        put_head(b, 5, v->as.m.n);
        for (size_t i = 0; i < v->as.m.n; i++) {
            put_head(b, 3, v->as.m.e[i].keylen);
            put(b, v->as.m.e[i].key, v->as.m.e[i].keylen);
            encode(b, v->as.m.e[i].value);
        }
        break;
    }
}

int trove__cbor_encode(const trove_value *v, const trove_allocator *alloc, uint8_t **out,
                       size_t *len)
{
    buf b = {alloc, NULL, 0, 0, false};
    encode(&b, v);
    if (b.oom) {
        trove__free(alloc, b.p);
        return TROVE_E_NOMEM;
    }
    if (!b.p && !buf_reserve(&b, 1))
        return TROVE_E_NOMEM;
    *out = b.p;
    *len = b.len;
    return TROVE_OK;
}

TROVE_API int trove_value_encode(const trove_value *v, const trove_allocator *alloc,
                                 uint8_t **out, size_t *len, trove_error *err)
{
    if (!v || !out || !len)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_value_encode: NULL argument");
    int rc = trove__cbor_encode(v, alloc, out, len);
    if (rc)
        return trove__fail(err, rc, TROVE_NO_OFFSET, "out of memory encoding metadata");
    return TROVE_OK;
}

/* ---- decoder -------------------------------------------------------------------------- */
typedef struct dec {
    const uint8_t *p;
    size_t len, pos;
    uint64_t base;          /* offset of p[0] in the file, for messages */
    uint32_t max_depth;
    uint64_t items;         /* decoded so far: bounded, since each costs ~50 bytes of memory */
    const trove_allocator *alloc;
    trove_error *err;
    const char *what;       /* "header", "metadata", ... */
} dec;

#define DFAIL(d, code, at, ...) trove__fail((d)->err, (code), (d)->base + (at), __VA_ARGS__)
/* Positions in messages are file offsets too (base + position in the buffer). */
#define POS(d, at) ((unsigned long long)((d)->base + (at)))

/* Read an item head: major type and argument, refusing non-shortest and indefinite forms. */
static int read_head(dec *d, unsigned *major, uint64_t *arg, uint8_t *ai_out)
{
    size_t at = d->pos;
    if (d->pos >= d->len)
        return DFAIL(d, TROVE_E_CORRUPT, at, "%s: CBOR ends early at byte %llu", d->what, POS(d, at));
    uint8_t ib = d->p[d->pos++];
    *major = ib >> 5;
    uint8_t ai = ib & 31;
    *ai_out = ai;
    if (ai < 24) {
        *arg = ai;
        return TROVE_OK;
    }
    if (ai > 27)
        return DFAIL(d, TROVE_E_CORRUPT, at,
                     "%s: CBOR byte 0x%02x at %llu: indefinite length or reserved encoding is not "
                     "canonical", d->what, ib, POS(d, at));
    size_t n = (size_t)1 << (ai - 24);
    if (d->len - d->pos < n)
        return DFAIL(d, TROVE_E_CORRUPT, at, "%s: CBOR item head at %llu ends early", d->what, POS(d, at));
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | d->p[d->pos++];
    *arg = v;
    if (*major == 7)
        return TROVE_OK; /* floats: the caller checks which widths are allowed */
    static const uint64_t min_for[4] = {24, 0x100, 0x10000, UINT64_C(0x100000000)};
    if (v < min_for[ai - 24])
        return DFAIL(d, TROVE_E_CORRUPT, at,
                     "%s: CBOR integer or length at %llu not in its shortest form", d->what, POS(d, at));
    return TROVE_OK;
}

static int decode_item(dec *d, uint32_t depth, trove_value **out);

static int decode_text(dec *d, uint64_t n, size_t at, bool is_key, char **out)
{
    if (n > d->len - d->pos)
        return DFAIL(d, TROVE_E_CORRUPT, at, "%s: %s of %llu bytes at %llu runs past the end",
                     d->what, is_key ? "key" : "string", (unsigned long long)n, POS(d, at));
    const char *s = (const char *)d->p + d->pos;
    if (!trove__utf8_valid(s, (size_t)n))
        return DFAIL(d, TROVE_E_CORRUPT, at, "%s: %s at %llu is not valid UTF-8", d->what,
                     is_key ? "key" : "string", POS(d, at));
    if (is_key && memchr(s, '\0', (size_t)n))
        return DFAIL(d, TROVE_E_CORRUPT, at, "%s: key at %llu contains a NUL character", d->what, POS(d, at));
    char *copy = trove__strndup(d->alloc, s, (size_t)n);
    if (!copy)
        return DFAIL(d, TROVE_E_NOMEM, at, "out of memory decoding %s", d->what);
    d->pos += (size_t)n;
    *out = copy;
    return TROVE_OK;
}

static int decode_item(dec *d, uint32_t depth, trove_value **out)
{
    size_t at = d->pos;
    unsigned major;
    uint64_t arg;
    uint8_t ai;
    int rc = read_head(d, &major, &arg, &ai);
    if (rc)
        return rc;
    if (++d->items > TROVE_LIMIT_ITEMS)
        return DFAIL(d, TROVE_E_LIMIT, at, "%s: more than %u items", d->what, TROVE_LIMIT_ITEMS);
    trove_value *v = NULL;
    switch (major) {
    case 0:
        v = arg <= (uint64_t)INT64_MAX ? trove_value_int(d->alloc, (int64_t)arg)
                                       : trove_value_uint(d->alloc, arg);
        break;
    case 1:
        if (arg > (uint64_t)INT64_MAX)
            return DFAIL(d, TROVE_E_CORRUPT, at, "%s: negative integer at %llu below INT64_MIN",
                         d->what, POS(d, at));
        v = trove_value_int(d->alloc, -1 - (int64_t)arg);
        break;
    case 2:
    case 3: {
        char *s;
        if (major == 2) {
            if (arg > d->len - d->pos)
                return DFAIL(d, TROVE_E_CORRUPT, at, "%s: byte string of %llu bytes at %llu runs "
                             "past the end", d->what, (unsigned long long)arg, POS(d, at));
            s = trove__strndup(d->alloc, (const char *)d->p + d->pos, (size_t)arg);
            if (!s)
                return DFAIL(d, TROVE_E_NOMEM, at, "out of memory decoding %s", d->what);
            d->pos += (size_t)arg;
        } else if ((rc = decode_text(d, arg, at, false, &s)) != TROVE_OK) {
            return rc;
        }
        v = trove__value_string_own(d->alloc, major == 2 ? TROVE_VALUE_BYTES : TROVE_VALUE_STRING,
                                    s, (size_t)arg);
        if (!v)
            trove__free(d->alloc, s);
        break;
    }
    case 4:
    case 5: {
        if (depth >= d->max_depth)
            return DFAIL(d, TROVE_E_LIMIT, at, "%s: nesting deeper than %u at %llu", d->what,
                         d->max_depth, POS(d, at));
        /* Every element takes at least one byte (two for a map entry): a count larger than
         * what remains is a lie, refused before anything is allocated. */
        uint64_t min_bytes = major == 5 ? arg * 2 : arg;
        if (arg > d->len - d->pos || min_bytes > d->len - d->pos)
            return DFAIL(d, TROVE_E_CORRUPT, at, "%s: %s of %llu items at %llu cannot fit in the "
                         "%zu bytes that remain", d->what, major == 4 ? "array" : "map",
                         (unsigned long long)arg, POS(d, at), d->len - d->pos);
        v = major == 4 ? trove_value_array(d->alloc) : trove_value_map(d->alloc);
        if (!v)
            return DFAIL(d, TROVE_E_NOMEM, at, "out of memory decoding %s", d->what);
        for (uint64_t i = 0; i < arg; i++) {
            char *key = NULL;
            size_t keylen = 0, kat = d->pos;
            if (major == 5) {
                unsigned km;
                uint64_t klen;
                uint8_t kai;
                if ((rc = read_head(d, &km, &klen, &kai)) != TROVE_OK)
                    goto fail_v;
                if (++d->items > TROVE_LIMIT_ITEMS) { /* keys cost memory like values */
                    rc = DFAIL(d, TROVE_E_LIMIT, kat, "%s: more than %u items", d->what,
                               TROVE_LIMIT_ITEMS);
                    goto fail_v;
                }
                if (km != 3) {
                    rc = DFAIL(d, TROVE_E_CORRUPT, kat, "%s: map key at %llu is not a text string",
                               d->what, POS(d, kat));
                    goto fail_v;
                }
                if ((rc = decode_text(d, klen, kat, true, &key)) != TROVE_OK)
                    goto fail_v;
                keylen = (size_t)klen;
                if (v->as.m.n > 0) {
                    const trove__map_entry *prev = &v->as.m.e[v->as.m.n - 1];
                    int c = trove__key_cmp(prev->key, prev->keylen, key, keylen);
                    if (c >= 0) {
                        rc = DFAIL(d, TROVE_E_CORRUPT, kat,
                                   "%s: map key '%.64s' at %llu is %s", d->what, key, POS(d, kat),
                                   c == 0 ? "a duplicate" : "out of canonical order");
                        trove__free(d->alloc, key);
                        goto fail_v;
                    }
                }
            }
            trove_value *item = NULL;
            if ((rc = decode_item(d, depth + 1, &item)) != TROVE_OK) {
                trove__free(d->alloc, key);
                goto fail_v;
            }
            rc = major == 4 ? trove_value_array_take(v, item)
                            : trove__map_append(v, key, keylen, item);
            if (rc) {
                if (major == 5) {
                    trove__free(d->alloc, key);
                    trove_value_free(item);
                }
                rc = DFAIL(d, TROVE_E_NOMEM, at, "out of memory decoding %s", d->what);
                goto fail_v;
            }
        }
        break;
    fail_v:
        trove_value_free(v);
        return rc;
    }
    case 6:
        return DFAIL(d, TROVE_E_CORRUPT, at, "%s: CBOR tag at %llu is not allowed", d->what, POS(d, at));
    case 7:
        if (ai == 20 || ai == 21)
            v = trove_value_bool(d->alloc, ai == 21);
        else if (ai == 22)
            v = trove_value_null(d->alloc);
        else if (ai == 27) {
            double x;
            memcpy(&x, &arg, 8);
            if (isnan(x) && arg != UINT64_C(0x7ff8000000000000))
                return DFAIL(d, TROVE_E_CORRUPT, at, "%s: NaN at %llu is not the canonical NaN",
                             d->what, POS(d, at));
            v = trove_value_float(d->alloc, x);
        } else
            return DFAIL(d, TROVE_E_CORRUPT, at, "%s: CBOR simple value or float width (0x%02x) "
                         "at %llu is not allowed (floats are 64-bit)", d->what, d->p[at], POS(d, at));
        break;
    }
    if (!v)
        return DFAIL(d, TROVE_E_NOMEM, at, "out of memory decoding %s", d->what);
    *out = v;
    return TROVE_OK;
}

int trove__cbor_decode(const void *p, size_t len, uint64_t base, const trove_allocator *alloc,
                       uint32_t max_depth, const char *what, trove_value **out, trove_error *err)
{
    dec d = {p, len, 0, base, max_depth ? max_depth : TROVE_LIMIT_DEPTH, 0, alloc, err, what};
    trove_value *v = NULL;
    int rc = decode_item(&d, 0, &v);
    if (rc)
        return rc;
    if (d.pos != len) {
        trove_value_free(v);
        return DFAIL(&d, TROVE_E_CORRUPT, d.pos, "%s: %zu trailing bytes after the CBOR item",
                     what, len - d.pos);
    }
    *out = v;
    return TROVE_OK;
}

TROVE_API int trove_value_decode(const void *p, size_t len, const trove_allocator *alloc,
                                 uint32_t max_depth, trove_value **out, trove_error *err)
{
    if ((!p && len) || !out)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_value_decode: NULL argument");
    if (max_depth > TROVE_LIMIT_DEPTH)
        max_depth = TROVE_LIMIT_DEPTH;
    return trove__cbor_decode(p, len, 0, alloc, max_depth, "metadata", out, err);
}
