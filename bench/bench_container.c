/* bench_container.c: one round of trove container benchmarks beside raw I/O references.
 *
 *   bench_container round DIR     runs every operation once on a 1 GiB model (16 float32
 *                                 tensors of 64 MiB) in DIR and prints one JSON line per
 *                                 operation: {"op", "seconds", "bytes", "ref"}
 *   bench_container rss FILE      (internal) lazily opens FILE, reads its metadata and tensor
 *                                 directory, and prints peak RSS in KiB before and after
 *
 * bench/run.sh alternates rounds of this program with rounds of bench/peers.py and prints the
 * medians (see /work/shared/PERF-FACTS.md for why: touch-and-free memory first, alternate, take
 * medians). Reference of each operation: raw write() for saves, raw read() for loads, XXH3-64
 * of the in-memory bytes for verification. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include <trove.h>

#define NT 16
#define TENSOR_BYTES ((size_t)64 << 20)
#define MODEL_BYTES ((uint64_t)NT * TENSOR_BYTES)

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, int rc, const trove_error *err)
{
    fprintf(stderr, "bench_container: %s: %s (%d): %s\n", what, trove_strerror(rc), rc,
            err ? err->message : "");
    exit(1);
}

static void emit(const char *op, double seconds, uint64_t bytes, const char *ref)
{
    printf("{\"op\": \"%s\", \"seconds\": %.9f, \"bytes\": %llu, \"ref\": \"%s\", "
           "\"who\": \"trove-c\"}\n",
           op, seconds, (unsigned long long)bytes, ref);
    fflush(stdout);
}

/* Touch and free ~3 GiB so that the host has handed memory back before timed runs. */
static void warm_memory(void)
{
    size_t n = (size_t)3 << 30;
    volatile uint8_t *p = malloc(n);
    if (!p)
        return;
    for (size_t i = 0; i < n; i += 4096)
        p[i] = 1;
    free((void *)p);
}

/* Same pattern as bench/peers.py: u32 i * 2654435761 of tensor t, viewed as float32. */
static void fill(uint8_t **bufs)
{
    for (int t = 0; t < NT; t++) {
        uint32_t *w = (uint32_t *)bufs[t];
        uint32_t base = (uint32_t)t * (uint32_t)(TENSOR_BYTES / 4);
        for (size_t i = 0; i < TENSOR_BYTES / 4; i++)
            w[i] = (base + (uint32_t)i) * 2654435761u;
    }
}

static void write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t k = write(fd, b, n > ((size_t)1 << 30) ? (size_t)1 << 30 : n);
        if (k <= 0) {
            perror("write");
            exit(1);
        }
        b += k;
        n -= (size_t)k;
    }
}

static double raw_write(const char *path, uint8_t **bufs, int sync)
{
    double t0 = now();
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        perror(path);
        exit(1);
    }
    for (int t = 0; t < NT; t++)
        write_all(fd, bufs[t], TENSOR_BYTES);
    if (sync && fsync(fd) != 0) {
        perror("fsync");
        exit(1);
    }
    close(fd);
    return now() - t0;
}

static double raw_read(const char *path, uint8_t *dst)
{
    double t0 = now();
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        perror(path);
        exit(1);
    }
    uint64_t got = 0;
    while (got < MODEL_BYTES) {
        ssize_t k = read(fd, dst + got, (size_t)(MODEL_BYTES - got));
        if (k <= 0) {
            perror("read");
            exit(1);
        }
        got += (uint64_t)k;
    }
    close(fd);
    return now() - t0;
}

static double trove_save(const char *path, uint8_t **bufs, unsigned flags)
{
    double t0 = now();
    trove_write_options wo = TROVE_WRITE_OPTIONS_INIT;
    wo.flags = flags;
    trove_writer *w = NULL;
    trove_error err;
    int rc = trove_writer_open(&w, path, &wo, &err);
    if (rc)
        die("writer_open", rc, &err);
    trove_value *meta = trove_value_map(NULL);
    if (!meta || (rc = trove_writer_set_metadata(w, meta, &err)) != 0)
        die("set_metadata", rc, &err);
    for (int t = 0; t < NT; t++) {
        char name[32];
        snprintf(name, sizeof name, "layer%02d.weight", t);
        uint64_t shape[2] = {4096, 4096};
        trove_tensor_spec s = {name, TROVE_FLOAT32, 2, shape, 0, 0};
        rc = trove_writer_add(w, &s, bufs[t], &err);
        if (rc)
            die("writer_add", rc, &err);
    }
    rc = trove_writer_commit(w, &err);
    if (rc)
        die("commit", rc, &err);
    trove_writer_free(w);
    return now() - t0;
}

static trove_file *topen(const char *path, uint32_t flags)
{
    trove_open_options o = TROVE_OPEN_OPTIONS_INIT;
    o.flags = flags;
    trove_file *f = NULL;
    trove_error err;
    int rc = trove_open(&f, path, &o, &err);
    if (rc)
        die("open", rc, &err);
    return f;
}

/* XOR of every 8-byte word: reads every byte (vectorized by the compiler). */
static uint64_t touch(const void *p, uint64_t n)
{
    const uint64_t *w = p;
    uint64_t x = 0;
    for (uint64_t i = 0; i < n / 8; i++)
        x ^= w[i];
    return x;
}

/* Peak resident set of this process image in KiB: VmHWM of /proc/self/status (reset by
 * execve, unlike getrusage's ru_maxrss, which a child exec'd from a big parent inherits). */
static long maxrss_kib(void)
{
    FILE *fp = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (fp && fgets(line, sizeof line, fp))
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    if (fp)
        fclose(fp);
    if (kib < 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        kib = ru.ru_maxrss;
    }
    return kib;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "rss")) {
        long before = maxrss_kib();
        trove_file *f = topen(argv[2], 0);
        uint64_t sum = 0;
        for (size_t i = 0; i < trove_file_tensor_count(f); i++) {
            trove_tensor_info ti;
            if (trove_file_tensor_info(f, i, &ti) == 0)
                sum += ti.nbytes;
        }
        long after = maxrss_kib();
        if (sum != MODEL_BYTES)
            return 1;
        printf("%ld %ld %llu\n", before, after, (unsigned long long)trove_file_size(f));
        trove_close(f);
        return 0;
    }
    if (argc != 3 || strcmp(argv[1], "round")) {
        fprintf(stderr, "usage: bench_container round DIR\n");
        return 2;
    }
    const char *dir = argv[2];
    char raw[4096], tpath[4096];
    snprintf(raw, sizeof raw, "%s/bench-raw.bin", dir);
    snprintf(tpath, sizeof tpath, "%s/bench-model.trove", dir);

    warm_memory();
    uint8_t *bufs[NT];
    for (int t = 0; t < NT; t++) {
        bufs[t] = aligned_alloc(4096, TENSOR_BYTES);
        if (!bufs[t]) {
            fprintf(stderr, "out of memory\n");
            return 1;
        }
    }
    fill(bufs);
    uint8_t *dst = aligned_alloc(4096, MODEL_BYTES);
    if (!dst)
        return 1;
    memset(dst, 1, MODEL_BYTES); /* pre-faulted destination for raw read */

    /* XXH3 of the in-memory bytes: the ceiling for verification */
    double t0 = now();
    uint64_t h = 0;
    for (int t = 0; t < NT; t++)
        h ^= XXH3_64bits(bufs[t], TENSOR_BYTES);
    emit("xxh3 in memory (reference)", now() - t0, MODEL_BYTES, "verify");

    /* saves, ours and the reference side by side; memory is touched and freed before each
     * (new page cache is fresh memory too) */
    warm_memory();
    emit("raw write()", raw_write(raw, bufs, 0), MODEL_BYTES, "save");
    unlink(raw);
    warm_memory();
    emit("trove save (no fsync)", trove_save(tpath, bufs, TROVE_WRITE_NO_SYNC), MODEL_BYTES,
         "save");
    unlink(tpath);
    warm_memory();
    emit("raw write() + fsync", raw_write(raw, bufs, 1), MODEL_BYTES, "save-sync");
    warm_memory();
    emit("trove save (fsync, default)", trove_save(tpath, bufs, 0), MODEL_BYTES, "save-sync");
    /* the page cache of a file written a few seconds ago may already be reclaimed here (memory
     * pressure from warm_memory, DAMON): re-read it untimed so that the load is "warm" */
    (void)raw_read(raw, dst);
    emit("raw read() (warm cache)", raw_read(raw, dst), MODEL_BYTES, "load");
    unlink(raw);

    /* lazy open: median of many, the file's pages are cached */
    enum { NOPEN = 201 };
    double opens[NOPEN];
    for (int i = 0; i < NOPEN; i++) {
        double a = now();
        trove_file *f = topen(tpath, 0);
        opens[i] = now() - a;
        trove_close(f);
    }
    qsort(opens, NOPEN, sizeof *opens, cmp_double);
    emit("trove open (lazy, mmap)", opens[NOPEN / 2], 0, "open");

    /* what a lazy open costs at the system level, to explain the figure above: mapping the
     * file and faulting in its first and last pages, versus reading the same bytes */
    double mm[NOPEN], rd[NOPEN];
    static uint8_t tail[65536];
    for (int i = 0; i < NOPEN; i++) {
        double a = now();
        int fd = open(tpath, O_RDONLY);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0)
            return 1;
        volatile const uint8_t *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
        if (p == MAP_FAILED)
            return 1;
        tail[0] ^= p[0];
        tail[1] ^= p[st.st_size - 1];
        mm[i] = now() - a;
        munmap((void *)p, (size_t)st.st_size);
        a = now();
        fd = open(tpath, O_RDONLY);
        if (fd < 0 || fstat(fd, &st) != 0 || pread(fd, tail, 64, 0) != 64 ||
            pread(fd, tail, sizeof tail, st.st_size - (off_t)sizeof tail) != (ssize_t)sizeof tail)
            return 1;
        close(fd);
        rd[i] = now() - a;
    }
    qsort(mm, NOPEN, sizeof *mm, cmp_double);
    qsort(rd, NOPEN, sizeof *rd, cmp_double);
    emit("  system: open+mmap+fault first & last page", mm[NOPEN / 2], 0, "open");
    emit("  system: open+pread 64 B + last 64 KiB", rd[NOPEN / 2], 0, "open");

    t0 = now();
    trove_file *f = topen(tpath, 0);
    trove_error err;
    int rc = trove_file_verify(f, &err);
    if (rc)
        die("verify", rc, &err);
    trove_close(f);
    emit("trove open + verify", now() - t0, MODEL_BYTES, "verify");

    t0 = now();
    f = topen(tpath, 0);
    uint64_t x = 0;
    for (size_t i = 0; i < trove_file_tensor_count(f); i++) {
        const void *p;
        trove_tensor_info ti;
        if (trove_file_tensor_info(f, i, &ti) || trove_file_tensor_data(f, i, &p, &err))
            die("tensor_data", -1, &err);
        x ^= touch(p, ti.nbytes);
    }
    trove_close(f);
    emit("trove open + touch every byte", now() - t0, MODEL_BYTES, "load");

    warm_memory();
    (void)raw_read(tpath, dst); /* warm the page cache again, untimed */
    t0 = now();
    f = topen(tpath, TROVE_OPEN_NO_MMAP);
    trove_close(f);
    emit("trove open NO_MMAP (read into memory)", now() - t0, MODEL_BYTES, "load");

    /* peak RSS of a process that only opens the file lazily */
    fflush(stdout);
    int pipefd[2];
    if (pipe(pipefd) == 0) {
        pid_t pid = fork();
        if (pid == 0) {
            dup2(pipefd[1], 1);
            close(pipefd[0]);
            execl("/proc/self/exe", argv[0], "rss", tpath, (char *)NULL);
            _exit(127);
        }
        close(pipefd[1]);
        char line[128] = {0};
        ssize_t k = read(pipefd[0], line, sizeof line - 1);
        close(pipefd[0]);
        waitpid(pid, NULL, 0);
        long before = 0, after = 0;
        unsigned long long size = 0;
        if (k > 0 && sscanf(line, "%ld %ld %llu", &before, &after, &size) == 3)
            printf("{\"op\": \"trove lazy open: peak RSS\", \"rss_kib\": %ld, "
                   "\"rss_before_kib\": %ld, \"bytes\": %llu, \"who\": \"trove-c\"}\n",
                   after, before, size);
    }
    unlink(tpath);
    for (int t = 0; t < NT; t++)
        free(bufs[t]);
    free(dst);
    fprintf(stderr, "(checks %llx %llx)\n", (unsigned long long)h, (unsigned long long)x);
    return 0;
}
