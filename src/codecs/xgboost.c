/* xgboost.c: import XGBoost's native model files (Booster.save_model: JSON, or UBJSON, the binary
 * JSON of XGBoost >= 1.6) into the tree_ensemble kind (gbtree, dart) or the linear kind (gblinear).
 *
 * Both encodings are read into one small value tree (xv, in the conversion arena): JSON through
 * jansson, UBJSON through the checked reader below (spec draft 12 as XGBoost writes it: big-endian
 * numbers, keys without a marker, typed and counted containers `[$d#L<n>`). Numeric arrays stay
 * packed (a view into the file for UBJSON, host doubles for JSON), so a model costs a few bytes
 * per number, not a node each. Nothing is executed; every count is checked against the bytes that
 * remain; nesting is limited to XV_MAX_DEPTH.
 *
 * Tolerant of versions 1.0 to 3.x: numbers written as strings ("5E-1", "3"), base_score as a
 * number, a string, or a bracketed vector ("[5E-1]", XGBoost >= 3.1), default_left as ints or
 * bools (or absent: right), the checkpoint layout {"Config", "Model": {"learner"}}, deleted
 * (unreachable) nodes, trees in any node order. Refused with a message: categorical splits,
 * vector leaves (multi_strategy="multi_output_tree"), objectives without a model-kind link. */
#include <float.h>
#include <jansson.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codecs/codecs_internal.h"

#define XV_MAX_DEPTH 64            /* XGBoost's own files nest 7 deep */
#define XV_MAX_STRING (64u << 20)  /* one string (the scikit_learn attribute is a few KB) */
#define XG_MAX_CLASSES 65536

/* ---- the value tree ------------------------------------------------------------------------ */
enum { XV_NULL, XV_BOOL, XV_INT, XV_REAL, XV_STR, XV_ARR, XV_OBJ, XV_TYPED };

typedef struct xv xv;
struct xv {
    uint8_t t;           /* XV_* */
    uint8_t et;          /* XV_TYPED: UBJSON element marker (i U I l L d D C); 'n': host double */
    uint64_t off;        /* byte offset in the file (UBJSON), TROVE_NO_OFFSET (JSON) */
    const char *key;     /* member of an object: its key (NUL-terminated copy) */
    xv *next;            /* next member or element */
    union {
        int64_t i;
        double d;
        struct { const char *p; size_t n; } s;          /* NUL-terminated copy */
        struct { xv *first, *last; size_t n; } c;       /* XV_ARR, XV_OBJ */
        struct { const uint8_t *p; size_t n; } ta;      /* XV_TYPED: n elements at p */
    } u;
};

static size_t et_size(uint8_t et)
{
    switch (et) {
    case 'i': case 'U': case 'C': return 1;
    case 'I': return 2;
    case 'l': case 'd': return 4;
    case 'L': case 'D': case 'n': return 8;
    default: return 0;
    }
}

static uint64_t be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Element i of a typed array, as a double. */
static double ta_get(const xv *v, size_t i)
{
    const uint8_t *p = v->u.ta.p + i * et_size(v->et);
    switch (v->et) {
    case 'i': return (double)(int8_t)p[0];
    case 'U': case 'C': return (double)p[0];
    case 'I': return (double)(int16_t)(uint16_t)be(p, 2);
    case 'l': return (double)(int32_t)(uint32_t)be(p, 4);
    case 'L': return (double)(int64_t)be(p, 8);
    case 'd': {
        uint32_t b = (uint32_t)be(p, 4);
        float f;
        memcpy(&f, &b, 4);
        return (double)f;
    }
    case 'D': {
        uint64_t b = be(p, 8);
        double d;
        memcpy(&d, &b, 8);
        return d;
    }
    default: { /* 'n' */
        double d;
        memcpy(&d, p, 8);
        return d;
    }
    }
}

static xv *xv_new(pk_arena *a, uint8_t t, uint64_t off)
{
    xv *v = pk_alloc(a, sizeof *v);
    if (v) {
        memset(v, 0, sizeof *v);
        v->t = t;
        v->off = off;
    }
    return v;
}

static void xv_add(xv *c, xv *item)
{
    if (c->u.c.last)
        c->u.c.last->next = item;
    else
        c->u.c.first = item;
    c->u.c.last = item;
    c->u.c.n++;
}

static char *xv_strdup(pk_arena *a, const char *p, size_t n)
{
    char *s = pk_alloc(a, n + 1);
    if (s) {
        if (n)
            memcpy(s, p, n);
        s[n] = 0;
    }
    return s;
}

/* ---- UBJSON reader ------------------------------------------------------------------------- */
typedef struct ub {
    const uint8_t *b;
    size_t n, pos;
    pk_arena *a;
    trove_error *err;
} ub;

TROVE_PRINTF(3, 4)
static int ub_fail(ub *u, uint64_t off, const char *fmt, ...)
{
    char why[220];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return trove__fail(u->err, TROVE_E_CORRUPT, off, "XGBoost UBJSON: %s (at byte %llu)", why,
                       (unsigned long long)off);
}

static int ub_nomem(ub *u)
{
    return trove__fail(u->err, pk_arena_over_budget(u->a) ? TROVE_E_LIMIT : TROVE_E_NOMEM,
                       TROVE_NO_OFFSET, "XGBoost UBJSON: out of memory (the importer's budget)");
}

static int ub_byte(ub *u, uint8_t *m, const char *what)
{
    *m = 0;
    if (u->pos >= u->n)
        return ub_fail(u, u->pos, "the file ends where %s was expected", what);
    *m = u->b[u->pos++];
    return TROVE_OK;
}

/* The payload of an integer of marker m. */
static int ub_intval(ub *u, uint8_t m, int64_t *out)
{
    size_t sz = et_size(m);
    if (m != 'i' && m != 'U' && m != 'I' && m != 'l' && m != 'L')
        return ub_fail(u, u->pos - 1, "marker 0x%02x where an integer was expected", m);
    if (u->n - u->pos < sz)
        return ub_fail(u, u->pos, "the file ends inside a %zu-byte integer", sz);
    xv tmp = {.et = m, .u.ta = {u->b + u->pos, 1}};
    *out = m == 'L' ? (int64_t)be(u->b + u->pos, 8) : (int64_t)ta_get(&tmp, 0);
    u->pos += sz;
    return TROVE_OK;
}

/* A length or count: an integer with its marker, 0 <= v <= the bytes that remain / unit. */
static int ub_count(ub *u, size_t unit, const char *what, size_t *out)
{
    uint64_t at = u->pos;
    uint8_t m;
    int64_t v;
    int rc;
    if ((rc = ub_byte(u, &m, what)) || (rc = ub_intval(u, m, &v)))
        return rc;
    if (v < 0)
        return ub_fail(u, at, "negative %s %lld", what, (long long)v);
    if (unit && (uint64_t)v > (u->n - u->pos) / unit)
        return ub_fail(u, at, "%s %lld exceeds the %zu bytes that remain", what, (long long)v,
                       u->n - u->pos);
    *out = (size_t)v;
    return TROVE_OK;
}

static int ub_value(ub *u, uint8_t m, int depth, xv **out);

/* After '[' or '{': the optional $type and #count of an optimised container. */
static int ub_header(ub *u, uint8_t *type, bool *counted, size_t *count, size_t unit)
{
    *type = 0;
    *counted = false;
    if (u->pos < u->n && u->b[u->pos] == '$') {
        u->pos++;
        int rc = ub_byte(u, type, "a container element type");
        if (rc)
            return rc;
        if (u->pos >= u->n || u->b[u->pos] != '#')
            return ub_fail(u, u->pos, "a typed container ($%c) without its count (#)", *type);
    }
    if (u->pos < u->n && u->b[u->pos] == '#') {
        u->pos++;
        *counted = true;
        size_t esz = *type ? et_size(*type) : 0;
        return ub_count(u, esz ? esz : unit, "container count", count);
    }
    return TROVE_OK;
}

static int ub_array(ub *u, uint64_t at, int depth, xv **out)
{
    uint8_t type;
    bool counted;
    size_t count = 0;
    int rc = ub_header(u, &type, &counted, &count, 1);
    if (rc)
        return rc;
    if (type) {
        if (!et_size(type) || type == 'n')
            return ub_fail(u, at, "typed array of type '%c': not supported (numbers only)",
                           type >= 32 && type < 127 ? type : '?');
        xv *v = xv_new(u->a, XV_TYPED, at);
        if (!v)
            return ub_nomem(u);
        v->et = type;
        v->u.ta.p = u->b + u->pos;
        v->u.ta.n = count;
        u->pos += count * et_size(type); /* checked by ub_count */
        *out = v;
        return TROVE_OK;
    }
    xv *arr = xv_new(u->a, XV_ARR, at);
    if (!arr)
        return ub_nomem(u);
    for (size_t i = 0; !counted || i < count; i++) {
        uint8_t m;
        if ((rc = ub_byte(u, &m, counted ? "an array element" : "an array element or ']'")))
            return rc;
        if (!counted && m == ']')
            break;
        if (m == 'N') { /* no-op: not an element */
            i--;
            continue;
        }
        xv *e;
        if ((rc = ub_value(u, m, depth + 1, &e)))
            return rc;
        xv_add(arr, e);
    }
    *out = arr;
    return TROVE_OK;
}

static int ub_object(ub *u, uint64_t at, int depth, xv **out)
{
    uint8_t type;
    bool counted;
    size_t count = 0;
    int rc = ub_header(u, &type, &counted, &count, 2); /* a key length and a value at least */
    if (rc)
        return rc;
    if (type && (!et_size(type) || type == 'n') && !strchr("ZTFSH", type))
        return ub_fail(u, at, "typed object of type 0x%02x: not supported", type);
    xv *obj = xv_new(u->a, XV_OBJ, at);
    if (!obj)
        return ub_nomem(u);
    for (size_t i = 0; !counted || i < count; i++) {
        if (!counted) {
            if (u->pos >= u->n)
                return ub_fail(u, u->pos, "the file ends inside an object (no '}')");
            if (u->b[u->pos] == '}') {
                u->pos++;
                break;
            }
            if (u->b[u->pos] == 'N') {
                u->pos++;
                i--;
                continue;
            }
        }
        uint64_t kat = u->pos;
        size_t kl;
        if ((rc = ub_count(u, 1, "key length", &kl)))
            return rc;
        if (memchr(u->b + u->pos, 0, kl))
            return ub_fail(u, kat, "a key with a NUL byte");
        char *key = xv_strdup(u->a, (const char *)u->b + u->pos, kl);
        if (!key)
            return ub_nomem(u);
        u->pos += kl;
        uint8_t m = type;
        if (!m && (rc = ub_byte(u, &m, "a value")))
            return rc;
        xv *e;
        if ((rc = ub_value(u, m, depth + 1, &e)))
            return rc;
        e->key = key;
        xv_add(obj, e);
    }
    *out = obj;
    return TROVE_OK;
}

/* One value whose marker m was just read. */
static int ub_value(ub *u, uint8_t m, int depth, xv **out)
{
    uint64_t at = u->pos - 1;
    int rc;
    if (depth > XV_MAX_DEPTH)
        return trove__fail(u->err, TROVE_E_LIMIT, at, "XGBoost UBJSON: nested deeper than %d "
                           "levels (at byte %llu)", XV_MAX_DEPTH, (unsigned long long)at);
    while (m == 'N') /* no-op */
        if ((rc = ub_byte(u, &m, "a value")))
            return rc;
    xv *v = NULL;
    switch (m) {
    case '[':
        return ub_array(u, at, depth, out);
    case '{':
        return ub_object(u, at, depth, out);
    case 'Z': case 'T': case 'F':
        v = xv_new(u->a, m == 'Z' ? XV_NULL : XV_BOOL, at);
        if (v)
            v->u.i = m == 'T';
        break;
    case 'i': case 'U': case 'I': case 'l': case 'L': {
        int64_t i;
        if ((rc = ub_intval(u, m, &i)))
            return rc;
        if ((v = xv_new(u->a, XV_INT, at)))
            v->u.i = i;
        break;
    }
    case 'd': case 'D': {
        size_t sz = et_size(m);
        if (u->n - u->pos < sz)
            return ub_fail(u, at, "the file ends inside a float");
        xv tmp = {.et = m, .u.ta = {u->b + u->pos, 1}};
        if ((v = xv_new(u->a, XV_REAL, at)))
            v->u.d = ta_get(&tmp, 0);
        u->pos += sz;
        break;
    }
    case 'C': case 'S': case 'H': {
        size_t n = 1;
        if (m != 'C' && (rc = ub_count(u, 1, "string length", &n)))
            return rc;
        if (m == 'C' && u->pos >= u->n)
            return ub_fail(u, at, "the file ends inside a char");
        if (n > XV_MAX_STRING)
            return trove__fail(u->err, TROVE_E_LIMIT, at, "XGBoost UBJSON: a string of %zu "
                               "bytes (limit %u)", n, XV_MAX_STRING);
        if ((v = xv_new(u->a, XV_STR, at))) {
            v->u.s.p = xv_strdup(u->a, (const char *)u->b + u->pos, n);
            v->u.s.n = n;
            if (!v->u.s.p)
                v = NULL;
        }
        u->pos += n;
        break;
    }
    default:
        return ub_fail(u, at, "unknown marker 0x%02x", m);
    }
    if (!v)
        return ub_nomem(u);
    *out = v;
    return TROVE_OK;
}

static int ub_parse(pk_arena *a, const uint8_t *buf, size_t len, xv **root, trove_error *err)
{
    ub u = {buf, len, 0, a, err};
    uint8_t m;
    int rc = ub_byte(&u, &m, "the top-level object");
    if (rc)
        return rc;
    if (m != '{')
        return ub_fail(&u, 0, "the top level is not an object");
    if ((rc = ub_value(&u, m, 1, root)))
        return rc;
    while (u.pos < u.n && (u.b[u.pos] == 'N' || u.b[u.pos] == 0 || u.b[u.pos] == '\n'))
        u.pos++;
    if (u.pos != u.n)
        return ub_fail(&u, u.pos, "%zu bytes after the top-level object", u.n - u.pos);
    return TROVE_OK;
}

/* ---- JSON (jansson) into the same tree ------------------------------------------------------ */
/* XGBoost's JSON writer prints non-finite floats as NaN, Infinity, -Infinity (and some versions
 * inf/-inf, nan), which jansson refuses. Outside strings, at token boundaries, they are rewritten
 * (in a copy) to doubles that no float32 can be, and mapped back after parsing. */
#define JS_NAN 1.5e-300
#define JS_PINF 2.5e-300
#define JS_NINF -2.5e-300

static bool js_delim(uint8_t c)
{
    return c == ',' || c == ']' || c == '}' || c == ':' || c == '[' || c == ' ' || c == '\n' ||
           c == '\r' || c == '\t';
}

/* Number of non-finite tokens in buf; when out is not NULL, the rewritten text goes there
 * (at most len + 8 bytes per token). *values (may be NULL): an upper bound of the values. */
static size_t js_nonfinite(const uint8_t *buf, size_t len, char *out, size_t *out_len,
                           size_t *values)
{
    static const struct { const char *tok; const char *rep; } T[] = {
        {"-Infinity", "-2.5e-300"}, {"Infinity", "2.5e-300"}, {"NaN", "1.5e-300"},
        {"-inf", "-2.5e-300"}, {"inf", "2.5e-300"}, {"nan", "1.5e-300"}, {"-nan", "1.5e-300"},
    };
    size_t n = 0, o = 0, nv = 1;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = buf[i];
        if (!in_str && (c == ',' || c == '[' || c == '{'))
            nv++;
        if (in_str) {
            if (c == '\\' && i + 1 < len) { /* an escape: both bytes as they are */
                if (out)
                    out[o++] = (char)c;
                c = buf[++i];
            } else if (c == '"') {
                in_str = false;
            }
        } else if (c == '"') {
            in_str = true;
        } else if ((c == 'N' || c == 'I' || c == 'i' || c == 'n' || c == '-') &&
                   (i == 0 || js_delim(buf[i - 1]))) {
            for (size_t k = 0; k < sizeof T / sizeof T[0]; k++) {
                size_t tl = strlen(T[k].tok);
                if (len - i >= tl && !memcmp(buf + i, T[k].tok, tl) &&
                    (i + tl == len || js_delim(buf[i + tl]))) {
                    n++;
                    if (out) {
                        size_t rl = strlen(T[k].rep);
                        memcpy(out + o, T[k].rep, rl);
                        o += rl;
                    }
                    i += tl - 1;
                    c = 0;
                    break;
                }
            }
            if (!c)
                continue;
        }
        if (out)
            out[o++] = (char)buf[i];
    }
    if (out_len)
        *out_len = o;
    if (values)
        *values = nv;
    return n;
}

static double js_real(double d)
{
    return d == JS_NAN ? NAN : d == JS_PINF ? INFINITY : d == JS_NINF ? -INFINITY : d;
}
static int js_conv(pk_arena *a, const json_t *j, int depth, xv **out, trove_error *err)
{
    if (depth > XV_MAX_DEPTH)
        return trove__fail(err, TROVE_E_LIMIT, TROVE_NO_OFFSET, "XGBoost JSON: nested deeper "
                           "than %d levels", XV_MAX_DEPTH);
    xv *v = NULL;
    int rc;
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        if (!(v = xv_new(a, XV_OBJ, TROVE_NO_OFFSET)))
            break;
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)j, k, e) {
            xv *c;
            if ((rc = js_conv(a, e, depth + 1, &c, err)))
                return rc;
            if (!(c->key = xv_strdup(a, k, strlen(k)))) {
                v = NULL;
                break;
            }
            xv_add(v, c);
        }
        break;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(j), i;
        for (i = 0; i < n && (json_is_number(json_array_get(j, i)) ||
                              json_is_boolean(json_array_get(j, i))); i++)
            ;
        if (n && i == n) { /* all numbers: packed host doubles */
            double *d = n <= SIZE_MAX / 8 ? pk_alloc(a, n * 8) : NULL;
            if (!d || !(v = xv_new(a, XV_TYPED, TROVE_NO_OFFSET)))
                break;
            for (i = 0; i < n; i++) {
                const json_t *e = json_array_get(j, i);
                d[i] = json_is_boolean(e) ? (json_is_true(e) ? 1.0 : 0.0)
                                          : js_real(json_number_value(e));
            }
            v->et = 'n';
            v->u.ta.p = (const uint8_t *)d;
            v->u.ta.n = n;
            break;
        }
        if (!(v = xv_new(a, XV_ARR, TROVE_NO_OFFSET)))
            break;
        for (i = 0; i < n; i++) {
            xv *c;
            if ((rc = js_conv(a, json_array_get(j, i), depth + 1, &c, err)))
                return rc;
            xv_add(v, c);
        }
        break;
    }
    case JSON_STRING:
        if ((v = xv_new(a, XV_STR, TROVE_NO_OFFSET))) {
            v->u.s.n = json_string_length(j);
            v->u.s.p = xv_strdup(a, json_string_value(j), v->u.s.n);
            if (!v->u.s.p)
                v = NULL;
        }
        break;
    case JSON_INTEGER:
        if ((v = xv_new(a, XV_INT, TROVE_NO_OFFSET)))
            v->u.i = (int64_t)json_integer_value(j);
        break;
    case JSON_REAL:
        if ((v = xv_new(a, XV_REAL, TROVE_NO_OFFSET)))
            v->u.d = js_real(json_real_value(j));
        break;
    case JSON_TRUE: case JSON_FALSE:
        if ((v = xv_new(a, XV_BOOL, TROVE_NO_OFFSET)))
            v->u.i = json_is_true(j);
        break;
    default:
        v = xv_new(a, XV_NULL, TROVE_NO_OFFSET);
        break;
    }
    if (!v)
        return trove__fail(err, pk_arena_over_budget(a) ? TROVE_E_LIMIT : TROVE_E_NOMEM,
                           TROVE_NO_OFFSET, "XGBoost JSON: out of memory (the importer's budget)");
    *out = v;
    return TROVE_OK;
}

/* What jansson allocates per value, about (a json_t, its malloc header, an array slot): it does
 * not allocate through trove's allocator, so its memory is bounded before it runs. */
#define JS_BYTES_PER_VALUE 96

static int js_parse(pk_arena *a, const trove_allocator *alloc, const uint8_t *buf, size_t len,
                    uint64_t max_bytes, xv **root, trove_error *err)
{
    json_error_t je;
    char *copy = NULL;
    if (len >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF) {
        buf += 3; /* a UTF-8 byte order mark (an editor's) */
        len -= 3;
    }
    size_t nv;
    size_t nf = js_nonfinite(buf, len, NULL, NULL, &nv);
    if ((uint64_t)nv > max_bytes / JS_BYTES_PER_VALUE)
        return trove__fail(err, TROVE_E_LIMIT, TROVE_NO_OFFSET, "XGBoost JSON: %zu values would "
                           "take about %llu MiB to parse, over the importer's limit (%llu MiB): "
                           "save the model as UBJSON (.ubj), which is read in place", nv,
                           (unsigned long long)((uint64_t)nv * JS_BYTES_PER_VALUE >> 20),
                           (unsigned long long)(max_bytes >> 20));
    if (nf) { /* each token grows by at most 6 bytes */
        if (nf > (SIZE_MAX - len) / 8 || !(copy = trove__malloc(alloc, len + 8 * nf)))
            return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "XGBoost JSON: out of "
                               "memory");
        js_nonfinite(buf, len, copy, &len, NULL);
        buf = (const uint8_t *)copy;
    }
    json_t *j = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je);
    trove__free(alloc, copy);
    if (!j)
        return trove__fail(err, TROVE_E_CORRUPT, (uint64_t)je.position, "XGBoost JSON: %s (line "
                           "%d, column %d, byte %d)", je.text, je.line, je.column, je.position);
    int rc = json_is_object(j) ? js_conv(a, j, 1, root, err)
                               : trove__fail(err, TROVE_E_CORRUPT, 0, "XGBoost JSON: the top "
                                             "level is not an object");
    json_decref(j);
    return rc;
}

/* ---- numbers ------------------------------------------------------------------------------- */
/* double -> float32 without the undefined behaviour of an out-of-range conversion. */
static float f32(double d)
{
    if (d > (double)FLT_MAX)
        return INFINITY;
    if (d < -(double)FLT_MAX)
        return -INFINITY;
    return (float)d;
}

/* strtod in the C locale, whatever the host program set ("6.3E-1" under a comma locale). */
static double c_strtod(const char *s, char **end)
{
    locale_t c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (!c)
        return strtod(s, end);
    double d = strtod_l(s, end, c);
    freelocale(c);
    return d;
}

/* ---- reading the tree ---------------------------------------------------------------------- */
typedef struct xg {
    pk_arena *a;
    const trove_allocator *alloc;
    trove_error *err;
    trove__model_out *m;
    int rc; /* sticky metadata failure */
} xg;

TROVE_PRINTF(4, 5)
static int xfail(xg *g, int code, const xv *at, const char *fmt, ...)
{
    char why[232];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    uint64_t off = at ? at->off : TROVE_NO_OFFSET;
    if (off != TROVE_NO_OFFSET)
        return trove__fail(g->err, code, off, "XGBoost model: %s (byte %llu)", why,
                           (unsigned long long)off);
    return trove__fail(g->err, code, off, "XGBoost model: %s", why);
}

static int xnomem(xg *g)
{
    return trove__fail(g->err, pk_arena_over_budget(g->a) ? TROVE_E_LIMIT : TROVE_E_NOMEM,
                       TROVE_NO_OFFSET, "XGBoost import: out of memory");
}

static const xv *get(const xv *o, const char *key)
{
    if (!o || o->t != XV_OBJ)
        return NULL;
    for (const xv *c = o->u.c.first; c; c = c->next)
        if (!strcmp(c->key, key))
            return c;
    return NULL;
}

static const char *str_of(const xv *v)
{
    return v && v->t == XV_STR ? v->u.s.p : NULL;
}

/* A number written as a number, a bool, or a string ("5E-1", "3", " 2 "). */
static bool num_of(const xv *v, double *d)
{
    if (!v)
        return false;
    switch (v->t) {
    case XV_INT: *d = (double)v->u.i; return true;
    case XV_REAL: *d = v->u.d; return true;
    case XV_BOOL: *d = (double)v->u.i; return true;
    case XV_STR: {
        const char *s = v->u.s.p;
        char *end;
        if (!v->u.s.n || v->u.s.n > 64)
            return false;
        *d = c_strtod(s, &end);
        while (*end == ' ')
            end++;
        return end != s && *end == 0 && (size_t)(end - s) == v->u.s.n;
    }
    default: return false;
    }
}

/* An integer member in [lo, hi]; dflt when absent (required: an error). */
static int int_of(xg *g, const xv *o, const char *key, const char *where, int64_t lo, int64_t hi,
                  int64_t dflt, bool required, int64_t *out)
{
    const xv *v = get(o, key);
    double d;
    if (!v) {
        if (required)
            return xfail(g, TROVE_E_MODEL, o, "%s.%s is missing", where, key);
        *out = dflt;
        return TROVE_OK;
    }
    if (!num_of(v, &d) || d != floor(d) || d < (double)lo || d > (double)hi)
        return xfail(g, TROVE_E_MODEL, v, "%s.%s is not an integer in [%lld, %lld]", where, key,
                     (long long)lo, (long long)hi);
    *out = (int64_t)d;
    return TROVE_OK;
}

/* A numeric array (typed or plain) as n doubles in the arena (JSON's packed ones as they are). */
static int nums_of(xg *g, const xv *v, const char *what, size_t t, double **out, size_t *n)
{
    if (!v)
        return xfail(g, TROVE_E_MODEL, NULL, "tree %zu: %s is missing", t, what);
    if (v->t == XV_TYPED) {
        *n = v->u.ta.n;
        if (v->et == 'n') {
            *out = (double *)(uintptr_t)v->u.ta.p;
            return TROVE_OK;
        }
        double *d = pk_alloc(g->a, *n ? *n * sizeof *d : 1);
        if (!d)
            return xnomem(g);
        for (size_t i = 0; i < *n; i++)
            d[i] = ta_get(v, i);
        *out = d;
        return TROVE_OK;
    }
    if (v->t != XV_ARR)
        return xfail(g, TROVE_E_MODEL, v, "tree %zu: %s is not an array", t, what);
    *n = v->u.c.n;
    double *d = pk_alloc(g->a, *n ? *n * sizeof *d : 1);
    if (!d)
        return xnomem(g);
    size_t i = 0;
    for (const xv *e = v->u.c.first; e; e = e->next, i++)
        if (e->t == XV_STR || !num_of(e, &d[i]))
            return xfail(g, TROVE_E_MODEL, e, "tree %zu: %s[%zu] is not a number", t, what, i);
    *out = d;
    return TROVE_OK;
}

/* "5E-1", 0.5, "[5E-1]", "[1E0,2E0]", [0.5, ...]: up to cap values. */
static int base_scores(xg *g, const xv *v, double *out, size_t cap, size_t *n)
{
    *n = 0;
    if (!v)
        return TROVE_OK;
    if (num_of(v, &out[0])) {
        *n = 1;
        return TROVE_OK;
    }
    if (v->t == XV_TYPED || v->t == XV_ARR) {
        double *d;
        size_t k;
        int rc = nums_of(g, v, "learner_model_param.base_score", 0, &d, &k);
        if (rc)
            return rc;
        if (k > cap || k == 0)
            return xfail(g, TROVE_E_MODEL, v, "base_score has %zu values", k);
        memcpy(out, d, k * sizeof *d);
        *n = k;
        return TROVE_OK;
    }
    const char *s = str_of(v);
    if (s && s[0] == '[') {
        const char *p = s + 1;
        while (*p == ' ')
            p++;
        while (*p && *p != ']') {
            char *end;
            if (*n == cap)
                return xfail(g, TROVE_E_MODEL, v, "base_score has more than %zu values", cap);
            out[*n] = c_strtod(p, &end);
            if (end == p)
                break;
            (*n)++;
            p = end;
            while (*p == ' ')
                p++;
            if (*p == ',')
                p++;
            while (*p == ' ')
                p++;
        }
        if (*p == ']' && p[1] == 0 && *n > 0)
            return TROVE_OK;
    }
    return xfail(g, TROVE_E_MODEL, v, "learner_model_param.base_score is not a number or a "
                 "vector of numbers");
}

/* ---- metadata helpers (sticky errors) ------------------------------------------------------ */
static void mset(xg *g, trove_value *map, const char *key, trove_value *v)
{
    trove__out_set(&g->rc, map, key, v);
}

static void apush(xg *g, trove_value *arr, trove_value *v)
{
    trove__out_push(&g->rc, arr, v);
}

static trove_value *vstr(xg *g, const char *s)
{
    return trove_value_cstring(g->alloc, s);
}

static void *tensor(xg *g, const char *name, trove_dtype dt, uint32_t rank, uint64_t d0,
                    uint64_t d1)
{
    return trove__out_tensor(g->a, g->m, "", name, dt, rank, d0, d1);
}

/* ---- objectives -------------------------------------------------------------------------- */
enum xlink { XL_IDENTITY, XL_LOGISTIC, XL_SOFTMAX, XL_EXP };
enum xbase { XB_IDENTITY, XB_LOGIT, XB_LOG };

typedef struct objective {
    const char *name;
    bool clf;
    enum xlink link;
    enum xbase base;
} objective;

static const objective OBJECTIVES[] = {
    {"reg:squarederror", false, XL_IDENTITY, XB_IDENTITY},
    {"reg:linear", false, XL_IDENTITY, XB_IDENTITY},
    {"reg:squaredlogerror", false, XL_IDENTITY, XB_IDENTITY},
    {"reg:pseudohubererror", false, XL_IDENTITY, XB_IDENTITY},
    {"reg:absoluteerror", false, XL_IDENTITY, XB_IDENTITY},
    {"reg:quantileerror", false, XL_IDENTITY, XB_IDENTITY},
    {"rank:pairwise", false, XL_IDENTITY, XB_IDENTITY},
    {"rank:ndcg", false, XL_IDENTITY, XB_IDENTITY},
    {"rank:map", false, XL_IDENTITY, XB_IDENTITY},
    {"reg:logistic", false, XL_LOGISTIC, XB_LOGIT},
    {"binary:logistic", true, XL_LOGISTIC, XB_LOGIT},
    {"binary:logitraw", true, XL_LOGISTIC, XB_LOGIT}, /* base: see map_objective */
    {"multi:softprob", true, XL_SOFTMAX, XB_IDENTITY},
    {"multi:softmax", true, XL_SOFTMAX, XB_IDENTITY},
    {"count:poisson", false, XL_EXP, XB_LOG},
    {"reg:gamma", false, XL_EXP, XB_LOG},
    {"reg:tweedie", false, XL_EXP, XB_LOG},
    {"survival:cox", false, XL_EXP, XB_LOG},
    {"survival:aft", false, XL_EXP, XB_LOG},
};

static const char *link_name(enum xlink l, bool clf)
{
    switch (l) {
    case XL_LOGISTIC: return "logistic";
    case XL_SOFTMAX: return "softmax";
    case XL_EXP: return "exp";
    default: return clf ? "none" : "identity";
    }
}

/* ---- the model ---------------------------------------------------------------------------- */
typedef struct learner {
    const xv *learner, *gb;
    const char *booster;            /* gbtree, dart, gblinear */
    objective obj;
    int64_t nf, num_class, num_target;
    size_t n_out;
    double base[4096];              /* margin space */
    int64_t version[3];
    int64_t best_iteration;         /* >= 0: the trees were cut after this round */
} learner;

typedef struct tree_in {
    size_t n, m;          /* nodes in the file, reachable nodes */
    double *left, *right, *feat, *cond, *dl;
    int32_t *order;       /* reachable old indices in preorder (new index = position) */
    int32_t *newidx;      /* old -> new */
    double weight;        /* dart weight_drop, else 1 */
    const xv *at;
} tree_in;

static int read_tree(xg *g, const xv *tv, size_t t, int64_t nf, tree_in *ti)
{
    if (!tv || tv->t != XV_OBJ)
        return xfail(g, TROVE_E_MODEL, tv, "tree %zu is not an object", t);
    ti->at = tv;
    const xv *tp = get(tv, "tree_param");
    int64_t nn, slv;
    int rc;
    if (!tp)
        return xfail(g, TROVE_E_MODEL, tv, "tree %zu: tree_param is missing", t);
    if ((rc = int_of(g, tp, "num_nodes", "tree_param", 1, INT32_MAX, 0, true, &nn)) ||
        (rc = int_of(g, tp, "size_leaf_vector", "tree_param", 0, INT32_MAX, 0, false, &slv)))
        return rc;
    if (slv > 1)
        return xfail(g, TROVE_E_UNSUPPORTED, tv, "tree %zu has vector leaves (size_leaf_vector "
                     "%lld: multi_strategy=\"multi_output_tree\"): not supported by trove's "
                     "model kinds yet", t, (long long)slv);
    size_t n = (size_t)nn, k;
    ti->n = n;
    struct { const char *name; double **dst; bool required; } arrs[] = {
        {"left_children", &ti->left, true}, {"right_children", &ti->right, true},
        {"split_indices", &ti->feat, true}, {"split_conditions", &ti->cond, true},
        {"default_left", &ti->dl, false},
    };
    for (size_t i = 0; i < sizeof arrs / sizeof arrs[0]; i++) {
        const xv *v = get(tv, arrs[i].name);
        *arrs[i].dst = NULL;
        if (!v && !arrs[i].required)
            continue;
        if ((rc = nums_of(g, v, arrs[i].name, t, arrs[i].dst, &k)))
            return rc;
        if (k != n)
            return xfail(g, TROVE_E_MODEL, v, "tree %zu: %s has %zu entries for %zu nodes", t,
                         arrs[i].name, k, n);
    }
    double *st = NULL;
    const xv *stv = get(tv, "split_type");
    if (stv && (rc = nums_of(g, stv, "split_type", t, &st, &k)))
        return rc;
    if (st && k != n)
        return xfail(g, TROVE_E_MODEL, stv, "tree %zu: split_type has %zu entries for %zu nodes",
                     t, k, n);
    const xv *cn = get(tv, "categories_nodes");
    if (cn && ((cn->t == XV_TYPED && cn->u.ta.n) || (cn->t == XV_ARR && cn->u.c.n)))
        return xfail(g, TROVE_E_UNSUPPORTED, cn, "tree %zu has categorical splits "
                     "(enable_categorical): not supported by trove's model kinds yet", t);
    /* preorder walk from the root: children get larger indices than their parent, unreachable
     * (deleted) nodes are dropped, a node reached twice (cycle, shared child) is refused */
    ti->order = pk_alloc(g->a, n * sizeof(int32_t));
    ti->newidx = pk_alloc(g->a, n * sizeof(int32_t));
    int32_t *stack = pk_alloc(g->a, (n + 1) * sizeof(int32_t));
    if (!ti->order || !ti->newidx || !stack)
        return xnomem(g);
    for (size_t i = 0; i < n; i++)
        ti->newidx[i] = -1;
    size_t sp = 0, m = 0;
    stack[sp++] = 0;
    while (sp) {
        int32_t i = stack[--sp];
        if (ti->newidx[i] != -1)
            return xfail(g, TROVE_E_MODEL, tv, "tree %zu: node %d is reached twice (a cycle or a "
                         "shared child)", t, i);
        ti->newidx[i] = (int32_t)m;
        ti->order[m++] = i;
        double l = ti->left[i], r = ti->right[i];
        if (l == -1 && r == -1) {
            if (!isfinite(f32(ti->cond[i])))
                return xfail(g, TROVE_E_MODEL, tv, "tree %zu: leaf %d has a non-finite value", t,
                             i);
            continue;
        }
        if (!(l >= 0 && l < (double)n && l == floor(l) && r >= 0 && r < (double)n &&
              r == floor(r)))
            return xfail(g, TROVE_E_MODEL, tv, "tree %zu: node %d has children %g and %g: out "
                         "of range (%zu nodes; -1 for none, both or neither)", t, i, l, r, n);
        if (st && st[i] != 0)
            return xfail(g, TROVE_E_UNSUPPORTED, tv, "tree %zu: node %d is a categorical split "
                         "(enable_categorical): not supported by trove's model kinds yet", t, i);
        double f = ti->feat[i];
        if (!(f >= 0 && f < (double)nf && f == floor(f)))
            return xfail(g, TROVE_E_MODEL, tv, "tree %zu: node %d splits on feature %g: not in "
                         "[0, %lld) (num_feature)", t, i, f, (long long)nf);
        if (isnan(ti->cond[i]))
            return xfail(g, TROVE_E_MODEL, tv, "tree %zu: node %d has a NaN threshold", t, i);
        if (sp + 2 > n + 1)
            return xfail(g, TROVE_E_MODEL, tv, "tree %zu: more children than nodes", t);
        stack[sp++] = (int32_t)r;
        stack[sp++] = (int32_t)l;
    }
    ti->m = m;
    ti->weight = 1.0;
    return TROVE_OK;
}

/* The scikit-learn wrapper predicts with the rounds up to its best_iteration (early stopping;
 * without it XGBoost 1.x records the last round, 2.x nothing): *nt becomes the trees of those
 * rounds, from iteration_indptr (2.x) or rounds x num_parallel_tree x output groups. */
static int best_rounds(xg *g, learner *L, const xv *model, size_t *nt)
{
    const xv *at = get(L->learner, "attributes"), *bi = get(at, "best_iteration");
    double b;
    L->best_iteration = -1;
    if (!get(at, "scikit_learn") || !bi)
        return TROVE_OK;
    if (!num_of(bi, &b) || b != floor(b) || b < 0 || b > (double)INT32_MAX)
        return xfail(g, TROVE_E_MODEL, bi, "attributes.best_iteration is not a round number");
    size_t rounds = (size_t)b + 1, keep;
    const xv *ip = get(model, "iteration_indptr");
    if (ip) {
        double *d;
        size_t k;
        int rc = nums_of(g, ip, "iteration_indptr", 0, &d, &k);
        if (rc)
            return rc;
        if (rounds >= k)
            return TROVE_OK; /* all rounds */
        keep = d[rounds] >= 0 && d[rounds] <= (double)*nt ? (size_t)d[rounds] : 0;
    } else {
        int64_t npt;
        int rc = int_of(g, get(model, "gbtree_model_param"), "num_parallel_tree",
                        "gbtree_model_param", 1, INT32_MAX, 1, false, &npt);
        if (rc)
            return rc;
        uint64_t per = (uint64_t)npt * L->n_out, kk;
        if (!trove__mul_ok(per, rounds, &kk) || kk >= *nt)
            return TROVE_OK;
        keep = (size_t)kk;
    }
    if (keep == 0)
        return xfail(g, TROVE_E_MODEL, bi, "best_iteration %g selects no tree", b);
    L->best_iteration = (int64_t)b;
    *nt = keep;
    return TROVE_OK;
}

static int map_trees(xg *g, learner *L, trove_value *m)
{
    const xv *gb = L->gb, *model;
    const xv *wd = NULL;
    if (!strcmp(L->booster, "dart")) {
        wd = get(gb, "weight_drop");
        gb = get(gb, "gbtree");
        if (!gb)
            return xfail(g, TROVE_E_MODEL, L->gb, "dart booster without its gbtree");
    }
    model = get(gb, "model");
    const xv *trees = get(model, "trees");
    if (!trees || trees->t != XV_ARR)
        return xfail(g, TROVE_E_MODEL, model ? model : gb, "gradient_booster.model.trees is "
                     "missing or not an array of trees");
    size_t nt = trees->u.c.n;
    if (nt == 0)
        return xfail(g, TROVE_E_MODEL, trees, "the model has no trees (0 boosting rounds)");
    int64_t ntp;
    int rc = int_of(g, get(model, "gbtree_model_param"), "num_trees", "gbtree_model_param", 0,
                    INT32_MAX, (int64_t)nt, false, &ntp);
    if (rc)
        return rc;
    if ((size_t)ntp != nt)
        return xfail(g, TROVE_E_MODEL, trees, "gbtree_model_param.num_trees is %lld but %zu "
                     "trees are stored", (long long)ntp, nt);
    double *info = NULL, *wdrop = NULL;
    size_t k;
    const xv *tiv = get(model, "tree_info");
    if (tiv) {
        if ((rc = nums_of(g, tiv, "tree_info", 0, &info, &k)))
            return rc;
        if (k != nt)
            return xfail(g, TROVE_E_MODEL, tiv, "tree_info has %zu entries for %zu trees", k, nt);
    } else if (L->n_out > 1) {
        return xfail(g, TROVE_E_MODEL, model, "tree_info is missing (%zu outputs)", L->n_out);
    }
    if (wd) {
        if ((rc = nums_of(g, wd, "weight_drop", 0, &wdrop, &k)))
            return rc;
        if (k != nt)
            return xfail(g, TROVE_E_MODEL, wd, "dart weight_drop has %zu entries for %zu trees",
                         k, nt);
    }
    if ((rc = best_rounds(g, L, model, &nt)))
        return rc;
    tree_in *ti = pk_alloc(g->a, nt * sizeof *ti);
    if (!ti)
        return xnomem(g);
    uint64_t total = 0;
    size_t t = 0;
    for (const xv *tv = trees->u.c.first; tv && t < nt; tv = tv->next, t++) {
        if ((rc = read_tree(g, tv, t, L->nf, &ti[t])))
            return rc;
        if (info && !(info[t] >= 0 && info[t] < (double)L->n_out && info[t] == floor(info[t])))
            return xfail(g, TROVE_E_MODEL, tiv, "tree_info[%zu] = %g: not an output group "
                         "(0..%zu)", t, info[t], L->n_out - 1);
        if (wdrop) {
            if (!isfinite(wdrop[t]))
                return xfail(g, TROVE_E_MODEL, wd, "weight_drop[%zu] is not finite", t);
            ti[t].weight = wdrop[t];
        }
        if (!trove__add_ok(total, ti[t].m, &total) || total > INT32_MAX)
            return xfail(g, TROVE_E_LIMIT, trees, "more than 2^31 nodes in all");
    }
    int64_t *offs = tensor(g, "trees/offsets", TROVE_INT64, 1, nt + 1, 0);
    int32_t *feat = tensor(g, "trees/feature", TROVE_INT32, 1, total, 0);
    double *thr = tensor(g, "trees/threshold", TROVE_FLOAT64, 1, total, 0);
    int32_t *left = tensor(g, "trees/left", TROVE_INT32, 1, total, 0);
    int32_t *right = tensor(g, "trees/right", TROVE_INT32, 1, total, 0);
    uint8_t *dl = tensor(g, "trees/default_left", TROVE_UINT8, 1, total, 0);
    double *val = tensor(g, "trees/value", TROVE_FLOAT64, 2, total, 1);
    int32_t *out = L->n_out > 1 ? tensor(g, "trees/output", TROVE_INT32, 1, nt, 0) : NULL;
    double *base = tensor(g, "base_score", TROVE_FLOAT64, 1, L->n_out, 0);
    if (!offs || !feat || !thr || !left || !right || !dl || !val || !base ||
        (L->n_out > 1 && !out))
        return xnomem(g);
    size_t at = 0;
    offs[0] = 0;
    for (t = 0; t < nt; t++) {
        const tree_in *T = &ti[t];
        for (size_t j = 0; j < T->m; j++) {
            int32_t i = T->order[j];
            size_t o = at + j;
            if (T->left[i] == -1) {
                left[o] = right[o] = -1;
                feat[o] = 0;
                thr[o] = 0.0;
                dl[o] = 0;
                /* XGBoost keeps leaf values as float32 and scales dart trees by weight_drop */
                val[o] = (double)f32(T->cond[i]) * T->weight;
            } else {
                left[o] = T->newidx[(size_t)T->left[i]];
                right[o] = T->newidx[(size_t)T->right[i]];
                feat[o] = (int32_t)T->feat[i];
                /* XGBoost goes left when x < c (float32): for float32 x that is x <= the next
                 * float32 below c, the kind's comparison with compare = "float32" */
                thr[o] = (double)nextafterf(f32(T->cond[i]), -INFINITY);
                dl[o] = T->dl && T->dl[i] != 0 ? 1 : 0;
                val[o] = 0.0;
            }
        }
        at += T->m;
        offs[t + 1] = (int64_t)at;
        if (out)
            out[t] = (int32_t)info[t];
    }
    memcpy(base, L->base, L->n_out * sizeof *base);
    mset(g, m, "n_features", trove_value_int(g->alloc, L->nf));
    mset(g, m, "n_outputs", trove_value_int(g->alloc, (int64_t)L->n_out));
    mset(g, m, "aggregate", vstr(g, "sum"));
    mset(g, m, "compare", vstr(g, "float32"));
    mset(g, m, "scale", trove_value_float(g->alloc, 1.0));
    return TROVE_OK;
}

static int map_linear(xg *g, const learner *L, trove_value *m)
{
    if (L->obj.link == XL_EXP || (!L->obj.clf && L->obj.link != XL_IDENTITY))
        return xfail(g, TROVE_E_UNSUPPORTED, L->gb, "gblinear with objective %s: the linear kind "
                     "has no %s link for regression", L->obj.name, link_name(L->obj.link, false));
    const xv *w = get(get(L->gb, "model"), "weights");
    double *wt;
    size_t k, K = L->n_out, nf = (size_t)L->nf;
    int rc = nums_of(g, w, "gblinear weights", 0, &wt, &k);
    if (rc)
        return rc;
    if (k != (nf + 1) * K)
        return xfail(g, TROVE_E_MODEL, w, "gblinear has %zu weights: need (num_feature + 1) x "
                     "%zu = %zu", k, K, (nf + 1) * K);
    double *coef = tensor(g, "coef", TROVE_FLOAT64, 2, K, nf);
    double *icpt = tensor(g, "intercept", TROVE_FLOAT64, 1, K, 0);
    if (!coef || !icpt)
        return xnomem(g);
    for (size_t c = 0; c < K; c++) {
        for (size_t i = 0; i < nf; i++)
            coef[c * nf + i] = wt[i * K + c];
        icpt[c] = wt[nf * K + c] + L->base[c];
    }
    for (size_t i = 0; i < k; i++)
        if (!isfinite(wt[i]))
            return xfail(g, TROVE_E_MODEL, w, "gblinear weight %zu is not finite", i);
    mset(g, m, "n_features", trove_value_int(g->alloc, L->nf));
    return TROVE_OK;
}

/* The objective, the sizes and base_score in margin space. */
static int read_learner(xg *g, const xv *root, learner *L)
{
    const xv *lr = get(root, "learner"), *ver = get(root, "version");
    if (!lr) { /* checkpoint layout (Booster.save_raw("json"), pickles of 1.x): Config + Model */
        const xv *mo = get(root, "Model");
        lr = get(mo, "learner");
        ver = ver ? ver : get(mo, "version");
    }
    if (!lr || lr->t != XV_OBJ)
        return xfail(g, TROVE_E_MODEL, root, "no \"learner\" object at the top level");
    L->learner = lr;
    L->version[0] = L->version[1] = L->version[2] = -1;
    if (ver && (ver->t == XV_TYPED || ver->t == XV_ARR)) {
        double *d;
        size_t k;
        if (nums_of(g, ver, "version", 0, &d, &k) == TROVE_OK)
            for (size_t i = 0; i < k && i < 3; i++)
                L->version[i] = d[i] >= 0 && d[i] < 1e6 ? (int64_t)d[i] : -1;
    }
    const xv *mp = get(lr, "learner_model_param");
    if (!mp)
        return xfail(g, TROVE_E_MODEL, lr, "learner.learner_model_param is missing");
    int rc;
    if ((rc = int_of(g, mp, "num_feature", "learner_model_param", 1, INT32_MAX, 0, true,
                     &L->nf)) ||
        (rc = int_of(g, mp, "num_class", "learner_model_param", 0, XG_MAX_CLASSES, 0, false,
                     &L->num_class)) ||
        (rc = int_of(g, mp, "num_target", "learner_model_param", 1, 4096, 1, false,
                     &L->num_target)))
        return rc;
    const xv *ob = get(lr, "objective");
    const char *oname = str_of(get(ob, "name"));
    if (!oname)
        return xfail(g, TROVE_E_MODEL, ob ? ob : lr, "learner.objective.name is missing");
    size_t i;
    for (i = 0; i < sizeof OBJECTIVES / sizeof OBJECTIVES[0]; i++)
        if (!strcmp(oname, OBJECTIVES[i].name))
            break;
    if (i == sizeof OBJECTIVES / sizeof OBJECTIVES[0])
        return xfail(g, TROVE_E_UNSUPPORTED, ob, "objective '%.60s': not supported by trove's "
                     "model kinds yet (binary:hinge, reg:expectileerror and custom objectives "
                     "have no link there)", oname);
    L->obj = OBJECTIVES[i];
    /* binary:logitraw's base_score: XGBoost 1.0 to 1.3 transformed it with the logit (inherited
     * from the logistic loss); 1.4 and later (dmlc/xgboost#6517) take it as the margin itself.
     * A file without a version is taken as recent. */
    if (!strcmp(oname, "binary:logitraw") &&
        !(L->version[0] == 1 && L->version[1] >= 0 && L->version[1] < 4) && L->version[0] != 0)
        L->obj.base = XB_IDENTITY;
    if (!strncmp(oname, "multi:", 6)) {
        if (L->num_class < 2)
            return xfail(g, TROVE_E_MODEL, mp, "objective %s with num_class %lld", oname,
                         (long long)L->num_class);
        if (L->num_target > 1)
            return xfail(g, TROVE_E_UNSUPPORTED, mp, "multi-class with %lld targets: not "
                         "supported", (long long)L->num_target);
        L->n_out = (size_t)L->num_class;
    } else {
        if (L->num_class > 1)
            return xfail(g, TROVE_E_MODEL, mp, "objective %s with num_class %lld", oname,
                         (long long)L->num_class);
        if (L->obj.clf && L->num_target > 1)
            return xfail(g, TROVE_E_UNSUPPORTED, mp, "%s with %lld targets (multi-label): not "
                         "supported by trove's model kinds yet", oname, (long long)L->num_target);
        L->n_out = (size_t)L->num_target;
    }
    if (L->n_out > sizeof L->base / sizeof L->base[0])
        return xfail(g, TROVE_E_LIMIT, mp, "%zu outputs (limit %zu)", L->n_out,
                     sizeof L->base / sizeof L->base[0]);
    size_t nb;
    const xv *bs = get(mp, "base_score");
    if ((rc = base_scores(g, bs, L->base, sizeof L->base / sizeof L->base[0], &nb)))
        return rc;
    if (nb == 0) {
        L->base[0] = 0.5; /* XGBoost's default */
        nb = 1;
    }
    if (nb != 1 && nb != L->n_out)
        return xfail(g, TROVE_E_MODEL, bs, "base_score has %zu values for %zu outputs", nb,
                     L->n_out);
    for (size_t c = 0; c < L->n_out; c++) {
        double b = L->base[nb == 1 ? 0 : c];
        /* XGBoost stores base_score as a float32 in output space (ProbToMargin at load) */
        float f = f32(b);
        /* the degenerate intercepts XGBoost >= 3 accepts (every label equal: base_score 0 or 1,
         * a margin of -inf or +inf in float32) become -FLT_MAX / FLT_MAX: the same
         * probabilities and exp-link predictions (0 or 1), a finite decision */
        if (L->obj.base == XB_LOGIT) {
            if (!(f >= 0.0f && f <= 1.0f))
                return xfail(g, TROVE_E_MODEL, bs, "base_score %g is not a probability in [0, "
                             "1] (objective %s)", b, oname);
            b = f == 0.0f ? -(double)FLT_MAX : f == 1.0f ? (double)FLT_MAX
                                                          : (double)-logf(1.0f / f - 1.0f);
        } else if (L->obj.base == XB_LOG) {
            if (!(f >= 0.0f) || isinf(f))
                return xfail(g, TROVE_E_MODEL, bs, "base_score %g is not a finite value >= 0 "
                             "(objective %s)", b, oname);
            b = f == 0.0f ? -(double)FLT_MAX : (double)logf(f);
        } else {
            b = (double)f;
        }
        if (!isfinite(b))
            return xfail(g, TROVE_E_MODEL, bs, "base_score %g is not finite", b);
        L->base[c] = b;
    }
    L->gb = get(lr, "gradient_booster");
    L->booster = str_of(get(L->gb, "name"));
    if (!L->booster)
        return xfail(g, TROVE_E_MODEL, L->gb ? L->gb : lr, "gradient_booster.name is missing");
    if (strcmp(L->booster, "gbtree") && strcmp(L->booster, "dart") &&
        strcmp(L->booster, "gblinear"))
        return xfail(g, TROVE_E_UNSUPPORTED, L->gb, "booster '%.60s': not supported (gbtree, "
                     "dart and gblinear are)", L->booster);
    return TROVE_OK;
}

/* XGBClassifier / XGBRegressor / XGBRanker from the scikit-learn wrapper's attribute, else the
 * Booster. The attribute is JSON with NaN in it: searched, not parsed. */
static const char *estimator_of(const learner *L)
{
    const char *sk = str_of(get(get(L->learner, "attributes"), "scikit_learn"));
    if (sk && strstr(sk, "\"_estimator_type\": \"classifier\""))
        return "xgboost.sklearn.XGBClassifier";
    if (sk && strstr(sk, "\"_estimator_type\": \"regressor\""))
        return "xgboost.sklearn.XGBRegressor";
    if (sk && strstr(sk, "\"_estimator_type\": \"ranker\""))
        return "xgboost.sklearn.XGBRanker";
    return "xgboost.core.Booster";
}

static int build(xg *g, const xv *root, const trove__source_info *src, trove__model_out *out)
{
    learner *L = pk_alloc(g->a, sizeof *L);
    if (!L)
        return xnomem(g);
    memset(L, 0, sizeof *L);
    L->best_iteration = -1;
    int rc = read_learner(g, root, L);
    if (rc)
        return rc;
    g->m = out;
    bool linear = !strcmp(L->booster, "gblinear");
    trove_value *node = trove_value_map(g->alloc);
    trove_value *m = trove_value_map(g->alloc);
    if (!node || !m) {
        trove_value_free(node);
        trove_value_free(m);
        return xnomem(g);
    }
    out->meta = node; /* freed by trove__models_free */
    rc = linear ? map_linear(g, L, m) : map_trees(g, L, m);
    if (rc) {
        trove_value_free(m);
        return rc;
    }
    const char *est = estimator_of(L);
    snprintf(out->estimator, sizeof out->estimator, "%s", est);
    bool clf = L->obj.clf;
    mset(g, m, "task", vstr(g, clf ? "classification" : "regression"));
    mset(g, m, "link", vstr(g, link_name(L->obj.link, clf)));
    trove_value *classes = NULL;
    if (clf) {
        size_t K = L->n_out > 1 ? L->n_out : 2;
        classes = trove_value_array(g->alloc);
        for (size_t c = 0; c < K; c++)
            apush(g, classes, trove_value_int(g->alloc, (int64_t)c));
        mset(g, m, "classes", trove_value_clone(classes));
    }
    mset(g, node, "kind", vstr(g, linear ? "linear" : "tree_ensemble"));
    mset(g, node, "kind_version", trove_value_int(g->alloc, 1));
    mset(g, node, "estimator", vstr(g, est));
    trove_value *params = trove_value_map(g->alloc);
    mset(g, params, "objective", vstr(g, L->obj.name));
    mset(g, params, "booster", vstr(g, L->booster));
    if (L->best_iteration >= 0)
        mset(g, params, "best_iteration", trove_value_int(g->alloc, L->best_iteration));
    mset(g, node, "params", params);
    mset(g, node, "model", m);
    /* producer */
    trove_value *prod = trove_value_map(g->alloc);
    mset(g, prod, "name", vstr(g, "xgboost"));
    if (L->version[0] >= 0) {
        char vb[64];
        snprintf(vb, sizeof vb, "%lld.%lld.%lld", (long long)L->version[0],
                 (long long)(L->version[1] < 0 ? 0 : L->version[1]),
                 (long long)(L->version[2] < 0 ? 0 : L->version[2]));
        mset(g, prod, "version", vstr(g, vb));
    }
    mset(g, node, "producer", prod);
    char ts[32];
    time_t now = time(NULL);
    struct tm tmv;
    gmtime_r(&now, &tmv);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tmv);
    mset(g, node, "created", vstr(g, ts));
    /* signature; feature names when the Booster has them, one per feature */
    trove_value *sig = trove_value_map(g->alloc), *in = trove_value_map(g->alloc);
    mset(g, in, "n_features", trove_value_int(g->alloc, L->nf));
    mset(g, in, "dtype", vstr(g, "float64"));
    const xv *fn = get(L->learner, "feature_names");
    if (fn && fn->t == XV_ARR && fn->u.c.n == (size_t)L->nf) {
        bool ok = true;
        for (const xv *e = fn->u.c.first; e && ok; e = e->next)
            ok = e->t == XV_STR && e->u.s.n > 0 && e->u.s.n < 1024 &&
                 trove__utf8_valid(e->u.s.p, e->u.s.n);
        if (ok) {
            trove_value *names = trove_value_array(g->alloc);
            for (const xv *e = fn->u.c.first; e; e = e->next)
                apush(g, names, trove_value_string(g->alloc, e->u.s.p, e->u.s.n));
            mset(g, in, "names", names);
        }
    }
    mset(g, sig, "inputs", in);
    trove_value *outs = trove_value_map(g->alloc);
    mset(g, outs, "n_outputs", trove_value_int(g->alloc, clf ? 1 : (int64_t)L->n_out));
    mset(g, sig, "outputs", outs);
    if (classes)
        mset(g, sig, "classes", classes);
    mset(g, node, "signature", sig);
    trove_value *lin = trove_value_map(g->alloc), *so = trove_value_map(g->alloc);
    if (src && src->name && trove__utf8_valid(src->name, strlen(src->name)))
        mset(g, so, "file", vstr(g, src->name));
    if (src && src->sha256_hex)
        mset(g, so, "sha256", vstr(g, src->sha256_hex));
    if (src && src->format)
        mset(g, so, "format", vstr(g, src->format));
    if (src)
        mset(g, so, "bytes", trove_value_uint(g->alloc, src->size));
    mset(g, lin, "source", so);
    mset(g, lin, "converter", vstr(g, "trove convert (XGBoost model importer)"));
    mset(g, node, "lineage", lin);
    return g->rc ? xnomem(g) : TROVE_OK;
}

/* ---- entry points ------------------------------------------------------------------------ */
int trove__xgb_probe(const uint8_t *buf, size_t len)
{
    size_t i = 0;
    if (len >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF)
        i = 3; /* UTF-8 byte order mark */
    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
        i++;
    if (i >= len || buf[i] != '{')
        return 0;
    if (i == 0 && len >= 2 && strchr("iUIlL$#", buf[1]) && buf[1] != 0)
        return TROVE__XGB_UBJSON; /* '{' then a key length marker or a container header */
    size_t j = i + 1;
    while (j < len && (buf[j] == ' ' || buf[j] == '\t' || buf[j] == '\n' || buf[j] == '\r'))
        j++;
    if (j < len && buf[j] == '"' && memmem(buf, len, "\"learner\"", 9))
        return TROVE__XGB_JSON;
    return 0;
}

int trove__xgb_map(pk_arena *a, const trove_allocator *alloc, const uint8_t *buf, size_t len,
                   int kind, uint64_t max_bytes, const trove__source_info *src,
                   trove__model_out **models, size_t *n_models, trove_error *err)
{
    trove_error local;
    if (!err)
        err = &local;
    *models = NULL;
    *n_models = 0;
    xv *root = NULL;
    int rc = kind == TROVE__XGB_UBJSON ? ub_parse(a, buf, len, &root, err)
                                       : js_parse(a, alloc, buf, len,
                                                  max_bytes ? max_bytes : PK_DEFAULT_MAX_BYTES,
                                                  &root, err);
    if (rc)
        return rc;
    trove__model_out *out = trove__calloc(alloc, 1, sizeof *out);
    if (!out)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    xg g = {.a = a, .alloc = alloc, .err = err};
    trove__source_info s = src ? *src : (trove__source_info){0};
    s.format = kind == TROVE__XGB_UBJSON ? "XGBoost UBJSON" : "XGBoost JSON";
    if ((rc = build(&g, root, &s, out))) {
        trove__models_free(alloc, out, 1);
        return rc;
    }
    *models = out;
    *n_models = 1;
    return TROVE_OK;
}
