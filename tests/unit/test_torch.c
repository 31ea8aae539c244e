/* test_torch.c: the torch.save importer (src/codecs/torch.c) on crafted bytes: zip and zip64
 * archives and legacy streams built here opcode by opcode; views read in C order; every
 * truncation and every single-byte corruption fails cleanly or parses; bad views, sizes, offsets
 * and zip records refused with their reason; allocation failure at every step without a leak. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "codecs/pickle.h"
#include "codecs/tensors.h"
#include "convert_torture.h"
#include "testlib.h"

/* ---- a byte buffer ------------------------------------------------------------------------ */
typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void put_s(buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void put_u8(buf *b, unsigned v)
{
    uint8_t c = (uint8_t)v;
    put(b, &c, 1);
}

static void put_le(buf *b, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        put_u8(b, (unsigned)(v >> (8 * i)) & 0xff);
}

/* ---- pickles as torch writes them (protocol 2) -------------------------------------------- */
static void pk_str(buf *b, const char *s)
{
    put_u8(b, 'X');
    put_le(b, strlen(s), 4);
    put_s(b, s);
}

static void pk_int(buf *b, int64_t v) /* LONG1 of 8 bytes: any int64 */
{
    put_u8(b, 0x8a);
    put_u8(b, 8);
    put_le(b, (uint64_t)v, 8);
}

typedef struct view {
    const char *name, *key, *stype;
    int64_t numel, offset;
    int rank;
    int64_t size[9], stride[9];
} view;

/* {name: _rebuild_tensor_v2(persid(('storage', torch.<stype>, key, 'cpu', numel[, None])),
 *  offset, size, stride, False, OrderedDict())} */
static void sd_pickle(buf *b, const view *v, size_t n, int legacy)
{
    put_s(b, "\x80\x02}(");
    for (size_t i = 0; i < n; i++) {
        pk_str(b, v[i].name);
        put_s(b, "ctorch._utils\n_rebuild_tensor_v2\n((");
        pk_str(b, "storage");
        put_s(b, "ctorch\n");
        put_s(b, v[i].stype);
        put_s(b, "\n");
        pk_str(b, v[i].key);
        pk_str(b, "cpu");
        pk_int(b, v[i].numel);
        if (legacy)
            put_u8(b, 'N');
        put_s(b, "tQ");
        pk_int(b, v[i].offset);
        put_u8(b, '(');
        for (int d = 0; d < v[i].rank; d++)
            pk_int(b, v[i].size[d]);
        put_s(b, "t(");
        for (int d = 0; d < v[i].rank; d++)
            pk_int(b, v[i].stride[d]);
        put_s(b, "t\x89" "ccollections\nOrderedDict\n)RtR");
    }
    put_s(b, "u.");
}

/* ---- zip ---------------------------------------------------------------------------------- */
typedef struct member {
    const char *name;
    const void *data;
    size_t n;
} member;

/* A stored zip (zip64 end records when z64); caller frees. */
static uint8_t *zip_image(const member *m, size_t n, int z64, size_t *len)
{
    buf b = {0}, cd = {0};
    for (size_t i = 0; i < n; i++) {
        uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), m[i].data, (uInt)m[i].n);
        size_t off = b.n, nl = strlen(m[i].name);
        put_s(&b, "PK\x03\x04");
        put_le(&b, 20, 2);
        put_le(&b, 0, 2); /* flags */
        put_le(&b, 0, 2); /* stored */
        put_le(&b, 0, 4); /* time, date */
        put_le(&b, crc, 4);
        put_le(&b, m[i].n, 4);
        put_le(&b, m[i].n, 4);
        put_le(&b, nl, 2);
        put_le(&b, 0, 2);
        put_s(&b, m[i].name);
        put(&b, m[i].data, m[i].n);
        put_s(&cd, "PK\x01\x02");
        put_le(&cd, 20, 2);
        put_le(&cd, 20, 2);
        put_le(&cd, 0, 2);
        put_le(&cd, 0, 2);
        put_le(&cd, 0, 4);
        put_le(&cd, crc, 4);
        put_le(&cd, m[i].n, 4);
        put_le(&cd, m[i].n, 4);
        put_le(&cd, nl, 2);
        put_le(&cd, z64 ? 12 : 0, 2); /* extra */
        put_le(&cd, 0, 2);
        put_le(&cd, 0, 2);
        put_le(&cd, 0, 2);
        put_le(&cd, 0, 4);
        put_le(&cd, z64 ? 0xFFFFFFFF : off, 4);
        put_s(&cd, m[i].name);
        if (z64) { /* zip64 extra: the local header offset only */
            put_le(&cd, 1, 2);
            put_le(&cd, 8, 2);
            put_le(&cd, off, 8);
        }
    }
    size_t cdoff = b.n;
    put(&b, cd.p, cd.n);
    if (z64) {
        size_t z = b.n;
        put_s(&b, "PK\x06\x06");
        put_le(&b, 44, 8);
        put_le(&b, 45, 2);
        put_le(&b, 45, 2);
        put_le(&b, 0, 4);
        put_le(&b, 0, 4);
        put_le(&b, n, 8);
        put_le(&b, n, 8);
        put_le(&b, cd.n, 8);
        put_le(&b, cdoff, 8);
        put_s(&b, "PK\x06\x07");
        put_le(&b, 0, 4);
        put_le(&b, z, 8);
        put_le(&b, 1, 4);
    }
    put_s(&b, "PK\x05\x06");
    put_le(&b, 0, 4);
    put_le(&b, z64 ? 0xFFFF : n, 2);
    put_le(&b, z64 ? 0xFFFF : n, 2);
    put_le(&b, z64 ? 0xFFFFFFFF : cd.n, 4);
    put_le(&b, z64 ? 0xFFFFFFFF : cdoff, 4);
    put_le(&b, 0, 2);
    free(cd.p);
    *len = b.n;
    return b.p;
}

static const float F6[6] = {1, 2, 3, 4, 5, 6};
static const int16_t I4[4] = {-1, 2, -3, 4};

/* A torch zip of the views over storages "0" (6 float32) and "1" (4 int16). */
static uint8_t *torch_zip(const view *v, size_t n, int z64, size_t *len)
{
    buf p = {0};
    sd_pickle(&p, v, n, 0);
    member m[4] = {{"archive/data.pkl", p.p, p.n},
                   {"archive/data/0", F6, sizeof F6},
                   {"archive/data/1", I4, sizeof I4},
                   {"archive/version", "3\n", 2}};
    uint8_t *z = zip_image(m, 4, z64, len);
    free(p.p);
    return z;
}

static const view GOOD[] = {
    {"t", "0", "FloatStorage", 6, 1, 2, {2, 2}, {1, 2}},   /* transposed, offset 1 */
    {"all", "0", "FloatStorage", 6, 0, 2, {2, 3}, {3, 1}}, /* second view of storage 0 */
    {"s", "1", "ShortStorage", 4, 3, 0, {0}, {0}},         /* 0-d view at offset 3 */
    {"e", "1", "ShortStorage", 4, 0, 2, {0, 5}, {5, 1}},   /* empty */
    {"x", "1", "ShortStorage", 4, 1, 2, {3, 2}, {0, 1}},   /* expanded: stride 0 */
};

static void read_all(const trove__tin *t, uint8_t *out, size_t cap)
{
    uint64_t pos = 0;
    uint8_t tmp[7]; /* odd size: elements split over calls */
    size_t n, at = 0;
    while ((n = trove__tin_read(t, &pos, tmp, sizeof tmp)) > 0) {
        CHECK(at + n <= cap);
        memcpy(out + at, tmp, n);
        at += n;
    }
    CHECK(pos == t->nbytes && at == t->nbytes);
}

static const trove__tin *find(const trove__tset *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->t[i].name, name))
            return &s->t[i];
    return NULL;
}

static void check_good(const trove__tset *s)
{
    CHECK(s->n == 5 && !strcmp(s->format, "torch"));
    const trove__tin *t = find(s, "t");
    float f[4];
    CHECK(t && t->dtype == TROVE_FLOAT32 && t->rank == 2 && t->strided && t->nbytes == 16);
    read_all(t, (uint8_t *)f, sizeof f);
    CHECK(f[0] == 2 && f[1] == 4 && f[2] == 3 && f[3] == 5);
    t = find(s, "all");
    CHECK(t && !t->strided && t->nbytes == 24 && !memcmp(t->data, F6, 24));
    t = find(s, "s");
    int16_t i[6];
    CHECK(t && t->rank == 0 && t->dtype == TROVE_INT16 && t->nbytes == 2);
    read_all(t, (uint8_t *)i, sizeof i);
    CHECK(i[0] == 4);
    t = find(s, "e");
    CHECK(t && t->nbytes == 0 && t->shape[0] == 0 && t->shape[1] == 5);
    t = find(s, "x");
    CHECK(t && t->strided && t->nbytes == 12);
    read_all(t, (uint8_t *)i, sizeof i);
    CHECK(i[0] == 2 && i[1] == -3 && i[2] == 2 && i[3] == -3 && i[4] == 2 && i[5] == -3);
}

static void zip_views(void)
{
    for (int z64 = 0; z64 < 2; z64++) {
        size_t len;
        uint8_t *z = torch_zip(GOOD, 5, z64, &len);
        trove__tset s;
        trove_error err;
        CHECK(trove__tensors_probe(z, len) == TROVE__TF_TORCH);
        CHECK_OK(trove__tensors_parse(NULL, z, len, 0, NULL, 1 << 20, &s, &err));
        check_good(&s);
        trove__tset_free(&s);
        free(z);
    }
}

/* Storages of the other dtypes map to trove's (uint16 over the int16 bytes). */
static void storage_types(void)
{
    static const char *types[] = {"UInt16Storage", "HalfStorage", "BFloat16Storage",
                                  "ShortStorage"};
    static const trove_dtype want[] = {TROVE_UINT16, TROVE_FLOAT16, TROVE_BFLOAT16, TROVE_INT16};
    for (int k = 0; k < 4; k++) {
        view v = {"u", "1", types[k], 4, 0, 1, {4}, {1}};
        size_t len;
        uint8_t *z = torch_zip(&v, 1, 0, &len);
        trove__tset s;
        trove_error err;
        CHECK_OK(trove__tensors_parse(NULL, z, len, 0, NULL, 1 << 20, &s, &err));
        CHECK(s.n == 1 && s.t[0].dtype == want[k] && s.t[0].nbytes == 8 &&
              !memcmp(s.t[0].data, I4, 8));
        trove__tset_free(&s);
        free(z);
    }
}

/* Every prefix, and every byte flipped: OK or a clean failure (ASan watches the reads). */
static void zip_truncated_and_flipped(void)
{
    size_t len;
    uint8_t *z = torch_zip(GOOD, 5, 1, &len);
    for (size_t k = 0; k < len; k++) {
        trove__tset s;
        trove_error err;
        uint8_t *cut = malloc(k ? k : 1);
        memcpy(cut, z, k);
        int rc = trove__tensors_parse(NULL, cut, k, TROVE__TF_TORCH, NULL, 1 << 20, &s, &err);
        CHECK(rc < 0 && err.message[0]);
        trove__tset_free(&s);
        free(cut);
    }
    for (size_t k = 0; k < len; k++) {
        trove__tset s;
        trove_error err;
        z[k] ^= 0xff;
        int rc = trove__tensors_parse(NULL, z, len, TROVE__TF_TORCH, NULL, 1 << 20, &s, &err);
        CHECK(rc == TROVE_OK || (rc < 0 && err.message[0]));
        for (size_t i = 0; rc == TROVE_OK && i < s.n; i++) {
            uint8_t out[64];
            if (s.t[i].nbytes <= sizeof out)
                read_all(&s.t[i], out, sizeof out);
        }
        trove__tset_free(&s);
        z[k] ^= 0xff;
    }
    free(z);
}

static void expect_refused(const view *v, size_t n, int code, const char *why)
{
    size_t len;
    uint8_t *z = torch_zip(v, n, 0, &len);
    trove__tset s;
    trove_error err;
    CHECK_RC(trove__tensors_parse(NULL, z, len, 0, NULL, 1 << 20, &s, &err), code);
    if (!strstr(err.message, why))
        fprintf(stderr, "  expected '%s' in: %s\n", why, err.message);
    CHECK(strstr(err.message, why) != NULL);
    trove__tset_free(&s);
    free(z);
}

static void hostile_views(void)
{
    const int64_t big = INT64_C(1) << 62;
    const view past = {"w", "0", "FloatStorage", 6, 3, 2, {2, 2}, {2, 1}};
    expect_refused(&past, 1, TROVE_E_CORRUPT, "reaches outside its storage '0'");
    const view off = {"w", "0", "FloatStorage", 6, 6, 1, {1}, {1}};
    expect_refused(&off, 1, TROVE_E_CORRUPT, "reaches outside");
    const view huge = {"w", "0", "FloatStorage", 6, 0, 2, {big, 8}, {1, 1}};
    expect_refused(&huge, 1, TROVE_E_CORRUPT, "overflows 64 bits");
    const view span = {"w", "0", "FloatStorage", 6, 0, 1, {5}, {big}};
    expect_refused(&span, 1, TROVE_E_CORRUPT, "extent overflows");
    const view bytes = {"w", "0", "LongStorage", big, 0, 1, {big}, {1}};
    expect_refused(&bytes, 1, TROVE_E_CORRUPT, "byte size overflows");
    const view neg = {"w", "0", "FloatStorage", 6, -1, 1, {1}, {1}};
    expect_refused(&neg, 1, TROVE_E_CORRUPT, "offset, size or stride");
    const view negst = {"w", "0", "FloatStorage", 6, 5, 1, {2}, {-1}};
    expect_refused(&negst, 1, TROVE_E_CORRUPT, "stride[0]");
    const view numel = {"w", "0", "FloatStorage", 7, 0, 1, {6}, {1}};
    expect_refused(&numel, 1, TROVE_E_CORRUPT, "declares 7 elements of float32, its member "
                   "holds 24 bytes");
    const view missing = {"w", "9", "FloatStorage", 6, 0, 1, {6}, {1}};
    expect_refused(&missing, 1, TROVE_E_CORRUPT, "has no member 'archive/data/9'");
    const view cplx = {"w", "0", "ComplexFloatStorage", 3, 0, 1, {3}, {1}};
    expect_refused(&cplx, 1, TROVE_E_UNSUPPORTED, "storage type torch.ComplexFloatStorage");
    const view rank9 = {"w", "0", "FloatStorage", 6, 0, 9, {1, 1, 1, 1, 1, 1, 1, 1, 1},
                        {1, 1, 1, 1, 1, 1, 1, 1, 1}};
    expect_refused(&rank9, 1, TROVE_E_UNSUPPORTED, "rank 9");
    const view twice[2] = {{"a", "0", "FloatStorage", 6, 0, 1, {6}, {1}},
                           {"b", "0", "IntStorage", 6, 0, 1, {6}, {1}}};
    expect_refused(twice, 2, TROVE_E_CORRUPT, "declared twice");
    const view dup[2] = {{"a", "0", "FloatStorage", 6, 0, 1, {6}, {1}},
                         {"a", "0", "FloatStorage", 6, 0, 1, {6}, {1}}};
    expect_refused(dup, 2, TROVE_E_CORRUPT, "appears twice");
}

static void zip_hostile(void)
{
    size_t len;
    trove__tset s;
    trove_error err;
    uint8_t *z = torch_zip(GOOD, 5, 0, &len);
    size_t cd = 0;
    for (size_t i = 0; i + 4 <= len; i++)
        if (!memcmp(z + i, "PK\x01\x02", 4)) {
            cd = i;
            break;
        }
    CHECK(cd > 0);
    struct {
        size_t at;
        int width;
        uint64_t value;
        const char *why;
    } cases[] = {
        {cd + 42, 4, 0xFFFFFF, "local header out of bounds"},
        {cd + 42, 4, 1, "local header out of bounds"},
        {cd + 20, 4, 9999, "different sizes"},
        {cd + 20, 4, 0xFFFFFFFF, "different sizes"},
        {cd + 16, 4, 1234, "does not match the central directory"},
        {cd + 28, 2, 0xFFF0, "runs past the directory"},
        {len - 22 + 8, 4, 0x7FFF7FFF, "member count does not fit"},
        {len - 22 + 16, 4, 0x7FFFFFFF, "central directory out of bounds"},
        {len - 22 + 12, 4, 0xFFFFFFFF, "zip64 end locator missing"},
        {30, 1, 'b', "does not match the central directory"},
        {cd + 8, 2, 1, "encrypted"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        uint8_t *c = malloc(len);
        memcpy(c, z, len);
        for (int b = 0; b < cases[k].width; b++)
            c[cases[k].at + (size_t)b] = (uint8_t)(cases[k].value >> (8 * b));
        int rc = trove__tensors_parse(NULL, c, len, 0, NULL, 1 << 20, &s, &err);
        if (rc == TROVE_OK || !strstr(err.message, cases[k].why))
            fprintf(stderr, "  case %zu: expected '%s', got %d: %s\n", k, cases[k].why, rc,
                    rc ? err.message : "");
        CHECK(rc < 0 && strstr(err.message, cases[k].why) != NULL);
        trove__tset_free(&s);
        free(c);
    }
    free(z);
    /* no data.pkl; TorchScript; members outside the archive directory */
    member jit[2] = {{"m/data.pkl", "\x80\x02}.", 4}, {"m/constants.pkl", "\x80\x02).", 4}};
    member nopkl[1] = {{"m/version", "3\n", 2}};
    member out[2] = {{"m/data.pkl", "\x80\x02}.", 4}, {"n/x", "1", 1}};
    member flat[1] = {{"data.pkl", "\x80\x02}.", 4}};
    const member *sets[4] = {jit, nopkl, out, flat};
    size_t counts[4] = {2, 1, 2, 1};
    const char *why[4] = {"TorchScript", "without 'm/data.pkl'", "outside the archive",
                          "not under a directory"};
    for (int k = 0; k < 4; k++) {
        uint8_t *c = zip_image(sets[k], counts[k], 0, &len);
        CHECK_RC(trove__tensors_parse(NULL, c, len, 0, NULL, 1 << 20, &s, &err),
                 TROVE_E_UNSUPPORTED);
        CHECK(strstr(err.message, why[k]) != NULL);
        trove__tset_free(&s);
        free(c);
    }
}

/* Refusals of the object graph: a class, a global, os.system. */
static void graph_refused(void)
{
    struct {
        const char *pkl;
        const char *why;
    } cases[] = {
        {"\x80\x02" "cposix\nsystem\nX\x05\x00\x00\x00touch\x85R.", "posix.system"},
        {"\x80\x02}X\x01\x00\x00\x00" "m" "ctorch.nn.modules.linear\nLinear\n)\x81}b" "s.",
         "nn.Module"},
        {"\x80\x02" "c__main__\nNet\n)\x81}X\x08\x00\x00\x00_modules}sb.", "nn.Module"},
        {"\x80\x02" "cos\ngetcwd\n.", "a reference to os.getcwd"},
        {"\x80\x02}X\x01\x00\x00\x00" "a" "ctorch._utils\n_rebuild_qtensor\n)Rs.", "quantized"},
        {"\x80\x02}X\x01\x00\x00\x00" "a" "\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01s.",
         "beyond 64 bits"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t pl = 0;
        while (cases[k].pkl[pl] != '.' || cases[k].pkl[pl + 1] != 0)
            pl++;
        member m[1] = {{"a/data.pkl", cases[k].pkl, pl + 1}};
        size_t len;
        uint8_t *z = zip_image(m, 1, 0, &len);
        trove__tset s;
        trove_error err;
        int rc = trove__tensors_parse(NULL, z, len, 0, NULL, 1 << 20, &s, &err);
        if (rc != TROVE_E_UNSUPPORTED || !strstr(err.message, cases[k].why))
            fprintf(stderr, "  case %zu: expected '%s': %d %s\n", k, cases[k].why, rc,
                    err.message);
        CHECK(rc == TROVE_E_UNSUPPORTED && strstr(err.message, cases[k].why) != NULL);
        trove__tset_free(&s);
        free(z);
    }
}

/* The VM keeps refusing persistent ids unless asked (the sklearn importer's contract). */
static void persid_flag(void)
{
    static const uint8_t p[] = "\x80\x02X\x01\x00\x00\x00kQ.";
    pk_arena *a = pk_arena_new(NULL, 0);
    pk_obj *o;
    size_t end;
    trove_error err;
    CHECK_RC(pk_load(a, p, sizeof p - 1, 0, NULL, NULL, NULL, &o, &end, &err),
             TROVE_E_UNSUPPORTED);
    CHECK(strstr(err.message, "persistent ids") != NULL);
    pk_limits lim = {0, 0, 0, 0, PK_ALLOW_PERSID};
    CHECK_OK(pk_load(a, p, sizeof p - 1, 0, &lim, NULL, NULL, &o, &end, &err));
    CHECK(o->kind == PK_PERSID && pk_text_eq(o->u.pid, "k") && end == sizeof p - 1);
    pk_arena_free(a);
}

/* A legacy stream: magic, version, sys_info, object, keys, counted storages. Caller frees. */
static uint8_t *legacy_image(size_t *len, int64_t count0)
{
    buf b = {0};
    put(&b, "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x2e", 15);
    put_s(&b, "\x80\x02M\xe9\x03.");
    put_s(&b, "\x80\x02}(");
    pk_str(&b, "little_endian");
    put_s(&b, "\x88u.");
    sd_pickle(&b, GOOD, 5, 1);
    put_s(&b, "\x80\x02](");
    pk_str(&b, "0");
    pk_str(&b, "1");
    put_s(&b, "e.");
    put_le(&b, (uint64_t)count0, 8);
    put(&b, F6, sizeof F6);
    put_le(&b, 4, 8);
    put(&b, I4, sizeof I4);
    *len = b.n;
    return b.p;
}

static void legacy(void)
{
    size_t len;
    uint8_t *l = legacy_image(&len, 6);
    trove__tset s;
    trove_error err;
    CHECK(trove__tensors_probe(l, len) == TROVE__TF_TORCH_LEGACY);
    CHECK_OK(trove__tensors_parse(NULL, l, len, 0, NULL, 1 << 20, &s, &err));
    s.format = "torch"; /* check_good's format check is for the zip */
    check_good(&s);
    trove__tset_free(&s);
    for (size_t k = 0; k < len; k++) {
        int rc = trove__tensors_parse(NULL, l, k, TROVE__TF_TORCH_LEGACY, NULL, 1 << 20, &s,
                                      &err);
        CHECK(rc < 0 && err.message[0]);
        trove__tset_free(&s);
    }
    free(l);
    l = legacy_image(&len, 7);
    CHECK_RC(trove__tensors_parse(NULL, l, len, 0, NULL, 1 << 20, &s, &err), TROVE_E_CORRUPT);
    CHECK(strstr(err.message, "holds 7 elements where 6 were declared") != NULL);
    trove__tset_free(&s);
    free(l);
}

static void oom_torture(void)
{
    size_t lens[2];
    uint8_t *imgs[2];
    imgs[0] = torch_zip(GOOD, 5, 0, &lens[0]);
    imgs[1] = legacy_image(&lens[1], 6);
    for (int k = 0; k < 2; k++) {
        int ok_seen = 0;
        for (long n = 1; n < 400 && !ok_seen; n++) {
            test_alloc ta;
            test_alloc_init(&ta, n);
            trove__tset s;
            trove_error err;
            int rc = trove__tensors_parse(&ta.a, imgs[k], lens[k], 0, NULL, 1 << 20, &s, &err);
            CHECK(rc == TROVE_OK || rc == TROVE_E_NOMEM);
            ok_seen = rc == TROVE_OK;
            trove__tset_free(&s);
            CHECK(ta.live == 0);
        }
        CHECK(ok_seen);
        const char *in = test_path(k ? "l.pt" : "z.pt"), *out = test_path("o.trove");
        trove_error err;
        CHECK_OK(test_write_file(in, imgs[k], lens[k]));
        CHECK(test_convert_oom_torture(in, out, 600));
        /* and the converted file holds the views in C order */
        trove_file *f = NULL;
        size_t i;
        const void *p;
        CHECK_OK(trove_open(&f, out, NULL, &err));
        CHECK_OK(trove_file_find(f, "t", &i));
        CHECK_OK(trove_file_tensor_data(f, i, &p, &err));
        const float want[4] = {2, 4, 3, 5};
        CHECK(!memcmp(p, want, sizeof want));
        trove_close(f);
        free(imgs[k]);
    }
}

TEST_MAIN(T(zip_views), T(storage_types), T(zip_truncated_and_flipped), T(hostile_views), T(zip_hostile),
          T(graph_refused), T(persid_flag), T(legacy), T(oom_torture))
