/* writer.c: the streaming, atomic writer of trove files (docs/FORMAT.md).
 *
 * Tensor bytes go to the output as they are added, hashed chunk by chunk on the way (a chunk is
 * hashed, then written while still in cache), so memory stays O(1) in tensor sizes. The header
 * (metadata + directory) and the trailer are written by commit; a path target is a temporary
 * file renamed over the path only after fsync. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "format/cbor.h"
#include "format/layout.h"
#include "format/value.h"
#include "format/writer_internal.h"

#define STAGE_BYTES ((size_t)4 << 20) /* staging buffer: stream reads, byte swaps, zstd output */
#define OUTBUF_BYTES ((size_t)1 << 20)

typedef struct entry {
    char *name;
    size_t name_len;
    trove_dtype dtype;
    uint32_t rank;
    uint64_t shape[TROVE_MAX_RANK];
    uint64_t nbytes, offset, stored;
    uint32_t align;
    bool zstd;
    uint8_t *xxh3;     /* 8 bytes per chunk */
    size_t nchunks;
    bool has_blake;
    uint8_t blake[32];
} entry;

struct trove_writer {
    const trove_allocator *alloc;
    trove_write_options opts;
    int fd;
    char *path, *tmp_path;          /* NULL for a descriptor target */
    uint64_t pos;                   /* bytes written so far (logical file position) */
    bool broken, done;
    entry *entries;
    size_t n, cap;
    uint32_t *names;                /* open-addressing set of entry index + 1 */
    size_t names_cap;
    trove_value *meta;
    trove_value *extra;             /* map of extra top-level header entries */
    trove__chunk_hasher *ch;
    uint8_t *stage;                 /* STAGE_BYTES */
    uint8_t *out;                   /* OUTBUF_BYTES of buffered small writes */
    size_t out_len;
    ZSTD_CCtx *cctx;
    uint8_t *zbuf;                  /* zstd output, ZSTD_CStreamOutSize() bytes */
    size_t zcap;
    uint64_t incompat;
};

static const uint8_t zeros[TROVE__MAX_ALIGN];

/* ---- zstd through our allocator ----------------------------------------------------------- */
static void *zalloc(void *opaque, size_t n)
{
    return trove__malloc(opaque, n);
}
static void zfree(void *opaque, void *p)
{
    trove__free(opaque, p);
}

/* ---- output ------------------------------------------------------------------------------- */
static int flush_out(trove_writer *w, trove_error *err)
{
    if (w->out_len == 0)
        return TROVE_OK;
    int rc = trove__write_all(w->fd, w->out, w->out_len, err, "trove file");
    w->out_len = 0;
    return rc;
}

static int out_write(trove_writer *w, const void *p, size_t n, trove_error *err)
{
    if (n >= OUTBUF_BYTES / 2) {
        int rc = flush_out(w, err);
        if (rc == TROVE_OK)
            rc = trove__write_all(w->fd, p, n, err, "trove file");
        if (rc == TROVE_OK)
            w->pos += n;
        return rc;
    }
    if (OUTBUF_BYTES - w->out_len < n) {
        int rc = flush_out(w, err);
        if (rc)
            return rc;
    }
    memcpy(w->out + w->out_len, p, n);
    w->out_len += n;
    w->pos += n;
    return TROVE_OK;
}

/* Stored bytes of the current tensor: checksum, then write (hash first keeps them in cache). */
static int sink(trove_writer *w, const void *p, size_t n, trove_error *err)
{
    const uint8_t *b = p;
    while (n > 0) {
        size_t step = n < TROVE__DEFAULT_CHUNK ? n : (size_t)TROVE__DEFAULT_CHUNK;
        if (trove__chunk_hasher_update(w->ch, b, step) != TROVE_OK)
            return trove__fail(err, TROVE_E_NOMEM, w->pos, "out of memory for checksums");
        int rc = out_write(w, b, step, err);
        if (rc)
            return rc;
        b += step;
        n -= step;
    }
    return TROVE_OK;
}

/* ---- construction --------------------------------------------------------------------- */
static int check_options(const trove_write_options *o, trove_error *err)
{
    if (o->size < sizeof(trove_write_options))
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                           "trove_write_options.size is %u, expected %zu (use "
                           "TROVE_WRITE_OPTIONS_INIT)", o->size, sizeof(trove_write_options));
    if (o->alignment && (!trove__is_pow2(o->alignment) || o->alignment < 64 ||
                         o->alignment > TROVE__MAX_ALIGN))
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                           "alignment %u is not a power of two between 64 and 65536", o->alignment);
    if (o->chunk_bytes && (!trove__is_pow2(o->chunk_bytes) || o->chunk_bytes < TROVE__MIN_CHUNK ||
                           o->chunk_bytes > TROVE__MAX_CHUNK))
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                           "chunk_bytes %u is not a power of two between 4 KiB and 1 GiB",
                           o->chunk_bytes);
    if (o->zstd_level < 0 || o->zstd_level > ZSTD_maxCLevel())
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "zstd_level %d out of range 0..%d",
                           o->zstd_level, ZSTD_maxCLevel());
    return TROVE_OK;
}

static int writer_new(trove_writer **out, const trove_write_options *opts, trove_error *err)
{
    trove_write_options o = TROVE_WRITE_OPTIONS_INIT;
    if (opts) {
        if (opts->size < sizeof(trove_write_options))
            return check_options(opts, err);
        o = *opts;
    }
    int rc = check_options(&o, err);
    if (rc)
        return rc;
    if (!o.alignment)
        o.alignment = TROVE__DEFAULT_ALIGN;
    if (!o.chunk_bytes)
        o.chunk_bytes = (uint32_t)TROVE__DEFAULT_CHUNK;
    if (!o.zstd_level)
        o.zstd_level = 3;
    if (!o.mode)
        o.mode = 0644;
    const trove_allocator *a = o.alloc;
    trove_writer *w = trove__calloc(a, 1, sizeof *w);
    if (!w)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    w->alloc = a;
    w->opts = o;
    w->fd = -1;
    w->ch = trove__chunk_hasher_new(a, o.chunk_bytes);
    w->stage = trove__malloc_aligned(a, STAGE_BYTES, 64);
    w->out = trove__malloc(a, OUTBUF_BYTES);
    w->meta = trove_value_map(a);
    w->extra = trove_value_map(a);
    if (!w->ch || !w->stage || !w->out || !w->meta || !w->extra) {
        trove_writer_free(w);
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    }
    *out = w;
    return TROVE_OK;
}

static int start(trove_writer *w, trove_error *err)
{
    uint8_t pre[TROVE__PREAMBLE_BYTES];
    trove__write_preamble(pre);
    return out_write(w, pre, sizeof pre, err);
}

TROVE_API int trove_writer_open(trove_writer **out, const char *path,
                                const trove_write_options *opts, trove_error *err)
{
    if (!out || !path || !*path)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_writer_open: no path");
    *out = NULL;
    trove_writer *w;
    int rc = writer_new(&w, opts, err);
    if (rc)
        return rc;
    w->path = trove__strndup(w->alloc, path, strlen(path));
    if (!w->path) {
        trove_writer_free(w);
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    }
    rc = trove__tmpfile_near(w->alloc, path, w->opts.mode, &w->fd, &w->tmp_path, err);
    if (rc == TROVE_OK)
        rc = start(w, err);
    if (rc) {
        trove_writer_free(w);
        return rc;
    }
    *out = w;
    return TROVE_OK;
}

TROVE_API int trove_writer_open_fd(trove_writer **out, int fd, const trove_write_options *opts,
                                   trove_error *err)
{
    if (!out || fd < 0)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "trove_writer_open_fd: bad fd");
    *out = NULL;
    trove_writer *w;
    int rc = writer_new(&w, opts, err);
    if (rc)
        return rc;
    w->fd = fd;
    rc = start(w, err);
    if (rc) {
        trove_writer_free(w);
        return rc;
    }
    *out = w;
    return TROVE_OK;
}

TROVE_API void trove_writer_free(trove_writer *w)
{
    if (!w)
        return;
    const trove_allocator *a = w->alloc;
    if (w->tmp_path) {
        if (w->fd >= 0)
            close(w->fd);
        if (!w->done)
            unlink(w->tmp_path);
    }
    for (size_t i = 0; i < w->n; i++) {
        trove__free(a, w->entries[i].name);
        trove__free(a, w->entries[i].xxh3);
    }
    trove__free(a, w->entries);
    trove__free(a, w->names);
    trove__free(a, w->path);
    trove__free(a, w->tmp_path);
    trove_value_free(w->meta);
    trove_value_free(w->extra);
    trove__chunk_hasher_free(w->ch);
    trove__free_aligned(a, w->stage);
    trove__free(a, w->out);
    ZSTD_freeCCtx(w->cctx);
    trove__free(a, w->zbuf);
    trove__free(a, w);
}

static int usable(trove_writer *w, trove_error *err)
{
    if (!w)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "writer is NULL");
    if (w->done || w->broken)
        return trove__fail(err, TROVE_E_STATE, TROVE_NO_OFFSET,
                           "writer already %s: only trove_writer_free() is allowed",
                           w->done ? "committed" : "failed");
    return TROVE_OK;
}

static bool depth_ok(const trove_value *v, uint32_t depth)
{
    if (depth > TROVE_LIMIT_DEPTH)
        return false;
    for (size_t i = 0; i < trove_value_count(v); i++) {
        const trove_value *c = v->type == TROVE_VALUE_ARRAY ? v->as.a.items[i] : v->as.m.e[i].value;
        if ((c->type == TROVE_VALUE_ARRAY || c->type == TROVE_VALUE_MAP) && !depth_ok(c, depth + 1))
            return false;
    }
    return true;
}

TROVE_API int trove_writer_set_metadata(trove_writer *w, trove_value *meta, trove_error *err)
{
    int rc = usable(w, err);
    if (rc || !meta || meta->type != TROVE_VALUE_MAP) {
        trove_value_free(meta);
        return rc ? rc : trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                                     "metadata must be a map");
    }
    /* "meta" sits at depth 1 of the header, so the tree may be one level less deep. */
    if (!depth_ok(meta, 2)) {
        trove_value_free(meta);
        return trove__fail(err, TROVE_E_LIMIT, TROVE_NO_OFFSET,
                           "metadata nests deeper than %u levels", TROVE_LIMIT_DEPTH - 2);
    }
    trove_value_free(w->meta);
    w->meta = meta;
    return TROVE_OK;
}

TROVE_API int trove_writer_set_header_entry(trove_writer *w, const char *key, trove_value *value,
                                            trove_error *err)
{
    int rc = usable(w, err);
    if (rc || !key || !value) {
        trove_value_free(value);
        return rc ? rc : trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "NULL key or value");
    }
    if (!strcmp(key, "meta") || !strcmp(key, "tensors")) {
        trove_value_free(value);
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                           "header entry '%s' is reserved; use the writer's own functions", key);
    }
    if (!depth_ok(value, 2)) {
        trove_value_free(value);
        return trove__fail(err, TROVE_E_LIMIT, TROVE_NO_OFFSET, "header entry '%s' nests too deep",
                           key);
    }
    rc = trove_value_map_set(w->extra, key, value);
    if (rc)
        return trove__fail(err, rc, TROVE_NO_OFFSET, "cannot set header entry '%s'", key);
    return TROVE_OK;
}

/* ---- tensor names: open-addressing set ------------------------------------------------- */
static size_t name_slot(const trove_writer *w, const char *name, size_t len, bool *found)
{
    size_t mask = w->names_cap - 1;
    size_t i = (size_t)trove__xxh3(name, len) & mask;
    for (;;) {
        uint32_t v = w->names[i];
        if (v == 0) {
            *found = false;
            return i;
        }
        const entry *e = &w->entries[v - 1];
        if (e->name_len == len && memcmp(e->name, name, len) == 0) {
            *found = true;
            return i;
        }
        i = (i + 1) & mask;
    }
}

static int names_grow(trove_writer *w)
{
    if (w->names_cap && (w->n + 1) * 2 <= w->names_cap)
        return TROVE_OK;
    size_t ncap = w->names_cap ? w->names_cap * 2 : 64;
    uint32_t *old = w->names;
    size_t oldcap = w->names_cap;
    w->names = trove__calloc(w->alloc, ncap, sizeof *w->names);
    if (!w->names) {
        w->names = old;
        return TROVE_E_NOMEM;
    }
    w->names_cap = ncap;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i]) {
            bool f;
            const entry *e = &w->entries[old[i] - 1];
            w->names[name_slot(w, e->name, e->name_len, &f)] = old[i];
        }
    trove__free(w->alloc, old);
    return TROVE_OK;
}

/* ---- adding tensors ------------------------------------------------------------------- */
typedef struct source {
    const uint8_t *mem;      /* memory source, or NULL */
    trove_read_fn read;
    void *ctx;
} source;

static int check_spec(trove_writer *w, const trove_tensor_spec *s, uint64_t *nbytes,
                      trove_error *err)
{
    if (!s || !s->name)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "tensor spec or name is NULL");
    size_t len = strlen(s->name);
    if (len == 0 || len > TROVE_LIMIT_NAME_BYTES)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                           "tensor name must have 1 to %u bytes (has %zu)", TROVE_LIMIT_NAME_BYTES,
                           len);
    if (!trove__utf8_valid(s->name, len))
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "tensor name is not valid UTF-8");
    size_t esize = trove_dtype_size(s->dtype);
    if (!esize)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "tensor '%s': invalid dtype %d",
                           s->name, (int)s->dtype);
    if (s->rank > TROVE_MAX_RANK || (s->rank && !s->shape))
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                           "tensor '%s': rank %u (max %d) or missing shape", s->name, s->rank,
                           TROVE_MAX_RANK);
    if (s->flags & ~(uint32_t)TROVE_TENSOR_ZSTD)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "tensor '%s': unknown flags 0x%x",
                           s->name, s->flags);
    if (s->alignment && (!trove__is_pow2(s->alignment) || s->alignment < 64 ||
                         s->alignment > TROVE__MAX_ALIGN))
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                           "tensor '%s': alignment %u is not a power of two in 64..65536", s->name,
                           s->alignment);
    uint64_t count = 1;
    for (uint32_t i = 0; i < s->rank; i++)
        if (!trove__mul_ok(count, s->shape[i], &count))
            return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                               "tensor '%s': element count overflows 64 bits", s->name);
    if (!trove__mul_ok(count, esize, nbytes) || *nbytes > (uint64_t)INT64_MAX)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                           "tensor '%s': byte size overflows", s->name);
    if (w->n >= TROVE_LIMIT_TENSORS)
        return trove__fail(err, TROVE_E_LIMIT, TROVE_NO_OFFSET, "more than %u tensors",
                           TROVE_LIMIT_TENSORS);
    return TROVE_OK;
}

/* Pull the next piece of logical bytes from the source (at most cap, at least 1 unless done). */
static int pull(trove_writer *w, source *src, uint64_t left, const uint8_t **p, size_t *n,
                const char *name, trove_error *err)
{
    size_t want = left < STAGE_BYTES ? (size_t)left : STAGE_BYTES;
    if (src->mem) {
        *p = src->mem;
        *n = want;
        src->mem += want;
        return TROVE_OK;
    }
    size_t got = 0;
    while (got < want) {
        long long r = src->read(src->ctx, w->stage + got, want - got);
        if (r < 0)
            return trove__fail(err, (int)r, w->pos, "tensor '%s': the read callback failed (%s)",
                               name, trove_strerror((int)r));
        if (r == 0)
            return trove__fail(err, TROVE_E_INVALID, w->pos,
                               "tensor '%s': the read callback ended %llu bytes early", name,
                               (unsigned long long)(left - got));
        if ((unsigned long long)r > want - got)
            return trove__fail(err, TROVE_E_INVALID, w->pos,
                               "tensor '%s': the read callback returned more than asked", name);
        got += (size_t)r;
    }
    *p = w->stage;
    *n = got;
    return TROVE_OK;
}

static int compress_piece(trove_writer *w, const uint8_t *p, size_t n, bool last, trove_error *err)
{
    ZSTD_inBuffer in = {p, n, 0};
    for (;;) {
        ZSTD_outBuffer out = {w->zbuf, w->zcap, 0};
        size_t left = ZSTD_compressStream2(w->cctx, &out, &in, last ? ZSTD_e_end : ZSTD_e_continue);
        if (ZSTD_isError(left))
            return trove__fail(err, TROVE_E_NOMEM, w->pos, "zstd: %s", ZSTD_getErrorName(left));
        int rc = sink(w, w->zbuf, out.pos, err);
        if (rc)
            return rc;
        if (last ? left == 0 : in.pos == in.size)
            return TROVE_OK;
    }
}

/* ---- pipelined hashing of large in-memory tensors ---------------------------------------- */
#define PIPELINE_MIN_BYTES ((uint64_t)32 << 20)

typedef struct hash_job {
    trove__chunk_hasher *ch;
    trove__tree_hasher *th;    /* NULL unless digests are stored */
    const uint8_t *p;
    uint64_t n;
    int rc;
} hash_job;

static void *hash_worker(void *arg)
{
    hash_job *j = arg;
    uint64_t off = 0;
    while (j->rc == TROVE_OK && off < j->n) {
        size_t step = j->n - off < STAGE_BYTES ? (size_t)(j->n - off) : STAGE_BYTES;
        j->rc = trove__chunk_hasher_update(j->ch, j->p + off, step);
        if (j->rc == TROVE_OK && j->th)
            j->rc = trove__tree_hasher_update(j->th, j->p + off, step);
        off += step;
    }
    return NULL;
}

/* Write n bytes from p while another thread computes their checksums (and digest): the save
 * then costs what write() costs, not write() plus hashing. Serial when no thread can start. */
static int add_pipelined(trove_writer *w, const uint8_t *p, uint64_t n, trove__tree_hasher *th,
                         trove_error *err)
{
    hash_job job = {w->ch, th, p, n, TROVE_OK};
    pthread_t tid;
    bool threaded = pthread_create(&tid, NULL, hash_worker, &job) == 0;
    if (!threaded)
        hash_worker(&job);
    int rc = TROVE_OK;
    for (uint64_t off = 0; rc == TROVE_OK && off < n;) {
        size_t step = n - off < ((uint64_t)1 << 30) ? (size_t)(n - off) : ((size_t)1 << 30);
        rc = out_write(w, p + off, step, err);
        off += step;
    }
    if (threaded)
        pthread_join(tid, NULL);
    if (rc)
        return rc;
    if (job.rc)
        return trove__fail(err, job.rc, w->pos, "out of memory for checksums");
    return TROVE_OK;
}

/* A compressed tensor may not claim more than TROVE_LIMIT_ZSTD_RATIO times its stored size
 * (plus 1 MiB): readers refuse such decompression bombs by default. An honest tensor that
 * compresses that well (all zeros) is rewritten uncompressed when the bytes are in memory and
 * the output can seek back; otherwise the writer refuses, so that it never writes a file that
 * readers refuse by default. */
static int fix_extreme_ratio(trove_writer *w, entry *e, const uint8_t *mem, trove_error *err)
{
    uint64_t allowed;
    if (!trove__mul_ok(e->stored, TROVE_LIMIT_ZSTD_RATIO, &allowed) ||
        !trove__add_ok(allowed, TROVE__ZSTD_SLACK, &allowed) || e->nbytes <= allowed)
        return TROVE_OK;
    if (!mem || !w->tmp_path)
        return trove__fail(err, TROVE_E_LIMIT, e->offset,
                           "tensor '%s' compresses %llu bytes into %llu, beyond the %u:1 ratio "
                           "readers accept by default: add it without TROVE_TENSOR_ZSTD", e->name,
                           (unsigned long long)e->nbytes, (unsigned long long)e->stored,
                           TROVE_LIMIT_ZSTD_RATIO);
    int rc = flush_out(w, err);
    if (rc)
        return rc;
    if (ftruncate(w->fd, (off_t)e->offset) != 0 || lseek(w->fd, (off_t)e->offset, SEEK_SET) < 0)
        return trove__fail_errno(err, TROVE_E_IO, errno, "cannot rewind the temporary file");
    w->pos = e->offset;
    trove__chunk_hasher_reset(w->ch);
    e->zstd = false;
    return sink(w, mem, (size_t)e->nbytes, err);
}

static int add(trove_writer *w, const trove_tensor_spec *s, source *src, trove_error *err)
{
    const uint8_t *mem_start = src->mem;
    int rc = usable(w, err);
    if (rc)
        return rc;
    uint64_t nbytes;
    if ((rc = check_spec(w, s, &nbytes, err)) != TROVE_OK)
        return rc;
    size_t len = strlen(s->name);
    if (names_grow(w) != TROVE_OK)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    bool found;
    size_t slot = name_slot(w, s->name, len, &found);
    if (found)
        return trove__fail(err, TROVE_E_EXISTS, TROVE_NO_OFFSET, "tensor '%s' was already added",
                           s->name);
    if (w->n == w->cap) {
        size_t ncap = w->cap ? w->cap * 2 : 16;
        entry *ne = trove__realloc(w->alloc, w->entries, ncap * sizeof *ne);
        if (!ne)
            return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
        w->entries = ne;
        w->cap = ncap;
    }
    bool zstd = (s->flags & TROVE_TENSOR_ZSTD) != 0;
    if (zstd && !w->zbuf) {
        ZSTD_customMem cm = {zalloc, zfree, (void *)w->alloc};
        if (!w->cctx)
            w->cctx = ZSTD_createCCtx_advanced(cm);
        w->zcap = ZSTD_CStreamOutSize();
        w->zbuf = w->cctx ? trove__malloc(w->alloc, w->zcap) : NULL;
        if (!w->zbuf)
            return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory (zstd)");
    }
    entry e = {0};
    e.name = trove__strndup(w->alloc, s->name, len);
    if (!e.name)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    e.name_len = len;
    e.dtype = s->dtype;
    e.rank = s->rank;
    for (uint32_t i = 0; i < s->rank; i++)
        e.shape[i] = s->shape[i];
    e.nbytes = nbytes;
    e.align = s->alignment ? s->alignment : w->opts.alignment;
    e.zstd = zstd;

    /* From here on a failure leaves a partial tensor in the output: the writer is broken. */
    trove__tree_hasher *th = NULL;
    uint64_t start;
    if (!trove__align_ok(w->pos, e.align, &start)) {
        rc = trove__fail(err, TROVE_E_LIMIT, w->pos, "file offset overflow");
        goto fail;
    }
    if ((rc = out_write(w, zeros, (size_t)(start - w->pos), err)) != TROVE_OK)
        goto fail;
    e.offset = start;
    trove__chunk_hasher_reset(w->ch);
    if (w->opts.flags & TROVE_WRITE_DIGESTS) {
        th = trove__tree_hasher_new(w->alloc);
        if (!th) {
            rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
            goto fail;
        }
    }
    if (zstd) {
        ZSTD_CCtx_reset(w->cctx, ZSTD_reset_session_and_parameters);
        ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, w->opts.zstd_level);
        ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 0);
        ZSTD_CCtx_setPledgedSrcSize(w->cctx, nbytes);
    }
    size_t esize = trove_dtype_size(s->dtype);
    bool swap = !trove__host_is_le() && esize > 1;
    if (src->mem && !zstd && !swap && nbytes >= PIPELINE_MIN_BYTES) {
        /* Large tensor in memory: hash on a second thread while this one writes. */
        if ((rc = add_pipelined(w, src->mem, nbytes, th, err)) != TROVE_OK)
            goto fail;
    } else {
        uint64_t left = nbytes;
        do {
            const uint8_t *p = (const uint8_t *)"";
            size_t n = 0;
            if (left && (rc = pull(w, src, left, &p, &n, e.name, err)) != TROVE_OK)
                goto fail;
            if (swap && n) {
                if (p != w->stage)
                    memcpy(w->stage, p, n);
                trove__byteswap(w->stage, n, esize);
                p = w->stage;
            }
            left -= n;
            if (th && n && trove__tree_hasher_update(th, p, n) != TROVE_OK) {
                rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
                goto fail;
            }
            rc = zstd ? compress_piece(w, p, n, left == 0, err)
                      : sink(w, p, n, err);
            if (rc)
                goto fail;
        } while (left > 0);
    }
    e.stored = w->pos - e.offset;
    if (zstd) {
        if ((rc = fix_extreme_ratio(w, &e, mem_start, err)) != TROVE_OK)
            goto fail;
        e.stored = w->pos - e.offset;
        zstd = e.zstd;
    }
    const uint8_t *dig;
    if (trove__chunk_hasher_final(w->ch, &dig, &e.nchunks) != TROVE_OK) {
        rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
        goto fail;
    }
    e.xxh3 = trove__malloc(w->alloc, e.nchunks * 8);
    if (!e.xxh3) {
        rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
        goto fail;
    }
    memcpy(e.xxh3, dig, e.nchunks * 8);
    if (th) {
        trove__tree_hasher_final(th, e.blake);
        e.has_blake = true;
        trove__tree_hasher_free(th);
    }
    if (zstd)
        w->incompat |= TROVE_INCOMPAT_ZSTD;
    w->entries[w->n] = e;
    w->names[slot] = (uint32_t)(++w->n);
    return TROVE_OK;
fail:
    trove__tree_hasher_free(th);
    trove__free(w->alloc, e.name);
    w->broken = true;
    return rc;
}

TROVE_API int trove_writer_add(trove_writer *w, const trove_tensor_spec *spec, const void *data,
                               trove_error *err)
{
    uint64_t nbytes = 0;
    if (w && spec && check_spec(w, spec, &nbytes, NULL) == TROVE_OK && nbytes && !data)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "tensor '%s': data is NULL",
                           spec->name);
    source src = {data ? data : (const void *)"", NULL, NULL};
    return add(w, spec, &src, err);
}

TROVE_API int trove_writer_add_stream(trove_writer *w, const trove_tensor_spec *spec,
                                      trove_read_fn read, void *ctx, trove_error *err)
{
    if (!read)
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "read callback is NULL");
    source src = {NULL, read, ctx};
    return add(w, spec, &src, err);
}

/* ---- header ----------------------------------------------------------------------------- */
static trove_value *entry_value(const trove_allocator *a, const entry *e, uint64_t chunk)
{
    trove_value *m = trove_value_map(a);
    trove_value *shape = trove_value_array(a);
    if (!m || !shape)
        goto fail;
    for (uint32_t i = 0; i < e->rank; i++)
        if (trove_value_array_take(shape, trove_value_uint(a, e->shape[i])) != TROVE_OK)
            goto fail;
    const char *dn = trove_dtype_name(e->dtype);
    int rc = trove_value_map_set(m, "name", trove_value_string(a, e->name, e->name_len));
    rc |= trove_value_map_set(m, "dtype", trove_value_string(a, dn, strlen(dn)));
    rc |= trove_value_map_set(m, "shape", shape);
    shape = NULL;
    rc |= trove_value_map_set(m, "offset", trove_value_uint(a, e->offset));
    rc |= trove_value_map_set(m, "size", trove_value_uint(a, e->stored));
    rc |= trove_value_map_set(m, "align", trove_value_uint(a, e->align));
    rc |= trove_value_map_set(m, "chunk", trove_value_uint(a, chunk));
    rc |= trove_value_map_set(m, "xxh3", trove_value_bytes(a, e->xxh3, e->nchunks * 8));
    if (e->zstd)
        rc |= trove_value_map_set(m, "codec", trove_value_cstring(a, "zstd"));
    if (e->has_blake)
        rc |= trove_value_map_set(m, "blake2b", trove_value_bytes(a, e->blake, 32));
    if (rc)
        goto fail;
    return m;
fail:
    trove_value_free(shape);
    trove_value_free(m);
    return NULL;
}

/* Encode {"meta", "tensors", extra...} canonically. meta and extra entries are lent to a
 * temporary map and taken back before it is freed. */
int trove__encode_header(const trove_allocator *a, const trove_value *meta,
                         const trove_value *extra, const trove_value *tensors, uint8_t **out,
                         size_t *len)
{
    trove_value *top = trove_value_map(a);
    if (!top)
        return TROVE_E_NOMEM;
    int rc = TROVE_OK;
    size_t nextra = trove_value_count(extra);
    for (size_t i = 0; rc == TROVE_OK && i <= nextra + 1; i++) {
        const char *key;
        const trove_value *val;
        if (i == nextra)
            key = "meta", val = meta;
        else if (i == nextra + 1)
            key = "tensors", val = tensors;
        else
            trove_value_map_entry(extra, i, &key, NULL, &val);
        char *k = trove__strndup(a, key, strlen(key));
        if (!k || trove__map_append(top, k, strlen(key), (trove_value *)val) != TROVE_OK) {
            trove__free(a, k);
            rc = TROVE_E_NOMEM;
        }
    }
    if (rc == TROVE_OK) {
        /* trove__map_append does not sort: restore canonical order (insertion sort, tiny). */
        trove__map_entry *e = top->as.m.e;
        for (size_t i = 1; i < top->as.m.n; i++)
            for (size_t j = i; j > 0 && trove__key_cmp(e[j - 1].key, e[j - 1].keylen, e[j].key,
                                                        e[j].keylen) > 0; j--) {
                trove__map_entry t = e[j];
                e[j] = e[j - 1];
                e[j - 1] = t;
            }
        rc = trove__cbor_encode(top, a, out, len);
    }
    for (size_t i = 0; i < top->as.m.n; i++)
        top->as.m.e[i].value = NULL; /* lent, not owned */
    trove_value_free(top);
    return rc;
}

TROVE_API int trove_writer_commit(trove_writer *w, trove_error *err)
{
    int rc = usable(w, err);
    if (rc)
        return rc;
    w->broken = true; /* whatever happens, no further use */
    trove_value *tensors = trove_value_array(w->alloc);
    if (!tensors)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    bool digests = w->n > 0;
    for (size_t i = 0; i < w->n; i++) {
        digests &= w->entries[i].has_blake;
        if (trove_value_array_take(tensors, entry_value(w->alloc, &w->entries[i], w->opts.chunk_bytes)) != TROVE_OK) {
            trove_value_free(tensors);
            return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
        }
    }
    uint64_t compat = (digests ? TROVE_COMPAT_DIGESTS : 0) |
                      (trove_value_get(w->extra, "signatures") ? TROVE_COMPAT_SIGNED : 0);
    uint8_t *hdr = NULL;
    size_t hlen = 0;
    rc = trove__encode_header(w->alloc, w->meta, w->extra, tensors, &hdr, &hlen);
    trove_value_free(tensors);
    if (rc)
        return trove__fail(err, rc, TROVE_NO_OFFSET, "out of memory encoding the header");
    if (hlen > TROVE_LIMIT_HEADER_BYTES) {
        trove__free(w->alloc, hdr);
        return trove__fail(err, TROVE_E_LIMIT, TROVE_NO_OFFSET,
                           "header of %zu bytes exceeds the %llu-byte limit", hlen,
                           (unsigned long long)TROVE_LIMIT_HEADER_BYTES);
    }
    uint64_t hoff = w->pos;
    uint8_t pre[TROVE__PREAMBLE_BYTES], tr[TROVE__TRAILER_BYTES];
    trove__write_preamble(pre);
    trove__write_trailer(tr, pre, hoff, hlen, compat, 0, w->incompat, trove__xxh3(hdr, hlen));
    rc = out_write(w, hdr, hlen, err);
    trove__free(w->alloc, hdr);
    if (rc == TROVE_OK)
        rc = out_write(w, tr, sizeof tr, err);
    if (rc == TROVE_OK)
        rc = flush_out(w, err);
    if (rc)
        return rc;
    bool sync = !(w->opts.flags & TROVE_WRITE_NO_SYNC);
    if (w->tmp_path) {
        rc = trove__commit_tmpfile(w->fd, w->tmp_path, w->path, sync, err);
        if (rc)
            return rc;
    } else if (sync) {
        struct stat st;
        if (fstat(w->fd, &st) == 0 && S_ISREG(st.st_mode) && fsync(w->fd) != 0)
            return trove__fail_errno(err, TROVE_E_IO, errno, "cannot fsync the output");
    }
    w->done = true;
    w->broken = false;
    return TROVE_OK;
}
