/* pickle.c: an inert pickle VM (protocols 0-5): builds a symbolic object graph, executes nothing.
 *
 * Every opcode of pickletools' table is handled. GLOBAL/STACK_GLOBAL make symbolic references;
 * REDUCE/NEWOBJ/NEWOBJ_EX/OBJ/INST make symbolic objects (callable + args); BUILD records the
 * state. A few pure data constructors that Python pickles as calls are folded into plain values
 * (_codecs.encode(str, 'latin1') is how Python 3 pickles bytes in protocols 0-2; builtins.set,
 * frozenset, bytearray, bytes). Refused: EXT1/2/4 (extension registry), PERSID/BINPERSID
 * (persistent ids; kept as symbolic PK_PERSID objects when the caller allows them) and
 * NEXT_BUFFER/READONLY_BUFFER (out-of-band buffers). Integers beyond 64 bits
 * are kept as opaque "big" ints: reading one as a number fails (pk_as_int), so a model only fails
 * when it actually needs such a value. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/pickle.h"

/* ---- arena ------------------------------------------------------------------------------- */
typedef struct pk_block {
    struct pk_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} pk_block;

struct pk_arena {
    const trove_allocator *alloc;
    pk_block *head;
    uint64_t total, max;
    bool over;
};

pk_arena *pk_arena_new(const trove_allocator *alloc, uint64_t max_bytes)
{
    pk_arena *a = trove__calloc(alloc, 1, sizeof *a);
    if (!a)
        return NULL;
    a->alloc = alloc;
    a->max = max_bytes ? max_bytes : PK_DEFAULT_MAX_BYTES;
    return a;
}

void pk_arena_free(pk_arena *a)
{
    if (!a)
        return;
    pk_block *b = a->head;
    while (b) {
        pk_block *n = b->next;
        trove__free(a->alloc, b);
        b = n;
    }
    trove__free(a->alloc, a);
}

bool pk_arena_over_budget(const pk_arena *a)
{
    return a->over;
}

void *pk_alloc(pk_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    pk_block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > (size_t)60 << 10 ? n : (size_t)64 << 10;
        uint64_t t;
        if (!trove__add_ok(a->total, cap, &t) || t > a->max) {
            a->over = true;
            return NULL;
        }
        pk_block *nb = trove__malloc(a->alloc, sizeof *nb + cap);
        if (!nb)
            return NULL;
        nb->used = 0;
        nb->cap = cap;
        a->total = t;
        /* a big block goes behind the head so that the head's free space stays usable */
        if (b && cap == n) {
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            a->head = nb;
        }
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

/* ---- VM state ------------------------------------------------------------------------------ */
struct pk_vm {
    pk_arena *a;
    const trove_allocator *alloc;
    const uint8_t *buf;
    size_t len, pos, op_off;
    uint8_t op;
    pk_obj **stack;
    size_t sp, stack_cap;
    size_t *marks;
    size_t nmarks, marks_cap;
    pk_obj **memo;
    size_t memo_cap, memo_count;
    pk_limits lim;
    uint64_t *nobjects;
    pk_build_hook hook;
    void *hook_ctx;
    int nesting;
    trove_error *err;
};

static const char *op_name(uint8_t op)
{
    switch (op) {
    case '(': return "MARK";
    case '.': return "STOP";
    case '0': return "POP";
    case '1': return "POP_MARK";
    case '2': return "DUP";
    case 'F': return "FLOAT";
    case 'I': return "INT";
    case 'J': return "BININT";
    case 'K': return "BININT1";
    case 'L': return "LONG";
    case 'M': return "BININT2";
    case 'N': return "NONE";
    case 'P': return "PERSID";
    case 'Q': return "BINPERSID";
    case 'R': return "REDUCE";
    case 'S': return "STRING";
    case 'T': return "BINSTRING";
    case 'U': return "SHORT_BINSTRING";
    case 'V': return "UNICODE";
    case 'X': return "BINUNICODE";
    case 'a': return "APPEND";
    case 'b': return "BUILD";
    case 'c': return "GLOBAL";
    case 'd': return "DICT";
    case '}': return "EMPTY_DICT";
    case 'e': return "APPENDS";
    case 'g': return "GET";
    case 'h': return "BINGET";
    case 'i': return "INST";
    case 'j': return "LONG_BINGET";
    case 'l': return "LIST";
    case ']': return "EMPTY_LIST";
    case 'o': return "OBJ";
    case 'p': return "PUT";
    case 'q': return "BINPUT";
    case 'r': return "LONG_BINPUT";
    case 's': return "SETITEM";
    case 't': return "TUPLE";
    case ')': return "EMPTY_TUPLE";
    case 'u': return "SETITEMS";
    case 'G': return "BINFLOAT";
    case 0x80: return "PROTO";
    case 0x81: return "NEWOBJ";
    case 0x82: return "EXT1";
    case 0x83: return "EXT2";
    case 0x84: return "EXT4";
    case 0x85: return "TUPLE1";
    case 0x86: return "TUPLE2";
    case 0x87: return "TUPLE3";
    case 0x88: return "NEWTRUE";
    case 0x89: return "NEWFALSE";
    case 0x8a: return "LONG1";
    case 0x8b: return "LONG4";
    case 'B': return "BINBYTES";
    case 'C': return "SHORT_BINBYTES";
    case 0x8c: return "SHORT_BINUNICODE";
    case 0x8d: return "BINUNICODE8";
    case 0x8e: return "BINBYTES8";
    case 0x8f: return "EMPTY_SET";
    case 0x90: return "ADDITEMS";
    case 0x91: return "FROZENSET";
    case 0x92: return "NEWOBJ_EX";
    case 0x93: return "STACK_GLOBAL";
    case 0x94: return "MEMOIZE";
    case 0x95: return "FRAME";
    case 0x96: return "BYTEARRAY8";
    case 0x97: return "NEXT_BUFFER";
    case 0x98: return "READONLY_BUFFER";
    default: return "unknown";
    }
}

#define VFAIL(vm, code, ...) vfail_((vm), (code), __VA_ARGS__)
TROVE_PRINTF(3, 4)
static int vfail_(pk_vm *vm, int code, const char *fmt, ...)
{
    char why[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return trove__fail(vm->err, code, vm->op_off, "pickle: opcode %s (0x%02x) at offset %zu: %s",
                       op_name(vm->op), vm->op, vm->op_off, why);
}

static int nomem(pk_vm *vm)
{
    if (pk_arena_over_budget(vm->a))
        return VFAIL(vm, TROVE_E_LIMIT, "memory budget of the importer exhausted");
    return VFAIL(vm, TROVE_E_NOMEM, "out of memory");
}

static pk_obj *new_obj(pk_vm *vm, pk_kind k)
{
    if (++*vm->nobjects > vm->lim.max_objects) {
        VFAIL(vm, TROVE_E_LIMIT, "more than %llu objects", (unsigned long long)vm->lim.max_objects);
        return NULL;
    }
    pk_obj *o = pk_alloc(vm->a, sizeof *o);
    if (!o) {
        nomem(vm);
        return NULL;
    }
    o->kind = k;
    o->offset = vm->op_off;
    return o;
}

static int seq_push(pk_vm *vm, pk_obj *seq, pk_obj *item)
{
    if (seq->u.seq.n == seq->u.seq.cap) {
        size_t cap = seq->u.seq.cap ? seq->u.seq.cap * 2 : 4;
        if (cap > ((size_t)1 << 40))
            return VFAIL(vm, TROVE_E_LIMIT, "container too large");
        pk_obj **v = pk_alloc(vm->a, cap * sizeof *v);
        if (!v)
            return nomem(vm);
        if (seq->u.seq.n)
            memcpy(v, seq->u.seq.v, seq->u.seq.n * sizeof *v);
        seq->u.seq.v = v;
        seq->u.seq.cap = cap;
    }
    seq->u.seq.v[seq->u.seq.n++] = item;
    return TROVE_OK;
}

static int push(pk_vm *vm, pk_obj *o)
{
    if (!o)
        return vm->err ? vm->err->code : TROVE_E_NOMEM;
    if (vm->sp >= vm->lim.max_stack)
        return VFAIL(vm, TROVE_E_LIMIT, "stack deeper than %u items", vm->lim.max_stack);
    if (vm->sp == vm->stack_cap) {
        size_t cap = vm->stack_cap ? vm->stack_cap * 2 : 64;
        pk_obj **s = trove__realloc(vm->alloc, vm->stack, cap * sizeof *s);
        if (!s)
            return VFAIL(vm, TROVE_E_NOMEM, "out of memory (stack)");
        vm->stack = s;
        vm->stack_cap = cap;
    }
    vm->stack[vm->sp++] = o;
    return TROVE_OK;
}

static size_t floor_(const pk_vm *vm)
{
    return vm->nmarks ? vm->marks[vm->nmarks - 1] : 0;
}

static int pop(pk_vm *vm, pk_obj **o)
{
    if (vm->sp <= floor_(vm))
        return VFAIL(vm, TROVE_E_CORRUPT, "stack underflow");
    *o = vm->stack[--vm->sp];
    return TROVE_OK;
}

static int top(pk_vm *vm, pk_obj **o)
{
    if (vm->sp <= floor_(vm))
        return VFAIL(vm, TROVE_E_CORRUPT, "stack underflow (empty stack)");
    *o = vm->stack[vm->sp - 1];
    return TROVE_OK;
}

/* Pop the items above the last MARK: *items points into the stack (valid until next push). */
static int pop_mark(pk_vm *vm, pk_obj ***items, size_t *n)
{
    if (!vm->nmarks)
        return VFAIL(vm, TROVE_E_CORRUPT, "no MARK on the stack");
    size_t m = vm->marks[--vm->nmarks];
    *items = vm->stack ? vm->stack + m : NULL;
    *n = vm->sp - m;
    vm->sp = m;
    return TROVE_OK;
}

static pk_obj *make_seq(pk_vm *vm, pk_kind k, pk_obj **items, size_t n)
{
    pk_obj *o = new_obj(vm, k);
    if (!o)
        return NULL;
    if (n) {
        o->u.seq.v = pk_alloc(vm->a, n * sizeof *items);
        if (!o->u.seq.v) {
            nomem(vm);
            return NULL;
        }
        memcpy(o->u.seq.v, items, n * sizeof *items);
        o->u.seq.n = o->u.seq.cap = n;
    }
    return o;
}

static int need(pk_vm *vm, size_t n, const char *what)
{
    if (n > vm->len - vm->pos)
        return VFAIL(vm, TROVE_E_CORRUPT, "%s of %zu bytes runs past the end of the data "
                     "(%zu bytes left)", what, n, vm->len - vm->pos);
    return TROVE_OK;
}

static int readline(pk_vm *vm, const uint8_t **p, size_t *n)
{
    const uint8_t *s = vm->buf + vm->pos;
    const uint8_t *nl = memchr(s, '\n', vm->len - vm->pos);
    if (!nl)
        return VFAIL(vm, TROVE_E_CORRUPT, "line argument without a newline before the end");
    *p = s;
    *n = (size_t)(nl - s);
    vm->pos += *n + 1;
    return TROVE_OK;
}

static pk_obj *make_bytes(pk_vm *vm, pk_kind k, const uint8_t *p, size_t n)
{
    pk_obj *o = new_obj(vm, k);
    if (o) {
        o->u.s.p = p;
        o->u.s.n = n;
    }
    return o;
}

static char *arena_strndup(pk_vm *vm, const uint8_t *p, size_t n)
{
    char *s = pk_alloc(vm->a, n + 1);
    if (!s) {
        nomem(vm);
        return NULL;
    }
    memcpy(s, p, n);
    return s;
}

static pk_obj *make_global(pk_vm *vm, const uint8_t *m, size_t mn, const uint8_t *nm, size_t nn)
{
    if (mn == 0 || nn == 0 || mn > 1024 || nn > 1024) {
        VFAIL(vm, TROVE_E_CORRUPT, "global reference with an empty or over-long name");
        return NULL;
    }
    if (memchr(m, 0, mn) || memchr(nm, 0, nn)) {
        VFAIL(vm, TROVE_E_CORRUPT, "global reference with a NUL byte in its name");
        return NULL;
    }
    pk_obj *o = new_obj(vm, PK_GLOBAL);
    if (!o)
        return NULL;
    char *ms = arena_strndup(vm, m, mn), *ns = arena_strndup(vm, nm, nn);
    if (!ms || !ns)
        return NULL;
    o->u.g.module = ms;
    o->u.g.name = ns;
    return o;
}

static int parse_decimal(pk_vm *vm, const uint8_t *p, size_t n, int64_t *v, bool *big)
{
    size_t i = 0;
    bool neg = false;
    *big = false;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\r'))
        n--;
    if (i < n && (p[i] == '-' || p[i] == '+'))
        neg = p[i++] == '-';
    if (i == n)
        return VFAIL(vm, TROVE_E_CORRUPT, "integer argument has no digits");
    uint64_t acc = 0;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return VFAIL(vm, TROVE_E_CORRUPT, "integer argument has a non-digit character");
        if (!*big && (!trove__mul_ok(acc, 10, &acc) || !trove__add_ok(acc, p[i] - '0', &acc)))
            *big = true;
    }
    if (!*big && acc > (uint64_t)INT64_MAX + (neg ? 1u : 0u))
        *big = true;
    if (*big) {
        *v = 0;
        return TROVE_OK;
    }
    *v = neg ? (int64_t)(0 - acc) : (int64_t)acc;
    return TROVE_OK;
}

static pk_obj *make_int(pk_vm *vm, int64_t v, bool big)
{
    pk_obj *o = new_obj(vm, PK_INT);
    if (o) {
        o->u.i = v;
        o->py2str = big ? 2 : 0; /* 2: an integer beyond 64 bits (value not kept) */
    }
    return o;
}

/* LONG1/LONG4 payload: little-endian two's complement. */
static pk_obj *make_long_le(pk_vm *vm, const uint8_t *p, size_t n)
{
    if (n == 0)
        return make_int(vm, 0, false);
    bool neg = (p[n - 1] & 0x80) != 0;
    size_t eff = n;
    /* strip redundant sign-extension bytes */
    while (eff > 1 && p[eff - 1] == (neg ? 0xff : 0x00) && ((p[eff - 2] & 0x80) != 0) == neg)
        eff--;
    if (eff > 8)
        return make_int(vm, 0, true);
    uint64_t u = neg ? UINT64_MAX : 0;
    for (size_t i = 0; i < eff; i++) {
        u &= ~((uint64_t)0xff << (8 * i));
        u |= (uint64_t)p[i] << (8 * i);
    }
    return make_int(vm, (int64_t)u, false);
}

static void utf8_put(uint8_t *out, size_t *k, uint32_t cp)
{
    if (cp < 0x80) {
        out[(*k)++] = (uint8_t)cp;
    } else if (cp < 0x800) {
        out[(*k)++] = (uint8_t)(0xc0 | cp >> 6);
        out[(*k)++] = (uint8_t)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out[(*k)++] = (uint8_t)(0xe0 | cp >> 12);
        out[(*k)++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        out[(*k)++] = (uint8_t)(0x80 | (cp & 0x3f));
    } else {
        out[(*k)++] = (uint8_t)(0xf0 | cp >> 18);
        out[(*k)++] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
        out[(*k)++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        out[(*k)++] = (uint8_t)(0x80 | (cp & 0x3f));
    }
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* UNICODE: raw-unicode-escape (\uXXXX, \UXXXXXXXX; other bytes are latin-1) -> UTF-8. */
static pk_obj *decode_raw_unicode(pk_vm *vm, const uint8_t *p, size_t n)
{
    uint64_t cap;
    if (!trove__mul_ok(n, 4, &cap) || cap > SIZE_MAX - 1) {
        VFAIL(vm, TROVE_E_LIMIT, "UNICODE argument too long");
        return NULL;
    }
    uint8_t *out = pk_alloc(vm->a, (size_t)cap + 1);
    if (!out) {
        nomem(vm);
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\\' && i + 1 < n && (p[i + 1] == 'u' || p[i + 1] == 'U')) {
            size_t nd = p[i + 1] == 'u' ? 4 : 8;
            if (i + 2 + nd > n) {
                VFAIL(vm, TROVE_E_CORRUPT, "truncated \\u escape in UNICODE argument");
                return NULL;
            }
            uint32_t cp = 0;
            for (size_t j = 0; j < nd; j++) {
                int h = hexval(p[i + 2 + j]);
                if (h < 0) {
                    VFAIL(vm, TROVE_E_CORRUPT, "bad \\u escape in UNICODE argument");
                    return NULL;
                }
                cp = cp << 4 | (uint32_t)h;
            }
            if (cp > 0x10ffff) {
                VFAIL(vm, TROVE_E_CORRUPT, "code point beyond U+10FFFF in UNICODE argument");
                return NULL;
            }
            utf8_put(out, &k, cp);
            i += 1 + nd;
        } else {
            utf8_put(out, &k, p[i]);
        }
    }
    return make_bytes(vm, PK_STR, out, k);
}

/* STRING: a Python 2 repr: quoted, with backslash escapes -> bytes (py2 str). */
static pk_obj *decode_string_repr(pk_vm *vm, const uint8_t *p, size_t n)
{
    while (n && (p[n - 1] == '\r' || p[n - 1] == ' '))
        n--;
    if (n < 2 || (p[0] != '\'' && p[0] != '"') || p[n - 1] != p[0]) {
        VFAIL(vm, TROVE_E_CORRUPT, "STRING argument is not a quoted string");
        return NULL;
    }
    p++;
    n -= 2;
    uint8_t *out = pk_alloc(vm->a, n + 1);
    if (!out) {
        nomem(vm);
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '\\') {
            out[k++] = p[i];
            continue;
        }
        if (++i == n) {
            VFAIL(vm, TROVE_E_CORRUPT, "STRING argument ends with a backslash");
            return NULL;
        }
        uint8_t c = p[i];
        switch (c) {
        case 'n': out[k++] = '\n'; break;
        case 't': out[k++] = '\t'; break;
        case 'r': out[k++] = '\r'; break;
        case 'a': out[k++] = 7; break;
        case 'b': out[k++] = 8; break;
        case 'f': out[k++] = 12; break;
        case 'v': out[k++] = 11; break;
        case '\\': case '\'': case '"': out[k++] = c; break;
        case '\n': break;
        case 'x': {
            int h1 = i + 1 < n ? hexval(p[i + 1]) : -1, h2 = i + 2 < n ? hexval(p[i + 2]) : -1;
            if (h1 < 0 || h2 < 0) {
                VFAIL(vm, TROVE_E_CORRUPT, "bad \\x escape in STRING argument");
                return NULL;
            }
            out[k++] = (uint8_t)(h1 << 4 | h2);
            i += 2;
            break;
        }
        default:
            if (c >= '0' && c <= '7') {
                unsigned v = 0;
                size_t j = 0;
                while (j < 3 && i + j < n && p[i + j] >= '0' && p[i + j] <= '7')
                    v = v * 8 + (unsigned)(p[i + j++] - '0');
                out[k++] = (uint8_t)v;
                i += j - 1;
            } else {
                out[k++] = '\\'; /* Python keeps unknown escapes verbatim */
                out[k++] = c;
            }
        }
    }
    pk_obj *o = make_bytes(vm, PK_BYTES, out, k);
    if (o)
        o->py2str = 1;
    return o;
}

/* ---- graph helpers ----------------------------------------------------------------------- */
bool pk_text(const pk_obj *o, const uint8_t **p, size_t *n)
{
    if (!o || !(o->kind == PK_STR || (o->kind == PK_BYTES && o->py2str == 1)))
        return false;
    *p = o->u.s.p;
    *n = o->u.s.n;
    return true;
}

bool pk_text_eq(const pk_obj *o, const char *s)
{
    const uint8_t *p;
    size_t n;
    return pk_text(o, &p, &n) && n == strlen(s) && !memcmp(p, s, n);
}

bool pk_is_global(const pk_obj *o, const char *module, const char *name)
{
    return o && o->kind == PK_GLOBAL && !strcmp(o->u.g.module, module) &&
           !strcmp(o->u.g.name, name);
}

static bool is_builtin(const pk_obj *g, const char *name)
{
    return pk_is_global(g, "builtins", name) || pk_is_global(g, "__builtin__", name);
}

const pk_obj *pk_class_of(const pk_obj *o)
{
    if (!o || o->kind != PK_OBJECT)
        return NULL;
    const pk_obj *c = o->u.o.callable;
    if (o->how == PK_REDUCE && (pk_is_global(c, "copy_reg", "_reconstructor") ||
                                pk_is_global(c, "copyreg", "_reconstructor") ||
                                pk_is_global(c, "copyreg", "__newobj__") ||
                                pk_is_global(c, "copy_reg", "__newobj__")))
        c = pk_item(o->u.o.args, 0);
    return c && c->kind == PK_GLOBAL ? c : NULL;
}

const pk_obj *pk_state_dict(const pk_obj *o)
{
    if (!o || o->kind != PK_OBJECT || !o->u.o.state)
        return NULL;
    const pk_obj *s = o->u.o.state;
    if (s->kind == PK_DICT)
        return s;
    if (s->kind == PK_TUPLE && s->u.seq.n == 2 && s->u.seq.v[0]->kind == PK_DICT)
        return s->u.seq.v[0];
    return NULL;
}

const pk_obj *pk_dict_get(const pk_obj *d, const char *key)
{
    if (d && d->kind == PK_OBJECT) /* OrderedDict & co: SETITEMS recorded on the object */
        d = d->u.o.dict;
    if (!d || d->kind != PK_DICT)
        return NULL;
    const pk_obj *found = NULL;
    for (size_t i = 0; i + 1 < d->u.seq.n; i += 2)
        if (pk_text_eq(d->u.seq.v[i], key))
            found = d->u.seq.v[i + 1]; /* the last assignment wins, as in Python */
    return found;
}

const pk_obj *pk_attr(const pk_obj *o, const char *key)
{
    return pk_dict_get(pk_state_dict(o), key);
}

size_t pk_len(const pk_obj *o)
{
    if (!o)
        return 0;
    switch (o->kind) {
    case PK_TUPLE: case PK_LIST: case PK_SET: case PK_FROZENSET: return o->u.seq.n;
    case PK_DICT: return o->u.seq.n / 2;
    default: return 0;
    }
}

const pk_obj *pk_item(const pk_obj *o, size_t i)
{
    if (!o || !(o->kind == PK_TUPLE || o->kind == PK_LIST || o->kind == PK_SET ||
                o->kind == PK_FROZENSET) || i >= o->u.seq.n)
        return NULL;
    return o->u.seq.v[i];
}

bool pk_as_int(const pk_obj *o, int64_t *v)
{
    if (!o)
        return false;
    if ((o->kind == PK_INT && o->py2str != 2) || o->kind == PK_BOOL) {
        *v = o->u.i;
        return true;
    }
    double d;
    if (o->kind == PK_OBJECT && pk_scalar_f64(o, &d) && d == floor(d) && fabs(d) < 9e15) {
        *v = (int64_t)d;
        return true;
    }
    return false;
}

bool pk_as_float(const pk_obj *o, double *v)
{
    if (!o)
        return false;
    if (o->kind == PK_FLOAT) {
        *v = o->u.f;
        return true;
    }
    if ((o->kind == PK_INT && o->py2str != 2) || o->kind == PK_BOOL) {
        *v = (double)o->u.i;
        return true;
    }
    return o->kind == PK_OBJECT && pk_scalar_f64(o, v);
}

bool pk_is_none(const pk_obj *o)
{
    return !o || o->kind == PK_NONE;
}

const char *pk_global_name(const pk_obj *g, char *buf, size_t cap)
{
    if (!g || g->kind != PK_GLOBAL)
        snprintf(buf, cap, "?");
    else
        snprintf(buf, cap, "%s.%s", g->u.g.module, g->u.g.name);
    return buf;
}

const char *pk_kind_name(pk_kind k)
{
    static const char *names[] = {"None", "bool", "int", "float", "str", "bytes", "bytearray",
                                  "tuple", "list", "dict", "set", "frozenset", "global",
                                  "object", "joblib array", "persistent id", "mark"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

bool pk_probe(const uint8_t *buf, size_t len)
{
    if (len < 2)
        return false;
    if (buf[0] == 0x80)
        return buf[1] <= 5;
    /* protocol 0/1 streams start with one of these opcodes (a module path, a mark, ...) */
    return buf[0] == 'c' || buf[0] == '(' || buf[0] == ']' || buf[0] == '}' || buf[0] == ')' ||
           buf[0] == 'N' || buf[0] == 'I' || buf[0] == 'S' || buf[0] == 'V' || buf[0] == 'F';
}

/* ---- folding pure data constructors ---------------------------------------------------- */
/* UTF-8 text -> latin-1 bytes (each code point must be < 256). */
static pk_obj *latin1_bytes(pk_vm *vm, const pk_obj *s, pk_kind k)
{
    const uint8_t *p = s->u.s.p;
    size_t n = s->u.s.n;
    uint8_t *out = pk_alloc(vm->a, n + 1);
    if (!out) {
        nomem(vm);
        return NULL;
    }
    size_t j = 0;
    for (size_t i = 0; i < n; j++) {
        if (p[i] < 0x80) {
            out[j] = p[i++];
        } else if ((p[i] & 0xe0) == 0xc0 && i + 1 < n && (p[i] & 0x1f) <= 3) {
            out[j] = (uint8_t)((p[i] & 0x1f) << 6 | (p[i + 1] & 0x3f));
            i += 2;
        } else {
            VFAIL(vm, TROVE_E_CORRUPT, "_codecs.encode(..., 'latin1') of text with a code point "
                  "beyond U+00FF");
            return NULL;
        }
    }
    return make_bytes(vm, k, out, j);
}

static bool is_latin1_name(const pk_obj *o)
{
    return pk_text_eq(o, "latin1") || pk_text_eq(o, "latin-1") || pk_text_eq(o, "iso-8859-1");
}

/* REDUCE of a known pure constructor folded to a value; NULL (and no error) when not one. */
static pk_obj *fold_reduce(pk_vm *vm, pk_obj *fn, pk_obj *args, bool *failed)
{
    *failed = false;
    if (!fn || fn->kind != PK_GLOBAL || !args || args->kind != PK_TUPLE)
        return NULL;
    size_t n = args->u.seq.n;
    pk_obj *a0 = n > 0 ? args->u.seq.v[0] : NULL;
    pk_obj *r = NULL;
    if (pk_is_global(fn, "_codecs", "encode") && n == 2 && a0->kind == PK_STR &&
        is_latin1_name(args->u.seq.v[1])) {
        r = latin1_bytes(vm, a0, PK_BYTES);
    } else if ((is_builtin(fn, "bytes") || is_builtin(fn, "bytearray")) && n <= 2) {
        pk_kind k = is_builtin(fn, "bytes") ? PK_BYTES : PK_BYTEARRAY;
        if (n == 0)
            r = make_bytes(vm, k, (const uint8_t *)"", 0);
        else if (n == 1 && (a0->kind == PK_BYTES || a0->kind == PK_BYTEARRAY))
            r = make_bytes(vm, k, a0->u.s.p, a0->u.s.n);
        else if (n == 2 && a0->kind == PK_STR && is_latin1_name(args->u.seq.v[1]))
            r = latin1_bytes(vm, a0, k);
        else
            return NULL;
    } else if ((is_builtin(fn, "set") || is_builtin(fn, "frozenset")) && n <= 1) {
        pk_kind k = is_builtin(fn, "set") ? PK_SET : PK_FROZENSET;
        if (n == 0)
            r = make_seq(vm, k, NULL, 0);
        else if (a0->kind == PK_LIST || a0->kind == PK_TUPLE)
            r = make_seq(vm, k, a0->u.seq.v, a0->u.seq.n);
        else
            return NULL;
    } else {
        return NULL;
    }
    if (!r)
        *failed = true;
    return r;
}

/* ---- memo ---------------------------------------------------------------------------------- */
static int memo_put(pk_vm *vm, uint64_t idx)
{
    pk_obj *o;
    int rc = top(vm, &o);
    if (rc)
        return rc;
    if (idx >= vm->lim.max_memo)
        return VFAIL(vm, TROVE_E_LIMIT, "memo index %llu beyond the limit %u",
                     (unsigned long long)idx, vm->lim.max_memo);
    if (idx >= vm->memo_cap) {
        size_t cap = vm->memo_cap ? vm->memo_cap : 64;
        while (cap <= idx)
            cap *= 2;
        pk_obj **m = trove__realloc(vm->alloc, vm->memo, cap * sizeof *m);
        if (!m)
            return VFAIL(vm, TROVE_E_NOMEM, "out of memory (memo)");
        memset(m + vm->memo_cap, 0, (cap - vm->memo_cap) * sizeof *m);
        vm->memo = m;
        vm->memo_cap = cap;
    }
    if (!vm->memo[idx])
        vm->memo_count++;
    vm->memo[idx] = o;
    return TROVE_OK;
}

static int memo_get(pk_vm *vm, uint64_t idx)
{
    if (idx >= vm->memo_cap || !vm->memo[idx])
        return VFAIL(vm, TROVE_E_CORRUPT, "memo key %llu was never stored",
                     (unsigned long long)idx);
    return push(vm, vm->memo[idx]);
}

/* ---- the interpreter ---------------------------------------------------------------------- */
static int set_state(pk_vm *vm, pk_obj *target, pk_obj *state)
{
    if (target->kind != PK_OBJECT)
        return VFAIL(vm, TROVE_E_CORRUPT, "BUILD on a %s (only objects have a state)",
                     pk_kind_name(target->kind));
    target->u.o.state = state;
    return TROVE_OK;
}

static int append_to(pk_vm *vm, pk_obj *target, pk_obj **items, size_t n)
{
    if (target->kind == PK_OBJECT) {
        if (!target->u.o.list) {
            target->u.o.list = new_obj(vm, PK_LIST);
            if (!target->u.o.list)
                return vm->err ? vm->err->code : TROVE_E_NOMEM;
        }
        target = target->u.o.list;
    } else if (target->kind != PK_LIST) {
        return VFAIL(vm, TROVE_E_CORRUPT, "append to a %s", pk_kind_name(target->kind));
    }
    for (size_t i = 0; i < n; i++) {
        int rc = seq_push(vm, target, items[i]);
        if (rc)
            return rc;
    }
    return TROVE_OK;
}

static int setitems_on(pk_vm *vm, pk_obj *target, pk_obj **items, size_t n)
{
    if (n % 2)
        return VFAIL(vm, TROVE_E_CORRUPT, "odd number of items for a dict");
    if (target->kind == PK_OBJECT) {
        if (!target->u.o.dict) {
            target->u.o.dict = new_obj(vm, PK_DICT);
            if (!target->u.o.dict)
                return vm->err ? vm->err->code : TROVE_E_NOMEM;
        }
        target = target->u.o.dict;
    } else if (target->kind != PK_DICT) {
        return VFAIL(vm, TROVE_E_CORRUPT, "setitem on a %s", pk_kind_name(target->kind));
    }
    for (size_t i = 0; i < n; i++) {
        int rc = seq_push(vm, target, items[i]);
        if (rc)
            return rc;
    }
    return TROVE_OK;
}

static pk_obj *make_object(pk_vm *vm, pk_how how, pk_obj *callable, pk_obj *args, pk_obj *kw)
{
    pk_obj *o = new_obj(vm, PK_OBJECT);
    if (!o)
        return NULL;
    o->how = (uint8_t)how;
    o->u.o.callable = callable;
    o->u.o.args = args;
    o->u.o.kwargs = kw;
    return o;
}

static int run(pk_vm *vm, pk_obj **out)
{
    int rc = TROVE_OK;
    for (;;) {
        if (vm->pos >= vm->len) {
            vm->op_off = vm->pos;
            vm->op = 0;
            return trove__fail(vm->err, TROVE_E_CORRUPT, vm->pos,
                               "pickle: the data ends at offset %zu before a STOP opcode",
                               vm->pos);
        }
        vm->op_off = vm->pos;
        vm->op = vm->buf[vm->pos++];
        const uint8_t *p = NULL;
        size_t n = 0;
        pk_obj *a = NULL, *b = NULL, *c = NULL, **items = NULL;
        switch (vm->op) {
        case '(': /* MARK */
            if (vm->nmarks >= vm->lim.max_marks)
                return VFAIL(vm, TROVE_E_LIMIT, "more than %u open MARKs", vm->lim.max_marks);
            if (vm->nmarks == vm->marks_cap) {
                size_t cap = vm->marks_cap ? vm->marks_cap * 2 : 16;
                size_t *m = trove__realloc(vm->alloc, vm->marks, cap * sizeof *m);
                if (!m)
                    return VFAIL(vm, TROVE_E_NOMEM, "out of memory (marks)");
                vm->marks = m;
                vm->marks_cap = cap;
            }
            vm->marks[vm->nmarks++] = vm->sp;
            break;
        case '.': /* STOP */
            if ((rc = pop(vm, out)))
                return rc;
            return TROVE_OK;
        case '0': /* POP: the top item, or the topmost mark when nothing is above it */
            if (vm->sp > floor_(vm))
                vm->sp--;
            else if ((rc = pop_mark(vm, &items, &n)))
                return rc;
            break;
        case '1':
            if ((rc = pop_mark(vm, &items, &n)))
                return rc;
            break;
        case '2':
            if ((rc = top(vm, &a)) || (rc = push(vm, a)))
                return rc;
            break;
        case 'F': {
            if ((rc = readline(vm, &p, &n)))
                return rc;
            char tmp[64];
            if (n == 0 || n >= sizeof tmp)
                return VFAIL(vm, TROVE_E_CORRUPT, "FLOAT argument of %zu characters", n);
            memcpy(tmp, p, n);
            tmp[n] = 0;
            char *e;
            double d = strtod(tmp, &e);
            while (*e == ' ' || *e == '\r')
                e++;
            if (*e)
                return VFAIL(vm, TROVE_E_CORRUPT, "FLOAT argument is not a number");
            if (!(a = new_obj(vm, PK_FLOAT)))
                return vm->err->code;
            a->u.f = d;
            if ((rc = push(vm, a)))
                return rc;
            break;
        }
        case 'I':
        case 'L': {
            if ((rc = readline(vm, &p, &n)))
                return rc;
            if (vm->op == 'I' && n == 2 && p[0] == '0' && (p[1] == '0' || p[1] == '1')) {
                if (!(a = new_obj(vm, PK_BOOL)))
                    return vm->err->code;
                a->u.i = p[1] == '1';
            } else {
                if (vm->op == 'L' && n && p[n - 1] == 'L')
                    n--;
                int64_t v;
                bool big;
                if ((rc = parse_decimal(vm, p, n, &v, &big)))
                    return rc;
                if (!(a = make_int(vm, v, big)))
                    return vm->err->code;
            }
            if ((rc = push(vm, a)))
                return rc;
            break;
        }
        case 'J':
            if ((rc = need(vm, 4, "BININT argument")))
                return rc;
            a = make_int(vm, (int32_t)trove__load_le32(vm->buf + vm->pos), false);
            vm->pos += 4;
            if ((rc = push(vm, a)))
                return rc;
            break;
        case 'K':
            if ((rc = need(vm, 1, "BININT1 argument")))
                return rc;
            a = make_int(vm, vm->buf[vm->pos++], false);
            if ((rc = push(vm, a)))
                return rc;
            break;
        case 'M':
            if ((rc = need(vm, 2, "BININT2 argument")))
                return rc;
            a = make_int(vm, trove__load_le16(vm->buf + vm->pos), false);
            vm->pos += 2;
            if ((rc = push(vm, a)))
                return rc;
            break;
        case 0x8a: /* LONG1 */
        case 0x8b: /* LONG4 */ {
            size_t ln;
            if (vm->op == 0x8a) {
                if ((rc = need(vm, 1, "LONG1 length")))
                    return rc;
                ln = vm->buf[vm->pos++];
            } else {
                if ((rc = need(vm, 4, "LONG4 length")))
                    return rc;
                int32_t l4 = (int32_t)trove__load_le32(vm->buf + vm->pos);
                vm->pos += 4;
                if (l4 < 0)
                    return VFAIL(vm, TROVE_E_CORRUPT, "LONG4 with a negative length");
                ln = (size_t)l4;
            }
            if ((rc = need(vm, ln, "long integer")))
                return rc;
            a = make_long_le(vm, vm->buf + vm->pos, ln);
            vm->pos += ln;
            if ((rc = push(vm, a)))
                return rc;
            break;
        }
        case 'N':
            if ((rc = push(vm, new_obj(vm, PK_NONE))))
                return rc;
            break;
        case 0x88:
        case 0x89:
            if (!(a = new_obj(vm, PK_BOOL)))
                return vm->err->code;
            a->u.i = vm->op == 0x88;
            if ((rc = push(vm, a)))
                return rc;
            break;
        case 'G': {
            if ((rc = need(vm, 8, "BINFLOAT argument")))
                return rc;
            uint64_t u = 0;
            for (int i = 0; i < 8; i++)
                u = u << 8 | vm->buf[vm->pos + (size_t)i]; /* big-endian */
            vm->pos += 8;
            if (!(a = new_obj(vm, PK_FLOAT)))
                return vm->err->code;
            memcpy(&a->u.f, &u, 8);
            if ((rc = push(vm, a)))
                return rc;
            break;
        }
        case 'P':
        case 'Q':
            if (!(vm->lim.flags & PK_ALLOW_PERSID))
                return VFAIL(vm, TROVE_E_UNSUPPORTED, "persistent ids refer to objects outside "
                             "the pickle (the producer's persistent_load): not supported");
            /* kept symbolic: the caller interprets the id (nothing is looked up here) */
            if (vm->op == 'P') {
                if ((rc = readline(vm, &p, &n)) || !(b = make_bytes(vm, PK_STR, p, n)))
                    return rc ? rc : vm->err->code;
            } else if ((rc = pop(vm, &b))) {
                return rc;
            }
            if (!(a = new_obj(vm, PK_PERSID)))
                return vm->err->code;
            a->u.pid = b;
            if ((rc = push(vm, a)))
                return rc;
            break;
        case 0x82:
        case 0x83:
        case 0x84:
            return VFAIL(vm, TROVE_E_UNSUPPORTED, "extension-registry references (copyreg "
                         "extension codes) are not supported");
        case 0x97:
        case 0x98:
            return VFAIL(vm, TROVE_E_UNSUPPORTED, "out-of-band buffers (pickle protocol 5 "
                         "buffer_callback) are not in the file: not supported");
        case 'S':
            if ((rc = readline(vm, &p, &n)) || (rc = push(vm, decode_string_repr(vm, p, n))))
                return rc;
            break;
        case 'T':
        case 'U':
        case 'B':
        case 'C':
        case 'X':
        case 0x8c:
        case 0x8d:
        case 0x8e:
        case 0x96: {
            size_t w = (vm->op == 'U' || vm->op == 'C' || vm->op == 0x8c) ? 1
                       : (vm->op == 0x8d || vm->op == 0x8e || vm->op == 0x96) ? 8 : 4;
            if ((rc = need(vm, w, "length")))
                return rc;
            uint64_t ln = w == 1 ? vm->buf[vm->pos] : w == 4 ? trove__load_le32(vm->buf + vm->pos)
                                                             : trove__load_le64(vm->buf + vm->pos);
            if (vm->op == 'T' && (int32_t)ln < 0)
                return VFAIL(vm, TROVE_E_CORRUPT, "BINSTRING with a negative length");
            vm->pos += w;
            if (ln > vm->len - vm->pos)
                return VFAIL(vm, TROVE_E_CORRUPT, "argument of %llu bytes runs past the end of the "
                             "data (%zu bytes left)", (unsigned long long)ln, vm->len - vm->pos);
            p = vm->buf + vm->pos;
            vm->pos += (size_t)ln;
            pk_kind k = (vm->op == 'X' || vm->op == 0x8c || vm->op == 0x8d) ? PK_STR
                        : vm->op == 0x96 ? PK_BYTEARRAY : PK_BYTES;
            if (!(a = make_bytes(vm, k, p, (size_t)ln)))
                return vm->err->code;
            if (vm->op == 'T' || vm->op == 'U')
                a->py2str = 1;
            if ((rc = push(vm, a)))
                return rc;
            break;
        }
        case 'V':
            if ((rc = readline(vm, &p, &n)) || (rc = push(vm, decode_raw_unicode(vm, p, n))))
                return rc;
            break;
        case ')':
            if ((rc = push(vm, make_seq(vm, PK_TUPLE, NULL, 0))))
                return rc;
            break;
        case ']':
            if ((rc = push(vm, new_obj(vm, PK_LIST))))
                return rc;
            break;
        case '}':
            if ((rc = push(vm, new_obj(vm, PK_DICT))))
                return rc;
            break;
        case 0x8f:
            if ((rc = push(vm, new_obj(vm, PK_SET))))
                return rc;
            break;
        case 't':
        case 'l':
        case 'd':
        case 0x91: {
            if ((rc = pop_mark(vm, &items, &n)))
                return rc;
            pk_kind k = vm->op == 't' ? PK_TUPLE : vm->op == 'l' ? PK_LIST
                        : vm->op == 'd' ? PK_DICT : PK_FROZENSET;
            if (k == PK_DICT && n % 2)
                return VFAIL(vm, TROVE_E_CORRUPT, "odd number of items for a dict");
            if ((rc = push(vm, make_seq(vm, k, items, n))))
                return rc;
            break;
        }
        case 0x85:
        case 0x86:
        case 0x87: {
            size_t k = (size_t)(vm->op - 0x84);
            if (vm->sp < floor_(vm) + k)
                return VFAIL(vm, TROVE_E_CORRUPT, "stack underflow");
            vm->sp -= k;
            if ((rc = push(vm, make_seq(vm, PK_TUPLE, vm->stack + vm->sp, k))))
                return rc;
            break;
        }
        case 'a':
            if ((rc = pop(vm, &a)) || (rc = top(vm, &b)) || (rc = append_to(vm, b, &a, 1)))
                return rc;
            break;
        case 'e':
            if ((rc = pop_mark(vm, &items, &n)) || (rc = top(vm, &b)) ||
                (rc = append_to(vm, b, items, n)))
                return rc;
            break;
        case 's': {
            pk_obj *kv[2];
            if ((rc = pop(vm, &kv[1])) || (rc = pop(vm, &kv[0])) || (rc = top(vm, &b)) ||
                (rc = setitems_on(vm, b, kv, 2)))
                return rc;
            break;
        }
        case 'u':
            if ((rc = pop_mark(vm, &items, &n)) || (rc = top(vm, &b)) ||
                (rc = setitems_on(vm, b, items, n)))
                return rc;
            break;
        case 0x90:
            if ((rc = pop_mark(vm, &items, &n)) || (rc = top(vm, &b)))
                return rc;
            if (b->kind != PK_SET)
                return VFAIL(vm, TROVE_E_CORRUPT, "ADDITEMS on a %s", pk_kind_name(b->kind));
            for (size_t i = 0; i < n; i++)
                if ((rc = seq_push(vm, b, items[i])))
                    return rc;
            break;
        case 'c':
        case 'i': {
            const uint8_t *m, *nm;
            size_t mn, nn;
            if ((rc = readline(vm, &m, &mn)) || (rc = readline(vm, &nm, &nn)))
                return rc;
            while (mn && m[mn - 1] == '\r')
                mn--;
            while (nn && nm[nn - 1] == '\r')
                nn--;
            pk_obj *g = make_global(vm, m, mn, nm, nn);
            if (!g)
                return vm->err->code;
            if (vm->op == 'c') {
                if ((rc = push(vm, g)))
                    return rc;
            } else {
                if ((rc = pop_mark(vm, &items, &n)))
                    return rc;
                pk_obj *args = make_seq(vm, PK_TUPLE, items, n);
                if (!args || (rc = push(vm, make_object(vm, PK_INST, g, args, NULL))))
                    return args ? rc : vm->err->code;
            }
            break;
        }
        case 0x93: /* STACK_GLOBAL */ {
            const uint8_t *m, *nm;
            size_t mn, nn;
            if ((rc = pop(vm, &b)) || (rc = pop(vm, &a)))
                return rc;
            if (a->kind != PK_STR || b->kind != PK_STR)
                return VFAIL(vm, TROVE_E_CORRUPT, "STACK_GLOBAL needs two str, got %s and %s",
                             pk_kind_name(a->kind), pk_kind_name(b->kind));
            m = a->u.s.p, mn = a->u.s.n, nm = b->u.s.p, nn = b->u.s.n;
            if ((rc = push(vm, make_global(vm, m, mn, nm, nn))))
                return rc;
            break;
        }
        case 'o': {
            if ((rc = pop_mark(vm, &items, &n)))
                return rc;
            if (n == 0)
                return VFAIL(vm, TROVE_E_CORRUPT, "OBJ without a class");
            pk_obj *args = make_seq(vm, PK_TUPLE, items + 1, n - 1);
            if (!args || (rc = push(vm, make_object(vm, PK_OBJ, items[0], args, NULL))))
                return args ? rc : vm->err->code;
            break;
        }
        case 'R': {
            if ((rc = pop(vm, &b)) || (rc = pop(vm, &a)))
                return rc;
            if (b->kind != PK_TUPLE)
                return VFAIL(vm, TROVE_E_CORRUPT, "REDUCE arguments are a %s, not a tuple",
                             pk_kind_name(b->kind));
            bool failed;
            c = fold_reduce(vm, a, b, &failed);
            if (failed)
                return vm->err->code;
            if (!c)
                c = make_object(vm, PK_REDUCE, a, b, NULL);
            if ((rc = push(vm, c)))
                return rc;
            break;
        }
        case 0x81: /* NEWOBJ */
            if ((rc = pop(vm, &b)) || (rc = pop(vm, &a)))
                return rc;
            if (b->kind != PK_TUPLE)
                return VFAIL(vm, TROVE_E_CORRUPT, "NEWOBJ arguments are a %s, not a tuple",
                             pk_kind_name(b->kind));
            if ((rc = push(vm, make_object(vm, PK_NEWOBJ, a, b, NULL))))
                return rc;
            break;
        case 0x92: /* NEWOBJ_EX */
            if ((rc = pop(vm, &c)) || (rc = pop(vm, &b)) || (rc = pop(vm, &a)))
                return rc;
            if (b->kind != PK_TUPLE || c->kind != PK_DICT)
                return VFAIL(vm, TROVE_E_CORRUPT, "NEWOBJ_EX needs a tuple and a dict");
            if ((rc = push(vm, make_object(vm, PK_NEWOBJ_EX, a, b, c))))
                return rc;
            break;
        case 'b': /* BUILD */ {
            if ((rc = pop(vm, &b)) || (rc = top(vm, &a)) || (rc = set_state(vm, a, b)))
                return rc;
            if (vm->hook) {
                size_t at = vm->sp - 1;
                size_t op_off = vm->op_off;
                uint8_t op = vm->op;
                rc = vm->hook(vm->hook_ctx, vm, &vm->stack[at], vm->err);
                vm->op_off = op_off;
                vm->op = op;
                if (rc)
                    return rc;
            }
            break;
        }
        case 'g':
        case 'p': {
            if ((rc = readline(vm, &p, &n)))
                return rc;
            int64_t v;
            bool big;
            if ((rc = parse_decimal(vm, p, n, &v, &big)))
                return rc;
            if (big || v < 0)
                return VFAIL(vm, TROVE_E_CORRUPT, "memo key out of range");
            if ((rc = vm->op == 'g' ? memo_get(vm, (uint64_t)v) : memo_put(vm, (uint64_t)v)))
                return rc;
            break;
        }
        case 'h':
        case 'q':
            if ((rc = need(vm, 1, "memo key")))
                return rc;
            n = vm->buf[vm->pos++];
            if ((rc = vm->op == 'h' ? memo_get(vm, n) : memo_put(vm, n)))
                return rc;
            break;
        case 'j':
        case 'r':
            if ((rc = need(vm, 4, "memo key")))
                return rc;
            n = trove__load_le32(vm->buf + vm->pos);
            vm->pos += 4;
            if ((rc = vm->op == 'j' ? memo_get(vm, n) : memo_put(vm, n)))
                return rc;
            break;
        case 0x94: /* MEMOIZE */
            if ((rc = memo_put(vm, vm->memo_count)))
                return rc;
            break;
        case 0x80: /* PROTO */
            if ((rc = need(vm, 1, "PROTO argument")))
                return rc;
            if (vm->buf[vm->pos] > 5)
                return VFAIL(vm, TROVE_E_UNSUPPORTED, "pickle protocol %u (this reader knows 0 "
                             "to 5)", vm->buf[vm->pos]);
            vm->pos++;
            break;
        case 0x95: { /* FRAME: a length prefix for buffering; the opcodes follow inline */
            if ((rc = need(vm, 8, "FRAME length")))
                return rc;
            uint64_t fl = trove__load_le64(vm->buf + vm->pos);
            vm->pos += 8;
            if (fl > vm->len - vm->pos)
                return VFAIL(vm, TROVE_E_CORRUPT, "frame of %llu bytes runs past the end of the "
                             "data", (unsigned long long)fl);
            break;
        }
        default:
            return VFAIL(vm, TROVE_E_CORRUPT, "unknown opcode");
        }
    }
}

static int load_impl(pk_arena *a, const uint8_t *buf, size_t len, size_t start,
                     const pk_limits *lim, pk_build_hook hook, void *hook_ctx, int nesting,
                     uint64_t *nobjects, pk_obj **out, size_t *end, trove_error *err)
{
    pk_vm vm;
    memset(&vm, 0, sizeof vm);
    vm.a = a;
    vm.alloc = a->alloc;
    vm.buf = buf;
    vm.len = len;
    vm.pos = start;
    vm.lim.max_stack = lim && lim->max_stack ? lim->max_stack : 1u << 22;
    vm.lim.max_marks = lim && lim->max_marks ? lim->max_marks : 1u << 16;
    vm.lim.max_memo = lim && lim->max_memo ? lim->max_memo : 1u << 22;
    vm.lim.max_objects = lim && lim->max_objects ? lim->max_objects : UINT64_C(1) << 26;
    vm.lim.flags = lim ? lim->flags : 0;
    vm.nobjects = nobjects;
    vm.hook = hook;
    vm.hook_ctx = hook_ctx;
    vm.nesting = nesting;
    trove_error local;
    vm.err = err ? err : &local;
    if (start > len)
        return trove__fail(err, TROVE_E_INVALID, start, "pickle: start beyond the data");
    int rc = run(&vm, out);
    if (rc == TROVE_OK && end)
        *end = vm.pos;
    trove__free(vm.alloc, vm.stack);
    trove__free(vm.alloc, vm.marks);
    trove__free(vm.alloc, vm.memo);
    return rc;
}

int pk_load(pk_arena *a, const uint8_t *buf, size_t len, size_t start, const pk_limits *lim,
            pk_build_hook hook, void *hook_ctx, pk_obj **out, size_t *end, trove_error *err)
{
    uint64_t nobjects = 0;
    return load_impl(a, buf, len, start, lim, hook, hook_ctx, 0, &nobjects, out, end, err);
}

size_t pk_vm_pos(const pk_vm *vm)
{
    return vm->pos;
}

pk_arena *pk_vm_arena(pk_vm *vm)
{
    return vm->a;
}

int pk_vm_read(pk_vm *vm, size_t n, const uint8_t **p, trove_error *err, const char *what)
{
    if (n > vm->len - vm->pos)
        return trove__fail(err, TROVE_E_CORRUPT, vm->pos,
                           "pickle: %s of %zu bytes at offset %zu runs past the end of the data "
                           "(%zu bytes left)", what, n, vm->pos, vm->len - vm->pos);
    *p = vm->buf + vm->pos;
    vm->pos += n;
    return TROVE_OK;
}

int pk_vm_load_nested(pk_vm *vm, pk_obj **out, trove_error *err)
{
    if (vm->nesting >= 8)
        return trove__fail(err, TROVE_E_LIMIT, vm->pos,
                           "pickle: pickles nested more than 8 deep at offset %zu", vm->pos);
    size_t end = 0;
    int rc = load_impl(vm->a, vm->buf, vm->len, vm->pos, &vm->lim, vm->hook, vm->hook_ctx,
                       vm->nesting + 1, vm->nobjects, out, &end, err);
    if (rc == TROVE_OK)
        vm->pos = end;
    return rc;
}
