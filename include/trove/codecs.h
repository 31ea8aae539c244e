/* trove/codecs.h: import foreign model files: scikit-learn estimators saved with pickle or joblib,
 * Keras models saved as HDF5 (.h5; read by libhdf5 in a resource-limited child process).
 *
 * Part of the public API; include <trove.h> rather than this file. The importer never executes
 * anything from the input: the pickle is read by an inert VM into a symbolic object graph, and
 * only known scikit-learn classes are mapped to the model kinds of docs/MODELS.md. Supported
 * inputs and estimators are listed in docs/CODECS.md.
 * Thread-safety: conversions are independent; any number may run at once on distinct outputs. */
#ifndef TROVE_CODECS_H
#define TROVE_CODECS_H

#include "core.h"
#include "format.h"
#include "security.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
    TROVE_CONVERT_NO_VALIDATE = 1u << 0, /* skip binding each written file (trove_model_open) */
    TROVE_CONVERT_NO_SPLIT = 1u << 1,    /* refuse a top-level tuple/list/dict of estimators */
};

typedef struct trove_convert_options {
    uint32_t size;                      /* sizeof(trove_convert_options) */
    uint32_t flags;                     /* TROVE_CONVERT_* */
    const trove_allocator *alloc;       /* NULL = libc */
    uint64_t max_bytes;                 /* memory budget: input, decompressed data and object
                                           graph each at most this; 0 = 2 GiB */
    const char *source_name;            /* lineage.source.file; NULL = base name of the input */
    const trove_write_options *write;   /* NULL = defaults */
    /* Called after each file is committed (a container of estimators gives several). */
    void (*on_written)(void *ctx, const char *path, const char *estimator);
    void *ctx;
    const char *tensor_name;            /* name of the tensor of a .npy input; NULL = "array" */
    /* Encrypt every output (docs/SECURITY.md): each trove file streams through
     * trove_write_encrypted, so that no plaintext byte of it is ever written to a file (the
     * check of each output runs on an in-memory copy first: see trove_convert). Borrowed for
     * the call; NULL = plain files. */
    const trove_secret *secret;
    /* With secret: the envelope (cipher, chunk size, Argon2id cost), the outputs' mode (0 =
     * 0600) and write_flags (TROVE_WRITE_NO_SYNC); its alloc NULL = this struct's alloc. The
     * mode and sync flag of `write` do not apply then. NULL = defaults. */
    const trove_crypt_options *crypt;
} trove_convert_options;
#define TROVE_CONVERT_OPTIONS_INIT                                                                \
    { sizeof(trove_convert_options), 0, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL }

/* What was read, for messages. */
typedef struct trove_convert_report {
    char format[64];       /* "pickle", "joblib (zlib-compressed)", "joblib zfile ...",
                              "HDF5 (Keras)", ... */
    char estimator[128];   /* estimator of the (first) model, e.g. "sklearn.linear_model.Ridge" */
    uint32_t n_written;    /* files written */
} trove_convert_report;

/* Convert the scikit-learn model saved in in_path (pickle protocols 0-5, joblib raw/zlib/gzip,
 * joblib < 0.10 'ZF'), or the Keras HDF5 model (docs/CODECS.md; the calling process forks once
 * for libhdf5), into the trove file out_path, written atomically. A top-level tuple, list
 * or dict of estimators becomes one file per element: out_path with ".<key>" inserted before
 * its ".trove" suffix (unless TROVE_CONVERT_NO_SPLIT); either all are written or none.
 * Each written file is bound with trove_model_open to check it (unless NO_VALIDATE).
 * opts and report may be NULL. Nothing from the input is executed.
 * Errors: TROVE_E_IO (cannot read or write), TROVE_E_UNSUPPORTED (a class, container or pickle
 * feature the importer does not handle: the message names it and why), TROVE_E_CORRUPT
 * (malformed pickle/container: opcode, offset and why), TROVE_E_LIMIT (a limit of the importer),
 * TROVE_E_MODEL (the estimator's state is inconsistent), TROVE_E_NOMEM.
 * Plain tensors: a safetensors, .npy or .npz input (recognised by content, else by extension)
 * becomes a trove file of plain tensors (no model kind; verified instead of bound); a trove input
 * with out_path ending in .safetensors, .npz or .npy is exported to that format (docs/CODECS.md,
 * "Plain tensors"). Object (pickled) numpy arrays are refused.
 * Encrypted outputs (opts->secret): every trove file written (each element of a container, or
 * a plain-tensor import) is an encrypted file, and no plaintext byte of any of them reaches a
 * file: the check (binding, or verifying for plain tensors) runs first on a copy of the
 * plaintext in memory (wiped when done, kept out of core dumps; as large as the output, so
 * NO_VALIDATE streams instead in O(chunk) memory), then the file is streamed through the
 * encryption into place. All outputs or none, as for plain files. An export (trove input to
 * .safetensors/.npz/.npy) is refused with TROVE_E_UNSUPPORTED: the envelope holds trove files.
 * Errors then also: those of trove_write_encrypted (TROVE_E_INVALID for bad crypt options).
 * Thread-safe for distinct outputs. */
TROVE_NODISCARD int trove_convert(const char *in_path, const char *out_path,
                                  const trove_convert_options *opts,
                                  trove_convert_report *report, trove_error *err);

/* The path written for element `key` of a container: out_path with ".<key>" inserted before a
 * ".trove" suffix (appended when there is none). Copied into buf (cap bytes, NUL-terminated);
 * TROVE_E_INVALID when it does not fit. */
int trove_convert_element_path(char *buf, size_t cap, const char *out_path, const char *key);

#ifdef __cplusplus
}
#endif
#endif /* TROVE_CODECS_H */
