/* cbor.h: canonical CBOR encode/decode of trove_value trees (internal). */
#ifndef TROVE_CBOR_H
#define TROVE_CBOR_H

#include "core/internal.h"

/* Caller owns *out (free with trove__free(alloc, ...)). TROVE_E_NOMEM only. */
int trove__cbor_encode(const trove_value *v, const trove_allocator *alloc, uint8_t **out,
                       size_t *len);
/* Strict canonical decode; base is the file offset of p for messages, what names the part. */
int trove__cbor_decode(const void *p, size_t len, uint64_t base, const trove_allocator *alloc,
                       uint32_t max_depth, const char *what, trove_value **out, trove_error *err);

#endif
