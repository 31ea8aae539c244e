/* testlib.h: the unit-test harness: cases, checks, a counting/failing allocator for OOM torture,
 * temporary directories. Each test binary ends with a "N passed, N failed" line and can run one
 * case: ./test_format test_format__roundtrip */
#ifndef TROVE_TESTLIB_H
#define TROVE_TESTLIB_H

#include <stdio.h>
#include <string.h>

#include "trove.h"

typedef struct test_case {
    const char *name;
    void (*fn)(void);
} test_case;

extern int test_failed_checks;
void test_fail(const char *file, int line, const char *what);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            test_fail(__FILE__, __LINE__, #cond);                                                  \
            return;                                                                                \
        }                                                                                          \
    } while (0)
/* Check that expr returns TROVE_OK; print the error message otherwise (needs `trove_error err`). */
#define CHECK_OK(expr)                                                                             \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ != TROVE_OK) {                                                                     \
            fprintf(stderr, "  %s -> %d (%s): %s\n", #expr, rc_, trove_strerror(rc_), err.message); \
            test_fail(__FILE__, __LINE__, #expr);                                                  \
            return;                                                                                \
        }                                                                                          \
    } while (0)
#define CHECK_RC(expr, code)                                                                       \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ != (code)) {                                                                       \
            fprintf(stderr, "  %s -> %d, expected %d\n", #expr, rc_, (code));                      \
            test_fail(__FILE__, __LINE__, #expr);                                                  \
            return;                                                                                \
        }                                                                                          \
    } while (0)

int test_main(int argc, char **argv, const test_case *cases, size_t n);
#define TEST_MAIN(...)                                                                             \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        static const test_case cases_[] = {__VA_ARGS__};                                           \
        return test_main(argc, argv, cases_, sizeof cases_ / sizeof cases_[0]);                    \
    }
#define T(fn) {#fn, fn}

/* A fresh temporary directory for this process (removed at exit); path of a file in it. */
const char *test_tmpdir(void);
const char *test_path(const char *name);

/* Counting allocator: fails allocation number fail_at (1-based; 0 = never), tracks live blocks
 * so that a test can assert no leak. */
typedef struct test_alloc {
    trove_allocator a;
    long count, fail_at, live;
    int failed;
} test_alloc;
void test_alloc_init(test_alloc *t, long fail_at);

/* Read a whole file; caller frees. */
unsigned char *test_read_file(const char *path, size_t *len);
/* The file at path as exactly n doubles (caller frees), or NULL when missing or another size. */
double *test_read_f64(const char *path, size_t n);
int test_write_file(const char *path, const void *p, size_t len);

#endif
