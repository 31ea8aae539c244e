/* internal.h: shared internals of libtrove: allocation, errors, checked arithmetic, io, hashing.
 * Never installed; cli/ and python/ must not include it. */
#ifndef TROVE_INTERNAL_H
#define TROVE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trove.h"

#define TROVE_API __attribute__((visibility("default")))

#if defined(__GNUC__)
#define TROVE_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TROVE_PRINTF(f, a)
#endif

/* ---- allocation (alloc.c): every allocation of src/ goes through these --------------- */
const trove_allocator *trove__alloc_or_default(const trove_allocator *a);
void *trove__malloc(const trove_allocator *a, size_t n);
void *trove__calloc(const trove_allocator *a, size_t count, size_t size);
void *trove__realloc(const trove_allocator *a, void *p, size_t n);
void trove__free(const trove_allocator *a, void *p);
char *trove__strndup(const trove_allocator *a, const char *s, size_t n);
/* Memory aligned to `align` (power of 2); free with trove__free_aligned. */
void *trove__malloc_aligned(const trove_allocator *a, size_t n, size_t align);
void trove__free_aligned(const trove_allocator *a, void *p);
/* A large scratch buffer that the kernel copies in and out of (read/write): page-aligned and,
 * from 2 MiB up, 2 MiB-aligned and advised into transparent huge pages (MADV_HUGEPAGE; only a
 * hint). Measured on the reference VM: a 4 MiB push buffer in 4 KiB pages made write() from it
 * cost 2-3x the CPU of the same write from huge pages. Free with trove__free_aligned. */
void *trove__malloc_io(const trove_allocator *a, size_t n);

/* ---- errors (error.c) ----------------------------------------------------------------- */
/* Fill err (if not NULL) and return code. */
int trove__fail(trove_error *err, int code, uint64_t offset, const char *fmt, ...)
    TROVE_PRINTF(4, 5);
/* Like trove__fail with strerror(errno_value) appended after ": ". */
int trove__fail_errno(trove_error *err, int code, int errno_value, const char *fmt, ...)
    TROVE_PRINTF(4, 5);

/* ---- checked arithmetic --------------------------------------------------------------- */
static inline bool trove__add_ok(uint64_t a, uint64_t b, uint64_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}
static inline bool trove__mul_ok(uint64_t a, uint64_t b, uint64_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}
/* align_up for a power-of-two alignment; false on overflow. */
static inline bool trove__align_ok(uint64_t v, uint64_t align, uint64_t *out)
{
    uint64_t t;
    if (!trove__add_ok(v, align - 1, &t))
        return false;
    *out = t & ~(align - 1);
    return true;
}
static inline bool trove__is_pow2(uint64_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}
static inline uint64_t trove__load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}
static inline uint32_t trove__load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint16_t trove__load_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static inline void trove__store_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void trove__store_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void trove__store_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline bool trove__host_is_le(void)
{
    return __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;
}
/* Reverse the bytes of each element of size esize (2, 4 or 8) in place. */
void trove__byteswap(void *p, size_t nbytes, size_t esize);

/* ---- UTF-8 (utf8.c) --------------------------------------------------------------------- */
/* True when s[0..n) is well-formed UTF-8 (no overlongs, surrogates or code points > 10FFFF). */
bool trove__utf8_valid(const char *s, size_t n);

/* ---- io (io.c) ------------------------------------------------------------------------ */
/* Write all n bytes (retrying on EINTR and short writes). */
int trove__write_all(int fd, const void *p, size_t n, trove_error *err, const char *what);
/* Read exactly n bytes at offset (pread); short file is TROVE_E_CORRUPT. */
int trove__pread_all(int fd, void *p, size_t n, uint64_t off, trove_error *err, const char *what);
/* Write exactly n bytes at offset (pwrite, retrying on EINTR and short writes). */
int trove__pwrite_all(int fd, const void *p, size_t n, uint64_t off, trove_error *err,
                      const char *what);
/* Create a temporary file next to path (same directory) with mode; caller owns *tmp_path. */
int trove__tmpfile_near(const trove_allocator *a, const char *path, unsigned mode, int *fd,
                        char **tmp_path, trove_error *err);
/* fsync(fd), rename(tmp, path), fsync(directory of path). */
int trove__commit_tmpfile(int fd, const char *tmp_path, const char *path, bool sync,
                          trove_error *err);

/* ---- background flush (flush.c) --------------------------------------------------------- */
/* While a large durable write goes on, a thread starts the writeback of every range noted
 * (sync_file_range) and fdatasyncs the newest file every `every` bytes, so that the disk's cache
 * drains during the work instead of at the final fsync (which the caller still does: errors of
 * the background flushes are not reported), and the writers never wait for the submission of
 * their own writes. Thread-safe. */
#include <pthread.h>
#define TROVE__FLUSH_EVERY (UINT64_C(32) << 20)
#define TROVE__FLUSH_QUEUE 64u
typedef struct trove__flush_range {
    int fd;          /* a dup, closed once its writeback was started */
    uint64_t off, len;
} trove__flush_range;
typedef struct trove__flusher {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    bool on, stop;
    int fd;          /* a dup of the file to fdatasync next, or -1 */
    uint64_t every, since;
    unsigned queued; /* ranges whose writeback is to be started */
    trove__flush_range q[TROVE__FLUSH_QUEUE];
} trove__flusher;
void trove__flusher_init(trove__flusher *f, uint64_t every);
/* len bytes at off were written to fd (any file of the same file system). every = 0: nothing. */
void trove__flusher_note(trove__flusher *f, int fd, uint64_t off, uint64_t len);
/* Wait for the flush in progress, drop what is queued and stop the thread; notes may start it
 * again. */
void trove__flusher_stop(trove__flusher *f);
void trove__flusher_destroy(trove__flusher *f);

/* ---- numerics (npsum.c) ------------------------------------------------------------------ */
/* Sum of a[0..n) in numpy's pairwise order (blocks of 8 below 128, halves above): the result
 * np.sum gives for a contiguous row, bit for bit. */
double trove__np_sum(const double *a, size_t n);

/* ---- jobs (jobs.c) ------------------------------------------------------------------------ */
/* Run jobs 0..count-1 on up to `threads` threads (at most TROVE__MAX_THREADS), the caller's
 * included; each call gets its thread's slot (< threads) for per-thread scratch. Stops at the
 * first failure and returns the error of the lowest failing job. */
#define TROVE__MAX_THREADS 8u
typedef int (*trove__job_run)(void *ctx, size_t job, unsigned slot, trove_error *err);
int trove__run_jobs(unsigned threads, size_t count, trove__job_run run, void *ctx,
                    trove_error *err);

/* ---- hashing (hash.c) ----------------------------------------------------------------- */
/* Lower-case hex of p[0..n) into out (2n + 1 bytes, NUL-terminated). */
void trove__hex(const uint8_t *p, size_t n, char *out);
uint64_t trove__xxh3(const void *p, size_t n);
/* Incremental XXH3-64 that closes a digest every `chunk` bytes (docs/FORMAT.md 6). */
typedef struct trove__chunk_hasher trove__chunk_hasher;
trove__chunk_hasher *trove__chunk_hasher_new(const trove_allocator *a, uint64_t chunk);
void trove__chunk_hasher_free(trove__chunk_hasher *h);
/* Feed bytes; returns TROVE_E_NOMEM when the digest list cannot grow. */
int trove__chunk_hasher_update(trove__chunk_hasher *h, const void *p, size_t n);
/* Close the last partial chunk; *digests is 8*count bytes (LE u64 each), owned by the
 * hasher until it is freed or reset. */
int trove__chunk_hasher_final(trove__chunk_hasher *h, const uint8_t **digests, size_t *count);
void trove__chunk_hasher_reset(trove__chunk_hasher *h);

/* Unkeyed BLAKE2b (RFC 7693; blake2b.c), outlen 1..64 bytes. */
typedef struct trove__blake2b {
    uint64_t h[8], t[2];
    uint8_t buf[128];
    size_t buflen, outlen;
} trove__blake2b;
void trove__blake2b_init(trove__blake2b *s, size_t outlen);
void trove__blake2b_update(trove__blake2b *s, const void *in, size_t n);
void trove__blake2b_final(trove__blake2b *s, uint8_t *out);

/* BLAKE2b-256 tensor tree hash over 4 MiB leaves (docs/FORMAT.md 7). */
#define TROVE__LEAF_BYTES (UINT64_C(4) << 20)
typedef struct trove__tree_hasher trove__tree_hasher;
trove__tree_hasher *trove__tree_hasher_new(const trove_allocator *a);
void trove__tree_hasher_free(trove__tree_hasher *h);
int trove__tree_hasher_update(trove__tree_hasher *h, const void *p, size_t n);
void trove__tree_hasher_final(trove__tree_hasher *h, uint8_t out[32]);
/* Leaf digest of one leaf (up to 4 MiB) and the tensor digest from all leaves. */
void trove__leaf_digest(const void *p, size_t n, uint8_t out[32]);
void trove__tensor_digest_from_leaves(uint64_t nbytes, const uint8_t *leaves, size_t nleaves,
                                      uint8_t out[32]);
void trove__blake2b_256(const void *p, size_t n, const void *prefix, size_t prefix_len,
                        uint8_t out[32]);

#endif /* TROVE_INTERNAL_H */
