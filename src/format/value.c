/* value.c: the metadata tree (trove_value): constructors, maps kept in canonical key order,
 * accessors. Encoding lives in cbor.c and json.c. */
#include <math.h>
#include <string.h>

#include "format/value.h"

trove_value *trove__value_new(const trove_allocator *a, trove_value_type t)
{
    trove_value *v = trove__calloc(a, 1, sizeof *v);
    if (v) {
        v->alloc = a;
        v->type = t;
    }
    return v;
}

TROVE_API trove_value *trove_value_null(const trove_allocator *a)
{
    return trove__value_new(a, TROVE_VALUE_NULL);
}

TROVE_API trove_value *trove_value_bool(const trove_allocator *a, int b)
{
    trove_value *v = trove__value_new(a, TROVE_VALUE_BOOL);
    if (v)
        v->as.b = b != 0;
    return v;
}

TROVE_API trove_value *trove_value_int(const trove_allocator *a, int64_t i)
{
    trove_value *v = trove__value_new(a, TROVE_VALUE_INT);
    if (v)
        v->as.i = i;
    return v;
}

TROVE_API trove_value *trove_value_uint(const trove_allocator *a, uint64_t u)
{
    /* One integer kind on disk: values that fit int64 are INT (see core.h). */
    if (u <= (uint64_t)INT64_MAX)
        return trove_value_int(a, (int64_t)u);
    trove_value *v = trove__value_new(a, TROVE_VALUE_UINT);
    if (v)
        v->as.u = u;
    return v;
}

TROVE_API trove_value *trove_value_float(const trove_allocator *a, double d)
{
    trove_value *v = trove__value_new(a, TROVE_VALUE_FLOAT);
    if (v)
        v->as.d = isnan(d) ? NAN : d; /* one NaN: the canonical quiet NaN */
    return v;
}

trove_value *trove__value_string_own(const trove_allocator *a, trove_value_type t, char *p,
                                     size_t len)
{
    trove_value *v = trove__value_new(a, t);
    if (!v)
        return NULL;
    v->as.s.p = p;
    v->as.s.len = len;
    return v;
}

static trove_value *string_like(const trove_allocator *a, trove_value_type t, const void *p,
                                size_t len)
{
    if (t == TROVE_VALUE_STRING && !trove__utf8_valid(p, len))
        return NULL;
    char *copy = trove__strndup(a, len ? p : "", len);
    if (!copy)
        return NULL;
    trove_value *v = trove__value_string_own(a, t, copy, len);
    if (!v)
        trove__free(a, copy);
    return v;
}

TROVE_API trove_value *trove_value_string(const trove_allocator *a, const char *s, size_t len)
{
    if (!s && len)
        return NULL;
    return string_like(a, TROVE_VALUE_STRING, s, len);
}

TROVE_API trove_value *trove_value_cstring(const trove_allocator *a, const char *s)
{
    return s ? string_like(a, TROVE_VALUE_STRING, s, strlen(s)) : NULL;
}

TROVE_API trove_value *trove_value_bytes(const trove_allocator *a, const void *p, size_t len)
{
    if (!p && len)
        return NULL;
    return string_like(a, TROVE_VALUE_BYTES, p, len);
}

TROVE_API trove_value *trove_value_array(const trove_allocator *a)
{
    return trove__value_new(a, TROVE_VALUE_ARRAY);
}

TROVE_API trove_value *trove_value_map(const trove_allocator *a)
{
    return trove__value_new(a, TROVE_VALUE_MAP);
}

TROVE_API void trove_value_free(trove_value *v)
{
    if (!v)
        return;
    const trove_allocator *a = v->alloc;
    switch (v->type) {
    case TROVE_VALUE_STRING:
    case TROVE_VALUE_BYTES:
        trove__free(a, v->as.s.p);
        break;
    case TROVE_VALUE_ARRAY:
        for (size_t i = 0; i < v->as.a.n; i++)
            trove_value_free(v->as.a.items[i]);
        trove__free(a, v->as.a.items);
        break;
    case TROVE_VALUE_MAP:
        for (size_t i = 0; i < v->as.m.n; i++) {
            trove__free(a, v->as.m.e[i].key);
            trove_value_free(v->as.m.e[i].value);
        }
        trove__free(a, v->as.m.e);
        break;
    default:
        break;
    }
    trove__free(a, v);
}

TROVE_API trove_value *trove_value_clone(const trove_value *v)
{
    if (!v)
        return NULL;
    const trove_allocator *a = v->alloc;
    switch (v->type) {
    case TROVE_VALUE_STRING:
    case TROVE_VALUE_BYTES:
        return string_like(a, v->type, v->as.s.p, v->as.s.len);
    case TROVE_VALUE_ARRAY: {
        trove_value *c = trove_value_array(a);
        for (size_t i = 0; c && i < v->as.a.n; i++) {
            trove_value *item = trove_value_clone(v->as.a.items[i]);
            if (!item || trove_value_array_take(c, item) != TROVE_OK) {
                trove_value_free(c);
                return NULL;
            }
        }
        return c;
    }
    case TROVE_VALUE_MAP: {
        trove_value *c = trove_value_map(a);
        for (size_t i = 0; c && i < v->as.m.n; i++) {
            const trove__map_entry *e = &v->as.m.e[i];
            trove_value *item = trove_value_clone(e->value);
            char *key = item ? trove__strndup(a, e->key, e->keylen) : NULL;
            if (!key || trove__map_append(c, key, e->keylen, item) != TROVE_OK) {
                trove__free(a, key);
                trove_value_free(item);
                trove_value_free(c);
                return NULL;
            }
        }
        return c;
    }
    default: {
        trove_value *c = trove__value_new(a, v->type);
        if (c)
            c->as = v->as;
        return c;
    }
    }
}

TROVE_API int trove_value_array_take(trove_value *arr, trove_value *item)
{
    if (!arr || arr->type != TROVE_VALUE_ARRAY || !item) {
        trove_value_free(item);
        return TROVE_E_INVALID;
    }
    if (arr->as.a.n == arr->as.a.cap) {
        size_t ncap = arr->as.a.cap ? arr->as.a.cap * 2 : 4;
        trove_value **ni = trove__realloc(arr->alloc, arr->as.a.items, ncap * sizeof *ni);
        if (!ni) {
            trove_value_free(item);
            return TROVE_E_NOMEM;
        }
        arr->as.a.items = ni;
        arr->as.a.cap = ncap;
    }
    arr->as.a.items[arr->as.a.n++] = item;
    return TROVE_OK;
}

int trove__key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return alen < blen ? -1 : 1;
    return memcmp(a, b, alen);
}

static int map_grow(trove_value *map)
{
    if (map->as.m.n < map->as.m.cap)
        return TROVE_OK;
    size_t ncap = map->as.m.cap ? map->as.m.cap * 2 : 4;
    trove__map_entry *ne = trove__realloc(map->alloc, map->as.m.e, ncap * sizeof *ne);
    if (!ne)
        return TROVE_E_NOMEM;
    map->as.m.e = ne;
    map->as.m.cap = ncap;
    return TROVE_OK;
}

int trove__map_append(trove_value *map, char *key, size_t keylen, trove_value *item)
{
    int rc = map_grow(map);
    if (rc)
        return rc;
    map->as.m.e[map->as.m.n++] = (trove__map_entry){key, keylen, item};
    return TROVE_OK;
}

/* Index of key, or -(insertion point) - 1. */
static ptrdiff_t map_search(const trove_value *map, const char *key, size_t keylen)
{
    size_t lo = 0, hi = map->as.m.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const trove__map_entry *e = &map->as.m.e[mid];
        int c = trove__key_cmp(e->key, e->keylen, key, keylen);
        if (c == 0)
            return (ptrdiff_t)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(ptrdiff_t)lo - 1;
}

TROVE_API int trove_value_map_take(trove_value *map, const char *key, size_t keylen,
                                   trove_value *item)
{
    if (!map || map->type != TROVE_VALUE_MAP || !item || !key ||
        !trove__utf8_valid(key, keylen) || memchr(key, '\0', keylen)) {
        trove_value_free(item);
        return TROVE_E_INVALID;
    }
    ptrdiff_t at = map_search(map, key, keylen);
    if (at >= 0) {
        trove_value_free(map->as.m.e[at].value);
        map->as.m.e[at].value = item;
        return TROVE_OK;
    }
    size_t pos = (size_t)(-(at + 1));
    char *k = trove__strndup(map->alloc, key, keylen);
    if (!k || map_grow(map) != TROVE_OK) {
        trove__free(map->alloc, k);
        trove_value_free(item);
        return TROVE_E_NOMEM;
    }
    memmove(&map->as.m.e[pos + 1], &map->as.m.e[pos], (map->as.m.n - pos) * sizeof(trove__map_entry));
    map->as.m.e[pos] = (trove__map_entry){k, keylen, item};
    map->as.m.n++;
    return TROVE_OK;
}

TROVE_API int trove_value_map_set(trove_value *map, const char *key, trove_value *item)
{
    if (!key) {
        trove_value_free(item);
        return TROVE_E_INVALID;
    }
    return trove_value_map_take(map, key, strlen(key), item);
}

TROVE_API int trove_value_map_remove(trove_value *map, const char *key)
{
    if (!map || map->type != TROVE_VALUE_MAP || !key)
        return TROVE_E_INVALID;
    ptrdiff_t at = map_search(map, key, strlen(key));
    if (at < 0)
        return TROVE_E_NOT_FOUND;
    trove__free(map->alloc, map->as.m.e[at].key);
    trove_value_free(map->as.m.e[at].value);
    memmove(&map->as.m.e[at], &map->as.m.e[at + 1],
            (map->as.m.n - (size_t)at - 1) * sizeof(trove__map_entry));
    map->as.m.n--;
    return TROVE_OK;
}

TROVE_API trove_value_type trove_value_type_of(const trove_value *v)
{
    return v ? v->type : TROVE_VALUE_NULL;
}

TROVE_API int trove_value_get_bool(const trove_value *v, int *out)
{
    if (!v || v->type != TROVE_VALUE_BOOL)
        return TROVE_E_TYPE;
    *out = v->as.b;
    return TROVE_OK;
}

TROVE_API int trove_value_get_int(const trove_value *v, int64_t *out)
{
    if (!v || v->type != TROVE_VALUE_INT)
        return TROVE_E_TYPE; /* UINT holds only values above INT64_MAX */
    *out = v->as.i;
    return TROVE_OK;
}

TROVE_API int trove_value_get_uint(const trove_value *v, uint64_t *out)
{
    if (v && v->type == TROVE_VALUE_UINT) {
        *out = v->as.u;
        return TROVE_OK;
    }
    if (v && v->type == TROVE_VALUE_INT && v->as.i >= 0) {
        *out = (uint64_t)v->as.i;
        return TROVE_OK;
    }
    return TROVE_E_TYPE;
}

TROVE_API int trove_value_get_float(const trove_value *v, double *out)
{
    if (!v)
        return TROVE_E_TYPE;
    switch (v->type) {
    case TROVE_VALUE_FLOAT: *out = v->as.d; return TROVE_OK;
    case TROVE_VALUE_INT: *out = (double)v->as.i; return TROVE_OK;
    case TROVE_VALUE_UINT: *out = (double)v->as.u; return TROVE_OK;
    default: return TROVE_E_TYPE;
    }
}

TROVE_API int trove_value_get_string(const trove_value *v, const char **s, size_t *len)
{
    if (!v || v->type != TROVE_VALUE_STRING)
        return TROVE_E_TYPE;
    *s = v->as.s.p;
    if (len)
        *len = v->as.s.len;
    return TROVE_OK;
}

TROVE_API int trove_value_get_bytes(const trove_value *v, const void **p, size_t *len)
{
    if (!v || v->type != TROVE_VALUE_BYTES)
        return TROVE_E_TYPE;
    *p = v->as.s.p;
    if (len)
        *len = v->as.s.len;
    return TROVE_OK;
}

TROVE_API size_t trove_value_count(const trove_value *v)
{
    if (!v)
        return 0;
    if (v->type == TROVE_VALUE_ARRAY)
        return v->as.a.n;
    if (v->type == TROVE_VALUE_MAP)
        return v->as.m.n;
    return 0;
}

TROVE_API const trove_value *trove_value_at(const trove_value *v, size_t i)
{
    if (!v || v->type != TROVE_VALUE_ARRAY || i >= v->as.a.n)
        return NULL;
    return v->as.a.items[i];
}

TROVE_API int trove_value_map_entry(const trove_value *v, size_t i, const char **key,
                                    size_t *keylen, const trove_value **item)
{
    if (!v || v->type != TROVE_VALUE_MAP || i >= v->as.m.n)
        return TROVE_E_NOT_FOUND;
    if (key)
        *key = v->as.m.e[i].key;
    if (keylen)
        *keylen = v->as.m.e[i].keylen;
    if (item)
        *item = v->as.m.e[i].value;
    return TROVE_OK;
}

TROVE_API const trove_value *trove_value_get(const trove_value *map, const char *key)
{
    if (!map || map->type != TROVE_VALUE_MAP || !key)
        return NULL;
    ptrdiff_t at = map_search(map, key, strlen(key));
    return at >= 0 ? map->as.m.e[at].value : NULL;
}

TROVE_API trove_value *trove_value_get_mut(trove_value *map, const char *key)
{
    return (trove_value *)trove_value_get(map, key);
}

TROVE_API const trove_value *trove_value_path(const trove_value *root, const char *dotted)
{
    const trove_value *v = root;
    const char *p = dotted;
    while (v && p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (v->type != TROVE_VALUE_MAP)
            return NULL;
        ptrdiff_t at = map_search(v, p, n);
        if (at < 0)
            return NULL;
        v = v->as.m.e[at].value;
        p = dot ? dot + 1 : NULL;
    }
    return v;
}

TROVE_API int trove_value_equal(const trove_value *a, const trove_value *b)
{
    if (!a || !b)
        return a == b;
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case TROVE_VALUE_NULL: return 1;
    case TROVE_VALUE_BOOL: return a->as.b == b->as.b;
    case TROVE_VALUE_INT: return a->as.i == b->as.i;
    case TROVE_VALUE_UINT: return a->as.u == b->as.u;
    case TROVE_VALUE_FLOAT: /* same canonical bytes: compare bit patterns */
        return memcmp(&a->as.d, &b->as.d, sizeof(double)) == 0;
    case TROVE_VALUE_STRING:
    case TROVE_VALUE_BYTES:
        return a->as.s.len == b->as.s.len && memcmp(a->as.s.p, b->as.s.p, a->as.s.len) == 0;
    case TROVE_VALUE_ARRAY:
        if (a->as.a.n != b->as.a.n)
            return 0;
        for (size_t i = 0; i < a->as.a.n; i++)
            if (!trove_value_equal(a->as.a.items[i], b->as.a.items[i]))
                return 0;
        return 1;
    case TROVE_VALUE_MAP:
        if (a->as.m.n != b->as.m.n)
            return 0;
        for (size_t i = 0; i < a->as.m.n; i++) {
            const trove__map_entry *x = &a->as.m.e[i], *y = &b->as.m.e[i];
            if (trove__key_cmp(x->key, x->keylen, y->key, y->keylen) != 0 ||
                !trove_value_equal(x->value, y->value))
                return 0;
        }
        return 1;
    }
    return 0;
}
