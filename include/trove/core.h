/* trove/core.h: status codes, errors, allocator hooks, dtypes and metadata values.
 *
 * Part of the public API; include <trove.h> rather than this file. Every function here is
 * safe to call from any thread on distinct objects; a const object may be shared. */
#ifndef TROVE_CORE_H
#define TROVE_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define TROVE_NODISCARD __attribute__((warn_unused_result))
#else
#define TROVE_NODISCARD
#endif

#define TROVE_VERSION_MAJOR 0
#define TROVE_VERSION_MINOR 1
#define TROVE_VERSION_PATCH 0

/* Version of the file format this library writes (docs/FORMAT.md). */
#define TROVE_FORMAT_MAJOR 1
#define TROVE_FORMAT_MINOR 0

/* Status codes: TROVE_OK or a negative TROVE_E_*. */
enum {
    TROVE_OK = 0,
    TROVE_E_INVALID = -1,     /* invalid argument from the caller (not from a file) */
    TROVE_E_NOMEM = -2,       /* an allocation failed */
    TROVE_E_IO = -3,          /* the operating system refused a read, write, open, ... */
    TROVE_E_NOT_TROVE = -4,   /* the input is not a trove file (bad magic) */
    TROVE_E_VERSION = -5,     /* unsupported format version or incompatible feature */
    TROVE_E_CORRUPT = -6,     /* malformed structure: offsets, lengths, encoding */
    TROVE_E_CHECKSUM = -7,    /* a checksum or digest does not match the bytes */
    TROVE_E_LIMIT = -8,       /* a configured limit (size, count, depth) was exceeded */
    TROVE_E_NOT_FOUND = -9,   /* no such tensor, key, model, version, ... */
    TROVE_E_TYPE = -10,       /* a value has another type than asked for */
    TROVE_E_UNSUPPORTED = -11,/* valid but not supported by this build or operation */
    TROVE_E_EXISTS = -12,     /* a name or object already exists */
    TROVE_E_MODEL = -13,      /* a model does not satisfy the schema of its kind */
    TROVE_E_SHAPE = -14,      /* input shape or dtype does not match a signature */
    TROVE_E_SIGNATURE = -15,  /* signature missing, unknown signer or bad signature */
    TROVE_E_KEY = -16,        /* wrong key or passphrase, malformed key file */
    TROVE_E_DECRYPT = -17,    /* authenticated decryption failed (tampered ciphertext) */
    TROVE_E_STATE = -18,      /* operation not valid in the object's current state */
    TROVE_E_BUSY = -19,       /* a lock is held by someone else */
};

/* Static, never NULL; "unknown status" for an unknown code. */
const char *trove_strerror(int code);
/* "0.1.0"; static. */
const char *trove_version_string(void);

/* Errors are values: the caller owns the struct (usually on the stack) and passes it to any
 * function taking a `trove_error *err`; err may be NULL. On failure the function fills code,
 * offset (byte offset in the input the error refers to, or TROVE_NO_OFFSET) and a message that
 * names the file part, what is wrong and why. On success err is left untouched. */
#define TROVE_NO_OFFSET UINT64_MAX
typedef struct trove_error {
    int code;
    uint64_t offset;
    char message[256];
} trove_error;

/* Allocator hooks. All three must be set; ctx is passed back unchanged. free(ctx, NULL) must be
 * harmless. Alignment of returned memory must be at least that of max_align_t. The library never
 * calls malloc directly when an allocator is given (third-party libraries too: zstd gets it;
 * libsodium guarded memory is the documented exception, see docs/SECURITY.md). */
typedef struct trove_allocator {
    void *(*malloc)(void *ctx, size_t size);
    void *(*realloc)(void *ctx, void *ptr, size_t size);
    void (*free)(void *ctx, void *ptr);
    void *ctx;
} trove_allocator;

/* Element types. Numbers are part of the file format: never renumber. */
typedef enum trove_dtype {
    TROVE_DTYPE_INVALID = 0,
    TROVE_BOOL = 1,
    TROVE_INT8 = 2,
    TROVE_INT16 = 3,
    TROVE_INT32 = 4,
    TROVE_INT64 = 5,
    TROVE_UINT8 = 6,
    TROVE_UINT16 = 7,
    TROVE_UINT32 = 8,
    TROVE_UINT64 = 9,
    TROVE_FLOAT16 = 10,
    TROVE_BFLOAT16 = 11,
    TROVE_FLOAT32 = 12,
    TROVE_FLOAT64 = 13,
    /* Reserved by the spec, not yet readable: float8_e4m3, float8_e5m2, complex64, complex128. */
    TROVE_DTYPE_COUNT_ = 14
} trove_dtype;

/* Bytes per element, 0 for an invalid dtype. */
size_t trove_dtype_size(trove_dtype dtype);
/* Spec name ("float32", "bfloat16", "bool", ...); NULL for an invalid dtype. Static. */
const char *trove_dtype_name(trove_dtype dtype);
/* TROVE_DTYPE_INVALID when the name is unknown. name need not be NUL-terminated. */
trove_dtype trove_dtype_from_name(const char *name, size_t len);

#define TROVE_MAX_RANK 8

/* ---- Metadata values -------------------------------------------------------------------
 * A metadata tree is made of trove_value nodes: null, bool, int (int64), uint (uint64 above
 * INT64_MAX; see below), float (float64), string (UTF-8), bytes, array, map (string keys,
 * unique, kept in canonical order). Integers are one kind on disk: a non-negative value that
 * fits int64 reads back as TROVE_VALUE_INT whichever constructor made it; getters convert
 * between int and uint when the value is representable.
 *
 * Thread-safety: a tree may be read from many threads; modifying it needs exclusive access.
 * Trees you build are owned by you until handed over (the `_take` functions take ownership of
 * the item even when they fail). Trees read from a file are borrowed from it: valid until the
 * file is closed, read-only. */
typedef struct trove_value trove_value;

typedef enum trove_value_type {
    TROVE_VALUE_NULL = 0,
    TROVE_VALUE_BOOL,
    TROVE_VALUE_INT,
    TROVE_VALUE_UINT,
    TROVE_VALUE_FLOAT,
    TROVE_VALUE_STRING,
    TROVE_VALUE_BYTES,
    TROVE_VALUE_ARRAY,
    TROVE_VALUE_MAP
} trove_value_type;

/* Constructors: caller owns the result; free with trove_value_free(). NULL on allocation
 * failure (or, for strings, when the text is not valid UTF-8). Floats may be infinite; every NaN
 * is stored as the one canonical quiet NaN. alloc may be NULL (libc). Data is copied. */
trove_value *trove_value_null(const trove_allocator *alloc);
trove_value *trove_value_bool(const trove_allocator *alloc, int b);
trove_value *trove_value_int(const trove_allocator *alloc, int64_t i);
trove_value *trove_value_uint(const trove_allocator *alloc, uint64_t u);
trove_value *trove_value_float(const trove_allocator *alloc, double d);
trove_value *trove_value_string(const trove_allocator *alloc, const char *s, size_t len);
trove_value *trove_value_cstring(const trove_allocator *alloc, const char *s);
trove_value *trove_value_bytes(const trove_allocator *alloc, const void *p, size_t len);
trove_value *trove_value_array(const trove_allocator *alloc);
trove_value *trove_value_map(const trove_allocator *alloc);
/* Deep copy with the allocator of `v`; NULL on allocation failure. */
trove_value *trove_value_clone(const trove_value *v);
/* Accepts NULL. Only for trees you own, never for borrowed ones. */
void trove_value_free(trove_value *v);

/* Append item to an array. Takes ownership of item on every path (freed on failure).
 * TROVE_E_INVALID if arr is not an array or item is NULL, TROVE_E_NOMEM. */
TROVE_NODISCARD int trove_value_array_take(trove_value *arr, trove_value *item);
/* Set map[key] = item, replacing (and freeing) an existing entry. Takes ownership of item on
 * every path. key is UTF-8 of keylen bytes (TROVE_E_INVALID if not). */
TROVE_NODISCARD int trove_value_map_take(trove_value *map, const char *key, size_t keylen,
                                         trove_value *item);
/* Convenience: key is a NUL-terminated string. */
TROVE_NODISCARD int trove_value_map_set(trove_value *map, const char *key, trove_value *item);
/* Remove map[key]; TROVE_E_NOT_FOUND when absent. */
int trove_value_map_remove(trove_value *map, const char *key);

/* Accessors (v may be NULL: type NULL, count 0, getters TROVE_E_TYPE). Returned pointers are
 * borrowed from the tree: valid until it is modified or freed. */
trove_value_type trove_value_type_of(const trove_value *v);
int trove_value_get_bool(const trove_value *v, int *out);
int trove_value_get_int(const trove_value *v, int64_t *out);   /* TROVE_E_TYPE if > INT64_MAX */
int trove_value_get_uint(const trove_value *v, uint64_t *out); /* TROVE_E_TYPE if negative */
int trove_value_get_float(const trove_value *v, double *out);  /* ints convert (may round) */
/* String: *s is NUL-terminated, *len excludes the NUL (len may be NULL). */
int trove_value_get_string(const trove_value *v, const char **s, size_t *len);
int trove_value_get_bytes(const trove_value *v, const void **p, size_t *len);
/* Number of elements of an array or entries of a map; 0 otherwise. */
size_t trove_value_count(const trove_value *v);
/* Element i of an array; NULL when out of range or not an array. */
const trove_value *trove_value_at(const trove_value *v, size_t i);
/* Map entry i in canonical order (key NUL-terminated); TROVE_E_NOT_FOUND when out of range. */
int trove_value_map_entry(const trove_value *v, size_t i, const char **key, size_t *keylen,
                          const trove_value **item);
/* map[key] or NULL. */
const trove_value *trove_value_get(const trove_value *map, const char *key);
/* Follow a dotted path of map keys ("producer.version"); NULL when any step is missing. */
const trove_value *trove_value_path(const trove_value *root, const char *dotted);
/* Mutable access to map[key] within a tree you own, or NULL. */
trove_value *trove_value_get_mut(trove_value *map, const char *key);
/* 1 when both trees hold the same values (same canonical bytes), else 0. */
int trove_value_equal(const trove_value *a, const trove_value *b);

/* Canonical CBOR encoding of a tree (docs/FORMAT.md section 4). Caller owns *out; free with
 * trove_free(alloc, *out) using the same allocator (NULL = libc). */
TROVE_NODISCARD int trove_value_encode(const trove_value *v, const trove_allocator *alloc,
                                       uint8_t **out, size_t *len, trove_error *err);
/* Decode canonical CBOR (non-canonical input is refused, see the spec); caller owns *out.
 * max_depth 0 = default (64). */
TROVE_NODISCARD int trove_value_decode(const void *buf, size_t len, const trove_allocator *alloc,
                                       uint32_t max_depth, trove_value **out, trove_error *err);
/* JSON text of a tree (bytes as {"$bytes": "<base64>"}, uint as plain numbers, floats in
 * shortest round-trip form). indent 0 = compact. Caller owns *out (NUL-terminated); free with
 * trove_free(alloc, *out). */
TROVE_NODISCARD int trove_value_to_json(const trove_value *v, const trove_allocator *alloc,
                                        int indent, char **out, size_t *len, trove_error *err);

/* Free memory that a trove function returned to the caller with this allocator. */
void trove_free(const trove_allocator *alloc, void *p);

#ifdef __cplusplus
}
#endif
#endif /* TROVE_CORE_H */
