/* json.c: JSON text of a metadata tree, for people and for other tools (trove inspect --json).
 * Bytes become {"$bytes": "<base64>"}; non-finite floats become strings ("NaN", "Infinity"). */
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "format/value.h"

typedef struct out {
    const trove_allocator *alloc;
    char *p;
    size_t len, cap;
    bool oom;
} out;

static void put(out *o, const char *s, size_t n)
{
    if (o->oom)
        return;
    if (o->cap - o->len < n + 1) {
        size_t ncap = o->cap ? o->cap : 256;
        while (ncap - o->len < n + 1)
            ncap *= 2;
        char *np = trove__realloc(o->alloc, o->p, ncap);
        if (!np) {
            o->oom = true;
            return;
        }
        o->p = np;
        o->cap = ncap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

static void puts_(out *o, const char *s)
{
    put(o, s, strlen(s));
}

static void put_string(out *o, const char *s, size_t n)
{
    put(o, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(o, s + run, i - run);
        run = i + 1;
        char esc[8];
        switch (c) {
        case '"': puts_(o, "\\\""); break;
        case '\\': puts_(o, "\\\\"); break;
        case '\n': puts_(o, "\\n"); break;
        case '\r': puts_(o, "\\r"); break;
        case '\t': puts_(o, "\\t"); break;
        default:
            snprintf(esc, sizeof esc, "\\u%04x", c);
            puts_(o, esc);
        }
    }
    put(o, s + run, n - run);
    put(o, "\"", 1);
}

static void put_base64(out *o, const unsigned char *p, size_t n)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        char q[4] = {tbl[v >> 18 & 63], tbl[v >> 12 & 63], i + 1 < n ? tbl[v >> 6 & 63] : '=',
                     i + 2 < n ? tbl[v & 63] : '='};
        put(o, q, 4);
    }
}

static void newline(out *o, int indent, int depth)
{
    if (!indent)
        return;
    put(o, "\n", 1);
    for (int i = 0; i < indent * depth; i++)
        put(o, " ", 1);
}

static void emit(out *o, const trove_value *v, int indent, int depth)
{
    char num[40];
    switch (v->type) {
    case TROVE_VALUE_NULL: puts_(o, "null"); break;
    case TROVE_VALUE_BOOL: puts_(o, v->as.b ? "true" : "false"); break;
    case TROVE_VALUE_INT: snprintf(num, sizeof num, "%lld", (long long)v->as.i); puts_(o, num); break;
    case TROVE_VALUE_UINT:
        snprintf(num, sizeof num, "%llu", (unsigned long long)v->as.u);
        puts_(o, num);
        break;
    case TROVE_VALUE_FLOAT:
        if (isnan(v->as.d))
            puts_(o, "\"NaN\"");
        else if (isinf(v->as.d))
            puts_(o, v->as.d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        else {
            /* Shortest text that reads back to the same double. */
            for (int prec = 15; prec <= 17; prec++) {
                snprintf(num, sizeof num, "%.*g", prec, v->as.d);
                if (strtod(num, NULL) == v->as.d)
                    break;
            }
            if (!strpbrk(num, ".eE"))
                strcat(num, ".0");
            puts_(o, num);
        }
        break;
    case TROVE_VALUE_STRING: put_string(o, v->as.s.p, v->as.s.len); break;
    case TROVE_VALUE_BYTES:
        puts_(o, "{\"$bytes\": \"");
        put_base64(o, (const unsigned char *)v->as.s.p, v->as.s.len);
        puts_(o, "\"}");
        break;
    case TROVE_VALUE_ARRAY:
        put(o, "[", 1);
        for (size_t i = 0; i < v->as.a.n; i++) {
            if (i)
                put(o, ",", 1);
            newline(o, indent, depth + 1);
            emit(o, v->as.a.items[i], indent, depth + 1);
        }
        if (v->as.a.n)
            newline(o, indent, depth);
        put(o, "]", 1);
        break;
    case TROVE_VALUE_MAP:
        put(o, "{", 1);
        for (size_t i = 0; i < v->as.m.n; i++) {
            if (i)
                put(o, ",", 1);
            newline(o, indent, depth + 1);
            put_string(o, v->as.m.e[i].key, v->as.m.e[i].keylen);
            puts_(o, indent ? ": " : ":");
            emit(o, v->as.m.e[i].value, indent, depth + 1);
        }
        if (v->as.m.n)
            newline(o, indent, depth);
        put(o, "}", 1);
        break;
    }
}

TROVE_API int trove_value_to_json(const trove_value *v, const trove_allocator *alloc, int indent,
                                  char **outp, size_t *len, trove_error *err)
{
    if (!v || !outp)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_value_to_json: NULL");
    out o = {alloc, NULL, 0, 0, false};
    emit(&o, v, indent < 0 ? 0 : indent, 0);
    if (!o.p && !o.oom)
        put(&o, "", 0);
    if (o.oom) {
        trove__free(alloc, o.p);
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    }
    *outp = o.p;
    if (len)
        *len = o.len;
    return TROVE_OK;
}
