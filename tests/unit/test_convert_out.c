/* test_convert_out.c: trove_convert with encrypted outputs (trove_convert_options.secret): real
 * scikit-learn models saved by /usr/bin/python3 at test time; each encrypted output decrypts to
 * the bytes of the plain conversion (same digest, same predictions, which are scikit-learn's);
 * containers are all or none when an output fails half-way; wrong keys and the wrong kind of
 * secret are refused; exports and bad envelope options are refused with nothing written; the
 * in-memory plaintext copy; OOM torture (every allocation failed in turn: no crash, no leak, no
 * output unless the conversion succeeded). */
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codecs/convert_out.h"
#include "testlib.h"

#define ROWS 40
#define COLS 4

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* ridge.pkl (pickle), pair.joblib (dict: a LogisticRegression and a Ridge), X.bin (ROWS x COLS
 * float64), ridge.y and reg.y (scikit-learn's predictions, float64), clf.y (labels as float64),
 * w.npy (a big-endian float64 array, 3 x 5). NULL when python cannot make them. */
static const char *fixtures(void)
{
    static char dir[512];
    static int tried;
    if (tried)
        return dir[0] ? dir : NULL;
    tried = 1;
    snprintf(dir, sizeof dir, "%s", test_path("fx"));
    if (mkdir(dir, 0700) != 0) {
        dir[0] = 0;
        return NULL;
    }
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && /usr/bin/python3 -c '\n"
             "import pickle, joblib, numpy as np\n"
             "from sklearn.linear_model import LogisticRegression, Ridge\n"
             "rng = np.random.RandomState(3)\n"
             "X = rng.randn(%d, %d)\n"
             "y = (X[:, 0] - X[:, 2] > 0).astype(int)\n"
             "r = Ridge(alpha=0.3).fit(X, X @ np.array([1.0, -2.0, 0.5, 3.0]) + 0.25)\n"
             "pickle.dump(r, open(\"ridge.pkl\", \"wb\"))\n"
             "c = LogisticRegression(max_iter=300).fit(X, y)\n"
             "g = Ridge(alpha=2.0).fit(X, X[:, 1])\n"
             "joblib.dump({\"clf\": c, \"reg\": g}, \"pair.joblib\")\n"
             "X.astype(\"<f8\").tofile(\"X.bin\")\n"
             "r.predict(X).astype(\"<f8\").tofile(\"ridge.y\")\n"
             "g.predict(X).astype(\"<f8\").tofile(\"reg.y\")\n"
             "c.predict(X).astype(\"<f8\").tofile(\"clf.y\")\n"
             "np.save(\"w.npy\", np.arange(15, dtype=\">f8\").reshape(3, 5))\n'",
             dir, ROWS, COLS);
    if (system(cmd) != 0) {
        fprintf(stderr, "  cannot make the scikit-learn fixtures\n");
        dir[0] = 0;
        return NULL;
    }
    return dir;
}

static const char *fx(const char *name)
{
    static char buf[4][600];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", fixtures(), name);
    return buf[k];
}

static mode_t umask_now(void)
{
    mode_t m = umask(0);
    umask(m);
    return m;
}

/* AES-256-GCM needs AES-NI. */
static int crypto_ok_aes(void)
{
    return sodium_init() >= 0 && crypto_aead_aes256gcm_is_available();
}

/* Small chunks (several per file), no fsync: tests. */
static trove_crypt_options crypt_opts(void)
{
    trove_crypt_options co = TROVE_CRYPT_OPTIONS_INIT;
    co.chunk_bytes = 4096;
    co.write_flags = TROVE_WRITE_NO_SYNC;
    return co;
}

static int created_of(const char *path, const trove_secret *s, char *out, size_t cap)
{
    trove_file *f = NULL;
    trove_error err;
    int rc = s ? trove_open_encrypted(&f, path, s, NULL, NULL, &err)
               : trove_open(&f, path, NULL, &err);
    const char *c = NULL;
    if (rc == TROVE_OK &&
        trove_value_get_string(trove_value_path(trove_file_metadata(f), "created"), &c, NULL) == 0)
        snprintf(out, cap, "%s", c);
    else
        rc = rc ? rc : TROVE_E_NOT_FOUND;
    trove_close(f);
    return rc;
}

/* 1 when the files hold the same bytes, 0 when they differ, -1 when one cannot be read. */
static int same_bytes(const char *a, const char *b)
{
    size_t la = 0, lb = 0;
    unsigned char *pa = test_read_file(a, &la), *pb = test_read_file(b, &lb);
    int r = !pa || !pb ? -1 : la == lb && memcmp(pa, pb, la) == 0;
    free(pa);
    free(pb);
    return r;
}

typedef struct seen {
    char path[4][512];
    char est[4][128];
    int n;
} seen;

static void on_written(void *ctx, const char *path, const char *estimator)
{
    seen *s = ctx;
    if (s->n < 4) {
        snprintf(s->path[s->n], sizeof s->path[0], "%s", path);
        snprintf(s->est[s->n], sizeof s->est[0], "%s", estimator);
    }
    s->n++;
}

/* Predictions of the model in f on X, into out (ROWS). */
static int predict(trove_file *f, const double *X, double *out, trove_error *err)
{
    trove_model *m = NULL;
    int rc = trove_model_open(&m, f, NULL, err);
    if (rc == TROVE_OK)
        rc = trove_model_predict(m, TROVE_FLOAT64, X, ROWS, COLS, out, ROWS, err);
    trove_model_free(m);
    return rc;
}

/* Convert `in` plainly to plain_out and encrypted to enc_out (the outputs of a container are
 * named from these), decrypt each encrypted output beside it (".dec"), and compare byte for
 * byte. The creation time (seconds) is in the metadata: when a run straddles a second the
 * bytes differ exactly there, so retry (up to 5 times); any other difference fails at once. */
static void check_same_as_plain(const char *in, const char *plain_out, const char *enc_out,
                                const trove_secret *s, const char *const *keys, size_t nkeys)
{
    trove_error err;
    int same = 0;
    for (int attempt = 0; attempt < 5 && !same; attempt++) {
        trove_convert_options o = TROVE_CONVERT_OPTIONS_INIT;
        trove_convert_report rep;
        CHECK_OK(trove_convert(in, plain_out, &o, &rep, &err));
        CHECK(rep.n_written == nkeys);
        trove_crypt_options co = crypt_opts();
        seen sw = {.n = 0};
        o.secret = s;
        o.crypt = &co;
        o.on_written = on_written;
        o.ctx = &sw;
        CHECK_OK(trove_convert(in, enc_out, &o, &rep, &err));
        CHECK(rep.n_written == nkeys && sw.n == (int)nkeys);
        same = 1;
        for (size_t k = 0; k < nkeys; k++) {
            char p[512], e[512], d[520];
            if (keys[k]) {
                CHECK_OK(trove_convert_element_path(p, sizeof p, plain_out, keys[k]));
                CHECK_OK(trove_convert_element_path(e, sizeof e, enc_out, keys[k]));
            } else {
                snprintf(p, sizeof p, "%s", plain_out);
                snprintf(e, sizeof e, "%s", enc_out);
            }
            CHECK(!strcmp(sw.path[k], e)); /* the final names, in order */
            CHECK(trove_is_encrypted(e) && !trove_is_encrypted(p));
            struct stat st;
            CHECK(stat(e, &st) == 0 && (st.st_mode & 0777) == 0600);
            snprintf(d, sizeof d, "%s.dec", e);
            CHECK_OK(trove_decrypt_file(e, d, s, &co, &err));
            int r = same_bytes(p, d);
            CHECK(r >= 0);
            if (r == 1)
                continue;
            same = 0;
            char cp[64] = "", ce[64] = "";
            CHECK_OK(created_of(p, NULL, cp, sizeof cp));
            CHECK_OK(created_of(e, s, ce, sizeof ce));
            if (!strcmp(cp, ce))
                fprintf(stderr, "  %s and %s differ, created at the same second %s\n", p, d, cp);
            CHECK(strcmp(cp, ce) != 0); /* only the creation time may differ */
        }
    }
    CHECK(same);
}

static void test_convert_out__one_estimator(void)
{
    CHECK(fixtures() != NULL);
    trove_error err;
    trove_secret *s = NULL;
    CHECK_OK(trove_secret_generate(&s, &err));
    const char *plain = test_path("ridge.trove"), *enc = test_path("ridge.enc");
    const char *none[1] = {NULL};
    check_same_as_plain(fx("ridge.pkl"), plain, enc, s, none, 1);
    if (test_failed_checks)
        goto out;
    /* the same digest, and predictions equal to the plain model's and scikit-learn's */
    trove_file *fp = NULL, *fe = NULL;
    double *X = test_read_f64(fx("X.bin"), ROWS * COLS);
    double *want = test_read_f64(fx("ridge.y"), ROWS);
    double got_p[ROWS], got_e[ROWS];
    uint8_t dp[TROVE_DIGEST_BYTES], de[TROVE_DIGEST_BYTES];
    int ok = X && want && trove_open(&fp, plain, NULL, &err) == 0 &&
             trove_open_encrypted(&fe, enc, s, NULL, NULL, &err) == 0 &&
             trove_file_digest(fp, 0, 1, dp, &err) == 0 &&
             trove_file_digest(fe, 0, 1, de, &err) == 0 && predict(fp, X, got_p, &err) == 0 &&
             predict(fe, X, got_e, &err) == 0;
    if (!ok)
        fprintf(stderr, "  %s\n", err.message);
    double worst = 0;
    for (int i = 0; ok && i < ROWS; i++)
        worst = fmax(worst, fabs(got_e[i] - want[i]) / fmax(1.0, fabs(want[i])));
    int same_digest = ok && !memcmp(dp, de, sizeof dp);
    int same_pred = ok && !memcmp(got_p, got_e, sizeof got_p);
    trove_close(fp);
    trove_close(fe);
    free(X);
    free(want);
    CHECK(ok);
    CHECK(same_digest);
    CHECK(same_pred);
    CHECK(worst < 1e-12);
out:
    trove_secret_free(s);
}

static void test_convert_out__container_all_or_none(void)
{
    CHECK(fixtures() != NULL);
    trove_error err;
    trove_secret *s = NULL;
    CHECK_OK(trove_secret_generate(&s, &err));
    const char *keys[2] = {"clf", "reg"};
    check_same_as_plain(fx("pair.joblib"), test_path("pair.trove"), test_path("pair.enc.trove"), s,
                        keys, 2);
    /* predictions of each decrypted element are scikit-learn's */
    double *X = test_read_f64(fx("X.bin"), ROWS * COLS);
    CHECK(X != NULL);
    for (int k = 0; k < 2; k++) {
        char e[512];
        CHECK_OK(trove_convert_element_path(e, sizeof e, test_path("pair.enc.trove"), keys[k]));
        double *want = test_read_f64(fx(k ? "reg.y" : "clf.y"), ROWS), got[ROWS];
        trove_file *f = NULL;
        int ok = want && trove_open_encrypted(&f, e, s, NULL, NULL, &err) == 0 &&
                 predict(f, X, got, &err) == 0;
        double worst = 0;
        for (int i = 0; ok && i < ROWS; i++)
            worst = fmax(worst, fabs(got[i] - want[i]) / fmax(1.0, fabs(want[i])));
        trove_close(f);
        free(want);
        if (!ok)
            fprintf(stderr, "  %s: %s\n", keys[k], err.message);
        CHECK(ok && worst < 1e-12);
    }
    free(X);
    /* the second output fails half-way (a directory holds its name: the rename fails after the
     * whole file was encrypted): the first is removed, no temporary is left */
    char dir[512], out[600], first[600], second[600];
    snprintf(dir, sizeof dir, "%s", test_path("half"));
    CHECK(mkdir(dir, 0700) == 0);
    snprintf(out, sizeof out, "%s/pair.trove", dir);
    CHECK_OK(trove_convert_element_path(first, sizeof first, out, "clf"));
    CHECK_OK(trove_convert_element_path(second, sizeof second, out, "reg"));
    CHECK(mkdir(second, 0700) == 0);
    trove_convert_options o = TROVE_CONVERT_OPTIONS_INIT;
    trove_crypt_options co = crypt_opts();
    seen sw = {.n = 0};
    o.secret = s;
    o.crypt = &co;
    o.on_written = on_written;
    o.ctx = &sw;
    trove_convert_report rep;
    CHECK_RC(trove_convert(fx("pair.joblib"), out, &o, &rep, &err), TROVE_E_IO);
    CHECK(strstr(err.message, "pair.reg.trove") != NULL);
    CHECK(rep.n_written == 0 && sw.n == 0);
    CHECK(!exists(first));
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    int entries = 0;
    for (struct dirent *de; (de = readdir(d));)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            entries++;
    closedir(d);
    CHECK(entries == 1); /* only the directory in the way */
    /* NO_SPLIT refuses the container before anything is written */
    CHECK(rmdir(second) == 0);
    o.flags = TROVE_CONVERT_NO_SPLIT;
    CHECK_RC(trove_convert(fx("pair.joblib"), out, &o, NULL, &err), TROVE_E_UNSUPPORTED);
    CHECK(!exists(first) && !exists(second));
    /* NO_VALIDATE: streamed straight through, same outcome */
    o.flags = TROVE_CONVERT_NO_VALIDATE;
    CHECK_OK(trove_convert(fx("pair.joblib"), out, &o, NULL, &err));
    CHECK(trove_is_encrypted(first) && trove_is_encrypted(second));
    trove_file *f = NULL;
    CHECK_OK(trove_open_encrypted(&f, second, s, NULL, NULL, &err));
    trove_model *m = NULL;
    CHECK_OK(trove_model_open(&m, f, NULL, &err));
    trove_model_free(m);
    trove_close(f);
    trove_secret_free(s);
}

static void test_convert_out__keys_and_refusals(void)
{
    CHECK(fixtures() != NULL);
    trove_error err;
    trove_secret *pass = NULL, *key = NULL;
    CHECK_OK(trove_secret_from_passphrase(&pass, "correct horse", 13, &err));
    CHECK_OK(trove_secret_generate(&key, &err));
    trove_crypt_options co = crypt_opts();
    co.kdf_ops = 1;
    co.kdf_mem = 8192; /* the cheapest Argon2id: a test */
    co.cipher = crypto_ok_aes() ? TROVE_CIPHER_AES256GCM : TROVE_CIPHER_XCHACHA20POLY1305;
    co.mode = 0640;
    trove_convert_options o = TROVE_CONVERT_OPTIONS_INIT;
    o.secret = pass;
    o.crypt = &co;
    const char *enc = test_path("pass.enc");
    CHECK_OK(trove_convert(fx("ridge.pkl"), enc, &o, NULL, &err));
    trove_encrypted_info info;
    CHECK_OK(trove_encrypted_probe(enc, &info, &err));
    CHECK(info.passphrase == 1 && info.kdf_ops == 1 && info.chunk_bytes == 4096);
    CHECK(info.cipher == co.cipher);
    struct stat st;
    CHECK(stat(enc, &st) == 0 && (st.st_mode & 0777) == (0640 & ~umask_now()));
    trove_file *f = NULL;
    CHECK_RC(trove_open_encrypted(&f, enc, key, NULL, NULL, &err), TROVE_E_KEY);
    CHECK(strstr(err.message, "passphrase") != NULL);
    trove_secret *wrong = NULL;
    CHECK_OK(trove_secret_from_passphrase(&wrong, "wrong horse", 11, &err));
    CHECK_RC(trove_open_encrypted(&f, enc, wrong, NULL, NULL, &err), TROVE_E_KEY);
    CHECK(f == NULL);
    CHECK_OK(trove_open_encrypted(&f, enc, pass, NULL, NULL, &err));
    trove_close(f);
    /* bad envelope options: refused, nothing written */
    const char *bad = test_path("bad.enc");
    co.cipher = 99;
    CHECK_RC(trove_convert(fx("ridge.pkl"), bad, &o, NULL, &err), TROVE_E_INVALID);
    CHECK(!exists(bad));
    trove_crypt_options small = crypt_opts();
    small.size = 8;
    o.crypt = &small;
    CHECK_RC(trove_convert(fx("ridge.pkl"), bad, &o, NULL, &err), TROVE_E_INVALID);
    CHECK(!exists(bad));
    /* plain tensors: an encrypted .npy import holds the plain import's bytes exactly (no
     * creation time in it); an export cannot be encrypted */
    o.secret = key;
    o.crypt = NULL; /* defaults: XChaCha20-Poly1305, 1 MiB chunks, 0600, synced */
    const char *wp = test_path("w.trove"), *we = test_path("w.enc"), *wd = test_path("w.dec");
    trove_convert_options plain = TROVE_CONVERT_OPTIONS_INIT;
    CHECK_OK(trove_convert(fx("w.npy"), wp, &plain, NULL, &err));
    trove_convert_report rep;
    CHECK_OK(trove_convert(fx("w.npy"), we, &o, &rep, &err));
    CHECK(rep.n_written == 1 && !strcmp(rep.format, "npy"));
    CHECK_OK(trove_decrypt_file(we, wd, key, NULL, &err));
    CHECK(same_bytes(wp, wd) == 1);
    const char *x = test_path("w.safetensors");
    CHECK_RC(trove_convert(wp, x, &o, &rep, &err), TROVE_E_UNSUPPORTED);
    CHECK(strstr(err.message, "cannot be encrypted") != NULL);
    CHECK(!strcmp(rep.format, "trove -> safetensors"));
    CHECK(!exists(x));
    trove_secret_free(wrong);
    trove_secret_free(pass);
    trove_secret_free(key);
}

/* ---- the in-memory copy ----------------------------------------------------------------------- */
typedef struct big_fill {
    size_t n;    /* floats */
    int fail;    /* give up after the tensor */
} big_fill;

static int fill_big(trove_writer *w, void *ctx, trove_error *err)
{
    const big_fill *b = ctx;
    trove_value *m = trove_value_map(NULL);
    if (!m || trove_value_map_set(m, "kind", trove_value_cstring(NULL, "tensors"))) {
        trove_value_free(m);
        return TROVE_E_NOMEM;
    }
    int rc = trove_writer_set_metadata(w, m, err);
    float *x = malloc(b->n * sizeof *x + 1);
    if (!x)
        return TROVE_E_NOMEM;
    for (size_t i = 0; i < b->n; i++)
        x[i] = (float)i * 0.5f;
    uint64_t shape[1] = {b->n};
    trove_tensor_spec sp = {"x", TROVE_FLOAT32, 1, shape, 0, 0};
    if (rc == TROVE_OK)
        rc = trove_writer_add(w, &sp, x, err);
    free(x);
    if (rc == TROVE_OK && b->fail)
        rc = TROVE_E_MODEL;
    return rc;
}

static void test_convert_out__memory_copy(void)
{
    trove_error err;
    /* 3 MiB, written once by a plain writer: the in-memory copies must hold the same bytes,
     * whether the buffer grows from 64 KiB (no hint), is allocated once (a hint), or grows from a
     * hint that is too small */
    big_fill b = {3u << 18, 0};
    const char *path = test_path("big.trove");
    trove_writer *w = NULL;
    trove_write_options wo = TROVE_WRITE_OPTIONS_INIT;
    wo.flags = TROVE_WRITE_NO_SYNC;
    int rc = trove_writer_open(&w, path, &wo, &err);
    if (rc == TROVE_OK)
        rc = fill_big(w, &b, &err);
    if (rc == TROVE_OK)
        rc = trove_writer_commit(w, &err);
    trove_writer_free(w);
    CHECK_OK(rc);
    size_t flen = 0;
    unsigned char *f = test_read_file(path, &flen);
    CHECK(f != NULL);
    const uint64_t hints[3] = {0, 3u << 20, 1000};
    for (int h = 0; h < 3; h++) {
        uint8_t *p = NULL;
        size_t len = 0, cap = 0;
        rc = trove__write_to_memory(NULL, NULL, fill_big, &b, hints[h], &p, &len, &cap, &err);
        int same = rc == TROVE_OK && p && len <= cap && ((uintptr_t)p & 4095) == 0 &&
                   flen == len && memcmp(f, p, len) == 0;
        trove_file *tf = NULL;
        int vrc = rc ? rc : trove_open_memory(&tf, p, len, NULL, &err);
        if (vrc == TROVE_OK)
            vrc = trove_file_verify(tf, &err);
        trove_close(tf);
        trove__plain_free(NULL, p, len, cap);
        if (!same || vrc)
            fprintf(stderr, "  hint %llu: rc %d, same %d, verify %d\n",
                    (unsigned long long)hints[h], rc, same, vrc);
        CHECK(same && vrc == TROVE_OK);
        if (h == 1)
            CHECK(cap >= len && cap < 2 * len); /* allocated once */
    }
    free(f);
    /* the producer gives up: its error, nothing returned */
    b.fail = 1;
    uint8_t *p = NULL;
    size_t len = 0, cap = 0;
    CHECK_RC(trove__write_to_memory(NULL, NULL, fill_big, &b, 1u << 20, &p, &len, &cap, &err),
             TROVE_E_MODEL);
    CHECK(p == NULL && len == 0);
}

/* ---- OOM torture ------------------------------------------------------------------------------ */
/* The counting allocator of testlib is not thread-safe, and an encrypted conversion allocates on
 * three threads (the writer, the in-memory copy's reader, the encryption): serialize it. */
typedef struct locked_alloc {
    trove_allocator a;
    test_alloc *t;
    pthread_mutex_t mu;
} locked_alloc;

static void *la_malloc(void *ctx, size_t n)
{
    locked_alloc *l = ctx;
    pthread_mutex_lock(&l->mu);
    void *p = l->t->a.malloc(l->t->a.ctx, n);
    pthread_mutex_unlock(&l->mu);
    return p;
}
static void *la_realloc(void *ctx, void *p, size_t n)
{
    locked_alloc *l = ctx;
    pthread_mutex_lock(&l->mu);
    void *q = l->t->a.realloc(l->t->a.ctx, p, n);
    pthread_mutex_unlock(&l->mu);
    return q;
}
static void la_free(void *ctx, void *p)
{
    locked_alloc *l = ctx;
    pthread_mutex_lock(&l->mu);
    l->t->a.free(l->t->a.ctx, p);
    pthread_mutex_unlock(&l->mu);
}

static void torture(const char *in, const char *out, const trove_secret *s, unsigned flags)
{
    long runs = 0;
    int done = 0;
    for (long n = 1; !done && n < 20000; n++) {
        test_alloc ta;
        test_alloc_init(&ta, n);
        locked_alloc la = {{la_malloc, la_realloc, la_free, NULL}, &ta, PTHREAD_MUTEX_INITIALIZER};
        la.a.ctx = &la;
        trove_convert_options o = TROVE_CONVERT_OPTIONS_INIT;
        trove_crypt_options co = crypt_opts();
        co.threads = 1;
        o.alloc = &la.a; /* the writer's and the encryption's too */
        o.secret = s;
        o.crypt = &co;
        o.flags = flags;
        remove(out);
        trove_error err = {0};
        int rc = trove_convert(in, out, &o, NULL, &err);
        runs++;
        if (ta.live != 0)
            fprintf(stderr, "  %s: leak of %ld blocks when allocation %ld fails\n", in, ta.live, n);
        CHECK(ta.live == 0);
        CHECK(exists(out) == (rc == TROVE_OK));
        if (!ta.failed) {
            if (rc)
                fprintf(stderr, "  %s: %s\n", in, err.message);
            CHECK_OK(rc);
            CHECK(trove_is_encrypted(out));
            done = 1;
        } else if (rc != TROVE_E_NOMEM) {
            fprintf(stderr, "  %s: allocation %ld failed -> %d: %s\n", in, n, rc, err.message);
            CHECK(rc == TROVE_E_NOMEM);
        }
    }
    CHECK(done);
    printf("  OOM torture of %s%s: %ld runs\n", strrchr(in, '/') + 1,
           (flags & TROVE_CONVERT_NO_VALIDATE) ? " (no validation)" : "", runs);
}

static void test_convert_out__oom_torture(void)
{
    CHECK(fixtures() != NULL);
    trove_error err;
    trove_secret *s = NULL;
    CHECK_OK(trove_secret_generate(&s, &err));
    torture(fx("ridge.pkl"), test_path("oom.enc"), s, 0);
    torture(fx("ridge.pkl"), test_path("oom.enc"), s, TROVE_CONVERT_NO_VALIDATE);
    torture(fx("w.npy"), test_path("oomw.enc"), s, 0);
    trove_secret_free(s);
}

TEST_MAIN(T(test_convert_out__one_estimator), T(test_convert_out__container_all_or_none),
          T(test_convert_out__keys_and_refusals), T(test_convert_out__memory_copy),
          T(test_convert_out__oom_torture))
