/* writer_internal.h: pieces of the writer shared with the reader's rewrite (internal). */
#ifndef TROVE_WRITER_INTERNAL_H
#define TROVE_WRITER_INTERNAL_H

#include "core/internal.h"

int trove__encode_header(const trove_allocator *a, const trove_value *meta,
                         const trove_value *extra, const trove_value *tensors, uint8_t **out,
                         size_t *len);

#endif
