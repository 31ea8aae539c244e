/* convert_out.h: where each output of trove_convert goes: a plain trove file, or an encrypted
 * one whose plaintext never reaches a file (internal, for convert.c and tensors_io.c). */
#ifndef TROVE_CODECS_CONVERT_OUT_H
#define TROVE_CODECS_CONVERT_OUT_H

#include "core/internal.h"

/* Checks one output, opened: TROVE_OK, or an error whose message says why. */
typedef int (*trove__out_check_fn)(const trove_file *f, void *ctx, trove_error *err);

/* Write one output of trove_convert at path (size_hint: its expected size, e.g. the sum of its
 * tensor bytes; 0 = unknown). fill gives the metadata and tensors to the writer;
 * with o->secret and a check it is called twice (once for the check, once for the file) and
 * must give the same content both times.
 * Plain (o->secret NULL): a trove file committed atomically with o->write; then, when check is
 * not NULL, reopened and checked, and removed when the check fails.
 * Encrypted: when check is not NULL the plaintext is first written into memory (wiped when
 * done, out of core dumps) and checked there; then it streams through trove_write_encrypted
 * into path (o->crypt: envelope, mode, sync). No plaintext byte is written to any file.
 * The writer's and the encryption's allocator default to o->alloc.
 * On any failure nothing is left at path (a file already there before stays, except when a
 * plain output was committed and then failed its check). */
int trove__convert_write(const char *path, const trove_convert_options *o, trove_fill_fn fill,
                         void *fill_ctx, uint64_t size_hint, trove__out_check_fn check,
                         void *check_ctx, trove_error *err);

/* Write through fill into memory: *out (len bytes, page-aligned, kept out of core dumps, cap
 * bytes allocated) is wiped and freed with trove__plain_free(a, *out, *len, *cap). size_hint:
 * the expected size (the tensor bytes; 0 = unknown), so that the buffer is allocated once. */
int trove__write_to_memory(const trove_allocator *a, const trove_write_options *wo,
                           trove_fill_fn fill, void *fill_ctx, uint64_t size_hint, uint8_t **out,
                           size_t *len, size_t *cap, trove_error *err);
/* Wipe the first `used` bytes of p (the only ones ever written) and free it. Accepts NULL. */
void trove__plain_free(const trove_allocator *a, uint8_t *p, size_t used, size_t cap);

#endif /* TROVE_CODECS_CONVERT_OUT_H */
