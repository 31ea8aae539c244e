/* trove/format.h: the container: open and read trove files, write them atomically.
 *
 * Part of the public API; include <trove.h> rather than this file. The byte-level format is
 * specified in docs/FORMAT.md. */
#ifndef TROVE_FORMAT_H
#define TROVE_FORMAT_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Feature bits (docs/FORMAT.md section 3) -------------------------------------------
 * compat: a reader that does not know the bit may ignore it.
 * ro_compat: a reader that does not know the bit may read, but must not modify the file.
 * incompat: a reader that does not know the bit must refuse the file. */
#define TROVE_COMPAT_SIGNED      (UINT64_C(1) << 0) /* header holds "signatures" */
#define TROVE_COMPAT_DIGESTS     (UINT64_C(1) << 1) /* tensor entries hold "blake2b" */
#define TROVE_INCOMPAT_ZSTD      (UINT64_C(1) << 0) /* some tensor is zstd-compressed */
#define TROVE_INCOMPAT_ENCRYPTED (UINT64_C(1) << 1) /* body is an encrypted envelope */

/* First 8 bytes of an encrypted trove file (docs/SECURITY.md): the container reader recognises
 * it to refuse such a file with a precise message; src/security reads it. */
#define TROVE_ENCRYPTED_MAGIC "\xffTRVENC\n"

/* ---- Limits (docs/FORMAT.md section 8). Options may lower them, never raise them. ------- */
#define TROVE_LIMIT_HEADER_BYTES  (UINT64_C(256) << 20) /* 256 MiB of encoded header */
#define TROVE_LIMIT_TENSORS       (1u << 20)            /* 1,048,576 tensors */
#define TROVE_LIMIT_NAME_BYTES    1024u                 /* bytes of UTF-8 in a tensor name */
#define TROVE_LIMIT_DEPTH         64u                   /* nesting depth of metadata */
#define TROVE_LIMIT_ITEMS         (1u << 24)            /* CBOR items in one header */
#define TROVE_LIMIT_ZSTD_RATIO    1024u                 /* logical : stored bytes, zstd */

/* ---- Reading ---------------------------------------------------------------------------
 * Thread-safety: every function taking a `const trove_file *` may be called from many threads
 * at once on the same file (tensor_data's one-time decompression is synchronised). Only
 * trove_close() must not race with any other call on that file. A mapped file must not be
 * truncated by another process while open (the mapping would fault); use TROVE_OPEN_NO_MMAP for
 * files that others may modify. */
typedef struct trove_file trove_file;

enum {
    TROVE_OPEN_VERIFY = 1u << 0,   /* verify every checksum before returning (full read) */
    TROVE_OPEN_NO_MMAP = 1u << 1,  /* read the whole file into owned memory (no mapping) */
    TROVE_OPEN_DIRECT = 1u << 2,   /* like NO_MMAP, reading with O_DIRECT (bypasses cache) */
    TROVE_OPEN_POPULATE = 1u << 3, /* map with MAP_POPULATE: fault every page in at open */
};

typedef struct trove_open_options {
    uint32_t size;                  /* sizeof(trove_open_options): ABI version */
    uint32_t flags;                 /* TROVE_OPEN_* */
    const trove_allocator *alloc;   /* NULL = libc; must outlive the file */
    uint64_t max_header_bytes;      /* 0 = TROVE_LIMIT_HEADER_BYTES */
    uint32_t max_tensors;           /* 0 = TROVE_LIMIT_TENSORS */
    uint32_t max_name_bytes;        /* 0 = TROVE_LIMIT_NAME_BYTES */
    uint32_t max_depth;             /* 0 = TROVE_LIMIT_DEPTH */
    uint32_t reserved_;
    /* Per compressed tensor: 0 = the default rule (at most TROVE_LIMIT_ZSTD_RATIO times its
     * stored size, plus 1 MiB: refuses decompression bombs); UINT64_MAX = no limit; otherwise a
     * cap in bytes (the ratio rule then does not apply). */
    uint64_t max_decompressed_bytes;
    /* trove_open_memory only: called once from trove_close() with the buffer, to release it
     * (e.g. wipe and free decrypted plaintext). NULL = the caller keeps ownership. */
    void (*release)(void *ctx, void *buf, size_t len);
    void *release_ctx;
} trove_open_options;
#define TROVE_OPEN_OPTIONS_INIT { sizeof(trove_open_options), 0, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL }

/* Open a trove file. The preamble, trailer and whole header are validated before this returns
 * (every offset, length, count, name, dtype, shape and the header checksum); tensor bytes are
 * not read unless TROVE_OPEN_VERIFY is set. Caller owns *out; free with trove_close().
 * opts may be NULL (defaults). Errors: TROVE_E_IO, TROVE_E_NOT_TROVE, TROVE_E_VERSION,
 * TROVE_E_CORRUPT, TROVE_E_CHECKSUM, TROVE_E_LIMIT, TROVE_E_NOMEM.
 * Thread-safety: the returned file may be read from many threads at once. */
TROVE_NODISCARD int trove_open(trove_file **out, const char *path, const trove_open_options *opts,
                               trove_error *err);
/* Same, from an open descriptor positioned anywhere (reads use pread/mmap at absolute
 * offsets). The descriptor is not closed by trove and may be closed after this returns. */
TROVE_NODISCARD int trove_open_fd(trove_file **out, int fd, const trove_open_options *opts,
                                  trove_error *err);
/* Same, over a buffer of len bytes: borrowed, must stay valid and unchanged until
 * trove_close(), unless opts->release is set (then trove owns it and releases it at close).
 * Tensor views point into buf: aligned as the file says only if buf is 4096-aligned. */
TROVE_NODISCARD int trove_open_memory(trove_file **out, const void *buf, size_t len,
                                      const trove_open_options *opts, trove_error *err);
/* Unmap and free everything the file owns, including decompressed tensors. Accepts NULL.
 * Every pointer borrowed from the file becomes invalid. */
void trove_close(trove_file *f);

/* Format version of the file, and its feature bits. */
void trove_file_version(const trove_file *f, uint32_t *major, uint32_t *minor);
void trove_file_features(const trove_file *f, uint64_t *compat, uint64_t *ro_compat,
                         uint64_t *incompat);
/* Total size of the file in bytes. */
uint64_t trove_file_size(const trove_file *f);

/* The user metadata tree ("meta" in the header, always a map). Borrowed; valid until
 * trove_close(f). */
const trove_value *trove_file_metadata(const trove_file *f);
/* The whole decoded header (a map with "meta", "tensors" and optional entries such as
 * "signatures"). Borrowed; valid until trove_close(f). */
const trove_value *trove_file_header(const trove_file *f);
/* The header's canonical CBOR bytes as stored in the file. Borrowed; valid until close. */
void trove_file_header_bytes(const trove_file *f, const void **p, size_t *len);

typedef struct trove_tensor_info {
    const char *name;         /* NUL-terminated UTF-8; borrowed, valid until close */
    size_t name_len;
    trove_dtype dtype;
    uint32_t rank;
    const uint64_t *shape;    /* rank entries; borrowed, valid until close */
    uint64_t count;           /* number of elements (product of shape; 1 for rank 0) */
    uint64_t nbytes;          /* logical (uncompressed) bytes: count * dtype size */
    uint64_t offset;          /* offset of the stored bytes in the file */
    uint64_t stored_bytes;    /* bytes on disk (== nbytes unless compressed) */
    uint32_t alignment;       /* alignment of offset the writer asked for */
    uint32_t compressed;      /* 1 when stored as a zstd frame */
} trove_tensor_info;

size_t trove_file_tensor_count(const trove_file *f);
/* Directory entry i (in file order). TROVE_E_NOT_FOUND when i is out of range. */
int trove_file_tensor_info(const trove_file *f, size_t i, trove_tensor_info *out);
/* Index of the tensor called name, by binary search: TROVE_E_NOT_FOUND when absent. */
int trove_file_find(const trove_file *f, const char *name, size_t *index);

/* Read-only bytes of tensor i (little-endian, C order, nbytes long). Uncompressed tensors are
 * zero-copy views of the mapping; compressed ones are decompressed once into memory owned by
 * the file (the first call pays; later calls, from any thread, get the same pointer). On a
 * big-endian host multi-byte dtypes are byte-swapped once into owned memory likewise.
 * Borrowed; valid until trove_close(f). The checksum is not verified: call
 * trove_file_verify_tensor() first when the bytes must be trusted.
 * Errors: TROVE_E_NOT_FOUND, TROVE_E_CORRUPT (bad zstd frame), TROVE_E_LIMIT, TROVE_E_NOMEM. */
TROVE_NODISCARD int trove_file_tensor_data(const trove_file *f, size_t i, const void **data,
                                           trove_error *err);

/* Verify the checksums of tensor i (every chunk), or of every tensor, and that padding bytes
 * are zero. TROVE_E_CHECKSUM names the tensor and the byte offset of the bad chunk. */
TROVE_NODISCARD int trove_file_verify_tensor(const trove_file *f, size_t i, trove_error *err);
TROVE_NODISCARD int trove_file_verify(const trove_file *f, trove_error *err);

/* The model digest (docs/FORMAT.md section 7): BLAKE2b-256 over the canonical metadata and
 * every tensor's name, dtype, shape and content digest. Independent of layout (alignment,
 * compression, chunking): the same model has the same digest however it was written. Reads and
 * hashes every tensor byte unless the file stores tensor digests (TROVE_COMPAT_DIGESTS) and
 * TROVE_DIGEST_TRUST_STORED is given. Uses up to `threads` threads (0 = 2). */
#define TROVE_DIGEST_BYTES 32
enum { TROVE_DIGEST_TRUST_STORED = 1u << 0 };
TROVE_NODISCARD int trove_file_digest(const trove_file *f, unsigned flags, unsigned threads,
                                      uint8_t out[TROVE_DIGEST_BYTES], trove_error *err);
/* Content digest of tensor i: BLAKE2b-256 tree hash of its logical bytes (section 7). */
TROVE_NODISCARD int trove_file_tensor_digest(const trove_file *f, size_t i,
                                             uint8_t out[TROVE_DIGEST_BYTES], trove_error *err);

/* ---- Writing ---------------------------------------------------------------------------
 * Thread-safety: a writer is used by one thread at a time (distinct writers are independent).
 * It may start one short-lived thread of its own to checksum large tensors while writing. */
typedef struct trove_writer trove_writer;

enum {
    TROVE_WRITE_DIGESTS = 1u << 0,  /* store each tensor's BLAKE2b digest (costs ~1 GB/s) */
    TROVE_WRITE_NO_SYNC = 1u << 1,  /* skip fsync (tests, scratch files): not crash-safe */
};

typedef struct trove_write_options {
    uint32_t size;                  /* sizeof(trove_write_options) */
    uint32_t flags;                 /* TROVE_WRITE_* */
    const trove_allocator *alloc;   /* NULL = libc */
    uint32_t alignment;             /* default tensor alignment: 0 = 64; power of 2, 64..65536 */
    uint32_t mode;                  /* permission bits of a new file; 0 = 0644 (umask applies) */
    uint32_t chunk_bytes;           /* checksum chunk: 0 = 4 MiB; power of 2, 4 KiB..1 GiB */
    int zstd_level;                 /* level for compressed tensors: 0 = 3 */
} trove_write_options;
#define TROVE_WRITE_OPTIONS_INIT { sizeof(trove_write_options), 0, NULL, 0, 0, 0, 0 }

/* Start writing a file that will appear at path on trove_writer_commit(). Tensor bytes go to a
 * temporary file in the same directory as they are added (memory stays O(1) in tensor sizes);
 * commit writes the header, fsyncs, renames over path and fsyncs the directory, so a crash
 * leaves the old file or the new one, never a torn one. Caller owns *out; free with
 * trove_writer_free() (which removes the temporary file unless committed). */
TROVE_NODISCARD int trove_writer_open(trove_writer **out, const char *path,
                                      const trove_write_options *opts, trove_error *err);
/* Write sequentially to fd (a file, a pipe, a socket): no seek, no rename, no close; fsync only
 * if fd is a regular file. */
TROVE_NODISCARD int trove_writer_open_fd(trove_writer **out, int fd,
                                         const trove_write_options *opts, trove_error *err);

/* Set the metadata tree (must be a map). Takes ownership of meta on every path; replaces any
 * earlier tree. May be called any time before commit. */
TROVE_NODISCARD int trove_writer_set_metadata(trove_writer *w, trove_value *meta,
                                              trove_error *err);
/* Set an extra top-level header entry (e.g. "signatures"; not "meta" or "tensors"). Takes
 * ownership of value on every path. Used by the trust layer; excluded from the digest. */
TROVE_NODISCARD int trove_writer_set_header_entry(trove_writer *w, const char *key,
                                                  trove_value *value, trove_error *err);

enum { TROVE_TENSOR_ZSTD = 1u << 0 };  /* store this tensor as a zstd frame */

typedef struct trove_tensor_spec {
    const char *name;              /* UTF-8, NUL-terminated, unique in the file */
    trove_dtype dtype;
    uint32_t rank;                 /* 0..TROVE_MAX_RANK */
    const uint64_t *shape;         /* rank entries (may be NULL when rank is 0) */
    uint32_t flags;                /* TROVE_TENSOR_* */
    uint32_t alignment;            /* 0 = the writer's default; power of 2, 64..65536 */
} trove_tensor_spec;

/* Add a tensor from memory: data holds count * dtype size bytes in host byte order, C order.
 * The bytes are written (and checksummed) before this returns; data is not kept. */
TROVE_NODISCARD int trove_writer_add(trove_writer *w, const trove_tensor_spec *spec,
                                     const void *data, trove_error *err);
/* Add a tensor whose bytes come from a callback: read(ctx, buf, cap) fills up to cap bytes
 * of the tensor (in order) and returns the number written, 0 at the end, or a negative
 * TROVE_E_* to abort. Exactly count * dtype size bytes must be produced. */
typedef long long (*trove_read_fn)(void *ctx, void *buf, size_t cap);
TROVE_NODISCARD int trove_writer_add_stream(trove_writer *w, const trove_tensor_spec *spec,
                                            trove_read_fn read, void *ctx, trove_error *err);
/* Finish: write the header and trailer, fsync, rename into place. After success or failure the
 * writer can only be freed. Errors: TROVE_E_IO, TROVE_E_NOMEM, TROVE_E_LIMIT. */
TROVE_NODISCARD int trove_writer_commit(trove_writer *w, trove_error *err);
/* Abandon (remove the temporary file if not committed) and free. Accepts NULL. */
void trove_writer_free(trove_writer *w);

/* Write a copy of f to path (atomically, as trove_writer_commit) whose header has the extra
 * top-level entry `key` set to value (value NULL: removed; value is copied). Tensor bytes are
 * copied verbatim, so the digest is unchanged. path may name the file f was opened from (the
 * open file keeps reading the old bytes). Refused (TROVE_E_VERSION) when f has ro_compat
 * features this library does not know. Used to embed signatures. */
TROVE_NODISCARD int trove_file_rewrite(const trove_file *f, const char *path, const char *key,
                                       const trove_value *value, const trove_write_options *opts,
                                       trove_error *err);

#ifdef __cplusplus
}
#endif
#endif /* TROVE_FORMAT_H */
