/* pickle.h: internal: an inert pickle VM (protocols 0-5) that builds a symbolic object graph and
 * never executes anything, plus the numpy views of that graph (arrays, dtypes, scalars).
 *
 * Everything the VM makes lives in one arena (pk_arena) and is freed at once by pk_arena_free:
 * objects may share references and form cycles (memo), so every traversal is depth-bounded. */
#ifndef TROVE_CODECS_PICKLE_H
#define TROVE_CODECS_PICKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"

/* ---- arena ----------------------------------------------------------------------------- */
typedef struct pk_arena pk_arena;
/* max_bytes: total bytes the arena may hold (0 = PK_DEFAULT_MAX_BYTES). NULL on no memory. */
pk_arena *pk_arena_new(const trove_allocator *alloc, uint64_t max_bytes);
void pk_arena_free(pk_arena *a);
/* Zeroed memory, 16-byte aligned; NULL when the budget is exhausted or malloc fails. */
void *pk_alloc(pk_arena *a, size_t n);
/* True when the last failure was the budget (TROVE_E_LIMIT) rather than malloc. */
bool pk_arena_over_budget(const pk_arena *a);
#define PK_DEFAULT_MAX_BYTES (UINT64_C(2) << 30)

/* ---- objects --------------------------------------------------------------------------- */
typedef enum pk_kind {
    PK_NONE = 0,
    PK_BOOL,
    PK_INT,
    PK_FLOAT,
    PK_STR,       /* UTF-8 text (Python 3 str / unicode) */
    PK_BYTES,     /* bytes; also a Python 2 str (flag py2str) */
    PK_BYTEARRAY,
    PK_TUPLE,
    PK_LIST,
    PK_DICT,      /* items: key, value, key, value, ... (insertion order) */
    PK_SET,
    PK_FROZENSET,
    PK_GLOBAL,    /* a symbolic reference module.name (never imported) */
    PK_OBJECT,    /* a symbolic call: callable(args, **kwargs), then BUILD state, appends, items */
    PK_RAWARRAY,  /* a joblib array block: the wrapper's object + its bytes (or nested object) */
    PK_PERSID,    /* a persistent id (PERSID/BINPERSID, only with PK_ALLOW_PERSID): u.pid is the id
                     object, never resolved by the VM (torch.save: ('storage', type, key, ...)) */
    PK_MARK_      /* internal: the MARK sentinel on the stack (never in a finished graph) */
} pk_kind;

typedef struct pk_obj pk_obj;

/* How a PK_OBJECT was made. */
typedef enum pk_how { PK_REDUCE = 1, PK_NEWOBJ, PK_NEWOBJ_EX, PK_OBJ, PK_INST } pk_how;

struct pk_obj {
    pk_kind kind;
    uint8_t py2str;        /* PK_BYTES made by STRING/BINSTRING/SHORT_BINSTRING (py2 str) */
    uint8_t how;           /* pk_how for PK_OBJECT */
    uint64_t offset;       /* stream offset of the opcode that made it (for messages) */
    union {
        int64_t i;                                        /* bool, int */
        double f;                                         /* float */
        struct { const uint8_t *p; size_t n; } s;         /* str, bytes, bytearray */
        struct { pk_obj **v; size_t n, cap; } seq;        /* tuple, list, set, dict (2n) */
        struct { const char *module, *name; } g;          /* NUL-terminated */
        struct {
            pk_obj *callable;  /* a PK_GLOBAL (or anything, symbolic) */
            pk_obj *args;      /* a PK_TUPLE (may be empty) */
            pk_obj *kwargs;    /* NEWOBJ_EX: a PK_DICT, else NULL */
            pk_obj *state;     /* BUILD state (last one), NULL when never built */
            pk_obj *list;      /* APPEND(S) onto the object: a PK_LIST, or NULL */
            pk_obj *dict;      /* SETITEM(S) onto the object: a PK_DICT, or NULL */
        } o;
        struct {
            pk_obj *wrapper;   /* the NumpyArrayWrapper object (state: shape, dtype, order) */
            const uint8_t *data;
            size_t n;
            pk_obj *nested;    /* object arrays: the array pickled inside the stream */
        } raw;
        pk_obj *pid;                                      /* PK_PERSID: the id (a str for PERSID) */
    } u;
};

/* ---- the VM ---------------------------------------------------------------------------- */
typedef struct pk_limits {
    uint32_t max_stack;      /* items on the stack (0 = 1<<22) */
    uint32_t max_marks;      /* open MARKs (0 = 1<<16) */
    uint32_t max_memo;       /* memo index (0 = 1<<22) */
    uint64_t max_objects;    /* objects made (0 = 1<<26) */
    uint32_t flags;          /* PK_ALLOW_PERSID */
} pk_limits;
/* Keep persistent ids as symbolic PK_PERSID objects instead of refusing them (torch.save). */
#define PK_ALLOW_PERSID 1u

typedef struct pk_vm pk_vm;
/* Called after each BUILD with the built object on top of the stack (joblib replaces array
 * wrappers by their bytes, read from the stream). Return TROVE_OK or a failure (err filled). */
typedef int (*pk_build_hook)(void *ctx, pk_vm *vm, pk_obj **top, trove_error *err);

/* Run the pickle program buf[start..len) until STOP. *out is the unpickled object (in the arena);
 * *end the offset after STOP. hook may be NULL. Errors name the opcode, its offset and why:
 * TROVE_E_CORRUPT (malformed), TROVE_E_UNSUPPORTED (EXT*, PERSID unless lim->flags has
 * PK_ALLOW_PERSID, out-of-band buffers), TROVE_E_LIMIT, TROVE_E_NOMEM. Nothing is ever executed
 * or imported. Integers beyond 64 bits are kept as opaque "big" ints. */
int pk_load(pk_arena *a, const uint8_t *buf, size_t len, size_t start, const pk_limits *lim,
            pk_build_hook hook, void *hook_ctx, pk_obj **out, size_t *end, trove_error *err);

/* For hooks: the VM's current read position, and raw reads from the stream. */
size_t pk_vm_pos(const pk_vm *vm);
/* Borrow n bytes at the current position and advance; TROVE_E_CORRUPT past the end. */
int pk_vm_read(pk_vm *vm, size_t n, const uint8_t **p, trove_error *err, const char *what);
/* Load a whole nested pickle at the current position (joblib object arrays) and advance. */
int pk_vm_load_nested(pk_vm *vm, pk_obj **out, trove_error *err);
pk_arena *pk_vm_arena(pk_vm *vm);

/* True when the stream starts like a pickle (PROTO opcode, or a protocol-0 first opcode). */
bool pk_probe(const uint8_t *buf, size_t len);

/* ---- graph helpers --------------------------------------------------------------------- */
/* Text of a str or py2 str (not NUL-terminated). */
bool pk_text(const pk_obj *o, const uint8_t **p, size_t *n);
bool pk_text_eq(const pk_obj *o, const char *s);
bool pk_is_global(const pk_obj *o, const char *module, const char *name);
/* The class a PK_OBJECT instantiates: NEWOBJ/OBJ/INST: its class; REDUCE of
 * copy_reg._reconstructor: args[0]; other REDUCE: the callable. NULL when not a global. */
const pk_obj *pk_class_of(const pk_obj *o);
/* The BUILD state as an attribute dict: the state when a dict, the first item of a
 * (dict, slots) tuple; NULL otherwise. */
const pk_obj *pk_state_dict(const pk_obj *o);
/* dict[key] for a str key (or py2 str key); NULL when absent or d is not a dict. */
const pk_obj *pk_dict_get(const pk_obj *d, const char *key);
/* o's attribute: pk_dict_get(pk_state_dict(o), key). */
const pk_obj *pk_attr(const pk_obj *o, const char *key);
/* Sequence items (tuple, list, set); n = 0 otherwise. */
size_t pk_len(const pk_obj *o);
const pk_obj *pk_item(const pk_obj *o, size_t i);
bool pk_as_int(const pk_obj *o, int64_t *v);     /* int, bool, numpy integer scalar */
bool pk_as_float(const pk_obj *o, double *v);    /* float, int, numpy scalar */
bool pk_is_none(const pk_obj *o);                /* NULL or None */
/* "module.name" of a global into buf (truncated); "?" when not a global. */
const char *pk_global_name(const pk_obj *g, char *buf, size_t cap);
const char *pk_kind_name(pk_kind k);

/* ---- numpy ----------------------------------------------------------------------------- */
#define PK_MAX_FIELDS 16
typedef struct pk_dtype {
    char kind;          /* 'b' bool, 'i' int, 'u' uint, 'f' float, 'U' str, 'S' bytes, 'O' object,
                           'V' structured */
    bool big;           /* big-endian elements */
    uint32_t itemsize;
    uint32_t nfields;   /* 'V' */
    struct {
        char name[40];      /* truncated copy */
        uint32_t offset;
        char kind;
        bool big;
        uint32_t itemsize;
    } fields[PK_MAX_FIELDS];
} pk_dtype;

typedef struct pk_array {
    pk_dtype dt;
    uint32_t rank;
    uint64_t shape[TROVE_MAX_RANK];
    uint64_t count;
    const uint8_t *data;     /* C order, count * itemsize bytes (not for 'O') */
    pk_obj *const *objs;     /* 'O': count objects, C order */
} pk_array;

/* Interpret a numpy dtype object (numpy.dtype REDUCE + BUILD state). */
int pk_dtype_of(const pk_obj *o, pk_dtype *out, trove_error *err);
/* Interpret o as a numpy array: numpy(._core|.core).multiarray._reconstruct + BUILD state,
 * numpy.core.numeric._frombuffer, or a joblib array block. Fortran-order data is transposed into
 * C order (a copy in arena a). Errors name what is wrong (TROVE_E_TYPE when o is no array). */
int pk_array_of(pk_arena *a, const pk_obj *o, pk_array *out, trove_error *err);
/* Element i of a numeric array as double / int64 (byte order handled). */
double pk_array_f64(const pk_array *x, uint64_t i);
int64_t pk_array_i64(const pk_array *x, uint64_t i);
/* Field f of record i of a structured array. */
double pk_field_f64(const pk_array *x, uint32_t f, uint64_t i);
int64_t pk_field_i64(const pk_array *x, uint32_t f, uint64_t i);
/* Index of the field called name, or -1. */
int pk_field_index(const pk_dtype *dt, const char *name);
/* A numpy scalar (numpy.core.multiarray.scalar(dtype, bytes)) as a double; false otherwise. */
bool pk_scalar_f64(const pk_obj *o, double *v);

#endif /* TROVE_CODECS_PICKLE_H */
