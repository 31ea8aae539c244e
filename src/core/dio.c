/* dio.c: one file written by several threads at once, straight from their buffers (O_DIRECT),
 * so that a large durable write costs no page-cache copy and its data leaves for the disk as soon
 * as it is produced. Parts are written in any order: the blocks a part fills completely go to the
 * file at once; a block shared with a neighbouring part is assembled in a small table and written
 * by whichever part completes it. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"

#define BLOCK ((uint64_t)TROVE__DIO_ALIGN)

/* Turn O_DIRECT on or off for fd; false when the file system refuses it (tmpfs, FUSE, ...). */
static bool set_direct(int fd, bool on)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return false;
    fl = on ? fl | O_DIRECT : fl & ~O_DIRECT;
    return fcntl(fd, F_SETFL, fl) == 0;
}

/* Write n bytes at off; with O_DIRECT p, n and off are block-aligned. When the device refuses the
 * alignment (EINVAL), O_DIRECT is turned off and the write retried through the page cache. */
static int put(trove__dwriter *w, const uint8_t *p, size_t n, uint64_t off, trove_error *err)
{
    bool retried = false;
    while (n > 0) {
        /* Buffered writes take turns: ext4 serializes them on the inode lock anyway, and a
         * waiter there spins (measured: -0.8 CPU s per GiB encrypted on two threads). */
        bool turns = !atomic_load(&w->direct);
        if (turns)
            pthread_mutex_lock(&w->wlock);
        ssize_t r = pwrite(w->fd, p, n, (off_t)off);
        if (turns)
            pthread_mutex_unlock(&w->wlock);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == EINVAL && !retried) { /* (or another thread just turned it off) */
            retried = true;
            if (!atomic_exchange(&w->direct, false) || set_direct(w->fd, false))
                continue;
        }
        if (r < 0)
            return trove__fail_errno(err, TROVE_E_IO, errno, "cannot write %s at offset %llu",
                                     w->what, (unsigned long long)off);
        if (r == 0)
            return trove__fail_errno(err, TROVE_E_IO, ENOSPC, "cannot write %s at offset %llu",
                                     w->what, (unsigned long long)off);
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
        if (w->flusher_on) {
            pthread_mutex_lock(&w->lock);
            w->written += (uint64_t)r;
            if (w->written - w->flushed >= w->flush_every)
                pthread_cond_signal(&w->wake);
            pthread_mutex_unlock(&w->lock);
        }
    }
    return TROVE_OK;
}

/* The flusher: fdatasync whenever flush_every more bytes were written, until stopped. An error
 * here is not reported: the caller's own fsync at the end reports it. */
static void *flusher_run(void *arg)
{
    trove__dwriter *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->stop && w->written - w->flushed < w->flush_every)
            pthread_cond_wait(&w->wake, &w->lock);
        if (w->stop)
            break;
        uint64_t mark = w->written;
        pthread_mutex_unlock(&w->lock);
        (void)fdatasync(w->fd);
        pthread_mutex_lock(&w->lock);
        w->flushed = mark;
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static void stop_flusher(trove__dwriter *w)
{
    if (!w->flusher_on)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->flusher, NULL);
    pthread_cond_destroy(&w->wake);
    w->flusher_on = false;
}

/* Bytes of the file that fall into block b. */
static size_t block_bytes(const trove__dwriter *w, uint64_t b)
{
    uint64_t left = w->total - b * BLOCK;
    return (size_t)(left < BLOCK ? left : BLOCK);
}

/* The table entry for block b (a free one, or a new one, when b has none); NULL when out of
 * memory. Called with the lock held. Parts in file order keep about two entries per thread; any
 * order works, with more. */
static trove__dw_block *entry_for(trove__dwriter *w, uint64_t b)
{
    trove__dw_block *free_e = NULL;
    for (unsigned i = 0; i < w->nblocks; i++) {
        if (w->blocks[i]->used && w->blocks[i]->index == b)
            return w->blocks[i];
        if (!w->blocks[i]->used && !free_e)
            free_e = w->blocks[i];
    }
    if (!free_e) {
        if (w->nblocks == w->cap) {
            unsigned ncap = w->cap ? 2 * w->cap : 8;
            trove__dw_block **nb = trove__realloc(w->alloc, w->blocks, ncap * sizeof *nb);
            if (!nb)
                return NULL;
            w->blocks = nb;
            w->cap = ncap;
        }
        free_e = trove__malloc_aligned(w->alloc, sizeof *free_e, BLOCK);
        if (!free_e)
            return NULL;
        w->blocks[w->nblocks++] = free_e;
        free_e->used = false;
    }
    free_e->used = true;
    free_e->index = b;
    free_e->filled = 0;
    memset(free_e->data, 0, BLOCK);
    return free_e;
}

/* Copy p[0..n) (within one block) to file offset off; write the block once complete. */
static int add_fragment(trove__dwriter *w, const uint8_t *p, size_t n, uint64_t off,
                        trove_error *err)
{
    uint64_t b = off / BLOCK;
    pthread_mutex_lock(&w->lock);
    trove__dw_block *e = entry_for(w, b);
    if (!e) {
        pthread_mutex_unlock(&w->lock);
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    }
    memcpy(e->data + (off - b * BLOCK), p, n);
    e->filled += n;
    bool complete = e->filled == block_bytes(w, b);
    pthread_mutex_unlock(&w->lock);
    if (!complete)
        return TROVE_OK;
    /* The last block of the file is padded under O_DIRECT; trove__dw_finish sets the size. */
    size_t len = atomic_load(&w->direct) ? (size_t)BLOCK : block_bytes(w, b);
    int rc = put(w, e->data, len, b * BLOCK, err);
    pthread_mutex_lock(&w->lock);
    e->used = false;
    pthread_mutex_unlock(&w->lock);
    return rc;
}

/* p[0..n) to file offset off through the block table (any alignment). */
static int add_bytes(trove__dwriter *w, const uint8_t *p, size_t n, uint64_t off,
                     trove_error *err)
{
    while (n > 0) {
        size_t room = (size_t)(BLOCK - off % BLOCK), take = n < room ? n : room;
        int rc = add_fragment(w, p, take, off, err);
        if (rc)
            return rc;
        p += take;
        n -= take;
        off += take;
    }
    return TROVE_OK;
}

int trove__dw_begin(trove__dwriter *w, const trove_allocator *a, int fd, bool direct,
                    uint64_t flush_every, uint64_t total, const void *prefix, size_t plen,
                    const char *what, trove_error *err)
{
    memset(w, 0, sizeof *w);
    w->fd = fd;
    w->what = what;
    w->alloc = a;
    w->total = total;
    pthread_mutex_init(&w->lock, NULL);
    pthread_mutex_init(&w->wlock, NULL);
    w->ready = true;
    atomic_init(&w->direct, direct && getenv("TROVE_NO_DIRECT_IO") == NULL &&
                                set_direct(fd, true));
    if (plen > total)
        return trove__fail(err, TROVE_E_INVALID, 0, "%s: prefix longer than the file", what);
    if (atomic_load(&w->direct) && flush_every && total > flush_every) {
        w->flush_every = flush_every;
        pthread_cond_init(&w->wake, NULL);
        w->flusher_on = pthread_create(&w->flusher, NULL, flusher_run, w) == 0;
        if (!w->flusher_on)
            pthread_cond_destroy(&w->wake);
    }
    return add_bytes(w, prefix, plen, 0, err);
}

int trove__dw_write(trove__dwriter *w, uint8_t *buf, size_t len, uint64_t off, trove_error *err)
{
    uint64_t end = off + len;
    if (end < off || end > w->total)
        return trove__fail(err, TROVE_E_INVALID, off, "%s: part past the end", w->what);
    uint8_t *data = buf + off % BLOCK; /* file offset x is at data + (x - off) */
    uint64_t lo = (off + BLOCK - 1) / BLOCK * BLOCK, hi = end / BLOCK * BLOCK;
    int rc = TROVE_OK;
    if (lo <= hi) {
        /* Blocks the part fills, and the file's partial last block when the part has all of it
         * (padded with zeros under O_DIRECT, the room for which the caller provides). */
        uint64_t stop = hi;
        if (end == w->total && hi < end) {
            stop = end;
            if (atomic_load(&w->direct)) {
                stop = hi + BLOCK;
                memset(data + len, 0, (size_t)(stop - end));
            }
        }
        if (lo < stop)
            rc = put(w, data + (lo - off), (size_t)(stop - lo), lo, err);
        if (rc == TROVE_OK && off < lo)
            rc = add_bytes(w, data, (size_t)(lo - off), off, err);
        if (rc == TROVE_OK && stop < end)
            rc = add_bytes(w, data + (hi - off), (size_t)(end - hi), hi, err);
        return rc;
    }
    return add_bytes(w, data, len, off, err); /* inside one block */
}

int trove__dw_finish(trove__dwriter *w, trove_error *err)
{
    stop_flusher(w);
    for (unsigned i = 0; i < w->nblocks; i++)
        if (w->blocks[i]->used)
            return trove__fail(err, TROVE_E_INVALID, w->blocks[i]->index * BLOCK,
                               "%s: a block was never completed", w->what);
    /* the last block may have been written padded (and O_DIRECT turned off since) */
    if (w->total % BLOCK && ftruncate(w->fd, (off_t)w->total) != 0)
        return trove__fail_errno(err, TROVE_E_IO, errno, "cannot set the size of %s", w->what);
    return TROVE_OK;
}

void trove__dw_end(trove__dwriter *w)
{
    if (!w->ready)
        return;
    stop_flusher(w);
    if (atomic_load(&w->direct))
        (void)set_direct(w->fd, false);
    pthread_mutex_destroy(&w->lock);
    pthread_mutex_destroy(&w->wlock);
    for (unsigned i = 0; i < w->nblocks; i++)
        trove__free_aligned(w->alloc, w->blocks[i]);
    trove__free(w->alloc, w->blocks);
    w->blocks = NULL;
    w->ready = false;
}
