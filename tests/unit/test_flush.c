/* test_flush.c: the background flusher (src/core/flush.c): notes from several threads start it,
 * it flushes, stops and restarts, and leaves no descriptor or thread behind. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <pthread.h>
#include <unistd.h>

#include "core/internal.h"
#include "testlib.h"

static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

typedef struct writer {
    trove__flusher *f;
    int fd;
    int rounds;
} writer;

/* Write 4 KiB at a time and note each write, as the registry and encryption jobs do. */
static void *write_and_note(void *arg)
{
    writer *w = arg;
    char buf[4096];
    memset(buf, 'x', sizeof buf);
    for (int i = 0; i < w->rounds; i++) {
        if (write(w->fd, buf, sizeof buf) != (ssize_t)sizeof buf)
            return NULL;
        trove__flusher_note(w->f, w->fd, (uint64_t)i * sizeof buf, sizeof buf);
    }
    return NULL;
}

static void test_flush__notes_from_threads_then_stop(void)
{
    int before = open_fds();
    trove__flusher f;
    trove__flusher_init(&f, 16384); /* a flush every 4 notes */
    int fd[2];
    for (int i = 0; i < 2; i++) {
        char name[32];
        snprintf(name, sizeof name, "flush%d.bin", i);
        fd[i] = open(test_path(name), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
        CHECK(fd[i] >= 0);
    }
    for (int round = 0; round < 3; round++) { /* stop, then start again */
        writer w[2] = {{&f, fd[0], 200}, {&f, fd[1], 200}};
        pthread_t t[2];
        for (int i = 0; i < 2; i++)
            CHECK(pthread_create(&t[i], NULL, write_and_note, &w[i]) == 0);
        for (int i = 0; i < 2; i++)
            pthread_join(t[i], NULL);
        CHECK(f.on); /* 400 notes of 4 KiB: the thread was started */
        trove__flusher_stop(&f);
        CHECK(!f.on && f.fd < 0 && f.since == 0 && f.queued == 0);
    }
    trove__flusher_destroy(&f);
    for (int i = 0; i < 2; i++) {
        struct stat st;
        CHECK(fstat(fd[i], &st) == 0 && st.st_size == 3 * 200 * 4096);
        close(fd[i]);
    }
    CHECK(open_fds() == before); /* every dup was closed */
}

/* The first note starts the thread (writeback of every range starts at once, not only after
 * `every` bytes); a burst of notes larger than the queue drops hints, never descriptors; stop
 * leaves nothing queued. */
static void test_flush__queue(void)
{
    int before = open_fds();
    trove__flusher f;
    trove__flusher_init(&f, UINT64_C(1) << 40); /* no fdatasync: only writeback hints */
    int fd = open(test_path("queue.bin"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    char buf[512];
    memset(buf, 'q', sizeof buf);
    CHECK(write(fd, buf, sizeof buf) == (ssize_t)sizeof buf);
    trove__flusher_note(&f, fd, 0, sizeof buf);
    CHECK(f.on);
    for (unsigned i = 0; i < 4 * TROVE__FLUSH_QUEUE; i++)
        trove__flusher_note(&f, fd, 0, sizeof buf);
    CHECK(f.queued <= TROVE__FLUSH_QUEUE);
    trove__flusher_stop(&f);
    CHECK(!f.on && f.queued == 0 && f.fd < 0);
    trove__flusher_destroy(&f);
    close(fd);
    CHECK(open_fds() == before);
}

/* every = 0: never starts a thread, whatever is noted. */
static void test_flush__off(void)
{
    trove__flusher f;
    trove__flusher_init(&f, 0);
    int fd = open(test_path("off.bin"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    for (int i = 0; i < 100; i++)
        trove__flusher_note(&f, fd, 0, UINT64_C(1) << 30);
    CHECK(!f.on && f.fd < 0 && f.queued == 0);
    trove__flusher_destroy(&f);
    close(fd);
}

TEST_MAIN(T(test_flush__notes_from_threads_then_stop), T(test_flush__queue), T(test_flush__off))
