/* layout.c: the fixed-size preamble and trailer (docs/FORMAT.md sections 2 and 3). */
#include <string.h>

#include "format/layout.h"

void trove__write_preamble(uint8_t p[TROVE__PREAMBLE_BYTES])
{
    memset(p, 0, TROVE__PREAMBLE_BYTES);
    memcpy(p, TROVE__MAGIC, 8);
    trove__store_le16(p + 8, TROVE_FORMAT_MAJOR);
    trove__store_le16(p + 10, TROVE_FORMAT_MINOR);
    trove__store_le32(p + 12, TROVE__BOM);
}

uint64_t trove__trailer_check(const uint8_t pre[TROVE__PREAMBLE_BYTES],
                              const uint8_t t[TROVE__TRAILER_BYTES])
{
    uint8_t buf[TROVE__PREAMBLE_BYTES + TR_CHECK];
    memcpy(buf, pre, TROVE__PREAMBLE_BYTES);
    memcpy(buf + TROVE__PREAMBLE_BYTES, t, TR_CHECK);
    return trove__xxh3(buf, sizeof buf);
}

void trove__write_trailer(uint8_t t[TROVE__TRAILER_BYTES], const uint8_t pre[TROVE__PREAMBLE_BYTES],
                          uint64_t header_offset, uint64_t header_length, uint64_t compat,
                          uint64_t ro_compat, uint64_t incompat, uint64_t header_xxh3)
{
    memset(t, 0, TROVE__TRAILER_BYTES);
    trove__store_le64(t + TR_HEADER_OFFSET, header_offset);
    trove__store_le64(t + TR_HEADER_LENGTH, header_length);
    trove__store_le64(t + TR_COMPAT, compat);
    trove__store_le64(t + TR_RO_COMPAT, ro_compat);
    trove__store_le64(t + TR_INCOMPAT, incompat);
    trove__store_le64(t + TR_HEADER_XXH3, header_xxh3);
    trove__store_le64(t + TR_CHECK, trove__trailer_check(pre, t));
    memcpy(t + TR_END_MAGIC, TROVE__END_MAGIC, 8);
}
