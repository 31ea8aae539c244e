/* test_dio.c: the parallel direct writer (src/core/dio.c): a file written in parts of any size,
 * in any order, from several threads, with and without O_DIRECT, is exactly the bytes given. */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"
#include "testlib.h"

#define A TROVE__DIO_ALIGN

typedef struct part {
    uint64_t off;
    size_t len;
    uint8_t *buf; /* data at buf + off % A */
} part;

typedef struct plan {
    trove__dwriter *w;
    part *parts;
    size_t n;
    size_t *order;
    _Atomic size_t next;
    _Atomic int failures;
} plan;

static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void *writer_thread(void *arg)
{
    plan *p = arg;
    for (;;) {
        size_t k = atomic_fetch_add(&p->next, 1);
        if (k >= p->n)
            return NULL;
        part *q = &p->parts[p->order[k]];
        trove_error e = {0};
        if (trove__dw_write(p->w, q->buf, q->len, q->off, &e) != TROVE_OK) {
            fprintf(stderr, "  part at %llu: %s\n", (unsigned long long)q->off, e.message);
            atomic_fetch_add(&p->failures, 1);
        }
    }
}

/* Write `total` bytes (a prefix of plen, then parts cut at random, some smaller than a block)
 * in a random order from `threads` threads; the file must hold exactly the expected bytes. */
static int write_case(uint64_t total, size_t plen, bool direct, unsigned threads, size_t max_part)
{
    int ok = 0;
    uint8_t *want = malloc(total + 1);
    for (uint64_t i = 0; i < total; i++)
        want[i] = (uint8_t)(rnd() >> 24);
    part *parts = calloc(total / 1 + 2, sizeof *parts);
    size_t n = 0;
    for (uint64_t off = plen; off < total; n++) {
        size_t len = (size_t)(1 + rnd() % max_part);
        if (rnd() % 4 == 0)
            len = (size_t)(1 + rnd() % 100); /* a part inside a block */
        if (len > total - off)
            len = (size_t)(total - off);
        parts[n].off = off;
        parts[n].len = len;
        parts[n].buf = trove__malloc_aligned(NULL, off % A + len + A, A);
        memset(parts[n].buf, 0xEE, off % A + len + A);
        memcpy(parts[n].buf + off % A, want + off, len);
        off += len;
    }
    size_t *order = malloc((n + 1) * sizeof *order);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(rnd() % i), t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    const char *path = test_path("dio.bin");
    unlink(path);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    trove__dwriter w;
    trove_error err = {0};
    plan p = {.w = &w, .parts = parts, .n = n, .order = order};
    if (fd >= 0 &&
        trove__dw_begin(&w, NULL, fd, direct, direct ? 100000 : 0, total, want, plen, "the test file", &err) ==
            TROVE_OK) {
        pthread_t tid[8];
        for (unsigned t = 0; t < threads; t++)
            pthread_create(&tid[t], NULL, writer_thread, &p);
        for (unsigned t = 0; t < threads; t++)
            pthread_join(tid[t], NULL);
        if (atomic_load(&p.failures) == 0 && trove__dw_finish(&w, &err) == TROVE_OK)
            ok = 1;
        else if (err.message[0])
            fprintf(stderr, "  %s\n", err.message);
    } else {
        fprintf(stderr, "  begin: %s\n", err.message);
    }
    trove__dw_end(&w);
    if (fd >= 0)
        close(fd);
    size_t got_len = 0;
    unsigned char *got = test_read_file(path, &got_len);
    if (ok && (!got || got_len != total || memcmp(got, want, total) != 0)) {
        fprintf(stderr, "  total %llu prefix %zu direct %d threads %u: file differs (%zu bytes)\n",
                (unsigned long long)total, plen, direct, threads, got_len);
        ok = 0;
    }
    free(got);
    for (size_t i = 0; i < n; i++)
        trove__free_aligned(NULL, parts[i].buf);
    free(parts);
    free(order);
    free(want);
    return ok;
}

/* Sizes around block boundaries, tiny and larger files, every mode. */
static void test_dio__any_parts_any_order(void)
{
    const uint64_t totals[] = {1, 100, A - 1, A, A + 1, 3 * A, 5 * A + 17, 200000, 1u << 20,
                               (1u << 20) + 4095, 3u << 20};
    for (size_t t = 0; t < sizeof totals / sizeof totals[0]; t++)
        for (int direct = 0; direct < 2; direct++)
            for (unsigned threads = 1; threads <= 4; threads += 3) {
                uint64_t total = totals[t];
                size_t plen = (size_t)(rnd() % (total < 6000 ? total : 6000));
                size_t max_part = total > 100000 ? 300000 : 9000;
                CHECK(write_case(total, plen, direct, threads, max_part));
                CHECK(write_case(total, 0, direct, threads, max_part));
            }
}

/* Many seeds of a mid-size file in big and small parts on four threads. */
static void test_dio__random_seeds(void)
{
    for (int s = 0; s < 40; s++) {
        uint64_t total = 1 + rnd() % (2u << 20);
        CHECK(write_case(total, (size_t)(rnd() % 5000), s % 2 == 0, 4,
                         (size_t)(1 + rnd() % 70000)));
    }
}

/* A part past the end, and a block never completed, are errors, not silent damage. */
static void test_dio__misuse_is_reported(void)
{
    trove_error err = {0};
    const char *path = test_path("dio-bad.bin");
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    trove__dwriter w;
    CHECK_OK(trove__dw_begin(&w, NULL, fd, true, 0, 3 * A, "ab", 2, "the test file", &err));
    uint8_t *buf = trove__malloc_aligned(NULL, 4 * A, A);
    memset(buf, 1, 4 * A);
    CHECK_RC(trove__dw_write(&w, buf, 2 * A, 2 * A, &err), TROVE_E_INVALID);
    CHECK(strstr(err.message, "past the end") != NULL);
    CHECK_OK(trove__dw_write(&w, buf, A, 2 * A, &err));
    /* bytes 2..2A are missing: the first two blocks are never complete */
    CHECK_RC(trove__dw_finish(&w, &err), TROVE_E_INVALID);
    CHECK(strstr(err.message, "never completed") != NULL);
    trove__dw_end(&w);
    trove__free_aligned(NULL, buf);
    close(fd);
}

/* Out of memory at begin: an error, nothing leaked, end is safe. */
static void test_dio__oom(void)
{
    trove_error err = {0};
    int fd = open(test_path("dio-oom.bin"), O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    for (long k = 1; k <= 3; k++) {
        test_alloc ta;
        test_alloc_init(&ta, k);
        trove__dwriter w;
        const char prefix[] = "a prefix that needs a block";
        int rc = trove__dw_begin(&w, &ta.a, fd, true, A, 10 * A, prefix, sizeof prefix,
                                 "the test file", &err);
        CHECK(rc == TROVE_OK || rc == TROVE_E_NOMEM);
        trove__dw_end(&w);
        CHECK(ta.live == 0);
    }
    close(fd);
}

TEST_MAIN(T(test_dio__any_parts_any_order), T(test_dio__random_seeds),
          T(test_dio__misuse_is_reported), T(test_dio__oom))
