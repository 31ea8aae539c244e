/* convert_out.c: where each output of trove_convert goes: a plain trove file (atomic, then
 * reopened and checked), or an encrypted one (checked first on an in-memory copy of its
 * plaintext, then streamed through trove_write_encrypted): no plaintext byte reaches a file. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "codecs/convert_out.h"

#define SINK_FIRST (64u << 10) /* least first capacity of the in-memory copy; doubles as needed */
#define HUGE_ALIGN (2u << 20)  /* big copies start on a huge page: fewer first-touch faults */

/* ---- the plaintext in memory ------------------------------------------------------------- */
void trove__plain_free(const trove_allocator *a, uint8_t *p, size_t used, size_t cap)
{
    if (!p)
        return;
    sodium_memzero(p, used); /* only what was written: the rest was never touched */
    madvise(p, cap, MADV_DODUMP); /* as it was, for the allocator's next user */
    trove__free_aligned(a, p);
}

/* The reading end of the pipe the writer writes into: a thread that appends everything to a
 * growing buffer. After a failure it keeps reading (into scratch, wiped) until the writer
 * closes its end, so that the writer never blocks on a full pipe nor meets a closed one. */
typedef struct mem_sink {
    int fd;
    const trove_allocator *a;
    uint8_t *buf;
    size_t len, cap;
    int rc;      /* TROVE_OK, TROVE_E_NOMEM or TROVE_E_IO */
    int err_no;  /* with TROVE_E_IO */
} mem_sink;

/* Room for at least `want` bytes (whole pages); the copy moves when it grows. */
static int sink_grow(mem_sink *s, size_t want)
{
    size_t cap = s->cap ? 2 * s->cap : SINK_FIRST;
    if (cap < s->cap)
        return TROVE_E_NOMEM;
    if (cap < want)
        cap = want;
    if (cap > SIZE_MAX - 4095)
        return TROVE_E_NOMEM;
    cap = (cap + 4095) & ~(size_t)4095;
    uint8_t *p = trove__malloc_aligned(s->a, cap, cap >= 2 * HUGE_ALIGN ? HUGE_ALIGN : 4096);
    if (!p)
        return TROVE_E_NOMEM;
    madvise(p, cap, MADV_DONTDUMP); /* page-aligned, whole pages: plaintext stays out of cores */
    if (s->len)
        memcpy(p, s->buf, s->len);
    trove__plain_free(s->a, s->buf, s->len, s->cap);
    s->buf = p;
    s->cap = cap;
    return TROVE_OK;
}

static void *sink_drain(void *arg)
{
    mem_sink *s = arg;
    uint8_t scratch[4096];
    for (;;) {
        if (s->rc == TROVE_OK && s->cap - s->len < sizeof scratch)
            s->rc = sink_grow(s, s->len + sizeof scratch);
        uint8_t *dst = s->rc ? scratch : s->buf + s->len;
        size_t room = s->rc ? sizeof scratch : s->cap - s->len;
        ssize_t r = read(s->fd, dst, room);
        if (r > 0) {
            if (s->rc == TROVE_OK)
                s->len += (size_t)r;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && s->rc == TROVE_OK) { /* not seen on a pipe; as trove_write_encrypted */
            s->rc = TROVE_E_IO;
            s->err_no = errno;
        }
        break; /* end of stream */
    }
    sodium_memzero(scratch, sizeof scratch);
    return NULL;
}

int trove__write_to_memory(const trove_allocator *a, const trove_write_options *wo,
                           trove_fill_fn fill, void *fill_ctx, uint64_t size_hint, uint8_t **out,
                           size_t *len, size_t *cap, trove_error *err)
{
    *out = NULL;
    *len = *cap = 0;
    mem_sink s = {.fd = -1, .a = a};
    /* One buffer of the expected size (plus a sixteenth and 256 KiB for the header), so that a
     * big copy is neither moved nor faulted in twice; untouched slack costs nothing. */
    if (size_hint && size_hint < SIZE_MAX / 2 &&
        sink_grow(&s, (size_t)(size_hint + size_hint / 16 + (256u << 10))) != TROVE_OK)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET,
                           "out of memory for the checked copy of the output (%llu bytes; "
                           "without validation it streams instead)",
                           (unsigned long long)size_hint);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        trove__plain_free(a, s.buf, 0, s.cap);
        return trove__fail_errno(err, TROVE_E_IO, errno, "cannot create a pipe");
    }
    (void)fcntl(fds[1], F_SETPIPE_SZ, 1 << 20); /* fewer switches between the two threads */
    s.fd = fds[0];
    pthread_t th;
    if (pthread_create(&th, NULL, sink_drain, &s) != 0) {
        close(fds[0]);
        close(fds[1]);
        trove__plain_free(a, s.buf, 0, s.cap);
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "cannot start a thread");
    }
    trove_writer *w = NULL;
    int rc = trove_writer_open_fd(&w, fds[1], wo, err);
    if (rc == TROVE_OK)
        rc = fill(w, fill_ctx, err);
    if (rc == TROVE_OK)
        rc = trove_writer_commit(w, err);
    trove_writer_free(w);
    close(fds[1]); /* end of stream: the thread returns */
    pthread_join(th, NULL);
    close(fds[0]);
    if (rc == TROVE_OK && s.rc == TROVE_E_NOMEM)
        rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET,
                         "out of memory for the checked copy of the output (%zu bytes so far; "
                         "without validation it streams instead)", s.len);
    else if (rc == TROVE_OK && s.rc != TROVE_OK)
        rc = trove__fail_errno(err, TROVE_E_IO, s.err_no, "cannot read the plaintext back");
    if (rc != TROVE_OK) {
        trove__plain_free(a, s.buf, s.len, s.cap);
        return rc;
    }
    *out = s.buf;
    *len = s.len;
    *cap = s.cap;
    return TROVE_OK;
}

/* ---- one output ---------------------------------------------------------------------------- */

/* The check of a converted output that open_rc opened as f (closed here), or why it did not
 * open (e2). */
static int checked(int open_rc, trove_file *f, const trove_error *e2, trove__out_check_fn check,
                   void *check_ctx, trove_error *err)
{
    int rc = open_rc == TROVE_OK ? check(f, check_ctx, err)
                                 : trove__fail(err, open_rc, TROVE_NO_OFFSET,
                                               "the converted file does not open: %s",
                                               e2->message);
    trove_close(f);
    return rc;
}
static int write_plain(const char *path, const trove_write_options *wo, trove_fill_fn fill,
                       void *fill_ctx, trove__out_check_fn check, void *check_ctx,
                       const trove_allocator *a, trove_error *err)
{
    trove_writer *w = NULL;
    int rc = trove_writer_open(&w, path, wo, err);
    if (rc == TROVE_OK)
        rc = fill(w, fill_ctx, err);
    if (rc == TROVE_OK)
        rc = trove_writer_commit(w, err);
    trove_writer_free(w);
    if (rc != TROVE_OK || !check)
        return rc;
    trove_open_options oo = TROVE_OPEN_OPTIONS_INIT;
    oo.alloc = a;
    trove_file *f = NULL;
    trove_error e2;
    rc = trove_open(&f, path, &oo, &e2);
    rc = checked(rc, f, &e2, check, check_ctx, err);
    if (rc != TROVE_OK)
        unlink(path);
    return rc;
}

static int write_encrypted(const char *path, const trove_convert_options *o,
                           const trove_write_options *wo, trove_fill_fn fill, void *fill_ctx,
                           uint64_t size_hint, trove__out_check_fn check, void *check_ctx,
                           trove_error *err)
{
    trove_crypt_options co = TROVE_CRYPT_OPTIONS_INIT;
    if (o->crypt) {
        if (o->crypt->size < sizeof co)
            return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET,
                               "bad trove_convert_options.crypt size (use "
                               "TROVE_CRYPT_OPTIONS_INIT)");
        co = *o->crypt;
    }
    if (!co.alloc)
        co.alloc = o->alloc;
    int rc;
    if (check) { /* first on a copy in memory, so that a failing output is never written */
        uint8_t *plain = NULL;
        size_t len = 0, cap = 0;
        rc = trove__write_to_memory(o->alloc, wo, fill, fill_ctx, size_hint, &plain, &len, &cap,
                                    err);
        if (rc != TROVE_OK)
            return rc;
        trove_open_options oo = TROVE_OPEN_OPTIONS_INIT;
        oo.alloc = o->alloc;
        trove_file *f = NULL;
        trove_error e2;
        rc = trove_open_memory(&f, plain, len, &oo, &e2);
        rc = checked(rc, f, &e2, check, check_ctx, err);
        trove__plain_free(o->alloc, plain, len, cap);
        if (rc != TROVE_OK)
            return rc;
    }
    return trove_write_encrypted(path, wo, fill, fill_ctx, o->secret, &co, err);
}

int trove__convert_write(const char *path, const trove_convert_options *o, trove_fill_fn fill,
                         void *fill_ctx, uint64_t size_hint, trove__out_check_fn check,
                         void *check_ctx, trove_error *err)
{
    /* The writer's options, its allocator defaulting to the conversion's (a size the writer
     * does not know is passed on as is, for the writer to refuse). */
    trove_write_options wo = TROVE_WRITE_OPTIONS_INIT;
    const trove_write_options *wp = &wo;
    if (o->write && o->write->size != sizeof wo)
        wp = o->write;
    else if (o->write)
        wo = *o->write;
    if (!wo.alloc)
        wo.alloc = o->alloc;
    if (o->secret)
        return write_encrypted(path, o, wp, fill, fill_ctx, size_hint, check, check_ctx, err);
    return write_plain(path, wp, fill, fill_ctx, check, check_ctx, o->alloc, err);
}
