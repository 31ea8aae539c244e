/* blob_fs.c: the local-directory blob store: one file per blob under a 256-way fan-out, written
 * as temp + fsync + rename, fan-out directories fsynced once per sync(); an flock'ed lock file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "registry/blobstore.h"

/* A blob written to its temporary file, renamed into place at the next sync(). */
typedef struct pending {
    char *tmp, *path;
    int fd;
} pending;

typedef struct fs_store {
    trove__blobstore base;
    const trove_allocator *alloc;
    char *root;                 /* registry directory */
    char *blobs;                /* <root>/blobs */
    unsigned file_mode, dir_mode;
    bool sync;
    int lock_fd;                /* -1 until the first lock() */
    _Atomic uint32_t dirty[8];  /* fan-out directories to fsync at the next sync() */
    _Atomic uint32_t made[8];   /* fan-out directories known to exist */
    atomic_int top_dirty;       /* blobs/ itself gained an entry */
    pthread_mutex_t lock;       /* guards pend */
    pending *pend;
    size_t npend, cap;
    trove__flusher flush;       /* durable stores: the disk's cache drains while pushing */
} fs_store;


static int unhex(const char *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < 2 * n; i++) {
        char c = s[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0)
            return -1;
        if (i % 2 == 0)
            out[i / 2] = (uint8_t)(v << 4);
        else
            out[i / 2] |= (uint8_t)v;
    }
    return s[2 * n] == '\0' ? 0 : -1;
}

/* "<blobs>/ab/abcd...": buf must hold strlen(blobs) + 72 bytes. */
static void blob_path(const fs_store *s, const uint8_t id[TROVE__BLOB_ID], char *buf, size_t cap)
{
    char hx[2 * TROVE__BLOB_ID + 1];
    trove__hex(id, TROVE__BLOB_ID, hx);
    snprintf(buf, cap, "%s/%.2s/%s", s->blobs, hx, hx);
}

static int make_fanout(fs_store *s, unsigned b, trove_error *err)
{
    uint32_t bit = 1u << (b & 31);
    if (atomic_load(&s->made[b >> 5]) & bit)
        return TROVE_OK;
    char path[4200];
    snprintf(path, sizeof path, "%s/%02x", s->blobs, b);
    if (mkdir(path, (mode_t)s->dir_mode) == 0) {
        chmod(path, (mode_t)s->dir_mode); /* the umask must not narrow a shared registry */
        atomic_store(&s->top_dirty, 1);
    } else if (errno != EEXIST) {
        return trove__fail_errno(err, TROVE_E_IO, errno, "cannot create blob directory '%s'",
                                 path);
    }
    atomic_fetch_or(&s->made[b >> 5], bit);
    return TROVE_OK;
}

/* copy_file_range failed before copying anything because this kernel or file system pair
 * cannot do it (another file system, an old kernel, a special file): copy through memory. */
static bool kernel_cannot_copy(int e)
{
    return e == EXDEV || e == EINVAL || e == EOPNOTSUPP || e == ENOSYS || e == EBADF || e == EPERM;
}

static int fs_put(trove__blobstore *bs, const uint8_t id[TROVE__BLOB_ID], const void *p,
                  size_t n, int *existed, trove_error *err)
{
    fs_store *s = (fs_store *)bs;
    char path[4200];
    blob_path(s, id, path, sizeof path);
    struct stat st;
    *existed = 0;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == n) {
        *existed = 1;
        return TROVE_OK;
    }
    /* A blob of the wrong size is damage (fsck reports it); replace it with the right bytes. */
    int rc = make_fanout(s, id[0], err);
    if (rc)
        return rc;
    int fd = -1;
    char *tmp = NULL, *final = trove__strndup(s->alloc, path, strlen(path));
    if (!final)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    if ((rc = trove__tmpfile_near(s->alloc, path, s->file_mode, &fd, &tmp, err)) != TROVE_OK) {
        trove__free(s->alloc, final);
        return rc;
    }
    fchmod(fd, (mode_t)s->file_mode); /* exact policy, whatever the umask */
    rc = trove__write_all(fd, p, n, err, "a blob"); /* in 256 KiB steps: see core/io.c */
    /* Writeback starts now, from the flusher's thread; sync() waits for it with fsync, many
     * files at once. */
    if (rc == TROVE_OK && s->sync)
        trove__flusher_note(&s->flush, fd, 0, n);
    if (rc == TROVE_OK) {
        pthread_mutex_lock(&s->lock);
        if (s->npend == s->cap) {
            size_t ncap = s->cap ? s->cap * 2 : 64;
            pending *np = trove__realloc(s->alloc, s->pend, ncap * sizeof *np);
            if (np) {
                s->pend = np;
                s->cap = ncap;
            }
        }
        if (s->npend < s->cap)
            s->pend[s->npend++] = (pending){tmp, final, fd};
        else
            rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
        pthread_mutex_unlock(&s->lock);
    }
    if (rc != TROVE_OK) {
        close(fd);
        unlink(tmp);
        trove__free(s->alloc, tmp);
        trove__free(s->alloc, final);
    }
    return rc;
}

/* Open blob id, which must be exactly n bytes: *fd (close it) and its hex name in hx.
 * TROVE_E_NOT_FOUND when missing, TROVE_E_CHECKSUM when its size is not n. */
static int open_blob(fs_store *s, const uint8_t id[TROVE__BLOB_ID], size_t n,
                     char hx[2 * TROVE__BLOB_ID + 1], int *fd, trove_error *err)
{
    char path[4200];
    blob_path(s, id, path, sizeof path);
    trove__hex(id, TROVE__BLOB_ID, hx);
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0) {
        if (errno == ENOENT)
            return trove__fail(err, TROVE_E_NOT_FOUND, TROVE_NO_OFFSET, "blob %s is missing", hx);
        return trove__fail_errno(err, TROVE_E_IO, errno, "cannot open blob %s", hx);
    }
    struct stat st;
    int rc = TROVE_OK;
    if (fstat(*fd, &st) != 0)
        rc = trove__fail_errno(err, TROVE_E_IO, errno, "cannot stat blob %s", hx);
    else if ((uint64_t)st.st_size != n)
        rc = trove__fail(err, TROVE_E_CHECKSUM, TROVE_NO_OFFSET,
                         "blob %s is damaged: %llu bytes, expected %zu", hx,
                         (unsigned long long)st.st_size, n);
    if (rc) {
        close(*fd);
        *fd = -1;
    }
    return rc;
}

static int fs_get(trove__blobstore *bs, const uint8_t id[TROVE__BLOB_ID], void *buf, size_t n,
                  int verify, trove_error *err)
{
    char hx[2 * TROVE__BLOB_ID + 1];
    int fd;
    int rc = open_blob((fs_store *)bs, id, n, hx, &fd, err);
    if (rc)
        return rc;
    rc = trove__pread_all(fd, buf, n, 0, err, "a blob");
    close(fd);
    if (rc == TROVE_E_CORRUPT) /* shrank while read */
        rc = trove__fail(err, TROVE_E_CHECKSUM, TROVE_NO_OFFSET, "blob %s is damaged: truncated",
                         hx);
    if (rc || !verify)
        return rc;
    uint8_t d[32];
    trove__leaf_digest(buf, n, d);
    if (memcmp(d, id, 32) != 0)
        return trove__fail(err, TROVE_E_CHECKSUM, TROVE_NO_OFFSET,
                           "blob %s is damaged: its bytes do not hash to its name", hx);
    return TROVE_OK;
}

static int fs_copy_to(trove__blobstore *bs, const uint8_t id[TROVE__BLOB_ID], size_t n,
                      int out_fd, uint64_t out_off, trove_error *err)
{
    fs_store *s = (fs_store *)bs;
    char hx[2 * TROVE__BLOB_ID + 1];
    int fd;
    int rc = open_blob(s, id, n, hx, &fd, err);
    if (rc)
        return rc;
    loff_t in = 0, out = (loff_t)out_off;
    size_t done = 0;
    uint8_t *buf = NULL;
    while (rc == TROVE_OK && done < n) {
        ssize_t k = copy_file_range(fd, &in, out_fd, &out, n - done, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && done == 0 && kernel_cannot_copy(errno)) {
            /* the kernel cannot: through a buffer */
            if (!(buf = trove__malloc(s->alloc, n)))
                rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
            else if ((rc = trove__pread_all(fd, buf, n, 0, err, "a blob")) == TROVE_OK)
                rc = trove__pwrite_all(out_fd, buf, n, out_off, err, "the pulled file");
            break;
        }
        if (k < 0)
            rc = trove__fail_errno(err, TROVE_E_IO, errno, "cannot copy blob %s", hx);
        else if (k == 0)
            rc = trove__fail(err, TROVE_E_CHECKSUM, TROVE_NO_OFFSET,
                             "blob %s is damaged: truncated", hx);
        else
            done += (size_t)k;
    }
    trove__free(s->alloc, buf);
    close(fd);
    if (rc == TROVE_E_CORRUPT) /* shrank while read */
        rc = trove__fail(err, TROVE_E_CHECKSUM, TROVE_NO_OFFSET, "blob %s is damaged: truncated",
                         hx);
    return rc;
}

static int fs_size(trove__blobstore *bs, const uint8_t id[TROVE__BLOB_ID], uint64_t *out,
                   trove_error *err)
{
    fs_store *s = (fs_store *)bs;
    char path[4200], hx[2 * TROVE__BLOB_ID + 1];
    blob_path(s, id, path, sizeof path);
    struct stat st;
    if (stat(path, &st) != 0) {
        trove__hex(id, TROVE__BLOB_ID, hx);
        if (errno == ENOENT)
            return trove__fail(err, TROVE_E_NOT_FOUND, TROVE_NO_OFFSET, "blob %s is missing", hx);
        return trove__fail_errno(err, TROVE_E_IO, errno, "cannot stat blob %s", hx);
    }
    *out = (uint64_t)st.st_size;
    return TROVE_OK;
}

/* fsync many files or directories at once: the journal commits them together. */
typedef struct fsync_job {
    fs_store *s;
    char **paths;             /* directories (fd < 0) ... */
    const pending *pend;      /* ... or pending blobs */
    size_t n;
    atomic_size_t next;
    atomic_int err_no;
    atomic_size_t err_at;
} fsync_job;

static void *fsync_worker(void *arg)
{
    fsync_job *j = arg;
    for (;;) {
        size_t k = atomic_fetch_add(&j->next, 1);
        if (k >= j->n || atomic_load(&j->err_no))
            break;
        int fd = j->pend ? j->pend[k].fd : open(j->paths[k], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) != 0) {
            int e = errno;
            atomic_store(&j->err_at, k);
            atomic_store(&j->err_no, e ? e : EIO);
        }
        if (!j->pend && fd >= 0)
            close(fd);
    }
    return NULL;
}

static int fsync_all(fsync_job *j, trove_error *err)
{
    atomic_init(&j->next, 0);
    atomic_init(&j->err_no, 0);
    atomic_init(&j->err_at, 0);
    pthread_t tid[8];
    unsigned started = 0;
    for (unsigned i = 1; i < 8 && i < j->n; i++)
        if (pthread_create(&tid[started], NULL, fsync_worker, j) == 0)
            started++;
    fsync_worker(j);
    for (unsigned i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    int e = atomic_load(&j->err_no);
    if (!e)
        return TROVE_OK;
    size_t k = atomic_load(&j->err_at);
    return trove__fail_errno(err, TROVE_E_IO, e, "cannot fsync '%s'",
                             j->pend ? j->pend[k].tmp : j->paths[k]);
}

static void drop_pending(fs_store *s, bool remove)
{
    for (size_t i = 0; i < s->npend; i++) {
        if (s->pend[i].fd >= 0)
            close(s->pend[i].fd);
        if (remove)
            unlink(s->pend[i].tmp);
        trove__free(s->alloc, s->pend[i].tmp);
        trove__free(s->alloc, s->pend[i].path);
    }
    s->npend = 0;
}

static void fs_discard(trove__blobstore *bs)
{
    fs_store *s = (fs_store *)bs;
    trove__flusher_stop(&s->flush);
    pthread_mutex_lock(&s->lock);
    drop_pending(s, true);
    pthread_mutex_unlock(&s->lock);
}

static int fs_sync(trove__blobstore *bs, trove_error *err)
{
    fs_store *s = (fs_store *)bs;
    int rc = TROVE_OK;
    trove__flusher_stop(&s->flush);
    pthread_mutex_lock(&s->lock);
    /* 1. every pending blob's bytes on disk, 2. rename into place, 3. the directories. */
    if (s->sync && s->npend) {
        fsync_job j = {.s = s, .pend = s->pend, .n = s->npend};
        rc = fsync_all(&j, err);
    }
    for (size_t i = 0; rc == TROVE_OK && i < s->npend; i++) {
        if (rename(s->pend[i].tmp, s->pend[i].path) != 0) {
            rc = trove__fail_errno(err, TROVE_E_IO, errno, "cannot rename '%s' to '%s'",
                                   s->pend[i].tmp, s->pend[i].path);
            break;
        }
        const char *slash = strrchr(s->pend[i].path, '/');
        uint8_t b = 0;
        if (slash && slash - s->pend[i].path >= 2) {
            char hx[3] = {slash[-2], slash[-1], 0};
            b = (uint8_t)strtoul(hx, NULL, 16);
        }
        atomic_fetch_or(&s->dirty[b >> 5], 1u << (b & 31));
        s->pend[i].tmp[0] = '\0'; /* renamed: nothing to unlink */
    }
    drop_pending(s, rc != TROVE_OK);
    pthread_mutex_unlock(&s->lock);
    if (rc)
        return rc;
    char *dirs[257];
    size_t nd = 0;
    uint32_t taken[8];
    for (unsigned w = 0; w < 8; w++) {
        uint32_t bits = taken[w] = atomic_exchange(&s->dirty[w], 0);
        for (unsigned b = 0; bits; b++, bits >>= 1) {
            if (!(bits & 1) || !s->sync || rc != TROVE_OK)
                continue;
            char *p = trove__malloc(s->alloc, strlen(s->blobs) + 4);
            if (!p) {
                rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
                continue;
            }
            sprintf(p, "%s/%02x", s->blobs, w * 32 + b);
            dirs[nd++] = p;
        }
    }
    int top = atomic_exchange(&s->top_dirty, 0);
    if (top && s->sync && rc == TROVE_OK) {
        dirs[nd] = trove__strndup(s->alloc, s->blobs, strlen(s->blobs));
        if (dirs[nd])
            nd++;
        else
            rc = trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    }
    if (rc == TROVE_OK && nd) {
        fsync_job j = {.s = s, .paths = dirs, .n = nd};
        rc = fsync_all(&j, err);
    }
    for (size_t i = 0; i < nd; i++)
        trove__free(s->alloc, dirs[i]);
    if (rc != TROVE_OK) {
        /* The renamed blobs stay in place (a later push finds and reuses them): their
         * directories are still to be made durable, by the next sync(). */
        for (unsigned w = 0; w < 8; w++)
            atomic_fetch_or(&s->dirty[w], taken[w]);
        if (top)
            atomic_store(&s->top_dirty, 1);
    }
    return rc;
}

static int fs_list(trove__blobstore *bs, trove__blob_list_fn fn, void *ctx, trove_error *err)
{
    fs_store *s = (fs_store *)bs;
    DIR *top = opendir(s->blobs);
    if (!top) {
        if (errno == ENOENT)
            return TROVE_OK;
        return trove__fail_errno(err, TROVE_E_IO, errno, "cannot list '%s'", s->blobs);
    }
    int rc = TROVE_OK;
    struct dirent *de;
    while (rc == TROVE_OK && (de = readdir(top)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char sub[4200];
        snprintf(sub, sizeof sub, "%s/%s", s->blobs, de->d_name);
        uint8_t b;
        struct stat st;
        if (strlen(de->d_name) != 2 || unhex(de->d_name, &b, 1) != 0 || stat(sub, &st) != 0 ||
            !S_ISDIR(st.st_mode)) {
            rc = fn(ctx, TROVE__ENTRY_OTHER, NULL, de->d_name, 0);
            continue;
        }
        DIR *d = opendir(sub);
        if (!d) {
            rc = trove__fail_errno(err, TROVE_E_IO, errno, "cannot list '%s'", sub);
            break;
        }
        struct dirent *e;
        while (rc == TROVE_OK && (e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char p[4500], rel[600];
            snprintf(p, sizeof p, "%s/%s", sub, e->d_name);
            snprintf(rel, sizeof rel, "%s/%s", de->d_name, e->d_name);
            uint64_t size = stat(p, &st) == 0 ? (uint64_t)st.st_size : 0;
            uint8_t id[TROVE__BLOB_ID];
            if (unhex(e->d_name, id, TROVE__BLOB_ID) == 0 && id[0] == b)
                rc = fn(ctx, TROVE__ENTRY_BLOB, id, rel, size);
            else if (e->d_name[0] == '.' && strstr(e->d_name, ".tmp-"))
                rc = fn(ctx, TROVE__ENTRY_TEMP, NULL, rel, size);
            else
                rc = fn(ctx, TROVE__ENTRY_OTHER, NULL, rel, size);
        }
        closedir(d);
    }
    closedir(top);
    return rc;
}

static int fs_remove(trove__blobstore *bs, const uint8_t *id, const char *name, trove_error *err)
{
    fs_store *s = (fs_store *)bs;
    char path[4200];
    if (id)
        blob_path(s, id, path, sizeof path);
    else if (name && !strstr(name, ".."))
        snprintf(path, sizeof path, "%s/%s", s->blobs, name);
    else
        return trove__fail(err, TROVE_E_INVALID, TROVE_NO_OFFSET, "no blob to remove");
    if (unlink(path) != 0 && errno != ENOENT)
        return trove__fail_errno(err, TROVE_E_IO, errno, "cannot remove '%s'", path);
    return TROVE_OK;
}

static int fs_lock(trove__blobstore *bs, int exclusive, uint32_t timeout_ms, trove_error *err)
{
    fs_store *s = (fs_store *)bs;
    if (s->lock_fd < 0) {
        char path[4200];
        snprintf(path, sizeof path, "%s/lock", s->root);
        unsigned lm = s->file_mode | 0200 | ((s->file_mode & 040) ? 020 : 0);
        s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, lm);
        struct stat st;
        if (s->lock_fd >= 0 && fstat(s->lock_fd, &st) == 0 && st.st_uid == geteuid() &&
            (st.st_mode & 07777) != lm)
            fchmod(s->lock_fd, (mode_t)lm); /* the mode policy, whatever the umask */
        if (s->lock_fd < 0)
            s->lock_fd = open(path, O_RDONLY | O_CLOEXEC); /* read-only registry */
        if (s->lock_fd < 0)
            return trove__fail_errno(err, TROVE_E_IO, errno, "cannot open lock file '%s'", path);
    }
    int op = (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned sleep_us = 1000;; sleep_us = sleep_us < 50000 ? sleep_us * 2 : 50000) {
        if (flock(s->lock_fd, op) == 0)
            return TROVE_OK;
        if (errno != EWOULDBLOCK && errno != EINTR)
            return trove__fail_errno(err, TROVE_E_IO, errno, "cannot lock the registry");
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        double ms = (double)(t.tv_sec - t0.tv_sec) * 1e3 + (double)(t.tv_nsec - t0.tv_nsec) / 1e6;
        if (ms >= timeout_ms)
            return trove__fail(err, TROVE_E_BUSY, TROVE_NO_OFFSET,
                               "the registry is locked by another process (%s) for more than "
                               "%u ms", exclusive ? "push, pull or gc" : "gc", timeout_ms);
        usleep(sleep_us);
    }
}

static void fs_unlock(trove__blobstore *bs)
{
    fs_store *s = (fs_store *)bs;
    if (s->lock_fd >= 0)
        flock(s->lock_fd, LOCK_UN);
}

static void fs_close(trove__blobstore *bs)
{
    fs_store *s = (fs_store *)bs;
    if (!s)
        return;
    trove__flusher_destroy(&s->flush);
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    drop_pending(s, true);
    trove__free(s->alloc, s->pend);
    pthread_mutex_destroy(&s->lock);
    trove__free(s->alloc, s->root);
    trove__free(s->alloc, s->blobs);
    trove__free(s->alloc, s);
}

static const trove__blobstore_ops fs_ops = {fs_put,  fs_get,     fs_copy_to, fs_size,
                                            fs_sync, fs_discard, fs_list,    fs_remove,
                                            fs_lock, fs_unlock,  fs_close};

int trove__blobstore_fs_open(trove__blobstore **out, const trove_allocator *a, const char *root,
                             unsigned file_mode, unsigned dir_mode, bool sync, trove_error *err)
{
    size_t n = strlen(root);
    if (n > 3900)
        return trove__fail(err, TROVE_E_LIMIT, TROVE_NO_OFFSET, "registry path too long");
    fs_store *s = trove__calloc(a, 1, sizeof *s);
    if (!s)
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    s->base.ops = &fs_ops;
    s->alloc = a;
    pthread_mutex_init(&s->lock, NULL);
    trove__flusher_init(&s->flush, sync ? TROVE__FLUSH_EVERY : 0);
    s->lock_fd = -1;
    s->file_mode = file_mode;
    s->dir_mode = dir_mode;
    s->sync = sync;
    s->root = trove__strndup(a, root, n);
    s->blobs = trove__malloc(a, n + 7);
    if (!s->root || !s->blobs) {
        fs_close(&s->base);
        return trove__fail(err, TROVE_E_NOMEM, TROVE_NO_OFFSET, "out of memory");
    }
    snprintf(s->blobs, n + 7, "%s/blobs", root);
    if (mkdir(s->blobs, (mode_t)dir_mode) == 0)
        chmod(s->blobs, (mode_t)dir_mode);
    *out = &s->base;
    return TROVE_OK;
}
