/* torch.c: import torch.save files (the zip format of PyTorch >= 1.6 and the legacy format) as
 * plain tensors, without executing anything.
 *
 * Zip: members `<archive>/data.pkl` (the pickled object), `<archive>/data/<key>` (raw storages),
 * `<archive>/version`, optional `<archive>/byteorder` ("little"/"big") and `.data/...`; members
 * stored uncompressed (zip64 fields read). Every central-directory entry is checked against its
 * local header (name, method, sizes), every member lies before the central directory, CRC-32s
 * are verified.
 * Legacy: pickled magic number 0x1950a86a20f9469cfc6c (any pickle protocol), protocol version
 * 1001, sys_info, the object pickle, a pickle of the storage keys, then each storage as an 8-byte
 * little-endian element count followed by its bytes (always little-endian).
 *
 * The pickle runs in the inert VM (pickle.c) with persistent ids kept symbolic. Recognised as
 * data, by name only: torch._utils._rebuild_tensor_v2 / _rebuild_tensor / _rebuild_parameter /
 * _rebuild_parameter_with_state, torch._tensor._rebuild_from_type_v2 of a plain Tensor or
 * Parameter, collections.OrderedDict, numpy scalars, persistent ids ('storage', torch.XStorage,
 * key, location, numel[, None]). Anything else (an nn.Module pickled whole, custom classes) is
 * refused with the class named. Tensors are views (storage, offset, size, stride): every index
 * is bounded inside its storage with checked arithmetic; non-contiguous views are produced in C
 * order by trove__tin_read. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "codecs/pickle.h"
#include "codecs/tensors.h"

#define TZ_MAX_MEMBERS (TROVE_LIMIT_TENSORS + 64u) /* zip members */
#define TZ_MAX_DEPTH 32u                            /* nesting of dicts/lists in the object */
#define TZ_MAX_VISITS (UINT64_C(1) << 24)           /* graph nodes visited (shared refs) */
#define TZ_MAX_USER 65536u                          /* non-tensor leaves kept in metadata */
#define TZ_MAX_USER_BYTES (UINT64_C(64) << 20)      /* their size (estimated): 64 MiB */

/* The magic number 0x1950a86a20f9469cfc6c as pickle.dumps writes it: protocols 0-1 as text,
 * 2-3 as LONG1, 4-5 in a FRAME. Returns the length of that first pickle, 0 when absent. */
static size_t legacy_magic_len(const uint8_t *buf, size_t len)
{
    static const char text[] = "L119547037146038801333356L\n.";
    static const uint8_t long1[13] = {0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9,
                                      0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e};
    if (len >= sizeof text - 1 && !memcmp(buf, text, sizeof text - 1))
        return sizeof text - 1;
    if (len >= 2 + sizeof long1 && buf[0] == 0x80 && (buf[1] == 2 || buf[1] == 3) &&
        !memcmp(buf + 2, long1, sizeof long1))
        return 2 + sizeof long1;
    if (len >= 11 + sizeof long1 && buf[0] == 0x80 && (buf[1] == 4 || buf[1] == 5) &&
        buf[2] == 0x95 && trove__load_le64(buf + 3) == sizeof long1 &&
        !memcmp(buf + 11, long1, sizeof long1))
        return 11 + sizeof long1;
    return 0;
}

bool trove__torch_legacy_probe(const uint8_t *buf, size_t len)
{
    return legacy_magic_len(buf, len) != 0;
}

/* ---- storages -------------------------------------------------------------------------- */
typedef struct tz_storage {
    const char *key;          /* arena, NUL-terminated */
    trove_dtype dtype;
    uint64_t numel;           /* elements of dtype, as the persistent id declares */
    const uint8_t *data;      /* resolved: numel * esize bytes, or NULL (not yet) */
    uint64_t where;           /* file offset of the data (messages) */
} tz_storage;

typedef struct tz_pending {   /* a tensor's view into its storage, resolved at the end */
    size_t storage;
    uint64_t offset;          /* elements */
} tz_pending;

typedef struct tz_ctx {
    trove__tset *s;
    pk_arena *arena;
    const char *src;          /* "data.pkl" or "legacy pickle": messages */
    tz_storage *st;
    size_t nst, capst;
    size_t *hash;             /* open addressing: index + 1, 0 = empty */
    size_t hcap;
    tz_pending *pend;         /* parallel to s->t */
    size_t cappend;
    bool legacy;
    uint64_t visits;
    uint64_t budget;          /* bytes the tensor list may still take (max_bytes) */
    uint64_t user_budget;     /* bytes the metadata values may still take */
    char name[TROVE_LIMIT_NAME_BYTES + 1];
    const char *root_name;
    trove_error *err;
} tz_ctx;

static uint64_t fnv(const char *s)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * UINT64_C(1099511628211);
    return h;
}

static int nomem(tz_ctx *c)
{
    return trove__fail(c->err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "torch: out of memory");
}

/* Index of the storage called key, or SIZE_MAX. */
static size_t storage_find(const tz_ctx *c, const char *key)
{
    if (!c->hcap)
        return SIZE_MAX;
    for (size_t i = (size_t)fnv(key) & (c->hcap - 1);; i = (i + 1) & (c->hcap - 1)) {
        if (!c->hash[i])
            return SIZE_MAX;
        if (!strcmp(c->st[c->hash[i] - 1].key, key))
            return c->hash[i] - 1;
    }
}

static int storage_add(tz_ctx *c, const char *key, trove_dtype dt, uint64_t numel, size_t *out)
{
    if (c->nst >= TROVE_LIMIT_TENSORS)
        return trove__fail(c->err, TROVE_E_LIMIT, TROVE_NO_OFFSET, "torch: more than %u "
                           "storages", TROVE_LIMIT_TENSORS);
    if (c->nst == c->capst) {
        size_t nc = c->capst ? 2 * c->capst : 16;
        tz_storage *n = trove__realloc(c->s->alloc, c->st, nc * sizeof *n);
        if (!n)
            return nomem(c);
        c->st = n;
        c->capst = nc;
    }
    if (2 * (c->nst + 1) > c->hcap) { /* keep the load under one half */
        size_t nc = c->hcap ? 2 * c->hcap : 64;
        size_t *h = trove__calloc(c->s->alloc, nc, sizeof *h);
        if (!h)
            return nomem(c);
        for (size_t k = 0; k < c->nst; k++) {
            size_t i = (size_t)fnv(c->st[k].key) & (nc - 1);
            while (h[i])
                i = (i + 1) & (nc - 1);
            h[i] = k + 1;
        }
        trove__free(c->s->alloc, c->hash);
        c->hash = h;
        c->hcap = nc;
    }
    size_t i = (size_t)fnv(key) & (c->hcap - 1);
    while (c->hash[i])
        i = (i + 1) & (c->hcap - 1);
    c->hash[i] = c->nst + 1;
    c->st[c->nst] = (tz_storage){key, dt, numel, NULL, 0};
    *out = c->nst++;
    return TROVE_OK;
}

/* ---- the object graph -------------------------------------------------------------------- */
static const char *where_name(const tz_ctx *c)
{
    return c->name[0] ? c->name : "(root)";
}

TROVE_PRINTF(4, 5)
static int ofail(tz_ctx *c, int code, const pk_obj *o, const char *fmt, ...)
{
    char why[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    uint64_t off = o ? o->offset : 0;
    return trove__fail(c->err, code, off, "torch: '%.200s' (%s offset %llu): %s", where_name(c),
                       c->src, (unsigned long long)off, why);
}

/* Count n bytes of what the walk builds (tensor entries, metadata values) against max_bytes:
 * shared references in the pickle could otherwise multiply a small file into a huge list. */
static int charge(tz_ctx *c, const pk_obj *o, uint64_t *budget, uint64_t n)
{
    if (n > *budget)
        return ofail(c, TROVE_E_LIMIT, o, "%s (shared references?)", budget == &c->user_budget
                     ? "the non-tensor values exceed 64 MiB"
                     : "the tensor list exceeds the importer's memory budget (max_bytes)");
    *budget -= n;
    return TROVE_OK;
}

static int visit(tz_ctx *c, const pk_obj *o, unsigned depth)
{
    if (++c->visits > TZ_MAX_VISITS)
        return ofail(c, TROVE_E_LIMIT, o, "more than %llu objects visited (shared references)",
                     (unsigned long long)TZ_MAX_VISITS);
    if (depth > TZ_MAX_DEPTH)
        return ofail(c, TROVE_E_LIMIT, o, "containers nested more than %u deep", TZ_MAX_DEPTH);
    return TROVE_OK;
}

static bool is_rebuild(const pk_obj *o, const char *name)
{
    return o && o->kind == PK_OBJECT && o->how == PK_REDUCE &&
           pk_is_global(o->u.o.callable, "torch._utils", name);
}

static bool is_tensor(const pk_obj *o)
{
    return is_rebuild(o, "_rebuild_tensor_v2") || is_rebuild(o, "_rebuild_tensor") ||
           is_rebuild(o, "_rebuild_parameter") || is_rebuild(o, "_rebuild_parameter_with_state") ||
           (o && o->kind == PK_OBJECT && o->how == PK_REDUCE &&
            pk_is_global(o->u.o.callable, "torch._tensor", "_rebuild_from_type_v2"));
}

/* A dict: its items (key, value, ...) in *items (NULL when empty); false when o is no dict. */
static bool dict_items(const pk_obj *o, const pk_obj **items)
{
    if (o && o->kind == PK_DICT) {
        *items = o;
        return true;
    }
    if (o && o->kind == PK_OBJECT && o->how == PK_REDUCE &&
        pk_is_global(o->u.o.callable, "collections", "OrderedDict") && pk_len(o->u.o.args) == 0 &&
        !o->u.o.list) {
        *items = o->u.o.dict; /* SETITEMS onto the object; the BUILD state (_metadata) ignored */
        return true;
    }
    return false;
}

static bool is_seq(const pk_obj *o)
{
    return o && (o->kind == PK_LIST || o->kind == PK_TUPLE);
}

static size_t dict_count(const pk_obj *items)
{
    return items ? items->u.seq.n / 2 : 0;
}

/* 1 when a tensor is reachable from o (through dicts and sequences), 0 if not, < 0 error. */
static int has_tensor(tz_ctx *c, const pk_obj *o, unsigned depth)
{
    int rc = visit(c, o, depth);
    if (rc)
        return rc;
    if (is_tensor(o))
        return 1;
    const pk_obj *items;
    if (dict_items(o, &items)) {
        for (size_t i = 0; i < dict_count(items); i++)
            if ((rc = has_tensor(c, items->u.seq.v[2 * i + 1], depth + 1)) != 0)
                return rc;
        return 0;
    }
    if (is_seq(o))
        for (size_t i = 0; i < o->u.seq.n; i++)
            if ((rc = has_tensor(c, o->u.seq.v[i], depth + 1)) != 0)
                return rc;
    return 0;
}

/* The key of a dict item as text into buf: str (or py2 str) or int. */
static int key_text(tz_ctx *c, const pk_obj *k, char *buf, size_t cap, const char **p, size_t *n)
{
    const uint8_t *t;
    if (pk_text(k, &t, n)) {
        *p = (const char *)t;
        return TROVE_OK;
    }
    int64_t v;
    if (k && k->kind == PK_INT && pk_as_int(k, &v)) {
        *n = (size_t)snprintf(buf, cap, "%lld", (long long)v);
        *p = buf;
        return TROVE_OK;
    }
    return ofail(c, TROVE_E_UNSUPPORTED, k, "a dict key that is a %s (str and int keys are read)",
                 k ? pk_kind_name(k->kind) : "?");
}

/* Append ".part" (or "part" at the root) to the path of length plen; *nlen the new length. */
static int path_push(tz_ctx *c, size_t plen, const char *part, size_t n, size_t *nlen,
                     const pk_obj *o)
{
    size_t need = plen + (plen ? 1 : 0) + n;
    if (need > TROVE_LIMIT_NAME_BYTES)
        return ofail(c, TROVE_E_LIMIT, o, "a name longer than %u bytes", TROVE_LIMIT_NAME_BYTES);
    if (memchr(part, 0, n))
        return ofail(c, TROVE_E_UNSUPPORTED, o, "a key with a NUL byte");
    if (plen)
        c->name[plen] = '.';
    memcpy(c->name + plen + (plen ? 1 : 0), part, n);
    c->name[need] = 0;
    *nlen = need;
    return TROVE_OK;
}

static int refuse_object(tz_ctx *c, const pk_obj *o)
{
    char cls[160];
    if (o->kind == PK_GLOBAL)
        return ofail(c, TROVE_E_UNSUPPORTED, o, "a reference to %s (Python code): only tensors, "
                     "dicts, lists, tuples, numbers and strings are read",
                     pk_global_name(o, cls, sizeof cls));
    if (o->kind == PK_PERSID)
        return ofail(c, TROVE_E_UNSUPPORTED, o, "a storage outside a tensor: not read");
    const pk_obj *k = pk_class_of(o);
    pk_global_name(k, cls, sizeof cls);
    const pk_obj *fn = o->kind == PK_OBJECT ? o->u.o.callable : NULL;
    if (fn && fn->kind == PK_GLOBAL && !strcmp(fn->u.g.module, "torch._utils") &&
        !strncmp(fn->u.g.name, "_rebuild_", 9)) /* qtensor, sparse, meta, nested, device... */
        return ofail(c, TROVE_E_UNSUPPORTED, o, "a tensor rebuilt by %s (quantized, sparse, "
                     "meta, nested or device tensors): only dense CPU-layout tensors are read",
                     pk_global_name(o->u.o.callable, cls, sizeof cls));
    bool module = (k && !strncmp(k->u.g.module, "torch.nn.modules", 16)) ||
                  pk_attr(o, "_modules") || pk_attr(o, "_parameters");
    if (module)
        return ofail(c, TROVE_E_UNSUPPORTED, o, "a whole nn.Module (%s) is pickled: rebuilding it "
                     "needs its Python code, which is never run here; save its state_dict() "
                     "instead (torch.save(model.state_dict(), path))", cls);
    if (pk_is_global(k, "torch", "Size") || pk_is_global(k, "torch", "device") ||
        pk_is_global(k, "torch", "dtype"))
        return ofail(c, TROVE_E_UNSUPPORTED, o, "a %s object: not read (only tensors, dicts, "
                     "lists, tuples, numbers and strings)", cls);
    return ofail(c, TROVE_E_UNSUPPORTED, o, "an object of class %s (rebuilding it would run "
                 "Python code): only tensors, dicts, lists, tuples, numbers and strings are read",
                 cls);
}

/* A non-tensor value as metadata (caller owns *out). */
static int leaf(tz_ctx *c, const pk_obj *o, unsigned depth, trove_value **out)
{
    const trove_allocator *a = c->s->alloc;
    int rc = visit(c, o, depth);
    if (rc)
        return rc;
    *out = NULL;
    const uint8_t *t;
    size_t n;
    const pk_obj *items;
    double d;
    uint64_t cost = 64;
    if (o->kind == PK_STR || o->kind == PK_BYTES || o->kind == PK_BYTEARRAY)
        cost += o->u.s.n;
    if ((rc = charge(c, o, &c->user_budget, cost)))
        return rc;
    switch (o->kind) {
    case PK_NONE: *out = trove_value_null(a); break;
    case PK_BOOL: *out = trove_value_bool(a, o->u.i != 0); break;
    case PK_INT:
        if (o->py2str == 2)
            return ofail(c, TROVE_E_UNSUPPORTED, o, "an integer beyond 64 bits");
        *out = trove_value_int(a, o->u.i);
        break;
    case PK_FLOAT: *out = trove_value_float(a, o->u.f); break;
    case PK_STR:
        pk_text(o, &t, &n);
        if (!trove__utf8_valid((const char *)t, n))
            return ofail(c, TROVE_E_CORRUPT, o, "a string that is not valid UTF-8");
        *out = trove_value_string(a, (const char *)t, n);
        break;
    case PK_BYTES:
    case PK_BYTEARRAY:
        *out = trove_value_bytes(a, o->u.s.p, o->u.s.n);
        break;
    case PK_TUPLE:
    case PK_LIST:
    case PK_SET:
    case PK_FROZENSET:
        if (!(*out = trove_value_array(a)))
            return nomem(c);
        for (size_t i = 0; i < o->u.seq.n; i++) {
            trove_value *v;
            if ((rc = leaf(c, o->u.seq.v[i], depth + 1, &v)))
                goto fail;
            if (trove_value_array_take(*out, v)) {
                rc = nomem(c);
                goto fail;
            }
        }
        return TROVE_OK;
    default:
        if (dict_items(o, &items)) {
            if (!(*out = trove_value_map(a)))
                return nomem(c);
            for (size_t i = 0; i < dict_count(items); i++) {
                char kb[32];
                const char *kp;
                size_t kn;
                trove_value *v;
                if ((rc = key_text(c, items->u.seq.v[2 * i], kb, sizeof kb, &kp, &kn)))
                    goto fail;
                if (!trove__utf8_valid(kp, kn) || memchr(kp, 0, kn)) {
                    rc = ofail(c, TROVE_E_UNSUPPORTED, o, "a dict key that is not UTF-8 text");
                    goto fail;
                }
                if ((rc = leaf(c, items->u.seq.v[2 * i + 1], depth + 1, &v)))
                    goto fail;
                if (trove_value_map_take(*out, kp, kn, v)) {
                    rc = nomem(c);
                    goto fail;
                }
            }
            return TROVE_OK;
        }
        if (o->kind == PK_OBJECT && pk_scalar_f64(o, &d)) { /* numpy scalar */
            *out = trove_value_float(a, d);
            break;
        }
        return refuse_object(c, o);
    }
    return *out ? TROVE_OK : nomem(c);
fail:
    trove_value_free(*out);
    *out = NULL;
    return rc;
}

static int add_user(tz_ctx *c, const pk_obj *o, unsigned depth)
{
    const char *key = c->name[0] ? c->name : c->root_name;
    trove_value *v = NULL;
    int rc = leaf(c, o, depth, &v);
    if (rc)
        return rc;
    if (!c->s->user && !(c->s->user = trove_value_map(c->s->alloc))) {
        trove_value_free(v);
        return nomem(c);
    }
    if (trove_value_count(c->s->user) >= TZ_MAX_USER) {
        trove_value_free(v);
        return ofail(c, TROVE_E_LIMIT, o, "more than %u non-tensor values", TZ_MAX_USER);
    }
    if (trove_value_get(c->s->user, key)) {
        trove_value_free(v);
        return ofail(c, TROVE_E_CORRUPT, o, "two values with this name");
    }
    if (!trove__utf8_valid(key, strlen(key))) {
        trove_value_free(v);
        return ofail(c, TROVE_E_UNSUPPORTED, o, "a name that is not valid UTF-8");
    }
    if (trove_value_map_set(c->s->user, key, v))
        return nomem(c);
    return TROVE_OK;
}

static bool get_u64(const pk_obj *o, uint64_t *v)
{
    int64_t x;
    if (!o || (o->kind != PK_INT && o->kind != PK_BOOL) || !pk_as_int(o, &x) || x < 0)
        return false;
    *v = (uint64_t)x;
    return true;
}

static trove_dtype storage_dtype(const char *name)
{
    static const struct { const char *n; trove_dtype d; } map[] = {
        {"FloatStorage", TROVE_FLOAT32}, {"DoubleStorage", TROVE_FLOAT64},
        {"HalfStorage", TROVE_FLOAT16}, {"BFloat16Storage", TROVE_BFLOAT16},
        {"ByteStorage", TROVE_UINT8}, {"CharStorage", TROVE_INT8},
        {"ShortStorage", TROVE_INT16}, {"IntStorage", TROVE_INT32},
        {"LongStorage", TROVE_INT64}, {"BoolStorage", TROVE_BOOL},
        {"UntypedStorage", TROVE_UINT8},
        /* the unsigned dtypes of newer torch, by torch's naming rule (not seen from 1.13) */
        {"UInt16Storage", TROVE_UINT16}, {"UInt32Storage", TROVE_UINT32},
        {"UInt64Storage", TROVE_UINT64}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(name, map[i].n))
            return map[i].d;
    return TROVE_DTYPE_INVALID;
}

/* The persistent id of a storage -> index in the storage table. */
static int storage_of(tz_ctx *c, const pk_obj *p, size_t *idx)
{
    if (!p || p->kind != PK_PERSID)
        return ofail(c, TROVE_E_UNSUPPORTED, p, "a tensor whose storage is a %s, not a persistent "
                     "id", p ? pk_kind_name(p->kind) : "?");
    const pk_obj *id = p->u.pid;
    size_t want = c->legacy ? 6 : 5;
    if (!id || id->kind != PK_TUPLE || pk_len(id) != want || !pk_text_eq(pk_item(id, 0), "storage"))
        return ofail(c, TROVE_E_CORRUPT, p, "a persistent id that is not ('storage', type, key, "
                     "location, numel%s)", c->legacy ? ", view" : "");
    const pk_obj *ty = pk_item(id, 1);
    const uint8_t *kp, *lp;
    size_t kn, ln;
    uint64_t numel;
    if (!pk_text(pk_item(id, 2), &kp, &kn) || !pk_text(pk_item(id, 3), &lp, &ln) ||
        !get_u64(pk_item(id, 4), &numel) || !ty || ty->kind != PK_GLOBAL)
        return ofail(c, TROVE_E_CORRUPT, p, "a storage id with a bad type, key, location or "
                     "size");
    if (c->legacy && !pk_is_none(pk_item(id, 5)))
        return ofail(c, TROVE_E_UNSUPPORTED, p, "a legacy storage view (view_metadata): not read");
    char gn[160];
    trove_dtype dt = TROVE_DTYPE_INVALID;
    if (!strcmp(ty->u.g.module, "torch") || !strcmp(ty->u.g.module, "torch.cuda") ||
        !strcmp(ty->u.g.module, "torch.storage"))
        dt = storage_dtype(ty->u.g.name);
    if (dt == TROVE_DTYPE_INVALID)
        return ofail(c, TROVE_E_UNSUPPORTED, p, "storage type %s: trove stores float16/32/64, "
                     "bfloat16, int8-64, uint8 and bool", pk_global_name(ty, gn, sizeof gn));
    if (!kn || kn > 256 || memchr(kp, 0, kn) || memchr(kp, '/', kn))
        return ofail(c, TROVE_E_CORRUPT, p, "a storage key of %zu bytes with a NUL or '/'", kn);
    char key[257];
    memcpy(key, kp, kn);
    key[kn] = 0;
    size_t i = storage_find(c, key);
    if (i != SIZE_MAX) {
        if (c->st[i].dtype != dt || c->st[i].numel != numel)
            return ofail(c, TROVE_E_CORRUPT, p, "storage '%s' is declared twice with different "
                         "types or sizes", key);
        *idx = i;
        return TROVE_OK;
    }
    char *k = pk_alloc(c->arena, kn + 1);
    if (!k)
        return nomem(c);
    memcpy(k, key, kn + 1);
    return storage_add(c, k, dt, numel, idx);
}

/* A tensor: (storage, offset, size, stride) after unwrapping Parameter & co. */
static int add_tensor_obj(tz_ctx *c, const pk_obj *o, unsigned depth)
{
    char gn[160];
    for (int hops = 0; hops < 4; hops++) { /* Parameter(tensor), from_type_v2(...) */
        const pk_obj *args = o->u.o.args;
        if (is_rebuild(o, "_rebuild_parameter") || is_rebuild(o, "_rebuild_parameter_with_state")) {
            const pk_obj *hooks = pk_item(args, 2), *hi;
            if (pk_len(args) < 3 || !is_tensor(pk_item(args, 0)))
                return ofail(c, TROVE_E_CORRUPT, o, "a Parameter whose data is not a tensor");
            if (dict_items(hooks, &hi) && dict_count(hi))
                return ofail(c, TROVE_E_UNSUPPORTED, o, "a Parameter with backward hooks (code)");
            o = pk_item(args, 0);
            continue;
        }
        if (pk_is_global(o->u.o.callable, "torch._tensor", "_rebuild_from_type_v2")) {
            const pk_obj *fn = pk_item(args, 0), *ty = pk_item(args, 1), *in = pk_item(args, 2),
                         *state = pk_item(args, 3), *si;
            if (pk_len(args) != 4 || !pk_is_global(fn, "torch._utils", "_rebuild_tensor_v2") ||
                !(pk_is_global(ty, "torch", "Tensor") ||
                  pk_is_global(ty, "torch._tensor", "Tensor") ||
                  pk_is_global(ty, "torch.nn.parameter", "Parameter")) ||
                !in || in->kind != PK_TUPLE)
                return ofail(c, TROVE_E_UNSUPPORTED, o, "a tensor subclass (%s): only torch.Tensor "
                             "and Parameter are read", pk_global_name(ty, gn, sizeof gn));
            if (!pk_is_none(state) && !(dict_items(state, &si) && !dict_count(si)))
                return ofail(c, TROVE_E_UNSUPPORTED, o, "a tensor with Python attributes: not "
                             "read");
            args = in;
            /* read below as _rebuild_tensor_v2's arguments */
        } else if (!is_rebuild(o, "_rebuild_tensor_v2") && !is_rebuild(o, "_rebuild_tensor")) {
            return refuse_object(c, o);
        }
        bool v2 = !is_rebuild(o, "_rebuild_tensor");
        size_t na = pk_len(args);
        if (v2 ? (na != 6 && na != 7) : na != 4)
            return ofail(c, TROVE_E_CORRUPT, o, "%s with %zu arguments", v2 ? "_rebuild_tensor_v2"
                         : "_rebuild_tensor", na);
        if (v2) {
            const pk_obj *hi;
            const pk_obj *hooks = pk_item(args, 5);
            if (dict_items(hooks, &hi) ? dict_count(hi) != 0 : !pk_is_none(hooks))
                return ofail(c, TROVE_E_UNSUPPORTED, o, "a tensor with backward hooks (code)");
        }
        size_t si = 0;
        int rc = storage_of(c, pk_item(args, 0), &si);
        if (rc)
            return rc;
        const pk_obj *size = pk_item(args, 2), *stride = pk_item(args, 3);
        uint64_t off;
        if (!get_u64(pk_item(args, 1), &off) || !size || size->kind != PK_TUPLE || !stride ||
            stride->kind != PK_TUPLE || pk_len(size) != pk_len(stride))
            return ofail(c, TROVE_E_CORRUPT, o, "a tensor whose offset, size or stride is not "
                         "an int and two tuples of one length");
        size_t rank = pk_len(size);
        if (rank > TROVE_MAX_RANK)
            return ofail(c, TROVE_E_UNSUPPORTED, o, "a tensor of rank %zu (at most %d)", rank,
                         TROVE_MAX_RANK);
        uint64_t shape[TROVE_MAX_RANK], strd[TROVE_MAX_RANK], numel = 1, last;
        for (size_t d = 0; d < rank; d++)
            if (!get_u64(pk_item(size, d), &shape[d]) || !get_u64(pk_item(stride, d), &strd[d]))
                return ofail(c, TROVE_E_CORRUPT, o, "size[%zu] or stride[%zu] is not a "
                             "non-negative int", d, d);
        for (size_t d = 0; d < rank; d++)
            if (!trove__mul_ok(numel, shape[d], &numel))
                return ofail(c, TROVE_E_CORRUPT, o, "the element count overflows 64 bits");
        const tz_storage *st = &c->st[si];
        size_t es = trove_dtype_size(st->dtype);
        uint64_t nbytes;
        if (!trove__mul_ok(numel, es, &nbytes))
            return ofail(c, TROVE_E_CORRUPT, o, "the byte size overflows 64 bits");
        if (numel) { /* the last element must lie inside the storage */
            last = off;
            for (size_t d = 0; d < rank; d++) {
                uint64_t span;
                if (!trove__mul_ok(shape[d] - 1, strd[d], &span) ||
                    !trove__add_ok(last, span, &last))
                    return ofail(c, TROVE_E_CORRUPT, o, "the view's extent overflows 64 bits");
            }
            if (last >= st->numel)
                return ofail(c, TROVE_E_CORRUPT, o, "the view (offset %llu, last element %llu) "
                             "reaches outside its storage '%s' of %llu elements",
                             (unsigned long long)off, (unsigned long long)last, st->key,
                             (unsigned long long)st->numel);
        }
        bool contiguous = true;
        uint64_t expect = 1;
        for (size_t d = rank; d-- > 0;) {
            if (shape[d] != 1 && strd[d] != expect)
                contiguous = false;
            expect *= shape[d]; /* <= numel: no overflow */
        }
        const char *nm = c->name[0] ? c->name : c->root_name;
        trove__tset *s = c->s;
        if ((rc = charge(c, o, &c->budget,
                         sizeof(trove__tin) + sizeof(tz_pending) + strlen(nm) + 1)))
            return rc;
        if (s->n >= TROVE_LIMIT_TENSORS)
            return ofail(c, TROVE_E_LIMIT, o, "more than %u tensors", TROVE_LIMIT_TENSORS);
        if (s->n == s->cap) {
            size_t nc = s->cap ? 2 * s->cap : 16;
            trove__tin *t = trove__realloc(s->alloc, s->t, nc * sizeof *t);
            if (!t)
                return nomem(c);
            s->t = t;
            s->cap = nc;
        }
        if (s->n >= c->cappend) {
            size_t nc = c->cappend ? 2 * c->cappend : 16;
            tz_pending *p = trove__realloc(s->alloc, c->pend, nc * sizeof *p);
            if (!p)
                return nomem(c);
            c->pend = p;
            c->cappend = nc;
        }
        trove__tin *t = &s->t[s->n];
        memset(t, 0, sizeof *t);
        if (!(t->name = trove__strndup(s->alloc, nm, strlen(nm))))
            return nomem(c);
        t->dtype = st->dtype;
        t->rank = (uint32_t)rank;
        memcpy(t->shape, shape, rank * sizeof shape[0]);
        memcpy(t->stride, strd, rank * sizeof strd[0]);
        t->nbytes = nbytes;
        t->strided = !contiguous && numel > 0;
        c->pend[s->n] = (tz_pending){si, off};
        s->n++;
        (void)depth;
        return TROVE_OK;
    }
    return ofail(c, TROVE_E_CORRUPT, o, "tensor wrappers nested too deep");
}

/* Walk o at path c->name[0..plen): tensors become tensors, the rest metadata. */
static int walk(tz_ctx *c, const pk_obj *o, size_t plen, unsigned depth)
{
    int rc = visit(c, o, depth);
    if (rc)
        return rc;
    c->name[plen] = 0;
    if (is_tensor(o))
        return add_tensor_obj(c, o, depth);
    const pk_obj *items;
    bool dict = dict_items(o, &items);
    if (!dict && !is_seq(o))
        return add_user(c, o, depth);
    if ((rc = has_tensor(c, o, depth)) < 0)
        return rc;
    if (rc == 0 && plen > 0)
        return add_user(c, o, depth); /* a container without tensors: one value (the root's
                                         items are still named one by one) */
    size_t n = dict ? dict_count(items) : o->u.seq.n;
    for (size_t i = 0; i < n; i++) {
        char kb[32];
        const char *kp;
        size_t kn, nlen = 0;
        const pk_obj *v;
        if (dict) {
            if ((rc = key_text(c, items->u.seq.v[2 * i], kb, sizeof kb, &kp, &kn)))
                return rc;
            v = items->u.seq.v[2 * i + 1];
        } else {
            kn = (size_t)snprintf(kb, sizeof kb, "%zu", i);
            kp = kb;
            v = o->u.seq.v[i];
        }
        if (!kn)
            return ofail(c, TROVE_E_UNSUPPORTED, o, "an empty key in a dict of tensors");
        if ((rc = path_push(c, plen, kp, kn, &nlen, o)) || (rc = walk(c, v, nlen, depth + 1)))
            return rc;
        c->name[plen] = 0;
    }
    return TROVE_OK;
}

/* Storages located: bound each tensor's bytes, set its data pointer and byte order. */
static int resolve(tz_ctx *c, bool big)
{
    for (size_t i = 0; i < c->nst; i++)
        if (!c->st[i].data && c->st[i].numel)
            return trove__fail(c->err, TROVE_E_CORRUPT, TROVE_NO_OFFSET, "torch: storage '%s' "
                               "is used by a tensor but not in the file", c->st[i].key);
    for (size_t i = 0; i < c->s->n; i++) {
        trove__tin *t = &c->s->t[i];
        const tz_storage *st = &c->st[c->pend[i].storage];
        size_t es = trove_dtype_size(t->dtype);
        t->data = st->data ? st->data : (const uint8_t *)"";
        if (t->nbytes) /* offset < numel (checked in add_tensor_obj): inside the storage */
            t->data += c->pend[i].offset * es;
        t->swap = es > 1 && big == trove__host_is_le();
    }
    return TROVE_OK;
}

#define zfail(err, off, ...) trove__fail((err), TROVE_E_CORRUPT, (off), __VA_ARGS__)

/* ---- zip ------------------------------------------------------------------------------- */
typedef struct tz_member {
    const char *name;   /* into buf, nl bytes */
    size_t nl;
    uint64_t off, size; /* data */
    uint64_t cd;        /* central entry offset (messages) */
    uint32_t crc;
    unsigned method, flags;
    bool checked;       /* member_check passed */
} tz_member;

/* A member about to be read: stored, not encrypted, its CRC-32 verified (once). */
static int member_check(tz_member *m, const uint8_t *buf, trove_error *err)
{
    char what[80];
    if (m->checked)
        return TROVE_OK;
    snprintf(what, sizeof what, "%.*s", (int)(m->nl > 64 ? 64 : m->nl), m->name);
    if (m->flags & 1)
        return trove__fail(err, TROVE_E_UNSUPPORTED, m->cd, "torch zip: member '%s' is "
                           "encrypted", what);
    if (m->method != 0)
        return trove__fail(err, TROVE_E_UNSUPPORTED, m->cd, "torch zip: member '%s' is "
                           "compressed (method %u); torch.save stores members uncompressed",
                           what, m->method);
    uLong cr = crc32(0L, Z_NULL, 0);
    for (uint64_t o = 0; o < m->size;) {
        uInt n = m->size - o > 0x40000000 ? 0x40000000 : (uInt)(m->size - o);
        cr = crc32(cr, buf + m->off + o, n);
        o += n;
    }
    if ((uint32_t)cr != m->crc)
        return zfail(err, m->off, "torch zip: member '%s': CRC-32 mismatch", what);
    m->checked = true;
    return TROVE_OK;
}


/* The members of the zip buf[0..len) (stored, checked, CRC verified): *out caller frees. */
static int zip_members(const trove_allocator *alloc, const uint8_t *buf, size_t len,
                       tz_member **out, size_t *nout, trove_error *err)
{
    *out = NULL;
    *nout = 0;
    if (len < 22)
        return zfail(err, 0, "torch zip: %s", "shorter than a zip end record");
    size_t eo = len - 22, stop = len > 22 + 65535 ? len - 22 - 65535 : 0;
    for (;;) {
        if (!memcmp(buf + eo, "PK\x05\x06", 4) && eo + 22 + trove__load_le16(buf + eo + 20) == len)
            break;
        if (eo == stop)
            return zfail(err, 0, "torch zip: %s", "no end-of-central-directory record");
        eo--;
    }
    uint64_t count = trove__load_le16(buf + eo + 10), cdsize = trove__load_le32(buf + eo + 12),
             cdoff = trove__load_le32(buf + eo + 16);
    if (trove__load_le16(buf + eo + 4) || trove__load_le16(buf + eo + 6) ||
        trove__load_le16(buf + eo + 8) != trove__load_le16(buf + eo + 10))
        return trove__fail(err, TROVE_E_UNSUPPORTED, eo, "torch zip: multi-disk archive");
    uint64_t cd_limit = eo; /* the central directory ends before the end records */
    if (count == 0xFFFF || cdsize == 0xFFFFFFFF || cdoff == 0xFFFFFFFF) {
        if (eo < 20 || memcmp(buf + eo - 20, "PK\x06\x07", 4))
            return zfail(err, eo, "torch zip: %s", "zip64 end locator missing");
        uint64_t z = trove__load_le64(buf + eo - 20 + 8);
        if (eo - 20 < 56 || z > eo - 20 - 56 || memcmp(buf + z, "PK\x06\x06", 4))
            return zfail(err, eo - 20, "torch zip: %s", "zip64 end record out of bounds");
        count = trove__load_le64(buf + z + 32);
        cdsize = trove__load_le64(buf + z + 40);
        cdoff = trove__load_le64(buf + z + 48);
        cd_limit = z;
    }
    if (cdoff > cd_limit || cdsize > cd_limit - cdoff)
        return zfail(err, eo, "torch zip: %s", "central directory out of bounds");
    if (count > TZ_MAX_MEMBERS || count > cdsize / 46)
        return zfail(err, eo, "torch zip: %s", "member count does not fit the central directory "
                     "(or exceeds the limit)");
    tz_member *m = trove__calloc(alloc, count ? (size_t)count : 1, sizeof *m);
    if (!m)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "torch: out of memory");
    int rc = TROVE_OK;
    uint64_t at = cdoff, end = cdoff + cdsize;
    for (uint64_t i = 0; i < count; i++) {
        if (end - at < 46 || memcmp(buf + at, "PK\x01\x02", 4)) {
            rc = zfail(err, at, "torch zip: %s", "bad central directory entry");
            goto fail;
        }
        const uint8_t *e = buf + at;
        unsigned flags = trove__load_le16(e + 8), method = trove__load_le16(e + 10);
        uint32_t crc = trove__load_le32(e + 16);
        uint64_t csize = trove__load_le32(e + 20), usize = trove__load_le32(e + 24);
        size_t nl = trove__load_le16(e + 28), xl = trove__load_le16(e + 30),
               cl = trove__load_le16(e + 32);
        uint64_t loff = trove__load_le32(e + 42);
        if (end - at - 46 < (uint64_t)nl + xl + cl) {
            rc = zfail(err, at, "torch zip: %s", "central directory entry runs past the "
                       "directory");
            goto fail;
        }
        const char *name = (const char *)e + 46;
        char what[80];
        snprintf(what, sizeof what, "%.*s", (int)(nl > 64 ? 64 : nl), name);
        const uint8_t *x = e + 46 + nl, *xe = x + xl;
        while (xe - x >= 4) {
            unsigned id = trove__load_le16(x), sz = trove__load_le16(x + 2);
            if ((size_t)(xe - x - 4) < sz) {
                rc = zfail(err, at, "torch zip: member '%s': extra field runs past its entry",
                           what);
                goto fail;
            }
            if (id == 1) {
                const uint8_t *q = x + 4, *qe = q + sz;
                uint64_t *fld[3] = {&usize, &csize, &loff};
                for (int k = 0; k < 3; k++)
                    if (*fld[k] == 0xFFFFFFFF) {
                        if (qe - q < 8) {
                            rc = zfail(err, at, "torch zip: member '%s': short zip64 extra "
                                       "field", what);
                            goto fail;
                        }
                        *fld[k] = trove__load_le64(q);
                        q += 8;
                    }
            }
            x += 4 + sz;
        }
        if (!nl || memchr(name, 0, nl)) {
            rc = zfail(err, at, "torch zip: member '%s': empty name or a NUL in it", what);
            goto fail;
        }
        if (method == 0 && csize != usize) {
            rc = zfail(err, at, "torch zip: stored member '%s' has different sizes", what);
            goto fail;
        }
        /* the local header: same name and method, sizes equal (or deferred: flag bit 3) */
        if (loff > cdoff || cdoff - loff < 30 || memcmp(buf + loff, "PK\x03\x04", 4)) {
            rc = zfail(err, at, "torch zip: member '%s': local header out of bounds", what);
            goto fail;
        }
        const uint8_t *lh = buf + loff;
        uint64_t lnl = trove__load_le16(lh + 26), lxl = trove__load_le16(lh + 28);
        uint64_t doff = loff + 30 + lnl + lxl;
        uint32_t lcs = trove__load_le32(lh + 18), lus = trove__load_le32(lh + 22);
        if (lnl != nl || doff > cdoff || memcmp(lh + 30, name, nl) ||
            trove__load_le16(lh + 8) != method ||
            (!(trove__load_le16(lh + 6) & 8) && lcs != 0xFFFFFFFF &&
             (lcs != csize || lus != usize || trove__load_le32(lh + 14) != crc))) {
            rc = zfail(err, loff, "torch zip: member '%s': the local header does not match the "
                       "central directory (name, method, sizes or CRC)", what);
            goto fail;
        }
        if (csize > cdoff - doff) {
            rc = zfail(err, loff, "torch zip: member '%s': data runs into the central directory",
                       what);
            goto fail;
        }
        m[i] = (tz_member){name, nl, doff, csize, at, crc, method, flags, false};
        at += 46 + nl + xl + cl;
    }
    *out = m;
    *nout = (size_t)count;
    return TROVE_OK;
fail:
    trove__free(alloc, m);
    return rc;
}

static int cmp_member(const void *a, const void *b)
{
    const tz_member *x = a, *y = b;
    size_t n = x->nl < y->nl ? x->nl : y->nl;
    int r = memcmp(x->name, y->name, n);
    return r ? r : x->nl < y->nl ? -1 : x->nl > y->nl;
}

static tz_member *member_find(tz_member *m, size_t n, const char *prefix, size_t pl,
                                    const char *rest)
{
    char name[1400];
    size_t rl = strlen(rest);
    if (pl + rl > sizeof name)
        return NULL;
    memcpy(name, prefix, pl);
    memcpy(name + pl, rest, rl);
    tz_member key = {name, pl + rl, 0, 0, 0, 0, 0, 0, false};
    return bsearch(&key, m, n, sizeof *m, cmp_member);
}

static bool member_under(const tz_member *m, const char *prefix, size_t pl, const char *dir)
{
    size_t dl = strlen(dir);
    return m->nl > pl + dl && !memcmp(m->name, prefix, pl) && !memcmp(m->name + pl, dir, dl);
}

static int parse_zip(tz_ctx *c, const uint8_t *buf, size_t len, uint64_t max_bytes)
{
    const trove_allocator *alloc = c->s->alloc;
    tz_member *m = NULL;
    size_t n = 0;
    int rc = zip_members(alloc, buf, len, &m, &n, c->err);
    if (rc)
        return rc;
    if (!n) {
        rc = trove__fail(c->err, TROVE_E_CORRUPT, 0, "torch zip: the archive is empty");
        goto done;
    }
    /* every member under one top directory: "<archive>/" */
    const char *slash = memchr(m[0].name, '/', m[0].nl);
    if (!slash) {
        rc = trove__fail(c->err, TROVE_E_UNSUPPORTED, m[0].cd, "torch zip: member '%.*s' is not "
                         "under a directory: not a torch.save archive", (int)(m[0].nl > 64 ? 64
                         : m[0].nl), m[0].name);
        goto done;
    }
    size_t pl = (size_t)(slash - m[0].name) + 1;
    char prefix[300];
    if (pl > 256) {
        rc = trove__fail(c->err, TROVE_E_UNSUPPORTED, m[0].cd, "torch zip: archive directory "
                         "name longer than 255 bytes");
        goto done;
    }
    memcpy(prefix, m[0].name, pl);
    for (size_t i = 0; i < n; i++)
        if (m[i].nl <= pl || memcmp(m[i].name, prefix, pl)) {
            rc = trove__fail(c->err, TROVE_E_UNSUPPORTED, m[i].cd, "torch zip: member '%.*s' is "
                             "outside the archive directory '%.*s'", (int)(m[i].nl > 64 ? 64 :
                             m[i].nl), m[i].name, (int)pl, prefix);
            goto done;
        }
    qsort(m, n, sizeof *m, cmp_member);
    for (size_t i = 1; i < n; i++)
        if (!cmp_member(&m[i - 1], &m[i])) {
            rc = trove__fail(c->err, TROVE_E_CORRUPT, m[i].cd, "torch zip: member '%.*s' appears "
                             "twice", (int)(m[i].nl > 64 ? 64 : m[i].nl), m[i].name);
            goto done;
        }
    bool jit = member_find(m, n, prefix, pl, "constants.pkl") != NULL;
    for (size_t i = 0; i < n && !jit; i++)
        jit = member_under(&m[i], prefix, pl, "code/");
    if (jit) {
        rc = trove__fail(c->err, TROVE_E_UNSUPPORTED, 0, "torch zip: a TorchScript archive "
                         "(torch.jit.save: constants.pkl, code/): its model is TorchScript code, "
                         "which is not run here; save the module's state_dict() with torch.save "
                         "instead");
        goto done;
    }
    tz_member *pkl = member_find(m, n, prefix, pl, "data.pkl");
    if (!pkl) {
        rc = trove__fail(c->err, TROVE_E_UNSUPPORTED, 0, "a zip archive without "
                         "'%.*sdata.pkl': neither a torch.save file nor an npz", (int)pl, prefix);
        goto done;
    }
    bool big = false;
    tz_member *bo = member_find(m, n, prefix, pl, "byteorder");
    if ((rc = member_check(pkl, buf, c->err)) || (bo && (rc = member_check(bo, buf, c->err))))
        goto done;
    if (bo) {
        if (bo->size == 6 && !memcmp(buf + bo->off, "little", 6))
            big = false;
        else if (bo->size == 3 && !memcmp(buf + bo->off, "big", 3))
            big = true;
        else {
            rc = trove__fail(c->err, TROVE_E_CORRUPT, bo->off, "torch zip: byteorder is neither "
                             "'little' nor 'big'");
            goto done;
        }
    }
    c->arena = pk_arena_new(alloc, max_bytes);
    if (!c->arena) {
        rc = nomem(c);
        goto done;
    }
    pk_limits lim = {0, 0, 0, 0, PK_ALLOW_PERSID};
    pk_obj *root;
    size_t end;
    rc = pk_load(c->arena, buf + pkl->off, (size_t)pkl->size, 0, &lim, NULL, NULL, &root, &end,
                 c->err);
    if (rc)
        goto done;
    if (end != pkl->size) {
        rc = trove__fail(c->err, TROVE_E_CORRUPT, pkl->off + end, "torch zip: %llu bytes after "
                         "the pickle's STOP in data.pkl", (unsigned long long)(pkl->size - end));
        goto done;
    }
    if ((rc = walk(c, root, 0, 0)))
        goto done;
    for (size_t i = 0; i < c->nst; i++) {
        char rest[300];
        snprintf(rest, sizeof rest, "data/%s", c->st[i].key);
        tz_member *sm = member_find(m, n, prefix, pl, rest);
        if (!sm) {
            rc = trove__fail(c->err, TROVE_E_CORRUPT, 0, "torch zip: storage '%s' has no member "
                             "'%.*sdata/%s'", c->st[i].key, (int)pl, prefix, c->st[i].key);
            goto done;
        }
        if ((rc = member_check(sm, buf, c->err)))
            goto done;
        uint64_t nbytes;
        if (!trove__mul_ok(c->st[i].numel, trove_dtype_size(c->st[i].dtype), &nbytes) ||
            nbytes != sm->size) {
            rc = trove__fail(c->err, TROVE_E_CORRUPT, sm->off, "torch zip: storage '%s' declares "
                             "%llu elements of %s, its member holds %llu bytes", c->st[i].key,
                             (unsigned long long)c->st[i].numel,
                             trove_dtype_name(c->st[i].dtype), (unsigned long long)sm->size);
            goto done;
        }
        c->st[i].data = buf + sm->off;
        c->st[i].where = sm->off;
    }
    rc = resolve(c, big);
done:
    trove__free(alloc, m);
    return rc;
}

/* ---- legacy ------------------------------------------------------------------------------ */
static int parse_legacy(tz_ctx *c, const uint8_t *buf, size_t len, uint64_t max_bytes)
{
    size_t magic = legacy_magic_len(buf, len);
    if (!magic)
        return trove__fail(c->err, TROVE_E_CORRUPT, 0, "torch legacy: no magic number");
    c->arena = pk_arena_new(c->s->alloc, max_bytes);
    if (!c->arena)
        return nomem(c);
    pk_limits lim = {0, 0, 0, 0, PK_ALLOW_PERSID};
    pk_obj *ver, *info, *root, *keys;
    size_t at = magic;
    int64_t v;
    int rc = pk_load(c->arena, buf, len, at, NULL, NULL, NULL, &ver, &at, c->err);
    if (rc)
        return rc;
    if (!pk_as_int(ver, &v) || v != 1001)
        return trove__fail(c->err, TROVE_E_UNSUPPORTED, magic, "torch legacy: "
                           "protocol version is not 1001");
    if ((rc = pk_load(c->arena, buf, len, at, NULL, NULL, NULL, &info, &at, c->err)))
        return rc;
    const pk_obj *le = pk_dict_get(info, "little_endian");
    if (!le || le->kind != PK_BOOL)
        return trove__fail(c->err, TROVE_E_CORRUPT, at, "torch legacy: sys_info without "
                           "little_endian");
    if (!le->u.i)
        return trove__fail(c->err, TROVE_E_UNSUPPORTED, at, "torch legacy: written on a "
                           "big-endian machine: not read");
    size_t obj_at = at;
    if ((rc = pk_load(c->arena, buf, len, at, &lim, NULL, NULL, &root, &at, c->err)))
        return rc;
    size_t keys_at = at;
    if ((rc = pk_load(c->arena, buf, len, at, NULL, NULL, NULL, &keys, &at, c->err)))
        return rc;
    (void)obj_at;
    if (!keys || keys->kind != PK_LIST)
        return trove__fail(c->err, TROVE_E_CORRUPT, keys_at, "torch legacy: the storage keys "
                           "are not a list");
    if ((rc = walk(c, root, 0, 0)))
        return rc;
    for (size_t i = 0; i < pk_len(keys); i++) {
        const uint8_t *kp;
        size_t kn;
        char key[257];
        if (!pk_text(pk_item(keys, i), &kp, &kn) || kn == 0 || kn > 256 || memchr(kp, 0, kn))
            return trove__fail(c->err, TROVE_E_CORRUPT, keys_at, "torch legacy: storage key %zu "
                               "is not a string", i);
        memcpy(key, kp, kn);
        key[kn] = 0;
        size_t si = storage_find(c, key);
        if (si == SIZE_MAX)
            return trove__fail(c->err, TROVE_E_CORRUPT, at, "torch legacy: storage '%s' is in "
                               "the file but no tensor uses it", key);
        tz_storage *st = &c->st[si];
        if (st->data)
            return trove__fail(c->err, TROVE_E_CORRUPT, at, "torch legacy: storage '%s' is "
                               "listed twice", key);
        if (len - at < 8)
            return trove__fail(c->err, TROVE_E_CORRUPT, at, "torch legacy: storage '%s': the "
                               "file ends before its size", key);
        uint64_t numel = trove__load_le64(buf + at), nbytes;
        at += 8;
        if (numel != st->numel || !trove__mul_ok(numel, trove_dtype_size(st->dtype), &nbytes) ||
            nbytes > len - at)
            return trove__fail(c->err, TROVE_E_CORRUPT, at - 8, "torch legacy: storage '%s' "
                               "holds %llu elements where %llu were declared, or runs past the "
                               "end of the file", key, (unsigned long long)numel,
                               (unsigned long long)st->numel);
        st->data = buf + at;
        st->where = at;
        at += (size_t)nbytes;
    }
    if (at != len)
        return trove__fail(c->err, TROVE_E_CORRUPT, at, "torch legacy: %zu bytes after the last "
                           "storage", len - at);
    return resolve(c, false);
}

int trove__torch_parse(trove__tset *s, const uint8_t *buf, size_t len, bool legacy,
                       const char *root_name, uint64_t max_bytes, trove_error *err)
{
    tz_ctx *c = trove__calloc(s->alloc, 1, sizeof *c);
    if (!c)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "torch: out of memory");
    c->s = s;
    c->err = err;
    c->legacy = legacy;
    c->src = legacy ? "object pickle" : "data.pkl";
    c->root_name = root_name && *root_name ? root_name : "tensor";
    c->budget = max_bytes ? max_bytes : PK_DEFAULT_MAX_BYTES;
    c->user_budget = TZ_MAX_USER_BYTES;
    int rc = legacy ? parse_legacy(c, buf, len, max_bytes) : parse_zip(c, buf, len, max_bytes);
    pk_arena_free(c->arena);
    trove__free(s->alloc, c->st);
    trove__free(s->alloc, c->hash);
    trove__free(s->alloc, c->pend);
    trove__free(s->alloc, c);
    return rc;
}
