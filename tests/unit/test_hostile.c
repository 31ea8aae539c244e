/* test_hostile.c: crafted trove files, each wrong in one way, built by a small in-test builder
 * (valid preamble, tensor bytes, canonical header, trailer with correct checksums unless a case
 * says otherwise). Every file must be refused with the right code and a message naming the
 * problem; opened from memory, from a path (mmap) and with TROVE_OPEN_NO_MMAP alike. Run under
 * ASan/LSan as build/asan-tests/test_hostile: every refusal must be clean. */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include "format/layout.h"
#include "testlib.h"

/* ---- the builder ----------------------------------------------------------------------- */
typedef struct tb {
    unsigned char *body;       /* the bytes from offset 64 up to the header */
    size_t len, cap;
    trove_value *hdr;          /* {"meta": {}, "tensors": [...]} */
    uint64_t compat, ro_compat, incompat;
    uint16_t major, minor;
    uint32_t bom;
    const unsigned char *raw_hdr; /* header bytes to use instead of encoding hdr */
    size_t raw_len;
} tb;

static void tb_init(tb *b)
{
    memset(b, 0, sizeof *b);
    b->hdr = trove_value_map(NULL);
    if (!b->hdr || trove_value_map_set(b->hdr, "meta", trove_value_map(NULL)) != TROVE_OK ||
        trove_value_map_set(b->hdr, "tensors", trove_value_array(NULL)) != TROVE_OK)
        abort();
    b->major = TROVE_FORMAT_MAJOR;
    b->minor = TROVE_FORMAT_MINOR;
    b->bom = TROVE__BOM;
}

static void tb_free(tb *b)
{
    free(b->body);
    trove_value_free(b->hdr);
}

static void tb_put(tb *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    if (b->cap - b->len < n) {
        size_t nc = b->cap ? b->cap : 4096;
        while (nc - b->len < n)
            nc *= 2;
        b->body = realloc(b->body, nc);
        if (!b->body)
            abort();
        b->cap = nc;
    }
    if (p)
        memcpy(b->body + b->len, p, n);
    else
        memset(b->body + b->len, 0, n);
    b->len += n;
}

static trove_value *tensors_of(tb *b)
{
    return trove_value_get_mut(b->hdr, "tensors");
}

static void set_u(trove_value *e, const char *key, uint64_t v)
{
    if (trove_value_map_set(e, key, trove_value_uint(NULL, v)) != TROVE_OK)
        abort();
}

static void set_s(trove_value *e, const char *key, const char *s, size_t len)
{
    if (trove_value_map_set(e, key, trove_value_string(NULL, s, len)) != TROVE_OK)
        abort();
}

static void set_v(trove_value *e, const char *key, trove_value *v)
{
    if (trove_value_map_set(e, key, v) != TROVE_OK)
        abort();
}

static trove_value *shape_of(uint32_t rank, const uint64_t *shape)
{
    trove_value *s = trove_value_array(NULL);
    for (uint32_t i = 0; i < rank; i++)
        if (trove_value_array_take(s, trove_value_uint(NULL, shape[i])) != TROVE_OK)
            abort();
    return s;
}

/* xxh3 of every 4096-byte chunk of p[0..n), LE, as a bytes value. */
static trove_value *xxh3_of(const unsigned char *p, size_t n, uint64_t chunk)
{
    size_t nchunks = (size_t)(n / chunk + (n % chunk != 0));
    unsigned char *d = malloc(nchunks * 8 + 1);
    for (size_t c = 0; c < nchunks; c++) {
        size_t len = n - c * chunk < chunk ? n - c * chunk : (size_t)chunk;
        trove__store_le64(d + 8 * c, trove__xxh3(p + c * chunk, len));
    }
    trove_value *v = trove_value_bytes(NULL, d, nchunks * 8);
    free(d);
    return v;
}

/* Append a tensor: pad to 64, write `stored` bytes (data, or a pattern when NULL), and a
 * correct directory entry. The entry stays owned by the header; tests may change fields. */
static trove_value *tb_add_bytes(tb *b, const char *name, const char *dtype, uint32_t rank,
                                 const uint64_t *shape, const void *data, size_t stored)
{
    size_t pos = 64 + b->len;
    size_t pad = (64 - pos % 64) % 64;
    tb_put(b, NULL, pad);
    uint64_t offset = 64 + b->len;
    tb_put(b, data, stored);
    if (!data)
        for (size_t i = 0; i < stored; i++)
            b->body[b->len - stored + i] = (unsigned char)(i * 7 + 1);
    trove_value *e = trove_value_map(NULL);
    set_s(e, "name", name, strlen(name));
    set_s(e, "dtype", dtype, strlen(dtype));
    set_v(e, "shape", shape_of(rank, shape));
    set_u(e, "offset", offset);
    set_u(e, "size", stored);
    set_u(e, "align", 64);
    set_u(e, "chunk", 4096);
    set_v(e, "xxh3", xxh3_of(b->body + b->len - stored, stored, 4096));
    if (trove_value_array_take(tensors_of(b), e) != TROVE_OK)
        abort();
    return e;
}

static trove_value *tb_add(tb *b, const char *name, const char *dtype, uint32_t rank,
                           const uint64_t *shape)
{
    trove_dtype dt = trove_dtype_from_name(dtype, strlen(dtype));
    uint64_t n = trove_dtype_size(dt);
    for (uint32_t i = 0; i < rank; i++)
        n *= shape[i];
    return tb_add_bytes(b, name, dtype, rank, shape, NULL, (size_t)n);
}

/* The file: preamble, body, header, trailer with correct checksums. Caller frees. */
static unsigned char *tb_build(tb *b, size_t *len)
{
    uint8_t *enc = NULL;
    size_t hlen;
    const unsigned char *h = b->raw_hdr;
    if (h) {
        hlen = b->raw_len;
    } else {
        if (trove_value_encode(b->hdr, NULL, &enc, &hlen, NULL) != TROVE_OK)
            abort();
        h = enc;
    }
    size_t n = 64 + b->len + hlen + 64;
    unsigned char *f = malloc(n);
    trove__write_preamble(f);
    trove__store_le16(f + 8, b->major);
    trove__store_le16(f + 10, b->minor);
    trove__store_le32(f + 12, b->bom);
    if (b->len)
        memcpy(f + 64, b->body, b->len);
    memcpy(f + 64 + b->len, h, hlen);
    trove__write_trailer(f + n - 64, f, 64 + b->len, hlen, b->compat, b->ro_compat, b->incompat,
                         trove__xxh3(h, hlen));
    trove_free(NULL, enc);
    *len = n;
    return f;
}

/* Recompute the header checksum and the preamble/trailer check after a raw edit. */
static void reseal(unsigned char *f, size_t n)
{
    unsigned char *tr = f + n - 64;
    uint64_t hoff = trove__load_le64(tr + TR_HEADER_OFFSET);
    uint64_t hlen = trove__load_le64(tr + TR_HEADER_LENGTH);
    if (hoff + hlen == n - 64)
        trove__store_le64(tr + TR_HEADER_XXH3, trove__xxh3(f + hoff, (size_t)hlen));
    trove__store_le64(tr + TR_CHECK, trove__trailer_check(f, tr));
}

/* Replace the first occurrence of `from` by `to` (same length) in f[0..n). */
static int patch(unsigned char *f, size_t n, const char *from, const char *to, size_t k)
{
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(f + i, from, k) == 0) {
            memcpy(f + i, to, k);
            return 1;
        }
    return 0;
}

/* ---- expectations ---------------------------------------------------------------------- */
/* With TROVE_HOSTILE_DUMP=DIR set, every crafted file up to 64 KiB is also written to DIR, to
 * seed the fuzz corpus (fuzz/run.sh merges the ones that add coverage). */
static void dump(const unsigned char *file, size_t len)
{
    static int counter;
    const char *dir = getenv("TROVE_HOSTILE_DUMP");
    if (!dir || len > 65536)
        return;
    char path[1024];
    snprintf(path, sizeof path, "%s/hostile-%03d.trove", dir, counter++);
    if (test_write_file(path, file, len) != 0)
        fprintf(stderr, "  cannot write %s\n", path);
}

/* trove_open_fd on the read end of a pipe that a child fills with file[0..len). */
static int open_from_pipe(trove_file **out, const unsigned char *file, size_t len,
                          const trove_open_options *o, trove_error *err)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1000;
    pid_t pid = fork();
    if (pid < 0)
        return -1000;
    if (pid == 0) {
        close(fds[0]);
        size_t done = 0;
        while (done < len) {
            ssize_t w = write(fds[1], file + done, len - done);
            if (w <= 0)
                _exit(1);
            done += (size_t)w;
        }
        _exit(0);
    }
    close(fds[1]);
    int rc = trove_open_fd(out, fds[0], o, err);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return rc;
}

/* Open from memory, from a path (mmap, NO_MMAP, VERIFY, O_DIRECT) and from a pipe; each must
 * fail with code and a message containing needle. Returns 1 when all do. */
static int refused_with(const unsigned char *file, size_t len, const trove_open_options *opts,
                        int code, const char *needle)
{
    trove_open_options o = TROVE_OPEN_OPTIONS_INIT;
    if (opts)
        o = *opts;
    const char *path = test_path("hostile.trove");
    dump(file, len);
    if (test_write_file(path, file, len) != 0)
        return 0;
    for (int mode = 0; mode < 6; mode++) {
        trove_open_options m = o;
        if (mode == 2)
            m.flags |= TROVE_OPEN_NO_MMAP;
        if (mode == 3)
            m.flags |= TROVE_OPEN_VERIFY;
        if (mode == 4)
            m.flags |= TROVE_OPEN_DIRECT;
        trove_file *f = (trove_file *)1;
        trove_error err = {0};
        int rc;
        if (mode == 0)
            rc = trove_open_memory(&f, file, len, &m, &err);
        else if (mode == 5)
            rc = open_from_pipe(&f, file, len, &m, &err);
        else
            rc = trove_open(&f, path, &m, &err);
        if (mode == 4 && rc == TROVE_E_UNSUPPORTED && strstr(err.message, "O_DIRECT"))
            continue; /* the filesystem of TMPDIR has no O_DIRECT */
        if (rc != code || f != NULL || err.code != code || !strstr(err.message, needle)) {
            fprintf(stderr, "  mode %d: rc %d (%s) message '%s'; wanted %d with '%s'\n", mode, rc,
                    trove_strerror(rc), err.message, code, needle);
            trove_close(rc == TROVE_OK ? f : NULL);
            return 0;
        }
    }
    return 1;
}

#define REFUSED(file, len, opts, code, needle) CHECK(refused_with((file), (len), (opts), (code), (needle)))

/* Build, expect the refusal, free. */
#define BUILD_REFUSED(b, opts, code, needle)                                                       \
    do {                                                                                           \
        size_t n_;                                                                                 \
        unsigned char *file_ = tb_build((b), &n_);                                                 \
        int ok_ = refused_with(file_, n_, (opts), (code), (needle));                               \
        free(file_);                                                                               \
        tb_free(b);                                                                                \
        CHECK(ok_);                                                                                \
    } while (0)

static int opens(const unsigned char *file, size_t len, const trove_open_options *o,
                 trove_file **out)
{
    trove_error err = {0};
    dump(file, len);
    int rc = trove_open_memory(out, file, len, o, &err);
    if (rc)
        fprintf(stderr, "  open: %s\n", err.message);
    return rc == TROVE_OK;
}

/* ---- cases ------------------------------------------------------------------------------ */
static const uint64_t S4[1] = {4}, S23[2] = {2, 3};

/* The builder itself makes valid files: otherwise every refusal below proves nothing. */
static void test_hostile__builder_makes_valid_files(void)
{
    tb b;
    tb_init(&b);
    tb_add(&b, "a", "float32", 1, S4);
    tb_add(&b, "b", "int64", 2, S23);
    tb_add(&b, "scalar", "float64", 0, NULL);
    size_t n;
    unsigned char *file = tb_build(&b, &n);
    tb_free(&b);
    trove_file *f = NULL;
    trove_open_options o = TROVE_OPEN_OPTIONS_INIT;
    o.flags = TROVE_OPEN_VERIFY;
    int ok = opens(file, n, &o, &f);
    size_t count = ok ? trove_file_tensor_count(f) : 0;
    trove_tensor_info ti = {0};
    int info = ok ? trove_file_tensor_info(f, 1, &ti) : -1;
    trove_close(f);
    free(file);
    CHECK(ok && count == 3 && info == TROVE_OK && ti.offset == 128 && ti.nbytes == 48 &&
          ti.rank == 2 && ti.dtype == TROVE_INT64);
}

/* No tensors at all (regression: UBSan found qsort_r called with a NULL array for n == 0 when
 * the fuzz corpus was first replayed; fuzz/corpus/reader/empty.trove). */
static void test_hostile__no_tensors(void)
{
    tb b;
    tb_init(&b);
    size_t n;
    unsigned char *file = tb_build(&b, &n);
    tb_free(&b);
    trove_file *f = NULL;
    trove_error err = {0};
    trove_open_options o = TROVE_OPEN_OPTIONS_INIT;
    o.flags = TROVE_OPEN_VERIFY;
    int ok = opens(file, n, &o, &f);
    size_t idx = 0;
    uint8_t dig[TROVE_DIGEST_BYTES];
    int found = ok ? trove_file_find(f, "a", &idx) : 0;
    int drc = ok ? trove_file_digest(f, 0, 2, dig, &err) : -1;
    size_t count = ok ? trove_file_tensor_count(f) : 1;
    trove_close(f);
    free(file);
    CHECK(ok && count == 0 && found == TROVE_E_NOT_FOUND && drc == TROVE_OK);
}

static void test_hostile__offsets(void)
{
    tb b;
    /* An offset far past the end of the file. */
    tb_init(&b);
    tb_add(&b, "a", "float32", 1, S4);
    set_u(tb_add(&b, "b", "int64", 2, S23), "offset", UINT64_C(1) << 40);
    BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, "tensor 'b': offset 1099511627776 leaves a gap");
    tb_init(&b);
    set_u(tb_add(&b, "a", "float32", 1, S4), "offset", UINT64_MAX - 3);
    BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, "tensor 'a': offset 18446744073709551612");
    /* Overlap: b starts inside a; a starts inside the preamble. */
    tb_init(&b);
    tb_add(&b, "a", "float32", 1, S4);
    set_u(tb_add(&b, "b", "int64", 2, S23), "offset", 64);
    BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, "offset 64 overlaps the previous tensor");
    tb_init(&b);
    set_u(tb_add(&b, "a", "float32", 1, S4), "offset", 0);
    BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, "offset 0 overlaps the previous tensor or the preamble");
    /* Gap: b placed 64 bytes later than its alignment asks. */
    tb_init(&b);
    tb_add(&b, "a", "float32", 1, S4);
    tb_put(&b, NULL, 64);
    tb_add(&b, "b", "int64", 2, S23);
    BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, "offset 192 leaves a gap after the previous tensor "
                                             "(expected 128)");
    /* Gap between the last tensor and the header. */
    tb_init(&b);
    tb_add(&b, "a", "float32", 1, S4);
    tb_put(&b, NULL, 5);
    BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, "5 bytes between the last tensor and the header");
    /* Bytes before the first tensor beyond its alignment, with no tensor at all. */
    tb_init(&b);
    tb_put(&b, NULL, 64);
    BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, "64 bytes between the last tensor and the header");
    /* The last tensor runs into the header: 8 of its 48 bytes are missing. */
    tb_init(&b);
    tb_add(&b, "a", "float32", 1, S4);
    tb_add(&b, "b", "int64", 2, S23);
    b.len -= 8;
    BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, "tensor 'b': 48 bytes at offset 128 run past the "
                                             "header at 168");
    /* A size of 2^60 bytes at a correct offset. */
    tb_init(&b);
    trove_value *e = tb_add(&b, "a", "uint8", 1, S4);
    set_u(e, "size", UINT64_C(1) << 60);
    set_v(e, "codec", trove_value_cstring(NULL, "zstd"));
    b.incompat = TROVE_INCOMPAT_ZSTD;
    BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, "run past the header");
    /* offset + size overflows 64 bits. */
    tb_init(&b);
    e = tb_add(&b, "a", "uint8", 1, S4);
    set_u(e, "size", UINT64_MAX - 10);
    set_v(e, "codec", trove_value_cstring(NULL, "zstd"));
    b.incompat = TROVE_INCOMPAT_ZSTD;
    BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, "run past the header");
}

static void test_hostile__shapes(void)
{
    tb b;
    /* 2^32 * 2^32 elements: the product overflows 64 bits. */
    tb_init(&b);
    static const uint64_t big[2] = {UINT64_C(1) << 32, UINT64_C(1) << 32};
    set_v(tb_add(&b, "a", "float32", 1, S4), "shape", shape_of(2, big));
    BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, "tensor 'a': element count overflows 64 bits");
    /* A zero dimension first does not hide an overflow in the later ones? It does make the
     * product 0: that is a valid empty tensor, so the size must then be 0. */
    tb_init(&b);
    static const uint64_t zbig[3] = {0, UINT64_MAX, UINT64_MAX};
    set_v(tb_add(&b, "a", "float32", 1, S4), "shape", shape_of(3, zbig));
    BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, "size 16 differs from shape x dtype = 0 bytes");
    /* 2^62 float32 elements: count fits, count x 4 does not. */
    tb_init(&b);
    static const uint64_t s62[1] = {UINT64_C(1) << 62};
    set_v(tb_add(&b, "a", "float32", 1, S4), "shape", shape_of(1, s62));
    BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, "tensor 'a': byte size overflows 64 bits");
    /* Rank 9. */
    tb_init(&b);
    static const uint64_t nine[9] = {1, 1, 1, 1, 4, 1, 1, 1, 1};
    set_v(tb_add(&b, "a", "float32", 1, S4), "shape", shape_of(9, nine));
    BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, "tensor 'a': rank 9 exceeds 8");
    /* Rank 8 with the same elements is fine (control). */
    tb_init(&b);
    set_v(tb_add(&b, "a", "float32", 1, S4), "shape", shape_of(8, nine + 1));
    size_t n;
    unsigned char *file = tb_build(&b, &n);
    tb_free(&b);
    trove_file *f = NULL;
    int ok = opens(file, n, NULL, &f);
    trove_close(f);
    free(file);
    CHECK(ok);
    /* A negative dimension, a string dimension, a size that disagrees with the shape. */
    tb_init(&b);
    trove_value *sh = trove_value_array(NULL);
    CHECK(trove_value_array_take(sh, trove_value_int(NULL, -4)) == TROVE_OK);
    set_v(tb_add(&b, "a", "float32", 1, S4), "shape", sh);
    BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, "tensor 'a': dimension 0 is not an unsigned integer");
    tb_init(&b);
    sh = trove_value_array(NULL);
    CHECK(trove_value_array_take(sh, trove_value_cstring(NULL, "4")) == TROVE_OK);
    set_v(tb_add(&b, "a", "float32", 1, S4), "shape", sh);
    BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, "dimension 0 is not an unsigned integer");
    tb_init(&b);
    set_u(tb_add(&b, "a", "float32", 1, S4), "size", 12);
    BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, "tensor 'a': size 12 differs from shape x dtype = 16");
}

static void test_hostile__tensor_counts(void)
{
    tb b;
    /* More tensors than the caller's limit. */
    tb_init(&b);
    tb_add(&b, "a", "float32", 1, S4);
    tb_add(&b, "b", "float32", 1, S4);
    tb_add(&b, "c", "float32", 1, S4);
    trove_open_options o = TROVE_OPEN_OPTIONS_INIT;
    o.max_tensors = 2;
    BUILD_REFUSED(&b, &o, TROVE_E_LIMIT, "3 tensors exceed the limit of 2");
    /* More than the default limit (2^20): entries need not even be maps to be counted. */
    unsigned char *raw = malloc((1u << 20) + 64);
    size_t k = 0;
    static const unsigned char head[] = {0xa2, 0x64, 'm', 'e', 't', 'a', 0xa0,
                                         0x67, 't', 'e', 'n', 's', 'o', 'r', 's',
                                         0x9a, 0x00, 0x10, 0x00, 0x01}; /* array of 2^20+1 */
    memcpy(raw, head, sizeof head);
    k = sizeof head;
    memset(raw + k, 0xf6, (1u << 20) + 1); /* null entries */
    k += (1u << 20) + 1;
    tb_init(&b);
    b.raw_hdr = raw;
    b.raw_len = k;
    size_t n;
    unsigned char *file = tb_build(&b, &n);
    tb_free(&b);
    /* From memory only: decoding 2^20 items is the expensive part, the same for every source. */
    trove_file *f = (trove_file *)1;
    trove_error err = {0};
    int rc = trove_open_memory(&f, file, n, NULL, &err);
    int ok = rc == TROVE_E_LIMIT && f == NULL &&
             strstr(err.message, "1048577 tensors exceed the limit of 1048576") != NULL;
    free(file);
    /* A count larger than the bytes that remain: refused before anything is allocated. */
    static const unsigned char lie[] = {0xa2, 0x64, 'm', 'e', 't', 'a', 0xa0,
                                        0x67, 't', 'e', 'n', 's', 'o', 'r', 's',
                                        0x9b, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
                                        0xf6};
    tb_init(&b);
    b.raw_hdr = lie;
    b.raw_len = sizeof lie;
    file = tb_build(&b, &n);
    tb_free(&b);
    test_alloc ta;
    test_alloc_init(&ta, 0);
    trove_open_options oa = TROVE_OPEN_OPTIONS_INIT;
    oa.alloc = &ta.a;
    int ok2 = refused_with(file, n, &oa, TROVE_E_CORRUPT,
                           "header: array of 1099511627776 items at 79 cannot fit in the 1 bytes");
    free(file);
    free(raw);
    CHECK(ok);
    CHECK(ok2);
    CHECK(ta.live == 0 && ta.count < 200); /* a few small allocations per open, no big one */
}

static void test_hostile__nesting(void)
{
    /* meta nested 70 deep: refused by the decoder at the default limit. */
    unsigned char raw[256];
    size_t k = 0;
    raw[k++] = 0xa2;
    raw[k++] = 0x64;
    memcpy(raw + k, "meta", 4);
    k += 4;
    raw[k++] = 0xa1;
    raw[k++] = 0x61;
    raw[k++] = 'x';
    for (int i = 0; i < 69; i++)
        raw[k++] = 0x81;
    raw[k++] = 0x80;
    raw[k++] = 0x67;
    memcpy(raw + k, "tensors", 7);
    k += 7;
    raw[k++] = 0x80;
    tb b;
    tb_init(&b);
    b.raw_hdr = raw;
    b.raw_len = k;
    size_t n;
    unsigned char *file = tb_build(&b, &n);
    tb_free(&b);
    REFUSED(file, n, NULL, TROVE_E_LIMIT, "header: nesting deeper than 64");
    free(file);
    /* A shallow tree under a lowered max_depth. */
    tb_init(&b);
    trove_value *m = trove_value_get_mut(b.hdr, "meta");
    trove_value *a1 = trove_value_array(NULL), *a2 = trove_value_array(NULL);
    CHECK(trove_value_array_take(a1, a2) == TROVE_OK);
    set_v(m, "x", a1); /* header map > meta map > array > array: 4 levels */
    trove_open_options o = TROVE_OPEN_OPTIONS_INIT;
    o.max_depth = 3;
    file = tb_build(&b, &n);
    tb_free(&b);
    int refused = refused_with(file, n, &o, TROVE_E_LIMIT, "header: nesting deeper than 3");
    o.max_depth = 4;
    trove_file *f = NULL;
    int ok = opens(file, n, &o, &f);
    trove_close(f);
    free(file);
    CHECK(refused && ok);
}

static void test_hostile__names(void)
{
    tb b;
    /* Invalid UTF-8 (an overlong '/'), patched into the encoded header: the decoder refuses. */
    tb_init(&b);
    tb_add(&b, "w\x01\x02", "float32", 1, S4);
    size_t n;
    unsigned char *file = tb_build(&b, &n);
    tb_free(&b);
    CHECK(patch(file, n, "w\x01\x02", "w\xc0\xaf", 3));
    reseal(file, n);
    REFUSED(file, n, NULL, TROVE_E_CORRUPT, "is not valid UTF-8");
    free(file);
    /* A surrogate and a code point above U+10FFFF likewise. */
    tb_init(&b);
    tb_add(&b, "w\x01\x02\x03", "float32", 1, S4);
    file = tb_build(&b, &n);
    tb_free(&b);
    CHECK(patch(file, n, "w\x01\x02\x03", "\xed\xa0\x80w", 4));
    reseal(file, n);
    REFUSED(file, n, NULL, TROVE_E_CORRUPT, "is not valid UTF-8");
    CHECK(patch(file, n, "\xed\xa0\x80w", "\xf4\x90\x80\x80", 4));
    reseal(file, n);
    REFUSED(file, n, NULL, TROVE_E_CORRUPT, "is not valid UTF-8");
    free(file);
    /* NUL inside a name. */
    tb_init(&b);
    set_s(tb_add(&b, "x", "float32", 1, S4), "name", "a\0b", 3);
    BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, "tensor entry 0: name contains a NUL character");
    /* Empty name; a name over the default limit; over a lowered limit. */
    tb_init(&b);
    set_s(tb_add(&b, "x", "float32", 1, S4), "name", "", 0);
    BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, "tensor entry 0: name of 0 bytes (allowed 1..1024)");
    char longname[1100];
    memset(longname, 'n', sizeof longname);
    longname[1025] = '\0';
    tb_init(&b);
    tb_add(&b, longname, "float32", 1, S4);
    BUILD_REFUSED(&b, NULL, TROVE_E_LIMIT, "name of 1025 bytes (allowed 1..1024)");
    longname[1024] = '\0';
    tb_init(&b);
    tb_add(&b, longname, "float32", 1, S4);
    file = tb_build(&b, &n);
    tb_free(&b);
    trove_file *f = NULL;
    int ok = opens(file, n, NULL, &f); /* exactly at the limit */
    trove_close(f);
    trove_open_options o = TROVE_OPEN_OPTIONS_INIT;
    o.max_name_bytes = 16;
    int refused = refused_with(file, n, &o, TROVE_E_LIMIT, "name of 1024 bytes (allowed 1..16)");
    free(file);
    CHECK(ok && refused);
    /* Duplicate names (not adjacent in file order). */
    tb_init(&b);
    tb_add(&b, "w", "float32", 1, S4);
    tb_add(&b, "v", "float32", 1, S4);
    tb_add(&b, "w", "int64", 2, S23);
    BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, "duplicate tensor name 'w'");
    /* A name that is not a string. */
    tb_init(&b);
    set_v(tb_add(&b, "x", "float32", 1, S4), "name", trove_value_bytes(NULL, "x", 1));
    BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, "tensor entry 0: 'name' missing or not a string");
}

static void test_hostile__fields(void)
{
    tb b;
    /* Unknown dtypes: reserved by the spec but not readable, and nonsense. */
    tb_init(&b);
    set_s(tb_add(&b, "a", "float32", 1, S4), "dtype", "complex64", 9);
    BUILD_REFUSED(&b, NULL, TROVE_E_UNSUPPORTED, "tensor 'a': dtype 'complex64' is not known");
    tb_init(&b);
    set_s(tb_add(&b, "a", "float32", 1, S4), "dtype", "float32\0", 8);
    BUILD_REFUSED(&b, NULL, TROVE_E_UNSUPPORTED, "dtype 'float32' is not known");
    /* Alignment and chunk out of range or not powers of two. */
    static const uint64_t bad_align[] = {0, 32, 96, 131072, UINT64_C(1) << 63};
    for (size_t i = 0; i < sizeof bad_align / sizeof bad_align[0]; i++) {
        tb_init(&b);
        set_u(tb_add(&b, "a", "float32", 1, S4), "align", bad_align[i]);
        char needle[96];
        snprintf(needle, sizeof needle, "tensor 'a': align %llu is not a power of two in 64..65536",
                 (unsigned long long)bad_align[i]);
        BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, needle);
    }
    static const uint64_t bad_chunk[] = {0, 1024, 5000, UINT64_C(1) << 31};
    for (size_t i = 0; i < sizeof bad_chunk / sizeof bad_chunk[0]; i++) {
        tb_init(&b);
        set_u(tb_add(&b, "a", "float32", 1, S4), "chunk", bad_chunk[i]);
        char needle[96];
        snprintf(needle, sizeof needle, "tensor 'a': chunk %llu is not a power of two",
                 (unsigned long long)bad_chunk[i]);
        BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, needle);
    }
    /* A tensor aligned to 4096 at the right offset is fine (control for the align field). */
    tb_init(&b);
    tb_add(&b, "a", "float32", 1, S4);
    tb_put(&b, NULL, 4096 - 80);
    trove_value *e = tb_add(&b, "p", "float32", 1, S4);
    set_u(e, "align", 4096);
    size_t n;
    unsigned char *file = tb_build(&b, &n);
    tb_free(&b);
    trove_file *f = NULL;
    trove_open_options vo = TROVE_OPEN_OPTIONS_INIT;
    vo.flags = TROVE_OPEN_VERIFY;
    int ok = opens(file, n, &vo, &f);
    trove_close(f);
    free(file);
    CHECK(ok);
    /* xxh3 of the wrong length: 16 bytes for a 1-chunk tensor; none for a 2-chunk one. */
    tb_init(&b);
    set_v(tb_add(&b, "a", "float32", 1, S4), "xxh3", trove_value_bytes(NULL, "0123456789abcdef", 16));
    BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, "tensor 'a': 16 bytes of checksums, expected 8");
    tb_init(&b);
    static const uint64_t s1500[1] = {1500};
    set_v(tb_add(&b, "a", "float32", 1, s1500), "xxh3", trove_value_bytes(NULL, "", 0));
    BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, "0 bytes of checksums, expected 16");
    /* blake2b of the wrong size. */
    tb_init(&b);
    set_v(tb_add(&b, "a", "float32", 1, S4), "blake2b", trove_value_bytes(NULL, "abc", 3));
    BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, "tensor 'a': blake2b is not 32 bytes");
    /* Required fields missing or of the wrong type. */
    static const char *fields[] = {"dtype", "shape", "offset", "size", "align", "chunk", "xxh3"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        tb_init(&b);
        e = tb_add(&b, "a", "float32", 1, S4);
        CHECK(trove_value_map_remove(e, fields[i]) == TROVE_OK);
        char needle[96];
        snprintf(needle, sizeof needle, "tensor 'a': '%s' missing or of the wrong type", fields[i]);
        BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, needle);
        tb_init(&b);
        e = tb_add(&b, "a", "float32", 1, S4);
        set_v(e, fields[i], trove_value_float(NULL, 1.0));
        BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, needle);
    }
    tb_init(&b);
    set_v(tb_add(&b, "a", "float32", 1, S4), "offset", trove_value_int(NULL, -64));
    BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, "tensor 'a': 'offset' missing or of the wrong type");
    /* Header structure. */
    tb_init(&b);
    CHECK(trove_value_map_remove(b.hdr, "meta") == TROVE_OK);
    BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, "header: 'meta' missing or not a map");
    tb_init(&b);
    set_v(b.hdr, "meta", trove_value_array(NULL));
    BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, "header: 'meta' missing or not a map");
    tb_init(&b);
    set_v(b.hdr, "tensors", trove_value_map(NULL));
    BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, "header: 'tensors' missing or not an array");
    tb_init(&b);
    CHECK(trove_value_array_take(tensors_of(&b), trove_value_int(NULL, 7)) == TROVE_OK);
    BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, "tensor entry 0 is not a map");
    static const unsigned char arr[] = {0x80};
    tb_init(&b);
    b.raw_hdr = arr;
    b.raw_len = 1;
    BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, "header is not a map");
    static const unsigned char empty_hdr[] = {0};
    tb_init(&b);
    b.raw_hdr = empty_hdr;
    b.raw_len = 0;
    BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, "header: CBOR ends early");
    /* Non-canonical header bytes: the same map with its keys swapped. */
    static const unsigned char swapped[] = {0xa2, 0x67, 't', 'e', 'n', 's', 'o', 'r', 's', 0x80,
                                            0x64, 'm', 'e', 't', 'a', 0xa0};
    /* Positions in CBOR messages and err.offset are both offsets in the file (the header
     * starts at 64 here). */
    tb_init(&b);
    b.raw_hdr = swapped;
    b.raw_len = sizeof swapped;
    file = tb_build(&b, &n);
    trove_error err = {0};
    f = NULL;
    int rc = trove_open_memory(&f, file, n, NULL, &err);
    free(file);
    CHECK(rc == TROVE_E_CORRUPT && f == NULL && err.offset == 74);
    BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, "header: map key 'meta' at 74 is out of canonical order");
}

/* Compressed tensors: flags, codecs, and frames refused by trove_file_tensor_data. */
static void test_hostile__zstd(void)
{
    float vals[16];
    for (int i = 0; i < 16; i++)
        vals[i] = (float)i * 1.5f;
    unsigned char frame[256], small[256];
    size_t fl = ZSTD_compress(frame, sizeof frame, vals, sizeof vals, 3);
    size_t sl = ZSTD_compress(small, sizeof small, vals, 32, 3); /* decompresses to 32 bytes */
    CHECK(!ZSTD_isError(fl) && !ZSTD_isError(sl));
    static const uint64_t s16[1] = {16};
    tb b;
    /* Control: a good frame opens and decompresses to the values. */
    tb_init(&b);
    set_v(tb_add_bytes(&b, "z", "float32", 1, s16, frame, fl), "codec",
          trove_value_cstring(NULL, "zstd"));
    b.incompat = TROVE_INCOMPAT_ZSTD;
    size_t n;
    unsigned char *file = tb_build(&b, &n);
    tb_free(&b);
    trove_file *f = NULL;
    trove_open_options vo = TROVE_OPEN_OPTIONS_INIT;
    vo.flags = TROVE_OPEN_VERIFY;
    trove_error err = {0};
    CHECK(opens(file, n, &vo, &f));
    const void *p = NULL;
    int rc = trove_file_tensor_data(f, 0, &p, &err);
    int same = rc == TROVE_OK && memcmp(p, vals, sizeof vals) == 0;
    trove_close(f);
    /* ... and a lowered max_decompressed_bytes refuses it at open. */
    trove_open_options lo = TROVE_OPEN_OPTIONS_INIT;
    lo.max_decompressed_bytes = 63;
    int limited = refused_with(file, n, &lo, TROVE_E_LIMIT,
                               "tensor 'z' decompresses to 64 bytes, above the limit of 63");
    lo.max_decompressed_bytes = 64;
    int at_limit = opens(file, n, &lo, &f);
    trove_close(f);
    free(file);
    CHECK(same && limited && at_limit);
    /* A decompression bomb: 8 MiB of zeros in a frame of a few hundred bytes is refused by
     * default, and reads when the caller lifts the limit. */
    {
        size_t zn = (size_t)8 << 20;
        unsigned char *zeros = calloc(1, zn), *bomb = malloc(ZSTD_compressBound(zn));
        CHECK(zeros && bomb);
        size_t bl = ZSTD_compress(bomb, ZSTD_compressBound(zn), zeros, zn, 19);
        CHECK(!ZSTD_isError(bl) && bl < 4096);
        static const uint64_t sb[1] = {(uint64_t)8 << 18};
        tb_init(&b);
        set_v(tb_add_bytes(&b, "z", "float32", 1, sb, bomb, bl), "codec",
              trove_value_cstring(NULL, "zstd"));
        b.incompat = TROVE_INCOMPAT_ZSTD;
        file = tb_build(&b, &n);
        tb_free(&b);
        int refused = refused_with(file, n, NULL, TROVE_E_LIMIT, "decompression bomb");
        trove_open_options un = TROVE_OPEN_OPTIONS_INIT;
        un.max_decompressed_bytes = UINT64_MAX;
        f = NULL;
        int lifted = opens(file, n, &un, &f);
        const void *zp = NULL;
        int zrc = lifted ? trove_file_tensor_data(f, 0, &zp, &err) : -1;
        int all_zero = zrc == TROVE_OK && memcmp(zp, zeros, zn) == 0;
        trove_close(f);
        free(file);
        free(zeros);
        free(bomb);
        CHECK(refused && lifted && all_zero);
    }
    /* The codec without the feature bit. */
    tb_init(&b);
    set_v(tb_add_bytes(&b, "z", "float32", 1, s16, frame, fl), "codec",
          trove_value_cstring(NULL, "zstd"));
    BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, "tensor 'z' is compressed but the file does not "
                                             "declare the zstd feature");
    /* An unknown codec; a codec that is not a string. */
    tb_init(&b);
    set_v(tb_add_bytes(&b, "z", "float32", 1, s16, frame, fl), "codec",
          trove_value_cstring(NULL, "lz4"));
    b.incompat = TROVE_INCOMPAT_ZSTD;
    BUILD_REFUSED(&b, NULL, TROVE_E_UNSUPPORTED, "tensor 'z': codec is not \"zstd\"");
    tb_init(&b);
    set_v(tb_add_bytes(&b, "z", "float32", 1, s16, frame, fl), "codec", trove_value_int(NULL, 1));
    b.incompat = TROVE_INCOMPAT_ZSTD;
    BUILD_REFUSED(&b, NULL, TROVE_E_UNSUPPORTED, "codec is not \"zstd\"");
    /* Frames the header accepts (checksums match) but that are wrong: too short a result,
     * garbage, a good frame followed by junk, too long a result. Refused at data time, cleanly
     * and repeatedly (no cached half-result). */
    unsigned char junk[100];
    for (int i = 0; i < 100; i++)
        junk[i] = (unsigned char)(i * 37 + 11);
    unsigned char withtail[300];
    memcpy(withtail, frame, fl);
    memcpy(withtail + fl, "tail", 4);
    static const uint64_t s8[1] = {8};
    struct { const unsigned char *p; size_t len; const uint64_t *shape; } bad[] = {
        {small, sl, s16}, {junk, sizeof junk, s16}, {withtail, fl + 4, s16}, {frame, fl, s8},
        {frame, fl - 1, s16}, {junk, 0, s16},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tb_init(&b);
        set_v(tb_add_bytes(&b, "z", "float32", 1, bad[i].shape, bad[i].p, bad[i].len), "codec",
              trove_value_cstring(NULL, "zstd"));
        b.incompat = TROVE_INCOMPAT_ZSTD;
        file = tb_build(&b, &n);
        tb_free(&b);
        f = NULL;
        int opened = opens(file, n, &vo, &f); /* checksums are right: verify passes */
        int rc1 = opened ? trove_file_tensor_data(f, 0, &p, &err) : 0;
        int msg = strstr(err.message, "tensor 'z': the zstd frame is damaged or does not "
                                      "decompress to") != NULL;
        int rc2 = opened ? trove_file_tensor_data(f, 0, &p, &err) : 0;
        uint8_t dig[TROVE_DIGEST_BYTES];
        int rc3 = opened ? trove_file_digest(f, 0, 1, dig, &err) : 0;
        trove_close(f);
        free(file);
        if (rc1 != TROVE_E_CORRUPT || !msg)
            fprintf(stderr, "  case %zu: rc %d '%s'\n", i, rc1, err.message);
        CHECK(opened && rc1 == TROVE_E_CORRUPT && msg && rc2 == TROVE_E_CORRUPT &&
              rc3 == TROVE_E_CORRUPT);
    }
}

static void test_hostile__framing(void)
{
    tb b;
    tb_init(&b);
    tb_add(&b, "a", "float32", 1, S4);
    size_t n;
    unsigned char *good = tb_build(&b, &n);
    tb_free(&b);
    unsigned char *file = malloc(n);
    /* Wrong magic; too short for a trove file; empty. */
    memcpy(file, good, n);
    file[1] = 'X';
    REFUSED(file, n, NULL, TROVE_E_NOT_TROVE, "not a trove file (bad magic number)");
    memcpy(file, "PK\x03\x04", 4);
    REFUSED(file, n, NULL, TROVE_E_NOT_TROVE, "bad magic number");
    REFUSED(good, 7, NULL, TROVE_E_NOT_TROVE, "file of 7 bytes is too short");
    REFUSED(good, 0, NULL, TROVE_E_NOT_TROVE, "file of 0 bytes is too short");
    REFUSED(good, 127, NULL, TROVE_E_CORRUPT, "file of 127 bytes is too short for a trove file");
    /* Truncated by one byte: the trailer is not where it should be. */
    REFUSED(good, n - 1, NULL, TROVE_E_CORRUPT, "trailer end magic missing");
    /* Major version 2 (and 0); a newer minor version of 1 is read. */
    tb_init(&b);
    tb_add(&b, "a", "float32", 1, S4);
    b.major = 2;
    BUILD_REFUSED(&b, NULL, TROVE_E_VERSION, "format version 2.0: this reader reads major version 1");
    tb_init(&b);
    tb_add(&b, "a", "float32", 1, S4);
    b.major = 0;
    b.minor = 9;
    BUILD_REFUSED(&b, NULL, TROVE_E_VERSION, "format version 0.9");
    tb_init(&b);
    tb_add(&b, "a", "float32", 1, S4);
    b.minor = 7;
    b.compat = UINT64_C(1) << 40;    /* unknown compat: ignored */
    b.ro_compat = UINT64_C(1) << 3; /* unknown ro_compat: readable, not rewritable */
    unsigned char *newer = tb_build(&b, &n);
    tb_free(&b);
    trove_file *f = NULL;
    int ok = opens(newer, n, NULL, &f);
    uint32_t major = 0, minor = 0;
    uint64_t c = 0, r = 0, ic = 1;
    trove_error err = {0};
    int rw = TROVE_OK;
    if (ok) {
        trove_file_version(f, &major, &minor);
        trove_file_features(f, &c, &r, &ic);
        rw = trove_file_rewrite(f, test_path("rw.trove"), "x", NULL, NULL, &err);
    }
    trove_close(f);
    free(newer);
    CHECK(ok && major == 1 && minor == 7 && c == UINT64_C(1) << 40 && r == 8 && ic == 0);
    CHECK(rw == TROVE_E_VERSION && strstr(err.message, "read-only-compatible features 0x8"));
    /* Unknown incompat bit; the encrypted bit. */
    tb_init(&b);
    tb_add(&b, "a", "float32", 1, S4);
    b.incompat = UINT64_C(1) << 2;
    BUILD_REFUSED(&b, NULL, TROVE_E_VERSION, "incompatible features 0x4 unknown to this reader");
    tb_init(&b);
    tb_add(&b, "a", "float32", 1, S4);
    b.incompat = TROVE_INCOMPAT_ZSTD | (UINT64_C(1) << 63);
    BUILD_REFUSED(&b, NULL, TROVE_E_VERSION, "incompatible features 0x8000000000000000");
    tb_init(&b);
    tb_add(&b, "a", "float32", 1, S4);
    b.incompat = TROVE_INCOMPAT_ENCRYPTED;
    BUILD_REFUSED(&b, NULL, TROVE_E_UNSUPPORTED, "the file is encrypted");
    /* Byte-order mark stored big-endian, or garbage. */
    tb_init(&b);
    tb_add(&b, "a", "float32", 1, S4);
    b.bom = 0x04030201;
    BUILD_REFUSED(&b, NULL, TROVE_E_CORRUPT, "byte-order mark 0x04030201 is not 0x01020304");
    /* Header offset/length inconsistent with the file: beyond the end, before the preamble's
     * end, overflowing. */
    static const struct { uint64_t off, len; } hl[] = {
        {0, 0}, {32, 0}, {128, 1 << 20}, {64, UINT64_MAX}, {UINT64_MAX, 2}, {96, 0},
    };
    unsigned char *tr = file + n - 64;
    for (size_t i = 0; i < sizeof hl / sizeof hl[0]; i++) {
        memcpy(file, good, n);
        trove__store_le64(tr + TR_HEADER_OFFSET, hl[i].off);
        trove__store_le64(tr + TR_HEADER_LENGTH, hl[i].len);
        reseal(file, n);
        REFUSED(file, n, NULL, TROVE_E_CORRUPT, "does not end where the trailer starts");
    }
    /* A header larger than max_header_bytes. */
    memcpy(file, good, n);
    uint64_t hlen = trove__load_le64(tr + TR_HEADER_LENGTH);
    trove_open_options o = TROVE_OPEN_OPTIONS_INIT;
    o.max_header_bytes = hlen - 1;
    char needle[96];
    snprintf(needle, sizeof needle, "header of %llu bytes exceeds the limit of %llu",
             (unsigned long long)hlen, (unsigned long long)(hlen - 1));
    REFUSED(file, n, &o, TROVE_E_LIMIT, needle);
    o.max_header_bytes = hlen;
    ok = opens(file, n, &o, &f);
    trove_close(f);
    CHECK(ok);
    /* Header checksum mismatch: one header byte changed, the trailer check kept valid. */
    memcpy(file, good, n);
    file[n - 64 - 3] ^= 1;
    trove__store_le64(tr + TR_CHECK, trove__trailer_check(file, tr));
    REFUSED(file, n, NULL, TROVE_E_CHECKSUM, "header checksum mismatch");
    /* The stored header checksum itself changed. */
    memcpy(file, good, n);
    tr[TR_HEADER_XXH3] ^= 0x80;
    trove__store_le64(tr + TR_CHECK, trove__trailer_check(file, tr));
    REFUSED(file, n, NULL, TROVE_E_CHECKSUM, "header checksum mismatch");
    /* Preamble/trailer check: a reserved preamble byte, a trailer field changed. */
    memcpy(file, good, n);
    file[40] = 1;
    REFUSED(file, n, NULL, TROVE_E_CHECKSUM, "preamble/trailer checksum mismatch");
    memcpy(file, good, n);
    tr[TR_COMPAT] ^= 1;
    REFUSED(file, n, NULL, TROVE_E_CHECKSUM, "preamble/trailer checksum mismatch");
    /* A tensor byte changed: opens lazily, refused by verification with the chunk named. */
    memcpy(file, good, n);
    file[64 + 5] ^= 0xff;
    ok = opens(file, n, NULL, &f);
    int vr = ok ? trove_file_verify(f, &err) : 0;
    trove_close(f);
    CHECK(ok && vr == TROVE_E_CHECKSUM && strstr(err.message, "tensor 'a': checksum mismatch in chunk 0"));
    trove_open_options vv = TROVE_OPEN_OPTIONS_INIT;
    vv.flags = TROVE_OPEN_VERIFY;
    REFUSED(file, n, &vv, TROVE_E_CHECKSUM, "tensor 'a': checksum mismatch in chunk 0");
    free(file);
    free(good);
}

/* Names from the file are quoted in messages: control characters (an escape sequence that
 * would clear the terminal or set its title, a C1 CSI) must not reach whoever prints them. */
static void test_hostile__messages_carry_no_control_characters(void)
{
    static const char evil[] = "w\x1b[2J\x1b]0;owned\x07\xc2\x9b" "1m\x7f";
    tb b;
    tb_init(&b);
    tb_add(&b, evil, "float32", 1, S4);
    tb_add(&b, evil, "int64", 2, S23);
    size_t n;
    unsigned char *file = tb_build(&b, &n);
    tb_free(&b);
    trove_file *f = (trove_file *)1;
    trove_error err = {0};
    int rc = trove_open_memory(&f, file, n, NULL, &err);
    int clean = 1;
    for (const unsigned char *m = (const unsigned char *)err.message; *m; m++)
        clean &= *m >= 0x20 && *m != 0x7f && !(m[0] == 0xc2 && m[1] >= 0x80 && m[1] <= 0x9f);
    free(file);
    if (!clean || !strstr(err.message, "duplicate tensor name 'w?[2J?]0;owned???1m?'"))
        fprintf(stderr, "  message: %s\n", err.message);
    CHECK(rc == TROVE_E_CORRUPT && f == NULL && clean);
    CHECK(strstr(err.message, "duplicate tensor name 'w?[2J?]0;owned???1m?'"));
}

TEST_MAIN(T(test_hostile__builder_makes_valid_files), T(test_hostile__no_tensors),
          T(test_hostile__offsets),
          T(test_hostile__shapes), T(test_hostile__tensor_counts), T(test_hostile__nesting),
          T(test_hostile__names), T(test_hostile__fields), T(test_hostile__zstd),
          T(test_hostile__framing), T(test_hostile__messages_carry_no_control_characters))
