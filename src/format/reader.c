/* reader.c: opening trove files: map (or read) the bytes, validate the preamble, trailer and
 * the whole header before anything is exposed, then serve zero-copy tensor views, checksum
 * verification and decompression on demand. Every number read from the file is hostile until
 * checked: offsets and lengths with overflow-safe arithmetic against the file size, counts
 * against the bytes that remain and the caller's limits (docs/FORMAT.md section 8). */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "format/cbor.h"
#include "format/layout.h"
#include "format/reader_internal.h"
#include "format/value.h"

/* ---- opening ------------------------------------------------------------------------------ */
static int normalise_options(const trove_open_options *in, trove_open_options *o,
                             trove_error *err)
{
    trove_open_options d = TROVE_OPEN_OPTIONS_INIT;
    if (in) {
        if (in->size < sizeof(trove_open_options))
            return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                               "trove_open_options.size is %u, expected %zu (use "
                               "TROVE_OPEN_OPTIONS_INIT)", in->size, sizeof(trove_open_options));
        d = *in;
    }
    if (d.flags & ~(uint32_t)(TROVE_OPEN_VERIFY | TROVE_OPEN_NO_MMAP | TROVE_OPEN_DIRECT |
                              TROVE_OPEN_POPULATE))
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "unknown open flags 0x%x",
                           d.flags);
    /* Limits may be lowered, never raised. */
    if (!d.max_header_bytes || d.max_header_bytes > TROVE_LIMIT_HEADER_BYTES)
        d.max_header_bytes = TROVE_LIMIT_HEADER_BYTES;
    if (!d.max_tensors || d.max_tensors > TROVE_LIMIT_TENSORS)
        d.max_tensors = TROVE_LIMIT_TENSORS;
    if (!d.max_name_bytes || d.max_name_bytes > TROVE_LIMIT_NAME_BYTES)
        d.max_name_bytes = TROVE_LIMIT_NAME_BYTES;
    if (!d.max_depth || d.max_depth > TROVE_LIMIT_DEPTH)
        d.max_depth = TROVE_LIMIT_DEPTH;
    *o = d;
    return TROVE_OK;
}

static trove_file *file_new(const trove_open_options *o)
{
    trove_file *f = trove__calloc(o->alloc, 1, sizeof *f);
    if (f) {
        f->alloc = o->alloc;
        f->opts = *o;
        f->parse_fd = -1;
        f->data_fd = -1;
    }
    return f;
}

TROVE_API void trove_close(trove_file *f)
{
    if (!f)
        return;
    const trove_allocator *a = f->alloc;
    for (size_t i = 0; i < f->n; i++) {
        void *p = atomic_load(&f->t[i].owned);
        trove__free_aligned(a, p);
    }
    trove__free(a, f->t);
    trove__free(a, f->by_name);
    trove__free(a, f->tail);
    if (f->data_fd >= 0)
        close(f->data_fd);
    trove_value_free(f->header);
    switch (f->kind) {
    case SRC_MMAP:
        if (f->base && f->size)
            munmap((void *)f->base, f->size);
        break;
    case SRC_OWNED:
        trove__free_aligned(a, (void *)f->base);
        break;
    case SRC_RELEASE:
        f->opts.release(f->opts.release_ctx, (void *)f->base, f->size);
        break;
    case SRC_BORROWED:
        break;
    }
    trove__free(a, f);
}

/* Parse and validate; on failure the caller closes f. */
static int parse(trove_file *f, trove_error *err);

static int finish_open(trove_file *f, trove_file **out, trove_error *err)
{
    int rc = parse(f, err);
    f->parse_fd = -1;
    if (rc == TROVE_OK && (f->opts.flags & TROVE_OPEN_VERIFY))
        rc = trove_file_verify(f, err);
    if (rc) {
        trove_close(f);
        return rc;
    }
    *out = f;
    return TROVE_OK;
}

/* Read all of fd from offset 0 into owned memory (for NO_MMAP, DIRECT and non-regular fds). */
static int read_whole(trove_file *f, int fd, bool direct, bool regular, uint64_t size,
                      trove_error *err)
{
    const size_t blk = 4096;
    if (regular) {
        if (size > SIZE_MAX - blk)
            return trove__fail(err, TROVE_E_LIMIT, TROVE_NO_OFFSET, "file too large");
        size_t cap = direct ? ((size_t)size + blk - 1) & ~(blk - 1) : (size_t)size;
        uint8_t *p = trove__malloc_aligned(f->alloc, cap ? cap : 1, blk);
        if (!p)
            return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET,
                               "out of memory reading %llu bytes", (unsigned long long)size);
        f->base = p;
        f->kind = SRC_OWNED;
        f->size = size;
        size_t got = 0;
        while (got < size) {
            /* O_DIRECT needs block-multiple lengths; the last read returns short at EOF. */
            size_t want = cap - got;
            if (want > ((size_t)1 << 30))
                want = (size_t)1 << 30;
            ssize_t r = pread(fd, p + got, want, (off_t)got);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                return trove__fail_errno(err, TROVE_E_IO, errno, "cannot read the file at %zu%s",
                                         got, direct ? " (O_DIRECT)" : "");
            if (r == 0)
                return trove__fail(err, TROVE_E_IO, got, "file shrank while being read");
            got += (size_t)r;
        }
        if (got != size)
            return trove__fail(err, TROVE_E_IO, got, "file grew while being read");
        return TROVE_OK;
    }
    /* A pipe or socket: read to EOF, doubling. */
    size_t cap = 1 << 16, len = 0;
    uint8_t *p = trove__malloc_aligned(f->alloc, cap, blk);
    if (!p)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    for (;;) {
        if (len == cap) {
            if (cap > SIZE_MAX / 4) {
                trove__free_aligned(f->alloc, p);
                return trove__fail(err, TROVE_E_LIMIT, len, "input too large");
            }
            uint8_t *np = trove__malloc_aligned(f->alloc, cap * 2, blk);
            if (!np) {
                trove__free_aligned(f->alloc, p);
                return trove__fail(err, TROVE_E_NOMEM, len, "out of memory reading the input");
            }
            memcpy(np, p, len);
            trove__free_aligned(f->alloc, p);
            p = np;
            cap *= 2;
        }
        ssize_t r = read(fd, p + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            trove__free_aligned(f->alloc, p);
            return trove__fail_errno(err, TROVE_E_IO, e, "cannot read the input");
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    f->base = p;
    f->kind = SRC_OWNED;
    f->size = len;
    return TROVE_OK;
}

static int open_on_fd(trove_file *f, int fd, bool direct, trove_error *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return trove__fail_errno(err, TROVE_E_IO, errno, "cannot stat the file");
    if (S_ISDIR(st.st_mode))
        return trove__fail(err, TROVE_E_IO, TROVE_NO_OFFSET, "is a directory");
    bool regular = S_ISREG(st.st_mode);
    uint64_t size = regular ? (uint64_t)st.st_size : 0;
    if (!regular || direct || (f->opts.flags & TROVE_OPEN_NO_MMAP))
        return read_whole(f, fd, direct, regular, size, err);
    f->kind = SRC_MMAP;
    f->size = size;
    if (size == 0)
        return TROVE_OK; /* parse() reports it as too small */
    if (size > SIZE_MAX)
        return trove__fail(err, TROVE_E_LIMIT, TROVE_NO_OFFSET, "file too large to map");
    int mflags = MAP_PRIVATE;
    if (f->opts.flags & TROVE_OPEN_POPULATE) /* not for VERIFY: it reads with pread */
        mflags |= MAP_POPULATE;
    void *p = mmap(NULL, (size_t)size, PROT_READ, mflags, fd, 0);
    if (p == MAP_FAILED)
        return trove__fail_errno(err, TROVE_E_IO, errno, "cannot map %llu bytes",
                                 (unsigned long long)size);
    f->base = p;
    f->parse_fd = fd; /* valid until finish_open() returns: the caller closes fd after */
    f->data_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0); /* -1 is fine: verify reads the mapping */
    return TROVE_OK;
}

TROVE_API int trove_open_fd(trove_file **out, int fd, const trove_open_options *opts,
                            trove_error *err)
{
    if (!out || fd < 0)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_open_fd: bad argument");
    *out = NULL;
    trove_open_options o;
    int rc = normalise_options(opts, &o, err);
    if (rc)
        return rc;
    trove_file *f = file_new(&o);
    if (!f)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    rc = open_on_fd(f, fd, false, err);
    if (rc) {
        trove_close(f);
        return rc;
    }
    return finish_open(f, out, err);
}

TROVE_API int trove_open(trove_file **out, const char *path, const trove_open_options *opts,
                         trove_error *err)
{
    if (!out || !path)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_open: NULL argument");
    *out = NULL;
    trove_open_options o;
    int rc = normalise_options(opts, &o, err);
    if (rc)
        return rc;
    bool direct = (o.flags & TROVE_OPEN_DIRECT) != 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | (direct ? O_DIRECT : 0));
    if (fd < 0 && direct && errno == EINVAL)
        return trove__fail(err, TROVE_E_UNSUPPORTED, TROVE_NO_OFFSET,
                           "'%s': the filesystem does not support O_DIRECT", path);
    if (fd < 0)
        return trove__fail_errno(err, TROVE_E_IO, errno, "cannot open '%s'", path);
    trove_file *f = file_new(&o);
    if (!f) {
        close(fd);
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    }
    rc = open_on_fd(f, fd, direct, err);
    if (rc) {
        close(fd);
        trove_close(f);
        return rc;
    }
    rc = finish_open(f, out, err);
    close(fd);
    return rc;
}

TROVE_API int trove_open_memory(trove_file **out, const void *buf, size_t len,
                                const trove_open_options *opts, trove_error *err)
{
    if (!out || (!buf && len))
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                           "trove_open_memory: NULL argument");
    *out = NULL;
    trove_open_options o;
    int rc = normalise_options(opts, &o, err);
    if (rc)
        return rc;
    trove_file *f = file_new(&o);
    if (!f) {
        if (o.release) /* trove owns buf from the call on, on every path */
            o.release(o.release_ctx, (void *)buf, len);
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    }
    f->base = buf;
    f->size = len;
    f->kind = o.release ? SRC_RELEASE : SRC_BORROWED;
    return finish_open(f, out, err);
}

/* ---- header validation -------------------------------------------------------------------- */
static const trove_value *get_typed(const trove_value *map, const char *key, trove_value_type t)
{
    const trove_value *v = trove_value_get(map, key);
    if (!v)
        return NULL;
    if (t == TROVE_VALUE_INT) /* "unsigned integer": INT >= 0 or UINT */
        return (v->type == TROVE_VALUE_INT && v->as.i >= 0) || v->type == TROVE_VALUE_UINT ? v
                                                                                           : NULL;
    return v->type == t ? v : NULL;
}

static uint64_t uval(const trove_value *v)
{
    return v->type == TROVE_VALUE_UINT ? v->as.u : (uint64_t)v->as.i;
}

static int name_cmp(const void *a, const void *b, void *ctx)
{
    const tensor *t = ctx;
    const tensor *x = &t[*(const uint32_t *)a], *y = &t[*(const uint32_t *)b];
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, n);
    if (c)
        return c;
    return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

#define HFAIL(code, ...) trove__fail(err, (code), f->header_offset, __VA_ARGS__)

static int parse_tensor(trove_file *f, size_t i, const trove_value *ev, uint64_t *cursor,
                        trove_error *err)
{
    tensor *t = &f->t[i];
    if (!ev || ev->type != TROVE_VALUE_MAP)
        return HFAIL(TROVE_E_CORRUPT, "tensor entry %zu is not a map", i);
    const trove_value *name = get_typed(ev, "name", TROVE_VALUE_STRING);
    if (!name)
        return HFAIL(TROVE_E_CORRUPT, "tensor entry %zu: 'name' missing or not a string", i);
    t->name = name->as.s.p;
    t->name_len = name->as.s.len;
    if (t->name_len == 0 || t->name_len > f->opts.max_name_bytes)
        return HFAIL(t->name_len ? TROVE_E_LIMIT : TROVE_E_CORRUPT,
                     "tensor entry %zu: name of %zu bytes (allowed 1..%u)", i, t->name_len,
                     f->opts.max_name_bytes);
    if (memchr(t->name, '\0', t->name_len))
        return HFAIL(TROVE_E_CORRUPT, "tensor entry %zu: name contains a NUL character", i);
    const char *nm = t->name;
#define FIELD(var, key, type)                                                                      \
    const trove_value *var = get_typed(ev, key, type);                                             \
    if (!var)                                                                                      \
        return HFAIL(TROVE_E_CORRUPT, "tensor '%.100s': '%s' missing or of the wrong type", nm, key);
    FIELD(dtype, "dtype", TROVE_VALUE_STRING)
    FIELD(shape, "shape", TROVE_VALUE_ARRAY)
    FIELD(offset, "offset", TROVE_VALUE_INT)
    FIELD(size, "size", TROVE_VALUE_INT)
    FIELD(align, "align", TROVE_VALUE_INT)
    FIELD(chunk, "chunk", TROVE_VALUE_INT)
    FIELD(xxh3, "xxh3", TROVE_VALUE_BYTES)
#undef FIELD
    t->dtype = trove_dtype_from_name(dtype->as.s.p, dtype->as.s.len);
    if (t->dtype == TROVE_DTYPE_INVALID)
        return HFAIL(TROVE_E_UNSUPPORTED, "tensor '%.100s': dtype '%.32s' is not known to this "
                     "reader", nm, dtype->as.s.p);
    size_t rank = trove_value_count(shape);
    if (rank > TROVE_MAX_RANK)
        return HFAIL(TROVE_E_CORRUPT, "tensor '%.100s': rank %zu exceeds %d", nm, rank,
                     TROVE_MAX_RANK);
    t->rank = (uint32_t)rank;
    t->count = 1;
    for (size_t d = 0; d < rank; d++) {
        const trove_value *dim = trove_value_at(shape, d);
        if (!((dim->type == TROVE_VALUE_INT && dim->as.i >= 0) || dim->type == TROVE_VALUE_UINT))
            return HFAIL(TROVE_E_CORRUPT, "tensor '%.100s': dimension %zu is not an unsigned "
                         "integer", nm, d);
        t->shape[d] = uval(dim);
        if (!trove__mul_ok(t->count, t->shape[d], &t->count))
            return HFAIL(TROVE_E_CORRUPT, "tensor '%.100s': element count overflows 64 bits", nm);
    }
    if (!trove__mul_ok(t->count, trove_dtype_size(t->dtype), &t->nbytes))
        return HFAIL(TROVE_E_CORRUPT, "tensor '%.100s': byte size overflows 64 bits", nm);
    t->offset = uval(offset);
    t->stored = uval(size);
    uint64_t al = uval(align), ch = uval(chunk);
    if (!trove__is_pow2(al) || al < 64 || al > TROVE__MAX_ALIGN)
        return HFAIL(TROVE_E_CORRUPT, "tensor '%.100s': align %llu is not a power of two in "
                     "64..65536", nm, (unsigned long long)al);
    if (!trove__is_pow2(ch) || ch < TROVE__MIN_CHUNK || ch > TROVE__MAX_CHUNK)
        return HFAIL(TROVE_E_CORRUPT, "tensor '%.100s': chunk %llu is not a power of two in "
                     "4 KiB..1 GiB", nm, (unsigned long long)ch);
    t->align = (uint32_t)al;
    t->chunk = ch;
    const trove_value *codec = trove_value_get(ev, "codec");
    if (codec) {
        if (codec->type != TROVE_VALUE_STRING || strcmp(codec->as.s.p, "zstd") != 0)
            return HFAIL(TROVE_E_UNSUPPORTED, "tensor '%.100s': codec is not \"zstd\"", nm);
        if (!(f->incompat & TROVE_INCOMPAT_ZSTD))
            return HFAIL(TROVE_E_CORRUPT, "tensor '%.100s' is compressed but the file does not "
                         "declare the zstd feature", nm);
        t->zstd = true;
        uint64_t cap = f->opts.max_decompressed_bytes;
        if (cap == 0) {
            /* Default: a decompression bomb (a tiny frame claiming gigabytes) is refused. */
            if (!trove__mul_ok(t->stored, TROVE_LIMIT_ZSTD_RATIO, &cap) ||
                !trove__add_ok(cap, TROVE__ZSTD_SLACK, &cap))
                cap = UINT64_MAX;
            if (t->nbytes > cap)
                return HFAIL(TROVE_E_LIMIT, "tensor '%.100s' claims %llu bytes from %llu "
                             "compressed bytes, beyond the %u:1 ratio accepted by default (a "
                             "decompression bomb?); raise max_decompressed_bytes to read it", nm,
                             (unsigned long long)t->nbytes, (unsigned long long)t->stored,
                             TROVE_LIMIT_ZSTD_RATIO);
        } else if (t->nbytes > cap) {
            return HFAIL(TROVE_E_LIMIT, "tensor '%.100s' decompresses to %llu bytes, above the "
                         "limit of %llu", nm, (unsigned long long)t->nbytes,
                         (unsigned long long)cap);
        }
    } else if (t->stored != t->nbytes) {
        return HFAIL(TROVE_E_CORRUPT, "tensor '%.100s': size %llu differs from shape x dtype = "
                     "%llu bytes", nm, (unsigned long long)t->stored,
                     (unsigned long long)t->nbytes);
    }
    /* Layout: tensors follow each other in directory order, each at the first offset of its
     * alignment after the previous one: no holes, no overlap, every byte accounted for. */
    uint64_t expect, end;
    if (!trove__align_ok(*cursor, al, &expect))
        return HFAIL(TROVE_E_CORRUPT, "tensor '%.100s': offset overflow", nm);
    if (t->offset != expect)
        return trove__fail(err, TROVE_E_CORRUPT, t->offset,
                           "tensor '%.100s': offset %llu %s (expected %llu)", nm,
                           (unsigned long long)t->offset,
                           t->offset < *cursor ? "overlaps the previous tensor or the preamble"
                                               : "leaves a gap after the previous tensor",
                           (unsigned long long)expect);
    if (!trove__add_ok(t->offset, t->stored, &end) || end > f->header_offset)
        return trove__fail(err, TROVE_E_CORRUPT, t->offset,
                           "tensor '%.100s': %llu bytes at offset %llu run past the header at %llu",
                           nm, (unsigned long long)t->stored, (unsigned long long)t->offset,
                           (unsigned long long)f->header_offset);
    *cursor = end;
    uint64_t nchunks = t->stored / ch + (t->stored % ch != 0);
    if (xxh3->as.s.len != nchunks * 8)
        return HFAIL(TROVE_E_CORRUPT, "tensor '%.100s': %zu bytes of checksums, expected %llu "
                     "(8 per %llu-byte chunk)", nm, xxh3->as.s.len,
                     (unsigned long long)(nchunks * 8), (unsigned long long)ch);
    t->xxh3 = (const uint8_t *)xxh3->as.s.p;
    t->nchunks = (size_t)nchunks;
    const trove_value *bl = trove_value_get(ev, "blake2b");
    if (bl) {
        if (bl->type != TROVE_VALUE_BYTES || bl->as.s.len != 32)
            return HFAIL(TROVE_E_CORRUPT, "tensor '%.100s': blake2b is not 32 bytes", nm);
        t->blake = (const uint8_t *)bl->as.s.p;
    }
    return TROVE_OK;
}

/* Read bytes [off, size) into f->tail with one pread (mmap mode). */
static int read_tail(trove_file *f, uint64_t off, trove_error *err)
{
    uint64_t n = f->size - off;
    if (n > SIZE_MAX)
        return trove__fail(err, TROVE_E_LIMIT, off, "header too large for memory");
    uint8_t *p = trove__malloc(f->alloc, (size_t)n);
    if (!p)
        return trove__fail(err, TROVE_E_NOMEM, off, "out of memory for the header");
    int rc = trove__pread_all(f->parse_fd, p, (size_t)n, off, err, "the header");
    if (rc) {
        trove__free(f->alloc, p);
        return rc;
    }
    trove__free(f->alloc, f->tail);
    f->tail = p;
    f->tail_off = off;
    return TROVE_OK;
}

/* The framing and the header: in mmap mode they are read with at most three preads (the
 * preamble, the last 64 KiB, and the rest of a larger header) rather than by faulting pages of
 * the mapping in, which costs ten times more here; tensor pages are never touched by open. */
#define TAIL_GUESS ((uint64_t)64 << 10)

static int parse(trove_file *f, trove_error *err)
{
    const uint8_t *b = f->base;
    uint64_t size = f->size;
    if (f->parse_fd >= 0 && size >= 8) {
        size_t n = size < TROVE__PREAMBLE_BYTES ? (size_t)size : TROVE__PREAMBLE_BYTES;
        int rc = trove__pread_all(f->parse_fd, f->pre, n, 0, err, "the preamble");
        if (rc)
            return rc;
        b = f->pre;
    }
    if (size >= 8 && memcmp(b, TROVE_ENCRYPTED_MAGIC, 8) == 0)
        return trove__fail(err, TROVE_E_UNSUPPORTED, 0, "the file is an encrypted trove file: "
                           "decrypt it first (trove decrypt) or open it with a key "
                           "(trove_open_encrypted)");
    if (size >= 8 && memcmp(b, TROVE__MAGIC, 8) != 0)
        return trove__fail(err, TROVE_E_NOT_TROVE, 0, "not a trove file (bad magic number)");
    if (size < TROVE__PREAMBLE_BYTES + TROVE__TRAILER_BYTES)
        return trove__fail(err, size < 8 ? TROVE_E_NOT_TROVE : TROVE_E_CORRUPT, size,
                           "file of %llu bytes is too short for a trove file (at least %d)",
                           (unsigned long long)size, TROVE__PREAMBLE_BYTES + TROVE__TRAILER_BYTES);
    f->major = trove__load_le16(b + 8);
    f->minor = trove__load_le16(b + 10);
    if (f->major != TROVE_FORMAT_MAJOR)
        return trove__fail(err, TROVE_E_VERSION, 8,
                           "format version %u.%u: this reader reads major version %d only",
                           f->major, f->minor, TROVE_FORMAT_MAJOR);
    if (trove__load_le32(b + 12) != TROVE__BOM)
        return trove__fail(err, TROVE_E_CORRUPT, 12, "byte-order mark 0x%08x is not 0x01020304 "
                           "stored little-endian", trove__load_le32(b + 12));
    uint64_t troff = size - TROVE__TRAILER_BYTES;
    const uint8_t *tr = f->base + troff;
    if (f->parse_fd >= 0) {
        int rc = read_tail(f, size - (size < TAIL_GUESS ? size : TAIL_GUESS), err);
        if (rc)
            return rc;
        tr = f->tail + (troff - f->tail_off);
    }
    if (memcmp(tr + TR_END_MAGIC, TROVE__END_MAGIC, 8) != 0)
        return trove__fail(err, TROVE_E_CORRUPT, troff + TR_END_MAGIC,
                           "trailer end magic missing: the file is truncated or was not closed");
    if (trove__load_le64(tr + TR_CHECK) != trove__trailer_check(b, tr))
        return trove__fail(err, TROVE_E_CHECKSUM, troff + TR_CHECK,
                           "preamble/trailer checksum mismatch: the framing is damaged");
    f->compat = trove__load_le64(tr + TR_COMPAT);
    f->ro_compat = trove__load_le64(tr + TR_RO_COMPAT);
    f->incompat = trove__load_le64(tr + TR_INCOMPAT);
    if (f->incompat & TROVE_INCOMPAT_ENCRYPTED)
        return trove__fail(err, TROVE_E_UNSUPPORTED, troff + TR_INCOMPAT,
                           "the file is encrypted: decrypt it first (trove decrypt)");
    if (f->incompat & ~TROVE__KNOWN_INCOMPAT)
        return trove__fail(err, TROVE_E_VERSION, troff + TR_INCOMPAT,
                           "the file needs incompatible features 0x%llx unknown to this reader "
                           "(trove %s): upgrade trove",
                           (unsigned long long)(f->incompat & ~TROVE__KNOWN_INCOMPAT),
                           trove_version_string());
    f->header_offset = trove__load_le64(tr + TR_HEADER_OFFSET);
    f->header_len = trove__load_le64(tr + TR_HEADER_LENGTH);
    uint64_t hend;
    if (f->header_offset < TROVE__PREAMBLE_BYTES ||
        !trove__add_ok(f->header_offset, f->header_len, &hend) || hend != troff)
        return trove__fail(err, TROVE_E_CORRUPT, troff,
                           "header at offset %llu of %llu bytes does not end where the trailer "
                           "starts (%llu)", (unsigned long long)f->header_offset,
                           (unsigned long long)f->header_len, (unsigned long long)troff);
    if (f->header_len > f->opts.max_header_bytes)
        return trove__fail(err, TROVE_E_LIMIT, f->header_offset,
                           "header of %llu bytes exceeds the limit of %llu",
                           (unsigned long long)f->header_len,
                           (unsigned long long)f->opts.max_header_bytes);
    uint64_t header_xxh3 = trove__load_le64(tr + TR_HEADER_XXH3);
    const uint8_t *hp = f->base + f->header_offset;
    if (f->parse_fd >= 0) {
        if (f->header_offset < f->tail_off) { /* a header larger than the first guess */
            int rc = read_tail(f, f->header_offset, err);
            if (rc)
                return rc;
        }
        hp = f->tail + (f->header_offset - f->tail_off);
    }
    f->hdr = hp;
    if (trove__xxh3(hp, (size_t)f->header_len) != header_xxh3)
        return trove__fail(err, TROVE_E_CHECKSUM, f->header_offset,
                           "header checksum mismatch: the header (%llu bytes at %llu) is damaged",
                           (unsigned long long)f->header_len,
                           (unsigned long long)f->header_offset);
    int rc = trove__cbor_decode(hp, (size_t)f->header_len, f->header_offset, f->alloc,
                                f->opts.max_depth, "header", &f->header, err);
    if (rc)
        return rc;
    if (f->header->type != TROVE_VALUE_MAP)
        return HFAIL(TROVE_E_CORRUPT, "header is not a map");
    f->meta = get_typed(f->header, "meta", TROVE_VALUE_MAP);
    if (!f->meta)
        return HFAIL(TROVE_E_CORRUPT, "header: 'meta' missing or not a map");
    const trove_value *tv = get_typed(f->header, "tensors", TROVE_VALUE_ARRAY);
    if (!tv)
        return HFAIL(TROVE_E_CORRUPT, "header: 'tensors' missing or not an array");
    size_t n = trove_value_count(tv);
    if (n > f->opts.max_tensors)
        return HFAIL(TROVE_E_LIMIT, "%zu tensors exceed the limit of %u", n, f->opts.max_tensors);
    if (n) {
        f->t = trove__calloc(f->alloc, n, sizeof *f->t);
        f->by_name = trove__calloc(f->alloc, n, sizeof *f->by_name);
        if (!f->t || !f->by_name)
            return HFAIL(TROVE_E_NOMEM, "out of memory for %zu tensor entries", n);
    }
    uint64_t cursor = TROVE__PREAMBLE_BYTES;
    for (size_t i = 0; i < n; i++) {
        atomic_init(&f->t[i].owned, NULL);
        f->n = i + 1; /* so that close frees what this entry may own */
        if ((rc = parse_tensor(f, i, trove_value_at(tv, i), &cursor, err)) != TROVE_OK)
            return rc;
        f->by_name[i] = (uint32_t)i;
    }
    if (cursor != f->header_offset)
        return trove__fail(err, TROVE_E_CORRUPT, cursor,
                           "%llu bytes between the last tensor and the header are not accounted "
                           "for", (unsigned long long)(f->header_offset - cursor));
    if (n > 1) /* qsort_r(NULL, 0, ...) is undefined behaviour: no tensors, no array */
        qsort_r(f->by_name, n, sizeof *f->by_name, name_cmp, f->t);
    for (size_t i = 1; i < n; i++)
        if (name_cmp(&f->by_name[i - 1], &f->by_name[i], f->t) == 0)
            return HFAIL(TROVE_E_CORRUPT, "duplicate tensor name '%.100s'",
                         f->t[f->by_name[i]].name);
    return TROVE_OK;
}

/* ---- accessors ---------------------------------------------------------------------------- */
TROVE_API void trove_file_version(const trove_file *f, uint32_t *major, uint32_t *minor)
{
    if (major)
        *major = f->major;
    if (minor)
        *minor = f->minor;
}

TROVE_API void trove_file_features(const trove_file *f, uint64_t *compat, uint64_t *ro_compat,
                                   uint64_t *incompat)
{
    if (compat)
        *compat = f->compat;
    if (ro_compat)
        *ro_compat = f->ro_compat;
    if (incompat)
        *incompat = f->incompat;
}

TROVE_API uint64_t trove_file_size(const trove_file *f)
{
    return f->size;
}

TROVE_API const trove_value *trove_file_metadata(const trove_file *f)
{
    return f->meta;
}

TROVE_API const trove_value *trove_file_header(const trove_file *f)
{
    return f->header;
}

TROVE_API void trove_file_header_bytes(const trove_file *f, const void **p, size_t *len)
{
    *p = f->hdr;
    *len = (size_t)f->header_len;
}

TROVE_API size_t trove_file_tensor_count(const trove_file *f)
{
    return f->n;
}

TROVE_API int trove_file_tensor_info(const trove_file *f, size_t i, trove_tensor_info *out)
{
    if (!f || !out || i >= f->n)
        return TROVE_E_NOT_FOUND;
    const tensor *t = &f->t[i];
    *out = (trove_tensor_info){t->name,   t->name_len, t->dtype,  t->rank,    t->shape,
                               t->count,  t->nbytes,   t->offset, t->stored, t->align,
                               t->zstd ? 1u : 0u};
    return TROVE_OK;
}

TROVE_API int trove_file_find(const trove_file *f, const char *name, size_t *index)
{
    if (!f || !name)
        return TROVE_E_INVALID;
    size_t len = strlen(name), lo = 0, hi = f->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const tensor *t = &f->t[f->by_name[mid]];
        size_t m = t->name_len < len ? t->name_len : len;
        int c = memcmp(t->name, name, m);
        if (c == 0)
            c = t->name_len < len ? -1 : t->name_len > len;
        if (c == 0) {
            if (index)
                *index = f->by_name[mid];
            return TROVE_OK;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return TROVE_E_NOT_FOUND;
}

static void *zalloc(void *opaque, size_t n)
{
    return trove__malloc(opaque, n);
}
static void zfree(void *opaque, void *p)
{
    trove__free(opaque, p);
}

int trove__decompress(const trove_file *f, const tensor *t, uint8_t *buf, trove_error *err)
{
    const uint8_t *src = f->base + t->offset;
    ZSTD_customMem cm = {zalloc, zfree, (void *)f->alloc};
    ZSTD_DCtx *dc = ZSTD_createDCtx_advanced(cm);
    if (!dc)
        return trove__fail(err, TROVE_E_NOMEM, t->offset, "out of memory (zstd)");
    /* Exactly one frame filling the stored bytes, decompressing to exactly nbytes. */
    size_t fsz = ZSTD_findFrameCompressedSize(src, (size_t)t->stored);
    size_t got = ZSTD_isError(fsz) || fsz != t->stored
                     ? (size_t)-1
                     : ZSTD_decompressDCtx(dc, buf, (size_t)t->nbytes, src, (size_t)t->stored);
    ZSTD_freeDCtx(dc);
    if (ZSTD_isError(got) || got != t->nbytes)
        return trove__fail(err, TROVE_E_CORRUPT, t->offset,
                           "tensor '%s': the zstd frame is damaged or does not decompress to "
                           "%llu bytes", t->name, (unsigned long long)t->nbytes);
    return TROVE_OK;
}

TROVE_API int trove_file_tensor_data(const trove_file *f, size_t i, const void **data,
                                     trove_error *err)
{
    if (!f || !data || i >= f->n)
        return trove__fail(err, TROVE_E_NOT_FOUND, TROVE_NO_OFFSET, "no tensor %zu", i);
    tensor *t = &((trove_file *)f)->t[i]; /* the cache is the only mutable part: atomic */
    size_t esize = trove_dtype_size(t->dtype);
    bool swap = !trove__host_is_le() && esize > 1;
    if (!t->zstd && !swap) {
        *data = f->base + t->offset;
        return TROVE_OK;
    }
    void *have = atomic_load_explicit(&t->owned, memory_order_acquire);
    if (have) {
        *data = have;
        return TROVE_OK;
    }
    if (t->nbytes > SIZE_MAX - 64)
        return trove__fail(err, TROVE_E_LIMIT, t->offset, "tensor '%s' too large for memory",
                           t->name);
    uint8_t *buf = trove__malloc_aligned(f->alloc, (size_t)t->nbytes, 64);
    if (!buf)
        return trove__fail(err, TROVE_E_NOMEM, t->offset,
                           "out of memory for %llu bytes of tensor '%s'",
                           (unsigned long long)t->nbytes, t->name);
    if (t->zstd) {
        int rc = trove__decompress(f, t, buf, err);
        if (rc) {
            trove__free_aligned(f->alloc, buf);
            return rc;
        }
    } else {
        memcpy(buf, f->base + t->offset, (size_t)t->nbytes);
    }
    if (swap)
        trove__byteswap(buf, (size_t)t->nbytes, esize);
    void *expected = NULL;
    if (!atomic_compare_exchange_strong_explicit(&t->owned, &expected, buf, memory_order_acq_rel,
                                                 memory_order_acquire)) {
        trove__free_aligned(f->alloc, buf); /* another thread won: use its copy */
        buf = expected;
    }
    *data = buf;
    return TROVE_OK;
}

TROVE_API int trove_file_verify_tensor(const trove_file *f, size_t i, trove_error *err)
{
    if (!f || i >= f->n)
        return trove__fail(err, TROVE_E_NOT_FOUND, TROVE_NO_OFFSET, "no tensor %zu", i);
    const tensor *t = &f->t[i];
    uint64_t prev_end = TROVE__PREAMBLE_BYTES;
    if (i > 0)
        prev_end = f->t[i - 1].offset + f->t[i - 1].stored;
    for (uint64_t o = prev_end; o < t->offset; o++)
        if (f->base[o] != 0)
            return trove__fail(err, TROVE_E_CHECKSUM, o,
                               "padding byte before tensor '%s' at offset %llu is not zero",
                               t->name, (unsigned long long)o);
    for (size_t c = 0; c < t->nchunks; c++) {
        uint64_t off = (uint64_t)c * t->chunk;
        uint64_t n = t->stored - off < t->chunk ? t->stored - off : t->chunk;
        if (trove__xxh3(f->base + t->offset + off, (size_t)n) != trove__load_le64(t->xxh3 + 8 * c))
            return trove__fail(err, TROVE_E_CHECKSUM, t->offset + off,
                               "tensor '%s': checksum mismatch in chunk %zu (bytes %llu..%llu of "
                               "the file)", t->name, c, (unsigned long long)(t->offset + off),
                               (unsigned long long)(t->offset + off + n));
    }
    return TROVE_OK;
}

TROVE_API int trove_file_verify(const trove_file *f, trove_error *err)
{
    if (!f)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "file is NULL");
    return trove__verify_all(f, err);
}
