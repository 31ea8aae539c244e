/* test_pickle.c: the inert pickle VM opcode by opcode, numpy views, joblib containers, hostile
 * pickles (refused cleanly, never a crash or a leak) and OOM torture. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "codecs/codecs_internal.h"
#include "testlib.h"

/* ---- a byte builder for hand-written pickles ------------------------------------------ */
typedef struct buf {
    unsigned char d[8192];
    size_t n;
} buf;

static void put(buf *b, const void *p, size_t n)
{
    memcpy(b->d + b->n, p, n);
    b->n += n;
}
/* string literals only: embedded NULs count */
#define puts_(b, s) put((b), (s), sizeof(s) - 1)
static void op(buf *b, unsigned char c)
{
    b->d[b->n++] = c;
}
static void u32(buf *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        op(b, (unsigned char)(v >> (8 * i)));
}
/* SHORT_BINUNICODE */
static void sbu(buf *b, const char *s)
{
    op(b, 0x8c);
    op(b, (unsigned char)strlen(s));
    put(b, s, strlen(s));
}
/* protocol-2 GLOBAL */
static void glob(buf *b, const char *m, const char *n)
{
    op(b, 'c');
    put(b, m, strlen(m));
    op(b, '\n');
    put(b, n, strlen(n));
    op(b, '\n');
}

static pk_obj *load(pk_arena *a, const buf *b, trove_error *err, int *rc)
{
    pk_obj *o = NULL;
    size_t end;
    *rc = pk_load(a, b->d, b->n, 0, NULL, trove__joblib_hook, NULL, &o, &end, err);
    return *rc ? NULL : o;
}

static int load_rc(const void *p, size_t n, const pk_limits *lim, trove_error *err)
{
    pk_arena *a = pk_arena_new(NULL, 0);
    pk_obj *o;
    size_t end;
    int rc = pk_load(a, p, n, 0, lim, NULL, NULL, &o, &end, err);
    pk_arena_free(a);
    return rc;
}

/* ---- opcodes ---------------------------------------------------------------------------- */
static void test_pickle__protocol0_text_opcodes(void)
{
    /* a Python 2 protocol-0 list: ints, bool, float, py2 str with escapes, unicode, memo */
    static const char p[] = "(lp0\nI1\naI00\naF1.5\naS'ab\\x00c\\n'\np1\naVh\\u00e9\np2\na"
                            "g1\naL-123L\naI12345678901\na.";
    trove_error err;
    pk_arena *a = pk_arena_new(NULL, 0);
    pk_obj *o;
    size_t end;
    CHECK_OK(pk_load(a, (const uint8_t *)p, sizeof p - 1, 0, NULL, NULL, NULL, &o, &end, &err));
    CHECK(end == sizeof p - 1);
    CHECK(o->kind == PK_LIST && pk_len(o) == 8);
    int64_t v;
    double d;
    CHECK(pk_as_int(pk_item(o, 0), &v) && v == 1 && pk_item(o, 0)->kind == PK_INT);
    CHECK(pk_item(o, 1)->kind == PK_BOOL && pk_item(o, 1)->u.i == 0);
    CHECK(pk_as_float(pk_item(o, 2), &d) && d == 1.5);
    const pk_obj *s = pk_item(o, 3);
    CHECK(s->kind == PK_BYTES && s->py2str == 1 && s->u.s.n == 5 && !memcmp(s->u.s.p, "ab\0c\n", 5));
    CHECK(pk_text_eq(pk_item(o, 4), "h\xc3\xa9"));   /* U+00E9 as UTF-8 */
    CHECK(pk_item(o, 5) == s);                       /* memo: the same object */
    CHECK(pk_as_int(pk_item(o, 6), &v) && v == -123);
    CHECK(pk_as_int(pk_item(o, 7), &v) && v == INT64_C(12345678901));
    pk_arena_free(a);
}

static void test_pickle__protocol2_binary_opcodes(void)
{
    buf b = {.n = 0};
    puts_(&b, "\x80\x02]q\x00(");
    puts_(&b, "K\x07");                     /* BININT1 7 */
    puts_(&b, "M\x00\x01");                 /* BININT2 256 */
    op(&b, 'J'); u32(&b, 0xffffffffu);      /* BININT -1 */
    puts_(&b, "\x8a\x02\x00\x80");          /* LONG1 -32768 (two's complement) */
    puts_(&b, "\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01"); /* LONG1 2^64: beyond 64 bits */
    puts_(&b, "\x88\x89N");                 /* True False None */
    put(&b, "G\xbf\xf8\x00\x00\x00\x00\x00\x00", 9); /* BINFLOAT -1.5 */
    op(&b, 'T'); u32(&b, 3); puts_(&b, "xyz");    /* BINSTRING (py2 str) */
    puts_(&b, "C\x02hi");                   /* SHORT_BINBYTES */
    op(&b, 'X'); u32(&b, 2); puts_(&b, "ok");     /* BINUNICODE */
    puts_(&b, "K\x01K\x02\x86");            /* TUPLE2 (1, 2) */
    puts_(&b, "h\x00");                     /* BINGET 0: the list itself (a cycle) */
    puts_(&b, "e.");
    trove_error err;
    int rc;
    pk_arena *a = pk_arena_new(NULL, 0);
    pk_obj *o = load(a, &b, &err, &rc);
    CHECK_OK(rc);
    CHECK(o->kind == PK_LIST && pk_len(o) == 14);
    int64_t v;
    double d;
    CHECK(pk_as_int(pk_item(o, 0), &v) && v == 7);
    CHECK(pk_as_int(pk_item(o, 1), &v) && v == 256);
    CHECK(pk_as_int(pk_item(o, 2), &v) && v == -1);
    CHECK(pk_as_int(pk_item(o, 3), &v) && v == -32768);
    CHECK(pk_item(o, 4)->kind == PK_INT && !pk_as_int(pk_item(o, 4), &v)); /* big: not a number */
    CHECK(pk_item(o, 5)->kind == PK_BOOL && pk_item(o, 5)->u.i == 1);
    CHECK(pk_item(o, 7)->kind == PK_NONE);
    CHECK(pk_as_float(pk_item(o, 8), &d) && d == -1.5);
    CHECK(pk_text_eq(pk_item(o, 9), "xyz") && pk_item(o, 9)->py2str == 1);
    CHECK(pk_item(o, 10)->kind == PK_BYTES && !pk_text_eq(pk_item(o, 10), "hi"));
    CHECK(pk_text_eq(pk_item(o, 11), "ok"));
    CHECK(pk_item(o, 12)->kind == PK_TUPLE && pk_len(pk_item(o, 12)) == 2);
    CHECK(pk_item(o, 13) == o);
    pk_arena_free(a);
}

static void test_pickle__objects_are_symbolic(void)
{
    /* protocol 4: FRAME, STACK_GLOBAL, MEMOIZE, NEWOBJ + BUILD, REDUCE, NEWOBJ_EX, sets, dicts */
    buf b = {.n = 0};
    puts_(&b, "\x80\x04");
    op(&b, 0x95);
    put(&b, "\x00\x00\x00\x00\x00\x00\x00\x00", 8); /* FRAME 0: harmless */
    sbu(&b, "sklearn.linear_model._base"); op(&b, 0x94);
    sbu(&b, "LinearRegression"); op(&b, 0x94);
    op(&b, 0x93); op(&b, 0x94);                  /* STACK_GLOBAL */
    puts_(&b, ")\x81");                           /* NEWOBJ with () */
    op(&b, 0x94);
    puts_(&b, "}(");                              /* state dict */
    sbu(&b, "coef_"); sbu(&b, "x");
    sbu(&b, "n_features_in_"); puts_(&b, "K\x03");
    sbu(&b, "fit_intercept"); op(&b, 0x88);
    sbu(&b, "s"); op(&b, 0x8f); puts_(&b, "(K\x01K\x02"); op(&b, 0x90); /* EMPTY_SET ADDITEMS */
    sbu(&b, "fs"); puts_(&b, "(K\x05"); op(&b, 0x91);                  /* FROZENSET */
    sbu(&b, "r");
    glob(&b, "os", "system"); sbu(&b, "echo never"); puts_(&b, "\x85R");  /* REDUCE: symbolic */
    sbu(&b, "kw");
    glob(&b, "collections", "OrderedDict"); puts_(&b, ")}");
    op(&b, 0x92);                                                      /* NEWOBJ_EX */
    puts_(&b, "(K\x09K\x0a");
    puts_(&b, "u");                               /* SETITEMS onto the OrderedDict object */
    puts_(&b, "ub.");
    trove_error err;
    int rc;
    pk_arena *a = pk_arena_new(NULL, 0);
    pk_obj *o = load(a, &b, &err, &rc);
    CHECK_OK(rc);
    CHECK(o->kind == PK_OBJECT && o->how == PK_NEWOBJ);
    CHECK(pk_is_global(pk_class_of(o), "sklearn.linear_model._base", "LinearRegression"));
    CHECK(pk_text_eq(pk_attr(o, "coef_"), "x"));
    int64_t v;
    CHECK(pk_as_int(pk_attr(o, "n_features_in_"), &v) && v == 3);
    CHECK(pk_attr(o, "s")->kind == PK_SET && pk_len(pk_attr(o, "s")) == 2);
    CHECK(pk_attr(o, "fs")->kind == PK_FROZENSET && pk_len(pk_attr(o, "fs")) == 1);
    const pk_obj *r = pk_attr(o, "r");
    CHECK(r->kind == PK_OBJECT && r->how == PK_REDUCE && pk_is_global(pk_class_of(r), "os",
                                                                       "system"));
    const pk_obj *kw = pk_attr(o, "kw");
    CHECK(kw->how == PK_NEWOBJ_EX && kw->u.o.kwargs && kw->u.o.kwargs->kind == PK_DICT);
    CHECK(kw->u.o.dict && pk_len(kw->u.o.dict) == 1);
    CHECK(pk_attr(o, "missing") == NULL);
    pk_arena_free(a);
}

static void test_pickle__inst_obj_reconstructor_and_folds(void)
{
    /* protocol 0/1: INST, OBJ, copy_reg._reconstructor, _codecs.encode(str, 'latin1'),
     * builtins.set([..]), bytearray */
    buf b = {.n = 0};
    puts_(&b, "(");
    puts_(&b, "(K\x01imod\nKlass\n");                          /* INST mod.Klass(1) */
    puts_(&b, "(cmod\nOther\nK\x02o");                          /* OBJ mod.Other(2) */
    glob(&b, "copy_reg", "_reconstructor");
    puts_(&b, "(cmod\nNew\nc__builtin__\nobject\nNtR");         /* REDUCE */
    glob(&b, "_codecs", "encode");
    op(&b, 'X'); u32(&b, 4); put(&b, "\xc3\xbf\x00" "A", 4);       /* "\u00ff\x00A" */
    sbu(&b, "latin1"); puts_(&b, "\x86R");
    glob(&b, "builtins", "set"); puts_(&b, "](K\x01K\x02K\x03" "e\x85R");
    glob(&b, "builtins", "bytearray"); puts_(&b, "C\x02" "ab\x85R");
    puts_(&b, "l.");
    trove_error err;
    int rc;
    pk_arena *a = pk_arena_new(NULL, 0);
    pk_obj *o = load(a, &b, &err, &rc);
    CHECK_OK(rc);
    if (pk_len(o) != 6)
        fprintf(stderr, "  %zu items, kind %s\n", pk_len(o), pk_kind_name(o->kind));
    CHECK(pk_len(o) == 6);
    CHECK(pk_item(o, 0)->how == PK_INST && pk_is_global(pk_class_of(pk_item(o, 0)), "mod",
                                                          "Klass"));
    CHECK(pk_item(o, 1)->how == PK_OBJ && pk_is_global(pk_class_of(pk_item(o, 1)), "mod",
                                                         "Other"));
    CHECK(pk_is_global(pk_class_of(pk_item(o, 2)), "mod", "New"));
    const pk_obj *by = pk_item(o, 3);
    CHECK(by->kind == PK_BYTES && by->u.s.n == 3 && !memcmp(by->u.s.p, "\xff\x00" "A", 3));
    CHECK(pk_item(o, 4)->kind == PK_SET && pk_len(pk_item(o, 4)) == 3);
    CHECK(pk_item(o, 5)->kind == PK_BYTEARRAY && pk_item(o, 5)->u.s.n == 2);
    pk_arena_free(a);
}

/* ---- numpy ------------------------------------------------------------------------------- */
static void dtype_obj(buf *b, const char *descr, const char *order)
{
    glob(b, "numpy", "dtype");
    sbu(b, descr);
    puts_(b, "\x89\x88\x87R");          /* (descr, False, True) REDUCE */
    puts_(b, "(K\x03");
    sbu(b, order);
    puts_(b, "NNN");
    op(b, 'J'); u32(b, 0xffffffffu);
    op(b, 'J'); u32(b, 0xffffffffu);
    puts_(b, "K\x00tb");                /* BUILD */
}

static void array_obj(buf *b, const char *module, const char *descr, const char *order,
                      int rows, int cols, int fortran, const void *data, size_t n)
{
    glob(b, module, "_reconstruct");
    glob(b, "numpy", "ndarray");
    puts_(b, "K\x00\x85");
    puts_(b, "C\x01" "b\x87R");        /* (ndarray, (0,), b'b') REDUCE */
    puts_(b, "(K\x01");
    puts_(b, "(");
    op(b, 'K'); op(b, (unsigned char)rows);
    if (cols) {
        op(b, 'K');
        op(b, (unsigned char)cols);
    }
    puts_(b, "t");
    dtype_obj(b, descr, order);
    op(b, fortran ? 0x88 : 0x89);
    op(b, 'B'); u32(b, (uint32_t)n); put(b, data, n);
    puts_(b, "tb");
}

static void test_pickle__numpy_arrays_and_byte_order(void)
{
    /* float64 big-endian (numpy 1 module path) and a Fortran-order 2x3 int32 (numpy 2 path) */
    unsigned char be[16] = {0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0};
    int32_t fo[6] = {1, 4, 2, 5, 3, 6}; /* columns of [[1,2,3],[4,5,6]] */
    buf b = {.n = 0};
    puts_(&b, "\x80\x02(");
    array_obj(&b, "numpy.core.multiarray", "f8", ">", 2, 0, 0, be, sizeof be);
    array_obj(&b, "numpy._core.multiarray", "i4", "<", 2, 3, 1, fo, sizeof fo);
    /* numpy scalar: numpy.core.multiarray.scalar(dtype('f8'), bytes) */
    glob(&b, "numpy.core.multiarray", "scalar");
    dtype_obj(&b, "f8", "<");
    double two = 2.25;
    op(&b, 'C'); op(&b, 8); put(&b, &two, 8);
    puts_(&b, "\x86R");
    puts_(&b, "l.");
    trove_error err;
    int rc;
    pk_arena *a = pk_arena_new(NULL, 0);
    pk_obj *o = load(a, &b, &err, &rc);
    CHECK_OK(rc);
    pk_array x;
    CHECK_OK(pk_array_of(a, pk_item(o, 0), &x, &err));
    CHECK(x.dt.kind == 'f' && x.dt.big && x.rank == 1 && x.count == 2);
    CHECK(pk_array_f64(&x, 0) == 1.5 && pk_array_f64(&x, 1) == -2.0);
    CHECK_OK(pk_array_of(a, pk_item(o, 1), &x, &err));
    CHECK(x.rank == 2 && x.shape[0] == 2 && x.shape[1] == 3);
    for (int i = 0; i < 6; i++)
        CHECK(pk_array_i64(&x, (uint64_t)i) == i + 1); /* C order after the transposition */
    double d;
    CHECK(pk_scalar_f64(pk_item(o, 2), &d) && d == 2.25);
    CHECK(pk_as_float(pk_item(o, 2), &d) && d == 2.25);
    pk_arena_free(a);
}

static void test_pickle__numpy_bad_arrays_refused(void)
{
    double v[3] = {1, 2, 3};
    buf b = {.n = 0};
    puts_(&b, "\x80\x02(");
    array_obj(&b, "numpy.core.multiarray", "f8", "<", 4, 0, 0, v, sizeof v); /* 3 for 4 */
    array_obj(&b, "numpy.core.multiarray", "c16", "<", 1, 0, 0, v, 16);      /* complex */
    glob(&b, "os", "getcwd"); puts_(&b, ")R");                               /* not an array */
    puts_(&b, "l.");
    trove_error err;
    int rc;
    pk_arena *a = pk_arena_new(NULL, 0);
    pk_obj *o = load(a, &b, &err, &rc);
    CHECK_OK(rc);
    pk_array x;
    CHECK_RC(pk_array_of(a, pk_item(o, 0), &x, &err), TROVE_E_CORRUPT);
    CHECK(strstr(err.message, "24 bytes") != NULL);
    CHECK_RC(pk_array_of(a, pk_item(o, 1), &x, &err), TROVE_E_UNSUPPORTED);
    CHECK_RC(pk_array_of(a, pk_item(o, 2), &x, &err), TROVE_E_TYPE);
    CHECK(strstr(err.message, "os.getcwd") != NULL);
    pk_arena_free(a);
}

static void test_pickle__joblib_inline_array_with_padding(void)
{
    /* NumpyArrayWrapper BUILD, then the padding byte + pad, then 2 doubles */
    buf b = {.n = 0};
    puts_(&b, "\x80\x04");
    glob(&b, "joblib.numpy_pickle", "NumpyArrayWrapper");
    puts_(&b, ")\x81}(");
    sbu(&b, "subclass"); glob(&b, "numpy", "ndarray");
    sbu(&b, "shape"); puts_(&b, "K\x02\x85");
    sbu(&b, "order"); sbu(&b, "C");
    sbu(&b, "dtype"); dtype_obj(&b, "f8", "<");
    sbu(&b, "allow_mmap"); op(&b, 0x88);
    sbu(&b, "numpy_array_alignment_bytes"); puts_(&b, "K\x10");
    puts_(&b, "ub");
    op(&b, 3); put(&b, "\xff\xff\xff", 3);
    double v[2] = {3.5, -7.0};
    put(&b, v, sizeof v);
    puts_(&b, ".");
    trove_error err;
    int rc;
    pk_arena *a = pk_arena_new(NULL, 0);
    pk_obj *o = load(a, &b, &err, &rc);
    CHECK_OK(rc);
    CHECK(o->kind == PK_RAWARRAY);
    pk_array x;
    CHECK_OK(pk_array_of(a, o, &x, &err));
    CHECK(x.count == 2 && pk_array_f64(&x, 0) == 3.5 && pk_array_f64(&x, 1) == -7.0);
    /* the same stream cut inside the array data: refused, naming the array data */
    buf c = b;
    c.n -= 9;
    pk_arena *a2 = pk_arena_new(NULL, 0);
    CHECK(load(a2, &c, &err, &rc) == NULL && rc == TROVE_E_CORRUPT);
    CHECK(strstr(err.message, "array data") != NULL);
    pk_arena_free(a2);
    pk_arena_free(a);
}

static void test_pickle__joblib_containers(void)
{
    static const char p[] = "\x80\x02K\x2a.";
    unsigned char z[256];
    uLongf zn = sizeof z;
    trove_error err;
    CHECK(compress(z, &zn, (const Bytef *)p, sizeof p - 1) == Z_OK);
    /* zlib */
    uint8_t *owned;
    const uint8_t *data;
    size_t dlen;
    const char *fmt;
    CHECK_OK(trove__joblib_unwrap(NULL, z, zn, 1 << 20, &owned, &data, &dlen, &fmt, &err));
    CHECK(dlen == sizeof p - 1 && !memcmp(data, p, dlen) && strstr(fmt, "zlib"));
    free(owned);
    /* ZF: 'ZF' + '0x4' padded to 19 + zlib */
    unsigned char zf[300];
    memcpy(zf, "ZF0x5                ", 21);
    memcpy(zf + 21, z, zn);
    CHECK_OK(trove__joblib_unwrap(NULL, zf, 21 + zn, 1 << 20, &owned, &data, &dlen, &fmt, &err));
    CHECK(dlen == 5 && !memcmp(data, p, 5) && strstr(fmt, "zfile"));
    free(owned);
    /* ZF with a wrong announced length: refused */
    memcpy(zf, "ZF0x9", 5);
    CHECK_RC(trove__joblib_unwrap(NULL, zf, 21 + zn, 1 << 20, &owned, &data, &dlen, &fmt, &err),
             TROVE_E_CORRUPT);
    /* a zlib bomb beyond the budget: refused with LIMIT */
    static unsigned char zeros[1 << 16];
    unsigned char big[1024];
    uLongf bn = sizeof big;
    CHECK(compress(big, &bn, zeros, sizeof zeros) == Z_OK);
    CHECK_RC(trove__joblib_unwrap(NULL, big, bn, 4096, &owned, &data, &dlen, &fmt, &err),
             TROVE_E_LIMIT);
    /* truncated zlib: refused */
    CHECK_RC(trove__joblib_unwrap(NULL, big, bn / 2, 1 << 20, &owned, &data, &dlen, &fmt, &err),
             TROVE_E_CORRUPT);
    /* bz2: refused by name */
    CHECK_RC(trove__joblib_unwrap(NULL, (const uint8_t *)"BZh91AY", 7, 1 << 20, &owned, &data,
                                  &dlen, &fmt, &err), TROVE_E_UNSUPPORTED);
    CHECK(strstr(err.message, "bz2") != NULL);
}

/* ---- hostile pickles ------------------------------------------------------------------- */
static void test_pickle__refusals_name_opcode_and_offset(void)
{
    trove_error err;
    static const struct { const char *p; size_t n; int code; const char *needle; } cases[] = {
        {"\x80\x02X\x01\x00\x00\x00" "aQ.", 10, TROVE_E_UNSUPPORTED, "BINPERSID"},
        {"Pid\n.", 5, TROVE_E_UNSUPPORTED, "PERSID"},
        {"\x80\x02\x82\x01.", 5, TROVE_E_UNSUPPORTED, "EXT1"},
        {"\x80\x02\x83\x01\x00.", 6, TROVE_E_UNSUPPORTED, "EXT2"},
        {"\x80\x05\x97.", 4, TROVE_E_UNSUPPORTED, "NEXT_BUFFER"},
        {"\x80\x05\x98.", 4, TROVE_E_UNSUPPORTED, "READONLY_BUFFER"},
        {"\x80\x06N.", 4, TROVE_E_UNSUPPORTED, "protocol 6"},
        {"\x80\x02" "0.", 4, TROVE_E_CORRUPT, "POP"},
        {"\x80\x02h\x05.", 5, TROVE_E_CORRUPT, "memo key 5"},
        {"\x80\x02X\xff\xff\xff\x7f" "ab.", 11, TROVE_E_CORRUPT, "past the end"},
        {"\x80\x02N", 3, TROVE_E_CORRUPT, "before a STOP"},
        {"\x80\x02\xff.", 4, TROVE_E_CORRUPT, "unknown opcode"},
        {"\x80\x02NN\x81.", 6, TROVE_E_CORRUPT, "NEWOBJ"},
        {"\x80\x02NNb.", 6, TROVE_E_CORRUPT, "BUILD on a None"},
        {"\x80\x02(NNNd.", 7, TROVE_E_CORRUPT, "odd number"},
        {"\x80\x02Ne.", 5, TROVE_E_CORRUPT, "MARK"},
        {"\x80\x02K\x01" "a.", 6, TROVE_E_CORRUPT, "underflow"},
        {"S'abc\n.", 7, TROVE_E_CORRUPT, "quoted"},
        {"I12x\n.", 6, TROVE_E_CORRUPT, "non-digit"},
        {"\x80\x02" "c\x00x\nname\n.", 11, TROVE_E_CORRUPT, "NUL"},
        {"\x80\x04K\x01K\x02\x93.", 8, TROVE_E_CORRUPT, "STACK_GLOBAL"},
        {"\x80\x04\x95\xff\x00\x00\x00\x00\x00\x00\x00N.", 13, TROVE_E_CORRUPT, "frame"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(&err, 0, sizeof err);
        int rc = load_rc(cases[i].p, cases[i].n, NULL, &err);
        if (rc != cases[i].code || !strstr(err.message, cases[i].needle)) {
            fprintf(stderr, "  case %zu: rc %d, message: %s\n", i, rc, err.message);
            CHECK(0);
        }
        CHECK(strstr(err.message, "offset") != NULL || strstr(err.message, "STOP") != NULL);
    }
    /* the offset is the opcode's: BINPERSID at 8 */
    load_rc(cases[0].p, cases[0].n, NULL, &err);
    CHECK(err.offset == 8 && strstr(err.message, "offset 8") != NULL);
}

static void test_pickle__limits(void)
{
    trove_error err;
    pk_limits lim = {.max_stack = 16, .max_marks = 4, .max_memo = 8, .max_objects = 50};
    char p[200];
    memset(p, 'N', 40);
    memcpy(p + 40, ".", 1);
    CHECK_RC(load_rc(p, 41, &lim, &err), TROVE_E_LIMIT);               /* stack */
    CHECK(strstr(err.message, "stack") != NULL);
    memset(p, '(', 10);
    memcpy(p + 10, "N.", 2);
    CHECK_RC(load_rc(p, 12, &lim, &err), TROVE_E_LIMIT);               /* marks */
    CHECK_RC(load_rc("\x80\x02Nr\x00\x00\x00\x10.", 9, &lim, &err), TROVE_E_LIMIT); /* memo */
    CHECK(strstr(err.message, "memo") != NULL);
    CHECK_RC(load_rc("\x80\x02Nr\xff\xff\xff\xff.", 9, NULL, &err), TROVE_E_LIMIT);
    /* objects: a list of 100 Nones */
    size_t n = 0;
    memcpy(p, "](", 2);
    n = 2;
    for (int i = 0; i < 100; i++)
        p[n++] = 'N';
    p[n++] = 'e';
    p[n++] = '.';
    pk_limits lim2 = {.max_objects = 50};
    CHECK_RC(load_rc(p, n, &lim2, &err), TROVE_E_LIMIT);
    CHECK(strstr(err.message, "objects") != NULL);
    /* memory budget of the arena */
    pk_arena *a = pk_arena_new(NULL, 1000);
    pk_obj *o;
    size_t end;
    CHECK_RC(pk_load(a, (const uint8_t *)p, n, 0, NULL, NULL, NULL, &o, &end, &err),
             TROVE_E_LIMIT);
    CHECK(strstr(err.message, "budget") != NULL);
    pk_arena_free(a);
}

static void test_pickle__every_truncation_refused(void)
{
    /* a realistic stream: the numpy test's, cut at every length */
    unsigned char be[16] = {0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0};
    buf b = {.n = 0};
    puts_(&b, "\x80\x02(");
    array_obj(&b, "numpy.core.multiarray", "f8", ">", 2, 0, 0, be, sizeof be);
    puts_(&b, "l.");
    trove_error err;
    for (size_t n = 0; n < b.n; n++) {
        int rc = load_rc(b.d, n, NULL, &err);
        CHECK(rc == TROVE_E_CORRUPT);
    }
    CHECK_OK(load_rc(b.d, b.n, NULL, &err));
}

static void test_pickle__oom_torture_no_leak(void)
{
    unsigned char be[16] = {0};
    buf b = {.n = 0};
    puts_(&b, "\x80\x02(");
    for (int i = 0; i < 5; i++)
        array_obj(&b, "numpy.core.multiarray", "f8", "<", 2, 0, 0, be, sizeof be);
    puts_(&b, "l.");
    trove_error err;
    int ok_seen = 0;
    for (long n = 1; n < 200 && !ok_seen; n++) {
        test_alloc ta;
        test_alloc_init(&ta, n);
        pk_arena *a = pk_arena_new(&ta.a, 0);
        if (a) {
            pk_obj *o;
            size_t end;
            int rc = pk_load(a, b.d, b.n, 0, NULL, NULL, NULL, &o, &end, &err);
            CHECK(rc == TROVE_OK || rc == TROVE_E_NOMEM);
            ok_seen = rc == TROVE_OK;
            pk_arena_free(a);
        }
        CHECK(ta.live == 0);
    }
    CHECK(ok_seen);
}

/* A hand-written sklearn LinearRegression pickle (protocol 2, as sklearn 0.20 wrote it):
 * coef_ = [1, 2] (big-endian, to exercise swapping), intercept_ = 0.5. */
static void linreg_pickle(buf *b)
{
    unsigned char be[16] = {0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0};
    b->n = 0;
    puts_(b, "\x80\x02");
    glob(b, "sklearn.linear_model.base", "LinearRegression");
    puts_(b, ")\x81}(");
    sbu(b, "fit_intercept"); op(b, 0x88);
    sbu(b, "n_jobs"); op(b, 'N');
    sbu(b, "coef_");
    array_obj(b, "numpy.core.multiarray", "f8", ">", 2, 0, 0, be, sizeof be);
    sbu(b, "intercept_");
    put(b, "G\x3f\xe0\x00\x00\x00\x00\x00\x00", 9);
    sbu(b, "_sklearn_version"); sbu(b, "0.20.2");
    puts_(b, "ub.");
}

static void test_pickle__convert_end_to_end(void)
{
    buf b;
    linreg_pickle(&b);
    const char *in = test_path("linreg.pkl"), *out = test_path("linreg.trove");
    CHECK(test_write_file(in, b.d, b.n) == 0);
    trove_error err;
    trove_convert_report rep;
    CHECK_OK(trove_convert(in, out, NULL, &rep, &err));
    CHECK(rep.n_written == 1 && !strcmp(rep.estimator, "sklearn.linear_model.LinearRegression"));
    CHECK(!strcmp(rep.format, "pickle"));
    trove_file *f;
    trove_model *m;
    CHECK_OK(trove_open(&f, out, NULL, &err));
    const trove_value *meta = trove_file_metadata(f);
    const char *s;
    CHECK(trove_value_get_string(trove_value_path(meta, "producer.version"), &s, NULL) == 0 &&
          !strcmp(s, "0.20.2"));
    CHECK(trove_value_get_string(trove_value_path(meta, "lineage.source.sha256"), &s, NULL) == 0 &&
          strlen(s) == 64);
    CHECK_OK(trove_model_open(&m, f, NULL, &err));
    double x[4] = {1, 1, -2, 0.25}, y[2];
    CHECK_OK(trove_model_predict(m, TROVE_FLOAT64, x, 2, 2, y, 2, &err));
    CHECK(y[0] == 3.5 && y[1] == -1.0);
    trove_model_free(m);
    trove_close(f);
    /* the same object under a protocol-0 copy is refused when cut short, and no file appears */
    CHECK(test_write_file(in, b.d, b.n - 3) == 0);
    remove(out);
    CHECK_RC(trove_convert(in, out, NULL, NULL, &err), TROVE_E_CORRUPT);
    FILE *fp = fopen(out, "rb");
    CHECK(fp == NULL);
}

static void test_pickle__convert_oom_torture_no_leak(void)
{
    buf b;
    linreg_pickle(&b);
    trove_error err;
    int ok_seen = 0;
    for (long n = 1; n < 400 && !ok_seen; n++) {
        test_alloc ta;
        test_alloc_init(&ta, n);
        trove__conversion c;
        int rc = trove__convert_buffer(&ta.a, b.d, b.n, "x.pkl", 0, &c, &err);
        CHECK(rc == TROVE_OK || rc == TROVE_E_NOMEM);
        if (rc == TROVE_OK) {
            ok_seen = 1;
            CHECK(c.n_models == 1 && c.models[0].n_tensors == 2);
            trove__conversion_free(&c);
        }
        CHECK(ta.live == 0);
    }
    CHECK(ok_seen);
}

/* sklearn <= 0.13 LinearSVC: no coef_, raw_coef_ = [coef | intercept / intercept_scaling] */
static void test_pickle__old_liblinear_raw_coef(void)
{
    double raw[3] = {1.0, 2.0, 3.0};
    int64_t cls[2] = {0, 1};
    buf b = {.n = 0};
    puts_(&b, "\x80\x02");
    glob(&b, "sklearn.svm.classes", "LinearSVC");
    puts_(&b, ")\x81}(");
    sbu(&b, "fit_intercept"); op(&b, 0x88);
    sbu(&b, "intercept_scaling"); puts_(&b, "K\x02");
    sbu(&b, "raw_coef_");
    array_obj(&b, "numpy.core.multiarray", "f8", "<", 1, 3, 0, raw, sizeof raw);
    sbu(&b, "classes_");
    array_obj(&b, "numpy.core.multiarray", "i8", "<", 2, 0, 0, cls, sizeof cls);
    puts_(&b, "ub.");
    trove_error err;
    trove__conversion c;
    CHECK_OK(trove__convert_buffer(NULL, b.d, b.n, "old.pkl", 0, &c, &err));
    CHECK(c.n_models == 1 && c.models[0].n_tensors == 2);
    const trove__tensor_out *coef = &c.models[0].tensors[0], *icpt = &c.models[0].tensors[1];
    CHECK(!strcmp(coef->name, "coef") && coef->shape[0] == 1 && coef->shape[1] == 2);
    CHECK(((const double *)coef->data)[0] == 1.0 && ((const double *)coef->data)[1] == 2.0);
    CHECK(!strcmp(icpt->name, "intercept") && ((const double *)icpt->data)[0] == 6.0);
    const char *e;
    CHECK(trove_value_get_string(trove_value_get(c.models[0].meta, "estimator"), &e, NULL) == 0 &&
          !strcmp(e, "sklearn.svm.LinearSVC"));
    trove__conversion_free(&c);
}

/* imbalanced-learn Pipeline([('smote', SMOTE), ('lr', LinearRegression)]): the sampler only acts
 * while fitting, so the trove pipeline has one step */
static void test_pickle__imblearn_pipeline_drops_samplers(void)
{
    buf lr;
    linreg_pickle(&lr);
    buf b = {.n = 0};
    puts_(&b, "\x80\x02");
    glob(&b, "imblearn.pipeline", "Pipeline");
    puts_(&b, ")\x81}(");
    sbu(&b, "steps");
    puts_(&b, "](");
    sbu(&b, "smote");
    glob(&b, "imblearn.over_sampling._smote.base", "SMOTE");
    puts_(&b, ")\x81}(");
    sbu(&b, "k_neighbors"); puts_(&b, "K\x05");
    puts_(&b, "ub\x86");
    sbu(&b, "lr");
    put(&b, lr.d + 2, lr.n - 3); /* the LinearRegression object, without PROTO and STOP */
    puts_(&b, "\x86");
    puts_(&b, "e");
    puts_(&b, "ub.");
    trove_error err;
    trove__conversion c;
    CHECK_OK(trove__convert_buffer(NULL, b.d, b.n, "imb.pkl", 0, &c, &err));
    const trove_value *meta = c.models[0].meta;
    const char *e;
    CHECK(trove_value_get_string(trove_value_get(meta, "estimator"), &e, NULL) == 0 &&
          !strcmp(e, "imblearn.pipeline.Pipeline"));
    CHECK(trove_value_count(trove_value_path(meta, "model.steps")) == 1);
    CHECK(c.models[0].n_tensors == 2 && !strcmp(c.models[0].tensors[0].name, "steps/0/coef"));
    trove__conversion_free(&c);
}

TEST_MAIN(T(test_pickle__protocol0_text_opcodes), T(test_pickle__protocol2_binary_opcodes),
          T(test_pickle__objects_are_symbolic), T(test_pickle__inst_obj_reconstructor_and_folds),
          T(test_pickle__numpy_arrays_and_byte_order), T(test_pickle__numpy_bad_arrays_refused),
          T(test_pickle__joblib_inline_array_with_padding), T(test_pickle__joblib_containers),
          T(test_pickle__refusals_name_opcode_and_offset), T(test_pickle__limits),
          T(test_pickle__every_truncation_refused), T(test_pickle__oom_torture_no_leak),
          T(test_pickle__convert_end_to_end), T(test_pickle__convert_oom_torture_no_leak),
          T(test_pickle__old_liblinear_raw_coef), T(test_pickle__imblearn_pipeline_drops_samplers))
