/* value.h: the metadata tree node, shared by value.c, cbor.c and json.c. */
#ifndef TROVE_VALUE_H
#define TROVE_VALUE_H

#include "core/internal.h"

typedef struct trove__map_entry {
    char *key;            /* NUL-terminated UTF-8, no NUL inside */
    size_t keylen;
    trove_value *value;
} trove__map_entry;

struct trove_value {
    const trove_allocator *alloc;
    trove_value_type type;
    union {
        int b;
        int64_t i;
        uint64_t u;
        double d;
        struct { char *p; size_t len; } s;          /* string (NUL-terminated) and bytes */
        struct { trove_value **items; size_t n, cap; } a;
        struct { trove__map_entry *e; size_t n, cap; } m;  /* sorted: canonical key order */
    } as;
};

/* Canonical key order: shorter first, then bytewise (RFC 8949 section 4.2.1 for text keys). */
int trove__key_cmp(const char *a, size_t alen, const char *b, size_t blen);
/* Append without the order check (decoder: it has already checked order). */
int trove__map_append(trove_value *map, char *key, size_t keylen, trove_value *item);
trove_value *trove__value_new(const trove_allocator *a, trove_value_type t);
/* A string node that takes ownership of p (p[len] must be NUL). */
trove_value *trove__value_string_own(const trove_allocator *a, trove_value_type t, char *p,
                                     size_t len);

#endif
