/* reader_internal.h: the open file's representation, shared by reader.c, digest.c and
 * rewrite.c (internal). */
#ifndef TROVE_READER_INTERNAL_H
#define TROVE_READER_INTERNAL_H

#include <stdatomic.h>

#include "core/internal.h"

/* Where the bytes of an open file live. */
enum source_kind { SRC_MMAP, SRC_OWNED, SRC_BORROWED, SRC_RELEASE };

typedef struct tensor {
    const char *name;          /* borrowed from the decoded header */
    size_t name_len;
    trove_dtype dtype;
    uint32_t rank;
    uint64_t shape[TROVE_MAX_RANK];
    uint64_t count, nbytes, offset, stored, chunk;
    uint32_t align;
    bool zstd;
    const uint8_t *xxh3;       /* 8 bytes per chunk, borrowed from the header */
    size_t nchunks;
    const uint8_t *blake;      /* 32 bytes or NULL */
    _Atomic(void *) owned;     /* decompressed / byte-swapped copy, made once */
} tensor;

struct trove_file {
    const trove_allocator *alloc;
    trove_open_options opts;
    const uint8_t *base;
    uint64_t size;
    int kind;                  /* enum source_kind */
    uint32_t major, minor;
    uint64_t compat, ro_compat, incompat;
    uint64_t header_offset, header_len;
    const uint8_t *hdr;        /* the header's bytes (in the mapping or in tail) */
    int parse_fd;              /* mmap mode: framing and header are read with pread, not by
                                * faulting pages of the mapping in (10x cheaper); else -1 */
    int data_fd;               /* mmap mode: a private dup of the descriptor, for verify to
                                * pread chunks (a fresh mapping faults 4 KiB pages at ~2 GB/s
                                * here, pread runs at memory speed); else -1 */
    uint8_t pre[64];           /* the preamble, when parse_fd >= 0 */
    uint8_t *tail;             /* bytes [tail_off, size) when parse_fd >= 0 */
    uint64_t tail_off;
    trove_value *header;
    const trove_value *meta;
    tensor *t;
    size_t n;
    uint32_t *by_name;         /* tensor indices sorted by name bytes */
};

/* Decompress tensor t's zstd frame into buf (t->nbytes bytes, little-endian as stored). */
int trove__decompress(const trove_file *f, const tensor *t, uint8_t *buf, trove_error *err);
/* The tensor's logical bytes in file (little-endian) order, as digests hash them: a view of the
 * mapping, the cached decompressed copy, or (big-endian host, compressed) a fresh copy that the
 * caller frees with trove__free_aligned (*owned is set to it, else NULL). */
int trove__tensor_le_bytes(const trove_file *f, size_t i, const uint8_t **p, void **owned,
                           trove_error *err);
/* Verify every tensor (two threads for large files). */
int trove__verify_all(const trove_file *f, trove_error *err);
/* trove_file_rewrite's bytes (tensor data verbatim, new header and trailer) written to fd (a
 * file or a pipe) instead of a new file: how a signature is embedded into an encrypted file. */
int trove__file_rewrite_fd(const trove_file *f, int fd, const char *key, const trove_value *value,
                           const trove_allocator *a, trove_error *err);

#endif
