/* test_crash.c: crash safety and allocation failure. A child process rewrites a multi-MiB
 * trove file over and over (alternating two contents) and is killed with SIGKILL at random
 * points: the target must always hold one complete, verifiable version, never a torn one, and
 * leftovers must be hidden temporary files. Then OOM torture: every allocation of
 * trove_value_decode and of trove_file_rewrite fails in turn: clean error, no leak, and a
 * failed rewrite leaves the old file in place. */
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"

#define TENSOR_FLOATS ((size_t)3 << 18) /* 3 MiB per tensor of float32 */

static float *payload[2];

static void make_payloads(void)
{
    for (int w = 0; w < 2; w++) {
        if (payload[w])
            continue;
        payload[w] = malloc(TENSOR_FLOATS * sizeof(float));
        for (size_t i = 0; i < TENSOR_FLOATS; i++)
            payload[w][i] = w ? (float)i * -0.25f : (float)(i % 1000) + 0.5f;
    }
}

/* Content `which` (0 or 1): different metadata, names and bytes; deterministic. */
static int write_content(const char *path, int which, trove_error *err)
{
    trove_writer *w = NULL;
    int rc = trove_writer_open(&w, path, NULL, err); /* default: fsync + rename */
    if (rc)
        return rc;
    trove_value *meta = trove_value_map(NULL);
    if (!meta || trove_value_map_set(meta, "version", trove_value_int(NULL, which)) != TROVE_OK) {
        trove_value_free(meta);
        trove_writer_free(w);
        return TROVE_E_NOMEM;
    }
    rc = trove_writer_set_metadata(w, meta, err);
    uint64_t shape[2] = {TENSOR_FLOATS / 512, 512};
    trove_tensor_spec a = {which ? "new/weights" : "old/weights", TROVE_FLOAT32, 2, shape, 0, 0};
    trove_tensor_spec b = {"bias", TROVE_FLOAT32, 1, (uint64_t[]){1000 + (uint64_t)which}, 0, 0};
    if (!rc)
        rc = trove_writer_add(w, &a, payload[which], err);
    if (!rc)
        rc = trove_writer_add(w, &b, payload[1 - which], err);
    if (!rc)
        rc = trove_writer_commit(w, err);
    trove_writer_free(w);
    return rc;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Every entry of dir other than `base` must be a hidden temporary ".<base>.tmp-XXXXXX"; they
 * are removed. Returns the number found, or -1 on an unexpected entry. */
static int sweep_temps(const char *dir, const char *base)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    char prefix[256];
    snprintf(prefix, sizeof prefix, ".%s.tmp-", base);
    int n = 0, bad = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, base))
            continue;
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 ||
            strlen(e->d_name) != strlen(prefix) + 6) {
            fprintf(stderr, "  unexpected entry '%s' beside the target\n", e->d_name);
            bad = 1;
            continue;
        }
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
        n++;
    }
    closedir(d);
    return bad ? -1 : n;
}

static void test_crash__sigkill_leaves_old_or_new(void)
{
    make_payloads();
    trove_error err = {0};
    const char *dir = test_path("crash");
    CHECK(mkdir(dir, 0755) == 0);
    char target[600];
    snprintf(target, sizeof target, "%s/model.trove", dir);
    /* The exact bytes of both versions (the writer is deterministic). */
    unsigned char *want[2];
    size_t want_len[2];
    double t0 = now();
    for (int w = 0; w < 2; w++) {
        const char *p = test_path(w ? "want1.trove" : "want0.trove");
        CHECK_OK(write_content(p, w, &err));
        want[w] = test_read_file(p, &want_len[w]);
        CHECK(want[w] && want_len[w] > ((size_t)3 << 20));
    }
    double write_time = (now() - t0) / 2;
    CHECK(want_len[0] != want_len[1] || memcmp(want[0], want[1], want_len[0]) != 0);
    CHECK_OK(write_content(target, 0, &err)); /* the old file, present initially */
    int current = 0;

    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    srand(seed);
    int seen[2] = {0, 0}, temps = 0, iterations = 0, bad = 0;
    double start = now();
    /* Kill points spread over about three writes' time. */
    long max_us = (long)(write_time * 3e6) + 1000;
    for (int it = 0; it < 40 && now() - start < 15.0; it++) {
        iterations++;
        int first = 1 - current;
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            for (int k = 0;; k++)
                if (write_content(target, (first + k) % 2, NULL) != TROVE_OK)
                    _exit(3);
        }
        usleep((useconds_t)(rand() % max_us));
        kill(pid, SIGKILL);
        int status = 0;
        CHECK(waitpid(pid, &status, 0) == pid);
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL); /* not a write failure */
        /* The target: one of the two versions, complete and verifiable. */
        trove_file *f = NULL;
        trove_open_options o = TROVE_OPEN_OPTIONS_INIT;
        o.flags = TROVE_OPEN_VERIFY;
        int rc = trove_open(&f, target, &o, &err);
        trove_close(f);
        size_t len = 0;
        unsigned char *got = test_read_file(target, &len);
        int which = -1;
        for (int w = 0; got && w < 2; w++)
            if (len == want_len[w] && memcmp(got, want[w], len) == 0)
                which = w;
        free(got);
        if (rc != TROVE_OK || which < 0) {
            fprintf(stderr, "  iteration %d (seed %u): open %d '%s', content %d, %zu bytes\n", it,
                    seed, rc, rc ? err.message : "", which, len);
            bad++;
            break;
        }
        seen[which]++;
        current = which;
        int t = sweep_temps(dir, "model.trove");
        if (t < 0) {
            bad++;
            break;
        }
        temps += t;
    }
    double elapsed = now() - start;
    printf("  %d kills in %.1f s (one write %.1f ms): old %d, new %d, hidden temp files left %d\n",
           iterations, elapsed, write_time * 1e3, seen[0], seen[1], temps);
    free(want[0]);
    free(want[1]);
    CHECK(bad == 0);
    CHECK(iterations >= 20 && elapsed < 20.0);
    /* Kills landed both before and after commits. */
    CHECK(seen[0] > 0 && seen[1] > 0);
}

/* ---- OOM torture ------------------------------------------------------------------------ */
static trove_value *rich_tree(void)
{
    trove_value *m = trove_value_map(NULL), *arr = trove_value_array(NULL);
    trove_value *inner = trove_value_map(NULL);
    if (!m || !arr || !inner)
        abort();
    int rc = trove_value_map_set(m, "name", trove_value_cstring(NULL, "\xc3\xa9t\xc3\xa9"));
    rc |= trove_value_map_set(m, "n", trove_value_int(NULL, -7));
    rc |= trove_value_map_set(m, "u", trove_value_uint(NULL, UINT64_MAX));
    rc |= trove_value_map_set(m, "f", trove_value_float(NULL, 2.5));
    rc |= trove_value_map_set(m, "b", trove_value_bytes(NULL, "\0\1\2\3", 4));
    rc |= trove_value_map_set(m, "z", trove_value_null(NULL));
    rc |= trove_value_map_set(m, "t", trove_value_bool(NULL, 1));
    for (int i = 0; i < 20; i++)
        rc |= trove_value_array_take(arr, trove_value_int(NULL, i * 1000));
    rc |= trove_value_map_set(inner, "list", arr);
    rc |= trove_value_map_set(inner, "s", trove_value_cstring(NULL, "nested"));
    rc |= trove_value_map_set(m, "inner", inner);
    if (rc)
        abort();
    return m;
}

static void test_crash__oom_value_decode(void)
{
    trove_error err = {0};
    trove_value *tree = rich_tree();
    uint8_t *enc = NULL;
    size_t len = 0;
    CHECK_OK(trove_value_encode(tree, NULL, &enc, &len, &err));
    long n;
    int done = 0;
    for (n = 1; n < 10000 && !done; n++) {
        test_alloc ta;
        test_alloc_init(&ta, n);
        trove_value *v = NULL;
        memset(&err, 0, sizeof err);
        int rc = trove_value_decode(enc, len, &ta.a, 0, &v, &err);
        if (rc == TROVE_OK) {
            int equal = trove_value_equal(v, tree);
            trove_value_free(v);
            CHECK(!ta.failed && equal && ta.live == 0); /* succeeded: no failure was injected */
            done = 1;
        } else {
            if (rc != TROVE_E_NOMEM || v || ta.live != 0 || !strstr(err.message, "out of memory"))
                fprintf(stderr, "  fail_at %ld: rc %d live %ld '%s'\n", n, rc, ta.live,
                        err.message);
            CHECK(rc == TROVE_E_NOMEM && v == NULL && ta.failed && ta.live == 0);
            CHECK(strstr(err.message, "out of memory decoding metadata"));
        }
    }
    printf("  trove_value_decode: %ld allocation points, each failure clean\n", n - 2);
    trove_value_free(tree);
    trove_free(NULL, enc);
    CHECK(done && n > 20);
}

static void test_crash__oom_rewrite(void)
{
    trove_error err = {0};
    const char *src = test_path("oom-src.trove");
    const char *dir = test_path("oomdir");
    CHECK(mkdir(dir, 0755) == 0);
    char dst[600];
    snprintf(dst, sizeof dst, "%s/dst.trove", dir);
    /* A small file with metadata, two tensors (one compressed) and stored digests. */
    trove_write_options wo = TROVE_WRITE_OPTIONS_INIT;
    wo.flags = TROVE_WRITE_NO_SYNC | TROVE_WRITE_DIGESTS;
    trove_writer *w = NULL;
    CHECK_OK(trove_writer_open(&w, src, &wo, &err));
    float data[300];
    for (int i = 0; i < 300; i++)
        data[i] = (float)i;
    trove_tensor_spec a = {"a", TROVE_FLOAT32, 1, (uint64_t[]){300}, 0, 0};
    trove_tensor_spec z = {"z", TROVE_FLOAT32, 1, (uint64_t[]){300}, TROVE_TENSOR_ZSTD, 0};
    int rc = trove_writer_set_metadata(w, rich_tree(), &err);
    if (!rc)
        rc = trove_writer_add(w, &a, data, &err);
    if (!rc)
        rc = trove_writer_add(w, &z, data, &err);
    if (!rc)
        rc = trove_writer_commit(w, &err);
    trove_writer_free(w);
    CHECK_OK(rc);
    /* The destination exists beforehand: a failed rewrite must leave it as it was. */
    size_t before_len = 0;
    unsigned char *before = test_read_file(src, &before_len);
    CHECK(before && test_write_file(dst, before, before_len) == 0);
    trove_value *sig = trove_value_array(NULL);
    CHECK(sig && trove_value_array_take(sig, trove_value_bytes(NULL, "sig", 3)) == TROVE_OK);
    uint8_t dig0[TROVE_DIGEST_BYTES];
    long n;
    int done = 0;
    for (n = 1; n < 10000 && !done; n++) {
        test_alloc ta;
        test_alloc_init(&ta, 0);
        trove_open_options oo = TROVE_OPEN_OPTIONS_INIT;
        oo.alloc = &ta.a;
        trove_file *f = NULL;
        rc = trove_open(&f, src, &oo, &err);
        if (rc) {
            CHECK_OK(rc);
        }
        if (n == 1 && trove_file_digest(f, 0, 1, dig0, &err) != TROVE_OK) {
            trove_close(f);
            CHECK(0);
        }
        long live_open = ta.live;
        ta.fail_at = ta.count + n; /* fail the n-th allocation of the rewrite */
        trove_write_options rwo = TROVE_WRITE_OPTIONS_INIT;
        rwo.alloc = &ta.a;
        rwo.flags = TROVE_WRITE_NO_SYNC;
        memset(&err, 0, sizeof err);
        rc = trove_file_rewrite(f, dst, "signatures", sig, &rwo, &err);
        long live_after = ta.live;
        int failed = ta.failed;
        trove_close(f);
        long live_closed = ta.live;
        if (rc == TROVE_OK) {
            CHECK(!failed && live_after == live_open && live_closed == 0);
            done = 1;
            break;
        }
        if (rc != TROVE_E_NOMEM || live_after != live_open || live_closed != 0)
            fprintf(stderr, "  fail_at +%ld: rc %d live %ld -> %ld -> %ld '%s'\n", n, rc,
                    live_open, live_after, live_closed, err.message);
        CHECK(rc == TROVE_E_NOMEM && failed && live_after == live_open && live_closed == 0);
        /* The old destination is intact and no temporary file is left behind. */
        size_t len = 0;
        unsigned char *now_bytes = test_read_file(dst, &len);
        int same = now_bytes && len == before_len && memcmp(now_bytes, before, len) == 0;
        free(now_bytes);
        CHECK(same);
        CHECK(sweep_temps(dir, "dst.trove") == 0);
    }
    printf("  trove_file_rewrite: %ld allocation points, each failure clean\n", n - 1);
    trove_value_free(sig);
    free(before);
    CHECK(done && n > 3);
    /* The rewritten file: verifies, carries the entry, same model digest. */
    trove_file *f = NULL;
    trove_open_options vo = TROVE_OPEN_OPTIONS_INIT;
    vo.flags = TROVE_OPEN_VERIFY;
    CHECK_OK(trove_open(&f, dst, &vo, &err));
    uint8_t dig1[TROVE_DIGEST_BYTES];
    rc = trove_file_digest(f, 0, 1, dig1, &err);
    const trove_value *s = trove_value_get(trove_file_header(f), "signatures");
    uint64_t compat = 0;
    trove_file_features(f, &compat, NULL, NULL);
    int count = (int)trove_value_count(s);
    trove_close(f);
    CHECK(rc == TROVE_OK && memcmp(dig0, dig1, sizeof dig0) == 0);
    CHECK(count == 1 && (compat & TROVE_COMPAT_SIGNED));
}

TEST_MAIN(T(test_crash__sigkill_leaves_old_or_new), T(test_crash__oom_value_decode),
          T(test_crash__oom_rewrite))
