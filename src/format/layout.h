/* layout.h: byte-level constants of the container (docs/FORMAT.md sections 2 and 3). */
#ifndef TROVE_LAYOUT_H
#define TROVE_LAYOUT_H

#include "core/internal.h"

#define TROVE__PREAMBLE_BYTES 64
#define TROVE__TRAILER_BYTES 64
#define TROVE__MAGIC "\xffTRV\r\n\x1a\n"
#define TROVE__END_MAGIC "TROVEEND"
#define TROVE__BOM UINT32_C(0x01020304)

/* Feature bits this library understands. */
#define TROVE__KNOWN_COMPAT (TROVE_COMPAT_SIGNED | TROVE_COMPAT_DIGESTS)
#define TROVE__KNOWN_RO_COMPAT UINT64_C(0)
#define TROVE__KNOWN_INCOMPAT (TROVE_INCOMPAT_ZSTD)

#define TROVE__ZSTD_SLACK (UINT64_C(1) << 20) /* bytes a tensor may decompress to anyway */
#define TROVE__DEFAULT_ALIGN 64u
#define TROVE__MAX_ALIGN 65536u
#define TROVE__DEFAULT_CHUNK (UINT64_C(4) << 20)
#define TROVE__MIN_CHUNK (UINT64_C(4) << 10)
#define TROVE__MAX_CHUNK (UINT64_C(1) << 30)

/* Trailer fields (offsets inside the trailer). */
enum {
    TR_HEADER_OFFSET = 0,
    TR_HEADER_LENGTH = 8,
    TR_COMPAT = 16,
    TR_RO_COMPAT = 24,
    TR_INCOMPAT = 32,
    TR_HEADER_XXH3 = 40,
    TR_CHECK = 48,
    TR_END_MAGIC = 56,
};

void trove__write_preamble(uint8_t p[TROVE__PREAMBLE_BYTES]);
/* Fill the trailer, including its check over preamble + trailer[0..48). */
void trove__write_trailer(uint8_t t[TROVE__TRAILER_BYTES], const uint8_t pre[TROVE__PREAMBLE_BYTES],
                          uint64_t header_offset, uint64_t header_length, uint64_t compat,
                          uint64_t ro_compat, uint64_t incompat, uint64_t header_xxh3);
uint64_t trove__trailer_check(const uint8_t pre[TROVE__PREAMBLE_BYTES],
                              const uint8_t t[TROVE__TRAILER_BYTES]);

#endif
