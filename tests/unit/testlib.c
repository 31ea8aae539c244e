/* testlib.c: the unit-test harness (see testlib.h). */
#include "testlib.h"

#include <stdlib.h>
#include <unistd.h>

int test_failed_checks;
static char tmpdir[256];

void test_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "  FAILED %s:%d: %s\n", file, line, what);
    test_failed_checks++;
}

static void cleanup(void)
{
    if (tmpdir[0]) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", tmpdir);
    }
}

const char *test_tmpdir(void)
{
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/trove-test-XXXXXX", base ? base : "/tmp");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            exit(2);
        }
        atexit(cleanup);
    }
    return tmpdir;
}

const char *test_path(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", test_tmpdir(), name);
    return buf[k];
}

int test_main(int argc, char **argv, const test_case *cases, size_t n)
{
    int passed = 0, failed = 0;
    for (size_t i = 0; i < n; i++) {
        if (argc > 1) {
            int want = 0;
            for (int j = 1; j < argc; j++)
                want |= strcmp(argv[j], cases[i].name) == 0;
            if (!want)
                continue;
        }
        int before = test_failed_checks;
        cases[i].fn();
        if (test_failed_checks == before) {
            passed++;
            printf("ok   %s\n", cases[i].name);
        } else {
            failed++;
            printf("FAIL %s\n", cases[i].name);
        }
        fflush(stdout);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

/* Each block carries its size in a 16-byte prefix so realloc/free can track it. The counters
 * are updated atomically: threaded code (registry jobs, encryption) allocates from two threads
 * at once, and a lost update looked like a leak. */
static void *ta_malloc(void *ctx, size_t n)
{
    test_alloc *t = ctx;
    long k = __atomic_add_fetch(&t->count, 1, __ATOMIC_SEQ_CST);
    if (t->fail_at && k == t->fail_at) {
        __atomic_store_n(&t->failed, 1, __ATOMIC_SEQ_CST);
        return NULL;
    }
    unsigned char *p = malloc(n + 16);
    if (!p)
        return NULL;
    __atomic_add_fetch(&t->live, 1, __ATOMIC_SEQ_CST);
    return p + 16;
}
static void ta_free(void *ctx, void *p)
{
    test_alloc *t = ctx;
    if (!p)
        return;
    __atomic_sub_fetch(&t->live, 1, __ATOMIC_SEQ_CST);
    free((unsigned char *)p - 16);
}
static void *ta_realloc(void *ctx, void *p, size_t n)
{
    test_alloc *t = ctx;
    if (!p)
        return ta_malloc(ctx, n);
    long k = __atomic_add_fetch(&t->count, 1, __ATOMIC_SEQ_CST);
    if (t->fail_at && k == t->fail_at) {
        __atomic_store_n(&t->failed, 1, __ATOMIC_SEQ_CST);
        return NULL;
    }
    unsigned char *np = realloc((unsigned char *)p - 16, n + 16);
    return np ? np + 16 : NULL;
}

void test_alloc_init(test_alloc *t, long fail_at)
{
    memset(t, 0, sizeof *t);
    t->a.malloc = ta_malloc;
    t->a.realloc = ta_realloc;
    t->a.free = ta_free;
    t->a.ctx = t;
    t->fail_at = fail_at;
}

unsigned char *test_read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *p = malloc(n > 0 ? (size_t)n : 1);
    if (p && n > 0 && fread(p, 1, (size_t)n, fp) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(fp);
    if (p)
        *len = (size_t)n;
    return p;
}

int test_write_file(const char *path, const void *p, size_t len)
{
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return -1;
    size_t w = fwrite(p, 1, len, fp);
    return fclose(fp) == 0 && w == len ? 0 : -1;
}

double *test_read_f64(const char *path, size_t n)
{
    size_t len = 0;
    unsigned char *p = test_read_file(path, &len);
    if (!p || len != n * sizeof(double)) {
        free(p);
        return NULL;
    }
    return (double *)(void *)p;
}
