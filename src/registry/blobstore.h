/* blobstore.h: the registry's content-addressed blob store behind a small vtable (internal), so
 * that object storage can replace the local directory later (docs/REGISTRY.md). */
#ifndef TROVE_REGISTRY_BLOBSTORE_H
#define TROVE_REGISTRY_BLOBSTORE_H

#include "core/internal.h"

#define TROVE__BLOB_ID 32                  /* BLAKE2b-256 of the blob's bytes */

typedef struct trove__blobstore trove__blobstore;

/* What list() reports. */
enum { TROVE__ENTRY_BLOB = 0, TROVE__ENTRY_TEMP = 1, TROVE__ENTRY_OTHER = 2 };
typedef int (*trove__blob_list_fn)(void *ctx, int kind, const uint8_t id[TROVE__BLOB_ID],
                                   const char *name, uint64_t size);

typedef struct trove__blobstore_ops {
    /* Store n bytes under id (the caller has hashed them). Atomic: the blob appears whole or not
     * at all; it may appear only at the next sync(), which makes it durable (stores batch their
     * flushes there); discard() drops what no sync() has committed. *existed = 1 when it was
     * already there (not rewritten). Safe from several threads at once. */
    int (*put)(trove__blobstore *s, const uint8_t id[TROVE__BLOB_ID], const void *p, size_t n,
               int *existed, trove_error *err);
    /* Read the blob into buf, which holds exactly n bytes: TROVE_E_NOT_FOUND when missing,
     * TROVE_E_CHECKSUM when its size is not n or (verify) its bytes do not hash to id. */
    int (*get)(trove__blobstore *s, const uint8_t id[TROVE__BLOB_ID], void *buf, size_t n,
               int verify, trove_error *err);
    /* Copy the blob, which must be exactly n bytes, into out_fd at out_off (in the kernel where
     * it can); the caller checks the copy. TROVE_E_NOT_FOUND when missing, TROVE_E_CHECKSUM
     * when its size is not n. */
    int (*copy_to)(trove__blobstore *s, const uint8_t id[TROVE__BLOB_ID], size_t n, int out_fd,
                   uint64_t out_off, trove_error *err);
    /* Size of the blob, TROVE_E_NOT_FOUND when missing. */
    int (*size)(trove__blobstore *s, const uint8_t id[TROVE__BLOB_ID], uint64_t *out,
                trove_error *err);
    /* Make every put() so far visible and durable. */
    int (*sync)(trove__blobstore *s, trove_error *err);
    /* Forget every put() since the last sync() (a failed push). */
    void (*discard)(trove__blobstore *s);
    /* Every entry; stops with the callback's non-zero return. */
    int (*list)(trove__blobstore *s, trove__blob_list_fn fn, void *ctx, trove_error *err);
    /* Remove a blob (id) or a stale temporary entry (name from list()). Missing is not an error. */
    int (*remove)(trove__blobstore *s, const uint8_t *id, const char *name, trove_error *err);
    /* Cross-process lock: shared for push/pull, exclusive for gc. Waits up to timeout_ms. */
    int (*lock)(trove__blobstore *s, int exclusive, uint32_t timeout_ms, trove_error *err);
    void (*unlock)(trove__blobstore *s);
    void (*close)(trove__blobstore *s);
} trove__blobstore_ops;

struct trove__blobstore {
    const trove__blobstore_ops *ops;
};

/* The local-directory store: blobs in <root>/blobs/<2 hex>/<64 hex>, lock file <root>/lock.
 * file_mode / dir_mode: permission bits of new blobs / fan-out directories. */
int trove__blobstore_fs_open(trove__blobstore **out, const trove_allocator *a, const char *root,
                             unsigned file_mode, unsigned dir_mode, bool sync, trove_error *err);

/* Lower-case hex of n bytes into out (2n+1 bytes). */

#endif
