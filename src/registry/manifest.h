/* manifest.h: a version's layout (which blobs, in which order, rebuild the file byte for byte),
 * the model digest from tensor digests, and the checksum of a catalog row (internal). */
#ifndef TROVE_REGISTRY_MANIFEST_H
#define TROVE_REGISTRY_MANIFEST_H

#include "core/internal.h"

#define TROVE__CHUNK_BYTES TROVE__LEAF_BYTES  /* blob size for tensors and framing: 4 MiB */

/* Encoded layout (little-endian; docs/REGISTRY.md "Layout"):
 *   "TRVMAN01" u64 file_bytes u64 frame_bytes u32 chunk u32 nframe u32 nseg u32 0
 *   nframe x 32-byte ids                     the framing stream, cut into chunks
 *   nseg x { u64 gap u64 stored u32 flags u32 0, ceil(stored/chunk) x 32-byte ids }
 *   u64 tail_gap
 * The file is: gap_0 bytes of framing, tensor 0's stored bytes, gap_1 bytes of framing, ...,
 * tail_gap bytes of framing. The framing stream is the concatenation of all gaps. */
typedef struct trove__mseg {
    uint64_t gap;            /* framing bytes before this tensor */
    uint64_t stored;         /* the tensor's stored bytes */
    uint32_t flags;          /* 1: zstd-compressed (stored bytes are not the logical bytes) */
    const uint8_t *ids;      /* nchunks ids, borrowed from the encoded buffer */
    size_t nchunks;
} trove__mseg;

typedef struct trove__manifest {
    uint64_t file_bytes, frame_bytes, tail_gap;
    uint32_t chunk;
    const uint8_t *frame_ids;
    size_t nframe;
    trove__mseg *segs;       /* owned (free with trove__manifest_free) */
    size_t nseg;
} trove__manifest;

/* Parse and validate (hostile bytes: every count, size and sum is checked). */
int trove__manifest_parse(const trove_allocator *a, const uint8_t *p, size_t n,
                          trove__manifest *out, trove_error *err);
void trove__manifest_free(const trove_allocator *a, trove__manifest *m);

/* Number of chunks for n bytes. */
static inline size_t trove__nchunks(uint64_t n, uint64_t chunk)
{
    return (size_t)(n / chunk + (n % chunk != 0));
}

/* Model digest (as trove_file_digest) from the tensor digests of f, in file order. */
int trove__model_digest_from_tensors(const trove_allocator *a, const trove_file *f,
                                     const uint8_t *tensor_digests,
                                     uint8_t out[32], trove_error *err);

/* The allocator a tree was built with; a deep copy of v made with allocator a (NULL on OOM). */
const trove_allocator *trove__reg_value_alloc(const trove_value *v);
trove_value *trove__reg_clone(const trove_allocator *a, const trove_value *v);

#endif
