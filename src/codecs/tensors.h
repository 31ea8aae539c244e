/* tensors.h: internal interface of the plain-tensor importers (safetensors, numpy .npy/.npz):
 * parse a file image into a list of tensors pointing into it, for convert.c and the fuzzers. */
#ifndef TROVE_CODECS_TENSORS_H
#define TROVE_CODECS_TENSORS_H

#include "core/internal.h"

typedef struct trove__tin {
    char *name;                     /* owned (the set's allocator), NUL-terminated UTF-8 */
    trove_dtype dtype;
    uint32_t rank;
    uint64_t shape[TROVE_MAX_RANK];
    const uint8_t *data;            /* borrowed: into the input image or an inflated member */
    uint64_t nbytes;                /* count * dtype size, checked */
    uint8_t swap;                   /* stored byte order differs from the host's: swap */
    uint8_t fortran;                /* stored in Fortran order: transpose to C order */
    uint8_t strided;                /* element i0..ik at data + sum(i_j * stride[j]) * esize
                                       (torch views): checked inside its storage at parse time */
    uint64_t stride[TROVE_MAX_RANK];
} trove__tin;

typedef struct trove__tset {
    const trove_allocator *alloc;
    trove__tin *t;
    size_t n, cap;
    trove_value *extra;             /* owned: safetensors __metadata__ (a string map) or NULL */
    uint8_t **owned;                /* inflated .npz members */
    size_t n_owned;
    const char *format;             /* static: "safetensors", "npy", "npz", "torch", ... */
    trove_value *user;              /* owned: non-tensor leaves (torch checkpoints) or NULL */
} trove__tset;

enum { TROVE__TF_NONE = 0, TROVE__TF_SAFETENSORS, TROVE__TF_NPY, TROVE__TF_NPZ,
       TROVE__TF_TORCH,        /* torch.save zip (PyTorch >= 1.6): torch.c */
       TROVE__TF_TORCH_LEGACY  /* torch.save(..., _use_new_zipfile_serialization=False) */ };
/* Which plain-tensor format buf starts with (TROVE__TF_NONE: none of them). */
int trove__tensors_probe(const uint8_t *buf, size_t len);
/* Parse the image buf[0..len) as format kind (TROVE__TF_*; TROVE__TF_NONE: from
 * trove__tensors_probe). npy_name names the tensor of
 * a .npy (NULL = "array"). Inflated npz members count against max_bytes. *out (freed with
 * trove__tset_free, also on failure) borrows buf. */
int trove__tensors_parse(const trove_allocator *alloc, const uint8_t *buf, size_t len,
                         int kind, const char *npy_name, uint64_t max_bytes, trove__tset *out,
                         trove_error *err);
void trove__tset_free(trove__tset *s);
/* torch.c: parse a torch.save file (zip, or legacy when legacy) into s (s->alloc, s->format set
 * by the caller); root_name names a lone tensor at the root. Only tensors rebuilt by
 * torch._utils._rebuild_tensor_v2 / _rebuild_parameter, dicts (collections.OrderedDict), lists,
 * tuples and plain values are read; any other class is refused (nothing is executed). */
int trove__torch_parse(trove__tset *s, const uint8_t *buf, size_t len, bool legacy,
                       const char *root_name, uint64_t max_bytes, trove_error *err);
bool trove__torch_legacy_probe(const uint8_t *buf, size_t len);
/* Produce the C-order, host-order bytes of t into buf (cap >= one element) starting at logical
 * byte *pos (a multiple of the element size); returns bytes written (0 at the end). */
size_t trove__tin_read(const trove__tin *t, uint64_t *pos, uint8_t *buf, size_t cap);

/* Convert in_path when it is a safetensors/npy/npz file: returns 1 when it is none of them
 * (nothing done), else TROVE_OK or an error. Export: in_path a trove file and out_path ending in
 * .safetensors / .npz / .npy: same convention. */
struct trove_convert_options;
struct trove_convert_report;
int trove__tensors_convert(const char *in_path, const char *out_path,
                           const struct trove_convert_options *o,
                           struct trove_convert_report *report, trove_error *err);

#endif /* TROVE_CODECS_TENSORS_H */
